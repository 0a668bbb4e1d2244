/*
 * tlsrpt_record.c - the "_smtp._tls" TXT record (RFC 8460 §3): fields,
 * the rua list, the RRset rule; the URIs themselves are tlsrpt_uri.c's.
 *
 * A hand-written scanner over (pointer, length), like txt.c: TXT data
 * comes from the network, may hold any byte including NUL, and is never
 * trusted to be terminated.
 */
#include "mtasts/tlsrpt_record.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/abnf.h"
#include "tlsrpt_uri.h"

#define TLSRPT_VERSION_TAG "v=TLSRPTv1"

/* State of one parse: the record being filled and what the error
 * message needs about the URI at hand. */
struct build {
    struct sts_tlsrpt_record *rec;
    const char *uri; /* the URI being parsed, raw */
    size_t uri_len;
    size_t usable; /* destinations found, kept or dropped */
    bool have_skip;
    enum sts_tlsrpt_skip first_skip;
    char first_skip_what[64];
};

static bool is_candidate(const char *rec, size_t len)
{
    size_t tag = sizeof(TLSRPT_VERSION_TAG) - 1;
    if (rec == NULL || len < tag || memcmp(rec, TLSRPT_VERSION_TAG, tag) != 0)
        return false;
    return len == tag || rec[tag] == ';' || sts_abnf_wsp(rec[tag]);
}

const char *sts_tlsrpt_scheme_name(enum sts_tlsrpt_scheme scheme)
{
    switch (scheme) {
    case STS_TLSRPT_SCHEME_MAILTO:
        return "mailto";
    case STS_TLSRPT_SCHEME_HTTPS:
        return "https";
    }
    return "unknown";
}

const char *sts_tlsrpt_skip_name(enum sts_tlsrpt_skip why)
{
    switch (why) {
    case STS_TLSRPT_SKIP_SCHEME:
        return "unsupported-scheme";
    case STS_TLSRPT_SKIP_ADDRESS_LITERAL:
        return "address-literal";
    case STS_TLSRPT_SKIP_SINGLE_LABEL:
        return "single-label";
    case STS_TLSRPT_SKIP_USERINFO:
        return "userinfo";
    case STS_TLSRPT_SKIP_UTF8_LOCAL:
        return "utf8-local-part";
    case STS_TLSRPT_SKIP_DUPLICATE:
        return "duplicate";
    }
    return "unknown";
}

void sts_tlsrpt_record_free(struct sts_tlsrpt_record *record)
{
    if (record == NULL)
        return;
    for (size_t i = 0; i < record->rua_count; i++) {
        free(record->rua[i].target);
        free(record->rua[i].uri);
    }
    for (size_t i = 0; i < record->skipped_count; i++)
        free(record->skipped[i].what);
    free(record);
}

static char *dup_bytes(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

static enum sts_status add_skip(struct build *b, enum sts_tlsrpt_skip why, const char *what,
                                size_t wlen)
{
    struct sts_tlsrpt_record *rec = b->rec;
    if (!b->have_skip) {
        b->have_skip = true;
        b->first_skip = why;
        sts_status_quote(what, wlen, b->first_skip_what, sizeof(b->first_skip_what));
    }
    if (rec->skipped_count == STS_TLSRPT_SKIPPED_MAX) {
        rec->skipped_more++;
        return STS_OK;
    }
    char *copy = dup_bytes(what, wlen);
    if (copy == NULL)
        return STS_ENOMEM;
    rec->skipped[rec->skipped_count].why = why;
    rec->skipped[rec->skipped_count].what = copy;
    rec->skipped_count++;
    return STS_OK;
}

static enum sts_status sink_skip(void *ctx, enum sts_tlsrpt_skip why, const char *what, size_t wlen)
{
    return add_skip(ctx, why, what, wlen);
}

static enum sts_status sink_dest(void *ctx, enum sts_tlsrpt_scheme scheme, const char *target)
{
    struct build *b = ctx;
    struct sts_tlsrpt_record *rec = b->rec;
    for (size_t i = 0; i < rec->rua_count; i++)
        if (rec->rua[i].scheme == scheme && strcmp(rec->rua[i].target, target) == 0)
            return add_skip(b, STS_TLSRPT_SKIP_DUPLICATE, b->uri, b->uri_len);
    b->usable++;
    if (rec->rua_count == STS_TLSRPT_RUA_MAX) {
        rec->dropped++;
        return STS_OK;
    }
    char *t = dup_bytes(target, strlen(target));
    char *u = dup_bytes(b->uri, b->uri_len);
    if (t == NULL || u == NULL) {
        free(t);
        free(u);
        return STS_ENOMEM;
    }
    rec->rua[rec->rua_count].scheme = scheme;
    rec->rua[rec->rua_count].target = t;
    rec->rua[rec->rua_count].uri = u;
    rec->rua_count++;
    return STS_OK;
}

/*
 * The value of a rua field, from v to the end of the field: tlsrpt-uri
 * *(*WSP "," *WSP tlsrpt-uri).  *i is advanced past it (to the ';', the
 * WSP before it, or the end).
 */
static enum sts_status parse_rua(struct build *b, const char *rec, size_t len, size_t *i,
                                 size_t *uri_no, char *err, size_t errlen)
{
    const struct sts_tlsrpt_uri_sink sink = {sink_dest, sink_skip, b};
    for (;;) {
        size_t start = *i;
        while (*i < len && rec[*i] != ',' && rec[*i] != ';' && !sts_abnf_wsp(rec[*i]))
            (*i)++;
        ++*uri_no;
        if (*i == start)
            return sts_status_set(STS_EINVAL, err, errlen, "rua: URI %zu is empty", *uri_no);

        b->uri = rec + start;
        b->uri_len = *i - start;
        char why[160], shown[72];
        enum sts_status st = sts_tlsrpt_uri_parse(b->uri, b->uri_len, &sink, why, sizeof(why));
        if (st == STS_ENOMEM)
            return sts_status_set(st, err, errlen, "out of memory");
        if (st != STS_OK)
            return sts_status_set(st, err, errlen, "rua: URI %zu \"%s\": %s", *uri_no,
                                  sts_status_quote(b->uri, b->uri_len, shown, sizeof(shown)), why);

        size_t after = *i;
        while (*i < len && sts_abnf_wsp(rec[*i]))
            (*i)++;
        if (*i < len && rec[*i] == ',') {
            (*i)++;
            while (*i < len && sts_abnf_wsp(rec[*i]))
                (*i)++;
            continue;
        }
        if (*i < len && rec[*i] != ';')
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "rua: expected ',' or ';' after URI %zu (offset %zu)", *uri_no,
                                  *i);
        *i = after; /* leave the WSP to the delimiter */
        return STS_OK;
    }
}

/* One extension field [p, p+n): checked, then ignored. */
static enum sts_status check_extension(const char *p, size_t n, char *err, size_t errlen)
{
    char shown[64];
    const char *eq = memchr(p, '=', n);
    if (eq == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "field \"%s\" has no '='",
                              sts_status_quote(p, n, shown, sizeof(shown)));
    size_t nlen = (size_t)(eq - p);
    const char *val = eq + 1;
    size_t vlen = n - nlen - 1;

    bool name_ok = nlen > 0 && nlen <= STS_TLSRPT_EXTNAME_MAX && sts_abnf_alnum(p[0]);
    for (size_t k = 1; name_ok && k < nlen; k++)
        name_ok = sts_abnf_alnum(p[k]) || p[k] == '_' || p[k] == '-' || p[k] == '.';
    if (!name_ok)
        return sts_status_set(STS_EINVAL, err, errlen, "invalid field name \"%s\"",
                              sts_status_quote(p, nlen, shown, sizeof(shown)));
    if (vlen == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "field \"%s\" has an empty value",
                              sts_status_quote(p, nlen, shown, sizeof(shown)));
    for (size_t k = 0; k < vlen; k++)
        if (!sts_abnf_ext_value_char(val[k]))
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "field \"%s\" has an invalid character in its value",
                                  sts_status_quote(p, nlen, shown, sizeof(shown)));
    return STS_OK;
}

static enum sts_status parse_fields(struct build *b, const char *rec, size_t len, char *err,
                                    size_t errlen)
{
    size_t i = sizeof(TLSRPT_VERSION_TAG) - 1;
    size_t fields = 0, rua_fields = 0, uri_no = 0;

    /* Grammar: version 1*(delim field) [delim]; delim = *WSP ";" *WSP. */
    while (i < len) {
        while (i < len && sts_abnf_wsp(rec[i]))
            i++;
        if ((i == len || rec[i] != ';') && fields == 0)
            return sts_status_set(STS_EINVAL, err, errlen, "expected ';' after v=TLSRPTv1");
        if (i == len || rec[i] != ';')
            return sts_status_set(STS_EINVAL, err, errlen, "expected ';' at offset %zu", i);
        i++;
        while (i < len && sts_abnf_wsp(rec[i]))
            i++;
        if (i == len)
            break; /* the optional trailing delimiter */

        size_t start = i;
        enum sts_status st;
        if (len - i >= 4 && memcmp(rec + i, "rua=", 4) == 0) {
            i += 4;
            rua_fields++;
            st = parse_rua(b, rec, len, &i, &uri_no, err, errlen);
        } else {
            while (i < len && rec[i] != ';' && !sts_abnf_wsp(rec[i]))
                i++;
            if (i == start)
                return sts_status_set(STS_EINVAL, err, errlen, "empty field at offset %zu", start);
            st = check_extension(rec + start, i - start, err, errlen);
        }
        if (st != STS_OK)
            return st;
        fields++;
    }
    if (fields == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "no field after v=TLSRPTv1");
    if (rua_fields == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "missing rua field");
    if (b->usable == 0) {
        if (b->have_skip)
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "rua: no usable destination (\"%s\": %s)", b->first_skip_what,
                                  sts_tlsrpt_skip_name(b->first_skip));
        return sts_status_set(STS_EINVAL, err, errlen, "rua: no usable destination");
    }
    return STS_OK;
}

enum sts_status sts_tlsrpt_record_parse(const char *rec, size_t len, struct sts_tlsrpt_record **out,
                                        char *err, size_t errlen)
{
    if (out != NULL)
        *out = NULL;
    if (!is_candidate(rec, len))
        return sts_status_set(STS_ENOTFOUND, err, errlen, "not a v=TLSRPTv1 record");
    if (len > STS_TLSRPT_RECORD_MAX)
        return sts_status_set(STS_ETOOBIG, err, errlen, "record longer than %d bytes",
                              STS_TLSRPT_RECORD_MAX);

    struct build b = {0};
    b.rec = calloc(1, sizeof(*b.rec));
    if (b.rec == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    enum sts_status st = parse_fields(&b, rec, len, err, errlen);
    if (st != STS_OK || out == NULL) {
        sts_tlsrpt_record_free(b.rec);
        return st;
    }
    *out = b.rec;
    return STS_OK;
}

enum sts_status sts_tlsrpt_record_parse_rrset(const char *const *recs, const size_t *lens, size_t n,
                                              struct sts_tlsrpt_record **out, char *err,
                                              size_t errlen)
{
    size_t candidates = 0, which = 0;
    if (out != NULL)
        *out = NULL;
    for (size_t k = 0; k < n; k++) {
        if (is_candidate(recs[k], lens[k])) {
            candidates++;
            which = k;
        }
    }
    if (candidates == 0)
        return sts_status_set(STS_ENOTFOUND, err, errlen, "no v=TLSRPTv1 record");
    if (candidates > 1)
        return sts_status_set(STS_EINVAL, err, errlen,
                              "%zu v=TLSRPTv1 records (exactly one allowed)", candidates);
    return sts_tlsrpt_record_parse(recs[which], lens[which], out, err, errlen);
}

/* Append c to buf at *o (if it fits), or its %XX form when encode. */
static void put_char(char *buf, size_t len, size_t *o, unsigned char c, bool encode)
{
    static const char hex[] = "0123456789ABCDEF";
    char tmp[3] = {(char)c, 0, 0};
    size_t n = 1;
    if (encode) {
        tmp[0] = '%';
        tmp[1] = hex[c >> 4];
        tmp[2] = hex[c & 15];
        n = 3;
    }
    for (size_t k = 0; k < n; k++, (*o)++)
        if (*o + 1 < len)
            buf[*o] = tmp[k];
}

size_t sts_tlsrpt_rua_format(const struct sts_tlsrpt_rua *rua, char *buf, size_t len)
{
    size_t o = 0;
    const char *t = rua->target;
    if (rua->scheme == STS_TLSRPT_SCHEME_MAILTO) {
        for (const char *s = "mailto:"; *s != '\0'; s++)
            put_char(buf, len, &o, (unsigned char)*s, false);
        /* RFC 6068 §2: unreserved, "@" and the some-delims that RFC 8460
         * leaves unencoded stay; everything else is percent-encoded. */
        for (; *t != '\0'; t++) {
            unsigned char c = (unsigned char)*t;
            bool plain = sts_abnf_alnum((char)c) || strchr("-._~@$'()*+:", c) != NULL;
            put_char(buf, len, &o, c, !plain || c == '\0');
        }
    } else {
        for (; *t != '\0'; t++) {
            unsigned char c = (unsigned char)*t;
            put_char(buf, len, &o, c, c == '!' || c == ',' || c == ';');
        }
    }
    if (len > 0)
        buf[o < len ? o : len - 1] = '\0';
    return o;
}
