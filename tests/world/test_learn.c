/*
 * test_learn.c - learned forced TLS (issue 13 item 4; LearnTLS,
 * LearnPeriod) through the real engine and RCPT judge, against the test
 * world's real MX hosts, on a test clock (sts_engine_set_clock()): a
 * 30-day LearnPeriod passes in a few calls.  Prints TAP.
 *
 * Guards learn.h: a domain without MTA-STS whose MX host passes verified
 * TLS is learned only once its passes span LearnPeriod (reason
 * learned-tls-match after that, no-policy before); the learned state is
 * in the store and survives an engine restart; a learned domain whose MX
 * no longer offers STARTTLS is learned-tls-downgrade, tempfailed (451
 * 4.7.5) under LearnTLS enforce with Mode enforce, only reported under
 * LearnTLS audit; LearnTLS off neither probes nor learns.
 *
 * Driven by tests/world/learn.sh, after it removed the _mta-sts TXT of
 * mxgood.test and mxnotls.test:
 *   argv[1] the DNS forwarder (ADDR@PORT), argv[2] the CA of the MX
 *   certificates, argv[3] the scratch directory (store: learn.db).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/tap.h"
#include "mtasts/config.h"
#include "mtasts/engine.h"
#include "mtasts/judge.h"
#include "mtasts/learn.h"
#include "mtasts/store.h"

#define DAY 86400
static _Atomic int64_t fake_now = 1800000000;
static const char *fwd, *ca_file, *scratch;

static int64_t clock_fn(void *arg)
{
    (void)arg;
    return atomic_load(&fake_now);
}

static struct sts_engine *open_engine(const char *learn)
{
    char err[512], text[2048];
    int len = snprintf(text, sizeof(text),
                       "Resolver %s\nCAFile %s\nStore sqlite:%s/learn.db\nAllowPrivateTargets yes\n"
                       "DNSTimeout 2s\nFetchConnectTimeout 2s\nFetchTimeout 5s\n"
                       "NegativeCacheTTL 600\nMode enforce\nLookupDeadline 5s\n"
                       "ProbeTimeout 5s\nHeloName learn.test\nLearnTLS %s\nLearnPeriod 30d\n",
                       fwd, ca_file, scratch, learn);
    struct sts_config *cfg;
    if (sts_config_parse(text, (size_t)len, "test_learn", &cfg, err, sizeof(err)) != STS_OK) {
        printf("Bail out! config: %s\n", err);
        exit(1);
    }
    struct sts_engine *e;
    if (sts_engine_new(cfg, NULL, STS_ENGINE_ONE_SHOT, &e, err, sizeof(err)) != STS_OK) {
        printf("Bail out! engine: %s\n", err);
        exit(1);
    }
    struct sts_clock c = {.fn = clock_fn};
    sts_engine_set_clock(e, &c);
    return e;
}

/* Judge one recipient of domain, as Postfix's smtp transport would send it. */
static void judge(struct sts_engine *e, const char *domain, struct sts_judgement *j)
{
    char rcpt[300];
    snprintf(rcpt, sizeof(rcpt), "<user@%s>", domain);
    struct sts_snapshot snap;
    sts_engine_acquire(e, &snap);
    sts_judge_rcpt(e, &snap, rcpt, "smtp", domain, j);
    printf("# %s: action=%s reason=%s would_fail=%d tls=%s\n", domain,
           sts_action_name(j->verdict.action), sts_verdict_reason_name(j->verdict.reason),
           j->verdict.would_fail, j->tls[0] ? j->tls : "-");
    sts_snapshot_release(&snap);
}

/* Judge until the MX probe result is known (probes for learning are not waited for). */
static void judge_known(struct sts_engine *e, const char *domain, struct sts_judgement *j)
{
    for (int i = 0; i < 100; i++) {
        judge(e, domain, j);
        if (j->tls[0] != '\0' && strstr(j->tls, "[pending]") == NULL)
            return;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static struct sts_learn_state stored(struct sts_engine *e, const char *domain)
{
    struct sts_learn_state s;
    char err[256];
    sts_store_learn_get(sts_engine_store(e), domain, &s, err, sizeof(err));
    return s;
}

static bool reason_is(const struct sts_judgement *j, enum sts_verdict_reason r)
{
    return j->verdict.reason == r;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        printf("Bail out! usage: test_learn FORWARDER CAFILE SCRATCH\n");
        return 1;
    }
    fwd = argv[1];
    ca_file = argv[2];
    scratch = argv[3];
    struct sts_judgement j;
    const int64_t t0 = atomic_load(&fake_now);

    /* LearnTLS off: no probe, nothing stored */
    struct sts_engine *e = open_engine("off");
    judge(e, "mxgood.test", &j);
    ok(reason_is(&j, STS_REASON_NO_POLICY) && j.tls[0] == '\0',
       "off: mxgood.test no-policy, not probed (got %s, tls \"%s\")",
       sts_verdict_reason_name(j.verdict.reason), j.tls);
    ok(!stored(e, "mxgood.test").present, "off: nothing stored");
    sts_engine_free(e);

    /* enforce: the first verified pass starts the streak, nothing required yet */
    e = open_engine("enforce");
    judge_known(e, "mxgood.test", &j);
    ok(strstr(j.tls, "mx1.mxgood.test[pass]") != NULL, "mxgood.test probed: pass (got \"%s\")",
       j.tls);
    ok(reason_is(&j, STS_REASON_NO_POLICY) && j.verdict.action == STS_ACTION_PASS,
       "not learned yet: no-policy, accept (got %s)", sts_verdict_reason_name(j.verdict.reason));
    struct sts_learn_state s = stored(e, "mxgood.test");
    ok(s.present && s.since == t0 && s.learned_at == 0,
       "streak stored: since=%lld (want %lld), learned_at=%lld (want 0)", (long long)s.since,
       (long long)t0, (long long)s.learned_at);

    /* 29 days later: still not learned */
    atomic_store(&fake_now, t0 + 29 * DAY);
    judge(e, "mxgood.test", &j);
    ok(reason_is(&j, STS_REASON_NO_POLICY), "day 29: still no-policy (got %s)",
       sts_verdict_reason_name(j.verdict.reason));
    /* day 30: this pass completes the period */
    atomic_store(&fake_now, t0 + 30 * DAY);
    judge(e, "mxgood.test", &j);
    s = stored(e, "mxgood.test");
    ok(s.learned_at == t0 + 30 * DAY, "day 30: learned_at=%lld, want %lld", (long long)s.learned_at,
       (long long)(t0 + 30 * DAY));
    atomic_store(&fake_now, t0 + 30 * DAY + 60);
    judge(e, "mxgood.test", &j);
    ok(reason_is(&j, STS_REASON_LEARNED_MATCH) && j.verdict.action == STS_ACTION_PASS,
       "learned: learned-tls-match, accept (got %s %s)", sts_verdict_reason_name(j.verdict.reason),
       sts_action_name(j.verdict.action));
    sts_engine_free(e);

    /* a restart: the state is read back from the store */
    e = open_engine("enforce");
    judge_known(e, "mxgood.test", &j);
    ok(reason_is(&j, STS_REASON_LEARNED_MATCH), "after a restart: learned-tls-match (got %s)",
       sts_verdict_reason_name(j.verdict.reason));
    /* delivery agrees with acceptance: the socketmap asks for verified TLS */
    char ans[512];
    struct sts_policy_map_options mo = {0};
    sts_judge_map_key(e, &mo, 5000, "postfix mxgood.test", strlen("postfix mxgood.test"), ans,
                      sizeof(ans), NULL);
    ok(strcmp(ans, "OK verify match=hostname") == 0,
       "LearnTLS enforce: the socketmap answers a learned domain \"OK verify match=hostname\" "
       "(got \"%s\")",
       ans);
    sts_judge_map_key(e, &mo, 5000, "postfix mxnotls.test", strlen("postfix mxnotls.test"), ans,
                      sizeof(ans), NULL);
    ok(strcmp(ans, "NOTFOUND ") == 0, "a domain not learned yet: NOTFOUND (got \"%s\")", ans);

    /* a learned domain whose MX lost STARTTLS: the downgrade */
    char err[256];
    struct sts_learn_state was = {
        .present = true, .since = t0, .last_ok = t0 + 30 * DAY, .learned_at = t0 + 30 * DAY};
    ok(sts_store_learn_put(sts_engine_store(e), "mxnotls.test", &was, err, sizeof(err)) == STS_OK,
       "mxnotls.test seeded as learned");
    judge_known(e, "mxnotls.test", &j);
    ok(reason_is(&j, STS_REASON_LEARNED_DOWNGRADE) && j.verdict.action == STS_ACTION_TEMPFAIL,
       "enforce: learned-tls-downgrade, tempfail (got %s %s)",
       sts_verdict_reason_name(j.verdict.reason), sts_action_name(j.verdict.action));
    ok(strcmp(j.verdict.reply.code, "451") == 0 && strcmp(j.verdict.reply.xcode, "4.7.5") == 0,
       "enforce: reply 451 4.7.5 (got %s %s)", j.verdict.reply.code, j.verdict.reply.xcode);
    s = stored(e, "mxnotls.test");
    ok(s.present && s.fails >= 1 && s.last_fail == t0 + 30 * DAY + 60,
       "the failure is counted: fails=%u last_fail=%lld", s.fails, (long long)s.last_fail);
    sts_engine_free(e);

    e = open_engine("audit");
    judge_known(e, "mxnotls.test", &j);
    ok(reason_is(&j, STS_REASON_LEARNED_DOWNGRADE) && j.verdict.action == STS_ACTION_PASS &&
           j.verdict.would_fail,
       "audit: learned-tls-downgrade reported, accepted (got %s %s would_fail=%d)",
       sts_verdict_reason_name(j.verdict.reason), sts_action_name(j.verdict.action),
       j.verdict.would_fail);
    sts_judge_map_key(e, &(struct sts_policy_map_options){0}, 5000, "postfix mxgood.test",
                      strlen("postfix mxgood.test"), ans, sizeof(ans), NULL);
    ok(strcmp(ans, "NOTFOUND ") == 0,
       "LearnTLS audit: the socketmap enforces nothing for a learned domain (got \"%s\")", ans);
    /* a domain with an MTA-STS policy is never learned */
    judge_known(e, "mxwild.test", &j);
    ok(!stored(e, "mxwild.test").present, "mxwild.test (MTA-STS enforce): not learned");
    sts_engine_free(e);
    return done_testing();
}
