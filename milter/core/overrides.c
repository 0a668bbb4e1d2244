/*
 * overrides.c - the local overrides file: parse, hash, look up (see
 * overrides.h for the format, the precedence and the locking protocol).
 *
 * The set is an array of rules and an open-addressing hash table (linear
 * probing, FNV-1a, at most half full) of indexes into it, keyed by the
 * normalised domain as written: "example.com" for an exact rule,
 * ".example.com" for a subdomain rule.  A lookup of "a.b.example.com"
 * probes "a.b.example.com", then ".b.example.com", ".example.com" and
 * ".com": each probe key is a suffix of the domain, so nothing is copied.
 */
#include "mtasts/overrides.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/domain.h"
#include "mtasts/hash.h"
#include "mtasts/mx_match.h"

#define PATTERN_MAX (STS_DOMAIN_MAX + 3)

struct rule {
    struct sts_override pub;
    void *mem; /* one block: the pattern pointers, the patterns, the domain */
};

struct sts_overrides {
    atomic_uint refs;
    size_t count, cap; /* rules used and allocated */
    struct rule *rules;
    size_t nslots; /* a power of two, or 0 */
    size_t *slots; /* rule index + 1; 0 = empty */
};

/* What a line is parsed into before it becomes a rule. */
struct line_rule {
    char domain[STS_DOMAIN_MAX + 2]; /* with the leading "." of a subdomain rule */
    bool subdomains;
    enum sts_override_kind kind;
    size_t npatterns;
    char (*patterns)[PATTERN_MAX];
};

static uint64_t hash(const char *s, size_t len)
{
    return sts_fnv1a64(STS_FNV1A64_INIT, s, len);
}

static const struct rule *find(const struct sts_overrides *ov, const char *key, size_t len)
{
    if (ov->nslots == 0)
        return NULL;
    for (size_t i = (size_t)hash(key, len) & (ov->nslots - 1);; i = (i + 1) & (ov->nslots - 1)) {
        size_t slot = ov->slots[i];
        if (slot == 0)
            return NULL;
        const struct rule *r = &ov->rules[slot - 1];
        if (strncmp(r->pub.domain, key, len) == 0 && r->pub.domain[len] == '\0')
            return r;
    }
}

static void insert_slot(size_t *slots, size_t nslots, const char *key, size_t index)
{
    size_t i = (size_t)hash(key, strlen(key)) & (nslots - 1);
    while (slots[i] != 0)
        i = (i + 1) & (nslots - 1);
    slots[i] = index + 1;
}

/* Room for one more rule, the table kept at most half full. */
static enum sts_status grow(struct sts_overrides *ov)
{
    if (ov->count == ov->cap) {
        size_t cap = ov->cap ? ov->cap * 2 : 16;
        struct rule *rules = realloc(ov->rules, cap * sizeof(*rules));
        if (rules == NULL)
            return STS_ENOMEM;
        ov->rules = rules;
        ov->cap = cap;
    }
    if (2 * (ov->count + 1) > ov->nslots) {
        size_t nslots = ov->nslots ? ov->nslots * 2 : 32;
        size_t *slots = calloc(nslots, sizeof(*slots));
        if (slots == NULL)
            return STS_ENOMEM;
        for (size_t i = 0; i < ov->count; i++)
            insert_slot(slots, nslots, ov->rules[i].pub.domain, i);
        free(ov->slots);
        ov->slots = slots;
        ov->nslots = nslots;
    }
    return STS_OK;
}

/* Copy a parsed line into the set as one allocation. */
static enum sts_status add_rule(struct sts_overrides *ov, const struct line_rule *lr, unsigned line)
{
    size_t dlen = strlen(lr->domain) + 1, size = lr->npatterns * sizeof(char *) + dlen;
    for (size_t i = 0; i < lr->npatterns; i++)
        size += strlen(lr->patterns[i]) + 1;
    if (grow(ov) != STS_OK)
        return STS_ENOMEM;
    char **ptrs = malloc(size);
    if (ptrs == NULL)
        return STS_ENOMEM;
    char *p = (char *)(ptrs + lr->npatterns);
    for (size_t i = 0; i < lr->npatterns; i++) {
        size_t n = strlen(lr->patterns[i]) + 1;
        ptrs[i] = memcpy(p, lr->patterns[i], n);
        p += n;
    }
    memcpy(p, lr->domain, dlen);

    struct rule *r = &ov->rules[ov->count];
    r->mem = ptrs;
    r->pub.domain = p;
    r->pub.subdomains = lr->subdomains;
    r->pub.kind = lr->kind;
    r->pub.npatterns = lr->npatterns;
    r->pub.patterns = (const char *const *)ptrs;
    r->pub.line = line;
    insert_slot(ov->slots, ov->nslots, r->pub.domain, ov->count);
    ov->count++;
    return STS_OK;
}

static void destroy(struct sts_overrides *ov)
{
    for (size_t i = 0; i < ov->count; i++)
        free(ov->rules[i].mem);
    free(ov->rules);
    free(ov->slots);
    free(ov);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool word_eq(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++)
        if ((*a >= 'A' && *a <= 'Z' ? *a - 'A' + 'a' : *a) != *b)
            return false;
    return *a == *b;
}

struct parse {
    const char *file;
    unsigned line;
    char *err;
    size_t errlen;
};

static enum sts_status line_error(const struct parse *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static enum sts_status line_error(const struct parse *ps, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return sts_status_set(STS_EINVAL, ps->err, ps->errlen, "%s:%u: %s", ps->file, ps->line, msg);
}

/* Split s in place into blank-separated tokens, up to a comment. */
static size_t tokenize(char *s, char **tok, size_t max)
{
    size_t n = 0;
    while (n < max) {
        while (is_blank(*s))
            s++;
        if (*s == '\0' || *s == '#')
            break;
        tok[n++] = s;
        while (*s != '\0' && !is_blank(*s))
            s++;
        if (*s != '\0')
            *s++ = '\0';
    }
    return n;
}

static enum sts_status parse_domain(const struct parse *ps, const char *tok, struct line_rule *lr)
{
    char why[160], q[128];
    lr->subdomains = tok[0] == '.';
    const char *name = tok + (lr->subdomains ? 1 : 0);
    if (name[0] == '*')
        return line_error(ps, "\"%s\": write \".%s\" for the names below a domain",
                          sts_status_quote(tok, strlen(tok), q, sizeof(q)),
                          name[1] == '.' ? name + 2 : "domain");
    if (name[0] == '.' || sts_domain_normalize(name, lr->domain + lr->subdomains,
                                               sizeof(lr->domain) - 1, why, sizeof(why)) != STS_OK)
        return line_error(ps, "\"%s\" is not a domain name%s%s",
                          sts_status_quote(tok, strlen(tok), q, sizeof(q)),
                          name[0] == '.' ? "" : ": ", name[0] == '.' ? "" : why);
    if (lr->subdomains)
        lr->domain[0] = '.';
    return STS_OK;
}

/* The actions, as error messages name them. */
#define ACTIONS "secure, verify, encrypt, dane or skip"

static enum sts_status parse_line(struct sts_overrides *ov, const struct parse *ps, char *s,
                                  struct line_rule *lr)
{
    char *tok[STS_OVERRIDES_LINE_MAX / 2 + 1];
    char q[128], why[160];
    size_t n = tokenize(s, tok, sizeof(tok) / sizeof(tok[0]));
    if (n == 0)
        return STS_OK;
    enum sts_status st = parse_domain(ps, tok[0], lr);
    if (st != STS_OK)
        return st;
    if (n < 2)
        return line_error(ps, "%s: no action (want " ACTIONS ")", lr->domain);
    if (word_eq(tok[1], "skip")) {
        lr->kind = STS_OVERRIDE_SKIP;
    } else if (word_eq(tok[1], "dane")) {
        lr->kind = STS_OVERRIDE_DANE;
    } else if (word_eq(tok[1], "verify")) {
        lr->kind = STS_OVERRIDE_VERIFY;
    } else if (word_eq(tok[1], "encrypt")) {
        lr->kind = STS_OVERRIDE_ENCRYPT;
    } else if (word_eq(tok[1], "secure") || word_eq(tok[1], "enforce")) {
        lr->kind = STS_OVERRIDE_ENFORCE;
        if (n < 3)
            return line_error(ps, "%s: %s needs at least one mx pattern", lr->domain,
                              word_eq(tok[1], "secure") ? "secure" : "enforce");
    } else {
        return line_error(ps, "%s: unknown action \"%s\" (want " ACTIONS ")", lr->domain,
                          sts_status_quote(tok[1], strlen(tok[1]), q, sizeof(q)));
    }
    if (lr->kind != STS_OVERRIDE_ENFORCE && n > 2)
        return line_error(ps, "%s: %s takes no patterns", lr->domain,
                          sts_override_kind_name(lr->kind));
    lr->npatterns = n - 2;
    for (size_t i = 0; i < lr->npatterns; i++)
        if (sts_mx_match_normalize_pattern(tok[i + 2], lr->patterns[i], PATTERN_MAX, why,
                                           sizeof(why)) != STS_OK)
            return line_error(ps, "%s: mx pattern \"%s\": %s", lr->domain,
                              sts_status_quote(tok[i + 2], strlen(tok[i + 2]), q, sizeof(q)), why);
    const struct rule *dup = find(ov, lr->domain, strlen(lr->domain));
    if (dup != NULL)
        return line_error(ps, "%s given twice (first on line %u)", lr->domain, dup->pub.line);
    if (add_rule(ov, lr, ps->line) != STS_OK)
        return sts_status_set(STS_ENOMEM, ps->err, ps->errlen, "out of memory");
    return STS_OK;
}

enum sts_status sts_overrides_parse(const char *text, size_t len, const char *name,
                                    struct sts_overrides **out, char *err, size_t errlen)
{
    struct parse ps = {name != NULL ? name : "(overrides)", 0, err, errlen};
    struct sts_overrides *ov = calloc(1, sizeof(*ov));
    /* A line of n bytes holds fewer than n / 2 patterns. */
    struct line_rule lr = {.patterns = malloc(STS_OVERRIDES_LINE_MAX / 2 * PATTERN_MAX)};
    char *line = malloc(STS_OVERRIDES_LINE_MAX + 1);
    enum sts_status st = STS_OK;

    if (ov == NULL || lr.patterns == NULL || line == NULL)
        st = sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    else
        atomic_init(&ov->refs, 1);
    for (size_t pos = 0; pos < len && st == STS_OK;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t ll = (nl != NULL ? (size_t)(nl - text) : len) - pos;
        const char *p = text + pos;
        pos += ll + 1;
        ps.line++;
        if (ll > 0 && p[ll - 1] == '\r')
            ll--;
        if (ll > STS_OVERRIDES_LINE_MAX) {
            st = line_error(&ps, "line longer than %d bytes", STS_OVERRIDES_LINE_MAX);
            break;
        }
        for (size_t i = 0; i < ll && st == STS_OK; i++)
            if (((unsigned char)p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
                st = line_error(&ps, "control character 0x%02x", (unsigned)(unsigned char)p[i]);
        if (st != STS_OK)
            break;
        memcpy(line, p, ll);
        line[ll] = '\0';
        st = parse_line(ov, &ps, line, &lr);
    }
    free(line);
    free(lr.patterns);
    if (st != STS_OK) {
        if (ov != NULL)
            destroy(ov);
        return st;
    }
    *out = ov;
    return STS_OK;
}

enum sts_status sts_overrides_load(const char *path, struct sts_overrides **out, char *err,
                                   size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return sts_status_set(STS_EIO, err, errlen, "%s: %s", path, strerror(errno));
    size_t cap = 64 * 1024, len = 0;
    char *buf = NULL;
    enum sts_status st = STS_OK;
    for (;;) {
        char *nbuf = realloc(buf, cap);
        if (nbuf == NULL) {
            st = sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
            break;
        }
        buf = nbuf;
        len += fread(buf + len, 1, cap - len, fp);
        if (len < cap)
            break;
        if (cap > STS_OVERRIDES_FILE_MAX) {
            st = sts_status_set(STS_ETOOBIG, err, errlen, "%s: larger than %d bytes", path,
                                STS_OVERRIDES_FILE_MAX);
            break;
        }
        cap *= 2;
    }
    if (st == STS_OK && ferror(fp))
        st = sts_status_set(STS_EIO, err, errlen, "%s: read error", path);
    else if (st == STS_OK && len > STS_OVERRIDES_FILE_MAX)
        st = sts_status_set(STS_ETOOBIG, err, errlen, "%s: larger than %d bytes", path,
                            STS_OVERRIDES_FILE_MAX);
    fclose(fp);
    if (st == STS_OK)
        st = sts_overrides_parse(buf, len, path, out, err, errlen);
    free(buf);
    return st;
}

const struct sts_overrides *sts_overrides_ref(const struct sts_overrides *ov)
{
    if (ov != NULL)
        atomic_fetch_add_explicit(&((struct sts_overrides *)ov)->refs, 1, memory_order_relaxed);
    return ov;
}

void sts_overrides_unref(const struct sts_overrides *ov)
{
    struct sts_overrides *o = (struct sts_overrides *)ov;
    if (o != NULL && atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1)
        destroy(o);
}

void sts_overrides_free(struct sts_overrides *ov)
{
    sts_overrides_unref(ov);
}

const struct sts_override *sts_overrides_lookup(const struct sts_overrides *ov, const char *domain)
{
    if (ov == NULL || domain == NULL)
        return NULL;
    size_t len = strnlen(domain, STS_DOMAIN_MAX + 1);
    if (len == 0 || len > STS_DOMAIN_MAX)
        return NULL;
    const struct rule *r = find(ov, domain, len);
    /* Then ".parent" rules, the longest parent first. */
    for (size_t i = 0; r == NULL && i < len; i++)
        if (domain[i] == '.')
            r = find(ov, domain + i, len - i);
    return r != NULL ? &r->pub : NULL;
}

size_t sts_overrides_count(const struct sts_overrides *ov)
{
    return ov != NULL ? ov->count : 0;
}
