/*
 * vmm/soft/system.c - system instructions: control and debug registers,
 * MSRs, CPUID, TSC, descriptor-table registers, LLDT/LTR, LAR/LSL/VERR/VERW,
 * SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS, ARPL.
 */
#include <stdlib.h>
#include <x86intrin.h>

#include "soft_int.h"

/* ---- control registers -------------------------------------------------- */

static bool canonical(uint64_t v)
{
   return (uint64_t)((int64_t)((uint64_t)(v) << 16) >> 16) == v;
}

void soft_write_cr0(soft_cpu *cpu, uint64_t v)
{
   uint64_t old = cpu->cr0;
   if (v >> 32)
      RAISE_GP(cpu, 0);
   v |= CR0_ET;
   if ((v & CR0_PG) && !(v & CR0_PE))
      RAISE_GP(cpu, 0);
   if ((v & CR0_NW) && !(v & CR0_CD))
      RAISE_GP(cpu, 0);
   if ((v & CR0_PG) && !(old & CR0_PG)) {
      if (cpu->efer & EFER_LME) {
         if (!(cpu->cr4 & CR4_PAE) || cpu->seg[VMM_CS].l)
            RAISE_GP(cpu, 0);
      } else if (cpu->cr4 & CR4_PAE) {
         uint64_t save = cpu->cr0;
         cpu->cr0 = v;
         bool ok = soft_load_pdptes(cpu);
         cpu->cr0 = save;
         if (!ok)
            RAISE_GP(cpu, 0);
      }
   }
   if (!(v & CR0_PG) && (old & CR0_PG) && cpu->mode == MODE_LONG64)
      RAISE_GP(cpu, 0);
   cpu->cr0 = v;
   if ((v & CR0_PG) && (cpu->efer & EFER_LME))
      cpu->efer |= EFER_LMA;
   else if (!(v & CR0_PG))
      cpu->efer &= ~(uint64_t)EFER_LMA;
   if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE))
      soft_tlb_flush(cpu, true);
   soft_update_mode(cpu);
}

void soft_write_cr3(soft_cpu *cpu, uint64_t v)
{
   if ((cpu->efer & EFER_LMA) && (v >> cpu->maxphyaddr))
      RAISE_GP(cpu, 0);
   if (!(cpu->efer & EFER_LMA))
      v = (uint32_t)v;
   uint64_t old = cpu->cr3;
   cpu->cr3 = v;
   if ((cpu->cr0 & CR0_PG) && (cpu->cr4 & CR4_PAE) && !(cpu->efer & EFER_LMA)) {
      if (!soft_load_pdptes(cpu)) {
         cpu->cr3 = old;
         RAISE_GP(cpu, 0);
      }
   }
   soft_tlb_flush(cpu, false);
}

static uint64_t cr4_valid_mask(void)
{
   return CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE |
          CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_FSGSBASE | CR4_OSXSAVE | CR4_SMEP | CR4_SMAP;
}

void soft_write_cr4(soft_cpu *cpu, uint64_t v)
{
   uint64_t old = cpu->cr4;
   if (v & ~cr4_valid_mask())
      RAISE_GP(cpu, 0);
   if ((cpu->efer & EFER_LMA) && !(v & CR4_PAE))
      RAISE_GP(cpu, 0);
   if ((cpu->cr0 & CR0_PG) && (v & CR4_PAE) && !(cpu->efer & EFER_LMA) &&
       ((old ^ v) & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP))) {
      cpu->cr4 = v;
      if (!soft_load_pdptes(cpu)) {
         cpu->cr4 = old;
         RAISE_GP(cpu, 0);
      }
   }
   cpu->cr4 = v;
   if ((old ^ v) & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP | CR4_SMAP))
      soft_tlb_flush(cpu, true);
}

/* 0F 20/22 MOV r, CRn / MOV CRn, r */
void op_mov_cr(soft_cpu *cpu, const soft_insn *in)
{
   unsigned n = in->reg;
   unsigned r = in->rm;
   if (n != 0 && n != 2 && n != 3 && n != 4 && n != 8)
      RAISE_UD(cpu);
   need_cpl0(cpu);
   bool to_cr = in->op == 0x122;
   bool wide = cpu->mode == MODE_LONG64;
   if (!to_cr) {
      uint64_t v;
      switch (n) {
      case 0: v = cpu->cr0; break;
      case 2: v = cpu->cr2; break;
      case 3: v = cpu->cr3; break;
      case 4: v = cpu->cr4; break;
      default:
         v = cpu->cr8;
         if (cpu->io->cr8_read)
            CALLOUT(cpu, v = cpu->io->cr8_read(cpu->io->opaque, cpu));
         break;
      }
      cpu->gpr[r] = wide ? v : (uint32_t)v;
      return;
   }
   uint64_t v = wide ? cpu->gpr[r] : (uint32_t)cpu->gpr[r];
   switch (n) {
   case 0: soft_write_cr0(cpu, v); break;
   case 2: cpu->cr2 = v; break;
   case 3: soft_write_cr3(cpu, v); break;
   case 4: soft_write_cr4(cpu, v); break;
   default:
      if (v & ~0xfull)
         RAISE_GP(cpu, 0);
      cpu->cr8 = v;
      if (cpu->io->cr8_write)
         CALLOUT(cpu, cpu->io->cr8_write(cpu->io->opaque, cpu, v));
      break;
   }
}

/* 0F 21/23: debug registers are stored; breakpoints are not modelled. */
void op_mov_dr(soft_cpu *cpu, const soft_insn *in)
{
   unsigned n = in->reg;
   if (n > 7)
      RAISE_UD(cpu);
   if ((n == 4 || n == 5) && (cpu->cr4 & CR4_DE))
      RAISE_UD(cpu);
   need_cpl0(cpu);
   if (n == 4 || n == 5)
      n += 2;
   bool wide = cpu->mode == MODE_LONG64;
   if (in->op == 0x121) {
      uint64_t v = cpu->dr[n];
      cpu->gpr[in->rm] = wide ? v : (uint32_t)v;
      return;
   }
   uint64_t v = wide ? cpu->gpr[in->rm] : (uint32_t)cpu->gpr[in->rm];
   if ((n == 6 || n == 7) && (v >> 32))
      RAISE_GP(cpu, 0);
   if (n == 6)
      v = (v & 0xe00f) | 0xffff0ff0u;
   else if (n == 7)
      v = (v & ~0xd800ull) | 0x400;
   cpu->dr[n] = v;
}

void op_clts(soft_cpu *cpu, const soft_insn *in)
{
   need_cpl0(cpu);
   cpu->cr0 &= ~(uint64_t)CR0_TS;
}

void op_invd(soft_cpu *cpu, const soft_insn *in)
{
   need_cpl0(cpu);
}

/* ---- MSRs ---------------------------------------------------------------- */

uint64_t soft_rdtsc(soft_cpu *cpu)
{
   return __rdtsc() + cpu->tsc_offset;
}

bool soft_msr_read(soft_cpu *cpu, uint32_t idx, uint64_t *v)
{
   if (cpu->io->msr_read) {
      int r;
      CALLOUT(cpu, r = cpu->io->msr_read(cpu->io->opaque, cpu, idx, v));
      if (r >= 0)
         return r > 0;
   }
   switch (idx) {
   case MSR_TSC: *v = soft_rdtsc(cpu); return true;
   case MSR_APIC_BASE: *v = cpu->apic_base; return true;
   case MSR_SYSENTER_CS: *v = cpu->sysenter_cs; return true;
   case MSR_SYSENTER_ESP: *v = cpu->sysenter_esp; return true;
   case MSR_SYSENTER_EIP: *v = cpu->sysenter_eip; return true;
   case MSR_PAT: *v = cpu->pat; return true;
   case MSR_MISC_ENABLE: *v = cpu->misc_enable; return true;
   case MSR_EFER: *v = cpu->efer; return true;
   case MSR_STAR: *v = cpu->star; return true;
   case MSR_LSTAR: *v = cpu->lstar; return true;
   case MSR_CSTAR: *v = cpu->cstar; return true;
   case MSR_SFMASK: *v = cpu->sfmask; return true;
   case MSR_FS_BASE: *v = cpu->seg[VMM_FS].base; return true;
   case MSR_GS_BASE: *v = cpu->seg[VMM_GS].base; return true;
   case MSR_KERNEL_GS_BASE: *v = cpu->kernel_gs_base; return true;
   case MSR_TSC_AUX: *v = cpu->tsc_aux; return true;
   /* AMD configuration registers Linux sets on AMD CPUs (the PCI ECS
    * enable, LFENCE serialization): kept and read back, no effect. */
   case MSR_AMD64_NB_CFG: *v = cpu->amd_nb_cfg; return true;
   case MSR_AMD64_DE_CFG: *v = cpu->amd_de_cfg | 2; return true;
   /* HWCR: TscFreqSel (bit 24), the TSC counts at the P0 frequency */
   case MSR_K7_HWCR: *v = cpu->amd_hwcr | (1u << 24); return true;
   default: return false;
   }
}

bool soft_msr_write(soft_cpu *cpu, uint32_t idx, uint64_t v)
{
   if (cpu->io->msr_write) {
      int r;
      CALLOUT(cpu, r = cpu->io->msr_write(cpu->io->opaque, cpu, idx, v));
      if (r >= 0)
         return r > 0;
   }
   switch (idx) {
   case MSR_TSC: cpu->tsc_offset = v - __rdtsc(); return true;
   case MSR_APIC_BASE:
      if (v & ~(0xfffff000ull | 0x900 | ((1ull << cpu->maxphyaddr) - 1)))
         return false;
      cpu->apic_base = v;
      return true;
   case MSR_SYSENTER_CS: cpu->sysenter_cs = v & 0xffff; return true;
   case MSR_SYSENTER_ESP:
      if (!canonical(v))
         return false;
      cpu->sysenter_esp = v;
      return true;
   case MSR_SYSENTER_EIP:
      if (!canonical(v))
         return false;
      cpu->sysenter_eip = v;
      return true;
   case MSR_PAT:
      for (unsigned i = 0; i < 8; i++) {
         unsigned t = (v >> (8 * i)) & 0xff;
         if (t == 2 || t == 3 || t > 7)
            return false;
      }
      cpu->pat = v;
      return true;
   case MSR_MISC_ENABLE: cpu->misc_enable = v; return true;
   case MSR_EFER: {
      uint64_t valid = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
      if (v & ~valid)
         return false;
      if ((cpu->cr0 & CR0_PG) && ((v ^ cpu->efer) & EFER_LME))
         return false;
      v = (v & ~(uint64_t)EFER_LMA) | (cpu->efer & EFER_LMA);
      if ((v ^ cpu->efer) & EFER_NXE)
         soft_tlb_flush(cpu, true);
      cpu->efer = v;
      soft_update_mode(cpu);
      return true;
   }
   case MSR_STAR: cpu->star = v; return true;
   case MSR_LSTAR:
   case MSR_CSTAR:
   case MSR_FS_BASE:
   case MSR_GS_BASE:
   case MSR_KERNEL_GS_BASE:
      if (!canonical(v))
         return false;
      if (idx == MSR_LSTAR) cpu->lstar = v;
      else if (idx == MSR_CSTAR) cpu->cstar = v;
      else if (idx == MSR_FS_BASE) cpu->seg[VMM_FS].base = v;
      else if (idx == MSR_GS_BASE) cpu->seg[VMM_GS].base = v;
      else cpu->kernel_gs_base = v;
      return true;
   case MSR_SFMASK: cpu->sfmask = (uint32_t)v; return true;
   case MSR_TSC_AUX: cpu->tsc_aux = (uint32_t)v; return true;
   case MSR_AMD64_NB_CFG: cpu->amd_nb_cfg = v; return true;
   case MSR_AMD64_DE_CFG: cpu->amd_de_cfg = v; return true;
   case MSR_K7_HWCR:
      if (v >> 32)
         return false;
      cpu->amd_hwcr = v;
      return true;
   default: return false;
   }
}

void op_rdmsr(soft_cpu *cpu, const soft_insn *in)
{
   need_cpl0(cpu);
   uint64_t v;
   if (!soft_msr_read(cpu, (uint32_t)cpu->gpr[VMM_RCX], &v))
      RAISE_GP(cpu, 0);
   cpu->gpr[VMM_RAX] = (uint32_t)v;
   cpu->gpr[VMM_RDX] = v >> 32;
}

void op_wrmsr(soft_cpu *cpu, const soft_insn *in)
{
   need_cpl0(cpu);
   uint64_t v = ((cpu->gpr[VMM_RDX] & 0xffffffffull) << 32) | (uint32_t)cpu->gpr[VMM_RAX];
   if (!soft_msr_write(cpu, (uint32_t)cpu->gpr[VMM_RCX], v))
      RAISE_GP(cpu, 0);
}

void op_rdtsc(soft_cpu *cpu, const soft_insn *in)
{
   if ((cpu->cr4 & CR4_TSD) && cpu->cpl != 0)
      RAISE_GP(cpu, 0);
   uint64_t t = soft_rdtsc(cpu);
   cpu->gpr[VMM_RAX] = (uint32_t)t;
   cpu->gpr[VMM_RDX] = t >> 32;
}

void op_rdtscp(soft_cpu *cpu, const soft_insn *in)
{
   op_rdtsc(cpu, in);
   cpu->gpr[VMM_RCX] = (uint32_t)cpu->tsc_aux;
}

void op_rdpmc(soft_cpu *cpu, const soft_insn *in)
{
   /* no performance counters are modelled */
   RAISE_GP(cpu, 0);
}

/* ---- descriptor tables -------------------------------------------------------- */

static void load_system_seg(soft_cpu *cpu, uint16_t sel, bool is_tr)
{
   if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86)
      RAISE_UD(cpu);
   need_cpl0(cpu);
   if ((sel & ~3u) == 0) {
      if (is_tr)
         RAISE_GP(cpu, 0);
      memset(&cpu->ldtr, 0, sizeof(cpu->ldtr));
      cpu->ldtr.selector = sel;
      cpu->ldtr.unusable = 1;
      return;
   }
   if (sel & 4)
      RAISE_GP(cpu, sel & 0xfffc);
   bool lma = (cpu->efer & EFER_LMA) != 0;
   uint64_t lo, hi = 0;
   if (!soft_read_desc(cpu, sel, &lo, &hi, lma))
      RAISE_GP(cpu, sel & 0xfffc);
   vmm_seg n;
   soft_desc_to_seg(&n, sel, lo, hi);
   if (n.s)
      RAISE_GP(cpu, sel & 0xfffc);
   if (is_tr) {
      if (n.type != 9 && (lma || n.type != 1))
         RAISE_GP(cpu, sel & 0xfffc);
   } else if (n.type != 2) {
      RAISE_GP(cpu, sel & 0xfffc);
   }
   if (lma && ((hi >> 40) & 0x1f))
      RAISE_GP(cpu, sel & 0xfffc);
   if (lma && !canonical(n.base))
      RAISE_GP(cpu, sel & 0xfffc);
   if (!n.present)
      soft_raise(cpu, EXC_NP, sel & 0xfffc);
   if (is_tr) {
      uint64_t lin = lin_mask(cpu, cpu->gdt.base + (sel & ~7u) + 5);
      uint8_t b = (uint8_t)lin_read(cpu, lin, 1, ACC_R | ACC_SUPER);
      lin_write(cpu, lin, 1, b | 2, ACC_W | ACC_SUPER);
      n.type |= 2;
      cpu->tr = n;
   } else {
      cpu->ldtr = n;
   }
}

/* 0F 00: SLDT, STR, LLDT, LTR, VERR, VERW */
void op_grp6(soft_cpu *cpu, const soft_insn *in)
{
   unsigned r = in->reg & 7;
   if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86)
      RAISE_UD(cpu);
   switch (r) {
   case 0:
   case 1: {
      uint16_t v = r == 0 ? cpu->ldtr.selector : cpu->tr.selector;
      if (in->mod == 3)
         reg_set(cpu, in, in->rm, in->osize, v);
      else
         rm_set(cpu, in, 2, v);
      return;
   }
   case 2:
   case 3:
      need_cpl0(cpu);
      load_system_seg(cpu, (uint16_t)rm_get(cpu, in, 2), r == 3);
      return;
   case 4:
   case 5: {
      uint16_t sel = (uint16_t)rm_get(cpu, in, 2);
      uint32_t f = soft_arith_flags(cpu) & ~FL_ZF;
      uint64_t lo, hi;
      if ((sel & ~3u) && soft_read_desc(cpu, sel, &lo, &hi, false)) {
         vmm_seg n;
         soft_desc_to_seg(&n, sel, lo, 0);
         bool conf = (n.type & 0xc) == 0xc;
         bool ok = n.s && (conf || (n.dpl >= cpu->cpl && n.dpl >= (sel & 3u)));
         if (r == 4)
            ok = ok && (!(n.type & 8) || (n.type & 2));
         else
            ok = ok && !(n.type & 8) && (n.type & 2);
         if (ok)
            f |= FL_ZF;
      }
      set_flags_eager(cpu, f);
      return;
   }
   default:
      RAISE_UD(cpu);
   }
}

static void store_dt(soft_cpu *cpu, const soft_insn *in, const vmm_dtable *t)
{
   if (in->mod == 3)
      RAISE_UD(cpu);
   uint64_t off = soft_ea(cpu, in);
   unsigned bsz = cpu->mode == MODE_LONG64 ? 8 : 4;
   seg_write(cpu, in->seg, off, 2, t->limit);
   seg_write(cpu, in->seg, (off + 2) & sz_mask(in->asize), bsz, t->base);
}

static void load_dt(soft_cpu *cpu, const soft_insn *in, vmm_dtable *t)
{
   if (in->mod == 3)
      RAISE_UD(cpu);
   need_cpl0(cpu);
   uint64_t off = soft_ea(cpu, in);
   uint16_t limit = (uint16_t)seg_read(cpu, in->seg, off, 2);
   uint64_t base;
   if (cpu->mode == MODE_LONG64) {
      base = seg_read(cpu, in->seg, (off + 2) & sz_mask(in->asize), 8);
      if (!canonical(base))
         RAISE_GP(cpu, 0);
   } else {
      base = seg_read(cpu, in->seg, (off + 2) & sz_mask(in->asize), 4);
      if (in->osize == 2)
         base &= 0xffffff;
   }
   t->base = base;
   t->limit = limit;
}

/* 0F 01 */
void op_grp7(soft_cpu *cpu, const soft_insn *in)
{
   unsigned r = in->reg & 7;
   if (in->mod == 3) {
      unsigned rm = in->rm & 7;
      switch (r) {
      case 1:
         if (rm == 2 || rm == 3) {   /* CLAC / STAC */
            need_cpl0(cpu);
            if (rm == 2)
               cpu->rflags &= ~(uint64_t)FL_AC;
            else
               cpu->rflags |= FL_AC;
            return;
         }
         RAISE_UD(cpu);
      case 2:
         if (rm == 0 || rm == 1) {   /* XGETBV / XSETBV */
            if (in->opsz_pfx || in->rep)
               RAISE_UD(cpu);
            soft_op_xgetbv(cpu, rm == 1);
            return;
         }
         RAISE_UD(cpu);
      case 4:
         break;    /* SMSW register */
      case 6:
         break;    /* LMSW register */
      case 7:
         if (rm == 0) {              /* SWAPGS */
            if (cpu->mode != MODE_LONG64)
               RAISE_UD(cpu);
            need_cpl0(cpu);
            uint64_t t = cpu->seg[VMM_GS].base;
            cpu->seg[VMM_GS].base = cpu->kernel_gs_base;
            cpu->kernel_gs_base = t;
            return;
         }
         if (rm == 1) {              /* RDTSCP */
            op_rdtscp(cpu, in);
            return;
         }
         RAISE_UD(cpu);
      default:
         RAISE_UD(cpu);
      }
   }
   switch (r) {
   case 0: store_dt(cpu, in, &cpu->gdt); return;
   case 1: store_dt(cpu, in, &cpu->idt); return;
   case 2: load_dt(cpu, in, &cpu->gdt); return;
   case 3: load_dt(cpu, in, &cpu->idt); return;
   case 4:
      if (in->mod == 3)
         reg_set(cpu, in, in->rm, in->osize, cpu->cr0 & sz_mask(in->osize));
      else
         rm_set(cpu, in, 2, cpu->cr0 & 0xffff);
      return;
   case 6: {
      need_cpl0(cpu);
      uint64_t v = rm_get(cpu, in, 2) & 0xf;
      if (cpu->cr0 & CR0_PE)
         v |= CR0_PE;
      soft_write_cr0(cpu, (cpu->cr0 & ~0xfull) | v);
      return;
   }
   case 7: {                         /* INVLPG */
      need_cpl0(cpu);
      uint64_t off = soft_ea(cpu, in);
      uint64_t lin = cpu->mode == MODE_LONG64
                        ? off + ((in->seg >= VMM_FS) ? cpu->seg[in->seg].base : 0)
                        : (uint32_t)(cpu->seg[in->seg].base + off);
      soft_tlb_flush_page(cpu, lin);
      return;
   }
   default:
      RAISE_UD(cpu);
   }
}

/* 0F 02 LAR, 0F 03 LSL */
static void lar_lsl(soft_cpu *cpu, const soft_insn *in, bool lsl)
{
   if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86)
      RAISE_UD(cpu);
   uint16_t sel = (uint16_t)rm_get(cpu, in, 2);
   uint32_t f = soft_arith_flags(cpu) & ~FL_ZF;
   uint64_t lo, hi;
   bool lma = (cpu->efer & EFER_LMA) != 0;
   if ((sel & ~3u) && soft_read_desc(cpu, sel, &lo, &hi, false)) {
      vmm_seg n;
      soft_desc_to_seg(&n, sel, lo, 0);
      bool ok;
      if (n.s) {
         bool conf = (n.type & 0xc) == 0xc;
         ok = conf || (n.dpl >= cpu->cpl && n.dpl >= (sel & 3u));
      } else {
         uint32_t okmask;
         /* legacy LAR: types 1,2,3,4,5,9,B,C; LSL: 1,2,3,9,B. long: 2,9,B (+C for LAR) */
         if (lma)
            okmask = lsl ? ((1u << 2) | (1u << 9) | (1u << 11)) : ((1u << 2) | (1u << 9) | (1u << 11) | (1u << 12));
         else
            okmask = lsl ? ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 9) | (1u << 11))
                         : ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 9) | (1u << 11) | (1u << 12));
         ok = ((okmask >> n.type) & 1) && n.dpl >= cpu->cpl && n.dpl >= (sel & 3u);
      }
      if (ok) {
         f |= FL_ZF;
         if (lsl)
            reg_set(cpu, in, in->reg, in->osize, n.limit);
         else
            reg_set(cpu, in, in->reg, in->osize, (lo >> 32) & (in->osize == 2 ? 0xff00 : 0xf0ff00));
      }
   }
   set_flags_eager(cpu, f);
}

void op_lar(soft_cpu *cpu, const soft_insn *in) { lar_lsl(cpu, in, false); }
void op_lsl(soft_cpu *cpu, const soft_insn *in) { lar_lsl(cpu, in, true); }

void op_arpl(soft_cpu *cpu, const soft_insn *in)
{
   if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86)
      RAISE_UD(cpu);
   uint64_t d = rm_get(cpu, in, 2);
   uint64_t s = reg_get(cpu, in, in->reg, 2);
   uint32_t f = soft_arith_flags(cpu) & ~FL_ZF;
   if ((d & 3) < (s & 3)) {
      rm_set(cpu, in, 2, (d & ~3ull) | (s & 3));
      f |= FL_ZF;
   }
   set_flags_eager(cpu, f);
}

/* ---- fast system calls ----------------------------------------------------------- */

static void flat_seg(vmm_seg *s, uint16_t sel, unsigned type, unsigned dpl, bool l, bool db)
{
   memset(s, 0, sizeof(*s));
   s->selector = sel;
   s->limit = 0xffffffff;
   s->type = type;
   s->s = 1;
   s->dpl = dpl;
   s->present = 1;
   s->l = l;
   s->db = db;
   s->g = 1;
}

void op_syscall(soft_cpu *cpu, const soft_insn *in)
{
   if (!(cpu->efer & EFER_SCE) || cpu->mode == MODE_REAL || cpu->mode == MODE_V86)
      RAISE_UD(cpu);
   uint16_t sel = (uint16_t)(cpu->star >> 32);
   uint64_t fl = soft_get_rflags(cpu);
   if (cpu->efer & EFER_LMA) {
      cpu->gpr[VMM_RCX] = cpu->next_rip;
      cpu->gpr[VMM_R11] = fl & ~(uint64_t)FL_RF;
      uint64_t target = cpu->mode == MODE_LONG64 ? cpu->lstar : cpu->cstar;
      flat_seg(&cpu->seg[VMM_CS], sel & 0xfffc, 0xb, 0, true, false);
      flat_seg(&cpu->seg[VMM_SS], (sel + 8) & 0xfffc, 3, 0, false, true);
      cpu->cpl = 0;
      soft_set_rflags(cpu, fl & ~(cpu->sfmask | FL_RF), ~0ull);
      soft_update_mode(cpu);
      cpu->next_rip = target;
   } else {
      cpu->gpr[VMM_RCX] = (uint32_t)cpu->next_rip;
      flat_seg(&cpu->seg[VMM_CS], sel & 0xfffc, 0xb, 0, false, true);
      flat_seg(&cpu->seg[VMM_SS], (sel + 8) & 0xfffc, 3, 0, false, true);
      cpu->cpl = 0;
      soft_set_rflags(cpu, fl & ~(uint64_t)(FL_VM | FL_IF | FL_RF), ~0ull);
      soft_update_mode(cpu);
      cpu->next_rip = (uint32_t)cpu->star;
   }
}

void op_sysret(soft_cpu *cpu, const soft_insn *in)
{
   if (!(cpu->efer & EFER_SCE) || cpu->mode == MODE_REAL || cpu->mode == MODE_V86)
      RAISE_UD(cpu);
   need_cpl0(cpu);
   uint16_t sel = (uint16_t)(cpu->star >> 48);
   if (cpu->efer & EFER_LMA) {
      uint64_t target;
      if (in->osize == 8) {
         target = cpu->gpr[VMM_RCX];
         if (!canonical(target))
            RAISE_GP(cpu, 0);
         flat_seg(&cpu->seg[VMM_CS], (uint16_t)((sel + 16) | 3), 0xb, 3, true, false);
      } else {
         target = (uint32_t)cpu->gpr[VMM_RCX];
         flat_seg(&cpu->seg[VMM_CS], (uint16_t)(sel | 3), 0xb, 3, false, true);
      }
      /* SS keeps its cached flat attributes (AMD/Intel behaviour) */
      flat_seg(&cpu->seg[VMM_SS], (uint16_t)((sel + 8) | 3), 3, 3, false, true);
      cpu->cpl = 3;
      soft_set_rflags(cpu, cpu->gpr[VMM_R11], ~(uint64_t)(FL_VM | FL_RF));
      soft_update_mode(cpu);
      cpu->next_rip = target;
   } else {
      flat_seg(&cpu->seg[VMM_CS], (uint16_t)(sel | 3), 0xb, 3, false, true);
      flat_seg(&cpu->seg[VMM_SS], (uint16_t)((sel + 8) | 3), 3, 3, false, true);
      cpu->cpl = 3;
      cpu->rflags |= FL_IF;
      soft_update_mode(cpu);
      cpu->next_rip = (uint32_t)cpu->gpr[VMM_RCX];
   }
}

void op_sysenter(soft_cpu *cpu, const soft_insn *in)
{
   if (cpu->mode == MODE_REAL || (cpu->sysenter_cs & 0xfffc) == 0)
      RAISE_GP(cpu, 0);
   uint16_t cs = (uint16_t)(cpu->sysenter_cs & 0xfffc);
   bool lma = (cpu->efer & EFER_LMA) != 0;
   flat_seg(&cpu->seg[VMM_CS], cs, 0xb, 0, lma, !lma);
   flat_seg(&cpu->seg[VMM_SS], (uint16_t)(cs + 8), 3, 0, false, true);
   cpu->cpl = 0;
   cpu->rflags &= ~(uint64_t)(FL_VM | FL_IF | FL_RF);
   soft_update_mode(cpu);
   cpu->gpr[VMM_RSP] = lma ? cpu->sysenter_esp : (uint32_t)cpu->sysenter_esp;
   cpu->next_rip = lma ? cpu->sysenter_eip : (uint32_t)cpu->sysenter_eip;
}

void op_sysexit(soft_cpu *cpu, const soft_insn *in)
{
   if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86 || (cpu->sysenter_cs & 0xfffc) == 0)
      RAISE_GP(cpu, 0);
   need_cpl0(cpu);
   uint16_t cs = (uint16_t)(cpu->sysenter_cs & 0xfffc);
   if (in->osize == 8) {
      if (!canonical(cpu->gpr[VMM_RDX]) || !canonical(cpu->gpr[VMM_RCX]))
         RAISE_GP(cpu, 0);
      flat_seg(&cpu->seg[VMM_CS], (uint16_t)((cs + 32) | 3), 0xb, 3, true, false);
      flat_seg(&cpu->seg[VMM_SS], (uint16_t)((cs + 40) | 3), 3, 3, false, true);
      cpu->gpr[VMM_RSP] = cpu->gpr[VMM_RCX];
      cpu->next_rip = cpu->gpr[VMM_RDX];
   } else {
      flat_seg(&cpu->seg[VMM_CS], (uint16_t)((cs + 16) | 3), 0xb, 3, false, true);
      flat_seg(&cpu->seg[VMM_SS], (uint16_t)((cs + 24) | 3), 3, 3, false, true);
      cpu->gpr[VMM_RSP] = (uint32_t)cpu->gpr[VMM_RCX];
      cpu->next_rip = (uint32_t)cpu->gpr[VMM_RDX];
   }
   cpu->cpl = 3;
   soft_update_mode(cpu);
}
