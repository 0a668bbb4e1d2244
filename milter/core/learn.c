/*
 * learn.c - learned forced TLS, the state machine (see learn.h).
 */
#include "mtasts/learn.h"

#include <string.h>

const char *sts_learn_mode_name(enum sts_learn_mode mode)
{
    switch (mode) {
    case STS_LEARN_OFF:
        return "off";
    case STS_LEARN_AUDIT:
        return "audit";
    case STS_LEARN_ENFORCE:
        return "enforce";
    }
    return "unknown";
}

int64_t sts_learn_touch_s(int64_t period)
{
    int64_t t = period / 30;
    return t < 1 ? 1 : t > 3600 ? 3600 : t;
}

/* No verified observation for a whole period: the streak is over. */
static bool stale(const struct sts_learn_state *s, int64_t now, int64_t period)
{
    return now - s->last_ok > period;
}

bool sts_learn_is_learned(const struct sts_learn_state *s, int64_t now, int64_t period)
{
    if (s == NULL || !s->present || stale(s, now, period))
        return false;
    /* learned on evidence: verified passes spanning a whole period */
    return s->learned_at != 0 || s->last_ok - s->since >= period;
}

static bool is_null_mx(const char *h)
{
    return h == NULL || h[0] == '\0' || strcmp(h, ".") == 0;
}

enum sts_learn_obs sts_learn_classify(const char *const *mx, const struct sts_tls_verdict *tls,
                                      size_t n)
{
    if (mx == NULL || tls == NULL)
        return STS_LEARN_OBS_UNKNOWN;
    size_t real = 0, passed = 0;
    bool failed = false;
    for (size_t i = 0; i < n; i++) {
        if (is_null_mx(mx[i]))
            continue;
        real++;
        const struct sts_tls_verdict *t = &tls[i];
        if (!t->known || t->result == STS_TLS_UNREACHABLE)
            continue;
        if (t->result == STS_TLS_PASS && !t->dane)
            passed++;
        else if (t->result != STS_TLS_PASS)
            failed = true;
    }
    if (failed)
        return STS_LEARN_OBS_FAIL;
    return real > 0 && passed == real ? STS_LEARN_OBS_PASS : STS_LEARN_OBS_UNKNOWN;
}

static void start(struct sts_learn_state *s, int64_t now)
{
    memset(s, 0, sizeof(*s));
    s->present = true;
    s->since = now;
    s->last_ok = now;
}

enum sts_learn_change sts_learn_observe(struct sts_learn_state *s, enum sts_learn_obs obs,
                                        int64_t now, int64_t period)
{
    if (s == NULL || period <= 0)
        return STS_LEARN_KEEP;
    if (s->present && stale(s, now, period)) {
        /* forgotten; a pass starts again below */
        memset(s, 0, sizeof(*s));
        if (obs != STS_LEARN_OBS_PASS)
            return STS_LEARN_FORGET;
        start(s, now);
        return STS_LEARN_WRITE;
    }
    switch (obs) {
    case STS_LEARN_OBS_PASS:
        if (!s->present) {
            start(s, now);
            return STS_LEARN_WRITE;
        }
        if (s->learned_at == 0 && now - s->since >= period) {
            s->learned_at = now;
            s->last_ok = now;
            return STS_LEARN_WRITE;
        }
        if (now - s->last_ok >= sts_learn_touch_s(period)) {
            s->last_ok = now;
            return STS_LEARN_WRITE;
        }
        return STS_LEARN_KEEP;
    case STS_LEARN_OBS_FAIL:
        if (!s->present)
            return STS_LEARN_KEEP;
        if (!sts_learn_is_learned(s, now, period)) {
            memset(s, 0, sizeof(*s)); /* the streak is broken */
            return STS_LEARN_FORGET;
        }
        if (s->learned_at == 0)
            s->learned_at = s->last_ok;
        s->last_fail = now;
        if (s->fails < UINT32_MAX)
            s->fails++;
        return STS_LEARN_WRITE;
    case STS_LEARN_OBS_UNKNOWN:
    default:
        return STS_LEARN_KEEP;
    }
}
