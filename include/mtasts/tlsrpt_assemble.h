/*
 * tlsrpt_assemble.h - one RFC 8460 report from aggregated rows
 * (tlsrpt_agg.h): the rows of one UTC day and one policy domain become the
 * policies[] of struct sts_tlsrpt_report (tlsrpt_report.h), then its JSON.
 *
 * Grouping: rows with equal (policy-type, policy strings, mx-host) form
 * one policy; its policy row gives the summary, its detail rows the
 * failure-details.  Several rows of one key (a batch read from more than
 * one source) add up.  A detail whose policy row is missing, or whose
 * policy row counts fewer failures than its details, raises the failure
 * count to the details' sum (RFC 8460 §4.4: the total covers the details).
 * Policies are ordered by (type, strings, mx-host), failure details by
 * count (largest first) then by their fields, so the output is stable and
 * a row cap keeps the largest.
 *
 * Pure: no I/O.  Inputs are borrowed for the call; out as in
 * sts_tlsrpt_report_build().
 */
#ifndef MTASTS_TLSRPT_ASSEMBLE_H
#define MTASTS_TLSRPT_ASSEMBLE_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts/status.h"
#include "mtasts/tlsrpt_agg.h"
#include "mtasts/tlsrpt_report.h"

/** Who reports, and how the report is numbered. */
struct sts_tlsrpt_submitter {
    const char *organization_name; /* TLSRPTOrganization */
    const char *contact_info;      /* TLSRPTContact, an addr-spec */
    uint64_t seq;                  /* n of the report-id and file name */
};

/**
 * Build the report of (day, policy_domain) from the rows of b that have
 * that day and domain (the others are ignored).
 * @return STS_OK; STS_ENOTFOUND (no row of that day and domain);
 *         otherwise as sts_tlsrpt_report_build()
 */
enum sts_status sts_tlsrpt_assemble(const struct sts_tlsrpt_batch *b, const char *day,
                                    const char *policy_domain,
                                    const struct sts_tlsrpt_submitter *who,
                                    const struct sts_tlsrpt_limits *limits,
                                    struct sts_tlsrpt_built *out, char *err, size_t errlen);

#endif
