/*
 * cli_check_tls.h - the per-MX TLS part of "mtasts check" (cli_check_tls.c),
 * what checkers in the field (Hardenize, LuxSci) show for each MX host:
 * addresses, STARTTLS, the protocol versions accepted (each tried with a
 * handshake of its own), the cipher of the default probe, the certificate,
 * the DANE status (RFC 7672) and the RFC 8460 result type.
 *
 * Probes are made directly with probe.h (never through the probe cache):
 * a check shows what the host does now.  Hosts are probed in parallel by at
 * most CLI_TLS_THREADS workers of a job pool (job_pool.h), the TLS
 * versions of one host in parallel too; each job writes only its own
 * struct cli_mx_tls, the shared resolver and probe context are thread-safe.
 *
 * Ownership: the caller owns the array of struct cli_mx_tls (no pointers
 * inside); the JSON objects returned are the caller's to release.
 */
#ifndef MTASTS_CLI_CHECK_TLS_H
#define MTASTS_CLI_CHECK_TLS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/dane.h"
#include "mtasts/dns.h"
#include "mtasts/probe.h"

#define CLI_TLS_THREADS 8      /* MX hosts probed at once */
#define CLI_TLS_ADDRS 8        /* addresses kept per MX host */
#define CLI_TLS_TLSA 8         /* TLSA records kept per MX host */
#define CLI_TLS_VERSIONS 4     /* TLS 1.0, 1.1, 1.2, 1.3 */
#define CLI_TLS_EXPIRY_WARN 14 /* days: a certificate expiring sooner is a warning */

/* One version of the scan. */
enum cli_tls_scan {
    CLI_SCAN_UNTESTED = 0, /* not tried (no STARTTLS, unreachable, --no-tls) */
    CLI_SCAN_ACCEPTED,     /* a handshake with exactly this version completed */
    CLI_SCAN_REFUSED,      /* the server would not complete it */
};

struct cli_tlsa_rec {
    uint8_t usage, selector, mtype;
    bool usable;
    size_t len;
    unsigned char data[1024]; /* a longer record (a whole certificate) is */
    bool cut;                 /* cut, and then not usable here */
};

struct cli_mx_tls {
    /* Set by the caller: */
    char host[256];
    unsigned preference;
    bool implicit;     /* no MX records: the domain itself (RFC 5321 §5.1) */
    bool permitted;    /* the policy's mx patterns permit the host */
    bool no_policy;    /* there is no MTA-STS policy to permit it */
    char pattern[256]; /* the pattern that permits it, "" if none */

    /* Filled by cli_check_tls_run(): */
    size_t naddrs;
    char addrs[CLI_TLS_ADDRS][46];
    enum sts_dnssec addr_dnssec; /* the least secure of the A and AAAA answers */
    char addr_why[640];          /* why there is no address, "" otherwise */
    char probed_addr[46];        /* the address the probes went to, "" if none */
    unsigned port;

    struct sts_probe_result web; /* the default probe: TLS 1.2+, WebPKI */
    bool web_done;
    enum cli_tls_scan scan[CLI_TLS_VERSIONS];
    int cert_from;                /* the probe the certificate fields come from: -1 none,
                                     0 the default probe, 1 + i the scan of version i */
    struct sts_probe_result cert; /* a copy of that probe */

    enum sts_dane_state dane;
    enum sts_dnssec tlsa_dnssec;
    char tlsa_why[640];
    size_t ntlsa, tlsa_usable;
    struct cli_tlsa_rec tlsa[CLI_TLS_TLSA];
    struct sts_probe_result dane_probe; /* only with STS_DANE_USABLE */
    bool dane_done;

    enum sts_tls_result result; /* the host's RFC 8460 result type */
    char detail[700];
    double ms;
};

struct cli_tls_config {
    const struct sts_probe_ctx *ctx;
    struct sts_dane *dane; /* addresses and TLSA (its port is port's) */
    unsigned port;         /* 25 unless testing */
    unsigned timeout_ms;   /* per probe */
    bool mx_secure;        /* the MX RRset validated: DANE may apply */
};

/** The TLS versions of the scan, in order: "TLS 1.0" ... "TLS 1.3". */
const char *cli_tls_version_label(int i);

/**
 * Resolve, look up TLSA and probe every host, CLI_TLS_THREADS at a time.
 * Blocks at most, per host: its DNS lookups, one probe timeout per
 * unreachable address (at most CLI_TLS_ADDRS), then one each for the
 * version scan (its handshakes run in parallel) and the DANE probe.
 * @return 0, or -1 if out of memory (message printed)
 */
int cli_check_tls_run(struct cli_mx_tls *mx, size_t n, const struct cli_tls_config *cfg);

/** Does this host count towards the verdict (permitted, or DANE decides)? */
bool cli_check_tls_candidate(const struct cli_mx_tls *mx);

/** Whole days from now to the certificate's expiry (negative once expired). */
int64_t cli_check_tls_days_left(const struct cli_mx_tls *mx);

/** The certificate's probe, or NULL without a certificate. */
const struct sts_probe_result *cli_check_tls_cert(const struct cli_mx_tls *mx);

/** Print the host's section for a postmaster (aligned, one fact a line). */
void cli_check_tls_print(const struct cli_mx_tls *mx);

/**
 * Add the TLS fields of the host to its JSON object (addresses, starttls,
 * versions, cipher, certificate, dane, result, detail, ms).
 */
void cli_check_tls_json(const struct cli_mx_tls *mx, json_object *obj);

#endif
