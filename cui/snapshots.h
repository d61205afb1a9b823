/*
 * cui/snapshots.h - one VM's snapshot tree, watched live, and the snapshot
 * operations (take, revert, delete) run without blocking the caller's main
 * loop.
 *
 * Where the tree comes from: while a vmx process runs the VM, the vmx
 * publishes it in VMDB under /vm/snapshot (data/vmdb-schema.txt) and a
 * VMDB pipe on the owner's context mirrors it; with no vmx, it is the
 * .vmsd beside the .vmx, read with the vmx's own parser (vmx/vmsd.h) and
 * read again when the file changes (checked every second, as is whether a
 * vmx has come up).
 *
 * How operations are done: exactly as `vmrun snapshot`, `revertToSnapshot`
 * and `deleteSnapshot` do them (vmrun calls cui_snapshot_command() too):
 * a /vm/cmd request (op snapshot, revertToSnapshot or deleteSnapshot) to
 * the VM's vmx; for a VM with no vmx running, a vmx is started that does
 * not power on, and told to quit afterwards unless the VM then runs (a
 * revert to a snapshot taken while the VM ran powers it on). While the
 * vmx writes or checks a state file it publishes
 * /vm/runtime/checkpoint/op ("snapshot", "revert", then "resume") and
 * /vm/runtime/checkpoint/progress (percent): the model reports them.
 *
 * A cui_snapshots belongs to the thread that made it and that thread's
 * default GMainContext (the GTK main loop in the UI); every callback runs
 * there. One operation runs at a time, on a worker thread with its own
 * VMDB connection.
 */
#ifndef CUI_SNAPSHOTS_H
#define CUI_SNAPSHOTS_H

#include "lib/vmdb/vmdb.h"
#include "vmx/vmsd.h"

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct cui_snapshots cui_snapshots;

typedef enum cui_snapshot_op {
   CUI_SNAPSHOT_TAKE,     /* a new snapshot, child of the current one; it becomes current */
   CUI_SNAPSHOT_REVERT,   /* go back to a snapshot; it becomes current */
   CUI_SNAPSHOT_DELETE,   /* remove one (its children move to its parent) */
   CUI_SNAPSHOT_N_OPS
} cui_snapshot_op;

/* One snapshot as shown: the strings belong to the model and stay valid
 * until its next "changed" callback (or cui_snapshots_free). */
typedef struct cui_snapshot {
   uint32_t uid;             /* unique for the life of the VM */
   uint32_t parent;          /* 0: a root */
   unsigned depth;           /* 0 for a root */
   unsigned n_children;
   const char *name;
   const char *description;  /* "" when none */
   gint64 create_time;       /* seconds since the epoch; 0 when unknown */
   const char *power_state;  /* when taken: poweredOn, paused, suspended, poweredOff; "" unknown */
   bool current;             /* the one the VM runs from ("You are here" after it) */
} cui_snapshot;

/* "Take Snapshot", "Revert to Snapshot", "Delete Snapshot". */
const char *cui_snapshot_op_label(cui_snapshot_op op);
/* "take a snapshot of", "revert", "delete a snapshot of": for a headline
 * "Cannot %s “VM”". */
const char *cui_snapshot_op_verb(cui_snapshot_op op);
/* The /vm/cmd op: "snapshot", "revertToSnapshot", "deleteSnapshot". */
const char *cui_snapshot_op_request(cui_snapshot_op op);
/* Whether the vmx does op for a VM in power_state (poweredOn, paused,
 * suspended and poweredOff; not while it changes state). */
bool cui_snapshot_op_allowed(cui_snapshot_op op, const char *power_state);
/* "2024-05-01 14:03" in local time; "" for 0. Free with g_free(). */
char *cui_snapshot_time_label(gint64 create_time);

/* The snapshot tree a vmx publishes under /vm/snapshot (mirrored in ctx),
 * checked as a .vmsd is; NULL with *err (the vmx's own error, or what is
 * wrong with the tree). Free with vmsd_free(). */
vmsd *cui_snapshot_tree_from_vmdb(vmdb_ctx *ctx, char **err);

/* Run a snapshot request for the VM abs_vmx (absolute, symlink-free) and
 * wait for the vmx's answer, as vmrun does; blocks (up to timeout_ms for
 * the request itself). op is the /vm/cmd op; arg and arg2 its arguments
 * (NULL: none). Returns 0, or -1 with *err (the vmx's message, or why no
 * vmx could be started). *warning (may be NULL) gets a note about
 * something that went wrong afterwards (the vmx started for the request
 * did not quit), or stays NULL. */
int cui_snapshot_command(const char *abs_vmx, const char *op, const char *arg, const char *arg2,
                         int timeout_ms, char **err, char **warning);

typedef struct cui_snapshots_callbacks {
   /* The tree, the power state, the tree's error or whether a vmx runs
    * changed. */
   void (*changed)(cui_snapshots *s, void *user);
   /* The operation under way got further (cui_snapshots_progress). */
   void (*progress)(cui_snapshots *s, void *user);
   /* An operation ended: ok, or error says what went wrong (the vmx's
    * message where it gave one). The tree may follow a moment later (a
    * "changed" callback). */
   void (*op_finished)(cui_snapshots *s, cui_snapshot_op op, bool ok, const char *error,
                       void *user);
   void *user;
} cui_snapshots_callbacks;

/* Watch the snapshots of the VM whose .vmx is abs_vmx (absolute,
 * symlink-free). cb may be NULL. */
cui_snapshots *cui_snapshots_new(const char *abs_vmx, const cui_snapshots_callbacks *cb);
/* Stops watching; an operation still running goes on in the vmx, its
 * result is dropped. */
void cui_snapshots_free(cui_snapshots *s);

const char *cui_snapshots_vmx_path(const cui_snapshots *s);
/* Look again now (after a change made elsewhere). */
void cui_snapshots_refresh(cui_snapshots *s);
/* Whether the tree comes from a running vmx (else from the .vmsd). */
bool cui_snapshots_vmx_up(const cui_snapshots *s);
/* The VM's power state as this model sees it (the vmx's, or without one
 * "poweredOff" / "suspended" from the .vmx). */
const char *cui_snapshots_power_state(const cui_snapshots *s);

/* Why the tree cannot be read (a damaged .vmsd, naming the file and the
 * key), or NULL. The tree is empty then. */
const char *cui_snapshots_error(const cui_snapshots *s);
/* The snapshots depth first: each root, then its children in creation
 * order (the order of a tree view). */
unsigned cui_snapshots_count(const cui_snapshots *s);
const cui_snapshot *cui_snapshots_at(const cui_snapshots *s, unsigned i);
/* By uid; NULL when there is none. */
const cui_snapshot *cui_snapshots_get(const cui_snapshots *s, uint32_t uid);
/* The current snapshot's uid; 0 when none. */
uint32_t cui_snapshots_current(const cui_snapshots *s);
/* The names from a root down, "base/updated" (how the vmx is told which
 * one). NULL when uid does not exist. Free with g_free(). */
char *cui_snapshots_path_name(const cui_snapshots *s, uint32_t uid);

/* Whether an operation runs (and which), and how far it got: a percent
 * when the vmx says (writing or checking guest memory), else -1. */
bool cui_snapshots_busy(const cui_snapshots *s, cui_snapshot_op *op);
int cui_snapshots_progress(const cui_snapshots *s);
/* "Taking snapshot “base”…", "Reverting to “base”… 40%", "" when idle. */
const char *cui_snapshots_progress_text(const cui_snapshots *s);

/* Whether a new snapshot may be called name: what the vmx takes (1..256
 * bytes of UTF-8, no '/', no control characters) and not the name of
 * another snapshot of this VM. false with *err saying why. */
bool cui_snapshots_name_ok(const cui_snapshots *s, const char *name, char **err);
/* Whether op may start now (nothing runs, the tree can be read, the power
 * state allows it; revert and delete: there is a snapshot). false with
 * *err (may be NULL) saying why. */
bool cui_snapshots_can(const cui_snapshots *s, cui_snapshot_op op, char **err);

/* Start an operation; false with *err when it is refused before anything
 * is sent (the reasons of cui_snapshots_can, a name that is not ok, a uid
 * that does not exist). Otherwise op_finished comes later, from the main
 * loop. description may be NULL. */
bool cui_snapshots_take(cui_snapshots *s, const char *name, const char *description, char **err);
bool cui_snapshots_revert(cui_snapshots *s, uint32_t uid, char **err);
/* Revert to the current snapshot (VM ▸ Snapshot ▸ Revert to Snapshot). */
bool cui_snapshots_revert_current(cui_snapshots *s, char **err);
/* with_children: the snapshots under it go too. */
bool cui_snapshots_delete(cui_snapshots *s, uint32_t uid, bool with_children, char **err);

#endif
