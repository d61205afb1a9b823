/*
 * vmx/machine.h - the virtual machine the vmx runs: guest RAM, vCPUs and
 * the platform around them.
 *
 * vmx_machine_create() validates the hardware part of the config (every
 * error names the key) and allocates guest RAM in a memfd so that the MKS,
 * checkpoint and DMA can map it. Until a guest image is configured and a
 * monitor runs it, the machine is "idle": powered on, RAM allocated, no
 * guest code.
 */
#ifndef VMX_MACHINE_H
#define VMX_MACHINE_H

#include "vmx/config.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct vmx_machine vmx_machine;

typedef struct vmx_hw_config {
   uint64_t memsize_mb;
   unsigned numvcpus;
   const char *monitor_requested;   /* hardware | software | automatic */
} vmx_hw_config;

/* Validate the hardware settings of cfg into hw. Errors name the key. */
bool vmx_hw_config_read(const vmxcfg *cfg, vmx_hw_config *hw, char **err);

vmx_machine *vmx_machine_create(const vmx_hw_config *hw, char **err);
void vmx_machine_destroy(vmx_machine *m);
/* What the machine runs: "idle" or the boot method. */
const char *vmx_machine_kind(const vmx_machine *m);
int vmx_machine_ram_fd(const vmx_machine *m);
void *vmx_machine_ram(const vmx_machine *m, uint64_t *size);

int vmx_machine_pause(vmx_machine *m, char **err);
int vmx_machine_unpause(vmx_machine *m, char **err);
int vmx_machine_reset(vmx_machine *m, char **err);
/* Ask the guest to shut down (ACPI power button). Returns false when no
 * guest OS can act on it, so the caller powers off directly. */
bool vmx_machine_request_shutdown(vmx_machine *m);

/* Host memory limit for guest RAM, in MiB. */
uint64_t vmx_host_memory_mb(void);

#endif
