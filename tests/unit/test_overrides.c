/*
 * test_overrides.c - unit tests of the local overrides file (overrides.h).
 *
 * Guards the overrides contract: "DOMAIN enforce PATTERN..." rules whose
 * patterns follow RFC 8461 §4.1 ("*." a whole leftmost label) and are
 * normalised like policy "mx" lines, "DOMAIN skip" rules, ".parent"
 * rules for the names strictly below a domain, the precedence (exact
 * beats parent, the closest parent wins), "FILE:LINE: reason" errors,
 * hash lookups over many rules, and the atomic reference count.
 *
 * Table-driven: each row is one TAP test point; a failure reads
 * "case NAME: got X, want Y".
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtasts/overrides.h"
#include "mtasts/status.h"
#include "unit_main.h"

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

struct parse_case {
    const char *name;
    const char *text;
    enum sts_status want_st;
    const char *want; /* STS_OK: the number of rules, as text; else a substring of err */
};

static const struct parse_case parse_cases[] = {
    {"empty_file", "", STS_OK, "0"},
    {"comments_only", "# nothing\n\n   # here\n\t\n", STS_OK, "0"},
    {"skip", "example.com skip", STS_OK, "1"},
    {"enforce", "example.com enforce mx.example.com", STS_OK, "1"},
    {"dane", "example.com dane\n.example.org DANE", STS_OK, "2"},
    {"comment_after_rule", "example.com skip # why\n", STS_OK, "1"},
    /* issue 13: the forced-TLS levels, named as Postfix names its TLS levels */
    {"levels", "a.example verify\nb.example encrypt\nc.example secure mx.c.example\n", STS_OK, "3"},
    {"secure_no_pattern", "example.com secure", STS_EINVAL,
     "o.txt:1: example.com: secure needs at least one mx pattern"},
    {"verify_with_pattern", "example.com verify mx.example.com", STS_EINVAL,
     "o.txt:1: example.com: verify takes no patterns"},
    {"encrypt_with_pattern", "example.com ENCRYPT mx.example.com", STS_EINVAL,
     "o.txt:1: example.com: encrypt takes no patterns"},
    {"tabs_and_crlf", "example.com\tenforce\tmx.example.com  *.example.net\r\n", STS_OK, "1"},
    {"keyword_case", "example.com ENFORCE mx.example.com\nexample.org Skip\n", STS_OK, "2"},
    {"exact_and_parent", "example.com skip\n.example.com skip\n", STS_OK, "2"},
    {"no_action", "example.com", STS_EINVAL,
     "o.txt:1: example.com: no action (want secure, verify, encrypt, dane or skip)"},
    {"enforce_no_pattern", "\nexample.com enforce", STS_EINVAL,
     "o.txt:2: example.com: enforce needs at least one mx pattern"},
    {"dane_with_pattern", "example.com dane mx.example.com", STS_EINVAL,
     "o.txt:1: example.com: dane takes no patterns"},
    {"skip_with_pattern", "example.com skip mx.example.com", STS_EINVAL,
     "o.txt:1: example.com: skip takes no patterns"},
    {"unknown_action", "example.com allow", STS_EINVAL,
     "o.txt:1: example.com: unknown action \"allow\" (want secure, verify, encrypt, dane or skip)"},
    {"wildcard_domain", "*.example.com skip", STS_EINVAL,
     "o.txt:1: \"*.example.com\": write \".example.com\" for the names below a domain"},
    {"bad_domain", "-bad-.example skip", STS_EINVAL,
     "o.txt:1: \"-bad-.example\" is not a domain name: label starts or ends with a hyphen"},
    {"lone_dot", ". skip", STS_EINVAL, "o.txt:1: \".\" is not a domain name"},
    {"double_dot", "..example.com skip", STS_EINVAL,
     "o.txt:1: \"..example.com\" is not a domain name"},
    {"empty_label", "example..com skip", STS_EINVAL, "is not a domain name: empty label"},
    {"two_wildcards", "example.com enforce *.*.example.com", STS_EINVAL,
     "o.txt:1: example.com: mx pattern \"*.*.example.com\": "},
    {"partial_wildcard", "example.com enforce mx*.example.com", STS_EINVAL, "mx pattern"},
    {"bad_pattern", "example.com enforce mx..example.com", STS_EINVAL, "empty label"},
    {"duplicate", "example.com skip\n# x\nEXAMPLE.com. enforce mx.example.com", STS_EINVAL,
     "o.txt:3: example.com given twice (first on line 1)"},
    {"duplicate_parent", ".example.com skip\n.Example.COM skip", STS_EINVAL,
     "o.txt:2: .example.com given twice (first on line 1)"},
    {"control_char", "example.com skip\nexample.org\x01 skip", STS_EINVAL,
     "o.txt:2: control character 0x01"},
    {"non_ascii_quoted", "ex\xc3\xa9mple..com skip", STS_EINVAL,
     "\"ex\\xc3\\xa9mple..com\" is not a domain name"},
};

START_TEST(test_parse)
{
    const struct parse_case *c = &parse_cases[_i];
    struct sts_overrides *ov = NULL;
    char err[512] = "", got[32];
    enum sts_status st =
        sts_overrides_parse(c->text, strlen(c->text), "o.txt", &ov, err, sizeof(err));

    ck_assert_msg(st == c->want_st, "case %s: got %s (err: %s), want %s", c->name,
                  sts_status_word(st), err, sts_status_word(c->want_st));
    if (st == STS_OK) {
        snprintf(got, sizeof(got), "%zu", sts_overrides_count(ov));
        ck_assert_msg(strcmp(got, c->want) == 0, "case %s: got %s rules, want %s", c->name, got,
                      c->want);
    } else {
        ck_assert_msg(ov == NULL, "case %s: got an out pointer on failure", c->name);
        ck_assert_msg(strstr(err, c->want) != NULL, "case %s: got err \"%s\", want \"%s\" in it",
                      c->name, err, c->want);
    }
    sts_overrides_free(ov);
}
END_TEST

static const char fixture[] = "# the lookup fixture\n"
                              "example.com enforce MX1.Example.COM. *.mail.example.com\n"
                              ".example.com skip\n"
                              "a.example.com skip\n"
                              ".b.example.com enforce mx.b.example.com\n"
                              "EXAMPLE.ORG. Skip\n"
                              "b\xc3\xbc"
                              "cher.example enforce mx.b\xc3\xbc"
                              "cher.example\n"
                              ".deep.example enforce *.Deep.Example.\n"
                              ".com.example skip\n"
                              "forced.example verify\n"
                              ".forced.example encrypt\n"
                              "partner.example secure mx.partner.example\n";

struct lookup_case {
    const char *name;
    const char *domain;
    const char *want_rule; /* the rule's domain as stored, or NULL for no rule */
    enum sts_override_kind want_kind;
    const char *want_patterns; /* space-separated */
    unsigned want_line;
};

static const struct lookup_case lookup_cases[] = {
    {"exact", "example.com", "example.com", STS_OVERRIDE_ENFORCE,
     "mx1.example.com *.mail.example.com", 2},
    {"parent", "x.example.com", ".example.com", STS_OVERRIDE_SKIP, "", 3},
    {"parent_deep", "x.y.z.example.com", ".example.com", STS_OVERRIDE_SKIP, "", 3},
    {"exact_beats_parent", "a.example.com", "a.example.com", STS_OVERRIDE_SKIP, "", 4},
    {"below_exact_uses_parent", "x.a.example.com", ".example.com", STS_OVERRIDE_SKIP, "", 3},
    {"closest_parent", "c.b.example.com", ".b.example.com", STS_OVERRIDE_ENFORCE,
     "mx.b.example.com", 5},
    {"closest_parent_deep", "x.c.b.example.com", ".b.example.com", STS_OVERRIDE_ENFORCE,
     "mx.b.example.com", 5},
    {"parent_not_itself", "b.example.com", ".example.com", STS_OVERRIDE_SKIP, "", 3},
    {"normalised_file_entry", "example.org", "example.org", STS_OVERRIDE_SKIP, "", 6},
    {"exact_only_no_sub", "sub.example.org", NULL, 0, "", 0},
    {"idn", "xn--bcher-kva.example", "xn--bcher-kva.example", STS_OVERRIDE_ENFORCE,
     "mx.xn--bcher-kva.example", 7},
    {"parent_rule_only_below", "deep.example", NULL, 0, "", 0},
    {"parent_wildcard_pattern", "a.deep.example", ".deep.example", STS_OVERRIDE_ENFORCE,
     "*.deep.example", 8},
    {"label_boundary", "notexample.com", NULL, 0, "", 0},
    {"suffix_not_label", "xcom.example", NULL, 0, "", 0},
    {"parent_of_rule", "com", NULL, 0, "", 0},
    {"unrelated", "example.net", NULL, 0, "", 0},
    {"empty", "", NULL, 0, "", 0},
    {"not_normalised_misses", "Example.com", NULL, 0, "", 0},
    {"verify_level", "forced.example", "forced.example", STS_OVERRIDE_VERIFY, "", 10},
    {"encrypt_below", "mail.forced.example", ".forced.example", STS_OVERRIDE_ENCRYPT, "", 11},
    {"secure_is_enforce", "partner.example", "partner.example", STS_OVERRIDE_ENFORCE,
     "mx.partner.example", 12},
};

START_TEST(test_lookup)
{
    const struct lookup_case *c = &lookup_cases[_i];
    struct sts_overrides *ov = NULL;
    char err[512] = "", pats[512] = "";

    ck_assert_msg(sts_overrides_parse(fixture, strlen(fixture), "fixture", &ov, err, sizeof(err)) ==
                      STS_OK,
                  "fixture: %s", err);
    const struct sts_override *r = sts_overrides_lookup(ov, c->domain);
    if (c->want_rule == NULL) {
        ck_assert_msg(r == NULL, "case %s: got rule %s, want none", c->name, r ? r->domain : "");
    } else {
        ck_assert_msg(r != NULL, "case %s: got no rule, want %s", c->name, c->want_rule);
        ck_assert_msg(strcmp(r->domain, c->want_rule) == 0, "case %s: got rule %s, want %s",
                      c->name, r->domain, c->want_rule);
        ck_assert_msg(r->kind == c->want_kind, "case %s: got %s, want %s", c->name,
                      sts_override_kind_name(r->kind), sts_override_kind_name(c->want_kind));
        ck_assert_msg(r->subdomains == (c->want_rule[0] == '.'), "case %s: subdomains flag",
                      c->name);
        for (size_t i = 0; i < r->npatterns; i++)
            snprintf(pats + strlen(pats), sizeof(pats) - strlen(pats), "%s%s", i ? " " : "",
                     r->patterns[i]);
        ck_assert_msg(strcmp(pats, c->want_patterns) == 0,
                      "case %s: got patterns \"%s\", want \"%s\"", c->name, pats, c->want_patterns);
        ck_assert_msg(r->line == c->want_line, "case %s: got line %u, want %u", c->name, r->line,
                      c->want_line);
    }
    sts_overrides_free(ov);
}
END_TEST

/* No OverridesFile: a NULL set finds nothing and frees as a no-op. */
START_TEST(test_null_set)
{
    ck_assert_ptr_null(sts_overrides_lookup(NULL, "example.com"));
    ck_assert_uint_eq(sts_overrides_count(NULL), 0);
    ck_assert_ptr_null(sts_overrides_ref(NULL));
    sts_overrides_unref(NULL);
    sts_overrides_free(NULL);
}
END_TEST

/* Many rules: the table grows and every rule is still found, by hash. */
START_TEST(test_many_rules)
{
    enum { N = 5000 };
    size_t cap = (size_t)N * 64, len = 0;
    char *text = malloc(cap), name[64];
    struct sts_overrides *ov = NULL;
    char err[512] = "";

    ck_assert_ptr_nonnull(text);
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(text + len, cap - len, "%sd%d.example %s\n", i % 2 ? "." : "", i,
                                i % 3 ? "skip" : "enforce mx.example.net");
    ck_assert_int_eq(sts_overrides_parse(text, len, "many", &ov, err, sizeof(err)), STS_OK);
    ck_assert_uint_eq(sts_overrides_count(ov), N);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "%sd%d.example", i % 2 ? "x." : "", i);
        const struct sts_override *r = sts_overrides_lookup(ov, name);
        ck_assert_msg(r != NULL && r->line == (unsigned)i + 1, "case many: %s not found", name);
    }
    ck_assert_ptr_null(sts_overrides_lookup(ov, "d1.example")); /* a parent rule only */
    sts_overrides_free(ov);
    free(text);
}
END_TEST

START_TEST(test_line_too_long)
{
    char text[STS_OVERRIDES_LINE_MAX + 64];
    struct sts_overrides *ov = NULL;
    char err[512] = "";
    int n = snprintf(text, sizeof(text), "example.com skip\nexample.org enforce ");
    memset(text + n, 'a', sizeof(text) - (size_t)n - 1);
    text[sizeof(text) - 1] = '\0';

    ck_assert_int_eq(sts_overrides_parse(text, strlen(text), "o.txt", &ov, err, sizeof(err)),
                     STS_EINVAL);
    ck_assert_str_eq(err, "o.txt:2: line longer than 4096 bytes");
}
END_TEST

static char tmpdir[PATH_MAX];

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/test_overrides.XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp %s failed", tmpdir);
}

static void teardown(void)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/overrides", tmpdir);
    unlink(path);
    rmdir(tmpdir);
}

/* A file loads (the reload path); errors carry its path; a missing file is EIO. */
START_TEST(test_load_file)
{
    char path[PATH_MAX + 32], want[PATH_MAX + 96], err[PATH_MAX + 96] = "";
    struct sts_overrides *ov = NULL;
    snprintf(path, sizeof(path), "%s/overrides", tmpdir);

    ck_assert_int_eq(sts_overrides_load(path, &ov, err, sizeof(err)), STS_EIO);
    ck_assert_ptr_null(ov);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(fixture, fp);
    fclose(fp);
    ck_assert_int_eq(sts_overrides_load(path, &ov, err, sizeof(err)), STS_OK);
    ck_assert_uint_eq(sts_overrides_count(ov), 11);

    fp = fopen(path, "a");
    ck_assert_ptr_nonnull(fp);
    fputs("example.com skip\n", fp);
    fclose(fp);
    struct sts_overrides *bad = ov;
    ck_assert_int_eq(sts_overrides_load(path, &bad, err, sizeof(err)), STS_EINVAL);
    ck_assert_ptr_eq(bad, ov); /* untouched: the old set stays */
    snprintf(want, sizeof(want), "%s:13: example.com given twice (first on line 2)", path);
    ck_assert_str_eq(err, want);
    sts_overrides_free(ov);
}
END_TEST

static void *lookup_worker(void *arg)
{
    const struct sts_overrides *ov = arg;
    for (int i = 0; i < 20000; i++) {
        const struct sts_overrides *mine = sts_overrides_ref(ov);
        const struct sts_override *r = sts_overrides_lookup(mine, "x.example.com");
        if (r == NULL || r->kind != STS_OVERRIDE_SKIP)
            return (void *)1;
        sts_overrides_unref(mine);
    }
    return NULL;
}

/* Lookups and references from many threads at once, without a lock. */
START_TEST(test_refcount_threads)
{
    struct sts_overrides *ov = NULL;
    char err[512] = "";
    pthread_t t[8];

    ck_assert_int_eq(
        sts_overrides_parse(fixture, strlen(fixture), "fixture", &ov, err, sizeof(err)), STS_OK);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, lookup_worker, ov), 0);
    for (int i = 0; i < 8; i++) {
        void *rv;
        ck_assert_int_eq(pthread_join(t[i], &rv), 0);
        ck_assert_ptr_null(rv);
    }
    const struct sts_overrides *held = sts_overrides_ref(ov);
    sts_overrides_unref(ov); /* the daemon swapped in a new set */
    ck_assert_ptr_nonnull(sts_overrides_lookup(held, "example.com"));
    sts_overrides_unref(held);
}
END_TEST

/* contrib/overrides.sample loads and means what its comments say. */
START_TEST(test_sample)
{
    const char *srcdir = getenv("srcdir");
    char path[PATH_MAX], err[PATH_MAX + 128] = "";
    struct sts_overrides *ov = NULL;
    snprintf(path, sizeof(path), "%s/contrib/overrides.sample", srcdir ? srcdir : ".");

    ck_assert_msg(sts_overrides_load(path, &ov, err, sizeof(err)) == STS_OK, "%s", err);
    ck_assert_uint_eq(sts_overrides_count(ov), 8);
    const struct sts_override *r = sts_overrides_lookup(ov, "partner.example");
    ck_assert_msg(r != NULL && r->kind == STS_OVERRIDE_ENFORCE && r->npatterns == 2,
                  "partner.example");
    r = sts_overrides_lookup(ov, "corp.example");
    ck_assert_msg(r != NULL && r->kind == STS_OVERRIDE_ENFORCE && !r->subdomains, "corp.example");
    r = sts_overrides_lookup(ov, "x.corp.example");
    ck_assert_msg(r != NULL && r->kind == STS_OVERRIDE_ENFORCE && r->subdomains, "x.corp.example");
    r = sts_overrides_lookup(ov, "legacy.corp.example");
    ck_assert_msg(r != NULL && r->kind == STS_OVERRIDE_SKIP, "legacy.corp.example");
    r = sts_overrides_lookup(ov, "broken-policy.example");
    ck_assert_msg(r != NULL && r->kind == STS_OVERRIDE_SKIP, "broken-policy.example");
    /* one example of each forced-TLS level */
    r = sts_overrides_lookup(ov, "supplier.example");
    ck_assert_msg(r != NULL && r->kind == STS_OVERRIDE_ENCRYPT, "supplier.example encrypt");
    r = sts_overrides_lookup(ov, "bank.example");
    ck_assert_msg(r != NULL && r->kind == STS_OVERRIDE_VERIFY, "bank.example verify");
    r = sts_overrides_lookup(ov, "agency.example");
    ck_assert_msg(r != NULL && r->kind == STS_OVERRIDE_DANE, "agency.example dane");
    sts_overrides_free(ov);
}
END_TEST

static Suite *overrides_suite(void)
{
    Suite *s = suite_create("overrides");
    TCase *tc = tcase_create("overrides");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_parse, 0, NCASES(parse_cases));
    tcase_add_loop_test(tc, test_lookup, 0, NCASES(lookup_cases));
    tcase_add_test(tc, test_null_set);
    tcase_add_test(tc, test_many_rules);
    tcase_add_test(tc, test_line_too_long);
    tcase_add_test(tc, test_load_file);
    tcase_add_test(tc, test_refcount_threads);
    tcase_add_test(tc, test_sample);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(overrides_suite());
}
