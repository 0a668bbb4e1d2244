/*
 * config_keys.c - the configuration table (config.h): every key's name,
 * type, default, bounds, reloadability and description, the checks of
 * its string values (socket, store, resolver, paths, host names, header
 * and account names, relays) and the lookups of the table.  The parser
 * and the snapshots are config.c's; both share config_int.h.
 *
 * The table below is the single source of truth.  The documentation
 * follows it through "mtasts-milter --keys" (tests/cli/config_docs.sh).
 */
#include "mtasts/config.h"
#include "config_int.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "mtasts/domain.h"
#include "mtasts/tlsrpt_report.h"
#include "mtasts/socket_spec.h"

#define OFF(field) offsetof(struct sts_config, field)
#define NKEYS (sizeof(sts_config_keys) / sizeof(sts_config_keys[0]))

/* Enum keys are stored through an int: the enums must be int-sized. */
_Static_assert(sizeof(enum sts_milter_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum sts_action) == sizeof(int), "enum size");
_Static_assert(sizeof(enum sts_learn_mode) == sizeof(int), "enum size");

static sts_config_check_fn check_socket, check_store, check_resolver, check_path, check_log_file,
    check_helo, check_header, check_user, check_relay, check_address;

static const char *const mode_words[] = {"enforce", "audit", NULL};
static const char *const action_words[] = {"accept", "tempfail", NULL};
static const char *const learn_words[] = {"off", "audit", "enforce",
                                          NULL}; /* enum sts_learn_mode */
static const char *const level_words[] = {"error", "warning", "info", "debug", NULL};
static const int level_values[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
static const char *const facility_words[] = {"auth",   "authpriv", "cron",   "daemon", "ftp",
                                             "local0", "local1",   "local2", "local3", "local4",
                                             "local5", "local6",   "local7", "lpr",    "mail",
                                             "news",   "syslog",   "user",   "uucp",   NULL};
static const int facility_values[] = {LOG_AUTH,   LOG_AUTHPRIV, LOG_CRON,   LOG_DAEMON, LOG_FTP,
                                      LOG_LOCAL0, LOG_LOCAL1,   LOG_LOCAL2, LOG_LOCAL3, LOG_LOCAL4,
                                      LOG_LOCAL5, LOG_LOCAL6,   LOG_LOCAL7, LOG_LPR,    LOG_MAIL,
                                      LOG_NEWS,   LOG_SYSLOG,   LOG_USER,   LOG_UUCP};

#define SECS(n) (n##UL)
#define MINS(n) (n##UL * 60)
#define HOURS(n) (n##UL * 3600)
#define DAYS(n) (n##UL * 86400)

/* The table.  Bounds of millisecond durations are in milliseconds. */
// clang-format off
const struct sts_config_key sts_config_keys[] = {
    /* the milter */
    {.name = "Socket", .type = STS_CONFIG_STRING, .def = STS_CONFIG_DEFAULT_SOCKET,
     .check_ = check_socket, .offset_ = OFF(socket),
     .desc = "where the MTA connects: unix:PATH, local:PATH, inet:PORT[@HOST] or inet6:PORT[@HOST]"},
    {.name = "Mode", .type = STS_CONFIG_ENUM, .def = "audit",
     .reloadable = true, .choices = mode_words, .offset_ = OFF(mode),
     .desc = "enforce: tempfail recipients MTA-STS cannot protect; audit: only tag the message"},
    {.name = "UserID", .type = STS_CONFIG_STRING, .def = "",
     .empty_ok = true, .check_ = check_user, .offset_ = OFF(user_id),
     .desc = "user[:group] to run as once the socket is open; empty: keep the starting user"},
    {.name = "PidFile", .type = STS_CONFIG_STRING, .def = "",
     .empty_ok = true, .check_ = check_path, .offset_ = OFF(pid_file),
     .desc = "absolute path of a file to write the process id to; empty: none"},
    /* policy discovery and the cache */
    {.name = "Store", .type = STS_CONFIG_STRING, .def = STS_CONFIG_DEFAULT_STORE,
     .check_ = check_store, .offset_ = OFF(store),
     .desc = "the persistent policy cache, sqlite:PATH"},
    {.name = "Resolver", .type = STS_CONFIG_STRING, .def = "",
     .empty_ok = true, .check_ = check_resolver, .offset_ = OFF(resolver),
     .desc = "DNS forwarders ADDR[@PORT] ...; empty: the system resolver (/etc/resolv.conf)"},
    {.name = "TrustAnchorFile", .type = STS_CONFIG_STRING, .def = "",
     .empty_ok = true, .check_ = check_path, .offset_ = OFF(trust_anchor_file),
     .desc = "DNSSEC root trust anchor file; empty: no DNSSEC validation"},
    {.name = "CAFile", .type = STS_CONFIG_STRING, .def = "",
     .empty_ok = true, .check_ = check_path, .offset_ = OFF(ca_file),
     .desc = "CA certificates for policy fetches and MX certificates; empty: the system store"},
    {.name = "DNSTimeout", .type = STS_CONFIG_DURATION, .def = "5s",
     .millis = true, .min = 100, .max = SECS(60) * 1000, .offset_ = OFF(dns_timeout_ms),
     .desc = "deadline of one DNS query"},
    {.name = "FetchConnectTimeout", .type = STS_CONFIG_DURATION, .def = "10s",
     .millis = true, .min = 100, .max = SECS(60) * 1000, .offset_ = OFF(fetch_connect_timeout_ms),
     .desc = "deadline of the TCP connection of a policy fetch (at most FetchTimeout)"},
    {.name = "FetchTimeout", .type = STS_CONFIG_DURATION, .def = "30s",
     .millis = true, .min = SECS(1) * 1000, .max = MINS(2) * 1000,
     .offset_ = OFF(fetch_timeout_ms),
     .desc = "deadline of a whole policy fetch, DNS included (RFC 8461 suggests 1m)"},
    {.name = "MaxConcurrentFetches", .type = STS_CONFIG_UINT, .def = "16",
     .min = 1, .max = 1024, .offset_ = OFF(max_concurrent_fetches),
     .desc = "policy discoveries run at once"},
    {.name = "NegativeCacheTTL", .type = STS_CONFIG_DURATION, .def = "1h",
     .min = MINS(1), .max = DAYS(1), .offset_ = OFF(negative_cache_ttl_s),
     .desc = "how long a domain without an _mta-sts record is remembered as such"},
    {.name = "DNSFailureTTL", .type = STS_CONFIG_DURATION, .def = "60s",
     .min = SECS(1), .max = HOURS(1), .offset_ = OFF(dns_failure_ttl_s),
     .desc = "how long a DNS failure for a domain is remembered before asking again"},
    {.name = "RecheckInterval", .type = STS_CONFIG_DURATION, .def = "1h",
     .min = MINS(1), .max = DAYS(1), .offset_ = OFF(recheck_interval_s),
     .desc = "age after which a cached policy's TXT id is checked again"},
    {.name = "FetchBackoff", .type = STS_CONFIG_DURATION, .def = "5m",
     .min = MINS(5), .max = DAYS(1), .offset_ = OFF(fetch_backoff_s),
     .desc = "wait after a failed fetch before fetching the same id again (RFC 8461: >= 5m)"},
    {.name = "RefreshInterval", .type = STS_CONFIG_DURATION, .def = "60s",
     .min = 0, .max = HOURS(1), .offset_ = OFF(refresh_interval_s),
     .desc = "period of the background refresher; 0: no background refresh"},
    {.name = "RefreshWindow", .type = STS_CONFIG_DURATION, .def = "1d",
     .min = HOURS(1), .max = DAYS(31), .offset_ = OFF(refresh_window_s),
     .desc = "refresh a recently used policy when it expires within this time"},
    {.name = "RecentUse", .type = STS_CONFIG_DURATION, .def = "7d",
     .min = HOURS(1), .max = DAYS(365), .offset_ = OFF(recent_use_s),
     .desc = "a policy looked up within this time counts as recently used"},
    {.name = "AllowPrivateTargets", .type = STS_CONFIG_BOOL, .def = "no",
     .offset_ = OFF(allow_private_targets),
     .desc = "let policy fetches reach private, loopback and link-local addresses (tests only)"},
    {.name = "PolicyPort", .type = STS_CONFIG_UINT, .def = "443",
     .min = 1, .max = 65535, .offset_ = OFF(policy_port),
     .desc = "TCP port of policy HTTPS fetches (tests only)"},
    /* the verdict */
    {.name = "LookupDeadline", .type = STS_CONFIG_DURATION, .def = "3s",
     .reloadable = true, .millis = true, .min = 100, .max = SECS(9) * 1000,
     .offset_ = OFF(lookup_deadline_ms),
     .desc = "how long RCPT waits for a discovery not yet cached (OnDiscoveryTimeout after)"},
    {.name = "TrustedRelays", .type = STS_CONFIG_LIST, .def = "",
     .reloadable = true, .empty_ok = true, .check_ = check_relay, .offset_ = OFF(trusted_relays),
     .desc = "next hops ([host], host, with :port) trusted to apply MTA-STS themselves"},
    {.name = "OverridesFile", .type = STS_CONFIG_STRING, .def = "",
     .reloadable = true, .empty_ok = true, .check_ = check_path, .offset_ = OFF(overrides_file),
     .desc = "local per-domain enforce/skip overrides, see mtasts-milter.conf(5); empty: none"},
    {.name = "OnDNSError", .type = STS_CONFIG_ENUM, .def = "accept",
     .reloadable = true, .choices = action_words, .offset_ = OFF(on_dns_error),
     .desc = "action when DNS fails (SERVFAIL, timeout, bogus) and nothing is cached"},
    {.name = "OnDiscoveryTimeout", .type = STS_CONFIG_ENUM, .def = "accept",
     .reloadable = true, .choices = action_words, .offset_ = OFF(on_discovery_timeout),
     .desc = "action when discovery is still running at LookupDeadline"},
    {.name = "OnStoreError", .type = STS_CONFIG_ENUM, .def = "accept",
     .reloadable = true, .choices = action_words, .offset_ = OFF(on_store_error),
     .desc = "action when the policy store fails"},
    {.name = "OnInternalError", .type = STS_CONFIG_ENUM, .def = "accept",
     .reloadable = true, .choices = action_words, .offset_ = OFF(on_internal_error),
     .desc = "action on any other local failure (memory, bugs)"},
    {.name = "OnTLSUnknown", .type = STS_CONFIG_ENUM, .def = "accept",
     .reloadable = true, .choices = action_words, .offset_ = OFF(on_tls_unknown),
     .desc = "action when no permitted MX host has a TLS result yet or none could be reached"},
    /* learned forced TLS (learn.h) */
    {.name = "LearnTLS", .type = STS_CONFIG_ENUM, .def = "off",
     .reloadable = true, .choices = learn_words, .offset_ = OFF(learn_tls),
     .desc = "learn domains without MTA-STS/DANE that always pass verified TLS: off, audit, enforce"},
    {.name = "LearnPeriod", .type = STS_CONFIG_DURATION, .def = "30d",
     .reloadable = true, .min = HOURS(1), .max = DAYS(365), .offset_ = OFF(learn_period_s),
     .desc = "how long every MX host must pass verified TLS before LearnTLS requires it"},
    /* route verification */
    {.name = "TLSChecks", .type = STS_CONFIG_BOOL, .def = "yes",
     .reloadable = true, .offset_ = OFF(tls_checks),
     .desc = "probe STARTTLS, certificates and DANE of the MX hosts; no: judge MX names only"},
    {.name = "ProbeTimeout", .type = STS_CONFIG_DURATION, .def = "10s",
     .millis = true, .min = SECS(1) * 1000, .max = SECS(60) * 1000,
     .offset_ = OFF(probe_timeout_ms),
     .desc = "deadline of one STARTTLS probe, connection to QUIT"},
    {.name = "ProbeTTL", .type = STS_CONFIG_DURATION, .def = "1h",
     .min = MINS(1), .max = DAYS(1), .offset_ = OFF(probe_ttl_s),
     .desc = "how long a passing probe result is trusted"},
    {.name = "ProbeFailureTTL", .type = STS_CONFIG_DURATION, .def = "5m",
     .min = SECS(10), .max = HOURS(1), .offset_ = OFF(probe_failure_ttl_s),
     .desc = "how long a failing or unreachable probe result is kept before probing again"},
    {.name = "MaxConcurrentProbes", .type = STS_CONFIG_UINT, .def = "8",
     .min = 1, .max = 256, .offset_ = OFF(max_concurrent_probes),
     .desc = "STARTTLS probes run at once"},
    {.name = "ProbePort", .type = STS_CONFIG_UINT, .def = "25",
     .min = 1, .max = 65535, .offset_ = OFF(probe_port),
     .desc = "TCP port of STARTTLS probes and of the TLSA name _PORT._tcp (tests only)"},
    {.name = "HeloName", .type = STS_CONFIG_STRING, .def = "",
     .empty_ok = true, .check_ = check_helo, .offset_ = OFF(helo_name),
     .desc = "EHLO name of STARTTLS probes; empty: the host name"},
    {.name = "AuditHeader", .type = STS_CONFIG_STRING, .def = "MTA-STS-Audit",
     .reloadable = true, .check_ = check_header, .offset_ = OFF(audit_header),
     .desc = "name of the header field that reports the verdicts"},
    {.name = "HeaderInEnforce", .type = STS_CONFIG_BOOL, .def = "yes",
     .reloadable = true, .offset_ = OFF(header_in_enforce),
     .desc = "add the AuditHeader field in enforce mode too"},
    /* the socketmap policy server */
    {.name = "SocketMap", .type = STS_CONFIG_STRING, .def = "",
     .empty_ok = true, .check_ = check_socket, .offset_ = OFF(socketmap),
     .desc = "socketmap TLS policy server for Postfix/Sendmail: unix:PATH, inet:PORT[@HOST]; empty: off"},
    {.name = "SocketMapDeadline", .type = STS_CONFIG_DURATION, .def = "1s",
     .millis = true, .min = 100, .max = SECS(9) * 1000, .offset_ = OFF(socketmap_deadline_ms),
     .desc = "how long a socketmap lookup waits for a discovery (TEMP after)"},
    {.name = "SocketMapTLSRPT", .type = STS_CONFIG_BOOL, .def = "no",
     .offset_ = OFF(socketmap_tlsrpt),
     .desc = "add TLSRPT attributes to socketmap answers (Postfix >= 3.10 only)"},
    {.name = "SocketMapStrictTesting", .type = STS_CONFIG_BOOL, .def = "no",
     .offset_ = OFF(socketmap_strict_testing),
     .desc = "answer mode testing policies as enforce"},
    /* the metrics listener */
    {.name = "Metrics", .type = STS_CONFIG_STRING, .def = "",
     .empty_ok = true, .check_ = check_socket, .offset_ = OFF(metrics),
     .desc = "Prometheus /metrics over HTTP: inet:PORT[@HOST], unix:PATH; empty: off"},
    /* TLS reporting (RFC 8460) */
    {.name = "TLSRPT", .type = STS_CONFIG_BOOL, .def = "no",
     .offset_ = OFF(tlsrpt),
     .desc = "count TLS-RPT results (RFC 8460) in the store, for mtasts report"},
    {.name = "TLSRPTSocket", .type = STS_CONFIG_STRING, .def = "",
     .empty_ok = true, .check_ = check_path, .offset_ = OFF(tlsrpt_socket),
     .desc = "unix datagram socket for Postfix >= 3.10's TLSRPT client; empty: off"},
    {.name = "TLSRPTSender", .type = STS_CONFIG_STRING, .def = "",
     .empty_ok = true, .check_ = check_address, .offset_ = OFF(tlsrpt_sender),
     .desc = "envelope sender of our TLS reports; its transactions are not counted"},
    {.name = "TLSRPTOrganization", .type = STS_CONFIG_STRING, .def = "",
     .empty_ok = true, .offset_ = OFF(tlsrpt_organization),
     .desc = "organization-name of our TLS reports"},
    {.name = "TLSRPTContact", .type = STS_CONFIG_STRING, .def = "",
     .empty_ok = true, .check_ = check_address, .offset_ = OFF(tlsrpt_contact),
     .desc = "contact-info of our TLS reports (an address; its domain is the submitter)"},
    /* logging */
    {.name = "Syslog", .type = STS_CONFIG_BOOL, .def = "yes",
     .offset_ = OFF(syslog),
     .desc = "log to syslog (unless LogFile is set)"},
    {.name = "SyslogFacility", .type = STS_CONFIG_ENUM, .def = "mail",
     .choices = facility_words, .values = facility_values, .offset_ = OFF(syslog_facility),
     .desc = "syslog facility"},
    {.name = "LogFile", .type = STS_CONFIG_STRING, .def = "",
     .empty_ok = true, .check_ = check_log_file, .offset_ = OFF(log_file),
     .desc = "log to this absolute path instead of syslog; -: standard error"},
    {.name = "LogLevel", .type = STS_CONFIG_ENUM, .def = "info",
     .reloadable = true, .choices = level_words, .values = level_values, .offset_ = OFF(log_level),
     .desc = "least severe level logged: error, warning, info or debug"},
};
// clang-format on

_Static_assert(NKEYS <= CONFIG_KEYS_MAX, "raise CONFIG_KEYS_MAX in config_int.h");

const size_t sts_config_nkeys = NKEYS;

/* A decimal port 1..65535 in [s, s + len). */
static bool parse_port(const char *s, size_t len, unsigned *port)
{
    unsigned long v = 0;
    if (len == 0 || len > 5)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return false;
    *port = (unsigned)v;
    return true;
}

/* Is [s, s + len) an address literal of the family? */
static bool is_addr(int af, const char *s, size_t len)
{
    char buf[64];
    unsigned char bin[16];
    if (len == 0 || len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return inet_pton(af, buf, bin) == 1;
}

/* --- value checks (sts_config_check_fn) */

/* The one socket spec parser (socket_spec.h): what -n accepts, the daemon opens. */
static enum sts_status check_socket(const char *v, char *out, size_t outlen, char *err,
                                    size_t errlen)
{
    if (sts_socket_spec_parse(v, 0, NULL, err, errlen) != STS_OK)
        return STS_EINVAL;
    return copy_out(v, out, outlen, err, errlen);
}

static enum sts_status check_store(const char *v, char *out, size_t outlen, char *err,
                                   size_t errlen)
{
    /* store.h: a leading "scheme:" (a letter, then letters, digits, "+-.") names the
       backend; only sqlite exists. */
    size_t i = strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.");
    if (i > 0 && !is_digit(v[0]) && strchr("+-.", v[0]) == NULL && v[i] == ':') {
        if (strncmp(v, "sqlite:", 7) != 0)
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "unknown store backend (want sqlite:PATH)");
        if (v[7] == '\0')
            return sts_status_set(STS_EINVAL, err, errlen, "no database path after sqlite:");
    }
    return copy_out(v, out, outlen, err, errlen);
}

static enum sts_status check_resolver(const char *v, char *out, size_t outlen, char *err,
                                      size_t errlen)
{
    const char *p = v;
    while (*p != '\0') {
        while (is_blank(*p) || *p == ',')
            p++;
        if (*p == '\0')
            break;
        size_t len = strcspn(p, " \t,");
        const char *at = memchr(p, '@', len);
        size_t alen = at != NULL ? (size_t)(at - p) : len;
        unsigned port;
        char q[80];
        if (!is_addr(AF_INET, p, alen) && !is_addr(AF_INET6, p, alen))
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "forwarder %s is not an IPv4 or IPv6 address",
                                  sts_status_quote(p, alen, q, sizeof(q)));
        if (at != NULL && !parse_port(at + 1, len - alen - 1, &port))
            return sts_status_set(STS_EINVAL, err, errlen, "bad port in forwarder %s",
                                  sts_status_quote(p, len, q, sizeof(q)));
        p += len;
    }
    return copy_out(v, out, outlen, err, errlen);
}

static enum sts_status check_path(const char *v, char *out, size_t outlen, char *err, size_t errlen)
{
    if (v[0] != '/')
        return sts_status_set(STS_EINVAL, err, errlen, "must be an absolute path");
    return copy_out(v, out, outlen, err, errlen);
}

/* An EHLO argument: a host name (RFC 5321 §4.1.1.1 Domain), LDH labels. */
/* An RFC 5322 addr-spec, as TLS reports carry them (tlsrpt_report.h). */
static enum sts_status check_address(const char *v, char *out, size_t outlen, char *err,
                                     size_t errlen)
{
    enum sts_status st = sts_tlsrpt_addr_check(v, NULL, 0, err, errlen);
    return st == STS_OK ? copy_out(v, out, outlen, err, errlen) : st;
}

static enum sts_status check_helo(const char *v, char *out, size_t outlen, char *err, size_t errlen)
{
    size_t len = strlen(v), label = 0;
    if (len > 253)
        return sts_status_set(STS_EINVAL, err, errlen, "host name over 253 characters");
    for (size_t i = 0; i < len; i++) {
        char c = v[i];
        bool ldh = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-';
        if (c == '.' && label > 0)
            label = 0;
        else if (ldh && ++label <= 63)
            continue;
        else
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "not a host name (letters, digits, '-' and '.' labels)");
    }
    if (label == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "not a host name (empty label)");
    return copy_out(v, out, outlen, err, errlen);
}

static enum sts_status check_log_file(const char *v, char *out, size_t outlen, char *err,
                                      size_t errlen)
{
    if (strcmp(v, "-") != 0 && v[0] != '/')
        return sts_status_set(STS_EINVAL, err, errlen,
                              "must be an absolute path or - (standard error)");
    return copy_out(v, out, outlen, err, errlen);
}

/* RFC 5322 §3.6.8: field-name = 1*ftext, ftext = %d33-57 / %d59-126. */
static enum sts_status check_header(const char *v, char *out, size_t outlen, char *err,
                                    size_t errlen)
{
    size_t len = strlen(v);
    if (len > STS_CONFIG_HEADER_MAX)
        return sts_status_set(STS_EINVAL, err, errlen, "header field name over %d characters",
                              STS_CONFIG_HEADER_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c < 33 || c > 126 || c == ':')
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "not a header field name (RFC 5322 ftext: printable ASCII "
                                  "but colon and space)");
    }
    return copy_out(v, out, outlen, err, errlen);
}

/* A user or group name: 1..32 of [A-Za-z0-9._-], not starting with "-". */
static bool is_account(const char *s, size_t len)
{
    if (len == 0 || len > 32 || s[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = ascii_lower(s[i]);
        if (!is_digit(c) && !(c >= 'a' && c <= 'z') && c != '.' && c != '_' && c != '-')
            return false;
    }
    return true;
}

static enum sts_status check_user(const char *v, char *out, size_t outlen, char *err, size_t errlen)
{
    const char *colon = strchr(v, ':');
    size_t ulen = colon != NULL ? (size_t)(colon - v) : strlen(v);
    if (!is_account(v, ulen) || (colon != NULL && !is_account(colon + 1, strlen(colon + 1))))
        return sts_status_set(STS_EINVAL, err, errlen, "want user or user:group");
    return copy_out(v, out, outlen, err, errlen);
}

/*
 * A next hop as Postfix writes it: "[name]" (no MX lookup) or "name",
 * either with ":port".  Inside brackets name may be an IPv4 or IPv6
 * address, the latter with or without "ipv6:".  Names are normalised
 * (domain.h), addresses lower-cased; route.h compares next hops.
 */
static enum sts_status check_relay(const char *v, char *out, size_t outlen, char *err,
                                   size_t errlen)
{
    char name[CONFIG_VALUE_MAX], norm[STS_DOMAIN_MAX + 1];
    const char *end, *host = v;
    size_t hlen;
    unsigned port = 0;
    bool bracket = v[0] == '[';

    if (bracket) {
        host = v + 1;
        end = strchr(host, ']');
        if (end == NULL)
            return sts_status_set(STS_EINVAL, err, errlen, "no closing ]");
        hlen = (size_t)(end - host);
        end++;
    } else {
        end = strchr(v, ':');
        if (end == NULL)
            end = v + strlen(v);
        hlen = (size_t)(end - v);
    }
    if (*end == ':') {
        if (!parse_port(end + 1, strlen(end + 1), &port))
            return sts_status_set(STS_EINVAL, err, errlen, "bad port (want 1..65535)");
    } else if (*end != '\0') {
        return sts_status_set(STS_EINVAL, err, errlen, "junk after ]");
    }
    if (hlen == 0 || hlen >= sizeof(name))
        return sts_status_set(STS_EINVAL, err, errlen, "no host name");
    memcpy(name, host, hlen);
    name[hlen] = '\0';

    const char *addr6 = bracket && hlen > 5 && word_eq(name, 5, "ipv6:") ? name + 5 : NULL;
    if (addr6 == NULL && bracket && is_addr(AF_INET6, name, hlen))
        addr6 = name;
    if (addr6 != NULL) { /* kept as written, "ipv6:" or not, in lower case */
        if (!is_addr(AF_INET6, addr6, strlen(addr6)))
            return sts_status_set(STS_EINVAL, err, errlen, "bad IPv6 address");
        for (size_t i = 0; i <= hlen; i++) /* an address is shorter than norm */
            norm[i] = ascii_lower(name[i]);
    } else if (bracket && is_addr(AF_INET, name, hlen)) {
        memcpy(norm, name, hlen + 1);
    } else {
        char why[128];
        if (sts_domain_normalize(name, norm, sizeof(norm), why, sizeof(why)) != STS_OK)
            return sts_status_set(STS_EINVAL, err, errlen, "bad host name: %s", why);
    }
    char portbuf[8] = "";
    if (port != 0)
        snprintf(portbuf, sizeof(portbuf), ":%u", port);
    int n =
        snprintf(out, outlen, "%s%s%s%s", bracket ? "[" : "", norm, bracket ? "]" : "", portbuf);
    if (n < 0 || (size_t)n >= outlen)
        return sts_status_set(STS_ETOOBIG, err, errlen, "value too long");
    return STS_OK;
}

size_t sts_config_key_count(void)
{
    return NKEYS;
}

const struct sts_config_key *sts_config_key_at(size_t i)
{
    return i < NKEYS ? &sts_config_keys[i] : NULL;
}

const struct sts_config_key *sts_config_key_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < NKEYS; i++)
        if (word_eq(name, strlen(name), sts_config_keys[i].name))
            return &sts_config_keys[i];
    return NULL;
}

void sts_config_dump_keys(FILE *fp)
{
    static const char *const type_words[] = {
        [STS_CONFIG_STRING] = "string",     [STS_CONFIG_BOOL] = "bool", [STS_CONFIG_UINT] = "uint",
        [STS_CONFIG_DURATION] = "duration", [STS_CONFIG_ENUM] = "enum", [STS_CONFIG_LIST] = "list",
    };
    for (size_t i = 0; i < NKEYS; i++)
        fprintf(fp, "%s\t%s\t%s\t%s\n", sts_config_keys[i].name,
                type_words[sts_config_keys[i].type],
                sts_config_keys[i].reloadable ? "reload" : "restart", sts_config_keys[i].def);
}
