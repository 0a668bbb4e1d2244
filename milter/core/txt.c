/*
 * txt.c - the "_mta-sts" TXT record (RFC 8461 §3.1).
 *
 * A small hand-written scanner over (pointer, length): TXT data comes from
 * the network, may hold any byte including NUL, and is never trusted to be
 * terminated.
 */
#include "mtasts/txt.h"

#include <stdbool.h>
#include <string.h>

#include "mtasts/abnf.h"

#define STS_VERSION_TAG "v=STSv1"

static bool is_candidate(const char *rec, size_t len)
{
    size_t tag = sizeof(STS_VERSION_TAG) - 1;
    if (len < tag || memcmp(rec, STS_VERSION_TAG, tag) != 0)
        return false;
    return len == tag || rec[tag] == ';' || sts_abnf_wsp(rec[tag]);
}

/*
 * Validate one field [p, p+n) as sts-id or sts-extension.  On a first "id"
 * field, copy its value into *id_seen / out.
 */
static enum sts_status parse_field(const char *p, size_t n, bool *id_seen, struct sts_txt *out,
                                   char *err, size_t errlen)
{
    char shown[64];
    const char *eq = memchr(p, '=', n);
    if (eq == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "field \"%s\" has no '='",
                              sts_status_quote(p, n, shown, sizeof(shown)));
    size_t nlen = (size_t)(eq - p);
    const char *val = eq + 1;
    size_t vlen = n - nlen - 1;

    if (nlen == 2 && memcmp(p, "id", 2) == 0 && !*id_seen) {
        if (vlen == 0 || vlen > STS_TXT_ID_MAX)
            return sts_status_set(STS_EINVAL, err, errlen, "id must be 1 to %d letters or digits",
                                  STS_TXT_ID_MAX);
        for (size_t i = 0; i < vlen; i++)
            if (!sts_abnf_alnum(val[i]))
                return sts_status_set(STS_EINVAL, err, errlen,
                                      "id must be 1 to %d letters or digits", STS_TXT_ID_MAX);
        if (out != NULL) {
            memcpy(out->id, val, vlen);
            out->id[vlen] = '\0';
        }
        *id_seen = true;
        return STS_OK;
    }

    /* sts-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") */
    if (nlen == 0 || nlen > STS_TXT_EXTNAME_MAX || !sts_abnf_alnum(p[0]))
        return sts_status_set(STS_EINVAL, err, errlen, "invalid field name \"%s\"",
                              sts_status_quote(p, nlen, shown, sizeof(shown)));
    for (size_t i = 1; i < nlen; i++)
        if (!sts_abnf_alnum(p[i]) && p[i] != '_' && p[i] != '-' && p[i] != '.')
            return sts_status_set(STS_EINVAL, err, errlen, "invalid field name \"%s\"",
                                  sts_status_quote(p, nlen, shown, sizeof(shown)));
    if (vlen == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "field \"%s\" has an empty value",
                              sts_status_quote(p, nlen, shown, sizeof(shown)));
    for (size_t i = 0; i < vlen; i++)
        if (!sts_abnf_ext_value_char(val[i]))
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "field \"%s\" has an invalid character in its value",
                                  sts_status_quote(p, nlen, shown, sizeof(shown)));
    return STS_OK;
}

enum sts_status sts_txt_parse_record(const char *rec, size_t len, struct sts_txt *out, char *err,
                                     size_t errlen)
{
    if (rec == NULL || !is_candidate(rec, len))
        return sts_status_set(STS_ENOTFOUND, err, errlen, "not a v=STSv1 record");

    size_t i = sizeof(STS_VERSION_TAG) - 1;
    bool id_seen = false;
    size_t fields = 0;

    /* Grammar: version 1*(delim field) [delim]; delim = *WSP ";" *WSP. */
    while (i < len) {
        while (i < len && sts_abnf_wsp(rec[i]))
            i++;
        if (i == len || rec[i] != ';')
            return sts_status_set(STS_EINVAL, err, errlen, "expected ';' at offset %zu", i);
        i++;
        while (i < len && sts_abnf_wsp(rec[i]))
            i++;
        if (i == len)
            break; /* the optional trailing delimiter */

        size_t start = i;
        while (i < len && rec[i] != ';' && !sts_abnf_wsp(rec[i]))
            i++;
        if (i == start)
            return sts_status_set(STS_EINVAL, err, errlen, "empty field at offset %zu", start);
        enum sts_status st = parse_field(rec + start, i - start, &id_seen, out, err, errlen);
        if (st != STS_OK)
            return st;
        fields++;
    }
    if (fields == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "no field after v=STSv1");
    if (!id_seen)
        return sts_status_set(STS_EINVAL, err, errlen, "missing id field");
    return STS_OK;
}

/*
 * §3.1: "If multiple TXT records for "_mta-sts" are returned by the
 * resolver, records that do not begin with "v=STSv1;" are discarded."
 * Exactly those bytes: "v=STSv1 ; id=x" or "v=STSv1 junk" beside another
 * record is discarded, not counted.
 */
static bool is_kept_of_many(const char *rec, size_t len)
{
    size_t tag = sizeof(STS_VERSION_TAG ";") - 1;
    return len >= tag && memcmp(rec, STS_VERSION_TAG ";", tag) == 0;
}

enum sts_status sts_txt_parse_rrset(const char *const *recs, const size_t *lens, size_t n,
                                    struct sts_txt *out, char *err, size_t errlen)
{
    size_t candidates = 0, which = 0;
    for (size_t k = 0; k < n; k++) {
        if (recs[k] == NULL)
            continue;
        /* A lone record is judged by the ABNF alone (WSP before ';' is allowed). */
        if (n == 1 ? is_candidate(recs[k], lens[k]) : is_kept_of_many(recs[k], lens[k])) {
            candidates++;
            which = k;
        }
    }
    if (candidates == 0)
        return sts_status_set(STS_ENOTFOUND, err, errlen, "no v=STSv1 record");
    if (candidates > 1)
        return sts_status_set(STS_EINVAL, err, errlen, "%zu v=STSv1 records (exactly one allowed)",
                              candidates);
    return sts_txt_parse_record(recs[which], lens[which], out, err, errlen);
}
