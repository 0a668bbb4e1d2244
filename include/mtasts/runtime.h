/*
 * runtime.h - the milter's one context object: configuration snapshot,
 * overrides, resolver, store and policy cache.
 *
 * Locking protocol: the current configuration and overrides are two
 * refcounted immutable snapshots behind one mutex, held only to copy the
 * two pointers and take references (sts_runtime_acquire()); a connection
 * keeps the snapshot it acquired until it closes, so a reload never
 * changes the rules in the middle of a transaction.  Reload builds both
 * new snapshots completely before swapping them; a bad file keeps the old
 * ones.  The resolver, store and cache are created once at start-up and
 * shared; their own headers describe their thread rules.
 */
#ifndef MTASTS_RUNTIME_H
#define MTASTS_RUNTIME_H

#include <stddef.h>

#include "mtasts/cache.h"
#include "mtasts/config.h"
#include "mtasts/dns.h"
#include "mtasts/mx_cache.h"
#include "mtasts/overrides.h"
#include "mtasts/probe.h"
#include "mtasts/probe_cache.h"
#include "mtasts/status.h"
#include "mtasts/store.h"

struct sts_runtime {
    struct sts_dns *dns;
    struct sts_store *store;
    struct sts_cache *cache;
    struct sts_mx_cache *mx;         /* MX answers memo in front of dns */
    struct sts_probe_ctx *probe_ctx; /* OpenSSL context of STARTTLS probes */
    struct sts_probe_cache *probes;  /* MX TLS results */
    /* private */
    void *mu_;
    const struct sts_config *cfg_;
    const struct sts_overrides *ov_;
    char path_[4096];
    char helo_[256];
};

/** A connection's view: references on the snapshots current at acquire. */
struct sts_snapshot {
    const struct sts_config *cfg;
    const struct sts_overrides *ov; /* may be NULL: no OverridesFile */
};

/**
 * Build the runtime from a loaded configuration (takes over its
 * reference): loads the overrides, opens the store, starts the resolver
 * and the cache's threads.  Call before libmilter starts its threads.
 */
enum sts_status sts_runtime_new(struct sts_config *cfg, const char *path, struct sts_runtime **out,
                                char *err, size_t errlen);

/** Stop the cache's threads, close the store and the resolver, free. */
void sts_runtime_free(struct sts_runtime *rt);

/** Take references on the current snapshots (any thread). */
void sts_runtime_acquire(struct sts_runtime *rt, struct sts_snapshot *snap);

/** Drop them; safe on a zeroed snapshot. */
void sts_snapshot_release(struct sts_snapshot *snap);

/**
 * Re-read the configuration file and the overrides file; swap them in
 * when both load.  Keys that need a restart keep their old values and are
 * named in the log.
 * @return STS_OK, or the load error (old snapshots kept)
 */
enum sts_status sts_runtime_reload(struct sts_runtime *rt, char *err, size_t errlen);

#endif
