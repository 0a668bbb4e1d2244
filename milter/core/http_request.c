/*
 * http_request.c - judge one HTTP request head (see http_request.h).
 */
#include "mtasts/http_request.h"

#include <string.h>

/* RFC 9110 §5.6.2 tchar */
static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Does [p, p+n) contain word, ASCII case-insensitive? */
static bool contains_ci(const char *p, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= n; i++) {
        size_t k = 0;
        while (k < w && lower(p[i + k]) == word[k])
            k++;
        if (k == w)
            return true;
    }
    return false;
}

/* The end of the line starting at p (the LF), or NULL past end. */
static const char *line_end(const char *p, const char *end)
{
    return memchr(p, '\n', (size_t)(end - p));
}

/* One header line [p, e) without its line ending: "name: value". */
static bool header_ok(const char *p, const char *e, bool *json)
{
    const char *colon = memchr(p, ':', (size_t)(e - p));
    if (colon == NULL || colon == p)
        return false;
    for (const char *q = p; q < colon; q++)
        if (!is_tchar((unsigned char)*q))
            return false; /* also refuses obs-fold (a line starting with a blank) */
    for (const char *q = colon + 1; q < e; q++) {
        unsigned char c = (unsigned char)*q;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    if ((size_t)(colon - p) == 6 && contains_ci(p, 6, "accept") &&
        contains_ci(colon + 1, (size_t)(e - colon - 1), "application/json"))
        *json = true;
    return true;
}

/* The request line [p, e) without its line ending. */
static enum sts_http_verdict request_line(const char *p, const char *e, bool *head)
{
    const char *sp1 = memchr(p, ' ', (size_t)(e - p));
    if (sp1 == NULL || sp1 == p)
        return STS_HTTP_BAD_REQUEST;
    for (const char *q = p; q < sp1; q++)
        if (!is_tchar((unsigned char)*q))
            return STS_HTTP_BAD_REQUEST;
    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', (size_t)(e - target));
    if (sp2 == NULL || sp2 == target)
        return STS_HTTP_BAD_REQUEST;
    for (const char *q = target; q < sp2; q++)
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q == 0x7f)
            return STS_HTTP_BAD_REQUEST;
    const char *version = sp2 + 1;
    size_t vlen = (size_t)(e - version);
    bool v_ok =
        vlen == 8 && memcmp(version, "HTTP/1.", 7) == 0 && version[7] >= '0' && version[7] <= '9';
    bool v_form = vlen == 8 && memcmp(version, "HTTP/", 5) == 0 && version[6] == '.';
    if (!v_form && !v_ok)
        return STS_HTTP_BAD_REQUEST;

    size_t mlen = (size_t)(sp1 - p);
    if (mlen == 4 && memcmp(p, "HEAD", 4) == 0)
        *head = true;
    else if (!(mlen == 3 && memcmp(p, "GET", 3) == 0))
        return STS_HTTP_BAD_METHOD; /* methods are case-sensitive (RFC 9110 §9.1) */

    const char *q = memchr(target, '?', (size_t)(sp2 - target));
    size_t plen = (size_t)((q != NULL ? q : sp2) - target);
    if (plen != strlen(STS_HTTP_METRICS_PATH) || memcmp(target, STS_HTTP_METRICS_PATH, plen) != 0)
        return target[0] == '/' ? STS_HTTP_NOT_FOUND : STS_HTTP_BAD_REQUEST;
    return v_ok ? STS_HTTP_SERVE : STS_HTTP_BAD_VERSION;
}

enum sts_http_verdict sts_http_request_parse(const char *buf, size_t len,
                                             struct sts_http_request *out)
{
    memset(out, 0, sizeof(*out));
    if (buf == NULL)
        return STS_HTTP_INCOMPLETE;
    if (len > STS_HTTP_REQUEST_MAX)
        len = STS_HTTP_REQUEST_MAX;
    const char *end = buf + len;

    /* Find the empty line first: nothing is judged on a partial head,
       so a slow client's verdict does not depend on how it was cut. */
    const char *p = buf, *first_end = NULL;
    for (;;) {
        const char *lf = line_end(p, end);
        if (lf == NULL)
            return STS_HTTP_INCOMPLETE;
        const char *e = (lf > p && lf[-1] == '\r') ? lf - 1 : lf;
        if (first_end == NULL) {
            first_end = e;
        } else if (e == p) {
            p = lf + 1;
            break;
        }
        p = lf + 1;
    }
    out->used = (size_t)(p - buf);
    if (memchr(buf, '\0', out->used) != NULL)
        return STS_HTTP_BAD_REQUEST; /* in the head: what follows it is not ours to judge */

    const char *e = first_end;
    for (const char *q = buf; q < e; q++)
        if ((unsigned char)*q < 0x20 || (unsigned char)*q == 0x7f)
            return STS_HTTP_BAD_REQUEST;
    bool head = false, json = false;
    enum sts_http_verdict v = request_line(buf, e, &head);
    if (v != STS_HTTP_SERVE)
        return v;

    /* the header lines, between the request line and the empty line */
    const char *h = memchr(buf, '\n', len) + 1;
    while (h < p) {
        const char *lf = line_end(h, end);
        const char *he = (lf > h && lf[-1] == '\r') ? lf - 1 : lf;
        if (he == h)
            break; /* the empty line */
        if (!header_ok(h, he, &json))
            return STS_HTTP_BAD_REQUEST;
        h = lf + 1;
    }
    out->head = head;
    out->want_json = json;
    return STS_HTTP_SERVE;
}

const char *sts_http_verdict_name(enum sts_http_verdict v)
{
    static const char *const names[] = {"incomplete", "serve",      "bad-request",
                                        "not-found",  "bad-method", "bad-version"};
    return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "unknown";
}
