/*
 * fuzz_policy_map.c - libFuzzer harness for the socketmap request
 * classifier (policy_map.h): the payload "NAME KEY" of one Postfix
 * smtp_tls_policy_maps / Sendmail sts request, any bytes.  Invariants:
 *   LOOKUP    the domain is a non-empty, NUL-terminated, normalised name
 *             (lower case, no trailing dot, normalising it again changes
 *             nothing), and asking again for exactly that domain gives
 *             LOOKUP with the same name
 *   PERM      a reason word is given, and "PERM reason" fits a short reply
 *   NOTFOUND  nothing else to check
 * and the classifier never reads past len (ASan).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mtasts/domain.h"
#include "mtasts/policy_map.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char domain[STS_DOMAIN_MAX + 1], reason[64], again[STS_DOMAIN_MAX + 1], why[64];
    char norm[STS_DOMAIN_MAX + 1], req[STS_DOMAIN_MAX + 16], reply[64];
    enum sts_policy_map_key k = sts_policy_map_parse((const char *)data, size, domain,
                                                     sizeof(domain), reason, sizeof(reason));
    if (k == STS_POLICY_MAP_LOOKUP) {
        size_t n = strnlen(domain, sizeof(domain));
        if (n == 0 || n == sizeof(domain) || domain[n - 1] == '.')
            __builtin_trap();
        for (size_t i = 0; i < n; i++)
            if (domain[i] >= 'A' && domain[i] <= 'Z')
                __builtin_trap();
        if (sts_domain_normalize(domain, norm, sizeof(norm), NULL, 0) != STS_OK ||
            strcmp(norm, domain) != 0)
            __builtin_trap();
        int rl = snprintf(req, sizeof(req), "postfix %s", domain);
        if (sts_policy_map_parse(req, (size_t)rl, again, sizeof(again), why, sizeof(why)) !=
                STS_POLICY_MAP_LOOKUP ||
            strcmp(again, domain) != 0)
            __builtin_trap();
    } else if (k == STS_POLICY_MAP_PERM) {
        if (strnlen(reason, sizeof(reason)) == 0 ||
            strnlen(reason, sizeof(reason)) == sizeof(reason))
            __builtin_trap();
        if (sts_policy_map_perm(reason, reply, sizeof(reply)) >= sizeof(reply))
            __builtin_trap();
    } else if (k != STS_POLICY_MAP_NOTFOUND) {
        __builtin_trap();
    }
    return 0;
}
