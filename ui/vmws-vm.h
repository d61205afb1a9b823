/*
 * ui/vmws-vm.h - VmwsVm: one virtual machine of the library as the UI
 * sees it (its name and file, and its live power state through
 * cui/power.h), with properties the widgets bind to.
 */
#ifndef VMWS_VM_H
#define VMWS_VM_H

#include "cui/power.h"
#include "cui/snapshots.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define VMWS_TYPE_VM (vmws_vm_get_type())
G_DECLARE_FINAL_TYPE(VmwsVm, vmws_vm, VMWS, VM, GObject)

/* A VM of the library: its inventory id, .vmx path and the name to show.
 * Watching starts at once. */
VmwsVm *vmws_vm_new(unsigned inventory_id, const char *vmx_path, const char *name);

unsigned vmws_vm_get_inventory_id(VmwsVm *vm);
const char *vmws_vm_get_path(VmwsVm *vm);
const char *vmws_vm_get_name(VmwsVm *vm);
void vmws_vm_set_name(VmwsVm *vm, const char *name);
/* Why the VM cannot be used now (its .vmx is gone or unreadable), or NULL. */
const char *vmws_vm_get_problem(VmwsVm *vm);
void vmws_vm_set_problem(VmwsVm *vm, const char *problem);

/* The power state value (poweredOff, poweredOn, paused, ...), its words
 * ("Powered on") and an icon name for it. */
const char *vmws_vm_get_power_state(VmwsVm *vm);
const char *vmws_vm_get_state_label(VmwsVm *vm);
const char *vmws_vm_get_state_icon(VmwsVm *vm);
/* What the sidebar says under the name: the state, or the operation in
 * progress ("Powering on…"). */
const char *vmws_vm_get_status(VmwsVm *vm);
/* Whether an operation runs, and its progress text ("" when none). */
gboolean vmws_vm_get_busy(VmwsVm *vm);
const char *vmws_vm_get_progress(VmwsVm *vm);
/* How far it got (0..1), when the vmx says (suspend, resume); else -1. */
double vmws_vm_get_fraction(VmwsVm *vm);

/* Values the running vmx publishes (NULL/"" while it does not run). */
char *vmws_vm_get_runtime(VmwsVm *vm, const char *vmdb_path);
/* "software", "hardware" when running; "" otherwise. */
const char *vmws_vm_get_monitor(VmwsVm *vm);
/* monitor.virtual_exec of the .vmx: "automatic", "hardware", "software". */
const char *vmws_vm_get_monitor_config(VmwsVm *vm);
/* "127.0.0.1:5901" while the VNC server runs, else "". */
const char *vmws_vm_get_vnc_address(VmwsVm *vm);
/* The local console socket while powered on, else "". */
const char *vmws_vm_get_console_socket(VmwsVm *vm);

gboolean vmws_vm_can(VmwsVm *vm, cui_power_op op);
/* Start op (see cui_power_start); the result comes as "op-finished". */
gboolean vmws_vm_start(VmwsVm *vm, cui_power_op op, GError **error);

/* The .vmx changed (settings saved): "config-changed" is emitted. */
void vmws_vm_config_changed(VmwsVm *vm);

/* The VM's snapshots (read it; start operations through the functions
 * below). "snapshots-changed" says when the tree changed. */
cui_snapshots *vmws_vm_get_snapshots(VmwsVm *vm);
/* Whether op may start now: no power or snapshot operation runs, the
 * power state allows it, and (revert, delete) there is a snapshot. */
gboolean vmws_vm_can_snapshot(VmwsVm *vm, cui_snapshot_op op);
/* Start a snapshot operation; the result comes as "snapshot-op-finished"
 * (int op, gboolean ok, const char *error). A refusal before anything is
 * sent is FALSE with error. uid 0 to revert: the current snapshot. */
gboolean vmws_vm_snapshot_take(VmwsVm *vm, const char *name, const char *description,
                               GError **error);
gboolean vmws_vm_snapshot_revert(VmwsVm *vm, guint32 uid, GError **error);
gboolean vmws_vm_snapshot_delete(VmwsVm *vm, guint32 uid, gboolean with_children,
                                 GError **error);

G_END_DECLS

#endif
