/*
 * test_metrics.c - unit tests of the metric set and its renderings
 * (metrics.h): Prometheus text format 0.0.4 (HELP and TYPE before each
 * family; a histogram's _bucket lines cumulative, in order, ending with
 * le="+Inf" equal to _count; _sum in seconds), the JSON rendering, the
 * recorders' label words, out-of-range values counted nowhere, and
 * counters that do not reset when read (unbound's reset-on-read).
 *
 * The cells are process-wide, so each test reads a value before and
 * after its own increments and checks the difference.
 */
#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build-config.h"
#include "mtasts/metrics.h"
#include "unit_main.h"

/* The value of one series in a text rendering, or -1 when absent. */
static double text_value(const char *series)
{
    size_t len;
    char *t = sts_metrics_render(STS_METRICS_TEXT, &len);
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(strlen(t), len);
    double v = -1;
    size_t n = strlen(series);
    for (char *line = t; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (strncmp(line, series, n) == 0 && line[n] == ' ')
            v = strtod(line + n + 1, NULL);
        line = nl != NULL ? nl + 1 : NULL;
    }
    free(t);
    return v;
}

static double value0(const char *series)
{
    double v = text_value(series);
    return v < 0 ? 0 : v;
}

START_TEST(test_counters_move)
{
    const char *pass = "mtasts_rcpt_verdicts_total{mode=\"enforce\",action=\"pass\","
                       "would_fail=\"no\",reason=\"mx-match\"}";
    const char *fail = "mtasts_rcpt_verdicts_total{mode=\"audit\",action=\"pass\","
                       "would_fail=\"yes\",reason=\"certificate-expired\"}";
    double p0 = value0(pass), f0 = value0(fail);
    double c0 = value0("mtasts_rcpt_duration_seconds_count");
    sts_metrics_rcpt(STS_MILTER_ENFORCE, STS_ACTION_PASS, false, STS_REASON_MX_MATCH, 3e-6);
    sts_metrics_rcpt(STS_MILTER_ENFORCE, STS_ACTION_PASS, false, STS_REASON_MX_MATCH, 0.002);
    sts_metrics_rcpt(STS_MILTER_AUDIT, STS_ACTION_PASS, true, STS_REASON_CERT_EXPIRED, 20);
    ck_assert_msg(value0(pass) == p0 + 2, "pass: got %g, want %g", value0(pass), p0 + 2);
    ck_assert_msg(value0(fail) == f0 + 1, "fail: got %g, want %g", value0(fail), f0 + 1);
    ck_assert_msg(value0("mtasts_rcpt_duration_seconds_count") == c0 + 3, "count: got %g",
                  value0("mtasts_rcpt_duration_seconds_count"));
    /* read twice: nothing reset */
    ck_assert(value0(pass) == p0 + 2);

    double ok0 = value0("mtasts_dns_queries_total{type=\"tlsa\",result=\"ok\"}");
    double bogus0 = value0("mtasts_dns_queries_total{type=\"mx\",result=\"bogus\"}");
    sts_metrics_dns(STS_DNS_TLSA, STS_DNS_ANSWER, false);
    sts_metrics_dns(STS_DNS_MX, STS_DNS_SERVFAIL, true);
    sts_metrics_dns((enum sts_dns_type)99, STS_DNS_ANSWER, false); /* nowhere */
    ck_assert(value0("mtasts_dns_queries_total{type=\"tlsa\",result=\"ok\"}") == ok0 + 1);
    ck_assert(value0("mtasts_dns_queries_total{type=\"mx\",result=\"bogus\"}") == bogus0 + 1);

    const char *dane = "mtasts_socketmap_requests_total{answer=\"dane-only\"}";
    const char *pol = "mtasts_socketmap_requests_total{answer=\"policy\"}";
    const char *nf = "mtasts_socketmap_requests_total{answer=\"notfound\"}";
    double d0 = value0(dane), q0 = value0(pol), n0 = value0(nf);
    sts_metrics_socketmap(STS_POLICY_MAP_LOOKUP, STS_DANE_SUMMARY_ONLY, STS_LOOKUP_NO_POLICY, 0);
    sts_metrics_socketmap(STS_POLICY_MAP_LOOKUP, STS_DANE_SUMMARY_NONE, STS_LOOKUP_POLICY, 0);
    sts_metrics_socketmap(STS_POLICY_MAP_NOTFOUND, STS_DANE_SUMMARY_NONE, 0, 0);
    ck_assert(value0(dane) == d0 + 1 && value0(pol) == q0 + 1 && value0(nf) == n0 + 1);

    const char *st = "mtasts_store_ops_total{op=\"probe-touch\",result=\"notfound\"}";
    double s0 = value0(st);
    sts_metrics_store(STS_METRICS_STORE_PROBE_TOUCH, STS_ENOTFOUND);
    ck_assert(value0(st) == s0 + 1);

    const char *fe = "mtasts_front_entries{cache=\"tlsa\"}";
    double e0 = value0(fe);
    sts_metrics_front_add(STS_METRICS_FRONT_TLSA, 1);
    sts_metrics_front_add(STS_METRICS_FRONT_TLSA, 1);
    sts_metrics_front_add(STS_METRICS_FRONT_TLSA, -1);
    sts_metrics_front_add(STS_METRICS_FRONT_NONE, 1); /* nowhere */
    ck_assert_msg(value0(fe) == e0 + 1, "front: got %g, want %g", value0(fe), e0 + 1);
}
END_TEST

/* The histogram lines of one family: cumulative, +Inf last and equal to _count. */
START_TEST(test_histogram_shape)
{
    sts_metrics_fetch(STS_FETCH_OK, 0.07); /* le=0.1 */
    sts_metrics_fetch(STS_FETCH_TLS, 500); /* over every bound */
    sts_metrics_fetch(STS_FETCH_OK, -1);   /* a clock step: counted as 0 */
    char *t = sts_metrics_render(STS_METRICS_TEXT, NULL);
    ck_assert_ptr_nonnull(t);
    const char *fam = "mtasts_policy_fetch_duration_seconds";
    char *help = strstr(t, "# HELP mtasts_policy_fetch_duration_seconds ");
    char *type = strstr(t, "# TYPE mtasts_policy_fetch_duration_seconds histogram\n");
    ck_assert_msg(help != NULL && type != NULL && help < type, "HELP then TYPE");
    double prev = -1, inf = -1, count = -2, sum = -1;
    int buckets = 0;
    for (char *line = type; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        if (nl != NULL)
            *nl = '\0';
        char name[128];
        if (sscanf(line, "%127[^{ ]", name) == 1 && strncmp(name, fam, strlen(fam)) == 0) {
            char *sp = strrchr(line, ' ');
            ck_assert_ptr_nonnull(sp);
            double v = strtod(sp + 1, NULL);
            if (strcmp(name + strlen(fam), "_bucket") == 0) {
                ck_assert_msg(v >= prev, "buckets not cumulative at %.60s", line);
                prev = v;
                buckets++;
                if (strncmp(line + strlen(name), "{le=\"+Inf\"}", 11) == 0)
                    inf = v;
            } else if (strcmp(name + strlen(fam), "_sum") == 0) {
                sum = v;
            } else if (strcmp(name + strlen(fam), "_count") == 0) {
                count = v;
            }
        }
        line = nl != NULL ? nl + 1 : NULL;
    }
    free(t);
    ck_assert_int_eq(buckets, 12); /* 11 bounds and +Inf */
    ck_assert_msg(inf == count && count >= 3, "+Inf %g, count %g", inf, count);
    ck_assert_msg(sum >= 500.07, "sum %g", sum);
    ck_assert(value0("mtasts_policy_fetch_duration_seconds_bucket{le=\"0.1\"}") >= 2);
}
END_TEST

/* Every family has HELP and TYPE; every sample line names a family declared before it. */
START_TEST(test_text_format)
{
    char *t = sts_metrics_render(STS_METRICS_TEXT, NULL);
    ck_assert_ptr_nonnull(t);
    char family[128] = "";
    int families = 0;
    for (char *line = t; *line != '\0';) {
        char *nl = strchr(line, '\n');
        ck_assert_msg(nl != NULL, "the text ends with a newline");
        *nl = '\0';
        char name[128], kind[32];
        if (sscanf(line, "# TYPE %127s %31s", name, kind) == 2) {
            ck_assert_msg(strcmp(kind, "counter") == 0 || strcmp(kind, "gauge") == 0 ||
                              strcmp(kind, "histogram") == 0,
                          "type %s", kind);
            snprintf(family, sizeof(family), "%s", name);
            families++;
        } else if (line[0] != '#') {
            ck_assert_msg(strncmp(line, family, strlen(family)) == 0 && family[0] != '\0',
                          "sample %s outside its family %s", line, family);
            ck_assert_msg(strstr(line, "mtasts_") == line, "prefix: %s", line);
        }
        line = nl + 1;
    }
    free(t);
    ck_assert_int_ge(families, 15);
    ck_assert(value0("mtasts_build_info{version=\"" PACKAGE_VERSION "\"}") == 1);
}
END_TEST

START_TEST(test_json)
{
    sts_metrics_reload(true);
    sts_metrics_reload(false);
    char *j = sts_metrics_render(STS_METRICS_JSON, NULL);
    ck_assert_ptr_nonnull(j);
    json_object *o = json_tokener_parse(j);
    ck_assert_msg(o != NULL, "JSON does not parse: %.200s", j);
    json_object *fam, *samples, *type;
    ck_assert(json_object_object_get_ex(o, "mtasts_config_reloads_total", &fam));
    ck_assert(json_object_object_get_ex(fam, "type", &type));
    ck_assert_str_eq(json_object_get_string(type), "counter");
    ck_assert(json_object_object_get_ex(fam, "samples", &samples));
    ck_assert_int_eq(json_object_array_length(samples), 2);
    json_object *h, *hs;
    ck_assert(json_object_object_get_ex(o, "mtasts_rcpt_duration_seconds", &h));
    ck_assert(json_object_object_get_ex(h, "samples", &hs));
    json_object *b, *cnt, *s0 = json_object_array_get_idx(hs, 0);
    ck_assert(json_object_object_get_ex(s0, "buckets", &b));
    ck_assert(json_object_object_get_ex(s0, "count", &cnt));
    json_object *last = json_object_array_get_idx(b, json_object_array_length(b) - 1);
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(last, 0)), "+Inf");
    ck_assert_int_eq(json_object_get_int64(json_object_array_get_idx(last, 1)),
                     json_object_get_int64(cnt));
    json_object_put(o);
    free(j);
}
END_TEST

static Suite *metrics_suite(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("render");
    tcase_add_test(tc, test_counters_move);
    tcase_add_test(tc, test_histogram_shape);
    tcase_add_test(tc, test_text_format);
    tcase_add_test(tc, test_json);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(metrics_suite());
}
