/*
 * dane.c - the DANE facts of MX hosts, memoised (see dane.h).  The
 * sentences in why and addr_why are the probe results' details, so a
 * postmaster reads the same words in the log, the reply and mtasts check.
 */
#include "mtasts/dane.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/memo.h"
#include "mtasts/metrics.h"

#define MAX_TTL_DEFAULT 3600
#define FAILURE_TTL_DEFAULT 60

/* A memoised value: the facts, and the TLSA answer they point into. */
struct facts {
    struct sts_memo_ref ref;
    struct sts_dane_host h;      /* tlsa and ref_ unset: filled per get */
    struct sts_dns_answer *tlsa; /* owned; NULL when not looked up */
};

struct sts_dane {
    struct sts_dane_config cfg;
    struct sts_memo *memo;
};

/* The resolution of one host (the memo's resolve argument). */
struct lookup {
    struct sts_dane *d;
    struct sts_deadline deadline;
    bool budget; /* false: each query waits the resolver's own timeout */
    uint32_t ttl;
    bool failed; /* an answer was a failure: keep it briefly */
};

static void facts_free(struct sts_memo_ref *r)
{
    struct facts *f = (struct facts *)r;
    sts_dns_answer_free(f->tlsa);
    free(f);
}

bool sts_dane_tlsa_usable(const struct sts_dns_tlsa *t)
{
    /* a digest of the wrong length can never match: as unusable as an unknown type */
    bool len_ok = (t->mtype == 0 && t->len > 0) || (t->mtype == 1 && t->len == 32) ||
                  (t->mtype == 2 && t->len == 64);
    return (t->usage == 2 || t->usage == 3) && t->selector <= 1 && len_ok && t->data != NULL;
}

static void say(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static enum sts_dnssec dnssec_min(enum sts_dnssec a, enum sts_dnssec b)
{
    if (a == STS_DNSSEC_BOGUS || b == STS_DNSSEC_BOGUS)
        return STS_DNSSEC_BOGUS;
    if (a == STS_DNSSEC_INSECURE || b == STS_DNSSEC_INSECURE)
        return STS_DNSSEC_INSECURE;
    return STS_DNSSEC_SECURE;
}

static enum sts_status ask(struct lookup *l, const char *name, enum sts_dns_type type,
                           struct sts_dns_answer **ans)
{
    *ans = NULL;
    if (!l->budget)
        return sts_dns_query(l->d->cfg.dns, name, type, ans);
    unsigned left = sts_deadline_left_ms(l->deadline);
    if (left < 1)
        return STS_EIO;
    return sts_dns_query_within(l->d->cfg.dns, name, type, left, ans);
}

static void keep_ttl(struct lookup *l, const struct sts_dns_answer *a)
{
    bool ok =
        a->result == STS_DNS_ANSWER || a->result == STS_DNS_NXDOMAIN || a->result == STS_DNS_NODATA;
    if (!ok || a->dnssec == STS_DNSSEC_BOGUS)
        l->failed = true; /* its ttl (0) says nothing: failure_ttl_s bounds it */
    else if (a->ttl < l->ttl)
        l->ttl = a->ttl; /* a TTL of 0 means: do not keep */
}

/* A, then AAAA unless A was bogus.  Returns whether every answer found is secure. */
static bool lookup_addrs(struct lookup *l, const char *host, struct sts_dane_host *h,
                         bool *local_error)
{
    static const enum sts_dns_type types[] = {STS_DNS_A, STS_DNS_AAAA};
    static const char *const tnames[] = {"A", "AAAA"};
    bool all_secure = true, first = true;
    *local_error = false;
    for (size_t t = 0; t < 2; t++) {
        struct sts_dns_answer *a = NULL;
        if (ask(l, host, types[t], &a) != STS_OK || a == NULL) {
            *local_error = true;
            say(h->addr_why, sizeof(h->addr_why), "%s lookup failed locally", tnames[t]);
            continue;
        }
        keep_ttl(l, a);
        h->addr_dnssec = first ? a->dnssec : dnssec_min(h->addr_dnssec, a->dnssec);
        first = false;
        if (a->dnssec == STS_DNSSEC_BOGUS) {
            say(h->addr_why, sizeof(h->addr_why), "%s of %s is DNSSEC-bogus%s%s", tnames[t], host,
                a->why[0] ? ": " : "", a->why);
            sts_dns_answer_free(a);
            return false; /* no further lookup: the host must not be used */
        }
        if (a->result == STS_DNS_ANSWER) {
            if (a->dnssec != STS_DNSSEC_SECURE)
                all_secure = false;
            for (size_t i = 0; i < a->count && h->naddrs < STS_DANE_ADDRS; i++)
                snprintf(h->addrs[h->naddrs++], sizeof(h->addrs[0]), "%s", a->addr[i]);
        } else if (a->result == STS_DNS_ERROR) {
            *local_error = true;
            say(h->addr_why, sizeof(h->addr_why), "%s lookup failed locally%s%s", tnames[t],
                a->why[0] ? ": " : "", a->why);
        } else if (a->result == STS_DNS_SERVFAIL || a->result == STS_DNS_TIMEOUT) {
            h->addr_failed = true;
            say(h->addr_why, sizeof(h->addr_why), "%s lookup: %s", tnames[t],
                sts_dns_result_name(a->result));
        }
        sts_dns_answer_free(a);
    }
    return all_secure;
}

/* The TLSA step (§2.2); false: a local failure, no facts. */
static bool lookup_tlsa(struct lookup *l, const char *host, struct facts *f)
{
    struct sts_dane_host *h = &f->h;
    unsigned port = l->d->cfg.port ? l->d->cfg.port : 25;
    say(h->tlsa_name, sizeof(h->tlsa_name), "_%u._tcp.%s", port, host);
    struct sts_dns_answer *a = NULL;
    if (ask(l, h->tlsa_name, STS_DNS_TLSA, &a) != STS_OK || a == NULL ||
        a->result == STS_DNS_ERROR) {
        sts_dns_answer_free(a);
        return false;
    }
    keep_ttl(l, a);
    h->tlsa_result = a->result;
    h->tlsa_dnssec = a->dnssec;
    if (a->dnssec == STS_DNSSEC_BOGUS) {
        h->state = STS_DANE_BOGUS;
        say(h->why, sizeof(h->why), "TLSA of %s is DNSSEC-bogus%s%s", h->tlsa_name,
            a->why[0] ? ": " : "", a->why);
    } else if (a->result == STS_DNS_ANSWER) {
        h->ntlsa = a->count < STS_DANE_TLSA_MAX ? a->count : STS_DANE_TLSA_MAX;
        for (size_t i = 0; i < h->ntlsa; i++)
            h->nusable += sts_dane_tlsa_usable(&a->tlsa[i]);
        if (a->dnssec != STS_DNSSEC_SECURE) {
            h->state = STS_DANE_NONE;
            say(h->why, sizeof(h->why),
                "none: %s has TLSA records but they are not DNSSEC-signed (ignored)", h->tlsa_name);
        } else if (h->nusable == 0) {
            h->state = STS_DANE_UNUSABLE;
            say(h->why, sizeof(h->why),
                "no usable TLSA record at %s (only PKIX-TA/PKIX-EE or unknown parameters, "
                "RFC 7672 section 3.1.3)",
                h->tlsa_name);
        } else {
            h->state = STS_DANE_USABLE;
            say(h->why, sizeof(h->why), "%zu usable TLSA record%s at %s (secure)", h->nusable,
                h->nusable == 1 ? "" : "s", h->tlsa_name);
        }
    } else if (a->result == STS_DNS_NXDOMAIN || a->result == STS_DNS_NODATA) {
        h->state = STS_DANE_NONE;
        say(h->why, sizeof(h->why), "none: no TLSA records at %s (%s)", h->tlsa_name,
            sts_dnssec_name(a->dnssec));
    } else {
        /* RFC 7672 §2.2: the host must not be used; RFC 8460 §4.3.2 words it so. */
        h->state = STS_DANE_FAILED;
        say(h->why, sizeof(h->why), "TLSA lookup of %s: %s%s%s", h->tlsa_name,
            sts_dns_result_name(a->result), a->why[0] ? " " : "", a->why);
    }
    f->tlsa = a;
    return true;
}

static struct sts_memo_ref *resolve(void *arg, const char *host, unsigned mx_secure,
                                    unsigned budget_ms, uint32_t *ttl_s)
{
    struct lookup *l = arg;
    *ttl_s = 0;
    struct facts *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return NULL;
    atomic_init(&f->ref.refs, 1);
    f->ref.free = facts_free;
    struct sts_dane_host *h = &f->h;
    (void)budget_ms; /* the deadline in l */
    bool local;
    bool secure = lookup_addrs(l, host, h, &local);
    if (local && h->naddrs == 0 && h->addr_dnssec != STS_DNSSEC_BOGUS) {
        facts_free(&f->ref);
        return NULL; /* no facts: nothing memoised */
    }
    if (h->addr_dnssec == STS_DNSSEC_BOGUS) {
        h->state = mx_secure ? STS_DANE_BOGUS : STS_DANE_NOT_APPLICABLE;
        say(h->why, sizeof(h->why), "%s", h->addr_why);
    } else if (h->naddrs == 0) {
        h->state = STS_DANE_NOT_APPLICABLE;
        if (h->addr_failed || local)
            say(h->why, sizeof(h->why), "no address for %s: %s", host, h->addr_why);
        else
            say(h->why, sizeof(h->why), "%s has no A or AAAA record", host);
    } else if (!mx_secure) {
        h->state = STS_DANE_NOT_APPLICABLE;
        say(h->why, sizeof(h->why),
            "not applicable: the MX records are not DNSSEC-signed (RFC 7672 section 2.2.1)");
    } else if (!secure) {
        h->state = STS_DANE_NOT_APPLICABLE;
        say(h->why, sizeof(h->why),
            "not applicable: the addresses of %s are not DNSSEC-signed (RFC 7672 section "
            "2.2.2)",
            host);
    } else if (!lookup_tlsa(l, host, f)) {
        facts_free(&f->ref);
        return NULL;
    }
    unsigned cap = l->d->cfg.max_ttl_s ? l->d->cfg.max_ttl_s : MAX_TTL_DEFAULT;
    unsigned fcap = l->d->cfg.failure_ttl_s ? l->d->cfg.failure_ttl_s : FAILURE_TTL_DEFAULT;
    uint32_t ttl = l->ttl;
    if (l->failed && ttl > fcap)
        ttl = fcap;
    *ttl_s = ttl < cap ? ttl : cap;
    return &f->ref;
}

enum sts_status sts_dane_new(const struct sts_dane_config *cfg, struct sts_dane **out, char *err,
                             size_t errlen)
{
    *out = NULL;
    if (cfg->dns == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "the DANE module needs a resolver");
    struct sts_dane *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    d->cfg = *cfg;
    struct sts_memo_config mc = {.max_entries = cfg->max_entries,
                                 .clock = cfg->clock,
                                 .metrics_front = STS_METRICS_FRONT_TLSA};
    enum sts_status st = sts_memo_new(&mc, &d->memo, err, errlen);
    if (st != STS_OK) {
        free(d);
        return st;
    }
    *out = d;
    return STS_OK;
}

void sts_dane_free(struct sts_dane *d)
{
    if (d == NULL)
        return;
    sts_memo_free(d->memo);
    free(d);
}

static void view(struct sts_memo_ref *r, struct sts_dane_host *out)
{
    const struct facts *f = (const struct facts *)r;
    *out = f->h;
    out->tlsa = f->tlsa != NULL && f->h.ntlsa > 0 ? f->tlsa->tlsa : NULL;
    out->ref_ = r;
}

static void unknown(struct sts_dane_host *out, const char *host)
{
    memset(out, 0, sizeof(*out));
    out->local_error = true;
    say(out->why, sizeof(out->why), "the DNS lookups of %s failed locally or took too long", host);
}

void sts_dane_host_get(struct sts_dane *d, const char *host, bool mx_secure, unsigned budget_ms,
                       struct sts_dane_host *out)
{
    struct lookup l = {
        .d = d, .deadline = sts_deadline_in(budget_ms), .budget = budget_ms > 0, .ttl = UINT32_MAX};
    struct sts_memo_ref *r =
        sts_memo_get(d->memo, host, mx_secure ? 1 : 0, budget_ms, resolve, &l, NULL);
    if (r == NULL) {
        unknown(out, host);
        return;
    }
    view(r, out);
}

bool sts_dane_host_peek(struct sts_dane *d, const char *host, bool mx_secure,
                        struct sts_dane_host *out)
{
    struct sts_memo_ref *r = sts_memo_peek(d->memo, host, mx_secure ? 1 : 0);
    if (r == NULL) {
        memset(out, 0, sizeof(*out));
        return false;
    }
    view(r, out);
    return true;
}

void sts_dane_host_clear(struct sts_dane_host *h)
{
    if (h == NULL)
        return;
    sts_memo_put(h->ref_);
    h->ref_ = NULL;
    h->tlsa = NULL;
}

void sts_dane_forget(struct sts_dane *d, const char *host)
{
    sts_memo_forget(d->memo, host, 0);
    sts_memo_forget(d->memo, host, 1);
}

size_t sts_dane_usable_records(const struct sts_dns_tlsa *in, size_t n, struct sts_probe_tlsa *out)
{
    size_t k = 0;
    for (size_t i = 0; in != NULL && i < n; i++) {
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

size_t sts_dane_probe_records(const struct sts_dane_host *h, struct sts_probe_tlsa *out, size_t cap)
{
    return sts_dane_usable_records(h->tlsa, h->ntlsa < cap ? h->ntlsa : cap, out);
}

enum sts_dane_summary sts_dane_domain(struct sts_dane *d, const struct sts_mx_result *mx,
                                      unsigned budget_ms, enum sts_dane_state *states, char *why,
                                      size_t whylen)
{
    for (size_t i = 0; states != NULL && mx != NULL && i < mx->count; i++)
        states[i] = STS_DANE_NOT_APPLICABLE;
    if (mx == NULL || mx->dns_error) {
        say(why, whylen, "mx-lookup-failed");
        return STS_DANE_SUMMARY_UNKNOWN; /* also bogus: the MTA's own lookup will fail */
    }
    if (mx->dnssec != STS_DNSSEC_SECURE) {
        say(why, whylen, "mx-insecure");
        return STS_DANE_SUMMARY_NONE;
    }
    struct sts_deadline deadline = sts_deadline_in(budget_ms);
    size_t hosts = 0, dane = 0;
    bool unknown_host = false;
    for (size_t i = 0; i < mx->count; i++) {
        if (mx->hosts[i].name[0] == '\0')
            continue; /* null MX */
        hosts++;
        unsigned left = sts_deadline_left_ms(deadline);
        struct sts_dane_host h;
        if (left < 1) {
            unknown(&h, mx->hosts[i].name);
        } else {
            sts_dane_host_get(d, mx->hosts[i].name, true, left, &h);
        }
        if (h.local_error) {
            unknown_host = true;
        } else {
            if (states != NULL)
                states[i] = h.state;
            dane += h.state == STS_DANE_USABLE || h.state == STS_DANE_BOGUS ||
                    h.state == STS_DANE_FAILED;
        }
        sts_dane_host_clear(&h);
    }
    say(why, whylen, "%zu/%zu-hosts%s", dane, hosts, unknown_host ? " lookup-failed" : "");
    if (unknown_host)
        return STS_DANE_SUMMARY_UNKNOWN;
    if (dane == 0)
        return STS_DANE_SUMMARY_NONE;
    return dane == hosts ? STS_DANE_SUMMARY_ONLY : STS_DANE_SUMMARY_SOME;
}

void sts_dane_stats(struct sts_dane *d, struct sts_dane_stats *out)
{
    struct sts_memo_stats st;
    sts_memo_stats(d->memo, &st);
    out->hits = st.hits;
    out->misses = st.misses;
    out->lookups = st.resolves;
    out->entries = st.entries;
}
