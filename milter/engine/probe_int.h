/*
 * probe_int.h - private to probe.c and probe_io.c: the state of one probe
 * and the I/O layer under it.  Not installed, not for other modules.
 *
 * A struct probe lives for one sts_probe_run() call, in one thread; nothing
 * in it is shared.  The socket is non-blocking; every wait is a poll()
 * bounded by deadline_ms.
 */
#ifndef MTASTS_PROBE_INT_H
#define MTASTS_PROBE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "mtasts/clock.h"
#include "mtasts/probe.h"

#define PROBE_DEFAULT_PORT 25u
#define PROBE_DEFAULT_TIMEOUT_MS 10000u
#define PROBE_DEFAULT_HELO "localhost"
/* RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; we take 4x that
 * for sloppy servers, and cap the lines of one reply (a long EHLO has ~15). */
#define PROBE_LINE_MAX 2048u
#define PROBE_REPLY_LINES_MAX 100
/* After QUIT: how long we wait for the 221 before closing anyway. */
#define PROBE_QUIT_WAIT_MS 300
#define PROBE_NET_CHUNK 4096u
#define PROBE_HOST_MAX 253u

struct sts_probe_ctx {
    SSL_CTX *ssl_ctx;
};

/* The classes of X509 verification errors, in priority order (see top). */
enum verify_class {
    VC_NOT_TRUSTED = 0,
    VC_EXPIRED,
    VC_HOST,
    VC_OTHER,
    VC_TLSA,
    VC_COUNT,
};

struct verify_notes {
    unsigned seen;      /* bit (1 << enum verify_class) */
    int code[VC_COUNT]; /* the first X509_V_ERR_* of each class */
    int depth[VC_COUNT];
};

/* How reading an SMTP reply ended, when it did not end with a reply. */
enum io_end {
    IO_OK = 0,
    IO_TIMEOUT,
    IO_EOF,
    IO_ERROR,   /* errno in probe.err_no, or a TLS error */
    IO_TOOLONG, /* a line over PROBE_LINE_MAX or too many lines */
    IO_MALFORMED,
};

struct smtp_reply {
    int code;
    bool starttls;  /* an EHLO keyword line said STARTTLS */
    char first[96]; /* the first line, quoted */
};

struct probe {
    const struct sts_probe_ctx *ctx;
    const struct sts_probe_request *req;
    struct sts_probe_result *out;
    char host[PROBE_HOST_MAX + 1]; /* without a trailing dot */
    int fd;
    int64_t start_ms, deadline_ms;
    double start_msf; /* for out->ms */
    int err_no;
    bool eof;    /* the server closed its side */
    bool failed; /* out->result and detail are final */
    SSL *ssl;    /* set from the handshake on: replies are read over TLS */
    BIO *rbio, *wbio;
    size_t tlsa_usable;
    struct verify_notes notes;
    size_t blen;
    char buf[PROBE_LINE_MAX + 1];
};

/**
 * Record the outcome (the first call wins; later ones are ignored).
 * @return -1, so that callers can "return probe_fail(...)"
 */
int probe_fail(struct probe *p, enum sts_tls_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Non-blocking connect to req->addr:port, until the deadline.  0 or -1 (failed). */
int probe_connect(struct probe *p);

/** Move everything OpenSSL wrote into the write BIO to the socket. */
enum io_end probe_tls_flush(struct probe *p);

/**
 * After an SSL call returned r: flush, and feed input if it wants some.
 * @return IO_OK: call again; anything else ends the operation
 */
enum io_end probe_tls_step(struct probe *p, int r);

/**
 * Send cmd (if not NULL) and read one reply, before STARTTLS is answered:
 * no reply at all is "unreachable".  0 or -1 (failed).
 */
int probe_smtp_exchange(struct probe *p, const char *what, const char *cmd, struct smtp_reply *r);

/** Best effort: QUIT, a short wait for the 221, close_notify over TLS. */
void probe_smtp_quit(struct probe *p);

/** Words for an io_end, for details. */
const char *probe_io_end_text(const struct probe *p, enum io_end e);

#endif
