/*
 * tap.h - the one TAP emitter of the C test programs that do not use Check
 * (the world drivers tests/world/test_*.c; the unit tests use Check through
 * tests/unit/unit_main.h).  The shell tests' counterpart is
 * tests/lib/common.sh.
 *
 *   #include "../lib/tap.h"
 *   ok(got == want, "what (got %d, want %d)", got, want);
 *   ...
 *   return done_testing();
 *
 * Every function writes one or more whole lines to stdout and flushes it,
 * so the TAP stream interleaves correctly with the lines of child
 * processes and of other threads' diag().  The counters are plain ints:
 * call ok()/skip() from one thread at a time (diag() may be called from
 * any thread).  The plan comes last (done_testing()), unless plan() gave it.
 * No state is allocated; everything is static to the including file.
 */
#ifndef MTASTS_TESTS_LIB_TAP_H
#define MTASTS_TESTS_LIB_TAP_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int tap_n;        /* test points so far */
static int tap_failed;   /* of which failed */
static bool tap_planned; /* plan() printed the plan */

/** Print the plan "1..N" up front (else done_testing() prints it last). */
static inline void plan(int n)
{
    printf("1..%d\n", n);
    fflush(stdout);
    tap_planned = true;
}

static inline bool vok_(bool cond, const char *fmt, va_list ap)
{
    printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
    if (!cond)
        tap_failed++;
    return cond;
}

/**
 * One test point.
 * @param cond true: "ok N - ...", false: "not ok N - ..."
 * @param fmt  printf format of the description (say "got X, want Y")
 * @return cond, so that a caller may stop a scenario that cannot go on
 */
static bool ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3), unused));
static bool ok(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool r = vok_(cond, fmt, ap);
    va_end(ap);
    return r;
}

/**
 * A test point comparing two strings: the description gets
 * "(got "GOT", want "WANT")" when they differ.  NULL is shown as (null).
 * @return whether they are equal (both NULL counts as equal)
 */
static bool ok_str(const char *got, const char *want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), unused));
static bool ok_str(const char *got, const char *want, const char *fmt, ...)
{
    bool same = (got == NULL || want == NULL) ? got == want : strcmp(got, want) == 0;
    va_list ap;
    va_start(ap, fmt);
    printf("%s %d - ", same ? "ok" : "not ok", ++tap_n);
    vprintf(fmt, ap);
    va_end(ap);
    if (!same)
        printf(" (got \"%s\", want \"%s\")", got ? got : "(null)", want ? want : "(null)");
    putchar('\n');
    fflush(stdout);
    if (!same)
        tap_failed++;
    return same;
}

/** A test point comparing two integers, "(got G, want W)" when they differ. */
static bool ok_long(long long got, long long want, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), unused));
static bool ok_long(long long got, long long want, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s %d - ", got == want ? "ok" : "not ok", ++tap_n);
    vprintf(fmt, ap);
    va_end(ap);
    if (got != want)
        printf(" (got %lld, want %lld)", got, want);
    putchar('\n');
    fflush(stdout);
    if (got != want)
        tap_failed++;
    return got == want;
}

/** A comment line "# ..." (any thread). */
static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2), unused));
static void diag(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    printf("# %s\n", line); /* one call: one line, even between threads */
    fflush(stdout);
}

/** n points skipped without a description: "ok N # SKIP why". */
static inline void skip(int n, const char *why)
{
    for (int i = 0; i < n; i++)
        printf("ok %d # SKIP %s\n", ++tap_n, why);
    fflush(stdout);
}

/** One point skipped with a description: "ok N - ... # SKIP why". */
static void skip_point(const char *why, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), unused));
static void skip_point(const char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("ok %d - ", ++tap_n);
    vprintf(fmt, ap);
    va_end(ap);
    printf(" # SKIP %s\n", why);
    fflush(stdout);
}

/** "Bail out! ..." and exit 99 (the harness's "hard error"). */
static void bail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn, unused));
static void bail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("Bail out! ");
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    fflush(stdout);
    exit(99);
}

/**
 * The end: the plan (unless plan() printed it).
 * @return the exit status for main(): 0 if every point passed, else 1
 */
static inline int done_testing(void)
{
    if (!tap_planned)
        printf("1..%d\n", tap_n);
    fflush(stdout);
    return tap_failed ? 1 : 0;
}

/** Milliseconds on the monotonic clock. */
static inline long long tap_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/** Sleep ms milliseconds (the poll step of WAIT_UNTIL, or a pace on purpose). */
static inline void tap_sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/*
 * WAIT_UNTIL(ms, cond): evaluate cond every 20 ms until it is true or ms
 * milliseconds have passed: the way a test waits for something to happen
 * (never a fixed sleep).  Check cond again afterwards for the verdict.
 */
#define WAIT_UNTIL(ms, cond)                                                                       \
    do {                                                                                           \
        long long tap_end_ = tap_now_ms() + (ms);                                                  \
        while (!(cond) && tap_now_ms() < tap_end_)                                                 \
            tap_sleep_ms(20);                                                                      \
    } while (0)

#endif
