/*
 * utf8.h - UTF-8 validation (RFC 3629), pure, no I/O, no allocation,
 * thread-safe.
 */
#ifndef MTASTS_UTF8_H
#define MTASTS_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/**
 * Is [s, s+n) well-formed UTF-8 without NUL?  Overlong forms, surrogates
 * (U+D800-DFFF) and code points above U+10FFFF are invalid (RFC 3629 §3).
 * @param s   the bytes
 * @param n   their length
 * @param bad receives the offset of the first invalid byte when false
 *            (may be NULL)
 * @return true when valid
 */
bool sts_utf8_valid(const void *s, size_t n, size_t *bad);

#endif
