/*
 * metrics.c - the fixed metric set and its two renderings (see metrics.h
 * for the locking protocol).
 *
 * Each metric is a static array of atomic cells indexed by enum values;
 * the family table below names it, says its type, its labels (a label is
 * an enum and the function that spells its values) and its help text.
 * The renderers walk that table only, so a new metric is a new array, a
 * recorder and one row.
 */
#include "mtasts/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "build-config.h"

#define LINE 64 /* a cache line: each family's cells start on their own */
#define CELLS _Alignas(LINE) atomic_uint_fast64_t

#define FETCH_RESULTS (STS_FETCH_ERROR + 1)
#define DNS_TYPES 5
#define DNS_RESULTS (STS_DNS_ERROR + 2) /* the sts_dns_result words and "bogus" */
#define DNS_BOGUS (STS_DNS_ERROR + 1)
#define LOOKUP_SOURCES (STS_SOURCE_DISCOVERY + 1)
#define LOOKUP_OUTCOMES (STS_LOOKUP_ERROR + 1)
#define MAP_ANSWERS 9 /* notfound, perm, dane-only, dane, then the lookup outcomes */
#define STORE_RESULTS 3
#define RCPT_BUCKETS 12
#define FETCH_BUCKETS 11
#define PROBE_BUCKETS 10

/* Buckets in seconds: RCPT and socketmap answers are ~4 µs warm, bounded
   by LookupDeadline (at most 9 s); fetches by FetchTimeout (up to 120 s);
   probes by ProbeTimeout. */
static const double rcpt_le[RCPT_BUCKETS] = {5e-6, 2e-5, 1e-4, 5e-4, 1e-3, 5e-3,
                                             0.02, 0.1,  0.5,  1,    3,    9};
static const double fetch_le[FETCH_BUCKETS] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
static const double probe_le[PROBE_BUCKETS] = {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

struct hist {
    const double *le;
    unsigned n;                 /* bounds; the cells have n + 1 (the last: over every bound) */
    atomic_uint_fast64_t *cell; /* per bucket, not cumulative */
    atomic_uint_fast64_t *sum_ns;
};

static struct {
    CELLS verdicts[2][2][2][STS_REASON_COUNT]; /* mode, action, would_fail, reason */
    CELLS lookups[LOOKUP_SOURCES][LOOKUP_OUTCOMES];
    CELLS fetches[FETCH_RESULTS];
    CELLS dns[DNS_TYPES][DNS_RESULTS];
    CELLS probes[STS_TLS_RESULT_COUNT][2];
    CELLS socketmap[MAP_ANSWERS];
    CELLS store[STS_METRICS_STORE_OP_COUNT][STORE_RESULTS];
    CELLS front_entries[STS_METRICS_FRONT_COUNT]; /* gauges: wrap-around sums of +1/-1 */
    CELLS front_evictions[STS_METRICS_FRONT_COUNT];
    CELLS reloads[2];
    CELLS http[STS_METRICS_HTTP_RESULT_COUNT];
    CELLS rcpt_h[RCPT_BUCKETS + 1];
    CELLS map_h[RCPT_BUCKETS + 1];
    CELLS fetch_h[FETCH_BUCKETS + 1];
    CELLS probe_h[PROBE_BUCKETS + 1];
    CELLS sums[4]; /* the histograms' sums, nanoseconds */
    CELLS start_time;
} m; /* static storage: zero-initialised atomics are valid (C11 7.17.2.1) */

static struct hist rcpt_hist = {rcpt_le, RCPT_BUCKETS, m.rcpt_h, &m.sums[0]};
static struct hist map_hist = {rcpt_le, RCPT_BUCKETS, m.map_h, &m.sums[1]};
static struct hist fetch_hist = {fetch_le, FETCH_BUCKETS, m.fetch_h, &m.sums[2]};
static struct hist probe_hist = {probe_le, PROBE_BUCKETS, m.probe_h, &m.sums[3]};

static void inc(atomic_uint_fast64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static void observe(struct hist *h, double seconds)
{
    if (!(seconds >= 0)) /* negative or NaN: a clock step; count it as 0 */
        seconds = 0;
    unsigned i = 0;
    while (i < h->n && seconds > h->le[i])
        i++;
    inc(&h->cell[i]);
    double ns = seconds * 1e9;
    atomic_fetch_add_explicit(h->sum_ns, ns < 1.8e19 ? (uint_fast64_t)ns : 0, memory_order_relaxed);
}

/* ------------------------------------------------------------ recorders */

void sts_metrics_init(void)
{
    uint_fast64_t zero = 0;
    atomic_compare_exchange_strong(&m.start_time, &zero, (uint_fast64_t)time(NULL));
}

void sts_metrics_rcpt(enum sts_milter_mode mode, enum sts_action action, bool would_fail,
                      enum sts_verdict_reason reason, double seconds)
{
    if ((unsigned)mode < 2 && (unsigned)action < 2 && (unsigned)reason < STS_REASON_COUNT)
        inc(&m.verdicts[mode][action][would_fail ? 1 : 0][reason]);
    observe(&rcpt_hist, seconds);
}

void sts_metrics_lookup(enum sts_lookup_source source, enum sts_lookup_outcome outcome)
{
    if ((unsigned)source < LOOKUP_SOURCES && (unsigned)outcome < LOOKUP_OUTCOMES)
        inc(&m.lookups[source][outcome]);
}

void sts_metrics_fetch(enum sts_fetch_result result, double seconds)
{
    if ((unsigned)result < FETCH_RESULTS)
        inc(&m.fetches[result]);
    observe(&fetch_hist, seconds);
}

static int dns_type_index(enum sts_dns_type t)
{
    switch (t) {
    case STS_DNS_TXT:
        return 0;
    case STS_DNS_MX:
        return 1;
    case STS_DNS_A:
        return 2;
    case STS_DNS_AAAA:
        return 3;
    case STS_DNS_TLSA:
        return 4;
    }
    return -1;
}

void sts_metrics_dns(enum sts_dns_type type, enum sts_dns_result result, bool bogus)
{
    int t = dns_type_index(type);
    unsigned r = bogus ? DNS_BOGUS : (unsigned)result;
    if (t >= 0 && r < DNS_RESULTS)
        inc(&m.dns[t][r]);
}

void sts_metrics_probe(enum sts_tls_result result, bool dane, double seconds)
{
    if ((unsigned)result < STS_TLS_RESULT_COUNT)
        inc(&m.probes[result][dane ? 1 : 0]);
    observe(&probe_hist, seconds);
}

void sts_metrics_socketmap(enum sts_policy_map_key kind, enum sts_dane_summary dane,
                           enum sts_lookup_outcome outcome, double seconds)
{
    unsigned a;
    if (kind == STS_POLICY_MAP_NOTFOUND)
        a = 0;
    else if (kind != STS_POLICY_MAP_LOOKUP)
        a = 1;
    else if (dane == STS_DANE_SUMMARY_ONLY)
        a = 2;
    else if (dane == STS_DANE_SUMMARY_SOME)
        a = 3;
    else
        a = 4 + (unsigned)outcome;
    if (a < MAP_ANSWERS)
        inc(&m.socketmap[a]);
    observe(&map_hist, seconds);
}

void sts_metrics_store(enum sts_metrics_store_op op, enum sts_status status)
{
    if ((unsigned)op < STS_METRICS_STORE_OP_COUNT)
        inc(&m.store[op][status == STS_OK ? 0 : status == STS_ENOTFOUND ? 1 : 2]);
}

void sts_metrics_front_add(enum sts_metrics_front front, int delta)
{
    if (front != STS_METRICS_FRONT_NONE && (unsigned)front < STS_METRICS_FRONT_COUNT)
        atomic_fetch_add_explicit(&m.front_entries[front], (uint_fast64_t)(int_fast64_t)delta,
                                  memory_order_relaxed);
}

void sts_metrics_front_evicted(enum sts_metrics_front front)
{
    if (front != STS_METRICS_FRONT_NONE && (unsigned)front < STS_METRICS_FRONT_COUNT)
        inc(&m.front_evictions[front]);
}

void sts_metrics_reload(bool ok)
{
    inc(&m.reloads[ok ? 0 : 1]);
}

void sts_metrics_http(enum sts_metrics_http_result result)
{
    if ((unsigned)result < STS_METRICS_HTTP_RESULT_COUNT)
        inc(&m.http[result]);
}

/* ------------------------------------------------------ label words */

static const char *const store_op_words[STS_METRICS_STORE_OP_COUNT] = {
    "get",          "put",          "refresh",     "touch",       "delete",      "list",
    "negative-get", "negative-put", "backoff-get", "backoff-put", "probe-get",   "probe-put",
    "probe-touch",  "probe-delete", "probe-list",  "tlsrpt-add",  "tlsrpt-load", "tlsrpt-purge"};
_Static_assert(sizeof(store_op_words) / sizeof(store_op_words[0]) == STS_METRICS_STORE_OP_COUNT,
               "a word per store operation");
static const char *const front_words[STS_METRICS_FRONT_COUNT] = {"none", "policy", "mx", "tlsa",
                                                                 "probe"};
static const char *const http_words[STS_METRICS_HTTP_RESULT_COUNT] = {
    "ok", "bad-request", "not-found", "bad-method", "too-large", "timeout", "error"};
_Static_assert(sizeof(front_words) / sizeof(front_words[0]) == STS_METRICS_FRONT_COUNT,
               "a word per front");
_Static_assert(sizeof(http_words) / sizeof(http_words[0]) == STS_METRICS_HTTP_RESULT_COUNT,
               "a word per HTTP result");

const char *sts_metrics_store_op_name(enum sts_metrics_store_op op)
{
    return (unsigned)op < STS_METRICS_STORE_OP_COUNT ? store_op_words[op] : "unknown";
}

const char *sts_metrics_front_name(enum sts_metrics_front front)
{
    return (unsigned)front < STS_METRICS_FRONT_COUNT ? front_words[front] : "unknown";
}

const char *sts_metrics_http_result_name(enum sts_metrics_http_result r)
{
    return (unsigned)r < STS_METRICS_HTTP_RESULT_COUNT ? http_words[r] : "unknown";
}

static const char *w_mode(unsigned i)
{
    return sts_milter_mode_name((enum sts_milter_mode)i);
}
static const char *w_action(unsigned i)
{
    return sts_action_name((enum sts_action)i);
}
static const char *w_yesno(unsigned i)
{
    return i ? "yes" : "no";
}
static const char *w_reason(unsigned i)
{
    return sts_verdict_reason_name((enum sts_verdict_reason)i);
}
static const char *w_source(unsigned i)
{
    return sts_lookup_source_name((enum sts_lookup_source)i);
}
static const char *w_outcome(unsigned i)
{
    return sts_lookup_outcome_name((enum sts_lookup_outcome)i);
}
static const char *w_fetch(unsigned i)
{
    return sts_fetch_result_name((enum sts_fetch_result)i);
}
static const char *w_dns_type(unsigned i)
{
    static const char *const w[DNS_TYPES] = {"txt", "mx", "a", "aaaa", "tlsa"};
    return w[i];
}
static const char *w_dns_result(unsigned i)
{
    /* sts_dns_result_name() says "answer" for STS_DNS_ANSWER: "ok" reads better as a label */
    static const char *const w[DNS_RESULTS] = {"ok",      "nxdomain", "nodata", "servfail",
                                               "timeout", "error",    "bogus"};
    return w[i];
}
static const char *w_tls(unsigned i)
{
    return sts_tls_result_name((enum sts_tls_result)i);
}
static const char *w_answer(unsigned i)
{
    static const char *const w[4] = {"notfound", "perm", "dane-only", "dane"};
    return i < 4 ? w[i] : sts_lookup_outcome_name((enum sts_lookup_outcome)(i - 4));
}
static const char *w_store_op(unsigned i)
{
    return store_op_words[i];
}
static const char *w_store_result(unsigned i)
{
    static const char *const w[STORE_RESULTS] = {"ok", "notfound", "error"};
    return w[i];
}
static const char *w_front(unsigned i)
{
    return front_words[i + 1]; /* NONE is never rendered */
}
static const char *w_reload(unsigned i)
{
    return i ? "failed" : "ok";
}
static const char *w_http(unsigned i)
{
    return http_words[i];
}

/* ------------------------------------------------------ the families */

enum kind { COUNTER, GAUGE, HISTOGRAM, BUILD_INFO, START_TIME };

struct dim {
    const char *label;
    unsigned n;
    const char *(*word)(unsigned i);
};

struct family {
    const char *name;
    enum kind kind;
    const char *help; /* no quote, backslash or newline (it goes into JSON as is) */
    atomic_uint_fast64_t *cells;
    bool skip_zero; /* many cells, most never used: render the used ones */
    struct hist *hist;
    unsigned ndims;
    struct dim dims[4];
};

#define D(l, n, w)                                                                                 \
    {                                                                                              \
        l, n, w                                                                                    \
    }

static const struct family families[] = {
    {"mtasts_build_info",
     BUILD_INFO,
     "The version of mtasts-milter (always 1).",
     NULL,
     false,
     NULL,
     0,
     {{0}}},
    {"mtasts_start_time_seconds",
     START_TIME,
     "When the process started, Unix seconds.",
     NULL,
     false,
     NULL,
     0,
     {{0}}},
    {"mtasts_rcpt_verdicts_total",
     COUNTER,
     "RCPT verdicts by milter mode, action, what enforce would do, and reason.",
     &m.verdicts[0][0][0][0],
     true,
     NULL,
     4,
     {D("mode", 2, w_mode), D("action", 2, w_action), D("would_fail", 2, w_yesno),
      D("reason", STS_REASON_COUNT, w_reason)}},
    {"mtasts_rcpt_duration_seconds",
     HISTOGRAM,
     "Time to judge one RCPT.",
     NULL,
     false,
     &rcpt_hist,
     0,
     {{0}}},
    {"mtasts_policy_lookups_total",
     COUNTER,
     "Policy lookups by where the answer came from and outcome.",
     &m.lookups[0][0],
     false,
     NULL,
     2,
     {D("source", LOOKUP_SOURCES, w_source), D("outcome", LOOKUP_OUTCOMES, w_outcome)}},
    {"mtasts_policy_fetches_total",
     COUNTER,
     "Policy fetches over HTTPS by result.",
     m.fetches,
     false,
     NULL,
     1,
     {D("result", FETCH_RESULTS, w_fetch)}},
    {"mtasts_policy_fetch_duration_seconds",
     HISTOGRAM,
     "Time of one policy fetch.",
     NULL,
     false,
     &fetch_hist,
     0,
     {{0}}},
    {"mtasts_dns_queries_total",
     COUNTER,
     "DNS queries by type and result.",
     &m.dns[0][0],
     false,
     NULL,
     2,
     {D("type", DNS_TYPES, w_dns_type), D("result", DNS_RESULTS, w_dns_result)}},
    {"mtasts_probes_total",
     COUNTER,
     "STARTTLS probes of MX hosts by result and DANE.",
     &m.probes[0][0],
     false,
     NULL,
     2,
     {D("result", STS_TLS_RESULT_COUNT, w_tls), D("dane", 2, w_yesno)}},
    {"mtasts_probe_duration_seconds",
     HISTOGRAM,
     "Time of one STARTTLS probe.",
     NULL,
     false,
     &probe_hist,
     0,
     {{0}}},
    {"mtasts_socketmap_requests_total",
     COUNTER,
     "Socketmap answers by kind.",
     m.socketmap,
     false,
     NULL,
     1,
     {D("answer", MAP_ANSWERS, w_answer)}},
    {"mtasts_socketmap_duration_seconds",
     HISTOGRAM,
     "Time to answer one socketmap request.",
     NULL,
     false,
     &map_hist,
     0,
     {{0}}},
    {"mtasts_store_ops_total",
     COUNTER,
     "Store operations by operation and result.",
     &m.store[0][0],
     false,
     NULL,
     2,
     {D("op", STS_METRICS_STORE_OP_COUNT, w_store_op), D("result", STORE_RESULTS, w_store_result)}},
    {"mtasts_front_entries",
     GAUGE,
     "Entries in the in-memory fronts.",
     &m.front_entries[1],
     false,
     NULL,
     1,
     {D("cache", STS_METRICS_FRONT_COUNT - 1, w_front)}},
    {"mtasts_front_evictions_total",
     COUNTER,
     "Idle entries freed to make room in a front.",
     &m.front_evictions[1],
     false,
     NULL,
     1,
     {D("cache", STS_METRICS_FRONT_COUNT - 1, w_front)}},
    {"mtasts_config_reloads_total",
     COUNTER,
     "Configuration reloads by result.",
     m.reloads,
     false,
     NULL,
     1,
     {D("result", 2, w_reload)}},
    {"mtasts_metrics_requests_total",
     COUNTER,
     "Connections to the metrics responder by result.",
     m.http,
     false,
     NULL,
     1,
     {D("result", STS_METRICS_HTTP_RESULT_COUNT, w_http)}},
};

/* ------------------------------------------------------ rendering */

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
    for (int round = 0; round < 2 && !b->oom; round++) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n;
        char *p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

static uint_fast64_t load(const atomic_uint_fast64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static size_t family_cells(const struct family *f)
{
    size_t n = 1;
    for (unsigned d = 0; d < f->ndims; d++)
        n *= f->dims[d].n;
    return n;
}

/* The labels of cell i, {a="x",b="y"} in text, {"a":"x",...} in JSON. */
static void put_labels(struct buf *b, const struct family *f, size_t i, bool json)
{
    unsigned idx[4];
    for (unsigned d = f->ndims; d-- > 0;) {
        idx[d] = (unsigned)(i % f->dims[d].n);
        i /= f->dims[d].n;
    }
    put(b, "%s", json ? "{" : (f->ndims ? "{" : ""));
    for (unsigned d = 0; d < f->ndims; d++)
        put(b, json ? "%s\"%s\":\"%s\"" : "%s%s=\"%s\"", d ? "," : "", f->dims[d].label,
            f->dims[d].word(idx[d]));
    put(b, "%s", json ? "}" : (f->ndims ? "}" : ""));
}

static void render_hist_text(struct buf *b, const struct family *f)
{
    const struct hist *h = f->hist;
    uint_fast64_t cum = 0;
    for (unsigned i = 0; i <= h->n; i++) {
        cum += load(&h->cell[i]);
        if (i < h->n)
            put(b, "%s_bucket{le=\"%g\"} %llu\n", f->name, h->le[i], (unsigned long long)cum);
        else
            put(b, "%s_bucket{le=\"+Inf\"} %llu\n", f->name, (unsigned long long)cum);
    }
    put(b, "%s_sum %.9f\n%s_count %llu\n", f->name, (double)load(h->sum_ns) / 1e9, f->name,
        (unsigned long long)cum);
}

static void render_hist_json(struct buf *b, const struct family *f)
{
    const struct hist *h = f->hist;
    uint_fast64_t cum = 0;
    put(b, "{\"labels\":{},\"buckets\":[");
    for (unsigned i = 0; i <= h->n; i++) {
        cum += load(&h->cell[i]);
        if (i < h->n)
            put(b, "%s[\"%g\",%llu]", i ? "," : "", h->le[i], (unsigned long long)cum);
        else
            put(b, ",[\"+Inf\",%llu]", (unsigned long long)cum);
    }
    put(b, "],\"sum\":%.9f,\"count\":%llu}", (double)load(h->sum_ns) / 1e9,
        (unsigned long long)cum);
}

static const char *type_word(enum kind k)
{
    return k == COUNTER ? "counter" : k == HISTOGRAM ? "histogram" : "gauge";
}

static void render_family(struct buf *b, const struct family *f, bool json)
{
    if (json)
        put(b, "\"%s\":{\"type\":\"%s\",\"help\":\"%s\",\"samples\":[", f->name, type_word(f->kind),
            f->help);
    else
        put(b, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name, type_word(f->kind));
    switch (f->kind) {
    case BUILD_INFO:
        if (json)
            put(b, "{\"labels\":{\"version\":\"%s\"},\"value\":1}", PACKAGE_VERSION);
        else
            put(b, "%s{version=\"%s\"} 1\n", f->name, PACKAGE_VERSION);
        break;
    case START_TIME:
        if (json)
            put(b, "{\"labels\":{},\"value\":%llu}", (unsigned long long)load(&m.start_time));
        else
            put(b, "%s %llu\n", f->name, (unsigned long long)load(&m.start_time));
        break;
    case HISTOGRAM:
        if (json)
            render_hist_json(b, f);
        else
            render_hist_text(b, f);
        break;
    case COUNTER:
    case GAUGE: {
        size_t n = family_cells(f);
        bool first = true;
        for (size_t i = 0; i < n; i++) {
            uint_fast64_t v = load(&f->cells[i]);
            if (f->skip_zero && v == 0)
                continue;
            long long shown = f->kind == GAUGE ? (long long)(int_fast64_t)v : (long long)v;
            if (json) {
                put(b, "%s{\"labels\":", first ? "" : ",");
                put_labels(b, f, i, true);
                put(b, ",\"value\":%lld}", shown);
            } else {
                put(b, "%s", f->name);
                put_labels(b, f, i, false);
                put(b, " %lld\n", shown);
            }
            first = false;
        }
        break;
    }
    }
    if (json)
        put(b, "]}");
}

char *sts_metrics_render(enum sts_metrics_format fmt, size_t *len)
{
    struct buf b = {malloc(16384), 0, 16384, false};
    if (b.p == NULL)
        return NULL;
    b.p[0] = '\0';
    bool json = fmt == STS_METRICS_JSON;
    if (json)
        put(&b, "{");
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        if (json && i > 0)
            put(&b, ",");
        render_family(&b, &families[i], json);
    }
    if (json)
        put(&b, "}\n");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    if (len != NULL)
        *len = b.len;
    return b.p;
}
