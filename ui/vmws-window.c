/*
 * ui/vmws-window.c - VmwsWindow: the main window.
 *
 * The window follows the selected VM: its power state enables the power
 * actions (ui/actions/power-actions.c), its console socket connects the
 * console, and a power-on started here shows the console. Keys go to the
 * console first while it has the keyboard (a capture-phase controller on
 * the window), so the window's shortcuts do not fire then.
 */
#include "ui/vmws-window.h"
#include "ui/actions/power-actions.h"
#include "ui/actions/snapshot-actions.h"
#include "ui/actions/view-actions.h"
#include "ui/actions/vm-actions.h"
#include "ui/vmws-statusbar.h"
#include "ui/vmws-summary.h"

#include <string.h>

struct _VmwsWindow {
   GtkApplicationWindow parent;

   GtkWidget *toolbar;
   GtkWidget *paned;
   GtkWidget *sidebar;
   GtkListView *vm_list;
   GtkStack *stack;
   GtkStack *vm_stack;
   GtkWidget *switcher;
   VmwsSummary *summary;
   GtkScrolledWindow *console_scroller;
   VmwsConsole *console;
   GtkWidget *console_message_box;
   GtkLabel *console_message;
   GtkWidget *console_power_on;
   VmwsStatusbar *statusbar;
   GtkWidget *power_on_button, *resume_button, *pause_button, *unpause_button;

   VmwsLibrary *library;
   GtkSingleSelection *selection;
   VmwsVm *vm;
   gulong vm_notify_id;
   gulong vm_snapshots_id;
   gboolean fullscreen;
};

G_DEFINE_TYPE(VmwsWindow, vmws_window, GTK_TYPE_APPLICATION_WINDOW)

#define HINT_GRABBED "Press Ctrl+Alt to release the mouse and keyboard"
#define HINT_CLICK "Click in the console to send keyboard and mouse input to the virtual machine"

/* ---- following the selected VM */

static void
update_console_message(VmwsWindow *win)
{
   VmwsVm *vm = win->vm;
   gboolean connected = vmws_console_get_connected(win->console);
   gtk_widget_set_visible(win->console_message_box, !connected);
   if (connected || !vm) {
      return;
   }
   const char *st = vmws_vm_get_power_state(vm);
   const char *err = vmws_console_get_error(win->console);
   const char *sock = vmws_vm_get_console_socket(vm);
   char *text;
   if (vmws_vm_get_busy(vm)) {
      text = g_strdup(vmws_vm_get_progress(vm));
   } else if (!strcmp(st, "poweredOff")) {
      text = g_strdup("This virtual machine is powered off.");
   } else if (!strcmp(st, "suspended")) {
      text = g_strdup("This virtual machine is suspended.");
   } else if (!*sock) {
      text = g_strdup("This virtual machine has no display.");
   } else if (err) {
      text = g_strdup_printf("The console is not available: %s", err);
   } else {
      text = g_strdup("Connecting to the console…");
   }
   gtk_label_set_text(win->console_message, text);
   g_free(text);
   gtk_widget_set_visible(win->console_power_on,
                          cui_power_op_allowed(CUI_POWER_ON, st) && !vmws_vm_get_busy(vm));
}

static void
update_hint(VmwsWindow *win)
{
   const char *hint = NULL;
   if (win->vm && vmws_console_get_connected(win->console) &&
       !g_strcmp0(gtk_stack_get_visible_child_name(win->vm_stack), "console")) {
      hint = vmws_console_get_grabbed(win->console) ? HINT_GRABBED : HINT_CLICK;
   }
   vmws_statusbar_set_hint(win->statusbar, hint);
}

static void
update_toolbar(VmwsWindow *win)
{
   const char *st = win->vm ? vmws_vm_get_power_state(win->vm) : "poweredOff";
   gboolean suspended = !strcmp(st, "suspended"), paused = !strcmp(st, "paused");
   gtk_widget_set_visible(win->power_on_button, !suspended);
   gtk_widget_set_visible(win->resume_button, suspended);
   gtk_widget_set_visible(win->pause_button, !paused);
   gtk_widget_set_visible(win->unpause_button, paused);
}

static void
update_title(VmwsWindow *win)
{
   if (win->vm) {
      char *t = g_strdup_printf("%s — vmws", vmws_vm_get_name(win->vm));
      gtk_window_set_title(GTK_WINDOW(win), t);
      g_free(t);
   } else {
      gtk_window_set_title(GTK_WINDOW(win), "vmws");
   }
}

void
vmws_window_update(VmwsWindow *win)
{
   if (win->vm) {
      vmws_console_set_socket(win->console, vmws_vm_get_console_socket(win->vm));
   } else {
      vmws_console_set_socket(win->console, NULL);
   }
   vmws_power_actions_update(win);
   vmws_vm_actions_update(win);
   vmws_snapshot_actions_update(win);
   vmws_view_actions_update(win);
   update_toolbar(win);
   update_console_message(win);
   update_hint(win);
   update_title(win);
   if (!win->vm && win->fullscreen) {
      vmws_window_set_fullscreen_mode(win, FALSE);
   }
}

static void
on_vm_notify(GObject *obj, GParamSpec *pspec, gpointer data)
{
   vmws_window_update(VMWS_WINDOW(data));
}

static void
set_vm(VmwsWindow *win, VmwsVm *vm)
{
   if (win->vm == vm) {
      vmws_window_update(win);
      return;
   }
   if (win->vm) {
      g_signal_handler_disconnect(win->vm, win->vm_notify_id);
      g_signal_handler_disconnect(win->vm, win->vm_snapshots_id);
      g_clear_object(&win->vm);
   }
   if (vm) {
      win->vm = g_object_ref(vm);
      win->vm_notify_id = g_signal_connect(vm, "notify", G_CALLBACK(on_vm_notify), win);
      /* The snapshot actions follow the tree (Revert needs a current one). */
      win->vm_snapshots_id = g_signal_connect_swapped(
         vm, "snapshots-changed", G_CALLBACK(vmws_snapshot_actions_update), win);
   }
   vmws_summary_set_vm(win->summary, vm);
   vmws_statusbar_set_vm(win->statusbar, vm);
   gtk_stack_set_visible_child_name(win->stack, vm ? "vm" : "empty");
   if (vm) {
      /* A running VM opens on its screen, another on its summary. */
      vmws_window_show_page(win, *vmws_vm_get_console_socket(vm) ? "console" : "summary");
   }
   vmws_window_update(win);
}

static void
on_selection(GObject *obj, GParamSpec *pspec, gpointer data)
{
   VmwsWindow *win = data;
   set_vm(win, gtk_single_selection_get_selected_item(win->selection));
}

static void
on_console_notify(GObject *obj, GParamSpec *pspec, gpointer data)
{
   VmwsWindow *win = data;
   update_console_message(win);
   update_hint(win);
   vmws_power_actions_update(win);
}

static void
on_page(GObject *obj, GParamSpec *pspec, gpointer data)
{
   VmwsWindow *win = data;
   const char *page = gtk_stack_get_visible_child_name(win->vm_stack);
   if (g_strcmp0(page, "console") != 0) {
      vmws_console_release(win->console);
   }
   update_hint(win);
   vmws_view_actions_update(win);
}

/* ---- keys: the console first while it holds the keyboard */

static gboolean
on_key_pressed(GtkEventControllerKey *ctl, guint keyval, guint keycode, GdkModifierType state,
               gpointer data)
{
   VmwsWindow *win = data;
   return vmws_console_key_event(win->console, keyval, keycode, state, TRUE);
}

static void
on_key_released(GtkEventControllerKey *ctl, guint keyval, guint keycode, GdkModifierType state,
                gpointer data)
{
   VmwsWindow *win = data;
   vmws_console_key_event(win->console, keyval, keycode, state, FALSE);
}

/* ---- public */

VmwsWindow *
vmws_window_new(GtkApplication *app, VmwsLibrary *library)
{
   /* show-menubar is a construct property: a template cannot set it. */
   VmwsWindow *win = g_object_new(VMWS_TYPE_WINDOW, "application", app, "show-menubar", TRUE,
                                  NULL);
   win->library = g_object_ref(library);
   win->selection = gtk_single_selection_new(g_object_ref(G_LIST_MODEL(library)));
   gtk_single_selection_set_autoselect(win->selection, TRUE);
   gtk_single_selection_set_can_unselect(win->selection, FALSE);
   GtkListItemFactory *f =
      gtk_builder_list_item_factory_new_from_resource(NULL,
                                                      "/org/vmws/Workstation/ui/vmws-vm-row.ui");
   gtk_list_view_set_factory(win->vm_list, f);
   g_object_unref(f);
   gtk_list_view_set_model(win->vm_list, GTK_SELECTION_MODEL(win->selection));
   g_signal_connect(win->selection, "notify::selected-item", G_CALLBACK(on_selection), win);
   set_vm(win, gtk_single_selection_get_selected_item(win->selection));
   return win;
}

VmwsLibrary *
vmws_window_get_library(VmwsWindow *win)
{
   return win->library;
}

VmwsVm *
vmws_window_get_vm(VmwsWindow *win)
{
   return win->vm;
}

void
vmws_window_select_vm(VmwsWindow *win, VmwsVm *vm)
{
   guint pos = vm ? vmws_library_position(win->library, vm) : G_MAXUINT;
   if (pos != G_MAXUINT) {
      gtk_single_selection_set_selected(win->selection, pos);
   }
}

VmwsConsole *
vmws_window_get_console(VmwsWindow *win)
{
   return win->console;
}

void
vmws_window_show_page(VmwsWindow *win, const char *page)
{
   if (win->vm) {
      gtk_stack_set_visible_child_name(win->vm_stack, page);
   }
}

const char *
vmws_window_get_page(VmwsWindow *win)
{
   return gtk_stack_get_visible_child_name(win->vm_stack);
}

void
vmws_window_set_fullscreen_mode(VmwsWindow *win, gboolean on)
{
   on = on && win->vm;
   if (win->fullscreen == on) {
      return;
   }
   win->fullscreen = on;
   gtk_widget_set_visible(win->toolbar, !on);
   gtk_widget_set_visible(win->sidebar, !on);
   gtk_widget_set_visible(win->switcher, !on);
   gtk_widget_set_visible(GTK_WIDGET(win->statusbar), !on);
   gtk_application_window_set_show_menubar(GTK_APPLICATION_WINDOW(win), !on);
   if (on) {
      vmws_window_show_page(win, "console");
      gtk_window_fullscreen(GTK_WINDOW(win));
   } else {
      gtk_window_unfullscreen(GTK_WINDOW(win));
   }
   vmws_view_actions_update(win);
}

gboolean
vmws_window_get_fullscreen_mode(VmwsWindow *win)
{
   return win->fullscreen;
}

static void
on_fit(GObject *obj, GParamSpec *pspec, gpointer data)
{
   VmwsWindow *win = data;
   gboolean fit = vmws_console_get_fit(win->console);
   /* 1:1 pans when the guest's screen is larger than the window. */
   gtk_scrolled_window_set_policy(win->console_scroller,
                                  fit ? GTK_POLICY_NEVER : GTK_POLICY_AUTOMATIC,
                                  fit ? GTK_POLICY_NEVER : GTK_POLICY_AUTOMATIC);
   vmws_view_actions_update(win);
}

static void
vmws_window_dispose(GObject *obj)
{
   VmwsWindow *win = VMWS_WINDOW(obj);
   if (win->vm) {
      g_signal_handler_disconnect(win->vm, win->vm_notify_id);
      g_signal_handler_disconnect(win->vm, win->vm_snapshots_id);
      g_clear_object(&win->vm);
   }
   if (win->selection) {
      g_signal_handlers_disconnect_by_data(win->selection, win);
   }
   g_clear_object(&win->selection);
   g_clear_object(&win->library);
   gtk_widget_dispose_template(GTK_WIDGET(obj), VMWS_TYPE_WINDOW);
   G_OBJECT_CLASS(vmws_window_parent_class)->dispose(obj);
}

static void
vmws_window_class_init(VmwsWindowClass *klass)
{
   GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
   G_OBJECT_CLASS(klass)->dispose = vmws_window_dispose;
   g_type_ensure(VMWS_TYPE_VM);
   g_type_ensure(VMWS_TYPE_CONSOLE);
   g_type_ensure(VMWS_TYPE_SUMMARY);
   g_type_ensure(VMWS_TYPE_STATUSBAR);
   gtk_widget_class_set_template_from_resource(wc, "/org/vmws/Workstation/ui/vmws-window.ui");
   gtk_widget_class_bind_template_child(wc, VmwsWindow, toolbar);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, paned);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, sidebar);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, vm_list);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, stack);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, vm_stack);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, switcher);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, summary);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, console_scroller);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, console);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, console_message_box);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, console_message);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, console_power_on);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, statusbar);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, power_on_button);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, resume_button);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, pause_button);
   gtk_widget_class_bind_template_child(wc, VmwsWindow, unpause_button);
}

static void
vmws_window_init(VmwsWindow *win)
{
   gtk_widget_init_template(GTK_WIDGET(win));
   vmws_power_actions_add(win);
   vmws_snapshot_actions_add(win);
   vmws_vm_actions_add(win);
   vmws_view_actions_add(win);
   GtkEventController *keys = gtk_event_controller_key_new();
   gtk_event_controller_set_propagation_phase(keys, GTK_PHASE_CAPTURE);
   g_signal_connect(keys, "key-pressed", G_CALLBACK(on_key_pressed), win);
   g_signal_connect(keys, "key-released", G_CALLBACK(on_key_released), win);
   gtk_widget_add_controller(GTK_WIDGET(win), keys);
   g_signal_connect(win->console, "notify::connected", G_CALLBACK(on_console_notify), win);
   g_signal_connect(win->console, "notify::grabbed", G_CALLBACK(on_console_notify), win);
   g_signal_connect(win->console, "notify::error", G_CALLBACK(on_console_notify), win);
   g_signal_connect(win->console, "notify::fit", G_CALLBACK(on_fit), win);
   g_signal_connect(win->vm_stack, "notify::visible-child-name", G_CALLBACK(on_page), win);
}
