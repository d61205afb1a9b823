/*
 * vmx/main/machine.h - the virtual machine the vmx runs: guest RAM, the monitor
 * and its vCPU threads, and the PC platform around them.
 *
 * vmx_hw_config_read() validates the hardware part of the config (every
 * error names the key). vmx_machine_create() allocates guest RAM in a memfd
 * (so the MKS, checkpoint and DMA can map it), builds the platform, and,
 * when a guest image is configured, chooses a monitor, loads the image and
 * starts one thread per vCPU. Without a guest image the machine is "idle":
 * powered on, RAM allocated, no guest code.
 *
 * The machine reports what the guest does (power off, reset, triple fault,
 * monitor errors) through the event callback, always on the thread whose
 * GMainContext was current at creation (the vmx main thread).
 */
#ifndef VMX_MACHINE_H
#define VMX_MACHINE_H

#include "vmx/ckpt/ckpt-file.h"
#include "vmx/config.h"
#include "vmx/monitor-mode.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct vmx_machine vmx_machine;

typedef struct vmx_hw_config {
   uint64_t memsize_mb;
   unsigned numvcpus;
   const char *monitor_requested;   /* hardware | software | automatic */
   bool triple_fault_reset;         /* cpu.tripleFault: reset (default) or poweroff */
   bool soft_translate;             /* monitor.soft.translate (default TRUE) */
} vmx_hw_config;

typedef enum vmx_machine_event {
   VMX_EV_GUEST_POWEROFF,   /* the guest powered off (ACPI S5) */
   VMX_EV_GUEST_RESET,      /* the guest reset the machine; already done */
   VMX_EV_FATAL,            /* the machine cannot go on; power off */
} vmx_machine_event;

typedef void (*vmx_machine_event_fn)(void *opaque, vmx_machine_event ev, const char *why);

/* Validate the hardware settings of cfg into hw. Errors name the key. */
bool vmx_hw_config_read(const vmxcfg *cfg, vmx_hw_config *hw, char **err);

vmx_machine *vmx_machine_create(const vmx_hw_config *hw, const vmxcfg *cfg,
                                const char *vmx_dir, vmx_machine_event_fn ev, void *opaque,
                                char **err);
/* For a resume: the same without loading the guest image, and with every
 * vCPU parked before it runs any guest code (restore, then unpause).
 * continuing: the checkpoint goes on with the run the devices' outputs
 * recorded (the VM's own suspend; see vmx_platform_set_continuing), not
 * a snapshot's earlier point. */
vmx_machine *vmx_machine_create_paused(const vmx_hw_config *hw, const vmxcfg *cfg,
                                       const char *vmx_dir, bool continuing,
                                       vmx_machine_event_fn ev, void *opaque, char **err);
void vmx_machine_destroy(vmx_machine *m);

/* Checkpoint: write the paused machine's sections (its CPUs, devices, RAM
 * and SVGA memory; the layout is in machine.c) into w. Nothing of the
 * machine changes. */
bool vmx_machine_save(vmx_machine *m, ckpt_file_writer *w, ckpt_file_progress_fn progress,
                      void *ud, char **err);
/* Load them into a machine made by vmx_machine_create_paused() from the
 * same configuration. On failure the machine is half restored: destroy
 * it. RAM is mapped from the file lazily (see ckpt_file_restore_memory). */
bool vmx_machine_restore(vmx_machine *m, ckpt_file *f, ckpt_file_progress_fn progress, void *ud,
                         char **err);
/* What the machine runs: "idle" or the boot method. */
const char *vmx_machine_kind(const vmx_machine *m);
/* The monitor choice ("" for an idle machine). */
const vmx_monitor_choice *vmx_machine_monitor(const vmx_machine *m);
int vmx_machine_ram_fd(const vmx_machine *m);
/* The platform (NULL for an idle machine). */
struct vmx_platform *vmx_machine_platform(const vmx_machine *m);
void *vmx_machine_ram(const vmx_machine *m, uint64_t *size);

/* Stop every vCPU at an instruction boundary / let them run again. */
int vmx_machine_pause(vmx_machine *m, char **err);
int vmx_machine_unpause(vmx_machine *m, char **err);
/* A hard reset: vCPUs stopped, devices reset, RAM cleared and the guest
 * image loaded again, vCPUs restarted. */
int vmx_machine_reset(vmx_machine *m, char **err);
/* Ask the guest to shut down (ACPI power button). Returns false when no
 * guest OS can act on it, so the caller powers off directly. */
bool vmx_machine_request_shutdown(vmx_machine *m);

/* Host memory limit for guest RAM, in MiB. */
uint64_t vmx_host_memory_mb(void);

#endif
