/*
 * ui/actions/power-actions.c - the power actions of the main window.
 */
#include "ui/actions/power-actions.h"
#include "ui/vmws-error-dialog.h"

#include <string.h>

/* "power on", "shut down", ... for "Cannot %s “NAME”". */
static const char *
op_verb(cui_power_op op)
{
   switch (op) {
   case CUI_POWER_ON: return "power on";
   case CUI_POWER_SHUTDOWN: return "shut down";
   case CUI_POWER_OFF: return "power off";
   case CUI_POWER_SUSPEND: return "suspend";
   case CUI_POWER_RESUME: return "resume";
   case CUI_POWER_RESET: return "reset";
   case CUI_POWER_PAUSE: return "pause";
   case CUI_POWER_UNPAUSE: return "unpause";
   default: return "change the power state of";
   }
}

/* What to do, and the state the VM is left in. */
static char *
op_hint(VmwsVm *vm, cui_power_op op)
{
   char *dir = g_path_get_dirname(vmws_vm_get_path(vm));
   char *log = g_build_filename(dir, "vmware.log", NULL);
   char *state = g_ascii_strdown(vmws_vm_get_state_label(vm), -1);
   char *hint;
   switch (op) {
   case CUI_POWER_ON:
   case CUI_POWER_RESUME:
      hint = g_strdup_printf("The virtual machine is %s. Correct what the message names (VM ▸ "
                             "Settings… for the virtual machine's own settings), then power it "
                             "on again. The log has the details: %s",
                             state, log);
      break;
   case CUI_POWER_SHUTDOWN:
      hint = g_strdup_printf("The virtual machine is %s. If the guest does not respond to the "
                             "shutdown request, use Power Off to stop it at once. The log has "
                             "the details: %s",
                             state, log);
      break;
   case CUI_POWER_SUSPEND:
      hint = g_strdup_printf("The virtual machine is %s and nothing was saved. To stop it, shut "
                             "down the guest or power it off instead. The log has the details: "
                             "%s",
                             state, log);
      break;
   default:
      hint = g_strdup_printf("The virtual machine is %s. The log has the details: %s", state,
                             log);
      break;
   }
   g_free(state);
   g_free(log);
   g_free(dir);
   return hint;
}

static void
show_failure(VmwsWindow *win, VmwsVm *vm, cui_power_op op, const char *error)
{
   char *title = g_strdup_printf("Cannot %s “%s”", op_verb(op), vmws_vm_get_name(vm));
   char *hint = op_hint(vm, op);
   vmws_error_dialog_show(GTK_WINDOW(win), title, error, hint);
   g_free(hint);
   g_free(title);
}

static void
on_op_finished(VmwsVm *vm, int op, gboolean ok, const char *error, gpointer data)
{
   VmwsWindow *win = data;
   g_signal_handlers_disconnect_by_func(vm, on_op_finished, win);
   if (!ok) {
      show_failure(win, vm, (cui_power_op)op, error);
   } else if ((op == CUI_POWER_ON || op == CUI_POWER_RESUME) && vmws_window_get_vm(win) == vm) {
      vmws_window_show_page(win, "console");
   }
   vmws_window_update(win);
}

static void
on_power(GSimpleAction *action, GVariant *param, gpointer data)
{
   VmwsWindow *win = data;
   VmwsVm *vm = vmws_window_get_vm(win);
   cui_power_op op;
   if (!vm || !cui_power_op_from_name(g_action_get_name(G_ACTION(action)), &op)) {
      return;
   }
   GError *e = NULL;
   g_signal_connect_object(vm, "op-finished", G_CALLBACK(on_op_finished), win, 0);
   if (!vmws_vm_start(vm, op, &e)) {
      g_signal_handlers_disconnect_by_func(vm, on_op_finished, win);
      show_failure(win, vm, op, e->message);
      g_error_free(e);
   }
   vmws_window_update(win);
}

static void
on_ctrl_alt_del(GSimpleAction *action, GVariant *param, gpointer data)
{
   VmwsWindow *win = data;
   VmwsVm *vm = vmws_window_get_vm(win);
   if (!vmws_console_send_ctrl_alt_del(vmws_window_get_console(win)) && vm) {
      char *title = g_strdup_printf("Cannot send Ctrl+Alt+Del to “%s”", vmws_vm_get_name(vm));
      vmws_error_dialog_show(GTK_WINDOW(win), title, "the console is not connected",
                             "Power on the virtual machine and wait for its screen to appear.");
      g_free(title);
   }
}

void
vmws_power_actions_add(VmwsWindow *win)
{
   for (int i = 0; i < CUI_POWER_N_OPS; i++) {
      GSimpleAction *a = g_simple_action_new(cui_power_op_name((cui_power_op)i), NULL);
      g_signal_connect(a, "activate", G_CALLBACK(on_power), win);
      g_action_map_add_action(G_ACTION_MAP(win), G_ACTION(a));
      g_object_unref(a);
   }
   GSimpleAction *cad = g_simple_action_new("send-ctrl-alt-del", NULL);
   g_signal_connect(cad, "activate", G_CALLBACK(on_ctrl_alt_del), win);
   g_action_map_add_action(G_ACTION_MAP(win), G_ACTION(cad));
   g_object_unref(cad);
   vmws_power_actions_update(win);
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
vmws_power_actions_update(VmwsWindow *win)
{
   VmwsVm *vm = vmws_window_get_vm(win);
   for (int i = 0; i < CUI_POWER_N_OPS; i++) {
      enable(win, cui_power_op_name((cui_power_op)i), vm && vmws_vm_can(vm, (cui_power_op)i));
   }
   enable(win, "send-ctrl-alt-del",
          vm && vmws_console_get_connected(vmws_window_get_console(win)) &&
             !strcmp(vmws_vm_get_power_state(vm), "poweredOn"));
}
