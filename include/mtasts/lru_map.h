/*
 * lru_map.h - one sharded hash map with LRU eviction, for the in-memory
 * fronts of the caches (policies, MX answers, MX TLS results).
 *
 * Shape (after unbound's util/storage/slabhash.c over lruhash.c, and
 * Postfix's util/ctable.c): the map is split into shards, each one mutex,
 * one condition variable, a hash table of chains that doubles as it
 * fills, and a list of its entries from the most to the least recently
 * used.  A key is a string (a domain or host name) plus a small tag (0 to
 * 255; e.g. the probe cache's "the MX RRset was secure"); the tag is part
 * of the key.  The map allocates each entry in one block: its own links,
 * the caller's value of value_size bytes (zeroed at insert), the key.
 * Callers work on the value (void *, cast to their struct); the key and
 * the tag of a value are read back with sts_lru_key()/sts_lru_tag().
 *
 * Bounds: at most about max_entries entries.  Each shard holds
 * max_entries / shards; an insert into a full shard first frees up to
 * evict_scan of its least recently used IDLE entries (an idle entry has
 * no pins); when all of those are pinned the shard holds more for a
 * while rather than fail, as a lookup must not fail because the cache is
 * busy.
 *
 * Pins: an entry held by someone other than the shard's lock holder (a
 * lookup across an unlock, a job queued or running on it, a waiter, a
 * single-flight leader) is pinned (sts_lru_pin(), a count); a pinned entry
 * is never freed, by eviction or by sts_lru_shard_remove(), so a pointer
 * to its value stays valid until the holder unpins it.  Only
 * sts_lru_map_free() frees pinned entries (nothing may hold any then).
 *
 * LOCK ORDER and thread rules:
 *   1. a shard mutex guards everything in its shard: the chains, the LRU
 *      list, the counts, every entry's links and pins, and (by the
 *      callers' convention) every field of the values stored in it;
 *      every function below that takes a struct sts_lru_shard * except
 *      sts_lru_shard_lock() requires the caller to hold that shard's
 *      mutex, and so do sts_lru_pin(), sts_lru_unpin(), sts_lru_pinned()
 *      and sts_lru_newer();
 *   2. hold at most one shard mutex at a time (no order among shards);
 *   3. a shard mutex may be held while taking a job pool's queue mutex
 *      (job_pool.h: scheduling a job on an entry), never the reverse;
 *   4. never hold a shard mutex across I/O (DNS, HTTPS, SQLite, a probe);
 *      pin the entry, unlock, do the I/O, lock again.
 * The map itself has no lock; the shard array never changes after
 * sts_lru_map_new().  on_free runs with the shard mutex held (or from
 * sts_lru_map_free()): it must only release memory the value owns.
 *
 * Ownership: the map owns its entries; a value pointer is valid while
 * the caller holds the shard mutex, or while the entry is pinned.
 */
#ifndef MTASTS_LRU_MAP_H
#define MTASTS_LRU_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/clock.h"
#include "mtasts/status.h"

#define STS_LRU_SHARDS_DEFAULT 16
#define STS_LRU_ENTRIES_DEFAULT 65536
#define STS_LRU_BUCKETS_MIN 64 /* per shard at start; doubles as it fills */
#define STS_LRU_EVICT_SCAN 8   /* LRU entries tried per insert into a full shard */
#define STS_LRU_TAG_MAX 255
/** Counters each shard keeps for its user (e.g. hits, misses), summed by sts_lru_map_stats(). */
#define STS_LRU_USER_COUNTERS 4

struct sts_lru_map_config {
    size_t value_size;   /* bytes of the caller's part of an entry */
    unsigned shards;     /* a power of two; 0 = STS_LRU_SHARDS_DEFAULT */
    size_t max_entries;  /* all shards together; 0 = STS_LRU_ENTRIES_DEFAULT */
    unsigned evict_scan; /* 0 = STS_LRU_EVICT_SCAN */
    size_t buckets_min;  /* per shard, a power of two; 0 = STS_LRU_BUCKETS_MIN */
    /* release what a value owns (not the value itself); NULL = nothing */
    void (*on_free)(void *arg, void *value);
    void *arg;
    int metrics_front; /* an enum sts_metrics_front (metrics.h): counts entries, evictions */
};

struct sts_lru_map;
struct sts_lru_shard;

/**
 * Create an empty map.
 * @param cfg the configuration (copied)
 * @param out receives the map
 * @param err, errlen receive the reason on failure
 * @return STS_OK, STS_EINVAL (shards not a power of two, or too many),
 *         STS_ENOMEM
 */
enum sts_status sts_lru_map_new(const struct sts_lru_map_config *cfg, struct sts_lru_map **out,
                                char *err, size_t errlen);

/**
 * Free every entry (calling on_free on each) and the map; NULL is a no-op.
 * No thread may use the map, and nothing may hold an entry.
 * @param m the map
 */
void sts_lru_map_free(struct sts_lru_map *m);

/**
 * The hash of a key (FNV-1a over the name, the tag mixed in).  Stable for
 * the life of the process, so a caller may also use it for per-key jitter.
 * @param key a NUL-terminated name
 * @param tag the key's tag, 0 to STS_LRU_TAG_MAX
 * @return the hash
 */
uint32_t sts_lru_hash(const char *key, unsigned tag);

/**
 * The shard that holds a key (no lock taken).
 * @param m    the map
 * @param hash sts_lru_hash() of the key
 * @return the shard, never NULL
 */
struct sts_lru_shard *sts_lru_map_shard(struct sts_lru_map *m, uint32_t hash);

/**
 * The number of shards, for walks over the whole map (the refreshers).
 * @param m the map
 * @return the count, a power of two
 */
unsigned sts_lru_map_nshards(const struct sts_lru_map *m);

/**
 * A shard by index, for walks over the whole map.
 * @param m the map
 * @param i 0 to sts_lru_map_nshards() - 1
 * @return the shard
 */
struct sts_lru_shard *sts_lru_map_shard_at(struct sts_lru_map *m, unsigned i);

/** Lock a shard's mutex.  @param s the shard */
void sts_lru_shard_lock(struct sts_lru_shard *s);

/** Unlock a shard's mutex.  @param s the shard (locked by the caller) */
void sts_lru_shard_unlock(struct sts_lru_shard *s);

/**
 * Wait on the shard's condition variable (shard locked; the mutex is
 * released during the wait) until woken or the deadline.  The caller
 * re-checks its predicate.
 * @param s the shard
 * @param d the deadline (monotonic)
 * @return true when woken, false once the deadline passed
 */
bool sts_lru_shard_wait(struct sts_lru_shard *s, struct sts_deadline d);

/**
 * Wake every thread waiting on the shard (shard locked).
 * @param s the shard
 */
void sts_lru_shard_broadcast(struct sts_lru_shard *s);

/**
 * Find a key in its shard (shard locked).  Does not change the LRU order.
 * @param s    the key's shard (sts_lru_map_shard(m, hash))
 * @param hash sts_lru_hash(key, tag)
 * @param key  the name
 * @param tag  the tag
 * @return the value, or NULL when absent
 */
void *sts_lru_shard_find(struct sts_lru_shard *s, uint32_t hash, const char *key, unsigned tag);

/**
 * Add a key that is not in the shard (shard locked): first make room
 * (evict idle LRU entries of a full shard), grow the table if needed,
 * then link a zeroed value as the most recently used.  The caller checks
 * absence first (sts_lru_shard_find(), or use sts_lru_shard_get()).
 * @param s, hash, key, tag as for sts_lru_shard_find(); tag at most STS_LRU_TAG_MAX
 * @return the new value, or NULL when out of memory
 */
void *sts_lru_shard_insert(struct sts_lru_shard *s, uint32_t hash, const char *key, unsigned tag);

/**
 * Find or insert (shard locked); a found entry becomes the most recently
 * used.
 * @param s, hash, key, tag as for sts_lru_shard_find()
 * @param created receives whether the value is new (zeroed); may be NULL
 * @return the value, or NULL when out of memory
 */
void *sts_lru_shard_get(struct sts_lru_shard *s, uint32_t hash, const char *key, unsigned tag,
                        bool *created);

/**
 * Mark a value the most recently used of its shard (shard locked).
 * @param s the value's shard
 * @param v the value
 */
void sts_lru_shard_touch(struct sts_lru_shard *s, void *v);

/**
 * Unlink and free a value now (shard locked), unless it is pinned.
 * Not counted as an eviction.
 * @param s the value's shard
 * @param v the value
 * @return true when freed (v is then invalid), false when pinned
 */
bool sts_lru_shard_remove(struct sts_lru_shard *s, void *v);

/**
 * Is the shard at its bound (shard locked)?  An insert would evict first.
 * @param s the shard
 * @return true when it holds max_entries / shards or more
 */
bool sts_lru_shard_full(const struct sts_lru_shard *s);

/**
 * The shard's least recently used value, to walk the shard from the
 * oldest with sts_lru_newer() (shard locked).  Removing the current value
 * during the walk is allowed if the next was fetched first.
 * @param s the shard
 * @return the value, or NULL when the shard is empty
 */
void *sts_lru_shard_oldest(struct sts_lru_shard *s);

/**
 * The next more recently used value of the same shard (shard locked).
 * @param v a value
 * @return the value, or NULL after the most recent
 */
void *sts_lru_newer(const void *v);

/**
 * The shard's user counters (shard locked): STS_LRU_USER_COUNTERS
 * values the caller numbers and increments; summed by sts_lru_map_stats().
 * @param s the shard
 * @return the array
 */
uint64_t *sts_lru_shard_counters(struct sts_lru_shard *s);

/** Pin a value: it is not freed until unpinned (shard locked). @param v the value */
void sts_lru_pin(void *v);

/** Drop one pin (shard locked). @param v the value */
void sts_lru_unpin(void *v);

/**
 * Is the value pinned (shard locked)?
 * @param v the value
 * @return true when some holder has it pinned
 */
bool sts_lru_pinned(const void *v);

/**
 * A value's key (valid as long as the value).
 * @param v the value
 * @return the name it was inserted under
 */
const char *sts_lru_key(const void *v);

/**
 * A value's tag.
 * @param v the value
 * @return the tag it was inserted under
 */
unsigned sts_lru_tag(const void *v);

/**
 * A value's hash (sts_lru_hash() of its key and tag).
 * @param v the value
 * @return the hash
 */
uint32_t sts_lru_value_hash(const void *v);

/** Counts over all shards. */
struct sts_lru_map_stats {
    size_t entries;                       /* now */
    uint64_t inserts;                     /* since creation */
    uint64_t evictions;                   /* idle entries freed to make room */
    uint64_t user[STS_LRU_USER_COUNTERS]; /* the callers' counters, summed */
};

/**
 * A snapshot of the counters (takes each shard's mutex in turn; hold none).
 * @param m   the map
 * @param out receives the sums
 */
void sts_lru_map_stats(struct sts_lru_map *m, struct sts_lru_map_stats *out);

#endif
