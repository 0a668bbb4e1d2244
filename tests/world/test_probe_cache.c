/*
 * test_probe_cache.c - the MX probe cache (probe_cache.h) against the
 * test world's real MX hosts and signed zones.  Prints TAP.
 *
 * Guards: RFC 7672 §2.2.1 (DANE only through a DNSSEC-secure MX RRset; a
 * bogus MX RRset is dnssec-invalid), §2.2 (a bogus TLSA RRset makes the
 * host unusable: dnssec-invalid), §3.1 (DANE-EE / DANE-TA records
 * authenticate; a TLSA that matches nothing is tlsa-invalid), RFC 8460
 * §4.3.2 (dane-required when DANE is demanded and absent), and the
 * cache's own promises: a result is read from memory without a new
 * connection, concurrent gets share one probe, TTLs expire (test clock),
 * wait_ms = 0 never blocks, a silent MX never holds a get beyond its
 * wait_ms, the global cap and queue bound hold, results survive in the
 * store, and the refresher re-probes used hosts before they expire.
 *
 * Driven by tests/world/probe_cache.sh:
 *   argv[1] resolver (ADDR@PORT, validating), argv[2] trust anchor file,
 *   argv[3] CA file of the MX certificates, argv[4] scratch directory,
 *   argv[5] WORLD_NET (the slot's 127.53.N prefix);
 *   WORLD_MX_LOG in the environment (the MX Postfix's log).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/tap.h"
#include "mtasts/dns.h"
#include "mtasts/probe.h"
#include "mtasts/probe_cache.h"
#include "mtasts/store.h"

static _Atomic int64_t fake_now = 1800000000;
static const char *resolver, *anchor, *ca_file, *scratch, *net;
static atomic_int probe_lines;

static int64_t clock_fn(void *arg)
{
    (void)arg;
    return atomic_load(&fake_now);
}

static void log_fn(void *arg, int prio, const char *line)
{
    (void)arg;
    if (strncmp(line, "probe host=", 11) == 0 && strstr(line, " result=") != NULL &&
        strstr(line, " ms=") != NULL && strstr(line, " dane=") != NULL)
        atomic_fetch_add(&probe_lines, 1);
    printf("# log[%d] %s\n", prio, line);
    fflush(stdout);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Lines of the MX Postfix's log for one scenario label that contain what. */
static long mx_log_count(const char *label, const char *what)
{
    const char *log = getenv("WORLD_MX_LOG");
    char pat[128], line[1024];
    long n = 0;
    if (log == NULL)
        return -1;
    FILE *f = fopen(log, "r");
    if (f == NULL)
        return -1;
    snprintf(pat, sizeof(pat), "mx-%s/smtpd[", label);
    while (fgets(line, sizeof(line), f) != NULL)
        if (strstr(line, pat) != NULL && strstr(line, what) != NULL)
            n++;
    fclose(f);
    return n;
}

/* Sessions the MX Postfix logged for one scenario label ("connect from" lines). */
static long mx_connects(const char *label)
{
    return mx_log_count(label, "]: connect from ");
}

/*
 * The MX's sessions for label once its log has caught up (Postfix logs
 * through postlogd, a little after the fact): waits, 5 s at most, until
 * it shows more than before sessions and every session it shows ended.
 */
static long mx_connects_logged(const char *label, long before)
{
    WAIT_UNTIL(5000, mx_connects(label) > before &&
                         mx_log_count(label, "]: disconnect from ") == mx_connects(label));
    return mx_connects(label);
}

static struct sts_dns *dns;
static struct sts_probe_ctx *pctx;

static struct sts_probe_cache *open_cache(struct sts_store *store, unsigned max_conc,
                                          unsigned queue_max, unsigned refresh_s,
                                          unsigned timeout_ms)
{
    char err[256];
    struct sts_probe_cache_config cfg = {
        .dns = dns,
        .store = store,
        .probe = pctx,
        .helo_name = "probe-cache.test",
        .probe_timeout_ms = timeout_ms,
        .ttl_pass_s = 3600,
        .ttl_fail_s = 300,
        .max_concurrent = max_conc,
        .queue_max = queue_max,
        .refresh_interval_s = refresh_s,
        .recent_use_s = 86400,
        .log = log_fn,
        .clock = clock_fn,
    };
    struct sts_probe_cache *pc = NULL;
    if (sts_probe_cache_new(&cfg, &pc, err, sizeof(err)) != STS_OK) {
        printf("Bail out! probe cache: %s\n", err);
        exit(1);
    }
    return pc;
}

static struct sts_store *open_store(const char *name)
{
    char spec[512], err[256];
    struct sts_store *s = NULL;
    snprintf(spec, sizeof(spec), "sqlite:%s/%s", scratch, name);
    if (sts_store_open(spec, &s, err, sizeof(err)) != STS_OK) {
        printf("Bail out! store: %s\n", err);
        exit(1);
    }
    return s;
}

static uint64_t probes_of(struct sts_probe_cache *pc)
{
    struct sts_probe_cache_stats st;
    sts_probe_cache_stats(pc, &st);
    return st.probes;
}

/* One get's answer: the verdict (vocab.h) and where it came from. */
struct got {
    struct sts_tls_verdict tls;
    enum sts_mx_tls_source source;
};

static const char *rname(const struct got *t)
{
    return t->tls.known ? sts_tls_result_name(t->tls.result) : "pending";
}

/* get, and the wall time it took in *ms. */
static void get(struct sts_probe_cache *pc, const char *host, enum sts_dnssec sec, bool req_dane,
                unsigned wait_ms, bool used, struct got *out, double *ms)
{
    double t0 = now_ms();
    sts_probe_cache_get(pc, host, sec, req_dane, wait_ms, used, &out->tls, &out->source);
    if (ms != NULL)
        *ms = now_ms() - t0;
    printf("# get %s %s: %s dane=%d source=%s addr=%s tls=%s detail=\"%s\"\n", host,
           sts_dnssec_name(sec), rname(out), out->tls.dane, sts_mx_tls_source_name(out->source),
           out->tls.addr, out->tls.tls_version, out->tls.detail);
}

/* ---- pass, memory, connections; TTL; wait_ms = 0 ---- */

static void test_pass_and_ttl(struct sts_probe_cache *pc)
{
    struct got t;
    double ms;
    char addr[64];
    long c0 = mx_connects("mxgood");

    get(pc, "mx1.mxgood.test", STS_DNSSEC_INSECURE, false, 10000, true, &t, &ms);
    snprintf(addr, sizeof(addr), "%s.30", net);
    ok(t.tls.known && t.tls.result == STS_TLS_PASS && !t.tls.dane && t.source == STS_MX_TLS_PROBE,
       "mxgood: pass by WebPKI from a probe (got %s dane=%d source=%s)", rname(&t), t.tls.dane,
       sts_mx_tls_source_name(t.source));
    ok(strcmp(t.tls.addr, addr) == 0 && strncmp(t.tls.tls_version, "TLSv1.", 6) == 0,
       "mxgood: probed %s, %s (got addr %s)", addr, t.tls.tls_version, t.tls.addr);
    ok(t.tls.checked_at == atomic_load(&fake_now) && t.tls.expires_at == t.tls.checked_at + 3600,
       "mxgood: pass TTL 3600 on the test clock (got %lld)",
       (long long)(t.tls.expires_at - t.tls.checked_at));
    ok(probes_of(pc) == 1, "one probe so far (got %llu)", (unsigned long long)probes_of(pc));

    get(pc, "mx1.mxgood.test", STS_DNSSEC_INSECURE, false, 0, true, &t, &ms);
    ok(t.tls.known && t.tls.result == STS_TLS_PASS && t.source == STS_MX_TLS_MEMORY,
       "mxgood again: from memory (got %s source=%s)", rname(&t), sts_mx_tls_source_name(t.source));
    ok(ms < 20, "a warm get takes no time (%.2f ms)", ms);
    ok(probes_of(pc) == 1, "no second probe (got %llu)", (unsigned long long)probes_of(pc));
    long c1 = mx_connects_logged("mxgood", c0);
    ok(c0 >= 0 && c1 - c0 == 1, "the MX logged exactly one connection (got %ld)", c1 - c0);

    /* Expiry on the test clock: pending, re-probed in the background. */
    atomic_fetch_add(&fake_now, 3601);
    get(pc, "mx1.mxgood.test", STS_DNSSEC_INSECURE, false, 0, true, &t, &ms);
    ok(!t.tls.known && ms < 50, "after the TTL: pending at once with wait_ms 0 (got %s, %.1f ms)",
       rname(&t), ms);
    ok(sts_probe_cache_wait_idle(pc, 15000) == STS_OK, "re-probe finished");
    get(pc, "mx1.mxgood.test", STS_DNSSEC_INSECURE, false, 0, true, &t, &ms);
    ok(t.tls.known && t.tls.result == STS_TLS_PASS && t.tls.checked_at == atomic_load(&fake_now),
       "after the re-probe: pass, checked now (got %s)", rname(&t));
    ok(probes_of(pc) == 2, "two probes in all (got %llu)", (unsigned long long)probes_of(pc));

    /* wait_ms = 0 on an unknown host; a failure keeps ttl_fail_s. */
    get(pc, "mx1.mxwrongname.test", STS_DNSSEC_INSECURE, false, 0, false, &t, &ms);
    ok(!t.tls.known && ms < 50, "mxwrongname, wait 0: pending at once (got %s, %.1f ms)", rname(&t),
       ms);
    ok(sts_probe_cache_wait_idle(pc, 15000) == STS_OK, "background probe finished");
    get(pc, "mx1.mxwrongname.test", STS_DNSSEC_INSECURE, false, 0, false, &t, &ms);
    ok(t.tls.known && t.tls.result == STS_TLS_CERT_HOST_MISMATCH &&
           t.tls.expires_at - t.tls.checked_at == 300 && t.source == STS_MX_TLS_MEMORY,
       "mxwrongname later: certificate-host-mismatch from memory, TTL 300 (got %s, %lld)",
       rname(&t), (long long)(t.tls.expires_at - t.tls.checked_at));

    get(pc, "mx1.mxnotls.test", STS_DNSSEC_INSECURE, false, 10000, false, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_STARTTLS_NOT_SUPPORTED, "mxnotls: %s", rname(&t));
    get(pc, "nothing.mxgood.test", STS_DNSSEC_INSECURE, false, 10000, false, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_UNREACHABLE &&
           t.tls.expires_at - t.tls.checked_at == 300,
       "a host without addresses: unreachable, fail TTL (got %s: %s)", rname(&t), t.tls.detail);
}

/* ---- single flight ---- */

struct sf_arg {
    struct sts_probe_cache *pc;
    pthread_barrier_t *bar;
    struct got t;
};

static void *sf_thread(void *p)
{
    struct sf_arg *a = p;
    pthread_barrier_wait(a->bar);
    sts_probe_cache_get(a->pc, "mx1.mxwild.test", STS_DNSSEC_INSECURE, false, 10000, false,
                        &a->t.tls, &a->t.source);
    return NULL;
}

static void test_single_flight(struct sts_probe_cache *pc)
{
    enum { N = 20 };
    pthread_t th[N];
    static struct sf_arg args[N];
    pthread_barrier_t bar;
    uint64_t p0 = probes_of(pc);
    long c0 = mx_connects("mxwild");
    int good = 0;

    pthread_barrier_init(&bar, NULL, N);
    for (int i = 0; i < N; i++) {
        args[i] = (struct sf_arg){.pc = pc, .bar = &bar};
        pthread_create(&th[i], NULL, sf_thread, &args[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        good += args[i].t.tls.known && args[i].t.tls.result == STS_TLS_PASS;
    }
    pthread_barrier_destroy(&bar);
    ok(good == N, "single flight: %d of %d concurrent gets got pass", good, N);
    ok(probes_of(pc) - p0 == 1, "single flight: one probe for %d gets (got %llu)", N,
       (unsigned long long)(probes_of(pc) - p0));
    long c1 = mx_connects_logged("mxwild", c0);
    ok(c1 - c0 == 1, "single flight: one connection to the MX (got %ld)", c1 - c0);
}

/* ---- a silent MX, the cap and the queue bound ---- */

struct cap_arg {
    struct sts_probe_cache *pc;
    atomic_bool stop;
    unsigned max_running;
};

static void *cap_watch(void *p)
{
    struct cap_arg *a = p;
    while (!atomic_load(&a->stop)) {
        struct sts_probe_cache_stats st;
        sts_probe_cache_stats(a->pc, &st);
        if (st.running > a->max_running)
            a->max_running = st.running;
        tap_sleep_ms(2);
    }
    return NULL;
}

static void test_silent_and_bounds(void)
{
    struct sts_probe_cache *pc = open_cache(NULL, 1, 1, 60, 2000);
    struct got t;
    double ms;

    get(pc, "mx1.mxsilent.test", STS_DNSSEC_INSECURE, false, 400, false, &t, &ms);
    ok(!t.tls.known && ms >= 380 && ms < 700,
       "silent MX: the get gives up at its wait_ms 400 (got %s after %.0f ms)", rname(&t), ms);
    get(pc, "mx1.mxsilent.test", STS_DNSSEC_INSECURE, false, 0, false, &t, &ms);
    ok(!t.tls.known && ms < 50, "silent MX, wait 0: pending at once (%.1f ms)", ms);
    /* One worker busy with the silent host, one job may wait, the next is dropped. */
    get(pc, "mx1.mxnotls.test", STS_DNSSEC_INSECURE, false, 0, false, &t, NULL);
    get(pc, "mx1.mxoldtls.test", STS_DNSSEC_INSECURE, false, 0, false, &t, &ms);
    struct sts_probe_cache_stats st;
    sts_probe_cache_stats(pc, &st);
    ok(!t.tls.known && st.dropped == 1 && strstr(t.tls.detail, "queue full") != NULL,
       "queue_max 1: a third job is dropped, pending (dropped %llu, detail \"%s\")",
       (unsigned long long)st.dropped, t.tls.detail);
    ok(sts_probe_cache_wait_idle(pc, 15000) == STS_OK, "the silent probe ended");
    get(pc, "mx1.mxsilent.test", STS_DNSSEC_INSECURE, false, 0, false, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_UNREACHABLE,
       "silent MX later: unreachable (got %s: %s)", rname(&t), t.tls.detail);
    get(pc, "mx1.mxoldtls.test", STS_DNSSEC_INSECURE, false, 10000, false, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_VALIDATION_FAILURE,
       "the dropped host is probed by a later get (got %s)", rname(&t));
    sts_probe_cache_free(pc);

    /* The global cap: six hosts at once, max_concurrent 2. */
    pc = open_cache(NULL, 2, 100, 60, 2000);
    static const char *const hosts[] = {"mx1.mxgood.test",       "mx1.mxwild.test",
                                        "mx1.mxwrongname.test",  "mx1.mxexpired.test",
                                        "mx1.mxselfsigned.test", "mx1.mxsilent.test"};
    struct cap_arg ca = {.pc = pc};
    pthread_t w;
    pthread_create(&w, NULL, cap_watch, &ca);
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++)
        get(pc, hosts[i], STS_DNSSEC_INSECURE, false, 0, false, &t, NULL);
    ok(sts_probe_cache_wait_idle(pc, 20000) == STS_OK, "cap: all six probes ended");
    atomic_store(&ca.stop, true);
    pthread_join(w, NULL);
    ok(ca.max_running == 2 && probes_of(pc) == 6,
       "cap: at most 2 probes ran at once (saw %u), 6 in all (%llu)", ca.max_running,
       (unsigned long long)probes_of(pc));
    get(pc, "mx1.mxexpired.test", STS_DNSSEC_INSECURE, false, 0, false, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_CERT_EXPIRED, "mxexpired: %s", rname(&t));
    get(pc, "mx1.mxselfsigned.test", STS_DNSSEC_INSECURE, false, 0, false, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_CERT_NOT_TRUSTED, "mxselfsigned: %s", rname(&t));
    sts_probe_cache_free(pc);
}

/* ---- DANE ---- */

static enum sts_dnssec mx_dnssec_of(const char *domain, char *host, size_t hostlen)
{
    struct sts_dns_answer *ans = NULL;
    enum sts_dnssec sec = STS_DNSSEC_INSECURE;
    host[0] = '\0';
    if (sts_dns_query(dns, domain, STS_DNS_MX, &ans) == STS_OK && ans != NULL) {
        sec = ans->dnssec;
        if (ans->result == STS_DNS_ANSWER && ans->count > 0)
            snprintf(host, hostlen, "%s", ans->mx[0].host);
        printf("# MX %s: %s %s %s\n", domain, sts_dns_result_name(ans->result),
               sts_dnssec_name(ans->dnssec), host);
    }
    sts_dns_answer_free(ans);
    return sec;
}

static void test_dane(struct sts_probe_cache *pc)
{
    struct got t;
    char host[256];
    enum sts_dnssec sec;

    sec = mx_dnssec_of("good.dane.test", host, sizeof(host));
    ok(sec == STS_DNSSEC_SECURE && strcmp(host, "mx1.good.dane.test") == 0,
       "good.dane.test: MX RRset secure (got %s %s)", sts_dnssec_name(sec), host);
    get(pc, "mx1.good.dane.test", sec, false, 10000, true, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_PASS && t.tls.dane,
       "good.dane.test: pass by DANE-EE (got %s dane=%d)", rname(&t), t.tls.dane);
    get(pc, "mx1.good.dane.test", sec, true, 0, true, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_PASS && t.tls.dane,
       "good.dane.test with DANE required: still pass (got %s)", rname(&t));
    /* The same host through an insecure MX RRset: no DANE, the WebPKI knows not CA2. */
    get(pc, "mx1.good.dane.test", STS_DNSSEC_INSECURE, false, 10000, false, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_CERT_NOT_TRUSTED && !t.tls.dane,
       "good.dane.test's MX via an insecure MX RRset: WebPKI, certificate-not-trusted "
       "(got %s dane=%d)",
       rname(&t), t.tls.dane);

    sec = mx_dnssec_of("ta.dane.test", host, sizeof(host));
    get(pc, "mx1.ta.dane.test", sec, false, 10000, false, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_PASS && t.tls.dane,
       "ta.dane.test: pass by DANE-TA (got %s)", rname(&t));

    sec = mx_dnssec_of("badtlsa.dane.test", host, sizeof(host));
    get(pc, "mx1.badtlsa.dane.test", sec, false, 10000, false, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_TLSA_INVALID && t.tls.dane,
       "badtlsa.dane.test: tlsa-invalid although the WebPKI would pass (got %s)", rname(&t));

    sec = mx_dnssec_of("tlsabogus.dane.test", host, sizeof(host));
    ok(sec == STS_DNSSEC_SECURE, "tlsabogus.dane.test: MX RRset secure (got %s)",
       sts_dnssec_name(sec));
    uint64_t p0 = probes_of(pc);
    get(pc, "mx1.tlsabogus.dane.test", sec, false, 10000, false, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_DNSSEC_INVALID &&
           strstr(t.tls.detail, "TLSA") != NULL,
       "tlsabogus.dane.test: bogus TLSA -> dnssec-invalid (got %s: %s)", rname(&t), t.tls.detail);
    ok(t.tls.addr[0] == '\0', "tlsabogus: no connection was made (addr \"%s\")", t.tls.addr);
    (void)p0;

    sec = mx_dnssec_of("notlsa.dane.test", host, sizeof(host));
    p0 = probes_of(pc);
    get(pc, "mx1.notlsa.dane.test", sec, true, 10000, false, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_DANE_REQUIRED && !t.tls.dane,
       "notlsa.dane.test, DANE required: dane-required (got %s)", rname(&t));
    get(pc, "mx1.notlsa.dane.test", sec, false, 0, false, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_PASS && t.source == STS_MX_TLS_MEMORY &&
           probes_of(pc) - p0 == 1,
       "notlsa.dane.test, DANE not required: pass, same cached row (got %s, %llu probes)",
       rname(&t), (unsigned long long)(probes_of(pc) - p0));

    sec = mx_dnssec_of("bogus.test", host, sizeof(host));
    ok(sec == STS_DNSSEC_BOGUS, "bogus.test: MX RRset bogus (got %s)", sts_dnssec_name(sec));
    p0 = probes_of(pc);
    double ms;
    get(pc, "mx1.bogus.test", STS_DNSSEC_BOGUS, false, 10000, false, &t, &ms);
    ok(t.tls.known && t.tls.result == STS_TLS_DNSSEC_INVALID && ms < 20 && probes_of(pc) == p0,
       "bogus.test's MX: dnssec-invalid at once, no probe (got %s, %.1f ms)", rname(&t), ms);
}

/* ---- persistence and the refresher ---- */

static void test_persistence_and_refresh(void)
{
    struct sts_store *store = open_store("probes.db");
    struct sts_probe_cache *pc = open_cache(store, 4, 100, 1, 2000);
    struct got t, used;
    long c0 = mx_connects("mxgood");

    /* Recently used rows are loaded at start; others on their first get. */
    get(pc, "mx1.mxgood.test", STS_DNSSEC_INSECURE, false, 0, false, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_PASS && t.source == STS_MX_TLS_MEMORY &&
           probes_of(pc) == 0,
       "a new cache over the same store: the used host is in memory at start, no probe "
       "(got %s source=%s)",
       rname(&t), sts_mx_tls_source_name(t.source));
    get(pc, "mx1.good.dane.test", STS_DNSSEC_SECURE, false, 0, true, &used, NULL);
    ok(used.tls.known && used.tls.result == STS_TLS_PASS && used.tls.dane,
       "the DANE verdict is kept too (got %s dane=%d)", rname(&used), used.tls.dane);
    get(pc, "mx1.ta.dane.test", STS_DNSSEC_SECURE, false, 0, false, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_PASS && t.source == STS_MX_TLS_STORE &&
           probes_of(pc) == 0,
       "an unused host: read from the store on its first get (got %s source=%s)", rname(&t),
       sts_mx_tls_source_name(t.source));
    tap_sleep_ms(500);
    ok(mx_connects("mxgood") == c0, "no connection to the MX");

    /*
     * Refresher: mx1.good.dane.test and mx1.mxgood.test were marked used,
     * mx1.ta.dane.test not; all expire at the same time.  Move the clock
     * to 10 s before that (inside the margin: 2 periods + 4 x 2 s + 1):
     * the used ones are re-probed, the other not.
     */
    int64_t old_checked = t.tls.checked_at;
    atomic_store(&fake_now, used.tls.expires_at - 10);
    WAIT_UNTIL(10000, probes_of(pc) >= 2);
    sts_probe_cache_wait_idle(pc, 10000);
    get(pc, "mx1.good.dane.test", STS_DNSSEC_SECURE, false, 0, true, &t, NULL);
    ok(t.tls.known && t.tls.result == STS_TLS_PASS && t.tls.checked_at == atomic_load(&fake_now),
       "refresher: a used host was re-probed before expiry (checked %+lld s)",
       (long long)(t.tls.checked_at - used.tls.checked_at));
    get(pc, "mx1.mxgood.test", STS_DNSSEC_INSECURE, false, 0, false, &t, NULL);
    ok(t.tls.known && t.tls.checked_at == atomic_load(&fake_now), "refresher: so was the other");
    get(pc, "mx1.ta.dane.test", STS_DNSSEC_SECURE, false, 0, false, &t, NULL);
    ok(t.tls.known && t.tls.checked_at == old_checked && probes_of(pc) == 2,
       "refresher: the unused host was not (%llu probes)", (unsigned long long)probes_of(pc));
    sts_probe_cache_free(pc);

    /* The store row of a used host carries its new times and its last use. */
    struct sts_store_probe row;
    char err[256];
    enum sts_status st =
        sts_store_probe_get(store, "mx1.good.dane.test", 25, true, &row, err, sizeof(err));
    ok(st == STS_OK && row.tls.result == STS_TLS_PASS && row.tls.dane &&
           row.tls.checked_at == atomic_load(&fake_now) && row.last_used > 0,
       "store row: %s, dane=%d, checked %+lld s from now, last_used %lld",
       sts_tls_result_name(row.tls.result), row.tls.dane,
       (long long)(row.tls.checked_at - atomic_load(&fake_now)), (long long)row.last_used);
    sts_store_close(store);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: test_probe_cache RESOLVER TA CA SCRATCH NET\n");
        return 2;
    }
    resolver = argv[1];
    anchor = argv[2];
    ca_file = argv[3];
    scratch = argv[4];
    net = argv[5];
    setvbuf(stdout, NULL, _IOLBF, 0);

    char err[256];
    struct sts_dns_config dc = {
        .forwarders = resolver, .trust_anchor_file = anchor, .timeout_ms = 3000};
    if (sts_dns_new(&dc, &dns, err, sizeof(err)) != STS_OK) {
        printf("Bail out! resolver: %s\n", err);
        return 1;
    }
    if (sts_probe_ctx_new(ca_file, NULL, &pctx, err, sizeof(err)) != STS_OK) {
        printf("Bail out! probe context: %s\n", err);
        return 1;
    }

    struct sts_store *store = open_store("probes.db");
    struct sts_probe_cache *pc = open_cache(store, 4, 100, 3600, 3000);
    test_pass_and_ttl(pc);
    test_single_flight(pc);
    test_dane(pc);
    int lines = atomic_load(&probe_lines);
    uint64_t probes = probes_of(pc);
    ok(lines >= 0 && (uint64_t)lines == probes, "one log line per probe (%d lines, %llu probes)",
       lines, (unsigned long long)probes);
    sts_probe_cache_free(pc);
    sts_store_close(store);

    test_silent_and_bounds();
    test_persistence_and_refresh();

    sts_probe_ctx_free(pctx);
    sts_dns_free(dns);
    return done_testing();
}
