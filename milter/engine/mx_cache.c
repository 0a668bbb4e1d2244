/*
 * mx_cache.c - the per-domain memo of MX answers (see mx_cache.h): the
 * answers live in a memo (memo.h: bounded, single flight, TTL), packed
 * into one immutable value each.
 */
#include "mtasts/mx_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/clock.h"
#include "mtasts/memo.h"
#include "mtasts/metrics.h"

#define MAX_TTL_DEFAULT 3600
#define NEGATIVE_TTL_DEFAULT 60

/* A memoised answer: one allocation, host names packed after the header. */
struct mx_value {
    struct sts_memo_ref ref;
    uint8_t count;
    bool implicit;
    bool dns_error; /* a failure, handed to the lookups that shared it, never kept */
    uint8_t dnssec;
    uint16_t pref[STS_MX_CACHE_HOSTS];
    char names[]; /* count NUL-terminated names, one after the other */
};

struct sts_mx_cache {
    struct sts_mx_cache_config cfg;
    struct sts_clock clock; /* cfg.now_ms, or CLOCK_MONOTONIC */
    struct sts_memo *memo;
};

static void value_free(struct sts_memo_ref *r)
{
    free(r);
}

/* ---- values ---- */

static struct mx_value *value_pack(const struct sts_mx_result *r)
{
    size_t len = 0;
    for (size_t i = 0; i < r->count; i++)
        len += strlen(r->hosts[i].name) + 1;
    struct mx_value *v = malloc(sizeof(*v) + len);
    if (v == NULL)
        return NULL;
    atomic_init(&v->ref.refs, 1);
    v->ref.free = value_free;
    v->count = (uint8_t)r->count;
    v->implicit = r->implicit;
    v->dns_error = r->dns_error;
    v->dnssec = (uint8_t)r->dnssec;
    char *p = v->names;
    for (size_t i = 0; i < r->count; i++) {
        v->pref[i] = r->hosts[i].preference;
        size_t n = strlen(r->hosts[i].name) + 1;
        memcpy(p, r->hosts[i].name, n);
        p += n;
    }
    return v;
}

static void value_unpack(const struct mx_value *v, struct sts_mx_result *r)
{
    r->count = v->count;
    r->implicit = v->implicit;
    r->dns_error = v->dns_error;
    r->dnssec = (enum sts_dnssec)v->dnssec;
    const char *p = v->names;
    for (size_t i = 0; i < v->count; i++) {
        size_t n = strlen(p) + 1;
        r->hosts[i].preference = v->pref[i];
        memcpy(r->hosts[i].name, p, n);
        p += n;
    }
}

/* ---- asking the resolver (no lock held) ---- */

static enum sts_status ask(struct sts_mx_cache *mc, const char *name, enum sts_dns_type type,
                           struct sts_deadline deadline, struct sts_dns_answer **ans)
{
    *ans = NULL;
    unsigned left = sts_deadline_left_ms(deadline);
    if (left < 1)
        return STS_EIO; /* the budget is spent */
    if (mc->cfg.query != NULL)
        return mc->cfg.query(mc->cfg.query_arg, name, type, left, ans);
    return sts_dns_query_within(mc->cfg.dns, name, type, left, ans);
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/*
 * RFC 5321 §5.1: does the domain have an address?  1 yes, 0 no, -1 the
 * lookups failed.  *ttl shrinks to the records' (or denials') TTL.
 */
static int has_address(struct sts_mx_cache *mc, const char *domain, struct sts_deadline deadline,
                       uint32_t *ttl)
{
    static const enum sts_dns_type types[] = {STS_DNS_A, STS_DNS_AAAA};
    int failed = 0;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        struct sts_dns_answer *a = NULL;
        if (ask(mc, domain, types[i], deadline, &a) != STS_OK || a == NULL) {
            sts_dns_answer_free(a);
            failed = 1;
            continue;
        }
        enum sts_dns_result r = a->result;
        if (r == STS_DNS_ANSWER || r == STS_DNS_NXDOMAIN || r == STS_DNS_NODATA)
            *ttl = min_u32(*ttl, a->ttl);
        sts_dns_answer_free(a);
        if (r == STS_DNS_ANSWER)
            return 1;
        if (r != STS_DNS_NXDOMAIN && r != STS_DNS_NODATA)
            failed = 1;
    }
    return failed ? -1 : 0;
}

/* Fill r from the resolver; *ttl_s is how long it may be kept (0: not at all). */
static void resolve(struct sts_mx_cache *mc, const char *domain, unsigned budget_ms,
                    struct sts_mx_result *r, uint32_t *ttl_s)
{
    struct sts_deadline deadline = sts_deadline_in(budget_ms);
    struct sts_dns_answer *ans = NULL;
    *ttl_s = 0;
    if (ask(mc, domain, STS_DNS_MX, deadline, &ans) != STS_OK || ans == NULL) {
        sts_dns_answer_free(ans);
        r->dns_error = true;
        return;
    }
    r->dnssec = ans->dnssec;
    uint32_t ttl = ans->ttl;
    switch (ans->result) {
    case STS_DNS_ANSWER:
        for (size_t i = 0; i < ans->count && r->count < STS_MX_CACHE_HOSTS; i++) {
            struct sts_mx_host *h = &r->hosts[r->count++];
            h->preference = ans->mx[i].preference;
            snprintf(h->name, sizeof(h->name), "%.253s", ans->mx[i].host);
        }
        break;
    case STS_DNS_NXDOMAIN:
        break;
    case STS_DNS_NODATA: {
        int addr = has_address(mc, domain, deadline, &ttl);
        if (addr < 0) {
            r->dns_error = true;
        } else if (addr > 0) {
            r->implicit = true;
            r->count = 1;
            r->hosts[0].preference = 0;
            snprintf(r->hosts[0].name, sizeof(r->hosts[0].name), "%s", domain);
        }
        break;
    }
    default:
        r->dns_error = true;
        break;
    }
    sts_dns_answer_free(ans);
    if (r->dns_error) {
        r->count = 0;
        r->implicit = false;
        return;
    }
    unsigned cap = r->count > 0
                       ? (mc->cfg.max_ttl_s ? mc->cfg.max_ttl_s : MAX_TTL_DEFAULT)
                       : (mc->cfg.negative_ttl_s ? mc->cfg.negative_ttl_s : NEGATIVE_TTL_DEFAULT);
    *ttl_s = min_u32(ttl, cap);
}

/* The memo's resolve: the answer packed, or NULL when the facts are unknown. */
static struct sts_memo_ref *resolve_value(void *arg, const char *domain, unsigned tag,
                                          unsigned budget_ms, uint32_t *ttl_s)
{
    (void)tag;
    struct sts_mx_result r;
    memset(&r, 0, sizeof(r));
    resolve(arg, domain, budget_ms, &r, ttl_s);
    if (r.dns_error)
        *ttl_s = 0; /* shared with the waiters (with its DNSSEC status), never kept */
    struct mx_value *v = value_pack(&r);
    if (v == NULL)
        *ttl_s = 0;
    return v != NULL ? &v->ref : NULL;
}

/* ---- public API ---- */

enum sts_status sts_mx_cache_new(const struct sts_mx_cache_config *cfg, struct sts_mx_cache **out,
                                 char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->dns == NULL && cfg->query == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "the MX memo needs a resolver");
    struct sts_mx_cache *mc = calloc(1, sizeof(*mc));
    if (mc == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    mc->cfg = *cfg;
    mc->clock = (struct sts_clock){cfg->now_ms, cfg->now_arg};
    struct sts_memo_config mcfg = {
        .max_entries = cfg->max_entries, .clock = mc->clock, .metrics_front = STS_METRICS_FRONT_MX};
    enum sts_status st = sts_memo_new(&mcfg, &mc->memo, err, errlen);
    if (st != STS_OK) {
        free(mc);
        return st;
    }
    *out = mc;
    return STS_OK;
}

void sts_mx_cache_free(struct sts_mx_cache *mc)
{
    if (mc == NULL)
        return;
    sts_memo_free(mc->memo);
    free(mc);
}

void sts_mx_cache_get(struct sts_mx_cache *mc, const char *domain, unsigned budget_ms,
                      struct sts_mx_result *out)
{
    out->dns_error = false;
    out->implicit = false;
    out->cached = false;
    out->dnssec = STS_DNSSEC_INSECURE;
    out->count = 0;
    struct sts_memo_ref *r =
        sts_memo_get(mc->memo, domain, 0, budget_ms, resolve_value, mc, &out->cached);
    if (r == NULL) {
        out->dns_error = true;
        out->cached = false;
        return;
    }
    value_unpack((const struct mx_value *)r, out);
    sts_memo_put(r);
}

bool sts_mx_cache_peek(struct sts_mx_cache *mc, const char *domain, struct sts_mx_result *out)
{
    struct sts_memo_ref *r = sts_memo_peek(mc->memo, domain, 0);
    if (r == NULL)
        return false;
    memset(out, 0, sizeof(*out));
    value_unpack((const struct mx_value *)r, out);
    out->cached = true;
    sts_memo_put(r);
    return true;
}

void sts_mx_cache_stats(struct sts_mx_cache *mc, struct sts_mx_cache_stats *out)
{
    struct sts_memo_stats st;
    sts_memo_stats(mc->memo, &st);
    memset(out, 0, sizeof(*out));
    out->hits = st.hits;
    out->misses = st.misses;
    out->queries = st.resolves;
    out->shared = st.shared;
    out->evictions = st.evictions;
    out->entries = st.entries;
}
