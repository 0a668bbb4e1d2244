/*
 * socketmap.c - the socketmap policy server (see socketmap.h for the
 * threads, the locking protocol and the caps).
 */
#include "socketmap.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "mtasts/clock.h"
#include "mtasts/job_pool.h"
#include "mtasts/judge.h"
#include "mtasts/netstring.h"
#include "mtasts/socket_spec.h"

#define IN_CAP (STS_NETSTRING_MAX + STS_NETSTRING_OVERHEAD)
#define IN_FIRST 1024
#define BACKLOG 128
#define OUT_HIGH 65536          /* queued reply bytes above which a connection is not read */
#define REQUEST_MIN_MS 1000     /* the request deadline is at least this */
#define EVICT_LOG_EVERY_MS 1000 /* at most one eviction line per second */

struct conn {
    int fd;
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_off, out_cap;
    bool busy;       /* a request is with the workers */
    bool closing;    /* close once out is written (after a PERM for bad framing) */
    bool dead;       /* peer gone or error: free when not busy */
    int64_t last_ms; /* last byte read or written, or reply queued */
    int64_t req_ms;  /* when the request at the head of in began (in_len > 0) */
    struct conn *next;
};

struct job {
    struct sts_job pj; /* on the worker pool */
    struct conn *conn;
    char *req;
    size_t req_len;
    char *reply; /* netstring-encoded */
    size_t reply_len;
    struct job *next;
};

struct sts_socketmap {
    struct sts_socketmap_config cfg;
    char *socket_spec;
    char *unix_path; /* to unlink at stop, or NULL */
    int lfd;
    int wake[2];
    unsigned port;
    pthread_t io;
    bool io_started;
    struct sts_job_pool *pool; /* the workers */
    struct sts_log_sink log;   /* cfg.log */
    pthread_mutex_t mu;
    struct job *done;   /* under mu: answered, for the I/O thread */
    atomic_bool stop;   /* the I/O thread leaves */
    struct conn *conns; /* I/O thread only */
    unsigned nconns;
    unsigned request_ms;         /* a request must arrive whole within this */
    unsigned evicted, timed_out; /* I/O thread only: since the last log line */
    int64_t evict_log_ms;        /* I/O thread only: when that line was */
};

static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void wake_up(struct sts_socketmap *sm)
{
    ssize_t w;
    do
        w = write(sm->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    /* EAGAIN: the pipe is full, the I/O thread is awake anyway */
}

/* ---- opening the socket */

static enum sts_status open_unix(struct sts_socketmap *sm, const char *path, char *err,
                                 size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    _Static_assert(STS_SOCKET_SPEC_PATH_MAX < sizeof(sa.sun_path), "sun_path");
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return sts_status_set(STS_EIO, err, errlen, "socketmap: socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        close(fd);
        return sts_status_set(STS_EIO, err, errlen, "socketmap: %s: in use", path);
    }
    close(fd);
    (void)unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return sts_status_set(STS_EIO, err, errlen, "socketmap: socket: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, BACKLOG) != 0 ||
        set_flags(fd) != 0) {
        int e = errno;
        close(fd);
        return sts_status_set(STS_EIO, err, errlen, "socketmap: %s: %s", path, strerror(e));
    }
    (void)chmod(path, 0660); /* the MTA's group connects, others do not */
    sm->unix_path = strdup(path);
    sm->lfd = fd;
    return sm->unix_path != NULL ? STS_OK : STS_ENOMEM;
}

/* An inet/inet6 spec's host absent: loopback, never every address. */
static enum sts_status open_inet(struct sts_socketmap *sm, const struct sts_socket_spec *spec,
                                 char *err, size_t errlen)
{
    int af = spec->kind == STS_SOCKET_INET ? AF_INET : AF_INET6;
    char port[8];
    snprintf(port, sizeof(port), "%u", spec->port);
    const char *host = spec->host[0] != '\0' ? spec->host : af == AF_INET ? "127.0.0.1" : "::1";

    struct addrinfo hints = {
        .ai_family = af, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0)
        return sts_status_set(STS_EINVAL, err, errlen, "socketmap: %s: %s", host, gai_strerror(rc));
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, BACKLOG) != 0 ||
        set_flags(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return sts_status_set(STS_EIO, err, errlen, "socketmap: %s port %s: %s", host, port,
                              strerror(e));
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        sm->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                 : ((struct sockaddr_in6 *)&ss)->sin6_port);
    sm->lfd = fd;
    return STS_OK;
}

static enum sts_status open_listener(struct sts_socketmap *sm, const char *spec, char *err,
                                     size_t errlen)
{
    struct sts_socket_spec ss;
    char why[160];
    if (sts_socket_spec_parse(spec, STS_SOCKET_SPEC_PORT_ANY, &ss, why, sizeof(why)) != STS_OK)
        return sts_status_set(STS_EINVAL, err, errlen, "socketmap: %s", why);
    if (ss.kind == STS_SOCKET_UNIX)
        return open_unix(sm, ss.path, err, errlen);
    return open_inet(sm, &ss, err, errlen);
}

/* ---- the workers: one request in, one netstring reply out */

static void answer(struct sts_socketmap *sm, struct job *j, char *buf, size_t buflen)
{
    char qkey[96];
    struct sts_map_answer info;
    size_t n = sts_judge_map_key(sm->cfg.engine, &sm->cfg.map, sm->cfg.deadline_ms, j->req,
                                 j->req_len, buf, buflen, &info);
    j->reply_len = n + STS_NETSTRING_OVERHEAD;
    j->reply = malloc(j->reply_len + 1);
    if (j->reply != NULL)
        j->reply_len = sts_netstring_encode(buf, n, j->reply, j->reply_len + 1);
    sts_status_quote(j->req, j->req_len, qkey, sizeof(qkey));
    sts_log_to(&sm->log, LOG_DEBUG, "socketmap request=\"%s\" outcome=%s reply=\"%.100s\"", qkey,
               info.word, buf);
}

static void job_free(struct job *j)
{
    free(j->req);
    free(j->reply);
    free(j);
}

/* On a worker (scratch: its reply buffer, NULL if that could not be had). */
static void run_request(void *arg, struct sts_job *pj, void *scratch)
{
    struct sts_socketmap *sm = arg;
    struct job *j = STS_JOB_OWNER(pj, struct job, pj);
    if (scratch != NULL)
        answer(sm, j, scratch, STS_NETSTRING_MAX + 1);
    pthread_mutex_lock(&sm->mu);
    j->next = sm->done;
    sm->done = j;
    wake_up(sm);
    pthread_mutex_unlock(&sm->mu);
}

/* A request still queued at stop. */
static void drop_request(void *arg, struct sts_job *pj)
{
    (void)arg;
    job_free(STS_JOB_OWNER(pj, struct job, pj));
}

/* ---- the I/O thread */

static void conn_free(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

static size_t backlog(const struct conn *c)
{
    return c->out_len - c->out_off;
}

static bool queue_out(struct conn *c, const char *data, size_t len)
{
    if (c->out_off > 0) { /* keep the unwritten bytes at the front */
        memmove(c->out, c->out + c->out_off, backlog(c));
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_len + len + 256;
        char *p = realloc(c->out, cap);
        if (p == NULL)
            return false;
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
    return true;
}

/* Hand the next complete request to the workers, or answer bad framing. */
static void process_input(struct sts_socketmap *sm, struct conn *c)
{
    if (c->busy || c->closing || c->dead || c->in_len == 0 || backlog(c) >= OUT_HIGH)
        return; /* a client that does not read its replies is not read either */
    const char *data;
    size_t dlen, used;
    enum sts_netstring_result r =
        sts_netstring_decode(c->in, c->in_len, STS_NETSTRING_MAX, &data, &dlen, &used);
    if (r == STS_NETSTRING_INCOMPLETE)
        return;
    if (r != STS_NETSTRING_OK) {
        char reply[64], ns[80];
        size_t n = sts_policy_map_perm(r == STS_NETSTRING_TOOBIG ? "request-too-long"
                                                                 : "malformed-netstring",
                                       reply, sizeof(reply));
        n = sts_netstring_encode(reply, n, ns, sizeof(ns));
        if (!queue_out(c, ns, n))
            c->dead = true;
        c->closing = true;
        c->in_len = 0;
        sts_log_to(&sm->log, LOG_WARNING, "socketmap event=bad-request reason=%s action=close",
                   sts_netstring_result_name(r));
        return;
    }
    struct job *j = calloc(1, sizeof(*j));
    char *req = j != NULL ? malloc(dlen + 1) : NULL;
    if (req == NULL) {
        free(j);
        c->dead = true;
        return;
    }
    memcpy(req, data, dlen);
    req[dlen] = '\0';
    j->conn = c;
    j->req = req;
    j->req_len = dlen;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    c->req_ms = sts_clock_mono_ms(); /* the next request's clock starts now */
    c->busy = true;
    if (sts_job_pool_submit(sm->pool, &j->pj) != STS_JOB_QUEUED) { /* stopping */
        job_free(j);
        c->busy = false;
        c->dead = true;
    }
}

static void collect_done(struct sts_socketmap *sm)
{
    char sink[64];
    while (read(sm->wake[0], sink, sizeof(sink)) > 0)
        ;
    pthread_mutex_lock(&sm->mu);
    struct job *j = sm->done;
    sm->done = NULL;
    pthread_mutex_unlock(&sm->mu);
    while (j != NULL) {
        struct job *next = j->next;
        struct conn *c = j->conn;
        c->busy = false;
        c->last_ms = sts_clock_mono_ms();
        if (j->reply == NULL || !queue_out(c, j->reply, j->reply_len))
            c->dead = true;
        job_free(j);
        process_input(sm, c); /* a pipelined request already read */
        j = next;
    }
}

/*
 * At the cap, close one connection that has no lookup in progress: the one
 * whose request began longest ago (a slow sender), or else the one quiet
 * longest (idle, or not reading its replies).  Busy connections are never
 * closed: their lookups end within the deadline.
 * @return a slot was freed
 */
static bool make_room(struct sts_socketmap *sm)
{
    struct conn **victim = NULL;
    int64_t oldest = 0;
    for (struct conn **pp = &sm->conns; *pp != NULL; pp = &(*pp)->next) {
        struct conn *c = *pp;
        if (c->busy)
            continue;
        int64_t since = c->in_len > 0 && backlog(c) < OUT_HIGH ? c->req_ms : c->last_ms;
        if (victim == NULL || since < oldest) {
            victim = pp;
            oldest = since;
        }
    }
    if (victim == NULL)
        return false;
    struct conn *c = *victim;
    *victim = c->next;
    conn_free(c);
    sm->nconns--;
    sm->evicted++;
    return true;
}

static void log_evictions(struct sts_socketmap *sm, int64_t now)
{
    if ((sm->evicted == 0 && sm->timed_out == 0) || now - sm->evict_log_ms < EVICT_LOG_EVERY_MS)
        return;
    sts_log_to(&sm->log, LOG_WARNING,
               "socketmap event=shed closed_at_cap=%u closed_request_timeout=%u clients=%u",
               sm->evicted, sm->timed_out, sm->nconns);
    sm->evicted = sm->timed_out = 0;
    sm->evict_log_ms = now;
}

static void accept_clients(struct sts_socketmap *sm)
{
    for (;;) {
        int fd = accept(sm->lfd, NULL, NULL);
        if (fd < 0)
            return; /* EAGAIN, or an error to retry on the next poll */
        struct conn *c = calloc(1, sizeof(*c));
        if (c == NULL || set_flags(fd) != 0 ||
            (sm->nconns >= sm->cfg.max_clients && !make_room(sm))) {
            free(c);
            close(fd);
            return;
        }
        /* Pipelined replies go out one small write each: without this,
           Nagle and the client's delayed ACK add ~40 ms per reply. */
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails on unix: fine */
        c->fd = fd;
        c->last_ms = sts_clock_mono_ms();
        c->next = sm->conns;
        sm->conns = c;
        sm->nconns++;
    }
}

static void read_conn(struct sts_socketmap *sm, struct conn *c)
{
    if (c->in_cap - c->in_len == 0 && c->in_cap < IN_CAP) {
        size_t cap = c->in_cap == 0 ? IN_FIRST : c->in_cap * 2;
        if (cap > IN_CAP)
            cap = IN_CAP;
        char *p = realloc(c->in, cap);
        if (p == NULL) {
            c->dead = true;
            return;
        }
        c->in = p;
        c->in_cap = cap;
    }
    ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        c->dead = true;
        return;
    }
    if (r > 0) {
        c->last_ms = sts_clock_mono_ms();
        if (c->in_len == 0)
            c->req_ms = c->last_ms; /* the first byte of a request */
        c->in_len += (size_t)r;
        process_input(sm, c);
    }
}

static void write_conn(struct sts_socketmap *sm, struct conn *c)
{
    bool was_full = backlog(c) >= OUT_HIGH;
    ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (w < 0) {
        if (errno != EAGAIN && errno != EINTR)
            c->dead = true;
        return;
    }
    c->out_off += (size_t)w;
    c->last_ms = sts_clock_mono_ms();
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
        if (c->closing)
            c->dead = true;
    }
    if (was_full && backlog(c) < OUT_HIGH) { /* the client reads again: so do we */
        c->req_ms = c->last_ms;
        process_input(sm, c);
    }
}

/*
 * Free dead connections not waiting for a worker; close a connection whose
 * request has not arrived whole within request_ms of its first byte
 * (however slowly its bytes trickle in), and one quiet (nothing read,
 * written or answered) for idle_timeout_ms: idle, or not reading its
 * replies.  Connections with a lookup in progress are left alone.
 * @return the poll timeout until the next of those deadlines (-1: none)
 */
static int sweep(struct sts_socketmap *sm)
{
    int64_t now = sts_clock_mono_ms(), next = -1;
    struct conn **pp = &sm->conns;
    while (*pp != NULL) {
        struct conn *c = *pp;
        int64_t due = -1;
        if (!c->busy && !c->dead) {
            due = c->last_ms + sm->cfg.idle_timeout_ms;
            bool partial = c->in_len > 0 && backlog(c) < OUT_HIGH && !c->closing;
            if (partial && c->req_ms + sm->request_ms < due)
                due = c->req_ms + sm->request_ms;
            if (now >= due) {
                if (partial && now >= c->req_ms + sm->request_ms)
                    sm->timed_out++;
                c->dead = true;
            }
        }
        if (c->dead && !c->busy) {
            *pp = c->next;
            conn_free(c);
            sm->nconns--;
            continue;
        }
        if (due >= 0 && (next < 0 || due - now < next))
            next = due - now;
        pp = &c->next;
    }
    log_evictions(sm, now);
    if (sm->evicted > 0 || sm->timed_out > 0) { /* a line is owed: come back for it */
        int64_t left = sm->evict_log_ms + EVICT_LOG_EVERY_MS - now;
        if (next < 0 || left < next)
            next = left;
    }
    return next < 0 ? -1 : (int)(next > 60000 ? 60000 : next + 1);
}

static void *io_main(void *arg)
{
    struct sts_socketmap *sm = arg;
    struct pollfd *pfd = calloc(sm->cfg.max_clients + 2, sizeof(*pfd));
    struct conn **pc = calloc(sm->cfg.max_clients + 2, sizeof(*pc));
    if (pfd == NULL || pc == NULL) {
        free(pfd);
        free(pc);
        sts_log_to(&sm->log, LOG_ERR, "socketmap event=stop reason=out-of-memory");
        return NULL;
    }
    while (!atomic_load(&sm->stop)) {
        int timeout = sweep(sm);
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){.fd = sm->wake[0], .events = POLLIN};
        nfds_t lis = n++;
        bool room = sm->nconns < sm->cfg.max_clients;
        for (struct conn *c = sm->conns; c != NULL; c = c->next) {
            short ev = 0;
            room = room || !c->busy; /* at the cap, one that make_room() may close */
            if (!c->busy && !c->closing && c->in_len < IN_CAP && backlog(c) < OUT_HIGH)
                ev |= POLLIN;
            if (c->out_len > c->out_off)
                ev |= POLLOUT;
            pc[n] = c;
            /* nothing asked (a lookup in progress): a negative fd is skipped, so a
               hang-up does not make poll() spin until the reply is back */
            pfd[n++] = (struct pollfd){.fd = ev != 0 ? c->fd : -1, .events = ev};
        }
        /* at the cap with every connection busy, new clients wait in the backlog
           until a lookup ends (within the deadline) */
        pfd[lis] = (struct pollfd){.fd = room ? sm->lfd : -1, .events = POLLIN};
        if (poll(pfd, n, timeout) < 0) {
            if (errno == EINTR)
                continue;
            sts_log_to(&sm->log, LOG_ERR, "socketmap event=poll-failed reason=\"%s\"",
                       strerror(errno));
            break;
        }
        for (nfds_t i = 2; i < n; i++) {
            struct conn *c = pc[i];
            if (pfd[i].revents & POLLOUT)
                write_conn(sm, c);
            if (!c->dead && (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
                (pfd[i].events & POLLIN))
                read_conn(sm, c);
            else if (pfd[i].revents & (POLLERR | POLLNVAL))
                c->dead = true;
        }
        if (pfd[0].revents & POLLIN)
            collect_done(sm);
        if (pfd[1].revents & POLLIN)
            accept_clients(sm);
    }
    free(pfd);
    free(pc);
    return NULL;
}

/* ---- start and stop */

static void destroy(struct sts_socketmap *sm)
{
    if (sm->lfd >= 0)
        close(sm->lfd);
    if (sm->unix_path != NULL) {
        (void)unlink(sm->unix_path);
        free(sm->unix_path);
    }
    for (int i = 0; i < 2; i++)
        if (sm->wake[i] >= 0)
            close(sm->wake[i]);
    while (sm->conns != NULL) {
        struct conn *c = sm->conns;
        sm->conns = c->next;
        conn_free(c);
    }
    while (sm->done != NULL) {
        struct job *j = sm->done;
        sm->done = j->next;
        job_free(j);
    }
    pthread_mutex_destroy(&sm->mu);
    free(sm->socket_spec);
    free(sm);
}

static void stop_threads(struct sts_socketmap *sm)
{
    atomic_store(&sm->stop, true);
    wake_up(sm);
    if (sm->io_started)
        pthread_join(sm->io, NULL);
    sm->io_started = false;
    sts_job_pool_free(sm->pool); /* running lookups end; queued ones are dropped */
    sm->pool = NULL;
}

enum sts_status sts_socketmap_start(const struct sts_socketmap_config *cfg,
                                    struct sts_socketmap **out, char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->socket == NULL || cfg->socket[0] == '\0' || cfg->engine == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "socketmap: no socket or no engine");
    struct sts_socketmap *sm = calloc(1, sizeof(*sm));
    if (sm == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "socketmap: out of memory");
    sm->cfg = *cfg;
    sm->lfd = sm->wake[0] = sm->wake[1] = -1;
    if (sm->cfg.deadline_ms == 0)
        sm->cfg.deadline_ms = STS_SOCKETMAP_DEADLINE_MS;
    if (sm->cfg.idle_timeout_ms == 0)
        sm->cfg.idle_timeout_ms = STS_SOCKETMAP_IDLE_MS;
    if (sm->cfg.max_clients == 0)
        sm->cfg.max_clients = STS_SOCKETMAP_CLIENTS;
    if (sm->cfg.workers == 0)
        sm->cfg.workers = STS_SOCKETMAP_WORKERS;
    sm->request_ms =
        sm->cfg.request_timeout_ms != 0 ? sm->cfg.request_timeout_ms : sm->cfg.deadline_ms;
    if (sm->request_ms < REQUEST_MIN_MS)
        sm->request_ms = REQUEST_MIN_MS;
    sm->log = (struct sts_log_sink){cfg->log, cfg->log_arg, 0};
    pthread_mutex_init(&sm->mu, NULL);
    sm->socket_spec = strdup(cfg->socket);
    sm->cfg.socket = sm->socket_spec;
    enum sts_status st;
    if (sm->socket_spec == NULL) {
        st = sts_status_set(STS_ENOMEM, err, errlen, "socketmap: out of memory");
        goto fail;
    }
    if (pipe(sm->wake) != 0 || set_flags(sm->wake[0]) != 0 || set_flags(sm->wake[1]) != 0) {
        st = sts_status_set(STS_EIO, err, errlen, "socketmap: pipe: %s", strerror(errno));
        goto fail;
    }
    if ((st = open_listener(sm, sm->socket_spec, err, errlen)) != STS_OK)
        goto fail;
    struct sts_job_pool_config pcfg = {.workers = sm->cfg.workers,
                                       .stop = STS_JOB_POOL_DROP,
                                       .scratch_size = STS_NETSTRING_MAX + 1,
                                       .run = run_request,
                                       .drop = drop_request,
                                       .arg = sm};
    if (sts_job_pool_new(&pcfg, &sm->pool, err, errlen) != STS_OK) {
        st = sts_status_set(STS_EIO, err, errlen, "socketmap: cannot start a worker");
        goto fail;
    }
    if (pthread_create(&sm->io, NULL, io_main, sm) != 0) {
        st = sts_status_set(STS_EIO, err, errlen, "socketmap: cannot start the I/O thread");
        goto fail;
    }
    sm->io_started = true;
    *out = sm;
    return STS_OK;
fail:
    stop_threads(sm);
    destroy(sm);
    return st;
}

unsigned sts_socketmap_port(const struct sts_socketmap *sm)
{
    return sm != NULL ? sm->port : 0;
}

void sts_socketmap_stop(struct sts_socketmap *sm)
{
    if (sm == NULL)
        return;
    stop_threads(sm);
    destroy(sm);
}
