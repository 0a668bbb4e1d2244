/*
 * config_int.h - private to the two files of the configuration module:
 * config_keys.c (the key table and the checks of string values) and
 * config.c (the parser, typed values, snapshots).  Not installed; nothing
 * else includes it.  Pure: no I/O, no locks (the table is constant).
 */
#ifndef MTASTS_CONFIG_INT_H
#define MTASTS_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "mtasts/config.h"
#include "mtasts/status.h"

/* Room for a value once normalised (an IDN name grows into its A-label). */
#define CONFIG_VALUE_MAX (STS_CONFIG_LINE_MAX + 256)

/* An upper bound of the table's length (config_keys.c asserts it): the
 * parser keeps the line that set each key in an array of this size. */
#define CONFIG_KEYS_MAX 128

/* The table (config_keys.c), in documentation order, and its length. */
extern const struct sts_config_key sts_config_keys[];
extern const size_t sts_config_nkeys;

static inline bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static inline char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive: the first len bytes of a against all of b. */
static inline bool word_eq(const char *a, size_t len, const char *b)
{
    for (size_t i = 0; i < len; i++)
        if (b[i] == '\0' || ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return b[len] == '\0';
}

/* Copy v into out[outlen]; STS_ETOOBIG "value too long" if it does not fit. */
static inline enum sts_status copy_out(const char *v, char *out, size_t outlen, char *err,
                                       size_t errlen)
{
    size_t len = strlen(v);
    if (len >= outlen)
        return sts_status_set(STS_ETOOBIG, err, errlen, "value too long");
    memcpy(out, v, len + 1);
    return STS_OK;
}

#endif
