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
#include <time.h>

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
    sts_discovery_io_txt_clear(&d->txt);
    sts_discovery_io_fetch_clear(&d->fetch);
}

int cli_discover_txt(struct cli_net *net, struct cli_discovery *d)
{
    d->facts.now = (int64_t)time(NULL);
    sts_discovery_io_txt(net->dns, d->domain, &d->facts, &d->txt);
    const struct sts_dns_answer *a = d->txt.ans;
    if (d->txt.status == STS_ENOMEM) {
        cli_error("out of memory");
        return -1;
    }
    if (a == NULL) {
        snprintf(d->txt_why, sizeof(d->txt_why), "cannot look up %s (%s)", d->txt.name,
                 sts_status_word(d->txt.status));
        return 0;
    }
    switch (d->facts.txt) {
    case STS_DISCOVERY_TXT_RECORD:
        break;
    case STS_DISCOVERY_TXT_NONE:
        if (a->result == STS_DNS_ANSWER)
            snprintf(d->txt_why, sizeof(d->txt_why),
                     "%s has %zu TXT record%s but none is an MTA-STS record (\"v=STSv1; id=...\")",
                     d->txt.name, a->count, a->count == 1 ? "" : "s");
        else
            cli_explain_dns(a, d->txt.name, "TXT", d->txt_why, sizeof(d->txt_why));
        break;
    case STS_DISCOVERY_TXT_INVALID:
        snprintf(d->txt_why, sizeof(d->txt_why), "the MTA-STS TXT record at %s is invalid: %s",
                 d->txt.name, d->txt.err);
        break;
    case STS_DISCOVERY_TXT_FAILED:
        cli_explain_dns(a, d->txt.name, "TXT", d->txt_why, sizeof(d->txt_why));
        break;
    }
    return 0;
}

int cli_discover_policy(struct cli_net *net, struct cli_discovery *d)
{
    sts_discovery_io_fetch(&net->fetch, net->dns, d->domain, &d->facts, &d->fetch);
    if (d->fetch.status != STS_OK || d->fetch.parse_status == STS_ENOMEM) {
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
    const struct sts_dns_answer *a = d->txt.ans;
    json_object_object_add(
        o, "result", json_object_new_string(a != NULL ? sts_dns_result_name(a->result) : "error"));
    json_object_object_add(
        o, "dnssec", json_object_new_string(a != NULL ? sts_dnssec_name(a->dnssec) : "insecure"));
    json_object_object_add(
        o, "id",
        d->facts.txt == STS_DISCOVERY_TXT_RECORD ? json_object_new_string(d->txt.txt.id) : NULL);
    if (a != NULL && a->result == STS_DNS_ANSWER)
        for (size_t i = 0; i < a->count; i++)
            json_object_array_add(recs, cli_json_quoted(a->txt[i], a->txt_len[i]));
    json_object_object_add(o, "records", recs);
    json_object_object_add(
        o, "detail",
        json_object_new_string(d->facts.txt == STS_DISCOVERY_TXT_RECORD ? "" : d->txt_why));
    json_object_object_add(o, "ms", json_object_new_int64((int64_t)(d->txt.ms + 0.5)));
    return o;
}

static json_object *fetch_json(const struct cli_discovery *d)
{
    if (!d->facts.fetched)
        return NULL;
    char detail[300];
    json_object *o = json_object_new_object();
    json_object_object_add(o, "result",
                           json_object_new_string(sts_fetch_result_name(d->fetch.resp.result)));
    json_object_object_add(o, "http_status", json_object_new_int64(d->fetch.resp.http_status));
    json_object_object_add(o, "address", json_object_new_string(d->fetch.resp.addr));
    json_object_object_add(o, "seconds", json_object_new_double(d->fetch.resp.seconds));
    cli_sanitize(d->fetch.resp.detail, sizeof(d->fetch.resp.detail), detail, sizeof(detail));
    json_object_object_add(o, "detail", json_object_new_string(detail));
    json_object_object_add(o, "ms", json_object_new_int64((int64_t)(d->fetch.ms + 0.5)));
    return o;
}

static void print_fetch_text(const struct cli_discovery *d, const char *verdict, const char *reason)
{
    const struct sts_dns_answer *a = d->txt.ans;
    printf("domain: %s\n", d->domain);
    if (a != NULL)
        printf("txt: %s, dnssec %s, %.0f ms\n", sts_dns_result_name(a->result),
               sts_dnssec_name(a->dnssec), d->txt.ms);
    else
        printf("txt: error, %.0f ms\n", d->txt.ms);
    if (a != NULL && a->result == STS_DNS_ANSWER) {
        for (size_t i = 0; i < a->count; i++) {
            char q[600];
            printf("txt record: %s\n", sts_status_quote(a->txt[i], a->txt_len[i], q, sizeof(q)));
        }
    }
    if (d->facts.txt == STS_DISCOVERY_TXT_RECORD)
        printf("id: %s\n", d->txt.txt.id);
    if (d->facts.fetched) {
        printf("fetch: %s", sts_fetch_result_name(d->fetch.resp.result));
        if (d->fetch.resp.http_status != 0)
            printf(", HTTP %ld", d->fetch.resp.http_status);
        if (d->fetch.resp.addr[0] != '\0')
            printf(", address %s", d->fetch.resp.addr);
        printf(", %.0f ms\n", d->fetch.ms);
    }
    printf("verdict: %s\n", verdict);
    printf("reason: %s\n", reason);
    if (d->fetch.policy != NULL) {
        putchar('\n');
        cli_policy_print(d->fetch.policy);
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
    if (rc != CLI_OK || (rc = cli_net_open(&o, STS_ENGINE_NO_STORE, &net)) != CLI_OK)
        return rc;
    /* The engine's steps, each as discovery.h asks for it; nothing cached, no back-off. */
    d.facts.backoff_checked = true;
    struct sts_discovery_decision dec;
    if (cli_discover_txt(&net, &d) != 0) {
        cli_discovery_clear(&d);
        cli_net_close(&net);
        return CLI_ERROR;
    }
    sts_discovery_decide(&d.facts, NULL, &dec);
    if (dec.action == STS_DISCOVERY_FETCH) {
        if (cli_discover_policy(&net, &d) != 0) {
            cli_discovery_clear(&d);
            cli_net_close(&net);
            return CLI_ERROR;
        }
        sts_discovery_decide(&d.facts, NULL, &dec);
    }

    const char *verdict = "failure";
    char reason[1024];
    rc = CLI_ERROR;
    if (dec.action == STS_DISCOVERY_UPDATE) {
        verdict = "policy";
        rc = CLI_OK;
        snprintf(reason, sizeof(reason), "valid policy, mode %s",
                 sts_mode_name(d.fetch.policy->mode));
    } else if (dec.reason == STS_LOOKUP_REASON_NO_INDICATOR) {
        verdict = "no-policy";
        rc = CLI_FAIL;
        snprintf(reason, sizeof(reason), "no MTA-STS indicator: %s", d.txt_why);
    } else if (dec.reason == STS_LOOKUP_REASON_FETCH_FAILED) {
        char why[900];
        cli_explain_fetch(&d.fetch.resp, d.domain, o.timeout_s, why, sizeof(why));
        snprintf(reason, sizeof(reason), "policy fetch failed: %s", why);
    } else if (dec.reason == STS_LOOKUP_REASON_POLICY_INVALID) {
        snprintf(reason, sizeof(reason), "the policy file is invalid: %s", d.fetch.err);
    } else { /* an invalid TXT RRset, or a failed lookup */
        snprintf(reason, sizeof(reason), "%s", d.txt_why);
    }

    if (o.json) {
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "domain", json_object_new_string(d.domain));
        json_object_object_add(obj, "txt", txt_json(&d));
        json_object_object_add(obj, "fetch", fetch_json(&d));
        json_object_object_add(obj, "policy",
                               d.fetch.policy != NULL ? cli_policy_json(d.fetch.policy) : NULL);
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
