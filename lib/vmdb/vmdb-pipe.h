/*
 * lib/vmdb/vmdb-pipe.h - mirror a VMDB subtree between two processes.
 *
 * Over a connected Unix stream socket, the server side sends a full sync of
 * the subtree on connect (applied by the client as one transaction that
 * replaces its copy), then both sides send their local changes as they
 * commit, each commit as one TXN message that the peer applies as one
 * transaction. Every change is sent, in commit order: nothing is merged
 * away on the wire.
 *
 * Write rules: each side lists the subtrees its peer may write. A TXN that
 * touches anything else is refused whole: nothing of it is applied, the
 * peer gets an ERROR naming the path, and the current values of the
 * refused paths are sent back so the peer's copy is corrected.
 */
#ifndef VMWS_VMDB_PIPE_H
#define VMWS_VMDB_PIPE_H

#include "lib/vmdb/vmdb.h"

typedef struct vmdb_pipe vmdb_pipe;

typedef struct vmdb_pipe_callbacks {
   /* The client finished its initial sync. */
   void (*synced)(vmdb_pipe *p, void *user);
   /* The peer sent an ERROR (e.g. a refused write). */
   void (*peer_error)(vmdb_pipe *p, const char *msg, void *user);
   /* The connection ended; reason is NULL for an orderly close. The pipe
    * stays valid until vmdb_pipe_free(). A close found by
    * vmdb_pipe_flush() is told later, from the pipe's main context, so
    * that the owner may free the pipe here even then. */
   void (*closed)(vmdb_pipe *p, const char *reason, void *user);
} vmdb_pipe_callbacks;

/*
 * Create a pipe on a connected socket fd (taken over, made non-blocking).
 * Runs on the calling thread: its context and socket watch are attached to
 * mc (NULL: thread default). peer_writable is a NULL-terminated list of
 * subtrees the peer may write; NULL means the whole mirrored subtree.
 */
vmdb_pipe *vmdb_pipe_new(vmdb_db *db, int fd, bool server, const char *subtree,
                         const char *const *peer_writable, GMainContext *mc,
                         const vmdb_pipe_callbacks *cb, void *user);
void vmdb_pipe_free(vmdb_pipe *p);
bool vmdb_pipe_synced(vmdb_pipe *p);
bool vmdb_pipe_closed(vmdb_pipe *p);
/* Send what is queued now, blocking up to timeout_ms (for clean exits).
 * It does not call the closed callback (see above). */
bool vmdb_pipe_flush(vmdb_pipe *p, int timeout_ms);
/* Bytes written and read so far. */
void vmdb_pipe_stats(vmdb_pipe *p, uint64_t *tx_bytes, uint64_t *rx_bytes);

/* ---- sockets */
/* Listen on a Unix socket at path (replacing a stale one), mode 0600. */
int vmdb_listen(const char *path, char **err);
/* Connect to path; checks that the server runs under our uid. */
int vmdb_connect(const char *path, char **err);
/* Accept a connection on a listening fd and check the peer's uid. Returns
 * -1 with *err set when the peer is refused or accept fails. */
int vmdb_accept(int lfd, char **err);
/* True if the process at the other end of fd runs as our uid. */
bool vmdb_peer_uid_ok(int fd, char **err);

#endif
