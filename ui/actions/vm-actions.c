/*
 * ui/actions/vm-actions.c - the library actions of the main window.
 */
#include "ui/actions/vm-actions.h"
#include "ui/vmws-error-dialog.h"
#include "ui/vmws-newvm-assistant.h"
#include "ui/vmws-settings-dialog.h"

static void
on_created(VmwsNewVmAssistant *a, VmwsVm *vm, gpointer data)
{
   vmws_window_select_vm(VMWS_WINDOW(data), vm);
}

static void
on_new_vm(GSimpleAction *action, GVariant *param, gpointer data)
{
   VmwsWindow *win = data;
   GtkWidget *a = vmws_newvm_assistant_new(GTK_WINDOW(win), vmws_window_get_library(win));
   g_signal_connect_object(a, "created", G_CALLBACK(on_created), win, 0);
   gtk_window_present(GTK_WINDOW(a));
}

VmwsVm *
vmws_vm_actions_open_path(VmwsWindow *win, const char *path)
{
   GError *e = NULL;
   gboolean added = FALSE;
   VmwsVm *vm = vmws_library_open(vmws_window_get_library(win), path, &added, &e);
   if (!vm) {
      vmws_error_dialog_show(GTK_WINDOW(win), "Cannot open the virtual machine", e->message,
                             "Choose the virtual machine's configuration file (.vmx), or the "
                             "folder that holds it.");
      g_error_free(e);
      return NULL;
   }
   vmws_window_select_vm(win, vm);
   return vm;
}

static void
on_open_response(GtkNativeDialog *d, int response, gpointer data)
{
   VmwsWindow *win = data;
   if (response == GTK_RESPONSE_ACCEPT) {
      GFile *f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(d));
      char *path = f ? g_file_get_path(f) : NULL;
      if (path) {
         vmws_vm_actions_open_path(win, path);
      }
      g_free(path);
      g_clear_object(&f);
   }
   gtk_native_dialog_destroy(d);
   g_object_unref(d);
   g_object_unref(win);
}

static void
on_open_vm(GSimpleAction *action, GVariant *param, gpointer data)
{
   VmwsWindow *win = data;
   GtkFileChooserNative *d = gtk_file_chooser_native_new(
      "Open a Virtual Machine", GTK_WINDOW(win), GTK_FILE_CHOOSER_ACTION_OPEN, "_Open", "_Cancel");
   GtkFileFilter *vmx = gtk_file_filter_new();
   gtk_file_filter_set_name(vmx, "Virtual machines (*.vmx)");
   gtk_file_filter_add_pattern(vmx, "*.vmx");
   gtk_file_filter_add_pattern(vmx, "*.VMX");
   gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(d), vmx);
   g_object_unref(vmx);
   GtkFileFilter *all = gtk_file_filter_new();
   gtk_file_filter_set_name(all, "All files");
   gtk_file_filter_add_pattern(all, "*");
   gtk_file_chooser_add_filter(GTK_FILE_CHOOSER(d), all);
   g_object_unref(all);
   gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(d), TRUE);
   g_signal_connect(d, "response", G_CALLBACK(on_open_response), g_object_ref(win));
   gtk_native_dialog_show(GTK_NATIVE_DIALOG(d));
}

static void
on_settings_saved(VmwsSettingsDialog *d, gpointer data)
{
   /* The name may have changed: the library shows the .vmx's. */
   vmws_library_refresh(vmws_window_get_library(VMWS_WINDOW(data)));
}

static void
on_settings(GSimpleAction *action, GVariant *param, gpointer data)
{
   VmwsWindow *win = data;
   VmwsVm *vm = vmws_window_get_vm(win);
   if (!vm) {
      return;
   }
   GError *e = NULL;
   GtkWidget *d = vmws_settings_dialog_new(GTK_WINDOW(win), vm, &e);
   if (!d) {
      char *title = g_strdup_printf("Cannot edit the settings of “%s”", vmws_vm_get_name(vm));
      vmws_error_dialog_show(GTK_WINDOW(win), title, e->message,
                             "Correct the line the message names in the .vmx file with a text "
                             "editor, then try again.");
      g_free(title);
      g_error_free(e);
      return;
   }
   g_signal_connect_object(d, "saved", G_CALLBACK(on_settings_saved), win, 0);
   gtk_window_present(GTK_WINDOW(d));
}

static void
on_remove(GSimpleAction *action, GVariant *param, gpointer data)
{
   VmwsWindow *win = data;
   VmwsVm *vm = vmws_window_get_vm(win);
   if (!vm) {
      return;
   }
   GError *e = NULL;
   g_object_ref(vm);
   if (!vmws_library_remove(vmws_window_get_library(win), vm, &e)) {
      char *title =
         g_strdup_printf("Cannot remove “%s” from the library", vmws_vm_get_name(vm));
      vmws_error_dialog_show(GTK_WINDOW(win), title, e->message, NULL);
      g_free(title);
      g_error_free(e);
   }
   g_object_unref(vm);
}

void
vmws_vm_actions_add(VmwsWindow *win)
{
   static const GActionEntry entries[] = {
      { .name = "new-vm", .activate = on_new_vm },
      { .name = "open-vm", .activate = on_open_vm },
      { .name = "settings", .activate = on_settings },
      { .name = "remove-vm", .activate = on_remove },
   };
   g_action_map_add_action_entries(G_ACTION_MAP(win), entries, G_N_ELEMENTS(entries), win);
   vmws_vm_actions_update(win);
}

void
vmws_vm_actions_update(VmwsWindow *win)
{
   VmwsVm *vm = vmws_window_get_vm(win);
   GAction *a = g_action_map_lookup_action(G_ACTION_MAP(win), "settings");
   g_simple_action_set_enabled(G_SIMPLE_ACTION(a), vm && !vmws_vm_get_problem(vm));
   a = g_action_map_lookup_action(G_ACTION_MAP(win), "remove-vm");
   g_simple_action_set_enabled(G_SIMPLE_ACTION(a), vm != NULL);
}
