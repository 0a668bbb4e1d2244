/*
 * addr_guard.h - the SSRF guard's address classifier (pure, no I/O).
 *
 * A hostile recipient domain can point mta-sts.<domain> anywhere; before
 * we fetch a policy the address we will connect to is classified, and
 * anything that is not public unicast is refused unless the operator
 * allowed private targets.
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
    STS_ADDR_RESERVED,    /* 240/4, 255.255.255.255, 192.0.0/24, documentation, benchmarking, ... */
    STS_ADDR_INVALID,     /* not an IPv4 or IPv6 literal */
};

/**
 * Classify an address in presentation form ("192.0.2.1", "::ffff:10.0.0.1").
 * IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96), NAT64 (64:ff9b::/96)
 * and 6to4 (2002::/16) forms are classified by the IPv4 address they carry.
 */
enum sts_addr_class sts_addr_guard_classify(const char *addr);

/** Is it a target we may fetch from? (PUBLIC, or anything valid if allow_private.) */
bool sts_addr_guard_permits(const char *addr, bool allow_private);

/** "public", "loopback", "private", ... for logs. */
const char *sts_addr_guard_class_name(enum sts_addr_class c);

#endif
