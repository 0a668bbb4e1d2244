/*
 * vocab.c - the stable words of the shared enums (see vocab.h).
 */
#include "mtasts/vocab.h"

#include <stdio.h>
#include <string.h>

/* The word of v in a table indexed by the enum, or fallback. */
#define WORD_OF(table, v, fallback)                                                                \
    ((size_t)(v) < sizeof(table) / sizeof((table)[0]) && (table)[v] != NULL ? (table)[v]           \
                                                                            : (fallback))

const char *sts_milter_mode_name(enum sts_milter_mode mode)
{
    return mode == STS_MILTER_ENFORCE ? "enforce" : "audit";
}

const char *sts_action_name(enum sts_action action)
{
    return action == STS_ACTION_TEMPFAIL ? "tempfail" : "pass";
}

static const char *const override_names[] = {
    [STS_OVERRIDE_NONE] = "none",       [STS_OVERRIDE_SKIP] = "skip",
    [STS_OVERRIDE_ENFORCE] = "enforce", [STS_OVERRIDE_DANE] = "dane",
    [STS_OVERRIDE_ENCRYPT] = "encrypt", [STS_OVERRIDE_VERIFY] = "verify",
};

const char *sts_override_kind_name(enum sts_override_kind kind)
{
    return WORD_OF(override_names, kind, "none");
}

static const char *const requirement_names[] = {
    [STS_REQUIRE_NONE] = "none",     [STS_REQUIRE_ENCRYPT] = "encrypt",
    [STS_REQUIRE_VERIFY] = "verify", [STS_REQUIRE_SECURE] = "secure",
    [STS_REQUIRE_DANE] = "dane",
};

const char *sts_tls_requirement_name(enum sts_tls_requirement r)
{
    return WORD_OF(requirement_names, r, "none");
}

static const char *const dnssec_names[] = {
    [STS_DNSSEC_INSECURE] = "insecure",
    [STS_DNSSEC_SECURE] = "secure",
    [STS_DNSSEC_BOGUS] = "bogus",
};

const char *sts_dnssec_name(enum sts_dnssec s)
{
    return WORD_OF(dnssec_names, s, "insecure");
}

static const char *const dane_state_names[] = {
    [STS_DANE_NOT_APPLICABLE] = "not-applicable",
    [STS_DANE_NONE] = "none",
    [STS_DANE_UNUSABLE] = "unusable",
    [STS_DANE_USABLE] = "usable",
    [STS_DANE_BOGUS] = "bogus",
    [STS_DANE_FAILED] = "failed",
};

const char *sts_dane_state_name(enum sts_dane_state s)
{
    return WORD_OF(dane_state_names, s, "unknown");
}

static const char *const dane_summary_names[] = {
    [STS_DANE_SUMMARY_NONE] = "none",
    [STS_DANE_SUMMARY_ONLY] = "dane-only",
    [STS_DANE_SUMMARY_SOME] = "dane",
    [STS_DANE_SUMMARY_UNKNOWN] = "unknown",
};

const char *sts_dane_summary_name(enum sts_dane_summary s)
{
    return WORD_OF(dane_summary_names, s, "unknown");
}

static const char *const tls_result_names[STS_TLS_RESULT_COUNT] = {
    [STS_TLS_PASS] = "pass",
    [STS_TLS_STARTTLS_NOT_SUPPORTED] = "starttls-not-supported",
    [STS_TLS_CERT_HOST_MISMATCH] = "certificate-host-mismatch",
    [STS_TLS_CERT_EXPIRED] = "certificate-expired",
    [STS_TLS_CERT_NOT_TRUSTED] = "certificate-not-trusted",
    [STS_TLS_VALIDATION_FAILURE] = "validation-failure",
    [STS_TLS_TLSA_INVALID] = "tlsa-invalid",
    [STS_TLS_DNSSEC_INVALID] = "dnssec-invalid",
    [STS_TLS_DANE_REQUIRED] = "dane-required",
    [STS_TLS_UNREACHABLE] = "unreachable",
};

const char *sts_tls_result_name(enum sts_tls_result r)
{
    return WORD_OF(tls_result_names, r, "unknown");
}

bool sts_tls_result_parse(const char *word, enum sts_tls_result *out)
{
    if (word == NULL)
        return false;
    for (unsigned i = 0; i < STS_TLS_RESULT_COUNT; i++) {
        if (strcmp(word, tls_result_names[i]) == 0) {
            if (out != NULL)
                *out = (enum sts_tls_result)i;
            return true;
        }
    }
    return false;
}

bool sts_tls_result_is_failure(enum sts_tls_result r)
{
    return (unsigned)r < STS_TLS_RESULT_COUNT && r != STS_TLS_PASS && r != STS_TLS_UNREACHABLE;
}

static const char *const outcome_names[] = {
    [STS_LOOKUP_POLICY] = "policy",     [STS_LOOKUP_NO_POLICY] = "no-policy",
    [STS_LOOKUP_TEMPFAIL] = "tempfail", [STS_LOOKUP_PENDING] = "pending",
    [STS_LOOKUP_ERROR] = "error",
};

const char *sts_lookup_outcome_name(enum sts_lookup_outcome o)
{
    return WORD_OF(outcome_names, o, "unknown");
}

static const char *const source_names[] = {
    [STS_SOURCE_NONE] = "none",
    [STS_SOURCE_FRONT] = "front",
    [STS_SOURCE_STORE] = "store",
    [STS_SOURCE_DISCOVERY] = "discovery",
};

const char *sts_lookup_source_name(enum sts_lookup_source s)
{
    return WORD_OF(source_names, s, "unknown");
}

static const char *const fetch_names[] = {
    [STS_FETCH_OK] = "ok",           [STS_FETCH_DNS] = "dns",
    [STS_FETCH_REFUSED] = "refused", [STS_FETCH_CONNECT] = "connect",
    [STS_FETCH_TLS] = "tls",         [STS_FETCH_TIMEOUT] = "timeout",
    [STS_FETCH_HTTP] = "http",       [STS_FETCH_MEDIA_TYPE] = "media-type",
    [STS_FETCH_TOO_BIG] = "too-big", [STS_FETCH_ERROR] = "error",
};

const char *sts_fetch_result_name(enum sts_fetch_result r)
{
    return WORD_OF(fetch_names, r, "error");
}

static const char *const reason_names[STS_LOOKUP_REASON_COUNT] = {
    [STS_LOOKUP_REASON_NONE] = "",
    [STS_LOOKUP_REASON_CACHED] = "cached",
    [STS_LOOKUP_REASON_NO_INDICATOR] = "no-indicator",
    [STS_LOOKUP_REASON_TXT_INVALID] = "txt-invalid",
    [STS_LOOKUP_REASON_FETCH_BACKOFF] = "fetch-backoff",
    [STS_LOOKUP_REASON_FETCH_FAILED] = "fetch-failed",
    [STS_LOOKUP_REASON_POLICY_INVALID] = "policy-invalid",
    [STS_LOOKUP_REASON_DNS_TIMEOUT] = "dns-timeout",
    [STS_LOOKUP_REASON_DNS_BOGUS] = "dns-bogus",
    [STS_LOOKUP_REASON_DNS_SERVFAIL] = "dns-servfail",
    [STS_LOOKUP_REASON_NO_POLICY] = "no-policy",
    [STS_LOOKUP_REASON_DISCOVERY_TIMEOUT] = "discovery-timeout",
    [STS_LOOKUP_REASON_OUT_OF_MEMORY] = "out-of-memory",
    [STS_LOOKUP_REASON_STORE_ERROR] = "store-error",
};

const char *sts_lookup_reason_name(enum sts_lookup_reason r)
{
    return WORD_OF(reason_names, r, "");
}

const char *sts_lookup_reason_format(enum sts_lookup_reason r, enum sts_fetch_result fetch,
                                     char *out, size_t outlen)
{
    if (outlen == 0)
        return out;
    if (r == STS_LOOKUP_REASON_FETCH_FAILED)
        snprintf(out, outlen, "%s:%s", reason_names[r], sts_fetch_result_name(fetch));
    else
        snprintf(out, outlen, "%s", sts_lookup_reason_name(r));
    return out;
}

bool sts_lookup_reason_parse(const char *text, enum sts_lookup_reason *r,
                             enum sts_fetch_result *fetch)
{
    if (text == NULL)
        return false;
    const char *colon = strchr(text, ':');
    size_t wlen = colon != NULL ? (size_t)(colon - text) : strlen(text);
    for (unsigned i = 0; i < STS_LOOKUP_REASON_COUNT; i++) {
        if (strlen(reason_names[i]) != wlen || strncmp(text, reason_names[i], wlen) != 0)
            continue;
        enum sts_fetch_result f = STS_FETCH_OK;
        if (i == STS_LOOKUP_REASON_FETCH_FAILED) {
            if (colon == NULL)
                return false;
            unsigned k = 0, n = sizeof(fetch_names) / sizeof(fetch_names[0]);
            while (k < n && strcmp(colon + 1, fetch_names[k]) != 0)
                k++;
            if (k == n)
                return false;
            f = (enum sts_fetch_result)k;
        } else if (colon != NULL) {
            return false;
        }
        *r = (enum sts_lookup_reason)i;
        if (fetch != NULL)
            *fetch = f;
        return true;
    }
    return false;
}
