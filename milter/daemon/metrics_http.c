/*
 * metrics_http.c - the Metrics listener (see metrics_http.h for the
 * thread, the caps and the replies).  Each connection goes through
 * READ (collect the head until http_request.h judges it), WRITE (the
 * reply), DRAIN (our side shut, the client's leftover bytes read and
 * dropped until it closes, so that closing does not reset the
 * connection under the reply), all within one deadline.
 */
#include "metrics_http.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include "listener.h"
#include "mtasts/clock.h"
#include "mtasts/http_request.h"
#include "mtasts/metrics.h"

enum conn_state { C_FREE = 0, C_READ, C_WRITE, C_DRAIN };

struct conn {
    enum conn_state state;
    int fd;
    int64_t deadline_ms;
    char in[STS_HTTP_REQUEST_MAX];
    size_t in_len;
    char *out; /* the reply, malloc'd */
    size_t out_len, out_off;
    enum sts_metrics_http_result result;
};

struct sts_metrics_http {
    struct sts_metrics_http_config cfg;
    char *socket_spec;
    struct sts_listener l;
    int wake[2];
    pthread_t thread;
    bool started;
    atomic_bool stop;
    struct sts_log_sink log;
    struct conn *conns; /* max_clients slots, the thread's only */
    unsigned nconns;
};

/* ---- replies */

static const struct {
    int code;
    const char *reason, *body;
    enum sts_metrics_http_result result;
} errors[] = {
    [STS_HTTP_BAD_REQUEST] = {400, "Bad Request", "bad request\n", STS_METRICS_HTTP_BAD_REQUEST},
    [STS_HTTP_NOT_FOUND] = {404, "Not Found", "only /metrics here\n", STS_METRICS_HTTP_NOT_FOUND},
    [STS_HTTP_BAD_METHOD] = {405, "Method Not Allowed", "GET or HEAD only\n",
                             STS_METRICS_HTTP_BAD_METHOD},
    [STS_HTTP_BAD_VERSION] = {505, "HTTP Version Not Supported", "HTTP/1.x only\n",
                              STS_METRICS_HTTP_BAD_REQUEST},
};

static bool reply_set(struct conn *c, int code, const char *reason, const char *type,
                      const char *body, size_t blen, bool head_only, const char *extra)
{
    char head[320];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.0 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                     code, reason, type, blen, extra);
    if (n < 0 || (size_t)n >= sizeof(head))
        return false;
    size_t total = (size_t)n + (head_only ? 0 : blen);
    c->out = malloc(total);
    if (c->out == NULL)
        return false;
    memcpy(c->out, head, (size_t)n);
    if (!head_only)
        memcpy(c->out + n, body, blen);
    c->out_len = total;
    c->out_off = 0;
    c->state = C_WRITE;
    return true;
}

static void reply_error(struct conn *c, int code, const char *reason, const char *body,
                        enum sts_metrics_http_result result)
{
    c->result = result;
    const char *extra = code == 405 ? "Allow: GET, HEAD\r\n" : "";
    if (!reply_set(c, code, reason, "text/plain; charset=utf-8", body, strlen(body), false,
                   extra)) {
        c->result = STS_METRICS_HTTP_ERROR;
        c->state = C_DRAIN;
    }
}

static void reply_metrics(struct conn *c, const struct sts_http_request *req)
{
    size_t len;
    enum sts_metrics_format fmt = req->want_json ? STS_METRICS_JSON : STS_METRICS_TEXT;
    char *body = sts_metrics_render(fmt, &len);
    c->result = STS_METRICS_HTTP_OK;
    if (body == NULL ||
        !reply_set(c, 200, "OK", req->want_json ? STS_METRICS_JSON_TYPE : STS_METRICS_TEXT_TYPE,
                   body, len, req->head, "")) {
        c->result = STS_METRICS_HTTP_ERROR;
        c->state = C_DRAIN;
    }
    free(body);
}

/* ---- connections */

static void conn_close(struct sts_metrics_http *mh, struct conn *c)
{
    sts_metrics_http(c->result);
    sts_log_to(&mh->log, LOG_DEBUG, "metrics event=request result=%s",
               sts_metrics_http_result_name(c->result));
    close(c->fd);
    free(c->out);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    mh->nconns--;
}

static void judge_input(struct conn *c)
{
    struct sts_http_request req;
    enum sts_http_verdict v = sts_http_request_parse(c->in, c->in_len, &req);
    if (v == STS_HTTP_INCOMPLETE) {
        if (c->in_len == sizeof(c->in))
            reply_error(c, 431, "Request Header Fields Too Large", "request too large\n",
                        STS_METRICS_HTTP_TOO_LARGE);
        return;
    }
    if (v == STS_HTTP_SERVE)
        reply_metrics(c, &req);
    else
        reply_error(c, errors[v].code, errors[v].reason, errors[v].body, errors[v].result);
}

static void conn_read(struct sts_metrics_http *mh, struct conn *c)
{
    char sink[512];
    char *dst = c->state == C_READ ? c->in + c->in_len : sink;
    size_t room = c->state == C_READ ? sizeof(c->in) - c->in_len : sizeof(sink);
    ssize_t r = read(c->fd, dst, room);
    if (r < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (r <= 0) {
        if (c->state == C_READ) /* gone before asking anything whole */
            c->result = STS_METRICS_HTTP_BAD_REQUEST;
        conn_close(mh, c);
        return;
    }
    if (c->state == C_READ) {
        c->in_len += (size_t)r;
        judge_input(c);
    }
}

static void conn_write(struct sts_metrics_http *mh, struct conn *c)
{
    ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (w < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            c->result = STS_METRICS_HTTP_ERROR;
            conn_close(mh, c);
        }
        return;
    }
    c->out_off += (size_t)w;
    if (c->out_off == c->out_len) {
        (void)shutdown(c->fd, SHUT_WR);
        c->state = C_DRAIN;
    }
}

/* At the deadline: a client still sending its head gets a 408 if the
   socket takes it at once; then every late connection is closed. */
static void conn_expire(struct sts_metrics_http *mh, struct conn *c)
{
    if (c->state == C_READ) {
        static const char r408[] = "HTTP/1.0 408 Request Timeout\r\nContent-Length: 0\r\n"
                                   "Connection: close\r\n\r\n";
        (void)send(c->fd, r408, sizeof(r408) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        c->result = STS_METRICS_HTTP_TIMEOUT;
    } else if (c->state == C_WRITE) {
        c->result = STS_METRICS_HTTP_TIMEOUT;
    }
    conn_close(mh, c);
}

static void accept_clients(struct sts_metrics_http *mh)
{
    while (mh->nconns < mh->cfg.max_clients) {
        int fd = accept(mh->l.fd, NULL, NULL);
        if (fd < 0)
            return;
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
            fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
            close(fd);
            continue;
        }
        struct conn *c = NULL;
        for (unsigned i = 0; i < mh->cfg.max_clients && c == NULL; i++)
            if (mh->conns[i].state == C_FREE)
                c = &mh->conns[i];
        c->state = C_READ;
        c->fd = fd;
        c->in_len = 0;
        c->result = STS_METRICS_HTTP_ERROR;
        c->deadline_ms = sts_clock_mono_ms() + mh->cfg.timeout_ms;
        mh->nconns++;
    }
}

static void *http_main(void *arg)
{
    struct sts_metrics_http *mh = arg;
    unsigned max = mh->cfg.max_clients;
    struct pollfd *pfd = calloc(max + 2, sizeof(*pfd));
    struct conn **pc = calloc(max + 2, sizeof(*pc));
    if (pfd == NULL || pc == NULL) {
        free(pfd);
        free(pc);
        sts_log_to(&mh->log, LOG_ERR, "metrics event=stop reason=out-of-memory");
        return NULL;
    }
    while (!atomic_load(&mh->stop)) {
        int64_t now = sts_clock_mono_ms(), next = -1;
        /* expire first: a slot freed now is a connection accepted below */
        for (unsigned i = 0; i < max; i++)
            if (mh->conns[i].state != C_FREE && now >= mh->conns[i].deadline_ms)
                conn_expire(mh, &mh->conns[i]);
        nfds_t n = 0;
        pfd[n++] = (struct pollfd){.fd = mh->wake[0], .events = POLLIN};
        pfd[n++] = (struct pollfd){.fd = mh->nconns < max ? mh->l.fd : -1, .events = POLLIN};
        for (unsigned i = 0; i < max; i++) {
            struct conn *c = &mh->conns[i];
            if (c->state == C_FREE)
                continue;
            if (next < 0 || c->deadline_ms - now < next)
                next = c->deadline_ms - now;
            pc[n] = c;
            pfd[n++] =
                (struct pollfd){.fd = c->fd, .events = c->state == C_WRITE ? POLLOUT : POLLIN};
        }
        if (poll(pfd, n, next < 0 ? -1 : (int)next + 1) < 0) {
            if (errno == EINTR)
                continue;
            sts_log_to(&mh->log, LOG_ERR, "metrics event=poll-failed reason=\"%s\"",
                       strerror(errno));
            break;
        }
        for (nfds_t i = 2; i < n; i++) {
            struct conn *c = pc[i];
            if (pfd[i].revents & POLLNVAL) {
                conn_close(mh, c);
            } else if (c->state == C_WRITE && (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
                conn_write(mh, c);
            } else if (c->state != C_WRITE && (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))) {
                conn_read(mh, c);
                if (c->state == C_WRITE)
                    conn_write(mh, c); /* usually all of it at once */
            }
        }
        if (pfd[0].revents & POLLIN)
            break; /* stop asked */
        if (pfd[1].revents & POLLIN)
            accept_clients(mh);
    }
    free(pfd);
    free(pc);
    return NULL;
}

/* ---- start and stop */

static void destroy(struct sts_metrics_http *mh)
{
    if (mh->conns != NULL)
        for (unsigned i = 0; i < mh->cfg.max_clients; i++)
            if (mh->conns[i].state != C_FREE) {
                close(mh->conns[i].fd);
                free(mh->conns[i].out);
            }
    free(mh->conns);
    sts_listener_close(&mh->l);
    for (int i = 0; i < 2; i++)
        if (mh->wake[i] >= 0)
            close(mh->wake[i]);
    free(mh->socket_spec);
    free(mh);
}

enum sts_status sts_metrics_http_start(const struct sts_metrics_http_config *cfg,
                                       struct sts_metrics_http **out, char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->socket == NULL || cfg->socket[0] == '\0')
        return sts_status_set(STS_EINVAL, err, errlen, "metrics: no socket");
    struct sts_metrics_http *mh = calloc(1, sizeof(*mh));
    if (mh == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "metrics: out of memory");
    mh->cfg = *cfg;
    mh->l.fd = mh->wake[0] = mh->wake[1] = -1;
    if (mh->cfg.timeout_ms == 0)
        mh->cfg.timeout_ms = STS_METRICS_HTTP_TIMEOUT_MS;
    if (mh->cfg.max_clients == 0)
        mh->cfg.max_clients = STS_METRICS_HTTP_CLIENTS;
    mh->log = (struct sts_log_sink){cfg->log, cfg->log_arg, 0};
    mh->socket_spec = strdup(cfg->socket);
    mh->cfg.socket = mh->socket_spec;
    mh->conns = calloc(mh->cfg.max_clients, sizeof(*mh->conns));
    enum sts_status st;
    if (mh->socket_spec == NULL || mh->conns == NULL) {
        st = sts_status_set(STS_ENOMEM, err, errlen, "metrics: out of memory");
        goto fail;
    }
    if (pipe(mh->wake) != 0) {
        mh->wake[0] = mh->wake[1] = -1;
        st = sts_status_set(STS_EIO, err, errlen, "metrics: pipe: %s", strerror(errno));
        goto fail;
    }
    if ((st = sts_listener_open(mh->socket_spec, "metrics", 0660, &mh->l, err, errlen)) != STS_OK)
        goto fail;
    if (pthread_create(&mh->thread, NULL, http_main, mh) != 0) {
        st = sts_status_set(STS_EIO, err, errlen, "metrics: cannot start the thread");
        goto fail;
    }
    mh->started = true;
    *out = mh;
    return STS_OK;
fail:
    destroy(mh);
    return st;
}

unsigned sts_metrics_http_port(const struct sts_metrics_http *mh)
{
    return mh != NULL ? mh->l.port : 0;
}

const char *sts_metrics_http_path(const struct sts_metrics_http *mh)
{
    return mh != NULL ? mh->l.unix_path : NULL;
}

void sts_metrics_http_stop(struct sts_metrics_http *mh)
{
    if (mh == NULL)
        return;
    atomic_store(&mh->stop, true);
    ssize_t w;
    do
        w = write(mh->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    if (mh->started)
        pthread_join(mh->thread, NULL);
    destroy(mh);
}
