/*
 * job_pool.h - one pool of worker threads with a bounded queue, single
 * flight per caller's entry, and an optional refresher thread.
 *
 * What it serves: the policy cache's discoveries, the probe cache's
 * STARTTLS probes, the socketmap's lookups and the CLI's prewarm; each
 * used to start and stop its own threads.
 *
 * Jobs are intrusive: the caller embeds a struct sts_job in its own
 * record (a cache entry, a request) and gets it back in run() and
 * finish() (STS_JOB_OWNER() finds the record).  No allocation happens
 * per job, so scheduling cannot fail for lack of memory.
 *
 * Single flight: job->inflight is true from the moment the job is queued
 * until the caller clears it, in finish(), under the caller's own lock.
 * sts_job_pool_submit() on a job that is in flight does nothing and says
 * so; that is "schedule unless in flight", keyed on the caller's entry.
 * A caller without single flight (one job per request) just never sees
 * its job in flight.
 *
 * A job's life on a worker: run(arg, job, scratch) with no pool lock
 * held; then the pool counts it done; then finish(arg, job), also without
 * a pool lock (the caller takes its lock there, clears inflight and wakes
 * its waiters: a waiter that wakes sees the job counted); then the worker
 * stops counting it as running, and wait-idle may return.
 *
 * Bounds: queue_max jobs may wait; beyond that (and once stopping) a
 * submit is refused and counted as dropped, and the caller is told
 * (STS_JOB_DROPPED); its job is not in flight then.
 *
 * Stop (sts_job_pool_free()): the refresher is woken at once and
 * joined; then, with STS_JOB_POOL_DRAIN the workers run every queued job
 * before they leave, with STS_JOB_POOL_DROP they leave after the job in
 * hand and the queued ones are handed to drop() (if set) unrun.
 *
 * The refresher: when refresh is set and refresh_interval_ms > 0, one
 * more thread calls refresh(arg) every refresh_interval_ms (the first
 * call one interval after start), with no pool lock held, so the pass
 * may lock the caller's shards and submit jobs.
 *
 * LOCK ORDER and thread rules:
 *   1. the pool has one mutex (the queue mutex) over the queue, the
 *      counters and "stopping"; it is a leaf: the pool never calls out
 *      (run, finish, drop, refresh) while holding it, and never takes a
 *      caller's lock;
 *   2. a caller may hold its own lock (e.g. an lru_map shard mutex, which
 *      guards job->inflight) while calling sts_job_pool_submit(): caller's
 *      lock, then the queue mutex, never the reverse;
 *   3. sts_job_pool_submit(), _wait_idle() and _stats() are thread-safe;
 *      _free() is called once, by the owner, when no other thread will
 *      submit; run()/finish() may submit further jobs (not in DROP stop).
 *
 * Ownership: the pool borrows the jobs (the caller's records must live
 * until finish() or drop() returns) and arg; it owns its threads and each
 * worker's scratch buffer (scratch_size bytes, allocated at start,
 * passed to run(), NULL if that allocation failed).
 */
#ifndef MTASTS_JOB_POOL_H
#define MTASTS_JOB_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/status.h"

/** A job, embedded in the caller's record. */
struct sts_job {
    struct sts_job *next_; /* the pool's queue link (queue mutex) */
    bool inflight;         /* queued or running; cleared by the caller in finish(),
                              read and cleared under the caller's lock */
};

/** The record that embeds a job: STS_JOB_OWNER(job, struct entry, job). */
#define STS_JOB_OWNER(job, type, member) ((type *)(void *)((char *)(job)-offsetof(type, member)))

enum sts_job_pool_stop {
    STS_JOB_POOL_DRAIN = 0, /* stop runs every queued job first */
    STS_JOB_POOL_DROP,      /* stop drops queued jobs (drop() each) */
};

struct sts_job_pool_config {
    unsigned workers;   /* threads, at least 1 */
    unsigned queue_max; /* jobs waiting at most; 0 = no bound */
    enum sts_job_pool_stop stop;
    size_t scratch_size; /* a per-worker buffer handed to run(); 0 = none */
    /* the work (no pool lock held); scratch is this worker's buffer or NULL */
    void (*run)(void *arg, struct sts_job *job, void *scratch);
    /* after the job is counted done: clear job->inflight, wake waiters; NULL = none */
    void (*finish)(void *arg, struct sts_job *job);
    /* a queued job dropped at stop (DROP); NULL = nothing */
    void (*drop)(void *arg, struct sts_job *job);
    void *arg;
    unsigned refresh_interval_ms; /* 0 = no refresher */
    void (*refresh)(void *arg);   /* one pass; NULL = no refresher */
};

/** What a submit did. */
enum sts_job_submit {
    STS_JOB_QUEUED = 0, /* queued; job->inflight is now true */
    STS_JOB_IN_FLIGHT,  /* already queued or running: nothing done */
    STS_JOB_DROPPED,    /* refused: the queue is full, or the pool is stopping */
};

struct sts_job_pool;

/**
 * Start the workers (and the refresher).
 * @param cfg the configuration (copied)
 * @param out receives the pool, before any of its threads starts (so a
 *            run() or refresh() that reads the caller's copy sees it);
 *            NULL again on failure
 * @param err, errlen receive the reason on failure
 * @return STS_OK, STS_EINVAL (no run function, no worker), STS_ENOMEM
 *         (memory or a thread could not be had; nothing is left running)
 */
enum sts_status sts_job_pool_new(const struct sts_job_pool_config *cfg, struct sts_job_pool **out,
                                 char *err, size_t errlen);

/**
 * Stop and free (see "Stop" above): wake and join the refresher, drain or
 * drop the queue, join the workers (each finishes the job in hand).
 * NULL is a no-op.
 * @param p the pool
 */
void sts_job_pool_free(struct sts_job_pool *p);

/**
 * Queue a job unless it is in flight.  Call with the lock that guards
 * job->inflight held (if any).
 * @param p   the pool
 * @param job the caller's job
 * @return STS_JOB_QUEUED, STS_JOB_IN_FLIGHT or STS_JOB_DROPPED
 */
enum sts_job_submit sts_job_pool_submit(struct sts_job_pool *p, struct sts_job *job);

/**
 * Wait until no job is queued or running, at most timeout_ms.
 * @param p          the pool
 * @param timeout_ms the most to wait
 * @return STS_OK when idle, STS_EIO when still busy at the timeout
 */
enum sts_status sts_job_pool_wait_idle(struct sts_job_pool *p, unsigned timeout_ms);

/** Counters. */
struct sts_job_pool_stats {
    uint64_t done;    /* jobs run to the end (counted before finish()) */
    uint64_t dropped; /* submits refused (queue full, or stopping) */
    unsigned running; /* jobs on a worker now */
    unsigned queued;  /* jobs waiting now */
};

/**
 * A snapshot of the counters.
 * @param p   the pool
 * @param out receives them
 */
void sts_job_pool_stats(struct sts_job_pool *p, struct sts_job_pool_stats *out);

#endif
