/*
 * listener.h - open a listening stream socket from a socket spec
 * (unix:PATH, local:PATH, inet:PORT[@HOST], inet6:PORT[@HOST]), as the
 * daemon's own listeners take them (the metrics responder; the socketmap
 * server has the same code inline and may move onto this).
 *
 * The socket is non-blocking and close-on-exec.  A unix socket file left
 * by a dead process is replaced; one a live process answers on is "in
 * use".  The default HOST is 127.0.0.1 (inet) or ::1 (inet6); PORT 0
 * takes any free port (tests).  Not thread-safe against itself for the
 * same path; call it at start-up.
 */
#ifndef MTASTS_LISTENER_H
#define MTASTS_LISTENER_H

#include <stddef.h>

#include "mtasts/status.h"

struct sts_listener {
    int fd;          /* -1 when closed */
    unsigned port;   /* the TCP port bound, 0 for unix */
    char *unix_path; /* the socket file (the listener owns it), or NULL */
};

/**
 * Open and listen.
 * @param spec  the socket spec
 * @param what  the listener's name, for messages ("metrics")
 * @param mode  permissions of a unix socket file (e.g. 0660)
 * @param out   filled on success; on failure out->fd is -1
 * @return STS_OK; STS_EINVAL (bad spec); STS_EIO (socket, bind, listen;
 *         reason in err); STS_ENOMEM
 */
enum sts_status sts_listener_open(const char *spec, const char *what, unsigned mode,
                                  struct sts_listener *out, char *err, size_t errlen);

/** Close the socket and remove its file; safe on a closed listener. */
void sts_listener_close(struct sts_listener *l);

#endif
