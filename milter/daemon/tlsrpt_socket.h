/*
 * tlsrpt_socket.h - the TLSRPT datagram collector of the daemon
 * (TLSRPTSocket, mtasts-milter.conf(5)): a unix datagram socket that
 * Postfix >= 3.10 (smtp_tlsrpt_enable, smtp_tlsrpt_socket_name) writes
 * one libtlsrpt datagram per TLS session to; each accepted datagram
 * becomes TLS-RPT sessions in the engine's collector (tlsrpt_collect.h).
 *
 * One thread polls the socket and a wake-up pipe; nothing else runs on
 * it, so a flood of datagrams costs parsing time and never a lock of the
 * RCPT path.  A refused datagram (tlsrpt_datagram.h: not JSON, wrong
 * version, a cap) is counted and logged, at most one line per second
 * (the others are counted in the next line's "suppressed=N").
 *
 * Ownership: the collector is borrowed and must outlive the socket
 * (sts_tlsrpt_socket_stop() first).  The socket file is created 0660 (the
 * MTA's group writes) and removed at stop.
 */
#ifndef MTASTS_TLSRPT_SOCKET_H
#define MTASTS_TLSRPT_SOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts/status.h"
#include "mtasts/tlsrpt_collect.h"

struct sts_tlsrpt_socket;

/**
 * Bind path (a stale socket file there is replaced) and start the thread.
 * @return STS_OK, STS_EINVAL (path too long), STS_EIO (bind failed: why in
 *         err), STS_ENOMEM
 */
enum sts_status sts_tlsrpt_socket_start(const char *path, struct sts_tlsrpt_collect *collect,
                                        struct sts_tlsrpt_socket **out, char *err, size_t errlen);

/** Stop the thread, close and remove the socket, free; NULL is a no-op. */
void sts_tlsrpt_socket_stop(struct sts_tlsrpt_socket *s);

/** Datagrams accepted and refused so far. */
void sts_tlsrpt_socket_counts(const struct sts_tlsrpt_socket *s, uint64_t *accepted,
                              uint64_t *refused);

#endif
