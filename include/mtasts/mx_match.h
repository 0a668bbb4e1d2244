/*
 * mx_match.h - MX host name against policy "mx" patterns (RFC 8461 §4.1),
 * pure, no I/O; sts_mx_match() does not allocate.
 *
 * A pattern is a domain name, or "*." followed by a domain name; the "*"
 * stands for exactly one whole leftmost label: "*.example.com" matches
 * "mx.example.com" but neither "example.com" nor "a.b.example.com".
 * Comparison is ASCII case-insensitive and a single trailing dot on either
 * side is ignored.  Both sides are expected in A-label form (see
 * sts_domain_normalize()); non-ASCII input never matches.
 */
#ifndef MTASTS_MX_MATCH_H
#define MTASTS_MX_MATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/status.h"

/**
 * Check a policy "mx" pattern's syntax: ["*."] Domain, LDH labels.
 * @return STS_OK or STS_EINVAL with the reason in err
 */
enum sts_status sts_mx_match_check_pattern(const char *pattern, char *err, size_t errlen);

/**
 * Normalise a pattern as written in a policy or on a command line: the
 * name part goes through sts_domain_normalize() (case, trailing dot, IDN)
 * and the whole is then checked with sts_mx_match_check_pattern().
 * @param in     the pattern, NUL-terminated
 * @param out    receives the normalised pattern
 * @param outlen size of out; STS_DOMAIN_MAX + 3 is always enough
 * @return STS_OK, STS_EINVAL or STS_ETOOBIG, with the reason in err
 */
enum sts_status sts_mx_match_normalize_pattern(const char *in, char *out, size_t outlen, char *err,
                                               size_t errlen);

/**
 * Read an "mx" value of a policy body (RFC 8461 §3.2): as
 * sts_mx_match_normalize_pattern() for ASCII input, but a name with
 * non-ASCII bytes (U-labels) is refused, never converted: the ABNF takes
 * A-labels only.  The reason then names the A-label to write instead
 * ("... write \"*.xn--bcher-kva.example\""), when the name is a valid IDN.
 * @param in     the value, NUL-terminated
 * @param out    receives the normalised pattern on STS_OK
 * @param outlen size of out; STS_DOMAIN_MAX + 3 is always enough
 * @return STS_OK, STS_EINVAL or STS_ETOOBIG, with the reason in err
 */
enum sts_status sts_mx_match_policy_pattern(const char *in, char *out, size_t outlen, char *err,
                                            size_t errlen);

/**
 * Does the pattern permit the host?  An invalid pattern or host permits
 * nothing.
 */
bool sts_mx_match(const char *pattern, const char *host);

#endif
