/*
 * tlsrpt_datagram.h - one TLSRPT datagram as Postfix >= 3.10 sends it
 * through libtlsrpt (datagram protocol version "1"), parsed into a
 * struct.  Pure: no I/O; json-c does the JSON, nothing else is included.
 *
 * The protocol has no specification; it is what sys4/libtlsrpt 0.5.x
 * writes (libtlsrpt.c) and sys4/tlsrpt-reporter 0.6.x reads
 * (tlsrpt_reporter/tlsrpt.py), checked against both at 0.5.1rc2 and
 * 0.6.0rc2.  One datagram is one JSON object, one TLS handshake:
 *
 *   {"dpv":"1", "d":DOMAIN, "pr":TXT-RECORD,
 *    "policies":[{"policy-type":1|2|9, "policy-domain":NAME,
 *                 "policy-string":[STRING...], "mx-host":[PATTERN...],
 *                 "failure-details":[{"c":CODE, "s":SENDING-IP,
 *                     "n":MX-NAME, "h":EHLO-REPLY, "r":RECEIVING-IP,
 *                     "a":ADDITIONAL-INFO, "f":FAILURE-REASON-CODE}...],
 *                 "t":DETAIL-COUNT, "f":0|1}...]}
 *
 * "f" means two things: in a policy the final result (int, 0 success,
 * 1 failure), in a failure detail the failure-reason-code (string).
 *
 * Strict, because the counts it feeds are sent to other domains:
 *  - the bytes must be UTF-8 without NUL, at most STS_TLSRPT_DG_MAX, one
 *    JSON object and nothing after it but white space (RFC 8259);
 *  - "dpv" missing is accepted with STS_TLSRPT_DG_WARN_NO_DPV (libtlsrpt
 *    before 0.5.0 sent none); a "dpv" other than the string "1" is refused;
 *  - every key has one JSON type (int or string, as above); a swap, a
 *    float or a boolean is refused; unknown keys are ignored at every
 *    level (when a key repeats, json-c keeps the last);
 *  - required: "d", "pr", a non-empty "policies", and in each policy
 *    "policy-type", "t" and "f"; in each detail "c".  "t" must equal the
 *    number of details.  Codes are 201-205 and 301-306 (below);
 *  - names ("d", "policy-domain", "n") are normalised like every other
 *    domain (domain.h; "n" may also be an IP address), "mx-host" entries
 *    are mx patterns (mx_match.h), "s" and "r" are IP addresses; an empty
 *    string in an optional detail field counts as absent (Postfix passes ""
 *    when getsockname() fails);
 *  - strings have caps (below) and no control characters, except CR, LF
 *    and TAB in "h", "a" and "f" of a detail (Postfix puts the whole
 *    multi-line EHLO reply, joined by CRLF, in "h");
 *  - at most STS_TLSRPT_DG_POLICIES_MAX policies, STS_TLSRPT_DG_DETAILS_MAX
 *    details and STS_TLSRPT_DG_STRINGS_MAX policy strings or mx hosts per
 *    policy.
 * A refused datagram is reported with an enum reason (for counters and
 * logs) and a message naming the key ("policies[0].failure-details[1].c").
 *
 * A datagram the kernel truncated (MSG_TRUNC) must not be passed here as
 * is: the caller receives into a buffer of STS_TLSRPT_DG_MAX + 1 bytes and
 * passes the full received length, which is then refused as too big.
 *
 * Ownership: sts_tlsrpt_datagram_parse() allocates the datagram and every
 * string it points to; sts_tlsrpt_datagram_free() releases it all.  It is
 * immutable after parsing; parsing is thread-safe.
 */
#ifndef MTASTS_TLSRPT_DATAGRAM_H
#define MTASTS_TLSRPT_DATAGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/status.h"

#define STS_TLSRPT_DG_MAX 262144          /* bytes of one datagram */
#define STS_TLSRPT_DG_POLICIES_MAX 8      /* policies per datagram */
#define STS_TLSRPT_DG_DETAILS_MAX 16      /* failure details per policy */
#define STS_TLSRPT_DG_STRINGS_MAX 128     /* policy strings, mx hosts per policy */
#define STS_TLSRPT_DG_STRING_MAX 1024     /* bytes of one policy string or mx host */
#define STS_TLSRPT_DG_RECORD_MAX 4096     /* bytes of "pr" (STS_TLSRPT_RECORD_MAX) */
#define STS_TLSRPT_DG_TEXT_MAX 4096       /* bytes of "h", "a", "f" of a detail */
#define STS_TLSRPT_DG_NAME_INPUT_MAX 1024 /* bytes of a name before normalising */
#define STS_TLSRPT_DG_IP_MAX 45           /* INET6_ADDRSTRLEN - 1 */
#define STS_TLSRPT_DG_DEPTH 16            /* JSON nesting; the protocol needs 5 */

#define STS_TLSRPT_DG_WARN_NO_DPV 0x1u /* no "dpv": accepted as version 1 */

/** Why a datagram was refused; STS_TLSRPT_DG_OK when it was not. */
enum sts_tlsrpt_dg_reason {
    STS_TLSRPT_DG_OK = 0,         /* "ok" */
    STS_TLSRPT_DG_TOO_BIG,        /* "too-big": more than STS_TLSRPT_DG_MAX bytes */
    STS_TLSRPT_DG_NOT_UTF8,       /* "not-utf8": invalid UTF-8 or a NUL, raw or escaped */
    STS_TLSRPT_DG_BAD_JSON,       /* "bad-json": JSON syntax error */
    STS_TLSRPT_DG_TRUNCATED,      /* "truncated": the JSON text ends early */
    STS_TLSRPT_DG_TRAILING_DATA,  /* "trailing-data": bytes after the object */
    STS_TLSRPT_DG_BAD_VERSION,    /* "bad-version": "dpv" is not "1" */
    STS_TLSRPT_DG_MISSING_KEY,    /* "missing-key" */
    STS_TLSRPT_DG_WRONG_TYPE,     /* "wrong-type": e.g. an int where a string belongs */
    STS_TLSRPT_DG_BAD_VALUE,      /* "bad-value": policy-type, f, a name, an address */
    STS_TLSRPT_DG_UNKNOWN_CODE,   /* "unknown-failure-code": "c" outside the table */
    STS_TLSRPT_DG_COUNT_MISMATCH, /* "count-mismatch": "t" != number of details */
    STS_TLSRPT_DG_LONG_STRING,    /* "string-too-long" */
    STS_TLSRPT_DG_TOO_MANY,       /* "too-many": policies, details or strings over a cap */
    STS_TLSRPT_DG_NO_MEMORY,      /* "no-memory" */
};
#define STS_TLSRPT_DG_REASON_COUNT (STS_TLSRPT_DG_NO_MEMORY + 1)

/** libtlsrpt's tlsrpt_policy_type_t values, as sent. */
enum sts_tlsrpt_dg_policy_type {
    STS_TLSRPT_DG_POLICY_TLSA = 1, /* "tlsa" */
    STS_TLSRPT_DG_POLICY_STS = 2,  /* "sts" */
    STS_TLSRPT_DG_POLICY_NONE = 9, /* "no-policy-found" */
};

/** One failure detail; absent optional fields are NULL. */
struct sts_tlsrpt_dg_failure {
    int code;                /* "c": 201-205, 301-306 */
    const char *result_type; /* its RFC 8460 §4.3 word (static), see below */
    char *sending_ip;        /* "s" */
    char *mx_hostname;       /* "n", normalised (or an IP address) */
    char *mx_helo;           /* "h", the EHLO reply as sent (may hold CRLF) */
    char *receiving_ip;      /* "r" */
    char *additional_info;   /* "a" */
    char *failure_reason;    /* "f" (failure-reason-code) */
};

struct sts_tlsrpt_dg_policy {
    enum sts_tlsrpt_dg_policy_type type;
    char *domain; /* "policy-domain", normalised; NULL when absent */
    size_t string_count;
    char **strings; /* "policy-string" entries as sent */
    size_t mx_host_count;
    char **mx_hosts;      /* "mx-host" patterns, normalised */
    size_t failure_count; /* "t", equal to the number of details */
    struct sts_tlsrpt_dg_failure *failures;
    bool failed; /* "f": 1 = the session failed under this policy */
};

struct sts_tlsrpt_datagram {
    unsigned warnings;   /* STS_TLSRPT_DG_WARN_* bits */
    char *domain;        /* "d", normalised */
    char *record;        /* "pr", the _smtp._tls TXT record text as sent */
    size_t policy_count; /* 1 .. STS_TLSRPT_DG_POLICIES_MAX */
    struct sts_tlsrpt_dg_policy *policies;
};

/**
 * Parse one datagram.
 * @param data the received bytes (not NUL-terminated)
 * @param len  their length
 * @param out  receives a new datagram on STS_OK, else NULL
 * @param reason receives the reason word's enum (STS_TLSRPT_DG_OK on
 *        success); may be NULL
 * @param err  receives a one-line message naming the key on failure
 * @return STS_OK, STS_EINVAL, STS_ETOOBIG (a cap) or STS_ENOMEM
 */
enum sts_status sts_tlsrpt_datagram_parse(const void *data, size_t len,
                                          struct sts_tlsrpt_datagram **out,
                                          enum sts_tlsrpt_dg_reason *reason, char *err,
                                          size_t errlen);

/** Free a datagram; NULL is a no-op. */
void sts_tlsrpt_datagram_free(struct sts_tlsrpt_datagram *dg);

/** The stable word of a reason (see the enum); "unknown" out of range. */
const char *sts_tlsrpt_dg_reason_name(enum sts_tlsrpt_dg_reason reason);

/** "tlsa", "sts" or "no-policy-found" (RFC 8460 §4.2); "unknown" otherwise. */
const char *sts_tlsrpt_dg_policy_type_name(enum sts_tlsrpt_dg_policy_type type);

/**
 * The RFC 8460 §4.3 result-type word of a libtlsrpt failure code:
 * 201 starttls-not-supported, 202 certificate-host-mismatch,
 * 203 certificate-not-trusted, 204 certificate-expired,
 * 205 validation-failure, 301 sts-policy-fetch-error,
 * 302 sts-policy-invalid, 303 sts-webpki-invalid, 304 tlsa-invalid,
 * 305 dnssec-invalid, 306 dane-required.
 * @return a static string, or NULL for any other code
 */
const char *sts_tlsrpt_dg_result_type(int code);

#endif
