/*
 * fuzz_dns_rdata.c - libFuzzer harness for the RDATA parsers (dns_rdata.h):
 * what a resolver hands on from the wire, TXT, MX, A, AAAA, TLSA.
 *
 * Input: one type byte (its value modulo 5 picks the type), then records,
 * each a 16-bit big-endian RDLENGTH and that many bytes (a short tail is
 * one last record of what is left), at most 80 records so the 64-record
 * cap is crossed.  The documented promises are checked, not only memory
 * safety: on success at most 64 records, only the asked type's array set,
 * MX sorted by preference with lower-case printable names of at most 253
 * characters, TXT NUL-terminated within 64 KiB in all, TLSA data as long
 * as the record less 3; on failure nothing left allocated.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mtasts/dns_rdata.h"

#define MAX_RECORDS 80

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_answer(enum sts_dns_type type, const struct sts_dns_rdata *rr, size_t n,
                         const struct sts_dns_answer *a)
{
    size_t total = 0;

    if (a->count > STS_DNS_RECORDS_MAX || a->count > n)
        __builtin_trap();
    if ((type != STS_DNS_TXT && (a->txt != NULL || a->txt_len != NULL)) ||
        (type != STS_DNS_MX && a->mx != NULL) ||
        (type != STS_DNS_A && type != STS_DNS_AAAA && a->addr != NULL) ||
        (type != STS_DNS_TLSA && a->tlsa != NULL))
        __builtin_trap(); /* another type's array */
    for (size_t i = 0; i < a->count; i++) {
        switch (type) {
        case STS_DNS_TXT:
            if (a->txt[i][a->txt_len[i]] != '\0')
                __builtin_trap();
            total += a->txt_len[i];
            break;
        case STS_DNS_MX: {
            size_t len = strlen(a->mx[i].host);
            if (len > STS_DNS_NAME_TEXT_MAX ||
                (i > 0 && a->mx[i - 1].preference > a->mx[i].preference))
                __builtin_trap();
            for (size_t k = 0; k < len; k++) {
                unsigned char c = (unsigned char)a->mx[i].host[k];
                if (c <= 0x20 || c >= 0x7f || c == '\\' || (c >= 'A' && c <= 'Z'))
                    __builtin_trap();
            }
            break;
        }
        case STS_DNS_A:
        case STS_DNS_AAAA: {
            unsigned char bin[16];
            if (inet_pton(type == STS_DNS_A ? AF_INET : AF_INET6, a->addr[i], bin) != 1)
                __builtin_trap();
            break;
        }
        case STS_DNS_TLSA: {
            int found = 0; /* some record of that length and those bytes */
            for (size_t r = 0; r < n && !found; r++)
                found = rr[r].len == a->tlsa[i].len + 3 &&
                        memcmp(rr[r].data + 3, a->tlsa[i].data, a->tlsa[i].len) == 0;
            if (!found)
                __builtin_trap();
            break;
        }
        }
    }
    if (total > STS_DNS_TXT_BYTES_MAX)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum sts_dns_type types[] = {STS_DNS_TXT, STS_DNS_MX, STS_DNS_A, STS_DNS_AAAA,
                                              STS_DNS_TLSA};
    struct sts_dns_rdata rr[MAX_RECORDS];
    size_t n = 0, off = 1;

    if (size == 0)
        return 0;
    enum sts_dns_type type = types[data[0] % 5];
    while (off < size && n < MAX_RECORDS) {
        size_t len = size - off >= 2 ? (size_t)(data[off] << 8 | data[off + 1]) : 0;
        off += size - off >= 2 ? 2 : size - off;
        if (len > size - off)
            len = size - off;
        rr[n++] = (struct sts_dns_rdata){data + off, len};
        off += len;
    }
    struct sts_dns_answer *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return 0;
    enum sts_status st = sts_dns_rdata_parse(type, rr, n, a);
    if (st == STS_OK)
        check_answer(type, rr, n, a);
    else if (a->count != 0 || a->txt != NULL || a->txt_len != NULL || a->mx != NULL ||
             a->addr != NULL || a->tlsa != NULL)
        __builtin_trap(); /* a failure leaves the answer empty */
    sts_dns_answer_free(a);
    return 0;
}
