/*
 * smapload.c - socketmap load generator for the benchmarks (issue 7,
 * parts 3 and 4): the same client for mtasts-milter's SocketMap server and
 * for postfix-mta-sts-resolver's mta-sts-daemon.
 *
 * Protocol: Postfix socketmap_table(5): request netstring "NAME KEY",
 * reply netstring "OK ...", "NOTFOUND ", "TEMP ...", "PERM ..."; requests
 * may be pipelined on one connection and are answered in order.
 *
 *   smapload -s inet:HOST:PORT|unix:PATH [-c CONNS] [-p PIPELINE]
 *            (-K FILE | -D KEY,KEY,...) [-m NAME] [-d SECONDS] [-w SECONDS]
 *            [-1] [-t TIMEOUT_MS] [-l LABEL]
 *
 * Rate mode (default): every connection (one thread each) sends
 * PIPELINE requests at once, cycling over the keys, reads the PIPELINE
 * replies, and repeats for -w warm-up then -d measured seconds; latency
 * is per request, from the batch's write to its reply.
 * Once mode (-1): every key exactly once, taken from a shared list by the
 * CONNS connections one request at a time (bounded concurrency): a cold
 * warm-up; reports the wall time until the last reply.
 *
 * Output: one line "RESULT label=... requests=N seconds=S rps=R p50_us=..
 * p99_us=.. max_us=.. ok=.. notfound=.. temp=.. perm=.. errors=..".
 * Every read and write has a deadline (-t, default 30000 ms).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAX_PIPELINE 256
#define REPLY_MAX 100000

static const char *opt_sock, *opt_name = "postfix", *opt_label = "smap";
static int opt_conns = 8, opt_pipeline = 1, opt_once = 0, opt_timeout_ms = 30000;
static double opt_secs = 3, opt_warm = 0.5;
static char **keys;
static size_t nkeys;

static atomic_size_t next_key;
static atomic_int stop_flag, measuring;
static double t_start_measure;

struct worker {
    pthread_t tid;
    int id;
    uint64_t requests, ok, notfound, temp, perm, errors;
    uint32_t *lat; /* microseconds */
    size_t nlat, caplat;
    char first_error[160];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fail(struct worker *w, const char *what)
{
    w->errors++;
    if (w->first_error[0] == '\0')
        snprintf(w->first_error, sizeof(w->first_error), "%s: %s", what,
                 errno ? strerror(errno) : "protocol");
}

static int connect_to(const char *spec)
{
    int fd;
    if (strncmp(spec, "unix:", 5) == 0) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", spec + 5);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
            close(fd);
            return -1;
        }
        return fd;
    }
    if (strncmp(spec, "inet:", 5) != 0)
        return -1;
    char host[64];
    const char *colon = strrchr(spec + 5, ':');
    if (colon == NULL || (size_t)(colon - spec - 5) >= sizeof(host))
        return -1;
    memcpy(host, spec + 5, (size_t)(colon - spec - 5));
    host[colon - spec - 5] = '\0';
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    /* loopback only: the benchmarks never leave 127.0.0.0/8 */
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1 || (ntohl(sin.sin_addr.s_addr) >> 24) != 127)
        return -1;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int wait_fd(int fd, short ev)
{
    struct pollfd p = {.fd = fd, .events = ev};
    int rc;
    do
        rc = poll(&p, 1, opt_timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        errno = ETIMEDOUT;
    return rc > 0 ? 0 : -1;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        if (wait_fd(fd, POLLOUT) != 0)
            return -1;
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A buffered reader of netstrings. */
struct reader {
    int fd;
    char buf[65536];
    size_t off, len;
};

static int fill(struct reader *r)
{
    if (r->off > 0 && r->off == r->len)
        r->off = r->len = 0;
    if (r->len == sizeof(r->buf)) {
        memmove(r->buf, r->buf + r->off, r->len - r->off);
        r->len -= r->off;
        r->off = 0;
    }
    if (wait_fd(r->fd, POLLIN) != 0)
        return -1;
    ssize_t n = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
    if (n <= 0) {
        if (n == 0)
            errno = ECONNRESET;
        return -1;
    }
    r->len += (size_t)n;
    return 0;
}

/* Read one netstring; its first word classifies it (0 OK, 1 NOTFOUND, 2 TEMP, 3 PERM). */
static int read_reply(struct reader *r, char *word, size_t wlen)
{
    size_t need = 0;
    for (;;) {
        char *colon = memchr(r->buf + r->off, ':', r->len - r->off);
        if (colon != NULL) {
            need = 0;
            for (char *p = r->buf + r->off; p < colon; p++) {
                if (*p < '0' || *p > '9' || need > REPLY_MAX)
                    return -1;
                need = need * 10 + (size_t)(*p - '0');
            }
            size_t hdr = (size_t)(colon - (r->buf + r->off)) + 1;
            if (need + hdr + 1 > sizeof(r->buf))
                return -1;
            while (r->len - r->off < hdr + need + 1) {
                if (r->off + hdr + need + 1 > sizeof(r->buf)) {
                    memmove(r->buf, r->buf + r->off, r->len - r->off);
                    r->len -= r->off;
                    r->off = 0;
                    colon = NULL;
                }
                if (fill(r) != 0)
                    return -1;
            }
            const char *data = r->buf + r->off + hdr;
            if (data[need] != ',')
                return -1;
            size_t n = 0;
            while (n < need && n + 1 < wlen && data[n] != ' ') {
                word[n] = data[n];
                n++;
            }
            word[n] = '\0';
            r->off += hdr + need + 1;
            return 0;
        }
        if (r->len - r->off > 12)
            return -1;
        if (fill(r) != 0)
            return -1;
    }
}

static void record(struct worker *w, const char *word, double lat_s)
{
    if (strcmp(word, "OK") == 0)
        w->ok++;
    else if (strcmp(word, "NOTFOUND") == 0)
        w->notfound++;
    else if (strcmp(word, "TEMP") == 0)
        w->temp++;
    else
        w->perm++;
    w->requests++;
    if (w->nlat == w->caplat) {
        size_t cap = w->caplat ? w->caplat * 2 : 65536;
        uint32_t *p = realloc(w->lat, cap * sizeof(*p));
        if (p == NULL)
            return;
        w->lat = p;
        w->caplat = cap;
    }
    w->lat[w->nlat++] = (uint32_t)(lat_s * 1e6);
}

static size_t put_request(char *buf, const char *key)
{
    size_t len = strlen(opt_name) + 1 + strlen(key);
    return (size_t)sprintf(buf, "%zu:%s %s,", len, opt_name, key);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct reader *r = calloc(1, sizeof(*r));
    char *out = malloc((size_t)opt_pipeline * 300);
    if (r == NULL || out == NULL) {
        fail(w, "malloc");
        goto done;
    }
    r->fd = connect_to(opt_sock);
    if (r->fd < 0) {
        fail(w, "connect");
        goto done;
    }
    size_t k = (size_t)w->id * 7919;
    while (!atomic_load(&stop_flag)) {
        size_t len = 0, batch = 0;
        if (opt_once) {
            size_t i = atomic_fetch_add(&next_key, 1);
            if (i >= nkeys)
                break;
            len = put_request(out, keys[i]);
            batch = 1;
        } else {
            for (; batch < (size_t)opt_pipeline; batch++)
                len += put_request(out + len, keys[k++ % nkeys]);
        }
        double t0 = now_s();
        if (write_all(r->fd, out, len) != 0) {
            fail(w, "write");
            break;
        }
        char word[16];
        for (size_t i = 0; i < batch; i++) {
            if (read_reply(r, word, sizeof(word)) != 0) {
                fail(w, "read");
                goto done;
            }
            if (opt_once || atomic_load(&measuring))
                record(w, word, now_s() - t0);
        }
    }
done:
    if (r != NULL && r->fd >= 0)
        close(r->fd);
    free(r);
    free(out);
    return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void load_keys(const char *file, const char *list)
{
    size_t cap = 1024;
    keys = malloc(cap * sizeof(*keys));
    char line[512];
    if (file != NULL) {
        FILE *f = fopen(file, "r");
        if (f == NULL) {
            perror(file);
            exit(2);
        }
        while (fgets(line, sizeof(line), f)) {
            line[strcspn(line, "\r\n")] = '\0';
            if (line[0] == '\0' || line[0] == '#')
                continue;
            if (nkeys == cap)
                keys = realloc(keys, (cap *= 2) * sizeof(*keys));
            keys[nkeys++] = strdup(line);
        }
        fclose(f);
    } else {
        char *copy = strdup(list), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (nkeys == cap)
                keys = realloc(keys, (cap *= 2) * sizeof(*keys));
            keys[nkeys++] = strdup(t);
        }
        free(copy);
    }
}

int main(int argc, char **argv)
{
    const char *kfile = NULL, *klist = NULL;
    int c;
    while ((c = getopt(argc, argv, "s:c:p:K:D:m:d:w:1t:l:")) != -1) {
        switch (c) {
        case 's':
            opt_sock = optarg;
            break;
        case 'c':
            opt_conns = atoi(optarg);
            break;
        case 'p':
            opt_pipeline = atoi(optarg);
            break;
        case 'K':
            kfile = optarg;
            break;
        case 'D':
            klist = optarg;
            break;
        case 'm':
            opt_name = optarg;
            break;
        case 'd':
            opt_secs = atof(optarg);
            break;
        case 'w':
            opt_warm = atof(optarg);
            break;
        case '1':
            opt_once = 1;
            break;
        case 't':
            opt_timeout_ms = atoi(optarg);
            break;
        case 'l':
            opt_label = optarg;
            break;
        default:
            fprintf(stderr, "usage: smapload -s inet:HOST:PORT|unix:PATH [-c N] [-p N] "
                            "(-K FILE|-D KEYS) [-m NAME] [-d S] [-w S] [-1] [-t MS] [-l LABEL]\n");
            return 2;
        }
    }
    if (opt_sock == NULL || (kfile == NULL && klist == NULL) || opt_conns < 1 || opt_pipeline < 1 ||
        opt_pipeline > MAX_PIPELINE) {
        fprintf(stderr, "smapload: -s and -K or -D are needed; 1 <= -p <= %d\n", MAX_PIPELINE);
        return 2;
    }
    load_keys(kfile, klist);
    if (nkeys == 0) {
        fprintf(stderr, "smapload: no keys\n");
        return 2;
    }

    struct worker *w = calloc((size_t)opt_conns, sizeof(*w));
    double t0 = now_s();
    if (opt_once)
        atomic_store(&measuring, 1);
    for (int i = 0; i < opt_conns; i++) {
        w[i].id = i;
        if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]) != 0) {
            fprintf(stderr, "smapload: pthread_create failed\n");
            return 1;
        }
    }
    double seconds;
    if (opt_once) {
        for (int i = 0; i < opt_conns; i++)
            pthread_join(w[i].tid, NULL);
        seconds = now_s() - t0;
    } else {
        struct timespec ws = {(time_t)opt_warm, (long)((opt_warm - (time_t)opt_warm) * 1e9)};
        nanosleep(&ws, NULL);
        t_start_measure = now_s();
        atomic_store(&measuring, 1);
        struct timespec ms = {(time_t)opt_secs, (long)((opt_secs - (time_t)opt_secs) * 1e9)};
        nanosleep(&ms, NULL);
        atomic_store(&measuring, 0);
        seconds = now_s() - t_start_measure;
        atomic_store(&stop_flag, 1);
        for (int i = 0; i < opt_conns; i++)
            pthread_join(w[i].tid, NULL);
    }

    uint64_t req = 0, ok = 0, nf = 0, temp = 0, perm = 0, errs = 0;
    size_t nlat = 0;
    for (int i = 0; i < opt_conns; i++)
        nlat += w[i].nlat;
    uint32_t *all = malloc((nlat ? nlat : 1) * sizeof(*all));
    size_t off = 0;
    const char *first_error = "";
    for (int i = 0; i < opt_conns; i++) {
        req += w[i].requests;
        ok += w[i].ok;
        nf += w[i].notfound;
        temp += w[i].temp;
        perm += w[i].perm;
        errs += w[i].errors;
        if (w[i].first_error[0] && first_error[0] == '\0')
            first_error = w[i].first_error;
        memcpy(all + off, w[i].lat, w[i].nlat * sizeof(*all));
        off += w[i].nlat;
    }
    qsort(all, nlat, sizeof(*all), cmp_u32);
    uint32_t p50 = nlat ? all[(nlat - 1) / 2] : 0, p99 = nlat ? all[(nlat * 99 + 99) / 100 - 1] : 0;
    uint32_t mx = nlat ? all[nlat - 1] : 0;
    if (first_error[0])
        printf("first error: %s\n", first_error);
    printf("RESULT label=%s conns=%d pipeline=%d keys=%zu requests=%llu seconds=%.3f rps=%.0f "
           "p50_us=%u p99_us=%u max_us=%u ok=%llu notfound=%llu temp=%llu perm=%llu errors=%llu\n",
           opt_label, opt_conns, opt_pipeline, nkeys, (unsigned long long)req, seconds,
           seconds > 0 ? (double)req / seconds : 0.0, p50, p99, mx, (unsigned long long)ok,
           (unsigned long long)nf, (unsigned long long)temp, (unsigned long long)perm,
           (unsigned long long)errs);
    return errs ? 1 : 0;
}
