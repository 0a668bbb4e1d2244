/*
 * cli_query.c - "mtasts query KEY": what the socketmap policy server
 * (SocketMap in mtasts-milter.conf(5)) would answer for a key: the same
 * engine (engine.h, the daemon's configuration) asked the same question
 * (sts_judge_map_key()), for debugging a Postfix smtp_tls_policy_maps or a
 * Sendmail sts map set-up.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_common.h"
#include "mtasts/judge.h"
#include "mtasts/policy_map.h"

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

    struct cli_net net;
    if ((rc = cli_net_open(&o, 0, &net)) != CLI_OK)
        return rc;
    /* The server's own answer (judge.h), waiting as long as a discovery may take. */
    struct sts_policy_map_options opts = {.tlsrpt = net.cfg->socketmap_tlsrpt,
                                          .strict_testing = net.cfg->socketmap_strict_testing};
    struct sts_map_answer info;
    sts_judge_map_key(net.engine, &opts, o.timeout_s * 4000u + 2000u, req, (size_t)len, reply,
                      sizeof(reply), &info);
    puts(reply);
    rc = strncmp(reply, "OK", 2) == 0         ? CLI_OK
         : strncmp(reply, "NOTFOUND", 8) == 0 ? CLI_FAIL
                                              : CLI_ERROR;
    cli_net_close(&net);
    return rc;
}
