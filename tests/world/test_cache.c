/*
 * test_cache.c - policy discovery and cache against the local test world
 * (RFC 8461 §3.3 and §5).  Prints TAP.
 *
 * Driven by tests/world/cache.sh, which starts the world and passes:
 *   argv[1] the DNS forwarder (ADDR@PORT), argv[2] the test CA file,
 *   argv[3] a scratch directory; WORLD_SH and the world's variables are
 *   in the environment so that world_set_txt / world_set_policy /
 *   world_fetch_count can be called through sh.
 * The cache's clock is a variable of this program, so max_age, re-check
 * grace and back-off are crossed without waiting.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "mtasts/cache.h"

static _Atomic int64_t fake_now = 1700000000;
static const char *forwarder, *ca_file, *scratch;

static int64_t clock_fn(void *arg)
{
    (void)arg;
    return atomic_load(&fake_now);
}

static void log_fn(void *arg, int prio, const char *line)
{
    (void)arg;
    printf("# log[%d] %s\n", prio, line);
}

/* Run a world.sh function through sh; returns its first output line as a number. */
static long world(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long world(const char *fmt, ...)
{
    char cmd[1024], line[64] = "";
    int n = snprintf(cmd, sizeof(cmd), ". \"$WORLD_SH\" && ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -1;
    if (fgets(line, sizeof(line), p) == NULL)
        line[0] = '\0';
    int rc = pclose(p);
    if (rc != 0)
        printf("# world command failed (%d): %s\n", rc, cmd);
    return rc != 0 ? -1 : strtol(line, NULL, 10);
}

/*
 * Replace a TXT RRset; then outlive its 1 s TTL in our resolver's cache
 * (libunbound counts TTLs in whole seconds, so wait more than two).
 */
static void set_txt(const char *domain, const char *record)
{
    if (record != NULL)
        world("world_set_txt %s '%s'", domain, record);
    else
        world("world_set_txt %s", domain);
    tap_sleep_ms(2200);
}

static void write_policy(const char *name, const char *body)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", scratch, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(99);
    }
    fputs(body, f);
    fclose(f);
}

static void set_policy(const char *domain, const char *name, const char *body)
{
    write_policy(name, body);
    world("world_set_policy %s %s/%s", domain, scratch, name);
}

struct world_cache {
    struct sts_dns *dns;
    struct sts_store *store;
    struct sts_cache *cache;
};

/* store_name NULL: use the store already in w->store (shared with another cache). */
static void open_cache(struct world_cache *w, const char *fwd, const char *store_name,
                       unsigned refresh_s, unsigned fetch_timeout_ms)
{
    char err[256], spec[512];
    struct sts_dns_config dc = {.forwarders = fwd, .timeout_ms = 1500};
    if (sts_dns_new(&dc, &w->dns, err, sizeof(err)) != STS_OK) {
        printf("Bail out! resolver: %s\n", err);
        exit(1);
    }
    snprintf(spec, sizeof(spec), "sqlite:%s/%s", scratch, store_name != NULL ? store_name : "");
    if (store_name != NULL && sts_store_open(spec, &w->store, err, sizeof(err)) != STS_OK) {
        printf("Bail out! store: %s\n", err);
        exit(1);
    }
    struct sts_cache_config cc = {
        .dns = w->dns,
        .store = w->store,
        .fetch = {.ca_file = ca_file,
                  .allow_private = true,
                  .connect_timeout_ms = 2000,
                  .total_timeout_ms = fetch_timeout_ms},
        .negative_ttl_s = 600,
        .recheck_s = 600,
        .backoff_s = 300,
        .max_fetches = 4,
        .refresh_interval_s = refresh_s,
        .refresh_window_s = 3600,
        .now = clock_fn,
        .log = log_fn,
    };
    if (sts_cache_new(&cc, &w->cache, err, sizeof(err)) != STS_OK) {
        printf("Bail out! cache: %s\n", err);
        exit(1);
    }
}

static void close_cache(struct world_cache *w)
{
    sts_cache_free(w->cache);
    sts_store_close(w->store);
    sts_dns_free(w->dns);
}

/* Look up and keep only what the assertions need. */
struct seen {
    enum sts_lookup_outcome outcome;
    enum sts_lookup_source source;
    enum sts_mode mode;
    char id[STS_TXT_ID_MAX + 1];
    char reason[96];
    int64_t expires_at;
};

static struct seen lookup(struct world_cache *w, const char *domain, unsigned deadline_ms)
{
    struct sts_cache_result r;
    struct seen s = {0};
    sts_cache_lookup(w->cache, domain, deadline_ms, &r);
    s.outcome = r.outcome;
    s.source = r.source;
    s.mode = r.policy ? r.policy->mode : STS_MODE_NONE;
    s.expires_at = r.expires_at;
    snprintf(s.id, sizeof(s.id), "%s", r.id);
    sts_lookup_reason_format(r.reason, r.fetch, s.reason, sizeof(s.reason));
    sts_cache_result_clear(&r);
    printf("# lookup %s: outcome=%s source=%s id=%s reason=%s\n", domain,
           sts_lookup_outcome_name(s.outcome), sts_lookup_source_name(s.source), s.id, s.reason);
    return s;
}

/* Wait (really) until a background discovery has had time to end. */
static struct seen settle(struct world_cache *w, const char *domain)
{
    struct seen s = {0};
    for (int i = 0; i < 100; i++) {
        s = lookup(w, domain, 5000);
        if (s.outcome != STS_LOOKUP_PENDING)
            break;
    }
    /* let a re-check scheduled by that lookup finish, then read again */
    if (sts_cache_wait_idle(w->cache, 30000) != STS_OK)
        printf("# cache still busy after 30 s\n");
    return lookup(w, domain, 5000);
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

#define POLICY_ENFORCE "version: STSv1\nmode: enforce\nmx: mx1.good.test\nmax_age: 86400\n"
#define POLICY_TESTING "version: STSv1\nmode: testing\nmx: mx1.good.test\nmax_age: 86400\n"
#define POLICY_NONE "version: STSv1\nmode: none\nmax_age: 86400\n"

/* §5.1: cold discovery, warm hit, same id extends without HTTPS. */
static void test_basic(struct world_cache *w)
{
    set_txt("good.test", "v=STSv1; id=one");
    set_policy("good.test", "p1", POLICY_ENFORCE);
    long f0 = world("world_fetch_count good.test");

    struct seen s = lookup(w, "good.test", 5000);
    ok(s.outcome == STS_LOOKUP_POLICY && s.source == STS_SOURCE_DISCOVERY &&
           s.mode == STS_MODE_ENFORCE && strcmp(s.id, "one") == 0,
       "cold lookup discovers the enforce policy with id one");
    ok(world("world_fetch_count good.test") == f0 + 1, "cold lookup fetched once");

    s = lookup(w, "good.test", 5000);
    ok(s.outcome == STS_LOOKUP_POLICY && s.source == STS_SOURCE_FRONT,
       "warm lookup served from the front cache");
    ok(world("world_fetch_count good.test") == f0 + 1, "warm lookup did not fetch");

    int64_t exp0 = s.expires_at;
    atomic_fetch_add(&fake_now, 601); /* past recheck_s */
    s = lookup(w, "good.test", 5000);
    ok(s.outcome == STS_LOOKUP_POLICY && s.source == STS_SOURCE_FRONT,
       "after the grace the cached policy is still served at once");
    s = settle(w, "good.test");
    ok(s.expires_at == exp0 + 601, "same TXT id extends freshness (got +%lld, want +601)",
       (long long)(s.expires_at - exp0));
    ok(world("world_fetch_count good.test") == f0 + 1, "same TXT id: no HTTPS fetch");
}

/* §5.1: a new id triggers a fetch; mode none replaces at once. */
static void test_new_id(struct world_cache *w)
{
    long f0 = world("world_fetch_count good.test");
    set_txt("good.test", "v=STSv1; id=two");
    set_policy("good.test", "p2", POLICY_TESTING);
    atomic_fetch_add(&fake_now, 601);
    lookup(w, "good.test", 5000); /* schedules the re-check */
    struct seen s = settle(w, "good.test");
    ok(s.outcome == STS_LOOKUP_POLICY && strcmp(s.id, "two") == 0 && s.mode == STS_MODE_TESTING,
       "new TXT id: the new (testing) policy replaces the old one");
    ok(world("world_fetch_count good.test") == f0 + 1, "new TXT id: exactly one fetch");

    set_txt("good.test", "v=STSv1; id=three");
    set_policy("good.test", "p3", POLICY_NONE);
    atomic_fetch_add(&fake_now, 601);
    lookup(w, "good.test", 5000);
    s = settle(w, "good.test");
    ok(s.outcome == STS_LOOKUP_POLICY && s.mode == STS_MODE_NONE && strcmp(s.id, "three") == 0,
       "mode none replaces the cached policy at once");
}

/* §5: a failed fetch keeps the cached policy, and backs off >= 5 min. */
static void test_fetch_failure(struct world_cache *w)
{
    set_txt("good.test", "v=STSv1; id=four");
    set_policy("good.test", "p4", POLICY_ENFORCE);
    atomic_fetch_add(&fake_now, 601);
    lookup(w, "good.test", 5000);
    struct seen s = settle(w, "good.test");
    ok(s.mode == STS_MODE_ENFORCE && strcmp(s.id, "four") == 0, "enforce policy id four");

    long f0 = world("world_fetch_count good.test");
    set_txt("good.test", "v=STSv1; id=five");
    set_policy("good.test", "p5", "this is not a policy\n");
    atomic_fetch_add(&fake_now, 601);
    lookup(w, "good.test", 5000);
    s = settle(w, "good.test");
    ok(s.outcome == STS_LOOKUP_POLICY && strcmp(s.id, "four") == 0 && s.mode == STS_MODE_ENFORCE,
       "invalid new policy: the cached policy (id four) is kept");
    ok(world("world_fetch_count good.test") == f0 + 1, "the failed fetch was tried once");

    /* 601 s after the failure the 300 s back-off has passed: fetch again */
    atomic_fetch_add(&fake_now, 601);
    set_policy("good.test", "p5b", POLICY_TESTING);
    lookup(w, "good.test", 5000);
    s = settle(w, "good.test");
    ok(strcmp(s.id, "five") == 0 && s.mode == STS_MODE_TESTING,
       "after the back-off the new id is fetched again and applied");
    ok(world("world_fetch_count good.test") == f0 + 2, "one more fetch after the back-off");
}

/* §5: within the back-off window no fetch is made for the same (domain, id). */
static void test_backoff_window(struct world_cache *w)
{
    set_txt("charset.test", "v=STSv1; id=b1");
    set_policy("charset.test", "b1", "garbage\n");
    long f0 = world("world_fetch_count charset.test");
    struct seen s = lookup(w, "charset.test", 5000);
    ok(s.outcome == STS_LOOKUP_NO_POLICY, "fetch fails with nothing cached: no policy (%s)",
       s.reason);
    ok(world("world_fetch_count charset.test") == f0 + 1, "one fetch attempted");
    set_policy("charset.test", "b1ok", POLICY_ENFORCE);
    atomic_fetch_add(&fake_now, 120);
    s = lookup(w, "charset.test", 5000);
    ok(s.outcome == STS_LOOKUP_NO_POLICY, "2 minutes later: still no policy, backing off");
    ok(world("world_fetch_count charset.test") == f0 + 1, "no fetch inside the 5-minute back-off");
    atomic_fetch_add(&fake_now, 200);
    s = lookup(w, "charset.test", 5000);
    ok(s.outcome == STS_LOOKUP_POLICY && s.mode == STS_MODE_ENFORCE,
       "after 5 minutes the fetch is retried and succeeds");
    ok(world("world_fetch_count charset.test") == f0 + 2, "exactly one more fetch");
}

/* §5: a vanished TXT record does not remove an unexpired cached policy. */
static void test_txt_removed(struct world_cache *w)
{
    set_txt("none.test", "v=STSv1; id=g1");
    set_policy("none.test", "g1", POLICY_ENFORCE);
    struct seen s = lookup(w, "none.test", 5000);
    ok(s.outcome == STS_LOOKUP_POLICY, "none.test policy cached");
    set_txt("none.test", NULL);
    atomic_fetch_add(&fake_now, 601);
    lookup(w, "none.test", 5000);
    s = settle(w, "none.test");
    ok(s.outcome == STS_LOOKUP_POLICY && s.mode == STS_MODE_ENFORCE,
       "TXT removed: the unexpired cached policy is kept (downgrade resistance)");
    atomic_fetch_add(&fake_now, 86400);
    s = lookup(w, "none.test", 5000);
    ok(s.outcome == STS_LOOKUP_NO_POLICY, "after max_age with no TXT: no policy");
}

/* Negative caching, DNS outcomes. */
static void test_negative(struct world_cache *w)
{
    struct seen s = lookup(w, "nopolicy.test", 5000);
    ok(s.outcome == STS_LOOKUP_NO_POLICY && s.source == STS_SOURCE_DISCOVERY,
       "no TXT record: no policy");
    s = lookup(w, "nopolicy.test", 5000);
    ok(s.outcome == STS_LOOKUP_NO_POLICY && s.source == STS_SOURCE_FRONT,
       "no-indicator answer is cached negatively");
    s = lookup(w, "nosuch.test", 5000);
    ok(s.outcome == STS_LOOKUP_NO_POLICY, "NXDOMAIN: no policy");
    s = lookup(w, "twotxt.test", 5000);
    ok(s.outcome == STS_LOOKUP_NO_POLICY && strcmp(s.reason, "txt-invalid") == 0,
       "two STSv1 records: no policy (txt-invalid)");
    s = lookup(w, "badtxt.test", 5000);
    ok(s.outcome == STS_LOOKUP_NO_POLICY && strcmp(s.reason, "txt-invalid") == 0,
       "invalid STSv1 record: no policy (txt-invalid)");
    s = lookup(w, "wrongname.test", 8000);
    ok(s.outcome == STS_LOOKUP_NO_POLICY && strcmp(s.reason, "fetch-failed:tls") == 0,
       "certificate for another name: treated as no policy (%s)", s.reason);
    s = lookup(w, "redirect.test", 8000);
    ok(s.outcome == STS_LOOKUP_NO_POLICY && strcmp(s.reason, "fetch-failed:http") == 0,
       "redirect: not followed, no policy (%s)", s.reason);
}

/* Lookups never wait longer than their deadline. */
static void test_deadline(struct world_cache *w)
{
    double t0 = mono();
    struct seen s = lookup(w, "stall.test", 500);
    double took = mono() - t0;
    ok(s.outcome == STS_LOOKUP_PENDING, "stalled server: lookup reports pending");
    ok(took < 1.0, "stalled server: lookup returned in %.3f s (deadline 0.5 s)", took);
}

struct flight_arg {
    struct world_cache *w;
    struct seen seen;
};

static void *flight_thread(void *arg)
{
    struct flight_arg *a = arg;
    a->seen = lookup(a->w, "slow.test", 30000);
    return NULL;
}

/* 20 concurrent lookups of one slow domain make exactly one fetch. */
static void test_single_flight(struct world_cache *w)
{
    enum { N = 20 };
    pthread_t t[N];
    struct flight_arg a[N];
    long f0 = world("world_fetch_count slow.test");
    for (int i = 0; i < N; i++) {
        a[i].w = w;
        pthread_create(&t[i], NULL, flight_thread, &a[i]);
    }
    int policies = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        policies += a[i].seen.outcome == STS_LOOKUP_POLICY;
    }
    ok(policies == N, "20 concurrent lookups of slow.test all got the policy (%d)", policies);
    long f1 = world("world_fetch_count slow.test");
    ok(f1 == f0 + 1, "exactly one HTTPS fetch in nginx's log (got %ld)", f1 - f0);
}

/* Persistence: a new cache over the same store answers without fetching. */
static void test_store_reload(void)
{
    struct world_cache w2;
    open_cache(&w2, forwarder, "reload.db", 0, 5000);
    struct seen s = lookup(&w2, "good.test", 5000);
    ok(s.outcome == STS_LOOKUP_POLICY && s.source == STS_SOURCE_DISCOVERY,
       "a fresh cache discovers good.test");
    close_cache(&w2);

    open_cache(&w2, forwarder, "reload.db", 0, 5000);
    long f0 = world("world_fetch_count good.test");
    s = lookup(&w2, "good.test", 5000);
    ok(s.outcome == STS_LOOKUP_POLICY && s.source == STS_SOURCE_STORE,
       "a restarted cache loads the policy from SQLite");
    ok(world("world_fetch_count good.test") == f0, "no fetch after a restart");
    close_cache(&w2);
}

/* DNS failure with nothing cached: tempfail, not "no policy". */
static void test_dns_failure(void)
{
    struct world_cache w3;
    open_cache(&w3, "127.0.0.1@9", "dead.db", 0, 2000); /* discard port: no answer */
    struct seen s = lookup(&w3, "good.test", 5000);
    ok(s.outcome == STS_LOOKUP_TEMPFAIL, "unreachable resolver: tempfail (%s)", s.reason);
    close_cache(&w3);
}

/* The refresher renews a recently used policy before it expires. */
static void test_refresher(void)
{
    struct world_cache w4;
    open_cache(&w4, forwarder, "refresh.db", 1, 5000);
    set_txt("testing.test", "v=STSv1; id=r1");
    set_policy("testing.test", "r1", POLICY_ENFORCE);
    struct seen s = lookup(&w4, "testing.test", 5000);
    ok(s.outcome == STS_LOOKUP_POLICY && strcmp(s.id, "r1") == 0, "testing.test cached");
    set_txt("testing.test", "v=STSv1; id=r2");
    set_policy("testing.test", "r2", POLICY_TESTING);
    atomic_fetch_add(&fake_now, 86400 - 1800); /* inside the 1 h refresh window */
    int renewed = 0;
    for (int i = 0; i < 50 && !renewed; i++) {
        tap_sleep_ms(200);
        struct sts_store_entry e = {0};
        char err[256];
        if (sts_store_get(w4.store, "testing.test", &e, err, sizeof(err)) == STS_OK)
            renewed = strcmp(e.id, "r2") == 0;
        sts_store_entry_clear(&e);
    }
    ok(renewed, "the refresher fetched the new policy without any lookup");

    /* Unused for longer than RecentUse (7 days by default): dropped from
     * memory by the refresher, served from the store on the next use. */
    struct seen s2 = lookup(&w4, "testing.test", 5000);
    ok(s2.source == STS_SOURCE_FRONT, "a used policy is in the front cache");
    atomic_fetch_add(&fake_now, 8 * 86400);
    tap_sleep_ms(2500); /* two refresher passes */
    s2 = lookup(&w4, "testing.test", 5000);
    ok(s2.source != STS_SOURCE_FRONT, "after a week unused it left the front cache (source %s)",
       sts_lookup_source_name(s2.source));
    close_cache(&w4);
}

/*
 * Damage a store file in place under the open store: every page after
 * the first (the header and the schema, which the open connection has
 * read already) is overwritten, so the next read of a table fails the
 * way a damaged disk does ("database disk image is malformed").
 */
static bool damage_store(const char *store_name)
{
    char path[512];
    unsigned char hdr[100], junk[4096];
    snprintf(path, sizeof(path), "%s/%s", scratch, store_name);
    int fd = open(path, O_RDWR);
    if (fd < 0 || pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr)) {
        perror(path);
        if (fd >= 0)
            close(fd);
        return false;
    }
    unsigned page = (unsigned)hdr[16] << 8 | hdr[17];
    if (page == 1)
        page = 65536;
    off_t end = lseek(fd, 0, SEEK_END);
    memset(junk, 0xa5, sizeof(junk));
    bool ok_ = end > (off_t)page;
    for (off_t at = page; ok_ && at < end; at += (off_t)sizeof(junk))
        ok_ = pwrite(fd, junk, sizeof(junk), at) == (ssize_t)sizeof(junk);
    printf("# %s: page size %u, %lld bytes, overwritten from %u\n", path, page, (long long)end,
           page);
    return close(fd) == 0 && ok_;
}

/*
 * Regression, issue 18 finding "OnStoreError is not applied when a store
 * read fails": a domain with a stored enforce policy whose store read
 * fails fell back to discovery, DNS failed, and the recipient was
 * accepted as dns-error even with OnStoreError tempfail.  Now the lookup
 * answers error/store-error (the verdict's OnStoreError), and a policy
 * the cache holds in memory is still served while the store cannot be
 * read.  Real SQLite store, damaged on disk while it is open.
 */
static void test_store_unreadable(void)
{
    struct world_cache w5;
    char err[256];
    open_cache(&w5, "127.0.0.1@9", "unreadable.db", 0, 2000); /* the resolver never answers */
    struct sts_store_entry e = {.fetched_at = atomic_load(&fake_now),
                                .checked_at = atomic_load(&fake_now),
                                .expires_at = atomic_load(&fake_now) + 86400,
                                .last_used = atomic_load(&fake_now)};
    snprintf(e.domain, sizeof(e.domain), "stored.test");
    snprintf(e.id, sizeof(e.id), "s1");
    int put = sts_policy_parse(POLICY_ENFORCE, strlen(POLICY_ENFORCE), &e.policy, err,
                               sizeof(err)) == STS_OK &&
              sts_store_put(w5.store, &e, err, sizeof(err)) == STS_OK;
    sts_store_entry_clear(&e);
    ok(put, "an enforce policy for stored.test is in the store");
    close_cache(&w5);

    open_cache(&w5, "127.0.0.1@9", "unreadable.db", 0, 2000);
    ok(damage_store("unreadable.db"), "the store file is damaged under the open store");
    struct seen s = lookup(&w5, "stored.test", 5000);
    ok(s.outcome == STS_LOOKUP_ERROR && strcmp(s.reason, "store-error") == 0,
       "store unreadable, DNS failing: error/store-error, not a DNS failure (got %s/%s)",
       sts_lookup_outcome_name(s.outcome), s.reason);
    s = lookup(&w5, "stored.test", 5000);
    ok(s.outcome == STS_LOOKUP_ERROR && strcmp(s.reason, "store-error") == 0,
       "the next lookup too: the failed discovery does not replace the stored policy (got %s/%s)",
       sts_lookup_outcome_name(s.outcome), s.reason);

    /* A second cache over the same damaged store, with a working resolver. */
    struct world_cache w6 = {.store = w5.store};
    open_cache(&w6, forwarder, NULL, 0, 5000);
    s = lookup(&w6, "good.test", 8000);
    ok(s.outcome == STS_LOOKUP_POLICY,
       "store unreadable: discovery still finds good.test's policy");
    s = lookup(&w6, "good.test", 5000);
    ok(s.outcome == STS_LOOKUP_POLICY && s.source == STS_SOURCE_FRONT,
       "the policy in memory is served although the store still cannot be read (got %s from %s)",
       sts_lookup_outcome_name(s.outcome), sts_lookup_source_name(s.source));
    s = lookup(&w6, "nopolicy.test", 5000);
    ok(s.outcome == STS_LOOKUP_ERROR && strcmp(s.reason, "store-error") == 0,
       "no TXT record but the store unreadable: error/store-error, not no-policy (got %s/%s)",
       sts_lookup_outcome_name(s.outcome), s.reason);
    sts_cache_free(w6.cache);
    sts_dns_free(w6.dns);
    close_cache(&w5);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_cache FORWARDER CA-FILE SCRATCH-DIR\n");
        return 2;
    }
    forwarder = argv[1];
    ca_file = argv[2];
    scratch = argv[3];
    char err[256];
    if (sts_fetch_global_init(err, sizeof(err)) != STS_OK) {
        printf("Bail out! %s\n", err);
        return 1;
    }
    struct world_cache w;
    open_cache(&w, forwarder, "cache.db", 0, 25000);
    test_basic(&w);
    test_new_id(&w);
    test_fetch_failure(&w);
    test_backoff_window(&w);
    test_txt_removed(&w);
    test_negative(&w);
    test_deadline(&w);
    test_single_flight(&w);
    close_cache(&w);
    test_store_reload();
    test_dns_failure();
    test_refresher();
    test_store_unreadable();
    return done_testing();
}
