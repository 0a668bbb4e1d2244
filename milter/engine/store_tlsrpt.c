/*
 * store_tlsrpt.c - the TLS-RPT result rows of the store (store.h): what
 * the aggregation (tlsrpt_agg.h) counted, per UTC day, policy and failure
 * detail, until `mtasts report` builds and sends the day's reports.
 *
 * A file of the store module beside store_probe.c: it borrows connections
 * from store.c's pool (store_int.h) and prepares its statements per call
 * (a flush every few seconds, a report run a day: never per recipient).
 * A flush is one BEGIN IMMEDIATE transaction, so the writer lock is taken
 * before anything is read and the connection's busy_timeout covers every
 * wait; counts are added with UPSERT (ok = ok + excluded.ok), so batches
 * from several flushes, or several processes, add up.
 *
 * Locking: none of its own; see store.h.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/metrics.h"
#include "mtasts/store.h"
#include "store_int.h"

#define POLICY_KEY "day, policy_domain, ptype, strings, mx_hosts"
#define DETAIL_FIELDS                                                                              \
    "result, sending_ip, mx_host, mx_helo, receiving_ip, additional_info, reason_code"

static const char sql_policy_add[] =
    "INSERT INTO tlsrpt_policy (" POLICY_KEY ", ok, fail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    " ON CONFLICT (" POLICY_KEY ") DO UPDATE SET ok = ok + excluded.ok,"
    " fail = fail + excluded.fail";
/* a new detail row only while the (day, domain) has fewer than ?13 */
static const char sql_detail_add[] =
    "INSERT INTO tlsrpt_failure (" POLICY_KEY ", " DETAIL_FIELDS ", count)"
    " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?14"
    " WHERE (SELECT count(*) FROM tlsrpt_failure WHERE day = ?1 AND policy_domain = ?2) < ?13"
    " OR EXISTS (SELECT 1 FROM tlsrpt_failure WHERE day = ?1 AND policy_domain = ?2"
    " AND ptype = ?3 AND strings = ?4 AND mx_hosts = ?5 AND result = ?6 AND sending_ip = ?7"
    " AND mx_host = ?8 AND mx_helo = ?9 AND receiving_ip = ?10 AND additional_info = ?11"
    " AND reason_code = ?12)"
    " ON CONFLICT (" POLICY_KEY ", " DETAIL_FIELDS ") DO UPDATE SET count = count + excluded.count";
static const char sql_policy_load[] = "SELECT " POLICY_KEY ", ok, fail FROM tlsrpt_policy"
                                      " WHERE (?1 IS NULL OR day = ?1)"
                                      " AND (?2 IS NULL OR policy_domain = ?2)"
                                      " ORDER BY day, policy_domain";
static const char sql_detail_load[] = "SELECT " POLICY_KEY ", " DETAIL_FIELDS ", count"
                                      " FROM tlsrpt_failure WHERE (?1 IS NULL OR day = ?1)"
                                      " AND (?2 IS NULL OR policy_domain = ?2)"
                                      " ORDER BY day, policy_domain";
static const char *const sql_purge[] = {"DELETE FROM tlsrpt_policy WHERE day < ?1",
                                        "DELETE FROM tlsrpt_failure WHERE day < ?1"};

static enum sts_status tlsrpt_fail(sqlite3 *db, const char *what, char *err, size_t errlen)
{
    int rc = sqlite3_errcode(db);
    return sts_status_set((rc & 0xff) == SQLITE_NOMEM ? STS_ENOMEM : STS_EIO, err, errlen,
                          "store %s: %s", what, sqlite3_errmsg(db));
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    sqlite3_bind_text(st, i, s ? s : "", -1, SQLITE_STATIC);
}

static void bind_policy_key(sqlite3_stmt *st, const struct sts_tlsrpt_row *r)
{
    bind_text(st, 1, r->day);
    bind_text(st, 2, r->policy_domain);
    bind_text(st, 3, sts_tlsrpt_policy_type_name(r->type));
    bind_text(st, 4, r->policy_strings);
    bind_text(st, 5, r->mx_hosts);
}

/* Run a statement that returns no row; false on an error. */
static bool step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE;
}

static bool exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

enum sts_status sts_store_tlsrpt_add(struct sts_store *store, const struct sts_tlsrpt_batch *b,
                                     size_t max_details, size_t *skipped, char *err, size_t errlen)
{
    if (skipped != NULL)
        *skipped = 0;
    if (store == NULL || b == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "store tlsrpt-add: no store");
    if (b->count == 0)
        return STS_OK;
    struct store_conn *conn;
    sqlite3 *db;
    enum sts_status status = sts_store_conn_borrow(store, &conn, &db, err, errlen);
    if (status != STS_OK)
        return status;
    sqlite3_stmt *pol = NULL, *det = NULL;
    if (sqlite3_prepare_v2(db, sql_policy_add, -1, &pol, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql_detail_add, -1, &det, NULL) != SQLITE_OK ||
        !exec(db, "BEGIN IMMEDIATE")) {
        status = tlsrpt_fail(db, "tlsrpt-add", err, errlen);
        goto out;
    }
    for (size_t i = 0; i < b->count; i++) {
        const struct sts_tlsrpt_row *r = &b->rows[i];
        sqlite3_stmt *st = r->detail ? det : pol;
        bind_policy_key(st, r);
        if (r->detail) {
            bind_text(st, 6, sts_tlsrpt_result_name(r->result));
            bind_text(st, 7, r->sending_mta_ip);
            bind_text(st, 8, r->receiving_mx_hostname);
            bind_text(st, 9, r->receiving_mx_helo);
            bind_text(st, 10, r->receiving_ip);
            bind_text(st, 11, r->additional_information);
            bind_text(st, 12, r->failure_reason_code);
            sqlite3_bind_int64(st, 13, (sqlite3_int64)(max_details ? max_details : 1000));
            sqlite3_bind_int64(st, 14, (sqlite3_int64)r->count);
        } else {
            sqlite3_bind_int64(st, 6, (sqlite3_int64)r->ok);
            sqlite3_bind_int64(st, 7, (sqlite3_int64)r->fail);
        }
        if (!step_done(st)) {
            status = tlsrpt_fail(db, "tlsrpt-add", err, errlen);
            exec(db, "ROLLBACK");
            goto out;
        }
        if (r->detail && sqlite3_changes(db) == 0 && skipped != NULL)
            (*skipped)++; /* over the cap: counted in the policy row only */
    }
    if (!exec(db, "COMMIT")) {
        status = tlsrpt_fail(db, "tlsrpt-add commit", err, errlen);
        exec(db, "ROLLBACK");
    }
out:
    sqlite3_finalize(pol);
    sqlite3_finalize(det);
    sts_store_conn_return(store, conn);
    sts_metrics_store(STS_METRICS_STORE_TLSRPT_ADD, status);
    return status;
}

static const char *col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

/* The row of the current result (columns of POLICY_KEY first). */
static bool read_row(sqlite3_stmt *st, bool detail, struct sts_tlsrpt_row *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->day, sizeof(r->day), "%s", col(st, 0));
    r->policy_domain = (char *)col(st, 1);
    const char *type = col(st, 2);
    if (strcmp(type, "sts") == 0)
        r->type = STS_TLSRPT_POLICY_STS;
    else if (strcmp(type, "tlsa") == 0)
        r->type = STS_TLSRPT_POLICY_TLSA;
    else if (strcmp(type, "no-policy-found") == 0)
        r->type = STS_TLSRPT_POLICY_NO_POLICY;
    else
        return false;
    r->policy_strings = (char *)col(st, 3);
    r->mx_hosts = (char *)col(st, 4);
    r->detail = detail;
    if (!detail) {
        r->ok = (uint64_t)sqlite3_column_int64(st, 5);
        r->fail = (uint64_t)sqlite3_column_int64(st, 6);
        return true;
    }
    if (!sts_tlsrpt_result_parse(col(st, 5), &r->result))
        return false;
    r->sending_mta_ip = (char *)col(st, 6);
    r->receiving_mx_hostname = (char *)col(st, 7);
    r->receiving_mx_helo = (char *)col(st, 8);
    r->receiving_ip = (char *)col(st, 9);
    r->additional_information = (char *)col(st, 10);
    r->failure_reason_code = (char *)col(st, 11);
    r->count = (uint64_t)sqlite3_column_int64(st, 12);
    return true;
}

enum sts_status sts_store_tlsrpt_load(struct sts_store *store, const char *day, const char *domain,
                                      struct sts_tlsrpt_batch *out, size_t *bad, char *err,
                                      size_t errlen)
{
    if (bad != NULL)
        *bad = 0;
    if (store == NULL || out == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "store tlsrpt-load: no store");
    struct store_conn *conn;
    sqlite3 *db;
    enum sts_status status = sts_store_conn_borrow(store, &conn, &db, err, errlen);
    if (status != STS_OK)
        return status;
    const char *const sql[2] = {sql_policy_load, sql_detail_load};
    for (int k = 0; k < 2 && status == STS_OK; k++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql[k], -1, &st, NULL) != SQLITE_OK) {
            status = tlsrpt_fail(db, "tlsrpt-load", err, errlen);
            break;
        }
        if (day != NULL)
            bind_text(st, 1, day);
        if (domain != NULL)
            bind_text(st, 2, domain);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            struct sts_tlsrpt_row r;
            if (!read_row(st, k == 1, &r)) {
                if (bad != NULL)
                    (*bad)++; /* a row this build cannot read: skipped, never fatal */
                continue;
            }
            if (sts_tlsrpt_batch_add(out, &r) != STS_OK) {
                status =
                    sts_status_set(STS_ENOMEM, err, errlen, "store tlsrpt-load: out of memory");
                break;
            }
        }
        if (status == STS_OK && rc != SQLITE_DONE)
            status = tlsrpt_fail(db, "tlsrpt-load", err, errlen);
        sqlite3_finalize(st);
    }
    sts_store_conn_return(store, conn);
    sts_metrics_store(STS_METRICS_STORE_TLSRPT_LOAD, status);
    return status;
}

enum sts_status sts_store_tlsrpt_purge(struct sts_store *store, const char *before_day,
                                       size_t *count, char *err, size_t errlen)
{
    if (count != NULL)
        *count = 0;
    if (store == NULL || before_day == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "store tlsrpt-purge: no store or day");
    struct store_conn *conn;
    sqlite3 *db;
    enum sts_status status = sts_store_conn_borrow(store, &conn, &db, err, errlen);
    if (status != STS_OK)
        return status;
    for (int k = 0; k < 2 && status == STS_OK; k++) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql_purge[k], -1, &st, NULL) != SQLITE_OK) {
            status = tlsrpt_fail(db, "tlsrpt-purge", err, errlen);
            break;
        }
        bind_text(st, 1, before_day);
        if (!step_done(st))
            status = tlsrpt_fail(db, "tlsrpt-purge", err, errlen);
        else if (count != NULL)
            *count += (size_t)sqlite3_changes(db);
        sqlite3_finalize(st);
    }
    sts_store_conn_return(store, conn);
    sts_metrics_store(STS_METRICS_STORE_TLSRPT_PURGE, status);
    return status;
}
