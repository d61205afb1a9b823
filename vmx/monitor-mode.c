/*
 * vmx/monitor-mode.c - choosing the monitor that runs a VM.
 */
#include "vmx/monitor-mode.h"
#include "vmx/vmxlog.h"

#include <glib.h>
#include <string.h>

static bool
software_built(char *why, size_t n)
{
   vmm_config cfg = { .kind = VMM_KIND_SOFTWARE, .nvcpus = 1 };
   vmm_vm *vm = vmm_vm_create(&cfg, why, n);
   if (!vm) {
      return false;
   }
   vmm_vm_destroy(vm);
   return true;
}

bool
vmx_monitor_choose(const char *requested, vmx_monitor_choice *c, char **err)
{
   memset(c, 0, sizeof *c);
   c->probe_ns = -1;
   c->hardware_allowed = vmm_kvm_check(c->hardware_why, sizeof c->hardware_why) == 0;
   c->software_allowed = software_built(c->software_why, sizeof c->software_why);
   g_snprintf(c->allowed, sizeof c->allowed, "%s%s%s", c->hardware_allowed ? "hardware" : "",
              c->hardware_allowed && c->software_allowed ? "," : "",
              c->software_allowed ? "software" : "");
   vmxlog("MONITOR MODE: allowed modes          : %s",
          c->allowed[0] ? c->allowed : "(none)");
   if (!c->hardware_allowed) {
      vmxlog("MONITOR MODE: hardware not allowed    : %s", c->hardware_why);
   }
   if (!c->software_allowed) {
      vmxlog("MONITOR MODE: software not allowed    : %s", c->software_why);
   }
   vmxlog("MONITOR MODE: user requested modes   : %s", requested);

   if (!strcmp(requested, "hardware")) {
      if (!c->hardware_allowed) {
         *err = g_strdup_printf("monitor.virtual_exec = \"hardware\": this host cannot run it: %s",
                                c->hardware_why);
         return false;
      }
      c->chosen = VMM_KIND_HARDWARE;
   } else if (!strcmp(requested, "software")) {
      if (!c->software_allowed) {
         *err = g_strdup_printf("monitor.virtual_exec = \"software\": %s", c->software_why);
         return false;
      }
      c->chosen = VMM_KIND_SOFTWARE;
   } else {
      if (!c->hardware_allowed && !c->software_allowed) {
         *err = g_strdup_printf("no monitor can run this virtual machine: hardware: %s; "
                                "software: %s",
                                c->hardware_why, c->software_why);
         return false;
      }
      bool native = false;
      if (c->hardware_allowed) {
         char why[256] = "";
         if (vmm_kvm_probe_native(&c->probe_ns, why, sizeof why) == 0) {
            native = c->probe_ns <= VMM_KVM_NATIVE_NS_MAX;
            vmxlog("MONITOR MODE: probe                  : kernel-mode guest code at %.1f ns "
                   "per instruction under KVM (%s)",
                   c->probe_ns, native ? "native" : "emulated by this host's KVM");
         } else {
            vmxlog("MONITOR MODE: probe failed           : %s", why);
         }
      }
      if (native || !c->software_allowed) {
         c->chosen = VMM_KIND_HARDWARE;
         if (!native) {
            vmxlog("MONITOR MODE: warning                : KVM does not run kernel-mode code "
                   "natively here and no software monitor is available; using KVM (slow)");
         }
      } else {
         c->chosen = VMM_KIND_SOFTWARE;
      }
   }
   vmxlog("MONITOR MODE: chosen                 : %s", vmm_kind_name(c->chosen));
   return true;
}
