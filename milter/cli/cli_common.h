/*
 * cli_common.h - what the network and cache subcommands of mtasts(1)
 * share: option parsing, resolver and fetch set-up, and the sentences a
 * postmaster reads for a DNS or HTTPS failure.
 *
 * Ownership: struct cli_opts points into argv and is valid as long as
 * argv; struct cli_net owns its resolver (cli_net_close() frees it).
 * The explain functions write into a caller-supplied buffer.
 */
#ifndef MTASTS_CLI_COMMON_H
#define MTASTS_CLI_COMMON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "build-config.h"
#include "mtasts/config.h"
#include "mtasts/dns.h"
#include "mtasts/domain.h"
#include "mtasts/engine.h"
#include "mtasts/fetch.h"
#include "mtasts/policy.h"
#include "mtasts/store.h"

#ifndef MTASTS_DEFAULT_CONFIG /* from configure, once it substitutes paths */
#define MTASTS_DEFAULT_CONFIG STS_CONFIG_DEFAULT_FILE
#endif
#define CLI_CONFIG_ENV "MTASTS_CONFIG" /* like -c; "none": the key table's defaults */
#define CLI_STORE_ENV "MTASTS_STORE"
#define CLI_TIMEOUT_DEFAULT 10u /* seconds, per DNS query and per HTTPS fetch */
#define CLI_TIMEOUT_MAX 300u
#define CLI_POSITIONAL_MAX 4

/** Which options a subcommand accepts (a bit mask for cli_opts_parse()). */
enum cli_opt_set {
    CLI_OPT_NET = 1u << 0,    /* -c --resolver --trust-anchor --ca-file --allow-private --timeout */
    CLI_OPT_JSON = 1u << 1,   /* --json */
    CLI_OPT_STORE = 1u << 2,  /* -c --store */
    CLI_OPT_ALL = 1u << 3,    /* --all */
    CLI_OPT_REPORT = 1u << 4, /* --day --domain --out */
};

/*
 * The options override single keys of the daemon's configuration file
 * (-c FILE, else $MTASTS_CONFIG, else MTASTS_DEFAULT_CONFIG if it exists;
 * "none": no file), which supplies everything else (cli_config_load()).
 * The tool's waits are its own: --timeout (default CLI_TIMEOUT_DEFAULT)
 * sets DNSTimeout, FetchConnectTimeout, FetchTimeout and ProbeTimeout,
 * each capped at the key's maximum.
 */
struct cli_opts {
    const char *config;                /* -c FILE; NULL: $MTASTS_CONFIG or the default */
    const char *resolver;              /* --resolver: Resolver */
    const char *trust_anchor;          /* --trust-anchor: TrustAnchorFile ("none": no DNSSEC) */
    const char *trust_anchor_fallback; /* used when neither flag nor file names one */
    const char *ca_file;               /* --ca-file: CAFile */
    const char *store;                 /* --store, else $MTASTS_STORE: Store */
    bool allow_private;
    bool json;
    bool all;
    const char *day;    /* --day YYYY-MM-DD */
    const char *domain; /* --domain DOMAIN */
    const char *out;    /* --out DIR */
    unsigned timeout_s;
    int npos;                      /* positional arguments seen (may exceed the array) */
    char *pos[CLI_POSITIONAL_MAX]; /* the first CLI_POSITIONAL_MAX of them */
};

/**
 * Parse the options of a subcommand ("--name value" or "--name=value";
 * "--" ends the options; "-" is a positional argument).
 * @param cmd     the subcommand's name, for messages ("fetch", "cache list")
 * @param allowed the cli_opt_set bits this subcommand accepts
 * @return CLI_OK, or CLI_USAGE after printing the usage error
 */
int cli_opts_parse(int argc, char **argv, const char *cmd, unsigned allowed, struct cli_opts *o);

/**
 * Normalise a DOMAIN argument (sts_domain_normalize()).
 * @return CLI_OK, or CLI_USAGE after printing why
 */
int cli_domain_arg(const char *arg, char out[STS_DOMAIN_MAX + 1]);

/**
 * The configuration of one run: the daemon's file (see struct cli_opts)
 * with the options' keys replaced.
 * @param out receives a snapshot holding one reference
 * @return CLI_OK, or CLI_ERROR after printing why ("FILE:LINE: reason",
 *         or the option whose value the key refuses)
 */
int cli_config_load(const struct cli_opts *o, struct sts_config **out);

/**
 * Open the store the configuration names (or --store) for the verbs that
 * need no more; *cfg_out (unless NULL) receives the configuration (unref it).
 * @return CLI_OK, or CLI_ERROR after printing why
 */
int cli_store_open(const struct cli_opts *o, struct sts_config **cfg_out, struct sts_store **store);

/** The engine of one run (engine.h) and what the tool reads from it. */
struct cli_net {
    struct sts_engine *engine;
    const struct sts_config *cfg; /* the engine's configuration */
    struct sts_dns *dns;          /* the engine's resolver */
    struct sts_fetch_config fetch;
};

/**
 * Build the engine of one run from the configuration (cli_config_load()),
 * without background refreshers.
 * @param flags STS_ENGINE_NO_STORE for the live checks (fetch, check),
 *              which neither read nor write the cache
 * @return CLI_OK, or CLI_ERROR after printing why
 */
int cli_net_open(const struct cli_opts *o, unsigned flags, struct cli_net *net);

/** Free the engine; safe on a zeroed or closed struct. */
void cli_net_close(struct cli_net *net);

/**
 * Copy a one-line message from another module (a resolver's or libcurl's
 * reason, already escaped there) for printing: stops at NUL or inmax
 * bytes, turns control and non-ASCII bytes into '?', truncates to fit.
 * @return out
 */
const char *cli_sanitize(const char *in, size_t inmax, char *out, size_t outlen);

/** Milliseconds on the monotonic clock. */
double cli_now_ms(void);

/**
 * A sentence for a DNS answer that is not a plain ANSWER, e.g.
 * "_mta-sts.example.com does not exist (NXDOMAIN)".
 * @param what "TXT", "MX", ... for the NODATA wording
 */
void cli_explain_dns(const struct sts_dns_answer *ans, const char *name, const char *what,
                     char *buf, size_t len);

/**
 * A sentence for a failed policy fetch that a postmaster understands:
 * which certificate problem, which HTTP status, the SSRF guard, ...
 */
void cli_explain_fetch(const struct sts_fetch_response *resp, const char *domain,
                       unsigned timeout_s, char *buf, size_t len);

/** The policy as a JSON object {version, mode, max_age, mx[]}; the caller owns it. */
json_object *cli_policy_json(const struct sts_policy *p);

/** A JSON string from untrusted bytes (non-printable bytes escaped as \xNN). */
json_object *cli_json_quoted(const char *s, size_t len);

/** Print a JSON value on one line to stdout, and release it. */
void cli_json_print(json_object *obj);

/**
 * Print the policy in canonical form (sts_policy_format()) to stdout.
 * @return 0, or -1 if out of memory (message printed)
 */
int cli_policy_print(const struct sts_policy *p);

/** "3d4h", "59m", "12s": a duration in its two largest units. */
void cli_duration(int64_t seconds, char *buf, size_t len);

#endif
