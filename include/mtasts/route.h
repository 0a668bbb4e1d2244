/*
 * route.h - where will the MTA send this recipient?  Pure, no I/O.
 *
 * At RCPT time Postfix and Sendmail tell a milter how they resolved the
 * recipient, in two macros:
 *
 *   {rcpt_mailer}  Postfix: the transport (master.cf service) name, e.g.
 *                  "smtp", "relay", "local", "virtual", "lmtp", "error",
 *                  "discard", "retry" or a site-defined name.
 *                  Sendmail: the mailer, e.g. "esmtp", "smtp", "relay",
 *                  "local", "prog", "*file*", "*include*", "error".
 *   {rcpt_host}    the next hop: "example.com" (MX lookup of that name),
 *                  "example.com:2525", "[10.0.0.1]", "[smtp.relay.net]:587"
 *                  (brackets: no MX lookup, that very host), Sendmail's
 *                  "[IPv6:2001:db8::1]" or host lists "[a]:[b]"; for the
 *                  error/discard/retry transports Postfix puts the reason
 *                  text here instead.
 *
 * Postfix sends both by default (milter_rcpt_macros = i {rcpt_addr}
 * {rcpt_host} {rcpt_mailer}); Sendmail's Milter.macros.envrcpt does too.
 *
 * sts_route_classify() sorts a recipient into one of four kinds:
 *
 *   STS_ROUTE_LOCAL    not outbound SMTP: the mailers local, virtual,
 *                      lmtp, error, discard, prog, *file*, *include*,
 *                      and any the site names (pipe transports such as
 *                      "dovecot" or "maildrop" carry site-chosen names).
 *                      MTA-STS (RFC 8461) governs SMTP to a domain's MX
 *                      hosts only, so these are never judged.
 *   STS_ROUTE_DIRECT   the next hop is the recipient domain itself, without
 *                      brackets: the MTA will resolve the domain's MX
 *                      records (RFC 5321 §5.1), the case RFC 8461 §4.1
 *                      validates.  Compared ASCII case-insensitively, one
 *                      trailing dot ignored, IDN folded to A-labels.  A
 *                      port ("example.com:2525") does not change the MX set.
 *   STS_ROUTE_RELAY    any other next hop: a smarthost, a transport_maps
 *                      or mailertable entry, "[example.com]" (no MX lookup:
 *                      the host example.com, not the domain's MX set).
 *   STS_ROUTE_UNKNOWN  the MTA did not say: {rcpt_mailer} or {rcpt_host}
 *                      missing or empty (milter_rcpt_macros cleared), a
 *                      next hop longer than STS_ROUTE_HOP_MAX, or Postfix's
 *                      "retry" transport (delivery deferred now and routed
 *                      again later, out of the milter's sight).  The
 *                      verdict (verdict.h) fails such a recipient closed
 *                      when an enforce policy applies: reason
 *                      "route-unknown", reply 451 4.3.5.
 *
 * Mailer names are compared ASCII case-insensitively.  Everything here is
 * allocation-free and thread-safe; struct sts_route owns its strings.
 */
#ifndef MTASTS_ROUTE_H
#define MTASTS_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/domain.h"
#include "mtasts/status.h"

/* Longest next hop kept, normalised; a longer one is STS_ROUTE_UNKNOWN. */
#define STS_ROUTE_HOP_MAX 255
/* Longest mailer / transport name kept (Postfix service names are short). */
#define STS_ROUTE_MAILER_MAX 63
/* Longest port or service after "]:" or "host:" ("587", "submission"). */
#define STS_ROUTE_PORT_MAX 15

enum sts_route_kind {
    STS_ROUTE_UNKNOWN = 0,
    STS_ROUTE_LOCAL,
    STS_ROUTE_DIRECT,
    STS_ROUTE_RELAY,
};

struct sts_route {
    enum sts_route_kind kind;
    /* {rcpt_mailer} lower-cased; "" when missing or too long. */
    char mailer[STS_ROUTE_MAILER_MAX + 1];
    /*
     * The normalised next hop, for DIRECT and RELAY ("" otherwise):
     * lower-case, surrounding white space removed; a single host is
     * rebuilt as host, "[" host "]", with ":" port appended when given,
     * its name in A-label form without a trailing dot.  Host lists and
     * other forms are only lower-cased.  Trusted relays are compared
     * with this string (sts_route_hop_equal()).
     */
    char hop[STS_ROUTE_HOP_MAX + 1];
    /*
     * The one host of a single-host next hop, without brackets and port:
     * a normalised domain name, or an address literal as written inside
     * the brackets ("10.0.0.1", "ipv6:2001:db8::1").  "" for host lists
     * and next hops that are not a valid name.
     */
    char host[STS_ROUTE_HOP_MAX + 1];
    char port[STS_ROUTE_PORT_MAX + 1]; /* "" when none */
    bool bracketed;                    /* "[host]": no MX lookup */
    bool host_is_literal;              /* host is an address literal */
    /*
     * Why this kind, a stable word for logs: "local-mailer",
     * "next-hop-is-domain", "bracketed-next-hop", "other-next-hop",
     * "no-mailer-macro", "no-host-macro", "retry-mailer",
     * "next-hop-too-long", "mailer-too-long".  Static storage.
     */
    const char *why;
};

/**
 * Classify a recipient's route from the two macros.
 * @param mailer       {rcpt_mailer}, NULL or "" when the MTA sent none
 * @param host         {rcpt_host}, NULL or "" when the MTA sent none
 * @param rcpt_domain  the recipient's normalised domain
 *                     (sts_route_rcpt_domain()), or NULL when it has none;
 *                     such a recipient is never DIRECT
 * @param local_mailers extra mailer names to treat as LOCAL (site pipe
 *                     transports); may be NULL when n_local is 0
 * @param n_local      how many
 * @param out          always filled, whatever the status
 * @param err          receives the reason when the status is not STS_OK
 * @return STS_OK (any kind, including UNKNOWN for missing macros or the
 *         retry transport), STS_ETOOBIG (a next hop or mailer name too
 *         long: out is UNKNOWN) or STS_EINVAL (out == NULL)
 */
enum sts_status sts_route_classify(const char *mailer, const char *host, const char *rcpt_domain,
                                   const char *const *local_mailers, size_t n_local,
                                   struct sts_route *out, char *err, size_t errlen);

/**
 * Normalise a next hop exactly as sts_route_classify() does for
 * struct sts_route.hop, for configuration ("TrustedRelay [smtp.relay.net]:587").
 * @param in     the next hop, NUL-terminated
 * @param out    receives the normalised form; STS_ROUTE_HOP_MAX + 1 is enough
 * @return STS_OK, STS_EINVAL (empty) or STS_ETOOBIG (longer than
 *         STS_ROUTE_HOP_MAX or than out)
 */
enum sts_status sts_route_normalize_hop(const char *in, char *out, size_t outlen, char *err,
                                        size_t errlen);

/**
 * Are two next hops the same once normalised?  Both sides go through
 * sts_route_normalize_hop(); an empty or over-long side equals nothing.
 */
bool sts_route_hop_equal(const char *a, const char *b);

/**
 * The normalised domain of an envelope recipient as the MTA passes it to
 * the milter (argv[0] of xxfi_envrcpt).  Accepts "<addr>" or a bare addr;
 * skips a source route ("<@a,@b:u@d>", RFC 5321 §4.1.2 A-d-l); the local
 * part may be a quoted string with "\" escapes ("<\"a@b\"@d>"); the domain
 * is what follows the last "@" outside quotes, normalised with
 * sts_domain_normalize() ("<User@Example.COM.>" -> "example.com",
 * U-labels -> A-labels).
 * @param rcpt   the address, NUL-terminated
 * @param out    receives the domain; STS_DOMAIN_MAX + 1 is enough
 * @return STS_OK; STS_ENOTFOUND when the recipient has no domain MTA-STS
 *         could apply to: the null path "<>", a bare local part
 *         ("<postmaster>") or an address literal ("u@[192.0.2.1]",
 *         "u@[IPv6:2001:db8::1]"); STS_EINVAL when it cannot be parsed
 *         (unbalanced brackets or quotes, empty or invalid domain, source
 *         route without ":"); STS_ETOOBIG when out is too small.
 *         The verdict treats STS_ENOTFOUND as "no domain" (pass, reason
 *         "no-domain"); a caller should treat STS_EINVAL as an internal
 *         error (the MTA accepted an address we cannot read).
 */
enum sts_status sts_route_rcpt_domain(const char *rcpt, char *out, size_t outlen, char *err,
                                      size_t errlen);

/** "unknown", "local", "direct" or "relay". */
const char *sts_route_kind_name(enum sts_route_kind kind);

#endif
