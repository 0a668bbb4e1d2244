/*
 * fuzz_config.c - libFuzzer harness for the configuration parser
 * (config.h, "Name value" lines checked against the key table): the file
 * an operator writes and the daemon re-reads on every SIGHUP.  Invariants:
 *   - a refused file gives a NUL-terminated "NAME:LINE: reason";
 *   - an accepted one dumps (sts_config_dump, what -n -v prints) to text
 *     that parses again, and dumping that gives the same text: the dump is
 *     the configuration in effect, in a form the parser reads back.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dump(const struct sts_config *cfg, size_t *len)
{
    char *buf = NULL;
    FILE *fp = open_memstream(&buf, len);
    if (fp == NULL)
        return NULL;
    sts_config_dump(cfg, fp);
    if (fclose(fp) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sts_config *cfg = NULL, *again = NULL;
    char err[512];
    err[0] = 'x';
    if (sts_config_parse((const char *)data, size, "fuzz.conf", &cfg, err, sizeof(err)) != STS_OK) {
        if (strnlen(err, sizeof(err)) == sizeof(err) || strncmp(err, "fuzz.conf", 9) != 0)
            __builtin_trap();
        return 0;
    }
    size_t len1 = 0, len2 = 0;
    char *text1 = dump(cfg, &len1), *text2 = NULL;
    if (text1 == NULL)
        goto done;
    if (sts_config_parse(text1, len1, "dump", &again, err, sizeof(err)) != STS_OK)
        __builtin_trap(); /* the dump must read back */
    text2 = dump(again, &len2);
    if (text2 != NULL && (len1 != len2 || memcmp(text1, text2, len1) != 0))
        __builtin_trap(); /* ... to the same configuration */
done:
    free(text1);
    free(text2);
    sts_config_unref(again);
    sts_config_unref(cfg);
    return 0;
}
