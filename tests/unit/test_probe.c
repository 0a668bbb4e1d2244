/*
 * test_probe.c - unit tests of the STARTTLS probe (probe.h) without TLS
 * peers: the RFC 8460 §4.3 result names, the cipher list of NIST SP
 * 800-52r2 §3.3.1, bad requests, and the SMTP phase (RFC 5321 §3.1
 * greeting, §4.1.1.1 EHLO, RFC 3207 STARTTLS) against tiny servers run in
 * a thread on 127.0.0.1 (ephemeral ports): no STARTTLS, STARTTLS refused,
 * plaintext injected after the STARTTLS reply (CVE-2011-0411 class), a
 * server that never speaks (the deadline of RFC 8461 §4.2 probes), a 554
 * greeting, an endless line (the reply cap).  Every scenario also checks
 * that the probe never says MAIL and ends with QUIT when it should.
 * The TLS cases run against the test world: tests/world/probe.sh.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mtasts/probe.h"
#include "mtasts/status.h"
#include "unit_main.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))
#define SRV_WAIT_MS 5000

/* ----- a scripted one-connection SMTP server ----- */

enum srv_mode {
    SRV_NOTLS,         /* multi-line banner, EHLO without STARTTLS */
    SRV_STARTTLS_454,  /* STARTTLS offered, then refused */
    SRV_INJECT,        /* STARTTLS 220 followed by plaintext */
    SRV_NOT_TLS_AFTER, /* STARTTLS 220, then garbage instead of TLS */
    SRV_TLS_STALL,     /* STARTTLS 220, then silence: no ServerHello */
    SRV_SILENT,        /* accepts, never speaks */
    SRV_554,           /* 554 greeting */
    SRV_ENDLESS,       /* 1 MB without a line end */
    SRV_EHLO_FLOOD,    /* an EHLO reply that never ends */
};

struct srv {
    enum srv_mode mode;
    int lfd;
    unsigned port;
    pthread_t th;
    char got[4096]; /* every command the client sent */
    size_t glen;
};

static void srv_send(int fd, const char *s)
{
    (void)send(fd, s, strlen(s), MSG_NOSIGNAL);
}

/* Read one command line into the transcript; false at EOF or timeout. */
static bool srv_line(struct srv *s, int fd)
{
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        char c;
        if (poll(&pfd, 1, SRV_WAIT_MS) <= 0)
            return false;
        if (recv(fd, &c, 1, 0) != 1)
            return false;
        if (s->glen + 1 < sizeof(s->got))
            s->got[s->glen++] = c;
        if (c == '\n')
            return true;
    }
}

static void srv_wait_close(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    char b[256];
    while (poll(&pfd, 1, SRV_WAIT_MS) > 0 && recv(fd, b, sizeof(b), 0) > 0)
        ;
}

static void *srv_main(void *arg)
{
    struct srv *s = arg;
    struct pollfd pfd = {.fd = s->lfd, .events = POLLIN};
    int fd;

    if (poll(&pfd, 1, SRV_WAIT_MS) <= 0)
        return NULL;
    fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    switch (s->mode) {
    case SRV_NOTLS:
        srv_send(fd, "220-mx.test ESMTP\r\n220 welcome\r\n");
        if (srv_line(s, fd))
            srv_send(fd, "250-mx.test\r\n250-PIPELINING\r\n250-STARTTLSX\r\n250 8BITMIME\r\n");
        if (srv_line(s, fd))
            srv_send(fd, "221 bye\r\n");
        break;
    case SRV_STARTTLS_454:
    case SRV_INJECT:
    case SRV_NOT_TLS_AFTER:
    case SRV_TLS_STALL:
        srv_send(fd, "220 mx.test ESMTP\r\n");
        if (srv_line(s, fd))
            srv_send(fd, "250-mx.test\n250-starttls\r\n250 SIZE 1000\r\n");
        if (!srv_line(s, fd))
            break;
        if (s->mode == SRV_STARTTLS_454)
            srv_send(fd, "454 4.7.0 TLS not available\r\n");
        else if (s->mode == SRV_INJECT)
            srv_send(fd, "220 go ahead\r\n250 injected\r\n");
        else
            srv_send(fd, "220 go ahead\r\n");
        if (s->mode == SRV_TLS_STALL) {
            srv_wait_close(fd);
            break;
        }
        if (s->mode == SRV_NOT_TLS_AFTER) {
            char b[512];
            struct pollfd p2 = {.fd = fd, .events = POLLIN};
            if (poll(&p2, 1, SRV_WAIT_MS) > 0 && recv(fd, b, sizeof(b), 0) > 0)
                srv_send(fd, "500 what is this\r\n");
            srv_wait_close(fd);
            break;
        }
        if (srv_line(s, fd))
            srv_send(fd, "221 bye\r\n");
        break;
    case SRV_SILENT:
        srv_wait_close(fd);
        break;
    case SRV_554:
        srv_send(fd, "554 5.3.2 no service for you\r\n");
        if (srv_line(s, fd))
            srv_send(fd, "221 bye\r\n");
        break;
    case SRV_ENDLESS: {
        static char junk[65536];
        memset(junk, 'x', sizeof(junk));
        for (int i = 0; i < 16; i++)
            if (send(fd, junk, sizeof(junk), MSG_NOSIGNAL) < 0)
                break;
        break;
    }
    case SRV_EHLO_FLOOD:
        srv_send(fd, "220 mx.test\r\n");
        if (srv_line(s, fd))
            for (int i = 0; i < 100000; i++)
                if (send(fd, "250-X\r\n", 7, MSG_NOSIGNAL) < 0)
                    break;
        break;
    }
    srv_wait_close(fd);
    close(fd);
    return NULL;
}

static void srv_start(struct srv *s, enum srv_mode mode)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);

    memset(s, 0, sizeof(*s));
    s->mode = mode;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(s->lfd, 0);
    ck_assert_int_eq(bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(listen(s->lfd, 4), 0);
    ck_assert_int_eq(getsockname(s->lfd, (struct sockaddr *)&sin, &len), 0);
    s->port = ntohs(sin.sin_port);
    ck_assert_int_eq(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_stop(struct srv *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
    s->got[s->glen] = '\0';
}

static struct sts_probe_ctx *ctx_new(void)
{
    struct sts_probe_ctx *ctx = NULL;
    char err[256] = "";
    enum sts_status st = sts_probe_ctx_new(NULL, NULL, &ctx, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "ctx_new: got %s (%s), want ok", sts_status_word(st), err);
    return ctx;
}

/* Probe 127.0.0.1:port; *wall_ms (if not NULL) is the time sts_probe_run
 * took, measured outside it (the context, with the CA store, is not). */
static void probe_local_timed(unsigned port, unsigned timeout_ms, struct sts_probe_result *res,
                              double *wall_ms)
{
    struct sts_probe_ctx *ctx = ctx_new();
    struct sts_probe_request req = {
        .host = "mx.test", .addr = "127.0.0.1", .port = port, .timeout_ms = timeout_ms};
    struct timespec a, b;
    enum sts_status st;

    clock_gettime(CLOCK_MONOTONIC, &a);
    st = sts_probe_run(ctx, &req, res);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ck_assert_msg(st == STS_OK, "probe: got %s, want ok", sts_status_word(st));
    if (wall_ms != NULL)
        *wall_ms = (double)(b.tv_sec - a.tv_sec) * 1000 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
    sts_probe_ctx_free(ctx);
}

static void probe_local(unsigned port, unsigned timeout_ms, struct sts_probe_result *res)
{
    probe_local_timed(port, timeout_ms, res, NULL);
}

static void assert_detail_printable(const struct sts_probe_result *res)
{
    ck_assert_msg(res->detail[0] != '\0', "empty detail");
    for (const char *c = res->detail; *c != '\0'; c++)
        ck_assert_msg(*c >= 0x20 && *c < 0x7f, "detail has byte 0x%02x: %s", (unsigned char)*c,
                      res->detail);
}

static void assert_result(const struct sts_probe_result *res, enum sts_tls_result want)
{
    ck_assert_msg(res->result == want, "got %s (%s), want %s", sts_tls_result_name(res->result),
                  res->detail, sts_tls_result_name(want));
    assert_detail_printable(res);
}

/* ----- names, failure classes, ciphers ----- */

START_TEST(test_result_names)
{
    for (unsigned i = 0; i < STS_TLS_RESULT_COUNT; i++) {
        enum sts_tls_result r = STS_TLS_PASS;
        const char *name = sts_tls_result_name((enum sts_tls_result)i);
        ck_assert_msg(strcmp(name, "unknown") != 0, "result %u has no name", i);
        ck_assert_msg(sts_tls_result_parse(name, &r), "parse(%s) failed", name);
        ck_assert_msg(r == (enum sts_tls_result)i, "parse(%s): got %d, want %u", name, r, i);
    }
    ck_assert_str_eq(sts_tls_result_name(STS_TLS_CERT_HOST_MISMATCH), "certificate-host-mismatch");
    ck_assert_str_eq(sts_tls_result_name(STS_TLS_STARTTLS_NOT_SUPPORTED), "starttls-not-supported");
    ck_assert_str_eq(sts_tls_result_name(STS_TLS_TLSA_INVALID), "tlsa-invalid");
    ck_assert_str_eq(sts_tls_result_name((enum sts_tls_result)99), "unknown");
    ck_assert_str_eq(sts_tls_result_name((enum sts_tls_result) - 1), "unknown");
    ck_assert(!sts_tls_result_parse("Pass", NULL));
    ck_assert(!sts_tls_result_parse("", NULL));
    ck_assert(!sts_tls_result_parse(NULL, NULL));
    ck_assert(!sts_tls_result_parse("unknown", NULL));
}
END_TEST

START_TEST(test_is_failure)
{
    for (unsigned i = 0; i < STS_TLS_RESULT_COUNT; i++) {
        bool want = i != STS_TLS_PASS && i != STS_TLS_UNREACHABLE;
        ck_assert_msg(sts_tls_result_is_failure((enum sts_tls_result)i) == want,
                      "is_failure(%s): got %d, want %d", sts_tls_result_name(i), !want, want);
    }
    ck_assert(!sts_tls_result_is_failure((enum sts_tls_result)STS_TLS_RESULT_COUNT));
}
END_TEST

static const struct {
    const char *cipher;
    bool modern;
} cipher_cases[] = {
    {"TLS_AES_128_GCM_SHA256", true},
    {"TLS_AES_256_GCM_SHA384", true},
    {"TLS_AES_128_CCM_SHA256", true},
    {"TLS_CHACHA20_POLY1305_SHA256", false}, /* not on NIST's list */
    {"ECDHE-ECDSA-AES256-GCM-SHA384", true},
    {"ECDHE-RSA-AES128-GCM-SHA256", true},
    {"DHE-RSA-AES256-GCM-SHA384", true},
    {"ECDHE-ECDSA-AES128-CCM", true},
    {"ECDHE-RSA-CHACHA20-POLY1305", false},
    {"ECDHE-RSA-AES128-SHA256", false}, /* CBC */
    {"ECDHE-RSA-AES256-SHA", false},
    {"AES128-GCM-SHA256", false}, /* no forward secrecy */
    {"DHE-DSS-AES128-GCM-SHA256", false},
    {"DES-CBC3-SHA", false},
    {"RC4-SHA", false},
    {"tls_aes_128_gcm_sha256", false}, /* OpenSSL's names are exact */
    {"", false},
    {NULL, false},
};

START_TEST(test_cipher_modern)
{
    const char *c = cipher_cases[_i].cipher;
    bool got = sts_probe_cipher_is_modern(c);
    ck_assert_msg(got == cipher_cases[_i].modern, "cipher %s: got %d, want %d",
                  c != NULL ? c : "(null)", got, cipher_cases[_i].modern);
}
END_TEST

/* ----- requests and contexts ----- */

START_TEST(test_bad_requests)
{
    struct sts_probe_ctx *ctx = ctx_new();
    struct sts_probe_result res;
    static const struct sts_probe_tlsa null_data = {.usage = 3, .len = 32, .data = NULL};
    const struct {
        const char *name;
        struct sts_probe_request req;
    } bad[] = {
        {"no host", {.host = NULL, .addr = "127.0.0.1"}},
        {"empty host", {.host = "", .addr = "127.0.0.1"}},
        {"host with space", {.host = "mx .test", .addr = "127.0.0.1"}},
        {"host with CRLF", {.host = "mx.test\r\nMAIL", .addr = "127.0.0.1"}},
        {"no addr", {.host = "mx.test", .addr = NULL}},
        {"addr not literal", {.host = "mx.test", .addr = "mx.test"}},
        {"addr garbage", {.host = "mx.test", .addr = "127.0.0.256"}},
        {"addr bracketed", {.host = "mx.test", .addr = "[::1]"}},
        {"port", {.host = "mx.test", .addr = "127.0.0.1", .port = 65536}},
        {"helo with space", {.host = "mx.test", .addr = "::1", .helo_name = "a b"}},
        {"helo empty", {.host = "mx.test", .addr = "::1", .helo_name = ""}},
        {"tls version", {.host = "mx.test", .addr = "::1", .tls_version = 0x0300}},
        {"tlsa NULL", {.host = "mx.test", .addr = "::1", .tlsa = NULL, .tlsa_count = 1}},
        {"tlsa data NULL", {.host = "mx.test", .addr = "::1", .tlsa = &null_data, .tlsa_count = 1}},
    };

    for (size_t i = 0; i < NCASES(bad); i++) {
        enum sts_status st = sts_probe_run(ctx, &bad[i].req, &res);
        ck_assert_msg(st == STS_EINVAL, "case %s: got %s, want invalid", bad[i].name,
                      sts_status_word(st));
    }
    ck_assert_int_eq(sts_probe_run(ctx, NULL, &res), STS_EINVAL);
    ck_assert_int_eq(sts_probe_run(NULL, &bad[0].req, &res), STS_EINVAL);
    sts_probe_ctx_free(ctx);
}
END_TEST

START_TEST(test_ctx)
{
    struct sts_probe_ctx *ctx = (struct sts_probe_ctx *)1;
    char err[256] = "";

    ck_assert_int_eq(sts_probe_ctx_new("/nonexistent/ca.pem", NULL, &ctx, err, sizeof(err)),
                     STS_EINVAL);
    ck_assert_ptr_null(ctx);
    ck_assert_msg(strstr(err, "/nonexistent/ca.pem") != NULL, "err: %s", err);
    sts_probe_ctx_free(NULL);
}
END_TEST

/* ----- the SMTP phase ----- */

START_TEST(test_refused)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);
    struct sts_probe_result res;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    close(fd); /* bound, never listened: nobody is there */
    probe_local(ntohs(sin.sin_port), 3000, &res);
    assert_result(&res, STS_TLS_UNREACHABLE);
    ck_assert_msg(strstr(res.detail, "refused") != NULL, "detail: %s", res.detail);
    ck_assert_msg(res.ms < 1000, "took %.0f ms", res.ms);
    ck_assert_int_eq(res.smtp_code, 0);
    ck_assert(!res.handshake_done && !res.have_cert && !res.starttls_offered);
    ck_assert_int_eq(res.dane_usage, -1);
}
END_TEST

START_TEST(test_no_starttls)
{
    struct srv s;
    struct sts_probe_result res;

    srv_start(&s, SRV_NOTLS);
    probe_local(s.port, 3000, &res);
    srv_stop(&s);
    assert_result(&res, STS_TLS_STARTTLS_NOT_SUPPORTED);
    ck_assert(!res.starttls_offered); /* "STARTTLSX" is not the keyword */
    ck_assert_int_eq(res.smtp_code, 250);
    ck_assert_str_eq(res.tls_version, "");
    ck_assert_msg(strncmp(s.got, "EHLO localhost\r\n", 16) == 0, "server got: %s", s.got);
    ck_assert_msg(strstr(s.got, "QUIT\r\n") != NULL, "no QUIT: %s", s.got);
    ck_assert_msg(strstr(s.got, "MAIL") == NULL, "MAIL sent: %s", s.got);
}
END_TEST

START_TEST(test_starttls_refused)
{
    struct srv s;
    struct sts_probe_result res;

    srv_start(&s, SRV_STARTTLS_454);
    probe_local(s.port, 3000, &res);
    srv_stop(&s);
    assert_result(&res, STS_TLS_STARTTLS_NOT_SUPPORTED);
    ck_assert(res.starttls_offered);
    ck_assert_int_eq(res.smtp_code, 454);
    ck_assert_msg(strstr(res.detail, "454") != NULL, "detail: %s", res.detail);
    ck_assert_msg(strstr(s.got, "STARTTLS\r\nQUIT\r\n") != NULL, "server got: %s", s.got);
}
END_TEST

START_TEST(test_injection)
{
    struct srv s;
    struct sts_probe_result res;

    srv_start(&s, SRV_INJECT);
    probe_local(s.port, 3000, &res);
    srv_stop(&s);
    assert_result(&res, STS_TLS_VALIDATION_FAILURE);
    ck_assert_msg(strstr(res.detail, "plaintext") != NULL, "detail: %s", res.detail);
    ck_assert(!res.handshake_done);
    ck_assert_msg(strstr(s.got, "MAIL") == NULL, "MAIL sent: %s", s.got);
}
END_TEST

START_TEST(test_not_tls_after_starttls)
{
    struct srv s;
    struct sts_probe_result res;

    srv_start(&s, SRV_NOT_TLS_AFTER);
    probe_local(s.port, 3000, &res);
    srv_stop(&s);
    assert_result(&res, STS_TLS_VALIDATION_FAILURE);
    ck_assert_msg(strncmp(res.detail, "TLS handshake", 13) == 0, "detail: %s", res.detail);
    ck_assert(!res.handshake_done && !res.have_cert);
    ck_assert_msg(res.ms < 2000, "took %.0f ms", res.ms);
}
END_TEST

/* The deadline also bounds the handshake; past STARTTLS it is a TLS failure. */
START_TEST(test_tls_stall)
{
    struct srv s;
    struct sts_probe_result res;
    double ms = 0;

    srv_start(&s, SRV_TLS_STALL);
    probe_local_timed(s.port, 600, &res, &ms);
    srv_stop(&s);
    assert_result(&res, STS_TLS_VALIDATION_FAILURE);
    ck_assert_msg(strstr(res.detail, "TLS handshake: timed out") != NULL, "detail: %s", res.detail);
    ck_assert(res.starttls_offered && !res.handshake_done);
    ck_assert_int_eq(res.smtp_code, 220);
    ck_assert_msg(ms >= 550 && ms <= 800, "took %.0f ms, want 600 + at most 200", ms);
}
END_TEST

START_TEST(test_silent)
{
    struct srv s;
    struct sts_probe_result res;
    double ms = 0;

    srv_start(&s, SRV_SILENT);
    probe_local_timed(s.port, 700, &res, &ms);
    srv_stop(&s);
    assert_result(&res, STS_TLS_UNREACHABLE);
    ck_assert_msg(strstr(res.detail, "timed out") != NULL, "detail: %s", res.detail);
    ck_assert_msg(ms >= 650 && ms <= 900, "took %.0f ms, want 700 + at most 200", ms);
    ck_assert_msg(res.ms >= 650 && res.ms <= 900, "res.ms %.0f", res.ms);
    ck_assert_int_eq(s.glen, 0); /* not even QUIT to a server that never greeted */
}
END_TEST

START_TEST(test_554)
{
    struct srv s;
    struct sts_probe_result res;

    srv_start(&s, SRV_554);
    probe_local(s.port, 3000, &res);
    srv_stop(&s);
    assert_result(&res, STS_TLS_UNREACHABLE);
    ck_assert_int_eq(res.smtp_code, 554);
    ck_assert_msg(strstr(res.detail, "554 5.3.2") != NULL, "detail: %s", res.detail);
    ck_assert_str_eq(s.got, "QUIT\r\n"); /* RFC 5321 §3.1 */
}
END_TEST

START_TEST(test_endless_line)
{
    struct srv s;
    struct sts_probe_result res;

    srv_start(&s, SRV_ENDLESS);
    probe_local(s.port, 3000, &res);
    srv_stop(&s);
    assert_result(&res, STS_TLS_UNREACHABLE);
    ck_assert_msg(strstr(res.detail, "too long") != NULL, "detail: %s", res.detail);
    ck_assert_msg(res.ms < 2000, "took %.0f ms", res.ms);
}
END_TEST

START_TEST(test_ehlo_flood)
{
    struct srv s;
    struct sts_probe_result res;

    srv_start(&s, SRV_EHLO_FLOOD);
    probe_local(s.port, 3000, &res);
    srv_stop(&s);
    assert_result(&res, STS_TLS_UNREACHABLE);
    ck_assert_msg(strstr(res.detail, "EHLO") != NULL && strstr(res.detail, "too long") != NULL,
                  "detail: %s", res.detail);
}
END_TEST

static Suite *probe_suite(void)
{
    Suite *s = suite_create("probe");
    TCase *tc = tcase_create("probe");

    tcase_add_test(tc, test_result_names);
    tcase_add_test(tc, test_is_failure);
    tcase_add_loop_test(tc, test_cipher_modern, 0, NCASES(cipher_cases));
    tcase_add_test(tc, test_bad_requests);
    tcase_add_test(tc, test_ctx);
    tcase_add_test(tc, test_refused);
    tcase_add_test(tc, test_no_starttls);
    tcase_add_test(tc, test_starttls_refused);
    tcase_add_test(tc, test_injection);
    tcase_add_test(tc, test_not_tls_after_starttls);
    tcase_add_test(tc, test_tls_stall);
    tcase_add_test(tc, test_silent);
    tcase_add_test(tc, test_554);
    tcase_add_test(tc, test_endless_line);
    tcase_add_test(tc, test_ehlo_flood);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(probe_suite());
}
