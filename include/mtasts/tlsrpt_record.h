/*
 * tlsrpt_record.h - the "_smtp._tls" TXT record parser (RFC 8460 §3),
 * pure, no I/O.
 *
 * Grammar accepted (RFC 8460 §3 with RFC 7405 case-sensitive strings):
 *   record    = "v=TLSRPTv1" 1*(delim field) [delim]
 *   delim     = *WSP ";" *WSP
 *   field     = "rua=" uri *(*WSP "," *WSP uri) / ext-name "=" ext-value
 *   ext-name  = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
 *   ext-value = 1*(%x21-3A / %x3C / %x3E-7E)
 *   uri       = an RFC 3986 URI in which "!", "," and ";" are
 *               percent-encoded
 * A record is a candidate when it begins with "v=TLSRPTv1" followed by
 * ";", a space, a tab or its end (the rule txt.c applies to "v=STSv1");
 * other records of the RRset are discarded.  Exactly one candidate must
 * remain and it must parse, or the domain has no TLSRPT policy.
 *
 * What the parser decides beyond the ABNF (mtasts(1), POLICY RULES):
 *  - "rua" is required; it may appear more than once (the grammar allows
 *    it) and the lists are joined in record order.  "RUA=" is an
 *    extension.  Extension fields are checked against the grammar and
 *    ignored (§3: "unknown fields SHALL be ignored").
 *  - Each URI must be well formed (RFC 3986 characters, valid
 *    percent-encoding, a scheme, no raw "!").  A malformed URI makes the
 *    whole record invalid.
 *  - Only mailto: and https: are supported (§3).  A well-formed URI of
 *    another scheme is skipped (STS_TLSRPT_SKIP_SCHEME), not an error:
 *    §3 asks parsers to accept supersets.
 *  - mailto: (RFC 6068): the part before the first "?" is percent-decoded
 *    and split on "," into addr-specs (so "%2C" separates addresses);
 *    ?hfields, including "to=", are ignored.  Dot-atom and quoted local
 *    parts (RFC 5321 rules, at most 64 octets) are accepted; the domain
 *    is normalised to a lower-case A-label (domain.h).  Address literals,
 *    numeric "domains", single-label domains and non-ASCII local parts
 *    are skipped with a reason; an address that does not parse is an error.
 *  - https: the host must be a DNS name (IP literals, single labels and
 *    userinfo are skipped), the port 1-65535; "%2C", "%3B" and "%21"
 *    (the encodings §3 imposes) are decoded, other escapes kept, the
 *    fragment dropped, scheme and host lower-cased.
 *  - Identical destinations are kept once (the rest are skipped as
 *    duplicates).  At most STS_TLSRPT_RUA_MAX destinations are kept, in
 *    record order; more are counted in "dropped" and do not make the
 *    record invalid.  A record with no usable destination is invalid.
 *
 * Ownership: the parse functions allocate the record and every string it
 * points to; sts_tlsrpt_record_free() releases it all.  A record is
 * immutable after parsing and may be shared read-only between threads.
 */
#ifndef MTASTS_TLSRPT_RECORD_H
#define MTASTS_TLSRPT_RECORD_H

#include <stddef.h>

#include "mtasts/status.h"

#define STS_TLSRPT_RECORD_MAX 4096   /* bytes of one record, strings joined */
#define STS_TLSRPT_RUA_MAX 16        /* destinations kept per record */
#define STS_TLSRPT_SKIPPED_MAX 16    /* skipped URIs listed per record */
#define STS_TLSRPT_EXTNAME_MAX 32    /* RFC 8460 §3: 1 + *31 */
#define STS_TLSRPT_LOCAL_PART_MAX 64 /* RFC 5321 §4.5.3.1.1 */

enum sts_tlsrpt_scheme {
    STS_TLSRPT_SCHEME_MAILTO = 0,
    STS_TLSRPT_SCHEME_HTTPS,
};

/** Why a well-formed URI or address is not used as a destination. */
enum sts_tlsrpt_skip {
    STS_TLSRPT_SKIP_SCHEME = 0,      /* "unsupported-scheme": neither mailto: nor https: */
    STS_TLSRPT_SKIP_ADDRESS_LITERAL, /* "address-literal": [192.0.2.1], 192.0.2.1, [::1] */
    STS_TLSRPT_SKIP_SINGLE_LABEL,    /* "single-label": localhost, intranet */
    STS_TLSRPT_SKIP_USERINFO,        /* "userinfo": https://user@host/ */
    STS_TLSRPT_SKIP_UTF8_LOCAL,      /* "utf8-local-part": needs SMTPUTF8 */
    STS_TLSRPT_SKIP_DUPLICATE,       /* "duplicate": same destination listed before */
};

/** One report destination. */
struct sts_tlsrpt_rua {
    enum sts_tlsrpt_scheme scheme;
    /* mailto: the addr-spec "local@domain", local part as published
     * (decoded), domain a lower-case A-label; https: the URI as described
     * above, e.g. "https://reports.example.com/v1/tlsrpt". */
    char *target;
    char *uri; /* the URI as published, for logs */
};

struct sts_tlsrpt_skipped {
    enum sts_tlsrpt_skip why;
    char *what; /* the raw URI, or for mailto the decoded address */
};

/** A parsed, valid TLSRPT record. */
struct sts_tlsrpt_record {
    size_t rua_count; /* 1 .. STS_TLSRPT_RUA_MAX */
    struct sts_tlsrpt_rua rua[STS_TLSRPT_RUA_MAX];
    size_t dropped; /* usable destinations beyond STS_TLSRPT_RUA_MAX, not kept */
    size_t skipped_count;
    struct sts_tlsrpt_skipped skipped[STS_TLSRPT_SKIPPED_MAX];
    size_t skipped_more; /* skips beyond STS_TLSRPT_SKIPPED_MAX, not listed */
};

/**
 * Parse one TXT record (its character-strings already joined).
 * @param rec the record bytes; need not be NUL-terminated
 * @param len its length
 * @param out receives a new record on STS_OK, else NULL (may be NULL to
 *            validate only)
 * @param err receives the reason, naming the field ("rua: URI 2 ...")
 * @return STS_OK, STS_ENOTFOUND (not a v=TLSRPTv1 record: discard it),
 *         STS_EINVAL, STS_ETOOBIG (longer than STS_TLSRPT_RECORD_MAX)
 *         or STS_ENOMEM
 */
enum sts_status sts_tlsrpt_record_parse(const char *rec, size_t len, struct sts_tlsrpt_record **out,
                                        char *err, size_t errlen);

/**
 * Apply §3 to a whole RRset: discard records that are not candidates,
 * require exactly one, and parse it.
 * @param recs array of n record pointers (NULL entries are discarded)
 * @param lens array of n lengths
 * @return as sts_tlsrpt_record_parse(); STS_ENOTFOUND when no record is
 *         a candidate, STS_EINVAL for two or more ("N v=TLSRPTv1 records
 *         (exactly one allowed)")
 */
enum sts_status sts_tlsrpt_record_parse_rrset(const char *const *recs, const size_t *lens, size_t n,
                                              struct sts_tlsrpt_record **out, char *err,
                                              size_t errlen);

/** Free a record; NULL is a no-op. */
void sts_tlsrpt_record_free(struct sts_tlsrpt_record *record);

/** "mailto" or "https". */
const char *sts_tlsrpt_scheme_name(enum sts_tlsrpt_scheme scheme);

/** The stable word of a skip reason (see the enum); "unknown" out of range. */
const char *sts_tlsrpt_skip_name(enum sts_tlsrpt_skip why);

/**
 * Write a destination back as a URI that a record may carry: "mailto:"
 * plus the address percent-encoded per RFC 6068, or the https target with
 * "!", "," and ";" percent-encoded.  Parsing the result gives the same
 * destination.
 * @return the length written (excluding NUL), or the length needed if it
 *         is >= len (like snprintf)
 */
size_t sts_tlsrpt_rua_format(const struct sts_tlsrpt_rua *rua, char *buf, size_t len);

#endif
