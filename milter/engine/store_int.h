/*
 * store_int.h - what store.c lends the other file of the store module,
 * store_probe.c (the probe rows): a connection of the pool.  Private to
 * the store; nothing outside milter/store*.c includes it.
 *
 * A borrowed connection is used by one thread until it is returned; its
 * busy_timeout is set and its schema is current.  The borrower prepares
 * and finalizes its own statements (the connection's prepared set belongs
 * to store.c) and leaves no transaction open (a connection returned
 * inside one is rolled back, and closed if that fails).
 */
#ifndef MTASTS_STORE_INT_H
#define MTASTS_STORE_INT_H

#include <sqlite3.h>
#include <stddef.h>

#include "mtasts/status.h"
#include "mtasts/store.h"

struct store_conn;

/**
 * Borrow a connection (waiting while all are lent).
 * @param db receives its SQLite handle, valid until the return
 * @return STS_OK, or STS_EIO/STS_ENOMEM when a new one cannot be opened
 */
enum sts_status sts_store_conn_borrow(struct sts_store *s, struct store_conn **conn, sqlite3 **db,
                                      char *err, size_t errlen);

/** Give a borrowed connection back. */
void sts_store_conn_return(struct sts_store *s, struct store_conn *conn);

#endif
