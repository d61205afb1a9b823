/*
 * ui/vmws-settings-dialog.h - VmwsSettingsDialog: the settings of an
 * existing VM (cui/settings.h and cui/serialports.h): name, processors,
 * memory, guest OS, boot media, serial ports, VNC and monitor mode, each
 * checked as it is typed. Settings that need the VM powered off are
 * locked (with the reason) while it is not. Save writes only what
 * changed, on a worker thread.
 */
#ifndef VMWS_SETTINGS_DIALOG_H
#define VMWS_SETTINGS_DIALOG_H

#include "ui/vmws-vm.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define VMWS_TYPE_SETTINGS_DIALOG (vmws_settings_dialog_get_type())
G_DECLARE_FINAL_TYPE(VmwsSettingsDialog, vmws_settings_dialog, VMWS, SETTINGS_DIALOG, GtkWindow)

/* NULL with error when the .vmx cannot be read. */
GtkWidget *vmws_settings_dialog_new(GtkWindow *parent, VmwsVm *vm, GError **error);

G_END_DECLS

#endif
