/*
 * test_lru_job.c - unit tests of the single-flight job on an lru_map
 * value (lru_job.h), the glue under the policy cache's discoveries and
 * the probe cache's probes.
 *
 * Guards what those caches build on: a job in flight is not queued again
 * (single flight: concurrent misses of one domain or MX host share one
 * discovery or probe, RFC 8461 §5, RFC 7672 caching); a queued or running
 * job pins its value, so eviction or removal never frees the entry a
 * worker holds (run under ASan); a waiter returns at its deadline while
 * the run goes on (a lookup never waits past LookupDeadline) and wakes
 * when the run ends; the run is counted and the value unpinned before the
 * waiter sees it.  No fixed sleeps: the job blocks on a gate the test
 * opens.
 */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "mtasts/clock.h"
#include "mtasts/lru_job.h"
#include "mtasts/lru_map.h"
#include "unit_main.h"

struct value {
    struct sts_lru_job job;
    int result; /* written by the job, read under the shard lock */
};

struct ctx {
    struct sts_lru_map *map;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool open; /* the gate */
    int started;
};

static void run(void *arg, struct sts_job *job, void *scratch)
{
    (void)scratch;
    struct ctx *c = arg;
    struct value *v = STS_JOB_OWNER(job, struct value, job.job);
    pthread_mutex_lock(&c->mu);
    c->started++;
    pthread_cond_broadcast(&c->cv);
    while (!c->open)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    struct sts_lru_shard *s = sts_lru_map_shard(c->map, sts_lru_value_hash(v));
    sts_lru_shard_lock(s);
    v->result = 42;
    sts_lru_shard_unlock(s);
}

static void finish(void *arg, struct sts_job *job)
{
    struct ctx *c = arg;
    struct value *v = STS_JOB_OWNER(job, struct value, job.job);
    sts_lru_job_finish(sts_lru_map_shard(c->map, sts_lru_value_hash(v)), v, &v->job);
}

START_TEST(single_flight_pin_wait)
{
    char err[256];
    struct ctx c = {.open = false};
    pthread_mutex_init(&c.mu, NULL);
    pthread_cond_init(&c.cv, NULL);
    struct sts_lru_map_config mc = {.value_size = sizeof(struct value), .shards = 1};
    ck_assert_int_eq(sts_lru_map_new(&mc, &c.map, err, sizeof(err)), STS_OK);
    struct sts_job_pool_config pc = {.workers = 2, .run = run, .finish = finish, .arg = &c};
    struct sts_job_pool *pool;
    ck_assert_int_eq(sts_job_pool_new(&pc, &pool, err, sizeof(err)), STS_OK);

    uint32_t h = sts_lru_hash("one.test", 0);
    struct sts_lru_shard *s = sts_lru_map_shard(c.map, h);
    sts_lru_shard_lock(s);
    struct value *v = sts_lru_shard_get(s, h, "one.test", 0, NULL);
    ck_assert_ptr_nonnull(v);
    ck_assert_msg(!sts_lru_pinned(v), "a new value is pinned");
    enum sts_job_submit r = sts_lru_job_submit(pool, v, &v->job);
    ck_assert_msg(r == STS_JOB_QUEUED, "first submit: got %d, want queued", r);
    ck_assert_msg(sts_lru_pinned(v), "a queued job does not pin its value");
    r = sts_lru_job_submit(pool, v, &v->job);
    ck_assert_msg(r == STS_JOB_IN_FLIGHT, "second submit: got %d, want in flight", r);
    ck_assert_msg(!sts_lru_shard_remove(s, v), "a value with a job in flight was freed");
    sts_lru_shard_unlock(s);

    /* The run is held at the gate: a waiter gives up at its deadline. */
    pthread_mutex_lock(&c.mu);
    while (c.started == 0)
        pthread_cond_wait(&c.cv, &c.mu);
    pthread_mutex_unlock(&c.mu);
    sts_lru_shard_lock(s);
    int64_t t0 = sts_clock_mono_ms();
    bool ended = sts_lru_job_wait(s, v, &v->job, sts_deadline_in(100));
    int64_t took = sts_clock_mono_ms() - t0;
    ck_assert_msg(!ended, "the wait saw a run end while the job was held");
    ck_assert_msg(took >= 90 && took < 2000, "deadline wait took %lld ms, want about 100",
                  (long long)took);
    ck_assert_msg(sts_lru_pinned(v), "the job in flight lost its pin after a wait");
    sts_lru_shard_unlock(s);

    /* Open the gate (shard locked, so the run cannot end before the wait
       starts): the waiter wakes, the run counted, the value free. */
    sts_lru_shard_lock(s);
    pthread_mutex_lock(&c.mu);
    c.open = true;
    pthread_cond_broadcast(&c.cv);
    pthread_mutex_unlock(&c.mu);
    ended = sts_lru_job_wait(s, v, &v->job, sts_deadline_in(10000));
    ck_assert_msg(ended, "the wait did not see the run end");
    ck_assert_int_eq(v->result, 42);
    ck_assert_uint_eq(v->job.runs, 1);
    ck_assert_msg(!v->job.job.inflight, "still in flight after the run ended");
    ck_assert_msg(!sts_lru_pinned(v), "still pinned after the run ended");
    /* Single flight again: the next submit queues a new run. */
    ck_assert_int_eq(sts_lru_job_submit(pool, v, &v->job), STS_JOB_QUEUED);
    ended = sts_lru_job_wait(s, v, &v->job, sts_deadline_in(10000));
    ck_assert_msg(ended && v->job.runs == 2, "second run: ended %d, runs %u", ended, v->job.runs);
    ck_assert_msg(sts_lru_shard_remove(s, v), "an idle value could not be removed");
    sts_lru_shard_unlock(s);

    struct sts_job_pool_stats st;
    sts_job_pool_stats(pool, &st);
    ck_assert_msg(st.done == 2, "pool ran %llu jobs, want 2", (unsigned long long)st.done);
    sts_job_pool_free(pool);
    sts_lru_map_free(c.map);
    pthread_cond_destroy(&c.cv);
    pthread_mutex_destroy(&c.mu);
}
END_TEST

static Suite *lru_job_suite(void)
{
    Suite *s = suite_create("lru_job");
    TCase *tc = tcase_create("flight");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, single_flight_pin_wait);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(lru_job_suite());
}
