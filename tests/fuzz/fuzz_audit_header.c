/*
 * fuzz_audit_header.c - libFuzzer harness for the audit header parser
 * (audit_header.h), which reads a header value as a downstream tool (or a
 * test) would; the milter itself deletes forged copies, so the value may
 * come from anyone.  The input is the value (NUL-terminated here, capped at
 * STS_AUDIT_INPUT_MAX).  Invariants when it parses:
 *   - every field of every entry fits its array (NUL-terminated);
 *   - formatting the entries and parsing that again succeeds and formats
 *     to the same text (format and parse agree), in every fold form, and
 *     the three fold forms parse to the same entries.
 * Entries the formatter refuses (a required field missing) end the check.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/audit_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP 32
#define OUT_MAX (CAP * (9 * (3 * STS_AUDIT_VALUE_MAX + 16)) + 64)

static struct sts_audit_entry a[CAP], b[CAP];

static bool fits(const char *s, size_t cap)
{
    return strnlen(s, cap) < cap;
}

static bool entry_fits(const struct sts_audit_entry *e)
{
    return fits(e->domain, sizeof(e->domain)) && fits(e->mode, sizeof(e->mode)) &&
           fits(e->id, sizeof(e->id)) && fits(e->override, sizeof(e->override)) &&
           fits(e->verdict, sizeof(e->verdict)) && fits(e->reason, sizeof(e->reason)) &&
           fits(e->mx, sizeof(e->mx)) && fits(e->relay, sizeof(e->relay)) &&
           fits(e->tls, sizeof(e->tls));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > STS_AUDIT_INPUT_MAX)
        return 0;
    char *value = malloc(size + 1), *out = malloc(OUT_MAX), *out2 = malloc(OUT_MAX);
    char err[128];
    size_t n = 0, omitted = 0;
    if (value == NULL || out == NULL || out2 == NULL)
        goto done;
    memcpy(value, data, size);
    value[size] = '\0';
    if (sts_audit_header_parse(value, a, CAP, &n, &omitted, err, sizeof(err)) != STS_OK || n == 0)
        goto done;
    for (size_t i = 0; i < n; i++)
        if (!entry_fits(&a[i]))
            __builtin_trap();
    static const enum sts_audit_fold folds[] = {STS_AUDIT_FOLD_NONE, STS_AUDIT_FOLD_LF,
                                                STS_AUDIT_FOLD_CRLF};
    size_t n0 = 0;
    for (size_t f = 0; f < sizeof(folds) / sizeof(folds[0]); f++) {
        size_t nb = 0, om = 0;
        if (sts_audit_header_format(a, n, folds[f], 15, out, OUT_MAX, &om, err, sizeof(err)) !=
            STS_OK)
            goto done; /* e.g. an entry without verdict= or reason= */
        if (om != 0)
            __builtin_trap(); /* OUT_MAX holds CAP entries of any size */
        if (sts_audit_header_parse(out, b, CAP, &nb, NULL, err, sizeof(err)) != STS_OK)
            __builtin_trap(); /* the formatter's output must parse */
        if (f == 0)
            n0 = nb;
        else if (nb != n0)
            __builtin_trap(); /* the fold form changes nothing */
        if (sts_audit_header_format(b, nb, folds[f], 15, out2, OUT_MAX, NULL, err, sizeof(err)) !=
                STS_OK ||
            strcmp(out, out2) != 0)
            __builtin_trap(); /* format(parse(format(x))) == format(x) */
    }
done:
    free(value);
    free(out);
    free(out2);
    return 0;
}
