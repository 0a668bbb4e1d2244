/*
 * metrics.h - the process's counters, gauges and histograms, and their
 * rendering as Prometheus text format 0.0.4 and as JSON.
 *
 * The set is fixed: every metric is a static array indexed by products of
 * our own enums (vocab.h, verdict.h, dns.h, policy_map.h and the few
 * below), never by a domain or a host name (those stay in the logs and in
 * `mtasts cache`), so the number of series is bounded at compile time.
 * Names (mtasts_*), labels and help texts are in metrics.c's family table;
 * docs/mtasts-milter.8 lists them.
 *
 * Locking protocol: none.  Every cell is a C11 atomic updated with a
 * relaxed fetch_add (no lock, no allocation, no system call on the hot
 * path); each family's cells start on their own cache line.  A render
 * reads each cell once, so it may see one family a few increments ahead
 * of another, never a torn value.  A histogram keeps one counter per
 * bucket (not cumulative) and a sum in integer nanoseconds; its _count
 * is the sum of its buckets as read, so _count always equals the +Inf
 * bucket.  Counters never reset: not on read, not on reload (unbound's
 * reset-on-read makes two scrapers see different rates).
 *
 * Every sts_metrics_*() recorder may be called from any thread, at any
 * time (also before sts_metrics_init() and in the mtasts tool, where
 * nothing reads them).  An out-of-range enum value is counted nowhere.
 */
#ifndef MTASTS_METRICS_H
#define MTASTS_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/dns.h"
#include "mtasts/policy_map.h"
#include "mtasts/status.h"
#include "mtasts/verdict.h"
#include "mtasts/vocab.h"

/** The in-memory fronts whose entries and evictions are counted. */
enum sts_metrics_front {
    STS_METRICS_FRONT_NONE = 0, /* not counted (tests, tools' private maps) */
    STS_METRICS_FRONT_POLICY,   /* cache.c: policies, "policy" */
    STS_METRICS_FRONT_MX,       /* mx_cache.c: MX answers, "mx" */
    STS_METRICS_FRONT_TLSA,     /* dane.c: TLSA answers, "tlsa" */
    STS_METRICS_FRONT_PROBE,    /* probe_cache.c: MX hosts' TLS, "probe" */
};
#define STS_METRICS_FRONT_COUNT (STS_METRICS_FRONT_PROBE + 1)

/** The store operations counted (store.h's public functions). */
enum sts_metrics_store_op {
    STS_METRICS_STORE_GET = 0,      /* "get" */
    STS_METRICS_STORE_PUT,          /* "put" */
    STS_METRICS_STORE_REFRESH,      /* "refresh" */
    STS_METRICS_STORE_TOUCH,        /* "touch" */
    STS_METRICS_STORE_DELETE,       /* "delete" (one domain or all) */
    STS_METRICS_STORE_LIST,         /* "list" (foreach) */
    STS_METRICS_STORE_NEGATIVE_GET, /* "negative-get" */
    STS_METRICS_STORE_NEGATIVE_PUT, /* "negative-put" */
    STS_METRICS_STORE_BACKOFF_GET,  /* "backoff-get" */
    STS_METRICS_STORE_BACKOFF_PUT,  /* "backoff-put" */
    STS_METRICS_STORE_PROBE_GET,    /* "probe-get" */
    STS_METRICS_STORE_PROBE_PUT,    /* "probe-put" */
    STS_METRICS_STORE_PROBE_TOUCH,  /* "probe-touch" */
    STS_METRICS_STORE_PROBE_DELETE, /* "probe-delete" (one host or all) */
    STS_METRICS_STORE_PROBE_LIST,   /* "probe-list" */
    STS_METRICS_STORE_TLSRPT_ADD,   /* "tlsrpt-add" */
    STS_METRICS_STORE_TLSRPT_LOAD,  /* "tlsrpt-load" */
    STS_METRICS_STORE_TLSRPT_PURGE, /* "tlsrpt-purge" */
};
#define STS_METRICS_STORE_OP_COUNT (STS_METRICS_STORE_TLSRPT_PURGE + 1)

/** How the metrics responder answered one connection (metrics_http.c). */
enum sts_metrics_http_result {
    STS_METRICS_HTTP_OK = 0,      /* "ok": 200 */
    STS_METRICS_HTTP_BAD_REQUEST, /* "bad-request": 400 */
    STS_METRICS_HTTP_NOT_FOUND,   /* "not-found": 404 */
    STS_METRICS_HTTP_BAD_METHOD,  /* "bad-method": 405 */
    STS_METRICS_HTTP_TOO_LARGE,   /* "too-large": 431, request over the cap */
    STS_METRICS_HTTP_TIMEOUT,     /* "timeout": closed at the deadline */
    STS_METRICS_HTTP_ERROR,       /* "error": out of memory, peer gone */
};
#define STS_METRICS_HTTP_RESULT_COUNT (STS_METRICS_HTTP_ERROR + 1)

enum sts_metrics_format {
    STS_METRICS_TEXT = 0, /* Prometheus text format 0.0.4 */
    STS_METRICS_JSON,     /* one object: {"name": {"type", "help", "samples": [...]}} */
};

/** The Content-Type of the text format. */
#define STS_METRICS_TEXT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define STS_METRICS_JSON_TYPE "application/json"

/**
 * Record the start time (mtasts_start_time_seconds) once; the daemon calls
 * it at start-up.  Further calls do nothing.
 */
void sts_metrics_init(void);

/**
 * One RCPT verdict (judge.c) and the time it took.
 * @param mode     the milter's Mode
 * @param action   the verdict's action
 * @param would_fail what an enforcing sender would have done
 * @param reason   the verdict's reason
 * @param seconds  wall time of the judgement
 */
void sts_metrics_rcpt(enum sts_milter_mode mode, enum sts_action action, bool would_fail,
                      enum sts_verdict_reason reason, double seconds);

/** One policy lookup (cache.h) made for a recipient or a socketmap request. */
void sts_metrics_lookup(enum sts_lookup_source source, enum sts_lookup_outcome outcome);

/** One policy fetch over HTTPS (fetch.c) and its wall time. */
void sts_metrics_fetch(enum sts_fetch_result result, double seconds);

/**
 * One DNS query (dns.c).
 * @param type   the type asked
 * @param result its result
 * @param bogus  the answer failed DNSSEC validation (counted as "bogus")
 */
void sts_metrics_dns(enum sts_dns_type type, enum sts_dns_result result, bool bogus);

/** One STARTTLS probe (probe.c), whether TLSA records were given, its wall time. */
void sts_metrics_probe(enum sts_tls_result result, bool dane, double seconds);

/**
 * One socketmap answer (judge.c, sts_judge_map_key()) and its wall time.
 * The answer label is the request's kind when not a lookup ("notfound",
 * "perm"), else DANE's word when DANE governs ("dane-only", "dane"), else
 * the policy lookup's outcome ("policy", "no-policy", "tempfail",
 * "pending", "error").
 */
void sts_metrics_socketmap(enum sts_policy_map_key kind, enum sts_dane_summary dane,
                           enum sts_lookup_outcome outcome, double seconds);

/**
 * One store operation and its status: STS_OK is "ok", STS_ENOTFOUND
 * "notfound", anything else "error".
 */
void sts_metrics_store(enum sts_metrics_store_op op, enum sts_status status);

/** A front gained (delta 1) or lost (-1) an entry. */
void sts_metrics_front_add(enum sts_metrics_front front, int delta);

/** A front freed an idle entry to make room (counted apart from the removal). */
void sts_metrics_front_evicted(enum sts_metrics_front front);

/** One configuration reload, loaded (ok) or refused (the old one kept). */
void sts_metrics_reload(bool ok);

/** One connection to the metrics responder, as answered. */
void sts_metrics_http(enum sts_metrics_http_result result);

/**
 * Render every metric.
 * @param fmt  the format
 * @param len  receives the length (without the NUL)
 * @return a NUL-terminated text the caller frees; NULL when out of memory
 */
char *sts_metrics_render(enum sts_metrics_format fmt, size_t *len);

/** The label word of a store operation ("get", ...), "unknown" out of range. */
const char *sts_metrics_store_op_name(enum sts_metrics_store_op op);

/** The label word of a front ("policy", ...; "none"). */
const char *sts_metrics_front_name(enum sts_metrics_front front);

/** The label word of an HTTP result ("ok", ...). */
const char *sts_metrics_http_result_name(enum sts_metrics_http_result r);

#endif
