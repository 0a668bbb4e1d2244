/*
 * config.c - the "Name value" file parser, typed values (numbers,
 * durations, booleans, enums, lists) and refcounted snapshots (see
 * config.h for the format and the locking protocol).  The key table and
 * the checks of string values are in config_keys.c (config_int.h).
 */
#include "mtasts/config.h"
#include "config_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A snapshot and its reference count; callers see only cfg. */
struct config_box {
    atomic_uint refs;
    struct sts_config cfg;
};

#define BOX(c) ((struct config_box *)(void *)((char *)(c)-offsetof(struct config_box, cfg)))

/* --- typed values */

static const struct {
    const char *unit;
    unsigned long ms;
} units[] = {{"d", 86400000UL}, {"h", 3600000UL}, {"m", 60000UL}, {"s", 1000UL}, {"ms", 1UL}};

/* A duration in the key's unit, as written back: the largest exact unit. */
static int format_duration(const struct sts_config_key *k, unsigned long v, char *buf, size_t len)
{
    unsigned long long ms = (unsigned long long)v * (k->millis ? 1 : 1000);
    if (ms == 0)
        return snprintf(buf, len, "0s");
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (ms % units[i].ms == 0)
            return snprintf(buf, len, "%llu%s", ms / units[i].ms, units[i].unit);
    return snprintf(buf, len, "%llums", ms); /* not reached */
}

static enum sts_status out_of_range(const struct sts_config_key *k, char *err, size_t errlen)
{
    char lo[32], hi[32];
    if (k->type == STS_CONFIG_DURATION) {
        format_duration(k, k->min, lo, sizeof(lo));
        format_duration(k, k->max, hi, sizeof(hi));
    } else {
        snprintf(lo, sizeof(lo), "%lu", k->min);
        snprintf(hi, sizeof(hi), "%lu", k->max);
    }
    return sts_status_set(STS_EINVAL, err, errlen, "out of range (%s..%s)", lo, hi);
}

/* Digits, at most 19, as an integer. */
static bool parse_digits(const char *s, size_t len, unsigned long long *v)
{
    *v = 0;
    if (len == 0 || len > 19)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return false;
        *v = *v * 10 + (unsigned long long)(s[i] - '0');
    }
    return true;
}

static enum sts_status parse_number(const struct sts_config_key *k, const char *v, unsigned *out,
                                    char *err, size_t errlen)
{
    unsigned long long n, mult = 1;
    size_t dlen = 0;
    while (is_digit(v[dlen]))
        dlen++;
    if (k->type == STS_CONFIG_DURATION) {
        mult = 1000; /* bare digits are seconds */
        if (v[dlen] != '\0') {
            mult = 0;
            for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (word_eq(v + dlen, strlen(v + dlen), units[i].unit))
                    mult = units[i].ms;
        }
        if (mult == 0 || !parse_digits(v, dlen, &n))
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "not a duration (want digits and ms, s, m, h or d)");
        if (n > UINT64_MAX / 100000000ULL) /* keeps n * mult in range */
            return out_of_range(k, err, errlen);
        n *= mult;
        if (!k->millis) {
            if (n % 1000 != 0)
                return sts_status_set(STS_EINVAL, err, errlen, "not a whole number of seconds");
            n /= 1000;
        }
    } else if (v[dlen] != '\0' || !parse_digits(v, dlen, &n)) {
        return sts_status_set(STS_EINVAL, err, errlen, "not a number (want decimal digits)");
    }
    if (n < k->min || n > k->max)
        return out_of_range(k, err, errlen);
    *out = (unsigned)n;
    return STS_OK;
}

static enum sts_status parse_bool(const char *v, bool *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (word_eq(v, strlen(v), yes[i])) {
            *out = true;
            return STS_OK;
        }
        if (word_eq(v, strlen(v), no[i])) {
            *out = false;
            return STS_OK;
        }
    }
    return sts_status_set(STS_EINVAL, err, errlen, "not a boolean (want yes or no)");
}

static enum sts_status parse_enum(const struct sts_config_key *k, const char *v, int *out,
                                  char *err, size_t errlen)
{
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; k->choices[i] != NULL; i++) {
        if (word_eq(v, strlen(v), k->choices[i])) {
            *out = k->values != NULL ? k->values[i] : i;
            return STS_OK;
        }
        int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", k->choices[i]);
        if (n > 0 && (size_t)n < sizeof(list) - used)
            used += (size_t)n;
    }
    return sts_status_set(STS_EINVAL, err, errlen, "want one of %s", list);
}

static void list_clear(struct sts_config_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

static enum sts_status parse_list(const struct sts_config_key *k, const char *v,
                                  struct sts_config_list *out, char *err, size_t errlen)
{
    struct sts_config_list l = {0, NULL};
    char item[CONFIG_VALUE_MAX], norm[CONFIG_VALUE_MAX];
    enum sts_status st = STS_OK;

    while (*v != '\0' && st == STS_OK) {
        while (is_blank(*v) || *v == ',')
            v++;
        size_t len = strcspn(v, " \t,");
        if (len == 0)
            break;
        memcpy(item, v, len);
        item[len] = '\0';
        v += len;
        if (l.count == STS_CONFIG_LIST_MAX) {
            st = sts_status_set(STS_EINVAL, err, errlen, "more than %d items", STS_CONFIG_LIST_MAX);
            break;
        }
        char why[256];
        if (k->check_ != NULL && k->check_(item, norm, sizeof(norm), why, sizeof(why)) != STS_OK) {
            char q[128];
            sts_status_quote(item, len, q, sizeof(q));
            st = sts_status_set(STS_EINVAL, err, errlen, "item \"%s\": %s", q, why);
            break;
        }
        char **items = realloc(l.items, (l.count + 1) * sizeof(*items));
        if (items == NULL) {
            st = sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
            break;
        }
        l.items = items;
        l.items[l.count] = strdup(k->check_ != NULL ? norm : item);
        if (l.items[l.count] == NULL) {
            st = sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
            break;
        }
        l.count++;
    }
    if (st != STS_OK) {
        list_clear(&l);
        return st;
    }
    list_clear(out);
    *out = l;
    return STS_OK;
}

/* Set one key from its written value; the reason (without "FILE:LINE:") in err. */
static enum sts_status set_value(struct sts_config *cfg, const struct sts_config_key *k,
                                 const char *v, char *err, size_t errlen)
{
    void *field = (char *)cfg + k->offset_;

    if (v[0] == '\0') {
        if (!k->empty_ok)
            return sts_status_set(STS_EINVAL, err, errlen, "a value is required");
        if (k->type == STS_CONFIG_LIST) {
            list_clear(field);
        } else {
            free(*(char **)field);
            *(char **)field = NULL;
        }
        return STS_OK;
    }
    switch (k->type) {
    case STS_CONFIG_STRING: {
        char buf[CONFIG_VALUE_MAX];
        enum sts_status st = k->check_ != NULL ? k->check_(v, buf, sizeof(buf), err, errlen)
                                               : copy_out(v, buf, sizeof(buf), err, errlen);
        if (st != STS_OK)
            return st;
        char *copy = strdup(buf);
        if (copy == NULL)
            return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
        free(*(char **)field);
        *(char **)field = copy;
        return STS_OK;
    }
    case STS_CONFIG_BOOL:
        return parse_bool(v, field, err, errlen);
    case STS_CONFIG_UINT:
    case STS_CONFIG_DURATION:
        return parse_number(k, v, field, err, errlen);
    case STS_CONFIG_ENUM:
        return parse_enum(k, v, field, err, errlen);
    case STS_CONFIG_LIST:
        return parse_list(k, v, field, err, errlen);
    }
    return sts_status_set(STS_EINVAL, err, errlen, "unknown key type");
}

/* --- formatting, snprintf-like: returns the length needed */

static size_t format_value(const struct sts_config *cfg, const struct sts_config_key *k, char *buf,
                           size_t len)
{
    const void *field = (const char *)cfg + k->offset_;
    int n = 0;
    if (len > 0)
        buf[0] = '\0';
    switch (k->type) {
    case STS_CONFIG_STRING: {
        const char *s = *(char *const *)field;
        n = snprintf(buf, len, "%s", s != NULL ? s : "");
        break;
    }
    case STS_CONFIG_BOOL:
        n = snprintf(buf, len, "%s", *(const bool *)field ? "yes" : "no");
        break;
    case STS_CONFIG_UINT:
        n = snprintf(buf, len, "%u", *(const unsigned *)field);
        break;
    case STS_CONFIG_DURATION:
        n = format_duration(k, *(const unsigned *)field, buf, len);
        break;
    case STS_CONFIG_ENUM: {
        int v = *(const int *)field;
        for (int i = 0; k->choices[i] != NULL; i++)
            if ((k->values != NULL ? k->values[i] : i) == v)
                n = snprintf(buf, len, "%s", k->choices[i]);
        break;
    }
    case STS_CONFIG_LIST: {
        const struct sts_config_list *l = field;
        size_t used = 0;
        for (size_t i = 0; i < l->count; i++) {
            size_t room = used < len ? len - used : 0;
            int m = snprintf(room ? buf + used : NULL, room, "%s%s", i ? " " : "", l->items[i]);
            used += m > 0 ? (size_t)m : 0;
        }
        return used;
    }
    }
    return n > 0 ? (size_t)n : 0;
}

/* --- the parser */

struct parse {
    const char *file;
    unsigned seen[CONFIG_KEYS_MAX]; /* line that set each key */
    char *err;
    size_t errlen;
};

static enum sts_status line_error(struct parse *ps, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum sts_status line_error(struct parse *ps, unsigned line, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return sts_status_set(STS_EINVAL, ps->err, ps->errlen, "%s:%u: %s", ps->file, line, msg);
}

static enum sts_status parse_line(struct parse *ps, struct sts_config *cfg, char *s, unsigned line)
{
    char q[128], why[384];
    while (is_blank(*s))
        s++;
    if (*s == '\0' || *s == '#')
        return STS_OK;
    char *name = s;
    while (*s != '\0' && !is_blank(*s))
        s++;
    size_t nlen = (size_t)(s - name);
    while (is_blank(*s))
        s++;
    char *value = s;
    for (char *c = value; *c != '\0'; c++)
        if (*c == '#' && (c == value || is_blank(c[-1]))) {
            *c = '\0';
            break;
        }
    size_t vlen = strlen(value);
    while (vlen > 0 && is_blank(value[vlen - 1]))
        value[--vlen] = '\0';

    size_t i;
    for (i = 0; i < sts_config_nkeys; i++)
        if (word_eq(name, nlen, sts_config_keys[i].name))
            break;
    if (i == sts_config_nkeys)
        return line_error(ps, line, "unknown key \"%s\"",
                          sts_status_quote(name, nlen, q, sizeof(q)));
    if (ps->seen[i] != 0)
        return line_error(ps, line, "%s given twice (first on line %u)", sts_config_keys[i].name,
                          ps->seen[i]);
    ps->seen[i] = line;
    enum sts_status st = set_value(cfg, &sts_config_keys[i], value, why, sizeof(why));
    if (st == STS_EINVAL && vlen == 0)
        return line_error(ps, line, "%s: %s", sts_config_keys[i].name, why);
    if (st == STS_EINVAL)
        return line_error(ps, line, "%s: \"%s\": %s", sts_config_keys[i].name,
                          sts_status_quote(value, vlen, q, sizeof(q)), why);
    if (st != STS_OK)
        return sts_status_set(st, ps->err, ps->errlen, "%s:%u: %s", ps->file, line, why);
    return STS_OK;
}

/* Rules between keys, after the whole file. */
static enum sts_status check_cross(struct parse *ps, const struct sts_config *cfg)
{
    if (cfg->fetch_connect_timeout_ms > cfg->fetch_timeout_ms) {
        const struct sts_config_key *c = sts_config_key_find("FetchConnectTimeout");
        const struct sts_config_key *t = sts_config_key_find("FetchTimeout");
        unsigned lc = ps->seen[c - sts_config_keys], lt = ps->seen[t - sts_config_keys];
        char a[32], b[32];
        format_duration(c, cfg->fetch_connect_timeout_ms, a, sizeof(a));
        format_duration(t, cfg->fetch_timeout_ms, b, sizeof(b));
        return sts_status_set(STS_EINVAL, ps->err, ps->errlen,
                              "%s:%u: FetchConnectTimeout (%s) is longer than FetchTimeout (%s)",
                              ps->file, lc > lt ? lc : lt, a, b);
    }
    return STS_OK;
}

static void config_destroy(struct sts_config *cfg)
{
    for (size_t i = 0; i < sts_config_nkeys; i++) {
        void *field = (char *)cfg + sts_config_keys[i].offset_;
        if (sts_config_keys[i].type == STS_CONFIG_STRING)
            free(*(char **)field);
        else if (sts_config_keys[i].type == STS_CONFIG_LIST)
            list_clear(field);
    }
    free(cfg->file);
    free(BOX(cfg));
}

enum sts_status sts_config_parse(const char *text, size_t len, const char *name,
                                 struct sts_config **out, char *err, size_t errlen)
{
    struct parse ps = {.file = name != NULL ? name : "(config)", .err = err, .errlen = errlen};
    struct config_box *box = calloc(1, sizeof(*box));
    enum sts_status st = STS_OK;
    char line[STS_CONFIG_LINE_MAX + 1];
    unsigned lineno = 0;

    if (box == NULL || (box->cfg.file = strdup(ps.file)) == NULL) {
        free(box);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    }
    atomic_init(&box->refs, 1);
    struct sts_config *cfg = &box->cfg;
    for (size_t i = 0; i < sts_config_nkeys && st == STS_OK; i++) {
        char why[384];
        st = set_value(cfg, &sts_config_keys[i], sts_config_keys[i].def, why, sizeof(why));
        if (st != STS_OK)
            sts_status_set(st, err, errlen, "internal: default of %s: %s", sts_config_keys[i].name,
                           why);
    }
    for (size_t pos = 0; pos < len && st == STS_OK;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t ll = (nl != NULL ? (size_t)(nl - text) : len) - pos;
        const char *p = text + pos;
        pos += ll + 1;
        lineno++;
        if (ll > 0 && p[ll - 1] == '\r')
            ll--;
        if (ll > STS_CONFIG_LINE_MAX) {
            st = line_error(&ps, lineno, "line longer than %d bytes", STS_CONFIG_LINE_MAX);
            break;
        }
        for (size_t i = 0; i < ll && st == STS_OK; i++)
            if (((unsigned char)p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
                st = line_error(&ps, lineno, "control character 0x%02x",
                                (unsigned)(unsigned char)p[i]);
        if (st != STS_OK)
            break;
        memcpy(line, p, ll);
        line[ll] = '\0';
        st = parse_line(&ps, cfg, line, lineno);
    }
    if (st == STS_OK)
        st = check_cross(&ps, cfg);
    if (st != STS_OK) {
        config_destroy(cfg);
        return st;
    }
    *out = cfg;
    return STS_OK;
}

enum sts_status sts_config_load(const char *path, struct sts_config **out, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return sts_status_set(STS_EIO, err, errlen, "%s: %s", path, strerror(errno));
    char *buf = malloc(STS_CONFIG_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(fp);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    }
    size_t n = fread(buf, 1, STS_CONFIG_FILE_MAX + 1, fp);
    enum sts_status st = STS_OK;
    if (ferror(fp))
        st = sts_status_set(STS_EIO, err, errlen, "%s: read error", path);
    else if (n > STS_CONFIG_FILE_MAX)
        st = sts_status_set(STS_ETOOBIG, err, errlen, "%s: larger than %d bytes", path,
                            STS_CONFIG_FILE_MAX);
    fclose(fp);
    if (st == STS_OK)
        st = sts_config_parse(buf, n, path, out, err, errlen);
    free(buf);
    return st;
}

const struct sts_config *sts_config_ref(const struct sts_config *cfg)
{
    if (cfg != NULL)
        atomic_fetch_add_explicit(&BOX(cfg)->refs, 1, memory_order_relaxed);
    return cfg;
}

void sts_config_unref(const struct sts_config *cfg)
{
    if (cfg == NULL)
        return;
    struct config_box *box = BOX(cfg);
    if (atomic_fetch_sub_explicit(&box->refs, 1, memory_order_acq_rel) == 1)
        config_destroy(&box->cfg);
}

void sts_config_free(struct sts_config *cfg)
{
    sts_config_unref(cfg);
}

void sts_config_dump(const struct sts_config *cfg, FILE *fp)
{
    for (size_t i = 0; i < sts_config_nkeys; i++) {
        size_t need = format_value(cfg, &sts_config_keys[i], NULL, 0);
        char *buf = malloc(need + 1);
        if (buf == NULL) {
            fprintf(fp, "# %s: out of memory\n", sts_config_keys[i].name);
            continue;
        }
        format_value(cfg, &sts_config_keys[i], buf, need + 1);
        fprintf(fp, "%s%s%s\n", sts_config_keys[i].name, need ? " " : "", buf);
        free(buf);
    }
}

enum sts_status sts_config_format(const struct sts_config *cfg, const char *name, char *buf,
                                  size_t buflen)
{
    const struct sts_config_key *k = sts_config_key_find(name);
    if (k == NULL)
        return sts_status_set(STS_ENOTFOUND, buf, buflen, "%s", "");
    return format_value(cfg, k, buf, buflen) < buflen ? STS_OK : STS_ETOOBIG;
}

size_t sts_config_restart_keys(const struct sts_config *oldcfg, const struct sts_config *newcfg,
                               char *out, size_t outlen)
{
    size_t count = 0, used = 0;
    if (out == NULL)
        outlen = 0;
    if (outlen > 0)
        out[0] = '\0';
    for (size_t i = 0; i < sts_config_nkeys; i++) {
        if (sts_config_keys[i].reloadable)
            continue;
        size_t la = format_value(oldcfg, &sts_config_keys[i], NULL, 0);
        size_t lb = format_value(newcfg, &sts_config_keys[i], NULL, 0);
        char *a = malloc(la + 1), *b = malloc(lb + 1);
        bool differ = true; /* out of memory: say so rather than hide a change */
        if (a != NULL && b != NULL) {
            format_value(oldcfg, &sts_config_keys[i], a, la + 1);
            format_value(newcfg, &sts_config_keys[i], b, lb + 1);
            differ = strcmp(a, b) != 0;
        }
        free(a);
        free(b);
        if (!differ)
            continue;
        if (used < outlen) { /* whole names only */
            int n = snprintf(out + used, outlen - used, "%s%s", count ? ", " : "",
                             sts_config_keys[i].name);
            if (n > 0 && used + (size_t)n < outlen) {
                used += (size_t)n;
            } else {
                out[used] = '\0';
                used = outlen;
            }
        }
        count++;
    }
    return count;
}
