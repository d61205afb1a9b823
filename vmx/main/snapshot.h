/*
 * vmx/main/snapshot.h - snapshots of the VM the vmx runs: take, revert,
 * delete, and the tree in VMDB.
 *
 * The tree is the .vmsd beside the .vmx (vmx/vmsd.h). Each snapshot has a
 * state file, "vm-SnapshotN.vmsn", a checkpoint file (vmx/ckpt/ckpt-file.h)
 * holding a "snapshot" section (the .vmx text it was taken with and the
 * power state it returns to) and, for a VM that had a machine or was
 * suspended, the machine's sections and memory as a .vmss holds them:
 *
 *   taken while   .vmsn holds                         revert gives
 *   poweredOn     config + machine (paused, saved,    poweredOn
 *                 then running again)
 *   paused        config + machine                    paused
 *   suspended     config + a copy of the .vmss        suspended
 *   poweredOff    config only                         poweredOff
 *
 * A new snapshot is a child of the current one and becomes current; a
 * revert makes the snapshot current. A revert checks the whole .vmsn
 * first (structure, every checksum, memory included, the saved config and
 * its hardware settings): a damaged one is refused and the VM is left as
 * it was. Then the .vmx is put back to the saved config, the running
 * machine (if any) is torn down, the .vmsn is hard-linked as the VM's
 * .vmss and resumed from there as a suspended VM would be; the .vmss is
 * gone again once the machine runs. A revert that leaves no machine ends
 * the vmx, as power off and suspend do, when it had one before.
 *
 * Progress: /vm/runtime/checkpoint/op is "snapshot" while the state file
 * is written and "revert" while it is checked (then "resume" while it is
 * loaded); /vm/runtime/checkpoint/progress counts the memory.
 */
#ifndef VMX_MAIN_SNAPSHOT_H
#define VMX_MAIN_SNAPSHOT_H

#include "vmx/main/vmx.h"

/* Requests (/vm/cmd ops snapshot, revertToSnapshot, deleteSnapshot). Each
 * returns 0, or -1 with *err (also logged and put in
 * /vm/runtime/lastError). name may be a path "a/b/c" from a root. */
int vmx_snapshot_take(vmx *v, const char *name, const char *description, char **err);
int vmx_snapshot_revert(vmx *v, const char *name, char **err);
/* mode: "" (children move to the parent) or "andDeleteChildren". */
int vmx_snapshot_delete(vmx *v, const char *name, const char *mode, char **err);

/* A checkpoint's progress (ckpt_file_progress_fn, ud the vmx) for suspend,
 * resume, snapshot and revert: /vm/runtime/checkpoint/progress in percent,
 * sent to the clients at once (the main loop is blocked meanwhile). */
void vmx_checkpoint_progress(void *ud, uint64_t done, uint64_t total);

/* Read the .vmsd and publish the tree under /vm/snapshot (or why it cannot
 * be read in /vm/snapshot/error). */
void vmx_snapshot_publish(vmx *v);

#endif
