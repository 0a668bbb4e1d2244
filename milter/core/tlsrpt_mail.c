/*
 * tlsrpt_mail.c - the RFC 8460 §5.3 report message (RFC 5322, MIME
 * multipart/report of RFC 6522).  See tlsrpt_mail.h.
 */
#include "mtasts/tlsrpt_mail.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtasts/domain.h"
#include "mtasts/hash.h"
#include "mtasts/tlsrpt_report.h"

/* ---- a growing buffer: the first failed allocation sticks ------------ */

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (np == NULL) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void buf_printf(struct buf *b, const char *fmt, ...)
{
    char small[1024];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof(small)) {
        buf_add(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        b->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf_add(b, big, (size_t)n);
    free(big);
}

/* One header field, "Name: value", folded before a space when the line
 * would pass STS_TLSRPT_MAIL_FOLD_AT (RFC 5322 §2.2.3: unfolding gives the
 * value back).  Words longer than a line stay whole. */
static void header(struct buf *b, const char *name, const char *value)
{
    size_t col = strlen(name) + 1, i = 0, n = strlen(value);
    buf_str(b, name);
    buf_str(b, ":");
    while (i < n) {
        size_t j = i + 1;
        while (j < n && value[j] != ' ')
            j++;
        /* the word is value[i..j): a leading space except for the first */
        size_t w = j - i + (i == 0 ? 1 : 0);
        if (i > 0 && col + w > STS_TLSRPT_MAIL_FOLD_AT) {
            buf_str(b, "\r\n");
            col = 0;
        }
        if (i == 0)
            buf_str(b, " ");
        buf_add(b, value + i, j - i);
        col += w;
        i = j;
    }
    buf_str(b, "\r\n");
}

/* ---- base64 (RFC 2045 §6.8), CRLF after every 76 characters ------------ */

static void base64_lines(struct buf *b, const unsigned char *in, size_t len)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char line[STS_TLSRPT_MAIL_B64_LINE + 2];
    size_t col = 0;
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        line[col++] = tab[(v >> 18) & 63];
        line[col++] = tab[(v >> 12) & 63];
        line[col++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        line[col++] = i + 2 < len ? tab[v & 63] : '=';
        if (col == STS_TLSRPT_MAIL_B64_LINE || i + 3 >= len) {
            line[col++] = '\r';
            line[col++] = '\n';
            buf_add(b, line, col);
            col = 0;
        }
    }
}

/* ---- input checks: nothing may break the header syntax ----------------- */

static enum sts_status check_domain(const char *d, const char *what, char *err, size_t errlen)
{
    char why[128];
    if (d == NULL || sts_domain_check_ldh(d, strlen(d), why, sizeof(why)) != STS_OK)
        return sts_status_set(STS_EINVAL, err, errlen, "%s: %s", what, d == NULL ? "missing" : why);
    return STS_OK;
}

/* msg-id without brackets, RFC 5322 §3.6.4: dot-atom-text "@" domain
 * (the no-fold-literal form is not produced by us, so not accepted). */
static enum sts_status check_msg_id(const char *id, const char *what, char *err, size_t errlen)
{
    const char *at;
    if (id == NULL || (at = strrchr(id, '@')) == NULL || at == id)
        return sts_status_set(STS_EINVAL, err, errlen, "%s: want left@right", what);
    for (const char *p = id; p < at; p++) {
        unsigned char c = (unsigned char)*p;
        bool atext = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c));
        if (c == '.' ? (p == id || p + 1 == at || p[1] == '.') : !atext)
            return sts_status_set(STS_EINVAL, err, errlen, "%s: bad left part", what);
    }
    if (strlen(id) > 900)
        return sts_status_set(STS_EINVAL, err, errlen, "%s: too long", what);
    return check_domain(at + 1, what, err, errlen);
}

static bool all_of(const char *s, const char *set, size_t max)
{
    size_t n = 0;
    for (; *s != '\0'; s++, n++) {
        unsigned char c = (unsigned char)*s;
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && strchr(set, c) == NULL)
            return false;
    }
    return n > 0 && n <= max;
}

static enum sts_status check_input(const struct sts_tlsrpt_mail *m, char *err, size_t errlen)
{
    char why[160];
    if (sts_tlsrpt_addr_check(m->from, NULL, 0, why, sizeof(why)) != STS_OK)
        return sts_status_set(STS_EINVAL, err, errlen, "From: %s", why);
    if (sts_tlsrpt_addr_check(m->to, NULL, 0, why, sizeof(why)) != STS_OK)
        return sts_status_set(STS_EINVAL, err, errlen, "To: %s", why);
    if (check_domain(m->submitter, "submitter", err, errlen) != STS_OK ||
        check_domain(m->policy_domain, "policy domain", err, errlen) != STS_OK ||
        check_msg_id(m->report_id, "report-id", err, errlen) != STS_OK ||
        (m->message_id != NULL && check_msg_id(m->message_id, "Message-ID", err, errlen) != STS_OK))
        return STS_EINVAL;
    /* a file name of the report builder: domains, "!", digits, ".json.gz" */
    if (m->filename == NULL || !all_of(m->filename, "!.-_", 700))
        return sts_status_set(STS_EINVAL, err, errlen, "file name: want RFC 8460 §5.1 form");
    /* RFC 2046 §5.1.1 bchars, minus the space (we quote it anyway) */
    if (m->boundary != NULL && !all_of(m->boundary, "'()+_,-./:=?", STS_TLSRPT_MAIL_BOUNDARY_MAX))
        return sts_status_set(STS_EINVAL, err, errlen, "boundary: want 1-70 bchars");
    if (m->day != NULL && sts_tlsrpt_day_parse(m->day, NULL, err, errlen) != STS_OK)
        return STS_EINVAL;
    if (m->gz == NULL || m->gzlen == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "no report to attach");
    return STS_OK;
}

/* RFC 5322 §3.3 date-time in UTC: "Sat, 01 Aug 2026 00:15:00 +0000". */
static bool format_date(int64_t t, char *out, size_t outlen)
{
    static const char *const wd[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    time_t tt = (time_t)t;
    if (t < 0 || gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999)
        return false;
    snprintf(out, outlen, "%s, %02d %s %04d %02d:%02d:%02d +0000", wd[tm.tm_wday], tm.tm_mday,
             mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return true;
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    return sts_fnv1a64(h, s, strlen(s));
}

/* Every line ends in CRLF, none is longer than 998, no bare CR or LF. */
static bool lines_ok(const char *p, size_t len)
{
    size_t col = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\r') {
            if (i + 1 >= len || p[i + 1] != '\n')
                return false;
            i++;
            col = 0;
        } else if (p[i] == '\n' || ++col > STS_TLSRPT_MAIL_LINE_MAX) {
            return false;
        }
    }
    return col == 0;
}

enum sts_status sts_tlsrpt_mail_build(const struct sts_tlsrpt_mail *m, char **out, size_t *outlen,
                                      char *err, size_t errlen)
{
    char date[64], boundary[STS_TLSRPT_MAIL_BOUNDARY_MAX + 1], mid[1024], idx[24];
    struct buf b = {0};
    enum sts_status st;

    *out = NULL;
    *outlen = 0;
    if (m == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "no mail");
    st = check_input(m, err, errlen);
    if (st != STS_OK)
        return st;
    if (!format_date(m->date, date, sizeof(date)))
        return sts_status_set(STS_EINVAL, err, errlen, "Date: out of range");
    snprintf(idx, sizeof(idx), "%u", m->dest_index);
    if (m->boundary != NULL) {
        snprintf(boundary, sizeof(boundary), "%s", m->boundary);
    } else {
        uint64_t h = fnv1a(fnv1a(STS_FNV1A64_INIT, m->report_id), idx);
        snprintf(boundary, sizeof(boundary), "=_tlsrpt_%016" PRIx64, h);
    }
    if (m->message_id != NULL) {
        snprintf(mid, sizeof(mid), "<%s>", m->message_id);
    } else {
        const char *at = strrchr(m->report_id, '@');
        snprintf(mid, sizeof(mid), "<%.*s.%s%s>", (int)(at - m->report_id), m->report_id, idx, at);
    }

    char *subject = NULL, *ctype = NULL;
    size_t slen = strlen(m->policy_domain) + strlen(m->submitter) + strlen(m->report_id) + 64;
    subject = malloc(slen);
    ctype = malloc(sizeof(boundary) + 64);
    if (subject == NULL || ctype == NULL) {
        free(subject);
        free(ctype);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    }
    snprintf(subject, slen, "Report Domain: %s Submitter: %s Report-ID: <%s>", m->policy_domain,
             m->submitter, m->report_id);
    snprintf(ctype, sizeof(boundary) + 64,
             "multipart/report; report-type=\"tlsrpt\"; boundary=\"%s\"", boundary);

    header(&b, "From", m->from);
    header(&b, "To", m->to);
    header(&b, "Date", date);
    header(&b, "Subject", subject);
    header(&b, "Message-ID", mid);
    header(&b, "TLS-Report-Domain", m->policy_domain);
    header(&b, "TLS-Report-Submitter", m->submitter);
    header(&b, "TLS-Required", "No");
    header(&b, "Auto-Submitted", "auto-generated");
    header(&b, "MIME-Version", "1.0");
    header(&b, "Content-Type", ctype);
    free(subject);
    free(ctype);
    buf_str(&b, "\r\nThis is a multipart message in MIME format.\r\n\r\n");

    /* part 1: for people */
    buf_printf(&b, "--%s\r\n", boundary);
    buf_str(&b, "Content-Type: text/plain; charset=us-ascii\r\n"
                "Content-Transfer-Encoding: 7bit\r\n\r\n");
    buf_str(&b, "This is an aggregate SMTP TLS report (RFC 8460).\r\n\r\n");
    buf_printf(&b, "Report domain: %s\r\n", m->policy_domain);
    buf_printf(&b, "Submitter: %s\r\n", m->submitter);
    buf_printf(&b, "Report-ID: <%s>\r\n", m->report_id);
    if (m->day != NULL)
        buf_printf(&b, "Period: %sT00:00:00Z to %sT23:59:59Z\r\n", m->day, m->day);
    buf_str(&b, "\r\nThe report is the attached application/tlsrpt+gzip file.\r\n\r\n");

    /* part 2: the report */
    buf_printf(&b, "--%s\r\n", boundary);
    header(&b, "Content-Type", "application/tlsrpt+gzip;");
    buf_printf(&b, " name=\"%s\"\r\n", m->filename);
    header(&b, "Content-Transfer-Encoding", "base64");
    header(&b, "Content-Disposition", "attachment;");
    buf_printf(&b, " filename=\"%s\"\r\n\r\n", m->filename);
    base64_lines(&b, m->gz, m->gzlen);
    buf_printf(&b, "\r\n--%s--\r\n", boundary);

    if (b.oom) {
        free(b.p);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory building the mail");
    }
    if (!lines_ok(b.p, b.len)) { /* the checks above make this unreachable */
        free(b.p);
        return sts_status_set(STS_EINVAL, err, errlen, "a line would exceed %d octets",
                              STS_TLSRPT_MAIL_LINE_MAX);
    }
    *out = b.p;
    *outlen = b.len;
    return STS_OK;
}
