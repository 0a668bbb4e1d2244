/*
 * log.c - the process's log sink (see log.h).
 *
 * The output is chosen once, before any thread starts, and never changes
 * afterwards except for the threshold, which is an atomic, and the file
 * behind a log file's descriptor, which sts_log_reopen() swaps with dup2.  Sinks
 * (struct sts_log_sink) are filtered and formatted here too.
 */
#include "mtasts/log.h"

#include "mtasts/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static struct {
    int fd; /* -1: syslog */
    char ident[64];
    char path[PATH_MAX]; /* the file behind fd, for sts_log_reopen(); "" = none */
    atomic_int max_prio;
} sink = {.fd = 2, .ident = "mtasts", .max_prio = LOG_INFO};

static const char *prio_word(int prio)
{
    switch (prio) {
    case LOG_EMERG:
    case LOG_ALERT:
    case LOG_CRIT:
    case LOG_ERR:
        return "error";
    case LOG_WARNING:
        return "warning";
    case LOG_NOTICE:
        return "notice";
    case LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

enum sts_status sts_log_open(const char *ident, const char *path, int facility, int max_prio,
                             char *err, size_t errlen)
{
    snprintf(sink.ident, sizeof(sink.ident), "%s", ident);
    atomic_store(&sink.max_prio, max_prio);
    sink.path[0] = '\0';
    if (path == NULL || path[0] == '\0') {
        openlog(sink.ident, LOG_PID | LOG_NDELAY, facility);
        sink.fd = -1;
        return STS_OK;
    }
    if (strcmp(path, "-") == 0) {
        sink.fd = 2;
        return STS_OK;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return sts_status_set(STS_EIO, err, errlen, "%s: %s", path, strerror(errno));
    sink.fd = fd;
    snprintf(sink.path, sizeof(sink.path), "%s", path);
    return STS_OK;
}

enum sts_status sts_log_reopen(char *err, size_t errlen)
{
    if (sink.fd < 0 || sink.path[0] == '\0')
        return STS_OK; /* syslog or stderr: nothing to reopen */
    int fd = open(sink.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return sts_status_set(STS_EIO, err, errlen, "%s: %s", sink.path, strerror(errno));
    /* dup2 swaps the file behind sink.fd atomically: a writer on another
       thread writes whole lines to the old file or to the new one. */
    int r;
    do
        r = dup2(fd, sink.fd);
    while (r < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (r < 0)
        return sts_status_set(STS_EIO, err, errlen, "%s: %s", sink.path, strerror(saved));
    (void)fcntl(sink.fd, F_SETFD, FD_CLOEXEC); /* dup2 clears it */
    return STS_OK;
}

void sts_log_set_level(int max_prio)
{
    atomic_store(&sink.max_prio, max_prio);
}

static void emit(int prio, const char *msg)
{
    if (prio > atomic_load(&sink.max_prio))
        return;
    if (sink.fd < 0) {
        syslog(prio, "%s", msg);
        return;
    }
    char line[STS_LOG_LINE_MAX + 128], stamp[32];
    int64_t now_ms = sts_clock_wall_ms();
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
    int n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%ld]: %s: %s\n", stamp,
                     (long)(now_ms % 1000), sink.ident, (long)getpid(), prio_word(prio), msg);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    if (len == sizeof(line) - 1)
        line[len - 1] = '\n'; /* truncated: still one line */
    ssize_t w;
    do
        w = write(sink.fd, line, len);
    while (w < 0 && errno == EINTR);
}

void sts_log_line(void *arg, int prio, const char *line)
{
    (void)arg;
    emit(prio, line);
}

bool sts_log_enabled(const struct sts_log_sink *s, int prio)
{
    if (s == NULL || s->fn == NULL)
        return false;
    if (s->max_prio > 0 && prio > s->max_prio)
        return false;
    return s->fn != sts_log_line || prio <= atomic_load(&sink.max_prio);
}

static void vlog_to(const struct sts_log_sink *s, int prio, const char *fmt, va_list ap)
{
    if (!sts_log_enabled(s, prio))
        return;
    char line[STS_LOG_LINE_MAX];
    vsnprintf(line, sizeof(line), fmt, ap);
    s->fn(s->arg, prio, line);
}

void sts_log_to(const struct sts_log_sink *s, int prio, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog_to(s, prio, fmt, ap);
    va_end(ap);
}

void sts_log(int prio, const char *fmt, ...)
{
    static const struct sts_log_sink out = {sts_log_line, NULL, 0};
    va_list ap;
    va_start(ap, fmt);
    vlog_to(&out, prio, fmt, ap);
    va_end(ap);
}

void sts_log_close(void)
{
    if (sink.fd < 0)
        closelog();
    else if (sink.fd > 2)
        close(sink.fd);
    sink.fd = 2;
    sink.path[0] = '\0';
}
