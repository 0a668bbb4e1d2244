/*
 * tlsrpt_report.h - the SMTP TLS report of RFC 8460 §4 as a model and its
 * JSON text, built with json-c.  Pure: no I/O, no clock, no DNS.
 *
 * The caller (the aggregation, later `mtasts report build`) describes one
 * report: the organisation and contact (RFC 8460 §4.4 organization-name,
 * contact-info; the contact's domain is the submitter), the UTC day, the
 * report's policy domain, a sequence number n and the policies with their
 * counts and failure-detail rows.  sts_tlsrpt_report_build() validates
 * everything and writes the JSON, the report-id and the attachment file
 * name.
 *
 * JSON layout (keys in exactly this order, so output is byte-stable):
 *
 *   organization-name, date-range {start-datetime "DAYT00:00:00Z",
 *   end-datetime "DAYT23:59:59Z"}, contact-info, report-id,
 *   policies [ { policy {policy-type, policy-string [..], policy-domain,
 *                        mx-host [..] (sts only, an array: erratum 6241)},
 *                summary {total-successful-session-count,
 *                         total-failure-session-count},
 *                failure-details [ {result-type, sending-mta-ip,
 *                   receiving-mx-hostname, receiving-mx-helo, receiving-ip,
 *                   failed-session-count, additional-information,
 *                   failure-reason-code} ] } ]
 *
 * policy-domain is always present (also for no-policy-found: receivers
 * such as parsedmarc drop policies without it); both summary counts are
 * always JSON integers; failure-details is always present, maybe [].  A
 * failure-detail field that is unknown (NULL or "") is omitted, never
 * written as "" or null; one that is present but unusable (an IP that is
 * not an address literal, a host name that is not one, text that is not
 * UTF-8 or longer than STS_TLSRPT_TEXT_MAX) is omitted too and counted in
 * sts_tlsrpt_built.fields_omitted.  Addresses are written in canonical form
 * (RFC 5952 for IPv6), host names in lower case without a trailing dot.
 *
 * Identifiers:
 *   report-id  YYYYMMDD "." policy-domain "." n "@" submitter (RFC 5322
 *              msg-id syntax without the brackets; the Subject of §5.3
 *              puts it in "<...>")
 *   file name  submitter "!" policy-domain "!" begin "!" end "!" n ".json.gz"
 *              (RFC 8460 §5.1; begin and end are the Unix times of
 *              DAYT00:00:00Z and DAYT23:59:59Z, the date-range's ends;
 *              n is the unique-id, 1*DIGIT)
 *
 * Caps: at most limits.max_failure_rows failure-detail rows per report
 * (over all policies, in the caller's order: pass the rows to keep first);
 * the rest are left out of failure-details but stay in the summary, whose
 * counts the caller gives.  If the JSON text is longer than
 * limits.max_json_bytes, rows are halved until it fits; with no rows left
 * and still too long the build fails (STS_ETOOBIG).  built.truncated says
 * rows were left out.
 *
 * Ownership: every input is borrowed for the call.  built.json is
 * malloc()ed; sts_tlsrpt_built_clear() frees it (and may be called on a
 * zeroed or cleared struct).  Thread-safe: no shared state.
 */
#ifndef MTASTS_TLSRPT_REPORT_H
#define MTASTS_TLSRPT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mtasts/status.h"

/* Defaults of struct sts_tlsrpt_limits (design note tlsrpt.md §8.4). */
#define STS_TLSRPT_MAX_FAILURE_ROWS 1000
#define STS_TLSRPT_MAX_JSON_BYTES (16u * 1024 * 1024)
/* Longest free-text failure-detail field kept (helo, additional-information,
 * failure-reason-code); Postfix's helo is the whole multi-line EHLO reply. */
#define STS_TLSRPT_TEXT_MAX 2048
/* Longest organization-name, policy-string element and mx-host element. */
#define STS_TLSRPT_STRING_MAX 4096

/* Buffer sizes: "YYYYMMDD." domain "." 20 digits "@" domain, and
 * domain "!" domain "!" 20 digits "!" 20 digits "!" 20 digits ".json.gz". */
#define STS_TLSRPT_REPORT_ID_MAX 600
#define STS_TLSRPT_FILENAME_MAX 640
#define STS_TLSRPT_DAY_LEN 10 /* "YYYY-MM-DD" */

/** RFC 8460 §4.4 policy-type. */
enum sts_tlsrpt_policy_type {
    STS_TLSRPT_POLICY_STS = 0,   /* "sts" */
    STS_TLSRPT_POLICY_TLSA,      /* "tlsa" */
    STS_TLSRPT_POLICY_NO_POLICY, /* "no-policy-found" */
};

/** The RFC 8460 §4.3 result types (IANA "STARTTLS Validation Result Types"). */
enum sts_tlsrpt_result {
    STS_TLSRPT_STARTTLS_NOT_SUPPORTED = 0, /* §4.3.1 negotiation failures */
    STS_TLSRPT_CERTIFICATE_HOST_MISMATCH,
    STS_TLSRPT_CERTIFICATE_EXPIRED,
    STS_TLSRPT_CERTIFICATE_NOT_TRUSTED,
    STS_TLSRPT_VALIDATION_FAILURE,
    STS_TLSRPT_TLSA_INVALID, /* §4.3.2 DANE policy failures */
    STS_TLSRPT_DNSSEC_INVALID,
    STS_TLSRPT_DANE_REQUIRED,
    STS_TLSRPT_STS_POLICY_FETCH_ERROR, /* §4.3.3 MTA-STS policy failures */
    STS_TLSRPT_STS_POLICY_INVALID,
    STS_TLSRPT_STS_WEBPKI_INVALID,
};
#define STS_TLSRPT_RESULT_COUNT (STS_TLSRPT_STS_WEBPKI_INVALID + 1)

/** The RFC word ("sts", "tlsa", "no-policy-found"); "unknown" out of range. */
const char *sts_tlsrpt_policy_type_name(enum sts_tlsrpt_policy_type t);

/** The RFC word ("certificate-expired", ...); "unknown" out of range. */
const char *sts_tlsrpt_result_name(enum sts_tlsrpt_result r);

/**
 * Parse a result-type word back (exact, lower case).
 * @return true and *out set, or false for any other string
 */
bool sts_tlsrpt_result_parse(const char *word, enum sts_tlsrpt_result *out);

/** One failure-details row; NULL or "" fields are unknown and omitted. */
struct sts_tlsrpt_failure {
    enum sts_tlsrpt_result result;
    const char *sending_mta_ip;         /* IPv4 or IPv6 literal */
    const char *receiving_mx_hostname;  /* host name */
    const char *receiving_mx_helo;      /* free text */
    const char *receiving_ip;           /* IPv4 or IPv6 literal */
    uint64_t failed_session_count;      /* rows with 0 are skipped */
    const char *additional_information; /* free text (a URI in the RFC) */
    const char *failure_reason_code;    /* free text */
};

/** One element of policies[]. */
struct sts_tlsrpt_policy {
    enum sts_tlsrpt_policy_type type;
    const char *const *strings; /* policy-string elements (sts: the policy's
                                   lines; tlsa: "u s m hex"); may be none */
    size_t nstrings;
    const char *domain;          /* policy-domain, required, A-label */
    const char *const *mx_hosts; /* mx-host patterns, sts only */
    size_t nmx_hosts;
    uint64_t success_count; /* total-successful-session-count */
    uint64_t failure_count; /* total-failure-session-count, >= the sum
                               of the rows' failed_session_count */
    const struct sts_tlsrpt_failure *failures;
    size_t nfailures;
};

/** The report to build. */
struct sts_tlsrpt_report {
    const char *organization_name;            /* required, UTF-8 */
    const char *contact_info;                 /* required, addr-spec, ASCII */
    const char *day;                          /* the UTC day, "YYYY-MM-DD" */
    const char *policy_domain;                /* the report's domain (A-label) */
    uint64_t seq;                             /* n of the report-id and file name */
    const struct sts_tlsrpt_policy *policies; /* at least one */
    size_t npolicies;
};

/** Caps and layout; zero fields take the defaults above. */
struct sts_tlsrpt_limits {
    size_t max_failure_rows; /* 0: STS_TLSRPT_MAX_FAILURE_ROWS */
    size_t max_json_bytes;   /* 0: STS_TLSRPT_MAX_JSON_BYTES */
    bool pretty;             /* indented JSON (inspection, golden files);
                                false: compact, what is sent */
};

/** What a build produced. */
struct sts_tlsrpt_built {
    char *json; /* malloc()ed JSON text, NUL-terminated */
    size_t json_len;
    char report_id[STS_TLSRPT_REPORT_ID_MAX];
    char filename[STS_TLSRPT_FILENAME_MAX];
    char submitter[256];   /* the contact-info domain, lower case */
    int64_t begin, end;    /* Unix times of the date-range's ends */
    size_t rows_in;        /* failure rows given (non-zero counts) */
    size_t rows_out;       /* failure rows written */
    bool truncated;        /* rows_out < rows_in (row or size cap) */
    size_t fields_omitted; /* present but unusable fields left out */
};

/**
 * Validate and build one report.
 * @param r      the report
 * @param limits caps and layout, or NULL for the defaults
 * @param out    receives the result (zeroed first; clear it afterwards)
 * @param err    receives the reason on failure (may be NULL)
 * @param errlen size of err
 * @return STS_OK; STS_EINVAL (a required field missing or malformed, a
 *         failure count below its rows' sum, mx-host on a non-sts policy);
 *         STS_ETOOBIG (too long even without failure rows); STS_ENOMEM
 */
enum sts_status sts_tlsrpt_report_build(const struct sts_tlsrpt_report *r,
                                        const struct sts_tlsrpt_limits *limits,
                                        struct sts_tlsrpt_built *out, char *err, size_t errlen);

/** Free what a build allocated and zero the struct; NULL is a no-op. */
void sts_tlsrpt_built_clear(struct sts_tlsrpt_built *b);

/**
 * Check an RFC 5322 §3.4.1 addr-spec (ASCII; a dot-atom or quoted-string
 * local part, a domain of LDH labels) and copy out its domain in lower case.
 * @param addr      the address, NUL-terminated, no angle brackets
 * @param domain    receives the domain (may be NULL)
 * @param domainlen size of domain; 254 is enough
 * @return STS_OK or STS_EINVAL with the reason in err
 */
enum sts_status sts_tlsrpt_addr_check(const char *addr, char *domain, size_t domainlen, char *err,
                                      size_t errlen);

/**
 * Parse a "YYYY-MM-DD" UTC day (1970-01-01 .. 9999-12-31, a real date).
 * @param day   the text
 * @param begin receives the Unix time of its 00:00:00Z (may be NULL)
 * @return STS_OK or STS_EINVAL
 */
enum sts_status sts_tlsrpt_day_parse(const char *day, int64_t *begin, char *err, size_t errlen);

/**
 * The UTC day holding a Unix time, as "YYYY-MM-DD".
 * @param t   the time (>= 0)
 * @param out receives the day, NUL-terminated
 * @return STS_OK or STS_EINVAL (t before 1970 or after 9999)
 */
enum sts_status sts_tlsrpt_day_of(int64_t t, char out[STS_TLSRPT_DAY_LEN + 1]);

#endif
