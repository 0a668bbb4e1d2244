/*
 * discovery.h - what policy discovery does next (RFC 8461 §3, §5): pure,
 * no I/O, no allocation, no state, thread-safe.
 *
 * The cache (cache.c) gathers the facts of one discovery of a domain step
 * by step - what it has cached, the _mta-sts TXT answer, the store's
 * back-off row for the TXT id, the HTTPS fetch - and asks
 * sts_discovery_decide() after each step.  The decision names the next
 * step (check the back-off, fetch) or the end: the domain's new state, the
 * store writes, the log event and the reason.  The cache only executes.
 *
 * Rules (first match wins; "cached" means an unexpired policy is held):
 *   TXT lookup failed (timeout, bogus, SERVFAIL, local error):
 *       cached      KEEP      log txt-lookup-failed (kept)
 *       otherwise   TEMPFAIL  until now + tempfail_ttl, memory only,
 *                             log txt-lookup-failed
 *   no TXT record (NXDOMAIN, NODATA, no v=STSv1 record), or an invalid
 *   TXT RRset:
 *       cached      KEEP      log txt-missing: §5 keeps an unexpired
 *                             policy when the record vanishes
 *       otherwise   NEGATIVE  until now + negative_ttl, a negative row
 *   TXT id equal to the cached policy's:
 *                   EXTEND    §5.1: the policy is current; expires at
 *                             now + its max_age, a refresh write, silent
 *   a new id (or nothing cached), back-off not checked yet:
 *                   CHECK_BACKOFF
 *   back-off row active for (domain, id) (§5 rate limit):
 *       cached      KEEP      silent
 *       otherwise   NEGATIVE  until the back-off ends, reason
 *                             fetch-backoff, a negative row
 *   no back-off, not fetched yet:
 *                   FETCH
 *   the fetch failed (any sts_fetch_result but OK) or the body did not
 *   parse as a policy:
 *                   a back-off row until now + max(backoff, 300 s),
 *                   log fetch-failed, then
 *       cached      KEEP      (§5: a failed refresh keeps the policy)
 *       otherwise   NEGATIVE  until the back-off ends, reason
 *                   fetch-failed:<result> or policy-invalid, a negative row
 *   the fetch gave a policy:
 *                   UPDATE    the policy replaces what was cached (also
 *                             "mode: none", §5: it takes effect at once),
 *                             expires at now + its max_age, a policy
 *                             write, log policy-updated
 * Every NEGATIVE also logs no-policy (after any fetch-failed line).
 * Defaults for zero settings: negative 3600 s, tempfail 60 s, back-off
 * 300 s; a back-off below 300 s is raised to 300 s (the §5 rate limit).
 */
#ifndef MTASTS_DISCOVERY_H
#define MTASTS_DISCOVERY_H

#include <stdbool.h>
#include <stdint.h>

#include "mtasts/vocab.h"

/** The shortest back-off after a failed fetch (RFC 8461 §5 asks for a rate limit). */
#define STS_DISCOVERY_BACKOFF_MIN_S 300

/** What the _mta-sts TXT lookup said. */
enum sts_discovery_txt_kind {
    STS_DISCOVERY_TXT_RECORD = 0, /* one valid v=STSv1 record: id */
    STS_DISCOVERY_TXT_NONE,       /* NXDOMAIN, NODATA, or no v=STSv1 record */
    STS_DISCOVERY_TXT_INVALID,    /* v=STSv1 records, none valid (or several) */
    STS_DISCOVERY_TXT_FAILED,     /* the lookup failed */
};

/** Every fact a discovery can know; the caller fills more after each step. */
struct sts_discovery_facts {
    int64_t now; /* Unix seconds */
    /* The unexpired policy the cache holds, if any. */
    bool cached;
    const char *cached_id;
    unsigned cached_max_age;
    /* The TXT lookup. */
    enum sts_discovery_txt_kind txt;
    const char *txt_id;               /* RECORD: the record's id */
    enum sts_lookup_reason txt_fails; /* FAILED: DNS_TIMEOUT, DNS_BOGUS or DNS_SERVFAIL */
    /* The store's back-off for (domain, txt_id): after CHECK_BACKOFF. */
    bool backoff_checked;
    int64_t backoff_until; /* 0, or a time in the past: none */
    /* The fetch: after FETCH. */
    bool fetched;
    enum sts_fetch_result fetch; /* OK: a body was served */
    bool parsed;                 /* fetch OK and the body is a valid policy */
    unsigned max_age;            /* parsed: the new policy's max_age */
};

/** The site's settings (configuration keys); 0 = the default above. */
struct sts_discovery_settings {
    unsigned negative_ttl_s; /* NegativeCacheTTL */
    unsigned tempfail_ttl_s; /* DNSFailureTTL */
    unsigned backoff_s;      /* FetchBackoff */
};

enum sts_discovery_action {
    STS_DISCOVERY_CHECK_BACKOFF = 0, /* read the back-off row of (domain, txt_id), ask again */
    STS_DISCOVERY_FETCH,             /* fetch the policy over HTTPS, ask again */
    STS_DISCOVERY_EXTEND,            /* the cached policy stays, until expires_at */
    STS_DISCOVERY_KEEP,              /* the cached policy stays as it is */
    STS_DISCOVERY_UPDATE,            /* the fetched policy replaces it, until expires_at */
    STS_DISCOVERY_NEGATIVE,          /* no policy until `until` */
    STS_DISCOVERY_TEMPFAIL,          /* a DNS failure, remembered until `until` */
};

/*
 * The log lines a decision asks for (bits of sts_discovery_decision.logs),
 * written in this order.
 */
#define STS_DISCOVERY_LOG_FETCH_FAILED 1u      /* warning: the fetch failed, back-off */
#define STS_DISCOVERY_LOG_TXT_MISSING 2u       /* warning: no usable TXT, policy kept */
#define STS_DISCOVERY_LOG_TXT_LOOKUP_FAILED 4u /* warning: kept (when cached) or not */
#define STS_DISCOVERY_LOG_NO_POLICY 8u         /* info: with every NEGATIVE */
#define STS_DISCOVERY_LOG_POLICY_UPDATED 16u   /* info: with UPDATE */

/* Store writes (bits of sts_discovery_decision.writes). */
#define STS_DISCOVERY_WRITE_POLICY 1u   /* the fetched policy, expires_at */
#define STS_DISCOVERY_WRITE_REFRESH 2u  /* checked_at = now, expires_at */
#define STS_DISCOVERY_WRITE_NEGATIVE 4u /* a negative row until `until`, reason */
#define STS_DISCOVERY_WRITE_BACKOFF 8u  /* a back-off row (txt_id) until backoff_until */

struct sts_discovery_decision {
    enum sts_discovery_action action;
    enum sts_lookup_reason reason; /* NEGATIVE, TEMPFAIL, KEEP after a failure */
    enum sts_fetch_result fetch;   /* with reason FETCH_FAILED */
    int64_t until;                 /* NEGATIVE, TEMPFAIL */
    int64_t expires_at;            /* EXTEND, UPDATE */
    int64_t backoff_until;         /* with WRITE_BACKOFF */
    unsigned backoff_s;            /* with WRITE_BACKOFF: its length, for the log */
    unsigned writes;               /* STS_DISCOVERY_WRITE_* */
    unsigned logs;                 /* STS_DISCOVERY_LOG_* */
};

/**
 * Decide the next step from the facts known so far.  Total: any facts give
 * a decision (a RECORD without an id counts as INVALID).
 * @param f   the facts (borrowed for the call)
 * @param s   the settings; NULL = all defaults
 * @param out always filled
 */
void sts_discovery_decide(const struct sts_discovery_facts *f,
                          const struct sts_discovery_settings *s,
                          struct sts_discovery_decision *out);

/** "check-backoff", "fetch", "extend", "keep", "update", "negative", "tempfail". */
const char *sts_discovery_action_name(enum sts_discovery_action a);

#endif
