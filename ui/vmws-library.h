/*
 * ui/vmws-library.h - VmwsLibrary: the user's VM library (cui/inventory.h)
 * as a GListModel of VmwsVm, in the library's order (the VMs of folders in
 * place of their folder).
 */
#ifndef VMWS_LIBRARY_H
#define VMWS_LIBRARY_H

#include "ui/vmws-vm.h"

#include <gio/gio.h>

G_BEGIN_DECLS

#define VMWS_TYPE_LIBRARY (vmws_library_get_type())
G_DECLARE_FINAL_TYPE(VmwsLibrary, vmws_library, VMWS, LIBRARY, GObject)

/* The library remembered at path (NULL: the user's default file). */
VmwsLibrary *vmws_library_new(const char *path);

/* Lines of the library file that were skipped, and why (may be empty). */
const char *const *vmws_library_warnings(VmwsLibrary *lib);

/* "Open a virtual machine": a .vmx or a folder holding one (as VMware
 * Workstation keeps a VM). Returns the VM (new or already there; not a new
 * reference) or NULL with error. */
VmwsVm *vmws_library_open(VmwsLibrary *lib, const char *path, gboolean *added, GError **error);
/* Add a VM made just now (the new-VM assistant writes it and adds it to
 * the inventory file itself: this reads the file again). */
VmwsVm *vmws_library_reload_and_find(VmwsLibrary *lib, const char *vmx_path);
/* Take a VM out of the library (its files stay). */
gboolean vmws_library_remove(VmwsLibrary *lib, VmwsVm *vm, GError **error);
/* Read each VM's .vmx again (names, missing files). */
void vmws_library_refresh(VmwsLibrary *lib);

/* Position of vm, or G_MAXUINT. */
guint vmws_library_position(VmwsLibrary *lib, VmwsVm *vm);
VmwsVm *vmws_library_find_path(VmwsLibrary *lib, const char *vmx_path);

/* The inventory file's path. */
const char *vmws_library_path(VmwsLibrary *lib);
/* The cui inventory (for the new-VM writer). */
struct cui_inventory *vmws_library_inventory(VmwsLibrary *lib);

G_END_DECLS

#endif
