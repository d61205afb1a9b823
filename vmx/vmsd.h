/*
 * vmx/vmsd.h - the snapshot tree of a VM: the .vmsd file beside its .vmx,
 * in VMware's layout.
 *
 * A .vmsd is a .vmx-style list of `key = "value"` lines (read and written
 * through vmx/config.h, so quoting and |XX escapes are the same):
 *
 *   .encoding = "UTF-8"
 *   snapshot.lastUID = "3"            the highest uid ever handed out
 *   snapshot.current = "3"            uid of the snapshot the VM runs from
 *                                     (absent: none)
 *   snapshot.numSnapshots = "2"
 *   snapshot0.uid = "1"               unique, 1 .. 2^31-1
 *   snapshot0.filename = "vm-Snapshot1.vmsn"
 *                                     the state file, a plain name in the
 *                                     VM's folder (never a path)
 *   snapshot0.displayName = "base"
 *   snapshot0.description = "..."     optional
 *   snapshot0.createTimeHigh = "..."  creation time in microseconds since
 *   snapshot0.createTimeLow = "..."   the epoch: the upper 32 bits, and the
 *                                     lower 32 bits as a signed number
 *   snapshot0.numDisks = "0"          disks join snapshots later
 *   snapshot0.vmws.powerState = "poweredOn"
 *                                     ours: the VM's state when taken
 *                                     (poweredOn, paused, suspended,
 *                                     poweredOff); what a revert returns to
 *   snapshot1.uid = "3"
 *   snapshot1.parent = "1"            uid of the parent (absent: a root)
 *   ...
 *
 * Reading checks everything (the file is user input): every number, that
 * snapshotN indices are below numSnapshots and each has a uid, unique uids,
 * parents and current that exist, no cycles, file names without a path.
 * Errors name the file and the key. Keys we do not know (VMware's
 * snapshot.mru*, snapshotN.type, snapshotN.disk0.*, ...) are kept and
 * written back with their snapshot.
 *
 * GLib only: vmrun lists snapshots from the file with no vmx running.
 */
#ifndef VMX_VMSD_H
#define VMX_VMSD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMSD_MAX_SNAPSHOTS 4096
#define VMSD_UID_MAX 0x7fffffffu
#define VMSD_NAME_MAX 256
#define VMSD_DESCRIPTION_MAX 4096

typedef struct vmsd vmsd;
typedef struct vmsd_extra vmsd_extra;

/* One snapshot. Strings are never NULL ("" when absent) and belong to the
 * model: change them with the setters below. */
typedef struct vmsd_snapshot {
   uint32_t uid;
   uint32_t parent;          /* 0: a root */
   char *filename;           /* plain name in the VM's folder, or "" */
   char *display_name;
   char *description;
   int64_t create_time_us;   /* microseconds since the epoch */
   uint32_t num_disks;
   char *power_state;        /* "" when unknown (a snapshot VMware made) */
   vmsd_extra *extra;        /* keys we keep but do not interpret */
} vmsd_snapshot;

/* "dir/vm.vmx" -> "dir/vm.vmsd" (a path without .vmx gets ".vmsd" added). */
char *vmsd_path_for(const char *vmx_path);
/* The state file name VMware gives snapshot uid: "vm-Snapshot3.vmsn"
 * (the name only, no folder). */
char *vmsd_state_filename(const char *vmx_path, uint32_t uid);

vmsd *vmsd_new(void);
void vmsd_free(vmsd *v);
/* Parse and check; NULL with *err ("FILE: snapshot1.parent = \"9\": no
 * snapshot has uid 9") on failure. */
vmsd *vmsd_parse(const char *text, size_t len, const char *filename, char **err);
/* Read path; a missing file is an empty tree. */
vmsd *vmsd_load(const char *path, char **err);
/* The file's text, in VMware's key order. */
char *vmsd_write(const vmsd *v, size_t *len);
/* Write atomically (lib/atomicfile): a crash leaves the old or the new. */
int vmsd_save(const vmsd *v, const char *path, char **err);

/* The structural checks vmsd_parse() makes: parents and current exist, no
 * cycles, unique uids. For a tree built with vmsd_add(). */
bool vmsd_check(const vmsd *v, char **err);

/* Snapshots in file order (creation order for ours). */
unsigned vmsd_count(const vmsd *v);
const vmsd_snapshot *vmsd_at(const vmsd *v, unsigned i);
const vmsd_snapshot *vmsd_get(const vmsd *v, uint32_t uid);
uint32_t vmsd_current(const vmsd *v);
/* uid 0: none. false when uid does not exist. */
bool vmsd_set_current(vmsd *v, uint32_t uid);
uint32_t vmsd_last_uid(const vmsd *v);
/* The uid the next vmsd_add(v, 0, ...) would take. */
uint32_t vmsd_next_uid(const vmsd *v);
/* Skip uids up to and including uid (a state file of that name is in the
 * way). */
void vmsd_reserve_uid(vmsd *v, uint32_t uid);

/* Add a snapshot at the end: uid 0 takes the next free one. NULL when uid
 * is taken or out of range, or the tree is full. The parent is not checked
 * here (vmsd_check does). */
vmsd_snapshot *vmsd_add(vmsd *v, uint32_t uid, uint32_t parent);
void vmsd_snapshot_set_name(vmsd_snapshot *s, const char *name);
void vmsd_snapshot_set_description(vmsd_snapshot *s, const char *description);
void vmsd_snapshot_set_filename(vmsd_snapshot *s, const char *filename);
void vmsd_snapshot_set_power_state(vmsd_snapshot *s, const char *state);
vmsd_snapshot *vmsd_get_mutable(vmsd *v, uint32_t uid);

/* Remove uid. Its children move to its parent, or with children true are
 * removed too. When current is removed, its parent becomes current. The
 * removed snapshots' uids are stored in removed (if not NULL; up to
 * vmsd_count() entries) and their number returned; 0 when uid does not
 * exist. */
unsigned vmsd_remove(vmsd *v, uint32_t uid, bool children, uint32_t *removed);

/* Find a snapshot by display name, or by a path of display names from a
 * root ("base/tools/patched"), as vmrun takes them. 0 with *err when no
 * snapshot matches or the name is ambiguous (the message says so and how
 * to name it). */
uint32_t vmsd_find(const vmsd *v, const char *name, char **err);
/* "base/tools/patched": the display names from the root down. */
char *vmsd_path_name(const vmsd *v, uint32_t uid);
/* Whether a new snapshot may be called name: 1..VMSD_NAME_MAX bytes of
 * valid UTF-8, no '/' (it separates path elements) and no control
 * characters. false with *err. */
bool vmsd_name_valid(const char *name, char **err);

/* Every snapshot depth first: roots and the children of each snapshot in
 * file order; depth 0 for roots. */
typedef void (*vmsd_tree_fn)(const vmsd_snapshot *s, unsigned depth, void *user);
void vmsd_foreach_tree(const vmsd *v, vmsd_tree_fn fn, void *user);

#endif
