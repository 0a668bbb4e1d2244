/*
 * test_mx_cache.c - unit tests of the MX answers memo (mx_cache.h).
 *
 * Guards the facts the milter judges a recipient on (RFC 8461 §4.1 needs
 * the MX hosts; RFC 5321 §5.1 the implicit MX; RFC 7672 §2.2 the DNSSEC
 * status of the MX RRset) now that they come from a memo: an answer is
 * kept for its TTL (capped), a "no host" answer briefly, a DNS failure
 * never; concurrent misses of one domain share one query.  The resolver
 * is a scripted fake and the clock a variable, so every expiry is exact.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtasts/mx_cache.h"
#include "unit_main.h"

/* One scripted answer per (name, type). */
struct script {
    const char *name;
    enum sts_dns_type type;
    enum sts_dns_result result;
    enum sts_dnssec dnssec;
    uint32_t ttl;
    const char *hosts[3]; /* MX hosts, preference 10, 20, 30 */
};

static struct script world[16];
static size_t nworld;
static int queries;    /* resolver calls */
static int delay_ms;   /* each call sleeps this long */
static int64_t now_ms; /* the memo's clock */
static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;

static int64_t fake_now(void *arg)
{
    (void)arg;
    return now_ms;
}

static enum sts_status fake_query(void *arg, const char *name, enum sts_dns_type type,
                                  unsigned timeout_ms, struct sts_dns_answer **out)
{
    (void)arg;
    (void)timeout_ms;
    pthread_mutex_lock(&qmu);
    queries++;
    pthread_mutex_unlock(&qmu);
    if (delay_ms > 0)
        nanosleep(&(struct timespec){0, delay_ms * 1000000L}, NULL);
    struct sts_dns_answer *a = calloc(1, sizeof(*a));
    ck_assert_ptr_nonnull(a);
    a->result = STS_DNS_NXDOMAIN;
    a->ttl = 300;
    for (size_t i = 0; i < nworld; i++) {
        if (strcmp(world[i].name, name) != 0 || world[i].type != type)
            continue;
        a->result = world[i].result;
        a->dnssec = world[i].dnssec;
        a->ttl = world[i].ttl;
        if (a->result == STS_DNS_ANSWER && type == STS_DNS_MX) {
            a->mx = calloc(3, sizeof(*a->mx));
            for (size_t k = 0; k < 3 && world[i].hosts[k]; k++) {
                a->mx[k].preference = (uint16_t)(10 * (k + 1));
                snprintf(a->mx[k].host, sizeof(a->mx[k].host), "%s", world[i].hosts[k]);
                a->count++;
            }
        } else if (a->result == STS_DNS_ANSWER) {
            a->addr = calloc(1, sizeof(*a->addr));
            snprintf(a->addr[0], sizeof(a->addr[0]), "192.0.2.1");
            a->count = 1;
        }
    }
    *out = a;
    return STS_OK;
}

static void add(const char *name, enum sts_dns_type type, enum sts_dns_result result,
                enum sts_dnssec dnssec, uint32_t ttl, const char *h1, const char *h2)
{
    world[nworld++] = (struct script){name, type, result, dnssec, ttl, {h1, h2, NULL}};
}

static struct sts_mx_cache *mc;

static void setup(void)
{
    nworld = 0;
    queries = 0;
    delay_ms = 0;
    now_ms = 1000000;
    struct sts_mx_cache_config cfg = {
        .query = fake_query,
        .max_ttl_s = 600,
        .negative_ttl_s = 30,
        .max_entries = 64,
        .now_ms = fake_now,
    };
    char err[128];
    ck_assert_int_eq(sts_mx_cache_new(&cfg, &mc, err, sizeof(err)), STS_OK);
}

static void teardown(void)
{
    sts_mx_cache_free(mc);
    mc = NULL;
}

static struct sts_mx_result get(const char *d)
{
    struct sts_mx_result r;
    sts_mx_cache_get(mc, d, 1000, &r);
    return r;
}

START_TEST(mx_answer_kept_for_its_ttl)
{
    add("a.example", STS_DNS_MX, STS_DNS_ANSWER, STS_DNSSEC_INSECURE, 120, "mx1.a.example",
        "mx2.a.example");
    struct sts_mx_result r = get("a.example");
    ck_assert_msg(!r.dns_error && r.count == 2 && !r.cached, "got count %zu", r.count);
    ck_assert_str_eq(r.hosts[0].name, "mx1.a.example");
    ck_assert_int_eq(r.hosts[1].preference, 20);
    ck_assert_int_eq(queries, 1);
    now_ms += 119 * 1000;
    r = get("a.example");
    ck_assert_msg(r.cached && r.count == 2, "within TTL: got cached=%d", r.cached);
    ck_assert_str_eq(r.hosts[1].name, "mx2.a.example");
    ck_assert_int_eq(queries, 1);
    now_ms += 1000; /* TTL over: asked again */
    r = get("a.example");
    ck_assert_msg(!r.cached && r.count == 2, "after TTL: got cached=%d", r.cached);
    ck_assert_int_eq(queries, 2);
}
END_TEST

START_TEST(ttl_capped)
{
    add("long.example", STS_DNS_MX, STS_DNS_ANSWER, STS_DNSSEC_INSECURE, 86400, "mx.long.example",
        NULL);
    get("long.example");
    now_ms += 599 * 1000;
    ck_assert(get("long.example").cached);
    now_ms += 1000;
    ck_assert_msg(!get("long.example").cached, "kept past max_ttl_s");
    ck_assert_int_eq(queries, 2);
}
END_TEST

START_TEST(negative_cached_briefly)
{
    /* NXDOMAIN with a 300 s negative TTL: kept negative_ttl_s (30 s). */
    struct sts_mx_result r = get("gone.example");
    ck_assert(!r.dns_error && r.count == 0);
    now_ms += 29 * 1000;
    r = get("gone.example");
    ck_assert_msg(r.cached && r.count == 0 && !r.dns_error, "negative answer not kept");
    ck_assert_int_eq(queries, 1);
    now_ms += 1000;
    ck_assert(!get("gone.example").cached);
    ck_assert_int_eq(queries, 2);
}
END_TEST

START_TEST(dns_error_not_cached)
{
    add("broken.example", STS_DNS_MX, STS_DNS_SERVFAIL, STS_DNSSEC_BOGUS, 0, NULL, NULL);
    add("slow.example", STS_DNS_MX, STS_DNS_TIMEOUT, STS_DNSSEC_INSECURE, 0, NULL, NULL);
    for (int i = 0; i < 3; i++) {
        ck_assert(get("broken.example").dns_error);
        ck_assert(get("slow.example").dns_error);
    }
    ck_assert_msg(queries == 6, "got %d queries, want 6 (failures are never memoised)", queries);
    /* The failure ends: the next lookup sees the answer at once. */
    world[0] = (struct script){"broken.example",  STS_DNS_MX, STS_DNS_ANSWER,
                               STS_DNSSEC_SECURE, 60,         {"mx.broken.example", NULL, NULL}};
    struct sts_mx_result r = get("broken.example");
    ck_assert(!r.dns_error && r.count == 1 && r.dnssec == STS_DNSSEC_SECURE);
}
END_TEST

START_TEST(dnssec_status_carried)
{
    add("signed.example", STS_DNS_MX, STS_DNS_ANSWER, STS_DNSSEC_SECURE, 300, "mx.signed.example",
        NULL);
    add("plain.example", STS_DNS_MX, STS_DNS_ANSWER, STS_DNSSEC_INSECURE, 300, "mx.plain.example",
        NULL);
    add("nomx.example", STS_DNS_MX, STS_DNS_NODATA, STS_DNSSEC_SECURE, 300, NULL, NULL);
    add("nomx.example", STS_DNS_A, STS_DNS_ANSWER, STS_DNSSEC_SECURE, 300, NULL, NULL);
    for (int pass = 0; pass < 2; pass++) { /* from the resolver, then from the memo */
        struct sts_mx_result r = get("signed.example");
        ck_assert_msg(r.dnssec == STS_DNSSEC_SECURE && r.cached == (pass == 1),
                      "pass %d: got dnssec %d", pass, r.dnssec);
        r = get("plain.example");
        ck_assert_int_eq(r.dnssec, STS_DNSSEC_INSECURE);
        r = get("nomx.example");
        ck_assert_msg(r.dnssec == STS_DNSSEC_SECURE && r.implicit, "pass %d: denial status lost",
                      pass);
    }
}
END_TEST

START_TEST(implicit_mx)
{
    /* RFC 5321 §5.1: no MX, an AAAA only: the domain is its own MX. */
    add("bare.example", STS_DNS_MX, STS_DNS_NODATA, STS_DNSSEC_INSECURE, 300, NULL, NULL);
    add("bare.example", STS_DNS_A, STS_DNS_NODATA, STS_DNSSEC_INSECURE, 300, NULL, NULL);
    add("bare.example", STS_DNS_AAAA, STS_DNS_ANSWER, STS_DNSSEC_INSECURE, 50, NULL, NULL);
    struct sts_mx_result r = get("bare.example");
    ck_assert(!r.dns_error && r.implicit && r.count == 1);
    ck_assert_str_eq(r.hosts[0].name, "bare.example");
    ck_assert_int_eq(queries, 3);
    /* kept for the smaller TTL (the AAAA's 50 s) */
    now_ms += 49 * 1000;
    ck_assert(get("bare.example").cached);
    now_ms += 1000;
    ck_assert(!get("bare.example").cached);

    /* no MX and no address: nowhere to deliver (a negative answer) */
    add("void.example", STS_DNS_MX, STS_DNS_NODATA, STS_DNSSEC_INSECURE, 300, NULL, NULL);
    add("void.example", STS_DNS_A, STS_DNS_NODATA, STS_DNSSEC_INSECURE, 300, NULL, NULL);
    add("void.example", STS_DNS_AAAA, STS_DNS_NODATA, STS_DNSSEC_INSECURE, 300, NULL, NULL);
    r = get("void.example");
    ck_assert(!r.dns_error && !r.implicit && r.count == 0);

    /* no MX and the address lookup fails: a DNS error, not memoised */
    add("half.example", STS_DNS_MX, STS_DNS_NODATA, STS_DNSSEC_INSECURE, 300, NULL, NULL);
    add("half.example", STS_DNS_A, STS_DNS_SERVFAIL, STS_DNSSEC_INSECURE, 0, NULL, NULL);
    add("half.example", STS_DNS_AAAA, STS_DNS_NODATA, STS_DNSSEC_INSECURE, 300, NULL, NULL);
    int before = queries;
    ck_assert(get("half.example").dns_error);
    ck_assert(get("half.example").dns_error);
    ck_assert_int_eq(queries - before, 6);
}
END_TEST

START_TEST(zero_ttl_not_kept)
{
    add("zero.example", STS_DNS_MX, STS_DNS_ANSWER, STS_DNSSEC_INSECURE, 0, "mx.zero.example",
        NULL);
    get("zero.example");
    ck_assert(!get("zero.example").cached);
    ck_assert_int_eq(queries, 2);
}
END_TEST

START_TEST(bounded_lru)
{
    /* 64 entries in 16 shards: far more domains than that stay bounded. */
    char d[64];
    for (int i = 0; i < 2000; i++) {
        snprintf(d, sizeof(d), "d%d.example", i);
        get(d);
    }
    struct sts_mx_cache_stats st;
    sts_mx_cache_stats(mc, &st);
    ck_assert_msg(st.entries <= 64, "got %zu entries, want <= 64", st.entries);
    ck_assert_msg(st.evictions >= 2000 - 64, "got %llu evictions",
                  (unsigned long long)st.evictions);
    /* the most recent domain is still there */
    ck_assert(get(d).cached);
}
END_TEST

static void *lookup_thread(void *arg)
{
    struct sts_mx_result *r = arg;
    sts_mx_cache_get(mc, "busy.example", 2000, r);
    return NULL;
}

START_TEST(single_flight)
{
    add("busy.example", STS_DNS_MX, STS_DNS_ANSWER, STS_DNSSEC_SECURE, 300, "mx.busy.example",
        NULL);
    delay_ms = 200;
    enum { N = 8 };
    pthread_t t[N];
    static struct sts_mx_result r[N];
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, lookup_thread, &r[i]), 0);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    ck_assert_msg(queries == 1, "got %d queries for 8 concurrent misses, want 1", queries);
    for (int i = 0; i < N; i++) {
        ck_assert(!r[i].dns_error && r[i].count == 1);
        ck_assert_int_eq(r[i].dnssec, STS_DNSSEC_SECURE);
    }
}
END_TEST

START_TEST(budget_spent)
{
    add("x.example", STS_DNS_MX, STS_DNS_ANSWER, STS_DNSSEC_INSECURE, 300, "mx.x.example", NULL);
    struct sts_mx_result r;
    sts_mx_cache_get(mc, "x.example", 0, &r);
    ck_assert_msg(r.dns_error && queries == 0, "a zero budget must not ask");
}
END_TEST

static Suite *mx_cache_suite(void)
{
    Suite *s = suite_create("mx_cache");
    TCase *tc = tcase_create("memo");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, mx_answer_kept_for_its_ttl);
    tcase_add_test(tc, ttl_capped);
    tcase_add_test(tc, negative_cached_briefly);
    tcase_add_test(tc, dns_error_not_cached);
    tcase_add_test(tc, dnssec_status_carried);
    tcase_add_test(tc, implicit_mx);
    tcase_add_test(tc, zero_ttl_not_kept);
    tcase_add_test(tc, bounded_lru);
    tcase_add_test(tc, single_flight);
    tcase_add_test(tc, budget_spent);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(mx_cache_suite());
}
