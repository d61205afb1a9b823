/*
 * ui/vmws-settings-dialog.c - VmwsSettingsDialog: a VM's settings.
 *
 * The fields are those of the new-VM model in edit mode (cui/settings.h)
 * plus the serial ports (cui/serialports.h). While the VM is not powered
 * off, the settings that need it off are locked with the reason; the
 * lock follows the VM's state while the dialog is open. Saving runs on a
 * worker thread (a running vmx may be asked to write the change); the
 * dialog waits, insensitive, and closes when it worked or shows why not.
 *
 * Signal "saved" () after a save that wrote something.
 */
#include "ui/vmws-settings-dialog.h"
#include "cui/serialports.h"
#include "cui/newvm-edit.h"
#include "cui/settings.h"
#include "ui/vmws-error-dialog.h"
#include "ui/vmws-form.h"

#include <string.h>

#define LOCK_REASON "Power off the virtual machine to change this setting."

struct _VmwsSettingsDialog {
   GtkWindow parent;

   GtkStack *pages;
   GtkLabel *power_note, *error_label, *path_info, *monitor_info;
   GtkWidget *save_button, *cancel_button, *revert_button;
   GtkSpinner *spinner;
   GtkEditable *name_entry, *cpus_entry, *memory_entry;
   GtkEditable *iso_entry, *kernel_entry, *initrd_entry, *cmdline_entry, *disk_entry;
   GtkEditable *vncport_entry, *vncpassword_entry;
   GtkDropDown *guest_dropdown, *monitor_dropdown, *entry_dropdown, *diskbus_dropdown;
   GtkCheckButton *vnc_check;
   GtkLabel *name_issue, *guest_issue, *cpus_issue, *memory_issue, *monitor_issue;
   GtkLabel *iso_issue, *kernel_issue, *initrd_issue, *cmdline_issue, *entry_issue;
   GtkLabel *disk_issue, *diskbus_issue, *vnc_issue, *vncport_issue, *vncpassword_issue;
   GtkWidget *iso_browse, *kernel_browse, *initrd_browse, *disk_browse;
   GtkCheckButton *serial_check[CUI_SERIAL_PORTS];
   GtkDropDown *serial_type[CUI_SERIAL_PORTS];
   GtkEditable *serial_path[CUI_SERIAL_PORTS];
   GtkLabel *serial_issue[CUI_SERIAL_PORTS];

   VmwsVm *vm;
   gulong vm_notify_id;
   cui_settings *settings;
   cui_serialports *serial;
   vmws_form *form;
   gboolean saving;
   gboolean loading;
};

G_DEFINE_TYPE(VmwsSettingsDialog, vmws_settings_dialog, GTK_TYPE_WINDOW)

enum { SIG_SAVED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* ---- serial ports */

static void
serial_show(VmwsSettingsDialog *d)
{
   d->loading = TRUE;
   for (unsigned n = 0; n < CUI_SERIAL_PORTS; n++) {
      gboolean on = cui_serialports_present(d->serial, n);
      gtk_check_button_set_active(d->serial_check[n], on);
      gtk_drop_down_set_selected(d->serial_type[n], cui_serialports_type(d->serial, n));
      const char *path = cui_serialports_path(d->serial, n);
      if (strcmp(gtk_editable_get_text(d->serial_path[n]), path)) {
         gtk_editable_set_text(d->serial_path[n], path);
      }
   }
   d->loading = FALSE;
}

static cui_newvm_severity
serial_check(VmwsSettingsDialog *d)
{
   cui_newvm_severity worst = CUI_NEWVM_OK;
   const char *st = vmws_vm_get_power_state(d->vm);
   gboolean off = !strcmp(st, "poweredOff");
   for (unsigned n = 0; n < CUI_SERIAL_PORTS; n++) {
      gboolean on = cui_serialports_present(d->serial, n);
      gboolean pty = cui_serialports_type(d->serial, n) == CUI_SERIAL_PTY;
      gtk_widget_set_sensitive(GTK_WIDGET(d->serial_check[n]), off);
      gtk_widget_set_sensitive(GTK_WIDGET(d->serial_type[n]), off && on);
      gtk_widget_set_sensitive(GTK_WIDGET(d->serial_path[n]), off && on && !pty);
      char *msg = NULL;
      cui_newvm_severity sev = cui_serialports_check(d->serial, n, &msg);
      GtkWidget *issue = GTK_WIDGET(d->serial_issue[n]);
      gtk_widget_remove_css_class(issue, "error");
      gtk_widget_remove_css_class(issue, "warning");
      gtk_widget_set_visible(issue, sev != CUI_NEWVM_OK);
      gtk_label_set_text(d->serial_issue[n], msg ? msg : "");
      if (sev != CUI_NEWVM_OK) {
         gtk_widget_add_css_class(issue, sev == CUI_NEWVM_ERROR ? "error" : "warning");
      }
      g_free(msg);
      worst = MAX(worst, sev);
   }
   return worst;
}

static void update_buttons(VmwsSettingsDialog *d);

static void
on_serial_changed(GtkWidget *w, gpointer data)
{
   VmwsSettingsDialog *d = data;
   if (d->loading) {
      return;
   }
   for (unsigned n = 0; n < CUI_SERIAL_PORTS; n++) {
      cui_serialports_set_present(d->serial, n, gtk_check_button_get_active(d->serial_check[n]));
      guint t = gtk_drop_down_get_selected(d->serial_type[n]);
      if (t < CUI_SERIAL_N_TYPES) {
         cui_serialports_set_type(d->serial, n, (cui_serial_type)t);
      }
      cui_serialports_set_path(d->serial, n, gtk_editable_get_text(d->serial_path[n]));
   }
   gtk_widget_set_visible(GTK_WIDGET(d->error_label), FALSE);
   update_buttons(d);
}

static void
on_serial_type(GObject *obj, GParamSpec *pspec, gpointer data)
{
   on_serial_changed(GTK_WIDGET(obj), data);
}

/* ---- state */

static void
update_locks(VmwsSettingsDialog *d)
{
   const char *st = vmws_vm_get_power_state(d->vm);
   for (int i = 0; i < CUI_NEWVM_N_FIELDS; i++) {
      cui_newvm_field f = (cui_newvm_field)i;
      vmws_form_set_locked(d->form, f, cui_settings_can_change(f, st) ? NULL : LOCK_REASON);
   }
   gboolean off = !strcmp(st, "poweredOff");
   gtk_widget_set_sensitive(d->iso_browse, off);
   gtk_widget_set_sensitive(d->kernel_browse, off);
   gtk_widget_set_sensitive(d->initrd_browse, off);
   gtk_widget_set_sensitive(d->disk_browse, off);
   if (off) {
      gtk_widget_set_visible(GTK_WIDGET(d->power_note), FALSE);
   } else {
      char *what = g_ascii_strdown(vmws_vm_get_state_label(d->vm), -1);
      char *note = g_strdup_printf("The virtual machine is %s: only its name and the remote "
                                   "display can be changed now. Power it off to change the "
                                   "hardware, boot media, serial ports or monitor mode.",
                                   what);
      gtk_label_set_text(d->power_note, note);
      gtk_widget_set_visible(GTK_WIDGET(d->power_note), TRUE);
      g_free(note);
      g_free(what);
   }
}

static void
update_buttons(VmwsSettingsDialog *d)
{
   cui_newvm_severity sev = vmws_form_check(d->form, NULL, 0);
   cui_newvm_severity ssev = serial_check(d);
   gboolean changed = cui_settings_any_changed(d->settings) ||
                      cui_serialports_any_changed(d->serial);
   /* Only errors in what changed stop a save (cui_settings_save checks the
    * same); an untouched field's old problem is shown but not in the way. */
   gboolean blocking = FALSE;
   for (int i = 0; i < CUI_NEWVM_N_FIELDS && sev == CUI_NEWVM_ERROR; i++) {
      cui_newvm_field f = (cui_newvm_field)i;
      blocking |= cui_settings_changed(d->settings, f) &&
                  cui_newvm_check(cui_settings_model(d->settings), f, NULL) == CUI_NEWVM_ERROR;
   }
   for (unsigned n = 0; n < CUI_SERIAL_PORTS && ssev == CUI_NEWVM_ERROR; n++) {
      blocking |= cui_serialports_changed(d->serial, n) &&
                  cui_serialports_check(d->serial, n, NULL) == CUI_NEWVM_ERROR;
   }
   gtk_widget_set_sensitive(d->save_button, changed && !blocking && !d->saving);
   gtk_widget_set_sensitive(d->revert_button, changed && !d->saving);
   const char *gid = cui_newvm_get(cui_settings_model(d->settings), CUI_NEWVM_MONITOR);
   const char *chosen = vmws_vm_get_monitor(d->vm);
   char *info = *chosen ? g_strdup_printf("Running now under the %s monitor.", chosen)
                        : g_strdup_printf("The monitor is chosen at the next power-on (%s).",
                                          gid);
   gtk_label_set_text(d->monitor_info, info);
   g_free(info);
}

static void
on_field_changed(cui_newvm_field f, void *user)
{
   VmwsSettingsDialog *d = user;
   gtk_widget_set_visible(GTK_WIDGET(d->error_label), FALSE);
   update_buttons(d);
}

static void
on_vm_notify(GObject *obj, GParamSpec *pspec, gpointer data)
{
   VmwsSettingsDialog *d = data;
   if (!strcmp(g_param_spec_get_name(pspec), "power-state") ||
       !strcmp(g_param_spec_get_name(pspec), "monitor")) {
      update_locks(d);
      update_buttons(d);
   }
}

/* ---- saving */

typedef struct save_result {
   char *error;
   char **notes;
} save_result;

static void
save_result_free(gpointer p)
{
   save_result *r = p;
   g_free(r->error);
   g_strfreev(r->notes);
   g_free(r);
}

static void
save_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
   VmwsSettingsDialog *d = source;
   save_result *r = g_new0(save_result, 1);
   char *err = NULL;
   if (cui_settings_save(d->settings, &r->notes, &err) < 0) {
      r->error = err;
   } else if (cui_serialports_save(d->serial, &err) < 0) {
      r->error = err;
   }
   g_task_return_pointer(task, r, save_result_free);
}

static void
set_busy(VmwsSettingsDialog *d, gboolean busy)
{
   d->saving = busy;
   gtk_widget_set_sensitive(GTK_WIDGET(d->pages), !busy);
   gtk_widget_set_sensitive(d->cancel_button, !busy);
   if (busy) {
      gtk_spinner_start(d->spinner);
   } else {
      gtk_spinner_stop(d->spinner);
   }
   update_buttons(d);
}

static void
save_done(GObject *source, GAsyncResult *res, gpointer data)
{
   VmwsSettingsDialog *d = VMWS_SETTINGS_DIALOG(source);
   save_result *r = g_task_propagate_pointer(G_TASK(res), NULL);
   set_busy(d, FALSE);
   /* Whatever was written is in the file now. */
   vmws_vm_config_changed(d->vm);
   g_signal_emit(d, signals[SIG_SAVED], 0);
   if (r && r->error) {
      char *msg = g_strdup_printf("The settings were not saved: %s", r->error);
      gtk_label_set_text(d->error_label, msg);
      gtk_widget_set_visible(GTK_WIDGET(d->error_label), TRUE);
      g_free(msg);
      vmws_form_refresh(d->form);
      update_buttons(d);
   } else {
      if (r && r->notes) {
         char *text = g_strjoinv("\n", r->notes);
         vmws_info_dialog_show(gtk_window_get_transient_for(GTK_WINDOW(d)),
                               "The settings were saved", text);
         g_free(text);
      }
      gtk_window_destroy(GTK_WINDOW(d));
   }
   if (r) {
      save_result_free(r);
   }
}

static void
on_save(GtkButton *b, gpointer data)
{
   VmwsSettingsDialog *d = data;
   if (d->saving) {
      return;
   }
   set_busy(d, TRUE);
   GTask *t = g_task_new(d, NULL, save_done, NULL);
   g_task_run_in_thread(t, save_thread);
   g_object_unref(t);
}

static void
on_revert(GtkButton *b, gpointer data)
{
   VmwsSettingsDialog *d = data;
   cui_settings_revert(d->settings);
   cui_serialports_revert(d->serial);
   vmws_form_refresh(d->form);
   serial_show(d);
   update_buttons(d);
}

static void
on_cancel(GtkButton *b, gpointer data)
{
   gtk_window_destroy(GTK_WINDOW(data));
}

static gboolean
on_close_request(GtkWindow *w, gpointer data)
{
   /* Not while a save runs: its result needs the dialog. */
   return VMWS_SETTINGS_DIALOG(w)->saving;
}

static void
on_browse(GtkButton *b, gpointer data)
{
   VmwsSettingsDialog *d = data;
   GtkWidget *w = GTK_WIDGET(b);
   if (w == d->iso_browse) {
      vmws_form_browse(GTK_WINDOW(d), d->iso_entry, FALSE, "CD/DVD image");
   } else if (w == d->kernel_browse) {
      vmws_form_browse(GTK_WINDOW(d), d->kernel_entry, FALSE, "Linux kernel");
   } else if (w == d->initrd_browse) {
      vmws_form_browse(GTK_WINDOW(d), d->initrd_entry, FALSE, "Initial RAM disk");
   } else if (w == d->disk_browse) {
      vmws_form_browse(GTK_WINDOW(d), d->disk_entry, FALSE, "Virtual disk");
   }
}

/* ---- construction */

static void
bind(VmwsSettingsDialog *d)
{
   vmws_form *f = d->form;
   vmws_form_bind_entry(f, CUI_NEWVM_NAME, d->name_entry, d->name_issue);
   vmws_form_bind_entry(f, CUI_NEWVM_CPUS, d->cpus_entry, d->cpus_issue);
   vmws_form_bind_entry(f, CUI_NEWVM_MEMORY, d->memory_entry, d->memory_issue);
   vmws_form_bind_entry(f, CUI_NEWVM_ISO, d->iso_entry, d->iso_issue);
   vmws_form_bind_entry(f, CUI_NEWVM_KERNEL, d->kernel_entry, d->kernel_issue);
   vmws_form_bind_entry(f, CUI_NEWVM_INITRD, d->initrd_entry, d->initrd_issue);
   vmws_form_bind_entry(f, CUI_NEWVM_CMDLINE, d->cmdline_entry, d->cmdline_issue);
   vmws_form_bind_entry(f, CUI_NEWVM_DISK, d->disk_entry, d->disk_issue);
   vmws_form_bind_check(f, CUI_NEWVM_VNC_ENABLED, d->vnc_check, d->vnc_issue);
   vmws_form_bind_entry(f, CUI_NEWVM_VNC_PORT, d->vncport_entry, d->vncport_issue);
   vmws_form_bind_entry(f, CUI_NEWVM_VNC_PASSWORD, d->vncpassword_entry, d->vncpassword_issue);
   size_t n;
   const cui_newvm_guest_os *list = cui_newvm_guest_os_list(&n);
   const char **ids = g_new0(const char *, n + 1), **names = g_new0(const char *, n + 1);
   for (size_t i = 0; i < n; i++) {
      ids[i] = list[i].id;
      names[i] = list[i].name;
   }
   vmws_form_bind_dropdown(f, CUI_NEWVM_GUEST_OS, d->guest_dropdown, ids, names, d->guest_issue);
   g_free(ids);
   g_free(names);
   static const char *const mon_v[] = { "automatic", "hardware", "software", NULL };
   static const char *const mon_l[] = { "Automatic", "Hardware (KVM)", "Software", NULL };
   vmws_form_bind_dropdown(f, CUI_NEWVM_MONITOR, d->monitor_dropdown, mon_v, mon_l,
                           d->monitor_issue);
   static const char *const entry_v[] = { "auto", "linux", "pvh", "multiboot", NULL };
   static const char *const entry_l[] = { "Automatic", "Linux boot protocol", "PVH",
                                          "Multiboot", NULL };
   vmws_form_bind_dropdown(f, CUI_NEWVM_ENTRY, d->entry_dropdown, entry_v, entry_l,
                           d->entry_issue);
   static const char *const bus_v[] = { "scsi", "sata", NULL };
   static const char *const bus_l[] = { "SCSI (scsi0:0)", "SATA (sata0:0)", NULL };
   vmws_form_bind_dropdown(f, CUI_NEWVM_DISK_BUS, d->diskbus_dropdown, bus_v, bus_l,
                           d->diskbus_issue);

   const char *types[CUI_SERIAL_N_TYPES + 1] = { NULL };
   for (int t = 0; t < CUI_SERIAL_N_TYPES; t++) {
      types[t] = cui_serial_type_label((cui_serial_type)t);
   }
   for (unsigned p = 0; p < CUI_SERIAL_PORTS; p++) {
      GtkStringList *sl = gtk_string_list_new(types);
      gtk_drop_down_set_model(d->serial_type[p], G_LIST_MODEL(sl));
      g_object_unref(sl);
   }
   serial_show(d);
   for (unsigned p = 0; p < CUI_SERIAL_PORTS; p++) {
      g_signal_connect(d->serial_check[p], "toggled", G_CALLBACK(on_serial_changed), d);
      g_signal_connect(d->serial_type[p], "notify::selected", G_CALLBACK(on_serial_type), d);
      g_signal_connect(d->serial_path[p], "changed", G_CALLBACK(on_serial_changed), d);
   }
}

GtkWidget *
vmws_settings_dialog_new(GtkWindow *parent, VmwsVm *vm, GError **error)
{
   char *err = NULL;
   cui_settings *s = cui_settings_load(vmws_vm_get_path(vm), &err);
   cui_serialports *sp = s ? cui_serialports_load(vmws_vm_get_path(vm), &err) : NULL;
   if (!sp) {
      g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, err);
      g_free(err);
      cui_settings_free(s);
      return NULL;
   }
   VmwsSettingsDialog *d = g_object_new(VMWS_TYPE_SETTINGS_DIALOG, "transient-for", parent,
                                        NULL);
   d->vm = g_object_ref(vm);
   d->settings = s;
   d->serial = sp;
   d->form = vmws_form_new(cui_settings_model(s), on_field_changed, d);
   char *title = g_strdup_printf("Settings of “%s”", vmws_vm_get_name(vm));
   gtk_window_set_title(GTK_WINDOW(d), title);
   g_free(title);
   gtk_label_set_text(d->path_info, cui_settings_vmx_path(s));
   bind(d);
   d->vm_notify_id = g_signal_connect(vm, "notify", G_CALLBACK(on_vm_notify), d);
   update_locks(d);
   update_buttons(d);
   return GTK_WIDGET(d);
}

static void
vmws_settings_dialog_dispose(GObject *obj)
{
   VmwsSettingsDialog *d = VMWS_SETTINGS_DIALOG(obj);
   if (d->vm) {
      g_signal_handler_disconnect(d->vm, d->vm_notify_id);
      g_clear_object(&d->vm);
   }
   for (unsigned p = 0; p < CUI_SERIAL_PORTS; p++) {
      if (d->serial_check[p]) {
         g_signal_handlers_disconnect_by_data(d->serial_check[p], d);
         g_signal_handlers_disconnect_by_data(d->serial_type[p], d);
         g_signal_handlers_disconnect_by_data(d->serial_path[p], d);
      }
   }
   g_clear_pointer(&d->form, vmws_form_free);
   gtk_widget_dispose_template(GTK_WIDGET(obj), VMWS_TYPE_SETTINGS_DIALOG);
   G_OBJECT_CLASS(vmws_settings_dialog_parent_class)->dispose(obj);
}

static void
vmws_settings_dialog_finalize(GObject *obj)
{
   VmwsSettingsDialog *d = VMWS_SETTINGS_DIALOG(obj);
   cui_settings_free(d->settings);
   cui_serialports_free(d->serial);
   G_OBJECT_CLASS(vmws_settings_dialog_parent_class)->finalize(obj);
}

static void
vmws_settings_dialog_class_init(VmwsSettingsDialogClass *klass)
{
   GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
   G_OBJECT_CLASS(klass)->dispose = vmws_settings_dialog_dispose;
   G_OBJECT_CLASS(klass)->finalize = vmws_settings_dialog_finalize;
   signals[SIG_SAVED] = g_signal_new("saved", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0,
                                     NULL, NULL, NULL, G_TYPE_NONE, 0);
   gtk_widget_class_set_template_from_resource(
      wc, "/org/vmws/Workstation/ui/vmws-settings-dialog.ui");
#define CHILD(n) gtk_widget_class_bind_template_child(wc, VmwsSettingsDialog, n)
   CHILD(pages);
   CHILD(power_note);
   CHILD(error_label);
   CHILD(path_info);
   CHILD(monitor_info);
   CHILD(save_button);
   CHILD(cancel_button);
   CHILD(revert_button);
   CHILD(spinner);
   CHILD(name_entry);
   CHILD(cpus_entry);
   CHILD(memory_entry);
   CHILD(iso_entry);
   CHILD(kernel_entry);
   CHILD(initrd_entry);
   CHILD(cmdline_entry);
   CHILD(disk_entry);
   CHILD(vncport_entry);
   CHILD(vncpassword_entry);
   CHILD(guest_dropdown);
   CHILD(monitor_dropdown);
   CHILD(entry_dropdown);
   CHILD(diskbus_dropdown);
   CHILD(vnc_check);
   CHILD(name_issue);
   CHILD(guest_issue);
   CHILD(cpus_issue);
   CHILD(memory_issue);
   CHILD(monitor_issue);
   CHILD(iso_issue);
   CHILD(kernel_issue);
   CHILD(initrd_issue);
   CHILD(cmdline_issue);
   CHILD(entry_issue);
   CHILD(disk_issue);
   CHILD(diskbus_issue);
   CHILD(vnc_issue);
   CHILD(vncport_issue);
   CHILD(vncpassword_issue);
   CHILD(iso_browse);
   CHILD(kernel_browse);
   CHILD(initrd_browse);
   CHILD(disk_browse);
#undef CHILD
   /* The serial port rows are numbered: bound by name. */
   static const char *const names[][4] = {
      { "serial0_check", "serial0_type", "serial0_path", "serial0_issue" },
      { "serial1_check", "serial1_type", "serial1_path", "serial1_issue" },
      { "serial2_check", "serial2_type", "serial2_path", "serial2_issue" },
      { "serial3_check", "serial3_type", "serial3_path", "serial3_issue" },
   };
   for (unsigned p = 0; p < CUI_SERIAL_PORTS; p++) {
      gtk_widget_class_bind_template_child_full(
         wc, names[p][0], FALSE,
         G_STRUCT_OFFSET(VmwsSettingsDialog, serial_check) + p * sizeof(gpointer));
      gtk_widget_class_bind_template_child_full(
         wc, names[p][1], FALSE,
         G_STRUCT_OFFSET(VmwsSettingsDialog, serial_type) + p * sizeof(gpointer));
      gtk_widget_class_bind_template_child_full(
         wc, names[p][2], FALSE,
         G_STRUCT_OFFSET(VmwsSettingsDialog, serial_path) + p * sizeof(gpointer));
      gtk_widget_class_bind_template_child_full(
         wc, names[p][3], FALSE,
         G_STRUCT_OFFSET(VmwsSettingsDialog, serial_issue) + p * sizeof(gpointer));
   }
}

static void
vmws_settings_dialog_init(VmwsSettingsDialog *d)
{
   gtk_widget_init_template(GTK_WIDGET(d));
   g_signal_connect(d->save_button, "clicked", G_CALLBACK(on_save), d);
   g_signal_connect(d->revert_button, "clicked", G_CALLBACK(on_revert), d);
   g_signal_connect(d->cancel_button, "clicked", G_CALLBACK(on_cancel), d);
   g_signal_connect(d, "close-request", G_CALLBACK(on_close_request), NULL);
   GtkWidget *browse[] = { d->iso_browse, d->kernel_browse, d->initrd_browse, d->disk_browse };
   for (size_t i = 0; i < G_N_ELEMENTS(browse); i++) {
      g_signal_connect(browse[i], "clicked", G_CALLBACK(on_browse), d);
   }
}
