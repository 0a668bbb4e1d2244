/*
 * verdict.h - the per-recipient MTA-STS verdict: pure, no I/O, no
 * allocation, thread-safe.
 *
 * The milter gathers the facts (route, MX hosts, cached policy, site
 * configuration) and sts_verdict_decide() turns them into an action
 * (pass or tempfail), what an enforcing sender would do (would_fail), a
 * stable reason word and, when the recipient fails, the SMTP reply.
 *
 * Rules, first match wins (RFC 8461 §4.1 MX host validation, §5 policy
 * application; "enforce" below means the policy's or the override's mode):
 *
 *  1. site override "skip" for the domain     pass   override-skip
 *  2. route LOCAL (not outbound SMTP)          pass   not-outbound
 *  3. recipient without a domain ("<>", literal) pass  no-domain
 *  4. the caller could not gather the facts    on-failure internal-error
 *  5. site override "enforce" with patterns: judged as an enforce policy
 *     with those patterns (steps 7a-8), whatever MTA-STS the domain
 *     publishes (the override wins over the published policy, and needs
 *     no lookup, so lookup failures do not matter); site override "dane":
 *     judged as an enforce policy that permits no MX host by name, so that
 *     only DANE-authenticated hosts pass (steps 7a-8; without TLS checks
 *     every recipient of it fails mx-mismatch)
 *  6. policy lookup outcome:
 *       TEMPFAIL (DNS failure, nothing cached)  on-failure dns-error
 *       PENDING  (discovery past its deadline)  on-failure discovery-timeout
 *       ERROR    (cache/store failure)          on-failure store-error
 *       NO_POLICY                               pass   no-policy
 *       POLICY, mode none                       pass   policy-none
 *       POLICY, mode testing or enforce: 7
 *  7. judged against the mx patterns:
 *     a. route UNKNOWN                          fail   route-unknown
 *     b. route RELAY: next hop in the trusted list   pass trusted-relay
 *                     "[host]" the patterns permit   pass relay-mx-match
 *                     otherwise                      fail untrusted-relay
 *     c. route DIRECT: MX RRset DNSSEC-bogus     fail   dnssec-invalid
 *                      MX lookup failed          on-failure dns-error
 *                      no MX host at all         fail   no-mx
 *                      only null MX (RFC 7505)   pass   null-mx
 *                      no MX host permitted by the patterns nor
 *                        authenticated by DANE   fail   mx-mismatch
 *                        (override: override-enforce-mismatch)
 *                      TLS not checked (mx_tls NULL): some MX host
 *                        permitted               pass   mx-match
 *                        (override: override-enforce-match)
 *                      TLS checked (step 8)
 *  8. the candidates are the MX hosts the patterns permit and those DANE
 *     governs (RFC 8461 §2: where an MX host has DNSSEC-secure usable
 *     TLSA records, DANE decides, whatever the patterns say; under a
 *     "dane" override every MX host is a candidate), in MX order:
 *       some candidate's probe passed           pass   mx-match, or
 *                                                      dane-match (DANE)
 *       some candidate not probed yet           on-failure tls-pending
 *       some candidate failed a TLS check       fail   the first such
 *         candidate's RFC 8460 result type: starttls-not-supported,
 *         certificate-host-mismatch, certificate-expired,
 *         certificate-not-trusted, validation-failure, tlsa-invalid,
 *         dnssec-invalid, dane-required
 *       every candidate unreachable             on-failure mx-unreachable
 *     A TLS failure is not an MX mismatch: the MTA would try the host and
 *     refuse to deliver, so enforce fails the recipient; a host that is
 *     down or not yet probed says nothing either way (OnTLSUnknown).
 *
 * "fail" sets would_fail; the action is TEMPFAIL only when the milter runs
 * in ENFORCE mode and the mode is enforce: a testing policy never fails
 * (RFC 8461 §5: deliver as though there were no failure, report it) and
 * AUDIT mode never fails, both tagged with what enforce would have done.
 * "on-failure X" takes the configured action for class X (accept or
 * tempfail); would_fail is set when that action is tempfail, and the same
 * testing/AUDIT downgrade applies.  The verdict has no defaults of its
 * own: the caller passes the configured actions (the configuration table,
 * config.c, documents them: accept for every class, since RFC 8461 §3.3
 * says a policy that cannot be fetched, with none cached, is treated as
 * absent).
 *
 * Replies (RFC 5321 §4.2 code 451, RFC 3463 enhanced status codes):
 *   mx-mismatch, override-enforce-mismatch, untrusted-relay
 *                       451 4.7.0  security: the route cannot satisfy the
 *                                  policy (no more specific X.7.y fits:
 *                                  X.7.5 is a failed cryptographic
 *                                  operation, X.7.10 concerns AUTH)
 *   no-mx               451 4.4.4  unable to route: no MX host to check
 *   route-unknown       451 4.3.5  system incorrectly configured (the MTA
 *                                  sent no {rcpt_mailer}/{rcpt_host})
 *   starttls-not-supported
 *                       451 4.7.4  security features not supported (what
 *                                  Postfix's SMTP client says)
 *   certificate-*, validation-failure, tlsa-invalid, dane-required,
 *   dnssec-invalid      451 4.7.5  cryptographic failure (Postfix's code
 *                                  for a certificate that does not verify)
 *   mx-unreachable      451 4.4.1  no answer from host
 *   tls-pending         451 4.7.0  the TLS check has not finished
 *   dns-error           451 4.4.3  directory server (DNS) failure
 *   discovery-timeout   451 4.4.3  the policy lookup (DNS, then HTTPS) did
 *                                  not finish: a directory lookup too
 *   store-error         451 4.3.0  mail system status, undefined
 *   internal-error      451 4.3.0  mail system status, undefined
 * The text starts with "MTA-STS: ", names the domain, and holds printable
 * ASCII only, without "%" (smfi_setreply() reads it as a format).
 */
#ifndef MTASTS_VERDICT_H
#define MTASTS_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/domain.h"
#include "mtasts/policy.h"
#include "mtasts/route.h"
#include "mtasts/txt.h"
#include "mtasts/vocab.h"

#define STS_VERDICT_TEXT_MAX 400 /* reply text; SMTP allows 512 per line */

/** Stable reason words: sts_verdict_reason_name(). */
enum sts_verdict_reason {
    STS_REASON_NOT_OUTBOUND = 0,
    STS_REASON_NO_DOMAIN,
    STS_REASON_OVERRIDE_SKIP,
    STS_REASON_NO_POLICY,
    STS_REASON_POLICY_NONE,
    STS_REASON_MX_MATCH,
    STS_REASON_MX_MISMATCH,
    STS_REASON_NO_MX,
    STS_REASON_NULL_MX,
    STS_REASON_TRUSTED_RELAY,
    STS_REASON_RELAY_MX_MATCH,
    STS_REASON_UNTRUSTED_RELAY,
    STS_REASON_ROUTE_UNKNOWN,
    STS_REASON_OVERRIDE_MATCH,
    STS_REASON_OVERRIDE_MISMATCH,
    STS_REASON_DNS_ERROR,
    STS_REASON_DISCOVERY_TIMEOUT,
    STS_REASON_STORE_ERROR,
    STS_REASON_INTERNAL_ERROR,
    STS_REASON_DANE_MATCH,
    STS_REASON_TLS_PENDING,
    STS_REASON_MX_UNREACHABLE,
    /* the RFC 8460 result types, in sts_tls_result order */
    STS_REASON_STARTTLS_NOT_SUPPORTED,
    STS_REASON_CERT_HOST_MISMATCH,
    STS_REASON_CERT_EXPIRED,
    STS_REASON_CERT_NOT_TRUSTED,
    STS_REASON_VALIDATION_FAILURE,
    STS_REASON_TLSA_INVALID,
    STS_REASON_DNSSEC_INVALID,
    STS_REASON_DANE_REQUIRED,
};
#define STS_REASON_COUNT (STS_REASON_DANE_REQUIRED + 1)

/**
 * A site override for one domain, found by the caller in its
 * configuration.  patterns are policy "mx" patterns, normalised with
 * sts_mx_match_normalize_pattern(); borrowed for the call.  ENFORCE with
 * no patterns permits only trusted relays.
 */
struct sts_verdict_override {
    enum sts_override_kind kind;
    const char *const *patterns;
    size_t count;
};

/** The configured action per failure class (OpenDKIM's On-DNSError, ...). */
struct sts_verdict_on_failure {
    enum sts_action dns_error;         /* lookup TEMPFAIL, MX lookup failure */
    enum sts_action discovery_timeout; /* lookup PENDING */
    enum sts_action store_error;       /* lookup ERROR */
    enum sts_action internal_error;    /* the caller's own failure */
    enum sts_action tls_unknown;       /* tls-pending, mx-unreachable */
};

/** Everything the verdict depends on; all pointers borrowed for the call. */
struct sts_verdict_input {
    enum sts_milter_mode mode;
    /* The normalised recipient domain (sts_route_rcpt_domain()), or NULL
     * (or "") when the recipient has none. */
    const char *domain;
    /* The route (sts_route_classify()); NULL is treated as UNKNOWN. */
    const struct sts_route *route;
    /*
     * The domain's MX hosts in preference order, for a DIRECT route
     * (ignored otherwise; see sts_verdict_needs_mx()).  "" or "." is the
     * null MX of RFC 7505.  A domain without MX records whose address
     * records the MTA will use (RFC 5321 §5.1 implicit MX) is passed as
     * the one host domain; an empty list means nowhere to deliver.
     */
    const char *const *mx;
    size_t mx_count;
    bool mx_dns_error; /* the MX lookup failed (SERVFAIL, timeout, bogus) */
    bool mx_bogus;     /* ... because its DNSSEC validation failed */
    /* The TLS state of each MX host, parallel to mx; NULL when the route's
     * TLS is not checked (TLSChecks no): the patterns alone decide. */
    const struct sts_tls_verdict *mx_tls;
    /* The policy lookup (sts_cache_lookup()); ignored under an override. */
    enum sts_lookup_outcome lookup;
    const struct sts_policy *policy; /* for STS_LOOKUP_POLICY */
    const char *policy_id;           /* its TXT id, may be NULL */
    /* Trusted relays: next hops compared with sts_route_hop_equal(). */
    const char *const *trusted_relays;
    size_t trusted_count;
    const struct sts_verdict_override *override; /* NULL: none */
    /* The configured action per failure class; the configuration table
     * holds the defaults (all accept), the verdict has none of its own. */
    struct sts_verdict_on_failure on_failure;
    /* The caller failed to gather the facts (memory, unreadable address,
     * a cache error it knows to be internal). */
    bool internal_error;
};

struct sts_verdict_reply {
    char code[4];  /* "451" */
    char xcode[8]; /* "4.7.0" */
    char text[STS_VERDICT_TEXT_MAX + 1];
};

struct sts_verdict {
    enum sts_action action;
    bool would_fail; /* tempfail if both milter and policy were enforcing */
    enum sts_verdict_reason reason;
    enum sts_override_kind override;    /* the override applied, if any */
    bool mode_known;                    /* mode below means something */
    enum sts_mode mode;                 /* policy mode, ENFORCE for an override,
                                           NONE for no policy */
    char policy_id[STS_TXT_ID_MAX + 1]; /* "" unless a policy was applied */
    /* The MX host that decided: the first permitted one on a match, the
     * first candidate on a mismatch; the relay host for relay-mx-match. */
    char mx[STS_DOMAIN_MAX + 1];
    size_t mx_mismatched;           /* MX hosts (not null MX) the patterns do not permit */
    bool tls_known;                 /* tls_result below is the deciding host's */
    enum sts_tls_result tls_result; /* of the MX host in mx (step 8) */
    bool dane;                      /* DANE decided (step 8) */
    struct sts_verdict_reply reply; /* filled when would_fail, else all "" */
};

/**
 * Decide.  Total: any input, however inconsistent (a POLICY outcome
 * without a policy, an unknown enum value), gives a verdict; nonsense is
 * an internal-error.
 * @param in  the facts (NULL, a caller bug: internal-error, tempfail)
 * @param out always filled
 */
void sts_verdict_decide(const struct sts_verdict_input *in, struct sts_verdict *out);

/**
 * Will the verdict look at the policy lookup?  False for overrides, LOCAL
 * routes and recipients without a domain: the caller can skip the lookup.
 */
bool sts_verdict_needs_lookup(const struct sts_verdict_input *in);

/**
 * Will the verdict look at the MX hosts?  True only for a DIRECT route
 * that an enforce or testing policy (or an enforce override) judges: the
 * caller resolves MX records only then.  Reads the same fields as
 * sts_verdict_decide() except mx, mx_count and mx_dns_error.
 */
bool sts_verdict_needs_mx(const struct sts_verdict_input *in);

/** "not-outbound", "mx-mismatch", ...: stable, for logs and headers. */
const char *sts_verdict_reason_name(enum sts_verdict_reason reason);

#endif
