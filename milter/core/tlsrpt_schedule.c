/*
 * tlsrpt_schedule.c - retry back-off and send-time spread for TLS
 * reports.  See tlsrpt_schedule.h.
 */
#include "mtasts/tlsrpt_schedule.h"

#include <stddef.h>

bool sts_tlsrpt_next_try(int64_t first_try, unsigned attempts, int64_t now, int64_t *next)
{
    int64_t deadline = first_try + STS_TLSRPT_RETRY_GIVE_UP;
    int64_t delay = STS_TLSRPT_RETRY_FIRST;

    if (now < first_try)
        now = first_try; /* a clock that went back: count from the first try */
    if (now >= deadline)
        return false;
    for (unsigned i = 1; i < attempts && delay < STS_TLSRPT_RETRY_MAX; i++)
        delay *= 2;
    if (delay > STS_TLSRPT_RETRY_MAX)
        delay = STS_TLSRPT_RETRY_MAX;
    *next = now + delay > deadline ? deadline : now + delay;
    return true;
}

int64_t sts_tlsrpt_spread(const char *key, int64_t window_start, uint32_t window)
{
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a 64 offset basis */
    if (window == 0)
        return window_start;
    for (const unsigned char *p = (const unsigned char *)(key != NULL ? key : ""); *p; p++) {
        h ^= *p;
        h *= 0x100000001b3u; /* FNV prime */
    }
    return window_start + (int64_t)(h % window);
}
