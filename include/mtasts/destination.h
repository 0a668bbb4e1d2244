/*
 * destination.h - what transport security a destination domain requires,
 * MX host by MX host: one decision, pure (no I/O, no allocation,
 * thread-safe), for the RCPT verdict (verdict.h), the socketmap's answer
 * (policy_map.h) and "mtasts check", so that acceptance and delivery
 * always agree.
 *
 * The facts: the site's override, the MTA-STS policy that applies (if
 * any), the learned state (LearnTLS), the MX RRset's DNSSEC status, the MX
 * hosts and, for each, what its TLSA RRset means (vocab.h sts_dane_state).
 *
 * Rules, first match wins:
 *   1. override skip: nothing is required (skip).
 *   2. the MX RRset is DNSSEC-bogus (RFC 7672 §2.1.1: a failed lookup, an
 *      attack signal): no host may be used (dnssec_invalid).
 *   3. a null MX (RFC 7505) is never a candidate.
 *   4. a host whose TLSA RRset, reached through a secure MX RRset, is
 *      secure with usable records (RFC 7672 §2.2), or bogus, or failed to
 *      resolve (§2.2: such a host must not be used without DANE) requires
 *      DANE, whatever the policy (RFC 8461 §2: DANE first); so does every
 *      host under override dane.
 *   5. the other hosts, by the domain's rule:
 *        override enforce ("secure")  SECURE if a pattern permits the host,
 *                                     else not a candidate
 *        override verify              VERIFY
 *        override encrypt             ENCRYPT
 *        MTA-STS mode enforce/testing SECURE if the policy permits the host
 *                                     (RFC 8461 §4.1), else not a candidate
 *        learned (LearnTLS)           VERIFY
 *        nothing                      NONE: opportunistic, always a
 *                                     candidate (RFC 7672 §2.2: hosts
 *                                     without TLSA records in a partly-DANE
 *                                     MX set are used as without DANE)
 * A policy in mode none counts as nothing.  testing is set for a policy in
 * mode testing: its failures are reported, never enforced (RFC 8461 §5).
 */
#ifndef MTASTS_DESTINATION_H
#define MTASTS_DESTINATION_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/policy.h"
#include "mtasts/vocab.h"

/** MX hosts judged per domain (the most preferred). */
#define STS_DESTINATION_MX_MAX 32

/** The facts; every pointer borrowed for the call. */
struct sts_destination_input {
    enum sts_override_kind override; /* STS_OVERRIDE_NONE: no site rule */
    const char *const *patterns;     /* ENFORCE: normalised mx patterns */
    size_t npatterns;
    const struct sts_policy *policy; /* the applicable MTA-STS policy, or NULL */
    bool learned;                    /* every MX host passed verified TLS long enough */
    enum sts_dnssec mx_dnssec;       /* of the MX RRset (or its denial) */
    bool mx_bogus;                   /* the MX lookup failed DNSSEC validation */
    const char *const *mx;           /* hosts in preference order; "" = null MX */
    size_t mx_count;
    const enum sts_dane_state *dane; /* per host, parallel to mx; NULL: not looked at */
};

struct sts_destination {
    bool skip;           /* override skip: nothing is required */
    bool dnssec_invalid; /* the MX RRset is bogus: no host may be used */
    bool testing;        /* the requirement comes from a policy in mode testing */
    bool learned;        /* ... from LearnTLS */
    enum sts_override_kind override;
    size_t count; /* hosts described below (at most STS_DESTINATION_MX_MAX) */
    enum sts_tls_requirement req[STS_DESTINATION_MX_MAX]; /* per host */
    bool candidate[STS_DESTINATION_MX_MAX];               /* mail may go to it */
    size_t ncandidates;
    size_t ndane;               /* hosts requiring DANE */
    size_t nrequiring;          /* candidates requiring more than NONE */
    enum sts_dane_summary dane; /* ONLY: every real host requires DANE; SOME; NONE */
};

/**
 * Decide.
 * @param in  the facts (NULL: a destination that requires nothing)
 * @param out always filled
 */
void sts_destination_decide(const struct sts_destination_input *in, struct sts_destination *out);

/**
 * The strongest requirement among the candidates (NONE when nothing is
 * required); when no host is a candidate (a policy's patterns permit
 * none), the strongest among the hosts, whose rule keeps the mail
 * waiting.  What the socketmap tells the MTA to enforce.
 */
enum sts_tls_requirement sts_destination_strongest(const struct sts_destination *d);

/**
 * Does a host's TLS verdict meet its requirement?  DANE, SECURE and VERIFY
 * need a probe that passed (a DANE probe for DANE); ENCRYPT a completed
 * TLS 1.2+ handshake, whatever the certificate; NONE nothing at all.
 * @param t the host's verdict; NULL or not known: only NONE is met
 */
bool sts_destination_met(enum sts_tls_requirement req, const struct sts_tls_verdict *t);

#endif
