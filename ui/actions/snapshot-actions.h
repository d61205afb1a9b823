/*
 * ui/actions/snapshot-actions.h - the window's snapshot actions:
 * win.take-snapshot (the Take Snapshot dialog), win.revert-snapshot (back
 * to the current snapshot, after a confirmation) and win.snapshot-manager
 * (the Snapshot Manager window). Each works on the selected VM; progress
 * shows in the status bar and the sidebar (VmwsVm's busy and progress), a
 * failure in an error dialog that says what went wrong and what to do.
 */
#ifndef VMWS_SNAPSHOT_ACTIONS_H
#define VMWS_SNAPSHOT_ACTIONS_H

#include "ui/vmws-window.h"

void vmws_snapshot_actions_add(VmwsWindow *win);
/* Enable what the selected VM allows. */
void vmws_snapshot_actions_update(VmwsWindow *win);

/* For the operation op just started on vm: when it ends, a failure is
 * shown over parent (or, if that is gone, win), and after a revert the
 * console connects to the VM's new screen. */
void vmws_snapshot_actions_follow(VmwsWindow *win, GtkWindow *parent, VmwsVm *vm,
                                  cui_snapshot_op op);
/* The error dialog for op on vm (over parent). */
void vmws_snapshot_actions_show_failure(GtkWindow *parent, VmwsVm *vm, cui_snapshot_op op,
                                        const char *error);

/* A question before something that cannot be undone: title (the window
 * title), question (the headline), detail, and the label of the button
 * that goes ahead; on_accept(data) runs only if it is pressed. data is
 * freed with destroy either way. */
typedef void (*vmws_confirm_fn)(gpointer data);
void vmws_snapshot_actions_confirm(GtkWindow *parent, const char *title, const char *question,
                                   const char *detail, const char *accept,
                                   vmws_confirm_fn on_accept, gpointer data,
                                   GDestroyNotify destroy);

#endif
