/*
 * test_domain.c - unit tests of domain name normalisation.
 *
 * Guards the name handling that RFC 8461 §3.1 (the policy domain whose
 * "_mta-sts" record is looked up), §3.2 (the "mx" names stored from the
 * policy) and §4.1 (MX host names compared in A-label form, RFC 5890)
 * rely on, as refined by the behaviour contract of the pure parsers
 * (issue 2): lower-case, one trailing dot removed, U-labels to A-labels
 * (UTS #46 non-transitional), LDH label and length rules.
 *
 * Table-driven: each row is one TAP test point; a failure reads
 * "case NAME: got X, want Y".
 */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "mtasts/domain.h"
#include "mtasts/status.h"
#include "unit_main.h"

#define L10 "aaaaaaaaaa"
#define L58 L10 L10 L10 L10 L10 "aaaaaaaa"
#define L60 L10 L10 L10 L10 L10 L10
#define L61 L60 "a"
#define L62 L60 "aa"
#define L63 L60 "aaa"
#define L64 L63 "a"
#define NAME253 L63 "." L63 "." L63 "." L61
#define NAME254 L63 "." L63 "." L63 "." L62

struct normalize_case {
    const char *name;
    const char *in;
    size_t outlen; /* 0: STS_DOMAIN_MAX + 1 */
    enum sts_status want;
    const char *want_out; /* when want is STS_OK */
};

static const struct normalize_case normalize_cases[] = {
    /* Valid names. */
    {"plain", "example.com", 0, STS_OK, "example.com"},
    {"upper", "EXAMPLE.COM", 0, STS_OK, "example.com"},
    {"mixed_case_trailing_dot", "Example.Com.", 0, STS_OK, "example.com"},
    {"trailing_dot", "example.com.", 0, STS_OK, "example.com"},
    {"hyphen_digits", "mx-1.0a.123.example.com", 0, STS_OK, "mx-1.0a.123.example.com"},
    {"single_label", "localhost", 0, STS_OK, "localhost"},
    {"label_63", L63 ".example.com", 0, STS_OK, L63 ".example.com"},
    {"total_253", NAME253, 0, STS_OK, NAME253},
    {"total_253_trailing_dot", NAME253 ".", 0, STS_OK, NAME253},
    {"ulabel", "bücher.example", 0, STS_OK, "xn--bcher-kva.example"},
    {"ulabel_upper", "BÜCHER.example", 0, STS_OK, "xn--bcher-kva.example"},
    {"ulabel_trailing_dot", "bücher.example.", 0, STS_OK, "xn--bcher-kva.example"},
    {"ulabel_inner", "mx.münchen.de", 0, STS_OK, "mx.xn--mnchen-3ya.de"},
    {"nontransitional_sharp_s", "faß.de", 0, STS_OK, "xn--fa-hia.de"},
    {"alabel_kept", "xn--bcher-kva.example", 0, STS_OK, "xn--bcher-kva.example"},
    {"alabel_upper", "XN--BCHER-KVA.EXAMPLE", 0, STS_OK, "xn--bcher-kva.example"},

    /* Invalid names. */
    {"empty", "", 0, STS_EINVAL, NULL},
    {"root_dot", ".", 0, STS_EINVAL, NULL},
    {"two_trailing_dots", "example.com..", 0, STS_EINVAL, NULL},
    {"leading_dot", ".example.com", 0, STS_EINVAL, NULL},
    {"empty_label", "a..b", 0, STS_EINVAL, NULL},
    {"underscore_label", "_dmarc.example.com", 0, STS_EINVAL, NULL},
    {"underscore_inside", "mx_1.example.com", 0, STS_EINVAL, NULL},
    {"address_literal", "[192.0.2.1]", 0, STS_EINVAL, NULL},
    {"leading_hyphen", "-mx.example.com", 0, STS_EINVAL, NULL},
    {"trailing_hyphen", "mx-.example.com", 0, STS_EINVAL, NULL},
    {"label_64", L64 ".example.com", 0, STS_EINVAL, NULL},
    {"total_254", NAME254, 0, STS_EINVAL, NULL},
    {"space", "exa mple.com", 0, STS_EINVAL, NULL},
    {"port", "example.com:25", 0, STS_EINVAL, NULL},
    {"wildcard", "*.example.com", 0, STS_EINVAL, NULL},
    {"control_char", "exa\x01mple.com", 0, STS_EINVAL, NULL},
    {"invalid_utf8", "\xff.example", 0, STS_EINVAL, NULL},
    {"truncated_utf8", "b\xc3.example", 0, STS_EINVAL, NULL},
    {"overlong_utf8", "\xc0\xae.example", 0, STS_EINVAL, NULL},
    {"alabel_over_63", L58 "ü.example", 0, STS_EINVAL, NULL},

    /* Output buffer sizes. */
    {"outlen_exact", "example.com", sizeof("example.com"), STS_OK, "example.com"},
    {"outlen_one_short", "example.com", sizeof("example.com") - 1, STS_ETOOBIG, NULL},
    {"outlen_one", "example.com", 1, STS_ETOOBIG, NULL},
    {"outlen_exact_after_dot", "EXAMPLE.COM.", sizeof("example.com"), STS_OK, "example.com"},
    {"outlen_alabel_exact", "bücher.example", sizeof("xn--bcher-kva.example"), STS_OK,
     "xn--bcher-kva.example"},
    {"outlen_alabel_one_short", "bücher.example", sizeof("xn--bcher-kva.example") - 1, STS_ETOOBIG,
     NULL},
};

START_TEST(test_normalize)
{
    const struct normalize_case *c = &normalize_cases[_i];
    char out[STS_DOMAIN_MAX + 1 + 16];
    size_t outlen = c->outlen != 0 ? c->outlen : STS_DOMAIN_MAX + 1;
    char err[256] = "";
    enum sts_status st;

    memset(out, '#', sizeof(out));
    st = sts_domain_normalize(c->in, out, outlen, err, sizeof(err));
    ck_assert_msg(st == c->want, "case %s: got %s, want %s (err: %s)", c->name, sts_status_word(st),
                  sts_status_word(c->want), err);
    for (size_t k = outlen; k < sizeof(out); k++)
        ck_assert_msg(out[k] == '#',
                      "case %s: got out[%zu] written past outlen %zu, want untouched", c->name, k,
                      outlen);
    if (c->want == STS_OK) {
        ck_assert_msg(memchr(out, '\0', outlen) != NULL,
                      "case %s: got no NUL within outlen, want \"%s\"", c->name, c->want_out);
        ck_assert_msg(strcmp(out, c->want_out) == 0, "case %s: got \"%s\", want \"%s\"", c->name,
                      out, c->want_out);
    } else {
        ck_assert_msg(err[0] != '\0', "case %s: got an empty reason, want one in err", c->name);
    }
}
END_TEST

/* err may be NULL. */
START_TEST(test_normalize_null_err)
{
    char out[STS_DOMAIN_MAX + 1];
    enum sts_status st = sts_domain_normalize("a..b", out, sizeof(out), NULL, 0);

    ck_assert_msg(st == STS_EINVAL, "case null_err: got %s, want invalid", sts_status_word(st));
}
END_TEST

/* outlen 0 is too small for anything, even the NUL. */
START_TEST(test_normalize_outlen_zero)
{
    char out[4] = "###";
    char err[256] = "";
    enum sts_status st = sts_domain_normalize("example.com", out, 0, err, sizeof(err));

    ck_assert_msg(st == STS_ETOOBIG, "case outlen_zero: got %s, want too-big (err: %s)",
                  sts_status_word(st), err);
    ck_assert_msg(out[0] == '#', "case outlen_zero: got out[0] written, want untouched");
}
END_TEST

struct ldh_case {
    const char *name;
    const char *in;
    size_t len; /* 0: strlen(in) */
    enum sts_status want;
};

static const struct ldh_case ldh_cases[] = {
    {"ldh_plain", "example.com", 0, STS_OK},
    {"ldh_case_not_checked", "Example.COM", 0, STS_OK},
    {"ldh_alabel", "xn--bcher-kva.example", 0, STS_OK},
    {"ldh_label_63", L63 ".com", 0, STS_OK},
    {"ldh_total_253", NAME253, 0, STS_OK},
    {"ldh_honours_len", "example.com..junk", sizeof("example.com") - 1, STS_OK},
    {"ldh_empty", "", 0, STS_EINVAL},
    {"ldh_empty_label", "a..b", 0, STS_EINVAL},
    {"ldh_trailing_dot", "example.com.", 0, STS_EINVAL},
    {"ldh_leading_hyphen", "-a.com", 0, STS_EINVAL},
    {"ldh_trailing_hyphen", "a-.com", 0, STS_EINVAL},
    {"ldh_underscore", "_a.com", 0, STS_EINVAL},
    {"ldh_label_64", L64 ".com", 0, STS_EINVAL},
    {"ldh_total_254", NAME254, 0, STS_EINVAL},
    {"ldh_non_ascii", "bücher.example", 0, STS_EINVAL},
    {"ldh_len_cuts_to_bad", "example.com", sizeof("example.") - 1, STS_EINVAL},
};

START_TEST(test_check_ldh)
{
    const struct ldh_case *c = &ldh_cases[_i];
    size_t len = c->len != 0 ? c->len : strlen(c->in);
    char err[256] = "";
    enum sts_status st = sts_domain_check_ldh(c->in, len, err, sizeof(err));

    ck_assert_msg(st == c->want, "case %s: got %s, want %s (err: %s)", c->name, sts_status_word(st),
                  sts_status_word(c->want), err);
    if (c->want == STS_EINVAL)
        ck_assert_msg(err[0] != '\0', "case %s: got an empty reason, want one in err", c->name);
}
END_TEST

struct equal_case {
    const char *name;
    const char *a;
    const char *b;
    size_t alen; /* 0: strlen(a) */
    size_t blen; /* 0: strlen(b) */
    bool want;
};

static const struct equal_case equal_cases[] = {
    {"equal_same", "example.com", "example.com", 0, 0, true},
    {"equal_case", "Example.COM", "eXAMPLE.com", 0, 0, true},
    {"equal_digits_hyphen", "MX-1.example", "mx-1.EXAMPLE", 0, 0, true},
    {"equal_different", "example.com", "example.org", 0, 0, false},
    {"equal_prefix", "example.com", "example.co", 0, 0, false},
    {"equal_by_length", "example.com.x", "EXAMPLE.COM.y", 11, 11, true},
    {"equal_lengths_differ", "abc", "abc", 3, 2, false},
    {"equal_non_ascii_not_folded", "Ü", "ü", 0, 0, false},
    {"equal_non_ascii_same", "ü", "ü", 0, 0, true},
    {"equal_at_vs_backquote", "@", "`", 0, 0, false},
    {"equal_bracket_vs_brace", "[", "{", 0, 0, false},
};

START_TEST(test_equal)
{
    const struct equal_case *c = &equal_cases[_i];
    size_t alen = c->alen != 0 ? c->alen : strlen(c->a);
    size_t blen = c->blen != 0 ? c->blen : strlen(c->b);
    bool got = sts_domain_equal(c->a, alen, c->b, blen);

    ck_assert_msg(got == c->want, "case %s: got %s, want %s", c->name, got ? "equal" : "not equal",
                  c->want ? "equal" : "not equal");
}
END_TEST

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *domain_suite(void)
{
    Suite *s = suite_create("domain");
    TCase *tc = tcase_create("domain");

    tcase_add_loop_test(tc, test_normalize, 0, NCASES(normalize_cases));
    tcase_add_test(tc, test_normalize_null_err);
    tcase_add_test(tc, test_normalize_outlen_zero);
    tcase_add_loop_test(tc, test_check_ldh, 0, NCASES(ldh_cases));
    tcase_add_loop_test(tc, test_equal, 0, NCASES(equal_cases));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(domain_suite());
}
