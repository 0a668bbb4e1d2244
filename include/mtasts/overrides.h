/*
 * overrides.h - local per-domain decisions that take precedence over
 * what a domain publishes (or does not publish) through MTA-STS.
 *
 * File format (OverridesFile in mtasts-milter.conf(5)), one rule a line:
 *
 *     DOMAIN enforce PATTERN [PATTERN...]
 *     DOMAIN dane
 *     DOMAIN skip
 *
 * "enforce" treats DOMAIN as if it published an MTA-STS policy in mode
 * enforce whose "mx" patterns are the PATTERNs (RFC 8461 §4.1 syntax,
 * "*.example.net" allowed), whether it publishes one or not; "dane" requires
 * DANE (RFC 7672) for every MX host of DOMAIN: a recipient passes only
 * through an MX host with DNSSEC-secure TLSA records that authenticate it
 * (RFC 8460 result "dane-required" for hosts without); "skip"
 * exempts DOMAIN from MTA-STS altogether (no lookup, no verdict).  DOMAIN
 * is a domain name ("example.com": that name only) or a dot and a domain
 * name (".example.com": every name strictly below example.com, not
 * example.com itself).  Names and patterns may be written in any case,
 * with a trailing dot or as U-labels; they are normalised (domain.h,
 * mx_match.h).  Keywords are case-insensitive.  Fields are separated by
 * blanks; "#" at the start of a line or after a blank starts a comment;
 * blank lines are ignored.  A DOMAIN written twice is an error, as is any
 * line that does not parse: "FILE:LINE: reason" (STS_EINVAL), and the
 * whole file is refused.
 *
 * Precedence: an exact rule for the domain beats any ".parent" rule; among
 * ".parent" rules the longest (closest) parent wins.
 *
 * Ownership and locking protocol: a loaded set is immutable and holds one
 * reference; sts_overrides_ref()/sts_overrides_unref() are atomic and may
 * be called from any thread, and any number of threads may look up at
 * once without a lock.  The daemon reloads the file on SIGHUP into a new
 * set and swaps its pointer exactly as it does the configuration snapshot
 * (config.h); a file that does not load leaves the old set in place.  A
 * pointer returned by sts_overrides_lookup() is valid while the caller
 * holds a reference on the set.
 */
#ifndef MTASTS_OVERRIDES_H
#define MTASTS_OVERRIDES_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/status.h"
#include "mtasts/vocab.h"

/* Refuse files and lines larger than these. */
#define STS_OVERRIDES_FILE_MAX (16 * 1024 * 1024)
#define STS_OVERRIDES_LINE_MAX 4096

struct sts_override {
    const char *domain; /* normalised, with the leading "." of a subdomain rule */
    bool subdomains;    /* written ".domain": names strictly below it */
    enum sts_override_kind kind;
    size_t npatterns;            /* ENFORCE: at least 1; SKIP, DANE: 0 */
    const char *const *patterns; /* normalised mx patterns (mx_match.h) */
    unsigned line;               /* where it was written, for logs */
};

struct sts_overrides;

/**
 * Load an overrides file.
 * @param path the file
 * @param out  receives a new set holding one reference; untouched on failure
 * @param err  receives "FILE:LINE: reason" (or "FILE: reason") on failure
 * @return STS_OK; STS_EIO (cannot read), STS_ETOOBIG (over
 *         STS_OVERRIDES_FILE_MAX), STS_EINVAL (a bad line), STS_ENOMEM
 */
enum sts_status sts_overrides_load(const char *path, struct sts_overrides **out, char *err,
                                   size_t errlen);

/**
 * Parse overrides text (tests).
 * @param text the bytes (need not be NUL-terminated; NULL when len is 0)
 * @param name the name to use in messages
 * @return as for sts_overrides_load(), less STS_EIO
 */
enum sts_status sts_overrides_parse(const char *text, size_t len, const char *name,
                                    struct sts_overrides **out, char *err, size_t errlen);

/** One more reference (atomic, any thread); returns ov (NULL stays NULL). */
const struct sts_overrides *sts_overrides_ref(const struct sts_overrides *ov);

/** Drop a reference (atomic, any thread); the last one frees.  NULL is a no-op. */
void sts_overrides_unref(const struct sts_overrides *ov);

/** Drop the reference sts_overrides_load() returned: the same as sts_overrides_unref(). */
void sts_overrides_free(struct sts_overrides *ov);

/**
 * The rule that applies to a domain, by the precedence above.  O(1) in the
 * number of rules (one hash probe per label of domain).  Does not allocate.
 * @param ov     the set; NULL (no OverridesFile) finds nothing
 * @param domain a normalised domain (sts_domain_normalize()); no trailing dot
 * @return the rule, valid while ov is referenced, or NULL
 */
const struct sts_override *sts_overrides_lookup(const struct sts_overrides *ov, const char *domain);

/** The number of rules in the set (0 for NULL). */
size_t sts_overrides_count(const struct sts_overrides *ov);

#endif
