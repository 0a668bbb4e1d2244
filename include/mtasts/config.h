/*
 * config.h - the milter's configuration: one table, one file format,
 * refcounted immutable snapshots.
 *
 * The key table in config_keys.c is the single source of truth: every key's
 * name, type, default, bounds, reloadability and one-line description.
 * The parser, sts_config_dump(), the tests and (through
 * tests/cli/config_docs.sh) the man page mtasts-milter.conf(5) and the
 * sample contrib/mtasts-milter.conf all follow it.
 *
 * File format (like opendkim.conf): one "Name value" per line; names are
 * ASCII case-insensitive; the value is the rest of the line with the
 * surrounding blanks removed; a "#" at the start of a line or after a
 * blank starts a comment; blank lines are ignored.  A key whose default
 * is empty may be written without a value to mean "empty".  Unknown keys,
 * values that do not parse or are out of bounds, keys given twice and
 * control characters are errors "FILE:LINE: reason" (STS_EINVAL); the
 * whole file is refused, nothing of it is applied.
 *
 * Value syntax per type:
 *   string    the rest of the line, checked per key (socket, path, ...)
 *   bool      yes/no, true/false, on/off, 1/0 (any case)
 *   uint      decimal digits, within the key's bounds
 *   duration  digits with an optional unit ms, s, m, h or d (bare digits
 *             are seconds); keys kept in seconds refuse fractions of a
 *             second ("1500ms"), keys kept in milliseconds accept them
 *   enum      one word of the key's list (any case)
 *   list      items separated by commas and/or blanks
 *
 * Ownership and locking protocol: sts_config_load()/sts_config_parse()
 * return a snapshot holding one reference.  A snapshot never changes
 * after it is returned, so any number of threads may read its fields
 * without a lock.  sts_config_ref() and sts_config_unref() use an atomic
 * counter and may be called from any thread; the last unref frees the
 * snapshot and every string in it.  Pointers read from a snapshot are
 * valid while the reader holds a reference.
 *
 * Reload (SIGHUP): the daemon loads the new file completely into a new
 * snapshot; on failure it logs the error and keeps the old one (the
 * functions here never modify *out on failure).  On success it swaps its
 * "current" pointer under its own mutex and unrefs the old snapshot; a
 * thread that took a reference to the old one (per connection, say) keeps
 * reading it until it drops it.  Keys marked not reloadable are wired
 * into long-lived objects at start-up (socket, resolver, store, fetch
 * settings, privileges, logging sink): the daemon keeps reading those
 * from its start-up snapshot, which it must keep referenced for as long
 * as those objects borrow its strings, and logs the ones a reload changed
 * (sts_config_restart_keys()) as needing a restart.
 */
#ifndef MTASTS_CONFIG_H
#define MTASTS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "mtasts/status.h"
#include "mtasts/learn.h"
#include "mtasts/vocab.h"

/*
 * Paths from configure (--sysconfdir, --localstatedir, --runstatedir):
 * Makefile.am passes them as -D flags, and the defaults below, the only
 * installation paths in the code, are built on them.
 */
#define STS_CONFIG_DEFAULT_FILE STS_SYSCONFDIR "/mtasts-milter/mtasts-milter.conf"
#define STS_CONFIG_DEFAULT_SOCKET "unix:" STS_RUNSTATEDIR "/mtasts-milter/milter.sock"
#define STS_CONFIG_DEFAULT_STORE "sqlite:" STS_LOCALSTATEDIR "/lib/mtasts-milter/cache.db"

/* Refuse configuration files and lines larger than these. */
#define STS_CONFIG_FILE_MAX (1024 * 1024)
#define STS_CONFIG_LINE_MAX 4096
/* Items of one list key (TrustedRelays). */
#define STS_CONFIG_LIST_MAX 256
/* The longest AuditHeader field name accepted. */
#define STS_CONFIG_HEADER_MAX 64

/** A list value: count items, each NUL-terminated, owned by the snapshot. */
struct sts_config_list {
    size_t count;
    char **items;
};

/*
 * One snapshot.  Fields are read-only for everyone but config.c.  String
 * fields are NULL when the value is empty.  Durations carry their unit in
 * the field name.
 */
struct sts_config {
    char *file; /* the file it was loaded from, or the name given to parse */

    /* the milter */
    char *socket;              /* Socket: unix:PATH | inet:PORT[@HOST] | inet6:PORT[@HOST] */
    enum sts_milter_mode mode; /* Mode */
    char *user_id;             /* UserID: "user" or "user:group"; NULL = keep */
    char *pid_file;            /* PidFile */

    /* discovery and cache */
    char *store;                       /* Store: backend spec, see store.h */
    char *resolver;                    /* Resolver: forwarders; NULL = system */
    char *trust_anchor_file;           /* TrustAnchorFile; NULL = no DNSSEC */
    char *ca_file;                     /* CAFile; NULL = system store */
    unsigned dns_timeout_ms;           /* DNSTimeout */
    unsigned fetch_connect_timeout_ms; /* FetchConnectTimeout */
    unsigned fetch_timeout_ms;         /* FetchTimeout */
    unsigned max_concurrent_fetches;   /* MaxConcurrentFetches */
    unsigned negative_cache_ttl_s;     /* NegativeCacheTTL */
    unsigned dns_failure_ttl_s;        /* DNSFailureTTL */
    unsigned recheck_interval_s;       /* RecheckInterval */
    unsigned fetch_backoff_s;          /* FetchBackoff */
    unsigned refresh_interval_s;       /* RefreshInterval; 0 = no refresher */
    unsigned refresh_window_s;         /* RefreshWindow */
    unsigned recent_use_s;             /* RecentUse */
    bool allow_private_targets;        /* AllowPrivateTargets */
    unsigned policy_port;              /* PolicyPort */

    /* the verdict */
    unsigned lookup_deadline_ms;           /* LookupDeadline */
    struct sts_config_list trusted_relays; /* TrustedRelays, normalised */
    char *overrides_file;                  /* OverridesFile */
    enum sts_action on_dns_error;          /* OnDNSError */
    enum sts_action on_discovery_timeout;  /* OnDiscoveryTimeout */
    enum sts_action on_store_error;        /* OnStoreError */
    enum sts_action on_internal_error;     /* OnInternalError */
    char *audit_header;                    /* AuditHeader */
    /* route verification: STARTTLS probes and DANE */
    bool tls_checks;                /* TLSChecks */
    unsigned probe_port;            /* ProbePort */
    unsigned probe_timeout_ms;      /* ProbeTimeout */
    unsigned probe_ttl_s;           /* ProbeTTL */
    unsigned probe_failure_ttl_s;   /* ProbeFailureTTL */
    unsigned max_concurrent_probes; /* MaxConcurrentProbes */
    char *helo_name;                /* HeloName; NULL = the host name */
    enum sts_action on_tls_unknown; /* OnTLSUnknown */
    enum sts_learn_mode learn_tls;  /* LearnTLS */
    unsigned learn_period_s;        /* LearnPeriod */
    /* the socketmap policy server */
    char *socketmap;                /* SocketMap; NULL = off */
    unsigned socketmap_deadline_ms; /* SocketMapDeadline */
    bool socketmap_tlsrpt;          /* SocketMapTLSRPT */
    bool socketmap_strict_testing;  /* SocketMapStrictTesting */
    bool header_in_enforce;         /* HeaderInEnforce */
    /* the metrics listener */
    char *metrics; /* Metrics: unix:PATH | inet:PORT[@HOST] | inet6:...; NULL = off */
    /* TLS reporting (RFC 8460) */
    bool tlsrpt;               /* TLSRPT */
    char *tlsrpt_socket;       /* TLSRPTSocket; NULL = off */
    char *tlsrpt_sender;       /* TLSRPTSender; NULL = none */
    char *tlsrpt_organization; /* TLSRPTOrganization */
    char *tlsrpt_contact;      /* TLSRPTContact */

    /* logging */
    bool syslog;         /* Syslog */
    int syslog_facility; /* SyslogFacility, as a LOG_* facility of <syslog.h> */
    char *log_file;      /* LogFile; "-" = stderr; NULL = none */
    int log_level;       /* LogLevel, as a LOG_* priority: LOG_ERR..LOG_DEBUG */
};

enum sts_config_type {
    STS_CONFIG_STRING = 0,
    STS_CONFIG_BOOL,
    STS_CONFIG_UINT,
    STS_CONFIG_DURATION,
    STS_CONFIG_ENUM,
    STS_CONFIG_LIST,
};

/**
 * Checks a string value or a list item and writes the form to keep into out
 * (the value itself, or its normalised form).
 */
typedef enum sts_status sts_config_check_fn(const char *value, char *out, size_t outlen, char *err,
                                            size_t errlen);

/** One row of the key table. */
struct sts_config_key {
    const char *name;            /* as documented, e.g. "LookupDeadline" */
    enum sts_config_type type;   /* value syntax */
    const char *def;             /* the default, as it would be written; "" = empty */
    bool reloadable;             /* takes effect on SIGHUP */
    bool empty_ok;               /* the value may be empty */
    bool millis;                 /* DURATION: kept in milliseconds, else seconds */
    unsigned long min, max;      /* UINT: bounds; DURATION: bounds in the key's unit */
    const char *const *choices;  /* ENUM: the words, NULL-terminated */
    const int *values;           /* ENUM: the value stored per word; NULL = index */
    const char *desc;            /* one line for the sample file and -n -v */
    size_t offset_;              /* private: where the value lives in struct sts_config */
    sts_config_check_fn *check_; /* private: extra check of a STRING or LIST item */
};

/**
 * Load a configuration file.
 * @param path the file
 * @param out  receives a new snapshot holding one reference; untouched on failure
 * @param err  receives "FILE:LINE: reason" (or "FILE: reason") on failure
 * @return STS_OK; STS_EIO (cannot read), STS_ETOOBIG (over STS_CONFIG_FILE_MAX),
 *         STS_EINVAL (a bad line), STS_ENOMEM
 */
enum sts_status sts_config_load(const char *path, struct sts_config **out, char *err,
                                size_t errlen);

/**
 * Parse configuration text (for tests, and "defaults only" with len 0).
 * @param text the bytes (need not be NUL-terminated; NULL when len is 0)
 * @param len  their number
 * @param name the name to use in messages and in out->file
 * @param out  as for sts_config_load()
 * @return as for sts_config_load(), less STS_EIO
 */
enum sts_status sts_config_parse(const char *text, size_t len, const char *name,
                                 struct sts_config **out, char *err, size_t errlen);

/**
 * Take one more reference on a snapshot (atomic; any thread).
 * @return cfg; NULL when cfg is NULL
 */
const struct sts_config *sts_config_ref(const struct sts_config *cfg);

/** Drop a reference (atomic; any thread); the last one frees.  NULL is a no-op. */
void sts_config_unref(const struct sts_config *cfg);

/** Drop the reference sts_config_load() returned: the same as sts_config_unref(). */
void sts_config_free(struct sts_config *cfg);

/**
 * Print every key in table order with its effective value, one "Name value"
 * line each (a key whose value is empty as "Name" alone), in a form
 * sts_config_parse() reads back to the same snapshot.  For -n -v.
 */
void sts_config_dump(const struct sts_config *cfg, FILE *fp);

/**
 * Print the key table, one "Name<TAB>type<TAB>reload|restart<TAB>default"
 * line per key in table order: type is string, bool, uint, duration, enum
 * or list; reload when the key takes effect on SIGHUP; default as it would
 * be written in the file (empty: nothing after the last tab).  For --keys,
 * which tests/cli/config_docs.sh reads to check the documentation.
 * @param fp where to write
 */
void sts_config_dump_keys(FILE *fp);

/**
 * Format one key's effective value as sts_config_dump() would.
 * @return STS_OK; STS_ENOTFOUND (no such key); STS_ETOOBIG (buf too small,
 *         truncated)
 */
enum sts_status sts_config_format(const struct sts_config *cfg, const char *name, char *buf,
                                  size_t buflen);

/**
 * Names of the keys that are not reloadable and whose values differ between
 * two snapshots, separated by ", " (as many whole names as fit in out).
 * @return how many differ
 */
size_t sts_config_restart_keys(const struct sts_config *oldcfg, const struct sts_config *newcfg,
                               char *out, size_t outlen);

/** The number of rows of the key table. */
size_t sts_config_key_count(void);

/** Row i of the key table (static storage), or NULL past the end. */
const struct sts_config_key *sts_config_key_at(size_t i);

/** The row of a key, by ASCII case-insensitive name, or NULL. */
const struct sts_config_key *sts_config_key_find(const char *name);

#endif
