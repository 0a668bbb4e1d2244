/*
 * tlsrpt_report.c - RFC 8460 §4 report JSON, report-id and file name.
 * See tlsrpt_report.h for the layout, the caps and ownership.
 */
#include "mtasts/tlsrpt_report.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/domain.h"

static const char *const policy_type_names[] = {"sts", "tlsa", "no-policy-found"};

static const char *const result_names[STS_TLSRPT_RESULT_COUNT] = {
    "starttls-not-supported", "certificate-host-mismatch",
    "certificate-expired",    "certificate-not-trusted",
    "validation-failure",     "tlsa-invalid",
    "dnssec-invalid",         "dane-required",
    "sts-policy-fetch-error", "sts-policy-invalid",
    "sts-webpki-invalid",
};

const char *sts_tlsrpt_policy_type_name(enum sts_tlsrpt_policy_type t)
{
    if ((unsigned)t >= sizeof(policy_type_names) / sizeof(policy_type_names[0]))
        return "unknown";
    return policy_type_names[t];
}

const char *sts_tlsrpt_result_name(enum sts_tlsrpt_result r)
{
    if ((unsigned)r >= STS_TLSRPT_RESULT_COUNT)
        return "unknown";
    return result_names[r];
}

bool sts_tlsrpt_result_parse(const char *word, enum sts_tlsrpt_result *out)
{
    if (word == NULL)
        return false;
    for (unsigned i = 0; i < STS_TLSRPT_RESULT_COUNT; i++)
        if (strcmp(word, result_names[i]) == 0) {
            *out = (enum sts_tlsrpt_result)i;
            return true;
        }
    return false;
}

/* ---- small validators ---------------------------------------------- */

/* Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
 * U+10FFFF); NUL cannot occur in a C string. */
static bool utf8_valid(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != '\0') {
        unsigned c = *p, n, cp;
        if (c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        for (unsigned i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

static bool is_atext(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* Lower-case copy of an LDH name (one trailing dot dropped) into out. */
static enum sts_status host_copy(const char *in, char *out, size_t outlen, const char *what,
                                 char *err, size_t errlen)
{
    char why[128];
    size_t len = strlen(in);
    if (len > 0 && in[len - 1] == '.')
        len--;
    if (sts_domain_check_ldh(in, len, why, sizeof(why)) != STS_OK)
        return sts_status_set(STS_EINVAL, err, errlen, "%s: %s", what, why);
    if (len + 1 > outlen)
        return sts_status_set(STS_EINVAL, err, errlen, "%s: too long", what);
    for (size_t i = 0; i < len; i++)
        out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] - 'A' + 'a') : in[i];
    out[len] = '\0';
    return STS_OK;
}

enum sts_status sts_tlsrpt_addr_check(const char *addr, char *domain, size_t domainlen, char *err,
                                      size_t errlen)
{
    const char *at, *p;
    char dom[STS_DOMAIN_MAX + 1];

    if (addr == NULL || *addr == '\0')
        return sts_status_set(STS_EINVAL, err, errlen, "empty address");
    if (strlen(addr) > 254 + 64)
        return sts_status_set(STS_EINVAL, err, errlen, "address too long");
    at = strrchr(addr, '@');
    if (at == NULL || at == addr)
        return sts_status_set(STS_EINVAL, err, errlen, "address without local part and '@'");
    if (addr[0] == '"') { /* quoted-string: qtext and quoted-pairs, no CR/LF */
        for (p = addr + 1; p < at - 1; p++) {
            unsigned char c = (unsigned char)*p;
            if (c == '\\' && p + 1 < at - 1 && p[1] >= 0x20 && p[1] <= 0x7e) {
                p++;
                continue;
            }
            if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
                return sts_status_set(STS_EINVAL, err, errlen, "bad quoted local part");
        }
        if (at - addr < 2 || at[-1] != '"' || p != at - 1)
            return sts_status_set(STS_EINVAL, err, errlen, "bad quoted local part");
    } else { /* dot-atom */
        for (p = addr; p < at; p++) {
            if (*p == '.') {
                if (p == addr || p + 1 == at || p[1] == '.')
                    return sts_status_set(STS_EINVAL, err, errlen, "bad dots in local part");
            } else if (!is_atext((unsigned char)*p)) {
                return sts_status_set(STS_EINVAL, err, errlen,
                                      "invalid character 0x%02x in local part", (unsigned char)*p);
            }
        }
    }
    if (at - addr > 64)
        return sts_status_set(STS_EINVAL, err, errlen, "local part longer than 64 octets");
    if (host_copy(at + 1, dom, sizeof(dom), "address domain", err, errlen) != STS_OK)
        return STS_EINVAL;
    if (at[1] == '\0' || at[strlen(at) - 1] == '.')
        return sts_status_set(STS_EINVAL, err, errlen, "address domain: trailing dot");
    if (domain != NULL) {
        if (strlen(dom) + 1 > domainlen)
            return sts_status_set(STS_EINVAL, err, errlen, "address domain too long");
        memcpy(domain, dom, strlen(dom) + 1);
    }
    return STS_OK;
}

/* ---- days ------------------------------------------------------------ */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's
 * days_from_civil, written from its description). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned mp = m > 2 ? m - 3 : m + 9; /* months from March */
    unsigned doy = (153 * mp + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static unsigned days_in_month(unsigned y, unsigned m)
{
    static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

enum sts_status sts_tlsrpt_day_parse(const char *day, int64_t *begin, char *err, size_t errlen)
{
    unsigned y = 0, m = 0, d = 0;
    if (day == NULL || strlen(day) != STS_TLSRPT_DAY_LEN || day[4] != '-' || day[7] != '-')
        return sts_status_set(STS_EINVAL, err, errlen, "day: want YYYY-MM-DD");
    for (int i = 0; i < STS_TLSRPT_DAY_LEN; i++) {
        if (i == 4 || i == 7)
            continue;
        if (day[i] < '0' || day[i] > '9')
            return sts_status_set(STS_EINVAL, err, errlen, "day: want YYYY-MM-DD");
        unsigned v = (unsigned)(day[i] - '0');
        if (i < 4)
            y = y * 10 + v;
        else if (i < 7)
            m = m * 10 + v;
        else
            d = d * 10 + v;
    }
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return sts_status_set(STS_EINVAL, err, errlen, "day: %s is not a date from 1970 on", day);
    if (begin != NULL)
        *begin = days_from_civil(y, m, d) * 86400;
    return STS_OK;
}

enum sts_status sts_tlsrpt_day_of(int64_t t, char out[STS_TLSRPT_DAY_LEN + 1])
{
    /* civil_from_days, the inverse of the above */
    if (t < 0 || t >= days_from_civil(10000, 1, 1) * 86400)
        return STS_EINVAL;
    int64_t z = t / 86400 + 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
    /* y <= 9999, m <= 12, d <= 31: exactly ten characters */
    snprintf(out, STS_TLSRPT_DAY_LEN + 1, "%04u-%02u-%02u", (unsigned)y % 10000, m % 100, d % 100);
    return STS_OK;
}

/* ---- building -------------------------------------------------------- */

struct build {
    const struct sts_tlsrpt_report *r;
    size_t row_budget; /* failure rows still allowed */
    size_t rows_out, fields_omitted;
    char *err;
    size_t errlen;
};

/* json-c object helpers: a failed allocation leaves a NULL, which
 * json_object_object_add() would store as null; check every one. */
static bool put(json_object *o, const char *key, json_object *v)
{
    if (v == NULL)
        return false;
    if (json_object_object_add(o, key, v) != 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

static bool put_str(json_object *o, const char *key, const char *s)
{
    return put(o, key, json_object_new_string(s));
}

static bool append(json_object *a, json_object *v)
{
    if (v == NULL)
        return false;
    if (json_object_array_add(a, v) != 0) {
        json_object_put(v);
        return false;
    }
    return true;
}

/* An IPv4 or IPv6 literal, rewritten in its canonical text form (RFC 5952
 * for IPv6: lower case, zeros compressed) into out. */
static bool ip_literal(const char *s, char *out, size_t outlen)
{
    unsigned char buf[16];
    if (inet_pton(AF_INET, s, buf) == 1)
        return inet_ntop(AF_INET, buf, out, (socklen_t)outlen) != NULL;
    if (inet_pton(AF_INET6, s, buf) == 1)
        return inet_ntop(AF_INET6, buf, out, (socklen_t)outlen) != NULL;
    return false;
}

static bool known(const char *s)
{
    return s != NULL && *s != '\0';
}

enum field_kind { FIELD_IP, FIELD_HOST, FIELD_TEXT };

/* Add one optional failure-detail field: unknown is skipped, unusable is
 * skipped and counted.  False only on allocation failure. */
static bool put_field(struct build *b, json_object *o, const char *key, const char *v,
                      enum field_kind kind)
{
    char host[STS_DOMAIN_MAX + 1], ip[INET6_ADDRSTRLEN];
    if (!known(v))
        return true;
    switch (kind) {
    case FIELD_IP:
        if (!ip_literal(v, ip, sizeof(ip))) {
            b->fields_omitted++;
            return true;
        }
        return put_str(o, key, ip);
    case FIELD_HOST:
        if (host_copy(v, host, sizeof(host), key, NULL, 0) != STS_OK) {
            b->fields_omitted++;
            return true;
        }
        return put_str(o, key, host);
    case FIELD_TEXT:
        break;
    }
    if (strlen(v) > STS_TLSRPT_TEXT_MAX || !utf8_valid(v)) {
        b->fields_omitted++;
        return true;
    }
    return put_str(o, key, v);
}

static bool put_count(json_object *o, const char *key, uint64_t n)
{
    return put(o, key, json_object_new_int64((int64_t)n));
}

static json_object *failure_json(struct build *b, const struct sts_tlsrpt_failure *f)
{
    json_object *o = json_object_new_object();
    if (o == NULL)
        return NULL;
    if (!put_str(o, "result-type", sts_tlsrpt_result_name(f->result)) ||
        !put_field(b, o, "sending-mta-ip", f->sending_mta_ip, FIELD_IP) ||
        !put_field(b, o, "receiving-mx-hostname", f->receiving_mx_hostname, FIELD_HOST) ||
        !put_field(b, o, "receiving-mx-helo", f->receiving_mx_helo, FIELD_TEXT) ||
        !put_field(b, o, "receiving-ip", f->receiving_ip, FIELD_IP) ||
        !put_count(o, "failed-session-count", f->failed_session_count) ||
        !put_field(b, o, "additional-information", f->additional_information, FIELD_TEXT) ||
        !put_field(b, o, "failure-reason-code", f->failure_reason_code, FIELD_TEXT)) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

static json_object *string_array(const char *const *v, size_t n)
{
    json_object *a = json_object_new_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        if (!append(a, json_object_new_string(v[i]))) {
            json_object_put(a);
            return NULL;
        }
    return a;
}

static json_object *policy_json(struct build *b, const struct sts_tlsrpt_policy *p,
                                const char *domain)
{
    json_object *o = json_object_new_object(), *pol = json_object_new_object(), *sum = NULL;
    json_object *rows = NULL;
    if (o == NULL || pol == NULL)
        goto fail;
    if (!put_str(pol, "policy-type", sts_tlsrpt_policy_type_name(p->type)) ||
        !put(pol, "policy-string", string_array(p->strings, p->nstrings)) ||
        !put_str(pol, "policy-domain", domain))
        goto fail;
    if (p->type == STS_TLSRPT_POLICY_STS &&
        !put(pol, "mx-host", string_array(p->mx_hosts, p->nmx_hosts)))
        goto fail;
    if (!put(o, "policy", pol)) {
        pol = NULL; /* put() released it */
        goto fail;
    }
    pol = NULL;
    sum = json_object_new_object();
    if (!put(o, "summary", sum))
        goto fail;
    if (!put_count(sum, "total-successful-session-count", p->success_count) ||
        !put_count(sum, "total-failure-session-count", p->failure_count))
        goto fail;
    rows = json_object_new_array();
    if (!put(o, "failure-details", rows))
        goto fail;
    for (size_t i = 0; i < p->nfailures && b->row_budget > 0; i++) {
        if (p->failures[i].failed_session_count == 0)
            continue;
        if (!append(rows, failure_json(b, &p->failures[i])))
            goto fail;
        b->row_budget--;
        b->rows_out++;
    }
    return o;
fail:
    json_object_put(pol);
    json_object_put(o);
    return NULL;
}

/* Everything the JSON needs that does not depend on the row budget. */
struct checked {
    char submitter[STS_DOMAIN_MAX + 1];
    char domain[STS_DOMAIN_MAX + 1];
    char (*pdomains)[STS_DOMAIN_MAX + 1]; /* one per policy */
    int64_t begin;
    size_t rows_in;
};

static enum sts_status check_strings(const char *const *v, size_t n, const char *what, size_t pi,
                                     bool ascii_token, char *err, size_t errlen)
{
    if (n > 0 && v == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "policy %zu: %s missing", pi, what);
    for (size_t i = 0; i < n; i++) {
        if (v[i] == NULL || strlen(v[i]) > STS_TLSRPT_STRING_MAX || !utf8_valid(v[i]))
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "policy %zu: %s %zu missing, too long or not UTF-8", pi, what, i);
        if (ascii_token && v[i][0] == '\0')
            return sts_status_set(STS_EINVAL, err, errlen, "policy %zu: %s %zu is empty", pi, what,
                                  i);
        for (const unsigned char *c = (const unsigned char *)v[i]; ascii_token && *c != '\0'; c++)
            if (*c <= 0x20 || *c >= 0x7f)
                return sts_status_set(STS_EINVAL, err, errlen,
                                      "policy %zu: %s %zu is not an A-label pattern", pi, what, i);
    }
    return STS_OK;
}

static enum sts_status check_policy(const struct sts_tlsrpt_policy *p, size_t pi, char *pdomain,
                                    size_t *rows, char *err, size_t errlen)
{
    char what[64];
    uint64_t sum = 0;
    enum sts_status st;

    if ((unsigned)p->type > STS_TLSRPT_POLICY_NO_POLICY)
        return sts_status_set(STS_EINVAL, err, errlen, "policy %zu: bad policy-type", pi);
    snprintf(what, sizeof(what), "policy %zu: policy-domain", pi);
    if (!known(p->domain))
        return sts_status_set(STS_EINVAL, err, errlen, "%s missing", what);
    if (host_copy(p->domain, pdomain, STS_DOMAIN_MAX + 1, what, err, errlen) != STS_OK)
        return STS_EINVAL;
    st = check_strings(p->strings, p->nstrings, "policy-string", pi, false, err, errlen);
    if (st != STS_OK)
        return st;
    if (p->type != STS_TLSRPT_POLICY_STS && p->nmx_hosts > 0)
        return sts_status_set(STS_EINVAL, err, errlen,
                              "policy %zu: mx-host is for sts policies only", pi);
    st = check_strings(p->mx_hosts, p->nmx_hosts, "mx-host", pi, true, err, errlen);
    if (st != STS_OK)
        return st;
    if (p->success_count > INT64_MAX || p->failure_count > INT64_MAX)
        return sts_status_set(STS_EINVAL, err, errlen, "policy %zu: count out of range", pi);
    if (p->nfailures > 0 && p->failures == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "policy %zu: failure rows missing", pi);
    for (size_t i = 0; i < p->nfailures; i++) {
        const struct sts_tlsrpt_failure *f = &p->failures[i];
        if ((unsigned)f->result >= STS_TLSRPT_RESULT_COUNT)
            return sts_status_set(STS_EINVAL, err, errlen, "policy %zu row %zu: bad result-type",
                                  pi, i);
        if (f->failed_session_count == 0)
            continue;
        if (f->failed_session_count > p->failure_count - sum)
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "policy %zu: failure rows count more sessions than "
                                  "total-failure-session-count %" PRIu64,
                                  pi, p->failure_count);
        sum += f->failed_session_count;
        (*rows)++;
    }
    return STS_OK;
}

static enum sts_status check_report(const struct sts_tlsrpt_report *r, struct checked *c, char *err,
                                    size_t errlen)
{
    enum sts_status st;
    if (r == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "no report");
    if (!known(r->organization_name) || strlen(r->organization_name) > STS_TLSRPT_STRING_MAX ||
        !utf8_valid(r->organization_name))
        return sts_status_set(STS_EINVAL, err, errlen,
                              "organization-name missing, too long or not UTF-8");
    if (!known(r->contact_info))
        return sts_status_set(STS_EINVAL, err, errlen, "contact-info missing");
    if (sts_tlsrpt_addr_check(r->contact_info, c->submitter, sizeof(c->submitter), err, errlen) !=
        STS_OK)
        return STS_EINVAL;
    st = sts_tlsrpt_day_parse(r->day, &c->begin, err, errlen);
    if (st != STS_OK)
        return st;
    if (!known(r->policy_domain))
        return sts_status_set(STS_EINVAL, err, errlen, "policy domain missing");
    if (host_copy(r->policy_domain, c->domain, sizeof(c->domain), "policy domain", err, errlen) !=
        STS_OK)
        return STS_EINVAL;
    if (r->npolicies == 0 || r->policies == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "a report needs at least one policy");
    c->pdomains = calloc(r->npolicies, sizeof(*c->pdomains));
    if (c->pdomains == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    for (size_t i = 0; i < r->npolicies; i++) {
        st = check_policy(&r->policies[i], i, c->pdomains[i], &c->rows_in, err, errlen);
        if (st != STS_OK)
            return st;
    }
    return STS_OK;
}

static json_object *report_json(struct build *b, const struct checked *c, const char *report_id)
{
    const struct sts_tlsrpt_report *r = b->r;
    char start[32], end[32];
    json_object *o = json_object_new_object(), *range = NULL, *pols = NULL;

    if (o == NULL)
        return NULL;
    snprintf(start, sizeof(start), "%sT00:00:00Z", r->day);
    snprintf(end, sizeof(end), "%sT23:59:59Z", r->day);
    range = json_object_new_object();
    pols = json_object_new_array();
    if (!put_str(o, "organization-name", r->organization_name) || !put(o, "date-range", range)) {
        json_object_put(pols);
        goto fail;
    }
    if (!put_str(range, "start-datetime", start) || !put_str(range, "end-datetime", end) ||
        !put_str(o, "contact-info", r->contact_info) || !put_str(o, "report-id", report_id) ||
        !put(o, "policies", pols))
        goto fail;
    for (size_t i = 0; i < r->npolicies; i++)
        if (!append(pols, policy_json(b, &r->policies[i], c->pdomains[i])))
            goto fail;
    return o;
fail:
    json_object_put(o);
    return NULL;
}

enum sts_status sts_tlsrpt_report_build(const struct sts_tlsrpt_report *r,
                                        const struct sts_tlsrpt_limits *limits,
                                        struct sts_tlsrpt_built *out, char *err, size_t errlen)
{
    struct checked c;
    struct build b;
    size_t max_rows = STS_TLSRPT_MAX_FAILURE_ROWS, max_bytes = STS_TLSRPT_MAX_JSON_BYTES;
    int flags = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;
    enum sts_status st;

    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    if (limits != NULL) {
        if (limits->max_failure_rows > 0)
            max_rows = limits->max_failure_rows;
        if (limits->max_json_bytes > 0)
            max_bytes = limits->max_json_bytes;
        if (limits->pretty)
            flags =
                JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE;
    }
    st = check_report(r, &c, err, errlen);
    if (st != STS_OK) {
        free(c.pdomains);
        return st;
    }
    out->begin = c.begin;
    out->end = c.begin + 86399;
    snprintf(out->submitter, sizeof(out->submitter), "%s", c.submitter);
    snprintf(out->report_id, sizeof(out->report_id), "%.4s%.2s%.2s.%s.%" PRIu64 "@%s", r->day,
             r->day + 5, r->day + 8, c.domain, r->seq, c.submitter);
    snprintf(out->filename, sizeof(out->filename),
             "%s!%s!%" PRId64 "!%" PRId64 "!%" PRIu64 ".json.gz", c.submitter, c.domain, out->begin,
             out->end, r->seq);
    out->rows_in = c.rows_in;

    /* Build with the row cap; halve the rows while the text is too long. */
    size_t budget = c.rows_in < max_rows ? c.rows_in : max_rows;
    for (;;) {
        memset(&b, 0, sizeof(b));
        b.r = r;
        b.row_budget = budget;
        json_object *o = report_json(&b, &c, out->report_id);
        if (o == NULL) {
            free(c.pdomains);
            return sts_status_set(STS_ENOMEM, err, errlen, "out of memory building the JSON");
        }
        size_t len = 0;
        const char *text = json_object_to_json_string_length(o, flags, &len);
        if (text == NULL) {
            json_object_put(o);
            free(c.pdomains);
            return sts_status_set(STS_ENOMEM, err, errlen, "out of memory writing the JSON");
        }
        if (len <= max_bytes) {
            out->json = malloc(len + 1);
            if (out->json == NULL) {
                json_object_put(o);
                free(c.pdomains);
                return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
            }
            memcpy(out->json, text, len + 1);
            out->json_len = len;
            json_object_put(o);
            break;
        }
        json_object_put(o);
        if (b.rows_out == 0) {
            free(c.pdomains);
            memset(out, 0, sizeof(*out));
            return sts_status_set(STS_ETOOBIG, err, errlen,
                                  "report longer than %zu bytes even without failure rows",
                                  max_bytes);
        }
        budget = b.rows_out / 2;
    }
    free(c.pdomains);
    out->rows_out = b.rows_out;
    out->fields_omitted = b.fields_omitted;
    out->truncated = out->rows_out < out->rows_in;
    return STS_OK;
}

void sts_tlsrpt_built_clear(struct sts_tlsrpt_built *b)
{
    if (b == NULL)
        return;
    free(b->json);
    memset(b, 0, sizeof(*b));
}
