/*
 * dns.h - DNS lookups on libunbound, DNSSEC-aware, with a deadline.
 *
 * Only dns.c includes <unbound.h>.  One struct sts_dns is created at
 * start-up and shared by every thread: the libunbound context runs in
 * asynchronous mode and one internal dispatcher thread processes its
 * answers; a caller blocks only on its own query, at most timeout_ms.
 *
 * Locking: the context's query list is guarded by one mutex held only to
 * enqueue/dequeue (never across network I/O); each query has its own
 * mutex and condition variable (CLOCK_MONOTONIC deadline).  A query that
 * times out is cancelled (ub_cancel) and its memory reclaimed by whichever
 * of the waiter or the callback runs last (a reference count under the
 * query's mutex).  Lock order: list mutex, then a query's mutex.
 *
 * Ownership: answers are allocated by sts_dns_query() and released with
 * sts_dns_answer_free(); they do not depend on the context's lifetime.
 *
 * Answers: struct sts_dns_answer, its records and the result codes are
 * declared in dns_rdata.h, the pure module that parses the RDATA
 * libunbound returns; its caps apply (at most 64 records, for MX the 64
 * most preferred, and 64 KiB of TXT data; why says "truncated: kept N of
 * M records").  RDATA that does not parse (see dns_rdata.h) makes the
 * whole answer STS_DNS_SERVFAIL with why "malformed <TYPE> record".
 *
 * Names under "test." (RFC 6761) go to the configured resolver like any
 * other: libunbound's built-in empty "test." zone is dropped, so that the
 * test world's server can answer for it.
 *
 * Create the resolver after any fork(): libunbound's worker is a thread.
 */
#ifndef MTASTS_DNS_H
#define MTASTS_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts/dns_rdata.h"
#include "mtasts/status.h"
#include "mtasts/vocab.h"

struct sts_dns_config {
    const char *forwarders;        /* NULL = system resolver (/etc/resolv.conf);
                                      else "ADDR[@PORT][ ADDR[@PORT]...]",
                                      IPv4 or IPv6 literals, separated by
                                      spaces, tabs or commas */
    const char *trust_anchor_file; /* NULL = no DNSSEC validation */
    unsigned timeout_ms;           /* per query; 0 = 5000 */
};

struct sts_dns;

/**
 * Create the shared resolver.
 * @return STS_OK, STS_EINVAL (bad forwarder or anchor file) or STS_ENOMEM
 */
enum sts_status sts_dns_new(const struct sts_dns_config *cfg, struct sts_dns **out, char *err,
                            size_t errlen);

/**
 * Stop the dispatcher, cancel pending queries and free; NULL is a no-op.
 * Callers still waiting in sts_dns_query() return at once with result
 * STS_DNS_ERROR ("resolver shutting down"); sts_dns_free() waits until they
 * have left.  No sts_dns_query() may start once sts_dns_free() has begun.
 */
void sts_dns_free(struct sts_dns *dns);

/**
 * Resolve name/type (class IN), waiting at most the configured timeout.
 * Thread-safe.  name is a normalised domain name (see domain.h); names
 * with empty or over-long labels, spaces, controls or zone-file
 * specials ("\\", '"', ';', '(', ')') are STS_EINVAL.
 * @param out receives a new answer (also for NXDOMAIN, timeout, ...)
 * @return STS_OK whenever *out was filled (look at (*out)->result),
 *         STS_ENOMEM or STS_EINVAL otherwise
 */
enum sts_status sts_dns_query(struct sts_dns *dns, const char *name, enum sts_dns_type type,
                              struct sts_dns_answer **out);

/**
 * Like sts_dns_query(), waiting at most timeout_ms (0, or more than the
 * configured timeout, means the configured timeout): for callers with a
 * deadline of their own, such as the milter at RCPT time.
 */
enum sts_status sts_dns_query_within(struct sts_dns *dns, const char *name, enum sts_dns_type type,
                                     unsigned timeout_ms, struct sts_dns_answer **out);

/* sts_dns_answer_free() and sts_dns_result_name() are in dns_rdata.h. */

#endif
