/*
 * mlfi.h - the libmilter callbacks (mlfi.c is the only file that
 * includes <libmilter/mfapi.h>).
 *
 * State levels: the engine (one, see engine.h) is handed over once with
 * sts_mlfi_register(); the connection (smfi_setpriv) holds a snapshot of
 * the configuration taken at connect, freed at close; the message holds
 * the audit entries of its accepted recipients, freed at eom and abort.
 */
#ifndef MTASTS_MLFI_H
#define MTASTS_MLFI_H

#include <stdbool.h>
#include <stddef.h>

#include "mtasts/engine.h"
#include "mtasts/status.h"

/**
 * Register the filter with libmilter and open its socket (before
 * privileges are dropped).  socket is "unix:PATH", "inet:PORT@HOST", ...
 * @param remove_stale remove a leftover unix socket file first
 */
enum sts_status sts_mlfi_register(struct sts_engine *rt, const char *socket, bool remove_stale,
                                  char *err, size_t errlen);

/**
 * Run libmilter's accept loop until sts_mlfi_stop(); returns smfi_main's
 * result.  Call once, on a thread of its own: it installs a no-op handler
 * for SIGUSR2 and unblocks that signal in the calling thread (see stop).
 */
int sts_mlfi_run(void);

/**
 * Stop the accept loop and return once it has (within milliseconds: the
 * loop's thread is woken with SIGUSR2; at most 10 s).  Call from another
 * thread than sts_mlfi_run()'s, once.  Sessions in progress are not waited
 * for (libmilter does not track them).
 */
void sts_mlfi_stop(void);

#endif
