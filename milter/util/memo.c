/*
 * memo.c - a bounded memo with single flight (see memo.h).
 *
 * Locking protocol: an entry lives in the shard of the lru_map its key's
 * hash picks; the shard's mutex guards its entries' fields and flights.
 * A miss becomes the key's leader: it hangs a flight on the entry and
 * pins it, lets go of the mutex, resolves, then takes the mutex again to
 * store the value, unpin, mark the flight done and wake the waiters.  A
 * flight is freed by whichever of the leader and its waiters leaves it
 * last; it holds its own reference on the value it carries.
 */
#include "mtasts/memo.h"

#include <stdlib.h>

#include "mtasts/lru_map.h"

/* A resolve in progress, shared by every lookup of its key. */
struct flight {
    unsigned users; /* the leader and its waiters */
    bool done;
    struct sts_memo_ref *val; /* the answer (referenced), NULL if unknown */
};

struct entry {
    struct sts_memo_ref *val; /* NULL: nothing memoised */
    int64_t expires_ms;       /* val is fresh while now < this */
    struct flight *flight;    /* a resolve in progress; the entry is pinned meanwhile */
};

enum { HITS, MISSES, RESOLVES, SHARED };

struct sts_memo {
    struct sts_clock clock;
    struct sts_lru_map *map;
};

struct sts_memo_ref *sts_memo_hold(struct sts_memo_ref *v)
{
    if (v != NULL)
        atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
    return v;
}

void sts_memo_put(struct sts_memo_ref *v)
{
    if (v != NULL && atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1)
        v->free(v);
}

static void entry_free(void *arg, void *value)
{
    (void)arg;
    sts_memo_put(((struct entry *)value)->val);
}

enum sts_status sts_memo_new(const struct sts_memo_config *cfg, struct sts_memo **out, char *err,
                             size_t errlen)
{
    *out = NULL;
    struct sts_memo *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    m->clock = cfg->clock;
    struct sts_lru_map_config mc = {.value_size = sizeof(struct entry),
                                    .shards = cfg->shards,
                                    .max_entries = cfg->max_entries,
                                    .on_free = entry_free,
                                    .metrics_front = cfg->metrics_front};
    enum sts_status st = sts_lru_map_new(&mc, &m->map, err, errlen);
    if (st != STS_OK) {
        free(m);
        return st;
    }
    *out = m;
    return STS_OK;
}

void sts_memo_free(struct sts_memo *m)
{
    if (m == NULL)
        return;
    sts_lru_map_free(m->map);
    free(m);
}

/* Leave a flight (shard locked); the last one out frees it. */
static void flight_leave(struct flight *f)
{
    if (--f->users == 0 && f->done) {
        sts_memo_put(f->val);
        free(f);
    }
}

/* Wait for the key's flight (shard locked); false if the budget ran out. */
static bool wait_flight(struct sts_lru_shard *s, struct flight *f, unsigned budget_ms,
                        struct sts_memo_ref **out)
{
    struct sts_deadline d = sts_deadline_in(budget_ms);
    f->users++;
    bool woken = true;
    while (!f->done && woken)
        woken = sts_lru_shard_wait(s, d);
    bool done = f->done;
    if (done)
        *out = sts_memo_hold(f->val);
    flight_leave(f);
    return done;
}

static struct entry *find_fresh(struct sts_memo *m, struct sts_lru_shard *s, uint32_t h,
                                const char *key, unsigned tag)
{
    struct entry *e = sts_lru_shard_find(s, h, key, tag);
    if (e != NULL && e->val != NULL && sts_clock_now_ms(&m->clock) < e->expires_ms)
        return e;
    return NULL;
}

struct sts_memo_ref *sts_memo_peek(struct sts_memo *m, const char *key, unsigned tag)
{
    uint32_t h = sts_lru_hash(key, tag);
    struct sts_lru_shard *s = sts_lru_map_shard(m->map, h);
    sts_lru_shard_lock(s);
    struct entry *e = find_fresh(m, s, h, key, tag);
    struct sts_memo_ref *v = NULL;
    if (e != NULL) {
        sts_lru_shard_counters(s)[HITS]++;
        sts_lru_shard_touch(s, e);
        v = sts_memo_hold(e->val);
    }
    sts_lru_shard_unlock(s);
    return v;
}

struct sts_memo_ref *sts_memo_get(struct sts_memo *m, const char *key, unsigned tag,
                                  unsigned budget_ms, sts_memo_resolve_fn *resolve, void *arg,
                                  bool *cached)
{
    bool scratch;
    if (cached == NULL)
        cached = &scratch;
    *cached = false;
    uint32_t h = sts_lru_hash(key, tag);
    struct sts_lru_shard *s = sts_lru_map_shard(m->map, h);
    sts_lru_shard_lock(s);
    uint64_t *count = sts_lru_shard_counters(s);
    struct entry *e = find_fresh(m, s, h, key, tag);
    if (e != NULL) {
        count[HITS]++;
        sts_lru_shard_touch(s, e);
        struct sts_memo_ref *v = sts_memo_hold(e->val);
        sts_lru_shard_unlock(s);
        *cached = true;
        return v;
    }
    count[MISSES]++;
    e = sts_lru_shard_find(s, h, key, tag);
    if (e != NULL && e->flight != NULL) {
        count[SHARED]++;
        struct sts_memo_ref *v = NULL;
        bool got = wait_flight(s, e->flight, budget_ms, &v);
        sts_lru_shard_unlock(s);
        *cached = got;
        return v;
    }
    struct flight *f = calloc(1, sizeof(*f));
    if (e == NULL && f != NULL)
        e = sts_lru_shard_insert(s, h, key, tag);
    if (e == NULL || f == NULL) {
        sts_lru_shard_unlock(s);
        free(f);
        return NULL;
    }
    f->users = 1;
    e->flight = f;
    sts_lru_pin(e); /* the leader holds it across the resolve */
    count[RESOLVES]++;
    sts_lru_shard_unlock(s);

    uint32_t ttl_s = 0;
    struct sts_memo_ref *v = resolve(arg, key, tag, budget_ms, &ttl_s);
    int64_t expires = sts_clock_now_ms(&m->clock) + (int64_t)ttl_s * 1000;

    sts_lru_shard_lock(s);
    if (v != NULL && ttl_s > 0) {
        sts_memo_put(e->val);
        e->val = sts_memo_hold(v);
        e->expires_ms = expires;
    }
    e->flight = NULL;
    sts_lru_unpin(e);
    f->val = sts_memo_hold(v);
    f->done = true;
    if (f->users > 1)
        sts_lru_shard_broadcast(s);
    flight_leave(f);
    sts_lru_shard_unlock(s);
    return v; /* the resolve's own reference */
}

void sts_memo_forget(struct sts_memo *m, const char *key, unsigned tag)
{
    uint32_t h = sts_lru_hash(key, tag);
    struct sts_lru_shard *s = sts_lru_map_shard(m->map, h);
    sts_lru_shard_lock(s);
    struct entry *e = sts_lru_shard_find(s, h, key, tag);
    if (e != NULL) {
        sts_memo_put(e->val);
        e->val = NULL;
    }
    sts_lru_shard_unlock(s);
}

void sts_memo_stats(struct sts_memo *m, struct sts_memo_stats *out)
{
    struct sts_lru_map_stats st;
    sts_lru_map_stats(m->map, &st);
    out->hits = st.user[HITS];
    out->misses = st.user[MISSES];
    out->resolves = st.user[RESOLVES];
    out->shared = st.user[SHARED];
    out->evictions = st.evictions;
    out->entries = st.entries;
}
