/*
 * test_tlsrpt_schedule.c - unit tests of the TLS report send schedule.
 *
 * Guards RFC 8460 §5.5 (retry with back-off for up to 24 hours after the
 * first attempt): the exact delays 5, 10, 20, ... minutes capped at 4 h,
 * the last attempt cut to first_try + 24 h, none after; and the spread of
 * first send times (§4.1: deliver after some delay): inside the window,
 * the same for the same key, different keys spread over the window.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "mtasts/tlsrpt_schedule.h"
#include "unit_main.h"

#define MIN 60
#define HOUR 3600
#define T0 1785715200 /* 2026-08-03T00:00:00Z */

static const struct {
    const char *name;
    unsigned attempts;
    int64_t now; /* relative to T0 = first_try */
    bool want;
    int64_t want_next; /* relative to T0 */
} cases[] = {
    {"first_failure", 1, 0, true, 5 * MIN},
    {"zero_is_one", 0, 0, true, 5 * MIN},
    {"second", 2, 5 * MIN, true, 15 * MIN},
    {"third", 3, 15 * MIN, true, 35 * MIN},
    {"sixth_160min", 6, 5 * HOUR, true, 5 * HOUR + 160 * MIN},
    {"seventh_capped_4h", 7, 6 * HOUR, true, 10 * HOUR},
    {"huge_attempts_capped", 4000000000u, 1 * HOUR, true, 5 * HOUR},
    {"cut_to_24h", 9, 22 * HOUR, true, 24 * HOUR},
    {"last_second", 9, 24 * HOUR - 1, true, 24 * HOUR},
    {"at_24h_none", 10, 24 * HOUR, false, 0},
    {"after_24h_none", 2, 30 * HOUR, false, 0},
    {"clock_went_back", 1, -100, true, 5 * MIN},
};

START_TEST(test_next_try)
{
    int64_t next = -1;
    bool got = sts_tlsrpt_next_try(T0, cases[_i].attempts, T0 + cases[_i].now, &next);
    ck_assert_msg(got == cases[_i].want, "case %s: got %d, want %d", cases[_i].name, got,
                  cases[_i].want);
    if (got)
        ck_assert_msg(next == T0 + cases[_i].want_next, "case %s: got +%lld s, want +%lld s",
                      cases[_i].name, (long long)(next - T0), (long long)cases[_i].want_next);
}
END_TEST

/* Retrying at every due time gives the documented sequence, ends at 24 h. */
START_TEST(test_sequence)
{
    static const int64_t want_gaps[] = {5,   10,  20,  40,  80, 160,
                                        240, 240, 240, 240, 165}; /* minutes; the last cut */
    int64_t now = T0, next;
    unsigned attempts = 1;
    size_t i = 0;
    while (sts_tlsrpt_next_try(T0, attempts, now, &next)) {
        ck_assert_msg(i < sizeof(want_gaps) / sizeof(want_gaps[0]), "more than %zu retries", i);
        ck_assert_msg(next - now == want_gaps[i] * MIN, "retry %zu: got gap %lld s, want %lld min",
                      i + 1, (long long)(next - now), (long long)want_gaps[i]);
        now = next;
        attempts++;
        i++;
    }
    ck_assert_uint_eq(i, sizeof(want_gaps) / sizeof(want_gaps[0]));
    ck_assert_int_eq(now, T0 + 24 * HOUR);
}
END_TEST

START_TEST(test_spread)
{
    const uint32_t window = 4 * HOUR;
    unsigned buckets[8] = {0};
    char key[64];
    ck_assert_int_eq(sts_tlsrpt_spread("x", T0, 0), T0);
    ck_assert_int_eq(sts_tlsrpt_spread("a", T0, window), sts_tlsrpt_spread("a", T0, window));
    ck_assert(sts_tlsrpt_spread(NULL, T0, window) == sts_tlsrpt_spread("", T0, window));
    for (unsigned i = 0; i < 8000; i++) {
        snprintf(key, sizeof(key), "20260802.d%u.example.1@s.example mailto:r@d%u.example", i, i);
        int64_t t = sts_tlsrpt_spread(key, T0, window);
        ck_assert_msg(t >= T0 && t < T0 + window, "key %u: %lld outside the window", i,
                      (long long)(t - T0));
        buckets[(t - T0) * 8 / window]++;
    }
    /* 1000 expected per eighth of the window; allow +-20% */
    for (unsigned b = 0; b < 8; b++)
        ck_assert_msg(buckets[b] > 800 && buckets[b] < 1200, "bucket %u has %u of 8000", b,
                      buckets[b]);
}
END_TEST

static Suite *tlsrpt_schedule_suite(void)
{
    Suite *s = suite_create("tlsrpt_schedule");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_next_try, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    tcase_add_test(tc, test_sequence);
    tcase_add_test(tc, test_spread);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(tlsrpt_schedule_suite());
}
