/*
 * judge.c - collect the facts for one recipient and decide (see judge.h).
 */
#include "mtasts/judge.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "mtasts/dane.h"
#include "mtasts/destination.h"
#include "mtasts/log.h"
#include "mtasts/metrics.h"
#include "mtasts/probe_cache.h"
#include "judge_learn.h"

#define JUDGE_MX_MAX 32

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * The domain's MX hosts, from the MX memo (mx_cache.h): RFC 5321 §5.1
 * implicit MX included; an empty list means nowhere to deliver.  list
 * points into *mx.  deadline_ms is on mono_ms()'s clock.
 */
static size_t gather_mx(struct sts_engine *rt, const char *domain, double deadline_ms,
                        struct sts_mx_result *mx, const char **list)
{
    double left = deadline_ms - mono_ms();
    sts_mx_cache_get(sts_engine_mx(rt), domain, left >= 1.0 ? (unsigned)left : 0, mx);
    size_t n = mx->count < JUDGE_MX_MAX ? mx->count : JUDGE_MX_MAX;
    for (size_t i = 0; i < n; i++)
        list[i] = mx->hosts[i].name;
    return n;
}

/*
 * The TLS state of each MX host (probe_cache.h).  All probes are started
 * first without waiting, so that the hosts are probed in parallel; then
 * the ones still pending are waited for within what is left of the
 * deadline.  Null MX entries are skipped (known = false, never judged).
 * With learn, the candidates that require nothing are probed too (for
 * LearnTLS), but not waited for: their results serve later recipients.
 */
static void gather_tls(struct sts_engine *rt, const char *domain, const char *const *mx, size_t n,
                       const struct sts_destination *d, enum sts_dnssec dnssec, bool require_dane,
                       bool mark_used, bool learn, double deadline_ms, struct sts_tls_verdict *tls,
                       bool *probed)
{
    /* only the candidates that require something are waited for */
    bool want[JUDGE_MX_MAX];
    for (size_t i = 0; i < n; i++) {
        memset(&tls[i], 0, sizeof(tls[i]));
        bool cand = mx[i][0] != '\0' && i < d->count && d->candidate[i];
        want[i] = cand && d->req[i] != STS_REQUIRE_NONE;
        probed[i] = want[i] || (cand && learn);
        if (probed[i])
            sts_probe_cache_get_for(sts_engine_probes(rt), domain, mx[i], dnssec, require_dane, 0,
                                    mark_used, &tls[i], NULL);
    }
    for (size_t i = 0; i < n; i++) {
        double left = deadline_ms - mono_ms();
        if (want[i] && !tls[i].known && left >= 1.0)
            sts_probe_cache_get(sts_engine_probes(rt), mx[i], dnssec, require_dane, (unsigned)left,
                                false, &tls[i], NULL);
    }
}

/*
 * What each MX host's TLSA RRset means (dane.h), when the MX RRset is
 * secure: the facts that make DANE govern a host (RFC 7672 §2.2).
 */
static const enum sts_dane_state *gather_dane(struct sts_engine *rt, const struct sts_mx_result *mx,
                                              double deadline_ms, enum sts_dane_state *states)
{
    if (mx->dns_error || mx->dnssec != STS_DNSSEC_SECURE)
        return NULL;
    double left = deadline_ms - mono_ms();
    char why[96];
    sts_dane_domain(sts_engine_dane(rt), mx, left >= 1.0 ? (unsigned)left : 1, states, why,
                    sizeof(why));
    return states;
}

/*
 * "host[result]..." for the audit header and the log (audit_header.h):
 * the probed hosts only, so a host nothing was required of is not shown
 * as "pending".
 */
static void tls_summary(const char *const *mx, size_t n, const struct sts_tls_verdict *tls,
                        const bool *probed, char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (!probed[i])
            continue;
        char one[STS_DOMAIN_MAX + 40];
        int len = snprintf(one, sizeof(one), "%s[%s%s]", mx[i], tls[i].dane ? "dane:" : "",
                           tls[i].known ? sts_tls_result_name(tls[i].result) : "pending");
        if (len < 0 || o + (size_t)len >= outlen)
            break; /* keep whole entries only */
        memcpy(out + o, one, (size_t)len + 1);
        o += (size_t)len;
    }
}

void sts_judge_rcpt(struct sts_engine *rt, const struct sts_snapshot *snap, const char *rcpt,
                    const char *mailer, const char *host, struct sts_judgement *out)
{
    const struct sts_config *cfg = snap->cfg;
    double t0 = mono_ms();
    memset(out, 0, sizeof(*out));
    out->lookup = STS_LOOKUP_NO_POLICY;

    char err[128];
    enum sts_status dst = STS_ENOTFOUND;
    if (rcpt != NULL)
        dst = sts_route_rcpt_domain(rcpt, out->domain, sizeof(out->domain), err, sizeof(err));
    bool have_domain = dst == STS_OK;
    if (!have_domain)
        out->domain[0] = '\0';
    sts_route_classify(mailer, host, have_domain ? out->domain : NULL, NULL, 0, &out->route, err,
                       sizeof(err));

    struct sts_verdict_override ovr = {0};
    const struct sts_override *o =
        have_domain && snap->ov ? sts_overrides_lookup(snap->ov, out->domain) : NULL;
    if (o != NULL) {
        ovr.kind = o->kind;
        ovr.patterns = o->patterns;
        ovr.count = o->npatterns;
    }
    struct sts_verdict_input in = {
        .mode = cfg->mode,
        .domain = out->domain,
        .route = &out->route,
        .lookup = STS_LOOKUP_NO_POLICY,
        .trusted_relays = (const char *const *)cfg->trusted_relays.items,
        .trusted_count = cfg->trusted_relays.count,
        .override = o ? &ovr : NULL,
        .on_failure =
            {
                .dns_error = cfg->on_dns_error,
                .discovery_timeout = cfg->on_discovery_timeout,
                .store_error = cfg->on_store_error,
                .internal_error = cfg->on_internal_error,
                .tls_unknown = cfg->on_tls_unknown,
            },
        /* An address we cannot read is our failure, not "no domain". */
        .internal_error = dst != STS_OK && dst != STS_ENOTFOUND,
    };

    struct sts_cache_result res = {0};
    if (have_domain && sts_verdict_needs_lookup(&in)) {
        sts_cache_lookup(sts_engine_cache(rt), out->domain, cfg->lookup_deadline_ms, &res);
        sts_metrics_lookup(res.source, res.outcome);
        in.lookup = res.outcome;
        in.internal_error = in.internal_error || res.reason == STS_LOOKUP_REASON_OUT_OF_MEMORY;
        in.policy = res.policy;
        in.policy_id = res.id;
        out->lookup = res.outcome;
        out->source = res.source;
        out->lookup_reason = res.reason;
        out->lookup_fetch = res.fetch;
    }

    /* LearnTLS: a DIRECT domain without MTA-STS (or mode none) or override */
    bool learning =
        cfg->learn_tls != STS_LEARN_OFF && have_domain && o == NULL &&
        out->route.kind == STS_ROUTE_DIRECT &&
        (in.lookup == STS_LOOKUP_NO_POLICY ||
         (in.lookup == STS_LOOKUP_POLICY && in.policy != NULL && in.policy->mode == STS_MODE_NONE));
    struct sts_learn_state learned = {0};
    int64_t now = sts_engine_now_s(rt);
    if (learning) {
        sts_judge_learn_read(rt, out->domain, &learned);
        in.learned = sts_learn_is_learned(&learned, now, (int64_t)cfg->learn_period_s);
        in.learn_enforce = cfg->learn_tls == STS_LEARN_ENFORCE;
    }

    struct sts_mx_result mx;
    const char *list[JUDGE_MX_MAX];
    struct sts_tls_verdict tls[JUDGE_MX_MAX];
    enum sts_dane_state dane_states[JUDGE_MX_MAX];
    double deadline = t0 + (double)cfg->lookup_deadline_ms;
    /* Only a validating resolver can make an MX RRset secure (DANE) or bogus. */
    in.dane_possible = cfg->trust_anchor_file != NULL && cfg->trust_anchor_file[0] != '\0';
    if (have_domain && (sts_verdict_needs_mx(&in) || learning)) {
        in.mx_count = gather_mx(rt, out->domain, deadline, &mx, list);
        in.mx = list;
        in.mx_dns_error = mx.dns_error;
        in.mx_bogus = mx.dns_error && mx.dnssec == STS_DNSSEC_BOGUS;
        in.mx_dane = gather_dane(rt, &mx, deadline, dane_states);
        out->mx_count = in.mx_count;
        if (cfg->tls_checks && sts_engine_probes(rt) != NULL && !in.mx_dns_error &&
            in.mx_count > 0) {
            bool dane = o != NULL && o->kind == STS_OVERRIDE_DANE;
            struct sts_destination d;
            sts_verdict_destination(&in, &d);
            /* the refresher keeps the hosts of domains that require TLS warm */
            bool enforcing = o != NULL ||
                             (in.policy != NULL && in.policy->mode == STS_MODE_ENFORCE) ||
                             d.ndane > 0 || in.learned;
            /* a domain with DANE hosts is DANE's, never learned */
            bool learn = learning && d.ndane == 0 && !in.mx_bogus;
            bool probed[JUDGE_MX_MAX];
            gather_tls(rt, out->domain, list, in.mx_count, &d, mx.dnssec, dane, enforcing, learn,
                       deadline, tls, probed);
            in.mx_tls = tls;
            tls_summary(list, in.mx_count, tls, probed, out->tls, sizeof(out->tls));
            if (learn)
                sts_judge_learn_observe(rt, cfg, out->domain, &learned, list, tls, in.mx_count,
                                        now);
        }
    }

    sts_verdict_decide(&in, &out->verdict);
    sts_cache_result_clear(&res);
    out->ms = mono_ms() - t0;
    sts_metrics_rcpt(cfg->mode, out->verdict.action, out->verdict.would_fail, out->verdict.reason,
                     out->ms / 1e3);
}

void sts_judge_log(const struct sts_snapshot *snap, const char *queue_id, const char *rcpt,
                   const struct sts_judgement *j)
{
    const struct sts_verdict *v = &j->verdict;
    char shown[160];
    sts_status_quote(rcpt ? rcpt : "", rcpt ? strlen(rcpt) : 0, shown, sizeof(shown));
    sts_log(v->would_fail ? LOG_WARNING : LOG_INFO,
            "%s: rcpt=%s domain=%s mode=%s policy=%s id=%s route=%s hop=%s lookup=%s source=%s "
            "verdict=%s would_fail=%s reason=%s mx=%s tls=%s ms=%.3f require=%s",
            queue_id, shown, j->domain[0] ? j->domain : "-", sts_milter_mode_name(snap->cfg->mode),
            v->mode_known ? sts_mode_name(v->mode) : "-", v->policy_id[0] ? v->policy_id : "-",
            sts_route_kind_name(j->route.kind), j->route.hop[0] ? j->route.hop : "-",
            j->source == STS_SOURCE_NONE ? "-" : sts_lookup_outcome_name(j->lookup),
            sts_lookup_source_name(j->source), sts_action_name(v->action),
            v->would_fail ? "yes" : "no", sts_verdict_reason_name(v->reason),
            v->mx[0] ? v->mx : "-", j->tls[0] ? j->tls : "-", j->ms,
            sts_tls_requirement_name(v->require));
}

static unsigned ms_left(double deadline_ms)
{
    double left = deadline_ms - mono_ms();
    return left >= 1.0 ? (unsigned)left : 1; /* a lookup still gets its front-cache answer */
}

size_t sts_judge_map_key(struct sts_engine *e, const struct sts_policy_map_options *opts,
                         unsigned deadline_ms, const char *req, size_t len, char *out,
                         size_t outlen, struct sts_map_answer *info)
{
    struct sts_map_answer scratch;
    if (info == NULL)
        info = &scratch;
    memset(info, 0, sizeof(*info));
    double t0 = mono_ms(), deadline = t0 + (double)deadline_ms;
    char domain[STS_DOMAIN_MAX + 1];
    info->kind =
        sts_policy_map_parse(req, len, domain, sizeof(domain), info->word, sizeof(info->word));
    if (info->kind != STS_POLICY_MAP_LOOKUP)
        sts_metrics_socketmap(info->kind, STS_DANE_SUMMARY_NONE, 0, (mono_ms() - t0) / 1e3);
    if (info->kind == STS_POLICY_MAP_NOTFOUND)
        return (size_t)snprintf(out, outlen, "NOTFOUND ");
    if (info->kind != STS_POLICY_MAP_LOOKUP)
        return sts_policy_map_perm(info->word, out, outlen);

    /* The destination decision the RCPT judge makes (destination.h): the
     * override, the MX RRset's DNSSEC and each host's DANE state first;
     * the MTA-STS policy only where none of them decides (RFC 8461 §2). */
    struct sts_snapshot snap;
    sts_engine_acquire(e, &snap);
    const struct sts_override *o = snap.ov ? sts_overrides_lookup(snap.ov, domain) : NULL;
    struct sts_destination_input di = {.override = o != NULL ? o->kind : STS_OVERRIDE_NONE,
                                       .patterns = o != NULL ? o->patterns : NULL,
                                       .npatterns = o != NULL ? o->npatterns : 0};
    struct sts_mx_result mx;
    const char *list[JUDGE_MX_MAX];
    enum sts_dane_state states[JUDGE_MX_MAX];
    if (di.override != STS_OVERRIDE_SKIP) {
        di.mx_count = gather_mx(e, domain, deadline, &mx, list);
        di.mx = list;
        di.mx_dnssec = mx.dnssec;
        di.mx_bogus = mx.dns_error && mx.dnssec == STS_DNSSEC_BOGUS;
        di.dane = gather_dane(e, &mx, deadline, states);
    }
    struct sts_destination d;
    sts_destination_decide(&di, &d);
    info->dane = d.dane;
    struct sts_cache_result res = {.outcome = STS_LOOKUP_NO_POLICY};
    bool sts = !d.skip && !d.dnssec_invalid && d.override == STS_OVERRIDE_NONE &&
               d.dane == STS_DANE_SUMMARY_NONE;
    if (sts)
        sts_cache_lookup(sts_engine_cache(e), domain, ms_left(deadline), &res);
    if (sts)
        sts_metrics_lookup(res.source, res.outcome);
    /* LearnTLS enforce: a learned domain without MTA-STS is delivered as
       the RCPT judge accepts it, over verified TLS (learn.h) */
    bool no_sts = res.outcome == STS_LOOKUP_NO_POLICY ||
                  (res.outcome == STS_LOOKUP_POLICY && res.policy != NULL &&
                   res.policy->mode == STS_MODE_NONE);
    if (sts && no_sts && snap.cfg->learn_tls == STS_LEARN_ENFORCE) {
        struct sts_learn_state ls = {0};
        sts_judge_learn_read(e, domain, &ls);
        di.learned =
            sts_learn_is_learned(&ls, sts_engine_now_s(e), (int64_t)snap.cfg->learn_period_s);
        if (di.learned)
            sts_destination_decide(&di, &d);
    }
    struct sts_policy_map_input in = {.domain = domain,
                                      .outcome = res.outcome,
                                      .policy = res.policy,
                                      .reason = res.reason,
                                      .fetch = res.fetch,
                                      .dane = d.dane,
                                      .dest = &d,
                                      .patterns = di.patterns,
                                      .npatterns = di.npatterns};
    size_t n = sts_policy_map_reply(opts, &in, out, outlen);
    info->outcome = res.outcome;
    if (d.learned)
        snprintf(info->word, sizeof(info->word), "learned-verify");
    else if (sts)
        snprintf(info->word, sizeof(info->word), "%s", sts_lookup_outcome_name(res.outcome));
    else if (d.dnssec_invalid)
        snprintf(info->word, sizeof(info->word), "dnssec-invalid");
    else if (d.dane != STS_DANE_SUMMARY_NONE)
        snprintf(info->word, sizeof(info->word), "%s", sts_dane_summary_name(d.dane));
    else
        snprintf(info->word, sizeof(info->word), "override-%s", sts_override_kind_name(d.override));
    sts_snapshot_release(&snap);
    sts_cache_result_clear(&res);
    sts_metrics_socketmap(info->kind, info->dane, res.outcome, (mono_ms() - t0) / 1e3);
    return n;
}
