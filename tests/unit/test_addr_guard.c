/*
 * test_addr_guard.c - unit tests of the SSRF guard's address classifier.
 *
 * Guards RFC 8461 §3.3 (the policy host is named by the recipient's
 * domain, so a hostile domain chooses where the fetch connects) and the
 * IANA IPv4/IPv6 Special-Purpose Address Registries (RFC 6890): every
 * special range must be refused unless private targets are allowed, the
 * IPv6 forms that carry an IPv4 address must be judged by that address,
 * and anything that is not an address literal is never permitted.
 *
 * Table-driven: each row is one TAP test point; a failure reads
 * "case NAME: got X, want Y".
 */
#include <check.h>
#include <stdbool.h>
#include <string.h>

#include "mtasts/addr_guard.h"
#include "unit_main.h"

struct addr_case {
    const char *name;
    const char *addr;
    enum sts_addr_class want;
};

static const struct addr_case addr_cases[] = {
    /* IPv4 public unicast, including the edges of special ranges. */
    {"v4_public_dns", "8.8.8.8", STS_ADDR_PUBLIC},
    {"v4_public_1111", "1.1.1.1", STS_ADDR_PUBLIC},
    {"v4_before_10", "9.255.255.255", STS_ADDR_PUBLIC},
    {"v4_after_10", "11.0.0.0", STS_ADDR_PUBLIC},
    {"v4_before_cgnat", "100.63.255.255", STS_ADDR_PUBLIC},
    {"v4_after_cgnat", "100.128.0.0", STS_ADDR_PUBLIC},
    {"v4_before_172_16", "172.15.255.255", STS_ADDR_PUBLIC},
    {"v4_after_172_31", "172.32.0.0", STS_ADDR_PUBLIC},
    {"v4_192_0_1", "192.0.1.1", STS_ADDR_PUBLIC},
    {"v4_192_169", "192.169.0.1", STS_ADDR_PUBLIC},
    {"v4_198_17", "198.17.255.255", STS_ADDR_PUBLIC},
    {"v4_198_20", "198.20.0.0", STS_ADDR_PUBLIC},
    {"v4_last_unicast", "223.255.255.255", STS_ADDR_PUBLIC},

    /* IPv4 special-purpose ranges. */
    {"v4_this_net", "0.0.0.0", STS_ADDR_UNSPECIFIED},
    {"v4_this_net_host", "0.1.2.3", STS_ADDR_UNSPECIFIED},
    {"v4_rfc1918_10", "10.0.0.1", STS_ADDR_PRIVATE},
    {"v4_rfc1918_10_top", "10.255.255.255", STS_ADDR_PRIVATE},
    {"v4_cgnat_low", "100.64.0.0", STS_ADDR_CGNAT},
    {"v4_cgnat_high", "100.127.255.255", STS_ADDR_CGNAT},
    {"v4_loopback", "127.0.0.1", STS_ADDR_LOOPBACK},
    {"v4_loopback_other", "127.255.0.2", STS_ADDR_LOOPBACK},
    {"v4_link_local", "169.254.169.254", STS_ADDR_LINKLOCAL},
    {"v4_rfc1918_172_low", "172.16.0.1", STS_ADDR_PRIVATE},
    {"v4_rfc1918_172_high", "172.31.255.255", STS_ADDR_PRIVATE},
    {"v4_ietf_192_0_0", "192.0.0.8", STS_ADDR_RESERVED},
    {"v4_test_net_1", "192.0.2.1", STS_ADDR_RESERVED},
    {"v4_6to4_relay", "192.88.99.1", STS_ADDR_RESERVED},
    {"v4_rfc1918_192", "192.168.1.1", STS_ADDR_PRIVATE},
    {"v4_benchmark_low", "198.18.0.1", STS_ADDR_RESERVED},
    {"v4_benchmark_high", "198.19.255.255", STS_ADDR_RESERVED},
    {"v4_test_net_2", "198.51.100.7", STS_ADDR_RESERVED},
    {"v4_test_net_3", "203.0.113.9", STS_ADDR_RESERVED},
    {"v4_multicast_low", "224.0.0.1", STS_ADDR_MULTICAST},
    {"v4_multicast_high", "239.255.255.255", STS_ADDR_MULTICAST},
    {"v4_class_e", "240.0.0.1", STS_ADDR_RESERVED},
    {"v4_broadcast", "255.255.255.255", STS_ADDR_RESERVED},

    /* IPv6. */
    {"v6_public", "2a00:1450:4001:82b::200e", STS_ADDR_PUBLIC},
    {"v6_public_upper", "2A00:1450::1", STS_ADDR_PUBLIC},
    {"v6_public_3ffe", "3ffe::1", STS_ADDR_PUBLIC},
    {"v6_unspecified", "::", STS_ADDR_UNSPECIFIED},
    {"v6_unspecified_long", "0:0:0:0:0:0:0:0", STS_ADDR_UNSPECIFIED},
    {"v6_loopback", "::1", STS_ADDR_LOOPBACK},
    {"v6_loopback_long", "0000:0000:0000:0000:0000:0000:0000:0001", STS_ADDR_LOOPBACK},
    {"v6_ula_fc", "fc00::1", STS_ADDR_ULA},
    {"v6_ula_fd", "fd12:3456:789a::1", STS_ADDR_ULA},
    {"v6_link_local", "fe80::1", STS_ADDR_LINKLOCAL},
    {"v6_link_local_top", "febf::1", STS_ADDR_LINKLOCAL},
    {"v6_site_local", "fec0::1", STS_ADDR_RESERVED},
    {"v6_multicast", "ff02::1", STS_ADDR_MULTICAST},
    {"v6_multicast_global", "ff0e::101", STS_ADDR_MULTICAST},
    {"v6_documentation", "2001:db8::1", STS_ADDR_RESERVED},
    {"v6_documentation_3fff", "3fff::1", STS_ADDR_RESERVED},
    {"v6_discard", "100::1", STS_ADDR_RESERVED},
    {"v6_teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2", STS_ADDR_RESERVED},
    {"v6_benchmark", "2001:2::1", STS_ADDR_RESERVED},
    {"v6_orchid2", "2001:20::1", STS_ADDR_RESERVED},
    {"v6_srv6", "5f00::1", STS_ADDR_RESERVED},
    {"v6_unassigned_4000", "4000::1", STS_ADDR_RESERVED},
    {"v6_unassigned_low", "1::1", STS_ADDR_RESERVED},

    /* IPv6 forms carrying an IPv4 address: judged by that address. */
    {"v6_mapped_private", "::ffff:10.0.0.1", STS_ADDR_PRIVATE},
    {"v6_mapped_private_hex", "::ffff:a00:1", STS_ADDR_PRIVATE},
    {"v6_mapped_loopback", "::ffff:127.0.0.1", STS_ADDR_LOOPBACK},
    {"v6_mapped_metadata", "::ffff:169.254.169.254", STS_ADDR_LINKLOCAL},
    {"v6_mapped_public", "::ffff:8.8.8.8", STS_ADDR_PUBLIC},
    {"v6_mapped_upper", "::FFFF:192.168.0.1", STS_ADDR_PRIVATE},
    {"v6_compat_private", "::10.0.0.1", STS_ADDR_PRIVATE},
    {"v6_compat_loopback", "::127.0.0.1", STS_ADDR_LOOPBACK},
    {"v6_compat_public", "::8.8.4.4", STS_ADDR_PUBLIC},
    {"v6_nat64_private", "64:ff9b::10.1.2.3", STS_ADDR_PRIVATE},
    {"v6_nat64_loopback", "64:ff9b::7f00:1", STS_ADDR_LOOPBACK},
    {"v6_nat64_public", "64:ff9b::8.8.8.8", STS_ADDR_PUBLIC},
    {"v6_6to4_private", "2002:c0a8:0101::1", STS_ADDR_PRIVATE},
    {"v6_6to4_loopback", "2002:7f00:1::", STS_ADDR_LOOPBACK},
    {"v6_6to4_public", "2002:808:808::1", STS_ADDR_PUBLIC},
    {"v6_6to4_cgnat", "2002:6440:1::1", STS_ADDR_CGNAT},

    /* Not address literals. */
    {"empty", "", STS_ADDR_INVALID},
    {"hostname", "mta-sts.example.com", STS_ADDR_INVALID},
    {"v4_shorthand", "10.1", STS_ADDR_INVALID},
    {"v4_single_number", "2130706433", STS_ADDR_INVALID},
    {"v4_hex", "0x7f.0.0.1", STS_ADDR_INVALID},
    {"v4_octet_too_big", "256.1.1.1", STS_ADDR_INVALID},
    {"v4_five_octets", "1.2.3.4.5", STS_ADDR_INVALID},
    {"v4_leading_space", " 8.8.8.8", STS_ADDR_INVALID},
    {"v4_trailing_space", "8.8.8.8 ", STS_ADDR_INVALID},
    {"v4_with_port", "8.8.8.8:443", STS_ADDR_INVALID},
    {"v4_cidr", "8.8.8.0/24", STS_ADDR_INVALID},
    {"v6_brackets", "[::1]", STS_ADDR_INVALID},
    {"v6_zone", "fe80::1%eth0", STS_ADDR_INVALID},
    {"v6_two_gaps", "1::2::3", STS_ADDR_INVALID},
    {"v6_too_many_groups", "1:2:3:4:5:6:7:8:9", STS_ADDR_INVALID},
    {"v6_bad_hex", "2001:db8::g", STS_ADDR_INVALID},
};

START_TEST(test_classify)
{
    const struct addr_case *c = &addr_cases[_i];
    enum sts_addr_class got = sts_addr_guard_classify(c->addr);

    ck_assert_msg(got == c->want, "case %s (\"%s\"): got %s, want %s", c->name, c->addr,
                  sts_addr_guard_class_name(got), sts_addr_guard_class_name(c->want));

    /* The guard on: only PUBLIC.  The guard off: anything but INVALID. */
    bool want_on = c->want == STS_ADDR_PUBLIC;
    bool want_off = c->want != STS_ADDR_INVALID;
    bool on = sts_addr_guard_permits(c->addr, false);
    bool off = sts_addr_guard_permits(c->addr, true);
    ck_assert_msg(on == want_on, "case %s: permits(allow_private=false) got %d, want %d", c->name,
                  on, want_on);
    ck_assert_msg(off == want_off, "case %s: permits(allow_private=true) got %d, want %d", c->name,
                  off, want_off);
}
END_TEST

START_TEST(test_null_is_invalid)
{
    enum sts_addr_class got = sts_addr_guard_classify(NULL);
    ck_assert_msg(got == STS_ADDR_INVALID, "case null: got %s, want invalid",
                  sts_addr_guard_class_name(got));
    ck_assert_msg(!sts_addr_guard_permits(NULL, true),
                  "case null: permits(allow_private=true) got 1, want 0");
}
END_TEST

/* Every class has its own stable log word. */
START_TEST(test_class_names)
{
    static const struct {
        enum sts_addr_class c;
        const char *want;
    } names[] = {
        {STS_ADDR_PUBLIC, "public"},       {STS_ADDR_LOOPBACK, "loopback"},
        {STS_ADDR_PRIVATE, "private"},     {STS_ADDR_LINKLOCAL, "link-local"},
        {STS_ADDR_CGNAT, "cgnat"},         {STS_ADDR_ULA, "ula"},
        {STS_ADDR_MULTICAST, "multicast"}, {STS_ADDR_UNSPECIFIED, "unspecified"},
        {STS_ADDR_RESERVED, "reserved"},   {STS_ADDR_INVALID, "invalid"},
    };
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        const char *got = sts_addr_guard_class_name(names[k].c);
        ck_assert_msg(strcmp(got, names[k].want) == 0, "case class %d: got \"%s\", want \"%s\"",
                      (int)names[k].c, got, names[k].want);
    }
}
END_TEST

#define NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *addr_guard_suite(void)
{
    Suite *s = suite_create("addr_guard");
    TCase *tc = tcase_create("addr_guard");

    tcase_add_loop_test(tc, test_classify, 0, NCASES(addr_cases));
    tcase_add_test(tc, test_null_is_invalid);
    tcase_add_test(tc, test_class_names);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(addr_guard_suite());
}
