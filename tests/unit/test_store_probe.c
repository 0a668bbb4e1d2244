/*
 * test_store_probe.c - unit tests of the store's probe rows (store.h,
 * milter/engine/store_probe.c): the persistent half of the probe cache, which
 * keeps RFC 8460 result types per MX host across restarts so that a
 * fresh milter does not re-probe (and RFC 7672 §2.2.1's secure/insecure
 * MX distinction, part of the key).
 *
 * Covers: put/get round trips of every field, the (host, port, mx_secure)
 * key, replacement keeping the later last_used, expired rows handed back
 * with their times (the caller judges expiry), touch, delete by host and
 * all, foreach order across batch boundaries, key checks, and the
 * migration of a database written by schema version 1 (before probe rows
 * existed): its policies survive and the probes table appears.
 *
 * And the TLS-RPT rows beside them (milter/engine/store_tlsrpt.c, RFC 8460
 * §4 counts per UTC day): batches add up across flushes, load filters by
 * day and domain, the per-(day, domain) cap on failure-detail rows keeps
 * existing rows counting, purge drops old days only, and a version 2
 * store (probes, no TLS-RPT tables) migrates with its rows intact.
 *
 * Every test runs against a fresh database in its own mktemp directory.
 */
#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtasts/policy.h"
#include "mtasts/status.h"
#include "mtasts/store.h"
#include "unit_main.h"

static char tmpdir[PATH_MAX];
static char dbpath[PATH_MAX + 16];

static void setup(void)
{
    const char *base = getenv("TMPDIR");

    snprintf(tmpdir, sizeof(tmpdir), "%s/test_store_probe.XXXXXX",
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

/* Run SQL behind the store's back; the first column of the last row, or -1. */
static long long db_exec(const char *sql)
{
    sqlite3 *db = NULL;
    long long v = -1;
    sqlite3_stmt *st = NULL;
    const char *tail = sql;
    int rc = sqlite3_open(dbpath, &db);

    ck_assert_msg(rc == SQLITE_OK, "sqlite3_open: %s", sqlite3_errmsg(db));
    while (tail != NULL && *tail != '\0') {
        ck_assert_msg(sqlite3_prepare_v2(db, tail, -1, &st, &tail) == SQLITE_OK, "prepare %s: %s",
                      tail, sqlite3_errmsg(db));
        if (st == NULL)
            break;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        ck_assert_msg(rc == SQLITE_DONE, "step %s: %s", sql, sqlite3_errmsg(db));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

/* result is the word; one that is no result type ("") gives an out-of-range value. */
static void row_init(struct sts_store_probe *r, const char *host, unsigned port, bool secure,
                     const char *result, int64_t base)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->host, sizeof(r->host), "%s", host);
    r->port = port;
    r->mx_secure = secure;
    r->tls.known = true;
    if (!sts_tls_result_parse(result, &r->tls.result))
        r->tls.result = (enum sts_tls_result)STS_TLS_RESULT_COUNT;
    r->tls.dane = secure;
    snprintf(r->tls.detail, sizeof(r->tls.detail), "detail of %s", host);
    snprintf(r->tls.addr, sizeof(r->tls.addr), "192.0.2.%u", port % 250);
    snprintf(r->tls.tls_version, sizeof(r->tls.tls_version), "TLSv1.3");
    snprintf(r->tls.cipher, sizeof(r->tls.cipher), "TLS_AES_256_GCM_SHA384");
    r->tls.checked_at = base;
    r->tls.expires_at = base + 3600;
    r->last_used = base + 10;
}

static void put_ok(struct sts_store *s, const struct sts_store_probe *r)
{
    char err[512] = "";
    enum sts_status st = sts_store_probe_put(s, r, err, sizeof(err));

    ck_assert_msg(st == STS_OK, "probe put %s: got %s, want ok (err: %s)", r->host,
                  sts_status_word(st), err);
}

static enum sts_status get(struct sts_store *s, const char *host, unsigned port, bool secure,
                           struct sts_store_probe *out)
{
    char err[512] = "";
    return sts_store_probe_get(s, host, port, secure, out, err, sizeof(err));
}

static void assert_same(const struct sts_store_probe *got, const struct sts_store_probe *want)
{
    ck_assert_str_eq(got->host, want->host);
    ck_assert_uint_eq(got->port, want->port);
    ck_assert_int_eq(got->mx_secure, want->mx_secure);
    ck_assert_str_eq(sts_tls_result_name(got->tls.result), sts_tls_result_name(want->tls.result));
    ck_assert_int_eq(got->tls.dane, want->tls.dane);
    ck_assert_str_eq(got->tls.detail, want->tls.detail);
    ck_assert_str_eq(got->tls.addr, want->tls.addr);
    ck_assert_str_eq(got->tls.tls_version, want->tls.tls_version);
    ck_assert_str_eq(got->tls.cipher, want->tls.cipher);
    ck_assert_int_eq(got->tls.checked_at, want->tls.checked_at);
    ck_assert_int_eq(got->tls.expires_at, want->tls.expires_at);
    ck_assert_int_eq(got->last_used, want->last_used);
}

/* Every field comes back; the key has three parts. */
START_TEST(test_probe_roundtrip)
{
    struct sts_store *s = open_store();
    struct sts_store_probe a, b, got;

    row_init(&a, "mx1.example.com", 25, false, "certificate-expired", 1000);
    row_init(&b, "mx1.example.com", 25, true, "pass", 2000);
    /* A detail at its full length, with a quote and a backslash. */
    memset(b.tls.detail, 'x', sizeof(b.tls.detail) - 1);
    b.tls.detail[0] = '"';
    b.tls.detail[1] = '\\';
    b.tls.detail[sizeof(b.tls.detail) - 1] = '\0';
    put_ok(s, &a);
    put_ok(s, &b);
    ck_assert_int_eq(get(s, "mx1.example.com", 25, false, &got), STS_OK);
    assert_same(&got, &a);
    ck_assert_int_eq(get(s, "mx1.example.com", 25, true, &got), STS_OK);
    assert_same(&got, &b);
    ck_assert_int_eq(get(s, "mx1.example.com", 2525, true, &got), STS_ENOTFOUND);
    ck_assert_int_eq(get(s, "mx2.example.com", 25, true, &got), STS_ENOTFOUND);
    sts_store_close(s);

    /* And after a restart. */
    s = open_store();
    ck_assert_int_eq(get(s, "mx1.example.com", 25, true, &got), STS_OK);
    assert_same(&got, &b);
    sts_store_close(s);
}
END_TEST

/*
 * A re-probe replaces the verdict but keeps the later last_used; an
 * expired row is still handed back, with its times.
 */
START_TEST(test_probe_replace_and_expiry)
{
    struct sts_store *s = open_store();
    struct sts_store_probe r, got;

    row_init(&r, "mx.example.net", 25, false, "pass", 1000);
    r.last_used = 5000;
    put_ok(s, &r);
    row_init(&r, "mx.example.net", 25, false, "starttls-not-supported", 9000);
    r.tls.expires_at = 9300;
    r.last_used = 0; /* the refresher writing a result: no use */
    r.tls.tls_version[0] = r.tls.cipher[0] = '\0';
    put_ok(s, &r);
    ck_assert_int_eq(get(s, "mx.example.net", 25, false, &got), STS_OK);
    ck_assert_str_eq(sts_tls_result_name(got.tls.result), "starttls-not-supported");
    ck_assert_int_eq(got.tls.checked_at, 9000);
    ck_assert_int_eq(got.tls.expires_at, 9300);
    ck_assert_msg(got.last_used == 5000, "last_used: got %lld, want 5000 (kept)",
                  (long long)got.last_used);
    ck_assert_str_eq(got.tls.tls_version, "");
    ck_assert_str_eq(got.tls.cipher, "");
    sts_store_close(s);
}
END_TEST

START_TEST(test_probe_touch)
{
    struct sts_store *s = open_store();
    struct sts_store_probe r, got;
    char err[256];

    row_init(&r, "mx.example.org", 25, true, "pass", 100);
    put_ok(s, &r);
    ck_assert_int_eq(sts_store_probe_touch(s, "mx.example.org", 25, true, 777, err, sizeof(err)),
                     STS_OK);
    ck_assert_int_eq(sts_store_probe_touch(s, "mx.example.org", 25, true, 500, err, sizeof(err)),
                     STS_OK);
    ck_assert_int_eq(get(s, "mx.example.org", 25, true, &got), STS_OK);
    ck_assert_int_eq(got.last_used, 777);
    ck_assert_int_eq(sts_store_probe_touch(s, "mx.example.org", 25, false, 800, err, sizeof(err)),
                     STS_ENOTFOUND);
    sts_store_close(s);
}
END_TEST

START_TEST(test_probe_delete)
{
    struct sts_store *s = open_store();
    struct sts_store_probe r, got;
    char err[256];
    size_t n = 99;

    row_init(&r, "a.example", 25, false, "pass", 1);
    put_ok(s, &r);
    r.mx_secure = true;
    put_ok(s, &r);
    row_init(&r, "b.example", 25, false, "pass", 1);
    put_ok(s, &r);
    ck_assert_int_eq(sts_store_probe_delete(s, "a.example", &n, err, sizeof(err)), STS_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(get(s, "a.example", 25, true, &got), STS_ENOTFOUND);
    ck_assert_int_eq(sts_store_probe_delete(s, "a.example", &n, err, sizeof(err)), STS_ENOTFOUND);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(get(s, "b.example", 25, false, &got), STS_OK);
    ck_assert_int_eq(sts_store_probe_delete_all(s, &n, err, sizeof(err)), STS_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(get(s, "b.example", 25, false, &got), STS_ENOTFOUND);
    sts_store_close(s);
}
END_TEST

/* Probe rows live beside policies: deleting all policies keeps them. */
START_TEST(test_probe_independent_of_policies)
{
    struct sts_store *s = open_store();
    struct sts_store_probe r, got;
    char err[256];
    size_t n;

    row_init(&r, "mx.example.com", 25, false, "pass", 1);
    put_ok(s, &r);
    ck_assert_int_eq(sts_store_delete_all(s, &n, err, sizeof(err)), STS_OK);
    ck_assert_int_eq(get(s, "mx.example.com", 25, false, &got), STS_OK);
    sts_store_close(s);
}
END_TEST

struct collect {
    char keys[300][STS_DOMAIN_MAX + 16];
    size_t n;
    size_t stop_after;
};

static int collect_fn(const struct sts_store_probe *r, void *arg)
{
    struct collect *c = arg;
    if (c->n < 300)
        snprintf(c->keys[c->n], sizeof(c->keys[0]), "%s/%u/%d", r->host, r->port, r->mx_secure);
    c->n++;
    return c->stop_after != 0 && c->n >= c->stop_after;
}

/* Order is (host, port, mx_secure), across the 64-row batches. */
START_TEST(test_probe_foreach)
{
    struct sts_store *s = open_store();
    struct sts_store_probe r;
    static struct collect c;
    char err[256], host[64], want[64];

    for (int i = 149; i >= 0; i--) {
        snprintf(host, sizeof(host), "mx%03d.example", i / 2);
        row_init(&r, host, 25, i % 2 == 1, "pass", i);
        put_ok(s, &r);
    }
    memset(&c, 0, sizeof(c));
    ck_assert_int_eq(sts_store_probe_foreach(s, collect_fn, &c, err, sizeof(err)), STS_OK);
    ck_assert_uint_eq(c.n, 150);
    for (size_t i = 0; i < 150; i++) {
        snprintf(want, sizeof(want), "mx%03zu.example/25/%d", i / 2, (int)(i % 2));
        ck_assert_msg(strcmp(c.keys[i], want) == 0, "row %zu: got %s, want %s", i, c.keys[i], want);
    }
    memset(&c, 0, sizeof(c));
    c.stop_after = 70;
    ck_assert_int_eq(sts_store_probe_foreach(s, collect_fn, &c, err, sizeof(err)), STS_OK);
    ck_assert_uint_eq(c.n, 70);
    sts_store_close(s);
}
END_TEST

START_TEST(test_probe_rejects)
{
    struct sts_store *s = open_store();
    struct sts_store_probe r, got;
    char err[256] = "";

    row_init(&r, "", 25, false, "pass", 1);
    ck_assert_int_eq(sts_store_probe_put(s, &r, err, sizeof(err)), STS_EINVAL);
    row_init(&r, "mx.example", 0, false, "pass", 1);
    ck_assert_int_eq(sts_store_probe_put(s, &r, err, sizeof(err)), STS_EINVAL);
    row_init(&r, "mx.example", 70000, false, "pass", 1);
    ck_assert_int_eq(sts_store_probe_put(s, &r, err, sizeof(err)), STS_EINVAL);
    row_init(&r, "mx.example", 25, false, "", 1);
    ck_assert_int_eq(sts_store_probe_put(s, &r, err, sizeof(err)), STS_EINVAL);
    ck_assert_msg(strstr(err, "result") != NULL, "err: %s", err);
    ck_assert_int_eq(sts_store_probe_get(s, "", 25, false, &got, err, sizeof(err)), STS_EINVAL);
    ck_assert_int_eq(sts_store_probe_get(NULL, "mx", 25, false, &got, err, sizeof(err)),
                     STS_EINVAL);
    sts_store_close(s);
}
END_TEST

/* Schema version 1 exactly as it shipped (store.c's first migration). */
static const char schema_v1[] =
    "CREATE TABLE policies ( domain TEXT PRIMARY KEY NOT NULL, id TEXT NOT NULL,"
    " body TEXT NOT NULL, mode TEXT NOT NULL, max_age INTEGER NOT NULL,"
    " fetched_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, checked_at INTEGER NOT NULL,"
    " last_used INTEGER NOT NULL);"
    "CREATE INDEX policies_expires_at ON policies (expires_at);"
    "CREATE INDEX policies_last_used ON policies (last_used);"
    "CREATE TABLE negative ( domain TEXT PRIMARY KEY NOT NULL, until INTEGER NOT NULL,"
    " reason TEXT NOT NULL);"
    "CREATE TABLE backoff ( domain TEXT NOT NULL, id TEXT NOT NULL, until INTEGER NOT NULL,"
    " reason TEXT NOT NULL, PRIMARY KEY (domain, id));"
    "INSERT INTO policies VALUES ('example.com', 'id1',"
    " 'version: STSv1\nmode: enforce\nmax_age: 86400\nmx: mx.example.com\n', 'enforce', 86400,"
    " 100, 86500, 100, 150);"
    "INSERT INTO negative VALUES ('none.example', 99999, 'no-indicator');"
    "PRAGMA user_version = 1;";

/* A store written before probe rows existed upgrades in place on open. */
START_TEST(test_probe_migrates_v1)
{
    struct sts_store *s;
    struct sts_store_entry e;
    struct sts_store_probe r, got;
    char err[256];

    ck_assert_int_ge(sts_store_schema_version(), 2);
    db_exec(schema_v1);
    ck_assert_int_eq(db_exec("PRAGMA user_version"), 1);
    ck_assert_int_eq(db_exec("SELECT count(*) FROM sqlite_master WHERE name = 'probes'"), 0);
    s = open_store();
    ck_assert_int_eq(db_exec("PRAGMA user_version"), sts_store_schema_version());
    ck_assert_int_eq(db_exec("SELECT count(*) FROM sqlite_master WHERE name = 'probes'"), 1);
    memset(&e, 0, sizeof(e));
    ck_assert_int_eq(sts_store_get(s, "example.com", &e, err, sizeof(err)), STS_OK);
    ck_assert_str_eq(e.id, "id1");
    ck_assert_int_eq(e.last_used, 150);
    sts_store_entry_clear(&e);
    ck_assert_int_eq(sts_store_negative_get(s, "none.example", 1000, NULL, err, sizeof(err)),
                     STS_OK);
    row_init(&r, "mx.example.com", 25, true, "dane-required", 7);
    put_ok(s, &r);
    ck_assert_int_eq(get(s, "mx.example.com", 25, true, &got), STS_OK);
    assert_same(&got, &r);
    sts_store_close(s);
    /* A second open finds nothing to do. */
    s = open_store();
    ck_assert_int_eq(get(s, "mx.example.com", 25, true, &got), STS_OK);
    sts_store_close(s);
}
END_TEST

/* A policy row and a detail row of example.com on day, with counts. */
static void tlsrpt_rows(struct sts_tlsrpt_batch *b, const char *day, const char *domain,
                        uint64_t ok, uint64_t fail, const char *ip)
{
    struct sts_tlsrpt_row p = {.type = STS_TLSRPT_POLICY_STS,
                               .policy_domain = (char *)domain,
                               .policy_strings = "version: STSv1\nmode: enforce",
                               .mx_hosts = "mx.example.com",
                               .ok = ok,
                               .fail = fail};
    snprintf(p.day, sizeof(p.day), "%s", day);
    ck_assert_int_eq(sts_tlsrpt_batch_add(b, &p), STS_OK);
    struct sts_tlsrpt_row d = p;
    d.detail = true;
    d.ok = d.fail = 0;
    d.result = STS_TLSRPT_CERTIFICATE_EXPIRED;
    d.receiving_ip = (char *)ip;
    d.receiving_mx_hostname = "mx.example.com";
    d.count = fail;
    ck_assert_int_eq(sts_tlsrpt_batch_add(b, &d), STS_OK);
}

static const struct sts_tlsrpt_row *tlsrpt_find(const struct sts_tlsrpt_batch *b, bool detail,
                                                const char *ip)
{
    for (size_t i = 0; i < b->count; i++)
        if (b->rows[i].detail == detail && (ip == NULL || strcmp(b->rows[i].receiving_ip, ip) == 0))
            return &b->rows[i];
    return NULL;
}

START_TEST(test_tlsrpt_add_load)
{
    struct sts_store *s = open_store();
    struct sts_tlsrpt_batch b = {0}, got = {0};
    char err[256];
    size_t skipped = 99;
    tlsrpt_rows(&b, "2026-08-03", "example.com", 5, 2, "192.0.2.1");
    ck_assert_int_eq(sts_store_tlsrpt_add(s, &b, 0, &skipped, err, sizeof(err)), STS_OK);
    ck_assert_uint_eq(skipped, 0);
    /* a second flush of the same keys adds up */
    ck_assert_int_eq(sts_store_tlsrpt_add(s, &b, 0, NULL, err, sizeof(err)), STS_OK);
    sts_tlsrpt_batch_clear(&b);
    tlsrpt_rows(&b, "2026-08-02", "example.com", 1, 1, "192.0.2.1");
    tlsrpt_rows(&b, "2026-08-03", "example.org", 7, 0, "192.0.2.9");
    ck_assert_int_eq(sts_store_tlsrpt_add(s, &b, 0, NULL, err, sizeof(err)), STS_OK);
    sts_tlsrpt_batch_clear(&b);

    ck_assert_int_eq(
        sts_store_tlsrpt_load(s, "2026-08-03", "example.com", &got, NULL, err, sizeof(err)),
        STS_OK);
    ck_assert_uint_eq(got.count, 2);
    const struct sts_tlsrpt_row *p = tlsrpt_find(&got, false, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->ok, 10);
    ck_assert_uint_eq(p->fail, 4);
    ck_assert_str_eq(p->policy_strings, "version: STSv1\nmode: enforce");
    ck_assert_int_eq(p->type, STS_TLSRPT_POLICY_STS);
    const struct sts_tlsrpt_row *d = tlsrpt_find(&got, true, "192.0.2.1");
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d->count, 4);
    ck_assert_int_eq(d->result, STS_TLSRPT_CERTIFICATE_EXPIRED);
    ck_assert_str_eq(d->receiving_mx_hostname, "mx.example.com");
    sts_tlsrpt_batch_clear(&got);
    /* all days of one domain; one day of all domains */
    sts_store_tlsrpt_load(s, NULL, "example.com", &got, NULL, err, sizeof(err));
    ck_assert_uint_eq(got.count, 4);
    sts_tlsrpt_batch_clear(&got);
    sts_store_tlsrpt_load(s, "2026-08-03", NULL, &got, NULL, err, sizeof(err));
    ck_assert_uint_eq(got.count, 4);
    sts_tlsrpt_batch_clear(&got);

    size_t n = 0;
    ck_assert_int_eq(sts_store_tlsrpt_purge(s, "2026-08-03", &n, err, sizeof(err)), STS_OK);
    ck_assert_uint_eq(n, 2);
    sts_store_tlsrpt_load(s, NULL, NULL, &got, NULL, err, sizeof(err));
    ck_assert_uint_eq(got.count, 4);
    sts_tlsrpt_batch_clear(&got);
    sts_store_close(s);
}
END_TEST

/* The detail cap: new rows past it are skipped, existing ones still count. */
START_TEST(test_tlsrpt_detail_cap)
{
    struct sts_store *s = open_store();
    struct sts_tlsrpt_batch b = {0}, got = {0};
    char err[256], ip[32];
    size_t skipped = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(ip, sizeof(ip), "192.0.2.%d", i);
        tlsrpt_rows(&b, "2026-08-03", "example.com", 0, 1, ip);
    }
    ck_assert_int_eq(sts_store_tlsrpt_add(s, &b, 3, &skipped, err, sizeof(err)), STS_OK);
    ck_assert_uint_eq(skipped, 2);
    sts_tlsrpt_batch_clear(&b);
    tlsrpt_rows(&b, "2026-08-03", "example.com", 0, 5, "192.0.2.0");
    ck_assert_int_eq(sts_store_tlsrpt_add(s, &b, 3, &skipped, err, sizeof(err)), STS_OK);
    ck_assert_uint_eq(skipped, 0);
    sts_tlsrpt_batch_clear(&b);
    sts_store_tlsrpt_load(s, "2026-08-03", "example.com", &got, NULL, err, sizeof(err));
    ck_assert_uint_eq(got.count, 4); /* one policy row, three details */
    ck_assert_uint_eq(tlsrpt_find(&got, false, NULL)->fail, 10);
    ck_assert_uint_eq(tlsrpt_find(&got, true, "192.0.2.0")->count, 6);
    ck_assert_ptr_null(tlsrpt_find(&got, true, "192.0.2.4"));
    sts_tlsrpt_batch_clear(&got);
    sts_store_close(s);
}
END_TEST

/* A version 2 store (probe rows, no TLS-RPT tables) migrates in place. */
START_TEST(test_tlsrpt_migrates_v2)
{
    ck_assert_int_ge(sts_store_schema_version(), 3);
    db_exec(schema_v1);
    db_exec("CREATE TABLE probes ( host TEXT NOT NULL, port INTEGER NOT NULL,"
            " mx_secure INTEGER NOT NULL, result TEXT NOT NULL, dane INTEGER NOT NULL,"
            " detail TEXT NOT NULL, addr TEXT NOT NULL, tls_version TEXT NOT NULL,"
            " cipher TEXT NOT NULL, checked_at INTEGER NOT NULL, expires_at INTEGER NOT NULL,"
            " last_used INTEGER NOT NULL, PRIMARY KEY (host, port, mx_secure));"
            "CREATE INDEX probes_last_used ON probes (last_used);"
            "INSERT INTO probes VALUES ('mx.example.com', 25, 0, 'pass', 0, '', '192.0.2.7',"
            " 'TLSv1.3', 'x', 100, 200, 150);"
            "PRAGMA user_version = 2;");
    ck_assert_int_eq(db_exec("SELECT count(*) FROM sqlite_master WHERE name = 'tlsrpt_policy'"), 0);
    struct sts_store *s = open_store();
    ck_assert_int_eq(db_exec("PRAGMA user_version"), sts_store_schema_version());
    struct sts_store_probe got;
    ck_assert_int_eq(get(s, "mx.example.com", 25, false, &got), STS_OK);
    ck_assert_str_eq(got.tls.addr, "192.0.2.7");
    struct sts_store_entry e;
    memset(&e, 0, sizeof(e));
    char err[256];
    ck_assert_int_eq(sts_store_get(s, "example.com", &e, err, sizeof(err)), STS_OK);
    sts_store_entry_clear(&e);
    struct sts_tlsrpt_batch b = {0};
    tlsrpt_rows(&b, "2026-08-03", "example.com", 1, 1, "192.0.2.1");
    ck_assert_int_eq(sts_store_tlsrpt_add(s, &b, 0, NULL, err, sizeof(err)), STS_OK);
    sts_tlsrpt_batch_clear(&b);
    sts_store_close(s);
}
END_TEST

static Suite *store_probe_suite(void)
{
    Suite *s = suite_create("store_probe");
    TCase *tc = tcase_create("probe_rows");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_probe_roundtrip);
    tcase_add_test(tc, test_probe_replace_and_expiry);
    tcase_add_test(tc, test_probe_touch);
    tcase_add_test(tc, test_probe_delete);
    tcase_add_test(tc, test_probe_independent_of_policies);
    tcase_add_test(tc, test_probe_foreach);
    tcase_add_test(tc, test_probe_rejects);
    tcase_add_test(tc, test_probe_migrates_v1);
    suite_add_tcase(s, tc);
    tc = tcase_create("tlsrpt_rows");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_tlsrpt_add_load);
    tcase_add_test(tc, test_tlsrpt_detail_cap);
    tcase_add_test(tc, test_tlsrpt_migrates_v2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(store_probe_suite());
}
