/*
 * cli_cache_learn.h - the learned forced TLS rows (learn.h, store.h) in
 * "mtasts cache list|show|purge" (cli_cache.c).
 */
#ifndef MTASTS_CLI_CACHE_LEARN_H
#define MTASTS_CLI_CACHE_LEARN_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "mtasts/store.h"

/**
 * List every learned row after the policies: text lines
 * "DOMAIN learned-tls=learned|learning since=... last-ok=... fails=N", or
 * with arr objects {"domain", "learned_tls": {...}} appended to it.
 * @return 0, or -1 when the store cannot be read (the reason printed)
 */
int cli_learn_list(struct sts_store *store, json_object *arr, int64_t now, int64_t period);

/**
 * The domain's learned row for "cache show": with obj, a "learned_tls"
 * key (null when there is none); without, a "learned-tls: ..." line.
 * @return 1 when there is a row, 0 when not, -1 on a store error
 */
int cli_learn_show(struct sts_store *store, const char *domain, json_object *obj, int64_t now,
                   int64_t period);

/**
 * Forget the domain's learned row (all rows with domain NULL).
 * @param count receives how many rows were removed (may be NULL)
 * @return 1 when something was removed, 0 when not, -1 on a store error
 */
int cli_learn_purge(struct sts_store *store, const char *domain, size_t *count);

#endif
