/*
 * ui/vmws-snapshot-manager.h - VmwsSnapshotManager: the Snapshot Manager
 * window of one VM: its snapshot tree (names, dates, the current one and
 * "You are here" after it), the selected snapshot's name, description and
 * time, Take Snapshot…, Revert To and Delete (each asked for first where
 * it cannot be undone), and the progress of the operation under way. It
 * follows the VM live (cui/snapshots.h through VmwsVm), whoever changes
 * the tree.
 */
#ifndef VMWS_SNAPSHOT_MANAGER_H
#define VMWS_SNAPSHOT_MANAGER_H

#include "ui/vmws-window.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define VMWS_TYPE_SNAPSHOT_MANAGER (vmws_snapshot_manager_get_type())
G_DECLARE_FINAL_TYPE(VmwsSnapshotManager, vmws_snapshot_manager, VMWS, SNAPSHOT_MANAGER,
                     GtkWindow)

/* Show the manager of vm (the one already open for it, or a new one). */
VmwsSnapshotManager *vmws_snapshot_manager_present(VmwsWindow *win, VmwsVm *vm);

G_END_DECLS

#endif
