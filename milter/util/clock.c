/*
 * clock.c - monotonic and wall clocks, deadlines, monotonic condition
 * variables (see clock.h).  The only file of the tree that calls
 * clock_gettime() for the daemon's waits.
 */
#include "mtasts/clock.h"

#include <errno.h>
#include <time.h>

static struct timespec read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts;
}

int64_t sts_clock_mono_ms(void)
{
    struct timespec ts = read_clock(CLOCK_MONOTONIC);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sts_clock_mono_us(void)
{
    struct timespec ts = read_clock(CLOCK_MONOTONIC);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double sts_clock_mono_msf(void)
{
    struct timespec ts = read_clock(CLOCK_MONOTONIC);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int64_t sts_clock_wall_s(void)
{
    return (int64_t)read_clock(CLOCK_REALTIME).tv_sec;
}

int64_t sts_clock_wall_ms(void)
{
    struct timespec ts = read_clock(CLOCK_REALTIME);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sts_clock_now_s(const struct sts_clock *c)
{
    return c != NULL && c->fn != NULL ? c->fn(c->arg) : sts_clock_wall_s();
}

int64_t sts_clock_now_ms(const struct sts_clock *c)
{
    return c != NULL && c->fn != NULL ? c->fn(c->arg) : sts_clock_mono_ms();
}

struct sts_deadline sts_deadline_in(unsigned ms)
{
    return (struct sts_deadline){sts_clock_mono_us() + (int64_t)ms * 1000};
}

unsigned sts_deadline_left_ms(struct sts_deadline d)
{
    int64_t left = (d.at_us - sts_clock_mono_us()) / 1000;
    if (left <= 0)
        return 0;
    return left > (int64_t)UINT32_MAX ? UINT32_MAX : (unsigned)left;
}

bool sts_deadline_expired(struct sts_deadline d)
{
    return sts_clock_mono_us() >= d.at_us;
}

int sts_cond_init_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    int rc = pthread_condattr_init(&a);
    if (rc != 0)
        return rc;
    rc = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
    return rc;
}

int sts_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, struct sts_deadline d)
{
    struct timespec ts = {.tv_sec = (time_t)(d.at_us / 1000000),
                          .tv_nsec = (long)(d.at_us % 1000000) * 1000L};
    if (d.at_us < 0)
        ts = (struct timespec){0, 0};
    int rc = pthread_cond_timedwait(cv, mu, &ts);
    return rc == ETIMEDOUT ? ETIMEDOUT : 0;
}
