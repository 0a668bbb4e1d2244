/*
 * test_tlsrpt_datagram.c - unit tests of the Postfix/libtlsrpt datagram
 * parser (tlsrpt_datagram.h), on fixtures of our own making under
 * tests/unit/fixtures/tlsrpt_datagram/ and on generated datagrams at the
 * caps.
 *
 * Guards the datagram protocol "1" as libtlsrpt 0.5.1 writes it and
 * tlsrpt-reporter 0.6.0 reads it (no specification exists; see the header
 * comment of tlsrpt_datagram.h): every key, the version check (missing:
 * warning; other: refused), int/string types (both meanings of "f"),
 * truncation, UTF-8 (RFC 8259 §8.1), the failure-code table (RFC 8460
 * §4.3 result types) and the caps.  Each row names what it guards.
 *
 * Table-driven: a failure reads "case NAME (GUARD): got X, want Y".
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/status.h"
#include "mtasts/tlsrpt_datagram.h"
#include "unit_main.h"

#define FIXTURE_DIR "/tests/unit/fixtures/tlsrpt_datagram/"

static char *read_fixture(const char *name, size_t *len)
{
    const char *top = getenv("srcdir");
    char path[1024];
    snprintf(path, sizeof(path), "%s" FIXTURE_DIR "%s", top != NULL ? top : "..", name);
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "fixture %s: cannot open %s (is srcdir set?)", name, path);
    size_t cap = 2 * STS_TLSRPT_DG_MAX;
    char *buf = malloc(cap);
    ck_assert_msg(buf != NULL, "fixture %s: out of memory", name);
    *len = fread(buf, 1, cap, f);
    fclose(f);
    return buf;
}

/* --- checks of the valid fixtures ------------------------------------ */

#define WANT_STR(name, got, want)                                                                  \
    ck_assert_msg((got) != NULL && strcmp((got), (want)) == 0,                                     \
                  "case %s: got %s \"%s\", want \"%s\"", (name), #got,                             \
                  (got) != NULL ? (got) : "(null)", (want))
#define WANT_NULL(name, got)                                                                       \
    ck_assert_msg((got) == NULL, "case %s: got %s \"%s\", want absent", (name), #got, (got))
#define WANT_NUM(name, got, want)                                                                  \
    ck_assert_msg((long long)(got) == (long long)(want), "case %s: got %s %lld, want %lld",        \
                  (name), #got, (long long)(got), (long long)(want))

static void check_libtlsrpt_sts(const struct sts_tlsrpt_datagram *dg, const char *name)
{
    WANT_NUM(name, dg->warnings, 0);
    WANT_STR(name, dg->domain, "company-y.example");
    WANT_STR(name, dg->record, "v=TLSRPTv1;rua=mailto:tlsrpt@company-y.example");
    ck_assert_msg(dg->policy_count >= 1, "case %s: got %zu policies, want >= 1", name,
                  dg->policy_count);
    const struct sts_tlsrpt_dg_policy *p = &dg->policies[0];
    WANT_NUM(name, p->type, STS_TLSRPT_DG_POLICY_STS);
    WANT_STR(name, p->domain, "company-y.example");
    WANT_NUM(name, p->string_count, 4);
    WANT_STR(name, p->strings[0], "version: STSv1");
    WANT_STR(name, p->strings[3], "max_age: 86400");
    WANT_NUM(name, p->mx_host_count, 2);
    WANT_STR(name, p->mx_hosts[1], "*.mail2.company-y.example");
    WANT_NUM(name, p->failure_count, 2);
    WANT_NUM(name, p->failed, 1);
    const struct sts_tlsrpt_dg_failure *f = &p->failures[0];
    WANT_NUM(name, f->code, 302);
    WANT_STR(name, f->result_type, "sts-policy-invalid");
    WANT_STR(name, f->sending_ip, "1.2.3.4");
    WANT_STR(name, f->mx_hostname, "mailin.example.com");
    WANT_STR(name, f->mx_helo, "test-ehlo.example.com");
    WANT_STR(name, f->receiving_ip, "11.22.33.44");
    WANT_STR(name, f->additional_info, "This is additional information");
    WANT_STR(name, f->failure_reason, "999 TEST ERROR");
    WANT_STR(name, p->failures[1].result_type, "sts-webpki-invalid");
    WANT_STR(name, p->failures[1].receiving_ip, "11.22.33.55");
}

static void check_libtlsrpt_none(const struct sts_tlsrpt_datagram *dg, const char *name)
{
    WANT_NUM(name, dg->policy_count, 1);
    WANT_NUM(name, dg->policies[0].type, STS_TLSRPT_DG_POLICY_NONE);
    WANT_NULL(name, dg->policies[0].domain);
    WANT_NUM(name, dg->policies[0].string_count, 0);
    WANT_NUM(name, dg->policies[0].mx_host_count, 0);
    WANT_NUM(name, dg->policies[0].failure_count, 0);
    WANT_NUM(name, dg->policies[0].failed, 0);
}

static void check_libtlsrpt_two(const struct sts_tlsrpt_datagram *dg, const char *name)
{
    check_libtlsrpt_sts(dg, name);
    WANT_NUM(name, dg->policy_count, 2);
    const struct sts_tlsrpt_dg_policy *p = &dg->policies[1];
    WANT_NUM(name, p->type, STS_TLSRPT_DG_POLICY_TLSA);
    WANT_STR(name, p->domain, "mx.company-y.example");
    WANT_NUM(name, p->string_count, 2);
    WANT_STR(name, p->strings[0],
             "3 0 1 1F850A337E6DB9C609C522D136A475638CC43E1ED424F8EEC8513D747D1D085D");
    WANT_NUM(name, p->mx_host_count, 0);
    WANT_NUM(name, p->failure_count, 1);
    WANT_STR(name, p->failures[0].result_type, "certificate-expired");
}

static void check_every_key(const struct sts_tlsrpt_datagram *dg, const char *name)
{
    WANT_NUM(name, dg->warnings, 0);
    WANT_STR(name, dg->domain, "example.com"); /* "Example.COM." normalised */
    WANT_STR(name, dg->record,
             "v=TLSRPTv1; rua=mailto:tlsrpt@example.com,https://r.example.com/tlsrpt");
    WANT_NUM(name, dg->policy_count, 1);
    const struct sts_tlsrpt_dg_policy *p = &dg->policies[0];
    WANT_NUM(name, p->type, STS_TLSRPT_DG_POLICY_STS);
    WANT_STR(name, p->domain, "example.com");
    WANT_NUM(name, p->string_count, 5);
    WANT_STR(name, p->strings[2], "mx: mx1.example.com");
    WANT_NUM(name, p->mx_host_count, 2);
    WANT_STR(name, p->mx_hosts[0], "mx1.example.com");
    WANT_STR(name, p->mx_hosts[1], "*.example.net");
    WANT_NUM(name, p->failed, 1); /* the policy's "f", an int */
    WANT_NUM(name, p->failure_count, 1);
    const struct sts_tlsrpt_dg_failure *f = &p->failures[0];
    WANT_NUM(name, f->code, 202);
    WANT_STR(name, f->result_type, "certificate-host-mismatch");
    WANT_STR(name, f->sending_ip, "192.0.2.10");
    WANT_STR(name, f->mx_hostname, "mx1.example.com");
    WANT_STR(name, f->mx_helo, "mx1.example.com ESMTP ready\r\nPIPELINING\r\nSTARTTLS");
    WANT_STR(name, f->receiving_ip, "2001:db8::25");
    WANT_STR(name, f->additional_info, "certificate names mx.other.example");
    WANT_STR(name, f->failure_reason, "x509-name-mismatch"); /* the detail's "f", a string */
}

static void check_no_dpv(const struct sts_tlsrpt_datagram *dg, const char *name)
{
    WANT_NUM(name, dg->warnings, STS_TLSRPT_DG_WARN_NO_DPV);
    WANT_STR(name, dg->domain, "example.com");
}

static void check_empty_optional(const struct sts_tlsrpt_datagram *dg, const char *name)
{
    const struct sts_tlsrpt_dg_failure *f = &dg->policies[0].failures[0];
    WANT_NULL(name, f->sending_ip);
    WANT_NULL(name, f->mx_helo);
    WANT_NULL(name, f->additional_info);
    WANT_NULL(name, f->failure_reason);
    WANT_STR(name, f->mx_hostname, "mx.example.com");
    WANT_STR(name, f->receiving_ip, "192.0.2.25");
    WANT_STR(name, f->result_type, "starttls-not-supported");
}

static void check_idn(const struct sts_tlsrpt_datagram *dg, const char *name)
{
    WANT_STR(name, dg->domain, "xn--bcher-kva.example");
    WANT_STR(name, dg->policies[0].domain, "xn--bcher-kva.example");
    WANT_STR(name, dg->policies[0].mx_hosts[0], "*.xn--bcher-kva.example");
}

static void check_all_codes(const struct sts_tlsrpt_datagram *dg, const char *name)
{
    static const char *const words[] = {"starttls-not-supported",
                                        "certificate-host-mismatch",
                                        "certificate-not-trusted",
                                        "certificate-expired",
                                        "validation-failure",
                                        "sts-policy-fetch-error",
                                        "sts-policy-invalid",
                                        "sts-webpki-invalid",
                                        "tlsa-invalid",
                                        "dnssec-invalid",
                                        "dane-required"};
    const struct sts_tlsrpt_dg_policy *p = &dg->policies[0];
    WANT_NUM(name, p->failure_count, 11);
    for (size_t i = 0; i < 11; i++)
        WANT_STR(name, p->failures[i].result_type, words[i]);
}

static void check_escapes(const struct sts_tlsrpt_datagram *dg, const char *name)
{
    WANT_STR(name, dg->policies[0].failures[0].additional_info,
             "quote \" backslash \\ slash / tab \t e-acute \xc3\xa9 euro \xe2\x82\xac smile "
             "\xf0\x9f\x98\x80");
}

static void check_backslash_u(const struct sts_tlsrpt_datagram *dg, const char *name)
{
    WANT_STR(name, dg->policies[0].failures[0].additional_info, "literal \\ud800 is not an escape");
}

static void check_mx_ip(const struct sts_tlsrpt_datagram *dg, const char *name)
{
    WANT_STR(name, dg->policies[0].failures[0].mx_hostname, "192.0.2.25");
}

struct dg_case {
    const char *file;
    const char *guards;
    enum sts_status want;
    enum sts_tlsrpt_dg_reason reason;
    const char *want_err; /* substring of err when refused */
    void (*check)(const struct sts_tlsrpt_datagram *, const char *);
};

#define OK(file, guards, fn)                                                                       \
    {                                                                                              \
        file, guards, STS_OK, STS_TLSRPT_DG_OK, NULL, fn                                           \
    }
#define NO(file, guards, st, r, err)                                                               \
    {                                                                                              \
        file, guards, st, r, err, NULL                                                             \
    }
#define INV STS_EINVAL

static const struct dg_case dg_cases[] = {
    OK("valid-libtlsrpt-sts-failure.json", "libtlsrpt example 3 bytes", check_libtlsrpt_sts),
    OK("valid-libtlsrpt-no-policy-success.json", "libtlsrpt example 1 bytes", check_libtlsrpt_none),
    OK("valid-libtlsrpt-two-policies.json", "libtlsrpt example 5 bytes", check_libtlsrpt_two),
    OK("valid-every-key.json", "every key; unknown keys ignored; both meanings of f",
       check_every_key),
    OK("valid-no-dpv.json", "dpv missing: accepted with a warning", check_no_dpv),
    OK("valid-empty-optional-fields.json", "\"\" in an optional detail field is absent",
       check_empty_optional),
    OK("valid-idn-trailing-newline.json", "names normalised; trailing white space (RFC 8259 2)",
       check_idn),
    OK("valid-all-codes.json", "codes 201-205, 301-306 to RFC 8460 4.3 result types",
       check_all_codes),
    OK("valid-escapes.json", "JSON escapes decoded (RFC 8259 7)", check_escapes),
    OK("valid-escaped-backslash-u.json", "an escaped backslash before u is no escape",
       check_backslash_u),
    OK("valid-mx-ip-literal.json", "n may be an IP address", check_mx_ip),

    NO("invalid-dpv-2.json", "dpv other than \"1\" refused", INV, STS_TLSRPT_DG_BAD_VERSION,
       "dpv: version \"2\""),
    NO("invalid-dpv-1.0.json", "dpv other than \"1\" refused", INV, STS_TLSRPT_DG_BAD_VERSION,
       "dpv"),
    NO("invalid-dpv-int.json", "dpv is a string", INV, STS_TLSRPT_DG_WRONG_TYPE,
       "dpv: want a string, got int"),
    NO("invalid-truncated.json", "truncated JSON", INV, STS_TLSRPT_DG_TRUNCATED, "ends early"),
    NO("invalid-truncated-last-brace.json", "truncated JSON", INV, STS_TLSRPT_DG_TRUNCATED,
       "ends early"),
    NO("invalid-empty.json", "empty datagram", INV, STS_TLSRPT_DG_TRUNCATED, "empty"),
    NO("invalid-whitespace-only.json", "no JSON object", INV, STS_TLSRPT_DG_TRUNCATED, NULL),
    NO("invalid-trailing-data.json", "one object per datagram", INV, STS_TLSRPT_DG_TRAILING_DATA,
       "data after the JSON object"),
    NO("invalid-two-objects.json", "one object per datagram", INV, STS_TLSRPT_DG_TRAILING_DATA,
       NULL),
    NO("invalid-not-utf8.json", "RFC 8259 8.1 (UTF-8)", INV, STS_TLSRPT_DG_NOT_UTF8,
       "invalid UTF-8 or NUL at byte 61"),
    NO("invalid-overlong-utf8.json", "RFC 3629 3 (overlong forms)", INV, STS_TLSRPT_DG_NOT_UTF8,
       NULL),
    NO("invalid-raw-surrogate.json", "RFC 3629 3 (surrogates)", INV, STS_TLSRPT_DG_NOT_UTF8, NULL),
    NO("invalid-raw-nul.json", "no NUL", INV, STS_TLSRPT_DG_NOT_UTF8, NULL),
    NO("invalid-escaped-nul.json", "no NUL, also escaped", INV, STS_TLSRPT_DG_NOT_UTF8,
       "pr: invalid UTF-8 or NUL at byte 26"),
    NO("invalid-lone-surrogate.json", "RFC 8259 8.2 (unpaired surrogate)", INV,
       STS_TLSRPT_DG_NOT_UTF8, "unpaired surrogate escape at byte 61"),
    NO("invalid-lone-low-surrogate.json", "RFC 8259 8.2 (unpaired surrogate)", INV,
       STS_TLSRPT_DG_NOT_UTF8, "unpaired surrogate"),
    NO("invalid-reversed-surrogates.json", "RFC 8259 8.2 (low before high)", INV,
       STS_TLSRPT_DG_NOT_UTF8, "unpaired surrogate"),
    NO("invalid-control-char.json", "no control bytes in pr", INV, STS_TLSRPT_DG_BAD_VALUE,
       "pr: control byte 0x07"),
    NO("invalid-policy-type-string.json", "policy-type is an int", INV, STS_TLSRPT_DG_WRONG_TYPE,
       "policies[0].policy-type: want an integer, got string"),
    NO("invalid-policy-type-float.json", "policy-type is an int", INV, STS_TLSRPT_DG_WRONG_TYPE,
       "got double"),
    NO("invalid-policy-type-7.json", "policy types 1, 2, 9", INV, STS_TLSRPT_DG_BAD_VALUE,
       "7 is not 1, 2 or 9"),
    NO("invalid-code-string.json", "c is an int", INV, STS_TLSRPT_DG_WRONG_TYPE,
       "policies[0].failure-details[0].c: want an integer"),
    NO("invalid-code-unknown.json", "code table", INV, STS_TLSRPT_DG_UNKNOWN_CODE,
       "999 is not a known failure code"),
    NO("invalid-code-internal-901.json", "901 is libtlsrpt-internal", INV,
       STS_TLSRPT_DG_UNKNOWN_CODE, "901"),
    NO("invalid-code-missing.json", "c required", INV, STS_TLSRPT_DG_MISSING_KEY,
       "failure-details[0].c: missing"),
    NO("invalid-t-mismatch.json", "t = number of details", INV, STS_TLSRPT_DG_COUNT_MISMATCH,
       "policies[0].t: 2, but 1 failure details"),
    NO("invalid-t-missing.json", "t required", INV, STS_TLSRPT_DG_MISSING_KEY, "policies[0].t"),
    NO("invalid-t-string.json", "t is an int", INV, STS_TLSRPT_DG_WRONG_TYPE, "policies[0].t"),
    NO("invalid-f-policy-string.json", "policy f is an int", INV, STS_TLSRPT_DG_WRONG_TYPE,
       "policies[0].f: want an integer, got string"),
    NO("invalid-f-policy-bool.json", "policy f is an int", INV, STS_TLSRPT_DG_WRONG_TYPE,
       "got boolean"),
    NO("invalid-f-policy-2.json", "policy f is 0 or 1", INV, STS_TLSRPT_DG_BAD_VALUE,
       "2 is not 0 or 1"),
    NO("invalid-f-policy-missing.json", "policy f required", INV, STS_TLSRPT_DG_MISSING_KEY,
       "policies[0].f: missing"),
    NO("invalid-f-detail-int.json", "detail f is a string", INV, STS_TLSRPT_DG_WRONG_TYPE,
       "failure-details[0].f: want a string, got int"),
    NO("invalid-s-int.json", "s is a string", INV, STS_TLSRPT_DG_WRONG_TYPE, ".s: want a string"),
    NO("invalid-s-not-ip.json", "s is an IP address", INV, STS_TLSRPT_DG_BAD_VALUE,
       "s: not an IP address"),
    NO("invalid-d-missing.json", "d required", INV, STS_TLSRPT_DG_MISSING_KEY, "d: missing"),
    NO("invalid-d-null.json", "d required", INV, STS_TLSRPT_DG_MISSING_KEY, "d: missing"),
    NO("invalid-d-bad.json", "d is a domain (RFC 5321 4.1.2)", INV, STS_TLSRPT_DG_BAD_VALUE,
       "d: invalid name"),
    NO("invalid-pr-missing.json", "pr required", INV, STS_TLSRPT_DG_MISSING_KEY, "pr: missing"),
    NO("invalid-policies-missing.json", "policies required", INV, STS_TLSRPT_DG_MISSING_KEY,
       "policies: missing"),
    NO("invalid-policies-empty.json", "libtlsrpt sends >= 1 policy", INV, STS_TLSRPT_DG_BAD_VALUE,
       "policies: empty"),
    NO("invalid-policies-object.json", "policies is an array", INV, STS_TLSRPT_DG_WRONG_TYPE,
       "policies: want an array, got object"),
    NO("invalid-policy-not-object.json", "a policy is an object", INV, STS_TLSRPT_DG_WRONG_TYPE,
       "policies[0]: want an object"),
    NO("invalid-policy-string-not-array.json", "policy-string is an array", INV,
       STS_TLSRPT_DG_WRONG_TYPE, "policy-string: want an array"),
    NO("invalid-policy-string-int-item.json", "policy-string holds strings", INV,
       STS_TLSRPT_DG_WRONG_TYPE, "policy-string[1]: want a string, got int"),
    NO("invalid-mx-host-bad-pattern.json", "mx-host are mx patterns (RFC 8461 4.1)", INV,
       STS_TLSRPT_DG_BAD_VALUE, "mx-host[0]: invalid mx pattern"),
    NO("invalid-not-object.json", "one JSON object", INV, STS_TLSRPT_DG_WRONG_TYPE,
       "not a JSON object"),
    NO("invalid-single-quotes.json", "strict JSON (RFC 8259)", INV, STS_TLSRPT_DG_BAD_JSON,
       "JSON error"),
    NO("invalid-trailing-comma.json", "strict JSON (RFC 8259)", INV, STS_TLSRPT_DG_BAD_JSON,
       "JSON error"),
    NO("invalid-too-deep.json", "nesting cap", INV, STS_TLSRPT_DG_BAD_JSON, "deeper than 16"),
};

static void run_bytes(const char *name, const char *guards, const char *buf, size_t len,
                      enum sts_status want, enum sts_tlsrpt_dg_reason want_reason,
                      const char *want_err,
                      void (*check)(const struct sts_tlsrpt_datagram *, const char *))
{
    struct sts_tlsrpt_datagram *dg = NULL;
    enum sts_tlsrpt_dg_reason reason = STS_TLSRPT_DG_NO_MEMORY;
    char err[256] = "";
    enum sts_status st = sts_tlsrpt_datagram_parse(buf, len, &dg, &reason, err, sizeof(err));

    ck_assert_msg(st == want && reason == want_reason,
                  "case %s (%s): got %s/%s, want %s/%s (err: %s)", name, guards,
                  sts_status_word(st), sts_tlsrpt_dg_reason_name(reason), sts_status_word(want),
                  sts_tlsrpt_dg_reason_name(want_reason), err);
    if (st != STS_OK) {
        ck_assert_msg(dg == NULL, "case %s (%s): got a datagram on failure", name, guards);
        ck_assert_msg(err[0] != '\0', "case %s (%s): got an empty reason", name, guards);
        if (want_err != NULL)
            ck_assert_msg(strstr(err, want_err) != NULL,
                          "case %s (%s): got \"%s\", want it to contain \"%s\"", name, guards, err,
                          want_err);
        return;
    }
    if (check != NULL)
        check(dg, name);
    sts_tlsrpt_datagram_free(dg);
}

START_TEST(test_fixture)
{
    const struct dg_case *c = &dg_cases[_i];
    size_t len;
    char *buf = read_fixture(c->file, &len);
    run_bytes(c->file, c->guards, buf, len, c->want, c->reason, c->want_err, c->check);
    free(buf);
}
END_TEST

/* --- generated datagrams at the caps --------------------------------- */

/* A growable buffer for generated JSON. */
struct gen {
    char *p;
    size_t len, cap;
};

static void gen_add(struct gen *g, const char *s)
{
    size_t n = strlen(s);
    if (g->len + n + 1 > g->cap) {
        g->cap = (g->len + n + 1) * 2;
        g->p = realloc(g->p, g->cap);
        ck_assert_msg(g->p != NULL, "out of memory");
    }
    memcpy(g->p + g->len, s, n + 1);
    g->len += n;
}

static void gen_repeat(struct gen *g, char c, size_t n)
{
    char chunk[2] = {c, '\0'};
    for (size_t i = 0; i < n; i++)
        gen_add(g, chunk);
}

#define HEAD "{\"dpv\":\"1\",\"d\":\"example.com\",\"pr\":\"v=TLSRPTv1;rua=mailto:a@example.com\""
#define POL9 "{\"policy-type\":9,\"t\":0,\"f\":0}"

/* n policies. */
static void gen_policies(struct gen *g, size_t n)
{
    gen_add(g, HEAD ",\"policies\":[");
    for (size_t i = 0; i < n; i++)
        gen_add(g, i ? "," POL9 : POL9);
    gen_add(g, "]}");
}

/* One policy with n failure details. */
static void gen_details(struct gen *g, size_t n)
{
    char t[64];
    gen_add(g, HEAD ",\"policies\":[{\"policy-type\":9,\"failure-details\":[");
    for (size_t i = 0; i < n; i++)
        gen_add(g, i ? ",{\"c\":201}" : "{\"c\":201}");
    snprintf(t, sizeof(t), "],\"t\":%zu,\"f\":1}]}", n);
    gen_add(g, t);
}

/* One detail whose "h" is n bytes. */
static void gen_helo(struct gen *g, size_t n)
{
    gen_add(g, HEAD ",\"policies\":[{\"policy-type\":9,\"failure-details\":[{\"c\":201,\"h\":\"");
    gen_repeat(g, 'h', n);
    gen_add(g, "\"}],\"t\":1,\"f\":1}]}");
}

/* A "pr" of n bytes. */
static void gen_record(struct gen *g, size_t n)
{
    gen_add(g, "{\"dpv\":\"1\",\"d\":\"example.com\",\"pr\":\"");
    gen_repeat(g, 'r', n);
    gen_add(g, "\",\"policies\":[" POL9 "]}");
}

/* One sts policy with n policy strings of len bytes each. */
static void gen_strings(struct gen *g, size_t n, size_t len)
{
    gen_add(g, HEAD ",\"policies\":[{\"policy-type\":2,\"policy-string\":[");
    for (size_t i = 0; i < n; i++) {
        gen_add(g, i ? ",\"" : "\"");
        gen_repeat(g, 's', len);
        gen_add(g, "\"");
    }
    gen_add(g, "],\"t\":0,\"f\":0}]}");
}

/* A valid datagram padded with spaces to exactly n bytes. */
static void gen_padded(struct gen *g, size_t n)
{
    gen_policies(g, 1);
    gen_repeat(g, ' ', n - g->len);
}

struct cap_case {
    const char *name;
    void (*gen)(struct gen *, size_t);
    size_t arg;
    enum sts_status want;
    enum sts_tlsrpt_dg_reason reason;
};

static void gen_strings_count(struct gen *g, size_t n)
{
    gen_strings(g, n, 10);
}

static void gen_strings_len(struct gen *g, size_t len)
{
    gen_strings(g, 1, len);
}

static const struct cap_case cap_cases[] = {
    {"size_at_cap", gen_padded, STS_TLSRPT_DG_MAX, STS_OK, STS_TLSRPT_DG_OK},
    {"size_over_cap", gen_padded, STS_TLSRPT_DG_MAX + 1, STS_ETOOBIG, STS_TLSRPT_DG_TOO_BIG},
    {"size_1MiB", gen_padded, 1048576, STS_ETOOBIG, STS_TLSRPT_DG_TOO_BIG},
    {"policies_at_cap", gen_policies, STS_TLSRPT_DG_POLICIES_MAX, STS_OK, STS_TLSRPT_DG_OK},
    {"policies_over_cap", gen_policies, STS_TLSRPT_DG_POLICIES_MAX + 1, STS_ETOOBIG,
     STS_TLSRPT_DG_TOO_MANY},
    {"details_at_cap", gen_details, STS_TLSRPT_DG_DETAILS_MAX, STS_OK, STS_TLSRPT_DG_OK},
    {"details_over_cap", gen_details, STS_TLSRPT_DG_DETAILS_MAX + 1, STS_ETOOBIG,
     STS_TLSRPT_DG_TOO_MANY},
    {"helo_at_cap", gen_helo, STS_TLSRPT_DG_TEXT_MAX, STS_OK, STS_TLSRPT_DG_OK},
    {"helo_over_cap", gen_helo, STS_TLSRPT_DG_TEXT_MAX + 1, STS_ETOOBIG, STS_TLSRPT_DG_LONG_STRING},
    {"record_at_cap", gen_record, STS_TLSRPT_DG_RECORD_MAX, STS_OK, STS_TLSRPT_DG_OK},
    {"record_over_cap", gen_record, STS_TLSRPT_DG_RECORD_MAX + 1, STS_ETOOBIG,
     STS_TLSRPT_DG_LONG_STRING},
    {"strings_at_cap", gen_strings_count, STS_TLSRPT_DG_STRINGS_MAX, STS_OK, STS_TLSRPT_DG_OK},
    {"strings_over_cap", gen_strings_count, STS_TLSRPT_DG_STRINGS_MAX + 1, STS_ETOOBIG,
     STS_TLSRPT_DG_TOO_MANY},
    {"string_len_at_cap", gen_strings_len, STS_TLSRPT_DG_STRING_MAX, STS_OK, STS_TLSRPT_DG_OK},
    {"string_len_over_cap", gen_strings_len, STS_TLSRPT_DG_STRING_MAX + 1, STS_ETOOBIG,
     STS_TLSRPT_DG_LONG_STRING},
};

START_TEST(test_caps)
{
    const struct cap_case *c = &cap_cases[_i];
    struct gen g = {0};
    c->gen(&g, c->arg);
    run_bytes(c->name, "tlsrpt_datagram.h caps", g.p, g.len, c->want, c->reason, NULL, NULL);
    free(g.p);
}
END_TEST

/* Bytes past len are not read: a datagram is (pointer, length). */
START_TEST(test_honours_len)
{
    static const char buf[] = HEAD ",\"policies\":[" POL9 "]}garbage";
    run_bytes("honours_len", "(pointer, length)", buf, strlen(buf) - strlen("garbage"), STS_OK,
              STS_TLSRPT_DG_OK, NULL, NULL);
}
END_TEST

/* out == NULL validates only; reason may be NULL; free(NULL) is a no-op. */
START_TEST(test_null_out)
{
    static const char buf[] = HEAD ",\"policies\":[" POL9 "]}";
    char err[64] = "";
    enum sts_tlsrpt_dg_reason reason = STS_TLSRPT_DG_NO_MEMORY;
    enum sts_status st = sts_tlsrpt_datagram_parse(buf, strlen(buf), NULL, &reason, err, 0);
    ck_assert_msg(st == STS_OK && reason == STS_TLSRPT_DG_OK, "case null_out: got %s/%s, want ok",
                  sts_status_word(st), sts_tlsrpt_dg_reason_name(reason));
    st = sts_tlsrpt_datagram_parse(buf, 3, NULL, NULL, err, sizeof(err));
    ck_assert_msg(st == STS_EINVAL, "case null_reason: got %s, want invalid", sts_status_word(st));
    st = sts_tlsrpt_datagram_parse(NULL, 0, NULL, &reason, err, sizeof(err));
    ck_assert_msg(st == STS_EINVAL, "case null_data: got %s, want invalid", sts_status_word(st));
    sts_tlsrpt_datagram_free(NULL);
}
END_TEST

/* RFC 8460 §4.3 result-type words of the libtlsrpt failure codes. */
static const struct {
    int code;
    const char *word; /* NULL: not a failure code */
} code_cases[] = {
    {201, "starttls-not-supported"},
    {202, "certificate-host-mismatch"},
    {203, "certificate-not-trusted"},
    {204, "certificate-expired"},
    {205, "validation-failure"},
    {301, "sts-policy-fetch-error"},
    {302, "sts-policy-invalid"},
    {303, "sts-webpki-invalid"},
    {304, "tlsa-invalid"},
    {305, "dnssec-invalid"},
    {306, "dane-required"},
    {0, NULL},
    {200, NULL},
    {206, NULL},
    {300, NULL},
    {307, NULL},
    {901, NULL},
    {-201, NULL},
};

START_TEST(test_result_type)
{
    const char *got = sts_tlsrpt_dg_result_type(code_cases[_i].code);
    const char *want = code_cases[_i].word;
    ck_assert_msg((got == NULL && want == NULL) || (got && want && strcmp(got, want) == 0),
                  "case code %d (RFC 8460 4.3): got \"%s\", want \"%s\"", code_cases[_i].code,
                  got ? got : "(null)", want ? want : "(null)");
}
END_TEST

/* The words are stable: they go to logs and counters. */
START_TEST(test_names)
{
    ck_assert_str_eq(sts_tlsrpt_dg_policy_type_name(STS_TLSRPT_DG_POLICY_TLSA), "tlsa");
    ck_assert_str_eq(sts_tlsrpt_dg_policy_type_name(STS_TLSRPT_DG_POLICY_STS), "sts");
    ck_assert_str_eq(sts_tlsrpt_dg_policy_type_name(STS_TLSRPT_DG_POLICY_NONE), "no-policy-found");
    ck_assert_str_eq(sts_tlsrpt_dg_policy_type_name((enum sts_tlsrpt_dg_policy_type)3), "unknown");
    ck_assert_str_eq(sts_tlsrpt_dg_reason_name(STS_TLSRPT_DG_OK), "ok");
    ck_assert_str_eq(sts_tlsrpt_dg_reason_name(STS_TLSRPT_DG_UNKNOWN_CODE), "unknown-failure-code");
    ck_assert_str_eq(sts_tlsrpt_dg_reason_name(STS_TLSRPT_DG_NO_MEMORY), "no-memory");
    ck_assert_str_eq(sts_tlsrpt_dg_reason_name(STS_TLSRPT_DG_REASON_COUNT), "unknown");
    for (int r = 0; r < STS_TLSRPT_DG_REASON_COUNT; r++)
        ck_assert_msg(sts_tlsrpt_dg_reason_name((enum sts_tlsrpt_dg_reason)r) != NULL,
                      "case reason %d: got no name, want one", r);
}
END_TEST

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *tlsrpt_datagram_suite(void)
{
    Suite *s = suite_create("tlsrpt_datagram");
    TCase *tc = tcase_create("tlsrpt_datagram");

    tcase_add_loop_test(tc, test_fixture, 0, NCASES(dg_cases));
    tcase_add_loop_test(tc, test_caps, 0, NCASES(cap_cases));
    tcase_add_test(tc, test_honours_len);
    tcase_add_test(tc, test_null_out);
    tcase_add_loop_test(tc, test_result_type, 0, NCASES(code_cases));
    tcase_add_test(tc, test_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(tlsrpt_datagram_suite());
}
