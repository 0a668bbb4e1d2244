/*
 * engine.c - the one engine of the daemon, the socketmap and mtasts(1)
 * (see engine.h).
 */
#include "mtasts/engine.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "mtasts/fetch.h"
#include "mtasts/log.h"

static enum sts_status load_overrides(const struct sts_config *cfg,
                                      const struct sts_overrides **out, char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->overrides_file == NULL || cfg->overrides_file[0] == '\0')
        return STS_OK;
    struct sts_overrides *ov;
    enum sts_status st = sts_overrides_load(cfg->overrides_file, &ov, err, errlen);
    if (st == STS_OK)
        *out = ov;
    return st;
}

struct sts_engine {
    struct sts_dns *dns;
    struct sts_store *store;
    struct sts_cache *cache;
    struct sts_mx_cache *mx;           /* MX answers memo in front of dns */
    struct sts_dane *dane;             /* the MX hosts' DANE facts (dane.h) */
    struct sts_probe_ctx *probe_ctx;   /* OpenSSL context of STARTTLS probes */
    struct sts_probe_cache *probes;    /* MX TLS results */
    struct sts_tlsrpt_collect *tlsrpt; /* TLS-RPT results (TLSRPT yes), else NULL */
    bool store_degraded;               /* the store could not be written: memory only */
    const struct sts_config *boot;     /* the snapshot the parts were built from */
    pthread_mutex_t mu;                /* guards cfg and ov */
    const struct sts_config *cfg;
    const struct sts_overrides *ov;
    char path[4096];
    char helo[256];
};

static void cache_config(const struct sts_config *cfg, unsigned flags, struct sts_engine *rt,
                         struct sts_cache_config *cc)
{
    memset(cc, 0, sizeof(*cc));
    cc->dns = rt->dns;
    cc->store = rt->store;
    cc->fetch.ca_file = cfg->ca_file;
    cc->fetch.connect_timeout_ms = cfg->fetch_connect_timeout_ms;
    cc->fetch.total_timeout_ms = cfg->fetch_timeout_ms;
    cc->fetch.port = cfg->policy_port;
    cc->fetch.allow_private = cfg->allow_private_targets;
    cc->negative_ttl_s = cfg->negative_cache_ttl_s;
    cc->recheck_s = cfg->recheck_interval_s;
    cc->backoff_s = cfg->fetch_backoff_s;
    cc->tempfail_ttl_s = cfg->dns_failure_ttl_s;
    cc->max_fetches = cfg->max_concurrent_fetches;
    cc->refresh_interval_s = (flags & STS_ENGINE_ONE_SHOT) ? 0 : cfg->refresh_interval_s;
    cc->refresh_window_s = cfg->refresh_window_s;
    cc->recent_use_s = cfg->recent_use_s;
    cc->log = sts_log_line;
}

/* The EHLO name of probes: HeloName, else the host name, else "localhost". */
static void pick_helo(const struct sts_config *cfg, struct sts_engine *rt)
{
    if (cfg->helo_name != NULL && cfg->helo_name[0] != '\0')
        snprintf(rt->helo, sizeof(rt->helo), "%s", cfg->helo_name);
    else if (gethostname(rt->helo, sizeof(rt->helo) - 1) != 0 || rt->helo[0] == '\0')
        snprintf(rt->helo, sizeof(rt->helo), "localhost");
    rt->helo[sizeof(rt->helo) - 1] = '\0';
}

/*
 * A probe made for a recipient domain is one TLS-RPT session of the
 * policy it checked (tlsrpt_collect.h): the domain's MTA-STS policy from
 * the front cache (its judge just looked it up), the host's TLSA records
 * from the DANE memo.  On a probe worker; never waits.
 */
static void engine_on_probe(void *arg, const char *host, bool mx_secure,
                            const struct sts_tls_verdict *v, const char *requester)
{
    struct sts_engine *rt = arg;
    if (rt->tlsrpt == NULL || requester == NULL)
        return;
    struct sts_cache_result res = {0};
    bool cached = rt->cache != NULL && sts_cache_peek(rt->cache, requester, &res);
    struct sts_dane_host dh = {0};
    if (v->dane)
        sts_dane_host_peek(rt->dane, host, mx_secure, &dh);
    sts_tlsrpt_collect_probe(rt->tlsrpt, requester, host, v,
                             cached && res.outcome == STS_LOOKUP_POLICY ? res.policy : NULL,
                             dh.tlsa, dh.ntlsa);
    sts_dane_host_clear(&dh);
    sts_cache_result_clear(&res);
}

static void probe_cache_config(const struct sts_config *cfg, unsigned flags, struct sts_engine *rt,
                               struct sts_probe_cache_config *pc)
{
    memset(pc, 0, sizeof(*pc));
    pick_helo(cfg, rt);
    pc->dns = rt->dns;
    pc->dane = rt->dane;
    pc->store = rt->store;
    pc->probe = rt->probe_ctx;
    pc->port = cfg->probe_port;
    pc->helo_name = rt->helo;
    pc->probe_timeout_ms = cfg->probe_timeout_ms;
    pc->ttl_pass_s = cfg->probe_ttl_s;
    pc->ttl_fail_s = cfg->probe_failure_ttl_s;
    pc->max_concurrent = cfg->max_concurrent_probes;
    /* the probe cache's refresher cannot be off: one hour between passes */
    pc->refresh_interval_s = (flags & STS_ENGINE_ONE_SHOT) ? 3600 : cfg->refresh_interval_s;
    pc->recent_use_s = cfg->recent_use_s;
    pc->log = sts_log_line;
    pc->on_probe = engine_on_probe;
    pc->on_probe_arg = rt;
}

/*
 * The daemon's store: a damaged file is quarantined and replaced (store.h,
 * sts_store_open2), an unwritable one (read-only or full filesystem)
 * leaves the daemon running on memory alone rather than not at all; both
 * are logged loudly.  One-shot runs (mtasts) never repair or degrade.
 */
static enum sts_status open_store(const struct sts_config *cfg, unsigned flags,
                                  struct sts_engine *rt, char *err, size_t errlen)
{
    bool daemon = !(flags & STS_ENGINE_ONE_SHOT);
    struct sts_store_open_info info;
    enum sts_status st = sts_store_open2(cfg->store, daemon, &rt->store, &info, err, errlen);
    if (info.quarantined)
        sts_log(LOG_ERR,
                "event=store-quarantined store=%s moved_to=%s action=fresh-store reason=\"%s\"",
                cfg->store, info.moved_to, info.why);
    if (st == STS_EIO && daemon && info.unwritable) {
        sts_log(LOG_ERR,
                "event=store-degraded store=%s action=memory-only reason=\"%s\" "
                "hint=\"policies are not kept across restarts until the store can be written; "
                "fix the filesystem and restart\"",
                cfg->store, err);
        rt->store_degraded = true;
        return STS_OK;
    }
    return st;
}

enum sts_status sts_engine_new(struct sts_config *cfg, const char *path, unsigned flags,
                               struct sts_engine **out, char *err, size_t errlen)
{
    *out = NULL;
    struct sts_engine *rt = calloc(1, sizeof(*rt));
    if (rt == NULL) {
        sts_config_unref(cfg);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    }
    pthread_mutex_init(&rt->mu, NULL);
    rt->cfg = cfg;
    rt->boot = sts_config_ref(cfg);
    snprintf(rt->path, sizeof(rt->path), "%s", path ? path : "");

    enum sts_status st = load_overrides(cfg, &rt->ov, err, errlen);
    if (st == STS_OK)
        st = sts_fetch_global_init(err, errlen);
    if (st == STS_OK) {
        struct sts_dns_config dc = {
            .forwarders = cfg->resolver,
            .trust_anchor_file = cfg->trust_anchor_file,
            .timeout_ms = cfg->dns_timeout_ms,
        };
        st = sts_dns_new(&dc, &rt->dns, err, errlen);
    }
    if (st == STS_OK) {
        /* Compiled defaults (max TTL 1 h, negative 60 s, 64k domains);
           candidate keys: MXCacheMaxTTL, MXCacheEntries. */
        struct sts_mx_cache_config mc = {.dns = rt->dns};
        st = sts_mx_cache_new(&mc, &rt->mx, err, errlen);
    }
    if (st == STS_OK) {
        struct sts_dane_config dc = {.dns = rt->dns, .port = cfg->probe_port};
        st = sts_dane_new(&dc, &rt->dane, err, errlen);
    }
    if (st == STS_OK && !(flags & STS_ENGINE_NO_STORE))
        st = open_store(cfg, flags, rt, err, errlen);
    if (st == STS_OK && cfg->tlsrpt && rt->store != NULL && !(flags & STS_ENGINE_ONE_SHOT)) {
        struct sts_tlsrpt_collect_config tc = {
            .store = rt->store,
            .report_sender = cfg->tlsrpt_sender,
            .postfix_sessions = cfg->tlsrpt_socket != NULL && cfg->tlsrpt_socket[0] != '\0',
            .log = {.fn = sts_log_line},
        };
        st = sts_tlsrpt_collect_new(&tc, &rt->tlsrpt, err, errlen);
    }
    if (st == STS_OK)
        st = sts_probe_ctx_new(cfg->ca_file, NULL, &rt->probe_ctx, err, errlen);
    if (st == STS_OK) {
        struct sts_probe_cache_config pc;
        probe_cache_config(cfg, flags, rt, &pc);
        st = sts_probe_cache_new(&pc, &rt->probes, err, errlen);
    }
    if (st == STS_OK) {
        struct sts_cache_config cc;
        cache_config(cfg, flags, rt, &cc);
        st = sts_cache_new(&cc, &rt->cache, err, errlen);
    }
    if (st != STS_OK) {
        sts_engine_free(rt);
        return st;
    }
    *out = rt;
    return STS_OK;
}

void sts_engine_free(struct sts_engine *rt)
{
    if (rt == NULL)
        return;
    /* probes first: their on_probe reads the cache and feeds the collector */
    sts_probe_cache_free(rt->probes);
    sts_cache_free(rt->cache);
    sts_probe_ctx_free(rt->probe_ctx);
    sts_tlsrpt_collect_free(rt->tlsrpt); /* the last flush, before the store closes */
    sts_store_close(rt->store);
    sts_dane_free(rt->dane);
    sts_mx_cache_free(rt->mx);
    sts_dns_free(rt->dns);
    sts_overrides_unref(rt->ov);
    sts_config_unref(rt->cfg);
    sts_config_unref(rt->boot);
    pthread_mutex_destroy(&rt->mu);
    free(rt);
}

void sts_engine_acquire(struct sts_engine *rt, struct sts_snapshot *snap)
{
    pthread_mutex_lock(&rt->mu);
    snap->cfg = sts_config_ref(rt->cfg);
    snap->ov = rt->ov ? sts_overrides_ref(rt->ov) : NULL;
    pthread_mutex_unlock(&rt->mu);
}

void sts_snapshot_release(struct sts_snapshot *snap)
{
    if (snap == NULL)
        return;
    sts_config_unref(snap->cfg);
    sts_overrides_unref(snap->ov);
    snap->cfg = NULL;
    snap->ov = NULL;
}

enum sts_status sts_engine_reload(struct sts_engine *rt, char *err, size_t errlen)
{
    struct sts_config *cfg;
    if (rt->path[0] == '\0')
        return sts_status_set(STS_EINVAL, err, errlen, "no configuration file to reload");
    enum sts_status st = sts_config_load(rt->path, &cfg, err, errlen);
    if (st != STS_OK)
        return st;
    const struct sts_overrides *ov;
    st = load_overrides(cfg, &ov, err, errlen);
    if (st != STS_OK) {
        sts_config_unref(cfg);
        return st;
    }
    char restart[512];
    pthread_mutex_lock(&rt->mu);
    const struct sts_config *old_cfg = rt->cfg;
    const struct sts_overrides *old_ov = rt->ov;
    if (sts_config_restart_keys(old_cfg, cfg, restart, sizeof(restart)) > 0)
        sts_log(LOG_WARNING, "event=reload keys-need-restart=\"%s\"", restart);
    rt->cfg = cfg;
    rt->ov = ov;
    pthread_mutex_unlock(&rt->mu);
    sts_log_set_level(cfg->log_level);
    sts_config_unref(old_cfg);
    sts_overrides_unref(old_ov);
    sts_log(LOG_INFO, "event=reload status=ok config=%s overrides=%zu", rt->path,
            ov ? sts_overrides_count(ov) : (size_t)0);
    return STS_OK;
}

const struct sts_config *sts_engine_config(const struct sts_engine *e)
{
    return e->boot;
}

struct sts_dns *sts_engine_dns(const struct sts_engine *e)
{
    return e->dns;
}

struct sts_store *sts_engine_store(const struct sts_engine *e)
{
    return e->store;
}

struct sts_cache *sts_engine_cache(const struct sts_engine *e)
{
    return e->cache;
}

struct sts_mx_cache *sts_engine_mx(const struct sts_engine *e)
{
    return e->mx;
}

struct sts_dane *sts_engine_dane(const struct sts_engine *e)
{
    return e->dane;
}

bool sts_engine_store_degraded(const struct sts_engine *e)
{
    return e->store_degraded;
}

struct sts_tlsrpt_collect *sts_engine_tlsrpt(const struct sts_engine *e)
{
    return e->tlsrpt;
}

struct sts_probe_cache *sts_engine_probes(const struct sts_engine *e)
{
    return e->probes;
}

const struct sts_probe_ctx *sts_engine_probe_ctx(const struct sts_engine *e)
{
    return e->probe_ctx;
}

const char *sts_engine_helo(const struct sts_engine *e)
{
    return e->helo;
}
