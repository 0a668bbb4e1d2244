/*
 * cli_fetch.c - "mtasts fetch DOMAIN" (live policy discovery, bypassing
 * any cache) and "mtasts check DOMAIN" (a deployment report for the
 * domain's owner).  Both run RFC 8461 §3 discovery through the same
 * modules as the milter: TXT via dns.h, HTTPS via fetch.h, then the
 * parsers; check adds the MX records against the policy (§4.1).
 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "mtasts/dns.h"
#include "mtasts/domain.h"
#include "mtasts/fetch.h"
#include "mtasts/policy.h"
#include "mtasts/status.h"
#include "mtasts/txt.h"

#define WEEKS_HINT 1209600u /* two weeks: the order of max_age §3.2 expects */

/* What the _mta-sts TXT lookup amounted to. */
enum txt_state {
    TXT_VALID = 0, /* exactly one valid v=STSv1 record */
    TXT_ABSENT,    /* NXDOMAIN, NODATA, or no v=STSv1 record: no indicator */
    TXT_INVALID,   /* several v=STSv1 records, or an invalid one */
    TXT_DNSFAIL,   /* SERVFAIL, bogus, timeout, local error */
};

/* One discovery run: the TXT answer, the fetch and the parsed policy. */
struct discovery {
    char domain[STS_DOMAIN_MAX + 1];
    char txt_name[STS_DOMAIN_MAX + 16];
    struct sts_dns_answer *txt; /* NULL if the query could not be made */
    enum txt_state txt_state;
    char txt_why[640]; /* for every state but TXT_VALID */
    struct sts_txt indicator;
    double dns_ms;
    bool fetched;
    struct sts_fetch_response resp;
    double https_ms;
    struct sts_policy *policy; /* NULL unless fetched and valid */
    char policy_err[256];
};

static void discovery_clear(struct discovery *d)
{
    sts_dns_answer_free(d->txt);
    sts_fetch_response_clear(&d->resp);
    sts_policy_free(d->policy);
    d->txt = NULL;
    d->policy = NULL;
}

/* TXT _mta-sts.DOMAIN and §3.1 on the RRset.  @return 0, or -1 if out of memory */
static int discover_txt(struct cli_net *net, struct discovery *d)
{
    snprintf(d->txt_name, sizeof(d->txt_name), "_mta-sts.%s", d->domain);
    double t0 = cli_now_ms();
    enum sts_status st = sts_dns_query(net->dns, d->txt_name, STS_DNS_TXT, &d->txt);
    d->dns_ms = cli_now_ms() - t0;
    if (st == STS_ENOMEM) {
        cli_error("out of memory");
        return -1;
    }
    if (st != STS_OK) {
        d->txt = NULL;
        d->txt_state = TXT_DNSFAIL;
        snprintf(d->txt_why, sizeof(d->txt_why), "cannot look up %s (%s)", d->txt_name,
                 sts_status_word(st));
        return 0;
    }
    switch (d->txt->result) {
    case STS_DNS_ANSWER:
        break;
    case STS_DNS_NXDOMAIN:
    case STS_DNS_NODATA:
        d->txt_state = TXT_ABSENT;
        cli_explain_dns(d->txt, d->txt_name, "TXT", d->txt_why, sizeof(d->txt_why));
        return 0;
    default:
        d->txt_state = TXT_DNSFAIL;
        cli_explain_dns(d->txt, d->txt_name, "TXT", d->txt_why, sizeof(d->txt_why));
        return 0;
    }
    char err[256];
    st = sts_txt_parse_rrset((const char *const *)d->txt->txt, d->txt->txt_len, d->txt->count,
                             &d->indicator, err, sizeof(err));
    if (st == STS_OK) {
        d->txt_state = TXT_VALID;
    } else if (st == STS_ENOTFOUND) {
        d->txt_state = TXT_ABSENT;
        snprintf(d->txt_why, sizeof(d->txt_why),
                 "%s has %zu TXT record%s but none is an MTA-STS record (\"v=STSv1; id=...\")",
                 d->txt_name, d->txt->count, d->txt->count == 1 ? "" : "s");
    } else {
        d->txt_state = TXT_INVALID;
        snprintf(d->txt_why, sizeof(d->txt_why), "the MTA-STS TXT record at %s is invalid: %s",
                 d->txt_name, err);
    }
    return 0;
}

/* HTTPS fetch and §3.2 parse.  @return 0, or -1 if out of memory */
static int discover_policy(struct cli_net *net, struct discovery *d)
{
    double t0 = cli_now_ms();
    enum sts_status st = sts_fetch_policy(&net->fetch, net->dns, d->domain, &d->resp);
    d->https_ms = cli_now_ms() - t0;
    if (st != STS_OK) {
        cli_error("out of memory");
        return -1;
    }
    d->fetched = true;
    if (d->resp.result != STS_FETCH_OK)
        return 0;
    st = sts_policy_parse(d->resp.body, d->resp.body_len, &d->policy, d->policy_err,
                          sizeof(d->policy_err));
    if (st == STS_ENOMEM) {
        cli_error("out of memory");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ fetch */

static json_object *txt_json(const struct discovery *d)
{
    json_object *o = json_object_new_object();
    json_object *recs = json_object_new_array();
    const struct sts_dns_answer *a = d->txt;
    json_object_object_add(
        o, "result", json_object_new_string(a != NULL ? sts_dns_result_name(a->result) : "error"));
    json_object_object_add(
        o, "dnssec", json_object_new_string(a != NULL ? sts_dnssec_name(a->dnssec) : "insecure"));
    json_object_object_add(
        o, "id", d->txt_state == TXT_VALID ? json_object_new_string(d->indicator.id) : NULL);
    if (a != NULL && a->result == STS_DNS_ANSWER)
        for (size_t i = 0; i < a->count; i++)
            json_object_array_add(recs, cli_json_quoted(a->txt[i], a->txt_len[i]));
    json_object_object_add(o, "records", recs);
    json_object_object_add(o, "detail",
                           json_object_new_string(d->txt_state == TXT_VALID ? "" : d->txt_why));
    json_object_object_add(o, "ms", json_object_new_int64((int64_t)(d->dns_ms + 0.5)));
    return o;
}

static json_object *fetch_json(const struct discovery *d)
{
    if (!d->fetched)
        return NULL;
    char detail[300];
    json_object *o = json_object_new_object();
    json_object_object_add(o, "result",
                           json_object_new_string(sts_fetch_result_name(d->resp.result)));
    json_object_object_add(o, "http_status", json_object_new_int64(d->resp.http_status));
    json_object_object_add(o, "address", json_object_new_string(d->resp.addr));
    json_object_object_add(o, "seconds", json_object_new_double(d->resp.seconds));
    cli_sanitize(d->resp.detail, sizeof(d->resp.detail), detail, sizeof(detail));
    json_object_object_add(o, "detail", json_object_new_string(detail));
    json_object_object_add(o, "ms", json_object_new_int64((int64_t)(d->https_ms + 0.5)));
    return o;
}

static void print_fetch_text(const struct discovery *d, const char *verdict, const char *reason)
{
    const struct sts_dns_answer *a = d->txt;
    printf("domain: %s\n", d->domain);
    if (a != NULL)
        printf("txt: %s, dnssec %s, %.0f ms\n", sts_dns_result_name(a->result),
               sts_dnssec_name(a->dnssec), d->dns_ms);
    else
        printf("txt: error, %.0f ms\n", d->dns_ms);
    if (a != NULL && a->result == STS_DNS_ANSWER) {
        for (size_t i = 0; i < a->count; i++) {
            char q[600];
            printf("txt record: %s\n", sts_status_quote(a->txt[i], a->txt_len[i], q, sizeof(q)));
        }
    }
    if (d->txt_state == TXT_VALID)
        printf("id: %s\n", d->indicator.id);
    if (d->fetched) {
        printf("fetch: %s", sts_fetch_result_name(d->resp.result));
        if (d->resp.http_status != 0)
            printf(", HTTP %ld", d->resp.http_status);
        if (d->resp.addr[0] != '\0')
            printf(", address %s", d->resp.addr);
        printf(", %.0f ms\n", d->https_ms);
    }
    printf("verdict: %s\n", verdict);
    printf("reason: %s\n", reason);
    if (d->policy != NULL) {
        putchar('\n');
        cli_policy_print(d->policy);
    }
}

/*
 * The shared start of "fetch" and "check": options, one DOMAIN, the
 * resolver.  Returns CLI_OK with net open, or the exit status.
 */
static int open_domain_command(int argc, char **argv, const char *cmd, struct cli_opts *o,
                               struct discovery *d, struct cli_net *net)
{
    int rc = cli_opts_parse(argc, argv, cmd, CLI_OPT_NET | CLI_OPT_JSON, o);
    if (rc != CLI_OK)
        return rc;
    if (o->npos != 1)
        return cli_usage_error("%s takes one DOMAIN", cmd);
    memset(d, 0, sizeof(*d));
    if ((rc = cli_domain_arg(o->pos[0], d->domain)) != CLI_OK)
        return rc;
    return cli_net_open(o, net);
}

int cli_fetch(int argc, char **argv)
{
    struct cli_opts o;
    struct discovery d;
    struct cli_net net;
    int rc = open_domain_command(argc, argv, "fetch", &o, &d, &net);
    if (rc != CLI_OK)
        return rc;
    if (discover_txt(&net, &d) != 0 ||
        (d.txt_state == TXT_VALID && discover_policy(&net, &d) != 0)) {
        discovery_clear(&d);
        cli_net_close(&net);
        return CLI_ERROR;
    }

    const char *verdict;
    char reason[1024];
    if (d.txt_state == TXT_ABSENT) {
        verdict = "no-policy";
        rc = CLI_FAIL;
        snprintf(reason, sizeof(reason), "no MTA-STS indicator: %s", d.txt_why);
    } else if (d.txt_state != TXT_VALID) {
        verdict = "failure";
        rc = CLI_ERROR;
        snprintf(reason, sizeof(reason), "%s", d.txt_why);
    } else if (d.resp.result != STS_FETCH_OK) {
        verdict = "failure";
        rc = CLI_ERROR;
        char why[900];
        cli_explain_fetch(&d.resp, d.domain, o.timeout_s, why, sizeof(why));
        snprintf(reason, sizeof(reason), "policy fetch failed: %s", why);
    } else if (d.policy == NULL) {
        verdict = "failure";
        rc = CLI_ERROR;
        snprintf(reason, sizeof(reason), "the policy file is invalid: %s", d.policy_err);
    } else {
        verdict = "policy";
        rc = CLI_OK;
        snprintf(reason, sizeof(reason), "valid policy, mode %s", sts_mode_name(d.policy->mode));
    }

    if (o.json) {
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "domain", json_object_new_string(d.domain));
        json_object_object_add(obj, "txt", txt_json(&d));
        json_object_object_add(obj, "fetch", fetch_json(&d));
        json_object_object_add(obj, "policy", d.policy != NULL ? cli_policy_json(d.policy) : NULL);
        json_object_object_add(obj, "verdict", json_object_new_string(verdict));
        json_object_object_add(obj, "reason", json_object_new_string(reason));
        cli_json_print(obj);
    } else {
        print_fetch_text(&d, verdict, reason);
    }
    discovery_clear(&d);
    cli_net_close(&net);
    return rc;
}

/* ------------------------------------------------------------------ check */

enum level { LVL_OK = 0, LVL_WARN, LVL_FAIL };

struct report {
    bool json;
    json_object *checks; /* JSON mode: the array of checks */
    unsigned warns, fails;
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
    else if (lvl == LVL_FAIL)
        r->fails++;
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

static void check_txt(struct report *r, const struct discovery *d)
{
    switch (d->txt_state) {
    case TXT_VALID:
        report_add(r, LVL_OK, "txt", "%s has one valid MTA-STS record, id=%s (DNSSEC: %s)",
                   d->txt_name, d->indicator.id, sts_dnssec_name(d->txt->dnssec));
        break;
    case TXT_ABSENT:
        report_add(r, LVL_FAIL, "txt",
                   "%s; senders will not look for a policy (publish one TXT record "
                   "\"v=STSv1; id=...\" there)",
                   d->txt_why);
        break;
    case TXT_INVALID:
        report_add(r, LVL_FAIL, "txt", "%s; senders ignore the domain's policy until it is fixed",
                   d->txt_why);
        break;
    case TXT_DNSFAIL:
        report_add(r, LVL_FAIL, "txt", "%s; senders cannot discover the policy", d->txt_why);
        break;
    }
}

static void check_fetch(struct report *r, const struct discovery *d, unsigned timeout_s)
{
    if (d->resp.result == STS_FETCH_OK) {
        report_add(r, LVL_OK, "policy fetch",
                   "https://mta-sts.%s/.well-known/mta-sts.txt served from %s (HTTP %ld, "
                   "%zu bytes)",
                   d->domain, d->resp.addr[0] != '\0' ? d->resp.addr : "?", d->resp.http_status,
                   d->resp.body_len);
        return;
    }
    char why[900];
    cli_explain_fetch(&d->resp, d->domain, timeout_s, why, sizeof(why));
    report_add(r, LVL_FAIL, "policy fetch", "%s", why);
}

static void check_policy(struct report *r, const struct discovery *d)
{
    if (d->policy == NULL) {
        report_add(r, LVL_FAIL, "policy", "the policy file is invalid: %s; senders ignore it",
                   d->policy_err);
        return;
    }
    const struct sts_policy *p = d->policy;
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

/* The MX hosts against the policy's patterns (RFC 8461 §4.1). */
static int check_mx(struct report *r, struct cli_net *net, const struct discovery *d,
                    json_object *jmx)
{
    const struct sts_policy *p = d->policy;
    enum level miss = p->mode == STS_MODE_ENFORCE ? LVL_FAIL : LVL_WARN;
    const char *miss_why = p->mode == STS_MODE_ENFORCE
                               ? "senders that enforce the policy will not deliver there"
                               : "senders would not deliver there once the mode is enforce";
    struct sts_dns_answer *a = NULL;
    enum sts_status st = sts_dns_query(net->dns, d->domain, STS_DNS_MX, &a);
    if (st == STS_ENOMEM) {
        cli_error("out of memory");
        return -1;
    }
    if (st != STS_OK) {
        report_add(r, LVL_FAIL, "mx", "cannot look up the MX records of %s (%s)", d->domain,
                   sts_status_word(st));
        return 0;
    }
    char why[320];
    if (a->result == STS_DNS_NXDOMAIN || a->result == STS_DNS_NODATA) {
        bool ok = sts_policy_permits_mx(p, d->domain);
        report_add(r, ok ? LVL_WARN : miss, "mx",
                   "%s has no MX records: mail goes to %s itself (implicit MX, RFC 5321 section "
                   "5.1), which the policy %s",
                   d->domain, d->domain, ok ? "covers" : "does NOT cover");
    } else if (a->result != STS_DNS_ANSWER) {
        cli_explain_dns(a, d->domain, "MX", why, sizeof(why));
        report_add(r, LVL_FAIL, "mx", "%s", why);
    } else if (a->count == 1 && a->mx[0].host[0] == '\0') {
        report_add(r, LVL_WARN, "mx",
                   "%s has a null MX (RFC 7505): it receives no mail, so its policy has no effect",
                   d->domain);
    } else {
        for (size_t i = 0; i < a->count; i++) {
            const struct sts_dns_mx *mx = &a->mx[i];
            if (mx->host[0] == '\0')
                continue;
            bool ok = sts_policy_permits_mx(p, mx->host);
            if (ok)
                report_add(r, LVL_OK, "mx", "%s (preference %u) matches the policy", mx->host,
                           (unsigned)mx->preference);
            else
                report_add(r, miss, "mx", "%s (preference %u) is NOT covered by the policy: %s",
                           mx->host, (unsigned)mx->preference, miss_why);
            json_object *m = json_object_new_object();
            json_object_object_add(m, "host", json_object_new_string(mx->host));
            json_object_object_add(m, "preference", json_object_new_int(mx->preference));
            json_object_object_add(m, "covered", json_object_new_boolean(ok));
            json_object_array_add(jmx, m);
        }
    }
    sts_dns_answer_free(a);
    return 0;
}

static int run_checks(struct report *r, struct cli_net *net, struct discovery *d,
                      unsigned timeout_s, json_object *jmx)
{
    if (discover_txt(net, d) != 0)
        return -1;
    check_txt(r, d);
    /*
     * Fetch even when the TXT record is broken: the owner wants to know
     * about the policy file too.  Without any indicator, speak of the
     * policy only if one is actually served (announced by nobody).
     */
    if (discover_policy(net, d) != 0)
        return -1;
    if (d->txt_state == TXT_ABSENT && d->resp.result != STS_FETCH_OK)
        return 0;
    check_fetch(r, d, timeout_s);
    if (d->resp.result != STS_FETCH_OK)
        return 0;
    check_policy(r, d);
    if (d->policy == NULL)
        return 0;
    return check_mx(r, net, d, jmx);
}

int cli_check(int argc, char **argv)
{
    struct cli_opts o;
    struct discovery d;
    struct cli_net net;
    int rc = open_domain_command(argc, argv, "check", &o, &d, &net);
    if (rc != CLI_OK)
        return rc;

    struct report r = {.json = o.json};
    json_object *jmx = json_object_new_array();
    if (o.json)
        r.checks = json_object_new_array();
    if (run_checks(&r, &net, &d, o.timeout_s, jmx) != 0) {
        json_object_put(jmx);
        json_object_put(r.checks);
        discovery_clear(&d);
        cli_net_close(&net);
        return CLI_ERROR;
    }

    const char *verdict = r.fails ? "problems" : r.warns ? "warnings" : "ok";
    if (o.json) {
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "domain", json_object_new_string(d.domain));
        json_object_object_add(obj, "checks", r.checks);
        json_object_object_add(
            obj, "id", d.txt_state == TXT_VALID ? json_object_new_string(d.indicator.id) : NULL);
        json_object_object_add(obj, "policy", d.policy != NULL ? cli_policy_json(d.policy) : NULL);
        json_object_object_add(obj, "mx", jmx);
        json_object_object_add(obj, "verdict", json_object_new_string(verdict));
        cli_json_print(obj);
    } else {
        json_object_put(jmx);
        printf("verdict: %s\n", verdict);
    }
    discovery_clear(&d);
    cli_net_close(&net);
    return r.fails ? CLI_FAIL : CLI_OK;
}
