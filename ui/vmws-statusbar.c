/*
 * ui/vmws-statusbar.c - VmwsStatusbar: progress, hint, power state,
 * monitor mode and VNC address of the selected VM.
 */
#include "ui/vmws-statusbar.h"

struct _VmwsStatusbar {
   GtkBox parent;
   GtkSpinner *spinner;
   GtkProgressBar *progress_bar;
   GtkLabel *progress;
   GtkLabel *hint;
   GtkLabel *state;
   GtkLabel *monitor;
   GtkLabel *vnc;
   GtkWidget *vnc_sep, *monitor_sep;
   VmwsVm *vm;
   gulong notify_id;
};

G_DEFINE_TYPE(VmwsStatusbar, vmws_statusbar, GTK_TYPE_BOX)

static void
update(VmwsStatusbar *sb)
{
   VmwsVm *vm = sb->vm;
   if (!vm) {
      gtk_spinner_stop(sb->spinner);
      gtk_widget_set_visible(GTK_WIDGET(sb->spinner), FALSE);
      gtk_label_set_text(sb->progress, "");
      gtk_widget_set_visible(GTK_WIDGET(sb->progress_bar), FALSE);
      gtk_label_set_text(sb->state, "No virtual machine selected");
      gtk_widget_set_visible(GTK_WIDGET(sb->monitor), FALSE);
      gtk_widget_set_visible(sb->monitor_sep, FALSE);
      gtk_widget_set_visible(GTK_WIDGET(sb->vnc), FALSE);
      gtk_widget_set_visible(sb->vnc_sep, FALSE);
      return;
   }
   gboolean busy = vmws_vm_get_busy(vm);
   gtk_widget_set_visible(GTK_WIDGET(sb->spinner), busy);
   if (busy) {
      gtk_spinner_start(sb->spinner);
   } else {
      gtk_spinner_stop(sb->spinner);
   }
   gtk_label_set_text(sb->progress, vmws_vm_get_progress(vm));
   double fraction = vmws_vm_get_fraction(vm);
   gtk_widget_set_visible(GTK_WIDGET(sb->progress_bar), busy && fraction >= 0);
   if (fraction >= 0) {
      gtk_progress_bar_set_fraction(sb->progress_bar, fraction);
   }
   const char *problem = vmws_vm_get_problem(vm);
   gtk_label_set_text(sb->state, problem ? "Unavailable" : vmws_vm_get_state_label(vm));
   const char *chosen = vmws_vm_get_monitor(vm);
   char *machine = vmws_vm_get_runtime(vm, "/vm/runtime/machine");
   char *mon = *chosen ? g_strdup_printf("Monitor: %s", chosen)
               : !g_strcmp0(machine, "idle")
                  ? g_strdup("Monitor: none (no guest to run)")
                  : g_strdup_printf("Monitor: %s (configured)", vmws_vm_get_monitor_config(vm));
   gtk_label_set_text(sb->monitor, mon);
   g_free(mon);
   g_free(machine);
   gtk_widget_set_visible(GTK_WIDGET(sb->monitor), TRUE);
   gtk_widget_set_visible(sb->monitor_sep, TRUE);
   const char *vnc = vmws_vm_get_vnc_address(vm);
   char *vt = g_strdup_printf("VNC: %s", vnc);
   gtk_label_set_text(sb->vnc, vt);
   g_free(vt);
   gtk_widget_set_visible(GTK_WIDGET(sb->vnc), *vnc != '\0');
   gtk_widget_set_visible(sb->vnc_sep, *vnc != '\0');
}

static void
on_notify(GObject *obj, GParamSpec *pspec, gpointer data)
{
   update(VMWS_STATUSBAR(data));
}

void
vmws_statusbar_set_vm(VmwsStatusbar *sb, VmwsVm *vm)
{
   if (sb->vm == vm) {
      return;
   }
   if (sb->vm) {
      g_signal_handler_disconnect(sb->vm, sb->notify_id);
      g_clear_object(&sb->vm);
   }
   if (vm) {
      sb->vm = g_object_ref(vm);
      sb->notify_id = g_signal_connect(vm, "notify", G_CALLBACK(on_notify), sb);
   }
   update(sb);
}

void
vmws_statusbar_set_hint(VmwsStatusbar *sb, const char *hint)
{
   gtk_label_set_text(sb->hint, hint ? hint : "");
   gtk_widget_set_visible(GTK_WIDGET(sb->hint), hint && *hint);
}

const char *
vmws_statusbar_get_hint(VmwsStatusbar *sb)
{
   return gtk_label_get_text(sb->hint);
}

static void
vmws_statusbar_dispose(GObject *obj)
{
   vmws_statusbar_set_vm(VMWS_STATUSBAR(obj), NULL);
   G_OBJECT_CLASS(vmws_statusbar_parent_class)->dispose(obj);
}

static void
vmws_statusbar_class_init(VmwsStatusbarClass *klass)
{
   GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
   G_OBJECT_CLASS(klass)->dispose = vmws_statusbar_dispose;
   gtk_widget_class_set_template_from_resource(wc, "/org/vmws/Workstation/ui/vmws-statusbar.ui");
   gtk_widget_class_bind_template_child(wc, VmwsStatusbar, spinner);
   gtk_widget_class_bind_template_child(wc, VmwsStatusbar, progress_bar);
   gtk_widget_class_bind_template_child(wc, VmwsStatusbar, progress);
   gtk_widget_class_bind_template_child(wc, VmwsStatusbar, hint);
   gtk_widget_class_bind_template_child(wc, VmwsStatusbar, state);
   gtk_widget_class_bind_template_child(wc, VmwsStatusbar, monitor);
   gtk_widget_class_bind_template_child(wc, VmwsStatusbar, vnc);
   gtk_widget_class_bind_template_child(wc, VmwsStatusbar, vnc_sep);
   gtk_widget_class_bind_template_child(wc, VmwsStatusbar, monitor_sep);
   gtk_widget_class_set_css_name(wc, "vmws-statusbar");
}

static void
vmws_statusbar_init(VmwsStatusbar *sb)
{
   gtk_widget_init_template(GTK_WIDGET(sb));
   update(sb);
}
