/*
 * fuzz_txt.c - libFuzzer harness for the _mta-sts TXT parser (RFC 8461 §3.1).
 * The input is split on '\n' into the records of one RRset.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mtasts/txt.h"

#define MAX_RECORDS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *recs[MAX_RECORDS];
    size_t lens[MAX_RECORDS], n = 0;
    const char *p = (const char *)data, *end = p + size;
    while (p <= end && n < MAX_RECORDS) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        recs[n] = p;
        lens[n++] = (size_t)(stop - p);
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    struct sts_txt txt;
    char err[128];
    if (sts_txt_parse_rrset(recs, lens, n, &txt, err, sizeof(err)) == STS_OK &&
        (txt.id[0] == '\0' || strlen(txt.id) > STS_TXT_ID_MAX))
        __builtin_trap(); /* a valid indicator always has a 1-32 char id */
    return 0;
}
