/*
 * status.c - status words and the shared "reason into a buffer" helper.
 */
#include "mtasts/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *sts_status_word(enum sts_status st)
{
    switch (st) {
    case STS_OK:
        return "ok";
    case STS_EINVAL:
        return "invalid";
    case STS_ENOTFOUND:
        return "not-found";
    case STS_ENOMEM:
        return "no-memory";
    case STS_ETOOBIG:
        return "too-big";
    case STS_EIO:
        return "io-error";
    }
    return "unknown";
}

enum sts_status sts_status_set(enum sts_status st, char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

const char *sts_status_quote(const char *in, size_t len, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (outlen == 0)
        return out;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;
        if (o + need + 4 > outlen) { /* keep room for "..." and NUL */
            if (o + 4 <= outlen) {
                memcpy(out + o, "...", 3);
                o += 3;
            }
            break;
        }
        if (need == 1) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return out;
}
