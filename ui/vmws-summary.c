/*
 * ui/vmws-summary.c - VmwsSummary: a VM's summary page. The hardware is
 * read from the .vmx (cui/settings.h, cui/serialports.h) when the VM is
 * chosen and after its settings change; the state, monitor and VNC rows
 * follow the VM's live properties.
 */
#include "ui/vmws-summary.h"
#include "cui/serialports.h"
#include "cui/newvm-edit.h"
#include "cui/settings.h"

#include <string.h>

struct _VmwsSummary {
   GtkBox parent;
   GtkLabel *name;
   GtkLabel *state;
   GtkLabel *problem;
   GtkGrid *grid;
   VmwsVm *vm;
   gulong notify_id, config_id;
   int rows;
};

G_DEFINE_TYPE(VmwsSummary, vmws_summary, GTK_TYPE_BOX)

static void
add_row(VmwsSummary *s, const char *key, const char *value)
{
   GtkWidget *k = gtk_label_new(key);
   gtk_label_set_xalign(GTK_LABEL(k), 1);
   gtk_label_set_yalign(GTK_LABEL(k), 0);
   gtk_widget_add_css_class(k, "dim-label");
   GtkWidget *v = gtk_label_new(value && *value ? value : "—");
   gtk_label_set_xalign(GTK_LABEL(v), 0);
   gtk_label_set_wrap(GTK_LABEL(v), TRUE);
   gtk_label_set_wrap_mode(GTK_LABEL(v), PANGO_WRAP_WORD_CHAR);
   gtk_label_set_selectable(GTK_LABEL(v), TRUE);
   gtk_widget_set_hexpand(v, TRUE);
   /* The value's accessible name is its text; its description says what
    * it is (screen readers, and the UI tests, read "value, Key"). */
   gtk_accessible_update_property(GTK_ACCESSIBLE(v), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, key,
                                  -1);
   gtk_grid_attach(s->grid, k, 0, s->rows, 1, 1);
   gtk_grid_attach(s->grid, v, 1, s->rows, 1, 1);
   s->rows++;
}

static void
clear_rows(VmwsSummary *s)
{
   GtkWidget *child;
   while ((child = gtk_widget_get_first_child(GTK_WIDGET(s->grid)))) {
      gtk_grid_remove(s->grid, child);
   }
   s->rows = 0;
}

static char *
boot_text(cui_newvm *m)
{
   const char *kernel = cui_newvm_get(m, CUI_NEWVM_KERNEL);
   const char *initrd = cui_newvm_get(m, CUI_NEWVM_INITRD);
   if (*kernel) {
      return *initrd ? g_strdup_printf("Linux kernel %s with %s", kernel, initrd)
                     : g_strdup_printf("Linux kernel %s", kernel);
   }
   if (*cui_newvm_get(m, CUI_NEWVM_DISK)) {
      return g_strdup("Hard disk");
   }
   if (*cui_newvm_get(m, CUI_NEWVM_ISO)) {
      return g_strdup("CD/DVD image");
   }
   return g_strdup("Nothing to boot: the machine idles");
}

static char *
serial_text(VmwsVm *vm)
{
   char *err = NULL;
   cui_serialports *sp = cui_serialports_load(vmws_vm_get_path(vm), &err);
   if (!sp) {
      return err;
   }
   GString *out = g_string_new(NULL);
   for (unsigned n = 0; n < CUI_SERIAL_PORTS; n++) {
      if (!cui_serialports_present(sp, n)) {
         continue;
      }
      cui_serial_type t = cui_serialports_type(sp, n);
      const char *path = cui_serialports_path(sp, n);
      /* A running VM's pseudo-terminal has a name now. */
      char *key = g_strdup_printf("/vm/runtime/serial/#%u/pty", n);
      char *pty = t == CUI_SERIAL_PTY ? vmws_vm_get_runtime(vm, key) : NULL;
      if (pty && *pty) {
         path = pty;
      }
      g_string_append_printf(out, "%sCOM%u: %s%s%s", out->len ? "\n" : "", n + 1,
                             cui_serial_type_label(t), *path ? " " : "", path);
      g_free(pty);
      g_free(key);
   }
   cui_serialports_free(sp);
   if (!out->len) {
      g_string_append(out, "None");
   }
   return g_string_free(out, FALSE);
}

static void
fill(VmwsSummary *s)
{
   clear_rows(s);
   VmwsVm *vm = s->vm;
   if (!vm) {
      gtk_label_set_text(s->name, "");
      gtk_label_set_text(s->state, "");
      gtk_widget_set_visible(GTK_WIDGET(s->problem), FALSE);
      return;
   }
   gtk_label_set_text(s->name, vmws_vm_get_name(vm));
   const char *problem = vmws_vm_get_problem(vm);
   gtk_widget_set_visible(GTK_WIDGET(s->problem), problem != NULL);
   gtk_label_set_text(s->problem, problem ? problem : "");
   char *err = NULL;
   cui_settings *set = problem ? NULL : cui_settings_load(vmws_vm_get_path(vm), &err);
   if (set) {
      cui_newvm *m = cui_settings_model(set);
      const char *gid = cui_newvm_get(m, CUI_NEWVM_GUEST_OS);
      const cui_newvm_guest_os *g = cui_newvm_guest_os_find(gid);
      add_row(s, "Guest operating system", g ? g->name : gid);
      add_row(s, "Processors", cui_newvm_get(m, CUI_NEWVM_CPUS));
      char *mem = g_strdup_printf("%s MB", cui_newvm_get(m, CUI_NEWVM_MEMORY));
      add_row(s, "Memory", mem);
      g_free(mem);
      char *boot = boot_text(m);
      add_row(s, "Boot", boot);
      g_free(boot);
      const char *cmdline = cui_newvm_get(m, CUI_NEWVM_CMDLINE);
      if (*cui_newvm_get(m, CUI_NEWVM_KERNEL)) {
         add_row(s, "Kernel command line", cmdline);
      }
      const char *iso = cui_newvm_get(m, CUI_NEWVM_ISO);
      add_row(s, "CD/DVD", *iso ? iso : "None");
      const char *disk = cui_newvm_get(m, CUI_NEWVM_DISK);
      char *dt = *disk ? g_strdup_printf("%s (%s)", disk, cui_newvm_get(m, CUI_NEWVM_DISK_BUS))
                       : g_strdup("None");
      add_row(s, "Hard disk", dt);
      g_free(dt);
      char *serial = serial_text(vm);
      add_row(s, "Serial ports", serial);
      g_free(serial);
      gboolean vnc_on = cui_newvm_same(m, CUI_NEWVM_VNC_ENABLED, "true");
      const char *port = cui_newvm_get(m, CUI_NEWVM_VNC_PORT);
      const char *live = vmws_vm_get_vnc_address(vm);
      char *vnc = !vnc_on ? g_strdup("Off")
                  : *live ? g_strdup_printf("VNC server at %s", live)
                  : !strcmp(port, "0") ? g_strdup("VNC on a free port from 5900 on")
                                       : g_strdup_printf("VNC on port %s", port);
      add_row(s, "Remote display", vnc);
      g_free(vnc);
      const char *chosen = vmws_vm_get_monitor(vm);
      char *mon = *chosen ? g_strdup_printf("%s (configured: %s)", chosen,
                                            cui_newvm_get(m, CUI_NEWVM_MONITOR))
                          : g_strdup_printf("%s (chosen at power-on)",
                                            cui_newvm_get(m, CUI_NEWVM_MONITOR));
      add_row(s, "Monitor mode", mon);
      g_free(mon);
      cui_settings_free(set);
   } else if (err) {
      gtk_widget_set_visible(GTK_WIDGET(s->problem), TRUE);
      gtk_label_set_text(s->problem, err);
      g_free(err);
   }
   add_row(s, "Configuration file", vmws_vm_get_path(vm));
   gtk_label_set_text(s->state, vmws_vm_get_status(vm));
}

static void
on_notify(GObject *obj, GParamSpec *pspec, gpointer data)
{
   VmwsSummary *s = data;
   const char *n = g_param_spec_get_name(pspec);
   if (!strcmp(n, "status") || !strcmp(n, "name") || !strcmp(n, "monitor") ||
       !strcmp(n, "vnc-address") || !strcmp(n, "problem")) {
      fill(s);
   }
}

static void
on_config_changed(VmwsVm *vm, gpointer data)
{
   fill(data);
}

void
vmws_summary_set_vm(VmwsSummary *s, VmwsVm *vm)
{
   if (s->vm != vm) {
      if (s->vm) {
         g_signal_handler_disconnect(s->vm, s->notify_id);
         g_signal_handler_disconnect(s->vm, s->config_id);
         g_clear_object(&s->vm);
      }
      if (vm) {
         s->vm = g_object_ref(vm);
         s->notify_id = g_signal_connect(vm, "notify", G_CALLBACK(on_notify), s);
         s->config_id = g_signal_connect(vm, "config-changed", G_CALLBACK(on_config_changed), s);
      }
   }
   fill(s);
}

static void
vmws_summary_dispose(GObject *obj)
{
   VmwsSummary *s = VMWS_SUMMARY(obj);
   if (s->vm) {
      g_signal_handler_disconnect(s->vm, s->notify_id);
      g_signal_handler_disconnect(s->vm, s->config_id);
      g_clear_object(&s->vm);
   }
   G_OBJECT_CLASS(vmws_summary_parent_class)->dispose(obj);
}

static void
vmws_summary_class_init(VmwsSummaryClass *klass)
{
   GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
   G_OBJECT_CLASS(klass)->dispose = vmws_summary_dispose;
   gtk_widget_class_set_template_from_resource(wc, "/org/vmws/Workstation/ui/vmws-summary.ui");
   gtk_widget_class_bind_template_child(wc, VmwsSummary, name);
   gtk_widget_class_bind_template_child(wc, VmwsSummary, state);
   gtk_widget_class_bind_template_child(wc, VmwsSummary, problem);
   gtk_widget_class_bind_template_child(wc, VmwsSummary, grid);
}

static void
vmws_summary_init(VmwsSummary *s)
{
   gtk_widget_init_template(GTK_WIDGET(s));
}
