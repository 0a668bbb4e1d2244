/*
 * tlsrpt_fixtures.c - the TLS report inputs of the golden files; see
 * tlsrpt_fixtures.h.  Addresses are from the documentation ranges
 * (RFC 5737, RFC 3849), names under .example (RFC 2606).
 */
#include "tlsrpt_fixtures.h"

#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* ---- rfc8460-example: RFC 8460 Appendix B, with erratum 6241 (mx-host is
 * an array).  The report-id and the date range are ours; the counts,
 * policy and rows are the example's. */
static const char *const b_strings[] = {"version: STSv1", "mode: testing",
                                        "mx: *.mail.company-y.example", "max_age: 86400"};
static const char *const b_mx[] = {"*.mail.company-y.example"};
static const struct sts_tlsrpt_failure b_rows[] = {
    {.result = STS_TLSRPT_CERTIFICATE_EXPIRED,
     .sending_mta_ip = "2001:db8:abcd:0012::1",
     .receiving_mx_hostname = "mx1.mail.company-y.example",
     .failed_session_count = 100},
    {.result = STS_TLSRPT_STARTTLS_NOT_SUPPORTED,
     .sending_mta_ip = "2001:db8:abcd:0013::1",
     .receiving_mx_hostname = "mx2.mail.company-y.example",
     .receiving_ip = "203.0.113.56",
     .failed_session_count = 200,
     .additional_information = "https://reports.company-x.example/"
                               "report_info?id=5065427c-23d3#StarttlsNotSupported"},
    {.result = STS_TLSRPT_VALIDATION_FAILURE,
     .sending_mta_ip = "198.51.100.62",
     .receiving_ip = "203.0.113.58",
     .receiving_mx_hostname = "mx-backup.mail.company-y.example",
     .failed_session_count = 3,
     .failure_reason_code = "X509_V_ERR_PROOF_OF_POSSESSION"},
};
static const struct sts_tlsrpt_policy b_policies[] = {{
    .type = STS_TLSRPT_POLICY_STS,
    .strings = b_strings,
    .nstrings = N(b_strings),
    .domain = "company-y.example",
    .mx_hosts = b_mx,
    .nmx_hosts = N(b_mx),
    .success_count = 5326,
    .failure_count = 303,
    .failures = b_rows,
    .nfailures = N(b_rows),
}};

/* ---- all-success: an sts policy with no failure; failure-details is []
 * and total-failure-session-count is 0, both present. */
static const char *const s_strings[] = {"version: STSv1", "mode: enforce", "mx: mx1.example.net",
                                        "mx: *.backup.example.net", "max_age: 604800"};
static const char *const s_mx[] = {"mx1.example.net", "*.backup.example.net"};
static const struct sts_tlsrpt_policy s_policies[] = {{
    .type = STS_TLSRPT_POLICY_STS,
    .strings = s_strings,
    .nstrings = N(s_strings),
    .domain = "example.net",
    .mx_hosts = s_mx,
    .nmx_hosts = N(s_mx),
    .success_count = 42,
}};

/* ---- no-policy-found: policy-domain present all the same (sys4
 * tlsrpt-reporter #51: parsers drop policies without it), no mx-host,
 * policy-string []. */
static const struct sts_tlsrpt_failure n_rows[] = {
    {.result = STS_TLSRPT_STARTTLS_NOT_SUPPORTED,
     .sending_mta_ip = "192.0.2.25",
     .receiving_mx_hostname = "mx.plain.example",
     .receiving_mx_helo = "mx.plain.example",
     .receiving_ip = "198.51.100.7",
     .failed_session_count = 2,
     .failure_reason_code = "no STARTTLS in the EHLO reply"},
};
static const struct sts_tlsrpt_policy n_policies[] = {{
    .type = STS_TLSRPT_POLICY_NO_POLICY,
    .domain = "plain.example",
    .success_count = 0,
    .failure_count = 2,
    .failures = n_rows,
    .nfailures = N(n_rows),
}};

/* ---- mixed: the three policy types in one report, as one day of one
 * recipient domain gives them: the domain's sts policy with discovery
 * failures (no MX fields, as Microsoft sends them), its MX host's DANE
 * policy (policy-domain = the TLSA base domain), and no-policy-found. */
static const char *const m_sts[] = {"version: STSv1", "mode: enforce", "mx: mx.mixed.example",
                                    "max_age: 86400"};
static const char *const m_mx[] = {"mx.mixed.example"};
static const struct sts_tlsrpt_failure m_sts_rows[] = {
    {.result = STS_TLSRPT_STS_POLICY_FETCH_ERROR,
     .failed_session_count = 4,
     .failure_reason_code = "http-status"},
    {.result = STS_TLSRPT_STS_WEBPKI_INVALID,
     .failed_session_count = 1,
     .failure_reason_code = "tls"},
    {.result = STS_TLSRPT_CERTIFICATE_HOST_MISMATCH,
     .sending_mta_ip = "192.0.2.25",
     .receiving_mx_hostname = "mx.mixed.example",
     .receiving_mx_helo = "mx.mixed.example",
     .receiving_ip = "2001:db8::25",
     .failed_session_count = 1},
};
static const char *const m_tlsa[] = {
    "3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"};
static const struct sts_tlsrpt_failure m_tlsa_rows[] = {
    {.result = STS_TLSRPT_TLSA_INVALID,
     .sending_mta_ip = "192.0.2.25",
     .receiving_mx_hostname = "mx.mixed.example",
     .receiving_ip = "198.51.100.25",
     .failed_session_count = 3,
     .failure_reason_code = "no usable TLSA record matched"},
    {.result = STS_TLSRPT_DNSSEC_INVALID,
     .receiving_mx_hostname = "mx.mixed.example",
     .failed_session_count = 1},
    {.result = STS_TLSRPT_DANE_REQUIRED,
     .receiving_mx_hostname = "mx.mixed.example",
     .failed_session_count = 1},
};
static const struct sts_tlsrpt_policy m_policies[] = {
    {.type = STS_TLSRPT_POLICY_STS,
     .strings = m_sts,
     .nstrings = N(m_sts),
     .domain = "mixed.example",
     .mx_hosts = m_mx,
     .nmx_hosts = N(m_mx),
     .success_count = 10,
     .failure_count = 6,
     .failures = m_sts_rows,
     .nfailures = N(m_sts_rows)},
    {.type = STS_TLSRPT_POLICY_TLSA,
     .strings = m_tlsa,
     .nstrings = N(m_tlsa),
     .domain = "mx.mixed.example",
     .success_count = 7,
     .failure_count = 5,
     .failures = m_tlsa_rows,
     .nfailures = N(m_tlsa_rows)},
    {.type = STS_TLSRPT_POLICY_NO_POLICY, .domain = "mixed.example", .success_count = 1},
};

/* ---- omitted-fields: unknown fields (NULL, "") are left out; unusable
 * ones (not an IP literal, not a host name, not UTF-8) too, and counted;
 * a zero-count row is skipped; the policy-domain is lower-cased and loses
 * its trailing dot. */
static const struct sts_tlsrpt_failure o_rows[] = {
    {.result = STS_TLSRPT_CERTIFICATE_NOT_TRUSTED,
     .sending_mta_ip = "",
     .receiving_mx_hostname = "MX1.Omit.Example.",
     .receiving_mx_helo = "",
     .receiving_ip = "not-an-ip",
     .failed_session_count = 5,
     .additional_information = NULL,
     .failure_reason_code = "bad \xff byte"},
    {.result = STS_TLSRPT_VALIDATION_FAILURE,
     .sending_mta_ip = "192.0.2.300",
     .receiving_mx_hostname = "under_score.omit.example",
     .failed_session_count = 1},
    {.result = STS_TLSRPT_CERTIFICATE_EXPIRED, .failed_session_count = 0},
};
static const char *const o_strings[] = {"version: STSv1", "mode: testing", "mx: mx1.omit.example",
                                        "max_age: 86400"};
static const char *const o_mx[] = {"mx1.omit.example"};
static const struct sts_tlsrpt_policy o_policies[] = {{
    .type = STS_TLSRPT_POLICY_STS,
    .strings = o_strings,
    .nstrings = N(o_strings),
    .domain = "Omit.Example.",
    .mx_hosts = o_mx,
    .nmx_hosts = N(o_mx),
    .success_count = 0,
    .failure_count = 6,
    .failures = o_rows,
    .nfailures = N(o_rows),
}};

/* ---- escaping: UTF-8 organisation name, a multi-line EHLO reply (as
 * Postfix sends it, lines joined by CRLF), quotes, backslash, slash and a
 * control byte in free text; JSON escapes, nothing is lost. */
static const struct sts_tlsrpt_failure e_rows[] = {
    {.result = STS_TLSRPT_CERTIFICATE_HOST_MISMATCH,
     .sending_mta_ip = "192.0.2.25",
     .receiving_mx_hostname = "mx.escape.example",
     .receiving_mx_helo = "250-mx.escape.example Hi\r\n250-PIPELINING\r\n250 STARTTLS",
     .receiving_ip = "198.51.100.9",
     .failed_session_count = 1,
     .failure_reason_code = "subject \"CN=*.other.example\" \\ path /x\tend\x01"},
};
static const char *const e_strings[] = {"version: STSv1", "mode: enforce", "mx: mx.escape.example",
                                        "max_age: 86400"};
static const char *const e_mx[] = {"mx.escape.example"};
static const struct sts_tlsrpt_policy e_policies[] = {{
    .type = STS_TLSRPT_POLICY_STS,
    .strings = e_strings,
    .nstrings = N(e_strings),
    .domain = "escape.example",
    .mx_hosts = e_mx,
    .nmx_hosts = N(e_mx),
    .success_count = 3,
    .failure_count = 1,
    .failures = e_rows,
    .nfailures = N(e_rows),
}};

/* ---- truncated-rows: a row cap of 2 (the default is 1000) across two
 * policies: the first two rows are kept, the summaries keep every count. */
static const struct sts_tlsrpt_failure t_rows_a[] = {
    {.result = STS_TLSRPT_CERTIFICATE_EXPIRED,
     .receiving_mx_hostname = "mx1.cap.example",
     .failed_session_count = 9},
};
static const struct sts_tlsrpt_failure t_rows_b[] = {
    {.result = STS_TLSRPT_TLSA_INVALID,
     .receiving_mx_hostname = "mx1.cap.example",
     .failed_session_count = 4},
    {.result = STS_TLSRPT_TLSA_INVALID,
     .receiving_mx_hostname = "mx1.cap.example",
     .receiving_ip = "198.51.100.1",
     .failed_session_count = 2},
    {.result = STS_TLSRPT_DNSSEC_INVALID,
     .receiving_mx_hostname = "mx1.cap.example",
     .failed_session_count = 1},
};
static const char *const t_sts[] = {"version: STSv1", "mode: enforce", "mx: mx1.cap.example",
                                    "max_age: 86400"};
static const char *const t_mx[] = {"mx1.cap.example"};
static const char *const t_tlsa[] = {
    "2 0 1 aabbccddeeff00112233445566778899aabbccddeeff0011223344556677"
    "8899"};
static const struct sts_tlsrpt_policy t_policies[] = {
    {.type = STS_TLSRPT_POLICY_STS,
     .strings = t_sts,
     .nstrings = N(t_sts),
     .domain = "cap.example",
     .mx_hosts = t_mx,
     .nmx_hosts = N(t_mx),
     .success_count = 1,
     .failure_count = 10,
     .failures = t_rows_a,
     .nfailures = N(t_rows_a)},
    {.type = STS_TLSRPT_POLICY_TLSA,
     .strings = t_tlsa,
     .nstrings = N(t_tlsa),
     .domain = "mx1.cap.example",
     .success_count = 0,
     .failure_count = 7,
     .failures = t_rows_b,
     .nfailures = N(t_rows_b)},
};

#define ORG "Sender Example Ltd"
#define CONTACT "tlsrpt-contact@mail.sender.example"

const struct tlsrpt_fixture tlsrpt_fixtures[] = {
    {.name = "rfc8460-example",
     .about = "RFC 8460 Appendix B with erratum 6241",
     .report = {.organization_name = "Company-X",
                .contact_info = "sts-reporting@company-x.example",
                .day = "2016-04-01",
                .policy_domain = "company-y.example",
                .seq = 1,
                .policies = b_policies,
                .npolicies = N(b_policies)},
     .mail = true,
     .want_rows_out = 3},
    {.name = "all-success",
     .about = "no failures: failure-details [] and a zero failure count",
     .report = {.organization_name = ORG,
                .contact_info = CONTACT,
                .day = "2026-08-02",
                .policy_domain = "example.net",
                .seq = 1,
                .policies = s_policies,
                .npolicies = N(s_policies)},
     .mail = true,
     .want_rows_out = 0},
    {.name = "no-policy-found",
     .about = "no-policy-found keeps its policy-domain",
     .report = {.organization_name = ORG,
                .contact_info = CONTACT,
                .day = "2026-08-02",
                .policy_domain = "plain.example",
                .seq = 1,
                .policies = n_policies,
                .npolicies = N(n_policies)},
     .want_rows_out = 1},
    {.name = "mixed",
     .about = "sts + tlsa + no-policy-found; discovery failures without MX fields",
     .report = {.organization_name = ORG,
                .contact_info = CONTACT,
                .day = "2026-08-02",
                .policy_domain = "mixed.example",
                .seq = 2,
                .policies = m_policies,
                .npolicies = N(m_policies)},
     .mail = true,
     .want_rows_out = 6},
    {.name = "omitted-fields",
     .about = "unknown and unusable fields are omitted, never \"\" or null",
     .report = {.organization_name = ORG,
                .contact_info = "Contact@Mail.Sender.Example",
                .day = "2024-02-29",
                .policy_domain = "omit.example",
                .seq = 7,
                .policies = o_policies,
                .npolicies = N(o_policies)},
     .want_rows_out = 2,
     .want_fields_omitted = 4},
    {.name = "escaping",
     .about = "UTF-8, CRLF, quotes, backslash and control bytes in JSON strings",
     .report = {.organization_name = "Soci\xc3\xa9t\xc3\xa9 Exp\xc3\xa9"
                                     "diteur \xe2\x9c\x89",
                .contact_info = CONTACT,
                .day = "2026-12-31",
                .policy_domain = "escape.example",
                .seq = 1,
                .policies = e_policies,
                .npolicies = N(e_policies)},
     .want_rows_out = 1},
    {.name = "truncated-rows",
     .about = "the failure-row cap across policies; summaries keep every count",
     .report = {.organization_name = ORG,
                .contact_info = CONTACT,
                .day = "2026-08-02",
                .policy_domain = "cap.example",
                .seq = 1,
                .policies = t_policies,
                .npolicies = N(t_policies)},
     .max_failure_rows = 2,
     .want_rows_out = 2,
     .want_truncated = true},
};
const size_t tlsrpt_nfixtures = N(tlsrpt_fixtures);

const struct tlsrpt_fixture *tlsrpt_fixture_find(const char *name)
{
    for (size_t i = 0; i < tlsrpt_nfixtures; i++)
        if (strcmp(tlsrpt_fixtures[i].name, name) == 0)
            return &tlsrpt_fixtures[i];
    return NULL;
}

void tlsrpt_fixture_mail(const struct sts_tlsrpt_built *b, const char *day, const char *domain,
                         const unsigned char *gz, size_t gzlen, struct sts_tlsrpt_mail *m)
{
    memset(m, 0, sizeof(*m));
    m->from = TLSRPT_FIXTURE_FROM;
    m->to = TLSRPT_FIXTURE_TO;
    m->submitter = b->submitter;
    m->policy_domain = domain;
    m->report_id = b->report_id;
    m->filename = b->filename;
    m->day = day;
    m->date = TLSRPT_FIXTURE_DATE;
    m->gz = gz;
    m->gzlen = gzlen;
}
