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
 * Blocking: each is bounded by the resolver's and the fetch's timeouts.
 * Thread-safe (no state of their own).
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
#include "mtasts/policy.h"
#include "mtasts/status.h"
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

#endif
