/*
 * store_growth.c - memory and store growth (issue 7, part 5): synthesise N
 * policies into an SQLite store through sts_store_put(), then, in a fresh
 * process, look every domain up once through sts_cache_lookup() (loading
 * the cache's in-memory front from the store) and time warm lookups.
 *
 * Usage: store_growth [-d DIR] [-l LOOKUPS] [-f FRONT] N...
 *   -d  where the databases go (default "."; each is removed afterwards)
 *   -l  lookups timed per size and kind (default 200000)
 *   -f  the front cache's bound (max_entries; default 0: the cache's own
 *       default, 65536)
 * For each N, one line: put rate, file size, the lookup process's peak
 * RSS (getrusage ru_maxrss) and its growth over the process before any
 * lookup, divided by N (bytes per cached policy), the store-load lookup
 * rate, warm lookup p50/p99 (nearest rank, each lookup timed alone) and
 * uniform lookup p50/p99 with its front-hit share.  "Warm": random domains
 * of the hot set, the 10,000 most recently used (the same size at every N,
 * so that the column shows what N itself costs), all in the front (a
 * lookup that is not counts in "misses").
 * "Uniform": random domains of all N; with N above the bound most are
 * loaded from the store, as a domain the MTA has not used lately would be.
 * Then the targets of the issue: RSS <= 64 MiB at the largest N, warm p99
 * at the largest N at most 2x that at the smallest.
 *
 * Each phase runs in its own child process so ru_maxrss is that phase's
 * alone: "fill" (store only) and "lookup" (store + resolver + cache).  The
 * resolver is created because the cache requires one; it is never asked
 * (every policy is fresh, so no discovery or TXT re-check is due, and the
 * refresher is off).  Nothing touches the network.
 *
 * Rows: domain dNNNNNNN.bench.test, id idNNNNNNN, an enforce policy with
 * two mx patterns and max_age 604800: the shape of a typical real policy.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mtasts/cache.h"
#include "mtasts/dns.h"
#include "mtasts/policy.h"
#include "mtasts/store.h"

#define GROWTH_MAX_SIZES 16

struct growth_row {
    unsigned long n;
    double put_per_s, file_mib, rss_mib, rss_base_mib, bytes_per_entry;
    double load_per_s, p50_us, p99_us, u50_us, u99_us, u_front;
    unsigned long misses;
    int ok;
};

static const char *growth_dir = ".";
static unsigned long growth_lookups = 200000;
static size_t growth_front;
#define GROWTH_HOT 10000ul

static double growth_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long growth_maxrss_kib(void)
{
    struct rusage ru;

    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

static void growth_domain(char *buf, size_t len, unsigned long i)
{
    snprintf(buf, len, "d%07lu.bench.test", i);
}

static void growth_path(char *buf, size_t len, unsigned long n)
{
    snprintf(buf, len, "%s/growth-%lu.db", growth_dir, n);
}

static void growth_remove(unsigned long n)
{
    char path[4096], aux[4200];

    growth_path(path, sizeof path, n);
    (void)unlink(path);
    snprintf(aux, sizeof aux, "%s-wal", path);
    (void)unlink(aux);
    snprintf(aux, sizeof aux, "%s-shm", path);
    (void)unlink(aux);
}

/* Child: put n rows; write the put rate and file size to fd. */
static int growth_fill(unsigned long n, FILE *out)
{
    char path[4096], spec[4200], err[256], body[256];
    struct sts_store *store = NULL;
    int64_t now = (int64_t)time(NULL);
    struct stat st;

    growth_remove(n);
    growth_path(path, sizeof path, n);
    snprintf(spec, sizeof spec, "sqlite:%s", path);
    if (sts_store_open(spec, &store, err, sizeof err) != STS_OK) {
        fprintf(stderr, "store_growth: open %s: %s\n", spec, err);
        return 1;
    }
    double t0 = growth_now();
    for (unsigned long i = 0; i < n; i++) {
        struct sts_store_entry e = {
            .fetched_at = now, .expires_at = now + 604800, .checked_at = now, .last_used = now};

        growth_domain(e.domain, sizeof e.domain, i);
        snprintf(e.id, sizeof e.id, "id%07lu", i);
        int len = snprintf(body, sizeof body,
                           "version: STSv1\nmode: enforce\nmx: mx1.%s\nmx: *.backup.bench.test\n"
                           "max_age: 604800\n",
                           e.domain);
        if (sts_policy_parse(body, (size_t)len, &e.policy, err, sizeof err) != STS_OK ||
            sts_store_put(store, &e, err, sizeof err) != STS_OK) {
            fprintf(stderr, "store_growth: row %lu: %s\n", i, err);
            sts_store_entry_clear(&e);
            sts_store_close(store);
            return 1;
        }
        sts_store_entry_clear(&e);
    }
    double secs = growth_now() - t0;
    sts_store_close(store); /* the last close checkpoints the WAL into the file */
    if (stat(path, &st) != 0) {
        fprintf(stderr, "store_growth: stat %s: %s\n", path, strerror(errno));
        return 1;
    }
    fprintf(out, "%.1f %.3f\n", secs > 0 ? (double)n / secs : 0.0,
            (double)st.st_size / (1024.0 * 1024.0));
    return 0;
}

static int growth_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double growth_pct(const double *v, size_t n, double p)
{
    size_t k = (size_t)(p * (double)n + 0.999999);

    k = k == 0 ? 0 : k - 1;
    return n == 0 ? 0.0 : v[k < n ? k : n - 1];
}

/* Child: load every domain through the cache, then time warm lookups. */
static int growth_lookup(unsigned long n, FILE *out)
{
    char path[4096], spec[4200], err[256], dom[STS_DOMAIN_MAX + 1];
    struct sts_store *store = NULL;
    struct sts_dns *dns = NULL;
    struct sts_cache *cache = NULL;
    struct sts_dns_config dcfg = {.forwarders = "127.0.0.1@9", .timeout_ms = 1000};
    unsigned long misses = 0;
    uint64_t x = 0x9e3779b97f4a7c15u;
    double *lat = malloc((growth_lookups ? growth_lookups : 1) * sizeof *lat);

    growth_path(path, sizeof path, n);
    snprintf(spec, sizeof spec, "sqlite:%s", path);
    if (lat == NULL || sts_store_open(spec, &store, err, sizeof err) != STS_OK ||
        sts_dns_new(&dcfg, &dns, err, sizeof err) != STS_OK) {
        fprintf(stderr, "store_growth: setup: %s\n", lat == NULL ? "out of memory" : err);
        return 1;
    }
    struct sts_cache_config ccfg = {
        .dns = dns, .store = store, .max_fetches = 1, .max_entries = growth_front};
    if (sts_cache_new(&ccfg, &cache, err, sizeof err) != STS_OK) {
        fprintf(stderr, "store_growth: cache: %s\n", err);
        return 1;
    }
    long base = growth_maxrss_kib();
    double t0 = growth_now();
    for (unsigned long i = 0; i < n; i++) {
        struct sts_cache_result r;

        growth_domain(dom, sizeof dom, i);
        (void)sts_cache_lookup(cache, dom, 1000, &r);
        if (r.outcome != STS_LOOKUP_POLICY || r.source != STS_SOURCE_STORE)
            misses++;
        sts_cache_result_clear(&r);
    }
    double load = growth_now() - t0;
    /* the hot set: the most recently used domains, the last ones loaded */
    unsigned long hot = n < GROWTH_HOT ? n : GROWTH_HOT;
    double warm50 = 0, warm99 = 0;
    unsigned long uniform_front = 0;
    for (int kind = 0; kind < 2; kind++) {
        for (unsigned long k = 0; k < growth_lookups; k++) {
            struct sts_cache_result r;

            x ^= x << 13; /* xorshift64: a spread of domains, no pattern to cache */
            x ^= x >> 7;
            x ^= x << 17;
            unsigned long i =
                kind == 0 ? n - hot + (unsigned long)(x % hot) : (unsigned long)(x % n);
            growth_domain(dom, sizeof dom, i);
            double a = growth_now();
            (void)sts_cache_lookup(cache, dom, 1000, &r);
            bool front = r.outcome == STS_LOOKUP_POLICY && r.source == STS_SOURCE_FRONT;
            sts_cache_result_clear(&r);
            lat[k] = (growth_now() - a) * 1e6;
            if (kind == 0)
                misses += !front;
            else
                uniform_front += front;
        }
        qsort(lat, growth_lookups, sizeof *lat, growth_cmp);
        if (kind == 0) {
            warm50 = growth_pct(lat, growth_lookups, 0.50);
            warm99 = growth_pct(lat, growth_lookups, 0.99);
        }
    }
    long peak = growth_maxrss_kib();
    fprintf(out, "%.1f %.1f %.1f %.3f %.3f %lu %.3f %.3f %.4f\n", (double)peak / 1024.0,
            (double)base / 1024.0, load > 0 ? (double)n / load : 0.0, warm50, warm99, misses,
            growth_pct(lat, growth_lookups, 0.50), growth_pct(lat, growth_lookups, 0.99),
            (double)uniform_front / (double)growth_lookups);
    sts_cache_free(cache);
    sts_dns_free(dns);
    sts_store_close(store);
    free(lat);
    return 0;
}

/* Run phase in a child; read its one line of figures back. */
static int growth_phase(int (*phase)(unsigned long, FILE *), unsigned long n, char *line,
                        size_t len)
{
    int fds[2], status;
    pid_t pid;

    fflush(stdout);
    if (pipe(fds) != 0 || (pid = fork()) < 0) {
        fprintf(stderr, "store_growth: pipe/fork: %s\n", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        FILE *out = fdopen(fds[1], "w");

        close(fds[0]);
        _exit(out != NULL && phase(n, out) == 0 && fclose(out) == 0 ? 0 : 1);
    }
    close(fds[1]);
    FILE *in = fdopen(fds[0], "r");
    line[0] = '\0';
    if (in == NULL || fgets(line, (int)len, in) == NULL)
        line[0] = '\0';
    if (in != NULL)
        fclose(in);
    else
        close(fds[0]);
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return line[0] != '\0' ? 0 : -1;
}

static void growth_usage(void)
{
    fprintf(stderr, "usage: store_growth [-d DIR] [-l LOOKUPS] [-f FRONT] N...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct growth_row rows[GROWTH_MAX_SIZES];
    size_t nrows = 0;
    char line[256], *end;
    int c, rc = 0;

    while ((c = getopt(argc, argv, "d:l:f:")) != -1) {
        switch (c) {
        case 'f':
            growth_front = strtoul(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0')
                growth_usage();
            break;
        case 'd':
            growth_dir = optarg;
            break;
        case 'l':
            growth_lookups = strtoul(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || growth_lookups == 0)
                growth_usage();
            break;
        default:
            growth_usage();
        }
    }
    if (optind == argc || argc - optind > GROWTH_MAX_SIZES)
        growth_usage();
    printf("%9s %9s %9s %9s %8s %9s %10s %10s %7s %10s %10s %7s\n", "policies", "puts/s",
           "file MiB", "RSS MiB", "B/entry", "loads/s", "warm p50", "warm p99", "misses",
           "unif p50", "unif p99", "front%");
    for (int i = optind; i < argc; i++) {
        struct growth_row *r = &rows[nrows];

        memset(r, 0, sizeof *r);
        r->n = strtoul(argv[i], &end, 10);
        if (*argv[i] == '\0' || *end != '\0' || r->n == 0)
            growth_usage();
        if (growth_phase(growth_fill, r->n, line, sizeof line) != 0 ||
            sscanf(line, "%lf %lf", &r->put_per_s, &r->file_mib) != 2 ||
            growth_phase(growth_lookup, r->n, line, sizeof line) != 0 ||
            sscanf(line, "%lf %lf %lf %lf %lf %lu %lf %lf %lf", &r->rss_mib, &r->rss_base_mib,
                   &r->load_per_s, &r->p50_us, &r->p99_us, &r->misses, &r->u50_us, &r->u99_us,
                   &r->u_front) != 9) {
            printf("%9lu failed (see above)\n", r->n);
            growth_remove(r->n);
            rc = 1;
            continue;
        }
        growth_remove(r->n);
        r->bytes_per_entry = (r->rss_mib - r->rss_base_mib) * 1024.0 * 1024.0 / (double)r->n;
        r->ok = 1;
        printf(
            "%9lu %9.0f %9.1f %9.1f %8.0f %9.0f %7.2f us %7.2f us %7lu %7.2f us %7.2f us %6.1f%%\n",
            r->n, r->put_per_s, r->file_mib, r->rss_mib, r->bytes_per_entry, r->load_per_s,
            r->p50_us, r->p99_us, r->misses, r->u50_us, r->u99_us, r->u_front * 100.0);
        nrows++;
    }
    if (nrows > 0 && rows[nrows - 1].ok) {
        struct growth_row *lo = &rows[0], *hi = &rows[nrows - 1];
        double growth = lo->p99_us > 0 ? hi->p99_us / lo->p99_us : 0.0;

        if (hi->n >= 1000000)
            printf("target: RSS <= 64 MiB at 1M policies: %.1f MiB at %lu: %s\n", hi->rss_mib,
                   hi->n, hi->rss_mib <= 64.0 ? "met" : "NOT met");
        else
            printf("target: RSS <= 64 MiB at 1M policies: not measured (largest %lu, %.1f MiB; "
                   "the front is bounded, so RSS stops growing at the bound)\n",
                   hi->n, hi->rss_mib);
        if (nrows > 1) {
            printf("target: warm p99 growth %lu -> %lu <= 2x: %.2fx: %s\n", lo->n, hi->n, growth,
                   growth <= 2.0 ? "met" : "NOT met");
            double ug = lo->u99_us > 0 ? hi->u99_us / lo->u99_us : 0.0;
            printf(
                "(not a target: uniform p99 growth %lu -> %lu: %.2fx, %.1f%% front hits at %lu)\n",
                lo->n, hi->n, ug, hi->u_front * 100.0, hi->n);
        }
    }
    return rc;
}
