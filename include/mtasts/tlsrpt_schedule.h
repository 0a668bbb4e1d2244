/*
 * tlsrpt_schedule.h - when to send a TLS report: retry back-off and the
 * spread of first send times.  Pure arithmetic on Unix times; no clock is
 * read here (callers pass "now"), so tests are exact.
 *
 * Back-off (RFC 8460 §5.5: after a delivery failure a sender SHOULD retry
 * for up to 24 hours after the initial attempt, with exponential back-off):
 * after the n-th failed attempt (n >= 1) the next one is due
 *     now + min(5 min * 2^(n-1), 4 h)
 * but never later than first_try + 24 h: a delay reaching past that is
 * cut to a last attempt exactly at first_try + 24 h, and at or after that
 * instant there is none.  The delays are 5, 10, 20, 40, 80, 160, 240,
 * 240, ... minutes.
 *
 * Spread (RFC 8460 §4.1 asks reports to be delivered after some delay so
 * that receivers are not flooded at 00:00 UTC): a destination's first try
 * is window_start + hash(key) mod window, with a 64-bit FNV-1a hash of a
 * caller-chosen key (report-id and destination), so every sender spreads
 * its reports over the window and a rerun picks the same times.
 *
 * Thread-safe: no state.
 */
#ifndef MTASTS_TLSRPT_SCHEDULE_H
#define MTASTS_TLSRPT_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#define STS_TLSRPT_RETRY_FIRST (5 * 60)      /* first back-off step */
#define STS_TLSRPT_RETRY_MAX (4 * 3600)      /* longest step */
#define STS_TLSRPT_RETRY_GIVE_UP (24 * 3600) /* RFC 8460 §5.5 */

/**
 * The time of the next delivery attempt.
 * @param first_try when the first attempt was made
 * @param attempts  attempts made so far, all failed (>= 1; 0 counts as 1)
 * @param now       when the last one failed (>= first_try)
 * @param next      receives the time of the next attempt when there is one
 * @return true with *next set, or false: give up (24 h have passed)
 */
bool sts_tlsrpt_next_try(int64_t first_try, unsigned attempts, int64_t now, int64_t *next);

/**
 * A deterministic send time inside a window.
 * @param key          what identifies the send (e.g. "report-id dest"); NULL is ""
 * @param window_start start of the window
 * @param window       its length in seconds; 0 gives window_start
 * @return window_start + (FNV-1a-64(key) mod window)
 */
int64_t sts_tlsrpt_spread(const char *key, int64_t window_start, uint32_t window);

#endif
