/*
 * fuzz_overrides.c - libFuzzer harness for the overrides file parser
 * (overrides.h, OverridesFile: "DOMAIN secure|enforce PATTERN...", "DOMAIN
 * dane|verify|encrypt|skip").  Invariants:
 *   - a refused file gives a NUL-terminated "NAME:LINE: reason";
 *   - an accepted one has at most one rule per line, and for the first word
 *     of every line (normalised as a domain, and a name one label below
 *     it) the rule the lookup returns obeys the precedence rules: an exact
 *     rule names the domain itself, a ".parent" rule a proper suffix of
 *     it; an enforce rule has at least one pattern, each a valid MX
 *     pattern; skip, dane, verify and encrypt rules have none.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mtasts/domain.h"
#include "mtasts/mx_match.h"
#include "mtasts/overrides.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rule(const struct sts_overrides *ov, const char *domain)
{
    const struct sts_override *r = sts_overrides_lookup(ov, domain);
    if (r == NULL)
        return;
    size_t dl = strlen(domain), rl = strlen(r->domain);
    if (r->subdomains) {
        /* ".example.com" covers names strictly below example.com */
        if (r->domain[0] != '.' || dl <= rl || strcmp(domain + dl - rl, r->domain) != 0)
            __builtin_trap();
    } else if (strcmp(r->domain, domain) != 0) {
        __builtin_trap();
    }
    switch (r->kind) {
    case STS_OVERRIDE_ENFORCE:
        if (r->npatterns == 0)
            __builtin_trap();
        for (size_t i = 0; i < r->npatterns; i++)
            if (sts_mx_match_check_pattern(r->patterns[i], NULL, 0) != STS_OK)
                __builtin_trap();
        break;
    case STS_OVERRIDE_SKIP:
    case STS_OVERRIDE_DANE:
    case STS_OVERRIDE_ENCRYPT:
    case STS_OVERRIDE_VERIFY:
        if (r->npatterns != 0)
            __builtin_trap();
        break;
    default:
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sts_overrides *ov = NULL;
    char err[512];
    err[0] = 'x';
    if (sts_overrides_parse((const char *)data, size, "fuzz.overrides", &ov, err, sizeof(err)) !=
        STS_OK) {
        if (strnlen(err, sizeof(err)) == sizeof(err) || strncmp(err, "fuzz.overrides", 14) != 0)
            __builtin_trap();
        return 0;
    }
    size_t lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    if (sts_overrides_count(ov) > lines)
        __builtin_trap();
    /* The first word of each line, as a domain and one label below it. */
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        while (p < stop && (*p == ' ' || *p == '\t'))
            p++;
        const char *w = p;
        while (p < stop && *p != ' ' && *p != '\t' && *p != '\r')
            p++;
        char word[STS_DOMAIN_MAX + 2], norm[STS_DOMAIN_MAX + 1], below[STS_DOMAIN_MAX + 8];
        size_t wl = (size_t)(p - w);
        if (wl > 0 && wl < sizeof(word)) {
            memcpy(word, w, wl);
            word[wl] = '\0';
            const char *name = word[0] == '.' ? word + 1 : word;
            if (sts_domain_normalize(name, norm, sizeof(norm), NULL, 0) == STS_OK) {
                check_rule(ov, norm);
                snprintf(below, sizeof(below), "x.%s", norm);
                if (strlen(below) <= STS_DOMAIN_MAX)
                    check_rule(ov, below);
            }
        }
        p = nl ? nl + 1 : end;
    }
    sts_overrides_unref(ov);
    return 0;
}
