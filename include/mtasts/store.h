/*
 * store.h - the persistent policy cache, on SQLite.
 *
 * Only the files of the store module include <sqlite3.h>: store.c (the
 * connection pool, the schema, open/close), store_policy.c (the policy
 * rows), store_probe.c (the probe rows, below) and store_tlsrpt.c (the
 * TLS-RPT rows), sharing the pool through milter/engine/store_int.h.
 * The store is opened from a spec string:
 * "sqlite:/var/lib/mtasts/cache.db" (or a bare path, same thing); other
 * backends can be added behind the same functions later.  A spec
 * that starts with any other "scheme:" (a letter, then letters, digits,
 * "+", "-" or ".", then ":") is an unknown backend: write a relative path
 * that looks like one as "sqlite:a:b.db" or "./a:b.db".
 *
 * The database is in WAL mode, its schema versioned through PRAGMA
 * user_version and migrated forward on open; a database of a newer
 * schema than this build knows is refused (STS_EIO), never modified.
 *
 * Locking protocol: any function may be called from any thread at once,
 * except sts_store_close(), which must be the last call.  A pool of up to
 * 4 connections, opened on demand, each with its prepared statements,
 * serves the callers: a function borrows one under the store mutex (held
 * only for the hand-over, never during SQL), waiting on a condition
 * variable while all are lent, and gives it back before it returns.
 * Between connections and processes SQLite's file locks serialise
 * writers; a caller waits for them (busy_timeout, then retries) up to
 * 5 seconds before it gets STS_EIO "database is locked".  The milter's
 * hot path does not come here at all: the cache module keeps an
 * in-memory front.
 *
 * Keys: domain is used as given (1 to STS_DOMAIN_MAX bytes; callers pass
 * it normalized, see sts_domain_normalize()), id 1 to STS_TXT_ID_MAX
 * bytes; anything else is STS_EINVAL.
 *
 * Errors: every failure writes a one-line reason into err; SQLite's own
 * (sqlite3_errmsg) is part of it.  STS_ENOMEM may come from any function.
 *
 * Ownership: struct sts_store_entry owns its policy (sts_policy_free() via
 * sts_store_entry_clear()); the store copies what it is given.
 */
#ifndef MTASTS_STORE_H
#define MTASTS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/domain.h"
#include "mtasts/policy.h"
#include "mtasts/status.h"
#include "mtasts/tlsrpt_agg.h"
#include "mtasts/txt.h"
#include "mtasts/vocab.h"

/** One cached policy of one domain. Times are Unix seconds. */
struct sts_store_entry {
    char domain[STS_DOMAIN_MAX + 1];
    char id[STS_TXT_ID_MAX + 1]; /* the TXT id the policy was fetched under */
    struct sts_policy *policy;   /* owned */
    int64_t fetched_at;          /* last successful HTTPS fetch */
    int64_t expires_at;          /* validated_at + max_age */
    int64_t checked_at;          /* last time the TXT id was seen unchanged */
    int64_t last_used;           /* last lookup by the milter (for refresh) */
};

/** A domain known to have no MTA-STS indicator, until a time. */
struct sts_store_negative {
    char domain[STS_DOMAIN_MAX + 1];
    int64_t until;
    char reason[64];
};

struct sts_store;

/**
 * Open (creating or migrating) the store named by spec.
 * @return STS_OK, STS_EINVAL (unknown backend, bad path), STS_EIO
 *         (SQLite error: the reason is in err) or STS_ENOMEM
 */
enum sts_status sts_store_open(const char *spec, struct sts_store **out, char *err, size_t errlen);

/** What a failed or repaired open found (sts_store_open2()). */
struct sts_store_open_info {
    bool damaged;        /* not a database, corrupt, or truncated */
    bool quarantined;    /* ... and moved to moved_to; a fresh store was created */
    bool unwritable;     /* read-only file or filesystem, full, or cannot be created */
    char moved_to[4200]; /* where the damaged file went */
    char why[512];       /* the open's error, also when repaired */
};

/**
 * sts_store_open() for the daemon: with repair, a damaged store file (not
 * a database, corrupt at open, or shorter than its header says) is moved
 * aside to PATH.corrupt-UNIXTIME (with its -wal and -shm) and a fresh
 * store is created in its place.  A store of a newer schema is never
 * touched.  info (may be NULL) says what happened: on failure whether the
 * store is unwritable (the caller may run without one) or damaged.
 * @return as sts_store_open()
 */
enum sts_status sts_store_open2(const char *spec, bool repair, struct sts_store **out,
                                struct sts_store_open_info *info, char *err, size_t errlen);

/**
 * The files the store named by spec keeps, for a daemon that opens it as
 * root and then hands its files to the user it becomes: for sqlite the
 * database and its "-wal" and "-shm" files (which need not exist yet).
 * The paths are as the spec gives them (relative if it is); no I/O.
 * @param fn  called once per file, in that order; path is valid during the call
 * @return STS_OK; STS_EINVAL (a spec sts_store_open() refuses: reason in err)
 */
enum sts_status sts_store_files(const char *spec, void (*fn)(const char *path, void *arg),
                                void *arg, char *err, size_t errlen);

/** Close every pooled connection; NULL is a no-op. */
void sts_store_close(struct sts_store *store);

/**
 * Look up a domain's policy.  *out is overwritten (clear it first if it
 * held a policy); on STS_OK it owns a new policy.  A stored body that no
 * longer parses is STS_ENOTFOUND (reason in err), so that a fetch replaces it.
 * @return STS_OK, STS_ENOTFOUND or STS_EIO
 */
enum sts_status sts_store_get(struct sts_store *store, const char *domain,
                              struct sts_store_entry *out, char *err, size_t errlen);

/**
 * Insert or replace a domain's policy, all in one transaction with
 * dropping the domain's negative entry and the back-off of (domain,
 * entry->id).  The policy is stored as sts_policy_format() writes it.
 * @return STS_OK, STS_EINVAL (bad key, no policy, or a policy whose
 *         canonical form does not parse back) or STS_EIO
 */
enum sts_status sts_store_put(struct sts_store *store, const struct sts_store_entry *entry,
                              char *err, size_t errlen);

/** Update only checked_at / expires_at (same id seen again).  STS_ENOTFOUND if absent. */
enum sts_status sts_store_refresh(struct sts_store *store, const char *domain, int64_t checked_at,
                                  int64_t expires_at, char *err, size_t errlen);

/**
 * Record a use: last_used = now, unless it is later already.  Cheap, may
 * be batched by callers.  STS_ENOTFOUND if the domain has no policy.
 */
enum sts_status sts_store_touch(struct sts_store *store, const char *domain, int64_t now, char *err,
                                size_t errlen);

/** Delete one domain (policy, negative and backoff rows).  STS_ENOTFOUND if absent. */
enum sts_status sts_store_delete(struct sts_store *store, const char *domain, char *err,
                                 size_t errlen);

/**
 * Delete everything (policies, negative and backoff rows).  *count (if
 * count is not NULL) receives the number of policies removed.
 */
enum sts_status sts_store_delete_all(struct sts_store *store, size_t *count, char *err,
                                     size_t errlen);

/**
 * Call fn for every cached policy, in domain order (bytewise); stop early
 * if fn returns non-zero (still STS_OK).  The entry passed to fn is valid
 * during the call only.  Rows are read in batches and no connection is
 * held while fn runs, so fn may call any store function, and a long walk
 * does not hold a read transaction open; the walk is not a snapshot: a
 * row written meanwhile may or may not be seen, and none is seen twice.
 * A row whose body no longer parses is skipped.
 */
enum sts_status sts_store_foreach(struct sts_store *store,
                                  int (*fn)(const struct sts_store_entry *entry, void *arg),
                                  void *arg, char *err, size_t errlen);

/**
 * Negative cache: get (STS_ENOTFOUND if none, or expired: until <= now;
 * out may be NULL), put (insert or replace; the reason is kept up to its
 * NUL or the end of the array).
 */
enum sts_status sts_store_negative_get(struct sts_store *store, const char *domain, int64_t now,
                                       struct sts_store_negative *out, char *err, size_t errlen);
enum sts_status sts_store_negative_put(struct sts_store *store,
                                       const struct sts_store_negative *neg, char *err,
                                       size_t errlen);

/**
 * Fetch back-off per (domain, id): after a failed fetch no new fetch for
 * that pair until "until".  get returns STS_OK with *until (if until is
 * not NULL) when one is active at now (until > now), else STS_ENOTFOUND.
 * put inserts or replaces; reason may be NULL.
 */
enum sts_status sts_store_backoff_get(struct sts_store *store, const char *domain, const char *id,
                                      int64_t now, int64_t *until, char *err, size_t errlen);
enum sts_status sts_store_backoff_put(struct sts_store *store, const char *domain, const char *id,
                                      int64_t until, const char *reason, char *err, size_t errlen);

/*
 * Probe rows (store_probe.c): the TLS state of one MX host, as the probe
 * cache (probe_cache.h) last judged it.  Key: (host, port, mx_secure) -
 * mx_secure is whether the MX RRset the host came from was DNSSEC-secure,
 * since that decides whether DANE applies (RFC 7672 §2.2.1), so one host
 * can have two rows.  host is used as given (1 to STS_DOMAIN_MAX bytes,
 * normalised by the caller), port 1 to 65535.  The verdict's result is
 * kept as its word (sts_tls_result_name(), vocab.h); a row whose word this
 * build does not know is treated as absent.  Text fields are kept up to
 * their NUL or the end of the array.
 */
struct sts_store_probe {
    char host[STS_DOMAIN_MAX + 1];
    unsigned port;
    bool mx_secure;
    struct sts_tls_verdict tls; /* known is always true in a row read back */
    int64_t last_used;          /* last use by the milter (for the refresher) */
};

/**
 * One probe row.  Expired rows are returned too (the caller compares
 * expires_at with its clock).
 * @return STS_OK, STS_ENOTFOUND, STS_EINVAL (bad key) or STS_EIO
 */
enum sts_status sts_store_probe_get(struct sts_store *store, const char *host, unsigned port,
                                    bool mx_secure, struct sts_store_probe *out, char *err,
                                    size_t errlen);

/**
 * Insert or replace a probe row; last_used becomes the later of the
 * stored one and row->last_used, so a re-probe does not lose a use.
 * @return STS_OK, STS_EINVAL (bad key or a result out of range) or STS_EIO
 */
enum sts_status sts_store_probe_put(struct sts_store *store, const struct sts_store_probe *row,
                                    char *err, size_t errlen);

/** last_used = max(last_used, now) of one row.  STS_ENOTFOUND if absent. */
enum sts_status sts_store_probe_touch(struct sts_store *store, const char *host, unsigned port,
                                      bool mx_secure, int64_t now, char *err, size_t errlen);

/**
 * Delete every row of host (any port, secure or not); *count (if not
 * NULL) receives how many.  STS_ENOTFOUND if there was none.
 */
enum sts_status sts_store_probe_delete(struct sts_store *store, const char *host, size_t *count,
                                       char *err, size_t errlen);

/** Delete every probe row; *count (if not NULL) receives how many. */
enum sts_status sts_store_probe_delete_all(struct sts_store *store, size_t *count, char *err,
                                           size_t errlen);

/**
 * Call fn for every probe row in (host, port, mx_secure) order, stopping
 * early if fn returns non-zero (still STS_OK).  Same rules as
 * sts_store_foreach(): read in batches, no connection held while fn runs,
 * not a snapshot.  The row passed to fn is valid during the call only.
 */
enum sts_status sts_store_probe_foreach(struct sts_store *store,
                                        int (*fn)(const struct sts_store_probe *row, void *arg),
                                        void *arg, char *err, size_t errlen);

/** Release what an entry owns and zero it; safe on a zeroed entry. */
/*
 * TLS-RPT results (store_tlsrpt.c): the rows of struct sts_tlsrpt_batch
 * (tlsrpt_agg.h), counts added on every write.
 */

/**
 * Add a batch in one transaction: policy rows add their ok/fail counts,
 * detail rows their count.  A detail row new to its (day, policy domain)
 * is skipped once that pair has max_details rows (0 = 1000; RFC 8460
 * receivers cap what they read, and HELO strings are the peer's choice);
 * its sessions stay in the policy row's failure count.
 * @param skipped receives the detail rows skipped by the cap (may be NULL)
 * @return STS_OK, STS_EIO (nothing of the batch written), STS_ENOMEM
 */
enum sts_status sts_store_tlsrpt_add(struct sts_store *store, const struct sts_tlsrpt_batch *b,
                                     size_t max_details, size_t *skipped, char *err, size_t errlen);

/**
 * Append the rows of a day and/or a policy domain (NULL: all) to out,
 * policy rows first, ordered by day and domain.
 * @param bad receives the rows this build cannot read (skipped; may be NULL)
 * @return STS_OK, STS_EIO, STS_ENOMEM
 */
enum sts_status sts_store_tlsrpt_load(struct sts_store *store, const char *day, const char *domain,
                                      struct sts_tlsrpt_batch *out, size_t *bad, char *err,
                                      size_t errlen);

/**
 * Delete the rows of every day before before_day ("YYYY-MM-DD").
 * @param count receives the rows deleted (may be NULL)
 */
enum sts_status sts_store_tlsrpt_purge(struct sts_store *store, const char *before_day,
                                       size_t *count, char *err, size_t errlen);

void sts_store_entry_clear(struct sts_store_entry *entry);

/** The schema version this build writes (PRAGMA user_version). */
int sts_store_schema_version(void);

#endif
