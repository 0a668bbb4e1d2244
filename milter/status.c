/*
 * status.c - status words and the shared "reason into a buffer" helper.
 */
#include "mtasts/status.h"

#include <stdarg.h>
#include <stdio.h>

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
