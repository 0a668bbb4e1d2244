/*
 * test_discovery.c - the RFC 8461 §3/§5 decisions of policy discovery
 * (milter/core/discovery.c), table-driven: facts in, decision out.
 *
 * Guards: §5 "a cached policy is used until it expires" (a vanished or
 * invalid TXT record, or a DNS failure, keeps it), §5.1 "the same id:
 * the cached policy is current" (no fetch), "a new id: fetch", §3.3 /
 * §5 "a failed fetch keeps the cached policy and is retried with a rate
 * limit" (back-off, at least 5 minutes), §5 "mode: none replaces at once",
 * and negative caching of domains without a policy.
 */
#include <stdio.h>
#include <string.h>

#include "mtasts/discovery.h"
#include "unit_main.h"

#define NOW 1700000000
#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

/* Facts shorthands. */
#define CACHED(id, age) .cached = true, .cached_id = (id), .cached_max_age = (age)
#define TXT(id) .txt = STS_DISCOVERY_TXT_RECORD, .txt_id = (id)
#define TXT_NONE .txt = STS_DISCOVERY_TXT_NONE
#define TXT_INVALID .txt = STS_DISCOVERY_TXT_INVALID
#define TXT_FAIL(r) .txt = STS_DISCOVERY_TXT_FAILED, .txt_fails = STS_LOOKUP_REASON_##r
#define NO_BACKOFF .backoff_checked = true
#define BACKOFF(t) .backoff_checked = true, .backoff_until = (t)
#define FETCHED(age) .fetched = true, .fetch = STS_FETCH_OK, .parsed = true, .max_age = (age)
#define FETCH_FAIL(r) .fetched = true, .fetch = STS_FETCH_##r
#define BAD_BODY .fetched = true, .fetch = STS_FETCH_OK, .parsed = false

#define W_POL STS_DISCOVERY_WRITE_POLICY
#define W_REF STS_DISCOVERY_WRITE_REFRESH
#define W_NEG STS_DISCOVERY_WRITE_NEGATIVE
#define W_BO STS_DISCOVERY_WRITE_BACKOFF
#define L_FF STS_DISCOVERY_LOG_FETCH_FAILED
#define L_TM STS_DISCOVERY_LOG_TXT_MISSING
#define L_TLF STS_DISCOVERY_LOG_TXT_LOOKUP_FAILED
#define L_NP STS_DISCOVERY_LOG_NO_POLICY
#define L_PU STS_DISCOVERY_LOG_POLICY_UPDATED

struct disc_case {
    const char *name;
    struct sts_discovery_facts f;
    struct sts_discovery_settings s;
    enum sts_discovery_action want;
    enum sts_lookup_reason reason;
    enum sts_fetch_result fetch;
    int64_t until;      /* NEGATIVE, TEMPFAIL (checked when nonzero) */
    int64_t expires_at; /* EXTEND, UPDATE (checked when nonzero) */
    int64_t backoff;    /* backoff_until (checked when nonzero) */
    unsigned writes, logs;
};

static const struct disc_case cases[] = {
    /* ---- the TXT record */
    {"§5.1 same id extends without a fetch",
     {CACHED("a1", 86400), TXT("a1")},
     {0},
     STS_DISCOVERY_EXTEND,
     STS_LOOKUP_REASON_CACHED,
     0,
     0,
     NOW + 86400,
     0,
     W_REF,
     0},
    {"new id: check the back-off first",
     {CACHED("a1", 86400), TXT("a2")},
     {0},
     STS_DISCOVERY_CHECK_BACKOFF,
     0,
     0,
     0,
     0,
     0,
     0,
     0},
    {"nothing cached, a record: check the back-off",
     {TXT("a1")},
     {0},
     STS_DISCOVERY_CHECK_BACKOFF,
     0,
     0,
     0,
     0,
     0,
     0,
     0},
    {"new id, no back-off: fetch",
     {CACHED("a1", 86400), TXT("a2"), NO_BACKOFF},
     {0},
     STS_DISCOVERY_FETCH,
     0,
     0,
     0,
     0,
     0,
     0,
     0},
    {"expired back-off row: fetch",
     {TXT("a2"), BACKOFF(NOW - 1)},
     {0},
     STS_DISCOVERY_FETCH,
     0,
     0,
     0,
     0,
     0,
     0,
     0},
    {"§5 vanished TXT keeps the cached policy",
     {CACHED("a1", 86400), TXT_NONE},
     {0},
     STS_DISCOVERY_KEEP,
     STS_LOOKUP_REASON_NO_INDICATOR,
     0,
     0,
     0,
     0,
     0,
     L_TM},
    {"invalid TXT keeps the cached policy",
     {CACHED("a1", 86400), TXT_INVALID},
     {0},
     STS_DISCOVERY_KEEP,
     STS_LOOKUP_REASON_TXT_INVALID,
     0,
     0,
     0,
     0,
     0,
     L_TM},
    {"no TXT, nothing cached: negative for the default hour",
     {TXT_NONE},
     {0},
     STS_DISCOVERY_NEGATIVE,
     STS_LOOKUP_REASON_NO_INDICATOR,
     0,
     NOW + 3600,
     0,
     0,
     W_NEG,
     L_NP},
    {"no TXT: NegativeCacheTTL",
     {TXT_NONE},
     {.negative_ttl_s = 120},
     STS_DISCOVERY_NEGATIVE,
     STS_LOOKUP_REASON_NO_INDICATOR,
     0,
     NOW + 120,
     0,
     0,
     W_NEG,
     L_NP},
    {"invalid TXT, nothing cached: negative",
     {TXT_INVALID},
     {0},
     STS_DISCOVERY_NEGATIVE,
     STS_LOOKUP_REASON_TXT_INVALID,
     0,
     NOW + 3600,
     0,
     0,
     W_NEG,
     L_NP},
    {"a record without an id is invalid",
     {.txt = STS_DISCOVERY_TXT_RECORD, .txt_id = ""},
     {0},
     STS_DISCOVERY_NEGATIVE,
     STS_LOOKUP_REASON_TXT_INVALID,
     0,
     NOW + 3600,
     0,
     0,
     W_NEG,
     L_NP},
    /* ---- DNS failures */
    {"DNS timeout, nothing cached: tempfail for 60 s, memory only",
     {TXT_FAIL(DNS_TIMEOUT)},
     {0},
     STS_DISCOVERY_TEMPFAIL,
     STS_LOOKUP_REASON_DNS_TIMEOUT,
     0,
     NOW + 60,
     0,
     0,
     0,
     L_TLF},
    {"DNS bogus: tempfail, DNSFailureTTL",
     {TXT_FAIL(DNS_BOGUS)},
     {.tempfail_ttl_s = 30},
     STS_DISCOVERY_TEMPFAIL,
     STS_LOOKUP_REASON_DNS_BOGUS,
     0,
     NOW + 30,
     0,
     0,
     0,
     L_TLF},
    {"DNS failure keeps the cached policy",
     {CACHED("a1", 86400), TXT_FAIL(DNS_SERVFAIL)},
     {0},
     STS_DISCOVERY_KEEP,
     STS_LOOKUP_REASON_DNS_SERVFAIL,
     0,
     0,
     0,
     0,
     0,
     L_TLF},
    {"an unknown failure word reads as servfail",
     {TXT_FAIL(NONE)},
     {0},
     STS_DISCOVERY_TEMPFAIL,
     STS_LOOKUP_REASON_DNS_SERVFAIL,
     0,
     NOW + 60,
     0,
     0,
     0,
     L_TLF},
    /* ---- the back-off (§5 rate limit) */
    {"back-off active, nothing cached: no policy until it ends",
     {TXT("a2"), BACKOFF(NOW + 200)},
     {0},
     STS_DISCOVERY_NEGATIVE,
     STS_LOOKUP_REASON_FETCH_BACKOFF,
     0,
     NOW + 200,
     0,
     0,
     W_NEG,
     L_NP},
    {"back-off active keeps the cached policy, silently",
     {CACHED("a1", 86400), TXT("a2"), BACKOFF(NOW + 200)},
     {0},
     STS_DISCOVERY_KEEP,
     STS_LOOKUP_REASON_FETCH_BACKOFF,
     0,
     0,
     0,
     0,
     0,
     0},
    /* ---- the fetch */
    {"fetched: the new policy replaces",
     {CACHED("a1", 86400), TXT("a2"), NO_BACKOFF, FETCHED(600)},
     {0},
     STS_DISCOVERY_UPDATE,
     0,
     0,
     0,
     NOW + 600,
     0,
     W_POL,
     L_PU},
    {"fetched, nothing cached",
     {TXT("a1"), NO_BACKOFF, FETCHED(86400)},
     {0},
     STS_DISCOVERY_UPDATE,
     0,
     0,
     0,
     NOW + 86400,
     0,
     W_POL,
     L_PU},
    {"§3.3 failed fetch keeps the cached policy and backs off 300 s",
     {CACHED("a1", 86400), TXT("a2"), NO_BACKOFF, FETCH_FAIL(TLS)},
     {0},
     STS_DISCOVERY_KEEP,
     STS_LOOKUP_REASON_FETCH_FAILED,
     STS_FETCH_TLS,
     0,
     0,
     NOW + 300,
     W_BO,
     L_FF},
    {"failed fetch, nothing cached: no policy until the back-off ends",
     {TXT("a1"), NO_BACKOFF, FETCH_FAIL(HTTP)},
     {0},
     STS_DISCOVERY_NEGATIVE,
     STS_LOOKUP_REASON_FETCH_FAILED,
     STS_FETCH_HTTP,
     NOW + 300,
     0,
     NOW + 300,
     W_BO | W_NEG,
     L_FF | L_NP},
    {"FetchBackoff longer than the minimum",
     {TXT("a1"), NO_BACKOFF, FETCH_FAIL(TIMEOUT)},
     {.backoff_s = 900},
     STS_DISCOVERY_NEGATIVE,
     STS_LOOKUP_REASON_FETCH_FAILED,
     STS_FETCH_TIMEOUT,
     NOW + 900,
     0,
     NOW + 900,
     W_BO | W_NEG,
     L_FF | L_NP},
    {"FetchBackoff below 300 s is raised to 300 s",
     {TXT("a1"), NO_BACKOFF, FETCH_FAIL(CONNECT)},
     {.backoff_s = 10},
     STS_DISCOVERY_NEGATIVE,
     STS_LOOKUP_REASON_FETCH_FAILED,
     STS_FETCH_CONNECT,
     NOW + 300,
     0,
     NOW + 300,
     W_BO | W_NEG,
     L_FF | L_NP},
    {"a body that is no policy: policy-invalid",
     {TXT("a1"), NO_BACKOFF, BAD_BODY},
     {0},
     STS_DISCOVERY_NEGATIVE,
     STS_LOOKUP_REASON_POLICY_INVALID,
     STS_FETCH_OK,
     NOW + 300,
     0,
     NOW + 300,
     W_BO | W_NEG,
     L_FF | L_NP},
    {"policy-invalid keeps the cached policy",
     {CACHED("a1", 86400), TXT("a2"), NO_BACKOFF, BAD_BODY},
     {0},
     STS_DISCOVERY_KEEP,
     STS_LOOKUP_REASON_POLICY_INVALID,
     STS_FETCH_OK,
     0,
     0,
     NOW + 300,
     W_BO,
     L_FF},
};

START_TEST(test_decide)
{
    const struct disc_case *c = &cases[_i];
    struct sts_discovery_facts f = c->f;
    struct sts_discovery_decision d;
    f.now = NOW;
    sts_discovery_decide(&f, &c->s, &d);
    ck_assert_msg(d.action == c->want, "%s: got action %s, want %s", c->name,
                  sts_discovery_action_name(d.action), sts_discovery_action_name(c->want));
    if (c->want != STS_DISCOVERY_CHECK_BACKOFF && c->want != STS_DISCOVERY_FETCH &&
        c->want != STS_DISCOVERY_UPDATE)
        ck_assert_msg(d.reason == c->reason, "%s: got reason %s, want %s", c->name,
                      sts_lookup_reason_name(d.reason), sts_lookup_reason_name(c->reason));
    if (c->reason == STS_LOOKUP_REASON_FETCH_FAILED)
        ck_assert_msg(d.fetch == c->fetch, "%s: got fetch %s, want %s", c->name,
                      sts_fetch_result_name(d.fetch), sts_fetch_result_name(c->fetch));
    if (c->until != 0)
        ck_assert_msg(d.until == c->until, "%s: got until now%+lld, want now%+lld", c->name,
                      (long long)(d.until - NOW), (long long)(c->until - NOW));
    if (c->expires_at != 0)
        ck_assert_msg(d.expires_at == c->expires_at, "%s: got expires now%+lld, want now%+lld",
                      c->name, (long long)(d.expires_at - NOW), (long long)(c->expires_at - NOW));
    if (c->backoff != 0)
        ck_assert_msg(d.backoff_until == c->backoff, "%s: got back-off now%+lld, want now%+lld",
                      c->name, (long long)(d.backoff_until - NOW), (long long)(c->backoff - NOW));
    ck_assert_msg(d.writes == c->writes, "%s: got writes %#x, want %#x", c->name, d.writes,
                  c->writes);
    ck_assert_msg(d.logs == c->logs, "%s: got logs %#x, want %#x", c->name, d.logs, c->logs);
}
END_TEST

/*
 * A whole discovery, as cache.c walks it: each step's decision asks for
 * the next fact until the end, and the same facts always give the same
 * end whatever was asked on the way (the decision is a function).
 */
START_TEST(test_walk)
{
    struct sts_discovery_facts f = {.now = NOW, CACHED("a1", 86400), TXT("a2")};
    struct sts_discovery_decision d;
    const char *steps[4];
    int n = 0;
    for (;;) {
        sts_discovery_decide(&f, NULL, &d);
        steps[n++] = sts_discovery_action_name(d.action);
        if (d.action == STS_DISCOVERY_CHECK_BACKOFF)
            f.backoff_checked = true; /* the store has no back-off row */
        else if (d.action == STS_DISCOVERY_FETCH)
            f.fetched = true, f.fetch = STS_FETCH_OK, f.parsed = true, f.max_age = 3600;
        else
            break;
        ck_assert_msg(n < 4, "the walk does not end");
    }
    ck_assert_msg(n == 3 && strcmp(steps[0], "check-backoff") == 0 &&
                      strcmp(steps[1], "fetch") == 0 && strcmp(steps[2], "update") == 0,
                  "got %d steps ending in %s, want check-backoff, fetch, update", n, steps[n - 1]);
    ck_assert_int_eq(d.expires_at, NOW + 3600);
}
END_TEST

START_TEST(test_null)
{
    struct sts_discovery_decision d;
    sts_discovery_decide(NULL, NULL, &d);
    ck_assert_msg(d.action == STS_DISCOVERY_TEMPFAIL && d.writes == 0,
                  "no facts: got %s, want tempfail without writes",
                  sts_discovery_action_name(d.action));
    ck_assert_str_eq(sts_discovery_action_name((enum sts_discovery_action)99), "unknown");
}
END_TEST

static Suite *discovery_suite(void)
{
    Suite *s = suite_create("discovery");
    TCase *tc = tcase_create("discovery");
    tcase_add_loop_test(tc, test_decide, 0, NCASES(cases));
    tcase_add_test(tc, test_walk);
    tcase_add_test(tc, test_null);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(discovery_suite());
}
