/*
 * fuzz_policy.c - libFuzzer harness for the policy body parser (RFC 8461
 * §3.2).  Checks the invariants of every accepted policy.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mtasts/mx_match.h"
#include "mtasts/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sts_policy *p;
    char err[256];
    if (sts_policy_parse((const char *)data, size, &p, err, sizeof(err)) != STS_OK)
        return 0;
    if (p->max_age > STS_POLICY_MAX_AGE_MAX)
        __builtin_trap();
    if (p->mode != STS_MODE_NONE && p->mx_count == 0)
        __builtin_trap();
    for (size_t i = 0; i < p->mx_count; i++) {
        if (sts_mx_match_check_pattern(p->mx[i], NULL, 0) != STS_OK)
            __builtin_trap(); /* stored patterns are always valid */
        /* each check scans every pattern: a few suffice, and a body at the
           64 KiB cap (2,700 mx lines) stays fast instead of quadratic */
        if (i < 8 || i + 1 == p->mx_count)
            (void)sts_policy_permits_mx(p, p->mx[i]);
    }
    sts_policy_free(p);
    return 0;
}
