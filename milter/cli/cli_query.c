/*
 * cli_query.c - "mtasts query KEY": what the socketmap policy server
 * (SocketMap in mtasts-milter.conf(5)) would answer for a key, through the
 * same store and cache, for debugging a Postfix smtp_tls_policy_maps or a
 * Sendmail sts map set-up.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "mtasts/cache.h"
#include "mtasts/dane_check.h"
#include "mtasts/mx_cache.h"
#include "mtasts/policy_map.h"
#include "mtasts/store.h"

int cli_query(int argc, char **argv)
{
    struct cli_opts o;
    int rc = cli_opts_parse(argc, argv, "query", CLI_OPT_NET | CLI_OPT_STORE, &o);
    if (rc != CLI_OK)
        return rc;
    if (o.npos != 1)
        return cli_usage_error("query takes one KEY (a domain, as the MTA would ask)");

    char reply[1024], domain[STS_DOMAIN_MAX + 1], reason[128], req[1100];
    /* The request as the MTA sends it: "NAME KEY". */
    int len = snprintf(req, sizeof(req), "mtasts %s", o.pos[0]);
    if (len < 0 || (size_t)len >= sizeof(req))
        return cli_usage_error("query: KEY too long");
    switch (
        sts_policy_map_parse(req, (size_t)len, domain, sizeof(domain), reason, sizeof(reason))) {
    case STS_POLICY_MAP_NOTFOUND:
        puts("NOTFOUND ");
        return CLI_FAIL;
    case STS_POLICY_MAP_PERM:
        sts_policy_map_perm(reason, reply, sizeof(reply));
        puts(reply);
        return CLI_ERROR;
    case STS_POLICY_MAP_LOOKUP:
        break;
    }

    struct sts_store *store;
    char err[256];
    if (sts_store_open(o.store, &store, err, sizeof(err)) != STS_OK) {
        cli_error("cannot open the store \"%s\": %s", o.store, err);
        return CLI_ERROR;
    }
    struct cli_net net;
    if ((rc = cli_net_open(&o, &net)) != CLI_OK) {
        sts_store_close(store);
        return rc;
    }
    struct sts_cache_config cfg = {.dns = net.dns, .store = store, .fetch = net.fetch};
    struct sts_cache *cache;
    if (sts_cache_new(&cfg, &cache, err, sizeof(err)) != STS_OK) {
        cli_error("cannot set up the cache: %s", err);
        cli_net_close(&net);
        sts_store_close(store);
        return CLI_ERROR;
    }
    /* DANE first, as the server does (dane_check.h) */
    struct sts_mx_cache *mx = NULL;
    struct sts_mx_cache_config mc = {.dns = net.dns};
    enum sts_dane_summary dane = STS_DANE_SUMMARY_NONE;
    if (sts_mx_cache_new(&mc, &mx, err, sizeof(err)) == STS_OK) {
        char why[96];
        enum sts_dane_summary ds =
            sts_dane_check_domain(mx, net.dns, domain, 25, o.timeout_s * 1000u, why, sizeof(why));
        dane = ds == STS_DANE_SUMMARY_ONLY   ? STS_DANE_SUMMARY_ONLY
               : ds == STS_DANE_SUMMARY_SOME ? STS_DANE_SUMMARY_SOME
                                             : STS_DANE_SUMMARY_NONE;
    }
    struct sts_cache_result res = {0};
    if (dane == STS_DANE_SUMMARY_ONLY || dane == STS_DANE_SUMMARY_SOME)
        res.outcome = STS_LOOKUP_NO_POLICY; /* DANE wins: the policy is not looked at */
    else
        sts_cache_lookup(cache, domain, o.timeout_s * 4000u + 2000u, &res);
    struct sts_policy_map_options opts = {0};
    struct sts_policy_map_input in = {.domain = domain,
                                      .outcome = res.outcome,
                                      .policy = res.policy,
                                      .reason = res.reason,
                                      .fetch = res.fetch,
                                      .dane = dane};
    sts_policy_map_reply(&opts, &in, reply, sizeof(reply));
    puts(reply);
    rc = strncmp(reply, "OK", 2) == 0         ? CLI_OK
         : strncmp(reply, "NOTFOUND", 8) == 0 ? CLI_FAIL
                                              : CLI_ERROR;
    sts_cache_result_clear(&res);
    sts_mx_cache_free(mx);
    sts_cache_free(cache);
    cli_net_close(&net);
    sts_store_close(store);
    return rc;
}
