/*
 * test_socketmap.c - the socketmap policy server against the local test
 * world, at the protocol level (issue 6; Postfix socketmap_table(5)).
 * Prints TAP.
 *
 * Driven by tests/world/socketmap.sh, which starts the world and passes
 * argv[1] the DNS forwarder (ADDR@PORT), argv[2] the test CA file, argv[3]
 * a scratch directory.  The real modules run here (resolver, store, cache,
 * socketmap listener on a loopback port); the client below speaks
 * netstrings over TCP and checks every reply byte for byte.
 *
 * Issue 13: the site's overrides (OverridesFile) come before the
 * published policy, named as Postfix names its TLS levels: verify "OK
 * verify match=hostname", encrypt "OK encrypt protocols=>=TLSv1.2",
 * secure "OK secure match=... servername=hostname", dane "OK dane-only",
 * skip "NOTFOUND "; ".parent" rules answer for the names below as
 * Postfix's own tables do, and an exact rule beats them.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "../lib/tap.h"
#include "mtasts/config.h"
#include "mtasts/engine.h"
#include "mtasts/log.h"
#include "mtasts/netstring.h"
#include "socketmap.h"

static const char *ca_file, *scratch;

static void log_fn(void *arg, int prio, const char *line)
{
    (void)arg;
    printf("# log[%d] %s\n", prio, line);
}

struct world {
    struct sts_engine *engine;
};

/* The daemon's engine, from a configuration naming the test world. */
static void open_world(struct world *w, const char *fwd, const char *db, unsigned dns_ms)
{
    char err[512], text[2048];
    int len = snprintf(text, sizeof(text),
                       "Resolver %s\nCAFile %s\nStore sqlite:%s/%s\nAllowPrivateTargets yes\n"
                       "DNSTimeout %ums\nFetchConnectTimeout 2s\nFetchTimeout 10s\n"
                       "NegativeCacheTTL 600\nRecheckInterval 600\nFetchBackoff 300\n"
                       "MaxConcurrentFetches 4\nOverridesFile %s/overrides\n",
                       fwd, ca_file, scratch, db, dns_ms, scratch);
    struct sts_config *cfg;
    if (sts_config_parse(text, (size_t)len, "test_socketmap", &cfg, err, sizeof(err)) != STS_OK) {
        printf("Bail out! config: %s\n", err);
        exit(1);
    }
    if (sts_engine_new(cfg, NULL, STS_ENGINE_ONE_SHOT, &w->engine, err, sizeof(err)) != STS_OK) {
        printf("Bail out! engine: %s\n", err);
        exit(1);
    }
}

static void close_world(struct world *w)
{
    sts_engine_free(w->engine);
}

static struct sts_socketmap *start_map(struct world *w, unsigned deadline_ms, unsigned idle_ms,
                                       bool tlsrpt, bool strict)
{
    char err[256];
    struct sts_socketmap_config sc = {
        .socket = "inet:0@127.0.0.1",
        .engine = w->engine,
        .deadline_ms = deadline_ms,
        .idle_timeout_ms = idle_ms,
        .workers = 4,
        .map = {.tlsrpt = tlsrpt, .strict_testing = strict},
        .log = log_fn,
    };
    struct sts_socketmap *sm;
    if (sts_socketmap_start(&sc, &sm, err, sizeof(err)) != STS_OK) {
        printf("Bail out! socketmap: %s\n", err);
        exit(1);
    }
    return sm;
}

/* ---- the client */

static int dial(unsigned port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        printf("Bail out! connect: %s\n", strerror(errno));
        exit(1);
    }
    return fd;
}

static void send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w <= 0)
            return;
        buf += w;
        len -= (size_t)w;
    }
}

static void send_request(int fd, const char *req)
{
    char ns[1024];
    size_t n = sts_netstring_encode(req, strlen(req), ns, sizeof(ns));
    send_all(fd, ns, n);
}

/* Per-connection read buffer, so pipelined replies are split correctly. */
struct rbuf {
    char b[200000];
    size_t len;
};

/*
 * Read one netstring reply within timeout_ms into out (NUL-terminated).
 * @return 1 reply, 0 EOF, -1 timeout, -2 bad framing
 */
static int read_reply(int fd, struct rbuf *rb, char *out, size_t outlen, int timeout_ms)
{
    for (;;) {
        const char *d;
        size_t dlen, used;
        enum sts_netstring_result r =
            sts_netstring_decode(rb->b, rb->len, STS_NETSTRING_MAX, &d, &dlen, &used);
        if (r == STS_NETSTRING_OK) {
            snprintf(out, outlen, "%.*s", (int)dlen, d);
            memmove(rb->b, rb->b + used, rb->len - used);
            rb->len -= used;
            return 1;
        }
        if (r != STS_NETSTRING_INCOMPLETE)
            return -2;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0)
            return -1;
        ssize_t n = read(fd, rb->b + rb->len, sizeof(rb->b) - rb->len);
        if (n <= 0)
            return 0;
        rb->len += (size_t)n;
    }
}

/* Is the connection closed by the server (EOF within timeout_ms)? */
static int closed_within(int fd, struct rbuf *rb, int timeout_ms)
{
    char tmp[64];
    int r = read_reply(fd, rb, tmp, sizeof(tmp), timeout_ms);
    return r == 0;
}

static struct rbuf rb;

static void ask(int fd, const char *req, const char *want)
{
    char got[4096];
    send_request(fd, req);
    int r = read_reply(fd, &rb, got, sizeof(got), 15000);
    ok(r == 1 && strcmp(got, want) == 0, "\"%s\" -> \"%s\" (got %s\"%s\")", req, want,
       r == 1 ? "" : "no reply ", r == 1 ? got : "");
}

static void ask_prefix(int fd, const char *req, const char *want)
{
    char got[4096];
    send_request(fd, req);
    int r = read_reply(fd, &rb, got, sizeof(got), 15000);
    ok(r == 1 && strncmp(got, want, strlen(want)) == 0, "\"%s\" -> \"%s...\" (got \"%s\")", req,
       want, r == 1 ? got : "(no reply)");
}

#define SECURE_GOOD "OK secure match=mx1.good.test servername=hostname"

static void test_replies(unsigned port)
{
    int fd = dial(port);
    rb.len = 0;
    ask(fd, "postfix good.test", SECURE_GOOD);
    ask(fd, "postfix good.test", SECURE_GOOD); /* warm */
    ask(fd, "sts GOOD.test.", SECURE_GOOD);    /* Sendmail's map name, case, root dot */
    ask(fd, "postfix mismatch.test", "OK secure match=.elsewhere.test servername=hostname");
    ask(fd, "postfix testing.test", "NOTFOUND ");
    ask(fd, "postfix none.test", "NOTFOUND ");
    ask(fd, "postfix nopolicy.test", "NOTFOUND ");
    ask(fd, "postfix nosuch.test", "NOTFOUND ");
    ask(fd, "postfix [mx1.good.test]:25", "NOTFOUND ");
    ask(fd, "postfix [mx1.good.test]", "NOTFOUND ");
    ask(fd, "postfix 192.0.2.1", "NOTFOUND ");
    ask(fd, "postfix .good.test", "NOTFOUND ");
    /* a well-framed request without a key: PERM, and the connection stays usable */
    ask(fd, "good.test", "PERM malformed-request");
    ask(fd, "postfix good.test", SECURE_GOOD);
    close(fd);
}

static const char overrides[] = "# test_socketmap: the forced-TLS levels\n"
                                "twotxt.test verify\n"
                                "badtxt.test dane\n"
                                "nosuch2.test secure mx1.nosuch2.test *.mail.nosuch2.test\n"
                                "nosuch3.test enforce mx1.nosuch3.test\n"
                                ".good.test encrypt\n"
                                "deep.good.test skip\n"
                                "wrongname.test skip\n";

static void test_overrides(unsigned port)
{
    int fd = dial(port);
    rb.len = 0;
    ask(fd, "postfix twotxt.test", "OK verify match=hostname");
    ask(fd, "postfix badtxt.test", "OK dane-only");
    ask(fd, "postfix nosuch2.test",
        "OK secure match=mx1.nosuch2.test:.mail.nosuch2.test servername=hostname");
    ask(fd, "postfix nosuch3.test", "OK secure match=mx1.nosuch3.test servername=hostname");
    ask(fd, "postfix a.good.test", "OK encrypt protocols=>=TLSv1.2");   /* ".good.test" */
    ask(fd, "postfix a.b.good.test", "OK encrypt protocols=>=TLSv1.2"); /* any depth */
    ask(fd, "postfix deep.good.test", "NOTFOUND ");                     /* exact beats parent */
    ask(fd, "postfix good.test", SECURE_GOOD); /* ".good.test" is not good.test itself */
    ask(fd, "postfix wrongname.test", "NOTFOUND ");
    close(fd);
}

static void test_pipelined(unsigned port)
{
    int fd = dial(port);
    rb.len = 0;
    const char *reqs[] = {"postfix good.test", "postfix testing.test", "postfix [x.test]:25",
                          "postfix good.test"};
    char all[512];
    size_t len = 0;
    for (int i = 0; i < 4; i++)
        len += sts_netstring_encode(reqs[i], strlen(reqs[i]), all + len, sizeof(all) - len);
    send_all(fd, all, len); /* one write: the server reads them all at once */
    const char *want[] = {SECURE_GOOD, "NOTFOUND ", "NOTFOUND ", SECURE_GOOD};
    for (int i = 0; i < 4; i++) {
        char got[512];
        int r = read_reply(fd, &rb, got, sizeof(got), 15000);
        ok(r == 1 && strcmp(got, want[i]) == 0,
           "pipelined request %d answered in order: \"%s\" (got \"%s\")", i + 1, want[i],
           r == 1 ? got : "(no reply)");
    }
    close(fd);

    /* a request split across many writes */
    fd = dial(port);
    rb.len = 0;
    const char *req = "17:postfix good.test,";
    for (const char *p = req; *p != '\0'; p++) {
        send_all(fd, p, 1);
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    char got[512];
    int r = read_reply(fd, &rb, got, sizeof(got), 15000);
    ok(r == 1 && strcmp(got, SECURE_GOOD) == 0, "request sent byte by byte is answered");
    close(fd);
}

static void bad_framing(unsigned port, const char *name, const char *bytes, size_t len,
                        const char *want)
{
    int fd = dial(port);
    rb.len = 0;
    send_all(fd, bytes, len);
    char got[512];
    int r = read_reply(fd, &rb, got, sizeof(got), 5000);
    ok(r == 1 && strcmp(got, want) == 0, "%s: \"%s\" (got \"%s\")", name, want,
       r == 1 ? got : "(no reply)");
    ok(closed_within(fd, &rb, 5000), "%s: then the connection is closed", name);
    close(fd);
}

static void test_malformed(unsigned port)
{
    bad_framing(port, "missing comma", "5:hellox", 8, "PERM malformed-netstring");
    bad_framing(port, "leading zero", "05:hello,", 9, "PERM malformed-netstring");
    bad_framing(port, "non-digit length", "x:hello,", 8, "PERM malformed-netstring");
    bad_framing(port, "text protocol", "get good.test\n", 14, "PERM malformed-netstring");
    bad_framing(port, "oversize length", "100001:", 7, "PERM request-too-long");
    bad_framing(port, "huge length", "9999999999:", 11, "PERM request-too-long");

    /* the largest legal request is read whole and answered (not a domain: NOTFOUND) */
    size_t n = STS_NETSTRING_MAX;
    char *req = malloc(n + STS_NETSTRING_OVERHEAD + 1), *data = malloc(n);
    memset(data, 'a', n);
    memcpy(data, "postfix ", 8);
    size_t len = sts_netstring_encode(data, n, req, n + STS_NETSTRING_OVERHEAD + 1);
    int fd = dial(port);
    rb.len = 0;
    send_all(fd, req, len);
    char got[512];
    int r = read_reply(fd, &rb, got, sizeof(got), 5000);
    ok(r == 1 && strcmp(got, "NOTFOUND ") == 0, "a 100000-byte request is accepted (got \"%s\")",
       r == 1 ? got : "(no reply)");
    close(fd);
    free(req);
    free(data);
}

static void test_idle(struct world *w)
{
    struct sts_socketmap *sm = start_map(w, 5000, 300, false, false);
    int fd = dial(sts_socketmap_port(sm));
    rb.len = 0;
    send_request(fd, "postfix good.test");
    char got[512];
    read_reply(fd, &rb, got, sizeof(got), 5000);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int closed = closed_within(fd, &rb, 5000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    ok(closed && s >= 0.25 && s < 3, "idle connection closed after the idle timeout (%.2fs)", s);
    close(fd);
    /* a half-sent request does not hold a connection forever either */
    fd = dial(sts_socketmap_port(sm));
    rb.len = 0;
    send_all(fd, "17:postfix", 10);
    ok(closed_within(fd, &rb, 5000), "a stalled partial request is closed by the idle timeout");
    close(fd);
    sts_socketmap_stop(sm);
}

static void test_options(struct world *w)
{
    struct sts_socketmap *sm = start_map(w, 5000, 0, true, true);
    int fd = dial(sts_socketmap_port(sm));
    rb.len = 0;
    ask(fd, "postfix good.test",
        SECURE_GOOD " policy_type=sts policy_domain=good.test mx_host_pattern=mx1.good.test");
    ask(fd, "postfix testing.test",
        "OK secure match=mx1.testing.test servername=hostname policy_type=sts "
        "policy_domain=testing.test mx_host_pattern=mx1.testing.test");
    close(fd);
    sts_socketmap_stop(sm);
}

static void test_pending(struct world *w)
{
    struct sts_socketmap *sm = start_map(w, 200, 0, false, false);
    int fd = dial(sts_socketmap_port(sm));
    rb.len = 0;
    ask(fd, "postfix slow.test", "TEMP discovery-pending");
    close(fd);
    sts_socketmap_stop(sm);
}

static void test_dns_failure(void)
{
    /* a forwarder nobody answers on: DNS times out, nothing is cached */
    struct world w;
    open_world(&w, "127.0.0.1@9", "dead.db", 300);
    struct sts_socketmap *sm = start_map(&w, 3000, 0, false, false);
    int fd = dial(sts_socketmap_port(sm));
    rb.len = 0;
    ask_prefix(fd, "postfix good.test", "TEMP dns-failure");
    close(fd);
    sts_socketmap_stop(sm);
    close_world(&w);
}

static void test_unix(struct world *w)
{
    char spec[600], err[256];
    snprintf(spec, sizeof(spec), "unix:%s/map.sock", scratch);
    struct sts_socketmap_config sc = {.socket = spec, .engine = w->engine};
    struct sts_socketmap *sm;
    enum sts_status st = sts_socketmap_start(&sc, &sm, err, sizeof(err));
    ok(st == STS_OK, "listens on a unix socket (%s)", st == STS_OK ? "ok" : err);
    if (st != STS_OK)
        return;
    struct sts_socketmap *sm2;
    st = sts_socketmap_start(&sc, &sm2, err, sizeof(err));
    ok(st != STS_OK, "a second server refuses the socket in use (%s)", err);
    if (st == STS_OK)
        sts_socketmap_stop(sm2);
    sts_socketmap_stop(sm);
    char path[600];
    snprintf(path, sizeof(path), "%s/map.sock", scratch);
    ok(access(path, F_OK) != 0, "stop removes the unix socket file");
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: test_socketmap FORWARDER CA-FILE SCRATCH-DIR\n");
        return 2;
    }
    ca_file = argv[2];
    scratch = argv[3];
    char path[600];
    snprintf(path, sizeof(path), "%s/overrides", scratch);
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(overrides, f) < 0 || fclose(f) != 0) {
        printf("Bail out! cannot write %s\n", path);
        return 1;
    }
    char err[256];
    /* the engine's lines (discovery, fetches) as diagnostics on stderr */
    if (sts_log_open("test_socketmap", "-", LOG_MAIL, LOG_DEBUG, err, sizeof(err)) != STS_OK) {
        printf("Bail out! %s\n", err);
        return 1;
    }
    struct world w;
    open_world(&w, argv[1], "cache.db", 1500);
    struct sts_socketmap *sm = start_map(&w, 5000, 0, false, false);
    unsigned port = sts_socketmap_port(sm);
    ok(port != 0, "listening on 127.0.0.1 port %u", port);
    test_replies(port);
    test_overrides(port);
    test_pipelined(port);
    test_malformed(port);
    sts_socketmap_stop(sm);
    test_idle(&w);
    test_options(&w);
    test_pending(&w);
    test_unix(&w);
    close_world(&w);
    test_dns_failure();
    return done_testing();
}
