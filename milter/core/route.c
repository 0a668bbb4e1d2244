/*
 * route.c - classify a recipient's route from {rcpt_mailer} and
 * {rcpt_host}, and find the domain of an envelope recipient.
 *
 * Pure and allocation-free: runs once per recipient on the RCPT path.
 * The macros come from the MTA but carry text that came from a client
 * (the address) or from the site's maps, so every length is bounded
 * before anything is copied.
 */
#include "mtasts/route.h"

#include <stdio.h>
#include <string.h>

#include "mtasts/abnf.h"

/* Mailers that never mean SMTP to a domain's MX hosts (see route.h). */
/*
 * Mailers that deliver on this host, never by SMTP to an MX: Postfix's
 * local, virtual, lmtp, error and discard; Sendmail's prog, *file*,
 * *include* and the local delivery agents of its standard MAILER()
 * definitions, cyrus, cyrusv2 (LMTP to Cyrus, {rcpt_host} "localhost") and
 * procmail (found taken for relays by tests/e2e/sendmail.sh).  A site's
 * own pipe transport names (Postfix's dovecot, maildrop) are the site's.
 */
static const char *const builtin_local[] = {
    "local",  "virtual",   "lmtp",  "error",   "discard",  "prog",
    "*file*", "*include*", "cyrus", "cyrusv2", "procmail",
};

/* Longest input looked at; anything longer is too long in any form. */
#define ROUTE_INPUT_MAX 1024

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

static bool name_equal(const char *a, const char *b)
{
    size_t alen = strlen(a), blen = strlen(b);
    return sts_domain_equal(a, alen, b, blen);
}

/* Trim white space around [*start, *start + *len). */
static void trim(const char **start, size_t *len)
{
    while (*len > 0 && sts_abnf_wsp((*start)[0])) {
        (*start)++;
        (*len)--;
    }
    while (*len > 0 && sts_abnf_wsp((*start)[*len - 1]))
        (*len)--;
}

/* Copy with a NUL if it fits. */
static bool copy_str(char *out, size_t outlen, const char *in, size_t len)
{
    if (len + 1 > outlen)
        return false;
    memcpy(out, in, len);
    out[len] = '\0';
    return true;
}

/* A port or service name after ":": 1-15 of [a-z0-9-]. */
static bool valid_port(const char *p, size_t len)
{
    if (len == 0 || len > STS_ROUTE_PORT_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

/*
 * An address literal as written inside brackets (already lower-case):
 * "ipv6:" followed by hex, ":" and "."; or hex, ":" and "." with at least
 * one ":" (Postfix's bare IPv6 form); or digits and dots only (IPv4).
 * Only the shape is checked: the literal is compared, never connected to.
 */
static bool is_literal(const char *s, size_t len)
{
    bool v6 = false;
    if (len > 5 && memcmp(s, "ipv6:", 5) == 0) {
        s += 5;
        len -= 5;
        v6 = true;
    } else if (memchr(s, ':', len) != NULL) {
        v6 = true;
    }
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool digit = c >= '0' && c <= '9';
        bool hex = digit || (c >= 'a' && c <= 'f');
        if (v6 ? !(hex || c == ':' || c == '.') : !(digit || c == '.'))
            return false;
    }
    return true;
}

struct hop {
    char hop[STS_ROUTE_HOP_MAX + 1];
    char host[STS_ROUTE_HOP_MAX + 1];
    char port[STS_ROUTE_PORT_MAX + 1];
    bool single, bracketed, literal;
};

/* Fill h->host from a lower-cased name or literal; false if neither. */
static bool set_host(struct hop *h, const char *name, size_t len, bool bracketed)
{
    char buf[ROUTE_INPUT_MAX + 1];
    if (len == 0 || len > ROUTE_INPUT_MAX)
        return false;
    if (bracketed && is_literal(name, len)) {
        h->literal = true;
        return copy_str(h->host, sizeof(h->host), name, len);
    }
    memcpy(buf, name, len);
    buf[len] = '\0';
    return sts_domain_normalize(buf, h->host, sizeof(h->host), NULL, 0) == STS_OK;
}

/* Split a lower-cased hop into one host and a port, if it is one host. */
static bool split_single(struct hop *h, const char *s, size_t len)
{
    const char *rest;
    size_t restlen;

    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (close == NULL)
            return false;
        h->bracketed = true;
        if (!set_host(h, s + 1, (size_t)(close - s - 1), true))
            return false;
        rest = close + 1;
        restlen = len - (size_t)(rest - s);
    } else {
        const char *colon = memchr(s, ':', len);
        size_t hostlen = colon != NULL ? (size_t)(colon - s) : len;
        if (!set_host(h, s, hostlen, false))
            return false;
        rest = s + hostlen;
        restlen = len - hostlen;
    }
    if (restlen == 0)
        return true;
    if (rest[0] != ':' || !valid_port(rest + 1, restlen - 1))
        return false;
    return copy_str(h->port, sizeof(h->port), rest + 1, restlen - 1);
}

/* Normalise a next hop (see struct sts_route.hop). */
static enum sts_status parse_hop(const char *in, struct hop *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof(*h));
    size_t len = strnlen(in, ROUTE_INPUT_MAX + 1);
    const char *s = in;
    trim(&s, &len);
    if (len == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "empty next hop");
    if (len > STS_ROUTE_HOP_MAX)
        return sts_status_set(STS_ETOOBIG, err, errlen, "next hop longer than %d octets",
                              STS_ROUTE_HOP_MAX);

    char lc[STS_ROUTE_HOP_MAX + 1];
    for (size_t i = 0; i < len; i++)
        lc[i] = (char)lower((unsigned char)s[i]);
    lc[len] = '\0';

    if (split_single(h, lc, len)) {
        h->single = true;
        size_t hl = strlen(h->host), pl = strlen(h->port);
        size_t need = hl + (h->bracketed ? 2 : 0) + (pl > 0 ? pl + 1 : 0);
        if (need > STS_ROUTE_HOP_MAX)
            return sts_status_set(STS_ETOOBIG, err, errlen,
                                  "next hop longer than %d octets once normalised",
                                  STS_ROUTE_HOP_MAX);
        size_t o = 0;
        if (h->bracketed)
            h->hop[o++] = '[';
        memcpy(h->hop + o, h->host, hl);
        o += hl;
        if (h->bracketed)
            h->hop[o++] = ']';
        if (pl > 0) {
            h->hop[o++] = ':';
            memcpy(h->hop + o, h->port, pl);
            o += pl;
        }
        h->hop[o] = '\0';
        return STS_OK;
    }

    /* A host list or another form: kept as written, lower-cased. */
    memset(h, 0, sizeof(*h));
    memcpy(h->hop, lc, len + 1);
    return STS_OK;
}

enum sts_status sts_route_normalize_hop(const char *in, char *out, size_t outlen, char *err,
                                        size_t errlen)
{
    struct hop h;
    if (in == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "empty next hop");
    enum sts_status st = parse_hop(in, &h, err, errlen);
    if (st != STS_OK)
        return st;
    if (out == NULL || !copy_str(out, outlen, h.hop, strlen(h.hop)))
        return sts_status_set(STS_ETOOBIG, err, errlen, "output buffer too small");
    return STS_OK;
}

bool sts_route_hop_equal(const char *a, const char *b)
{
    struct hop ha, hb;
    if (a == NULL || b == NULL)
        return false;
    if (parse_hop(a, &ha, NULL, 0) != STS_OK || parse_hop(b, &hb, NULL, 0) != STS_OK)
        return false;
    return strcmp(ha.hop, hb.hop) == 0;
}

static bool mailer_in(const char *mailer, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] != NULL && name_equal(mailer, list[i]))
            return true;
    return false;
}

static enum sts_status route_set(struct sts_route *out, enum sts_route_kind kind, const char *why)
{
    out->kind = kind;
    out->why = why;
    return STS_OK;
}

enum sts_status sts_route_classify(const char *mailer, const char *host, const char *rcpt_domain,
                                   const char *const *local_mailers, size_t n_local,
                                   struct sts_route *out, char *err, size_t errlen)
{
    if (out == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "no output");
    memset(out, 0, sizeof(*out));
    out->kind = STS_ROUTE_UNKNOWN;

    size_t mlen = mailer != NULL ? strnlen(mailer, ROUTE_INPUT_MAX + 1) : 0;
    const char *m = mailer;
    trim(&m, &mlen);
    if (mlen == 0)
        return route_set(out, STS_ROUTE_UNKNOWN, "no-mailer-macro");
    if (mlen > STS_ROUTE_MAILER_MAX) {
        route_set(out, STS_ROUTE_UNKNOWN, "mailer-too-long");
        return sts_status_set(STS_ETOOBIG, err, errlen, "mailer name longer than %d octets",
                              STS_ROUTE_MAILER_MAX);
    }
    for (size_t i = 0; i < mlen; i++)
        out->mailer[i] = (char)lower((unsigned char)m[i]);
    out->mailer[mlen] = '\0';

    if (mailer_in(out->mailer, builtin_local, sizeof(builtin_local) / sizeof(builtin_local[0])) ||
        mailer_in(out->mailer, local_mailers, local_mailers != NULL ? n_local : 0))
        return route_set(out, STS_ROUTE_LOCAL, "local-mailer");
    if (strcmp(out->mailer, "retry") == 0)
        return route_set(out, STS_ROUTE_UNKNOWN, "retry-mailer");

    if (host == NULL)
        return route_set(out, STS_ROUTE_UNKNOWN, "no-host-macro");
    struct hop h;
    enum sts_status st = parse_hop(host, &h, err, errlen);
    if (st == STS_EINVAL)
        return route_set(out, STS_ROUTE_UNKNOWN, "no-host-macro");
    if (st != STS_OK) {
        route_set(out, STS_ROUTE_UNKNOWN, "next-hop-too-long");
        return st;
    }
    memcpy(out->hop, h.hop, sizeof(out->hop));
    memcpy(out->host, h.host, sizeof(out->host));
    memcpy(out->port, h.port, sizeof(out->port));
    out->bracketed = h.bracketed;
    out->host_is_literal = h.literal;

    if (h.single && !h.bracketed && rcpt_domain != NULL && rcpt_domain[0] != '\0') {
        char dom[STS_DOMAIN_MAX + 1];
        const char *d = rcpt_domain;
        if (sts_domain_normalize(rcpt_domain, dom, sizeof(dom), NULL, 0) == STS_OK)
            d = dom;
        if (name_equal(h.host, d))
            return route_set(out, STS_ROUTE_DIRECT, "next-hop-is-domain");
    }
    return route_set(out, STS_ROUTE_RELAY, h.bracketed ? "bracketed-next-hop" : "other-next-hop");
}

/*
 * Envelope recipients.  Grammar followed (RFC 5321 §4.1.2), leniently:
 *   [ "<" ] [ A-d-l ":" ] Local-part [ "@" ( Domain / address-literal ) ] [ ">" ]
 * Local-part may be a quoted string; the domain is what follows the last
 * "@" outside quotes, as the MTA's own resolver reads it.
 */
enum sts_status sts_route_rcpt_domain(const char *rcpt, char *out, size_t outlen, char *err,
                                      size_t errlen)
{
    if (rcpt == NULL)
        return sts_status_set(STS_EINVAL, err, errlen, "no address");
    size_t len = strnlen(rcpt, ROUTE_INPUT_MAX + 1);
    if (len > ROUTE_INPUT_MAX)
        return sts_status_set(STS_EINVAL, err, errlen, "address longer than %d octets",
                              ROUTE_INPUT_MAX);
    const char *s = rcpt;
    trim(&s, &len);

    if (len > 0 && s[0] == '<') {
        if (len < 2 || s[len - 1] != '>')
            return sts_status_set(STS_EINVAL, err, errlen, "\"<\" without a closing \">\"");
        s++;
        len -= 2;
    } else if (len > 0 && s[len - 1] == '>') {
        return sts_status_set(STS_EINVAL, err, errlen, "\">\" without an opening \"<\"");
    }
    if (len == 0)
        return sts_status_set(STS_ENOTFOUND, err, errlen, "null path: no domain");

    /* Source route: "@a,@b:" before the mailbox (RFC 5321 §4.1.2 A-d-l). */
    if (s[0] == '@') {
        const char *colon = memchr(s, ':', len);
        if (colon == NULL)
            return sts_status_set(STS_EINVAL, err, errlen, "source route without \":\"");
        len -= (size_t)(colon + 1 - s);
        s = colon + 1;
        if (len == 0)
            return sts_status_set(STS_EINVAL, err, errlen, "source route without a mailbox");
    }

    /* Find the last "@" outside a quoted string. */
    const char *at = NULL;
    bool quoted = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (quoted && c == '\\') {
            if (i + 1 == len)
                return sts_status_set(STS_EINVAL, err, errlen, "unterminated quoted string");
            i++;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (!quoted && c == '@') {
            at = s + i;
        }
    }
    if (quoted)
        return sts_status_set(STS_EINVAL, err, errlen, "unterminated quoted string");
    if (at == NULL)
        return sts_status_set(STS_ENOTFOUND, err, errlen, "no domain in the address");
    if (at == s)
        return sts_status_set(STS_EINVAL, err, errlen, "empty local part");

    const char *dom = at + 1;
    size_t dlen = len - (size_t)(dom - s);
    if (dlen == 0)
        return sts_status_set(STS_EINVAL, err, errlen, "empty domain");
    if (dom[0] == '[') {
        if (dom[dlen - 1] != ']' || dlen < 3)
            return sts_status_set(STS_EINVAL, err, errlen, "unterminated address literal");
        return sts_status_set(STS_ENOTFOUND, err, errlen, "address literal: no domain");
    }

    char buf[ROUTE_INPUT_MAX + 1];
    memcpy(buf, dom, dlen);
    buf[dlen] = '\0';
    char dq[STS_DOMAIN_MAX * 4 + 8];
    enum sts_status st = sts_domain_normalize(buf, out, outlen, err, errlen);
    if (st == STS_EINVAL && err != NULL && errlen > 0) {
        char why[128];
        snprintf(why, sizeof(why), "%s", err);
        sts_status_set(STS_EINVAL, err, errlen, "domain \"%s\": %s",
                       sts_status_quote(dom, dlen, dq, sizeof(dq)), why);
    }
    return st;
}

const char *sts_route_kind_name(enum sts_route_kind kind)
{
    switch (kind) {
    case STS_ROUTE_UNKNOWN:
        return "unknown";
    case STS_ROUTE_LOCAL:
        return "local";
    case STS_ROUTE_DIRECT:
        return "direct";
    case STS_ROUTE_RELAY:
        return "relay";
    }
    return "unknown";
}
