/*
 * discovery_io.h - the two I/O steps of policy discovery (RFC 8461 §3),
 * shared by the cache (cache.c) and "mtasts fetch|check": each performs
 * one step, fills the facts discovery.h decides on, and keeps what a
 * person wants to see (the answer, the response, the error, the time).
 *
 *   sts_discovery_io_txt()    TXT _mta-sts.DOMAIN through dns.h, the
 *                             RRset judged by txt.h (§3.1)
 *   sts_discovery_io_fetch()  GET https://mta-sts.DOMAIN/.well-known/
 *                             mta-sts.txt through fetch.h, the body
 *                             parsed by policy.h (§3.2, §3.3)
 *
 * and one whole discovery as the cache runs it, sts_discovery_io_run():
 * the TXT step, the store's back-off, the fetch step, each followed by
 * discovery.h's decision, then the store writes and the log lines that
 * decision asks for.  What to keep in memory stays the caller's (cache.c).
 *
 * Blocking: each is bounded by the resolver's and the fetch's timeouts
 * (and the store's busy timeout).  Thread-safe (no state of their own);
 * no lock of the caller may be held (I/O).
 *
 * Ownership: the step structs own their answer, response and policy;
 * clear them with the _clear() functions.  The facts point into them
 * (txt_id points into the TXT step's record): keep the step alive while
 * the facts are used.
 */
#ifndef MTASTS_DISCOVERY_IO_H
#define MTASTS_DISCOVERY_IO_H

#include <stddef.h>

#include "mtasts/discovery.h"
#include "mtasts/dns.h"
#include "mtasts/domain.h"
#include "mtasts/fetch.h"
#include "mtasts/log.h"
#include "mtasts/policy.h"
#include "mtasts/status.h"
#include "mtasts/store.h"
#include "mtasts/txt.h"

/** The TXT step and what it saw. */
struct sts_discovery_io_txt {
    char name[STS_DOMAIN_MAX + 16]; /* _mta-sts.DOMAIN */
    enum sts_status status;         /* of the query: STS_OK, or why none was made */
    struct sts_dns_answer *ans;     /* owned; NULL when no query was made */
    struct sts_txt txt;             /* the record, when the facts say RECORD */
    char err[256];                  /* why the RRset is INVALID */
    double ms;                      /* wall time of the query */
};

/** The fetch step and what it saw. */
struct sts_discovery_io_fetch {
    enum sts_status status;         /* of the fetch: STS_OK, or STS_ENOMEM, ... */
    struct sts_fetch_response resp; /* owned */
    struct sts_policy *policy;      /* owned; the parsed policy, or NULL */
    enum sts_status parse_status;   /* of the parse (STS_ENOMEM: not the body's fault) */
    char err[256];                  /* why the body is not a policy */
    double ms;                      /* wall time of the fetch */
};

/**
 * Look up and judge the _mta-sts TXT RRset of a normalised domain; sets
 * f->txt, f->txt_id (pointing into out) and f->txt_fails.
 */
void sts_discovery_io_txt(struct sts_dns *dns, const char *domain, struct sts_discovery_facts *f,
                          struct sts_discovery_io_txt *out);

/** Free what the TXT step owns; safe on a zeroed or cleared struct. */
void sts_discovery_io_txt_clear(struct sts_discovery_io_txt *t);

/**
 * Fetch and parse the policy of a normalised domain; sets f->fetched,
 * f->fetch, f->parsed and f->max_age.
 * @param cfg the fetch settings (NULL: fetch.h's defaults)
 */
void sts_discovery_io_fetch(const struct sts_fetch_config *cfg, struct sts_dns *dns,
                            const char *domain, struct sts_discovery_facts *f,
                            struct sts_discovery_io_fetch *out);

/** Free what the fetch step owns (the policy too, unless taken); safe on a zeroed struct. */
void sts_discovery_io_fetch_clear(struct sts_discovery_io_fetch *s);

/** What one discovery works with (borrowed for the call). */
struct sts_discovery_io_env {
    struct sts_dns *dns;
    struct sts_store *store;              /* NULL: no back-off reads, no writes */
    const struct sts_fetch_config *fetch; /* NULL: fetch.h's defaults */
    struct sts_discovery_settings set;    /* the TTLs and the back-off */
    const struct sts_log_sink *log;       /* NULL: silent */
};

/** The unexpired policy the caller held when the discovery started. */
struct sts_discovery_io_cached {
    const struct sts_policy *policy; /* NULL: nothing valid cached */
    const char *id;                  /* its TXT id (policy set) */
    int64_t expires_at;              /* its expiry, Unix seconds */
};

/** What one discovery decided. */
struct sts_discovery_io_result {
    struct sts_discovery_decision d; /* the last decision */
    char txt_id[STS_TXT_ID_MAX + 1]; /* the TXT record's id, "" without one */
    struct sts_policy *policy;       /* the fetched policy when d.action is UPDATE
                                        (the caller owns it then), else NULL */
};

/**
 * One discovery of a normalised domain (RFC 8461 §3, §5): gather the
 * facts step by step, let discovery.h decide after each, then write to
 * the store and log what the decision asks for ("event=" lines, in
 * discovery.h's order; a failed write logs event=store-error).
 * @param env    the resolver, store, fetch settings, TTLs and log sink
 * @param domain the domain
 * @param now    Unix seconds (the facts' time)
 * @param cached what the caller held (see above)
 * @param out    receives the decision, the id and the new policy
 */
void sts_discovery_io_run(const struct sts_discovery_io_env *env, const char *domain, int64_t now,
                          const struct sts_discovery_io_cached *cached,
                          struct sts_discovery_io_result *out);

#endif
