/*
 * fuzz_http_request.c - libFuzzer harness for the request parser the
 * metrics responder runs on every byte a client sends (http_request.h).
 * Invariants:
 *   - parsing never reads past len (ASan) nor past STS_HTTP_REQUEST_MAX;
 *   - a verdict other than INCOMPLETE reports used within the bytes
 *     given, and used bytes end with the empty line (LF);
 *   - the verdict depends on the head only: the same bytes with more
 *     appended after the head get the same verdict (a client cannot
 *     change what was judged by sending more);
 *   - a SERVE head starts with "GET " or "HEAD ".
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/http_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    struct sts_http_request r, r2;
    enum sts_http_verdict v = sts_http_request_parse(buf, size, &r);
    if (v == STS_HTTP_INCOMPLETE)
        return 0;
    if (r.used > 0 && (r.used > size || buf[r.used - 1] != '\n'))
        __builtin_trap();
    if (v == STS_HTTP_SERVE && strncmp(buf, "GET ", 4) != 0 && strncmp(buf, "HEAD ", 5) != 0)
        __builtin_trap();
    if (r.used > 0 && r.used < size) {
        enum sts_http_verdict v2 = sts_http_request_parse(buf, r.used, &r2);
        if (v2 != v || (v == STS_HTTP_SERVE && (r2.head != r.head || r2.want_json != r.want_json)))
            __builtin_trap();
    }
    return 0;
}
