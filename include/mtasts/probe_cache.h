/*
 * probe_cache.h - "is the STARTTLS of this MX host good enough, now?"
 *
 * The TLS state of MX hosts, judged by STARTTLS probes (probe.h) and kept
 * so that the RCPT path reads results and never waits on a handshake
 * beyond the milter's deadline:
 *   - a memory front (sharded hash, one mutex per shard, never held across
 *     I/O, at most front_max entries, least recently read evicted) answers
 *     warm gets without touching SQLite;
 *   - behind it the store's probe rows (store.h), so a restart does not
 *     re-probe what is known;
 *   - a miss or an expired result queues one probe job per key (single
 *     flight: concurrent gets of one key share it) on a pool of
 *     max_concurrent workers (the global cap on probes in flight); at most
 *     queue_max jobs wait, beyond that a new one is dropped and the get
 *     reports pending, to be retried by a later get;
 *   - a get waits for the job at most wait_ms; past that it returns
 *     pending and the job finishes in the background;
 *   - a background refresher re-probes hosts marked used within
 *     recent_use_s shortly before their result expires, so a busy enforce
 *     domain's MX hosts stay warm, and drops from memory what has not been
 *     used for that long (the store keeps it).
 *
 * The DANE decision per MX host (RFC 7672), made by the job:
 *   1. mx_dnssec BOGUS: result dnssec-invalid at once, nothing probed or
 *      cached (§2.1.1: a bogus MX RRset is a failed lookup; the caller
 *      must not trust the host name).
 *   2. Addresses: A, then AAAA, of the host.  Either RRset BOGUS ->
 *      dnssec-invalid.  No address at all -> unreachable ("no address");
 *      both lookups failed (SERVFAIL/timeout) -> unreachable.
 *   3. DANE applies only when the MX RRset is SECURE (§2.2.1) and the
 *      address RRsets found are SECURE too (§2.2.2: TLSA records are
 *      looked up only for hosts whose addresses validate).  Then the TLSA
 *      RRset of _<port>._tcp.<host> (§2.2.3; CNAME expansion of the host
 *      name, §2.2.2, is not followed: the name as given is the TLSA base):
 *        - BOGUS -> dnssec-invalid (§2.2: the host must not be used);
 *        - SERVFAIL or timeout -> dnssec-invalid too.  RFC 7672 §2.2 says
 *          a host whose TLSA lookup fails must not be used (no silent
 *          downgrade to WebPKI or cleartext), and RFC 8460 §4.3.2 names
 *          exactly this case ("The request returned with SERVFAIL for the
 *          requested TLSA record") dnssec-invalid.  A postmaster reading
 *          "dnssec-invalid ... TLSA lookup: servfail" knows to look at the
 *          destination's DNS; the result is kept for ttl_fail_s only, so a
 *          passing DNS hiccup heals within minutes.  A local resolver
 *          error (shutdown, memory) is not a verdict: nothing is cached;
 *        - SECURE with usable records -> a DANE probe with those records.
 *          Usable (§3.1): usage DANE-TA(2) or DANE-EE(3), selector 0 or 1,
 *          matching type 0, 1 (32-byte digest) or 2 (64-byte digest);
 *          PKIX-TA(0)/PKIX-EE(1) are not usable for SMTP (§3.1.3), nor
 *          are unknown parameters or digests of the wrong length;
 *        - SECURE with records none of which is usable, SECURE
 *          NXDOMAIN/NODATA, or INSECURE -> a WebPKI probe (MTA-STS,
 *          RFC 8461 §4.2), dane = false.
 *   4. Probe the addresses in order (A before AAAA, at most
 *      STS_PROBE_CACHE_ADDRS of them) until one gives a result that is
 *      not unreachable; that result is the host's (RFC 7672 §2.2 and
 *      RFC 8461 §4.2 both judge each connection; the first address that
 *      answers stands for the host, as an MTA would deliver there).
 *   5. require_dane (a site rule for the domain): a result that is not
 *      DANE (dane == false, and not already a DNSSEC failure) reads as
 *      dane-required.  This is derived at read time from the cached row,
 *      so one row serves callers that require DANE and callers that do
 *      not.
 * Lifetimes: pass ttl_pass_s, any failure or unreachable ttl_fail_s.
 *
 * Cache key: (host, port, whether the MX RRset was SECURE): the same host
 * reached through a secure and an insecure MX RRset is judged twice, as
 * only the first may use DANE.  The port is fixed per cache.
 *
 * Logs: one line per probe job, "probe host=H addr=A result=R dane=yes|no
 * ms=N detail=\"...\"", through log (LOG_INFO for pass, LOG_WARNING
 * otherwise); refresher and store errors also.
 *
 * Locking protocol: shard mutexes of the front (an lru_map, lru_map.h),
 * then the queue mutex of the probe pool (a job_pool, job_pool.h: jobs,
 * counts, stopping); never the other way round; no mutex is held
 * across DNS, probe or store I/O.  Entries stay allocated while a job or
 * a waiting get refers to them.
 *
 * Ownership: the cache borrows dns, store and probe; they must outlive it
 * (sts_probe_cache_free() first).  Results are copied into the caller's
 * struct sts_tls_verdict (vocab.h).
 */
#ifndef MTASTS_PROBE_CACHE_H
#define MTASTS_PROBE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtasts/dane.h"
#include "mtasts/dns.h"
#include "mtasts/log.h"
#include "mtasts/probe.h"
#include "mtasts/status.h"
#include "mtasts/store.h"

/** Addresses tried per host (A first, then AAAA). */
#define STS_PROBE_CACHE_ADDRS 4

struct sts_probe_cache_config {
    struct sts_dns *dns;               /* borrowed: A/AAAA/TLSA lookups */
    struct sts_dane *dane;             /* borrowed: the hosts' DANE facts (dane.h); NULL: a
                                          private one on dns and port */
    struct sts_store *store;           /* borrowed; NULL = memory only */
    const struct sts_probe_ctx *probe; /* borrowed */
    unsigned port;                     /* 0 = 25; TLSA name is _<port>._tcp.<host> */
    const char *helo_name;             /* NULL = "localhost"; copied */
    unsigned probe_timeout_ms;         /* one probe, 0 = 10000 */
    unsigned ttl_pass_s;               /* 0 = 3600 */
    unsigned ttl_fail_s;               /* 0 = 300 (also unreachable) */
    unsigned max_concurrent;           /* global cap on probes in flight, 0 = 8 */
    unsigned queue_max;                /* waiting probes beyond which new ones are
                                          dropped (result stays pending), 0 = 1024 */
    unsigned refresh_interval_s;       /* refresher wake-up, 0 = 60; the refresher
                                          re-probes recently used hosts before they
                                          expire */
    unsigned recent_use_s;             /* 0 = 86400 */
    unsigned front_max;                /* memory entries, 0 = 65536 */
    sts_log_fn *log;                   /* log.h; NULL = silent */
    void *log_arg;
    int64_t (*clock)(void *arg); /* test clock (Unix seconds), NULL = time() */
    void *clock_arg;
    /* After each probe job with a verdict, on the worker, no lock held:
       requester is the domain whose get queued it (sts_probe_cache_get_for),
       NULL for the refresher's.  The TLS-RPT session source. NULL = none. */
    void (*on_probe)(void *arg, const char *host, bool mx_secure, const struct sts_tls_verdict *v,
                     const char *requester);
    void *on_probe_arg;
};

/** Where a get's answer came from. */
enum sts_mx_tls_source {
    STS_MX_TLS_NONE = 0, /* pending, or decided without a probe (bogus MX) */
    STS_MX_TLS_MEMORY,   /* the memory front */
    STS_MX_TLS_STORE,    /* a store row, loaded by this get */
    STS_MX_TLS_PROBE,    /* a probe this get waited for */
};

struct sts_probe_cache;

/**
 * Create the cache and start its workers and refresher.  Rows of the
 * store used within recent_use_s are loaded into memory (so the
 * refresher keeps them warm after a restart).
 * @return STS_OK, STS_EINVAL (no dns or no probe context), STS_ENOMEM
 */
enum sts_status sts_probe_cache_new(const struct sts_probe_cache_config *cfg,
                                    struct sts_probe_cache **out, char *err, size_t errlen);

/**
 * Stop the refresher and the workers and free; NULL is a no-op.  Jobs
 * still queued are dropped; running probes are waited for (each is
 * bounded by probe_timeout_ms per address plus the DNS timeouts).
 * No get may be running or start.
 */
void sts_probe_cache_free(struct sts_probe_cache *pc);

/**
 * The TLS state of one MX host.  Thread-safe; out is always filled.
 * @param mx_host   the MX host name, normalised (lower case, no final dot)
 * @param mx_dnssec the DNSSEC status of the MX RRset it came from: DANE
 *                  applies only when SECURE (RFC 7672 §2.2.1); BOGUS ->
 *                  dnssec-invalid without probing
 * @param require_dane the site demands DANE for this domain: a result
 *                  that is not DANE-authenticated reads dane-required
 * @param wait_ms   how long the caller may block for a fresh probe (0:
 *                  only what is known; a missing or expired entry starts
 *                  a probe in the background and returns pending).  The
 *                  call never blocks longer than this (plus a store read
 *                  on the first get of a host since start).
 * @param mark_used note the host for the background refresher (the
 *                  milter marks the MX hosts of enforce-mode domains)
 * @param out       receives the verdict (known false: pending, with the
 *                  reason in detail)
 * @param source    receives where it came from; may be NULL
 */
void sts_probe_cache_get(struct sts_probe_cache *pc, const char *mx_host, enum sts_dnssec mx_dnssec,
                         bool require_dane, unsigned wait_ms, bool mark_used,
                         struct sts_tls_verdict *out, enum sts_mx_tls_source *source);

/**
 * sts_probe_cache_get() for a recipient domain: a probe this get queues
 * is reported to on_probe with requester (copied) as the domain it was
 * made for.
 */
void sts_probe_cache_get_for(struct sts_probe_cache *pc, const char *requester, const char *mx_host,
                             enum sts_dnssec mx_dnssec, bool require_dane, unsigned wait_ms,
                             bool mark_used, struct sts_tls_verdict *out,
                             enum sts_mx_tls_source *source);

/**
 * Wait until no probe job is queued or running, at most timeout_ms.
 * For tests and the CLI.
 * @return STS_OK when idle, STS_EIO if still busy at the timeout
 */
enum sts_status sts_probe_cache_wait_idle(struct sts_probe_cache *pc, unsigned timeout_ms);

/**
 * Forget a host in memory (both keys), e.g. after "mtasts cache purge
 * --probes"; the next get loads from the store, or probes.  A running
 * probe of it still records its result.
 */
void sts_probe_cache_forget(struct sts_probe_cache *pc, const char *mx_host);

/** Counters, for tests and statistics. */
struct sts_probe_cache_stats {
    uint64_t probes;  /* probe jobs run to the end (each may try several addresses) */
    uint64_t dropped; /* jobs not queued: queue_max reached, or out of memory */
    unsigned running; /* jobs running now */
    unsigned queued;  /* jobs waiting now */
};

/** A snapshot of the counters. */
void sts_probe_cache_stats(struct sts_probe_cache *pc, struct sts_probe_cache_stats *out);

/** "none", "memory", "store", "probe". */
const char *sts_mx_tls_source_name(enum sts_mx_tls_source s);

#endif
