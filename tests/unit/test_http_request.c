/*
 * test_http_request.c - unit tests of the metrics responder's request
 * parser (http_request.h): RFC 9112 §3 request line, §5 header fields
 * (§2.2: a bare LF ends a line too), RFC 9110 §9.1 case-sensitive
 * methods; what a scraper sends is served, everything else is judged
 * before the responder writes anything: 400, 404, 405, 505, or "read
 * more" for a head without its empty line (the caller's cap makes that
 * 431).
 *
 * Table-driven: each row is one TAP test point; a failure reads
 * "case NAME: got X, want Y".
 */
#include <check.h>
#include <string.h>

#include "mtasts/http_request.h"
#include "unit_main.h"

#define STR(s) (s), (sizeof(s) - 1)

struct parse_case {
    const char *name;
    const char *in;
    size_t len;
    enum sts_http_verdict want;
    bool head, json;
    size_t used; /* for a complete head; 0: not checked */
};

static const struct parse_case cases[] = {
    {"prometheus",
     STR("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9465\r\nUser-Agent: Prometheus/2.42"
         "\r\nAccept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5"
         "\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n"),
     STS_HTTP_SERVE, false, false, 0},
    {"http10_no_headers", STR("GET /metrics HTTP/1.0\r\n\r\n"), STS_HTTP_SERVE, false, false, 25},
    {"head", STR("HEAD /metrics HTTP/1.0\r\n\r\n"), STS_HTTP_SERVE, true, false, 26},
    {"bare_lf", STR("GET /metrics HTTP/1.0\nHost: x\n\n"), STS_HTTP_SERVE, false, false, 31},
    {"query_ignored", STR("GET /metrics?name[]=x HTTP/1.0\r\n\r\n"), STS_HTTP_SERVE, false, false,
     0},
    {"accept_json", STR("GET /metrics HTTP/1.0\r\naccept: Application/JSON\r\n\r\n"),
     STS_HTTP_SERVE, false, true, 0},
    {"body_after_head_ignored", STR("GET /metrics HTTP/1.0\r\n\r\nxyz"), STS_HTTP_SERVE, false,
     false, 25},
    {"empty_value", STR("GET /metrics HTTP/1.0\r\nX-Empty:\r\n\r\n"), STS_HTTP_SERVE, false, false,
     0},
    /* read more */
    {"nothing", STR(""), STS_HTTP_INCOMPLETE, false, false, 0},
    {"request_line_only", STR("GET /metrics HTTP/1.0\r\n"), STS_HTTP_INCOMPLETE, false, false, 0},
    {"half_line", STR("GET /metr"), STS_HTTP_INCOMPLETE, false, false, 0},
    {"slowloris_headers", STR("GET /metrics HTTP/1.0\r\nX-a: b\r\nX-c: d\r\n"), STS_HTTP_INCOMPLETE,
     false, false, 0},
    {"post_not_judged_early", STR("POST /metrics HTTP/1.0\r\n"), STS_HTTP_INCOMPLETE, false, false,
     0},
    /* methods, paths, versions */
    {"post", STR("POST /metrics HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc"), STS_HTTP_BAD_METHOD,
     false, false, 0},
    {"lower_case_get", STR("get /metrics HTTP/1.0\r\n\r\n"), STS_HTTP_BAD_METHOD, false, false, 0},
    {"options", STR("OPTIONS * HTTP/1.1\r\n\r\n"), STS_HTTP_BAD_METHOD, false, false, 0},
    {"root", STR("GET / HTTP/1.0\r\n\r\n"), STS_HTTP_NOT_FOUND, false, false, 0},
    {"prefix_path", STR("GET /metricsx HTTP/1.0\r\n\r\n"), STS_HTTP_NOT_FOUND, false, false, 0},
    {"sub_path", STR("GET /metrics/ HTTP/1.0\r\n\r\n"), STS_HTTP_NOT_FOUND, false, false, 0},
    {"absolute_form", STR("GET http://x/metrics HTTP/1.0\r\n\r\n"), STS_HTTP_BAD_REQUEST, false,
     false, 0},
    {"http2", STR("GET /metrics HTTP/2.0\r\n\r\n"), STS_HTTP_BAD_VERSION, false, false, 0},
    {"http09", STR("GET /metrics\r\n\r\n"), STS_HTTP_BAD_REQUEST, false, false, 0},
    {"garbage_version", STR("GET /metrics FTP/1.0\r\n\r\n"), STS_HTTP_BAD_REQUEST, false, false, 0},
    /* malformed */
    {"two_spaces", STR("GET  /metrics HTTP/1.0\r\n\r\n"), STS_HTTP_BAD_REQUEST, false, false, 0},
    {"empty_first_line", STR("\r\n\r\n"), STS_HTTP_BAD_REQUEST, false, false, 0},
    {"nul_in_path", STR("GET /metrics\0 HTTP/1.0\r\n\r\n"), STS_HTTP_BAD_REQUEST, false, false, 0},
    {"cr_inside_line", STR("GET /metrics\rHTTP/1.0\r\n\r\n"), STS_HTTP_BAD_REQUEST, false, false,
     0},
    {"header_no_colon", STR("GET /metrics HTTP/1.0\r\nHost\r\n\r\n"), STS_HTTP_BAD_REQUEST, false,
     false, 0},
    {"header_space_in_name", STR("GET /metrics HTTP/1.0\r\nHo st: x\r\n\r\n"), STS_HTTP_BAD_REQUEST,
     false, false, 0},
    {"obs_fold", STR("GET /metrics HTTP/1.0\r\nA: b\r\n c\r\n\r\n"), STS_HTTP_BAD_REQUEST, false,
     false, 0},
    {"control_in_value", STR("GET /metrics HTTP/1.0\r\nA: b\x01\r\n\r\n"), STS_HTTP_BAD_REQUEST,
     false, false, 0},
    {"binary", STR("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\n\n"), STS_HTTP_BAD_REQUEST, false, false,
     0},
};

START_TEST(test_parse)
{
    const struct parse_case *c = &cases[_i];
    struct sts_http_request r;
    enum sts_http_verdict v = sts_http_request_parse(c->in, c->len, &r);
    ck_assert_msg(v == c->want, "case %s: got %s, want %s", c->name, sts_http_verdict_name(v),
                  sts_http_verdict_name(c->want));
    if (v == STS_HTTP_SERVE) {
        ck_assert_msg(r.head == c->head, "case %s: head got %d, want %d", c->name, r.head, c->head);
        ck_assert_msg(r.want_json == c->json, "case %s: json got %d, want %d", c->name, r.want_json,
                      c->json);
    }
    if (c->used != 0)
        ck_assert_msg(r.used == c->used, "case %s: used got %zu, want %zu", c->name, r.used,
                      c->used);
}
END_TEST

/* Every prefix of a served request is INCOMPLETE: a slow client is judged on its whole head. */
START_TEST(test_prefixes)
{
    static const char req[] = "GET /metrics HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n";
    struct sts_http_request r;
    for (size_t k = 0; k + 1 < sizeof(req) - 1; k++) {
        enum sts_http_verdict v = sts_http_request_parse(req, k, &r);
        ck_assert_msg(v == STS_HTTP_INCOMPLETE, "prefix %zu: got %s, want incomplete", k,
                      sts_http_verdict_name(v));
    }
    ck_assert_int_eq(sts_http_request_parse(req, sizeof(req) - 1, &r), STS_HTTP_SERVE);
}
END_TEST

/* Only the first STS_HTTP_REQUEST_MAX bytes count: past them it stays INCOMPLETE (the caller's
 * 431). */
START_TEST(test_cap)
{
    static char big[STS_HTTP_REQUEST_MAX + 64];
    memset(big, 'a', sizeof(big));
    memcpy(big, "GET /metrics HTTP/1.0\r\nX: ", 26);
    memcpy(big + sizeof(big) - 4, "\r\n\r\n", 4);
    struct sts_http_request r;
    ck_assert_int_eq(sts_http_request_parse(big, sizeof(big), &r), STS_HTTP_INCOMPLETE);
    ck_assert_int_eq(sts_http_request_parse(NULL, 0, &r), STS_HTTP_INCOMPLETE);
}
END_TEST

static Suite *http_request_suite(void)
{
    Suite *s = suite_create("http_request");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, test_parse, 0, sizeof(cases) / sizeof(cases[0]));
    tcase_add_test(tc, test_prefixes);
    tcase_add_test(tc, test_cap);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(http_request_suite());
}
