/*
 * sd_notify.h - readiness and state notifications to the service manager
 * (systemd's sd_notify(3) protocol, Type=notify), without libsystemd.
 *
 * The protocol (documented as stable and "reimplementable independently"
 * by systemd): the manager passes a socket address in $NOTIFY_SOCKET, a
 * filesystem path ("/run/systemd/notify") or an abstract name ("@name");
 * the service sends newline-separated "KEY=VALUE" assignments in one
 * AF_UNIX datagram.  We send READY=1 once the milter socket is open,
 * RELOADING=1 (with MONOTONIC_USEC, as systemd >= 253 wants) when a
 * SIGHUP reload starts and READY=1 again when it ends, STOPPING=1 at
 * shutdown, and STATUS= lines for "systemctl status".  Without
 * $NOTIFY_SOCKET every call does nothing (started by hand or by init.d).
 *
 * Thread rules: every function is thread-safe (one socket per call, no
 * shared state) and never blocks for long: the datagram is sent with
 * MSG_DONTWAIT, so a stuck manager costs a lost notification, never a
 * stuck daemon.  Calls are cheap enough for start, reload and stop; they
 * are not meant for the RCPT path.
 *
 * Ownership: nothing is allocated; strings are borrowed for the call.
 */
#ifndef MTASTS_SD_NOTIFY_H
#define MTASTS_SD_NOTIFY_H

/** Longest message sts_sd_notify_send() accepts (a status line is cut to fit). */
#define STS_SD_NOTIFY_MAX 1024

/**
 * Send one message (newline-separated "KEY=VALUE" lines) to $NOTIFY_SOCKET.
 * @param msg  the assignments, e.g. "READY=1\nSTATUS=running"
 * @return 1 sent, 0 no $NOTIFY_SOCKET (nothing to do), -1 failed (errno
 *         set: EINVAL for an address we cannot use, else sendto's)
 */
int sts_sd_notify_send(const char *msg);

/**
 * READY=1, with a STATUS= line when status is not NULL.
 * @return as sts_sd_notify_send()
 */
int sts_sd_notify_ready(const char *status);

/**
 * RELOADING=1 and MONOTONIC_USEC=<now> (CLOCK_MONOTONIC), as a reload starts.
 * @return as sts_sd_notify_send()
 */
int sts_sd_notify_reloading(void);

/**
 * STOPPING=1, with a STATUS= line when status is not NULL.
 * @return as sts_sd_notify_send()
 */
int sts_sd_notify_stopping(const char *status);

/**
 * STATUS=<printf-formatted text> (newlines in the text become spaces).
 * @return as sts_sd_notify_send()
 */
int sts_sd_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
