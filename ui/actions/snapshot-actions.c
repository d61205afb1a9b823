/*
 * ui/actions/snapshot-actions.c - the snapshot actions of the main window.
 */
#include "ui/actions/snapshot-actions.h"
#include "ui/vmws-error-dialog.h"
#include "ui/vmws-snapshot-dialog.h"
#include "ui/vmws-snapshot-manager.h"

#include <string.h>

/* ---- failures */

static char *
failure_hint(VmwsVm *vm, cui_snapshot_op op, const char *error)
{
   char *dir = g_path_get_dirname(vmws_vm_get_path(vm));
   char *log = g_build_filename(dir, "vmware.log", NULL);
   char *state = g_ascii_strdown(vmws_vm_get_state_label(vm), -1);
   char *hint;
   if (error && strstr(error, "no snapshot to revert to")) {
      hint = g_strdup("Take a snapshot first: VM ▸ Snapshot ▸ Take Snapshot….");
   } else if (error && (strstr(error, "already a snapshot named") ||
                        strstr(error, "snapshot name"))) {
      hint = g_strdup("Choose another name for the snapshot.");
   } else if (error && strstr(error, "is still in progress")) {
      hint = g_strdup("Wait until the operation under way has finished, then try again.");
   } else {
      switch (op) {
      case CUI_SNAPSHOT_TAKE:
         hint = g_strdup_printf("No snapshot was added; the virtual machine is %s. Check that "
                                "its folder has room and can be written to, then try again. "
                                "The log has the details: %s",
                                state, log);
         break;
      case CUI_SNAPSHOT_REVERT:
         hint = g_strdup_printf("The virtual machine is %s. If the snapshot's state file is "
                                "damaged or missing, delete that snapshot in the Snapshot "
                                "Manager and revert to another one. The log has the details: "
                                "%s",
                                state, log);
         break;
      default:
         hint = g_strdup_printf("The virtual machine is %s; the Snapshot Manager shows its "
                                "snapshots as they are now. The log has the details: %s",
                                state, log);
         break;
      }
   }
   g_free(state);
   g_free(log);
   g_free(dir);
   return hint;
}

void
vmws_snapshot_actions_show_failure(GtkWindow *parent, VmwsVm *vm, cui_snapshot_op op,
                                   const char *error)
{
   char *title = g_strdup_printf("Cannot %s “%s”", cui_snapshot_op_verb(op),
                                 vmws_vm_get_name(vm));
   char *hint = failure_hint(vm, op, error);
   vmws_error_dialog_show(parent, title, error, hint);
   g_free(hint);
   g_free(title);
}

/* ---- following an operation to its end */

typedef struct follow {
   GWeakRef win, parent;
   cui_snapshot_op op;
   gulong id;
} follow;

static void
follow_free(gpointer data, GClosure *closure)
{
   follow *f = data;
   g_weak_ref_clear(&f->win);
   g_weak_ref_clear(&f->parent);
   g_free(f);
}

static void
on_finished(VmwsVm *vm, int op, gboolean ok, const char *error, gpointer data)
{
   follow *f = data;
   VmwsWindow *win = g_weak_ref_get(&f->win);
   GtkWindow *parent = g_weak_ref_get(&f->parent);
   if (!parent || !gtk_widget_get_visible(GTK_WIDGET(parent))) {
      g_clear_object(&parent);
      parent = win ? g_object_ref(GTK_WINDOW(win)) : NULL;
   }
   if (win && op == CUI_SNAPSHOT_REVERT && vmws_window_get_vm(win) == vm) {
      /* A revert replaces the running machine: its screen is a new one
       * even where the socket's name is the same. */
      VmwsConsole *c = vmws_window_get_console(win);
      vmws_console_set_socket(c, NULL);
      vmws_window_update(win);
   }
   if (!ok) {
      vmws_snapshot_actions_show_failure(parent, vm, (cui_snapshot_op)op, error);
   }
   if (win) {
      vmws_window_update(win);
   }
   g_clear_object(&parent);
   g_clear_object(&win);
   g_signal_handler_disconnect(vm, f->id);   /* frees f */
}

void
vmws_snapshot_actions_follow(VmwsWindow *win, GtkWindow *parent, VmwsVm *vm,
                             cui_snapshot_op op)
{
   follow *f = g_new0(follow, 1);
   g_weak_ref_init(&f->win, win);
   g_weak_ref_init(&f->parent, parent);
   f->op = op;
   f->id = g_signal_connect_data(vm, "snapshot-op-finished", G_CALLBACK(on_finished), f,
                                 follow_free, 0);
   if (win) {
      vmws_window_update(win);
   }
}

/* ---- confirmation */

typedef struct confirm {
   vmws_confirm_fn fn;
   gpointer data;
   GDestroyNotify destroy;
} confirm;

static void
on_confirm_response(GtkDialog *d, int response, gpointer user)
{
   confirm *c = user;
   gtk_window_destroy(GTK_WINDOW(d));
   if (response == GTK_RESPONSE_ACCEPT) {
      c->fn(c->data);
   }
   if (c->destroy) {
      c->destroy(c->data);
   }
   g_free(c);
}

void
vmws_snapshot_actions_confirm(GtkWindow *parent, const char *title, const char *question,
                              const char *detail, const char *accept, vmws_confirm_fn on_accept,
                              gpointer data, GDestroyNotify destroy)
{
   GtkWidget *d = gtk_message_dialog_new(parent, GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                         GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, "%s", question);
   gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(d), "%s", detail);
   gtk_dialog_add_button(GTK_DIALOG(d), "Cancel", GTK_RESPONSE_CANCEL);
   GtkWidget *b = gtk_dialog_add_button(GTK_DIALOG(d), accept, GTK_RESPONSE_ACCEPT);
   gtk_widget_add_css_class(b, "destructive-action");
   gtk_dialog_set_default_response(GTK_DIALOG(d), GTK_RESPONSE_CANCEL);
   gtk_window_set_title(GTK_WINDOW(d), title);
   confirm *c = g_new0(confirm, 1);
   c->fn = on_accept;
   c->data = data;
   c->destroy = destroy;
   g_signal_connect(d, "response", G_CALLBACK(on_confirm_response), c);
   gtk_window_present(GTK_WINDOW(d));
}

/* ---- the actions */

static void
on_take_started(VmwsSnapshotDialog *d, gpointer data)
{
   VmwsWindow *win = data;
   VmwsVm *vm = vmws_window_get_vm(win);
   if (vm) {
      vmws_snapshot_actions_follow(win, GTK_WINDOW(win), vm, CUI_SNAPSHOT_TAKE);
   }
}

static void
on_take(GSimpleAction *action, GVariant *param, gpointer data)
{
   VmwsWindow *win = data;
   VmwsVm *vm = vmws_window_get_vm(win);
   if (!vm) {
      return;
   }
   GtkWidget *d = vmws_snapshot_dialog_new(GTK_WINDOW(win), vm);
   /* The dialog's VM is the one selected now: follow it by this window. */
   g_signal_connect_object(d, "started", G_CALLBACK(on_take_started), win, 0);
   gtk_window_present(GTK_WINDOW(d));
}

typedef struct revert_req {
   VmwsWindow *win;
   VmwsVm *vm;
   guint32 uid;
} revert_req;

static void
revert_req_free(gpointer data)
{
   revert_req *r = data;
   g_object_unref(r->win);
   g_object_unref(r->vm);
   g_free(r);
}

static void
do_revert(gpointer data)
{
   revert_req *r = data;
   GError *e = NULL;
   if (vmws_vm_snapshot_revert(r->vm, r->uid, &e)) {
      vmws_snapshot_actions_follow(r->win, GTK_WINDOW(r->win), r->vm, CUI_SNAPSHOT_REVERT);
   } else {
      vmws_snapshot_actions_show_failure(GTK_WINDOW(r->win), r->vm, CUI_SNAPSHOT_REVERT,
                                         e->message);
      g_error_free(e);
   }
}

static void
on_revert(GSimpleAction *action, GVariant *param, gpointer data)
{
   VmwsWindow *win = data;
   VmwsVm *vm = vmws_window_get_vm(win);
   if (!vm) {
      return;
   }
   cui_snapshots *s = vmws_vm_get_snapshots(vm);
   const cui_snapshot *cur = cui_snapshots_get(s, cui_snapshots_current(s));
   char *err = NULL;
   if (!cur) {
      /* Say why rather than do nothing (the action is off then, but a
       * change may have raced the menu). */
      if (cui_snapshots_can(s, CUI_SNAPSHOT_REVERT, &err)) {
         err = g_strdup("the virtual machine has no current snapshot to revert to (choose one "
                        "in the Snapshot Manager)");
      }
      vmws_snapshot_actions_show_failure(GTK_WINDOW(win), vm, CUI_SNAPSHOT_REVERT, err);
      g_free(err);
      return;
   }
   revert_req *r = g_new0(revert_req, 1);
   r->win = g_object_ref(win);
   r->vm = g_object_ref(vm);
   r->uid = cur->uid;
   char *when = cui_snapshot_time_label(cur->create_time);
   char *question = g_strdup_printf("Revert “%s” to its snapshot “%s”?", vmws_vm_get_name(vm),
                                    cur->name);
   char *detail = g_strdup_printf("The virtual machine goes back to the state it had when the "
                                  "snapshot was taken%s%s%s. Everything since then is lost.",
                                  *when ? " (" : "", when, *when ? ")" : "");
   vmws_snapshot_actions_confirm(GTK_WINDOW(win), "Revert to Snapshot", question, detail,
                                 "Revert", do_revert, r, revert_req_free);
   g_free(detail);
   g_free(question);
   g_free(when);
}

static void
on_manager(GSimpleAction *action, GVariant *param, gpointer data)
{
   VmwsWindow *win = data;
   VmwsVm *vm = vmws_window_get_vm(win);
   if (vm) {
      vmws_snapshot_manager_present(win, vm);
   }
}

void
vmws_snapshot_actions_add(VmwsWindow *win)
{
   static const GActionEntry entries[] = {
      { .name = "take-snapshot", .activate = on_take },
      { .name = "revert-snapshot", .activate = on_revert },
      { .name = "snapshot-manager", .activate = on_manager },
   };
   g_action_map_add_action_entries(G_ACTION_MAP(win), entries, G_N_ELEMENTS(entries), win);
   vmws_snapshot_actions_update(win);
}

static void
enable(VmwsWindow *win, const char *name, gboolean on)
{
   GAction *a = g_action_map_lookup_action(G_ACTION_MAP(win), name);
   if (a) {
      g_simple_action_set_enabled(G_SIMPLE_ACTION(a), on);
   }
}

void
vmws_snapshot_actions_update(VmwsWindow *win)
{
   VmwsVm *vm = vmws_window_get_vm(win);
   cui_snapshots *s = vm ? vmws_vm_get_snapshots(vm) : NULL;
   enable(win, "take-snapshot", vm && vmws_vm_can_snapshot(vm, CUI_SNAPSHOT_TAKE));
   enable(win, "revert-snapshot", vm && vmws_vm_can_snapshot(vm, CUI_SNAPSHOT_REVERT) &&
                                     cui_snapshots_current(s) != 0);
   enable(win, "snapshot-manager", vm && !vmws_vm_get_problem(vm));
}
