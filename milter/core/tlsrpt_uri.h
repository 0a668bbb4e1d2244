/*
 * tlsrpt_uri.h - one "rua" URI of a TLSRPT record (RFC 8460 §3, RFC 6068,
 * RFC 3986), internal to tlsrpt_record.c.  Pure, no I/O, no state.
 *
 * The parser reports what it finds through a sink: each usable
 * destination (a mailto: URI may carry several addresses) and each skip.
 * Strings passed to the sink are borrowed for the call only; a target is
 * NUL-terminated, a skipped "what" (the URI, or a decoded address) is not.
 */
#ifndef MTASTS_TLSRPT_URI_H
#define MTASTS_TLSRPT_URI_H

#include <stddef.h>

#include "mtasts/status.h"
#include "mtasts/tlsrpt_record.h"

struct sts_tlsrpt_uri_sink {
    enum sts_status (*dest)(void *ctx, enum sts_tlsrpt_scheme scheme, const char *target);
    enum sts_status (*skip)(void *ctx, enum sts_tlsrpt_skip why, const char *what, size_t wlen);
    void *ctx;
};

/**
 * Parse one URI as it appears in the record (still percent-encoded).
 * @param uri the bytes of the URI, no surrounding whitespace
 * @param len their length (> 0)
 * @param sink receives destinations and skips; a non-OK status returned
 *        by the sink is returned as is
 * @param err receives a short reason without the URI ("no '@' in address")
 * @return STS_OK (every part used or skipped), STS_EINVAL (malformed) or
 *         STS_ENOMEM
 */
enum sts_status sts_tlsrpt_uri_parse(const char *uri, size_t len,
                                     const struct sts_tlsrpt_uri_sink *sink, char *err,
                                     size_t errlen);

#endif
