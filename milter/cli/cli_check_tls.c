/*
 * cli_check_tls.c - per-MX TLS results of "mtasts check": addresses,
 * TLSA (RFC 7672 §2.2), the default STARTTLS probe (RFC 8461 §4.2: TLS
 * 1.2+, a trusted certificate naming the host), the version scan (one
 * handshake per version), the DANE probe, and the RFC 8460 result type.
 */
#include "cli_check_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_common.h"
#include "mtasts/clock.h"
#include "mtasts/dane.h"
#include "mtasts/job_pool.h"
#include "mtasts/status.h"

static const struct {
    int version; /* OpenSSL's TLS1_VERSION ... */
    const char *label, *json;
} versions[CLI_TLS_VERSIONS] = {
    {0x0301, "TLS 1.0", "TLSv1.0"},
    {0x0302, "TLS 1.1", "TLSv1.1"},
    {0x0303, "TLS 1.2", "TLSv1.2"},
    {0x0304, "TLS 1.3", "TLSv1.3"},
};

const char *cli_tls_version_label(int i)
{
    return i >= 0 && i < CLI_TLS_VERSIONS ? versions[i].label : "?";
}

/* The least secure of two statuses: bogus < insecure < secure. */
/*
 * The host's addresses and TLSA records from the DANE module (dane.h:
 * TLSA at _PORT._tcp.HOST, the one usability rule, the address RRsets'
 * DNSSEC of RFC 7672 section 2.2.2): what the milter and the socketmap
 * judge the host by.
 */
static void from_dane(struct cli_mx_tls *mx, const struct cli_tls_config *cfg)
{
    struct sts_dane_host h;
    sts_dane_host_get(cfg->dane, mx->host, cfg->mx_secure, 0, &h);
    if (h.local_error) {
        mx->dane = STS_DANE_FAILED;
        snprintf(mx->addr_why, sizeof(mx->addr_why), "%s", h.why);
        snprintf(mx->tlsa_why, sizeof(mx->tlsa_why), "lookup failed: %s", h.why);
        sts_dane_host_clear(&h);
        return;
    }
    for (size_t i = 0; i < h.naddrs && mx->naddrs < CLI_TLS_ADDRS; i++)
        snprintf(mx->addrs[mx->naddrs++], sizeof(mx->addrs[0]), "%s", h.addrs[i]);
    mx->addr_dnssec = h.addr_dnssec;
    if (mx->naddrs == 0)
        snprintf(mx->addr_why, sizeof(mx->addr_why), "%s", h.addr_why[0] ? h.addr_why : h.why);
    mx->dane = h.state;
    mx->tlsa_dnssec = h.tlsa_dnssec;
    snprintf(mx->tlsa_why, sizeof(mx->tlsa_why), "%s", h.why);
    for (size_t i = 0; h.tlsa != NULL && i < h.ntlsa && mx->ntlsa < CLI_TLS_TLSA; i++) {
        struct cli_tlsa_rec *r = &mx->tlsa[mx->ntlsa++];
        const struct sts_dns_tlsa *t = &h.tlsa[i];
        r->usage = t->usage, r->selector = t->selector, r->mtype = t->mtype;
        r->cut = t->len > sizeof(r->data);
        r->len = r->cut ? sizeof(r->data) : t->len;
        memcpy(r->data, t->data, r->len);
        r->usable = sts_dane_tlsa_usable(t) && !r->cut;
        mx->tlsa_usable += r->usable;
    }
    sts_dane_host_clear(&h);
}

/* ------------------------------------------------------------------ probes */

/*
 * Run jobs on at most `workers` threads of a job pool (job_pool.h) and
 * wait for all of them (the pool drains its queue when freed); one after
 * the other in this thread when no thread can be had.
 */
static void run_all(struct sts_job *const *jobs, size_t n, unsigned workers,
                    void (*run)(void *arg, struct sts_job *job, void *scratch))
{
    struct sts_job_pool_config pc = {.workers = workers, .stop = STS_JOB_POOL_DRAIN, .run = run};
    struct sts_job_pool *pool = NULL;
    char err[128];
    size_t i = 0;
    if (n > 1 && workers > 1 && sts_job_pool_new(&pc, &pool, err, sizeof(err)) == STS_OK) {
        while (i < n && sts_job_pool_submit(pool, jobs[i]) == STS_JOB_QUEUED)
            i++;
        sts_job_pool_free(pool);
    }
    for (; i < n; i++)
        run(NULL, jobs[i], NULL);
}

struct probe_job {
    struct sts_job job; /* for run_all() */
    const struct sts_probe_ctx *ctx;
    struct sts_probe_request req;
    struct sts_probe_result res;
};

static void probe_job_run(struct probe_job *j)
{
    enum sts_status st = sts_probe_run(j->ctx, &j->req, &j->res);
    if (st != STS_OK) {
        memset(&j->res, 0, sizeof(j->res));
        j->res.result = STS_TLS_VALIDATION_FAILURE;
        j->res.dane_usage = -1;
        snprintf(j->res.detail, sizeof(j->res.detail), "the probe could not be made: %s",
                 sts_status_word(st));
    }
}

static void probe_job_work(void *arg, struct sts_job *job, void *scratch)
{
    (void)arg;
    (void)scratch;
    probe_job_run(STS_JOB_OWNER(job, struct probe_job, job));
}

static void job_init(struct probe_job *j, const struct cli_mx_tls *mx, const char *addr,
                     const struct cli_tls_config *cfg)
{
    memset(j, 0, sizeof(*j));
    j->ctx = cfg->ctx;
    j->req.host = mx->host;
    j->req.addr = addr;
    j->req.port = cfg->port;
    j->req.timeout_ms = cfg->timeout_ms;
}

/* One handshake per version, all at once: a slow server costs one timeout. */
static void scan_versions(struct cli_mx_tls *mx, const struct cli_tls_config *cfg)
{
    struct probe_job jobs[CLI_TLS_VERSIONS];
    struct sts_job *list[CLI_TLS_VERSIONS];
    for (int i = 0; i < CLI_TLS_VERSIONS; i++) {
        job_init(&jobs[i], mx, mx->probed_addr, cfg);
        jobs[i].req.tls_version = versions[i].version;
        list[i] = &jobs[i].job;
    }
    run_all(list, CLI_TLS_VERSIONS, CLI_TLS_VERSIONS, probe_job_work);
    for (int i = 0; i < CLI_TLS_VERSIONS; i++) {
        const struct sts_probe_result *r = &jobs[i].res;
        mx->scan[i] = r->handshake_done                  ? CLI_SCAN_ACCEPTED
                      : r->result == STS_TLS_UNREACHABLE ? CLI_SCAN_UNTESTED
                                                         : CLI_SCAN_REFUSED;
    }
    /* Without a certificate from the default probe (a server of TLS 1.0
     * only, say), show the one of the newest version accepted. */
    for (int i = CLI_TLS_VERSIONS - 1; i >= 0 && mx->cert_from < 0; i--)
        if (jobs[i].res.have_cert) {
            mx->cert_from = 1 + i;
            mx->cert = jobs[i].res;
        }
}

static void probe_dane(struct cli_mx_tls *mx, const struct cli_tls_config *cfg)
{
    struct sts_probe_tlsa recs[CLI_TLS_TLSA];
    size_t n = 0;
    for (size_t i = 0; i < mx->ntlsa; i++) {
        const struct cli_tlsa_rec *r = &mx->tlsa[i];
        if (!r->usable)
            continue;
        recs[n++] = (struct sts_probe_tlsa){r->usage, r->selector, r->mtype, r->len, r->data};
    }
    struct probe_job j;
    job_init(&j, mx, mx->probed_addr, cfg);
    j.req.tlsa = recs;
    j.req.tlsa_count = n;
    probe_job_run(&j);
    mx->dane_probe = j.res;
    mx->dane_done = true;
}

static void set_result(struct cli_mx_tls *mx, enum sts_tls_result r, const char *detail)
{
    char clean[sizeof(mx->detail)];
    mx->result = r;
    snprintf(mx->detail, sizeof(mx->detail), "%s",
             cli_sanitize(detail, strlen(detail), clean, sizeof(clean)));
}

static void check_host(struct cli_mx_tls *mx, const struct cli_tls_config *cfg)
{
    double t0 = cli_now_ms();
    mx->cert_from = -1;
    mx->port = cfg->port != 0 ? cfg->port : 25;
    mx->dane_probe.dane_usage = -1;
    from_dane(mx, cfg);
    for (size_t i = 0; i < mx->naddrs; i++) {
        struct probe_job j;
        job_init(&j, mx, mx->addrs[i], cfg);
        probe_job_run(&j);
        mx->web = j.res;
        mx->web_done = true;
        snprintf(mx->probed_addr, sizeof(mx->probed_addr), "%s", mx->addrs[i]);
        if (j.res.result != STS_TLS_UNREACHABLE)
            break; /* an MTA too goes on to the next address only if this one is unreachable */
    }
    if (mx->web_done && mx->web.have_cert) {
        mx->cert_from = 0;
        mx->cert = mx->web;
    }
    if (mx->web_done && mx->web.starttls_offered)
        scan_versions(mx, cfg);
    if (mx->dane == STS_DANE_USABLE && mx->web_done && mx->web.result != STS_TLS_UNREACHABLE)
        probe_dane(mx, cfg);

    if (mx->naddrs == 0)
        set_result(
            mx, mx->addr_dnssec == STS_DNSSEC_BOGUS ? STS_TLS_DNSSEC_INVALID : STS_TLS_UNREACHABLE,
            mx->addr_why);
    else if (mx->dane == STS_DANE_BOGUS || mx->dane == STS_DANE_FAILED)
        set_result(mx, STS_TLS_DNSSEC_INVALID, mx->tlsa_why);
    else if (mx->dane_done)
        set_result(mx, mx->dane_probe.result, mx->dane_probe.detail);
    else
        set_result(mx, mx->web.result, mx->web.detail);
    mx->ms = cli_now_ms() - t0;
}

struct host_job {
    struct sts_job job; /* for run_all() */
    struct cli_mx_tls *mx;
    const struct cli_tls_config *cfg;
};

static void host_job_work(void *arg, struct sts_job *job, void *scratch)
{
    (void)arg;
    (void)scratch;
    struct host_job *h = STS_JOB_OWNER(job, struct host_job, job);
    check_host(h->mx, h->cfg);
}

int cli_check_tls_run(struct cli_mx_tls *mx, size_t n, const struct cli_tls_config *cfg)
{
    struct host_job *hosts = calloc(n > 0 ? n : 1, sizeof(*hosts));
    struct sts_job **list = calloc(n > 0 ? n : 1, sizeof(*list));
    if (hosts == NULL || list == NULL) {
        free(hosts);
        free(list);
        cli_error("out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        hosts[i] = (struct host_job){.mx = &mx[i], .cfg = cfg};
        list[i] = &hosts[i].job;
    }
    run_all(list, n, n < CLI_TLS_THREADS ? (unsigned)n : CLI_TLS_THREADS, host_job_work);
    free(list);
    free(hosts);
    return 0;
}

bool cli_check_tls_candidate(const struct cli_mx_tls *mx)
{
    return mx->permitted || mx->dane == STS_DANE_USABLE;
}

const struct sts_probe_result *cli_check_tls_cert(const struct cli_mx_tls *mx)
{
    return mx->cert_from >= 0 && mx->cert.have_cert ? &mx->cert : NULL;
}

int64_t cli_check_tls_days_left(const struct cli_mx_tls *mx)
{
    const struct sts_probe_result *c = cli_check_tls_cert(mx);
    if (c == NULL)
        return 0;
    int64_t d = c->cert_not_after - sts_clock_wall_s();
    /* floor division: 1 second past expiry is day -1 */
    return d >= 0 ? d / 86400 : -((-d + 86399) / 86400);
}

/* ------------------------------------------------------------------ output */

static void when_utc(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, len, "@%lld", (long long)t);
}

static void tlsa_text(const struct cli_tlsa_rec *r, size_t maxhex, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "%u %u %u ", r->usage, r->selector, r->mtype);
    for (size_t i = 0; i < r->len && o + 3 < len; i++) {
        if (maxhex && i * 2 >= maxhex) {
            snprintf(buf + o, len - o, "...");
            return;
        }
        o += (size_t)snprintf(buf + o, len - o, "%02x", r->data[i]);
    }
}

#define LINE(label, ...) (printf("  %-12s ", label), printf(__VA_ARGS__), putchar('\n'))

static void print_cert(const struct cli_mx_tls *mx)
{
    const struct sts_probe_result *c = cli_check_tls_cert(mx);
    if (c == NULL) {
        LINE("certificate", "none received");
        return;
    }
    char when[40];
    int64_t days = cli_check_tls_days_left(mx);
    when_utc(c->cert_not_after, when, sizeof(when));
    LINE("subject", "%s", c->cert_subject);
    LINE("DNS names", "%s", c->cert_sans[0] != '\0' ? c->cert_sans : "(none)");
    LINE("issuer", "%s", c->cert_issuer);
    if (days >= 0)
        LINE("expires", "%s (%lld days left)", when, (long long)days);
    else
        LINE("expires", "%s (EXPIRED %lld days ago)", when, (long long)-days);
    if (mx->cert_from > 0)
        LINE("", "(certificate seen in the %s handshake)", versions[mx->cert_from - 1].label);
    LINE("chain", "%s", c->chain_trusted ? "trusted" : "NOT trusted");
    LINE("name match", "%s", c->name_match ? "yes" : "NO (the certificate does not name the host)");
}

static void print_dane(const struct cli_mx_tls *mx)
{
    LINE("DANE", "%s", mx->tlsa_why);
    for (size_t i = 0; i < mx->ntlsa; i++) {
        char t[80];
        tlsa_text(&mx->tlsa[i], 32, t, sizeof(t));
        LINE("TLSA", "%s%s", t, mx->tlsa[i].usable ? "" : " (not usable)");
    }
    if (mx->dane_done) {
        const struct sts_probe_result *d = &mx->dane_probe;
        if (d->dane_matched)
            LINE("DANE probe", "pass: matched a %s(%d) record",
                 d->dane_usage == 2 ? "DANE-TA" : "DANE-EE", d->dane_usage);
        else
            LINE("DANE probe", "%s", sts_tls_result_name(d->result));
        /* RFC 7672 section 8.1: SNI is the TLSA base domain, the MX host */
        LINE("SNI", "%s (the TLSA base name)", mx->host);
    }
}

void cli_check_tls_print(const struct cli_mx_tls *mx)
{
    if (mx->implicit)
        printf("%s (implicit MX: the domain has no MX records)\n", mx->host);
    else
        printf("%s (preference %u)\n", mx->host, mx->preference);
    if (mx->naddrs == 0) {
        LINE("addresses", "none: %s", mx->addr_why);
    } else {
        printf("  %-12s ", "addresses");
        for (size_t i = 0; i < mx->naddrs; i++)
            printf("%s%s", i ? ", " : "", mx->addrs[i]);
        printf(" (DNSSEC: %s)\n", sts_dnssec_name(mx->addr_dnssec));
    }
    if (mx->no_policy)
        LINE("policy", "none (no MTA-STS policy: DANE, or the site's override, decides)");
    else if (mx->pattern[0] != '\0')
        LINE("policy", "permitted (mx: %s)", mx->pattern);
    else
        LINE("policy", "NOT permitted by the policy's mx patterns");
    if (mx->web_done) {
        LINE("probed", "%s port %u, %.0f ms", mx->probed_addr, mx->port, mx->ms);
        LINE("STARTTLS", "%s",
             mx->web.starttls_offered                ? "offered"
             : mx->web.result == STS_TLS_UNREACHABLE ? "unknown (no answer)"
                                                     : "NOT offered");
        for (int i = 0; i < CLI_TLS_VERSIONS; i++)
            LINE(versions[i].label, "%s",
                 mx->scan[i] == CLI_SCAN_ACCEPTED  ? "accepted"
                 : mx->scan[i] == CLI_SCAN_REFUSED ? "refused"
                                                   : "not tested");
        if (mx->web.handshake_done)
            LINE("cipher", "%s with %s (%s)", mx->web.cipher, mx->web.tls_version,
                 sts_probe_cipher_is_modern(mx->web.cipher) ? "modern" : "NOT on the modern list");
        else if (mx->web.starttls_offered)
            LINE("cipher", "none: no TLS 1.2 or later handshake");
        if (mx->web.starttls_offered)
            print_cert(mx);
    }
    print_dane(mx);
    if (mx->result == STS_TLS_PASS)
        LINE("result", "pass%s", mx->dane_done ? " (DANE)" : "");
    else
        LINE("result", "%s: %s", sts_tls_result_name(mx->result), mx->detail);
}

static json_object *str_or_null(const char *s)
{
    return s != NULL && s[0] != '\0' ? json_object_new_string(s) : NULL;
}

static json_object *cert_json(const struct cli_mx_tls *mx)
{
    const struct sts_probe_result *c = cli_check_tls_cert(mx);
    if (c == NULL)
        return NULL;
    json_object *o = json_object_new_object();
    json_object *sans = json_object_new_array();
    char when[40], buf[sizeof(c->cert_sans)];
    snprintf(buf, sizeof(buf), "%s", c->cert_sans);
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save))
        json_object_array_add(sans, json_object_new_string(t));
    when_utc(c->cert_not_after, when, sizeof(when));
    json_object_object_add(o, "subject", json_object_new_string(c->cert_subject));
    json_object_object_add(o, "issuer", json_object_new_string(c->cert_issuer));
    json_object_object_add(o, "dns_names", sans);
    json_object_object_add(o, "not_after", json_object_new_string(when));
    json_object_object_add(o, "not_after_unix", json_object_new_int64(c->cert_not_after));
    json_object_object_add(o, "days_left", json_object_new_int64(cli_check_tls_days_left(mx)));
    json_object_object_add(o, "chain_trusted", json_object_new_boolean(c->chain_trusted));
    json_object_object_add(o, "name_match", json_object_new_boolean(c->name_match));
    json_object_object_add(
        o, "seen_with",
        json_object_new_string(mx->cert_from > 0 ? versions[mx->cert_from - 1].json : "default"));
    return o;
}

static json_object *dane_json(const struct cli_mx_tls *mx)
{
    json_object *o = json_object_new_object();
    json_object *recs = json_object_new_array();
    json_object_object_add(o, "status", json_object_new_string(sts_dane_state_name(mx->dane)));
    json_object_object_add(o, "dnssec",
                           mx->dane == STS_DANE_NOT_APPLICABLE
                               ? NULL
                               : json_object_new_string(sts_dnssec_name(mx->tlsa_dnssec)));
    json_object_object_add(o, "detail", json_object_new_string(mx->tlsa_why));
    for (size_t i = 0; i < mx->ntlsa; i++) {
        const struct cli_tlsa_rec *r = &mx->tlsa[i];
        json_object *t = json_object_new_object();
        char hex[2 * sizeof(r->data) + 16];
        tlsa_text(r, 0, hex, sizeof(hex));
        json_object_object_add(t, "usage", json_object_new_int(r->usage));
        json_object_object_add(t, "selector", json_object_new_int(r->selector));
        json_object_object_add(t, "mtype", json_object_new_int(r->mtype));
        json_object_object_add(t, "data", json_object_new_string(strrchr(hex, ' ') + 1));
        json_object_object_add(t, "usable", json_object_new_boolean(r->usable));
        json_object_array_add(recs, t);
    }
    json_object_object_add(o, "records", recs);
    json_object_object_add(
        o, "result",
        mx->dane_done ? json_object_new_string(sts_tls_result_name(mx->dane_probe.result)) : NULL);
    json_object_object_add(o, "matched_usage",
                           mx->dane_done && mx->dane_probe.dane_matched
                               ? json_object_new_int(mx->dane_probe.dane_usage)
                               : NULL);
    json_object_object_add(o, "sni", mx->dane_done ? json_object_new_string(mx->host) : NULL);
    return o;
}

void cli_check_tls_json(const struct cli_mx_tls *mx, json_object *obj)
{
    json_object *addrs = json_object_new_array();
    for (size_t i = 0; i < mx->naddrs; i++)
        json_object_array_add(addrs, json_object_new_string(mx->addrs[i]));
    json_object_object_add(obj, "implicit", json_object_new_boolean(mx->implicit));
    json_object_object_add(obj, "pattern", str_or_null(mx->pattern));
    json_object_object_add(obj, "addresses", addrs);
    json_object_object_add(obj, "address_dnssec",
                           json_object_new_string(sts_dnssec_name(mx->addr_dnssec)));
    json_object_object_add(obj, "address_detail", json_object_new_string(mx->addr_why));
    json_object_object_add(obj, "probed_address", str_or_null(mx->probed_addr));
    json_object_object_add(obj, "port", json_object_new_int((int)mx->port));
    bool reached = mx->web_done && mx->web.result != STS_TLS_UNREACHABLE;
    json_object_object_add(obj, "starttls",
                           reached ? json_object_new_boolean(mx->web.starttls_offered) : NULL);
    json_object *vers = json_object_new_object();
    for (int i = 0; i < CLI_TLS_VERSIONS; i++)
        json_object_object_add(vers, versions[i].json,
                               json_object_new_string(mx->scan[i] == CLI_SCAN_ACCEPTED ? "accepted"
                                                      : mx->scan[i] == CLI_SCAN_REFUSED
                                                          ? "refused"
                                                          : "untested"));
    json_object_object_add(obj, "versions", vers);
    bool hs = mx->web_done && mx->web.handshake_done;
    json_object_object_add(obj, "tls_version", hs ? str_or_null(mx->web.tls_version) : NULL);
    json_object_object_add(obj, "cipher", hs ? str_or_null(mx->web.cipher) : NULL);
    json_object_object_add(obj, "cipher_modern",
                           hs ? json_object_new_boolean(sts_probe_cipher_is_modern(mx->web.cipher))
                              : NULL);
    json_object_object_add(obj, "certificate", cert_json(mx));
    json_object_object_add(obj, "dane", dane_json(mx));
    json_object_object_add(obj, "result", json_object_new_string(sts_tls_result_name(mx->result)));
    json_object_object_add(obj, "detail", json_object_new_string(mx->detail));
    json_object_object_add(obj, "ms", json_object_new_int64((int64_t)(mx->ms + 0.5)));
}
