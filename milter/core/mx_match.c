/*
 * mx_match.c - does a policy "mx" pattern permit an MX host (RFC 8461 §4.1)?
 *
 * Pure and allocation-free: called for every MX of every recipient on the
 * hot path.
 */
#include "mtasts/mx_match.h"

#include <string.h>

#include "mtasts/domain.h"

/* Length without one trailing dot; 0 for NULL. */
static size_t trimmed_len(const char *s)
{
    if (s == NULL)
        return 0;
    size_t len = strnlen(s, STS_DOMAIN_MAX + 2);
    if (len > 0 && s[len - 1] == '.')
        len--;
    return len;
}

enum sts_status sts_mx_match_check_pattern(const char *pattern, char *err, size_t errlen)
{
    size_t len = trimmed_len(pattern);
    if (len == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "empty pattern");
    const char *name = pattern;
    if (pattern[0] == '*') {
        if (len < 3 || pattern[1] != '.')
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "a wildcard must be a whole leftmost label (\"*.\")");
        name += 2;
        len -= 2;
    }
    if (memchr(name, '*', len) != NULL)
        return sts_status_set(STS_EINVAL, err, errlen,
                              "a wildcard is allowed only as the whole leftmost label");
    return sts_domain_check_ldh(name, len, err, errlen);
}

enum sts_status sts_mx_match_normalize_pattern(const char *in, char *out, size_t outlen, char *err,
                                               size_t errlen)
{
    size_t skip = (in[0] == '*' && in[1] == '.') ? 2 : 0;
    if (outlen <= skip)
        return sts_status_set(STS_ETOOBIG, err, errlen, "output buffer too small");
    memcpy(out, in, skip);
    enum sts_status st = sts_domain_normalize(in + skip, out + skip, outlen - skip, err, errlen);
    if (st != STS_OK)
        return st;
    return sts_mx_match_check_pattern(out, err, errlen);
}

static bool has_non_ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return false;
}

enum sts_status sts_mx_match_policy_pattern(const char *in, char *out, size_t outlen, char *err,
                                            size_t errlen)
{
    if (!has_non_ascii(in))
        return sts_mx_match_normalize_pattern(in, out, outlen, err, errlen);
    /* §3.2: sts-policy-mx-value = ["*."] Domain, and Domain (RFC 5321) is
     * LDH labels: A-labels only.  Name the A-label so the postmaster can
     * fix the policy, but never use it. */
    char alabel[STS_DOMAIN_MAX + 3], why[96];
    if (sts_mx_match_normalize_pattern(in, alabel, sizeof(alabel), why, sizeof(why)) != STS_OK)
        return sts_status_set(STS_EINVAL, err, errlen, "non-ASCII name (%s)", why);
    return sts_status_set(STS_EINVAL, err, errlen,
                          "U-labels are not allowed (RFC 8461 section 3.2 takes A-labels); "
                          "write \"%s\"",
                          alabel);
}

bool sts_mx_match(const char *pattern, const char *host)
{
    if (sts_mx_match_check_pattern(pattern, NULL, 0) != STS_OK)
        return false;
    size_t hlen = trimmed_len(host);
    if (sts_domain_check_ldh(host, hlen, NULL, 0) != STS_OK)
        return false;

    size_t plen = trimmed_len(pattern);
    if (pattern[0] != '*')
        return sts_domain_equal(pattern, plen, host, hlen);

    /* "*.rest": the host must be exactly one label followed by ".rest". */
    const char *dot = memchr(host, '.', hlen);
    if (dot == NULL)
        return false;
    size_t suffix = hlen - (size_t)(dot + 1 - host);
    return sts_domain_equal(pattern + 2, plen - 2, dot + 1, suffix);
}
