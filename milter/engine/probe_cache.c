/*
 * probe_cache.c - MX TLS results: memory front, store rows, single-flight
 * probe jobs on a bounded worker pool, and a refresher (probe_cache.h).
 *
 * The front is an lru_map (lru_map.h) keyed on (host, tag = the MX RRset
 * was secure); the jobs and the refresher run on a job_pool (job_pool.h)
 * that drops queued jobs at stop.
 *
 * Locking protocol (see also probe_cache.h):
 *   - a shard mutex guards every field of its entries (the job's
 *     inflight flag and run count included, lru_job.h); its condition
 *     variable is broadcast whenever a job on one of its entries ends;
 *   - the pool's queue mutex may be taken while holding a shard mutex
 *     (scheduling), never the reverse;
 *   - no mutex is held across DNS, probes (mx_tls.c) or the store.
 * An entry is pinned while a job is queued or running on it and while a
 * get holds it across an unlock; a pinned entry is never freed (evicted,
 * or dropped by the refresher).
 */
#include "mtasts/probe_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "mtasts/clock.h"
#include "mtasts/job_pool.h"
#include "mtasts/lru_job.h"
#include "mtasts/lru_map.h"
#include "mtasts/metrics.h"
#include "mx_tls.h"

#define SHARDS 32

/* What is known of one (host, mx_secure): the value of an lru_map entry. */
struct pentry {
    struct sts_lru_job job;     /* the probe: job.job.inflight, job.runs */
    bool loaded;                /* the store has been consulted */
    bool used_dirty;            /* last_used not yet written to the store */
    struct sts_tls_verdict tls; /* known: a verdict (it may have expired) */
    int64_t last_used;          /* marked used (refresher) */
    int64_t last_read;          /* any get (the refresher drops long unread entries) */
    char *requester;            /* the domain whose get queued the job in flight (malloc()ed,
                                   NULL: none or the refresher); handed to on_probe */
};

struct sts_probe_cache {
    struct sts_probe_cache_config cfg; /* defaults filled in */
    char helo[256];
    struct sts_clock clock;    /* cfg.clock: Unix seconds */
    struct sts_log_sink log;   /* cfg.log */
    struct sts_lru_map *map;   /* the front */
    struct sts_job_pool *pool; /* probes and the refresher */
    struct sts_dane *dane;     /* cfg.dane, or own_dane */
    struct sts_dane *own_dane; /* created when the caller gave none */
};

/* ---- small helpers ---- */

static int64_t now_s(const struct sts_probe_cache *pc)
{
    return sts_clock_now_s(&pc->clock);
}

static const char *host_of(const struct pentry *e)
{
    return sts_lru_key(e);
}

static bool secure_of(const struct pentry *e)
{
    return sts_lru_tag(e) != 0;
}

static struct sts_lru_shard *shard_of(struct sts_probe_cache *pc, const char *host, bool secure,
                                      uint32_t *hash)
{
    *hash = sts_lru_hash(host, secure);
    return sts_lru_map_shard(pc->map, *hash);
}

static struct sts_lru_shard *shard_of_entry(struct sts_probe_cache *pc, const struct pentry *e)
{
    return sts_lru_map_shard(pc->map, sts_lru_value_hash(e));
}

/* ---- the front ---- */

/* Fill an entry's verdict from a store row (under the shard lock). */
static void entry_from_row(struct pentry *e, const struct sts_store_probe *row)
{
    e->tls = row->tls;
    e->tls.known = true;
    if (row->last_used > e->last_used)
        e->last_used = row->last_used;
}

/* Consult the store once for an entry the caller holds (pinned). */
static void load_from_store(struct sts_probe_cache *pc, struct sts_lru_shard *s, struct pentry *e)
{
    struct sts_store_probe row;
    bool have = false;
    char err[256];

    if (pc->cfg.store != NULL) {
        enum sts_status st = sts_store_probe_get(pc->cfg.store, host_of(e), pc->cfg.port,
                                                 secure_of(e), &row, err, sizeof(err));
        have = st == STS_OK;
        if (st != STS_OK && st != STS_ENOTFOUND)
            sts_log_to(&pc->log, LOG_ERR, "probe host=%s event=store-error reason=\"%s\"",
                       host_of(e), err);
    }
    sts_lru_shard_lock(s);
    if (!e->loaded) {
        if (have && !e->tls.known)
            entry_from_row(e, &row);
        e->loaded = true;
    }
    sts_lru_shard_unlock(s);
}

/* ---- jobs ---- */

/*
 * Queue a probe unless one is in flight (shard locked); the job pins the
 * entry and carries the requesting domain (NULL: the refresher) to
 * on_probe.  A copy that cannot be made only loses the attribution.
 */
static void schedule(struct sts_probe_cache *pc, struct pentry *e, const char *requester)
{
    if (sts_lru_job_submit(pc->pool, e, &e->job) == STS_JOB_QUEUED && requester != NULL &&
        pc->cfg.on_probe != NULL)
        e->requester = strdup(requester);
    /* dropped (queue full, stopping): the get reports pending; a later one retries */
}

static void run_job(void *arg, struct sts_job *job, void *scratch)
{
    (void)scratch;
    struct sts_probe_cache *pc = arg;
    struct pentry *e = STS_JOB_OWNER(job, struct pentry, job.job);
    struct sts_lru_shard *s = shard_of_entry(pc, e);
    const char *host = host_of(e);
    bool secure = secure_of(e);
    sts_lru_shard_lock(s);
    bool loaded = e->loaded;
    char *requester = e->requester;
    e->requester = NULL;
    sts_lru_shard_unlock(s);
    if (!loaded)
        load_from_store(pc, s, e);

    struct mx_tls_params params = {
        .dane = pc->dane,
        .probe = pc->cfg.probe,
        .port = pc->cfg.port,
        .helo_name = pc->helo,
        .timeout_ms = pc->cfg.probe_timeout_ms,
    };
    struct sts_tls_verdict v;
    double t0 = sts_clock_mono_msf();
    bool cacheable = mx_tls_judge(&params, host, secure, &v);
    double ms = sts_clock_mono_msf() - t0;
    char detail[STS_TLS_DETAIL_MAX + 64];
    sts_status_quote(v.detail, strlen(v.detail), detail, sizeof(detail));

    if (!cacheable) {
        sts_log_to(&pc->log, LOG_WARNING,
                   "probe host=%s addr=%s result=none dane=%s ms=%.0f detail=\"%s\" "
                   "action=not-cached",
                   host, v.addr[0] ? v.addr : "-", v.dane ? "yes" : "no", ms, detail);
        free(requester);
        return;
    }
    int64_t now = now_s(pc);
    unsigned ttl = v.result == STS_TLS_PASS ? pc->cfg.ttl_pass_s : pc->cfg.ttl_fail_s;
    v.checked_at = now;
    v.expires_at = now + ttl;
    struct sts_store_probe row = {.port = pc->cfg.port, .mx_secure = secure};
    snprintf(row.host, sizeof(row.host), "%s", host);
    sts_lru_shard_lock(s);
    e->tls = v;
    e->loaded = true;
    e->used_dirty = false; /* the row written below carries last_used */
    row.tls = e->tls;
    row.last_used = e->last_used;
    sts_lru_shard_unlock(s);
    char err[256];
    if (pc->cfg.store != NULL &&
        sts_store_probe_put(pc->cfg.store, &row, err, sizeof(err)) != STS_OK)
        sts_log_to(&pc->log, LOG_ERR, "probe host=%s event=store-error reason=\"%s\"", host, err);
    sts_log_to(&pc->log, v.result == STS_TLS_PASS ? LOG_INFO : LOG_WARNING,
               "probe host=%s addr=%s result=%s dane=%s mx_dnssec=%s ms=%.0f ttl=%u "
               "detail=\"%s\"",
               host, v.addr[0] ? v.addr : "-", sts_tls_result_name(v.result), v.dane ? "yes" : "no",
               secure ? "secure" : "insecure", ms, ttl, detail);
    if (pc->cfg.on_probe != NULL)
        pc->cfg.on_probe(pc->cfg.on_probe_arg, host, secure, &v, requester);
    free(requester);
}

/* A queued probe dropped at stop: only its requester copy is to free. */
static void drop_job(void *arg, struct sts_job *job)
{
    struct sts_probe_cache *pc = arg;
    struct pentry *e = STS_JOB_OWNER(job, struct pentry, job.job);
    struct sts_lru_shard *s = shard_of_entry(pc, e);
    sts_lru_shard_lock(s);
    free(e->requester);
    e->requester = NULL;
    sts_lru_shard_unlock(s);
}

/* After the pool counted the probe: the entry is free again, its waiters wake. */
static void finish_job(void *arg, struct sts_job *job)
{
    struct sts_probe_cache *pc = arg;
    struct pentry *e = STS_JOB_OWNER(job, struct pentry, job.job);
    sts_lru_job_finish(shard_of_entry(pc, e), e, &e->job);
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

/* Remember a used entry's last_used for the store (shard locked). */
static void collect_touch(struct pentry *e, struct touch **touches, size_t *nt, size_t *cap)
{
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
        snprintf(t->host, sizeof(t->host), "%s", host_of(e));
        t->secure = secure_of(e);
        t->at = e->last_used;
        e->used_dirty = false;
    }
}

/* One shard: drop what is unused, schedule what is used and expiring, collect touches. */
static void refresh_shard(struct sts_probe_cache *pc, struct sts_lru_shard *s, int64_t now,
                          struct touch **touches, size_t *nt, size_t *cap)
{
    int64_t recent = pc->cfg.recent_use_s, margin = refresh_margin(pc);
    sts_lru_shard_lock(s);
    for (struct pentry *e = sts_lru_shard_oldest(s), *next; e != NULL; e = next) {
        next = sts_lru_newer(e);
        bool used = e->last_used > 0 && now - e->last_used <= recent;
        if (!used && now - e->last_read > recent && sts_lru_shard_remove(s, e))
            continue; /* not pinned, unused, unread: the store keeps the row */
        if (e->used_dirty)
            collect_touch(e, touches, nt, cap);
        if (used && e->loaded && !e->job.job.inflight &&
            (!e->tls.known || e->tls.expires_at - now <= margin))
            schedule(pc, e, NULL);
    }
    sts_lru_shard_unlock(s);
}

static void refresh_pass(void *arg)
{
    struct sts_probe_cache *pc = arg;
    int64_t now = now_s(pc);
    struct touch *touches = NULL;
    size_t nt = 0, cap = 0;
    char err[256];
    for (unsigned i = 0; i < sts_lru_map_nshards(pc->map); i++)
        refresh_shard(pc, sts_lru_map_shard_at(pc->map, i), now, &touches, &nt, &cap);
    for (size_t i = 0; pc->cfg.store != NULL && i < nt; i++) {
        enum sts_status st =
            sts_store_probe_touch(pc->cfg.store, touches[i].host, pc->cfg.port, touches[i].secure,
                                  touches[i].at, err, sizeof(err));
        if (st != STS_OK && st != STS_ENOTFOUND)
            sts_log_to(&pc->log, LOG_ERR, "probe host=%s event=store-error reason=\"%s\"",
                       touches[i].host, err);
    }
    free(touches);
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
    uint32_t h;
    struct sts_lru_shard *s = shard_of(pc, row->host, row->mx_secure, &h);
    sts_lru_shard_lock(s);
    struct pentry *e = sts_lru_shard_find(s, h, row->host, row->mx_secure);
    if (e == NULL && !sts_lru_shard_full(s)) /* warming never evicts */
        e = sts_lru_shard_insert(s, h, row->host, row->mx_secure);
    if (e != NULL && !e->loaded) {
        entry_from_row(e, row);
        e->last_read = row->last_used;
        e->loaded = true;
    }
    sts_lru_shard_unlock(s);
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
    pc->clock = (struct sts_clock){cfg->clock, cfg->clock_arg};
    pc->log = (struct sts_log_sink){cfg->log, cfg->log_arg, 0};
    pc->dane = cfg->dane;
    if (pc->dane == NULL) { /* a private DANE module on the same resolver and port */
        struct sts_dane_config dc = {.dns = cfg->dns, .port = pc->cfg.port};
        enum sts_status dst = sts_dane_new(&dc, &pc->own_dane, err, errlen);
        if (dst != STS_OK) {
            free(pc);
            return dst;
        }
        pc->dane = pc->own_dane;
    }
    struct sts_lru_map_config mcfg = {.value_size = sizeof(struct pentry),
                                      .shards = SHARDS,
                                      .max_entries = pc->cfg.front_max,
                                      .metrics_front = STS_METRICS_FRONT_PROBE};
    enum sts_status st = sts_lru_map_new(&mcfg, &pc->map, err, errlen);
    if (st != STS_OK) {
        sts_dane_free(pc->own_dane);
        free(pc);
        return st;
    }

    if (pc->cfg.store != NULL) {
        struct warm_ctx w = {pc, now_s(pc) - (int64_t)pc->cfg.recent_use_s};
        char serr[256];
        if (sts_store_probe_foreach(pc->cfg.store, warm_row, &w, serr, sizeof(serr)) != STS_OK)
            sts_log_to(&pc->log, LOG_ERR, "probe event=store-error reason=\"%s\"", serr);
    }

    struct sts_job_pool_config jcfg = {
        .workers = pc->cfg.max_concurrent,
        .queue_max = pc->cfg.queue_max,
        .stop = STS_JOB_POOL_DROP, /* queued probes are dropped at stop */
        .run = run_job,
        .finish = finish_job,
        .drop = drop_job,
        .arg = pc,
        .refresh_interval_ms = pc->cfg.refresh_interval_s * 1000u,
        .refresh = refresh_pass,
    };
    if ((st = sts_job_pool_new(&jcfg, &pc->pool, err, errlen)) != STS_OK) {
        sts_probe_cache_free(pc);
        return st;
    }
    *out = pc;
    return STS_OK;
}

void sts_probe_cache_free(struct sts_probe_cache *pc)
{
    if (pc == NULL)
        return;
    sts_job_pool_free(pc->pool); /* the refresher, then the workers' jobs in hand */
    sts_lru_map_free(pc->map);
    sts_dane_free(pc->own_dane);
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
    sts_probe_cache_get_for(pc, NULL, mx_host, mx_dnssec, require_dane, wait_ms, mark_used, out,
                            source);
}

void sts_probe_cache_get_for(struct sts_probe_cache *pc, const char *requester, const char *mx_host,
                             enum sts_dnssec mx_dnssec, bool require_dane, unsigned wait_ms,
                             bool mark_used, struct sts_tls_verdict *out,
                             enum sts_mx_tls_source *source)
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
    uint32_t h;
    struct sts_lru_shard *s = shard_of(pc, mx_host, secure, &h);

    sts_lru_shard_lock(s);
    struct pentry *e = sts_lru_shard_get(s, h, mx_host, secure, NULL);
    if (e == NULL) {
        sts_lru_shard_unlock(s);
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
        sts_lru_pin(e);
        sts_lru_shard_unlock(s);
        load_from_store(pc, s, e);
        sts_lru_shard_lock(s);
        sts_lru_unpin(e);
        from = STS_MX_TLS_STORE;
    }
    if (answer_from(e, now, require_dane, out)) {
        *source = from;
        sts_lru_shard_unlock(s);
        return;
    }

    /* Missing or expired: probe, sharing a job in flight, waiting up to wait_ms. */
    schedule(pc, e, requester);
    const char *why = e->job.job.inflight ? "probe pending" : "probe not started (queue full)";
    if (wait_ms > 0 && e->job.job.inflight) {
        bool ended = sts_lru_job_wait(s, e, &e->job, sts_deadline_in(wait_ms));
        if (ended && answer_from(e, now_s(pc), require_dane, out))
            *source = STS_MX_TLS_PROBE;
        else if (ended)
            why = "probe gave no verdict (local failure, see the log)";
    }
    if (!out->known)
        snprintf(out->detail, sizeof(out->detail), "%s", why);
    sts_lru_shard_unlock(s);
}

enum sts_status sts_probe_cache_wait_idle(struct sts_probe_cache *pc, unsigned timeout_ms)
{
    return sts_job_pool_wait_idle(pc->pool, timeout_ms);
}

void sts_probe_cache_forget(struct sts_probe_cache *pc, const char *mx_host)
{
    for (int secure = 0; secure <= 1; secure++) {
        uint32_t h;
        struct sts_lru_shard *s = shard_of(pc, mx_host, secure, &h);
        sts_lru_shard_lock(s);
        struct pentry *e = sts_lru_shard_find(s, h, mx_host, (unsigned)secure);
        if (e != NULL) {
            e->tls.known = false;
            e->loaded = false;
        }
        sts_lru_shard_unlock(s);
    }
    sts_dane_forget(pc->dane, mx_host); /* its DNS facts are looked up again too */
}

void sts_probe_cache_stats(struct sts_probe_cache *pc, struct sts_probe_cache_stats *out)
{
    struct sts_job_pool_stats st;
    sts_job_pool_stats(pc->pool, &st);
    out->probes = st.done;
    out->dropped = st.dropped;
    out->running = st.running;
    out->queued = st.queued;
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
