/*
 * discovery.c - the RFC 8461 §3/§5 decisions of policy discovery (see
 * discovery.h for the rules, in the order they are applied here).
 */
#include "mtasts/discovery.h"

#include <string.h>

#define NEGATIVE_DEFAULT_S 3600
#define TEMPFAIL_DEFAULT_S 60

static unsigned or_default(unsigned v, unsigned def)
{
    return v != 0 ? v : def;
}

/* Nothing usable was learnt: keep what is cached, or remember "no policy". */
static void no_policy(bool cached, int64_t until, enum sts_lookup_reason reason,
                      enum sts_fetch_result fetch, unsigned keep_logs,
                      struct sts_discovery_decision *out)
{
    out->reason = reason;
    out->fetch = fetch;
    if (cached) {
        out->action = STS_DISCOVERY_KEEP;
        out->logs |= keep_logs;
        return;
    }
    out->action = STS_DISCOVERY_NEGATIVE;
    out->until = until;
    out->writes |= STS_DISCOVERY_WRITE_NEGATIVE;
    out->logs |= STS_DISCOVERY_LOG_NO_POLICY;
}

static void after_txt_failure(const struct sts_discovery_facts *f, bool cached, unsigned tempfail_s,
                              struct sts_discovery_decision *out)
{
    out->reason =
        f->txt_fails == STS_LOOKUP_REASON_DNS_TIMEOUT || f->txt_fails == STS_LOOKUP_REASON_DNS_BOGUS
            ? f->txt_fails
            : STS_LOOKUP_REASON_DNS_SERVFAIL;
    out->logs = STS_DISCOVERY_LOG_TXT_LOOKUP_FAILED;
    if (cached) {
        out->action = STS_DISCOVERY_KEEP;
        return;
    }
    out->action = STS_DISCOVERY_TEMPFAIL;
    out->until = f->now + tempfail_s;
}

static void after_fetch(const struct sts_discovery_facts *f, bool cached, unsigned backoff_s,
                        struct sts_discovery_decision *out)
{
    if (f->fetch == STS_FETCH_OK && f->parsed) {
        out->action = STS_DISCOVERY_UPDATE;
        out->expires_at = f->now + f->max_age;
        out->writes = STS_DISCOVERY_WRITE_POLICY;
        out->logs = STS_DISCOVERY_LOG_POLICY_UPDATED;
        return;
    }
    if (backoff_s < STS_DISCOVERY_BACKOFF_MIN_S)
        backoff_s = STS_DISCOVERY_BACKOFF_MIN_S;
    out->backoff_s = backoff_s;
    out->backoff_until = f->now + backoff_s;
    out->writes = STS_DISCOVERY_WRITE_BACKOFF;
    out->logs = STS_DISCOVERY_LOG_FETCH_FAILED;
    /* §5: as if there were no policy until the back-off ends (or keep one). */
    if (f->fetch != STS_FETCH_OK)
        no_policy(cached, out->backoff_until, STS_LOOKUP_REASON_FETCH_FAILED, f->fetch, 0, out);
    else
        no_policy(cached, out->backoff_until, STS_LOOKUP_REASON_POLICY_INVALID, STS_FETCH_OK, 0,
                  out);
}

void sts_discovery_decide(const struct sts_discovery_facts *f,
                          const struct sts_discovery_settings *s,
                          struct sts_discovery_decision *out)
{
    static const struct sts_discovery_settings defaults = {0};
    if (s == NULL)
        s = &defaults;
    memset(out, 0, sizeof(*out));
    if (f == NULL) {
        out->action = STS_DISCOVERY_TEMPFAIL;
        out->reason = STS_LOOKUP_REASON_DNS_SERVFAIL;
        return;
    }
    unsigned negative_s = or_default(s->negative_ttl_s, NEGATIVE_DEFAULT_S);
    unsigned tempfail_s = or_default(s->tempfail_ttl_s, TEMPFAIL_DEFAULT_S);
    bool have_id = f->txt_id != NULL && f->txt_id[0] != '\0';
    bool cached = f->cached && f->cached_id != NULL;

    if (f->txt == STS_DISCOVERY_TXT_FAILED) {
        after_txt_failure(f, cached, tempfail_s, out);
        return;
    }
    if (f->txt == STS_DISCOVERY_TXT_NONE) {
        no_policy(cached, f->now + negative_s, STS_LOOKUP_REASON_NO_INDICATOR, STS_FETCH_OK,
                  STS_DISCOVERY_LOG_TXT_MISSING, out);
        return;
    }
    if (f->txt != STS_DISCOVERY_TXT_RECORD || !have_id) { /* a record needs an id */
        no_policy(cached, f->now + negative_s, STS_LOOKUP_REASON_TXT_INVALID, STS_FETCH_OK,
                  STS_DISCOVERY_LOG_TXT_MISSING, out);
        return;
    }

    if (cached && strcmp(f->cached_id, f->txt_id) == 0) {
        /* §5.1: the same id means the cached policy is current. */
        out->action = STS_DISCOVERY_EXTEND;
        out->reason = STS_LOOKUP_REASON_CACHED;
        out->expires_at = f->now + f->cached_max_age;
        out->writes = STS_DISCOVERY_WRITE_REFRESH;
        return;
    }
    if (!f->backoff_checked) {
        out->action = STS_DISCOVERY_CHECK_BACKOFF;
        return;
    }
    if (f->backoff_until > f->now) {
        /* A fetch of this id failed recently: §5's rate limit; silent when kept. */
        no_policy(cached, f->backoff_until, STS_LOOKUP_REASON_FETCH_BACKOFF, STS_FETCH_OK, 0, out);
        return;
    }
    if (!f->fetched) {
        out->action = STS_DISCOVERY_FETCH;
        return;
    }
    after_fetch(f, cached, s->backoff_s, out);
}

const char *sts_discovery_action_name(enum sts_discovery_action a)
{
    static const char *const names[] = {
        [STS_DISCOVERY_CHECK_BACKOFF] = "check-backoff",
        [STS_DISCOVERY_FETCH] = "fetch",
        [STS_DISCOVERY_EXTEND] = "extend",
        [STS_DISCOVERY_KEEP] = "keep",
        [STS_DISCOVERY_UPDATE] = "update",
        [STS_DISCOVERY_NEGATIVE] = "negative",
        [STS_DISCOVERY_TEMPFAIL] = "tempfail",
    };
    return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "unknown";
}
