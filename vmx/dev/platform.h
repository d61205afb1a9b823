/*
 * vmx/dev/platform.h - the PC platform: the device registry, port I/O and
 * MMIO dispatch, and interrupt routing.
 *
 * Devices are static descriptors (vmx_device_desc), instantiated in the
 * explicit order of the platform's device table. At creation a device
 * claims port and MMIO ranges with a vmx_io_region; vCPU threads dispatch
 * accesses to it through vmx_platform_io_ops. Handlers run on vCPU threads
 * (several at once with SMP) and on the main thread for save/restore and
 * reset, so each device guards its own state.
 */
#ifndef VMX_DEV_PLATFORM_H
#define VMX_DEV_PLATFORM_H

#include "vmm/monitor.h"
#include "vmx/ckpt-items.h"
#include "vmx/config.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct vmx_platform vmx_platform;

/* Access handlers: off is relative to the region base; size 1, 2, 4 or 8.
 * cpu is the vCPU doing the access (NULL for accesses made by the host,
 * e.g. tests). */
typedef uint64_t (*vmx_io_read_fn)(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size);
typedef void (*vmx_io_write_fn)(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size,
                                uint64_t val);

typedef struct vmx_io_region {
   const char *name;
   vmx_io_read_fn read;
   vmx_io_write_fn write;
   void *opaque;
} vmx_io_region;

typedef struct vmx_device_desc {
   const char *name;     /* also the checkpoint section name */
   uint32_t version;     /* of the checkpoint section */
   /* Create the device, claim its ranges. NULL with *err on failure. */
   void *(*create)(vmx_platform *p, const vmxcfg *cfg, char **err);
   void (*reset)(void *dev);
   void (*destroy)(void *dev);
   void (*save)(void *dev, ckpt_writer *w);
   /* Restore from items; false with *err when they are not acceptable. */
   bool (*restore)(void *dev, ckpt_reader *r, char **err);
} vmx_device_desc;

/* Where interrupts go when the monitor has no in-kernel irqchip. */
typedef void (*vmx_irq_sink_fn)(void *opaque, unsigned gsi, bool level);

vmx_platform *vmx_platform_new(void);
/* The devices about to be created continue the guest's run that their
 * outputs recorded so far (a resume of the VM's own suspend): a serial
 * port's log file is appended to, not emptied as at power-on or after a
 * revert to a snapshot. Set before vmx_platform_add_devices(). */
void vmx_platform_set_continuing(vmx_platform *p, bool continuing);
bool vmx_platform_continuing(const vmx_platform *p);
/* Create every device of the table in order; on failure destroy those
 * already made and return false with *err naming the device. */
bool vmx_platform_add_devices(vmx_platform *p, const vmx_device_desc *const *table, size_t n,
                              const vmxcfg *cfg, char **err);
void vmx_platform_free(vmx_platform *p);

/* Claim ranges; an overlap is refused with a message naming both. */
bool vmx_platform_map_pio(vmx_platform *p, uint16_t base, uint32_t len, const vmx_io_region *r,
                          char **err);
bool vmx_platform_map_mmio(vmx_platform *p, uint64_t base, uint64_t len,
                           const vmx_io_region *r, char **err);
void vmx_platform_unmap_pio(vmx_platform *p, uint16_t base, uint32_t len);
void vmx_platform_unmap_mmio(vmx_platform *p, uint64_t base);

/* Dispatch (what vmm_io_ops call). Unclaimed reads return all ones. */
uint64_t vmx_platform_pio_read(vmx_platform *p, vmm_vcpu *cpu, uint16_t port, unsigned size);
void vmx_platform_pio_write(vmx_platform *p, vmm_vcpu *cpu, uint16_t port, unsigned size,
                            uint64_t val);
uint64_t vmx_platform_mmio_read(vmx_platform *p, vmm_vcpu *cpu, uint64_t gpa, unsigned size);
void vmx_platform_mmio_write(vmx_platform *p, vmm_vcpu *cpu, uint64_t gpa, unsigned size,
                             uint64_t val);
/* vmm_io_ops that dispatch to a platform passed as io_opaque. */
extern const vmm_io_ops vmx_platform_io_ops;

/* Interrupts. With a vmm attached that has an in-kernel irqchip, lines go
 * to it; otherwise to the sink (the userspace PIC/IOAPIC models). */
void vmx_platform_attach_vmm(vmx_platform *p, vmm_vm *vm);
vmm_vm *vmx_platform_vmm(vmx_platform *p);
void vmx_platform_set_irq_sink(vmx_platform *p, vmx_irq_sink_fn fn, void *opaque);
void vmx_platform_set_irq(vmx_platform *p, unsigned gsi, bool level);

/* Requests devices make of the machine (reset, power off); the machine's
 * vCPU loop polls them. */
typedef enum vmx_request {
   VMX_REQ_NONE = 0,
   VMX_REQ_RESET = 1,
   VMX_REQ_POWEROFF = 2,
} vmx_request;
void vmx_platform_request(vmx_platform *p, vmx_request req, const char *why);
vmx_request vmx_platform_take_request(vmx_platform *p, char **why);

/* Reset, save and restore every device in table order. */
void vmx_platform_reset(vmx_platform *p);
/* Sections of every device, concatenated. */
GBytes *vmx_platform_save(vmx_platform *p);
/* Validate every section first; apply only if all are acceptable. */
bool vmx_platform_restore(vmx_platform *p, const void *data, size_t len, char **err);
/* The instance of a device by descriptor name, or NULL. */
void *vmx_platform_device(vmx_platform *p, const char *name);

#endif
