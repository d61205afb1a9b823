/*
 * ui/vmws-newvm-assistant.c - VmwsNewVmAssistant: the New Virtual Machine
 * assistant.
 *
 * Pages: name and location; guest OS and hardware; boot media; remote
 * display; a summary. Next is allowed when the page's fields have no
 * error (warnings are shown, not blocking). Finish writes the VM
 * (cui_newvm_write: its folder and .vmx, then the library entry) and
 * selects it in the window.
 */
#include "ui/vmws-newvm-assistant.h"
#include "cui/newvm.h"
#include "ui/vmws-form.h"
#include "cui/newvm-edit.h"

#include <string.h>

static const char *const page_names[] = { "name", "hardware", "media", "display", "finish" };
#define N_PAGES G_N_ELEMENTS(page_names)

struct _VmwsNewVmAssistant {
   GtkWindow parent;

   GtkStack *pages;
   GtkLabel *page_title, *step_label;
   GtkWidget *cancel_button, *back_button, *next_button, *finish_button;
   GtkEditable *name_entry, *location_entry, *cpus_entry, *memory_entry;
   GtkEditable *iso_entry, *kernel_entry, *initrd_entry, *cmdline_entry, *disk_entry;
   GtkEditable *vncport_entry, *vncpassword_entry;
   GtkDropDown *guest_dropdown, *monitor_dropdown, *entry_dropdown, *diskbus_dropdown;
   GtkCheckButton *vnc_check;
   GtkLabel *name_issue, *location_issue, *guest_issue, *cpus_issue, *memory_issue;
   GtkLabel *monitor_issue, *iso_issue, *kernel_issue, *initrd_issue, *cmdline_issue;
   GtkLabel *entry_issue, *disk_issue, *diskbus_issue, *vnc_issue, *vncport_issue;
   GtkLabel *vncpassword_issue;
   GtkLabel *folder_info, *summary_label, *warnings_label, *error_label;
   GtkWidget *location_browse, *iso_browse, *kernel_browse, *initrd_browse, *disk_browse;

   VmwsLibrary *library;
   cui_newvm *model;
   vmws_form *form;
   guint page;
};

G_DEFINE_TYPE(VmwsNewVmAssistant, vmws_newvm_assistant, GTK_TYPE_WINDOW)

enum { SIG_CREATED, N_SIGNALS };
static guint signals[N_SIGNALS];

/* The fields each page holds (for Next). */
static const cui_newvm_field page_fields[N_PAGES][8] = {
   { CUI_NEWVM_NAME, CUI_NEWVM_LOCATION, CUI_NEWVM_N_FIELDS },
   { CUI_NEWVM_GUEST_OS, CUI_NEWVM_CPUS, CUI_NEWVM_MEMORY, CUI_NEWVM_MONITOR, CUI_NEWVM_N_FIELDS },
   { CUI_NEWVM_ISO, CUI_NEWVM_KERNEL, CUI_NEWVM_INITRD, CUI_NEWVM_CMDLINE, CUI_NEWVM_ENTRY,
     CUI_NEWVM_DISK, CUI_NEWVM_DISK_BUS, CUI_NEWVM_N_FIELDS },
   { CUI_NEWVM_VNC_ENABLED, CUI_NEWVM_VNC_PORT, CUI_NEWVM_VNC_PASSWORD, CUI_NEWVM_N_FIELDS },
   { CUI_NEWVM_N_FIELDS },
};

static size_t
n_page_fields(guint page)
{
   size_t n = 0;
   while (page_fields[page][n] != CUI_NEWVM_N_FIELDS) {
      n++;
   }
   return n;
}

static void
fill_summary(VmwsNewVmAssistant *a)
{
   cui_newvm *m = a->model;
   GString *s = g_string_new(NULL);
   char *vmx = cui_newvm_vmx_path(m);
   const char *gid = cui_newvm_get(m, CUI_NEWVM_GUEST_OS);
   const cui_newvm_guest_os *g = cui_newvm_guest_os_find(gid);
   g_string_append_printf(s, "Name: %s\n", cui_newvm_get(m, CUI_NEWVM_NAME));
   g_string_append_printf(s, "Configuration file: %s\n", vmx);
   g_string_append_printf(s, "Guest operating system: %s\n", g ? g->name : gid);
   g_string_append_printf(s, "Processors: %s\n", cui_newvm_get(m, CUI_NEWVM_CPUS));
   g_string_append_printf(s, "Memory: %s MB\n", cui_newvm_get(m, CUI_NEWVM_MEMORY));
   g_string_append_printf(s, "Monitor mode: %s\n", cui_newvm_get(m, CUI_NEWVM_MONITOR));
   const char *iso = cui_newvm_get(m, CUI_NEWVM_ISO);
   if (*iso) {
      g_string_append_printf(s, "CD/DVD image: %s\n", iso);
   }
   const char *kernel = cui_newvm_get(m, CUI_NEWVM_KERNEL);
   if (*kernel) {
      g_string_append_printf(s, "Linux kernel: %s\n", kernel);
      const char *initrd = cui_newvm_get(m, CUI_NEWVM_INITRD);
      if (*initrd) {
         g_string_append_printf(s, "Initial RAM disk: %s\n", initrd);
      }
      g_string_append_printf(s, "Kernel command line: %s\n", cui_newvm_get(m, CUI_NEWVM_CMDLINE));
   }
   const char *disk = cui_newvm_get(m, CUI_NEWVM_DISK);
   if (*disk) {
      g_string_append_printf(s, "Hard disk: %s (%s)\n", disk, cui_newvm_get(m, CUI_NEWVM_DISK_BUS));
   }
   if (cui_newvm_same(m, CUI_NEWVM_VNC_ENABLED, "true")) {
      g_string_append_printf(s, "VNC: port %s\n", cui_newvm_get(m, CUI_NEWVM_VNC_PORT));
   } else {
      g_string_append(s, "VNC: off\n");
   }
   g_string_append(s, "Serial port 1: the guest's output goes to serial0.log in the virtual "
                      "machine's folder");
   gtk_label_set_text(a->summary_label, s->str);
   g_string_free(s, TRUE);
   g_free(vmx);

   GPtrArray *issues = cui_newvm_check_all(m);
   GString *w = g_string_new(NULL);
   for (guint i = 0; i < issues->len; i++) {
      cui_newvm_issue *is = g_ptr_array_index(issues, i);
      g_string_append_printf(w, "%s%s", w->len ? "\n" : "", is->message);
   }
   gtk_label_set_text(a->warnings_label, w->str);
   gtk_widget_set_visible(GTK_WIDGET(a->warnings_label), w->len > 0);
   g_string_free(w, TRUE);
   g_ptr_array_unref(issues);
}

static void
update_page(VmwsNewVmAssistant *a)
{
   gtk_stack_set_visible_child_name(a->pages, page_names[a->page]);
   GtkStackPage *p = gtk_stack_get_page(a->pages, gtk_stack_get_visible_child(a->pages));
   gtk_label_set_text(a->page_title, gtk_stack_page_get_title(p));
   char *step = g_strdup_printf("Step %u of %u", a->page + 1, (unsigned)N_PAGES);
   gtk_label_set_text(a->step_label, step);
   g_free(step);
   cui_newvm_severity sev =
      vmws_form_check(a->form, page_fields[a->page], n_page_fields(a->page));
   gboolean last = a->page == N_PAGES - 1;
   gtk_widget_set_sensitive(a->back_button, a->page > 0);
   gtk_widget_set_visible(a->next_button, !last);
   gtk_widget_set_sensitive(a->next_button, sev != CUI_NEWVM_ERROR);
   gtk_widget_set_sensitive(a->finish_button, cui_newvm_valid(a->model));
   char *folder = cui_newvm_folder(a->model);
   char *text = g_strdup_printf("The virtual machine's files go in %s", folder);
   gtk_label_set_text(a->folder_info, text);
   g_free(text);
   g_free(folder);
   if (last) {
      fill_summary(a);
   }
}

static void
on_field_changed(cui_newvm_field f, void *user)
{
   VmwsNewVmAssistant *a = user;
   if (f == CUI_NEWVM_GUEST_OS) {
      /* The guest's recommended memory, as VMware's wizard does. */
      cui_newvm_apply_guest_defaults(a->model);
      vmws_form_refresh(a->form);
   }
   gtk_widget_set_visible(GTK_WIDGET(a->error_label), FALSE);
   update_page(a);
}

static void
on_back(GtkButton *b, gpointer data)
{
   VmwsNewVmAssistant *a = data;
   if (a->page > 0) {
      a->page--;
      update_page(a);
   }
}

static void
on_next(GtkButton *b, gpointer data)
{
   VmwsNewVmAssistant *a = data;
   if (a->page + 1 < N_PAGES &&
       vmws_form_check(a->form, page_fields[a->page], n_page_fields(a->page)) !=
          CUI_NEWVM_ERROR) {
      a->page++;
      update_page(a);
   }
}

static void
on_finish(GtkButton *b, gpointer data)
{
   VmwsNewVmAssistant *a = data;
   char *vmx = NULL, *err = NULL;
   if (cui_newvm_write(a->model, vmws_library_inventory(a->library), &vmx, &err) < 0) {
      /* Stay open: the user can go back and change what the message names. */
      a->page = N_PAGES - 1;
      update_page(a);
      char *text = g_strdup_printf("The virtual machine was not created:\n%s", err);
      gtk_label_set_text(a->error_label, text);
      gtk_widget_set_visible(GTK_WIDGET(a->error_label), TRUE);
      g_free(text);
      g_free(err);
      return;
   }
   VmwsVm *vm = vmws_library_reload_and_find(a->library, vmx);
   g_free(vmx);
   g_object_ref(a);
   if (vm) {
      g_signal_emit(a, signals[SIG_CREATED], 0, vm);
   }
   gtk_window_destroy(GTK_WINDOW(a));
   g_object_unref(a);
}

static void
on_cancel(GtkButton *b, gpointer data)
{
   gtk_window_destroy(GTK_WINDOW(data));
}

static void
on_browse(GtkButton *b, gpointer data)
{
   VmwsNewVmAssistant *a = data;
   GtkWidget *w = GTK_WIDGET(b);
   if (w == a->location_browse) {
      vmws_form_browse(GTK_WINDOW(a), a->location_entry, TRUE, "Location");
   } else if (w == a->iso_browse) {
      vmws_form_browse(GTK_WINDOW(a), a->iso_entry, FALSE, "CD/DVD image");
   } else if (w == a->kernel_browse) {
      vmws_form_browse(GTK_WINDOW(a), a->kernel_entry, FALSE, "Linux kernel");
   } else if (w == a->initrd_browse) {
      vmws_form_browse(GTK_WINDOW(a), a->initrd_entry, FALSE, "Initial RAM disk");
   } else if (w == a->disk_browse) {
      vmws_form_browse(GTK_WINDOW(a), a->disk_entry, FALSE, "Virtual disk");
   }
}

/* The drop-downs' values and what they show. */
static void
bind_dropdowns(VmwsNewVmAssistant *a)
{
   size_t n;
   const cui_newvm_guest_os *list = cui_newvm_guest_os_list(&n);
   const char **ids = g_new0(const char *, n + 1), **names = g_new0(const char *, n + 1);
   for (size_t i = 0; i < n; i++) {
      ids[i] = list[i].id;
      names[i] = list[i].name;
   }
   vmws_form_bind_dropdown(a->form, CUI_NEWVM_GUEST_OS, a->guest_dropdown, ids, names,
                           a->guest_issue);
   g_free(ids);
   g_free(names);
   static const char *const mon_v[] = { "automatic", "hardware", "software", NULL };
   static const char *const mon_l[] = { "Automatic", "Hardware (KVM)", "Software", NULL };
   vmws_form_bind_dropdown(a->form, CUI_NEWVM_MONITOR, a->monitor_dropdown, mon_v, mon_l,
                           a->monitor_issue);
   static const char *const entry_v[] = { "auto", "linux", "pvh", "multiboot", NULL };
   static const char *const entry_l[] = { "Automatic", "Linux boot protocol", "PVH",
                                          "Multiboot", NULL };
   vmws_form_bind_dropdown(a->form, CUI_NEWVM_ENTRY, a->entry_dropdown, entry_v, entry_l,
                           a->entry_issue);
   static const char *const bus_v[] = { "scsi", "sata", NULL };
   static const char *const bus_l[] = { "SCSI (scsi0:0)", "SATA (sata0:0)", NULL };
   vmws_form_bind_dropdown(a->form, CUI_NEWVM_DISK_BUS, a->diskbus_dropdown, bus_v, bus_l,
                           a->diskbus_issue);
}

GtkWidget *
vmws_newvm_assistant_new(GtkWindow *parent, VmwsLibrary *library)
{
   VmwsNewVmAssistant *a = g_object_new(VMWS_TYPE_NEWVM_ASSISTANT, "transient-for", parent,
                                        NULL);
   a->library = g_object_ref(library);
   a->model = cui_newvm_new();
   cui_newvm_apply_guest_defaults(a->model);
   a->form = vmws_form_new(a->model, on_field_changed, a);
   vmws_form_bind_entry(a->form, CUI_NEWVM_NAME, a->name_entry, a->name_issue);
   vmws_form_bind_entry(a->form, CUI_NEWVM_LOCATION, a->location_entry, a->location_issue);
   vmws_form_bind_entry(a->form, CUI_NEWVM_CPUS, a->cpus_entry, a->cpus_issue);
   vmws_form_bind_entry(a->form, CUI_NEWVM_MEMORY, a->memory_entry, a->memory_issue);
   vmws_form_bind_entry(a->form, CUI_NEWVM_ISO, a->iso_entry, a->iso_issue);
   vmws_form_bind_entry(a->form, CUI_NEWVM_KERNEL, a->kernel_entry, a->kernel_issue);
   vmws_form_bind_entry(a->form, CUI_NEWVM_INITRD, a->initrd_entry, a->initrd_issue);
   vmws_form_bind_entry(a->form, CUI_NEWVM_CMDLINE, a->cmdline_entry, a->cmdline_issue);
   vmws_form_bind_entry(a->form, CUI_NEWVM_DISK, a->disk_entry, a->disk_issue);
   vmws_form_bind_check(a->form, CUI_NEWVM_VNC_ENABLED, a->vnc_check, a->vnc_issue);
   vmws_form_bind_entry(a->form, CUI_NEWVM_VNC_PORT, a->vncport_entry, a->vncport_issue);
   vmws_form_bind_entry(a->form, CUI_NEWVM_VNC_PASSWORD, a->vncpassword_entry,
                        a->vncpassword_issue);
   bind_dropdowns(a);
   a->page = 0;
   update_page(a);
   gtk_widget_grab_focus(GTK_WIDGET(a->name_entry));
   return GTK_WIDGET(a);
}

static void
vmws_newvm_assistant_dispose(GObject *obj)
{
   VmwsNewVmAssistant *a = VMWS_NEWVM_ASSISTANT(obj);
   g_clear_pointer(&a->form, vmws_form_free);
   g_clear_pointer(&a->model, cui_newvm_free);
   g_clear_object(&a->library);
   gtk_widget_dispose_template(GTK_WIDGET(obj), VMWS_TYPE_NEWVM_ASSISTANT);
   G_OBJECT_CLASS(vmws_newvm_assistant_parent_class)->dispose(obj);
}

static void
vmws_newvm_assistant_class_init(VmwsNewVmAssistantClass *klass)
{
   GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
   G_OBJECT_CLASS(klass)->dispose = vmws_newvm_assistant_dispose;
   signals[SIG_CREATED] = g_signal_new("created", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 1, VMWS_TYPE_VM);
   gtk_widget_class_set_template_from_resource(
      wc, "/org/vmws/Workstation/ui/vmws-newvm-assistant.ui");
#define CHILD(n) gtk_widget_class_bind_template_child(wc, VmwsNewVmAssistant, n)
   CHILD(pages);
   CHILD(page_title);
   CHILD(step_label);
   CHILD(cancel_button);
   CHILD(back_button);
   CHILD(next_button);
   CHILD(finish_button);
   CHILD(name_entry);
   CHILD(location_entry);
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
   CHILD(location_issue);
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
   CHILD(folder_info);
   CHILD(summary_label);
   CHILD(warnings_label);
   CHILD(error_label);
   CHILD(location_browse);
   CHILD(iso_browse);
   CHILD(kernel_browse);
   CHILD(initrd_browse);
   CHILD(disk_browse);
#undef CHILD
}

static void
vmws_newvm_assistant_init(VmwsNewVmAssistant *a)
{
   gtk_widget_init_template(GTK_WIDGET(a));
   g_signal_connect(a->back_button, "clicked", G_CALLBACK(on_back), a);
   g_signal_connect(a->next_button, "clicked", G_CALLBACK(on_next), a);
   g_signal_connect(a->finish_button, "clicked", G_CALLBACK(on_finish), a);
   g_signal_connect(a->cancel_button, "clicked", G_CALLBACK(on_cancel), a);
   GtkWidget *browse[] = { a->location_browse, a->iso_browse, a->kernel_browse,
                           a->initrd_browse, a->disk_browse };
   for (size_t i = 0; i < G_N_ELEMENTS(browse); i++) {
      g_signal_connect(browse[i], "clicked", G_CALLBACK(on_browse), a);
   }
}
