/*
 * mtasts.c - entry point of the mtasts(1) tool: option parsing and
 * dispatch to the subcommands in cli_*.c.
 */
#include "build-config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("no command given");

    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        cli_usage_print(stdout);
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
    if (strcmp(cmd, "stats") == 0)
        return cli_stats(argc - 2, argv + 2);
    if (strcmp(cmd, "report") == 0)
        return cli_report(argc - 2, argv + 2);
    return cli_usage_error("unknown command \"%s\"", cmd);
}
