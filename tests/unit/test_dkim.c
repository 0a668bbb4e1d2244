/*
 * test_dkim.c - unit tests of the DKIM signer (RFC 6376).
 *
 * Guards: relaxed header and body canonicalisation (§3.4.2, §3.4.4, the
 * worked example of §3.4.5, empty and all-blank bodies); key loading (RSA
 * of at least 1024 bits, RFC 8301 §3.2; unreadable, non-PEM, encrypted,
 * EC and 512-bit keys refused with a reason naming the file); the
 * signature field (v=1, rsa-sha256, relaxed/relaxed, d=, s=, t=, every
 * default h= name over-signed (§8.15), bh= of the canonical body, no l= per RFC 8460 §3,
 * folded within 78 columns, CRLF-terminated, deterministic); the public
 * record.  Independent verification (python3-dkim) is in
 * tests/cli/tlsrpt_mail.sh.
 *
 * The test keys are generated at test time with OpenSSL (scaffolding
 * only: the signer itself is milter/engine/dkim.c).
 */
#include <check.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mtasts/dkim.h"
#include "unit_main.h"

#define STR(s) (s), (sizeof(s) - 1)

/* ---- canonicalisation ---- */

static const struct {
    const char *name, *in, *want;
} header_cases[] = {
    /* RFC 6376 §3.4.5: "A: <SP> X <CRLF>" and the folded B field */
    {"rfc_a", "A: X\r\n", "a:X\r\n"},
    {"rfc_b", "B : Y\t\r\n\tZ  \r\n", "b:Y Z\r\n"},
    {"no_crlf", "Subject: hi", "subject:hi\r\n"},
    {"empty_value", "X-Empty:\r\n", "x-empty:\r\n"},
    {"only_space_value", "X-Empty:   \t \r\n", "x-empty:\r\n"},
    {"inner_runs", "To:  a\t\t b   c\r\n", "to:a b c\r\n"},
    {"fold_crlf_space", "Subject: Report Domain: d\r\n Submitter: s\r\n",
     "subject:Report Domain: d Submitter: s\r\n"},
    {"name_case", "TLS-Report-Domain: Example.NET\r\n", "tls-report-domain:Example.NET\r\n"},
    {"colon_in_value", "Date: Mon, 03 Aug 2026 00:00:00 +0000\r\n",
     "date:Mon, 03 Aug 2026 00:00:00 +0000\r\n"},
};

START_TEST(test_canon_header)
{
    char *out = NULL;
    size_t len = 0;
    const char *in = header_cases[_i].in;
    ck_assert(sts_dkim_canon_header_relaxed(in, strlen(in), &out, &len) == STS_OK);
    ck_assert_msg(len == strlen(out) && strcmp(out, header_cases[_i].want) == 0,
                  "case %s: got \"%s\", want \"%s\"", header_cases[_i].name, out,
                  header_cases[_i].want);
    free(out);
    ck_assert(sts_dkim_canon_header_relaxed(STR("no colon\r\n"), &out, &len) == STS_EINVAL);
    ck_assert(out == NULL);
}
END_TEST

static const struct {
    const char *name, *in;
    size_t len;
    const char *want;
} body_cases[] = {
    /* RFC 6376 §3.4.5 body: " C <SP><CRLF>D <SP><HTAB><SP> E <CRLF><CRLF><CRLF>" */
    {"rfc_example", STR(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n"},
    {"empty", STR(""), ""},
    {"only_crlf", STR("\r\n"), ""},
    {"only_blank_lines", STR("\r\n \t\r\n\r\n"), ""},
    {"no_final_crlf", STR("abc"), "abc\r\n"},
    {"no_final_crlf_ws", STR("abc  \t"), "abc\r\n"},
    {"inner_blank_kept", STR("a\r\n\r\n \r\nb\r\n"), "a\r\n\r\n\r\nb\r\n"},
    {"leading_ws_one_sp", STR("\t\tx\r\n"), " x\r\n"},
    {"bare_lf_is_data", STR("a\nb\r\n"), "a\nb\r\n"},
};

START_TEST(test_canon_body)
{
    char *out = NULL;
    size_t len = 99;
    ck_assert(sts_dkim_canon_body_relaxed(body_cases[_i].in, body_cases[_i].len, &out, &len) ==
              STS_OK);
    ck_assert_msg(out != NULL && len == strlen(body_cases[_i].want) &&
                      memcmp(out, body_cases[_i].want, len) == 0,
                  "case %s: got \"%s\" (%zu), want \"%s\"", body_cases[_i].name,
                  out ? out : "(null)", len, body_cases[_i].want);
    free(out);
}
END_TEST

/* ---- keys, made once for the whole run (an unchecked fixture) ---- */

static char dir[256];

static void key_path(char *out, size_t outlen, const char *name)
{
    snprintf(out, outlen, "%s/%s", dir, name);
}

static void write_key(const char *name, EVP_PKEY *pk, const EVP_CIPHER *enc)
{
    char path[512];
    key_path(path, sizeof(path), name);
    FILE *f = fopen(path, "w");
    ck_assert(f != NULL && pk != NULL);
    ck_assert(PEM_write_PrivateKey(f, pk, enc, enc ? (unsigned char *)"secret" : NULL, enc ? 6 : 0,
                                   NULL, NULL) == 1);
    fclose(f);
    EVP_PKEY_free(pk);
}

static void make_keys(void)
{
    const char *base = getenv("TMPDIR");
    char path[512];
    snprintf(dir, sizeof(dir), "%s/test_dkim.XXXXXX", base ? base : "/tmp");
    ck_assert(mkdtemp(dir) != NULL);
    write_key("rsa2048.pem", EVP_RSA_gen(2048), NULL);
    write_key("rsa1024.pem", EVP_RSA_gen(1024), NULL);
    write_key("rsa512.pem", EVP_RSA_gen(512), NULL);
    write_key("ec.pem", EVP_EC_gen("P-256"), NULL);
    write_key("encrypted.pem", EVP_RSA_gen(1024), EVP_aes_256_cbc());
    key_path(path, sizeof(path), "garbage.pem");
    FILE *f = fopen(path, "w");
    fputs("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n", f);
    fclose(f);
}

static void remove_keys(void)
{
    static const char *const names[] = {"rsa2048.pem", "rsa1024.pem",   "rsa512.pem",
                                        "ec.pem",      "encrypted.pem", "garbage.pem"};
    char path[512];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        key_path(path, sizeof(path), names[i]);
        unlink(path);
    }
    rmdir(dir);
}

static const struct {
    const char *file;
    enum sts_status want;
    const char *want_err;
    unsigned bits;
} key_cases[] = {
    {"rsa2048.pem", STS_OK, NULL, 2048},
    {"rsa1024.pem", STS_OK, NULL, 1024},
    {"rsa512.pem", STS_EINVAL, "512 bits is too weak", 0},
    {"ec.pem", STS_EINVAL, "needs an RSA key", 0},
    {"encrypted.pem", STS_EINVAL, "encrypted", 0},
    {"garbage.pem", STS_EINVAL, "no PEM private key", 0},
    {"missing.pem", STS_EIO, "cannot open: No such file", 0},
    {"", STS_EIO, "cannot read: Is a directory", 0}, /* the directory itself */
};

START_TEST(test_key_load)
{
    char path[512], err[512] = "";
    struct sts_dkim_key *k = NULL;
    key_path(path, sizeof(path), key_cases[_i].file);
    enum sts_status st = sts_dkim_key_load(path, &k, err, sizeof(err));
    ck_assert_msg(st == key_cases[_i].want, "case %s: got %s (%s), want %s", key_cases[_i].file,
                  sts_status_word(st), err, sts_status_word(key_cases[_i].want));
    if (st == STS_OK) {
        ck_assert_uint_eq(sts_dkim_key_bits(k), key_cases[_i].bits);
    } else {
        ck_assert(k == NULL);
        ck_assert_msg(strstr(err, key_cases[_i].want_err) != NULL && strstr(err, path) != NULL,
                      "case %s: reason \"%s\" lacks \"%s\" or the path", key_cases[_i].file, err,
                      key_cases[_i].want_err);
    }
    sts_dkim_key_free(k);
    sts_dkim_key_free(NULL);
}
END_TEST

/* ---- signing ---- */

static const char msg[] = "From: tlsrpt-noreply@mail.sender.example\r\n"
                          "To: tlsrpt@reports.example.net\r\n"
                          "Date: Mon, 03 Aug 2026 00:00:00 +0000\r\n"
                          "Subject: Report Domain: example.net Submitter: mail.sender.example\r\n"
                          " Report-ID: <20260802.example.net.1@mail.sender.example>\r\n"
                          "Message-ID: <20260802.example.net.1.0@mail.sender.example>\r\n"
                          "TLS-Report-Domain: example.net\r\n"
                          "TLS-Report-Submitter: mail.sender.example\r\n"
                          "MIME-Version: 1.0\r\n"
                          "Content-Type: text/plain\r\n"
                          "\r\n"
                          "body  line \r\n\r\n";

static struct sts_dkim_key *load(const char *name)
{
    char path[512], err[256];
    struct sts_dkim_key *k = NULL;
    key_path(path, sizeof(path), name);
    ck_assert_msg(sts_dkim_key_load(path, &k, err, sizeof(err)) == STS_OK, "%s", err);
    return k;
}

START_TEST(test_sign)
{
    struct sts_dkim_key *k = load("rsa2048.pem");
    struct sts_dkim_sign_opts o = {
        .domain = "mail.sender.example", .selector = "tlsrpt", .timestamp = 1785715200};
    char *h = NULL, *h2 = NULL, err[256];
    size_t len = 0, len2 = 0;

    ck_assert_msg(sts_dkim_sign(k, &o, msg, sizeof(msg) - 1, &h, &len, err, sizeof(err)) == STS_OK,
                  "%s", err);
    ck_assert(len == strlen(h));
    const char *start = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; ";
    ck_assert_msg(strncmp(h, start, strlen(start)) == 0, "got %s", h);
    ck_assert(len > 2 && h[len - 2] == '\r' && h[len - 1] == '\n');
    /* unfold (CRLF TAB is folding white space), then look at the tags;
     * w is the field without any white space, for the h= list */
    char *u = malloc(len + 1), *w = malloc(len + 1);
    size_t ul = 0, wl = 0;
    for (size_t i = 0; i < len; i++) {
        if (h[i] == '\r' && i + 2 < len && h[i + 1] == '\n' && h[i + 2] == '\t') {
            u[ul++] = ' ';
            i += 2;
            continue;
        }
        u[ul++] = h[i];
        if (h[i] != ' ' && h[i] != '\t' && h[i] != '\r' && h[i] != '\n')
            w[wl++] = h[i];
    }
    u[ul] = '\0';
    w[wl] = '\0';
    ck_assert_msg(strstr(u, " d=mail.sender.example; ") && strstr(u, " s=tlsrpt; ") &&
                      strstr(u, " t=1785715200; "),
                  "tags: %s", u);
    ck_assert_msg(strstr(w, ";h=From:From:To:To:Subject:Subject:Date:Date:Message-ID:"
                            "Message-ID:MIME-Version:MIME-Version:Content-Type:Content-Type:"
                            "TLS-Report-Domain:TLS-Report-Domain:TLS-Report-Submitter:"
                            "TLS-Report-Submitter:Auto-Submitted:Auto-Submitted;"),
                  "h=: %s", w);
    free(w);
    /* bh= is the SHA-256 of "body line\r\n" (relaxed: runs and trailing
     * white space go, the trailing empty line goes) */
    unsigned char dg[32];
    char want_bh[64];
    EVP_Digest("body line\r\n", 11, dg, NULL, EVP_sha256(), NULL);
    EVP_EncodeBlock((unsigned char *)want_bh, dg, 32);
    ck_assert_msg(strstr(u, want_bh) != NULL, "bh= is not %s: %s", want_bh, u);
    ck_assert(strstr(u, " l=") == NULL && strstr(u, ";l=") == NULL);
    ck_assert(strstr(u, " b=") != NULL);
    free(u);
    /* lines within 78 columns */
    for (const char *p = h, *e; (e = strstr(p, "\r\n")) != NULL; p = e + 2)
        ck_assert_msg(e - p <= 78, "a line of %td: %.*s", e - p, (int)(e - p), p);
    /* deterministic (RSASSA-PKCS1-v1_5) */
    ck_assert(sts_dkim_sign(k, &o, msg, sizeof(msg) - 1, &h2, &len2, NULL, 0) == STS_OK);
    ck_assert(len2 == len && memcmp(h, h2, len) == 0);
    free(h2);
    /* a different body changes bh= and b= */
    char other[sizeof(msg)];
    memcpy(other, msg, sizeof(msg));
    other[sizeof(msg) - 6] = 'X';
    ck_assert(sts_dkim_sign(k, &o, other, sizeof(msg) - 1, &h2, &len2, NULL, 0) == STS_OK);
    ck_assert(len2 != len || memcmp(h, h2, len) != 0);
    free(h2);
    /* no t= when the time is negative; a chosen h= list */
    const char *names[] = {"From", "X-Absent"};
    o.timestamp = -1;
    o.headers = names;
    o.nheaders = 2;
    ck_assert(sts_dkim_sign(k, &o, msg, sizeof(msg) - 1, &h2, &len2, NULL, 0) == STS_OK);
    ck_assert_msg(strstr(h2, "t=") == NULL && strstr(h2, "h=From:X-Absent;") != NULL, "got %s", h2);
    free(h2);
    free(h);
    sts_dkim_key_free(k);
}
END_TEST

START_TEST(test_sign_refusals)
{
    struct sts_dkim_key *k = load("rsa1024.pem");
    struct sts_dkim_sign_opts o = {.domain = "mail.sender.example", .selector = "tlsrpt"};
    char *h = NULL, err[256] = "";
    size_t len;
    const char *colon[] = {"From:"}, *empty[] = {""};

    o.domain = "bad domain";
    ck_assert(sts_dkim_sign(k, &o, msg, sizeof(msg) - 1, &h, &len, err, sizeof(err)) == STS_EINVAL);
    ck_assert_msg(strstr(err, "d=") != NULL, "%s", err);
    o.domain = "mail.sender.example";
    o.selector = "sel;x";
    ck_assert(sts_dkim_sign(k, &o, msg, sizeof(msg) - 1, &h, &len, err, sizeof(err)) == STS_EINVAL);
    o.selector = "tlsrpt";
    o.headers = colon;
    o.nheaders = 1;
    ck_assert(sts_dkim_sign(k, &o, msg, sizeof(msg) - 1, &h, &len, err, sizeof(err)) == STS_EINVAL);
    o.headers = empty;
    ck_assert(sts_dkim_sign(k, &o, msg, sizeof(msg) - 1, &h, &len, err, sizeof(err)) == STS_EINVAL);
    o.headers = colon;
    o.nheaders = 0;
    ck_assert(sts_dkim_sign(k, &o, msg, sizeof(msg) - 1, &h, &len, err, sizeof(err)) == STS_EINVAL);
    o.headers = NULL;
    ck_assert(sts_dkim_sign(k, &o, STR(" folded first\r\n\r\nbody"), &h, &len, err, sizeof(err)) ==
              STS_EINVAL);
    ck_assert(sts_dkim_sign(k, &o, STR("\r\nbody only"), &h, &len, err, sizeof(err)) == STS_EINVAL);
    ck_assert(sts_dkim_sign(k, &o, STR("no colon here\r\n\r\nbody"), &h, &len, err, sizeof(err)) ==
              STS_EINVAL);
    ck_assert(h == NULL);
    /* headers only, no body: signs the empty body */
    ck_assert(sts_dkim_sign(k, &o, STR("From: a@b.example\r\n"), &h, &len, err, sizeof(err)) ==
              STS_OK);
    ck_assert_msg(strstr(h, "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;") != NULL, "%s", h);
    free(h);
    sts_dkim_key_free(k);
}
END_TEST

START_TEST(test_record)
{
    struct sts_dkim_key *k = load("rsa2048.pem");
    char *r = NULL;
    ck_assert(sts_dkim_key_record(k, "tlsrpt", &r, NULL, 0) == STS_OK);
    ck_assert_msg(strncmp(r, "v=DKIM1; k=rsa; s=tlsrpt; p=MIIBIjAN", 36) == 0, "got %s", r);
    free(r);
    ck_assert(sts_dkim_key_record(k, NULL, &r, NULL, 0) == STS_OK);
    ck_assert(strncmp(r, "v=DKIM1; k=rsa; p=MII", 21) == 0);
    free(r);
    sts_dkim_key_free(k);
}
END_TEST

static Suite *dkim_suite(void)
{
    Suite *s = suite_create("dkim");
    TCase *c = tcase_create("canon"), *k = tcase_create("keys");
    tcase_add_loop_test(c, test_canon_header, 0,
                        (int)(sizeof(header_cases) / sizeof(header_cases[0])));
    tcase_add_loop_test(c, test_canon_body, 0, (int)(sizeof(body_cases) / sizeof(body_cases[0])));
    suite_add_tcase(s, c);
    tcase_set_timeout(k, 60);
    tcase_add_unchecked_fixture(k, make_keys, remove_keys);
    tcase_add_loop_test(k, test_key_load, 0, (int)(sizeof(key_cases) / sizeof(key_cases[0])));
    tcase_add_test(k, test_sign);
    tcase_add_test(k, test_sign_refusals);
    tcase_add_test(k, test_record);
    suite_add_tcase(s, k);
    return s;
}

int main(void)
{
    return unit_main(dkim_suite());
}
