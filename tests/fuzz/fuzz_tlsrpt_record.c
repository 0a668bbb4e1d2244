/*
 * fuzz_tlsrpt_record.c - libFuzzer harness for the _smtp._tls TXT record
 * parser (RFC 8460 §3, RFC 6068 mailto:).  The input is split on '\n'
 * into the records of one RRset.  Beyond "no crash, no leak, no hang" it
 * checks the promises of tlsrpt_record.h: a valid record has 1 to
 * STS_TLSRPT_RUA_MAX destinations with non-empty printable targets of the
 * right shape, and every destination, written back with
 * sts_tlsrpt_rua_format(), parses again to the same target.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mtasts/tlsrpt_record.h"

#define MAX_RECORDS 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_destination(const struct sts_tlsrpt_rua *rua)
{
    const char *t = rua->target;
    if (t == NULL || t[0] == '\0' || rua->uri == NULL)
        __builtin_trap();
    for (const char *p = t; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
            __builtin_trap(); /* decoded control bytes never reach a target */
    if (rua->scheme == STS_TLSRPT_SCHEME_HTTPS && strncmp(t, "https://", 8) != 0)
        __builtin_trap();
    if (rua->scheme == STS_TLSRPT_SCHEME_MAILTO && strrchr(t, '@') == NULL)
        __builtin_trap();

    /* Round trip: format, wrap in a record, parse, compare. */
    static char rec[3 * STS_TLSRPT_RECORD_MAX + 64];
    size_t o = (size_t)snprintf(rec, sizeof(rec), "v=TLSRPTv1; rua=");
    size_t n = sts_tlsrpt_rua_format(rua, rec + o, sizeof(rec) - o);
    if (o + n >= sizeof(rec))
        __builtin_trap();
    struct sts_tlsrpt_record *again = NULL;
    char err[256];
    enum sts_status st = sts_tlsrpt_record_parse(rec, o + n, &again, err, sizeof(err));
    if (st == STS_ETOOBIG)
        return; /* percent-encoding may grow a target past the record cap */
    if (st != STS_OK || again->rua_count != 1 || again->rua[0].scheme != rua->scheme ||
        strcmp(again->rua[0].target, t) != 0)
        __builtin_trap();
    sts_tlsrpt_record_free(again);
}

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
    struct sts_tlsrpt_record *r = NULL;
    char err[256];
    enum sts_status st = sts_tlsrpt_record_parse_rrset(recs, lens, n, &r, err, sizeof(err));
    if (st != STS_OK) {
        if (r != NULL || err[0] == '\0')
            __builtin_trap();
        return 0;
    }
    if (r->rua_count == 0 || r->rua_count > STS_TLSRPT_RUA_MAX ||
        r->skipped_count > STS_TLSRPT_SKIPPED_MAX)
        __builtin_trap();
    for (size_t i = 0; i < r->rua_count; i++)
        check_destination(&r->rua[i]);
    sts_tlsrpt_record_free(r);
    return 0;
}
