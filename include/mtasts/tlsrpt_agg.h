/*
 * tlsrpt_agg.h - TLS-RPT results counted in memory (RFC 8460 §4), per UTC
 * day, policy and failure detail, until the engine flushes them to the
 * store (store.h, sts_store_tlsrpt_add).
 *
 * A result is one session: a STARTTLS probe of an MX host under the
 * policy it checked, or a transaction whose policy discovery failed.  It
 * adds one to its policy's success or failure count and, when it failed,
 * one to the failed-session-count of its failure-detail row.  Rows are
 * keyed by
 *   policy row : (day, policy-type, policy-domain, policy strings, mx-host)
 *   detail row : the policy row's key + (result-type, sending-mta-ip,
 *                receiving-mx-hostname, receiving-mx-helo, receiving-ip,
 *                additional-information, failure-reason-code)
 * so that equal sessions merge and the report is assembled from rows
 * without knowing where they came from.
 *
 * Bounds: at most max_rows rows are held (all kinds, between two drains).
 * A session whose detail row would not fit still counts in its policy
 * row; one whose policy row does not fit is dropped and counted in
 * sts_tlsrpt_agg_dropped(): a full aggregation loses counts, never mail.
 * Text fields longer than STS_TLSRPT_TEXT_MAX are cut.
 *
 * Locking protocol: sts_tlsrpt_agg_add() may be called from any thread at
 * once; it takes one of STS_TLSRPT_AGG_SHARDS shard mutexes (chosen by the
 * policy key), held for a hash probe and a counter update, never across
 * I/O, and allocates only for a row seen the first time.
 * sts_tlsrpt_agg_drain() takes each shard mutex in turn, only to swap its
 * table out.  No other lock is taken inside.
 *
 * Ownership: the aggregation copies what it is given.  A drained batch
 * owns its rows (sts_tlsrpt_batch_clear()).  Pure: no I/O, no clock (the
 * caller passes the session's time).
 */
#ifndef MTASTS_TLSRPT_AGG_H
#define MTASTS_TLSRPT_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/status.h"
#include "mtasts/tlsrpt_report.h"

#define STS_TLSRPT_AGG_SHARDS 16
#define STS_TLSRPT_AGG_MAX_ROWS 100000 /* default of max_rows */

/** One session to count; NULL or "" text fields are unknown. */
struct sts_tlsrpt_session {
    int64_t when; /* Unix seconds: picks the UTC day */
    enum sts_tlsrpt_policy_type type;
    const char *policy_domain;  /* required, A-label, lower case */
    const char *policy_strings; /* the policy's lines joined by '\n' (sts:
                                   as served; tlsa: "u s m hex" lines) */
    const char *mx_hosts;       /* sts only: the mx patterns joined by '\n' */
    bool success;
    unsigned flags; /* STS_TLSRPT_SESSION_*: how a failure counts */
    /* failure detail, read only when !success */
    enum sts_tlsrpt_result result;
    const char *sending_mta_ip;
    const char *receiving_mx_hostname;
    const char *receiving_mx_helo;
    const char *receiving_ip;
    const char *additional_information;
    const char *failure_reason_code;
};

/*
 * A failed session counts once in its policy row and once in its detail
 * row.  A session with several failure details (a Postfix datagram) passes
 * the first as usual and each further one with DETAIL_ONLY (its detail
 * row only); one without any detail passes NO_DETAIL (its policy row only).
 */
#define STS_TLSRPT_SESSION_DETAIL_ONLY 0x1u
#define STS_TLSRPT_SESSION_NO_DETAIL 0x2u

/** One aggregated row; every string is owned, "" when unknown. */
struct sts_tlsrpt_row {
    char day[STS_TLSRPT_DAY_LEN + 1]; /* "YYYY-MM-DD" (UTC) */
    enum sts_tlsrpt_policy_type type;
    char *policy_domain;
    char *policy_strings; /* '\n'-joined */
    char *mx_hosts;       /* '\n'-joined */
    bool detail;          /* false: a policy row (ok, fail); true: a detail row (count) */
    uint64_t ok, fail;    /* policy row */
    enum sts_tlsrpt_result result;
    char *sending_mta_ip;
    char *receiving_mx_hostname;
    char *receiving_mx_helo;
    char *receiving_ip;
    char *additional_information;
    char *failure_reason_code;
    uint64_t count; /* detail row: failed-session-count */
};

/** Rows taken out of an aggregation (or read from the store). */
struct sts_tlsrpt_batch {
    struct sts_tlsrpt_row *rows;
    size_t count, cap;
};

struct sts_tlsrpt_agg;

/**
 * @param max_rows rows held at most between drains, 0 = STS_TLSRPT_AGG_MAX_ROWS
 * @return a new aggregation, or NULL when out of memory
 */
struct sts_tlsrpt_agg *sts_tlsrpt_agg_new(size_t max_rows);

/** Free, with whatever was not drained; NULL is a no-op. */
void sts_tlsrpt_agg_free(struct sts_tlsrpt_agg *agg);

/**
 * Count one session.  Thread-safe.
 * @return STS_OK; STS_EINVAL (no policy domain, a time before 1970 or past
 *         9999, a type or result out of range: nothing counted);
 *         STS_ETOOBIG (the row cap: dropped, or counted without its detail
 *         row); STS_ENOMEM
 */
enum sts_status sts_tlsrpt_agg_add(struct sts_tlsrpt_agg *agg, const struct sts_tlsrpt_session *s);

/**
 * Move every row into out (appended; the aggregation is empty afterwards).
 * Policy rows come before their detail rows within a shard.
 * @return STS_OK or STS_ENOMEM (then the rows not moved stay in agg)
 */
enum sts_status sts_tlsrpt_agg_drain(struct sts_tlsrpt_agg *agg, struct sts_tlsrpt_batch *out);

/** Sessions dropped by the row cap or out of memory since creation. */
uint64_t sts_tlsrpt_agg_dropped(const struct sts_tlsrpt_agg *agg);

/** Rows held now (all shards; a snapshot). */
size_t sts_tlsrpt_agg_rows(const struct sts_tlsrpt_agg *agg);

/**
 * Append a copy of row to b (the store's reader and the tests build
 * batches with it).
 * @return STS_OK or STS_ENOMEM
 */
enum sts_status sts_tlsrpt_batch_add(struct sts_tlsrpt_batch *b, const struct sts_tlsrpt_row *row);

/** Free the rows and zero b; a zeroed b is fine. */
void sts_tlsrpt_batch_clear(struct sts_tlsrpt_batch *b);

/** "YYYY-MM-DD" of a Unix time in UTC; false for a year outside 1970..9999. */
bool sts_tlsrpt_day(int64_t when, char day[STS_TLSRPT_DAY_LEN + 1]);

#endif
