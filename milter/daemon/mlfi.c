/*
 * mlfi.c - libmilter callbacks: each a short story that delegates.
 *
 *   connect  take a snapshot of the configuration for this connection
 *   envfrom  start a message
 *   envrcpt  judge the recipient (judge.c); tempfail it, or remember the
 *            verdict for the audit header
 *   header   count audit headers that came from outside (removed at eom)
 *   eom      remove those, add ours
 *   abort    forget the message;  close  forget the connection
 */
#include "mlfi.h"

#include <libmilter/mfapi.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>

#include "mtasts/audit_header.h"
#include "mtasts/judge.h"
#include "mtasts/log.h"

#define MLFI_ENTRIES_MAX 256     /* distinct (domain, verdict) pairs tagged per message */
#define MLFI_TLSRPT_MAX 64       /* domains whose failed discovery one message counts */
#define MLFI_WAKE_SIGNAL SIGUSR2 /* ends the accept loop's poll() at stop */
#define MLFI_WAKE_EVERY_MS 10    /* how often stop repeats it */
#define MLFI_STOP_MS 10000       /* stop gives up waiting for the loop after this */

static struct sts_engine *engine; /* set once before smfi_main, read-only after */

struct message {
    struct sts_audit_entry *entries;
    size_t n, cap;
    unsigned foreign_headers; /* audit headers already in the message */
    bool tlsrpt_exempt;       /* the envelope sender is our report sender */
    char **tlsrpt_counted;    /* domains counted once for this transaction */
    size_t ntlsrpt;
};

struct connection {
    struct sts_snapshot snap;
    struct message msg;
};

static void message_reset(struct message *m)
{
    free(m->entries);
    for (size_t i = 0; i < m->ntlsrpt; i++)
        free(m->tlsrpt_counted[i]);
    free(m->tlsrpt_counted);
    memset(m, 0, sizeof(*m));
}

/*
 * RFC 8460 §4.3.3: a transaction whose policy discovery failed is one
 * failed session of that domain, however many of its recipients it has.
 */
static void count_discovery(struct message *m, const struct sts_judgement *j)
{
    struct sts_tlsrpt_collect *c = sts_engine_tlsrpt(engine);
    if (c == NULL || m->tlsrpt_exempt || j->domain[0] == '\0' || m->ntlsrpt >= MLFI_TLSRPT_MAX)
        return;
    for (size_t i = 0; i < m->ntlsrpt; i++)
        if (strcmp(m->tlsrpt_counted[i], j->domain) == 0)
            return;
    if (m->tlsrpt_counted == NULL &&
        (m->tlsrpt_counted = calloc(MLFI_TLSRPT_MAX, sizeof(*m->tlsrpt_counted))) == NULL)
        return;
    char *copy = strdup(j->domain);
    if (copy == NULL)
        return;
    if (sts_tlsrpt_collect_discovery(c, j->domain, j->lookup_reason, j->lookup_fetch))
        m->tlsrpt_counted[m->ntlsrpt++] = copy;
    else
        free(copy);
}

static const char *queue_id(SMFICTX *ctx)
{
    const char *id = smfi_getsymval(ctx, "i");
    return id != NULL ? id : "NOQUEUE";
}

static void remember(struct message *m, const struct sts_judgement *j)
{
    struct sts_audit_entry e;
    sts_audit_header_entry_set(&e, j->domain, &j->route, &j->verdict);
    sts_audit_header_entry_set_tls(&e, j->tls);
    for (size_t i = 0; i < m->n; i++)
        if (sts_audit_header_entry_equal(&m->entries[i], &e))
            return;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 4;
        if (cap > MLFI_ENTRIES_MAX)
            return;
        struct sts_audit_entry *grown = realloc(m->entries, cap * sizeof(*grown));
        if (grown == NULL)
            return; /* the tag is best effort; the verdict stands */
        m->entries = grown;
        m->cap = cap;
    }
    m->entries[m->n++] = e;
}

static sfsistat mlfi_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
    (void)host;
    (void)addr;
    struct connection *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        sts_log(LOG_ERR, "event=connect reason=out-of-memory action=accept");
        return SMFIS_ACCEPT; /* never lose mail over our own failure */
    }
    sts_engine_acquire(engine, &c->snap);
    smfi_setpriv(ctx, c);
    return SMFIS_CONTINUE;
}

static sfsistat mlfi_envfrom(SMFICTX *ctx, char **argv)
{
    struct connection *c = smfi_getpriv(ctx);
    if (c == NULL)
        return SMFIS_ACCEPT;
    message_reset(&c->msg);
    c->msg.tlsrpt_exempt = argv != NULL && argv[0] != NULL &&
                           sts_tlsrpt_collect_exempt(sts_engine_tlsrpt(engine), argv[0]);
    return SMFIS_CONTINUE;
}

static sfsistat mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
    struct connection *c = smfi_getpriv(ctx);
    if (c == NULL || argv == NULL || argv[0] == NULL)
        return SMFIS_CONTINUE;

    struct sts_judgement j;
    sts_judge_rcpt(engine, &c->snap, argv[0], smfi_getsymval(ctx, "{rcpt_mailer}"),
                   smfi_getsymval(ctx, "{rcpt_host}"), &j);
    sts_judge_log(&c->snap, queue_id(ctx), argv[0], &j);
    count_discovery(&c->msg, &j);

    const struct sts_verdict *v = &j.verdict;
    if (v->action == STS_ACTION_TEMPFAIL) {
        if (smfi_setreply(ctx, (char *)v->reply.code, (char *)v->reply.xcode,
                          (char *)v->reply.text) != MI_SUCCESS)
            sts_log(LOG_WARNING, "%s: event=setreply-failed", queue_id(ctx));
        return SMFIS_TEMPFAIL;
    }
    if (c->snap.cfg->mode == STS_MILTER_AUDIT || c->snap.cfg->header_in_enforce)
        remember(&c->msg, &j);
    return SMFIS_CONTINUE;
}

static sfsistat mlfi_header(SMFICTX *ctx, char *name, char *value)
{
    (void)value;
    struct connection *c = smfi_getpriv(ctx);
    if (c != NULL && name != NULL && strcasecmp(name, c->snap.cfg->audit_header) == 0)
        c->msg.foreign_headers++;
    return SMFIS_CONTINUE;
}

static void add_audit_header(SMFICTX *ctx, struct connection *c)
{
    const char *name = c->snap.cfg->audit_header;
    /* Delete from the last so indexes stay valid: ours must not be forged. */
    for (unsigned i = c->msg.foreign_headers; i > 0; i--)
        smfi_chgheader(ctx, (char *)name, (int)i, NULL);
    if (c->msg.n == 0)
        return;
    char value[STS_AUDIT_HEADER_MAX + 1], err[128];
    size_t omitted = 0;
    if (sts_audit_header_format(c->msg.entries, c->msg.n, STS_AUDIT_FOLD_LF, strlen(name) + 2,
                                value, sizeof(value), &omitted, err, sizeof(err)) != STS_OK) {
        sts_log(LOG_WARNING, "%s: event=audit-header-failed reason=\"%s\"", queue_id(ctx), err);
        return;
    }
    if (smfi_insheader(ctx, 0, (char *)name, value) != MI_SUCCESS)
        sts_log(LOG_WARNING, "%s: event=audit-header-failed reason=insheader", queue_id(ctx));
}

static sfsistat mlfi_eom(SMFICTX *ctx)
{
    struct connection *c = smfi_getpriv(ctx);
    if (c == NULL)
        return SMFIS_CONTINUE;
    add_audit_header(ctx, c);
    message_reset(&c->msg);
    return SMFIS_CONTINUE;
}

static sfsistat mlfi_abort(SMFICTX *ctx)
{
    struct connection *c = smfi_getpriv(ctx);
    if (c != NULL)
        message_reset(&c->msg);
    return SMFIS_CONTINUE;
}

static sfsistat mlfi_close(SMFICTX *ctx)
{
    struct connection *c = smfi_getpriv(ctx);
    if (c != NULL) {
        message_reset(&c->msg);
        sts_snapshot_release(&c->snap);
        free(c);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

/* Ask the MTA not to send what we do not read: the body above all. */
static sfsistat mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                               unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                               unsigned long *pf2, unsigned long *pf3)
{
    (void)ctx;
    (void)f2;
    (void)f3;
    unsigned long want = SMFIF_ADDHDRS | SMFIF_CHGHDRS;
    if ((f0 & want) != want)
        return SMFIS_REJECT; /* the MTA cannot do what we need: it reads as a milter error */
    *pf0 = want;
    unsigned long skip = SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NOHELO;
    *pf1 = f1 & skip;
    *pf2 = 0;
    *pf3 = 0;
    return SMFIS_CONTINUE;
}

static struct smfiDesc filter = {
    .xxfi_name = "mtasts-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS,
    .xxfi_connect = mlfi_connect,
    .xxfi_envfrom = mlfi_envfrom,
    .xxfi_envrcpt = mlfi_envrcpt,
    .xxfi_header = mlfi_header,
    .xxfi_eom = mlfi_eom,
    .xxfi_abort = mlfi_abort,
    .xxfi_close = mlfi_close,
    .xxfi_negotiate = mlfi_negotiate,
};

enum sts_status sts_mlfi_register(struct sts_engine *rt, const char *socket, bool remove_stale,
                                  char *err, size_t errlen)
{
    engine = rt;
    if (smfi_setconn((char *)socket) != MI_SUCCESS)
        return sts_status_set(STS_EINVAL, err, errlen, "invalid milter socket \"%s\"", socket);
    if (smfi_register(filter) != MI_SUCCESS)
        return sts_status_set(STS_EIO, err, errlen, "smfi_register failed");
    if (smfi_opensocket(remove_stale) != MI_SUCCESS)
        return sts_status_set(STS_EIO, err, errlen, "cannot open milter socket \"%s\"", socket);
    return STS_OK;
}

/*
 * Stopping.  libmilter's accept loop (mi_listener) polls its socket for 5 s
 * (MI_CHK_TIME) between looks at the stop flag, holding its listener mutex,
 * and smfi_stop() waits for that mutex: a plain smfi_stop() took up to 5 s.
 * So stop calls smfi_stop() on a helper thread and meanwhile sends the loop's
 * thread MLFI_WAKE_SIGNAL (a no-op handler without SA_RESTART): poll() ends
 * with EINTR, the loop sees the flag and returns.  The signal is repeated
 * until the loop has returned, since one sent while it is between polls
 * would be lost.
 */
static pthread_t runner;
static atomic_bool running, run_over;

static void wake_handler(int sig)
{
    (void)sig;
}

int sts_mlfi_run(void)
{
    struct sigaction sa = {.sa_handler = wake_handler}; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    (void)sigaction(MLFI_WAKE_SIGNAL, &sa, NULL);
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, MLFI_WAKE_SIGNAL);
    pthread_sigmask(SIG_UNBLOCK, &wake, NULL);
    runner = pthread_self();
    atomic_store(&running, true);
    int rc = smfi_main();
    atomic_store(&run_over, true);
    return rc;
}

static void *stop_main(void *arg)
{
    (void)arg;
    smfi_stop();
    return NULL;
}

void sts_mlfi_stop(void)
{
    if (atomic_load(&run_over))
        return; /* libmilter stopped on its own (its signal thread took a signal) */
    pthread_t helper;
    if (!atomic_load(&running) || pthread_create(&helper, NULL, stop_main, NULL) != 0) {
        smfi_stop(); /* the slow way */
        return;
    }
    struct timespec tick = {0, MLFI_WAKE_EVERY_MS * 1000000L};
    for (int waited = 0; !atomic_load(&run_over) && waited < MLFI_STOP_MS;
         waited += MLFI_WAKE_EVERY_MS) {
        (void)pthread_kill(runner, MLFI_WAKE_SIGNAL);
        nanosleep(&tick, NULL);
    }
    pthread_join(helper, NULL);
}
