/*
 * log.h - the one log sink of a process: syslog, a file, or stderr.
 *
 * Lines are "key=value ..." with a stable reason word (see mtasts-milter(8)).
 * sts_log_open() is called once at start-up, before threads; sts_log() is
 * then thread-safe: each line is formatted into a local buffer and written
 * with a single write(2) (O_APPEND) or syslog(3) call.
 */
#ifndef MTASTS_LOG_H
#define MTASTS_LOG_H

#include <stddef.h>

#include "mtasts/status.h"

/* Priorities are syslog's: LOG_ERR 3, LOG_WARNING 4, LOG_INFO 6, LOG_DEBUG 7. */

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

/** Change the priority threshold (on reload). */
void sts_log_set_level(int max_prio);

/** Log one line (no trailing newline needed). */
void sts_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Adapter for callbacks that hand over finished lines (cache.h). */
void sts_log_line(void *arg, int prio, const char *line);

/** Close the sink (end of process). */
void sts_log_close(void);

#endif
