/*
 * cli.h - subcommands of the mtasts(1) tool, one function each.
 *
 * Each takes the arguments after its own name and returns the process
 * exit status: CLI_OK, CLI_FAIL (the thing checked is invalid or absent),
 * CLI_USAGE, or CLI_ERROR (fetch: discovery failed or what is published
 * is broken; every command: the resolver or the store cannot be used).
 */
#ifndef MTASTS_CLI_H
#define MTASTS_CLI_H

#include <stdio.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_ERROR = 3 };

/** Print a one-line message prefixed with "mtasts: " to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Print the message and the usage summary to stderr and return CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Print the usage summary (--help: stdout). */
void cli_usage_print(FILE *f);

int cli_lint(int argc, char **argv);
int cli_mx_match(int argc, char **argv);

/** "mtasts fetch DOMAIN": live discovery, no cache (cli_fetch.c). */
int cli_fetch(int argc, char **argv);
/** "mtasts check DOMAIN": deployment report for the domain's owner, MX TLS included (cli_check.c).
 */
int cli_check(int argc, char **argv);
/** "mtasts cache list|show|purge|prewarm" (cli_cache.c). */
int cli_cache(int argc, char **argv);
/** "mtasts query KEY": what the socketmap server would answer (cli_query.c). */
int cli_query(int argc, char **argv);
/** "mtasts stats [SOCKET]": the daemon's metrics, scraped from its Metrics listener (cli_stats.c).
 */
int cli_stats(int argc, char **argv);
/** "mtasts report show|build": the TLS-RPT results and reports (cli_report.c). */
int cli_report(int argc, char **argv);

#endif
