/*
 * dns.c - the resolver: one libunbound context in asynchronous (thread)
 * mode, one dispatcher thread, a deadline per query.
 *
 * Life of a query:
 *   1. the caller links a struct dns_query on dns->pending and hands it to
 *      ub_resolve_async(); libunbound's own background thread resolves;
 *   2. the dispatcher thread polls ub_fd() and calls ub_process(), which
 *      runs dns_callback() for finished queries: it unlinks the query,
 *      and under the query's mutex either delivers the ub_result (state
 *      WAITING -> DONE) or, if the caller has gone, frees it;
 *   3. the caller waits on its own condition variable until DONE or the
 *      deadline (clock.h, CLOCK_MONOTONIC); on timeout it marks the query
 *      ABANDONED and calls ub_cancel();
 *   4. the caller builds the answer from the ub_result, outside any lock.
 *
 * Memory: a query holds two references, the caller's and the callback's.
 * The callback's is dropped by dns_callback(), or by the caller when
 * ub_cancel() succeeds (libunbound then never calls back: it checks its
 * "cancelled" flag under the same lock it takes to dequeue the answer),
 * or by sts_dns_free() for queries whose answer never came.  Whoever drops
 * the last reference frees the query.
 *
 * The RDATA of an answer is parsed by the pure dns_rdata.c (dns_rdata.h);
 * this file turns libunbound's outcome (rcode, bogus, havedata) around it
 * into an answer.
 *
 * Lock order: dns->mu before dns_query.mu; neither is held across a
 * network wait, and libunbound's calls are made with no lock of ours held.
 */
#include "mtasts/dns.h"
#include "mtasts/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <unbound.h>

#include "mtasts/clock.h"

#define DNS_DEFAULT_TIMEOUT_MS 5000
#define DNS_CLASS_IN 1
#define DNS_RCODE_NXDOMAIN 3
#define DNS_OUTGOING_RANGE "256" /* UDP sockets libunbound may use at once */

enum dns_qstate {
    DNS_Q_WAITING = 0, /* the caller waits for the callback */
    DNS_Q_DONE,        /* the callback delivered err/res */
    DNS_Q_ABANDONED,   /* the caller timed out; the callback discards */
    DNS_Q_ABORTED,     /* sts_dns_free() woke the caller */
};

struct dns_query {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    enum dns_qstate state; /* under mu */
    int refs;              /* under mu */
    int err;               /* from the callback, under mu */
    struct ub_result *res; /* from the callback, under mu */
    struct sts_dns *dns;
    struct dns_query *prev, *next; /* dns->pending, under dns->mu */
    bool linked;                   /* under dns->mu */
};

struct sts_dns {
    struct ub_ctx *ctx;
    unsigned timeout_ms;
    pthread_t dispatcher;
    int wake[2]; /* a byte on wake[1] stops the dispatcher */
    pthread_mutex_t mu;
    pthread_cond_t idle;       /* active dropped to 0 while closing */
    struct dns_query *pending; /* queries whose callback may still run */
    unsigned active;           /* callers inside sts_dns_query() */
    bool closing;
    bool broken; /* libunbound's result pipe failed */
};

/* ---------------------------------------------------------------- names */

static const char *const rcode_names[] = {NULL, "FORMERR", "SERVFAIL", NULL, "NOTIMP", "REFUSED"};

/* -------------------------------------------------------------- answers */

__attribute__((format(printf, 3, 4))) static void
answer_set(struct sts_dns_answer *a, enum sts_dns_result result, const char *fmt, ...)
{
    a->result = result;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->why, sizeof(a->why), fmt, ap);
    va_end(ap);
}

/*
 * The records of a NOERROR answer with data, parsed by dns_rdata.c from
 * libunbound's (data, len) arrays; a negative length is malformed.
 */
static enum sts_status answer_records(struct sts_dns_answer *a, enum sts_dns_type type,
                                      const struct ub_result *r)
{
    size_t n = 0;
    while (r->data[n] != NULL) {
        if (r->len == NULL || r->len[n] < 0)
            return STS_EINVAL;
        n++;
    }
    struct sts_dns_rdata *rr = calloc(n, sizeof(*rr)); /* n > 0: data[0] is set */
    if (rr == NULL)
        return STS_ENOMEM;
    for (size_t i = 0; i < n; i++)
        rr[i] = (struct sts_dns_rdata){(const unsigned char *)r->data[i], (size_t)r->len[i]};
    enum sts_status st = sts_dns_rdata_parse(type, rr, n, a);
    free(rr);
    return st;
}

/* Turn libunbound's outcome into an answer; STS_ENOMEM is the only failure. */
static enum sts_status answer_fill(struct sts_dns_answer *a, enum sts_dns_type type, int err,
                                   const struct ub_result *r)
{
    if (err != 0 || r == NULL) {
        answer_set(a, STS_DNS_ERROR, "libunbound: %s", ub_strerror(err));
        return STS_OK;
    }
    if (r->bogus) {
        char shown[sizeof(a->why)];
        const char *why = r->why_bogus != NULL ? r->why_bogus : "validation failed";
        a->dnssec = STS_DNSSEC_BOGUS;
        answer_set(a, STS_DNS_SERVFAIL, "%s",
                   sts_status_quote(why, strlen(why), shown, sizeof(shown)));
        return STS_OK; /* its TTL cannot be trusted: leave 0 */
    }
    a->dnssec = r->secure ? STS_DNSSEC_SECURE : STS_DNSSEC_INSECURE;
    a->ttl = r->ttl > 0 ? (uint32_t)r->ttl : 0;
    if (r->rcode == DNS_RCODE_NXDOMAIN) {
        a->result = STS_DNS_NXDOMAIN;
        return STS_OK;
    }
    if (r->rcode != 0) {
        const char *name = (size_t)r->rcode < sizeof(rcode_names) / sizeof(rcode_names[0])
                               ? rcode_names[r->rcode]
                               : NULL;
        a->dnssec = STS_DNSSEC_INSECURE;
        if (name != NULL)
            answer_set(a, STS_DNS_SERVFAIL, "rcode %s", name);
        else
            answer_set(a, STS_DNS_SERVFAIL, "rcode %d", r->rcode);
        return STS_OK;
    }
    if (!r->havedata || r->data == NULL || r->data[0] == NULL) {
        a->result = STS_DNS_NODATA;
        return STS_OK;
    }
    a->result = STS_DNS_ANSWER;
    enum sts_status st = answer_records(a, type, r); /* frees what it kept on failure */
    if (st == STS_OK)
        return STS_OK;
    if (st == STS_ENOMEM)
        return STS_ENOMEM;
    a->ttl = 0;
    a->dnssec = STS_DNSSEC_INSECURE;
    answer_set(a, STS_DNS_SERVFAIL, "malformed %s record", sts_dns_type_name(type));
    return STS_OK;
}

/* -------------------------------------------------------------- queries */

static struct dns_query *query_new(struct sts_dns *dns)
{
    struct dns_query *q = calloc(1, sizeof(*q));
    if (q == NULL)
        return NULL;
    if (pthread_mutex_init(&q->mu, NULL) != 0) {
        free(q);
        return NULL;
    }
    if (sts_cond_init_monotonic(&q->cond) != 0) {
        pthread_mutex_destroy(&q->mu);
        free(q);
        return NULL;
    }
    q->dns = dns;
    q->refs = 2;
    q->state = DNS_Q_WAITING;
    return q;
}

static void query_destroy(struct dns_query *q)
{
    if (q->res != NULL)
        ub_resolve_free(q->res);
    pthread_cond_destroy(&q->cond);
    pthread_mutex_destroy(&q->mu);
    free(q);
}

/* Drop one reference; frees the query on the last. */
static void query_unref(struct dns_query *q)
{
    pthread_mutex_lock(&q->mu);
    bool last = --q->refs == 0;
    pthread_mutex_unlock(&q->mu);
    if (last)
        query_destroy(q);
}

/* Caller holds dns->mu. */
static void pending_link(struct sts_dns *dns, struct dns_query *q)
{
    q->prev = NULL;
    q->next = dns->pending;
    if (dns->pending != NULL)
        dns->pending->prev = q;
    dns->pending = q;
    q->linked = true;
}

/* Caller holds dns->mu; no-op when not linked. */
static void pending_unlink(struct sts_dns *dns, struct dns_query *q)
{
    if (!q->linked)
        return;
    if (q->prev != NULL)
        q->prev->next = q->next;
    else
        dns->pending = q->next;
    if (q->next != NULL)
        q->next->prev = q->prev;
    q->prev = q->next = NULL;
    q->linked = false;
}

/* The callback's reference, dropped when libunbound will never call back. */
static void query_forget(struct sts_dns *dns, struct dns_query *q)
{
    pthread_mutex_lock(&dns->mu);
    pending_unlink(dns, q);
    pthread_mutex_unlock(&dns->mu);
    query_unref(q);
}

/* Runs on the dispatcher thread, inside ub_process(). */
static void dns_callback(void *arg, int err, struct ub_result *res)
{
    struct dns_query *q = arg;
    struct sts_dns *dns = q->dns;

    pthread_mutex_lock(&dns->mu);
    pending_unlink(dns, q);
    pthread_mutex_unlock(&dns->mu);

    pthread_mutex_lock(&q->mu);
    if (q->state == DNS_Q_WAITING) {
        q->state = DNS_Q_DONE;
        q->err = err;
        q->res = res;
        res = NULL;
        pthread_cond_signal(&q->cond);
    }
    bool last = --q->refs == 0;
    pthread_mutex_unlock(&q->mu);
    if (res != NULL)
        ub_resolve_free(res);
    if (last)
        query_destroy(q);
}

/* From now on queries fail at once; those waiting run into their deadline. */
static void dispatcher_broken(struct sts_dns *dns)
{
    pthread_mutex_lock(&dns->mu);
    dns->broken = true;
    pthread_mutex_unlock(&dns->mu);
}

static void *dispatcher_main(void *arg)
{
    struct sts_dns *dns = arg;
    struct pollfd pfd[2] = {
        {.fd = dns->wake[0], .events = POLLIN},
        {.fd = ub_fd(dns->ctx), .events = POLLIN}, /* checked by sts_dns_new() */
    };
    nfds_t nfds = 2;

    for (;;) {
        if (poll(pfd, nfds, -1) < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == ENOMEM)
                continue;
            dispatcher_broken(dns);
            break;
        }
        if (pfd[0].revents != 0)
            break; /* sts_dns_free() */
        if (nfds == 2 && pfd[1].revents != 0) {
            /* an error on the pipe, or in ub_process(): libunbound's
             * background worker is gone; keep waiting for sts_dns_free() */
            if ((pfd[1].revents & (POLLERR | POLLHUP | POLLNVAL)) != 0 ||
                ub_process(dns->ctx) != UB_NOERROR) {
                dispatcher_broken(dns);
                nfds = 1;
            }
        }
    }
    return NULL;
}

/* A name we pass to libunbound: printable, no escapes, sane lengths. */
static bool name_ok(const char *name)
{
    size_t len = strnlen(name, STS_DNS_NAME_TEXT_MAX + 2);
    if (len > 0 && name[len - 1] == '.')
        len--; /* one root dot is allowed */
    if (len == 0 || len > STS_DNS_NAME_TEXT_MAX)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';')
            return false;
        if (++label > STS_DNS_LABEL_MAX)
            return false;
    }
    return label > 0;
}

/* Called with the query handed to libunbound; returns with the result. */
static enum sts_status query_wait(struct sts_dns *dns, struct dns_query *q, int async_id,
                                  struct sts_deadline deadline, unsigned timeout_ms,
                                  enum sts_dns_type type, struct sts_dns_answer *ans)
{
    pthread_mutex_lock(&q->mu);
    while (q->state == DNS_Q_WAITING) {
        int rc = sts_cond_wait_until(&q->cond, &q->mu, deadline);
        if (rc == ETIMEDOUT && q->state == DNS_Q_WAITING)
            q->state = DNS_Q_ABANDONED;
    }
    enum dns_qstate state = q->state;
    int err = q->err;
    struct ub_result *res = q->res;
    q->res = NULL;
    pthread_mutex_unlock(&q->mu);

    enum sts_status st = STS_OK;
    switch (state) {
    case DNS_Q_DONE:
        st = answer_fill(ans, type, err, res);
        ub_resolve_free(res);
        break;
    case DNS_Q_ABANDONED:
        /* Success means libunbound will never call back; failure means the
         * answer is being delivered and dns_callback() will discard it. */
        if (ub_cancel(dns->ctx, async_id) == UB_NOERROR)
            query_forget(dns, q);
        answer_set(ans, STS_DNS_TIMEOUT, "no answer within %u ms", timeout_ms);
        break;
    case DNS_Q_ABORTED:
    case DNS_Q_WAITING:
        answer_set(ans, STS_DNS_ERROR, "resolver shutting down");
        break;
    }
    return st;
}

enum sts_status sts_dns_query(struct sts_dns *dns, const char *name, enum sts_dns_type type,
                              struct sts_dns_answer **out)
{
    return sts_dns_query_within(dns, name, type, 0, out);
}

enum sts_status sts_dns_query_within(struct sts_dns *dns, const char *name, enum sts_dns_type type,
                                     unsigned timeout_ms, struct sts_dns_answer **out)
{
    if (out == NULL)
        return STS_EINVAL;
    *out = NULL;
    if (dns == NULL || name == NULL || sts_dns_type_name(type) == NULL || !name_ok(name))
        return STS_EINVAL;

    struct sts_dns_answer *ans = calloc(1, sizeof(*ans));
    if (ans == NULL)
        return STS_ENOMEM;
    struct dns_query *q = query_new(dns);
    if (q == NULL) {
        free(ans);
        return STS_ENOMEM;
    }
    if (timeout_ms == 0 || timeout_ms > dns->timeout_ms)
        timeout_ms = dns->timeout_ms;
    struct sts_deadline deadline = sts_deadline_in(timeout_ms);

    pthread_mutex_lock(&dns->mu);
    if (dns->closing || dns->broken) {
        bool closing = dns->closing;
        pthread_mutex_unlock(&dns->mu);
        query_destroy(q);
        answer_set(ans, STS_DNS_ERROR, "%s",
                   closing ? "resolver shutting down" : "resolver background worker failed");
        *out = ans;
        return STS_OK;
    }
    dns->active++;
    pending_link(dns, q);
    pthread_mutex_unlock(&dns->mu);

    enum sts_status st = STS_OK;
    int async_id = 0;
    int rc = ub_resolve_async(dns->ctx, name, (int)type, DNS_CLASS_IN, q, dns_callback, &async_id);
    if (rc != UB_NOERROR) {
        query_forget(dns, q); /* no callback for a query that was not sent */
        if (rc == UB_NOMEM)
            st = STS_ENOMEM;
        else if (rc == UB_SYNTAX)
            st = STS_EINVAL;
        else
            answer_set(ans, STS_DNS_ERROR, "libunbound: %s", ub_strerror(rc));
    } else {
        st = query_wait(dns, q, async_id, deadline, timeout_ms, type, ans);
    }
    query_unref(q);

    pthread_mutex_lock(&dns->mu);
    if (--dns->active == 0 && dns->closing)
        pthread_cond_broadcast(&dns->idle);
    pthread_mutex_unlock(&dns->mu);
    /* dns may be gone from here on */
    if (st == STS_OK)
        sts_metrics_dns(type, ans->result, ans->dnssec == STS_DNSSEC_BOGUS);

    if (st != STS_OK) {
        sts_dns_answer_free(ans);
        return st;
    }
    *out = ans;
    return STS_OK;
}

/* ---------------------------------------------------------- the context */

/* One "ADDR[@PORT]" of the forwarders list, copied into buf. */
static enum sts_status check_forwarder(const char *tok, size_t n, char *buf, size_t buflen,
                                       char *err, size_t errlen)
{
    char shown[80];
    if (n >= buflen)
        return sts_status_set(STS_EINVAL, err, errlen, "forwarder \"%s\" is too long",
                              sts_status_quote(tok, n, shown, sizeof(shown)));
    memcpy(buf, tok, n);
    buf[n] = '\0';
    char *at = strchr(buf, '@');
    if (at != NULL) {
        const char *p = at + 1;
        unsigned long port = 0;
        if (*p == '\0')
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "forwarder \"%s\": port missing after '@'",
                                  sts_status_quote(tok, n, shown, sizeof(shown)));
        for (; *p != '\0'; p++) {
            if (*p < '0' || *p > '9' || (port = port * 10 + (unsigned long)(*p - '0')) > 65535)
                return sts_status_set(STS_EINVAL, err, errlen,
                                      "forwarder \"%s\": port must be 1 to 65535",
                                      sts_status_quote(tok, n, shown, sizeof(shown)));
        }
        if (port == 0)
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "forwarder \"%s\": port must be 1 to 65535",
                                  sts_status_quote(tok, n, shown, sizeof(shown)));
        *at = '\0';
    }
    unsigned char bin[16];
    bool ok = inet_pton(AF_INET, buf, bin) == 1 || inet_pton(AF_INET6, buf, bin) == 1;
    if (at != NULL)
        *at = '@';
    if (!ok)
        return sts_status_set(STS_EINVAL, err, errlen,
                              "forwarder \"%s\" is not an IPv4 or IPv6 address (ADDR[@PORT])",
                              sts_status_quote(tok, n, shown, sizeof(shown)));
    return STS_OK;
}

static enum sts_status set_forwarders(struct ub_ctx *ctx, const char *list, char *err,
                                      size_t errlen)
{
    unsigned count = 0;
    const char *p = list;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        size_t n = strcspn(p, " \t,");
        char addr[INET6_ADDRSTRLEN + 8];
        enum sts_status st = check_forwarder(p, n, addr, sizeof(addr), err, errlen);
        if (st != STS_OK)
            return st;
        int rc = ub_ctx_set_fwd(ctx, addr);
        if (rc != UB_NOERROR)
            return sts_status_set(rc == UB_NOMEM ? STS_ENOMEM : STS_EINVAL, err, errlen,
                                  "forwarder \"%s\": %s", addr, ub_strerror(rc));
        count++;
        p += n;
    }
    if (count == 0)
        return sts_status_set(STS_EINVAL, err, errlen,
                              "no forwarder address given (want \"ADDR[@PORT] ...\")");
    return STS_OK;
}

static enum sts_status set_option(struct ub_ctx *ctx, const char *opt, const char *val, char *err,
                                  size_t errlen)
{
    int rc = ub_ctx_set_option(ctx, opt, val);
    if (rc != UB_NOERROR)
        return sts_status_set(rc == UB_NOMEM ? STS_ENOMEM : STS_EINVAL, err, errlen,
                              "libunbound option %s %s: %s", opt, val, ub_strerror(rc));
    return STS_OK;
}

/* libunbound reads the file only when finalising: say early what is wrong. */
static enum sts_status check_anchor_file(const char *path, char *err, size_t errlen)
{
    struct stat sb;
    if (path[0] == '\0')
        return sts_status_set(STS_EINVAL, err, errlen, "trust anchor file: empty file name");
    if (stat(path, &sb) != 0 || access(path, R_OK) != 0)
        return sts_status_set(STS_EINVAL, err, errlen, "trust anchor file \"%s\": %s", path,
                              strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return sts_status_set(STS_EINVAL, err, errlen,
                              "trust anchor file \"%s\": not a regular file", path);
    return STS_OK;
}

/* Configure the context; it is finalised here so that errors show now. */
static enum sts_status configure(struct ub_ctx *ctx, const struct sts_dns_config *cfg, char *err,
                                 size_t errlen)
{
    enum sts_status st;
    int rc;

    /* libunbound logs to stderr unless told; keep its errors there (the
     * milter's stderr goes to the service log) but never its chatter. */
    if ((st = set_option(ctx, "verbosity:", "0", err, errlen)) != STS_OK)
        return st;
    if ((st = set_option(ctx, "outgoing-range:", DNS_OUTGOING_RANGE, err, errlen)) != STS_OK)
        return st;
    /* A forwarder that timed out once is otherwise shunned for up to 15
     * minutes (infra-host-ttl): with one or two forwarders, keep asking. */
    if ((st = set_option(ctx, "infra-keep-probing:", "yes", err, errlen)) != STS_OK)
        return st;

    if (cfg->forwarders != NULL) {
        if ((st = set_forwarders(ctx, cfg->forwarders, err, errlen)) != STS_OK)
            return st;
    } else if ((rc = ub_ctx_resolvconf(ctx, NULL)) != UB_NOERROR) {
        return sts_status_set(STS_EINVAL, err, errlen,
                              "cannot use /etc/resolv.conf: %s (%s); set forwarders instead",
                              ub_strerror(rc), strerror(errno));
    }

    if (cfg->trust_anchor_file != NULL) {
        if ((st = check_anchor_file(cfg->trust_anchor_file, err, errlen)) != STS_OK)
            return st;
        if ((rc = ub_ctx_add_ta_file(ctx, cfg->trust_anchor_file)) != UB_NOERROR)
            return sts_status_set(rc == UB_NOMEM ? STS_ENOMEM : STS_EINVAL, err, errlen,
                                  "trust anchor file \"%s\": %s", cfg->trust_anchor_file,
                                  ub_strerror(rc));
    } else if ((st = set_option(ctx, "module-config:", "iterator", err, errlen)) != STS_OK) {
        return st; /* no anchor: no validator module, no DNSKEY/DS lookups */
    }

    /*
     * Finalise now (ub_ctx_zone_remove() does so first) so that a bad
     * anchor file fails here and not on the first query.  The zone removed
     * is libunbound's built-in empty "test." zone (RFC 6761), which would
     * otherwise answer NXDOMAIN for test names without asking the
     * resolver the operator configured (the test world's server).
     */
    rc = ub_ctx_zone_remove(ctx, "test.");
    if (rc != UB_NOERROR) {
        if (cfg->trust_anchor_file != NULL && rc == UB_INITFAIL)
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "trust anchor file \"%s\": cannot load (not DS/DNSKEY records "
                                  "in zone-file format?)",
                                  cfg->trust_anchor_file);
        return sts_status_set(rc == UB_NOMEM ? STS_ENOMEM : STS_EINVAL, err, errlen,
                              "libunbound setup: %s", ub_strerror(rc));
    }
    return STS_OK;
}

static int set_cloexec_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
        return -1;
    fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    return 0;
}

enum sts_status sts_dns_new(const struct sts_dns_config *cfg, struct sts_dns **out, char *err,
                            size_t errlen)
{
    if (out == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "no place for the resolver");
    *out = NULL;
    if (cfg == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "no resolver configuration");

    struct sts_dns *dns = calloc(1, sizeof(*dns));
    if (dns == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    dns->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms : DNS_DEFAULT_TIMEOUT_MS;
    dns->wake[0] = dns->wake[1] = -1;

    enum sts_status st = STS_ENOMEM;
    bool mu = false, idle = false;
    if (pthread_mutex_init(&dns->mu, NULL) != 0)
        goto fail;
    mu = true;
    if (pthread_cond_init(&dns->idle, NULL) != 0)
        goto fail;
    idle = true;

    dns->ctx = ub_ctx_create();
    if (dns->ctx == NULL)
        goto fail;
    st = STS_EINVAL;
    int rc = ub_ctx_async(dns->ctx, 1);
    if (rc != UB_NOERROR) {
        sts_status_set(st, err, errlen, "libunbound threads: %s", ub_strerror(rc));
        goto fail;
    }
    if ((st = configure(dns->ctx, cfg, err, errlen)) != STS_OK)
        goto fail;

    st = STS_EIO;
    if (ub_fd(dns->ctx) < 0) {
        sts_status_set(st, err, errlen, "libunbound has no result descriptor");
        goto fail;
    }
    if (pipe(dns->wake) != 0 || set_cloexec_nonblock(dns->wake[0]) != 0 ||
        set_cloexec_nonblock(dns->wake[1]) != 0) {
        sts_status_set(st, err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    if ((rc = pthread_create(&dns->dispatcher, NULL, dispatcher_main, dns)) != 0) {
        sts_status_set(st, err, errlen, "cannot start the resolver thread: %s", strerror(rc));
        goto fail;
    }
    *out = dns;
    return STS_OK;

fail:
    if (st == STS_ENOMEM)
        sts_status_set(st, err, errlen, "out of memory");
    if (dns->ctx != NULL)
        ub_ctx_delete(dns->ctx);
    if (dns->wake[0] >= 0)
        close(dns->wake[0]);
    if (dns->wake[1] >= 0)
        close(dns->wake[1]);
    if (idle)
        pthread_cond_destroy(&dns->idle);
    if (mu)
        pthread_mutex_destroy(&dns->mu);
    free(dns);
    return st;
}

void sts_dns_free(struct sts_dns *dns)
{
    if (dns == NULL)
        return;

    /* 1. no new queries; stop the dispatcher, so no callback runs any more */
    pthread_mutex_lock(&dns->mu);
    dns->closing = true;
    pthread_mutex_unlock(&dns->mu);
    ssize_t w;
    do
        w = write(dns->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(dns->dispatcher, NULL);

    /* 2. wake every caller still waiting, and wait until all have left */
    pthread_mutex_lock(&dns->mu);
    for (struct dns_query *q = dns->pending; q != NULL; q = q->next) {
        pthread_mutex_lock(&q->mu);
        if (q->state == DNS_Q_WAITING) {
            q->state = DNS_Q_ABORTED;
            pthread_cond_signal(&q->cond);
        }
        pthread_mutex_unlock(&q->mu);
    }
    while (dns->active > 0)
        pthread_cond_wait(&dns->idle, &dns->mu);
    pthread_mutex_unlock(&dns->mu);

    /* 3. stop libunbound's worker: it drops unanswered queries silently */
    ub_ctx_delete(dns->ctx);

    /* 4. what is left on the list never got its callback */
    while (dns->pending != NULL) {
        struct dns_query *q = dns->pending;
        pending_unlink(dns, q);
        query_unref(q);
    }

    close(dns->wake[0]);
    close(dns->wake[1]);
    pthread_cond_destroy(&dns->idle);
    pthread_mutex_destroy(&dns->mu);
    free(dns);
}
