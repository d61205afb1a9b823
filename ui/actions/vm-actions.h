/*
 * ui/actions/vm-actions.h - the window's library actions: win.new-vm (the
 * assistant), win.open-vm (a .vmx, or a VM's folder as VMware Workstation
 * makes them), win.settings (the selected VM's settings) and
 * win.remove-vm (take it out of the library; its files stay).
 */
#ifndef VMWS_VM_ACTIONS_H
#define VMWS_VM_ACTIONS_H

#include "ui/vmws-window.h"

void vmws_vm_actions_add(VmwsWindow *win);
void vmws_vm_actions_update(VmwsWindow *win);

/* Open path (a .vmx or a folder with one) into the library and select it;
 * a failure shows the error dialog. */
VmwsVm *vmws_vm_actions_open_path(VmwsWindow *win, const char *path);

#endif
