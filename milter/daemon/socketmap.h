/*
 * socketmap.h - the socketmap policy server (Postfix socketmap_table(5),
 * Sendmail "K... socket"): answers smtp_tls_policy_maps / sts map lookups
 * from the policy cache the milter uses.
 *
 * Threads and locking protocol: one I/O thread owns the listening socket
 * and every connection (poll(), non-blocking sockets); lookups, which may
 * wait for a discovery up to the deadline, run on a small pool of worker
 * threads (job_pool.h; each worker has its own reply buffer).  The I/O
 * thread hands a connection's request to the pool and stops reading from
 * that connection until the reply is back, so pipelined requests are
 * answered in order.  The pool's queue mutex guards the requests waiting
 * for a worker, one mutex of the server the done queue; neither is held
 * across I/O or a lookup, and they are never held together.  A self-pipe
 * wakes the I/O thread when a reply is ready or when stop is asked.
 *
 * Caps: a connection's input is at most one netstring of
 * STS_NETSTRING_MAX bytes plus framing (a larger LEN is answered "PERM"
 * and the connection closed, as is any malformed netstring).  A request
 * must arrive whole within request_timeout_ms of its first byte, however
 * slowly its bytes come, or the connection is closed.  Replies queued for
 * a client that does not read them are capped (64 KiB): above that the
 * connection is not read until the client has read some.  A connection
 * quiet for idle_timeout_ms (no lookup in progress, nothing read or
 * written) is closed: idle, or not reading its replies.  At most
 * max_clients connections: a new client at the cap is accepted and the
 * connection without a lookup in progress whose request began longest ago
 * (a slow sender), or else the one quiet longest, is closed; only when all
 * have a lookup in progress do new clients wait in the kernel's backlog,
 * for at most the deadline.
 *
 * Ownership: the server borrows the engine (and the log sink); they must
 * outlive sts_socketmap_stop().  Strings of the config are copied.
 */
#ifndef MTASTS_SOCKETMAP_H
#define MTASTS_SOCKETMAP_H

#include <stddef.h>

#include "mtasts/cache.h"
#include "mtasts/engine.h"
#include "mtasts/log.h"
#include "mtasts/policy_map.h"
#include "mtasts/status.h"

#define STS_SOCKETMAP_DEADLINE_MS 1000 /* default lookup deadline */
#define STS_SOCKETMAP_IDLE_MS 30000    /* default idle timeout */
#define STS_SOCKETMAP_CLIENTS 256      /* default max_clients */
#define STS_SOCKETMAP_WORKERS 8        /* default workers */

struct sts_socketmap_config {
    const char *socket;          /* inet:PORT[@HOST] (HOST default 127.0.0.1; PORT 0 = any, tests),
                                    inet6:PORT[@HOST] (default ::1), unix:PATH or local:PATH */
    struct sts_engine *engine;   /* answers each request (sts_judge_map_key()) */
    unsigned deadline_ms;        /* lookup deadline; 0 = STS_SOCKETMAP_DEADLINE_MS */
    unsigned idle_timeout_ms;    /* 0 = STS_SOCKETMAP_IDLE_MS */
    unsigned request_timeout_ms; /* a request's bytes, first to last; 0 = deadline_ms;
                                    at least 1000 */
    unsigned max_clients;        /* 0 = STS_SOCKETMAP_CLIENTS */
    unsigned workers;            /* 0 = STS_SOCKETMAP_WORKERS */
    struct sts_policy_map_options map;
    sts_log_fn *log; /* log.h; NULL = silent; one key=value line per request at LOG_DEBUG */
    void *log_arg;
};

struct sts_socketmap;

/**
 * Open the socket (a stale unix socket file is replaced) and start the
 * I/O thread and the workers.  Call after any fork(), before dropping
 * privileges if the socket needs them.
 * @return STS_OK; STS_EINVAL (bad socket spec); STS_EIO (socket, bind,
 *         listen, thread creation failed: reason in err); STS_ENOMEM
 */
enum sts_status sts_socketmap_start(const struct sts_socketmap_config *cfg,
                                    struct sts_socketmap **out, char *err, size_t errlen);

/**
 * The TCP port the server listens on (useful with inet:0), 0 for unix.
 */
unsigned sts_socketmap_port(const struct sts_socketmap *sm);

/**
 * Stop: close the listener, wait for running lookups (at most their
 * deadline), close the connections, remove a unix socket file, free.
 * NULL is a no-op.
 */
void sts_socketmap_stop(struct sts_socketmap *sm);

#endif
