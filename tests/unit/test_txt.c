/*
 * test_txt.c - unit tests of the "_mta-sts" TXT record parser.
 *
 * Guards RFC 8461 §3.1 (the TXT record: "v=STSv1" first, case-sensitive,
 * delimiters "*WSP ; *WSP", "id" of 1 to 32 letters and digits,
 * extension fields ignored, exactly one STSv1 record per RRset, of
 * several records those not beginning with "v=STSv1;" discarded) as
 * refined by the behaviour contract of the pure parsers (issue 2).
 *
 * Table-driven: each row is one TAP test point; a failure reads
 * "case NAME: got X, want Y".
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/status.h"
#include "mtasts/txt.h"
#include "unit_main.h"

/* A row's record: STR() for a C string, BYTES() for bytes with a NUL. */
#define STR(s) (s), 0
#define BYTES(s) (s), (sizeof(s) - 1)

#define ID32 "abcdefghijklmnopqrstuvwxyz012345"
#define ID33 ID32 "6"
#define EXT32 "abcdefghijklmnopqrstuvwxyz_-.123"
#define EXT33 EXT32 "4"

struct record_case {
    const char *name;
    const char *rec;
    size_t len; /* 0: strlen(rec) */
    enum sts_status want;
    const char *want_id; /* when want is STS_OK */
};

static const struct record_case record_cases[] = {
    /* Valid indicators. */
    {"rfc_example", STR("v=STSv1; id=20160831085700Z;"), STS_OK, "20160831085700Z"},
    {"no_space", STR("v=STSv1;id=abc"), STS_OK, "abc"},
    {"trailing_semicolon", STR("v=STSv1; id=abc;"), STS_OK, "abc"},
    {"wsp_around_delims", STR("v=STSv1 ; id=abc ; "), STS_OK, "abc"},
    {"htab_delims", STR("v=STSv1\t;\tid=abc\t;\t"), STS_OK, "abc"},
    {"mixed_wsp_delims", STR("v=STSv1 \t; \t id=abc \t;"), STS_OK, "abc"},
    {"id_one_char", STR("v=STSv1; id=a"), STS_OK, "a"},
    {"id_digits_only", STR("v=STSv1; id=0"), STS_OK, "0"},
    {"id_32_chars", STR("v=STSv1; id=" ID32), STS_OK, ID32},
    {"id_case_kept", STR("v=STSv1; id=AbC123xYz"), STS_OK, "AbC123xYz"},
    {"ext_after_id", STR("v=STSv1; id=abc; foo=bar"), STS_OK, "abc"},
    {"ext_before_id", STR("v=STSv1; foo=bar; id=abc"), STS_OK, "abc"},
    {"ext_name_punct", STR("v=STSv1; id=abc; a_b-c.d=1"), STS_OK, "abc"},
    {"ext_name_digit_first", STR("v=STSv1; id=abc; 9x=1"), STS_OK, "abc"},
    {"ext_name_32_chars", STR("v=STSv1; id=abc; " EXT32 "=v"), STS_OK, "abc"},
    {"ext_value_printable", STR("v=STSv1; id=abc; x=!\"#$%&'()*+,-./:<>?@[\\]^_`{|}~"), STS_OK,
     "abc"},
    {"ext_upper_id_name", STR("v=STSv1; id=abc; ID=zzz"), STS_OK, "abc"},
    {"dup_id_first_wins", STR("v=STSv1; id=abc; id=def"), STS_OK, "abc"},
    {"dup_id_as_ext_value", STR("v=STSv1; id=abc; id=x-y_z"), STS_OK, "abc"},
    {"many_fields", STR("v=STSv1; a=1; b=2; id=xyz; c=3;"), STS_OK, "xyz"},

    /* STSv1 records that do not parse. */
    {"version_only", STR("v=STSv1"), STS_EINVAL, NULL},
    {"version_semicolon_only", STR("v=STSv1;"), STS_EINVAL, NULL},
    {"version_space_only", STR("v=STSv1 "), STS_EINVAL, NULL},
    {"version_wsp_semicolon_wsp", STR("v=STSv1 ; "), STS_EINVAL, NULL},
    {"trailing_wsp_no_delim", STR("v=STSv1; id=abc "), STS_EINVAL, NULL},
    {"trailing_htab_no_delim", STR("v=STSv1; id=abc\t"), STS_EINVAL, NULL},
    {"empty_field", STR("v=STSv1;; id=abc"), STS_EINVAL, NULL},
    {"empty_field_at_end", STR("v=STSv1; id=abc;;"), STS_EINVAL, NULL},
    {"space_not_delim", STR("v=STSv1 id=abc"), STS_EINVAL, NULL},
    {"missing_id", STR("v=STSv1; foo=bar"), STS_EINVAL, NULL},
    {"upper_ID_is_not_id", STR("v=STSv1; ID=abc"), STS_EINVAL, NULL},
    {"id_empty", STR("v=STSv1; id="), STS_EINVAL, NULL},
    {"id_empty_then_delim", STR("v=STSv1; id=; foo=bar"), STS_EINVAL, NULL},
    {"id_33_chars", STR("v=STSv1; id=" ID33), STS_EINVAL, NULL},
    {"id_hyphen", STR("v=STSv1; id=abc-def"), STS_EINVAL, NULL},
    {"id_underscore", STR("v=STSv1; id=abc_def"), STS_EINVAL, NULL},
    {"id_dot", STR("v=STSv1; id=abc.def"), STS_EINVAL, NULL},
    {"id_space_before_value", STR("v=STSv1; id= abc"), STS_EINVAL, NULL},
    {"id_space_before_equals", STR("v=STSv1; id =abc"), STS_EINVAL, NULL},
    {"id_non_ascii", STR("v=STSv1; id=abé"), STS_EINVAL, NULL},
    {"id_first_invalid_second_valid", STR("v=STSv1; id=a-b; id=abc"), STS_EINVAL, NULL},
    {"dup_id_bad_ext_syntax", STR("v=STSv1; id=abc; id="), STS_EINVAL, NULL},
    {"ext_empty_value", STR("v=STSv1; id=abc; foo="), STS_EINVAL, NULL},
    {"ext_empty_name", STR("v=STSv1; id=abc; =bar"), STS_EINVAL, NULL},
    {"ext_space_in_name", STR("v=STSv1; id=abc; f oo=bar"), STS_EINVAL, NULL},
    {"ext_underscore_first", STR("v=STSv1; id=abc; _foo=bar"), STS_EINVAL, NULL},
    {"ext_hyphen_first", STR("v=STSv1; id=abc; -foo=bar"), STS_EINVAL, NULL},
    {"ext_name_33_chars", STR("v=STSv1; id=abc; " EXT33 "=v"), STS_EINVAL, NULL},
    {"ext_no_equals", STR("v=STSv1; id=abc; foo"), STS_EINVAL, NULL},
    {"ext_value_equals", STR("v=STSv1; id=abc; foo=a=b"), STS_EINVAL, NULL},
    {"ext_value_space", STR("v=STSv1; id=abc; foo=a b"), STS_EINVAL, NULL},
    {"ext_value_control", STR("v=STSv1; id=abc; foo=a\x01"), STS_EINVAL, NULL},
    {"ext_value_del", STR("v=STSv1; id=abc; foo=a\x7f"), STS_EINVAL, NULL},
    {"ext_value_non_ascii", STR("v=STSv1; id=abc; foo=é"), STS_EINVAL, NULL},
    {"crlf_at_end", STR("v=STSv1; id=abc\r\n"), STS_EINVAL, NULL},
    {"nul_in_id", BYTES("v=STSv1; id=ab\0cd"), STS_EINVAL, NULL},
    {"nul_at_end", BYTES("v=STSv1; id=abc;\0"), STS_EINVAL, NULL},
    {"nul_in_ext", BYTES("v=STSv1; id=abc; foo=b\0r"), STS_EINVAL, NULL},

    /* Not MTA-STS records: discarded. */
    {"spf", STR("v=spf1 -all"), STS_ENOTFOUND, NULL},
    {"site_verification", STR("google-site-verification=abc123"), STS_ENOTFOUND, NULL},
    {"empty_record", STR(""), STS_ENOTFOUND, NULL},
    {"version_prefix_only", STR("v=STSv"), STS_ENOTFOUND, NULL},
    {"version_10", STR("v=STSv10; id=1"), STS_ENOTFOUND, NULL},
    {"version_1x", STR("v=STSv1x; id=1"), STS_ENOTFOUND, NULL},
    {"version_comma", STR("v=STSv1,id=1"), STS_ENOTFOUND, NULL},
    {"upper_V", STR("V=STSv1; id=1"), STS_ENOTFOUND, NULL},
    {"lower_sts", STR("v=stsv1; id=1"), STS_ENOTFOUND, NULL},
    {"leading_space", STR(" v=STSv1;id=1"), STS_ENOTFOUND, NULL},
    {"leading_htab", STR("\tv=STSv1;id=1"), STS_ENOTFOUND, NULL},
    {"nul_right_after_version", BYTES("v=STSv1\0; id=abc"), STS_ENOTFOUND, NULL},
};

START_TEST(test_parse_record)
{
    const struct record_case *c = &record_cases[_i];
    size_t len = c->len != 0 ? c->len : strlen(c->rec);
    struct sts_txt out;
    char err[256] = "";
    enum sts_status st;

    memset(&out, 0, sizeof(out));
    st = sts_txt_parse_record(c->rec, len, &out, err, sizeof(err));
    ck_assert_msg(st == c->want, "case %s: got %s, want %s (err: %s)", c->name, sts_status_word(st),
                  sts_status_word(c->want), err);
    if (c->want == STS_OK) {
        ck_assert_msg(memchr(out.id, '\0', sizeof(out.id)) != NULL,
                      "case %s: got an id without NUL, want \"%s\"", c->name, c->want_id);
        ck_assert_msg(strcmp(out.id, c->want_id) == 0, "case %s: got id \"%s\", want \"%s\"",
                      c->name, out.id, c->want_id);
    }
    if (c->want == STS_EINVAL)
        ck_assert_msg(err[0] != '\0', "case %s: got an empty reason, want one in err", c->name);
}
END_TEST

/* The indicator may be parsed for its validity alone (out == NULL). */
START_TEST(test_parse_record_null_out)
{
    char err[256] = "";
    static const char rec[] = "v=STSv1; id=abc";
    enum sts_status st = sts_txt_parse_record(rec, strlen(rec), NULL, err, sizeof(err));

    ck_assert_msg(st == STS_OK, "case null_out: got %s, want ok (err: %s)", sts_status_word(st),
                  err);
}
END_TEST

/* The record is (pointer, length): bytes past len are not read. */
START_TEST(test_parse_record_honours_len)
{
    char err[256] = "";
    static const char rec[] = "v=STSv1; id=abc; garbage here";
    struct sts_txt out;
    enum sts_status st;

    memset(&out, 0, sizeof(out));
    st = sts_txt_parse_record(rec, strlen("v=STSv1; id=abc"), &out, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case honours_len: got %s, want ok (err: %s)", sts_status_word(st),
                  err);
    ck_assert_msg(strcmp(out.id, "abc") == 0, "case honours_len: got id \"%s\", want \"abc\"",
                  out.id);
}
END_TEST

#define RRSET_MAX 4

struct rrset_case {
    const char *name;
    size_t n;
    const char *recs[RRSET_MAX];
    size_t lens[RRSET_MAX]; /* 0: strlen(recs[i]) */
    enum sts_status want;
    const char *want_id; /* when want is STS_OK */
};

static const struct rrset_case rrset_cases[] = {
    {"empty_rrset", 0, {NULL}, {0}, STS_ENOTFOUND, NULL},
    {"one_valid", 1, {"v=STSv1; id=abc"}, {0}, STS_OK, "abc"},
    {"spf_then_valid", 2, {"v=spf1 -all", "v=STSv1; id=abc"}, {0}, STS_OK, "abc"},
    {"valid_then_spf", 2, {"v=STSv1; id=abc", "v=spf1 -all"}, {0}, STS_OK, "abc"},
    {"three_one_candidate",
     3,
     {"google-site-verification=x", "v=STSv1; id=xyz;", "v=spf1 -all"},
     {0},
     STS_OK,
     "xyz"},
    {"sts10_discarded", 2, {"v=STSv10; id=1", "v=STSv1; id=abc"}, {0}, STS_OK, "abc"},
    {"upper_V_discarded", 2, {"V=STSv1; id=x", "v=STSv1; id=abc"}, {0}, STS_OK, "abc"},
    {"leading_space_discarded", 2, {" v=STSv1;id=1", "v=STSv1; id=abc"}, {0}, STS_OK, "abc"},
    {"empty_record_discarded", 2, {"", "v=STSv1; id=abc"}, {0}, STS_OK, "abc"},
    {"two_identical", 2, {"v=STSv1; id=abc", "v=STSv1; id=abc"}, {0}, STS_EINVAL, NULL},
    {"two_different", 2, {"v=STSv1; id=abc", "v=STSv1; id=def"}, {0}, STS_EINVAL, NULL},
    {"valid_and_invalid", 2, {"v=STSv1; id=abc", "v=STSv1;"}, {0}, STS_EINVAL, NULL},
    /* §3.1: of several records, those not beginning with exactly "v=STSv1;"
     * are discarded before counting (issue 13 item 7a). */
    {"version_only_discarded", 2, {"v=STSv1", "v=STSv1; id=abc"}, {0}, STS_OK, "abc"},
    {"junk_after_wsp_discarded", 2, {"v=STSv1; id=abc", "v=STSv1 junk"}, {0}, STS_OK, "abc"},
    {"wsp_before_semicolon_discarded",
     2,
     {"v=STSv1 ; id=1", "v=STSv1; id=abc"},
     {0},
     STS_OK,
     "abc"},
    {"tab_after_version_discarded", 2, {"v=STSv1\tid=1", "v=STSv1;id=abc"}, {0}, STS_OK, "abc"},
    {"all_discarded", 2, {"v=STSv1 ; id=1", "v=STSv1 junk"}, {0}, STS_ENOTFOUND, NULL},
    {"discarded_then_two_kept",
     3,
     {"v=STSv1 x", "v=STSv1; id=a", "v=STSv1;id=b"},
     {0},
     STS_EINVAL,
     NULL},
    {"lone_wsp_before_semicolon", 1, {"v=STSv1 ; id=abc"}, {0}, STS_OK, "abc"},
    {"lone_version_junk", 1, {"v=STSv1 junk"}, {0}, STS_EINVAL, NULL},
    {"one_invalid", 1, {"v=STSv1; id=abc-def"}, {0}, STS_EINVAL, NULL},
    {"one_invalid_with_spf", 2, {"v=spf1 -all", "v=STSv1; id="}, {0}, STS_EINVAL, NULL},
    {"no_candidates", 2, {"v=spf1 -all", "v=STSv10; id=1"}, {0}, STS_ENOTFOUND, NULL},
    {"only_empty", 1, {""}, {0}, STS_ENOTFOUND, NULL},
    {"one_with_nul", 1, {"v=STSv1; id=ab\0c"}, {sizeof("v=STSv1; id=ab\0c") - 1}, STS_EINVAL, NULL},
};

START_TEST(test_parse_rrset)
{
    const struct rrset_case *c = &rrset_cases[_i];
    size_t lens[RRSET_MAX];
    struct sts_txt out;
    char err[256] = "";
    enum sts_status st;

    for (size_t k = 0; k < c->n; k++)
        lens[k] = c->lens[k] != 0 ? c->lens[k] : strlen(c->recs[k]);
    memset(&out, 0, sizeof(out));
    st = sts_txt_parse_rrset(c->recs, lens, c->n, &out, err, sizeof(err));
    ck_assert_msg(st == c->want, "case %s: got %s, want %s (err: %s)", c->name, sts_status_word(st),
                  sts_status_word(c->want), err);
    if (c->want == STS_OK)
        ck_assert_msg(strcmp(out.id, c->want_id) == 0, "case %s: got id \"%s\", want \"%s\"",
                      c->name, out.id, c->want_id);
    if (c->want == STS_EINVAL)
        ck_assert_msg(err[0] != '\0', "case %s: got an empty reason, want one in err", c->name);
}
END_TEST

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *txt_suite(void)
{
    Suite *s = suite_create("txt");
    TCase *tc = tcase_create("txt");

    tcase_add_loop_test(tc, test_parse_record, 0, NCASES(record_cases));
    tcase_add_test(tc, test_parse_record_null_out);
    tcase_add_test(tc, test_parse_record_honours_len);
    tcase_add_loop_test(tc, test_parse_rrset, 0, NCASES(rrset_cases));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(txt_suite());
}
