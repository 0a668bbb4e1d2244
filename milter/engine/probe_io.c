/*
 * probe_io.c - the I/O under the STARTTLS probe (probe.c): the deadline,
 * the non-blocking socket, SMTP replies (plaintext, or over TLS through
 * the memory BIOs), QUIT.  send() always with MSG_NOSIGNAL, and OpenSSL
 * never touches the socket, so no SIGPIPE is ever raised.  Every buffer
 * fed from the network is capped: PROBE_LINE_MAX per line,
 * PROBE_REPLY_LINES_MAX lines per reply.
 */
#include "probe_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>

/* ----- time, failure, the socket ----- */

static int remaining_ms(const struct probe *p)
{
    int64_t left = p->deadline_ms - sts_clock_mono_ms();
    if (left > INT_MAX)
        return INT_MAX;
    return left < 0 ? 0 : (int)left;
}

/* The first failure wins; the detail is printable ASCII by construction
 * (callers quote server text with sts_status_quote). */
__attribute__((format(printf, 3, 4))) int probe_fail(struct probe *p, enum sts_tls_result r,
                                                     const char *fmt, ...)
{
    va_list ap;

    if (p->failed)
        return -1;
    p->failed = true;
    p->out->result = r;
    va_start(ap, fmt);
    vsnprintf(p->out->detail, sizeof(p->out->detail), fmt, ap);
    va_end(ap);
    return -1;
}

/* Wait for events on the socket until the deadline; 1 ready, 0 timeout,
 * -1 error (err_no). */
static int net_wait(struct probe *p, short events)
{
    for (;;) {
        struct pollfd pfd = {.fd = p->fd, .events = events};
        int left = remaining_ms(p);
        int n;
        if (left == 0)
            return 0;
        n = poll(&pfd, 1, left);
        if (n > 0)
            return 1;
        if (n == 0)
            return 0;
        if (errno != EINTR) {
            p->err_no = errno;
            return -1;
        }
    }
}

static enum io_end net_send(struct probe *p, const void *data, size_t len)
{
    const char *d = data;

    while (len > 0) {
        ssize_t n = send(p->fd, d, len, MSG_NOSIGNAL);
        if (n > 0) {
            d += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int w = net_wait(p, POLLOUT);
            if (w == 0)
                return IO_TIMEOUT;
            if (w < 0)
                return IO_ERROR;
            continue;
        }
        p->err_no = n < 0 ? errno : EPIPE;
        return IO_ERROR;
    }
    return IO_OK;
}

/* Receive what is there (waiting up to the deadline) into dst. */
static enum io_end net_recv(struct probe *p, char *dst, size_t cap, size_t *got)
{
    for (;;) {
        ssize_t n = recv(p->fd, dst, cap, 0);
        if (n > 0) {
            *got = (size_t)n;
            return IO_OK;
        }
        if (n == 0) {
            p->eof = true;
            return IO_EOF;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = net_wait(p, POLLIN);
            if (w == 0)
                return IO_TIMEOUT;
            if (w < 0)
                return IO_ERROR;
            continue;
        }
        p->err_no = errno;
        return IO_ERROR;
    }
}

int probe_connect(struct probe *p)
{
    struct sockaddr_storage ss;
    socklen_t slen;
    unsigned port = p->req->port != 0 ? p->req->port : PROBE_DEFAULT_PORT;
    int soerr = 0;
    socklen_t elen = sizeof(soerr);

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, p->req->addr, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        slen = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        inet_pton(AF_INET6, p->req->addr, &sin6->sin6_addr); /* checked by the caller */
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        slen = sizeof(*sin6);
    }
    p->fd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (p->fd < 0)
        return probe_fail(p, STS_TLS_UNREACHABLE, "socket: %s", strerror(errno));
    if (fcntl(p->fd, F_SETFD, FD_CLOEXEC) < 0 ||
        fcntl(p->fd, F_SETFL, fcntl(p->fd, F_GETFL) | O_NONBLOCK) < 0)
        return probe_fail(p, STS_TLS_UNREACHABLE, "fcntl: %s", strerror(errno));
    if (connect(p->fd, (struct sockaddr *)&ss, slen) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EINTR)
        return probe_fail(p, STS_TLS_UNREACHABLE, "connect: %s", strerror(errno));
    switch (net_wait(p, POLLOUT)) {
    case 0:
        return probe_fail(p, STS_TLS_UNREACHABLE, "connect: timed out");
    case -1:
        return probe_fail(p, STS_TLS_UNREACHABLE, "connect: %s", strerror(p->err_no));
    default:
        break;
    }
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &elen) < 0)
        soerr = errno;
    if (soerr != 0)
        return probe_fail(p, STS_TLS_UNREACHABLE, "connect: %s", strerror(soerr));
    return 0;
}

/* ----- TLS over memory BIOs ----- */

/* Move everything OpenSSL wrote to the socket. */
enum io_end probe_tls_flush(struct probe *p)
{
    char chunk[PROBE_NET_CHUNK];

    while (BIO_ctrl_pending(p->wbio) > 0) {
        int n = BIO_read(p->wbio, chunk, sizeof(chunk));
        enum io_end e;
        if (n <= 0)
            break;
        e = net_send(p, chunk, (size_t)n);
        if (e != IO_OK)
            return e;
    }
    return IO_OK;
}

/* Feed OpenSSL one chunk from the socket; at EOF it sees end of input. */
static enum io_end tls_fill(struct probe *p)
{
    char chunk[PROBE_NET_CHUNK];
    size_t got = 0;
    enum io_end e = net_recv(p, chunk, sizeof(chunk), &got);

    if (e == IO_EOF) {
        BIO_set_mem_eof_return(p->rbio, 0);
        return IO_EOF;
    }
    if (e != IO_OK)
        return e;
    if (BIO_write(p->rbio, chunk, (int)got) != (int)got) {
        p->err_no = ENOMEM;
        return IO_ERROR;
    }
    return IO_OK;
}

/* After an SSL call returned r: flush, and wait for input if it wants
 * some.  IO_OK: call again; anything else ends the operation. */
enum io_end probe_tls_step(struct probe *p, int r)
{
    enum io_end e = probe_tls_flush(p);
    int se = SSL_get_error(p->ssl, r);

    if (e != IO_OK)
        return e;
    if (se == SSL_ERROR_WANT_READ) {
        if (p->eof)
            return IO_EOF;
        return tls_fill(p);
    }
    if (se == SSL_ERROR_WANT_WRITE)
        return IO_OK;
    if (se == SSL_ERROR_ZERO_RETURN)
        return IO_EOF;
    return IO_ERROR;
}

static enum io_end tls_write(struct probe *p, const char *s, size_t len)
{
    for (;;) {
        int r;
        enum io_end e;
        ERR_clear_error();
        r = SSL_write(p->ssl, s, (int)len);
        if (r > 0)
            return probe_tls_flush(p);
        e = probe_tls_step(p, r);
        if (e != IO_OK)
            return e;
    }
}

/* ----- SMTP replies ----- */

static enum io_end read_more(struct probe *p)
{
    size_t cap = PROBE_LINE_MAX - p->blen;

    if (p->ssl == NULL) {
        size_t got = 0;
        enum io_end e = net_recv(p, p->buf + p->blen, cap, &got);
        if (e == IO_OK)
            p->blen += got;
        return e;
    }
    for (;;) {
        int r;
        enum io_end e;
        ERR_clear_error();
        r = SSL_read(p->ssl, p->buf + p->blen, (int)cap);
        if (r > 0) {
            p->blen += (size_t)r;
            return IO_OK;
        }
        e = probe_tls_step(p, r);
        if (e != IO_OK)
            return e;
    }
}

static enum io_end send_line(struct probe *p, const char *line)
{
    size_t len = strlen(line);

    if (p->ssl != NULL)
        return tls_write(p, line, len);
    return net_send(p, line, len);
}

static bool line_is_starttls(const char *text, size_t len)
{
    static const char kw[] = "STARTTLS";
    size_t k = sizeof(kw) - 1;

    if (len < k)
        return false;
    for (size_t i = 0; i < k; i++) {
        char c = text[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c != kw[i])
            return false;
    }
    return len == k || text[k] == ' ';
}

/*
 * Read one reply: lines "DDD-text" ... "DDD text" (or a bare "DDD"), LF
 * or CRLF.  The code is the last line's; EHLO keywords are looked for on
 * every line but the first (RFC 5321 §4.1.1.1: the first is the greeting).
 */
static enum io_end read_reply(struct probe *p, struct smtp_reply *r)
{
    int lines = 0;

    memset(r, 0, sizeof(*r));
    for (;;) {
        char *nl = memchr(p->buf, '\n', p->blen);
        size_t len, used;
        const char *l = p->buf;
        bool last;

        if (nl == NULL) {
            enum io_end e;
            if (p->blen >= PROBE_LINE_MAX)
                return IO_TOOLONG;
            e = read_more(p);
            if (e != IO_OK)
                return e;
            continue;
        }
        used = (size_t)(nl - p->buf) + 1;
        len = used - 1;
        if (len > 0 && l[len - 1] == '\r')
            len--;
        if (len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' ||
            l[2] > '9' || (len > 3 && l[3] != ' ' && l[3] != '-')) {
            if (lines == 0)
                sts_status_quote(l, len, r->first, sizeof(r->first));
            return IO_MALFORMED;
        }
        if (lines == 0)
            sts_status_quote(l, len, r->first, sizeof(r->first));
        else if (len > 4 && line_is_starttls(l + 4, len - 4))
            r->starttls = true;
        r->code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
        last = len == 3 || l[3] == ' ';
        memmove(p->buf, p->buf + used, p->blen - used);
        p->blen -= used;
        if (last) {
            p->out->smtp_code = r->code;
            return IO_OK;
        }
        if (++lines >= PROBE_REPLY_LINES_MAX)
            return IO_TOOLONG;
    }
}

const char *probe_io_end_text(const struct probe *p, enum io_end e)
{
    switch (e) {
    case IO_OK:
        return "ok";
    case IO_TIMEOUT:
        return "timed out";
    case IO_EOF:
        return "connection closed by the server";
    case IO_ERROR:
        return p->err_no != 0 ? strerror(p->err_no) : "I/O error";
    case IO_TOOLONG:
        return "reply too long";
    case IO_MALFORMED:
        return "malformed reply";
    }
    return "?";
}

/* One command and its reply before STARTTLS is answered: a failure to get
 * a reply at all is "unreachable". */
int probe_smtp_exchange(struct probe *p, const char *what, const char *cmd, struct smtp_reply *r)
{
    enum io_end e;

    if (cmd != NULL) {
        e = send_line(p, cmd);
        if (e != IO_OK)
            return probe_fail(p, STS_TLS_UNREACHABLE, "%s: sending: %s", what,
                              probe_io_end_text(p, e));
    }
    e = read_reply(p, r);
    if (e == IO_MALFORMED)
        return probe_fail(p, STS_TLS_UNREACHABLE, "%s: malformed reply: %s", what, r->first);
    if (e != IO_OK)
        return probe_fail(p, STS_TLS_UNREACHABLE, "%s: %s", what, probe_io_end_text(p, e));
    return 0;
}

/* Best effort: QUIT, a short wait for the 221, never a failure. */
void probe_smtp_quit(struct probe *p)
{
    struct smtp_reply r;
    int64_t saved = p->deadline_ms;
    int saved_code = p->out->smtp_code;
    int64_t quick = sts_clock_mono_ms() + PROBE_QUIT_WAIT_MS;

    if (quick < p->deadline_ms)
        p->deadline_ms = quick;
    if (!p->eof && send_line(p, "QUIT\r\n") == IO_OK)
        (void)read_reply(p, &r);
    p->out->smtp_code = saved_code; /* the 221 is not the story */
    if (p->ssl != NULL && !p->eof) {
        ERR_clear_error();
        (void)SSL_shutdown(p->ssl); /* close_notify, no wait for the peer's */
        (void)probe_tls_flush(p);
    }
    p->deadline_ms = saved;
}
