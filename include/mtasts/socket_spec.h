/*
 * socket_spec.h - one parser for socket specifications: the milter socket
 * (Socket, mtasts-milter -p), the socketmap (SocketMap) and the
 * configuration check all read a spec through it, so what -n accepts is
 * what the daemon opens.  Pure: no I/O, no allocation.
 *
 * Forms (those of libmilter's smfi_setconn(); the scheme in any case):
 *   unix:/PATH, local:/PATH  an absolute path of at most
 *                            STS_SOCKET_SPEC_PATH_MAX bytes
 *   inet:PORT[@HOST]         HOST an IPv4 address (bare or in brackets) or a
 *                            host name; absent: the caller's default
 *   inet6:PORT[@HOST]        HOST an IPv6 address (bare or in brackets) or a
 *                            host name
 * PORT is 1 to 5 decimal digits, 1..65535 (0 too with
 * STS_SOCKET_SPEC_PORT_ANY, for tests that let the kernel choose).
 *
 * Stricter than libmilter, on purpose: a path without a scheme, a relative
 * path, a service name for PORT and digits followed by anything else (which
 * libmilter's atoi() reads as a number) are refused.  The path limit is
 * libmilter's: it refuses a path of sizeof(sun_path) - 1 = 107 bytes on
 * Linux, although the kernel would take it.
 */
#ifndef MTASTS_SOCKET_SPEC_H
#define MTASTS_SOCKET_SPEC_H

#include <stddef.h>

#include "mtasts/status.h"

#define STS_SOCKET_SPEC_PATH_MAX 106 /* bytes of a unix socket path, less the NUL */
#define STS_SOCKET_SPEC_HOST_MAX 253 /* bytes of HOST, brackets removed */

/* Flags of sts_socket_spec_parse(). */
#define STS_SOCKET_SPEC_PORT_ANY 0x1u /* accept port 0 */

enum sts_socket_kind {
    STS_SOCKET_UNIX = 1, /* unix: or local: */
    STS_SOCKET_INET,
    STS_SOCKET_INET6,
};

/** A parsed spec; the caller owns it (plain storage, nothing to free). */
struct sts_socket_spec {
    enum sts_socket_kind kind;
    char path[STS_SOCKET_SPEC_PATH_MAX + 1]; /* UNIX: the absolute path; else "" */
    unsigned port;                           /* INET, INET6 */
    char host[STS_SOCKET_SPEC_HOST_MAX + 1]; /* INET, INET6: without brackets; "" = absent */
};

/**
 * Parse a socket spec.
 * @param spec  NUL-terminated
 * @param flags 0 or STS_SOCKET_SPEC_PORT_ANY
 * @param out   receives the parts (may be NULL to only check); untouched on failure
 * @param err   receives the reason on failure ("socket path over 106 bytes",
 *              "bad port (want 1..65535)", ...), without the spec itself
 * @return STS_OK or STS_EINVAL
 */
enum sts_status sts_socket_spec_parse(const char *spec, unsigned flags, struct sts_socket_spec *out,
                                      char *err, size_t errlen);

/**
 * The path of a unix:/local: spec that parses, as a pointer into spec
 * (valid as long as spec), else NULL.  For the files a daemon chowns,
 * chmods and probes.
 */
const char *sts_socket_spec_unix_path(const char *spec);

#endif
