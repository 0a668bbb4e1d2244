/*
 * mx_tls.h - the TLS verdict on one MX host: DNSSEC and TLSA (RFC 7672)
 * decide between a DANE and a WebPKI probe, then the host's addresses are
 * probed (probe.h).  Private to the probe cache (probe_cache.c), which
 * documents the decision in include/mtasts/probe_cache.h; split out to
 * keep the cache's locking apart from the protocol.
 *
 * Blocking: mx_tls_judge() asks the DANE module (dane.h) for the host's
 * addresses and TLSA records, which may do the DNS lookups (each bounded by the
 * resolver's timeout) and up to STS_PROBE_CACHE_ADDRS probes (each
 * bounded by timeout_ms); it runs on the cache's worker threads only.
 * No state of its own: thread-safe.
 */
#ifndef MTASTS_MX_TLS_H
#define MTASTS_MX_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/dane.h"
#include "mtasts/dns.h"
#include "mtasts/probe.h"
#include "mtasts/probe_cache.h"

struct mx_tls_params {
    struct sts_dane *dane; /* the hosts' addresses and TLSA (dane.h) */
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

#endif
