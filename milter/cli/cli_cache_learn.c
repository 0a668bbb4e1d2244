/*
 * cli_cache_learn.c - learned forced TLS rows in "mtasts cache"
 * (cli_cache_learn.h).
 */
#include "cli_cache_learn.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cli_common.h"

static void when(int64_t t, int64_t now, char *buf, size_t len)
{
    char d[32];
    if (t <= 0) {
        snprintf(buf, len, "never");
        return;
    }
    cli_duration(now >= t ? now - t : t - now, d, sizeof(d));
    snprintf(buf, len, now >= t ? "%s-ago" : "in-%s", d);
}

static json_object *state_json(const struct sts_learn_state *s, int64_t now, int64_t period)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "learned",
                           json_object_new_boolean(sts_learn_is_learned(s, now, period)));
    json_object_object_add(o, "since", json_object_new_int64(s->since));
    json_object_object_add(o, "last_ok", json_object_new_int64(s->last_ok));
    json_object_object_add(o, "learned_at", json_object_new_int64(s->learned_at));
    json_object_object_add(o, "last_fail", json_object_new_int64(s->last_fail));
    json_object_object_add(o, "fails", json_object_new_int64(s->fails));
    return o;
}

/* "learned since 2027-01-15T00:00:00Z, last verified 3h-ago, fails=0" */
static void state_text(const struct sts_learn_state *s, int64_t now, int64_t period, char *buf,
                       size_t len, bool list)
{
    char since[32], ok[32], fail[32];
    struct tm tm;
    time_t tt = (time_t)s->since;
    if (gmtime_r(&tt, &tm) == NULL ||
        strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(since, sizeof(since), "%lld", (long long)s->since);
    when(s->last_ok, now, ok, sizeof(ok));
    when(s->last_fail, now, fail, sizeof(fail));
    const char *state = sts_learn_is_learned(s, now, period) ? "learned" : "learning";
    if (list)
        snprintf(buf, len, "learned-tls=%s since=%s last-ok=%s last-fail=%s fails=%u", state, since,
                 ok, fail, s->fails);
    else
        snprintf(buf, len, "%s since %s, last verified %s, last failure %s, fails=%u", state, since,
                 ok, fail, s->fails);
}

struct learn_list {
    json_object *arr;
    int64_t now, period;
};

static int list_one(const char *domain, const struct sts_learn_state *s, void *arg)
{
    struct learn_list *c = arg;
    if (c->arr != NULL) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "domain", json_object_new_string(domain));
        json_object_object_add(o, "learned_tls", state_json(s, c->now, c->period));
        json_object_array_add(c->arr, o);
        return 0;
    }
    char text[256];
    state_text(s, c->now, c->period, text, sizeof(text), true);
    printf("%s %s\n", domain, text);
    return 0;
}

int cli_learn_list(struct sts_store *store, json_object *arr, int64_t now, int64_t period)
{
    struct learn_list c = {.arr = arr, .now = now, .period = period};
    char err[256];
    if (sts_store_learn_foreach(store, list_one, &c, err, sizeof(err)) != STS_OK) {
        cli_error("cannot read the learned TLS rows: %s", err);
        return -1;
    }
    return 0;
}

int cli_learn_show(struct sts_store *store, const char *domain, json_object *obj, int64_t now,
                   int64_t period)
{
    struct sts_learn_state s;
    char err[256];
    if (sts_store_learn_get(store, domain, &s, err, sizeof(err)) != STS_OK) {
        cli_error("cannot read the learned TLS row: %s", err);
        return -1;
    }
    if (obj != NULL) {
        json_object_object_add(obj, "learned_tls", s.present ? state_json(&s, now, period) : NULL);
    } else if (s.present) {
        char text[256];
        state_text(&s, now, period, text, sizeof(text), false);
        printf("learned-tls: %s\n", text);
    }
    return s.present ? 1 : 0;
}

int cli_learn_purge(struct sts_store *store, const char *domain, size_t *count)
{
    char err[256];
    size_t n = 0;
    enum sts_status st = domain != NULL ? sts_store_learn_delete(store, domain, err, sizeof(err))
                                        : sts_store_learn_delete_all(store, &n, err, sizeof(err));
    if (domain != NULL && st == STS_OK)
        n = 1;
    if (count != NULL)
        *count = n;
    if (st == STS_ENOTFOUND)
        return 0;
    if (st != STS_OK) {
        cli_error("cannot purge learned TLS: %s", err);
        return -1;
    }
    return n > 0 ? 1 : 0;
}
