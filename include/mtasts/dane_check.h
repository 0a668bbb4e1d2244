/*
 * dane_check.h - does DANE (RFC 7672) govern a destination domain?  For
 * the socketmap policy server, which must answer DANE before MTA-STS
 * (RFC 8461 §2) without probing anything.
 *
 * A domain is a DANE domain when its MX RRset (or, for an implicit MX, its
 * denial) is DNSSEC-secure (RFC 7672 §2.2.1) and at least one MX host has
 * a secure TLSA RRset at _PORT._tcp.HOST with a usable record: usage
 * DANE-TA(2) or DANE-EE(3), selector 0 or 1, matching type 0, 1 or 2
 * (§3.1.3: PKIX-TA(0)/PKIX-EE(1) are not usable for SMTP), with a digest
 * of the matching type's length.  A host whose
 * TLSA answer is bogus counts as a DANE host: an MTA doing DANE refuses to
 * deliver to it, which is what must happen (§2.2).
 *
 * Results:
 *   NONE      no DANE: MTA-STS (if any) decides
 *   ONLY      every MX host has usable secure TLSA: Postfix "dane-only"
 *   SOME      some have: Postfix "dane" (DANE where published, the rest
 *             opportunistic: the MTA cannot mix DANE and MTA-STS per host)
 *   UNKNOWN   a lookup failed or the budget ran out: the caller falls back
 *             to MTA-STS (a wrong "NONE" here would only weaken to what
 *             MTA-STS gives, never block mail)
 *
 * Thread-safe; blocks at most budget_ms in all.
 */
#ifndef MTASTS_DANE_CHECK_H
#define MTASTS_DANE_CHECK_H

#include <stdbool.h>

#include "mtasts/dns.h"
#include "mtasts/mx_cache.h"

/**
 * Is a TLSA record usable for SMTP (RFC 7672 §3.1)?  Usage DANE-TA(2) or
 * DANE-EE(3), selector 0 or 1, matching type 0 (any length), 1 (a 32-byte
 * digest) or 2 (64 bytes).  The one rule the milter's probes, the
 * socketmap and "mtasts check" all apply.
 */
bool sts_dane_tlsa_usable(const struct sts_dns_tlsa *t);

/**
 * Check a normalised domain.
 * @param port the SMTP port of the TLSA name (25)
 * @param why  receives a short reason for logs ("mx-insecure", "3/3 hosts")
 */
enum sts_dane_summary sts_dane_check_domain(struct sts_mx_cache *mx, struct sts_dns *dns,
                                            const char *domain, unsigned port, unsigned budget_ms,
                                            char *why, size_t whylen);

#endif
