/*
 * netstring.c - the netstring codec (see netstring.h).
 */
#include "mtasts/netstring.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

enum sts_netstring_result sts_netstring_decode(const char *buf, size_t len, size_t max,
                                               const char **data, size_t *datalen, size_t *consumed)
{
    size_t n = 0, i = 0;

    if (max > STS_NETSTRING_MAX)
        max = STS_NETSTRING_MAX;
    for (; i < len && is_digit(buf[i]); i++) {
        if (i == 1 && buf[0] == '0')
            return STS_NETSTRING_INVALID; /* leading zero */
        if (i >= STS_NETSTRING_DIGITS_MAX)
            return STS_NETSTRING_TOOBIG;
        n = n * 10 + (size_t)(buf[i] - '0');
        if (n > max)
            return STS_NETSTRING_TOOBIG;
    }
    if (i == len)
        return STS_NETSTRING_INCOMPLETE; /* digits so far (or nothing) */
    if (i == 0 || buf[i] != ':')
        return STS_NETSTRING_INVALID;
    size_t start = i + 1;
    if (len - start < n + 1)
        return STS_NETSTRING_INCOMPLETE;
    if (buf[start + n] != ',')
        return STS_NETSTRING_INVALID;
    *data = buf + start;
    *datalen = n;
    *consumed = start + n + 1;
    return STS_NETSTRING_OK;
}

size_t sts_netstring_encode(const char *data, size_t len, char *out, size_t outlen)
{
    char head[24];
    int h = snprintf(head, sizeof(head), "%zu:", len);
    size_t need = (size_t)h + len + 1;
    if (need >= outlen) {
        if (outlen > 0)
            out[0] = '\0';
        return need;
    }
    memcpy(out, head, (size_t)h);
    if (len > 0)
        memcpy(out + h, data, len);
    out[h + len] = ',';
    out[need] = '\0';
    return need;
}

const char *sts_netstring_result_name(enum sts_netstring_result r)
{
    switch (r) {
    case STS_NETSTRING_OK:
        return "ok";
    case STS_NETSTRING_INCOMPLETE:
        return "incomplete";
    case STS_NETSTRING_INVALID:
        return "invalid";
    case STS_NETSTRING_TOOBIG:
        return "too-big";
    }
    return "invalid";
}
