/*
 * test_store_learn.c - unit tests of the learned forced TLS rows of the
 * store (store_learn.c; issue 13 item 4): the learned state survives
 * closing and reopening the store (a restart), one domain can be purged
 * alone, all can be purged, foreach walks every row in domain order in
 * batches, and a store of schema version 2 (before learned TLS) is
 * migrated in place with its policy rows kept.
 *
 * Each test point prints "got X, want Y" on failure.
 */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtasts/status.h"
#include "mtasts/store.h"
#include "unit_main.h"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/test_store_learn.XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp %s failed", tmpdir);
    snprintf(dbpath, sizeof(dbpath), "%s/cache.db", tmpdir);
}

static void teardown(void)
{
    DIR *d = opendir(tmpdir);
    struct dirent *de;
    char path[PATH_MAX + 256];
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(tmpdir);
}

static struct sts_store *open_store(void)
{
    struct sts_store *s = NULL;
    char err[512] = "";
    enum sts_status st = sts_store_open(dbpath, &s, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "open %s: got %s, want ok (err: %s)", dbpath, sts_status_word(st),
                  err);
    return s;
}

static const struct sts_learn_state learned = {.present = true,
                                               .since = 1000,
                                               .last_ok = 1000 + 2592000,
                                               .learned_at = 1000 + 2592000,
                                               .last_fail = 1000 + 2600000,
                                               .fails = 3};

START_TEST(test_put_get_survives_reopen)
{
    char err[256] = "";
    struct sts_store *s = open_store();
    ck_assert_int_eq(sts_store_learn_put(s, "partner.example", &learned, err, sizeof(err)), STS_OK);
    sts_store_close(s);
    s = open_store(); /* a restart */
    struct sts_learn_state got;
    enum sts_status st = sts_store_learn_get(s, "partner.example", &got, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "get: got %s, want ok (%s)", sts_status_word(st), err);
    ck_assert_msg(got.present && got.since == learned.since && got.last_ok == learned.last_ok &&
                      got.learned_at == learned.learned_at && got.last_fail == learned.last_fail &&
                      got.fails == learned.fails,
                  "got present=%d since=%lld last_ok=%lld learned_at=%lld last_fail=%lld fails=%u, "
                  "want the row written",
                  got.present, (long long)got.since, (long long)got.last_ok,
                  (long long)got.learned_at, (long long)got.last_fail, got.fails);
    st = sts_store_learn_get(s, "other.example", &got, err, sizeof(err));
    ck_assert_msg(st == STS_OK && !got.present, "absent: got %s present=%d, want ok and absent",
                  sts_status_word(st), got.present);
    sts_store_close(s);
}
END_TEST

START_TEST(test_replace_and_delete)
{
    char err[256] = "";
    struct sts_store *s = open_store();
    struct sts_learn_state a = {.since = 5, .last_ok = 6};
    ck_assert_int_eq(sts_store_learn_put(s, "a.example", &a, err, sizeof(err)), STS_OK);
    a.last_ok = 99;
    ck_assert_int_eq(sts_store_learn_put(s, "a.example", &a, err, sizeof(err)), STS_OK);
    ck_assert_int_eq(sts_store_learn_put(s, "b.example", &learned, err, sizeof(err)), STS_OK);
    struct sts_learn_state got;
    sts_store_learn_get(s, "a.example", &got, err, sizeof(err));
    ck_assert_msg(got.last_ok == 99, "replace: got last_ok %lld, want 99", (long long)got.last_ok);
    /* purge one domain: the other stays */
    ck_assert_int_eq(sts_store_learn_delete(s, "a.example", err, sizeof(err)), STS_OK);
    enum sts_status st = sts_store_learn_delete(s, "a.example", err, sizeof(err));
    ck_assert_msg(st == STS_ENOTFOUND, "second delete: got %s, want not-found",
                  sts_status_word(st));
    sts_store_learn_get(s, "b.example", &got, err, sizeof(err));
    ck_assert_msg(got.present, "b.example: got absent after deleting a.example, want kept");
    size_t n = 0;
    ck_assert_int_eq(sts_store_learn_delete_all(s, &n, err, sizeof(err)), STS_OK);
    ck_assert_msg(n == 1, "delete_all: got %zu rows, want 1", n);
    st = sts_store_learn_get(s, "", &got, err, sizeof(err));
    ck_assert_msg(st == STS_EINVAL, "empty key: got %s, want invalid", sts_status_word(st));
    sts_store_close(s);
}
END_TEST

struct walk {
    size_t n;
    char last[STS_DOMAIN_MAX + 1];
    bool ordered;
};

static int walk_one(const char *domain, const struct sts_learn_state *state, void *arg)
{
    struct walk *w = arg;
    if (strcmp(w->last, domain) >= 0 || !state->present)
        w->ordered = false;
    snprintf(w->last, sizeof(w->last), "%s", domain);
    w->n++;
    return 0;
}

/* 150 rows: more than two batches of 64. */
START_TEST(test_foreach_batches)
{
    char err[256] = "", name[64];
    struct sts_store *s = open_store();
    for (int i = 149; i >= 0; i--) {
        snprintf(name, sizeof(name), "d%03d.example", i);
        ck_assert_int_eq(sts_store_learn_put(s, name, &learned, err, sizeof(err)), STS_OK);
    }
    struct walk w = {.ordered = true};
    ck_assert_int_eq(sts_store_learn_foreach(s, walk_one, &w, err, sizeof(err)), STS_OK);
    ck_assert_msg(w.n == 150 && w.ordered, "foreach: got %zu rows ordered=%d, want 150 in order",
                  w.n, w.ordered);
    sts_store_close(s);
}
END_TEST

/* A version 2 store (probes, no learned_tls) migrates and keeps its rows. */
START_TEST(test_migrates_from_v2)
{
    sqlite3 *db;
    ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
    const char *v2 =
        "CREATE TABLE policies (domain TEXT PRIMARY KEY NOT NULL, id TEXT NOT NULL, body TEXT NOT "
        "NULL, mode TEXT NOT NULL, max_age INTEGER NOT NULL, fetched_at INTEGER NOT NULL, "
        "expires_at INTEGER NOT NULL, checked_at INTEGER NOT NULL, last_used INTEGER NOT NULL);"
        "CREATE INDEX policies_expires_at ON policies (expires_at);"
        "CREATE INDEX policies_last_used ON policies (last_used);"
        "CREATE TABLE negative (domain TEXT PRIMARY KEY NOT NULL, until INTEGER NOT NULL, reason "
        "TEXT NOT NULL);"
        "CREATE TABLE backoff (domain TEXT NOT NULL, id TEXT NOT NULL, until INTEGER NOT NULL, "
        "reason TEXT NOT NULL, PRIMARY KEY (domain, id));"
        "CREATE TABLE probes (host TEXT NOT NULL, port INTEGER NOT NULL, mx_secure INTEGER NOT "
        "NULL, result TEXT NOT NULL, dane INTEGER NOT NULL, detail TEXT NOT NULL, addr TEXT NOT "
        "NULL, tls_version TEXT NOT NULL, cipher TEXT NOT NULL, checked_at INTEGER NOT NULL, "
        "expires_at INTEGER NOT NULL, last_used INTEGER NOT NULL, PRIMARY KEY (host, port, "
        "mx_secure));"
        "CREATE INDEX probes_last_used ON probes (last_used);"
        "INSERT INTO policies VALUES ('kept.example', 'id1', 'version: STSv1\nmode: "
        "enforce\nmax_age: 86400\nmx: mx.kept.example\n', 'enforce', 86400, 1, 4000000000, 1, 1);"
        "PRAGMA user_version = 2;";
    ck_assert_int_eq(sqlite3_exec(db, v2, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    ck_assert_msg(sts_store_schema_version() >= 3, "got schema version %d, want >= 3",
                  sts_store_schema_version());

    char err[256] = "";
    struct sts_store *s = open_store();
    struct sts_store_entry e;
    memset(&e, 0, sizeof(e));
    enum sts_status st = sts_store_get(s, "kept.example", &e, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "policy after migration: got %s, want ok (%s)", sts_status_word(st),
                  err);
    sts_store_entry_clear(&e);
    ck_assert_int_eq(sts_store_learn_put(s, "kept.example", &learned, err, sizeof(err)), STS_OK);
    sts_store_close(s);
}
END_TEST

static Suite *store_learn_suite(void)
{
    Suite *s = suite_create("store_learn");
    TCase *tc = tcase_create("store_learn");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_put_get_survives_reopen);
    tcase_add_test(tc, test_replace_and_delete);
    tcase_add_test(tc, test_foreach_batches);
    tcase_add_test(tc, test_migrates_from_v2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(store_learn_suite());
}
