/*
 * cache.c - the policy cache (RFC 8461 §5): the memory front, the store
 * behind it, single-flight discoveries on a worker pool, waiting for
 * them, and the refresher.  What one discovery does (TXT, back-off,
 * fetch, the decision, its store writes and log lines) is
 * discovery_io.c's; this file keeps storage, scheduling and waiting.
 *
 * The front is an lru_map (lru_map.h) keyed on the domain (tag 0); the
 * discoveries and the refresher run on a job_pool (job_pool.h) that
 * drains its queue at stop.
 *
 * Locking protocol (see also cache.h):
 *   - a shard mutex guards every field of its entries (the job's
 *     inflight flag and run count included, lru_job.h); its condition
 *     variable is broadcast whenever a discovery of one of its domains
 *     ends;
 *   - the pool's queue mutex may be taken while holding a shard mutex
 *     (scheduling), never the reverse;
 *   - no mutex is held across DNS, HTTPS or store I/O.
 * An entry is pinned while a discovery is queued or running on it and
 * while a lookup holds it across an unlock, so a pointer held by a job or
 * a waiter stays valid; a pinned entry is never freed (evicted, or
 * dropped by the refresher); "forgetting" a domain only clears its state.
 *
 * The store could not be read (issue 18): a lookup whose store read
 * fails answers from memory if memory has an unexpired policy, else
 * discovers; a discovery that ends in anything but a policy is answered
 * STS_LOOKUP_ERROR (reason store-error, so OnStoreError applies), never
 * "no policy" or a DNS failure, since the store may hold a policy the
 * cache cannot see.  The entry stays unloaded, so the next lookup reads
 * the store again.
 */
#include "mtasts/cache.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "mtasts/clock.h"
#include "mtasts/discovery.h"
#include "mtasts/discovery_io.h"
#include "mtasts/job_pool.h"
#include "mtasts/lru_job.h"
#include "mtasts/lru_map.h"
#include "mtasts/metrics.h"

#define SHARDS 64
#define FRONT_DEFAULT 65536 /* entries in memory, all shards together */
#define RECHECK_DEFAULT 3600

/* An immutable policy shared by the front cache and lookup results. */
struct policy_ref {
    atomic_int refs;
    struct sts_policy *policy;
};

/* What is known of one domain: the value of an lru_map entry. */
struct entry {
    struct sts_lru_job job; /* the discovery: job.job.inflight, job.runs */
    struct policy_ref *pol; /* NULL when nothing valid is cached */
    char id[STS_TXT_ID_MAX + 1];
    int64_t expires_at, checked_at, fetched_at, last_used;
    int64_t negative_until, tempfail_until;
    enum sts_lookup_reason reason; /* why negative/tempfail */
    enum sts_fetch_result fetch;   /* ... for FETCH_FAILED */
    bool loaded;                   /* the store has been read */
};

struct sts_cache {
    struct sts_cache_config cfg;
    struct sts_clock clock;    /* cfg.now: Unix seconds */
    struct sts_log_sink log;   /* cfg.log */
    struct sts_lru_map *map;   /* the front */
    struct sts_job_pool *pool; /* discoveries and the refresher */
};

/* ---- small helpers ---- */

static int64_t now_s(const struct sts_cache *c)
{
    return sts_clock_now_s(&c->clock);
}

static unsigned recheck_s(const struct sts_cache *c)
{
    return c->cfg.recheck_s ? c->cfg.recheck_s : RECHECK_DEFAULT;
}

static const char *domain_of(const struct entry *e)
{
    return sts_lru_key(e);
}

static struct sts_lru_shard *shard_of(struct sts_cache *c, const char *domain, uint32_t *hash)
{
    *hash = sts_lru_hash(domain, 0);
    return sts_lru_map_shard(c->map, *hash);
}

static struct sts_lru_shard *shard_of_entry(struct sts_cache *c, const struct entry *e)
{
    return sts_lru_map_shard(c->map, sts_lru_value_hash(e));
}

static struct policy_ref *ref_new(struct sts_policy *p)
{
    struct policy_ref *r = malloc(sizeof(*r));
    if (r == NULL)
        return NULL;
    atomic_init(&r->refs, 1);
    r->policy = p;
    return r;
}

static struct policy_ref *ref_get(struct policy_ref *r)
{
    if (r != NULL)
        atomic_fetch_add(&r->refs, 1);
    return r;
}

static void ref_put(struct policy_ref *r)
{
    if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1) {
        sts_policy_free(r->policy);
        free(r);
    }
}

/* lru_map's on_free: an entry goes (shard locked, or the map is freed). */
static void entry_free(void *arg, void *value)
{
    (void)arg;
    ref_put(((struct entry *)value)->pol);
}

/* Replace the entry's policy (under the shard lock). */
static void entry_set_policy(struct entry *e, struct policy_ref *r, const char *id,
                             int64_t fetched_at, int64_t checked_at, int64_t expires_at)
{
    ref_put(e->pol);
    e->pol = r;
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->fetched_at = fetched_at;
    e->checked_at = checked_at;
    e->expires_at = expires_at;
    e->negative_until = e->tempfail_until = 0;
}

static bool has_policy(const struct entry *e, int64_t now)
{
    return e->pol != NULL && e->expires_at > now;
}

/* ---- scheduling ---- */

/* Queue a discovery unless one is in flight (shard locked); the job pins the entry. */
static void schedule(struct sts_cache *c, struct entry *e)
{
    sts_lru_job_submit(c->pool, e, &e->job);
    /* dropped (stopping): the lookup times out and reports PENDING */
}

/* ---- the store ---- */

/*
 * Load the store's view of a domain into the entry, once (the caller
 * holds the entry pinned, no lock).  Returns false when the store could
 * not be read: the entry stays unloaded (read again next time) and keeps
 * whatever memory has.
 */
static bool load_from_store(struct sts_cache *c, struct entry *e, int64_t now)
{
    struct sts_store_entry se = {0};
    struct sts_store_negative neg = {0};
    char err[256];
    bool have = false, have_neg = false, read = true;
    struct policy_ref *r = NULL;
    const char *domain = domain_of(e);

    if (c->cfg.store != NULL) {
        enum sts_status st = sts_store_get(c->cfg.store, domain, &se, err, sizeof(err));
        if (st == STS_OK && se.expires_at > now && (r = ref_new(se.policy)) != NULL) {
            se.policy = NULL; /* now owned by r */
            have = true;
        } else if (st != STS_OK && st != STS_ENOTFOUND) {
            sts_log_to(&c->log, LOG_ERR, "domain=%s event=store-error reason=\"%s\"", domain, err);
            read = false;
        }
        st = sts_store_negative_get(c->cfg.store, domain, now, &neg, err, sizeof(err));
        have_neg = st == STS_OK;
        if (read && st != STS_OK && st != STS_ENOTFOUND) {
            sts_log_to(&c->log, LOG_ERR, "domain=%s event=store-error reason=\"%s\"", domain, err);
            read = false;
        }
    }

    struct sts_lru_shard *s = shard_of_entry(c, e);
    sts_lru_shard_lock(s);
    if (!e->loaded) {
        if (have && e->pol == NULL) {
            entry_set_policy(e, r, se.id, se.fetched_at, se.checked_at, se.expires_at);
            r = NULL;
        }
        if (read && have_neg && e->pol == NULL) {
            e->negative_until = neg.until;
            if (!sts_lookup_reason_parse(neg.reason, &e->reason, &e->fetch))
                e->reason = STS_LOOKUP_REASON_NO_POLICY; /* a word of another build */
        }
        e->loaded = read;
    }
    sts_lru_shard_unlock(s);
    ref_put(r);
    sts_store_entry_clear(&se);
    return read;
}

/* ---- discovery jobs (on a worker, no lock held across I/O) ---- */

/* The domain's new state in memory (takes over p). */
static void apply_entry(struct sts_cache *c, struct entry *e, int64_t now,
                        const struct sts_discovery_io_result *res, const struct policy_ref *held,
                        struct sts_policy *p)
{
    const struct sts_discovery_decision *d = &res->d;
    struct policy_ref *r = NULL;
    if (d->action == STS_DISCOVERY_UPDATE && (r = ref_new(p)) == NULL) {
        sts_policy_free(p);
        return;
    }
    struct sts_lru_shard *s = shard_of_entry(c, e);
    sts_lru_shard_lock(s);
    switch (d->action) {
    case STS_DISCOVERY_EXTEND:
        if (e->pol == held) { /* not replaced meanwhile */
            e->checked_at = now;
            e->expires_at = d->expires_at;
        }
        break;
    case STS_DISCOVERY_UPDATE:
        entry_set_policy(e, r, res->txt_id, now, now, d->expires_at);
        break;
    case STS_DISCOVERY_NEGATIVE:
        e->negative_until = d->until;
        e->tempfail_until = 0;
        e->reason = d->reason;
        e->fetch = d->fetch;
        break;
    case STS_DISCOVERY_TEMPFAIL:
        e->tempfail_until = d->until;
        e->reason = d->reason;
        e->fetch = d->fetch;
        break;
    default:
        break;
    }
    sts_lru_shard_unlock(s);
}

/* One discovery of a domain: the store first (once), then discovery_io.h. */
static void run_job(void *arg, struct sts_job *job, void *scratch)
{
    (void)scratch;
    struct sts_cache *c = arg;
    struct entry *e = STS_JOB_OWNER(job, struct entry, job.job);
    struct sts_lru_shard *s = shard_of_entry(c, e);
    int64_t now = now_s(c);

    sts_lru_shard_lock(s);
    bool loaded = e->loaded;
    sts_lru_shard_unlock(s);
    if (!loaded)
        load_from_store(c, e, now);

    /* What the cache holds now (a reference, so it stays while we work). */
    struct policy_ref *held = NULL;
    struct sts_discovery_io_cached cached = {0};
    char held_id[STS_TXT_ID_MAX + 1] = "";
    sts_lru_shard_lock(s);
    if (has_policy(e, now)) {
        held = ref_get(e->pol);
        snprintf(held_id, sizeof(held_id), "%s", e->id);
        cached = (struct sts_discovery_io_cached){held->policy, held_id, e->expires_at};
    }
    sts_lru_shard_unlock(s);

    struct sts_discovery_io_env env = {
        .dns = c->cfg.dns,
        .store = c->cfg.store,
        .fetch = &c->cfg.fetch,
        .set = {.negative_ttl_s = c->cfg.negative_ttl_s,
                .tempfail_ttl_s = c->cfg.tempfail_ttl_s,
                .backoff_s = c->cfg.backoff_s},
        .log = &c->log,
    };
    struct sts_discovery_io_result res;
    sts_discovery_io_run(&env, domain_of(e), now, &cached, &res);
    apply_entry(c, e, now, &res, held, res.policy);
    ref_put(held);
}

/* After the pool counted the discovery: the entry is free again, its waiters wake. */
static void finish_job(void *arg, struct sts_job *job)
{
    struct sts_cache *c = arg;
    struct entry *e = STS_JOB_OWNER(job, struct entry, job.job);
    sts_lru_job_finish(shard_of_entry(c, e), e, &e->job);
}

/* ---- background refresher ---- */

/* Deterministic per-domain jitter in [0, span): spreads renewals out. */
static int64_t jitter(const struct entry *e, int64_t span)
{
    return span > 0 ? (int64_t)(sts_lru_value_hash(e) % (uint64_t)span) : 0;
}

static void refresh_pass(void *arg)
{
    struct sts_cache *c = arg;
    int64_t now = now_s(c);
    int64_t window = c->cfg.refresh_window_s ? c->cfg.refresh_window_s : 86400;
    int64_t recent = c->cfg.recent_use_s ? c->cfg.recent_use_s : 7 * 86400;
    int64_t recheck = recheck_s(c);
    for (unsigned i = 0; i < sts_lru_map_nshards(c->map); i++) {
        struct sts_lru_shard *s = sts_lru_map_shard_at(c->map, i);
        sts_lru_shard_lock(s);
        for (struct entry *e = sts_lru_shard_oldest(s), *next; e != NULL; e = next) {
            next = sts_lru_newer(e);
            /*
             * Unused for longer than "recent": drop it from memory (the
             * store keeps any policy; not when the store could not be
             * read, as memory may be the only copy).  A pinned entry (a
             * job, a lookup) is not freed.
             */
            if (now - e->last_used > recent && (e->loaded || e->pol == NULL) &&
                sts_lru_shard_remove(s, e))
                continue;
            if (e->pol != NULL && !e->job.job.inflight) {
                int64_t renew_at = e->expires_at - window + jitter(e, window / 4);
                if (now >= renew_at || now - e->checked_at >= recheck)
                    schedule(c, e);
            }
        }
        sts_lru_shard_unlock(s);
    }
}

/* ---- public API ---- */

enum sts_status sts_cache_new(const struct sts_cache_config *cfg, struct sts_cache **out, char *err,
                              size_t errlen)
{
    *out = NULL;
    if (cfg->dns == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "the cache needs a resolver");
    struct sts_cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    c->cfg = *cfg;
    c->clock = (struct sts_clock){cfg->now, cfg->now_arg};
    c->log = (struct sts_log_sink){cfg->log, cfg->log_arg, 0};
    struct sts_lru_map_config mcfg = {
        .value_size = sizeof(struct entry),
        .shards = SHARDS,
        .max_entries = cfg->max_entries ? cfg->max_entries : FRONT_DEFAULT,
        .on_free = entry_free,
        .metrics_front = STS_METRICS_FRONT_POLICY,
    };
    enum sts_status st = sts_lru_map_new(&mcfg, &c->map, err, errlen);
    if (st != STS_OK) {
        free(c);
        return st;
    }
    struct sts_job_pool_config jcfg = {
        .workers = cfg->max_fetches ? cfg->max_fetches : 16,
        .queue_max = 0,             /* every domain asked for gets its discovery */
        .stop = STS_JOB_POOL_DRAIN, /* running and queued discoveries end first */
        .run = run_job,
        .finish = finish_job,
        .arg = c,
        .refresh_interval_ms = cfg->refresh_interval_s * 1000u,
        .refresh = cfg->refresh_interval_s > 0 ? refresh_pass : NULL,
    };
    if ((st = sts_job_pool_new(&jcfg, &c->pool, err, errlen)) != STS_OK) {
        sts_cache_free(c);
        return st;
    }
    *out = c;
    return STS_OK;
}

void sts_cache_free(struct sts_cache *c)
{
    if (c == NULL)
        return;
    sts_job_pool_free(c->pool); /* the refresher, then every queued discovery */
    sts_lru_map_free(c->map);
    free(c);
}

/*
 * What the entry says now, under the shard lock: its policy, or (unless
 * policy_only) a remembered "no policy" or DNS failure.  Returns false
 * when it says nothing yet (a discovery is needed).
 */
static bool answer_from(struct sts_cache *c, struct entry *e, int64_t now,
                        enum sts_lookup_source source, bool policy_only,
                        struct sts_cache_result *out)
{
    if (has_policy(e, now)) {
        out->outcome = STS_LOOKUP_POLICY;
        out->source = source;
        out->ref_ = ref_get(e->pol);
        out->policy = e->pol->policy;
        snprintf(out->id, sizeof(out->id), "%s", e->id);
        out->expires_at = e->expires_at;
        out->reason = STS_LOOKUP_REASON_CACHED;
        if (now - e->checked_at >= (int64_t)recheck_s(c))
            schedule(c, e); /* re-check the TXT id in the background */
        return true;
    }
    if (!policy_only && (e->negative_until > now || e->tempfail_until > now)) {
        out->outcome = e->negative_until > now ? STS_LOOKUP_NO_POLICY : STS_LOOKUP_TEMPFAIL;
        out->source = source;
        out->reason = e->reason;
        out->fetch = e->fetch;
        return true;
    }
    return false;
}

/* The answer when the store could not be read and memory has no policy. */
static void answer_store_error(struct sts_cache_result *out)
{
    out->outcome = STS_LOOKUP_ERROR;
    out->source = STS_SOURCE_STORE;
    out->reason = STS_LOOKUP_REASON_STORE_ERROR;
}

/* Discover (sharing a discovery in flight) and wait up to the deadline (shard locked). */
static void discover_and_wait(struct sts_cache *c, struct sts_lru_shard *s, struct entry *e,
                              unsigned deadline_ms, bool store_read, struct sts_cache_result *out)
{
    struct sts_deadline d = sts_deadline_in(deadline_ms);
    schedule(c, e);
    if (sts_lru_job_wait(s, e, &e->job, d)) {
        if (answer_from(c, e, now_s(c), STS_SOURCE_DISCOVERY, !store_read, out))
            return;
        if (!store_read) {
            answer_store_error(out);
            return;
        }
        out->outcome = STS_LOOKUP_NO_POLICY;
        out->source = STS_SOURCE_DISCOVERY;
        out->reason = STS_LOOKUP_REASON_NO_POLICY;
    } else if (!store_read) {
        answer_store_error(out);
    } else {
        out->outcome = STS_LOOKUP_PENDING;
        out->reason = STS_LOOKUP_REASON_DISCOVERY_TIMEOUT;
    }
}

enum sts_status sts_cache_lookup(struct sts_cache *c, const char *domain, unsigned deadline_ms,
                                 struct sts_cache_result *out)
{
    memset(out, 0, sizeof(*out));
    int64_t now = now_s(c);
    uint32_t h;
    struct sts_lru_shard *s = shard_of(c, domain, &h);

    sts_lru_shard_lock(s);
    struct entry *e = sts_lru_shard_get(s, h, domain, 0, NULL);
    if (e == NULL) {
        sts_lru_shard_unlock(s);
        out->outcome = STS_LOOKUP_ERROR;
        out->reason = STS_LOOKUP_REASON_OUT_OF_MEMORY;
        return STS_ENOMEM;
    }
    e->last_used = now;
    bool store_read = true;
    if (!e->loaded) {
        sts_lru_pin(e);
        sts_lru_shard_unlock(s);
        store_read = load_from_store(c, e, now);
        sts_lru_shard_lock(s);
        sts_lru_unpin(e);
        /* unread: only a policy in memory answers; a remembered failure is the store's */
        if (answer_from(c, e, now, store_read ? STS_SOURCE_STORE : STS_SOURCE_FRONT, !store_read,
                        out)) {
            sts_lru_shard_unlock(s);
            return STS_OK;
        }
        if (!store_read && (e->negative_until > now || e->tempfail_until > now)) {
            answer_store_error(out); /* discovered lately: not again at every lookup */
            sts_lru_shard_unlock(s);
            return STS_OK;
        }
    } else if (answer_from(c, e, now, STS_SOURCE_FRONT, false, out)) {
        sts_lru_shard_unlock(s);
        return STS_OK;
    }

    discover_and_wait(c, s, e, deadline_ms, store_read, out);
    sts_lru_shard_unlock(s);
    return STS_OK;
}

bool sts_cache_peek(struct sts_cache *c, const char *domain, struct sts_cache_result *out)
{
    memset(out, 0, sizeof(*out));
    int64_t now = now_s(c);
    uint32_t h;
    struct sts_lru_shard *s = shard_of(c, domain, &h);
    bool hit = false;
    sts_lru_shard_lock(s);
    struct entry *e = sts_lru_shard_find(s, h, domain, 0);
    /* unloaded (never read, forgotten, or the store failed): only a policy in memory */
    if (e != NULL && answer_from(c, e, now, STS_SOURCE_FRONT, !e->loaded, out)) {
        e->last_used = now;
        sts_lru_shard_touch(s, e);
        hit = true;
    }
    sts_lru_shard_unlock(s);
    return hit;
}

enum sts_status sts_cache_wait_idle(struct sts_cache *c, unsigned timeout_ms)
{
    return sts_job_pool_wait_idle(c->pool, timeout_ms);
}

void sts_cache_result_clear(struct sts_cache_result *res)
{
    if (res == NULL)
        return;
    ref_put(res->ref_);
    memset(res, 0, sizeof(*res));
}

void sts_cache_forget(struct sts_cache *c, const char *domain)
{
    uint32_t h;
    struct sts_lru_shard *s = shard_of(c, domain, &h);
    sts_lru_shard_lock(s);
    struct entry *e = sts_lru_shard_find(s, h, domain, 0);
    if (e != NULL) {
        ref_put(e->pol);
        e->pol = NULL;
        e->id[0] = '\0';
        e->negative_until = e->tempfail_until = 0;
        e->loaded = false;
    }
    sts_lru_shard_unlock(s);
}
