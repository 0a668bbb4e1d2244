/*
 * verdict.c - the per-recipient MTA-STS verdict (RFC 8461 §4.1, §5).
 *
 * Pure: the rules and the reply table live in verdict.h; this file is
 * their literal transcription.  No allocation, no I/O, thread-safe.
 */
#include "mtasts/verdict.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mtasts/mx_match.h"

static const char *const reason_names[STS_REASON_COUNT] = {
    [STS_REASON_NOT_OUTBOUND] = "not-outbound",
    [STS_REASON_NO_DOMAIN] = "no-domain",
    [STS_REASON_OVERRIDE_SKIP] = "override-skip",
    [STS_REASON_NO_POLICY] = "no-policy",
    [STS_REASON_POLICY_NONE] = "policy-none",
    [STS_REASON_MX_MATCH] = "mx-match",
    [STS_REASON_MX_MISMATCH] = "mx-mismatch",
    [STS_REASON_NO_MX] = "no-mx",
    [STS_REASON_NULL_MX] = "null-mx",
    [STS_REASON_TRUSTED_RELAY] = "trusted-relay",
    [STS_REASON_RELAY_MX_MATCH] = "relay-mx-match",
    [STS_REASON_UNTRUSTED_RELAY] = "untrusted-relay",
    [STS_REASON_ROUTE_UNKNOWN] = "route-unknown",
    [STS_REASON_OVERRIDE_MATCH] = "override-enforce-match",
    [STS_REASON_OVERRIDE_MISMATCH] = "override-enforce-mismatch",
    [STS_REASON_DNS_ERROR] = "dns-error",
    [STS_REASON_DISCOVERY_TIMEOUT] = "discovery-timeout",
    [STS_REASON_STORE_ERROR] = "store-error",
    [STS_REASON_INTERNAL_ERROR] = "internal-error",
    [STS_REASON_DANE_MATCH] = "dane-match",
    [STS_REASON_TLS_PENDING] = "tls-pending",
    [STS_REASON_MX_UNREACHABLE] = "mx-unreachable",
    [STS_REASON_STARTTLS_NOT_SUPPORTED] = "starttls-not-supported",
    [STS_REASON_CERT_HOST_MISMATCH] = "certificate-host-mismatch",
    [STS_REASON_CERT_EXPIRED] = "certificate-expired",
    [STS_REASON_CERT_NOT_TRUSTED] = "certificate-not-trusted",
    [STS_REASON_VALIDATION_FAILURE] = "validation-failure",
    [STS_REASON_TLSA_INVALID] = "tlsa-invalid",
    [STS_REASON_DNSSEC_INVALID] = "dnssec-invalid",
    [STS_REASON_DANE_REQUIRED] = "dane-required",
};

/* The reason for an RFC 8460 failure result; MX_UNREACHABLE for others. */
static enum sts_verdict_reason reason_of_tls(enum sts_tls_result r)
{
    switch (r) {
    case STS_TLS_STARTTLS_NOT_SUPPORTED:
        return STS_REASON_STARTTLS_NOT_SUPPORTED;
    case STS_TLS_CERT_HOST_MISMATCH:
        return STS_REASON_CERT_HOST_MISMATCH;
    case STS_TLS_CERT_EXPIRED:
        return STS_REASON_CERT_EXPIRED;
    case STS_TLS_CERT_NOT_TRUSTED:
        return STS_REASON_CERT_NOT_TRUSTED;
    case STS_TLS_VALIDATION_FAILURE:
        return STS_REASON_VALIDATION_FAILURE;
    case STS_TLS_TLSA_INVALID:
        return STS_REASON_TLSA_INVALID;
    case STS_TLS_DNSSEC_INVALID:
        return STS_REASON_DNSSEC_INVALID;
    case STS_TLS_DANE_REQUIRED:
        return STS_REASON_DANE_REQUIRED;
    default:
        return STS_REASON_MX_UNREACHABLE;
    }
}

static bool is_tls_failure_reason(enum sts_verdict_reason r)
{
    return r >= STS_REASON_STARTTLS_NOT_SUPPORTED && r <= STS_REASON_DANE_REQUIRED;
}

/* The enhanced status code of each failing reason (see verdict.h). */
static const char *xcode_of(enum sts_verdict_reason r)
{
    switch (r) {
    case STS_REASON_MX_MISMATCH:
    case STS_REASON_OVERRIDE_MISMATCH:
    case STS_REASON_UNTRUSTED_RELAY:
        return "4.7.0";
    case STS_REASON_NO_MX:
        return "4.4.4";
    case STS_REASON_ROUTE_UNKNOWN:
        return "4.3.5";
    case STS_REASON_DNS_ERROR:
    case STS_REASON_DISCOVERY_TIMEOUT:
        return "4.4.3";
    case STS_REASON_STARTTLS_NOT_SUPPORTED:
        return "4.7.4";
    case STS_REASON_CERT_HOST_MISMATCH:
    case STS_REASON_CERT_EXPIRED:
    case STS_REASON_CERT_NOT_TRUSTED:
    case STS_REASON_VALIDATION_FAILURE:
    case STS_REASON_TLSA_INVALID:
    case STS_REASON_DNSSEC_INVALID:
    case STS_REASON_DANE_REQUIRED:
        return "4.7.5";
    case STS_REASON_MX_UNREACHABLE:
        return "4.4.1";
    case STS_REASON_TLS_PENDING:
        return "4.7.0";
    default:
        return "4.3.0";
    }
}

/* Printable ASCII without "%" (smfi_setreply() formats it); '?' else. */
static void sanitize(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e || *s == '%')
            *s = '?';
}

static void reply_text(struct sts_verdict_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void reply_text(struct sts_verdict_reply *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->text, sizeof(r->text), fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof(r->text))
        memcpy(r->text + sizeof(r->text) - 4, "...", 4);
    sanitize(r->text);
}

/* What the recipient was judged against, for the reply text. */
static void basis_phrase(const struct sts_verdict *v, char *buf, size_t len)
{
    if (v->override == STS_OVERRIDE_ENFORCE)
        snprintf(buf, len, "local MTA-STS override");
    else if (v->override == STS_OVERRIDE_DANE)
        snprintf(buf, len, "local DANE requirement");
    else if (v->policy_id[0] != '\0')
        snprintf(buf, len, "MTA-STS policy id %s", v->policy_id);
    else
        snprintf(buf, len, "MTA-STS policy");
}

/* Up to three MX hosts, comma-separated, then ", ..." when more or cut. */
static void mx_list(const struct sts_verdict_input *in, char *buf, size_t len)
{
    static const char more[] = ", ...";
    size_t o = 0, shown = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < in->mx_count; i++) {
        const char *h = in->mx[i];
        if (h == NULL || h[0] == '\0' || strcmp(h, ".") == 0)
            continue;
        size_t need = strnlen(h, len) + (shown > 0 ? 2 : 0);
        if (shown == 3 || o + need + sizeof(more) > len) {
            snprintf(buf + o, len - o, "%s", shown > 0 ? more : "...");
            return;
        }
        o += (size_t)snprintf(buf + o, len - o, "%s%s", shown > 0 ? ", " : "", h);
        shown++;
    }
}

static void fill_reply(const struct sts_verdict_input *in, struct sts_verdict *v,
                       const char *detail)
{
    struct sts_verdict_reply *r = &v->reply;
    const char *d =
        in != NULL && in->domain != NULL && in->domain[0] != '\0' ? in->domain : "recipient";
    char basis[STS_TXT_ID_MAX + 32];
    char hosts[160];

    memcpy(r->code, "451", 4);
    snprintf(r->xcode, sizeof(r->xcode), "%s", xcode_of(v->reason));
    basis_phrase(v, basis, sizeof(basis));
    if (is_tls_failure_reason(v->reason)) {
        reply_text(r, "MTA-STS: %s: MX host %s failed the %s check (%s): %s%s%s", d,
                   v->mx[0] ? v->mx : "?", v->dane ? "DANE" : "TLS", basis,
                   sts_verdict_reason_name(v->reason), detail ? ": " : "", detail ? detail : "");
        return;
    }
    switch (v->reason) {
    case STS_REASON_MX_MISMATCH:
    case STS_REASON_OVERRIDE_MISMATCH:
        mx_list(in, hosts, sizeof(hosts));
        reply_text(r, "MTA-STS: %s: none of its MX hosts (%s) is permitted (%s)", d, hosts, basis);
        break;
    case STS_REASON_NO_MX:
        reply_text(r, "MTA-STS: %s has no MX host to deliver to (%s)", d, basis);
        break;
    case STS_REASON_UNTRUSTED_RELAY:
        reply_text(r,
                   "MTA-STS: %s requires verified TLS to its MX hosts (%s), but mail for it is "
                   "routed via %s, which is not a trusted relay",
                   d, basis, in != NULL && in->route != NULL ? in->route->hop : "?");
        break;
    case STS_REASON_ROUTE_UNKNOWN: {
        const char *why = in != NULL && in->route != NULL ? in->route->why : NULL;
        bool retry = why != NULL && strcmp(why, "retry-mailer") == 0;
        reply_text(r,
                   "MTA-STS: %s requires verified TLS to its MX hosts (%s), but the MTA did not "
                   "say how it routes this recipient (%s)",
                   d, basis,
                   retry ? "deferred by the retry transport" : "check milter_rcpt_macros");
        break;
    }
    case STS_REASON_DNS_ERROR:
        reply_text(r,
                   "MTA-STS: %s: DNS lookup failed while checking its MTA-STS policy, try "
                   "again later",
                   d);
        break;
    case STS_REASON_DISCOVERY_TIMEOUT:
        reply_text(r, "MTA-STS: %s: its MTA-STS policy is still being fetched, try again later", d);
        break;
    case STS_REASON_TLS_PENDING:
        reply_text(r,
                   "MTA-STS: %s: the TLS check of its MX hosts (%s) has not finished, try "
                   "again later",
                   d, basis);
        break;
    case STS_REASON_MX_UNREACHABLE:
        reply_text(r,
                   "MTA-STS: %s: none of its permitted MX hosts could be reached for the TLS "
                   "check (%s), try again later",
                   d, basis);
        break;
    case STS_REASON_STORE_ERROR:
        reply_text(r, "MTA-STS: %s: the MTA-STS policy cache is unavailable, try again later", d);
        break;
    default:
        reply_text(r, "MTA-STS: %s: internal error while checking MTA-STS, try again later", d);
        break;
    }
}

static enum sts_action effective_action(const struct sts_verdict_input *in,
                                        const struct sts_verdict *v)
{
    if (!v->would_fail)
        return STS_ACTION_PASS;
    if (in == NULL)
        return STS_ACTION_TEMPFAIL; /* no input: the internal-error default */
    if (in->mode != STS_MILTER_ENFORCE)
        return STS_ACTION_PASS;
    if (v->mode_known && v->mode != STS_MODE_ENFORCE)
        return STS_ACTION_PASS; /* a testing policy never fails (§5) */
    return STS_ACTION_TEMPFAIL;
}

/* Finish a verdict: action from would_fail, reply when failing. */
static void conclude_detail(const struct sts_verdict_input *in, struct sts_verdict *v,
                            enum sts_verdict_reason reason, bool fail, const char *detail)
{
    v->reason = reason;
    v->would_fail = fail;
    v->action = effective_action(in, v);
    if (fail)
        fill_reply(in, v, detail);
}

static void conclude(const struct sts_verdict_input *in, struct sts_verdict *v,
                     enum sts_verdict_reason reason, bool fail)
{
    conclude_detail(in, v, reason, fail, NULL);
}

/* A failure class: the configured action decides would_fail. */
static void failure_class(const struct sts_verdict_input *in, struct sts_verdict *v,
                          enum sts_verdict_reason reason)
{
    /* No facts at all is a caller bug: never accept silently. */
    static const struct sts_verdict_on_failure no_input = {.internal_error = STS_ACTION_TEMPFAIL};
    const struct sts_verdict_on_failure *f = in != NULL ? &in->on_failure : &no_input;
    enum sts_action a;
    switch (reason) {
    case STS_REASON_DNS_ERROR:
        a = f->dns_error;
        break;
    case STS_REASON_DISCOVERY_TIMEOUT:
        a = f->discovery_timeout;
        break;
    case STS_REASON_STORE_ERROR:
        a = f->store_error;
        break;
    case STS_REASON_TLS_PENDING:
    case STS_REASON_MX_UNREACHABLE:
        a = f->tls_unknown;
        break;
    default:
        a = f->internal_error;
        break;
    }
    conclude(in, v, reason, a == STS_ACTION_TEMPFAIL);
}

/* Does a list of patterns (the policy's or the override's) permit host? */
static bool permits(const struct sts_policy *policy, const struct sts_verdict_override *ov,
                    const char *host)
{
    if (ov != NULL) {
        for (size_t i = 0; i < ov->count; i++)
            if (ov->patterns != NULL && ov->patterns[i] != NULL &&
                sts_mx_match(ov->patterns[i], host))
                return true;
        return false;
    }
    return sts_policy_permits_mx(policy, host);
}

static bool is_null_mx(const char *h)
{
    return h == NULL || h[0] == '\0' || strcmp(h, ".") == 0;
}

static void set_mx(struct sts_verdict *v, const char *host)
{
    size_t len = strnlen(host, sizeof(v->mx));
    if (len >= sizeof(v->mx))
        len = sizeof(v->mx) - 1;
    for (size_t i = 0; i < len; i++)
        v->mx[i] = (host[i] >= 'A' && host[i] <= 'Z') ? (char)(host[i] - 'A' + 'a') : host[i];
    v->mx[len] = '\0';
    if (len > 0 && v->mx[len - 1] == '.')
        v->mx[len - 1] = '\0';
}

static bool trusted(const struct sts_verdict_input *in)
{
    for (size_t i = 0; i < in->trusted_count; i++)
        if (in->trusted_relays != NULL &&
            sts_route_hop_equal(in->trusted_relays[i], in->route->hop))
            return true;
    return false;
}

/* Step 8 of verdict.h: the candidates' TLS.  first: the first real MX host. */
static void judge_tls(const struct sts_verdict_input *in, struct sts_verdict *v,
                      const struct sts_policy *policy, const struct sts_verdict_override *ov,
                      const char *first)
{
    bool dane_override = ov != NULL && ov->kind == STS_OVERRIDE_DANE;
    size_t pass = SIZE_MAX, pending = SIZE_MAX, failed = SIZE_MAX, reached = SIZE_MAX;
    for (size_t i = 0; i < in->mx_count; i++) {
        const char *h = in->mx[i];
        const struct sts_tls_verdict *t = &in->mx_tls[i];
        if (is_null_mx(h) || !(dane_override || t->dane || permits(policy, ov, h)))
            continue;
        if (reached == SIZE_MAX)
            reached = i; /* the first candidate */
        if (!t->known) {
            if (pending == SIZE_MAX)
                pending = i;
        } else if (t->result == STS_TLS_PASS) {
            if (pass == SIZE_MAX)
                pass = i;
        } else if (t->result != STS_TLS_UNREACHABLE && (unsigned)t->result < STS_TLS_RESULT_COUNT) {
            if (failed == SIZE_MAX)
                failed = i;
        }
    }
    size_t at = pass != SIZE_MAX      ? pass
                : pending != SIZE_MAX ? pending
                : failed != SIZE_MAX  ? failed
                                      : reached;
    if (at == SIZE_MAX) { /* no candidate at all */
        set_mx(v, first);
        bool o = ov != NULL;
        conclude(in, v, o ? STS_REASON_OVERRIDE_MISMATCH : STS_REASON_MX_MISMATCH, true);
        return;
    }
    const struct sts_tls_verdict *t = &in->mx_tls[at];
    set_mx(v, in->mx[at]);
    v->dane = t->dane;
    v->tls_known = t->known;
    v->tls_result = t->result;
    if (at == pass)
        conclude(in, v,
                 t->dane                                          ? STS_REASON_DANE_MATCH
                 : ov != NULL && ov->kind == STS_OVERRIDE_ENFORCE ? STS_REASON_OVERRIDE_MATCH
                                                                  : STS_REASON_MX_MATCH,
                 false);
    else if (at == pending)
        failure_class(in, v, STS_REASON_TLS_PENDING);
    else if (at == failed)
        conclude_detail(in, v, reason_of_tls(t->result), true,
                        t->detail[0] != '\0' ? t->detail : NULL);
    else
        failure_class(in, v, STS_REASON_MX_UNREACHABLE);
}

/* Step 7 of verdict.h: the route against the patterns. */
static void judge(const struct sts_verdict_input *in, struct sts_verdict *v,
                  const struct sts_policy *policy, const struct sts_verdict_override *ov)
{
    const struct sts_route *rt = in->route;
    enum sts_route_kind kind = rt != NULL ? rt->kind : STS_ROUTE_UNKNOWN;

    if (kind == STS_ROUTE_RELAY) {
        if (trusted(in)) {
            conclude(in, v, STS_REASON_TRUSTED_RELAY, false);
            return;
        }
        if (rt->bracketed && !rt->host_is_literal && rt->host[0] != '\0' &&
            permits(policy, ov, rt->host)) {
            set_mx(v, rt->host);
            conclude(in, v, STS_REASON_RELAY_MX_MATCH, false);
            return;
        }
        conclude(in, v, STS_REASON_UNTRUSTED_RELAY, true);
        return;
    }
    if (kind != STS_ROUTE_DIRECT) {
        conclude(in, v, STS_REASON_ROUTE_UNKNOWN, true);
        return;
    }

    if (in->mx_bogus) {
        v->tls_known = true;
        v->tls_result = STS_TLS_DNSSEC_INVALID;
        conclude_detail(in, v, STS_REASON_DNSSEC_INVALID, true,
                        "the MX records failed DNSSEC validation");
        return;
    }
    if (in->mx_dns_error) {
        failure_class(in, v, STS_REASON_DNS_ERROR);
        return;
    }
    size_t mx_count = in->mx != NULL ? in->mx_count : 0;
    if (mx_count == 0) {
        conclude(in, v, STS_REASON_NO_MX, true);
        return;
    }
    const char *first = NULL, *match = NULL;
    for (size_t i = 0; i < mx_count; i++) {
        const char *h = in->mx[i];
        if (is_null_mx(h))
            continue;
        if (first == NULL)
            first = h;
        if (permits(policy, ov, h)) {
            if (match == NULL)
                match = h;
        } else {
            v->mx_mismatched++;
        }
    }
    if (first == NULL) {
        conclude(in, v, STS_REASON_NULL_MX, false); /* RFC 7505: no delivery at all */
        return;
    }
    if (in->mx_tls != NULL) {
        judge_tls(in, v, policy, ov, first);
        return;
    }
    set_mx(v, match != NULL ? match : first);
    if (ov != NULL)
        conclude(in, v, match != NULL ? STS_REASON_OVERRIDE_MATCH : STS_REASON_OVERRIDE_MISMATCH,
                 match == NULL);
    else
        conclude(in, v, match != NULL ? STS_REASON_MX_MATCH : STS_REASON_MX_MISMATCH,
                 match == NULL);
}

static bool has_domain(const struct sts_verdict_input *in)
{
    return in->domain != NULL && in->domain[0] != '\0';
}

static enum sts_override_kind override_kind(const struct sts_verdict_input *in)
{
    if (in->override == NULL)
        return STS_OVERRIDE_NONE;
    switch (in->override->kind) {
    case STS_OVERRIDE_SKIP:
    case STS_OVERRIDE_ENFORCE:
    case STS_OVERRIDE_DANE:
        return in->override->kind;
    default:
        return STS_OVERRIDE_NONE;
    }
}

static bool is_local(const struct sts_verdict_input *in)
{
    return in->route != NULL && in->route->kind == STS_ROUTE_LOCAL;
}

void sts_verdict_decide(const struct sts_verdict_input *in, struct sts_verdict *out)
{
    memset(out, 0, sizeof(*out));
    if (in == NULL) {
        failure_class(in, out, STS_REASON_INTERNAL_ERROR);
        return;
    }

    enum sts_override_kind ok = override_kind(in);
    if (ok == STS_OVERRIDE_SKIP) {
        out->override = ok;
        conclude(in, out, STS_REASON_OVERRIDE_SKIP, false);
        return;
    }
    if (is_local(in)) {
        conclude(in, out, STS_REASON_NOT_OUTBOUND, false);
        return;
    }
    if (!has_domain(in)) {
        conclude(in, out, STS_REASON_NO_DOMAIN, false);
        return;
    }
    if (in->internal_error) {
        failure_class(in, out, STS_REASON_INTERNAL_ERROR);
        return;
    }
    if (ok == STS_OVERRIDE_ENFORCE || ok == STS_OVERRIDE_DANE) {
        out->override = ok;
        out->mode_known = true;
        out->mode = STS_MODE_ENFORCE;
        judge(in, out, NULL, in->override);
        return;
    }

    switch (in->lookup) {
    case STS_LOOKUP_TEMPFAIL:
        failure_class(in, out, STS_REASON_DNS_ERROR);
        return;
    case STS_LOOKUP_PENDING:
        failure_class(in, out, STS_REASON_DISCOVERY_TIMEOUT);
        return;
    case STS_LOOKUP_ERROR:
        failure_class(in, out, STS_REASON_STORE_ERROR);
        return;
    case STS_LOOKUP_NO_POLICY:
        out->mode_known = true;
        out->mode = STS_MODE_NONE;
        conclude(in, out, STS_REASON_NO_POLICY, false);
        return;
    case STS_LOOKUP_POLICY:
        break;
    default:
        failure_class(in, out, STS_REASON_INTERNAL_ERROR);
        return;
    }

    const struct sts_policy *p = in->policy;
    if (p == NULL ||
        (p->mode != STS_MODE_NONE && p->mode != STS_MODE_TESTING && p->mode != STS_MODE_ENFORCE)) {
        failure_class(in, out, STS_REASON_INTERNAL_ERROR);
        return;
    }
    out->mode_known = true;
    out->mode = p->mode;
    if (in->policy_id != NULL)
        snprintf(out->policy_id, sizeof(out->policy_id), "%s", in->policy_id);
    if (p->mode == STS_MODE_NONE) {
        conclude(in, out, STS_REASON_POLICY_NONE, false);
        return;
    }
    judge(in, out, p, NULL);
}

bool sts_verdict_needs_lookup(const struct sts_verdict_input *in)
{
    if (in == NULL || override_kind(in) != STS_OVERRIDE_NONE || is_local(in) || !has_domain(in) ||
        in->internal_error)
        return false;
    return true;
}

bool sts_verdict_needs_mx(const struct sts_verdict_input *in)
{
    if (in == NULL || in->route == NULL || in->route->kind != STS_ROUTE_DIRECT)
        return false;
    enum sts_override_kind ok = override_kind(in);
    if (ok == STS_OVERRIDE_SKIP || !has_domain(in) || in->internal_error)
        return false;
    if (ok == STS_OVERRIDE_ENFORCE || ok == STS_OVERRIDE_DANE)
        return true;
    return in->lookup == STS_LOOKUP_POLICY && in->policy != NULL &&
           (in->policy->mode == STS_MODE_TESTING || in->policy->mode == STS_MODE_ENFORCE);
}

const char *sts_verdict_reason_name(enum sts_verdict_reason reason)
{
    if ((unsigned)reason >= STS_REASON_COUNT)
        return "internal-error";
    return reason_names[reason];
}
