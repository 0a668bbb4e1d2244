/*
 * lru_job.h - a single-flight job on a value of an lru_map: the glue
 * between lru_map.h and job_pool.h that the policy cache (discoveries)
 * and the probe cache (probes) share.
 *
 * The value embeds a struct sts_lru_job.  Submitting queues its job
 * unless one is in flight and pins the value while it is queued or
 * running, so the pool's pointer stays valid (an lru_map never frees a
 * pinned value); the pool's finish() calls sts_lru_job_finish(), which
 * ends the flight, unpins, counts the run and wakes the shard's waiters;
 * a lookup that wants the result waits with sts_lru_job_wait() until a
 * run ends or its deadline passes, the value pinned meanwhile.
 *
 * LOCK ORDER and thread rules: those of lru_map.h (the value's fields,
 * job.inflight and runs included, are guarded by its shard mutex) and
 * job_pool.h (shard mutex, then the pool's queue mutex, never the
 * reverse).  sts_lru_job_submit() and sts_lru_job_wait() are called with
 * the shard mutex held (the wait releases it while it sleeps);
 * sts_lru_job_finish() takes it itself.
 *
 * Ownership: nothing is allocated; the pool borrows the job (job_pool.h).
 */
#ifndef MTASTS_LRU_JOB_H
#define MTASTS_LRU_JOB_H

#include <stdbool.h>

#include "mtasts/clock.h"
#include "mtasts/job_pool.h"
#include "mtasts/lru_map.h"

/** A job embedded in an lru_map value. */
struct sts_lru_job {
    struct sts_job job; /* job.inflight: queued or running */
    unsigned runs;      /* runs ended so far (wraps) */
};

/**
 * Queue the value's job unless it is in flight (shard locked); a queued
 * job pins the value until sts_lru_job_finish().
 * @param p     the pool
 * @param value the lru_map value that embeds j
 * @param j     its job
 * @return as sts_job_pool_submit(): QUEUED, IN_FLIGHT or DROPPED
 */
enum sts_job_submit sts_lru_job_submit(struct sts_job_pool *p, void *value, struct sts_lru_job *j);

/**
 * End a run, from the pool's finish() (takes the shard lock): clear
 * inflight, unpin the value, count the run, wake the shard's waiters.
 * @param s     the value's shard (not locked by the caller)
 * @param value the value
 * @param j     its job
 */
void sts_lru_job_finish(struct sts_lru_shard *s, void *value, struct sts_lru_job *j);

/**
 * Wait (shard locked) until a run ends that had not ended at the call,
 * or the deadline passes; the value stays pinned during the wait.  Call
 * it in the same hold of the shard mutex as the submit (or the check of
 * job.inflight) it waits for: a run that ends in between is not seen.
 * @param s     the value's shard, locked by the caller
 * @param value the value
 * @param j     its job
 * @param d     the deadline
 * @return true when a run ended, false at the deadline
 */
bool sts_lru_job_wait(struct sts_lru_shard *s, void *value, const struct sts_lru_job *j,
                      struct sts_deadline d);

#endif
