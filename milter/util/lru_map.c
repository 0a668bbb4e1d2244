/*
 * lru_map.c - the sharded map with LRU eviction (see lru_map.h for the
 * lock order, pins and bounds).
 *
 * An entry is one block: struct node, padded to the strictest alignment,
 * then the caller's value, then the key.  A value pointer is the block
 * address plus NODE_SIZE, so node_of() is a subtraction.  A shard's hash
 * table is an array of chain heads, a power of two in size, indexed by the
 * hash bits above the shard bits; it doubles when the shard holds more
 * entries than buckets (a failed doubling leaves longer chains, still
 * correct).  The LRU list is doubly linked, newest at the head.
 */
#include "mtasts/lru_map.h"
#include "mtasts/metrics.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS_MAX 1024

struct node {
    struct node *next;          /* hash chain */
    struct node *newer, *older; /* the shard's LRU list */
    const char *key;            /* inside the block, after the value */
    uint32_t hash;
    unsigned pins;
    uint8_t tag;
};

#define NODE_SIZE                                                                                  \
    ((sizeof(struct node) + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t))

struct sts_lru_shard {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    struct sts_lru_map *map;
    struct node **buckets;
    size_t nbuckets, count;
    struct node *newest, *oldest;
    uint64_t inserts, evictions;
    uint64_t user[STS_LRU_USER_COUNTERS];
};

struct sts_lru_map {
    struct sts_lru_map_config cfg; /* defaults filled in */
    size_t shard_cap;              /* entries per shard before evicting */
    unsigned shard_bits;           /* log2(shards) */
    struct sts_lru_shard *shards;
};

static struct node *node_of(const void *v)
{
    return (struct node *)((char *)(uintptr_t)v - NODE_SIZE);
}

static void *value_of(struct node *n)
{
    return (char *)n + NODE_SIZE;
}

uint32_t sts_lru_hash(const char *key, unsigned tag)
{
    uint32_t h = 2166136261u ^ (uint32_t)(tag & 0xff) * 0x9e3779b1u;
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 16777619u;
    return h;
}

/* ---- the shard's table and LRU list (shard locked) ---- */

static struct node **chain_of(struct sts_lru_shard *s, uint32_t h)
{
    return &s->buckets[(h >> s->map->shard_bits) & (s->nbuckets - 1)];
}

static void lru_unlink(struct sts_lru_shard *s, struct node *n)
{
    if (n->newer)
        n->newer->older = n->older;
    else
        s->newest = n->older;
    if (n->older)
        n->older->newer = n->newer;
    else
        s->oldest = n->newer;
    n->newer = n->older = NULL;
}

static void lru_push(struct sts_lru_shard *s, struct node *n)
{
    n->older = s->newest;
    n->newer = NULL;
    if (s->newest)
        s->newest->newer = n;
    s->newest = n;
    if (s->oldest == NULL)
        s->oldest = n;
}

static void table_grow(struct sts_lru_shard *s)
{
    size_t nb = s->nbuckets * 2;
    struct node **b = calloc(nb, sizeof(*b));
    if (b == NULL)
        return; /* longer chains, still correct */
    unsigned bits = s->map->shard_bits;
    for (size_t i = 0; i < s->nbuckets; i++) {
        struct node *n = s->buckets[i];
        while (n != NULL) {
            struct node *next = n->next;
            size_t j = (n->hash >> bits) & (nb - 1);
            n->next = b[j];
            b[j] = n;
            n = next;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
}

static void node_free(struct sts_lru_map *m, struct node *n)
{
    sts_metrics_front_add(m->cfg.metrics_front, -1);
    if (m->cfg.on_free != NULL)
        m->cfg.on_free(m->cfg.arg, value_of(n));
    free(n);
}

static void node_remove(struct sts_lru_shard *s, struct node *n)
{
    for (struct node **l = chain_of(s, n->hash); *l != NULL; l = &(*l)->next)
        if (*l == n) {
            *l = n->next;
            break;
        }
    lru_unlink(s, n);
    s->count--;
    node_free(s->map, n);
}

/* A full shard: free up to evict_scan idle entries from the LRU end. */
static void make_room(struct sts_lru_shard *s)
{
    struct sts_lru_map *m = s->map;
    struct node *n = s->oldest;
    for (unsigned tried = 0; s->count >= m->shard_cap && n != NULL && tried < m->cfg.evict_scan;
         tried++) {
        struct node *newer = n->newer;
        if (n->pins == 0) {
            node_remove(s, n);
            s->evictions++;
            sts_metrics_front_evicted(s->map->cfg.metrics_front);
        }
        n = newer;
    }
}

/* ---- public API ---- */

enum sts_status sts_lru_map_new(const struct sts_lru_map_config *cfg, struct sts_lru_map **out,
                                char *err, size_t errlen)
{
    *out = NULL;
    struct sts_lru_map_config c = *cfg;
    if (c.shards == 0)
        c.shards = STS_LRU_SHARDS_DEFAULT;
    if (c.max_entries == 0)
        c.max_entries = STS_LRU_ENTRIES_DEFAULT;
    if (c.evict_scan == 0)
        c.evict_scan = STS_LRU_EVICT_SCAN;
    if (c.buckets_min == 0)
        c.buckets_min = STS_LRU_BUCKETS_MIN;
    if ((c.shards & (c.shards - 1)) != 0 || c.shards > SHARDS_MAX ||
        (c.buckets_min & (c.buckets_min - 1)) != 0)
        return sts_status_set(STS_EINVAL, err, errlen,
                              "lru map: shards (%u) and buckets (%zu) must be powers of two",
                              c.shards, c.buckets_min);
    struct sts_lru_map *m = calloc(1, sizeof(*m));
    struct sts_lru_shard *shards = m != NULL ? calloc(c.shards, sizeof(*shards)) : NULL;
    if (shards == NULL) {
        free(m);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    }
    m->cfg = c;
    m->shards = shards;
    m->shard_cap = c.max_entries / c.shards > 0 ? c.max_entries / c.shards : 1;
    while ((1u << m->shard_bits) < c.shards)
        m->shard_bits++;
    for (unsigned i = 0; i < c.shards; i++) {
        struct sts_lru_shard *s = &shards[i];
        s->map = m;
        pthread_mutex_init(&s->mu, NULL);
        sts_cond_init_monotonic(&s->cond);
        s->nbuckets = c.buckets_min;
        s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
        if (s->buckets == NULL) {
            for (unsigned k = i + 1; k < c.shards; k++) { /* the rest: as free() expects */
                pthread_mutex_init(&shards[k].mu, NULL);
                sts_cond_init_monotonic(&shards[k].cond);
            }
            sts_lru_map_free(m);
            return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
        }
    }
    *out = m;
    return STS_OK;
}

void sts_lru_map_free(struct sts_lru_map *m)
{
    if (m == NULL)
        return;
    for (unsigned i = 0; i < m->cfg.shards; i++) {
        struct sts_lru_shard *s = &m->shards[i];
        for (struct node *n = s->newest; n != NULL;) {
            struct node *older = n->older;
            node_free(m, n);
            n = older;
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cond);
    }
    free(m->shards);
    free(m);
}

struct sts_lru_shard *sts_lru_map_shard(struct sts_lru_map *m, uint32_t hash)
{
    return &m->shards[hash & (m->cfg.shards - 1)];
}

unsigned sts_lru_map_nshards(const struct sts_lru_map *m)
{
    return m->cfg.shards;
}

struct sts_lru_shard *sts_lru_map_shard_at(struct sts_lru_map *m, unsigned i)
{
    return &m->shards[i & (m->cfg.shards - 1)];
}

void sts_lru_shard_lock(struct sts_lru_shard *s)
{
    pthread_mutex_lock(&s->mu);
}

void sts_lru_shard_unlock(struct sts_lru_shard *s)
{
    pthread_mutex_unlock(&s->mu);
}

bool sts_lru_shard_wait(struct sts_lru_shard *s, struct sts_deadline d)
{
    return sts_cond_wait_until(&s->cond, &s->mu, d) == 0;
}

void sts_lru_shard_broadcast(struct sts_lru_shard *s)
{
    pthread_cond_broadcast(&s->cond);
}

void *sts_lru_shard_find(struct sts_lru_shard *s, uint32_t hash, const char *key, unsigned tag)
{
    for (struct node *n = *chain_of(s, hash); n != NULL; n = n->next)
        if (n->hash == hash && n->tag == tag && strcmp(n->key, key) == 0)
            return value_of(n);
    return NULL;
}

void *sts_lru_shard_insert(struct sts_lru_shard *s, uint32_t hash, const char *key, unsigned tag)
{
    struct sts_lru_map *m = s->map;
    if (s->count >= m->shard_cap)
        make_room(s);
    if (s->count + 1 > s->nbuckets)
        table_grow(s);
    size_t len = strlen(key);
    struct node *n = calloc(1, NODE_SIZE + m->cfg.value_size + len + 1);
    if (n == NULL)
        return NULL;
    char *k = (char *)n + NODE_SIZE + m->cfg.value_size;
    memcpy(k, key, len + 1);
    n->key = k;
    n->hash = hash;
    n->tag = (uint8_t)tag;
    struct node **l = chain_of(s, hash);
    n->next = *l;
    *l = n;
    lru_push(s, n);
    s->count++;
    s->inserts++;
    sts_metrics_front_add(m->cfg.metrics_front, 1);
    return value_of(n);
}

void *sts_lru_shard_get(struct sts_lru_shard *s, uint32_t hash, const char *key, unsigned tag,
                        bool *created)
{
    void *v = sts_lru_shard_find(s, hash, key, tag);
    if (created != NULL)
        *created = v == NULL;
    if (v != NULL) {
        sts_lru_shard_touch(s, v);
        return v;
    }
    return sts_lru_shard_insert(s, hash, key, tag);
}

void sts_lru_shard_touch(struct sts_lru_shard *s, void *v)
{
    struct node *n = node_of(v);
    if (s->newest != n) {
        lru_unlink(s, n);
        lru_push(s, n);
    }
}

bool sts_lru_shard_remove(struct sts_lru_shard *s, void *v)
{
    struct node *n = node_of(v);
    if (n->pins > 0)
        return false;
    node_remove(s, n);
    return true;
}

bool sts_lru_shard_full(const struct sts_lru_shard *s)
{
    return s->count >= s->map->shard_cap;
}

void *sts_lru_shard_oldest(struct sts_lru_shard *s)
{
    return s->oldest != NULL ? value_of(s->oldest) : NULL;
}

void *sts_lru_newer(const void *v)
{
    struct node *n = node_of(v)->newer;
    return n != NULL ? value_of(n) : NULL;
}

uint64_t *sts_lru_shard_counters(struct sts_lru_shard *s)
{
    return s->user;
}

void sts_lru_pin(void *v)
{
    node_of(v)->pins++;
}

void sts_lru_unpin(void *v)
{
    struct node *n = node_of(v);
    if (n->pins > 0)
        n->pins--;
}

bool sts_lru_pinned(const void *v)
{
    return node_of(v)->pins > 0;
}

const char *sts_lru_key(const void *v)
{
    return node_of(v)->key;
}

unsigned sts_lru_tag(const void *v)
{
    return node_of(v)->tag;
}

uint32_t sts_lru_value_hash(const void *v)
{
    return node_of(v)->hash;
}

void sts_lru_map_stats(struct sts_lru_map *m, struct sts_lru_map_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < m->cfg.shards; i++) {
        struct sts_lru_shard *s = &m->shards[i];
        pthread_mutex_lock(&s->mu);
        out->entries += s->count;
        out->inserts += s->inserts;
        out->evictions += s->evictions;
        for (int k = 0; k < STS_LRU_USER_COUNTERS; k++)
            out->user[k] += s->user[k];
        pthread_mutex_unlock(&s->mu);
    }
}
