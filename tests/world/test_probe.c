/*
 * test_probe.c - a driver for tests/world/probe.sh: one STARTTLS probe
 * (probe.h) of one address, the result printed as key=value lines.
 *
 *   test_probe HOST ADDR [--port N] [--ca FILE] [--tlsa U S M HEX]...
 *              [--version 1.0|1.1|1.2|1.3] [--timeout MS] [--helo NAME]
 *              [--threads N]
 *
 * --threads N runs the same probe N times at once on one shared context
 * (probe.h promises thread safety) and adds threads_agree=1 when every
 * run got the printed result, certificate and TLS version.
 *
 * Exit status: 0 when the probe ran (whatever its result), 1 when
 * sts_probe_ctx_new or sts_probe_run returned an error, 2 on bad usage.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/probe.h"
#include "mtasts/status.h"

#define MAX_TLSA 8
#define MAX_THREADS 64

struct run {
    pthread_t th;
    const struct sts_probe_ctx *ctx;
    const struct sts_probe_request *req;
    struct sts_probe_result res;
    enum sts_status st;
};

static void *run_main(void *arg)
{
    struct run *r = arg;
    r->st = sts_probe_run(r->ctx, r->req, &r->res);
    return NULL;
}

static bool same(const struct sts_probe_result *a, const struct sts_probe_result *b)
{
    return a->result == b->result && strcmp(a->tls_version, b->tls_version) == 0 &&
           strcmp(a->cert_subject, b->cert_subject) == 0 && a->dane_usage == b->dane_usage &&
           a->chain_trusted == b->chain_trusted && a->name_match == b->name_match;
}

static int usage(void)
{
    fprintf(stderr, "usage: test_probe HOST ADDR [--port N] [--ca FILE] [--tlsa U S M HEX]... "
                    "[--version 1.0|1.1|1.2|1.3] [--timeout MS] [--helo NAME] [--threads N]\n");
    return 2;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* HEX into a fresh buffer; NULL when it is not hex. */
static unsigned char *unhex(const char *hex, size_t *len)
{
    size_t n = strlen(hex);
    unsigned char *d;

    if (n % 2 != 0)
        return NULL;
    d = malloc(n / 2 + 1);
    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(d);
            return NULL;
        }
        d[i] = (unsigned char)(hi * 16 + lo);
    }
    *len = n / 2;
    return d;
}

static int parse_version(const char *v)
{
    if (strcmp(v, "1.0") == 0)
        return 0x0301;
    if (strcmp(v, "1.1") == 0)
        return 0x0302;
    if (strcmp(v, "1.2") == 0)
        return 0x0303;
    if (strcmp(v, "1.3") == 0)
        return 0x0304;
    return -1;
}

int main(int argc, char **argv)
{
    struct sts_probe_request req = {0};
    struct sts_probe_tlsa tlsa[MAX_TLSA];
    struct sts_probe_result res;
    struct sts_probe_ctx *ctx = NULL;
    const char *ca = NULL;
    char err[256] = "";
    enum sts_status st;
    int rc = 0, threads = 0, agree = -1;
    struct run *runs = NULL;

    if (argc < 3)
        return usage();
    req.host = argv[1];
    req.addr = argv[2];
    for (int i = 3; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--port") == 0 && i + 1 < argc) {
            req.port = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(o, "--ca") == 0 && i + 1 < argc) {
            ca = argv[++i];
        } else if (strcmp(o, "--timeout") == 0 && i + 1 < argc) {
            req.timeout_ms = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (strcmp(o, "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
            if (threads < 1 || threads > MAX_THREADS)
                return usage();
        } else if (strcmp(o, "--helo") == 0 && i + 1 < argc) {
            req.helo_name = argv[++i];
        } else if (strcmp(o, "--version") == 0 && i + 1 < argc) {
            req.tls_version = parse_version(argv[++i]);
            if (req.tls_version < 0)
                return usage();
        } else if (strcmp(o, "--tlsa") == 0 && i + 4 < argc && req.tlsa_count < MAX_TLSA) {
            struct sts_probe_tlsa *t = &tlsa[req.tlsa_count];
            t->usage = (uint8_t)atoi(argv[i + 1]);
            t->selector = (uint8_t)atoi(argv[i + 2]);
            t->mtype = (uint8_t)atoi(argv[i + 3]);
            t->data = unhex(argv[i + 4], &t->len);
            if (t->data == NULL) {
                fprintf(stderr, "test_probe: bad TLSA data: %s\n", argv[i + 4]);
                return 2;
            }
            req.tlsa_count++;
            i += 4;
        } else {
            return usage();
        }
    }
    req.tlsa = req.tlsa_count > 0 ? tlsa : NULL;

    st = sts_probe_ctx_new(ca, NULL, &ctx, err, sizeof(err));
    if (st != STS_OK) {
        fprintf(stderr, "test_probe: %s: %s\n", sts_status_word(st), err);
        rc = 1;
        goto out;
    }
    if (threads > 0) {
        runs = calloc((size_t)threads, sizeof(*runs));
        if (runs == NULL) {
            rc = 1;
            goto out;
        }
        for (int t = 0; t < threads; t++) {
            runs[t].ctx = ctx;
            runs[t].req = &req;
            if (pthread_create(&runs[t].th, NULL, run_main, &runs[t]) != 0) {
                fprintf(stderr, "test_probe: pthread_create failed\n");
                exit(1);
            }
        }
        agree = 1;
        for (int t = 0; t < threads; t++) {
            pthread_join(runs[t].th, NULL);
            if (runs[t].st != STS_OK || !same(&runs[t].res, &runs[0].res))
                agree = 0;
        }
        st = runs[0].st;
        res = runs[0].res;
    } else {
        st = sts_probe_run(ctx, &req, &res);
    }
    if (st != STS_OK) {
        fprintf(stderr, "test_probe: sts_probe_run: %s\n", sts_status_word(st));
        rc = 1;
        goto out;
    }
    printf("result=%s\n", sts_tls_result_name(res.result));
    printf("failure=%d\n", sts_tls_result_is_failure(res.result));
    printf("detail=%s\n", res.detail);
    printf("smtp_code=%d\n", res.smtp_code);
    printf("starttls_offered=%d\n", res.starttls_offered);
    printf("handshake_done=%d\n", res.handshake_done);
    printf("tls_version=%s\n", res.tls_version);
    printf("cipher=%s\n", res.cipher);
    printf("cipher_modern=%d\n", sts_probe_cipher_is_modern(res.cipher));
    printf("have_cert=%d\n", res.have_cert);
    printf("cert_subject=%s\n", res.cert_subject);
    printf("cert_issuer=%s\n", res.cert_issuer);
    printf("cert_sans=%s\n", res.cert_sans);
    printf("cert_not_after=%lld\n", (long long)res.cert_not_after);
    printf("chain_trusted=%d\n", res.chain_trusted);
    printf("name_match=%d\n", res.name_match);
    printf("dane_used=%d\n", res.dane_used);
    printf("dane_matched=%d\n", res.dane_matched);
    printf("dane_usage=%d\n", res.dane_usage);
    printf("ms=%.1f\n", res.ms);
    if (agree >= 0)
        printf("threads_agree=%d\n", agree);
out:
    free(runs);
    for (size_t i = 0; i < req.tlsa_count; i++)
        free((void *)tlsa[i].data);
    sts_probe_ctx_free(ctx);
    return rc;
}
