/*
 * test_tlsrpt_report.c - unit tests of the RFC 8460 §4 report builder.
 *
 * Guards: the JSON of every fixture (tlsrpt_fixtures.c) equals its golden
 * file tests/unit/fixtures/tlsrpt_report/NAME.json byte for byte (key
 * order, policy-domain always present, mx-host an array per erratum 6241,
 * unknown fields omitted, never "" or null); the compact form sent is the
 * same JSON; report-id (msg-id form) and the §5.1 file name; the
 * 1000-row cap and the size cap (rows dropped, summaries kept, said in
 * the out flags); every malformed input refused with a reason; days.
 *
 * TLSRPT_UPDATE_GOLDEN=1 rewrites the golden files from the builder's
 * output instead of comparing: review the diff before committing it.
 */
#include <check.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/tlsrpt_report.h"
#include "tlsrpt_fixtures.h"
#include "unit_main.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p = NULL;
    long n;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (p = malloc((size_t)n + 1)) != NULL) {
        *len = fread(p, 1, (size_t)n, f);
        p[*len] = '\0';
    }
    fclose(f);
    return p;
}

static void golden_path(char *out, size_t outlen, const char *name)
{
    const char *srcdir = getenv("srcdir");
    snprintf(out, outlen, "%s/tests/unit/fixtures/tlsrpt_report/%s.json",
             srcdir != NULL ? srcdir : ".", name);
}

static struct sts_tlsrpt_limits fixture_limits(const struct tlsrpt_fixture *f, bool pretty)
{
    struct sts_tlsrpt_limits l = {.max_failure_rows = f->max_failure_rows, .pretty = pretty};
    return l;
}

START_TEST(test_golden)
{
    const struct tlsrpt_fixture *f = &tlsrpt_fixtures[_i];
    struct sts_tlsrpt_limits lim = fixture_limits(f, true);
    struct sts_tlsrpt_built b;
    char err[256] = "", path[4096];
    size_t glen = 0;

    enum sts_status st = sts_tlsrpt_report_build(&f->report, &lim, &b, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case %s: got %s (%s), want ok", f->name, sts_status_word(st), err);
    ck_assert_msg(b.rows_out == f->want_rows_out, "case %s: rows_out got %zu, want %zu", f->name,
                  b.rows_out, f->want_rows_out);
    ck_assert_msg(b.fields_omitted == f->want_fields_omitted,
                  "case %s: fields_omitted got %zu, want %zu", f->name, b.fields_omitted,
                  f->want_fields_omitted);
    ck_assert_msg(b.truncated == f->want_truncated, "case %s: truncated got %d, want %d", f->name,
                  b.truncated, f->want_truncated);
    golden_path(path, sizeof(path), f->name);
    if (getenv("TLSRPT_UPDATE_GOLDEN") != NULL) {
        FILE *o = fopen(path, "wb");
        ck_assert_msg(o != NULL, "cannot write %s", path);
        fprintf(o, "%s\n", b.json);
        fclose(o);
    }
    char *want = slurp(path, &glen);
    ck_assert_msg(want != NULL, "case %s: golden file %s missing", f->name, path);
    ck_assert_msg(glen == b.json_len + 1 && memcmp(want, b.json, b.json_len) == 0 &&
                      want[b.json_len] == '\n',
                  "case %s: JSON differs from %s; got:\n%s", f->name, path, b.json);
    free(want);

    /* the compact form (what is sent) is the same JSON value */
    struct sts_tlsrpt_built c;
    lim.pretty = false;
    ck_assert(sts_tlsrpt_report_build(&f->report, &lim, &c, err, sizeof(err)) == STS_OK);
    ck_assert_msg(strchr(c.json, '\n') == NULL, "case %s: compact JSON has a newline", f->name);
    json_object *a = json_tokener_parse(b.json), *z = json_tokener_parse(c.json);
    ck_assert_msg(a != NULL && z != NULL && json_object_equal(a, z),
                  "case %s: compact and pretty JSON differ", f->name);
    json_object_put(a);
    json_object_put(z);
    sts_tlsrpt_built_clear(&c);
    sts_tlsrpt_built_clear(&b);
}
END_TEST

/* RFC 8460 §5.1 file name and a msg-id report-id (Subject of §5.3). */
START_TEST(test_ids)
{
    const struct tlsrpt_fixture *f = tlsrpt_fixture_find("rfc8460-example");
    struct sts_tlsrpt_built b;
    char err[256];
    ck_assert(f != NULL);
    ck_assert(sts_tlsrpt_report_build(&f->report, NULL, &b, err, sizeof(err)) == STS_OK);
    ck_assert_str_eq(b.report_id, "20160401.company-y.example.1@company-x.example");
    ck_assert_str_eq(b.submitter, "company-x.example");
    /* 2016-04-01T00:00:00Z = 1459468800; the end is 23:59:59Z */
    ck_assert_str_eq(b.filename,
                     "company-x.example!company-y.example!1459468800!1459555199!1.json.gz");
    ck_assert_int_eq(b.begin, 1459468800);
    ck_assert_int_eq(b.end, 1459555199);
    sts_tlsrpt_built_clear(&b);

    /* the submitter is the contact's domain, lower-cased */
    f = tlsrpt_fixture_find("omitted-fields");
    ck_assert(sts_tlsrpt_report_build(&f->report, NULL, &b, err, sizeof(err)) == STS_OK);
    ck_assert_str_eq(b.report_id, "20240229.omit.example.7@mail.sender.example");
    ck_assert_str_eq(b.filename,
                     "mail.sender.example!omit.example!1709164800!1709251199!7.json.gz");
    sts_tlsrpt_built_clear(&b);
    sts_tlsrpt_built_clear(NULL); /* a no-op */
}
END_TEST

/* Many rows: the default cap keeps 1000, the summary every session. */
static struct sts_tlsrpt_failure *many_rows(size_t n, char (**ips)[40])
{
    struct sts_tlsrpt_failure *rows = calloc(n, sizeof(*rows));
    *ips = calloc(n, sizeof(**ips));
    ck_assert(rows != NULL && *ips != NULL);
    for (size_t i = 0; i < n; i++) {
        snprintf((*ips)[i], sizeof((*ips)[i]), "2001:db8::%zx", i + 1);
        rows[i] = (struct sts_tlsrpt_failure){.result = STS_TLSRPT_CERTIFICATE_EXPIRED,
                                              .receiving_mx_hostname = "mx.many.example",
                                              .receiving_ip = (*ips)[i],
                                              .failed_session_count = 2};
    }
    return rows;
}

static size_t detail_count(const char *json, int64_t *fail_total)
{
    json_object *o = json_tokener_parse(json), *pols, *p, *d, *s, *t;
    ck_assert(o != NULL);
    ck_assert(json_object_object_get_ex(o, "policies", &pols));
    p = json_object_array_get_idx(pols, 0);
    ck_assert(json_object_object_get_ex(p, "failure-details", &d));
    ck_assert(json_object_object_get_ex(p, "summary", &s));
    ck_assert(json_object_object_get_ex(s, "total-failure-session-count", &t));
    *fail_total = json_object_get_int64(t);
    size_t n = json_object_array_length(d);
    json_object_put(o);
    return n;
}

START_TEST(test_row_cap)
{
    size_t n = 1005;
    char(*ips)[40];
    struct sts_tlsrpt_failure *rows = many_rows(n, &ips);
    struct sts_tlsrpt_policy p = {.type = STS_TLSRPT_POLICY_TLSA,
                                  .domain = "mx.many.example",
                                  .success_count = 1,
                                  .failure_count = 2 * n + 5,
                                  .failures = rows,
                                  .nfailures = n};
    struct sts_tlsrpt_report r = {.organization_name = "o",
                                  .contact_info = "c@many.example",
                                  .day = "2026-08-02",
                                  .policy_domain = "many.example",
                                  .seq = 1,
                                  .policies = &p,
                                  .npolicies = 1};
    struct sts_tlsrpt_built b;
    char err[256];
    int64_t total = 0;

    ck_assert(sts_tlsrpt_report_build(&r, NULL, &b, err, sizeof(err)) == STS_OK);
    ck_assert_msg(b.rows_in == n && b.rows_out == STS_TLSRPT_MAX_FAILURE_ROWS && b.truncated,
                  "got rows_in %zu rows_out %zu truncated %d, want %zu %d 1", b.rows_in, b.rows_out,
                  b.truncated, n, STS_TLSRPT_MAX_FAILURE_ROWS);
    ck_assert_uint_eq(detail_count(b.json, &total), STS_TLSRPT_MAX_FAILURE_ROWS);
    ck_assert_int_eq(total, (int64_t)(2 * n + 5));
    size_t full = b.json_len;
    sts_tlsrpt_built_clear(&b);

    /* size cap: rows are halved until the text fits */
    struct sts_tlsrpt_limits lim = {.max_json_bytes = full / 3};
    ck_assert(sts_tlsrpt_report_build(&r, &lim, &b, err, sizeof(err)) == STS_OK);
    ck_assert_msg(b.json_len <= full / 3 && b.truncated && b.rows_out > 0 &&
                      b.rows_out <= STS_TLSRPT_MAX_FAILURE_ROWS / 4,
                  "size cap: got %zu bytes, %zu rows", b.json_len, b.rows_out);
    ck_assert_uint_eq(detail_count(b.json, &total), b.rows_out);
    ck_assert_int_eq(total, (int64_t)(2 * n + 5));
    sts_tlsrpt_built_clear(&b);

    /* too small even without rows */
    lim.max_json_bytes = 100;
    ck_assert(sts_tlsrpt_report_build(&r, &lim, &b, err, sizeof(err)) == STS_ETOOBIG);
    ck_assert(b.json == NULL);
    free(rows);
    free(ips);
}
END_TEST

/* ---- refusals ---- */

enum mutation {
    NO_ORG,
    ORG_NOT_UTF8,
    NO_CONTACT,
    CONTACT_NO_AT,
    CONTACT_TWO_DOTS,
    CONTACT_BAD_DOMAIN,
    CONTACT_SPACE,
    CONTACT_QUOTE_OPEN,
    CONTACT_CRLF,
    DAY_FEB_30,
    DAY_MONTH_13,
    DAY_1969,
    DAY_SHORT,
    DAY_NULL,
    NO_DOMAIN,
    DOMAIN_BAD,
    NO_POLICIES,
    POLICY_NO_DOMAIN,
    POLICY_BAD_TYPE,
    MX_ON_TLSA,
    MX_WITH_SPACE,
    STRING_NOT_UTF8,
    ROWS_OVER_TOTAL,
    BAD_RESULT,
    COUNT_TOO_BIG,
};

static const struct {
    enum mutation m;
    const char *name;
    const char *want_err; /* a substring of the reason */
} refusals[] = {
    {NO_ORG, "no_org", "organization-name"},
    {ORG_NOT_UTF8, "org_not_utf8", "organization-name"},
    {NO_CONTACT, "no_contact", "contact-info"},
    {CONTACT_NO_AT, "contact_no_at", "'@'"},
    {CONTACT_TWO_DOTS, "contact_two_dots", "dots"},
    {CONTACT_BAD_DOMAIN, "contact_bad_domain", "hyphen"},
    {CONTACT_SPACE, "contact_space", "local part"},
    {CONTACT_QUOTE_OPEN, "contact_quote_open", "quoted"},
    {CONTACT_CRLF, "contact_crlf", "invalid character"},
    {DAY_FEB_30, "day_feb_30", "not a date"},
    {DAY_MONTH_13, "day_month_13", "not a date"},
    {DAY_1969, "day_1969", "not a date"},
    {DAY_SHORT, "day_short", "YYYY-MM-DD"},
    {DAY_NULL, "day_null", "YYYY-MM-DD"},
    {NO_DOMAIN, "no_domain", "policy domain missing"},
    {DOMAIN_BAD, "domain_bad", "policy domain"},
    {NO_POLICIES, "no_policies", "at least one policy"},
    {POLICY_NO_DOMAIN, "policy_no_domain", "policy-domain missing"},
    {POLICY_BAD_TYPE, "policy_bad_type", "policy-type"},
    {MX_ON_TLSA, "mx_on_tlsa", "sts policies only"},
    {MX_WITH_SPACE, "mx_with_space", "A-label"},
    {STRING_NOT_UTF8, "string_not_utf8", "UTF-8"},
    {ROWS_OVER_TOTAL, "rows_over_total", "more sessions"},
    {BAD_RESULT, "bad_result", "result-type"},
    {COUNT_TOO_BIG, "count_too_big", "out of range"},
};

START_TEST(test_refusals)
{
    const char *strings[] = {"version: STSv1"}, *bad_strings[] = {"x\xc0\xaf"};
    const char *mx[] = {"mx.example"}, *bad_mx[] = {"mx .example"};
    struct sts_tlsrpt_failure row = {.result = STS_TLSRPT_CERTIFICATE_EXPIRED,
                                     .failed_session_count = 2};
    struct sts_tlsrpt_policy p = {.type = STS_TLSRPT_POLICY_STS,
                                  .strings = strings,
                                  .nstrings = 1,
                                  .domain = "example.com",
                                  .mx_hosts = mx,
                                  .nmx_hosts = 1,
                                  .success_count = 1,
                                  .failure_count = 2,
                                  .failures = &row,
                                  .nfailures = 1};
    struct sts_tlsrpt_report r = {.organization_name = "Org",
                                  .contact_info = "rpt@sender.example",
                                  .day = "2026-08-02",
                                  .policy_domain = "example.com",
                                  .seq = 1,
                                  .policies = &p,
                                  .npolicies = 1};
    struct sts_tlsrpt_built b;
    char err[256] = "";

    switch (refusals[_i].m) {
    case NO_ORG:
        r.organization_name = "";
        break;
    case ORG_NOT_UTF8:
        r.organization_name = "caf\xe9";
        break;
    case NO_CONTACT:
        r.contact_info = NULL;
        break;
    case CONTACT_NO_AT:
        r.contact_info = "rpt.sender.example";
        break;
    case CONTACT_TWO_DOTS:
        r.contact_info = "a..b@sender.example";
        break;
    case CONTACT_BAD_DOMAIN:
        r.contact_info = "a@-sender.example";
        break;
    case CONTACT_SPACE:
        r.contact_info = "a b@sender.example";
        break;
    case CONTACT_QUOTE_OPEN:
        r.contact_info = "\"ab@sender.example";
        break;
    case CONTACT_CRLF:
        r.contact_info = "a@sender.example\r\nBcc: x@y.example";
        break;
    case DAY_FEB_30:
        r.day = "2026-02-30";
        break;
    case DAY_MONTH_13:
        r.day = "2026-13-01";
        break;
    case DAY_1969:
        r.day = "1969-12-31";
        break;
    case DAY_SHORT:
        r.day = "2026-8-2";
        break;
    case DAY_NULL:
        r.day = NULL;
        break;
    case NO_DOMAIN:
        r.policy_domain = NULL;
        break;
    case DOMAIN_BAD:
        r.policy_domain = "exa mple.com";
        break;
    case NO_POLICIES:
        r.npolicies = 0;
        break;
    case POLICY_NO_DOMAIN:
        p.domain = "";
        break;
    case POLICY_BAD_TYPE:
        p.type = (enum sts_tlsrpt_policy_type)7;
        break;
    case MX_ON_TLSA:
        p.type = STS_TLSRPT_POLICY_TLSA;
        break;
    case MX_WITH_SPACE:
        p.mx_hosts = bad_mx;
        break;
    case STRING_NOT_UTF8:
        p.strings = bad_strings;
        break;
    case ROWS_OVER_TOTAL:
        p.failure_count = 1;
        break;
    case BAD_RESULT:
        row.result = (enum sts_tlsrpt_result)99;
        break;
    case COUNT_TOO_BIG:
        p.success_count = (uint64_t)INT64_MAX + 1;
        break;
    }
    enum sts_status st = sts_tlsrpt_report_build(&r, NULL, &b, err, sizeof(err));
    ck_assert_msg(st == STS_EINVAL, "case %s: got %s, want invalid", refusals[_i].name,
                  sts_status_word(st));
    ck_assert_msg(strstr(err, refusals[_i].want_err) != NULL, "case %s: reason \"%s\" lacks \"%s\"",
                  refusals[_i].name, err, refusals[_i].want_err);
    ck_assert(b.json == NULL);
}
END_TEST

START_TEST(test_addr)
{
    char dom[256];
    ck_assert(sts_tlsrpt_addr_check("a.b+c@EXAMPLE.Com", dom, sizeof(dom), NULL, 0) == STS_OK);
    ck_assert_str_eq(dom, "example.com");
    ck_assert(sts_tlsrpt_addr_check("\"john doe\"@example.com", dom, sizeof(dom), NULL, 0) ==
              STS_OK);
    ck_assert(sts_tlsrpt_addr_check("\"a\\\"b\"@example.com", NULL, 0, NULL, 0) == STS_OK);
    ck_assert(sts_tlsrpt_addr_check("a@example.com.", NULL, 0, NULL, 0) == STS_EINVAL);
    ck_assert(sts_tlsrpt_addr_check("@example.com", NULL, 0, NULL, 0) == STS_EINVAL);
    ck_assert(sts_tlsrpt_addr_check("a@", NULL, 0, NULL, 0) == STS_EINVAL);
    ck_assert(sts_tlsrpt_addr_check(".a@example.com", NULL, 0, NULL, 0) == STS_EINVAL);
    ck_assert(sts_tlsrpt_addr_check("a<b@example.com", NULL, 0, NULL, 0) == STS_EINVAL);
    ck_assert(sts_tlsrpt_addr_check("j\xc3\xb6rg@example.com", NULL, 0, NULL, 0) == STS_EINVAL);
}
END_TEST

START_TEST(test_names)
{
    enum sts_tlsrpt_result r;
    for (unsigned i = 0; i < STS_TLSRPT_RESULT_COUNT; i++) {
        const char *w = sts_tlsrpt_result_name((enum sts_tlsrpt_result)i);
        ck_assert_msg(sts_tlsrpt_result_parse(w, &r) && r == (enum sts_tlsrpt_result)i,
                      "result %u (%s) does not parse back", i, w);
    }
    ck_assert_str_eq(sts_tlsrpt_result_name(STS_TLSRPT_STS_POLICY_FETCH_ERROR),
                     "sts-policy-fetch-error");
    ck_assert_str_eq(sts_tlsrpt_result_name((enum sts_tlsrpt_result)50), "unknown");
    ck_assert(!sts_tlsrpt_result_parse("Certificate-Expired", &r));
    ck_assert(!sts_tlsrpt_result_parse(NULL, &r));
    ck_assert_str_eq(sts_tlsrpt_policy_type_name(STS_TLSRPT_POLICY_NO_POLICY), "no-policy-found");
    ck_assert_str_eq(sts_tlsrpt_policy_type_name(STS_TLSRPT_POLICY_TLSA), "tlsa");
    ck_assert_str_eq(sts_tlsrpt_policy_type_name((enum sts_tlsrpt_policy_type)3), "unknown");
}
END_TEST

START_TEST(test_days)
{
    static const struct {
        int64_t t;
        const char *day;
    } cases[] = {
        {0, "1970-01-01"},          {86399, "1970-01-01"},        {951782400, "2000-02-29"},
        {1709164800, "2024-02-29"}, {1785628800, "2026-08-02"},   {1798761599, "2026-12-31"},
        {4107542400, "2100-03-01"}, {253402214400, "9999-12-31"},
    };
    char day[STS_TLSRPT_DAY_LEN + 1];
    int64_t begin;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert(sts_tlsrpt_day_of(cases[i].t, day) == STS_OK);
        ck_assert_msg(strcmp(day, cases[i].day) == 0, "day_of(%" PRId64 "): got %s, want %s",
                      cases[i].t, day, cases[i].day);
        ck_assert(sts_tlsrpt_day_parse(day, &begin, NULL, 0) == STS_OK);
        ck_assert_msg(begin == cases[i].t - cases[i].t % 86400, "day_parse(%s): got %" PRId64, day,
                      begin);
    }
    ck_assert(sts_tlsrpt_day_of(-1, day) == STS_EINVAL);
    ck_assert(sts_tlsrpt_day_of(253402300800, day) == STS_EINVAL); /* 10000-01-01 */
    ck_assert(sts_tlsrpt_day_parse("2100-02-29", NULL, NULL, 0) == STS_EINVAL);
    ck_assert(sts_tlsrpt_day_parse("2000-02-29", NULL, NULL, 0) == STS_OK);
    ck_assert(sts_tlsrpt_day_parse("2026-08-02T", NULL, NULL, 0) == STS_EINVAL);
    ck_assert(sts_tlsrpt_day_parse("2026/08/02", NULL, NULL, 0) == STS_EINVAL);
}
END_TEST

static Suite *tlsrpt_report_suite(void)
{
    Suite *s = suite_create("tlsrpt_report");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_golden, 0, (int)tlsrpt_nfixtures);
    tcase_add_test(tc, test_ids);
    tcase_add_test(tc, test_row_cap);
    tcase_add_loop_test(tc, test_refusals, 0, (int)(sizeof(refusals) / sizeof(refusals[0])));
    tcase_add_test(tc, test_addr);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_days);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(tlsrpt_report_suite());
}
