/*
 * tlsrpt_collect.h - where the engine's TLS-RPT results (RFC 8460 §4) go:
 * counted in memory (tlsrpt_agg.h) by whichever thread saw the session,
 * written to the store (sts_store_tlsrpt_add) by one flusher, never on
 * the caller's path.
 *
 * Sources (issue 14, item 2):
 *   - sts_tlsrpt_collect_discovery(): a transaction whose MTA-STS policy
 *     discovery failed (a fetch error, an invalid policy, a TLS failure
 *     of the policy host) counts one failed session of that domain's sts
 *     policy, with the RFC 8460 §4.3.3 result type and the fetch result as
 *     failure-reason-code; no MX fields (none was tried);
 *   - sts_tlsrpt_collect_session(): any other session, e.g. a STARTTLS
 *     probe under the policy it checked.
 * Sessions whose envelope sender is the report sender are not counted
 * (no reports about reports): callers ask sts_tlsrpt_collect_exempt().
 *
 * The flusher (a job_pool refresher, job_pool.h) drains the aggregation
 * every flush_interval_ms and writes the batch in one transaction; a
 * failing or full store loses that batch's counts (logged with the
 * number of rows) and never blocks a caller.  sts_tlsrpt_collect_free()
 * flushes once more.
 *
 * Locking: the aggregation's shard locks (tlsrpt_agg.h) and the store's
 * own; the collector adds none.  Every function is thread-safe except
 * _free(), the owner's last call.
 */
#ifndef MTASTS_TLSRPT_COLLECT_H
#define MTASTS_TLSRPT_COLLECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/clock.h"
#include "mtasts/dns.h"
#include "mtasts/log.h"
#include "mtasts/policy.h"
#include "mtasts/status.h"
#include "mtasts/tlsrpt_datagram.h"
#include "mtasts/store.h"
#include "mtasts/tlsrpt_agg.h"
#include "mtasts/vocab.h"

struct sts_tlsrpt_collect_config {
    struct sts_store *store;    /* borrowed; NULL: counted, then dropped at flush */
    unsigned flush_interval_ms; /* 0 = 10000 */
    size_t max_rows;            /* rows held between flushes, 0 = STS_TLSRPT_AGG_MAX_ROWS */
    size_t max_details;         /* detail rows per day and domain in the store, 0 = 1000 */
    const char *report_sender;  /* envelope sender of our reports, exempt; NULL = none */
    struct sts_log_sink log;    /* flush errors and drops */
    struct sts_clock clock;     /* Unix seconds of a session without a time */
    bool postfix_sessions;      /* TLSRPTSocket set: Postfix's datagrams are the MX
                                   sessions, probes are not counted (never both) */
};

struct sts_tlsrpt_collect;

/**
 * Start a collector and its flusher.
 * @return STS_OK, STS_ENOMEM
 */
enum sts_status sts_tlsrpt_collect_new(const struct sts_tlsrpt_collect_config *cfg,
                                       struct sts_tlsrpt_collect **out, char *err, size_t errlen);

/** Stop the flusher, flush what is left, free; NULL is a no-op. */
void sts_tlsrpt_collect_free(struct sts_tlsrpt_collect *c);

/** Count one session (s->when 0: now).  NULL c is a no-op. */
void sts_tlsrpt_collect_session(struct sts_tlsrpt_collect *c, const struct sts_tlsrpt_session *s);

/**
 * Count the failed policy discovery of one transaction for domain, when
 * reason says the policy could not be had (fetch failed, policy invalid);
 * any other reason counts nothing.
 * @return true when a failure was counted
 */
bool sts_tlsrpt_collect_discovery(struct sts_tlsrpt_collect *c, const char *domain,
                                  enum sts_lookup_reason reason, enum sts_fetch_result fetch);

/**
 * Count one STARTTLS probe of host made for domain (RFC 8460 §4.3): a
 * pass is a successful session, any other verdict a failed one of its
 * result type, except "unreachable" (no session took place: not
 * counted), and nothing when Postfix's datagrams are the source
 * (postfix_sessions).  The policy it counts under: tlsa when the probe was judged
 * by DANE (tlsa: the host's records, policy-string "u s m hex"), else sts
 * when policy is an MTA-STS policy of mode testing or enforce, else
 * no-policy-found.
 */
void sts_tlsrpt_collect_probe(struct sts_tlsrpt_collect *c, const char *domain, const char *host,
                              const struct sts_tls_verdict *v, const struct sts_policy *policy,
                              const struct sts_dns_tlsa *tlsa, size_t ntlsa);

/**
 * Count the sessions of one Postfix TLSRPT datagram (tlsrpt_datagram.h):
 * one per policy in it (its "f" says whether it failed), under its
 * policy-domain (else the datagram's "d"), each failure detail counted.
 */
void sts_tlsrpt_collect_datagram(struct sts_tlsrpt_collect *c,
                                 const struct sts_tlsrpt_datagram *dg);

/** True when sender (an envelope address, <> stripped or not) is the report sender. */
bool sts_tlsrpt_collect_exempt(const struct sts_tlsrpt_collect *c, const char *sender);

/**
 * Write what is counted now (the flusher's pass; also for tests and the CLI).
 * @return STS_OK, or the store's error (the batch is lost, and logged)
 */
enum sts_status sts_tlsrpt_collect_flush(struct sts_tlsrpt_collect *c);

/** Sessions counted, dropped (row cap) and rows lost to store errors so far. */
struct sts_tlsrpt_collect_stats {
    uint64_t sessions, dropped, rows_written, rows_lost, details_capped;
};
void sts_tlsrpt_collect_stats(const struct sts_tlsrpt_collect *c,
                              struct sts_tlsrpt_collect_stats *out);

#endif
