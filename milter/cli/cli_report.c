/*
 * cli_report.c - "mtasts report show|build": the TLS-RPT results the
 * milter counted (store.h, tlsrpt_agg.h) and the RFC 8460 reports made
 * of them (tlsrpt_assemble.h).
 *
 * show lists the counts per UTC day and policy domain, policy by policy,
 * with their failure details; build makes the report of each (day,
 * domain) of a day and prints its JSON, or with --out DIR writes
 * DIR/<file>.json (indented, for people) and DIR/<file>.json.gz (what is
 * sent), <file> being the RFC 8460 §5.1 name.  Both only read the store;
 * a running milter flushes its counts every 10 seconds.
 *
 * Exit: 0 done; 1 nothing counted for the day/domain asked; 2 usage;
 * 3 the store or the configuration (TLSRPTOrganization, TLSRPTContact)
 * cannot be used, or a file cannot be written.
 */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_common.h"
#include "mtasts/gzip.h"
#include "mtasts/tlsrpt_assemble.h"

/* Load the rows asked for, checking --day and --domain. */
static int load_rows(const struct cli_opts *o, struct sts_config **cfg, struct sts_tlsrpt_batch *b)
{
    char domain[STS_DOMAIN_MAX + 1];
    if (o->day != NULL && sts_tlsrpt_day_parse(o->day, NULL, NULL, 0) != STS_OK)
        return cli_usage_error("report: --day takes a UTC day YYYY-MM-DD, not \"%s\"", o->day);
    if (o->domain != NULL) {
        int rc = cli_domain_arg(o->domain, domain);
        if (rc != CLI_OK)
            return rc;
    }
    struct sts_store *store;
    int rc = cli_store_open(o, cfg, &store);
    if (rc != CLI_OK)
        return rc;
    char err[256];
    size_t bad = 0;
    if (sts_store_tlsrpt_load(store, o->day, o->domain ? domain : NULL, b, &bad, err,
                              sizeof(err)) != STS_OK) {
        cli_error("cannot read the TLS-RPT rows of the store: %s", err);
        rc = CLI_ERROR;
    } else if (bad > 0) {
        cli_error("warning: %zu row(s) of the store could not be read and are left out", bad);
    }
    sts_store_close(store);
    if (rc != CLI_OK) {
        sts_config_unref(*cfg);
        *cfg = NULL;
    }
    return rc;
}

/* The distinct (day, domain) pairs of b, in the order rows came (sorted by the store). */
struct pair {
    const char *day, *domain;
};

static size_t pairs_of(const struct sts_tlsrpt_batch *b, struct pair *out)
{
    size_t n = 0;
    for (size_t i = 0; i < b->count; i++) {
        const struct sts_tlsrpt_row *r = &b->rows[i];
        bool seen = false;
        for (size_t j = 0; j < n && !seen; j++)
            seen = strcmp(out[j].day, r->day) == 0 && strcmp(out[j].domain, r->policy_domain) == 0;
        if (!seen)
            out[n++] = (struct pair){r->day, r->policy_domain};
    }
    return n;
}

static const char *or_dash(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "-";
}

static json_object *row_json(const struct sts_tlsrpt_row *r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "day", json_object_new_string(r->day));
    json_object_object_add(o, "policy-domain", json_object_new_string(r->policy_domain));
    json_object_object_add(o, "policy-type",
                           json_object_new_string(sts_tlsrpt_policy_type_name(r->type)));
    if (!r->detail) {
        json_object_object_add(o, "successful", json_object_new_int64((int64_t)r->ok));
        json_object_object_add(o, "failed", json_object_new_int64((int64_t)r->fail));
        return o;
    }
    json_object_object_add(o, "result-type",
                           json_object_new_string(sts_tlsrpt_result_name(r->result)));
    const struct {
        const char *key, *value;
    } f[] = {{"receiving-mx-hostname", r->receiving_mx_hostname},
             {"receiving-ip", r->receiving_ip},
             {"failure-reason-code", r->failure_reason_code}};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
        if (f[i].value != NULL && f[i].value[0] != '\0')
            json_object_object_add(o, f[i].key, cli_json_quoted(f[i].value, strlen(f[i].value)));
    json_object_object_add(o, "failed-session-count", json_object_new_int64((int64_t)r->count));
    return o;
}

static int report_show(const struct cli_opts *o)
{
    if (o->npos != 0 || o->out != NULL)
        return cli_usage_error("report show takes no arguments and no --out");
    struct sts_config *cfg = NULL;
    struct sts_tlsrpt_batch b = {0};
    int rc = load_rows(o, &cfg, &b);
    if (rc != CLI_OK)
        return rc;
    sts_config_unref(cfg);
    if (o->json) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < b.count; i++)
            json_object_array_add(arr, row_json(&b.rows[i]));
        cli_json_print(arr);
    } else {
        for (size_t i = 0; i < b.count; i++) {
            const struct sts_tlsrpt_row *r = &b.rows[i];
            char q[STS_TLSRPT_TEXT_MAX * 4 + 8];
            if (!r->detail)
                printf("%s %s policy=%s successful=%llu failed=%llu\n", r->day, r->policy_domain,
                       sts_tlsrpt_policy_type_name(r->type), (unsigned long long)r->ok,
                       (unsigned long long)r->fail);
            else
                printf("%s %s policy=%s   result=%s mx=%s ip=%s count=%llu reason=\"%s\"\n", r->day,
                       r->policy_domain, sts_tlsrpt_policy_type_name(r->type),
                       sts_tlsrpt_result_name(r->result), or_dash(r->receiving_mx_hostname),
                       or_dash(r->receiving_ip), (unsigned long long)r->count,
                       cli_sanitize(r->failure_reason_code, strlen(r->failure_reason_code), q,
                                    sizeof(q)));
        }
    }
    rc = b.count > 0 ? CLI_OK : CLI_FAIL;
    if (b.count == 0)
        cli_error("no TLS-RPT results%s%s%s%s", o->day ? " on " : "", o->day ? o->day : "",
                  o->domain ? " for " : "", o->domain ? o->domain : "");
    sts_tlsrpt_batch_clear(&b);
    return rc;
}

/* Write len bytes to DIR/name, replacing it; false after printing why. */
static bool write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
        cli_error("%s/%s: path too long", dir, name);
        return false;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        return false;
    }
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            cli_error("cannot write %s: %s", path, strerror(errno));
            close(fd);
            return false;
        }
        p += w;
        len -= (size_t)w;
    }
    if (close(fd) != 0) {
        cli_error("cannot write %s: %s", path, strerror(errno));
        return false;
    }
    return true;
}

/* One report into DIR: the indented JSON and the gzipped compact JSON. */
static int build_files(const struct cli_opts *o, const struct sts_tlsrpt_batch *b,
                       const struct pair *p, const struct sts_tlsrpt_submitter *who)
{
    char err[256];
    struct sts_tlsrpt_built pretty, compact;
    struct sts_tlsrpt_limits lp = {.pretty = true}, lc = {0};
    if (sts_tlsrpt_assemble(b, p->day, p->domain, who, &lp, &pretty, err, sizeof(err)) != STS_OK) {
        cli_error("report %s %s: %s", p->day, p->domain, err);
        return CLI_ERROR;
    }
    int rc = CLI_ERROR;
    unsigned char *gz = NULL;
    size_t gzlen = 0;
    if (sts_tlsrpt_assemble(b, p->day, p->domain, who, &lc, &compact, err, sizeof(err)) != STS_OK) {
        cli_error("report %s %s: %s", p->day, p->domain, err);
        sts_tlsrpt_built_clear(&pretty);
        return CLI_ERROR;
    }
    if (sts_gzip_compress(compact.json, compact.json_len, 0, STS_TLSRPT_MAX_JSON_BYTES, &gz, &gzlen,
                          err, sizeof(err)) != STS_OK) {
        cli_error("report %s %s: gzip: %s", p->day, p->domain, err);
        goto out;
    }
    /* the RFC 8460 §5.1 name ends in ".json.gz"; the inspection copy drops ".gz" */
    char jsonname[STS_TLSRPT_FILENAME_MAX];
    size_t flen = strlen(compact.filename);
    snprintf(jsonname, sizeof(jsonname), "%.*s", (int)(flen > 3 ? flen - 3 : flen),
             compact.filename);
    if (!write_file(o->out, jsonname, pretty.json, pretty.json_len) ||
        !write_file(o->out, compact.filename, gz, gzlen))
        goto out;
    printf("%s %s report-id=%s file=%s/%s rows=%zu%s\n", p->day, p->domain, compact.report_id,
           o->out, compact.filename, compact.rows_out, compact.truncated ? " truncated" : "");
    rc = CLI_OK;
out:
    free(gz);
    sts_tlsrpt_built_clear(&pretty);
    sts_tlsrpt_built_clear(&compact);
    return rc;
}

static int report_build(const struct cli_opts *o)
{
    if (o->npos != 0 || o->day == NULL)
        return cli_usage_error("report build takes --day DAY and no arguments");
    struct sts_config *cfg = NULL;
    struct sts_tlsrpt_batch b = {0};
    int rc = load_rows(o, &cfg, &b);
    if (rc != CLI_OK)
        return rc;
    const char *org = cfg->tlsrpt_organization, *contact = cfg->tlsrpt_contact;
    if (org == NULL || org[0] == '\0' || contact == NULL || contact[0] == '\0') {
        cli_error("report build needs TLSRPTOrganization and TLSRPTContact in the configuration");
        rc = CLI_ERROR;
    }
    struct pair *pairs = rc == CLI_OK ? calloc(b.count ? b.count : 1, sizeof(*pairs)) : NULL;
    size_t n = pairs != NULL ? pairs_of(&b, pairs) : 0;
    if (rc == CLI_OK && pairs == NULL) {
        cli_error("out of memory");
        rc = CLI_ERROR;
    } else if (rc == CLI_OK && n == 0) {
        cli_error("no TLS-RPT results on %s%s%s", o->day, o->domain ? " for " : "",
                  o->domain ? o->domain : "");
        rc = CLI_FAIL;
    }
    struct sts_tlsrpt_submitter who = {.organization_name = org, .contact_info = contact, .seq = 1};
    json_object *arr = o->out == NULL && rc == CLI_OK ? json_object_new_array() : NULL;
    for (size_t i = 0; i < n && rc == CLI_OK; i++) {
        if (o->out != NULL) {
            rc = build_files(o, &b, &pairs[i], &who);
            continue;
        }
        char err[256];
        struct sts_tlsrpt_built built;
        if (sts_tlsrpt_assemble(&b, pairs[i].day, pairs[i].domain, &who, NULL, &built, err,
                                sizeof(err)) != STS_OK) {
            cli_error("report %s %s: %s", pairs[i].day, pairs[i].domain, err);
            rc = CLI_ERROR;
            break;
        }
        json_object_array_add(arr, json_tokener_parse(built.json));
        sts_tlsrpt_built_clear(&built);
    }
    if (arr != NULL) {
        if (rc == CLI_OK)
            cli_json_print(json_object_array_length(arr) == 1
                               ? json_object_get(json_object_array_get_idx(arr, 0))
                               : json_object_get(arr));
        json_object_put(arr);
    }
    free(pairs);
    sts_tlsrpt_batch_clear(&b);
    sts_config_unref(cfg);
    return rc;
}

int cli_report(int argc, char **argv)
{
    if (argc < 1)
        return cli_usage_error("report: show or build?");
    const char *verb = argv[0];
    struct cli_opts o;
    char cmd[32];
    snprintf(cmd, sizeof(cmd), "report %s", verb);
    if (strcmp(verb, "show") == 0 || strcmp(verb, "build") == 0) {
        unsigned allowed = CLI_OPT_STORE | CLI_OPT_REPORT | (verb[0] == 's' ? CLI_OPT_JSON : 0);
        int rc = cli_opts_parse(argc - 1, argv + 1, cmd, allowed, &o);
        if (rc != CLI_OK)
            return rc;
        return verb[0] == 's' ? report_show(&o) : report_build(&o);
    }
    return cli_usage_error("report: unknown verb \"%s\" (show, build)", verb);
}
