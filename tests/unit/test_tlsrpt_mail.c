/*
 * test_tlsrpt_mail.c - unit tests of the RFC 8460 §5.3 report mail.
 *
 * Guards: the message of every mail fixture equals its golden file
 * tests/unit/fixtures/tlsrpt_mail/NAME.eml byte for byte; its shape (the
 * §5.3 header fields in order, TLS-Required: No of RFC 8689, Auto-Submitted
 * of RFC 3834, multipart/report; report-type="tlsrpt" of RFC 6522, the
 * application/tlsrpt+gzip part named after §5.1); CRLF everywhere, no
 * line over 998, base64 lines of 76, Subject folded at spaces and
 * unfolding to the §5.3 text; the attachment decodes and gunzips to the
 * report; inputs that would break the header syntax refused.
 * tests/cli/tlsrpt_mail.sh checks the same messages with python3's email
 * parser and python3-dkim.
 *
 * TLSRPT_UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/gzip.h"
#include "mtasts/tlsrpt_mail.h"
#include "mtasts/tlsrpt_report.h"
#include "tlsrpt_fixtures.h"
#include "unit_main.h"

struct made {
    struct sts_tlsrpt_built b;
    unsigned char *gz;
    size_t gzlen;
    struct sts_tlsrpt_mail m;
};

static void make(const struct tlsrpt_fixture *f, struct made *x)
{
    struct sts_tlsrpt_limits lim = {.max_failure_rows = f->max_failure_rows};
    char err[256];
    ck_assert_msg(sts_tlsrpt_report_build(&f->report, &lim, &x->b, err, sizeof(err)) == STS_OK,
                  "%s: %s", f->name, err);
    ck_assert(sts_gzip_compress(x->b.json, x->b.json_len, 0, 1 << 20, &x->gz, &x->gzlen, err,
                                sizeof(err)) == STS_OK);
    tlsrpt_fixture_mail(&x->b, f->report.day, f->report.policy_domain, x->gz, x->gzlen, &x->m);
}

static void unmake(struct made *x)
{
    sts_tlsrpt_built_clear(&x->b);
    free(x->gz);
}

/* Lines end in CRLF, none is longer than max (998 for the message). */
static void check_lines(const char *name, const char *p, size_t len)
{
    size_t line = 1, col = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\r') {
            ck_assert_msg(i + 1 < len && p[i + 1] == '\n', "%s: bare CR on line %zu", name, line);
            i++;
            line++;
            col = 0;
            continue;
        }
        ck_assert_msg(p[i] != '\n', "%s: bare LF on line %zu", name, line);
        ck_assert_msg((unsigned char)p[i] < 0x80, "%s: non-ASCII on line %zu", name, line);
        ck_assert_msg(++col <= STS_TLSRPT_MAIL_LINE_MAX, "%s: line %zu over 998", name, line);
    }
    ck_assert_msg(col == 0, "%s: no final CRLF", name);
}

/* The unfolded value of the first header field called name ("" if none). */
static void field(const char *msg, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name), o = 0;
    const char *end = strstr(msg, "\r\n\r\n");
    out[0] = '\0';
    for (const char *p = msg; p != NULL && p < end; p = strstr(p, "\r\n"), p = p ? p + 2 : p) {
        if (strncmp(p, name, nl) != 0 || p[nl] != ':')
            continue;
        p += nl + 1;
        while (*p == ' ')
            p++;
        for (; p < end && !(p[0] == '\r' && p[2] != ' ' && p[2] != '\t'); p++)
            if (*p != '\r' && *p != '\n' && o + 1 < outlen)
                out[o++] = *p;
        out[o] = '\0';
        return;
    }
}

static int b64v(char c)
{
    const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c ? strchr(t, c) : NULL;
    return p ? (int)(p - t) : -1;
}

/* Decode the base64 lines after the attachment's header. */
static unsigned char *attachment(const char *msg, size_t *len)
{
    const char *p = strstr(msg, "Content-Transfer-Encoding: base64\r\n");
    unsigned char *out;
    unsigned acc = 0, bits = 0;
    ck_assert(p != NULL);
    p = strstr(p, "\r\n\r\n");
    ck_assert(p != NULL);
    p += 4;
    out = malloc(strlen(p));
    *len = 0;
    for (; *p != '\0' && *p != '-'; p++) {
        if (*p == '\r' || *p == '\n' || *p == '=')
            continue;
        int v = b64v(*p);
        ck_assert_msg(v >= 0, "bad base64 character 0x%02x", (unsigned char)*p);
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[(*len)++] = (unsigned char)(acc >> bits);
        }
    }
    return out;
}

static void golden_path(char *out, size_t outlen, const char *name)
{
    const char *srcdir = getenv("srcdir");
    snprintf(out, outlen, "%s/tests/unit/fixtures/tlsrpt_mail/%s.eml",
             srcdir != NULL ? srcdir : ".", name);
}

static size_t nmail;
static const struct tlsrpt_fixture *mail_fixtures[16];

START_TEST(test_golden)
{
    const struct tlsrpt_fixture *f = mail_fixtures[_i];
    struct made x;
    char *msg = NULL, err[256] = "", path[4096], v[2048], want[2048];
    size_t len = 0, glen = 0;

    make(f, &x);
    ck_assert_msg(sts_tlsrpt_mail_build(&x.m, &msg, &len, err, sizeof(err)) == STS_OK, "%s: %s",
                  f->name, err);
    check_lines(f->name, msg, len);

    golden_path(path, sizeof(path), f->name);
    if (getenv("TLSRPT_UPDATE_GOLDEN") != NULL) {
        FILE *o = fopen(path, "wb");
        ck_assert_msg(o != NULL, "cannot write %s", path);
        fwrite(msg, 1, len, o);
        fclose(o);
    }
    FILE *g = fopen(path, "rb");
    ck_assert_msg(g != NULL, "golden file %s missing", path);
    char *gold = malloc(len + 2);
    glen = fread(gold, 1, len + 1, g);
    fclose(g);
    ck_assert_msg(glen == len && memcmp(gold, msg, len) == 0, "%s: differs from %s; got:\n%s",
                  f->name, path, msg);
    free(gold);

    /* the §5.3 fields, in this order */
    static const char *const order[] = {"From:",
                                        "To:",
                                        "Date:",
                                        "Subject:",
                                        "Message-ID:",
                                        "TLS-Report-Domain:",
                                        "TLS-Report-Submitter:",
                                        "TLS-Required:",
                                        "Auto-Submitted:",
                                        "MIME-Version:",
                                        "Content-Type:"};
    const char *at = msg;
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        const char *p = strstr(at, order[i]);
        ck_assert_msg(p != NULL && (p == msg || p[-1] == '\n'), "%s: %s missing or out of order",
                      f->name, order[i]);
        at = p;
    }
    field(msg, "Subject", v, sizeof(v));
    snprintf(want, sizeof(want), "Report Domain: %s Submitter: %s Report-ID: <%s>",
             f->report.policy_domain, x.b.submitter, x.b.report_id);
    ck_assert_msg(strcmp(v, want) == 0, "%s: Subject unfolds to \"%s\", want \"%s\"", f->name, v,
                  want);
    field(msg, "TLS-Report-Domain", v, sizeof(v));
    ck_assert_str_eq(v, f->report.policy_domain);
    field(msg, "TLS-Report-Submitter", v, sizeof(v));
    ck_assert_str_eq(v, x.b.submitter);
    field(msg, "TLS-Required", v, sizeof(v));
    ck_assert_str_eq(v, "No");
    field(msg, "Auto-Submitted", v, sizeof(v));
    ck_assert_str_eq(v, "auto-generated");
    field(msg, "Date", v, sizeof(v));
    ck_assert_str_eq(v, "Mon, 03 Aug 2026 00:00:00 +0000");
    field(msg, "Content-Type", v, sizeof(v));
    const char *ct = "multipart/report; report-type=\"tlsrpt\"; boundary=\"=_tlsrpt_";
    ck_assert_msg(strncmp(v, ct, strlen(ct)) == 0, "%s: Content-Type %s", f->name, v);
    snprintf(want, sizeof(want), "name=\"%s\"", x.b.filename);
    ck_assert(strstr(msg, want) != NULL);
    snprintf(want, sizeof(want), "Content-Disposition: attachment;\r\n filename=\"%s\"",
             x.b.filename);
    ck_assert(strstr(msg, want) != NULL);

    /* base64 lines of 76 (the last may be shorter) */
    const char *b = strstr(strstr(msg, "Content-Transfer-Encoding: base64"), "\r\n\r\n") + 4;
    for (const char *e; (e = strstr(b, "\r\n")) != NULL && *b != '\r'; b = e + 2)
        ck_assert_msg(e - b <= STS_TLSRPT_MAIL_B64_LINE, "%s: base64 line of %td", f->name, e - b);

    /* the attachment is the report */
    size_t zlen = 0, jlen = 0;
    unsigned char *z = attachment(msg, &zlen), *json = NULL;
    ck_assert(zlen == x.gzlen && memcmp(z, x.gz, zlen) == 0);
    ck_assert(sts_gzip_decompress(z, zlen, 1 << 20, &json, &jlen, err, sizeof(err)) == STS_OK);
    ck_assert(jlen == x.b.json_len && memcmp(json, x.b.json, jlen) == 0);
    free(z);
    free(json);
    free(msg);
    unmake(&x);
}
END_TEST

START_TEST(test_ids_and_boundary)
{
    struct made x;
    char *a = NULL, *b = NULL, v[1024], va[1024];
    size_t alen, blen;
    make(tlsrpt_fixture_find("rfc8460-example"), &x);
    ck_assert(sts_tlsrpt_mail_build(&x.m, &a, &alen, NULL, 0) == STS_OK);
    field(a, "Message-ID", v, sizeof(v));
    ck_assert_str_eq(v, "<20160401.company-y.example.1.0@company-x.example>");
    field(a, "Content-Type", va, sizeof(va));
    x.m.dest_index = 3;
    ck_assert(sts_tlsrpt_mail_build(&x.m, &b, &blen, NULL, 0) == STS_OK);
    field(b, "Message-ID", v, sizeof(v));
    ck_assert_str_eq(v, "<20160401.company-y.example.1.3@company-x.example>");
    field(b, "Content-Type", v, sizeof(v));
    ck_assert_msg(strcmp(v, va) != 0, "each destination gets its own boundary");
    free(b);
    x.m.message_id = "given.id@mail.sender.example";
    x.m.boundary = "b0und'ary()+_,-./:=?";
    ck_assert(sts_tlsrpt_mail_build(&x.m, &b, &blen, NULL, 0) == STS_OK);
    field(b, "Message-ID", v, sizeof(v));
    ck_assert_str_eq(v, "<given.id@mail.sender.example>");
    ck_assert(strstr(b, "\r\n--b0und'ary()+_,-./:=?--\r\n") != NULL);
    free(a);
    free(b);
    unmake(&x);
}
END_TEST

/* Long names fold the Subject at spaces within 78 columns. */
START_TEST(test_subject_folding)
{
    struct made x;
    char *msg = NULL, v[2048], want[2048];
    size_t len;
    const char *dom = "a123456789012345678901234567890123456789012345678901234567890bc."
                      "example.org";
    make(tlsrpt_fixture_find("all-success"), &x);
    x.m.policy_domain = dom;
    x.m.submitter = "b123456789012345678901234567890123456789012345678901234567890bc.example";
    ck_assert(sts_tlsrpt_mail_build(&x.m, &msg, &len, NULL, 0) == STS_OK);
    check_lines("long", msg, len);
    const char *s = strstr(msg, "Subject:"), *e = strstr(s, "\r\nMessage-ID:");
    int lines = 0;
    for (const char *p = s; p < e; lines++) {
        const char *n = strstr(p, "\r\n");
        size_t w = (size_t)(n - p);
        ck_assert_msg(w <= STS_TLSRPT_MAIL_FOLD_AT || memchr(p + 1, ' ', w - 1) == NULL,
                      "Subject line of %zu could have been folded", w);
        if (p != s)
            ck_assert_msg(*p == ' ', "a folded line starts with the space");
        p = n + 2;
    }
    ck_assert_msg(lines >= 3, "Subject in %d lines, want >= 3", lines);
    field(msg, "Subject", v, sizeof(v));
    snprintf(want, sizeof(want), "Report Domain: %s Submitter: %s Report-ID: <%s>", dom,
             x.m.submitter, x.b.report_id);
    ck_assert_str_eq(v, want);
    free(msg);
    unmake(&x);
}
END_TEST

enum bad {
    TO_CRLF,
    TO_NONE,
    TO_DISPLAY,
    FROM_BAD,
    SUBMITTER_BAD,
    DOMAIN_CRLF,
    ID_NO_AT,
    ID_SPACE,
    MID_BAD,
    FILE_QUOTE,
    FILE_CRLF,
    BOUNDARY_LONG,
    BOUNDARY_SPACE,
    DAY_BAD,
    NO_GZ,
};

static const struct {
    enum bad b;
    const char *name, *want_err;
} bads[] = {
    {TO_CRLF, "to_crlf", "To:"},
    {TO_NONE, "to_none", "To:"},
    {TO_DISPLAY, "to_display", "To:"},
    {FROM_BAD, "from_bad", "From:"},
    {SUBMITTER_BAD, "submitter_bad", "submitter"},
    {DOMAIN_CRLF, "domain_crlf", "policy domain"},
    {ID_NO_AT, "id_no_at", "report-id"},
    {ID_SPACE, "id_space", "report-id"},
    {MID_BAD, "mid_bad", "Message-ID"},
    {FILE_QUOTE, "file_quote", "file name"},
    {FILE_CRLF, "file_crlf", "file name"},
    {BOUNDARY_LONG, "boundary_long", "boundary"},
    {BOUNDARY_SPACE, "boundary_space", "boundary"},
    {DAY_BAD, "day_bad", "day"},
    {NO_GZ, "no_gz", "no report"},
};

START_TEST(test_refusals)
{
    struct made x;
    char *msg = (char *)"untouched", err[256] = "";
    size_t len = 1;
    make(tlsrpt_fixture_find("all-success"), &x);
    switch (bads[_i].b) {
    case TO_CRLF:
        x.m.to = "a@b.example\r\nBcc: victim@c.example";
        break;
    case TO_NONE:
        x.m.to = NULL;
        break;
    case TO_DISPLAY:
        x.m.to = "Reports <a@b.example>";
        break;
    case FROM_BAD:
        x.m.from = "noreply";
        break;
    case SUBMITTER_BAD:
        x.m.submitter = "mail sender.example";
        break;
    case DOMAIN_CRLF:
        x.m.policy_domain = "example.net\r\nX: y";
        break;
    case ID_NO_AT:
        x.m.report_id = "20260802.example.net.1";
        break;
    case ID_SPACE:
        x.m.report_id = "2026 0802@example.net";
        break;
    case MID_BAD:
        x.m.message_id = "<a@b.example>";
        break;
    case FILE_QUOTE:
        x.m.filename = "a\"b.json.gz";
        break;
    case FILE_CRLF:
        x.m.filename = "a.json.gz\r\n";
        break;
    case BOUNDARY_LONG:
        x.m.boundary = "0123456789012345678901234567890123456789012345678901234567890123456789x";
        break;
    case BOUNDARY_SPACE:
        x.m.boundary = "a b";
        break;
    case DAY_BAD:
        x.m.day = "2026-02-31";
        break;
    case NO_GZ:
        x.m.gzlen = 0;
        break;
    }
    enum sts_status st = sts_tlsrpt_mail_build(&x.m, &msg, &len, err, sizeof(err));
    ck_assert_msg(st == STS_EINVAL, "case %s: got %s, want invalid", bads[_i].name,
                  sts_status_word(st));
    ck_assert_msg(strstr(err, bads[_i].want_err) != NULL, "case %s: reason \"%s\" lacks \"%s\"",
                  bads[_i].name, err, bads[_i].want_err);
    ck_assert(msg == NULL && len == 0);
    unmake(&x);
}
END_TEST

static Suite *tlsrpt_mail_suite(void)
{
    Suite *s = suite_create("tlsrpt_mail");
    TCase *tc = tcase_create("core");
    for (size_t i = 0; i < tlsrpt_nfixtures && nmail < 16; i++)
        if (tlsrpt_fixtures[i].mail)
            mail_fixtures[nmail++] = &tlsrpt_fixtures[i];
    tcase_add_loop_test(tc, test_golden, 0, (int)nmail);
    tcase_add_test(tc, test_ids_and_boundary);
    tcase_add_test(tc, test_subject_folding);
    tcase_add_loop_test(tc, test_refusals, 0, (int)(sizeof(bads) / sizeof(bads[0])));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(tlsrpt_mail_suite());
}
