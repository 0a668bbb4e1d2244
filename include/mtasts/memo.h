/*
 * memo.h - a bounded memo of resolved answers with single flight, over
 * the LRU map (lru_map.h): the MX memo (mx_cache.h) and the DANE facts of
 * MX hosts (dane.h) keep their DNS answers in one.
 *
 * A value is the caller's refcounted object (it starts with a struct
 * sts_memo_ref); the memo keeps one reference while the value is fresh
 * and hands out one more to each sts_memo_get() that returns it, so a
 * caller may read it after every lock is gone and releases it with
 * sts_memo_put().  A value is never changed once stored: the caller's
 * resolve function builds a new one.
 *
 * Single flight: lookups of one key that miss at once share one resolve:
 * the first becomes the leader (it pins the entry, unlocks, resolves,
 * locks again and stores), the others wait on the shard's condition
 * variable up to their own budget and take the leader's answer, also a
 * failure (NULL), once.  A value resolved with ttl 0 is handed to the
 * waiting lookups but not kept.
 *
 * LOCK ORDER and thread rules: the memo's lock is the lru_map's shard
 * mutex (lru_map.h rules 1-4); the resolve function runs without it and
 * must not call back into the same memo for the same key.  Reference
 * counts are atomic.  Thread-safe.
 */
#ifndef MTASTS_MEMO_H
#define MTASTS_MEMO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/clock.h"
#include "mtasts/status.h"

/** The head of every memoised value. */
struct sts_memo_ref {
    atomic_uint refs;
    void (*free)(struct sts_memo_ref *v); /* called when the last reference goes */
};

/**
 * Resolve a key (no lock held).  Returns a new value holding one
 * reference (NULL: the facts are unknown, e.g. the resolver failed) and
 * sets *ttl_s to how long it may be kept (0: not at all).
 */
typedef struct sts_memo_ref *sts_memo_resolve_fn(void *arg, const char *key, unsigned tag,
                                                 unsigned budget_ms, uint32_t *ttl_s);

struct sts_memo_config {
    size_t max_entries;     /* 0 = the lru_map default */
    unsigned shards;        /* 0 = the lru_map default */
    struct sts_clock clock; /* expiry clock (milliseconds); zero = CLOCK_MONOTONIC */
    int metrics_front;      /* lru_map.h's metrics_front */
};

/** What a memo counted since creation. */
struct sts_memo_stats {
    uint64_t hits, misses, resolves, shared, evictions;
    size_t entries;
};

struct sts_memo;

/**
 * Create an empty memo.
 * @return STS_OK, STS_EINVAL, STS_ENOMEM
 */
enum sts_status sts_memo_new(const struct sts_memo_config *cfg, struct sts_memo **out, char *err,
                             size_t errlen);

/** Free the memo and drop its references; NULL is a no-op.  No get may be running. */
void sts_memo_free(struct sts_memo *m);

/**
 * The fresh value of (key, tag), resolving it on a miss (sharing a
 * resolve in flight), waiting at most budget_ms.
 * @param cached receives whether the answer was memoised or shared (may be NULL)
 * @return a referenced value (release with sts_memo_put()), or NULL when
 *         it is unknown: the resolve failed, or the budget ran out first
 */
struct sts_memo_ref *sts_memo_get(struct sts_memo *m, const char *key, unsigned tag,
                                  unsigned budget_ms, sts_memo_resolve_fn *resolve, void *arg,
                                  bool *cached);

/**
 * The fresh value of (key, tag) if memoised: never resolves nor waits (for
 * an event loop).  NULL on a miss.
 */
struct sts_memo_ref *sts_memo_peek(struct sts_memo *m, const char *key, unsigned tag);

/** Forget (key, tag) (a running resolve still stores its answer). */
void sts_memo_forget(struct sts_memo *m, const char *key, unsigned tag);

/** Take one more reference. */
struct sts_memo_ref *sts_memo_hold(struct sts_memo_ref *v);

/** Drop one reference; NULL is a no-op. */
void sts_memo_put(struct sts_memo_ref *v);

/** A snapshot of the counters. */
void sts_memo_stats(struct sts_memo *m, struct sts_memo_stats *out);

#endif
