/*
 * miltc.c - the MTA side of the milter protocol (see miltc.h for the
 * contract and what is copied from Postfix's milter8.c).
 *
 * Wire format: every packet is a 4-byte big-endian length (command byte +
 * data), the command byte, then the data.  Strings are NUL-terminated.
 *
 * I/O: the socket is non-blocking; every write and every read first tries
 * the syscall and polls only when it would block, so each wait has a
 * deadline.  Replies are read through one buffer (m->in) big enough for
 * the largest legal packet; the data of a packet is valid until the next
 * read.  Commands are built in m->out and sent with one send() loop.
 *
 * The protocol constants come from <libmilter/mfdef.h>; <libmilter/mfapi.h>
 * is included only for the SMFIF_* action bits and SMFIM_* macro-list
 * indices: no libmilter code is linked into the client.
 */
#include "miltc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#define MILTC_DEFAULT_TIMEOUT_MS 10000u
#define MILTC_EVENT_FACTOR 10 /* all packets answering one event: 10 x timeout */
#define MILTC_NSTAGES (SMFIM_LAST + 1)
#define MILTC_OUT_CAP (MILTER_LEN_BYTES + 1 + MILTER_MAX_DATA_SIZE)
#define MILTC_IN_CAP (MILTER_LEN_BYTES + MILTC_MAX_PACKET + 4096)

/* The SMFIC_* letter of each macro stage, in SMFIM_CONNECT..SMFIM_EOH order. */
static const char miltc_stages[] = "CHMRTEN";

enum miltc_state {
    MILTC_ST_CLOSED,     /* no socket: after quit or an I/O/protocol error */
    MILTC_ST_OPEN,       /* connected, not negotiated */
    MILTC_ST_READY,      /* negotiated (or after QUIT_NC): connect comes next */
    MILTC_ST_ENVELOPE,   /* in an SMTP session, in or between transactions */
    MILTC_ST_ACCEPT_MSG, /* the filter accepted or discarded this message */
    MILTC_ST_ACCEPT_CON, /* the filter accepted the session; socket closed */
    MILTC_ST_REJECT_CON, /* the filter rejected the session; socket closed */
};

/* For each event: the "don't send" and "won't reply" protocol bits. */
static const struct miltc_event {
    char cmd;
    const char *name;
    uint32_t no_bit;
    uint32_t nr_bit;
} miltc_events[] = {
    {SMFIC_CONNECT, "SMFIC_CONNECT", SMFIP_NOCONNECT, SMFIP_NR_CONN},
    {SMFIC_HELO, "SMFIC_HELO", SMFIP_NOHELO, SMFIP_NR_HELO},
    {SMFIC_MAIL, "SMFIC_MAIL", SMFIP_NOMAIL, SMFIP_NR_MAIL},
    {SMFIC_RCPT, "SMFIC_RCPT", SMFIP_NORCPT, SMFIP_NR_RCPT},
    {SMFIC_DATA, "SMFIC_DATA", SMFIP_NODATA, SMFIP_NR_DATA},
    {SMFIC_HEADER, "SMFIC_HEADER", SMFIP_NOHDRS, SMFIP_NR_HDR},
    {SMFIC_EOH, "SMFIC_EOH", SMFIP_NOEOH, SMFIP_NR_EOH},
    {SMFIC_BODY, "SMFIC_BODY", SMFIP_NOBODY, SMFIP_NR_BODY},
    {SMFIC_BODYEOB, "SMFIC_BODYEOB", 0, 0},
    {SMFIC_OPTNEG, "SMFIC_OPTNEG", 0, 0},
    {SMFIC_MACRO, "SMFIC_MACRO", 0, 0},
    {SMFIC_ABORT, "SMFIC_ABORT", 0, 0},
    {SMFIC_QUIT, "SMFIC_QUIT", 0, 0},
    {SMFIC_QUIT_NC, "SMFIC_QUIT_NC", 0, 0},
};

/* Modification requests: the action bit the filter must have negotiated. */
static const struct miltc_modkind {
    char cmd;
    const char *name;
    uint32_t action;
} miltc_modkinds[] = {
    {SMFIR_ADDHEADER, "SMFIR_ADDHEADER", SMFIF_ADDHDRS},
    {SMFIR_INSHEADER, "SMFIR_INSHEADER", SMFIF_ADDHDRS},
    {SMFIR_CHGHEADER, "SMFIR_CHGHEADER", SMFIF_CHGHDRS},
    {SMFIR_ADDRCPT, "SMFIR_ADDRCPT", SMFIF_ADDRCPT},
    {SMFIR_ADDRCPT_PAR, "SMFIR_ADDRCPT_PAR", SMFIF_ADDRCPT_PAR},
    {SMFIR_DELRCPT, "SMFIR_DELRCPT", SMFIF_DELRCPT},
    {SMFIR_CHGFROM, "SMFIR_CHGFROM", SMFIF_CHGFROM},
    {SMFIR_REPLBODY, "SMFIR_REPLBODY", SMFIF_CHGBODY},
    {SMFIR_QUARANTINE, "SMFIR_QUARANTINE", SMFIF_QUARANTINE},
};

struct miltc {
    int fd;
    enum miltc_state state;
    unsigned timeout_ms;
    struct miltc_optneg offer;
    struct miltc_optneg got;
    char skip_event;              /* event type answered with SMFIR_SKIP */
    char *symlist[MILTC_NSTAGES]; /* macro lists from the negotiation */
    char err[512];
    /* what the last call hands back */
    char *text, *quarantine;
    struct miltc_mod *mods;
    char **mod_store; /* one allocation per mod, parallel to mods */
    size_t nmods, mods_cap, mod_bytes;
    char *body;
    size_t body_len, body_cap, body_mod; /* body_mod: index of the REPLBODY mod */
    int body_phase;                      /* 0 none, 1 receiving, 2 finished */
    /* wire buffers */
    size_t out_len;
    int out_overflow;
    size_t in_off, in_len;
    unsigned char out[MILTC_OUT_CAP];
    unsigned char in[MILTC_IN_CAP];
};

static int64_t miltc_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct miltc_event *miltc_event_bits(char cmd)
{
    static const struct miltc_event unknown = {0, "SMFIC_?", 0, 0};

    for (size_t i = 0; i < sizeof miltc_events / sizeof miltc_events[0]; i++)
        if (miltc_events[i].cmd == cmd)
            return &miltc_events[i];
    return &unknown;
}

static const char *miltc_event_name(char cmd)
{
    return miltc_event_bits(cmd)->name;
}

static const struct miltc_modkind *miltc_modkind(char cmd)
{
    for (size_t i = 0; i < sizeof miltc_modkinds / sizeof miltc_modkinds[0]; i++)
        if (miltc_modkinds[i].cmd == cmd)
            return &miltc_modkinds[i];
    return NULL;
}

/* A reply letter for messages: printable as is, else as hex. */
static const char *miltc_letter(char c, char buf[8])
{
    unsigned char u = (unsigned char)c;

    if (u > 0x20 && u < 0x7f)
        snprintf(buf, 8, "'%c'", c);
    else
        snprintf(buf, 8, "0x%02x", u);
    return buf;
}

static void miltc_drop_socket(struct miltc *m)
{
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
}

/* Record an error; I/O, timeout and protocol errors also close the stream. */
static int miltc_fail(struct miltc *m, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(m->err, sizeof m->err, fmt, ap);
    va_end(ap);
    if (status == MILTC_ERR_IO || status == MILTC_ERR_TIMEOUT || status == MILTC_ERR_PROTOCOL) {
        miltc_drop_socket(m);
        m->state = MILTC_ST_CLOSED;
    }
    return status;
}

static void miltc_results_clear(struct miltc *m)
{
    for (size_t i = 0; i < m->nmods; i++)
        free(m->mod_store[i]);
    m->nmods = 0;
    m->mod_bytes = 0;
    m->body_len = 0;
    m->body_phase = 0;
    free(m->text);
    free(m->quarantine);
    m->text = m->quarantine = NULL;
}

static void miltc_reply_init(struct miltc *m, struct miltc_reply *out)
{
    miltc_results_clear(m);
    m->err[0] = '\0';
    out->outcome = MILTC_UNSENT;
    out->cmd = 0;
    out->text = "";
    out->quarantine = NULL;
    out->why = "";
}

/* ---- waiting, writing, reading */

static int miltc_wait(struct miltc *m, short events, int64_t deadline, const char *what)
{
    for (;;) {
        int64_t left = deadline - miltc_now_ms();
        struct pollfd p = {.fd = m->fd, .events = events};
        int n;

        if (left <= 0)
            return miltc_fail(m, MILTC_ERR_TIMEOUT, "timeout after %u ms: %s", m->timeout_ms, what);
        n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (n > 0)
            return MILTC_OK; /* readable, writable, or an error the syscall will report */
        if (n < 0 && errno != EINTR)
            return miltc_fail(m, MILTC_ERR_IO, "poll: %s", strerror(errno));
    }
}

static void miltc_begin(struct miltc *m, char cmd)
{
    m->out_len = MILTER_LEN_BYTES;
    m->out[m->out_len++] = (unsigned char)cmd;
    m->out_overflow = 0;
}

static void miltc_put(struct miltc *m, const void *p, size_t n)
{
    if (m->out_overflow || n > sizeof m->out - m->out_len) {
        m->out_overflow = 1;
        return;
    }
    memcpy(m->out + m->out_len, p, n);
    m->out_len += n;
}

static void miltc_put_u32(struct miltc *m, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};

    miltc_put(m, b, sizeof b);
}

static void miltc_put_str(struct miltc *m, const char *s)
{
    miltc_put(m, s, strlen(s) + 1);
}

/* Send the packet built in m->out. */
static int miltc_send(struct miltc *m)
{
    const char *what = miltc_event_name((char)m->out[MILTER_LEN_BYTES]);
    uint32_t len = (uint32_t)(m->out_len - MILTER_LEN_BYTES);
    int64_t deadline = miltc_now_ms() + m->timeout_ms;
    size_t off = 0;
    char why[96];

    if (m->out_overflow)
        return miltc_fail(m, MILTC_ERR_USAGE, "%s: more than %d bytes of data", what,
                          MILTER_MAX_DATA_SIZE);
    m->out[0] = (unsigned char)(len >> 24);
    m->out[1] = (unsigned char)(len >> 16);
    m->out[2] = (unsigned char)(len >> 8);
    m->out[3] = (unsigned char)len;
    snprintf(why, sizeof why, "writing %s", what);
    while (off < m->out_len) {
        ssize_t n = send(m->fd, m->out + off, m->out_len - off, MSG_NOSIGNAL);
        int rc;

        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if ((rc = miltc_wait(m, POLLOUT, deadline, why)) != MILTC_OK)
                return rc;
        } else {
            return miltc_fail(m, MILTC_ERR_IO, "%s: %s", why, n < 0 ? strerror(errno) : "?");
        }
    }
    return MILTC_OK;
}

/* Make at least need bytes available at m->in + m->in_off. */
static int miltc_fill(struct miltc *m, size_t need, int64_t deadline, const char *what)
{
    while (m->in_len - m->in_off < need) {
        ssize_t n;
        int rc;

        if (m->in_off > 0 && m->in_off + need > sizeof m->in) {
            memmove(m->in, m->in + m->in_off, m->in_len - m->in_off);
            m->in_len -= m->in_off;
            m->in_off = 0;
        }
        n = recv(m->fd, m->in + m->in_len, sizeof m->in - m->in_len, 0);
        if (n > 0) {
            m->in_len += (size_t)n;
        } else if (n == 0) {
            return miltc_fail(m, MILTC_ERR_IO, "filter closed the connection: %s", what);
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if ((rc = miltc_wait(m, POLLIN, deadline, what)) != MILTC_OK)
                return rc;
        } else {
            return miltc_fail(m, MILTC_ERR_IO, "read: %s: %s", what, strerror(errno));
        }
    }
    return MILTC_OK;
}

/* Read one packet; its data stays valid until the next read. */
static int miltc_read(struct miltc *m, char event, int64_t event_deadline, char *cmd,
                      const unsigned char **data, size_t *len)
{
    int64_t deadline = miltc_now_ms() + m->timeout_ms;
    const unsigned char *p;
    uint32_t plen;
    char what[80];
    int rc;

    if (deadline > event_deadline)
        deadline = event_deadline;
    snprintf(what, sizeof what, "waiting for the reply to %s", miltc_event_name(event));
    if ((rc = miltc_fill(m, MILTER_LEN_BYTES, deadline, what)) != MILTC_OK)
        return rc;
    p = m->in + m->in_off;
    plen = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (plen < 1 || plen > MILTC_MAX_PACKET)
        return miltc_fail(m, MILTC_ERR_PROTOCOL, "packet length %lu in reply to %s (allowed 1..%d)",
                          (unsigned long)plen, miltc_event_name(event), MILTC_MAX_PACKET);
    if ((rc = miltc_fill(m, MILTER_LEN_BYTES + plen, deadline, what)) != MILTC_OK)
        return rc;
    p = m->in + m->in_off;
    *cmd = (char)p[MILTER_LEN_BYTES];
    *data = p + MILTER_LEN_BYTES + 1;
    *len = plen - 1;
    m->in_off += MILTER_LEN_BYTES + plen;
    if (m->in_off == m->in_len)
        m->in_off = m->in_len = 0;
    return MILTC_OK;
}

/* ---- parsing packet data */

static int miltc_take_str(const unsigned char **p, size_t *left, const char **s)
{
    const unsigned char *nul = *left ? memchr(*p, '\0', *left) : NULL;

    if (nul == NULL)
        return -1;
    *s = (const char *)*p;
    *left -= (size_t)(nul - *p) + 1;
    *p = nul + 1;
    return 0;
}

static int miltc_take_u32(const unsigned char **p, size_t *left, uint32_t *v)
{
    if (*left < 4)
        return -1;
    *v = (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 | (uint32_t)(*p)[2] << 8 | (*p)[3];
    *p += 4;
    *left -= 4;
    return 0;
}

static char *miltc_dup(const void *p, size_t n)
{
    char *s = malloc(n + 1);

    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* Postfix's check of a reply code: "4XX " or "5XX-", enhanced code of the same class. */
static int miltc_replycode_ok(const char *s)
{
    return (s[0] == '4' || s[0] == '5') && s[1] >= '0' && s[1] <= '9' && s[2] >= '0' &&
           s[2] <= '9' && (s[3] == ' ' || s[3] == '-') &&
           (s[4] < '0' || s[4] > '9' || s[4] == s[0]);
}

static int miltc_add_mod(struct miltc *m, char event, char cmd, const unsigned char *p, size_t left)
{
    const struct miltc_modkind *k = miltc_modkind(cmd);
    const char *name = NULL, *value = NULL, *ename = miltc_event_name(event);
    struct miltc_mod *mod;
    uint32_t index = 0;
    size_t nlen, vlen;
    char *store;
    int bad = 0;

    if ((m->got.actions & k->action) != k->action)
        return miltc_fail(m, MILTC_ERR_PROTOCOL, "%s in reply to %s without the action negotiated",
                          k->name, ename);
    if (cmd == SMFIR_REPLBODY) {
        if (m->body_phase == 2)
            return miltc_fail(m, MILTC_ERR_PROTOCOL,
                              "SMFIR_REPLBODY resumed after other requests (as Postfix refuses)");
        if (left > MILTC_MAX_MOD_BYTES - m->mod_bytes)
            return miltc_fail(m, MILTC_ERR_PROTOCOL, "modifications exceed %u bytes",
                              MILTC_MAX_MOD_BYTES);
        if (m->body_len + left + 1 > m->body_cap) {
            size_t cap = (m->body_len + left + 1) * 2;
            char *b = realloc(m->body, cap);

            if (b == NULL)
                return miltc_fail(m, MILTC_ERR_NOMEM, "out of memory");
            m->body = b;
            m->body_cap = cap;
        }
        memcpy(m->body + m->body_len, p, left);
        m->body_len += left;
        m->body[m->body_len] = '\0';
        m->mod_bytes += left;
        if (m->body_phase == 1)
            return MILTC_OK; /* one more chunk of the same replacement */
        m->body_phase = 1;
    } else {
        if (m->body_phase == 1)
            m->body_phase = 2;
        if ((cmd == SMFIR_INSHEADER || cmd == SMFIR_CHGHEADER) &&
            miltc_take_u32(&p, &left, &index) != 0)
            bad = 1;
        if (!bad && miltc_take_str(&p, &left, &name) != 0)
            bad = 1;
        if (!bad && (cmd == SMFIR_ADDHEADER || cmd == SMFIR_INSHEADER || cmd == SMFIR_CHGHEADER)) {
            bad = miltc_take_str(&p, &left, &value) != 0 || name[0] == '\0';
        } else if (!bad && (cmd == SMFIR_ADDRCPT_PAR || cmd == SMFIR_CHGFROM) && left > 0) {
            bad = miltc_take_str(&p, &left, &value) != 0;
        }
        if (bad || left != 0)
            return miltc_fail(m, MILTC_ERR_PROTOCOL, "malformed %s in reply to %s", k->name, ename);
    }
    if (m->nmods == MILTC_MAX_MODS)
        return miltc_fail(m, MILTC_ERR_PROTOCOL, "more than %d modification requests",
                          MILTC_MAX_MODS);
    if (m->nmods == m->mods_cap) {
        size_t cap = m->mods_cap ? m->mods_cap * 2 : 16;
        struct miltc_mod *mods = realloc(m->mods, cap * sizeof *mods);
        char **store2;

        if (mods == NULL)
            return miltc_fail(m, MILTC_ERR_NOMEM, "out of memory");
        m->mods = mods;
        if ((store2 = realloc(m->mod_store, cap * sizeof *store2)) == NULL)
            return miltc_fail(m, MILTC_ERR_NOMEM, "out of memory");
        m->mod_store = store2;
        m->mods_cap = cap;
    }
    nlen = name ? strlen(name) : 0;
    vlen = value ? strlen(value) : 0;
    if (nlen + vlen > MILTC_MAX_MOD_BYTES - m->mod_bytes)
        return miltc_fail(m, MILTC_ERR_PROTOCOL, "modifications exceed %u bytes",
                          MILTC_MAX_MOD_BYTES);
    m->mod_bytes += nlen + vlen;
    store = NULL;
    if (name != NULL && (store = malloc(nlen + vlen + 2)) == NULL)
        return miltc_fail(m, MILTC_ERR_NOMEM, "out of memory");
    mod = &m->mods[m->nmods];
    m->mod_store[m->nmods] = store;
    mod->cmd = cmd;
    mod->index = index;
    mod->name = mod->value = NULL;
    mod->len = 0;
    if (store != NULL) {
        memcpy(store, name, nlen + 1);
        mod->name = store;
        if (value != NULL) {
            memcpy(store + nlen + 1, value, vlen + 1);
            mod->value = store + nlen + 1;
            mod->len = vlen;
        }
    }
    if (cmd == SMFIR_REPLBODY)
        m->body_mod = m->nmods;
    m->nmods++;
    return MILTC_OK;
}

/* ---- one event: send the packet in m->out, collect the answer */

static void miltc_after(struct miltc *m, char event, char verdict)
{
    int session = event == SMFIC_CONNECT || event == SMFIC_HELO;

    switch (verdict) {
    case SMFIR_ACCEPT:
        if (session) {
            miltc_drop_socket(m);
            m->state = MILTC_ST_ACCEPT_CON;
        } else {
            m->state = MILTC_ST_ACCEPT_MSG;
        }
        break;
    case SMFIR_DISCARD:
        if (!session)
            m->state = MILTC_ST_ACCEPT_MSG;
        break;
    case SMFIR_REJECT:
    case SMFIR_TEMPFAIL:
    case SMFIR_REPLYCODE:
        if (session) {
            miltc_drop_socket(m);
            m->state = MILTC_ST_REJECT_CON;
        }
        break;
    case SMFIR_SHUTDOWN:
    case SMFIR_CONN_FAIL:
        miltc_drop_socket(m);
        m->state = MILTC_ST_REJECT_CON;
        break;
    case SMFIR_SKIP:
        m->skip_event = event;
        break;
    default:
        break;
    }
    if (event == SMFIC_BODYEOB && m->state == MILTC_ST_ACCEPT_MSG)
        m->state = MILTC_ST_ENVELOPE;
}

static int miltc_exchange(struct miltc *m, char event, struct miltc_reply *out)
{
    const struct miltc_event *ev = miltc_event_bits(event);
    int64_t deadline;
    char lbuf[8];
    int rc;

    if ((rc = miltc_send(m)) != MILTC_OK)
        return rc;
    if (ev->nr_bit != 0 && (m->got.protocol & m->offer.protocol & ev->nr_bit) != 0) {
        out->outcome = MILTC_NOREPLY;
        return MILTC_OK;
    }
    deadline = miltc_now_ms() + (int64_t)m->timeout_ms * MILTC_EVENT_FACTOR;
    for (;;) {
        const unsigned char *data;
        const char *s;
        size_t len;
        char cmd;

        if ((rc = miltc_read(m, event, deadline, &cmd, &data, &len)) != MILTC_OK)
            return rc;
        switch (cmd) {
        case SMFIR_PROGRESS:
        case SMFIR_CONTINUE:
        case SMFIR_ACCEPT:
        case SMFIR_REJECT:
        case SMFIR_TEMPFAIL:
        case SMFIR_DISCARD:
        case SMFIR_SKIP:
        case SMFIR_SHUTDOWN:
        case SMFIR_CONN_FAIL:
            if (len != 0)
                return miltc_fail(m, MILTC_ERR_PROTOCOL, "reply %s to %s carries %zu data bytes",
                                  miltc_letter(cmd, lbuf), ev->name, len);
            if (cmd == SMFIR_PROGRESS)
                continue;
            if (cmd == SMFIR_SKIP && (m->offer.protocol & SMFIP_SKIP) == 0)
                return miltc_fail(m, MILTC_ERR_PROTOCOL, "SMFIR_SKIP to %s, SMFIP_SKIP not offered",
                                  ev->name);
            break;
        case SMFIR_REPLYCODE:
            if (len > 0 && data[len - 1] == '\0')
                len--;
            if (memchr(data, '\0', len) != NULL || (m->text = miltc_dup(data, len)) == NULL ||
                !miltc_replycode_ok(m->text))
                return miltc_fail(m, MILTC_ERR_PROTOCOL, "malformed SMFIR_REPLYCODE to %s",
                                  ev->name);
            out->text = m->text;
            break;
        case SMFIR_QUARANTINE:
            if (event == SMFIC_BODYEOB) {
                if ((rc = miltc_add_mod(m, event, cmd, data, len)) != MILTC_OK)
                    return rc;
                continue;
            }
            if (miltc_take_str(&data, &len, &s) != 0 || len != 0)
                return miltc_fail(m, MILTC_ERR_PROTOCOL, "malformed SMFIR_QUARANTINE to %s",
                                  ev->name);
            free(m->quarantine);
            if ((m->quarantine = miltc_dup(s, strlen(s))) == NULL)
                return miltc_fail(m, MILTC_ERR_NOMEM, "out of memory");
            out->quarantine = m->quarantine;
            continue;
        default:
            if (event == SMFIC_BODYEOB && miltc_modkind(cmd) != NULL) {
                if ((rc = miltc_add_mod(m, event, cmd, data, len)) != MILTC_OK)
                    return rc;
                continue;
            }
            return miltc_fail(m, MILTC_ERR_PROTOCOL, "unexpected reply %s to %s",
                              miltc_letter(cmd, lbuf), ev->name);
        }
        out->outcome = MILTC_REPLIED;
        out->cmd = cmd;
        miltc_after(m, event, cmd);
        return MILTC_OK;
    }
}

/*
 * Decide whether an event goes to the filter (Postfix's milter8_event
 * order: session state, protocol version, SMFIR_SKIP, SMFIP_NO*).
 * Sets *send, or fills out->why; a usage error leaves the stream intact.
 */
static int miltc_gate(struct miltc *m, char event, struct miltc_reply *out, int *send)
{
    const struct miltc_event *ev = miltc_event_bits(event);

    *send = 0;
    miltc_reply_init(m, out);
    switch (m->state) {
    case MILTC_ST_CLOSED:
        return miltc_fail(m, MILTC_ERR_USAGE, "%s: the connection is closed", ev->name);
    case MILTC_ST_OPEN:
        return miltc_fail(m, MILTC_ERR_USAGE, "%s before negotiation", ev->name);
    case MILTC_ST_ACCEPT_CON:
        out->why = "accepted";
        return MILTC_OK;
    case MILTC_ST_REJECT_CON:
        out->why = "rejected";
        return MILTC_OK;
    case MILTC_ST_READY:
        if (event != SMFIC_CONNECT)
            return miltc_fail(m, MILTC_ERR_USAGE, "%s before SMFIC_CONNECT", ev->name);
        break;
    case MILTC_ST_ENVELOPE:
        if (event == SMFIC_CONNECT)
            return miltc_fail(m, MILTC_ERR_USAGE, "SMFIC_CONNECT twice (quit_nc first)");
        break;
    case MILTC_ST_ACCEPT_MSG:
        if (event == SMFIC_CONNECT)
            return miltc_fail(m, MILTC_ERR_USAGE, "SMFIC_CONNECT twice (quit_nc first)");
        if (event == SMFIC_MAIL)
            m->state = MILTC_ST_ENVELOPE; /* a new transaction */
        if (event != SMFIC_MAIL && event != SMFIC_HELO) {
            if (event == SMFIC_BODYEOB)
                m->state = MILTC_ST_ENVELOPE;
            out->why = "accepted";
            return MILTC_OK;
        }
        break;
    }
    if (event == SMFIC_DATA && m->got.version < 4) {
        out->why = "version";
        return MILTC_OK;
    }
    if (m->skip_event != 0) {
        if (m->skip_event == event) {
            out->why = "skip";
            return MILTC_OK;
        }
        m->skip_event = 0;
    }
    if (ev->no_bit != 0 && (m->got.protocol & ev->no_bit) != 0) {
        out->why = "declined";
        return MILTC_OK;
    }
    *send = 1;
    return MILTC_OK;
}

/* ---- opening a connection */

static int miltc_dial(const struct sockaddr *sa, socklen_t salen, int64_t deadline, char *err,
                      size_t errlen, const char *spec)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int soerr = 0;

    if (fd < 0) {
        snprintf(err, errlen, "connect %s: socket: %s", spec, strerror(errno));
        return -1;
    }
    while (connect(fd, sa, salen) != 0) {
        int64_t left = deadline - miltc_now_ms();
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        socklen_t sl = sizeof soerr;

        if (left <= 0) {
            snprintf(err, errlen, "connect %s: timeout", spec);
            break;
        }
        if (errno == EAGAIN && sa->sa_family == AF_UNIX) {
            (void)poll(NULL, 0, left < 5 ? (int)left : 5); /* listen backlog full: retry */
            continue;
        }
        if (errno != EINPROGRESS && errno != EINTR) {
            snprintf(err, errlen, "connect %s: %s", spec, strerror(errno));
            break;
        }
        if (poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left) <= 0) {
            snprintf(err, errlen, "connect %s: timeout", spec);
            break;
        }
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            soerr = errno;
        if (soerr == 0)
            return fd;
        snprintf(err, errlen, "connect %s: %s", spec, strerror(soerr));
        break;
    }
    if (err[0] == '\0')
        return fd;
    close(fd);
    return -1;
}

static int miltc_dial_unix(const char *path, int64_t deadline, char *err, size_t errlen,
                           const char *spec)
{
    struct sockaddr_un sun;

    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    if (path[0] == '\0' || strlen(path) >= sizeof sun.sun_path) {
        snprintf(err, errlen, "connect %s: bad socket path", spec);
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    return miltc_dial((struct sockaddr *)&sun, sizeof sun, deadline, err, errlen, spec);
}

/* inet:PORT@HOST, inet:HOST:PORT, inet:[HOST]:PORT, inet:PORT; same for inet6. */
static int miltc_dial_inet(const char *rest, int v6, int64_t deadline, char *err, size_t errlen,
                           const char *spec)
{
    char buf[300], *h, *port, *at, *colon;
    struct addrinfo hints, *res, *ai;
    const char *host;
    int fd = -1, gai;

    if (strlen(rest) >= sizeof buf) {
        snprintf(err, errlen, "connect %s: address too long", spec);
        return -1;
    }
    strcpy(buf, rest);
    h = NULL;
    port = buf;
    if ((at = strchr(buf, '@')) != NULL) {
        *at = '\0';
        h = at + 1;
    } else if (buf[0] == '[' && (colon = strstr(buf, "]:")) != NULL) {
        *colon = '\0';
        h = buf + 1;
        port = colon + 2;
    } else if (!v6 && (colon = strrchr(buf, ':')) != NULL) {
        *colon = '\0';
        h = buf;
        port = colon + 1;
    }
    if (h != NULL && h[0] == '[' && h[strlen(h) - 1] == ']') {
        h[strlen(h) - 1] = '\0';
        h++;
    }
    host = h != NULL && h[0] != '\0' ? h : v6 ? "::1" : "127.0.0.1";
    if (port[0] == '\0' || strspn(port, "0123456789") != strlen(port) || atol(port) < 1 ||
        atol(port) > 65535) {
        snprintf(err, errlen, "connect %s: bad port", spec);
        return -1;
    }
    memset(&hints, 0, sizeof hints);
    hints.ai_family = v6 || strchr(host, ':') != NULL ? AF_INET6 : AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
        snprintf(err, errlen, "connect %s: %s", spec, gai_strerror(gai));
        return -1;
    }
    for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        err[0] = '\0';
        fd = miltc_dial(ai->ai_addr, ai->ai_addrlen, deadline, err, errlen, spec);
    }
    freeaddrinfo(res);
    return fd;
}

struct miltc *miltc_open(const char *spec, unsigned timeout_ms, char *err, size_t errlen)
{
    char scratch[8];
    int64_t deadline;
    struct miltc *m;
    int fd;

    if (err == NULL || errlen == 0) {
        err = scratch;
        errlen = sizeof scratch;
    }
    err[0] = '\0';
    if (timeout_ms == 0)
        timeout_ms = MILTC_DEFAULT_TIMEOUT_MS;
    deadline = miltc_now_ms() + timeout_ms;
    if (spec == NULL) {
        snprintf(err, errlen, "no socket given");
        return NULL;
    }
    if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
        fd = miltc_dial_unix(strchr(spec, ':') + 1, deadline, err, errlen, spec);
    else if (spec[0] == '/')
        fd = miltc_dial_unix(spec, deadline, err, errlen, spec);
    else if (strncmp(spec, "inet:", 5) == 0)
        fd = miltc_dial_inet(spec + 5, 0, deadline, err, errlen, spec);
    else if (strncmp(spec, "inet6:", 6) == 0)
        fd = miltc_dial_inet(spec + 6, 1, deadline, err, errlen, spec);
    else {
        snprintf(err, errlen,
                 "bad socket \"%s\": want unix:PATH, inet:PORT@HOST or "
                 "inet6:PORT@HOST",
                 spec);
        return NULL;
    }
    if (fd < 0)
        return NULL;
    if ((m = calloc(1, sizeof *m)) == NULL) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->fd = fd;
    m->state = MILTC_ST_OPEN;
    m->timeout_ms = timeout_ms;
    m->offer.version = MILTC_POSTFIX_VERSION;
    m->offer.actions = MILTC_POSTFIX_ACTIONS;
    m->offer.protocol = MILTC_POSTFIX_PROTOCOL;
    return m;
}

/* ---- the public calls */

int miltc_negotiate(struct miltc *m, const struct miltc_optneg *offer, struct miltc_optneg *got)
{
    const unsigned char *data;
    size_t len;
    char cmd, lbuf[8];
    int rc;

    m->err[0] = '\0';
    if (m->state != MILTC_ST_OPEN)
        return miltc_fail(m, MILTC_ERR_USAGE, "SMFIC_OPTNEG: negotiate once, right after open");
    if (offer != NULL)
        m->offer = *offer;
    miltc_begin(m, SMFIC_OPTNEG);
    miltc_put_u32(m, m->offer.version);
    miltc_put_u32(m, m->offer.actions);
    miltc_put_u32(m, m->offer.protocol);
    if ((rc = miltc_send(m)) != MILTC_OK)
        return rc;
    if ((rc = miltc_read(m, SMFIC_OPTNEG, miltc_now_ms() + m->timeout_ms, &cmd, &data, &len)))
        return rc;
    if (cmd != SMFIC_OPTNEG)
        return miltc_fail(m, MILTC_ERR_PROTOCOL, "unexpected reply %s to SMFIC_OPTNEG",
                          miltc_letter(cmd, lbuf));
    if (miltc_take_u32(&data, &len, &m->got.version) != 0 ||
        miltc_take_u32(&data, &len, &m->got.actions) != 0 ||
        miltc_take_u32(&data, &len, &m->got.protocol) != 0)
        return miltc_fail(m, MILTC_ERR_PROTOCOL, "SMFIC_OPTNEG reply too short");
    if (m->got.version < 2 || m->got.version > m->offer.version)
        return miltc_fail(m, MILTC_ERR_PROTOCOL, "filter wants protocol version %lu, offered %lu",
                          (unsigned long)m->got.version, (unsigned long)m->offer.version);
    if ((m->got.actions & ~m->offer.actions) != 0)
        return miltc_fail(m, MILTC_ERR_PROTOCOL, "filter wants actions 0x%lx, offered 0x%lx",
                          (unsigned long)m->got.actions, (unsigned long)m->offer.actions);
    while (len > 0) { /* macro lists: (index, "name name ...") pairs */
        const char *list;
        uint32_t idx;

        if (miltc_take_u32(&data, &len, &idx) != 0 || miltc_take_str(&data, &len, &list) != 0)
            return miltc_fail(m, MILTC_ERR_PROTOCOL, "malformed macro list in SMFIC_OPTNEG reply");
        if (idx >= MILTC_NSTAGES)
            continue; /* Postfix ignores unknown lists too */
        free(m->symlist[idx]);
        if ((m->symlist[idx] = miltc_dup(list, strlen(list))) == NULL)
            return miltc_fail(m, MILTC_ERR_NOMEM, "out of memory");
    }
    m->state = MILTC_ST_READY;
    if (got != NULL)
        *got = m->got;
    return MILTC_OK;
}

const char *miltc_symlist(const struct miltc *m, char stage)
{
    const char *p = stage ? strchr(miltc_stages, stage) : NULL;

    return p ? m->symlist[p - miltc_stages] : NULL;
}

int miltc_macro(struct miltc *m, char stage, const char *const *namevals)
{
    size_t n = 0;

    m->err[0] = '\0';
    if (stage == '\0' || strchr(miltc_stages, stage) == NULL)
        return miltc_fail(m, MILTC_ERR_USAGE, "SMFIC_MACRO: stage '%c' is not one of %s", stage,
                          miltc_stages);
    while (namevals != NULL && namevals[n] != NULL)
        n++;
    if (n == 0 || n % 2 != 0)
        return miltc_fail(m, MILTC_ERR_USAGE, "SMFIC_MACRO: want name, value pairs");
    if (m->state == MILTC_ST_CLOSED || m->state == MILTC_ST_OPEN)
        return miltc_fail(m, MILTC_ERR_USAGE, "SMFIC_MACRO: not negotiated or closed");
    if (m->state == MILTC_ST_ACCEPT_CON || m->state == MILTC_ST_REJECT_CON)
        return MILTC_OK; /* the filter is out of this session */
    miltc_begin(m, SMFIC_MACRO);
    miltc_put(m, &stage, 1);
    for (size_t i = 0; i < n; i++)
        miltc_put_str(m, namevals[i]);
    return miltc_send(m);
}

int miltc_connect(struct miltc *m, const char *hostname, char family, uint16_t port,
                  const char *addr, struct miltc_reply *out)
{
    unsigned char nport[2] = {(unsigned char)(port >> 8), (unsigned char)port};
    int send, rc;

    if ((rc = miltc_gate(m, SMFIC_CONNECT, out, &send)) != MILTC_OK)
        return rc;
    if (m->state == MILTC_ST_READY)
        m->state = MILTC_ST_ENVELOPE; /* even when not sent: the session has begun */
    if (!send)
        return MILTC_OK;
    miltc_begin(m, SMFIC_CONNECT);
    miltc_put_str(m, hostname);
    miltc_put(m, &family, 1);
    if (family != SMFIA_UNKNOWN) {
        miltc_put(m, nport, 2);
        miltc_put_str(m, addr ? addr : "");
    }
    return miltc_exchange(m, SMFIC_CONNECT, out);
}

int miltc_helo(struct miltc *m, const char *name, struct miltc_reply *out)
{
    int send, rc;

    if ((rc = miltc_gate(m, SMFIC_HELO, out, &send)) != MILTC_OK || !send)
        return rc;
    miltc_begin(m, SMFIC_HELO);
    miltc_put_str(m, name);
    return miltc_exchange(m, SMFIC_HELO, out);
}

static int miltc_argv_event(struct miltc *m, char event, const char *const *argv,
                            struct miltc_reply *out)
{
    int send, rc;

    if (argv == NULL || argv[0] == NULL)
        return miltc_fail(m, MILTC_ERR_USAGE, "%s: no address", miltc_event_name(event));
    if ((rc = miltc_gate(m, event, out, &send)) != MILTC_OK || !send)
        return rc;
    miltc_begin(m, event);
    for (; *argv != NULL; argv++)
        miltc_put_str(m, *argv);
    return miltc_exchange(m, event, out);
}

int miltc_mail(struct miltc *m, const char *const *argv, struct miltc_reply *out)
{
    return miltc_argv_event(m, SMFIC_MAIL, argv, out);
}

int miltc_rcpt(struct miltc *m, const char *const *argv, struct miltc_reply *out)
{
    return miltc_argv_event(m, SMFIC_RCPT, argv, out);
}

static int miltc_bare_event(struct miltc *m, char event, struct miltc_reply *out)
{
    int send, rc;

    if ((rc = miltc_gate(m, event, out, &send)) != MILTC_OK || !send)
        return rc;
    miltc_begin(m, event);
    return miltc_exchange(m, event, out);
}

int miltc_data(struct miltc *m, struct miltc_reply *out)
{
    return miltc_bare_event(m, SMFIC_DATA, out);
}

int miltc_eoh(struct miltc *m, struct miltc_reply *out)
{
    return miltc_bare_event(m, SMFIC_EOH, out);
}

int miltc_header(struct miltc *m, const char *name, const char *raw_value, struct miltc_reply *out)
{
    int send, rc;

    if (name == NULL || name[0] == '\0' || raw_value == NULL)
        return miltc_fail(m, MILTC_ERR_USAGE, "SMFIC_HEADER: no name or value");
    if ((rc = miltc_gate(m, SMFIC_HEADER, out, &send)) != MILTC_OK || !send)
        return rc;
    if ((m->got.protocol & m->offer.protocol & SMFIP_HDR_LEADSPC) == 0 && raw_value[0] == ' ')
        raw_value++; /* Sendmail eats one space (not tab) after the colon */
    miltc_begin(m, SMFIC_HEADER);
    miltc_put_str(m, name);
    miltc_put_str(m, raw_value);
    return miltc_exchange(m, SMFIC_HEADER, out);
}

int miltc_body(struct miltc *m, const void *buf, size_t len, struct miltc_reply *out)
{
    const unsigned char *p = buf;
    int send, rc;

    if (buf == NULL || len == 0) /* libmilter drops a connection on an empty SMFIC_BODY */
        return miltc_fail(m, MILTC_ERR_USAGE, "SMFIC_BODY: empty chunk");
    if ((rc = miltc_gate(m, SMFIC_BODY, out, &send)) != MILTC_OK || !send)
        return rc;
    do {
        size_t n = len < MILTER_CHUNK_SIZE ? len : MILTER_CHUNK_SIZE;

        miltc_begin(m, SMFIC_BODY);
        miltc_put(m, p, n);
        if ((rc = miltc_exchange(m, SMFIC_BODY, out)) != MILTC_OK)
            return rc;
        p += n;
        len -= n;
    } while (len > 0 && (out->outcome == MILTC_NOREPLY || out->cmd == SMFIR_CONTINUE));
    return MILTC_OK;
}

int miltc_eom(struct miltc *m, struct miltc_eom_result *out)
{
    int send, rc;

    out->mods = NULL;
    out->nmods = 0;
    if ((rc = miltc_gate(m, SMFIC_BODYEOB, &out->reply, &send)) != MILTC_OK || !send)
        return rc;
    miltc_begin(m, SMFIC_BODYEOB);
    if ((rc = miltc_exchange(m, SMFIC_BODYEOB, &out->reply)) != MILTC_OK)
        return rc;
    if (m->state == MILTC_ST_ACCEPT_MSG)
        m->state = MILTC_ST_ENVELOPE;
    if (m->body_phase != 0) {
        m->mods[m->body_mod].value = m->body;
        m->mods[m->body_mod].len = m->body_len;
    }
    out->mods = m->mods;
    out->nmods = m->nmods;
    return MILTC_OK;
}

int miltc_abort(struct miltc *m)
{
    m->err[0] = '\0';
    if (m->state == MILTC_ST_CLOSED || m->state == MILTC_ST_OPEN)
        return miltc_fail(m, MILTC_ERR_USAGE, "SMFIC_ABORT: not negotiated or closed");
    if (m->state != MILTC_ST_ENVELOPE && m->state != MILTC_ST_ACCEPT_MSG)
        return MILTC_OK; /* no transaction to abort, or the filter is out of the session */
    m->state = MILTC_ST_ENVELOPE;
    m->skip_event = 0;
    miltc_begin(m, SMFIC_ABORT);
    return miltc_send(m);
}

int miltc_quit(struct miltc *m)
{
    int rc = MILTC_OK;

    m->err[0] = '\0';
    if (m->fd >= 0 && m->state != MILTC_ST_OPEN) {
        miltc_begin(m, SMFIC_QUIT);
        rc = miltc_send(m);
    }
    miltc_drop_socket(m);
    m->state = MILTC_ST_CLOSED;
    return rc;
}

int miltc_quit_nc(struct miltc *m)
{
    m->err[0] = '\0';
    if (m->fd < 0 || m->state == MILTC_ST_OPEN)
        return miltc_fail(m, MILTC_ERR_USAGE, "SMFIC_QUIT_NC: no negotiated connection");
    if (m->got.version < 6)
        return miltc_fail(m, MILTC_ERR_USAGE, "SMFIC_QUIT_NC: filter speaks version %lu",
                          (unsigned long)m->got.version);
    m->state = MILTC_ST_READY;
    m->skip_event = 0;
    miltc_begin(m, SMFIC_QUIT_NC);
    return miltc_send(m);
}

void miltc_close(struct miltc *m)
{
    if (m == NULL)
        return;
    miltc_drop_socket(m);
    miltc_results_clear(m);
    for (size_t i = 0; i < MILTC_NSTAGES; i++)
        free(m->symlist[i]);
    free(m->mods);
    free(m->mod_store);
    free(m->body);
    free(m);
}

const char *miltc_error(const struct miltc *m)
{
    return m->err;
}

const char *miltc_reply_name(const struct miltc_reply *r)
{
    if (r->outcome == MILTC_NOREPLY)
        return "noreply";
    if (r->outcome == MILTC_UNSENT)
        return "unsent";
    switch (r->cmd) {
    case SMFIR_CONTINUE:
        return "continue";
    case SMFIR_ACCEPT:
        return "accept";
    case SMFIR_REJECT:
        return "reject";
    case SMFIR_TEMPFAIL:
        return "tempfail";
    case SMFIR_DISCARD:
        return "discard";
    case SMFIR_SKIP:
        return "skip";
    case SMFIR_SHUTDOWN:
        return "shutdown";
    case SMFIR_CONN_FAIL:
        return "connfail";
    case SMFIR_REPLYCODE:
        return r->text[0] == '5' ? "reject" : "tempfail";
    default:
        return "?";
    }
}

const char *miltc_status_name(int status)
{
    static const char *const names[] = {"ok",      "usage",    "connect", "io",
                                        "timeout", "protocol", "nomem"};

    return status >= 0 && status < (int)(sizeof names / sizeof names[0]) ? names[status] : "?";
}
