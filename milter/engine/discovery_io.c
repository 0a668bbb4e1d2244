/*
 * discovery_io.c - the TXT and fetch steps of policy discovery (see
 * discovery_io.h).
 */
#include "mtasts/discovery_io.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
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
