/*
 * mx_cache.h - a per-domain memo of MX answers in front of the resolver.
 *
 * Why: every recipient the milter judges needs its domain's MX hosts.
 * Asking libunbound costs three thread hand-offs and several system calls
 * even when its own cache has the answer (dns.h: one dispatcher thread,
 * pipes), which was most of the milter's per-recipient cost.  The memo
 * answers a warm domain under one shard mutex, with no system call.
 *
 * Semantics (the same facts judge.c's MX gathering has always produced):
 *   - MX records: the hosts in preference order (at most STS_MX_CACHE_HOSTS;
 *     a null MX, RFC 7505, is kept as the host "");
 *   - no MX records (NODATA): RFC 5321 §5.1 implicit MX, the domain itself
 *     when it has an A or AAAA record; without either, no host;
 *   - NXDOMAIN: no host;
 *   - anything else (SERVFAIL, timeout, bogus, local error), or an address
 *     lookup failing for the implicit MX: dns_error, never memoised.
 * Lifetimes: an answer is kept for its TTL (for an implicit MX the smaller
 * of the MX denial's and the address record's), capped at max_ttl_s; an
 * answer with no host is kept at most negative_ttl_s; TTL 0 is not kept.
 * The DNSSEC status is the MX query's: of the MX RRset, or of its denial
 * (NODATA/NXDOMAIN), which is what DANE (RFC 7672 §2.2) asks about.
 *
 * Locking: the answers live in a memo (memo.h over lru_map.h: shards,
 * each one mutex never held across a DNS query).  Lookups of one domain
 * that miss at once share a single query (single flight): the first asks,
 * the others wait on the shard's condition variable up to their own
 * budget, and take the first's answer (also a dns_error, once).
 * Memory: at most max_entries domains (least recently used evicted first).
 */
#ifndef MTASTS_MX_CACHE_H
#define MTASTS_MX_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/dns.h"
#include "mtasts/domain.h"
#include "mtasts/status.h"

/** Hosts kept per domain (the most preferred). */
#define STS_MX_CACHE_HOSTS 32

/** The resolver call, replaceable for tests (sts_dns_query_within()'s contract). */
typedef enum sts_status sts_mx_query_fn(void *arg, const char *name, enum sts_dns_type type,
                                        unsigned timeout_ms, struct sts_dns_answer **out);

struct sts_mx_cache_config {
    struct sts_dns *dns;     /* borrowed; must outlive the memo */
    unsigned max_ttl_s;      /* cap on a kept answer; default 3600 */
    unsigned negative_ttl_s; /* cap on a kept "no host" answer; default 60 */
    size_t max_entries;      /* default 65536 */
    sts_mx_query_fn *query;  /* NULL = sts_dns_query_within on dns */
    void *query_arg;
    int64_t (*now_ms)(void *arg); /* monotonic ms; NULL = CLOCK_MONOTONIC */
    void *now_arg;
};

struct sts_mx_host {
    uint16_t preference; /* 0 for an implicit MX */
    char name[STS_DOMAIN_MAX + 1];
};

struct sts_mx_result {
    bool dns_error;         /* the facts are unknown: do not judge on them */
    bool implicit;          /* RFC 5321 §5.1: the domain is its own MX */
    bool cached;            /* answered from the memo (or a shared query) */
    enum sts_dnssec dnssec; /* of the MX RRset or its denial */
    size_t count;           /* 0: nowhere to deliver (or dns_error) */
    struct sts_mx_host hosts[STS_MX_CACHE_HOSTS];
};

struct sts_mx_cache;

/**
 * Create the memo.
 * @return STS_OK, STS_EINVAL (no dns and no query function) or STS_ENOMEM
 */
enum sts_status sts_mx_cache_new(const struct sts_mx_cache_config *cfg, struct sts_mx_cache **out,
                                 char *err, size_t errlen);

/** Free; NULL is a no-op.  No lookup may be running. */
void sts_mx_cache_free(struct sts_mx_cache *mc);

/**
 * The MX hosts of a normalised domain, asking the resolver at most
 * budget_ms (in all, for the implicit MX's address lookups too) on a miss.
 * Thread-safe.  out is always filled; with budget_ms < 1 a miss is a
 * dns_error.
 */
void sts_mx_cache_get(struct sts_mx_cache *mc, const char *domain, unsigned budget_ms,
                      struct sts_mx_result *out);

/**
 * The memoised MX hosts of a domain, if fresh: never asks the resolver nor
 * waits, so an event loop may call it (the socketmap's warm path).
 * @return true with out filled; false on a miss
 */
bool sts_mx_cache_peek(struct sts_mx_cache *mc, const char *domain, struct sts_mx_result *out);

/** Counters since creation (for tests and the benchmarks). */
struct sts_mx_cache_stats {
    uint64_t hits, misses, queries, shared, evictions;
    size_t entries;
};
void sts_mx_cache_stats(struct sts_mx_cache *mc, struct sts_mx_cache_stats *out);

#endif
