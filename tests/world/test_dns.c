/*
 * test_dns.c - the resolver module (dns.c) against real DNS servers on
 * loopback; prints TAP.
 *
 * Usage: test_dns [ADDR@PORT]
 *   ADDR@PORT is the world's authoritative server for "test." (world.sh,
 *   $WORLD_DNS); without it those test points are skipped.
 *
 * Guards:
 *   - RFC 8461 §3.1/§5: NXDOMAIN, NODATA, SERVFAIL and timeout are told
 *     apart; a TXT RRset of two records is returned whole;
 *   - RFC 1035 §3.3.14 / §3.3.9: TXT character-strings are joined and may
 *     hold NUL bytes; MX names are lower-cased, sorted by preference;
 *     RFC 7505: a null MX ("0 .") reads as host "";
 *   - every network wait has a deadline: a forwarder that never answers
 *     gives TIMEOUT within timeout_ms + slack, and sts_dns_free() with
 *     queries pending returns promptly and wakes their callers;
 *   - answers are capped (64 records), malformed rdata is SERVFAIL;
 *   - 64 threads querying at once, and answers racing the deadline, are
 *     safe (run under ASan/UBSan and TSan).
 *
 * The edge cases the world's zone cannot express are served by a small
 * scripted DNS server inside this program ("fake"), on 127.0.0.1; a
 * second socket that reads queries and never answers is the "blackhole".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/tap.h"
#include "mtasts/dns.h"

static struct sts_dns *dns_open(const char *fwd, unsigned timeout_ms)
{
    struct sts_dns_config cfg = {.forwarders = fwd, .timeout_ms = timeout_ms};
    struct sts_dns *dns = NULL;
    char err[256] = "";
    if (sts_dns_new(&cfg, &dns, err, sizeof(err)) != STS_OK) {
        diag("sts_dns_new(%s): %s", fwd, err);
        bail("cannot create the resolver");
    }
    return dns;
}

/* Query and check the result word; returns the answer (NULL on failure). */
static struct sts_dns_answer *ask(struct sts_dns *dns, const char *name, enum sts_dns_type type,
                                  enum sts_dns_result want)
{
    struct sts_dns_answer *a = NULL;
    enum sts_status st = sts_dns_query(dns, name, type, &a);
    if (st != STS_OK || a == NULL) {
        ok(false, "%s type %d: got status %s, want ok", name, (int)type, sts_status_word(st));
        return NULL;
    }
    if (!ok(a->result == want, "%s type %d: %s", name, (int)type, sts_dns_result_name(want)))
        diag("got %s (%s), want %s", sts_dns_result_name(a->result), a->why,
             sts_dns_result_name(want));
    return a;
}

/* ------------------------------------------------- a scripted DNS server */

struct rr {
    uint16_t type;
    uint16_t len;
    const char *rdata;
};

struct zone_entry {
    const char *name; /* lower case, no trailing dot */
    uint16_t type;    /* 0: any type */
    int rcode;
    int delay_ms; /* answer late (a random 0..delay_ms more) */
    const struct rr *rrs;
    size_t nrrs;
};

/* RR(type, "rdata"): the length is the literal's, NUL bytes included. */
#define RR(type, lit)                                                                              \
    {                                                                                              \
        (type), sizeof(lit) - 1, (lit)                                                             \
    }

/* MX rdata: 2-octet preference, then a name; "\xc0\x0f" points into the
 * question ("mx.fake.test" at offset 12, so "fake.test" at 15), exercising
 * libunbound's decompression.  Literals are split where a hex escape would
 * swallow the next letter. */
static const struct rr mx_rrs[] = {
    RR(15, "\x00\x1e\x03MX3\x04"
           "Fake\x04Test\x00"),
    RR(15, "\x00\x0a\x03mx1\x04"
           "FAKE\x04test\x00"),
    RR(15, "\x00\x14\x03Mx2\xc0\x0f"),
    RR(15, "\x00\x0a\x04mx1b\x04"
           "fake\x04test\x00"),
};
static const struct rr nullmx_rrs[] = {RR(15, "\x00\x00\x00")};
static const struct rr txtnul_rrs[] = {
    RR(16, "\x03"
           "a\0b\x02"
           "cd"),
    RR(16, "\x00"),
};
static const struct rr badtxt_rrs[] = {RR(16, "\x09"
                                              "abc")}; /* says 9, has 3 */
static const struct rr tlsa_rrs[] = {RR(52, "\x03\x01\x01\xde\xad\xbe\xef")};
static const struct rr aaaa_rrs[] = {
    RR(28, "\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"),
};
static struct rr many_rrs[70];
static char many_rdata[70][4];
static const struct rr slow_rrs[] = {RR(16, "\x07v=STSv1")};

static const struct zone_entry fake_zone[] = {
    {"mx.fake.test", 15, 0, 0, mx_rrs, 4},
    {"nullmx.fake.test", 15, 0, 0, nullmx_rrs, 1},
    {"txtnul.fake.test", 16, 0, 0, txtnul_rrs, 2},
    {"badtxt.fake.test", 16, 0, 0, badtxt_rrs, 1},
    {"_25._tcp.mx.fake.test", 52, 0, 0, tlsa_rrs, 1},
    {"aaaa.fake.test", 28, 0, 0, aaaa_rrs, 1},
    {"many.fake.test", 1, 0, 0, many_rrs, 70},
    {"refused.fake.test", 0, 5, 0, NULL, 0},
    {"servfail.fake.test", 0, 2, 0, NULL, 0},
    {"slow.fake.test", 16, 0, 120, slow_rrs, 1}, /* prefix match: slowN.fake.test */
};

struct delayed {
    long long due;
    struct sockaddr_in to;
    size_t len;
    unsigned char pkt[1500];
};

struct server {
    int fd;
    unsigned port;
    bool answer; /* false: the blackhole */
    atomic_bool stop;
    atomic_int received;
    pthread_t thread;
    struct delayed *later;
    size_t nlater;
    unsigned seed;
};

static const struct zone_entry *zone_find(const char *qname, uint16_t qtype)
{
    for (size_t i = 0; i < sizeof(fake_zone) / sizeof(fake_zone[0]); i++) {
        const struct zone_entry *z = &fake_zone[i];
        bool match = strcmp(z->name, qname) == 0;
        if (!match && strcmp(z->name, "slow.fake.test") == 0)
            match = strncmp(qname, "slow", 4) == 0 && strstr(qname, ".fake.test") != NULL;
        if (match && (z->type == 0 || z->type == qtype || z->rcode != 0))
            return z;
        if (match)
            return NULL; /* NODATA: no records of that type */
    }
    return NULL;
}

static bool zone_exists(const char *qname)
{
    for (size_t i = 0; i < sizeof(fake_zone) / sizeof(fake_zone[0]); i++)
        if (strcmp(fake_zone[i].name, qname) == 0 || strncmp(qname, "slow", 4) == 0)
            return true;
    return false;
}

/* Build the response to q[0..n) into r; returns its length, 0 to drop. */
static size_t fake_respond(struct server *s, const unsigned char *q, size_t n, unsigned char *r,
                           size_t rmax, int *delay_ms)
{
    char qname[256];
    size_t off = 12, o = 0;
    *delay_ms = 0;
    if (n < 12 || (q[2] & 0x80) != 0 || q[4] != 0 || q[5] != 1)
        return 0;
    for (;;) { /* queries carry no compression */
        if (off >= n)
            return 0;
        size_t l = q[off++];
        if (l == 0)
            break;
        if (l > 63 || l > n - off || o + l + 1 >= sizeof(qname))
            return 0;
        if (o > 0)
            qname[o++] = '.';
        for (size_t k = 0; k < l; k++) {
            char c = (char)q[off + k];
            qname[o++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        }
        off += l;
    }
    qname[o] = '\0';
    if (n - off < 4)
        return 0;
    uint16_t qtype = (uint16_t)(q[off] << 8 | q[off + 1]);
    size_t qend = off + 4;

    const struct zone_entry *z = zone_find(qname, qtype);
    int rcode = z != NULL ? z->rcode : zone_exists(qname) ? 0 : 3;
    if (qend > rmax)
        return 0;
    memcpy(r, q, qend);
    r[2] = (unsigned char)(0x84 | (q[2] & 0x01)); /* QR, AA, RD copied */
    r[3] = (unsigned char)(0x80 | rcode);         /* RA */
    r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
    size_t w = qend, count = 0;
    if (z != NULL && rcode == 0) {
        for (size_t i = 0; i < z->nrrs; i++) {
            const struct rr *rr = &z->rrs[i];
            if (w + 12 + rr->len > rmax)
                return 0;
            unsigned char *p = r + w;
            p[0] = 0xc0, p[1] = 0x0c; /* the question's name */
            p[2] = (unsigned char)(rr->type >> 8), p[3] = (unsigned char)rr->type;
            p[4] = 0, p[5] = 1;                           /* IN */
            p[6] = 0, p[7] = 0, p[8] = 0x01, p[9] = 0x2c; /* TTL 300 */
            p[10] = (unsigned char)(rr->len >> 8), p[11] = (unsigned char)rr->len;
            memcpy(p + 12, rr->rdata, rr->len);
            w += 12 + rr->len;
            count++;
        }
        if (z->delay_ms > 0)
            *delay_ms = z->delay_ms / 2 + (int)(rand_r(&s->seed) % (unsigned)z->delay_ms);
    }
    r[6] = (unsigned char)(count >> 8);
    r[7] = (unsigned char)count;
    return w;
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    while (!atomic_load(&s->stop)) {
        long long now = tap_now_ms();
        int wait = 50;
        for (size_t i = 0; i < s->nlater;) {
            struct delayed *d = &s->later[i];
            if (d->due <= now) {
                (void)sendto(s->fd, d->pkt, d->len, 0, (struct sockaddr *)&d->to, sizeof(d->to));
                s->later[i] = s->later[--s->nlater];
                continue;
            }
            if (d->due - now < wait)
                wait = (int)(d->due - now);
            i++;
        }
        struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
        if (poll(&pfd, 1, wait) <= 0)
            continue;
        unsigned char q[1500], r[1500];
        struct sockaddr_in from;
        socklen_t fromlen = sizeof(from);
        ssize_t n = recvfrom(s->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fromlen);
        if (n <= 0)
            continue;
        atomic_fetch_add(&s->received, 1);
        if (!s->answer)
            continue;
        int delay = 0;
        size_t len = fake_respond(s, q, (size_t)n, r, sizeof(r), &delay);
        if (len == 0)
            continue;
        if (delay > 0 && s->nlater < 256) {
            struct delayed *d = &s->later[s->nlater++];
            d->due = tap_now_ms() + delay;
            d->to = from;
            d->len = len;
            memcpy(d->pkt, r, len);
        } else if (delay == 0) {
            (void)sendto(s->fd, r, len, 0, (struct sockaddr *)&from, fromlen);
        }
    }
    return NULL;
}

static void server_start(struct server *s, bool answer)
{
    memset(s, 0, sizeof(*s));
    s->answer = answer;
    s->seed = 12345;
    s->later = calloc(256, sizeof(*s->later));
    s->fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sin);
    if (s->later == NULL || s->fd < 0 || bind(s->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&sin, &len) != 0)
        bail("cannot bind a UDP socket on 127.0.0.1");
    s->port = ntohs(sin.sin_port);
    if (pthread_create(&s->thread, NULL, server_main, s) != 0)
        bail("pthread_create");
}

static void server_stop(struct server *s)
{
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    close(s->fd);
    free(s->later);
}

/* ------------------------------------------------------ world test points */

struct world_case {
    const char *name;
    enum sts_dns_type type;
    enum sts_dns_result want;
};

/* What every thread of the concurrency test asks, round-robin. */
static const struct world_case world_mix[] = {
    {"_mta-sts.good.test", STS_DNS_TXT, STS_DNS_ANSWER},
    {"good.test", STS_DNS_MX, STS_DNS_ANSWER},
    {"_mta-sts.nosuch.test", STS_DNS_TXT, STS_DNS_NXDOMAIN},
    {"nopolicy.test", STS_DNS_TXT, STS_DNS_NODATA},
    {"_mta-sts.twotxt.test", STS_DNS_TXT, STS_DNS_ANSWER},
    {"mx1.good.test", STS_DNS_A, STS_DNS_ANSWER},
};

struct hammer {
    struct sts_dns *dns;
    int index, rounds;
    const struct world_case *cases;
    size_t ncases;
    int wrong;
    int counts[STS_DNS_ERROR + 1];
    char first_wrong[160];
};

static void *hammer_main(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < h->rounds; i++) {
        const struct world_case *c = &h->cases[(size_t)(h->index + i) % h->ncases];
        struct sts_dns_answer *a = NULL;
        enum sts_status st = sts_dns_query(h->dns, c->name, c->type, &a);
        enum sts_dns_result got = (st == STS_OK && a != NULL) ? a->result : STS_DNS_ERROR;
        h->counts[got]++;
        if (c->want != (enum sts_dns_result) - 1 && got != c->want) {
            if (h->wrong++ == 0)
                snprintf(h->first_wrong, sizeof(h->first_wrong), "%s: got %s (%s), want %s",
                         c->name, sts_dns_result_name(got), a != NULL ? a->why : "",
                         sts_dns_result_name(c->want));
        }
        sts_dns_answer_free(a);
    }
    return NULL;
}

#define NTHREADS 64

/* Run NTHREADS threads of hammer_main; returns the number of wrong answers. */
static int hammer_run(struct sts_dns *dns, const struct world_case *cases, size_t ncases,
                      int rounds, int counts[STS_DNS_ERROR + 1])
{
    static struct hammer h[NTHREADS];
    pthread_t t[NTHREADS];
    int wrong = 0;
    memset(counts, 0, sizeof(int) * (STS_DNS_ERROR + 1));
    for (int i = 0; i < NTHREADS; i++) {
        memset(&h[i], 0, sizeof(h[i]));
        h[i].dns = dns, h[i].index = i, h[i].rounds = rounds;
        h[i].cases = cases, h[i].ncases = ncases;
        if (pthread_create(&t[i], NULL, hammer_main, &h[i]) != 0)
            bail("pthread_create");
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        if (h[i].wrong > 0 && wrong == 0)
            diag("thread %d: %s", i, h[i].first_wrong);
        wrong += h[i].wrong;
        for (int k = 0; k <= STS_DNS_ERROR; k++)
            counts[k] += h[i].counts[k];
    }
    return wrong;
}

static void test_world(const char *fwd)
{
    struct sts_dns *dns = dns_open(fwd, 3000);
    struct sts_dns_answer *a;

    a = ask(dns, "_mta-sts.good.test", STS_DNS_TXT, STS_DNS_ANSWER);
    if (a != NULL && a->result == STS_DNS_ANSWER) {
        ok(a->count == 1, "good.test TXT: one record (got %zu)", a->count);
        ok(a->txt_len[0] == strlen(a->txt[0]) && strncmp(a->txt[0], "v=STSv1;", 8) == 0,
           "good.test TXT: \"%s\" is a v=STSv1 record", a->txt[0]);
        /* the world's TTLs are 1 s: what was left of it may read 0 */
        ok(a->ttl <= 1 && a->dnssec == STS_DNSSEC_INSECURE, "good.test TXT: ttl %u, %s", a->ttl,
           sts_dnssec_name(a->dnssec));
        ok(a->mx == NULL && a->addr == NULL && a->tlsa == NULL, "good.test TXT: only txt set");
    } else {
        skip(4, "no TXT answer");
    }
    sts_dns_answer_free(a);

    a = ask(dns, "_mta-sts.twotxt.test", STS_DNS_TXT, STS_DNS_ANSWER);
    ok(a != NULL && a->count == 2 && strncmp(a->txt[0], "v=STSv1", 7) == 0 &&
           strncmp(a->txt[1], "v=STSv1", 7) == 0 && strcmp(a->txt[0], a->txt[1]) != 0,
       "twotxt.test: both TXT records of the RRset");
    sts_dns_answer_free(a);

    a = ask(dns, "_mta-sts.nosuch.test", STS_DNS_TXT, STS_DNS_NXDOMAIN);
    ok(a != NULL && a->count == 0 && a->txt == NULL, "nxdomain: no records");
    sts_dns_answer_free(a);
    sts_dns_answer_free(ask(dns, "_mta-sts.nopolicy.test", STS_DNS_TXT, STS_DNS_NXDOMAIN));
    a = ask(dns, "nopolicy.test", STS_DNS_TXT, STS_DNS_NODATA);
    ok(a != NULL && a->count == 0, "nodata: no records (negative ttl %u)", a ? a->ttl : 0);
    sts_dns_answer_free(a);

    a = ask(dns, "good.test", STS_DNS_MX, STS_DNS_ANSWER);
    ok(a != NULL && a->count == 1 && a->mx[0].preference == 10 &&
           strcmp(a->mx[0].host, "mx1.good.test") == 0,
       "good.test MX: 10 mx1.good.test (got %s)", a && a->count ? a->mx[0].host : "-");
    sts_dns_answer_free(a);

    a = ask(dns, "mx1.good.test", STS_DNS_A, STS_DNS_ANSWER);
    ok(a != NULL && a->count >= 1 && strncmp(a->addr[0], "127.", 4) == 0,
       "mx1.good.test A: a loopback address (got %s)", a && a->count ? a->addr[0] : "-");
    sts_dns_answer_free(a);

    a = ask(dns, "mta-sts.v6mapped.test", STS_DNS_AAAA, STS_DNS_ANSWER);
    ok(a != NULL && a->count == 1 && strcmp(a->addr[0], "::ffff:10.255.255.1") == 0,
       "v6mapped AAAA: ::ffff:10.255.255.1 (got %s)", a && a->count ? a->addr[0] : "-");
    sts_dns_answer_free(a);

    int counts[STS_DNS_ERROR + 1];
    long long t0 = tap_now_ms();
    int wrong = hammer_run(dns, world_mix, sizeof(world_mix) / sizeof(world_mix[0]), 25, counts);
    ok(wrong == 0, "%d threads x 25 queries at once: every answer right (%d wrong, %lld ms)",
       NTHREADS, wrong, tap_now_ms() - t0);
    sts_dns_free(dns);
}

/* ------------------------------------------------------- fake test points */

static void test_fake(void)
{
    struct server s;
    server_start(&s, true);
    char fwd[64];
    snprintf(fwd, sizeof(fwd), "127.0.0.1@%u", s.port);
    struct sts_dns *dns = dns_open(fwd, 2000);
    struct sts_dns_answer *a;

    a = ask(dns, "mx.fake.test", STS_DNS_MX, STS_DNS_ANSWER);
    /* equal preferences may come in either order: libunbound rotates RRsets */
    static const char *want_mx[] = {"mx1.fake.test", "mx1b.fake.test", "mx2.fake.test",
                                    "mx3.fake.test"};
    static const uint16_t want_pref[] = {10, 10, 20, 30};
    bool good = a != NULL && a->count == 4;
    for (size_t i = 0; good && i < 4; i++) {
        size_t alt = i < 2 ? 1 - i : i; /* the other of the two preference-10 names */
        good = a->mx[i].preference == want_pref[i] &&
               (strcmp(a->mx[i].host, want_mx[i]) == 0 || strcmp(a->mx[i].host, want_mx[alt]) == 0);
    }
    good = good && strcmp(a->mx[0].host, a->mx[1].host) != 0;
    if (!ok(good, "MX: sorted by preference, lower-case, no trailing dot") && a)
        for (size_t i = 0; i < a->count; i++)
            diag("got %u %s", a->mx[i].preference, a->mx[i].host);
    sts_dns_answer_free(a);

    a = ask(dns, "nullmx.fake.test", STS_DNS_MX, STS_DNS_ANSWER);
    ok(a != NULL && a->count == 1 && a->mx[0].preference == 0 && a->mx[0].host[0] == '\0',
       "null MX (RFC 7505): host \"\"");
    sts_dns_answer_free(a);

    a = ask(dns, "txtnul.fake.test", STS_DNS_TXT, STS_DNS_ANSWER);
    good = a != NULL && a->count == 2;
    if (good) {
        size_t k = a->txt_len[0] == 5 ? 0 : 1; /* in either order */
        good = a->txt_len[k] == 5 && memcmp(a->txt[k], "a\0bcd", 6) == 0 &&
               a->txt_len[1 - k] == 0 && a->txt[1 - k][0] == '\0';
    }
    ok(good, "TXT: character-strings joined, NUL bytes kept with their length");
    sts_dns_answer_free(a);

    a = ask(dns, "badtxt.fake.test", STS_DNS_TXT, STS_DNS_SERVFAIL);
    ok(a != NULL && a->count == 0 && a->txt == NULL, "malformed TXT: no records (why: %s)",
       a ? a->why : "-");
    sts_dns_answer_free(a);

    a = ask(dns, "_25._tcp.mx.fake.test", STS_DNS_TLSA, STS_DNS_ANSWER);
    ok(a != NULL && a->count == 1 && a->tlsa[0].usage == 3 && a->tlsa[0].selector == 1 &&
           a->tlsa[0].mtype == 1 && a->tlsa[0].len == 4 &&
           memcmp(a->tlsa[0].data, "\xde\xad\xbe\xef", 4) == 0,
       "TLSA: 3 1 1 deadbeef");
    sts_dns_answer_free(a);

    a = ask(dns, "aaaa.fake.test", STS_DNS_AAAA, STS_DNS_ANSWER);
    ok(a != NULL && a->count == 1 && strcmp(a->addr[0], "2001:db8::1") == 0 && a->ttl >= 298 &&
           a->ttl <= 300,
       "AAAA: 2001:db8::1, the record's TTL (%u, want 300)", a ? a->ttl : 0);
    sts_dns_answer_free(a);

    a = ask(dns, "many.fake.test", STS_DNS_A, STS_DNS_ANSWER);
    good = a != NULL && a->count == 64 && strstr(a->why, "truncated") != NULL;
    for (size_t i = 0; good && i < a->count; i++) /* libunbound may rotate the RRset */
        good = strncmp(a->addr[i], "10.0.0.", 7) == 0;
    ok(good, "70 A records: 64 kept, why says truncated (%s)", a ? a->why : "-");
    sts_dns_answer_free(a);

    sts_dns_answer_free(ask(dns, "refused.fake.test", STS_DNS_TXT, STS_DNS_SERVFAIL));
    sts_dns_answer_free(ask(dns, "servfail.fake.test", STS_DNS_TXT, STS_DNS_SERVFAIL));
    sts_dns_answer_free(ask(dns, "absent.fake.test", STS_DNS_TXT, STS_DNS_NXDOMAIN));
    sts_dns_answer_free(ask(dns, "mx.fake.test", STS_DNS_A, STS_DNS_NODATA));

    a = NULL;
    ok(sts_dns_query(dns, "a..b", STS_DNS_TXT, &a) == STS_EINVAL && a == NULL,
       "empty label: STS_EINVAL");
    ok(sts_dns_query(dns, "a b.test", STS_DNS_TXT, &a) == STS_EINVAL, "space: STS_EINVAL");
    ok(sts_dns_query(dns, "x.test", (enum sts_dns_type)99, &a) == STS_EINVAL,
       "unknown type: STS_EINVAL");
    sts_dns_free(dns);

    /* Answers racing the deadline: half arrive before 100 ms, half after. */
    dns = dns_open(fwd, 100);
    static struct world_case slow[NTHREADS];
    static char names[NTHREADS][32];
    for (int i = 0; i < NTHREADS; i++) {
        snprintf(names[i], sizeof(names[i]), "slow%d.fake.test", i);
        slow[i] = (struct world_case){names[i], STS_DNS_TXT, (enum sts_dns_result) - 1};
    }
    int counts[STS_DNS_ERROR + 1];
    hammer_run(dns, slow, NTHREADS, 3, counts);
    ok(counts[STS_DNS_ANSWER] + counts[STS_DNS_TIMEOUT] == NTHREADS * 3,
       "answers racing a 100 ms deadline: %d answers, %d timeouts, nothing else",
       counts[STS_DNS_ANSWER], counts[STS_DNS_TIMEOUT]);
    sts_dns_free(dns);
    server_stop(&s);
}

struct pending_arg {
    struct sts_dns *dns;
    char name[32];
    enum sts_status st;
    enum sts_dns_result result;
    long long returned_at;
};

static void *pending_main(void *arg)
{
    struct pending_arg *p = arg;
    struct sts_dns_answer *a = NULL;
    p->st = sts_dns_query(p->dns, p->name, STS_DNS_TXT, &a);
    p->result = a != NULL ? a->result : STS_DNS_ANSWER;
    p->returned_at = tap_now_ms();
    sts_dns_answer_free(a);
    return NULL;
}

static void test_timeout(void)
{
    struct server hole;
    server_start(&hole, false);
    char fwd[64];
    snprintf(fwd, sizeof(fwd), "127.0.0.1@%u", hole.port);

    struct sts_dns *dns = dns_open(fwd, 500);
    for (int i = 0; i < 2; i++) {
        long long t0 = tap_now_ms();
        struct sts_dns_answer *a =
            ask(dns, i ? "again.hole.test" : "hole.test", STS_DNS_TXT, STS_DNS_TIMEOUT);
        long long took = tap_now_ms() - t0;
        ok(took >= 490 && took <= 500 + 300, "timeout %d after %lld ms (want 500 + slack)", i,
           took);
        sts_dns_answer_free(a);
    }
    ok(atomic_load(&hole.received) >= 1, "the blackhole saw the queries (%d)",
       atomic_load(&hole.received));
    long long t0 = tap_now_ms();
    sts_dns_free(dns);
    ok(tap_now_ms() - t0 < 1000, "free after timeouts: %lld ms", tap_now_ms() - t0);

    /* sts_dns_free() while 8 callers wait on a 20 s deadline */
    enum { NPEND = 8 };
    dns = dns_open(fwd, 20000);
    struct pending_arg p[NPEND];
    pthread_t t[NPEND];
    int before = atomic_load(&hole.received);
    for (int i = 0; i < NPEND; i++) {
        p[i] = (struct pending_arg){.dns = dns};
        snprintf(p[i].name, sizeof(p[i].name), "pending%d.hole.test", i);
        if (pthread_create(&t[i], NULL, pending_main, &p[i]) != 0)
            bail("pthread_create");
    }
    long long until = tap_now_ms() + 5000; /* all are in flight when the hole saw them */
    while (atomic_load(&hole.received) - before < NPEND && tap_now_ms() < until) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    ok(atomic_load(&hole.received) - before >= NPEND, "%d queries in flight",
       atomic_load(&hole.received) - before);
    t0 = tap_now_ms();
    sts_dns_free(dns);
    long long freed = tap_now_ms() - t0;
    ok(freed < 2000, "free with %d queries pending: %lld ms", NPEND, freed);
    bool all = true;
    for (int i = 0; i < NPEND; i++) {
        pthread_join(t[i], NULL);
        if (p[i].st != STS_OK || p[i].result != STS_DNS_ERROR || p[i].returned_at > t0 + 2000)
            all = false;
    }
    ok(all, "every waiting caller returned promptly with result \"error\"");
    server_stop(&hole);
}

/* --------------------------------------------------------- configuration */

static void test_config(void)
{
    static const struct {
        const char *fwd, *anchor, *want_in_err;
    } bad[] = {
        {"not-an-address", NULL, "not-an-address"},
        {"127.0.0.1@99999", NULL, "port"},
        {"127.0.0.1@", NULL, "port"},
        {"  ", NULL, "no forwarder"},
        {"127.0.0.1 ::1@53 300.1.1.1", NULL, "300.1.1.1"},
        {"127.0.0.1", "/nonexistent/anchor", "/nonexistent/anchor"},
        {"127.0.0.1", "/tmp", "not a regular file"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sts_dns_config cfg = {.forwarders = bad[i].fwd, .trust_anchor_file = bad[i].anchor};
        struct sts_dns *dns = (struct sts_dns *)&cfg; /* must be reset to NULL */
        char err[256] = "";
        enum sts_status st = sts_dns_new(&cfg, &dns, err, sizeof(err));
        ok(st == STS_EINVAL && dns == NULL && strstr(err, bad[i].want_in_err) != NULL,
           "bad config \"%s\" %s: invalid, \"%s\"", bad[i].fwd, bad[i].anchor ? bad[i].anchor : "",
           err);
    }

    /* an anchor file that is not DS/DNSKEY records fails at creation */
    char path[] = "/tmp/test_dns_anchor.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || write(fd, "this is not a zone file\n", 24) != 24)
        bail("mkstemp");
    close(fd);
    struct sts_dns_config cfg = {.forwarders = "127.0.0.1", .trust_anchor_file = path};
    struct sts_dns *dns = NULL;
    char err[256] = "";
    diag("libunbound may log the parse error of %s below", path);
    enum sts_status st = sts_dns_new(&cfg, &dns, err, sizeof(err));
    ok(st == STS_EINVAL && dns == NULL, "garbage anchor file: invalid, \"%s\"", err);
    sts_dns_free(dns);
    unlink(path);

    cfg = (struct sts_dns_config){.forwarders = "127.0.0.1@53 ::1@5353, 127.0.0.2"};
    st = sts_dns_new(&cfg, &dns, err, sizeof(err));
    ok(st == STS_OK && dns != NULL, "three forwarders, v4 and v6, with ports: ok");
    sts_dns_free(dns);
    sts_dns_free(NULL);
    sts_dns_answer_free(NULL);
    ok(strcmp(sts_dns_result_name(STS_DNS_NODATA), "nodata") == 0 &&
           strcmp(sts_dns_result_name(STS_DNS_TIMEOUT), "timeout") == 0 &&
           strcmp(sts_dnssec_name(STS_DNSSEC_BOGUS), "bogus") == 0,
       "result and dnssec words");
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < 70; i++) {
        many_rdata[i][0] = 10, many_rdata[i][1] = 0, many_rdata[i][2] = 0;
        many_rdata[i][3] = (char)i;
        many_rrs[i] = (struct rr){1, 4, many_rdata[i]};
    }
    test_config();
    test_fake();
    test_timeout();
    if (argc > 1)
        test_world(argv[1]);
    else
        skip(1, "no world forwarder given (usage: test_dns ADDR@PORT)");
    return done_testing();
}
