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
 * application, RFC 7672 DANE; "enforce" below means the policy's or the
 * override's mode):
 *
 *  1. site override "skip" for the domain     pass   override-skip
 *  2. route LOCAL (not outbound SMTP)          pass   not-outbound
 *  3. recipient without a domain ("<>", literal) pass  no-domain
 *  4. the caller could not gather the facts    on-failure internal-error
 *  5. a site override "enforce" ("secure"), "dane", "verify" or "encrypt":
 *     judged in steps 7-8 as the level it names (destination.h), whatever
 *     MTA-STS the domain publishes (the override wins over the published
 *     policy and needs no lookup, so lookup failures do not matter)
 *  6. policy lookup outcome:
 *       TEMPFAIL, the _mta-sts TXT RRset DNSSEC-bogus
 *                                               fail   dnssec-invalid
 *       TEMPFAIL (DNS failure, nothing cached)  on-failure dns-error
 *       PENDING  (discovery past its deadline)  on-failure discovery-timeout
 *       ERROR    (cache/store failure)          on-failure store-error
 *       NO_POLICY, or POLICY in mode none: on a DIRECT route whose MX
 *         RRset is DNSSEC-bogus, or where some MX host requires DANE
 *         (RFC 7672 §2.2), or that LearnTLS learned: steps 7c-8;
 *         otherwise                             pass   no-policy
 *                                                      (policy-none)
 *       POLICY, mode testing or enforce: 7
 *  7. judged against the requirement:
 *     a. route UNKNOWN                          fail   route-unknown
 *        (without a policy or override: pass no-policy)
 *     b. route RELAY: next hop in the trusted list   pass trusted-relay
 *                     "[host]" the patterns permit   pass relay-mx-match
 *                     otherwise                      fail untrusted-relay
 *        (without a policy or override: pass no-policy)
 *     c. route DIRECT: MX RRset DNSSEC-bogus     fail   dnssec-invalid
 *                      MX lookup failed          on-failure dns-error
 *                      no MX host at all         fail   no-mx
 *                      only null MX (RFC 7505)   pass   null-mx
 *                      no candidate (destination.h: no host the patterns
 *                        permit nor DANE governs) fail  mx-mismatch
 *                        (override: override-enforce-mismatch)
 *                      TLS not checked (mx_tls NULL): a candidate
 *                        exists                  pass   mx-match
 *                        (override-enforce-match, override-verify-match,
 *                        override-encrypt-match, learned-tls-match,
 *                        no-policy for DANE without a policy)
 *                      TLS checked (step 8)
 *  8. the candidates in MX order, each against its requirement
 *     (destination.h: dane, secure, verify, encrypt, or none):
 *       some candidate meets it                 pass   mx-match,
 *         dane-match (DANE), override-enforce-match, override-verify-match,
 *         override-encrypt-match, learned-tls-match, or no-policy (a host
 *         without any requirement in a partly-DANE MX set)
 *       some candidate not probed yet           on-failure tls-pending
 *       some candidate failed                   fail   the first such
 *         candidate's RFC 8460 result type: starttls-not-supported,
 *         certificate-host-mismatch, certificate-expired,
 *         certificate-not-trusted, validation-failure, tlsa-invalid,
 *         dnssec-invalid, dane-required; learned-tls-downgrade when the
 *         requirement was learned
 *       every candidate unreachable             on-failure mx-unreachable
 *     A TLS failure is not an MX mismatch: the MTA would try the host and
 *     refuse to deliver, so enforce fails the recipient; a host that is
 *     down or not yet probed says nothing either way (OnTLSUnknown).
 *
 * "fail" sets would_fail; the action is TEMPFAIL only when the milter runs
 * in ENFORCE mode and the mode is enforce: a testing policy never fails
 * (RFC 8461 §5: deliver as though there were no failure, report it) and
 * AUDIT mode never fails, both tagged with what enforce would have done.
 * DANE and DNSSEC failures (dnssec-invalid, and a failure of a host that
 * requires DANE) are enforced whatever the policy's mode (RFC 7672 §2.2:
 * TLS is mandatory there), and a learned requirement only under
 * LearnTLS enforce.
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
 *   dnssec-invalid, learned-tls-downgrade
 *                       451 4.7.5  cryptographic failure (Postfix's code
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

#include "mtasts/destination.h"
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
    /* local forced TLS (overrides file) and learned TLS (LearnTLS) */
    STS_REASON_OVERRIDE_VERIFY_MATCH,  /* "override-verify-match" */
    STS_REASON_OVERRIDE_ENCRYPT_MATCH, /* "override-encrypt-match" */
    STS_REASON_LEARNED_MATCH,          /* "learned-tls-match" */
    STS_REASON_LEARNED_DOWNGRADE,      /* "learned-tls-downgrade" */
};
#define STS_REASON_COUNT (STS_REASON_LEARNED_DOWNGRADE + 1)

/**
 * A site override for one domain, found by the caller in its
 * configuration.  patterns are policy "mx" patterns, normalised with
 * sts_mx_match_normalize_pattern(); borrowed for the call.  ENFORCE with
 * no patterns permits only trusted relays.  DANE, VERIFY and ENCRYPT
 * require that level of every MX host (destination.h).
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
    /* What each MX host's TLSA RRset means (dane.h), parallel to mx; NULL:
     * not looked up (then a host whose probe was judged by DANE counts as
     * DANE-governed).  With DANE facts, a domain without an MTA-STS policy
     * is judged too when some host requires DANE (RFC 7672 §2.2). */
    const enum sts_dane_state *mx_dane;
    /* The resolver validates DNSSEC (a trust anchor is configured): only
     * then can an MX RRset be secure or bogus, so only then does a domain
     * without a policy need its MX hosts looked at (sts_verdict_needs_mx()). */
    bool dane_possible;
    /* LearnTLS: every MX host of this domain without MTA-STS or DANE has
     * passed verified TLS long enough; learn_enforce: tempfail a failure
     * (else it is reported only). */
    bool learned;
    bool learn_enforce;
    /* The TLS state of each MX host, parallel to mx; NULL when the route's
     * TLS is not checked (TLSChecks no): the patterns alone decide. */
    const struct sts_tls_verdict *mx_tls;
    /* The policy lookup (sts_cache_lookup()); ignored under an override.
     * A TEMPFAIL for reason dns-bogus (the _mta-sts TXT RRset failed DNSSEC
     * validation) is dnssec-invalid, never a dns-error. */
    enum sts_lookup_outcome lookup;
    enum sts_lookup_reason lookup_reason;
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
    /* The strongest per-host requirement among the candidates
     * (destination.h): what the socketmap tells the MTA to enforce. */
    enum sts_tls_requirement require;
    bool enforced;                  /* a failure tempfails in Mode enforce whatever the policy's
                                       mode: DANE and DNSSEC are mandatory (RFC 7672 §2.2) */
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

/**
 * The destination's requirement per MX host (destination.h) from the
 * same facts the verdict reads (the override, the policy, mx, mx_dane or
 * the probes' DANE flags): what the caller probes, and what the socketmap
 * would answer.
 */
void sts_verdict_destination(const struct sts_verdict_input *in, struct sts_destination *out);

/** "not-outbound", "mx-mismatch", ...: stable, for logs and headers. */
const char *sts_verdict_reason_name(enum sts_verdict_reason reason);

#endif
