/*
 * cli_cache.c - "mtasts cache list|show|purge|prewarm": the milter's
 * policy store seen and changed from the command line.
 *
 * list, show, probes and purge only open the store (store.h); probes
 * lists the MX STARTTLS results the milter keeps (probe_cache.h), and
 * "purge --probes" drops them.  prewarm runs
 * discovery through the cache module (cache.h), as the milter would,
 * from a few threads (a job_pool, job_pool.h); the cache's own worker
 * pool bounds the concurrent fetches.  A running milter keeps its in-memory copy of a purged policy
 * until it forgets it (restart or reload).
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_common.h"
#include "mtasts/cache.h"
#include "mtasts/domain.h"
#include "mtasts/job_pool.h"
#include "mtasts/policy.h"
#include "mtasts/status.h"
#include "mtasts/store.h"

#define PREWARM_THREADS 8u

static int open_store(const struct cli_opts *o, struct sts_store **store)
{
    return cli_store_open(o, NULL, store);
}

static void iso_time(int64_t t, char *buf, size_t len)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
        snprintf(buf, len, "never");
    else
        strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* "in 3h2m", "5m ago", "never" (relative to now). */
static void relative(int64_t t, int64_t now, char *buf, size_t len)
{
    char d[32];
    if (t <= 0) {
        snprintf(buf, len, "never");
        return;
    }
    cli_duration(t - now, d, sizeof(d));
    snprintf(buf, len, t >= now ? "in %s" : "%s ago", d);
}

static json_object *entry_json(const struct sts_store_entry *e, int64_t now)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "domain", json_object_new_string(e->domain));
    json_object_object_add(o, "id", json_object_new_string(e->id));
    json_object_object_add(o, "mode", json_object_new_string(sts_mode_name(e->policy->mode)));
    json_object_object_add(o, "max_age", json_object_new_int64(e->policy->max_age));
    json_object_object_add(o, "fetched_at", json_object_new_int64(e->fetched_at));
    json_object_object_add(o, "checked_at", json_object_new_int64(e->checked_at));
    json_object_object_add(o, "expires_at", json_object_new_int64(e->expires_at));
    json_object_object_add(o, "expires_in", json_object_new_int64(e->expires_at - now));
    json_object_object_add(o, "last_used", json_object_new_int64(e->last_used));
    return o;
}

/* ------------------------------------------------------------------ list */

struct list_ctx {
    int64_t now;
    json_object *arr; /* NULL in text mode */
};

static int list_one(const struct sts_store_entry *e, void *arg)
{
    struct list_ctx *c = arg;
    if (c->arr != NULL) {
        json_object_array_add(c->arr, entry_json(e, c->now));
        return 0;
    }
    char exp[32] = "expired", used[32] = "never";
    if (e->expires_at > c->now)
        cli_duration(e->expires_at - c->now, exp, sizeof(exp));
    if (e->last_used > 0) {
        char d[24];
        cli_duration(c->now - e->last_used, d, sizeof(d));
        snprintf(used, sizeof(used), "%s-ago", d);
    }
    printf("%s id=%s mode=%s max_age=%u expires-in=%s last-used=%s\n", e->domain, e->id,
           sts_mode_name(e->policy->mode), e->policy->max_age, exp, used);
    return 0;
}

static int cache_list(const struct cli_opts *o)
{
    if (o->npos != 0)
        return cli_usage_error("cache list takes no arguments");
    struct sts_store *store;
    int rc = open_store(o, &store);
    if (rc != CLI_OK)
        return rc;
    struct list_ctx c = {.now = (int64_t)time(NULL)};
    if (o->json)
        c.arr = json_object_new_array();
    char err[256];
    if (sts_store_foreach(store, list_one, &c, err, sizeof(err)) != STS_OK) {
        cli_error("cannot read the store: %s", err);
        json_object_put(c.arr);
        sts_store_close(store);
        return CLI_ERROR;
    }
    if (c.arr != NULL)
        cli_json_print(c.arr);
    sts_store_close(store);
    return CLI_OK;
}

/* ------------------------------------------------------------------ show */

static void show_entry_text(const struct sts_store_entry *e, int64_t now)
{
    char t[32], r[48];
    printf("domain: %s\nid: %s\n", e->domain, e->id);
    iso_time(e->fetched_at, t, sizeof(t));
    relative(e->fetched_at, now, r, sizeof(r));
    printf("fetched: %s (%s)\n", t, r);
    iso_time(e->checked_at, t, sizeof(t));
    relative(e->checked_at, now, r, sizeof(r));
    printf("checked: %s (%s)\n", t, r);
    iso_time(e->expires_at, t, sizeof(t));
    relative(e->expires_at, now, r, sizeof(r));
    printf("expires: %s (%s)\n", t, e->expires_at > now ? r : "expired");
    iso_time(e->last_used, t, sizeof(t));
    relative(e->last_used, now, r, sizeof(r));
    if (e->last_used > 0)
        printf("last-used: %s (%s)\n", t, r);
    else
        printf("last-used: never\n");
    putchar('\n');
    cli_policy_print(e->policy);
}

/* A domain without a policy row: is it cached as having none? */
static int show_negative(struct sts_store *store, const char *domain, const struct cli_opts *o,
                         int64_t now)
{
    struct sts_store_negative neg;
    char err[256];
    enum sts_status st = sts_store_negative_get(store, domain, now, &neg, err, sizeof(err));
    if (st == STS_ENOTFOUND) {
        cli_error("%s is not in the cache", domain);
        return CLI_FAIL;
    }
    if (st != STS_OK) {
        cli_error("cannot read the store: %s", err);
        return CLI_ERROR;
    }
    char t[32], r[48];
    iso_time(neg.until, t, sizeof(t));
    relative(neg.until, now, r, sizeof(r));
    if (o->json) {
        json_object *obj = json_object_new_object();
        json_object_object_add(obj, "domain", json_object_new_string(domain));
        json_object_object_add(obj, "policy", NULL);
        json_object_object_add(obj, "no_policy_until", json_object_new_int64(neg.until));
        json_object_object_add(obj, "reason", json_object_new_string(neg.reason));
        cli_json_print(obj);
    } else {
        printf("domain: %s\nno policy: cached as having none until %s (%s), reason %s\n", domain, t,
               r, neg.reason);
    }
    return CLI_FAIL;
}

static int cache_show(const struct cli_opts *o)
{
    if (o->npos != 1)
        return cli_usage_error("cache show takes one DOMAIN");
    char domain[STS_DOMAIN_MAX + 1];
    int rc = cli_domain_arg(o->pos[0], domain);
    if (rc != CLI_OK)
        return rc;
    struct sts_store *store;
    if ((rc = open_store(o, &store)) != CLI_OK)
        return rc;
    int64_t now = (int64_t)time(NULL);
    struct sts_store_entry e;
    memset(&e, 0, sizeof(e));
    char err[256];
    enum sts_status st = sts_store_get(store, domain, &e, err, sizeof(err));
    if (st == STS_ENOTFOUND) {
        rc = show_negative(store, domain, o, now);
    } else if (st != STS_OK) {
        cli_error("cannot read the store: %s", err);
        rc = CLI_ERROR;
    } else if (o->json) {
        json_object *obj = entry_json(&e, now);
        json_object_object_add(obj, "policy", cli_policy_json(e.policy));
        cli_json_print(obj);
    } else {
        show_entry_text(&e, now);
    }
    sts_store_entry_clear(&e);
    sts_store_close(store);
    return rc;
}

/* ------------------------------------------------------------------ probes */

static json_object *probe_json(const struct sts_store_probe *r, int64_t now)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "host", json_object_new_string(r->host));
    json_object_object_add(o, "port", json_object_new_int64(r->port));
    json_object_object_add(o, "mx_dnssec",
                           json_object_new_string(r->mx_secure ? "secure" : "insecure"));
    json_object_object_add(o, "result", json_object_new_string(sts_tls_result_name(r->tls.result)));
    json_object_object_add(o, "dane", json_object_new_boolean(r->tls.dane));
    json_object_object_add(o, "addr", r->tls.addr[0] ? json_object_new_string(r->tls.addr) : NULL);
    json_object_object_add(o, "tls_version",
                           r->tls.tls_version[0] ? json_object_new_string(r->tls.tls_version)
                                                 : NULL);
    json_object_object_add(o, "cipher",
                           r->tls.cipher[0] ? json_object_new_string(r->tls.cipher) : NULL);
    json_object_object_add(o, "detail", cli_json_quoted(r->tls.detail, strlen(r->tls.detail)));
    json_object_object_add(o, "checked_at", json_object_new_int64(r->tls.checked_at));
    json_object_object_add(o, "expires_at", json_object_new_int64(r->tls.expires_at));
    json_object_object_add(o, "expires_in", json_object_new_int64(r->tls.expires_at - now));
    json_object_object_add(o, "last_used", json_object_new_int64(r->last_used));
    return o;
}

static int probes_one(const struct sts_store_probe *r, void *arg)
{
    struct list_ctx *c = arg;
    if (c->arr != NULL) {
        json_object_array_add(c->arr, probe_json(r, c->now));
        return 0;
    }
    char exp[32] = "expired", used[32] = "never", detail[STS_TLS_DETAIL_MAX + 1];
    if (r->tls.expires_at > c->now)
        cli_duration(r->tls.expires_at - c->now, exp, sizeof(exp));
    if (r->last_used > 0) {
        char d[24];
        cli_duration(c->now - r->last_used, d, sizeof(d));
        snprintf(used, sizeof(used), "%s-ago", d);
    }
    cli_sanitize(r->tls.detail, sizeof(r->tls.detail), detail, sizeof(detail));
    printf("%s port=%u mx=%s result=%s dane=%s addr=%s tls=%s expires-in=%s last-used=%s "
           "detail=\"%s\"\n",
           r->host, r->port, r->mx_secure ? "secure" : "insecure",
           sts_tls_result_name(r->tls.result), r->tls.dane ? "yes" : "no",
           r->tls.addr[0] ? r->tls.addr : "-", r->tls.tls_version[0] ? r->tls.tls_version : "-",
           exp, used, detail);
    return 0;
}

static int cache_probes(const struct cli_opts *o)
{
    if (o->npos != 0)
        return cli_usage_error("cache probes takes no arguments");
    struct sts_store *store;
    int rc = open_store(o, &store);
    if (rc != CLI_OK)
        return rc;
    struct list_ctx c = {.now = (int64_t)time(NULL)};
    if (o->json)
        c.arr = json_object_new_array();
    char err[256];
    if (sts_store_probe_foreach(store, probes_one, &c, err, sizeof(err)) != STS_OK) {
        cli_error("cannot read the store: %s", err);
        json_object_put(c.arr);
        sts_store_close(store);
        return CLI_ERROR;
    }
    if (c.arr != NULL)
        cli_json_print(c.arr);
    sts_store_close(store);
    return CLI_OK;
}

/* "purge --probes HOST|--all": the probe rows, not the policies. */
static int purge_probes(struct sts_store *store, const char *host)
{
    char err[256];
    size_t count = 0;
    enum sts_status st = host != NULL
                             ? sts_store_probe_delete(store, host, &count, err, sizeof(err))
                             : sts_store_probe_delete_all(store, &count, err, sizeof(err));
    if (st == STS_ENOTFOUND) {
        cli_error("%s has no probe results in the cache", host);
        return CLI_FAIL;
    }
    if (st != STS_OK) {
        cli_error("cannot purge probe results: %s", err);
        return CLI_ERROR;
    }
    if (host != NULL)
        printf("removed probe results of %s (%zu row%s)\n", host, count, count == 1 ? "" : "s");
    else
        printf("%zu probe result%s removed\n", count, count == 1 ? "" : "s");
    return CLI_OK;
}

/* ------------------------------------------------------------------ purge */

/* Collects the domains an --all purge is about to remove. */
struct names {
    char (*v)[STS_DOMAIN_MAX + 1];
    size_t n, cap;
    bool oom;
};

static int collect_name(const struct sts_store_entry *e, void *arg)
{
    struct names *ns = arg;
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 64;
        void *v = realloc(ns->v, cap * sizeof(*ns->v));
        if (v == NULL) {
            ns->oom = true;
            return 1;
        }
        ns->v = v;
        ns->cap = cap;
    }
    snprintf(ns->v[ns->n++], sizeof(ns->v[0]), "%s", e->domain);
    return 0;
}

static int purge_all(struct sts_store *store)
{
    struct names ns = {0};
    char err[256];
    size_t count = 0;
    if (sts_store_foreach(store, collect_name, &ns, err, sizeof(err)) != STS_OK || ns.oom) {
        cli_error("cannot read the store: %s", ns.oom ? "out of memory" : err);
        free(ns.v);
        return CLI_ERROR;
    }
    if (sts_store_delete_all(store, &count, err, sizeof(err)) != STS_OK) {
        cli_error("cannot purge the store: %s", err);
        free(ns.v);
        return CLI_ERROR;
    }
    for (size_t i = 0; i < ns.n; i++)
        printf("removed %s\n", ns.v[i]);
    printf("%zu polic%s removed\n", count, count == 1 ? "y" : "ies");
    free(ns.v);
    return CLI_OK;
}

static int purge_one(struct sts_store *store, const char *domain)
{
    struct sts_store_entry e;
    memset(&e, 0, sizeof(e));
    char err[256], what[128] = "no-policy entry";
    enum sts_status st = sts_store_get(store, domain, &e, err, sizeof(err));
    if (st == STS_OK)
        snprintf(what, sizeof(what), "id=%s mode=%s", e.id, sts_mode_name(e.policy->mode));
    sts_store_entry_clear(&e);
    if (st != STS_OK && st != STS_ENOTFOUND) {
        cli_error("cannot read the store: %s", err);
        return CLI_ERROR;
    }
    st = sts_store_delete(store, domain, err, sizeof(err));
    if (st == STS_ENOTFOUND) {
        cli_error("%s was not in the cache", domain);
        return CLI_FAIL;
    }
    if (st != STS_OK) {
        cli_error("cannot purge %s: %s", domain, err);
        return CLI_ERROR;
    }
    printf("removed %s (%s)\n", domain, what);
    return CLI_OK;
}

/* Set by cli_cache() when "purge" was given --probes (cli_common knows no such option). */
static bool purge_probe_rows;

static int cache_purge(const struct cli_opts *o)
{
    if (o->all && o->npos != 0)
        return cli_usage_error("cache purge takes a DOMAIN or --all, not both");
    if (!o->all && o->npos != 1)
        return cli_usage_error("cache purge takes one DOMAIN, or --all");
    char domain[STS_DOMAIN_MAX + 1];
    int rc;
    if (!o->all && (rc = cli_domain_arg(o->pos[0], domain)) != CLI_OK)
        return rc;
    struct sts_store *store;
    if ((rc = open_store(o, &store)) != CLI_OK)
        return rc;
    if (purge_probe_rows)
        rc = purge_probes(store, o->all ? NULL : domain);
    else
        rc = o->all ? purge_all(store) : purge_one(store, domain);
    sts_store_close(store);
    return rc;
}

/* ------------------------------------------------------------------ prewarm */

enum warm_kind { WARM_POLICY = 0, WARM_NONE, WARM_FAILED };

struct warm_item {
    struct sts_job job;            /* its lookup, on the prewarm pool */
    char name[STS_DOMAIN_MAX + 1]; /* normalised; "" if the line was invalid */
    char line[96];                 /* the line as written, quoted, for messages */
    enum warm_kind kind;
    char id[STS_TXT_ID_MAX + 1];
    enum sts_mode mode;
    char reason[160];
};

struct warm_ctx {
    struct sts_cache *cache;
    unsigned deadline_ms;
};

/*
 * §3.1: a domain without a valid indicator (none, or a broken TXT) has no
 * policy; anything that went wrong after an indicator was found, or a
 * DNS failure, is a failure worth reporting.
 */
static void warm_classify(const struct sts_cache_result *res, struct warm_item *it)
{
    sts_lookup_reason_format(res->reason, res->fetch, it->reason, sizeof(it->reason));
    switch (res->outcome) {
    case STS_LOOKUP_POLICY:
        it->kind = WARM_POLICY;
        snprintf(it->id, sizeof(it->id), "%s", res->id);
        it->mode = res->policy != NULL ? res->policy->mode : STS_MODE_NONE;
        break;
    case STS_LOOKUP_NO_POLICY:
        /* no indicator (or an invalid one) vs a policy that could not be had */
        it->kind = res->reason == STS_LOOKUP_REASON_FETCH_FAILED ||
                           res->reason == STS_LOOKUP_REASON_FETCH_BACKOFF ||
                           res->reason == STS_LOOKUP_REASON_POLICY_INVALID
                       ? WARM_FAILED
                       : WARM_NONE;
        break;
    case STS_LOOKUP_PENDING:
        it->kind = WARM_FAILED;
        snprintf(it->reason, sizeof(it->reason), "still pending at the deadline");
        break;
    default:
        it->kind = WARM_FAILED;
        break;
    }
    if (it->reason[0] == '\0')
        snprintf(it->reason, sizeof(it->reason), "%s", sts_lookup_outcome_name(res->outcome));
}

/* One domain's lookup (on a pool worker, or inline). */
static void warm_one(void *arg, struct sts_job *job, void *scratch)
{
    (void)scratch;
    const struct warm_ctx *w = arg;
    struct warm_item *it = STS_JOB_OWNER(job, struct warm_item, job);
    struct sts_cache_result res;
    memset(&res, 0, sizeof(res));
    if (sts_cache_lookup(w->cache, it->name, w->deadline_ms, &res) != STS_OK) {
        it->kind = WARM_FAILED;
        snprintf(it->reason, sizeof(it->reason), "lookup error");
    } else {
        warm_classify(&res, it);
    }
    sts_cache_result_clear(&res);
}

/*
 * Fill *it from one line of a prewarm file: one domain; '#' starts a
 * comment.  @return false for a line with nothing on it.
 */
static bool parse_line(char *line, size_t lineno, struct warm_item *it)
{
    char *hash = strchr(line, '#');
    if (hash != NULL)
        *hash = '\0';
    char *s = line + strspn(line, " \t\r\n");
    size_t len = strlen(s);
    while (len > 0 && strchr(" \t\r\n", s[len - 1]) != NULL)
        s[--len] = '\0';
    if (len == 0)
        return false;
    memset(it, 0, sizeof(*it));
    sts_status_quote(s, len, it->line, sizeof(it->line));
    char err[128];
    it->kind = WARM_FAILED; /* until looked up */
    if (strcspn(s, " \t") != len)
        snprintf(it->reason, sizeof(it->reason), "line %zu: more than one name", lineno);
    else if (sts_domain_normalize(s, it->name, sizeof(it->name), err, sizeof(err)) != STS_OK)
        snprintf(it->reason, sizeof(it->reason), "line %zu: invalid domain name: %s", lineno, err);
    if (it->reason[0] != '\0')
        it->name[0] = '\0';
    return true;
}

/* The domains of a prewarm file ("-" for stdin), in order. */
static int read_domains(const char *path, struct warm_item **out, size_t *n)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL) {
        cli_error("%s: %s", path, strerror(errno));
        return CLI_FAIL;
    }
    struct warm_item *items = NULL;
    size_t cap = 0, count = 0, lineno = 0;
    char *line = NULL;
    size_t linecap = 0;
    int rc = CLI_OK;
    while (getline(&line, &linecap, f) >= 0) {
        lineno++;
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            void *v = realloc(items, ncap * sizeof(*items));
            if (v == NULL) {
                cli_error("out of memory");
                rc = CLI_ERROR;
                break;
            }
            items = v;
            cap = ncap;
        }
        if (parse_line(line, lineno, &items[count]))
            count++;
    }
    if (rc == CLI_OK && ferror(f)) {
        cli_error("%s: read error", path);
        rc = CLI_FAIL;
    }
    free(line);
    if (f != stdin)
        fclose(f);
    if (rc != CLI_OK) {
        free(items);
        return rc;
    }
    *out = items;
    *n = count;
    return CLI_OK;
}

static int run_prewarm(const struct cli_opts *o, struct warm_item *items, size_t n)
{
    struct cli_net net;
    int rc = cli_net_open(o, 0, &net);
    if (rc != CLI_OK)
        return rc;
    struct sts_cache *cache = sts_engine_cache(net.engine);
    /* TXT, A/AAAA of mta-sts.DOMAIN, connect and transfer: a few timeouts. */
    char err[256];
    struct warm_ctx w = {.cache = cache, .deadline_ms = o->timeout_s * 4000u + 2000u};
    struct sts_job_pool_config pcfg = {
        .workers = n < PREWARM_THREADS ? (unsigned)n : PREWARM_THREADS, .run = warm_one, .arg = &w};
    struct sts_job_pool *pool = NULL;
    if (n > 0 && sts_job_pool_new(&pcfg, &pool, err, sizeof(err)) != STS_OK)
        pool = NULL; /* no thread could start: do it here */
    for (size_t i = 0; i < n; i++) {
        if (items[i].name[0] == '\0')
            continue; /* an invalid line: already failed */
        if (pool == NULL || sts_job_pool_submit(pool, &items[i].job) != STS_JOB_QUEUED)
            warm_one(&w, &items[i].job, NULL);
    }
    sts_job_pool_free(pool); /* drains: every lookup has ended */
    cli_net_close(&net);     /* the engine waits for discoveries still running */
    return CLI_OK;
}

static void print_prewarm(const struct cli_opts *o, const struct warm_item *items, size_t n,
                          const size_t counts[3])
{
    static const char *const kinds[] = {"policy", "no-policy", "failed"};
    if (o->json) {
        json_object *obj = json_object_new_object();
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
            json_object *r = json_object_new_object();
            json_object_object_add(
                r, "domain",
                json_object_new_string(items[i].name[0] ? items[i].name : items[i].line));
            json_object_object_add(r, "result", json_object_new_string(kinds[items[i].kind]));
            json_object_object_add(
                r, "id", items[i].kind == WARM_POLICY ? json_object_new_string(items[i].id) : NULL);
            json_object_object_add(r, "mode",
                                   items[i].kind == WARM_POLICY
                                       ? json_object_new_string(sts_mode_name(items[i].mode))
                                       : NULL);
            json_object_object_add(r, "reason", json_object_new_string(items[i].reason));
            json_object_array_add(arr, r);
        }
        json_object_object_add(obj, "domains", json_object_new_int64((int64_t)n));
        json_object_object_add(obj, "policy", json_object_new_int64((int64_t)counts[WARM_POLICY]));
        json_object_object_add(obj, "no_policy", json_object_new_int64((int64_t)counts[WARM_NONE]));
        json_object_object_add(obj, "failed", json_object_new_int64((int64_t)counts[WARM_FAILED]));
        json_object_object_add(obj, "results", arr);
        cli_json_print(obj);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const struct warm_item *it = &items[i];
        if (it->kind == WARM_POLICY)
            printf("%s: policy id=%s mode=%s\n", it->name, it->id, sts_mode_name(it->mode));
        else
            printf("%s: %s (%s)\n", it->name[0] ? it->name : it->line,
                   it->kind == WARM_NONE ? "no policy" : "failed", it->reason);
    }
    printf("%zu domain%s: %zu with policy, %zu without, %zu failed\n", n, n == 1 ? "" : "s",
           counts[WARM_POLICY], counts[WARM_NONE], counts[WARM_FAILED]);
}

static int cache_prewarm(const struct cli_opts *o)
{
    if (o->npos != 1)
        return cli_usage_error("cache prewarm takes one FILE (- for standard input)");
    struct warm_item *items = NULL;
    size_t n = 0;
    int rc = read_domains(o->pos[0], &items, &n);
    if (rc != CLI_OK)
        return rc;
    if ((rc = run_prewarm(o, items, n)) != CLI_OK) {
        free(items);
        return rc;
    }
    size_t counts[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++)
        counts[items[i].kind]++;
    print_prewarm(o, items, n, counts);
    free(items);
    return counts[WARM_FAILED] ? CLI_FAIL : CLI_OK;
}

/* Remove "--probes" (before any "--") from argv; returns the new argc. */
static int take_probes_flag(int argc, char **argv)
{
    int out = 1;
    bool ended = false;
    for (int i = 1; i < argc; i++) {
        if (!ended && strcmp(argv[i], "--probes") == 0) {
            purge_probe_rows = true;
            continue;
        }
        if (strcmp(argv[i], "--") == 0)
            ended = true;
        argv[out++] = argv[i];
    }
    return out;
}

int cli_cache(int argc, char **argv)
{
    static const struct {
        const char *verb;
        unsigned opts;
        int (*fn)(const struct cli_opts *o);
    } verbs[] = {
        {"list", CLI_OPT_STORE | CLI_OPT_JSON, cache_list},
        {"show", CLI_OPT_STORE | CLI_OPT_JSON, cache_show},
        {"probes", CLI_OPT_STORE | CLI_OPT_JSON, cache_probes},
        {"purge", CLI_OPT_STORE | CLI_OPT_ALL, cache_purge},
        {"prewarm", CLI_OPT_STORE | CLI_OPT_NET | CLI_OPT_JSON, cache_prewarm},
    };
    if (argc < 1)
        return cli_usage_error("cache needs list, show, probes, purge or prewarm");
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (strcmp(argv[0], verbs[i].verb) != 0)
            continue;
        char cmd[32];
        snprintf(cmd, sizeof(cmd), "cache %s", verbs[i].verb);
        if (verbs[i].fn == cache_purge)
            argc = take_probes_flag(argc, argv);
        struct cli_opts o;
        int rc = cli_opts_parse(argc - 1, argv + 1, cmd, verbs[i].opts, &o);
        return rc != CLI_OK ? rc : verbs[i].fn(&o);
    }
    return cli_usage_error("unknown cache command \"%s\"", argv[0]);
}
