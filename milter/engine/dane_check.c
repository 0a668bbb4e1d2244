/*
 * dane_check.c - is a domain governed by DANE (see dane_check.h)?
 */
#include "mtasts/dane_check.h"

#include <stdio.h>

#include "mtasts/clock.h"

#define DANE_HOSTS_MAX 8 /* the most preferred; an MTA rarely gets further */

bool sts_dane_tlsa_usable(const struct sts_dns_tlsa *t)
{
    /* a digest of the wrong length can never match: as unusable as an unknown type */
    bool len_ok = (t->mtype == 0 && t->len > 0) || (t->mtype == 1 && t->len == 32) ||
                  (t->mtype == 2 && t->len == 64);
    return (t->usage == 2 || t->usage == 3) && t->selector <= 1 && len_ok && t->data != NULL;
}

/* 1: secure usable TLSA (or bogus), 0: none, -1: unknown. */
static int host_has_tlsa(struct sts_dns *dns, const char *host, unsigned port, unsigned budget)
{
    char name[STS_DOMAIN_MAX + 32];
    if (snprintf(name, sizeof(name), "_%u._tcp.%s", port, host) >= (int)sizeof(name))
        return -1;
    struct sts_dns_answer *ans = NULL;
    if (sts_dns_query_within(dns, name, STS_DNS_TLSA, budget, &ans) != STS_OK)
        return -1;
    int r;
    if (ans->dnssec == STS_DNSSEC_BOGUS) {
        r = 1;
    } else if (ans->result == STS_DNS_ANSWER) {
        r = 0;
        for (size_t i = 0; ans->dnssec == STS_DNSSEC_SECURE && i < ans->count; i++)
            if (sts_dane_tlsa_usable(&ans->tlsa[i]))
                r = 1;
    } else if (ans->result == STS_DNS_NXDOMAIN || ans->result == STS_DNS_NODATA) {
        r = 0;
    } else {
        r = -1;
    }
    sts_dns_answer_free(ans);
    return r;
}

enum sts_dane_summary sts_dane_check_domain(struct sts_mx_cache *mx, struct sts_dns *dns,
                                            const char *domain, unsigned port, unsigned budget_ms,
                                            char *why, size_t whylen)
{
    double deadline = sts_clock_mono_msf() + budget_ms;
    struct sts_mx_result res;
    sts_mx_cache_get(mx, domain, budget_ms, &res);
    if (res.dns_error) {
        snprintf(why, whylen, "mx-lookup-failed");
        return STS_DANE_SUMMARY_UNKNOWN; /* also bogus: the MTA's own lookup will fail */
    }
    if (res.dnssec != STS_DNSSEC_SECURE) {
        snprintf(why, whylen, "mx-insecure");
        return STS_DANE_SUMMARY_NONE;
    }
    size_t hosts = 0, dane = 0;
    for (size_t i = 0; i < res.count && hosts < DANE_HOSTS_MAX; i++) {
        if (res.hosts[i].name[0] == '\0')
            continue; /* null MX */
        hosts++;
        double left = deadline - sts_clock_mono_msf();
        int r = left >= 1.0 ? host_has_tlsa(dns, res.hosts[i].name, port, (unsigned)left) : -1;
        if (r < 0) {
            snprintf(why, whylen, "tlsa-lookup-failed host=%s", res.hosts[i].name);
            return STS_DANE_SUMMARY_UNKNOWN;
        }
        dane += (size_t)r;
    }
    snprintf(why, whylen, "%zu/%zu-hosts", dane, hosts);
    if (dane == 0)
        return STS_DANE_SUMMARY_NONE;
    return dane == hosts ? STS_DANE_SUMMARY_ONLY : STS_DANE_SUMMARY_SOME;
}
