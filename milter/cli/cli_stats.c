/*
 * cli_stats.c - "mtasts stats [SOCKET]": the running daemon's metrics,
 * for sites without Prometheus.  It scrapes the daemon's own Metrics
 * listener (mtasts-milter.conf(5), read as the other subcommands read
 * it; a SOCKET argument overrides the key), so it prints exactly what a
 * Prometheus server would collect: "name{labels} value" lines (the text
 * format without its comments, zero values left out unless --all) or,
 * with --json, the responder's JSON rendering as is.
 *
 * The exchange is bounded: the connect, the request and the reply share
 * one deadline (CLI_TIMEOUT_DEFAULT seconds), and a reply over
 * STATS_REPLY_MAX bytes is refused.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "cli_common.h"

#define STATS_REPLY_MAX (4u * 1024 * 1024)

/* Connect to a socket spec as the daemon reads it (listener.h); -1 on failure. */
static int stats_connect(const char *spec, char *why, size_t whylen)
{
    int fd = -1;
    if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
        const char *path = strchr(spec, ':') + 1;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path)) {
            snprintf(why, whylen, "socket path too long");
            return -1;
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
            snprintf(why, whylen, "%s: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        return fd;
    }
    bool v6 = strncmp(spec, "inet6:", 6) == 0;
    if (!v6 && strncmp(spec, "inet:", 5) != 0) {
        snprintf(why, whylen, "want unix:PATH, inet:PORT[@HOST] or inet6:PORT[@HOST]");
        return -1;
    }
    char port[8], host[256];
    const char *rest = spec + (v6 ? 6 : 5), *at = strchr(rest, '@');
    size_t plen = at != NULL ? (size_t)(at - rest) : strlen(rest);
    const char *h = at != NULL ? at + 1 : (v6 ? "::1" : "127.0.0.1");
    size_t hlen = strlen(h);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (plen == 0 || plen >= sizeof(port) || hlen == 0 || hlen >= sizeof(host)) {
        snprintf(why, whylen, "bad socket \"%s\"", spec);
        return -1;
    }
    memcpy(port, rest, plen);
    port[plen] = '\0';
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    struct addrinfo hints = {.ai_family = v6 ? AF_INET6 : AF_INET, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(why, whylen, "%s: %s", host, gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(why, whylen, "%s port %s: %s", host, port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Send the request and read the whole reply within timeout_ms; NULL on failure. */
static char *stats_exchange(int fd, bool json, unsigned timeout_ms, size_t *len, char *why,
                            size_t whylen)
{
    char req[160];
    int n =
        snprintf(req, sizeof(req), "GET /metrics HTTP/1.0\r\nHost: localhost\r\nAccept: %s\r\n\r\n",
                 json ? "application/json" : "text/plain");
    double end = cli_now_ms() + timeout_ms;
    if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
        snprintf(why, whylen, "send: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 65536, got = 0;
    char *buf = malloc(cap + 1);
    while (buf != NULL) {
        double left = end - cli_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left + 1) == 0) {
            snprintf(why, whylen, "no complete reply within %u s", timeout_ms / 1000);
            break;
        }
        if (got == cap) {
            char *grown = cap < STATS_REPLY_MAX ? realloc(buf, cap * 2 + 1) : NULL;
            if (grown == NULL) {
                snprintf(why, whylen, "reply over %u bytes", STATS_REPLY_MAX);
                break;
            }
            buf = grown;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(why, whylen, "read: %s", strerror(errno));
            break;
        }
        if (r == 0) {
            buf[got] = '\0';
            *len = got;
            return buf;
        }
        got += (size_t)r;
    }
    free(buf);
    return NULL;
}

/* The text format less its comments (and its zeros unless all). */
static void stats_print_text(const char *body, bool all)
{
    const char *p = body;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
        size_t v = n;
        while (v > 0 && p[v - 1] != ' ')
            v--;
        bool zero = v > 0 && strtod(p + v, NULL) == 0.0; /* "... 0", "... 0.000000000" */
        if (n > 0 && p[0] != '#' && (all || !zero))
            printf("%.*s\n", (int)n, p);
        p += n + (nl != NULL);
    }
}

int cli_stats(int argc, char **argv)
{
    struct cli_opts o;
    int rc = cli_opts_parse(argc, argv, "stats", CLI_OPT_STORE | CLI_OPT_JSON | CLI_OPT_ALL, &o);
    if (rc != CLI_OK)
        return rc;
    if (o.npos > 1)
        return cli_usage_error("stats takes at most one SOCKET");
    struct sts_config *cfg = NULL;
    const char *spec = o.npos == 1 ? o.pos[0] : NULL;
    if (spec == NULL) {
        if ((rc = cli_config_load(&o, &cfg)) != CLI_OK)
            return rc;
        spec = cfg->metrics;
        if (spec == NULL) {
            cli_error("stats: %s sets no Metrics listener (and no SOCKET was given)", cfg->file);
            sts_config_free(cfg);
            return CLI_ERROR;
        }
    }
    char why[512];
    size_t len = 0;
    char *reply = NULL;
    int fd = stats_connect(spec, why, sizeof(why));
    if (fd >= 0) {
        reply = stats_exchange(fd, o.json, CLI_TIMEOUT_DEFAULT * 1000u, &len, why, sizeof(why));
        close(fd);
    }
    rc = CLI_ERROR;
    char *body = reply != NULL ? strstr(reply, "\r\n\r\n") : NULL;
    if (fd < 0 || reply == NULL)
        cli_error("stats: %s: %s", spec, why);
    else if (strncmp(reply, "HTTP/1.0 200 ", 13) != 0 || body == NULL)
        cli_error("stats: %s: unexpected reply \"%.40s\"", spec, reply);
    else
        rc = CLI_OK;
    if (rc == CLI_OK && o.json)
        fputs(body + 4, stdout);
    else if (rc == CLI_OK)
        stats_print_text(body + 4, o.all);
    free(reply);
    sts_config_free(cfg);
    return rc;
}
