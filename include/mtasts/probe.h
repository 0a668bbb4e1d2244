/*
 * probe.h - one STARTTLS probe of one MX address with OpenSSL: connect,
 * banner, EHLO, STARTTLS, TLS handshake, certificate checks, QUIT.  No mail
 * is ever sent.
 *
 * What is checked (RFC 8461 §4.2; RFC 7672 when TLSA records are given):
 *   - the server offers STARTTLS in its EHLO reply and accepts it (220);
 *   - the handshake completes with TLS 1.2 or later (unless the request
 *     asks for one exact version: the checker's version scan);
 *   - without TLSA records (WebPKI, MTA-STS): the chain verifies against
 *     the configured CA file/path or the system store, the leaf is within
 *     its validity period, and the leaf names the MX host (RFC 6125: DNS
 *     subjectAltNames, the subject CN only without any; a wildcard only as
 *     the whole leftmost label, no partial wildcards, one label deep);
 *   - with TLSA records (DANE, RFC 7672): the certificate matches a usable
 *     record, DANE-EE(3) ignoring names and dates (§3.1.1), DANE-TA(2)
 *     with the chain to that trust anchor and the name checked against the
 *     MX host (§3.2.2); PKIX-TA(0)/PKIX-EE(1) are not usable for SMTP
 *     (§3.1.3) and must be filtered out by the caller.
 *
 * Every step runs against one deadline (timeout_ms for the whole probe);
 * sockets are non-blocking and waited on with poll(), so a server that
 * accepts TCP and never speaks costs at most the deadline.
 *
 * Thread-safe: a struct sts_probe_ctx (the OpenSSL context with the trust
 * store loaded once) is shared read-only by every thread.
 */
#ifndef MTASTS_PROBE_H
#define MTASTS_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/status.h"
#include "mtasts/vocab.h"

/** One TLSA record (RFC 6698 §2.1), borrowed for the call. */
struct sts_probe_tlsa {
    uint8_t usage, selector, mtype;
    size_t len;
    const unsigned char *data;
};

struct sts_probe_ctx;

/**
 * Create the shared context.
 * @param ca_file PEM bundle of trusted CAs, or NULL
 * @param ca_path hashed CA directory, or NULL
 *        (both NULL: OpenSSL's default store, /etc/ssl/certs on Debian)
 * @return STS_OK, STS_EINVAL (unreadable CA file/path), STS_ENOMEM
 */
enum sts_status sts_probe_ctx_new(const char *ca_file, const char *ca_path,
                                  struct sts_probe_ctx **out, char *err, size_t errlen);

/** Free; NULL is a no-op.  No probe may be running on it. */
void sts_probe_ctx_free(struct sts_probe_ctx *ctx);

struct sts_probe_request {
    const char *host;      /* the MX host name: SNI, name check, logs */
    const char *addr;      /* IPv4 or IPv6 literal to connect to */
    unsigned port;         /* 0 = 25 */
    const char *helo_name; /* our EHLO argument; NULL = "localhost" */
    unsigned timeout_ms;   /* the whole probe; 0 = 10000 */
    /* DANE: when tlsa_count > 0 the server is authenticated by these
     * (usable, DNSSEC-secure) records instead of WebPKI. */
    const struct sts_probe_tlsa *tlsa;
    size_t tlsa_count;
    /* 0: TLS 1.2 or later (the RFC 8461 requirement).  Otherwise exactly
     * this version, for the checker's scan: 0x0301 (TLS 1.0), 0x0302,
     * 0x0303, 0x0304 (OpenSSL's TLS1_VERSION ...); old versions are
     * offered at OpenSSL security level 0 so that they can be seen. */
    int tls_version;
};

#define STS_PROBE_DETAIL_MAX STS_TLS_DETAIL_MAX

struct sts_probe_result {
    enum sts_tls_result result;
    /* Human detail for logs and the checker, printable ASCII:
     * "connect: Connection refused", "no STARTTLS in the EHLO reply",
     * "certificate verify failed: certificate has expired (depth 0)". */
    char detail[STS_PROBE_DETAIL_MAX + 1];
    int smtp_code;         /* last SMTP reply code seen (0: none; the
                              221 to our closing QUIT is not counted) */
    bool starttls_offered; /* the EHLO reply listed STARTTLS */
    bool handshake_done;   /* a TLS session was established */
    char tls_version[16];  /* "TLSv1.3"; "" without a handshake */
    char cipher[64];       /* OpenSSL's name; "" without a handshake */
    /* The leaf certificate, when one was received: */
    bool have_cert;
    char cert_subject[256]; /* RFC 2253 one-line form */
    char cert_issuer[256];
    char cert_sans[512];    /* DNS subjectAltNames, comma-separated */
    int64_t cert_not_after; /* Unix time */
    bool chain_trusted;     /* verified to a trusted root (WebPKI; with
                               TLSA records, checked separately, for
                               information) */
    bool name_match;        /* the leaf names the MX host */
    bool dane_used;         /* TLSA records were given */
    bool dane_matched;      /* ... and one authenticated the server */
    int dane_usage;         /* the matching record's usage, -1 if none */
    double ms;              /* wall time of the probe */
};

/**
 * Probe once.  Blocks at most req->timeout_ms (plus scheduling).
 * @return STS_OK whenever out was filled (look at out->result, which may
 *         be any failure), STS_EINVAL for a bad request (no host, an
 *         address that does not parse), STS_ENOMEM
 */
enum sts_status sts_probe_run(const struct sts_probe_ctx *ctx, const struct sts_probe_request *req,
                              struct sts_probe_result *out);

/**
 * Is the negotiated cipher on the modern list (NIST SP 800-52r2 §3.3.1:
 * TLS 1.3 suites; TLS 1.2 ECDHE/DHE with AES-GCM or AES-CCM)?
 * @param cipher OpenSSL's cipher name
 */
bool sts_probe_cipher_is_modern(const char *cipher);

#endif
