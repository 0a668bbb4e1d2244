/*
 * mx_cache.c - the per-domain memo of MX answers (see mx_cache.h).
 *
 * Locking protocol: a domain lives in the shard of the lru_map (lru_map.h)
 * its hash picks; the shard's mutex guards its chains, its LRU list, its
 * counters and every field of its entries and flights.  A lookup that
 * misses becomes the domain's leader: it hangs a flight on the entry and
 * pins it, lets go of the mutex, asks the resolver, then takes the mutex
 * again to store the answer, unpin, mark the flight done and wake the
 * waiters.  A pinned entry is never evicted (the leader still points at
 * it); a flight is freed by whichever of the leader and its waiters
 * leaves it last.
 */
#include "mtasts/mx_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/clock.h"
#include "mtasts/lru_map.h"

#define MAX_TTL_DEFAULT 3600
#define NEGATIVE_TTL_DEFAULT 60

/* A query in progress, shared by every lookup of its domain. */
struct flight {
    unsigned users; /* the leader and its waiters */
    bool done;
    struct sts_mx_result res;
};

/* A memoised answer: one allocation, host names packed after the header. */
struct mx_value {
    uint8_t count;
    bool implicit;
    uint8_t dnssec;
    uint16_t pref[STS_MX_CACHE_HOSTS];
    char names[]; /* count NUL-terminated names, one after the other */
};

/* A domain's entry: the value part of an lru_map entry (key: the domain, tag 0). */
struct entry {
    struct mx_value *val;  /* NULL: nothing memoised */
    int64_t expires_ms;    /* val is good while now < this */
    struct flight *flight; /* a query in progress; the entry is pinned meanwhile */
};

/* The shard's user counters (lru_map.h). */
enum { HITS, MISSES, QUERIES, SHARED };

struct sts_mx_cache {
    struct sts_mx_cache_config cfg;
    struct sts_clock clock; /* cfg.now_ms, or CLOCK_MONOTONIC */
    struct sts_lru_map *map;
};

static void entry_free(void *arg, void *value)
{
    (void)arg;
    free(((struct entry *)value)->val);
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
    v->count = (uint8_t)r->count;
    v->implicit = r->implicit;
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
    struct sts_lru_map_config mcfg = {
        .value_size = sizeof(struct entry), .max_entries = cfg->max_entries, .on_free = entry_free};
    enum sts_status st = sts_lru_map_new(&mcfg, &mc->map, err, errlen);
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
    sts_lru_map_free(mc->map);
    free(mc);
}

/* Wait for the domain's flight (shard locked); false if the budget ran out. */
static bool wait_flight(struct sts_lru_shard *s, struct flight *f, unsigned budget_ms,
                        struct sts_mx_result *out)
{
    struct sts_deadline d = sts_deadline_in(budget_ms);
    f->users++;
    bool woken = true;
    while (!f->done && woken)
        woken = sts_lru_shard_wait(s, d);
    bool done = f->done;
    if (done)
        *out = f->res;
    if (--f->users == 0 && done)
        free(f);
    return done;
}

void sts_mx_cache_get(struct sts_mx_cache *mc, const char *domain, unsigned budget_ms,
                      struct sts_mx_result *out)
{
    out->dns_error = false;
    out->implicit = false;
    out->cached = false;
    out->dnssec = STS_DNSSEC_INSECURE;
    out->count = 0;

    uint32_t h = sts_lru_hash(domain, 0);
    struct sts_lru_shard *s = sts_lru_map_shard(mc->map, h);
    int64_t now = sts_clock_now_ms(&mc->clock);

    sts_lru_shard_lock(s);
    uint64_t *count = sts_lru_shard_counters(s);
    struct entry *e = sts_lru_shard_find(s, h, domain, 0);
    if (e != NULL && e->val != NULL && now < e->expires_ms) {
        count[HITS]++;
        sts_lru_shard_touch(s, e);
        value_unpack(e->val, out);
        out->cached = true;
        sts_lru_shard_unlock(s);
        return;
    }
    count[MISSES]++;
    if (e != NULL && e->flight != NULL) {
        count[SHARED]++;
        bool got = wait_flight(s, e->flight, budget_ms, out);
        sts_lru_shard_unlock(s);
        if (got)
            out->cached = true;
        else
            out->dns_error = true; /* our budget ran out first */
        return;
    }
    struct flight *f = calloc(1, sizeof(*f));
    if (e == NULL && f != NULL)
        e = sts_lru_shard_insert(s, h, domain, 0);
    if (e == NULL || f == NULL) {
        sts_lru_shard_unlock(s);
        free(f);
        out->dns_error = true;
        return;
    }
    f->users = 1;
    e->flight = f;
    sts_lru_pin(e); /* the leader holds it across the query */
    count[QUERIES]++;
    sts_lru_shard_unlock(s);

    uint32_t ttl_s = 0;
    resolve(mc, domain, budget_ms, out, &ttl_s);
    struct mx_value *v = ttl_s > 0 ? value_pack(out) : NULL;
    int64_t expires = sts_clock_now_ms(&mc->clock) + (int64_t)ttl_s * 1000;

    sts_lru_shard_lock(s);
    if (v != NULL) {
        free(e->val);
        e->val = v;
        e->expires_ms = expires;
    }
    e->flight = NULL;
    sts_lru_unpin(e);
    f->res = *out;
    f->done = true;
    if (--f->users == 0)
        free(f);
    else
        sts_lru_shard_broadcast(s);
    sts_lru_shard_unlock(s);
}

void sts_mx_cache_stats(struct sts_mx_cache *mc, struct sts_mx_cache_stats *out)
{
    struct sts_lru_map_stats st;
    sts_lru_map_stats(mc->map, &st);
    memset(out, 0, sizeof(*out));
    out->hits = st.user[HITS];
    out->misses = st.user[MISSES];
    out->queries = st.user[QUERIES];
    out->shared = st.user[SHARED];
    out->evictions = st.evictions;
    out->entries = st.entries;
}
