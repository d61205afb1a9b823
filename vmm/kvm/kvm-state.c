/*
 * vmm/kvm/kvm-state.c - vCPU state between the monitor.h format and KVM's.
 * Every field is converted by name; nothing relies on the two layouts
 * matching.
 */
#include "vmm/kvm/kvm-priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- general registers ------------------------------------------------------- */

int kvm_get_regs(vmm_vcpu *base, vmm_regs *r)
{
   struct kvm_regs k;
   int e = kvm_ioctl(kvm_vcpu_of(base)->fd, KVM_GET_REGS, &k);

   if (e < 0) {
      return e;
   }
   r->gpr[VMM_RAX] = k.rax;
   r->gpr[VMM_RCX] = k.rcx;
   r->gpr[VMM_RDX] = k.rdx;
   r->gpr[VMM_RBX] = k.rbx;
   r->gpr[VMM_RSP] = k.rsp;
   r->gpr[VMM_RBP] = k.rbp;
   r->gpr[VMM_RSI] = k.rsi;
   r->gpr[VMM_RDI] = k.rdi;
   r->gpr[VMM_R8] = k.r8;
   r->gpr[VMM_R9] = k.r9;
   r->gpr[VMM_R10] = k.r10;
   r->gpr[VMM_R11] = k.r11;
   r->gpr[VMM_R12] = k.r12;
   r->gpr[VMM_R13] = k.r13;
   r->gpr[VMM_R14] = k.r14;
   r->gpr[VMM_R15] = k.r15;
   r->rip = k.rip;
   r->rflags = k.rflags;
   return 0;
}

int kvm_set_regs(vmm_vcpu *base, const vmm_regs *r)
{
   struct kvm_regs k = {
      .rax = r->gpr[VMM_RAX], .rcx = r->gpr[VMM_RCX],
      .rdx = r->gpr[VMM_RDX], .rbx = r->gpr[VMM_RBX],
      .rsp = r->gpr[VMM_RSP], .rbp = r->gpr[VMM_RBP],
      .rsi = r->gpr[VMM_RSI], .rdi = r->gpr[VMM_RDI],
      .r8 = r->gpr[VMM_R8], .r9 = r->gpr[VMM_R9],
      .r10 = r->gpr[VMM_R10], .r11 = r->gpr[VMM_R11],
      .r12 = r->gpr[VMM_R12], .r13 = r->gpr[VMM_R13],
      .r14 = r->gpr[VMM_R14], .r15 = r->gpr[VMM_R15],
      .rip = r->rip, .rflags = r->rflags,
   };

   return kvm_ioctl(kvm_vcpu_of(base)->fd, KVM_SET_REGS, &k);
}

/* ---- segments and control registers ----------------------------------------- */

static void seg_from_kvm(vmm_seg *s, const struct kvm_segment *k)
{
   s->base = k->base;
   s->limit = k->limit;
   s->selector = k->selector;
   s->type = k->type;
   s->s = k->s;
   s->dpl = k->dpl;
   s->present = k->present;
   s->avl = k->avl;
   s->l = k->l;
   s->db = k->db;
   s->g = k->g;
   s->unusable = k->unusable;
}

static void seg_to_kvm(struct kvm_segment *k, const vmm_seg *s)
{
   memset(k, 0, sizeof *k);
   k->base = s->base;
   k->limit = s->limit;
   k->selector = s->selector;
   k->type = s->type;
   k->s = s->s;
   k->dpl = s->dpl;
   k->present = s->present;
   k->avl = s->avl;
   k->l = s->l;
   k->db = s->db;
   k->g = s->g;
   k->unusable = s->unusable;
}

int kvm_get_sregs(vmm_vcpu *base, vmm_sregs *s)
{
   struct kvm_sregs k;
   int e = kvm_ioctl(kvm_vcpu_of(base)->fd, KVM_GET_SREGS, &k);

   if (e < 0) {
      return e;
   }
   seg_from_kvm(&s->seg[VMM_ES], &k.es);
   seg_from_kvm(&s->seg[VMM_CS], &k.cs);
   seg_from_kvm(&s->seg[VMM_SS], &k.ss);
   seg_from_kvm(&s->seg[VMM_DS], &k.ds);
   seg_from_kvm(&s->seg[VMM_FS], &k.fs);
   seg_from_kvm(&s->seg[VMM_GS], &k.gs);
   seg_from_kvm(&s->tr, &k.tr);
   seg_from_kvm(&s->ldtr, &k.ldt);
   s->gdt.base = k.gdt.base;
   s->gdt.limit = k.gdt.limit;
   s->idt.base = k.idt.base;
   s->idt.limit = k.idt.limit;
   s->cr0 = k.cr0;
   s->cr2 = k.cr2;
   s->cr3 = k.cr3;
   s->cr4 = k.cr4;
   s->cr8 = k.cr8;
   s->efer = k.efer;
   s->apic_base = k.apic_base;
   return 0;
}

int kvm_set_sregs(vmm_vcpu *base, const vmm_sregs *s)
{
   struct kvm_sregs k;

   memset(&k, 0, sizeof k);   /* interrupt_bitmap: unused with the in-kernel irqchip */
   seg_to_kvm(&k.es, &s->seg[VMM_ES]);
   seg_to_kvm(&k.cs, &s->seg[VMM_CS]);
   seg_to_kvm(&k.ss, &s->seg[VMM_SS]);
   seg_to_kvm(&k.ds, &s->seg[VMM_DS]);
   seg_to_kvm(&k.fs, &s->seg[VMM_FS]);
   seg_to_kvm(&k.gs, &s->seg[VMM_GS]);
   seg_to_kvm(&k.tr, &s->tr);
   seg_to_kvm(&k.ldt, &s->ldtr);
   k.gdt.base = s->gdt.base;
   k.gdt.limit = s->gdt.limit;
   k.idt.base = s->idt.base;
   k.idt.limit = s->idt.limit;
   k.cr0 = s->cr0;
   k.cr2 = s->cr2;
   k.cr3 = s->cr3;
   k.cr4 = s->cr4;
   k.cr8 = s->cr8;
   k.efer = s->efer;
   k.apic_base = s->apic_base;
   return kvm_ioctl(kvm_vcpu_of(base)->fd, KVM_SET_SREGS, &k);
}

/* ---- FPU / XSAVE ---------------------------------------------------------------- */

_Static_assert(sizeof(struct kvm_xsave) == VMM_XSAVE_SIZE,
               "KVM_GET_XSAVE moves exactly one 4 KiB XSAVE image");

int kvm_get_fpu(vmm_vcpu *base, vmm_fpu *f)
{
   kvm_vcpu *cpu = kvm_vcpu_of(base);
   struct kvm_xcrs xcrs;
   int e;

   memset(&xcrs, 0, sizeof xcrs);
   e = kvm_ioctl(cpu->fd, KVM_GET_XCRS, &xcrs);
   if (e < 0) {
      return e;
   }
   f->xcr0 = 1;   /* x87 only, the reset value, unless KVM says otherwise */
   for (unsigned i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; i++) {
      if (xcrs.xcrs[i].xcr == 0) {
         f->xcr0 = xcrs.xcrs[i].value;
      }
   }
   return kvm_ioctl(cpu->fd, KVM_GET_XSAVE, f->xsave);
}

int kvm_set_fpu(vmm_vcpu *base, const vmm_fpu *f)
{
   kvm_vcpu *cpu = kvm_vcpu_of(base);
   struct kvm_xcrs xcrs;
   int e;

   if (!(f->xcr0 & 1)) {
      return -EINVAL;   /* XCR0.x87 is architecturally always set */
   }
   memset(&xcrs, 0, sizeof xcrs);
   xcrs.nr_xcrs = 1;
   xcrs.xcrs[0].xcr = 0;
   xcrs.xcrs[0].value = f->xcr0;
   e = kvm_ioctl(cpu->fd, KVM_SET_XCRS, &xcrs);
   if (e < 0) {
      return e;
   }
   return kvm_ioctl(cpu->fd, KVM_SET_XSAVE, (void *)f->xsave);
}

/* ---- MSRs ------------------------------------------------------------------------ */

static struct kvm_msrs *msrs_alloc(unsigned n)
{
   return calloc(1, sizeof(struct kvm_msrs) + n * sizeof(struct kvm_msr_entry));
}

int kvm_get_msrs(vmm_vcpu *base, vmm_msr *msrs, unsigned n)
{
   struct kvm_msrs *k = msrs_alloc(n);
   int e;

   if (!k) {
      return -ENOMEM;
   }
   k->nmsrs = n;
   for (unsigned i = 0; i < n; i++) {
      k->entries[i].index = msrs[i].index;
   }
   e = kvm_ioctl(kvm_vcpu_of(base)->fd, KVM_GET_MSRS, k);
   if (e >= 0 && (unsigned)e != n) {
      e = -ENOENT;   /* KVM stopped at entry e: an MSR it does not have */
   }
   if (e >= 0) {
      for (unsigned i = 0; i < n; i++) {
         msrs[i].value = k->entries[i].data;
      }
      e = 0;
   }
   free(k);
   return e;
}

int kvm_set_msrs(vmm_vcpu *base, const vmm_msr *msrs, unsigned n)
{
   struct kvm_msrs *k = msrs_alloc(n);
   int e;

   if (!k) {
      return -ENOMEM;
   }
   k->nmsrs = n;
   for (unsigned i = 0; i < n; i++) {
      k->entries[i].index = msrs[i].index;
      k->entries[i].data = msrs[i].value;
   }
   e = kvm_ioctl(kvm_vcpu_of(base)->fd, KVM_SET_MSRS, k);
   if (e >= 0 && (unsigned)e != n) {
      e = -EINVAL;   /* KVM refused entry e */
   }
   free(k);
   return e < 0 ? e : 0;
}

/* ---- LAPIC ----------------------------------------------------------------------- */

_Static_assert(sizeof(struct kvm_lapic_state) == VMM_LAPIC_SIZE,
               "KVM's LAPIC page is the architectural 1 KiB register page");

int kvm_get_lapic(vmm_vcpu *base, vmm_lapic *l)
{
   struct kvm_lapic_state k;
   int e = kvm_ioctl(kvm_vcpu_of(base)->fd, KVM_GET_LAPIC, &k);

   if (e < 0) {
      return e;
   }
   memcpy(l->regs, k.regs, VMM_LAPIC_SIZE);
   return 0;
}

int kvm_set_lapic(vmm_vcpu *base, const vmm_lapic *l)
{
   struct kvm_lapic_state k;

   memcpy(k.regs, l->regs, VMM_LAPIC_SIZE);
   return kvm_ioctl(kvm_vcpu_of(base)->fd, KVM_SET_LAPIC, &k);
}

/* ---- events ---------------------------------------------------------------------- */

int kvm_get_events(vmm_vcpu *base, vmm_events *e)
{
   struct kvm_vcpu_events k;
   int r;

   memset(&k, 0, sizeof k);
   r = kvm_ioctl(kvm_vcpu_of(base)->fd, KVM_GET_VCPU_EVENTS, &k);
   if (r < 0) {
      return r;
   }
   memset(e, 0, sizeof *e);
   /* Without KVM_CAP_EXCEPTION_PAYLOAD enabled KVM folds pending into injected. */
   e->exception_injected = k.exception.injected || k.exception.pending;
   e->exception_nr = k.exception.nr;
   e->exception_has_error = k.exception.has_error_code;
   e->exception_error = k.exception.error_code;
   e->interrupt_injected = k.interrupt.injected;
   e->interrupt_nr = k.interrupt.nr;
   e->interrupt_soft = k.interrupt.soft;
   e->nmi_injected = k.nmi.injected;
   e->nmi_pending = k.nmi.pending;
   e->nmi_masked = k.nmi.masked;
   if (k.flags & KVM_VCPUEVENT_VALID_SHADOW) {
      e->interrupt_shadow = (uint8_t)(((k.interrupt.shadow & KVM_X86_SHADOW_INT_STI) ?
                                       VMM_SHADOW_STI : 0) |
                                      ((k.interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS) ?
                                       VMM_SHADOW_MOV_SS : 0));
   }
   e->sipi_vector = (uint8_t)k.sipi_vector;
   return 0;
}

int kvm_set_events(vmm_vcpu *base, const vmm_events *e)
{
   struct kvm_vcpu_events k;

   if (e->interrupt_shadow & ~(VMM_SHADOW_STI | VMM_SHADOW_MOV_SS)) {
      return -EINVAL;
   }
   memset(&k, 0, sizeof k);
   k.exception.injected = e->exception_injected;
   k.exception.nr = e->exception_nr;
   k.exception.has_error_code = e->exception_has_error;
   k.exception.error_code = e->exception_error;
   k.interrupt.injected = e->interrupt_injected;
   k.interrupt.nr = e->interrupt_nr;
   k.interrupt.soft = e->interrupt_soft;
   k.interrupt.shadow = (uint8_t)(((e->interrupt_shadow & VMM_SHADOW_STI) ?
                                   KVM_X86_SHADOW_INT_STI : 0) |
                                  ((e->interrupt_shadow & VMM_SHADOW_MOV_SS) ?
                                   KVM_X86_SHADOW_INT_MOV_SS : 0));
   k.nmi.injected = e->nmi_injected;
   k.nmi.pending = e->nmi_pending;
   k.nmi.masked = e->nmi_masked;
   k.sipi_vector = e->sipi_vector;
   k.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR |
             KVM_VCPUEVENT_VALID_SHADOW;
   return kvm_ioctl(kvm_vcpu_of(base)->fd, KVM_SET_VCPU_EVENTS, &k);
}

/* ---- mp_state -------------------------------------------------------------------- */

int kvm_get_mp_state(vmm_vcpu *base, vmm_mp_state *st)
{
   struct kvm_mp_state k;
   int e = kvm_ioctl(kvm_vcpu_of(base)->fd, KVM_GET_MP_STATE, &k);

   if (e < 0) {
      return e;
   }
   switch (k.mp_state) {
   case KVM_MP_STATE_RUNNABLE:
   case KVM_MP_STATE_SIPI_RECEIVED:   /* about to run from the SIPI vector */
      *st = VMM_MP_RUNNABLE;
      return 0;
   case KVM_MP_STATE_UNINITIALIZED:
      *st = VMM_MP_WAIT_INIT;
      return 0;
   case KVM_MP_STATE_INIT_RECEIVED:
      *st = VMM_MP_WAIT_SIPI;
      return 0;
   case KVM_MP_STATE_HALTED:
      *st = VMM_MP_HALTED;
      return 0;
   default:
      return -EPROTO;   /* a state with no x86 meaning */
   }
}

int kvm_set_mp_state(vmm_vcpu *base, vmm_mp_state st)
{
   struct kvm_mp_state k;

   switch (st) {
   case VMM_MP_RUNNABLE: k.mp_state = KVM_MP_STATE_RUNNABLE; break;
   case VMM_MP_WAIT_INIT: k.mp_state = KVM_MP_STATE_UNINITIALIZED; break;
   case VMM_MP_WAIT_SIPI: k.mp_state = KVM_MP_STATE_INIT_RECEIVED; break;
   case VMM_MP_HALTED: k.mp_state = KVM_MP_STATE_HALTED; break;
   default: return -EINVAL;
   }
   return kvm_ioctl(kvm_vcpu_of(base)->fd, KVM_SET_MP_STATE, &k);
}

/* ---- debug registers ------------------------------------------------------------ */

int kvm_get_debugregs(vmm_vcpu *base, vmm_debugregs *d)
{
   struct kvm_debugregs k;
   int e;

   memset(&k, 0, sizeof k);
   e = kvm_ioctl(kvm_vcpu_of(base)->fd, KVM_GET_DEBUGREGS, &k);
   if (e < 0) {
      return e;
   }
   for (unsigned i = 0; i < 4; i++) {
      d->dr[i] = k.db[i];
   }
   d->dr6 = k.dr6;
   d->dr7 = k.dr7;
   return 0;
}

int kvm_set_debugregs(vmm_vcpu *base, const vmm_debugregs *d)
{
   struct kvm_debugregs k;

   memset(&k, 0, sizeof k);
   for (unsigned i = 0; i < 4; i++) {
      k.db[i] = d->dr[i];
   }
   k.dr6 = d->dr6;
   k.dr7 = d->dr7;
   return kvm_ioctl(kvm_vcpu_of(base)->fd, KVM_SET_DEBUGREGS, &k);
}

/* ---- CPUID ----------------------------------------------------------------------- */

int kvm_set_cpuid(vmm_vcpu *base, const vmm_cpuid_entry *e, unsigned n)
{
   kvm_vcpu *cpu = kvm_vcpu_of(base);
   int r;

   if (cpu->ran) {
      return -EBUSY;
   }
   r = kvm_cpuid_apply(cpu, e, n);
   if (r == 0) {
      memcpy(cpu->cpuid, e, n * sizeof *e);
      cpu->ncpuid = n;
   }
   return r;
}

int kvm_get_cpuid(vmm_vcpu *base, vmm_cpuid_entry *e, unsigned max, unsigned *n)
{
   kvm_vcpu *cpu = kvm_vcpu_of(base);

   *n = cpu->ncpuid;
   if (max < cpu->ncpuid) {
      return -ENOSPC;
   }
   memcpy(e, cpu->cpuid, cpu->ncpuid * sizeof *e);
   return 0;
}
