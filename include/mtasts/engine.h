/*
 * engine.h - the one engine behind the three front doors: the milter's
 * RCPT callbacks (mlfi.c), the socketmap server (socketmap.c) and the
 * mtasts(1) tool.  Each builds it the same way, from one configuration
 * snapshot (mtasts-milter.conf(5); the tool's flags override single keys),
 * and asks it the same questions (judge.h).
 *
 * What it holds: the configuration and overrides snapshots, the resolver
 * (dns.h), the store (store.h), the policy cache (cache.h), the MX memo
 * (mx_cache.h), the MX hosts' DANE facts (dane.h), the STARTTLS probe
 * context and the probe cache (probe.h, probe_cache.h).
 *
 * Locking protocol: the current configuration and overrides are two
 * refcounted immutable snapshots behind one mutex, held only to copy the
 * two pointers and take references (sts_engine_acquire()); a connection
 * keeps the snapshot it acquired until it closes, so a reload never
 * changes the rules in the middle of a transaction.  Reload builds both
 * new snapshots completely before swapping them; a bad file keeps the old
 * ones.  The parts are created once by sts_engine_new() and shared; their
 * own headers give their thread rules.  Keys that are not reloadable are
 * read from the start-up snapshot the parts were built from.
 *
 * Ownership: the parts returned by the accessors belong to the engine and
 * live until sts_engine_free().
 */
#ifndef MTASTS_ENGINE_H
#define MTASTS_ENGINE_H

#include <stddef.h>

#include "mtasts/cache.h"
#include "mtasts/config.h"
#include "mtasts/dane.h"
#include "mtasts/dns.h"
#include "mtasts/mx_cache.h"
#include "mtasts/overrides.h"
#include "mtasts/probe.h"
#include "mtasts/probe_cache.h"
#include "mtasts/status.h"
#include "mtasts/store.h"
#include "mtasts/tlsrpt_collect.h"

/* How sts_engine_new() builds the engine (bits). */
#define STS_ENGINE_ONE_SHOT 1u /* a tool's run: no background refreshers */
#define STS_ENGINE_NO_STORE 2u /* memory only: the Store is not opened (live checks) */

struct sts_engine;

/** A connection's view: references on the snapshots current at acquire. */
struct sts_snapshot {
    const struct sts_config *cfg;
    const struct sts_overrides *ov; /* may be NULL: no OverridesFile */
};

/**
 * Build the engine from a loaded configuration (takes over its
 * reference): loads the overrides, opens the store, starts the resolver
 * and the caches' threads.  The daemon
 * calls it before libmilter starts its threads, after any fork().
 * @param path  the file cfg was loaded from, re-read by sts_engine_reload()
 *              (NULL or "": no reload)
 * @param flags STS_ENGINE_* bits
 * @return STS_OK, or the failing part's status (err names it); cfg is
 *         released on failure too
 */
enum sts_status sts_engine_new(struct sts_config *cfg, const char *path, unsigned flags,
                               struct sts_engine **out, char *err, size_t errlen);

/** Stop the caches' threads, close the store and the resolver, free; NULL is a no-op. */
void sts_engine_free(struct sts_engine *e);

/** Take references on the current snapshots (any thread). */
void sts_engine_acquire(struct sts_engine *e, struct sts_snapshot *snap);

/** Drop them; safe on a zeroed snapshot. */
void sts_snapshot_release(struct sts_snapshot *snap);

/**
 * Re-read the configuration file and the overrides file; swap them in
 * when both load.  Keys that need a restart keep their old values and are
 * named in the log.
 * @return STS_OK, or the load error (old snapshots kept)
 */
enum sts_status sts_engine_reload(struct sts_engine *e, char *err, size_t errlen);

/** The start-up configuration the parts were built from (valid until free). */
const struct sts_config *sts_engine_config(const struct sts_engine *e);

/** The parts; store is NULL with STS_ENGINE_NO_STORE. */
struct sts_dns *sts_engine_dns(const struct sts_engine *e);
struct sts_store *sts_engine_store(const struct sts_engine *e);
struct sts_cache *sts_engine_cache(const struct sts_engine *e);
struct sts_mx_cache *sts_engine_mx(const struct sts_engine *e);
struct sts_dane *sts_engine_dane(const struct sts_engine *e);
/** True when the daemon runs without its store (unwritable at start: memory only). */
bool sts_engine_store_degraded(const struct sts_engine *e);

/** The TLS-RPT collector (TLSRPT yes, a store, not one-shot), else NULL. */
struct sts_tlsrpt_collect *sts_engine_tlsrpt(const struct sts_engine *e);

struct sts_probe_cache *sts_engine_probes(const struct sts_engine *e);
const struct sts_probe_ctx *sts_engine_probe_ctx(const struct sts_engine *e);

/** The EHLO name probes use: HeloName, else the host name, else "localhost". */
const char *sts_engine_helo(const struct sts_engine *e);

#endif
