/*
 * mx_tls.c - DNSSEC, TLSA and the probes of one MX host (RFC 7672 §2.2,
 * §3.1; RFC 8461 §4.2); the decision is documented in probe_cache.h.
 */
#include "mx_tls.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

/* Probe the addresses in order until one says something other than unreachable. */
static void probe_addrs(const struct mx_tls_params *p, const char *host,
                        const struct sts_dane_host *a, const struct sts_probe_tlsa *tlsa,
                        size_t ntlsa, struct sts_tls_verdict *v, bool *cacheable)
{
    struct sts_probe_result r;
    for (size_t i = 0; i < a->naddrs; i++) {
        struct sts_probe_request req = {
            .host = host,
            .addr = a->addrs[i],
            .port = p->port,
            .helo_name = p->helo_name,
            .timeout_ms = p->timeout_ms,
            .tlsa = ntlsa > 0 ? tlsa : NULL,
            .tlsa_count = ntlsa,
        };
        memset(&r, 0, sizeof(r));
        snprintf(v->addr, sizeof(v->addr), "%s", a->addrs[i]);
        if (sts_probe_run(p->probe, &req, &r) != STS_OK) {
            *cacheable = false;
            verdict_set(v, STS_TLS_UNREACHABLE, "probe of %s failed locally: %s", a->addrs[i],
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
    struct sts_dane_host h;
    struct sts_probe_tlsa tlsa[STS_DANE_TLSA_MAX];
    bool cacheable = true;

    memset(out, 0, sizeof(*out));
    out->known = true;
    sts_dane_host_get(p->dane, host, mx_secure, 0, &h); /* addresses, then TLSA (dane.h) */
    if (h.local_error) {
        verdict_set(out, STS_TLS_UNREACHABLE, "%s", h.why);
        cacheable = false;
    } else if (h.addr_dnssec == STS_DNSSEC_BOGUS) {
        verdict_set(out, STS_TLS_DNSSEC_INVALID, "%s", h.addr_why);
    } else if (h.naddrs == 0) {
        verdict_set(out, STS_TLS_UNREACHABLE, "%s", h.why);
    } else if (h.state == STS_DANE_BOGUS || h.state == STS_DANE_FAILED) {
        verdict_set(out, STS_TLS_DNSSEC_INVALID, "%s", h.why); /* §2.2: must not be used */
    } else {
        /* §2.2.1, §2.2.2: DANE only through a secure MX RRset to secure addresses */
        size_t ntlsa =
            h.state == STS_DANE_USABLE ? sts_dane_probe_records(&h, tlsa, STS_DANE_TLSA_MAX) : 0;
        out->dane = ntlsa > 0;
        probe_addrs(p, host, &h, tlsa, ntlsa, out, &cacheable);
    }
    sts_dane_host_clear(&h);
    return cacheable;
}
