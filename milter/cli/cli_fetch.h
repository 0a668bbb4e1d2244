/*
 * cli_fetch.h - RFC 8461 §3 policy discovery as "mtasts fetch" and
 * "mtasts check" run it (cli_fetch.c): TXT via dns.h, HTTPS via fetch.h,
 * then the parsers.
 *
 * The steps are the engine's (discovery_io.h), the very ones the cache
 * runs; this file adds the words for people.
 *
 * Ownership: a struct cli_discovery owns its TXT answer, the fetched body
 * and the parsed policy; cli_discovery_clear() frees them.
 */
#ifndef MTASTS_CLI_FETCH_H
#define MTASTS_CLI_FETCH_H

#include <stdbool.h>

#include "cli_common.h"
#include "mtasts/discovery.h"
#include "mtasts/discovery_io.h"
#include "mtasts/dns.h"
#include "mtasts/domain.h"
#include "mtasts/fetch.h"
#include "mtasts/policy.h"
#include "mtasts/txt.h"

/*
 * One discovery run: the engine's two steps (discovery_io.h) and the facts
 * they gave (discovery.h), plus the sentence a person reads for the TXT
 * outcome.  facts.txt is RECORD (one valid record), NONE (no indicator),
 * INVALID (several or an invalid one) or FAILED (the lookup failed).
 */
struct cli_discovery {
    char domain[STS_DOMAIN_MAX + 1];
    struct sts_discovery_facts facts;
    struct sts_discovery_io_txt txt;
    char txt_why[640]; /* for every TXT outcome but RECORD */
    struct sts_discovery_io_fetch fetch;
};

/** Free what d owns; d stays usable (zeroed pointers). */
void cli_discovery_clear(struct cli_discovery *d);

/**
 * TXT _mta-sts.DOMAIN and §3.1 on the RRset (d->domain must be set).
 * @return 0, or -1 if out of memory (message printed)
 */
int cli_discover_txt(struct cli_net *net, struct cli_discovery *d);

/**
 * HTTPS fetch and §3.2 parse.
 * @return 0, or -1 if out of memory (message printed)
 */
int cli_discover_policy(struct cli_net *net, struct cli_discovery *d);

/**
 * The shared start of "fetch" and "check": options (CLI_OPT_NET |
 * CLI_OPT_JSON), exactly one DOMAIN into d->domain (d is zeroed first).
 * The resolver is not opened: call cli_net_open() next.
 * @return CLI_OK, or the exit status after printing why
 */
int cli_domain_command_parse(int argc, char **argv, const char *cmd, struct cli_opts *o,
                             struct cli_discovery *d);

#endif
