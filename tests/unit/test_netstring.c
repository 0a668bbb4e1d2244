/*
 * test_netstring.c - unit tests of the netstring codec.
 *
 * Guards the framing of Postfix's socketmap_table(5) protocol (D. J.
 * Bernstein's netstrings, LEN ":" DATA ","; at most 100000 bytes): valid
 * strings, pipelined strings, prefixes that need more bytes, and the
 * malformed inputs that must be answered PERM (leading zeros, non-digits,
 * missing ':' or ',', oversize LEN refused before its data arrives).
 *
 * Table-driven: each row is one TAP test point; a failure reads
 * "case NAME: got X, want Y".
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/netstring.h"
#include "unit_main.h"

#define STR(s) (s), (sizeof(s) - 1)

struct decode_case {
    const char *name;
    const char *in;
    size_t len;
    size_t max;
    enum sts_netstring_result want;
    const char *want_data; /* when OK */
    size_t want_len;
    size_t want_used;
};

static const struct decode_case decode_cases[] = {
    {"simple", STR("5:hello,"), STS_NETSTRING_MAX, STS_NETSTRING_OK, "hello", 5, 8},
    {"empty", STR("0:,"), STS_NETSTRING_MAX, STS_NETSTRING_OK, "", 0, 3},
    {"request", STR("19:postfix example.com,"), STS_NETSTRING_MAX, STS_NETSTRING_OK,
     "postfix example.com", 19, 23},
    {"binary_data", STR("3:a\0,,"), STS_NETSTRING_MAX, STS_NETSTRING_OK, "a\0,", 3, 6},
    {"pipelined_first", STR("1:a,1:b,"), STS_NETSTRING_MAX, STS_NETSTRING_OK, "a", 1, 4},
    {"trailing_garbage_ignored", STR("1:a,xyz"), STS_NETSTRING_MAX, STS_NETSTRING_OK, "a", 1, 4},
    {"at_max", STR("3:abc,"), 3, STS_NETSTRING_OK, "abc", 3, 6},
    /* prefixes: read more */
    {"nothing", STR(""), STS_NETSTRING_MAX, STS_NETSTRING_INCOMPLETE, NULL, 0, 0},
    {"digits_only", STR("12"), STS_NETSTRING_MAX, STS_NETSTRING_INCOMPLETE, NULL, 0, 0},
    {"zero_only", STR("0"), STS_NETSTRING_MAX, STS_NETSTRING_INCOMPLETE, NULL, 0, 0},
    {"colon_no_data", STR("5:"), STS_NETSTRING_MAX, STS_NETSTRING_INCOMPLETE, NULL, 0, 0},
    {"truncated_data", STR("5:hel"), STS_NETSTRING_MAX, STS_NETSTRING_INCOMPLETE, NULL, 0, 0},
    {"missing_comma_yet", STR("5:hello"), STS_NETSTRING_MAX, STS_NETSTRING_INCOMPLETE, NULL, 0, 0},
    {"six_digits_at_max", STR("100000"), STS_NETSTRING_MAX, STS_NETSTRING_INCOMPLETE, NULL, 0, 0},
    /* malformed */
    {"wrong_terminator", STR("5:hello;"), STS_NETSTRING_MAX, STS_NETSTRING_INVALID, NULL, 0, 0},
    {"data_longer_than_len", STR("3:hello,"), STS_NETSTRING_MAX, STS_NETSTRING_INVALID, NULL, 0, 0},
    {"leading_zero", STR("05:hello,"), STS_NETSTRING_MAX, STS_NETSTRING_INVALID, NULL, 0, 0},
    {"double_zero", STR("00:,"), STS_NETSTRING_MAX, STS_NETSTRING_INVALID, NULL, 0, 0},
    {"no_digits", STR(":hello,"), STS_NETSTRING_MAX, STS_NETSTRING_INVALID, NULL, 0, 0},
    {"letter_in_len", STR("1a:x,"), STS_NETSTRING_MAX, STS_NETSTRING_INVALID, NULL, 0, 0},
    {"sign", STR("+5:hello,"), STS_NETSTRING_MAX, STS_NETSTRING_INVALID, NULL, 0, 0},
    {"space_before_colon", STR("5 :hello,"), STS_NETSTRING_MAX, STS_NETSTRING_INVALID, NULL, 0, 0},
    {"text_line", STR("GET / HTTP/1.0\r\n"), STS_NETSTRING_MAX, STS_NETSTRING_INVALID, NULL, 0, 0},
    /* oversize: refused from the digits alone */
    {"over_postfix_max", STR("100001:"), STS_NETSTRING_MAX, STS_NETSTRING_TOOBIG, NULL, 0, 0},
    {"over_max_digits_only", STR("100001"), STS_NETSTRING_MAX, STS_NETSTRING_TOOBIG, NULL, 0, 0},
    {"seven_digits", STR("1000000"), STS_NETSTRING_MAX, STS_NETSTRING_TOOBIG, NULL, 0, 0},
    {"huge", STR("99999999999999999999:"), STS_NETSTRING_MAX, STS_NETSTRING_TOOBIG, NULL, 0, 0},
    {"over_caller_max", STR("4:abcd,"), 3, STS_NETSTRING_TOOBIG, NULL, 0, 0},
    {"max_clamped_to_postfix", STR("100001"), 1000000, STS_NETSTRING_TOOBIG, NULL, 0, 0},
};

START_TEST(test_decode)
{
    const struct decode_case *tc = &decode_cases[_i];
    const char *data = NULL;
    size_t dlen = 0, used = 0;
    enum sts_netstring_result got =
        sts_netstring_decode(tc->in, tc->len, tc->max, &data, &dlen, &used);
    ck_assert_msg(got == tc->want, "case %s: got %s, want %s", tc->name,
                  sts_netstring_result_name(got), sts_netstring_result_name(tc->want));
    if (tc->want == STS_NETSTRING_OK) {
        ck_assert_msg(dlen == tc->want_len && memcmp(data, tc->want_data, dlen) == 0,
                      "case %s: got data of %zu bytes, want \"%s\"", tc->name, dlen, tc->want_data);
        ck_assert_msg(used == tc->want_used, "case %s: got consumed %zu, want %zu", tc->name, used,
                      tc->want_used);
    }
}
END_TEST

struct encode_case {
    const char *name;
    const char *data;
    size_t len;
    size_t outlen;
    const char *want; /* NULL: does not fit */
    size_t want_ret;
};

static const struct encode_case encode_cases[] = {
    {"ok_reply", STR("OK secure match=mx1.good.test"), 64, "29:OK secure match=mx1.good.test,", 33},
    {"notfound", STR("NOTFOUND "), 16, "9:NOTFOUND ,", 12},
    {"empty", STR(""), 8, "0:,", 3},
    {"exact_fit", STR("abc"), 7, "3:abc,", 6},
    {"one_short", STR("abc"), 6, NULL, 6},
    {"zero_buffer", STR("abc"), 0, NULL, 6},
};

START_TEST(test_encode)
{
    const struct encode_case *tc = &encode_cases[_i];
    char out[128];
    size_t got = sts_netstring_encode(tc->data, tc->len, tc->outlen ? out : NULL, tc->outlen);
    ck_assert_msg(got == tc->want_ret, "case %s: got length %zu, want %zu", tc->name, got,
                  tc->want_ret);
    if (tc->want != NULL)
        ck_assert_msg(strcmp(out, tc->want) == 0, "case %s: got \"%s\", want \"%s\"", tc->name, out,
                      tc->want);
}
END_TEST

/* Encoding then decoding gives the data back, also at the 100000-byte limit. */
START_TEST(test_round_trip_max)
{
    size_t n = STS_NETSTRING_MAX;
    char *data = malloc(n), *ns = malloc(n + STS_NETSTRING_OVERHEAD + 1);
    ck_assert(data != NULL && ns != NULL);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)('a' + i % 26);
    size_t len = sts_netstring_encode(data, n, ns, n + STS_NETSTRING_OVERHEAD + 1);
    ck_assert_msg(len == n + 8, "got encoded length %zu, want %zu", len, n + 8);
    const char *d;
    size_t dlen, used;
    enum sts_netstring_result r =
        sts_netstring_decode(ns, len, STS_NETSTRING_MAX, &d, &dlen, &used);
    ck_assert_msg(r == STS_NETSTRING_OK, "got %s, want ok", sts_netstring_result_name(r));
    ck_assert(dlen == n && used == len && memcmp(d, data, n) == 0);
    /* every proper prefix is incomplete, never invalid */
    for (size_t cut = 0; cut < len; cut += 997) {
        r = sts_netstring_decode(ns, cut, STS_NETSTRING_MAX, &d, &dlen, &used);
        ck_assert_msg(r == STS_NETSTRING_INCOMPLETE, "prefix %zu: got %s, want incomplete", cut,
                      sts_netstring_result_name(r));
    }
    free(data);
    free(ns);
}
END_TEST

static Suite *netstring_suite(void)
{
    Suite *s = suite_create("netstring");
    TCase *tc = tcase_create("codec");
    tcase_add_loop_test(tc, test_decode, 0, sizeof(decode_cases) / sizeof(decode_cases[0]));
    tcase_add_loop_test(tc, test_encode, 0, sizeof(encode_cases) / sizeof(encode_cases[0]));
    tcase_add_test(tc, test_round_trip_max);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(netstring_suite());
}
