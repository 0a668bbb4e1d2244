/*
 * mx_cache.c - the per-domain memo of MX answers (see mx_cache.h).
 *
 * Locking protocol: a domain lives in the shard its hash picks; the
 * shard's mutex guards its chains, its LRU list, its counters and every
 * field of its entries and flights.  A lookup that misses becomes the
 * domain's leader: it hangs a flight on the entry, lets go of the mutex,
 * asks the resolver, then takes the mutex again to store the answer, mark
 * the flight done and wake the waiters.  An entry with a flight is never
 * evicted (the leader still points at it); a flight is freed by whichever
 * of the leader and its waiters leaves it last.
 */
#include "mtasts/mx_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SHARDS 16
#define BUCKETS_MIN 64
#define MAX_TTL_DEFAULT 3600
#define NEGATIVE_TTL_DEFAULT 60
#define ENTRIES_DEFAULT 65536
#define EVICT_SCAN 8 /* entries tried from the LRU tail before giving up */

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

struct entry {
    struct entry *next;          /* hash chain */
    struct entry *newer, *older; /* LRU list */
    struct mx_value *val;        /* NULL: nothing memoised */
    int64_t expires_ms;          /* val is good while now < this */
    struct flight *flight;       /* a query in progress */
    char domain[];
};

struct shard {
    pthread_mutex_t mu;
    pthread_cond_t done; /* broadcast when one of its flights lands */
    struct entry **buckets;
    size_t nbuckets, count;
    struct entry *newest, *oldest;
    uint64_t hits, misses, queries, shared, evictions;
};

struct sts_mx_cache {
    struct sts_mx_cache_config cfg;
    size_t shard_cap;
    struct shard shards[SHARDS];
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t clock_ms(const struct sts_mx_cache *mc)
{
    return mc->cfg.now_ms ? mc->cfg.now_ms(mc->cfg.now_arg) : mono_ms();
}

/* FNV-1a: domains are short and already lower-case. */
static uint32_t hash_domain(const char *d)
{
    uint32_t h = 2166136261u;
    for (; *d; d++)
        h = (h ^ (unsigned char)*d) * 16777619u;
    return h;
}

/* ---- the shard's table and LRU list (shard locked) ---- */

static void lru_unlink(struct shard *s, struct entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        s->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        s->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(struct shard *s, struct entry *e)
{
    e->older = s->newest;
    e->newer = NULL;
    if (s->newest)
        s->newest->newer = e;
    s->newest = e;
    if (s->oldest == NULL)
        s->oldest = e;
}

static void table_grow(struct shard *s)
{
    size_t n = s->nbuckets * 2;
    struct entry **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct entry *e = s->buckets[i];
        while (e != NULL) {
            struct entry *next = e->next;
            size_t j = (hash_domain(e->domain) / SHARDS) & (n - 1);
            e->next = b[j];
            b[j] = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
}

static struct entry **chain_of(struct shard *s, uint32_t h)
{
    return &s->buckets[(h / SHARDS) & (s->nbuckets - 1)];
}

static void entry_remove(struct shard *s, struct entry *e, uint32_t h)
{
    for (struct entry **l = chain_of(s, h); *l != NULL; l = &(*l)->next)
        if (*l == e) {
            *l = e->next;
            break;
        }
    lru_unlink(s, e);
    s->count--;
    free(e->val);
    free(e);
}

/* Make room for one more entry: drop the least recently used idle ones. */
static void evict(struct sts_mx_cache *mc, struct shard *s)
{
    struct entry *e = s->oldest;
    for (int tried = 0; s->count >= mc->shard_cap && e != NULL && tried < EVICT_SCAN; tried++) {
        struct entry *newer = e->newer;
        if (e->flight == NULL) {
            entry_remove(s, e, hash_domain(e->domain));
            s->evictions++;
        }
        e = newer;
    }
}

static struct entry *entry_find(struct shard *s, uint32_t h, const char *domain)
{
    for (struct entry *e = *chain_of(s, h); e != NULL; e = e->next)
        if (strcmp(e->domain, domain) == 0)
            return e;
    return NULL;
}

static struct entry *entry_add(struct sts_mx_cache *mc, struct shard *s, uint32_t h,
                               const char *domain)
{
    evict(mc, s);
    if (s->count + 1 > s->nbuckets)
        table_grow(s);
    size_t len = strlen(domain);
    struct entry *e = calloc(1, sizeof(*e) + len + 1);
    if (e == NULL)
        return NULL;
    memcpy(e->domain, domain, len + 1);
    struct entry **l = chain_of(s, h);
    e->next = *l;
    *l = e;
    lru_push(s, e);
    s->count++;
    return e;
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
                           int64_t deadline, struct sts_dns_answer **ans)
{
    *ans = NULL;
    int64_t left = deadline - mono_ms();
    if (left < 1)
        return STS_EIO; /* the budget is spent */
    if (mc->cfg.query != NULL)
        return mc->cfg.query(mc->cfg.query_arg, name, type, (unsigned)left, ans);
    return sts_dns_query_within(mc->cfg.dns, name, type, (unsigned)left, ans);
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/*
 * RFC 5321 §5.1: does the domain have an address?  1 yes, 0 no, -1 the
 * lookups failed.  *ttl shrinks to the records' (or denials') TTL.
 */
static int has_address(struct sts_mx_cache *mc, const char *domain, int64_t deadline, uint32_t *ttl)
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
    int64_t deadline = mono_ms() + budget_ms;
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
    size_t max = cfg->max_entries ? cfg->max_entries : ENTRIES_DEFAULT;
    mc->shard_cap = max / SHARDS > 0 ? max / SHARDS : 1;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &mc->shards[i];
        s->nbuckets = BUCKETS_MIN;
        s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
        pthread_condattr_t a;
        pthread_condattr_init(&a);
        pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
        pthread_cond_init(&s->done, &a);
        pthread_condattr_destroy(&a);
        pthread_mutex_init(&s->mu, NULL);
        if (s->buckets == NULL) {
            sts_mx_cache_free(mc);
            return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
        }
    }
    *out = mc;
    return STS_OK;
}

void sts_mx_cache_free(struct sts_mx_cache *mc)
{
    if (mc == NULL)
        return;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &mc->shards[i];
        for (struct entry *e = s->newest; e != NULL;) {
            struct entry *older = e->older;
            free(e->val);
            free(e);
            e = older;
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->done);
    }
    free(mc);
}

/* Wait for the domain's flight (shard locked); false if the budget ran out. */
static bool wait_flight(struct shard *s, struct flight *f, unsigned budget_ms,
                        struct sts_mx_result *out)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += budget_ms / 1000;
    ts.tv_nsec += (long)(budget_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    f->users++;
    int rc = 0;
    while (!f->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&s->done, &s->mu, &ts);
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

    uint32_t h = hash_domain(domain);
    struct shard *s = &mc->shards[h % SHARDS];
    int64_t now = clock_ms(mc);

    pthread_mutex_lock(&s->mu);
    struct entry *e = entry_find(s, h, domain);
    if (e != NULL && e->val != NULL && now < e->expires_ms) {
        s->hits++;
        lru_unlink(s, e);
        lru_push(s, e);
        value_unpack(e->val, out);
        out->cached = true;
        pthread_mutex_unlock(&s->mu);
        return;
    }
    s->misses++;
    if (e != NULL && e->flight != NULL) {
        s->shared++;
        bool got = wait_flight(s, e->flight, budget_ms, out);
        pthread_mutex_unlock(&s->mu);
        if (got)
            out->cached = true;
        else
            out->dns_error = true; /* our budget ran out first */
        return;
    }
    struct flight *f = calloc(1, sizeof(*f));
    if (e == NULL && f != NULL)
        e = entry_add(mc, s, h, domain);
    if (e == NULL || f == NULL) {
        pthread_mutex_unlock(&s->mu);
        free(f);
        out->dns_error = true;
        return;
    }
    f->users = 1;
    e->flight = f;
    s->queries++;
    pthread_mutex_unlock(&s->mu);

    uint32_t ttl_s = 0;
    resolve(mc, domain, budget_ms, out, &ttl_s);
    struct mx_value *v = ttl_s > 0 ? value_pack(out) : NULL;
    int64_t expires = clock_ms(mc) + (int64_t)ttl_s * 1000;

    pthread_mutex_lock(&s->mu);
    if (v != NULL) {
        free(e->val);
        e->val = v;
        e->expires_ms = expires;
    }
    e->flight = NULL;
    f->res = *out;
    f->done = true;
    if (--f->users == 0)
        free(f);
    else
        pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
}

void sts_mx_cache_stats(struct sts_mx_cache *mc, struct sts_mx_cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < SHARDS; i++) {
        struct shard *s = &mc->shards[i];
        pthread_mutex_lock(&s->mu);
        out->hits += s->hits;
        out->misses += s->misses;
        out->queries += s->queries;
        out->shared += s->shared;
        out->evictions += s->evictions;
        out->entries += s->count;
        pthread_mutex_unlock(&s->mu);
    }
}
