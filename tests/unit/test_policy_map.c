/*
 * test_policy_map.c - unit tests of the socketmap's answers.
 *
 * Guards RFC 8461 §5 as delivered to the MTA through Postfix
 * smtp_tls_policy_maps / Sendmail's sts map (issue 6): an enforce policy
 * becomes "OK secure match=... servername=hostname" with "*.d" written
 * ".d" (Postfix match syntax), testing/none/no policy "NOTFOUND ", DNS
 * failure with nothing cached "TEMP", keys that are not domains
 * ([host]:port, IP literals, ".parent") "NOTFOUND ", malformed requests
 * "PERM"; the TLSRPT attributes only behind their switch; the DANE hook
 * (RFC 8461 §2: DANE wins).  With the destination decision
 * (destination.h, issue 13): override skip "NOTFOUND ", a bogus MX RRset
 * "TEMP dnssec-invalid" (RFC 7672 §2.1.1), DANE-governed hosts "OK
 * dane-only"/"OK dane", the forced-TLS levels as Postfix names them
 * (dane -> "dane-only", secure -> "secure match=...", verify -> "verify
 * match=hostname", encrypt -> "encrypt protocols=>=TLSv1.2"), each above
 * the published MTA-STS policy.
 *
 * Table-driven: each row is one TAP test point; a failure reads
 * "case NAME: got X, want Y".
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/policy_map.h"
#include "unit_main.h"

#define STR(s) (s), (sizeof(s) - 1)

struct parse_case {
    const char *name;
    const char *req;
    size_t len;
    enum sts_policy_map_key want;
    const char *want_domain; /* LOOKUP: the normalised domain; else the reason */
};

static const struct parse_case parse_cases[] = {
    {"domain", STR("postfix good.test"), STS_POLICY_MAP_LOOKUP, "good.test"},
    {"sendmail_name", STR("sts good.test"), STS_POLICY_MAP_LOOKUP, "good.test"},
    {"upper_case", STR("postfix GOOD.Test"), STS_POLICY_MAP_LOOKUP, "good.test"},
    {"trailing_dot", STR("postfix good.test."), STS_POLICY_MAP_LOOKUP, "good.test"},
    {"idn",
     STR("postfix b\xc3\xbc"
         "cher.test"),
     STS_POLICY_MAP_LOOKUP, "xn--bcher-kva.test"},
    {"bracket_port", STR("postfix [mx.good.test]:25"), STS_POLICY_MAP_NOTFOUND, "not-a-domain"},
    {"bracket", STR("postfix [mx.good.test]"), STS_POLICY_MAP_NOTFOUND, "not-a-domain"},
    {"host_port", STR("postfix mx.good.test:587"), STS_POLICY_MAP_NOTFOUND, "not-a-domain"},
    {"parent", STR("postfix .good.test"), STS_POLICY_MAP_NOTFOUND, "not-a-domain"},
    {"ipv4", STR("postfix 192.0.2.1"), STS_POLICY_MAP_NOTFOUND, "ip-literal"},
    /* found by tests/fuzz/fuzz_policy_map: the trailing dot hid the address */
    {"ipv4_trailing_dot", STR("postfix 192.0.2.1."), STS_POLICY_MAP_NOTFOUND, "ip-literal"},
    {"ipv6", STR("postfix 2001:db8::1"), STS_POLICY_MAP_NOTFOUND, "not-a-domain"},
    {"ipv6_bracket", STR("postfix [ipv6:2001:db8::1]"), STS_POLICY_MAP_NOTFOUND, "not-a-domain"},
    {"single_label", STR("postfix localhost"), STS_POLICY_MAP_NOTFOUND, "single-label"},
    {"bad_chars", STR("postfix exa_mple.test"), STS_POLICY_MAP_NOTFOUND, "not-a-domain"},
    {"space_in_key", STR("postfix a b.test"), STS_POLICY_MAP_NOTFOUND, "not-a-domain"},
    {"too_long",
     STR("postfix "
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test"),
     STS_POLICY_MAP_NOTFOUND, "not-a-domain"},
    {"no_space", STR("good.test"), STS_POLICY_MAP_PERM, "malformed-request"},
    {"leading_space", STR(" good.test"), STS_POLICY_MAP_PERM, "malformed-request"},
    {"empty", STR(""), STS_POLICY_MAP_PERM, "malformed-request"},
    {"empty_key", STR("postfix "), STS_POLICY_MAP_PERM, "empty-key"},
    {"nul", STR("postfix good\0.test"), STS_POLICY_MAP_PERM, "nul-in-request"},
};

START_TEST(test_parse)
{
    const struct parse_case *tc = &parse_cases[_i];
    char domain[STS_DOMAIN_MAX + 1] = "", reason[64] = "";
    enum sts_policy_map_key got =
        sts_policy_map_parse(tc->req, tc->len, domain, sizeof(domain), reason, sizeof(reason));
    ck_assert_msg(got == tc->want, "case %s: got kind %d, want %d (reason %s)", tc->name, got,
                  tc->want, reason);
    const char *what = got == STS_POLICY_MAP_LOOKUP ? domain : reason;
    ck_assert_msg(strcmp(what, tc->want_domain) == 0, "case %s: got \"%s\", want \"%s\"", tc->name,
                  what, tc->want_domain);
}
END_TEST

static char *mx_good[] = {"mx1.good.test"};
static char *mx_two[] = {"mx1.example.test", "*.example.net"};
static char *mx_dup[] = {"mx1.example.test", "*.example.net", "mx1.example.test"};
static const struct sts_policy p_enforce = {STS_MODE_ENFORCE, 86400, 1, mx_good};
static const struct sts_policy p_two = {STS_MODE_ENFORCE, 86400, 2, mx_two};
static const struct sts_policy p_dup = {STS_MODE_ENFORCE, 86400, 3, mx_dup};
static const struct sts_policy p_testing = {STS_MODE_TESTING, 86400, 1, mx_good};
static const struct sts_policy p_none = {STS_MODE_NONE, 86400, 0, NULL};

struct reply_case {
    const char *name;
    enum sts_lookup_outcome outcome;
    const struct sts_policy *policy;
    enum sts_lookup_reason reason;
    enum sts_fetch_result fetch;
    bool tlsrpt, strict;
    enum sts_dane_summary dane;
    const char *want;
};

static const struct reply_case reply_cases[] = {
    {"enforce", STS_LOOKUP_POLICY, &p_enforce, STS_LOOKUP_REASON_NONE, STS_FETCH_OK, false, false,
     0, "OK secure match=mx1.good.test servername=hostname"},
    {"enforce_wildcard", STS_LOOKUP_POLICY, &p_two, STS_LOOKUP_REASON_NONE, STS_FETCH_OK, false,
     false, 0, "OK secure match=mx1.example.test:.example.net servername=hostname"},
    {"enforce_duplicates", STS_LOOKUP_POLICY, &p_dup, STS_LOOKUP_REASON_NONE, STS_FETCH_OK, false,
     false, 0, "OK secure match=mx1.example.test:.example.net servername=hostname"},
    {"enforce_tlsrpt", STS_LOOKUP_POLICY, &p_two, STS_LOOKUP_REASON_NONE, STS_FETCH_OK, true, false,
     0,
     "OK secure match=mx1.example.test:.example.net servername=hostname policy_type=sts "
     "policy_domain=example.test mx_host_pattern=mx1.example.test "
     "mx_host_pattern=*.example.net"},
    {"testing", STS_LOOKUP_POLICY, &p_testing, STS_LOOKUP_REASON_NONE, STS_FETCH_OK, false, false,
     0, "NOTFOUND "},
    {"testing_tlsrpt", STS_LOOKUP_POLICY, &p_testing, STS_LOOKUP_REASON_NONE, STS_FETCH_OK, true,
     false, 0, "NOTFOUND "},
    {"testing_strict", STS_LOOKUP_POLICY, &p_testing, STS_LOOKUP_REASON_NONE, STS_FETCH_OK, false,
     true, 0, "OK secure match=mx1.good.test servername=hostname"},
    {"none", STS_LOOKUP_POLICY, &p_none, STS_LOOKUP_REASON_NONE, STS_FETCH_OK, false, true, 0,
     "NOTFOUND "},
    {"no_policy", STS_LOOKUP_NO_POLICY, NULL, STS_LOOKUP_REASON_NO_INDICATOR, STS_FETCH_OK, false,
     false, 0, "NOTFOUND "},
    {"fetch_failed", STS_LOOKUP_NO_POLICY, NULL, STS_LOOKUP_REASON_FETCH_FAILED, STS_FETCH_TLS,
     false, false, 0, "NOTFOUND "},
    {"dns_failure", STS_LOOKUP_TEMPFAIL, NULL, STS_LOOKUP_REASON_DNS_SERVFAIL, STS_FETCH_OK, false,
     false, 0, "TEMP dns-failure dns-servfail"},
    {"dns_failure_no_reason", STS_LOOKUP_TEMPFAIL, NULL, STS_LOOKUP_REASON_NONE, STS_FETCH_OK,
     false, false, 0, "TEMP dns-failure"},
    {"pending", STS_LOOKUP_PENDING, NULL, STS_LOOKUP_REASON_NONE, STS_FETCH_OK, false, false, 0,
     "TEMP discovery-pending"},
    {"error", STS_LOOKUP_ERROR, NULL, STS_LOOKUP_REASON_OUT_OF_MEMORY, STS_FETCH_OK, false, false,
     0, "TEMP internal-error out-of-memory"},
    {"dane_only_wins", STS_LOOKUP_POLICY, &p_enforce, STS_LOOKUP_REASON_NONE, STS_FETCH_OK, false,
     false, STS_DANE_SUMMARY_ONLY, "OK dane-only"},
    {"dane_none_sts", STS_LOOKUP_POLICY, &p_enforce, STS_LOOKUP_REASON_NONE, STS_FETCH_OK, false,
     false, STS_DANE_SUMMARY_NONE, "OK secure match=mx1.good.test servername=hostname"},
};

START_TEST(test_reply)
{
    const struct reply_case *tc = &reply_cases[_i];
    struct sts_policy_map_options opts = {.tlsrpt = tc->tlsrpt, .strict_testing = tc->strict};
    const char *domain = tc->policy == &p_two ? "example.test" : "good.test";
    struct sts_policy_map_input in = {.domain = domain,
                                      .outcome = tc->outcome,
                                      .policy = tc->policy,
                                      .reason = tc->reason,
                                      .fetch = tc->fetch,
                                      .dane = tc->dane};
    char out[512];
    size_t n = sts_policy_map_reply(&opts, &in, out, sizeof(out));
    ck_assert_msg(strcmp(out, tc->want) == 0, "case %s: got \"%s\", want \"%s\"", tc->name, out,
                  tc->want);
    ck_assert_msg(n == strlen(tc->want), "case %s: got length %zu, want %zu", tc->name, n,
                  strlen(tc->want));
}
END_TEST

/* The destination decision (destination.h) decides before MTA-STS. */
struct dest_case {
    const char *name;
    enum sts_override_kind override;
    bool mx_bogus;
    enum sts_dane_state dane1, dane2; /* of mx1, mx2 */
    const char *want;
};

static const char *const dest_patterns[] = {"mx1.example.test", "*.example.net",
                                            "mx1.example.test"};

static const struct dest_case dest_cases[] = {
    {"none_sts", STS_OVERRIDE_NONE, false, STS_DANE_NONE, STS_DANE_NONE,
     "OK secure match=mx1.good.test servername=hostname"},
    {"skip", STS_OVERRIDE_SKIP, false, STS_DANE_USABLE, STS_DANE_USABLE, "NOTFOUND "},
    {"bogus_mx", STS_OVERRIDE_NONE, true, STS_DANE_NONE, STS_DANE_NONE, "TEMP dnssec-invalid"},
    {"bogus_mx_beats_encrypt", STS_OVERRIDE_ENCRYPT, true, STS_DANE_NONE, STS_DANE_NONE,
     "TEMP dnssec-invalid"},
    {"dane_all", STS_OVERRIDE_NONE, false, STS_DANE_USABLE, STS_DANE_BOGUS, "OK dane-only"},
    {"dane_some", STS_OVERRIDE_NONE, false, STS_DANE_USABLE, STS_DANE_NONE, "OK dane"},
    {"dane_unusable_is_sts", STS_OVERRIDE_NONE, false, STS_DANE_UNUSABLE, STS_DANE_NONE,
     "OK secure match=mx1.good.test servername=hostname"},
    {"override_dane", STS_OVERRIDE_DANE, false, STS_DANE_NONE, STS_DANE_NONE, "OK dane-only"},
    {"override_secure", STS_OVERRIDE_ENFORCE, false, STS_DANE_NONE, STS_DANE_NONE,
     "OK secure match=mx1.example.test:.example.net servername=hostname"},
    {"override_verify", STS_OVERRIDE_VERIFY, false, STS_DANE_NONE, STS_DANE_NONE,
     "OK verify match=hostname"},
    {"override_encrypt", STS_OVERRIDE_ENCRYPT, false, STS_DANE_NONE, STS_DANE_NONE,
     "OK encrypt protocols=>=TLSv1.2"},
    {"dane_beats_verify", STS_OVERRIDE_VERIFY, false, STS_DANE_USABLE, STS_DANE_USABLE,
     "OK dane-only"},
};

START_TEST(test_reply_destination)
{
    const struct dest_case *tc = &dest_cases[_i];
    const char *mx[] = {"mx1.good.test", "mx2.good.test"};
    enum sts_dane_state dane[] = {tc->dane1, tc->dane2};
    struct sts_destination_input di = {
        .override = tc->override,
        .patterns = tc->override == STS_OVERRIDE_ENFORCE ? dest_patterns : NULL,
        .npatterns = tc->override == STS_OVERRIDE_ENFORCE ? 3 : 0,
        .mx_bogus = tc->mx_bogus,
        .mx_dnssec = tc->mx_bogus ? STS_DNSSEC_BOGUS : STS_DNSSEC_SECURE,
        .mx = mx,
        .mx_count = 2,
        .dane = dane,
    };
    struct sts_destination d;
    sts_destination_decide(&di, &d);
    struct sts_policy_map_options opts = {0};
    struct sts_policy_map_input in = {.domain = "good.test",
                                      .outcome = STS_LOOKUP_POLICY,
                                      .policy = &p_enforce,
                                      .dest = &d,
                                      .patterns = di.patterns,
                                      .npatterns = di.npatterns};
    char out[512];
    size_t n = sts_policy_map_reply(&opts, &in, out, sizeof(out));
    ck_assert_msg(strcmp(out, tc->want) == 0, "case %s: got \"%s\", want \"%s\"", tc->name, out,
                  tc->want);
    ck_assert_msg(n == strlen(tc->want), "case %s: got length %zu", tc->name, n);
}
END_TEST

/* A reply that does not fit the buffer (or 100000 bytes) fails closed. */
START_TEST(test_reply_too_long)
{
    struct sts_policy_map_options opts = {0};
    struct sts_policy_map_input in = {
        .domain = "example.test", .outcome = STS_LOOKUP_POLICY, .policy = &p_two};
    char out[40];
    size_t n = sts_policy_map_reply(&opts, &in, out, sizeof(out));
    ck_assert_msg(strcmp(out, "PERM reply-too-long") == 0, "got \"%s\", want PERM", out);
    ck_assert(n == strlen(out));
}
END_TEST

START_TEST(test_perm)
{
    char out[64];
    size_t n = sts_policy_map_perm("malformed-netstring", out, sizeof(out));
    ck_assert_msg(strcmp(out, "PERM malformed-netstring") == 0, "got \"%s\"", out);
    ck_assert(n == strlen(out));
    /* reasons are sanitised: no blank or control byte reaches the reply */
    n = sts_policy_map_perm("a b\nc", out, sizeof(out));
    ck_assert_msg(strcmp(out, "PERM a_b_c") == 0, "got \"%s\", want \"PERM a_b_c\"", out);
    ck_assert(n == strlen(out));
}
END_TEST

static Suite *policy_map_suite(void)
{
    Suite *s = suite_create("policy_map");
    TCase *tc = tcase_create("map");
    tcase_add_loop_test(tc, test_parse, 0, sizeof(parse_cases) / sizeof(parse_cases[0]));
    tcase_add_loop_test(tc, test_reply, 0, sizeof(reply_cases) / sizeof(reply_cases[0]));
    tcase_add_loop_test(tc, test_reply_destination, 0, sizeof(dest_cases) / sizeof(dest_cases[0]));
    tcase_add_test(tc, test_reply_too_long);
    tcase_add_test(tc, test_perm);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(policy_map_suite());
}
