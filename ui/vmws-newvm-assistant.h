/*
 * ui/vmws-newvm-assistant.h - VmwsNewVmAssistant: the "New Virtual
 * Machine" assistant over the new-VM model (cui/newvm.h): name and
 * location, guest OS and hardware, boot media (CD/DVD image, Linux kernel
 * with initrd and command line, existing disk), remote display; each
 * field's check shows under it as it is typed; Finish writes the .vmx and
 * adds the VM to the library.
 *
 * Signal "created" (VmwsVm *vm) when the VM is made.
 */
#ifndef VMWS_NEWVM_ASSISTANT_H
#define VMWS_NEWVM_ASSISTANT_H

#include "ui/vmws-library.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define VMWS_TYPE_NEWVM_ASSISTANT (vmws_newvm_assistant_get_type())
G_DECLARE_FINAL_TYPE(VmwsNewVmAssistant, vmws_newvm_assistant, VMWS, NEWVM_ASSISTANT, GtkWindow)

GtkWidget *vmws_newvm_assistant_new(GtkWindow *parent, VmwsLibrary *library);

G_END_DECLS

#endif
