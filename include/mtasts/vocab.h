/*
 * vocab.h - the words every layer shares: modes, actions, override kinds,
 * DNSSEC and DANE states, the RFC 8460 TLS result types, the TLS verdict
 * on one MX host, and the outcome of a policy lookup with its reason.
 *
 * Pure: no I/O, no state, no allocation; includes only libc headers, so
 * any header (pure or not) may include it.  Each enum's stable words, for
 * logs, headers, the store and the CLI, come from the sts_<type>_name()
 * function declared beside it (vocab.c); no code compares those words to
 * decide anything: decisions use the enums.
 *
 * Why one header: before it, the same meaning was spelled as two or three
 * parallel enums (config mode vs milter mode, config action vs verdict
 * action, overrides kind vs verdict override kind, three DANE states) and
 * "the TLS result of one MX host" as six structs, with a translation hop
 * between each pair.
 */
#ifndef MTASTS_VOCAB_H
#define MTASTS_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ the site */

/** How the milter runs (configuration key Mode). */
enum sts_milter_mode {
    STS_MILTER_ENFORCE = 0, /* tempfail recipients that fail */
    STS_MILTER_AUDIT,       /* never tempfail; tag what enforce would do */
};

/** "enforce" or "audit". */
const char *sts_milter_mode_name(enum sts_milter_mode mode);

/**
 * What to do with a recipient: the verdict's action, and the configured
 * action of a failure class (OnDNSError, ...; spelled "accept" there).
 */
enum sts_action {
    STS_ACTION_PASS = 0, /* accept the recipient */
    STS_ACTION_TEMPFAIL, /* temporarily refuse it (enforce mode only) */
};

/** "pass" or "tempfail". */
const char *sts_action_name(enum sts_action action);

/**
 * A site rule for one destination domain (the overrides file), named as
 * Postfix names its TLS security levels (postconf(5) smtp_tls_security_level).
 */
enum sts_override_kind {
    STS_OVERRIDE_NONE = 0, /* no rule */
    STS_OVERRIDE_SKIP,     /* never judge this domain */
    STS_OVERRIDE_ENFORCE,  /* "secure" (or "enforce"): an enforce policy with these patterns */
    STS_OVERRIDE_DANE,     /* every MX host must pass DANE (RFC 8460 dane-required) */
    STS_OVERRIDE_ENCRYPT,  /* STARTTLS with TLS 1.2 or later, no authentication */
    STS_OVERRIDE_VERIFY,   /* a WebPKI certificate naming the MX host, any MX host */
};

/** "none", "skip", "enforce", "dane", "encrypt" or "verify". */
const char *sts_override_kind_name(enum sts_override_kind kind);

/**
 * What one MX host must offer before mail may go to it, strongest last.
 */
enum sts_tls_requirement {
    STS_REQUIRE_NONE = 0, /* nothing: opportunistic TLS (no policy) */
    STS_REQUIRE_ENCRYPT,  /* STARTTLS, TLS 1.2+, any certificate (Postfix "encrypt") */
    STS_REQUIRE_VERIFY,   /* + a trusted chain naming the host (Postfix "verify") */
    STS_REQUIRE_SECURE,   /* + the host permitted by MX patterns (MTA-STS, Postfix "secure") */
    STS_REQUIRE_DANE,     /* authenticated by its TLSA records (RFC 7672, Postfix "dane-only") */
};

/** "none", "encrypt", "verify", "secure", "dane". */
const char *sts_tls_requirement_name(enum sts_tls_requirement r);

/* ------------------------------------------------------- DNSSEC, DANE */

/** The DNSSEC status of an answer (RFC 4035 §4.3). */
enum sts_dnssec {
    STS_DNSSEC_INSECURE = 0,
    STS_DNSSEC_SECURE,
    STS_DNSSEC_BOGUS,
};

/** "insecure", "secure", "bogus". */
const char *sts_dnssec_name(enum sts_dnssec s);

/**
 * What the TLSA RRset of one MX host means (RFC 7672 §2.2).
 */
enum sts_dane_state {
    STS_DANE_NOT_APPLICABLE = 0, /* MX (or address) RRset not secure: no lookup */
    STS_DANE_NONE,               /* no TLSA records, or an insecure answer */
    STS_DANE_UNUSABLE,           /* secure, but only unusable records (§3.1.3) */
    STS_DANE_USABLE,             /* secure usable records: DANE decides */
    STS_DANE_BOGUS,              /* the TLSA answer failed validation */
    STS_DANE_FAILED,             /* the lookup failed (SERVFAIL, timeout) */
};

/** "not-applicable", "none", "unusable", "usable", "bogus", "failed". */
const char *sts_dane_state_name(enum sts_dane_state s);

/** Whether DANE governs a destination domain's MX set as a whole. */
enum sts_dane_summary {
    STS_DANE_SUMMARY_NONE = 0, /* no DANE (or not checked): MTA-STS decides */
    STS_DANE_SUMMARY_ONLY,     /* usable secure TLSA for every MX host */
    STS_DANE_SUMMARY_SOME,     /* ... for some of them */
    STS_DANE_SUMMARY_UNKNOWN,  /* a lookup failed or the budget ran out */
};

/** "none", "dane-only", "dane", "unknown". */
const char *sts_dane_summary_name(enum sts_dane_summary s);

/* ------------------------------------------- the TLS of one MX host */

/*
 * The outcome of judging one MX host's STARTTLS.  The failure kinds carry
 * the RFC 8460 §4.3 result-type names; UNREACHABLE is not a TLS failure
 * (no TCP connection, no or a non-220 greeting, the deadline passed before
 * STARTTLS was answered): it says nothing about the route's security.
 */
enum sts_tls_result {
    STS_TLS_PASS = 0,               /* "pass" */
    STS_TLS_STARTTLS_NOT_SUPPORTED, /* "starttls-not-supported" */
    STS_TLS_CERT_HOST_MISMATCH,     /* "certificate-host-mismatch" */
    STS_TLS_CERT_EXPIRED,           /* "certificate-expired" (also not yet valid) */
    STS_TLS_CERT_NOT_TRUSTED,       /* "certificate-not-trusted" */
    STS_TLS_VALIDATION_FAILURE,     /* "validation-failure": anything else, e.g.
                                       only TLS 1.0/1.1, handshake failure */
    STS_TLS_TLSA_INVALID,           /* "tlsa-invalid": no usable TLSA matched */
    STS_TLS_DNSSEC_INVALID,         /* "dnssec-invalid": bogus MX or TLSA */
    STS_TLS_DANE_REQUIRED,          /* "dane-required": DANE demanded locally,
                                       no secure TLSA */
    STS_TLS_UNREACHABLE,            /* "unreachable" (not an RFC 8460 type) */
};
#define STS_TLS_RESULT_COUNT (STS_TLS_UNREACHABLE + 1)

/** The stable word above; "unknown" for values out of range. */
const char *sts_tls_result_name(enum sts_tls_result r);

/** Parse a word back (for the store); false when it is none of them. */
bool sts_tls_result_parse(const char *word, enum sts_tls_result *out);

/** Is r one of the RFC 8460 failure result types (everything but PASS and UNREACHABLE)? */
bool sts_tls_result_is_failure(enum sts_tls_result r);

#define STS_TLS_DETAIL_MAX 200

/**
 * The TLS verdict on one MX host: what a probe (or the DNSSEC facts before
 * it) found, as the probe cache keeps it, the store persists it and the
 * RCPT verdict reads it.  A plain value: copy it freely.
 */
struct sts_tls_verdict {
    bool known;                          /* false: not judged yet (a probe is pending) */
    enum sts_tls_result result;          /* when known */
    bool dane;                           /* judged by DANE (secure, usable TLSA records) */
    char detail[STS_TLS_DETAIL_MAX + 1]; /* printable ASCII, for logs and replies */
    char addr[46];                       /* the address probed, "" if none */
    char tls_version[16];                /* "TLSv1.3", "" without a handshake */
    char cipher[64];                     /* OpenSSL's name, "" without a handshake */
    int64_t checked_at;                  /* Unix seconds; 0 when not from a probe */
    int64_t expires_at;
};

/* ------------------------------------------------ a policy lookup */

/** What a policy lookup (cache.h) found. */
enum sts_lookup_outcome {
    STS_LOOKUP_POLICY = 0, /* a valid policy applies (any mode) */
    STS_LOOKUP_NO_POLICY,  /* no indicator, or fetch failed with nothing cached */
    STS_LOOKUP_TEMPFAIL,   /* DNS failure (SERVFAIL/timeout/bogus), nothing cached */
    STS_LOOKUP_PENDING,    /* discovery still running at the deadline */
    STS_LOOKUP_ERROR,      /* internal error (store, memory) */
};

/** "policy", "no-policy", "tempfail", "pending", "error". */
const char *sts_lookup_outcome_name(enum sts_lookup_outcome o);

/** Where the answer of a lookup came from. */
enum sts_lookup_source {
    STS_SOURCE_NONE = 0,
    STS_SOURCE_FRONT,     /* in-memory cache */
    STS_SOURCE_STORE,     /* loaded from the store */
    STS_SOURCE_DISCOVERY, /* discovered during this lookup */
};

/** "none", "front", "store", "discovery". */
const char *sts_lookup_source_name(enum sts_lookup_source s);

/** The result of fetching a policy over HTTPS (fetch.h). */
enum sts_fetch_result {
    STS_FETCH_OK = 0,
    STS_FETCH_DNS,        /* mta-sts.<domain> did not resolve */
    STS_FETCH_REFUSED,    /* the SSRF guard refused every address */
    STS_FETCH_CONNECT,    /* TCP connect failed or timed out */
    STS_FETCH_TLS,        /* handshake or certificate verification failed */
    STS_FETCH_TIMEOUT,    /* total deadline exceeded */
    STS_FETCH_HTTP,       /* status other than 200 (3xx included) */
    STS_FETCH_MEDIA_TYPE, /* Content-Type not text/plain */
    STS_FETCH_TOO_BIG,    /* body over STS_POLICY_BODY_MAX */
    STS_FETCH_ERROR,      /* anything else */
};

/** "ok", "dns", "refused", "connect", "tls", "timeout", "http", "media-type", "too-big", "error".
 */
const char *sts_fetch_result_name(enum sts_fetch_result r);

/**
 * Why a lookup (or the discovery behind it) came out as it did: the
 * stable reason of the cache's log lines, its negative store rows and the
 * socketmap's TEMP replies.  FETCH_FAILED is qualified by a fetch result
 * (spelled "fetch-failed:tls", ...): see sts_lookup_reason_format().
 */
enum sts_lookup_reason {
    STS_LOOKUP_REASON_NONE = 0,          /* "" */
    STS_LOOKUP_REASON_CACHED,            /* "cached": an unexpired policy */
    STS_LOOKUP_REASON_NO_INDICATOR,      /* "no-indicator": no _mta-sts TXT record */
    STS_LOOKUP_REASON_TXT_INVALID,       /* "txt-invalid" */
    STS_LOOKUP_REASON_FETCH_BACKOFF,     /* "fetch-backoff": a recent fetch of this id failed */
    STS_LOOKUP_REASON_FETCH_FAILED,      /* "fetch-failed:<fetch result>" */
    STS_LOOKUP_REASON_POLICY_INVALID,    /* "policy-invalid": the body does not parse */
    STS_LOOKUP_REASON_DNS_TIMEOUT,       /* "dns-timeout" */
    STS_LOOKUP_REASON_DNS_BOGUS,         /* "dns-bogus": DNSSEC validation failed */
    STS_LOOKUP_REASON_DNS_SERVFAIL,      /* "dns-servfail" */
    STS_LOOKUP_REASON_NO_POLICY,         /* "no-policy": discovery left nothing */
    STS_LOOKUP_REASON_DISCOVERY_TIMEOUT, /* "discovery-timeout": still running */
    STS_LOOKUP_REASON_OUT_OF_MEMORY,     /* "out-of-memory" */
    STS_LOOKUP_REASON_STORE_ERROR,       /* "store-error": the store could not be read */
};
#define STS_LOOKUP_REASON_COUNT (STS_LOOKUP_REASON_STORE_ERROR + 1)

/** The reason's word, without a fetch qualifier ("fetch-failed" for FETCH_FAILED). */
const char *sts_lookup_reason_name(enum sts_lookup_reason r);

/**
 * Write the reason as logs and the store spell it: the word, and for
 * FETCH_FAILED ":" and the fetch result's name.
 * @return out (always NUL-terminated when outlen > 0)
 */
const char *sts_lookup_reason_format(enum sts_lookup_reason r, enum sts_fetch_result fetch,
                                     char *out, size_t outlen);

/**
 * Parse a formatted reason back (a negative row of the store).
 * @return true with *r (and *fetch, STS_FETCH_OK unless FETCH_FAILED) set;
 *         false for a word that is none of them
 */
bool sts_lookup_reason_parse(const char *text, enum sts_lookup_reason *r,
                             enum sts_fetch_result *fetch);

#endif
