/*
 * cli_fetch.c - "mtasts fetch DOMAIN" (live policy discovery, bypassing
 * any cache), and the RFC 8461 §3 discovery it shares with "mtasts check"
 * (cli_check.c): TXT via dns.h, HTTPS via fetch.h, then the parsers, the
 * very modules the milter runs.
 */
#include "cli_fetch.h"

#include <json-c/json.h>
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

void cli_discovery_clear(struct cli_discovery *d)
{
    sts_dns_answer_free(d->txt);
    sts_fetch_response_clear(&d->resp);
    sts_policy_free(d->policy);
    d->txt = NULL;
    d->policy = NULL;
}

int cli_discover_txt(struct cli_net *net, struct cli_discovery *d)
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
        d->txt_state = CLI_TXT_DNSFAIL;
        snprintf(d->txt_why, sizeof(d->txt_why), "cannot look up %s (%s)", d->txt_name,
                 sts_status_word(st));
        return 0;
    }
    switch (d->txt->result) {
    case STS_DNS_ANSWER:
        break;
    case STS_DNS_NXDOMAIN:
    case STS_DNS_NODATA:
        d->txt_state = CLI_TXT_ABSENT;
        cli_explain_dns(d->txt, d->txt_name, "TXT", d->txt_why, sizeof(d->txt_why));
        return 0;
    default:
        d->txt_state = CLI_TXT_DNSFAIL;
        cli_explain_dns(d->txt, d->txt_name, "TXT", d->txt_why, sizeof(d->txt_why));
        return 0;
    }
    char err[256];
    st = sts_txt_parse_rrset((const char *const *)d->txt->txt, d->txt->txt_len, d->txt->count,
                             &d->indicator, err, sizeof(err));
    if (st == STS_OK) {
        d->txt_state = CLI_TXT_VALID;
    } else if (st == STS_ENOTFOUND) {
        d->txt_state = CLI_TXT_ABSENT;
        snprintf(d->txt_why, sizeof(d->txt_why),
                 "%s has %zu TXT record%s but none is an MTA-STS record (\"v=STSv1; id=...\")",
                 d->txt_name, d->txt->count, d->txt->count == 1 ? "" : "s");
    } else {
        d->txt_state = CLI_TXT_INVALID;
        snprintf(d->txt_why, sizeof(d->txt_why), "the MTA-STS TXT record at %s is invalid: %s",
                 d->txt_name, err);
    }
    return 0;
}

int cli_discover_policy(struct cli_net *net, struct cli_discovery *d)
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

static json_object *txt_json(const struct cli_discovery *d)
{
    json_object *o = json_object_new_object();
    json_object *recs = json_object_new_array();
    const struct sts_dns_answer *a = d->txt;
    json_object_object_add(
        o, "result", json_object_new_string(a != NULL ? sts_dns_result_name(a->result) : "error"));
    json_object_object_add(
        o, "dnssec", json_object_new_string(a != NULL ? sts_dnssec_name(a->dnssec) : "insecure"));
    json_object_object_add(
        o, "id", d->txt_state == CLI_TXT_VALID ? json_object_new_string(d->indicator.id) : NULL);
    if (a != NULL && a->result == STS_DNS_ANSWER)
        for (size_t i = 0; i < a->count; i++)
            json_object_array_add(recs, cli_json_quoted(a->txt[i], a->txt_len[i]));
    json_object_object_add(o, "records", recs);
    json_object_object_add(o, "detail",
                           json_object_new_string(d->txt_state == CLI_TXT_VALID ? "" : d->txt_why));
    json_object_object_add(o, "ms", json_object_new_int64((int64_t)(d->dns_ms + 0.5)));
    return o;
}

static json_object *fetch_json(const struct cli_discovery *d)
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

static void print_fetch_text(const struct cli_discovery *d, const char *verdict, const char *reason)
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
    if (d->txt_state == CLI_TXT_VALID)
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

int cli_domain_command_parse(int argc, char **argv, const char *cmd, struct cli_opts *o,
                             struct cli_discovery *d)
{
    int rc = cli_opts_parse(argc, argv, cmd, CLI_OPT_NET | CLI_OPT_JSON, o);
    if (rc != CLI_OK)
        return rc;
    if (o->npos != 1)
        return cli_usage_error("%s takes one DOMAIN", cmd);
    memset(d, 0, sizeof(*d));
    return cli_domain_arg(o->pos[0], d->domain);
}

int cli_fetch(int argc, char **argv)
{
    struct cli_opts o;
    struct cli_discovery d;
    struct cli_net net;
    int rc = cli_domain_command_parse(argc, argv, "fetch", &o, &d);
    if (rc != CLI_OK || (rc = cli_net_open(&o, &net)) != CLI_OK)
        return rc;
    if (cli_discover_txt(&net, &d) != 0 ||
        (d.txt_state == CLI_TXT_VALID && cli_discover_policy(&net, &d) != 0)) {
        cli_discovery_clear(&d);
        cli_net_close(&net);
        return CLI_ERROR;
    }

    const char *verdict;
    char reason[1024];
    if (d.txt_state == CLI_TXT_ABSENT) {
        verdict = "no-policy";
        rc = CLI_FAIL;
        snprintf(reason, sizeof(reason), "no MTA-STS indicator: %s", d.txt_why);
    } else if (d.txt_state != CLI_TXT_VALID) {
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
    cli_discovery_clear(&d);
    cli_net_close(&net);
    return rc;
}
