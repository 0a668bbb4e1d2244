/*
 * store_policy.c - the policy rows of the store (store.h): the cached
 * policies, the negative cache and the fetch back-off.  These run on the
 * milter's lookup path (a front miss reads the store in the RCPT thread),
 * so their statements are prepared once per connection by store.c from
 * sts_store_policy_sql[] below; the SQL helpers, the pool and the schema
 * are store.c's (store_int.h).
 *
 * Locking: none of its own; see store.h.
 */
#include "mtasts/store.h"
#include "mtasts/metrics.h"
#include "store_int.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_FOREACH_BATCH 64 /* rows read per borrowed connection */
#define STORE_REASON_MAX 255   /* bytes of a reason kept in the database */

/* ST_GET and ST_LIST return the columns row_to_entry() reads, in order. */
#define ENTRY_COLUMNS "domain, id, body, fetched_at, expires_at, checked_at, last_used"

const char *const sts_store_policy_sql[ST_COUNT] = {
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

enum sts_status sts_store_get(struct sts_store *store, const char *domain,
                              struct sts_store_entry *out, char *err, size_t errlen)
{
    struct store_op op;
    enum sts_status status;
    char why[256];

    memset(out, 0, sizeof(*out));
    status = sts_store_op_begin(&op, store, "get", domain, NULL, err, errlen);
    if (status != STS_OK)
        return status;
    status = sts_store_found(&op, sts_store_query(&op, ST_GET, "t", domain));
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
    sts_store_stmt_done(op.c->st[ST_GET]);
    sts_store_op_end(&op);
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
        status = sts_store_op_begin(&op, store, "put", entry->domain, entry->id, err, errlen);
    if (status != STS_OK) {
        free(body);
        return status;
    }
    status = sts_store_run(&op, ST_BEGIN, NULL, "");
    if (status == STS_OK) {
        status = sts_store_run(&op, ST_PUT, NULL, "ttttiiiii", entry->domain, entry->id, body,
                               sts_mode_name(entry->policy->mode), (int64_t)entry->policy->max_age,
                               entry->fetched_at, entry->expires_at, entry->checked_at,
                               entry->last_used);
        if (status == STS_OK)
            status = sts_store_run(&op, ST_DEL_NEGATIVE, NULL, "t", entry->domain);
        if (status == STS_OK) /* a fetch of this id worked: its back-off is moot */
            status = sts_store_run(&op, ST_DEL_BACKOFF_ID, NULL, "tt", entry->domain, entry->id);
        status = sts_store_txn_end(&op, status);
    }
    sts_store_op_end(&op);
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

    status = sts_store_op_begin(&op, store, what, domain, NULL, err, errlen);
    if (status != STS_OK)
        return status;
    if (two)
        status = sts_store_run(&op, id, &changes, "tii", domain, a, b);
    else
        status = sts_store_run(&op, id, &changes, "ti", domain, a);
    sts_store_op_end(&op);
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
    enum sts_status status = sts_store_run(op, ST_BEGIN, NULL, "");

    if (status != STS_OK)
        return status;
    for (int i = 0; i < 3 && status == STS_OK; i++)
        status = domain != NULL ? sts_store_run(op, ids[i], &changes[i], "t", domain)
                                : sts_store_run(op, ids[i], &changes[i], "");
    return sts_store_txn_end(op, status);
}

enum sts_status sts_store_delete(struct sts_store *store, const char *domain, char *err,
                                 size_t errlen)
{
    static const enum store_stmt ids[3] = {ST_DEL_POLICY, ST_DEL_NEGATIVE, ST_DEL_BACKOFF};
    struct store_op op;
    enum sts_status status;
    int changes[3] = {0, 0, 0};

    status = sts_store_op_begin(&op, store, "delete", domain, NULL, err, errlen);
    if (status != STS_OK)
        return status;
    status = store_delete3(&op, ids, domain, changes);
    sts_store_op_end(&op);
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
    status = sts_store_op_begin(&op, store, "delete-all", NULL, NULL, err, errlen);
    if (status != STS_OK)
        return status;
    status = store_delete3(&op, ids, NULL, changes);
    sts_store_op_end(&op);
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
    status = sts_store_op_begin(&op, store, "foreach", NULL, NULL, err, errlen);
    if (status != STS_OK)
        return status;
    st = op.c->st[ST_LIST];
    rc = sts_store_query(&op, ST_LIST, "ti", *after, (int64_t)STORE_FOREACH_BATCH);
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
        status = sts_store_fail(&op, rc);
    sts_store_stmt_done(st);
    sts_store_op_end(&op);
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
    status = sts_store_op_begin(&op, store, "negative-get", domain, NULL, err, errlen);
    if (status != STS_OK)
        return status;
    status = sts_store_found(&op, sts_store_query(&op, ST_NEG_GET, "ti", domain, now));
    if (status == STS_OK && out != NULL) {
        const unsigned char *reason = sqlite3_column_text(op.c->st[ST_NEG_GET], 1);
        snprintf(out->domain, sizeof(out->domain), "%s", domain);
        out->until = sqlite3_column_int64(op.c->st[ST_NEG_GET], 0);
        snprintf(out->reason, sizeof(out->reason), "%s",
                 reason != NULL ? (const char *)reason : "");
    }
    sts_store_stmt_done(op.c->st[ST_NEG_GET]);
    sts_store_op_end(&op);
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

    status = sts_store_op_begin(&op, store, "negative-put", neg->domain, NULL, err, errlen);
    if (status != STS_OK)
        return status;
    store_reason(reason, neg->reason, sizeof(neg->reason));
    status = sts_store_run(&op, ST_NEG_PUT, NULL, "tit", neg->domain, neg->until, reason);
    sts_store_op_end(&op);
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
    status =
        sts_store_op_begin(&op, store, "backoff-get", domain, id != NULL ? id : "", err, errlen);
    if (status != STS_OK)
        return status;
    status = sts_store_found(&op, sts_store_query(&op, ST_BACKOFF_GET, "tti", domain, id, now));
    if (status == STS_OK && until != NULL)
        *until = sqlite3_column_int64(op.c->st[ST_BACKOFF_GET], 0);
    sts_store_stmt_done(op.c->st[ST_BACKOFF_GET]);
    sts_store_op_end(&op);
    sts_metrics_store(STS_METRICS_STORE_BACKOFF_GET, status);
    return status;
}

enum sts_status sts_store_backoff_put(struct sts_store *store, const char *domain, const char *id,
                                      int64_t until, const char *reason, char *err, size_t errlen)
{
    struct store_op op;
    enum sts_status status;
    char why[STORE_REASON_MAX + 1];

    status =
        sts_store_op_begin(&op, store, "backoff-put", domain, id != NULL ? id : "", err, errlen);
    if (status != STS_OK)
        return status;
    store_reason(why, reason, STORE_REASON_MAX);
    status = sts_store_run(&op, ST_BACKOFF_PUT, NULL, "ttit", domain, id, until, why);
    sts_store_op_end(&op);
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
