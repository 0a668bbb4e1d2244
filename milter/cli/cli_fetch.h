/*
 * cli_fetch.h - RFC 8461 §3 policy discovery as "mtasts fetch" and
 * "mtasts check" run it (cli_fetch.c): TXT via dns.h, HTTPS via fetch.h,
 * then the parsers.
 *
 * Ownership: a struct cli_discovery owns its TXT answer, the fetched body
 * and the parsed policy; cli_discovery_clear() frees them.
 */
#ifndef MTASTS_CLI_FETCH_H
#define MTASTS_CLI_FETCH_H

#include <stdbool.h>

#include "cli_common.h"
#include "mtasts/dns.h"
#include "mtasts/domain.h"
#include "mtasts/fetch.h"
#include "mtasts/policy.h"
#include "mtasts/txt.h"

/* What the _mta-sts TXT lookup amounted to. */
enum cli_txt_state {
    CLI_TXT_VALID = 0, /* exactly one valid v=STSv1 record */
    CLI_TXT_ABSENT,    /* NXDOMAIN, NODATA, or no v=STSv1 record: no indicator */
    CLI_TXT_INVALID,   /* several v=STSv1 records, or an invalid one */
    CLI_TXT_DNSFAIL,   /* SERVFAIL, bogus, timeout, local error */
};

/* One discovery run: the TXT answer, the fetch and the parsed policy. */
struct cli_discovery {
    char domain[STS_DOMAIN_MAX + 1];
    char txt_name[STS_DOMAIN_MAX + 16];
    struct sts_dns_answer *txt; /* NULL if the query could not be made */
    enum cli_txt_state txt_state;
    char txt_why[640]; /* for every state but CLI_TXT_VALID */
    struct sts_txt indicator;
    double dns_ms;
    bool fetched;
    struct sts_fetch_response resp;
    double https_ms;
    struct sts_policy *policy; /* NULL unless fetched and valid */
    char policy_err[256];
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
