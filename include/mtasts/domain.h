/*
 * domain.h - domain name normalisation (pure, no I/O).
 *
 * Every domain and host name the project compares or stores goes through
 * sts_domain_normalize() first: lower-cased, one trailing dot removed,
 * internationalised labels (U-labels) converted to A-labels with libidn2
 * (UTS #46 non-transitional), and checked against the LDH rules of
 * RFC 5321 "Domain" (labels of 1-63 letters, digits and hyphens, not
 * starting or ending with a hyphen, 253 octets in all).
 */
#ifndef MTASTS_DOMAIN_H
#define MTASTS_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/status.h"

/* RFC 1035 §2.3.4: 253 octets of presentation form, without the root dot. */
#define STS_DOMAIN_MAX 253
#define STS_LABEL_MAX 63

/**
 * Normalise a domain name.
 * @param in     the name, NUL-terminated; may carry a trailing dot and UTF-8
 * @param out    receives the normalised A-label form, NUL-terminated
 * @param outlen size of out; STS_DOMAIN_MAX + 1 is always enough
 * @param err    receives the reason on failure (may be NULL)
 * @param errlen size of err
 * @return STS_OK, STS_EINVAL (not a valid name) or STS_ETOOBIG (out too small)
 */
enum sts_status sts_domain_normalize(const char *in, char *out, size_t outlen, char *err,
                                     size_t errlen);

/**
 * Check that an ASCII name (no trailing dot) obeys the LDH rules above.
 * Case is not checked.  Does not allocate.
 * @return STS_OK or STS_EINVAL with the reason in err
 */
enum sts_status sts_domain_check_ldh(const char *name, size_t len, char *err, size_t errlen);

/**
 * ASCII-only, locale-independent case-insensitive equality of two byte
 * ranges.
 */
bool sts_domain_equal(const char *a, size_t alen, const char *b, size_t blen);

#endif
