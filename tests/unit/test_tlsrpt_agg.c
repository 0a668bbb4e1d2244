/*
 * test_tlsrpt_agg.c - unit tests of the TLS-RPT aggregation and of the
 * report assembled from its rows.
 *
 * Guards RFC 8460 §4: one report per UTC day and policy domain, sessions
 * counted per policy (policy-type, policy-string, mx-host) with the
 * successful and failed totals, equal failures merged into one
 * failure-details row with its failed-session-count, and the total failure
 * count never below the sum of the details (§4.4).  Also the bounds of
 * tlsrpt_agg.h: the row cap drops counts (never more than max_rows held),
 * peer text is cut, several threads count at once without losing a
 * session.
 */
#include <check.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/tlsrpt_agg.h"
#include "mtasts/tlsrpt_assemble.h"
#include "unit_main.h"

#define T0 1785715200 /* 2026-08-03T00:00:00Z */
#define STS_LINES "version: STSv1\nmode: enforce\nmx: mx1.example.com\nmax_age: 86400"

static struct sts_tlsrpt_session ok_session(const char *domain, int64_t when)
{
    return (struct sts_tlsrpt_session){.when = when,
                                       .type = STS_TLSRPT_POLICY_STS,
                                       .policy_domain = domain,
                                       .policy_strings = STS_LINES,
                                       .mx_hosts = "mx1.example.com",
                                       .success = true};
}

static struct sts_tlsrpt_session fail_session(const char *domain, int64_t when,
                                              enum sts_tlsrpt_result r, const char *ip)
{
    struct sts_tlsrpt_session s = ok_session(domain, when);
    s.success = false;
    s.result = r;
    s.sending_mta_ip = "192.0.2.1";
    s.receiving_mx_hostname = "mx1.example.com";
    s.receiving_ip = ip;
    return s;
}

static const struct sts_tlsrpt_row *find_row(const struct sts_tlsrpt_batch *b, const char *day,
                                             const char *domain, bool detail, const char *ip)
{
    for (size_t i = 0; i < b->count; i++) {
        const struct sts_tlsrpt_row *r = &b->rows[i];
        if (strcmp(r->day, day) == 0 && strcmp(r->policy_domain, domain) == 0 &&
            r->detail == detail && (ip == NULL || strcmp(r->receiving_ip, ip) == 0))
            return r;
    }
    return NULL;
}

START_TEST(test_day)
{
    char day[STS_TLSRPT_DAY_LEN + 1];
    ck_assert(sts_tlsrpt_day(T0, day));
    ck_assert_str_eq(day, "2026-08-03");
    ck_assert(sts_tlsrpt_day(T0 - 1, day));
    ck_assert_str_eq(day, "2026-08-02");
    ck_assert(sts_tlsrpt_day(0, day));
    ck_assert_str_eq(day, "1970-01-01");
    ck_assert(!sts_tlsrpt_day(-1, day));
    ck_assert(!sts_tlsrpt_day(253402300800LL, day));
}
END_TEST

/* Sessions of one day merge; another day or domain is its own row. */
START_TEST(test_merge)
{
    struct sts_tlsrpt_agg *a = sts_tlsrpt_agg_new(0);
    ck_assert_ptr_nonnull(a);
    for (int i = 0; i < 5; i++) {
        struct sts_tlsrpt_session s = ok_session("example.com", T0 + i * 3600);
        ck_assert_int_eq(sts_tlsrpt_agg_add(a, &s), STS_OK);
    }
    struct sts_tlsrpt_session f =
        fail_session("example.com", T0 + 10, STS_TLSRPT_CERTIFICATE_EXPIRED, "192.0.2.25");
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &f), STS_OK);
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &f), STS_OK);
    f.receiving_ip = "192.0.2.26";
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &f), STS_OK);
    struct sts_tlsrpt_session y = ok_session("example.com", T0 - 1);
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &y), STS_OK);
    struct sts_tlsrpt_session o = ok_session("example.org", T0);
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &o), STS_OK);
    ck_assert_uint_eq(sts_tlsrpt_agg_rows(a), 5);

    struct sts_tlsrpt_batch b = {0};
    ck_assert_int_eq(sts_tlsrpt_agg_drain(a, &b), STS_OK);
    ck_assert_uint_eq(b.count, 5);
    ck_assert_uint_eq(sts_tlsrpt_agg_rows(a), 0);
    const struct sts_tlsrpt_row *p = find_row(&b, "2026-08-03", "example.com", false, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->ok, 5);
    ck_assert_uint_eq(p->fail, 3);
    ck_assert_str_eq(p->policy_strings, STS_LINES);
    const struct sts_tlsrpt_row *d = find_row(&b, "2026-08-03", "example.com", true, "192.0.2.25");
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d->count, 2);
    ck_assert_int_eq(d->result, STS_TLSRPT_CERTIFICATE_EXPIRED);
    d = find_row(&b, "2026-08-03", "example.com", true, "192.0.2.26");
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d->count, 1);
    p = find_row(&b, "2026-08-02", "example.com", false, NULL);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(p->ok, 1);
    ck_assert_ptr_nonnull(find_row(&b, "2026-08-03", "example.org", false, NULL));

    /* drained means empty: a second drain adds nothing */
    size_t before = b.count;
    ck_assert_int_eq(sts_tlsrpt_agg_drain(a, &b), STS_OK);
    ck_assert_uint_eq(b.count, before);
    sts_tlsrpt_batch_clear(&b);
    sts_tlsrpt_agg_free(a);
}
END_TEST

START_TEST(test_invalid)
{
    struct sts_tlsrpt_agg *a = sts_tlsrpt_agg_new(0);
    struct sts_tlsrpt_session s = ok_session("", T0);
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &s), STS_EINVAL);
    s = ok_session("example.com", -5);
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &s), STS_EINVAL);
    s = fail_session("example.com", T0, (enum sts_tlsrpt_result)STS_TLSRPT_RESULT_COUNT, "x");
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &s), STS_EINVAL);
    s = ok_session("example.com", T0);
    s.type = (enum sts_tlsrpt_policy_type)7;
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &s), STS_EINVAL);
    ck_assert_uint_eq(sts_tlsrpt_agg_rows(a), 0);
    sts_tlsrpt_agg_free(a);
}
END_TEST

/* The row cap: never more rows than max_rows; failures beyond it still
 * count in their policy row; new policies are dropped and counted. */
START_TEST(test_cap)
{
    struct sts_tlsrpt_agg *a = sts_tlsrpt_agg_new(3);
    char ip[32];
    for (int i = 0; i < 10; i++) {
        snprintf(ip, sizeof(ip), "192.0.2.%d", i);
        struct sts_tlsrpt_session f =
            fail_session("example.com", T0, STS_TLSRPT_STARTTLS_NOT_SUPPORTED, ip);
        enum sts_status st = sts_tlsrpt_agg_add(a, &f);
        ck_assert_int_eq(st, i < 2 ? STS_OK : STS_ETOOBIG);
    }
    ck_assert_uint_eq(sts_tlsrpt_agg_rows(a), 3);
    struct sts_tlsrpt_session o = ok_session("example.org", T0);
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &o), STS_ETOOBIG);
    ck_assert_uint_eq(sts_tlsrpt_agg_dropped(a), 1);

    struct sts_tlsrpt_batch b = {0};
    ck_assert_int_eq(sts_tlsrpt_agg_drain(a, &b), STS_OK);
    ck_assert_uint_eq(b.count, 3);
    const struct sts_tlsrpt_row *p = find_row(&b, "2026-08-03", "example.com", false, NULL);
    ck_assert_uint_eq(p->fail, 10);
    /* after a drain there is room again */
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &o), STS_OK);
    sts_tlsrpt_batch_clear(&b);
    sts_tlsrpt_agg_free(a);
}
END_TEST

/* A HELO longer than STS_TLSRPT_TEXT_MAX is cut; two that differ only
 * past the cut merge. */
START_TEST(test_text_cut)
{
    struct sts_tlsrpt_agg *a = sts_tlsrpt_agg_new(0);
    size_t n = STS_TLSRPT_TEXT_MAX + 100;
    char *helo = malloc(n + 1);
    memset(helo, 'h', n);
    helo[n] = '\0';
    struct sts_tlsrpt_session f =
        fail_session("example.com", T0, STS_TLSRPT_VALIDATION_FAILURE, "192.0.2.9");
    f.receiving_mx_helo = helo;
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &f), STS_OK);
    helo[n - 1] = 'x';
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &f), STS_OK);
    struct sts_tlsrpt_batch b = {0};
    sts_tlsrpt_agg_drain(a, &b);
    ck_assert_uint_eq(b.count, 2);
    const struct sts_tlsrpt_row *d = find_row(&b, "2026-08-03", "example.com", true, NULL);
    ck_assert_uint_eq(strlen(d->receiving_mx_helo), STS_TLSRPT_TEXT_MAX);
    ck_assert_uint_eq(d->count, 2);
    free(helo);
    sts_tlsrpt_batch_clear(&b);
    sts_tlsrpt_agg_free(a);
}
END_TEST

/* A session with several details (a Postfix datagram): the first counts the
 * session, DETAIL_ONLY adds a detail only, NO_DETAIL a failure without one. */
START_TEST(test_flags)
{
    struct sts_tlsrpt_agg *a = sts_tlsrpt_agg_new(0);
    struct sts_tlsrpt_session f =
        fail_session("example.com", T0, STS_TLSRPT_CERTIFICATE_EXPIRED, "192.0.2.1");
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &f), STS_OK);
    f.result = STS_TLSRPT_CERTIFICATE_HOST_MISMATCH;
    f.flags = STS_TLSRPT_SESSION_DETAIL_ONLY;
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &f), STS_OK);
    f.flags = STS_TLSRPT_SESSION_NO_DETAIL;
    ck_assert_int_eq(sts_tlsrpt_agg_add(a, &f), STS_OK);
    struct sts_tlsrpt_batch b = {0};
    sts_tlsrpt_agg_drain(a, &b);
    ck_assert_uint_eq(b.count, 3);
    const struct sts_tlsrpt_row *p = find_row(&b, "2026-08-03", "example.com", false, NULL);
    ck_assert_uint_eq(p->fail, 2);
    uint64_t details = 0;
    for (size_t i = 0; i < b.count; i++)
        details += b.rows[i].detail ? b.rows[i].count : 0;
    ck_assert_uint_eq(details, 2);
    sts_tlsrpt_batch_clear(&b);
    sts_tlsrpt_agg_free(a);
}
END_TEST

struct worker_arg {
    struct sts_tlsrpt_agg *a;
    int id;
};

static void *worker(void *p)
{
    struct worker_arg *w = p;
    char ip[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(ip, sizeof(ip), "192.0.2.%d", i % 7);
        struct sts_tlsrpt_session s = i % 3 == 0
                                          ? fail_session(w->id % 2 ? "a.example" : "b.example", T0,
                                                         STS_TLSRPT_CERTIFICATE_NOT_TRUSTED, ip)
                                          : ok_session(w->id % 2 ? "a.example" : "b.example", T0);
        sts_tlsrpt_agg_add(w->a, &s);
    }
    return NULL;
}

/* Eight threads, 16,000 sessions, drains in between: nothing lost. */
START_TEST(test_threads)
{
    struct sts_tlsrpt_agg *a = sts_tlsrpt_agg_new(0);
    pthread_t t[8];
    struct worker_arg args[8];
    struct sts_tlsrpt_batch b = {0};
    for (int i = 0; i < 8; i++) {
        args[i] = (struct worker_arg){a, i};
        pthread_create(&t[i], NULL, worker, &args[i]);
    }
    for (int i = 0; i < 20; i++)
        sts_tlsrpt_agg_drain(a, &b);
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    sts_tlsrpt_agg_drain(a, &b);
    uint64_t ok = 0, fail = 0, details = 0;
    for (size_t i = 0; i < b.count; i++) {
        ok += b.rows[i].detail ? 0 : b.rows[i].ok;
        fail += b.rows[i].detail ? 0 : b.rows[i].fail;
        details += b.rows[i].detail ? b.rows[i].count : 0;
    }
    /* per thread: i % 3 == 0 for 667 of 2000 */
    ck_assert_uint_eq(fail, 8 * 667);
    ck_assert_uint_eq(ok, 8 * (2000 - 667));
    ck_assert_uint_eq(details, fail);
    ck_assert_uint_eq(sts_tlsrpt_agg_dropped(a), 0);
    sts_tlsrpt_batch_clear(&b);
    sts_tlsrpt_agg_free(a);
}
END_TEST

static json_object *assemble_json(const struct sts_tlsrpt_batch *b, const char *day,
                                  const char *domain, enum sts_status *st)
{
    struct sts_tlsrpt_submitter who = {"Example Sender", "tlsrpt@sender.example", 1};
    struct sts_tlsrpt_built out;
    char err[200] = "";
    *st = sts_tlsrpt_assemble(b, day, domain, &who, NULL, &out, err, sizeof(err));
    if (*st != STS_OK)
        return NULL;
    json_object *j = json_tokener_parse(out.json);
    ck_assert_msg(j != NULL, "not JSON: %s", out.json);
    sts_tlsrpt_built_clear(&out);
    return j;
}

static json_object *path(json_object *o, const char *key)
{
    json_object *v = NULL;
    ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s", key);
    return v;
}

/* Rows of two sources and two policies become one report: summed,
 * ordered, details largest first, the other day and domain left out. */
START_TEST(test_assemble)
{
    struct sts_tlsrpt_agg *a = sts_tlsrpt_agg_new(0);
    for (int i = 0; i < 4; i++) {
        struct sts_tlsrpt_session s = ok_session("example.com", T0 + i);
        sts_tlsrpt_agg_add(a, &s);
    }
    struct sts_tlsrpt_session f =
        fail_session("example.com", T0, STS_TLSRPT_CERTIFICATE_EXPIRED, "192.0.2.25");
    sts_tlsrpt_agg_add(a, &f);
    f.receiving_ip = "192.0.2.26";
    sts_tlsrpt_agg_add(a, &f);
    sts_tlsrpt_agg_add(a, &f);
    struct sts_tlsrpt_session n = {.when = T0,
                                   .type = STS_TLSRPT_POLICY_NO_POLICY,
                                   .policy_domain = "example.com",
                                   .success = true};
    sts_tlsrpt_agg_add(a, &n);
    struct sts_tlsrpt_session other = ok_session("example.org", T0);
    sts_tlsrpt_agg_add(a, &other);
    struct sts_tlsrpt_batch b = {0};
    sts_tlsrpt_agg_drain(a, &b);
    /* a second source's rows for the same day add up */
    struct sts_tlsrpt_agg *a2 = sts_tlsrpt_agg_new(0);
    f.receiving_ip = "192.0.2.25";
    sts_tlsrpt_agg_add(a2, &f);
    sts_tlsrpt_agg_add(a2, &f);
    sts_tlsrpt_agg_add(a2, &f);
    sts_tlsrpt_agg_drain(a2, &b);

    enum sts_status st;
    json_object *j = assemble_json(&b, "2026-08-03", "example.com", &st);
    ck_assert_int_eq(st, STS_OK);
    ck_assert_str_eq(json_object_get_string(path(j, "report-id")),
                     "20260803.example.com.1@sender.example");
    json_object *pols = path(j, "policies");
    ck_assert_int_eq(json_object_array_length(pols), 2);
    json_object *p0 = json_object_array_get_idx(pols, 0);
    json_object *pol = path(p0, "policy");
    ck_assert_str_eq(json_object_get_string(path(pol, "policy-type")), "sts");
    ck_assert_int_eq(json_object_array_length(path(pol, "policy-string")), 4);
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(path(pol, "mx-host"), 0)),
                     "mx1.example.com");
    json_object *sum = path(p0, "summary");
    ck_assert_int_eq(json_object_get_int64(path(sum, "total-successful-session-count")), 4);
    ck_assert_int_eq(json_object_get_int64(path(sum, "total-failure-session-count")), 6);
    json_object *fd = path(p0, "failure-details");
    ck_assert_int_eq(json_object_array_length(fd), 2);
    json_object *f0 = json_object_array_get_idx(fd, 0);
    ck_assert_str_eq(json_object_get_string(path(f0, "receiving-ip")), "192.0.2.25");
    ck_assert_int_eq(json_object_get_int64(path(f0, "failed-session-count")), 4);
    ck_assert_str_eq(json_object_get_string(path(f0, "result-type")), "certificate-expired");
    json_object *p1 = json_object_array_get_idx(pols, 1);
    ck_assert_str_eq(json_object_get_string(path(path(p1, "policy"), "policy-type")),
                     "no-policy-found");
    ck_assert_str_eq(json_object_get_string(path(path(p1, "policy"), "policy-domain")),
                     "example.com");
    json_object_put(j);

    ck_assert_ptr_null(assemble_json(&b, "2026-08-04", "example.com", &st));
    ck_assert_int_eq(st, STS_ENOTFOUND);
    sts_tlsrpt_batch_clear(&b);
    sts_tlsrpt_agg_free(a);
    sts_tlsrpt_agg_free(a2);
}
END_TEST

/* A detail whose policy row was lost (a store cap) still makes a policy,
 * with the failure total raised to the details' sum (§4.4). */
START_TEST(test_assemble_detail_only)
{
    struct sts_tlsrpt_batch b = {0};
    struct sts_tlsrpt_row r = {.day = "2026-08-03",
                               .type = STS_TLSRPT_POLICY_TLSA,
                               .policy_domain = "example.net",
                               .policy_strings = "3 1 1 abcdef",
                               .detail = true,
                               .result = STS_TLSRPT_TLSA_INVALID,
                               .receiving_mx_hostname = "mx.example.net",
                               .count = 7};
    ck_assert_int_eq(sts_tlsrpt_batch_add(&b, &r), STS_OK);
    enum sts_status st;
    json_object *j = assemble_json(&b, "2026-08-03", "example.net", &st);
    ck_assert_int_eq(st, STS_OK);
    json_object *p0 = json_object_array_get_idx(path(j, "policies"), 0);
    ck_assert_str_eq(json_object_get_string(path(path(p0, "policy"), "policy-type")), "tlsa");
    ck_assert_int_eq(
        json_object_get_int64(path(path(p0, "summary"), "total-failure-session-count")), 7);
    ck_assert_int_eq(
        json_object_get_int64(path(path(p0, "summary"), "total-successful-session-count")), 0);
    json_object_put(j);
    sts_tlsrpt_batch_clear(&b);
}
END_TEST

static Suite *tlsrpt_agg_suite(void)
{
    Suite *s = suite_create("tlsrpt_agg");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_day);
    tcase_add_test(tc, test_merge);
    tcase_add_test(tc, test_invalid);
    tcase_add_test(tc, test_cap);
    tcase_add_test(tc, test_text_cut);
    tcase_add_test(tc, test_flags);
    tcase_add_test(tc, test_threads);
    tcase_add_test(tc, test_assemble);
    tcase_add_test(tc, test_assemble_detail_only);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(tlsrpt_agg_suite());
}
