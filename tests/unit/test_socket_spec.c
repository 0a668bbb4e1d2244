/*
 * test_socket_spec.c - unit tests of the one socket spec parser.
 *
 * Guards issue 12 item 6 and issue 18 ("config check gaps"): the milter
 * socket, the socketmap and mtasts-milter -n read a spec through one
 * parser, so "SocketMap Unix:/path" (a scheme in capitals, which libmilter
 * accepts) no longer passes -n and then fails at start, a local: path is
 * found for chown like a unix: one, and the path limit is libmilter's: it
 * refuses a 107-byte path (listener.c: strlen + 1 >= sizeof(sun_path)), so
 * 106 bytes pass and 107 do not, whether the spec comes from the file or
 * from -p.
 *
 * Table-driven: each row is one TAP test point; a failure reads
 * "case NAME: got X, want Y".
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "mtasts/socket_spec.h"
#include "unit_main.h"

#define X10 "xxxxxxxxxx"
#define X50 X10 X10 X10 X10 X10
/* "/" + 100 + ".sock" (5) = 106 bytes: the longest path libmilter binds */
#define PATH106 "/" X50 X50 ".sock"
#define PATH107 "/" X50 X50 "x.sock"

struct parse_case {
    const char *name;
    const char *spec;
    unsigned flags;
    enum sts_status want;
    enum sts_socket_kind kind; /* when OK */
    const char *path_or_host;  /* when OK: path (unix) or host (inet) */
    unsigned port;
    const char *why; /* when not OK: a substring of err */
};

static const struct parse_case cases[] = {
    /* unix and local, the scheme in any case (libmilter: strcasecmp) */
    {"unix", "unix:/run/m.sock", 0, STS_OK, STS_SOCKET_UNIX, "/run/m.sock", 0, NULL},
    {"local", "local:/run/m.sock", 0, STS_OK, STS_SOCKET_UNIX, "/run/m.sock", 0, NULL},
    {"unix_capital", "Unix:/run/m.sock", 0, STS_OK, STS_SOCKET_UNIX, "/run/m.sock", 0, NULL},
    {"local_upper", "LOCAL:/run/m.sock", 0, STS_OK, STS_SOCKET_UNIX, "/run/m.sock", 0, NULL},
    {"unix_path_106", "unix:" PATH106, 0, STS_OK, STS_SOCKET_UNIX, PATH106, 0, NULL},
    {"unix_path_107", "unix:" PATH107, 0, STS_EINVAL, 0, NULL, 0, "socket path over 106 bytes"},
    {"local_path_107", "local:" PATH107, 0, STS_EINVAL, 0, NULL, 0, "over 106 bytes"},
    {"unix_relative", "unix:m.sock", 0, STS_EINVAL, 0, NULL, 0, "socket path must be absolute"},
    {"unix_empty", "unix:", 0, STS_EINVAL, 0, NULL, 0, "must be absolute"},
    /* inet, inet6 */
    {"inet_host", "inet:8891@127.0.0.1", 0, STS_OK, STS_SOCKET_INET, "127.0.0.1", 8891, NULL},
    {"inet_no_host", "inet:8891", 0, STS_OK, STS_SOCKET_INET, "", 8891, NULL},
    {"inet_name", "inet:8891@localhost", 0, STS_OK, STS_SOCKET_INET, "localhost", 8891, NULL},
    {"inet_brackets", "inet:25@[192.0.2.1]", 0, STS_OK, STS_SOCKET_INET, "192.0.2.1", 25, NULL},
    {"inet_upper", "INET:1@127.0.0.1", 0, STS_OK, STS_SOCKET_INET, "127.0.0.1", 1, NULL},
    {"inet_port_max", "inet:65535", 0, STS_OK, STS_SOCKET_INET, "", 65535, NULL},
    {"inet6_host", "inet6:8891@::1", 0, STS_OK, STS_SOCKET_INET6, "::1", 8891, NULL},
    {"inet6_brackets", "inet6:8891@[::1]", 0, STS_OK, STS_SOCKET_INET6, "::1", 8891, NULL},
    {"inet6_name", "Inet6:8891@ip6-localhost", 0, STS_OK, STS_SOCKET_INET6, "ip6-localhost", 8891,
     NULL},
    {"inet_port_0", "inet:0@127.0.0.1", 0, STS_EINVAL, 0, NULL, 0, "bad port (want 1..65535)"},
    {"inet_port_0_any", "inet:0@127.0.0.1", STS_SOCKET_SPEC_PORT_ANY, STS_OK, STS_SOCKET_INET,
     "127.0.0.1", 0, NULL},
    {"inet_port_big", "inet:65536", 0, STS_EINVAL, 0, NULL, 0, "bad port"},
    {"inet_port_long", "inet:000025", 0, STS_EINVAL, 0, NULL, 0, "bad port"},
    {"inet_port_garbage", "inet:25x@127.0.0.1", 0, STS_EINVAL, 0, NULL, 0, "bad port"},
    {"inet_port_name", "inet:smtp@127.0.0.1", 0, STS_EINVAL, 0, NULL, 0, "bad port"},
    {"inet_port_empty", "inet:@127.0.0.1", 0, STS_EINVAL, 0, NULL, 0, "bad port"},
    {"inet_v6_host", "inet:8891@::1", 0, STS_EINVAL, 0, NULL, 0,
     "bad host (want an IPv4 address or host name)"},
    {"inet6_v4_host", "inet6:8891@127.0.0.1", 0, STS_EINVAL, 0, NULL, 0,
     "bad host (want an IPv6 address"},
    {"inet_empty_host", "inet:8891@", 0, STS_EINVAL, 0, NULL, 0, "bad host"},
    {"inet_bracket_name", "inet:8891@[localhost]", 0, STS_EINVAL, 0, NULL, 0, "bad host"},
    {"inet_numeric_name", "inet:8891@1.2.3", 0, STS_EINVAL, 0, NULL, 0, "bad host"},
    {"inet_bad_name", "inet:8891@-bad-.example", 0, STS_EINVAL, 0, NULL, 0, "bad host"},
    /* no or unknown scheme */
    {"bare_path", "/run/m.sock", 0, STS_EINVAL, 0, NULL, 0, "no socket type"},
    {"empty", "", 0, STS_EINVAL, 0, NULL, 0, "no socket type"},
    {"empty_scheme", ":/run/m.sock", 0, STS_EINVAL, 0, NULL, 0, "no socket type"},
    {"tcp", "tcp:8891", 0, STS_EINVAL, 0, NULL, 0, "unknown socket type"},
    {"unixx", "unixx:/run/m.sock", 0, STS_EINVAL, 0, NULL, 0, "unknown socket type"},
    {"uni", "uni:/run/m.sock", 0, STS_EINVAL, 0, NULL, 0, "unknown socket type"},
};

START_TEST(test_parse)
{
    const struct parse_case *tc = &cases[_i];
    struct sts_socket_spec s;
    char err[256] = "";
    memset(&s, 0x5a, sizeof(s));
    enum sts_status got = sts_socket_spec_parse(tc->spec, tc->flags, &s, err, sizeof(err));
    ck_assert_msg(got == tc->want, "case %s: got %s (%s), want %s", tc->name, sts_status_word(got),
                  err, sts_status_word(tc->want));
    if (tc->want != STS_OK) {
        ck_assert_msg(strstr(err, tc->why) != NULL, "case %s: got reason \"%s\", want \"%s\"",
                      tc->name, err, tc->why);
        return;
    }
    ck_assert_msg(s.kind == tc->kind, "case %s: got kind %d, want %d", tc->name, (int)s.kind,
                  (int)tc->kind);
    if (tc->kind == STS_SOCKET_UNIX) {
        ck_assert_msg(strcmp(s.path, tc->path_or_host) == 0,
                      "case %s: got path \"%s\", want \"%s\"", tc->name, s.path, tc->path_or_host);
        ck_assert_msg(s.host[0] == '\0', "case %s: got host \"%s\", want none", tc->name, s.host);
    } else {
        ck_assert_msg(strcmp(s.host, tc->path_or_host) == 0,
                      "case %s: got host \"%s\", want \"%s\"", tc->name, s.host, tc->path_or_host);
        ck_assert_msg(s.port == tc->port, "case %s: got port %u, want %u", tc->name, s.port,
                      tc->port);
        ck_assert_msg(s.path[0] == '\0', "case %s: got path \"%s\", want none", tc->name, s.path);
    }
    /* a check without out gives the same answer */
    ck_assert_int_eq(sts_socket_spec_parse(tc->spec, tc->flags, NULL, NULL, 0), tc->want);
}
END_TEST

/* A refused spec leaves out as it was. */
START_TEST(test_untouched_on_failure)
{
    struct sts_socket_spec s = {.kind = STS_SOCKET_INET, .port = 7};
    ck_assert_int_eq(sts_socket_spec_parse("unix:" PATH107, 0, &s, NULL, 0), STS_EINVAL);
    ck_assert_int_eq(s.kind, STS_SOCKET_INET);
    ck_assert_uint_eq(s.port, 7);
}
END_TEST

/* The file a daemon chowns: unix: and local: alike, nothing for inet or a bad spec. */
START_TEST(test_unix_path)
{
    const char *u = "unix:/run/a.sock", *l = "Local:/run/b.sock";
    ck_assert_ptr_eq(sts_socket_spec_unix_path(u), u + 5);
    ck_assert_ptr_eq(sts_socket_spec_unix_path(l), l + 6);
    ck_assert_ptr_null(sts_socket_spec_unix_path("inet:8891@127.0.0.1"));
    ck_assert_ptr_null(sts_socket_spec_unix_path("unix:relative.sock"));
    ck_assert_ptr_null(sts_socket_spec_unix_path("unix:" PATH107));
    ck_assert_ptr_null(sts_socket_spec_unix_path(NULL));
}
END_TEST

static Suite *socket_spec_suite(void)
{
    Suite *s = suite_create("socket_spec");
    TCase *tc = tcase_create("socket_spec");
    tcase_add_loop_test(tc, test_parse, 0, sizeof(cases) / sizeof(cases[0]));
    tcase_add_test(tc, test_untouched_on_failure);
    tcase_add_test(tc, test_unix_path);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(socket_spec_suite());
}
