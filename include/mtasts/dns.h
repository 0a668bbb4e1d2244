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
 * Caps: an answer keeps at most 64 records (for MX the 64 most preferred)
 * and at most 64 KiB of TXT data; when records were left out, why says
 * "truncated: kept N of M records".  RDATA that does not parse (a TXT
 * character-string running past its record, an MX name with a compression
 * pointer, a label over 63 octets, a name over 255 octets, bytes that
 * cannot appear in a host name) makes the whole answer STS_DNS_SERVFAIL
 * with why "malformed <TYPE> record".
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

#include "mtasts/status.h"
#include "mtasts/vocab.h"

enum sts_dns_type {
    STS_DNS_TXT = 16,
    STS_DNS_MX = 15,
    STS_DNS_A = 1,
    STS_DNS_AAAA = 28,
    STS_DNS_TLSA = 52,
};

/** Outcome of a query; each is distinct, as RFC 8461 §5 treats them apart. */
enum sts_dns_result {
    STS_DNS_ANSWER = 0, /* NOERROR with records of the asked type */
    STS_DNS_NXDOMAIN,   /* the name does not exist */
    STS_DNS_NODATA,     /* the name exists, no records of that type */
    STS_DNS_SERVFAIL,   /* SERVFAIL, REFUSED, other rcodes, or bogus DNSSEC */
    STS_DNS_TIMEOUT,    /* no answer before the deadline */
    STS_DNS_ERROR,      /* local failure (memory, resolver setup) */
};

struct sts_dns_mx {
    uint16_t preference;
    char host[256]; /* lower-case, no trailing dot; "" for a null MX (RFC 7505) */
};

struct sts_dns_tlsa {
    uint8_t usage, selector, mtype;
    size_t len;
    unsigned char *data;
};

struct sts_dns_answer {
    enum sts_dns_result result;
    enum sts_dnssec dnssec;
    uint32_t ttl;  /* seconds; for NXDOMAIN/NODATA the negative TTL if known;
                      0 when bogus or malformed */
    char why[128]; /* libunbound's reason for bogus, the rcode for servfail,
                      "truncated: ..." for a capped answer; may be "" */
    size_t count;  /* records of the asked type, at most 64 */
    /* for an ANSWER exactly one of these arrays is set, per the type asked;
       all are NULL when count is 0 */
    char **txt;            /* TXT: character-strings joined, NUL-terminated */
    size_t *txt_len;       /* their lengths (a TXT may contain NUL bytes) */
    struct sts_dns_mx *mx; /* sorted by preference; order among equal
                              preferences unspecified (libunbound rotates) */
    char (*addr)[46];      /* A/AAAA: presentation form (inet_ntop) */
    struct sts_dns_tlsa *tlsa;
};

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

/** Free an answer; NULL is a no-op. */
void sts_dns_answer_free(struct sts_dns_answer *ans);

/** "answer", "nxdomain", "nodata", "servfail", "timeout", "error". */
const char *sts_dns_result_name(enum sts_dns_result r);

#endif
