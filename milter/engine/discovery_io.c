/*
 * discovery_io.c - the TXT and fetch steps of policy discovery, and one
 * whole discovery with its store writes and log lines (see
 * discovery_io.h).
 */
#include "mtasts/discovery_io.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "mtasts/clock.h"

static double mono_ms(void)
{
    return sts_clock_mono_msf();
}

void sts_discovery_io_txt(struct sts_dns *dns, const char *domain, struct sts_discovery_facts *f,
                          struct sts_discovery_io_txt *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "_mta-sts.%s", domain);
    double t0 = mono_ms();
    out->status = sts_dns_query(dns, out->name, STS_DNS_TXT, &out->ans);
    out->ms = mono_ms() - t0;
    f->txt_id = NULL;
    if (out->status != STS_OK || out->ans == NULL) { /* the resolver failed locally */
        out->ans = NULL;
        f->txt = STS_DISCOVERY_TXT_FAILED;
        f->txt_fails = STS_LOOKUP_REASON_DNS_SERVFAIL;
        return;
    }
    const struct sts_dns_answer *a = out->ans;
    switch (a->result) {
    case STS_DNS_ANSWER:
        switch (sts_txt_parse_rrset((const char *const *)a->txt, a->txt_len, a->count, &out->txt,
                                    out->err, sizeof(out->err))) {
        case STS_OK:
            f->txt = STS_DISCOVERY_TXT_RECORD;
            f->txt_id = out->txt.id;
            return;
        case STS_ENOTFOUND:
            f->txt = STS_DISCOVERY_TXT_NONE;
            return;
        default:
            f->txt = STS_DISCOVERY_TXT_INVALID;
            return;
        }
    case STS_DNS_NXDOMAIN:
    case STS_DNS_NODATA:
        f->txt = STS_DISCOVERY_TXT_NONE;
        return;
    default:
        f->txt = STS_DISCOVERY_TXT_FAILED;
        f->txt_fails = a->result == STS_DNS_TIMEOUT    ? STS_LOOKUP_REASON_DNS_TIMEOUT
                       : a->dnssec == STS_DNSSEC_BOGUS ? STS_LOOKUP_REASON_DNS_BOGUS
                                                       : STS_LOOKUP_REASON_DNS_SERVFAIL;
        return;
    }
}

void sts_discovery_io_txt_clear(struct sts_discovery_io_txt *t)
{
    if (t == NULL)
        return;
    sts_dns_answer_free(t->ans);
    t->ans = NULL;
}

void sts_discovery_io_fetch(const struct sts_fetch_config *cfg, struct sts_dns *dns,
                            const char *domain, struct sts_discovery_facts *f,
                            struct sts_discovery_io_fetch *out)
{
    memset(out, 0, sizeof(*out));
    f->fetched = true;
    f->parsed = false;
    double t0 = mono_ms();
    out->status = sts_fetch_policy(cfg, dns, domain, &out->resp);
    out->ms = mono_ms() - t0;
    if (out->status != STS_OK) {
        memset(&out->resp, 0, sizeof(out->resp));
        out->resp.result = STS_FETCH_ERROR;
        f->fetch = STS_FETCH_ERROR;
        return;
    }
    f->fetch = out->resp.result;
    if (out->resp.result != STS_FETCH_OK)
        return;
    out->parse_status = sts_policy_parse(out->resp.body, out->resp.body_len, &out->policy, out->err,
                                         sizeof(out->err));
    if (out->parse_status == STS_OK) {
        f->parsed = true;
        f->max_age = out->policy->max_age;
    }
}

void sts_discovery_io_fetch_clear(struct sts_discovery_io_fetch *s)
{
    if (s == NULL)
        return;
    sts_fetch_response_clear(&s->resp);
    sts_policy_free(s->policy);
    s->policy = NULL;
}

/* ---- one discovery, as the cache runs it ---- */

static void store_error(const struct sts_discovery_io_env *env, const char *domain, const char *err)
{
    sts_log_to(env->log, LOG_ERR, "domain=%s event=store-error reason=\"%s\"", domain, err);
}

/* The store writes a decision asks for. */
static void apply_writes(const struct sts_discovery_io_env *env, const char *domain,
                         const struct sts_discovery_facts *f,
                         const struct sts_discovery_decision *d, const struct sts_policy *p,
                         const char *reason)
{
    char err[256];
    struct sts_store *store = env->store;
    if (store == NULL)
        return;
    if ((d->writes & STS_DISCOVERY_WRITE_BACKOFF) &&
        sts_store_backoff_put(store, domain, f->txt_id, d->backoff_until, reason, err,
                              sizeof(err)) != STS_OK)
        store_error(env, domain, err);
    if (d->writes & STS_DISCOVERY_WRITE_NEGATIVE) {
        struct sts_store_negative neg = {.until = d->until};
        snprintf(neg.domain, sizeof(neg.domain), "%s", domain);
        snprintf(neg.reason, sizeof(neg.reason), "%s", reason);
        if (sts_store_negative_put(store, &neg, err, sizeof(err)) != STS_OK)
            store_error(env, domain, err);
    }
    if ((d->writes & STS_DISCOVERY_WRITE_REFRESH) &&
        sts_store_refresh(store, domain, f->now, d->expires_at, err, sizeof(err)) == STS_EIO)
        store_error(env, domain, err);
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
        if (sts_store_put(store, &se, err, sizeof(err)) != STS_OK)
            store_error(env, domain, err);
    }
}

/* The log lines a decision asks for, in discovery.h's order. */
static void apply_logs(const struct sts_discovery_io_env *env, const char *domain,
                       const struct sts_discovery_facts *f, const struct sts_discovery_decision *d,
                       const struct sts_discovery_io_cached *held, const struct sts_policy *p,
                       const char *reason, const char *detail)
{
    const struct sts_log_sink *log = env->log;
    bool kept = d->action == STS_DISCOVERY_KEEP;
    if (d->logs & STS_DISCOVERY_LOG_FETCH_FAILED)
        sts_log_to(log, LOG_WARNING,
                   "domain=%s event=fetch-failed id=%s reason=%s detail=\"%s\" action=%s "
                   "backoff=%u",
                   domain, f->txt_id, reason, detail, kept ? "keep-cached" : "no-policy",
                   d->backoff_s);
    if (d->logs & STS_DISCOVERY_LOG_TXT_MISSING)
        sts_log_to(log, LOG_WARNING,
                   "domain=%s event=txt-missing reason=%s action=keep-cached id=%s "
                   "expires_in=%lld",
                   domain, reason, held->id, (long long)(held->expires_at - f->now));
    if (d->logs & STS_DISCOVERY_LOG_TXT_LOOKUP_FAILED)
        sts_log_to(log, LOG_WARNING, "domain=%s event=txt-lookup-failed reason=%s%s", domain,
                   reason, kept ? " action=keep-cached" : "");
    if (d->logs & STS_DISCOVERY_LOG_NO_POLICY)
        sts_log_to(log, LOG_INFO, "domain=%s event=no-policy reason=%s", domain, reason);
    if ((d->logs & STS_DISCOVERY_LOG_POLICY_UPDATED) && p != NULL)
        sts_log_to(log, LOG_INFO,
                   "domain=%s event=policy-updated id=%s mode=%s max_age=%u old_id=%s", domain,
                   f->txt_id, sts_mode_name(p->mode), p->max_age,
                   held->policy != NULL ? held->id : "-");
}

void sts_discovery_io_run(const struct sts_discovery_io_env *env, const char *domain, int64_t now,
                          const struct sts_discovery_io_cached *cached,
                          struct sts_discovery_io_result *out)
{
    struct sts_discovery_facts f = {
        .now = now,
        .cached = cached->policy != NULL,
        .cached_id = cached->policy != NULL ? cached->id : "",
        .cached_max_age = cached->policy != NULL ? cached->policy->max_age : 0,
    };
    struct sts_discovery_io_txt txt;
    struct sts_discovery_io_fetch fetch = {0};
    struct sts_discovery_decision *d = &out->d;
    char err[256], reason[64];

    memset(out, 0, sizeof(*out));
    sts_discovery_io_txt(env->dns, domain, &f, &txt);
    if (f.txt == STS_DISCOVERY_TXT_INVALID)
        sts_log_to(env->log, LOG_INFO, "domain=%s event=txt-invalid reason=\"%s\"", domain,
                   txt.err);
    sts_discovery_decide(&f, &env->set, d);
    if (d->action == STS_DISCOVERY_CHECK_BACKOFF) {
        int64_t until = 0;
        f.backoff_checked = true;
        if (env->store != NULL && sts_store_backoff_get(env->store, domain, f.txt_id, f.now, &until,
                                                        err, sizeof(err)) == STS_OK)
            f.backoff_until = until;
        sts_discovery_decide(&f, &env->set, d);
    }
    if (d->action == STS_DISCOVERY_FETCH) {
        sts_discovery_io_fetch(env->fetch, env->dns, domain, &f, &fetch);
        sts_discovery_decide(&f, &env->set, d);
    }

    sts_lookup_reason_format(d->reason, d->fetch, reason, sizeof(reason));
    apply_writes(env, domain, &f, d, fetch.policy, reason);
    apply_logs(env, domain, &f, d, cached, fetch.policy, reason, fetch.resp.detail);
    snprintf(out->txt_id, sizeof(out->txt_id), "%s", f.txt_id != NULL ? f.txt_id : "");
    if (d->action == STS_DISCOVERY_UPDATE) {
        out->policy = fetch.policy; /* taken over by the caller */
        fetch.policy = NULL;
    }
    sts_discovery_io_fetch_clear(&fetch);
    sts_discovery_io_txt_clear(&txt);
}
