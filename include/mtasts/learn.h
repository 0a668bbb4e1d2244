/*
 * learn.h - learned forced TLS (LearnTLS, issue 13 item 4): a domain
 * without MTA-STS, DANE or a site override whose every MX host has passed
 * verified TLS (certificate chain and MX host name, like Postfix's
 * "verify") continuously for LearnPeriod is then required to keep doing
 * so; a later failure is a probable downgrade (reason
 * learned-tls-downgrade), tempfailed only under LearnTLS enforce.
 *
 * Pure: no I/O, no allocation, thread-safe; time is a parameter (Unix
 * seconds), so tests run on any clock.  The engine keeps one state per
 * domain in the store (store.h sts_store_learn_*) and feeds it what each
 * recipient's probes showed.
 *
 * The rules, per domain (period = LearnPeriod):
 *   - an observation where every real MX host passed verified TLS starts
 *     the streak (since = now) or extends it (last_ok = now);
 *   - the domain is learned once its verified observations span a whole
 *     period (last_ok - since >= period), for as long as the last one is
 *     at most one period old;
 *   - a failed observation (some host reached without STARTTLS, or with
 *     a certificate that does not verify) ends a streak not yet learned
 *     (the state is forgotten) and is counted against a learned one,
 *     which stays learned: that is the downgrade it exists to catch;
 *   - a learned domain without any verified observation for a whole
 *     period is forgotten (the site really dropped TLS, or stopped being
 *     used), and so is a stale streak: it starts again at the next pass;
 *   - other observations (a host unreachable or not probed yet) change
 *     nothing.
 */
#ifndef MTASTS_LEARN_H
#define MTASTS_LEARN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/vocab.h"

/** LearnTLS: off, audit (report a downgrade) or enforce (tempfail it). */
enum sts_learn_mode {
    STS_LEARN_OFF = 0,
    STS_LEARN_AUDIT,
    STS_LEARN_ENFORCE,
};

/** "off", "audit" or "enforce". */
const char *sts_learn_mode_name(enum sts_learn_mode mode);

/** One domain's learned state (a row of the store's learned_tls table). */
struct sts_learn_state {
    bool present;       /* false: nothing known (no row) */
    int64_t since;      /* start of the current verified streak */
    int64_t last_ok;    /* last observation where every MX host passed */
    int64_t learned_at; /* when the domain was first seen learned; 0: not yet */
    int64_t last_fail;  /* last failed observation; 0: none */
    uint32_t fails;     /* failed observations while learned */
};

/** What one recipient's probes showed for the domain's MX hosts. */
enum sts_learn_obs {
    STS_LEARN_OBS_UNKNOWN = 0, /* some host not probed yet or unreachable */
    STS_LEARN_OBS_PASS,        /* every real MX host passed verified TLS */
    STS_LEARN_OBS_FAIL,        /* some host failed STARTTLS or verification */
};

/** How the stored row must change after sts_learn_observe(). */
enum sts_learn_change {
    STS_LEARN_KEEP = 0, /* nothing worth writing */
    STS_LEARN_WRITE,    /* insert or replace the row */
    STS_LEARN_FORGET,   /* delete the row */
};

/**
 * Is the domain learned at now?
 * @param s      the state (NULL or not present: no)
 * @param now    Unix seconds
 * @param period LearnPeriod in seconds
 */
bool sts_learn_is_learned(const struct sts_learn_state *s, int64_t now, int64_t period);

/**
 * Classify the TLS verdicts of a domain's MX hosts.
 * @param mx   the hosts ("" or "." is a null MX, skipped)
 * @param tls  their verdicts, parallel to mx
 * @param n    how many
 * @return PASS when every real host is known and passed (STS_TLS_PASS,
 *         not by DANE), FAIL when some host is known to have failed
 *         (anything but a pass or unreachable), else UNKNOWN
 */
enum sts_learn_obs sts_learn_classify(const char *const *mx, const struct sts_tls_verdict *tls,
                                      size_t n);

/**
 * Apply one observation.
 * @param s      the state, updated in place
 * @param obs    the observation
 * @param now    Unix seconds
 * @param period LearnPeriod in seconds (> 0)
 * @return what to do with the stored row: a pass that only moves last_ok
 *         by less than sts_learn_touch_s(period) is KEEP, so that a busy
 *         domain is not written at every recipient
 */
enum sts_learn_change sts_learn_observe(struct sts_learn_state *s, enum sts_learn_obs obs,
                                        int64_t now, int64_t period);

/** The granularity of last_ok: period / 30, from 1 s up to 1 h. */
int64_t sts_learn_touch_s(int64_t period);

#endif
