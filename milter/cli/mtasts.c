/*
 * mtasts.c - entry point of the mtasts(1) tool: option parsing and
 * dispatch to the subcommands in cli_*.c.
 */
#include "build-config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage_text[] =
    "usage: mtasts lint policy [--json] FILE|-\n"
    "       mtasts lint txt RECORD...\n"
    "       mtasts lint tlsrpt [--json] RECORD...\n"
    "       mtasts mx-match PATTERN HOSTNAME\n"
    "       mtasts fetch [NETWORK-OPTIONS] [--json] DOMAIN\n"
    "       mtasts check [NETWORK-OPTIONS] [--port N] [--no-tls] [--json] DOMAIN\n"
    "       mtasts cache list [--store SPEC] [--json]\n"
    "       mtasts cache show [--store SPEC] [--json] DOMAIN\n"
    "       mtasts cache probes [--store SPEC] [--json]\n"
    "       mtasts cache purge [--store SPEC] [--probes] DOMAIN|HOST|--all\n"
    "       mtasts cache prewarm [--store SPEC] [NETWORK-OPTIONS] [--json] FILE|-\n"
    "       mtasts query [--store SPEC] [NETWORK-OPTIONS] KEY\n"
    "       mtasts --version | --help\n"
    "NETWORK-OPTIONS: --resolver \"ADDR[@PORT] ...\" --trust-anchor FILE --ca-file FILE\n"
    "                 --allow-private --timeout SECONDS\n";

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mtasts: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mtasts: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fputs(usage_text, stderr);
    return CLI_USAGE;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("no command given");

    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage_text, stdout);
        return CLI_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        printf("mtasts (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
        return CLI_OK;
    }
    if (strcmp(cmd, "lint") == 0)
        return cli_lint(argc - 2, argv + 2);
    if (strcmp(cmd, "mx-match") == 0)
        return cli_mx_match(argc - 2, argv + 2);
    if (strcmp(cmd, "fetch") == 0)
        return cli_fetch(argc - 2, argv + 2);
    if (strcmp(cmd, "check") == 0)
        return cli_check(argc - 2, argv + 2);
    if (strcmp(cmd, "cache") == 0)
        return cli_cache(argc - 2, argv + 2);
    if (strcmp(cmd, "query") == 0)
        return cli_query(argc - 2, argv + 2);
    return cli_usage_error("unknown command \"%s\"", cmd);
}
