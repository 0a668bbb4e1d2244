/*
 * smap_abuse.c - hostile clients against the real daemon's socketmap server
 * (issue 18 item 0: "socketmap lockout" and "unbounded reply queue"; item 3:
 * socketmap abuse).  Prints TAP; driven by tests/milter/socketmap_abuse.sh,
 * which starts mtasts-milter against the test world.
 *
 *   smap_abuse SOCKET PID KB  SOCKET the socketmap's unix socket, PID the
 *                             daemon, KB the RSS growth allowed while a
 *                             client pipelines without reading
 *
 * Guards:
 *   - slowloris: 260 connections (beyond the 256 cap) that send one byte
 *     every 2 s, and more that connect and say nothing, once locked out
 *     every other client (the server stopped accepting at the cap and a
 *     trickling connection never counted as idle).  Now each request must
 *     arrive whole within the request deadline and a new client at the cap
 *     displaces the slowest or quietest connection: a normal client keeps
 *     being answered within its deadline.
 *   - a client pipelining 2,000,000 requests without reading made the
 *     server queue replies without limit (+21 MB); now it stops reading that
 *     connection: the daemon's RSS stays bounded, others are answered, and
 *     every request that was taken is answered in order once the client
 *     reads.
 *   - malformed netstrings (no colon, 99999999999: lengths, non-digits,
 *     missing comma, a sign), NUL and control bytes in keys (a NUL must not
 *     cut the key to an enforce domain), a 1 MB key, pipelining then close:
 *     PERM or close, never a crash, other clients answered.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "mtasts/netstring.h"

#define SECURE_GOOD "OK secure match=mx1.good.test servername=hostname"
#define DEADLINE_MS 2000 /* SocketMapDeadline 1s in the script's config, plus slack */
#define CAP 256          /* the server's connection cap */
#define TRICKLERS 260    /* slowloris connections sending one byte every 2 s */
#define SILENT 40        /* and connections that say nothing at all */
#define PIPELINED 2000000

static const char *sock_path;
static long daemon_pid, rss_growth_max_kb;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long rss_kb(void)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%ld/status", daemon_pid);
    FILE *f = fopen(path, "r");
    long kb = -1;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kb;
}

static bool daemon_alive(void)
{
    return kill((pid_t)daemon_pid, 0) == 0 && rss_kb() > 0;
}

/* A non-blocking connection, or -1 (connect refused, or the backlog full past wait_ms). */
static int dial(int wait_ms)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return fd;
    if (errno == EAGAIN || errno == EINPROGRESS) { /* backlog full: retry until wait_ms */
        int64_t end = now_ms() + wait_ms;
        while (now_ms() < end) {
            pause_ms(5);
            if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EISCONN)
                return fd;
        }
    }
    close(fd);
    return -1;
}

/* Write all of buf within wait_ms (poll on EAGAIN). @return bytes written */
static size_t send_within(int fd, const char *buf, size_t len, int wait_ms)
{
    size_t done = 0;
    int64_t end = now_ms() + wait_ms;
    while (done < len) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w > 0) {
            done += (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EINTR)
            break;
        int left = (int)(end - now_ms());
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
    }
    return done;
}

struct rbuf {
    char b[1 << 16];
    size_t len;
};

/*
 * One netstring reply within wait_ms into out (NUL-terminated).
 * @return 1 a reply, 0 EOF or reset, -1 timeout, -2 bad framing
 */
static int read_reply(int fd, struct rbuf *rb, char *out, size_t outlen, int wait_ms)
{
    int64_t end = now_ms() + wait_ms;
    for (;;) {
        const char *d;
        size_t dlen, used;
        enum sts_netstring_result r =
            sts_netstring_decode(rb->b, rb->len, sizeof(rb->b) - 16, &d, &dlen, &used);
        if (r == STS_NETSTRING_OK) {
            snprintf(out, outlen, "%.*s", (int)dlen, d);
            memmove(rb->b, rb->b + used, rb->len - used);
            rb->len -= used;
            return 1;
        }
        if (r != STS_NETSTRING_INCOMPLETE)
            return -2;
        int left = (int)(end - now_ms());
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, left) <= 0)
            return -1;
        ssize_t n = read(fd, rb->b + rb->len, sizeof(rb->b) - rb->len);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
            return 0;
        if (n > 0)
            rb->len += (size_t)n;
    }
}

static size_t encode(const char *req, size_t len, char *out, size_t outlen)
{
    return sts_netstring_encode(req, len, out, outlen);
}

/*
 * A normal client: connect, ask for good.test, time the answer.
 * @return the milliseconds it took, -1 no connection, -2 no or a wrong reply
 */
static int normal_lookup(char *got, size_t gotlen)
{
    int64_t t0 = now_ms();
    int fd = dial(DEADLINE_MS);
    snprintf(got, gotlen, "(no connection)");
    if (fd < 0)
        return -1;
    char ns[64];
    size_t n = encode("postfix good.test", 17, ns, sizeof(ns));
    struct rbuf *rb = calloc(1, sizeof(*rb));
    int left = DEADLINE_MS - (int)(now_ms() - t0);
    int r = -1;
    if (left > 0 && send_within(fd, ns, n, left) == n)
        r = read_reply(fd, rb, got, gotlen, DEADLINE_MS - (int)(now_ms() - t0));
    if (r != 1)
        snprintf(got, gotlen, "(no reply: %d)", r);
    free(rb);
    close(fd);
    return r == 1 && strcmp(got, SECURE_GOOD) == 0 ? (int)(now_ms() - t0) : -2;
}

static void check_normal(const char *when)
{
    char got[256];
    int ms = normal_lookup(got, sizeof(got));
    ok(ms >= 0 && ms < DEADLINE_MS, "%s: a normal client is answered within %d ms (%d ms, \"%s\")",
       when, DEADLINE_MS, ms, got);
}

/* ---- slowloris at and beyond the cap */

struct trickler {
    int fd;
    int64_t first_ms; /* its request's first byte */
    size_t sent;
};

static const char trickle_req[] = "17:postfix good.test,";

static void test_slowloris(void)
{
    static struct trickler t[TRICKLERS];
    int silent[SILENT];
    int open_t = 0, open_s = 0;
    for (int i = 0; i < TRICKLERS; i++) {
        t[i].fd = dial(200);
        t[i].sent = 0;
        open_t += t[i].fd >= 0;
    }
    for (int i = 0; i < SILENT; i++) {
        silent[i] = dial(200);
        open_s += silent[i] >= 0;
    }
    diag("opened %d trickling and %d silent connections", open_t, open_s);
    /* 8 s of attack: each trickler sends one byte every 2 s (staggered) and
       dials again when it is closed; a normal client asks every 500 ms */
    int normal_ok = 0, normal_n = 0, worst = 0, closed = 0;
    int64_t longest_request = 0, start = now_ms(), next_normal = start + 500;
    while (now_ms() - start < 8000) {
        int64_t now = now_ms();
        for (int i = 0; i < TRICKLERS; i++) {
            struct trickler *c = &t[i];
            if (c->fd < 0) {
                c->fd = dial(0);
                c->sent = 0;
                continue;
            }
            char tmp[256];
            ssize_t r = read(c->fd, tmp, sizeof(tmp));
            if (r == 0 || (r < 0 && errno != EAGAIN)) { /* closed by the server */
                if (c->sent > 0 && now - c->first_ms > longest_request)
                    longest_request = now - c->first_ms;
                closed++;
                close(c->fd);
                c->fd = -1;
                continue;
            }
            /* one byte every 2 s, staggered by i */
            int64_t due = start + (i % 20) * 100 + (int64_t)c->sent * 2000;
            if (now >= due && c->sent < sizeof(trickle_req) - 1) {
                if (write(c->fd, trickle_req + c->sent, 1) == 1) {
                    if (c->sent == 0)
                        c->first_ms = now;
                    c->sent++;
                }
            }
        }
        if (now >= next_normal) {
            char got[256];
            int ms = normal_lookup(got, sizeof(got));
            normal_n++;
            if (ms >= 0)
                normal_ok++;
            else
                diag("normal lookup %d: %s", normal_n, got);
            if (ms > worst)
                worst = ms;
            next_normal = now_ms() + 500;
        }
        pause_ms(20);
    }
    ok(normal_n >= 8 && normal_ok == normal_n,
       "slowloris (%d trickling + %d silent, cap %d): every normal lookup answered within "
       "%d ms (%d of %d, slowest %d ms)",
       TRICKLERS, SILENT, CAP, DEADLINE_MS, normal_ok, normal_n, worst);
    ok(closed >= TRICKLERS / 2, "trickling connections are closed (%d closures in 8 s)", closed);
    ok(longest_request > 0 && longest_request < 4000,
       "a request trickling in is cut within its deadline (longest %lld ms from its first byte)",
       (long long)longest_request);
    for (int i = 0; i < TRICKLERS; i++)
        if (t[i].fd >= 0)
            close(t[i].fd);
    for (int i = 0; i < SILENT; i++)
        if (silent[i] >= 0)
            close(silent[i]);
    ok(daemon_alive(), "the daemon is alive after the slowloris");
}

/* ---- pipelining without reading */

static void test_pipelining(void)
{
    static const char req[] = "postfix [192.0.2.1]:25"; /* NOTFOUND, no DNS */
    char one[64];
    size_t n1 = encode(req, sizeof(req) - 1, one, sizeof(one));
    size_t batch_n = 1000;
    char *batch = malloc(n1 * batch_n);
    for (size_t i = 0; i < batch_n; i++)
        memcpy(batch + i * n1, one, n1);

    long rss0 = rss_kb();
    int fd = dial(1000);
    if (!ok(fd >= 0, "pipelining client connects"))
        return;
    /* write until 2M requests are out, or the server has taken nothing for
       2 s (it stopped reading), or 30 s are over */
    size_t sent = 0, rest = 0; /* rest: bytes of a request cut by a short write */
    bool stalled = false;
    int64_t t0 = now_ms();
    while (sent < PIPELINED && now_ms() - t0 < 30000) {
        size_t want = (PIPELINED - sent < batch_n ? PIPELINED - sent : batch_n) * n1;
        size_t w = send_within(fd, batch, want, 2000);
        sent += w / n1;
        if (w < want) {
            stalled = true;
            rest = w % n1 != 0 ? n1 - w % n1 : 0;
            break;
        }
    }
    int64_t took = now_ms() - t0;
    pause_ms(300); /* let the server catch up with what it has read */
    long rss1 = rss_kb();
    diag("pipelined %zu of %d requests in %lld ms; RSS %ld -> %ld kB", sent, PIPELINED,
         (long long)took, rss0, rss1);
    ok(stalled && sent < PIPELINED,
       "the server stops reading a client that does not read its replies (%zu requests taken, "
       "then 2 s without a byte read)",
       sent);
    ok(rss0 > 0 && rss1 - rss0 < rss_growth_max_kb,
       "the daemon's RSS stays bounded (grew %ld kB, cap %ld kB)", rss1 - rss0, rss_growth_max_kb);
    check_normal("while a client pipelines without reading");

    /* now read: every request taken is answered, in order, NOTFOUND */
    struct rbuf *rb = calloc(1, sizeof(*rb));
    size_t answered = 0, wrong = 0;
    char got[128];
    for (;;) {
        if (rest > 0) { /* the server reads again: finish the cut request */
            ssize_t w = write(fd, one + n1 - rest, rest);
            rest -= w > 0 ? (size_t)w : 0;
            sent += rest == 0;
        }
        if (answered >= sent && rest == 0)
            break;
        if (read_reply(fd, rb, got, sizeof(got), 5000) != 1)
            break;
        answered++;
        if (strcmp(got, "NOTFOUND ") != 0 && wrong++ == 0)
            diag("reply %zu: \"%s\"", answered, got);
    }
    ok(answered == sent && wrong == 0,
       "once the client reads, every request taken is answered (%zu of %zu, %zu wrong)", answered,
       sent, wrong);
    close(fd);
    free(rb);
    free(batch);
}

/* ---- malformed input and hostile keys */

/*
 * Send bytes on a fresh connection; the reply must be want_perm (a PERM
 * reply, then the server closes) or, when want_perm is NULL, any "PERM"
 * reply or a close.
 */
static void bad_bytes(const char *name, const char *bytes, size_t len, const char *want_perm)
{
    int fd = dial(1000);
    if (!ok(fd >= 0, "%s: connects", name))
        return;
    send_within(fd, bytes, len, 5000);
    struct rbuf *rb = calloc(1, sizeof(*rb));
    char got[256] = "";
    int r = read_reply(fd, rb, got, sizeof(got), 5000);
    if (want_perm != NULL)
        ok(r == 1 && strcmp(got, want_perm) == 0, "%s: \"%s\" (got %d \"%s\")", name, want_perm, r,
           got);
    else
        ok(r == 0 || (r == 1 && strncmp(got, "PERM", 4) == 0), "%s: PERM or close (got %d \"%s\")",
           name, r, got);
    char tmp[64];
    int c = read_reply(fd, rb, tmp, sizeof(tmp), 5000);
    ok(c == 0, "%s: then the server closes the connection (got %d)", name, c);
    free(rb);
    close(fd);
}

/* A well-framed request with hostile bytes: never the enforce answer, connection usable. */
static void hostile_key(const char *name, const char *key, size_t klen)
{
    int fd = dial(1000);
    if (!ok(fd >= 0, "%s: connects", name))
        return;
    char *ns = malloc(klen + 32);
    size_t n = encode(key, klen, ns, klen + 32);
    send_within(fd, ns, n, 5000);
    struct rbuf *rb = calloc(1, sizeof(*rb));
    char got[256] = "";
    int r = read_reply(fd, rb, got, sizeof(got), 5000);
    ok(r == 1 && (strncmp(got, "PERM", 4) == 0 || strcmp(got, "NOTFOUND ") == 0),
       "%s: PERM or NOTFOUND, not a policy (got %d \"%s\")", name, r, got);
    /* and the connection still answers */
    n = encode("postfix good.test", 17, ns, klen + 32);
    send_within(fd, ns, n, 5000);
    r = read_reply(fd, rb, got, sizeof(got), DEADLINE_MS);
    ok(r == 1 && strcmp(got, SECURE_GOOD) == 0, "%s: the connection then answers good.test (%s)",
       name, r == 1 ? got : "no reply");
    free(rb);
    free(ns);
    close(fd);
}

/* a string literal, NULs included */
#define HOSTILE_KEY(name, lit) hostile_key(name, lit, sizeof(lit) - 1)

static void test_malformed(void)
{
    bad_bytes("no colon", "17postfix good.test,", 20, "PERM malformed-netstring");
    bad_bytes("99999999999: length", "99999999999:", 12, "PERM request-too-long");
    bad_bytes("non-digit length", "1x:postfix good.test,", 21, "PERM malformed-netstring");
    bad_bytes("negative length", "-17:postfix good.test,", 22, "PERM malformed-netstring");
    bad_bytes("missing comma", "17:postfix good.testX", 21, "PERM malformed-netstring");
    bad_bytes("NUL in the length", "1\0007:postfix good.test,", 22, "PERM malformed-netstring");

    HOSTILE_KEY("NUL after an enforce domain", "postfix good.test\0.evil");
    HOSTILE_KEY("NUL before the domain", "postfix \0good.test");
    HOSTILE_KEY("control bytes in the key", "postfix good\r\n.test\x01\x7f");
    HOSTILE_KEY("empty request", "");
    HOSTILE_KEY("only a map name", "postfix ");

    /* a 1 MB key: refused by its length, the rest is never read */
    size_t big = 1 << 20;
    char *req = malloc(big + 32);
    int hl = snprintf(req, 32, "%zu:postfix ", big);
    memset(req + hl, 'a', big - 8);
    req[hl + big - 8] = ',';
    bad_bytes("a 1 MB key", req, (size_t)hl + big - 7, NULL);
    free(req);

    /* pipelining then close: the server must not trip over the replies it cannot send */
    char one[64], *many = malloc(64 * 5000);
    size_t n1 = encode("postfix good.test", 17, one, sizeof(one)), len = 0;
    for (int i = 0; i < 5000; i++, len += n1)
        memcpy(many + len, one, n1);
    for (int round = 0; round < 20; round++) {
        int fd = dial(1000);
        if (fd < 0)
            continue;
        send_within(fd, many, len, 2000);
        close(fd);
    }
    free(many);
    ok(daemon_alive(), "the daemon is alive after 20 clients pipelined 5000 requests and closed");
    check_normal("after the malformed and hostile requests");
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: smap_abuse SOCKET PID RSS-GROWTH-MAX-KB\n");
        return 2;
    }
    sock_path = argv[1];
    daemon_pid = strtol(argv[2], NULL, 10);
    rss_growth_max_kb = strtol(argv[3], NULL, 10);
    signal(SIGPIPE, SIG_IGN);
    check_normal("before");
    test_malformed();
    test_pipelining();
    test_slowloris();
    check_normal("at the end");
    ok(daemon_alive(), "the daemon is alive at the end");
    return done_testing();
}
