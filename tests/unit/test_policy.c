/*
 * test_policy.c - unit tests of the MTA-STS policy body parser.
 *
 * Guards RFC 8461 §3.2 (the policy file: "version", "mode", "max_age"
 * required, first occurrence wins, "mx" repeated and required unless mode
 * is "none", max_age at most 31557600, unknown fields ignored, LF or CRLF
 * line ends) and, for the stored "mx" patterns, the pattern syntax of
 * RFC 8461 §4.1, as refined by the behaviour contract of the pure parsers
 * (issue 2): tolerances for blank lines and a missing final newline, the
 * 65536-byte cap, control characters and NUL bytes refused, "line N: "
 * error reasons; and the §3.2 ABNF rules of issue 13 item 7: no leading
 * blank line, an extension value of at least one character without HTAB,
 * U-label "mx" values refused with the A-label named.
 *
 * Table-driven: each row is one TAP test point; a failure reads
 * "case NAME: got X, want Y".
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/policy.h"
#include "mtasts/status.h"
#include "unit_main.h"

/* The four lines of a minimal valid policy, in the usual order. */
#define VERSION_L "version: STSv1\n"
#define MODE_L "mode: enforce\n"
#define MAXAGE_L "max_age: 86400\n"
#define MX_L "mx: mx.example.com\n"
#define BASE VERSION_L MODE_L MAXAGE_L MX_L
/* The first three, so that the mx line under test is line 4. */
#define HEAD VERSION_L MODE_L MAXAGE_L

/* Labels and names at and over the RFC 1035 limits. */
#define L10 "aaaaaaaaaa"
#define L60 L10 L10 L10 L10 L10 L10
#define L61 L60 "a"
#define L62 L60 "aa"
#define L63 L60 "aaa"
#define L64 L63 "a"
#define NAME253 L63 "." L63 "." L63 "." L61
#define NAME254 L63 "." L63 "." L63 "." L62

#define KEY32 "abcdefghijklmnopqrstuvwxyz012345"
#define KEY33 KEY32 "6"

/* For rows whose body holds a NUL byte: give its length explicitly. */
#define BYTES(s) .body = (s), .len = (sizeof(s) - 1)

#define MX_MAX 6

struct policy_case {
    const char *name;
    const char *body;
    size_t len; /* 0: strlen(body) */
    enum sts_status want;
    unsigned err_line;   /* error tied to a line: err starts "line N:" */
    const char *err_sub; /* whole-body error: err contains this */
    enum sts_mode mode;  /* the rest when want is STS_OK */
    uint32_t max_age;
    size_t mx_count;
    const char *mx[MX_MAX];
};

/* Rows of the main table, by expectation. */
#define VALID(n, b, md, age, cnt, ...)                                                             \
    {                                                                                              \
        .name = (n), .body = (b), .want = STS_OK, .mode = (md), .max_age = (age),                  \
        .mx_count = (cnt), .mx = {__VA_ARGS__},                                                    \
    }
#define BAD_LINE(n, b, line)                                                                       \
    {                                                                                              \
        .name = (n), .body = (b), .want = STS_EINVAL, .err_line = (line)                           \
    }
#define BAD_BODY(n, b, sub)                                                                        \
    {                                                                                              \
        .name = (n), .body = (b), .want = STS_EINVAL, .err_sub = (sub)                             \
    }

#define MISSING_VERSION "missing \"version\" field"
#define MISSING_MODE "missing \"mode\" field"
#define MISSING_MAXAGE "missing \"max_age\" field"
#define MISSING_MX "no \"mx\" field"
#define LEADING_BLANK "line 1: a policy may not begin with a blank line"
#define ULABEL "U-labels are not allowed"

/* An error on line (l) whose reason contains (sub). */
#define BAD_LINE_SAYS(n, b, l, sub)                                                                \
    {                                                                                              \
        .name = (n), .body = (b), .want = STS_EINVAL, .err_line = (l), .err_sub = (sub)            \
    }

static const struct policy_case policy_cases[] = {
    /* Well-formed bodies, line ends and tolerances. */
    VALID("rfc_example",
          "version: STSv1\nmode: enforce\nmx: mail.example.com\nmx: *.example.net\n"
          "mx: backupmx.example.com\nmax_age: 604800\n",
          STS_MODE_ENFORCE, 604800, 3, "mail.example.com", "*.example.net", "backupmx.example.com"),
    VALID("rfc_example_crlf",
          "version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\n"
          "mx: backupmx.example.com\r\nmax_age: 604800\r\n",
          STS_MODE_ENFORCE, 604800, 3, "mail.example.com", "*.example.net", "backupmx.example.com"),
    VALID("mixed_lf_crlf", "version: STSv1\r\nmode: testing\nmax_age: 100\r\nmx: a.example.com\n",
          STS_MODE_TESTING, 100, 1, "a.example.com"),
    VALID("no_final_newline_lf",
          "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400", STS_MODE_ENFORCE,
          86400, 1, "mx.example.com"),
    VALID("no_final_newline_crlf",
          "version: STSv1\r\nmode: enforce\r\nmax_age: 86400\r\nmx: mx.example.com",
          STS_MODE_ENFORCE, 86400, 1, "mx.example.com"),
    VALID("mode_testing", VERSION_L "mode: testing\n" MAXAGE_L MX_L, STS_MODE_TESTING, 86400, 1,
          "mx.example.com"),
    VALID("mode_none_without_mx", VERSION_L "mode: none\n" MAXAGE_L, STS_MODE_NONE, 86400, 0, NULL),
    VALID("mode_none_with_mx_kept",
          VERSION_L "mode: none\n" MAXAGE_L "mx: a.example.com\nmx: *.b.example.com\n",
          STS_MODE_NONE, 86400, 2, "a.example.com", "*.b.example.com"),
    VALID("mode_none_max_age_zero", "version: STSv1\nmode: none\nmax_age: 0", STS_MODE_NONE, 0, 0,
          NULL),
    VALID("blank_lines_skipped", VERSION_L "\n\n" MODE_L "\r\n" MAXAGE_L MX_L "\n\n",
          STS_MODE_ENFORCE, 86400, 1, "mx.example.com"),
    VALID("wsp_only_lines_skipped",
          VERSION_L " \n"
                    "\t\n" MODE_L " \t \r\n" MAXAGE_L MX_L "  ",
          STS_MODE_ENFORCE, 86400, 1, "mx.example.com"),
    VALID("no_wsp_after_colon", "version:STSv1\nmode:enforce\nmax_age:86400\nmx:mx.example.com\n",
          STS_MODE_ENFORCE, 86400, 1, "mx.example.com"),
    VALID("wsp_around_values",
          "version: \tSTSv1 \t\nmode:\t enforce\t\nmax_age:  86400  \nmx:\tmx.example.com \t\n",
          STS_MODE_ENFORCE, 86400, 1, "mx.example.com"),
    VALID("trailing_wsp_before_crlf",
          "version: STSv1 \r\nmode: enforce\t\r\nmax_age: 86400 \r\nmx: mx.example.com \r\n",
          STS_MODE_ENFORCE, 86400, 1, "mx.example.com"),

    /* max_age bounds. */
    VALID("max_age_zero", VERSION_L MODE_L "max_age: 0\n" MX_L, STS_MODE_ENFORCE, 0, 1,
          "mx.example.com"),
    VALID("max_age_one", VERSION_L MODE_L "max_age: 1\n" MX_L, STS_MODE_ENFORCE, 1, 1,
          "mx.example.com"),
    VALID("max_age_max", VERSION_L MODE_L "max_age: 31557600\n" MX_L, STS_MODE_ENFORCE, 31557600, 1,
          "mx.example.com"),
    VALID("max_age_leading_zeros", VERSION_L MODE_L "max_age: 0000000001\n" MX_L, STS_MODE_ENFORCE,
          1, 1, "mx.example.com"),
    VALID("max_age_10_digits_max", VERSION_L MODE_L "max_age: 0031557600\n" MX_L, STS_MODE_ENFORCE,
          31557600, 1, "mx.example.com"),

    /* Unknown keys are ignored whatever their value; case matters. */
    VALID("unknown_keys_ignored", BASE "foo: bar\nx-y_z.w: any thing: here\n", STS_MODE_ENFORCE,
          86400, 1, "mx.example.com"),
    VALID("unknown_key_inner_spaces", BASE "comment: a  b c\n", STS_MODE_ENFORCE, 86400, 1,
          "mx.example.com"),
    VALID("unknown_key_32_chars", BASE KEY32 ": x\n", STS_MODE_ENFORCE, 86400, 1, "mx.example.com"),
    VALID("unknown_key_digit_first", BASE "9lives: x\n", STS_MODE_ENFORCE, 86400, 1,
          "mx.example.com"),
    VALID("capitalised_keys_ignored",
          "Mode: garbage\nMX: not..valid\nVersion: STSv9\nMAX_AGE: -1\n" BASE, STS_MODE_ENFORCE,
          86400, 1, "mx.example.com"),

    /* Repeated version/mode/max_age: the first counts, later ones unchecked. */
    VALID("dup_mode_first_wins", VERSION_L "mode: enforce\nmode: testing\n" MAXAGE_L MX_L,
          STS_MODE_ENFORCE, 86400, 1, "mx.example.com"),
    VALID("dup_mode_later_invalid_ignored", VERSION_L "mode: testing\nmode: bogus\n" MAXAGE_L MX_L,
          STS_MODE_TESTING, 86400, 1, "mx.example.com"),
    VALID("dup_version_later_invalid_ignored",
          "version: STSv1\nversion: garbage\n" MODE_L MAXAGE_L MX_L, STS_MODE_ENFORCE, 86400, 1,
          "mx.example.com"),
    VALID("dup_max_age_first_wins", VERSION_L MODE_L "max_age: 100\nmax_age: 200\n" MX_L,
          STS_MODE_ENFORCE, 100, 1, "mx.example.com"),
    VALID("dup_max_age_later_empty_ignored", VERSION_L MODE_L "max_age: 5\nmax_age:\n" MX_L,
          STS_MODE_ENFORCE, 5, 1, "mx.example.com"),
    VALID("dup_mode_later_htab_ignored", VERSION_L "mode: testing\nmode: a\tb\n" MAXAGE_L MX_L,
          STS_MODE_TESTING, 86400, 1, "mx.example.com"),
    VALID("dup_max_age_later_junk_ignored", VERSION_L MODE_L "max_age: 100\nmax_age: 1e5\n" MX_L,
          STS_MODE_ENFORCE, 100, 1, "mx.example.com"),
    VALID("dup_mode_none_first", VERSION_L "mode: none\nmode: enforce\n" MAXAGE_L, STS_MODE_NONE,
          86400, 0, NULL),

    /* mx: order, normalisation, syntax limits. */
    VALID("mx_order_preserved",
          HEAD "mx: c.example.com\nmx: a.example.com\nmx: *.z.example.com\nmx: b.example.com\n"
               "mx: y.example.com\n",
          STS_MODE_ENFORCE, 86400, 5, "c.example.com", "a.example.com", "*.z.example.com",
          "b.example.com", "y.example.com"),
    VALID("mx_interleaved_with_fields",
          "mx: one.example.com\n" VERSION_L "mx: two.example.com\n" MODE_L
          "mx: three.example.com\n" MAXAGE_L,
          STS_MODE_ENFORCE, 86400, 3, "one.example.com", "two.example.com", "three.example.com"),
    VALID("mx_lowercased", HEAD "mx: MX.Example.COM\n", STS_MODE_ENFORCE, 86400, 1,
          "mx.example.com"),
    VALID("mx_trailing_dot_stripped", HEAD "mx: mx.example.com.\n", STS_MODE_ENFORCE, 86400, 1,
          "mx.example.com"),
    VALID("mx_wildcard_normalised", HEAD "mx: *.Example.COM.\n", STS_MODE_ENFORCE, 86400, 1,
          "*.example.com"),
    VALID("mx_alabel_kept", HEAD "mx: mx.xn--bcher-kva.example\n", STS_MODE_ENFORCE, 86400, 1,
          "mx.xn--bcher-kva.example"),
    VALID("mx_digits_hyphens", HEAD "mx: mx-1.0a.123.example.com\n", STS_MODE_ENFORCE, 86400, 1,
          "mx-1.0a.123.example.com"),
    VALID("mx_label_63", HEAD "mx: " L63 ".example.com\n", STS_MODE_ENFORCE, 86400, 1,
          L63 ".example.com"),
    VALID("mx_total_253", HEAD "mx: " NAME253 "\n", STS_MODE_ENFORCE, 86400, 1, NAME253),

    /* Whole-body errors. */
    BAD_BODY("empty_body", "", NULL),
    BAD_BODY("only_blank_lines", "\n\r\n \n\t\n", LEADING_BLANK),
    BAD_BODY("missing_version", MODE_L MAXAGE_L MX_L, MISSING_VERSION),
    BAD_BODY("missing_mode", VERSION_L MAXAGE_L MX_L, MISSING_MODE),
    BAD_BODY("missing_max_age", VERSION_L MODE_L MX_L, MISSING_MAXAGE),
    BAD_BODY("missing_max_age_mode_none", VERSION_L "mode: none\n", MISSING_MAXAGE),
    BAD_BODY("missing_mx_enforce", HEAD, MISSING_MX),
    BAD_BODY("missing_mx_testing", VERSION_L "mode: testing\n" MAXAGE_L, MISSING_MX),
    BAD_BODY("Version_is_not_version", "Version: STSv1\n" MODE_L MAXAGE_L MX_L, MISSING_VERSION),
    BAD_BODY("Mode_is_not_mode", VERSION_L "Mode: enforce\n" MAXAGE_L MX_L, MISSING_MODE),
    BAD_BODY("Max_Age_is_not_max_age", VERSION_L MODE_L "Max_Age: 5\n" MX_L, MISSING_MAXAGE),
    BAD_BODY("MX_is_not_mx", HEAD "MX: mx.example.com\n", MISSING_MX),

    /* version. */
    BAD_LINE("version_STSv2", "version: STSv2\n" MODE_L MAXAGE_L MX_L, 1),
    BAD_LINE("version_STSv10", "version: STSv10\n" MODE_L MAXAGE_L MX_L, 1),
    BAD_LINE("version_lower", "version: stsv1\n" MODE_L MAXAGE_L MX_L, 1),
    BAD_LINE("version_empty", "version:\n" MODE_L MAXAGE_L MX_L, 1),
    BAD_LINE("version_extra_word", "version: STSv1 x\n" MODE_L MAXAGE_L MX_L, 1),
    BAD_LINE("version_with_semicolon", "version: STSv1;\n" MODE_L MAXAGE_L MX_L, 1),

    /* mode. */
    BAD_LINE("mode_capitalised", VERSION_L "mode: Enforce\n" MAXAGE_L MX_L, 2),
    BAD_LINE("mode_upper", VERSION_L "mode: ENFORCE\n" MAXAGE_L MX_L, 2),
    BAD_LINE("mode_upper_none", VERSION_L "mode: NONE\n" MAXAGE_L, 2),
    BAD_LINE("mode_enforced", VERSION_L "mode: enforced\n" MAXAGE_L MX_L, 2),
    BAD_LINE("mode_report", VERSION_L "mode: report\n" MAXAGE_L MX_L, 2),
    BAD_LINE("mode_empty", VERSION_L "mode:\n" MAXAGE_L MX_L, 2),
    BAD_LINE("mode_two_words", VERSION_L "mode: enforce testing\n" MAXAGE_L MX_L, 2),

    /* max_age. */
    BAD_LINE("max_age_over_max", VERSION_L MODE_L "max_age: 31557601\n" MX_L, 3),
    BAD_LINE("max_age_11_digits", VERSION_L MODE_L "max_age: 00000000001\n" MX_L, 3),
    BAD_LINE("max_age_11_digits_big", VERSION_L MODE_L "max_age: 99999999999\n" MX_L, 3),
    BAD_LINE("max_age_wraps_to_0", VERSION_L MODE_L "max_age: 4294967296\n" MX_L, 3),
    BAD_LINE("max_age_wraps_to_1", VERSION_L MODE_L "max_age: 4294967297\n" MX_L, 3),
    BAD_LINE("max_age_negative", VERSION_L MODE_L "max_age: -1\n" MX_L, 3),
    BAD_LINE("max_age_plus_sign", VERSION_L MODE_L "max_age: +5\n" MX_L, 3),
    BAD_LINE("max_age_exponent", VERSION_L MODE_L "max_age: 1e5\n" MX_L, 3),
    BAD_LINE("max_age_trailing_junk", VERSION_L MODE_L "max_age: 12a\n" MX_L, 3),
    BAD_LINE("max_age_hex", VERSION_L MODE_L "max_age: 0x10\n" MX_L, 3),
    BAD_LINE("max_age_decimal", VERSION_L MODE_L "max_age: 1.5\n" MX_L, 3),
    BAD_LINE("max_age_inner_space", VERSION_L MODE_L "max_age: 1 2\n" MX_L, 3),
    BAD_LINE("max_age_empty", VERSION_L MODE_L "max_age:\n" MX_L, 3),
    BAD_LINE("max_age_only_wsp", VERSION_L MODE_L "max_age: \t \n" MX_L, 3),

    /* Line structure. */
    BAD_LINE("leading_space", VERSION_L " mode: enforce\n" MAXAGE_L MX_L, 2),
    BAD_LINE("leading_htab", VERSION_L "\tmode: enforce\n" MAXAGE_L MX_L, 2),
    BAD_LINE("space_before_colon", VERSION_L "mode : enforce\n" MAXAGE_L MX_L, 2),
    BAD_LINE("htab_before_colon", VERSION_L "mode\t: enforce\n" MAXAGE_L MX_L, 2),
    BAD_LINE("no_colon", VERSION_L "mode enforce\n" MAXAGE_L MX_L, 2),
    BAD_LINE("empty_key", VERSION_L ": enforce\n" MODE_L MAXAGE_L MX_L, 2),
    BAD_LINE("key_underscore_first", BASE "_foo: x\n", 5),
    BAD_LINE("key_hyphen_first", BASE "-foo: x\n", 5),
    BAD_LINE("key_dot_first", BASE ".foo: x\n", 5),
    BAD_LINE("key_inner_space", BASE "foo bar: x\n", 5),
    BAD_LINE("key_33_chars", BASE KEY33 ": x\n", 5),
    BAD_LINE("key_non_ascii", BASE "clé: x\n", 5),
    BAD_LINE("line_number_counts_blank_lines", VERSION_L "\n\nmode: bogus\n" MAXAGE_L MX_L, 4),

    /* RFC 8461 §3.2 ABNF: sts-policy-record begins with a field (issue 13 item 7b). */
    BAD_LINE_SAYS("leading_empty_line", "\n" BASE, 1, LEADING_BLANK),
    BAD_LINE_SAYS("leading_crlf_line", "\r\n" BASE, 1, LEADING_BLANK),
    BAD_LINE_SAYS("leading_wsp_only_line", " \t\n" BASE, 1, LEADING_BLANK),
    BAD_LINE_SAYS("only_one_blank_line", "\n", 1, LEADING_BLANK),

    /* sts-policy-ext-value: 1 char or more, inner SP but no HTAB (item 7c). */
    BAD_LINE_SAYS("ext_empty_value", BASE "comment:\n", 5, "has an empty value"),
    BAD_LINE_SAYS("ext_only_wsp_value", BASE "note: \t \n", 5, "has an empty value"),
    BAD_LINE_SAYS("ext_inner_htab", BASE "note: a\tb\n", 5, "tab in the value"),
    BAD_LINE_SAYS("ext_capitalised_key_empty", BASE "Mode:\n", 5, "has an empty value"),
    BAD_LINE_SAYS("ext_bad_utf8", BASE "note: caf\xc3\n", 5, "invalid UTF-8"),
    BAD_LINE("line_number_crlf", "version: STSv1\r\n\r\nmode: bogus\r\n" MAXAGE_L MX_L, 3),
    BAD_LINE("line_number_late", BASE "\nmx: a..b\n", 6),

    /* Control characters, CR, NUL. */
    BAD_LINE("control_in_value", VERSION_L "mode: enf\x01orce\n" MAXAGE_L MX_L, 2),
    BAD_LINE("control_in_unknown_value", BASE "foo: a\001b\n", 5),
    BAD_LINE("escape_in_unknown_value", BASE "foo: \x1b[0m\n", 5),
    BAD_LINE("del_in_unknown_value", BASE "foo: a\x7f\n", 5),
    BAD_LINE("formfeed_line", BASE "\f\n", 5),
    BAD_LINE("vtab_in_value", BASE "foo: a\vb\n", 5),
    BAD_LINE("bare_cr_mid_line", VERSION_L "mode: enforce\rmax_age: 86400\n" MX_L, 2),
    BAD_LINE("bare_cr_as_terminator", "version: STSv1\rmode: enforce\r" MAXAGE_L MX_L, 1),
    BAD_LINE("bare_cr_at_end", BASE "\r", 5),
    BAD_LINE("cr_cr_lf", "version: STSv1\r\r\n" MODE_L MAXAGE_L MX_L, 1),
    BAD_LINE("lf_cr", VERSION_L "\rmode: enforce\n" MAXAGE_L MX_L, 2),
    {.name = "nul_in_value",
     BYTES(VERSION_L "mode: enf\0orce\n" MAXAGE_L MX_L),
     .want = STS_EINVAL,
     .err_line = 2},
    {.name = "nul_in_unknown_value", BYTES(BASE "foo: a\0b\n"), .want = STS_EINVAL, .err_line = 5},
    {.name = "nul_line", BYTES(BASE "\0\n"), .want = STS_EINVAL, .err_line = 5},
    {.name = "nul_at_end", BYTES(BASE "\0"), .want = STS_EINVAL, .err_line = 5},
    {.name = "nul_first", BYTES("\0" BASE), .want = STS_EINVAL, .err_line = 1},

    /* mx syntax. */
    BAD_LINE("mx_star_alone", HEAD "mx: *\n", 4),
    BAD_LINE("mx_star_dot", HEAD "mx: *.\n", 4),
    BAD_LINE("mx_star_inner_label", HEAD "mx: foo.*.com\n", 4),
    BAD_LINE("mx_two_stars", HEAD "mx: *.*.example.com\n", 4),
    BAD_LINE("mx_star_in_label", HEAD "mx: mail*.example.com\n", 4),
    BAD_LINE("mx_star_no_dot", HEAD "mx: *example.com\n", 4),
    BAD_LINE("mx_underscore", HEAD "mx: mx_1.example.com\n", 4),
    BAD_LINE("mx_leading_hyphen", HEAD "mx: -mx.example.com\n", 4),
    BAD_LINE("mx_trailing_hyphen", HEAD "mx: mx-.example.com\n", 4),
    BAD_LINE("mx_empty_label", HEAD "mx: a..b\n", 4),
    BAD_LINE("mx_leading_dot", HEAD "mx: .example.com\n", 4),
    BAD_LINE("mx_two_trailing_dots", HEAD "mx: mx.example.com..\n", 4),
    BAD_LINE("mx_empty", HEAD "mx:\n", 4),
    BAD_LINE("mx_only_wsp", HEAD "mx: \t\n", 4),
    BAD_LINE("mx_address_literal", HEAD "mx: [192.0.2.1]\n", 4),
    BAD_LINE("mx_with_port", HEAD "mx: mx.example.com:25\n", 4),
    BAD_LINE("mx_two_names", HEAD "mx: mx.example.com mx2.example.com\n", 4),
    BAD_LINE("mx_label_64", HEAD "mx: " L64 ".example.com\n", 4),
    BAD_LINE("mx_total_254", HEAD "mx: " NAME254 "\n", 4),
    BAD_LINE("mx_invalid_utf8", HEAD "mx: \xff.example.com\n", 4),

    /* U-labels refused with the A-label named, never converted (item 7d). */
    BAD_LINE_SAYS("mx_ulabel", HEAD "mx: mx.bücher.example\n", 4,
                  ULABEL
                  " (RFC 8461 section 3.2 takes A-labels); write \"mx.xn--bcher-kva.example\""),
    BAD_LINE_SAYS("mx_ulabel_upper", HEAD "mx: MX.BÜCHER.example\n", 4,
                  "write \"mx.xn--bcher-kva.example\""),
    BAD_LINE_SAYS("mx_ulabel_wildcard", HEAD "mx: *.bücher.example\n", 4,
                  "write \"*.xn--bcher-kva.example\""),
    BAD_LINE_SAYS("mx_ulabel_mode_none", VERSION_L "mode: none\n" MAXAGE_L "mx: bücher.example\n",
                  4, ULABEL),
    BAD_LINE_SAYS("mx_ulabel_after_alabel", HEAD "mx: xn--bcher-kva.example\nmx: bücher.example\n",
                  5, ULABEL),
    BAD_LINE("mx_bad_after_good", BASE "mx: *\n", 5),
    BAD_LINE("mx_bad_with_mode_none", VERSION_L "mode: none\n" MAXAGE_L "mx: a..b\n", 4),
};

START_TEST(test_parse)
{
    const struct policy_case *c = &policy_cases[_i];
    size_t len = c->len != 0 ? c->len : strlen(c->body);
    struct sts_policy sentinel;
    struct sts_policy *p = &sentinel;
    char err[512] = "";
    enum sts_status st;

    st = sts_policy_parse(c->body, len, &p, err, sizeof(err));
    ck_assert_msg(st == c->want, "case %s: got %s, want %s (err: %s)", c->name, sts_status_word(st),
                  sts_status_word(c->want), err);
    if (st != STS_OK) {
        ck_assert_msg(p == NULL, "case %s: got a policy on failure, want NULL", c->name);
        ck_assert_msg(err[0] != '\0', "case %s: got an empty reason, want one in err", c->name);
        if (c->err_line != 0) {
            char prefix[32];
            int n = snprintf(prefix, sizeof(prefix), "line %u:", c->err_line);

            ck_assert_msg(strncmp(err, prefix, (size_t)n) == 0,
                          "case %s: got err \"%s\", want it to start with \"%s\"", c->name, err,
                          prefix);
        }
        if (c->err_sub != NULL)
            ck_assert_msg(strstr(err, c->err_sub) != NULL,
                          "case %s: got err \"%s\", want it to contain \"%s\"", c->name, err,
                          c->err_sub);
        return;
    }
    ck_assert_msg(p != NULL && p != &sentinel, "case %s: got no policy, want one", c->name);
    ck_assert_msg(p->mode == c->mode, "case %s: got mode %s, want %s", c->name,
                  sts_mode_name(p->mode), sts_mode_name(c->mode));
    ck_assert_msg(p->max_age == c->max_age, "case %s: got max_age %lu, want %lu", c->name,
                  (unsigned long)p->max_age, (unsigned long)c->max_age);
    ck_assert_msg(p->mx_count == c->mx_count, "case %s: got %zu mx, want %zu", c->name, p->mx_count,
                  c->mx_count);
    for (size_t k = 0; k < c->mx_count; k++)
        ck_assert_msg(p->mx[k] != NULL && strcmp(p->mx[k], c->mx[k]) == 0,
                      "case %s: got mx[%zu] \"%s\", want \"%s\"", c->name, k,
                      p->mx[k] != NULL ? p->mx[k] : "(null)", c->mx[k]);
    sts_policy_free(p);
}
END_TEST

/* Body size against STS_POLICY_BODY_MAX, with bodies built at run time. */
enum size_fill {
    FILL_BLANK_LINES,  /* a valid policy, then LFs */
    FILL_UNKNOWN_LINE, /* a valid policy, then one long "x: aaa..." line */
    FILL_GARBAGE,      /* 'x' bytes only */
};

struct size_case {
    const char *name;
    size_t size;
    enum size_fill fill;
    enum sts_status want;
};

static const struct size_case size_cases[] = {
    {"size_max_blank_lines", STS_POLICY_BODY_MAX, FILL_BLANK_LINES, STS_OK},
    {"size_max_long_unknown_line", STS_POLICY_BODY_MAX, FILL_UNKNOWN_LINE, STS_OK},
    {"size_max_plus_one_blank_lines", STS_POLICY_BODY_MAX + 1, FILL_BLANK_LINES, STS_ETOOBIG},
    {"size_max_plus_one_unknown_line", STS_POLICY_BODY_MAX + 1, FILL_UNKNOWN_LINE, STS_ETOOBIG},
    {"size_1mib", 1024 * 1024, FILL_BLANK_LINES, STS_ETOOBIG},
    {"size_max_plus_one_garbage", STS_POLICY_BODY_MAX + 1, FILL_GARBAGE, STS_ETOOBIG},
};

START_TEST(test_parse_size)
{
    const struct size_case *c = &size_cases[_i];
    static const char prefix[] = BASE;
    size_t plen = sizeof(prefix) - 1;
    char *body = malloc(c->size);
    struct sts_policy sentinel;
    struct sts_policy *p = &sentinel;
    char err[512] = "";
    enum sts_status st;

    ck_assert_msg(body != NULL, "case %s: got no memory for the body", c->name);
    switch (c->fill) {
    case FILL_BLANK_LINES:
        memcpy(body, prefix, plen);
        memset(body + plen, '\n', c->size - plen);
        break;
    case FILL_UNKNOWN_LINE:
        memcpy(body, prefix, plen);
        memcpy(body + plen, "x: ", 3);
        memset(body + plen + 3, 'a', c->size - plen - 3);
        break;
    case FILL_GARBAGE:
        memset(body, 'x', c->size);
        break;
    }
    st = sts_policy_parse(body, c->size, &p, err, sizeof(err));
    free(body);
    ck_assert_msg(st == c->want, "case %s: got %s, want %s (err: %s)", c->name, sts_status_word(st),
                  sts_status_word(c->want), err);
    if (st == STS_OK) {
        ck_assert_msg(p != NULL && p != &sentinel, "case %s: got no policy, want one", c->name);
        ck_assert_msg(p->mx_count == 1, "case %s: got %zu mx, want 1", c->name, p->mx_count);
        sts_policy_free(p);
    } else {
        ck_assert_msg(p == NULL, "case %s: got a policy on failure, want NULL", c->name);
    }
}
END_TEST

/* sts_policy_permits_mx() over a fixed policy. */
struct permit_case {
    const char *name;
    const char *host;
    bool want;
};

static const char permit_body[] = "version: STSv1\nmode: enforce\nmax_age: 86400\n"
                                  "mx: mail.example.com\nmx: *.Example.NET.\n";

static const struct permit_case permit_cases[] = {
    {"permit_exact", "mail.example.com", true},
    {"permit_exact_case_dot", "MAIL.Example.COM.", true},
    {"permit_wildcard", "a.example.net", true},
    {"permit_wildcard_case", "A.EXAMPLE.NET", true},
    {"permit_wildcard_not_apex", "example.net", false},
    {"permit_wildcard_one_label_only", "a.b.example.net", false},
    {"permit_exact_not_suffix", "mail.example.com.evil", false},
    {"permit_exact_not_prefixed", "xmail.example.com", false},
    {"permit_other_host", "other.example.com", false},
    {"permit_empty_host", "", false},
};

START_TEST(test_permits_mx)
{
    const struct permit_case *c = &permit_cases[_i];
    struct sts_policy *p = NULL;
    char err[512] = "";
    enum sts_status st;
    bool got;

    st = sts_policy_parse(permit_body, sizeof(permit_body) - 1, &p, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case %s: got %s parsing the policy, want ok (err: %s)", c->name,
                  sts_status_word(st), err);
    got = sts_policy_permits_mx(p, c->host);
    sts_policy_free(p);
    ck_assert_msg(got == c->want, "case %s: got %s, want %s", c->name, got ? "true" : "false",
                  c->want ? "true" : "false");
}
END_TEST

/* A policy without mx (mode none) permits no host. */
START_TEST(test_permits_mx_none_without_mx)
{
    static const char body[] = "version: STSv1\nmode: none\nmax_age: 0\n";
    struct sts_policy *p = NULL;
    char err[512] = "";
    enum sts_status st;
    bool got;

    st = sts_policy_parse(body, sizeof(body) - 1, &p, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case none_without_mx: got %s, want ok (err: %s)",
                  sts_status_word(st), err);
    got = sts_policy_permits_mx(p, "mx.example.com");
    sts_policy_free(p);
    ck_assert_msg(!got, "case none_without_mx: got true, want false");
}
END_TEST

struct mode_name_case {
    enum sts_mode mode;
    const char *want;
};

static const struct mode_name_case mode_name_cases[] = {
    {STS_MODE_NONE, "none"},
    {STS_MODE_TESTING, "testing"},
    {STS_MODE_ENFORCE, "enforce"},
};

START_TEST(test_mode_name)
{
    const struct mode_name_case *c = &mode_name_cases[_i];
    const char *got = sts_mode_name(c->mode);

    ck_assert_msg(got != NULL && strcmp(got, c->want) == 0,
                  "case mode_name_%s: got \"%s\", want \"%s\"", c->want,
                  got != NULL ? got : "(null)", c->want);
}
END_TEST

START_TEST(test_free_null)
{
    sts_policy_free(NULL);
}
END_TEST

/* A short err buffer is truncated and NUL-terminated, never overrun. */
START_TEST(test_err_truncated)
{
    static const char body[] = VERSION_L "mode: bogus\n" MAXAGE_L MX_L;
    char buf[16];
    struct sts_policy *p = NULL;
    enum sts_status st;

    memset(buf, '#', sizeof(buf));
    st = sts_policy_parse(body, sizeof(body) - 1, &p, buf, 8);
    ck_assert_msg(st == STS_EINVAL, "case err_truncated: got %s, want invalid",
                  sts_status_word(st));
    ck_assert_msg(memchr(buf, '\0', 8) != NULL,
                  "case err_truncated: got no NUL in 8 bytes, want one");
    for (size_t k = 8; k < sizeof(buf); k++)
        ck_assert_msg(buf[k] == '#', "case err_truncated: got byte %zu overwritten, want '#'", k);
}
END_TEST

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("policy");

    tcase_add_loop_test(tc, test_parse, 0, NCASES(policy_cases));
    tcase_add_loop_test(tc, test_parse_size, 0, NCASES(size_cases));
    tcase_add_loop_test(tc, test_permits_mx, 0, NCASES(permit_cases));
    tcase_add_test(tc, test_permits_mx_none_without_mx);
    tcase_add_loop_test(tc, test_mode_name, 0, NCASES(mode_name_cases));
    tcase_add_test(tc, test_free_null);
    tcase_add_test(tc, test_err_truncated);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(policy_suite());
}
