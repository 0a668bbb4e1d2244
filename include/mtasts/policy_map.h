/*
 * policy_map.h - what the socketmap answers for one request (pure, no I/O).
 *
 * Postfix's smtp_tls_policy_maps and Sendmail's "sts" map send
 * "NAME KEY" (socketmap_table(5)); the map name is not checked (Postfix
 * sends the name after the last ':' of its socketmap: spec, Sendmail
 * "sts").  sts_policy_map_parse() says whether KEY is a domain worth a
 * policy lookup; sts_policy_map_reply() turns the cache's answer into the
 * reply text:
 *   enforce policy         "OK secure match=P1:P2 servername=hostname"
 *                          (an MX pattern "*.example.com" is written
 *                          ".example.com", Postfix's sub-domain syntax),
 *                          then with opts.tlsrpt " policy_type=sts
 *                          policy_domain=D mx_host_pattern=P1 ..."
 *   testing policy         "NOTFOUND " (with opts.strict_testing: as enforce)
 *   none, no policy        "NOTFOUND "
 *   [host]:port, host:port, IP literals, ".parent" keys, single labels,
 *   names that do not normalise: "NOTFOUND "
 *   DNS failure, nothing cached   "TEMP dns-failure <reason>"
 *   discovery still running       "TEMP discovery-pending"
 *   internal error                "TEMP internal-error <reason>"
 *   a malformed request           "PERM <reason>"
 *   DANE (dane.h) wins over MTA-STS whatever its policy (RFC 8461
 *   §2): every MX host with usable secure TLSA: "OK dane-only"; some of
 *   them: "OK dane" (Postfix: DANE where published, opportunistic TLS for
 *   the others).
 * With the destination decision (destination.h, in->dest), which is what
 * the milter judges at RCPT, so that delivery enforces what acceptance
 * promised, its facts come first, in this order:
 *   override skip                 "NOTFOUND " (the MTA's own default
 *                                 level applies, as if we were absent)
 *   bogus MX RRset (RFC 7672
 *   §2.1.1)                       "TEMP dnssec-invalid" (Postfix defers)
 *   DANE governs every host       "OK dane-only"; some hosts: "OK dane"
 *   override dane                 "OK dane-only"
 *   override secure PATTERN...    "OK secure match=P1:P2 servername=hostname"
 *                                 (patterns written as for a policy)
 *   override verify               "OK verify match=hostname" (a trusted
 *                                 chain naming the MX host: explicit, so a
 *                                 site's smtp_tls_verify_cert_match cannot
 *                                 widen it to the next-hop domain)
 *   override encrypt              "OK encrypt protocols=>=TLSv1.2"
 *   else the MTA-STS rules above.
 * Replies are the netstring payload, without the framing.
 */
#ifndef MTASTS_POLICY_MAP_H
#define MTASTS_POLICY_MAP_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/destination.h"
#include "mtasts/domain.h"
#include "mtasts/policy.h"
#include "mtasts/vocab.h"

struct sts_policy_map_options {
    bool tlsrpt;         /* add the TLSRPT attributes (Postfix >= 3.10 only) */
    bool strict_testing; /* answer "testing" policies as enforce */
};

enum sts_policy_map_key {
    STS_POLICY_MAP_LOOKUP = 0, /* a domain: look it up */
    STS_POLICY_MAP_NOTFOUND,   /* not a domain we answer for: "NOTFOUND " */
    STS_POLICY_MAP_PERM,       /* malformed request: "PERM reason" */
};

/** The inputs of one reply. */
struct sts_policy_map_input {
    const char *domain;              /* normalised, from sts_policy_map_parse() */
    enum sts_lookup_outcome outcome; /* the policy lookup (cache.h) */
    const struct sts_policy *policy; /* for STS_LOOKUP_POLICY */
    enum sts_lookup_reason reason;   /* for TEMP replies */
    enum sts_fetch_result fetch;
    enum sts_dane_summary dane; /* NONE or UNKNOWN: MTA-STS decides (without dest) */
    /* The destination decision; NULL: the MTA-STS and dane rules only. */
    const struct sts_destination *dest;
    const char *const *patterns; /* dest->override secure: its patterns */
    size_t npatterns;
};

/**
 * Classify a request's payload "NAME KEY".
 * @param req       the payload (not NUL-terminated; any bytes)
 * @param len       its length
 * @param domain    on LOOKUP, receives the normalised domain
 * @param domainlen its size; STS_DOMAIN_MAX + 1 is enough
 * @param reason    on PERM (and NOTFOUND), receives a short reason word
 * @param reasonlen its size
 * @return the kind of key
 */
enum sts_policy_map_key sts_policy_map_parse(const char *req, size_t len, char *domain,
                                             size_t domainlen, char *reason, size_t reasonlen);

/**
 * Write the reply payload for a looked-up domain.
 * @param out    receives the payload, NUL-terminated; outlen of at least 64
 *               always holds the short replies, STS_NETSTRING_MAX + 1 any
 * @return its length (excluding the NUL); a reply that does not fit in out
 *         or exceeds STS_NETSTRING_MAX is replaced by "PERM reply-too-long"
 *         (mail then waits: better than delivering without the policy)
 */
size_t sts_policy_map_reply(const struct sts_policy_map_options *opts,
                            const struct sts_policy_map_input *in, char *out, size_t outlen);

/** Write "PERM <reason>" (reason sanitised); returns the length like snprintf. */
size_t sts_policy_map_perm(const char *reason, char *out, size_t outlen);

#endif
