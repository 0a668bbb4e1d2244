/*
 * cache.c - policy discovery and caching (RFC 8461 §3, §5).
 *
 * Locking protocol (see also cache.h):
 *   - the front cache is split into SHARDS shards, each with one mutex
 *     guarding its hash chains and every field of its entries, and one
 *     condition variable broadcast whenever a discovery of one of its
 *     domains ends;
 *   - the job queue has its own mutex; a shard mutex may be taken while
 *     holding nothing, and the queue mutex while holding a shard mutex,
 *     never the other way round;
 *   - no mutex is held across DNS, HTTPS or store I/O.
 *
 * The front is bounded (max_entries, default FRONT_DEFAULT): each shard
 * keeps its entries on an LRU list and, to make room, frees the least
 * recently used idle ones; a freed domain is loaded again from the store
 * at its next lookup.  Each shard's hash table doubles when it holds more
 * entries than buckets, so chains stay short at any size.  An entry is
 * idle, and may be freed, when no discovery holds it (!inflight) and no
 * lookup does (pins == 0: a lookup pins the entry it found under the
 * shard lock and unpins it before it returns), so a pointer held by a job
 * or a waiter stays valid; "forgetting" a domain only clears its state.
 */
#include "mtasts/cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "mtasts/discovery.h"
#include "mtasts/discovery_io.h"
#include "mtasts/metrics.h"

#define SHARDS 64
#define BUCKETS_MIN 64      /* per shard at start; doubles as it fills */
#define FRONT_DEFAULT 65536 /* entries in memory, all shards together */
#define EVICT_SCAN 8        /* LRU entries tried before letting it grow */

/* An immutable policy shared by the front cache and lookup results. */
struct policy_ref {
    atomic_int refs;
    struct sts_policy *policy;
};

struct entry {
    struct entry *next;          /* hash chain */
    struct entry *newer, *older; /* the shard's LRU list */
    unsigned pins;               /* lookups holding the entry */
    struct policy_ref *pol;      /* NULL when nothing valid is cached */
    char id[STS_TXT_ID_MAX + 1];
    int64_t expires_at, checked_at, fetched_at, last_used;
    int64_t negative_until, tempfail_until;
    enum sts_lookup_reason reason; /* why negative/tempfail */
    enum sts_fetch_result fetch;   /* ... for FETCH_FAILED */
    unsigned generation;           /* bumped at the end of every discovery */
    bool loaded;                   /* the store has been consulted */
    bool inflight;                 /* a discovery is queued or running */
    char domain[];
};

struct shard {
    pthread_mutex_t mu;
    pthread_cond_t done;
    struct entry **buckets;
    size_t nbuckets, count;
    struct entry *newest, *oldest;
};

struct job {
    struct job *next;
    struct entry *entry;
};

struct sts_cache {
    struct sts_cache_config cfg;
    size_t shard_cap; /* entries per shard before evicting */
    struct shard shards[SHARDS];

    pthread_mutex_t qmu;
    pthread_cond_t qcond;
    struct job *qhead, *qtail;
    bool stopping;
    unsigned running;    /* jobs being worked on */
    pthread_cond_t idle; /* with qmu: queue empty and running == 0 */
    pthread_t *workers;
    unsigned nworkers;

    pthread_t refresher;
    bool have_refresher;
    pthread_cond_t refresh_cond; /* with qmu: wakes the refresher to stop */
};

/* ---- small helpers ---- */

static int64_t now_s(const struct sts_cache *c)
{
    return c->cfg.now ? c->cfg.now(c->cfg.now_arg) : (int64_t)time(NULL);
}

static void logf_(const struct sts_cache *c, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(const struct sts_cache *c, int prio, const char *fmt, ...)
{
    if (c->cfg.log == NULL)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    c->cfg.log(c->cfg.log_arg, prio, line);
}

/* FNV-1a: domains are short and already lower-case. */
static uint32_t hash_domain(const char *d)
{
    uint32_t h = 2166136261u;
    for (; *d; d++)
        h = (h ^ (unsigned char)*d) * 16777619u;
    return h;
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

/* The domain's shard; *hash receives its hash (for chain_of()). */
static struct shard *shard_of(struct sts_cache *c, const char *domain, uint32_t *hash)
{
    *hash = hash_domain(domain);
    return &c->shards[*hash % SHARDS];
}

/* ---- the shard's table and LRU list (shard locked) ---- */

static struct entry **chain_of(struct shard *s, uint32_t h)
{
    return &s->buckets[(h / SHARDS) & (s->nbuckets - 1)];
}

static void lru_unlink(struct shard *s, struct entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        s->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        s->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(struct shard *s, struct entry *e)
{
    e->older = s->newest;
    e->newer = NULL;
    if (s->newest)
        s->newest->newer = e;
    s->newest = e;
    if (s->oldest == NULL)
        s->oldest = e;
}

static void table_grow(struct shard *s)
{
    size_t n = s->nbuckets * 2;
    struct entry **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct entry *e = s->buckets[i];
        while (e != NULL) {
            struct entry *next = e->next;
            size_t j = (hash_domain(e->domain) / SHARDS) & (n - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
}

/* Unlink and free an idle entry. */
static void entry_remove(struct shard *s, struct entry *e)
{
    for (struct entry **l = chain_of(s, hash_domain(e->domain)); *l != NULL; l = &(*l)->next)
        if (*l == e) {
            *l = e->next;
            break;
        }
    lru_unlink(s, e);
    s->count--;
    sts_metrics_front_add(STS_METRICS_FRONT_POLICY, -1);
    ref_put(e->pol);
    free(e);
}

static bool entry_idle(const struct entry *e)
{
    return !e->inflight && e->pins == 0;
}

/* Find or create under the shard lock, pinned and marked most recently
   used.  NULL only when out of memory. */
static struct entry *entry_get(struct sts_cache *c, struct shard *s, uint32_t h, const char *domain)
{
    struct entry *e;
    for (e = *chain_of(s, h); e != NULL; e = e->next)
        if (strcmp(e->domain, domain) == 0)
            break;
    if (e != NULL) {
        if (s->newest != e) {
            lru_unlink(s, e);
            lru_push(s, e);
        }
        e->pins++;
        return e;
    }
    struct entry *old = s->oldest;
    for (int i = 0; s->count >= c->shard_cap && old != NULL && i < EVICT_SCAN; i++) {
        struct entry *newer = old->newer;
        if (entry_idle(old)) {
            entry_remove(s, old);
            sts_metrics_front_evicted(STS_METRICS_FRONT_POLICY);
        }
        old = newer;
    }
    if (s->count + 1 > s->nbuckets)
        table_grow(s);
    size_t len = strlen(domain);
    e = calloc(1, sizeof(*e) + len + 1);
    if (e == NULL)
        return NULL;
    memcpy(e->domain, domain, len + 1);
    struct entry **l = chain_of(s, h);
    e->next = *l;
    *l = e;
    lru_push(s, e);
    s->count++;
    sts_metrics_front_add(STS_METRICS_FRONT_POLICY, 1);
    e->pins = 1;
    return e;
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

/* ---- the job queue ---- */

/* Queue a discovery unless one is in flight; call with the shard locked. */
static void schedule(struct sts_cache *c, struct entry *e)
{
    if (e->inflight)
        return;
    struct job *j = malloc(sizeof(*j));
    if (j == NULL)
        return; /* the lookup will time out and report PENDING */
    j->entry = e;
    j->next = NULL;
    e->inflight = true;
    pthread_mutex_lock(&c->qmu);
    if (c->qtail)
        c->qtail->next = j;
    else
        c->qhead = j;
    c->qtail = j;
    pthread_cond_signal(&c->qcond);
    pthread_mutex_unlock(&c->qmu);
}

/* ---- discovery (runs on a worker, no lock held across I/O) ---- */

/* The policy the cache held when a discovery started. */
struct held {
    struct policy_ref *pol; /* referenced; NULL if nothing valid cached */
    char id[STS_TXT_ID_MAX + 1];
    int64_t expires_at;
};

static void finish(struct sts_cache *c, struct entry *e)
{
    uint32_t b;
    struct shard *s = shard_of(c, e->domain, &b);
    pthread_mutex_lock(&s->mu);
    e->inflight = false;
    e->generation++;
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
}

/* Load the store's view of a domain into the entry, once. */
static void load_from_store(struct sts_cache *c, struct entry *e, int64_t now)
{
    struct sts_store_entry se = {0};
    struct sts_store_negative neg = {0};
    char err[256];
    bool have = false, have_neg = false;
    struct policy_ref *r = NULL;

    if (c->cfg.store != NULL) {
        enum sts_status st = sts_store_get(c->cfg.store, e->domain, &se, err, sizeof(err));
        if (st == STS_OK && se.expires_at > now && (r = ref_new(se.policy)) != NULL) {
            se.policy = NULL; /* now owned by r */
            have = true;
        } else if (st == STS_EIO) {
            logf_(c, LOG_ERR, "domain=%s event=store-error reason=\"%s\"", e->domain, err);
        }
        have_neg =
            sts_store_negative_get(c->cfg.store, e->domain, now, &neg, err, sizeof(err)) == STS_OK;
    }

    uint32_t b;
    struct shard *s = shard_of(c, e->domain, &b);
    pthread_mutex_lock(&s->mu);
    if (!e->loaded) {
        if (have && e->pol == NULL) {
            entry_set_policy(e, r, se.id, se.fetched_at, se.checked_at, se.expires_at);
            r = NULL;
        }
        if (have_neg && e->pol == NULL) {
            e->negative_until = neg.until;
            if (!sts_lookup_reason_parse(neg.reason, &e->reason, &e->fetch))
                e->reason = STS_LOOKUP_REASON_NO_POLICY; /* a word of another build */
        }
        e->loaded = true;
    }
    pthread_mutex_unlock(&s->mu);
    ref_put(r);
    sts_store_entry_clear(&se);
}

static void take_snapshot(struct sts_cache *c, struct entry *e, int64_t now, struct held *sn)
{
    uint32_t b;
    struct shard *s = shard_of(c, e->domain, &b);
    memset(sn, 0, sizeof(*sn));
    pthread_mutex_lock(&s->mu);
    if (e->pol != NULL && e->expires_at > now) {
        sn->pol = ref_get(e->pol);
        snprintf(sn->id, sizeof(sn->id), "%s", e->id);
        sn->expires_at = e->expires_at;
    }
    pthread_mutex_unlock(&s->mu);
}

static void store_error(const struct sts_cache *c, const char *domain, const char *err)
{
    logf_(c, LOG_ERR, "domain=%s event=store-error reason=\"%s\"", domain, err);
}

/* The store writes a decision asks for. */
static void apply_writes(struct sts_cache *c, const char *domain,
                         const struct sts_discovery_facts *f,
                         const struct sts_discovery_decision *d, const struct sts_policy *p,
                         const char *reason)
{
    char err[256];
    if (c->cfg.store == NULL)
        return;
    if ((d->writes & STS_DISCOVERY_WRITE_BACKOFF) &&
        sts_store_backoff_put(c->cfg.store, domain, f->txt_id, d->backoff_until, reason, err,
                              sizeof(err)) != STS_OK)
        store_error(c, domain, err);
    if (d->writes & STS_DISCOVERY_WRITE_NEGATIVE) {
        struct sts_store_negative neg = {.until = d->until};
        snprintf(neg.domain, sizeof(neg.domain), "%s", domain);
        snprintf(neg.reason, sizeof(neg.reason), "%s", reason);
        if (sts_store_negative_put(c->cfg.store, &neg, err, sizeof(err)) != STS_OK)
            store_error(c, domain, err);
    }
    if ((d->writes & STS_DISCOVERY_WRITE_REFRESH) &&
        sts_store_refresh(c->cfg.store, domain, f->now, d->expires_at, err, sizeof(err)) == STS_EIO)
        store_error(c, domain, err);
    if ((d->writes & STS_DISCOVERY_WRITE_POLICY) && p != NULL) {
        struct sts_store_entry se = {
            .policy = (struct sts_policy *)p,
            .fetched_at = f->now,
            .checked_at = f->now,
            .expires_at = d->expires_at,
            .last_used = f->now,
        };
        snprintf(se.domain, sizeof(se.domain), "%s", domain);
        snprintf(se.id, sizeof(se.id), "%s", f->txt_id);
        if (sts_store_put(c->cfg.store, &se, err, sizeof(err)) != STS_OK)
            store_error(c, domain, err);
    }
}

/* The log lines a decision asks for, in discovery.h's order. */
static void apply_logs(const struct sts_cache *c, const char *domain,
                       const struct sts_discovery_facts *f, const struct sts_discovery_decision *d,
                       const struct held *sn, const struct sts_policy *p, const char *reason,
                       const char *detail)
{
    bool kept = d->action == STS_DISCOVERY_KEEP;
    if (d->logs & STS_DISCOVERY_LOG_FETCH_FAILED)
        logf_(c, LOG_WARNING,
              "domain=%s event=fetch-failed id=%s reason=%s detail=\"%s\" action=%s backoff=%u",
              domain, f->txt_id, reason, detail, kept ? "keep-cached" : "no-policy", d->backoff_s);
    if (d->logs & STS_DISCOVERY_LOG_TXT_MISSING)
        logf_(c, LOG_WARNING,
              "domain=%s event=txt-missing reason=%s action=keep-cached id=%s expires_in=%lld",
              domain, reason, sn->id, (long long)(sn->expires_at - f->now));
    if (d->logs & STS_DISCOVERY_LOG_TXT_LOOKUP_FAILED)
        logf_(c, LOG_WARNING, "domain=%s event=txt-lookup-failed reason=%s%s", domain, reason,
              kept ? " action=keep-cached" : "");
    if (d->logs & STS_DISCOVERY_LOG_NO_POLICY)
        logf_(c, LOG_INFO, "domain=%s event=no-policy reason=%s", domain, reason);
    if ((d->logs & STS_DISCOVERY_LOG_POLICY_UPDATED) && p != NULL)
        logf_(c, LOG_INFO, "domain=%s event=policy-updated id=%s mode=%s max_age=%u old_id=%s",
              domain, f->txt_id, sts_mode_name(p->mode), p->max_age,
              sn->pol != NULL ? sn->id : "-");
}

/* The domain's new state in memory (takes over p). */
static void apply_entry(struct sts_cache *c, struct entry *e, const struct sts_discovery_facts *f,
                        const struct sts_discovery_decision *d, const struct held *sn,
                        struct sts_policy *p)
{
    struct policy_ref *r = NULL;
    if (d->action == STS_DISCOVERY_UPDATE && (r = ref_new(p)) == NULL) {
        sts_policy_free(p);
        return;
    }
    uint32_t b;
    struct shard *s = shard_of(c, e->domain, &b);
    pthread_mutex_lock(&s->mu);
    switch (d->action) {
    case STS_DISCOVERY_EXTEND:
        if (e->pol == sn->pol) { /* not replaced meanwhile */
            e->checked_at = f->now;
            e->expires_at = d->expires_at;
        }
        break;
    case STS_DISCOVERY_UPDATE:
        entry_set_policy(e, r, f->txt_id, f->now, f->now, d->expires_at);
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
    pthread_mutex_unlock(&s->mu);
}

/*
 * One discovery of a domain (on a worker, no lock held across I/O): the
 * facts are gathered step by step and discovery.h decides after each.
 */
static void discover(struct sts_cache *c, struct entry *e)
{
    struct sts_discovery_settings set = {
        .negative_ttl_s = c->cfg.negative_ttl_s,
        .tempfail_ttl_s = c->cfg.tempfail_ttl_s,
        .backoff_s = c->cfg.backoff_s,
    };
    struct sts_discovery_facts f = {.now = now_s(c)};
    uint32_t b;
    struct shard *s = shard_of(c, e->domain, &b);
    pthread_mutex_lock(&s->mu);
    bool loaded = e->loaded;
    pthread_mutex_unlock(&s->mu);
    if (!loaded)
        load_from_store(c, e, f.now);

    struct held sn;
    take_snapshot(c, e, f.now, &sn);
    f.cached = sn.pol != NULL;
    f.cached_id = sn.id;
    f.cached_max_age = sn.pol != NULL ? sn.pol->policy->max_age : 0;

    struct sts_discovery_io_txt txt;
    struct sts_discovery_io_fetch fetch = {0};
    char err[256], reason[64];
    sts_discovery_io_txt(c->cfg.dns, e->domain, &f, &txt);
    if (f.txt == STS_DISCOVERY_TXT_INVALID)
        logf_(c, LOG_INFO, "domain=%s event=txt-invalid reason=\"%s\"", e->domain, txt.err);

    struct sts_discovery_decision d;
    sts_discovery_decide(&f, &set, &d);
    if (d.action == STS_DISCOVERY_CHECK_BACKOFF) {
        int64_t until = 0;
        f.backoff_checked = true;
        if (c->cfg.store != NULL && sts_store_backoff_get(c->cfg.store, e->domain, f.txt_id, f.now,
                                                          &until, err, sizeof(err)) == STS_OK)
            f.backoff_until = until;
        sts_discovery_decide(&f, &set, &d);
    }
    if (d.action == STS_DISCOVERY_FETCH) {
        sts_discovery_io_fetch(&c->cfg.fetch, c->cfg.dns, e->domain, &f, &fetch);
        sts_discovery_decide(&f, &set, &d);
    }

    sts_lookup_reason_format(d.reason, d.fetch, reason, sizeof(reason));
    struct sts_policy *p = fetch.policy;
    apply_writes(c, e->domain, &f, &d, p, reason);
    apply_logs(c, e->domain, &f, &d, &sn, p, reason, fetch.resp.detail);
    if (d.action == STS_DISCOVERY_UPDATE) {
        fetch.policy = NULL; /* taken over by the entry */
        apply_entry(c, e, &f, &d, &sn, p);
    } else {
        apply_entry(c, e, &f, &d, &sn, NULL);
    }
    sts_discovery_io_fetch_clear(&fetch);
    sts_discovery_io_txt_clear(&txt);
    ref_put(sn.pol);
}

static void *worker_main(void *arg)
{
    struct sts_cache *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->qmu);
        while (c->qhead == NULL && !c->stopping)
            pthread_cond_wait(&c->qcond, &c->qmu);
        struct job *j = c->qhead;
        if (j == NULL) { /* stopping and drained */
            pthread_mutex_unlock(&c->qmu);
            return NULL;
        }
        c->qhead = j->next;
        if (c->qhead == NULL)
            c->qtail = NULL;
        c->running++;
        pthread_mutex_unlock(&c->qmu);

        discover(c, j->entry);
        finish(c, j->entry);
        free(j);

        pthread_mutex_lock(&c->qmu);
        if (--c->running == 0 && c->qhead == NULL)
            pthread_cond_broadcast(&c->idle);
        pthread_mutex_unlock(&c->qmu);
    }
}

/* ---- background refresher ---- */

/* Deterministic per-domain jitter in [0, span): spreads renewals out. */
static int64_t jitter(const char *domain, int64_t span)
{
    return span > 0 ? (int64_t)(hash_domain(domain) % (uint64_t)span) : 0;
}

static void refresh_pass(struct sts_cache *c)
{
    int64_t now = now_s(c);
    int64_t window = c->cfg.refresh_window_s ? c->cfg.refresh_window_s : 86400;
    int64_t recent = c->cfg.recent_use_s ? c->cfg.recent_use_s : 7 * 86400;
    unsigned recheck = c->cfg.recheck_s ? c->cfg.recheck_s : 3600;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &c->shards[i];
        pthread_mutex_lock(&s->mu);
        struct entry *e = s->oldest;
        while (e != NULL) {
            struct entry *newer = e->newer;
            /*
             * Unused for longer than "recent": drop it from memory (the
             * store keeps any policy).  Nothing else holds the entry: no
             * job (not inflight) and no lookup (not pinned).
             */
            if (entry_idle(e) && now - e->last_used > recent) {
                entry_remove(s, e);
            } else if (e->pol != NULL && !e->inflight) {
                int64_t renew_at = e->expires_at - window + jitter(e->domain, window / 4);
                if (now >= renew_at || now - e->checked_at >= (int64_t)recheck)
                    schedule(c, e);
            }
            e = newer;
        }
        pthread_mutex_unlock(&s->mu);
    }
}

static void *refresher_main(void *arg)
{
    struct sts_cache *c = arg;
    pthread_mutex_lock(&c->qmu);
    while (!c->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += c->cfg.refresh_interval_s;
        while (!c->stopping && pthread_cond_timedwait(&c->refresh_cond, &c->qmu, &ts) != ETIMEDOUT)
            ;
        if (c->stopping)
            break;
        pthread_mutex_unlock(&c->qmu);
        refresh_pass(c); /* takes shard locks, then qmu inside schedule() */
        pthread_mutex_lock(&c->qmu);
    }
    pthread_mutex_unlock(&c->qmu);
    return NULL;
}

/* ---- public API ---- */

static void deadline_after(struct timespec *ts, unsigned ms);

static int init_cond_monotonic(pthread_cond_t *cv)
{
    pthread_condattr_t a;
    if (pthread_condattr_init(&a) != 0)
        return -1;
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cv, &a);
    pthread_condattr_destroy(&a);
    return rc;
}

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
    size_t cap = cfg->max_entries ? cfg->max_entries : FRONT_DEFAULT;
    c->shard_cap = cap / SHARDS > 0 ? cap / SHARDS : 1;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_init(&c->shards[i].mu, NULL);
        init_cond_monotonic(&c->shards[i].done);
        c->shards[i].nbuckets = BUCKETS_MIN;
        c->shards[i].buckets = calloc(BUCKETS_MIN, sizeof(struct entry *));
        if (c->shards[i].buckets == NULL) {
            sts_cache_free(c);
            return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
        }
    }
    pthread_mutex_init(&c->qmu, NULL);
    pthread_cond_init(&c->qcond, NULL);
    init_cond_monotonic(&c->refresh_cond);
    init_cond_monotonic(&c->idle);

    unsigned n = cfg->max_fetches ? cfg->max_fetches : 16;
    c->workers = calloc(n, sizeof(*c->workers));
    if (c->workers == NULL) {
        sts_cache_free(c);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    }
    for (; c->nworkers < n; c->nworkers++)
        if (pthread_create(&c->workers[c->nworkers], NULL, worker_main, c) != 0) {
            sts_cache_free(c);
            return sts_status_set(STS_ENOMEM, err, errlen, "cannot start discovery threads");
        }
    if (cfg->refresh_interval_s > 0) {
        if (pthread_create(&c->refresher, NULL, refresher_main, c) != 0) {
            sts_cache_free(c);
            return sts_status_set(STS_ENOMEM, err, errlen, "cannot start the refresher");
        }
        c->have_refresher = true;
    }
    *out = c;
    return STS_OK;
}

void sts_cache_free(struct sts_cache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->qmu);
    c->stopping = true;
    pthread_cond_broadcast(&c->qcond);
    pthread_cond_broadcast(&c->refresh_cond);
    pthread_mutex_unlock(&c->qmu);
    if (c->have_refresher)
        pthread_join(c->refresher, NULL);
    for (unsigned i = 0; i < c->nworkers; i++)
        pthread_join(c->workers[i], NULL); /* each drains the queue first */
    free(c->workers);
    for (int i = 0; i < SHARDS; i++) {
        struct entry *e = c->shards[i].newest;
        while (e != NULL) {
            struct entry *older = e->older;
            ref_put(e->pol);
            free(e);
            sts_metrics_front_add(STS_METRICS_FRONT_POLICY, -1);
            e = older;
        }
        free(c->shards[i].buckets);
        pthread_mutex_destroy(&c->shards[i].mu);
        pthread_cond_destroy(&c->shards[i].done);
    }
    pthread_mutex_destroy(&c->qmu);
    pthread_cond_destroy(&c->qcond);
    pthread_cond_destroy(&c->refresh_cond);
    pthread_cond_destroy(&c->idle);
    free(c);
}

/*
 * What the entry says now, under the shard lock.  Returns false when it
 * says nothing yet (a discovery is needed).
 */
static bool answer_from(struct sts_cache *c, struct entry *e, int64_t now,
                        enum sts_lookup_source source, struct sts_cache_result *out)
{
    if (e->pol != NULL && e->expires_at > now) {
        out->outcome = STS_LOOKUP_POLICY;
        out->source = source;
        out->ref_ = ref_get(e->pol);
        out->policy = e->pol->policy;
        snprintf(out->id, sizeof(out->id), "%s", e->id);
        out->expires_at = e->expires_at;
        out->reason = STS_LOOKUP_REASON_CACHED;
        unsigned recheck = c->cfg.recheck_s ? c->cfg.recheck_s : 3600;
        if (now - e->checked_at >= (int64_t)recheck)
            schedule(c, e); /* re-check the TXT id in the background */
        return true;
    }
    if (e->negative_until > now || e->tempfail_until > now) {
        out->outcome = e->negative_until > now ? STS_LOOKUP_NO_POLICY : STS_LOOKUP_TEMPFAIL;
        out->source = source;
        out->reason = e->reason;
        out->fetch = e->fetch;
        return true;
    }
    return false;
}

enum sts_status sts_cache_lookup(struct sts_cache *c, const char *domain, unsigned deadline_ms,
                                 struct sts_cache_result *out)
{
    memset(out, 0, sizeof(*out));
    int64_t now = now_s(c);
    uint32_t b;
    struct shard *s = shard_of(c, domain, &b);

    pthread_mutex_lock(&s->mu);
    struct entry *e = entry_get(c, s, b, domain);
    if (e == NULL) {
        pthread_mutex_unlock(&s->mu);
        out->outcome = STS_LOOKUP_ERROR;
        out->reason = STS_LOOKUP_REASON_OUT_OF_MEMORY;
        return STS_ENOMEM;
    }
    e->last_used = now;
    bool loaded = e->loaded;
    if (loaded && answer_from(c, e, now, STS_SOURCE_FRONT, out)) {
        e->pins--;
        pthread_mutex_unlock(&s->mu);
        return STS_OK;
    }
    pthread_mutex_unlock(&s->mu);

    if (!loaded) {
        load_from_store(c, e, now);
        pthread_mutex_lock(&s->mu);
        if (answer_from(c, e, now, STS_SOURCE_STORE, out)) {
            e->pins--;
            pthread_mutex_unlock(&s->mu);
            return STS_OK;
        }
        pthread_mutex_unlock(&s->mu);
    }

    /* Discover, sharing any discovery already running, up to the deadline. */
    struct timespec ts;
    deadline_after(&ts, deadline_ms);
    pthread_mutex_lock(&s->mu);
    schedule(c, e);
    unsigned gen = e->generation;
    int rc = 0;
    while (e->generation == gen && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&s->done, &s->mu, &ts);
    if (e->generation != gen) {
        now = now_s(c);
        if (!answer_from(c, e, now, STS_SOURCE_DISCOVERY, out)) {
            out->outcome = STS_LOOKUP_NO_POLICY;
            out->source = STS_SOURCE_DISCOVERY;
            out->reason = STS_LOOKUP_REASON_NO_POLICY;
        }
    } else {
        out->outcome = STS_LOOKUP_PENDING;
        out->reason = STS_LOOKUP_REASON_DISCOVERY_TIMEOUT;
    }
    e->pins--;
    pthread_mutex_unlock(&s->mu);
    return STS_OK;
}

bool sts_cache_peek(struct sts_cache *c, const char *domain, struct sts_cache_result *out)
{
    memset(out, 0, sizeof(*out));
    int64_t now = now_s(c);
    uint32_t h;
    struct shard *s = shard_of(c, domain, &h);
    bool hit = false;
    pthread_mutex_lock(&s->mu);
    struct entry *e = *chain_of(s, h);
    while (e != NULL && strcmp(e->domain, domain) != 0)
        e = e->next;
    if (e != NULL && e->loaded && answer_from(c, e, now, STS_SOURCE_FRONT, out)) {
        e->last_used = now;
        if (s->newest != e) {
            lru_unlink(s, e);
            lru_push(s, e);
        }
        hit = true;
    }
    pthread_mutex_unlock(&s->mu);
    return hit;
}

static void deadline_after(struct timespec *ts, unsigned ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

enum sts_status sts_cache_wait_idle(struct sts_cache *c, unsigned timeout_ms)
{
    struct timespec ts;
    deadline_after(&ts, timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&c->qmu);
    while ((c->qhead != NULL || c->running > 0) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&c->idle, &c->qmu, &ts);
    bool idle = c->qhead == NULL && c->running == 0;
    pthread_mutex_unlock(&c->qmu);
    return idle ? STS_OK : STS_EIO;
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
    uint32_t b;
    struct shard *s = shard_of(c, domain, &b);
    pthread_mutex_lock(&s->mu);
    for (struct entry *e = *chain_of(s, b); e != NULL; e = e->next)
        if (strcmp(e->domain, domain) == 0) {
            ref_put(e->pol);
            e->pol = NULL;
            e->id[0] = '\0';
            e->negative_until = e->tempfail_until = 0;
            e->loaded = false;
        }
    pthread_mutex_unlock(&s->mu);
}
