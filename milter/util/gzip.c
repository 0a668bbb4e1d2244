/*
 * gzip.c - gzip buffers with zlib (deflateInit2/inflateInit2, windowBits
 * 15 + 16: a gzip wrapper, never zlib or raw deflate).  See gzip.h.
 */
#include "mtasts/gzip.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GZIP_WINDOW_BITS (15 + 16) /* 32 KiB window, gzip header and trailer */
#define GZIP_MEM_LEVEL 8           /* zlib's default */
#define GZIP_FIRST_CHUNK 16384     /* first decompression buffer */

/* zlib counts in uInt: feed a size_t-long input in pieces. */
static uInt chunk(size_t left)
{
    return left > UINT_MAX ? UINT_MAX : (uInt)left;
}

enum sts_status sts_gzip_compress(const void *in, size_t len, int level, size_t max_out,
                                  unsigned char **out, size_t *outlen, char *err, size_t errlen)
{
    z_stream s;
    unsigned char *buf;
    size_t cap, in_left = len, done = 0;
    int rc;

    *out = NULL;
    *outlen = 0;
    if (level < 1 || level > 9)
        level = STS_GZIP_LEVEL_DEFAULT;
    memset(&s, 0, sizeof(s));
    rc = deflateInit2(&s, level, Z_DEFLATED, GZIP_WINDOW_BITS, GZIP_MEM_LEVEL, Z_DEFAULT_STRATEGY);
    if (rc == Z_MEM_ERROR)
        return sts_status_set(STS_ENOMEM, err, errlen, "gzip: out of memory");
    if (rc != Z_OK)
        return sts_status_set(STS_EINVAL, err, errlen, "gzip: deflateInit2 failed (%d)", rc);
    /* deflateBound() knows the gzip wrapper once the stream is set up; the
     * buffer never grows past the cap, so the cap bounds the allocation. */
    cap = deflateBound(&s, len > ULONG_MAX ? ULONG_MAX : (uLong)len);
    if (cap > max_out)
        cap = max_out;
    buf = malloc(cap > 0 ? cap : 1);
    if (buf == NULL) {
        deflateEnd(&s);
        return sts_status_set(STS_ENOMEM, err, errlen, "gzip: out of memory (%zu bytes)", cap);
    }
    s.next_in = (Bytef *)(uintptr_t)in; /* zlib's API is not const-correct */
    for (;;) {
        size_t room = cap - done;
        uInt give_in = chunk(in_left), give_out = chunk(room);
        s.avail_in = give_in;
        s.next_out = buf + done;
        s.avail_out = give_out;
        rc = deflate(&s, in_left == give_in ? Z_FINISH : Z_NO_FLUSH);
        in_left -= give_in - s.avail_in;
        done += give_out - s.avail_out;
        if (rc == Z_STREAM_END)
            break;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            deflateEnd(&s);
            free(buf);
            return sts_status_set(STS_EINVAL, err, errlen, "gzip: deflate failed (%d)", rc);
        }
        if (done == cap) { /* full and not finished: over the cap */
            deflateEnd(&s);
            free(buf);
            return sts_status_set(STS_ETOOBIG, err, errlen,
                                  "gzip: compressed report exceeds %zu bytes", max_out);
        }
    }
    deflateEnd(&s);
    *out = buf;
    *outlen = done;
    return STS_OK;
}

enum sts_status sts_gzip_decompress(const void *in, size_t len, size_t max_out, unsigned char **out,
                                    size_t *outlen, char *err, size_t errlen)
{
    z_stream s;
    unsigned char *buf = NULL;
    size_t cap = 0, done = 0, in_left = len;
    /* one byte past the cap tells "too big" from "exactly max_out" */
    size_t limit = max_out == SIZE_MAX ? SIZE_MAX : max_out + 1;
    enum sts_status st = STS_OK;
    int rc;

    *out = NULL;
    *outlen = 0;
    memset(&s, 0, sizeof(s));
    rc = inflateInit2(&s, GZIP_WINDOW_BITS);
    if (rc == Z_MEM_ERROR)
        return sts_status_set(STS_ENOMEM, err, errlen, "gunzip: out of memory");
    if (rc != Z_OK)
        return sts_status_set(STS_EINVAL, err, errlen, "gunzip: inflateInit2 failed (%d)", rc);
    s.next_in = (Bytef *)(uintptr_t)in;
    for (;;) {
        uInt give_in, give_out;
        if (done == cap) {
            size_t ncap = cap == 0 ? GZIP_FIRST_CHUNK : cap * 2;
            unsigned char *nbuf;
            if (cap >= limit) {
                st = sts_status_set(STS_ETOOBIG, err, errlen,
                                    "gunzip: decompressed data exceeds %zu bytes", max_out);
                break;
            }
            if (ncap > limit || ncap < cap)
                ncap = limit;
            nbuf = realloc(buf, ncap + 1); /* + 1: the NUL after the data */
            if (nbuf == NULL) {
                st = sts_status_set(STS_ENOMEM, err, errlen, "gunzip: out of memory");
                break;
            }
            buf = nbuf;
            cap = ncap;
        }
        give_in = chunk(in_left);
        give_out = chunk(cap - done);
        s.avail_in = give_in;
        s.next_out = buf + done;
        s.avail_out = give_out;
        rc = inflate(&s, Z_NO_FLUSH);
        in_left -= give_in - s.avail_in;
        done += give_out - s.avail_out;
        if (rc == Z_STREAM_END) {
            if (in_left != 0 || s.avail_in != 0)
                st = sts_status_set(STS_EINVAL, err, errlen,
                                    "gunzip: %zu bytes after the end of the gzip data",
                                    in_left + s.avail_in);
            else if (done > max_out)
                st = sts_status_set(STS_ETOOBIG, err, errlen,
                                    "gunzip: decompressed data exceeds %zu bytes", max_out);
            break;
        }
        if (rc == Z_MEM_ERROR) {
            st = sts_status_set(STS_ENOMEM, err, errlen, "gunzip: out of memory");
            break;
        }
        if (rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_STREAM_ERROR) {
            st = sts_status_set(STS_EINVAL, err, errlen, "gunzip: corrupt data (%s)",
                                s.msg != NULL ? s.msg : "inflate error");
            break;
        }
        /* Z_OK or Z_BUF_ERROR: out of input without the end of the member? */
        if (in_left == 0 && s.avail_in == 0 && s.avail_out != 0) {
            st = sts_status_set(STS_EINVAL, err, errlen, "gunzip: truncated gzip data");
            break;
        }
    }
    inflateEnd(&s);
    if (st != STS_OK) {
        free(buf);
        return st;
    }
    if (buf == NULL) { /* cannot happen (a member is never empty), but stay total */
        buf = malloc(1);
        if (buf == NULL)
            return sts_status_set(STS_ENOMEM, err, errlen, "gunzip: out of memory");
    }
    buf[done] = '\0';
    *out = buf;
    *outlen = done;
    return STS_OK;
}
