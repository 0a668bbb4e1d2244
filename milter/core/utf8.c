/*
 * utf8.c - UTF-8 validation for bytes from the network (TXT records,
 * datagrams).
 */
#include "mtasts/utf8.h"

#include <stdint.h>

bool sts_utf8_valid(const void *s, size_t n, size_t *bad)
{
    const unsigned char *p = s;
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t need;
        uint32_t cp;
        if (c == 0)
            goto invalid;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            goto invalid;
        }
        if (n - i <= need)
            goto invalid;
        for (size_t k = 1; k <= need; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                goto invalid;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
            (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
            goto invalid;
        i += need + 1;
    }
    return true;
invalid:
    if (bad != NULL)
        *bad = i;
    return false;
}
