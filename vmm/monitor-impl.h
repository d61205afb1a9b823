/*
 * vmm/monitor-impl.h - private: what a monitor implementation provides to the
 * dispatcher in vmm/monitor.c. Not for the vmx; it includes vmm/monitor.h.
 *
 * The dispatcher owns the common parts: argument checks, the memory slot
 * table (vmm_vm_gpa_to_hva), the vCPU table and the stop requests. Each
 * implementation embeds struct vmm_vm / struct vmm_vcpu as the first member
 * of its own structures (sized by vm_size / vcpu_size; the dispatcher
 * allocates them zeroed, 64-byte aligned) and fills in a struct vmm_impl.
 */
#ifndef VMM_MONITOR_IMPL_H
#define VMM_MONITOR_IMPL_H

#include "vmm/monitor.h"

#include <pthread.h>
#include <stdatomic.h>

#define VMM_MAX_SLOTS 64

typedef struct vmm_slot {
   uint64_t gpa, size;
   void *host;
   bool readonly;
   bool used;
} vmm_slot;

struct vmm_vm {
   const struct vmm_impl *impl;
   vmm_kind kind;
   unsigned nvcpus;
   const vmm_io_ops *io;
   void *io_opaque;
   const vmm_irqchip_ops *irqchip;  /* kernel_irqchip = false only */
   void *irqchip_opaque;
   _Atomic(vmm_vcpu *) vcpus[VMM_MAX_VCPUS];

   pthread_rwlock_t slot_lock;
   vmm_slot slots[VMM_MAX_SLOTS];   /* index = implementation slot id */
};

struct vmm_vcpu {
   const struct vmm_impl *impl;
   vmm_vm *vm;
   unsigned index;
   atomic_bool stop_requested;      /* set by kick, cleared by run */
};

struct vmm_impl {
   const char *name;
   size_t vm_size, vcpu_size;

   /* vm_init fills its part of *vm (base already set) or returns -errno and
    * writes err; on failure nothing needs undoing. vm_fini undoes vm_init
    * after every vCPU went through vcpu_fini. */
   int (*vm_init)(vmm_vm *vm, const vmm_config *cfg, char *err, size_t errlen);
   void (*vm_fini)(vmm_vm *vm);

   /* Slot changes, after the dispatcher checked them (aligned, no overlap,
    * slot id free / in use). */
   int (*map)(vmm_vm *vm, unsigned slot, uint64_t gpa, void *host, uint64_t size,
              bool readonly);
   int (*unmap)(vmm_vm *vm, unsigned slot);

   int (*irq_line)(vmm_vm *vm, unsigned gsi, bool level);
   int (*msi)(vmm_vm *vm, uint64_t addr, uint32_t data);
   int (*nmi)(vmm_vm *vm, vmm_vcpu *cpu);
   /* Optional (NULL: nothing to do). notify_write: a device wrote guest RAM.
    * vcpu_interrupt: a userspace irqchip event for cpu (async-signal-safe). */
   void (*notify_write)(vmm_vm *vm, uint64_t gpa, uint64_t len);
   void (*vcpu_interrupt)(vmm_vcpu *cpu);
   /* The in-kernel PIC/IOAPIC and PIT (monitor.h). set is called after the
    * dispatcher checked every field. NULL (the software monitor, whose
    * chips are the platform's userspace devices): -ENOTSUP. */
   int (*get_irqchip)(vmm_vm *vm, vmm_irqchip_state *s);
   int (*set_irqchip)(vmm_vm *vm, const vmm_irqchip_state *s);
   int (*get_pit)(vmm_vm *vm, vmm_pit_state *s);
   int (*set_pit)(vmm_vm *vm, const vmm_pit_state *s);

   int (*vcpu_init)(vmm_vcpu *cpu, char *err, size_t errlen);
   void (*vcpu_fini)(vmm_vcpu *cpu);
   /* Make a running vCPU notice cpu->stop_requested soon (async-signal-safe). */
   void (*vcpu_kick)(vmm_vcpu *cpu);
   int (*vcpu_run)(vmm_vcpu *cpu, vmm_exit *exit);

   int (*get_regs)(vmm_vcpu *cpu, vmm_regs *r);
   int (*set_regs)(vmm_vcpu *cpu, const vmm_regs *r);
   int (*get_sregs)(vmm_vcpu *cpu, vmm_sregs *s);
   int (*set_sregs)(vmm_vcpu *cpu, const vmm_sregs *s);
   int (*get_fpu)(vmm_vcpu *cpu, vmm_fpu *f);
   int (*set_fpu)(vmm_vcpu *cpu, const vmm_fpu *f);
   int (*get_msrs)(vmm_vcpu *cpu, vmm_msr *msrs, unsigned n);
   int (*set_msrs)(vmm_vcpu *cpu, const vmm_msr *msrs, unsigned n);
   int (*get_lapic)(vmm_vcpu *cpu, vmm_lapic *l);
   int (*set_lapic)(vmm_vcpu *cpu, const vmm_lapic *l);
   int (*get_events)(vmm_vcpu *cpu, vmm_events *e);
   int (*set_events)(vmm_vcpu *cpu, const vmm_events *e);
   int (*get_mp_state)(vmm_vcpu *cpu, vmm_mp_state *st);
   int (*set_mp_state)(vmm_vcpu *cpu, vmm_mp_state st);
   int (*get_debugregs)(vmm_vcpu *cpu, vmm_debugregs *d);
   int (*set_debugregs)(vmm_vcpu *cpu, const vmm_debugregs *d);
   int (*set_cpuid)(vmm_vcpu *cpu, const vmm_cpuid_entry *e, unsigned n);
   int (*get_cpuid)(vmm_vcpu *cpu, vmm_cpuid_entry *e, unsigned max, unsigned *n);
};

/* ---- the implementations -------------------------------------------------
 * Every monitor the build contains is listed here and in impl_for() in
 * vmm/monitor.c. The software monitor (vmm/soft) registers by defining
 * vmm_soft_impl and exporting its library as `vmm_soft_impl_dep` from
 * vmm/soft/meson.build; vmm/meson.build then compiles monitor.c with
 * -DVMM_HAVE_SOFT (see the comment there). */
extern const struct vmm_impl vmm_kvm_impl;
#ifdef VMM_HAVE_SOFT
extern const struct vmm_impl vmm_soft_impl;
#endif

/* Helpers for implementations. */

/* The io callbacks with the defaults of monitor.h (all-ones reads). */
void vmm_io_pio_read(vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t *val);
void vmm_io_pio_write(vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t val);
void vmm_io_mmio_read(vmm_vcpu *cpu, uint64_t gpa, unsigned size, uint64_t *val);
void vmm_io_mmio_write(vmm_vcpu *cpu, uint64_t gpa, unsigned size, uint64_t val);

static inline bool vmm_stop_pending(vmm_vcpu *cpu)
{
   return atomic_load_explicit(&cpu->stop_requested, memory_order_acquire);
}

/* Consumes a stop request: true when there was one. */
static inline bool vmm_stop_take(vmm_vcpu *cpu)
{
   return atomic_exchange_explicit(&cpu->stop_requested, false, memory_order_acq_rel);
}

/* snprintf into exit->msg and set the reason; returns 0 for convenience. */
int vmm_exit_set(vmm_exit *exit, vmm_exit_reason reason, const char *fmt, ...)
   __attribute__((format(printf, 3, 4)));

#endif
