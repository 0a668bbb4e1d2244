/*
 * mx_tls.h - the TLS verdict on one MX host: DNSSEC and TLSA (RFC 7672)
 * decide between a DANE and a WebPKI probe, then the host's addresses are
 * probed (probe.h).  Private to the probe cache (probe_cache.c), which
 * documents the decision in include/mtasts/probe_cache.h; split out to
 * keep the cache's locking apart from the protocol.
 *
 * Blocking: mx_tls_judge() does the DNS lookups (each bounded by the
 * resolver's timeout) and up to STS_PROBE_CACHE_ADDRS probes (each
 * bounded by timeout_ms); it runs on the cache's worker threads only.
 * No state of its own: thread-safe.
 */
#ifndef MTASTS_MX_TLS_H
#define MTASTS_MX_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/dns.h"
#include "mtasts/probe.h"
#include "mtasts/probe_cache.h"

struct mx_tls_params {
    struct sts_dns *dns;
    const struct sts_probe_ctx *probe;
    unsigned port;
    const char *helo_name;
    unsigned timeout_ms;
};

/**
 * Judge host (reached through an MX RRset that was SECURE or not).
 * @param out receives the verdict (known, result, dane, detail, addr,
 *            version, cipher; the caller sets the times)
 * @return true when out is a verdict to keep; false for a local failure
 *         (resolver, memory): no verdict on the host
 */
bool mx_tls_judge(const struct mx_tls_params *p, const char *host, bool mx_secure,
                  struct sts_tls_verdict *out);

/**
 * Keep the TLSA records usable for SMTP (RFC 7672 §3.1): usage 2 or 3,
 * selector 0 or 1, matching type 0 (non-empty), 1 (32 bytes) or 2 (64
 * bytes).  out (room for n) borrows the records' data.
 * @return how many were kept
 */
size_t mx_tls_usable(const struct sts_dns_tlsa *in, size_t n, struct sts_probe_tlsa *out);

#endif
