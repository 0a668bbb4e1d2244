/*
 * dane.h - the DNS facts DANE (RFC 7672) decides on, per MX host, and what
 * they mean: the one DANE module, serving the STARTTLS probes (mx_tls.c),
 * the RCPT judge and the socketmap (judge.c) and "mtasts check" alike.
 *
 * For one MX host, reached through an MX RRset that was DNSSEC-secure or
 * not (RFC 7672 §2.2.1), it looks up and memoises:
 *   - the addresses: A, then AAAA (at most STS_DANE_ADDRS), and the least
 *     secure DNSSEC status of the two answers;
 *   - only when the MX RRset was secure and every address RRset found is
 *     secure (§2.2.2), the TLSA RRset of _PORT._tcp.HOST (§2.2.3; the port
 *     is the configured SMTP port; CNAME expansion of the host, §2.2.2, is
 *     not followed: the name as given is the TLSA base).
 * and derives the host's state (vocab.h sts_dane_state):
 *   NOT_APPLICABLE  the MX RRset insecure, or an address RRset insecure, or
 *                   no address at all
 *   BOGUS           an address or the TLSA RRset failed validation
 *   FAILED          the TLSA lookup failed (SERVFAIL, timeout): §2.2 says
 *                   such a host must not be used (RFC 8460 dnssec-invalid)
 *   NONE            no TLSA records (NXDOMAIN, NODATA), or an insecure answer
 *   UNUSABLE        secure records, none usable
 *   USABLE          secure records, some usable (sts_dane_tlsa_usable())
 * A lookup that fails locally (the resolver, memory, the budget) gives no
 * state: local_error is set and nothing is memoised.
 *
 * Memo (memo.h): one value per (host, whether the MX RRset was secure),
 * kept for the smallest TTL of its answers, capped at max_ttl_s; failed
 * answers for at most failure_ttl_s.  Lookups of one host that miss at
 * once share its queries.
 *
 * Thread-safe.  Ownership: a struct sts_dane_host holds a reference on its
 * memoised value, so its tlsa pointer stays valid until
 * sts_dane_host_clear(); the module borrows the resolver, which must
 * outlive it.
 */
#ifndef MTASTS_DANE_H
#define MTASTS_DANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/clock.h"
#include "mtasts/dns.h"
#include "mtasts/domain.h"
#include "mtasts/mx_cache.h"
#include "mtasts/probe.h"
#include "mtasts/status.h"
#include "mtasts/vocab.h"

#define STS_DANE_ADDRS 4     /* addresses kept per host (A first) */
#define STS_DANE_TLSA_MAX 64 /* TLSA records looked at per host */

struct sts_dane_config {
    struct sts_dns *dns;    /* borrowed */
    unsigned port;          /* the TLSA name's port; 0 = 25 */
    unsigned max_ttl_s;     /* 0 = 3600 */
    unsigned failure_ttl_s; /* a SERVFAIL or timeout kept at most; 0 = 60 */
    size_t max_entries;     /* 0 = 65536 */
    struct sts_clock clock; /* milliseconds; zero = CLOCK_MONOTONIC */
};

/** What DANE sees of one MX host. */
struct sts_dane_host {
    enum sts_dane_state state;
    bool local_error; /* no facts: a lookup failed locally or the budget ran out */
    /* addresses */
    size_t naddrs;
    char addrs[STS_DANE_ADDRS][46];
    enum sts_dnssec addr_dnssec; /* the least secure of the A and AAAA answers */
    bool addr_failed;            /* an address lookup gave SERVFAIL or timed out */
    char addr_why[200];          /* why there is no address, or why bogus */
    /* TLSA, when looked up (tlsa_name non-empty) */
    char tlsa_name[STS_DOMAIN_MAX + 16];
    enum sts_dns_result tlsa_result;
    enum sts_dnssec tlsa_dnssec;
    size_t ntlsa, nusable;
    const struct sts_dns_tlsa *tlsa; /* ntlsa records, valid until clear */
    char why[240];                   /* the state in words, for logs and check */
    void *ref_;                      /* private */
};

struct sts_dane;

/**
 * Create the module.
 * @return STS_OK, STS_EINVAL (no resolver), STS_ENOMEM
 */
enum sts_status sts_dane_new(const struct sts_dane_config *cfg, struct sts_dane **out, char *err,
                             size_t errlen);

/** Free; NULL is a no-op.  No lookup may be running. */
void sts_dane_free(struct sts_dane *d);

/**
 * The facts and state of one MX host.  Thread-safe; out is always filled
 * (release with sts_dane_host_clear()).
 * @param host      normalised MX host name
 * @param mx_secure the MX RRset it came from was DNSSEC-secure
 * @param budget_ms the longest to wait for the lookups in all; 0: each
 *                  query waits the resolver's own timeout
 */
void sts_dane_host_get(struct sts_dane *d, const char *host, bool mx_secure, unsigned budget_ms,
                       struct sts_dane_host *out);

/** The memoised facts only (never asks, never waits); false on a miss. */
bool sts_dane_host_peek(struct sts_dane *d, const char *host, bool mx_secure,
                        struct sts_dane_host *out);

/** Release the reference; safe on a zeroed or cleared struct. */
void sts_dane_host_clear(struct sts_dane_host *h);

/** Forget a host (both keys), after "mtasts cache purge --probes". */
void sts_dane_forget(struct sts_dane *d, const char *host);

/**
 * Is a TLSA record usable for SMTP (RFC 7672 §3.1)?  Usage DANE-TA(2) or
 * DANE-EE(3), selector 0 or 1, matching type 0 (any length), 1 (a 32-byte
 * digest) or 2 (64 bytes); PKIX-TA(0)/PKIX-EE(1) are not (§3.1.3).  The one
 * rule every part applies.
 */
bool sts_dane_tlsa_usable(const struct sts_dns_tlsa *t);

/**
 * Keep the usable records of n (sts_dane_tlsa_usable()) as probe.h wants
 * them; out (room for n) borrows their data.
 * @return how many were kept
 */
size_t sts_dane_usable_records(const struct sts_dns_tlsa *in, size_t n, struct sts_probe_tlsa *out);

/**
 * The usable records of a host as probe.h wants them (borrowing the
 * host's data).
 * @return how many were written (at most cap)
 */
size_t sts_dane_probe_records(const struct sts_dane_host *h, struct sts_probe_tlsa *out,
                              size_t cap);

/**
 * Does DANE govern the domain's MX set (for the socketmap's answer and
 * check)?  NONE when the MX RRset is insecure (or there is no host);
 * ONLY when every real host's state is USABLE, BOGUS or FAILED (DANE
 * decides each); SOME when some; UNKNOWN when the MX set is unknown or a
 * lookup failed locally or the budget ran out (the caller falls back to
 * MTA-STS: a wrong NONE only weakens to what MTA-STS gives).
 * @param mx     the domain's MX hosts (mx_cache.h)
 * @param states receives each host's state, parallel to mx->hosts (may be
 *               NULL; room for mx->count)
 * @param why    receives a short reason for logs ("mx-insecure", "2/3-hosts")
 */
enum sts_dane_summary sts_dane_domain(struct sts_dane *d, const struct sts_mx_result *mx,
                                      unsigned budget_ms, enum sts_dane_state *states, char *why,
                                      size_t whylen);

/** Counters since creation. */
struct sts_dane_stats {
    uint64_t hits, misses, lookups;
    size_t entries;
};
void sts_dane_stats(struct sts_dane *d, struct sts_dane_stats *out);

#endif
