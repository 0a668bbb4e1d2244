/*
 * test_vocab.c - the shared words (milter/core/vocab.c): every enum value
 * has its stable word, and the words the store keeps parse back to the
 * value they came from (a negative row's reason, a probe row's result).
 */
#include <string.h>

#include "mtasts/vocab.h"
#include "unit_main.h"

START_TEST(test_reason_roundtrip)
{
    char buf[64];
    for (unsigned r = 0; r < STS_LOOKUP_REASON_COUNT; r++) {
        for (unsigned f = STS_FETCH_OK; f <= STS_FETCH_ERROR; f++) {
            if (r != STS_LOOKUP_REASON_FETCH_FAILED && f != STS_FETCH_OK)
                continue;
            sts_lookup_reason_format((enum sts_lookup_reason)r, (enum sts_fetch_result)f, buf,
                                     sizeof(buf));
            enum sts_lookup_reason gr;
            enum sts_fetch_result gf;
            ck_assert_msg(sts_lookup_reason_parse(buf, &gr, &gf), "\"%s\" does not parse", buf);
            ck_assert_msg(gr == r && gf == f, "\"%s\": got %u/%u, want %u/%u", buf, gr, gf, r, f);
        }
    }
    sts_lookup_reason_format(STS_LOOKUP_REASON_FETCH_FAILED, STS_FETCH_TLS, buf, sizeof(buf));
    ck_assert_str_eq(buf, "fetch-failed:tls");
    enum sts_lookup_reason gr;
    ck_assert(!sts_lookup_reason_parse("fetch-failed", &gr, NULL));      /* needs its result */
    ck_assert(!sts_lookup_reason_parse("fetch-failed:nope", &gr, NULL)); /* unknown result */
    ck_assert(!sts_lookup_reason_parse("no-indicator:x", &gr, NULL));    /* no qualifier */
    ck_assert(!sts_lookup_reason_parse("whatever", &gr, NULL));
    ck_assert(!sts_lookup_reason_parse(NULL, &gr, NULL));
}
END_TEST

START_TEST(test_tls_result_words)
{
    for (unsigned r = 0; r < STS_TLS_RESULT_COUNT; r++) {
        enum sts_tls_result got;
        const char *w = sts_tls_result_name((enum sts_tls_result)r);
        ck_assert_msg(sts_tls_result_parse(w, &got) && got == r, "%s does not round-trip", w);
    }
    ck_assert_str_eq(sts_tls_result_name(STS_TLS_CERT_EXPIRED), "certificate-expired");
    ck_assert_str_eq(sts_tls_result_name((enum sts_tls_result)99), "unknown");
    ck_assert(!sts_tls_result_is_failure(STS_TLS_PASS));
    ck_assert(!sts_tls_result_is_failure(STS_TLS_UNREACHABLE));
    ck_assert(sts_tls_result_is_failure(STS_TLS_DANE_REQUIRED));
}
END_TEST

START_TEST(test_names)
{
    ck_assert_str_eq(sts_milter_mode_name(STS_MILTER_ENFORCE), "enforce");
    ck_assert_str_eq(sts_milter_mode_name(STS_MILTER_AUDIT), "audit");
    ck_assert_str_eq(sts_action_name(STS_ACTION_PASS), "pass");
    ck_assert_str_eq(sts_action_name(STS_ACTION_TEMPFAIL), "tempfail");
    ck_assert_str_eq(sts_override_kind_name(STS_OVERRIDE_DANE), "dane");
    ck_assert_str_eq(sts_override_kind_name((enum sts_override_kind)42), "none");
    ck_assert_str_eq(sts_dnssec_name(STS_DNSSEC_BOGUS), "bogus");
    ck_assert_str_eq(sts_dane_state_name(STS_DANE_UNUSABLE), "unusable");
    ck_assert_str_eq(sts_dane_summary_name(STS_DANE_SUMMARY_ONLY), "dane-only");
    ck_assert_str_eq(sts_lookup_outcome_name(STS_LOOKUP_PENDING), "pending");
    ck_assert_str_eq(sts_lookup_source_name(STS_SOURCE_STORE), "store");
    ck_assert_str_eq(sts_fetch_result_name(STS_FETCH_MEDIA_TYPE), "media-type");
}
END_TEST

static Suite *vocab_suite(void)
{
    Suite *s = suite_create("vocab");
    TCase *tc = tcase_create("vocab");
    tcase_add_test(tc, test_reason_roundtrip);
    tcase_add_test(tc, test_tls_result_words);
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(vocab_suite());
}
