/*
 * test_store.c - unit tests of the persistent policy cache (store.h).
 *
 * Guards RFC 8461 §5 (a cached policy, with the id it was fetched under
 * and its max_age, is used until it expires and survives restarts; a
 * failed fetch leaves it in place) through the store contract of
 * include/mtasts/store.h: the "sqlite:" spec, schema versioning (a newer
 * schema or a corrupt file is refused cleanly), put/get round trips,
 * transactions across the three tables, foreach order, negative cache and
 * back-off expiry, and concurrent callers that never see SQLITE_BUSY.
 *
 * Every test runs against a fresh database in its own mktemp directory.
 * The test, unlike the milter, opens the database with SQLite directly:
 * to read PRAGMAs and to damage rows the store would never write.
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mtasts/policy.h"
#include "mtasts/status.h"
#include "mtasts/store.h"
#include "unit_main.h"

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define BODY_ENFORCE                                                                               \
    "version: STSv1\nmode: enforce\nmax_age: 86400\nmx: mail.example.com\n"                        \
    "mx: *.example.net\nmx: backupmx.example.com\n"
#define BODY_TESTING "version: STSv1\nmode: testing\nmax_age: 604800\nmx: mx.example.org\n"
#define BODY_NONE "version: STSv1\nmode: none\nmax_age: 300\n"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];

static void setup(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmpdir, sizeof(tmpdir), "%s/test_store.XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp %s failed", tmpdir);
    snprintf(dbpath, sizeof(dbpath), "%s/cache.db", tmpdir);
}

/* Remove the database, its -wal and -shm, and anything else left behind. */
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
        if (unlink(path) != 0)
            rmdir(path);
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
    ck_assert_ptr_nonnull(s);
    return s;
}

static struct sts_policy *policy_of(const char *body)
{
    struct sts_policy *p = NULL;
    char err[256] = "";
    enum sts_status st = sts_policy_parse(body, strlen(body), &p, err, sizeof(err));

    ck_assert_msg(st == STS_OK, "test policy does not parse: %s", err);
    return p;
}

/* An entry for domain with times base, base+1, base+2, base+3. */
static void entry_init(struct sts_store_entry *e, const char *domain, const char *id,
                       const char *body, int64_t base)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->domain, sizeof(e->domain), "%s", domain);
    snprintf(e->id, sizeof(e->id), "%s", id);
    e->policy = policy_of(body);
    e->fetched_at = base;
    e->expires_at = base + 1;
    e->checked_at = base + 2;
    e->last_used = base + 3;
}

static void put_ok(struct sts_store *s, const char *domain, const char *id, const char *body,
                   int64_t base)
{
    struct sts_store_entry e;
    char err[512] = "";
    enum sts_status st;

    entry_init(&e, domain, id, body, base);
    st = sts_store_put(s, &e, err, sizeof(err));
    sts_store_entry_clear(&e);
    ck_assert_msg(st == STS_OK, "put %s: got %s, want ok (err: %s)", domain, sts_status_word(st),
                  err);
}

static enum sts_status get(struct sts_store *s, const char *domain, struct sts_store_entry *e)
{
    char err[512] = "";
    return sts_store_get(s, domain, e, err, sizeof(err));
}

/* Run SQL on the database behind the store's back; returns the first column of the last row. */
static long long db_exec(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    int rc = sqlite3_open(dbpath, &db);

    ck_assert_msg(rc == SQLITE_OK, "sqlite3_open: %s", sqlite3_errmsg(db));
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "prepare %s: %s", sql,
                  sqlite3_errmsg(db));
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    ck_assert_msg(rc == SQLITE_DONE, "step %s: %s", sql, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");

    ck_assert_msg(f != NULL, "cannot create %s", path);
    ck_assert(fwrite(data, 1, len, f) == len || len == 0);
    ck_assert(fclose(f) == 0);
}

/* ---- open ----------------------------------------------------------- */

START_TEST(test_open_creates)
{
    struct sts_store *s;
    struct stat sb;
    sqlite3 *db;
    sqlite3_stmt *st;
    const char *mode;

    ck_assert_msg(stat(dbpath, &sb) != 0, "case open_creates: %s exists before open", dbpath);
    s = open_store();
    ck_assert_msg(stat(dbpath, &sb) == 0, "case open_creates: got no file, want %s", dbpath);
    ck_assert_int_ge(sts_store_schema_version(), 1);
    ck_assert_msg(db_exec("PRAGMA user_version") == sts_store_schema_version(),
                  "case open_creates: got user_version %lld, want %d",
                  db_exec("PRAGMA user_version"), sts_store_schema_version());
    ck_assert(sqlite3_open(dbpath, &db) == SQLITE_OK);
    ck_assert(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK);
    ck_assert(sqlite3_step(st) == SQLITE_ROW);
    mode = (const char *)sqlite3_column_text(st, 0);
    ck_assert_msg(strcmp(mode, "wal") == 0, "case open_creates: got journal_mode %s, want wal",
                  mode);
    sqlite3_finalize(st);
    sqlite3_close(db);
    ck_assert_msg(db_exec("SELECT count(*) FROM sqlite_master WHERE name IN ('policies', "
                          "'negative', 'backoff', 'policies_expires_at', 'policies_last_used')") ==
                      5,
                  "case open_creates: want the three tables and two indexes");
    sts_store_close(s);
    sts_store_close(NULL); /* a no-op */
}
END_TEST

/* An existing empty file is an empty database: it gets the schema. */
START_TEST(test_open_empty_file)
{
    struct sts_store *s;

    write_file(dbpath, "", 0);
    s = open_store();
    ck_assert_msg(db_exec("PRAGMA user_version") == sts_store_schema_version(),
                  "case empty_file: got user_version %lld, want %d", db_exec("PRAGMA user_version"),
                  sts_store_schema_version());
    sts_store_close(s);
}
END_TEST

enum spec_path { SPEC_NONE, SPEC_DB, SPEC_DIR };

struct spec_case {
    const char *name;
    const char *prefix;
    enum spec_path path;
    const char *suffix;
    enum sts_status want;
    const char *want_err; /* a substring of err, when want is not STS_OK */
};

static const struct spec_case spec_cases[] = {
    {"bare_path", "", SPEC_DB, "", STS_OK, NULL},
    {"sqlite_scheme", "sqlite:", SPEC_DB, "", STS_OK, NULL},
    {"sqlite_scheme_upper", "SQLite:", SPEC_DB, "", STS_OK, NULL},
    {"unknown_scheme", "redis:", SPEC_DB, "", STS_EINVAL, "unknown store backend"},
    {"unknown_url", "lmdb://", SPEC_DB, "", STS_EINVAL, "unknown store backend"},
    {"file_uri_refused", "file:", SPEC_DB, "", STS_EINVAL, "unknown store backend"},
    {"empty_spec", "", SPEC_NONE, "", STS_EINVAL, "empty path"},
    {"sqlite_empty_path", "sqlite:", SPEC_NONE, "", STS_EINVAL, "empty path"},
    {"memory_refused", ":memory:", SPEC_NONE, "", STS_EINVAL, "in-memory"},
    {"sqlite_memory_refused", "sqlite::memory:", SPEC_NONE, "", STS_EINVAL, "in-memory"},
    {"missing_directory", "sqlite:", SPEC_DIR, "/no/such/dir/cache.db", STS_EIO, "cannot open"},
    {"directory_not_file", "", SPEC_DIR, "", STS_EIO, "cannot open"},
};

START_TEST(test_open_spec)
{
    const struct spec_case *c = &spec_cases[_i];
    const char *path = c->path == SPEC_DB ? dbpath : c->path == SPEC_DIR ? tmpdir : "";
    char spec[PATH_MAX * 2 + 64];
    char err[512] = "";
    struct sts_store *s = (struct sts_store *)&s; /* not NULL: open must reset it */
    enum sts_status st;

    snprintf(spec, sizeof(spec), "%s%s%s", c->prefix, path, c->suffix);
    st = sts_store_open(spec, &s, err, sizeof(err));
    ck_assert_msg(st == c->want, "case %s: got %s, want %s (err: %s)", c->name, sts_status_word(st),
                  sts_status_word(c->want), err);
    if (c->want == STS_OK) {
        ck_assert_ptr_nonnull(s);
        sts_store_close(s);
    } else {
        ck_assert_msg(s == NULL, "case %s: got a store on failure, want NULL", c->name);
        ck_assert_msg(strstr(err, c->want_err) != NULL, "case %s: got err \"%s\", want \"%s\"",
                      c->name, err, c->want_err);
    }
}
END_TEST

/* A database written by a newer build is refused and left alone. */
START_TEST(test_open_newer_schema)
{
    struct sts_store *s = open_store();
    char sql[64], err[512] = "";
    enum sts_status st;
    int newer = sts_store_schema_version() + 1;

    sts_store_close(s);
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", newer);
    db_exec(sql);
    st = sts_store_open(dbpath, &s, err, sizeof(err));
    ck_assert_msg(st == STS_EIO, "case newer_schema: got %s, want io (err: %s)",
                  sts_status_word(st), err);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, "newer") != NULL, "case newer_schema: got err \"%s\", want \"newer\"",
                  err);
    ck_assert_msg(db_exec("PRAGMA user_version") == newer,
                  "case newer_schema: got user_version %lld, want %d untouched",
                  db_exec("PRAGMA user_version"), newer);
}
END_TEST

struct corrupt_case {
    const char *name;
    const char *fill; /* repeated to size bytes */
    size_t size;
};

static const struct corrupt_case corrupt_cases[] = {
    {"text_file", "this is not a database, it is a text file\n", 8192},
    {"zero_bytes_4k", "\0", 4096},
    {"garbage", "\x8f\x13\xa7\xfe\x01\x42\x99", 10000},
    {"short_text", "x", 10},
};

START_TEST(test_open_corrupt)
{
    const struct corrupt_case *c = &corrupt_cases[_i];
    size_t flen = c->fill[0] != '\0' ? strlen(c->fill) : 1;
    char *data = malloc(c->size);
    struct sts_store *s = NULL;
    char err[512] = "";
    enum sts_status st;

    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < c->size; i++)
        data[i] = c->fill[i % flen];
    write_file(dbpath, data, c->size);
    free(data);
    st = sts_store_open(dbpath, &s, err, sizeof(err));
    ck_assert_msg(st == STS_EIO, "case %s: got %s, want io (err: %s)", c->name, sts_status_word(st),
                  err);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err, dbpath) != NULL, "case %s: got err \"%s\", want the path in it",
                  c->name, err);
}
END_TEST

START_TEST(test_reopen_keeps_data)
{
    struct sts_store *s = open_store();
    struct sts_store_entry e;
    struct sts_store_negative neg = {.domain = "none.example", .until = 5000, .reason = "no-txt"};
    char err[512] = "";
    int64_t until = 0;

    put_ok(s, "example.com", "id1", BODY_ENFORCE, 100);
    ck_assert(sts_store_negative_put(s, &neg, err, sizeof(err)) == STS_OK);
    ck_assert(sts_store_backoff_put(s, "example.org", "id9", 7000, "timeout", err, sizeof(err)) ==
              STS_OK);
    sts_store_close(s);

    s = open_store();
    ck_assert_msg(get(s, "example.com", &e) == STS_OK, "case reopen: policy lost");
    ck_assert_str_eq(e.id, "id1");
    ck_assert_uint_eq(e.policy->mx_count, 3);
    sts_store_entry_clear(&e);
    ck_assert_msg(sts_store_negative_get(s, "none.example", 1, &neg, err, sizeof(err)) == STS_OK,
                  "case reopen: negative entry lost (%s)", err);
    ck_assert_msg(sts_store_backoff_get(s, "example.org", "id9", 1, &until, err, sizeof(err)) ==
                      STS_OK,
                  "case reopen: back-off lost (%s)", err);
    ck_assert_int_eq(until, 7000);
    sts_store_close(s);
}
END_TEST

/* ---- policies -------------------------------------------------------- */

struct roundtrip_case {
    const char *name;
    const char *domain;
    const char *id;
    const char *body;
    enum sts_mode mode;
    uint32_t max_age;
    size_t mx_count;
    const char *mx[3];
};

static const struct roundtrip_case roundtrip_cases[] = {
    {"enforce_three_mx",
     "example.com",
     "20160831085700Z",
     BODY_ENFORCE,
     STS_MODE_ENFORCE,
     86400,
     3,
     {"mail.example.com", "*.example.net", "backupmx.example.com"}},
    {"testing_one_mx",
     "example.org",
     "a",
     BODY_TESTING,
     STS_MODE_TESTING,
     604800,
     1,
     {"mx.example.org"}},
    {"none_no_mx",
     "xn--bcher-kva.example",
     "ABCdef0123456789ABCdef0123456789",
     BODY_NONE,
     STS_MODE_NONE,
     300,
     0,
     {NULL}},
    {"crlf_body_canonical",
     "crlf.example",
     "x",
     "version: STSv1\r\nmode: enforce\r\nmx: MX.Example.COM.\r\nmax_age: 1\r\n",
     STS_MODE_ENFORCE,
     1,
     1,
     {"mx.example.com"}},
};

START_TEST(test_roundtrip)
{
    const struct roundtrip_case *c = &roundtrip_cases[_i];
    struct sts_store *s = open_store();
    struct sts_store_entry e;

    put_ok(s, c->domain, c->id, c->body, 1700000000);
    ck_assert_msg(get(s, c->domain, &e) == STS_OK, "case %s: get failed", c->name);
    ck_assert_msg(strcmp(e.domain, c->domain) == 0, "case %s: got domain %s, want %s", c->name,
                  e.domain, c->domain);
    ck_assert_msg(strcmp(e.id, c->id) == 0, "case %s: got id %s, want %s", c->name, e.id, c->id);
    ck_assert_msg(e.policy->mode == c->mode, "case %s: got mode %s, want %s", c->name,
                  sts_mode_name(e.policy->mode), sts_mode_name(c->mode));
    ck_assert_msg(e.policy->max_age == c->max_age, "case %s: got max_age %u, want %u", c->name,
                  e.policy->max_age, c->max_age);
    ck_assert_msg(e.policy->mx_count == c->mx_count, "case %s: got %zu mx, want %zu", c->name,
                  e.policy->mx_count, c->mx_count);
    for (size_t i = 0; i < c->mx_count; i++)
        ck_assert_msg(strcmp(e.policy->mx[i], c->mx[i]) == 0, "case %s: got mx[%zu] %s, want %s",
                      c->name, i, e.policy->mx[i], c->mx[i]);
    ck_assert_msg(e.fetched_at == 1700000000 && e.expires_at == 1700000001 &&
                      e.checked_at == 1700000002 && e.last_used == 1700000003,
                  "case %s: got times %lld %lld %lld %lld, want 1700000000..3", c->name,
                  (long long)e.fetched_at, (long long)e.expires_at, (long long)e.checked_at,
                  (long long)e.last_used);
    sts_store_entry_clear(&e);
    ck_assert_ptr_null(e.policy);
    sts_store_entry_clear(&e); /* safe on a zeroed entry */
    sts_store_entry_clear(NULL);
    sts_store_close(s);
}
END_TEST

START_TEST(test_get_absent)
{
    struct sts_store *s = open_store();
    struct sts_store_entry e;
    char err[512] = "";
    enum sts_status st = sts_store_get(s, "absent.example", &e, err, sizeof(err));

    ck_assert_msg(st == STS_ENOTFOUND, "case get_absent: got %s, want not-found",
                  sts_status_word(st));
    ck_assert_ptr_null(e.policy);
    sts_store_close(s);
}
END_TEST

START_TEST(test_put_replaces)
{
    struct sts_store *s = open_store();
    struct sts_store_entry e;
    struct sts_store_negative neg = {.domain = "example.com", .until = 9000, .reason = "no-txt"};
    char err[512] = "";
    int64_t until;

    put_ok(s, "example.com", "old", BODY_ENFORCE, 100);
    ck_assert(sts_store_negative_put(s, &neg, err, sizeof(err)) == STS_OK);
    ck_assert(sts_store_backoff_put(s, "example.com", "new", 9000, "http-500", err, sizeof(err)) ==
              STS_OK);
    ck_assert(sts_store_backoff_put(s, "example.com", "other", 9000, NULL, err, sizeof(err)) ==
              STS_OK);
    put_ok(s, "example.com", "new", BODY_TESTING, 200);

    ck_assert(get(s, "example.com", &e) == STS_OK);
    ck_assert_msg(strcmp(e.id, "new") == 0, "case put_replaces: got id %s, want new", e.id);
    ck_assert_msg(e.policy->mode == STS_MODE_TESTING && e.policy->mx_count == 1,
                  "case put_replaces: got the old policy back");
    ck_assert_int_eq(e.fetched_at, 200);
    sts_store_entry_clear(&e);
    ck_assert_int_eq(db_exec("SELECT count(*) FROM policies"), 1);
    ck_assert_msg(sts_store_negative_get(s, "example.com", 0, NULL, err, sizeof(err)) ==
                      STS_ENOTFOUND,
                  "case put_replaces: the negative entry survived the put");
    ck_assert_msg(sts_store_backoff_get(s, "example.com", "new", 0, &until, err, sizeof(err)) ==
                      STS_ENOTFOUND,
                  "case put_replaces: the back-off of the stored id survived the put");
    ck_assert_msg(sts_store_backoff_get(s, "example.com", "other", 0, &until, err, sizeof(err)) ==
                      STS_OK,
                  "case put_replaces: the back-off of another id was dropped");
    ck_assert_str_eq(
        (db_exec("SELECT mode = 'testing' AND max_age = 604800 FROM policies") == 1) ? "y" : "n",
        "y");
    sts_store_close(s);
}
END_TEST

struct bad_put_case {
    const char *name;
    const char *domain; /* NULL: the whole array filled, no NUL */
    const char *id;
    int policy; /* 0 none, 1 valid, 2 one whose canonical form does not parse */
};

#define D63 "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabc"

static const struct bad_put_case bad_put_cases[] = {
    {"empty_domain", "", "id", 1},
    {"domain_254_no_nul", NULL, "id", 1},
    {"empty_id", "example.com", "", 1},
    {"no_policy", "example.com", "id", 0},
    {"enforce_without_mx", "example.com", "id", 2},
};

START_TEST(test_put_rejects)
{
    const struct bad_put_case *c = &bad_put_cases[_i];
    struct sts_store *s = open_store();
    struct sts_store_entry e;
    struct sts_policy bad = {.mode = STS_MODE_ENFORCE, .max_age = 60, .mx_count = 0, .mx = NULL};
    char err[512] = "";
    enum sts_status st;

    memset(&e, 0, sizeof(e));
    if (c->domain != NULL)
        snprintf(e.domain, sizeof(e.domain), "%s", c->domain);
    else
        memset(e.domain, 'a', sizeof(e.domain));
    snprintf(e.id, sizeof(e.id), "%s", c->id);
    e.policy = c->policy == 1 ? policy_of(BODY_NONE) : c->policy == 2 ? &bad : NULL;
    st = sts_store_put(s, &e, err, sizeof(err));
    ck_assert_msg(st == STS_EINVAL, "case %s: got %s, want invalid (err: %s)", c->name,
                  sts_status_word(st), err);
    ck_assert_msg(err[0] != '\0', "case %s: got an empty reason", c->name);
    if (c->policy == 1)
        sts_policy_free(e.policy);
    ck_assert_int_eq(db_exec("SELECT count(*) FROM policies"), 0);
    sts_store_close(s);
}
END_TEST

START_TEST(test_refresh)
{
    struct sts_store *s = open_store();
    struct sts_store_entry e;
    char err[512] = "";
    enum sts_status st;

    put_ok(s, "example.com", "id1", BODY_ENFORCE, 100);
    st = sts_store_refresh(s, "example.com", 5000, 6000, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case refresh: got %s (err: %s)", sts_status_word(st), err);
    ck_assert(get(s, "example.com", &e) == STS_OK);
    ck_assert_msg(e.checked_at == 5000 && e.expires_at == 6000,
                  "case refresh: got checked_at %lld expires_at %lld, want 5000 6000",
                  (long long)e.checked_at, (long long)e.expires_at);
    ck_assert_msg(e.fetched_at == 100 && e.last_used == 103 && strcmp(e.id, "id1") == 0 &&
                      e.policy->mx_count == 3,
                  "case refresh: changed more than checked_at and expires_at");
    sts_store_entry_clear(&e);
    st = sts_store_refresh(s, "absent.example", 1, 2, err, sizeof(err));
    ck_assert_msg(st == STS_ENOTFOUND, "case refresh_absent: got %s, want not-found",
                  sts_status_word(st));
    sts_store_close(s);
}
END_TEST

START_TEST(test_touch)
{
    struct sts_store *s = open_store();
    struct sts_store_entry e;
    char err[512] = "";
    enum sts_status st;

    put_ok(s, "example.com", "id1", BODY_ENFORCE, 100); /* last_used 103 */
    ck_assert(sts_store_touch(s, "example.com", 500, err, sizeof(err)) == STS_OK);
    ck_assert(get(s, "example.com", &e) == STS_OK);
    ck_assert_msg(e.last_used == 500, "case touch: got last_used %lld, want 500",
                  (long long)e.last_used);
    ck_assert_msg(e.fetched_at == 100 && e.expires_at == 101 && e.checked_at == 102,
                  "case touch: changed more than last_used");
    sts_store_entry_clear(&e);
    /* An older touch (another thread's, batched late) does not move it back. */
    ck_assert(sts_store_touch(s, "example.com", 400, err, sizeof(err)) == STS_OK);
    ck_assert(get(s, "example.com", &e) == STS_OK);
    ck_assert_msg(e.last_used == 500, "case touch_older: got last_used %lld, want 500",
                  (long long)e.last_used);
    sts_store_entry_clear(&e);
    st = sts_store_touch(s, "absent.example", 1, err, sizeof(err));
    ck_assert_msg(st == STS_ENOTFOUND, "case touch_absent: got %s, want not-found",
                  sts_status_word(st));
    sts_store_close(s);
}
END_TEST

START_TEST(test_delete)
{
    struct sts_store *s = open_store();
    struct sts_store_entry e;
    struct sts_store_negative neg = {.domain = "a.example", .until = 9000, .reason = "x"};
    char err[512] = "";
    size_t count = 99;
    enum sts_status st;

    put_ok(s, "a.example", "id", BODY_NONE, 1);
    put_ok(s, "b.example", "id", BODY_NONE, 1);
    put_ok(s, "c.example", "id", BODY_NONE, 1);
    ck_assert(sts_store_negative_put(s, &neg, err, sizeof(err)) == STS_OK);
    ck_assert(sts_store_backoff_put(s, "a.example", "x", 9000, "y", err, sizeof(err)) == STS_OK);
    snprintf(neg.domain, sizeof(neg.domain), "neg-only.example");
    ck_assert(sts_store_negative_put(s, &neg, err, sizeof(err)) == STS_OK);
    ck_assert(sts_store_backoff_put(s, "backoff-only.example", "x", 9000, "y", err, sizeof(err)) ==
              STS_OK);

    st = sts_store_delete(s, "a.example", err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case delete: got %s (err: %s)", sts_status_word(st), err);
    ck_assert(get(s, "a.example", &e) == STS_ENOTFOUND);
    ck_assert_msg(db_exec("SELECT count(*) FROM negative WHERE domain = 'a.example'") == 0 &&
                      db_exec("SELECT count(*) FROM backoff WHERE domain = 'a.example'") == 0,
                  "case delete: negative or backoff rows left behind");
    ck_assert(sts_store_delete(s, "neg-only.example", err, sizeof(err)) == STS_OK);
    ck_assert(sts_store_delete(s, "backoff-only.example", err, sizeof(err)) == STS_OK);
    st = sts_store_delete(s, "a.example", err, sizeof(err));
    ck_assert_msg(st == STS_ENOTFOUND, "case delete_again: got %s, want not-found",
                  sts_status_word(st));
    ck_assert(get(s, "b.example", &e) == STS_OK);
    sts_store_entry_clear(&e);

    ck_assert(sts_store_backoff_put(s, "z.example", "x", 9000, "y", err, sizeof(err)) == STS_OK);
    st = sts_store_delete_all(s, &count, err, sizeof(err));
    ck_assert_msg(st == STS_OK && count == 2, "case delete_all: got %s count %zu, want ok 2",
                  sts_status_word(st), count);
    ck_assert_int_eq(db_exec("SELECT (SELECT count(*) FROM policies) + (SELECT count(*) FROM "
                             "negative) + (SELECT count(*) FROM backoff)"),
                     0);
    st = sts_store_delete_all(s, &count, err, sizeof(err));
    ck_assert_msg(st == STS_OK && count == 0, "case delete_all_empty: got %s count %zu, want ok 0",
                  sts_status_word(st), count);
    ck_assert(sts_store_delete_all(s, NULL, err, sizeof(err)) == STS_OK);
    sts_store_close(s);
}
END_TEST

/* ---- foreach --------------------------------------------------------- */

#define WALK_N 150 /* more than two of the store's batches */

struct walk {
    int calls;
    int stop_after; /* 0: never */
    char last[STS_DOMAIN_MAX + 1];
    int out_of_order;
    struct sts_store *store; /* when set, fn deletes each domain it sees */
    int delete_failed;
};

static int walk_fn(const struct sts_store_entry *e, void *arg)
{
    struct walk *w = arg;
    char err[512];

    if (w->calls > 0 && strcmp(w->last, e->domain) >= 0)
        w->out_of_order++;
    snprintf(w->last, sizeof(w->last), "%s", e->domain);
    if (e->policy == NULL || e->policy->mode != STS_MODE_NONE)
        w->out_of_order++;
    w->calls++;
    if (w->store != NULL && sts_store_delete(w->store, e->domain, err, sizeof(err)) != STS_OK)
        w->delete_failed++;
    return w->stop_after != 0 && w->calls >= w->stop_after;
}

static struct sts_store *open_with_walk_domains(void)
{
    struct sts_store *s = open_store();
    char domain[64];

    for (int i = 0; i < WALK_N; i++) { /* inserted out of order */
        snprintf(domain, sizeof(domain), "d%03d.example", (i * 97) % WALK_N);
        put_ok(s, domain, "id", BODY_NONE, i);
    }
    return s;
}

START_TEST(test_foreach_order)
{
    struct sts_store *s = open_with_walk_domains();
    struct walk w = {0};
    char err[512] = "";
    enum sts_status st = sts_store_foreach(s, walk_fn, &w, err, sizeof(err));

    ck_assert_msg(st == STS_OK, "case foreach: got %s (err: %s)", sts_status_word(st), err);
    ck_assert_msg(w.calls == WALK_N, "case foreach: got %d calls, want %d", w.calls, WALK_N);
    ck_assert_msg(w.out_of_order == 0, "case foreach: got %d rows out of domain order",
                  w.out_of_order);
    ck_assert_str_eq(w.last, "d149.example");
    sts_store_close(s);
}
END_TEST

START_TEST(test_foreach_stop)
{
    struct sts_store *s = open_with_walk_domains();
    struct walk w = {.stop_after = 70};
    char err[512] = "";
    enum sts_status st = sts_store_foreach(s, walk_fn, &w, err, sizeof(err));

    ck_assert_msg(st == STS_OK, "case foreach_stop: got %s (err: %s)", sts_status_word(st), err);
    ck_assert_msg(w.calls == 70, "case foreach_stop: got %d calls, want 70", w.calls);
    ck_assert_str_eq(w.last, "d069.example");
    sts_store_close(s);
}
END_TEST

/* fn may use the store: no connection is held while it runs. */
START_TEST(test_foreach_reenter)
{
    struct sts_store *s = open_with_walk_domains();
    struct walk w = {.store = s};
    char err[512] = "";
    enum sts_status st = sts_store_foreach(s, walk_fn, &w, err, sizeof(err));

    ck_assert_msg(st == STS_OK, "case foreach_reenter: got %s (err: %s)", sts_status_word(st), err);
    ck_assert_msg(w.calls == WALK_N && w.delete_failed == 0 && w.out_of_order == 0,
                  "case foreach_reenter: got %d calls, %d failed deletes, want %d and 0", w.calls,
                  w.delete_failed, WALK_N);
    ck_assert_int_eq(db_exec("SELECT count(*) FROM policies"), 0);
    sts_store_close(s);
}
END_TEST

START_TEST(test_foreach_empty)
{
    struct sts_store *s = open_store();
    struct walk w = {0};
    char err[512] = "";

    ck_assert(sts_store_foreach(s, walk_fn, &w, err, sizeof(err)) == STS_OK);
    ck_assert_int_eq(w.calls, 0);
    sts_store_close(s);
}
END_TEST

/* A body damaged on disk: skipped by foreach, absent to get, replaced by put. */
START_TEST(test_unreadable_row)
{
    struct sts_store *s = open_store();
    struct sts_store_entry e;
    struct walk w = {0};
    char err[512] = "";
    enum sts_status st;

    put_ok(s, "a.example", "id", BODY_NONE, 1);
    put_ok(s, "b.example", "id", BODY_NONE, 1);
    put_ok(s, "c.example", "id", BODY_NONE, 1);
    put_ok(s, "d.example", "id", BODY_NONE, 1);
    db_exec("UPDATE policies SET body = '<html>garbage</html>' WHERE domain = 'b.example'");
    db_exec("UPDATE policies SET id = '" D63 "' WHERE domain = 'c.example'");

    st = sts_store_foreach(s, walk_fn, &w, err, sizeof(err));
    ck_assert_msg(st == STS_OK && w.calls == 2 && strcmp(w.last, "d.example") == 0,
                  "case unreadable_foreach: got %s, %d calls, last %s; want ok, 2, d.example",
                  sts_status_word(st), w.calls, w.last);
    st = sts_store_get(s, "b.example", &e, err, sizeof(err));
    ck_assert_msg(st == STS_ENOTFOUND, "case unreadable_get: got %s, want not-found",
                  sts_status_word(st));
    ck_assert_msg(strstr(err, "unreadable") != NULL, "case unreadable_get: got err \"%s\"", err);
    ck_assert_ptr_null(e.policy);
    put_ok(s, "b.example", "id", BODY_TESTING, 2);
    ck_assert(get(s, "b.example", &e) == STS_OK);
    ck_assert(e.policy->mode == STS_MODE_TESTING);
    sts_store_entry_clear(&e);
    sts_store_close(s);
}
END_TEST

/* ---- negative cache and back-off ------------------------------------ */

START_TEST(test_negative)
{
    struct sts_store *s = open_store();
    struct sts_store_negative neg = {.domain = "nosts.example", .until = 1000, .reason = "no-txt"};
    struct sts_store_negative got;
    char err[512] = "";
    enum sts_status st;

    ck_assert(sts_store_negative_put(s, &neg, err, sizeof(err)) == STS_OK);
    st = sts_store_negative_get(s, "nosts.example", 999, &got, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case negative_active: got %s (err: %s)", sts_status_word(st), err);
    ck_assert_str_eq(got.domain, "nosts.example");
    ck_assert_int_eq(got.until, 1000);
    ck_assert_str_eq(got.reason, "no-txt");
    st = sts_store_negative_get(s, "nosts.example", 1000, &got, err, sizeof(err));
    ck_assert_msg(st == STS_ENOTFOUND, "case negative_expired: got %s, want not-found",
                  sts_status_word(st));
    st = sts_store_negative_get(s, "other.example", 0, &got, err, sizeof(err));
    ck_assert_msg(st == STS_ENOTFOUND, "case negative_absent: got %s, want not-found",
                  sts_status_word(st));

    /* put replaces; a reason filling the whole array (no NUL) is cut, not overrun. */
    neg.until = 2000;
    memset(neg.reason, 'r', sizeof(neg.reason));
    ck_assert(sts_store_negative_put(s, &neg, err, sizeof(err)) == STS_OK);
    st = sts_store_negative_get(s, "nosts.example", 1000, &got, err, sizeof(err));
    ck_assert_msg(st == STS_OK && got.until == 2000, "case negative_replaced: got %s until %lld",
                  sts_status_word(st), (long long)got.until);
    ck_assert_uint_eq(strlen(got.reason), sizeof(got.reason) - 1);
    sts_store_close(s);
}
END_TEST

START_TEST(test_backoff)
{
    struct sts_store *s = open_store();
    char err[512] = "";
    int64_t until = -1;
    enum sts_status st;

    ck_assert(sts_store_backoff_put(s, "example.com", "id1", 500, "http-503", err, sizeof(err)) ==
              STS_OK);
    st = sts_store_backoff_get(s, "example.com", "id1", 499, &until, err, sizeof(err));
    ck_assert_msg(st == STS_OK && until == 500, "case backoff_active: got %s until %lld",
                  sts_status_word(st), (long long)until);
    st = sts_store_backoff_get(s, "example.com", "id1", 500, &until, err, sizeof(err));
    ck_assert_msg(st == STS_ENOTFOUND, "case backoff_expired: got %s, want not-found",
                  sts_status_word(st));
    st = sts_store_backoff_get(s, "example.com", "id2", 0, &until, err, sizeof(err));
    ck_assert_msg(st == STS_ENOTFOUND, "case backoff_other_id: got %s, want not-found",
                  sts_status_word(st));
    st = sts_store_backoff_get(s, "example.org", "id1", 0, &until, err, sizeof(err));
    ck_assert_msg(st == STS_ENOTFOUND, "case backoff_other_domain: got %s, want not-found",
                  sts_status_word(st));

    ck_assert(sts_store_backoff_put(s, "example.com", "id2", 700, NULL, err, sizeof(err)) ==
              STS_OK);
    ck_assert(sts_store_backoff_put(s, "example.com", "id1", 900, "again", err, sizeof(err)) ==
              STS_OK);
    st = sts_store_backoff_get(s, "example.com", "id1", 600, NULL, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case backoff_replaced: got %s", sts_status_word(st));
    st = sts_store_backoff_get(s, "example.com", "id2", 600, &until, err, sizeof(err));
    ck_assert_msg(st == STS_OK && until == 700, "case backoff_second_id: got %s until %lld",
                  sts_status_word(st), (long long)until);
    ck_assert_int_eq(db_exec("SELECT count(*) FROM backoff"), 2);

    st = sts_store_backoff_put(s, "example.com", "ID4567890123456789012345678901234", 1, NULL, err,
                               sizeof(err));
    ck_assert_msg(st == STS_EINVAL, "case backoff_id_33: got %s, want invalid",
                  sts_status_word(st));
    st = sts_store_backoff_get(s, "example.com", NULL, 1, &until, err, sizeof(err));
    ck_assert_msg(st == STS_EINVAL, "case backoff_null_id: got %s, want invalid",
                  sts_status_word(st));
    sts_store_close(s);
}
END_TEST

/* ---- concurrency ----------------------------------------------------- */

#define THREADS 8
#define ROUNDS 60
#define THREAD_DOMAINS 5

struct worker {
    struct sts_store *store;
    int no;
    int failures;
    char first_err[512];
};

static void worker_fail(struct worker *w, const char *op, enum sts_status st, const char *err)
{
    if (w->failures++ == 0)
        snprintf(w->first_err, sizeof(w->first_err), "thread %d %.32s: %.32s (%.300s)", w->no, op,
                 sts_status_word(st), err);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct sts_policy *p = NULL;
    char err[512], domain[64], other[64];
    enum sts_status st;

    sts_policy_parse(BODY_ENFORCE, strlen(BODY_ENFORCE), &p, NULL, 0);
    for (int r = 0; r < ROUNDS && p != NULL; r++) {
        struct sts_store_entry e = {.policy = p, .fetched_at = r, .expires_at = r + 86400};
        struct sts_store_negative neg = {.until = r + 10, .reason = "no-txt"};
        struct sts_store_entry got;

        snprintf(domain, sizeof(domain), "t%d-%d.example", w->no, r % THREAD_DOMAINS);
        snprintf(other, sizeof(other), "t%d-%d.example", (w->no + 1) % THREADS, r % THREAD_DOMAINS);
        snprintf(e.domain, sizeof(e.domain), "%s", domain);
        snprintf(e.id, sizeof(e.id), "r%d", r);
        if ((st = sts_store_put(w->store, &e, err, sizeof(err))) != STS_OK)
            worker_fail(w, "put", st, err);
        if ((st = sts_store_get(w->store, domain, &got, err, sizeof(err))) != STS_OK)
            worker_fail(w, "get", st, err);
        else if (got.policy->mx_count != 3 || got.fetched_at != r)
            worker_fail(w, "get", st, "wrong row");
        sts_store_entry_clear(&got);
        st = sts_store_get(w->store, other, &got, err, sizeof(err));
        if (st != STS_OK && st != STS_ENOTFOUND)
            worker_fail(w, "get-other", st, err);
        sts_store_entry_clear(&got);
        if ((st = sts_store_touch(w->store, domain, r, err, sizeof(err))) != STS_OK)
            worker_fail(w, "touch", st, err);
        snprintf(neg.domain, sizeof(neg.domain), "n%d-%d.example", w->no, r % THREAD_DOMAINS);
        if ((st = sts_store_negative_put(w->store, &neg, err, sizeof(err))) != STS_OK)
            worker_fail(w, "negative-put", st, err);
        if ((st = sts_store_negative_get(w->store, neg.domain, r, NULL, err, sizeof(err))) !=
            STS_OK)
            worker_fail(w, "negative-get", st, err);
        if ((st = sts_store_backoff_put(w->store, domain, "x", r + 5, "t", err, sizeof(err))) !=
            STS_OK)
            worker_fail(w, "backoff-put", st, err);
    }
    if (p == NULL)
        worker_fail(w, "parse", STS_EINVAL, "test policy");
    sts_policy_free(p);
    return NULL;
}

/*
 * Eight threads on one file: six share one store (more than its pool, so
 * they wait for connections), two share a second store (as another
 * process would).  No call may fail, SQLITE_BUSY included.
 */
START_TEST(test_concurrent)
{
    struct sts_store *a = open_store(), *b = open_store();
    struct worker w[THREADS];
    pthread_t t[THREADS];
    struct walk walk = {0};
    char err[512] = "";

    for (int i = 0; i < THREADS; i++) {
        w[i] = (struct worker){.store = i < 6 ? a : b, .no = i};
        ck_assert(pthread_create(&t[i], NULL, worker_main, &w[i]) == 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < THREADS; i++)
        ck_assert_msg(w[i].failures == 0, "case concurrent: %d failures, first: %s", w[i].failures,
                      w[i].first_err);
    ck_assert(sts_store_foreach(a, walk_fn, &walk, err, sizeof(err)) == STS_OK);
    ck_assert_msg(walk.calls == THREADS * THREAD_DOMAINS,
                  "case concurrent: got %d policies, want %d", walk.calls,
                  THREADS * THREAD_DOMAINS);
    sts_store_close(a);
    sts_store_close(b);
}
END_TEST

/* Another process holds the write lock for a while: the store waits, it does not fail. */
static void *lock_holder(void *arg)
{
    int *ready = arg; /* a pipe: written once the lock is held */
    struct timespec hold = {.tv_sec = 0, .tv_nsec = 300 * 1000000L};
    sqlite3 *db = NULL;

    if (sqlite3_open(dbpath, &db) == SQLITE_OK &&
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) == SQLITE_OK) {
        ck_assert(write(ready[1], "x", 1) == 1);
        nanosleep(&hold, NULL);
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    } else {
        ck_assert(write(ready[1], "!", 1) == 1);
    }
    sqlite3_close(db);
    return NULL;
}

START_TEST(test_waits_for_lock)
{
    struct sts_store *s = open_store();
    struct sts_store_entry e;
    int ready[2];
    char c = 0;
    pthread_t t;

    ck_assert(pipe(ready) == 0);
    ck_assert(pthread_create(&t, NULL, lock_holder, ready) == 0);
    ck_assert(read(ready[0], &c, 1) == 1);
    ck_assert_msg(c == 'x', "case waits_for_lock: the holder could not take the lock");
    put_ok(s, "example.com", "id", BODY_NONE, 1); /* blocks until the COMMIT */
    pthread_join(t, NULL);
    ck_assert(get(s, "example.com", &e) == STS_OK);
    sts_store_entry_clear(&e);
    close(ready[0]);
    close(ready[1]);
    sts_store_close(s);
}
END_TEST

static Suite *store_suite(void)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    TCase *tc_conc = tcase_create("store_concurrent");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_open_creates);
    tcase_add_test(tc, test_open_empty_file);
    tcase_add_loop_test(tc, test_open_spec, 0, NCASES(spec_cases));
    tcase_add_test(tc, test_open_newer_schema);
    tcase_add_loop_test(tc, test_open_corrupt, 0, NCASES(corrupt_cases));
    tcase_add_test(tc, test_reopen_keeps_data);
    tcase_add_loop_test(tc, test_roundtrip, 0, NCASES(roundtrip_cases));
    tcase_add_test(tc, test_get_absent);
    tcase_add_test(tc, test_put_replaces);
    tcase_add_loop_test(tc, test_put_rejects, 0, NCASES(bad_put_cases));
    tcase_add_test(tc, test_refresh);
    tcase_add_test(tc, test_touch);
    tcase_add_test(tc, test_delete);
    tcase_add_test(tc, test_foreach_order);
    tcase_add_test(tc, test_foreach_stop);
    tcase_add_test(tc, test_foreach_reenter);
    tcase_add_test(tc, test_foreach_empty);
    tcase_add_test(tc, test_unreadable_row);
    tcase_add_test(tc, test_negative);
    tcase_add_test(tc, test_backoff);
    suite_add_tcase(s, tc);

    /* Sanitizers slow the threads down: a deadline of its own. */
    tcase_add_checked_fixture(tc_conc, setup, teardown);
    tcase_set_timeout(tc_conc, 60);
    tcase_add_test(tc_conc, test_concurrent);
    tcase_add_test(tc_conc, test_waits_for_lock);
    suite_add_tcase(s, tc_conc);
    return s;
}

int main(void)
{
    return unit_main(store_suite());
}
