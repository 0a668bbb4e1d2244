/*
 * cli_lint.c - "mtasts lint policy|txt|tlsrpt" and "mtasts mx-match": the
 * pure parsers exposed to a postmaster.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "mtasts/domain.h"
#include "mtasts/mx_match.h"
#include "mtasts/policy.h"
#include "mtasts/tlsrpt_record.h"
#include "mtasts/txt.h"

/*
 * Read at most STS_POLICY_BODY_MAX + 1 bytes: one more than a fetch
 * would accept, so an oversized file is reported as such.
 */
static int read_policy_file(const char *path, char **body, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (f == NULL) {
        cli_error("%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(STS_POLICY_BODY_MAX + 1);
    if (buf == NULL) {
        cli_error("out of memory");
        if (f != stdin)
            fclose(f);
        return -1;
    }
    size_t n = fread(buf, 1, STS_POLICY_BODY_MAX + 1, f);
    int failed = ferror(f);
    if (f != stdin)
        fclose(f);
    if (failed) {
        cli_error("%s: read error", path);
        free(buf);
        return -1;
    }
    *body = buf;
    *len = n;
    return 0;
}

static void print_policy_json(const struct sts_policy *p)
{
    json_object *obj = json_object_new_object();
    json_object *mx = json_object_new_array();
    for (size_t i = 0; i < p->mx_count; i++)
        json_object_array_add(mx, json_object_new_string(p->mx[i]));
    json_object_object_add(obj, "version", json_object_new_string("STSv1"));
    json_object_object_add(obj, "mode", json_object_new_string(sts_mode_name(p->mode)));
    json_object_object_add(obj, "max_age", json_object_new_int64(p->max_age));
    json_object_object_add(obj, "mx", mx);
    puts(json_object_to_json_string_ext(obj,
                                        JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(obj);
}

static void print_policy_text(const struct sts_policy *p)
{
    printf("valid: version=STSv1 mode=%s max_age=%u mx=", sts_mode_name(p->mode), p->max_age);
    for (size_t i = 0; i < p->mx_count; i++)
        printf("%s%s", i ? "," : "", p->mx[i]);
    putchar('\n');
}

static int lint_policy(int argc, char **argv)
{
    bool json = false;
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] == '-' && argv[i][1] != '\0')
            return cli_usage_error("unknown option \"%s\"", argv[i]);
        else if (path != NULL)
            return cli_usage_error("lint policy takes one FILE");
        else
            path = argv[i];
    }
    if (path == NULL)
        return cli_usage_error("lint policy needs a FILE (- for standard input)");

    char *body;
    size_t len;
    if (read_policy_file(path, &body, &len) != 0)
        return CLI_FAIL;

    char err[256];
    struct sts_policy *policy;
    enum sts_status st = sts_policy_parse(body, len, &policy, err, sizeof(err));
    free(body);
    if (st != STS_OK) {
        cli_error("%s: %s", path, err);
        return CLI_FAIL;
    }
    if (json)
        print_policy_json(policy);
    else
        print_policy_text(policy);
    sts_policy_free(policy);
    return CLI_OK;
}

static int lint_txt(int argc, char **argv)
{
    if (argc < 1)
        return cli_usage_error("lint txt needs at least one RECORD");

    const char **recs = calloc((size_t)argc, sizeof(*recs));
    size_t *lens = calloc((size_t)argc, sizeof(*lens));
    if (recs == NULL || lens == NULL) {
        free(recs);
        free(lens);
        cli_error("out of memory");
        return CLI_FAIL;
    }
    for (int i = 0; i < argc; i++) {
        recs[i] = argv[i];
        lens[i] = strlen(argv[i]);
    }
    struct sts_txt txt;
    char err[256];
    enum sts_status st = sts_txt_parse_rrset(recs, lens, (size_t)argc, &txt, err, sizeof(err));
    free(recs);
    free(lens);
    if (st != STS_OK) {
        cli_error("%s", err);
        return CLI_FAIL;
    }
    puts(txt.id);
    return CLI_OK;
}

/* --- lint tlsrpt: the _smtp._tls RRset (RFC 8460 section 3) ------------ */

static void print_tlsrpt_json(const struct sts_tlsrpt_record *r)
{
    char uri[3 * STS_TLSRPT_RECORD_MAX + 16];
    json_object *obj = json_object_new_object();
    json_object *rua = json_object_new_array();
    json_object *skipped = json_object_new_array();
    for (size_t i = 0; i < r->rua_count; i++) {
        sts_tlsrpt_rua_format(&r->rua[i], uri, sizeof(uri));
        json_object_array_add(rua, json_object_new_string(uri));
    }
    for (size_t i = 0; i < r->skipped_count; i++) {
        json_object *s = json_object_new_object();
        json_object_object_add(s, "value", json_object_new_string(r->skipped[i].what));
        json_object_object_add(s, "reason",
                               json_object_new_string(sts_tlsrpt_skip_name(r->skipped[i].why)));
        json_object_array_add(skipped, s);
    }
    json_object_object_add(obj, "version", json_object_new_string("TLSRPTv1"));
    json_object_object_add(obj, "rua", rua);
    json_object_object_add(obj, "skipped", skipped);
    json_object_object_add(obj, "skipped_unlisted",
                           json_object_new_int64((int64_t)r->skipped_more));
    json_object_object_add(obj, "dropped", json_object_new_int64((int64_t)r->dropped));
    puts(json_object_to_json_string_ext(obj,
                                        JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(obj);
}

static void print_tlsrpt_text(const struct sts_tlsrpt_record *r)
{
    char uri[3 * STS_TLSRPT_RECORD_MAX + 16], shown[3 * STS_TLSRPT_RECORD_MAX + 16];
    fputs("valid: version=TLSRPTv1 rua=", stdout);
    for (size_t i = 0; i < r->rua_count; i++) {
        sts_tlsrpt_rua_format(&r->rua[i], uri, sizeof(uri));
        printf("%s%s", i ? "," : "", uri);
    }
    putchar('\n');
    for (size_t i = 0; i < r->skipped_count; i++) {
        const char *w = r->skipped[i].what;
        printf("skipped: %s (%s)\n", sts_status_quote(w, strlen(w), shown, sizeof(shown)),
               sts_tlsrpt_skip_name(r->skipped[i].why));
    }
    if (r->skipped_more > 0)
        printf("skipped: %zu more, not listed\n", r->skipped_more);
    if (r->dropped > 0)
        printf("dropped: %zu (only the first %d destinations are kept)\n", r->dropped,
               STS_TLSRPT_RUA_MAX);
}

static int lint_tlsrpt(int argc, char **argv)
{
    bool json = false;
    int first = 0;
    for (; first < argc && argv[first][0] == '-' && argv[first][1] != '\0'; first++) {
        if (strcmp(argv[first], "--") == 0) {
            first++;
            break;
        }
        if (strcmp(argv[first], "--json") != 0)
            return cli_usage_error("unknown option \"%s\"", argv[first]);
        json = true;
    }
    int n = argc - first;
    if (n < 1)
        return cli_usage_error("lint tlsrpt needs at least one RECORD");

    const char **recs = calloc((size_t)n, sizeof(*recs));
    size_t *lens = calloc((size_t)n, sizeof(*lens));
    if (recs == NULL || lens == NULL) {
        free(recs);
        free(lens);
        cli_error("out of memory");
        return CLI_ERROR;
    }
    for (int i = 0; i < n; i++) {
        recs[i] = argv[first + i];
        lens[i] = strlen(argv[first + i]);
    }
    struct sts_tlsrpt_record *r = NULL;
    char err[256];
    enum sts_status st = sts_tlsrpt_record_parse_rrset(recs, lens, (size_t)n, &r, err, sizeof(err));
    free(recs);
    free(lens);
    if (st != STS_OK) {
        cli_error("%s", err);
        return st == STS_ENOMEM ? CLI_ERROR : CLI_FAIL;
    }
    if (json)
        print_tlsrpt_json(r);
    else
        print_tlsrpt_text(r);
    sts_tlsrpt_record_free(r);
    return CLI_OK;
}

int cli_lint(int argc, char **argv)
{
    if (argc < 1)
        return cli_usage_error("lint needs \"policy\", \"txt\" or \"tlsrpt\"");
    if (strcmp(argv[0], "policy") == 0)
        return lint_policy(argc - 1, argv + 1);
    if (strcmp(argv[0], "txt") == 0)
        return lint_txt(argc - 1, argv + 1);
    if (strcmp(argv[0], "tlsrpt") == 0)
        return lint_tlsrpt(argc - 1, argv + 1);
    return cli_usage_error("unknown lint target \"%s\"", argv[0]);
}

int cli_mx_match(int argc, char **argv)
{
    if (argc != 2)
        return cli_usage_error("mx-match takes PATTERN HOSTNAME");

    char err[128], pattern[STS_DOMAIN_MAX + 3], host[STS_DOMAIN_MAX + 1];
    if (sts_mx_match_normalize_pattern(argv[0], pattern, sizeof(pattern), err, sizeof(err)) !=
        STS_OK) {
        cli_error("invalid pattern \"%s\": %s", argv[0], err);
        puts("no match");
        return CLI_FAIL;
    }
    if (sts_domain_normalize(argv[1], host, sizeof(host), err, sizeof(err)) != STS_OK) {
        cli_error("invalid host name \"%s\": %s", argv[1], err);
        puts("no match");
        return CLI_FAIL;
    }
    bool ok = sts_mx_match(pattern, host);
    puts(ok ? "match" : "no match");
    return ok ? CLI_OK : CLI_FAIL;
}
