/*
 * probe_cache.c - MX TLS results: memory front, store rows, single-flight
 * probe jobs on a bounded worker pool, and a refresher (probe_cache.h).
 *
 * Locking protocol (see also probe_cache.h):
 *   - the front is split into SHARDS shards; each shard's mutex guards its
 *     hash chains, its entry count and every field of its entries, and its
 *     condition variable is broadcast whenever a job on one of its entries
 *     ends;
 *   - the queue mutex guards the job queue, the counters and "stopping";
 *     it may be taken while holding a shard mutex, never the reverse;
 *   - no mutex is held across DNS, probes (mx_tls.c) or the store.
 * An entry is freed (evicted, or dropped by the refresher) only while no
 * job refers to it (inflight false) and no get holds it (refs 0).
 */
#include "mtasts/probe_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "mx_tls.h"

#define SHARDS 32
#define BUCKETS_PER_SHARD 256

/* What is known of one (host, mx_secure). */
struct pentry {
    struct pentry *next;
    bool secure;                /* the MX RRset was SECURE: DANE may apply */
    bool loaded;                /* the store has been consulted */
    bool inflight;              /* a job is queued or running */
    bool used_dirty;            /* last_used not yet written to the store */
    unsigned refs;              /* gets holding the entry across an unlock */
    unsigned generation;        /* bumped at the end of every job */
    struct sts_tls_verdict tls; /* known: a verdict (it may have expired) */
    int64_t last_used;          /* marked used (refresher) */
    int64_t last_read;          /* any get (eviction order) */
    char host[];
};

struct shard {
    pthread_mutex_t mu;
    pthread_cond_t done;
    size_t count;
    struct pentry *buckets[BUCKETS_PER_SHARD];
};

struct job {
    struct job *next;
    struct pentry *e;
};

struct sts_probe_cache {
    struct sts_probe_cache_config cfg; /* defaults filled in */
    char helo[256];
    size_t shard_max; /* entries per shard */
    struct shard shards[SHARDS];

    pthread_mutex_t qmu;
    pthread_cond_t qcond; /* a job was queued, or stopping */
    pthread_cond_t idle;  /* queue empty and nothing running */
    pthread_cond_t refresh_cond;
    struct job *qhead, *qtail;
    unsigned queued, running;
    uint64_t probes, dropped;
    bool stopping;
    pthread_t *workers;
    unsigned nworkers;
    pthread_t refresher;
    bool have_refresher;
};

/* ---- small helpers ---- */

static int64_t now_s(const struct sts_probe_cache *pc)
{
    return pc->cfg.clock ? pc->cfg.clock(pc->cfg.clock_arg) : (int64_t)time(NULL);
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void logf_(const struct sts_probe_cache *pc, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void logf_(const struct sts_probe_cache *pc, int prio, const char *fmt, ...)
{
    if (pc->cfg.log == NULL)
        return;
    char line[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    pc->cfg.log(pc->cfg.log_arg, prio, line);
}

static uint32_t hash_key(const char *host, bool secure)
{
    uint32_t h = secure ? 2166136261u ^ 0x5a : 2166136261u;
    for (; *host; host++)
        h = (h ^ (unsigned char)*host) * 16777619u;
    return h;
}

static struct shard *shard_of(struct sts_probe_cache *pc, const char *host, bool secure,
                              uint32_t *bucket)
{
    uint32_t h = hash_key(host, secure);
    *bucket = (h / SHARDS) % BUCKETS_PER_SHARD;
    return &pc->shards[h % SHARDS];
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

/* ---- the front ---- */

static void unlink_entry(struct shard *s, struct pentry *victim)
{
    for (int b = 0; b < BUCKETS_PER_SHARD; b++)
        for (struct pentry **link = &s->buckets[b]; *link != NULL; link = &(*link)->next)
            if (*link == victim) {
                *link = victim->next;
                s->count--;
                free(victim);
                return;
            }
}

/* The shard is full: free its least recently read entry that nothing holds. */
static void evict_one(struct shard *s)
{
    struct pentry *victim = NULL;
    for (int b = 0; b < BUCKETS_PER_SHARD; b++)
        for (struct pentry *e = s->buckets[b]; e != NULL; e = e->next)
            if (!e->inflight && e->refs == 0 &&
                (victim == NULL || e->last_read < victim->last_read))
                victim = e;
    if (victim != NULL)
        unlink_entry(s, victim);
}

static struct pentry *entry_find(struct shard *s, uint32_t bucket, const char *host, bool secure)
{
    for (struct pentry *e = s->buckets[bucket]; e != NULL; e = e->next)
        if (e->secure == secure && strcmp(e->host, host) == 0)
            return e;
    return NULL;
}

/* Find or create under the shard lock.  NULL only when out of memory. */
static struct pentry *entry_get(struct sts_probe_cache *pc, struct shard *s, uint32_t bucket,
                                const char *host, bool secure)
{
    struct pentry *e = entry_find(s, bucket, host, secure);
    if (e != NULL)
        return e;
    if (s->count >= pc->shard_max)
        evict_one(s);
    size_t len = strlen(host);
    e = calloc(1, sizeof(*e) + len + 1);
    if (e == NULL)
        return NULL;
    memcpy(e->host, host, len + 1);
    e->secure = secure;
    e->next = s->buckets[bucket];
    s->buckets[bucket] = e;
    s->count++;
    return e;
}

/* Fill an entry's verdict from a store row (under the shard lock). */
static void entry_from_row(struct pentry *e, const struct sts_store_probe *row)
{
    e->tls = row->tls;
    e->tls.known = true;
    if (row->last_used > e->last_used)
        e->last_used = row->last_used;
}

/* Consult the store once for an entry the caller holds (refs or inflight). */
static void load_from_store(struct sts_probe_cache *pc, struct shard *s, struct pentry *e)
{
    struct sts_store_probe row;
    bool have = false;
    char err[256];

    if (pc->cfg.store != NULL) {
        enum sts_status st = sts_store_probe_get(pc->cfg.store, e->host, pc->cfg.port, e->secure,
                                                 &row, err, sizeof(err));
        have = st == STS_OK;
        if (st != STS_OK && st != STS_ENOTFOUND)
            logf_(pc, LOG_ERR, "probe host=%s event=store-error reason=\"%s\"", e->host, err);
    }
    pthread_mutex_lock(&s->mu);
    if (!e->loaded) {
        if (have && !e->tls.known)
            entry_from_row(e, &row);
        e->loaded = true;
    }
    pthread_mutex_unlock(&s->mu);
}

/* ---- jobs ---- */

/* Queue a job unless one is in flight; call with the shard locked. */
static void schedule(struct sts_probe_cache *pc, struct pentry *e)
{
    if (e->inflight)
        return;
    struct job *j = malloc(sizeof(*j));
    pthread_mutex_lock(&pc->qmu);
    if (j == NULL || pc->stopping || pc->queued >= pc->cfg.queue_max) {
        pc->dropped++;
        pthread_mutex_unlock(&pc->qmu);
        free(j);
        return; /* the get reports pending; a later one retries */
    }
    j->e = e;
    j->next = NULL;
    e->inflight = true;
    if (pc->qtail)
        pc->qtail->next = j;
    else
        pc->qhead = j;
    pc->qtail = j;
    pc->queued++;
    pthread_cond_signal(&pc->qcond);
    pthread_mutex_unlock(&pc->qmu);
}

static void store_result(struct sts_probe_cache *pc, const struct pentry *snap)
{
    if (pc->cfg.store == NULL)
        return;
    struct sts_store_probe row = {
        .port = pc->cfg.port,
        .mx_secure = snap->secure,
        .tls = snap->tls,
        .last_used = snap->last_used,
    };
    char err[256];
    snprintf(row.host, sizeof(row.host), "%s", snap->host);
    if (sts_store_probe_put(pc->cfg.store, &row, err, sizeof(err)) != STS_OK)
        logf_(pc, LOG_ERR, "probe host=%s event=store-error reason=\"%s\"", snap->host, err);
}

static void run_job(struct sts_probe_cache *pc, struct pentry *e)
{
    uint32_t b;
    struct shard *s = shard_of(pc, e->host, e->secure, &b);
    pthread_mutex_lock(&s->mu);
    bool loaded = e->loaded;
    pthread_mutex_unlock(&s->mu);
    if (!loaded)
        load_from_store(pc, s, e);

    struct mx_tls_params params = {
        .dns = pc->cfg.dns,
        .probe = pc->cfg.probe,
        .port = pc->cfg.port,
        .helo_name = pc->helo,
        .timeout_ms = pc->cfg.probe_timeout_ms,
    };
    struct sts_tls_verdict v;
    double t0 = mono_ms();
    bool cacheable = mx_tls_judge(&params, e->host, e->secure, &v);
    double ms = mono_ms() - t0;
    char detail[STS_TLS_DETAIL_MAX + 64];
    sts_status_quote(v.detail, strlen(v.detail), detail, sizeof(detail));

    if (!cacheable) {
        logf_(pc, LOG_WARNING,
              "probe host=%s addr=%s result=none dane=%s ms=%.0f detail=\"%s\" action=not-cached",
              e->host, v.addr[0] ? v.addr : "-", v.dane ? "yes" : "no", ms, detail);
        return;
    }
    int64_t now = now_s(pc);
    unsigned ttl = v.result == STS_TLS_PASS ? pc->cfg.ttl_pass_s : pc->cfg.ttl_fail_s;
    struct pentry *snap = malloc(sizeof(*snap) + strlen(e->host) + 1);
    v.checked_at = now;
    v.expires_at = now + ttl;
    pthread_mutex_lock(&s->mu);
    e->tls = v;
    e->loaded = true;
    e->used_dirty = false; /* the row written below carries last_used */
    if (snap != NULL)
        memcpy(snap, e, sizeof(*snap) + strlen(e->host) + 1);
    pthread_mutex_unlock(&s->mu);
    if (snap != NULL)
        store_result(pc, snap);
    free(snap);
    logf_(pc, v.result == STS_TLS_PASS ? LOG_INFO : LOG_WARNING,
          "probe host=%s addr=%s result=%s dane=%s mx_dnssec=%s ms=%.0f ttl=%u detail=\"%s\"",
          e->host, v.addr[0] ? v.addr : "-", sts_tls_result_name(v.result), v.dane ? "yes" : "no",
          e->secure ? "secure" : "insecure", ms, ttl, detail);
}

static void finish(struct sts_probe_cache *pc, struct pentry *e)
{
    uint32_t b;
    struct shard *s = shard_of(pc, e->host, e->secure, &b);
    pthread_mutex_lock(&s->mu);
    e->inflight = false;
    e->generation++;
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
}

static void *worker_main(void *arg)
{
    struct sts_probe_cache *pc = arg;
    pthread_mutex_lock(&pc->qmu);
    for (;;) {
        while (pc->qhead == NULL && !pc->stopping)
            pthread_cond_wait(&pc->qcond, &pc->qmu);
        if (pc->stopping)
            break; /* queued jobs are dropped by sts_probe_cache_free() */
        struct job *j = pc->qhead;
        pc->qhead = j->next;
        if (pc->qhead == NULL)
            pc->qtail = NULL;
        pc->queued--;
        pc->running++;
        pthread_mutex_unlock(&pc->qmu);

        run_job(pc, j->e);
        pthread_mutex_lock(&pc->qmu);
        pc->probes++; /* counted before the waiters wake */
        pthread_mutex_unlock(&pc->qmu);
        finish(pc, j->e);
        free(j);

        pthread_mutex_lock(&pc->qmu);
        pc->running--;
        if (pc->running == 0 && pc->qhead == NULL)
            pthread_cond_broadcast(&pc->idle);
    }
    pthread_mutex_unlock(&pc->qmu);
    return NULL;
}

/* ---- background refresher ---- */

struct touch {
    char host[STS_DOMAIN_MAX + 1];
    bool secure;
    int64_t at;
};

/*
 * How long before expiry a used host is re-probed: two refresher periods
 * plus the longest a job can take, so that the result is renewed before
 * a get could find it expired.
 */
static int64_t refresh_margin(const struct sts_probe_cache *pc)
{
    return 2 * (int64_t)pc->cfg.refresh_interval_s +
           (int64_t)pc->cfg.probe_timeout_ms * STS_PROBE_CACHE_ADDRS / 1000 + 1;
}

/* One shard: drop what is unused, schedule what is used and expiring, collect touches. */
static void refresh_shard(struct sts_probe_cache *pc, struct shard *s, int64_t now,
                          struct touch **touches, size_t *nt, size_t *cap)
{
    int64_t recent = pc->cfg.recent_use_s, margin = refresh_margin(pc);
    pthread_mutex_lock(&s->mu);
    for (int b = 0; b < BUCKETS_PER_SHARD; b++) {
        struct pentry **link = &s->buckets[b];
        while (*link != NULL) {
            struct pentry *e = *link;
            bool used = e->last_used > 0 && now - e->last_used <= recent;
            if (!e->inflight && e->refs == 0 && !used && now - e->last_read > recent) {
                *link = e->next; /* the store keeps the row */
                s->count--;
                free(e);
                continue;
            }
            link = &e->next;
            if (e->used_dirty) {
                if (*nt == *cap) {
                    size_t ncap = *cap ? *cap * 2 : 64;
                    struct touch *t = realloc(*touches, ncap * sizeof(*t));
                    if (t != NULL) {
                        *touches = t;
                        *cap = ncap;
                    }
                }
                if (*nt < *cap) {
                    struct touch *t = &(*touches)[(*nt)++];
                    snprintf(t->host, sizeof(t->host), "%s", e->host);
                    t->secure = e->secure;
                    t->at = e->last_used;
                    e->used_dirty = false;
                }
            }
            if (used && e->loaded && !e->inflight &&
                (!e->tls.known || e->tls.expires_at - now <= margin))
                schedule(pc, e);
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static void refresh_pass(struct sts_probe_cache *pc)
{
    int64_t now = now_s(pc);
    struct touch *touches = NULL;
    size_t nt = 0, cap = 0;
    char err[256];
    for (int i = 0; i < SHARDS; i++)
        refresh_shard(pc, &pc->shards[i], now, &touches, &nt, &cap);
    for (size_t i = 0; pc->cfg.store != NULL && i < nt; i++) {
        enum sts_status st =
            sts_store_probe_touch(pc->cfg.store, touches[i].host, pc->cfg.port, touches[i].secure,
                                  touches[i].at, err, sizeof(err));
        if (st != STS_OK && st != STS_ENOTFOUND)
            logf_(pc, LOG_ERR, "probe host=%s event=store-error reason=\"%s\"", touches[i].host,
                  err);
    }
    free(touches);
}

static void *refresher_main(void *arg)
{
    struct sts_probe_cache *pc = arg;
    pthread_mutex_lock(&pc->qmu);
    while (!pc->stopping) {
        struct timespec ts;
        deadline_after(&ts, pc->cfg.refresh_interval_s * 1000u);
        while (!pc->stopping &&
               pthread_cond_timedwait(&pc->refresh_cond, &pc->qmu, &ts) != ETIMEDOUT)
            ;
        if (pc->stopping)
            break;
        pthread_mutex_unlock(&pc->qmu);
        refresh_pass(pc); /* shard locks, then qmu inside schedule() */
        pthread_mutex_lock(&pc->qmu);
    }
    pthread_mutex_unlock(&pc->qmu);
    return NULL;
}

/* ---- start-up: recently used rows of the store come back into memory ---- */

struct warm_ctx {
    struct sts_probe_cache *pc;
    int64_t since;
};

static int warm_row(const struct sts_store_probe *row, void *arg)
{
    struct warm_ctx *w = arg;
    struct sts_probe_cache *pc = w->pc;
    if (row->port != pc->cfg.port || row->last_used < w->since)
        return 0;
    uint32_t b;
    struct shard *s = shard_of(pc, row->host, row->mx_secure, &b);
    pthread_mutex_lock(&s->mu);
    struct pentry *e = NULL;
    if (s->count < pc->shard_max)
        e = entry_get(pc, s, b, row->host, row->mx_secure);
    if (e != NULL && !e->loaded) {
        entry_from_row(e, row);
        e->last_read = row->last_used;
        e->loaded = true;
    }
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* ---- public API ---- */

static void fill_defaults(struct sts_probe_cache_config *c)
{
    if (c->port == 0)
        c->port = 25;
    if (c->probe_timeout_ms == 0)
        c->probe_timeout_ms = 10000;
    if (c->ttl_pass_s == 0)
        c->ttl_pass_s = 3600;
    if (c->ttl_fail_s == 0)
        c->ttl_fail_s = 300;
    if (c->max_concurrent == 0)
        c->max_concurrent = 8;
    if (c->queue_max == 0)
        c->queue_max = 1024;
    if (c->refresh_interval_s == 0)
        c->refresh_interval_s = 60;
    if (c->recent_use_s == 0)
        c->recent_use_s = 86400;
    if (c->front_max == 0)
        c->front_max = 65536;
}

enum sts_status sts_probe_cache_new(const struct sts_probe_cache_config *cfg,
                                    struct sts_probe_cache **out, char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->dns == NULL || cfg->probe == NULL)
        return sts_status_set(STS_EINVAL, err, errlen,
                              "the probe cache needs a resolver and a probe context");
    if (cfg->port > 65535)
        return sts_status_set(STS_EINVAL, err, errlen, "probe port %u out of range", cfg->port);
    struct sts_probe_cache *pc = calloc(1, sizeof(*pc));
    if (pc == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    pc->cfg = *cfg;
    fill_defaults(&pc->cfg);
    snprintf(pc->helo, sizeof(pc->helo), "%s",
             cfg->helo_name != NULL && cfg->helo_name[0] ? cfg->helo_name : "localhost");
    pc->cfg.helo_name = pc->helo;
    pc->shard_max = (pc->cfg.front_max + SHARDS - 1) / SHARDS;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_init(&pc->shards[i].mu, NULL);
        init_cond_monotonic(&pc->shards[i].done);
    }
    pthread_mutex_init(&pc->qmu, NULL);
    pthread_cond_init(&pc->qcond, NULL);
    init_cond_monotonic(&pc->idle);
    init_cond_monotonic(&pc->refresh_cond);

    if (pc->cfg.store != NULL) {
        struct warm_ctx w = {pc, now_s(pc) - (int64_t)pc->cfg.recent_use_s};
        char serr[256];
        if (sts_store_probe_foreach(pc->cfg.store, warm_row, &w, serr, sizeof(serr)) != STS_OK)
            logf_(pc, LOG_ERR, "probe event=store-error reason=\"%s\"", serr);
    }

    unsigned n = pc->cfg.max_concurrent;
    pc->workers = calloc(n, sizeof(*pc->workers));
    if (pc->workers == NULL) {
        sts_probe_cache_free(pc);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    }
    for (; pc->nworkers < n; pc->nworkers++)
        if (pthread_create(&pc->workers[pc->nworkers], NULL, worker_main, pc) != 0) {
            sts_probe_cache_free(pc);
            return sts_status_set(STS_ENOMEM, err, errlen, "cannot start probe threads");
        }
    if (pthread_create(&pc->refresher, NULL, refresher_main, pc) != 0) {
        sts_probe_cache_free(pc);
        return sts_status_set(STS_ENOMEM, err, errlen, "cannot start the probe refresher");
    }
    pc->have_refresher = true;
    *out = pc;
    return STS_OK;
}

void sts_probe_cache_free(struct sts_probe_cache *pc)
{
    if (pc == NULL)
        return;
    pthread_mutex_lock(&pc->qmu);
    pc->stopping = true;
    pthread_cond_broadcast(&pc->qcond);
    pthread_cond_broadcast(&pc->refresh_cond);
    pthread_mutex_unlock(&pc->qmu);
    if (pc->have_refresher)
        pthread_join(pc->refresher, NULL);
    for (unsigned i = 0; i < pc->nworkers; i++)
        pthread_join(pc->workers[i], NULL); /* each finishes its running job */
    free(pc->workers);
    while (pc->qhead != NULL) {
        struct job *j = pc->qhead;
        pc->qhead = j->next;
        free(j);
    }
    for (int i = 0; i < SHARDS; i++) {
        for (int b = 0; b < BUCKETS_PER_SHARD; b++) {
            struct pentry *e = pc->shards[i].buckets[b];
            while (e != NULL) {
                struct pentry *next = e->next;
                free(e);
                e = next;
            }
        }
        pthread_mutex_destroy(&pc->shards[i].mu);
        pthread_cond_destroy(&pc->shards[i].done);
    }
    pthread_mutex_destroy(&pc->qmu);
    pthread_cond_destroy(&pc->qcond);
    pthread_cond_destroy(&pc->idle);
    pthread_cond_destroy(&pc->refresh_cond);
    free(pc);
}

/* The entry's verdict, if fresh, into out (under the shard lock). */
static bool answer_from(const struct pentry *e, int64_t now, bool require_dane,
                        struct sts_tls_verdict *out)
{
    if (!e->tls.known || e->tls.expires_at <= now)
        return false;
    *out = e->tls;
    /* RFC 8460 §4.3.2 dane-required: DANE demanded, the host has no secure usable TLSA. */
    if (require_dane && !e->tls.dane && e->tls.result != STS_TLS_DNSSEC_INVALID) {
        out->result = STS_TLS_DANE_REQUIRED;
        snprintf(out->detail, sizeof(out->detail),
                 "DANE required, no usable DNSSEC-secure TLSA "
                 "records (%s: %.120s)",
                 sts_tls_result_name(e->tls.result), e->tls.detail);
    }
    return true;
}

static void answer_fixed(struct sts_tls_verdict *out, enum sts_tls_result r, const char *detail)
{
    out->known = true;
    out->result = r;
    snprintf(out->detail, sizeof(out->detail), "%s", detail);
}

void sts_probe_cache_get(struct sts_probe_cache *pc, const char *mx_host, enum sts_dnssec mx_dnssec,
                         bool require_dane, unsigned wait_ms, bool mark_used,
                         struct sts_tls_verdict *out, enum sts_mx_tls_source *source)
{
    enum sts_mx_tls_source unused;
    if (source == NULL)
        source = &unused;
    memset(out, 0, sizeof(*out));
    *source = STS_MX_TLS_NONE;
    if (mx_dnssec == STS_DNSSEC_BOGUS) { /* RFC 7672 §2.1.1; nothing to cache */
        answer_fixed(out, STS_TLS_DNSSEC_INVALID, "the MX RRset is DNSSEC-bogus");
        return;
    }
    size_t len = mx_host != NULL ? strnlen(mx_host, STS_DOMAIN_MAX + 1) : 0;
    if (len == 0 || len > STS_DOMAIN_MAX) {
        answer_fixed(out, STS_TLS_UNREACHABLE, "invalid MX host name");
        return;
    }
    bool secure = mx_dnssec == STS_DNSSEC_SECURE;
    int64_t now = now_s(pc);
    uint32_t b;
    struct shard *s = shard_of(pc, mx_host, secure, &b);

    pthread_mutex_lock(&s->mu);
    struct pentry *e = entry_get(pc, s, b, mx_host, secure);
    if (e == NULL) {
        pthread_mutex_unlock(&s->mu);
        snprintf(out->detail, sizeof(out->detail), "out of memory");
        return;
    }
    e->last_read = now;
    if (mark_used && e->last_used < now) {
        e->last_used = now;
        e->used_dirty = true;
    }
    enum sts_mx_tls_source from = STS_MX_TLS_MEMORY;
    if (!e->loaded) {
        e->refs++;
        pthread_mutex_unlock(&s->mu);
        load_from_store(pc, s, e);
        pthread_mutex_lock(&s->mu);
        e->refs--;
        from = STS_MX_TLS_STORE;
    }
    if (answer_from(e, now, require_dane, out)) {
        *source = from;
        pthread_mutex_unlock(&s->mu);
        return;
    }

    /* Missing or expired: probe, sharing a job in flight, waiting up to wait_ms. */
    schedule(pc, e);
    const char *why = e->inflight ? "probe pending" : "probe not started (queue full)";
    if (wait_ms > 0 && e->inflight) {
        struct timespec ts;
        deadline_after(&ts, wait_ms);
        unsigned gen = e->generation;
        int rc = 0;
        e->refs++;
        while (e->generation == gen && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&s->done, &s->mu, &ts);
        e->refs--;
        if (e->generation != gen && answer_from(e, now_s(pc), require_dane, out))
            *source = STS_MX_TLS_PROBE;
        else if (e->generation != gen)
            why = "probe gave no verdict (local failure, see the log)";
    }
    if (!out->known)
        snprintf(out->detail, sizeof(out->detail), "%s", why);
    pthread_mutex_unlock(&s->mu);
}

enum sts_status sts_probe_cache_wait_idle(struct sts_probe_cache *pc, unsigned timeout_ms)
{
    struct timespec ts;
    deadline_after(&ts, timeout_ms);
    int rc = 0;
    pthread_mutex_lock(&pc->qmu);
    while ((pc->qhead != NULL || pc->running > 0) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&pc->idle, &pc->qmu, &ts);
    bool idle = pc->qhead == NULL && pc->running == 0;
    pthread_mutex_unlock(&pc->qmu);
    return idle ? STS_OK : STS_EIO;
}

void sts_probe_cache_forget(struct sts_probe_cache *pc, const char *mx_host)
{
    for (int secure = 0; secure <= 1; secure++) {
        uint32_t b;
        struct shard *s = shard_of(pc, mx_host, secure, &b);
        pthread_mutex_lock(&s->mu);
        struct pentry *e = entry_find(s, b, mx_host, secure);
        if (e != NULL) {
            e->tls.known = false;
            e->loaded = false;
        }
        pthread_mutex_unlock(&s->mu);
    }
}

void sts_probe_cache_stats(struct sts_probe_cache *pc, struct sts_probe_cache_stats *out)
{
    pthread_mutex_lock(&pc->qmu);
    out->probes = pc->probes;
    out->dropped = pc->dropped;
    out->running = pc->running;
    out->queued = pc->queued;
    pthread_mutex_unlock(&pc->qmu);
}

const char *sts_mx_tls_source_name(enum sts_mx_tls_source s)
{
    switch (s) {
    case STS_MX_TLS_NONE:
        return "none";
    case STS_MX_TLS_MEMORY:
        return "memory";
    case STS_MX_TLS_STORE:
        return "store";
    case STS_MX_TLS_PROBE:
        return "probe";
    }
    return "unknown";
}
