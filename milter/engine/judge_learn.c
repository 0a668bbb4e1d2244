/*
 * judge_learn.c - learned forced TLS in the RCPT judge (judge_learn.h).
 */
#include "judge_learn.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "mtasts/log.h"
#include "mtasts/store.h"

void sts_judge_learn_read(struct sts_engine *e, const char *domain, struct sts_learn_state *st)
{
    char err[256];
    memset(st, 0, sizeof(*st));
    struct sts_store *store = sts_engine_store(e);
    if (store == NULL)
        return;
    if (sts_store_learn_get(store, domain, st, err, sizeof(err)) != STS_OK) {
        memset(st, 0, sizeof(*st));
        sts_log(LOG_DEBUG, "learn: domain=%s read failed: %s", domain, err);
    }
}

void sts_judge_learn_observe(struct sts_engine *e, const struct sts_config *cfg, const char *domain,
                             struct sts_learn_state *st, const char *const *mx,
                             const struct sts_tls_verdict *tls, size_t n, int64_t now)
{
    int64_t period = (int64_t)cfg->learn_period_s;
    enum sts_learn_obs obs = sts_learn_classify(mx, tls, n);
    bool was = sts_learn_is_learned(st, now, period);
    bool had = st->present;
    uint32_t fails = st->fails;
    enum sts_learn_change ch = sts_learn_observe(st, obs, now, period);
    if (ch == STS_LEARN_KEEP)
        return;
    struct sts_store *store = sts_engine_store(e);
    char err[256];
    enum sts_status rc = STS_OK;
    if (store != NULL && ch == STS_LEARN_WRITE)
        rc = sts_store_learn_put(store, domain, st, err, sizeof(err));
    else if (store != NULL && ch == STS_LEARN_FORGET && had)
        rc = sts_store_learn_delete(store, domain, err, sizeof(err));
    if (rc != STS_OK && rc != STS_ENOTFOUND) {
        sts_log(LOG_WARNING, "learn: domain=%s store write failed: %s", domain, err);
        return;
    }
    bool is = sts_learn_is_learned(st, now, period);
    if (!was && is)
        sts_log(LOG_INFO, "learn: domain=%s state=learned since=%lld mode=%s", domain,
                (long long)st->since, sts_learn_mode_name(cfg->learn_tls));
    else if (was && st->fails > fails)
        sts_log(LOG_WARNING, "learn: domain=%s state=learned reason=learned-tls-downgrade fails=%u",
                domain, st->fails);
    else if (had && !st->present)
        sts_log(LOG_INFO, "learn: domain=%s state=forgotten reason=%s", domain,
                obs == STS_LEARN_OBS_FAIL ? "streak-broken" : "no-verified-tls-for-a-period");
}
