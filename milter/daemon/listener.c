/*
 * listener.c - open a listening socket from a spec (see listener.h).
 */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define BACKLOG 64

static int set_flags(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -1;
    return fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static enum sts_status open_unix(const char *path, const char *what, unsigned mode,
                                 struct sts_listener *l, char *err, size_t errlen)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path))
        return sts_status_set(STS_EINVAL, err, errlen, "%s: bad unix socket path", what);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return sts_status_set(STS_EIO, err, errlen, "%s: socket: %s", what, strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        close(fd);
        return sts_status_set(STS_EIO, err, errlen, "%s: %s: in use", what, path);
    }
    close(fd);
    (void)unlink(path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return sts_status_set(STS_EIO, err, errlen, "%s: socket: %s", what, strerror(errno));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, BACKLOG) != 0 ||
        set_flags(fd) != 0) {
        int e = errno;
        close(fd);
        return sts_status_set(STS_EIO, err, errlen, "%s: %s: %s", what, path, strerror(e));
    }
    (void)chmod(path, (mode_t)mode);
    l->unix_path = strdup(path);
    if (l->unix_path == NULL) {
        close(fd);
        (void)unlink(path);
        return sts_status_set(STS_ENOMEM, err, errlen, "%s: out of memory", what);
    }
    l->fd = fd;
    return STS_OK;
}

static enum sts_status open_inet(int af, const char *rest, const char *what, struct sts_listener *l,
                                 char *err, size_t errlen)
{
    char port[8], host[256];
    const char *at = strchr(rest, '@');
    size_t plen = at != NULL ? (size_t)(at - rest) : strlen(rest);
    if (plen == 0 || plen >= sizeof(port) || strspn(rest, "0123456789") != plen)
        return sts_status_set(STS_EINVAL, err, errlen, "%s: bad port", what);
    memcpy(port, rest, plen);
    port[plen] = '\0';
    const char *h = at != NULL ? at + 1 : (af == AF_INET ? "127.0.0.1" : "::1");
    size_t hlen = strlen(h);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= sizeof(host))
        return sts_status_set(STS_EINVAL, err, errlen, "%s: bad host", what);
    memcpy(host, h, hlen);
    host[hlen] = '\0';

    struct addrinfo hints = {
        .ai_family = af, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0)
        return sts_status_set(STS_EINVAL, err, errlen, "%s: %s: %s", what, host, gai_strerror(rc));
    int fd = socket(ai->ai_family, SOCK_STREAM, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, BACKLOG) != 0 ||
        set_flags(fd) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return sts_status_set(STS_EIO, err, errlen, "%s: %s port %s: %s", what, host, port,
                              strerror(e));
    }
    freeaddrinfo(ai);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        l->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                                : ((struct sockaddr_in6 *)&ss)->sin6_port);
    l->fd = fd;
    return STS_OK;
}

enum sts_status sts_listener_open(const char *spec, const char *what, unsigned mode,
                                  struct sts_listener *out, char *err, size_t errlen)
{
    *out = (struct sts_listener){.fd = -1};
    if (spec == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "%s: no socket", what);
    if (strncmp(spec, "unix:", 5) == 0)
        return open_unix(spec + 5, what, mode, out, err, errlen);
    if (strncmp(spec, "local:", 6) == 0)
        return open_unix(spec + 6, what, mode, out, err, errlen);
    if (strncmp(spec, "inet:", 5) == 0)
        return open_inet(AF_INET, spec + 5, what, out, err, errlen);
    if (strncmp(spec, "inet6:", 6) == 0)
        return open_inet(AF_INET6, spec + 6, what, out, err, errlen);
    return sts_status_set(STS_EINVAL, err, errlen,
                          "%s: want unix:PATH, inet:PORT[@HOST] or inet6:PORT[@HOST]", what);
}

void sts_listener_close(struct sts_listener *l)
{
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    if (l->unix_path != NULL) {
        (void)unlink(l->unix_path);
        free(l->unix_path);
    }
    l->unix_path = NULL;
}
