/*
 * ui/vmws-snapshot-dialog.h - VmwsSnapshotDialog: Take Snapshot: asks for
 * the new snapshot's name (checked as it is typed: what the vmx takes, and
 * not a name the VM's snapshots already have) and a description, then
 * starts the operation on the VM (vmws_vm_snapshot_take) and closes.
 *
 * Signal "started" () once the operation is under way: its result comes
 * as the VM's "snapshot-op-finished".
 */
#ifndef VMWS_SNAPSHOT_DIALOG_H
#define VMWS_SNAPSHOT_DIALOG_H

#include "ui/vmws-vm.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define VMWS_TYPE_SNAPSHOT_DIALOG (vmws_snapshot_dialog_get_type())
G_DECLARE_FINAL_TYPE(VmwsSnapshotDialog, vmws_snapshot_dialog, VMWS, SNAPSHOT_DIALOG, GtkWindow)

GtkWidget *vmws_snapshot_dialog_new(GtkWindow *parent, VmwsVm *vm);

G_END_DECLS

#endif
