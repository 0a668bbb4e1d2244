/*
 * policy_map.c - the socketmap's answer for one request (see policy_map.h).
 */
#include "mtasts/policy_map.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mtasts/netstring.h"

#define REPLY_TOO_LONG "PERM reply-too-long"

/* A bounded writer: remembers overflow instead of failing each call. */
struct out {
    char *buf;
    size_t len, size;
    bool over;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->over || o->len + n >= o->size || o->len + n > STS_NETSTRING_MAX) {
        o->over = true;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* Reasons come from our own modules, but may quote remote bytes: keep them one printable word
   run, without the netstring's separators mattering (they do not), no controls. */
static void put_reason(struct out *o, const char *r)
{
    for (; *r != '\0'; r++) {
        unsigned char c = (unsigned char)*r;
        char ch = (c >= 0x21 && c <= 0x7e) ? (char)c : '_';
        put(o, &ch, 1);
    }
}

static size_t finish(struct out *o)
{
    if (!o->over)
        return o->len;
    if (o->size == 0)
        return sizeof(REPLY_TOO_LONG) - 1;
    snprintf(o->buf, o->size, "%s", REPLY_TOO_LONG);
    return sizeof(REPLY_TOO_LONG) - 1;
}

static bool is_ip_literal(const char *s)
{
    unsigned char bin[16];
    return inet_pton(AF_INET, s, bin) == 1 || inet_pton(AF_INET6, s, bin) == 1;
}

static enum sts_policy_map_key reason_is(enum sts_policy_map_key k, char *reason, size_t len,
                                         const char *word)
{
    if (reason != NULL && len > 0)
        snprintf(reason, len, "%s", word);
    return k;
}

enum sts_policy_map_key sts_policy_map_parse(const char *req, size_t len, char *domain,
                                             size_t domainlen, char *reason, size_t reasonlen)
{
    const char *sp = memchr(req, ' ', len);
    if (sp == NULL || sp == req)
        return reason_is(STS_POLICY_MAP_PERM, reason, reasonlen, "malformed-request");
    if (memchr(req, '\0', len) != NULL)
        return reason_is(STS_POLICY_MAP_PERM, reason, reasonlen, "nul-in-request");
    const char *key = sp + 1;
    size_t klen = len - (size_t)(key - req);
    if (klen == 0)
        return reason_is(STS_POLICY_MAP_PERM, reason, reasonlen, "empty-key");
    if (klen > STS_DOMAIN_MAX + 1) /* one trailing dot */
        return reason_is(STS_POLICY_MAP_NOTFOUND, reason, reasonlen, "not-a-domain");

    char k[STS_DOMAIN_MAX + 2];
    memcpy(k, key, klen);
    k[klen] = '\0';
    /* Postfix's other keys: "[host]:port", "[host]", "host:port", ".parent". */
    if (k[0] == '[' || k[0] == '.' || strchr(k, ':') != NULL)
        return reason_is(STS_POLICY_MAP_NOTFOUND, reason, reasonlen, "not-a-domain");
    if (is_ip_literal(k))
        return reason_is(STS_POLICY_MAP_NOTFOUND, reason, reasonlen, "ip-literal");
    if (sts_domain_normalize(k, domain, domainlen, NULL, 0) != STS_OK)
        return reason_is(STS_POLICY_MAP_NOTFOUND, reason, reasonlen, "not-a-domain");
    if (is_ip_literal(domain)) /* "192.0.2.1." normalises to an address too */
        return reason_is(STS_POLICY_MAP_NOTFOUND, reason, reasonlen, "ip-literal");
    if (strchr(domain, '.') == NULL)
        return reason_is(STS_POLICY_MAP_NOTFOUND, reason, reasonlen, "single-label");
    return reason_is(STS_POLICY_MAP_LOOKUP, reason, reasonlen, "");
}

/* Was this pattern already written (policies may repeat an mx line)? */
static bool seen_before(const char *const *pats, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (pats[j] != NULL && strcmp(pats[j], pats[i]) == 0)
            return true;
    return false;
}

/* "match=P1:P2" without repeats; RFC 8461 §4.1 "*.example.com" is Postfix's ".example.com". */
static void put_match(struct out *o, const char *const *pats, size_t n)
{
    puts_(o, "match=");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (pats[i] == NULL || seen_before(pats, i))
            continue;
        if (!first)
            puts_(o, ":");
        first = false;
        puts_(o, pats[i][0] == '*' ? pats[i] + 1 : pats[i]);
    }
}

/* One "{ policy_string = LINE }": Postfix's braced form, since a line holds spaces. */
static void put_policy_string(struct out *o, const char *key, const char *value)
{
    puts_(o, " { policy_string = ");
    puts_(o, key);
    puts_(o, ": ");
    puts_(o, value);
    puts_(o, " }");
}

/*
 * The TLSRPT attributes of Postfix >= 3.10 (smtp_tls_policy_maps, see
 * TLSRPT_README "MTA-STS support"): policy_type, policy_domain, one
 * mx_host_pattern per distinct pattern (RFC 8461 "*." form, as the report's
 * "mx-host" wants it), one policy_string per policy line.  The lines are
 * those of sts_policy_format() (the store keeps that canonical form, not
 * the bytes served): version, mode, max_age, then every mx line in policy
 * order, repeats included.  None of them can hold '{', '}' or a newline:
 * the parser admits only LDH names, digits and the mode words.  Never
 * policy_failure: it would make Postfix fail deliveries that RFC 8461
 * §3.3 lets go on as "no policy".
 */
static void put_tlsrpt(struct out *o, const char *domain, const struct sts_policy *p)
{
    char age[16];
    puts_(o, " policy_type=sts policy_domain=");
    puts_(o, domain);
    for (size_t i = 0; i < p->mx_count; i++) {
        if (seen_before((const char *const *)p->mx, i))
            continue;
        puts_(o, " mx_host_pattern=");
        puts_(o, p->mx[i]);
    }
    snprintf(age, sizeof(age), "%u", p->max_age);
    put_policy_string(o, "version", "STSv1");
    put_policy_string(o, "mode", sts_mode_name(p->mode));
    put_policy_string(o, "max_age", age);
    for (size_t i = 0; i < p->mx_count; i++)
        put_policy_string(o, "mx", p->mx[i]);
}

static void put_secure(struct out *o, const struct sts_policy_map_options *opts, const char *domain,
                       const struct sts_policy *p)
{
    const char *const *mx = (const char *const *)p->mx;
    puts_(o, "OK secure ");
    put_match(o, mx, p->mx_count);
    puts_(o, " servername=hostname");
    if (opts->tlsrpt)
        put_tlsrpt(o, domain, p);
}

/*
 * The destination decision's answer, when one of its facts decides
 * (policy_map.h's order); false: the MTA-STS rules decide.
 */
static bool put_destination(struct out *o, const struct sts_policy_map_input *in)
{
    const struct sts_destination *d = in->dest;
    if (d->skip) {
        puts_(o, "NOTFOUND ");
        return true;
    }
    if (d->dnssec_invalid) {
        puts_(o, "TEMP dnssec-invalid");
        return true;
    }
    if (d->dane == STS_DANE_SUMMARY_ONLY || d->dane == STS_DANE_SUMMARY_SOME) {
        puts_(o, d->dane == STS_DANE_SUMMARY_ONLY ? "OK dane-only" : "OK dane");
        return true;
    }
    switch (d->override) {
    case STS_OVERRIDE_DANE:
        puts_(o, "OK dane-only");
        return true;
    case STS_OVERRIDE_ENFORCE:
        puts_(o, "OK secure ");
        put_match(o, in->patterns, in->patterns != NULL ? in->npatterns : 0);
        puts_(o, " servername=hostname");
        return true;
    case STS_OVERRIDE_VERIFY:
        puts_(o, "OK verify match=hostname");
        return true;
    case STS_OVERRIDE_ENCRYPT:
        puts_(o, "OK encrypt protocols=>=TLSv1.2");
        return true;
    default:
        break;
    }
    if (d->learned) { /* LearnTLS: what the MX hosts have shown, verified TLS */
        puts_(o, "OK verify match=hostname");
        return true;
    }
    return false;
}

size_t sts_policy_map_reply(const struct sts_policy_map_options *opts,
                            const struct sts_policy_map_input *in, char *out, size_t outlen)
{
    struct out o = {.buf = out, .size = outlen};

    if (outlen > 0)
        out[0] = '\0';
    if (in->dest != NULL && put_destination(&o, in))
        return finish(&o);
    /* RFC 8461 §2: DANE wins over MTA-STS. */
    if (in->dest == NULL &&
        (in->dane == STS_DANE_SUMMARY_ONLY || in->dane == STS_DANE_SUMMARY_SOME)) {
        puts_(&o, in->dane == STS_DANE_SUMMARY_ONLY ? "OK dane-only" : "OK dane");
        return finish(&o);
    }
    char reason[64];
    sts_lookup_reason_format(in->reason, in->fetch, reason, sizeof(reason));
    switch (in->outcome) {
    case STS_LOOKUP_POLICY:
        if (in->policy != NULL && in->policy->mx_count > 0 &&
            (in->policy->mode == STS_MODE_ENFORCE ||
             (in->policy->mode == STS_MODE_TESTING && opts->strict_testing))) {
            put_secure(&o, opts, in->domain, in->policy);
            break;
        }
        puts_(&o, "NOTFOUND ");
        break;
    case STS_LOOKUP_NO_POLICY:
        puts_(&o, "NOTFOUND ");
        break;
    case STS_LOOKUP_TEMPFAIL:
        puts_(&o, "TEMP dns-failure");
        if (reason[0] != '\0') {
            puts_(&o, " ");
            put_reason(&o, reason);
        }
        break;
    case STS_LOOKUP_PENDING:
        puts_(&o, "TEMP discovery-pending");
        break;
    case STS_LOOKUP_ERROR:
    default:
        puts_(&o, "TEMP internal-error");
        if (reason[0] != '\0') {
            puts_(&o, " ");
            put_reason(&o, reason);
        }
        break;
    }
    return finish(&o);
}

size_t sts_policy_map_perm(const char *reason, char *out, size_t outlen)
{
    struct out o = {.buf = out, .size = outlen};
    if (outlen > 0)
        out[0] = '\0';
    puts_(&o, "PERM ");
    put_reason(&o, reason);
    return finish(&o);
}
