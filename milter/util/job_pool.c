/*
 * job_pool.c - worker threads, a bounded intrusive queue, single flight
 * and a refresher (see job_pool.h for the lock order and the stop modes).
 *
 * One mutex (mu) guards the queue, the counters and "stopping"; three
 * condition variables hang on it: work (a job was queued, or stopping),
 * idle (queue empty and nothing running) and wake (the refresher's sleep,
 * broadcast at stop).  No callback runs with mu held.
 */
#include "mtasts/job_pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/clock.h"

struct sts_job_pool {
    struct sts_job_pool_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t work, idle, wake;
    struct sts_job *head, *tail;
    unsigned queued, running;
    uint64_t done, dropped;
    bool stopping;
    pthread_t *threads;
    unsigned nthreads;
    pthread_t refresher;
    bool have_refresher;
};

enum sts_job_submit sts_job_pool_submit(struct sts_job_pool *p, struct sts_job *job)
{
    if (job->inflight)
        return STS_JOB_IN_FLIGHT;
    pthread_mutex_lock(&p->mu);
    if (p->stopping || (p->cfg.queue_max > 0 && p->queued >= p->cfg.queue_max)) {
        p->dropped++;
        pthread_mutex_unlock(&p->mu);
        return STS_JOB_DROPPED;
    }
    job->inflight = true;
    job->next_ = NULL;
    if (p->tail != NULL)
        p->tail->next_ = job;
    else
        p->head = job;
    p->tail = job;
    p->queued++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return STS_JOB_QUEUED;
}

/* Take the next job (mu held); NULL when the worker should leave. */
static struct sts_job *take(struct sts_job_pool *p)
{
    while (p->head == NULL && !p->stopping)
        pthread_cond_wait(&p->work, &p->mu);
    if (p->stopping && (p->cfg.stop == STS_JOB_POOL_DROP || p->head == NULL))
        return NULL;
    struct sts_job *j = p->head;
    p->head = j->next_;
    if (p->head == NULL)
        p->tail = NULL;
    j->next_ = NULL;
    p->queued--;
    p->running++;
    return j;
}

static void *worker_main(void *arg)
{
    struct sts_job_pool *p = arg;
    void *scratch = p->cfg.scratch_size > 0 ? malloc(p->cfg.scratch_size) : NULL;
    pthread_mutex_lock(&p->mu);
    struct sts_job *j;
    while ((j = take(p)) != NULL) {
        pthread_mutex_unlock(&p->mu);
        p->cfg.run(p->cfg.arg, j, scratch);
        pthread_mutex_lock(&p->mu);
        p->done++; /* counted before the caller's waiters wake */
        pthread_mutex_unlock(&p->mu);
        if (p->cfg.finish != NULL)
            p->cfg.finish(p->cfg.arg, j); /* j may be gone after this */
        pthread_mutex_lock(&p->mu);
        if (--p->running == 0 && p->head == NULL)
            pthread_cond_broadcast(&p->idle);
    }
    pthread_mutex_unlock(&p->mu);
    free(scratch);
    return NULL;
}

static void *refresher_main(void *arg)
{
    struct sts_job_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        struct sts_deadline d = sts_deadline_in(p->cfg.refresh_interval_ms);
        while (!p->stopping && sts_cond_wait_until(&p->wake, &p->mu, d) == 0)
            ;
        if (p->stopping)
            break;
        pthread_mutex_unlock(&p->mu);
        p->cfg.refresh(p->cfg.arg); /* the caller's locks, then mu inside submit */
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

enum sts_status sts_job_pool_new(const struct sts_job_pool_config *cfg, struct sts_job_pool **out,
                                 char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->run == NULL || cfg->workers == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "job pool: no run function or no worker");
    struct sts_job_pool *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    p->cfg = *cfg;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    sts_cond_init_monotonic(&p->idle);
    sts_cond_init_monotonic(&p->wake);
    p->threads = calloc(cfg->workers, sizeof(*p->threads));
    if (p->threads == NULL) {
        sts_job_pool_free(p);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    }
    *out = p; /* before any thread starts: run() and refresh() may read it */
    for (; p->nthreads < cfg->workers; p->nthreads++)
        if (pthread_create(&p->threads[p->nthreads], NULL, worker_main, p) != 0) {
            *out = NULL;
            sts_job_pool_free(p);
            return sts_status_set(STS_ENOMEM, err, errlen, "cannot start worker threads");
        }
    if (cfg->refresh != NULL && cfg->refresh_interval_ms > 0) {
        if (pthread_create(&p->refresher, NULL, refresher_main, p) != 0) {
            *out = NULL;
            sts_job_pool_free(p);
            return sts_status_set(STS_ENOMEM, err, errlen, "cannot start the refresher");
        }
        p->have_refresher = true;
    }
    return STS_OK;
}

void sts_job_pool_free(struct sts_job_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stopping = true;
    pthread_cond_broadcast(&p->work);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    if (p->have_refresher)
        pthread_join(p->refresher, NULL);
    for (unsigned i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL); /* each finishes the job in hand */
    free(p->threads);
    while (p->head != NULL) { /* DROP, or no worker ever started */
        struct sts_job *j = p->head;
        p->head = j->next_;
        j->next_ = NULL;
        if (p->cfg.drop != NULL)
            p->cfg.drop(p->cfg.arg, j);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->idle);
    pthread_cond_destroy(&p->wake);
    free(p);
}

enum sts_status sts_job_pool_wait_idle(struct sts_job_pool *p, unsigned timeout_ms)
{
    struct sts_deadline d = sts_deadline_in(timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&p->mu);
    while ((p->head != NULL || p->running > 0) && rc == 0)
        rc = sts_cond_wait_until(&p->idle, &p->mu, d);
    bool idle = p->head == NULL && p->running == 0;
    pthread_mutex_unlock(&p->mu);
    return idle ? STS_OK : STS_EIO;
}

void sts_job_pool_stats(struct sts_job_pool *p, struct sts_job_pool_stats *out)
{
    pthread_mutex_lock(&p->mu);
    out->done = p->done;
    out->dropped = p->dropped;
    out->running = p->running;
    out->queued = p->queued;
    pthread_mutex_unlock(&p->mu);
}
