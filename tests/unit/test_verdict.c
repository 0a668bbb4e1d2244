/*
 * test_verdict.c - unit tests of the per-recipient verdict.
 *
 * Guards RFC 8461 §4.1 (a DIRECT recipient passes when one of its MX hosts
 * matches a policy "mx" pattern), §5 (enforce: do not deliver over an
 * unvalidated route; testing: deliver as though nothing failed, but
 * report; none: no policy), §3.3 (a policy that cannot be fetched, with
 * none cached, counts as absent: the failure classes default to accept),
 * RFC 7505 (null MX), and the reply codes of RFC 5321 §4.2 / RFC 3463
 * (451 with X.7.0, X.4.4, X.3.5, X.4.3, X.3.0) chosen in verdict.h.
 *
 * Every row is one TAP test point: milter mode x policy mode x route x MX
 * match x override x failure class; a failure reads "case NAME: got X,
 * want Y".  The replies of every failing row are checked for the code,
 * the domain, and printable text without "%".
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "mtasts/policy.h"
#include "mtasts/route.h"
#include "mtasts/status.h"
#include "mtasts/verdict.h"
#include "unit_main.h"

#define POLICY(mode)                                                                               \
    "version: STSv1\nmode: " mode "\nmax_age: 86400\nmx: mx1.example.com\nmx: "                    \
    "*.mail.example.com\n"
#define P_ENFORCE POLICY("enforce")
#define P_TESTING POLICY("testing")
#define P_NONE "version: STSv1\nmode: none\nmax_age: 86400\n"

enum fail_cfg { CFG_DEFAULT = 0, CFG_ALL_TEMPFAIL, CFG_ALL_ACCEPT };

struct verdict_case {
    const char *name;
    enum sts_milter_mode mode;
    const char *domain;
    bool null_route; /* pass route = NULL */
    const char *mailer, *host;
    const char *mx[4];
    size_t nmx;
    bool mx_dns_error;
    enum sts_lookup_outcome lookup;
    const char *policy; /* body, parsed per row; NULL: none */
    const char *trusted[2];
    size_t ntrusted;
    enum sts_override_kind ov;
    const char *ov_pat[2];
    size_t nov;
    enum fail_cfg cfg;
    bool internal;
    int bad_lookup; /* nonzero: use this raw value as the lookup outcome */
    bool with_tls;  /* pass tls[] as mx_tls (TLS checks on) */
    struct sts_tls_verdict tls[4];
    bool mx_bogus;

    enum sts_action want_action;
    bool want_fail;
    enum sts_verdict_reason want_reason;
    const char *want_xcode; /* when want_fail */
    const char *want_mx;    /* NULL: not checked */
};

#define ENF .mode = STS_MILTER_ENFORCE
#define AUD .mode = STS_MILTER_AUDIT
#define DOM .domain = "example.com"
#define DIRECT .mailer = "smtp", .host = "example.com"
#define RELAY(h) .mailer = "relay", .host = (h)
#define LOCALR .mailer = "local", .host = "mail.example.org"
#define NOMACROS .mailer = NULL, .host = NULL
#define MX_OK .mx = {"mx1.example.com", "mx2.example.com"}, .nmx = 2
#define MX_BAD .mx = {"mx.evil.example", "backup.evil.example"}, .nmx = 2
#define POL(p) .lookup = STS_LOOKUP_POLICY, .policy = (p)
#define NOPOL .lookup = STS_LOOKUP_NO_POLICY
#define TRUST1 .trusted = {"[smtp.relay.net]:587"}, .ntrusted = 1
#define OVE(p) .ov = STS_OVERRIDE_ENFORCE, .ov_pat = {(p)}, .nov = 1
#define PASS(r) .want_action = STS_ACTION_PASS, .want_fail = false, .want_reason = (r)
#define WOULD(r, x)                                                                                \
    .want_action = STS_ACTION_PASS, .want_fail = true, .want_reason = (r), .want_xcode = (x)
/* TLS states of an MX host: probed with a result, DANE-governed, not yet */
#define T(r)                                                                                       \
    {                                                                                              \
        .known = true, .result = STS_TLS_##r, .detail = "detail"                                   \
    }
#define TD(r)                                                                                      \
    {                                                                                              \
        .known = true, .result = STS_TLS_##r, .dane = true                                         \
    }
#define TPEND                                                                                      \
    {                                                                                              \
        .known = false                                                                             \
    }
#define TLS(...) .with_tls = true, .tls = {__VA_ARGS__}
#define MX_MIX .mx = {"mx1.example.com", "a.mail.example.com"}, .nmx = 2
#define TEMP(r, x)                                                                                 \
    .want_action = STS_ACTION_TEMPFAIL, .want_fail = true, .want_reason = (r), .want_xcode = (x)

static const struct verdict_case verdict_cases[] = {
    /* Not judged at all. */
    {"local_route_enforce_policy", ENF, DOM, LOCALR, MX_BAD, POL(P_ENFORCE),
     PASS(STS_REASON_NOT_OUTBOUND)},
    {"local_route_override_enforce", ENF, DOM, LOCALR, MX_BAD, NOPOL, OVE("mx1.example.com"),
     PASS(STS_REASON_NOT_OUTBOUND)},
    {"override_skip_beats_mismatch", ENF, DOM, DIRECT, MX_BAD, POL(P_ENFORCE),
     .ov = STS_OVERRIDE_SKIP, PASS(STS_REASON_OVERRIDE_SKIP)},
    {"override_skip_beats_local", ENF, DOM, LOCALR, NOPOL, .ov = STS_OVERRIDE_SKIP,
     PASS(STS_REASON_OVERRIDE_SKIP)},
    {"override_skip_beats_internal", ENF, DOM, DIRECT, NOPOL, .ov = STS_OVERRIDE_SKIP,
     .internal = true, PASS(STS_REASON_OVERRIDE_SKIP)},
    {"override_skip_beats_dns_error", ENF, DOM, DIRECT, .lookup = STS_LOOKUP_TEMPFAIL,
     .ov = STS_OVERRIDE_SKIP, .cfg = CFG_ALL_TEMPFAIL, PASS(STS_REASON_OVERRIDE_SKIP)},
    {"no_domain_null", ENF, .domain = NULL, DIRECT, MX_BAD, POL(P_ENFORCE),
     PASS(STS_REASON_NO_DOMAIN)},
    {"no_domain_empty", ENF, .domain = "", DIRECT, MX_BAD, POL(P_ENFORCE),
     PASS(STS_REASON_NO_DOMAIN)},

    /* No policy, policy "none". */
    {"no_policy_direct", ENF, DOM, DIRECT, MX_BAD, NOPOL, PASS(STS_REASON_NO_POLICY)},
    {"no_policy_untrusted_relay", ENF, DOM, RELAY("[other.relay]"), NOPOL,
     PASS(STS_REASON_NO_POLICY)},
    {"no_policy_route_unknown", ENF, DOM, NOMACROS, NOPOL, PASS(STS_REASON_NO_POLICY)},
    {"no_policy_trusted_relay", ENF, DOM, RELAY("[smtp.relay.net]:587"), NOPOL, TRUST1,
     PASS(STS_REASON_NO_POLICY)},
    {"policy_none_mismatch", ENF, DOM, DIRECT, MX_BAD, POL(P_NONE), PASS(STS_REASON_POLICY_NONE)},
    {"policy_none_route_unknown", ENF, DOM, NOMACROS, POL(P_NONE), PASS(STS_REASON_POLICY_NONE)},

    /* Enforce policy, direct route (RFC 8461 §4.1). */
    {"enforce_match_first", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE), PASS(STS_REASON_MX_MATCH),
     .want_mx = "mx1.example.com"},
    {"enforce_match_wildcard_second", ENF, DOM, DIRECT,
     .mx = {"mx.evil.example", "a.mail.example.com"}, .nmx = 2, POL(P_ENFORCE),
     PASS(STS_REASON_MX_MATCH), .want_mx = "a.mail.example.com"},
    {"enforce_match_case_and_dot", ENF, DOM, DIRECT, .mx = {"MX1.Example.COM."}, .nmx = 1,
     POL(P_ENFORCE), PASS(STS_REASON_MX_MATCH), .want_mx = "mx1.example.com"},
    {"enforce_mismatch", ENF, DOM, DIRECT, MX_BAD, POL(P_ENFORCE),
     TEMP(STS_REASON_MX_MISMATCH, "4.7.0"), .want_mx = "mx.evil.example"},
    {"enforce_wildcard_two_labels", ENF, DOM, DIRECT, .mx = {"a.b.mail.example.com"}, .nmx = 1,
     POL(P_ENFORCE), TEMP(STS_REASON_MX_MISMATCH, "4.7.0")},
    {"enforce_wildcard_bare_parent", ENF, DOM, DIRECT, .mx = {"mail.example.com"}, .nmx = 1,
     POL(P_ENFORCE), TEMP(STS_REASON_MX_MISMATCH, "4.7.0")},
    {"enforce_suffix_not_match", ENF, DOM, DIRECT, .mx = {"mx1.example.com.evil"}, .nmx = 1,
     POL(P_ENFORCE), TEMP(STS_REASON_MX_MISMATCH, "4.7.0")},
    {"enforce_implicit_mx_domain", ENF, DOM, DIRECT, .mx = {"example.com"}, .nmx = 1,
     POL(P_ENFORCE), TEMP(STS_REASON_MX_MISMATCH, "4.7.0")},
    {"enforce_no_mx", ENF, DOM, DIRECT, .nmx = 0, POL(P_ENFORCE), TEMP(STS_REASON_NO_MX, "4.4.4")},
    {"enforce_null_mx_empty", ENF, DOM, DIRECT, .mx = {""}, .nmx = 1, POL(P_ENFORCE),
     PASS(STS_REASON_NULL_MX)},
    {"enforce_null_mx_dot", ENF, DOM, DIRECT, .mx = {"."}, .nmx = 1, POL(P_ENFORCE),
     PASS(STS_REASON_NULL_MX)},
    {"enforce_null_mx_with_bad", ENF, DOM, DIRECT, .mx = {".", "mx.evil.example"}, .nmx = 2,
     POL(P_ENFORCE), TEMP(STS_REASON_MX_MISMATCH, "4.7.0"), .want_mx = "mx.evil.example"},
    {"enforce_null_mx_with_good", ENF, DOM, DIRECT, .mx = {"", "mx1.example.com"}, .nmx = 2,
     POL(P_ENFORCE), PASS(STS_REASON_MX_MATCH), .want_mx = "mx1.example.com"},
    {"enforce_direct_with_port", ENF, DOM, .mailer = "smtp", .host = "example.com:2525", MX_OK,
     POL(P_ENFORCE), PASS(STS_REASON_MX_MATCH)},
    {"enforce_mx_dns_error_default", ENF, DOM, DIRECT, .mx_dns_error = true, POL(P_ENFORCE),
     PASS(STS_REASON_DNS_ERROR)},
    {"enforce_mx_dns_error_tempfail", ENF, DOM, DIRECT, .mx_dns_error = true, POL(P_ENFORCE),
     .cfg = CFG_ALL_TEMPFAIL, TEMP(STS_REASON_DNS_ERROR, "4.4.3")},

    /* Enforce policy, relayed. */
    {"enforce_trusted_relay", ENF, DOM, RELAY("[smtp.relay.net]:587"), POL(P_ENFORCE), TRUST1,
     PASS(STS_REASON_TRUSTED_RELAY)},
    {"enforce_trusted_relay_case", ENF, DOM, RELAY("[SMTP.Relay.NET]:587"), POL(P_ENFORCE),
     .trusted = {"[Smtp.Relay.Net.]:587"}, .ntrusted = 1, PASS(STS_REASON_TRUSTED_RELAY)},
    {"enforce_trusted_second_entry", ENF, DOM, RELAY("relay.example.net"), POL(P_ENFORCE),
     .trusted = {"[smtp.relay.net]:587", "relay.example.net"}, .ntrusted = 2,
     PASS(STS_REASON_TRUSTED_RELAY)},
    {"enforce_trusted_port_differs", ENF, DOM, RELAY("[smtp.relay.net]:25"), POL(P_ENFORCE), TRUST1,
     TEMP(STS_REASON_UNTRUSTED_RELAY, "4.7.0")},
    {"enforce_untrusted_relay", ENF, DOM, RELAY("[other.relay]"), POL(P_ENFORCE),
     TEMP(STS_REASON_UNTRUSTED_RELAY, "4.7.0")},
    {"enforce_relay_to_permitted_mx", ENF, DOM, RELAY("[mx1.example.com]"), POL(P_ENFORCE),
     PASS(STS_REASON_RELAY_MX_MATCH), .want_mx = "mx1.example.com"},
    {"enforce_relay_to_permitted_mx_port", ENF, DOM, RELAY("[b.mail.example.com]:2525"),
     POL(P_ENFORCE), PASS(STS_REASON_RELAY_MX_MATCH), .want_mx = "b.mail.example.com"},
    {"enforce_relay_unbracketed_mx_name", ENF, DOM, RELAY("mx1.example.com"), POL(P_ENFORCE),
     TEMP(STS_REASON_UNTRUSTED_RELAY, "4.7.0")},
    {"enforce_relay_ip_literal", ENF, DOM, RELAY("[10.0.0.1]"), POL(P_ENFORCE),
     TEMP(STS_REASON_UNTRUSTED_RELAY, "4.7.0")},
    {"enforce_relay_bracketed_domain", ENF, DOM, RELAY("[example.com]"), POL(P_ENFORCE),
     TEMP(STS_REASON_UNTRUSTED_RELAY, "4.7.0")},
    {"enforce_relay_host_list", ENF, DOM, RELAY("[mx1.example.com]:[mx2.example.com]"),
     POL(P_ENFORCE), TEMP(STS_REASON_UNTRUSTED_RELAY, "4.7.0")},
    {"enforce_relay_hostile_hop", ENF, DOM, RELAY("relay%s\x01%n.example"), POL(P_ENFORCE),
     TEMP(STS_REASON_UNTRUSTED_RELAY, "4.7.0")},

    /* Enforce policy, route unknown: fail closed. */
    {"enforce_no_macros", ENF, DOM, NOMACROS, POL(P_ENFORCE),
     TEMP(STS_REASON_ROUTE_UNKNOWN, "4.3.5")},
    {"enforce_retry_transport", ENF, DOM, .mailer = "retry", .host = "4.3.0 later", POL(P_ENFORCE),
     TEMP(STS_REASON_ROUTE_UNKNOWN, "4.3.5")},
    {"enforce_null_route", ENF, DOM, .null_route = true, POL(P_ENFORCE),
     TEMP(STS_REASON_ROUTE_UNKNOWN, "4.3.5")},

    /* Testing policy: never fails, tagged (RFC 8461 §5). */
    {"testing_match", ENF, DOM, DIRECT, MX_OK, POL(P_TESTING), PASS(STS_REASON_MX_MATCH)},
    {"testing_mismatch", ENF, DOM, DIRECT, MX_BAD, POL(P_TESTING),
     WOULD(STS_REASON_MX_MISMATCH, "4.7.0")},
    {"testing_no_mx", ENF, DOM, DIRECT, POL(P_TESTING), WOULD(STS_REASON_NO_MX, "4.4.4")},
    {"testing_untrusted_relay", ENF, DOM, RELAY("[other.relay]"), POL(P_TESTING),
     WOULD(STS_REASON_UNTRUSTED_RELAY, "4.7.0")},
    {"testing_trusted_relay", ENF, DOM, RELAY("[smtp.relay.net]:587"), POL(P_TESTING), TRUST1,
     PASS(STS_REASON_TRUSTED_RELAY)},
    {"testing_route_unknown", ENF, DOM, NOMACROS, POL(P_TESTING),
     WOULD(STS_REASON_ROUTE_UNKNOWN, "4.3.5")},
    {"testing_mx_dns_error_tempfail_cfg", ENF, DOM, DIRECT, .mx_dns_error = true, POL(P_TESTING),
     .cfg = CFG_ALL_TEMPFAIL, WOULD(STS_REASON_DNS_ERROR, "4.4.3")},

    /* Lookup failure classes (RFC 8461 §3.3: default accept). */
    {"lookup_tempfail_default", ENF, DOM, DIRECT, .lookup = STS_LOOKUP_TEMPFAIL,
     PASS(STS_REASON_DNS_ERROR)},
    {"lookup_tempfail_cfg", ENF, DOM, DIRECT, .lookup = STS_LOOKUP_TEMPFAIL,
     .cfg = CFG_ALL_TEMPFAIL, TEMP(STS_REASON_DNS_ERROR, "4.4.3")},
    {"lookup_pending_default", ENF, DOM, DIRECT, .lookup = STS_LOOKUP_PENDING,
     PASS(STS_REASON_DISCOVERY_TIMEOUT)},
    {"lookup_pending_cfg", ENF, DOM, DIRECT, .lookup = STS_LOOKUP_PENDING, .cfg = CFG_ALL_TEMPFAIL,
     TEMP(STS_REASON_DISCOVERY_TIMEOUT, "4.4.3")},
    {"lookup_error_default", ENF, DOM, DIRECT, .lookup = STS_LOOKUP_ERROR,
     PASS(STS_REASON_STORE_ERROR)},
    {"lookup_error_cfg", ENF, DOM, DIRECT, .lookup = STS_LOOKUP_ERROR, .cfg = CFG_ALL_TEMPFAIL,
     TEMP(STS_REASON_STORE_ERROR, "4.3.0")},
    {"lookup_tempfail_relay", ENF, DOM, RELAY("[other.relay]"), .lookup = STS_LOOKUP_TEMPFAIL,
     .cfg = CFG_ALL_TEMPFAIL, TEMP(STS_REASON_DNS_ERROR, "4.4.3")},
    {"internal_default_tempfail", ENF, DOM, DIRECT, NOPOL, .internal = true,
     TEMP(STS_REASON_INTERNAL_ERROR, "4.3.0")},
    {"internal_cfg_accept", ENF, DOM, DIRECT, NOPOL, .internal = true, .cfg = CFG_ALL_ACCEPT,
     PASS(STS_REASON_INTERNAL_ERROR)},
    {"internal_beats_policy", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE), .internal = true,
     TEMP(STS_REASON_INTERNAL_ERROR, "4.3.0")},
    {"policy_outcome_without_policy", ENF, DOM, DIRECT, MX_OK, .lookup = STS_LOOKUP_POLICY,
     TEMP(STS_REASON_INTERNAL_ERROR, "4.3.0")},
    {"unknown_lookup_outcome", ENF, DOM, DIRECT, MX_OK, .bad_lookup = 99,
     TEMP(STS_REASON_INTERNAL_ERROR, "4.3.0")},
    {"cfg_accept_dns_error", ENF, DOM, DIRECT, .lookup = STS_LOOKUP_TEMPFAIL, .cfg = CFG_ALL_ACCEPT,
     PASS(STS_REASON_DNS_ERROR)},

    /* Site override "enforce": wins over the published policy. */
    {"override_match_no_policy", ENF, DOM, DIRECT, MX_OK, NOPOL, OVE("mx2.example.com"),
     PASS(STS_REASON_OVERRIDE_MATCH), .want_mx = "mx2.example.com"},
    {"override_mismatch_no_policy", ENF, DOM, DIRECT, MX_BAD, NOPOL, OVE("mx1.example.com"),
     TEMP(STS_REASON_OVERRIDE_MISMATCH, "4.7.0"), .want_mx = "mx.evil.example"},
    {"override_beats_matching_policy", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE),
     OVE("*.other.example"), TEMP(STS_REASON_OVERRIDE_MISMATCH, "4.7.0")},
    {"override_beats_mismatching_policy", ENF, DOM, DIRECT, MX_BAD, POL(P_ENFORCE),
     OVE("*.evil.example"), PASS(STS_REASON_OVERRIDE_MATCH), .want_mx = "mx.evil.example"},
    {"override_beats_testing_policy", ENF, DOM, DIRECT, MX_BAD, POL(P_TESTING),
     OVE("mx1.example.com"), TEMP(STS_REASON_OVERRIDE_MISMATCH, "4.7.0")},
    {"override_beats_policy_none", ENF, DOM, DIRECT, MX_BAD, POL(P_NONE), OVE("mx1.example.com"),
     TEMP(STS_REASON_OVERRIDE_MISMATCH, "4.7.0")},
    {"override_ignores_lookup_failure", ENF, DOM, DIRECT, MX_OK, .lookup = STS_LOOKUP_TEMPFAIL,
     .cfg = CFG_ALL_TEMPFAIL, OVE("mx1.example.com"), PASS(STS_REASON_OVERRIDE_MATCH)},
    {"override_trusted_relay", ENF, DOM, RELAY("[smtp.relay.net]:587"), NOPOL, TRUST1,
     OVE("mx1.example.com"), PASS(STS_REASON_TRUSTED_RELAY)},
    {"override_untrusted_relay", ENF, DOM, RELAY("[other.relay]"), NOPOL, OVE("mx1.example.com"),
     TEMP(STS_REASON_UNTRUSTED_RELAY, "4.7.0")},
    {"override_relay_to_pattern_host", ENF, DOM, RELAY("[mx1.example.com]"), NOPOL,
     OVE("mx1.example.com"), PASS(STS_REASON_RELAY_MX_MATCH)},
    {"override_no_mx", ENF, DOM, DIRECT, NOPOL, OVE("mx1.example.com"),
     TEMP(STS_REASON_NO_MX, "4.4.4")},
    {"override_no_patterns", ENF, DOM, DIRECT, MX_OK, NOPOL, .ov = STS_OVERRIDE_ENFORCE,
     TEMP(STS_REASON_OVERRIDE_MISMATCH, "4.7.0")},
    {"override_mx_dns_error", ENF, DOM, DIRECT, .mx_dns_error = true, NOPOL, OVE("mx1.example.com"),
     PASS(STS_REASON_DNS_ERROR)},
    {"override_mx_dns_error_cfg", ENF, DOM, DIRECT, .mx_dns_error = true, NOPOL,
     OVE("mx1.example.com"), .cfg = CFG_ALL_TEMPFAIL, TEMP(STS_REASON_DNS_ERROR, "4.4.3")},
    {"override_route_unknown", ENF, DOM, NOMACROS, NOPOL, OVE("mx1.example.com"),
     TEMP(STS_REASON_ROUTE_UNKNOWN, "4.3.5")},
    {"override_unknown_kind_ignored", ENF, DOM, DIRECT, MX_BAD, NOPOL,
     .ov = (enum sts_override_kind)7, PASS(STS_REASON_NO_POLICY)},

    /* AUDIT mode: never tempfails, tags what enforce would do. */
    {"audit_mismatch", AUD, DOM, DIRECT, MX_BAD, POL(P_ENFORCE),
     WOULD(STS_REASON_MX_MISMATCH, "4.7.0")},
    {"audit_match", AUD, DOM, DIRECT, MX_OK, POL(P_ENFORCE), PASS(STS_REASON_MX_MATCH)},
    {"audit_no_mx", AUD, DOM, DIRECT, POL(P_ENFORCE), WOULD(STS_REASON_NO_MX, "4.4.4")},
    {"audit_untrusted_relay", AUD, DOM, RELAY("[other.relay]"), POL(P_ENFORCE),
     WOULD(STS_REASON_UNTRUSTED_RELAY, "4.7.0")},
    {"audit_route_unknown", AUD, DOM, NOMACROS, POL(P_ENFORCE),
     WOULD(STS_REASON_ROUTE_UNKNOWN, "4.3.5")},
    {"audit_dns_error_cfg", AUD, DOM, DIRECT, .lookup = STS_LOOKUP_TEMPFAIL,
     .cfg = CFG_ALL_TEMPFAIL, WOULD(STS_REASON_DNS_ERROR, "4.4.3")},
    {"audit_dns_error_default", AUD, DOM, DIRECT, .lookup = STS_LOOKUP_TEMPFAIL,
     PASS(STS_REASON_DNS_ERROR)},
    {"audit_internal_default", AUD, DOM, DIRECT, NOPOL, .internal = true,
     WOULD(STS_REASON_INTERNAL_ERROR, "4.3.0")},
    {"audit_override_mismatch", AUD, DOM, DIRECT, MX_BAD, NOPOL, OVE("mx1.example.com"),
     WOULD(STS_REASON_OVERRIDE_MISMATCH, "4.7.0")},
    {"audit_testing_mismatch", AUD, DOM, DIRECT, MX_BAD, POL(P_TESTING),
     WOULD(STS_REASON_MX_MISMATCH, "4.7.0")},
    {"audit_no_policy", AUD, DOM, DIRECT, MX_BAD, NOPOL, PASS(STS_REASON_NO_POLICY)},
    {"audit_local", AUD, DOM, LOCALR, POL(P_ENFORCE), PASS(STS_REASON_NOT_OUTBOUND)},
    {"audit_override_skip", AUD, DOM, DIRECT, MX_BAD, POL(P_ENFORCE), .ov = STS_OVERRIDE_SKIP,
     PASS(STS_REASON_OVERRIDE_SKIP)},

    /* Step 8: the TLS of the candidates (RFC 8461 §4.2, RFC 7672, RFC 8460 types). */
    {"tls_pass", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE), TLS(T(PASS), T(PASS)),
     PASS(STS_REASON_MX_MATCH), .want_mx = "mx1.example.com"},
    {"tls_expired_only_candidate", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE),
     TLS(T(CERT_EXPIRED), T(PASS)), TEMP(STS_REASON_CERT_EXPIRED, "4.7.5"),
     .want_mx = "mx1.example.com"},
    {"tls_second_candidate_passes", ENF, DOM, DIRECT, MX_MIX, POL(P_ENFORCE),
     TLS(T(CERT_EXPIRED), T(PASS)), PASS(STS_REASON_MX_MATCH), .want_mx = "a.mail.example.com"},
    {"tls_host_mismatch", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE), TLS(T(CERT_HOST_MISMATCH)),
     TEMP(STS_REASON_CERT_HOST_MISMATCH, "4.7.5")},
    {"tls_not_trusted", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE), TLS(T(CERT_NOT_TRUSTED)),
     TEMP(STS_REASON_CERT_NOT_TRUSTED, "4.7.5")},
    {"tls_validation_failure", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE), TLS(T(VALIDATION_FAILURE)),
     TEMP(STS_REASON_VALIDATION_FAILURE, "4.7.5")},
    {"tls_starttls_missing", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE),
     TLS(T(STARTTLS_NOT_SUPPORTED)), TEMP(STS_REASON_STARTTLS_NOT_SUPPORTED, "4.7.4")},
    {"tls_testing_never_fails", ENF, DOM, DIRECT, MX_OK, POL(P_TESTING), TLS(T(CERT_EXPIRED)),
     WOULD(STS_REASON_CERT_EXPIRED, "4.7.5")},
    {"tls_audit_never_fails", AUD, DOM, DIRECT, MX_OK, POL(P_ENFORCE), TLS(T(CERT_EXPIRED)),
     WOULD(STS_REASON_CERT_EXPIRED, "4.7.5")},
    {"tls_pending_default_accept", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE), TLS(TPEND),
     PASS(STS_REASON_TLS_PENDING)},
    {"tls_pending_tempfail", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE), TLS(TPEND),
     .cfg = CFG_ALL_TEMPFAIL, TEMP(STS_REASON_TLS_PENDING, "4.7.0")},
    {"tls_pending_beats_failure", ENF, DOM, DIRECT, MX_MIX, POL(P_ENFORCE),
     TLS(T(CERT_EXPIRED), TPEND), PASS(STS_REASON_TLS_PENDING), .want_mx = "a.mail.example.com"},
    {"tls_unreachable_default_accept", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE), TLS(T(UNREACHABLE)),
     PASS(STS_REASON_MX_UNREACHABLE)},
    {"tls_unreachable_tempfail", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE), TLS(T(UNREACHABLE)),
     .cfg = CFG_ALL_TEMPFAIL, TEMP(STS_REASON_MX_UNREACHABLE, "4.4.1")},
    {"tls_failure_beats_unreachable", ENF, DOM, DIRECT, MX_MIX, POL(P_ENFORCE),
     TLS(T(UNREACHABLE), T(CERT_NOT_TRUSTED)), TEMP(STS_REASON_CERT_NOT_TRUSTED, "4.7.5"),
     .want_mx = "a.mail.example.com"},
    {"tls_mismatch_still_mismatch", ENF, DOM, DIRECT, MX_BAD, POL(P_ENFORCE), TLS(T(PASS), T(PASS)),
     TEMP(STS_REASON_MX_MISMATCH, "4.7.0")},
    {"dane_pass_beats_patterns", ENF, DOM, DIRECT, MX_BAD, POL(P_ENFORCE), TLS(TD(PASS)),
     PASS(STS_REASON_DANE_MATCH), .want_mx = "mx.evil.example"},
    {"dane_failure_beats_policy", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE),
     TLS(TD(TLSA_INVALID), T(CERT_EXPIRED)), TEMP(STS_REASON_TLSA_INVALID, "4.7.5"),
     .want_mx = "mx1.example.com"},
    {"dane_tlsa_bogus", ENF, DOM, DIRECT, MX_OK, POL(P_ENFORCE), TLS(TD(DNSSEC_INVALID)),
     TEMP(STS_REASON_DNSSEC_INVALID, "4.7.5")},
    {"mx_bogus", ENF, DOM, DIRECT, MX_OK, .mx_dns_error = true, .mx_bogus = true, POL(P_ENFORCE),
     TLS(T(PASS)), TEMP(STS_REASON_DNSSEC_INVALID, "4.7.5")},
    {"override_dane_required", ENF, DOM, DIRECT, MX_OK, NOPOL, .ov = STS_OVERRIDE_DANE,
     TLS(T(DANE_REQUIRED), T(DANE_REQUIRED)), TEMP(STS_REASON_DANE_REQUIRED, "4.7.5")},
    {"override_dane_pass", ENF, DOM, DIRECT, MX_BAD, NOPOL, .ov = STS_OVERRIDE_DANE,
     TLS(T(DANE_REQUIRED), TD(PASS)), PASS(STS_REASON_DANE_MATCH),
     .want_mx = "backup.evil.example"},
    {"override_dane_without_tls", ENF, DOM, DIRECT, MX_OK, NOPOL, .ov = STS_OVERRIDE_DANE,
     TEMP(STS_REASON_OVERRIDE_MISMATCH, "4.7.0")},
    {"override_enforce_tls", ENF, DOM, DIRECT, MX_OK, NOPOL, OVE("mx1.example.com"), TLS(T(PASS)),
     PASS(STS_REASON_OVERRIDE_MATCH)},
    {"override_enforce_tls_fail", ENF, DOM, DIRECT, MX_OK, NOPOL, OVE("mx1.example.com"),
     TLS(T(CERT_EXPIRED)), TEMP(STS_REASON_CERT_EXPIRED, "4.7.5")},
};

struct built {
    struct sts_route route;
    struct sts_policy *policy;
    struct sts_verdict_override ov;
    struct sts_verdict_on_failure of;
    struct sts_verdict_input in;
};

static void build(const struct verdict_case *c, struct built *b)
{
    char err[256] = "";
    memset(b, 0, sizeof(*b));
    sts_route_classify(c->mailer, c->host, c->domain, NULL, 0, &b->route, NULL, 0);
    if (c->policy != NULL) {
        enum sts_status st =
            sts_policy_parse(c->policy, strlen(c->policy), &b->policy, err, sizeof(err));
        ck_assert_msg(st == STS_OK, "case %s: test policy does not parse: %s", c->name, err);
    }
    b->in.mode = c->mode;
    b->in.domain = c->domain;
    b->in.route = c->null_route ? NULL : &b->route;
    b->in.mx = c->mx;
    b->in.mx_count = c->nmx;
    b->in.mx_dns_error = c->mx_dns_error;
    b->in.mx_bogus = c->mx_bogus;
    b->in.mx_tls = c->with_tls ? c->tls : NULL;
    b->in.lookup = c->bad_lookup != 0 ? (enum sts_lookup_outcome)c->bad_lookup : c->lookup;
    b->in.policy = b->policy;
    b->in.policy_id = b->policy != NULL ? "20240101T000000" : NULL;
    b->in.trusted_relays = c->trusted;
    b->in.trusted_count = c->ntrusted;
    if (c->ov != STS_OVERRIDE_NONE) {
        b->ov.kind = c->ov;
        b->ov.patterns = c->ov_pat;
        b->ov.count = c->nov;
        b->in.override = &b->ov;
    }
    if (c->cfg != CFG_DEFAULT) {
        enum sts_action a = c->cfg == CFG_ALL_TEMPFAIL ? STS_ACTION_TEMPFAIL : STS_ACTION_PASS;
        b->of.dns_error = b->of.discovery_timeout = b->of.store_error = b->of.internal_error =
            b->of.tls_unknown = a;
    } else {
        /* The verdict has no defaults of its own (the configuration table
         * holds them); CFG_DEFAULT rows use this one fixed set: accept for
         * every class but our own internal errors. */
        b->of.internal_error = STS_ACTION_TEMPFAIL;
    }
    b->in.on_failure = b->of;
    b->in.internal_error = c->internal;
}

static bool printable_no_percent(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || *s == '%')
            return false;
    return true;
}

START_TEST(test_verdict)
{
    const struct verdict_case *c = &verdict_cases[_i];
    struct built b;
    struct sts_verdict v;

    build(c, &b);
    memset(&v, 0x5a, sizeof(v));
    sts_verdict_decide(&b.in, &v);

    ck_assert_msg(v.reason == c->want_reason, "case %s: got reason %s, want %s", c->name,
                  sts_verdict_reason_name(v.reason), sts_verdict_reason_name(c->want_reason));
    ck_assert_msg(v.action == c->want_action, "case %s: got action %s, want %s", c->name,
                  sts_action_name(v.action), sts_action_name(c->want_action));
    ck_assert_msg(v.would_fail == c->want_fail, "case %s: got would_fail %d, want %d", c->name,
                  v.would_fail, c->want_fail);
    if (c->want_mx != NULL)
        ck_assert_msg(strcmp(v.mx, c->want_mx) == 0, "case %s: got mx \"%s\", want \"%s\"", c->name,
                      v.mx, c->want_mx);
    if (c->want_fail) {
        ck_assert_msg(strcmp(v.reply.code, "451") == 0, "case %s: got code \"%s\", want 451",
                      c->name, v.reply.code);
        ck_assert_msg(c->want_xcode != NULL && strcmp(v.reply.xcode, c->want_xcode) == 0,
                      "case %s: got xcode \"%s\", want \"%s\"", c->name, v.reply.xcode,
                      c->want_xcode != NULL ? c->want_xcode : "(none)");
        ck_assert_msg(strncmp(v.reply.text, "MTA-STS: ", 9) == 0,
                      "case %s: got text \"%s\", want it to start with \"MTA-STS: \"", c->name,
                      v.reply.text);
        ck_assert_msg(strstr(v.reply.text, "example.com") != NULL,
                      "case %s: got text \"%s\", want the domain named", c->name, v.reply.text);
        ck_assert_msg(printable_no_percent(v.reply.text),
                      "case %s: got text \"%s\", want printable ASCII without %%", c->name,
                      v.reply.text);
        ck_assert_msg(strlen(v.reply.text) <= STS_VERDICT_TEXT_MAX,
                      "case %s: got text of %zu octets, want at most %d", c->name,
                      strlen(v.reply.text), STS_VERDICT_TEXT_MAX);
    } else {
        ck_assert_msg(v.reply.code[0] == '\0' && v.reply.xcode[0] == '\0' &&
                          v.reply.text[0] == '\0',
                      "case %s: got reply \"%s %s %s\", want none", c->name, v.reply.code,
                      v.reply.xcode, v.reply.text);
    }
    /* The mode tag follows what was applied. */
    if (c->ov == STS_OVERRIDE_ENFORCE && c->want_reason != STS_REASON_NOT_OUTBOUND &&
        c->want_reason != STS_REASON_INTERNAL_ERROR)
        ck_assert_msg(v.override == STS_OVERRIDE_ENFORCE && v.mode_known &&
                          v.mode == STS_MODE_ENFORCE && v.policy_id[0] == '\0',
                      "case %s: got override %s mode %s id \"%s\", want enforce override, no id",
                      c->name, sts_override_kind_name(v.override), sts_mode_name(v.mode),
                      v.policy_id);
    sts_policy_free(b.policy);
}
END_TEST

/* Tagging: mode, id and override of a few representative verdicts. */
struct tag_case {
    const char *name;
    const char *row_name;
    bool want_mode_known;
    enum sts_mode want_mode;
    bool want_id;
    enum sts_override_kind want_override;
};

static const struct tag_case tag_cases[] = {
    {"tag_enforce", "enforce_mismatch", true, STS_MODE_ENFORCE, true, STS_OVERRIDE_NONE},
    {"tag_testing", "testing_mismatch", true, STS_MODE_TESTING, true, STS_OVERRIDE_NONE},
    {"tag_policy_none", "policy_none_mismatch", true, STS_MODE_NONE, true, STS_OVERRIDE_NONE},
    {"tag_no_policy", "no_policy_direct", true, STS_MODE_NONE, false, STS_OVERRIDE_NONE},
    {"tag_dns_error", "lookup_tempfail_default", false, STS_MODE_NONE, false, STS_OVERRIDE_NONE},
    {"tag_skip", "override_skip_beats_mismatch", false, STS_MODE_NONE, false, STS_OVERRIDE_SKIP},
    {"tag_override", "override_beats_matching_policy", true, STS_MODE_ENFORCE, false,
     STS_OVERRIDE_ENFORCE},
    {"tag_local", "local_route_enforce_policy", false, STS_MODE_NONE, false, STS_OVERRIDE_NONE},
};

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct verdict_case *row_named(const char *name)
{
    for (int i = 0; i < NCASES(verdict_cases); i++)
        if (strcmp(verdict_cases[i].name, name) == 0)
            return &verdict_cases[i];
    return NULL;
}

START_TEST(test_tags)
{
    const struct tag_case *t = &tag_cases[_i];
    const struct verdict_case *c = row_named(t->row_name);
    struct built b;
    struct sts_verdict v;

    ck_assert_msg(c != NULL, "case %s: no row %s", t->name, t->row_name);
    build(c, &b);
    sts_verdict_decide(&b.in, &v);
    ck_assert_msg(v.mode_known == t->want_mode_known, "case %s: got mode_known %d, want %d",
                  t->name, v.mode_known, t->want_mode_known);
    if (t->want_mode_known)
        ck_assert_msg(v.mode == t->want_mode, "case %s: got mode %s, want %s", t->name,
                      sts_mode_name(v.mode), sts_mode_name(t->want_mode));
    ck_assert_msg((v.policy_id[0] != '\0') == t->want_id, "case %s: got id \"%s\", want %s",
                  t->name, v.policy_id, t->want_id ? "the policy's" : "none");
    ck_assert_msg(v.override == t->want_override, "case %s: got override %s, want %s", t->name,
                  sts_override_kind_name(v.override), sts_override_kind_name(t->want_override));
    sts_policy_free(b.policy);
}
END_TEST

/* What the caller may skip: sts_verdict_needs_lookup() / _needs_mx(). */
struct needs_case {
    const char *row_name;
    bool want_lookup;
    bool want_mx;
};

static const struct needs_case needs_cases[] = {
    {"enforce_mismatch", true, true},
    {"testing_mismatch", true, true},
    {"policy_none_mismatch", true, false},
    {"no_policy_direct", true, false},
    {"enforce_untrusted_relay", true, false},
    {"enforce_no_macros", true, false},
    {"lookup_tempfail_default", true, false},
    {"local_route_enforce_policy", false, false},
    {"override_skip_beats_mismatch", false, false},
    {"no_domain_null", false, false},
    {"internal_default_tempfail", false, false},
    {"override_match_no_policy", false, true},
    {"override_untrusted_relay", false, false},
    {"policy_outcome_without_policy", true, false},
};

START_TEST(test_needs)
{
    const struct needs_case *n = &needs_cases[_i];
    const struct verdict_case *c = row_named(n->row_name);
    struct built b;

    ck_assert_msg(c != NULL, "case %s: no such row", n->row_name);
    build(c, &b);
    bool got_lookup = sts_verdict_needs_lookup(&b.in);
    bool got_mx = sts_verdict_needs_mx(&b.in);
    sts_policy_free(b.policy);
    ck_assert_msg(got_lookup == n->want_lookup, "case %s: got needs_lookup %d, want %d",
                  n->row_name, got_lookup, n->want_lookup);
    ck_assert_msg(got_mx == n->want_mx, "case %s: got needs_mx %d, want %d", n->row_name, got_mx,
                  n->want_mx);
}
END_TEST

START_TEST(test_null_input)
{
    struct sts_verdict v;
    sts_verdict_decide(NULL, &v);
    ck_assert_msg(v.reason == STS_REASON_INTERNAL_ERROR && v.would_fail &&
                      v.action == STS_ACTION_TEMPFAIL && strcmp(v.reply.xcode, "4.3.0") == 0,
                  "case null_input: got %s/%s would_fail %d, want internal-error/tempfail/1",
                  sts_verdict_reason_name(v.reason), sts_action_name(v.action), v.would_fail);
    ck_assert(!sts_verdict_needs_lookup(NULL));
    ck_assert(!sts_verdict_needs_mx(NULL));
}
END_TEST

/* Reason words are stable, distinct, and used in logs and headers. */
START_TEST(test_reason_names)
{
    static const char *const want[STS_REASON_COUNT] = {
        "not-outbound",
        "no-domain",
        "override-skip",
        "no-policy",
        "policy-none",
        "mx-match",
        "mx-mismatch",
        "no-mx",
        "null-mx",
        "trusted-relay",
        "relay-mx-match",
        "untrusted-relay",
        "route-unknown",
        "override-enforce-match",
        "override-enforce-mismatch",
        "dns-error",
        "discovery-timeout",
        "store-error",
        "internal-error",
        "dane-match",
        "tls-pending",
        "mx-unreachable",
        "starttls-not-supported",
        "certificate-host-mismatch",
        "certificate-expired",
        "certificate-not-trusted",
        "validation-failure",
        "tlsa-invalid",
        "dnssec-invalid",
        "dane-required",
        "override-verify-match",
        "override-encrypt-match",
        "learned-tls-match",
        "learned-tls-downgrade",
    };
    for (int i = 0; i < STS_REASON_COUNT; i++)
        ck_assert_msg(strcmp(sts_verdict_reason_name((enum sts_verdict_reason)i), want[i]) == 0,
                      "case reason %d: got %s, want %s", i,
                      sts_verdict_reason_name((enum sts_verdict_reason)i), want[i]);
    ck_assert_str_eq(sts_verdict_reason_name((enum sts_verdict_reason)STS_REASON_COUNT),
                     "internal-error");
    ck_assert_str_eq(sts_action_name(STS_ACTION_PASS), "pass");
    ck_assert_str_eq(sts_action_name(STS_ACTION_TEMPFAIL), "tempfail");
    ck_assert_str_eq(sts_milter_mode_name(STS_MILTER_ENFORCE), "enforce");
    ck_assert_str_eq(sts_milter_mode_name(STS_MILTER_AUDIT), "audit");
    ck_assert_str_eq(sts_override_kind_name(STS_OVERRIDE_NONE), "none");
    ck_assert_str_eq(sts_override_kind_name(STS_OVERRIDE_SKIP), "skip");
    ck_assert_str_eq(sts_override_kind_name(STS_OVERRIDE_ENFORCE), "enforce");
    ck_assert_str_eq(sts_override_kind_name(STS_OVERRIDE_DANE), "dane");
}
END_TEST

/* A long MX list is cut with "..." and the text stays within its cap. */
START_TEST(test_reply_long_mx_list)
{
    char names[6][STS_DOMAIN_MAX + 1];
    const char *mx[6];
    struct sts_policy *p = NULL;
    struct sts_route r;
    struct sts_verdict v;
    char err[128];

    for (int i = 0; i < 6; i++) {
        snprintf(names[i], sizeof(names[i]), "mx%d.%s.evil.example", i,
                 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        mx[i] = names[i];
    }
    ck_assert_int_eq(sts_policy_parse(P_ENFORCE, strlen(P_ENFORCE), &p, err, sizeof(err)), STS_OK);
    sts_route_classify("smtp", "example.com", "example.com", NULL, 0, &r, NULL, 0);
    struct sts_verdict_input in = {.mode = STS_MILTER_ENFORCE,
                                   .domain = "example.com",
                                   .route = &r,
                                   .mx = mx,
                                   .mx_count = 6,
                                   .lookup = STS_LOOKUP_POLICY,
                                   .policy = p,
                                   .policy_id = "abc"};
    sts_verdict_decide(&in, &v);
    sts_policy_free(p);
    ck_assert_int_eq(v.reason, STS_REASON_MX_MISMATCH);
    ck_assert_uint_eq(v.mx_mismatched, 6);
    ck_assert_msg(strlen(v.reply.text) <= STS_VERDICT_TEXT_MAX, "got %zu octets",
                  strlen(v.reply.text));
    ck_assert_msg(strstr(v.reply.text, "...") != NULL, "got \"%s\", want \"...\"", v.reply.text);
    ck_assert_msg(strstr(v.reply.text, "id abc") != NULL ||
                      strlen(v.reply.text) == STS_VERDICT_TEXT_MAX,
                  "got \"%s\"", v.reply.text);
}
END_TEST

static Suite *verdict_suite(void)
{
    Suite *s = suite_create("verdict");
    TCase *tc = tcase_create("verdict");

    tcase_add_loop_test(tc, test_verdict, 0, NCASES(verdict_cases));
    tcase_add_loop_test(tc, test_tags, 0, NCASES(tag_cases));
    tcase_add_loop_test(tc, test_needs, 0, NCASES(needs_cases));
    tcase_add_test(tc, test_null_input);
    tcase_add_test(tc, test_reason_names);
    tcase_add_test(tc, test_reply_long_mx_list);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(verdict_suite());
}
