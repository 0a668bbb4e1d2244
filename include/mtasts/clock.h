/*
 * clock.h - the one clock of the tree: monotonic time for deadlines and
 * durations, wall-clock Unix seconds for what is stored or logged, a
 * deadline type, condition variables that wait on the monotonic clock,
 * and a clock a test can replace.
 *
 * Why one module: every wait in the daemon has a deadline (house rule),
 * and each module used to carry its own clock_gettime() helper, its own
 * "deadline after N ms" and its own CLOCK_MONOTONIC condition variable
 * set-up.  They now live here once.
 *
 * Clocks: "mono" is CLOCK_MONOTONIC (never jumps: use it for deadlines,
 * timeouts and durations); "wall" is CLOCK_REALTIME (Unix time: use it
 * for expiry dates kept in the store and for log stamps).
 *
 * Deadlines: a struct sts_deadline is an absolute CLOCK_MONOTONIC instant
 * (microseconds), so one deadline can be handed down through several
 * waits and each takes only what is left.
 *
 * Thread rules: every function is thread-safe and lock-free; none takes
 * a lock except sts_cond_wait_until(), which is pthread_cond_timedwait()
 * on the caller's mutex.  A condition variable given to
 * sts_cond_wait_until() must have been made by sts_cond_init_monotonic().
 *
 * Ownership: nothing is allocated.
 */
#ifndef MTASTS_CLOCK_H
#define MTASTS_CLOCK_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/** Monotonic time in milliseconds (CLOCK_MONOTONIC; the origin is arbitrary). */
int64_t sts_clock_mono_ms(void);

/** Monotonic time in microseconds. */
int64_t sts_clock_mono_us(void);

/** Monotonic time in milliseconds with a fraction, for durations in log lines. */
double sts_clock_mono_msf(void);

/** Wall-clock time: Unix seconds (CLOCK_REALTIME). */
int64_t sts_clock_wall_s(void);

/** Wall-clock time: Unix milliseconds (log stamps). */
int64_t sts_clock_wall_ms(void);

/**
 * A clock a test may replace: the caches' configurations carry a function
 * pointer and its argument ("now"/"clock"/"now_ms"); NULL means the real
 * clock.  The unit (seconds or milliseconds) is the caller's contract.
 */
typedef int64_t sts_clock_fn(void *arg);

struct sts_clock {
    sts_clock_fn *fn; /* NULL = the real clock of the reader below */
    void *arg;
};

/**
 * Unix seconds from an injectable clock.
 * @param c the clock; NULL, or fn NULL, reads sts_clock_wall_s()
 * @return c->fn(c->arg), or the wall clock
 */
int64_t sts_clock_now_s(const struct sts_clock *c);

/**
 * Monotonic milliseconds from an injectable clock.
 * @param c the clock; NULL, or fn NULL, reads sts_clock_mono_ms()
 * @return c->fn(c->arg), or the monotonic clock
 */
int64_t sts_clock_now_ms(const struct sts_clock *c);

/** An absolute instant on CLOCK_MONOTONIC. */
struct sts_deadline {
    int64_t at_us; /* sts_clock_mono_us() value at which it expires */
};

/**
 * The deadline ms milliseconds from now.
 * @param ms the budget (0: already expired)
 * @return the deadline
 */
struct sts_deadline sts_deadline_in(unsigned ms);

/**
 * Whole milliseconds left before the deadline (rounded down).
 * @param d the deadline
 * @return 0 when expired (or less than a millisecond is left), else the
 *         milliseconds left, capped at UINT32_MAX
 */
unsigned sts_deadline_left_ms(struct sts_deadline d);

/**
 * Has the deadline passed?
 * @param d the deadline
 * @return true when now >= d
 */
bool sts_deadline_expired(struct sts_deadline d);

/**
 * Initialise a condition variable whose timed waits run on CLOCK_MONOTONIC
 * (a wall-clock jump neither shortens nor stretches a wait).  Destroy it
 * with pthread_cond_destroy().
 * @param cv the condition variable
 * @return 0, or the pthread error code
 */
int sts_cond_init_monotonic(pthread_cond_t *cv);

/**
 * pthread_cond_timedwait() until a deadline.  The caller holds mu and, as
 * with any condition wait, re-checks its predicate after the call.
 * @param cv a condition variable made by sts_cond_init_monotonic()
 * @param mu the mutex the caller holds
 * @param d  the deadline
 * @return 0 when woken (or spuriously), ETIMEDOUT once the deadline passed
 */
int sts_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, struct sts_deadline d);

#endif
