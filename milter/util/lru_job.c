/*
 * lru_job.c - a single-flight job on an lru_map value (see lru_job.h).
 */
#include "mtasts/lru_job.h"

enum sts_job_submit sts_lru_job_submit(struct sts_job_pool *p, void *value, struct sts_lru_job *j)
{
    enum sts_job_submit r = sts_job_pool_submit(p, &j->job);
    if (r == STS_JOB_QUEUED)
        sts_lru_pin(value);
    return r;
}

void sts_lru_job_finish(struct sts_lru_shard *s, void *value, struct sts_lru_job *j)
{
    sts_lru_shard_lock(s);
    j->job.inflight = false;
    sts_lru_unpin(value);
    j->runs++;
    sts_lru_shard_broadcast(s);
    sts_lru_shard_unlock(s);
}

bool sts_lru_job_wait(struct sts_lru_shard *s, void *value, const struct sts_lru_job *j,
                      struct sts_deadline d)
{
    unsigned runs = j->runs;
    bool woken = true;
    sts_lru_pin(value);
    while (j->runs == runs && woken)
        woken = sts_lru_shard_wait(s, d);
    sts_lru_unpin(value);
    return j->runs != runs;
}
