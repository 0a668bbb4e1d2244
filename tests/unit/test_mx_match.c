/*
 * test_mx_match.c - unit tests of MX host names against policy "mx"
 * patterns.
 *
 * Guards RFC 8461 §4.1 (MX host validation: a pattern is a domain name or
 * "*." and a domain name, the wildcard standing for exactly one whole
 * leftmost label; exact names match exactly) and the "mx" syntax of
 * RFC 8461 §3.2, as refined by the behaviour contract of the pure parsers
 * (issue 2): ASCII case-insensitive, one trailing dot ignored, invalid
 * patterns and hosts match nothing.
 *
 * Table-driven: each row is one TAP test point; a failure reads
 * "case NAME: got X, want Y".
 */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "mtasts/domain.h"
#include "mtasts/mx_match.h"
#include "mtasts/status.h"
#include "unit_main.h"

#define L10 "aaaaaaaaaa"
#define L60 L10 L10 L10 L10 L10 L10
#define L61 L60 "a"
#define L62 L60 "aa"
#define L63 L60 "aaa"
#define L64 L63 "a"
#define NAME253 L63 "." L63 "." L63 "." L61
#define NAME254 L63 "." L63 "." L63 "." L62

struct match_case {
    const char *name;
    const char *pattern;
    const char *host;
    bool want;
};

static const struct match_case match_cases[] = {
    /* Exact patterns. */
    {"exact", "mx.example.com", "mx.example.com", true},
    {"exact_pattern_upper", "MX.Example.COM", "mx.example.com", true},
    {"exact_host_upper", "mx.example.com", "MX.EXAMPLE.com", true},
    {"exact_pattern_trailing_dot", "mx.example.com.", "mx.example.com", true},
    {"exact_host_trailing_dot", "mx.example.com", "mx.example.com.", true},
    {"exact_both_trailing_dots", "mx.example.com.", "mx.example.com.", true},
    {"exact_alabel", "mx.xn--bcher-kva.example", "MX.XN--BCHER-KVA.example", true},
    {"exact_long_name", NAME253, NAME253, true},
    {"exact_not_suffix_match", "mx.example.com", "mx.example.com.evil", false},
    {"exact_not_prefix_match", "mx.example.com", "xmx.example.com", false},
    {"exact_not_subdomain", "mx.example.com", "a.mx.example.com", false},
    {"exact_not_parent", "mx.example.com", "example.com", false},
    {"exact_not_shorter_tld", "mx.example.com", "mx.example.co", false},
    {"exact_other_host", "mx.example.com", "mx2.example.com", false},
    {"exact_host_two_trailing_dots", "mx.example.com", "mx.example.com..", false},
    {"exact_pattern_two_trailing_dots", "mx.example.com..", "mx.example.com.", false},

    /* Wildcard patterns: exactly one extra leftmost label. */
    {"wildcard_one_label", "*.example.com", "mx.example.com", true},
    {"wildcard_case", "*.EXAMPLE.com", "Mx.Example.COM", true},
    {"wildcard_trailing_dots", "*.example.com.", "mx.example.com.", true},
    {"wildcard_host_trailing_dot", "*.example.com", "mx.example.com.", true},
    {"wildcard_label_with_hyphen_digit", "*.example.com", "mx-1.example.com", true},
    {"wildcard_label_63", "*.example.com", L63 ".example.com", true},
    {"wildcard_alabel", "*.xn--bcher-kva.example", "mx.xn--bcher-kva.example", true},
    {"wildcard_not_apex", "*.example.com", "example.com", false},
    {"wildcard_not_two_labels", "*.example.com", "a.b.example.com", false},
    {"wildcard_not_empty_label", "*.example.com", ".example.com", false},
    {"wildcard_not_other_domain", "*.example.com", "mx.example.org", false},
    {"wildcard_not_label_suffix", "*.example.com", "mx.notexample.com", false},
    {"wildcard_not_glued", "*.example.com", "mxexample.com", false},
    {"wildcard_not_suffix_match", "*.example.com", "mx.example.com.evil", false},
    {"wildcard_host_is_star", "*.example.com", "*.example.com", false},
    {"wildcard_host_bad_label", "*.example.com", "-mx.example.com", false},
    {"wildcard_host_empty_label", "*.example.com", "a..example.com", false},

    /* Invalid patterns match nothing. */
    {"pattern_star_alone", "*", "mx", false},
    {"pattern_star_dot", "*.", "mx.", false},
    {"pattern_star_inner", "foo.*.com", "foo.bar.com", false},
    {"pattern_two_stars", "*.*.example.com", "a.b.example.com", false},
    {"pattern_star_in_label", "mail*.example.com", "mail1.example.com", false},
    {"pattern_star_in_label_literal", "mail*.example.com", "mail*.example.com", false},
    {"pattern_double_star", "**.example.com", "a.example.com", false},
    {"pattern_star_glued", "*example.com", "mxexample.com", false},
    {"pattern_star_glued_to_label", "*mx.example.com", "a.x.example.com", false},
    {"pattern_star_glued_same_text", "*mx.example.com", "*mx.example.com", false},
    {"pattern_empty", "", "mx.example.com", false},
    {"pattern_dot", ".", ".", false},
    {"pattern_empty_label", "a..b", "a..b", false},
    {"pattern_label_64", L64 ".example.com", L64 ".example.com", false},
    {"pattern_total_254", NAME254, NAME254, false},

    /* Invalid hosts match nothing. */
    {"host_empty", "mx.example.com", "", false},
    {"host_dot", "*.example.com", ".", false},
    {"host_non_ascii", "*.bücher.example", "mx.bücher.example", false},
    {"host_non_ascii_exact", "mx.bücher.example", "mx.bücher.example", false},
    {"host_non_ascii_vs_alabel", "*.xn--bcher-kva.example", "mx.bücher.example", false},
};

START_TEST(test_match)
{
    const struct match_case *c = &match_cases[_i];
    bool got = sts_mx_match(c->pattern, c->host);

    ck_assert_msg(got == c->want, "case %s: got %s, want %s", c->name, got ? "match" : "no match",
                  c->want ? "match" : "no match");
}
END_TEST

struct pattern_case {
    const char *name;
    const char *pattern;
    enum sts_status want;
};

static const struct pattern_case pattern_cases[] = {
    {"check_exact", "mx.example.com", STS_OK},
    {"check_wildcard", "*.example.com", STS_OK},
    {"check_upper", "MX.EXAMPLE.COM", STS_OK},
    {"check_alabel", "*.xn--bcher-kva.example", STS_OK},
    {"check_hyphen_digit", "mx-1.0a.example.com", STS_OK},
    {"check_label_63", L63 ".example.com", STS_OK},
    {"check_total_253", NAME253, STS_OK},
    {"check_star_alone", "*", STS_EINVAL},
    {"check_star_dot", "*.", STS_EINVAL},
    {"check_star_inner", "foo.*.com", STS_EINVAL},
    {"check_two_stars", "*.*.example.com", STS_EINVAL},
    {"check_star_in_label", "mail*.example.com", STS_EINVAL},
    {"check_star_glued", "*example.com", STS_EINVAL},
    {"check_double_star", "**.example.com", STS_EINVAL},
    {"check_underscore", "mx_1.example.com", STS_EINVAL},
    {"check_leading_hyphen", "-mx.example.com", STS_EINVAL},
    {"check_trailing_hyphen", "mx-.example.com", STS_EINVAL},
    {"check_empty_label", "a..b", STS_EINVAL},
    {"check_leading_dot", ".example.com", STS_EINVAL},
    {"check_empty", "", STS_EINVAL},
    {"check_label_64", L64 ".example.com", STS_EINVAL},
    {"check_total_254", NAME254, STS_EINVAL},
    {"check_address_literal", "[192.0.2.1]", STS_EINVAL},
    {"check_port", "mx.example.com:25", STS_EINVAL},
    {"check_space", "mx example.com", STS_EINVAL},
    {"check_non_ascii", "bücher.example", STS_EINVAL},
};

START_TEST(test_check_pattern)
{
    const struct pattern_case *c = &pattern_cases[_i];
    char err[256] = "";
    enum sts_status st = sts_mx_match_check_pattern(c->pattern, err, sizeof(err));

    ck_assert_msg(st == c->want, "case %s: got %s, want %s (err: %s)", c->name, sts_status_word(st),
                  sts_status_word(c->want), err);
    if (c->want == STS_EINVAL)
        ck_assert_msg(err[0] != '\0', "case %s: got an empty reason, want one in err", c->name);
}
END_TEST

struct normalize_case {
    const char *name;
    const char *in;
    size_t outlen; /* 0: STS_DOMAIN_MAX + 3 */
    enum sts_status want;
    const char *want_out; /* when want is STS_OK */
};

static const struct normalize_case normalize_cases[] = {
    {"norm_exact", "MX.Example.COM", 0, STS_OK, "mx.example.com"},
    {"norm_exact_trailing_dot", "mx.example.com.", 0, STS_OK, "mx.example.com"},
    {"norm_wildcard", "*.Example.COM.", 0, STS_OK, "*.example.com"},
    {"norm_wildcard_idn", "*.BÜCHER.example", 0, STS_OK, "*.xn--bcher-kva.example"},
    {"norm_idn", "mx.bücher.example", 0, STS_OK, "mx.xn--bcher-kva.example"},
    {"norm_star_alone", "*", 0, STS_EINVAL, NULL},
    {"norm_star_dot", "*.", 0, STS_EINVAL, NULL},
    {"norm_star_inner", "foo.*.com", 0, STS_EINVAL, NULL},
    {"norm_two_stars", "*.*.example.com", 0, STS_EINVAL, NULL},
    {"norm_star_in_label", "mail*.example.com", 0, STS_EINVAL, NULL},
    {"norm_underscore", "mx_1.example.com", 0, STS_EINVAL, NULL},
    {"norm_empty", "", 0, STS_EINVAL, NULL},
    {"norm_empty_label", "a..b", 0, STS_EINVAL, NULL},
    {"norm_two_trailing_dots", "mx.example.com..", 0, STS_EINVAL, NULL},
    {"norm_outlen_exact", "*.example.com", sizeof("*.example.com"), STS_OK, "*.example.com"},
    {"norm_outlen_one_short", "*.example.com", sizeof("*.example.com") - 1, STS_ETOOBIG, NULL},
    {"norm_outlen_two", "*.example.com", 2, STS_ETOOBIG, NULL},
};

START_TEST(test_normalize_pattern)
{
    const struct normalize_case *c = &normalize_cases[_i];
    char out[STS_DOMAIN_MAX + 3 + 16];
    size_t outlen = c->outlen != 0 ? c->outlen : STS_DOMAIN_MAX + 3;
    char err[256] = "";
    enum sts_status st;

    memset(out, '#', sizeof(out));
    st = sts_mx_match_normalize_pattern(c->in, out, outlen, err, sizeof(err));
    ck_assert_msg(st == c->want, "case %s: got %s, want %s (err: %s)", c->name, sts_status_word(st),
                  sts_status_word(c->want), err);
    for (size_t k = outlen; k < sizeof(out); k++)
        ck_assert_msg(out[k] == '#',
                      "case %s: got out[%zu] written past outlen %zu, want untouched", c->name, k,
                      outlen);
    if (c->want == STS_OK)
        ck_assert_msg(memchr(out, '\0', outlen) != NULL && strcmp(out, c->want_out) == 0,
                      "case %s: got \"%.*s\", want \"%s\"", c->name, (int)outlen, out, c->want_out);
    else
        ck_assert_msg(err[0] != '\0', "case %s: got an empty reason, want one in err", c->name);
}
END_TEST

/*
 * A policy's "mx" value (RFC 8461 §3.2: ["*."] Domain, A-labels only;
 * issue 13 item 7d): a U-label is refused with the A-label named in the
 * reason, never converted.
 */
struct policy_pattern_case {
    const char *name;
    const char *in;
    enum sts_status want;
    const char *text; /* STS_OK: the output; else a part of the reason */
};

static const struct policy_pattern_case policy_pattern_cases[] = {
    {"pp_ascii", "MX.Example.COM.", STS_OK, "mx.example.com"},
    {"pp_alabel", "*.XN--BCHER-KVA.example", STS_OK, "*.xn--bcher-kva.example"},
    {"pp_ulabel", "mx.bücher.example", STS_EINVAL, "write \"mx.xn--bcher-kva.example\""},
    {"pp_ulabel_upper", "BÜCHER.example", STS_EINVAL, "write \"xn--bcher-kva.example\""},
    {"pp_ulabel_wildcard", "*.münchen.de", STS_EINVAL, "write \"*.xn--mnchen-3ya.de\""},
    {"pp_ulabel_says_why", "bücher.example", STS_EINVAL, "U-labels are not allowed"},
    {"pp_bad_utf8",
     "b\xfc"
     "cher.example",
     STS_EINVAL, "non-ASCII name"},
    {"pp_ulabel_bad_pattern", "*.*.bücher.example", STS_EINVAL, "non-ASCII name"},
    {"pp_ascii_bad", "a..b", STS_EINVAL, "empty label"},
};

START_TEST(test_policy_pattern)
{
    const struct policy_pattern_case *c = &policy_pattern_cases[_i];
    char out[STS_DOMAIN_MAX + 3] = "";
    char err[512] = "";
    enum sts_status st = sts_mx_match_policy_pattern(c->in, out, sizeof(out), err, sizeof(err));

    ck_assert_msg(st == c->want, "case %s: got %s, want %s (err: %s)", c->name, sts_status_word(st),
                  sts_status_word(c->want), err);
    if (st == STS_OK)
        ck_assert_msg(strcmp(out, c->text) == 0, "case %s: got \"%s\", want \"%s\"", c->name, out,
                      c->text);
    else
        ck_assert_msg(strstr(err, c->text) != NULL,
                      "case %s: got reason \"%s\", want it to hold \"%s\"", c->name, err, c->text);
}
END_TEST

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *mx_match_suite(void)
{
    Suite *s = suite_create("mx_match");
    TCase *tc = tcase_create("mx_match");

    tcase_add_loop_test(tc, test_match, 0, NCASES(match_cases));
    tcase_add_loop_test(tc, test_check_pattern, 0, NCASES(pattern_cases));
    tcase_add_loop_test(tc, test_normalize_pattern, 0, NCASES(normalize_cases));
    tcase_add_loop_test(tc, test_policy_pattern, 0, NCASES(policy_pattern_cases));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(mx_match_suite());
}
