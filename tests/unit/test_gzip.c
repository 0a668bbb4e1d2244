/*
 * test_gzip.c - unit tests of the gzip wrapper (zlib).
 *
 * Guards the application/tlsrpt+gzip bytes of RFC 8460 §5.3/§5.4: a gzip
 * member (RFC 1952: 1f 8b, deflate, MTIME 0 so golden files are stable)
 * that round-trips; the compression cap (report size cap); the
 * decompression cap (a decompression bomb stops at the cap, having
 * produced at most cap + 1 bytes); corrupt, truncated, trailing and
 * non-gzip input refused.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/gzip.h"
#include "unit_main.h"

#define MIB (1024 * 1024)

static unsigned char *pattern(size_t n, unsigned seed)
{
    unsigned char *p = malloc(n ? n : 1);
    uint32_t x = seed * 2654435761u + 1;
    ck_assert(p != NULL);
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        /* half text-like, half noise: both paths of deflate */
        p[i] = (i / 4096) % 2 ? (unsigned char)x : (unsigned char)("{\"result-type\": "[i % 16]);
    }
    return p;
}

static const size_t sizes[] = {0, 1, 2, 100, 65535, 65536, 300000, 3 * MIB + 7};

START_TEST(test_round_trip)
{
    size_t n = sizes[_i], zlen = 0, olen = 0;
    unsigned char *in = pattern(n, (unsigned)_i), *z = NULL, *o = NULL, *z2 = NULL;
    char err[256];
    ck_assert_msg(sts_gzip_compress(in, n, 0, 2 * n + 1024, &z, &zlen, err, sizeof(err)) == STS_OK,
                  "size %zu: %s", n, err);
    ck_assert_msg(zlen >= 18 && z[0] == 0x1f && z[1] == 0x8b && z[2] == 8,
                  "size %zu: not a gzip member", n);
    ck_assert_msg(z[4] == 0 && z[5] == 0 && z[6] == 0 && z[7] == 0, "size %zu: MTIME not 0", n);
    ck_assert(sts_gzip_decompress(z, zlen, n, &o, &olen, err, sizeof(err)) == STS_OK);
    ck_assert_msg(olen == n && memcmp(o, in, n) == 0 && o[n] == '\0',
                  "size %zu: round trip differs (got %zu bytes)", n, olen);
    /* byte-stable */
    size_t z2len = 0;
    ck_assert(sts_gzip_compress(in, n, 0, 2 * n + 1024, &z2, &z2len, err, sizeof(err)) == STS_OK);
    ck_assert(z2len == zlen && memcmp(z, z2, zlen) == 0);
    free(in);
    free(z);
    free(z2);
    free(o);
}
END_TEST

START_TEST(test_compress_cap)
{
    size_t n = 200000, zlen = 0;
    unsigned char *in = pattern(n, 7), *z = NULL;
    char err[256] = "";
    ck_assert(sts_gzip_compress(in, n, 9, 100, &z, &zlen, err, sizeof(err)) == STS_ETOOBIG);
    ck_assert(z == NULL && zlen == 0);
    ck_assert_msg(strstr(err, "exceeds 100 bytes") != NULL, "reason: %s", err);
    ck_assert(sts_gzip_compress(in, n, 9, 0, &z, &zlen, err, sizeof(err)) == STS_ETOOBIG);
    /* the exact size passes */
    ck_assert(sts_gzip_compress(in, n, 9, 4 * n, &z, &zlen, err, sizeof(err)) == STS_OK);
    size_t exact = zlen;
    free(z);
    ck_assert(sts_gzip_compress(in, n, 9, exact, &z, &zlen, err, sizeof(err)) == STS_OK);
    ck_assert_uint_eq(zlen, exact);
    free(z);
    ck_assert(sts_gzip_compress(in, n, 9, exact - 1, &z, &zlen, err, sizeof(err)) == STS_ETOOBIG);
    free(in);
}
END_TEST

/* A decompression bomb: 256 MiB of zeros in ~250 KiB; the cap stops it. */
START_TEST(test_bomb)
{
    size_t n = 256 * (size_t)MIB, zlen = 0, olen = 0;
    unsigned char *in = calloc(n, 1), *z = NULL, *o = NULL;
    char err[256] = "";
    ck_assert(in != NULL);
    ck_assert(sts_gzip_compress(in, n, 9, n, &z, &zlen, err, sizeof(err)) == STS_OK);
    free(in);
    ck_assert_msg(zlen < MIB, "bomb is %zu bytes", zlen);
    ck_assert(sts_gzip_decompress(z, zlen, MIB, &o, &olen, err, sizeof(err)) == STS_ETOOBIG);
    ck_assert(o == NULL && olen == 0);
    ck_assert_msg(strstr(err, "exceeds 1048576 bytes") != NULL, "reason: %s", err);
    free(z);
}
END_TEST

START_TEST(test_decompress_cap_exact)
{
    size_t n = 5000, zlen = 0, olen = 0;
    unsigned char *in = pattern(n, 3), *z = NULL, *o = NULL;
    ck_assert(sts_gzip_compress(in, n, 0, 3 * n, &z, &zlen, NULL, 0) == STS_OK);
    ck_assert(sts_gzip_decompress(z, zlen, n, &o, &olen, NULL, 0) == STS_OK);
    ck_assert_uint_eq(olen, n);
    free(o);
    ck_assert(sts_gzip_decompress(z, zlen, n - 1, &o, &olen, NULL, 0) == STS_ETOOBIG);
    ck_assert(sts_gzip_decompress(z, zlen, 0, &o, &olen, NULL, 0) == STS_ETOOBIG);
    free(in);
    free(z);
}
END_TEST

START_TEST(test_bad_input)
{
    size_t n = 20000, zlen = 0, olen = 0;
    unsigned char *in = pattern(n, 5), *z = NULL, *o = NULL, *t;
    char err[256];
    ck_assert(sts_gzip_compress(in, n, 0, 3 * n, &z, &zlen, NULL, 0) == STS_OK);

    /* truncated anywhere: refused */
    for (size_t cut = 0; cut < zlen; cut += zlen / 37 + 1) {
        enum sts_status st = sts_gzip_decompress(z, cut, 10 * n, &o, &olen, err, sizeof(err));
        ck_assert_msg(st == STS_EINVAL && o == NULL, "cut at %zu of %zu: got %s", cut, zlen,
                      sts_status_word(st));
    }
    /* trailing bytes */
    t = malloc(zlen + 3);
    memcpy(t, z, zlen);
    memcpy(t + zlen, "xyz", 3);
    ck_assert(sts_gzip_decompress(t, zlen + 3, 10 * n, &o, &olen, err, sizeof(err)) == STS_EINVAL);
    ck_assert_msg(strstr(err, "after the end") != NULL, "reason: %s", err);
    /* a flipped byte in the CRC trailer, and one in the data */
    memcpy(t, z, zlen);
    t[zlen - 6] ^= 0x55;
    ck_assert(sts_gzip_decompress(t, zlen, 10 * n, &o, &olen, err, sizeof(err)) == STS_EINVAL);
    memcpy(t, z, zlen);
    t[zlen / 2] ^= 0xff;
    ck_assert(sts_gzip_decompress(t, zlen, 10 * n, &o, &olen, err, sizeof(err)) == STS_EINVAL);
    /* not gzip: a zlib stream header, plain text */
    ck_assert(sts_gzip_decompress("\x78\x9c\x03\x00\x00\x00\x00\x01", 8, n, &o, &olen, err,
                                  sizeof(err)) == STS_EINVAL);
    ck_assert(sts_gzip_decompress("{\"a\":1}", 7, n, &o, &olen, err, sizeof(err)) == STS_EINVAL);
    ck_assert(sts_gzip_decompress("", 0, n, &o, &olen, err, sizeof(err)) == STS_EINVAL);
    free(t);
    free(in);
    free(z);
}
END_TEST

static Suite *gzip_suite(void)
{
    Suite *s = suite_create("gzip");
    TCase *tc = tcase_create("util");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_round_trip, 0, (int)(sizeof(sizes) / sizeof(sizes[0])));
    tcase_add_test(tc, test_compress_cap);
    tcase_add_test(tc, test_bomb);
    tcase_add_test(tc, test_decompress_cap_exact);
    tcase_add_test(tc, test_bad_input);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return unit_main(gzip_suite());
}
