/*
 * vmx/main/machine-guest.h - what a machine with a guest image has besides RAM
 * and the monitor: the PC platform (its devices in their init order), the
 * boot image and the way it gets loaded and reloaded at reset.
 */
#ifndef VMX_MACHINE_GUEST_H
#define VMX_MACHINE_GUEST_H

#include "vmm/monitor.h"
#include "vmx/config.h"
#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct vmx_machine_guest vmx_machine_guest;

/* Read the guest image settings. *out is NULL (and true returned) when the
 * config names no guest image: the machine is idle. ram is the memfd
 * mapping, laid out as vmx/boot/boot.h describes. */
bool vmx_machine_guest_create(const vmxcfg *cfg, const char *vmx_dir, vmm_kind kind, void *ram,
                              uint64_t ram_size, unsigned ncpus, vmx_machine_guest **out,
                              char **err);
/* The same without loading the image or setting a boot state: for a
 * resume, where RAM and vCPUs come from the checkpoint (reset loads the
 * image as usual). */
bool vmx_machine_guest_create_unbooted(const vmxcfg *cfg, const char *vmx_dir, vmm_kind kind,
                                       void *ram, uint64_t ram_size, unsigned ncpus,
                                       bool continuing, vmx_machine_guest **out, char **err);
/* True when the config names a guest image. */
bool vmx_machine_guest_wanted(const vmxcfg *cfg);
void vmx_machine_guest_destroy(vmx_machine_guest *g);
vmx_platform *vmx_machine_guest_platform(vmx_machine_guest *g);
const char *vmx_machine_guest_kind(vmx_machine_guest *g);
/* Map RAM into the monitor, connect interrupts, load the image and set the
 * bootstrap vCPU's state. */
bool vmx_machine_guest_attach(vmx_machine_guest *g, vmm_vm *vm, vmm_vcpu *bsp, char **err);
/* Before the monitor is destroyed (its vCPU threads have stopped). */
void vmx_machine_guest_detach(vmx_machine_guest *g);
/* After RAM was cleared: reset devices, load the image again, reset the
 * bootstrap vCPU's state (the others wait for INIT). */
bool vmx_machine_guest_reset(vmx_machine_guest *g, vmm_vcpu *const *cpus, unsigned n,
                             char **err);
/* The userspace interrupt controllers (an intc*), NULL under KVM. */
void *vmx_machine_guest_intc(vmx_machine_guest *g);
/* Press the ACPI power button; false when the platform has none. */
bool vmx_machine_guest_power_button(vmx_machine_guest *g);

#endif
