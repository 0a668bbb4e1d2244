/*
 * tlsrpt_assemble.c - aggregated rows to one RFC 8460 report
 * (tlsrpt_assemble.h).
 */
#include <stdlib.h>
#include <string.h>

#include "mtasts/tlsrpt_assemble.h"

/* One policy being assembled: its rows are pointers into the batch. */
struct asm_policy {
    const struct sts_tlsrpt_row *key; /* any row of the group */
    uint64_t ok, fail, detail_sum;
    const struct sts_tlsrpt_row **details;
    size_t ndetails;
    char **strings, **mx; /* split copies of the '\n'-joined fields */
    size_t nstrings, nmx;
    struct sts_tlsrpt_failure *failures;
};

static int cmp_str(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_policy_key(const struct sts_tlsrpt_row *a, const struct sts_tlsrpt_row *b)
{
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    int c = cmp_str(a->policy_strings, b->policy_strings);
    return c != 0 ? c : cmp_str(a->mx_hosts, b->mx_hosts);
}

static int cmp_detail_fields(const struct sts_tlsrpt_row *a, const struct sts_tlsrpt_row *b)
{
    if (a->result != b->result)
        return a->result < b->result ? -1 : 1;
    const char *fa[] = {a->sending_mta_ip, a->receiving_mx_hostname,  a->receiving_mx_helo,
                        a->receiving_ip,   a->additional_information, a->failure_reason_code};
    const char *fb[] = {b->sending_mta_ip, b->receiving_mx_hostname,  b->receiving_mx_helo,
                        b->receiving_ip,   b->additional_information, b->failure_reason_code};
    for (size_t i = 0; i < sizeof(fa) / sizeof(fa[0]); i++) {
        int c = cmp_str(fa[i], fb[i]);
        if (c != 0)
            return c;
    }
    return 0;
}

static int qsort_policy(const void *pa, const void *pb)
{
    return cmp_policy_key(((const struct asm_policy *)pa)->key,
                          ((const struct asm_policy *)pb)->key);
}

/* Split "a\nb" into a malloc()ed array of copies; "" gives none. */
static bool split_lines(const char *s, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (s == NULL || s[0] == '\0')
        return true;
    size_t lines = 1;
    for (const char *p = s; *p; p++)
        lines += *p == '\n';
    char **v = calloc(lines, sizeof(*v));
    if (v == NULL)
        return false;
    const char *p = s;
    for (size_t i = 0; i < lines; i++) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        v[i] = malloc(len + 1);
        if (v[i] == NULL) {
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return false;
        }
        memcpy(v[i], p, len);
        v[i][len] = '\0';
        p = nl ? nl + 1 : p + len;
    }
    *out = v;
    *n = lines;
    return true;
}

static void free_lines(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void policies_free(struct asm_policy *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].details);
        free_lines(p[i].strings, p[i].nstrings);
        free_lines(p[i].mx, p[i].nmx);
        free(p[i].failures);
    }
    free(p);
}

/* The group of row r, created if new; NULL when out of memory. */
static struct asm_policy *group_of(struct asm_policy *p, size_t *n, const struct sts_tlsrpt_row *r)
{
    for (size_t i = 0; i < *n; i++)
        if (cmp_policy_key(p[i].key, r) == 0)
            return &p[i];
    memset(&p[*n], 0, sizeof(p[*n]));
    p[*n].key = r;
    return &p[(*n)++];
}

/* A detail with the count of all equal rows folded into it. */
struct asm_detail {
    const struct sts_tlsrpt_row *row;
    uint64_t count;
};

static int qsort_by_fields(const void *pa, const void *pb)
{
    return cmp_detail_fields(((const struct asm_detail *)pa)->row,
                             ((const struct asm_detail *)pb)->row);
}

static int qsort_by_count(const void *pa, const void *pb)
{
    const struct asm_detail *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    return cmp_detail_fields(a->row, b->row);
}

/* The failure-details of one group: equal rows folded, largest first. */
static bool group_failures(struct asm_policy *g)
{
    g->detail_sum = 0;
    if (g->ndetails == 0)
        return true;
    struct asm_detail *d = calloc(g->ndetails, sizeof(*d));
    g->failures = calloc(g->ndetails, sizeof(*g->failures));
    if (d == NULL || g->failures == NULL) {
        free(d);
        return false;
    }
    for (size_t i = 0; i < g->ndetails; i++)
        d[i] = (struct asm_detail){g->details[i], g->details[i]->count};
    qsort(d, g->ndetails, sizeof(*d), qsort_by_fields);
    size_t n = 0;
    for (size_t i = 0; i < g->ndetails; i++) {
        if (n > 0 && cmp_detail_fields(d[n - 1].row, d[i].row) == 0)
            d[n - 1].count += d[i].count;
        else
            d[n++] = d[i];
    }
    qsort(d, n, sizeof(*d), qsort_by_count);
    for (size_t i = 0; i < n; i++) {
        const struct sts_tlsrpt_row *r = d[i].row;
        g->failures[i] = (struct sts_tlsrpt_failure){
            .result = r->result,
            .sending_mta_ip = r->sending_mta_ip,
            .receiving_mx_hostname = r->receiving_mx_hostname,
            .receiving_mx_helo = r->receiving_mx_helo,
            .receiving_ip = r->receiving_ip,
            .failed_session_count = d[i].count,
            .additional_information = r->additional_information,
            .failure_reason_code = r->failure_reason_code,
        };
        g->detail_sum += d[i].count;
    }
    g->ndetails = n;
    free(d);
    return true;
}

enum sts_status sts_tlsrpt_assemble(const struct sts_tlsrpt_batch *b, const char *day,
                                    const char *policy_domain,
                                    const struct sts_tlsrpt_submitter *who,
                                    const struct sts_tlsrpt_limits *limits,
                                    struct sts_tlsrpt_built *out, char *err, size_t errlen)
{
    if (b == NULL || day == NULL || policy_domain == NULL || who == NULL || out == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "tlsrpt assemble: missing argument");
    memset(out, 0, sizeof(*out));
    struct asm_policy *p = calloc(b->count ? b->count : 1, sizeof(*p));
    if (p == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "tlsrpt assemble: out of memory");
    size_t np = 0, matched = 0;
    enum sts_status st = STS_OK;

    /* pass 1: groups and their counts; pass 2: the detail pointers */
    for (size_t i = 0; i < b->count; i++) {
        const struct sts_tlsrpt_row *r = &b->rows[i];
        if (strcmp(r->day, day) != 0 || cmp_str(r->policy_domain, policy_domain) != 0)
            continue;
        matched++;
        struct asm_policy *g = group_of(p, &np, r);
        if (r->detail)
            g->ndetails++;
        else {
            g->ok += r->ok;
            g->fail += r->fail;
        }
    }
    if (matched == 0) {
        free(p);
        return sts_status_set(STS_ENOTFOUND, err, errlen, "no TLS-RPT results for %s on %s",
                              policy_domain, day);
    }
    for (size_t i = 0; i < np && st == STS_OK; i++) {
        p[i].details = calloc(p[i].ndetails ? p[i].ndetails : 1, sizeof(*p[i].details));
        if (p[i].details == NULL)
            st = STS_ENOMEM;
        p[i].ndetails = 0;
    }
    for (size_t i = 0; i < b->count && st == STS_OK; i++) {
        const struct sts_tlsrpt_row *r = &b->rows[i];
        if (!r->detail || r->count == 0 || strcmp(r->day, day) != 0 ||
            cmp_str(r->policy_domain, policy_domain) != 0)
            continue;
        struct asm_policy *g = group_of(p, &np, r);
        g->details[g->ndetails++] = r;
    }

    qsort(p, np, sizeof(*p), qsort_policy);
    struct sts_tlsrpt_policy *pol = calloc(np, sizeof(*pol));
    if (pol == NULL)
        st = STS_ENOMEM;
    for (size_t i = 0; i < np && st == STS_OK; i++) {
        struct asm_policy *g = &p[i];
        if (!group_failures(g) || !split_lines(g->key->policy_strings, &g->strings, &g->nstrings) ||
            !split_lines(g->key->mx_hosts, &g->mx, &g->nmx)) {
            st = STS_ENOMEM;
            break;
        }
        pol[i] = (struct sts_tlsrpt_policy){
            .type = g->key->type,
            .strings = (const char *const *)g->strings,
            .nstrings = g->nstrings,
            .domain = policy_domain,
            .mx_hosts = (const char *const *)g->mx,
            .nmx_hosts = g->key->type == STS_TLSRPT_POLICY_STS ? g->nmx : 0,
            .success_count = g->ok,
            .failure_count = g->fail > g->detail_sum ? g->fail : g->detail_sum,
            .failures = g->failures,
            .nfailures = g->ndetails,
        };
    }
    if (st == STS_OK) {
        struct sts_tlsrpt_report r = {
            .organization_name = who->organization_name,
            .contact_info = who->contact_info,
            .day = day,
            .policy_domain = policy_domain,
            .seq = who->seq,
            .policies = pol,
            .npolicies = np,
        };
        st = sts_tlsrpt_report_build(&r, limits, out, err, errlen);
    } else {
        sts_status_set(st, err, errlen, "tlsrpt assemble: out of memory");
    }
    free(pol);
    policies_free(p, np);
    return st;
}
