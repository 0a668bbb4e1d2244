/*
 * dkim.c - RFC 6376 rsa-sha256 relaxed/relaxed signing with OpenSSL 3.
 * See dkim.h for what is signed and how the field is laid out.
 */
#include "mtasts/dkim.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mtasts/domain.h"

#define DKIM_KEY_FILE_MAX (64 * 1024) /* a 16384-bit PEM key is ~13 KiB */
#define DKIM_FOLD_AT 78

struct sts_dkim_key {
    EVP_PKEY *pkey;
    unsigned bits;
};

const char *const sts_dkim_default_headers[] = {
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "TLS-Report-Domain",
    "TLS-Report-Submitter",
    "Auto-Submitted",
    NULL,
};

/* ---- a growing buffer: the first failed allocation sticks -------------- */

struct dbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void dbuf_add(struct dbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
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

static void dbuf_str(struct dbuf *b, const char *s)
{
    dbuf_add(b, s, strlen(s));
}

static enum sts_status dbuf_take(struct dbuf *b, char **out, size_t *outlen)
{
    if (b->oom || b->p == NULL) {
        free(b->p);
        if (!b->oom) { /* empty result */
            *out = calloc(1, 1);
            *outlen = 0;
            return *out != NULL ? STS_OK : STS_ENOMEM;
        }
        *out = NULL;
        *outlen = 0;
        return STS_ENOMEM;
    }
    *out = b->p;
    *outlen = b->len;
    return STS_OK;
}

static bool is_wsp(char c)
{
    return c == ' ' || c == '\t';
}

/* ---- canonicalisation (RFC 6376 §3.4.2, §3.4.4) -------------------------- */

enum sts_status sts_dkim_canon_header_relaxed(const char *field, size_t len, char **out,
                                              size_t *outlen)
{
    const char *colon = memchr(field, ':', len);
    struct dbuf b = {0};
    size_t nend, i;
    bool pending_sp = false, started = false;

    *out = NULL;
    *outlen = 0;
    if (colon == NULL)
        return STS_EINVAL;
    /* the name in lower case, without white space before the colon */
    for (nend = (size_t)(colon - field); nend > 0 && is_wsp(field[nend - 1]); nend--)
        ;
    for (i = 0; i < nend; i++) {
        char c = field[i];
        c = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
        dbuf_add(&b, &c, 1);
    }
    dbuf_str(&b, ":");
    /* the value: unfolded (CR and LF dropped), WSP runs as one SP, none
     * at the start or the end */
    for (i = (size_t)(colon - field) + 1; i < len; i++) {
        char c = field[i];
        if (c == '\r' || c == '\n')
            continue;
        if (is_wsp(c)) {
            pending_sp = started;
            continue;
        }
        if (pending_sp)
            dbuf_str(&b, " ");
        pending_sp = false;
        started = true;
        dbuf_add(&b, &c, 1);
    }
    dbuf_str(&b, "\r\n");
    return dbuf_take(&b, out, outlen);
}

enum sts_status sts_dkim_canon_body_relaxed(const char *body, size_t len, char **out,
                                            size_t *outlen)
{
    struct dbuf b = {0};
    size_t empty_lines = 0, i = 0;

    while (i < len) {
        /* one line: up to CRLF, or the rest of the body */
        size_t start = i, end = i;
        while (end < len && !(body[end] == '\r' && end + 1 < len && body[end + 1] == '\n'))
            end++;
        i = end < len ? end + 2 : len;
        /* reduce it: WSP runs to one SP, none at the end */
        bool pending_sp = false, any = false;
        for (size_t j = start; j < end; j++) {
            if (is_wsp(body[j])) {
                pending_sp = true;
                continue;
            }
            if (!any) { /* flush the empty lines held back so far */
                for (; empty_lines > 0; empty_lines--)
                    dbuf_str(&b, "\r\n");
            }
            if (pending_sp)
                dbuf_str(&b, " ");
            pending_sp = false;
            any = true;
            dbuf_add(&b, body + j, 1);
        }
        if (any)
            dbuf_str(&b, "\r\n");
        else
            empty_lines++; /* kept only if a non-empty line follows */
    }
    return dbuf_take(&b, out, outlen);
}

/* ---- keys ------------------------------------------------------------------ */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1; /* never prompt on a terminal */
}

enum sts_status sts_dkim_key_load(const char *path, struct sts_dkim_key **out, char *err,
                                  size_t errlen)
{
    char *text;
    ssize_t n;
    size_t len = 0;
    int fd;
    BIO *bio;
    EVP_PKEY *pk;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sts_status_set(STS_EIO, err, errlen, "DKIM key %s: cannot open: %s", path,
                              strerror(errno));
    text = malloc(DKIM_KEY_FILE_MAX + 1);
    if (text == NULL) {
        close(fd);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    }
    while ((n = read(fd, text + len, DKIM_KEY_FILE_MAX + 1 - len)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0 && (len += (size_t)n) > DKIM_KEY_FILE_MAX)
            break;
    if (n < 0) {
        int e = errno;
        close(fd);
        free(text);
        return sts_status_set(STS_EIO, err, errlen, "DKIM key %s: cannot read: %s", path,
                              strerror(e));
    }
    close(fd);
    if (len > DKIM_KEY_FILE_MAX) {
        free(text);
        return sts_status_set(STS_EINVAL, err, errlen, "DKIM key %s: larger than %d bytes", path,
                              DKIM_KEY_FILE_MAX);
    }
    text[len] = '\0';
    if (strstr(text, "ENCRYPTED") != NULL) {
        free(text);
        return sts_status_set(STS_EINVAL, err, errlen,
                              "DKIM key %s: the key is encrypted (a signer cannot ask for a "
                              "passphrase)",
                              path);
    }
    bio = BIO_new_mem_buf(text, (int)len);
    pk = bio != NULL ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_cleanse(text, len);
    free(text);
    ERR_clear_error();
    if (pk == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "DKIM key %s: no PEM private key in it",
                              path);
    if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_RSA) {
        const char *t = OBJ_nid2sn(EVP_PKEY_get_base_id(pk));
        EVP_PKEY_free(pk);
        return sts_status_set(STS_EINVAL, err, errlen,
                              "DKIM key %s: a %s key, rsa-sha256 needs an RSA key", path,
                              t != NULL ? t : "non-RSA");
    }
    int bits = EVP_PKEY_get_bits(pk);
    if (bits < STS_DKIM_MIN_BITS) {
        EVP_PKEY_free(pk);
        return sts_status_set(STS_EINVAL, err, errlen,
                              "DKIM key %s: RSA key of %d bits is too weak (RFC 8301: at least "
                              "%d)",
                              path, bits, STS_DKIM_MIN_BITS);
    }
    *out = calloc(1, sizeof(**out));
    if (*out == NULL) {
        EVP_PKEY_free(pk);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    }
    (*out)->pkey = pk;
    (*out)->bits = (unsigned)bits;
    return STS_OK;
}

void sts_dkim_key_free(struct sts_dkim_key *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->pkey);
    free(key);
}

unsigned sts_dkim_key_bits(const struct sts_dkim_key *key)
{
    return key->bits;
}

/* Base64 of n bytes into a malloc()ed string (no line breaks). */
static char *b64(const unsigned char *in, size_t n)
{
    char *o = malloc(4 * ((n + 2) / 3) + 1);
    if (o != NULL)
        EVP_EncodeBlock((unsigned char *)o, in, (int)n);
    return o;
}

enum sts_status sts_dkim_key_record(const struct sts_dkim_key *key, const char *service, char **out,
                                    char *err, size_t errlen)
{
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(key->pkey, &der);
    char *p;
    size_t len;

    *out = NULL;
    if (n <= 0) {
        ERR_clear_error();
        return sts_status_set(STS_ENOMEM, err, errlen, "cannot encode the public key");
    }
    p = b64(der, (size_t)n);
    OPENSSL_free(der);
    if (p == NULL)
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    len = strlen(p) + (service != NULL ? strlen(service) : 0) + 32;
    *out = malloc(len);
    if (*out == NULL) {
        free(p);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    }
    if (service != NULL)
        snprintf(*out, len, "v=DKIM1; k=rsa; s=%s; p=%s", service, p);
    else
        snprintf(*out, len, "v=DKIM1; k=rsa; p=%s", p);
    free(p);
    return STS_OK;
}

/* ---- signing --------------------------------------------------------------- */

struct field {
    const char *p;
    size_t len;     /* through its final CRLF */
    size_t namelen; /* the name, white space before ":" excluded */
    bool used;
};

/* Split the header block into fields; *body is where the body starts. */
static enum sts_status split_header(const char *msg, size_t len, struct field **fields,
                                    size_t *nfields, size_t *body)
{
    size_t i = 0, n = 0, cap = 0;
    struct field *f = NULL;

    *fields = NULL;
    *nfields = 0;
    while (i < len) {
        if (msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n') { /* the blank line */
            i += 2;
            break;
        }
        if (is_wsp(msg[i])) { /* a continuation line without a field */
            free(f);
            return STS_EINVAL;
        }
        size_t start = i;
        for (;;) { /* to the end of the line, then over continuation lines */
            while (i < len && !(msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n'))
                i++;
            i = i < len ? i + 2 : len;
            if (i >= len || !is_wsp(msg[i]))
                break;
        }
        const char *colon = memchr(msg + start, ':', i - start);
        if (colon == NULL) {
            free(f);
            return STS_EINVAL;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct field *nf = realloc(f, ncap * sizeof(*f));
            if (nf == NULL) {
                free(f);
                return STS_ENOMEM;
            }
            f = nf;
            cap = ncap;
        }
        size_t nl = (size_t)(colon - (msg + start));
        while (nl > 0 && is_wsp(msg[start + nl - 1]))
            nl--;
        f[n++] = (struct field){.p = msg + start, .len = i - start, .namelen = nl};
    }
    if (n == 0) {
        free(f);
        return STS_EINVAL;
    }
    *fields = f;
    *nfields = n;
    *body = i;
    return STS_OK;
}

static bool name_ok(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 33 || (unsigned char)*s > 126 || *s == ':')
            return false;
    return true;
}

static bool name_eq(const char *a, size_t alen, const char *b)
{
    return sts_domain_equal(a, alen, b, strlen(b));
}

/* Append " unit" or "\r\n\tunit" to the field text, keeping lines short. */
static void fold_add(struct dbuf *b, size_t *col, const char *unit, bool space)
{
    size_t n = strlen(unit);
    if (*col + n + (space ? 1 : 0) > DKIM_FOLD_AT) {
        dbuf_str(b, "\r\n\t");
        *col = 1;
    } else if (space) {
        dbuf_str(b, " ");
        (*col)++;
    }
    dbuf_str(b, unit);
    *col += n;
}

/* The signature field up to "b=", folded (the value is added after signing). */
static void sig_text(struct dbuf *t, const struct sts_dkim_sign_opts *o, const char *const *names,
                     size_t nnames, const char *bh, size_t *col)
{
    char unit[512];
    dbuf_str(t, "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;");
    *col = t->len;
    snprintf(unit, sizeof(unit), "d=%s;", o->domain);
    fold_add(t, col, unit, true);
    snprintf(unit, sizeof(unit), "s=%s;", o->selector);
    fold_add(t, col, unit, true);
    if (o->timestamp >= 0) {
        snprintf(unit, sizeof(unit), "t=%lld;", (long long)o->timestamp);
        fold_add(t, col, unit, true);
    }
    for (size_t i = 0; i < nnames; i++) {
        /* "h=From:" "To:" ... "Last;": FWS may follow a ":" (§3.5 sig-h-tag) */
        snprintf(unit, sizeof(unit), "%s%s%s", i == 0 ? "h=" : "", names[i],
                 i + 1 < nnames ? ":" : ";");
        fold_add(t, col, unit, i == 0);
    }
    snprintf(unit, sizeof(unit), "bh=%s;", bh);
    fold_add(t, col, unit, true);
    fold_add(t, col, "b=", true);
}

static enum sts_status sign_bytes(EVP_PKEY *pk, const struct dbuf *data, unsigned char **sig,
                                  size_t *siglen)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    enum sts_status st = STS_EIO;
    *sig = NULL;
    if (ctx == NULL)
        return STS_ENOMEM;
    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
        EVP_DigestSignUpdate(ctx, data->p, data->len) == 1 &&
        EVP_DigestSignFinal(ctx, NULL, siglen) == 1 && (*sig = malloc(*siglen)) != NULL &&
        EVP_DigestSignFinal(ctx, *sig, siglen) == 1)
        st = STS_OK;
    if (st != STS_OK) {
        free(*sig);
        *sig = NULL;
    }
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return st;
}

enum sts_status sts_dkim_sign(const struct sts_dkim_key *key, const struct sts_dkim_sign_opts *opts,
                              const char *msg, size_t len, char **out, size_t *outlen, char *err,
                              size_t errlen)
{
    const char *const *names = opts->headers != NULL ? opts->headers : sts_dkim_default_headers;
    size_t nnames = opts->headers != NULL ? opts->nheaders : 0;
    struct field *fields = NULL;
    size_t nfields = 0, body = 0, col = 0, clen, siglen = 0;
    struct dbuf data = {0}, text = {0};
    unsigned char hash[32], *sig = NULL;
    char *canon = NULL, *bh = NULL, *b = NULL, why[128];
    enum sts_status st;

    *out = NULL;
    *outlen = 0;
    const char *doubled[2 * 16];
    if (opts->headers == NULL) { /* the default list, each name over-signed */
        for (size_t i = 0; sts_dkim_default_headers[i] != NULL && i < 16; i++) {
            doubled[nnames++] = sts_dkim_default_headers[i];
            doubled[nnames++] = sts_dkim_default_headers[i];
        }
        names = doubled;
    }
    if (opts->domain == NULL ||
        sts_domain_check_ldh(opts->domain, strlen(opts->domain), why, sizeof(why)) != STS_OK)
        return sts_status_set(STS_EINVAL, err, errlen, "DKIM d=: %s",
                              opts->domain == NULL ? "missing" : why);
    if (opts->selector == NULL ||
        sts_domain_check_ldh(opts->selector, strlen(opts->selector), why, sizeof(why)) != STS_OK)
        return sts_status_set(STS_EINVAL, err, errlen, "DKIM s=: %s",
                              opts->selector == NULL ? "missing" : why);
    if (nnames == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "DKIM h=: no header fields to sign");
    for (size_t i = 0; i < nnames; i++)
        if (names[i] == NULL || !name_ok(names[i]) || strlen(names[i]) > 200)
            return sts_status_set(STS_EINVAL, err, errlen, "DKIM h=: bad field name");
    st = split_header(msg, len, &fields, &nfields, &body);
    if (st != STS_OK)
        return sts_status_set(st, err, errlen, "DKIM: %s",
                              st == STS_ENOMEM ? "out of memory" : "no valid header block");

    /* bh= */
    st = sts_dkim_canon_body_relaxed(msg + body, len - body, &canon, &clen);
    if (st != STS_OK || EVP_Digest(canon, clen, hash, NULL, EVP_sha256(), NULL) != 1 ||
        (bh = b64(hash, sizeof(hash))) == NULL) {
        st = st != STS_OK ? st : STS_ENOMEM;
        goto out;
    }
    free(canon);
    canon = NULL;

    /* the signed fields, each name taking its last unused instance; an
     * over-signed name's second turn finds none and signs the null string */
    for (size_t i = 0; i < nnames; i++) {
        for (size_t j = nfields; j-- > 0;) {
            if (fields[j].used || !name_eq(fields[j].p, fields[j].namelen, names[i]))
                continue;
            fields[j].used = true;
            st = sts_dkim_canon_header_relaxed(fields[j].p, fields[j].len, &canon, &clen);
            if (st != STS_OK)
                goto out;
            dbuf_add(&data, canon, clen);
            free(canon);
            canon = NULL;
            break;
        }
    }
    /* the signature field itself, b= empty, without its CRLF (§3.7) */
    sig_text(&text, opts, names, nnames, bh, &col);
    if (text.oom || data.oom) {
        st = STS_ENOMEM;
        goto out;
    }
    st = sts_dkim_canon_header_relaxed(text.p, text.len, &canon, &clen);
    if (st != STS_OK)
        goto out;
    dbuf_add(&data, canon, clen - 2);
    if (data.oom) {
        st = STS_ENOMEM;
        goto out;
    }
    st = sign_bytes(key->pkey, &data, &sig, &siglen);
    if (st != STS_OK)
        goto out;
    b = b64(sig, siglen);
    if (b == NULL) {
        st = STS_ENOMEM;
        goto out;
    }
    /* b= folded in pieces (FWS is allowed inside base64string, §3.5) */
    for (size_t i = 0, n = strlen(b); i < n;) {
        size_t room = col < DKIM_FOLD_AT ? DKIM_FOLD_AT - col : 0;
        if (room < 8) {
            dbuf_str(&text, "\r\n\t");
            col = 1;
            continue;
        }
        size_t take = n - i < room ? n - i : room;
        dbuf_add(&text, b + i, take);
        col += take;
        i += take;
    }
    dbuf_str(&text, "\r\n");
    st = dbuf_take(&text, out, outlen);
    text.p = NULL;
out:
    if (st != STS_OK)
        sts_status_set(st, err, errlen, "DKIM: %s",
                       st == STS_ENOMEM ? "out of memory" : "signing failed");
    free(text.p);
    free(data.p);
    free(fields);
    free(canon);
    free(bh);
    free(b);
    free(sig);
    return st;
}
