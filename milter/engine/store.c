/*
 * store.c - the persistent policy cache, on SQLite: the one file that
 * includes <sqlite3.h>.
 *
 * Locking protocol (see store.h): the store's mutex guards only the pool
 * bookkeeping (the idle list and the count of open connections).  An
 * operation borrows a connection, runs its SQL with no store lock held and
 * hands the connection back; a connection and its prepared statements are
 * used by one thread at a time, hence SQLITE_OPEN_NOMUTEX.  Between
 * connections (and processes) SQLite's file locks serialise writers:
 * busy_timeout waits for them, and the few SQLITE_BUSY cases its busy
 * handler does not cover (WAL recovery, a stale snapshot) are retried here
 * until the same deadline, so SQLITE_BUSY reaches a caller only after
 * STORE_BUSY_MS of contention.  Every write transaction is BEGIN IMMEDIATE,
 * so no transaction has to upgrade a read lock (the case SQLite refuses
 * without waiting).
 */
#include "mtasts/metrics.h"
#include "mtasts/store.h"
#include "store_int.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define STORE_POOL_SIZE 4      /* connections, opened on demand */
#define STORE_BUSY_MS 5000     /* busy_timeout, and the retry deadline */
#define STORE_FOREACH_BATCH 64 /* rows read per borrowed connection */
#define STORE_REASON_MAX 255   /* bytes of a reason kept in the database */

/*
 * The schema, as migrations: step i takes PRAGMA user_version from i to
 * i + 1.  Append only; never edit a step that has shipped.
 */
static const char *const store_migrations[] = {
    /* 1: policies, negative cache, fetch back-off. */
    "CREATE TABLE policies ("
    " domain TEXT PRIMARY KEY NOT NULL," /* as given: normalized by the caller */
    " id TEXT NOT NULL,"                 /* the TXT id it was fetched under */
    " body TEXT NOT NULL,"               /* sts_policy_format(): the truth */
    " mode TEXT NOT NULL,"               /* copies of body fields, for queries */
    " max_age INTEGER NOT NULL,"
    " fetched_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " checked_at INTEGER NOT NULL,"
    " last_used INTEGER NOT NULL);"
    "CREATE INDEX policies_expires_at ON policies (expires_at);"
    "CREATE INDEX policies_last_used ON policies (last_used);"
    "CREATE TABLE negative ("
    " domain TEXT PRIMARY KEY NOT NULL,"
    " until INTEGER NOT NULL,"
    " reason TEXT NOT NULL);"
    "CREATE TABLE backoff ("
    " domain TEXT NOT NULL,"
    " id TEXT NOT NULL,"
    " until INTEGER NOT NULL,"
    " reason TEXT NOT NULL,"
    " PRIMARY KEY (domain, id));",
    /* 2: STARTTLS probe results per MX host (store_probe.c, probe_cache.h). */
    "CREATE TABLE probes ("
    " host TEXT NOT NULL,"
    " port INTEGER NOT NULL,"
    " mx_secure INTEGER NOT NULL," /* 1: the MX RRset was DNSSEC-secure */
    " result TEXT NOT NULL,"       /* sts_tls_result_name() */
    " dane INTEGER NOT NULL,"
    " detail TEXT NOT NULL,"
    " addr TEXT NOT NULL,"
    " tls_version TEXT NOT NULL,"
    " cipher TEXT NOT NULL,"
    " checked_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " last_used INTEGER NOT NULL,"
    " PRIMARY KEY (host, port, mx_secure));"
    "CREATE INDEX probes_last_used ON probes (last_used);",
    /* 3: TLS-RPT results per UTC day (store_tlsrpt.c, tlsrpt_agg.h). */
    "CREATE TABLE tlsrpt_policy ("
    " day TEXT NOT NULL,"           /* YYYY-MM-DD, UTC */
    " policy_domain TEXT NOT NULL," /* A-label */
    " ptype TEXT NOT NULL,"         /* sts, tlsa, no-policy-found */
    " strings TEXT NOT NULL,"       /* policy-string, lines joined by LF */
    " mx_hosts TEXT NOT NULL,"      /* mx-host patterns joined by LF */
    " ok INTEGER NOT NULL,"
    " fail INTEGER NOT NULL,"
    " PRIMARY KEY (day, policy_domain, ptype, strings, mx_hosts));"
    "CREATE TABLE tlsrpt_failure ("
    " day TEXT NOT NULL,"
    " policy_domain TEXT NOT NULL,"
    " ptype TEXT NOT NULL,"
    " strings TEXT NOT NULL,"
    " mx_hosts TEXT NOT NULL,"
    " result TEXT NOT NULL," /* sts_tlsrpt_result_name() */
    " sending_ip TEXT NOT NULL,"
    " mx_host TEXT NOT NULL,"
    " mx_helo TEXT NOT NULL,"
    " receiving_ip TEXT NOT NULL,"
    " additional_info TEXT NOT NULL,"
    " reason_code TEXT NOT NULL,"
    " count INTEGER NOT NULL,"
    " PRIMARY KEY (day, policy_domain, ptype, strings, mx_hosts, result, sending_ip, mx_host,"
    " mx_helo, receiving_ip, additional_info, reason_code));",
};

#define STORE_SCHEMA_VERSION ((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

/* The prepared statements of every connection. */
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

/* ST_GET and ST_LIST return the columns row_to_entry() reads, in order. */
#define ENTRY_COLUMNS "domain, id, body, fetched_at, expires_at, checked_at, last_used"

static const char *const store_sql[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_GET] = "SELECT " ENTRY_COLUMNS " FROM policies WHERE domain = ?1",
    [ST_LIST] = "SELECT " ENTRY_COLUMNS " FROM policies WHERE domain > ?1"
                " ORDER BY domain LIMIT ?2",
    [ST_PUT] = "INSERT OR REPLACE INTO policies (domain, id, body, mode, max_age,"
               " fetched_at, expires_at, checked_at, last_used)"
               " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [ST_REFRESH] = "UPDATE policies SET checked_at = ?2, expires_at = ?3 WHERE domain = ?1",
    [ST_TOUCH] = "UPDATE policies SET last_used = max(last_used, ?2) WHERE domain = ?1",
    [ST_DEL_POLICY] = "DELETE FROM policies WHERE domain = ?1",
    [ST_DEL_NEGATIVE] = "DELETE FROM negative WHERE domain = ?1",
    [ST_DEL_BACKOFF] = "DELETE FROM backoff WHERE domain = ?1",
    [ST_DEL_BACKOFF_ID] = "DELETE FROM backoff WHERE domain = ?1 AND id = ?2",
    [ST_DEL_ALL_POLICIES] = "DELETE FROM policies",
    [ST_DEL_ALL_NEGATIVE] = "DELETE FROM negative",
    [ST_DEL_ALL_BACKOFF] = "DELETE FROM backoff",
    [ST_NEG_GET] = "SELECT until, reason FROM negative WHERE domain = ?1 AND until > ?2",
    [ST_NEG_PUT] = "INSERT OR REPLACE INTO negative (domain, until, reason) VALUES (?1, ?2, ?3)",
    [ST_BACKOFF_GET] = "SELECT until FROM backoff WHERE domain = ?1 AND id = ?2 AND until > ?3",
    [ST_BACKOFF_PUT] = ("INSERT OR REPLACE INTO backoff (domain, id, until, reason)"
                        " VALUES (?1, ?2, ?3, ?4)"),
};

struct store_conn {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    struct store_conn *next; /* in the idle list */
};

struct sts_store {
    char *path;
    pthread_mutex_t mu; /* guards idle and nopen, held only for hand-over */
    pthread_cond_t cv;  /* signalled when a connection or a slot frees */
    struct store_conn *idle;
    size_t nopen; /* connections open or being opened, <= STORE_POOL_SIZE */
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

int sts_store_schema_version(void)
{
    return STORE_SCHEMA_VERSION;
}

static enum sts_status store_status(int rc)
{
    return (rc & 0xff) == SQLITE_NOMEM ? STS_ENOMEM : STS_EIO;
}

static int64_t store_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Retrying SQLITE_BUSY: nap 1, 2, 4 ... 64 ms until STORE_BUSY_MS have passed. */
struct store_retry {
    int64_t deadline;
    long nap_ms;
};

static bool store_again(struct store_retry *r, int rc)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = r->nap_ms * 1000000L};

    if ((rc & 0xff) != SQLITE_BUSY || store_now_ms() >= r->deadline)
        return false;
    nanosleep(&ts, NULL);
    r->nap_ms = r->nap_ms < 64 ? r->nap_ms * 2 : 64;
    return true;
}

/*
 * The first step of a statement, retried on SQLITE_BUSY.  Only the first:
 * a retry resets the statement, and a SELECT that has returned rows must
 * not start over.
 */
static int store_step_first(sqlite3_stmt *st)
{
    struct store_retry r = {store_now_ms() + STORE_BUSY_MS, 1};
    int rc;

    while (store_again(&r, rc = sqlite3_step(st)))
        sqlite3_reset(st);
    return rc;
}

/* sqlite3_exec() with the same retry; for set-up SQL, not the hot path. */
static int store_exec(sqlite3 *db, const char *sql)
{
    struct store_retry r = {store_now_ms() + STORE_BUSY_MS, 1};
    int rc;

    while (store_again(&r, rc = sqlite3_exec(db, sql, NULL, NULL, NULL)))
        continue;
    return rc;
}

static void store_stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/*
 * Bind ?1, ?2, ... from types: 't' a const char * (NULL binds ""), 'i' an
 * int64_t.  Text is bound SQLITE_STATIC: it must outlive the statement's
 * use, which ends with store_stmt_done().
 */
static int store_bind(sqlite3_stmt *st, const char *types, va_list ap)
{
    int rc = SQLITE_OK;

    for (int i = 0; types[i] != '\0' && rc == SQLITE_OK; i++) {
        if (types[i] == 't') {
            const char *s = va_arg(ap, const char *);
            rc = sqlite3_bind_text(st, i + 1, s != NULL ? s : "", -1, SQLITE_STATIC);
        } else {
            rc = sqlite3_bind_int64(st, i + 1, (sqlite3_int64)va_arg(ap, int64_t));
        }
    }
    return rc;
}

/* Report a failed SQLite call of op, with SQLite's reason. */
static enum sts_status store_fail(const struct store_op *op, int rc)
{
    const char *why = op->c != NULL ? sqlite3_errmsg(op->c->db) : sqlite3_errstr(rc);
    return sts_status_set(store_status(rc), op->err, op->errlen, "store %s%s%s: %s", op->what,
                          op->domain[0] != '\0' ? " " : "", op->domain, why);
}

/*
 * Bind a statement, step it once, reset it.  For statements that return
 * no rows; *changes (if not NULL) receives the rows it changed.
 */
static enum sts_status store_run(const struct store_op *op, enum store_stmt id, int *changes,
                                 const char *types, ...)
{
    sqlite3_stmt *st = op->c->st[id];
    enum sts_status status = STS_OK;
    va_list ap;
    int rc;

    va_start(ap, types);
    rc = store_bind(st, types, ap);
    va_end(ap);
    if (rc == SQLITE_OK)
        rc = store_step_first(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        status = store_fail(op, rc);
    else if (changes != NULL)
        *changes = sqlite3_changes(op->c->db);
    store_stmt_done(st);
    return status;
}

/* Bind a query and fetch its first row: SQLITE_ROW, SQLITE_DONE or an error. */
static int store_query(const struct store_op *op, enum store_stmt id, const char *types, ...)
{
    va_list ap;
    int rc;

    va_start(ap, types);
    rc = store_bind(op->c->st[id], types, ap);
    va_end(ap);
    return rc == SQLITE_OK ? store_step_first(op->c->st[id]) : rc;
}

/* The status of a single-row lookup: a row, none (STS_ENOTFOUND) or an error. */
static enum sts_status store_found(const struct store_op *op, int rc)
{
    if (rc == SQLITE_ROW)
        return STS_OK;
    if (rc == SQLITE_DONE)
        return sts_status_set(STS_ENOTFOUND, op->err, op->errlen, "store %s %s: not found",
                              op->what, op->domain);
    return store_fail(op, rc);
}

static void store_conn_close(struct store_conn *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(c->st[i]);
    sqlite3_close(c->db);
    free(c);
}

static int store_user_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);

    if (rc == SQLITE_OK)
        rc = store_step_first(st);
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/*
 * Bring the schema to STORE_SCHEMA_VERSION: every missing step in one
 * transaction.  The version is read again under the write lock, so two
 * processes opening one old database migrate it once.
 */
static enum sts_status store_migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    int have = 0, rc;
    char sql[64];

    rc = store_user_version(db, &have);
    if (rc == SQLITE_OK && have == STORE_SCHEMA_VERSION)
        return STS_OK;
    if (rc == SQLITE_OK)
        rc = store_exec(db, "BEGIN IMMEDIATE");
    if (rc == SQLITE_OK)
        rc = store_user_version(db, &have);
    if (rc != SQLITE_OK)
        goto fail;
    if (have < 0 || have > STORE_SCHEMA_VERSION) {
        store_exec(db, "ROLLBACK");
        return sts_status_set(STS_EIO, err, errlen,
                              "store %s has schema version %d, which this build (version %d) "
                              "does not know: it was written by a newer mtasts-milter",
                              path, have, STORE_SCHEMA_VERSION);
    }
    for (int v = have; v < STORE_SCHEMA_VERSION && rc == SQLITE_OK; v++)
        rc = sqlite3_exec(db, store_migrations[v], NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION);
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK)
        rc = store_exec(db, "COMMIT");
    if (rc == SQLITE_OK)
        return STS_OK;
fail:
    sts_status_set(store_status(rc), err, errlen,
                   "store %s: cannot migrate schema to version %d: %s", path, STORE_SCHEMA_VERSION,
                   sqlite3_errmsg(db));
    if (!sqlite3_get_autocommit(db))
        store_exec(db, "ROLLBACK");
    return store_status(rc);
}

/* Open one connection: pragmas, schema check (or migration), statements. */
static enum sts_status store_conn_open(const char *path, struct store_conn **out, char *err,
                                       size_t errlen)
{
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    struct store_conn *c = calloc(1, sizeof(*c));
    enum sts_status status;
    int rc;

    *out = NULL;
    if (c == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "store %s: out of memory", path);
    rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(c->db, 1);
        rc = sqlite3_busy_timeout(c->db, STORE_BUSY_MS);
    }
    /* journal_mode first: on a file that is no database it is what fails. */
    if (rc == SQLITE_OK)
        rc = store_exec(c->db, "PRAGMA journal_mode = WAL");
    if (rc == SQLITE_OK)
        rc = store_exec(c->db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON");
    if (rc != SQLITE_OK) {
        status = sts_status_set(store_status(rc), err, errlen, "store %s: cannot open: %s", path,
                                c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        store_conn_close(c);
        return status;
    }
    status = store_migrate(c->db, path, err, errlen);
    for (int i = 0; i < ST_COUNT && status == STS_OK; i++) {
        rc =
            sqlite3_prepare_v3(c->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL);
        if (rc != SQLITE_OK)
            status = sts_status_set(store_status(rc), err, errlen,
                                    "store %s: cannot prepare statement %d: %s", path, i,
                                    sqlite3_errmsg(c->db));
    }
    if (status != STS_OK) {
        store_conn_close(c);
        return status;
    }
    *out = c;
    return STS_OK;
}

/* Borrow a connection: an idle one, else a new one while under the cap, else wait. */
static enum sts_status store_borrow(struct sts_store *s, struct store_conn **out, char *err,
                                    size_t errlen)
{
    struct store_conn *c;
    enum sts_status status;

    pthread_mutex_lock(&s->mu);
    while (s->idle == NULL && s->nopen >= STORE_POOL_SIZE)
        pthread_cond_wait(&s->cv, &s->mu);
    c = s->idle;
    if (c != NULL)
        s->idle = c->next;
    else
        s->nopen++; /* reserve the slot; open outside the lock */
    pthread_mutex_unlock(&s->mu);
    if (c != NULL) {
        c->next = NULL;
        *out = c;
        return STS_OK;
    }
    status = store_conn_open(s->path, out, err, errlen);
    if (status != STS_OK) {
        pthread_mutex_lock(&s->mu);
        s->nopen--;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    return status;
}

/*
 * Hand a connection back.  One left inside a transaction (a ROLLBACK that
 * failed) is closed rather than lent again.
 */
static void store_return(struct sts_store *s, struct store_conn *c)
{
    bool broken;

    if (!sqlite3_get_autocommit(c->db))
        store_exec(c->db, "ROLLBACK");
    broken = !sqlite3_get_autocommit(c->db);
    pthread_mutex_lock(&s->mu);
    if (broken) {
        s->nopen--;
    } else {
        c->next = s->idle;
        s->idle = c;
    }
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (broken)
        store_conn_close(c);
}

/* The pool, lent to store_probe.c (store_int.h). */
enum sts_status sts_store_conn_borrow(struct sts_store *s, struct store_conn **conn, sqlite3 **db,
                                      char *err, size_t errlen)
{
    enum sts_status status = store_borrow(s, conn, err, errlen);

    *db = status == STS_OK ? (*conn)->db : NULL;
    return status;
}

void sts_store_conn_return(struct sts_store *s, struct store_conn *conn)
{
    store_return(s, conn);
}

/* Check a key before it goes near SQL: 1..max bytes. */
static enum sts_status store_check_key(const char *what, const char *kind, const char *key,
                                       size_t max, char *err, size_t errlen)
{
    size_t len = key != NULL ? strnlen(key, max + 1) : 0;

    if (len == 0 || len > max)
        return sts_status_set(STS_EINVAL, err, errlen, "store %s: %s must be 1 to %zu bytes", what,
                              kind, max);
    return STS_OK;
}

/*
 * Start an operation: check its keys (domain unless NULL, id unless NULL),
 * then borrow a connection.
 */
static enum sts_status store_op_begin(struct store_op *op, struct sts_store *store,
                                      const char *what, const char *domain, const char *id,
                                      char *err, size_t errlen)
{
    enum sts_status status = STS_OK;

    *op = (struct store_op){store, NULL, what, domain != NULL ? domain : "", err, errlen};
    if (domain != NULL)
        status = store_check_key(what, "domain", domain, STS_DOMAIN_MAX, err, errlen);
    if (status == STS_OK && id != NULL)
        status = store_check_key(what, "id", id, STS_TXT_ID_MAX, err, errlen);
    if (status == STS_OK && store == NULL)
        status = sts_status_set(STS_EINVAL, err, errlen, "store %s: no store", what);
    if (status == STS_OK)
        status = store_borrow(store, &op->c, err, errlen);
    return status;
}

static void store_op_end(struct store_op *op)
{
    if (op->c != NULL)
        store_return(op->store, op->c);
    op->c = NULL;
}

/*
 * End a write transaction (begun with ST_BEGIN): COMMIT if all went well,
 * else ROLLBACK, keeping the first error in err.
 */
static enum sts_status store_txn_end(const struct store_op *op, enum sts_status status)
{
    if (status == STS_OK)
        status = store_run(op, ST_COMMIT, NULL, "");
    if (status != STS_OK && !sqlite3_get_autocommit(op->c->db)) {
        store_step_first(op->c->st[ST_ROLLBACK]);
        store_stmt_done(op->c->st[ST_ROLLBACK]);
    }
    return status;
}

/* Copy a text column into a buffer of size cap; false if absent or too long. */
static bool store_column_copy(sqlite3_stmt *st, int col, char *buf, size_t cap)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);

    if (text == NULL || len == 0 || len >= cap || memchr(text, '\0', len) != NULL)
        return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    return true;
}

/*
 * Decode a policies row (ENTRY_COLUMNS) into e, which must be zeroed.
 * @return STS_OK, STS_ENOMEM, or STS_EINVAL for a row that cannot be read
 *         back (a body that no longer parses, an over-long key)
 */
static enum sts_status row_to_entry(sqlite3_stmt *st, struct sts_store_entry *e, char *err,
                                    size_t errlen)
{
    const char *body;
    size_t len;
    char perr[160] = "";
    enum sts_status status;

    if (!store_column_copy(st, 0, e->domain, sizeof(e->domain)) ||
        !store_column_copy(st, 1, e->id, sizeof(e->id)))
        return sts_status_set(STS_EINVAL, err, errlen, "bad domain or id column");
    body = (const char *)sqlite3_column_text(st, 2);
    len = (size_t)sqlite3_column_bytes(st, 2);
    if (body == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "no body");
    status = sts_policy_parse(body, len, &e->policy, perr, sizeof(perr));
    if (status == STS_ENOMEM)
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    if (status != STS_OK)
        return sts_status_set(STS_EINVAL, err, errlen, "body does not parse: %s", perr);
    e->fetched_at = sqlite3_column_int64(st, 3);
    e->expires_at = sqlite3_column_int64(st, 4);
    e->checked_at = sqlite3_column_int64(st, 5);
    e->last_used = sqlite3_column_int64(st, 6);
    return STS_OK;
}

/*
 * "sqlite:PATH" or a bare PATH.  A scheme is a letter, then letters,
 * digits, '+', '-' or '.', then ':'.  *path points into spec, or to
 * fixed (for a path SQLite would take for a URI).
 */
static enum sts_status store_parse_spec(const char *spec, const char **path, char *fixed,
                                        size_t fixedlen, char *err, size_t errlen)
{
    size_t i = 0;

    if (spec == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "store: no spec");
    if ((spec[0] >= 'a' && spec[0] <= 'z') || (spec[0] >= 'A' && spec[0] <= 'Z'))
        i = 1 + strspn(spec + 1, "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
    if (i > 0 && spec[i] == ':') {
        if (i != 6 || strncasecmp(spec, "sqlite", 6) != 0)
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "unknown store backend \"%.*s\" (known: sqlite)", (int)i, spec);
        spec += i + 1;
    }
    if (spec[0] == '\0')
        return sts_status_set(STS_EINVAL, err, errlen, "store: empty path");
    if (strcmp(spec, ":memory:") == 0)
        return sts_status_set(STS_EINVAL, err, errlen,
                              "store: an in-memory database cannot back a connection pool");
    *path = spec;
    if (strncasecmp(spec, "file:", 5) == 0) { /* a file name, never a URI */
        if ((size_t)snprintf(fixed, fixedlen, "./%s", spec) >= fixedlen)
            return sts_status_set(STS_EINVAL, err, errlen, "store: path too long");
        *path = fixed;
    }
    return STS_OK;
}

enum sts_status sts_store_open(const char *spec, struct sts_store **out, char *err, size_t errlen)
{
    struct sts_store *s;
    struct store_conn *c;
    const char *path = NULL;
    char fixed[4096];
    enum sts_status status;

    *out = NULL;
    status = store_parse_spec(spec, &path, fixed, sizeof(fixed), err, errlen);
    if (status != STS_OK)
        return status;
    if (!sqlite3_threadsafe())
        return sts_status_set(STS_EIO, err, errlen, "store: SQLite built without threads");
    s = calloc(1, sizeof(*s));
    if (s == NULL || (s->path = strdup(path)) == NULL) {
        free(s);
        return sts_status_set(STS_ENOMEM, err, errlen, "store: out of memory");
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    /* The first connection creates or migrates the schema, and proves the file. */
    status = store_borrow(s, &c, err, errlen);
    if (status != STS_OK) {
        sts_store_close(s);
        return status;
    }
    store_return(s, c);
    *out = s;
    return STS_OK;
}

void sts_store_close(struct sts_store *store)
{
    if (store == NULL)
        return;
    while (store->idle != NULL) {
        struct store_conn *c = store->idle;
        store->idle = c->next;
        store_conn_close(c);
    }
    pthread_cond_destroy(&store->cv);
    pthread_mutex_destroy(&store->mu);
    free(store->path);
    free(store);
}

enum sts_status sts_store_get(struct sts_store *store, const char *domain,
                              struct sts_store_entry *out, char *err, size_t errlen)
{
    struct store_op op;
    enum sts_status status;
    char why[256];

    memset(out, 0, sizeof(*out));
    status = store_op_begin(&op, store, "get", domain, NULL, err, errlen);
    if (status != STS_OK)
        return status;
    status = store_found(&op, store_query(&op, ST_GET, "t", domain));
    if (status == STS_OK) {
        status = row_to_entry(op.c->st[ST_GET], out, why, sizeof(why));
        if (status != STS_OK) {
            sts_store_entry_clear(out);
            if (status == STS_EINVAL) /* unreadable: absent, so a fetch replaces it */
                status = STS_ENOTFOUND;
            sts_status_set(status, err, errlen, "store get %s: stored policy unreadable: %s",
                           domain, why);
        }
    }
    store_stmt_done(op.c->st[ST_GET]);
    store_op_end(&op);
    sts_metrics_store(STS_METRICS_STORE_GET, status);
    return status;
}

/* The canonical body of a policy, checked to read back; caller frees *body. */
static enum sts_status store_format(const struct sts_store_entry *e, char **body, char *err,
                                    size_t errlen)
{
    size_t len = sts_policy_format(e->policy, NULL, 0);
    struct sts_policy *back = NULL;
    char perr[160] = "";
    enum sts_status status;

    *body = malloc(len + 1);
    if (*body == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "store put %s: out of memory", e->domain);
    sts_policy_format(e->policy, *body, len + 1);
    status = sts_policy_parse(*body, len, &back, perr, sizeof(perr));
    sts_policy_free(back);
    if (status == STS_OK)
        return STS_OK;
    free(*body);
    *body = NULL;
    if (status == STS_ENOMEM)
        return sts_status_set(STS_ENOMEM, err, errlen, "store put %s: out of memory", e->domain);
    return sts_status_set(STS_EINVAL, err, errlen, "store put %s: policy does not read back: %s",
                          e->domain, perr);
}

enum sts_status sts_store_put(struct sts_store *store, const struct sts_store_entry *entry,
                              char *err, size_t errlen)
{
    struct store_op op;
    enum sts_status status;
    char *body = NULL;

    if (entry->policy == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "store put: no policy");
    status = store_format(entry, &body, err, errlen);
    if (status == STS_OK)
        status = store_op_begin(&op, store, "put", entry->domain, entry->id, err, errlen);
    if (status != STS_OK) {
        free(body);
        return status;
    }
    status = store_run(&op, ST_BEGIN, NULL, "");
    if (status == STS_OK) {
        status =
            store_run(&op, ST_PUT, NULL, "ttttiiiii", entry->domain, entry->id, body,
                      sts_mode_name(entry->policy->mode), (int64_t)entry->policy->max_age,
                      entry->fetched_at, entry->expires_at, entry->checked_at, entry->last_used);
        if (status == STS_OK)
            status = store_run(&op, ST_DEL_NEGATIVE, NULL, "t", entry->domain);
        if (status == STS_OK) /* a fetch of this id worked: its back-off is moot */
            status = store_run(&op, ST_DEL_BACKOFF_ID, NULL, "tt", entry->domain, entry->id);
        status = store_txn_end(&op, status);
    }
    store_op_end(&op);
    free(body);
    sts_metrics_store(STS_METRICS_STORE_PUT, status);
    return status;
}

/* One UPDATE of one domain's row; STS_ENOTFOUND when it has none. */
static enum sts_status store_update(struct sts_store *store, const char *what, enum store_stmt id,
                                    const char *domain, int64_t a, int64_t b, bool two, char *err,
                                    size_t errlen)
{
    struct store_op op;
    enum sts_status status;
    int changes = 0;

    status = store_op_begin(&op, store, what, domain, NULL, err, errlen);
    if (status != STS_OK)
        return status;
    if (two)
        status = store_run(&op, id, &changes, "tii", domain, a, b);
    else
        status = store_run(&op, id, &changes, "ti", domain, a);
    store_op_end(&op);
    if (status == STS_OK && changes == 0)
        status = sts_status_set(STS_ENOTFOUND, err, errlen, "store %s %s: no policy", what, domain);
    sts_metrics_store(id == ST_REFRESH ? STS_METRICS_STORE_REFRESH : STS_METRICS_STORE_TOUCH,
                      status);
    return status;
}

enum sts_status sts_store_refresh(struct sts_store *store, const char *domain, int64_t checked_at,
                                  int64_t expires_at, char *err, size_t errlen)
{
    return store_update(store, "refresh", ST_REFRESH, domain, checked_at, expires_at, true, err,
                        errlen);
}

enum sts_status sts_store_touch(struct sts_store *store, const char *domain, int64_t now, char *err,
                                size_t errlen)
{
    return store_update(store, "touch", ST_TOUCH, domain, now, 0, false, err, errlen);
}

/*
 * Three deletes in one transaction, bound to domain unless it is NULL;
 * changes[i] receives the rows removed by the i-th.
 */
static enum sts_status store_delete3(struct store_op *op, const enum store_stmt ids[3],
                                     const char *domain, int changes[3])
{
    enum sts_status status = store_run(op, ST_BEGIN, NULL, "");

    if (status != STS_OK)
        return status;
    for (int i = 0; i < 3 && status == STS_OK; i++)
        status = domain != NULL ? store_run(op, ids[i], &changes[i], "t", domain)
                                : store_run(op, ids[i], &changes[i], "");
    return store_txn_end(op, status);
}

enum sts_status sts_store_delete(struct sts_store *store, const char *domain, char *err,
                                 size_t errlen)
{
    static const enum store_stmt ids[3] = {ST_DEL_POLICY, ST_DEL_NEGATIVE, ST_DEL_BACKOFF};
    struct store_op op;
    enum sts_status status;
    int changes[3] = {0, 0, 0};

    status = store_op_begin(&op, store, "delete", domain, NULL, err, errlen);
    if (status != STS_OK)
        return status;
    status = store_delete3(&op, ids, domain, changes);
    store_op_end(&op);
    if (status == STS_OK && changes[0] + changes[1] + changes[2] == 0)
        status =
            sts_status_set(STS_ENOTFOUND, err, errlen, "store delete %s: nothing stored", domain);
    sts_metrics_store(STS_METRICS_STORE_DELETE, status);
    return status;
}

enum sts_status sts_store_delete_all(struct sts_store *store, size_t *count, char *err,
                                     size_t errlen)
{
    static const enum store_stmt ids[3] = {ST_DEL_ALL_POLICIES, ST_DEL_ALL_NEGATIVE,
                                           ST_DEL_ALL_BACKOFF};
    struct store_op op;
    enum sts_status status;
    int changes[3] = {0, 0, 0};

    if (count != NULL)
        *count = 0;
    status = store_op_begin(&op, store, "delete-all", NULL, NULL, err, errlen);
    if (status != STS_OK)
        return status;
    status = store_delete3(&op, ids, NULL, changes);
    store_op_end(&op);
    if (status == STS_OK && count != NULL)
        *count = (size_t)changes[0];
    sts_metrics_store(STS_METRICS_STORE_DELETE, status);
    return status;
}

/*
 * Read up to STORE_FOREACH_BATCH readable rows after the key *after into
 * batch; *after moves to the last row read, readable or not.
 */
static enum sts_status store_read_batch(struct sts_store *store, char **after,
                                        struct sts_store_entry *batch, size_t *n, size_t *rows,
                                        char *err, size_t errlen)
{
    struct store_op op;
    sqlite3_stmt *st;
    enum sts_status status;
    char why[256];
    int rc;

    *n = *rows = 0;
    status = store_op_begin(&op, store, "foreach", NULL, NULL, err, errlen);
    if (status != STS_OK)
        return status;
    st = op.c->st[ST_LIST];
    rc = store_query(&op, ST_LIST, "ti", *after, (int64_t)STORE_FOREACH_BATCH);
    while (rc == SQLITE_ROW) {
        const unsigned char *key = sqlite3_column_text(st, 0);
        char *copy = key != NULL ? strdup((const char *)key) : NULL;

        if (copy == NULL) {
            status = sts_status_set(STS_ENOMEM, err, errlen, "store foreach: out of memory");
            break;
        }
        free(*after);
        *after = copy;
        (*rows)++;
        status = row_to_entry(st, &batch[*n], why, sizeof(why));
        if (status == STS_ENOMEM) {
            sts_store_entry_clear(&batch[*n]);
            sts_status_set(status, err, errlen, "store foreach: out of memory");
            break;
        }
        if (status == STS_OK)
            (*n)++;
        else
            sts_store_entry_clear(&batch[*n]); /* unreadable row: skipped */
        status = STS_OK;
        rc = sqlite3_step(st);
    }
    if (status == STS_OK && rc != SQLITE_DONE)
        status = store_fail(&op, rc);
    store_stmt_done(st);
    store_op_end(&op);
    return status;
}

enum sts_status sts_store_foreach(struct sts_store *store,
                                  int (*fn)(const struct sts_store_entry *entry, void *arg),
                                  void *arg, char *err, size_t errlen)
{
    struct sts_store_entry *batch = calloc(STORE_FOREACH_BATCH, sizeof(*batch));
    char *after = strdup("");
    enum sts_status status = STS_OK;
    size_t n = 0, rows = STORE_FOREACH_BATCH;
    int stop = 0;

    if (fn == NULL)
        status = sts_status_set(STS_EINVAL, err, errlen, "store foreach: no function");
    else if (batch == NULL || after == NULL)
        status = sts_status_set(STS_ENOMEM, err, errlen, "store foreach: out of memory");
    /* No connection is held while fn runs: it may use the store. */
    while (status == STS_OK && stop == 0 && rows == STORE_FOREACH_BATCH) {
        status = store_read_batch(store, &after, batch, &n, &rows, err, errlen);
        for (size_t i = 0; i < n; i++) {
            if (status == STS_OK && stop == 0)
                stop = fn(&batch[i], arg);
            sts_store_entry_clear(&batch[i]);
        }
    }
    free(after);
    free(batch);
    sts_metrics_store(STS_METRICS_STORE_LIST, status);
    return status;
}

enum sts_status sts_store_negative_get(struct sts_store *store, const char *domain, int64_t now,
                                       struct sts_store_negative *out, char *err, size_t errlen)
{
    struct store_op op;
    enum sts_status status;

    if (out != NULL)
        memset(out, 0, sizeof(*out));
    status = store_op_begin(&op, store, "negative-get", domain, NULL, err, errlen);
    if (status != STS_OK)
        return status;
    status = store_found(&op, store_query(&op, ST_NEG_GET, "ti", domain, now));
    if (status == STS_OK && out != NULL) {
        const unsigned char *reason = sqlite3_column_text(op.c->st[ST_NEG_GET], 1);
        snprintf(out->domain, sizeof(out->domain), "%s", domain);
        out->until = sqlite3_column_int64(op.c->st[ST_NEG_GET], 0);
        snprintf(out->reason, sizeof(out->reason), "%s",
                 reason != NULL ? (const char *)reason : "");
    }
    store_stmt_done(op.c->st[ST_NEG_GET]);
    store_op_end(&op);
    sts_metrics_store(STS_METRICS_STORE_NEGATIVE_GET, status);
    return status;
}

/* A reason as stored: at most STORE_REASON_MAX bytes of src[0..cap). */
static void store_reason(char *dst, const char *src, size_t cap)
{
    size_t len = src != NULL ? strnlen(src, cap) : 0;

    if (len > STORE_REASON_MAX)
        len = STORE_REASON_MAX;
    if (len > 0)
        memcpy(dst, src, len);
    dst[len] = '\0';
}

enum sts_status sts_store_negative_put(struct sts_store *store,
                                       const struct sts_store_negative *neg, char *err,
                                       size_t errlen)
{
    struct store_op op;
    enum sts_status status;
    char reason[STORE_REASON_MAX + 1];

    status = store_op_begin(&op, store, "negative-put", neg->domain, NULL, err, errlen);
    if (status != STS_OK)
        return status;
    store_reason(reason, neg->reason, sizeof(neg->reason));
    status = store_run(&op, ST_NEG_PUT, NULL, "tit", neg->domain, neg->until, reason);
    store_op_end(&op);
    sts_metrics_store(STS_METRICS_STORE_NEGATIVE_PUT, status);
    return status;
}

enum sts_status sts_store_backoff_get(struct sts_store *store, const char *domain, const char *id,
                                      int64_t now, int64_t *until, char *err, size_t errlen)
{
    struct store_op op;
    enum sts_status status;

    if (until != NULL)
        *until = 0;
    status = store_op_begin(&op, store, "backoff-get", domain, id != NULL ? id : "", err, errlen);
    if (status != STS_OK)
        return status;
    status = store_found(&op, store_query(&op, ST_BACKOFF_GET, "tti", domain, id, now));
    if (status == STS_OK && until != NULL)
        *until = sqlite3_column_int64(op.c->st[ST_BACKOFF_GET], 0);
    store_stmt_done(op.c->st[ST_BACKOFF_GET]);
    store_op_end(&op);
    sts_metrics_store(STS_METRICS_STORE_BACKOFF_GET, status);
    return status;
}

enum sts_status sts_store_backoff_put(struct sts_store *store, const char *domain, const char *id,
                                      int64_t until, const char *reason, char *err, size_t errlen)
{
    struct store_op op;
    enum sts_status status;
    char why[STORE_REASON_MAX + 1];

    status = store_op_begin(&op, store, "backoff-put", domain, id != NULL ? id : "", err, errlen);
    if (status != STS_OK)
        return status;
    store_reason(why, reason, STORE_REASON_MAX);
    status = store_run(&op, ST_BACKOFF_PUT, NULL, "ttit", domain, id, until, why);
    store_op_end(&op);
    sts_metrics_store(STS_METRICS_STORE_BACKOFF_PUT, status);
    return status;
}

void sts_store_entry_clear(struct sts_store_entry *entry)
{
    if (entry == NULL)
        return;
    sts_policy_free(entry->policy);
    memset(entry, 0, sizeof(*entry));
}
