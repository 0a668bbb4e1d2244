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

#include "mtasts/destination.h"
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
    [STS_REASON_OVERRIDE_VERIFY_MATCH] = "override-verify-match",
    [STS_REASON_OVERRIDE_ENCRYPT_MATCH] = "override-encrypt-match",
    [STS_REASON_LEARNED_MATCH] = "learned-tls-match",
    [STS_REASON_LEARNED_DOWNGRADE] = "learned-tls-downgrade",
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
    case STS_REASON_LEARNED_DOWNGRADE:
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
    else if (v->override == STS_OVERRIDE_VERIFY)
        snprintf(buf, len, "local verified-TLS requirement");
    else if (v->override == STS_OVERRIDE_ENCRYPT)
        snprintf(buf, len, "local TLS requirement");
    else if (v->reason == STS_REASON_LEARNED_DOWNGRADE)
        snprintf(buf, len, "TLS learned by LearnTLS");
    else if (v->dane && v->policy_id[0] == '\0')
        snprintf(buf, len, "DANE, RFC 7672");
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
    if (v->reason == STS_REASON_DNSSEC_INVALID && v->mx[0] == '\0') {
        reply_text(r,
                   "MTA-STS: %s: dnssec-invalid: %s, so no MX host may be trusted (RFC 7672), "
                   "try again later",
                   d, detail ? detail : "DNSSEC validation failed");
        return;
    }
    if (v->reason == STS_REASON_LEARNED_DOWNGRADE) {
        reply_text(r,
                   "MTA-STS: %s: MX host %s offered verified TLS before and now fails it (%s): "
                   "%s%s%s, possible downgrade, try again later",
                   d, v->mx[0] ? v->mx : "?", basis, sts_tls_result_name(v->tls_result),
                   detail ? ": " : "", detail ? detail : "");
        return;
    }
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
    if (v->mode_known && v->mode != STS_MODE_ENFORCE && !v->enforced)
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

/*
 * The destination's requirement per host (destination.h).  Without DANE
 * facts, a host whose probe was judged by DANE counts as DANE-governed.
 */
static void destination_of(const struct sts_verdict_input *in, const struct sts_policy *policy,
                           const struct sts_verdict_override *ov, struct sts_destination *d)
{
    enum sts_dane_state dane[STS_DESTINATION_MX_MAX];
    const enum sts_dane_state *facts = in->mx_dane;
    size_t n = in->mx_count < STS_DESTINATION_MX_MAX ? in->mx_count : STS_DESTINATION_MX_MAX;
    if (facts == NULL && in->mx_tls != NULL) {
        for (size_t i = 0; i < n; i++)
            dane[i] = in->mx_tls[i].dane ? STS_DANE_USABLE : STS_DANE_NOT_APPLICABLE;
        facts = dane;
    }
    struct sts_destination_input di = {
        .override = ov != NULL ? ov->kind : STS_OVERRIDE_NONE,
        .patterns = ov != NULL ? ov->patterns : NULL,
        .npatterns = ov != NULL ? ov->count : 0,
        .policy = policy,
        .learned = in->learned,
        .mx_bogus = in->mx_bogus,
        .mx = in->mx,
        .mx_count = n,
        .dane = facts,
    };
    sts_destination_decide(&di, d);
}

/* The pass reason of a candidate that met its requirement. */
static enum sts_verdict_reason pass_reason(const struct sts_destination *d,
                                           enum sts_tls_requirement req)
{
    switch (req) {
    case STS_REQUIRE_DANE:
        return STS_REASON_DANE_MATCH;
    case STS_REQUIRE_NONE:
        return STS_REASON_NO_POLICY;
    default:
        break;
    }
    switch (d->override) {
    case STS_OVERRIDE_ENFORCE:
        return STS_REASON_OVERRIDE_MATCH;
    case STS_OVERRIDE_VERIFY:
        return STS_REASON_OVERRIDE_VERIFY_MATCH;
    case STS_OVERRIDE_ENCRYPT:
        return STS_REASON_OVERRIDE_ENCRYPT_MATCH;
    default:
        return d->learned ? STS_REASON_LEARNED_MATCH : STS_REASON_MX_MATCH;
    }
}

/* A failed TLS check: its RFC 8460 type, or the downgrade of learned TLS. */
static enum sts_verdict_reason fail_reason(const struct sts_destination *d,
                                           enum sts_tls_requirement req,
                                           const struct sts_tls_verdict *t)
{
    if (d->learned && req != STS_REQUIRE_DANE)
        return STS_REASON_LEARNED_DOWNGRADE;
    if (req == STS_REQUIRE_ENCRYPT && t->result == STS_TLS_PASS)
        return STS_REASON_VALIDATION_FAILURE; /* a pass without a TLS 1.2+ session */
    return reason_of_tls(t->result);
}

/* Is a known verdict a failure of req (not just unreachable)? */
static bool failed_check(enum sts_tls_requirement req, const struct sts_tls_verdict *t)
{
    if (t->result == STS_TLS_UNREACHABLE || (unsigned)t->result >= STS_TLS_RESULT_COUNT)
        return false;
    return !sts_destination_met(req, t);
}

/* Step 8 of verdict.h: each candidate's TLS against its requirement. */
static void judge_tls(const struct sts_verdict_input *in, struct sts_verdict *v,
                      const struct sts_destination *d, const char *first)
{
    size_t pass = SIZE_MAX, pending = SIZE_MAX, failed = SIZE_MAX, reached = SIZE_MAX;
    for (size_t i = 0; i < d->count; i++) {
        if (!d->candidate[i])
            continue;
        const struct sts_tls_verdict *t = &in->mx_tls[i];
        if (reached == SIZE_MAX)
            reached = i; /* the first candidate */
        if (sts_destination_met(d->req[i], t)) {
            if (pass == SIZE_MAX)
                pass = i;
        } else if (!t->known) {
            if (pending == SIZE_MAX)
                pending = i;
        } else if (failed_check(d->req[i], t)) {
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
        bool o = d->override == STS_OVERRIDE_ENFORCE;
        conclude(in, v, o ? STS_REASON_OVERRIDE_MISMATCH : STS_REASON_MX_MISMATCH, true);
        return;
    }
    const struct sts_tls_verdict *t = &in->mx_tls[at];
    set_mx(v, in->mx[at]);
    v->dane = d->req[at] == STS_REQUIRE_DANE || t->dane;
    v->enforced = d->req[at] == STS_REQUIRE_DANE || (d->learned && in->learn_enforce);
    v->tls_known = t->known;
    v->tls_result = t->result;
    if (at == pass)
        conclude(in, v, pass_reason(d, d->req[at]), false);
    else if (at == pending)
        failure_class(in, v, STS_REASON_TLS_PENDING);
    else if (at == failed)
        conclude_detail(in, v, fail_reason(d, d->req[at], t), true,
                        t->detail[0] != '\0' ? t->detail : NULL);
    else
        failure_class(in, v, STS_REASON_MX_UNREACHABLE);
}

/*
 * Step 7c of verdict.h without TLS checks: a candidate is enough.  DANE
 * cannot be seen without a probe: hosts that require it do not count for
 * a policy or an override (a "dane" override fails, as every host needs
 * DANE), and a domain without either passes (delivery enforces DANE).
 */
static void judge_patterns(const struct sts_verdict_input *in, struct sts_verdict *v,
                           const struct sts_destination *d, bool rule, const char *first)
{
    const char *match = NULL;
    enum sts_tls_requirement req = STS_REQUIRE_NONE;
    for (size_t i = 0; i < d->count && match == NULL; i++)
        if (d->candidate[i] && d->req[i] != STS_REQUIRE_DANE) {
            match = in->mx[i];
            req = d->req[i];
        }
    set_mx(v, match != NULL ? match : first);
    if (match != NULL)
        conclude(in, v, pass_reason(d, req), false);
    else if (d->ndane > 0 && !rule)
        conclude(in, v, STS_REASON_NO_POLICY, false);
    else
        conclude(in, v,
                 d->override != STS_OVERRIDE_NONE ? STS_REASON_OVERRIDE_MISMATCH
                                                  : STS_REASON_MX_MISMATCH,
                 true);
}

/* Step 7c of verdict.h: a DIRECT route, the MX set against the requirement. */
static void judge_direct(const struct sts_verdict_input *in, struct sts_verdict *v,
                         const struct sts_policy *policy, const struct sts_verdict_override *ov)
{
    if (in->mx_bogus) {
        v->tls_known = true;
        v->tls_result = STS_TLS_DNSSEC_INVALID;
        v->enforced = true; /* RFC 7672 §2.1.1: an attack signal, never "no policy" */
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
    const char *first = NULL;
    for (size_t i = 0; i < mx_count; i++) {
        const char *h = in->mx[i];
        if (is_null_mx(h))
            continue;
        if (first == NULL)
            first = h;
        if (policy != NULL || (ov != NULL && ov->kind == STS_OVERRIDE_ENFORCE))
            if (!permits(policy, ov, h))
                v->mx_mismatched++;
    }
    if (first == NULL) {
        conclude(in, v, STS_REASON_NULL_MX, false); /* RFC 7505: no delivery at all */
        return;
    }
    struct sts_destination d;
    destination_of(in, policy, ov, &d);
    v->require = sts_destination_strongest(&d);
    if (in->mx_tls != NULL)
        judge_tls(in, v, &d, first);
    else
        judge_patterns(in, v, &d, policy != NULL || ov != NULL, first);
}

/* Steps 7-8 of verdict.h.  Without a policy or override: DANE (or learned TLS) only. */
static void judge(const struct sts_verdict_input *in, struct sts_verdict *v,
                  const struct sts_policy *policy, const struct sts_verdict_override *ov)
{
    const struct sts_route *rt = in->route;
    enum sts_route_kind kind = rt != NULL ? rt->kind : STS_ROUTE_UNKNOWN;
    bool rule = policy != NULL || ov != NULL; /* patterns or a site level apply */

    if (kind == STS_ROUTE_DIRECT) {
        judge_direct(in, v, policy, ov);
        return;
    }
    if (!rule) { /* DANE and learned TLS judge the MX hosts only */
        conclude(in, v, STS_REASON_NO_POLICY, false);
        return;
    }
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
    conclude(in, v, STS_REASON_ROUTE_UNKNOWN, true);
}

/*
 * Without a policy (none, or mode none): is there still something to
 * judge on a DIRECT route?  A bogus MX RRset, a host that requires DANE,
 * or a learned requirement (RFC 7672 §2.2; LearnTLS).
 */
static bool needs_judging_without_policy(const struct sts_verdict_input *in)
{
    if (in->route == NULL || in->route->kind != STS_ROUTE_DIRECT)
        return false;
    if (in->mx_bogus || in->learned)
        return true;
    if (in->mx_dns_error || in->mx == NULL)
        return false;
    for (size_t i = 0; i < in->mx_count; i++) {
        if (is_null_mx(in->mx[i]))
            continue;
        if (in->mx_dane != NULL &&
            (in->mx_dane[i] == STS_DANE_USABLE || in->mx_dane[i] == STS_DANE_BOGUS ||
             in->mx_dane[i] == STS_DANE_FAILED))
            return true;
        if (in->mx_dane == NULL && in->mx_tls != NULL && in->mx_tls[i].dane)
            return true;
    }
    return false;
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
    case STS_OVERRIDE_VERIFY:
    case STS_OVERRIDE_ENCRYPT:
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
    if (ok != STS_OVERRIDE_NONE) { /* enforce, dane, verify, encrypt */
        out->override = ok;
        out->mode_known = true;
        out->mode = STS_MODE_ENFORCE;
        judge(in, out, NULL, in->override);
        return;
    }

    switch (in->lookup) {
    case STS_LOOKUP_TEMPFAIL:
        if (in->lookup_reason == STS_LOOKUP_REASON_DNS_BOGUS) {
            /* RFC 8460 §4.3.2: an attack signal, never "no policy" */
            out->enforced = true;
            out->tls_known = true;
            out->tls_result = STS_TLS_DNSSEC_INVALID;
            conclude_detail(in, out, STS_REASON_DNSSEC_INVALID, true,
                            "the _mta-sts TXT record failed DNSSEC validation");
            return;
        }
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
        if (needs_judging_without_policy(in))
            judge(in, out, NULL, NULL);
        else
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
        if (!needs_judging_without_policy(in))
            conclude(in, out, STS_REASON_POLICY_NONE, false);
        else if (judge(in, out, NULL, NULL), out->reason == STS_REASON_NO_POLICY)
            out->reason = STS_REASON_POLICY_NONE; /* no DANE host decided */
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
    if (ok != STS_OVERRIDE_NONE)
        return true;
    if (in->lookup == STS_LOOKUP_POLICY && in->policy != NULL &&
        (in->policy->mode == STS_MODE_TESTING || in->policy->mode == STS_MODE_ENFORCE))
        return true;
    /* Without a policy only DANE, a bogus MX RRset or learned TLS can say more. */
    bool no_policy = in->lookup == STS_LOOKUP_NO_POLICY ||
                     (in->lookup == STS_LOOKUP_POLICY && in->policy != NULL &&
                      in->policy->mode == STS_MODE_NONE);
    return no_policy && (in->dane_possible || in->learned);
}

const char *sts_verdict_reason_name(enum sts_verdict_reason reason)
{
    if ((unsigned)reason >= STS_REASON_COUNT)
        return "internal-error";
    return reason_names[reason];
}

void sts_verdict_destination(const struct sts_verdict_input *in, struct sts_destination *out)
{
    enum sts_override_kind ok = in != NULL ? override_kind(in) : STS_OVERRIDE_NONE;
    const struct sts_verdict_override *ov =
        ok != STS_OVERRIDE_NONE && ok != STS_OVERRIDE_SKIP ? in->override : NULL;
    const struct sts_policy *p =
        in != NULL && ov == NULL && in->lookup == STS_LOOKUP_POLICY ? in->policy : NULL;
    if (in == NULL) {
        sts_destination_decide(NULL, out);
        return;
    }
    destination_of(in, p, ov, out);
}
