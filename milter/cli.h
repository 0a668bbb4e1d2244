/*
 * cli.h - subcommands of the mtasts(1) tool, one function each.
 *
 * Each takes the arguments after its own name and returns the process
 * exit status: CLI_OK, CLI_FAIL (the thing checked is invalid or absent)
 * or CLI_USAGE.
 */
#ifndef MTASTS_CLI_H
#define MTASTS_CLI_H

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/** Print a one-line message prefixed with "mtasts: " to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Print the usage summary to stderr and return CLI_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cli_lint(int argc, char **argv);
int cli_mx_match(int argc, char **argv);

#endif
