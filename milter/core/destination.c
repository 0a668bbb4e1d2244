/*
 * destination.c - the per-host transport-security requirement of a
 * destination (see destination.h for the rules, applied here in order).
 */
#include "mtasts/destination.h"

#include <string.h>

#include "mtasts/mx_match.h"

static bool is_null_mx(const char *h)
{
    return h == NULL || h[0] == '\0' || strcmp(h, ".") == 0;
}

/* Rule 4: a secure MX RRset's host whose TLSA RRset DANE decides. */
static bool dane_governs(const struct sts_destination_input *in, size_t i)
{
    if (in->dane == NULL)
        return false;
    switch (in->dane[i]) {
    case STS_DANE_USABLE:
    case STS_DANE_BOGUS:
    case STS_DANE_FAILED:
        return true;
    default:
        return false;
    }
}

static bool override_permits(const struct sts_destination_input *in, const char *host)
{
    for (size_t i = 0; i < in->npatterns; i++)
        if (in->patterns != NULL && in->patterns[i] != NULL && sts_mx_match(in->patterns[i], host))
            return true;
    return false;
}

/* Rule 5 for one host without DANE; *candidate false: mail must not go there. */
static enum sts_tls_requirement by_rule(const struct sts_destination_input *in, const char *host,
                                        bool *candidate)
{
    *candidate = true;
    switch (in->override) {
    case STS_OVERRIDE_DANE:
        return STS_REQUIRE_DANE;
    case STS_OVERRIDE_ENFORCE:
        *candidate = override_permits(in, host);
        return STS_REQUIRE_SECURE;
    case STS_OVERRIDE_VERIFY:
        return STS_REQUIRE_VERIFY;
    case STS_OVERRIDE_ENCRYPT:
        return STS_REQUIRE_ENCRYPT;
    default:
        break;
    }
    const struct sts_policy *p = in->policy;
    if (p != NULL && (p->mode == STS_MODE_ENFORCE || p->mode == STS_MODE_TESTING)) {
        *candidate = sts_policy_permits_mx(p, host);
        return STS_REQUIRE_SECURE;
    }
    return in->learned ? STS_REQUIRE_VERIFY : STS_REQUIRE_NONE;
}

void sts_destination_decide(const struct sts_destination_input *in, struct sts_destination *out)
{
    memset(out, 0, sizeof(*out));
    if (in == NULL)
        return;
    out->override = in->override;
    if (in->override == STS_OVERRIDE_SKIP) {
        out->skip = true;
        return;
    }
    bool site = in->override != STS_OVERRIDE_NONE;
    out->testing = !site && in->policy != NULL && in->policy->mode == STS_MODE_TESTING;
    bool sts = !site && in->policy != NULL &&
               (in->policy->mode == STS_MODE_ENFORCE || in->policy->mode == STS_MODE_TESTING);
    out->learned = !site && !sts && in->learned;
    if (in->mx_bogus || in->mx_dnssec == STS_DNSSEC_BOGUS) {
        out->dnssec_invalid = true;
        return;
    }
    size_t n = in->mx != NULL ? in->mx_count : 0;
    if (n > STS_DESTINATION_MX_MAX)
        n = STS_DESTINATION_MX_MAX;
    out->count = n;
    size_t real = 0;
    for (size_t i = 0; i < n; i++) {
        const char *h = in->mx[i];
        if (is_null_mx(h))
            continue;
        real++;
        bool cand = true;
        enum sts_tls_requirement r = dane_governs(in, i) ? STS_REQUIRE_DANE : by_rule(in, h, &cand);
        out->req[i] = r;
        out->candidate[i] = cand;
        if (!cand)
            continue;
        out->ncandidates++;
        if (r == STS_REQUIRE_DANE)
            out->ndane++;
        if (r != STS_REQUIRE_NONE)
            out->nrequiring++;
    }
    out->dane = out->ndane == 0      ? STS_DANE_SUMMARY_NONE
                : out->ndane == real ? STS_DANE_SUMMARY_ONLY
                                     : STS_DANE_SUMMARY_SOME;
}

enum sts_tls_requirement sts_destination_strongest(const struct sts_destination *d)
{
    enum sts_tls_requirement best = STS_REQUIRE_NONE;
    /* Without a candidate, the rule that excluded every host still stands
     * (mail waits): its requirement, not NONE. */
    bool any = d != NULL && d->ncandidates > 0;
    for (size_t i = 0; d != NULL && i < d->count; i++)
        if ((d->candidate[i] || !any) && d->req[i] > best)
            best = d->req[i];
    return best;
}

bool sts_destination_met(enum sts_tls_requirement req, const struct sts_tls_verdict *t)
{
    if (req == STS_REQUIRE_NONE)
        return true;
    if (t == NULL || !t->known)
        return false;
    switch (req) {
    case STS_REQUIRE_ENCRYPT:
        /* A TLS 1.2+ session came up (the probe asks for no less); the
         * certificate does not matter. */
        return t->tls_version[0] != '\0' && t->result != STS_TLS_STARTTLS_NOT_SUPPORTED &&
               t->result != STS_TLS_UNREACHABLE && t->result != STS_TLS_DNSSEC_INVALID &&
               t->result != STS_TLS_DANE_REQUIRED;
    case STS_REQUIRE_DANE:
        return t->result == STS_TLS_PASS && t->dane;
    default:
        return t->result == STS_TLS_PASS;
    }
}
