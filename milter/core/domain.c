/*
 * domain.c - domain name normalisation: case, trailing dot, IDNA, LDH.
 *
 * Names reach us from envelopes, DNS answers, policy bodies and the
 * command line; all of them are untrusted.  Everything is length-checked
 * before it is copied and nothing here keeps state, so it is thread-safe.
 */
#include "mtasts/domain.h"

#include <idn2.h>
#include <stdlib.h>
#include <string.h>

/* Longest input we even look at: a 253-octet name in UTF-8 is far shorter. */
#define DOMAIN_INPUT_MAX 1024

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static unsigned char to_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

bool sts_domain_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (to_lower((unsigned char)a[i]) != to_lower((unsigned char)b[i]))
            return false;
    return true;
}

enum sts_status sts_domain_check_ldh(const char *name, size_t len, char *err, size_t errlen)
{
    if (len == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "empty name");
    if (len > STS_DOMAIN_MAX)
        return sts_status_set(STS_EINVAL, err, errlen, "name longer than %d octets",
                              STS_DOMAIN_MAX);

    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && name[i] != '.') {
            unsigned char c = (unsigned char)name[i];
            if (!is_alpha(c) && !is_digit(c) && c != '-') {
                if (c < 0x21 || c > 0x7e)
                    return sts_status_set(STS_EINVAL, err, errlen, "invalid byte 0x%02x in name",
                                          c);
                return sts_status_set(STS_EINVAL, err, errlen, "invalid character '%c' in name", c);
            }
            continue;
        }
        size_t llen = i - start;
        if (llen == 0)
            return sts_status_set(STS_EINVAL, err, errlen, "empty label");
        if (llen > STS_LABEL_MAX)
            return sts_status_set(STS_EINVAL, err, errlen, "label longer than %d octets",
                                  STS_LABEL_MAX);
        if (name[start] == '-' || name[i - 1] == '-')
            return sts_status_set(STS_EINVAL, err, errlen, "label starts or ends with a hyphen");
        start = i + 1;
    }
    return STS_OK;
}

static bool has_non_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return true;
    return false;
}

enum sts_status sts_domain_normalize(const char *in, char *out, size_t outlen, char *err,
                                     size_t errlen)
{
    if (in == NULL || out == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "no name");
    if (outlen == 0)
        return sts_status_set(STS_ETOOBIG, err, errlen, "output buffer too small");

    size_t len = strnlen(in, DOMAIN_INPUT_MAX + 1);
    if (len > DOMAIN_INPUT_MAX)
        return sts_status_set(STS_EINVAL, err, errlen, "name longer than %d octets",
                              STS_DOMAIN_MAX);
    if (len > 0 && in[len - 1] == '.')
        len--; /* the root label, as in "example.com." */
    if (len == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "empty name");

    char buf[DOMAIN_INPUT_MAX + 1];
    memcpy(buf, in, len);
    buf[len] = '\0';

    const char *ascii = buf;
    char *converted = NULL;
    if (has_non_ascii(buf, len)) {
        int rc = idn2_to_ascii_8z(buf, &converted, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
        if (rc != IDN2_OK)
            return sts_status_set(STS_EINVAL, err, errlen, "not a valid IDN: %s",
                                  idn2_strerror(rc));
        ascii = converted;
    }

    size_t alen = strlen(ascii);
    enum sts_status st = sts_domain_check_ldh(ascii, alen, err, errlen);
    if (st == STS_OK && alen + 1 > outlen)
        st = sts_status_set(STS_ETOOBIG, err, errlen, "output buffer too small");
    if (st == STS_OK) {
        for (size_t i = 0; i < alen; i++)
            out[i] = (char)to_lower((unsigned char)ascii[i]);
        out[alen] = '\0';
    }
    idn2_free(converted);
    return st;
}
