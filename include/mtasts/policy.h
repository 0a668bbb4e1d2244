/*
 * policy.h - the MTA-STS policy body parser (RFC 8461 §3.2), pure, no I/O.
 *
 * Strict to the ABNF, with the tolerances documented in mtasts(1) under
 * POLICY RULES: lines end in LF or CRLF, the last one may lack it; empty
 * lines are skipped; "version", "mode" and "max_age" must each appear,
 * and when repeated only the first counts (§3.2); "mx" may repeat and is
 * required unless mode is "none"; unknown keys are ignored.
 *
 * Ownership: sts_policy_parse() allocates the policy and everything it
 * points to; sts_policy_free() releases it all.  The policy is immutable
 * after parsing and may be shared read-only between threads.
 */
#ifndef MTASTS_POLICY_H
#define MTASTS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/status.h"

#define STS_POLICY_MAX_AGE_MAX 31557600u /* RFC 8461 §3.2: about one year */
#define STS_POLICY_BODY_MAX 65536        /* bytes; the fetch cap too */

enum sts_mode {
    STS_MODE_NONE = 0,
    STS_MODE_TESTING,
    STS_MODE_ENFORCE,
};

struct sts_policy {
    enum sts_mode mode;
    uint32_t max_age; /* seconds, 0 .. STS_POLICY_MAX_AGE_MAX */
    size_t mx_count;
    char **mx; /* mx_count patterns, lower-case A-labels, no trailing dot */
};

/**
 * Parse a policy body.
 * @param body the bytes as served (need not be NUL-terminated)
 * @param len  their length; more than STS_POLICY_BODY_MAX is STS_ETOOBIG
 * @param out  receives a new policy on STS_OK, else NULL
 * @param err  receives "line N: reason" (or a whole-body reason) on failure
 * @return STS_OK, STS_EINVAL, STS_ETOOBIG or STS_ENOMEM
 */
enum sts_status sts_policy_parse(const char *body, size_t len, struct sts_policy **out, char *err,
                                 size_t errlen);

/**
 * Write the policy in canonical form ("version: STSv1\nmode: ...\n
 * max_age: N\nmx: ...\n"), which sts_policy_parse() reads back to an
 * equal policy.  Used to store policies and to show them.
 * @return the length written (excluding NUL), or the length needed if it
 *         is >= len (like snprintf)
 */
size_t sts_policy_format(const struct sts_policy *policy, char *buf, size_t len);

/** Free a policy; NULL is a no-op. */
void sts_policy_free(struct sts_policy *policy);

/** Does any of the policy's mx patterns permit host? */
bool sts_policy_permits_mx(const struct sts_policy *policy, const char *host);

/** "none", "testing" or "enforce". */
const char *sts_mode_name(enum sts_mode mode);

#endif
