/*
 * txt.h - the "_mta-sts" TXT record parser (RFC 8461 §3.1), pure, no I/O.
 *
 * Grammar accepted (case-sensitive, as the RFC's %s strings are):
 *   record  = "v=STSv1" 1*(delim field) [delim]
 *   delim   = *WSP ";" *WSP
 *   field   = "id=" 1*32(ALPHA / DIGIT) / ext-name "=" ext-value
 * A record is an MTA-STS candidate when it begins with "v=STSv1" followed
 * by ";", a space, a tab or its end; other records in the RRset (SPF,
 * site verification, "v=STSv10", ...) are discarded.  Exactly one
 * candidate must remain and it must parse, or there is no indicator.
 */
#ifndef MTASTS_TXT_H
#define MTASTS_TXT_H

#include <stddef.h>

#include "mtasts/status.h"

#define STS_TXT_ID_MAX 32 /* RFC 8461 §3.1: 1*32(ALPHA / DIGIT) */
#define STS_TXT_EXTNAME_MAX 32

/** A parsed, valid MTA-STS indicator. */
struct sts_txt {
    char id[STS_TXT_ID_MAX + 1]; /* policy instance id, NUL-terminated */
};

/**
 * Parse one TXT record (its character-strings already joined).
 * @param rec the record bytes; need not be NUL-terminated
 * @param len its length
 * @param out receives the id when the record is valid (may be NULL)
 * @return STS_OK (valid indicator), STS_ENOTFOUND (not an STSv1 record:
 *         to be discarded) or STS_EINVAL (an STSv1 record that does not
 *         parse; the reason is in err)
 */
enum sts_status sts_txt_parse_record(const char *rec, size_t len, struct sts_txt *out, char *err,
                                     size_t errlen);

/**
 * Apply §3.1 to a whole RRset: discard non-STSv1 records (of several,
 * every record that does not begin with exactly "v=STSv1;"), require
 * exactly one remaining record, and parse it.
 * @param recs array of n record pointers
 * @param lens array of n lengths
 * @return STS_OK with out filled, STS_ENOTFOUND (no STSv1 record at all)
 *         or STS_EINVAL (several STSv1 records, or the one is invalid);
 *         err says which
 */
enum sts_status sts_txt_parse_rrset(const char *const *recs, const size_t *lens, size_t n,
                                    struct sts_txt *out, char *err, size_t errlen);

#endif
