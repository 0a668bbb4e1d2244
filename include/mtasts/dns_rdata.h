/*
 * dns_rdata.h - DNS answers and their records, and the parsers that turn
 * RDATA from the wire into them: TXT (RFC 1035 §3.3.14), MX (§3.3.9),
 * A (§3.4.1), AAAA (RFC 3596 §2.2), TLSA (RFC 6698 §2.1).  Pure: no I/O,
 * no lock, no library header; the resolver (dns.h, the only file that
 * includes <unbound.h>) hands it what libunbound returns.
 *
 * Nothing in RDATA is trusted: every length is checked against what is
 * left.  A record is malformed (the whole answer then is, STS_EINVAL)
 * when a TXT character-string runs past its record, an MX is shorter
 * than 3 octets or its exchange is not exactly one uncompressed name
 * (a compression pointer or an extended label, a label over 63 octets, a
 * name over 255 octets, bytes after the root label, or a byte that
 * cannot appear in a host name: NUL, controls, space, '.', '\\', 8-bit),
 * an A is not 4 octets, an AAAA not 16, a TLSA shorter than 3.
 *
 * Caps: an answer keeps at most STS_DNS_RECORDS_MAX records (for MX the
 * most preferred ones) and at most STS_DNS_TXT_BYTES_MAX bytes of TXT data
 * in all; what is left out is still checked, and why says "truncated:
 * kept N of M records".
 *
 * Ownership: an answer owns its record arrays; sts_dns_answer_free()
 * releases the answer and them.  Thread-safe: no shared state.
 */
#ifndef MTASTS_DNS_RDATA_H
#define MTASTS_DNS_RDATA_H

#include <stddef.h>
#include <stdint.h>

#include "mtasts/status.h"
#include "mtasts/vocab.h"

#define STS_DNS_RECORDS_MAX 64            /* records kept per answer */
#define STS_DNS_TXT_BYTES_MAX (64 * 1024) /* TXT bytes kept per answer, all records */
#define STS_DNS_NAME_WIRE_MAX 255         /* RFC 1035 §2.3.4 */
#define STS_DNS_NAME_TEXT_MAX 253         /* presentation form, no root dot */
#define STS_DNS_LABEL_MAX 63              /* RFC 1035 §2.3.4 */

enum sts_dns_type {
    STS_DNS_TXT = 16,
    STS_DNS_MX = 15,
    STS_DNS_A = 1,
    STS_DNS_AAAA = 28,
    STS_DNS_TLSA = 52,
};

/** Outcome of a query; each is distinct, as RFC 8461 §5 treats them apart. */
enum sts_dns_result {
    STS_DNS_ANSWER = 0, /* NOERROR with records of the asked type */
    STS_DNS_NXDOMAIN,   /* the name does not exist */
    STS_DNS_NODATA,     /* the name exists, no records of that type */
    STS_DNS_SERVFAIL,   /* SERVFAIL, REFUSED, other rcodes, or bogus DNSSEC */
    STS_DNS_TIMEOUT,    /* no answer before the deadline */
    STS_DNS_ERROR,      /* local failure (memory, resolver setup) */
};

struct sts_dns_mx {
    uint16_t preference;
    char host[256]; /* lower-case, no trailing dot; "" for a null MX (RFC 7505) */
};

struct sts_dns_tlsa {
    uint8_t usage, selector, mtype;
    size_t len;
    unsigned char *data;
};

struct sts_dns_answer {
    enum sts_dns_result result;
    enum sts_dnssec dnssec;
    uint32_t ttl;  /* seconds; for NXDOMAIN/NODATA the negative TTL if known;
                      0 when bogus or malformed */
    char why[128]; /* libunbound's reason for bogus, the rcode for servfail,
                      "truncated: ..." for a capped answer; may be "" */
    size_t count;  /* records of the asked type, at most 64 */
    /* for an ANSWER exactly one of these arrays is set, per the type asked;
       all are NULL when count is 0 */
    char **txt;            /* TXT: character-strings joined, NUL-terminated */
    size_t *txt_len;       /* their lengths (a TXT may contain NUL bytes) */
    struct sts_dns_mx *mx; /* sorted by preference; order among equal
                              preferences unspecified (libunbound rotates) */
    char (*addr)[46];      /* A/AAAA: presentation form (inet_ntop) */
    struct sts_dns_tlsa *tlsa;
};

/** One record's RDATA as it came off the wire: uncompressed, no RDLENGTH. */
struct sts_dns_rdata {
    const unsigned char *data; /* may be NULL when len is 0 */
    size_t len;
};

/**
 * Parse the RDATA of the n records of one RRset into ans's record arrays.
 * @param type the type asked (the records are all of it)
 * @param rr   n records; read only during the call
 * @param ans  count 0 and every array NULL on entry; on STS_OK it holds
 *             the records kept (count, the array of the type; nothing
 *             allocated when n is 0), and why "truncated: kept N of M
 *             records" when caps left some out (else why is untouched)
 * @return STS_OK; STS_EINVAL for a malformed record or an unknown type,
 *         STS_ENOMEM; on failure ans's arrays are freed and count is 0
 */
enum sts_status sts_dns_rdata_parse(enum sts_dns_type type, const struct sts_dns_rdata *rr,
                                    size_t n, struct sts_dns_answer *ans);

/** Free an answer and its records; NULL is a no-op. */
void sts_dns_answer_free(struct sts_dns_answer *ans);

/** "answer", "nxdomain", "nodata", "servfail", "timeout", "error". */
const char *sts_dns_result_name(enum sts_dns_result r);

/** "TXT", "MX", "A", "AAAA", "TLSA"; NULL for a type we never ask for. */
const char *sts_dns_type_name(enum sts_dns_type type);

#endif
