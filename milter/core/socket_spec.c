/*
 * socket_spec.c - the socket spec parser (see socket_spec.h for the forms).
 */
#include "mtasts/socket_spec.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include "mtasts/domain.h"

static const char want_forms[] =
    "want unix:PATH, local:PATH, inet:PORT[@HOST] or inet6:PORT[@HOST]";

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive: the len bytes at a against all of b. */
static bool word_eq(const char *a, size_t len, const char *b)
{
    for (size_t i = 0; i < len; i++)
        if (b[i] == '\0' || ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return b[len] == '\0';
}

/* A decimal port in [s, s + len): 1 to 5 digits, at most 65535. */
static bool parse_port(const char *s, size_t len, bool any, unsigned *port)
{
    unsigned long v = 0;
    if (len == 0 || len > 5)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > 65535 || (v == 0 && !any))
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

/* A host name: LDH labels, the last not all digits (RFC 1123 §2.1), so that an
   address of the other family is not taken for a name. */
static bool is_host_name(const char *h, size_t len)
{
    if (len == 0 || len > STS_SOCKET_SPEC_HOST_MAX ||
        sts_domain_check_ldh(h, len, NULL, 0) != STS_OK)
        return false;
    size_t end = h[len - 1] == '.' ? len - 1 : len, i = end;
    while (i > 0 && h[i - 1] != '.')
        i--;
    for (size_t j = i; j < end; j++)
        if (h[j] < '0' || h[j] > '9')
            return true;
    return false;
}

/* HOST of inet/inet6: an address of the family (brackets optional) or an LDH name. */
static enum sts_status parse_host(int af, const char *h, struct sts_socket_spec *s, char *err,
                                  size_t errlen)
{
    size_t len = strlen(h);
    bool bracketed = len >= 2 && h[0] == '[' && h[len - 1] == ']';
    if (bracketed) {
        h++;
        len -= 2;
    }
    /* libmilter reads "[...]" as an address only; a name goes bare. */
    bool ok = is_addr(af, h, len) || (!bracketed && is_host_name(h, len));
    if (!ok)
        return sts_status_set(STS_EINVAL, err, errlen, "bad host (want %s address or host name)",
                              af == AF_INET ? "an IPv4" : "an IPv6");
    memcpy(s->host, h, len);
    s->host[len] = '\0';
    return STS_OK;
}

enum sts_status sts_socket_spec_parse(const char *spec, unsigned flags, struct sts_socket_spec *out,
                                      char *err, size_t errlen)
{
    struct sts_socket_spec s = {0};
    const char *colon = strchr(spec, ':');
    if (colon == NULL || colon == spec)
        return sts_status_set(STS_EINVAL, err, errlen, "no socket type (%s)", want_forms);
    size_t tlen = (size_t)(colon - spec);
    const char *rest = colon + 1;

    if (word_eq(spec, tlen, "unix") || word_eq(spec, tlen, "local")) {
        size_t plen = strlen(rest);
        if (rest[0] != '/')
            return sts_status_set(STS_EINVAL, err, errlen, "socket path must be absolute");
        if (plen > STS_SOCKET_SPEC_PATH_MAX)
            return sts_status_set(STS_EINVAL, err, errlen, "socket path over %d bytes",
                                  STS_SOCKET_SPEC_PATH_MAX);
        s.kind = STS_SOCKET_UNIX;
        memcpy(s.path, rest, plen + 1);
    } else if (word_eq(spec, tlen, "inet") || word_eq(spec, tlen, "inet6")) {
        int af = tlen == 4 ? AF_INET : AF_INET6;
        const char *at = strchr(rest, '@');
        size_t plen = at != NULL ? (size_t)(at - rest) : strlen(rest);
        bool any = (flags & STS_SOCKET_SPEC_PORT_ANY) != 0;
        if (!parse_port(rest, plen, any, &s.port))
            return sts_status_set(STS_EINVAL, err, errlen, "bad port (want %s..65535)",
                                  any ? "0" : "1");
        if (at != NULL && parse_host(af, at + 1, &s, err, errlen) != STS_OK)
            return STS_EINVAL;
        s.kind = af == AF_INET ? STS_SOCKET_INET : STS_SOCKET_INET6;
    } else {
        return sts_status_set(STS_EINVAL, err, errlen, "unknown socket type (%s)", want_forms);
    }
    if (out != NULL)
        *out = s;
    return STS_OK;
}

const char *sts_socket_spec_unix_path(const char *spec)
{
    struct sts_socket_spec s;
    if (spec == NULL || sts_socket_spec_parse(spec, 0, &s, NULL, 0) != STS_OK ||
        s.kind != STS_SOCKET_UNIX)
        return NULL;
    return strchr(spec, ':') + 1;
}
