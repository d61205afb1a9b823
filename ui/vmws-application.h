/*
 * ui/vmws-application.h - VmwsApplication: the vmws application
 * (org.vmws.Workstation): the user's VM library, the main window, the menu
 * bar and the application's actions; "vmws PATH..." opens .vmx files or
 * VM folders into the library.
 */
#ifndef VMWS_APPLICATION_H
#define VMWS_APPLICATION_H

#include "ui/vmws-library.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define VMWS_APP_ID "org.vmws.Workstation"

#define VMWS_TYPE_APPLICATION (vmws_application_get_type())
G_DECLARE_FINAL_TYPE(VmwsApplication, vmws_application, VMWS, APPLICATION, GtkApplication)

VmwsApplication *vmws_application_new(void);
VmwsLibrary *vmws_application_get_library(VmwsApplication *app);

G_END_DECLS

#endif
