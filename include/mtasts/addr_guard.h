/*
 * addr_guard.h - the SSRF guard's address classifier (pure, no I/O).
 *
 * A hostile recipient domain can point mta-sts.<domain> anywhere; before
 * we fetch a policy the address we will connect to is classified, and
 * anything that is not public unicast is refused unless the operator
 * allowed private targets.  Pure: no I/O, no allocation, thread-safe.
 *
 * IPv6 is allow-listed: only 2000::/3 (global unicast) can be PUBLIC, less
 * its special-purpose ranges (Teredo, ORCHID, benchmarking, documentation
 * 2001:db8::/32 and 3fff::/20, SRv6 5f00::/16); everything outside it
 * that is not named below (100::/64 discard, fec0::/10, unassigned space)
 * is RESERVED.
 */
#ifndef MTASTS_ADDR_GUARD_H
#define MTASTS_ADDR_GUARD_H

#include <stdbool.h>

enum sts_addr_class {
    STS_ADDR_PUBLIC = 0,
    STS_ADDR_LOOPBACK,    /* 127/8, ::1 */
    STS_ADDR_PRIVATE,     /* 10/8, 172.16/12, 192.168/16 */
    STS_ADDR_LINKLOCAL,   /* 169.254/16, fe80::/10 */
    STS_ADDR_CGNAT,       /* 100.64/10 */
    STS_ADDR_ULA,         /* fc00::/7 */
    STS_ADDR_MULTICAST,   /* 224/4, ff00::/8 */
    STS_ADDR_UNSPECIFIED, /* 0/8, :: */
    STS_ADDR_RESERVED,    /* 240/4, 255.255.255.255, 192.0.0/24, 192.88.99/24,
                             documentation, benchmarking, IPv6 outside 2000::/3, ... */
    STS_ADDR_INVALID,     /* not an IPv4 or IPv6 literal (inet_pton); never permitted */
};

/**
 * Classify an address in presentation form ("192.0.2.1", "::ffff:10.0.0.1").
 * IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96), NAT64 (64:ff9b::/96)
 * and 6to4 (2002::/16) forms are classified by the IPv4 address they carry.
 * @param addr NUL-terminated; NULL, brackets, zone ids ("%eth0"),
 *             shorthand IPv4 ("10.1") or spaces are STS_ADDR_INVALID
 * @return the class
 */
enum sts_addr_class sts_addr_guard_classify(const char *addr);

/**
 * Is it a target we may fetch from?
 * @return true for PUBLIC, or for any class but INVALID if allow_private
 */
bool sts_addr_guard_permits(const char *addr, bool allow_private);

/**
 * A stable word for logs: "public", "loopback", "private", "link-local",
 * "cgnat", "ula", "multicast", "unspecified", "reserved", "invalid".
 * @return a static string, never NULL
 */
const char *sts_addr_guard_class_name(enum sts_addr_class c);

#endif
