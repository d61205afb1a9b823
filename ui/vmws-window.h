/*
 * ui/vmws-window.h - VmwsWindow: the main window: toolbar, the VM library
 * in a sidebar, the selected VM's summary and console, status bar.
 */
#ifndef VMWS_WINDOW_H
#define VMWS_WINDOW_H

#include "ui/vmws-console.h"
#include "ui/vmws-library.h"
#include "ui/vmws-vm.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define VMWS_TYPE_WINDOW (vmws_window_get_type())
G_DECLARE_FINAL_TYPE(VmwsWindow, vmws_window, VMWS, WINDOW, GtkApplicationWindow)

VmwsWindow *vmws_window_new(GtkApplication *app, VmwsLibrary *library);

VmwsLibrary *vmws_window_get_library(VmwsWindow *win);
/* The selected VM, or NULL. */
VmwsVm *vmws_window_get_vm(VmwsWindow *win);
void vmws_window_select_vm(VmwsWindow *win, VmwsVm *vm);
VmwsConsole *vmws_window_get_console(VmwsWindow *win);

/* "summary" or "console". */
void vmws_window_show_page(VmwsWindow *win, const char *page);
const char *vmws_window_get_page(VmwsWindow *win);
/* The console alone on the whole screen. */
void vmws_window_set_fullscreen_mode(VmwsWindow *win, gboolean on);
gboolean vmws_window_get_fullscreen_mode(VmwsWindow *win);

/* Something about the selected VM or the console changed: actions,
 * toolbar, console message and status bar follow. */
void vmws_window_update(VmwsWindow *win);

G_END_DECLS

#endif
