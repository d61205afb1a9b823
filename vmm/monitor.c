/*
 * vmm/monitor.c - the monitor dispatcher: checks arguments, owns the memory
 * slot table, the vCPU table and stop requests, and forwards everything else
 * to the implementation chosen at vmm_vm_create() (struct vmm_impl).
 */
#include "vmm/monitor-impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Which implementation serves a kind. NULL: not built into this binary. */
static const struct vmm_impl *impl_for(vmm_kind kind)
{
   switch (kind) {
   case VMM_KIND_HARDWARE:
      return &vmm_kvm_impl;
   case VMM_KIND_SOFTWARE:
#ifdef VMM_HAVE_SOFT
      return &vmm_soft_impl;
#else
      return NULL;   /* vmm/soft has not registered vmm_soft_impl yet */
#endif
   }
   return NULL;
}

const char *vmm_kind_name(vmm_kind kind)
{
   switch (kind) {
   case VMM_KIND_HARDWARE: return "hardware";
   case VMM_KIND_SOFTWARE: return "software";
   }
   return "unknown";
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

int vmm_exit_set(vmm_exit *exit, vmm_exit_reason reason, const char *fmt, ...)
{
   va_list ap;

   exit->reason = reason;
   va_start(ap, fmt);
   vsnprintf(exit->msg, sizeof exit->msg, fmt, ap);
   va_end(ap);
   return 0;
}

static void *alloc_zeroed(size_t size)
{
   void *p = NULL;
   size_t rounded = (size + 63) & ~(size_t)63;

   if (posix_memalign(&p, 64, rounded) != 0) {
      return NULL;
   }
   memset(p, 0, rounded);
   return p;
}

/* ---- VMs ---------------------------------------------------------------- */

vmm_vm *vmm_vm_create(const vmm_config *cfg, char *err, size_t errlen)
{
   const struct vmm_impl *impl;
   vmm_vm *vm;
   int r;

   if (!cfg) {
      seterr(err, errlen, "no monitor configuration given");
      return NULL;
   }
   if (cfg->kind != VMM_KIND_HARDWARE && cfg->kind != VMM_KIND_SOFTWARE) {
      seterr(err, errlen, "unknown monitor kind %d", (int)cfg->kind);
      return NULL;
   }
   if (cfg->nvcpus < 1 || cfg->nvcpus > VMM_MAX_VCPUS) {
      seterr(err, errlen, "number of vCPUs %u is out of range (1-%u)", cfg->nvcpus,
             VMM_MAX_VCPUS);
      return NULL;
   }
   if (cfg->irqchip && cfg->kernel_irqchip) {
      seterr(err, errlen, "a userspace irqchip is for kernel_irqchip = false");
      return NULL;
   }
   if (cfg->irqchip && (!cfg->irqchip->pending || !cfg->irqchip->ack)) {
      seterr(err, errlen, "the userspace irqchip lacks its pending/ack functions");
      return NULL;
   }
   impl = impl_for(cfg->kind);
   if (!impl) {
      seterr(err, errlen, "%s monitor not built", vmm_kind_name(cfg->kind));
      return NULL;
   }
   vm = alloc_zeroed(impl->vm_size);
   if (!vm) {
      seterr(err, errlen, "out of memory creating the VM");
      return NULL;
   }
   vm->impl = impl;
   vm->kind = cfg->kind;
   vm->nvcpus = cfg->nvcpus;
   vm->io = cfg->io;
   vm->io_opaque = cfg->io_opaque;
   vm->irqchip = cfg->irqchip;
   vm->irqchip_opaque = cfg->irqchip_opaque;
   for (unsigned i = 0; i < VMM_MAX_VCPUS; i++) {
      atomic_init(&vm->vcpus[i], NULL);
   }
   if (pthread_rwlock_init(&vm->slot_lock, NULL) != 0) {
      seterr(err, errlen, "cannot create the memory slot lock");
      free(vm);
      return NULL;
   }
   r = impl->vm_init(vm, cfg, err, errlen);
   if (r < 0) {
      pthread_rwlock_destroy(&vm->slot_lock);
      free(vm);
      return NULL;
   }
   return vm;
}

void vmm_vm_destroy(vmm_vm *vm)
{
   if (!vm) {
      return;
   }
   for (unsigned i = 0; i < VMM_MAX_VCPUS; i++) {
      vmm_vcpu *cpu = atomic_exchange(&vm->vcpus[i], NULL);

      if (cpu) {
         vm->impl->vcpu_fini(cpu);
         free(cpu);
      }
   }
   vm->impl->vm_fini(vm);
   pthread_rwlock_destroy(&vm->slot_lock);
   free(vm);
}

vmm_kind vmm_vm_kind(const vmm_vm *vm)
{
   return vm->kind;
}

/* ---- memory ------------------------------------------------------------- */

#define GPA_LIMIT (1ull << 52)

int vmm_vm_map(vmm_vm *vm, uint64_t gpa, void *host, uint64_t size, bool readonly)
{
   int slot = -1;
   int r;

   if (!host || size == 0 || (gpa | size | (uintptr_t)host) & (VMM_PAGE_SIZE - 1)) {
      return -EINVAL;
   }
   if (gpa >= GPA_LIMIT || size > GPA_LIMIT - gpa) {
      return -EINVAL;
   }
   pthread_rwlock_wrlock(&vm->slot_lock);
   for (unsigned i = 0; i < VMM_MAX_SLOTS; i++) {
      const vmm_slot *s = &vm->slots[i];

      if (!s->used) {
         if (slot < 0) {
            slot = (int)i;
         }
         continue;
      }
      if (gpa < s->gpa + s->size && s->gpa < gpa + size) {
         pthread_rwlock_unlock(&vm->slot_lock);
         return -EEXIST;
      }
   }
   if (slot < 0) {
      pthread_rwlock_unlock(&vm->slot_lock);
      return -ENOSPC;
   }
   r = vm->impl->map(vm, (unsigned)slot, gpa, host, size, readonly);
   if (r == 0) {
      vm->slots[slot] = (vmm_slot){ .gpa = gpa, .size = size, .host = host,
                                    .readonly = readonly, .used = true };
   }
   pthread_rwlock_unlock(&vm->slot_lock);
   return r;
}

int vmm_vm_unmap(vmm_vm *vm, uint64_t gpa, uint64_t size)
{
   int r = -ENOENT;

   pthread_rwlock_wrlock(&vm->slot_lock);
   for (unsigned i = 0; i < VMM_MAX_SLOTS; i++) {
      vmm_slot *s = &vm->slots[i];

      if (s->used && s->gpa == gpa && s->size == size) {
         r = vm->impl->unmap(vm, i);
         if (r == 0) {
            memset(s, 0, sizeof *s);
         }
         break;
      }
   }
   pthread_rwlock_unlock(&vm->slot_lock);
   return r;
}

void *vmm_vm_gpa_to_hva(vmm_vm *vm, uint64_t gpa, uint64_t len)
{
   void *p = NULL;

   pthread_rwlock_rdlock(&vm->slot_lock);
   for (unsigned i = 0; i < VMM_MAX_SLOTS; i++) {
      const vmm_slot *s = &vm->slots[i];

      if (s->used && gpa >= s->gpa && gpa - s->gpa < s->size &&
          len <= s->size - (gpa - s->gpa)) {
         p = (uint8_t *)s->host + (gpa - s->gpa);
         break;
      }
   }
   pthread_rwlock_unlock(&vm->slot_lock);
   return p;
}

/* ---- interrupts and stop requests ----------------------------------------- */

#define VMM_NGSI 24

int vmm_vm_irq_line(vmm_vm *vm, unsigned gsi, bool level)
{
   if (gsi >= VMM_NGSI) {
      return -EINVAL;
   }
   return vm->impl->irq_line(vm, gsi, level);
}

int vmm_vm_msi(vmm_vm *vm, uint64_t addr, uint32_t data)
{
   if ((addr & ~0xfffffull) != 0xfee00000ull) {
      return -EINVAL;   /* MSIs write the LAPIC window; anything else is DMA */
   }
   return vm->impl->msi(vm, addr, data);
}

int vmm_vm_nmi(vmm_vm *vm, unsigned vcpu)
{
   vmm_vcpu *cpu;

   if (vcpu >= vm->nvcpus) {
      return -EINVAL;
   }
   cpu = atomic_load(&vm->vcpus[vcpu]);
   if (!cpu) {
      return -ENOENT;
   }
   return vm->impl->nmi(vm, cpu);
}

/* ---- in-kernel PIC, IOAPIC and PIT state ------------------------------------ */

static bool is_bool(uint8_t v)
{
   return v <= 1;
}

static bool pic_chip_ok(const vmm_pic_chip *c, uint8_t elcr_mask)
{
   return c->priority_add <= 7 && (c->irq_base & 7) == 0 && c->init_state <= 3 &&
          (c->elcr & ~elcr_mask) == 0 && is_bool(c->read_reg_select) && is_bool(c->poll) &&
          is_bool(c->special_mask) && is_bool(c->auto_eoi) &&
          is_bool(c->rotate_on_auto_eoi) && is_bool(c->special_fully_nested_mode) &&
          is_bool(c->init4);
}

int vmm_vm_get_irqchip(vmm_vm *vm, vmm_irqchip_state *s)
{
   if (!s) {
      return -EINVAL;
   }
   if (!vm->impl->get_irqchip) {
      return -ENOTSUP;
   }
   memset(s, 0, sizeof *s);
   return vm->impl->get_irqchip(vm, s);
}

int vmm_vm_set_irqchip(vmm_vm *vm, const vmm_irqchip_state *s)
{
   if (!s) {
      return -EINVAL;
   }
   if (!vm->impl->set_irqchip) {
      return -ENOTSUP;
   }
   if (!pic_chip_ok(&s->pic[0], VMM_PIC_ELCR_MASK_MASTER) ||
       !pic_chip_ok(&s->pic[1], VMM_PIC_ELCR_MASK_SLAVE)) {
      return -EINVAL;
   }
   if (s->ioapic.id > 15 || (s->ioapic.irr >> VMM_IOAPIC_PINS) != 0) {
      return -EINVAL;
   }
   for (unsigned i = 0; i < VMM_IOAPIC_PINS; i++) {
      if (s->ioapic.redir[i] & ~VMM_IOAPIC_REDIR_BITS) {
         return -EINVAL;
      }
   }
   return vm->impl->set_irqchip(vm, s);
}

static bool pit_channel_ok(const vmm_pit_channel *c, unsigned index)
{
   if (c->count < 1 || c->count > 0x10000 || c->count_latched > VMM_PIT_RW_WORD0 ||
       !is_bool(c->status_latched) || !is_bool(c->bcd) || !is_bool(c->gate) ||
       !is_bool(c->elapsed_known) || c->read_state > VMM_PIT_RW_WORD1 ||
       c->write_state > VMM_PIT_RW_WORD1 || c->rw_mode > VMM_PIT_RW_WORD0) {
      return false;
   }
   if (index < 2 && !c->gate) {
      return false;   /* gates 0 and 1 are tied high */
   }
   if (c->mode == VMM_PIT_MODE_NONE) {
      return c->rw_mode == 0 && c->read_state == 0 && c->write_state == 0;
   }
   return c->mode <= 5 && c->rw_mode != 0;
}

int vmm_vm_get_pit(vmm_vm *vm, vmm_pit_state *s)
{
   if (!s) {
      return -EINVAL;
   }
   if (!vm->impl->get_pit) {
      return -ENOTSUP;
   }
   memset(s, 0, sizeof *s);
   return vm->impl->get_pit(vm, s);
}

int vmm_vm_set_pit(vmm_vm *vm, const vmm_pit_state *s)
{
   if (!s) {
      return -EINVAL;
   }
   if (!vm->impl->set_pit) {
      return -ENOTSUP;
   }
   if (s->flags & ~(VMM_PIT_SPEAKER_DATA_ON | VMM_PIT_HPET_LEGACY)) {
      return -EINVAL;
   }
   for (unsigned i = 0; i < 3; i++) {
      if (!pit_channel_ok(&s->ch[i], i)) {
         return -EINVAL;
      }
   }
   return vm->impl->set_pit(vm, s);
}

void vmm_vm_notify_write(vmm_vm *vm, uint64_t gpa, uint64_t len)
{
   if (len && vm->impl->notify_write) {
      vm->impl->notify_write(vm, gpa, len);
   }
}

void vmm_vcpu_interrupt(vmm_vcpu *cpu)
{
   if (cpu->impl->vcpu_interrupt) {
      cpu->impl->vcpu_interrupt(cpu);
   }
}

int vmm_vm_interrupt(vmm_vm *vm, unsigned vcpu)
{
   vmm_vcpu *cpu;

   if (vcpu >= vm->nvcpus) {
      return -EINVAL;
   }
   cpu = atomic_load(&vm->vcpus[vcpu]);
   if (cpu) {
      vmm_vcpu_interrupt(cpu);
   }
   return 0;
}

void vmm_vcpu_kick(vmm_vcpu *cpu)
{
   atomic_store_explicit(&cpu->stop_requested, true, memory_order_release);
   cpu->impl->vcpu_kick(cpu);
}

void vmm_vm_stop(vmm_vm *vm)
{
   for (unsigned i = 0; i < vm->nvcpus; i++) {
      vmm_vcpu *cpu = atomic_load(&vm->vcpus[i]);

      if (cpu) {
         vmm_vcpu_kick(cpu);
      }
   }
}

/* ---- io defaults ---------------------------------------------------------- */

void vmm_io_pio_read(vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t *val)
{
   const vmm_io_ops *io = cpu->vm->io;

   *val = size >= 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
   if (io && io->pio_read) {
      io->pio_read(cpu->vm->io_opaque, cpu, port, size, val);
   }
}

void vmm_io_pio_write(vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t val)
{
   const vmm_io_ops *io = cpu->vm->io;

   if (io && io->pio_write) {
      io->pio_write(cpu->vm->io_opaque, cpu, port, size, val);
   }
}

void vmm_io_mmio_read(vmm_vcpu *cpu, uint64_t gpa, unsigned size, uint64_t *val)
{
   const vmm_io_ops *io = cpu->vm->io;

   *val = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
   if (io && io->mmio_read) {
      io->mmio_read(cpu->vm->io_opaque, cpu, gpa, size, val);
   }
}

void vmm_io_mmio_write(vmm_vcpu *cpu, uint64_t gpa, unsigned size, uint64_t val)
{
   const vmm_io_ops *io = cpu->vm->io;

   if (io && io->mmio_write) {
      io->mmio_write(cpu->vm->io_opaque, cpu, gpa, size, val);
   }
}

/* ---- vCPUs ---------------------------------------------------------------- */

vmm_vcpu *vmm_vcpu_create(vmm_vm *vm, unsigned index, char *err, size_t errlen)
{
   vmm_vcpu *cpu;
   vmm_vcpu *expected = NULL;

   if (index >= vm->nvcpus) {
      seterr(err, errlen, "vCPU %u does not exist (the VM has %u)", index, vm->nvcpus);
      return NULL;
   }
   if (atomic_load(&vm->vcpus[index])) {
      seterr(err, errlen, "vCPU %u already exists", index);
      return NULL;
   }
   cpu = alloc_zeroed(vm->impl->vcpu_size);
   if (!cpu) {
      seterr(err, errlen, "out of memory creating vCPU %u", index);
      return NULL;
   }
   cpu->impl = vm->impl;
   cpu->vm = vm;
   cpu->index = index;
   atomic_init(&cpu->stop_requested, false);
   if (vm->impl->vcpu_init(cpu, err, errlen) < 0) {
      free(cpu);
      return NULL;
   }
   if (!atomic_compare_exchange_strong(&vm->vcpus[index], &expected, cpu)) {
      vm->impl->vcpu_fini(cpu);
      free(cpu);
      seterr(err, errlen, "vCPU %u already exists", index);
      return NULL;
   }
   return cpu;
}

unsigned vmm_vcpu_index(const vmm_vcpu *cpu)
{
   return cpu->index;
}

vmm_vm *vmm_vcpu_vm(const vmm_vcpu *cpu)
{
   return cpu->vm;
}

int vmm_vcpu_run(vmm_vcpu *cpu, vmm_exit *exit)
{
   memset(exit, 0, sizeof *exit);
   return cpu->impl->vcpu_run(cpu, exit);
}

int vmm_vcpu_get_regs(vmm_vcpu *cpu, vmm_regs *r) { return cpu->impl->get_regs(cpu, r); }
int vmm_vcpu_set_regs(vmm_vcpu *cpu, const vmm_regs *r) { return cpu->impl->set_regs(cpu, r); }
int vmm_vcpu_get_sregs(vmm_vcpu *cpu, vmm_sregs *s) { return cpu->impl->get_sregs(cpu, s); }
int vmm_vcpu_set_sregs(vmm_vcpu *cpu, const vmm_sregs *s) { return cpu->impl->set_sregs(cpu, s); }
int vmm_vcpu_get_fpu(vmm_vcpu *cpu, vmm_fpu *f) { return cpu->impl->get_fpu(cpu, f); }
int vmm_vcpu_set_fpu(vmm_vcpu *cpu, const vmm_fpu *f) { return cpu->impl->set_fpu(cpu, f); }
int vmm_vcpu_get_lapic(vmm_vcpu *cpu, vmm_lapic *l) { return cpu->impl->get_lapic(cpu, l); }
int vmm_vcpu_set_lapic(vmm_vcpu *cpu, const vmm_lapic *l) { return cpu->impl->set_lapic(cpu, l); }
int vmm_vcpu_get_events(vmm_vcpu *cpu, vmm_events *e) { return cpu->impl->get_events(cpu, e); }
int vmm_vcpu_set_events(vmm_vcpu *cpu, const vmm_events *e) { return cpu->impl->set_events(cpu, e); }
int vmm_vcpu_get_mp_state(vmm_vcpu *cpu, vmm_mp_state *st) { return cpu->impl->get_mp_state(cpu, st); }
int vmm_vcpu_get_debugregs(vmm_vcpu *cpu, vmm_debugregs *d) { return cpu->impl->get_debugregs(cpu, d); }
int vmm_vcpu_set_debugregs(vmm_vcpu *cpu, const vmm_debugregs *d) { return cpu->impl->set_debugregs(cpu, d); }

int vmm_vcpu_set_mp_state(vmm_vcpu *cpu, vmm_mp_state st)
{
   if (st != VMM_MP_RUNNABLE && st != VMM_MP_WAIT_SIPI && st != VMM_MP_HALTED &&
       st != VMM_MP_WAIT_INIT) {
      return -EINVAL;
   }
   return cpu->impl->set_mp_state(cpu, st);
}

int vmm_vcpu_get_msrs(vmm_vcpu *cpu, vmm_msr *msrs, unsigned n)
{
   if (n == 0) {
      return 0;
   }
   return cpu->impl->get_msrs(cpu, msrs, n);
}

int vmm_vcpu_set_msrs(vmm_vcpu *cpu, const vmm_msr *msrs, unsigned n)
{
   if (n == 0) {
      return 0;
   }
   return cpu->impl->set_msrs(cpu, msrs, n);
}

int vmm_vcpu_set_cpuid(vmm_vcpu *cpu, const vmm_cpuid_entry *e, unsigned n)
{
   if (n > VMM_CPUID_MAX_ENTRIES || (n && !e)) {
      return -EINVAL;
   }
   return cpu->impl->set_cpuid(cpu, e, n);
}

int vmm_vcpu_get_cpuid(vmm_vcpu *cpu, vmm_cpuid_entry *e, unsigned max, unsigned *n)
{
   return cpu->impl->get_cpuid(cpu, e, max, n);
}

/* ---- state MSRs ----------------------------------------------------------- */

static const uint32_t state_msrs[] = {
   0x00000174, /* IA32_SYSENTER_CS */
   0x00000175, /* IA32_SYSENTER_ESP */
   0x00000176, /* IA32_SYSENTER_EIP */
   0xc0000081, /* STAR */
   0xc0000082, /* LSTAR */
   0xc0000083, /* CSTAR */
   0xc0000084, /* SFMASK */
   0xc0000102, /* KERNEL_GS_BASE */
   0x00000010, /* IA32_TSC */
   0x00000277, /* IA32_PAT */
   0x000001a0, /* IA32_MISC_ENABLE */
   0xc0000103, /* TSC_AUX */
};

unsigned vmm_state_msrs(const uint32_t **list)
{
   *list = state_msrs;
   return sizeof state_msrs / sizeof state_msrs[0];
}
