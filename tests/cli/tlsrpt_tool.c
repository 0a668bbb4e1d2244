/*
 * tlsrpt_tool.c - a test helper (not installed) that exposes the TLS
 * report builders to the CLI-tier checks, which hand their output to
 * independent tools (python3-jsonschema, python3's email module,
 * python3-dkim, gzip(1)).  Until `mtasts report build` exists this is the
 * way to get a report, a mail or a signature out of the C code.
 *
 *   tlsrpt_tool list                        fixture names, one a line
 *   tlsrpt_tool report NAME [--pretty]      the fixture's JSON
 *   tlsrpt_tool mail NAME                   the fixture's .eml (unsigned)
 *   tlsrpt_tool sign KEY DOMAIN SELECTOR T  stdin message -> signed on stdout
 *   tlsrpt_tool record KEY                  the DKIM TXT record (s=tlsrpt)
 *   tlsrpt_tool key KEY                     "bits N", or the refusal on stderr
 *   tlsrpt_tool gzip | gunzip               stdin -> stdout
 *
 * Exit 0 on success, 1 on a refusal (its reason on stderr), 2 on usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/tlsrpt_fixtures.h"
#include "mtasts/dkim.h"
#include "mtasts/gzip.h"
#include "mtasts/tlsrpt_mail.h"
#include "mtasts/tlsrpt_report.h"

#define INPUT_MAX (64u * 1024 * 1024)

static int usage(void)
{
    fputs("usage: tlsrpt_tool list | report NAME [--pretty] | mail NAME |\n"
          "       sign KEY DOMAIN SELECTOR TIME | record KEY | key KEY | gzip | gunzip\n",
          stderr);
    return 2;
}

static unsigned char *read_all(FILE *f, size_t *len)
{
    size_t cap = 65536, n;
    unsigned char *p = malloc(cap);
    *len = 0;
    while (p != NULL && (n = fread(p + *len, 1, cap - *len, f)) > 0) {
        *len += n;
        if (*len == cap) {
            unsigned char *np = cap < INPUT_MAX ? realloc(p, cap * 2) : NULL;
            if (np == NULL) {
                free(p);
                return NULL;
            }
            p = np;
            cap *= 2;
        }
    }
    return p;
}

static int fail(const char *what, const char *err)
{
    fprintf(stderr, "tlsrpt_tool: %s: %s\n", what, err);
    return 1;
}

static int build(const char *name, bool pretty, struct sts_tlsrpt_built *b,
                 const struct tlsrpt_fixture **fx)
{
    char err[512];
    const struct tlsrpt_fixture *f = tlsrpt_fixture_find(name);
    if (f == NULL)
        return fail(name, "no such fixture");
    struct sts_tlsrpt_limits lim = {.max_failure_rows = f->max_failure_rows, .pretty = pretty};
    if (sts_tlsrpt_report_build(&f->report, &lim, b, err, sizeof(err)) != STS_OK)
        return fail(name, err);
    *fx = f;
    return 0;
}

static int cmd_mail(const char *name)
{
    struct sts_tlsrpt_built b;
    const struct tlsrpt_fixture *f;
    struct sts_tlsrpt_mail m;
    unsigned char *gz = NULL;
    size_t gzlen = 0, len = 0;
    char *msg = NULL, err[512];
    int rc = build(name, false, &b, &f);
    if (rc != 0)
        return rc;
    if (sts_gzip_compress(b.json, b.json_len, 0, 5u << 20, &gz, &gzlen, err, sizeof(err)) != STS_OK)
        rc = fail("gzip", err);
    tlsrpt_fixture_mail(&b, f->report.day, f->report.policy_domain, gz, gzlen, &m);
    if (rc == 0 && sts_tlsrpt_mail_build(&m, &msg, &len, err, sizeof(err)) != STS_OK)
        rc = fail("mail", err);
    if (rc == 0)
        fwrite(msg, 1, len, stdout);
    free(msg);
    free(gz);
    sts_tlsrpt_built_clear(&b);
    return rc;
}

static int cmd_sign(const char *key, const char *domain, const char *selector, const char *t)
{
    struct sts_dkim_key *k = NULL;
    struct sts_dkim_sign_opts o = {
        .domain = domain, .selector = selector, .timestamp = strtoll(t, NULL, 10)};
    char *h = NULL, err[512];
    size_t len = 0, hlen = 0;
    unsigned char *msg = read_all(stdin, &len);
    int rc = 0;
    if (msg == NULL)
        return fail("stdin", "cannot read");
    if (sts_dkim_key_load(key, &k, err, sizeof(err)) != STS_OK)
        rc = fail("key", err);
    else if (sts_dkim_sign(k, &o, (const char *)msg, len, &h, &hlen, err, sizeof(err)) != STS_OK)
        rc = fail("sign", err);
    if (rc == 0) {
        fwrite(h, 1, hlen, stdout);
        fwrite(msg, 1, len, stdout);
    }
    free(h);
    free(msg);
    sts_dkim_key_free(k);
    return rc;
}

static int cmd_key(const char *key, bool record)
{
    struct sts_dkim_key *k = NULL;
    char err[512], *r = NULL;
    if (sts_dkim_key_load(key, &k, err, sizeof(err)) != STS_OK)
        return fail("key", err);
    if (!record)
        printf("bits %u\n", sts_dkim_key_bits(k));
    else if (sts_dkim_key_record(k, "tlsrpt", &r, err, sizeof(err)) == STS_OK)
        printf("%s\n", r);
    free(r);
    sts_dkim_key_free(k);
    return 0;
}

static int cmd_zip(bool compress)
{
    size_t len = 0, olen = 0;
    unsigned char *in = read_all(stdin, &len), *out = NULL;
    char err[512];
    enum sts_status st;
    if (in == NULL)
        return fail("stdin", "cannot read");
    st = compress ? sts_gzip_compress(in, len, 0, INPUT_MAX, &out, &olen, err, sizeof(err))
                  : sts_gzip_decompress(in, len, INPUT_MAX, &out, &olen, err, sizeof(err));
    free(in);
    if (st != STS_OK)
        return fail(compress ? "gzip" : "gunzip", err);
    fwrite(out, 1, olen, stdout);
    free(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *c = argv[1];
    if (strcmp(c, "list") == 0 && argc == 2) {
        for (size_t i = 0; i < tlsrpt_nfixtures; i++)
            printf("%s%s\n", tlsrpt_fixtures[i].name, tlsrpt_fixtures[i].mail ? " mail" : "");
        return 0;
    }
    if (strcmp(c, "report") == 0 && (argc == 3 || (argc == 4 && !strcmp(argv[3], "--pretty")))) {
        struct sts_tlsrpt_built b;
        const struct tlsrpt_fixture *f;
        int rc = build(argv[2], argc == 4, &b, &f);
        if (rc == 0)
            printf("%s\n", b.json);
        sts_tlsrpt_built_clear(&b);
        return rc;
    }
    if (strcmp(c, "mail") == 0 && argc == 3)
        return cmd_mail(argv[2]);
    if (strcmp(c, "sign") == 0 && argc == 6)
        return cmd_sign(argv[2], argv[3], argv[4], argv[5]);
    if ((strcmp(c, "record") == 0 || strcmp(c, "key") == 0) && argc == 3)
        return cmd_key(argv[2], c[0] == 'r');
    if ((strcmp(c, "gzip") == 0 || strcmp(c, "gunzip") == 0) && argc == 2)
        return cmd_zip(c[1] == 'z');
    return usage();
}
