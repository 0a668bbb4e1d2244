/*
 * milterload.c - a milter load generator: many concurrent SMTP sessions,
 * each its own connection (tests/milter/miltc.c) and thread, speaking
 * milter protocol version 6 the way Postfix 3.7 does.  Issue 7, part 1.
 *
 * Usage: milterload -s SOCKET [-c SESSIONS] [-m MESSAGES] [-r RCPTS]
 *                   [-D DOMAIN,DOMAIN,...] [-d SECONDS | -n TOTAL]
 *                   [-w WARMUP] [-t TIMEOUT_MS] [-l LABEL]
 *   -s  filter socket (miltc_open forms: unix:PATH, inet:PORT@HOST, ...)
 *   -c  concurrent sessions (threads), default 16
 *   -m  messages per session (then QUIT and a new connection), default 1
 *   -r  recipients per message, default 3; recipient k of message j goes
 *       to domain (j + k) mod ndomains, so with r <= ndomains the
 *       recipients of one message are in distinct domains
 *   -D  recipient domains, comma-separated, default good.test,testing.test,
 *       charset.test
 *   -d  measure for SECONDS (default 5), after -w WARMUP seconds (default
 *       0) whose transactions are not counted; or
 *   -n  stop after TOTAL messages (no warm-up)
 *   -t  per-reply deadline in ms (default 10000)
 *   -l  a label repeated on the RESULT line
 *
 * One session, as Postfix's smtpd sends it (src/milter/milter8.c, default
 * milter_*_macros): negotiate (version 6, all actions, all protocol bits
 * offered); macros C (j, {daemon_name}, {daemon_addr}, v, _), connect
 * (AF_INET 127.0.0.1); macros H, helo; then per message: macros M (i,
 * {mail_addr}), mail; per recipient macros R (i, {rcpt_addr}, {rcpt_host},
 * {rcpt_mailer}=smtp) and rcpt; macros T, data; five headers; macros N,
 * eoh; a one-line body; macros E, eom; finally quit.  Events the filter
 * declined in negotiation (SMFIP_NO*) are not sent (miltc does that).
 *
 * Figures: a transaction is one message from MAIL to the EOM reply;
 * "MAIL..EOM" is that span's latency; "RCPT" is the latency of each
 * recipient (R macros sent to rcpt reply received), the figure that
 * RCPT-time filtering adds to an SMTP session.  Percentiles are
 * nearest-rank over every sample in the measured window.  The last line,
 * "RESULT key=value ...", is for tests/bench/run.sh.
 *
 * Exit: 0 when every session ran cleanly, 1 when any failed (the count
 * and the first error are printed), 2 on bad usage.
 *
 * Threads: each worker owns its miltc handle and its sample arrays; the
 * only shared state is the stop flag, the measuring window and the
 * message budget of -n (atomics).  main merges the samples after join.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../milter/miltc.h"

#define LOAD_MAX_SESSIONS 4096
#define LOAD_MAX_RCPTS 1000
#define LOAD_MAX_DOMAINS 64
#define LOAD_STACK_SIZE (256u * 1024)
#define LOAD_ADDR_MAX 320

struct load_opts {
    const char *spec;
    unsigned sessions, messages, rcpts;
    const char *domains[LOAD_MAX_DOMAINS];
    unsigned ndomains;
    double duration, warmup;
    unsigned long total; /* 0: run for duration */
    unsigned timeout_ms;
    const char *label;
};

/* Growable array of latencies in nanoseconds. */
struct load_samples {
    uint64_t *v;
    size_t n, cap;
};

struct load_worker {
    pthread_t tid;
    unsigned index;
    struct load_samples eom, rcpt;
    unsigned long tx;         /* transactions completed inside the window */
    unsigned long rcpt_ok;    /* rcpt replies "continue" (or noreply) */
    unsigned long rcpt_other; /* any other rcpt verdict (tempfail, ...) */
    unsigned long sessions, errors;
    unsigned long qid;
    char first_error[256];
};

static struct load_opts opts = {
    .sessions = 16,
    .messages = 1,
    .rcpts = 3,
    .duration = 5.0,
    .timeout_ms = 10000,
    .label = "-",
};

static atomic_bool load_stop;
static atomic_bool load_measuring;  /* samples count only while set */
static atomic_ulong load_claimed;   /* messages started, for -n */
static _Atomic int64_t load_end_ns; /* end of the window, 0 = open */

static int64_t load_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void load_sleep(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int load_push(struct load_samples *s, uint64_t ns)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *v = realloc(s->v, cap * sizeof *v);

        if (v == NULL)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = ns;
    return 0;
}

/* The sample counts when the window is open and it ended inside it. */
static bool load_in_window(int64_t end_ns)
{
    int64_t stop = atomic_load(&load_end_ns);

    return atomic_load(&load_measuring) && (stop == 0 || end_ns <= stop);
}

static void load_error(struct load_worker *w, struct miltc *m, const char *what, int rc)
{
    w->errors++;
    if (w->first_error[0] == '\0')
        snprintf(w->first_error, sizeof w->first_error, "%s: %s: %s", what, miltc_status_name(rc),
                 m != NULL ? miltc_error(m) : "");
}

/* Reserve one message of the -n budget; false when spent or stopping. */
static bool load_claim(void)
{
    if (atomic_load(&load_stop))
        return false;
    if (opts.total == 0)
        return true;
    if (atomic_fetch_add(&load_claimed, 1) < opts.total)
        return true;
    atomic_store(&load_stop, true);
    return false;
}

static bool load_verdict_ok(const struct miltc_reply *r)
{
    return r->outcome != MILTC_REPLIED || r->cmd == SMFIR_CONTINUE;
}

/* One message, MAIL to EOM.  Returns a miltc status; *what names the step. */
static int load_message(struct load_worker *w, struct miltc *m, unsigned j, const char **what)
{
    static const char *const headers[][2] = {
        {"From", " Bench Sender <sender@client.example>"},
        {"To", " Bench Recipient <u@good.test>"},
        {"Subject", " milterload"},
        {"Date", " Sat, 1 Jan 2022 00:00:00 +0000"},
        {"Message-ID", " <bench@client.example>"},
    };
    static const char body[] = "benchmark body line\r\n";
    char qid[32], rcpt_addr[LOAD_ADDR_MAX], rcpt_arg[LOAD_ADDR_MAX + 2];
    struct miltc_reply r;
    struct miltc_eom_result eom;
    int rc;

    snprintf(qid, sizeof qid, "B%02X%08lX", w->index & 0xff, w->qid++);
    const char *mmac[] = {"i", qid, "{mail_addr}", "sender@client.example", NULL};
    const char *mail[] = {"<sender@client.example>", "SIZE=1024", NULL};
    const char *imac[] = {"i", qid, NULL};
    int64_t t0 = load_now_ns();

    *what = "mail";
    if ((rc = miltc_macro(m, SMFIC_MAIL, mmac)) != MILTC_OK ||
        (rc = miltc_mail(m, mail, &r)) != MILTC_OK)
        return rc;
    for (unsigned k = 0; k < opts.rcpts; k++) {
        const char *dom = opts.domains[(j + k) % opts.ndomains];

        snprintf(rcpt_addr, sizeof rcpt_addr, "u%u@%s", k, dom);
        snprintf(rcpt_arg, sizeof rcpt_arg, "<%s>", rcpt_addr);
        const char *rmac[] = {
            "i", qid, "{rcpt_addr}", rcpt_addr, "{rcpt_host}", dom, "{rcpt_mailer}", "smtp", NULL};
        const char *rcpt[] = {rcpt_arg, NULL};
        int64_t r0 = load_now_ns();

        *what = "rcpt";
        if ((rc = miltc_macro(m, SMFIC_RCPT, rmac)) != MILTC_OK ||
            (rc = miltc_rcpt(m, rcpt, &r)) != MILTC_OK)
            return rc;
        int64_t r1 = load_now_ns();
        if (load_in_window(r1)) {
            if (load_push(&w->rcpt, (uint64_t)(r1 - r0)) != 0)
                return MILTC_ERR_NOMEM;
            if (load_verdict_ok(&r))
                w->rcpt_ok++;
            else
                w->rcpt_other++;
        }
    }
    *what = "data";
    if ((rc = miltc_macro(m, SMFIC_DATA, imac)) != MILTC_OK || (rc = miltc_data(m, &r)) != MILTC_OK)
        return rc;
    *what = "header";
    for (size_t h = 0; h < sizeof headers / sizeof headers[0]; h++)
        if ((rc = miltc_header(m, headers[h][0], headers[h][1], &r)) != MILTC_OK)
            return rc;
    *what = "eoh";
    if ((rc = miltc_macro(m, SMFIC_EOH, imac)) != MILTC_OK || (rc = miltc_eoh(m, &r)) != MILTC_OK)
        return rc;
    *what = "body";
    if ((rc = miltc_body(m, body, sizeof body - 1, &r)) != MILTC_OK)
        return rc;
    *what = "eom";
    if ((rc = miltc_macro(m, SMFIC_BODYEOB, imac)) != MILTC_OK ||
        (rc = miltc_eom(m, &eom)) != MILTC_OK)
        return rc;
    int64_t t1 = load_now_ns();
    if (load_in_window(t1)) {
        if (load_push(&w->eom, (uint64_t)(t1 - t0)) != 0)
            return MILTC_ERR_NOMEM;
        w->tx++;
    }
    return MILTC_OK;
}

/* One SMTP session: connect, helo, up to -m messages, quit. */
static void load_session(struct load_worker *w)
{
    static const char *const cmac[] = {"j",
                                       "mx-out.example.net",
                                       "{daemon_name}",
                                       "smtpd",
                                       "{daemon_addr}",
                                       "127.0.0.1",
                                       "v",
                                       "Postfix 3.7.11",
                                       "_",
                                       "client.example [127.0.0.1]",
                                       NULL};
    static const char *const hmac[] = {"{tls_version}", "TLSv1.3", "{cipher}",
                                       "TLS_AES_256_GCM_SHA384", NULL};
    char err[256] = "";
    struct miltc_reply r;
    const char *what = "negotiate";
    int rc;
    struct miltc *m = miltc_open(opts.spec, opts.timeout_ms, err, sizeof err);

    if (m == NULL) {
        w->errors++;
        if (w->first_error[0] == '\0')
            snprintf(w->first_error, sizeof w->first_error, "open: %s", err);
        load_sleep(0.01); /* a dead filter must not turn this into a busy loop */
        return;
    }
    w->sessions++;
    if ((rc = miltc_negotiate(m, NULL, NULL)) != MILTC_OK)
        goto fail;
    what = "connect";
    if ((rc = miltc_macro(m, SMFIC_CONNECT, cmac)) != MILTC_OK ||
        (rc = miltc_connect(m, "client.example", SMFIA_INET, 42000, "127.0.0.1", &r)) != MILTC_OK)
        goto fail;
    what = "helo";
    if ((rc = miltc_macro(m, SMFIC_HELO, hmac)) != MILTC_OK ||
        (rc = miltc_helo(m, "client.example", &r)) != MILTC_OK)
        goto fail;
    for (unsigned j = 0; j < opts.messages && load_claim(); j++)
        if ((rc = load_message(w, m, (unsigned)w->qid + w->index, &what)) != MILTC_OK)
            goto fail;
    what = "quit";
    if ((rc = miltc_quit(m)) != MILTC_OK)
        goto fail;
    miltc_close(m);
    return;
fail:
    load_error(w, m, what, rc);
    miltc_close(m);
}

static void *load_worker_main(void *arg)
{
    struct load_worker *w = arg;

    while (!atomic_load(&load_stop))
        load_session(w);
    return NULL;
}

static int load_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Merge the workers' samples of one kind, sorted. */
static int load_merge(struct load_worker *ws, size_t off, struct load_samples *all)
{
    size_t n = 0, at = 0;

    for (unsigned i = 0; i < opts.sessions; i++)
        n += ((struct load_samples *)((char *)&ws[i] + off))->n;
    all->n = all->cap = n;
    all->v = malloc((n ? n : 1) * sizeof *all->v);
    if (all->v == NULL)
        return -1;
    for (unsigned i = 0; i < opts.sessions; i++) {
        struct load_samples *s = (struct load_samples *)((char *)&ws[i] + off);

        if (s->n > 0)
            memcpy(all->v + at, s->v, s->n * sizeof *s->v);
        at += s->n;
    }
    qsort(all->v, n, sizeof *all->v, load_cmp);
    return 0;
}

/* Nearest-rank percentile in microseconds; 0 without samples. */
static double load_pct_us(const struct load_samples *s, double p)
{
    size_t k;

    if (s->n == 0)
        return 0.0;
    k = (size_t)(p * (double)s->n + 0.999999);
    k = k == 0 ? 0 : k - 1;
    if (k >= s->n)
        k = s->n - 1;
    return (double)s->v[k] / 1e3;
}

static void load_usage(void)
{
    fprintf(stderr, "usage: milterload -s SOCKET [-c SESSIONS] [-m MESSAGES] [-r RCPTS]\n"
                    "                  [-D DOMAIN,...] [-d SECONDS | -n TOTAL] [-w WARMUP]\n"
                    "                  [-t TIMEOUT_MS] [-l LABEL]\n");
    exit(2);
}

static unsigned long load_num(const char *s, unsigned long lo, unsigned long hi)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi)
        load_usage();
    return v;
}

static double load_secs(const char *s)
{
    char *end;
    double v = strtod(s, &end);

    if (*s == '\0' || *end != '\0' || !(v >= 0.0) || v > 86400.0)
        load_usage();
    return v;
}

static void load_domains(char *list)
{
    char *save = NULL;

    opts.ndomains = 0;
    for (char *d = strtok_r(list, ",", &save); d != NULL; d = strtok_r(NULL, ",", &save)) {
        if (opts.ndomains == LOAD_MAX_DOMAINS || strlen(d) > 253)
            load_usage();
        opts.domains[opts.ndomains++] = d;
    }
    if (opts.ndomains == 0)
        load_usage();
}

static void load_parse(int argc, char **argv)
{
    static char defaults[] = "good.test,testing.test,charset.test";
    int c;

    load_domains(defaults);
    while ((c = getopt(argc, argv, "s:c:m:r:D:d:n:w:t:l:")) != -1) {
        switch (c) {
        case 's':
            opts.spec = optarg;
            break;
        case 'c':
            opts.sessions = (unsigned)load_num(optarg, 1, LOAD_MAX_SESSIONS);
            break;
        case 'm':
            opts.messages = (unsigned)load_num(optarg, 1, 1000000);
            break;
        case 'r':
            opts.rcpts = (unsigned)load_num(optarg, 1, LOAD_MAX_RCPTS);
            break;
        case 'D':
            load_domains(optarg);
            break;
        case 'd':
            opts.duration = load_secs(optarg);
            break;
        case 'n':
            opts.total = load_num(optarg, 1, 1000000000);
            break;
        case 'w':
            opts.warmup = load_secs(optarg);
            break;
        case 't':
            opts.timeout_ms = (unsigned)load_num(optarg, 1, 600000);
            break;
        case 'l':
            opts.label = optarg;
            break;
        default:
            load_usage();
        }
    }
    if (opts.spec == NULL || optind != argc)
        load_usage();
}

int main(int argc, char **argv)
{
    struct load_worker *ws;
    struct load_samples eom, rcpt;
    pthread_attr_t attr;
    unsigned long tx = 0, ok = 0, other = 0, sessions = 0, errors = 0;
    const char *first_error = "";
    int64_t t0, t1 = 0;

    load_parse(argc, argv);
    ws = calloc(opts.sessions, sizeof *ws);
    if (ws == NULL) {
        fprintf(stderr, "milterload: out of memory\n");
        return 1;
    }
    atomic_store(&load_measuring, opts.total != 0 || opts.warmup == 0.0);
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, LOAD_STACK_SIZE);
    t0 = load_now_ns();
    for (unsigned i = 0; i < opts.sessions; i++) {
        ws[i].index = i;
        if ((errno = pthread_create(&ws[i].tid, &attr, load_worker_main, &ws[i])) != 0) {
            fprintf(stderr, "milterload: pthread_create: %s\n", strerror(errno));
            atomic_store(&load_stop, true);
            for (unsigned k = 0; k < i; k++)
                pthread_join(ws[k].tid, NULL);
            return 1;
        }
    }
    pthread_attr_destroy(&attr);
    if (opts.total == 0) {
        if (opts.warmup > 0.0) {
            load_sleep(opts.warmup);
            t0 = load_now_ns();
            atomic_store(&load_measuring, true);
        }
        load_sleep(opts.duration);
        t1 = load_now_ns();
        atomic_store(&load_end_ns, t1);
        atomic_store(&load_stop, true);
    }
    for (unsigned i = 0; i < opts.sessions; i++)
        pthread_join(ws[i].tid, NULL);
    if (opts.total != 0)
        t1 = load_now_ns();

    for (unsigned i = 0; i < opts.sessions; i++) {
        tx += ws[i].tx;
        ok += ws[i].rcpt_ok;
        other += ws[i].rcpt_other;
        sessions += ws[i].sessions;
        errors += ws[i].errors;
        if (first_error[0] == '\0' && ws[i].first_error[0] != '\0')
            first_error = ws[i].first_error;
    }
    if (load_merge(ws, offsetof(struct load_worker, eom), &eom) != 0 ||
        load_merge(ws, offsetof(struct load_worker, rcpt), &rcpt) != 0) {
        fprintf(stderr, "milterload: out of memory\n");
        return 1;
    }
    double secs = (double)(t1 - t0) / 1e9;
    double tps = secs > 0.0 ? (double)tx / secs : 0.0;

    printf("milterload: %s: %u sessions x %u msg x %u rcpt, %.2f s: %lu tx (%.1f tx/s), "
           "%lu sessions, %lu errors\n",
           opts.spec, opts.sessions, opts.messages, opts.rcpts, secs, tx, tps, sessions, errors);
    printf("  MAIL..EOM  p50 %9.1f us  p99 %9.1f us  max %9.1f us\n", load_pct_us(&eom, 0.50),
           load_pct_us(&eom, 0.99), load_pct_us(&eom, 1.0));
    printf("  RCPT       p50 %9.1f us  p99 %9.1f us  max %9.1f us  (%lu continue, %lu other)\n",
           load_pct_us(&rcpt, 0.50), load_pct_us(&rcpt, 0.99), load_pct_us(&rcpt, 1.0), ok, other);
    if (errors > 0)
        printf("  first error: %s\n", first_error);
    printf("RESULT label=%s tx=%lu secs=%.3f tps=%.1f eom_p50=%.1f eom_p99=%.1f rcpt_p50=%.1f "
           "rcpt_p99=%.1f rcpt_n=%zu rcpt_continue=%lu rcpt_other=%lu sessions=%lu errors=%lu\n",
           opts.label, tx, secs, tps, load_pct_us(&eom, 0.50), load_pct_us(&eom, 0.99),
           load_pct_us(&rcpt, 0.50), load_pct_us(&rcpt, 0.99), rcpt.n, ok, other, sessions, errors);
    for (unsigned i = 0; i < opts.sessions; i++) {
        free(ws[i].eom.v);
        free(ws[i].rcpt.v);
    }
    free(ws);
    free(eom.v);
    free(rcpt.v);
    return errors > 0 ? 1 : 0;
}
