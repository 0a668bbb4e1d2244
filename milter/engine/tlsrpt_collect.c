/*
 * tlsrpt_collect.c - TLS-RPT results from the engine to the store
 * (tlsrpt_collect.h).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "mtasts/job_pool.h"
#include "mtasts/tlsrpt_collect.h"

#define COLLECT_FLUSH_MS 10000
#define COLLECT_SENDER_MAX 320

struct sts_tlsrpt_collect {
    struct sts_tlsrpt_agg *agg;
    struct sts_job_pool *flusher; /* its refresher is the flush timer */
    struct sts_store *store;
    size_t max_details;
    bool postfix_sessions;
    char sender[COLLECT_SENDER_MAX + 1]; /* "" = none */
    struct sts_log_sink log;
    struct sts_clock clock;
    atomic_uint_fast64_t sessions, rows_written, rows_lost, details_capped;
};

/* The pool runs no jobs: it is here for its refresher thread. */
static void collect_no_job(void *arg, struct sts_job *job, void *scratch)
{
    (void)arg;
    (void)job;
    (void)scratch;
}

static void collect_tick(void *arg)
{
    sts_tlsrpt_collect_flush(arg);
}

/* "<a@b>" or "a@b" to "a@b"; false when it does not fit. */
static bool bare_address(const char *in, char *out, size_t outlen)
{
    size_t n = strlen(in);
    if (n >= 2 && in[0] == '<' && in[n - 1] == '>') {
        in++;
        n -= 2;
    }
    if (n >= outlen)
        return false;
    memcpy(out, in, n);
    out[n] = '\0';
    return true;
}

enum sts_status sts_tlsrpt_collect_new(const struct sts_tlsrpt_collect_config *cfg,
                                       struct sts_tlsrpt_collect **out, char *err, size_t errlen)
{
    *out = NULL;
    struct sts_tlsrpt_collect *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "tlsrpt collector: out of memory");
    c->agg = sts_tlsrpt_agg_new(cfg->max_rows);
    c->store = cfg->store;
    c->max_details = cfg->max_details;
    c->postfix_sessions = cfg->postfix_sessions;
    c->log = cfg->log;
    c->clock = cfg->clock;
    if (cfg->report_sender != NULL &&
        !bare_address(cfg->report_sender, c->sender, sizeof(c->sender))) {
        sts_tlsrpt_collect_free(c);
        return sts_status_set(STS_EINVAL, err, errlen, "tlsrpt collector: report sender too long");
    }
    struct sts_job_pool_config pc = {
        .workers = 1,
        .run = collect_no_job,
        .arg = c,
        .refresh_interval_ms = cfg->flush_interval_ms ? cfg->flush_interval_ms : COLLECT_FLUSH_MS,
        .refresh = collect_tick,
    };
    enum sts_status st = STS_ENOMEM;
    if (c->agg == NULL || (st = sts_job_pool_new(&pc, &c->flusher, err, errlen)) != STS_OK) {
        sts_tlsrpt_collect_free(c);
        return st == STS_OK ? STS_ENOMEM : st;
    }
    *out = c;
    return STS_OK;
}

void sts_tlsrpt_collect_free(struct sts_tlsrpt_collect *c)
{
    if (c == NULL)
        return;
    sts_job_pool_free(c->flusher); /* joins the refresher: no flush runs after this */
    if (c->agg != NULL)
        sts_tlsrpt_collect_flush(c);
    sts_tlsrpt_agg_free(c->agg);
    free(c);
}

void sts_tlsrpt_collect_session(struct sts_tlsrpt_collect *c, const struct sts_tlsrpt_session *s)
{
    if (c == NULL || s == NULL)
        return;
    struct sts_tlsrpt_session one = *s;
    if (one.when == 0)
        one.when = sts_clock_now_s(&c->clock);
    if (sts_tlsrpt_agg_add(c->agg, &one) != STS_EINVAL)
        atomic_fetch_add(&c->sessions, 1);
}

/* RFC 8460 §4.3.3 for a failed discovery; false: not a policy failure. */
static bool discovery_result(enum sts_lookup_reason reason, enum sts_fetch_result fetch,
                             enum sts_tlsrpt_result *out)
{
    switch (reason) {
    case STS_LOOKUP_REASON_POLICY_INVALID:
        *out = STS_TLSRPT_STS_POLICY_INVALID;
        return true;
    case STS_LOOKUP_REASON_FETCH_FAILED:
    case STS_LOOKUP_REASON_FETCH_BACKOFF:
        switch (fetch) {
        case STS_FETCH_TLS:
            *out = STS_TLSRPT_STS_WEBPKI_INVALID;
            break;
        case STS_FETCH_MEDIA_TYPE:
        case STS_FETCH_TOO_BIG:
            *out = STS_TLSRPT_STS_POLICY_INVALID;
            break;
        default:
            *out = STS_TLSRPT_STS_POLICY_FETCH_ERROR;
            break;
        }
        return true;
    default:
        return false; /* no indicator, DNS trouble, a cached policy: no policy failure */
    }
}

bool sts_tlsrpt_collect_discovery(struct sts_tlsrpt_collect *c, const char *domain,
                                  enum sts_lookup_reason reason, enum sts_fetch_result fetch)
{
    enum sts_tlsrpt_result r;
    if (c == NULL || domain == NULL || domain[0] == '\0' || !discovery_result(reason, fetch, &r))
        return false;
    char code[64];
    sts_lookup_reason_format(reason, fetch, code, sizeof(code));
    struct sts_tlsrpt_session s = {
        .type = STS_TLSRPT_POLICY_STS,
        .policy_domain = domain,
        .success = false,
        .result = r,
        .failure_reason_code = code,
    };
    sts_tlsrpt_collect_session(c, &s);
    return true;
}

/* lines joined by '\n'; NULL when out of memory */
static char *join_lines(char *const *v, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 1;
    char *out = malloc(len), *o = out;
    if (out == NULL)
        return NULL;
    *o = '\0';
    for (size_t i = 0; i < n; i++)
        o += sprintf(o, "%s%s", i ? "\n" : "", v[i]);
    return out;
}

/* "u s m hex" lines of the records, '\n'-joined; NULL when out of memory. */
static char *tlsa_strings(const struct sts_dns_tlsa *t, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += 16 + 2 * t[i].len;
    char *out = malloc(len), *p = out;
    if (out == NULL)
        return NULL;
    *p = '\0';
    for (size_t i = 0; i < n; i++) {
        p += sprintf(p, "%s%u %u %u ", i ? "\n" : "", t[i].usage, t[i].selector, t[i].mtype);
        for (size_t j = 0; j < t[i].len; j++)
            p += sprintf(p, "%02x", t[i].data[j]);
    }
    return out;
}

void sts_tlsrpt_collect_probe(struct sts_tlsrpt_collect *c, const char *domain, const char *host,
                              const struct sts_tls_verdict *v, const struct sts_policy *policy,
                              const struct sts_dns_tlsa *tlsa, size_t ntlsa)
{
    if (c == NULL || c->postfix_sessions || domain == NULL || v == NULL || !v->known ||
        v->result == STS_TLS_UNREACHABLE)
        return;
    struct sts_tlsrpt_session s = {
        .when = v->checked_at,
        .policy_domain = domain,
        .success = v->result == STS_TLS_PASS,
        .receiving_mx_hostname = host,
        .receiving_ip = v->addr,
    };
    if (!s.success) {
        /* the probe's result words are RFC 8460's; anything else is a validation failure */
        if (!sts_tlsrpt_result_parse(sts_tls_result_name(v->result), &s.result))
            s.result = STS_TLSRPT_VALIDATION_FAILURE;
        s.failure_reason_code = v->detail;
    }
    char *strings = NULL, body[STS_POLICY_BODY_MAX + 1];
    if (v->dane) {
        s.type = STS_TLSRPT_POLICY_TLSA;
        s.policy_strings = strings = tlsa_strings(tlsa, ntlsa);
    } else if (policy != NULL && policy->mode != STS_MODE_NONE) {
        s.type = STS_TLSRPT_POLICY_STS;
        size_t n = sts_policy_format(policy, body, sizeof(body));
        while (n > 0 && (body[n - 1] == '\n' || body[n - 1] == '\r'))
            body[--n] = '\0';
        s.policy_strings = body;
        s.mx_hosts = strings = join_lines(policy->mx, policy->mx_count);
    } else {
        s.type = STS_TLSRPT_POLICY_NO_POLICY;
    }
    sts_tlsrpt_collect_session(c, &s);
    free(strings);
}

void sts_tlsrpt_collect_datagram(struct sts_tlsrpt_collect *c, const struct sts_tlsrpt_datagram *dg)
{
    if (c == NULL || dg == NULL)
        return;
    for (size_t i = 0; i < dg->policy_count; i++) {
        const struct sts_tlsrpt_dg_policy *p = &dg->policies[i];
        char *strings = join_lines(p->strings, p->string_count);
        char *mx = join_lines(p->mx_hosts, p->mx_host_count);
        struct sts_tlsrpt_session s = {
            .type = p->type == STS_TLSRPT_DG_POLICY_STS    ? STS_TLSRPT_POLICY_STS
                    : p->type == STS_TLSRPT_DG_POLICY_TLSA ? STS_TLSRPT_POLICY_TLSA
                                                           : STS_TLSRPT_POLICY_NO_POLICY,
            .policy_domain = p->domain != NULL ? p->domain : dg->domain,
            .policy_strings = strings,
            .mx_hosts = p->type == STS_TLSRPT_DG_POLICY_STS ? mx : NULL,
            .success = !p->failed,
        };
        if (p->failed && p->failure_count == 0)
            s.flags = STS_TLSRPT_SESSION_NO_DETAIL;
        if (!p->failed || p->failure_count == 0)
            sts_tlsrpt_collect_session(c, &s);
        for (size_t j = 0; p->failed && j < p->failure_count; j++) {
            const struct sts_tlsrpt_dg_failure *f = &p->failures[j];
            if (!sts_tlsrpt_result_parse(f->result_type, &s.result))
                s.result = STS_TLSRPT_VALIDATION_FAILURE;
            s.flags = j == 0 ? 0 : STS_TLSRPT_SESSION_DETAIL_ONLY;
            s.sending_mta_ip = f->sending_ip;
            s.receiving_mx_hostname = f->mx_hostname;
            s.receiving_mx_helo = f->mx_helo;
            s.receiving_ip = f->receiving_ip;
            s.additional_information = f->additional_info;
            s.failure_reason_code = f->failure_reason;
            sts_tlsrpt_collect_session(c, &s);
        }
        free(strings);
        free(mx);
    }
}

bool sts_tlsrpt_collect_exempt(const struct sts_tlsrpt_collect *c, const char *sender)
{
    char bare[COLLECT_SENDER_MAX + 1];
    return c != NULL && c->sender[0] != '\0' && sender != NULL &&
           bare_address(sender, bare, sizeof(bare)) && strcasecmp(bare, c->sender) == 0;
}

enum sts_status sts_tlsrpt_collect_flush(struct sts_tlsrpt_collect *c)
{
    if (c == NULL)
        return STS_OK;
    struct sts_tlsrpt_batch b = {0};
    char err[256] = "";
    enum sts_status st = sts_tlsrpt_agg_drain(c->agg, &b);
    if (st == STS_OK && b.count > 0 && c->store != NULL) {
        size_t capped = 0;
        st = sts_store_tlsrpt_add(c->store, &b, c->max_details, &capped, err, sizeof(err));
        atomic_fetch_add(&c->details_capped, capped);
    }
    if (st == STS_OK && c->store != NULL) {
        atomic_fetch_add(&c->rows_written, b.count);
    } else if (b.count > 0) {
        atomic_fetch_add(&c->rows_lost, b.count);
        if (c->store != NULL)
            sts_log_to(&c->log, LOG_WARNING,
                       "event=tlsrpt-flush-failed rows=%zu action=counts-lost error=\"%s\"",
                       b.count, err);
    }
    sts_tlsrpt_batch_clear(&b);
    return st;
}

void sts_tlsrpt_collect_stats(const struct sts_tlsrpt_collect *c,
                              struct sts_tlsrpt_collect_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (c == NULL)
        return;
    struct sts_tlsrpt_collect *m = (struct sts_tlsrpt_collect *)c;
    out->sessions = atomic_load(&m->sessions);
    out->dropped = sts_tlsrpt_agg_dropped(c->agg);
    out->rows_written = atomic_load(&m->rows_written);
    out->rows_lost = atomic_load(&m->rows_lost);
    out->details_capped = atomic_load(&m->details_capped);
}
