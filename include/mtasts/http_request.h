/*
 * http_request.h - the request parser of the metrics responder
 * (metrics_http.c): one HTTP/1.0 or HTTP/1.1 request head (RFC 9112 §2-5),
 * judged for a server that serves GET and HEAD of one path.
 *
 * Pure: no I/O, no allocation, no state; thread-safe.  The caller reads
 * the connection into a buffer of at most STS_HTTP_REQUEST_MAX bytes and
 * asks after each read; INCOMPLETE means "read more" (and, at the cap,
 * the caller answers TOO_LARGE).
 *
 * What is accepted: a request line "METHOD SP TARGET SP HTTP/1.x" and
 * header lines up to an empty line, each ending in CRLF or a bare LF
 * (§2.2 allows the LF), any number of header fields of the form
 * "name: value" (a token name, a value without control characters but
 * HTAB); the body, if any, is ignored (a GET has none; we close).  The
 * target is an origin-form path, with an optional query that is ignored;
 * only the path STS_HTTP_METRICS_PATH is found.  A NUL or another
 * control character anywhere in the head is a bad request.
 */
#ifndef MTASTS_HTTP_REQUEST_H
#define MTASTS_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

/* The largest request head read (request line and headers). */
#define STS_HTTP_REQUEST_MAX 8192
#define STS_HTTP_METRICS_PATH "/metrics"

enum sts_http_verdict {
    STS_HTTP_INCOMPLETE = 0, /* no empty line yet: read more */
    STS_HTTP_SERVE,          /* GET or HEAD of the metrics path: 200 */
    STS_HTTP_BAD_REQUEST,    /* malformed: 400 */
    STS_HTTP_NOT_FOUND,      /* another path: 404 */
    STS_HTTP_BAD_METHOD,     /* another method (POST, ...): 405 */
    STS_HTTP_BAD_VERSION,    /* not HTTP/1.x: 505 */
};

struct sts_http_request {
    bool head;      /* HEAD: the headers of the reply only */
    bool want_json; /* an Accept field names application/json */
    size_t used;    /* bytes of the head, empty line included */
};

/**
 * Judge the bytes read so far.
 * @param buf the bytes (need not be NUL-terminated)
 * @param len their number
 * @param out filled for SERVE (head, want_json) and for every complete
 *            head (used); zeroed otherwise
 * @return the verdict; a method is judged before the path, the path
 *         before the version, the header fields last
 */
enum sts_http_verdict sts_http_request_parse(const char *buf, size_t len,
                                             struct sts_http_request *out);

/** "incomplete", "serve", "bad-request", "not-found", "bad-method", "bad-version". */
const char *sts_http_verdict_name(enum sts_http_verdict v);

#endif
