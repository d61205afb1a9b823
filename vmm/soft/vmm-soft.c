/*
 * vmm/soft/vmm-soft.c - the software monitor: vmm_soft_impl, the monitor
 * interface (vmm/monitor-impl.h) on top of the interpreter (soft.h).
 *
 * One soft_cpu per vCPU, run on the thread that calls vmm_vcpu_run(); one
 * soft_mem per VM holding the memory slots. Port I/O and MMIO go straight
 * to the platform's vmm_io_ops from inside the interpreter. There is no
 * in-kernel irqchip: with a userspace irqchip (vmm_config.irqchip) the
 * interpreter's interrupt line, NMI input, INIT/SIPI, CR8 and the APIC MSRs
 * are wired to it; the platform's wakeup calls vmm_vcpu_interrupt(), which
 * makes the vCPU poll the irqchip at its next instruction boundary.
 *
 * Stop requests: vmm_vcpu_kick() sets stop_requested (dispatcher) and the
 * interpreter's kick bit, which ends soft_cpu_run() at the next boundary
 * (waking it from HLT); run returns VMM_EXIT_STOP when stop_requested was
 * set, and goes on otherwise (a kick left over from an earlier request).
 */
#include "vmm/monitor-impl.h"
#include "vmm/soft/soft.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct soft_vm {
   vmm_vm base;
   soft_mem *mem;
   bool interpret_only;
} soft_vm;

typedef struct soft_vcpu {
   vmm_vcpu base;
   soft_cpu *cpu;
   soft_io io;
   bool ran;
} soft_vcpu;

static inline soft_vm *svm(vmm_vm *vm)
{
   return (soft_vm *)vm;
}

static inline soft_vcpu *svcpu(vmm_vcpu *cpu)
{
   return (soft_vcpu *)cpu;
}

static void seterr(char *err, size_t errlen, const char *fmt, ...)
   __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
   va_list ap;

   if (!err || !errlen) {
      return;
   }
   va_start(ap, fmt);
   vsnprintf(err, errlen, fmt, ap);
   va_end(ap);
}

/* ---- the interpreter's callbacks ----------------------------------------------- */

static void cb_pio_read(void *o, soft_cpu *c, uint16_t port, unsigned size, uint32_t *val)
{
   (void)c;
   vmm_io_pio_read(&((soft_vcpu *)o)->base, port, size, val);
}

static void cb_pio_write(void *o, soft_cpu *c, uint16_t port, unsigned size, uint32_t val)
{
   (void)c;
   vmm_io_pio_write(&((soft_vcpu *)o)->base, port, size, val);
}

static void cb_mmio_read(void *o, soft_cpu *c, uint64_t gpa, unsigned size, uint64_t *val)
{
   (void)c;
   vmm_io_mmio_read(&((soft_vcpu *)o)->base, gpa, size, val);
}

static void cb_mmio_write(void *o, soft_cpu *c, uint64_t gpa, unsigned size, uint64_t val)
{
   (void)c;
   vmm_io_mmio_write(&((soft_vcpu *)o)->base, gpa, size, val);
}

static const vmm_irqchip_ops *irqchip_of(soft_vcpu *v, void **opaque)
{
   *opaque = v->base.vm->irqchip_opaque;
   return v->base.vm->irqchip;
}

/* The interrupt line follows "the irqchip has a vector for this vCPU":
 * cleared first, then re-checked, so a wakeup racing with this is never
 * lost (the wakeup sets the line again through vmm_vcpu_interrupt). */
static void refresh_line(soft_vcpu *v)
{
   void *op;
   const vmm_irqchip_ops *ic = irqchip_of(v, &op);

   soft_cpu_set_irq(v->cpu, false);
   if (ic->pending(op, v->base.index) >= 0) {
      soft_cpu_set_irq(v->cpu, true);
   }
}

static int cb_intr_ack(void *o, soft_cpu *c)
{
   soft_vcpu *v = o;
   void *op;
   const vmm_irqchip_ops *ic = irqchip_of(v, &op);
   int vec;

   (void)c;
   if (!ic) {
      soft_cpu_set_irq(v->cpu, false);
      return -1;
   }
   vec = ic->ack(op, v->base.index);
   refresh_line(v);
   return vec;
}

static void cb_poll(void *o, soft_cpu *c)
{
   soft_vcpu *v = o;
   void *op;
   const vmm_irqchip_ops *ic = irqchip_of(v, &op);
   unsigned idx = v->base.index, ev;

   if (!ic) {
      return;
   }
   ev = ic->events ? ic->events(op, idx) : 0;
   if ((ev & VMM_IRQCHIP_EV_INIT) && ic->take_init && ic->take_init(op, idx)) {
      soft_cpu_init(c, idx == 0);
   }
   if ((ev & VMM_IRQCHIP_EV_SIPI) && ic->take_sipi) {
      uint8_t vector;

      if (ic->take_sipi(op, idx, &vector)) {
         soft_cpu_sipi(c, vector);   /* ignored unless waiting for one */
      }
   }
   if ((ev & VMM_IRQCHIP_EV_NMI) && ic->take_nmi && ic->take_nmi(op, idx)) {
      soft_cpu_nmi(c);
   }
   refresh_line(v);
}

static bool irqchip_msr(uint32_t msr)
{
   return msr == 0x1b || msr == 0x6e0 || (msr >= 0x800 && msr <= 0x8ff);
}

static int cb_msr_read(void *o, soft_cpu *c, uint32_t msr, uint64_t *val)
{
   soft_vcpu *v = o;
   void *op;
   const vmm_irqchip_ops *ic = irqchip_of(v, &op);

   (void)c;
   if (!ic || !irqchip_msr(msr)) {
      return -1;
   }
   return ic->msr_read && ic->msr_read(op, v->base.index, msr, val) ? 1 : 0;
}

static int cb_msr_write(void *o, soft_cpu *c, uint32_t msr, uint64_t val)
{
   soft_vcpu *v = o;
   void *op;
   const vmm_irqchip_ops *ic = irqchip_of(v, &op);
   uint64_t tsc = 0;

   if (!ic || !irqchip_msr(msr)) {
      return -1;
   }
   soft_get_msr(c, 0x10, &tsc);
   return ic->msr_write && ic->msr_write(op, v->base.index, msr, val, tsc) ? 1 : 0;
}

static uint64_t cb_cr8_read(void *o, soft_cpu *c)
{
   soft_vcpu *v = o;
   void *op;
   const vmm_irqchip_ops *ic = irqchip_of(v, &op);

   (void)c;
   return ic->get_cr8(op, v->base.index);
}

static void cb_cr8_write(void *o, soft_cpu *c, uint64_t val)
{
   soft_vcpu *v = o;
   void *op;
   const vmm_irqchip_ops *ic = irqchip_of(v, &op);

   (void)c;
   ic->set_cr8(op, v->base.index, val);
}

/* ---- VMs ------------------------------------------------------------------------ */

static int soft_vm_init(vmm_vm *base, const vmm_config *cfg, char *err, size_t errlen)
{
   soft_vm *vm = svm(base);

   if (cfg->kernel_irqchip) {
      seterr(err, errlen, "the software monitor has no in-kernel irqchip "
             "(kernel_irqchip must be false; the platform's controllers go in irqchip)");
      return -EINVAL;
   }
   if (cfg->nvcpus > SOFT_MAX_CPUS) {
      seterr(err, errlen, "the software monitor runs at most %u vCPUs, %u asked",
             SOFT_MAX_CPUS, cfg->nvcpus);
      return -EINVAL;
   }
   vm->interpret_only = cfg->soft_interpret_only;
   vm->mem = soft_mem_new();
   if (!vm->mem) {
      seterr(err, errlen, "out of memory creating the software monitor");
      return -ENOMEM;
   }
   return 0;
}

static void soft_vm_fini(vmm_vm *base)
{
   soft_mem_free(svm(base)->mem);
}

static int soft_map(vmm_vm *base, unsigned slot, uint64_t gpa, void *host, uint64_t size,
                    bool readonly)
{
   (void)slot;
   return soft_mem_map(svm(base)->mem, gpa, host, size, readonly);
}

static int soft_unmap(vmm_vm *base, unsigned slot)
{
   return soft_mem_unmap(svm(base)->mem, base->slots[slot].gpa, base->slots[slot].size);
}

static void soft_notify_write(vmm_vm *base, uint64_t gpa, uint64_t len)
{
   soft_mem_notify_write(svm(base)->mem, gpa, len);
}

static int soft_irq_line(vmm_vm *base, unsigned gsi, bool level)
{
   (void)base;
   (void)gsi;
   (void)level;
   return -ENOTSUP;   /* no in-kernel irqchip: the platform routes GSIs itself */
}

static int soft_msi(vmm_vm *base, uint64_t addr, uint32_t data)
{
   (void)base;
   (void)addr;
   (void)data;
   return -ENOTSUP;
}

static int soft_nmi(vmm_vm *base, vmm_vcpu *cpu)
{
   (void)base;
   soft_cpu_nmi(svcpu(cpu)->cpu);
   return 0;
}

/* ---- vCPUs ---------------------------------------------------------------------- */

static int soft_vcpu_init(vmm_vcpu *base, char *err, size_t errlen)
{
   soft_vcpu *v = svcpu(base);
   soft_vm *vm = svm(base->vm);
   const vmm_irqchip_ops *ic = base->vm->irqchip;
   vmm_cpuid_entry e[VMM_CPUID_MAX_ENTRIES];
   unsigned n;

   v->io = (soft_io){
      .opaque = v,
      .pio_read = cb_pio_read, .pio_write = cb_pio_write,
      .mmio_read = cb_mmio_read, .mmio_write = cb_mmio_write,
      .intr_ack = cb_intr_ack, .poll = cb_poll,
      .msr_read = cb_msr_read, .msr_write = cb_msr_write,
      .cr8_read = ic && ic->get_cr8 ? cb_cr8_read : NULL,
      .cr8_write = ic && ic->set_cr8 ? cb_cr8_write : NULL,
   };
   v->cpu = soft_cpu_new(vm->mem, &v->io, base->index);
   if (!v->cpu) {
      seterr(err, errlen, "out of memory creating vCPU %u", base->index);
      return -ENOMEM;
   }
   soft_cpu_set_user(v->cpu, v);
   soft_cpu_set_options(v->cpu, &(soft_options){
      .hlt_if_off_sleeps = ic != NULL,
      .translate = vm->interpret_only ? SOFT_TRANSLATE_OFF : 0,
   });
   n = soft_cpuid_model(e, VMM_CPUID_MAX_ENTRIES, base->index, ic != NULL);
   soft_set_cpuid(v->cpu, e, n);
   /* Application processors wait for INIT and a startup IPI, as under KVM. */
   if (base->index != 0) {
      soft_cpu_set_mp_state(v->cpu, VMM_MP_WAIT_INIT);
   }
   soft_cpu_notify(v->cpu);   /* look at the irqchip on the first run */
   return 0;
}

static void soft_vcpu_fini(vmm_vcpu *base)
{
   soft_cpu_free(svcpu(base)->cpu);
}

static void soft_vcpu_kick(vmm_vcpu *base)
{
   soft_cpu_kick(svcpu(base)->cpu);
}

static void soft_vcpu_interrupt(vmm_vcpu *base)
{
   soft_cpu_notify(svcpu(base)->cpu);
}

static int soft_vcpu_run(vmm_vcpu *base, vmm_exit *exit)
{
   soft_vcpu *v = svcpu(base);
   soft_exit ex;

   v->ran = true;
   if (vmm_stop_take(base)) {
      return vmm_exit_set(exit, VMM_EXIT_STOP, "stop requested");
   }
   for (;;) {
      soft_cpu_run(v->cpu, 0, &ex);
      switch (ex.reason) {
      case SOFT_EXIT_STOP:
         if (vmm_stop_take(base)) {
            return vmm_exit_set(exit, VMM_EXIT_STOP, "stop requested");
         }
         continue;   /* a kick whose request an earlier run already took */
      case SOFT_EXIT_SHUTDOWN:
         return vmm_exit_set(exit, VMM_EXIT_SHUTDOWN, "%s", ex.msg);
      case SOFT_EXIT_HALT:
         return vmm_exit_set(exit, VMM_EXIT_HALT, "%s", ex.msg);
      case SOFT_EXIT_ERROR:
         return vmm_exit_set(exit, VMM_EXIT_ERROR, "%s", ex.msg);
      default:
         return vmm_exit_set(exit, VMM_EXIT_ERROR, "the interpreter stopped for reason %d: %s",
                             (int)ex.reason, ex.msg);
      }
   }
}

/* ---- state ------------------------------------------------------------------------ */

static int soft_get_regs_(vmm_vcpu *base, vmm_regs *r)
{
   soft_get_regs(svcpu(base)->cpu, r);
   return 0;
}

static int soft_set_regs_(vmm_vcpu *base, const vmm_regs *r)
{
   soft_set_regs(svcpu(base)->cpu, r);
   return 0;
}

static int soft_get_sregs_(vmm_vcpu *base, vmm_sregs *s)
{
   soft_vcpu *v = svcpu(base);
   void *op;
   const vmm_irqchip_ops *ic = irqchip_of(v, &op);

   soft_get_sregs(v->cpu, s);
   if (ic && ic->msr_read) {
      uint64_t b;

      if (ic->msr_read(op, base->index, 0x1b, &b)) {
         s->apic_base = b;
      }
   }
   return 0;
}

static int soft_set_sregs_(vmm_vcpu *base, const vmm_sregs *s)
{
   soft_vcpu *v = svcpu(base);
   void *op;
   const vmm_irqchip_ops *ic = irqchip_of(v, &op);
   int r = soft_set_sregs(v->cpu, s);

   if (r == 0 && ic && ic->msr_write) {
      uint64_t cur = 0, tsc = 0;

      soft_get_msr(v->cpu, 0x10, &tsc);
      if ((!ic->msr_read || !ic->msr_read(op, base->index, 0x1b, &cur) || cur != s->apic_base) &&
          !ic->msr_write(op, base->index, 0x1b, s->apic_base, tsc)) {
         return -EINVAL;
      }
      soft_cpu_notify(v->cpu);
   }
   return r;
}

static int soft_get_fpu_(vmm_vcpu *base, vmm_fpu *f)
{
   soft_get_fpu(svcpu(base)->cpu, f);
   return 0;
}

static int soft_set_fpu_(vmm_vcpu *base, const vmm_fpu *f)
{
   return soft_set_fpu(svcpu(base)->cpu, f);
}

static int soft_get_msrs(vmm_vcpu *base, vmm_msr *msrs, unsigned n)
{
   for (unsigned i = 0; i < n; i++) {
      int r = soft_get_msr(svcpu(base)->cpu, msrs[i].index, &msrs[i].value);

      if (r < 0) {
         return r;
      }
   }
   return 0;
}

static int soft_set_msrs(vmm_vcpu *base, const vmm_msr *msrs, unsigned n)
{
   for (unsigned i = 0; i < n; i++) {
      int r = soft_set_msr(svcpu(base)->cpu, msrs[i].index, msrs[i].value);

      if (r < 0) {
         return r;
      }
   }
   return 0;
}

static int soft_get_lapic(vmm_vcpu *base, vmm_lapic *l)
{
   void *op;
   const vmm_irqchip_ops *ic = irqchip_of(svcpu(base), &op);

   if (!ic || !ic->get_lapic) {
      return -ENOTSUP;
   }
   return ic->get_lapic(op, base->index, l);
}

static int soft_set_lapic(vmm_vcpu *base, const vmm_lapic *l)
{
   void *op;
   const vmm_irqchip_ops *ic = irqchip_of(svcpu(base), &op);
   int r;

   if (!ic || !ic->set_lapic) {
      return -ENOTSUP;
   }
   r = ic->set_lapic(op, base->index, l);
   soft_cpu_notify(svcpu(base)->cpu);
   return r;
}

static int soft_get_events_(vmm_vcpu *base, vmm_events *e)
{
   soft_get_events(svcpu(base)->cpu, e);
   return 0;
}

static int soft_set_events_(vmm_vcpu *base, const vmm_events *e)
{
   return soft_set_events(svcpu(base)->cpu, e);
}

static int soft_get_mp_state(vmm_vcpu *base, vmm_mp_state *st)
{
   *st = soft_cpu_mp_state(svcpu(base)->cpu);
   return 0;
}

static int soft_set_mp_state(vmm_vcpu *base, vmm_mp_state st)
{
   soft_cpu_set_mp_state(svcpu(base)->cpu, st);
   soft_cpu_notify(svcpu(base)->cpu);
   return 0;
}

static int soft_get_debugregs_(vmm_vcpu *base, vmm_debugregs *d)
{
   soft_get_debugregs(svcpu(base)->cpu, d);
   return 0;
}

static int soft_set_debugregs_(vmm_vcpu *base, const vmm_debugregs *d)
{
   soft_set_debugregs(svcpu(base)->cpu, d);
   return 0;
}

static int soft_set_cpuid_(vmm_vcpu *base, const vmm_cpuid_entry *e, unsigned n)
{
   if (svcpu(base)->ran) {
      return -EBUSY;   /* as under KVM: fixed once the vCPU ran */
   }
   return soft_set_cpuid(svcpu(base)->cpu, e, n);
}

static int soft_get_cpuid_(vmm_vcpu *base, vmm_cpuid_entry *e, unsigned max, unsigned *n)
{
   *n = soft_get_cpuid(svcpu(base)->cpu, e, max);
   return *n > max ? -ENOSPC : 0;
}

const struct vmm_impl vmm_soft_impl = {
   .name = "soft",
   .vm_size = sizeof(soft_vm),
   .vcpu_size = sizeof(soft_vcpu),
   .vm_init = soft_vm_init,
   .vm_fini = soft_vm_fini,
   .map = soft_map,
   .unmap = soft_unmap,
   .irq_line = soft_irq_line,
   .msi = soft_msi,
   .nmi = soft_nmi,
   .notify_write = soft_notify_write,
   .vcpu_interrupt = soft_vcpu_interrupt,
   .vcpu_init = soft_vcpu_init,
   .vcpu_fini = soft_vcpu_fini,
   .vcpu_kick = soft_vcpu_kick,
   .vcpu_run = soft_vcpu_run,
   .get_regs = soft_get_regs_,
   .set_regs = soft_set_regs_,
   .get_sregs = soft_get_sregs_,
   .set_sregs = soft_set_sregs_,
   .get_fpu = soft_get_fpu_,
   .set_fpu = soft_set_fpu_,
   .get_msrs = soft_get_msrs,
   .set_msrs = soft_set_msrs,
   .get_lapic = soft_get_lapic,
   .set_lapic = soft_set_lapic,
   .get_events = soft_get_events_,
   .set_events = soft_set_events_,
   .get_mp_state = soft_get_mp_state,
   .set_mp_state = soft_set_mp_state,
   .get_debugregs = soft_get_debugregs_,
   .set_debugregs = soft_set_debugregs_,
   .set_cpuid = soft_set_cpuid_,
   .get_cpuid = soft_get_cpuid_,
};
