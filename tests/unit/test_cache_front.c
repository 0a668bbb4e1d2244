/*
 * test_cache_front.c - the policy cache's bounded front (cache.h,
 * max_entries): with far more domains than the bound, every lookup still
 * gets its policy (an evicted domain comes back from the store, RFC 8461
 * §5: a cached policy is used until it expires), from many threads at
 * once (an entry a lookup holds is never freed under it: run under ASan),
 * and a recently used domain stays in memory.  sts_cache_peek() answers
 * only from memory.
 *
 * The store is filled directly; the resolver exists because the cache
 * needs one and is never asked (every policy is fresh; no refresher).
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mtasts/cache.h"
#include "mtasts/dns.h"
#include "mtasts/policy.h"
#include "mtasts/store.h"
#include "unit_main.h"

#define NDOMAINS 3000
#define FRONT 1024

static char tmpdir[PATH_MAX];
static struct sts_store *store;
static struct sts_dns *dns;
static struct sts_cache *cache;

static void domain_of(char *buf, size_t len, int i)
{
    snprintf(buf, len, "d%04d.front.test", i);
}

static void setup(void)
{
    char spec[PATH_MAX + 32], err[256], body[256];
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/test_cache_front.XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp failed");
    snprintf(spec, sizeof(spec), "sqlite:%s/cache.db", tmpdir);
    ck_assert_int_eq(sts_store_open(spec, &store, err, sizeof(err)), STS_OK);
    int64_t now = (int64_t)time(NULL);
    for (int i = 0; i < NDOMAINS; i++) {
        struct sts_store_entry e = {
            .fetched_at = now, .checked_at = now, .expires_at = now + 86400, .last_used = now};
        domain_of(e.domain, sizeof(e.domain), i);
        snprintf(e.id, sizeof(e.id), "id%d", i);
        int n = snprintf(body, sizeof(body),
                         "version: STSv1\nmode: enforce\nmx: mx1.%s\nmax_age: 86400\n", e.domain);
        ck_assert_int_eq(sts_policy_parse(body, (size_t)n, &e.policy, err, sizeof(err)), STS_OK);
        ck_assert_int_eq(sts_store_put(store, &e, err, sizeof(err)), STS_OK);
        sts_store_entry_clear(&e);
    }
    struct sts_dns_config dc = {.forwarders = "127.0.0.1@9", .timeout_ms = 200};
    ck_assert_int_eq(sts_dns_new(&dc, &dns, err, sizeof(err)), STS_OK);
    struct sts_cache_config cc = {
        .dns = dns, .store = store, .max_fetches = 2, .max_entries = FRONT};
    ck_assert_int_eq(sts_cache_new(&cc, &cache, err, sizeof(err)), STS_OK);
}

static void teardown(void)
{
    char cmd[PATH_MAX + 16];
    sts_cache_free(cache);
    sts_dns_free(dns);
    sts_store_close(store);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

/* The policy for domain i, checked against its id; returns the source. */
static enum sts_lookup_source lookup(int i)
{
    char d[64], id[32];
    struct sts_cache_result r;
    domain_of(d, sizeof(d), i);
    snprintf(id, sizeof(id), "id%d", i);
    sts_cache_lookup(cache, d, 1000, &r);
    ck_assert_msg(r.outcome == STS_LOOKUP_POLICY, "%s: got outcome %s (%s), want policy", d,
                  sts_lookup_outcome_name(r.outcome), sts_lookup_reason_name(r.reason));
    ck_assert_msg(strcmp(r.id, id) == 0, "%s: got id %s, want %s", d, r.id, id);
    enum sts_lookup_source s = r.source;
    sts_cache_result_clear(&r);
    return s;
}

START_TEST(every_domain_through_a_small_front)
{
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < NDOMAINS; i++)
            lookup(i);
    /* The last domain was just used: it is in memory. */
    ck_assert_int_eq(lookup(NDOMAINS - 1), STS_SOURCE_FRONT);
    /* The first was evicted long ago: it comes back from the store. */
    ck_assert_int_eq(lookup(0), STS_SOURCE_STORE);
}
END_TEST

START_TEST(hot_domain_stays)
{
    lookup(7);
    for (int i = 100; i < NDOMAINS; i++) {
        lookup(i);
        if (i % 16 == 0) /* used again and again: never the least recent */
            ck_assert_int_eq(lookup(7), STS_SOURCE_FRONT);
    }
}
END_TEST

START_TEST(peek_only_from_memory)
{
    char d[64];
    struct sts_cache_result r;
    domain_of(d, sizeof(d), 42);
    ck_assert_msg(!sts_cache_peek(cache, d, &r), "peek loaded from the store");
    ck_assert_int_eq(r.outcome, 0);
    ck_assert_ptr_null(r.policy);
    lookup(42);
    ck_assert(sts_cache_peek(cache, d, &r));
    ck_assert_int_eq(r.outcome, STS_LOOKUP_POLICY);
    ck_assert_int_eq(r.source, STS_SOURCE_FRONT);
    ck_assert_str_eq(r.id, "id42");
    ck_assert_ptr_nonnull(r.policy);
    sts_cache_result_clear(&r);
}
END_TEST

static void *hammer(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int k = 0; k < 4000; k++) {
        seed = seed * 1103515245u + 12345u;
        lookup((int)((seed >> 8) % NDOMAINS));
    }
    return NULL;
}

START_TEST(concurrent_lookups_and_evictions)
{
    enum { T = 8 };
    pthread_t t[T];
    for (int i = 0; i < T; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)(i + 1)), 0);
    for (int i = 0; i < T; i++)
        pthread_join(t[i], NULL);
}
END_TEST

static Suite *cache_front_suite(void)
{
    Suite *s = suite_create("cache_front");
    TCase *tc = tcase_create("bounded");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_domain_through_a_small_front);
    tcase_add_test(tc, hot_domain_stays);
    tcase_add_test(tc, peek_only_from_memory);
    tcase_add_test(tc, concurrent_lookups_and_evictions);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(cache_front_suite());
}
