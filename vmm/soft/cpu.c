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
   cpu->qs = 1;
   cpu->inj_vector = -1;
   vmm_cpuid_entry e[64];
   unsigned n = soft_cpuid_model(e, 64, index, false);
   if (soft_set_cpuid(cpu, e, n) < 0) {
      free(cpu);
      return NULL;
   }
   soft_cpu_reset(cpu);
   if (soft_mem_add_cpu(mem, cpu) < 0) {
      free(cpu->cpuid);
      free(cpu);
      return NULL;
   }
   return cpu;
}

void soft_cpu_free(soft_cpu *cpu)
{
   if (!cpu)
      return;
   soft_mem_remove_cpu(cpu->mem, cpu);
   const char *st = getenv("VMWS_SOFT_STATS");
   if (st) {
      FILE *f = fopen(st, "a");
      if (f) {
         soft_stats t;
         soft_cpu_get_stats(cpu, &t);
         fprintf(f, "vcpu %u: icount %llu blocks built %llu run %llu flushes %llu; translated %llu "
                 "runs %llu refused %llu code %llu bytes\n", cpu->index,
                 (unsigned long long)t.icount, (unsigned long long)t.blocks_built,
                 (unsigned long long)t.block_runs, (unsigned long long)t.flushes,
                 (unsigned long long)t.translated, (unsigned long long)t.translated_runs,
                 (unsigned long long)t.refused, (unsigned long long)t.code_bytes);
         fclose(f);
      }
   }
   soft_block_free(cpu);
   free(cpu->cpuid);
   free(cpu);
}

void soft_cpu_get_stats(const soft_cpu *cpu, soft_stats *out)
{
   *out = (soft_stats){
      .icount = cpu->icount,
      .blocks_built = cpu->block_stats[0],
      .block_runs = cpu->block_stats[1],
      .flushes = cpu->block_stats[2],
      .translated = cpu->jit_stats[0],
      .translated_runs = cpu->jit_stats[1],
      .refused = cpu->jit_stats[2],
      .code_bytes = cpu->jit_stats[3],
   };
}

void soft_cpu_set_user(soft_cpu *cpu, void *user)
{
   cpu->user = user;
}

void *soft_cpu_user(const soft_cpu *cpu)
{
   return cpu->user;
}

unsigned soft_cpu_index(const soft_cpu *cpu)
{
   return cpu->index;
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

/* The register state RESET and INIT have in common. */
static void reset_regs(soft_cpu *cpu)
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
   memset(cpu->dr, 0, sizeof(cpu->dr));
   cpu->dr[6] = 0xffff0ff0u;
   cpu->dr[7] = 0x400;
   cpu->nmi_masked = false;
   cpu->intr_shadow = 0;
   cpu->exc_vector = -1;
   cpu->exc_first = -1;
   cpu->inj_vector = -1;
   cpu->snap_valid = false;
   cpu->cpl = 0;
   soft_update_mode(cpu);
   soft_tlb_flush(cpu, true);
}

void soft_cpu_reset(soft_cpu *cpu)
{
   reset_regs(cpu);
   cpu->apic_base = 0xfee00000u | 0x800 | (cpu->index == 0 ? 0x100 : 0);
   cpu->star = cpu->lstar = cpu->cstar = cpu->sfmask = cpu->kernel_gs_base = 0;
   cpu->sysenter_cs = cpu->sysenter_esp = cpu->sysenter_eip = 0;
   cpu->pat = 0x0007040600070406ull;
   cpu->tsc_aux = 0;
   cpu->amd_nb_cfg = cpu->amd_de_cfg = cpu->amd_hwcr = 0;
   cpu->misc_enable = 1;
   memset(&cpu->fpu, 0, sizeof(cpu->fpu));
   cpu->xcr0 = 1;
   cpu->fpu.xcr0 = 1;
   cpu->fpu.xsave[0] = 0x40;                         /* FCW */
   cpu->fpu.xsave[24] = 0x80;                        /* MXCSR = 0x1f80 */
   cpu->fpu.xsave[25] = 0x1f;
   cpu->mp_state = VMM_MP_RUNNABLE;
}

void soft_cpu_init(soft_cpu *cpu, bool bsp)
{
   reset_regs(cpu);
   cpu->mp_state = bsp ? VMM_MP_RUNNABLE : VMM_MP_WAIT_SIPI;
   __atomic_store_n(&cpu->nmi_pending, 0, __ATOMIC_SEQ_CST);
}

void soft_cpu_sipi(soft_cpu *cpu, uint8_t vector)
{
   if (cpu->mp_state != VMM_MP_WAIT_SIPI)
      return;
   soft_load_seg_real(cpu, VMM_CS, (uint16_t)(vector << 8));
   cpu->rip = 0;
   cpu->mp_state = VMM_MP_RUNNABLE;
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
   s->cr8 = cpu->io->cr8_read ? cpu->io->cr8_read(cpu->io->opaque, cpu) : cpu->cr8;
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
                            CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_FSGSBASE | CR4_OSXSAVE |
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
   if (cpu->io->cr8_write)
      cpu->io->cr8_write(cpu->io->opaque, cpu, cpu->cr8);
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

int soft_get_msr(soft_cpu *cpu, uint32_t index, uint64_t *val)
{
   return soft_msr_read(cpu, index, val) ? 0 : -ENOENT;
}

int soft_set_msr(soft_cpu *cpu, uint32_t index, uint64_t val)
{
   return soft_msr_write(cpu, index, val) ? 0 : -EINVAL;
}

void soft_get_debugregs(soft_cpu *cpu, vmm_debugregs *d)
{
   memcpy(d->dr, cpu->dr, sizeof(d->dr));
   d->dr6 = cpu->dr[6];
   d->dr7 = cpu->dr[7];
}

void soft_set_debugregs(soft_cpu *cpu, const vmm_debugregs *d)
{
   memcpy(cpu->dr, d->dr, sizeof(d->dr));
   cpu->dr[6] = (d->dr6 & 0xe00f) | 0xffff0ff0u;
   cpu->dr[7] = (d->dr7 & ~0xd800ull & 0xffffffffull) | 0x400;
}

void soft_get_events(soft_cpu *cpu, vmm_events *e)
{
   memset(e, 0, sizeof(*e));
   if (cpu->inj_vector >= 0) {
      if (cpu->inj_exception) {
         e->exception_injected = 1;
         e->exception_nr = (uint8_t)cpu->inj_vector;
         e->exception_has_error = cpu->inj_has_error;
         e->exception_error = cpu->inj_error;
      } else if (cpu->inj_vector == EXC_NMI && !cpu->inj_soft) {
         e->nmi_injected = 1;
      } else {
         e->interrupt_injected = 1;
         e->interrupt_nr = (uint8_t)cpu->inj_vector;
         e->interrupt_soft = cpu->inj_soft;
      }
   }
   e->nmi_pending = __atomic_load_n(&cpu->nmi_pending, __ATOMIC_SEQ_CST) != 0;
   e->nmi_masked = cpu->nmi_masked;
   e->interrupt_shadow = cpu->intr_shadow & (VMM_SHADOW_STI | VMM_SHADOW_MOV_SS);
   e->sipi_vector = cpu->sipi_vector;
}

int soft_set_events(soft_cpu *cpu, const vmm_events *e)
{
   if (e->interrupt_shadow & ~(VMM_SHADOW_STI | VMM_SHADOW_MOV_SS))
      return -EINVAL;
   if ((e->exception_injected != 0) + (e->interrupt_injected != 0) + (e->nmi_injected != 0) > 1)
      return -EINVAL;
   if (e->exception_injected && e->exception_nr >= 32)
      return -EINVAL;
   cpu->inj_vector = -1;
   if (e->exception_injected) {
      cpu->inj_vector = e->exception_nr;
      cpu->inj_exception = true;
      cpu->inj_has_error = e->exception_has_error;
      cpu->inj_error = e->exception_error;
      cpu->inj_soft = false;
   } else if (e->nmi_injected) {
      cpu->inj_vector = EXC_NMI;
      cpu->inj_exception = false;
      cpu->inj_soft = false;
   } else if (e->interrupt_injected) {
      cpu->inj_vector = e->interrupt_nr;
      cpu->inj_exception = false;
      cpu->inj_soft = e->interrupt_soft;
   }
   __atomic_store_n(&cpu->nmi_pending, e->nmi_pending ? 1 : 0, __ATOMIC_SEQ_CST);
   cpu->nmi_masked = e->nmi_masked;
   cpu->intr_shadow = e->interrupt_shadow;
   cpu->sipi_vector = e->sipi_vector;
   return 0;
}

vmm_mp_state soft_cpu_mp_state(const soft_cpu *cpu)
{
   return (vmm_mp_state)cpu->mp_state;
}

void soft_cpu_set_mp_state(soft_cpu *cpu, vmm_mp_state st)
{
   cpu->mp_state = (uint8_t)st;
}
unsigned soft_get_cpuid(soft_cpu *cpu, vmm_cpuid_entry *e, unsigned max)
{
   if (max >= cpu->ncpuid)
      memcpy(e, cpu->cpuid, cpu->ncpuid * sizeof(*e));
   return cpu->ncpuid;
}

int soft_set_cpuid(soft_cpu *cpu, const vmm_cpuid_entry *e, unsigned n)
{
   if (n > VMM_CPUID_MAX_ENTRIES)
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
   soft_cpuid_lookup(cpu, 0x80000000u, 0, o);
   unsigned pa = 36;
   if (o[0] >= 0x80000008u) {
      soft_cpuid_lookup(cpu, 0x80000008u, 0, o);
      pa = o[0] & 0xff;
   }
   cpu->maxphyaddr = pa < 32 ? 32 : pa > 52 ? 52 : pa;
   soft_cpu_features(cpu);
   return 0;
}

void soft_cpu_set_options(soft_cpu *cpu, const soft_options *o)
{
   cpu->opt = *o;
}

bool soft_cpu_halted(const soft_cpu *cpu)
{
   return cpu->mp_state == VMM_MP_HALTED;
}

void soft_cpu_set_halted(soft_cpu *cpu, bool halted)
{
   cpu->mp_state = halted ? VMM_MP_HALTED : VMM_MP_RUNNABLE;
}

uint64_t soft_cpu_icount(const soft_cpu *cpu)
{
   return cpu->icount;
}

/* ---- cross-thread events ------------------------------------------------ */

static void wake(soft_cpu *cpu)
{
   __atomic_add_fetch(&cpu->wake_seq, 1, __ATOMIC_SEQ_CST);
   if (__atomic_load_n(&cpu->sleeping, __ATOMIC_SEQ_CST))
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
   __atomic_or_fetch(&cpu->req, SOFT_REQ_KICK, __ATOMIC_SEQ_CST);
   wake(cpu);
}

void soft_cpu_notify(soft_cpu *cpu)
{
   __atomic_or_fetch(&cpu->req, SOFT_REQ_POLL, __ATOMIC_SEQ_CST);
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
   return !cpu->nmi_masked && !(cpu->intr_shadow & VMM_SHADOW_MOV_SS) &&
          __atomic_load_n(&cpu->nmi_pending, __ATOMIC_RELAXED);
}

/* Returns true if an event was delivered. May raise (longjmp) when the
 * delivery faults. */
static bool take_events(soft_cpu *cpu)
{
   if (cpu->mp_state == VMM_MP_WAIT_INIT || cpu->mp_state == VMM_MP_WAIT_SIPI)
      return false;
   if (can_take_nmi(cpu)) {
      __atomic_store_n(&cpu->nmi_pending, 0, __ATOMIC_SEQ_CST);
      soft_deliver_interrupt(cpu, EXC_NMI, true);
      return true;
   }
   if (can_take_irq(cpu)) {
      int v;
      CALLOUT(cpu, v = cpu->io->intr_ack(cpu->io->opaque, cpu));
      if (v >= 0 && v <= 255) {
         soft_deliver_interrupt(cpu, v, false);
         return true;
      }
   }
   return false;
}

/* An event soft_set_events() left to deliver. False: triple fault. */
static bool deliver_injected(soft_cpu *cpu)
{
   int v = cpu->inj_vector;
   cpu->inj_vector = -1;
   cpu->mp_state = VMM_MP_RUNNABLE;
   if (cpu->inj_exception) {
      cpu->exc_vector = v;
      cpu->exc_error = cpu->inj_error;
      cpu->exc_has_error = cpu->inj_has_error;
      cpu->exc_soft = false;
      cpu->exc_first = -1;
      return soft_deliver_pending(cpu);
   }
   /* An interrupted software interrupt (KVM's interrupt_soft) is delivered
    * like an external one: RIP already points past the INT n. */
   soft_deliver_interrupt(cpu, v, v == EXC_NMI && !cpu->inj_soft);
   return true;
}

/* Everything but executing instructions: requests from other threads,
 * interrupt delivery, HLT and wait-for-SIPI sleep. Returns true with *ex
 * filled in when soft_cpu_run() must return. */
static bool service(soft_cpu *cpu, soft_exit *ex)
{
   for (;;) {
      uint32_t seq = __atomic_load_n(&cpu->wake_seq, __ATOMIC_SEQ_CST);
      uint32_t r = __atomic_exchange_n(&cpu->req, 0, __ATOMIC_SEQ_CST);
      if (r & SOFT_REQ_FLUSH)
         soft_mem_catch_up(cpu);
      if ((r & SOFT_REQ_POLL) && cpu->io->poll) {
         CALLOUT(cpu, cpu->io->poll(cpu->io->opaque, cpu));
      }
      if (r & SOFT_REQ_KICK) {
         ex->reason = SOFT_EXIT_STOP;
         return true;
      }
      if (unlikely(cpu->inj_vector >= 0)) {
         if (deliver_injected(cpu))
            return false;
         ex->reason = SOFT_EXIT_SHUTDOWN;
         snprintf(ex->msg, sizeof(ex->msg), "triple fault delivering an injected event at rip %#llx",
                  (unsigned long long)cpu->rip);
         return true;
      }
      if (take_events(cpu))
         return false;
      if (cpu->mp_state == VMM_MP_RUNNABLE)
         return false;
      if (cpu->mp_state == VMM_MP_HALTED &&
          (cpu->opt.hlt_exits || (!(cpu->rflags & FL_IF) && !cpu->opt.hlt_if_off_sleeps))) {
         ex->reason = SOFT_EXIT_HALT;
         snprintf(ex->msg, sizeof(ex->msg), "HLT with interrupts %s at rip %#llx",
                  (cpu->rflags & FL_IF) ? "enabled" : "disabled",
                  (unsigned long long)cpu->rip);
         return true;
      }
      /* asleep: quiescent for memory-map changes */
      __atomic_store_n(&cpu->sleeping, 1, __ATOMIC_SEQ_CST);
      CALLOUT(cpu,
              if (!__atomic_load_n(&cpu->req, __ATOMIC_SEQ_CST))
                 syscall(SYS_futex, &cpu->wake_seq, FUTEX_WAIT_PRIVATE, seq, NULL, NULL, 0));
      __atomic_store_n(&cpu->sleeping, 0, __ATOMIC_SEQ_CST);
   }
}

static int run_loop(soft_cpu *cpu, uint64_t max_insns, soft_exit *ex)
{
   const uint64_t limit = max_insns ? cpu->icount + max_insns : UINT64_MAX;

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
      if (unlikely(soft_events_pending(cpu))) {
         if (service(cpu, ex))
            return 0;
         /* An interrupt held back by the STI / MOV SS shadow is still
          * pending: run the one instruction the shadow covers (a block
          * would run more, and looping here would never end the shadow). */
         if (!cpu->intr_shadow || !soft_events_pending(cpu))
            continue;
      } else {
         soft_block *b = soft_block_find(cpu);
         if (likely(b != NULL)) {
            soft_block_run(cpu, b, limit);
            continue;
         }
      }

      /* not cacheable (MMIO, a page-crossing instruction, TF), or the
       * instruction in an interrupt shadow: one at a time */
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

int soft_cpu_run(soft_cpu *cpu, uint64_t max_insns, soft_exit *ex)
{
   memset(ex, 0, sizeof(*ex));
   soft_enter_running(cpu);     /* no longer quiescent; catch up with the map */
   int r = run_loop(cpu, max_insns, ex);
   __atomic_store_n(&cpu->qs, 1, __ATOMIC_SEQ_CST);
   return r;
}
