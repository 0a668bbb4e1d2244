/*
 * store_learn.c - the learned forced TLS rows of the store (store.h,
 * learn.h): one row per domain in table learned_tls (schema step 3).
 *
 * A file of the store module: it borrows connections from store.c's
 * pool (store_int.h) and prepares its statements per call, as
 * store_probe.c does.  The engine reads a row for recipients of domains
 * without MTA-STS or DANE when LearnTLS is on, and writes one only when
 * learn.c says the state changed (at most about once an hour per busy
 * domain), so the prepare costs nothing that matters.
 *
 * Locking: none of its own; see store.h.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtasts/store.h"
#include "store_int.h"

#define LEARN_BUSY_MS 5000 /* as store.c: then "database is locked" */
#define LEARN_BATCH 64     /* rows read per borrowed connection in foreach */

#define LEARN_COLUMNS "domain, since, last_ok, learned_at, last_fail, fails"

static const char sql_get[] = "SELECT " LEARN_COLUMNS " FROM learned_tls WHERE domain = ?1";
static const char sql_put[] =
    "INSERT OR REPLACE INTO learned_tls (" LEARN_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_delete[] = "DELETE FROM learned_tls WHERE domain = ?1";
static const char sql_delete_all[] = "DELETE FROM learned_tls";
static const char sql_list[] = "SELECT " LEARN_COLUMNS " FROM learned_tls WHERE domain > ?1"
                               " ORDER BY domain LIMIT ?2";

/* One operation: a borrowed connection, one statement, where errors go. */
struct learn_op {
    struct sts_store *store;
    struct store_conn *conn;
    sqlite3 *db;
    sqlite3_stmt *st;
    const char *what;   /* "learn-get", ... */
    const char *domain; /* for messages; may be "" */
    char *err;
    size_t errlen;
};

static enum sts_status learn_fail(const struct learn_op *op, int rc)
{
    const char *why = op->db != NULL ? sqlite3_errmsg(op->db) : sqlite3_errstr(rc);
    return sts_status_set((rc & 0xff) == SQLITE_NOMEM ? STS_ENOMEM : STS_EIO, op->err, op->errlen,
                          "store %s%s%s: %s", op->what, op->domain[0] != '\0' ? " " : "",
                          op->domain, why);
}

static int64_t learn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The first step, retried on SQLITE_BUSY until LEARN_BUSY_MS (as store.c). */
static int learn_step_first(sqlite3_stmt *st)
{
    int64_t deadline = learn_now_ms() + LEARN_BUSY_MS;
    long nap_ms = 1;
    int rc;
    while ((rc = sqlite3_step(st)) != SQLITE_ROW && (rc & 0xff) == SQLITE_BUSY &&
           learn_now_ms() < deadline) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = nap_ms * 1000000L};
        sqlite3_reset(st);
        nanosleep(&ts, NULL);
        nap_ms = nap_ms < 64 ? nap_ms * 2 : 64;
    }
    return rc;
}

/* Check the key (domain unless NULL), borrow, prepare sql, bind ?1 = domain. */
static enum sts_status learn_op_begin(struct learn_op *op, struct sts_store *store,
                                      const char *what, const char *domain, const char *sql,
                                      char *err, size_t errlen)
{
    *op =
        (struct learn_op){.store = store, .what = what, .domain = "", .err = err, .errlen = errlen};
    if (domain != NULL) {
        size_t len = strnlen(domain, STS_DOMAIN_MAX + 1);
        if (len == 0 || len > STS_DOMAIN_MAX)
            return sts_status_set(STS_EINVAL, err, errlen, "store %s: domain must be 1 to %d bytes",
                                  what, STS_DOMAIN_MAX);
        op->domain = domain;
    }
    if (store == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "store %s: no store", what);
    enum sts_status status = sts_store_conn_borrow(store, &op->conn, &op->db, err, errlen);
    if (status != STS_OK)
        return status;
    int rc = sqlite3_prepare_v2(op->db, sql, -1, &op->st, NULL);
    if (rc == SQLITE_OK && domain != NULL)
        rc = sqlite3_bind_text(op->st, 1, domain, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        status = learn_fail(op, rc);
        sqlite3_finalize(op->st);
        op->st = NULL;
        sts_store_conn_return(store, op->conn);
        op->conn = NULL;
    }
    return status;
}

static void learn_op_end(struct learn_op *op)
{
    sqlite3_finalize(op->st);
    op->st = NULL;
    if (op->conn != NULL)
        sts_store_conn_return(op->store, op->conn);
    op->conn = NULL;
}

static void row_to_state(sqlite3_stmt *st, struct sts_learn_state *s)
{
    memset(s, 0, sizeof(*s));
    s->present = true;
    s->since = sqlite3_column_int64(st, 1);
    s->last_ok = sqlite3_column_int64(st, 2);
    s->learned_at = sqlite3_column_int64(st, 3);
    s->last_fail = sqlite3_column_int64(st, 4);
    sqlite3_int64 f = sqlite3_column_int64(st, 5);
    s->fails = f < 0 ? 0 : f > UINT32_MAX ? UINT32_MAX : (uint32_t)f;
}

enum sts_status sts_store_learn_get(struct sts_store *store, const char *domain,
                                    struct sts_learn_state *out, char *err, size_t errlen)
{
    struct learn_op op;
    memset(out, 0, sizeof(*out));
    enum sts_status status = learn_op_begin(&op, store, "learn-get", domain, sql_get, err, errlen);
    if (status != STS_OK)
        return status;
    int rc = learn_step_first(op.st);
    if (rc == SQLITE_ROW)
        row_to_state(op.st, out);
    else if (rc != SQLITE_DONE)
        status = learn_fail(&op, rc);
    learn_op_end(&op);
    return status;
}

enum sts_status sts_store_learn_put(struct sts_store *store, const char *domain,
                                    const struct sts_learn_state *s, char *err, size_t errlen)
{
    struct learn_op op;
    if (s == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "store learn-put: no state");
    enum sts_status status = learn_op_begin(&op, store, "learn-put", domain, sql_put, err, errlen);
    if (status != STS_OK)
        return status;
    int rc = sqlite3_bind_int64(op.st, 2, s->since);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(op.st, 3, s->last_ok);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(op.st, 4, s->learned_at);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(op.st, 5, s->last_fail);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(op.st, 6, (sqlite3_int64)s->fails);
    if (rc == SQLITE_OK)
        rc = learn_step_first(op.st);
    if (rc != SQLITE_DONE)
        status = learn_fail(&op, rc);
    learn_op_end(&op);
    return status;
}

/* Run a DELETE (bound to domain unless NULL); *count receives the rows removed. */
static enum sts_status learn_delete(struct sts_store *store, const char *what, const char *domain,
                                    const char *sql, size_t *count, char *err, size_t errlen)
{
    struct learn_op op;
    *count = 0;
    enum sts_status status = learn_op_begin(&op, store, what, domain, sql, err, errlen);
    if (status != STS_OK)
        return status;
    int rc = learn_step_first(op.st);
    if (rc != SQLITE_DONE)
        status = learn_fail(&op, rc);
    else
        *count = (size_t)sqlite3_changes(op.db);
    learn_op_end(&op);
    return status;
}

enum sts_status sts_store_learn_delete(struct sts_store *store, const char *domain, char *err,
                                       size_t errlen)
{
    size_t n;
    enum sts_status status =
        learn_delete(store, "learn-delete", domain, sql_delete, &n, err, errlen);
    if (status == STS_OK && n == 0)
        status =
            sts_status_set(STS_ENOTFOUND, err, errlen, "store learn-delete %s: no row", domain);
    return status;
}

enum sts_status sts_store_learn_delete_all(struct sts_store *store, size_t *count, char *err,
                                           size_t errlen)
{
    size_t n;
    enum sts_status status =
        learn_delete(store, "learn-delete-all", NULL, sql_delete_all, &n, err, errlen);
    if (count != NULL)
        *count = n;
    return status;
}

struct learn_row {
    char domain[STS_DOMAIN_MAX + 1];
    struct sts_learn_state state;
};

/* Up to LEARN_BATCH rows after the domain *after; *after moves to the last one. */
static enum sts_status learn_read_batch(struct sts_store *store, char *after,
                                        struct learn_row *batch, size_t *n, char *err,
                                        size_t errlen)
{
    struct learn_op op;
    *n = 0;
    enum sts_status status =
        learn_op_begin(&op, store, "learn-foreach", NULL, sql_list, err, errlen);
    if (status != STS_OK)
        return status;
    int rc = sqlite3_bind_text(op.st, 1, after, -1, SQLITE_TRANSIENT);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int(op.st, 2, LEARN_BATCH);
    if (rc == SQLITE_OK)
        rc = learn_step_first(op.st);
    while (rc == SQLITE_ROW) {
        const unsigned char *d = sqlite3_column_text(op.st, 0);
        snprintf(batch[*n].domain, sizeof(batch[*n].domain), "%s", d ? (const char *)d : "");
        row_to_state(op.st, &batch[*n].state);
        (*n)++;
        rc = sqlite3_step(op.st);
    }
    if (rc != SQLITE_DONE)
        status = learn_fail(&op, rc);
    else if (*n > 0)
        memcpy(after, batch[*n - 1].domain, sizeof(batch[*n - 1].domain));
    learn_op_end(&op);
    return status;
}

enum sts_status sts_store_learn_foreach(struct sts_store *store,
                                        int (*fn)(const char *domain,
                                                  const struct sts_learn_state *state, void *arg),
                                        void *arg, char *err, size_t errlen)
{
    if (fn == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "store learn-foreach: no function");
    struct learn_row *batch = calloc(LEARN_BATCH, sizeof(*batch));
    if (batch == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "store learn-foreach: out of memory");
    char after[STS_DOMAIN_MAX + 1] = ""; /* "" sorts before every row */
    enum sts_status status = STS_OK;
    size_t n = LEARN_BATCH;
    int stop = 0;
    /* No connection is held while fn runs: it may use the store. */
    while (status == STS_OK && stop == 0 && n == LEARN_BATCH) {
        status = learn_read_batch(store, after, batch, &n, err, errlen);
        for (size_t i = 0; status == STS_OK && stop == 0 && i < n; i++)
            stop = fn(batch[i].domain, &batch[i].state, arg);
    }
    free(batch);
    return status;
}
