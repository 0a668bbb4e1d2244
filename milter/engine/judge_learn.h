/*
 * judge_learn.h - learned forced TLS in the RCPT judge (judge.c): read a
 * domain's learned state from the store, and record what this
 * recipient's probes showed (learn.h has the rules, store.h the rows).
 * Private to milter/engine/judge*.c.
 *
 * Thread-safe (the store is); the state is read and written per call, no
 * lock is held across the probes in between, so two recipients of one
 * domain at once may both write: the later write wins, which learn.c's
 * rules tolerate (the same observation, or one a second older).
 */
#ifndef MTASTS_JUDGE_LEARN_H
#define MTASTS_JUDGE_LEARN_H

#include <stdint.h>

#include "mtasts/config.h"
#include "mtasts/engine.h"
#include "mtasts/learn.h"

/**
 * Read the domain's learned state; a store error counts as nothing known
 * (logged at debug: learned TLS is best effort, never a reason to fail).
 */
void sts_judge_learn_read(struct sts_engine *e, const char *domain, struct sts_learn_state *st);

/**
 * Apply one observation of the domain's MX hosts and write the change, if
 * any; log a domain becoming learned, a downgrade and a forgotten state.
 */
void sts_judge_learn_observe(struct sts_engine *e, const struct sts_config *cfg, const char *domain,
                             struct sts_learn_state *st, const char *const *mx,
                             const struct sts_tls_verdict *tls, size_t n, int64_t now);

#endif
