/*
 * ui/vmws-summary.h - VmwsSummary: the summary page of a VM: its state,
 * hardware (processors, memory, guest OS, boot media, disks, serial
 * ports), remote display and monitor mode, and its configuration file.
 */
#ifndef VMWS_SUMMARY_H
#define VMWS_SUMMARY_H

#include "ui/vmws-vm.h"

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define VMWS_TYPE_SUMMARY (vmws_summary_get_type())
G_DECLARE_FINAL_TYPE(VmwsSummary, vmws_summary, VMWS, SUMMARY, GtkBox)

void vmws_summary_set_vm(VmwsSummary *s, VmwsVm *vm);

G_END_DECLS

#endif
