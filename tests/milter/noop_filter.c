/*
 * noop_filter.c - a minimal libmilter filter: the baseline for benchmarks
 * (with no option every callback returns SMFIS_CONTINUE and the filter asks
 * for no action) and the peer of miltc's self-test (the options below).
 *
 * Usage: noop_filter -p SOCKET [-H] [-e] [-m] [-T] [-S] [-P HEX] [-d LEVEL]
 *   -p SOCKET  unix:PATH, inet:PORT@HOST, inet6:PORT@HOST (smfi_setconn);
 *              a stale unix socket is removed
 *   -H         at eom add the header "X-Noop: 1"
 *   -e         at eom add "X-Noop-Trace: ..." listing what the callbacks
 *              saw: connect host/addr, helo, the macros j, {daemon_name},
 *              i, {rcpt_mailer}, {rcpt_host}, {rcpt_addr}, mail, each rcpt,
 *              data, header count, eoh, body bytes; reset by eom and abort
 *   -m         at eom request every other modification once: insheader,
 *              chgheader, delete header, addrcpt, addrcpt_par, delrcpt,
 *              chgfrom, replacebody, quarantine
 *   -T         trigger words: a recipient whose local part is tempfail,
 *              multiline, replyreject, reject, discard or accept gets that
 *              answer; a HELO name starting "reject" or "accept" gets that;
 *              a body chunk starting "skip" gets SMFIS_SKIP
 *   -S         ask for macro lists (smfi_setsymlist): R "{rcpt_mailer}
 *              {rcpt_host}", E "i"
 *   -P HEX     ask for these SMFIP_* protocol bits in xxfi_negotiate;
 *              callbacks whose SMFIP_NR_* bit is among them answer
 *              SMFIS_NOREPLY
 *   -d LEVEL   smfi_setdbg
 * Stops on SIGTERM/SIGINT (libmilter's signal thread calls smfi_stop).
 *
 * State: the options are set before smfi_main and read-only after; each
 * connection has a struct noop_conn (smfi_setpriv), allocated at its first
 * callback and freed in xxfi_close.  No lock is needed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#define NOOP_TRACE_MAX 2048

struct noop_opts {
    const char *spec;
    bool addheader, trace, allmods, triggers, symlist;
    bool negotiate;
    unsigned long protocol;
};

struct noop_conn {
    char conn[512];           /* connect and helo: the session part */
    char msg[NOOP_TRACE_MAX]; /* the transaction part, reset by eom/abort */
    size_t msglen;
    unsigned headers;
    unsigned long body;
};

static struct noop_opts opts;

static struct noop_conn *noop_conn(SMFICTX *ctx)
{
    struct noop_conn *c = smfi_getpriv(ctx);

    if (c == NULL && (c = calloc(1, sizeof *c)) != NULL && smfi_setpriv(ctx, c) != MI_SUCCESS) {
        free(c);
        c = NULL;
    }
    return c;
}

static void noop_msg(struct noop_conn *c, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (c == NULL || c->msglen >= sizeof c->msg - 1)
        return;
    va_start(ap, fmt);
    n = vsnprintf(c->msg + c->msglen, sizeof c->msg - c->msglen, fmt, ap);
    va_end(ap);
    if (n > 0)
        c->msglen +=
            (size_t)n < sizeof c->msg - c->msglen ? (size_t)n : sizeof c->msg - c->msglen - 1;
}

static void noop_reset(struct noop_conn *c)
{
    if (c != NULL) {
        c->msglen = 0;
        c->msg[0] = '\0';
        c->headers = 0;
        c->body = 0;
    }
}

static const char *noop_sym(SMFICTX *ctx, const char *name)
{
    const char *v = smfi_getsymval(ctx, (char *)name);

    return v != NULL ? v : "-";
}

/* The answer for a stage: SMFIS_NOREPLY when its SMFIP_NR_* bit was negotiated. */
static sfsistat noop_ok(unsigned long nr_bit)
{
    return (opts.protocol & nr_bit) != 0 ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat noop_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
                               unsigned long f3, unsigned long *pf0, unsigned long *pf1,
                               unsigned long *pf2, unsigned long *pf3)
{
    (void)f2;
    (void)f3;
    *pf0 = f0 &
           (opts.allmods ? SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT | SMFIF_DELRCPT |
                               SMFIF_ADDRCPT_PAR | SMFIF_CHGFROM | SMFIF_CHGBODY | SMFIF_QUARANTINE
            : opts.addheader || opts.trace ? SMFIF_ADDHDRS
                                           : 0);
    if ((opts.protocol & f1) != opts.protocol)
        return SMFIS_REJECT; /* the MTA cannot do what we were told to ask for */
    *pf1 = opts.protocol;
    *pf2 = *pf3 = 0;
    if (opts.symlist) {
        (void)smfi_setsymlist(ctx, SMFIM_ENVRCPT, "{rcpt_mailer} {rcpt_host}");
        (void)smfi_setsymlist(ctx, SMFIM_EOM, "i");
    }
    return SMFIS_CONTINUE;
}

/* The client address libmilter decoded from SMFIC_CONNECT, with its port. */
static void noop_addr(const struct sockaddr *sa, char *buf, size_t len)
{
    char a[INET6_ADDRSTRLEN] = "?";

    if (sa == NULL) {
        snprintf(buf, len, "unknown");
    } else if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

        inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
        snprintf(buf, len, "%s:%u", a, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

        inet_ntop(AF_INET6, &in6->sin6_addr, a, sizeof a);
        snprintf(buf, len, "[%s]:%u", a, ntohs(in6->sin6_port));
    } else if (sa->sa_family == AF_UNIX) {
        snprintf(buf, len, "unix:%.100s", ((const struct sockaddr_un *)(const void *)sa)->sun_path);
    } else {
        snprintf(buf, len, "family-%d", sa->sa_family);
    }
}

static sfsistat noop_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    struct noop_conn *c = noop_conn(ctx);
    char addr[160];

    noop_addr(sa, addr, sizeof addr);
    if (c != NULL)
        snprintf(c->conn, sizeof c->conn, "connect=%s/%s j=%s daemon=%s", host, addr,
                 noop_sym(ctx, "j"), noop_sym(ctx, "{daemon_name}"));
    return noop_ok(SMFIP_NR_CONN);
}

static sfsistat noop_helo(SMFICTX *ctx, char *name)
{
    struct noop_conn *c = noop_conn(ctx);

    if (c != NULL) {
        size_t n = strlen(c->conn);

        snprintf(c->conn + n, sizeof c->conn - n, " helo=%s", name);
    }
    if (opts.triggers && strncmp(name, "reject", 6) == 0)
        return SMFIS_REJECT;
    if (opts.triggers && strncmp(name, "accept", 6) == 0)
        return SMFIS_ACCEPT;
    return noop_ok(SMFIP_NR_HELO);
}

static sfsistat noop_envfrom(SMFICTX *ctx, char **argv)
{
    struct noop_conn *c = noop_conn(ctx);

    noop_reset(c);
    noop_msg(c, "mail=%s", argv[0]);
    for (int i = 1; argv[i] != NULL; i++)
        noop_msg(c, ",%s", argv[i]);
    return noop_ok(SMFIP_NR_MAIL);
}

static sfsistat noop_envrcpt(SMFICTX *ctx, char **argv)
{
    static const struct {
        const char *word;
        sfsistat rc;
        const char *code, *xcode, *text;
    } triggers[] = {
        {"tempfail", SMFIS_TEMPFAIL, "451", "4.7.5", "noop tempfail"},
        {"replyreject", SMFIS_REJECT, "550", "5.7.1", "noop reject"},
        {"reject", SMFIS_REJECT, NULL, NULL, NULL},
        {"discard", SMFIS_DISCARD, NULL, NULL, NULL},
        {"accept", SMFIS_ACCEPT, NULL, NULL, NULL},
    };
    const char *local = argv[0][0] == '<' ? argv[0] + 1 : argv[0];
    size_t llen = strcspn(local, "@>");

    noop_msg(noop_conn(ctx), " rcpt=%s/%s/%s/%s", argv[0], noop_sym(ctx, "{rcpt_mailer}"),
             noop_sym(ctx, "{rcpt_host}"), noop_sym(ctx, "{rcpt_addr}"));
    if (!opts.triggers)
        return noop_ok(SMFIP_NR_RCPT);
    if (llen == 9 && strncmp(local, "multiline", 9) == 0) {
        (void)smfi_setmlreply(ctx, "451", "4.7.5", "noop line one", "noop line two", NULL);
        return SMFIS_TEMPFAIL;
    }
    for (size_t i = 0; i < sizeof triggers / sizeof triggers[0]; i++) {
        if (strlen(triggers[i].word) != llen || strncmp(local, triggers[i].word, llen) != 0)
            continue;
        if (triggers[i].code != NULL)
            (void)smfi_setreply(ctx, (char *)triggers[i].code, (char *)triggers[i].xcode,
                                (char *)triggers[i].text);
        return triggers[i].rc;
    }
    return noop_ok(SMFIP_NR_RCPT);
}

static sfsistat noop_data(SMFICTX *ctx)
{
    noop_msg(noop_conn(ctx), " data");
    return noop_ok(SMFIP_NR_DATA);
}

static sfsistat noop_header(SMFICTX *ctx, char *name, char *value)
{
    struct noop_conn *c = noop_conn(ctx);

    (void)name;
    (void)value;
    if (c != NULL)
        c->headers++;
    return noop_ok(SMFIP_NR_HDR);
}

static sfsistat noop_eoh(SMFICTX *ctx)
{
    struct noop_conn *c = noop_conn(ctx);

    noop_msg(c, " hdrs=%u eoh", c != NULL ? c->headers : 0);
    return noop_ok(SMFIP_NR_EOH);
}

static sfsistat noop_body(SMFICTX *ctx, unsigned char *buf, size_t len)
{
    struct noop_conn *c = noop_conn(ctx);

    if (c != NULL)
        c->body += len;
    if (opts.triggers && len >= 4 && memcmp(buf, "skip", 4) == 0)
        return SMFIS_SKIP;
    return noop_ok(SMFIP_NR_BODY);
}

static void noop_all_mods(SMFICTX *ctx)
{
    (void)smfi_insheader(ctx, 0, "X-Noop-Ins", "first");
    (void)smfi_chgheader(ctx, "Subject", 1, "changed by noop");
    (void)smfi_chgheader(ctx, "X-Drop", 1, NULL);
    (void)smfi_addrcpt(ctx, "<added@example.org>");
    (void)smfi_addrcpt_par(ctx, "<added-par@example.org>", "NOTIFY=NEVER");
    (void)smfi_delrcpt(ctx, "<b@example.com>");
    (void)smfi_chgfrom(ctx, "<new@sender.test>", NULL);
    (void)smfi_replacebody(ctx, (unsigned char *)"new body\r\n", 10);
    (void)smfi_quarantine(ctx, "noop quarantine");
}

static sfsistat noop_eom(SMFICTX *ctx)
{
    struct noop_conn *c = noop_conn(ctx);

    if (opts.addheader)
        (void)smfi_addheader(ctx, "X-Noop", "1");
    if (opts.trace && c != NULL) {
        char trace[sizeof c->conn + sizeof c->msg + 64];

        noop_msg(c, " body=%lu i=%s", c->body, noop_sym(ctx, "i"));
        snprintf(trace, sizeof trace, "%s %s", c->conn, c->msg);
        (void)smfi_addheader(ctx, "X-Noop-Trace", trace);
    }
    if (opts.allmods)
        noop_all_mods(ctx);
    noop_reset(c);
    return SMFIS_CONTINUE;
}

static sfsistat noop_abort(SMFICTX *ctx)
{
    noop_reset(smfi_getpriv(ctx));
    return SMFIS_CONTINUE;
}

static sfsistat noop_close(SMFICTX *ctx)
{
    free(smfi_getpriv(ctx));
    (void)smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

static sfsistat noop_unknown(SMFICTX *ctx, const char *cmd)
{
    (void)ctx;
    (void)cmd;
    return SMFIS_CONTINUE;
}

static void noop_usage(void)
{
    fprintf(stderr, "usage: noop_filter -p SOCKET [-H] [-e] [-m] [-T] [-S] [-P HEX] [-d LEVEL]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct smfiDesc desc = {
        .xxfi_name = "noop",
        .xxfi_version = SMFI_VERSION,
        .xxfi_connect = noop_connect,
        .xxfi_helo = noop_helo,
        .xxfi_envfrom = noop_envfrom,
        .xxfi_envrcpt = noop_envrcpt,
        .xxfi_header = noop_header,
        .xxfi_eoh = noop_eoh,
        .xxfi_body = noop_body,
        .xxfi_eom = noop_eom,
        .xxfi_abort = noop_abort,
        .xxfi_close = noop_close,
        .xxfi_unknown = noop_unknown,
        .xxfi_data = noop_data,
    };
    char *end;
    int c, dbg = 0;

    while ((c = getopt(argc, argv, "p:HemTSP:d:")) != -1) {
        switch (c) {
        case 'p':
            opts.spec = optarg;
            break;
        case 'H':
            opts.addheader = true;
            break;
        case 'e':
            opts.trace = true;
            break;
        case 'm':
            opts.allmods = true;
            break;
        case 'T':
            opts.triggers = true;
            break;
        case 'S':
            opts.symlist = opts.negotiate = true;
            break;
        case 'P':
            opts.protocol = strtoul(optarg, &end, 16);
            if (*optarg == '\0' || *end != '\0')
                noop_usage();
            opts.negotiate = true;
            break;
        case 'd':
            dbg = atoi(optarg);
            break;
        default:
            noop_usage();
        }
    }
    if (opts.spec == NULL || optind != argc)
        noop_usage();
    if (opts.addheader || opts.trace)
        desc.xxfi_flags |= SMFIF_ADDHDRS;
    if (opts.allmods)
        desc.xxfi_flags |= SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_ADDRCPT | SMFIF_DELRCPT |
                           SMFIF_ADDRCPT_PAR | SMFIF_CHGFROM | SMFIF_CHGBODY | SMFIF_QUARANTINE;
    if (opts.negotiate)
        desc.xxfi_negotiate = noop_negotiate;
    if (smfi_setconn((char *)opts.spec) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS) {
        fprintf(stderr, "noop_filter: cannot register on %s\n", opts.spec);
        return 1;
    }
    if (dbg > 0)
        (void)smfi_setdbg(dbg);
    if (smfi_opensocket(true) != MI_SUCCESS) {
        fprintf(stderr, "noop_filter: cannot open %s\n", opts.spec);
        return 1;
    }
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}
