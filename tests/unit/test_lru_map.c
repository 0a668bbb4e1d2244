/*
 * test_lru_map.c - unit tests of the sharded LRU map (lru_map.h) that the
 * policy, MX and probe caches keep their memory fronts in.
 *
 * Guards what those caches rely on (architecture review, change 2): a key
 * is (name, tag) and the tag is part of it (the probe cache judges one
 * host twice, reached through a secure and an insecure MX RRset, RFC 7672
 * §2.2.1); a full shard frees its least recently used IDLE entries and
 * never a pinned one (a pointer held by a job, a waiter or a lookup
 * across an unlock stays valid: the bug class "freed under a waiter");
 * the bound holds; tables grow and every key stays findable; walks from
 * the oldest see every entry; and concurrent use from several threads
 * loses and double-frees nothing (run under the ASan build, and TSan).
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/lru_map.h"
#include "unit_main.h"

#define CANARY 0x5a5aa5a5u

struct val {
    unsigned canary; /* CANARY while the entry lives, 0 once on_free ran */
    int n;
    atomic_int holders; /* threads that believe they hold it pinned */
};

static atomic_int frees;

static void on_free(void *arg, void *v)
{
    (void)arg;
    struct val *x = v;
    ck_assert_msg(x->canary == CANARY, "on_free on a dead value (canary %x)", x->canary);
    ck_assert_msg(atomic_load(&x->holders) == 0, "freed while %d holders pin it",
                  atomic_load(&x->holders));
    x->canary = 0;
    atomic_fetch_add(&frees, 1);
}

static struct sts_lru_map *make(unsigned shards, size_t max, size_t buckets)
{
    struct sts_lru_map_config cfg = {.value_size = sizeof(struct val),
                                     .shards = shards,
                                     .max_entries = max,
                                     .buckets_min = buckets,
                                     .on_free = on_free};
    struct sts_lru_map *m = NULL;
    char err[128];
    ck_assert_int_eq(sts_lru_map_new(&cfg, &m, err, sizeof(err)), STS_OK);
    atomic_store(&frees, 0);
    return m;
}

/* Insert (name, tag) under the shard lock; returns the new value. */
static struct val *put(struct sts_lru_map *m, const char *name, unsigned tag, int n)
{
    uint32_t h = sts_lru_hash(name, tag);
    struct sts_lru_shard *s = sts_lru_map_shard(m, h);
    sts_lru_shard_lock(s);
    bool created = false;
    struct val *v = sts_lru_shard_get(s, h, name, tag, &created);
    ck_assert_ptr_nonnull(v);
    if (created)
        v->canary = CANARY;
    v->n = n;
    sts_lru_shard_unlock(s);
    return v;
}

/* The n stored under (name, tag), -1 if absent. */
static int get(struct sts_lru_map *m, const char *name, unsigned tag)
{
    uint32_t h = sts_lru_hash(name, tag);
    struct sts_lru_shard *s = sts_lru_map_shard(m, h);
    sts_lru_shard_lock(s);
    struct val *v = sts_lru_shard_find(s, h, name, tag);
    int n = v != NULL ? v->n : -1;
    if (v != NULL) {
        ck_assert_str_eq(sts_lru_key(v), name);
        ck_assert_uint_eq(sts_lru_tag(v), tag);
        ck_assert_uint_eq(sts_lru_value_hash(v), h);
    }
    sts_lru_shard_unlock(s);
    return n;
}

START_TEST(keys_are_name_and_tag)
{
    static const struct {
        const char *name;
        unsigned tag;
        int n;
    } rows[] = {
        {"mx1.example", 0, 1},
        {"mx1.example", 1, 2},
        {"mx2.example", 0, 3},
        {"MX1.example", 0, 4},
        {"", 0, 5},
        {"mx1.example", 255, 6},
    };
    struct sts_lru_map *m = make(4, 64, 0);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        put(m, rows[i].name, rows[i].tag, rows[i].n);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        int got = get(m, rows[i].name, rows[i].tag);
        ck_assert_msg(got == rows[i].n, "(%s, %u): got %d, want %d", rows[i].name, rows[i].tag, got,
                      rows[i].n);
    }
    ck_assert_int_eq(get(m, "mx1.example", 2), -1);
    ck_assert_int_eq(get(m, "mx3.example", 0), -1);
    /* get on an existing key finds it, does not add */
    put(m, "mx1.example", 1, 7);
    ck_assert_int_eq(get(m, "mx1.example", 1), 7);
    struct sts_lru_map_stats st;
    sts_lru_map_stats(m, &st);
    ck_assert_uint_eq(st.entries, 6);
    ck_assert_uint_eq(st.inserts, 6);
    ck_assert_uint_eq(st.evictions, 0);
    sts_lru_map_free(m);
    ck_assert_int_eq(atomic_load(&frees), 6);
}
END_TEST

/* One shard of four: which keys survive a fifth insert after these steps. */
START_TEST(evicts_least_recently_used)
{
    static const struct {
        const char *touch; /* touched (made most recent) after a..d are in; NULL none */
        const char *gone;  /* evicted by inserting "e" */
    } rows[] = {
        {NULL, "a"},
        {"a", "b"},
        {"b", "a"},
        {"d", "a"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sts_lru_map *m = make(1, 4, 0);
        const char *keys[] = {"a", "b", "c", "d"};
        for (int k = 0; k < 4; k++)
            put(m, keys[k], 0, k);
        if (rows[i].touch != NULL)
            put(m, rows[i].touch, 0, get(m, rows[i].touch, 0)); /* get = touch */
        put(m, "e", 0, 9);
        ck_assert_msg(get(m, rows[i].gone, 0) == -1, "row %zu: %s should be evicted", i,
                      rows[i].gone);
        int present = 0;
        for (int k = 0; k < 4; k++)
            present += get(m, keys[k], 0) >= 0;
        ck_assert_msg(present == 3, "row %zu: got %d of a..d, want 3", i, present);
        struct sts_lru_map_stats st;
        sts_lru_map_stats(m, &st);
        ck_assert_uint_eq(st.entries, 4);
        ck_assert_uint_eq(st.evictions, 1);
        ck_assert_int_eq(atomic_load(&frees), 1);
        sts_lru_map_free(m);
    }
}
END_TEST

START_TEST(pinned_entries_survive)
{
    struct sts_lru_map *m = make(1, 2, 0);
    struct val *a = put(m, "a", 0, 1), *b = put(m, "b", 0, 2);
    struct sts_lru_shard *s = sts_lru_map_shard(m, sts_lru_hash("a", 0));
    sts_lru_shard_lock(s);
    sts_lru_pin(a);
    sts_lru_pin(b);
    sts_lru_pin(b); /* two holders */
    ck_assert(sts_lru_pinned(a) && sts_lru_pinned(b));
    ck_assert(sts_lru_shard_full(s));
    ck_assert_msg(!sts_lru_shard_remove(s, a), "a pinned entry must not be removed");
    sts_lru_shard_unlock(s);

    put(m, "c", 0, 3); /* full, every candidate pinned: the shard holds one more */
    ck_assert_int_eq(get(m, "a", 0), 1);
    ck_assert_int_eq(get(m, "b", 0), 2);
    ck_assert_int_eq(get(m, "c", 0), 3);
    ck_assert_int_eq(atomic_load(&frees), 0);

    sts_lru_shard_lock(s);
    sts_lru_unpin(a);
    sts_lru_unpin(b); /* b still has one pin */
    sts_lru_shard_unlock(s);
    put(m, "d", 0, 4); /* frees idle a and c (oldest first) down to the bound */
    ck_assert_int_eq(get(m, "a", 0), -1);
    ck_assert_int_eq(get(m, "b", 0), 2);
    ck_assert_int_eq(get(m, "c", 0), -1);
    ck_assert_int_eq(get(m, "d", 0), 4);

    sts_lru_shard_lock(s);
    sts_lru_unpin(b);
    ck_assert(!sts_lru_pinned(b));
    ck_assert(sts_lru_shard_remove(s, b));
    sts_lru_shard_unlock(s);
    ck_assert_int_eq(get(m, "b", 0), -1);
    struct sts_lru_map_stats st;
    sts_lru_map_stats(m, &st);
    ck_assert_uint_eq(st.evictions, 2); /* remove is not an eviction */
    ck_assert_uint_eq(st.entries, 1);
    sts_lru_map_free(m);
    ck_assert_int_eq(atomic_load(&frees), 4);
}
END_TEST

START_TEST(tables_grow_and_walks_see_all)
{
    enum { N = 5000 };
    struct sts_lru_map *m = make(1, N, 2);
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "h%05d.example", i);
        put(m, name, (unsigned)i & 1, i);
    }
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "h%05d.example", i);
        ck_assert_int_eq(get(m, name, (unsigned)i & 1), i);
    }
    /* oldest to newest is insertion order (find does not touch) */
    struct sts_lru_shard *s = sts_lru_map_shard_at(m, 0);
    sts_lru_shard_lock(s);
    int seen = 0;
    for (struct val *v = sts_lru_shard_oldest(s); v != NULL; v = sts_lru_newer(v)) {
        ck_assert_msg(v->n == seen, "walk: got %d, want %d", v->n, seen);
        seen++;
    }
    sts_lru_shard_unlock(s);
    ck_assert_int_eq(seen, N);
    sts_lru_map_free(m);
    ck_assert_int_eq(atomic_load(&frees), N);
}
END_TEST

START_TEST(walk_may_remove)
{
    struct sts_lru_map *m = make(4, 1000, 0);
    char name[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "w%d", i);
        put(m, name, 0, i);
    }
    int kept = 0;
    for (unsigned i = 0; i < sts_lru_map_nshards(m); i++) {
        struct sts_lru_shard *s = sts_lru_map_shard_at(m, i);
        sts_lru_shard_lock(s);
        for (struct val *v = sts_lru_shard_oldest(s), *next; v != NULL; v = next) {
            next = sts_lru_newer(v);
            if (v->n % 2 == 0)
                ck_assert(sts_lru_shard_remove(s, v));
            else
                kept++;
        }
        sts_lru_shard_unlock(s);
    }
    ck_assert_int_eq(kept, 100);
    ck_assert_int_eq(atomic_load(&frees), 100);
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "w%d", i);
        ck_assert_int_eq(get(m, name, 0), i % 2 ? i : -1);
    }
    sts_lru_map_free(m);
}
END_TEST

START_TEST(bound_holds_and_counters_sum)
{
    struct sts_lru_map *m = make(16, 64, 0);
    char name[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof(name), "d%d.example", i);
        uint32_t h = sts_lru_hash(name, 0);
        struct sts_lru_shard *s = sts_lru_map_shard(m, h);
        sts_lru_shard_lock(s);
        struct val *v = sts_lru_shard_get(s, h, name, 0, NULL);
        ck_assert_ptr_nonnull(v);
        v->canary = CANARY;
        sts_lru_shard_counters(s)[i % STS_LRU_USER_COUNTERS]++;
        sts_lru_shard_unlock(s);
    }
    struct sts_lru_map_stats st;
    sts_lru_map_stats(m, &st);
    ck_assert_msg(st.entries <= 64, "got %zu entries, want <= 64", st.entries);
    ck_assert_uint_eq(st.evictions, 2000 - st.entries);
    for (int k = 0; k < STS_LRU_USER_COUNTERS; k++)
        ck_assert_uint_eq(st.user[k], 2000 / STS_LRU_USER_COUNTERS);
    ck_assert_int_eq(get(m, name, 0) >= 0, 1); /* the most recent is there */
    sts_lru_map_free(m);
}
END_TEST

START_TEST(bad_config)
{
    static const struct {
        unsigned shards;
        size_t buckets;
    } rows[] = {{3, 0}, {2048, 0}, {4, 3}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sts_lru_map_config cfg = {
            .value_size = 8, .shards = rows[i].shards, .buckets_min = rows[i].buckets};
        struct sts_lru_map *m = (void *)1;
        char err[128] = "";
        ck_assert_int_eq(sts_lru_map_new(&cfg, &m, err, sizeof(err)), STS_EINVAL);
        ck_assert_ptr_null(m);
        ck_assert_msg(err[0] != '\0', "row %zu: no reason", i);
    }
    sts_lru_map_free(NULL);
}
END_TEST

/* ---- the shard's condition variable ---- */

struct waiter {
    struct sts_lru_map *m;
    struct val *v;
    bool woken;
};

static void *wait_for_n(void *arg)
{
    struct waiter *w = arg;
    struct sts_lru_shard *s = sts_lru_map_shard(w->m, sts_lru_value_hash(w->v));
    struct sts_deadline d = sts_deadline_in(5000);
    sts_lru_shard_lock(s);
    while (w->v->n == 0 && sts_lru_shard_wait(s, d))
        ;
    w->woken = w->v->n != 0;
    sts_lru_shard_unlock(s);
    return NULL;
}

START_TEST(shard_wait_and_broadcast)
{
    struct sts_lru_map *m = make(2, 16, 0);
    struct val *v = put(m, "flight", 0, 0);
    struct sts_lru_shard *s = sts_lru_map_shard(m, sts_lru_value_hash(v));
    struct waiter w = {m, v, false};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, wait_for_n, &w), 0);
    sts_lru_shard_lock(s);
    v->n = 1;
    sts_lru_shard_broadcast(s);
    sts_lru_shard_unlock(s);
    pthread_join(t, NULL);
    ck_assert(w.woken);

    /* nobody broadcasts: the wait ends at its deadline */
    int64_t t0 = sts_clock_mono_ms();
    sts_lru_shard_lock(s);
    bool woken = true;
    struct sts_deadline d = sts_deadline_in(50);
    while (woken)
        woken = sts_lru_shard_wait(s, d);
    sts_lru_shard_unlock(s);
    int64_t ms = sts_clock_mono_ms() - t0;
    ck_assert_msg(ms >= 49 && ms < 2000, "timed wait took %lld ms, want ~50", (long long)ms);
    sts_lru_map_free(m);
}
END_TEST

/* ---- many threads: lookup-or-insert, pin across an unlock, remove ---- */

enum { THREADS = 4, ROUNDS = 20000, KEYS = 300 };

struct worker {
    struct sts_lru_map *m;
    unsigned seed;
    int removed;
};

static void *hammer(void *arg)
{
    struct worker *w = arg;
    char name[32];
    for (int r = 0; r < ROUNDS; r++) {
        w->seed = w->seed * 1103515245u + 12345u;
        unsigned k = (w->seed >> 8) % KEYS;
        snprintf(name, sizeof(name), "k%u.example", k);
        uint32_t h = sts_lru_hash(name, k & 1);
        struct sts_lru_shard *s = sts_lru_map_shard(w->m, h);
        sts_lru_shard_lock(s);
        bool created = false;
        struct val *v = sts_lru_shard_get(s, h, name, k & 1, &created);
        ck_assert_ptr_nonnull(v);
        if (created) {
            v->canary = CANARY;
            v->n = (int)k;
        }
        ck_assert_int_eq(v->n, (int)k);
        if ((w->seed & 7) == 0) { /* hold it across an unlock, as a lookup does */
            sts_lru_pin(v);
            atomic_fetch_add(&v->holders, 1);
            sts_lru_shard_unlock(s);
            ck_assert_uint_eq(v->canary, CANARY); /* still alive while pinned */
            ck_assert_str_eq(sts_lru_key(v), name);
            sts_lru_shard_lock(s);
            atomic_fetch_sub(&v->holders, 1);
            sts_lru_unpin(v);
        } else if ((w->seed & 7) == 1 && sts_lru_shard_remove(s, v)) {
            w->removed++;
        }
        sts_lru_shard_unlock(s);
    }
    return NULL;
}

START_TEST(concurrent_use)
{
    struct sts_lru_map *m = make(4, 64, 4); /* far fewer slots than keys: constant eviction */
    struct worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){m, 7919u * (unsigned)(i + 1), 0};
        ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    int removed = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        removed += w[i].removed;
    }
    struct sts_lru_map_stats st;
    sts_lru_map_stats(m, &st);
    ck_assert_msg(st.entries <= 64 + 4 * THREADS, "got %zu entries", st.entries);
    ck_assert_msg(st.evictions > 0, "no eviction with %d keys in 64 slots", KEYS);
    /* every entry is freed exactly once: by eviction, by remove, or now */
    ck_assert_uint_eq((uint64_t)atomic_load(&frees), st.evictions + (uint64_t)removed);
    sts_lru_map_free(m);
    ck_assert_uint_eq((uint64_t)atomic_load(&frees), st.inserts);
}
END_TEST

static Suite *lru_map_suite(void)
{
    Suite *s = suite_create("lru_map");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, keys_are_name_and_tag);
    tcase_add_test(tc, evicts_least_recently_used);
    tcase_add_test(tc, pinned_entries_survive);
    tcase_add_test(tc, tables_grow_and_walks_see_all);
    tcase_add_test(tc, walk_may_remove);
    tcase_add_test(tc, bound_holds_and_counters_sum);
    tcase_add_test(tc, bad_config);
    tcase_add_test(tc, shard_wait_and_broadcast);
    tcase_add_test(tc, concurrent_use);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(lru_map_suite());
}
