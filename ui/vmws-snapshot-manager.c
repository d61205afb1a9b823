/*
 * ui/vmws-snapshot-manager.c - VmwsSnapshotManager: the Snapshot Manager.
 *
 * The tree is a list box in tree order (cui_snapshots_at), each row
 * indented by its depth; "You are here" is a row that cannot be selected,
 * right after the current snapshot, one level below it (at the top when
 * there is no current snapshot). The list is rebuilt whenever the tree
 * changes; the selection stays on the same snapshot while it exists.
 */
#include "ui/vmws-snapshot-manager.h"
#include "ui/actions/snapshot-actions.h"
#include "ui/vmws-error-dialog.h"
#include "ui/vmws-snapshot-dialog.h"

#include <string.h>

#define MANAGER_KEY "vmws-snapshot-manager"
#define INDENT 22

struct _VmwsSnapshotManager {
   GtkWindow parent;

   GtkLabel *summary, *tree_error;
   GtkListBox *tree;
   GtkLabel *detail_name, *detail_description, *detail_taken;
   GtkWidget *take_button, *revert_button, *delete_button, *close_button;
   GtkSpinner *spinner;
   GtkProgressBar *progress_bar;
   GtkLabel *progress;

   VmwsVm *vm;
   GWeakRef win;
   guint32 selected;          /* uid, 0: none */
   gboolean rebuilding;
};

G_DEFINE_TYPE(VmwsSnapshotManager, vmws_snapshot_manager, GTK_TYPE_WINDOW)

static cui_snapshots *
snaps(VmwsSnapshotManager *m)
{
   return vmws_vm_get_snapshots(m->vm);
}

/* ---- the parts that follow the VM */

static void
update_buttons(VmwsSnapshotManager *m)
{
   const cui_snapshot *sel = cui_snapshots_get(snaps(m), m->selected);
   gtk_widget_set_sensitive(m->take_button, vmws_vm_can_snapshot(m->vm, CUI_SNAPSHOT_TAKE));
   gtk_widget_set_sensitive(m->revert_button,
                            sel && vmws_vm_can_snapshot(m->vm, CUI_SNAPSHOT_REVERT));
   gtk_widget_set_sensitive(m->delete_button,
                            sel && vmws_vm_can_snapshot(m->vm, CUI_SNAPSHOT_DELETE));
}

static void
update_details(VmwsSnapshotManager *m)
{
   const cui_snapshot *sel = cui_snapshots_get(snaps(m), m->selected);
   if (!sel) {
      gtk_label_set_text(m->detail_name, "No snapshot selected");
      gtk_label_set_text(m->detail_description, "");
      gtk_label_set_text(m->detail_taken, "");
   } else {
      gtk_label_set_text(m->detail_name, sel->name);
      gtk_label_set_text(m->detail_description, *sel->description ? sel->description
                                                                  : "(no description)");
      char *when = cui_snapshot_time_label(sel->create_time);
      const char *st = sel->power_state;
      char *state = *st ? g_ascii_strdown(cui_power_state_label(st), -1) : NULL;
      char *taken = g_strdup_printf("%s%s%s", *when ? when : "unknown",
                                    state ? ", while " : "", state ? state : "");
      gtk_label_set_text(m->detail_taken, taken);
      g_free(taken);
      g_free(state);
      g_free(when);
   }
}

static void
update_progress(VmwsSnapshotManager *m)
{
   gboolean busy = vmws_vm_get_busy(m->vm);
   gtk_widget_set_visible(GTK_WIDGET(m->spinner), busy);
   gtk_spinner_set_spinning(m->spinner, busy);
   gtk_label_set_text(m->progress, busy ? vmws_vm_get_progress(m->vm) : "");
   double f = vmws_vm_get_fraction(m->vm);
   gtk_widget_set_visible(GTK_WIDGET(m->progress_bar), busy && f >= 0);
   if (f >= 0) {
      gtk_progress_bar_set_fraction(m->progress_bar, f);
   }
}

static void
update_summary(VmwsSnapshotManager *m)
{
   cui_snapshots *s = snaps(m);
   unsigned n = cui_snapshots_count(s);
   char *state = g_ascii_strdown(vmws_vm_get_state_label(m->vm), -1);
   char *text = g_strdup_printf("“%s” is %s and has %u snapshot%s", vmws_vm_get_name(m->vm),
                                state, n, n == 1 ? "" : "s");
   gtk_label_set_text(m->summary, text);
   g_free(text);
   g_free(state);
   const char *err = cui_snapshots_error(s);
   char *msg = err ? g_strdup_printf("The snapshots cannot be read: %s", err) : NULL;
   gtk_label_set_text(m->tree_error, msg ? msg : "");
   gtk_widget_set_visible(GTK_WIDGET(m->tree_error), msg != NULL);
   g_free(msg);
}

static GtkWidget *
make_row(const char *icon, const char *name, const char *when, unsigned depth, gboolean current,
         gboolean here)
{
   GtkWidget *box = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
   gtk_widget_set_margin_start(box, 6 + (int)depth * INDENT);
   gtk_widget_set_margin_end(box, 8);
   gtk_widget_set_margin_top(box, 4);
   gtk_widget_set_margin_bottom(box, 4);
   gtk_box_append(GTK_BOX(box), gtk_image_new_from_icon_name(icon));
   GtkWidget *label = gtk_label_new(name);
   gtk_label_set_xalign(GTK_LABEL(label), 0);
   gtk_label_set_ellipsize(GTK_LABEL(label), PANGO_ELLIPSIZE_END);
   if (current) {
      gtk_widget_add_css_class(label, "vmws-snapshot-current");
   }
   if (here) {
      gtk_widget_add_css_class(label, "vmws-you-are-here");
   }
   gtk_box_append(GTK_BOX(box), label);
   GtkWidget *date = gtk_label_new(when ? when : "");
   gtk_label_set_xalign(GTK_LABEL(date), 1);
   gtk_widget_set_hexpand(date, TRUE);
   gtk_widget_add_css_class(date, "dim-label");
   gtk_box_append(GTK_BOX(box), date);
   GtkWidget *row = gtk_list_box_row_new();
   gtk_list_box_row_set_child(GTK_LIST_BOX_ROW(row), box);
   return row;
}

static void
rebuild(VmwsSnapshotManager *m)
{
   cui_snapshots *s = snaps(m);
   m->rebuilding = TRUE;
   GtkWidget *child;
   while ((child = gtk_widget_get_first_child(GTK_WIDGET(m->tree)))) {
      gtk_list_box_remove(m->tree, child);
   }
   if (!cui_snapshots_get(s, m->selected)) {
      m->selected = cui_snapshots_current(s);
   }
   uint32_t cur = cui_snapshots_current(s);
   GtkWidget *select = NULL;
   GtkWidget *here = make_row("vmws-you-are-here", "You are here", NULL, 0, FALSE, TRUE);
   gtk_list_box_row_set_selectable(GTK_LIST_BOX_ROW(here), FALSE);
   gtk_list_box_row_set_activatable(GTK_LIST_BOX_ROW(here), FALSE);
   if (!cur) {
      gtk_list_box_append(m->tree, here);
   }
   for (unsigned i = 0; i < cui_snapshots_count(s); i++) {
      const cui_snapshot *sn = cui_snapshots_at(s, i);
      char *when = cui_snapshot_time_label(sn->create_time);
      GtkWidget *row = make_row(sn->current ? "vmws-snapshot-current" : "vmws-snapshot",
                                sn->name, when, sn->depth, sn->current, FALSE);
      g_free(when);
      g_object_set_data(G_OBJECT(row), "uid", GUINT_TO_POINTER(sn->uid));
      char *tip = *sn->description ? g_strdup(sn->description) : NULL;
      gtk_widget_set_tooltip_text(row, tip);
      g_free(tip);
      gtk_list_box_append(m->tree, row);
      if (sn->uid == m->selected) {
         select = row;
      }
      if (sn->current) {
         /* One level below the current snapshot: where the next one goes. */
         GtkWidget *box = gtk_list_box_row_get_child(GTK_LIST_BOX_ROW(here));
         gtk_widget_set_margin_start(box, 6 + (int)(sn->depth + 1) * INDENT);
         gtk_list_box_append(m->tree, here);
      }
   }
   gtk_list_box_select_row(m->tree, GTK_LIST_BOX_ROW(select));
   m->rebuilding = FALSE;
   update_summary(m);
   update_details(m);
   update_buttons(m);
}

static void
on_row_selected(GtkListBox *box, GtkListBoxRow *row, gpointer data)
{
   VmwsSnapshotManager *m = data;
   if (m->rebuilding || !m->vm) {
      return; /* (also while the window is taken apart) */
   }
   m->selected = row ? GPOINTER_TO_UINT(g_object_get_data(G_OBJECT(row), "uid")) : 0;
   update_details(m);
   update_buttons(m);
}

static void
on_snapshots_changed(VmwsVm *vm, gpointer data)
{
   rebuild(VMWS_SNAPSHOT_MANAGER(data));
}

static void
on_vm_notify(GObject *obj, GParamSpec *pspec, gpointer data)
{
   VmwsSnapshotManager *m = data;
   update_progress(m);
   update_summary(m);
   update_buttons(m);
}

/* ---- the buttons */

static void
on_take_started(VmwsSnapshotDialog *d, gpointer data)
{
   VmwsSnapshotManager *m = data;
   VmwsWindow *win = g_weak_ref_get(&m->win);
   vmws_snapshot_actions_follow(win, GTK_WINDOW(m), m->vm, CUI_SNAPSHOT_TAKE);
   g_clear_object(&win);
   update_buttons(m);
}

static void
on_take(GtkButton *b, gpointer data)
{
   VmwsSnapshotManager *m = data;
   GtkWidget *d = vmws_snapshot_dialog_new(GTK_WINDOW(m), m->vm);
   g_signal_connect_object(d, "started", G_CALLBACK(on_take_started), m, 0);
   gtk_window_present(GTK_WINDOW(d));
}

typedef struct req {
   VmwsSnapshotManager *m;
   guint32 uid;
} req;

static void
req_free(gpointer data)
{
   req *r = data;
   g_object_unref(r->m);
   g_free(r);
}

static void
start(VmwsSnapshotManager *m, cui_snapshot_op op, guint32 uid)
{
   GError *e = NULL;
   gboolean ok = op == CUI_SNAPSHOT_REVERT ? vmws_vm_snapshot_revert(m->vm, uid, &e)
                                           : vmws_vm_snapshot_delete(m->vm, uid, FALSE, &e);
   if (!ok) {
      vmws_snapshot_actions_show_failure(GTK_WINDOW(m), m->vm, op, e->message);
      g_error_free(e);
      return;
   }
   VmwsWindow *win = g_weak_ref_get(&m->win);
   vmws_snapshot_actions_follow(win, GTK_WINDOW(m), m->vm, op);
   g_clear_object(&win);
   update_buttons(m);
}

static void
do_revert(gpointer data)
{
   req *r = data;
   start(r->m, CUI_SNAPSHOT_REVERT, r->uid);
}

static void
do_delete(gpointer data)
{
   req *r = data;
   start(r->m, CUI_SNAPSHOT_DELETE, r->uid);
}

static void
on_revert(GtkButton *b, gpointer data)
{
   VmwsSnapshotManager *m = data;
   const cui_snapshot *sn = cui_snapshots_get(snaps(m), m->selected);
   if (!sn) {
      return;
   }
   req *r = g_new0(req, 1);
   r->m = g_object_ref(m);
   r->uid = sn->uid;
   char *when = cui_snapshot_time_label(sn->create_time);
   char *question = g_strdup_printf("Revert to snapshot “%s”?", sn->name);
   char *detail = g_strdup_printf("“%s” goes back to the state it had when the snapshot was "
                                  "taken%s%s%s. Everything since then that is not in a snapshot "
                                  "is lost.",
                                  vmws_vm_get_name(m->vm), *when ? " (" : "", when,
                                  *when ? ")" : "");
   vmws_snapshot_actions_confirm(GTK_WINDOW(m), "Revert to Snapshot", question, detail, "Revert",
                                 do_revert, r, req_free);
   g_free(detail);
   g_free(question);
   g_free(when);
}

static void
on_delete(GtkButton *b, gpointer data)
{
   VmwsSnapshotManager *m = data;
   const cui_snapshot *sn = cui_snapshots_get(snaps(m), m->selected);
   if (!sn) {
      return;
   }
   req *r = g_new0(req, 1);
   r->m = g_object_ref(m);
   r->uid = sn->uid;
   char *question = g_strdup_printf("Delete snapshot “%s”?", sn->name);
   const char *detail =
      sn->n_children ? "Its state file is removed; the snapshots taken after it stay, under its "
                       "parent. This cannot be undone."
                     : "Its state file is removed. This cannot be undone.";
   vmws_snapshot_actions_confirm(GTK_WINDOW(m), "Delete Snapshot", question, detail, "Delete",
                                 do_delete, r, req_free);
   g_free(question);
}

static void
on_close(GtkButton *b, gpointer data)
{
   gtk_window_destroy(GTK_WINDOW(data));
}

/* ---- the object */

VmwsSnapshotManager *
vmws_snapshot_manager_present(VmwsWindow *win, VmwsVm *vm)
{
   VmwsSnapshotManager *m = g_object_get_data(G_OBJECT(vm), MANAGER_KEY);
   if (!m) {
      m = g_object_new(VMWS_TYPE_SNAPSHOT_MANAGER, "transient-for", win, NULL);
      m->vm = g_object_ref(vm);
      g_weak_ref_set(&m->win, win);
      g_object_set_data(G_OBJECT(vm), MANAGER_KEY, m);
      char *title = g_strdup_printf("Snapshot Manager — %s", vmws_vm_get_name(vm));
      gtk_window_set_title(GTK_WINDOW(m), title);
      g_free(title);
      g_signal_connect_object(vm, "snapshots-changed", G_CALLBACK(on_snapshots_changed), m, 0);
      g_signal_connect_object(vm, "notify", G_CALLBACK(on_vm_notify), m, 0);
      /* Look again: another vmrun or UI may have changed the tree. */
      cui_snapshots_refresh(vmws_vm_get_snapshots(vm));
      rebuild(m);
      update_progress(m);
   }
   gtk_window_present(GTK_WINDOW(m));
   return m;
}

static void
vmws_snapshot_manager_dispose(GObject *obj)
{
   VmwsSnapshotManager *m = VMWS_SNAPSHOT_MANAGER(obj);
   if (m->tree) {
      g_signal_handlers_disconnect_by_data(m->tree, m);
   }
   if (m->vm) {
      g_signal_handlers_disconnect_by_data(m->vm, m);
      if (g_object_get_data(G_OBJECT(m->vm), MANAGER_KEY) == m) {
         g_object_set_data(G_OBJECT(m->vm), MANAGER_KEY, NULL);
      }
      g_clear_object(&m->vm);
   }
   g_weak_ref_set(&m->win, NULL);
   gtk_widget_dispose_template(GTK_WIDGET(obj), VMWS_TYPE_SNAPSHOT_MANAGER);
   G_OBJECT_CLASS(vmws_snapshot_manager_parent_class)->dispose(obj);
}

static void
vmws_snapshot_manager_finalize(GObject *obj)
{
   g_weak_ref_clear(&VMWS_SNAPSHOT_MANAGER(obj)->win);
   G_OBJECT_CLASS(vmws_snapshot_manager_parent_class)->finalize(obj);
}

static void
vmws_snapshot_manager_class_init(VmwsSnapshotManagerClass *klass)
{
   GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
   G_OBJECT_CLASS(klass)->dispose = vmws_snapshot_manager_dispose;
   G_OBJECT_CLASS(klass)->finalize = vmws_snapshot_manager_finalize;
   gtk_widget_class_set_template_from_resource(
      wc, "/org/vmws/Workstation/ui/vmws-snapshot-manager.ui");
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotManager, summary);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotManager, tree_error);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotManager, tree);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotManager, detail_name);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotManager, detail_description);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotManager, detail_taken);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotManager, take_button);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotManager, revert_button);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotManager, delete_button);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotManager, close_button);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotManager, spinner);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotManager, progress_bar);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotManager, progress);
   gtk_widget_class_add_binding_action(wc, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
vmws_snapshot_manager_init(VmwsSnapshotManager *m)
{
   gtk_widget_init_template(GTK_WIDGET(m));
   g_weak_ref_init(&m->win, NULL);
   g_signal_connect(m->tree, "row-selected", G_CALLBACK(on_row_selected), m);
   g_signal_connect(m->take_button, "clicked", G_CALLBACK(on_take), m);
   g_signal_connect(m->revert_button, "clicked", G_CALLBACK(on_revert), m);
   g_signal_connect(m->delete_button, "clicked", G_CALLBACK(on_delete), m);
   g_signal_connect(m->close_button, "clicked", G_CALLBACK(on_close), m);
}
