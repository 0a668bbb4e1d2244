/*
 * policy.c - the MTA-STS policy body (RFC 8461 §3.2).
 *
 * The body comes from an HTTPS server chosen by whoever controls the
 * recipient domain: it is scanned line by line over (pointer, length),
 * never assumed to be NUL-terminated, and capped at STS_POLICY_BODY_MAX.
 */
#include "mtasts/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/abnf.h"
#include "mtasts/domain.h"
#include "mtasts/mx_match.h"
#include "mtasts/utf8.h"

#define POLICY_KEY_MAX 32 /* sts-policy-ext-name: 1 + *31 */

struct line {
    const char *p;
    size_t len;
    unsigned no;
};

struct parse_state {
    struct sts_policy *policy;
    size_t mx_cap;
    bool have_version, have_mode, have_max_age;
};

static bool value_is(const char *v, size_t vlen, const char *word)
{
    size_t wlen = strlen(word);
    return vlen == wlen && memcmp(v, word, wlen) == 0;
}

const char *sts_mode_name(enum sts_mode mode)
{
    switch (mode) {
    case STS_MODE_ENFORCE:
        return "enforce";
    case STS_MODE_TESTING:
        return "testing";
    case STS_MODE_NONE:
        return "none";
    }
    return "unknown";
}

size_t sts_policy_format(const struct sts_policy *policy, char *buf, size_t len)
{
    size_t n = 0;
    int w = snprintf(buf, len, "version: STSv1\nmode: %s\nmax_age: %u\n",
                     sts_mode_name(policy->mode), policy->max_age);
    n += w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < policy->mx_count; i++) {
        w = snprintf(n < len ? buf + n : NULL, n < len ? len - n : 0, "mx: %s\n", policy->mx[i]);
        n += w > 0 ? (size_t)w : 0;
    }
    return n;
}

void sts_policy_free(struct sts_policy *policy)
{
    if (policy == NULL)
        return;
    for (size_t i = 0; i < policy->mx_count; i++)
        free(policy->mx[i]);
    free(policy->mx);
    free(policy);
}

bool sts_policy_permits_mx(const struct sts_policy *policy, const char *host)
{
    if (policy == NULL)
        return false;
    for (size_t i = 0; i < policy->mx_count; i++)
        if (sts_mx_match(policy->mx[i], host))
            return true;
    return false;
}

static enum sts_status parse_max_age(const struct line *ln, const char *v, size_t vlen,
                                     uint32_t *out, char *err, size_t errlen)
{
    /* sts-policy-max-age-value = 1*10(DIGIT); at most 31557600. */
    if (vlen == 0 || vlen > 10)
        return sts_status_set(STS_EINVAL, err, errlen, "line %u: max_age must be 1 to 10 digits",
                              ln->no);
    uint64_t n = 0;
    for (size_t i = 0; i < vlen; i++) {
        if (v[i] < '0' || v[i] > '9')
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "line %u: max_age must be 1 to 10 digits", ln->no);
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    if (n > STS_POLICY_MAX_AGE_MAX)
        return sts_status_set(STS_EINVAL, err, errlen, "line %u: max_age %llu exceeds %u", ln->no,
                              (unsigned long long)n, STS_POLICY_MAX_AGE_MAX);
    *out = (uint32_t)n;
    return STS_OK;
}

static enum sts_status add_mx(struct parse_state *ps, const struct line *ln, const char *v,
                              size_t vlen, char *err, size_t errlen)
{
    char raw[STS_DOMAIN_MAX * 4 + 8], norm[STS_DOMAIN_MAX + 3];
    char why[STS_DOMAIN_MAX + 128], shown[96];
    if (vlen == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "line %u: empty mx value", ln->no);
    if (vlen >= sizeof(raw))
        return sts_status_set(STS_EINVAL, err, errlen, "line %u: mx value too long", ln->no);
    memcpy(raw, v, vlen);
    raw[vlen] = '\0';

    if (sts_mx_match_policy_pattern(raw, norm, sizeof(norm), why, sizeof(why)) != STS_OK)
        return sts_status_set(STS_EINVAL, err, errlen, "line %u: invalid mx pattern \"%s\": %s",
                              ln->no, sts_status_quote(v, vlen, shown, sizeof(shown)), why);

    struct sts_policy *p = ps->policy;
    if (p->mx_count == ps->mx_cap) {
        size_t cap = ps->mx_cap ? ps->mx_cap * 2 : 4;
        char **grown = realloc(p->mx, cap * sizeof(*grown));
        if (grown == NULL)
            return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
        p->mx = grown;
        ps->mx_cap = cap;
    }
    char *copy = strdup(norm);
    if (copy == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    p->mx[p->mx_count++] = copy;
    return STS_OK;
}

/*
 * sts-policy-ext-value = sts-policy-vchar [*(%x20 / sts-policy-vchar)
 * sts-policy-vchar] (§3.2): at least one character, UTF-8, inner spaces
 * but no HTAB (other CTLs are refused for the whole body).  v, vlen are
 * the value without the WSP around it.
 */
static enum sts_status check_ext_value(const struct line *ln, const char *key, size_t klen,
                                       const char *v, size_t vlen, char *err, size_t errlen)
{
    char shown[48];
    size_t bad;
    if (vlen == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "line %u: field \"%s\" has an empty value",
                              ln->no, sts_status_quote(key, klen, shown, sizeof(shown)));
    if (memchr(v, '\t', vlen) != NULL)
        return sts_status_set(STS_EINVAL, err, errlen,
                              "line %u: tab in the value of field \"%s\" (only spaces may "
                              "separate words)",
                              ln->no, sts_status_quote(key, klen, shown, sizeof(shown)));
    if (!sts_utf8_valid(v, vlen, &bad))
        return sts_status_set(STS_EINVAL, err, errlen,
                              "line %u: field \"%s\" has invalid UTF-8 at byte %zu of its value",
                              ln->no, sts_status_quote(key, klen, shown, sizeof(shown)), bad + 1);
    return STS_OK;
}

/* One non-blank line: key ":" *WSP value *WSP. */
static enum sts_status parse_line(struct parse_state *ps, const struct line *ln, char *err,
                                  size_t errlen)
{
    const char *colon = memchr(ln->p, ':', ln->len);
    size_t klen = colon ? (size_t)(colon - ln->p) : 0;
    bool key_ok = colon != NULL && klen > 0 && klen <= POLICY_KEY_MAX && sts_abnf_alnum(ln->p[0]);
    for (size_t i = 1; key_ok && i < klen; i++)
        key_ok = sts_abnf_alnum(ln->p[i]) || ln->p[i] == '_' || ln->p[i] == '-' || ln->p[i] == '.';
    if (!key_ok)
        return sts_status_set(STS_EINVAL, err, errlen, "line %u: expected \"key: value\"", ln->no);

    const char *v = colon + 1;
    size_t vlen = ln->len - klen - 1;
    while (vlen > 0 && sts_abnf_wsp(*v)) {
        v++;
        vlen--;
    }
    while (vlen > 0 && sts_abnf_wsp(v[vlen - 1]))
        vlen--;

    const char *key = ln->p;
    struct sts_policy *p = ps->policy;
    if (value_is(key, klen, "mx"))
        return add_mx(ps, ln, v, vlen, err, errlen);

    /* §3.2: of a repeated non-mx field only the first counts. */
    if (value_is(key, klen, "version") && !ps->have_version) {
        if (!value_is(v, vlen, "STSv1"))
            return sts_status_set(STS_EINVAL, err, errlen, "line %u: version must be STSv1",
                                  ln->no);
        ps->have_version = true;
    } else if (value_is(key, klen, "mode") && !ps->have_mode) {
        if (value_is(v, vlen, "enforce"))
            p->mode = STS_MODE_ENFORCE;
        else if (value_is(v, vlen, "testing"))
            p->mode = STS_MODE_TESTING;
        else if (value_is(v, vlen, "none"))
            p->mode = STS_MODE_NONE;
        else
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "line %u: mode must be enforce, testing or none", ln->no);
        ps->have_mode = true;
    } else if (value_is(key, klen, "max_age") && !ps->have_max_age) {
        enum sts_status st = parse_max_age(ln, v, vlen, &p->max_age, err, errlen);
        if (st != STS_OK)
            return st;
        ps->have_max_age = true;
    } else if (!value_is(key, klen, "version") && !value_is(key, klen, "mode") &&
               !value_is(key, klen, "max_age")) {
        /* An extension: ignored (§3.2), but it must be well formed. */
        return check_ext_value(ln, key, klen, v, vlen, err, errlen);
    }
    /* A repeat of a known field: ignored unchecked (§3.2: all but the first). */
    return STS_OK;
}

static bool is_blank(const struct line *ln)
{
    for (size_t i = 0; i < ln->len; i++)
        if (!sts_abnf_wsp(ln->p[i]))
            return false;
    return true;
}

static enum sts_status parse_lines(struct parse_state *ps, const char *body, size_t len, char *err,
                                   size_t errlen)
{
    struct line ln = {.p = body, .len = 0, .no = 1};
    for (size_t i = 0; i <= len; i++) {
        if (i < len && body[i] != '\n') {
            unsigned char c = (unsigned char)body[i];
            bool crlf = c == '\r' && i + 1 < len && body[i + 1] == '\n';
            if ((c < 0x20 && c != '\t' && !crlf) || c == 0x7f)
                return sts_status_set(STS_EINVAL, err, errlen, "line %u: control character 0x%02x",
                                      ln.no, c);
            continue;
        }
        ln.len = (size_t)(body + i - ln.p);
        if (ln.len > 0 && ln.p[ln.len - 1] == '\r')
            ln.len--;
        if (ln.no == 1 && is_blank(&ln))
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "line 1: a policy may not begin with a blank line");
        if (!is_blank(&ln)) {
            enum sts_status st = parse_line(ps, &ln, err, errlen);
            if (st != STS_OK)
                return st;
        }
        ln.p = body + i + 1;
        ln.no++;
    }
    return STS_OK;
}

enum sts_status sts_policy_parse(const char *body, size_t len, struct sts_policy **out, char *err,
                                 size_t errlen)
{
    *out = NULL;
    if (len > STS_POLICY_BODY_MAX)
        return sts_status_set(STS_ETOOBIG, err, errlen, "body larger than %d bytes",
                              STS_POLICY_BODY_MAX);
    if (body == NULL || len == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "empty policy");

    struct parse_state ps = {0};
    ps.policy = calloc(1, sizeof(*ps.policy));
    if (ps.policy == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");

    enum sts_status st = parse_lines(&ps, body, len, err, errlen);
    if (st == STS_OK) {
        if (!ps.have_version)
            st = sts_status_set(STS_EINVAL, err, errlen, "missing \"version\" field");
        else if (!ps.have_mode)
            st = sts_status_set(STS_EINVAL, err, errlen, "missing \"mode\" field");
        else if (!ps.have_max_age)
            st = sts_status_set(STS_EINVAL, err, errlen, "missing \"max_age\" field");
        else if (ps.policy->mode != STS_MODE_NONE && ps.policy->mx_count == 0)
            st = sts_status_set(STS_EINVAL, err, errlen,
                                "no \"mx\" field (required unless mode is none)");
    }
    if (st != STS_OK) {
        sts_policy_free(ps.policy);
        return st;
    }
    *out = ps.policy;
    return STS_OK;
}
