/*
 * fetch.c - HTTPS policy fetch on libcurl (RFC 8461 §3.3), with the SSRF
 * guard.  The only file that includes <curl/curl.h>.
 *
 * One call = one easy handle, nothing shared between calls but the
 * process-wide curl_global_init(); so no locks.  The steps:
 *
 *   1. resolve mta-sts.<domain> ourselves (struct sts_dns: A, then AAAA
 *      only if no A record was permitted) and pick the first address the
 *      guard permits; none -> STS_FETCH_REFUSED, nothing resolved ->
 *      STS_FETCH_DNS;
 *   2. pin it with CURLOPT_RESOLVE, so libcurl never resolves the name,
 *      and check again in CURLOPT_OPENSOCKETFUNCTION that the socket
 *      libcurl opens goes to exactly that address and port;
 *   3. GET with HTTPS only, no redirects, no proxy, no cookies, no
 *      content encodings (no decompression bombs), TLS >= 1.2 verified
 *      against mta-sts.<domain>;
 *   4. judge status and Content-Type when the first body byte arrives (so
 *      a wrong answer is not downloaded) and again at the end (for an
 *      empty body); cap the body in the write callback, since libcurl
 *      7.88 enforces CURLOPT_MAXFILESIZE only for a declared length.
 *
 * The deadline is the whole call: DNS time is taken off total_timeout_ms
 * before libcurl gets what remains.
 */
#include "mtasts/fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#ifdef HAVE_CONFIG_H
#include "build-config.h"
#include "mtasts/metrics.h"
#endif
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#include "mtasts/addr_guard.h"
#include "mtasts/clock.h"
#include "mtasts/domain.h"
#include "mtasts/policy.h"

#define FETCH_USER_AGENT "mtasts-milter/" PACKAGE_VERSION
#define FETCH_PATH "/.well-known/mta-sts.txt"
#define FETCH_HOST_PREFIX "mta-sts."
#define FETCH_DEFAULT_PORT 443u
#define FETCH_DEFAULT_CONNECT_MS 10000u
#define FETCH_DEFAULT_TOTAL_MS 30000u
/* A stall detector: under 1 byte/s for 10 s aborts even when the total
 * deadline is further away (a trickle is bounded by the total anyway). */
#define FETCH_LOW_SPEED_BYTES 1L
#define FETCH_LOW_SPEED_SECONDS 10L
#define FETCH_BODY_FIRST_ALLOC 4096u

struct fetch_ctx {
    CURL *h;
    /* The body, at most STS_POLICY_BODY_MAX bytes plus a NUL. */
    char *body;
    size_t len, cap;
    /* Set by a callback that stopped the transfer: why, and the detail. */
    enum sts_fetch_result abort_why;
    bool nomem;
    bool judged; /* status and Content-Type checked */
    char abort_detail[sizeof(((struct sts_fetch_response *)0)->detail)];
    /* The pinned address, for the open-socket re-check. */
    int pin_family;
    unsigned char pin_addr[16];
    unsigned pin_port;
    bool allow_private;
    char socket_addr[INET6_ADDRSTRLEN]; /* what libcurl tried, if refused */
    unsigned socket_port;
};

/* The outcome of resolving mta-sts.<domain>. */
struct fetch_pick {
    char pinned[INET6_ADDRSTRLEN];  /* "" if none permitted */
    char refused[INET6_ADDRSTRLEN]; /* the first refused address, "" if none */
    enum sts_addr_class refused_cls;
    size_t nrefused;
    char why[128]; /* DNS results, for the detail: "A nxdomain" */
};

static void set_detail(struct sts_fetch_response *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_detail(struct sts_fetch_response *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->detail, sizeof(out->detail), fmt, ap);
    va_end(ap);
}

enum sts_status sts_fetch_global_init(char *err, size_t errlen)
{
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        return sts_status_set(STS_EIO, err, errlen, "curl_global_init: %s", curl_easy_strerror(rc));
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    /* CURLOPT_PROTOCOLS_STR and CURLOPT_REDIR_PROTOCOLS_STR: 7.85.0. */
    if (v->version_num < 0x075500)
        return sts_status_set(STS_EINVAL, err, errlen, "libcurl %s is too old (7.85.0 needed)",
                              v->version);
    if (!(v->features & CURL_VERSION_SSL))
        return sts_status_set(STS_EINVAL, err, errlen, "libcurl %s has no TLS support", v->version);
    return STS_OK;
}

/* ---- step 1: resolve and choose (no I/O but through struct sts_dns) ---- */

static void pick_note(struct fetch_pick *p, const char *what, const char *result)
{
    size_t used = strlen(p->why);
    snprintf(p->why + used, sizeof(p->why) - used, "%s%s %s", used > 0 ? ", " : "", what, result);
}

/* Ask one type; on STS_OK, p says what was found.  Only STS_ENOMEM fails. */
static enum sts_status pick_from(struct sts_dns *dns, const char *host, enum sts_dns_type type,
                                 bool allow_private, struct fetch_pick *p,
                                 enum sts_dns_result *result)
{
    const char *what = type == STS_DNS_A ? "A" : "AAAA";
    struct sts_dns_answer *ans = NULL;
    enum sts_status st = sts_dns_query(dns, host, type, &ans);

    if (st == STS_ENOMEM)
        return st;
    if (st != STS_OK || ans == NULL) {
        *result = STS_DNS_ERROR;
        pick_note(p, what, sts_status_word(st));
        sts_dns_answer_free(ans);
        return STS_OK;
    }
    *result = ans->result;
    if (ans->result != STS_DNS_ANSWER || ans->count == 0 || ans->addr == NULL) {
        pick_note(p, what,
                  ans->result == STS_DNS_ANSWER ? "nodata" : sts_dns_result_name(ans->result));
        sts_dns_answer_free(ans);
        return STS_OK;
    }
    for (size_t i = 0; i < ans->count; i++) {
        const char *addr = ans->addr[i];
        if (sts_addr_guard_permits(addr, allow_private)) {
            snprintf(p->pinned, sizeof(p->pinned), "%s", addr);
            break;
        }
        if (p->nrefused++ == 0) {
            snprintf(p->refused, sizeof(p->refused), "%s", addr);
            p->refused_cls = sts_addr_guard_classify(addr);
        }
    }
    pick_note(p, what, "answer");
    sts_dns_answer_free(ans);
    return STS_OK;
}

static enum sts_status fetch_pick(struct sts_dns *dns, const char *host, bool allow_private,
                                  struct fetch_pick *p)
{
    enum sts_dns_result ra = STS_DNS_ERROR, raaaa = STS_DNS_ERROR;
    enum sts_status st;

    memset(p, 0, sizeof(*p));
    st = pick_from(dns, host, STS_DNS_A, allow_private, p, &ra);
    if (st != STS_OK || p->pinned[0] != '\0' || ra == STS_DNS_NXDOMAIN)
        return st;
    return pick_from(dns, host, STS_DNS_AAAA, allow_private, p, &raaaa);
}

/* ---- step 2: the pin, checked again when libcurl opens its socket ---- */

static bool pin_set(struct fetch_ctx *ctx, const char *addr, unsigned port)
{
    ctx->pin_port = port;
    if (inet_pton(AF_INET, addr, ctx->pin_addr) == 1) {
        ctx->pin_family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, addr, ctx->pin_addr) == 1) {
        ctx->pin_family = AF_INET6;
        return true;
    }
    return false;
}

/* Is the sockaddr libcurl wants exactly the pinned address and port? */
static bool pin_matches(const struct fetch_ctx *ctx, const struct curl_sockaddr *a, char *text,
                        size_t textlen, unsigned *port_out)
{
    struct sockaddr_storage ss;
    const void *bytes;
    size_t nbytes;
    unsigned port;

    text[0] = '\0';
    *port_out = 0;
    if (a->addrlen > sizeof(ss))
        return false;
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, &a->addr, a->addrlen);
    if (a->family == AF_INET && a->addrlen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
        bytes = &sin->sin_addr;
        nbytes = 4;
        port = ntohs(sin->sin_port);
    } else if (a->family == AF_INET6 && a->addrlen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
        bytes = &sin6->sin6_addr;
        nbytes = 16;
        port = ntohs(sin6->sin6_port);
    } else {
        snprintf(text, textlen, "family %d", a->family);
        return false;
    }
    *port_out = port;
    if (inet_ntop(a->family, bytes, text, (socklen_t)textlen) == NULL)
        return false;
    return a->family == ctx->pin_family && memcmp(bytes, ctx->pin_addr, nbytes) == 0 &&
           port == ctx->pin_port && sts_addr_guard_permits(text, ctx->allow_private);
}

static curl_socket_t fetch_opensocket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct fetch_ctx *ctx = arg;
    char text[INET6_ADDRSTRLEN] = "";
    unsigned port = 0;

    if (purpose != CURLSOCKTYPE_IPCXN || !pin_matches(ctx, a, text, sizeof(text), &port)) {
        ctx->abort_why = STS_FETCH_REFUSED;
        ctx->socket_port = port;
        snprintf(ctx->socket_addr, sizeof(ctx->socket_addr), "%s", text);
        return CURL_SOCKET_BAD;
    }
    curl_socket_t fd = socket(a->family, a->socktype, a->protocol);
    if (fd != CURL_SOCKET_BAD)
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

/* ---- step 4: judging the answer, capping the body ---- */

static bool is_token_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/*
 * RFC 9110 §8.3.1: media-type = type "/" subtype parameters, case-
 * insensitive, parameters = *( OWS ";" OWS [ parameter ] ).  Only the
 * media type matters here; the parameters are tolerated unexamined.
 */
static bool media_type_is_text_plain(const char *ct)
{
    static const char want[] = "text/plain";
    size_t n = sizeof(want) - 1;

    while (*ct == ' ' || *ct == '\t')
        ct++;
    for (size_t i = 0; i < n; i++) {
        char c = ct[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != want[i])
            return false;
    }
    ct += n;
    if (is_token_char(*ct)) /* "text/plainx" */
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* A header of the last response, quoted for a log line; "" if absent. */
static const char *response_header(CURL *h, const char *name, char *q, size_t qlen)
{
    struct curl_header *hh = NULL;

    q[0] = '\0';
    if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hh) == CURLHE_OK && hh->value != NULL)
        sts_status_quote(hh->value, strlen(hh->value), q, qlen);
    return q;
}

/* Check status and media type once; false (and abort_why set) to stop. */
static bool fetch_judge(struct fetch_ctx *ctx)
{
    long code = 0;
    char *ct = NULL;
    char q[160];

    if (ctx->judged)
        return ctx->abort_why == STS_FETCH_OK;
    ctx->judged = true;
    curl_easy_getinfo(ctx->h, CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
        ctx->abort_why = STS_FETCH_HTTP;
        /* The raw Location: CURLINFO_REDIRECT_URL is not set when the
         * write callback stops the transfer. */
        if (code >= 300 && code < 400 && response_header(ctx->h, "Location", q, sizeof(q))[0])
            snprintf(ctx->abort_detail, sizeof(ctx->abort_detail),
                     "HTTP %ld, redirect to \"%s\" not followed", code, q);
        else
            snprintf(ctx->abort_detail, sizeof(ctx->abort_detail), "HTTP %ld", code);
        return false;
    }
    curl_easy_getinfo(ctx->h, CURLINFO_CONTENT_TYPE, &ct);
    if (ct == NULL || !media_type_is_text_plain(ct)) {
        ctx->abort_why = STS_FETCH_MEDIA_TYPE;
        if (ct == NULL)
            snprintf(ctx->abort_detail, sizeof(ctx->abort_detail), "no Content-Type");
        else
            snprintf(ctx->abort_detail, sizeof(ctx->abort_detail),
                     "Content-Type \"%s\" is not text/plain",
                     sts_status_quote(ct, strlen(ct), q, sizeof(q)));
        return false;
    }
    return true;
}

static size_t fetch_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct fetch_ctx *ctx = arg;
    size_t n = size * nmemb; /* size is always 1 */

    if (!fetch_judge(ctx))
        return 0;
    if (n > STS_POLICY_BODY_MAX - ctx->len) {
        ctx->abort_why = STS_FETCH_TOO_BIG;
        snprintf(ctx->abort_detail, sizeof(ctx->abort_detail), "body over %u bytes",
                 (unsigned)STS_POLICY_BODY_MAX);
        return 0;
    }
    if (ctx->len + n + 1 > ctx->cap) {
        size_t cap = ctx->cap > 0 ? ctx->cap : FETCH_BODY_FIRST_ALLOC;
        while (cap < ctx->len + n + 1)
            cap *= 2;
        if (cap > STS_POLICY_BODY_MAX + 1)
            cap = STS_POLICY_BODY_MAX + 1;
        char *body = realloc(ctx->body, cap);
        if (body == NULL) {
            ctx->nomem = true;
            ctx->abort_why = STS_FETCH_ERROR;
            snprintf(ctx->abort_detail, sizeof(ctx->abort_detail), "out of memory");
            return 0;
        }
        ctx->body = body;
        ctx->cap = cap;
    }
    memcpy(ctx->body + ctx->len, data, n);
    ctx->len += n;
    return n;
}

/* ---- step 3: the request ---- */

static CURLcode fetch_setup(struct fetch_ctx *ctx, const struct sts_fetch_config *cfg,
                            const char *url, struct curl_slist *resolve, struct curl_slist *headers,
                            char *errbuf, long connect_ms, long total_ms)
{
    CURL *h = ctx->h;
    CURLcode rc = CURLE_OK;

#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (rc == CURLE_OK)                                                                        \
            rc = curl_easy_setopt(h, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_URL, url);
    SET(CURLOPT_RESOLVE, resolve);
    SET(CURLOPT_OPENSOCKETFUNCTION, fetch_opensocket);
    SET(CURLOPT_OPENSOCKETDATA, ctx);
    SET(CURLOPT_PROTOCOLS_STR, "https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_MAXREDIRS, 0L);
    SET(CURLOPT_PROXY, ""); /* ignore http_proxy/https_proxy/ALL_PROXY */
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (cfg->ca_file != NULL && cfg->ca_file[0] != '\0') {
        /* libcurl reads neither SSL_CERT_FILE nor CURL_CA_BUNDLE (the curl
         * tool does); the file replaces the built-in store, directory too. */
        SET(CURLOPT_CAINFO, cfg->ca_file);
        SET(CURLOPT_CAPATH, (char *)NULL);
    }
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    SET(CURLOPT_TIMEOUT_MS, total_ms);
    SET(CURLOPT_LOW_SPEED_LIMIT, FETCH_LOW_SPEED_BYTES);
    SET(CURLOPT_LOW_SPEED_TIME, FETCH_LOW_SPEED_SECONDS);
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)STS_POLICY_BODY_MAX); /* Content-Length */
    SET(CURLOPT_HTTPGET, 1L);
    SET(CURLOPT_HTTPHEADER, headers);
    SET(CURLOPT_USERAGENT, FETCH_USER_AGENT);
    SET(CURLOPT_WRITEFUNCTION, fetch_write);
    SET(CURLOPT_WRITEDATA, ctx);
    /* Left at their defaults on purpose: no cookie engine, no .netrc, no
     * HSTS or alt-svc cache, no Accept-Encoding (no decompression). */
#undef SET
    return rc;
}

static enum sts_fetch_result map_curl_error(struct fetch_ctx *ctx, CURLcode rc, long status)
{
    curl_off_t connect_us = 0;

    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        return STS_FETCH_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        curl_easy_getinfo(ctx->h, CURLINFO_CONNECT_TIME_T, &connect_us);
        return connect_us == 0 ? STS_FETCH_CONNECT : STS_FETCH_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST: /* cannot happen with the pin */
        return STS_FETCH_DNS;
    case CURLE_FILESIZE_EXCEEDED:
        return status == 200 || status == 0 ? STS_FETCH_TOO_BIG : STS_FETCH_HTTP;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CLIENTCERT:
        return STS_FETCH_TLS;
    case CURLE_GOT_NOTHING:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP_RETURNED_ERROR:
        return STS_FETCH_HTTP;
    default: /* CURLE_SSL_CACERT_BADFILE (our configuration), memory, ... */
        return STS_FETCH_ERROR;
    }
}

/* After curl_easy_perform: fill out from what happened.  STS_ENOMEM or STS_OK. */
static enum sts_status fetch_conclude(struct fetch_ctx *ctx, CURLcode rc, const char *errbuf,
                                      const char *addr, unsigned port,
                                      struct sts_fetch_response *out)
{
    curl_easy_getinfo(ctx->h, CURLINFO_RESPONSE_CODE, &out->http_status);
    if (ctx->abort_why == STS_FETCH_REFUSED) {
        /* The open-socket check caught libcurl going somewhere else. */
        out->result = STS_FETCH_REFUSED;
        snprintf(out->addr, sizeof(out->addr), "%s", ctx->socket_addr);
        set_detail(out, "libcurl tried to connect to %s port %u, not the pinned %s port %u",
                   ctx->socket_addr, ctx->socket_port, addr, port);
        return STS_OK;
    }
    if (rc == CURLE_OK)
        (void)fetch_judge(ctx); /* an empty body never reached fetch_write */
    if (ctx->abort_why != STS_FETCH_OK) {
        out->result = ctx->abort_why;
        set_detail(out, "%s", ctx->abort_detail);
        return ctx->nomem ? STS_ENOMEM : STS_OK;
    }
    if (rc != CURLE_OK) {
        out->result = map_curl_error(ctx, rc, out->http_status);
        if (rc == CURLE_FILESIZE_EXCEEDED && out->result == STS_FETCH_TOO_BIG) {
            char q[32];
            set_detail(out, "Content-Length %s over %u bytes",
                       response_header(ctx->h, "Content-Length", q, sizeof(q)),
                       (unsigned)STS_POLICY_BODY_MAX);
        } else {
            set_detail(out, "%s", errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
        }
        return rc == CURLE_OUT_OF_MEMORY ? STS_ENOMEM : STS_OK;
    }
    if (ctx->body == NULL && (ctx->body = malloc(1)) == NULL) { /* an empty 200 */
        out->result = STS_FETCH_ERROR;
        set_detail(out, "out of memory");
        return STS_ENOMEM;
    }
    ctx->body[ctx->len] = '\0';
    out->result = STS_FETCH_OK;
    out->body = ctx->body;
    out->body_len = ctx->len;
    ctx->body = NULL;
    set_detail(out, "HTTP 200, %zu bytes", out->body_len);
    return STS_OK;
}

/* Build the request, run it, fill out.  STS_ENOMEM or STS_OK. */
static enum sts_status fetch_run(const struct sts_fetch_config *cfg, const char *host,
                                 const char *addr, unsigned port, long total_ms,
                                 struct sts_fetch_response *out)
{
    struct fetch_ctx ctx;
    char url[STS_DOMAIN_MAX + 64], pin[STS_DOMAIN_MAX + 80], portpart[16] = "";
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *resolve = NULL, *headers = NULL;
    enum sts_status st = STS_OK;
    CURLcode rc;

    memset(&ctx, 0, sizeof(ctx));
    ctx.allow_private = cfg->allow_private;
    if (!pin_set(&ctx, addr, port)) {
        out->result = STS_FETCH_ERROR;
        set_detail(out, "bad address %s", addr);
        return STS_OK;
    }
    if (port != FETCH_DEFAULT_PORT)
        snprintf(portpart, sizeof(portpart), ":%u", port);
    snprintf(url, sizeof(url), "https://%s%s" FETCH_PATH, host, portpart);
    if (ctx.pin_family == AF_INET6)
        snprintf(pin, sizeof(pin), "%s:%u:[%s]", host, port, addr);
    else
        snprintf(pin, sizeof(pin), "%s:%u:%s", host, port, addr);

    unsigned connect_ms =
        cfg->connect_timeout_ms ? cfg->connect_timeout_ms : FETCH_DEFAULT_CONNECT_MS;
    if ((long)connect_ms > total_ms)
        connect_ms = (unsigned)total_ms;

    ctx.h = curl_easy_init();
    resolve = curl_slist_append(NULL, pin);
    headers = curl_slist_append(NULL, "Cache-Control: no-cache");
    if (ctx.h == NULL || resolve == NULL || headers == NULL) {
        st = STS_ENOMEM;
        out->result = STS_FETCH_ERROR;
        set_detail(out, "out of memory");
    } else if ((rc = fetch_setup(&ctx, cfg, url, resolve, headers, errbuf, (long)connect_ms,
                                 total_ms)) != CURLE_OK) {
        st = rc == CURLE_OUT_OF_MEMORY ? STS_ENOMEM : STS_OK;
        out->result = STS_FETCH_ERROR;
        set_detail(out, "curl_easy_setopt: %s", curl_easy_strerror(rc));
    } else {
        rc = curl_easy_perform(ctx.h);
        st = fetch_conclude(&ctx, rc, errbuf, addr, port, out);
    }
    free(ctx.body);
    curl_slist_free_all(resolve);
    curl_slist_free_all(headers);
    curl_easy_cleanup(ctx.h);
    return st;
}

enum sts_status sts_fetch_policy(const struct sts_fetch_config *cfg, struct sts_dns *dns,
                                 const char *domain, struct sts_fetch_response *out)
{
    static const struct sts_fetch_config defaults = {0};
    char host[STS_DOMAIN_MAX + 1];
    struct fetch_pick pick;
    enum sts_status st = STS_OK;
    double start_ms = sts_clock_mono_msf();

    memset(out, 0, sizeof(*out));
    if (cfg == NULL)
        cfg = &defaults;
    unsigned port = cfg->port ? cfg->port : FETCH_DEFAULT_PORT;
    unsigned total_ms = cfg->total_timeout_ms ? cfg->total_timeout_ms : FETCH_DEFAULT_TOTAL_MS;

    if (domain == NULL || port > 65535 ||
        (size_t)snprintf(host, sizeof(host), FETCH_HOST_PREFIX "%s", domain) >= sizeof(host) ||
        sts_domain_check_ldh(host, strlen(host), NULL, 0) != STS_OK) {
        out->result = STS_FETCH_ERROR;
        set_detail(out, "not a valid policy host name or port");
        goto done;
    }

    st = fetch_pick(dns, host, cfg->allow_private, &pick);
    if (st != STS_OK) {
        out->result = STS_FETCH_ERROR;
        set_detail(out, "out of memory");
        goto done;
    }
    if (pick.pinned[0] == '\0' && pick.nrefused > 0) {
        out->result = STS_FETCH_REFUSED;
        snprintf(out->addr, sizeof(out->addr), "%s", pick.refused);
        set_detail(out, "%s is %s, refused by the SSRF guard (%s: %zu address%s refused)",
                   pick.refused, sts_addr_guard_class_name(pick.refused_cls), host, pick.nrefused,
                   pick.nrefused == 1 ? "" : "es");
        goto done;
    }
    if (pick.pinned[0] == '\0') {
        out->result = STS_FETCH_DNS;
        set_detail(out, "%s: %s", host, pick.why);
        goto done;
    }
    snprintf(out->addr, sizeof(out->addr), "%s", pick.pinned);

    double spent_ms = sts_clock_mono_msf() - start_ms;
    if (spent_ms >= (double)total_ms) {
        out->result = STS_FETCH_TIMEOUT;
        set_detail(out, "%s: deadline spent resolving the name", host);
        goto done;
    }
    st = fetch_run(cfg, host, pick.pinned, port, (long)((double)total_ms - spent_ms), out);

done:
    out->seconds = (sts_clock_mono_msf() - start_ms) / 1000.0;
    sts_metrics_fetch(out->result, out->seconds);
    return st;
}

void sts_fetch_response_clear(struct sts_fetch_response *resp)
{
    if (resp == NULL)
        return;
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}
