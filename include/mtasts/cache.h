/*
 * cache.h - "what MTA-STS policy applies to this domain now?"
 *
 * Policy discovery and caching per RFC 8461 §3 and §5, over the DNS,
 * fetch and store modules:
 *   - an in-memory front cache (sharded, one mutex per shard, never held
 *     across I/O, bounded to max_entries domains by LRU eviction, hash
 *     tables that grow with it) answers warm lookups in microseconds;
 *     an evicted domain is loaded again from the store;
 *   - a miss loads from the store, else runs discovery: TXT, then HTTPS
 *     only when the id is new; discoveries of one domain are shared
 *     (single flight) and run on a bounded worker pool (global cap on
 *     concurrent fetches);
 *   - a lookup waits for discovery at most its deadline, then returns
 *     STS_LOOKUP_PENDING while discovery finishes in the background;
 *   - a store that cannot be read never costs a known policy: memory
 *     answers if it has an unexpired policy, else the lookup returns
 *     STS_LOOKUP_ERROR with reason STORE_ERROR (OnStoreError), not the
 *     outcome of a discovery that found no policy or failed;
 *   - a background refresher re-checks policies of recently used domains
 *     before they expire, at jittered times.
 *
 * Semantics (§5): an unexpired cached policy is used; after recheck_s the
 * TXT id is re-checked (same id: freshness extended without HTTPS; new id:
 * fetch); a failed fetch keeps the cached policy and backs off that
 * (domain, id) for backoff_s (>= 300); a vanished TXT record does not
 * remove an unexpired policy (logged); "mode: none" replaces at once;
 * domains without an indicator are cached negatively for negative_ttl_s.
 *
 * Built on the util layer: the front is an lru_map (lru_map.h, whose lock
 * order applies), discoveries and the refresher run on a job_pool
 * (job_pool.h), times come from clock.h, lines go to a log sink (log.h).
 *
 * Ownership: results hold a reference on an immutable policy; release
 * with sts_cache_result_clear().  The cache borrows dns, store and the
 * fetch config; they must outlive it.
 */
#ifndef MTASTS_CACHE_H
#define MTASTS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/clock.h"
#include "mtasts/dns.h"
#include "mtasts/fetch.h"
#include "mtasts/log.h"
#include "mtasts/policy.h"
#include "mtasts/status.h"
#include "mtasts/store.h"
#include "mtasts/vocab.h"

struct sts_cache_config {
    struct sts_dns *dns;
    struct sts_store *store;
    struct sts_fetch_config fetch;
    unsigned negative_ttl_s;     /* default 3600 */
    unsigned recheck_s;          /* TXT re-check grace, default 3600 */
    unsigned backoff_s;          /* failed fetch back-off, default 300, min 300 */
    unsigned tempfail_ttl_s;     /* DNS failure memo, default 60 */
    unsigned max_fetches;        /* concurrent discoveries, default 16 */
    unsigned refresh_interval_s; /* refresher period, default 60; 0 = no refresher */
    unsigned refresh_window_s;   /* renew when expiring within, default 86400 */
    unsigned recent_use_s;       /* "recently used", default 7 days */
    size_t max_entries;          /* domains kept in memory (least recently
                                    used evicted; the store keeps them),
                                    default 65536 */
    sts_clock_fn *now;           /* clock (Unix seconds, clock.h); NULL = the wall clock */
    void *now_arg;
    sts_log_fn *log; /* the log sink's function (log.h); NULL = silent */
    void *log_arg;
};

struct sts_cache_result {
    enum sts_lookup_outcome outcome;
    enum sts_lookup_source source;
    const struct sts_policy *policy; /* referenced when outcome is POLICY */
    char id[STS_TXT_ID_MAX + 1];
    int64_t expires_at;
    enum sts_lookup_reason reason; /* why (vocab.h); spelled by sts_lookup_reason_format() */
    enum sts_fetch_result fetch;   /* for reason FETCH_FAILED: how the fetch failed */
    void *ref_;                    /* private */
};

struct sts_cache;

enum sts_status sts_cache_new(const struct sts_cache_config *cfg, struct sts_cache **out, char *err,
                              size_t errlen);

/** Stop the refresher and workers (waiting for running discoveries), free. */
void sts_cache_free(struct sts_cache *cache);

/**
 * The policy for a normalised domain, waiting at most deadline_ms for a
 * discovery.  Thread-safe.  out is always filled.
 */
enum sts_status sts_cache_lookup(struct sts_cache *cache, const char *domain, unsigned deadline_ms,
                                 struct sts_cache_result *out);

/**
 * The front cache's current answer for a domain, if it has one (a policy,
 * or a remembered "no policy" or DNS failure): never waits, never reads
 * the store or the network, so an event loop may call it (the socketmap
 * server's I/O thread, for warm keys).  Thread-safe.
 * @return true with out filled (source STS_SOURCE_FRONT); false with out
 *         zeroed: call sts_cache_lookup() where waiting is allowed
 */
bool sts_cache_peek(struct sts_cache *cache, const char *domain, struct sts_cache_result *out);

/** Release the result's policy reference; safe on a zeroed result. */
void sts_cache_result_clear(struct sts_cache_result *res);

/**
 * Wait until no discovery is queued or running (background re-checks
 * included), at most timeout_ms.  For tests and orderly shutdown.
 * @return STS_OK when idle, STS_EIO if still busy at the timeout
 */
enum sts_status sts_cache_wait_idle(struct sts_cache *cache, unsigned timeout_ms);

/** Forget a domain in memory (after "mtasts cache purge" or reload). */
void sts_cache_forget(struct sts_cache *cache, const char *domain);

#endif
