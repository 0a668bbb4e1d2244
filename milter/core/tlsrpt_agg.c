/*
 * tlsrpt_agg.c - TLS-RPT sessions counted in memory (tlsrpt_agg.h).
 *
 * Each shard is a chained hash table of rows keyed by a length-prefixed
 * serialisation of the row's key fields (so no byte a peer chooses, in a
 * HELO say, can make two different rows collide).  A session touches one
 * shard, picked by the hash of its policy key, so a policy row and its
 * detail rows live together and one lock covers both updates.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtasts/hash.h"
#include "mtasts/tlsrpt_agg.h"

#define AGG_BUCKETS_MIN 64

struct agg_entry {
    struct agg_entry *next;
    uint64_t hash;
    char *key;
    size_t keylen;
    struct sts_tlsrpt_row row;
};

struct agg_shard {
    pthread_mutex_t mu;
    struct agg_entry **buckets;
    size_t nbuckets, count;
};

struct sts_tlsrpt_agg {
    struct agg_shard shard[STS_TLSRPT_AGG_SHARDS];
    size_t max_rows;
    atomic_size_t rows;
    atomic_uint_fast64_t dropped;
};

static uint64_t agg_hash(const char *p, size_t n)
{
    return sts_fnv1a64(STS_FNV1A64_INIT, p, n);
}

/* A growable byte buffer for building keys. */
struct keybuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void key_put(struct keybuf *k, const char *s, size_t n)
{
    if (k->oom)
        return;
    char num[24];
    int m = snprintf(num, sizeof(num), "%zu:", n);
    size_t need = k->len + (size_t)m + n + 1;
    if (need > k->cap) {
        size_t cap = k->cap ? k->cap : 256;
        while (cap < need)
            cap *= 2;
        char *q = realloc(k->p, cap);
        if (q == NULL) {
            k->oom = true;
            return;
        }
        k->p = q;
        k->cap = cap;
    }
    memcpy(k->p + k->len, num, (size_t)m);
    k->len += (size_t)m;
    memcpy(k->p + k->len, s, n);
    k->len += n;
    k->p[k->len] = '\0';
}

static size_t text_len(const char *s)
{
    if (s == NULL)
        return 0;
    size_t n = strlen(s);
    return n > STS_TLSRPT_TEXT_MAX ? STS_TLSRPT_TEXT_MAX : n;
}

static void key_text(struct keybuf *k, const char *s)
{
    key_put(k, s ? s : "", text_len(s));
}

/* The policy part of the key (for a detail row, its prefix). */
static void key_policy(struct keybuf *k, const char *day, const struct sts_tlsrpt_session *s)
{
    char type = (char)('0' + (int)s->type);
    key_put(k, day, strlen(day));
    key_put(k, &type, 1);
    key_put(k, s->policy_domain, strlen(s->policy_domain));
    /* policy strings and patterns are not peer text: kept whole */
    key_put(k, s->policy_strings ? s->policy_strings : "",
            s->policy_strings ? strlen(s->policy_strings) : 0);
    key_put(k, s->mx_hosts ? s->mx_hosts : "", s->mx_hosts ? strlen(s->mx_hosts) : 0);
}

static void key_detail(struct keybuf *k, const struct sts_tlsrpt_session *s)
{
    char result = (char)('A' + (int)s->result);
    key_put(k, &result, 1);
    key_text(k, s->sending_mta_ip);
    key_text(k, s->receiving_mx_hostname);
    key_text(k, s->receiving_mx_helo);
    key_text(k, s->receiving_ip);
    key_text(k, s->additional_information);
    key_text(k, s->failure_reason_code);
}

bool sts_tlsrpt_day(int64_t when, char day[STS_TLSRPT_DAY_LEN + 1])
{
    /* 253402300799 is 9999-12-31T23:59:59Z */
    if (when < 0 || when > 253402300799LL)
        return false;
    time_t t = (time_t)when;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return false;
    /* the range check above keeps the year at four digits */
    return strftime(day, STS_TLSRPT_DAY_LEN + 1, "%Y-%m-%d", &tm) == STS_TLSRPT_DAY_LEN;
}

static char *dup_text(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d != NULL) {
        if (n > 0)
            memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static char *dup_or_empty(const char *s)
{
    return dup_text(s ? s : "", s ? strlen(s) : 0);
}

static char *dup_capped(const char *s)
{
    return dup_text(s ? s : "", text_len(s));
}

static void row_free_strings(struct sts_tlsrpt_row *r)
{
    free(r->policy_domain);
    free(r->policy_strings);
    free(r->mx_hosts);
    free(r->sending_mta_ip);
    free(r->receiving_mx_hostname);
    free(r->receiving_mx_helo);
    free(r->receiving_ip);
    free(r->additional_information);
    free(r->failure_reason_code);
}

/*
 * *dst = *src with every string copied (peer text cut at
 * STS_TLSRPT_TEXT_MAX); NULL strings become "".  False when out of memory
 * (then dst owns nothing).
 */
static bool row_copy(struct sts_tlsrpt_row *dst, const struct sts_tlsrpt_row *src)
{
    *dst = *src;
    dst->policy_domain = dup_or_empty(src->policy_domain);
    dst->policy_strings = dup_or_empty(src->policy_strings);
    dst->mx_hosts = dup_or_empty(src->mx_hosts);
    dst->sending_mta_ip = dup_capped(src->sending_mta_ip);
    dst->receiving_mx_hostname = dup_capped(src->receiving_mx_hostname);
    dst->receiving_mx_helo = dup_capped(src->receiving_mx_helo);
    dst->receiving_ip = dup_capped(src->receiving_ip);
    dst->additional_information = dup_capped(src->additional_information);
    dst->failure_reason_code = dup_capped(src->failure_reason_code);
    if (!dst->policy_domain || !dst->policy_strings || !dst->mx_hosts || !dst->sending_mta_ip ||
        !dst->receiving_mx_hostname || !dst->receiving_mx_helo || !dst->receiving_ip ||
        !dst->additional_information || !dst->failure_reason_code) {
        row_free_strings(dst);
        memset(dst, 0, sizeof(*dst));
        return false;
    }
    return true;
}

/* A new row (zero counts) of the session: its policy row or its detail row. */
static bool row_init(struct sts_tlsrpt_row *r, const char *day, const struct sts_tlsrpt_session *s,
                     bool detail)
{
    /* a view of the session's strings, copied by row_copy */
    struct sts_tlsrpt_row view = {
        .type = s->type,
        .detail = detail,
        .policy_domain = (char *)s->policy_domain,
        .policy_strings = (char *)s->policy_strings,
        .mx_hosts = (char *)s->mx_hosts,
    };
    memcpy(view.day, day, STS_TLSRPT_DAY_LEN + 1);
    if (detail) {
        view.result = s->result;
        view.sending_mta_ip = (char *)s->sending_mta_ip;
        view.receiving_mx_hostname = (char *)s->receiving_mx_hostname;
        view.receiving_mx_helo = (char *)s->receiving_mx_helo;
        view.receiving_ip = (char *)s->receiving_ip;
        view.additional_information = (char *)s->additional_information;
        view.failure_reason_code = (char *)s->failure_reason_code;
    }
    return row_copy(r, &view);
}

struct sts_tlsrpt_agg *sts_tlsrpt_agg_new(size_t max_rows)
{
    struct sts_tlsrpt_agg *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->max_rows = max_rows ? max_rows : STS_TLSRPT_AGG_MAX_ROWS;
    atomic_init(&a->rows, 0);
    atomic_init(&a->dropped, 0);
    for (size_t i = 0; i < STS_TLSRPT_AGG_SHARDS; i++)
        pthread_mutex_init(&a->shard[i].mu, NULL);
    return a;
}

static void entries_free(struct agg_entry **buckets, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct agg_entry *e = buckets[i];
        while (e != NULL) {
            struct agg_entry *next = e->next;
            row_free_strings(&e->row);
            free(e->key);
            free(e);
            e = next;
        }
    }
    free(buckets);
}

void sts_tlsrpt_agg_free(struct sts_tlsrpt_agg *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < STS_TLSRPT_AGG_SHARDS; i++) {
        entries_free(a->shard[i].buckets, a->shard[i].nbuckets);
        pthread_mutex_destroy(&a->shard[i].mu);
    }
    free(a);
}

static struct agg_entry *shard_find(struct agg_shard *sh, uint64_t h, const char *key, size_t len)
{
    if (sh->nbuckets == 0)
        return NULL;
    for (struct agg_entry *e = sh->buckets[h % sh->nbuckets]; e != NULL; e = e->next)
        if (e->hash == h && e->keylen == len && memcmp(e->key, key, len) == 0)
            return e;
    return NULL;
}

/* Keep the load factor at most 1; a failed grow keeps the old table. */
static void shard_grow(struct agg_shard *sh)
{
    if (sh->count < sh->nbuckets)
        return;
    size_t n = sh->nbuckets ? sh->nbuckets * 2 : AGG_BUCKETS_MIN;
    struct agg_entry **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return;
    for (size_t i = 0; i < sh->nbuckets; i++) {
        struct agg_entry *e = sh->buckets[i];
        while (e != NULL) {
            struct agg_entry *next = e->next;
            e->next = b[e->hash % n];
            b[e->hash % n] = e;
            e = next;
        }
    }
    free(sh->buckets);
    sh->buckets = b;
    sh->nbuckets = n;
}

/* Find or create the row of key; NULL at the cap or out of memory. */
static struct agg_entry *shard_row(struct sts_tlsrpt_agg *a, struct agg_shard *sh,
                                   const struct keybuf *k, const char *day,
                                   const struct sts_tlsrpt_session *s, bool detail)
{
    uint64_t h = agg_hash(k->p, k->len);
    struct agg_entry *e = shard_find(sh, h, k->p, k->len);
    if (e != NULL)
        return e;
    if (atomic_fetch_add(&a->rows, 1) >= a->max_rows) {
        atomic_fetch_sub(&a->rows, 1);
        return NULL;
    }
    shard_grow(sh);
    e = calloc(1, sizeof(*e));
    if (e != NULL)
        e->key = dup_text(k->p, k->len);
    if (e == NULL || sh->nbuckets == 0 || e->key == NULL || !row_init(&e->row, day, s, detail)) {
        if (e != NULL)
            free(e->key);
        free(e);
        atomic_fetch_sub(&a->rows, 1);
        return NULL;
    }
    e->hash = h;
    e->keylen = k->len;
    e->next = sh->buckets[h % sh->nbuckets];
    sh->buckets[h % sh->nbuckets] = e;
    sh->count++;
    return e;
}

enum sts_status sts_tlsrpt_agg_add(struct sts_tlsrpt_agg *a, const struct sts_tlsrpt_session *s)
{
    char day[STS_TLSRPT_DAY_LEN + 1];
    if (a == NULL || s == NULL || s->policy_domain == NULL || s->policy_domain[0] == '\0' ||
        (unsigned)s->type > STS_TLSRPT_POLICY_NO_POLICY ||
        (!s->success && (unsigned)s->result >= STS_TLSRPT_RESULT_COUNT) ||
        !sts_tlsrpt_day(s->when, day))
        return STS_EINVAL;

    struct keybuf k = {0};
    key_policy(&k, day, s);
    if (k.oom) {
        free(k.p);
        atomic_fetch_add(&a->dropped, 1);
        return STS_ENOMEM;
    }
    struct agg_shard *sh = &a->shard[agg_hash(k.p, k.len) % STS_TLSRPT_AGG_SHARDS];
    enum sts_status st = STS_OK;

    pthread_mutex_lock(&sh->mu);
    struct agg_entry *pol = shard_row(a, sh, &k, day, s, false);
    if (pol == NULL) {
        st = STS_ETOOBIG;
        atomic_fetch_add(&a->dropped, 1);
    } else if (s->success) {
        pol->row.ok++;
    } else {
        if (!(s->flags & STS_TLSRPT_SESSION_DETAIL_ONLY))
            pol->row.fail++;
        if (!(s->flags & STS_TLSRPT_SESSION_NO_DETAIL)) {
            key_detail(&k, s);
            struct agg_entry *det = k.oom ? NULL : shard_row(a, sh, &k, day, s, true);
            if (det != NULL)
                det->row.count++;
            else
                st = STS_ETOOBIG; /* counted in the summary only */
        }
    }
    pthread_mutex_unlock(&sh->mu);
    free(k.p);
    return st;
}

static enum sts_status batch_reserve(struct sts_tlsrpt_batch *b, size_t more)
{
    if (b->count + more <= b->cap)
        return STS_OK;
    size_t cap = b->cap ? b->cap : 16;
    while (cap < b->count + more)
        cap *= 2;
    struct sts_tlsrpt_row *r = realloc(b->rows, cap * sizeof(*r));
    if (r == NULL)
        return STS_ENOMEM;
    b->rows = r;
    b->cap = cap;
    return STS_OK;
}

enum sts_status sts_tlsrpt_agg_drain(struct sts_tlsrpt_agg *a, struct sts_tlsrpt_batch *out)
{
    if (a == NULL || out == NULL)
        return STS_EINVAL;
    for (size_t i = 0; i < STS_TLSRPT_AGG_SHARDS; i++) {
        struct agg_shard *sh = &a->shard[i];
        pthread_mutex_lock(&sh->mu);
        if (batch_reserve(out, sh->count) != STS_OK) {
            pthread_mutex_unlock(&sh->mu);
            return STS_ENOMEM;
        }
        struct agg_entry **buckets = sh->buckets;
        size_t nb = sh->nbuckets, count = sh->count;
        sh->buckets = NULL;
        sh->nbuckets = sh->count = 0;
        pthread_mutex_unlock(&sh->mu);
        atomic_fetch_sub(&a->rows, count);

        /* policy rows first, then details: moved, their strings with them */
        for (int pass = 0; pass < 2; pass++)
            for (size_t j = 0; j < nb; j++)
                for (struct agg_entry *e = buckets[j]; e != NULL; e = e->next)
                    if (e->row.detail == (pass == 1)) {
                        out->rows[out->count++] = e->row;
                        memset(&e->row, 0, sizeof(e->row));
                    }
        entries_free(buckets, nb);
    }
    return STS_OK;
}

uint64_t sts_tlsrpt_agg_dropped(const struct sts_tlsrpt_agg *a)
{
    return a ? atomic_load(&((struct sts_tlsrpt_agg *)a)->dropped) : 0;
}

size_t sts_tlsrpt_agg_rows(const struct sts_tlsrpt_agg *a)
{
    return a ? atomic_load(&((struct sts_tlsrpt_agg *)a)->rows) : 0;
}

enum sts_status sts_tlsrpt_batch_add(struct sts_tlsrpt_batch *b, const struct sts_tlsrpt_row *row)
{
    if (b == NULL || row == NULL)
        return STS_EINVAL;
    if (batch_reserve(b, 1) != STS_OK || !row_copy(&b->rows[b->count], row))
        return STS_ENOMEM;
    b->count++;
    return STS_OK;
}

void sts_tlsrpt_batch_clear(struct sts_tlsrpt_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->count; i++)
        row_free_strings(&b->rows[i]);
    free(b->rows);
    memset(b, 0, sizeof(*b));
}
