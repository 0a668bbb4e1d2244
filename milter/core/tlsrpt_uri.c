/*
 * tlsrpt_uri.c - one "rua" URI: RFC 3986 shape, then mailto: (RFC 6068)
 * or https: (RFC 9110 §4.2.2) destinations, or a skip.
 *
 * The URI comes from a DNS record anyone can publish: it is scanned over
 * (pointer, length), every copy is bounded by the record cap, and nothing
 * is assumed NUL-terminated.
 */
#include "tlsrpt_uri.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/domain.h"
#include "mtasts/utf8.h"

/* Longest domain we hand to sts_domain_normalize() (its own input cap). */
#define URI_DOMAIN_INPUT_MAX 1024

static bool is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(unsigned char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 3986 §2.3 unreserved. */
static bool is_unreserved(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* RFC 3986 §2.2 sub-delims, less the three RFC 8460 §3 makes us encode. */
static bool is_sub_delim(unsigned char c)
{
    return c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' ||
           c == '=';
}

/* pchar (RFC 3986 §3.3) plus "/" and "?": a path, query or fragment byte. */
static bool is_pqf_char(unsigned char c)
{
    return is_unreserved(c) || is_sub_delim(c) || c == ':' || c == '@' || c == '/' || c == '?';
}

/* RFC 6068 §2: what may stand unencoded in "to": unreserved / some-delims
 * (again without "!", "," and ";"). */
static bool is_mailto_to_char(unsigned char c)
{
    return is_unreserved(c) || c == '$' || c == '\'' || c == '(' || c == ')' || c == '*' ||
           c == '+' || c == ':' || c == '@';
}

/* RFC 5322 §3.2.3 atext. */
static bool is_atext(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* The generic pass: the bytes after "scheme:" are URI characters with
 * well-formed percent-encoding and no raw "!" (RFC 8460 §3). */
static enum sts_status check_uri_chars(const char *p, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%') {
            if (i + 2 >= n || hex_value((unsigned char)p[i + 1]) < 0 ||
                hex_value((unsigned char)p[i + 2]) < 0)
                return sts_status_set(STS_EINVAL, err, errlen, "bad percent-encoding");
            i += 2;
            continue;
        }
        if (c == '!')
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "'!' must be percent-encoded (RFC 8460 section 3)");
        if (!is_pqf_char(c) && c != '#' && c != '[' && c != ']') {
            if (c < 0x21 || c > 0x7e)
                return sts_status_set(STS_EINVAL, err, errlen, "invalid byte 0x%02x", c);
            return sts_status_set(STS_EINVAL, err, errlen, "invalid character '%c'", c);
        }
    }
    return STS_OK;
}

/* Decode %XX (already checked) from [p, p+n) into out; returns the length. */
static size_t pct_decode(const char *p, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '%') {
            out[o++] = (char)(hex_value((unsigned char)p[i + 1]) * 16 +
                              hex_value((unsigned char)p[i + 2]));
            i += 2;
        } else {
            out[o++] = p[i];
        }
    }
    out[o] = '\0';
    return o;
}

/* Is the last label of a dotted name all digits ("192.0.2.1", "a.123")? */
static bool last_label_numeric(const char *name)
{
    const char *dot = strrchr(name, '.');
    const char *label = dot != NULL ? dot + 1 : name;
    if (*label == '\0')
        return false;
    for (; *label != '\0'; label++)
        if (!is_digit((unsigned char)*label))
            return false;
    return true;
}

/*
 * Normalise a host or mail domain: STS_OK with the A-label in out, or a
 * skip (*skip set, STS_OK) for numeric or single-label names, or
 * STS_EINVAL.  name is NUL-terminated.
 */
static enum sts_status check_domain(const char *name, char *out, size_t outlen, bool *skipped,
                                    enum sts_tlsrpt_skip *why, char *err, size_t errlen)
{
    char reason[128];
    *skipped = false;
    if (strlen(name) > URI_DOMAIN_INPUT_MAX)
        return sts_status_set(STS_EINVAL, err, errlen, "domain longer than %d octets",
                              STS_DOMAIN_MAX);
    if (sts_domain_normalize(name, out, outlen, reason, sizeof(reason)) != STS_OK) {
        char shown[80];
        return sts_status_set(STS_EINVAL, err, errlen, "invalid domain \"%s\": %s",
                              sts_status_quote(name, strlen(name), shown, sizeof(shown)), reason);
    }
    if (last_label_numeric(out)) {
        *skipped = true;
        *why = STS_TLSRPT_SKIP_ADDRESS_LITERAL;
    } else if (strchr(out, '.') == NULL) {
        *skipped = true;
        *why = STS_TLSRPT_SKIP_SINGLE_LABEL;
    }
    return STS_OK;
}

/*
 * One decoded addr-spec [a, a+n): quoted or dot-atom local part (RFC 5321
 * §4.1.2 rules, so it can be given to an SMTP server), "@", domain.
 */
static enum sts_status parse_address(const char *a, size_t n,
                                     const struct sts_tlsrpt_uri_sink *sink, char *err,
                                     size_t errlen)
{
    bool utf8 = false;
    size_t i = 0;

    if (n == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "empty address");

    if (a[0] == '"') {
        for (i = 1; i < n && a[i] != '"'; i++) {
            unsigned char c = (unsigned char)a[i];
            if (c == '\\') {
                if (++i >= n || (unsigned char)a[i] < 0x20)
                    return sts_status_set(STS_EINVAL, err, errlen,
                                          "bad quoted pair in the local part");
                utf8 |= (unsigned char)a[i] >= 0x80;
            } else if (c >= 0x80) {
                utf8 = true;
            } else if (c < 0x20 || c == 0x7f) {
                return sts_status_set(STS_EINVAL, err, errlen,
                                      "control character in the local part");
            }
        }
        if (i >= n)
            return sts_status_set(STS_EINVAL, err, errlen, "unterminated quoted local part");
        i++; /* the closing quote */
        if (i >= n || a[i] != '@')
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "expected '@' after the quoted local part");
    } else {
        bool dot_ok = false; /* a dot may follow an atext byte only */
        for (i = 0; i < n && a[i] != '@'; i++) {
            unsigned char c = (unsigned char)a[i];
            if (c == '.') {
                if (!dot_ok)
                    return sts_status_set(STS_EINVAL, err, errlen, "empty label in the local part");
                dot_ok = false;
            } else if (c >= 0x80) {
                utf8 = true;
                dot_ok = true;
            } else if (is_atext(c)) {
                dot_ok = true;
            } else if (c < 0x21 || c == 0x7f) {
                return sts_status_set(STS_EINVAL, err, errlen,
                                      "invalid byte 0x%02x in the local part", c);
            } else {
                return sts_status_set(STS_EINVAL, err, errlen,
                                      "invalid character '%c' in the local part", c);
            }
        }
        if (i >= n)
            return sts_status_set(STS_EINVAL, err, errlen, "no '@' in address");
        if (i == 0)
            return sts_status_set(STS_EINVAL, err, errlen, "empty local part");
        if (!dot_ok)
            return sts_status_set(STS_EINVAL, err, errlen, "empty label in the local part");
    }
    size_t local_len = i;
    if (local_len > STS_TLSRPT_LOCAL_PART_MAX)
        return sts_status_set(STS_EINVAL, err, errlen, "local part longer than %d octets",
                              STS_TLSRPT_LOCAL_PART_MAX);

    const char *d = a + i + 1;
    size_t dlen = n - i - 1;
    if (dlen == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "empty domain");
    if (d[0] == '[') {
        if (d[dlen - 1] != ']')
            return sts_status_set(STS_EINVAL, err, errlen, "unterminated address literal");
        return sink->skip(sink->ctx, STS_TLSRPT_SKIP_ADDRESS_LITERAL, a, n);
    }

    char domain[URI_DOMAIN_INPUT_MAX + 2], norm[STS_DOMAIN_MAX + 1];
    if (dlen > URI_DOMAIN_INPUT_MAX)
        return sts_status_set(STS_EINVAL, err, errlen, "domain longer than %d octets",
                              STS_DOMAIN_MAX);
    memcpy(domain, d, dlen);
    domain[dlen] = '\0';
    if (memchr(domain, '\0', dlen) != NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "NUL byte in the domain");
    bool skipped;
    enum sts_tlsrpt_skip why = STS_TLSRPT_SKIP_SCHEME;
    enum sts_status st = check_domain(domain, norm, sizeof(norm), &skipped, &why, err, errlen);
    if (st != STS_OK)
        return st;
    if (skipped)
        return sink->skip(sink->ctx, why, a, n);
    if (utf8)
        return sink->skip(sink->ctx, STS_TLSRPT_SKIP_UTF8_LOCAL, a, n);

    char target[STS_TLSRPT_LOCAL_PART_MAX + 1 + STS_DOMAIN_MAX + 1];
    memcpy(target, a, local_len);
    target[local_len] = '@';
    memcpy(target + local_len + 1, norm, strlen(norm) + 1);
    return sink->dest(sink->ctx, STS_TLSRPT_SCHEME_MAILTO, target);
}

/* "mailto:" [ to ] [ "?" hfields ]: p is what follows "mailto:". */
static enum sts_status parse_mailto(const char *p, size_t n, const struct sts_tlsrpt_uri_sink *sink,
                                    char *err, size_t errlen)
{
    const char *q = memchr(p, '?', n);
    size_t tolen = q != NULL ? (size_t)(q - p) : n;

    for (size_t i = 0; i < tolen; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '%') {
            i += 2; /* checked by check_uri_chars() */
        } else if (!is_mailto_to_char(c)) {
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "'%c' must be percent-encoded in a mailto: address "
                                  "(RFC 6068 section 2)",
                                  c);
        }
    }
    for (size_t i = tolen; i < n; i++)
        if (p[i] == '#' || p[i] == '[' || p[i] == ']')
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "'%c' must be percent-encoded in mailto: header fields", p[i]);
    if (tolen == 0)
        return sts_status_set(STS_EINVAL, err, errlen,
                              q != NULL ? "no address before '?' (\"to\" header fields are "
                                          "not used)"
                                        : "no address");

    char buf[STS_TLSRPT_RECORD_MAX + 1];
    size_t dlen = pct_decode(p, tolen, buf);
    size_t bad;
    if (!sts_utf8_valid(buf, dlen, &bad) && (unsigned char)buf[bad] != 0)
        return sts_status_set(STS_EINVAL, err, errlen,
                              "the decoded address is not UTF-8 (byte %zu)", bad);
    for (size_t i = 0; i < dlen; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c < 0x20 || c == 0x7f)
            return sts_status_set(STS_EINVAL, err, errlen, "address holds a control byte 0x%02x",
                                  c);
    }

    /* RFC 6068 §2: to = addr-spec *("," addr-spec); a quoted local part
     * may itself hold a comma. */
    size_t start = 0;
    bool quoted = false;
    for (size_t i = 0; i <= dlen; i++) {
        if (i < dlen) {
            if (buf[i] == '\\' && quoted) {
                i++;
                continue;
            }
            if (buf[i] == '"')
                quoted = !quoted;
            if (buf[i] != ',' || quoted)
                continue;
        }
        enum sts_status st = parse_address(buf + start, i - start, sink, err, errlen);
        if (st != STS_OK)
            return st;
        start = i + 1;
    }
    return STS_OK;
}

/* "https://" authority path-abempty [ "?" query ] [ "#" fragment ]. */
static enum sts_status parse_https(const char *uri, size_t ulen, const char *p, size_t n,
                                   const struct sts_tlsrpt_uri_sink *sink, char *err, size_t errlen)
{
    if (n < 2 || p[0] != '/' || p[1] != '/')
        return sts_status_set(STS_EINVAL, err, errlen, "https: URI without \"//\" and a host");
    p += 2;
    n -= 2;
    size_t alen = 0;
    while (alen < n && p[alen] != '/' && p[alen] != '?' && p[alen] != '#')
        alen++;
    const char *rest = p + alen;
    size_t rlen = n - alen;

    const char *hash = memchr(rest, '#', rlen);
    if (hash != NULL && memchr(hash + 1, '#', rlen - (size_t)(hash - rest) - 1) != NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "more than one '#'");
    for (size_t i = 0; i < rlen; i++)
        if (rest[i] == '[' || rest[i] == ']')
            return sts_status_set(STS_EINVAL, err, errlen, "'%c' outside the host", rest[i]);

    if (memchr(p, '@', alen) != NULL)
        return sink->skip(sink->ctx, STS_TLSRPT_SKIP_USERINFO, uri, ulen);

    size_t hlen = alen;
    const char *port = NULL;
    size_t plen = 0;
    if (alen > 0 && p[0] == '[') {
        const char *close = memchr(p, ']', alen);
        if (close == NULL)
            return sts_status_set(STS_EINVAL, err, errlen, "unterminated IP literal");
        hlen = (size_t)(close - p) + 1;
        if (hlen < alen && p[hlen] != ':')
            return sts_status_set(STS_EINVAL, err, errlen, "junk after the IP literal");
    } else {
        const char *colon = memchr(p, ':', alen);
        if (colon != NULL)
            hlen = (size_t)(colon - p);
    }
    if (hlen < alen) {
        port = p + hlen + 1;
        plen = alen - hlen - 1;
        unsigned long v = 0;
        if (plen == 0 || plen > 5)
            return sts_status_set(STS_EINVAL, err, errlen, "invalid port");
        for (size_t i = 0; i < plen; i++) {
            if (!is_digit((unsigned char)port[i]))
                return sts_status_set(STS_EINVAL, err, errlen, "invalid port");
            v = v * 10 + (unsigned long)(port[i] - '0');
        }
        if (v == 0 || v > 65535)
            return sts_status_set(STS_EINVAL, err, errlen, "port %lu out of range", v);
    }
    if (hlen == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "empty host");
    if (p[0] == '[')
        return sink->skip(sink->ctx, STS_TLSRPT_SKIP_ADDRESS_LITERAL, uri, ulen);

    char host[URI_DOMAIN_INPUT_MAX + 1], norm[STS_DOMAIN_MAX + 1];
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '.') {
            char shown[80];
            return sts_status_set(STS_EINVAL, err, errlen, "host \"%s\" is not a DNS name",
                                  sts_status_quote(p, hlen, shown, sizeof(shown)));
        }
    }
    if (hlen > URI_DOMAIN_INPUT_MAX)
        return sts_status_set(STS_EINVAL, err, errlen, "host longer than %d octets",
                              STS_DOMAIN_MAX);
    memcpy(host, p, hlen);
    host[hlen] = '\0';
    bool skipped;
    enum sts_tlsrpt_skip why = STS_TLSRPT_SKIP_SCHEME;
    enum sts_status st = check_domain(host, norm, sizeof(norm), &skipped, &why, err, errlen);
    if (st != STS_OK)
        return st;
    if (skipped)
        return sink->skip(sink->ctx, why, uri, ulen);

    /* Target: lower-cased scheme and host, the port as given, the path
     * and query with only the §3 encodings of "!", "," and ";" undone. */
    size_t keep = hash != NULL ? (size_t)(hash - rest) : rlen;
    char *target = malloc(sizeof("https://") + STS_DOMAIN_MAX + 1 + plen + keep + 1);
    if (target == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    size_t o = (size_t)sprintf(target, "https://%s", norm);
    if (port != NULL) {
        target[o++] = ':';
        memcpy(target + o, port, plen);
        o += plen;
    }
    for (size_t i = 0; i < keep; i++) {
        if (rest[i] == '%') {
            char c = (char)(hex_value((unsigned char)rest[i + 1]) * 16 +
                            hex_value((unsigned char)rest[i + 2]));
            if (c == '!' || c == ',' || c == ';') {
                target[o++] = c;
                i += 2;
                continue;
            }
        }
        target[o++] = rest[i];
    }
    target[o] = '\0';
    st = sink->dest(sink->ctx, STS_TLSRPT_SCHEME_HTTPS, target);
    free(target);
    return st;
}

static bool scheme_is(const char *p, size_t n, const char *word)
{
    if (n != strlen(word))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != word[i])
            return false;
    }
    return true;
}

enum sts_status sts_tlsrpt_uri_parse(const char *uri, size_t len,
                                     const struct sts_tlsrpt_uri_sink *sink, char *err,
                                     size_t errlen)
{
    if (len > STS_TLSRPT_RECORD_MAX)
        return sts_status_set(STS_EINVAL, err, errlen, "URI too long");

    /* RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    size_t s = 0;
    while (s < len && (is_alpha((unsigned char)uri[s]) ||
                       (s > 0 && (is_digit((unsigned char)uri[s]) || uri[s] == '+' ||
                                  uri[s] == '-' || uri[s] == '.'))))
        s++;
    if (s == 0 || s >= len || uri[s] != ':')
        return sts_status_set(STS_EINVAL, err, errlen, "no scheme");

    const char *p = uri + s + 1;
    size_t n = len - s - 1;
    enum sts_status st = check_uri_chars(p, n, err, errlen);
    if (st != STS_OK)
        return st;

    if (scheme_is(uri, s, "mailto"))
        return parse_mailto(p, n, sink, err, errlen);
    if (scheme_is(uri, s, "https"))
        return parse_https(uri, len, p, n, sink, err, errlen);

    return sink->skip(sink->ctx, STS_TLSRPT_SKIP_SCHEME, uri, len);
}
