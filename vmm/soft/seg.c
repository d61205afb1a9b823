/*
 * vmm/soft/seg.c - segmentation: linear-address formation with limit and
 * type checks, segment register loads, descriptors, far JMP/CALL/RETF.
 */
#include "soft_int.h"

static unsigned seg_exc(unsigned seg)
{
   return seg == VMM_SS ? EXC_SS : EXC_GP;
}

uint64_t soft_seg_lin(soft_cpu *cpu, unsigned seg, uint64_t off, unsigned size, unsigned acc)
{
   const vmm_seg *s = &cpu->seg[seg];
   unsigned kind = acc & ACC_KIND;

   if (cpu->mode == MODE_PROT) {
      if (s->unusable)
         soft_raise(cpu, seg_exc(seg), 0);
      if (s->type & 8) {
         /* code: never writable; readable only with R */
         if (kind == ACC_W || (kind == ACC_R && !(s->type & 2)))
            soft_raise(cpu, seg_exc(seg), 0);
      } else if (kind == ACC_W && !(s->type & 2)) {
         soft_raise(cpu, seg_exc(seg), 0);
      }
      if (!(s->type & 8) && (s->type & 4)) {
         /* expand-down */
         uint64_t upper = s->db ? 0xffffffffull : 0xffff;
         if (off <= s->limit || off + size - 1 > upper)
            soft_raise(cpu, seg_exc(seg), 0);
         return (uint32_t)(s->base + off);
      }
   }
   if (off + size - 1 > s->limit)
      soft_raise(cpu, seg_exc(seg), 0);
   return (uint32_t)(s->base + off);
}

/* ---- descriptors -------------------------------------------------------- */

bool soft_read_desc(soft_cpu *cpu, uint16_t sel, uint64_t *lo, uint64_t *hi, bool need_hi)
{
   uint64_t base, limit;
   if (sel & 4) {
      if (cpu->ldtr.unusable || !cpu->ldtr.present)
         return false;
      base = cpu->ldtr.base;
      limit = cpu->ldtr.limit;
   } else {
      base = cpu->gdt.base;
      limit = cpu->gdt.limit;
   }
   uint64_t off = sel & ~7u;
   if (off + (need_hi ? 15 : 7) > limit)
      return false;
   *lo = lin_read(cpu, lin_mask(cpu, base + off), 8, ACC_R | ACC_SUPER);
   if (need_hi)
      *hi = lin_read(cpu, lin_mask(cpu, base + off + 8), 8, ACC_R | ACC_SUPER);
   return true;
}

void soft_desc_to_seg(vmm_seg *s, uint16_t sel, uint64_t lo, uint64_t hi)
{
   uint32_t limit = (uint32_t)((lo & 0xffff) | ((lo >> 32) & 0xf0000));
   s->selector = sel;
   s->base = ((lo >> 16) & 0xffffff) | ((lo >> 32) & 0xff000000u);
   s->type = (lo >> 40) & 0xf;
   s->s = (lo >> 44) & 1;
   s->dpl = (lo >> 45) & 3;
   s->present = (lo >> 47) & 1;
   s->avl = (lo >> 52) & 1;
   s->l = (lo >> 53) & 1;
   s->db = (lo >> 54) & 1;
   s->g = (lo >> 55) & 1;
   s->limit = s->g ? (limit << 12) | 0xfff : limit;
   s->unusable = 0;
   if (!s->s)
      s->base |= (hi & 0xffffffffull) << 32;
}

void soft_set_accessed(soft_cpu *cpu, uint16_t sel, uint64_t lo)
{
   if (lo & (1ull << 40))
      return;
   uint64_t base = (sel & 4) ? cpu->ldtr.base : cpu->gdt.base;
   uint64_t lin = lin_mask(cpu, base + (sel & ~7u) + 5);
   uint8_t b = (uint8_t)lin_read(cpu, lin, 1, ACC_R | ACC_SUPER);
   lin_write(cpu, lin, 1, b | 1, ACC_W | ACC_SUPER);
}

void soft_update_mode(soft_cpu *cpu)
{
   const vmm_seg *cs = &cpu->seg[VMM_CS];
   if (!(cpu->cr0 & CR0_PE)) {
      cpu->mode = MODE_REAL;
      cpu->cpl = 0;
   } else if (cpu->rflags & FL_VM) {
      cpu->mode = MODE_V86;
      cpu->cpl = 3;
   } else if ((cpu->efer & EFER_LMA) && cs->l) {
      cpu->mode = MODE_LONG64;
   } else {
      cpu->mode = MODE_PROT;
   }
   if (cpu->mode == MODE_LONG64) {
      cpu->code_size = 4;
      cpu->addr_size = 8;
      cpu->stack_size = 8;
   } else {
      cpu->code_size = cs->db ? 4 : 2;
      cpu->addr_size = cs->db ? 4 : 2;
      cpu->stack_size = cpu->seg[VMM_SS].db ? 4 : 2;
   }
   cpu->mmu_idx = cpu->cpl == 3;
   uint8_t key = (uint8_t)(cpu->mode | (cpu->code_size == 4 ? 4 : 0));
   if (key != cpu->mode_key) {
      cpu->mode_key = key;
      cpu->stop_block = 1;    /* what follows decodes differently */
   }
}

void soft_load_seg_real(soft_cpu *cpu, unsigned seg, uint16_t sel)
{
   vmm_seg *s = &cpu->seg[seg];
   s->selector = sel;
   s->base = (uint64_t)sel << 4;
   if (cpu->mode == MODE_V86) {
      s->limit = 0xffff;
      s->type = seg == VMM_CS ? 0xb : 3;
      s->s = 1;
      s->dpl = 3;
      s->present = 1;
      s->db = s->g = s->l = 0;
   }
   s->unusable = 0;
}

/* Load DS/ES/FS/GS/SS in protected or long mode. */
void soft_load_seg(soft_cpu *cpu, unsigned seg, uint16_t sel)
{
   if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86) {
      soft_load_seg_real(cpu, seg, sel);
      if (seg == VMM_SS)
         soft_update_mode(cpu);
      return;
   }
   vmm_seg *s = &cpu->seg[seg];
   unsigned rpl = sel & 3;
   if ((sel & ~3u) == 0) {
      if (seg == VMM_SS && !(cpu->mode == MODE_LONG64 && cpu->cpl != 3 && rpl == cpu->cpl))
         RAISE_GP(cpu, 0);
      uint64_t base = (seg == VMM_FS || seg == VMM_GS) ? s->base : 0;
      memset(s, 0, sizeof(*s));
      s->selector = sel;
      s->base = base;
      s->unusable = 1;
      if (seg == VMM_SS) {
         /* 64-bit null SS: usable as a flat stack */
         s->unusable = 0;
         s->dpl = cpu->cpl;
         s->type = 3;
         s->s = 1;
         s->present = 1;
         s->limit = 0xffffffff;
         s->db = 1;
         soft_update_mode(cpu);
      }
      return;
   }
   uint64_t lo, hi = 0;
   if (!soft_read_desc(cpu, sel, &lo, &hi, false))
      RAISE_GP(cpu, sel & 0xfffc);
   vmm_seg n;
   soft_desc_to_seg(&n, sel, lo, 0);
   if (!n.s)
      RAISE_GP(cpu, sel & 0xfffc);
   if (seg == VMM_SS) {
      if (rpl != cpu->cpl || n.dpl != cpu->cpl || (n.type & 8) || !(n.type & 2))
         RAISE_GP(cpu, sel & 0xfffc);
      if (!n.present)
         soft_raise(cpu, EXC_SS, sel & 0xfffc);
   } else {
      if ((n.type & 0xa) == 0x8)         /* execute-only code */
         RAISE_GP(cpu, sel & 0xfffc);
      bool conforming_code = (n.type & 0xc) == 0xc;
      if (!conforming_code && (n.dpl < cpu->cpl || n.dpl < rpl))
         RAISE_GP(cpu, sel & 0xfffc);
      if (!n.present)
         soft_raise(cpu, EXC_NP, sel & 0xfffc);
   }
   soft_set_accessed(cpu, sel, lo);
   n.type |= 1;
   *s = n;
   if (seg == VMM_SS)
      soft_update_mode(cpu);
}

/* ---- MOV/PUSH/POP Sreg, LDS etc. ------------------------------------------ */

void op_mov_r_sreg(soft_cpu *cpu, const soft_insn *in)
{
   unsigned sr = in->reg & 7;
   if (sr >= VMM_NSEG)
      RAISE_UD(cpu);
   uint16_t v = cpu->seg[sr].selector;
   if (in->mod == 3)
      reg_set(cpu, in, in->rm, in->osize == 2 ? 2 : in->osize, v);
   else
      rm_set(cpu, in, 2, v);
}

void op_mov_sreg_r(soft_cpu *cpu, const soft_insn *in)
{
   unsigned sr = in->reg & 7;
   if (sr >= VMM_NSEG || sr == VMM_CS)
      RAISE_UD(cpu);
   uint16_t v = (uint16_t)rm_get(cpu, in, 2);
   soft_load_seg(cpu, sr, v);
   if (sr == VMM_SS)
      cpu->intr_shadow = 2;
}

void op_push_sreg(soft_cpu *cpu, const soft_insn *in)
{
   unsigned sr;
   switch (in->op) {
   case 0x06: sr = VMM_ES; break;
   case 0x0e: sr = VMM_CS; break;
   case 0x16: sr = VMM_SS; break;
   case 0x1e: sr = VMM_DS; break;
   case 0x1a0: sr = VMM_FS; break;
   default: sr = VMM_GS; break;
   }
   soft_push(cpu, in->osize, cpu->seg[sr].selector);
}

void op_pop_sreg(soft_cpu *cpu, const soft_insn *in)
{
   unsigned sr;
   switch (in->op) {
   case 0x07: sr = VMM_ES; break;
   case 0x17: sr = VMM_SS; break;
   case 0x1f: sr = VMM_DS; break;
   case 0x1a1: sr = VMM_FS; break;
   default: sr = VMM_GS; break;
   }
   uint64_t sp = cpu->gpr[VMM_RSP];
   uint16_t v = (uint16_t)soft_pop(cpu, in->osize);
   uint64_t sp_after = cpu->gpr[VMM_RSP];
   cpu->gpr[VMM_RSP] = sp;           /* fault-safe: commit after the load */
   soft_load_seg(cpu, sr, v);
   cpu->gpr[VMM_RSP] = sp_after;
   if (sr == VMM_SS)
      cpu->intr_shadow = 2;
}

/* LES/LDS/LSS/LFS/LGS r, m16:16/32/64 */
void op_lxs(soft_cpu *cpu, const soft_insn *in)
{
   unsigned sr;
   if (in->mod == 3)
      RAISE_UD(cpu);
   switch (in->op) {
   case 0xc4: sr = VMM_ES; break;
   case 0xc5: sr = VMM_DS; break;
   case 0x1b2: sr = VMM_SS; break;
   case 0x1b4: sr = VMM_FS; break;
   default: sr = VMM_GS; break;
   }
   uint64_t off = soft_ea(cpu, in);
   uint64_t v = seg_read(cpu, in->seg, off, in->osize);
   uint16_t sel = (uint16_t)seg_read(cpu, in->seg, (off + in->osize) & sz_mask(in->asize), 2);
   soft_load_seg(cpu, sr, sel);
   reg_set(cpu, in, in->reg, in->osize, v);
}

/* ---- far control transfer ------------------------------------------------- */

/* Load CS for a far JMP/CALL/RETF target that is a code segment. */
static void load_cs_checked(soft_cpu *cpu, uint16_t sel, uint64_t lo, unsigned new_cpl)
{
   vmm_seg n;
   soft_desc_to_seg(&n, sel, lo, 0);
   soft_set_accessed(cpu, sel, lo);
   n.type |= 1;
   n.selector = (sel & ~3u) | new_cpl;
   cpu->seg[VMM_CS] = n;
   cpu->cpl = new_cpl;
   soft_update_mode(cpu);
}

/* Checks on a code-segment descriptor used as a direct far target. */
static void check_code_desc(soft_cpu *cpu, uint16_t sel, uint64_t lo)
{
   vmm_seg n;
   soft_desc_to_seg(&n, sel, lo, 0);
   if (!n.s || !(n.type & 8))
      RAISE_GP(cpu, sel & 0xfffc);
   if (n.type & 4) {                      /* conforming */
      if (n.dpl > cpu->cpl)
         RAISE_GP(cpu, sel & 0xfffc);
   } else if ((sel & 3) > cpu->cpl || n.dpl != cpu->cpl) {
      RAISE_GP(cpu, sel & 0xfffc);
   }
   if (!n.present)
      soft_raise(cpu, EXC_NP, sel & 0xfffc);
   if ((cpu->efer & EFER_LMA) && n.l && n.db)
      RAISE_GP(cpu, sel & 0xfffc);
}

static void check_target_ip(soft_cpu *cpu, uint64_t ip)
{
   const vmm_seg *cs = &cpu->seg[VMM_CS];
   if (cpu->mode == MODE_LONG64) {
      if ((uint64_t)((int64_t)((uint64_t)(ip) << 16) >> 16) != ip)
         RAISE_GP(cpu, 0);
   } else if (ip > cs->limit) {
      RAISE_GP(cpu, 0);
   }
}

/* Resolve a call gate: returns target selector/offset and the code
 * descriptor; raises the architectural faults. */
static void gate_target(soft_cpu *cpu, uint16_t gsel, uint64_t glo, uint64_t ghi,
                        uint16_t *tsel, uint64_t *toff, uint64_t *tlo, unsigned *gsize)
{
   unsigned type = (glo >> 40) & 0xf, dpl = (glo >> 45) & 3;
   bool lma = (cpu->efer & EFER_LMA) != 0;
   if (lma ? type != 0xc : (type != 0x4 && type != 0xc))
      RAISE_GP(cpu, gsel & 0xfffc);
   if (dpl < cpu->cpl || dpl < (gsel & 3u))
      RAISE_GP(cpu, gsel & 0xfffc);
   if (!((glo >> 47) & 1))
      soft_raise(cpu, EXC_NP, gsel & 0xfffc);
   *tsel = (uint16_t)(glo >> 16);
   *toff = (glo & 0xffff) | ((glo >> 32) & 0xffff0000u);
   if (lma)
      *toff |= (ghi & 0xffffffffull) << 32;
   *gsize = lma ? 8 : type == 0xc ? 4 : 2;
   if ((*tsel & ~3u) == 0)
      RAISE_GP(cpu, 0);
   uint64_t hi;
   if (!soft_read_desc(cpu, *tsel, tlo, &hi, false))
      RAISE_GP(cpu, *tsel & 0xfffc);
   vmm_seg n;
   soft_desc_to_seg(&n, *tsel, *tlo, 0);
   if (!n.s || !(n.type & 8) || n.dpl > cpu->cpl)
      RAISE_GP(cpu, *tsel & 0xfffc);
   if (!n.present)
      soft_raise(cpu, EXC_NP, *tsel & 0xfffc);
   if (lma && !(n.l && !n.db))
      RAISE_GP(cpu, *tsel & 0xfffc);
}

static void far_transfer(soft_cpu *cpu, const soft_insn *in, uint16_t sel, uint64_t off, bool call)
{
   unsigned os = in->osize;
   if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86) {
      uint64_t ip = off & sz_mask(os);
      if (ip > cpu->seg[VMM_CS].limit)
         RAISE_GP(cpu, 0);
      if (call) {
         soft_push(cpu, os, cpu->seg[VMM_CS].selector);
         soft_push(cpu, os, cpu->next_rip);
      }
      soft_load_seg_real(cpu, VMM_CS, sel);
      cpu->next_rip = ip;
      return;
   }
   if ((sel & ~3u) == 0)
      RAISE_GP(cpu, 0);
   uint64_t lo, hi = 0;
   if (!soft_read_desc(cpu, sel, &lo, &hi, false))
      RAISE_GP(cpu, sel & 0xfffc);
   bool is_code = (lo >> 44) & 1;
   soft_snapshot(cpu);
   if (is_code) {
      check_code_desc(cpu, sel, lo);
      uint64_t ip = off;
      vmm_seg n;
      soft_desc_to_seg(&n, sel, lo, 0);
      if (!((cpu->efer & EFER_LMA) && n.l))
         ip &= sz_mask(os);
      if (!((cpu->efer & EFER_LMA) && n.l) && ip > n.limit)
         RAISE_GP(cpu, 0);
      if (call) {
         soft_push(cpu, os, cpu->seg[VMM_CS].selector);
         soft_push(cpu, os, cpu->next_rip);
      }
      load_cs_checked(cpu, sel, lo, cpu->cpl);
      cpu->next_rip = ip;
      return;
   }
   /* system descriptor: call gate (task gates/TSS: see README gaps) */
   unsigned type = (lo >> 40) & 0xf;
   if (type == 0x5 || type == 0x1 || type == 0x9)
      RAISE_GP(cpu, sel & 0xfffc);     /* hardware task switch: not modelled */
   if (cpu->efer & EFER_LMA) {
      if (!soft_read_desc(cpu, sel, &lo, &hi, true))
         RAISE_GP(cpu, sel & 0xfffc);
      if (((hi >> 40) & 0x1f) != 0)
         RAISE_GP(cpu, sel & 0xfffc);
   }
   uint16_t tsel;
   uint64_t toff, tlo;
   unsigned gsize;
   gate_target(cpu, sel, lo, hi, &tsel, &toff, &tlo, &gsize);
   vmm_seg n;
   soft_desc_to_seg(&n, tsel, tlo, 0);
   bool conforming = (n.type & 4) != 0;
   if (!call || conforming || n.dpl == cpu->cpl) {
      if (!call && !conforming && n.dpl != cpu->cpl)
         RAISE_GP(cpu, tsel & 0xfffc);
      if (call) {
         soft_push(cpu, gsize, cpu->seg[VMM_CS].selector);
         soft_push(cpu, gsize, cpu->next_rip);
      }
      load_cs_checked(cpu, tsel, tlo, cpu->cpl);
      check_target_ip(cpu, toff);
      cpu->next_rip = gsize == 2 ? (uint16_t)toff : gsize == 4 ? (uint32_t)toff : toff;
      return;
   }
   /* CALL through a gate to an inner privilege level: stack switch via TSS. */
   unsigned ncpl = n.dpl;
   uint64_t nsp;
   uint16_t nss = 0;
   if (cpu->efer & EFER_LMA) {
      uint64_t a = cpu->tr.base + 4 + 8 * ncpl;
      if (4 + 8 * ncpl + 7 > cpu->tr.limit)
         soft_raise(cpu, EXC_TS, cpu->tr.selector & 0xfffc);
      nsp = lin_read(cpu, a, 8, ACC_R | ACC_SUPER);
   } else {
      unsigned w = (cpu->tr.type & 8) ? 4 : 2;
      uint64_t o = (w == 4) ? 4 + 8 * ncpl : 2 + 4 * ncpl;
      if (o + 2 * w - 1 > cpu->tr.limit)
         soft_raise(cpu, EXC_TS, cpu->tr.selector & 0xfffc);
      nsp = lin_read(cpu, lin_mask(cpu, cpu->tr.base + o), w, ACC_R | ACC_SUPER);
      nss = (uint16_t)lin_read(cpu, lin_mask(cpu, cpu->tr.base + o + w), 2, ACC_R | ACC_SUPER);
   }
   unsigned nparams = (lo >> 32) & 0x1f;
   uint16_t old_ss = cpu->seg[VMM_SS].selector;
   uint64_t old_sp = cpu->gpr[VMM_RSP];
   unsigned old_stack = cpu->stack_size;
   uint64_t params[32];
   if (!(cpu->efer & EFER_LMA)) {
      for (unsigned i = 0; i < nparams; i++)
         params[i] = seg_read(cpu, VMM_SS, (old_sp + (uint64_t)i * gsize) & sz_mask(old_stack), gsize);
   }
   cpu->cpl = ncpl;          /* SS load checks run at the new CPL */
   if (cpu->efer & EFER_LMA) {
      soft_load_seg(cpu, VMM_SS, (uint16_t)ncpl);   /* null SS with RPL = CPL */
      cpu->gpr[VMM_RSP] = nsp & ~0xfull;
   } else {
      if ((nss & ~3u) == 0)
         soft_raise(cpu, EXC_TS, 0);
      soft_load_seg(cpu, VMM_SS, nss);
      sp_set(cpu, nsp);
   }
   cpu->mmu_idx = ncpl == 3;
   soft_push(cpu, gsize, old_ss);
   soft_push(cpu, gsize, old_sp);
   for (unsigned i = nparams; i-- > 0;)
      soft_push(cpu, gsize, params[i]);
   soft_push(cpu, gsize, cpu->seg[VMM_CS].selector);
   soft_push(cpu, gsize, cpu->next_rip);
   load_cs_checked(cpu, tsel, tlo, ncpl);
   cpu->next_rip = gsize == 2 ? (uint16_t)toff : gsize == 4 ? (uint32_t)toff : toff;
}

void op_jmp_far(soft_cpu *cpu, const soft_insn *in)
{
   uint16_t sel;
   uint64_t off;
   if (in->op == 0xea) {
      sel = (uint16_t)in->imm2;
      off = in->imm;
   } else {
      if (in->mod == 3)
         RAISE_UD(cpu);
      uint64_t a = soft_ea(cpu, in);
      off = seg_read(cpu, in->seg, a, in->osize);
      sel = (uint16_t)seg_read(cpu, in->seg, (a + in->osize) & sz_mask(in->asize), 2);
   }
   far_transfer(cpu, in, sel, off, false);
}

void op_call_far(soft_cpu *cpu, const soft_insn *in)
{
   uint16_t sel;
   uint64_t off;
   if (in->op == 0x9a) {
      sel = (uint16_t)in->imm2;
      off = in->imm;
   } else {
      if (in->mod == 3)
         RAISE_UD(cpu);
      uint64_t a = soft_ea(cpu, in);
      off = seg_read(cpu, in->seg, a, in->osize);
      sel = (uint16_t)seg_read(cpu, in->seg, (a + in->osize) & sz_mask(in->asize), 2);
   }
   far_transfer(cpu, in, sel, off, true);
}

/* Null data segment registers the new (outer) CPL may not use. */
static void null_outer_segs(soft_cpu *cpu)
{
   static const unsigned segs[] = { VMM_ES, VMM_DS, VMM_FS, VMM_GS };
   for (unsigned i = 0; i < 4; i++) {
      vmm_seg *s = &cpu->seg[segs[i]];
      bool conforming_code = (s->type & 0xc) == 0xc && s->s;
      if (!s->unusable && !conforming_code && s->dpl < cpu->cpl) {
         uint64_t base = s->base;
         memset(s, 0, sizeof(*s));
         s->unusable = 1;
         if (segs[i] >= VMM_FS && cpu->mode == MODE_LONG64)
            s->base = base;
      }
   }
}

void op_retf(soft_cpu *cpu, const soft_insn *in)
{
   unsigned os = in->osize;
   uint64_t imm = in->op == 0xca ? in->imm : 0;
   uint64_t sp = sp_get(cpu);
   uint64_t ip = seg_read(cpu, VMM_SS, sp, os);
   uint16_t sel = (uint16_t)seg_read(cpu, VMM_SS, (sp + os) & sz_mask(cpu->stack_size), 2);

   if (cpu->mode == MODE_REAL || cpu->mode == MODE_V86) {
      if ((ip & sz_mask(os)) > cpu->seg[VMM_CS].limit)
         RAISE_GP(cpu, 0);
      soft_load_seg_real(cpu, VMM_CS, sel);
      sp_set(cpu, sp + 2 * os + imm);
      cpu->next_rip = ip & sz_mask(os);
      return;
   }
   if ((sel & ~3u) == 0)
      RAISE_GP(cpu, 0);
   uint64_t lo, hi;
   if (!soft_read_desc(cpu, sel, &lo, &hi, false))
      RAISE_GP(cpu, sel & 0xfffc);
   vmm_seg n;
   soft_desc_to_seg(&n, sel, lo, 0);
   unsigned rpl = sel & 3;
   if (!n.s || !(n.type & 8) || rpl < cpu->cpl)
      RAISE_GP(cpu, sel & 0xfffc);
   if ((n.type & 4) ? n.dpl > rpl : n.dpl != rpl)
      RAISE_GP(cpu, sel & 0xfffc);
   if (!n.present)
      soft_raise(cpu, EXC_NP, sel & 0xfffc);
   if ((cpu->efer & EFER_LMA) && n.l && n.db)
      RAISE_GP(cpu, sel & 0xfffc);
   bool to64 = (cpu->efer & EFER_LMA) && n.l;
   if (!to64)
      ip &= sz_mask(os);
   if (rpl == cpu->cpl) {
      if (to64 ? (uint64_t)((int64_t)((uint64_t)(ip) << 16) >> 16) != ip : ip > n.limit)
         RAISE_GP(cpu, 0);
      load_cs_checked(cpu, sel, lo, rpl);
      sp_set(cpu, sp + 2 * os + imm);
      cpu->next_rip = ip;
      return;
   }
   /* return to an outer privilege level: pop SS:SP as well */
   uint64_t sp2 = (sp + 2 * os + imm) & sz_mask(cpu->stack_size);
   uint64_t nsp = seg_read(cpu, VMM_SS, sp2, os);
   uint16_t nss = (uint16_t)seg_read(cpu, VMM_SS, (sp2 + os) & sz_mask(cpu->stack_size), 2);
   if (to64 ? (uint64_t)((int64_t)((uint64_t)(ip) << 16) >> 16) != ip : ip > n.limit)
      RAISE_GP(cpu, 0);
   soft_snapshot(cpu);
   load_cs_checked(cpu, sel, lo, rpl);
   if ((nss & ~3u) == 0 && !(cpu->mode == MODE_LONG64 && rpl != 3))
      RAISE_GP(cpu, 0);
   soft_load_seg(cpu, VMM_SS, nss);   /* faults roll back CS via the snapshot */
   sp_set(cpu, nsp + imm);
   if (cpu->stack_size == 8)
      cpu->gpr[VMM_RSP] = nsp + imm;
   null_outer_segs(cpu);
   cpu->next_rip = ip;
}
