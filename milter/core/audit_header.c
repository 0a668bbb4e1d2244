/*
 * audit_header.c - format and parse the audit header value (grammar,
 * folding and cap in audit_header.h).
 *
 * Pure, allocation-free, thread-safe.  The formatter writes straight into
 * the caller's buffer and rolls back an entry that does not fit; the
 * parser is a single pass over the value with folds skipped as white space.
 */
#include "mtasts/audit_header.h"

#include <stdio.h>
#include <string.h>

#include "mtasts/abnf.h"

/* Room kept for a final ",<fold>omitted=N" (N up to 20 digits). */
#define TRAILER_RESERVE (sizeof(",\r\n\tomitted=") - 1 + 20)

static const char hexdig[] = "0123456789ABCDEF";

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == ':' || c == '[' || c == ']';
}

static void copy_field(char *dst, size_t dstlen, const char *src)
{
    snprintf(dst, dstlen, "%s", src != NULL ? src : "");
}

void sts_audit_header_entry_set(struct sts_audit_entry *e, const char *domain,
                                const struct sts_route *route, const struct sts_verdict *v)
{
    memset(e, 0, sizeof(*e));
    copy_field(e->domain, sizeof(e->domain), domain);
    if (v == NULL)
        return;
    if (v->mode_known)
        copy_field(e->mode, sizeof(e->mode), sts_mode_name(v->mode));
    copy_field(e->id, sizeof(e->id), v->policy_id);
    if (v->override != STS_OVERRIDE_NONE)
        copy_field(e->override, sizeof(e->override), sts_override_kind_name(v->override));
    copy_field(e->verdict, sizeof(e->verdict), v->would_fail ? "fail" : "pass");
    copy_field(e->reason, sizeof(e->reason), sts_verdict_reason_name(v->reason));
    copy_field(e->mx, sizeof(e->mx), v->mx);
    if (route != NULL && route->kind == STS_ROUTE_RELAY)
        copy_field(e->relay, sizeof(e->relay), route->hop);
}

bool sts_audit_header_entry_equal(const struct sts_audit_entry *a, const struct sts_audit_entry *b)
{
    return strcmp(a->domain, b->domain) == 0 && strcmp(a->mode, b->mode) == 0 &&
           strcmp(a->id, b->id) == 0 && strcmp(a->override, b->override) == 0 &&
           strcmp(a->verdict, b->verdict) == 0 && strcmp(a->reason, b->reason) == 0 &&
           strcmp(a->mx, b->mx) == 0 && strcmp(a->relay, b->relay) == 0 &&
           strcmp(a->tls, b->tls) == 0;
}

void sts_audit_header_entry_set_tls(struct sts_audit_entry *e, const char *summary)
{
    copy_field(e->tls, sizeof(e->tls), summary);
}

/* The keys, in output order, with their field in an entry. */
struct key_def {
    const char *key;
    size_t offset;
    size_t size;
};

#define KEY(name, field)                                                                           \
    {                                                                                              \
        name, offsetof(struct sts_audit_entry, field),                                             \
            sizeof(((struct sts_audit_entry *)0)->field)                                           \
    }

static const struct key_def keys[] = {
    KEY("mode", mode),     KEY("id", id), KEY("override", override), KEY("verdict", verdict),
    KEY("reason", reason), KEY("mx", mx), KEY("relay", relay),       KEY("tls", tls),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static char *field_of(struct sts_audit_entry *e, const struct key_def *k)
{
    return (char *)e + k->offset;
}

static const char *cfield_of(const struct sts_audit_entry *e, const struct key_def *k)
{
    return (const char *)e + k->offset;
}

/* Output state of the formatter. */
struct writer {
    char *out;
    size_t cap; /* octets usable, NUL excluded */
    size_t len;
    size_t col; /* octets on the current line */
    const char *fold;
    bool overflow;
};

static void put(struct writer *w, const char *s, size_t len)
{
    if (w->overflow || w->len > w->cap || len > w->cap - w->len) {
        w->overflow = true;
        return;
    }
    memcpy(w->out + w->len, s, len);
    w->len += len;
}

/* Length of a value once escaped. */
static size_t escaped_len(const char *v)
{
    size_t n = 0;
    for (; *v != '\0'; v++)
        n += is_tchar((unsigned char)*v) ? 1 : 3;
    return n;
}

static void put_escaped(struct writer *w, const char *v)
{
    for (; *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;
        if (is_tchar(c)) {
            put(w, (const char *)&c, 1);
        } else {
            char pct[3] = {'%', hexdig[c >> 4], hexdig[c & 15]};
            put(w, pct, 3);
        }
    }
}

/*
 * Write a separator (";" or ",", or none for the very first element),
 * then white space or a fold, then the element "key=value" (key NULL for
 * an entry's name).  elen is the element's escaped length.
 */
static void put_element(struct writer *w, char sep, const char *key, const char *value, size_t elen)
{
    if (sep != '\0') {
        put(w, &sep, 1);
        w->col++;
        /* +1: the separator that may follow this element. */
        if (w->fold != NULL && w->col + 1 + elen + 1 > STS_AUDIT_FOLD_AT && w->col > 2) {
            put(w, w->fold, strlen(w->fold));
            w->col = 1; /* the fold's tab */
        } else {
            put(w, " ", 1);
            w->col++;
        }
    }
    if (key != NULL) {
        put(w, key, strlen(key));
        put(w, "=", 1);
    }
    put_escaped(w, value);
    w->col += elen;
}

static enum sts_status check_entry(const struct sts_audit_entry *e, size_t i, char *err,
                                   size_t errlen)
{
    if (strnlen(e->domain, sizeof(e->domain)) >= sizeof(e->domain))
        return sts_status_set(STS_EINVAL, err, errlen, "entry %zu: domain not terminated", i);
    for (size_t k = 0; k < NKEYS; k++)
        if (strnlen(cfield_of(e, &keys[k]), keys[k].size) >= keys[k].size)
            return sts_status_set(STS_EINVAL, err, errlen, "entry %zu: %s not terminated", i,
                                  keys[k].key);
    if (e->verdict[0] == '\0' || e->reason[0] == '\0')
        return sts_status_set(STS_EINVAL, err, errlen, "entry %zu: verdict and reason are required",
                              i);
    return STS_OK;
}

static void put_entry(struct writer *w, const struct sts_audit_entry *e, bool first)
{
    const char *name = e->domain[0] != '\0' ? e->domain : "-";
    put_element(w, first ? '\0' : ',', NULL, name, escaped_len(name));
    for (size_t k = 0; k < NKEYS; k++) {
        const char *v = cfield_of(e, &keys[k]);
        if (v[0] != '\0')
            put_element(w, ';', keys[k].key, v, strlen(keys[k].key) + 1 + escaped_len(v));
    }
}

static bool seen_before(const struct sts_audit_entry *entries, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (sts_audit_header_entry_equal(&entries[j], &entries[i]))
            return true;
    return false;
}

static const char *fold_seq(enum sts_audit_fold fold)
{
    switch (fold) {
    case STS_AUDIT_FOLD_CRLF:
        return "\r\n\t";
    case STS_AUDIT_FOLD_NONE:
        return NULL;
    default:
        return "\n\t";
    }
}

enum sts_status sts_audit_header_format(const struct sts_audit_entry *entries, size_t n,
                                        enum sts_audit_fold fold, size_t first_used, char *out,
                                        size_t outlen, size_t *omitted, char *err, size_t errlen)
{
    if (omitted != NULL)
        *omitted = 0;
    if (entries == NULL || n == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "no entries");
    for (size_t i = 0; i < n; i++) {
        enum sts_status st = check_entry(&entries[i], i, err, errlen);
        if (st != STS_OK)
            return st;
    }
    if (out == NULL || outlen < TRAILER_RESERVE + 1)
        return sts_status_set(STS_ETOOBIG, err, errlen, "output buffer smaller than %zu octets",
                              TRAILER_RESERVE + 1);

    struct writer w = {out, outlen - 1, 0, first_used, fold_seq(fold), false};
    size_t written = 0, left = 0;
    for (size_t i = 0; i < n; i++) {
        if (seen_before(entries, i))
            continue;
        if (left > 0) {
            left++;
            continue;
        }
        struct writer save = w;
        bool last = true;
        for (size_t j = i + 1; j < n && last; j++)
            last = seen_before(entries, j);
        /* Keep room for the trailer unless this is the last entry. */
        w.cap = last ? outlen - 1 : outlen - 1 - TRAILER_RESERVE;
        put_entry(&w, &entries[i], written == 0);
        w.cap = outlen - 1;
        if (w.overflow) {
            w = save;
            left = 1;
            continue;
        }
        written++;
    }
    if (left > 0) {
        char num[32];
        snprintf(num, sizeof(num), "%zu", left);
        put_element(&w, written == 0 ? '\0' : ',', "omitted", num,
                    sizeof("omitted=") - 1 + strlen(num));
        if (omitted != NULL)
            *omitted = left;
    }
    if (w.overflow) /* cannot happen: the trailer's room was kept */
        return sts_status_set(STS_ETOOBIG, err, errlen, "output buffer too small");
    out[w.len] = '\0';
    return STS_OK;
}

/* ---- parsing ---- */

struct reader {
    const char *s;
    size_t len;
    size_t pos;
};

/* Skip white space and folds (CRLF or LF followed by WSP). */
static enum sts_status skip_fws(struct reader *r, char *err, size_t errlen)
{
    while (r->pos < r->len) {
        char c = r->s[r->pos];
        if (sts_abnf_wsp(c)) {
            r->pos++;
            continue;
        }
        size_t nl = 0;
        if (c == '\r' && r->pos + 1 < r->len && r->s[r->pos + 1] == '\n')
            nl = 2;
        else if (c == '\n')
            nl = 1;
        else if (c == '\r')
            return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: bare CR", r->pos);
        if (nl == 0)
            break;
        if (r->pos + nl >= r->len || !sts_abnf_wsp(r->s[r->pos + nl]))
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "offset %zu: line break not followed by white space", r->pos);
        r->pos += nl;
    }
    return STS_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Read 1*tchar at the reader into dst (decoded, NUL-terminated); it stops
 * at any other octet ("=", ";", ",", white space).  Fails on an empty run,
 * a bad escape, or overflow.
 */
static enum sts_status read_token(struct reader *r, char *dst, size_t dstlen, char *err,
                                  size_t errlen)
{
    size_t start = r->pos, o = 0;
    while (r->pos < r->len) {
        unsigned char c = (unsigned char)r->s[r->pos];
        int ch;
        if (c == '%') {
            int hi = r->pos + 2 < r->len ? hexval(r->s[r->pos + 1]) : -1;
            int lo = hi >= 0 ? hexval(r->s[r->pos + 2]) : -1;
            if (lo < 0)
                return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: bad %%-escape", r->pos);
            ch = hi * 16 + lo;
            if (ch == 0)
                return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: escaped NUL", r->pos);
            r->pos += 3;
        } else if (is_tchar(c)) {
            ch = c;
            r->pos++;
        } else {
            break;
        }
        if (o + 1 >= dstlen)
            return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: value too long", start);
        dst[o++] = (char)ch;
    }
    if (o == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: empty or invalid token", start);
    dst[o] = '\0';
    return STS_OK;
}

/* Read a key: 1*(lower / digit / "-") followed by "=". */
static enum sts_status read_key(struct reader *r, char *dst, size_t dstlen, char *err,
                                size_t errlen)
{
    size_t start = r->pos, o = 0;
    while (r->pos < r->len) {
        char c = r->s[r->pos];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            break;
        if (o + 1 >= dstlen)
            return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: key too long", start);
        dst[o++] = c;
        r->pos++;
    }
    dst[o] = '\0';
    if (o == 0 || r->pos >= r->len || r->s[r->pos] != '=')
        return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: expected key=value", start);
    r->pos++;
    return STS_OK;
}

/* "omitted=" at the reader? */
static bool at_omitted(const struct reader *r)
{
    static const char kw[] = "omitted=";
    return r->len - r->pos >= sizeof(kw) - 1 && memcmp(r->s + r->pos, kw, sizeof(kw) - 1) == 0;
}

static enum sts_status read_omitted(struct reader *r, size_t *omitted, char *err, size_t errlen)
{
    size_t start = r->pos;
    r->pos += sizeof("omitted=") - 1;
    size_t v = 0, digits = 0;
    while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9') {
        if (++digits > 19)
            return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: omitted count too long",
                                  start);
        v = v * 10 + (size_t)(r->s[r->pos++] - '0');
    }
    if (digits == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: omitted needs a number", start);
    enum sts_status st = skip_fws(r, err, errlen);
    if (st != STS_OK)
        return st;
    if (r->pos != r->len)
        return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: omitted=N must come last",
                              r->pos);
    if (omitted != NULL)
        *omitted = v;
    return STS_OK;
}

static enum sts_status read_param(struct reader *r, struct sts_audit_entry *e, unsigned *seen,
                                  char *err, size_t errlen)
{
    char key[32], scratch[STS_AUDIT_VALUE_MAX + 1];
    size_t start = r->pos;
    enum sts_status st = read_key(r, key, sizeof(key), err, errlen);
    if (st != STS_OK)
        return st;
    for (size_t k = 0; k < NKEYS; k++) {
        if (strcmp(key, keys[k].key) != 0)
            continue;
        if (*seen & (1u << k))
            return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: repeated key %s", start,
                                  key);
        *seen |= 1u << k;
        return read_token(r, field_of(e, &keys[k]), keys[k].size, err, errlen);
    }
    return read_token(r, scratch, sizeof(scratch), err, errlen); /* unknown: skipped */
}

static enum sts_status read_entry(struct reader *r, struct sts_audit_entry *e, char *err,
                                  size_t errlen)
{
    memset(e, 0, sizeof(*e));
    size_t start = r->pos;
    enum sts_status st = read_token(r, e->domain, sizeof(e->domain), err, errlen);
    if (st != STS_OK)
        return st;
    if (r->pos < r->len && r->s[r->pos] == '=')
        return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: entry must start with a name",
                              start);
    if (strcmp(e->domain, "-") == 0)
        e->domain[0] = '\0';
    unsigned seen = 0;
    for (;;) {
        st = skip_fws(r, err, errlen);
        if (st != STS_OK)
            return st;
        if (r->pos >= r->len || r->s[r->pos] != ';')
            break;
        r->pos++;
        st = skip_fws(r, err, errlen);
        if (st == STS_OK)
            st = read_param(r, e, &seen, err, errlen);
        if (st != STS_OK)
            return st;
    }
    if (e->verdict[0] == '\0' || e->reason[0] == '\0')
        return sts_status_set(STS_EINVAL, err, errlen,
                              "offset %zu: entry without verdict= or reason=", start);
    if (strcmp(e->verdict, "pass") != 0 && strcmp(e->verdict, "fail") != 0)
        return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: verdict must be pass or fail",
                              start);
    return STS_OK;
}

enum sts_status sts_audit_header_parse(const char *value, struct sts_audit_entry *entries,
                                       size_t cap, size_t *n, size_t *omitted, char *err,
                                       size_t errlen)
{
    if (n != NULL)
        *n = 0;
    if (omitted != NULL)
        *omitted = 0;
    if (value == NULL || n == NULL || (entries == NULL && cap > 0))
        return sts_status_set(STS_EINVAL, err, errlen, "no value");
    size_t len = strnlen(value, STS_AUDIT_INPUT_MAX + 1);
    if (len > STS_AUDIT_INPUT_MAX)
        return sts_status_set(STS_ETOOBIG, err, errlen, "value longer than %d octets",
                              STS_AUDIT_INPUT_MAX);

    struct reader r = {value, len, 0};
    enum sts_status st = skip_fws(&r, err, errlen);
    if (st != STS_OK)
        return st;
    if (r.pos == r.len)
        return sts_status_set(STS_EINVAL, err, errlen, "empty value");
    for (;;) {
        if (at_omitted(&r))
            return read_omitted(&r, omitted, err, errlen);
        if (*n >= cap)
            return sts_status_set(STS_ETOOBIG, err, errlen, "more than %zu entries", cap);
        st = read_entry(&r, &entries[*n], err, errlen);
        if (st != STS_OK)
            return st;
        (*n)++;
        if (r.pos == r.len)
            return STS_OK;
        if (r.s[r.pos] != ',')
            return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: expected \",\" or \";\"",
                                  r.pos);
        r.pos++;
        st = skip_fws(&r, err, errlen);
        if (st != STS_OK)
            return st;
        if (r.pos == r.len)
            return sts_status_set(STS_EINVAL, err, errlen, "offset %zu: nothing after \",\"",
                                  r.pos);
    }
}
