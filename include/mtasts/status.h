/*
 * status.h - status codes shared by every mtasts-milter module.
 *
 * Functions that can fail return one of these and, where the caller passes
 * one, write a one-line human-readable reason into a caller-supplied
 * buffer (char *err, size_t errlen).  The reason never ends in a newline.
 */
#ifndef MTASTS_STATUS_H
#define MTASTS_STATUS_H

#include <stddef.h>

enum sts_status {
    STS_OK = 0,
    STS_EINVAL,    /* input is syntactically or semantically invalid */
    STS_ENOTFOUND, /* nothing of the kind asked for is there */
    STS_ENOMEM,    /* an allocation failed */
    STS_ETOOBIG,   /* input exceeds a protocol or configured limit */
    STS_EIO,       /* reading or writing a file or socket failed */
};

/**
 * A stable lower-case word for a status, for logs ("ok", "invalid", ...).
 * @param st the status
 * @return a static string, never NULL
 */
const char *sts_status_word(enum sts_status st);

/**
 * Format a reason into err (if err is not NULL and errlen > 0), like
 * snprintf, truncating silently.  Returns st so callers can write
 * "return sts_status_set(STS_EINVAL, err, errlen, "...", ...)".
 */
enum sts_status sts_status_set(enum sts_status st, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/**
 * Copy untrusted bytes into out for a log line or an error message:
 * printable ASCII is kept, anything else becomes \xNN, and a copy that
 * does not fit ends in "...".  out is always NUL-terminated.
 * @return out
 */
const char *sts_status_quote(const char *in, size_t len, char *out, size_t outlen);

#endif
