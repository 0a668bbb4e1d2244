/*
 * store_int.h - private to the files of the store module (store.c, the
 * pool, schema and open/close; store_policy.c, the policy rows;
 * store_probe.c, the probe rows).  Not installed; nothing outside
 * milter/engine/store*.c includes it.
 *
 * store.c owns the pool and the connections.  A connection is opened with
 * the schema current and every statement of sts_store_policy_sql[] prepared
 * (the policy rows are on the milter's per-recipient path, so their
 * statements are prepared once per connection); store_probe.c prepares
 * its own per call.
 *
 * A borrowed connection is used by one thread until it is returned; its
 * busy_timeout is set and its schema is current.  The borrower leaves no
 * transaction open (a connection returned inside one is rolled back, and
 * closed if that fails).  Statements of the prepared set are reset and
 * unbound (sts_store_stmt_done()) before the connection goes back.
 *
 * Locking: none beyond store.h's; a struct store_op and its connection
 * belong to the one thread that began it.
 */
#ifndef MTASTS_STORE_INT_H
#define MTASTS_STORE_INT_H

#include <sqlite3.h>
#include <stddef.h>

#include "mtasts/status.h"
#include "mtasts/store.h"

/* The prepared statements of every connection (SQL in store_policy.c). */
enum store_stmt {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_GET,
    ST_LIST,
    ST_PUT,
    ST_REFRESH,
    ST_TOUCH,
    ST_DEL_POLICY,
    ST_DEL_NEGATIVE,
    ST_DEL_BACKOFF,
    ST_DEL_BACKOFF_ID,
    ST_DEL_ALL_POLICIES,
    ST_DEL_ALL_NEGATIVE,
    ST_DEL_ALL_BACKOFF,
    ST_NEG_GET,
    ST_NEG_PUT,
    ST_BACKOFF_GET,
    ST_BACKOFF_PUT,
    ST_COUNT
};

/* The SQL of each enum store_stmt, defined in store_policy.c. */
extern const char *const sts_store_policy_sql[ST_COUNT];

/* One pooled connection. */
struct store_conn {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    struct store_conn *next; /* in the idle list */
};

/* One operation: a borrowed connection and where its errors go. */
struct store_op {
    struct sts_store *store;
    struct store_conn *c;
    const char *what;   /* "get", "put", ... */
    const char *domain; /* for messages; may be "" */
    char *err;
    size_t errlen;
};

/**
 * Borrow a connection (waiting while all are lent).
 * @param db receives its SQLite handle, valid until the return
 * @return STS_OK, or STS_EIO/STS_ENOMEM when a new one cannot be opened
 */
enum sts_status sts_store_conn_borrow(struct sts_store *s, struct store_conn **conn, sqlite3 **db,
                                      char *err, size_t errlen);

/** Give a borrowed connection back. */
void sts_store_conn_return(struct sts_store *s, struct store_conn *conn);

/**
 * Start an operation: check its keys (domain unless NULL, 1 to
 * STS_DOMAIN_MAX bytes; id unless NULL, 1 to STS_TXT_ID_MAX bytes), then
 * borrow a connection into op->c.  op->domain points at domain (or "")
 * and must stay valid until sts_store_op_end().
 * @return STS_OK, STS_EINVAL (a bad key, no store), STS_EIO or STS_ENOMEM
 */
enum sts_status sts_store_op_begin(struct store_op *op, struct sts_store *store, const char *what,
                                   const char *domain, const char *id, char *err, size_t errlen);

/** Return op's connection, if any; op may be ended twice. */
void sts_store_op_end(struct store_op *op);

/**
 * Bind ?1, ?2, ... of a prepared statement from types ('t' a const char *,
 * NULL binds ""; 'i' an int64_t; text is bound SQLITE_STATIC), step it
 * once (retrying SQLITE_BUSY), reset it.  For statements that return no
 * rows; *changes (if not NULL) receives the rows it changed.
 * @return STS_OK, or STS_EIO/STS_ENOMEM with SQLite's reason in op->err
 */
enum sts_status sts_store_run(const struct store_op *op, enum store_stmt id, int *changes,
                              const char *types, ...);

/**
 * Bind a query as sts_store_run() does and fetch its first row.  The
 * statement stays positioned (read its columns, step on) until
 * sts_store_stmt_done().
 * @return SQLITE_ROW, SQLITE_DONE or an SQLite error code
 */
int sts_store_query(const struct store_op *op, enum store_stmt id, const char *types, ...);

/** The status of a single-row lookup: a row, none (STS_ENOTFOUND) or an error. */
enum sts_status sts_store_found(const struct store_op *op, int rc);

/** Report a failed SQLite call of op, with SQLite's reason. */
enum sts_status sts_store_fail(const struct store_op *op, int rc);

/** Reset a statement of the prepared set and clear its bindings. */
void sts_store_stmt_done(sqlite3_stmt *st);

/**
 * End a write transaction (begun with ST_BEGIN): COMMIT if status is
 * STS_OK, else ROLLBACK, keeping the first error in op->err.
 */
enum sts_status sts_store_txn_end(const struct store_op *op, enum sts_status status);

#endif
