/*
 * store.c - the persistent store (store.h), on SQLite: the connection
 * pool, the schema and its migrations, opening and closing, and the
 * statement helpers the other files of the module use (store_int.h).
 * The rows live beside it: store_policy.c (policies, negative cache,
 * fetch back-off) and store_probe.c (STARTTLS probe results).  Only
 * store*.c include <sqlite3.h>.
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
#include "mtasts/store.h"
#include "store_int.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define STORE_POOL_SIZE 4  /* connections, opened on demand */
#define STORE_BUSY_MS 5000 /* busy_timeout, and the retry deadline */

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

struct sts_store {
    char *path;
    pthread_mutex_t mu; /* guards idle and nopen, held only for hand-over */
    pthread_cond_t cv;  /* signalled when a connection or a slot frees */
    struct store_conn *idle;
    size_t nopen; /* connections open or being opened, <= STORE_POOL_SIZE */
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

void sts_store_stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/*
 * Bind ?1, ?2, ... from types: 't' a const char * (NULL binds ""), 'i' an
 * int64_t.  Text is bound SQLITE_STATIC: it must outlive the statement's
 * use, which ends with sts_store_stmt_done().
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
enum sts_status sts_store_fail(const struct store_op *op, int rc)
{
    const char *why = op->c != NULL ? sqlite3_errmsg(op->c->db) : sqlite3_errstr(rc);
    return sts_status_set(store_status(rc), op->err, op->errlen, "store %s%s%s: %s", op->what,
                          op->domain[0] != '\0' ? " " : "", op->domain, why);
}

/*
 * Bind a statement, step it once, reset it.  For statements that return
 * no rows; *changes (if not NULL) receives the rows it changed.
 */
enum sts_status sts_store_run(const struct store_op *op, enum store_stmt id, int *changes,
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
        status = sts_store_fail(op, rc);
    else if (changes != NULL)
        *changes = sqlite3_changes(op->c->db);
    sts_store_stmt_done(st);
    return status;
}

/* Bind a query and fetch its first row: SQLITE_ROW, SQLITE_DONE or an error. */
int sts_store_query(const struct store_op *op, enum store_stmt id, const char *types, ...)
{
    va_list ap;
    int rc;

    va_start(ap, types);
    rc = store_bind(op->c->st[id], types, ap);
    va_end(ap);
    return rc == SQLITE_OK ? store_step_first(op->c->st[id]) : rc;
}

/* The status of a single-row lookup: a row, none (STS_ENOTFOUND) or an error. */
enum sts_status sts_store_found(const struct store_op *op, int rc)
{
    if (rc == SQLITE_ROW)
        return STS_OK;
    if (rc == SQLITE_DONE)
        return sts_status_set(STS_ENOTFOUND, op->err, op->errlen, "store %s %s: not found",
                              op->what, op->domain);
    return sts_store_fail(op, rc);
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
static enum sts_status store_conn_open(const char *path, struct store_conn **out, int *rc_out,
                                       char *err, size_t errlen)
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
    /* A newer schema is refused before anything is written (journal_mode
       rewrites the header): a downgrade never touches what a newer
       version wrote.  On a file that is no database this read is what fails. */
    int version = 0;
    if (rc == SQLITE_OK)
        rc = store_user_version(c->db, &version);
    if (rc == SQLITE_OK && (version < 0 || version > STORE_SCHEMA_VERSION)) {
        status = sts_status_set(STS_EIO, err, errlen,
                                "store %s has schema version %d, which this build (version %d) "
                                "does not know: it was written by a newer mtasts-milter",
                                path, version, STORE_SCHEMA_VERSION);
        store_conn_close(c);
        return status;
    }
    if (rc == SQLITE_OK)
        rc = store_exec(c->db, "PRAGMA journal_mode = WAL");
    if (rc == SQLITE_OK)
        rc = store_exec(c->db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON");
    if (rc != SQLITE_OK) {
        status = sts_status_set(store_status(rc), err, errlen, "store %s: cannot open: %s", path,
                                c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        if (rc_out != NULL)
            *rc_out = rc;
        store_conn_close(c);
        return status;
    }
    /* a file the OS lets us read only is opened read-only, silently: say so */
    if (sqlite3_db_readonly(c->db, "main") == 1) {
        if (rc_out != NULL)
            *rc_out = SQLITE_READONLY;
        store_conn_close(c);
        return sts_status_set(STS_EIO, err, errlen, "store %s: the file is read-only", path);
    }
    status = store_migrate(c->db, path, err, errlen);
    if (status != STS_OK && rc_out != NULL)
        *rc_out = sqlite3_extended_errcode(c->db);
    for (int i = 0; i < ST_COUNT && status == STS_OK; i++) {
        rc = sqlite3_prepare_v3(c->db, sts_store_policy_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                &c->st[i], NULL);
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
    status = store_conn_open(s->path, out, NULL, err, errlen);
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
enum sts_status sts_store_op_begin(struct store_op *op, struct sts_store *store, const char *what,
                                   const char *domain, const char *id, char *err, size_t errlen)
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

void sts_store_op_end(struct store_op *op)
{
    if (op->c != NULL)
        store_return(op->store, op->c);
    op->c = NULL;
}

/*
 * End a write transaction (begun with ST_BEGIN): COMMIT if all went well,
 * else ROLLBACK, keeping the first error in err.
 */
enum sts_status sts_store_txn_end(const struct store_op *op, enum sts_status status)
{
    if (status == STS_OK)
        status = sts_store_run(op, ST_COMMIT, NULL, "");
    if (status != STS_OK && !sqlite3_get_autocommit(op->c->db)) {
        store_step_first(op->c->st[ST_ROLLBACK]);
        sts_store_stmt_done(op->c->st[ST_ROLLBACK]);
    }
    return status;
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

/*
 * Is the file shorter than its own header says (a truncated copy)?  The
 * header's page count (offset 28) is valid when its change counter
 * (offset 24) equals "version-valid-for" (offset 92); the page size is
 * at offset 16 (1 meaning 65536).  A file too short for a header, or
 * that cannot be read, is left to SQLite.
 */
static bool store_truncated(const char *path)
{
    unsigned char h[100];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return false;
    size_t n = fread(h, 1, sizeof(h), f);
    bool cut = false;
    if (n == sizeof(h) && memcmp(h, "SQLite format 3", 16) == 0 && memcmp(h + 24, h + 92, 4) == 0 &&
        fseek(f, 0, SEEK_END) == 0) {
        unsigned page = (unsigned)h[16] << 8 | h[17];
        uint64_t pages =
            (uint64_t)h[28] << 24 | (uint64_t)h[29] << 16 | (uint64_t)h[30] << 8 | h[31];
        long size = ftell(f);
        if (page == 1)
            page = 65536;
        cut = size >= 0 && pages > 0 && (uint64_t)size < pages * page;
    }
    fclose(f);
    return cut;
}

/* What a failed first open means (struct sts_store_open_info). */
static void store_classify(int rc, struct sts_store_open_info *info)
{
    switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        info->damaged = true;
        break;
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_PERM:
        info->unwritable = true;
        break;
    default:
        break;
    }
}

/* Move the damaged file (and its -wal/-shm) aside as PATH.corrupt-UNIXTIME. */
static enum sts_status store_quarantine(const char *path, struct sts_store_open_info *info,
                                        char *err, size_t errlen)
{
    char side[4200];
    snprintf(info->moved_to, sizeof(info->moved_to), "%s.corrupt-%lld", path,
             (long long)time(NULL));
    if (rename(path, info->moved_to) != 0)
        return sts_status_set(STS_EIO, err, errlen,
                              "store %s is damaged and cannot be moved to %s: %s", path,
                              info->moved_to, strerror(errno));
    const char *suffix[] = {"-wal", "-shm"};
    for (size_t i = 0; i < 2; i++) {
        char moved[4300];
        snprintf(side, sizeof(side), "%s%s", path, suffix[i]);
        snprintf(moved, sizeof(moved), "%s%s", info->moved_to, suffix[i]);
        (void)rename(side, moved); /* absent is fine */
    }
    info->quarantined = true;
    return STS_OK;
}

enum sts_status sts_store_files(const char *spec, void (*fn)(const char *path, void *arg),
                                void *arg, char *err, size_t errlen)
{
    static const char *const sides[] = {"", "-wal", "-shm"}; /* WAL mode's files */
    const char *path = NULL;
    char fixed[4096], name[4096 + 8];
    enum sts_status status = store_parse_spec(spec, &path, fixed, sizeof(fixed), err, errlen);
    if (status != STS_OK)
        return status;
    for (size_t i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
        if ((size_t)snprintf(name, sizeof(name), "%s%s", path, sides[i]) >= sizeof(name))
            return sts_status_set(STS_EINVAL, err, errlen, "store: path too long");
        fn(name, arg);
    }
    return STS_OK;
}

enum sts_status sts_store_open(const char *spec, struct sts_store **out, char *err, size_t errlen)
{
    return sts_store_open2(spec, false, out, NULL, err, errlen);
}

enum sts_status sts_store_open2(const char *spec, bool repair, struct sts_store **out,
                                struct sts_store_open_info *info, char *err, size_t errlen)
{
    struct sts_store *s;
    struct store_conn *c = NULL;
    const char *path = NULL;
    char fixed[4096];
    enum sts_status status;
    struct sts_store_open_info scratch;

    *out = NULL;
    if (info == NULL)
        info = &scratch;
    memset(info, 0, sizeof(*info));
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
    for (int attempt = 0;; attempt++) {
        int rc = SQLITE_OK;
        if (store_truncated(path)) {
            rc = SQLITE_CORRUPT;
            status = sts_status_set(STS_EIO, err, errlen,
                                    "store %s is shorter than its header says (truncated)", path);
        } else {
            status = store_conn_open(path, &c, &rc, err, errlen);
        }
        if (status == STS_OK)
            break;
        store_classify(rc, info);
        snprintf(info->why, sizeof(info->why), "%s", err != NULL ? err : "");
        if (!(repair && info->damaged && attempt == 0) ||
            store_quarantine(path, info, err, errlen) != STS_OK) {
            sts_store_close(s);
            return status;
        }
        info->damaged = false; /* the next attempt is a fresh file */
    }
    s->nopen = 1;
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
