/*
 * ui/vmws-snapshot-dialog.c - VmwsSnapshotDialog: Take Snapshot.
 */
#include "ui/vmws-snapshot-dialog.h"
#include "ui/vmws-error-dialog.h"

#include <string.h>

struct _VmwsSnapshotDialog {
   GtkWindow parent;

   GtkLabel *intro, *name_issue, *memory_note;
   GtkEditable *name_entry;
   GtkTextView *description_view;
   GtkWidget *take_button, *cancel_button;

   VmwsVm *vm;
};

G_DEFINE_TYPE(VmwsSnapshotDialog, vmws_snapshot_dialog, GTK_TYPE_WINDOW)

enum { SIG_STARTED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* The name as it will be taken: without blanks around it. */
static char *
entered_name(VmwsSnapshotDialog *d)
{
   return g_strstrip(g_strdup(gtk_editable_get_text(d->name_entry)));
}

static void
show_issue(VmwsSnapshotDialog *d, const char *issue)
{
   char *text = issue ? vmws_sentence(issue) : NULL;
   gtk_label_set_text(d->name_issue, text ? text : "");
   gtk_widget_set_visible(GTK_WIDGET(d->name_issue), text != NULL);
   g_free(text);
}

static void
validate(VmwsSnapshotDialog *d)
{
   char *name = entered_name(d);
   char *err = NULL;
   gboolean ok = cui_snapshots_name_ok(vmws_vm_get_snapshots(d->vm), name, &err);
   /* An empty field is not an error to shout about yet: Take is just off. */
   show_issue(d, ok || !*name ? NULL : err);
   gtk_widget_set_sensitive(d->take_button,
                            ok && vmws_vm_can_snapshot(d->vm, CUI_SNAPSHOT_TAKE));
   g_free(err);
   g_free(name);
}

static void
on_name_changed(GtkEditable *e, gpointer data)
{
   validate(VMWS_SNAPSHOT_DIALOG(data));
}

static void
on_take(GtkButton *b, gpointer data)
{
   VmwsSnapshotDialog *d = data;
   char *name = entered_name(d);
   GtkTextBuffer *buf = gtk_text_view_get_buffer(d->description_view);
   GtkTextIter s, e;
   gtk_text_buffer_get_bounds(buf, &s, &e);
   char *desc = gtk_text_buffer_get_text(buf, &s, &e, FALSE);
   GError *err = NULL;
   if (vmws_vm_snapshot_take(d->vm, name, g_strstrip(desc), &err)) {
      g_signal_emit(d, signals[SIG_STARTED], 0);
      gtk_window_destroy(GTK_WINDOW(d));
   } else {
      show_issue(d, err->message);
      g_error_free(err);
   }
   g_free(desc);
   g_free(name);
}

static void
on_cancel(GtkButton *b, gpointer data)
{
   gtk_window_destroy(GTK_WINDOW(data));
}

static void
on_vm_notify(GObject *obj, GParamSpec *pspec, gpointer data)
{
   validate(VMWS_SNAPSHOT_DIALOG(data));
}

/* "snapshots-changed" has no arguments: the data comes second. */
static void
on_snapshots_changed(VmwsVm *vm, gpointer data)
{
   validate(VMWS_SNAPSHOT_DIALOG(data));
}

/* "Snapshot N": the first such name no snapshot has. */
static char *
suggested_name(VmwsVm *vm)
{
   cui_snapshots *s = vmws_vm_get_snapshots(vm);
   for (unsigned n = cui_snapshots_count(s) + 1;; n++) {
      char *name = g_strdup_printf("Snapshot %u", n);
      if (cui_snapshots_name_ok(s, name, NULL)) {
         return name;
      }
      g_free(name);
   }
}

GtkWidget *
vmws_snapshot_dialog_new(GtkWindow *parent, VmwsVm *vm)
{
   VmwsSnapshotDialog *d = g_object_new(VMWS_TYPE_SNAPSHOT_DIALOG, "transient-for", parent,
                                        NULL);
   d->vm = g_object_ref(vm);
   char *title = g_strdup_printf("Take Snapshot of “%s”", vmws_vm_get_name(vm));
   gtk_window_set_title(GTK_WINDOW(d), title);
   g_free(title);
   gtk_label_set_text(d->intro, "A snapshot keeps the state of the virtual machine as it is "
                                "now, so that you can go back to it later. The new snapshot "
                                "comes after the current one in the Snapshot Manager.");
   const char *st = vmws_vm_get_power_state(vm);
   const char *note;
   if (!strcmp(st, "poweredOn") || !strcmp(st, "paused")) {
      note = "The virtual machine is running: its memory and devices are saved with the "
             "snapshot, and reverting to it brings it back running at this moment. It pauses "
             "briefly while the snapshot is taken. Disks are not part of snapshots yet.";
   } else if (!strcmp(st, "suspended")) {
      note = "The virtual machine is suspended: its suspended state is saved with the snapshot. "
             "Disks are not part of snapshots yet.";
   } else {
      note = "The virtual machine is powered off: the snapshot keeps its configuration. Disks "
             "are not part of snapshots yet.";
   }
   gtk_label_set_text(d->memory_note, note);
   char *name = suggested_name(vm);
   gtk_editable_set_text(d->name_entry, name);
   g_free(name);
   gtk_editable_select_region(d->name_entry, 0, -1);
   g_signal_connect(d->name_entry, "changed", G_CALLBACK(on_name_changed), d);
   g_signal_connect_object(vm, "notify::busy", G_CALLBACK(on_vm_notify), d, 0);
   g_signal_connect_object(vm, "notify::power-state", G_CALLBACK(on_vm_notify), d, 0);
   g_signal_connect_object(vm, "snapshots-changed", G_CALLBACK(on_snapshots_changed), d, 0);
   validate(d);
   gtk_widget_grab_focus(GTK_WIDGET(d->name_entry));
   return GTK_WIDGET(d);
}

static void
vmws_snapshot_dialog_dispose(GObject *obj)
{
   VmwsSnapshotDialog *d = VMWS_SNAPSHOT_DIALOG(obj);
   if (d->vm) {
      /* The VM lives on: no more of its signals here. */
      g_signal_handlers_disconnect_by_data(d->vm, d);
      g_clear_object(&d->vm);
   }
   gtk_widget_dispose_template(GTK_WIDGET(obj), VMWS_TYPE_SNAPSHOT_DIALOG);
   G_OBJECT_CLASS(vmws_snapshot_dialog_parent_class)->dispose(obj);
}

static void
vmws_snapshot_dialog_class_init(VmwsSnapshotDialogClass *klass)
{
   GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
   G_OBJECT_CLASS(klass)->dispose = vmws_snapshot_dialog_dispose;
   gtk_widget_class_set_template_from_resource(wc,
                                               "/org/vmws/Workstation/ui/vmws-snapshot-dialog.ui");
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotDialog, intro);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotDialog, name_issue);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotDialog, memory_note);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotDialog, name_entry);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotDialog, description_view);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotDialog, take_button);
   gtk_widget_class_bind_template_child(wc, VmwsSnapshotDialog, cancel_button);
   gtk_widget_class_add_binding_action(wc, GDK_KEY_Escape, 0, "window.close", NULL);
   signals[SIG_STARTED] = g_signal_new("started", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
vmws_snapshot_dialog_init(VmwsSnapshotDialog *d)
{
   gtk_widget_init_template(GTK_WIDGET(d));
   gtk_window_set_default_widget(GTK_WINDOW(d), d->take_button);
   g_signal_connect(d->take_button, "clicked", G_CALLBACK(on_take), d);
   g_signal_connect(d->cancel_button, "clicked", G_CALLBACK(on_cancel), d);
}
