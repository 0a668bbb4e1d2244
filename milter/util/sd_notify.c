/*
 * sd_notify.c - the service manager's notification socket (see sd_notify.h).
 */
#include "mtasts/sd_notify.h"

#include "mtasts/clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Fill sa from $NOTIFY_SOCKET's value; returns the address length, 0 when unusable. */
static socklen_t notify_address(const char *spec, struct sockaddr_un *sa)
{
    size_t len = strlen(spec);
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (len < 2 || len > sizeof(sa->sun_path) || (spec[0] != '/' && spec[0] != '@'))
        return 0; /* too short, too long, or a kind we do not speak (vsock:) */
    if (spec[0] == '/' && len == sizeof(sa->sun_path))
        return 0; /* no room for the NUL */
    memcpy(sa->sun_path, spec, len);
    if (spec[0] == '@')
        sa->sun_path[0] = '\0'; /* abstract: the name is the bytes after the NUL, unterminated */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (spec[0] == '/'));
}

int sts_sd_notify_send(const char *msg)
{
    const char *spec = getenv("NOTIFY_SOCKET");
    if (spec == NULL || spec[0] == '\0')
        return 0;
    struct sockaddr_un sa;
    socklen_t salen = notify_address(spec, &sa);
    if (salen == 0) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    ssize_t n;
    do
        n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sa,
                   salen);
    while (n < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    errno = saved;
    return n < 0 ? -1 : 1;
}

/* "PREFIX" plus "\nSTATUS=text" when status is set. */
static int send_with_status(const char *prefix, const char *status)
{
    if (status == NULL)
        return sts_sd_notify_send(prefix);
    char msg[STS_SD_NOTIFY_MAX];
    snprintf(msg, sizeof(msg), "%s\nSTATUS=%s", prefix, status);
    return sts_sd_notify_send(msg);
}

int sts_sd_notify_ready(const char *status)
{
    return send_with_status("READY=1", status);
}

int sts_sd_notify_reloading(void)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld", (long long)sts_clock_mono_us());
    return sts_sd_notify_send(msg);
}

int sts_sd_notify_stopping(const char *status)
{
    return send_with_status("STOPPING=1", status);
}

int sts_sd_notify_status(const char *fmt, ...)
{
    char msg[STS_SD_NOTIFY_MAX];
    static const char key[] = "STATUS=";
    memcpy(msg, key, sizeof(key));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + sizeof(key) - 1, sizeof(msg) - sizeof(key) + 1, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p != '\0'; p++)
        if (*p == '\n')
            *p = ' '; /* one assignment: a newline would start another */
    return sts_sd_notify_send(msg);
}
