/*
 * cli_check.c - "mtasts check DOMAIN": a deployment report for the
 * domain's owner.  RFC 8461 §3 discovery (cli_fetch.h), the policy, the
 * MX hosts against its patterns (§4.1), then each MX host's TLS as a
 * sender would meet it (§4.2, DANE per RFC 7672, result types of RFC
 * 8460; cli_check_tls.c), and a one-line verdict.
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli_check_tls.h"
#include "cli_common.h"
#include "cli_fetch.h"
#include "mtasts/dane.h"
#include "mtasts/dns.h"
#include "mtasts/judge.h"
#include "mtasts/learn.h"
#include "mtasts/overrides.h"
#include "mtasts/tlsrpt_record.h"
#include "mtasts/mx_match.h"
#include "mtasts/policy.h"
#include "mtasts/probe.h"
#include "mtasts/status.h"

#define WEEKS_HINT 1209600u /* two weeks: the order of max_age §3.2 expects */
#define CHECK_TRUST_ANCHOR "/usr/share/dns/root.key" /* Debian's dns-root-data */

enum level { LVL_OK = 0, LVL_WARN, LVL_FAIL };

struct report {
    bool json;
    json_object *checks; /* JSON mode: the array of checks */
    unsigned warns, fails;
    char first_fail[1100]; /* "check: message" of the first FAIL */
};

static void report_add(struct report *r, enum level lvl, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void report_add(struct report *r, enum level lvl, const char *check, const char *fmt, ...)
{
    static const char *const words[] = {"OK", "WARN", "FAIL"};
    static const char *const jwords[] = {"ok", "warn", "fail"};
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (lvl == LVL_WARN)
        r->warns++;
    else if (lvl == LVL_FAIL && r->fails++ == 0)
        snprintf(r->first_fail, sizeof(r->first_fail), "%s: %s", check, msg);
    if (!r->json) {
        printf("%-4s %s: %s\n", words[lvl], check, msg);
        return;
    }
    json_object *c = json_object_new_object();
    json_object_object_add(c, "check", json_object_new_string(check));
    json_object_object_add(c, "status", json_object_new_string(jwords[lvl]));
    json_object_object_add(c, "message", json_object_new_string(msg));
    json_object_array_add(r->checks, c);
}

static void check_txt(struct report *r, const struct cli_discovery *d)
{
    switch (d->facts.txt) {
    case STS_DISCOVERY_TXT_RECORD:
        report_add(r, LVL_OK, "txt", "%s has one valid MTA-STS record, id=%s (DNSSEC: %s)",
                   d->txt.name, d->txt.txt.id, sts_dnssec_name(d->txt.ans->dnssec));
        break;
    case STS_DISCOVERY_TXT_NONE:
        break; /* said by check_no_sts(), once DANE is known */
    case STS_DISCOVERY_TXT_INVALID:
        report_add(r, LVL_FAIL, "txt", "%s; senders ignore the domain's policy until it is fixed",
                   d->txt_why);
        break;
    case STS_DISCOVERY_TXT_FAILED:
        report_add(r, LVL_FAIL, "txt", "%s; senders cannot discover the policy", d->txt_why);
        break;
    }
}

static void check_fetch(struct report *r, const struct cli_discovery *d, unsigned timeout_s)
{
    if (d->fetch.resp.result == STS_FETCH_OK) {
        report_add(r, LVL_OK, "policy fetch",
                   "https://mta-sts.%s/.well-known/mta-sts.txt served from %s (HTTP %ld, "
                   "%zu bytes)",
                   d->domain, d->fetch.resp.addr[0] != '\0' ? d->fetch.resp.addr : "?",
                   d->fetch.resp.http_status, d->fetch.resp.body_len);
        return;
    }
    char why[900];
    cli_explain_fetch(&d->fetch.resp, d->domain, timeout_s, why, sizeof(why));
    report_add(r, LVL_FAIL, "policy fetch", "%s", why);
}

static void check_policy(struct report *r, const struct cli_discovery *d)
{
    if (d->fetch.policy == NULL) {
        report_add(r, LVL_FAIL, "policy", "the policy file is invalid: %s; senders ignore it",
                   d->fetch.err);
        return;
    }
    const struct sts_policy *p = d->fetch.policy;
    char age[32], mx[512] = "";
    size_t used = 0;
    cli_duration(p->max_age, age, sizeof(age));
    for (size_t i = 0; i < p->mx_count && used < sizeof(mx); i++)
        used += (size_t)snprintf(mx + used, sizeof(mx) - used, "%s%s", i ? ", " : "", p->mx[i]);
    report_add(r, LVL_OK, "policy", "valid: mode %s, max_age %u (%s), mx %s",
               sts_mode_name(p->mode), p->max_age, age, p->mx_count ? mx : "(none)");

    if (p->mode == STS_MODE_TESTING)
        report_add(r, LVL_WARN, "mode",
                   "testing: senders report TLS problems (TLS-RPT) but still deliver without "
                   "protection; switch to enforce once the reports are clean");
    else if (p->mode == STS_MODE_NONE)
        report_add(r, LVL_WARN, "mode",
                   "none: senders stop applying MTA-STS to this domain (meant only for "
                   "withdrawing a policy)");
    if (p->max_age < 86400)
        report_add(r, LVL_WARN, "max_age",
                   "%u seconds (%s) is less than a day; RFC 8461 section 3.2 expects weeks or "
                   "more (e.g. %u) so that senders keep the policy through outages",
                   p->max_age, age, WEEKS_HINT);
}

/* One run of the command. */
struct check {
    struct cli_opts o;
    unsigned port; /* --port, 25 by default */
    bool no_tls;   /* --no-tls */
    struct cli_discovery d;
    struct cli_net net;
    struct report r;
    unsigned domain_fails; /* FAIL lines before the MX stage (txt, fetch, policy) */
    bool mx_looked_up;
    enum sts_dnssec mx_dnssec;
    bool mx_bogus;
    struct cli_mx_tls *hosts; /* calloc'ed, nhosts of them */
    size_t nhosts;
    bool tls_checked;
    bool no_policy;      /* no MTA-STS policy: DANE and the override decide */
    char override[600];  /* the override's level and patterns, "" if none */
    const char *learned; /* LearnTLS state: "learned", "learning", "none"; NULL: off */
    char tlsrpt[700];    /* the TLS-RPT destinations, "" if none */
    char delivery[4096]; /* the socketmap's answer, "" if not asked */
};

/* The MX hosts (or the implicit one) into c->hosts.  @return 0, or -1 if out of memory */
static int collect_hosts(struct check *c, const struct sts_dns_answer *a, bool implicit)
{
    size_t n = implicit ? 1 : a->count;
    c->hosts = calloc(n, sizeof(*c->hosts));
    if (c->hosts == NULL) {
        cli_error("out of memory");
        return -1;
    }
    const struct sts_policy *p = c->d.fetch.policy;
    for (size_t i = 0; i < n; i++) {
        const char *host = implicit ? c->d.domain : a->mx[i].host;
        if (host[0] == '\0')
            continue;
        struct cli_mx_tls *h = &c->hosts[c->nhosts++];
        snprintf(h->host, sizeof(h->host), "%s", host);
        h->preference = implicit ? 0 : a->mx[i].preference;
        h->implicit = implicit;
        h->no_policy = p == NULL;
        for (size_t k = 0; p != NULL && k < p->mx_count && !h->permitted; k++)
            if (sts_mx_match(p->mx[k], host)) {
                h->permitted = true;
                snprintf(h->pattern, sizeof(h->pattern), "%s", p->mx[k]);
            }
    }
    return 0;
}

/* The MX hosts against the policy's patterns (RFC 8461 §4.1). */
static int check_mx(struct check *c)
{
    struct report *r = &c->r;
    const struct cli_discovery *d = &c->d;
    const struct sts_policy *p = d->fetch.policy;
    enum level miss = p != NULL && p->mode == STS_MODE_ENFORCE ? LVL_FAIL : LVL_WARN;
    const char *miss_why = p != NULL && p->mode == STS_MODE_ENFORCE
                               ? "senders that enforce the policy will not deliver there"
                               : "senders would not deliver there once the mode is enforce";
    struct sts_dns_answer *a = NULL;
    enum sts_status st = sts_dns_query(c->net.dns, d->domain, STS_DNS_MX, &a);
    if (st == STS_ENOMEM) {
        cli_error("out of memory");
        return -1;
    }
    if (st != STS_OK) {
        report_add(r, LVL_FAIL, "mx", "cannot look up the MX records of %s (%s)", d->domain,
                   sts_status_word(st));
        return 0;
    }
    c->mx_looked_up = true;
    c->mx_dnssec = a->dnssec;
    char why[320];
    int rc = 0;
    if (a->result == STS_DNS_NXDOMAIN || a->result == STS_DNS_NODATA) {
        bool ok = p == NULL || sts_policy_permits_mx(p, d->domain);
        report_add(r, ok ? LVL_WARN : miss, "mx",
                   "%s has no MX records: mail goes to %s itself (implicit MX, RFC 5321 section "
                   "5.1)%s%s",
                   d->domain, d->domain, p == NULL ? "" : ", which the policy ",
                   p == NULL ? ""
                   : ok      ? "covers"
                             : "does NOT cover");
        rc = collect_hosts(c, a, true);
    } else if (a->result != STS_DNS_ANSWER) {
        c->mx_bogus = a->dnssec == STS_DNSSEC_BOGUS;
        cli_explain_dns(a, d->domain, "MX", why, sizeof(why));
        report_add(r, LVL_FAIL, "mx", "%s%s", c->mx_bogus ? "dnssec-invalid: " : "", why);
    } else if (a->count == 1 && a->mx[0].host[0] == '\0') {
        report_add(r, LVL_WARN, "mx",
                   "%s has a null MX (RFC 7505): it receives no mail, so its policy has no effect",
                   d->domain);
    } else {
        rc = collect_hosts(c, a, false);
        for (size_t i = 0; rc == 0 && i < c->nhosts; i++) {
            const struct cli_mx_tls *h = &c->hosts[i];
            if (p == NULL)
                report_add(r, LVL_OK, "mx", "%s (preference %u), MX records DNSSEC %s", h->host,
                           h->preference, sts_dnssec_name(a->dnssec));
            else if (h->permitted)
                report_add(r, LVL_OK, "mx", "%s (preference %u) matches the policy", h->host,
                           h->preference);
            else
                report_add(r, miss, "mx", "%s (preference %u) is NOT covered by the policy: %s",
                           h->host, h->preference, miss_why);
        }
    }
    sts_dns_answer_free(a);
    return rc;
}

/* One line per host, and a FAIL when no permitted host can be reached at all. */
static void report_tls(struct check *c)
{
    size_t candidates = 0, passing = 0, failing = 0;
    for (size_t i = 0; i < c->nhosts; i++) {
        const struct cli_mx_tls *h = &c->hosts[i];
        bool cand = cli_check_tls_candidate(h);
        candidates += cand;
        if (h->result == STS_TLS_PASS) {
            passing += cand;
            const struct sts_probe_result *cert = cli_check_tls_cert(h);
            int64_t days = cli_check_tls_days_left(h);
            if (h->dane_done)
                report_add(&c->r, LVL_OK, "tls", "%s: pass by DANE (%s)%s", h->host,
                           h->dane_probe.dane_usage == 2 ? "DANE-TA" : "DANE-EE",
                           cert != NULL && !cert->chain_trusted
                               ? "; the certificate is not WebPKI-trusted, which DANE allows"
                               : "");
            else
                report_add(&c->r, LVL_OK, "tls", "%s: pass (%s, certificate valid %lld more days)",
                           h->host, h->web.tls_version, (long long)days);
            if (h->scan[0] == CLI_SCAN_ACCEPTED || h->scan[1] == CLI_SCAN_ACCEPTED)
                report_add(&c->r, LVL_WARN, "tls",
                           "%s also accepts TLS 1.0 or 1.1, deprecated by RFC 8996", h->host);
            if (h->web.handshake_done && !sts_probe_cipher_is_modern(h->web.cipher))
                report_add(&c->r, LVL_WARN, "tls",
                           "%s negotiates %s, not on the modern list (NIST SP 800-52r2)", h->host,
                           h->web.cipher);
            if (!h->dane_done && days < CLI_TLS_EXPIRY_WARN)
                report_add(&c->r, LVL_WARN, "tls", "%s: the certificate expires in %lld days",
                           h->host, (long long)days);
        } else if (h->result == STS_TLS_UNREACHABLE) {
            report_add(&c->r, LVL_WARN, "tls", "%s: unreachable: %s", h->host, h->detail);
        } else {
            failing += cand;
            report_add(&c->r, cand ? LVL_FAIL : LVL_WARN, "tls", "%s: %s: %s", h->host,
                       sts_tls_result_name(h->result), h->detail);
        }
    }
    if (candidates > 0 && passing == 0 && failing == 0)
        report_add(&c->r, LVL_FAIL, "tls",
                   "no permitted MX host could be reached: senders cannot deliver");
}

static int check_tls(struct check *c)
{
    /* The engine's DANE module, or one of our own for another --port. */
    struct sts_dane *own = NULL, *dane = sts_engine_dane(c->net.engine);
    unsigned eport = c->net.cfg->probe_port ? c->net.cfg->probe_port : 25;
    if (dane == NULL || eport != c->port) {
        char err[256];
        struct sts_dane_config dc = {.dns = c->net.dns, .port = c->port};
        if (sts_dane_new(&dc, &own, err, sizeof(err)) != STS_OK) {
            cli_error("%s", err);
            return -1;
        }
        dane = own;
    }
    struct cli_tls_config cfg = {
        .ctx = sts_engine_probe_ctx(c->net.engine),
        .dane = dane,
        .port = c->port,
        .timeout_ms = c->o.timeout_s * 1000u,
        .mx_secure = c->mx_dnssec == STS_DNSSEC_SECURE,
    };
    int rc = cli_check_tls_run(c->hosts, c->nhosts, &cfg);
    sts_dane_free(own);
    if (rc != 0)
        return -1;
    c->tls_checked = true;
    report_tls(c);
    return 0;
}

/* The domain has no MTA-STS: say so, as a failure unless DANE protects it. */
static void check_no_sts(struct check *c)
{
    size_t dane = 0;
    for (size_t i = 0; i < c->nhosts; i++)
        dane += c->hosts[i].dane == STS_DANE_USABLE;
    if (dane > 0 && dane == c->nhosts)
        report_add(&c->r, LVL_WARN, "txt",
                   "%s; DANE protects every MX host, but senders without DNSSEC will not "
                   "require TLS (publish one TXT record \"v=STSv1; id=...\" there too)",
                   c->d.txt_why);
    else
        report_add(&c->r, LVL_FAIL, "txt",
                   "%s; senders will not look for a policy (publish one TXT record "
                   "\"v=STSv1; id=...\" there)%s",
                   c->d.txt_why, dane > 0 ? "; DANE protects only some MX hosts" : "");
}

/* The site's override for the domain (OverridesFile), the level it forces. */
static void check_override(struct check *c)
{
    struct sts_snapshot snap;
    sts_engine_acquire(c->net.engine, &snap);
    const struct sts_override *o = snap.ov ? sts_overrides_lookup(snap.ov, c->d.domain) : NULL;
    if (o != NULL) {
        char pats[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < o->npatterns && used < sizeof(pats); i++)
            used += (size_t)snprintf(pats + used, sizeof(pats) - used, " %s", o->patterns[i]);
        const char *kind =
            o->kind == STS_OVERRIDE_ENFORCE ? "secure" : sts_override_kind_name(o->kind);
        snprintf(c->override, sizeof(c->override), "%s%s", kind, pats);
        report_add(&c->r, LVL_OK, "override", "%s line %u: %s %s%s (applies before %s)",
                   c->net.cfg->overrides_file, o->line, o->domain, kind, pats,
                   o->kind == STS_OVERRIDE_SKIP ? "everything: no checks at RCPT"
                                                : "the published MTA-STS policy");
    }
    sts_snapshot_release(&snap);
}

/*
 * LearnTLS (learn.h): what this site's store has learned of the domain's
 * MX hosts, the level a learned domain gets (verify).  Read from the
 * daemon's store when it can be opened; mtasts check never writes it.
 */
static void check_learned(struct check *c)
{
    const struct sts_config *cfg = c->net.cfg;
    /* as the RCPT judge: no MTA-STS policy means no valid indicator or none fetched */
    bool sts = c->d.facts.txt == STS_DISCOVERY_TXT_RECORD && c->d.fetch.policy != NULL &&
               c->d.fetch.policy->mode != STS_MODE_NONE;
    if (cfg->learn_tls == STS_LEARN_OFF || c->override[0] != '\0' || sts)
        return;
    struct sts_store *store;
    char err[256];
    if (sts_store_open(cfg->store, &store, err, sizeof(err)) != STS_OK) {
        report_add(&c->r, LVL_OK, "learned-tls", "LearnTLS %s: the store cannot be read (%s)",
                   sts_learn_mode_name(cfg->learn_tls), err);
        return;
    }
    struct sts_learn_state st = {0};
    enum sts_status rs = sts_store_learn_get(store, c->d.domain, &st, err, sizeof(err));
    sts_store_close(store);
    int64_t now = (int64_t)time(NULL), period = (int64_t)cfg->learn_period_s;
    if (rs == STS_OK && sts_learn_is_learned(&st, now, period)) {
        c->learned = "learned";
        report_add(&c->r, LVL_OK, "learned-tls",
                   "learned: every MX host has passed verified TLS for %lld days; a failure is a "
                   "probable downgrade (LearnTLS %s: %s)",
                   (long long)((now - st.since) / 86400), sts_learn_mode_name(cfg->learn_tls),
                   cfg->learn_tls == STS_LEARN_ENFORCE ? "tempfailed, delivery asks for verify"
                                                       : "reported only");
    } else if (rs == STS_OK && st.present) {
        c->learned = "learning";
        report_add(&c->r, LVL_OK, "learned-tls",
                   "learning: verified TLS for %lld of %lld days so far",
                   (long long)((now - st.since) / 86400), (long long)(period / 86400));
    } else {
        c->learned = "none";
        report_add(&c->r, LVL_OK, "learned-tls", "not learned (LearnTLS %s)",
                   sts_learn_mode_name(cfg->learn_tls));
    }
}

/* The _smtp._tls record (RFC 8460 section 3): where reports would go. */
static int check_tlsrpt(struct check *c)
{
    char name[STS_DOMAIN_MAX + 16];
    snprintf(name, sizeof(name), "_smtp._tls.%s", c->d.domain);
    struct sts_dns_answer *a = NULL;
    enum sts_status st = sts_dns_query(c->net.dns, name, STS_DNS_TXT, &a);
    if (st == STS_ENOMEM) {
        cli_error("out of memory");
        return -1;
    }
    if (st != STS_OK || a->result != STS_DNS_ANSWER) {
        char why[320] = "";
        if (st == STS_OK)
            cli_explain_dns(a, name, "TXT", why, sizeof(why));
        /* optional (RFC 8460): said, not counted as a warning */
        report_add(&c->r, LVL_OK, "tlsrpt",
                   "none: %s; senders will not report TLS failures (RFC 8460: publish "
                   "\"v=TLSRPTv1; rua=mailto:...\" at %s)",
                   st == STS_OK ? why : sts_status_word(st), name);
        sts_dns_answer_free(a);
        return 0;
    }
    struct sts_tlsrpt_record *rec = NULL;
    char err[256];
    st = sts_tlsrpt_record_parse_rrset((const char *const *)a->txt, a->txt_len, a->count, &rec, err,
                                       sizeof(err));
    if (st == STS_OK) {
        char rua[700] = "";
        size_t used = 0;
        for (size_t i = 0; i < rec->rua_count && used < sizeof(rua); i++)
            used += (size_t)snprintf(rua + used, sizeof(rua) - used, "%s%s", i ? ", " : "",
                                     rec->rua[i].uri);
        snprintf(c->tlsrpt, sizeof(c->tlsrpt), "%s", rua);
        report_add(&c->r, LVL_OK, "tlsrpt", "%s: reports go to %s", name, rua);
        for (size_t i = 0; i < rec->skipped_count; i++)
            report_add(&c->r, LVL_WARN, "tlsrpt", "%s: %s is not used (%s)", name,
                       rec->skipped[i].what, sts_tlsrpt_skip_name(rec->skipped[i].why));
    } else if (st == STS_ENOMEM) {
        sts_dns_answer_free(a);
        cli_error("out of memory");
        return -1;
    } else {
        report_add(&c->r, LVL_WARN, "tlsrpt", "%s is invalid: %s; senders will not report", name,
                   err);
    }
    sts_tlsrpt_record_free(rec);
    sts_dns_answer_free(a);
    return 0;
}

/*
 * What the daemon would tell the MTA for the domain (sts_judge_map_key():
 * the destination decision of the RCPT judge), so the report ends with
 * the level delivery enforces.
 */
static void check_delivery(struct check *c)
{
    char req[STS_DOMAIN_MAX + 16], reply[4096];
    int len = snprintf(req, sizeof(req), "postfix %s", c->d.domain);
    struct sts_policy_map_options opts = {.tlsrpt = c->net.cfg->socketmap_tlsrpt,
                                          .strict_testing = c->net.cfg->socketmap_strict_testing};
    sts_judge_map_key(c->net.engine, &opts, c->o.timeout_s * 4000u + 2000u, req, (size_t)len, reply,
                      sizeof(reply), NULL);
    snprintf(c->delivery, sizeof(c->delivery), "%s", reply);
    report_add(&c->r, strncmp(reply, "TEMP", 4) == 0 ? LVL_FAIL : LVL_OK, "delivery",
               "a sender using this host's socketmap (Postfix smtp_tls_policy_maps) is told "
               "\"%s\"",
               reply);
}

static int run_checks(struct check *c)
{
    struct cli_discovery *d = &c->d;
    if (cli_discover_txt(&c->net, d) != 0)
        return -1;
    check_txt(&c->r, d);
    check_override(c);
    /*
     * Fetch even when the TXT record is broken: the owner wants to know
     * about the policy file too.  Without any indicator, speak of the
     * policy only if one is actually served (announced by nobody); the
     * MX hosts, their DANE and TLS are shown all the same (a DANE-only
     * destination, RFC 7672).
     */
    if (cli_discover_policy(&c->net, d) != 0)
        return -1;
    bool sts = d->facts.txt != STS_DISCOVERY_TXT_NONE || d->fetch.resp.result == STS_FETCH_OK;
    if (sts) {
        check_fetch(&c->r, d, c->o.timeout_s);
        if (d->fetch.resp.result == STS_FETCH_OK)
            check_policy(&c->r, d);
    }
    c->domain_fails = c->r.fails;
    if (sts && d->fetch.policy == NULL)
        return check_tlsrpt(c);
    c->no_policy = d->fetch.policy == NULL;
    check_learned(c);
    if (check_mx(c) != 0)
        return -1;
    if (!c->no_tls && c->nhosts > 0 && check_tls(c) != 0)
        return -1;
    if (!sts)
        check_no_sts(c);
    if (check_tlsrpt(c) != 0)
        return -1;
    if (!c->no_tls)
        check_delivery(c);
    return 0;
}

/* The one-line verdict (RFC 8460 result type and host where TLS decides). */
static void summary(const struct check *c, char *buf, size_t len)
{
    const struct cli_discovery *d = &c->d;
    size_t cand = 0, pass = 0, used = 0;
    for (size_t i = 0; i < c->nhosts; i++)
        if (cli_check_tls_candidate(&c->hosts[i])) {
            cand++;
            pass += c->hosts[i].result == STS_TLS_PASS;
        }
    if (c->r.fails == 0 && c->no_policy) {
        size_t dane = 0;
        for (size_t i = 0; i < c->nhosts; i++)
            dane += c->hosts[i].dane == STS_DANE_USABLE;
        used = (size_t)snprintf(buf, len, "PASS: no MTA-STS policy, DANE for %zu/%zu MX hosts",
                                dane, c->nhosts);
        if (c->tls_checked && used < len)
            used +=
                (size_t)snprintf(buf + used, len - used, ", %zu/%zu pass TLS checks", pass, cand);
        if (c->override[0] != '\0' && used < len)
            used += (size_t)snprintf(buf + used, len - used, ", override %s", c->override);
        if (c->r.warns > 0 && used < len)
            snprintf(buf + used, len - used, "; %u warning%s", c->r.warns,
                     c->r.warns == 1 ? "" : "s");
        return;
    }
    if (c->r.fails == 0) {
        if (c->tls_checked)
            used =
                (size_t)snprintf(buf, len,
                                 "PASS: %s policy id=%s, %zu/%zu permitted MX hosts "
                                 "pass TLS checks",
                                 sts_mode_name(d->fetch.policy->mode), d->txt.txt.id, pass, cand);
        else
            used = (size_t)snprintf(
                buf, len, "PASS: %s policy id=%s, %zu/%zu MX hosts permitted%s",
                d->fetch.policy != NULL ? sts_mode_name(d->fetch.policy->mode) : "no",
                d->txt.txt.id, cand, c->nhosts, c->no_tls ? " (TLS not checked: --no-tls)" : "");
        if (c->r.warns > 0 && used < len)
            snprintf(buf + used, len - used, "; %u warning%s", c->r.warns,
                     c->r.warns == 1 ? "" : "s");
        return;
    }
    if (c->domain_fails > 0 || !c->mx_looked_up) {
        snprintf(buf, len, "FAIL: %s", c->r.first_fail);
        return;
    }
    if (c->mx_bogus) {
        snprintf(buf, len, "FAIL: dnssec-invalid: the MX records of %s fail DNSSEC validation",
                 d->domain);
        return;
    }
    size_t failed = 0;
    used = (size_t)snprintf(buf, len, "FAIL: ");
    for (size_t i = 0; c->tls_checked && i < c->nhosts && used < len; i++) {
        const struct cli_mx_tls *h = &c->hosts[i];
        if (!cli_check_tls_candidate(h) || !sts_tls_result_is_failure(h->result))
            continue;
        used += (size_t)snprintf(buf + used, len - used, "%s%s on %s", failed++ ? ", " : "",
                                 sts_tls_result_name(h->result), h->host);
    }
    if (failed == 0 && c->tls_checked && cand > 0 && pass == 0)
        snprintf(buf, len, "FAIL: unreachable: no permitted MX host could be reached");
    else if (failed == 0)
        snprintf(buf, len, "FAIL: %s", c->r.first_fail);
    else if (used < len && cand == 1)
        snprintf(buf + used, len - used, " (the only permitted MX)");
    else if (used < len)
        snprintf(buf + used, len - used, "; %zu/%zu permitted MX hosts pass TLS checks", pass,
                 cand);
}

static json_object *hosts_json(const struct check *c)
{
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < c->nhosts; i++) {
        const struct cli_mx_tls *h = &c->hosts[i];
        json_object *m = json_object_new_object();
        json_object_object_add(m, "host", json_object_new_string(h->host));
        json_object_object_add(m, "preference", json_object_new_int((int)h->preference));
        json_object_object_add(m, "covered", json_object_new_boolean(h->permitted));
        if (c->tls_checked)
            cli_check_tls_json(h, m);
        json_object_array_add(arr, m);
    }
    return arr;
}

static void print_json(struct check *c, const char *verdict, const char *line)
{
    const struct cli_discovery *d = &c->d;
    json_object *obj = json_object_new_object();
    json_object_object_add(obj, "domain", json_object_new_string(d->domain));
    json_object_object_add(obj, "checks", c->r.checks);
    c->r.checks = NULL;
    json_object_object_add(
        obj, "id",
        d->facts.txt == STS_DISCOVERY_TXT_RECORD ? json_object_new_string(d->txt.txt.id) : NULL);
    json_object_object_add(obj, "policy",
                           d->fetch.policy != NULL ? cli_policy_json(d->fetch.policy) : NULL);
    json_object_object_add(obj, "mx_dnssec",
                           c->mx_looked_up ? json_object_new_string(sts_dnssec_name(c->mx_dnssec))
                                           : NULL);
    json_object_object_add(obj, "mx", hosts_json(c));
    json_object_object_add(obj, "tls_checked", json_object_new_boolean(c->tls_checked));
    json_object_object_add(obj, "override",
                           c->override[0] ? json_object_new_string(c->override) : NULL);
    json_object_object_add(obj, "learned_tls",
                           c->learned != NULL ? json_object_new_string(c->learned) : NULL);
    json_object_object_add(obj, "tlsrpt_rua",
                           c->tlsrpt[0] ? json_object_new_string(c->tlsrpt) : NULL);
    json_object_object_add(obj, "delivery",
                           c->delivery[0] ? json_object_new_string(c->delivery) : NULL);
    json_object_object_add(obj, "verdict", json_object_new_string(verdict));
    json_object_object_add(obj, "result", json_object_new_string(c->r.fails ? "fail" : "pass"));
    json_object_object_add(obj, "summary", json_object_new_string(line));
    cli_json_print(obj);
}

static void print_text(const struct check *c, const char *line)
{
    if (c->tls_checked) {
        printf("\nMX hosts of %s, by preference (MX records: DNSSEC %s)\n", c->d.domain,
               sts_dnssec_name(c->mx_dnssec));
        for (size_t i = 0; i < c->nhosts; i++) {
            putchar('\n');
            cli_check_tls_print(&c->hosts[i]);
        }
        putchar('\n');
    }
    printf("verdict: %s\n", line);
}

/*
 * The options only "check" has (--port N, --no-tls) are taken out of argv
 * before the shared parser sees the rest.  @return CLI_OK or CLI_USAGE
 */
static int take_check_options(int *argc, char **argv, struct check *c)
{
    int out = 0;
    bool done = false;
    c->port = 25;
    for (int i = 0; i < *argc; i++) {
        char *arg = argv[i];
        if (done || strncmp(arg, "--", 2) != 0) {
            argv[out++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0)
            done = true;
        if (strcmp(arg, "--no-tls") == 0) {
            c->no_tls = true;
        } else if (strncmp(arg, "--no-tls=", 9) == 0) {
            return cli_usage_error("check: --no-tls takes no value");
        } else if (strcmp(arg, "--port") == 0 || strncmp(arg, "--port=", 7) == 0) {
            const char *val = arg[6] == '=' ? arg + 7 : i + 1 < *argc ? argv[++i] : NULL;
            char *end;
            long v = val != NULL ? strtol(val, &end, 10) : 0;
            if (val == NULL || val[0] < '0' || val[0] > '9' || *end != '\0' || v < 1 || v > 65535)
                return cli_usage_error("check: --port takes a port number from 1 to 65535");
            c->port = (unsigned)v;
        } else {
            argv[out++] = arg;
        }
    }
    *argc = out;
    return CLI_OK;
}

int cli_check(int argc, char **argv)
{
    struct check c;
    memset(&c, 0, sizeof(c));
    int rc = take_check_options(&argc, argv, &c);
    if (rc != CLI_OK || (rc = cli_domain_command_parse(argc, argv, "check", &c.o, &c.d)) != CLI_OK)
        return rc;
    /* DNSSEC by default, so that DANE can be seen; "none" turns it off. */
    if (access(CHECK_TRUST_ANCHOR, R_OK) == 0)
        c.o.trust_anchor_fallback = CHECK_TRUST_ANCHOR;
    if ((rc = cli_net_open(&c.o, STS_ENGINE_NO_STORE, &c.net)) != CLI_OK)
        return rc;

    c.r.json = c.o.json;
    if (c.o.json)
        c.r.checks = json_object_new_array();
    rc = run_checks(&c) != 0 ? CLI_ERROR : c.r.fails ? CLI_FAIL : CLI_OK;
    if (rc != CLI_ERROR) {
        char line[2048];
        summary(&c, line, sizeof(line));
        const char *verdict = c.r.fails ? "problems" : c.r.warns ? "warnings" : "ok";
        if (c.o.json)
            print_json(&c, verdict, line);
        else
            print_text(&c, line);
    }
    json_object_put(c.r.checks);
    free(c.hosts);
    cli_discovery_clear(&c.d);
    cli_net_close(&c.net);
    return rc;
}
