/*
 * ui/vmws-statusbar.h - VmwsStatusbar: the window's status bar: the
 * operation in progress, a hint (how to release the console's grab), the
 * selected VM's power state, monitor mode and VNC address.
 */
#ifndef VMWS_STATUSBAR_H
#define VMWS_STATUSBAR_H

#include "ui/vmws-vm.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define VMWS_TYPE_STATUSBAR (vmws_statusbar_get_type())
G_DECLARE_FINAL_TYPE(VmwsStatusbar, vmws_statusbar, VMWS, STATUSBAR, GtkBox)

/* Follow vm (NULL: none selected). */
void vmws_statusbar_set_vm(VmwsStatusbar *sb, VmwsVm *vm);
/* The hint on the left ("Press Ctrl+Alt to release the mouse and
 * keyboard"); NULL or "" hides it. */
void vmws_statusbar_set_hint(VmwsStatusbar *sb, const char *hint);
const char *vmws_statusbar_get_hint(VmwsStatusbar *sb);

G_END_DECLS

#endif
