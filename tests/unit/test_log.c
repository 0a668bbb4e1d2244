/*
 * test_log.c - unit tests of the log sink type (log.h) and the clock
 * helpers (clock.h) that every module now shares.
 *
 * Guards the architecture review's "one logging path" (change 2): a
 * module's line reaches its sink only when the sink has a function and
 * the priority passes the sink's threshold (and, for the process output,
 * the process level set on reload), with syslog's priorities; a long
 * line is cut, never overrun.  And the deadline rules every network wait
 * relies on (house rule: every wait has a deadline): a zero budget is
 * already spent, time left never goes negative, a timed wait on a
 * monotonic condition variable ends at its deadline, and an injected
 * test clock replaces the real one.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "mtasts/clock.h"
#include "mtasts/log.h"
#include "unit_main.h"

static int calls;
static int last_prio;
static char last_line[STS_LOG_LINE_MAX + 16];

static void capture(void *arg, int prio, const char *line)
{
    (void)arg;
    calls++;
    last_prio = prio;
    snprintf(last_line, sizeof(last_line), "%s", line);
}

START_TEST(sink_filters_before_formatting)
{
    static const struct {
        bool has_fn;
        int max_prio; /* the sink's own threshold, 0 = none */
        int prio;
        bool want;
    } rows[] = {
        {false, 0, LOG_ERR, false},         {true, 0, LOG_DEBUG, true},
        {true, LOG_INFO, LOG_DEBUG, false}, {true, LOG_INFO, LOG_INFO, true},
        {true, LOG_WARNING, LOG_ERR, true}, {true, LOG_WARNING, LOG_NOTICE, false},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct sts_log_sink s = {rows[i].has_fn ? capture : NULL, NULL, rows[i].max_prio};
        calls = 0;
        ck_assert_msg(sts_log_enabled(&s, rows[i].prio) == rows[i].want, "row %zu: got %d", i,
                      !rows[i].want);
        sts_log_to(&s, rows[i].prio, "probe host=%s n=%d", "mx.example", (int)i);
        ck_assert_msg(calls == (rows[i].want ? 1 : 0), "row %zu: %d calls", i, calls);
        if (rows[i].want) {
            char want[64];
            snprintf(want, sizeof(want), "probe host=mx.example n=%d", (int)i);
            ck_assert_str_eq(last_line, want);
            ck_assert_int_eq(last_prio, rows[i].prio);
        }
    }
    ck_assert(!sts_log_enabled(NULL, LOG_EMERG));
    sts_log_to(NULL, LOG_ERR, "nothing %d", 1); /* a NULL sink is silent */
}
END_TEST

START_TEST(process_sink_follows_the_level)
{
    struct sts_log_sink s = {sts_log_line, NULL, 0};
    sts_log_set_level(LOG_WARNING);
    ck_assert(sts_log_enabled(&s, LOG_ERR));
    ck_assert(sts_log_enabled(&s, LOG_WARNING));
    ck_assert(!sts_log_enabled(&s, LOG_INFO));
    sts_log_set_level(LOG_DEBUG);
    ck_assert(sts_log_enabled(&s, LOG_DEBUG));
    /* a callback of its own does not follow the process level */
    sts_log_set_level(LOG_ERR);
    struct sts_log_sink own = {capture, NULL, 0};
    ck_assert(sts_log_enabled(&own, LOG_DEBUG));
    sts_log_set_level(LOG_INFO);
}
END_TEST

START_TEST(long_line_is_cut)
{
    static char big[STS_LOG_LINE_MAX * 2];
    memset(big, 'x', sizeof(big) - 1);
    struct sts_log_sink s = {capture, NULL, 0};
    calls = 0;
    sts_log_to(&s, LOG_INFO, "detail=%s", big);
    ck_assert_int_eq(calls, 1);
    ck_assert_uint_eq(strlen(last_line), STS_LOG_LINE_MAX - 1);
    ck_assert(strncmp(last_line, "detail=xxx", 10) == 0);
}
END_TEST

START_TEST(deadlines)
{
    ck_assert(sts_deadline_expired(sts_deadline_in(0)));
    ck_assert_uint_eq(sts_deadline_left_ms(sts_deadline_in(0)), 0);
    struct sts_deadline d = sts_deadline_in(60000);
    unsigned left = sts_deadline_left_ms(d);
    ck_assert_msg(left > 59000 && left <= 60000, "got %u ms left of 60000", left);
    ck_assert(!sts_deadline_expired(d));
    struct sts_deadline past = {sts_clock_mono_us() - 5000000};
    ck_assert_uint_eq(sts_deadline_left_ms(past), 0); /* never negative */
    ck_assert(sts_deadline_expired(past));
    int64_t a = sts_clock_mono_ms(), b = sts_clock_mono_ms();
    ck_assert(b >= a);
    ck_assert(sts_clock_mono_us() / 1000 >= a);
    int64_t wall = sts_clock_wall_s();
    ck_assert(wall > 1700000000); /* after 2023 */
    ck_assert(sts_clock_wall_ms() / 1000 >= wall);
}
END_TEST

START_TEST(timed_wait_ends_at_its_deadline)
{
    pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t cv;
    ck_assert_int_eq(sts_cond_init_monotonic(&cv), 0);
    int64_t t0 = sts_clock_mono_ms();
    struct sts_deadline d = sts_deadline_in(40);
    pthread_mutex_lock(&mu);
    int rc = 0;
    while (rc == 0)
        rc = sts_cond_wait_until(&cv, &mu, d);
    pthread_mutex_unlock(&mu);
    int64_t ms = sts_clock_mono_ms() - t0;
    ck_assert_int_eq(rc, ETIMEDOUT);
    ck_assert_msg(ms >= 39 && ms < 2000, "waited %lld ms for a 40 ms deadline", (long long)ms);
    ck_assert(sts_deadline_expired(d));
    pthread_cond_destroy(&cv);
}
END_TEST

static int64_t fixed(void *arg)
{
    return *(int64_t *)arg;
}

START_TEST(injected_clock)
{
    int64_t t = 1234;
    struct sts_clock c = {fixed, &t};
    ck_assert_int_eq(sts_clock_now_s(&c), 1234);
    ck_assert_int_eq(sts_clock_now_ms(&c), 1234);
    t = 99;
    ck_assert_int_eq(sts_clock_now_s(&c), 99);
    struct sts_clock real = {NULL, NULL};
    int64_t w = sts_clock_now_s(&real);
    ck_assert(w >= sts_clock_wall_s() - 1 && w <= sts_clock_wall_s());
    ck_assert(sts_clock_now_ms(NULL) <= sts_clock_mono_ms());
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log_clock");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, sink_filters_before_formatting);
    tcase_add_test(tc, process_sink_follows_the_level);
    tcase_add_test(tc, long_line_is_cut);
    tcase_add_test(tc, deadlines);
    tcase_add_test(tc, timed_wait_ends_at_its_deadline);
    tcase_add_test(tc, injected_clock);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(log_suite());
}
