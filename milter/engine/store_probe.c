/*
 * store_probe.c - the probe rows of the store (store.h): the last STARTTLS
 * verdict per MX host, kept across restarts so that a fresh milter does
 * not re-probe every MX it already knows.
 *
 * A file of the store module: it borrows connections from
 * store.c's pool (store_int.h) and, unlike store_policy.c, prepares its
 * statements per call: these functions run on the probe cache's workers,
 * its refresher and the CLI, never once per recipient (the probe cache's
 * memory front answers those), so a few microseconds of sqlite3_prepare
 * buy not having to extend the per-connection statement set.
 *
 * Locking: none of its own; see store.h.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtasts/metrics.h"
#include "mtasts/store.h"
#include "store_int.h"

#define PROBE_BUSY_MS 5000 /* as store.c: then "database is locked" */
#define PROBE_BATCH 64     /* rows read per borrowed connection in foreach */
#define PROBE_PORT_MAX 65535

#define PROBE_COLUMNS                                                                              \
    "host, port, mx_secure, result, dane, detail, addr, tls_version, cipher, checked_at,"          \
    " expires_at, last_used"

static const char sql_get[] = "SELECT " PROBE_COLUMNS " FROM probes"
                              " WHERE host = ?1 AND port = ?2 AND mx_secure = ?3";
static const char sql_put[] =
    "INSERT INTO probes (" PROBE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
    " ?12) ON CONFLICT (host, port, mx_secure) DO UPDATE SET result = excluded.result,"
    " dane = excluded.dane, detail = excluded.detail, addr = excluded.addr,"
    " tls_version = excluded.tls_version, cipher = excluded.cipher,"
    " checked_at = excluded.checked_at, expires_at = excluded.expires_at,"
    " last_used = max(last_used, excluded.last_used)";
static const char sql_touch[] = "UPDATE probes SET last_used = max(last_used, ?4)"
                                " WHERE host = ?1 AND port = ?2 AND mx_secure = ?3";
static const char sql_delete[] = "DELETE FROM probes WHERE host = ?1";
static const char sql_delete_all[] = "DELETE FROM probes";
static const char sql_list[] = "SELECT " PROBE_COLUMNS " FROM probes"
                               " WHERE (host, port, mx_secure) > (?1, ?2, ?3)"
                               " ORDER BY host, port, mx_secure LIMIT ?4";

/* One operation: a borrowed connection, one statement, where errors go. */
struct probe_op {
    struct sts_store *store;
    struct store_conn *conn;
    sqlite3 *db;
    sqlite3_stmt *st;
    const char *what; /* "probe-get", ... */
    const char *host; /* for messages; may be "" */
    char *err;
    size_t errlen;
};

static enum sts_status probe_status(int rc)
{
    return (rc & 0xff) == SQLITE_NOMEM ? STS_ENOMEM : STS_EIO;
}

static enum sts_status probe_fail(const struct probe_op *op, int rc)
{
    const char *why = op->db != NULL ? sqlite3_errmsg(op->db) : sqlite3_errstr(rc);
    return sts_status_set(probe_status(rc), op->err, op->errlen, "store %s%s%s: %s", op->what,
                          op->host[0] != '\0' ? " " : "", op->host, why);
}

static int64_t probe_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The first step of the statement, retried on the SQLITE_BUSY cases the
 * busy handler does not cover (store.c does the same), until PROBE_BUSY_MS.
 */
static int probe_step_first(sqlite3_stmt *st)
{
    int64_t deadline = probe_now_ms() + PROBE_BUSY_MS;
    long nap_ms = 1;
    int rc;

    while ((rc = sqlite3_step(st)) != SQLITE_ROW && (rc & 0xff) == SQLITE_BUSY &&
           probe_now_ms() < deadline) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = nap_ms * 1000000L};
        sqlite3_reset(st);
        nanosleep(&ts, NULL);
        nap_ms = nap_ms < 64 ? nap_ms * 2 : 64;
    }
    return rc;
}

/* Check the key (host unless NULL, port unless 0), borrow, prepare sql. */
static enum sts_status probe_op_begin(struct probe_op *op, struct sts_store *store,
                                      const char *what, const char *host, unsigned port,
                                      const char *sql, char *err, size_t errlen)
{
    enum sts_status status;
    int rc;

    *op = (struct probe_op){.store = store, .what = what, .host = "", .err = err, .errlen = errlen};
    if (host != NULL) {
        size_t len = strnlen(host, STS_DOMAIN_MAX + 1);
        if (len == 0 || len > STS_DOMAIN_MAX)
            return sts_status_set(STS_EINVAL, err, errlen, "store %s: host must be 1 to %d bytes",
                                  what, STS_DOMAIN_MAX);
        op->host = host;
    }
    if (port > PROBE_PORT_MAX)
        return sts_status_set(STS_EINVAL, err, errlen, "store %s %s: port %u out of range", what,
                              op->host, port);
    if (store == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "store %s: no store", what);
    status = sts_store_conn_borrow(store, &op->conn, &op->db, err, errlen);
    if (status != STS_OK)
        return status;
    rc = sqlite3_prepare_v2(op->db, sql, -1, &op->st, NULL);
    if (rc != SQLITE_OK) {
        status = probe_fail(op, rc);
        sts_store_conn_return(store, op->conn);
        op->conn = NULL;
    }
    return status;
}

static void probe_op_end(struct probe_op *op)
{
    sqlite3_finalize(op->st);
    op->st = NULL;
    if (op->conn != NULL)
        sts_store_conn_return(op->store, op->conn);
    op->conn = NULL;
}

/* Bind "?1 host, ?2 port, ?3 mx_secure" (the key). */
static int probe_bind_key(sqlite3_stmt *st, const char *host, unsigned port, bool mx_secure)
{
    int rc = sqlite3_bind_text(st, 1, host, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(st, 2, (sqlite3_int64)port);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(st, 3, mx_secure ? 1 : 0);
    return rc;
}

/* Copy a text column, truncated to fit (rows the store wrote always fit). */
static void probe_column(sqlite3_stmt *st, int col, char *buf, size_t cap)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    size_t len =
        text != NULL ? strnlen((const char *)text, (size_t)sqlite3_column_bytes(st, col)) : 0;

    if (len >= cap)
        len = cap - 1;
    if (len > 0)
        memcpy(buf, text, len);
    buf[len] = '\0';
}

/*
 * A row as read; false when its result word is none we know (a newer
 * build's, or damage): the row then counts as absent.
 */
static bool row_to_probe(sqlite3_stmt *st, struct sts_store_probe *r)
{
    char word[32];
    memset(r, 0, sizeof(*r));
    probe_column(st, 0, r->host, sizeof(r->host));
    r->port = (unsigned)sqlite3_column_int64(st, 1);
    r->mx_secure = sqlite3_column_int(st, 2) != 0;
    probe_column(st, 3, word, sizeof(word));
    r->tls.known = true;
    r->tls.dane = sqlite3_column_int(st, 4) != 0;
    probe_column(st, 5, r->tls.detail, sizeof(r->tls.detail));
    probe_column(st, 6, r->tls.addr, sizeof(r->tls.addr));
    probe_column(st, 7, r->tls.tls_version, sizeof(r->tls.tls_version));
    probe_column(st, 8, r->tls.cipher, sizeof(r->tls.cipher));
    r->tls.checked_at = sqlite3_column_int64(st, 9);
    r->tls.expires_at = sqlite3_column_int64(st, 10);
    r->last_used = sqlite3_column_int64(st, 11);
    return sts_tls_result_parse(word, &r->tls.result);
}

enum sts_status sts_store_probe_get(struct sts_store *store, const char *host, unsigned port,
                                    bool mx_secure, struct sts_store_probe *out, char *err,
                                    size_t errlen)
{
    struct probe_op op;
    enum sts_status status;
    int rc;

    memset(out, 0, sizeof(*out));
    if (port == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "store probe-get: port 0");
    status = probe_op_begin(&op, store, "probe-get", host, port, sql_get, err, errlen);
    if (status != STS_OK)
        return status;
    rc = probe_bind_key(op.st, host, port, mx_secure);
    if (rc == SQLITE_OK)
        rc = probe_step_first(op.st);
    if (rc == SQLITE_ROW) {
        if (!row_to_probe(op.st, out))
            status = sts_status_set(STS_ENOTFOUND, err, errlen,
                                    "store probe-get %s: unknown result word, row ignored", host);
    } else if (rc == SQLITE_DONE)
        status = sts_status_set(STS_ENOTFOUND, err, errlen, "store probe-get %s: not found", host);
    else
        status = probe_fail(&op, rc);
    probe_op_end(&op);
    sts_metrics_store(STS_METRICS_STORE_PROBE_GET, status);
    return status;
}

/* A text field as stored: up to its NUL or the end of its array. */
static int probe_bind_text(sqlite3_stmt *st, int col, const char *s, size_t cap)
{
    return sqlite3_bind_text(st, col, s, (int)strnlen(s, cap), SQLITE_STATIC);
}

enum sts_status sts_store_probe_put(struct sts_store *store, const struct sts_store_probe *row,
                                    char *err, size_t errlen)
{
    struct probe_op op;
    enum sts_status status;
    const struct sts_tls_verdict *v = &row->tls;
    int rc;

    if (row->port == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "store probe-put: port 0");
    if ((unsigned)v->result >= STS_TLS_RESULT_COUNT)
        return sts_status_set(STS_EINVAL, err, errlen, "store probe-put: unknown result %d",
                              (int)v->result);
    if (strnlen(row->host, sizeof(row->host)) == sizeof(row->host))
        return sts_status_set(STS_EINVAL, err, errlen, "store probe-put: host too long");
    status = probe_op_begin(&op, store, "probe-put", row->host, row->port, sql_put, err, errlen);
    if (status != STS_OK)
        return status;
    rc = probe_bind_key(op.st, row->host, row->port, row->mx_secure);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(op.st, 4, sts_tls_result_name(v->result), -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(op.st, 5, v->dane ? 1 : 0);
    if (rc == SQLITE_OK)
        rc = probe_bind_text(op.st, 6, v->detail, sizeof(v->detail));
    if (rc == SQLITE_OK)
        rc = probe_bind_text(op.st, 7, v->addr, sizeof(v->addr));
    if (rc == SQLITE_OK)
        rc = probe_bind_text(op.st, 8, v->tls_version, sizeof(v->tls_version));
    if (rc == SQLITE_OK)
        rc = probe_bind_text(op.st, 9, v->cipher, sizeof(v->cipher));
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(op.st, 10, v->checked_at);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(op.st, 11, v->expires_at);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(op.st, 12, row->last_used);
    if (rc == SQLITE_OK)
        rc = probe_step_first(op.st);
    if (rc != SQLITE_DONE)
        status = probe_fail(&op, rc);
    probe_op_end(&op);
    sts_metrics_store(STS_METRICS_STORE_PROBE_PUT, status);
    return status;
}

enum sts_status sts_store_probe_touch(struct sts_store *store, const char *host, unsigned port,
                                      bool mx_secure, int64_t now, char *err, size_t errlen)
{
    struct probe_op op;
    enum sts_status status;
    int rc;

    if (port == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "store probe-touch: port 0");
    status = probe_op_begin(&op, store, "probe-touch", host, port, sql_touch, err, errlen);
    if (status != STS_OK)
        return status;
    rc = probe_bind_key(op.st, host, port, mx_secure);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(op.st, 4, now);
    if (rc == SQLITE_OK)
        rc = probe_step_first(op.st);
    if (rc != SQLITE_DONE)
        status = probe_fail(&op, rc);
    else if (sqlite3_changes(op.db) == 0)
        status =
            sts_status_set(STS_ENOTFOUND, err, errlen, "store probe-touch %s: not found", host);
    probe_op_end(&op);
    sts_metrics_store(STS_METRICS_STORE_PROBE_TOUCH, status);
    return status;
}

/* Run a DELETE (bound to host unless NULL); *count receives the rows removed. */
static enum sts_status probe_delete(struct sts_store *store, const char *what, const char *host,
                                    const char *sql, size_t *count, char *err, size_t errlen)
{
    struct probe_op op;
    enum sts_status status;
    int rc = SQLITE_OK;

    if (count != NULL)
        *count = 0;
    status = probe_op_begin(&op, store, what, host, 0, sql, err, errlen);
    if (status != STS_OK)
        return status;
    if (host != NULL)
        rc = sqlite3_bind_text(op.st, 1, host, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = probe_step_first(op.st);
    if (rc != SQLITE_DONE)
        status = probe_fail(&op, rc);
    else if (count != NULL)
        *count = (size_t)sqlite3_changes(op.db);
    probe_op_end(&op);
    sts_metrics_store(STS_METRICS_STORE_PROBE_DELETE, status);
    return status;
}

enum sts_status sts_store_probe_delete(struct sts_store *store, const char *host, size_t *count,
                                       char *err, size_t errlen)
{
    size_t n = 0;
    enum sts_status status = probe_delete(store, "probe-delete", host, sql_delete, &n, err, errlen);

    if (count != NULL)
        *count = n;
    if (status == STS_OK && n == 0)
        status =
            sts_status_set(STS_ENOTFOUND, err, errlen, "store probe-delete %s: no probe row", host);
    return status;
}

enum sts_status sts_store_probe_delete_all(struct sts_store *store, size_t *count, char *err,
                                           size_t errlen)
{
    return probe_delete(store, "probe-delete-all", NULL, sql_delete_all, count, err, errlen);
}

/* Up to PROBE_BATCH rows after the key *after; *after moves to the last one. */
static enum sts_status probe_read_batch(struct sts_store *store, struct sts_store_probe *after,
                                        struct sts_store_probe *batch, bool *known, size_t *n,
                                        char *err, size_t errlen)
{
    struct probe_op op;
    enum sts_status status;
    int rc;

    *n = 0;
    status = probe_op_begin(&op, store, "probe-foreach", NULL, 0, sql_list, err, errlen);
    if (status != STS_OK)
        return status;
    rc = probe_bind_key(op.st, after->host, after->port, after->mx_secure);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(op.st, 4, PROBE_BATCH);
    if (rc == SQLITE_OK)
        rc = probe_step_first(op.st);
    while (rc == SQLITE_ROW) {
        known[*n] = row_to_probe(op.st, &batch[*n]);
        (*n)++;
        rc = sqlite3_step(op.st);
    }
    if (rc != SQLITE_DONE)
        status = probe_fail(&op, rc);
    else if (*n > 0)
        *after = batch[*n - 1];
    probe_op_end(&op);
    return status;
}

enum sts_status sts_store_probe_foreach(struct sts_store *store,
                                        int (*fn)(const struct sts_store_probe *row, void *arg),
                                        void *arg, char *err, size_t errlen)
{
    struct sts_store_probe *batch = calloc(PROBE_BATCH, sizeof(*batch));
    bool known[PROBE_BATCH];
    struct sts_store_probe after;
    enum sts_status status = STS_OK;
    size_t n = PROBE_BATCH;
    int stop = 0;

    memset(&after, 0, sizeof(after)); /* ("", 0, 0) sorts before every row */
    if (fn == NULL)
        status = sts_status_set(STS_EINVAL, err, errlen, "store probe-foreach: no function");
    else if (batch == NULL)
        status = sts_status_set(STS_ENOMEM, err, errlen, "store probe-foreach: out of memory");
    /* No connection is held while fn runs: it may use the store. */
    while (status == STS_OK && stop == 0 && n == PROBE_BATCH) {
        status = probe_read_batch(store, &after, batch, known, &n, err, errlen);
        for (size_t i = 0; status == STS_OK && stop == 0 && i < n; i++)
            if (known[i]) /* a row of unknown result counts as absent */
                stop = fn(&batch[i], arg);
    }
    free(batch);
    sts_metrics_store(STS_METRICS_STORE_PROBE_LIST, status);
    return status;
}
