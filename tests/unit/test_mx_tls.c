/*
 * test_mx_tls.c - which TLSA records DANE for SMTP may use (RFC 7672
 * §3.1, milter/engine/dane.c: sts_dane_usable_records()).  Only DANE-TA(2) and
 * DANE-EE(3) are usable; PKIX-TA(0) and PKIX-EE(1) are not (§3.1.3);
 * selectors 0/1 and matching types 0/1/2 only, with digests of the
 * right length (SHA-256 32 bytes, SHA-512 64 bytes).  A host whose
 * secure TLSA RRset has no usable record is probed with the WebPKI, so
 * getting this wrong either fails good hosts or skips DANE.
 */
#include <check.h>
#include <string.h>

#include "mtasts/dane.h"
#include "unit_main.h"

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static unsigned char d32[32], d64[64], d100[100];

struct tlsa_case {
    const char *name;
    uint8_t usage, selector, mtype;
    unsigned char *data;
    size_t len;
    bool usable;
};

static const struct tlsa_case cases[] = {
    {"dane_ee_spki_sha256", 3, 1, 1, d32, 32, true},
    {"dane_ee_cert_sha512", 3, 0, 2, d64, 64, true},
    {"dane_ee_full", 3, 1, 0, d100, 100, true},
    {"dane_ta_cert_sha256", 2, 0, 1, d32, 32, true},
    {"pkix_ta", 0, 0, 1, d32, 32, false},
    {"pkix_ee", 1, 1, 1, d32, 32, false},
    {"usage_4", 4, 1, 1, d32, 32, false},
    {"selector_2", 3, 2, 1, d32, 32, false},
    {"mtype_3", 3, 1, 3, d32, 32, false},
    {"sha256_short", 3, 1, 1, d32, 31, false},
    {"sha256_long", 3, 1, 1, d64, 64, false},
    {"sha512_short", 3, 1, 2, d32, 32, false},
    {"full_empty", 3, 1, 0, d32, 0, false},
};

START_TEST(test_usable_one)
{
    const struct tlsa_case *c = &cases[_i];
    struct sts_dns_tlsa in = {c->usage, c->selector, c->mtype, c->len, c->data};
    struct sts_probe_tlsa out[1];
    size_t n = sts_dane_usable_records(&in, 1, out);

    ck_assert_msg(n == (c->usable ? 1u : 0u), "case %s: got %zu usable, want %d", c->name, n,
                  c->usable);
    if (n == 1)
        ck_assert_msg(out[0].usage == c->usage && out[0].selector == c->selector &&
                          out[0].mtype == c->mtype && out[0].len == c->len &&
                          out[0].data == c->data,
                      "case %s: record not copied as given", c->name);
}
END_TEST

/* A mixed RRset keeps the usable records, in order. */
START_TEST(test_usable_mixed)
{
    struct sts_dns_tlsa in[] = {
        {1, 1, 1, 32, d32}, {3, 1, 1, 32, d32}, {0, 0, 1, 32, d32}, {2, 0, 2, 64, d64}};
    struct sts_probe_tlsa out[4];

    ck_assert_uint_eq(sts_dane_usable_records(in, 4, out), 2);
    ck_assert_uint_eq(out[0].usage, 3);
    ck_assert_uint_eq(out[1].usage, 2);
    ck_assert_uint_eq(sts_dane_usable_records(in, 0, out), 0);
}
END_TEST

static Suite *mx_tls_suite(void)
{
    Suite *s = suite_create("mx_tls");
    TCase *tc = tcase_create("usable");

    tcase_add_loop_test(tc, test_usable_one, 0, NCASES(cases));
    tcase_add_test(tc, test_usable_mixed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(mx_tls_suite());
}
