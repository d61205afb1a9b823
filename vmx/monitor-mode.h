/*
 * vmx/monitor-mode.h - choosing the monitor that runs a VM, as ESX does:
 * list the modes this host and build allow, apply the config's
 * monitor.virtual_exec, and for "automatic" probe whether KVM really runs
 * guest kernel-mode code natively. The choice is logged as MONITOR MODE
 * lines and published in VMDB by the caller.
 */
#ifndef VMX_MONITOR_MODE_H
#define VMX_MONITOR_MODE_H

#include "vmm/monitor.h"

#include <stdbool.h>

typedef struct vmx_monitor_choice {
   bool hardware_allowed;
   bool software_allowed;
   char hardware_why[256];   /* why hardware is not allowed */
   char software_why[256];
   double probe_ns;          /* ns per kernel-mode instruction; < 0 if not probed */
   vmm_kind chosen;
   char allowed[32];         /* "hardware,software" style, for VMDB */
} vmx_monitor_choice;

/* requested: "hardware", "software" or "automatic". Returns false with
 * *err when no allowed mode satisfies the request. Logs MONITOR MODE lines. */
bool vmx_monitor_choose(const char *requested, vmx_monitor_choice *c, char **err);

#endif
