/*
 * judge.h - the verdict for one envelope recipient, with the facts
 * gathered: route from the MTA's macros, override, policy lookup, MX set.
 *
 * This is the RCPT-time story of the milter without libmilter in it, so
 * the protocol layer (mlfi.c) stays thin and tests and benchmarks can call
 * it directly.  It blocks at most the snapshot's LookupDeadline in all
 * (policy discovery, MX lookup and waiting for STARTTLS probes share that
 * budget; a probe still running then goes on in the background and its
 * result serves the next recipient).  Thread-safe.
 */
#ifndef MTASTS_JUDGE_H
#define MTASTS_JUDGE_H

#include "mtasts/route.h"
#include "mtasts/runtime.h"
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
void sts_judge_rcpt(struct sts_runtime *rt, const struct sts_snapshot *snap, const char *rcpt,
                    const char *mailer, const char *host, struct sts_judgement *out);

/** Log the judgement as one key=value line, prefixed with the queue id. */
void sts_judge_log(const struct sts_snapshot *snap, const char *queue_id, const char *rcpt,
                   const struct sts_judgement *j);

#endif
