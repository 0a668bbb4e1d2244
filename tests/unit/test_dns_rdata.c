/*
 * test_dns_rdata.c - unit tests of the RDATA parsers (dns_rdata.h).
 *
 * Guards the wire formats the resolver hands on: TXT character-strings
 * (RFC 1035 §3.3.14, §3.3: a length octet, then that many bytes; zero
 * length allowed), MX (RFC 1035 §3.3.9: a 16-bit preference, then an
 * uncompressed exchange name, §2.3.4 label and name limits; RFC 7505 null
 * MX), A (§3.4.1, 4 octets), AAAA (RFC 3596 §2.2, 16 octets) and TLSA
 * (RFC 6698 §2.1: usage, selector, matching type, data).  Truncated
 * RDATA, compression pointers, over-long labels and names, bytes that
 * cannot be printed unambiguously, and the caps (64 records, the 64 most
 * preferred MX, 64 KiB of TXT) must come out as documented; a malformed
 * record makes the whole answer malformed and leaves nothing allocated.
 *
 * Table-driven where it can be: each row is one TAP test point; a failure
 * reads "case NAME: got X, want Y".
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/dns_rdata.h"
#include "unit_main.h"

#define BYTES(s) (const unsigned char *)(s), (sizeof(s) - 1)

/* An empty answer, as the resolver passes it. */
static struct sts_dns_answer *answer_new(void)
{
    struct sts_dns_answer *a = calloc(1, sizeof(*a));
    ck_assert_ptr_nonnull(a);
    return a;
}

/* Parse one record of type into a fresh answer; *st receives the status. */
static struct sts_dns_answer *parse_one(enum sts_dns_type type, const unsigned char *data,
                                        size_t len, enum sts_status *st)
{
    struct sts_dns_answer *a = answer_new();
    struct sts_dns_rdata rr = {data, len};
    *st = sts_dns_rdata_parse(type, &rr, 1, a);
    return a;
}

/* After a failure: nothing kept, nothing allocated. */
static void assert_empty(const char *name, const struct sts_dns_answer *a)
{
    ck_assert_msg(a->count == 0 && a->txt == NULL && a->txt_len == NULL && a->mx == NULL &&
                      a->addr == NULL && a->tlsa == NULL,
                  "case %s: got count %zu and arrays left set, want an empty answer", name,
                  a->count);
}

/* ------------------------------------------------------------------ TXT */

struct txt_case {
    const char *name;
    const unsigned char *in;
    size_t len;
    enum sts_status want;
    const char *want_text; /* when STS_OK */
    size_t want_len;
};

static const struct txt_case txt_cases[] = {
    {"one_string", BYTES("\x05hello"), STS_OK, "hello", 5},
    {"strings_joined",
     BYTES("\x03"
           "abc"
           "\x03"
           "def"),
     STS_OK, "abcdef", 6},
    {"zero_length_string", BYTES("\x00"), STS_OK, "", 0},
    {"zero_length_strings_around", BYTES("\x00\x02hi\x00"), STS_OK, "hi", 2},
    /* no character-string at all: read as one empty TXT (as always) */
    {"empty_rdata", (const unsigned char *)"", 0, STS_OK, "", 0},
    {"nul_inside",
     BYTES("\x03"
           "a\0b"),
     STS_OK, "a\0b", 3},
    {"v_string", BYTES("\x10v=STSv1; id=abc;"), STS_OK, "v=STSv1; id=abc;", 16},
    {"truncated_string", BYTES("\x05hel"), STS_EINVAL, NULL, 0},
    {"truncated_second",
     BYTES("\x02hi\x05"
           "ab"),
     STS_EINVAL, NULL, 0},
    {"length_octet_only", BYTES("\x01"), STS_EINVAL, NULL, 0},
    {"length_octet_at_end", BYTES("\x02hi\x01"), STS_EINVAL, NULL, 0},
    {"max_length_short_by_one",
     BYTES("\xff"
           "x"),
     STS_EINVAL, NULL, 0},
};

START_TEST(test_txt)
{
    const struct txt_case *tc = &txt_cases[_i];
    enum sts_status st;
    struct sts_dns_answer *a = parse_one(STS_DNS_TXT, tc->in, tc->len, &st);

    ck_assert_msg(st == tc->want, "case %s: got %s, want %s", tc->name, sts_status_word(st),
                  sts_status_word(tc->want));
    if (tc->want == STS_OK) {
        ck_assert_msg(a->count == 1, "case %s: got %zu records, want 1", tc->name, a->count);
        ck_assert_msg(a->txt_len[0] == tc->want_len &&
                          memcmp(a->txt[0], tc->want_text, tc->want_len) == 0 &&
                          a->txt[0][tc->want_len] == '\0',
                      "case %s: got %zu bytes \"%s\", want %zu bytes \"%s\"", tc->name,
                      a->txt_len[0], a->txt[0], tc->want_len, tc->want_text);
        ck_assert_msg(a->mx == NULL && a->addr == NULL && a->tlsa == NULL,
                      "case %s: an array of another type is set", tc->name);
    } else {
        assert_empty(tc->name, a);
    }
    sts_dns_answer_free(a);
}
END_TEST

/* A character-string of the maximum length, 255 bytes (RFC 1035 §3.3). */
START_TEST(test_txt_max_string)
{
    unsigned char rd[256];
    enum sts_status st;

    rd[0] = 255;
    memset(rd + 1, 'x', 255);
    struct sts_dns_answer *a = parse_one(STS_DNS_TXT, rd, sizeof(rd), &st);
    ck_assert_msg(st == STS_OK, "got %s, want ok", sts_status_word(st));
    ck_assert_msg(a->count == 1 && a->txt_len[0] == 255 && a->txt[0][254] == 'x' &&
                      a->txt[0][255] == '\0',
                  "got %zu records, the first %zu bytes; want one of 255", a->count,
                  a->count ? a->txt_len[0] : 0);
    sts_dns_answer_free(a);
}
END_TEST

/* A record of k strings of 255 'y' (joined 255 * k bytes); caller frees. */
static unsigned char *txt_big(size_t k, size_t *len)
{
    unsigned char *p = malloc(k * 256);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < k; i++) {
        p[i * 256] = 255;
        memset(p + i * 256 + 1, 'y', 255);
    }
    *len = k * 256;
    return p;
}

/* 64 KiB of TXT in all: a record that would pass it is left out, the rest kept. */
START_TEST(test_txt_byte_cap)
{
    size_t len;
    unsigned char *big = txt_big(160, &len); /* 40800 bytes joined */
    struct sts_dns_rdata rr[3] = {{big, len}, {big, len}, {BYTES("\x02hi")}};
    struct sts_dns_answer *a = answer_new();

    enum sts_status st = sts_dns_rdata_parse(STS_DNS_TXT, rr, 3, a);
    ck_assert_msg(st == STS_OK, "got %s, want ok", sts_status_word(st));
    ck_assert_msg(a->count == 2, "got %zu records, want 2 (the second passes 64 KiB)", a->count);
    ck_assert_msg(a->txt_len[0] == 40800 && a->txt_len[1] == 2 && strcmp(a->txt[1], "hi") == 0,
                  "got lengths %zu and %zu, want 40800 and 2 (\"hi\")", a->txt_len[0],
                  a->txt_len[1]);
    ck_assert_msg(strcmp(a->why, "truncated: kept 2 of 3 records") == 0,
                  "got why \"%s\", want \"truncated: kept 2 of 3 records\"", a->why);
    ck_assert_msg(a->txt_len[0] + a->txt_len[1] <= STS_DNS_TXT_BYTES_MAX, "kept over the cap");
    sts_dns_answer_free(a);
    free(big);
}
END_TEST

/* More records than the cap: 64 kept; one malformed beyond the cap still fails it. */
START_TEST(test_txt_record_cap)
{
    struct sts_dns_rdata rr[70];
    struct sts_dns_answer *a = answer_new();

    for (size_t i = 0; i < 70; i++)
        rr[i] = (struct sts_dns_rdata){BYTES("\x01z")};
    enum sts_status st = sts_dns_rdata_parse(STS_DNS_TXT, rr, 70, a);
    ck_assert_msg(st == STS_OK && a->count == STS_DNS_RECORDS_MAX,
                  "got %s with %zu records, want ok with %d", sts_status_word(st), a->count,
                  STS_DNS_RECORDS_MAX);
    ck_assert_msg(strcmp(a->why, "truncated: kept 64 of 70 records") == 0, "got why \"%s\"",
                  a->why);
    sts_dns_answer_free(a);

    a = answer_new();
    rr[69] = (struct sts_dns_rdata){BYTES("\x09short")};
    st = sts_dns_rdata_parse(STS_DNS_TXT, rr, 70, a);
    ck_assert_msg(st == STS_EINVAL, "got %s, want invalid (record 70 is malformed)",
                  sts_status_word(st));
    assert_empty("malformed_after_cap", a);
    sts_dns_answer_free(a);
}
END_TEST

/* ------------------------------------------------------------------- MX */

struct mx_case {
    const char *name;
    const unsigned char *in;
    size_t len;
    enum sts_status want;
    unsigned want_pref;
    const char *want_host;
};

static const struct mx_case mx_cases[] = {
    {"simple",
     BYTES("\x00\x0a\x02mx\x07"
           "example\x03"
           "com\x00"),
     STS_OK, 10, "mx.example.com"},
    {"upper_case_lowered", BYTES("\x00\x01\x02MX\x04TeSt\x00"), STS_OK, 1, "mx.test"},
    {"preference_big_endian",
     BYTES("\x01\x02\x01"
           "a\x00"),
     STS_OK, 258, "a"},
    {"preference_max",
     BYTES("\xff\xff\x01"
           "a\x00"),
     STS_OK, 65535, "a"},
    {"null_mx", BYTES("\x00\x00\x00"), STS_OK, 0, ""},
    {"underscore_and_star", BYTES("\x00\x05\x01*\x02_x\x00"), STS_OK, 5, "*._x"},
    {"too_short", BYTES("\x00\x0a"), STS_EINVAL, 0, NULL},
    {"empty", (const unsigned char *)"", 0, STS_EINVAL, 0, NULL},
    {"no_root_label", BYTES("\x00\x0a\x02mx"), STS_EINVAL, 0, NULL},
    {"label_runs_past", BYTES("\x00\x0a\x05mx"), STS_EINVAL, 0, NULL},
    {"bytes_after_root", BYTES("\x00\x0a\x02mx\x00\x00"), STS_EINVAL, 0, NULL},
    {"compression_pointer", BYTES("\x00\x0a\xc0\x0c"), STS_EINVAL, 0, NULL},
    {"pointer_after_label", BYTES("\x00\x0a\x02mx\xc0\x0c"), STS_EINVAL, 0, NULL},
    {"extended_label_type", BYTES("\x00\x0a\x41\x02mx\x00"), STS_EINVAL, 0, NULL},
    {"dot_in_label", BYTES("\x00\x0a\x03m.x\x00"), STS_EINVAL, 0, NULL},
    {"backslash_in_label", BYTES("\x00\x0a\x03m\\x\x00"), STS_EINVAL, 0, NULL},
    {"space_in_label", BYTES("\x00\x0a\x03m x\x00"), STS_EINVAL, 0, NULL},
    {"nul_in_label", BYTES("\x00\x0a\x03m\0x\x00"), STS_EINVAL, 0, NULL},
    {"control_in_label", BYTES("\x00\x0a\x03m\tx\x00"), STS_EINVAL, 0, NULL},
    {"del_in_label", BYTES("\x00\x0a\x03m\x7fx\x00"), STS_EINVAL, 0, NULL},
    {"eight_bit_in_label", BYTES("\x00\x0a\x03m\xc3x\x00"), STS_EINVAL, 0, NULL},
};

START_TEST(test_mx)
{
    const struct mx_case *tc = &mx_cases[_i];
    enum sts_status st;
    struct sts_dns_answer *a = parse_one(STS_DNS_MX, tc->in, tc->len, &st);

    ck_assert_msg(st == tc->want, "case %s: got %s, want %s", tc->name, sts_status_word(st),
                  sts_status_word(tc->want));
    if (tc->want == STS_OK) {
        ck_assert_msg(a->count == 1, "case %s: got %zu records, want 1", tc->name, a->count);
        ck_assert_msg(a->mx[0].preference == tc->want_pref &&
                          strcmp(a->mx[0].host, tc->want_host) == 0,
                      "case %s: got %u \"%s\", want %u \"%s\"", tc->name, a->mx[0].preference,
                      a->mx[0].host, tc->want_pref, tc->want_host);
    } else {
        assert_empty(tc->name, a);
    }
    sts_dns_answer_free(a);
}
END_TEST

/*
 * An MX whose exchange has the given label lengths (each label 'a'..),
 * root-terminated; returns the RDATA length.
 */
static size_t mx_with_labels(unsigned char *buf, const size_t *labels, size_t n)
{
    size_t o = 0;
    buf[o++] = 0;
    buf[o++] = 10;
    for (size_t i = 0; i < n; i++) {
        buf[o++] = (unsigned char)labels[i];
        memset(buf + o, (int)('a' + i), labels[i]);
        o += labels[i];
    }
    buf[o++] = 0;
    return o;
}

/* RFC 1035 §2.3.4: labels of 63 octets, names of 255 octets (253 in text). */
START_TEST(test_mx_name_limits)
{
    static const size_t l63[] = {63}, l64[] = {64};
    static const size_t n255[] = {63, 63, 63, 61}, n256[] = {63, 63, 63, 62};
    unsigned char buf[300];
    enum sts_status st;
    struct sts_dns_answer *a;

    a = parse_one(STS_DNS_MX, buf, mx_with_labels(buf, l63, 1), &st);
    ck_assert_msg(st == STS_OK && strlen(a->mx[0].host) == 63, "label of 63: got %s",
                  sts_status_word(st));
    sts_dns_answer_free(a);

    a = parse_one(STS_DNS_MX, buf, mx_with_labels(buf, l64, 1), &st);
    ck_assert_msg(st == STS_EINVAL, "label of 64: got %s, want invalid", sts_status_word(st));
    sts_dns_answer_free(a);

    size_t len = mx_with_labels(buf, n255, 4);
    ck_assert_uint_eq(len - 2, 255); /* the name's wire length */
    a = parse_one(STS_DNS_MX, buf, len, &st);
    ck_assert_msg(st == STS_OK, "name of 255 octets: got %s, want ok", sts_status_word(st));
    ck_assert_msg(strlen(a->mx[0].host) == STS_DNS_NAME_TEXT_MAX && a->mx[0].host[63] == '.' &&
                      a->mx[0].host[252] == 'd',
                  "name of 255 octets: got %zu characters, want 253", strlen(a->mx[0].host));
    sts_dns_answer_free(a);

    a = parse_one(STS_DNS_MX, buf, mx_with_labels(buf, n256, 4), &st);
    ck_assert_msg(st == STS_EINVAL, "name of 256 octets: got %s, want invalid",
                  sts_status_word(st));
    assert_empty("name_256", a);
    sts_dns_answer_free(a);
}
END_TEST

/* Sorted by preference, equal preferences in the order given. */
START_TEST(test_mx_sorted)
{
    struct sts_dns_rdata rr[] = {
        {BYTES("\x00\x14\x01"
               "a\x00")}, /* 20 */
        {BYTES("\x00\x0a\x01"
               "b\x00")}, /* 10 */
        {BYTES("\x00\x0a\x01"
               "c\x00")}, /* 10 */
        {BYTES("\x00\x05\x01"
               "d\x00")}, /* 5 */
    };
    static const char *const want[] = {"d", "b", "c", "a"};
    struct sts_dns_answer *a = answer_new();
    char got[32] = "";

    ck_assert_int_eq(sts_dns_rdata_parse(STS_DNS_MX, rr, 4, a), STS_OK);
    ck_assert_uint_eq(a->count, 4);
    for (size_t i = 0; i < 4; i++)
        strncat(got, a->mx[i].host, sizeof(got) - strlen(got) - 1);
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(strcmp(a->mx[i].host, want[i]) == 0, "got order %s, want dbca", got);
    ck_assert_msg(a->why[0] == '\0', "got why \"%s\", want none", a->why);
    sts_dns_answer_free(a);
}
END_TEST

/* 70 MX, least preferred first: the 64 most preferred are kept, in order. */
START_TEST(test_mx_record_cap)
{
    unsigned char rd[70][5];
    struct sts_dns_rdata rr[70];
    struct sts_dns_answer *a = answer_new();

    for (size_t i = 0; i < 70; i++) {
        unsigned pref = 70 - (unsigned)i; /* 70, 69, ..., 1 */
        rd[i][0] = 0;
        rd[i][1] = (unsigned char)pref;
        rd[i][2] = 1;
        rd[i][3] = 'm';
        rd[i][4] = 0;
        rr[i] = (struct sts_dns_rdata){rd[i], 5};
    }
    ck_assert_int_eq(sts_dns_rdata_parse(STS_DNS_MX, rr, 70, a), STS_OK);
    ck_assert_msg(a->count == STS_DNS_RECORDS_MAX, "got %zu records, want 64", a->count);
    for (size_t i = 0; i < a->count; i++)
        ck_assert_msg(a->mx[i].preference == i + 1, "record %zu: got preference %u, want %zu", i,
                      a->mx[i].preference, i + 1);
    ck_assert_msg(strcmp(a->why, "truncated: kept 64 of 70 records") == 0, "got why \"%s\"",
                  a->why);
    sts_dns_answer_free(a);
}
END_TEST

/* ------------------------------------------------------------- A, AAAA */

struct addr_case {
    const char *name;
    enum sts_dns_type type;
    const unsigned char *in;
    size_t len;
    enum sts_status want;
    const char *want_addr;
};

static const struct addr_case addr_cases[] = {
    {"a_loopback", STS_DNS_A, BYTES("\x7f\x00\x00\x01"), STS_OK, "127.0.0.1"},
    {"a_all_ones", STS_DNS_A, BYTES("\xff\xff\xff\xff"), STS_OK, "255.255.255.255"},
    {"a_three_octets", STS_DNS_A, BYTES("\x7f\x00\x01"), STS_EINVAL, NULL},
    {"a_five_octets", STS_DNS_A, BYTES("\x7f\x00\x00\x01\x00"), STS_EINVAL, NULL},
    {"a_empty", STS_DNS_A, (const unsigned char *)"", 0, STS_EINVAL, NULL},
    {"a_sixteen_octets", STS_DNS_A,
     BYTES("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"), STS_EINVAL, NULL},
    {"aaaa_loopback", STS_DNS_AAAA,
     BYTES("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"), STS_OK, "::1"},
    {"aaaa_doc_prefix", STS_DNS_AAAA,
     BYTES("\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x35"), STS_OK,
     "2001:db8::35"},
    {"aaaa_v4_mapped", STS_DNS_AAAA,
     BYTES("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x7f\x00\x00\x01"), STS_OK,
     "::ffff:127.0.0.1"},
    {"aaaa_four_octets", STS_DNS_AAAA, BYTES("\x7f\x00\x00\x01"), STS_EINVAL, NULL},
    {"aaaa_fifteen_octets", STS_DNS_AAAA,
     BYTES("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"), STS_EINVAL, NULL},
};

START_TEST(test_addr)
{
    const struct addr_case *tc = &addr_cases[_i];
    enum sts_status st;
    struct sts_dns_answer *a = parse_one(tc->type, tc->in, tc->len, &st);

    ck_assert_msg(st == tc->want, "case %s: got %s, want %s", tc->name, sts_status_word(st),
                  sts_status_word(tc->want));
    if (tc->want == STS_OK)
        ck_assert_msg(a->count == 1 && strcmp(a->addr[0], tc->want_addr) == 0,
                      "case %s: got %zu records, \"%s\", want \"%s\"", tc->name, a->count,
                      a->count ? a->addr[0] : "", tc->want_addr);
    else
        assert_empty(tc->name, a);
    sts_dns_answer_free(a);
}
END_TEST

START_TEST(test_addr_record_cap)
{
    unsigned char rd[70][4];
    struct sts_dns_rdata rr[70];
    struct sts_dns_answer *a = answer_new();
    char want[16];

    for (size_t i = 0; i < 70; i++) {
        memcpy(rd[i], "\x0a\x00\x00", 3);
        rd[i][3] = (unsigned char)i;
        rr[i] = (struct sts_dns_rdata){rd[i], 4};
    }
    ck_assert_int_eq(sts_dns_rdata_parse(STS_DNS_A, rr, 70, a), STS_OK);
    ck_assert_msg(a->count == STS_DNS_RECORDS_MAX, "got %zu records, want 64", a->count);
    snprintf(want, sizeof(want), "10.0.0.%d", STS_DNS_RECORDS_MAX - 1);
    ck_assert_msg(strcmp(a->addr[0], "10.0.0.0") == 0 && strcmp(a->addr[63], want) == 0,
                  "got %s .. %s, want 10.0.0.0 .. %s (the first 64)", a->addr[0], a->addr[63],
                  want);
    ck_assert_msg(strcmp(a->why, "truncated: kept 64 of 70 records") == 0, "got why \"%s\"",
                  a->why);
    sts_dns_answer_free(a);
}
END_TEST

/* ----------------------------------------------------------------- TLSA */

START_TEST(test_tlsa)
{
    unsigned char rd[3 + 32];
    enum sts_status st;
    struct sts_dns_answer *a;

    rd[0] = 3; /* DANE-EE */
    rd[1] = 1; /* SPKI */
    rd[2] = 1; /* SHA-256 */
    for (size_t i = 0; i < 32; i++)
        rd[3 + i] = (unsigned char)(0xa0 + i);
    a = parse_one(STS_DNS_TLSA, rd, sizeof(rd), &st);
    ck_assert_msg(st == STS_OK && a->count == 1, "3 1 1 <32 bytes>: got %s, %zu records",
                  sts_status_word(st), a->count);
    ck_assert_msg(a->tlsa[0].usage == 3 && a->tlsa[0].selector == 1 && a->tlsa[0].mtype == 1,
                  "got %u %u %u, want 3 1 1", a->tlsa[0].usage, a->tlsa[0].selector,
                  a->tlsa[0].mtype);
    ck_assert_msg(a->tlsa[0].len == 32 && memcmp(a->tlsa[0].data, rd + 3, 32) == 0,
                  "got %zu bytes of data, want the 32 given", a->tlsa[0].len);
    sts_dns_answer_free(a);

    /* no association data at all: parsed (the DANE module judges it), data not NULL */
    a = parse_one(STS_DNS_TLSA, BYTES("\x02\x00\x00"), &st);
    ck_assert_msg(st == STS_OK && a->count == 1 && a->tlsa[0].len == 0 && a->tlsa[0].data != NULL &&
                      a->tlsa[0].usage == 2,
                  "3 octets: got %s, %zu records", sts_status_word(st), a->count);
    sts_dns_answer_free(a);

    a = parse_one(STS_DNS_TLSA, BYTES("\x03\x01"), &st);
    ck_assert_msg(st == STS_EINVAL, "2 octets: got %s, want invalid", sts_status_word(st));
    assert_empty("tlsa_2", a);
    sts_dns_answer_free(a);

    a = parse_one(STS_DNS_TLSA, (const unsigned char *)"", 0, &st);
    ck_assert_msg(st == STS_EINVAL, "0 octets: got %s, want invalid", sts_status_word(st));
    sts_dns_answer_free(a);
}
END_TEST

/* A full certificate (usage 3 0 0) of 4 KiB is kept whole. */
START_TEST(test_tlsa_big)
{
    size_t len = 3 + 4096;
    unsigned char *rd = malloc(len);
    enum sts_status st;

    ck_assert_ptr_nonnull(rd);
    memcpy(rd, "\x03\x00\x00", 3);
    for (size_t i = 3; i < len; i++)
        rd[i] = (unsigned char)i;
    struct sts_dns_answer *a = parse_one(STS_DNS_TLSA, rd, len, &st);
    ck_assert_msg(st == STS_OK && a->tlsa[0].len == 4096 &&
                      memcmp(a->tlsa[0].data, rd + 3, 4096) == 0,
                  "got %s, want 4096 bytes of data", sts_status_word(st));
    sts_dns_answer_free(a);
    free(rd);
}
END_TEST

/* ------------------------------------------------------ the whole answer */

/* One malformed record fails the answer and frees what the good ones took. */
START_TEST(test_malformed_among_good)
{
    struct sts_dns_rdata txt[] = {{BYTES("\x02ok")}, {BYTES("\x02ok")}, {BYTES("\x03no")}};
    struct sts_dns_rdata tlsa[] = {{BYTES("\x03\x01\x01\xaa")}, {BYTES("\x03")}};
    struct sts_dns_rdata mx[] = {{BYTES("\x00\x01\x01"
                                        "a\x00")},
                                 {BYTES("\x00\x02\xc0\x00")}};
    struct sts_dns_answer *a;

    a = answer_new();
    ck_assert_int_eq(sts_dns_rdata_parse(STS_DNS_TXT, txt, 3, a), STS_EINVAL);
    assert_empty("txt", a);
    sts_dns_answer_free(a);
    a = answer_new();
    ck_assert_int_eq(sts_dns_rdata_parse(STS_DNS_TLSA, tlsa, 2, a), STS_EINVAL);
    assert_empty("tlsa", a);
    sts_dns_answer_free(a);
    a = answer_new();
    ck_assert_int_eq(sts_dns_rdata_parse(STS_DNS_MX, mx, 2, a), STS_EINVAL);
    assert_empty("mx", a);
    sts_dns_answer_free(a);
}
END_TEST

/* No records: nothing allocated; why is left alone unless records were capped. */
START_TEST(test_edges)
{
    struct sts_dns_answer *a = answer_new();
    struct sts_dns_rdata rr = {BYTES("\x01x")};

    ck_assert_int_eq(sts_dns_rdata_parse(STS_DNS_MX, NULL, 0, a), STS_OK);
    assert_empty("no_records", a);
    ck_assert_int_eq(sts_dns_rdata_parse((enum sts_dns_type)99, &rr, 1, a), STS_EINVAL);
    assert_empty("unknown_type", a);
    ck_assert_int_eq(sts_dns_rdata_parse((enum sts_dns_type)99, NULL, 0, a), STS_EINVAL);

    snprintf(a->why, sizeof(a->why), "%s", "earlier");
    ck_assert_int_eq(sts_dns_rdata_parse(STS_DNS_TXT, &rr, 1, a), STS_OK);
    ck_assert_msg(strcmp(a->why, "earlier") == 0, "got why \"%s\", want it untouched", a->why);
    sts_dns_answer_free(a);
    sts_dns_answer_free(NULL);
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq(sts_dns_result_name(STS_DNS_ANSWER), "answer");
    ck_assert_str_eq(sts_dns_result_name(STS_DNS_NODATA), "nodata");
    ck_assert_str_eq(sts_dns_result_name(STS_DNS_TIMEOUT), "timeout");
    ck_assert_str_eq(sts_dns_result_name((enum sts_dns_result)42), "error");
    ck_assert_str_eq(sts_dns_type_name(STS_DNS_TXT), "TXT");
    ck_assert_str_eq(sts_dns_type_name(STS_DNS_AAAA), "AAAA");
    ck_assert_str_eq(sts_dns_type_name(STS_DNS_TLSA), "TLSA");
    ck_assert_ptr_null(sts_dns_type_name((enum sts_dns_type)99));
}
END_TEST

static Suite *dns_rdata_suite(void)
{
    Suite *s = suite_create("dns_rdata");
    TCase *tc = tcase_create("core");

    tcase_add_loop_test(tc, test_txt, 0, (int)(sizeof(txt_cases) / sizeof(txt_cases[0])));
    tcase_add_test(tc, test_txt_max_string);
    tcase_add_test(tc, test_txt_byte_cap);
    tcase_add_test(tc, test_txt_record_cap);
    tcase_add_loop_test(tc, test_mx, 0, (int)(sizeof(mx_cases) / sizeof(mx_cases[0])));
    tcase_add_test(tc, test_mx_name_limits);
    tcase_add_test(tc, test_mx_sorted);
    tcase_add_test(tc, test_mx_record_cap);
    tcase_add_loop_test(tc, test_addr, 0, (int)(sizeof(addr_cases) / sizeof(addr_cases[0])));
    tcase_add_test(tc, test_addr_record_cap);
    tcase_add_test(tc, test_tlsa);
    tcase_add_test(tc, test_tlsa_big);
    tcase_add_test(tc, test_malformed_among_good);
    tcase_add_test(tc, test_edges);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(dns_rdata_suite());
}
