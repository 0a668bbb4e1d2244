/*
 * test_config.c - unit tests of the configuration module (config.h).
 *
 * Guards the configuration contract: one key table with defaults, types
 * and bounds (RFC 8461 §3.3 "five minutes or longer" for FetchBackoff, the
 * RCPT-time LookupDeadline of 0.1s..9s), the "Name value" file format with
 * "FILE:LINE: reason" errors (unknown key, bad value, out of bounds, key
 * given twice, control characters), the dump that reads back to the same
 * snapshot, and the atomic reference count of a snapshot.
 *
 * Table-driven: each row is one TAP test point; a failure reads
 * "case NAME: got X, want Y".
 */
#include <check.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "mtasts/config.h"
#include "mtasts/status.h"
#include "unit_main.h"

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define LONG64 "0123456789012345678901234567890123456789012345678901234567890123"
#define LONGPATH "/" LONG64 LONG64 ".sock" /* 134 bytes: over sun_path */

struct value_case {
    const char *name;
    const char *text;
    enum sts_status want_st;
    const char *key;  /* STS_OK: the key to format */
    const char *want; /* STS_OK: its formatted value; else a substring of err */
};

static const struct value_case value_cases[] = {
    /* bool */
    {"bool_yes", "AllowPrivateTargets yes", STS_OK, "AllowPrivateTargets", "yes"},
    {"bool_true_upper", "AllowPrivateTargets TRUE", STS_OK, "AllowPrivateTargets", "yes"},
    {"bool_on", "AllowPrivateTargets on", STS_OK, "AllowPrivateTargets", "yes"},
    {"bool_1", "AllowPrivateTargets 1", STS_OK, "AllowPrivateTargets", "yes"},
    {"bool_no", "HeaderInEnforce no", STS_OK, "HeaderInEnforce", "no"},
    {"bool_false", "HeaderInEnforce false", STS_OK, "HeaderInEnforce", "no"},
    {"bool_0", "Syslog 0", STS_OK, "Syslog", "no"},
    {"bool_bad", "Syslog maybe", STS_EINVAL, NULL, "t.conf:1: Syslog: \"maybe\": not a boolean"},
    {"bool_empty", "Syslog", STS_EINVAL, NULL, "t.conf:1: Syslog: a value is required"},

    /* uint */
    {"uint_min", "MaxConcurrentFetches 1", STS_OK, "MaxConcurrentFetches", "1"},
    {"uint_max", "MaxConcurrentFetches 1024", STS_OK, "MaxConcurrentFetches", "1024"},
    {"uint_below", "MaxConcurrentFetches 0", STS_EINVAL, NULL, "out of range (1..1024)"},
    {"uint_above", "MaxConcurrentFetches 1025", STS_EINVAL, NULL, "out of range (1..1024)"},
    {"uint_suffix", "MaxConcurrentFetches 16x", STS_EINVAL, NULL, "not a number"},
    {"uint_negative", "MaxConcurrentFetches -1", STS_EINVAL, NULL, "not a number"},
    {"uint_plus", "MaxConcurrentFetches +1", STS_EINVAL, NULL, "not a number"},
    {"uint_huge", "PolicyPort 99999999999999999999", STS_EINVAL, NULL, "not a number"},
    {"uint_port", "PolicyPort 8443", STS_OK, "PolicyPort", "8443"},
    {"uint_port_65536", "PolicyPort 65536", STS_EINVAL, NULL, "out of range (1..65535)"},

    /* durations */
    {"dur_ms", "LookupDeadline 250ms", STS_OK, "LookupDeadline", "250ms"},
    {"dur_bare_seconds", "LookupDeadline 2", STS_OK, "LookupDeadline", "2s"},
    {"dur_min", "LookupDeadline 100ms", STS_OK, "LookupDeadline", "100ms"},
    {"dur_below_min", "LookupDeadline 99ms", STS_EINVAL, NULL,
     "t.conf:1: LookupDeadline: \"99ms\": out of range (100ms..9s)"},
    {"dur_max", "LookupDeadline 9s", STS_OK, "LookupDeadline", "9s"},
    {"dur_ms_canonical", "LookupDeadline 3000ms", STS_OK, "LookupDeadline", "3s"},
    {"dur_above_max", "LookupDeadline 9001ms", STS_EINVAL, NULL, "out of range (100ms..9s)"},
    {"dur_minute_too_long", "LookupDeadline 1m", STS_EINVAL, NULL, "out of range"},
    {"dur_upper_unit", "DNSTimeout 1500MS", STS_OK, "DNSTimeout", "1500ms"},
    {"dur_hours", "NegativeCacheTTL 2h", STS_OK, "NegativeCacheTTL", "2h"},
    {"dur_minutes", "NegativeCacheTTL 90m", STS_OK, "NegativeCacheTTL", "90m"},
    {"dur_seconds_canonical", "NegativeCacheTTL 7200s", STS_OK, "NegativeCacheTTL", "2h"},
    {"dur_ms_on_seconds_key", "NegativeCacheTTL 90500ms", STS_EINVAL, NULL,
     "not a whole number of seconds"},
    {"dur_whole_ms_on_seconds_key", "NegativeCacheTTL 120000ms", STS_OK, "NegativeCacheTTL", "2m"},
    {"dur_bad_unit", "NegativeCacheTTL 1w", STS_EINVAL, NULL, "not a duration"},
    {"dur_no_digits", "NegativeCacheTTL h", STS_EINVAL, NULL, "not a duration"},
    {"dur_fraction", "LookupDeadline 1.5s", STS_EINVAL, NULL, "not a duration"},
    {"dur_space_before_unit", "LookupDeadline 3 s", STS_EINVAL, NULL, "not a duration"},
    {"dur_overflow", "RecentUse 99999999999999999d", STS_EINVAL, NULL, "out of range"},
    {"dur_backoff_rfc_min", "FetchBackoff 5m", STS_OK, "FetchBackoff", "5m"},
    {"dur_backoff_below_rfc", "FetchBackoff 299", STS_EINVAL, NULL, "out of range (5m..1d)"},
    {"dur_refresh_off", "RefreshInterval 0", STS_OK, "RefreshInterval", "0s"},
    {"dur_recent_max", "RecentUse 365d", STS_OK, "RecentUse", "365d"},
    {"dur_recent_above", "RecentUse 366d", STS_EINVAL, NULL, "out of range (1h..365d)"},
    {"dur_connect_equal_total", "FetchTimeout 20s\nFetchConnectTimeout 20s", STS_OK,
     "FetchConnectTimeout", "20s"},
    {"dur_connect_over_total", "FetchConnectTimeout 40s", STS_EINVAL, NULL,
     "t.conf:1: FetchConnectTimeout (40s) is longer than FetchTimeout (30s)"},
    {"dur_connect_over_total_line", "FetchConnectTimeout 20s\n\nFetchTimeout 10s", STS_EINVAL, NULL,
     "t.conf:3: FetchConnectTimeout (20s) is longer"},

    /* enums */
    {"enum_enforce", "Mode enforce", STS_OK, "Mode", "enforce"},
    {"enum_case", "Mode ENFORCE", STS_OK, "Mode", "enforce"},
    {"enum_bad", "Mode testing", STS_EINVAL, NULL,
     "t.conf:1: Mode: \"testing\": want one of enforce, audit"},
    {"enum_action", "OnDNSError tempfail", STS_OK, "OnDNSError", "tempfail"},
    {"enum_action_bad", "OnStoreError reject", STS_EINVAL, NULL, "want one of accept, tempfail"},
    {"enum_level", "LogLevel debug", STS_OK, "LogLevel", "debug"},
    {"enum_facility", "SyslogFacility local3", STS_OK, "SyslogFacility", "local3"},
    {"enum_facility_kern", "SyslogFacility kern", STS_EINVAL, NULL, "want one of auth,"},

    /* Socket */
    {"socket_unix", "Socket unix:/var/spool/postfix/mtasts/m.sock", STS_OK, "Socket",
     "unix:/var/spool/postfix/mtasts/m.sock"},
    {"socket_local", "Socket local:/run/m.sock", STS_OK, "Socket", "local:/run/m.sock"},
    {"socket_unix_relative", "Socket unix:m.sock", STS_EINVAL, NULL, "must be absolute"},
    {"socket_unix_too_long", "Socket unix:" LONGPATH, STS_EINVAL, NULL, "over 106 bytes"},
    {"socket_inet", "Socket inet:8891@127.0.0.1", STS_OK, "Socket", "inet:8891@127.0.0.1"},
    {"socket_inet_any", "Socket inet:8891", STS_OK, "Socket", "inet:8891"},
    {"socket_inet_name", "Socket inet:8891@localhost", STS_OK, "Socket", "inet:8891@localhost"},
    {"socket_inet_port_0", "Socket inet:0@localhost", STS_EINVAL, NULL, "bad port"},
    {"socket_inet_port_big", "Socket inet:70000", STS_EINVAL, NULL, "bad port"},
    {"socket_inet_v6_host", "Socket inet:8891@::1", STS_EINVAL, NULL, "bad host"},
    {"socket_inet6", "Socket inet6:8891@::1", STS_OK, "Socket", "inet6:8891@::1"},
    {"socket_inet6_brackets", "Socket inet6:8891@[::1]", STS_OK, "Socket", "inet6:8891@[::1]"},
    {"socket_unknown_type", "Socket tcp:8891", STS_EINVAL, NULL, "unknown socket type"},
    {"socket_no_type", "Socket /run/m.sock", STS_EINVAL, NULL, "no socket type"},

    /* Store, Resolver */
    {"store_sqlite", "Store sqlite:/srv/c.db", STS_OK, "Store", "sqlite:/srv/c.db"},
    {"store_bare_path", "Store /srv/c.db", STS_OK, "Store", "/srv/c.db"},
    {"store_unknown", "Store redis://localhost", STS_EINVAL, NULL, "unknown store backend"},
    {"store_sqlite_empty", "Store sqlite:", STS_EINVAL, NULL, "no database path"},
    {"resolver_v4", "Resolver 127.0.0.1", STS_OK, "Resolver", "127.0.0.1"},
    {"resolver_ports", "Resolver 127.0.0.1@5353 ::1@53", STS_OK, "Resolver",
     "127.0.0.1@5353 ::1@53"},
    {"resolver_commas", "Resolver 192.0.2.1, 2001:db8::1", STS_OK, "Resolver",
     "192.0.2.1, 2001:db8::1"},
    {"resolver_name", "Resolver dns.example", STS_EINVAL, NULL, "not an IPv4 or IPv6 address"},
    {"resolver_port_0", "Resolver 127.0.0.1@0", STS_EINVAL, NULL, "bad port"},
    {"resolver_empty", "Resolver", STS_OK, "Resolver", ""},

    /* AuditHeader, UserID, paths */
    {"header_ok", "AuditHeader X-MTA-STS", STS_OK, "AuditHeader", "X-MTA-STS"},
    {"header_space", "AuditHeader X MTA", STS_EINVAL, NULL, "not a header field name"},
    {"header_colon", "AuditHeader X:Y", STS_EINVAL, NULL, "not a header field name"},
    {"header_non_ascii", "AuditHeader X-\xc3\xa9", STS_EINVAL, NULL, "\"X-\\xc3\\xa9\""},
    {"header_too_long", "AuditHeader X" LONG64, STS_EINVAL, NULL, "over 64 characters"},
    {"header_hash_inside", "AuditHeader X-#1", STS_OK, "AuditHeader", "X-#1"},
    {"header_empty", "AuditHeader", STS_EINVAL, NULL, "a value is required"},
    {"user", "UserID mtasts", STS_OK, "UserID", "mtasts"},
    {"user_group", "UserID mtasts:mail", STS_OK, "UserID", "mtasts:mail"},
    {"user_dash", "UserID -x", STS_EINVAL, NULL, "want user or user:group"},
    {"user_two_colons", "UserID a:b:c", STS_EINVAL, NULL, "want user or user:group"},
    {"user_semicolon", "UserID root;id", STS_EINVAL, NULL, "want user or user:group"},
    {"pidfile_ok", "PidFile /run/mtasts-milter.pid", STS_OK, "PidFile", "/run/mtasts-milter.pid"},
    {"pidfile_relative", "PidFile m.pid", STS_EINVAL, NULL, "must be an absolute path"},
    {"logfile_stderr", "LogFile -", STS_OK, "LogFile", "-"},
    {"logfile_relative", "LogFile m.log", STS_EINVAL, NULL, "absolute path or -"},
    {"overrides_ok", "OverridesFile /etc/mtasts/ov", STS_OK, "OverridesFile", "/etc/mtasts/ov"},

    /* TrustedRelays */
    {"relay_bracket", "TrustedRelays [smtp.example.net]", STS_OK, "TrustedRelays",
     "[smtp.example.net]"},
    {"relay_list", "TrustedRelays Relay.Example.COM:587, [192.0.2.1]  [mx.example.]:25", STS_OK,
     "TrustedRelays", "relay.example.com:587 [192.0.2.1] [mx.example]:25"},
    {"relay_ipv6", "TrustedRelays [2001:DB8::1] [IPv6:::1]:25", STS_OK, "TrustedRelays",
     "[2001:db8::1] [ipv6:::1]:25"},
    {"relay_idn",
     "TrustedRelays b\xc3\xbc"
     "cher.example",
     STS_OK, "TrustedRelays", "xn--bcher-kva.example"},
    {"relay_unclosed", "TrustedRelays [smtp.example.net", STS_EINVAL, NULL, "no closing ]"},
    {"relay_bad_name", "TrustedRelays relay..example", STS_EINVAL, NULL,
     "item \"relay..example\": bad host name"},
    {"relay_bad_port", "TrustedRelays relay.example:0", STS_EINVAL, NULL, "bad port"},
    {"relay_junk", "TrustedRelays [relay.example]x", STS_EINVAL, NULL, "junk after ]"},
    {"relay_empty", "TrustedRelays", STS_OK, "TrustedRelays", ""},

    /* the file format */
    {"comment_after_value", "Mode enforce # yes, really", STS_OK, "Mode", "enforce"},
    {"comment_tab_before", "Mode enforce\t#x", STS_OK, "Mode", "enforce"},
    {"comment_lines", "# a comment\n\n   # indented\nMode enforce\n", STS_OK, "Mode", "enforce"},
    {"leading_blanks", "  \tMode enforce", STS_OK, "Mode", "enforce"},
    {"tab_separator", "Mode\tenforce", STS_OK, "Mode", "enforce"},
    {"trailing_blanks", "Mode enforce \t ", STS_OK, "Mode", "enforce"},
    {"crlf", "Syslog no\r\nMode enforce\r\n", STS_OK, "Mode", "enforce"},
    {"key_lower", "mode enforce", STS_OK, "Mode", "enforce"},
    {"key_upper", "LOOKUPDEADLINE 1s", STS_OK, "LookupDeadline", "1s"},
    {"no_final_newline", "Syslog no\nMode enforce", STS_OK, "Mode", "enforce"},
    {"unknown_key", "Syslog no\nFrobnicate yes", STS_EINVAL, NULL,
     "t.conf:2: unknown key \"Frobnicate\""},
    {"key_with_equals", "Mode=enforce", STS_EINVAL, NULL, "unknown key \"Mode=enforce\""},
    {"duplicate", "Mode enforce\n# x\nmode audit", STS_EINVAL, NULL,
     "t.conf:3: Mode given twice (first on line 1)"},
    {"duplicate_same_value", "Syslog no\nSyslog no", STS_EINVAL, NULL, "given twice"},
    {"control_char", "Mode enforce\nSyslog\x01 no", STS_EINVAL, NULL,
     "t.conf:2: control character 0x01"},
    {"bare_cr", "Mode\renforce", STS_EINVAL, NULL, "t.conf:1: control character 0x0d"},
    {"value_only_comment", "Mode # nothing", STS_EINVAL, NULL, "a value is required"},
};

static struct sts_config *parse_ok(const char *text, const char *what)
{
    struct sts_config *cfg = NULL;
    char err[512] = "";
    enum sts_status st = sts_config_parse(text, strlen(text), "t.conf", &cfg, err, sizeof(err));
    ck_assert_msg(st == STS_OK, "case %s: got %s (%s), want ok", what, sts_status_word(st), err);
    return cfg;
}

START_TEST(test_value)
{
    const struct value_case *c = &value_cases[_i];
    struct sts_config *cfg = NULL;
    char err[512] = "", got[1024] = "";
    enum sts_status st =
        sts_config_parse(c->text, strlen(c->text), "t.conf", &cfg, err, sizeof(err));

    ck_assert_msg(st == c->want_st, "case %s: got %s (err: %s), want %s", c->name,
                  sts_status_word(st), err, sts_status_word(c->want_st));
    if (st == STS_OK) {
        ck_assert_msg(sts_config_format(cfg, c->key, got, sizeof(got)) == STS_OK,
                      "case %s: cannot format %s", c->name, c->key);
        ck_assert_msg(strcmp(got, c->want) == 0, "case %s: got %s \"%s\", want \"%s\"", c->name,
                      c->key, got, c->want);
    } else {
        ck_assert_msg(cfg == NULL, "case %s: got an out pointer on failure", c->name);
        ck_assert_msg(strstr(err, c->want) != NULL, "case %s: got err \"%s\", want \"%s\" in it",
                      c->name, err, c->want);
    }
    sts_config_free(cfg);
}
END_TEST

/* Every default in the table parses, and writing it explicitly changes nothing. */
START_TEST(test_default_explicit)
{
    const struct sts_config_key *k = sts_config_key_at((size_t)_i);
    char text[512], a[1024], b[1024];
    struct sts_config *def = parse_ok("", "defaults");
    snprintf(text, sizeof(text), "%s %s\n", k->name, k->def);
    struct sts_config *cfg = parse_ok(text, k->name);

    ck_assert_int_eq(sts_config_format(def, k->name, a, sizeof(a)), STS_OK);
    ck_assert_int_eq(sts_config_format(cfg, k->name, b, sizeof(b)), STS_OK);
    ck_assert_msg(strcmp(a, b) == 0, "case %s: got \"%s\" written, want the default \"%s\"",
                  k->name, b, a);
    sts_config_free(def);
    sts_config_free(cfg);
}
END_TEST

/* The documented defaults, field by field. */
START_TEST(test_defaults_typed)
{
    struct sts_config *c = parse_ok("", "defaults");

    ck_assert_str_eq(c->socket, STS_CONFIG_DEFAULT_SOCKET); /* configure's runstatedir */
    ck_assert_int_eq(c->mode, STS_MILTER_AUDIT);
    ck_assert_str_eq(c->store, STS_CONFIG_DEFAULT_STORE); /* configure's localstatedir */
    ck_assert_ptr_null(c->resolver);
    ck_assert_ptr_null(c->trust_anchor_file);
    ck_assert_ptr_null(c->ca_file);
    ck_assert_ptr_null(c->user_id);
    ck_assert_ptr_null(c->pid_file);
    ck_assert_ptr_null(c->overrides_file);
    ck_assert_ptr_null(c->log_file);
    ck_assert_uint_eq(c->lookup_deadline_ms, 3000);
    ck_assert_uint_eq(c->dns_timeout_ms, 5000);
    ck_assert_uint_eq(c->fetch_connect_timeout_ms, 10000);
    ck_assert_uint_eq(c->fetch_timeout_ms, 30000);
    ck_assert_uint_eq(c->max_concurrent_fetches, 16);
    ck_assert_uint_eq(c->negative_cache_ttl_s, 3600);
    ck_assert_uint_eq(c->dns_failure_ttl_s, 60);
    ck_assert_uint_eq(c->recheck_interval_s, 3600);
    ck_assert_uint_eq(c->fetch_backoff_s, 300);
    ck_assert_uint_eq(c->refresh_interval_s, 60);
    ck_assert_uint_eq(c->refresh_window_s, 86400);
    ck_assert_uint_eq(c->recent_use_s, 7 * 86400);
    ck_assert(!c->allow_private_targets);
    ck_assert_uint_eq(c->policy_port, 443);
    ck_assert_uint_eq(c->trusted_relays.count, 0);
    ck_assert_int_eq(c->on_dns_error, STS_ACTION_PASS);
    ck_assert_int_eq(c->on_discovery_timeout, STS_ACTION_PASS);
    ck_assert_int_eq(c->on_store_error, STS_ACTION_PASS);
    ck_assert_int_eq(c->on_internal_error, STS_ACTION_PASS);
    ck_assert_str_eq(c->audit_header, "MTA-STS-Audit");
    ck_assert(c->header_in_enforce);
    ck_assert(c->syslog);
    ck_assert_int_eq(c->syslog_facility, LOG_MAIL);
    ck_assert_int_eq(c->log_level, LOG_INFO);
    ck_assert_str_eq(c->file, "t.conf");
    sts_config_free(c);
}
END_TEST

/* Typed fields carry the values the daemon passes on (LOG_*, enums, lists). */
START_TEST(test_typed_fields)
{
    struct sts_config *c = parse_ok("Mode enforce\nOnDNSError tempfail\nLogLevel debug\n"
                                    "SyslogFacility local3\nTrustedRelays a.example,[b.example]\n"
                                    "LookupDeadline 1500ms\nRecentUse 2d\n",
                                    "typed");
    ck_assert_int_eq(c->mode, STS_MILTER_ENFORCE);
    ck_assert_int_eq(c->on_dns_error, STS_ACTION_TEMPFAIL);
    ck_assert_int_eq(c->log_level, LOG_DEBUG);
    ck_assert_int_eq(c->syslog_facility, LOG_LOCAL3);
    ck_assert_uint_eq(c->trusted_relays.count, 2);
    ck_assert_str_eq(c->trusted_relays.items[0], "a.example");
    ck_assert_str_eq(c->trusted_relays.items[1], "[b.example]");
    ck_assert_uint_eq(c->lookup_deadline_ms, 1500);
    ck_assert_uint_eq(c->recent_use_s, 2 * 86400);
    ck_assert_str_eq(sts_milter_mode_name(c->mode), "enforce");
    ck_assert_str_eq(sts_action_name(c->on_dns_error), "tempfail");
    sts_config_free(c);
}
END_TEST

static char *dump(const struct sts_config *cfg, size_t *len)
{
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);
    ck_assert_ptr_nonnull(fp);
    sts_config_dump(cfg, fp);
    fclose(fp);
    return buf;
}

/* -n -v output lists every key once, in table order, and reads back the same. */
START_TEST(test_dump_round_trip)
{
    struct sts_config *a = parse_ok("Mode enforce\nResolver 127.0.0.1@5353\nLookupDeadline 250ms\n"
                                    "TrustedRelays [x.example] y.example:2525\nSyslog no\n"
                                    "PidFile /run/p.pid\nRefreshInterval 0\n",
                                    "round-trip");
    size_t alen, blen;
    char *da = dump(a, &alen);
    struct sts_config *b = parse_ok(da, "dump");
    char *db = dump(b, &blen);

    ck_assert_msg(strcmp(da, db) == 0, "case round-trip: got\n%s\nwant\n%s", db, da);
    size_t lines = 0;
    for (const char *p = da; *p != '\0'; p++)
        lines += *p == '\n';
    ck_assert_uint_eq(lines, sts_config_key_count());
    ck_assert_msg(strstr(da, "\nResolver 127.0.0.1@5353\n") != NULL, "got dump\n%s", da);
    ck_assert_msg(strstr(da, "\nUserID\n") != NULL, "empty keys alone; got dump\n%s", da);
    static const char first[] = "Socket " STS_CONFIG_DEFAULT_SOCKET "\n";
    ck_assert_msg(strncmp(da, first, sizeof(first) - 1) == 0, "got dump\n%s", da);
    free(da);
    free(db);
    sts_config_free(a);
    sts_config_free(b);
}
END_TEST

/* The table itself: unique names, sane bounds, a description each. */
START_TEST(test_key_table)
{
    size_t n = sts_config_key_count();
    ck_assert_uint_ge(n, 30);
    ck_assert_ptr_null(sts_config_key_at(n));
    for (size_t i = 0; i < n; i++) {
        const struct sts_config_key *k = sts_config_key_at(i);
        ck_assert_msg(k->name != NULL && k->desc != NULL && k->def != NULL, "row %zu", i);
        ck_assert_msg(strlen(k->desc) > 0 && strlen(k->desc) <= 90,
                      "key %s: description of %zu chars, want 1..90", k->name, strlen(k->desc));
        ck_assert_msg(sts_config_key_find(k->name) == k, "key %s: name not unique", k->name);
        if (k->type == STS_CONFIG_UINT || k->type == STS_CONFIG_DURATION)
            ck_assert_msg(k->min <= k->max && k->max <= UINT_MAX, "key %s: bounds", k->name);
        if (k->type == STS_CONFIG_ENUM)
            ck_assert_msg(k->choices != NULL && k->choices[0] != NULL, "key %s: choices", k->name);
        if (k->def[0] == '\0')
            ck_assert_msg(k->empty_ok, "key %s: empty default but empty_ok false", k->name);
    }
    ck_assert_ptr_eq(sts_config_key_find("lookupdeadline"), sts_config_key_find("LookupDeadline"));
    ck_assert_ptr_null(sts_config_key_find("LookupDeadlin"));
    ck_assert_ptr_null(sts_config_key_find(NULL));
}
END_TEST

/* A non-reloadable key that changed is named; reloadable ones are not. */
START_TEST(test_restart_keys)
{
    struct sts_config *a = parse_ok("Mode audit\nSocket inet:1@localhost\n", "old");
    struct sts_config *b =
        parse_ok("Mode enforce\nSocket inet:2@localhost\nCAFile /ca.pem\n", "new");
    char names[256];

    ck_assert_uint_eq(sts_config_restart_keys(a, a, names, sizeof(names)), 0);
    ck_assert_str_eq(names, "");
    ck_assert_uint_eq(sts_config_restart_keys(a, b, names, sizeof(names)), 2);
    ck_assert_str_eq(names, "Socket, CAFile");
    ck_assert_uint_eq(sts_config_restart_keys(a, b, names, 8), 2);
    ck_assert_str_eq(names, "Socket");
    ck_assert_uint_eq(sts_config_restart_keys(a, b, NULL, 0), 2);
    sts_config_free(a);
    sts_config_free(b);
}
END_TEST

static char tmpdir[PATH_MAX];

static void setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/test_config.XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp %s failed", tmpdir);
}

static void teardown(void)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/m.conf", tmpdir);
    unlink(path);
    rmdir(tmpdir);
}

static const char *write_file(const char *text, size_t len)
{
    static char path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/m.conf", tmpdir);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
    fclose(fp);
    return path;
}

/* A file loads; its errors carry its path and the line. */
START_TEST(test_load_file)
{
    const char *path = write_file("# m.conf\nMode enforce\n", 22);
    struct sts_config *cfg = NULL;
    char err[512] = "", want[PATH_MAX + 64];

    ck_assert_int_eq(sts_config_load(path, &cfg, err, sizeof(err)), STS_OK);
    ck_assert_int_eq(cfg->mode, STS_MILTER_ENFORCE);
    ck_assert_str_eq(cfg->file, path);
    sts_config_free(cfg);

    /* A reload from a bad file fails and leaves the caller's pointer alone. */
    write_file("Mode enforce\nMode audit\n", 24);
    static struct sts_config sentinel;
    cfg = &sentinel;
    ck_assert_int_eq(sts_config_load(path, &cfg, err, sizeof(err)), STS_EINVAL);
    ck_assert_ptr_eq(cfg, &sentinel);
    snprintf(want, sizeof(want), "%s:2: Mode given twice (first on line 1)", path);
    ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_load_missing)
{
    struct sts_config *cfg = NULL;
    char err[512] = "", path[PATH_MAX + 32];
    snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);

    ck_assert_int_eq(sts_config_load(path, &cfg, err, sizeof(err)), STS_EIO);
    ck_assert_ptr_null(cfg);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0 && strstr(err, ": No such file") != NULL,
                  "got err \"%s\"", err);
}
END_TEST

START_TEST(test_load_too_big)
{
    size_t len = STS_CONFIG_FILE_MAX + 1;
    char *text = malloc(len);
    ck_assert_ptr_nonnull(text);
    memset(text, '#', len);
    const char *path = write_file(text, len);
    struct sts_config *cfg = NULL;
    char err[512] = "";

    ck_assert_int_eq(sts_config_load(path, &cfg, err, sizeof(err)), STS_ETOOBIG);
    ck_assert_ptr_null(cfg);
    free(text);
}
END_TEST

START_TEST(test_line_too_long)
{
    char text[STS_CONFIG_LINE_MAX + 64];
    struct sts_config *cfg = NULL;
    char err[512] = "";
    int n = snprintf(text, sizeof(text), "Mode enforce\nPidFile /");
    memset(text + n, 'a', sizeof(text) - (size_t)n - 1);
    text[sizeof(text) - 1] = '\0';

    ck_assert_int_eq(sts_config_parse(text, strlen(text), "t.conf", &cfg, err, sizeof(err)),
                     STS_EINVAL);
    ck_assert_str_eq(err, "t.conf:2: line longer than 4096 bytes");
}
END_TEST

/* A NUL byte in the file is a control character, not the end of the file. */
START_TEST(test_nul_byte)
{
    static const char text[] = "Mode enforce\nSyslog no\0\n";
    struct sts_config *cfg = NULL;
    char err[512] = "";

    ck_assert_int_eq(sts_config_parse(text, sizeof(text) - 1, "t.conf", &cfg, err, sizeof(err)),
                     STS_EINVAL);
    ck_assert_str_eq(err, "t.conf:2: control character 0x00");
}
END_TEST

#define REF_THREADS 8
#define REF_ROUNDS 20000

static void *ref_worker(void *arg)
{
    const struct sts_config *cfg = arg;
    for (int i = 0; i < REF_ROUNDS; i++) {
        const struct sts_config *mine = sts_config_ref(cfg);
        if (mine->lookup_deadline_ms != 3000)
            return (void *)1;
        sts_config_unref(mine);
    }
    return NULL;
}

/*
 * References from many threads at once, then the swap of a reload: the
 * old snapshot stays readable through a reference taken before the swap
 * and is freed by the last unref (ASan reports a leak or a use after free).
 */
START_TEST(test_refcount)
{
    struct sts_config *cfg = parse_ok("", "refcount");
    pthread_t t[REF_THREADS];

    ck_assert_ptr_eq(sts_config_ref(NULL), NULL);
    sts_config_unref(NULL);
    sts_config_free(NULL);
    for (int i = 0; i < REF_THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, ref_worker, cfg), 0);
    for (int i = 0; i < REF_THREADS; i++) {
        void *rv;
        ck_assert_int_eq(pthread_join(t[i], &rv), 0);
        ck_assert_ptr_null(rv);
    }

    const struct sts_config *current = cfg;
    const struct sts_config *held = sts_config_ref(current); /* a connection's */
    struct sts_config *fresh = parse_ok("Mode enforce", "reload");
    const struct sts_config *old = current;
    current = fresh;
    sts_config_unref(old); /* the daemon's reference */
    ck_assert_int_eq(held->mode, STS_MILTER_AUDIT);
    ck_assert_str_eq(held->socket, STS_CONFIG_DEFAULT_SOCKET);
    sts_config_unref(held);
    ck_assert_int_eq(current->mode, STS_MILTER_ENFORCE);
    sts_config_unref(current);
}
END_TEST

START_TEST(test_format_errors)
{
    struct sts_config *cfg = parse_ok("Store sqlite:/a/long/path.db", "format");
    char small[8];
    ck_assert_int_eq(sts_config_format(cfg, "Nope", small, sizeof(small)), STS_ENOTFOUND);
    ck_assert_int_eq(sts_config_format(cfg, "Store", small, sizeof(small)), STS_ETOOBIG);
    ck_assert_str_eq(small, "sqlite:");
    sts_config_free(cfg);
}
END_TEST

/*
 * contrib/mtasts-milter.conf is valid: as shipped (all commented out) it
 * is the defaults, and with every "#Name value" line uncommented it is the
 * defaults again (config_docs.sh checks it lists every key).
 */
START_TEST(test_sample_config)
{
    const char *builddir = getenv("top_builddir"); /* made from contrib/mtasts-milter.conf.in */
    char path[PATH_MAX], err[PATH_MAX + 128] = "";
    struct sts_config *shipped = NULL, *def = parse_ok("", "defaults");
    size_t len;
    snprintf(path, sizeof(path), "%s/contrib/mtasts-milter.conf", builddir ? builddir : ".");

    ck_assert_msg(sts_config_load(path, &shipped, err, sizeof(err)) == STS_OK, "%s", err);
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    char *text = NULL, line[512];
    FILE *out = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(out);
    while (fgets(line, sizeof(line), fp) != NULL)
        if (line[0] == '#' && line[1] >= 'A' && line[1] <= 'Z')
            fputs(line + 1, out);
    fclose(fp);
    fclose(out);
    struct sts_config *uncommented = parse_ok(text, "uncommented sample");

    char *d0 = dump(def, &len), *d1 = dump(shipped, &len), *d2 = dump(uncommented, &len);
    ck_assert_msg(strcmp(d0, d1) == 0, "shipped sample: got\n%s\nwant\n%s", d1, d0);
    ck_assert_msg(strcmp(d0, d2) == 0, "uncommented sample: got\n%s\nwant\n%s", d2, d0);
    free(d0);
    free(d1);
    free(d2);
    free(text);
    sts_config_free(def);
    sts_config_free(shipped);
    sts_config_free(uncommented);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_value, 0, NCASES(value_cases));
    tcase_add_loop_test(tc, test_default_explicit, 0, (int)sts_config_key_count());
    tcase_add_test(tc, test_defaults_typed);
    tcase_add_test(tc, test_typed_fields);
    tcase_add_test(tc, test_dump_round_trip);
    tcase_add_test(tc, test_key_table);
    tcase_add_test(tc, test_restart_keys);
    tcase_add_test(tc, test_load_file);
    tcase_add_test(tc, test_load_missing);
    tcase_add_test(tc, test_load_too_big);
    tcase_add_test(tc, test_line_too_long);
    tcase_add_test(tc, test_nul_byte);
    tcase_add_test(tc, test_refcount);
    tcase_add_test(tc, test_format_errors);
    tcase_add_test(tc, test_sample_config);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(config_suite());
}
