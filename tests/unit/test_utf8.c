/*
 * test_utf8.c - unit tests of the UTF-8 validator (utf8.h).
 *
 * Guards RFC 3629 §3 and §4 (the UTF8-octets ABNF: no overlong forms, no
 * surrogates, nothing above U+10FFFF, no truncated sequences) plus our
 * rule that NUL is invalid, as the TLS-RPT datagram and record parsers
 * rely on it.  Table-driven: "case NAME: got X, want Y".
 */
#include <check.h>
#include <string.h>

#include "mtasts/utf8.h"
#include "unit_main.h"

#define B(s) (s), (sizeof(s) - 1)

static const struct {
    const char *name;
    const char *s;
    size_t n;
    int want;       /* 1 valid */
    size_t want_at; /* first bad byte when invalid */
} cases[] = {
    {"empty", B(""), 1, 0},
    {"ascii", B("hello, world"), 1, 0},
    {"two_byte_min", B("\xc2\x80"), 1, 0},
    {"three_byte_euro", B("\xe2\x82\xac"), 1, 0},
    {"four_byte_emoji", B("\xf0\x9f\x98\x80"), 1, 0},
    {"max_code_point", B("\xf4\x8f\xbf\xbf"), 1, 0},
    {"bom_is_valid", B("\xef\xbb\xbf"), 1, 0},
    {"nul", B("ab\0cd"), 0, 2},
    {"lone_continuation", B("a\x80"), 0, 1},
    {"overlong_slash", B("\xc0\xaf"), 0, 0},
    {"overlong_c1", B("\xc1\xbf"), 0, 0},
    {"overlong_three", B("\xe0\x80\xaf"), 0, 0},
    {"overlong_four", B("\xf0\x80\x80\xaf"), 0, 0},
    {"surrogate_high", B("\xed\xa0\x80"), 0, 0},
    {"surrogate_low", B("x\xed\xbf\xbf"), 0, 1},
    {"above_max", B("\xf4\x90\x80\x80"), 0, 0},
    {"f5_lead", B("\xf5\x80\x80\x80"), 0, 0},
    {"ff_byte", B("ok\xff"), 0, 2},
    {"truncated_two", B("ab\xc3"), 0, 2},
    {"truncated_four", B("\xf0\x9f\x98"), 0, 0},
    {"bad_continuation", B("\xe2\x28\xa1"), 0, 0},
};

START_TEST(test_valid)
{
    size_t at = 12345;
    int got = sts_utf8_valid(cases[_i].s, cases[_i].n, &at);
    ck_assert_msg(got == cases[_i].want, "case %s (RFC 3629): got %s, want %s", cases[_i].name,
                  got ? "valid" : "invalid", cases[_i].want ? "valid" : "invalid");
    if (!got)
        ck_assert_msg(at == cases[_i].want_at, "case %s: got bad byte %zu, want %zu",
                      cases[_i].name, at, cases[_i].want_at);
    ck_assert_msg(sts_utf8_valid(cases[_i].s, cases[_i].n, NULL) == got,
                  "case %s: got a different answer with bad == NULL", cases[_i].name);
}
END_TEST

static Suite *utf8_suite(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("utf8");
    tcase_add_loop_test(tc, test_valid, 0, (int)(sizeof(cases) / sizeof(cases[0])));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(utf8_suite());
}
