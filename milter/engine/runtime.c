/*
 * runtime.c - the milter's context object (see runtime.h).
 */
#include "mtasts/runtime.h"

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

static void cache_config(const struct sts_config *cfg, struct sts_runtime *rt,
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
    cc->refresh_interval_s = cfg->refresh_interval_s;
    cc->refresh_window_s = cfg->refresh_window_s;
    cc->recent_use_s = cfg->recent_use_s;
    cc->log = sts_log_line;
}

/* The EHLO name of probes: HeloName, else the host name, else "localhost". */
static void pick_helo(const struct sts_config *cfg, struct sts_runtime *rt)
{
    if (cfg->helo_name != NULL && cfg->helo_name[0] != '\0')
        snprintf(rt->helo_, sizeof(rt->helo_), "%s", cfg->helo_name);
    else if (gethostname(rt->helo_, sizeof(rt->helo_) - 1) != 0 || rt->helo_[0] == '\0')
        snprintf(rt->helo_, sizeof(rt->helo_), "localhost");
    rt->helo_[sizeof(rt->helo_) - 1] = '\0';
}

static void probe_cache_config(const struct sts_config *cfg, struct sts_runtime *rt,
                               struct sts_probe_cache_config *pc)
{
    memset(pc, 0, sizeof(*pc));
    pick_helo(cfg, rt);
    pc->dns = rt->dns;
    pc->store = rt->store;
    pc->probe = rt->probe_ctx;
    pc->port = cfg->probe_port;
    pc->helo_name = rt->helo_;
    pc->probe_timeout_ms = cfg->probe_timeout_ms;
    pc->ttl_pass_s = cfg->probe_ttl_s;
    pc->ttl_fail_s = cfg->probe_failure_ttl_s;
    pc->max_concurrent = cfg->max_concurrent_probes;
    pc->refresh_interval_s = cfg->refresh_interval_s;
    pc->recent_use_s = cfg->recent_use_s;
    pc->log = sts_log_line;
}

enum sts_status sts_runtime_new(struct sts_config *cfg, const char *path, struct sts_runtime **out,
                                char *err, size_t errlen)
{
    *out = NULL;
    struct sts_runtime *rt = calloc(1, sizeof(*rt));
    pthread_mutex_t *mu = malloc(sizeof(*mu));
    if (rt == NULL || mu == NULL) {
        free(rt);
        free(mu);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    }
    pthread_mutex_init(mu, NULL);
    rt->mu_ = mu;
    rt->cfg_ = cfg;
    snprintf(rt->path_, sizeof(rt->path_), "%s", path ? path : "");

    enum sts_status st = load_overrides(cfg, &rt->ov_, err, errlen);
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
    if (st == STS_OK)
        st = sts_store_open(cfg->store, &rt->store, err, errlen);
    if (st == STS_OK)
        st = sts_probe_ctx_new(cfg->ca_file, NULL, &rt->probe_ctx, err, errlen);
    if (st == STS_OK) {
        struct sts_probe_cache_config pc;
        probe_cache_config(cfg, rt, &pc);
        st = sts_probe_cache_new(&pc, &rt->probes, err, errlen);
    }
    if (st == STS_OK) {
        struct sts_cache_config cc;
        cache_config(cfg, rt, &cc);
        st = sts_cache_new(&cc, &rt->cache, err, errlen);
    }
    if (st != STS_OK) {
        sts_runtime_free(rt);
        return st;
    }
    *out = rt;
    return STS_OK;
}

void sts_runtime_free(struct sts_runtime *rt)
{
    if (rt == NULL)
        return;
    sts_cache_free(rt->cache);
    sts_probe_cache_free(rt->probes);
    sts_probe_ctx_free(rt->probe_ctx);
    sts_store_close(rt->store);
    sts_mx_cache_free(rt->mx);
    sts_dns_free(rt->dns);
    sts_overrides_unref(rt->ov_);
    sts_config_unref(rt->cfg_);
    if (rt->mu_ != NULL) {
        pthread_mutex_destroy(rt->mu_);
        free(rt->mu_);
    }
    free(rt);
}

void sts_runtime_acquire(struct sts_runtime *rt, struct sts_snapshot *snap)
{
    pthread_mutex_lock(rt->mu_);
    snap->cfg = sts_config_ref(rt->cfg_);
    snap->ov = rt->ov_ ? sts_overrides_ref(rt->ov_) : NULL;
    pthread_mutex_unlock(rt->mu_);
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

enum sts_status sts_runtime_reload(struct sts_runtime *rt, char *err, size_t errlen)
{
    struct sts_config *cfg;
    enum sts_status st = sts_config_load(rt->path_, &cfg, err, errlen);
    if (st != STS_OK)
        return st;
    const struct sts_overrides *ov;
    st = load_overrides(cfg, &ov, err, errlen);
    if (st != STS_OK) {
        sts_config_unref(cfg);
        return st;
    }
    char restart[512];
    pthread_mutex_lock(rt->mu_);
    const struct sts_config *old_cfg = rt->cfg_;
    const struct sts_overrides *old_ov = rt->ov_;
    if (sts_config_restart_keys(old_cfg, cfg, restart, sizeof(restart)) > 0)
        sts_log(LOG_WARNING, "event=reload keys-need-restart=\"%s\"", restart);
    rt->cfg_ = cfg;
    rt->ov_ = ov;
    pthread_mutex_unlock(rt->mu_);
    sts_log_set_level(cfg->log_level);
    sts_config_unref(old_cfg);
    sts_overrides_unref(old_ov);
    sts_log(LOG_INFO, "event=reload status=ok config=%s overrides=%zu", rt->path_,
            ov ? sts_overrides_count(ov) : (size_t)0);
    return STS_OK;
}
