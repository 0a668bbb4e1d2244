/*
 * audit_header.h - the audit header: one entry per recipient verdict,
 * written into the message so a reader (or a test) sees what the milter
 * decided and what enforce would have done.  Pure, no I/O, no allocation.
 *
 * Example value:
 *
 *   example.com; mode=enforce; id=20240101; verdict=fail; reason=mx-mismatch;
 *   mx=mx1.example.com, other.org; mode=none; verdict=pass; reason=no-policy
 *
 * (the line break stands for the white space after a ";", where the
 * formatter may fold: see FOLDING).
 *
 * Grammar (RFC 5234 ABNF; FWS, WSP, CRLF, ALPHA, DIGIT, HEXDIG as in
 * RFC 5322 and RFC 5234; the value as it follows "Name:"):
 *
 *   audit-value = [FWS] ( entries / omitted ) [FWS]
 *   entries     = entry *( [FWS] "," [FWS] entry ) [ [FWS] "," [FWS] omitted ]
 *   entry       = name *( [FWS] ";" [FWS] param )
 *   name        = 1*tchar         ; the recipient domain; "-" when it has none
 *   param       = key "=" value
 *   key         = 1*( %x61-7A / DIGIT / "-" )      ; lower case
 *   value       = 1*tchar
 *   omitted     = %s"omitted=" 1*DIGIT ; entries left out to respect the cap
 *   tchar       = ALPHA / DIGIT / "-" / "." / "_" / ":" / "[" / "]" / pct
 *   pct         = "%" 2( DIGIT / %x41-46 )         ; any other octet, upper-case hex
 *
 * A name never holds "=", so "omitted=N" cannot be taken for an entry.
 * Keys written, in this order, each at most once per entry:
 *   mode      the policy mode applied: enforce | testing | none (none also
 *             when the domain has no policy); absent when unknown (lookup
 *             failures, not-outbound, no-domain, override-skip)
 *   id        the policy's TXT id, when a policy was applied
 *   override  skip | enforce, when a site override decided
 *   verdict   pass | fail: fail when an enforcing milter with an enforcing
 *             policy would tempfail the recipient (required)
 *   reason    the verdict's reason word, sts_verdict_reason_name() (required)
 *   mx        the MX host that decided (matched, or first tried on a mismatch)
 *   relay     the normalised next hop, for relayed recipients
 *   tls       the TLS check of each MX host judged, in MX order, written
 *             host "[" result "]" (result: pass or an RFC 8460 result type,
 *             "dane:" before it when DANE governed the host, "pending" when
 *             not probed yet, "unreachable"), e.g.
 *             "mx1.example.com[certificate-expired]mx2.example.com[pass]";
 *             absent when TLS was not checked
 * A parser ignores keys it does not know and rejects repeated ones.
 * Identical entries (every field equal) are written once, in first-seen
 * order; two recipients of one domain with different verdicts give two
 * entries.
 *
 * FOLDING.  The formatter folds at the white space after ";" or "," so
 * that lines stay within STS_AUDIT_FOLD_AT (78) octets where an element
 * allows, and always within RFC 5322's 998.  Every value is at most
 * STS_AUDIT_VALUE_MAX octets before escaping, so one element never
 * exceeds 3 * 255 + 10 octets.  The fold sequence depends on the consumer:
 *   STS_AUDIT_FOLD_LF    "\n\t": for smfi_addheader()/smfi_insheader(),
 *                        whose manual says a multi-line header is made by
 *                        a line feed followed by white space, NOT preceded
 *                        by a carriage return (the MTA adds CR itself);
 *                        each line must stay under 2048 and should under 998.
 *   STS_AUDIT_FOLD_CRLF  "\r\n\t": for a message written on the wire.
 *   STS_AUDIT_FOLD_NONE  one line, for logs.
 * The value does not start with a space: the MTA puts one after the colon
 * unless the filter negotiated SMFIP_HDR_LEADSPC.  The parser accepts all
 * three forms (and leading white space).
 *
 * CAP.  The whole value fits in outlen - 1 octets; entries that do not fit
 * are dropped from the end and counted in a final "omitted=N".
 * STS_AUDIT_HEADER_MAX is the recommended cap.
 */
#ifndef MTASTS_AUDIT_HEADER_H
#define MTASTS_AUDIT_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/route.h"
#include "mtasts/status.h"
#include "mtasts/verdict.h"

#define STS_AUDIT_HEADER_NAME "MTA-STS-Audit" /* RFC 6648: no "X-" */
#define STS_AUDIT_HEADER_MAX 4096             /* recommended cap of the value */
#define STS_AUDIT_FOLD_AT 78                  /* RFC 5322 §2.1.1 SHOULD */
#define STS_AUDIT_LINE_MAX 998                /* RFC 5322 §2.1.1 MUST */
#define STS_AUDIT_VALUE_MAX 255               /* octets, before escaping */
#define STS_AUDIT_WORD_MAX 63                 /* mode, id, override, verdict, reason */
#define STS_AUDIT_INPUT_MAX 65536             /* longest value the parser reads */

enum sts_audit_fold {
    STS_AUDIT_FOLD_LF = 0, /* libmilter */
    STS_AUDIT_FOLD_CRLF,   /* wire format */
    STS_AUDIT_FOLD_NONE,   /* logs */
};

/** One entry; "" means the key is absent (domain "" is written "-"). */
struct sts_audit_entry {
    char domain[STS_AUDIT_VALUE_MAX + 1];
    char mode[STS_AUDIT_WORD_MAX + 1];
    char id[STS_AUDIT_WORD_MAX + 1];
    char override[STS_AUDIT_WORD_MAX + 1];
    char verdict[STS_AUDIT_WORD_MAX + 1];
    char reason[STS_AUDIT_WORD_MAX + 1];
    char mx[STS_AUDIT_VALUE_MAX + 1];
    char relay[STS_AUDIT_VALUE_MAX + 1];
    char tls[STS_AUDIT_VALUE_MAX + 1];
};

/**
 * Fill an entry from a recipient's verdict.
 * @param e      the entry, overwritten
 * @param domain the recipient's normalised domain, NULL or "" for none
 * @param route  its route (relay= for RELAY routes); may be NULL
 * @param v      its verdict
 */
void sts_audit_header_entry_set(struct sts_audit_entry *e, const char *domain,
                                const struct sts_route *route, const struct sts_verdict *v);

/** Set the entry's tls summary (see the key list); NULL or "" removes it. */
void sts_audit_header_entry_set_tls(struct sts_audit_entry *e, const char *summary);

/**
 * Are two entries the same (every field)?  What the formatter dedupes on.
 */
bool sts_audit_header_entry_equal(const struct sts_audit_entry *a, const struct sts_audit_entry *b);

/**
 * Format the header value.
 * @param entries    n entries, in recipient order; duplicates written once
 * @param n          at least 1
 * @param fold       the fold sequence (see FOLDING)
 * @param first_used octets already on the first line before the value
 *                   ("MTA-STS-Audit: " is 15), for the fold decisions
 * @param out        receives the value, NUL-terminated
 * @param outlen     its size: the cap (STS_AUDIT_HEADER_MAX + 1 recommended)
 * @param omitted    receives how many entries were left out (may be NULL)
 * @return STS_OK; STS_EINVAL (n is 0, a required field is empty, or a field
 *         is longer than its maximum); STS_ETOOBIG (outlen cannot hold even
 *         "omitted=N")
 */
enum sts_status sts_audit_header_format(const struct sts_audit_entry *entries, size_t n,
                                        enum sts_audit_fold fold, size_t first_used, char *out,
                                        size_t outlen, size_t *omitted, char *err, size_t errlen);

/**
 * Parse a header value written by sts_audit_header_format() (any fold
 * form, leading white space allowed, unknown keys ignored).
 * @param value   NUL-terminated; at most STS_AUDIT_INPUT_MAX octets
 * @param entries receives the entries, decoded
 * @param cap     room in entries
 * @param n       receives how many were parsed
 * @param omitted receives N of a trailing "omitted=N", else 0 (may be NULL)
 * @return STS_OK; STS_EINVAL with "offset N: reason" in err; STS_ETOOBIG
 *         (more than cap entries, or the value too long)
 */
enum sts_status sts_audit_header_parse(const char *value, struct sts_audit_entry *entries,
                                       size_t cap, size_t *n, size_t *omitted, char *err,
                                       size_t errlen);

#endif
