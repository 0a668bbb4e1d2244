/*
 * dkim.h - DKIM signing (RFC 6376) of the messages we write ourselves:
 * the RFC 8460 §5.3 TLS reports, which MUST carry a valid DKIM signature
 * of the reporting domain (§3) without "l=".  The OpenSSL module for
 * signing; it reads one key file and nothing else.
 *
 * What is produced: a DKIM-Signature header field, folded, ending in
 * CRLF, to prepend to the message as given:
 *
 *   DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=<domain>;
 *    s=<selector>; t=<time>; h=From:From:To:To:Subject:Subject:Date:Date:
 *    ...:Auto-Submitted:Auto-Submitted; bh=<base64 SHA-256 of the
 *    canonical body>;
 *    b=<base64 RSASSA-PKCS1-v1_5 SHA-256 signature>
 *
 * (with the default list each name appears twice: "h=From:From:To:To:...",
 * see below).
 *
 * Only rsa-sha256 (RFC 8301: rsa-sha1 MUST NOT be used) with
 * relaxed/relaxed canonicalisation (§3.4.2, §3.4.4); no l= (RFC 8460 §3),
 * no x=, no i= (it defaults to "@d").  Every name in the h= list is signed
 * whether or not the field is present (§5.4: an absent field signs the
 * null string, so one cannot be added later); a name listed twice signs
 * its last instance, then the one above it (§5.4.2).  The default list is
 * over-signed that way (§8.15): each name once more than the message has
 * it, so a second From:, Subject: or TLS-Report-Domain: added in transit
 * breaks the signature instead of being shown to the receiver.
 *
 * The message must use CRLF line ends (tlsrpt_mail.h builds it so).
 *
 * Keys: a PEM file with an RSA private key (PKCS#1 or PKCS#8, not
 * encrypted: an encrypted one is refused rather than prompting) of at least
 * STS_DKIM_MIN_BITS bits (RFC 8301 §3.2).
 *
 * Ownership and threads: a struct sts_dkim_key is immutable once loaded;
 * any number of threads may sign with it at once.  Strings returned are
 * malloc()ed and belong to the caller.
 */
#ifndef MTASTS_DKIM_H
#define MTASTS_DKIM_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts/status.h"

#define STS_DKIM_MIN_BITS 1024 /* RFC 8301 §3.2: signers MUST use >= 1024 */

struct sts_dkim_key;

/**
 * Load a private key.
 * @param path   the PEM file
 * @param out    receives the key
 * @param err    receives the reason on failure, naming the file: unreadable,
 *               no PEM key in it, encrypted, not RSA, fewer than 1024 bits
 * @param errlen size of err
 * @return STS_OK, STS_EIO (cannot open or read), STS_EINVAL (not a usable
 *         key), STS_ENOMEM
 */
enum sts_status sts_dkim_key_load(const char *path, struct sts_dkim_key **out, char *err,
                                  size_t errlen);

/** Free a key; NULL is a no-op. */
void sts_dkim_key_free(struct sts_dkim_key *key);

/** The key's modulus size in bits. */
unsigned sts_dkim_key_bits(const struct sts_dkim_key *key);

/**
 * The DNS TXT record text that publishes the public half (RFC 6376 §3.6.1):
 * "v=DKIM1; k=rsa; s=<service>; p=<base64 SubjectPublicKeyInfo>".
 * @param key     the key
 * @param service the s= value ("tlsrpt", RFC 8460 §3), or NULL to omit s=
 * @param out     receives the malloc()ed text
 * @return STS_OK or STS_ENOMEM
 */
enum sts_status sts_dkim_key_record(const struct sts_dkim_key *key, const char *service, char **out,
                                    char *err, size_t errlen);

/** What to sign with. */
struct sts_dkim_sign_opts {
    const char *domain;         /* d= (A-label) */
    const char *selector;       /* s= */
    int64_t timestamp;          /* t=; negative: omitted */
    const char *const *headers; /* h= names in order, used as given; NULL:
                                   sts_dkim_default_headers, over-signed */
    size_t nheaders;
};

/** The default h= names (NULL-terminated): From, To, Subject, Date,
 * Message-ID, MIME-Version, Content-Type, TLS-Report-Domain,
 * TLS-Report-Submitter, Auto-Submitted (the RFC 8460 §5.3 report fields). */
extern const char *const sts_dkim_default_headers[];

/**
 * Sign a message.
 * @param key    the key
 * @param opts   domain, selector, time, header names
 * @param msg    the whole message, header and body, CRLF line ends
 * @param len    its length
 * @param out    receives the malloc()ed "DKIM-Signature: ...\r\n" field
 * @param outlen receives its length
 * @return STS_OK, STS_EINVAL (bad domain or selector, no header block, a
 *         header name with characters outside RFC 5322 ftext), STS_ENOMEM,
 *         STS_EIO (OpenSSL failed to sign)
 */
enum sts_status sts_dkim_sign(const struct sts_dkim_key *key, const struct sts_dkim_sign_opts *opts,
                              const char *msg, size_t len, char **out, size_t *outlen, char *err,
                              size_t errlen);

/**
 * Relaxed header canonicalisation (RFC 6376 §3.4.2) of one header field.
 * @param field the field as it appears: name, ":", value, folded lines; a
 *              final CRLF is optional
 * @param len   its length
 * @param out   receives malloc()ed "name:value\r\n" (NUL-terminated)
 * @param outlen receives its length
 * @return STS_OK, STS_EINVAL (no ":"), STS_ENOMEM
 */
enum sts_status sts_dkim_canon_header_relaxed(const char *field, size_t len, char **out,
                                              size_t *outlen);

/**
 * Relaxed body canonicalisation (RFC 6376 §3.4.4): white-space runs become
 * one SP, white space at line ends goes, empty lines at the end go, a
 * non-empty body ends in CRLF; an empty body stays empty.
 * @param body the body (after the blank line), CRLF line ends
 * @param len  its length
 * @param out  receives the malloc()ed canonical body (NUL-terminated)
 * @param outlen receives its length
 * @return STS_OK or STS_ENOMEM
 */
enum sts_status sts_dkim_canon_body_relaxed(const char *body, size_t len, char **out,
                                            size_t *outlen);

#endif
