/*
 * addr_guard.c - classify the address a policy fetch would connect to
 * (the SSRF guard; RFC 8461 §3.3 fetches from a host the recipient's
 * domain names, so the domain chooses where we connect).
 *
 * Pure: inet_pton() and table look-ups, no I/O, no allocation.  The
 * tables follow the IANA IPv4 and IPv6 Special-Purpose Address
 * Registries (RFC 6890 and successors).  IPv6 is refused by default:
 * only the global unicast block 2000::/3 is public, less its special
 * ranges; anything else (fec0::/10 site-local, 100::/64 discard, the
 * unassigned space, ...) is RESERVED.  IPv6 forms that carry an IPv4
 * address (mapped, compatible, NAT64 well-known prefix, 6to4) are
 * judged by that IPv4 address, so ::ffff:10.0.0.1 is as private as
 * 10.0.0.1.
 */
#include "mtasts/addr_guard.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct v4_range {
    uint32_t prefix;
    unsigned bits;
    enum sts_addr_class cls;
};

#define V4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

/* Most specific first is not needed: the ranges do not overlap. */
static const struct v4_range v4_ranges[] = {
    {V4(0, 0, 0, 0), 8, STS_ADDR_UNSPECIFIED},    /* "this network", RFC 791 */
    {V4(10, 0, 0, 0), 8, STS_ADDR_PRIVATE},       /* RFC 1918 */
    {V4(100, 64, 0, 0), 10, STS_ADDR_CGNAT},      /* RFC 6598 */
    {V4(127, 0, 0, 0), 8, STS_ADDR_LOOPBACK},     /* RFC 1122 */
    {V4(169, 254, 0, 0), 16, STS_ADDR_LINKLOCAL}, /* RFC 3927 */
    {V4(172, 16, 0, 0), 12, STS_ADDR_PRIVATE},    /* RFC 1918 */
    {V4(192, 0, 0, 0), 24, STS_ADDR_RESERVED},    /* IETF protocol assignments, RFC 6890 */
    {V4(192, 0, 2, 0), 24, STS_ADDR_RESERVED},    /* TEST-NET-1, RFC 5737 */
    {V4(192, 88, 99, 0), 24, STS_ADDR_RESERVED},  /* 6to4 relay anycast, RFC 7526 */
    {V4(192, 168, 0, 0), 16, STS_ADDR_PRIVATE},   /* RFC 1918 */
    {V4(198, 18, 0, 0), 15, STS_ADDR_RESERVED},   /* benchmarking, RFC 2544 */
    {V4(198, 51, 100, 0), 24, STS_ADDR_RESERVED}, /* TEST-NET-2, RFC 5737 */
    {V4(203, 0, 113, 0), 24, STS_ADDR_RESERVED},  /* TEST-NET-3, RFC 5737 */
    {V4(224, 0, 0, 0), 4, STS_ADDR_MULTICAST},    /* RFC 5771 */
    {V4(240, 0, 0, 0), 4, STS_ADDR_RESERVED},     /* RFC 1112; holds 255.255.255.255 too */
};

struct v6_range {
    unsigned char prefix[16];
    unsigned bits;
    enum sts_addr_class cls;
};

/* Checked in order; the first match wins, so narrower ranges come first. */
static const struct v6_range v6_ranges[] = {
    {{0x01, 0x00}, 64, STS_ADDR_RESERVED},                   /* 100::/64 discard, RFC 6666 */
    {{0x20, 0x01, 0x00, 0x00}, 32, STS_ADDR_RESERVED},       /* 2001::/32 Teredo, RFC 4380 */
    {{0x20, 0x01, 0x00, 0x02, 0, 0}, 48, STS_ADDR_RESERVED}, /* 2001:2::/48 benchmarking */
    {{0x20, 0x01, 0x00, 0x10}, 28, STS_ADDR_RESERVED},       /* 2001:10::/28 ORCHID */
    {{0x20, 0x01, 0x00, 0x20}, 28, STS_ADDR_RESERVED},       /* 2001:20::/28 ORCHIDv2 */
    {{0x20, 0x01, 0x0d, 0xb8}, 32, STS_ADDR_RESERVED},       /* 2001:db8::/32 documentation */
    {{0x3f, 0xff}, 20, STS_ADDR_RESERVED},                   /* 3fff::/20 documentation, RFC 9637 */
    {{0x5f, 0x00}, 16, STS_ADDR_RESERVED},                   /* 5f00::/16 SRv6 SIDs, RFC 9602 */
    {{0x20}, 3, STS_ADDR_PUBLIC},                            /* 2000::/3 global unicast */
    {{0xfc}, 7, STS_ADDR_ULA},                               /* RFC 4193 */
    {{0xfe, 0x80}, 10, STS_ADDR_LINKLOCAL},                  /* RFC 4291 */
    {{0xff}, 8, STS_ADDR_MULTICAST},                         /* RFC 4291 */
};

static enum sts_addr_class classify_v4(uint32_t a)
{
    for (size_t i = 0; i < sizeof(v4_ranges) / sizeof(v4_ranges[0]); i++) {
        uint32_t mask = UINT32_MAX << (32 - v4_ranges[i].bits);
        if ((a & mask) == v4_ranges[i].prefix)
            return v4_ranges[i].cls;
    }
    return STS_ADDR_PUBLIC;
}

static uint32_t v4_at(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static bool v6_in(const unsigned char *a, const unsigned char *prefix, unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(a, prefix, whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xffu << (8 - rest));
    return (a[whole] & mask) == (prefix[whole] & mask);
}

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

static enum sts_addr_class classify_v6(const unsigned char *a)
{
    static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    if (all_zero(a, 16))
        return STS_ADDR_UNSPECIFIED;
    if (all_zero(a, 15) && a[15] == 1)
        return STS_ADDR_LOOPBACK;
    /* ::/96 (IPv4-compatible, RFC 4291 §2.5.5.1), mapped, NAT64 (RFC 6052). */
    if (all_zero(a, 12) || memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0)
        return classify_v4(v4_at(a + 12));
    if (a[0] == 0x20 && a[1] == 0x02) /* 2002::/16 6to4, RFC 3056: 2002:V4ADDR::/48 */
        return classify_v4(v4_at(a + 2));
    for (size_t i = 0; i < sizeof(v6_ranges) / sizeof(v6_ranges[0]); i++)
        if (v6_in(a, v6_ranges[i].prefix, v6_ranges[i].bits))
            return v6_ranges[i].cls;
    return STS_ADDR_RESERVED;
}

enum sts_addr_class sts_addr_guard_classify(const char *addr)
{
    unsigned char buf[16];

    if (addr == NULL)
        return STS_ADDR_INVALID;
    /* inet_pton takes only the full dotted quad (no "10.1", no octal) and
     * no IPv6 zone ("fe80::1%eth0") or brackets: anything else is INVALID. */
    if (inet_pton(AF_INET, addr, buf) == 1)
        return classify_v4(v4_at(buf));
    if (inet_pton(AF_INET6, addr, buf) == 1)
        return classify_v6(buf);
    return STS_ADDR_INVALID;
}

bool sts_addr_guard_permits(const char *addr, bool allow_private)
{
    enum sts_addr_class c = sts_addr_guard_classify(addr);
    if (c == STS_ADDR_INVALID)
        return false;
    return c == STS_ADDR_PUBLIC || allow_private;
}

const char *sts_addr_guard_class_name(enum sts_addr_class c)
{
    switch (c) {
    case STS_ADDR_PUBLIC:
        return "public";
    case STS_ADDR_LOOPBACK:
        return "loopback";
    case STS_ADDR_PRIVATE:
        return "private";
    case STS_ADDR_LINKLOCAL:
        return "link-local";
    case STS_ADDR_CGNAT:
        return "cgnat";
    case STS_ADDR_ULA:
        return "ula";
    case STS_ADDR_MULTICAST:
        return "multicast";
    case STS_ADDR_UNSPECIFIED:
        return "unspecified";
    case STS_ADDR_RESERVED:
        return "reserved";
    case STS_ADDR_INVALID:
        return "invalid";
    }
    return "invalid";
}
