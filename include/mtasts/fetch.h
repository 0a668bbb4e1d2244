/*
 * fetch.h - HTTPS policy fetch on libcurl (RFC 8461 §3.3).
 *
 * Only fetch.c includes <curl/curl.h>.  GET https://mta-sts.<domain>/
 * .well-known/mta-sts.txt with: HTTPS only; certificate verified for
 * mta-sts.<domain> (system store or cfg->ca_file); no redirects (a 3xx is
 * a failure); only 200; Content-Type text/plain (parameters tolerated);
 * body capped at STS_POLICY_BODY_MAX in the write callback; connect and
 * total timeouts; CURLOPT_NOSIGNAL; no HTTP caches (Cache-Control: no-cache
 * request header, nothing kept).
 *
 * SSRF guard: mta-sts.<domain> is resolved through the shared struct
 * sts_dns (A, then AAAA unless an A record was permitted or the name is
 * NXDOMAIN), each address classified by addr_guard.h, and the first
 * permitted one pinned with CURLOPT_RESOLVE so libcurl never resolves the
 * name itself; CURLOPT_OPENSOCKETFUNCTION refuses any socket to another
 * address or port.  No permitted address is a failure (STS_FETCH_REFUSED)
 * and nothing is connected to.
 *
 * Deadline: total_timeout_ms covers the whole call, DNS included.
 * Trust: cfg->ca_file replaces libcurl's built-in CA file and directory;
 * the SSL_CERT_FILE / CURL_CA_BUNDLE environment variables are not read.
 * No proxy (http_proxy and friends are ignored), no cookies, no content
 * encodings.  Needs libcurl >= 7.85 (CURLOPT_PROTOCOLS_STR), checked by
 * sts_fetch_global_init().
 *
 * Thread-safe: each call uses its own easy handle.  curl_global_init()
 * must have run once before threads start: sts_fetch_global_init().
 */
#ifndef MTASTS_FETCH_H
#define MTASTS_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/dns.h"
#include "mtasts/status.h"
#include "mtasts/vocab.h"

struct sts_fetch_config {
    const char *ca_file;         /* NULL = system store */
    unsigned connect_timeout_ms; /* 0 = 10000 */
    unsigned total_timeout_ms;   /* 0 = 30000 (RFC 8461 §3.3 suggests <= 60 s) */
    unsigned port;               /* 0 = 443; tests only */
    bool allow_private;          /* SSRF guard off (tests); default false */
};

struct sts_fetch_response {
    enum sts_fetch_result result;
    long http_status; /* 0 if no response */
    char *body;       /* NUL-terminated, malloc'ed; NULL unless OK */
    size_t body_len;
    char addr[46];    /* the address pinned (or the first refused), "" if none */
    char detail[256]; /* one line for logs: curl's error, the status, the
                         Location of a 3xx, the refused address and its
                         class, ...; untrusted bytes quoted (status.h) */
    double seconds;   /* wall time of the whole fetch */
};

/**
 * Call once, before any thread calls sts_fetch_policy().
 * @return STS_OK; STS_EIO if curl_global_init() failed; STS_EINVAL if
 *         the run-time libcurl is older than 7.85 or has no TLS
 */
enum sts_status sts_fetch_global_init(char *err, size_t errlen);

/**
 * Fetch the policy of a (normalised) domain.
 * @param cfg    settings (NULL = all defaults); read during the call only
 * @param dns    the shared resolver
 * @param domain the policy domain, LDH A-label form (domain.h); anything
 *               else is STS_FETCH_ERROR without any I/O
 * @param out    filled in every case; on STS_FETCH_OK out->body holds the
 *               body (NUL-terminated, body_len bytes, may contain NULs),
 *               owned by the caller until sts_fetch_response_clear()
 * @return STS_OK; STS_ENOMEM when memory ran out (out is then filled with
 *         STS_FETCH_ERROR and "out of memory")
 */
enum sts_status sts_fetch_policy(const struct sts_fetch_config *cfg, struct sts_dns *dns,
                                 const char *domain, struct sts_fetch_response *out);

/** Free out->body and reset it to NULL; NULL resp is a no-op. */
void sts_fetch_response_clear(struct sts_fetch_response *resp);

#endif
