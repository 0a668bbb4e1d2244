/*
 * miltc_main.c - miltc(1), a scripted milter client: plays the MTA side of
 * one or more sessions against a filter socket and prints one line per
 * filter reply, for tests to grep.
 *
 * Usage: miltc -s SOCKET [-t TIMEOUT_MS] [-n SESSIONS] [-q] [SCRIPT | -]
 *
 * The script (a file, or standard input) is parsed completely before the
 * first connection; one command per line, '#' starts a comment line:
 *
 *   negotiate [version=N] [actions=HEX] [protocol=HEX]   (first line only;
 *                         without it, Postfix 3.7's offer is negotiated)
 *   macro STAGE NAME=VALUE...   STAGE: C H M R T E N (the SMFIC_* letter)
 *   connect HOSTNAME [ADDR [PORT]]   family from ADDR: IPv4, IPv6 (has ':'),
 *                                    unix (starts with '/'), none = unknown
 *   helo NAME
 *   mail <ADDR> [ESMTP-ARG...]
 *   rcpt <ADDR> [ESMTP-ARG...]
 *   data | eoh | eom | abort | quit | quit_nc | close
 *   header NAME VALUE...        VALUE: the rest of the line, sent as
 *                               "NAME: VALUE" would be by Postfix
 *   body TEXT...                one body chunk: TEXT CRLF
 *   bodyfill BYTES              BYTES of body in 78-byte CRLF lines
 *
 * Words may be double-quoted, with \\ \" \n \r \t \xHH escapes; a quoted
 * header value or body text is taken exactly (a quoted body gets no CRLF).
 * Without a final quit (or close, which drops the socket), a session ends
 * with an implicit quit.  -n repeats the script, each time on a new
 * connection, as Postfix opens one per SMTP session.
 *
 * Output, one line per reply, untrusted bytes escaped as in the script:
 *   negotiate -> version 6 actions 0x00000001 protocol 0x00000000
 *   negotiate symlist R {rcpt_mailer} {rcpt_host}
 *   rcpt <b@example.com> -> continue
 *   rcpt <c@example.com> -> tempfail 451 4.7.5 text
 *   helo x -> unsent declined      (also: noreply, unsent skip|accepted|...)
 *   eom addheader NAME: VALUE      (insheader IDX, chgheader IDX, delheader
 *                                   IDX, addrcpt, addrcpt_par, delrcpt,
 *                                   chgfrom, replbody LEN BYTES, quarantine)
 *   eom -> accept
 * With -q nothing is printed per reply; a summary line ends the run:
 *   sessions=100 ok=100 failed=0 elapsed_ms=312
 *
 * The order of commands is the script's: libmilter silently ignores a
 * command out of its order (eom right after data, without eoh), and the
 * client then times out waiting for the reply.
 *
 * Exit: 0 when every session ran, 1 on a connection or protocol error
 * (reason on stderr), 2 on a usage or script error.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "miltc.h"

#define MILTC_MAIN_MAX_SESSIONS 10000000ul
#define MILTC_MAIN_MAX_FILL (1024ul * 1024 * 1024)

enum op {
    OP_NEGOTIATE,
    OP_MACRO,
    OP_CONNECT,
    OP_HELO,
    OP_MAIL,
    OP_RCPT,
    OP_DATA,
    OP_HEADER,
    OP_EOH,
    OP_BODY,
    OP_BODYFILL,
    OP_EOM,
    OP_ABORT,
    OP_QUIT,
    OP_QUIT_NC,
    OP_CLOSE,
};

/* Command words, their op, and how many words may follow (-1: free form). */
static const struct word {
    const char *name;
    enum op op;
    int min, max;
} words[] = {
    {"negotiate", OP_NEGOTIATE, 0, 3},
    {"macro", OP_MACRO, 2, 256},
    {"connect", OP_CONNECT, 1, 3},
    {"helo", OP_HELO, 1, 1},
    {"mail", OP_MAIL, 1, 64},
    {"rcpt", OP_RCPT, 1, 64},
    {"data", OP_DATA, 0, 0},
    {"header", OP_HEADER, -1, -1},
    {"eoh", OP_EOH, 0, 0},
    {"body", OP_BODY, -1, -1},
    {"bodyfill", OP_BODYFILL, 1, 1},
    {"eom", OP_EOM, 0, 0},
    {"abort", OP_ABORT, 0, 0},
    {"quit", OP_QUIT, 0, 0},
    {"quit_nc", OP_QUIT_NC, 0, 0},
    {"close", OP_CLOSE, 0, 0},
};

struct step {
    enum op op;
    unsigned line;
    char *echo;  /* the line as written, trimmed: the prefix of output lines */
    char **argv; /* NULL-terminated words after the command */
    int argc;
    char **nv;  /* macro: NULL-terminated name, value, ... */
    char *text; /* header: raw value; body: bytes */
    size_t textlen;
    struct miltc_optneg offer;
    char family;
    uint16_t port;
};

struct script {
    struct step *steps;
    size_t n, cap;
};

struct opts {
    const char *spec;
    unsigned timeout_ms;
    unsigned long sessions;
    int quiet;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: miltc -s SOCKET [-t TIMEOUT_MS] [-n SESSIONS] [-q] [SCRIPT | -]\n"
               "  SOCKET: unix:PATH, inet:PORT@HOST, inet6:PORT@HOST\n");
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);

    if (p == NULL) {
        fprintf(stderr, "miltc: out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- script parsing */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Decode one word at *pp (quoted or bare) into out (room for strlen(*pp)+1);
 * advance *pp.  Returns the length, or -1 with *why set.
 */
static long decode_word(const char **pp, char *out, const char **why)
{
    const char *p = *pp;
    long n = 0;

    if (*p != '"') {
        while (*p != '\0' && *p != ' ' && *p != '\t')
            out[n++] = *p++;
        out[n] = '\0';
        *pp = p;
        return n;
    }
    for (p++; *p != '"'; p++) {
        if (*p == '\0') {
            *why = "unterminated quote";
            return -1;
        }
        if (*p != '\\') {
            out[n++] = *p;
            continue;
        }
        switch (*++p) {
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case '\\':
        case '"':
            out[n++] = *p;
            break;
        case 'x':
            if (hexval(p[1]) < 0 || hexval(p[2]) < 0) {
                *why = "bad \\x escape";
                return -1;
            }
            out[n++] = (char)(hexval(p[1]) * 16 + hexval(p[2]));
            p += 2;
            break;
        default:
            *why = "bad escape";
            return -1;
        }
    }
    p++;
    if (*p != '\0' && *p != ' ' && *p != '\t') {
        *why = "text after closing quote";
        return -1;
    }
    out[n] = '\0';
    *pp = p;
    return n;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Split rest into words (NUL bytes are refused there). */
static const char *split_words(const char *rest, struct step *st)
{
    const char *p = skip_ws(rest), *why = NULL;
    size_t max = strlen(rest) / 2 + 2;

    st->argv = xcalloc(max, sizeof *st->argv);
    while (*p != '\0') {
        char *w = xcalloc(strlen(p) + 1, 1);
        long n = decode_word(&p, w, &why);

        st->argv[st->argc++] = w;
        if (n < 0)
            return why;
        if ((size_t)n != strlen(w))
            return "NUL byte in a word";
        p = skip_ws(p);
    }
    return NULL;
}

/* header VALUE / body TEXT: rest of line, or one quoted word taken exactly. */
static const char *free_text(const char *rest, struct step *st)
{
    const char *p = skip_ws(rest), *why = NULL;
    long n;

    st->text = xcalloc(strlen(p) + 3, 1);
    if (*p != '"') {
        n = (long)strlen(p);
        memcpy(st->text, p, (size_t)n);
    } else if ((n = decode_word(&p, st->text, &why)) < 0) {
        return why;
    } else if (*skip_ws(p) != '\0') {
        return "text after the quoted value";
    }
    st->textlen = (size_t)n;
    return NULL;
}

static const char *parse_number(const char *s, unsigned long max, unsigned long *v)
{
    char *end;

    errno = 0;
    *v = strtoul(s, &end, 0);
    if (s[0] == '\0' || s[0] == '-' || *end != '\0' || errno != 0 || *v > max)
        return "bad number";
    return NULL;
}

static const char *check_step(struct step *st)
{
    unsigned long v;
    const char *why;

    switch (st->op) {
    case OP_NEGOTIATE:
        st->offer.version = MILTC_POSTFIX_VERSION;
        st->offer.actions = MILTC_POSTFIX_ACTIONS;
        st->offer.protocol = MILTC_POSTFIX_PROTOCOL;
        for (int i = 0; i < st->argc; i++) {
            const char *a = st->argv[i], *eq = strchr(a, '=');
            uint32_t *dst = NULL;

            if (eq != NULL && strncmp(a, "version=", 8) == 0)
                dst = &st->offer.version;
            else if (eq != NULL && strncmp(a, "actions=", 8) == 0)
                dst = &st->offer.actions;
            else if (eq != NULL && strncmp(a, "protocol=", 9) == 0)
                dst = &st->offer.protocol;
            if (dst == NULL)
                return "want version=N, actions=HEX or protocol=HEX";
            if ((why = parse_number(eq + 1, UINT32_MAX, &v)) != NULL)
                return why;
            *dst = (uint32_t)v;
        }
        return NULL;
    case OP_MACRO:
        if (strlen(st->argv[0]) != 1 || strchr("CHMRTEN", st->argv[0][0]) == NULL)
            return "macro stage must be one of C H M R T E N";
        st->nv = xcalloc(2 * (size_t)st->argc, sizeof *st->nv);
        for (int i = 1; i < st->argc; i++) {
            const char *eq = strchr(st->argv[i], '=');

            if (eq == NULL || eq == st->argv[i])
                return "want NAME=VALUE";
            st->nv[2 * i - 2] = strndup(st->argv[i], (size_t)(eq - st->argv[i]));
            st->nv[2 * i - 1] = strdup(eq + 1);
            if (st->nv[2 * i - 2] == NULL || st->nv[2 * i - 1] == NULL)
                return "out of memory";
        }
        return NULL;
    case OP_CONNECT:
        st->family = SMFIA_UNKNOWN;
        if (st->argc >= 2)
            st->family = st->argv[1][0] == '/'      ? SMFIA_UNIX
                         : strchr(st->argv[1], ':') ? SMFIA_INET6
                                                    : SMFIA_INET;
        if (st->argc == 3) {
            if ((why = parse_number(st->argv[2], 65535, &v)) != NULL)
                return "bad port";
            st->port = (uint16_t)v;
        }
        return NULL;
    case OP_HEADER:
        if (st->argc < 1)
            return "want: header NAME VALUE";
        return NULL;
    case OP_BODY:
        if (st->textlen == 0)
            return "empty body chunk (libmilter drops the connection on one)";
        return NULL;
    case OP_BODYFILL:
        if ((why = parse_number(st->argv[0], MILTC_MAIN_MAX_FILL, &v)) != NULL || v == 0)
            return "bad byte count";
        st->textlen = v;
        return NULL;
    default:
        return NULL;
    }
}

/* Parse one non-empty, non-comment line into st; returns why it is bad, or NULL. */
static const char *parse_line(char *line, struct step *st)
{
    char *cmd = (char *)skip_ws(line), *rest = cmd + strcspn(cmd, " \t");
    const struct word *w = NULL;
    size_t len = strlen(cmd);
    const char *why;

    while (len > 0 && (cmd[len - 1] == ' ' || cmd[len - 1] == '\t'))
        cmd[--len] = '\0';
    st->echo = strdup(cmd);
    if (st->echo == NULL)
        return "out of memory";
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i].name) == (size_t)(rest - cmd) &&
            strncmp(words[i].name, cmd, (size_t)(rest - cmd)) == 0)
            w = &words[i];
    if (w == NULL)
        return "unknown command";
    st->op = w->op;
    if (st->op == OP_HEADER) {
        /* the name, then the rest as the value, " VALUE" as in "NAME: VALUE" */
        char *name = (char *)skip_ws(rest), *end = name + strcspn(name, " \t");
        char save = *end;

        *end = '\0';
        st->argv = xcalloc(2, sizeof *st->argv);
        st->argv[0] = strdup(name);
        st->argc = 1;
        *end = save;
        if (st->argv[0] == NULL || st->argv[0][0] == '\0')
            return "want: header NAME VALUE";
        if (st->argv[0][strlen(st->argv[0]) - 1] == ':')
            st->argv[0][strlen(st->argv[0]) - 1] = '\0';
        if ((why = free_text(end, st)) != NULL)
            return why;
        memmove(st->text + 1, st->text, st->textlen + 1);
        st->text[0] = ' ';
        st->textlen++;
        return check_step(st);
    }
    if (st->op == OP_BODY) {
        if ((why = free_text(rest, st)) != NULL)
            return why;
        if (*skip_ws(rest) != '"' && st->textlen > 0) {
            memcpy(st->text + st->textlen, "\r\n", 2);
            st->textlen += 2;
        }
        return check_step(st);
    }
    if ((why = split_words(rest, st)) != NULL)
        return why;
    if (st->argc < w->min || st->argc > w->max)
        return w->max == 0 ? "takes no arguments" : "wrong number of arguments";
    return check_step(st);
}

static int parse_script(FILE *f, const char *fname, struct script *sc)
{
    char *line = NULL;
    size_t cap = 0;
    unsigned lineno = 0;
    ssize_t n;
    int rc = 0;

    while ((n = getline(&line, &cap, f)) >= 0) {
        const char *why, *p;
        struct step *st;

        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        p = skip_ws(line);
        if (*p == '\0' || *p == '#')
            continue;
        if ((size_t)n != strlen(line)) {
            fprintf(stderr, "miltc: %s:%u: NUL byte in the line\n", fname, lineno);
            rc = 2;
            break;
        }
        if (sc->n == sc->cap) {
            sc->cap = sc->cap ? sc->cap * 2 : 32;
            sc->steps = realloc(sc->steps, sc->cap * sizeof *sc->steps);
            if (sc->steps == NULL) {
                fprintf(stderr, "miltc: out of memory\n");
                exit(1);
            }
        }
        st = &sc->steps[sc->n++];
        memset(st, 0, sizeof *st);
        st->line = lineno;
        if ((why = parse_line(line, st)) == NULL && st->op == OP_NEGOTIATE && sc->n > 1)
            why = "negotiate must be the first command";
        if (why != NULL) {
            fprintf(stderr, "miltc: %s:%u: %s: %s\n", fname, lineno, why, st->echo ? st->echo : p);
            rc = 2;
            break;
        }
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, "miltc: %s: %s\n", fname, strerror(errno));
        rc = 2;
    }
    free(line);
    return rc;
}

static void free_script(struct script *sc)
{
    for (size_t i = 0; i < sc->n; i++) {
        struct step *st = &sc->steps[i];

        for (int j = 0; st->argv != NULL && j < st->argc; j++)
            free(st->argv[j]);
        free(st->argv);
        for (size_t j = 0; st->nv != NULL && st->nv[j] != NULL; j++)
            free(st->nv[j]);
        free(st->nv);
        free(st->echo);
        free(st->text);
    }
    free(sc->steps);
}

/* ---- output */

static void put_escaped(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '\\')
            fputs("\\\\", stdout);
        else if (c == '\r')
            fputs("\\r", stdout);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c < 0x20 || c > 0x7e)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static void put_str(const char *s)
{
    put_escaped(s, strlen(s));
}

static void print_reply(const char *echo, const struct miltc_reply *r)
{
    if (r->quarantine != NULL) {
        printf("%s quarantine ", echo);
        put_str(r->quarantine);
        putchar('\n');
    }
    printf("%s -> %s", echo, miltc_reply_name(r));
    if (r->outcome == MILTC_UNSENT)
        printf(" %s", r->why);
    if (r->text[0] != '\0') {
        putchar(' ');
        put_str(r->text);
    }
    putchar('\n');
}

static void print_header(const char *name, const char *value, int leadspc)
{
    put_str(name);
    fputs(leadspc ? ":" : ": ", stdout);
    put_str(value);
}

static void print_mod(const char *echo, const struct miltc_mod *mod, int leadspc)
{
    printf("%s ", echo);
    switch (mod->cmd) {
    case SMFIR_ADDHEADER:
        fputs("addheader ", stdout);
        print_header(mod->name, mod->value, leadspc);
        break;
    case SMFIR_INSHEADER:
        printf("insheader %lu ", (unsigned long)mod->index);
        print_header(mod->name, mod->value, leadspc);
        break;
    case SMFIR_CHGHEADER:
        if (mod->value[0] == '\0') {
            printf("delheader %lu ", (unsigned long)mod->index);
            put_str(mod->name);
        } else {
            printf("chgheader %lu ", (unsigned long)mod->index);
            print_header(mod->name, mod->value, leadspc);
        }
        break;
    case SMFIR_REPLBODY:
        printf("replbody %zu ", mod->len);
        put_escaped(mod->value, mod->len);
        break;
    default:
        fputs(mod->cmd == SMFIR_ADDRCPT       ? "addrcpt "
              : mod->cmd == SMFIR_ADDRCPT_PAR ? "addrcpt_par "
              : mod->cmd == SMFIR_DELRCPT     ? "delrcpt "
              : mod->cmd == SMFIR_CHGFROM     ? "chgfrom "
                                              : "quarantine ",
              stdout);
        put_str(mod->name);
        if (mod->value != NULL) {
            putchar(' ');
            put_str(mod->value);
        }
        break;
    }
    putchar('\n');
}

/* ---- running */

static int run_body_fill(struct miltc *m, size_t total, struct miltc_reply *r)
{
    static char chunk[MILTER_CHUNK_SIZE];
    int rc = MILTC_OK;

    if (chunk[0] == '\0')
        for (size_t i = 0; i < sizeof chunk; i++)
            chunk[i] = i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' : 'x';
    while (total > 0 && rc == MILTC_OK) {
        size_t n = total < sizeof chunk ? total : sizeof chunk;

        rc = miltc_body(m, chunk, n, r);
        total -= n;
        if (r->outcome == MILTC_UNSENT || (r->outcome == MILTC_REPLIED && r->cmd != SMFIR_CONTINUE))
            break;
    }
    return rc;
}

/* Run one step; *closed is set once the session is over. */
static int run_step(struct miltc *m, const struct step *st, const struct opts *o, int leadspc,
                    int *closed)
{
    struct miltc_eom_result eom;
    struct miltc_reply r;
    int rc;

    switch (st->op) {
    case OP_MACRO:
        return miltc_macro(m, st->argv[0][0], (const char *const *)st->nv);
    case OP_CONNECT:
        rc = miltc_connect(m, st->argv[0], st->family, st->port, st->argc > 1 ? st->argv[1] : NULL,
                           &r);
        break;
    case OP_HELO:
        rc = miltc_helo(m, st->argv[0], &r);
        break;
    case OP_MAIL:
        rc = miltc_mail(m, (const char *const *)st->argv, &r);
        break;
    case OP_RCPT:
        rc = miltc_rcpt(m, (const char *const *)st->argv, &r);
        break;
    case OP_DATA:
        rc = miltc_data(m, &r);
        break;
    case OP_HEADER:
        rc = miltc_header(m, st->argv[0], st->text, &r);
        break;
    case OP_EOH:
        rc = miltc_eoh(m, &r);
        break;
    case OP_BODY:
        rc = miltc_body(m, st->text, st->textlen, &r);
        break;
    case OP_BODYFILL:
        rc = run_body_fill(m, st->textlen, &r);
        break;
    case OP_EOM:
        rc = miltc_eom(m, &eom);
        r = eom.reply;
        for (size_t i = 0; rc == MILTC_OK && !o->quiet && i < eom.nmods; i++)
            print_mod(st->echo, &eom.mods[i], leadspc);
        break;
    case OP_ABORT:
        return miltc_abort(m);
    case OP_QUIT:
        *closed = 1;
        return miltc_quit(m);
    case OP_QUIT_NC:
        return miltc_quit_nc(m);
    case OP_CLOSE:
        *closed = 1;
        return MILTC_OK;
    default:
        return MILTC_OK;
    }
    if (rc == MILTC_OK && !o->quiet)
        print_reply(st->echo, &r);
    return rc;
}

static int run_session(const struct opts *o, const struct script *sc, unsigned long session)
{
    const struct miltc_optneg *offer = NULL;
    const char *echo = "negotiate", *stages = "CHMRTEN";
    struct miltc_optneg got;
    char err[512], where[64];
    int rc, closed = 0, leadspc;
    size_t i = 0;
    struct miltc *m;

    where[0] = '\0';
    if (o->sessions > 1)
        snprintf(where, sizeof where, "session %lu: ", session);
    if ((m = miltc_open(o->spec, o->timeout_ms, err, sizeof err)) == NULL) {
        fprintf(stderr, "miltc: %s%s\n", where, err);
        return 1;
    }
    if (sc->n > 0 && sc->steps[0].op == OP_NEGOTIATE) {
        offer = &sc->steps[0].offer;
        echo = sc->steps[0].echo;
        i = 1;
    }
    if ((rc = miltc_negotiate(m, offer, &got)) != MILTC_OK) {
        fprintf(stderr, "miltc: %s%s: %s\n", where, echo, miltc_error(m));
        miltc_close(m);
        return 1;
    }
    leadspc = (got.protocol & (offer ? offer->protocol : MILTC_POSTFIX_PROTOCOL) &
               SMFIP_HDR_LEADSPC) != 0;
    if (!o->quiet) {
        printf("%s -> version %lu actions 0x%08lx protocol 0x%08lx\n", echo,
               (unsigned long)got.version, (unsigned long)got.actions, (unsigned long)got.protocol);
        for (const char *s = stages; *s != '\0'; s++)
            if (miltc_symlist(m, *s) != NULL) {
                printf("%s symlist %c ", echo, *s);
                put_str(miltc_symlist(m, *s));
                putchar('\n');
            }
    }
    for (; i < sc->n && !closed; i++) {
        const struct step *st = &sc->steps[i];

        if ((rc = run_step(m, st, o, leadspc, &closed)) != MILTC_OK) {
            fflush(stdout);
            fprintf(stderr, "miltc: %sline %u (%s): %s\n", where, st->line, st->echo,
                    miltc_error(m));
            miltc_close(m);
            return 1;
        }
    }
    if (!closed && (rc = miltc_quit(m)) != MILTC_OK) {
        fprintf(stderr, "miltc: %s(implicit quit): %s\n", where, miltc_error(m));
        miltc_close(m);
        return 1;
    }
    miltc_close(m);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.timeout_ms = 10000, .sessions = 1};
    struct script sc = {0};
    unsigned long v, ok = 0;
    struct timespec t0, t1;
    const char *fname;
    FILE *f;
    int c, rc = 0;

    while ((c = getopt(argc, argv, "s:t:n:qh")) != -1) {
        switch (c) {
        case 's':
            o.spec = optarg;
            break;
        case 't':
            if (parse_number(optarg, 3600000, &v) != NULL || v == 0) {
                fprintf(stderr, "miltc: -t: want milliseconds, 1..3600000\n");
                return 2;
            }
            o.timeout_ms = (unsigned)v;
            break;
        case 'n':
            if (parse_number(optarg, MILTC_MAIN_MAX_SESSIONS, &v) != NULL || v == 0) {
                fprintf(stderr, "miltc: -n: want a session count, 1..%lu\n",
                        MILTC_MAIN_MAX_SESSIONS);
                return 2;
            }
            o.sessions = v;
            break;
        case 'q':
            o.quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (o.spec == NULL || argc - optind > 1) {
        fprintf(stderr, "miltc: %s\n", o.spec == NULL ? "no socket (-s)" : "one script at most");
        usage(stderr);
        return 2;
    }
    fname = optind < argc ? argv[optind] : "-";
    if (strcmp(fname, "-") == 0) {
        f = stdin;
        fname = "(stdin)";
    } else if ((f = fopen(fname, "r")) == NULL) {
        fprintf(stderr, "miltc: %s: %s\n", fname, strerror(errno));
        return 2;
    }
    rc = parse_script(f, fname, &sc);
    if (f != stdin)
        fclose(f);
    if (rc != 0) {
        free_script(&sc);
        return rc;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long s = 1; s <= o.sessions && rc == 0; s++)
        if ((rc = run_session(&o, &sc, s)) == 0)
            ok++;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (o.quiet)
        printf("sessions=%lu ok=%lu failed=%d elapsed_ms=%ld\n", o.sessions, ok, rc != 0,
               (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    free_script(&sc);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "miltc: writing output: %s\n", strerror(errno));
        return 1;
    }
    return rc;
}
