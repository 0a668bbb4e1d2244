/*
 * test_route.c - unit tests of the route classifier and of the envelope
 * recipient's domain.
 *
 * Guards RFC 8461 §4.1 (MX host validation applies to delivery to the
 * recipient domain's MX hosts: only a next hop that is the domain itself,
 * without brackets, is "direct"; "[example.com]" is a relay to one host),
 * RFC 5321 §4.1.2 (Path, A-d-l source routes, quoted local parts, address
 * literals) and §5.1 (MX resolution of the domain), and the macro
 * conventions of Postfix ({rcpt_mailer} = transport, {rcpt_host} = next
 * hop or bounce text) and Sendmail (mailer, [host], host lists).
 *
 * Table-driven: each row is one TAP test point; a failure reads
 * "case NAME: got X, want Y".
 */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "mtasts/domain.h"
#include "mtasts/route.h"
#include "mtasts/status.h"
#include "unit_main.h"

#define L10 "aaaaaaaaaa"
#define L50 L10 L10 L10 L10 L10
/* A host list of exactly 255 and 256 octets: 4 * ("[" 50 "]:") + "[" 41 "]". */
#define HOP255 "[" L50 "]:[" L50 "]:[" L50 "]:[" L50 "]:[" L10 L10 L10 L10 "a]"
#define HOP256 HOP255 "x"
#define MAILER64 L50 L10 "aaaa"

_Static_assert(sizeof(HOP255) - 1 == 255, "HOP255 is 255 octets");
_Static_assert(sizeof(MAILER64) - 1 == 64, "MAILER64 is 64 octets");

struct classify_case {
    const char *name;
    const char *mailer;
    const char *host;
    const char *rcpt_domain;
    bool extra_local; /* pass {"dovecot", "Maildrop"} as site local mailers */
    enum sts_status want_st;
    enum sts_route_kind want_kind;
    const char *want_hop;  /* NULL: not checked */
    const char *want_host; /* NULL: not checked */
    const char *want_port; /* NULL: not checked */
    bool want_bracketed;
    const char *want_why;
};

#define OK STS_OK
#define DIRECT STS_ROUTE_DIRECT
#define RELAY STS_ROUTE_RELAY
#define LOCAL STS_ROUTE_LOCAL
#define UNKNOWN STS_ROUTE_UNKNOWN

static const struct classify_case classify_cases[] = {
    /* Direct: the next hop is the recipient domain, MX lookup. */
    {"postfix_smtp_direct", "smtp", "example.com", "example.com", false, OK, DIRECT, "example.com",
     "example.com", "", false, "next-hop-is-domain"},
    {"direct_host_upper", "smtp", "Example.COM", "example.com", false, OK, DIRECT, "example.com",
     "example.com", "", false, "next-hop-is-domain"},
    {"direct_host_trailing_dot", "smtp", "example.com.", "example.com", false, OK, DIRECT,
     "example.com", "example.com", "", false, "next-hop-is-domain"},
    {"direct_rcpt_not_normalised", "smtp", "example.com", "EXAMPLE.com.", false, OK, DIRECT,
     "example.com", NULL, NULL, false, "next-hop-is-domain"},
    {"direct_with_port", "smtp", "example.com:2525", "example.com", false, OK, DIRECT,
     "example.com:2525", "example.com", "2525", false, "next-hop-is-domain"},
    {"direct_idn_host", "smtp",
     "b\xc3\xbc"
     "cher.example",
     "xn--bcher-kva.example", false, OK, DIRECT, "xn--bcher-kva.example", "xn--bcher-kva.example",
     "", false, "next-hop-is-domain"},
    {"direct_postfix_relay_transport", "relay", "example.com", "example.com", false, OK, DIRECT,
     "example.com", NULL, NULL, false, "next-hop-is-domain"},
    {"direct_sendmail_esmtp", "esmtp", "example.com", "example.com", false, OK, DIRECT,
     "example.com", NULL, NULL, false, "next-hop-is-domain"},
    {"direct_sendmail_smtp8", "smtp8", "example.com", "example.com", false, OK, DIRECT,
     "example.com", NULL, NULL, false, "next-hop-is-domain"},
    {"direct_host_padded", "smtp", "  example.com\t", "example.com", false, OK, DIRECT,
     "example.com", NULL, NULL, false, "next-hop-is-domain"},
    {"direct_mailer_upper", "SMTP", "example.com", "example.com", false, OK, DIRECT, "example.com",
     NULL, NULL, false, "next-hop-is-domain"},

    /* Relay: any other next hop. */
    {"bracketed_domain_is_relay", "smtp", "[example.com]", "example.com", false, OK, RELAY,
     "[example.com]", "example.com", "", true, "bracketed-next-hop"},
    {"bracketed_ipv4", "smtp", "[10.0.0.1]", "example.com", false, OK, RELAY, "[10.0.0.1]",
     "10.0.0.1", "", true, "bracketed-next-hop"},
    {"bracketed_port_upper", "relay", "[SMTP.Relay.NET]:587", "example.com", false, OK, RELAY,
     "[smtp.relay.net]:587", "smtp.relay.net", "587", true, "bracketed-next-hop"},
    {"bracketed_service_port", "smtp", "[smtp.relay.net]:submission", "example.com", false, OK,
     RELAY, "[smtp.relay.net]:submission", "smtp.relay.net", "submission", true,
     "bracketed-next-hop"},
    {"bracketed_trailing_dot", "smtp", "[Relay.Example.]:25", "example.com", false, OK, RELAY,
     "[relay.example]:25", "relay.example", "25", true, "bracketed-next-hop"},
    {"bracketed_ipv6_postfix", "smtp", "[2001:DB8::1]:25", "example.com", false, OK, RELAY,
     "[2001:db8::1]:25", "2001:db8::1", "25", true, "bracketed-next-hop"},
    {"bracketed_ipv6_sendmail", "esmtp", "[IPv6:2001:db8::1]", "example.com", false, OK, RELAY,
     "[ipv6:2001:db8::1]", "ipv6:2001:db8::1", "", true, "bracketed-next-hop"},
    {"other_domain", "smtp", "relay.example.net", "example.com", false, OK, RELAY,
     "relay.example.net", "relay.example.net", "", false, "other-next-hop"},
    {"subdomain_is_not_domain", "smtp", "mx.example.com", "example.com", false, OK, RELAY,
     "mx.example.com", NULL, NULL, false, "other-next-hop"},
    {"parent_is_not_domain", "smtp", "example.com", "sub.example.com", false, OK, RELAY,
     "example.com", NULL, NULL, false, "other-next-hop"},
    {"suffix_is_not_domain", "smtp", "badexample.com", "example.com", false, OK, RELAY,
     "badexample.com", NULL, NULL, false, "other-next-hop"},
    {"sendmail_host_list", "esmtp", "[A.example]:[b.example]", "example.com", false, OK, RELAY,
     "[a.example]:[b.example]", "", "", false, "other-next-hop"},
    {"postfix_host_list", "smtp", "[A.example]:25, [b.example]:25", "example.com", false, OK, RELAY,
     "[a.example]:25, [b.example]:25", "", "", false, "other-next-hop"},
    {"bad_port_kept_as_written", "smtp", "Example.com:25x!", "example.com", false, OK, RELAY,
     "example.com:25x!", "", "", false, "other-next-hop"},
    {"invalid_name_kept", "smtp", "relay_1.Example", "example.com", false, OK, RELAY,
     "relay_1.example", "", "", false, "other-next-hop"},
    {"unclosed_bracket", "smtp", "[relay.example", "example.com", false, OK, RELAY,
     "[relay.example", "", "", false, "other-next-hop"},
    {"empty_brackets", "smtp", "[]", "example.com", false, OK, RELAY, "[]", "", "", false,
     "other-next-hop"},
    {"no_rcpt_domain", "smtp", "example.com", NULL, false, OK, RELAY, "example.com", "example.com",
     "", false, "other-next-hop"},
    {"hop_255_octets", "smtp", HOP255, "example.com", false, OK, RELAY, HOP255, "", "", false,
     "other-next-hop"},

    /* Local: never judged. */
    {"postfix_local", "local", "mail.example.com", "example.com", false, OK, LOCAL, "", "", "",
     false, "local-mailer"},
    /* Sendmail's local delivery agents: {rcpt_host} is no next hop (tests/e2e/sendmail.sh). */
    {"sendmail_cyrusv2", "cyrusv2", "localhost", "example.com", false, OK, LOCAL, "", NULL, NULL,
     false, "local-mailer"},
    {"sendmail_procmail", "procmail", "/etc/procmailrcs/example", "example.com", false, OK, LOCAL,
     "", NULL, NULL, false, "local-mailer"},
    {"sendmail_cyrus_case", "Cyrus", "example.com", "example.com", false, OK, LOCAL, "", NULL, NULL,
     false, "local-mailer"},
    {"postfix_virtual", "virtual", "example.com", "example.com", false, OK, LOCAL, "", NULL, NULL,
     false, "local-mailer"},
    {"postfix_lmtp", "lmtp", "inet:127.0.0.1:24", "example.com", false, OK, LOCAL, "", NULL, NULL,
     false, "local-mailer"},
    {"postfix_error_text", "error", "User unknown in virtual alias table", "example.com", false, OK,
     LOCAL, "", NULL, NULL, false, "local-mailer"},
    {"postfix_discard", "discard", "discarded by policy", "example.com", false, OK, LOCAL, "", NULL,
     NULL, false, "local-mailer"},
    {"sendmail_prog", "prog", "", "example.com", false, OK, LOCAL, "", NULL, NULL, false,
     "local-mailer"},
    {"sendmail_file", "*file*", NULL, "example.com", false, OK, LOCAL, "", NULL, NULL, false,
     "local-mailer"},
    {"sendmail_include", "*include*", NULL, "example.com", false, OK, LOCAL, "", NULL, NULL, false,
     "local-mailer"},
    {"local_mailer_upper", "Local", "example.com", "example.com", false, OK, LOCAL, "", NULL, NULL,
     false, "local-mailer"},
    {"site_local_mailer", "dovecot", "example.com", "example.com", true, OK, LOCAL, "", NULL, NULL,
     false, "local-mailer"},
    {"site_local_mailer_case", "MAILDROP", "example.com", "example.com", true, OK, LOCAL, "", NULL,
     NULL, false, "local-mailer"},
    {"site_mailer_not_listed", "dovecot", "example.com", "example.com", false, OK, DIRECT,
     "example.com", NULL, NULL, false, "next-hop-is-domain"},

    /* Unknown: the MTA did not say. */
    {"postfix_retry", "retry", "4.3.0 try again later", "example.com", false, OK, UNKNOWN, "", NULL,
     NULL, false, "retry-mailer"},
    {"no_mailer_macro", NULL, "example.com", "example.com", false, OK, UNKNOWN, "", NULL, NULL,
     false, "no-mailer-macro"},
    {"empty_mailer_macro", "", "example.com", "example.com", false, OK, UNKNOWN, "", NULL, NULL,
     false, "no-mailer-macro"},
    {"blank_mailer_macro", " \t", "example.com", "example.com", false, OK, UNKNOWN, "", NULL, NULL,
     false, "no-mailer-macro"},
    {"no_host_macro", "smtp", NULL, "example.com", false, OK, UNKNOWN, "", NULL, NULL, false,
     "no-host-macro"},
    {"empty_host_macro", "smtp", "", "example.com", false, OK, UNKNOWN, "", NULL, NULL, false,
     "no-host-macro"},
    {"blank_host_macro", "smtp", "   ", "example.com", false, OK, UNKNOWN, "", NULL, NULL, false,
     "no-host-macro"},
    {"no_macros_at_all", NULL, NULL, NULL, false, OK, UNKNOWN, "", NULL, NULL, false,
     "no-mailer-macro"},
    {"hop_256_octets", "smtp", HOP256, "example.com", false, STS_ETOOBIG, UNKNOWN, "", NULL, NULL,
     false, "next-hop-too-long"},
    {"mailer_64_octets", MAILER64, "example.com", "example.com", false, STS_ETOOBIG, UNKNOWN, "",
     NULL, NULL, false, "mailer-too-long"},
};

START_TEST(test_classify)
{
    const struct classify_case *c = &classify_cases[_i];
    static const char *const extra[] = {"dovecot", "Maildrop"};
    struct sts_route r;
    char err[256] = "";

    memset(&r, 0x5a, sizeof(r));
    enum sts_status st =
        sts_route_classify(c->mailer, c->host, c->rcpt_domain, c->extra_local ? extra : NULL,
                           c->extra_local ? 2 : 0, &r, err, sizeof(err));
    ck_assert_msg(st == c->want_st, "case %s: got status %s, want %s (err: %s)", c->name,
                  sts_status_word(st), sts_status_word(c->want_st), err);
    if (st != STS_OK)
        ck_assert_msg(err[0] != '\0', "case %s: got an empty reason, want one in err", c->name);
    ck_assert_msg(r.kind == c->want_kind, "case %s: got kind %s, want %s", c->name,
                  sts_route_kind_name(r.kind), sts_route_kind_name(c->want_kind));
    ck_assert_msg(r.why != NULL && strcmp(r.why, c->want_why) == 0, "case %s: got why %s, want %s",
                  c->name, r.why != NULL ? r.why : "(null)", c->want_why);
    if (c->want_hop != NULL)
        ck_assert_msg(strcmp(r.hop, c->want_hop) == 0, "case %s: got hop \"%s\", want \"%s\"",
                      c->name, r.hop, c->want_hop);
    if (c->want_host != NULL)
        ck_assert_msg(strcmp(r.host, c->want_host) == 0, "case %s: got host \"%s\", want \"%s\"",
                      c->name, r.host, c->want_host);
    if (c->want_port != NULL)
        ck_assert_msg(strcmp(r.port, c->want_port) == 0, "case %s: got port \"%s\", want \"%s\"",
                      c->name, r.port, c->want_port);
    ck_assert_msg(r.bracketed == c->want_bracketed, "case %s: got bracketed %d, want %d", c->name,
                  r.bracketed, c->want_bracketed);
}
END_TEST

struct hop_case {
    const char *name;
    const char *a;
    const char *b;
    bool want;
};

static const struct hop_case hop_cases[] = {
    {"same", "[smtp.relay.net]:587", "[smtp.relay.net]:587", true},
    {"case", "[SMTP.Relay.Net]:587", "[smtp.relay.net]:587", true},
    {"trailing_dot", "[smtp.relay.net.]:587", "[smtp.relay.net]:587", true},
    {"padded", " relay.example.net ", "relay.example.net", true},
    {"idn",
     "[b\xc3\xbc"
     "cher.example]",
     "[xn--bcher-kva.example]", true},
    {"port_differs", "[smtp.relay.net]:587", "[smtp.relay.net]:25", false},
    {"port_missing", "[smtp.relay.net]", "[smtp.relay.net]:25", false},
    {"brackets_differ", "[smtp.relay.net]", "smtp.relay.net", false},
    {"host_differs", "[smtp.relay.net]", "[smtp.relay.org]", false},
    {"list_case", "[A.example]:[B.example]", "[a.example]:[b.example]", true},
    {"empty", "", "", false},
    {"null", NULL, "[smtp.relay.net]", false},
    {"too_long", HOP256, HOP256, false},
};

START_TEST(test_hop_equal)
{
    const struct hop_case *c = &hop_cases[_i];
    bool got = sts_route_hop_equal(c->a, c->b);
    ck_assert_msg(got == c->want, "case %s: got %d, want %d", c->name, got, c->want);
    got = sts_route_hop_equal(c->b, c->a);
    ck_assert_msg(got == c->want, "case %s (swapped): got %d, want %d", c->name, got, c->want);
}
END_TEST

struct normalize_case {
    const char *name;
    const char *in;
    size_t outlen; /* 0: STS_ROUTE_HOP_MAX + 1 */
    enum sts_status want;
    const char *want_out;
};

static const struct normalize_case normalize_cases[] = {
    {"bracketed_port", "[Smtp.Relay.Net.]:587", 0, STS_OK, "[smtp.relay.net]:587"},
    {"plain", "Relay.Example.NET", 0, STS_OK, "relay.example.net"},
    {"literal", "[IPv6:2001:DB8::1]", 0, STS_OK, "[ipv6:2001:db8::1]"},
    {"empty", "", 0, STS_EINVAL, NULL},
    {"blank", " \t ", 0, STS_EINVAL, NULL},
    {"too_long", HOP256, 0, STS_ETOOBIG, NULL},
    {"outlen_exact", "[a.example]", sizeof("[a.example]"), STS_OK, "[a.example]"},
    {"outlen_short", "[a.example]", sizeof("[a.example]") - 1, STS_ETOOBIG, NULL},
};

START_TEST(test_normalize_hop)
{
    const struct normalize_case *c = &normalize_cases[_i];
    char out[STS_ROUTE_HOP_MAX + 1 + 16];
    size_t outlen = c->outlen != 0 ? c->outlen : STS_ROUTE_HOP_MAX + 1;
    char err[256] = "";

    memset(out, '#', sizeof(out));
    enum sts_status st = sts_route_normalize_hop(c->in, out, outlen, err, sizeof(err));
    ck_assert_msg(st == c->want, "case %s: got %s, want %s (err: %s)", c->name, sts_status_word(st),
                  sts_status_word(c->want), err);
    for (size_t k = outlen; k < sizeof(out); k++)
        ck_assert_msg(out[k] == '#', "case %s: got out[%zu] written past outlen %zu", c->name, k,
                      outlen);
    if (c->want == STS_OK)
        ck_assert_msg(strcmp(out, c->want_out) == 0, "case %s: got \"%s\", want \"%s\"", c->name,
                      out, c->want_out);
    else
        ck_assert_msg(err[0] != '\0', "case %s: got an empty reason, want one in err", c->name);
}
END_TEST

struct rcpt_case {
    const char *name;
    const char *rcpt;
    size_t outlen; /* 0: STS_DOMAIN_MAX + 1 */
    enum sts_status want;
    const char *want_domain;
};

#define D63 L50 L10 "aaa"
#define LONG_DOMAIN D63 "." D63 "." D63 "." D63 /* 255 octets: too long */

static const struct rcpt_case rcpt_cases[] = {
    {"angle_mixed_case", "<User@Example.COM>", 0, STS_OK, "example.com"},
    {"bare_address", "user@example.com", 0, STS_OK, "example.com"},
    {"trailing_dot", "<user@example.com.>", 0, STS_OK, "example.com"},
    {"padded", "  <user@example.com>\t", 0, STS_OK, "example.com"},
    {"quoted_at", "<\"a@b\"@example.com>", 0, STS_OK, "example.com"},
    {"quoted_escaped_quote", "<\"a\\\"@b\"@example.com>", 0, STS_OK, "example.com"},
    {"quoted_empty", "<\"\"@example.com>", 0, STS_OK, "example.com"},
    {"quoted_space", "<\"john doe\"@example.com>", 0, STS_OK, "example.com"},
    {"source_route_two", "<@a.example,@b.example:u@d.example>", 0, STS_OK, "d.example"},
    {"source_route_one", "<@a.example:u@D.Example>", 0, STS_OK, "d.example"},
    {"last_at_wins", "<a@b@example.com>", 0, STS_OK, "example.com"},
    {"percent_hack", "<user%other.example@example.com>", 0, STS_OK, "example.com"},
    {"idn_domain",
     "<user@b\xc3\xbc"
     "cher.example>",
     0, STS_OK, "xn--bcher-kva.example"},
    {"alabel_upper", "<user@XN--BCHER-KVA.example>", 0, STS_OK, "xn--bcher-kva.example"},
    {"single_label", "<user@localhost>", 0, STS_OK, "localhost"},
    {"outlen_exact", "<u@example.com>", sizeof("example.com"), STS_OK, "example.com"},

    {"null_path", "<>", 0, STS_ENOTFOUND, NULL},
    {"empty_string", "", 0, STS_ENOTFOUND, NULL},
    {"postmaster", "<postmaster>", 0, STS_ENOTFOUND, NULL},
    {"quoted_no_domain", "<\"a@b\">", 0, STS_ENOTFOUND, NULL},
    {"ipv4_literal", "<u@[192.0.2.1]>", 0, STS_ENOTFOUND, NULL},
    {"ipv6_literal", "<u@[IPv6:2001:db8::1]>", 0, STS_ENOTFOUND, NULL},

    {"null_pointer", NULL, 0, STS_EINVAL, NULL},
    {"unclosed_angle", "<user@example.com", 0, STS_EINVAL, NULL},
    {"unopened_angle", "user@example.com>", 0, STS_EINVAL, NULL},
    {"lone_angle", "<", 0, STS_EINVAL, NULL},
    {"empty_domain", "<user@>", 0, STS_EINVAL, NULL},
    {"empty_local", "<@example.com>", 0, STS_EINVAL, NULL},
    {"source_route_no_colon", "<@a.example,@b.example>", 0, STS_EINVAL, NULL},
    {"source_route_no_mailbox", "<@a.example:>", 0, STS_EINVAL, NULL},
    {"unterminated_quote", "<\"user@example.com>", 0, STS_EINVAL, NULL},
    {"backslash_at_end", "<\"user\\>", 0, STS_EINVAL, NULL},
    {"unterminated_literal", "<u@[192.0.2.1>", 0, STS_EINVAL, NULL},
    {"domain_space", "<user@exa mple.com>", 0, STS_EINVAL, NULL},
    {"domain_hyphen_start", "<user@-bad.example>", 0, STS_EINVAL, NULL},
    {"domain_empty_label", "<user@a..example>", 0, STS_EINVAL, NULL},
    {"domain_semicolon", "<user@example.com;>", 0, STS_EINVAL, NULL},
    {"domain_too_long", "<u@" LONG_DOMAIN ">", 0, STS_EINVAL, NULL},
    {"outlen_short", "<u@example.com>", sizeof("example.com") - 1, STS_ETOOBIG, NULL},
};

START_TEST(test_rcpt_domain)
{
    const struct rcpt_case *c = &rcpt_cases[_i];
    char out[STS_DOMAIN_MAX + 1 + 16];
    size_t outlen = c->outlen != 0 ? c->outlen : STS_DOMAIN_MAX + 1;
    char err[256] = "";

    memset(out, '#', sizeof(out));
    enum sts_status st = sts_route_rcpt_domain(c->rcpt, out, outlen, err, sizeof(err));
    ck_assert_msg(st == c->want, "case %s: got %s, want %s (err: %s)", c->name, sts_status_word(st),
                  sts_status_word(c->want), err);
    for (size_t k = outlen; k < sizeof(out); k++)
        ck_assert_msg(out[k] == '#', "case %s: got out[%zu] written past outlen %zu", c->name, k,
                      outlen);
    if (c->want == STS_OK)
        ck_assert_msg(strcmp(out, c->want_domain) == 0, "case %s: got \"%s\", want \"%s\"", c->name,
                      out, c->want_domain);
    else
        ck_assert_msg(err[0] != '\0', "case %s: got an empty reason, want one in err", c->name);
}
END_TEST

START_TEST(test_kind_names)
{
    ck_assert_str_eq(sts_route_kind_name(STS_ROUTE_UNKNOWN), "unknown");
    ck_assert_str_eq(sts_route_kind_name(STS_ROUTE_LOCAL), "local");
    ck_assert_str_eq(sts_route_kind_name(STS_ROUTE_DIRECT), "direct");
    ck_assert_str_eq(sts_route_kind_name(STS_ROUTE_RELAY), "relay");
    ck_assert_str_eq(sts_route_kind_name((enum sts_route_kind)42), "unknown");
}
END_TEST

START_TEST(test_classify_null_out)
{
    char err[64] = "";
    ck_assert_int_eq(
        sts_route_classify("smtp", "example.com", "example.com", NULL, 0, NULL, err, sizeof(err)),
        STS_EINVAL);
}
END_TEST

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *route_suite(void)
{
    Suite *s = suite_create("route");
    TCase *tc = tcase_create("route");

    tcase_add_loop_test(tc, test_classify, 0, NCASES(classify_cases));
    tcase_add_loop_test(tc, test_hop_equal, 0, NCASES(hop_cases));
    tcase_add_loop_test(tc, test_normalize_hop, 0, NCASES(normalize_cases));
    tcase_add_loop_test(tc, test_rcpt_domain, 0, NCASES(rcpt_cases));
    tcase_add_test(tc, test_kind_names);
    tcase_add_test(tc, test_classify_null_out);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(route_suite());
}
