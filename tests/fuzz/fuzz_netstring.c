/*
 * fuzz_netstring.c - libFuzzer harness for the netstring decoder the
 * socketmap server runs on every byte a client sends (Postfix
 * socketmap_table(5); netstring.h).  The input is a client's byte stream:
 * netstrings are decoded one after the other, as the server does with a
 * pipelined buffer, under the Postfix cap and under a small limit taken
 * from the first byte.  Invariants of every decode:
 *   OK          the netstring lies inside the buffer, LEN <= the limit,
 *               it ends with ',', and re-encoding DATA gives the same bytes
 *               (the decoder accepts only the canonical form); every
 *               shorter prefix of it is INCOMPLETE (a reader that got only
 *               part of it must wait, not fail)
 *   INCOMPLETE  what is there can still become a netstring under the
 *               limit, so it is never longer than the largest one
 * and decoding never reads past len (ASan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/netstring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prefix checks are quadratic: only for netstrings up to this size. */
#define PREFIX_CHECK_MAX 512

static void decode_all(const char *buf, size_t len, size_t max)
{
    char *enc = malloc(STS_NETSTRING_MAX + STS_NETSTRING_OVERHEAD + 1);
    if (enc == NULL)
        return;
    while (len > 0) {
        const char *d = NULL;
        size_t dlen = 0, used = 0;
        enum sts_netstring_result r = sts_netstring_decode(buf, len, max, &d, &dlen, &used);
        if (r == STS_NETSTRING_INCOMPLETE && len > max + STS_NETSTRING_OVERHEAD)
            __builtin_trap(); /* nothing this long can still complete */
        if (r != STS_NETSTRING_OK)
            break;
        if (used == 0 || used > len || dlen > max || d < buf || d + dlen > buf + used ||
            buf[used - 1] != ',')
            __builtin_trap();
        size_t n =
            sts_netstring_encode(d, dlen, enc, STS_NETSTRING_MAX + STS_NETSTRING_OVERHEAD + 1);
        if (n != used || memcmp(enc, buf, used) != 0)
            __builtin_trap(); /* only the canonical form decodes */
        if (used <= PREFIX_CHECK_MAX)
            for (size_t k = 0; k < used; k++) {
                const char *d2;
                size_t l2, u2;
                if (sts_netstring_decode(buf, k, max, &d2, &l2, &u2) != STS_NETSTRING_INCOMPLETE)
                    __builtin_trap();
            }
        buf += used;
        len -= used;
    }
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_all((const char *)data, size, STS_NETSTRING_MAX);
    if (size > 0)
        decode_all((const char *)data + 1, size - 1, data[0]);
    return 0;
}
