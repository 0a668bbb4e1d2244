/*
 * mx_tls.c - DNSSEC, TLSA and the probes of one MX host (RFC 7672 §2.2,
 * §3.1; RFC 8461 §4.2); the decision is documented in probe_cache.h.
 */
#include "mx_tls.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mtasts/dane_check.h"

/* The addresses of a host, and what their lookups said. */
struct mx_addrs {
    char addr[STS_PROBE_CACHE_ADDRS][46];
    size_t n;
    bool bogus;       /* an address RRset (or its denial) was BOGUS */
    bool all_secure;  /* every address RRset found was SECURE */
    bool local_error; /* the resolver failed locally */
    char why[160];    /* for bogus or failed lookups */
    unsigned failed;  /* lookups that ended in SERVFAIL or timeout */
};

static void verdict_set(struct sts_tls_verdict *v, enum sts_tls_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void verdict_set(struct sts_tls_verdict *v, enum sts_tls_result r, const char *fmt, ...)
{
    va_list ap;
    v->result = r;
    va_start(ap, fmt);
    vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
    va_end(ap);
}

static void lookup_addrs(const struct mx_tls_params *p, const char *host, enum sts_dns_type type,
                         struct mx_addrs *a)
{
    const char *tname = type == STS_DNS_A ? "A" : "AAAA";
    struct sts_dns_answer *ans = NULL;

    if (sts_dns_query(p->dns, host, type, &ans) != STS_OK || ans == NULL) {
        a->local_error = true;
        snprintf(a->why, sizeof(a->why), "%s lookup failed locally", tname);
        return;
    }
    if (ans->dnssec == STS_DNSSEC_BOGUS) {
        a->bogus = true;
        snprintf(a->why, sizeof(a->why), "%s of %s is DNSSEC-bogus%s%s", tname, host,
                 ans->why[0] ? ": " : "", ans->why);
    } else if (ans->result == STS_DNS_ANSWER) {
        if (ans->dnssec != STS_DNSSEC_SECURE)
            a->all_secure = false;
        for (size_t i = 0; i < ans->count && a->n < STS_PROBE_CACHE_ADDRS; i++)
            snprintf(a->addr[a->n++], sizeof(a->addr[0]), "%s", ans->addr[i]);
    } else if (ans->result == STS_DNS_ERROR) {
        a->local_error = true;
        snprintf(a->why, sizeof(a->why), "%s lookup failed locally%s%s", tname,
                 ans->why[0] ? ": " : "", ans->why);
    } else if (ans->result == STS_DNS_SERVFAIL || ans->result == STS_DNS_TIMEOUT) {
        a->failed++;
        snprintf(a->why, sizeof(a->why), "%s lookup: %s", tname, sts_dns_result_name(ans->result));
    }
    sts_dns_answer_free(ans);
}

size_t mx_tls_usable(const struct sts_dns_tlsa *in, size_t n, struct sts_probe_tlsa *out)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct sts_dns_tlsa *t = &in[i];
        if (!sts_dane_tlsa_usable(t))
            continue; /* §3.1.3: PKIX-TA/PKIX-EE unusable; unknown parameters too */
        out[k++] = (struct sts_probe_tlsa){.usage = t->usage,
                                           .selector = t->selector,
                                           .mtype = t->mtype,
                                           .len = t->len,
                                           .data = t->data};
    }
    return k;
}

/*
 * The TLSA step (§2.2): true when a verdict was reached (dnssec-invalid,
 * or a local failure: *cacheable false); otherwise tlsa[0..*ntlsa) hold
 * the usable records (none: WebPKI) and *ans owns their data.
 */
static bool lookup_tlsa(const struct mx_tls_params *p, const char *host,
                        struct sts_dns_answer **ans, struct sts_probe_tlsa *tlsa, size_t *ntlsa,
                        struct sts_tls_verdict *v, bool *cacheable)
{
    char name[STS_DOMAIN_MAX + 32];

    *ntlsa = 0;
    snprintf(name, sizeof(name), "_%u._tcp.%s", p->port, host);
    if (sts_dns_query(p->dns, name, STS_DNS_TLSA, ans) != STS_OK || *ans == NULL) {
        *cacheable = false;
        verdict_set(v, STS_TLS_UNREACHABLE, "TLSA lookup of %s failed locally", name);
        return true;
    }
    const struct sts_dns_answer *a = *ans;
    if (a->dnssec == STS_DNSSEC_BOGUS) {
        verdict_set(v, STS_TLS_DNSSEC_INVALID, "TLSA of %s is DNSSEC-bogus%s%s", name,
                    a->why[0] ? ": " : "", a->why);
        return true;
    }
    switch (a->result) {
    case STS_DNS_ANSWER:
        if (a->dnssec == STS_DNSSEC_SECURE) {
            struct sts_probe_tlsa *out = tlsa;
            size_t cap = a->count < 64 ? a->count : 64;
            *ntlsa = mx_tls_usable(a->tlsa, cap, out);
        }
        return false;
    case STS_DNS_NXDOMAIN:
    case STS_DNS_NODATA:
        return false;
    case STS_DNS_SERVFAIL:
    case STS_DNS_TIMEOUT:
        /* RFC 7672 §2.2: the host must not be used; RFC 8460 §4.3.2 words it so. */
        verdict_set(v, STS_TLS_DNSSEC_INVALID, "TLSA lookup of %s: %s%s%s", name,
                    sts_dns_result_name(a->result), a->why[0] ? " " : "", a->why);
        return true;
    default:
        *cacheable = false;
        verdict_set(v, STS_TLS_UNREACHABLE, "TLSA lookup of %s failed locally%s%s", name,
                    a->why[0] ? ": " : "", a->why);
        return true;
    }
}

/* Probe the addresses in order until one says something other than unreachable. */
static void probe_addrs(const struct mx_tls_params *p, const char *host, const struct mx_addrs *a,
                        const struct sts_probe_tlsa *tlsa, size_t ntlsa, struct sts_tls_verdict *v,
                        bool *cacheable)
{
    struct sts_probe_result r;
    for (size_t i = 0; i < a->n; i++) {
        struct sts_probe_request req = {
            .host = host,
            .addr = a->addr[i],
            .port = p->port,
            .helo_name = p->helo_name,
            .timeout_ms = p->timeout_ms,
            .tlsa = ntlsa > 0 ? tlsa : NULL,
            .tlsa_count = ntlsa,
        };
        memset(&r, 0, sizeof(r));
        snprintf(v->addr, sizeof(v->addr), "%s", a->addr[i]);
        if (sts_probe_run(p->probe, &req, &r) != STS_OK) {
            *cacheable = false;
            verdict_set(v, STS_TLS_UNREACHABLE, "probe of %s failed locally: %s", a->addr[i],
                        r.detail[0] ? r.detail : "error");
            continue;
        }
        *cacheable = true;
        v->result = r.result;
        snprintf(v->detail, sizeof(v->detail), "%s", r.detail);
        snprintf(v->tls_version, sizeof(v->tls_version), "%s", r.tls_version);
        snprintf(v->cipher, sizeof(v->cipher), "%s", r.cipher);
        if (r.result != STS_TLS_UNREACHABLE)
            return;
    }
}

bool mx_tls_judge(const struct mx_tls_params *p, const char *host, bool mx_secure,
                  struct sts_tls_verdict *out)
{
    struct mx_addrs a = {.all_secure = true};
    struct sts_dns_answer *tans = NULL;
    struct sts_probe_tlsa tlsa[64];
    size_t ntlsa = 0;
    bool cacheable = true;

    memset(out, 0, sizeof(*out));
    out->known = true;
    lookup_addrs(p, host, STS_DNS_A, &a);
    if (!a.bogus)
        lookup_addrs(p, host, STS_DNS_AAAA, &a);
    if (a.bogus) {
        verdict_set(out, STS_TLS_DNSSEC_INVALID, "%s", a.why);
        return true;
    }
    if (a.n == 0) {
        if (a.failed > 0 || a.local_error)
            verdict_set(out, STS_TLS_UNREACHABLE, "no address for %s: %s", host, a.why);
        else
            verdict_set(out, STS_TLS_UNREACHABLE, "%s has no A or AAAA record", host);
        return !a.local_error;
    }
    /* §2.2.1, §2.2.2: DANE only through a secure MX RRset to secure addresses. */
    if (mx_secure && a.all_secure) {
        if (lookup_tlsa(p, host, &tans, tlsa, &ntlsa, out, &cacheable)) {
            sts_dns_answer_free(tans);
            return cacheable;
        }
        out->dane = ntlsa > 0;
    }
    probe_addrs(p, host, &a, tlsa, ntlsa, out, &cacheable);
    sts_dns_answer_free(tans);
    return cacheable;
}
