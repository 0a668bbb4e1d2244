/*
 * cli_common.c - option parsing, network set-up and plain-words
 * explanations shared by "mtasts fetch", "mtasts check" and
 * "mtasts cache".
 */
#include "cli_common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli.h"
#include "mtasts/addr_guard.h"
#include "mtasts/clock.h"
#include "mtasts/status.h"

static const char usage_text[] =
    "usage: mtasts lint policy [--json] FILE|-\n"
    "       mtasts lint txt RECORD...\n"
    "       mtasts lint tlsrpt [--json] RECORD...\n"
    "       mtasts mx-match PATTERN HOSTNAME\n"
    "       mtasts fetch [-c FILE] [NETWORK-OPTIONS] [--json] DOMAIN\n"
    "       mtasts check [-c FILE] [NETWORK-OPTIONS] [--port N] [--no-tls] [--json] DOMAIN\n"
    "       mtasts cache list [-c FILE] [--store SPEC] [--json]\n"
    "       mtasts cache show [-c FILE] [--store SPEC] [--json] DOMAIN\n"
    "       mtasts cache probes [-c FILE] [--store SPEC] [--json]\n"
    "       mtasts cache purge [-c FILE] [--store SPEC] [--probes] DOMAIN|HOST|--all\n"
    "       mtasts cache prewarm [-c FILE] [--store SPEC] [NETWORK-OPTIONS] [--json] FILE|-\n"
    "       mtasts query [-c FILE] [--store SPEC] [NETWORK-OPTIONS] KEY\n"
    "       mtasts stats [-c FILE] [--json] [--all] [SOCKET]\n"
    "       mtasts report show [-c FILE] [--store SPEC] [--day DAY] [--domain DOMAIN] [--json]\n"
    "       mtasts report build [-c FILE] [--store SPEC] --day DAY [--domain DOMAIN] [--out DIR]\n"
    "       mtasts --version | --help\n"
    "-c FILE: the daemon's mtasts-milter.conf (default " MTASTS_DEFAULT_CONFIG " if present,\n"
    "         or $MTASTS_CONFIG; none: the defaults); the options override its keys\n"
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

void cli_usage_print(FILE *f)
{
    fputs(usage_text, f);
}

struct opt_def {
    const char *name;
    unsigned set;
    bool takes_value;
};

static const struct opt_def opt_defs[] = {
    {"-c", CLI_OPT_NET | CLI_OPT_STORE, true}, {"--config", CLI_OPT_NET | CLI_OPT_STORE, true},
    {"--resolver", CLI_OPT_NET, true},         {"--trust-anchor", CLI_OPT_NET, true},
    {"--ca-file", CLI_OPT_NET, true},          {"--allow-private", CLI_OPT_NET, false},
    {"--timeout", CLI_OPT_NET, true},          {"--json", CLI_OPT_JSON, false},
    {"--store", CLI_OPT_STORE, true},          {"--all", CLI_OPT_ALL, false},
    {"--day", CLI_OPT_REPORT, true},           {"--domain", CLI_OPT_REPORT, true},
    {"--out", CLI_OPT_REPORT, true},
};

static int parse_timeout(const char *cmd, const char *val, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(val, &end, 10);
    if (val[0] < '0' || val[0] > '9' || *end != '\0' || errno != 0 || v < 1 || v > CLI_TIMEOUT_MAX)
        return cli_usage_error("%s: --timeout takes whole seconds from 1 to %u, not \"%s\"", cmd,
                               CLI_TIMEOUT_MAX, val);
    *out = (unsigned)v;
    return CLI_OK;
}

static int set_option(const struct opt_def *d, const char *cmd, const char *val, struct cli_opts *o)
{
    if (d->takes_value && val[0] == '\0')
        return cli_usage_error("%s: %s needs a value", cmd, d->name);
    if (strcmp(d->name, "-c") == 0 || strcmp(d->name, "--config") == 0)
        o->config = val;
    else if (strcmp(d->name, "--resolver") == 0)
        o->resolver = val;
    else if (strcmp(d->name, "--trust-anchor") == 0)
        o->trust_anchor = val;
    else if (strcmp(d->name, "--ca-file") == 0)
        o->ca_file = val;
    else if (strcmp(d->name, "--allow-private") == 0)
        o->allow_private = true;
    else if (strcmp(d->name, "--timeout") == 0)
        return parse_timeout(cmd, val, &o->timeout_s);
    else if (strcmp(d->name, "--json") == 0)
        o->json = true;
    else if (strcmp(d->name, "--store") == 0)
        o->store = val;
    else if (strcmp(d->name, "--all") == 0)
        o->all = true;
    else if (strcmp(d->name, "--day") == 0)
        o->day = val;
    else if (strcmp(d->name, "--domain") == 0)
        o->domain = val;
    else if (strcmp(d->name, "--out") == 0)
        o->out = val;
    return CLI_OK;
}

static const struct opt_def *find_option(const char *arg, size_t namelen)
{
    for (size_t i = 0; i < sizeof(opt_defs) / sizeof(opt_defs[0]); i++)
        if (strlen(opt_defs[i].name) == namelen && strncmp(opt_defs[i].name, arg, namelen) == 0)
            return &opt_defs[i];
    return NULL;
}

int cli_opts_parse(int argc, char **argv, const char *cmd, unsigned allowed, struct cli_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->timeout_s = CLI_TIMEOUT_DEFAULT;
    bool options_done = false;
    for (int i = 0; i < argc; i++) {
        char *arg = argv[i];
        if (options_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (o->npos < CLI_POSITIONAL_MAX)
                o->pos[o->npos] = arg;
            o->npos++;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        const char *eq = strchr(arg, '=');
        size_t namelen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
        const struct opt_def *d = find_option(arg, namelen);
        if (d == NULL || (d->set & allowed) == 0)
            return cli_usage_error("%s: unknown option \"%.*s\"", cmd, (int)namelen, arg);
        const char *val = "";
        if (d->takes_value) {
            if (eq != NULL)
                val = eq + 1;
            else if (i + 1 < argc)
                val = argv[++i];
            else
                return cli_usage_error("%s: %s needs a value", cmd, d->name);
        } else if (eq != NULL) {
            return cli_usage_error("%s: %s takes no value", cmd, d->name);
        }
        int rc = set_option(d, cmd, val, o);
        if (rc != CLI_OK)
            return rc;
    }
    if (o->store == NULL) {
        const char *env = getenv(CLI_STORE_ENV);
        o->store = env != NULL && env[0] != '\0' ? env : NULL;
    }
    if (o->config == NULL) {
        const char *env = getenv(CLI_CONFIG_ENV);
        o->config = env != NULL && env[0] != '\0' ? env : NULL;
    }
    return CLI_OK;
}

int cli_domain_arg(const char *arg, char out[STS_DOMAIN_MAX + 1])
{
    char err[160];
    if (sts_domain_normalize(arg, out, STS_DOMAIN_MAX + 1, err, sizeof(err)) != STS_OK) {
        char q[128];
        return cli_usage_error("invalid domain \"%s\": %s",
                               sts_status_quote(arg, strlen(arg), q, sizeof(q)), err);
    }
    return CLI_OK;
}

/* ------------------------------------------------------ configuration */

/* The keys an option replaces, "Name value" lines appended to the file's. */
struct overlay {
    size_t n;
    struct {
        const char *key, *flag;
        char value[4096];
    } item[12];
};

static void overlay_add(struct overlay *ov, const char *key, const char *flag, const char *value)
{
    if (ov->n < sizeof(ov->item) / sizeof(ov->item[0])) {
        ov->item[ov->n].key = key;
        ov->item[ov->n].flag = flag;
        snprintf(ov->item[ov->n].value, sizeof(ov->item[0].value), "%s", value);
        ov->n++;
    }
}

/* --timeout for a duration key in milliseconds, capped at the key's maximum. */
static void overlay_timeout(struct overlay *ov, const char *key, unsigned seconds)
{
    const struct sts_config_key *k = sts_config_key_find(key);
    unsigned long long ms = (unsigned long long)seconds * 1000u;
    if (k != NULL && k->max > 0 && ms > k->max)
        ms = k->max;
    char v[32];
    snprintf(v, sizeof(v), "%llums", ms);
    overlay_add(ov, key, "--timeout", v);
}

static bool overlay_has(const struct overlay *ov, const char *line, size_t len)
{
    size_t i = 0, w;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    for (w = i; w < len && line[w] != ' ' && line[w] != '\t' && line[w] != '\r'; w++)
        ;
    for (size_t k = 0; k < ov->n; k++)
        if (strlen(ov->item[k].key) == w - i && strncasecmp(line + i, ov->item[k].key, w - i) == 0)
            return true;
    return false;
}

/* The file's text ("" for none), or NULL after printing why. */
static char *read_config_text(const char *path, bool must_exist, size_t *len)
{
    *len = 0;
    FILE *f = path != NULL ? fopen(path, "r") : NULL;
    if (f == NULL) {
        if (path != NULL && (must_exist || errno != ENOENT)) {
            cli_error("cannot read the configuration %s: %s", path, strerror(errno));
            return NULL;
        }
        return calloc(1, 1);
    }
    char *text = malloc(STS_CONFIG_FILE_MAX + 2);
    size_t n = text != NULL ? fread(text, 1, STS_CONFIG_FILE_MAX + 1, f) : 0;
    bool bad = text == NULL || ferror(f) || n > STS_CONFIG_FILE_MAX;
    fclose(f);
    if (bad) {
        cli_error("cannot read the configuration %s: %s", path,
                  text == NULL ? "out of memory" : "unreadable or larger than 1 MiB");
        free(text);
        return NULL;
    }
    text[n] = '\0';
    *len = n;
    return text;
}

int cli_config_load(const struct cli_opts *o, struct sts_config **out)
{
    struct overlay ov = {0};
    if (o->resolver != NULL)
        overlay_add(&ov, "Resolver", "--resolver", o->resolver);
    if (o->trust_anchor != NULL)
        overlay_add(&ov, "TrustAnchorFile", "--trust-anchor",
                    strcmp(o->trust_anchor, "none") == 0 ? "" : o->trust_anchor);
    if (o->ca_file != NULL)
        overlay_add(&ov, "CAFile", "--ca-file", o->ca_file);
    if (o->store != NULL)
        overlay_add(&ov, "Store", "--store", o->store);
    if (o->allow_private)
        overlay_add(&ov, "AllowPrivateTargets", "--allow-private", "yes");
    overlay_timeout(&ov, "DNSTimeout", o->timeout_s);
    overlay_timeout(&ov, "FetchConnectTimeout", o->timeout_s);
    overlay_timeout(&ov, "FetchTimeout", o->timeout_s);
    overlay_timeout(&ov, "ProbeTimeout", o->timeout_s);

    /* Each option's keys alone first, so that an error names the option. */
    char err[512], one[4 * 4200];
    for (size_t i = 0; i < ov.n; i++) {
        if (i > 0 && ov.item[i].flag == ov.item[i - 1].flag)
            continue; /* one option's keys are consecutive: checked together */
        size_t len = 0;
        for (size_t k = i; k < ov.n && ov.item[k].flag == ov.item[i].flag; k++)
            len += (size_t)snprintf(one + len, sizeof(one) - len, "%s %s\n", ov.item[k].key,
                                    ov.item[k].value);
        struct sts_config *c;
        if (sts_config_parse(one, len, ov.item[i].flag, &c, err, sizeof(err)) != STS_OK)
            return cli_usage_error("%s", err);
        sts_config_unref(c);
    }

    bool explicit = o->config != NULL && strcmp(o->config, "none") != 0;
    const char *path = o->config == NULL ? MTASTS_DEFAULT_CONFIG : explicit ? o->config : NULL;
    size_t len;
    char *text = read_config_text(path, explicit, &len);
    if (text == NULL)
        return CLI_ERROR;
    /* Blank the lines of the replaced keys (line numbers stay), then append. */
    size_t cap = len + ov.n * 4200 + 1;
    char *all = malloc(cap);
    if (all == NULL) {
        free(text);
        cli_error("out of memory");
        return CLI_ERROR;
    }
    size_t o_len = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t l = nl != NULL ? (size_t)(nl - (text + i)) : len - i;
        if (!overlay_has(&ov, text + i, l)) {
            memcpy(all + o_len, text + i, l);
            o_len += l;
        }
        if (nl != NULL)
            all[o_len++] = '\n';
        i += l + (nl != NULL);
    }
    if (o_len > 0 && all[o_len - 1] != '\n')
        all[o_len++] = '\n';
    for (size_t i = 0; i < ov.n; i++)
        o_len +=
            (size_t)snprintf(all + o_len, cap - o_len, "%s %s\n", ov.item[i].key, ov.item[i].value);
    free(text);
    enum sts_status st =
        sts_config_parse(all, o_len, path != NULL ? path : "(defaults)", out, err, sizeof(err));
    free(all);
    if (st != STS_OK) {
        cli_error("%s", err);
        return CLI_ERROR;
    }
    return CLI_OK;
}

int cli_net_open(const struct cli_opts *o, unsigned flags, struct cli_net *net)
{
    memset(net, 0, sizeof(*net));
    struct sts_config *cfg;
    int rc = cli_config_load(o, &cfg);
    if (rc != CLI_OK)
        return rc;
    if (cfg->trust_anchor_file == NULL && o->trust_anchor == NULL &&
        o->trust_anchor_fallback != NULL) {
        struct cli_opts with = *o;
        with.trust_anchor = o->trust_anchor_fallback;
        sts_config_unref(cfg);
        if ((rc = cli_config_load(&with, &cfg)) != CLI_OK)
            return rc;
    }
    char err[512];
    if (sts_engine_new(cfg, NULL, flags | STS_ENGINE_ONE_SHOT, &net->engine, err, sizeof(err)) !=
        STS_OK) {
        cli_error("cannot set up: %s", err);
        return CLI_ERROR;
    }
    net->cfg = sts_engine_config(net->engine);
    net->dns = sts_engine_dns(net->engine);
    net->fetch.ca_file = net->cfg->ca_file;
    net->fetch.connect_timeout_ms = net->cfg->fetch_connect_timeout_ms;
    net->fetch.total_timeout_ms = net->cfg->fetch_timeout_ms;
    net->fetch.port = net->cfg->policy_port;
    net->fetch.allow_private = net->cfg->allow_private_targets;
    return CLI_OK;
}

void cli_net_close(struct cli_net *net)
{
    sts_engine_free(net->engine);
    memset(net, 0, sizeof(*net));
}

const char *cli_sanitize(const char *in, size_t inmax, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < inmax && in[i] != '\0' && o + 1 < outlen; i++) {
        unsigned char c = (unsigned char)in[i];
        out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (outlen > 0)
        out[o] = '\0';
    return out;
}

double cli_now_ms(void)
{
    return sts_clock_mono_msf();
}

void cli_explain_dns(const struct sts_dns_answer *ans, const char *name, const char *what,
                     char *buf, size_t len)
{
    char why[160] = "";
    if (ans->why[0] != '\0') {
        char q[140];
        snprintf(why, sizeof(why), ": %s", cli_sanitize(ans->why, sizeof(ans->why), q, sizeof(q)));
    }
    switch (ans->result) {
    case STS_DNS_ANSWER:
        snprintf(buf, len, "%s has %zu %s record%s", name, ans->count, what,
                 ans->count == 1 ? "" : "s");
        break;
    case STS_DNS_NXDOMAIN:
        snprintf(buf, len, "%s does not exist (NXDOMAIN)", name);
        break;
    case STS_DNS_NODATA:
        snprintf(buf, len, "%s has no %s record", name, what);
        break;
    case STS_DNS_SERVFAIL:
        if (ans->dnssec == STS_DNSSEC_BOGUS)
            snprintf(buf, len, "DNSSEC validation of %s failed (bogus)%s", name, why);
        else
            snprintf(buf, len, "the DNS lookup of %s failed (SERVFAIL)%s", name, why);
        break;
    case STS_DNS_TIMEOUT:
        snprintf(buf, len, "the DNS lookup of %s timed out", name);
        break;
    case STS_DNS_ERROR:
    default:
        snprintf(buf, len, "the DNS lookup of %s failed locally%s", name, why);
        break;
    }
}

/* Does the (ASCII) haystack contain any of the needles, ignoring case? */
static bool contains_any(const char *hay, const char *const *needles)
{
    for (; *needles != NULL; needles++) {
        size_t n = strlen(*needles);
        for (const char *p = hay; *p != '\0'; p++)
            if (strncasecmp(p, *needles, n) == 0)
                return true;
    }
    return false;
}

/*
 * libcurl reports certificate problems only as text (OpenSSL's verify
 * error string, or curl's own host name check), so the kind of problem
 * is recognised from the words; anything else is shown as it is.
 */
static void explain_tls(const char *host, const char *detail, char *buf, size_t len)
{
    static const char *const name_words[] = {"subject name", "host name", "hostname",
                                             "does not match", NULL};
    static const char *const expired_words[] = {"expired", NULL};
    static const char *const notyet_words[] = {"not yet valid", NULL};
    static const char *const untrusted_words[] = {
        "self-signed",          "self signed", "local issuer",     "unknown ca",
        "unable to get issuer", "untrusted",   "unable to verify", NULL};
    static const char *const revoked_words[] = {"revoked", NULL};

    if (contains_any(detail, name_words))
        snprintf(buf, len,
                 "the HTTPS certificate is not valid for %s (the name must be in the "
                 "certificate's subjectAltName)",
                 host);
    else if (contains_any(detail, expired_words))
        snprintf(buf, len, "the HTTPS certificate of %s has expired", host);
    else if (contains_any(detail, notyet_words))
        snprintf(buf, len, "the HTTPS certificate of %s is not valid yet", host);
    else if (contains_any(detail, revoked_words))
        snprintf(buf, len, "the HTTPS certificate of %s has been revoked", host);
    else if (contains_any(detail, untrusted_words))
        snprintf(buf, len,
                 "the HTTPS certificate of %s is not trusted (self-signed, not issued by a "
                 "known certificate authority, or the intermediate certificates are missing)",
                 host);
    else
        snprintf(buf, len, "the TLS handshake with %s failed", host);
}

void cli_explain_fetch(const struct sts_fetch_response *resp, const char *domain,
                       unsigned timeout_s, char *buf, size_t len)
{
    static const char *const dns_failed_words[] = {"timeout", "servfail", "bogus", "error", NULL};
    char host[STS_DOMAIN_MAX + 16];
    char detail[300];
    char what[512];
    snprintf(host, sizeof(host), "mta-sts.%s", domain);
    cli_sanitize(resp->detail, sizeof(resp->detail), detail, sizeof(detail));
    const char *url_tail = "/.well-known/mta-sts.txt";

    switch (resp->result) {
    case STS_FETCH_OK:
        snprintf(what, sizeof(what), "the policy was fetched (HTTP %ld)", resp->http_status);
        break;
    case STS_FETCH_DNS:
        if (contains_any(resp->detail, dns_failed_words))
            snprintf(what, sizeof(what), "the DNS lookup of %s failed", host);
        else
            snprintf(what, sizeof(what),
                     "%s does not resolve to an address (publish an A or AAAA record)", host);
        break;
    case STS_FETCH_REFUSED:
        snprintf(what, sizeof(what),
                 "%s resolves to %s (%s address): refused, policies are fetched only from "
                 "public addresses (--allow-private lifts this for tests)",
                 host, resp->addr[0] != '\0' ? resp->addr : "an address",
                 sts_addr_guard_class_name(sts_addr_guard_classify(resp->addr)));
        break;
    case STS_FETCH_CONNECT:
        snprintf(what, sizeof(what), "could not connect to %s%s%s on port 443", host,
                 resp->addr[0] != '\0' ? " at " : "", resp->addr);
        break;
    case STS_FETCH_TLS:
        explain_tls(host, resp->detail, what, sizeof(what));
        break;
    case STS_FETCH_TIMEOUT:
        snprintf(what, sizeof(what), "%s did not send the policy within %u seconds", host,
                 timeout_s);
        break;
    case STS_FETCH_HTTP:
        if (resp->http_status >= 300 && resp->http_status < 400)
            snprintf(what, sizeof(what),
                     "the server answered with a redirect (HTTP %ld); RFC 8461 forbids "
                     "redirects: serve the policy directly at https://%s%s",
                     resp->http_status, host, url_tail);
        else if (resp->http_status == 404)
            snprintf(what, sizeof(what),
                     "there is no policy file at https://%s%s (HTTP 404 not found)", host,
                     url_tail);
        else
            snprintf(what, sizeof(what),
                     "the server answered HTTP %ld instead of 200 for https://%s%s",
                     resp->http_status, host, url_tail);
        break;
    case STS_FETCH_MEDIA_TYPE:
        snprintf(what, sizeof(what),
                 "the policy is served with the wrong media type: it must be text/plain");
        break;
    case STS_FETCH_TOO_BIG:
        snprintf(what, sizeof(what), "the policy file is too large (more than %d bytes)",
                 STS_POLICY_BODY_MAX);
        break;
    case STS_FETCH_ERROR:
    default:
        snprintf(what, sizeof(what), "the policy fetch from %s failed", host);
        break;
    }
    if (resp->result != STS_FETCH_OK && detail[0] != '\0')
        snprintf(buf, len, "%s [%s]", what, detail);
    else
        snprintf(buf, len, "%s", what);
}

json_object *cli_policy_json(const struct sts_policy *p)
{
    json_object *obj = json_object_new_object();
    json_object *mx = json_object_new_array();
    for (size_t i = 0; i < p->mx_count; i++)
        json_object_array_add(mx, json_object_new_string(p->mx[i]));
    json_object_object_add(obj, "version", json_object_new_string("STSv1"));
    json_object_object_add(obj, "mode", json_object_new_string(sts_mode_name(p->mode)));
    json_object_object_add(obj, "max_age", json_object_new_int64(p->max_age));
    json_object_object_add(obj, "mx", mx);
    return obj;
}

json_object *cli_json_quoted(const char *s, size_t len)
{
    char q[1200];
    return json_object_new_string(sts_status_quote(s, len, q, sizeof(q)));
}

void cli_json_print(json_object *obj)
{
    puts(json_object_to_json_string_ext(obj,
                                        JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(obj);
}

int cli_policy_print(const struct sts_policy *p)
{
    size_t need = sts_policy_format(p, NULL, 0);
    char *buf = malloc(need + 1);
    if (buf == NULL) {
        cli_error("out of memory");
        return -1;
    }
    sts_policy_format(p, buf, need + 1);
    fputs(buf, stdout);
    free(buf);
    return 0;
}

void cli_duration(int64_t s, char *buf, size_t len)
{
    static const struct {
        int64_t secs;
        char unit;
    } units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
    if (s < 0)
        s = -s;
    for (size_t i = 0; i < 4; i++) {
        if (s >= units[i].secs || i == 3) {
            int64_t a = s / units[i].secs, rest = s % units[i].secs;
            if (i < 3 && rest >= units[i + 1].secs)
                snprintf(buf, len, "%lld%c%lld%c", (long long)a, units[i].unit,
                         (long long)(rest / units[i + 1].secs), units[i + 1].unit);
            else
                snprintf(buf, len, "%lld%c", (long long)a, units[i].unit);
            return;
        }
    }
}

int cli_store_open(const struct cli_opts *o, struct sts_config **cfg_out, struct sts_store **store)
{
    char err[256];
    struct sts_config *cfg;
    int rc = cli_config_load(o, &cfg);
    if (rc != CLI_OK)
        return rc;
    if (sts_store_open(cfg->store, store, err, sizeof(err)) != STS_OK) {
        cli_error("cannot open the store \"%s\": %s", cfg->store, err);
        rc = CLI_ERROR;
    }
    if (rc == CLI_OK && cfg_out != NULL)
        *cfg_out = cfg;
    else
        sts_config_unref(cfg);
    return rc;
}
