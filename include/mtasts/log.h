/*
 * log.h - logging: the process's one output (syslog, a file, or stderr)
 * and the one sink type through which modules hand it their lines.
 *
 * Lines are "key=value ..." with a stable reason word (see mtasts-milter(8)).
 * Priorities are syslog's (<syslog.h>: LOG_ERR, LOG_WARNING, LOG_INFO,
 * LOG_DEBUG, ...); no module defines its own numbers.
 *
 * Two ways to log:
 *   - sts_log(): straight to the process output, for the daemon's own
 *     code;
 *   - a struct sts_log_sink, for modules that are also used by tests and
 *     by the CLI (the caches, the socketmap): their configuration carries
 *     a sink (today still as the pair "log, log_arg" of an sts_log_fn and
 *     its argument), and sts_log_to() formats a line only when the sink
 *     has a function and the priority passes the level.  The process
 *     output as a sink is {sts_log_line, NULL}.
 *
 * Thread rules: sts_log_open() and sts_log_close() run once, before the
 * threads start and after they end; everything else (sts_log_reopen()
 * included) is thread-safe: each
 * line is formatted into a local buffer and written with a single
 * write(2) (O_APPEND) or syslog(3) call; the level is an atomic.  A sink's
 * function must be thread-safe in the same way (it is called from
 * workers, refreshers and I/O threads, never with a module lock held
 * that the function itself could need).
 *
 * Ownership: a sink's arg is borrowed; it must outlive every module that
 * logs to it.  The line handed to a sink function is valid only during
 * the call.
 */
#ifndef MTASTS_LOG_H
#define MTASTS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

#include "mtasts/status.h"

/** Longest line sts_log() and sts_log_to() format (longer ones are cut). */
#define STS_LOG_LINE_MAX 2048

/**
 * A log sink's function: receives one finished line (key=value form, no
 * newline) at a syslog priority.
 */
typedef void sts_log_fn(void *arg, int priority, const char *line);

/** Where a module's lines go. */
struct sts_log_sink {
    sts_log_fn *fn; /* NULL = silent */
    void *arg;      /* passed to fn */
    int max_prio;   /* lines of a higher (less important) priority are dropped
                       before they are formatted; 0 = no threshold of its own.
                       The process output ({sts_log_line, ...}) also applies
                       the process level (sts_log_set_level()) */
};

/**
 * Choose the sink.
 * @param ident     program name for syslog and the file prefix
 * @param path      NULL or "" = syslog; "-" = stderr; else a file (appended)
 * @param facility  syslog facility (LOG_MAIL, ...), for syslog only
 * @param max_prio  lines of a higher (less important) priority are dropped
 * @return STS_OK or STS_EIO when the file cannot be opened
 */
enum sts_status sts_log_open(const char *ident, const char *path, int facility, int max_prio,
                             char *err, size_t errlen);

/**
 * Reopen the log file by its path (SIGHUP, after logrotate moved it):
 * the same descriptor then points at the new file, so lines written by
 * other threads meanwhile land whole in the old file or in the new one.
 * Syslog and stderr have nothing to reopen.
 * @return STS_OK, or STS_EIO (the old file stays in use) with the reason
 */
enum sts_status sts_log_reopen(char *err, size_t errlen);

/** Change the priority threshold (on reload). */
void sts_log_set_level(int max_prio);

/** Log one line (no trailing newline needed). */
void sts_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * The process output as a sink function: writes a finished line at prio
 * (dropped above the process level).
 * @param arg  unused (NULL)
 * @param prio a syslog priority
 * @param line the line, no newline
 */
void sts_log_line(void *arg, int prio, const char *line);

/**
 * Would a line at prio reach this sink?  False when the sink is NULL or
 * silent, or prio is above its threshold (or, for the process output,
 * above the process level).  Lets a caller skip preparing arguments.
 * @param sink the sink, may be NULL
 * @param prio a syslog priority
 * @return true when sts_log_to() would format and hand over the line
 */
bool sts_log_enabled(const struct sts_log_sink *sink, int prio);

/**
 * Format a line printf-style and hand it to the sink, only when
 * sts_log_enabled(); lines longer than STS_LOG_LINE_MAX - 1 are cut.
 * @param sink the sink, may be NULL (silent)
 * @param prio a syslog priority
 * @param fmt  printf format of the whole line
 */
void sts_log_to(const struct sts_log_sink *sink, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Close the sink (end of process). */
void sts_log_close(void);

#endif
