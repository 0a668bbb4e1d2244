/*
 * tlsrpt_mail.h - the RFC 8460 §5.3 report mail: one RFC 5322 message per
 * mailto destination, carrying the gzipped report.  Pure: no I/O, no
 * clock, no randomness (the Date and the boundary are inputs or derived
 * from the inputs), so the same inputs give the same bytes.
 *
 * The message (CRLF line ends, no line over 998 octets, header lines
 * folded at spaces to 78 where the words allow; all ASCII):
 *
 *   From: <from>
 *   To: <to>
 *   Date: <RFC 5322 date, UTC, "+0000">
 *   Subject: Report Domain: <policy-domain> Submitter: <submitter>
 *    Report-ID: <<report-id>>
 *   Message-ID: <<message-id>>
 *   TLS-Report-Domain: <policy-domain>
 *   TLS-Report-Submitter: <submitter>
 *   TLS-Required: No                      (RFC 8689 §5: deliver it even
 *                                          when TLS policies fail, §5.3)
 *   Auto-Submitted: auto-generated        (RFC 3834 §5)
 *   MIME-Version: 1.0
 *   Content-Type: multipart/report; report-type="tlsrpt";
 *    boundary="<boundary>"                (RFC 6522)
 *
 *   part 1: text/plain; charset=us-ascii, 7bit, a few lines for people
 *   part 2: application/tlsrpt+gzip; name="<file>", base64 in lines of
 *           76, Content-Disposition: attachment; filename="<file>"
 *
 * The default Message-ID is the report-id's left part, "." and the
 * destination index, "@" and the report-id's right part, so each
 * destination's mail has its own.  The default boundary is "=_tlsrpt_"
 * and 16 hex digits of a hash of report-id and destination index; "=_"
 * cannot occur in base64 or in the text part.
 *
 * The DKIM signature (dkim.h) is computed over the result and prepended.
 *
 * Ownership: inputs are borrowed for the call; *out is malloc()ed, the
 * caller frees it.  Thread-safe: no shared state.
 */
#ifndef MTASTS_TLSRPT_MAIL_H
#define MTASTS_TLSRPT_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts/status.h"

/* RFC 2045 §6.8: encoded lines of at most 76 characters. */
#define STS_TLSRPT_MAIL_B64_LINE 76
/* RFC 5322 §2.1.1: lines SHOULD stay within 78 octets, MUST within 998. */
#define STS_TLSRPT_MAIL_FOLD_AT 78
#define STS_TLSRPT_MAIL_LINE_MAX 998
/* RFC 2046 §5.1.1: a boundary is 1 to 70 bchars. */
#define STS_TLSRPT_MAIL_BOUNDARY_MAX 70

struct sts_tlsrpt_mail {
    const char *from;          /* addr-spec: the report sender (TLSRPTSender) */
    const char *to;            /* addr-spec: one rua mailto address, decoded */
    const char *submitter;     /* domain: TLS-Report-Submitter, the Subject */
    const char *policy_domain; /* domain: TLS-Report-Domain, the Subject */
    const char *report_id;     /* id-left "@" id-right, without "<>" */
    const char *message_id;    /* without "<>"; NULL: derived (above) */
    unsigned dest_index;       /* the destination's number, for the defaults */
    const char *filename;      /* the attachment name (sts_tlsrpt_built.filename) */
    const char *day;           /* "YYYY-MM-DD" for the text part, or NULL */
    int64_t date;              /* the Date: field, Unix time */
    const char *boundary;      /* NULL: derived (above) */
    const unsigned char *gz;   /* the gzipped report */
    size_t gzlen;
};

/**
 * Build the message.
 * @param m      what goes in
 * @param out    receives the malloc()ed message (NUL-terminated, not counted)
 * @param outlen receives its length
 * @param err    receives the reason on failure (may be NULL)
 * @param errlen size of err
 * @return STS_OK, STS_EINVAL (an address, domain, id, file name or
 *         boundary that is malformed or would break the header syntax; an
 *         empty report), STS_ENOMEM
 */
enum sts_status sts_tlsrpt_mail_build(const struct sts_tlsrpt_mail *m, char **out, size_t *outlen,
                                      char *err, size_t errlen);

#endif
