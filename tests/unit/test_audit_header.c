/*
 * test_audit_header.c - unit tests of the audit header value: format,
 * parse, folding, cap, and the entry built from a verdict.
 *
 * Guards the grammar written in audit_header.h, RFC 5322 §2.1.1 (lines at
 * most 998 octets, 78 where the content allows) and §2.2.3 (folding: a
 * line break only before white space), the libmilter smfi_addheader()
 * convention (fold with LF + white space, no CR), and the tagging of
 * RFC 8461 §5 "testing" and audit-mode verdicts (verdict=fail while the
 * message was accepted).
 *
 * Table-driven: each row is one TAP test point; a failure reads
 * "case NAME: got X, want Y".
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/audit_header.h"
#include "mtasts/route.h"
#include "mtasts/status.h"
#include "mtasts/verdict.h"
#include "unit_main.h"

/* An entry as a row writes it; NULL fields are absent. */
struct row_entry {
    const char *domain, *mode, *id, *override, *verdict, *reason, *mx, *relay;
};

static void make_entry(struct sts_audit_entry *e, const struct row_entry *r)
{
    memset(e, 0, sizeof(*e));
#define SET(f)                                                                                     \
    if (r->f != NULL)                                                                              \
    snprintf(e->f, sizeof(e->f), "%s", r->f)
    SET(domain);
    SET(mode);
    SET(id);
    SET(override);
    SET(verdict);
    SET(reason);
    SET(mx);
    SET(relay);
#undef SET
}

#define MISMATCH                                                                                   \
    {                                                                                              \
        "example.com", "enforce", "20240101", NULL, "fail", "mx-mismatch", "mx1.example.com", NULL \
    }
#define NOPOLICY                                                                                   \
    {                                                                                              \
        "other.org", "none", NULL, NULL, "pass", "no-policy", NULL, NULL                           \
    }

struct format_case {
    const char *name;
    struct row_entry e[4];
    size_t n;
    enum sts_audit_fold fold;
    size_t first_used;
    const char *want;
};

static const struct format_case format_cases[] = {
    {"single",
     {MISMATCH},
     1,
     STS_AUDIT_FOLD_NONE,
     0,
     "example.com; mode=enforce; id=20240101; verdict=fail; reason=mx-mismatch; "
     "mx=mx1.example.com"},
    {"two_domains",
     {MISMATCH, NOPOLICY},
     2,
     STS_AUDIT_FOLD_NONE,
     0,
     "example.com; mode=enforce; id=20240101; verdict=fail; reason=mx-mismatch; "
     "mx=mx1.example.com, other.org; mode=none; verdict=pass; reason=no-policy"},
    {"dedupe_identical",
     {MISMATCH, NOPOLICY, MISMATCH, NOPOLICY},
     4,
     STS_AUDIT_FOLD_NONE,
     0,
     "example.com; mode=enforce; id=20240101; verdict=fail; reason=mx-mismatch; "
     "mx=mx1.example.com, other.org; mode=none; verdict=pass; reason=no-policy"},
    {"same_domain_two_verdicts",
     {MISMATCH,
      {"example.com", "enforce", "20240101", NULL, "pass", "trusted-relay", NULL,
       "[smtp.relay.net]:587"}},
     2,
     STS_AUDIT_FOLD_NONE,
     0,
     "example.com; mode=enforce; id=20240101; verdict=fail; reason=mx-mismatch; "
     "mx=mx1.example.com, example.com; mode=enforce; id=20240101; verdict=pass; "
     "reason=trusted-relay; relay=[smtp.relay.net]:587"},
    {"no_domain",
     {{NULL, NULL, NULL, NULL, "pass", "no-domain", NULL, NULL}},
     1,
     STS_AUDIT_FOLD_NONE,
     0,
     "-; verdict=pass; reason=no-domain"},
    {"override_skip",
     {{"example.com", NULL, NULL, "skip", "pass", "override-skip", NULL, NULL}},
     1,
     STS_AUDIT_FOLD_NONE,
     0,
     "example.com; override=skip; verdict=pass; reason=override-skip"},
    {"escapes",
     {{"a b", NULL, "x=y;z", NULL, "pass", "no-policy", "100%", "[a.example]:25, [b.example]:25"}},
     1,
     STS_AUDIT_FOLD_NONE,
     0,
     "a%20b; id=x%3Dy%3Bz; verdict=pass; reason=no-policy; mx=100%25; "
     "relay=[a.example]:25%2C%20[b.example]:25"},
    {"escape_non_ascii",
     {{"b\xc3\xbc.example", NULL, NULL, NULL, "pass", "no-policy", NULL, NULL}},
     1,
     STS_AUDIT_FOLD_NONE,
     0,
     "b%C3%BC.example; verdict=pass; reason=no-policy"},
    {"fold_lf",
     {MISMATCH},
     1,
     STS_AUDIT_FOLD_LF,
     15,
     "example.com; mode=enforce; id=20240101; verdict=fail;\n\treason=mx-mismatch; "
     "mx=mx1.example.com"},
    {"fold_crlf",
     {MISMATCH},
     1,
     STS_AUDIT_FOLD_CRLF,
     15,
     "example.com; mode=enforce; id=20240101; verdict=fail;\r\n\treason=mx-mismatch; "
     "mx=mx1.example.com"},
    {"fold_lf_two",
     {MISMATCH, NOPOLICY},
     2,
     STS_AUDIT_FOLD_LF,
     15,
     "example.com; mode=enforce; id=20240101; verdict=fail;\n\treason=mx-mismatch; "
     "mx=mx1.example.com, other.org; mode=none; verdict=pass;\n\treason=no-policy"},
    {"short_fits_one_line",
     {NOPOLICY},
     1,
     STS_AUDIT_FOLD_LF,
     15,
     "other.org; mode=none; verdict=pass; reason=no-policy"},
};

START_TEST(test_format)
{
    const struct format_case *c = &format_cases[_i];
    struct sts_audit_entry e[4];
    char out[STS_AUDIT_HEADER_MAX + 1];
    char err[256] = "";
    size_t omitted = 99;

    for (size_t i = 0; i < c->n; i++)
        make_entry(&e[i], &c->e[i]);
    enum sts_status st = sts_audit_header_format(e, c->n, c->fold, c->first_used, out, sizeof(out),
                                                 &omitted, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case %s: got %s, want ok (err: %s)", c->name, sts_status_word(st),
                  err);
    ck_assert_msg(strcmp(out, c->want) == 0, "case %s: got \"%s\", want \"%s\"", c->name, out,
                  c->want);
    ck_assert_msg(omitted == 0, "case %s: got omitted %zu, want 0", c->name, omitted);

    /* And it reads back to the distinct entries, in order. */
    struct sts_audit_entry back[4];
    size_t n = 0;
    st = sts_audit_header_parse(out, back, 4, &n, &omitted, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case %s: parse got %s, want ok (err: %s)", c->name,
                  sts_status_word(st), err);
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++)
            dup = dup || sts_audit_header_entry_equal(&e[i], &e[j]);
        if (dup)
            continue;
        ck_assert_msg(k < n && sts_audit_header_entry_equal(&e[i], &back[k]),
                      "case %s: entry %zu does not read back", c->name, i);
        k++;
    }
    ck_assert_msg(k == n, "case %s: got %zu entries back, want %zu", c->name, n, k);
}
END_TEST

struct parse_case {
    const char *name;
    const char *value;
    size_t cap; /* 0: 8 */
    enum sts_status want;
    size_t want_n;
    size_t want_omitted;
    const char *want_domain0; /* NULL: not checked */
    const char *want_reason0;
};

static const struct parse_case parse_cases[] = {
    {"minimal", "example.com; verdict=pass; reason=no-policy", 0, STS_OK, 1, 0, "example.com",
     "no-policy"},
    {"leading_space", " example.com; verdict=pass; reason=no-policy", 0, STS_OK, 1, 0,
     "example.com", "no-policy"},
    {"leading_tab_trailing_space", "\texample.com; verdict=pass; reason=x  ", 0, STS_OK, 1, 0,
     "example.com", "x"},
    {"no_spaces", "a.org;verdict=pass;reason=x,b.org;verdict=fail;reason=mx-mismatch", 0, STS_OK, 2,
     0, "a.org", "x"},
    {"crlf_fold", "example.com;\r\n\tverdict=pass; reason=no-policy", 0, STS_OK, 1, 0,
     "example.com", "no-policy"},
    {"lf_fold_spaces", "example.com;\n  verdict=pass;\n reason=x", 0, STS_OK, 1, 0, "example.com",
     "x"},
    {"fold_before_separator", "example.com\r\n ; verdict=pass; reason=x", 0, STS_OK, 1, 0,
     "example.com", "x"},
    {"unknown_key_ignored", "example.com; future=1%2C2; verdict=pass; reason=x", 0, STS_OK, 1, 0,
     "example.com", "x"},
    {"any_key_order", "example.com; reason=x; verdict=fail; mode=enforce", 0, STS_OK, 1, 0,
     "example.com", "x"},
    {"dash_is_no_domain", "-; verdict=pass; reason=no-domain", 0, STS_OK, 1, 0, "", "no-domain"},
    {"omitted_after_entry", "a.org; verdict=pass; reason=x, omitted=12", 0, STS_OK, 1, 12, "a.org",
     "x"},
    {"omitted_alone", "omitted=3", 0, STS_OK, 0, 3, NULL, NULL},
    {"escaped_name", "a%20b; verdict=pass; reason=x", 0, STS_OK, 1, 0, "a b", "x"},
    {"name_omitted_without_eq", "omitted; verdict=pass; reason=x", 0, STS_OK, 1, 0, "omitted", "x"},
    {"cap_exact", "a.org; verdict=pass; reason=x, b.org; verdict=pass; reason=x", 2, STS_OK, 2, 0,
     "a.org", "x"},

    {"empty", "", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"blank", "  \t ", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"name_only", "example.com", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"no_reason", "example.com; verdict=pass", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"no_verdict", "example.com; reason=x", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"bad_verdict", "example.com; verdict=maybe; reason=x", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"repeated_key", "example.com; verdict=pass; verdict=pass; reason=x", 0, STS_EINVAL, 0, 0, NULL,
     NULL},
    {"short_escape", "a%4; verdict=pass; reason=x", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"escape_at_end", "a.org; verdict=pass; reason=x%", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"lower_hex_escape", "a%2c; verdict=pass; reason=x", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"escaped_nul", "a%00; verdict=pass; reason=x", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"trailing_comma", "a.org; verdict=pass; reason=x,", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"trailing_semicolon", "a.org; verdict=pass; reason=x;", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"double_semicolon", "a.org;; verdict=pass; reason=x", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"leading_comma", ", a.org; verdict=pass; reason=x", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"bare_cr", "a.org;\r verdict=pass; reason=x", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"lf_without_wsp", "a.org;\nverdict=pass; reason=x", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"trailing_crlf", "a.org; verdict=pass; reason=x\r\n", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"omitted_not_last", "omitted=3, a.org; verdict=pass; reason=x", 0, STS_EINVAL, 0, 0, NULL,
     NULL},
    {"omitted_no_digits", "a.org; verdict=pass; reason=x, omitted=", 0, STS_EINVAL, 0, 0, NULL,
     NULL},
    {"omitted_20_digits", "omitted=12345678901234567890", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"name_is_param", "mode=enforce; verdict=pass; reason=x", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"upper_case_key", "a.org; Verdict=pass; reason=x", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"empty_value", "a.org; verdict=; reason=x", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"space_in_value", "a.org; verdict=pass; reason=no policy", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"quote_in_value", "a.org; verdict=pass; reason=\"x\"", 0, STS_EINVAL, 0, 0, NULL, NULL},
    {"word_too_long",
     "a.org; verdict=pass; reason=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     0, STS_EINVAL, 0, 0, NULL, NULL},
    {"more_than_cap", "a.org; verdict=pass; reason=x, b.org; verdict=pass; reason=x", 1,
     STS_ETOOBIG, 1, 0, NULL, NULL},
};

START_TEST(test_parse)
{
    const struct parse_case *c = &parse_cases[_i];
    struct sts_audit_entry e[8];
    size_t cap = c->cap != 0 ? c->cap : 8;
    size_t n = 99, omitted = 99;
    char err[256] = "";

    enum sts_status st = sts_audit_header_parse(c->value, e, cap, &n, &omitted, err, sizeof(err));
    ck_assert_msg(st == c->want, "case %s: got %s, want %s (err: %s)", c->name, sts_status_word(st),
                  sts_status_word(c->want), err);
    if (st != STS_OK) {
        ck_assert_msg(err[0] != '\0', "case %s: got an empty reason, want one in err", c->name);
        return;
    }
    ck_assert_msg(n == c->want_n, "case %s: got %zu entries, want %zu", c->name, n, c->want_n);
    ck_assert_msg(omitted == c->want_omitted, "case %s: got omitted %zu, want %zu", c->name,
                  omitted, c->want_omitted);
    if (c->want_domain0 != NULL)
        ck_assert_msg(strcmp(e[0].domain, c->want_domain0) == 0 &&
                          strcmp(e[0].reason, c->want_reason0) == 0,
                      "case %s: got %s/%s, want %s/%s", c->name, e[0].domain, e[0].reason,
                      c->want_domain0, c->want_reason0);
}
END_TEST

/* Values of the maximum length survive escaping, folding and parsing. */
START_TEST(test_max_values_round_trip)
{
    static const enum sts_audit_fold folds[] = {STS_AUDIT_FOLD_LF, STS_AUDIT_FOLD_CRLF,
                                                STS_AUDIT_FOLD_NONE};
    struct sts_audit_entry e[2], back[2];
    char out[STS_AUDIT_HEADER_MAX + 1], err[256] = "";

    memset(e, 0, sizeof(e));
    memset(e[0].domain, ';', STS_AUDIT_VALUE_MAX); /* every octet escaped: 765 */
    memset(e[0].mx, 'm', STS_AUDIT_VALUE_MAX);
    memset(e[0].relay, ',', STS_AUDIT_VALUE_MAX);
    memset(e[0].id, 'I', STS_AUDIT_WORD_MAX);
    snprintf(e[0].verdict, sizeof(e[0].verdict), "fail");
    snprintf(e[0].reason, sizeof(e[0].reason), "untrusted-relay");
    e[1] = e[0];
    e[1].domain[0] = 'x';
    for (size_t f = 0; f < 3; f++) {
        size_t n = 0, omitted = 0;
        ck_assert_int_eq(sts_audit_header_format(e, 2, folds[f], 15, out, sizeof(out), &omitted,
                                                 err, sizeof(err)),
                         STS_OK);
        ck_assert_msg(omitted == 0, "fold %zu: got omitted %zu, want 0", f, omitted);
        ck_assert_msg(sts_audit_header_parse(out, back, 2, &n, &omitted, err, sizeof(err)) ==
                          STS_OK,
                      "fold %zu: parse failed: %s", f, err);
        ck_assert_msg(n == 2 && sts_audit_header_entry_equal(&e[0], &back[0]) &&
                          sts_audit_header_entry_equal(&e[1], &back[1]),
                      "fold %zu: entries do not read back", f);
        if (folds[f] != STS_AUDIT_FOLD_NONE) {
            /* Every physical line within RFC 5322's 998 octets. */
            size_t col = 15;
            for (const char *p = out; *p != '\0'; p++) {
                if (*p == '\n' || *p == '\r') {
                    col = 0;
                    continue;
                }
                ck_assert_msg(++col <= STS_AUDIT_LINE_MAX, "fold %zu: line longer than 998", f);
            }
        }
    }
}
END_TEST

/* Many entries: lines within 78 octets, folds well formed, cap respected. */
struct bulk_case {
    const char *name;
    enum sts_audit_fold fold;
    size_t outlen;
    size_t count;
};

static const struct bulk_case bulk_cases[] = {
    {"lf_all_fit", STS_AUDIT_FOLD_LF, STS_AUDIT_HEADER_MAX + 1, 20},
    {"crlf_all_fit", STS_AUDIT_FOLD_CRLF, STS_AUDIT_HEADER_MAX + 1, 20},
    {"none_all_fit", STS_AUDIT_FOLD_NONE, STS_AUDIT_HEADER_MAX + 1, 20},
    {"lf_capped", STS_AUDIT_FOLD_LF, STS_AUDIT_HEADER_MAX + 1, 200},
    {"crlf_capped", STS_AUDIT_FOLD_CRLF, STS_AUDIT_HEADER_MAX + 1, 200},
    {"none_capped_small", STS_AUDIT_FOLD_NONE, 300, 50},
    {"lf_capped_tiny", STS_AUDIT_FOLD_LF, 64, 5},
};

static void bulk_entry(struct sts_audit_entry *e, size_t i)
{
    memset(e, 0, sizeof(*e));
    snprintf(e->domain, sizeof(e->domain), "recipient-domain-%zu.example", i);
    snprintf(e->mode, sizeof(e->mode), "%s", i % 2 ? "enforce" : "testing");
    snprintf(e->id, sizeof(e->id), "id%zu", i);
    snprintf(e->verdict, sizeof(e->verdict), "%s", i % 3 ? "pass" : "fail");
    snprintf(e->reason, sizeof(e->reason), "%s", i % 3 ? "mx-match" : "mx-mismatch");
    snprintf(e->mx, sizeof(e->mx), "mx%zu.recipient-domain-%zu.example", i, i);
}

START_TEST(test_bulk)
{
    const struct bulk_case *c = &bulk_cases[_i];
    struct sts_audit_entry *e = calloc(c->count, sizeof(*e));
    struct sts_audit_entry *back = calloc(c->count, sizeof(*back));
    char *out = malloc(c->outlen);
    char err[256] = "";
    size_t omitted = 0, n = 0, back_omitted = 0;

    ck_assert(e != NULL && back != NULL && out != NULL);
    for (size_t i = 0; i < c->count; i++)
        bulk_entry(&e[i], i);
    enum sts_status st = sts_audit_header_format(e, c->count, c->fold, 15, out, c->outlen, &omitted,
                                                 err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case %s: got %s (err: %s)", c->name, sts_status_word(st), err);
    ck_assert_msg(strlen(out) < c->outlen, "case %s: got %zu octets for a cap of %zu", c->name,
                  strlen(out), c->outlen);

    /* Line shape. */
    size_t col = 15;
    for (const char *p = out; *p != '\0'; p++) {
        if (c->fold == STS_AUDIT_FOLD_NONE) {
            ck_assert_msg(*p != '\r' && *p != '\n', "case %s: got a line break, want none",
                          c->name);
            continue;
        }
        if (*p == '\r') {
            ck_assert_msg(c->fold == STS_AUDIT_FOLD_CRLF && p[1] == '\n',
                          "case %s: got a CR not part of CRLF", c->name);
            continue;
        }
        if (*p == '\n') {
            ck_assert_msg(c->fold == STS_AUDIT_FOLD_CRLF ? p > out && p[-1] == '\r'
                                                         : p > out && p[-1] != '\r',
                          "case %s: got a bad line ending", c->name);
            ck_assert_msg(p[1] == '\t', "case %s: got a fold not followed by a tab", c->name);
            col = 0;
            continue;
        }
        ck_assert_msg(++col <= STS_AUDIT_FOLD_AT, "case %s: got a line longer than %d: \"%s\"",
                      c->name, STS_AUDIT_FOLD_AT, out);
    }

    /* Parse back: the kept entries in order, the rest counted. */
    st = sts_audit_header_parse(out, back, c->count, &n, &back_omitted, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case %s: parse got %s (err: %s)", c->name, sts_status_word(st),
                  err);
    ck_assert_msg(back_omitted == omitted, "case %s: got omitted %zu back, formatter said %zu",
                  c->name, back_omitted, omitted);
    ck_assert_msg(n + omitted == c->count, "case %s: got %zu kept + %zu omitted, want %zu", c->name,
                  n, omitted, c->count);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(sts_audit_header_entry_equal(&e[i], &back[i]),
                      "case %s: entry %zu does not read back", c->name, i);
    if (c->outlen == STS_AUDIT_HEADER_MAX + 1 && c->count <= 20)
        ck_assert_msg(omitted == 0, "case %s: got omitted %zu, want 0", c->name, omitted);
    else
        ck_assert_msg(omitted > 0, "case %s: got omitted 0, want some", c->name);
    free(e);
    free(back);
    free(out);
}
END_TEST

/* The cap is exact: a value of L octets fits in L + 1, not in L. */
START_TEST(test_cap_exact)
{
    struct sts_audit_entry e[3];
    char full[STS_AUDIT_HEADER_MAX + 1], out[STS_AUDIT_HEADER_MAX + 1], err[256] = "";
    size_t omitted = 0;

    for (size_t i = 0; i < 3; i++)
        bulk_entry(&e[i], i);
    ck_assert_int_eq(sts_audit_header_format(e, 3, STS_AUDIT_FOLD_LF, 15, full, sizeof(full),
                                             &omitted, err, sizeof(err)),
                     STS_OK);
    size_t len = strlen(full);
    ck_assert_int_eq(sts_audit_header_format(e, 3, STS_AUDIT_FOLD_LF, 15, out, len + 1, &omitted,
                                             err, sizeof(err)),
                     STS_OK);
    ck_assert_msg(omitted == 0 && strcmp(out, full) == 0, "got \"%s\" omitted %zu, want \"%s\"",
                  out, omitted, full);
    ck_assert_int_eq(
        sts_audit_header_format(e, 3, STS_AUDIT_FOLD_LF, 15, out, len, &omitted, err, sizeof(err)),
        STS_OK);
    ck_assert_msg(omitted == 1 && strstr(out, "omitted=1") != NULL,
                  "got \"%s\" omitted %zu, want the last entry omitted", out, omitted);
}
END_TEST

/* Nothing fits but the trailer; below the trailer's room, an error. */
START_TEST(test_cap_trailer_only)
{
    struct sts_audit_entry e[2];
    char out[64], err[256] = "";
    size_t omitted = 0;

    bulk_entry(&e[0], 1);
    bulk_entry(&e[1], 2);
    ck_assert_int_eq(
        sts_audit_header_format(e, 2, STS_AUDIT_FOLD_LF, 15, out, 40, &omitted, err, sizeof(err)),
        STS_OK);
    ck_assert_msg(strcmp(out, "omitted=2") == 0 && omitted == 2, "got \"%s\" omitted %zu", out,
                  omitted);
    ck_assert_int_eq(
        sts_audit_header_format(e, 2, STS_AUDIT_FOLD_LF, 15, out, 10, &omitted, err, sizeof(err)),
        STS_ETOOBIG);
}
END_TEST

START_TEST(test_format_invalid)
{
    struct sts_audit_entry e;
    char out[256], err[256] = "";

    bulk_entry(&e, 0);
    ck_assert_int_eq(
        sts_audit_header_format(&e, 0, STS_AUDIT_FOLD_LF, 0, out, sizeof(out), NULL, err, 256),
        STS_EINVAL);
    ck_assert_int_eq(
        sts_audit_header_format(NULL, 1, STS_AUDIT_FOLD_LF, 0, out, sizeof(out), NULL, err, 256),
        STS_EINVAL);
    e.verdict[0] = '\0';
    ck_assert_int_eq(
        sts_audit_header_format(&e, 1, STS_AUDIT_FOLD_LF, 0, out, sizeof(out), NULL, err, 256),
        STS_EINVAL);
    bulk_entry(&e, 0);
    e.reason[0] = '\0';
    ck_assert_int_eq(
        sts_audit_header_format(&e, 1, STS_AUDIT_FOLD_LF, 0, out, sizeof(out), NULL, err, 256),
        STS_EINVAL);
    bulk_entry(&e, 0);
    memset(e.mx, 'a', sizeof(e.mx)); /* not terminated */
    ck_assert_int_eq(
        sts_audit_header_format(&e, 1, STS_AUDIT_FOLD_LF, 0, out, sizeof(out), NULL, err, 256),
        STS_EINVAL);
}
END_TEST

START_TEST(test_parse_too_long)
{
    char *big = malloc(STS_AUDIT_INPUT_MAX + 2);
    struct sts_audit_entry e[1];
    size_t n = 0;
    char err[256] = "";

    ck_assert(big != NULL);
    memset(big, 'a', STS_AUDIT_INPUT_MAX + 1);
    big[STS_AUDIT_INPUT_MAX + 1] = '\0';
    ck_assert_int_eq(sts_audit_header_parse(big, e, 1, &n, NULL, err, sizeof(err)), STS_ETOOBIG);
    ck_assert_int_eq(sts_audit_header_parse(NULL, e, 1, &n, NULL, err, sizeof(err)), STS_EINVAL);
    free(big);
}
END_TEST

/* The entry built from a verdict carries its tags. */
struct entry_case {
    const char *name;
    const char *domain;
    const char *mailer, *host;
    struct sts_verdict v;
    struct row_entry want;
};

static const struct entry_case entry_cases[] = {
    {"enforce_mismatch",
     "example.com",
     "smtp",
     "example.com",
     {.would_fail = true,
      .reason = STS_REASON_MX_MISMATCH,
      .mode_known = true,
      .mode = STS_MODE_ENFORCE,
      .policy_id = "20240101",
      .mx = "mx.evil.example"},
     {"example.com", "enforce", "20240101", NULL, "fail", "mx-mismatch", "mx.evil.example", NULL}},
    {"testing_relay",
     "example.com",
     "relay",
     "[Smtp.Relay.Net]:587",
     {.would_fail = true,
      .reason = STS_REASON_UNTRUSTED_RELAY,
      .mode_known = true,
      .mode = STS_MODE_TESTING,
      .policy_id = "abc"},
     {"example.com", "testing", "abc", NULL, "fail", "untrusted-relay", NULL,
      "[smtp.relay.net]:587"}},
    {"no_policy",
     "other.org",
     "smtp",
     "other.org",
     {.reason = STS_REASON_NO_POLICY, .mode_known = true, .mode = STS_MODE_NONE},
     {"other.org", "none", NULL, NULL, "pass", "no-policy", NULL, NULL}},
    {"override_skip",
     "example.com",
     "smtp",
     "example.com",
     {.reason = STS_REASON_OVERRIDE_SKIP, .override = STS_OVERRIDE_SKIP},
     {"example.com", NULL, NULL, "skip", "pass", "override-skip", NULL, NULL}},
    {"override_enforce",
     "example.com",
     "smtp",
     "example.com",
     {.reason = STS_REASON_OVERRIDE_MATCH,
      .override = STS_OVERRIDE_ENFORCE,
      .mode_known = true,
      .mode = STS_MODE_ENFORCE,
      .mx = "mx1.example.com"},
     {"example.com", "enforce", NULL, "enforce", "pass", "override-enforce-match",
      "mx1.example.com", NULL}},
    {"no_domain",
     NULL,
     "smtp",
     "[192.0.2.1]",
     {.reason = STS_REASON_NO_DOMAIN},
     {NULL, NULL, NULL, NULL, "pass", "no-domain", NULL, "[192.0.2.1]"}},
    {"dns_error",
     "example.com",
     "smtp",
     "example.com",
     {.would_fail = true, .reason = STS_REASON_DNS_ERROR},
     {"example.com", NULL, NULL, NULL, "fail", "dns-error", NULL, NULL}},
};

START_TEST(test_entry_set)
{
    const struct entry_case *c = &entry_cases[_i];
    struct sts_route r;
    struct sts_audit_entry got, want;

    sts_route_classify(c->mailer, c->host, c->domain, NULL, 0, &r, NULL, 0);
    sts_audit_header_entry_set(&got, c->domain, &r, &c->v);
    make_entry(&want, &c->want);
    ck_assert_msg(sts_audit_header_entry_equal(&got, &want),
                  "case %s: got {%s %s %s %s %s %s %s %s}, want {%s %s %s %s %s %s %s %s}", c->name,
                  got.domain, got.mode, got.id, got.override, got.verdict, got.reason, got.mx,
                  got.relay, want.domain, want.mode, want.id, want.override, want.verdict,
                  want.reason, want.mx, want.relay);
}
END_TEST

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *audit_header_suite(void)
{
    Suite *s = suite_create("audit_header");
    TCase *tc = tcase_create("audit_header");

    tcase_add_loop_test(tc, test_format, 0, NCASES(format_cases));
    tcase_add_loop_test(tc, test_parse, 0, NCASES(parse_cases));
    tcase_add_loop_test(tc, test_bulk, 0, NCASES(bulk_cases));
    tcase_add_loop_test(tc, test_entry_set, 0, NCASES(entry_cases));
    tcase_add_test(tc, test_max_values_round_trip);
    tcase_add_test(tc, test_cap_exact);
    tcase_add_test(tc, test_cap_trailer_only);
    tcase_add_test(tc, test_format_invalid);
    tcase_add_test(tc, test_parse_too_long);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(audit_header_suite());
}
