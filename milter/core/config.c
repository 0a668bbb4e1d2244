/*
 * config.c - the configuration table, the "Name value" file parser and
 * refcounted snapshots (see config.h for the format and the locking
 * protocol).
 *
 * The table below is the single source of truth.  tests/cli/config_docs.sh
 * reads it from this file: keep every row starting with a line
 * '    {.name = "Name",' and its default on a line '     .def = "value",'.
 */
#include "mtasts/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "mtasts/domain.h"

/* A snapshot and its reference count; callers see only cfg. */
struct config_box {
    atomic_uint refs;
    struct sts_config cfg;
};

#define BOX(c) ((struct config_box *)(void *)((char *)(c)-offsetof(struct config_box, cfg)))
#define OFF(field) offsetof(struct sts_config, field)
#define NKEYS (sizeof(keys) / sizeof(keys[0]))
/* Room for a value once normalised (an IDN name grows into its A-label). */
#define VALUE_MAX (STS_CONFIG_LINE_MAX + 256)

/* Enum keys are stored through an int: the enums must be int-sized. */
_Static_assert(sizeof(enum sts_milter_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum sts_action) == sizeof(int), "enum size");

static sts_config_check_fn check_socket, check_store, check_resolver, check_path, check_log_file,
    check_helo, check_header, check_user, check_relay;

static const char *const mode_words[] = {"enforce", "audit", NULL};
static const char *const action_words[] = {"accept", "tempfail", NULL};
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
static const struct sts_config_key keys[] = {
    /* the milter */
    {.name = "Socket", .type = STS_CONFIG_STRING, .def = "unix:/run/mtasts-milter/milter.sock",
     .check_ = check_socket, .offset_ = OFF(socket),
     .desc = "where the MTA connects: unix:PATH, inet:PORT[@HOST] or inet6:PORT[@HOST]"},
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
    {.name = "Store", .type = STS_CONFIG_STRING, .def = "sqlite:/var/lib/mtasts-milter/cache.db",
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

/* --- small helpers */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive: the first len bytes of a against all of b. */
static bool word_eq(const char *a, size_t len, const char *b)
{
    for (size_t i = 0; i < len; i++)
        if (b[i] == '\0' || ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return b[len] == '\0';
}

static enum sts_status copy_out(const char *v, char *out, size_t outlen, char *err, size_t errlen)
{
    size_t len = strlen(v);
    if (len >= outlen)
        return sts_status_set(STS_ETOOBIG, err, errlen, "value too long");
    memcpy(out, v, len + 1);
    return STS_OK;
}

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

static enum sts_status check_inet_host(int af, const char *h, char *err, size_t errlen)
{
    size_t len = strlen(h);
    if (len >= 2 && h[0] == '[' && h[len - 1] == ']') {
        h++;
        len -= 2;
    }
    if (is_addr(af, h, len))
        return STS_OK;
    if (sts_domain_check_ldh(h, len, NULL, 0) == STS_OK)
        return STS_OK;
    return sts_status_set(STS_EINVAL, err, errlen, "bad host (want %s address or host name)",
                          af == AF_INET ? "an IPv4" : "an IPv6");
}

static enum sts_status check_socket(const char *v, char *out, size_t outlen, char *err,
                                    size_t errlen)
{
    static const char want[] = "want unix:PATH, inet:PORT[@HOST] or inet6:PORT[@HOST]";
    const char *colon = strchr(v, ':');
    if (colon == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "no socket type (%s)", want);
    size_t tlen = (size_t)(colon - v);
    const char *rest = colon + 1;
    if (word_eq(v, tlen, "unix") || word_eq(v, tlen, "local")) {
        if (rest[0] != '/')
            return sts_status_set(STS_EINVAL, err, errlen, "socket path must be absolute");
        if (strlen(rest) > 107) /* sizeof(sun_path) on Linux, less the NUL */
            return sts_status_set(STS_EINVAL, err, errlen, "socket path over 107 bytes");
    } else if (word_eq(v, tlen, "inet") || word_eq(v, tlen, "inet6")) {
        int af = tlen == 4 ? AF_INET : AF_INET6;
        const char *at = strchr(rest, '@');
        unsigned port;
        if (!parse_port(rest, at != NULL ? (size_t)(at - rest) : strlen(rest), &port))
            return sts_status_set(STS_EINVAL, err, errlen, "bad port (want 1..65535)");
        if (at != NULL && check_inet_host(af, at + 1, err, errlen) != STS_OK)
            return STS_EINVAL;
    } else {
        return sts_status_set(STS_EINVAL, err, errlen, "unknown socket type (%s)", want);
    }
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
    char name[VALUE_MAX], norm[STS_DOMAIN_MAX + 1];
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

/* --- typed values */

static const struct {
    const char *unit;
    unsigned long ms;
} units[] = {{"d", 86400000UL}, {"h", 3600000UL}, {"m", 60000UL}, {"s", 1000UL}, {"ms", 1UL}};

/* A duration in the key's unit, as written back: the largest exact unit. */
static int format_duration(const struct sts_config_key *k, unsigned long v, char *buf, size_t len)
{
    unsigned long long ms = (unsigned long long)v * (k->millis ? 1 : 1000);
    if (ms == 0)
        return snprintf(buf, len, "0s");
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (ms % units[i].ms == 0)
            return snprintf(buf, len, "%llu%s", ms / units[i].ms, units[i].unit);
    return snprintf(buf, len, "%llums", ms); /* not reached */
}

static enum sts_status out_of_range(const struct sts_config_key *k, char *err, size_t errlen)
{
    char lo[32], hi[32];
    if (k->type == STS_CONFIG_DURATION) {
        format_duration(k, k->min, lo, sizeof(lo));
        format_duration(k, k->max, hi, sizeof(hi));
    } else {
        snprintf(lo, sizeof(lo), "%lu", k->min);
        snprintf(hi, sizeof(hi), "%lu", k->max);
    }
    return sts_status_set(STS_EINVAL, err, errlen, "out of range (%s..%s)", lo, hi);
}

/* Digits, at most 19, as an integer. */
static bool parse_digits(const char *s, size_t len, unsigned long long *v)
{
    *v = 0;
    if (len == 0 || len > 19)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return false;
        *v = *v * 10 + (unsigned long long)(s[i] - '0');
    }
    return true;
}

static enum sts_status parse_number(const struct sts_config_key *k, const char *v, unsigned *out,
                                    char *err, size_t errlen)
{
    unsigned long long n, mult = 1;
    size_t dlen = 0;
    while (is_digit(v[dlen]))
        dlen++;
    if (k->type == STS_CONFIG_DURATION) {
        mult = 1000; /* bare digits are seconds */
        if (v[dlen] != '\0') {
            mult = 0;
            for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
                if (word_eq(v + dlen, strlen(v + dlen), units[i].unit))
                    mult = units[i].ms;
        }
        if (mult == 0 || !parse_digits(v, dlen, &n))
            return sts_status_set(STS_EINVAL, err, errlen,
                                  "not a duration (want digits and ms, s, m, h or d)");
        if (n > UINT64_MAX / 100000000ULL) /* keeps n * mult in range */
            return out_of_range(k, err, errlen);
        n *= mult;
        if (!k->millis) {
            if (n % 1000 != 0)
                return sts_status_set(STS_EINVAL, err, errlen, "not a whole number of seconds");
            n /= 1000;
        }
    } else if (v[dlen] != '\0' || !parse_digits(v, dlen, &n)) {
        return sts_status_set(STS_EINVAL, err, errlen, "not a number (want decimal digits)");
    }
    if (n < k->min || n > k->max)
        return out_of_range(k, err, errlen);
    *out = (unsigned)n;
    return STS_OK;
}

static enum sts_status parse_bool(const char *v, bool *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < 4; i++) {
        if (word_eq(v, strlen(v), yes[i])) {
            *out = true;
            return STS_OK;
        }
        if (word_eq(v, strlen(v), no[i])) {
            *out = false;
            return STS_OK;
        }
    }
    return sts_status_set(STS_EINVAL, err, errlen, "not a boolean (want yes or no)");
}

static enum sts_status parse_enum(const struct sts_config_key *k, const char *v, int *out,
                                  char *err, size_t errlen)
{
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; k->choices[i] != NULL; i++) {
        if (word_eq(v, strlen(v), k->choices[i])) {
            *out = k->values != NULL ? k->values[i] : i;
            return STS_OK;
        }
        int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", k->choices[i]);
        if (n > 0 && (size_t)n < sizeof(list) - used)
            used += (size_t)n;
    }
    return sts_status_set(STS_EINVAL, err, errlen, "want one of %s", list);
}

static void list_clear(struct sts_config_list *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

static enum sts_status parse_list(const struct sts_config_key *k, const char *v,
                                  struct sts_config_list *out, char *err, size_t errlen)
{
    struct sts_config_list l = {0, NULL};
    char item[VALUE_MAX], norm[VALUE_MAX];
    enum sts_status st = STS_OK;

    while (*v != '\0' && st == STS_OK) {
        while (is_blank(*v) || *v == ',')
            v++;
        size_t len = strcspn(v, " \t,");
        if (len == 0)
            break;
        memcpy(item, v, len);
        item[len] = '\0';
        v += len;
        if (l.count == STS_CONFIG_LIST_MAX) {
            st = sts_status_set(STS_EINVAL, err, errlen, "more than %d items", STS_CONFIG_LIST_MAX);
            break;
        }
        char why[256];
        if (k->check_ != NULL && k->check_(item, norm, sizeof(norm), why, sizeof(why)) != STS_OK) {
            char q[128];
            sts_status_quote(item, len, q, sizeof(q));
            st = sts_status_set(STS_EINVAL, err, errlen, "item \"%s\": %s", q, why);
            break;
        }
        char **items = realloc(l.items, (l.count + 1) * sizeof(*items));
        if (items == NULL) {
            st = sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
            break;
        }
        l.items = items;
        l.items[l.count] = strdup(k->check_ != NULL ? norm : item);
        if (l.items[l.count] == NULL) {
            st = sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
            break;
        }
        l.count++;
    }
    if (st != STS_OK) {
        list_clear(&l);
        return st;
    }
    list_clear(out);
    *out = l;
    return STS_OK;
}

/* Set one key from its written value; the reason (without "FILE:LINE:") in err. */
static enum sts_status set_value(struct sts_config *cfg, const struct sts_config_key *k,
                                 const char *v, char *err, size_t errlen)
{
    void *field = (char *)cfg + k->offset_;

    if (v[0] == '\0') {
        if (!k->empty_ok)
            return sts_status_set(STS_EINVAL, err, errlen, "a value is required");
        if (k->type == STS_CONFIG_LIST) {
            list_clear(field);
        } else {
            free(*(char **)field);
            *(char **)field = NULL;
        }
        return STS_OK;
    }
    switch (k->type) {
    case STS_CONFIG_STRING: {
        char buf[VALUE_MAX];
        enum sts_status st = k->check_ != NULL ? k->check_(v, buf, sizeof(buf), err, errlen)
                                               : copy_out(v, buf, sizeof(buf), err, errlen);
        if (st != STS_OK)
            return st;
        char *copy = strdup(buf);
        if (copy == NULL)
            return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
        free(*(char **)field);
        *(char **)field = copy;
        return STS_OK;
    }
    case STS_CONFIG_BOOL:
        return parse_bool(v, field, err, errlen);
    case STS_CONFIG_UINT:
    case STS_CONFIG_DURATION:
        return parse_number(k, v, field, err, errlen);
    case STS_CONFIG_ENUM:
        return parse_enum(k, v, field, err, errlen);
    case STS_CONFIG_LIST:
        return parse_list(k, v, field, err, errlen);
    }
    return sts_status_set(STS_EINVAL, err, errlen, "unknown key type");
}

/* --- formatting, snprintf-like: returns the length needed */

static size_t format_value(const struct sts_config *cfg, const struct sts_config_key *k, char *buf,
                           size_t len)
{
    const void *field = (const char *)cfg + k->offset_;
    int n = 0;
    if (len > 0)
        buf[0] = '\0';
    switch (k->type) {
    case STS_CONFIG_STRING: {
        const char *s = *(char *const *)field;
        n = snprintf(buf, len, "%s", s != NULL ? s : "");
        break;
    }
    case STS_CONFIG_BOOL:
        n = snprintf(buf, len, "%s", *(const bool *)field ? "yes" : "no");
        break;
    case STS_CONFIG_UINT:
        n = snprintf(buf, len, "%u", *(const unsigned *)field);
        break;
    case STS_CONFIG_DURATION:
        n = format_duration(k, *(const unsigned *)field, buf, len);
        break;
    case STS_CONFIG_ENUM: {
        int v = *(const int *)field;
        for (int i = 0; k->choices[i] != NULL; i++)
            if ((k->values != NULL ? k->values[i] : i) == v)
                n = snprintf(buf, len, "%s", k->choices[i]);
        break;
    }
    case STS_CONFIG_LIST: {
        const struct sts_config_list *l = field;
        size_t used = 0;
        for (size_t i = 0; i < l->count; i++) {
            size_t room = used < len ? len - used : 0;
            int m = snprintf(room ? buf + used : NULL, room, "%s%s", i ? " " : "", l->items[i]);
            used += m > 0 ? (size_t)m : 0;
        }
        return used;
    }
    }
    return n > 0 ? (size_t)n : 0;
}

/* --- the parser */

struct parse {
    const char *file;
    unsigned seen[sizeof(keys) / sizeof(keys[0])]; /* line that set each key */
    char *err;
    size_t errlen;
};

static enum sts_status line_error(struct parse *ps, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum sts_status line_error(struct parse *ps, unsigned line, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return sts_status_set(STS_EINVAL, ps->err, ps->errlen, "%s:%u: %s", ps->file, line, msg);
}

static enum sts_status parse_line(struct parse *ps, struct sts_config *cfg, char *s, unsigned line)
{
    char q[128], why[384];
    while (is_blank(*s))
        s++;
    if (*s == '\0' || *s == '#')
        return STS_OK;
    char *name = s;
    while (*s != '\0' && !is_blank(*s))
        s++;
    size_t nlen = (size_t)(s - name);
    while (is_blank(*s))
        s++;
    char *value = s;
    for (char *c = value; *c != '\0'; c++)
        if (*c == '#' && (c == value || is_blank(c[-1]))) {
            *c = '\0';
            break;
        }
    size_t vlen = strlen(value);
    while (vlen > 0 && is_blank(value[vlen - 1]))
        value[--vlen] = '\0';

    size_t i;
    for (i = 0; i < NKEYS; i++)
        if (word_eq(name, nlen, keys[i].name))
            break;
    if (i == NKEYS)
        return line_error(ps, line, "unknown key \"%s\"",
                          sts_status_quote(name, nlen, q, sizeof(q)));
    if (ps->seen[i] != 0)
        return line_error(ps, line, "%s given twice (first on line %u)", keys[i].name, ps->seen[i]);
    ps->seen[i] = line;
    enum sts_status st = set_value(cfg, &keys[i], value, why, sizeof(why));
    if (st == STS_EINVAL && vlen == 0)
        return line_error(ps, line, "%s: %s", keys[i].name, why);
    if (st == STS_EINVAL)
        return line_error(ps, line, "%s: \"%s\": %s", keys[i].name,
                          sts_status_quote(value, vlen, q, sizeof(q)), why);
    if (st != STS_OK)
        return sts_status_set(st, ps->err, ps->errlen, "%s:%u: %s", ps->file, line, why);
    return STS_OK;
}

/* Rules between keys, after the whole file. */
static enum sts_status check_cross(struct parse *ps, const struct sts_config *cfg)
{
    if (cfg->fetch_connect_timeout_ms > cfg->fetch_timeout_ms) {
        const struct sts_config_key *c = sts_config_key_find("FetchConnectTimeout");
        const struct sts_config_key *t = sts_config_key_find("FetchTimeout");
        unsigned lc = ps->seen[c - keys], lt = ps->seen[t - keys];
        char a[32], b[32];
        format_duration(c, cfg->fetch_connect_timeout_ms, a, sizeof(a));
        format_duration(t, cfg->fetch_timeout_ms, b, sizeof(b));
        return sts_status_set(STS_EINVAL, ps->err, ps->errlen,
                              "%s:%u: FetchConnectTimeout (%s) is longer than FetchTimeout (%s)",
                              ps->file, lc > lt ? lc : lt, a, b);
    }
    return STS_OK;
}

static void config_destroy(struct sts_config *cfg)
{
    for (size_t i = 0; i < NKEYS; i++) {
        void *field = (char *)cfg + keys[i].offset_;
        if (keys[i].type == STS_CONFIG_STRING)
            free(*(char **)field);
        else if (keys[i].type == STS_CONFIG_LIST)
            list_clear(field);
    }
    free(cfg->file);
    free(BOX(cfg));
}

enum sts_status sts_config_parse(const char *text, size_t len, const char *name,
                                 struct sts_config **out, char *err, size_t errlen)
{
    struct parse ps = {.file = name != NULL ? name : "(config)", .err = err, .errlen = errlen};
    struct config_box *box = calloc(1, sizeof(*box));
    enum sts_status st = STS_OK;
    char line[STS_CONFIG_LINE_MAX + 1];
    unsigned lineno = 0;

    if (box == NULL || (box->cfg.file = strdup(ps.file)) == NULL) {
        free(box);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    }
    atomic_init(&box->refs, 1);
    struct sts_config *cfg = &box->cfg;
    for (size_t i = 0; i < NKEYS && st == STS_OK; i++) {
        char why[384];
        st = set_value(cfg, &keys[i], keys[i].def, why, sizeof(why));
        if (st != STS_OK)
            sts_status_set(st, err, errlen, "internal: default of %s: %s", keys[i].name, why);
    }
    for (size_t pos = 0; pos < len && st == STS_OK;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t ll = (nl != NULL ? (size_t)(nl - text) : len) - pos;
        const char *p = text + pos;
        pos += ll + 1;
        lineno++;
        if (ll > 0 && p[ll - 1] == '\r')
            ll--;
        if (ll > STS_CONFIG_LINE_MAX) {
            st = line_error(&ps, lineno, "line longer than %d bytes", STS_CONFIG_LINE_MAX);
            break;
        }
        for (size_t i = 0; i < ll && st == STS_OK; i++)
            if (((unsigned char)p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f)
                st = line_error(&ps, lineno, "control character 0x%02x",
                                (unsigned)(unsigned char)p[i]);
        if (st != STS_OK)
            break;
        memcpy(line, p, ll);
        line[ll] = '\0';
        st = parse_line(&ps, cfg, line, lineno);
    }
    if (st == STS_OK)
        st = check_cross(&ps, cfg);
    if (st != STS_OK) {
        config_destroy(cfg);
        return st;
    }
    *out = cfg;
    return STS_OK;
}

enum sts_status sts_config_load(const char *path, struct sts_config **out, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return sts_status_set(STS_EIO, err, errlen, "%s: %s", path, strerror(errno));
    char *buf = malloc(STS_CONFIG_FILE_MAX + 1);
    if (buf == NULL) {
        fclose(fp);
        return sts_status_set(STS_ENOMEM, err, errlen, "out of memory");
    }
    size_t n = fread(buf, 1, STS_CONFIG_FILE_MAX + 1, fp);
    enum sts_status st = STS_OK;
    if (ferror(fp))
        st = sts_status_set(STS_EIO, err, errlen, "%s: read error", path);
    else if (n > STS_CONFIG_FILE_MAX)
        st = sts_status_set(STS_ETOOBIG, err, errlen, "%s: larger than %d bytes", path,
                            STS_CONFIG_FILE_MAX);
    fclose(fp);
    if (st == STS_OK)
        st = sts_config_parse(buf, n, path, out, err, errlen);
    free(buf);
    return st;
}

const struct sts_config *sts_config_ref(const struct sts_config *cfg)
{
    if (cfg != NULL)
        atomic_fetch_add_explicit(&BOX(cfg)->refs, 1, memory_order_relaxed);
    return cfg;
}

void sts_config_unref(const struct sts_config *cfg)
{
    if (cfg == NULL)
        return;
    struct config_box *box = BOX(cfg);
    if (atomic_fetch_sub_explicit(&box->refs, 1, memory_order_acq_rel) == 1)
        config_destroy(&box->cfg);
}

void sts_config_free(struct sts_config *cfg)
{
    sts_config_unref(cfg);
}

void sts_config_dump(const struct sts_config *cfg, FILE *fp)
{
    for (size_t i = 0; i < NKEYS; i++) {
        size_t need = format_value(cfg, &keys[i], NULL, 0);
        char *buf = malloc(need + 1);
        if (buf == NULL) {
            fprintf(fp, "# %s: out of memory\n", keys[i].name);
            continue;
        }
        format_value(cfg, &keys[i], buf, need + 1);
        fprintf(fp, "%s%s%s\n", keys[i].name, need ? " " : "", buf);
        free(buf);
    }
}

enum sts_status sts_config_format(const struct sts_config *cfg, const char *name, char *buf,
                                  size_t buflen)
{
    const struct sts_config_key *k = sts_config_key_find(name);
    if (k == NULL)
        return sts_status_set(STS_ENOTFOUND, buf, buflen, "%s", "");
    return format_value(cfg, k, buf, buflen) < buflen ? STS_OK : STS_ETOOBIG;
}

size_t sts_config_restart_keys(const struct sts_config *oldcfg, const struct sts_config *newcfg,
                               char *out, size_t outlen)
{
    size_t count = 0, used = 0;
    if (out == NULL)
        outlen = 0;
    if (outlen > 0)
        out[0] = '\0';
    for (size_t i = 0; i < NKEYS; i++) {
        if (keys[i].reloadable)
            continue;
        size_t la = format_value(oldcfg, &keys[i], NULL, 0);
        size_t lb = format_value(newcfg, &keys[i], NULL, 0);
        char *a = malloc(la + 1), *b = malloc(lb + 1);
        bool differ = true; /* out of memory: say so rather than hide a change */
        if (a != NULL && b != NULL) {
            format_value(oldcfg, &keys[i], a, la + 1);
            format_value(newcfg, &keys[i], b, lb + 1);
            differ = strcmp(a, b) != 0;
        }
        free(a);
        free(b);
        if (!differ)
            continue;
        if (used < outlen) { /* whole names only */
            int n = snprintf(out + used, outlen - used, "%s%s", count ? ", " : "", keys[i].name);
            if (n > 0 && used + (size_t)n < outlen) {
                used += (size_t)n;
            } else {
                out[used] = '\0';
                used = outlen;
            }
        }
        count++;
    }
    return count;
}

size_t sts_config_key_count(void)
{
    return NKEYS;
}

const struct sts_config_key *sts_config_key_at(size_t i)
{
    return i < NKEYS ? &keys[i] : NULL;
}

const struct sts_config_key *sts_config_key_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < NKEYS; i++)
        if (word_eq(name, strlen(name), keys[i].name))
            return &keys[i];
    return NULL;
}

void sts_config_dump_keys(FILE *fp)
{
    static const char *const type_words[] = {
        [STS_CONFIG_STRING] = "string",     [STS_CONFIG_BOOL] = "bool", [STS_CONFIG_UINT] = "uint",
        [STS_CONFIG_DURATION] = "duration", [STS_CONFIG_ENUM] = "enum", [STS_CONFIG_LIST] = "list",
    };
    for (size_t i = 0; i < NKEYS; i++)
        fprintf(fp, "%s\t%s\t%s\t%s\n", keys[i].name, type_words[keys[i].type],
                keys[i].reloadable ? "reload" : "restart", keys[i].def);
}
