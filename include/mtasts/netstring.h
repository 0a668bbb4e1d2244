/*
 * netstring.h - the netstring codec (D. J. Bernstein, as Postfix's
 * socketmap_table(5) uses it): LEN ":" DATA ",", LEN in decimal.  Pure, no
 * I/O, no allocation.
 *
 * Strictness: LEN is 1 to 6 ASCII digits without leading zeros ("0" alone
 * is the empty string), at most the caller's limit (STS_NETSTRING_MAX, the
 * Postfix socketmap cap, by default); DATA may hold any byte; the comma is
 * required.  The decoder works on a buffer that grows as bytes arrive: it
 * says "incomplete" while what it has is a valid prefix, so a caller can
 * read more, and refuses an oversize LEN as soon as its digits show it,
 * before the data arrives.
 *
 * Ownership: decoded data points into the caller's buffer and is valid for
 * as long as that buffer is.
 */
#ifndef MTASTS_NETSTRING_H
#define MTASTS_NETSTRING_H

#include <stddef.h>

/* Postfix socketmap_table(5): requests and replies at most 100000 bytes. */
#define STS_NETSTRING_MAX 100000
/* Digits of the longest LEN we accept, and the framing around DATA. */
#define STS_NETSTRING_DIGITS_MAX 6
#define STS_NETSTRING_OVERHEAD (STS_NETSTRING_DIGITS_MAX + 2)

enum sts_netstring_result {
    STS_NETSTRING_OK = 0,     /* one netstring decoded */
    STS_NETSTRING_INCOMPLETE, /* a valid prefix: read more */
    STS_NETSTRING_INVALID,    /* not a netstring (non-digit, leading zero, no ':' or ',') */
    STS_NETSTRING_TOOBIG,     /* LEN over the limit */
};

/**
 * Decode the netstring at the front of buf.
 * @param buf      the bytes received so far (need not be NUL-terminated)
 * @param len      their number
 * @param max      the largest LEN accepted (at most STS_NETSTRING_MAX)
 * @param data     on OK, receives a pointer to DATA inside buf
 * @param datalen  on OK, receives LEN
 * @param consumed on OK, receives the bytes used (LEN, ':', DATA, ','),
 *                 so buf + consumed is where a pipelined next one starts
 * @return see enum sts_netstring_result
 */
enum sts_netstring_result sts_netstring_decode(const char *buf, size_t len, size_t max,
                                               const char **data, size_t *datalen,
                                               size_t *consumed);

/**
 * Encode data as a netstring into out, NUL-terminated when it fits.
 * @return the length of the netstring (excluding the NUL); when it is
 *         >= outlen nothing usable was written (like snprintf)
 */
size_t sts_netstring_encode(const char *data, size_t len, char *out, size_t outlen);

/** "ok", "incomplete", "invalid", "too-big". */
const char *sts_netstring_result_name(enum sts_netstring_result r);

#endif
