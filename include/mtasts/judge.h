/*
 * judge.h - the engine's two questions about a destination, with the
 * facts gathered:
 *   - sts_judge_rcpt(): the verdict for one envelope recipient at RCPT
 *     time (route from the MTA's macros, override, policy lookup, MX set,
 *     the MX hosts' TLS), for the milter (mlfi.c);
 *   - sts_judge_map_key(): the answer to one policy-map request (Postfix
 *     smtp_tls_policy_maps, Sendmail's sts map), for the socketmap server
 *     (socketmap.c) and "mtasts query".
 *
 * This is the story of each front door without its protocol in it, so
 * mlfi.c and socketmap.c stay thin and tests and tools call it directly.
 * sts_judge_rcpt() blocks at most the snapshot's LookupDeadline in all
 * (policy discovery, MX lookup and waiting for STARTTLS probes share that
 * budget; a probe still running then goes on in the background and its
 * result serves the next recipient); sts_judge_map_key() at most its
 * deadline_ms.  Thread-safe.
 */
#ifndef MTASTS_JUDGE_H
#define MTASTS_JUDGE_H

#include "mtasts/engine.h"
#include "mtasts/policy_map.h"
#include "mtasts/route.h"
#include "mtasts/verdict.h"

struct sts_judgement {
    char domain[STS_DOMAIN_MAX + 1]; /* "" when the recipient has none */
    struct sts_route route;
    enum sts_lookup_outcome lookup;
    enum sts_lookup_source source;
    enum sts_lookup_reason lookup_reason; /* why the lookup came out so */
    enum sts_fetch_result lookup_fetch;   /* ... for a failed fetch */
    size_t mx_count;
    struct sts_verdict verdict;
    char tls[256]; /* per-MX TLS summary "host[result]...", "" when not checked */
    double ms;     /* wall time spent judging */
};

/**
 * Judge one recipient.
 * @param rcpt    the RCPT TO argument as the MTA passed it ("<u@d>")
 * @param mailer  {rcpt_mailer}, may be NULL
 * @param host    {rcpt_host}, may be NULL
 * @param out     always filled
 */
void sts_judge_rcpt(struct sts_engine *e, const struct sts_snapshot *snap, const char *rcpt,
                    const char *mailer, const char *host, struct sts_judgement *out);

/** Log the judgement as one key=value line, prefixed with the queue id. */
void sts_judge_log(const struct sts_snapshot *snap, const char *queue_id, const char *rcpt,
                   const struct sts_judgement *j);

/** What sts_judge_map_key() found, for the log line and the CLI's exit status. */
struct sts_map_answer {
    enum sts_policy_map_key kind;    /* LOOKUP, NOTFOUND or PERM (the request) */
    enum sts_dane_summary dane;      /* LOOKUP: DANE's word for the MX set */
    enum sts_lookup_outcome outcome; /* LOOKUP without DANE: the policy lookup */
    char word[64];                   /* "dane-only", "dane", "dnssec-invalid",
                                        "override-<kind>", the outcome, or the
                                        reason of a NOTFOUND/PERM request */
};

/**
 * Answer one policy-map request ("NAME KEY", the netstring payload) from
 * the destination decision the RCPT judge makes (destination.h): the
 * override (OverridesFile), the MX RRset's DNSSEC and each host's DANE
 * state (dane.h, RFC 8461 §2: DANE first), then the MTA-STS policy
 * (cache.h), written by policy_map.h.  Blocks at most deadline_ms in all.
 * @param opts  the SocketMapTLSRPT / SocketMapStrictTesting options
 * @param out   receives the reply payload (NUL-terminated)
 * @param info  receives what was found; may be NULL
 * @return the reply's length (policy_map.h's rules)
 */
size_t sts_judge_map_key(struct sts_engine *e, const struct sts_policy_map_options *opts,
                         unsigned deadline_ms, const char *req, size_t len, char *out,
                         size_t outlen, struct sts_map_answer *info);

#endif
