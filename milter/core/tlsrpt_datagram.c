/*
 * tlsrpt_datagram.c - a libtlsrpt datagram (protocol "1") into a struct.
 *
 * The bytes come from whoever can write to the collector's socket: they
 * are length-capped and UTF-8-checked before json-c sees them, json-c
 * runs in strict mode with a small depth limit, and every value is
 * type-, size- and content-checked before it is copied.
 */
#include "mtasts/tlsrpt_datagram.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/addr_guard.h"
#include "mtasts/domain.h"
#include "mtasts/mx_match.h"
#include "mtasts/utf8.h"

/* libtlsrpt failure codes and their RFC 8460 §4.3 result types.  The
 * sts-* and dane/tlsa words are not all in enum sts_tls_result (probe.h),
 * which names what our own probes can find; see the final report of the
 * branch for how the two should meet in the shared vocabulary header. */
static const struct {
    int code;
    const char *word;
} result_types[] = {
    {201, "starttls-not-supported"},
    {202, "certificate-host-mismatch"},
    {203, "certificate-not-trusted"},
    {204, "certificate-expired"},
    {205, "validation-failure"},
    {301, "sts-policy-fetch-error"},
    {302, "sts-policy-invalid"},
    {303, "sts-webpki-invalid"},
    {304, "tlsa-invalid"},
    {305, "dnssec-invalid"},
    {306, "dane-required"},
};

/* Parse state: where we are (for messages) and why we stopped. */
struct ctx {
    enum sts_tlsrpt_dg_reason reason;
    char where[96]; /* key path prefix, "" or "policies[0]." ... */
    char *err;
    size_t errlen;
};

const char *sts_tlsrpt_dg_result_type(int code)
{
    for (size_t i = 0; i < sizeof(result_types) / sizeof(result_types[0]); i++)
        if (result_types[i].code == code)
            return result_types[i].word;
    return NULL;
}

const char *sts_tlsrpt_dg_policy_type_name(enum sts_tlsrpt_dg_policy_type type)
{
    switch (type) {
    case STS_TLSRPT_DG_POLICY_TLSA:
        return "tlsa";
    case STS_TLSRPT_DG_POLICY_STS:
        return "sts";
    case STS_TLSRPT_DG_POLICY_NONE:
        return "no-policy-found";
    }
    return "unknown";
}

const char *sts_tlsrpt_dg_reason_name(enum sts_tlsrpt_dg_reason reason)
{
    static const char *const names[STS_TLSRPT_DG_REASON_COUNT] = {
        [STS_TLSRPT_DG_OK] = "ok",
        [STS_TLSRPT_DG_TOO_BIG] = "too-big",
        [STS_TLSRPT_DG_NOT_UTF8] = "not-utf8",
        [STS_TLSRPT_DG_BAD_JSON] = "bad-json",
        [STS_TLSRPT_DG_TRUNCATED] = "truncated",
        [STS_TLSRPT_DG_TRAILING_DATA] = "trailing-data",
        [STS_TLSRPT_DG_BAD_VERSION] = "bad-version",
        [STS_TLSRPT_DG_MISSING_KEY] = "missing-key",
        [STS_TLSRPT_DG_WRONG_TYPE] = "wrong-type",
        [STS_TLSRPT_DG_BAD_VALUE] = "bad-value",
        [STS_TLSRPT_DG_UNKNOWN_CODE] = "unknown-failure-code",
        [STS_TLSRPT_DG_COUNT_MISMATCH] = "count-mismatch",
        [STS_TLSRPT_DG_LONG_STRING] = "string-too-long",
        [STS_TLSRPT_DG_TOO_MANY] = "too-many",
        [STS_TLSRPT_DG_NO_MEMORY] = "no-memory",
    };
    if ((unsigned)reason < STS_TLSRPT_DG_REASON_COUNT)
        return names[reason];
    return "unknown";
}

static enum sts_status status_of(enum sts_tlsrpt_dg_reason r)
{
    switch (r) {
    case STS_TLSRPT_DG_OK:
        return STS_OK;
    case STS_TLSRPT_DG_TOO_BIG:
    case STS_TLSRPT_DG_LONG_STRING:
    case STS_TLSRPT_DG_TOO_MANY:
        return STS_ETOOBIG;
    case STS_TLSRPT_DG_NO_MEMORY:
        return STS_ENOMEM;
    default:
        return STS_EINVAL;
    }
}

/* Record the reason and write "WHERE KEY: message" into err. */
__attribute__((format(printf, 4, 5))) static enum sts_status
fail(struct ctx *c, enum sts_tlsrpt_dg_reason r, const char *key, const char *fmt, ...)
{
    char msg[192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->reason = r;
    if (key == NULL)
        return sts_status_set(status_of(r), c->err, c->errlen, "%s", msg);
    if (key[0] == '\0') /* the element itself: "policies[0]" */
        return sts_status_set(status_of(r), c->err, c->errlen, "%.*s: %s",
                              (int)(strlen(c->where) > 0 ? strlen(c->where) - 1 : 0), c->where,
                              msg);
    return sts_status_set(status_of(r), c->err, c->errlen, "%s%s: %s", c->where, key, msg);
}

static bool hex4(const char *p, size_t n, size_t at, unsigned *v)
{
    *v = 0;
    if (at + 4 > n)
        return false;
    for (size_t k = at; k < at + 4; k++) {
        char c = p[k];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            d = (unsigned)(c - 'A' + 10);
        else
            return false;
        *v = *v * 16 + d;
    }
    return true;
}

/*
 * RFC 8259 §8.2: a \u escape of a surrogate must be a high one followed
 * by a low one.  json-c turns unpaired ones into U+FFFD; we refuse them.
 * Malformed escapes are left for json-c to report.
 */
static bool surrogates_paired(const char *p, size_t n, size_t *bad)
{
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        if (!in_string || p[i] == '"') {
            in_string = in_string ? false : p[i] == '"';
            continue;
        }
        if (p[i] != '\\')
            continue;
        if (++i >= n || p[i] != 'u')
            continue;
        unsigned v, w;
        if (!hex4(p, n, i + 1, &v))
            continue;
        size_t at = i - 1;
        i += 4;
        if (v >= 0xdc00 && v <= 0xdfff)
            goto unpaired;
        if (v < 0xd800 || v > 0xdbff)
            continue;
        if (i + 2 < n && p[i + 1] == '\\' && p[i + 2] == 'u' && hex4(p, n, i + 3, &w) &&
            w >= 0xdc00 && w <= 0xdfff) {
            i += 6;
            continue;
        }
    unpaired:
        *bad = at;
        return false;
    }
    return true;
}

static bool text_byte_ok(unsigned char c, bool multiline)
{
    if (c >= 0x20 && c != 0x7f)
        return true;
    return multiline && (c == '\r' || c == '\n' || c == '\t');
}

/*
 * Fetch a string member.  *s stays NULL when the key is absent (an error
 * if required).  The value must be UTF-8 without NUL (json-c decodes
 * \u escapes, so this is checked again here), at most cap bytes, and
 * free of control bytes (CR, LF and TAB allowed when multiline).
 */
static enum sts_status get_string(struct ctx *c, json_object *obj, const char *key, bool required,
                                  size_t cap, bool multiline, const char **s, size_t *n)
{
    json_object *v;
    *s = NULL;
    *n = 0;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL) {
        if (required)
            return fail(c, STS_TLSRPT_DG_MISSING_KEY, key, "missing");
        return STS_OK;
    }
    if (!json_object_is_type(v, json_type_string))
        return fail(c, STS_TLSRPT_DG_WRONG_TYPE, key, "want a string, got %s",
                    json_type_to_name(json_object_get_type(v)));
    const char *p = json_object_get_string(v);
    size_t len = (size_t)json_object_get_string_len(v);
    size_t bad = 0;
    if (len > cap)
        return fail(c, STS_TLSRPT_DG_LONG_STRING, key, "%zu bytes (at most %zu)", len, cap);
    if (!sts_utf8_valid(p, len, &bad))
        return fail(c, STS_TLSRPT_DG_NOT_UTF8, key, "invalid UTF-8 or NUL at byte %zu", bad);
    for (size_t i = 0; i < len; i++)
        if (!text_byte_ok((unsigned char)p[i], multiline))
            return fail(c, STS_TLSRPT_DG_BAD_VALUE, key, "control byte 0x%02x at byte %zu",
                        (unsigned char)p[i], i);
    *s = p;
    *n = len;
    return STS_OK;
}

/* Fetch an int member (required).  Floats, booleans and strings are refused. */
static enum sts_status get_int(struct ctx *c, json_object *obj, const char *key, int64_t *out)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
        return fail(c, STS_TLSRPT_DG_MISSING_KEY, key, "missing");
    if (!json_object_is_type(v, json_type_int))
        return fail(c, STS_TLSRPT_DG_WRONG_TYPE, key, "want an integer, got %s",
                    json_type_to_name(json_object_get_type(v)));
    *out = json_object_get_int64(v);
    return STS_OK;
}

static enum sts_status copy(struct ctx *c, const char *s, size_t n, char **out)
{
    *out = malloc(n + 1);
    if (*out == NULL)
        return fail(c, STS_TLSRPT_DG_NO_MEMORY, NULL, "out of memory");
    memcpy(*out, s, n);
    (*out)[n] = '\0';
    return STS_OK;
}

/* A domain name member, normalised (domain.h); optionally an IP address. */
static enum sts_status get_name(struct ctx *c, json_object *obj, const char *key, bool required,
                                bool ip_ok, char **out)
{
    const char *s;
    size_t n;
    *out = NULL;
    enum sts_status st =
        get_string(c, obj, key, required, STS_TLSRPT_DG_NAME_INPUT_MAX, false, &s, &n);
    if (st != STS_OK || s == NULL)
        return st;
    if (n == 0 && !required)
        return STS_OK;
    if (ip_ok && sts_addr_guard_classify(s) != STS_ADDR_INVALID)
        return copy(c, s, n, out);
    char norm[STS_DOMAIN_MAX + 1], why[128];
    if (sts_domain_normalize(s, norm, sizeof(norm), why, sizeof(why)) != STS_OK)
        return fail(c, STS_TLSRPT_DG_BAD_VALUE, key, "invalid name: %s", why);
    return copy(c, norm, strlen(norm), out);
}

/* An optional IP address member of a detail ("" counts as absent). */
static enum sts_status get_ip(struct ctx *c, json_object *obj, const char *key, char **out)
{
    const char *s;
    size_t n;
    *out = NULL;
    enum sts_status st = get_string(c, obj, key, false, STS_TLSRPT_DG_IP_MAX, false, &s, &n);
    if (st != STS_OK || s == NULL || n == 0)
        return st;
    if (sts_addr_guard_classify(s) == STS_ADDR_INVALID)
        return fail(c, STS_TLSRPT_DG_BAD_VALUE, key, "not an IP address");
    return copy(c, s, n, out);
}

/* An optional free-text member of a detail ("" counts as absent). */
static enum sts_status get_text(struct ctx *c, json_object *obj, const char *key, char **out)
{
    const char *s;
    size_t n;
    *out = NULL;
    enum sts_status st = get_string(c, obj, key, false, STS_TLSRPT_DG_TEXT_MAX, true, &s, &n);
    if (st != STS_OK || s == NULL || n == 0)
        return st;
    return copy(c, s, n, out);
}

/* An optional array member; *arr NULL when absent. */
static enum sts_status get_array(struct ctx *c, json_object *obj, const char *key, size_t cap,
                                 json_object **arr, size_t *count)
{
    json_object *v;
    *arr = NULL;
    *count = 0;
    if (!json_object_object_get_ex(obj, key, &v) || v == NULL)
        return STS_OK;
    if (!json_object_is_type(v, json_type_array))
        return fail(c, STS_TLSRPT_DG_WRONG_TYPE, key, "want an array, got %s",
                    json_type_to_name(json_object_get_type(v)));
    size_t n = json_object_array_length(v);
    if (n > cap)
        return fail(c, STS_TLSRPT_DG_TOO_MANY, key, "%zu entries (at most %zu)", n, cap);
    *arr = v;
    *count = n;
    return STS_OK;
}

/* "policy-string" or "mx-host": an array of strings. */
static enum sts_status get_strings(struct ctx *c, json_object *obj, const char *key, bool patterns,
                                   char ***out, size_t *count)
{
    json_object *arr;
    size_t n;
    enum sts_status st = get_array(c, obj, key, STS_TLSRPT_DG_STRINGS_MAX, &arr, &n);
    if (st != STS_OK || n == 0)
        return st;
    *out = calloc(n, sizeof(**out));
    if (*out == NULL)
        return fail(c, STS_TLSRPT_DG_NO_MEMORY, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        /* Wrap the element so get_string() can name it "key[i]". */
        char item[40];
        snprintf(item, sizeof(item), "%s[%zu]", key, i);
        json_object *holder = json_object_new_object();
        if (holder == NULL)
            return fail(c, STS_TLSRPT_DG_NO_MEMORY, NULL, "out of memory");
        json_object_object_add(holder, item, json_object_get(json_object_array_get_idx(arr, i)));
        const char *s;
        size_t len;
        st = get_string(c, holder, item, true, STS_TLSRPT_DG_STRING_MAX, false, &s, &len);
        if (st == STS_OK && patterns) {
            char norm[STS_DOMAIN_MAX + 3], why[128];
            if (sts_mx_match_normalize_pattern(s, norm, sizeof(norm), why, sizeof(why)) != STS_OK)
                st = fail(c, STS_TLSRPT_DG_BAD_VALUE, item, "invalid mx pattern: %s", why);
            else
                st = copy(c, norm, strlen(norm), &(*out)[i]);
        } else if (st == STS_OK) {
            st = copy(c, s, len, &(*out)[i]);
        }
        json_object_put(holder);
        if (st != STS_OK)
            return st;
        (*count)++;
    }
    return STS_OK;
}

static enum sts_status parse_failure(struct ctx *c, json_object *obj,
                                     struct sts_tlsrpt_dg_failure *f)
{
    if (!json_object_is_type(obj, json_type_object))
        return fail(c, STS_TLSRPT_DG_WRONG_TYPE, "", "want an object");
    int64_t code;
    enum sts_status st = get_int(c, obj, "c", &code);
    if (st != STS_OK)
        return st;
    f->result_type = code >= 0 && code <= 999 ? sts_tlsrpt_dg_result_type((int)code) : NULL;
    if (f->result_type == NULL)
        return fail(c, STS_TLSRPT_DG_UNKNOWN_CODE, "c", "%lld is not a known failure code",
                    (long long)code);
    f->code = (int)code;
    if ((st = get_ip(c, obj, "s", &f->sending_ip)) != STS_OK ||
        (st = get_name(c, obj, "n", false, true, &f->mx_hostname)) != STS_OK ||
        (st = get_text(c, obj, "h", &f->mx_helo)) != STS_OK ||
        (st = get_ip(c, obj, "r", &f->receiving_ip)) != STS_OK ||
        (st = get_text(c, obj, "a", &f->additional_info)) != STS_OK ||
        (st = get_text(c, obj, "f", &f->failure_reason)) != STS_OK)
        return st;
    return STS_OK;
}

static enum sts_status parse_policy(struct ctx *c, json_object *obj, size_t index,
                                    struct sts_tlsrpt_dg_policy *p)
{
    snprintf(c->where, sizeof(c->where), "policies[%zu].", index);
    if (!json_object_is_type(obj, json_type_object))
        return fail(c, STS_TLSRPT_DG_WRONG_TYPE, "", "want an object");

    int64_t type, t, f;
    enum sts_status st = get_int(c, obj, "policy-type", &type);
    if (st != STS_OK)
        return st;
    if (type != STS_TLSRPT_DG_POLICY_TLSA && type != STS_TLSRPT_DG_POLICY_STS &&
        type != STS_TLSRPT_DG_POLICY_NONE)
        return fail(c, STS_TLSRPT_DG_BAD_VALUE, "policy-type", "%lld is not 1, 2 or 9",
                    (long long)type);
    p->type = (enum sts_tlsrpt_dg_policy_type)type;
    if ((st = get_int(c, obj, "t", &t)) != STS_OK || (st = get_int(c, obj, "f", &f)) != STS_OK)
        return st;
    if (f != 0 && f != 1)
        return fail(c, STS_TLSRPT_DG_BAD_VALUE, "f", "%lld is not 0 or 1", (long long)f);
    p->failed = f == 1;

    if ((st = get_name(c, obj, "policy-domain", false, false, &p->domain)) != STS_OK ||
        (st = get_strings(c, obj, "policy-string", false, &p->strings, &p->string_count)) !=
            STS_OK ||
        (st = get_strings(c, obj, "mx-host", true, &p->mx_hosts, &p->mx_host_count)) != STS_OK)
        return st;

    json_object *arr;
    size_t n;
    if ((st = get_array(c, obj, "failure-details", STS_TLSRPT_DG_DETAILS_MAX, &arr, &n)) != STS_OK)
        return st;
    if (t < 0 || (uint64_t)t != n)
        return fail(c, STS_TLSRPT_DG_COUNT_MISMATCH, "t", "%lld, but %zu failure details",
                    (long long)t, n);
    if (n == 0)
        return STS_OK;
    p->failures = calloc(n, sizeof(*p->failures));
    if (p->failures == NULL)
        return fail(c, STS_TLSRPT_DG_NO_MEMORY, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        snprintf(c->where, sizeof(c->where), "policies[%zu].failure-details[%zu].", index, i);
        p->failure_count = i + 1; /* so that free() sees what was filled */
        st = parse_failure(c, json_object_array_get_idx(arr, i), &p->failures[i]);
        if (st != STS_OK)
            return st;
    }
    return STS_OK;
}

static enum sts_status parse_top(struct ctx *c, json_object *top, struct sts_tlsrpt_datagram *dg)
{
    if (!json_object_is_type(top, json_type_object))
        return fail(c, STS_TLSRPT_DG_WRONG_TYPE, NULL, "the datagram is not a JSON object");

    json_object *v;
    if (!json_object_object_get_ex(top, "dpv", &v) || v == NULL) {
        dg->warnings |= STS_TLSRPT_DG_WARN_NO_DPV;
    } else if (!json_object_is_type(v, json_type_string)) {
        return fail(c, STS_TLSRPT_DG_WRONG_TYPE, "dpv", "want a string, got %s",
                    json_type_to_name(json_object_get_type(v)));
    } else if (strcmp(json_object_get_string(v), "1") != 0 || json_object_get_string_len(v) != 1) {
        char shown[24];
        return fail(c, STS_TLSRPT_DG_BAD_VERSION, "dpv", "version \"%s\" (want \"1\")",
                    sts_status_quote(json_object_get_string(v),
                                     (size_t)json_object_get_string_len(v), shown, sizeof(shown)));
    }

    const char *pr;
    size_t prlen;
    enum sts_status st = get_name(c, top, "d", true, false, &dg->domain);
    if (st != STS_OK)
        return st;
    if ((st = get_string(c, top, "pr", true, STS_TLSRPT_DG_RECORD_MAX, false, &pr, &prlen)) !=
            STS_OK ||
        (st = copy(c, pr, prlen, &dg->record)) != STS_OK)
        return st;

    json_object *arr;
    size_t n;
    if ((st = get_array(c, top, "policies", STS_TLSRPT_DG_POLICIES_MAX, &arr, &n)) != STS_OK)
        return st;
    if (arr == NULL)
        return fail(c, STS_TLSRPT_DG_MISSING_KEY, "policies", "missing");
    if (n == 0)
        return fail(c, STS_TLSRPT_DG_BAD_VALUE, "policies", "empty");
    dg->policies = calloc(n, sizeof(*dg->policies));
    if (dg->policies == NULL)
        return fail(c, STS_TLSRPT_DG_NO_MEMORY, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        dg->policy_count = i + 1;
        st = parse_policy(c, json_object_array_get_idx(arr, i), i, &dg->policies[i]);
        if (st != STS_OK)
            return st;
    }
    return STS_OK;
}

static bool is_json_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Run json-c over the checked bytes: one object, then only white space. */
static enum sts_status tokenize(struct ctx *c, const char *p, size_t len, json_object **out)
{
    *out = NULL;
    struct json_tokener *tok = json_tokener_new_ex(STS_TLSRPT_DG_DEPTH);
    if (tok == NULL)
        return fail(c, STS_TLSRPT_DG_NO_MEMORY, NULL, "out of memory");
#ifdef JSON_TOKENER_ALLOW_TRAILING_CHARS
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
#else
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT); /* trailing bytes: a JSON error */
#endif
    json_object *obj = json_tokener_parse_ex(tok, p, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
#if JSON_C_VERSION_NUM >= ((0 << 16) | (15 << 8))
    size_t used = json_tokener_get_parse_end(tok);
#else
    size_t used = (size_t)tok->char_offset;
#endif
    json_tokener_free(tok);

    if (obj == NULL) {
        if (jerr == json_tokener_continue)
            return fail(c, STS_TLSRPT_DG_TRUNCATED, NULL, "the JSON text ends early");
        if (jerr == json_tokener_error_depth)
            return fail(c, STS_TLSRPT_DG_BAD_JSON, NULL, "JSON nested deeper than %d",
                        STS_TLSRPT_DG_DEPTH);
        return fail(c, STS_TLSRPT_DG_BAD_JSON, NULL, "JSON error at byte %zu: %s", used,
                    json_tokener_error_desc(jerr));
    }
    while (used < len && is_json_ws((unsigned char)p[used]))
        used++;
    if (used < len) {
        json_object_put(obj);
        return fail(c, STS_TLSRPT_DG_TRAILING_DATA, NULL, "data after the JSON object at byte %zu",
                    used);
    }
    *out = obj;
    return STS_OK;
}

static void free_policy(struct sts_tlsrpt_dg_policy *p)
{
    for (size_t i = 0; i < p->string_count; i++)
        free(p->strings[i]);
    free(p->strings);
    for (size_t i = 0; i < p->mx_host_count; i++)
        free(p->mx_hosts[i]);
    free(p->mx_hosts);
    for (size_t i = 0; i < p->failure_count; i++) {
        struct sts_tlsrpt_dg_failure *f = &p->failures[i];
        free(f->sending_ip);
        free(f->mx_hostname);
        free(f->mx_helo);
        free(f->receiving_ip);
        free(f->additional_info);
        free(f->failure_reason);
    }
    free(p->failures);
    free(p->domain);
}

void sts_tlsrpt_datagram_free(struct sts_tlsrpt_datagram *dg)
{
    if (dg == NULL)
        return;
    for (size_t i = 0; i < dg->policy_count; i++)
        free_policy(&dg->policies[i]);
    free(dg->policies);
    free(dg->domain);
    free(dg->record);
    free(dg);
}

enum sts_status sts_tlsrpt_datagram_parse(const void *data, size_t len,
                                          struct sts_tlsrpt_datagram **out,
                                          enum sts_tlsrpt_dg_reason *reason, char *err,
                                          size_t errlen)
{
    struct ctx c = {.reason = STS_TLSRPT_DG_OK, .where = "", .err = err, .errlen = errlen};
    enum sts_status st = STS_OK;
    struct sts_tlsrpt_datagram *dg = NULL;
    json_object *top = NULL;
    size_t bad = 0;

    if (out != NULL)
        *out = NULL;
    if (data == NULL && len > 0)
        st = fail(&c, STS_TLSRPT_DG_BAD_JSON, NULL, "no data");
    else if (len > STS_TLSRPT_DG_MAX)
        st =
            fail(&c, STS_TLSRPT_DG_TOO_BIG, NULL, "%zu bytes (at most %d)", len, STS_TLSRPT_DG_MAX);
    else if (len == 0)
        st = fail(&c, STS_TLSRPT_DG_TRUNCATED, NULL, "empty datagram");
    else if (!sts_utf8_valid(data, len, &bad))
        st = fail(&c, STS_TLSRPT_DG_NOT_UTF8, NULL, "invalid UTF-8 or NUL at byte %zu", bad);
    else if (!surrogates_paired(data, len, &bad))
        st = fail(&c, STS_TLSRPT_DG_NOT_UTF8, NULL, "unpaired surrogate escape at byte %zu", bad);
    else
        st = tokenize(&c, data, len, &top);

    if (st == STS_OK) {
        dg = calloc(1, sizeof(*dg));
        st = dg == NULL ? fail(&c, STS_TLSRPT_DG_NO_MEMORY, NULL, "out of memory")
                        : parse_top(&c, top, dg);
    }
    json_object_put(top);
    if (reason != NULL)
        *reason = c.reason;
    if (st != STS_OK || out == NULL) {
        sts_tlsrpt_datagram_free(dg);
        return st;
    }
    *out = dg;
    return STS_OK;
}
