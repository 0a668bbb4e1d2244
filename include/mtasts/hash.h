/*
 * hash.h - the one string hash of the pure core: 64-bit FNV-1a, for
 * in-memory tables (overrides, TLS-RPT aggregation) and stable derived
 * names (the report mail's boundary).  Not for anything an attacker
 * could use to collide on purpose where that matters: the tables that
 * hold peer-chosen keys bound their chains or compare whole keys.
 */
#ifndef MTASTS_HASH_H
#define MTASTS_HASH_H

#include <stddef.h>
#include <stdint.h>

#define STS_FNV1A64_INIT 0xcbf29ce484222325u /* the FNV-1a 64 offset basis */

/** Continue hash h over p[0..n); start with STS_FNV1A64_INIT. */
static inline uint64_t sts_fnv1a64(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3u;
    }
    return h;
}

#endif
