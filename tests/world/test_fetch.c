/*
 * test_fetch.c - the HTTPS policy fetch and its SSRF guard against the
 * local test world (RFC 8461 §3.3).  Prints TAP.
 *
 * Usage: test_fetch FORWARDER CA_FILE [SCENARIO...]
 *   FORWARDER  the world's DNS server, ADDR@PORT (our resolver forwards there)
 *   CA_FILE    the world's test CA
 *   SCENARIO   names from the table below; none = all, in table order
 * Environment: WORLD_HTTPS_PORT (default 443); WORLD_SH, the path of
 * tests/world/world.sh, with the world's variables exported: when set,
 * the nginx access log is consulted (world_fetch_count) to show that a
 * redirect is not followed and that a refused address is never
 * contacted; when unset those points are skipped.
 *
 * Driven by tests/world/fetch.sh.  Every scenario states the rule it
 * guards; most are RFC 8461 §3.3 ("the policy is fetched via HTTPS ...
 * the certificate MUST be valid for mta-sts.<domain> ... senders MUST
 * NOT follow redirects ... only 200 ... media type text/plain ... a
 * timeout and a size limit" as the RFC's §8 security considerations
 * advise).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../lib/tap.h"
#include "mtasts/dns.h"
#include "mtasts/fetch.h"
#include "mtasts/policy.h"

/* Slack on top of a deadline: scheduling, TLS teardown, a loaded CI box. */
#define DEADLINE_SLACK_S 1.5
#define SHORT_TIMEOUT_MS 2000u
#define NORMAL_TIMEOUT_MS 10000u
/* The chunked body is capped at 64 KiB; libcurl and OpenSSL buffers add
 * some.  Far less than an unbounded download would reach. */
#define CHUNKED_RSS_BUDGET_KB 8192L

static const char *forwarder, *ca_file;
static unsigned https_port;
static struct sts_dns *dns;

/*
 * world_fetch_count DOMAIN through sh, or -1 when WORLD_SH is not set
 * (the nginx points are then skipped).  A failing command is -2 and makes
 * the point fail: a log check that cannot run must not pass.
 *
 * world.sh's functions refuse to run in a shell that did not call
 * world_start (_world_started looks at _world_pids); the world is running
 * in our parent, so the child shell says so.
 */
static long world_fetch_count(const char *domain)
{
    const char *sh = getenv("WORLD_SH");
    char cmd[512], line[64] = "";

    if (sh == NULL || sh[0] == '\0')
        return -1;
    snprintf(cmd, sizeof(cmd),
             ". \"$WORLD_SH\" && _world_pids=${_world_pids:-parent} && world_fetch_count '%s'",
             domain);
    FILE *p = popen(cmd, "r");
    if (p == NULL)
        return -2;
    if (fgets(line, sizeof(line), p) == NULL)
        line[0] = '\0';
    if (pclose(p) != 0 || line[0] < '0' || line[0] > '9') {
        printf("# world_fetch_count %s failed\n", domain);
        return -2;
    }
    return strtol(line, NULL, 10);
}

/* Was the nginx log consulted?  -1: skip the point; -2: fail it. */
static bool log_usable(long a, long b, const char *what)
{
    if (a == -1 || b == -1) {
        skip_point("WORLD_SH not set", "%s", what);
        return false;
    }
    if (a < 0 || b < 0) {
        ok(false, "%s: world_fetch_count failed", what);
        return false;
    }
    return true;
}

/* nginx logs a request when it ends, maybe just after our client has
 * returned: wait (with a deadline) for the count to reach want. */
static long world_fetch_count_at_least(const char *domain, long want)
{
    long n = world_fetch_count(domain);
    for (int i = 0; i < 40 && n >= 0 && n < want; i++) {
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
        n = world_fetch_count(domain);
    }
    return n;
}

static struct sts_fetch_config base_config(bool allow_private, unsigned total_ms)
{
    struct sts_fetch_config cfg = {
        .ca_file = ca_file,
        .connect_timeout_ms = 5000,
        .total_timeout_ms = total_ms,
        .port = https_port,
        .allow_private = allow_private,
    };
    return cfg;
}

/* Fetch and print the outcome as a TAP comment. */
static void fetch(const struct sts_fetch_config *cfg, const char *domain,
                  struct sts_fetch_response *out)
{
    enum sts_status st = sts_fetch_policy(cfg, dns, domain, out);
    printf("# %s: status=%s result=%s http=%ld addr=%s seconds=%.3f detail=%s\n", domain,
           sts_status_word(st), sts_fetch_result_name(out->result), out->http_status,
           out->addr[0] ? out->addr : "-", out->seconds, out->detail);
    if (st != STS_OK)
        ok(false, "%s: sts_fetch_policy returned %s, want ok", domain, sts_status_word(st));
}

/* The common assertion: got result X, want Y. */
static bool want_result(const char *scenario, const struct sts_fetch_response *out,
                        enum sts_fetch_result want)
{
    bool good = out->result == want;
    ok(good, "%s: got %s, want %s (%s)", scenario, sts_fetch_result_name(out->result),
       sts_fetch_result_name(want), out->detail);
    return good;
}

/* A table row for the scenarios that only assert a result. */
struct simple_case {
    const char *name;
    const char *domain;
    bool allow_private;
    enum sts_fetch_result want;
    long want_status; /* -1: not checked */
};

/* ---- scenarios ---- */

/* §3.3: a policy served over HTTPS with a valid certificate, 200,
 * text/plain, is fetched whole and parses (§3.2). */
static void scenario_good(const char *name)
{
    struct sts_fetch_config cfg = base_config(true, NORMAL_TIMEOUT_MS);
    struct sts_fetch_response out;
    struct sts_policy *policy = NULL;
    char err[256] = "";

    fetch(&cfg, "good.test", &out);
    if (want_result(name, &out, STS_FETCH_OK)) {
        enum sts_status st = sts_policy_parse(out.body, out.body_len, &policy, err, sizeof(err));
        ok(st == STS_OK, "%s: body parses: got %s, want ok (%s)", name, sts_status_word(st), err);
        ok(policy != NULL && policy->mode == STS_MODE_ENFORCE &&
               sts_policy_permits_mx(policy, "mx1.good.test"),
           "%s: policy is enforce and permits mx1.good.test", name);
        ok(out.body[out.body_len] == '\0' && out.http_status == 200 && out.addr[0] != '\0',
           "%s: body NUL-terminated, status 200, address recorded (%s)", name, out.addr);
    }
    sts_policy_free(policy);
    sts_fetch_response_clear(&out);
    ok(out.body == NULL, "%s: sts_fetch_response_clear releases the body", name);
}

/* The §3.3 / RFC 9110 media type check tolerates parameters. */
static void scenario_charset(const char *name)
{
    struct sts_fetch_config cfg = base_config(true, NORMAL_TIMEOUT_MS);
    struct sts_fetch_response out;

    fetch(&cfg, "charset.test", &out);
    want_result(name, &out, STS_FETCH_OK);
    sts_fetch_response_clear(&out);
}

static const struct simple_case simple_cases[] = {
    /* §3.3: the certificate MUST be valid for mta-sts.<domain> (RFC 6125). */
    {"wrongname", "wrongname.test", true, STS_FETCH_TLS, -1},
    /* §3.3: ... not expired. */
    {"expired", "expired.test", true, STS_FETCH_TLS, -1},
    /* §3.3: ... chaining to a trusted root. */
    {"selfsigned", "selfsigned.test", true, STS_FETCH_TLS, -1},
    /* §3.3: only "200 OK" is a policy. */
    {"notfound", "notfound.test", true, STS_FETCH_HTTP, 404},
    /* §3.3: the media type MUST be "text/plain". */
    {"mediatype", "mediatype.test", true, STS_FETCH_MEDIA_TYPE, 200},
    /* §3.3 and §8.3: a declared Content-Length over the cap is refused early. */
    {"bigbody", "bigbody.test", true, STS_FETCH_TOO_BIG, 200},
    /* §3.3: mta-sts.<domain> must resolve; NXDOMAIN is a DNS failure. */
    {"nosuch", "nosuch.test", true, STS_FETCH_DNS, 0},
};

static void scenario_simple(const struct simple_case *c)
{
    struct sts_fetch_config cfg = base_config(c->allow_private, NORMAL_TIMEOUT_MS);
    struct sts_fetch_response out;

    fetch(&cfg, c->domain, &out);
    want_result(c->name, &out, c->want);
    if (c->want_status >= 0)
        ok(out.http_status == c->want_status, "%s: got HTTP status %ld, want %ld", c->name,
           out.http_status, c->want_status);
    ok(out.body == NULL, "%s: no body on failure", c->name);
    sts_fetch_response_clear(&out);
}

/* §3.3: "HTTP 3xx redirects MUST NOT be followed": a 302 is a failure,
 * one request reaches redirect.test and none good.test (the target), and
 * the detail names where it pointed. */
static void scenario_redirect(const char *name)
{
    struct sts_fetch_config cfg = base_config(true, NORMAL_TIMEOUT_MS);
    struct sts_fetch_response out;
    long good0 = world_fetch_count("good.test");
    long redir0 = world_fetch_count("redirect.test");

    fetch(&cfg, "redirect.test", &out);
    want_result(name, &out, STS_FETCH_HTTP);
    ok(out.http_status == 302, "%s: got HTTP status %ld, want 302", name, out.http_status);
    ok(strstr(out.detail, "mta-sts.good.test") != NULL, "%s: detail names the Location (%s)", name,
       out.detail);
    if (log_usable(good0, redir0, "redirect: nginx saw one request and no follow")) {
        long redir1 = world_fetch_count_at_least("redirect.test", redir0 + 1);
        long good1 = world_fetch_count("good.test");
        ok(redir1 - redir0 == 1 && good1 == good0,
           "%s: nginx saw %ld request(s) for redirect.test (want 1) and %ld for good.test "
           "(want 0)",
           name, redir1 - redir0, good1 - good0);
    }
    sts_fetch_response_clear(&out);
}

/* §3.3 (a fetch deadline) and §8: a server that answers after 20 s, or
 * never, is abandoned at total_timeout_ms. */
static void scenario_timeout(const char *name, const char *domain)
{
    struct sts_fetch_config cfg = base_config(true, SHORT_TIMEOUT_MS);
    struct sts_fetch_response out;

    fetch(&cfg, domain, &out);
    want_result(name, &out, STS_FETCH_TIMEOUT);
    double limit = SHORT_TIMEOUT_MS / 1000.0 + DEADLINE_SLACK_S;
    ok(out.seconds < limit && out.seconds >= SHORT_TIMEOUT_MS / 1000.0 * 0.9,
       "%s: took %.3f s, want about %.1f s (under %.1f)", name, out.seconds,
       SHORT_TIMEOUT_MS / 1000.0, limit);
    sts_fetch_response_clear(&out);
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss; /* KiB on Linux */
}

/* §3.3 and §8.3: a body that never ends (chunked, no length) is cut at
 * STS_POLICY_BODY_MAX by our write callback, promptly, with bounded
 * memory -- libcurl 7.88's CURLOPT_MAXFILESIZE does not stop it. */
static void scenario_chunked(const char *name)
{
    struct sts_fetch_config cfg = base_config(true, NORMAL_TIMEOUT_MS);
    struct sts_fetch_response out;

    /* Warm up TLS and the resolver so their one-time allocations are not counted. */
    fetch(&cfg, "good.test", &out);
    sts_fetch_response_clear(&out);

    long before = peak_rss_kb();
    fetch(&cfg, "chunked.test", &out);
    long after = peak_rss_kb();
    want_result(name, &out, STS_FETCH_TOO_BIG);
    ok(out.seconds < NORMAL_TIMEOUT_MS / 2000.0,
       "%s: returned in %.3f s, want well before the %u ms deadline", name, out.seconds,
       NORMAL_TIMEOUT_MS);
    ok(after - before <= CHUNKED_RSS_BUDGET_KB,
       "%s: peak RSS grew by %ld KiB, want at most %ld KiB", name, after - before,
       CHUNKED_RSS_BUDGET_KB);
    sts_fetch_response_clear(&out);
}

/* SSRF guard (§3.3 fetches from a host the recipient's domain chooses):
 * an RFC 1918 address is refused without any connection. */
static void scenario_refused(const char *name, const char *domain, const char *want_addr,
                             const char *want_class)
{
    struct sts_fetch_config cfg = base_config(false, NORMAL_TIMEOUT_MS);
    struct sts_fetch_response out;
    long n0 = world_fetch_count(domain);

    fetch(&cfg, domain, &out);
    want_result(name, &out, STS_FETCH_REFUSED);
    ok(strcmp(out.addr, want_addr) == 0 && strstr(out.detail, want_addr) != NULL &&
           strstr(out.detail, want_class) != NULL,
       "%s: got addr %s, detail \"%s\"; want %s named as %s", name, out.addr, out.detail, want_addr,
       want_class);
    ok(out.seconds < 1.0 && out.http_status == 0, "%s: no connection attempted (%.3f s, HTTP %ld)",
       name, out.seconds, out.http_status);
    long n1 = world_fetch_count(domain);
    if (log_usable(n0, n1, "refused: nginx saw no request")) {
        ok(n1 == n0, "%s: nginx saw %ld request(s) for %s, want 0", name, n1 - n0, domain);
    }
    sts_fetch_response_clear(&out);
}

/* SSRF guard: loopback is refused with the guard on (and nginx, which
 * serves that address, sees nothing), fetched with allow_private. */
static void scenario_loopback(const char *name)
{
    struct sts_fetch_config cfg = base_config(false, NORMAL_TIMEOUT_MS);
    struct sts_fetch_response out;
    long n0 = world_fetch_count("loopback.test");

    fetch(&cfg, "loopback.test", &out);
    want_result(name, &out, STS_FETCH_REFUSED);
    ok(strstr(out.detail, "loopback") != NULL, "%s: detail names the class (%s)", name, out.detail);
    long n1 = world_fetch_count("loopback.test");
    sts_fetch_response_clear(&out);

    cfg.allow_private = true;
    fetch(&cfg, "loopback.test", &out);
    ok(out.result == STS_FETCH_OK, "%s with allow_private: got %s, want ok (%s)", name,
       sts_fetch_result_name(out.result), out.detail);
    long n2 = world_fetch_count_at_least("loopback.test", n1 + 1);
    if (log_usable(n0, n1, "loopback: nginx saw no request with the guard on, one without") &&
        log_usable(n2, n2, "loopback: nginx count after the allowed fetch"))
        ok(n1 == n0 && n2 == n1 + 1,
           "%s: nginx saw %ld request(s) with the guard on (want 0), %ld without (want 1)", name,
           n1 - n0, n2 - n1);
    sts_fetch_response_clear(&out);
}

/* §3.3: trust comes from the configured CA file only.  A CA file that
 * lacks the test CA fails; so does the system store even when the
 * environment's SSL_CERT_FILE / CURL_CA_BUNDLE name the test CA (libcurl
 * reads neither; only the curl tool does). */
static void scenario_trust(const char *name)
{
    struct sts_fetch_config cfg = base_config(true, NORMAL_TIMEOUT_MS);
    struct sts_fetch_response out;

    cfg.ca_file = "/etc/ssl/certs/ca-certificates.crt";
    fetch(&cfg, "good.test", &out);
    ok(out.result == STS_FETCH_TLS, "%s: system bundle as ca_file: got %s, want tls (%s)", name,
       sts_fetch_result_name(out.result), out.detail);
    sts_fetch_response_clear(&out);

    static const char *const vars[] = {"SSL_CERT_FILE", "CURL_CA_BUNDLE"};
    char *saved[2];
    for (size_t i = 0; i < 2; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v != NULL ? strdup(v) : NULL;
        setenv(vars[i], ca_file, 1);
    }
    cfg.ca_file = NULL;
    fetch(&cfg, "good.test", &out);
    ok(out.result == STS_FETCH_TLS,
       "%s: no ca_file, test CA only in the environment: got %s, want tls (%s)", name,
       sts_fetch_result_name(out.result), out.detail);
    sts_fetch_response_clear(&out);
    for (size_t i = 0; i < 2; i++) {
        if (saved[i] != NULL)
            setenv(vars[i], saved[i], 1);
        else
            unsetenv(vars[i]);
        free(saved[i]);
    }
}

/* §3.3 and the SSRF guard: the environment's proxy settings must not
 * send the fetch elsewhere (CURLOPT_PROXY ""); the proxy named here is a
 * closed port, so using it would fail. */
static void scenario_proxyenv(const char *name)
{
    static const char *const vars[] = {"https_proxy", "HTTPS_PROXY", "http_proxy", "ALL_PROXY",
                                       "all_proxy"};
    enum { NVARS = sizeof(vars) / sizeof(vars[0]) };
    struct sts_fetch_config cfg = base_config(true, NORMAL_TIMEOUT_MS);
    struct sts_fetch_response out;
    char *saved[NVARS];

    for (size_t i = 0; i < NVARS; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v != NULL ? strdup(v) : NULL;
        setenv(vars[i], "http://127.0.0.1:9", 1);
    }
    fetch(&cfg, "good.test", &out);
    want_result(name, &out, STS_FETCH_OK);
    sts_fetch_response_clear(&out);
    for (size_t i = 0; i < NVARS; i++) {
        if (saved[i] != NULL)
            setenv(vars[i], saved[i], 1);
        else
            unsetenv(vars[i]);
        free(saved[i]);
    }
}

/* §3.3: a refused TCP connection is a connect failure, not a timeout. */
static void scenario_closedport(const char *name)
{
    struct sts_fetch_config cfg = base_config(true, NORMAL_TIMEOUT_MS);
    struct sts_fetch_response out;

    cfg.port = 9; /* discard: nothing listens there in the world */
    fetch(&cfg, "good.test", &out);
    want_result(name, &out, STS_FETCH_CONNECT);
    ok(out.seconds < 2.0, "%s: failed in %.3f s, want at once", name, out.seconds);
    sts_fetch_response_clear(&out);
}

/* ---- the table of scenarios ---- */

static void run_simple(const char *name)
{
    for (size_t i = 0; i < sizeof(simple_cases) / sizeof(simple_cases[0]); i++)
        if (strcmp(simple_cases[i].name, name) == 0)
            scenario_simple(&simple_cases[i]);
}

static void run_slow(const char *name)
{
    scenario_timeout(name, "slow.test");
}

static void run_stall(const char *name)
{
    scenario_timeout(name, "stall.test");
}

static void run_private(const char *name)
{
    scenario_refused(name, "private.test", "10.255.255.1", "private");
}

static void run_v6mapped(const char *name)
{
    scenario_refused(name, "v6mapped.test", "::ffff:10.255.255.1", "private");
}

static const struct {
    const char *name;
    void (*run)(const char *name);
} scenarios[] = {
    {"good", scenario_good},
    {"charset", scenario_charset},
    {"wrongname", run_simple},
    {"expired", run_simple},
    {"selfsigned", run_simple},
    {"trust", scenario_trust},
    {"proxyenv", scenario_proxyenv},
    {"redirect", scenario_redirect},
    {"notfound", run_simple},
    {"mediatype", run_simple},
    {"slow", run_slow},
    {"stall", run_stall},
    {"chunked", scenario_chunked},
    {"bigbody", run_simple},
    {"private", run_private},
    {"v6mapped", run_v6mapped},
    {"loopback", scenario_loopback},
    {"nosuch", run_simple},
    {"closedport", scenario_closedport},
};
#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static bool run_named(const char *name)
{
    for (size_t i = 0; i < NSCENARIOS; i++)
        if (strcmp(scenarios[i].name, name) == 0) {
            printf("# scenario %s\n", name);
            scenarios[i].run(name);
            return true;
        }
    return false;
}

int main(int argc, char **argv)
{
    char err[256] = "";

    if (argc < 3) {
        fprintf(stderr, "usage: test_fetch FORWARDER CA_FILE [SCENARIO...]\n");
        return 2;
    }
    forwarder = argv[1];
    ca_file = argv[2];
    const char *port = getenv("WORLD_HTTPS_PORT");
    https_port = port != NULL ? (unsigned)strtoul(port, NULL, 10) : 0;

    if (sts_fetch_global_init(err, sizeof(err)) != STS_OK) {
        printf("Bail out! sts_fetch_global_init: %s\n", err);
        return 1;
    }
    struct sts_dns_config dcfg = {.forwarders = forwarder, .timeout_ms = 3000};
    if (sts_dns_new(&dcfg, &dns, err, sizeof(err)) != STS_OK) {
        printf("Bail out! sts_dns_new: %s\n", err);
        return 1;
    }
    if (argc == 3) {
        for (size_t i = 0; i < NSCENARIOS; i++)
            run_named(scenarios[i].name);
    } else {
        for (int i = 3; i < argc; i++)
            if (!run_named(argv[i]))
                ok(false, "unknown scenario %s", argv[i]);
    }
    sts_dns_free(dns);
    return done_testing();
}
