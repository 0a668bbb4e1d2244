/*
 * metrics_http.h - the Metrics listener: a small HTTP/1.0 responder that
 * serves GET and HEAD /metrics (metrics.h's text format 0.0.4, or JSON to
 * a client whose Accept names application/json) and nothing else.
 *
 * Threads and locking protocol: one thread owns the listening socket and
 * every connection (poll(), non-blocking sockets, a self-pipe to stop);
 * it renders the metrics itself (metrics.h: lock-free reads), so it
 * shares no lock with anyone.
 *
 * Caps (a scraper is one request per connection; anything else is
 * refused early): a request head of at most STS_HTTP_REQUEST_MAX bytes
 * (larger: 431 and close); each connection has timeout_ms from accept to
 * its last byte written (a slow or silent client gets 408 and is
 * closed); at most max_clients connections (the rest wait in the
 * kernel's backlog).  Other methods get 405, other paths 404, malformed
 * heads 400.  Every reply is "Connection: close".  One
 * mtasts_metrics_requests_total{result} per connection.
 *
 * Ownership: the config's strings are copied; the log sink is borrowed
 * and must outlive sts_metrics_http_stop().
 */
#ifndef MTASTS_METRICS_HTTP_H
#define MTASTS_METRICS_HTTP_H

#include "mtasts/log.h"
#include "mtasts/status.h"

#define STS_METRICS_HTTP_TIMEOUT_MS 5000 /* default per connection */
#define STS_METRICS_HTTP_CLIENTS 16      /* default max_clients */

struct sts_metrics_http_config {
    const char *socket;   /* inet:PORT[@HOST] (default 127.0.0.1), inet6:, unix:PATH */
    unsigned timeout_ms;  /* 0 = STS_METRICS_HTTP_TIMEOUT_MS */
    unsigned max_clients; /* 0 = STS_METRICS_HTTP_CLIENTS */
    sts_log_fn *log;      /* NULL = silent; one line per connection at LOG_DEBUG */
    void *log_arg;
};

struct sts_metrics_http;

/**
 * Open the socket and start the thread.  Call before dropping privileges
 * if the socket needs them.
 * @return STS_OK; STS_EINVAL (bad spec); STS_EIO; STS_ENOMEM
 */
enum sts_status sts_metrics_http_start(const struct sts_metrics_http_config *cfg,
                                       struct sts_metrics_http **out, char *err, size_t errlen);

/** The TCP port listened on (useful with inet:0), 0 for unix. */
unsigned sts_metrics_http_port(const struct sts_metrics_http *mh);

/** The unix socket file, or NULL (for the daemon's hand-over to UserID). */
const char *sts_metrics_http_path(const struct sts_metrics_http *mh);

/** Stop the thread, close every connection and the socket, free; NULL is a no-op. */
void sts_metrics_http_stop(struct sts_metrics_http *mh);

#endif
