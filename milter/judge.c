/*
 * judge.c - collect the facts for one recipient and decide (see judge.h).
 */
#include "mtasts/judge.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "mtasts/log.h"

#define JUDGE_MX_MAX 32

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static enum sts_verdict_action action_of(enum sts_config_action a)
{
    return a == STS_CONFIG_TEMPFAIL ? STS_VERDICT_TEMPFAIL : STS_VERDICT_PASS;
}

/* Does the name have an address record?  -1: the lookup failed. */
static int has_address(struct sts_runtime *rt, const char *name, unsigned budget_ms)
{
    static const enum sts_dns_type types[] = {STS_DNS_A, STS_DNS_AAAA};
    int failed = 0;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        struct sts_dns_answer *ans = NULL;
        if (sts_dns_query_within(rt->dns, name, types[i], budget_ms, &ans) != STS_OK) {
            failed = 1;
            continue;
        }
        enum sts_dns_result r = ans->result;
        sts_dns_answer_free(ans);
        if (r == STS_DNS_ANSWER)
            return 1;
        if (r != STS_DNS_NXDOMAIN && r != STS_DNS_NODATA)
            failed = 1;
    }
    return failed ? -1 : 0;
}

/*
 * The domain's MX hosts.  RFC 5321 §5.1: without MX records the domain
 * itself is the MX host, if it has an address; without either there is
 * nowhere to deliver (an empty list).  deadline_ms is on mono_ms()'s clock.
 */
static void gather_mx(struct sts_runtime *rt, const char *domain, double deadline_ms,
                      char hosts[][STS_DOMAIN_MAX + 1], const char **list, size_t *count,
                      bool *dns_error)
{
    *count = 0;
    *dns_error = false;
    double left = deadline_ms - mono_ms();
    struct sts_dns_answer *ans = NULL;
    if (left < 1.0 ||
        sts_dns_query_within(rt->dns, domain, STS_DNS_MX, (unsigned)left, &ans) != STS_OK) {
        *dns_error = true;
        return;
    }
    enum sts_dns_result result = ans->result;
    for (size_t i = 0; result == STS_DNS_ANSWER && i < ans->count && *count < JUDGE_MX_MAX; i++) {
        snprintf(hosts[*count], STS_DOMAIN_MAX + 1, "%.253s", ans->mx[i].host);
        list[*count] = hosts[*count];
        (*count)++;
    }
    sts_dns_answer_free(ans);

    if (result == STS_DNS_NODATA) {
        left = deadline_ms - mono_ms();
        int addr = left >= 1.0 ? has_address(rt, domain, (unsigned)left) : -1;
        if (addr < 0) {
            *dns_error = true;
        } else if (addr > 0) {
            snprintf(hosts[0], STS_DOMAIN_MAX + 1, "%s", domain);
            list[0] = hosts[0];
            *count = 1;
        }
    } else if (result != STS_DNS_ANSWER && result != STS_DNS_NXDOMAIN) {
        *dns_error = true;
    }
}

void sts_judge_rcpt(struct sts_runtime *rt, const struct sts_snapshot *snap, const char *rcpt,
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
        ovr.kind = o->kind == STS_OVERRIDE_KIND_SKIP ? STS_OVERRIDE_SKIP : STS_OVERRIDE_ENFORCE;
        ovr.patterns = o->patterns;
        ovr.count = o->npatterns;
    }
    struct sts_verdict_on_failure on_failure = {
        .dns_error = action_of(cfg->on_dns_error),
        .discovery_timeout = action_of(cfg->on_discovery_timeout),
        .store_error = action_of(cfg->on_store_error),
        .internal_error = action_of(cfg->on_internal_error),
    };
    struct sts_verdict_input in = {
        .mode = cfg->mode == STS_CONFIG_MODE_ENFORCE ? STS_MILTER_ENFORCE : STS_MILTER_AUDIT,
        .domain = out->domain,
        .route = &out->route,
        .lookup = STS_LOOKUP_NO_POLICY,
        .trusted_relays = (const char *const *)cfg->trusted_relays.items,
        .trusted_count = cfg->trusted_relays.count,
        .override = o ? &ovr : NULL,
        .on_failure = &on_failure,
        /* An address we cannot read is our failure, not "no domain". */
        .internal_error = dst != STS_OK && dst != STS_ENOTFOUND,
    };

    struct sts_cache_result res = {0};
    if (have_domain && sts_verdict_needs_lookup(&in)) {
        sts_cache_lookup(rt->cache, out->domain, cfg->lookup_deadline_ms, &res);
        in.lookup = res.outcome;
        in.internal_error = in.internal_error || strcmp(res.reason, "out-of-memory") == 0;
        in.policy = res.policy;
        in.policy_id = res.id;
        out->lookup = res.outcome;
        out->source = res.source;
        snprintf(out->lookup_reason, sizeof(out->lookup_reason), "%s", res.reason);
    }

    char hosts[JUDGE_MX_MAX][STS_DOMAIN_MAX + 1];
    const char *list[JUDGE_MX_MAX];
    if (have_domain && sts_verdict_needs_mx(&in)) {
        gather_mx(rt, out->domain, t0 + (double)cfg->lookup_deadline_ms, hosts, list, &in.mx_count,
                  &in.mx_dns_error);
        in.mx = list;
        out->mx_count = in.mx_count;
    }

    sts_verdict_decide(&in, &out->verdict);
    sts_cache_result_clear(&res);
    out->ms = mono_ms() - t0;
}

void sts_judge_log(const struct sts_snapshot *snap, const char *queue_id, const char *rcpt,
                   const struct sts_judgement *j)
{
    const struct sts_verdict *v = &j->verdict;
    char shown[160];
    sts_status_quote(rcpt ? rcpt : "", rcpt ? strlen(rcpt) : 0, shown, sizeof(shown));
    sts_log(v->would_fail ? LOG_WARNING : LOG_INFO,
            "%s: rcpt=%s domain=%s mode=%s policy=%s id=%s route=%s hop=%s lookup=%s source=%s "
            "verdict=%s would_fail=%s reason=%s mx=%s ms=%.3f",
            queue_id, shown, j->domain[0] ? j->domain : "-", sts_config_mode_name(snap->cfg->mode),
            v->mode_known ? sts_mode_name(v->mode) : "-", v->policy_id[0] ? v->policy_id : "-",
            sts_route_kind_name(j->route.kind), j->route.hop[0] ? j->route.hop : "-",
            j->source == STS_SOURCE_NONE ? "-" : sts_lookup_outcome_name(j->lookup),
            sts_lookup_source_name(j->source), sts_verdict_action_name(v->action),
            v->would_fail ? "yes" : "no", sts_verdict_reason_name(v->reason),
            v->mx[0] ? v->mx : "-", j->ms);
}
