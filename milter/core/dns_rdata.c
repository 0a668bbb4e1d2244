/*
 * dns_rdata.c - answers and the RDATA parsers (dns_rdata.h): TXT, MX,
 * A/AAAA and TLSA from wire bytes.  Pure: no I/O, no library header; the
 * resolver (dns.c) and the fuzz harness (tests/fuzz/fuzz_dns_rdata.c)
 * feed it.
 */
#include "mtasts/dns_rdata.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- names */

static const char *const dns_result_names[] = {"answer",   "nxdomain", "nodata",
                                               "servfail", "timeout",  "error"};

const char *sts_dns_result_name(enum sts_dns_result r)
{
    return (size_t)r < sizeof(dns_result_names) / sizeof(dns_result_names[0]) ? dns_result_names[r]
                                                                              : "error";
}

const char *sts_dns_type_name(enum sts_dns_type type)
{
    switch (type) {
    case STS_DNS_TXT:
        return "TXT";
    case STS_DNS_MX:
        return "MX";
    case STS_DNS_A:
        return "A";
    case STS_DNS_AAAA:
        return "AAAA";
    case STS_DNS_TLSA:
        return "TLSA";
    }
    return NULL;
}

/* -------------------------------------------------------------- answers */

/* Free the record arrays of an answer and set count to 0. */
static void answer_free_records(struct sts_dns_answer *a)
{
    for (size_t i = 0; a->txt != NULL && i < a->count; i++)
        free(a->txt[i]);
    for (size_t i = 0; a->tlsa != NULL && i < a->count; i++)
        free(a->tlsa[i].data);
    free(a->txt);
    free(a->txt_len);
    free(a->mx);
    free(a->addr);
    free(a->tlsa);
    a->txt = NULL;
    a->txt_len = NULL;
    a->mx = NULL;
    a->addr = NULL;
    a->tlsa = NULL;
    a->count = 0;
}

void sts_dns_answer_free(struct sts_dns_answer *ans)
{
    if (ans == NULL)
        return;
    answer_free_records(ans);
    free(ans);
}

/*
 * The parsers: rr[0..n) are the RDATA of one RRset, n > 0.  Each returns
 * STS_OK, STS_EINVAL (malformed) or STS_ENOMEM, and fills a->count
 * records at most STS_DNS_RECORDS_MAX; *truncated says whether some were
 * left out.  On failure what they allocated stays in a, for the caller to
 * free.
 */

static enum sts_status parse_txt(struct sts_dns_answer *a, const struct sts_dns_rdata *rr, size_t n,
                                 bool *truncated)
{
    size_t keep = n < STS_DNS_RECORDS_MAX ? n : STS_DNS_RECORDS_MAX;
    size_t total = 0;
    a->txt = calloc(keep, sizeof(*a->txt));
    a->txt_len = calloc(keep, sizeof(*a->txt_len));
    if (a->txt == NULL || a->txt_len == NULL)
        return STS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = rr[i].data;
        size_t len = rr[i].len;
        size_t joined = 0;
        /* one or more <character-string>s: a length octet, then the bytes */
        for (size_t off = 0; off < len; off += 1 + (size_t)p[off]) {
            if ((size_t)p[off] > len - off - 1)
                return STS_EINVAL;
            joined += p[off];
        }
        if (a->count == keep || joined > STS_DNS_TXT_BYTES_MAX - total) {
            *truncated = true;
            continue; /* still check the rest are well-formed */
        }
        char *s = malloc(joined + 1);
        if (s == NULL)
            return STS_ENOMEM;
        size_t o = 0;
        for (size_t off = 0; off < len; off += 1 + (size_t)p[off]) {
            memcpy(s + o, p + off + 1, p[off]);
            o += p[off];
        }
        s[o] = '\0';
        a->txt[a->count] = s;
        a->txt_len[a->count] = joined;
        a->count++;
        total += joined;
    }
    return STS_OK;
}

/*
 * An uncompressed wire-format name at p[off..len) filling all of it, into
 * lower-case presentation form without the root dot ("" for the root).
 * Bytes that would make the text form ambiguous or unprintable (NUL, '.',
 * '\\', controls, space, 8-bit) make the name malformed for our purposes.
 */
static enum sts_status parse_name(const unsigned char *p, size_t len, size_t off, char *out)
{
    size_t o = 0, wire = 0;
    for (;;) {
        if (off >= len)
            return STS_EINVAL;
        size_t l = p[off++];
        wire += 1 + l;
        if (wire > STS_DNS_NAME_WIRE_MAX)
            return STS_EINVAL;
        if (l == 0)
            break;
        if (l > STS_DNS_LABEL_MAX || l > len - off) /* > 63: a pointer or extended label */
            return STS_EINVAL;
        if (o > 0)
            out[o++] = '.';
        for (size_t k = 0; k < l; k++) {
            unsigned char c = p[off + k];
            if (c <= 0x20 || c >= 0x7f || c == '.' || c == '\\')
                return STS_EINVAL;
            out[o++] = (char)((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
        }
        off += l;
    }
    if (off != len)
        return STS_EINVAL;
    out[o] = '\0'; /* o <= wire - 2 <= 253 */
    return STS_OK;
}

static enum sts_status parse_mx(struct sts_dns_answer *a, const struct sts_dns_rdata *rr, size_t n,
                                bool *truncated)
{
    size_t keep = n < STS_DNS_RECORDS_MAX ? n : STS_DNS_RECORDS_MAX;
    a->mx = calloc(keep, sizeof(*a->mx));
    if (a->mx == NULL)
        return STS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = rr[i].data;
        size_t len = rr[i].len;
        struct sts_dns_mx mx;
        if (len < 3)
            return STS_EINVAL;
        mx.preference = (uint16_t)(p[0] << 8 | p[1]);
        if (parse_name(p, len, 2, mx.host) != STS_OK)
            return STS_EINVAL;
        /* keep the best STS_DNS_RECORDS_MAX, sorted, stable among equals */
        size_t at = a->count;
        while (at > 0 && a->mx[at - 1].preference > mx.preference)
            at--;
        if (at == keep) {
            *truncated = true;
            continue;
        }
        if (a->count == keep) {
            *truncated = true;
            a->count--;
        }
        memmove(&a->mx[at + 1], &a->mx[at], (a->count - at) * sizeof(*a->mx));
        a->mx[at] = mx;
        a->count++;
    }
    return STS_OK;
}

static enum sts_status parse_addr(struct sts_dns_answer *a, int family,
                                  const struct sts_dns_rdata *rr, size_t n, bool *truncated)
{
    size_t want = family == AF_INET ? 4 : 16;
    size_t keep = n < STS_DNS_RECORDS_MAX ? n : STS_DNS_RECORDS_MAX;
    a->addr = calloc(keep, sizeof(*a->addr));
    if (a->addr == NULL)
        return STS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (rr[i].len != want)
            return STS_EINVAL;
        if (a->count == keep) {
            *truncated = true;
            continue;
        }
        if (inet_ntop(family, rr[i].data, a->addr[a->count], sizeof(a->addr[0])) == NULL)
            return STS_EINVAL;
        a->count++;
    }
    return STS_OK;
}

static enum sts_status parse_tlsa(struct sts_dns_answer *a, const struct sts_dns_rdata *rr,
                                  size_t n, bool *truncated)
{
    size_t keep = n < STS_DNS_RECORDS_MAX ? n : STS_DNS_RECORDS_MAX;
    a->tlsa = calloc(keep, sizeof(*a->tlsa));
    if (a->tlsa == NULL)
        return STS_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = rr[i].data;
        size_t len = rr[i].len;
        if (len < 3)
            return STS_EINVAL;
        if (a->count == keep) {
            *truncated = true;
            continue;
        }
        struct sts_dns_tlsa *t = &a->tlsa[a->count];
        t->data = malloc(len - 3 + 1); /* never malloc(0) */
        if (t->data == NULL)
            return STS_ENOMEM;
        t->usage = p[0];
        t->selector = p[1];
        t->mtype = p[2];
        t->len = len - 3;
        memcpy(t->data, p + 3, len - 3);
        a->count++;
    }
    return STS_OK;
}

enum sts_status sts_dns_rdata_parse(enum sts_dns_type type, const struct sts_dns_rdata *rr,
                                    size_t n, struct sts_dns_answer *a)
{
    bool truncated = false;
    enum sts_status st = STS_EINVAL;

    if (n == 0)
        return sts_dns_type_name(type) != NULL ? STS_OK : STS_EINVAL;
    switch (type) {
    case STS_DNS_TXT:
        st = parse_txt(a, rr, n, &truncated);
        break;
    case STS_DNS_MX:
        st = parse_mx(a, rr, n, &truncated);
        break;
    case STS_DNS_A:
        st = parse_addr(a, AF_INET, rr, n, &truncated);
        break;
    case STS_DNS_AAAA:
        st = parse_addr(a, AF_INET6, rr, n, &truncated);
        break;
    case STS_DNS_TLSA:
        st = parse_tlsa(a, rr, n, &truncated);
        break;
    }
    if (st != STS_OK) {
        answer_free_records(a);
        return st;
    }
    if (truncated)
        snprintf(a->why, sizeof(a->why), "truncated: kept %zu of %zu records", a->count, n);
    return STS_OK;
}
