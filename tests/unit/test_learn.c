/*
 * test_learn.c - unit tests of learned forced TLS (issue 13 item 4,
 * LearnTLS / LearnPeriod), on a test clock: every step names its own
 * "now", so a 30-day period runs in microseconds.
 *
 * Guards the rules of learn.h: a domain is learned only after every MX
 * host passed verified TLS continuously for LearnPeriod; a failure before
 * that forgets the streak, a failure after it is counted and the domain
 * stays learned (the downgrade LearnTLS exists to catch); a whole period
 * without a verified observation forgets it; DANE passes, unreachable and
 * pending hosts neither pass nor fail; last_ok is written at most once
 * per sts_learn_touch_s().
 *
 * Table-driven: each row is a script of observations, one TAP test point;
 * a failure reads "case NAME step K: got X, want Y".
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mtasts/learn.h"
#include "unit_main.h"

#define DAY 86400
#define PERIOD (30 * DAY)
#define T0 1800000000 /* an arbitrary start, 2027-01-15 */
#define STEPS_MAX 8

struct step {
    int64_t at;                 /* seconds after T0 */
    enum sts_learn_obs obs;     /* the observation at that time */
    enum sts_learn_change want; /* what the store must do */
    bool learned_after;         /* sts_learn_is_learned() right after */
};

struct script {
    const char *name;
    size_t n;
    struct step steps[STEPS_MAX];
};

#define P STS_LEARN_OBS_PASS
#define F STS_LEARN_OBS_FAIL
#define U STS_LEARN_OBS_UNKNOWN
#define KEEP STS_LEARN_KEEP
#define WRITE STS_LEARN_WRITE
#define FORGET STS_LEARN_FORGET

static const struct script scripts[] = {
    {"first_pass_starts", 1, {{0, P, WRITE, false}}},
    {"unknown_alone_nothing", 1, {{0, U, KEEP, false}}},
    {"fail_alone_nothing", 1, {{0, F, KEEP, false}}},
    {"learned_after_period",
     4,
     {{0, P, WRITE, false},
      {10 * DAY, P, WRITE, false},
      {PERIOD - 1, P, WRITE, false},
      {PERIOD, P, WRITE, true}}},
    {"one_pass_is_not_a_streak", 2, {{0, P, WRITE, false}, {PERIOD + 5, U, FORGET, false}}},
    {"passes_must_span_the_period",
     3,
     {{0, P, WRITE, false}, {20 * DAY, P, WRITE, false}, {PERIOD + 1, F, FORGET, false}}},
    {"fail_before_period_forgets",
     3,
     {{0, P, WRITE, false}, {20 * DAY, F, FORGET, false}, {PERIOD, P, WRITE, false}}},
    {"fail_after_learned_counts",
     4,
     {{0, P, WRITE, false},
      {PERIOD, P, WRITE, true},
      {PERIOD + DAY, F, WRITE, true},
      {PERIOD + 2 * DAY, F, WRITE, true}}},
    {"fail_after_period_without_pass_forgets",
     2,
     {{0, P, WRITE, false}, {PERIOD + 1, F, FORGET, false}}},
    {"stale_learned_forgotten",
     3,
     {{0, P, WRITE, false}, {PERIOD, P, WRITE, true}, {2 * PERIOD + 1, F, FORGET, false}}},
    {"stale_streak_restarts",
     3,
     {{0, P, WRITE, false}, {PERIOD + 1, P, WRITE, false}, {2 * PERIOD, P, WRITE, false}}},
    {"stale_then_unknown_forgets", 2, {{0, P, WRITE, false}, {PERIOD + 2, U, FORGET, false}}},
    {"touch_granularity",
     4,
     {{0, P, WRITE, false},
      {3599, P, KEEP, false},
      {3600, P, WRITE, false},
      {3601, P, KEEP, false}}},
    {"unknown_keeps_learned",
     3,
     {{0, P, WRITE, false}, {PERIOD, P, WRITE, true}, {PERIOD + 10, U, KEEP, true}}},
    {"pass_after_downgrade_stays_learned",
     4,
     {{0, P, WRITE, false},
      {PERIOD, P, WRITE, true},
      {PERIOD + 1, F, WRITE, true},
      {PERIOD + 2 * 3600, P, WRITE, true}}},
};

START_TEST(test_script)
{
    const struct script *sc = &scripts[_i];
    struct sts_learn_state s = {0};
    for (size_t k = 0; k < sc->n; k++) {
        const struct step *st = &sc->steps[k];
        enum sts_learn_change got = sts_learn_observe(&s, st->obs, T0 + st->at, PERIOD);
        ck_assert_msg(got == st->want, "case %s step %zu: got change %d, want %d", sc->name, k, got,
                      st->want);
        bool learned = sts_learn_is_learned(&s, T0 + st->at, PERIOD);
        ck_assert_msg(learned == st->learned_after, "case %s step %zu: got learned %d, want %d",
                      sc->name, k, learned, st->learned_after);
        if (got == FORGET)
            ck_assert_msg(!s.present, "case %s step %zu: got a state after FORGET", sc->name, k);
    }
}
END_TEST

/* A failure while learned is counted, with its time (for mtasts cache show). */
START_TEST(test_fail_recorded)
{
    struct sts_learn_state s = {0};
    sts_learn_observe(&s, P, T0, PERIOD);
    sts_learn_observe(&s, P, T0 + PERIOD, PERIOD);
    ck_assert_msg(s.learned_at == T0 + PERIOD, "got learned_at %lld, want %lld",
                  (long long)s.learned_at, (long long)(T0 + PERIOD));
    sts_learn_observe(&s, F, T0 + PERIOD + 7, PERIOD);
    sts_learn_observe(&s, F, T0 + PERIOD + 9, PERIOD);
    ck_assert_msg(s.fails == 2 && s.last_fail == T0 + PERIOD + 9,
                  "got fails %u last_fail %lld, want 2 and %lld", s.fails, (long long)s.last_fail,
                  (long long)(T0 + PERIOD + 9));
    ck_assert_msg(s.since == T0, "got since %lld, want %lld", (long long)s.since, (long long)T0);
}
END_TEST

struct classify_case {
    const char *name;
    size_t n;
    const char *mx[3];
    struct sts_tls_verdict tls[3];
    enum sts_learn_obs want;
};

#define PASS_V                                                                                     \
    {                                                                                              \
        .known = true, .result = STS_TLS_PASS                                                      \
    }
#define DANE_V                                                                                     \
    {                                                                                              \
        .known = true, .result = STS_TLS_PASS, .dane = true                                        \
    }
#define CERT_V                                                                                     \
    {                                                                                              \
        .known = true, .result = STS_TLS_CERT_HOST_MISMATCH                                        \
    }
#define NOTLS_V                                                                                    \
    {                                                                                              \
        .known = true, .result = STS_TLS_STARTTLS_NOT_SUPPORTED                                    \
    }
#define UNREACH_V                                                                                  \
    {                                                                                              \
        .known = true, .result = STS_TLS_UNREACHABLE                                               \
    }
#define PENDING_V                                                                                  \
    {                                                                                              \
        .known = false                                                                             \
    }

static const struct classify_case classify_cases[] = {
    {"all_pass", 2, {"a.test", "b.test"}, {PASS_V, PASS_V}, P},
    {"one_pending", 2, {"a.test", "b.test"}, {PASS_V, PENDING_V}, U},
    {"one_unreachable", 2, {"a.test", "b.test"}, {PASS_V, UNREACH_V}, U},
    {"one_cert_fail", 2, {"a.test", "b.test"}, {PASS_V, CERT_V}, F},
    {"no_starttls", 1, {"a.test"}, {NOTLS_V}, F},
    {"fail_beats_pending", 2, {"a.test", "b.test"}, {PENDING_V, NOTLS_V}, F},
    {"dane_pass_is_not_learning", 1, {"a.test"}, {DANE_V}, U},
    {"null_mx_skipped", 2, {"a.test", ""}, {PASS_V, PENDING_V}, P},
    {"only_null_mx", 1, {"."}, {PENDING_V}, U},
    {"none", 0, {NULL}, {PENDING_V}, U},
};

START_TEST(test_classify)
{
    const struct classify_case *c = &classify_cases[_i];
    enum sts_learn_obs got = sts_learn_classify(c->mx, c->tls, c->n);
    ck_assert_msg(got == c->want, "case %s: got %d, want %d", c->name, got, c->want);
}
END_TEST

START_TEST(test_names_and_touch)
{
    ck_assert_str_eq(sts_learn_mode_name(STS_LEARN_OFF), "off");
    ck_assert_str_eq(sts_learn_mode_name(STS_LEARN_AUDIT), "audit");
    ck_assert_str_eq(sts_learn_mode_name(STS_LEARN_ENFORCE), "enforce");
    ck_assert_msg(sts_learn_touch_s(PERIOD) == 3600, "got %lld",
                  (long long)sts_learn_touch_s(PERIOD));
    ck_assert_msg(sts_learn_touch_s(60) == 2, "got %lld", (long long)sts_learn_touch_s(60));
    ck_assert_msg(sts_learn_touch_s(10) == 1, "got %lld", (long long)sts_learn_touch_s(10));
    ck_assert(!sts_learn_is_learned(NULL, T0, PERIOD));
    ck_assert(sts_learn_observe(NULL, P, T0, PERIOD) == KEEP);
}
END_TEST

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *learn_suite(void)
{
    Suite *s = suite_create("learn");
    TCase *tc = tcase_create("learn");
    tcase_add_loop_test(tc, test_script, 0, NCASES(scripts));
    tcase_add_test(tc, test_fail_recorded);
    tcase_add_loop_test(tc, test_classify, 0, NCASES(classify_cases));
    tcase_add_test(tc, test_names_and_touch);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(learn_suite());
}
