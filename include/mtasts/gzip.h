/*
 * gzip.h - gzip (RFC 1952) compression and decompression of byte buffers,
 * the one module that includes <zlib.h>.
 *
 * Used for RFC 8460 reports (application/tlsrpt+gzip, §5.3 and §5.4): the
 * report builder's JSON text is compressed once and the same bytes are
 * mailed and POSTed.  Decompression exists for the tests and for reading
 * reports back (`mtasts report show`), so it is capped: a decompression
 * bomb stops at the caller's cap, never at the memory limit.
 *
 * Output is byte-stable for a given input and level: zlib writes the gzip
 * header with MTIME 0, no file name and its build's OS byte (3, Unix, on
 * Debian), so golden files can hold compressed bytes.
 *
 * Ownership: *out is malloc()ed and belongs to the caller (free()), also
 * on no error path (*out is NULL whenever the return is not STS_OK).
 * Thread-safe: no state outside the call.
 */
#ifndef MTASTS_GZIP_H
#define MTASTS_GZIP_H

#include <stddef.h>

#include "mtasts/status.h"

/** zlib's default compression level, the one reports use. */
#define STS_GZIP_LEVEL_DEFAULT 6

/**
 * Compress in[0..len) into one gzip member.
 * @param in      the bytes (may be NULL when len is 0)
 * @param len     their number
 * @param level   1 (fastest) .. 9 (smallest); 0 or out of range: STS_GZIP_LEVEL_DEFAULT
 * @param max_out the largest compressed size accepted (the report size cap)
 * @param out     receives the malloc()ed gzip bytes
 * @param outlen  receives their number
 * @param err     receives the reason on failure (may be NULL)
 * @param errlen  size of err
 * @return STS_OK, STS_ETOOBIG (the result would exceed max_out), STS_ENOMEM,
 *         STS_EINVAL (zlib refused its parameters)
 */
enum sts_status sts_gzip_compress(const void *in, size_t len, int level, size_t max_out,
                                  unsigned char **out, size_t *outlen, char *err, size_t errlen);

/**
 * Decompress one gzip member (trailing bytes after it are an error, so
 * are a truncated member and a bad CRC or length trailer).
 * @param in      the gzip bytes
 * @param len     their number
 * @param max_out the largest decompressed size accepted; more is STS_ETOOBIG
 *                and at most max_out + 1 bytes were ever produced
 * @param out     receives the malloc()ed bytes plus a NUL after them (not
 *                counted in outlen), so JSON text can be parsed in place
 * @param outlen  receives their number
 * @param err     receives the reason on failure (may be NULL)
 * @param errlen  size of err
 * @return STS_OK, STS_EINVAL (not gzip, corrupt, truncated, trailing bytes),
 *         STS_ETOOBIG, STS_ENOMEM
 */
enum sts_status sts_gzip_decompress(const void *in, size_t len, size_t max_out, unsigned char **out,
                                    size_t *outlen, char *err, size_t errlen);

#endif
