/*
 * probe.c - one STARTTLS probe of one MX address (RFC 8461 §4.2, RFC 7672,
 * result names of RFC 8460 §4.3).  With probe_io.c (the socket, the
 * deadline, SMTP replies) and probe_int.h, the only files that do the
 * OpenSSL STARTTLS probe.
 *
 * One call = one socket, one SSL object and one struct probe of its own; the
 * shared SSL_CTX (trust store, DANE enabled, verify callback) is only read,
 * so no locks.  The steps, all against one deadline (CLOCK_MONOTONIC):
 *
 *   1. non-blocking connect, poll() for writability, SO_ERROR;
 *   2. the banner (220, possibly multi-line), EHLO helo_name, STARTTLS in
 *      the EHLO keywords, STARTTLS -> 220; any byte the server sent after
 *      that 220 is refused (plaintext injection, CVE-2011-0411 class);
 *   3. the TLS handshake over two memory BIOs: OpenSSL never touches the
 *      socket, we move the bytes with recv() and send(MSG_NOSIGNAL), so
 *      the deadline holds and SIGPIPE is never raised;
 *   4. the verify callback notes every X509 error and returns 1, so the
 *      handshake completes and the leaf can be reported; the notes are
 *      then classified (probe_classify);
 *   5. QUIT over whatever channel we are on, a short wait for the 221
 *      (PROBE_QUIT_WAIT_MS), close_notify, close.  No MAIL is ever sent.
 *
 * Result mapping:
 *   - no TCP connection, deadline or EOF before the STARTTLS reply, a
 *     non-220 or malformed banner: unreachable (says nothing about TLS);
 *   - EHLO refused, no STARTTLS keyword, STARTTLS answered with non-220:
 *     starttls-not-supported;
 *   - the handshake fails: validation-failure, with a detail naming an old
 *     protocol when the server only speaks TLS < 1.2;
 *   - DANE (TLSA records given): no record matched (or none was usable):
 *     tlsa-invalid; otherwise the WebPKI classes below (DANE-TA checks the
 *     chain to the anchor, its dates and the name; DANE-EE nothing else);
 *   - WebPKI verification errors, highest priority first:
 *       certificate-not-trusted: no chain to a trusted root (also a bad
 *         signature in the chain).  Trust comes first because an untrusted
 *         certificate's dates and names are the claims of an unknown
 *         party: reporting "host mismatch" for a self-signed certificate
 *         would send the operator after the wrong fault;
 *       certificate-expired (or not yet valid, any depth): a certificate
 *         outside its validity period is no longer vouched for by its CA,
 *         so the names in it are not attested either;
 *       certificate-host-mismatch: a trusted, current certificate that
 *         does not name the MX host;
 *       validation-failure: anything else (purpose, policy, ...).
 *     This is the order in which a receiving operator has to fix things;
 *     OpenSSL's own order (name check before dates) is an implementation
 *     detail of its chain walk.
 */
#include "mtasts/probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "mtasts/metrics.h"
#include "probe_int.h"

/* ----- the cipher list ----- */

/*
 * NIST SP 800-52r2 §3.3.1, restricted to AEAD suites: §3.3.1.2 (TLS 1.3:
 * AES-GCM and AES-CCM; TLS_CHACHA20_POLY1305_SHA256 is not on NIST's list)
 * and §3.3.1.1 (TLS 1.2: ephemeral ECDHE with ECDSA or RSA, DHE with RSA,
 * AES-128/256 in GCM or CCM; the CBC suites NIST still tolerates are left
 * out).  OpenSSL's names.
 */
static const char *const modern_ciphers[] = {
    "TLS_AES_128_GCM_SHA256",    "TLS_AES_256_GCM_SHA384",        "TLS_AES_128_CCM_SHA256",
    "TLS_AES_128_CCM_8_SHA256",  "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-CCM",    "ECDHE-ECDSA-AES256-CCM",        "ECDHE-ECDSA-AES128-CCM8",
    "ECDHE-ECDSA-AES256-CCM8",   "ECDHE-RSA-AES128-GCM-SHA256",   "ECDHE-RSA-AES256-GCM-SHA384",
    "DHE-RSA-AES128-GCM-SHA256", "DHE-RSA-AES256-GCM-SHA384",     "DHE-RSA-AES128-CCM",
    "DHE-RSA-AES256-CCM",        "DHE-RSA-AES128-CCM8",           "DHE-RSA-AES256-CCM8",
};

bool sts_probe_cipher_is_modern(const char *cipher)
{
    if (cipher == NULL)
        return false;
    for (size_t i = 0; i < sizeof(modern_ciphers) / sizeof(modern_ciphers[0]); i++)
        if (strcmp(cipher, modern_ciphers[i]) == 0)
            return true;
    return false;
}

/* ----- the shared context ----- */

/*
 * Note every verification error and carry on (return 1): the handshake
 * completes, the leaf is reported, and probe_classify() decides.  The SSL
 * object's app data (ex_data 0) is the struct probe; a verification
 * outside a probe (chain_trusted in DANE mode) puts its notes in the store
 * context's app data instead.
 */
static void verify_note(struct verify_notes *n, int code, int depth)
{
    enum verify_class c;

    switch (code) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
        c = VC_NOT_TRUSTED;
        break;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
        c = VC_EXPIRED;
        break;
    case X509_V_ERR_HOSTNAME_MISMATCH:
        c = VC_HOST;
        break;
    case X509_V_ERR_DANE_NO_MATCH:
        c = VC_TLSA;
        break;
    default:
        c = VC_OTHER;
        break;
    }
    if (!(n->seen & (1u << c))) {
        n->seen |= 1u << c;
        n->code[c] = code;
        n->depth[c] = depth;
    }
}

static int probe_verify_cb(int ok, X509_STORE_CTX *sctx)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct probe *p = ssl != NULL ? SSL_get_app_data(ssl) : NULL;

    if (!ok && p != NULL)
        verify_note(&p->notes, X509_STORE_CTX_get_error(sctx),
                    X509_STORE_CTX_get_error_depth(sctx));
    return 1;
}

static int webpki_verify_cb(int ok, X509_STORE_CTX *sctx)
{
    struct verify_notes *n = X509_STORE_CTX_get_app_data(sctx);

    if (!ok && n != NULL)
        verify_note(n, X509_STORE_CTX_get_error(sctx), X509_STORE_CTX_get_error_depth(sctx));
    return 1;
}

/*
 * OpenSSL 3.0 caches a certificate's X509v3 extensions (key identifiers,
 * flags) on first use, writing under the certificate's lock while other
 * verifications may read them without it (ThreadSanitizer sees the race
 * when probes run in parallel on one store).  Fill the caches of every
 * certificate loaded into the store now, while the context is private to
 * its creator; afterwards verification only reads them.  (A hashed CA
 * directory loads certificates lazily, per lookup, into the same store;
 * those are cached the same way, under the store's lock, on first use.)
 */
static void ctx_warm_store(SSL_CTX *ssl_ctx)
{
    X509_STORE *store = SSL_CTX_get_cert_store(ssl_ctx);
    STACK_OF(X509_OBJECT) *objs = store != NULL ? X509_STORE_get0_objects(store) : NULL;

    for (int i = 0; objs != NULL && i < sk_X509_OBJECT_num(objs); i++) {
        X509 *x = X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, i));
        if (x != NULL)
            (void)X509_check_purpose(x, -1, 0); /* -1: only fill the cache */
    }
    ERR_clear_error();
}

enum sts_status sts_probe_ctx_new(const char *ca_file, const char *ca_path,
                                  struct sts_probe_ctx **out, char *err, size_t errlen)
{
    struct sts_probe_ctx *c;
    unsigned long e;

    if (out == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "probe: no output pointer");
    *out = NULL;
    if (OPENSSL_init_ssl(0, NULL) != 1)
        return sts_status_set(STS_ENOMEM, err, errlen, "probe: OpenSSL initialisation failed");
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "probe: out of memory");
    ERR_clear_error();
    c->ssl_ctx = SSL_CTX_new(TLS_client_method());
    if (c->ssl_ctx == NULL) {
        free(c);
        return sts_status_set(STS_ENOMEM, err, errlen, "probe: SSL_CTX_new failed");
    }
    if (ca_file != NULL || ca_path != NULL) {
        if (SSL_CTX_load_verify_locations(c->ssl_ctx, ca_file, ca_path) != 1) {
            e = ERR_peek_last_error();
            ERR_clear_error();
            sts_probe_ctx_free(c);
            return sts_status_set(STS_EINVAL, err, errlen, "probe: cannot load CA %s %s: %s",
                                  ca_file != NULL ? "file" : "path",
                                  ca_file != NULL ? ca_file : ca_path,
                                  e != 0 ? ERR_reason_error_string(e) : "unknown error");
        }
    } else if (SSL_CTX_set_default_verify_paths(c->ssl_ctx) != 1) {
        ERR_clear_error();
        sts_probe_ctx_free(c);
        return sts_status_set(STS_EINVAL, err, errlen, "probe: cannot load the default CA store");
    }
    if (SSL_CTX_dane_enable(c->ssl_ctx) <= 0 ||
        SSL_CTX_set_min_proto_version(c->ssl_ctx, TLS1_2_VERSION) != 1) {
        ERR_clear_error();
        sts_probe_ctx_free(c);
        return sts_status_set(STS_ENOMEM, err, errlen, "probe: SSL_CTX setup failed");
    }
    ctx_warm_store(c->ssl_ctx);
    SSL_CTX_set_verify(c->ssl_ctx, SSL_VERIFY_PEER, probe_verify_cb);
    SSL_CTX_set_session_cache_mode(c->ssl_ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(c->ssl_ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION);
    *out = c;
    return STS_OK;
}

void sts_probe_ctx_free(struct sts_probe_ctx *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* ----- the TLS session ----- */

static int tls_setup(struct probe *p)
{
    const struct sts_probe_request *req = p->req;
    struct sts_probe_result *out = p->out;

    p->ssl = SSL_new(p->ctx->ssl_ctx);
    p->rbio = BIO_new(BIO_s_mem());
    p->wbio = BIO_new(BIO_s_mem());
    if (p->ssl == NULL || p->rbio == NULL || p->wbio == NULL) {
        BIO_free(p->rbio);
        BIO_free(p->wbio);
        p->rbio = p->wbio = NULL;
        return -2;
    }
    BIO_set_mem_eof_return(p->rbio, -1); /* empty = "retry" until the socket says EOF */
    SSL_set_bio(p->ssl, p->rbio, p->wbio);
    SSL_set_app_data(p->ssl, p);
    SSL_set_connect_state(p->ssl);
    if (req->tls_version != 0) {
        if (SSL_set_min_proto_version(p->ssl, req->tls_version) != 1 ||
            SSL_set_max_proto_version(p->ssl, req->tls_version) != 1)
            return -2;
        if (req->tls_version < TLS1_2_VERSION) {
            /* Old versions need SHA-1/MD5 signatures and old suites: let
             * this one connection see them (the checker's version scan). */
            SSL_set_security_level(p->ssl, 0);
            if (SSL_set_cipher_list(p->ssl, "DEFAULT:@SECLEVEL=0") != 1)
                return -2;
        }
    }
    if (SSL_set_tlsext_host_name(p->ssl, p->host) != 1)
        return -2;
    if (req->tlsa_count > 0) {
        out->dane_used = true;
        if (SSL_dane_enable(p->ssl, p->host) <= 0)
            return -2;
        /* RFC 7672 §3.1.1: DANE-EE(3) ignores names (and, in OpenSSL,
         * dates); DANE-TA(2) keeps the name check (§3.2.2). */
        SSL_dane_set_flags(p->ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
        for (size_t i = 0; i < req->tlsa_count; i++) {
            const struct sts_probe_tlsa *t = &req->tlsa[i];
            if (t->usage != 2 && t->usage != 3)
                continue; /* PKIX-TA/EE: unusable for SMTP (§3.1.3) */
            if (SSL_dane_tlsa_add(p->ssl, t->usage, t->selector, t->mtype, t->data, t->len) > 0)
                p->tlsa_usable++;
        }
        ERR_clear_error();
    } else if (SSL_set1_host(p->ssl, p->host) != 1) {
        return -2;
    }
    SSL_set_hostflags(p->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return 0;
}

static bool reason_is_old_protocol(unsigned long e)
{
    if (ERR_GET_LIB(e) != ERR_LIB_SSL)
        return false;
    switch (ERR_GET_REASON(e)) {
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_VERSION_TOO_LOW:
    case SSL_R_WRONG_SSL_VERSION:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
        return true;
    default:
        return false;
    }
}

static int tls_handshake(struct probe *p)
{
    for (;;) {
        int r;
        enum io_end e;
        ERR_clear_error();
        r = SSL_do_handshake(p->ssl);
        if (r == 1) {
            (void)probe_tls_flush(p);
            return 0;
        }
        e = probe_tls_step(p, r);
        if (e == IO_OK)
            continue;
        if (e == IO_ERROR && SSL_get_error(p->ssl, r) == SSL_ERROR_SSL) {
            unsigned long err = ERR_peek_last_error();
            const char *why = ERR_reason_error_string(err);
            if (why == NULL)
                why = "unknown error";
            if (p->req->tls_version == 0 && reason_is_old_protocol(err))
                return probe_fail(p, STS_TLS_VALIDATION_FAILURE,
                                  "TLS handshake: %s (the server offers no TLS 1.2 or later)", why);
            return probe_fail(p, STS_TLS_VALIDATION_FAILURE, "TLS handshake: %s", why);
        }
        return probe_fail(p, STS_TLS_VALIDATION_FAILURE, "TLS handshake: %s",
                          probe_io_end_text(p, e));
    }
}

/* ----- the leaf certificate ----- */

static void copy_name(const X509_NAME *name, char *dst, size_t cap)
{
    BIO *b = BIO_new(BIO_s_mem());
    char tmp[512];
    int n;

    dst[0] = '\0';
    if (b == NULL)
        return;
    if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253) >= 0) {
        n = BIO_read(b, tmp, sizeof(tmp));
        if (n > 0)
            sts_status_quote(tmp, (size_t)n, dst, cap);
    }
    BIO_free(b);
}

static void copy_sans(X509 *leaf, char *dst, size_t cap)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    size_t o = 0;

    dst[0] = '\0';
    if (gens == NULL)
        return;
    for (int i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        char one[260];
        size_t len;
        if (g->type != GEN_DNS)
            continue;
        sts_status_quote((const char *)ASN1_STRING_get0_data(g->d.dNSName),
                         (size_t)ASN1_STRING_length(g->d.dNSName), one, sizeof(one));
        len = strlen(one);
        if (o + (o > 0) + len + 4 >= cap) { /* no room: say so and stop */
            if (o + 4 < cap)
                memcpy(dst + o, ",...", 5);
            break;
        }
        if (o > 0)
            dst[o++] = ',';
        memcpy(dst + o, one, len + 1);
        o += len;
    }
    GENERAL_NAMES_free(gens);
}

static int64_t asn1_time_unix(const ASN1_TIME *t)
{
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    int days = 0, secs = 0;
    int64_t r = 0;

    if (epoch != NULL && ASN1_TIME_diff(&days, &secs, epoch, t) == 1)
        r = (int64_t)days * 86400 + secs;
    ASN1_TIME_free(epoch);
    return r;
}

/* chain_trusted in DANE mode: verify the presented chain against the
 * store alone, as WebPKI would (no names, no DANE). */
static bool webpki_chain_trusted(struct probe *p, X509 *leaf)
{
    X509_STORE_CTX *sctx = X509_STORE_CTX_new();
    struct verify_notes n;
    bool ok = false;

    memset(&n, 0, sizeof(n));
    if (sctx == NULL)
        return false;
    if (X509_STORE_CTX_init(sctx, SSL_CTX_get_cert_store(p->ctx->ssl_ctx), leaf,
                            SSL_get_peer_cert_chain(p->ssl)) == 1) {
        X509_STORE_CTX_set_default(sctx, "ssl_server");
        X509_STORE_CTX_set_app_data(sctx, &n);
        X509_STORE_CTX_set_verify_cb(sctx, webpki_verify_cb);
        if (X509_verify_cert(sctx) == 1)
            ok = !(n.seen & ((1u << VC_NOT_TRUSTED) | (1u << VC_OTHER)));
    }
    X509_STORE_CTX_free(sctx);
    ERR_clear_error();
    return ok;
}

static void probe_leaf(struct probe *p)
{
    struct sts_probe_result *out = p->out;
    X509 *leaf = SSL_get0_peer_certificate(p->ssl);

    if (leaf == NULL)
        return;
    out->have_cert = true;
    copy_name(X509_get_subject_name(leaf), out->cert_subject, sizeof(out->cert_subject));
    copy_name(X509_get_issuer_name(leaf), out->cert_issuer, sizeof(out->cert_issuer));
    copy_sans(leaf, out->cert_sans, sizeof(out->cert_sans));
    out->cert_not_after = asn1_time_unix(X509_get0_notAfter(leaf));
    out->name_match =
        X509_check_host(leaf, p->host, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
    if (out->dane_used)
        out->chain_trusted = webpki_chain_trusted(p, leaf);
    else
        out->chain_trusted = !(p->notes.seen & ((1u << VC_NOT_TRUSTED) | (1u << VC_OTHER)));
}

static void fail_verify(struct probe *p, enum sts_tls_result r, enum verify_class c)
{
    probe_fail(p, r, "certificate verify failed: %s (depth %d)",
               X509_verify_cert_error_string(p->notes.code[c]), p->notes.depth[c]);
}

/* The verdict on a completed handshake (priorities: see the top). */
static void probe_classify(struct probe *p)
{
    struct sts_probe_result *out = p->out;
    unsigned seen = p->notes.seen;

    if (!out->have_cert) {
        probe_fail(p, STS_TLS_VALIDATION_FAILURE, "no server certificate");
        return;
    }
    if (out->dane_used) {
        uint8_t usage = 0, sel, mt;
        if (p->tlsa_usable == 0) {
            probe_fail(p, STS_TLS_TLSA_INVALID, "no usable TLSA record among %zu",
                       p->req->tlsa_count);
            return;
        }
        if (seen & (1u << VC_TLSA)) {
            probe_fail(p, STS_TLS_TLSA_INVALID, "no TLSA record matched the certificate chain");
            return;
        }
        if (seen == 0 && SSL_get0_dane_authority(p->ssl, NULL, NULL) >= 0 &&
            SSL_get0_dane_tlsa(p->ssl, &usage, &sel, &mt, NULL, NULL) >= 0) {
            out->dane_matched = true;
            out->dane_usage = usage;
        }
    }
    if (seen & (1u << VC_NOT_TRUSTED))
        fail_verify(p, STS_TLS_CERT_NOT_TRUSTED, VC_NOT_TRUSTED);
    else if (seen & (1u << VC_OTHER))
        fail_verify(p, STS_TLS_VALIDATION_FAILURE, VC_OTHER);
    else if (seen & (1u << VC_EXPIRED))
        fail_verify(p, STS_TLS_CERT_EXPIRED, VC_EXPIRED);
    else if (seen & (1u << VC_HOST))
        fail_verify(p, STS_TLS_CERT_HOST_MISMATCH, VC_HOST);
    else if (out->dane_used && !out->dane_matched)
        probe_fail(p, STS_TLS_TLSA_INVALID, "DANE authentication did not succeed");
    else if (SSL_get_verify_result(p->ssl) != X509_V_OK)
        probe_fail(p, STS_TLS_VALIDATION_FAILURE, "certificate verify failed: %s",
                   X509_verify_cert_error_string(SSL_get_verify_result(p->ssl)));
}

/* ----- the probe ----- */

static bool request_ok(const struct sts_probe_request *req, char *host, size_t hostcap)
{
    struct in6_addr a6;
    struct in_addr a4;
    size_t hl;

    if (req == NULL || req->host == NULL || req->addr == NULL)
        return false;
    hl = strlen(req->host);
    if (hl > 0 && req->host[hl - 1] == '.')
        hl--;
    if (hl == 0 || hl >= hostcap)
        return false;
    for (size_t i = 0; i < hl; i++) {
        unsigned char c = (unsigned char)req->host[i];
        if (c <= 0x20 || c >= 0x7f)
            return false;
    }
    memcpy(host, req->host, hl);
    host[hl] = '\0';
    if (inet_pton(AF_INET, req->addr, &a4) != 1 && inet_pton(AF_INET6, req->addr, &a6) != 1)
        return false;
    if (req->port > 65535)
        return false;
    if (req->helo_name != NULL) {
        size_t n = strlen(req->helo_name);
        if (n == 0 || n > 255)
            return false;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)req->helo_name[i];
            if (c <= 0x20 || c >= 0x7f)
                return false;
        }
    }
    if (req->tls_version != 0 && req->tls_version != TLS1_VERSION &&
        req->tls_version != TLS1_1_VERSION && req->tls_version != TLS1_2_VERSION &&
        req->tls_version != TLS1_3_VERSION)
        return false;
    if (req->tlsa_count > 0 && req->tlsa == NULL)
        return false;
    for (size_t i = 0; i < req->tlsa_count; i++)
        if (req->tlsa[i].len > 0 && req->tlsa[i].data == NULL)
            return false;
    return true;
}

/* Banner, EHLO, STARTTLS; 0 when the server said 220 to STARTTLS. */
static int probe_smtp(struct probe *p)
{
    struct smtp_reply r;
    char cmd[300];

    if (probe_smtp_exchange(p, "banner", NULL, &r) < 0)
        return -1;
    if (r.code != 220)
        return probe_fail(p, STS_TLS_UNREACHABLE, "banner: %s", r.first);
    snprintf(cmd, sizeof(cmd), "EHLO %s\r\n",
             p->req->helo_name != NULL ? p->req->helo_name : PROBE_DEFAULT_HELO);
    if (probe_smtp_exchange(p, "EHLO", cmd, &r) < 0)
        return -1;
    if (r.code != 250)
        return probe_fail(p, STS_TLS_STARTTLS_NOT_SUPPORTED, "EHLO refused: %s", r.first);
    if (!r.starttls)
        return probe_fail(p, STS_TLS_STARTTLS_NOT_SUPPORTED, "no STARTTLS in the EHLO reply");
    p->out->starttls_offered = true;
    if (probe_smtp_exchange(p, "STARTTLS", "STARTTLS\r\n", &r) < 0)
        return -1;
    if (r.code != 220)
        return probe_fail(p, STS_TLS_STARTTLS_NOT_SUPPORTED, "STARTTLS refused: %s", r.first);
    if (p->blen > 0)
        return probe_fail(p, STS_TLS_VALIDATION_FAILURE,
                          "the server sent %zu plaintext bytes after its STARTTLS reply", p->blen);
    return 0;
}

enum sts_status sts_probe_run(const struct sts_probe_ctx *ctx, const struct sts_probe_request *req,
                              struct sts_probe_result *out)
{
    struct probe *p;
    enum sts_status st = STS_OK;
    int r;

    if (out == NULL)
        return STS_EINVAL;
    memset(out, 0, sizeof(*out));
    out->dane_usage = -1;
    if (ctx == NULL)
        return STS_EINVAL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return STS_ENOMEM;
    if (!request_ok(req, p->host, sizeof(p->host))) {
        free(p);
        return STS_EINVAL;
    }
    p->ctx = ctx;
    p->req = req;
    p->out = out;
    p->fd = -1;
    p->start_ms = sts_clock_mono_ms();
    p->start_msf = sts_clock_mono_msf();
    p->deadline_ms =
        p->start_ms + (req->timeout_ms != 0 ? req->timeout_ms : PROBE_DEFAULT_TIMEOUT_MS);
    out->result = STS_TLS_PASS;

    if (probe_connect(p) < 0)
        goto done;
    r = probe_smtp(p);
    if (r < 0) {
        if (!p->eof && out->result != STS_TLS_UNREACHABLE)
            probe_smtp_quit(p);
        else if (out->result == STS_TLS_UNREACHABLE && out->smtp_code >= 400)
            probe_smtp_quit(p); /* RFC 5321 §3.1: after a 554 greeting, QUIT */
        goto done;
    }
    r = tls_setup(p);
    if (r < 0) {
        st = STS_ENOMEM;
        goto done;
    }
    if (tls_handshake(p) < 0)
        goto done;
    out->handshake_done = true;
    snprintf(out->tls_version, sizeof(out->tls_version), "%s", SSL_get_version(p->ssl));
    snprintf(out->cipher, sizeof(out->cipher), "%s", SSL_get_cipher_name(p->ssl));
    probe_leaf(p);
    probe_classify(p);
    probe_smtp_quit(p);
done:
    if (p->ssl != NULL)
        SSL_free(p->ssl); /* frees both BIOs */
    if (p->fd >= 0)
        close(p->fd);
    ERR_clear_error();
    if (!p->failed) {
        out->result = STS_TLS_PASS;
        snprintf(out->detail, sizeof(out->detail), "%s", "ok");
    }
    if (st != STS_OK) {
        memset(out, 0, sizeof(*out));
        out->dane_usage = -1;
    }
    out->ms = sts_clock_mono_msf() - p->start_msf;
    sts_metrics_probe(out->result, out->dane_used, out->ms / 1e3);
    free(p);
    return st;
}
