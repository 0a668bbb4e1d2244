/*
 * fuzz_mx_match.c - libFuzzer harness for MX matching (RFC 8461 §4.1) and
 * domain normalisation.  Input: PATTERN '\0' HOST.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/domain.h"
#include "mtasts/mx_match.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 2);
    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = buf[size + 1] = '\0';
    const char *pattern = buf;
    const char *host = buf + strlen(buf) + 1;

    bool m = sts_mx_match(pattern, host);
    /* A matching pair is made of a valid pattern and a host without '*'. */
    if (m && (sts_mx_match_check_pattern(pattern, NULL, 0) != STS_OK || strchr(host, '*')))
        __builtin_trap();

    char norm[STS_DOMAIN_MAX + 3], again[STS_DOMAIN_MAX + 3];
    if (sts_domain_normalize(host, norm, sizeof(norm), NULL, 0) == STS_OK) {
        /* Normalisation is idempotent. */
        if (sts_domain_normalize(norm, again, sizeof(again), NULL, 0) != STS_OK ||
            strcmp(norm, again) != 0)
            __builtin_trap();
    }
    if (sts_mx_match_normalize_pattern(pattern, norm, sizeof(norm), NULL, 0) == STS_OK)
        (void)sts_mx_match(norm, host);
    free(buf);
    return 0;
}
