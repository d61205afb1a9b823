/*
 * vmm/soft/cpu.c - vCPU object, state exchange in the monitor.h formats,
 * interrupt/NMI/kick plumbing, HLT sleeping, and the run loop.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "soft_int.h"

soft_cpu *soft_cpu_new(soft_mem *mem, const soft_io *io, unsigned index)
{
   soft_cpu *cpu = aligned_alloc(64, (sizeof(soft_cpu) + 63) & ~(size_t)63);
   if (!cpu)
      return NULL;
   memset(cpu, 0, sizeof(*cpu));
   cpu->mem = mem;
   cpu->io = io;
   cpu->index = index;
   cpu->maxphyaddr = 40;
   soft_cpuid_default(cpu);
   if (!cpu->cpuid) {
      free(cpu);
      return NULL;
   }
   soft_set_cpuid(cpu, cpu->cpuid, cpu->ncpuid);
   soft_cpu_reset(cpu);
   return cpu;
}

void soft_cpu_free(soft_cpu *cpu)
{
   if (!cpu)
      return;
   free(cpu->cpuid);
   free(cpu);
}

static void seg_init(vmm_seg *s, uint16_t sel, uint64_t base, unsigned type)
{
   memset(s, 0, sizeof(*s));
   s->selector = sel;
   s->base = base;
   s->limit = 0xffff;
   s->type = type;
   s->s = 1;
   s->present = 1;
}

void soft_cpu_reset(soft_cpu *cpu)
{
   memset(cpu->gpr, 0, sizeof(cpu->gpr));
   cpu->gpr[VMM_RDX] = 0x00000f10;
   cpu->rip = 0xfff0;
   cpu->rflags = 2;
   set_flags_eager(cpu, 0);
   for (unsigned i = 0; i < VMM_NSEG; i++)
      seg_init(&cpu->seg[i], 0, 0, 3);
   seg_init(&cpu->seg[VMM_CS], 0xf000, 0xffff0000u, 0xb);
   memset(&cpu->ldtr, 0, sizeof(cpu->ldtr));
   cpu->ldtr.limit = 0xffff;
   cpu->ldtr.type = 2;
   cpu->ldtr.present = 1;
   memset(&cpu->tr, 0, sizeof(cpu->tr));
   cpu->tr.limit = 0xffff;
   cpu->tr.type = 0xb;
   cpu->tr.present = 1;
   cpu->gdt = (vmm_dtable){ 0, 0xffff };
   cpu->idt = (vmm_dtable){ 0, 0xffff };
   cpu->cr0 = 0x60000010;
   cpu->cr2 = cpu->cr3 = cpu->cr4 = cpu->cr8 = 0;
   cpu->efer = 0;
   cpu->apic_base = 0xfee00000u | 0x800 | (cpu->index == 0 ? 0x100 : 0);
   memset(cpu->dr, 0, sizeof(cpu->dr));
   cpu->dr[6] = 0xffff0ff0u;
   cpu->dr[7] = 0x400;
   cpu->star = cpu->lstar = cpu->cstar = cpu->sfmask = cpu->kernel_gs_base = 0;
   cpu->sysenter_cs = cpu->sysenter_esp = cpu->sysenter_eip = 0;
   cpu->pat = 0x0007040600070406ull;
   cpu->tsc_aux = 0;
   cpu->misc_enable = 1;
   memset(&cpu->fpu, 0, sizeof(cpu->fpu));
   cpu->fpu.xcr0 = 1;
   cpu->fpu.xsave[0] = 0x40;                         /* FCW */
   cpu->fpu.xsave[24] = 0x80;                        /* MXCSR = 0x1f80 */
   cpu->fpu.xsave[25] = 0x1f;
   cpu->nmi_masked = false;
   cpu->intr_shadow = 0;
   cpu->halted = false;
   cpu->exc_vector = -1;
   cpu->exc_first = -1;
   cpu->snap_valid = false;
   cpu->cpl = 0;
   soft_update_mode(cpu);
   soft_tlb_flush(cpu, true);
}

/* ---- state exchange ----------------------------------------------------- */

void soft_get_regs(soft_cpu *cpu, vmm_regs *r)
{
   memcpy(r->gpr, cpu->gpr, sizeof(r->gpr));
   r->rip = cpu->rip;
   r->rflags = soft_get_rflags(cpu);
}

void soft_set_regs(soft_cpu *cpu, const vmm_regs *r)
{
   memcpy(cpu->gpr, r->gpr, sizeof(cpu->gpr));
   cpu->rip = r->rip;
   soft_set_rflags(cpu, r->rflags, ~0ull);
   soft_update_mode(cpu);
}

void soft_get_sregs(soft_cpu *cpu, vmm_sregs *s)
{
   memcpy(s->seg, cpu->seg, sizeof(s->seg));
   s->tr = cpu->tr;
   s->ldtr = cpu->ldtr;
   s->gdt = cpu->gdt;
   s->idt = cpu->idt;
   s->cr0 = cpu->cr0;
   s->cr2 = cpu->cr2;
   s->cr3 = cpu->cr3;
   s->cr4 = cpu->cr4;
   s->cr8 = cpu->cr8;
   s->efer = cpu->efer;
   s->apic_base = cpu->apic_base;
}

int soft_set_sregs(soft_cpu *cpu, const vmm_sregs *s)
{
   bool lma = (s->efer & EFER_LMA) != 0;
   if (lma && (!(s->cr4 & CR4_PAE) || !(s->cr0 & CR0_PG) || !(s->efer & EFER_LME)))
      return -EINVAL;
   if ((s->cr0 & CR0_PG) && !(s->cr0 & CR0_PE))
      return -EINVAL;
   if (s->cr4 & ~(uint64_t)(CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE |
                            CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_FSGSBASE |
                            CR4_SMEP | CR4_SMAP))
      return -EINVAL;
   memcpy(cpu->seg, s->seg, sizeof(cpu->seg));
   cpu->tr = s->tr;
   cpu->ldtr = s->ldtr;
   cpu->gdt = s->gdt;
   cpu->idt = s->idt;
   cpu->cr0 = s->cr0;
   cpu->cr2 = s->cr2;
   cpu->cr3 = s->cr3;
   cpu->cr4 = s->cr4;
   cpu->cr8 = s->cr8 & 0xf;
   cpu->efer = s->efer;
   cpu->apic_base = s->apic_base;
   /* CPL is SS.DPL (the KVM convention) in protected mode */
   cpu->cpl = (s->cr0 & CR0_PE) ? s->seg[VMM_SS].dpl : 0;
   if ((cpu->cr0 & CR0_PG) && (cpu->cr4 & CR4_PAE) && !lma)
      soft_load_pdptes(cpu);
   soft_update_mode(cpu);
   soft_tlb_flush(cpu, true);
   return 0;
}

void soft_get_fpu(soft_cpu *cpu, vmm_fpu *f)
{
   *f = cpu->fpu;
}

void soft_set_fpu(soft_cpu *cpu, const vmm_fpu *f)
{
   cpu->fpu = *f;
}

int soft_get_msr(soft_cpu *cpu, uint32_t index, uint64_t *val)
{
   return soft_msr_read(cpu, index, val) ? 0 : -ENOENT;
}

int soft_set_msr(soft_cpu *cpu, uint32_t index, uint64_t val)
{
   return soft_msr_write(cpu, index, val) ? 0 : -ENOENT;
}

int soft_set_cpuid(soft_cpu *cpu, const vmm_cpuid_entry *e, unsigned n)
{
   if (n > 256)
      return -EINVAL;
   vmm_cpuid_entry *c = malloc((n ? n : 1) * sizeof(*c));
   if (!c)
      return -ENOMEM;
   memcpy(c, e, n * sizeof(*c));
   free(cpu->cpuid);
   cpu->cpuid = c;
   cpu->ncpuid = n;
   uint32_t o[4];
   soft_cpuid_lookup(cpu, 7, 0, o);
   cpu->feat_bmi1 = (o[1] >> 3) & 1;
   soft_cpuid_lookup(cpu, 0x80000001u, 0, o);
   cpu->feat_abm = (o[2] >> 5) & 1;
   soft_cpuid_lookup(cpu, 1, 0, o);
   cpu->feat_popcnt = (o[2] >> 23) & 1;
   soft_cpuid_lookup(cpu, 0, 0, o);
   cpu->vendor_intel = o[1] == 0x756e6547;   /* "Genu" */
   return 0;
}

void soft_cpu_set_options(soft_cpu *cpu, const soft_options *o)
{
   cpu->opt = *o;
}

bool soft_cpu_halted(const soft_cpu *cpu)
{
   return cpu->halted;
}

void soft_cpu_set_halted(soft_cpu *cpu, bool halted)
{
   cpu->halted = halted;
}

uint64_t soft_cpu_icount(const soft_cpu *cpu)
{
   return cpu->icount;
}

/* ---- cross-thread events ------------------------------------------------ */

static void wake(soft_cpu *cpu)
{
   __atomic_add_fetch(&cpu->wake_seq, 1, __ATOMIC_SEQ_CST);
   syscall(SYS_futex, &cpu->wake_seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void soft_cpu_set_irq(soft_cpu *cpu, bool level)
{
   __atomic_store_n(&cpu->irq_line, level ? 1 : 0, __ATOMIC_SEQ_CST);
   if (level)
      wake(cpu);
}

void soft_cpu_nmi(soft_cpu *cpu)
{
   __atomic_store_n(&cpu->nmi_pending, 1, __ATOMIC_SEQ_CST);
   wake(cpu);
}

void soft_cpu_kick(soft_cpu *cpu)
{
   __atomic_store_n(&cpu->kick, 1, __ATOMIC_SEQ_CST);
   wake(cpu);
}

/* ---- run loop --------------------------------------------------------------- */

static bool can_take_irq(soft_cpu *cpu)
{
   return (cpu->rflags & FL_IF) && !cpu->intr_shadow &&
          __atomic_load_n(&cpu->irq_line, __ATOMIC_RELAXED) && cpu->io->intr_ack;
}

static bool can_take_nmi(soft_cpu *cpu)
{
   return !cpu->nmi_masked && !cpu->intr_shadow &&
          __atomic_load_n(&cpu->nmi_pending, __ATOMIC_RELAXED);
}

/* Returns true if an event was delivered. */
static bool take_events(soft_cpu *cpu)
{
   if (can_take_nmi(cpu)) {
      __atomic_store_n(&cpu->nmi_pending, 0, __ATOMIC_SEQ_CST);
      soft_deliver_interrupt(cpu, EXC_NMI, true);
      return true;
   }
   if (can_take_irq(cpu)) {
      int v = cpu->io->intr_ack(cpu->io->opaque, cpu);
      if (v >= 0 && v <= 255) {
         soft_deliver_interrupt(cpu, v, false);
         return true;
      }
   }
   return false;
}

int soft_cpu_run(soft_cpu *cpu, uint64_t max_insns, soft_exit *ex)
{
   const uint64_t limit = max_insns ? cpu->icount + max_insns : UINT64_MAX;
   memset(ex, 0, sizeof(*ex));

   if (setjmp(cpu->jb) == 1) {
      /* an exception was raised; state is at the faulting instruction */
      if (cpu->opt.intercept_exceptions) {
         ex->reason = SOFT_EXIT_EXCEPTION;
         ex->vector = (uint8_t)cpu->exc_vector;
         ex->has_error = cpu->exc_has_error;
         ex->error = cpu->exc_error;
         snprintf(ex->msg, sizeof(ex->msg), "exception %d at %#llx", cpu->exc_vector,
                  (unsigned long long)cpu->rip);
         cpu->exc_vector = -1;
         cpu->exc_first = -1;
         return 0;
      }
      if (!soft_deliver_pending(cpu)) {
         ex->reason = SOFT_EXIT_SHUTDOWN;
         snprintf(ex->msg, sizeof(ex->msg), "triple fault at rip %#llx",
                  (unsigned long long)cpu->rip);
         cpu->exc_first = -1;
         return 0;
      }
   }

   for (;;) {
      if (unlikely(cpu->icount >= limit)) {
         ex->reason = SOFT_EXIT_LIMIT;
         return 0;
      }
      if (unlikely(__atomic_load_n(&cpu->kick, __ATOMIC_RELAXED))) {
         __atomic_store_n(&cpu->kick, 0, __ATOMIC_SEQ_CST);
         ex->reason = SOFT_EXIT_STOP;
         return 0;
      }
      if (unlikely(__atomic_load_n(&cpu->nmi_pending, __ATOMIC_RELAXED) |
                   __atomic_load_n(&cpu->irq_line, __ATOMIC_RELAXED) | cpu->halted)) {
         uint32_t seq = __atomic_load_n(&cpu->wake_seq, __ATOMIC_SEQ_CST);
         if (!take_events(cpu) && cpu->halted) {
            if (!(cpu->rflags & FL_IF) || cpu->opt.hlt_exits) {
               ex->reason = SOFT_EXIT_HALT;
               return 0;
            }
            syscall(SYS_futex, &cpu->wake_seq, FUTEX_WAIT_PRIVATE, seq, NULL, NULL, 0);
            continue;
         }
      }

      soft_insn in;
      bool tf = (cpu->rflags & FL_TF) != 0;
      cpu->insn_rsp = cpu->gpr[VMM_RSP];
      cpu->intr_shadow = 0;
      soft_decode(cpu, &in);
      uint64_t next = cpu->rip + in.len;
      if (cpu->mode != MODE_LONG64)
         next &= cpu->code_size == 2 ? 0xffff : 0xffffffffu;
      cpu->next_rip = next;
      in.fn(cpu, &in);
      cpu->rip = cpu->next_rip;
      cpu->icount++;
      if (unlikely(cpu->snap_valid))
         cpu->snap_valid = false;
      if (unlikely(tf)) {
         cpu->dr[6] |= 0x4000;    /* BS */
         cpu->insn_rsp = cpu->gpr[VMM_RSP];
         soft_raise(cpu, EXC_DB, 0);
      }
   }
}
