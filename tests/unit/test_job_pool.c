/*
 * test_job_pool.c - unit tests of the worker pool (job_pool.h) that runs
 * the caches' discoveries and probes, the socketmap's lookups and the
 * CLI's prewarm.
 *
 * Guards the contracts those callers build on: every queued job runs
 * exactly once; a job in flight is not queued again (single flight:
 * concurrent misses of one domain or MX host share one discovery or one
 * probe, RFC 8461 §5 and RFC 7672 caching); beyond queue_max a job is
 * dropped and the caller told (the probe cache then reports "pending");
 * "done" is counted before finish() wakes the caller's waiters; wait-idle
 * keeps its timeout; stop drains (policy cache) or drops (probe cache,
 * socketmap) as configured; the refresher runs every interval and stop
 * wakes it at once (no shutdown waits out an interval).  No fixed sleeps:
 * blocking jobs wait on a gate the test opens.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtasts/clock.h"
#include "mtasts/job_pool.h"
#include "unit_main.h"

/* A gate jobs may block on until the test opens it. */
static pthread_mutex_t gmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gcond = PTHREAD_COND_INITIALIZER;
static bool gate_open;
static int at_gate; /* jobs blocked on it now */

static void gate_reset(void)
{
    pthread_mutex_lock(&gmu);
    gate_open = false;
    at_gate = 0;
    pthread_mutex_unlock(&gmu);
}

static void gate_pass(void)
{
    pthread_mutex_lock(&gmu);
    at_gate++;
    pthread_cond_broadcast(&gcond);
    while (!gate_open)
        pthread_cond_wait(&gcond, &gmu);
    at_gate--;
    pthread_mutex_unlock(&gmu);
}

static void gate_release(void)
{
    pthread_mutex_lock(&gmu);
    gate_open = true;
    pthread_cond_broadcast(&gcond);
    pthread_mutex_unlock(&gmu);
}

/* Wait until n jobs are blocked on the gate (5 s at most). */
static bool gate_wait_for(int n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    int rc = 0;
    pthread_mutex_lock(&gmu);
    while (at_gate < n && rc == 0)
        rc = pthread_cond_timedwait(&gcond, &gmu, &ts);
    bool ok = at_gate >= n;
    pthread_mutex_unlock(&gmu);
    return ok;
}

/* The caller's record: a cache entry with a job and a lock over inflight. */
struct item {
    struct sts_job job;
    bool block; /* run() waits at the gate */
    atomic_int runs, finishes, drops;
    uint64_t done_seen; /* stats.done as seen in finish() */
    void *scratch;
};

static pthread_mutex_t imu = PTHREAD_MUTEX_INITIALIZER; /* the "shard" lock */
static struct sts_job_pool *pool;

static void run_item(void *arg, struct sts_job *job, void *scratch)
{
    (void)arg;
    struct item *it = STS_JOB_OWNER(job, struct item, job);
    atomic_fetch_add(&it->runs, 1);
    it->scratch = scratch;
    if (scratch != NULL)
        memset(scratch, 0xab, 64);
    if (it->block)
        gate_pass();
}

static void finish_item(void *arg, struct sts_job *job)
{
    (void)arg;
    struct item *it = STS_JOB_OWNER(job, struct item, job);
    struct sts_job_pool_stats st;
    sts_job_pool_stats(pool, &st);
    pthread_mutex_lock(&imu);
    it->done_seen = st.done;
    job->inflight = false;
    atomic_fetch_add(&it->finishes, 1);
    pthread_mutex_unlock(&imu);
}

static void drop_item(void *arg, struct sts_job *job)
{
    (void)arg;
    atomic_fetch_add(&STS_JOB_OWNER(job, struct item, job)->drops, 1);
}

static struct sts_job_pool *start(unsigned workers, unsigned queue_max, enum sts_job_pool_stop stop,
                                  size_t scratch)
{
    gate_reset();
    struct sts_job_pool_config cfg = {.workers = workers,
                                      .queue_max = queue_max,
                                      .stop = stop,
                                      .scratch_size = scratch,
                                      .run = run_item,
                                      .finish = finish_item,
                                      .drop = drop_item};
    char err[128];
    ck_assert_int_eq(sts_job_pool_new(&cfg, &pool, err, sizeof(err)), STS_OK);
    return pool;
}

static enum sts_job_submit submit(struct item *it)
{
    pthread_mutex_lock(&imu);
    enum sts_job_submit r = sts_job_pool_submit(pool, &it->job);
    pthread_mutex_unlock(&imu);
    return r;
}

START_TEST(every_job_runs_once)
{
    enum { N = 200 };
    static struct item items[N];
    memset(items, 0, sizeof(items));
    start(4, 0, STS_JOB_POOL_DRAIN, 128);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(submit(&items[i]), STS_JOB_QUEUED);
    ck_assert_int_eq(sts_job_pool_wait_idle(pool, 5000), STS_OK);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(items[i].runs == 1 && items[i].finishes == 1, "job %d: %d runs, %d finishes",
                      i, items[i].runs, items[i].finishes);
        ck_assert_ptr_nonnull(items[i].scratch);
        ck_assert(!items[i].job.inflight);
    }
    struct sts_job_pool_stats st;
    sts_job_pool_stats(pool, &st);
    ck_assert_uint_eq(st.done, N);
    ck_assert_uint_eq(st.dropped, 0);
    ck_assert_uint_eq(st.running + st.queued, 0);
    sts_job_pool_free(pool);
}
END_TEST

START_TEST(single_flight)
{
    static struct item it;
    memset(&it, 0, sizeof(it));
    it.block = true;
    start(2, 0, STS_JOB_POOL_DRAIN, 0);
    ck_assert_int_eq(submit(&it), STS_JOB_QUEUED);
    ck_assert(gate_wait_for(1)); /* running */
    ck_assert_int_eq(submit(&it), STS_JOB_IN_FLIGHT);
    ck_assert_int_eq(submit(&it), STS_JOB_IN_FLIGHT);
    gate_release();
    ck_assert_int_eq(sts_job_pool_wait_idle(pool, 5000), STS_OK);
    ck_assert_int_eq(it.runs, 1);
    it.block = false;
    ck_assert_int_eq(submit(&it), STS_JOB_QUEUED); /* finished: may run again */
    ck_assert_int_eq(sts_job_pool_wait_idle(pool, 5000), STS_OK);
    ck_assert_int_eq(it.runs, 2);
    sts_job_pool_free(pool);
}
END_TEST

START_TEST(bounded_queue_drops_and_tells)
{
    static struct item it[5];
    memset(it, 0, sizeof(it));
    it[0].block = true;
    start(1, 2, STS_JOB_POOL_DRAIN, 0);
    static const enum sts_job_submit want[5] = {STS_JOB_QUEUED, STS_JOB_QUEUED, STS_JOB_QUEUED,
                                                STS_JOB_DROPPED, STS_JOB_DROPPED};
    ck_assert_int_eq(submit(&it[0]), want[0]);
    ck_assert(gate_wait_for(1)); /* the only worker is busy: the queue fills */
    for (int i = 1; i < 5; i++) {
        enum sts_job_submit got = submit(&it[i]);
        ck_assert_msg(got == want[i], "submit %d: got %d, want %d", i, got, want[i]);
    }
    ck_assert(!it[3].job.inflight && !it[4].job.inflight); /* a dropped job is not in flight */
    struct sts_job_pool_stats st;
    sts_job_pool_stats(pool, &st);
    ck_assert_uint_eq(st.dropped, 2);
    ck_assert_uint_eq(st.queued, 2);
    ck_assert_uint_eq(st.running, 1);
    ck_assert_int_eq(sts_job_pool_wait_idle(pool, 30), STS_EIO); /* busy at the timeout */
    gate_release();
    ck_assert_int_eq(sts_job_pool_wait_idle(pool, 5000), STS_OK);
    ck_assert_int_eq(it[1].runs + it[2].runs, 2);
    ck_assert_int_eq(it[3].runs + it[4].runs, 0);
    ck_assert_int_eq(submit(&it[3]), STS_JOB_QUEUED); /* room again */
    sts_job_pool_free(pool);
    ck_assert_int_eq(it[3].runs, 1);
}
END_TEST

START_TEST(done_counted_before_finish)
{
    enum { N = 20 };
    static struct item it[N];
    memset(it, 0, sizeof(it));
    start(1, 0, STS_JOB_POOL_DRAIN, 0);
    for (int i = 0; i < N; i++)
        submit(&it[i]);
    ck_assert_int_eq(sts_job_pool_wait_idle(pool, 5000), STS_OK);
    for (int i = 0; i < N; i++) /* one worker: the i-th finish sees i + 1 done */
        ck_assert_msg(it[i].done_seen == (uint64_t)i + 1, "job %d: finish saw %llu done", i,
                      (unsigned long long)it[i].done_seen);
    sts_job_pool_free(pool);
}
END_TEST

START_TEST(stop_drains)
{
    enum { N = 6 };
    static struct item it[N];
    memset(it, 0, sizeof(it));
    it[0].block = true;
    start(1, 0, STS_JOB_POOL_DRAIN, 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(submit(&it[i]), STS_JOB_QUEUED);
    ck_assert(gate_wait_for(1));
    gate_release();
    sts_job_pool_free(pool); /* runs the five queued before it returns */
    for (int i = 0; i < N; i++)
        ck_assert_msg(it[i].runs == 1 && it[i].drops == 0, "job %d: %d runs, %d drops", i,
                      it[i].runs, it[i].drops);
}
END_TEST

static void *free_pool(void *arg)
{
    sts_job_pool_free(arg);
    return NULL;
}

START_TEST(stop_drops)
{
    enum { N = 4, LATE = 4096 };
    static struct item it[N], late[LATE];
    memset(it, 0, sizeof(it));
    memset(late, 0, sizeof(late));
    it[0].block = true;
    start(1, 0, STS_JOB_POOL_DROP, 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(submit(&it[i]), STS_JOB_QUEUED);
    ck_assert(gate_wait_for(1));
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, free_pool, pool), 0);
    /* The pool cannot go while it[0] blocks: submit fresh jobs until stopping
       refuses one (those queued before that are dropped too). */
    int n = 0;
    bool refused = false;
    while (!refused && n < LATE) {
        refused = submit(&late[n++]) == STS_JOB_DROPPED;
        if (!refused)
            nanosleep(&(struct timespec){0, 1000000}, NULL); /* poll, 1 ms */
    }
    ck_assert_msg(refused, "stopping never refused a submit");
    gate_release();
    pthread_join(t, NULL);
    ck_assert_int_eq(it[0].runs, 1); /* the job in hand finished */
    ck_assert_int_eq(it[0].finishes, 1);
    for (int i = 1; i < N; i++)
        ck_assert_msg(it[i].runs == 0 && it[i].drops == 1, "queued job %d: %d runs, %d drops", i,
                      it[i].runs, it[i].drops);
    for (int i = 0; i < n; i++)
        ck_assert_msg(late[i].runs == 0 && late[i].drops == (i < n - 1),
                      "late job %d of %d: %d runs, %d drops", i, n, late[i].runs, late[i].drops);
}
END_TEST

/* ---- the refresher ---- */

static atomic_int passes;

static void pass_fn(void *arg)
{
    (void)arg;
    atomic_fetch_add(&passes, 1);
}

static struct sts_job_pool *start_refresher(unsigned interval_ms)
{
    atomic_store(&passes, 0);
    struct sts_job_pool_config cfg = {
        .workers = 1, .run = run_item, .refresh = pass_fn, .refresh_interval_ms = interval_ms};
    char err[128];
    struct sts_job_pool *p = NULL;
    ck_assert_int_eq(sts_job_pool_new(&cfg, &p, err, sizeof(err)), STS_OK);
    return p;
}

START_TEST(refresher_runs_every_interval)
{
    struct sts_job_pool *p = start_refresher(10);
    struct sts_deadline d = sts_deadline_in(5000);
    while (atomic_load(&passes) < 3 && !sts_deadline_expired(d))
        sched_yield();
    ck_assert_msg(atomic_load(&passes) >= 3, "got %d passes in 5 s at 10 ms", atomic_load(&passes));
    sts_job_pool_free(p);
}
END_TEST

START_TEST(stop_wakes_refresher)
{
    struct sts_job_pool *p = start_refresher(600000); /* ten minutes */
    int64_t t0 = sts_clock_mono_ms();
    sts_job_pool_free(p);
    int64_t ms = sts_clock_mono_ms() - t0;
    ck_assert_msg(ms < 2000, "stop took %lld ms: it waited for the interval", (long long)ms);
    ck_assert_int_eq(atomic_load(&passes), 0);
}
END_TEST

START_TEST(bad_config)
{
    struct sts_job_pool_config cfg = {.workers = 0, .run = run_item};
    struct sts_job_pool *p = (void *)1;
    char err[128] = "";
    ck_assert_int_eq(sts_job_pool_new(&cfg, &p, err, sizeof(err)), STS_EINVAL);
    ck_assert_ptr_null(p);
    cfg = (struct sts_job_pool_config){.workers = 1};
    ck_assert_int_eq(sts_job_pool_new(&cfg, &p, err, sizeof(err)), STS_EINVAL);
    sts_job_pool_free(NULL);
}
END_TEST

/* ---- many submitters over shared entries: single flight holds ---- */

enum { SUBMITTERS = 4, ENTRIES = 32, TRIES = 5000 };
static struct item shared[ENTRIES];
static atomic_int queued_ok;

static void *submitter(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < TRIES; i++) {
        seed = seed * 1103515245u + 12345u;
        if (submit(&shared[(seed >> 8) % ENTRIES]) == STS_JOB_QUEUED)
            atomic_fetch_add(&queued_ok, 1);
    }
    return NULL;
}

START_TEST(concurrent_submitters)
{
    memset(shared, 0, sizeof(shared));
    atomic_store(&queued_ok, 0);
    start(3, 0, STS_JOB_POOL_DRAIN, 0);
    pthread_t t[SUBMITTERS];
    for (uintptr_t i = 0; i < SUBMITTERS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, submitter, (void *)(i * 7919 + 1)), 0);
    for (int i = 0; i < SUBMITTERS; i++)
        pthread_join(t[i], NULL);
    ck_assert_int_eq(sts_job_pool_wait_idle(pool, 5000), STS_OK);
    int runs = 0;
    for (int i = 0; i < ENTRIES; i++) {
        ck_assert_int_eq(shared[i].runs, shared[i].finishes);
        runs += shared[i].runs;
    }
    int want = atomic_load(&queued_ok);
    ck_assert_msg(runs == want, "got %d runs for %d queued submits", runs, want);
    struct sts_job_pool_stats st;
    sts_job_pool_stats(pool, &st);
    ck_assert_uint_eq(st.done, (uint64_t)runs);
    sts_job_pool_free(pool);
}
END_TEST

static Suite *job_pool_suite(void)
{
    Suite *s = suite_create("job_pool");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, every_job_runs_once);
    tcase_add_test(tc, single_flight);
    tcase_add_test(tc, bounded_queue_drops_and_tells);
    tcase_add_test(tc, done_counted_before_finish);
    tcase_add_test(tc, stop_drains);
    tcase_add_test(tc, stop_drops);
    tcase_add_test(tc, refresher_runs_every_interval);
    tcase_add_test(tc, stop_wakes_refresher);
    tcase_add_test(tc, bad_config);
    tcase_add_test(tc, concurrent_submitters);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(job_pool_suite());
}
