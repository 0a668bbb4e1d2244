/*
 * miltc.h - the MTA side of the milter protocol, version 6, spoken the way
 * Postfix 3.7 (src/milter/milter8.c) speaks it: a small client library for
 * the milter-level tests and the load generator.
 *
 * A session, in call order:
 *   miltc_open -> miltc_negotiate -> [miltc_macro] miltc_connect -> helo ->
 *   { mail -> rcpt... -> data -> header... -> eoh -> body... -> eom | abort }
 *   -> miltc_quit (or miltc_quit_nc and a new miltc_connect) -> miltc_close.
 *
 * What Postfix does and this client copies:
 *   - it offers version 6, every action (SMFI_CURR_ACTS = 0x1ff) and every
 *     protocol bit (SMFI_CURR_PROT = 0x1fffff: all SMFIP_NO*, SMFIP_NR_*,
 *     SMFIP_SKIP, SMFIP_RCPT_REJ, SMFIP_HDR_LEADSPC) unless told otherwise;
 *   - an event the filter declined (SMFIP_NOCONNECT, ...) is not sent, nor
 *     an event its protocol version lacks (DATA before version 4), nor an
 *     event of the type it answered SMFIR_SKIP to, until another type;
 *   - for an event with a negotiated SMFIP_NR_* bit no reply is awaited;
 *   - ACCEPT, REJECT, TEMPFAIL or a reply code at CONNECT/HELO ends the
 *     filter's part in the SMTP session: the socket is closed and later
 *     events are not sent; ACCEPT or DISCARD in a transaction skips the rest
 *     of that message until eom or abort;
 *   - header values lose one leading space unless SMFIP_HDR_LEADSPC was
 *     negotiated; body content goes in SMFIC_BODY chunks of at most
 *     MILTER_CHUNK_SIZE; SMFIC_BODYEOB carries no data;
 *   - modification requests (SMFIR_ADDHEADER ...) are legal only in reply
 *     to SMFIC_BODYEOB; SMFIR_PROGRESS keeps the client waiting.
 * Unlike Postfix, reply-code text is returned as sent (no '%%' undoubling).
 *
 * Deadlines: connecting has timeout_ms; each reply packet has timeout_ms
 * from the moment the client starts waiting for it (so SMFIR_PROGRESS
 * extends the wait), and all the packets answering one event have 10 x
 * timeout_ms in total (Postfix: milter_command_timeout 30s,
 * milter_content_timeout 300s).  Writes have timeout_ms as well.
 *
 * Caps: a packet from the filter may hold at most MILTC_MAX_PACKET bytes
 * (command byte + MILTER_MAX_DATA_SIZE of data: the libmilter default, as
 * this client never offers SMFIP_MDS_256K/1M); one eom collects at most
 * MILTC_MAX_MODS modifications and MILTC_MAX_MOD_BYTES bytes of them.  A
 * command whose data would exceed MILTER_MAX_DATA_SIZE is refused locally
 * (MILTC_ERR_USAGE, nothing sent).
 *
 * Errors: every call returns an enum miltc_status; miltc_error() says why.
 * After MILTC_ERR_IO, MILTC_ERR_TIMEOUT or MILTC_ERR_PROTOCOL the stream
 * is out of step, so the socket is closed and every later event returns
 * MILTC_ERR_USAGE.  MILTC_ERR_USAGE alone leaves the connection intact.
 *
 * Ownership: struct miltc is allocated by miltc_open() and freed by
 * miltc_close(); miltc_close(NULL) is a no-op.  The strings and arrays a
 * call hands back (reply text, modifications, macro lists, the error
 * message) belong to the handle and stay valid until the next call on it.
 *
 * Threads: a handle is used by one thread at a time; separate handles are
 * independent (no global state).  SIGPIPE is never raised (MSG_NOSIGNAL).
 */
#ifndef MILTC_H
#define MILTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmilter/mfdef.h>

/** Largest packet (command byte + data) accepted from a filter. */
#define MILTC_MAX_PACKET (MILTER_MAX_DATA_SIZE + 1)
/** Most modification requests collected by one eom. */
#define MILTC_MAX_MODS 4096
/** Most bytes of modification requests (replacement body included) per eom. */
#define MILTC_MAX_MOD_BYTES (16u * 1024 * 1024)

/** What Postfix 3.7 offers in SMFIC_OPTNEG (milter_protocol = 6). */
#define MILTC_POSTFIX_VERSION SMFI_PROT_VERSION
#define MILTC_POSTFIX_ACTIONS SMFI_CURR_ACTS
#define MILTC_POSTFIX_PROTOCOL SMFI_CURR_PROT

enum miltc_status {
    MILTC_OK = 0,
    MILTC_ERR_USAGE,    /* bad argument, call out of order, or connection closed */
    MILTC_ERR_CONNECT,  /* could not connect to the socket */
    MILTC_ERR_IO,       /* read/write error, or the filter closed the connection */
    MILTC_ERR_TIMEOUT,  /* no complete reply before the deadline */
    MILTC_ERR_PROTOCOL, /* malformed, oversized or unexpected packet from the filter */
    MILTC_ERR_NOMEM,
};

/** Whether an event reached the filter and was answered. */
enum miltc_outcome {
    MILTC_REPLIED = 0, /* sent; the filter answered with cmd */
    MILTC_NOREPLY,     /* sent; the filter negotiated SMFIP_NR_* for it */
    MILTC_UNSENT,      /* not sent; see why */
};

struct miltc_reply {
    enum miltc_outcome outcome;
    char cmd;               /* the final SMFIR_* letter when REPLIED, else 0 */
    const char *text;       /* SMFIR_REPLYCODE text ("451 4.7.5 ..."), else "" */
    const char *quarantine; /* reason of an SMFIR_QUARANTINE outside eom, or NULL */
    const char *why;        /* UNSENT: "declined" (SMFIP_NO*), "version",
                               "skip" (SMFIR_SKIP), "accepted", "rejected"; else "" */
};

/** One modification request received in answer to SMFIC_BODYEOB. */
struct miltc_mod {
    char cmd;          /* SMFIR_ADDHEADER, _INSHEADER, _CHGHEADER, _ADDRCPT,
                          _ADDRCPT_PAR, _DELRCPT, _CHGFROM, _REPLBODY, _QUARANTINE */
    uint32_t index;    /* INSHEADER: 0 = top; CHGHEADER: 1 = first instance */
    const char *name;  /* header name, recipient, sender or quarantine reason;
                          NULL for REPLBODY */
    const char *value; /* header value as sent (empty for a CHGHEADER delete);
                          ESMTP arguments (ADDRCPT_PAR, CHGFROM) or NULL;
                          REPLBODY: all body chunks, concatenated */
    size_t len;        /* length of value (REPLBODY may contain NUL bytes) */
};

struct miltc_eom_result {
    struct miltc_reply reply;
    const struct miltc_mod *mods; /* in the order received */
    size_t nmods;
};

struct miltc_optneg {
    uint32_t version;
    uint32_t actions;  /* SMFIF_* bits */
    uint32_t protocol; /* SMFIP_* bits */
};

struct miltc;

/**
 * Connect to a filter socket.
 * @param spec unix:PATH, local:PATH, /PATH, inet:PORT@HOST, inet6:PORT@HOST
 *   (Sendmail/libmilter form), inet:HOST:PORT or inet:[V6ADDR]:PORT
 *   (Postfix form); HOST defaults to 127.0.0.1 (inet) or ::1 (inet6)
 * @param timeout_ms connect, write and per-reply deadline (0 = 10000)
 * @param err receives a message on failure
 * @return the handle, or NULL with err set
 */
struct miltc *miltc_open(const char *spec, unsigned timeout_ms, char *err, size_t errlen);

/**
 * Send SMFIC_OPTNEG and read the filter's answer, including any macro
 * lists it asks for (see miltc_symlist).
 * @param offer what to offer; NULL for Postfix's (MILTC_POSTFIX_*)
 * @param got if not NULL, receives the filter's version, actions, protocol
 * @return MILTC_OK; MILTC_ERR_PROTOCOL when the filter wants a newer
 *   version or actions not offered
 */
int miltc_negotiate(struct miltc *m, const struct miltc_optneg *offer, struct miltc_optneg *got);

/**
 * @param stage 'C', 'H', 'M', 'R', 'T', 'E' or 'N' (the SMFIC_* letter)
 * @return the macro names the filter listed for that stage in its
 *   negotiation answer (smfi_setsymlist), or NULL if it listed none
 */
const char *miltc_symlist(const struct miltc *m, char stage);

/**
 * Send SMFIC_MACRO (no reply is expected).  Like Postfix, macros are sent
 * even when the following event is not (SMFIP_NO*).
 * @param stage the SMFIC_* letter the macros belong to: C H M R T E N
 * @param namevals NULL-terminated name, value, name, value, ... array;
 *   names like "j", "{daemon_name}", "{rcpt_addr}"
 */
int miltc_macro(struct miltc *m, char stage, const char *const *namevals);

/**
 * SMFIC_CONNECT.
 * @param family SMFIA_INET, SMFIA_INET6, SMFIA_UNIX or SMFIA_UNKNOWN (then
 *   port and addr are not sent)
 * @param out receives the reply
 */
int miltc_connect(struct miltc *m, const char *hostname, char family, uint16_t port,
                  const char *addr, struct miltc_reply *out);
int miltc_helo(struct miltc *m, const char *name, struct miltc_reply *out);
/** @param argv NULL-terminated: "<sender>" then ESMTP arguments */
int miltc_mail(struct miltc *m, const char *const *argv, struct miltc_reply *out);
/** @param argv NULL-terminated: "<recipient>" then ESMTP arguments */
int miltc_rcpt(struct miltc *m, const char *const *argv, struct miltc_reply *out);
int miltc_data(struct miltc *m, struct miltc_reply *out);
/**
 * SMFIC_HEADER.
 * @param raw_value the text after "name:" as in the message, usually
 *   starting with one space, which is dropped unless SMFIP_HDR_LEADSPC
 */
int miltc_header(struct miltc *m, const char *name, const char *raw_value, struct miltc_reply *out);
int miltc_eoh(struct miltc *m, struct miltc_reply *out);
/**
 * SMFIC_BODY, in chunks of at most MILTER_CHUNK_SIZE; stops at the first
 * answer other than continue, which is the one returned in out.
 * @param buf body content, lines ending in CRLF
 */
int miltc_body(struct miltc *m, const void *buf, size_t len, struct miltc_reply *out);
/** SMFIC_BODYEOB; collects the modification requests before the verdict. */
int miltc_eom(struct miltc *m, struct miltc_eom_result *out);
/** SMFIC_ABORT (no reply): ends the transaction, the connection stays. */
int miltc_abort(struct miltc *m);
/** SMFIC_QUIT, then close the socket.  The handle still needs miltc_close. */
int miltc_quit(struct miltc *m);
/** SMFIC_QUIT_NC: ends this SMTP session; a new miltc_connect may follow. */
int miltc_quit_nc(struct miltc *m);
/** Close the socket (without QUIT) and free the handle; NULL is a no-op. */
void miltc_close(struct miltc *m);

/** @return the message of the last failed call, "" if none */
const char *miltc_error(const struct miltc *m);

/**
 * @return the verdict word for a reply: "continue", "accept", "reject",
 *   "tempfail", "discard", "skip", "shutdown", "connfail" (REPLYCODE maps to
 *   reject or tempfail by its first digit), "noreply", or "unsent"
 */
const char *miltc_reply_name(const struct miltc_reply *r);

/** @return the name of a status ("ok", "usage", "connect", ...) */
const char *miltc_status_name(int status);

#endif
