/*
 * tlsrpt_socket.c - the TLSRPT datagram collector (tlsrpt_socket.h).
 */
#define _GNU_SOURCE /* pipe2(2) */
#include "tlsrpt_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "mtasts/log.h"
#include "mtasts/tlsrpt_datagram.h"

struct sts_tlsrpt_socket {
    int fd;
    int wake[2]; /* stop writes a byte to wake[1] */
    pthread_t thread;
    struct sts_tlsrpt_collect *collect;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    unsigned char *buf; /* STS_TLSRPT_DG_MAX + 1 bytes: one more shows truncation */
    atomic_uint_fast64_t accepted, refused;
    time_t last_log;
    unsigned suppressed;
};

static void refused(struct sts_tlsrpt_socket *s, enum sts_tlsrpt_dg_reason reason, const char *err,
                    size_t len)
{
    atomic_fetch_add(&s->refused, 1);
    time_t now = time(NULL);
    if (now == s->last_log) {
        s->suppressed++;
        return;
    }
    char q[256];
    sts_log(LOG_WARNING,
            "event=tlsrpt-datagram-refused reason=%s bytes=%zu detail=\"%s\" suppressed=%u",
            sts_tlsrpt_dg_reason_name(reason), len,
            sts_status_quote(err, strlen(err), q, sizeof(q)), s->suppressed);
    s->last_log = now;
    s->suppressed = 0;
}

static void *socket_main(void *arg)
{
    struct sts_tlsrpt_socket *s = arg;
    struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN}, {.fd = s->wake[0], .events = POLLIN}};
    for (;;) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            sts_log(LOG_ERR, "event=tlsrpt-socket-failed reason=\"poll: %s\"", strerror(errno));
            return NULL;
        }
        if (p[1].revents != 0)
            return NULL; /* stop */
        /* MSG_TRUNC: the real length, so an oversized datagram is seen as such */
        ssize_t n = recv(s->fd, s->buf, STS_TLSRPT_DG_MAX + 1, MSG_TRUNC | MSG_DONTWAIT);
        if (n < 0)
            continue; /* EAGAIN, EINTR */
        size_t len = (size_t)n > STS_TLSRPT_DG_MAX + 1 ? STS_TLSRPT_DG_MAX + 1 : (size_t)n;
        struct sts_tlsrpt_datagram *dg = NULL;
        enum sts_tlsrpt_dg_reason reason = STS_TLSRPT_DG_OK;
        char err[200] = "";
        if ((size_t)n > STS_TLSRPT_DG_MAX) {
            refused(s, STS_TLSRPT_DG_TOO_BIG, "datagram over the size cap", (size_t)n);
            continue;
        }
        if (sts_tlsrpt_datagram_parse(s->buf, len, &dg, &reason, err, sizeof(err)) != STS_OK) {
            refused(s, reason, err, len);
            continue;
        }
        atomic_fetch_add(&s->accepted, 1);
        sts_tlsrpt_collect_datagram(s->collect, dg);
        sts_tlsrpt_datagram_free(dg);
    }
}

static void socket_free(struct sts_tlsrpt_socket *s)
{
    if (s->fd >= 0)
        close(s->fd);
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0)
            close(s->wake[i]);
    free(s->buf);
    free(s);
}

enum sts_status sts_tlsrpt_socket_start(const char *path, struct sts_tlsrpt_collect *collect,
                                        struct sts_tlsrpt_socket **out, char *err, size_t errlen)
{
    *out = NULL;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (path == NULL || path[0] != '/' || strlen(path) >= sizeof(sa.sun_path))
        return sts_status_set(STS_EINVAL, err, errlen,
                              "TLSRPTSocket: an absolute path of at most %zu bytes",
                              sizeof(sa.sun_path) - 1);
    struct sts_tlsrpt_socket *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "TLSRPTSocket: out of memory");
    s->fd = s->wake[0] = s->wake[1] = -1;
    s->collect = collect;
    snprintf(s->path, sizeof(s->path), "%s", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    s->buf = malloc(STS_TLSRPT_DG_MAX + 1);
    if (s->buf == NULL || pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        socket_free(s);
        return sts_status_set(STS_ENOMEM, err, errlen, "TLSRPTSocket: out of memory");
    }
    s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct stat st;
    if (s->fd >= 0 && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path); /* a stale socket of an earlier run */
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        enum sts_status r =
            sts_status_set(STS_EIO, err, errlen, "TLSRPTSocket %s: %s", path, strerror(errno));
        socket_free(s);
        return r;
    }
    (void)chmod(path, 0660); /* the MTA's group writes, others do not */
    if (pthread_create(&s->thread, NULL, socket_main, s) != 0) {
        unlink(path);
        socket_free(s);
        return sts_status_set(STS_ENOMEM, err, errlen, "TLSRPTSocket: cannot start its thread");
    }
    *out = s;
    return STS_OK;
}

void sts_tlsrpt_socket_stop(struct sts_tlsrpt_socket *s)
{
    if (s == NULL)
        return;
    ssize_t w;
    do
        w = write(s->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(s->thread, NULL);
    unlink(s->path);
    socket_free(s);
}

void sts_tlsrpt_socket_counts(const struct sts_tlsrpt_socket *s, uint64_t *accepted,
                              uint64_t *refused_out)
{
    struct sts_tlsrpt_socket *m = (struct sts_tlsrpt_socket *)s;
    *accepted = s ? atomic_load(&m->accepted) : 0;
    *refused_out = s ? atomic_load(&m->refused) : 0;
}
