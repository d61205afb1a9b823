/*
 * vmm/soft/ops.c - data movement, near control flow, stack, flag
 * instructions and other simple integer instructions.
 */
#include "soft_int.h"

/* ---- operand helpers --------------------------------------------------- */

uint64_t soft_ea(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t a = (uint64_t)in->disp;
   if (in->base != RM_NONE)
      a += in->base == RM_RIP ? cpu->rip + in->len : cpu->gpr[in->base];
   if (in->index != RM_NONE)
      a += cpu->gpr[in->index] << in->scale;
   return a & sz_mask(in->asize);
}

void soft_push(soft_cpu *cpu, unsigned size, uint64_t v)
{
   uint64_t sp = (sp_get(cpu) - size) & sz_mask(cpu->stack_size);
   seg_write(cpu, VMM_SS, sp, size, v);
   sp_set(cpu, sp);
}

uint64_t soft_pop(soft_cpu *cpu, unsigned size)
{
   uint64_t sp = sp_get(cpu);
   uint64_t v = seg_read(cpu, VMM_SS, sp, size);
   sp_set(cpu, sp + size);
   return v;
}

/* Near branch to 'target' with operand size osize (2, 4, 8). */
void soft_branch(soft_cpu *cpu, uint64_t target, unsigned osize)
{
   if (cpu->mode == MODE_LONG64) {
      if (osize == 2)
         target &= 0xffff;
      else if (osize == 4)
         target = (uint32_t)target;
      if ((uint64_t)((int64_t)((uint64_t)(target) << 16) >> 16) != target)
         RAISE_GP(cpu, 0);
   } else {
      target &= sz_mask(osize);
      if (target > cpu->seg[VMM_CS].limit)
         RAISE_GP(cpu, 0);
   }
   cpu->next_rip = target;
}

/* ---- MOV family ---------------------------------------------------------- */

void op_mov_rm_r(soft_cpu *cpu, const soft_insn *in)
{
   rm_set(cpu, in, in->osize, reg_get(cpu, in, in->reg, in->osize));
}

void op_mov_r_rm(soft_cpu *cpu, const soft_insn *in)
{
   reg_set(cpu, in, in->reg, in->osize, rm_get(cpu, in, in->osize));
}

void op_mov_r_imm(soft_cpu *cpu, const soft_insn *in)
{
   reg_set(cpu, in, in->reg, in->osize, in->imm);
}

void op_mov_rm_imm(soft_cpu *cpu, const soft_insn *in)
{
   if ((in->reg & 7) != 0)
      RAISE_UD(cpu);
   rm_set(cpu, in, in->osize, in->imm);
}

void op_mov_moffs(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t off = (uint64_t)in->disp & sz_mask(in->asize);
   if (in->op & 2)
      seg_write(cpu, in->seg, off, in->osize, reg_get(cpu, in, VMM_RAX, in->osize));
   else
      reg_set(cpu, in, VMM_RAX, in->osize, seg_read(cpu, in->seg, off, in->osize));
}

void op_lea(soft_cpu *cpu, const soft_insn *in)
{
   if (in->mod == 3)
      RAISE_UD(cpu);
   reg_set(cpu, in, in->reg, in->osize, soft_ea(cpu, in));
}

void op_movzx(soft_cpu *cpu, const soft_insn *in)
{
   unsigned ss = (in->op & 1) ? 2 : 1;
   reg_set(cpu, in, in->reg, in->osize, rm_get(cpu, in, ss));
}

void op_movsx(soft_cpu *cpu, const soft_insn *in)
{
   unsigned ss = (in->op & 1) ? 2 : 1;
   reg_set(cpu, in, in->reg, in->osize, (uint64_t)sext(rm_get(cpu, in, ss), ss));
}

void op_movsxd(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t v = rm_get(cpu, in, in->osize == 8 ? 4 : in->osize);
   reg_set(cpu, in, in->reg, in->osize, in->osize == 8 ? (uint64_t)(int64_t)(int32_t)v : v);
}

void op_cmov(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t v = rm_get(cpu, in, in->osize);
   if (soft_cond(cpu, in->op & 0xf))
      reg_set(cpu, in, in->reg, in->osize, v);
   else if (in->osize == 4)
      cpu->gpr[in->reg] = (uint32_t)cpu->gpr[in->reg];
}

void op_setcc(soft_cpu *cpu, const soft_insn *in)
{
   rm_set(cpu, in, 1, soft_cond(cpu, in->op & 0xf));
}

void op_xlat(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t off = (cpu->gpr[VMM_RBX] + (cpu->gpr[VMM_RAX] & 0xff)) & sz_mask(in->asize);
   gpr_set(cpu, VMM_RAX, 1, seg_read(cpu, in->seg, off, 1));
}

/* ---- near control flow ----------------------------------------------------- */

void op_jcc(soft_cpu *cpu, const soft_insn *in)
{
   if (soft_cond(cpu, in->op & 0xf))
      soft_branch(cpu, cpu->next_rip + in->imm, in->osize);
}

void op_jmp_rel(soft_cpu *cpu, const soft_insn *in)
{
   soft_branch(cpu, cpu->next_rip + in->imm, in->osize);
}

void op_call_rel(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t ret = cpu->next_rip;
   soft_branch(cpu, ret + in->imm, in->osize);
   soft_push(cpu, in->osize, ret);
}

void op_ret_near(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t sp = sp_get(cpu);
   uint64_t ip = seg_read(cpu, VMM_SS, sp, in->osize);
   soft_branch(cpu, ip, in->osize);
   sp_set(cpu, sp + in->osize + (in->op == 0xc2 ? in->imm : 0));
}

void op_loop(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t c = (cpu->gpr[VMM_RCX] - 1) & sz_mask(in->asize);
   bool take = c != 0;
   if (in->op == 0xe0)
      take = take && !soft_cond(cpu, 4);
   else if (in->op == 0xe1)
      take = take && soft_cond(cpu, 4);
   if (take)
      soft_branch(cpu, cpu->next_rip + in->imm, in->osize);
   gpr_set(cpu, VMM_RCX, in->asize, c);
}

void op_jcxz(soft_cpu *cpu, const soft_insn *in)
{
   if ((cpu->gpr[VMM_RCX] & sz_mask(in->asize)) == 0)
      soft_branch(cpu, cpu->next_rip + in->imm, in->osize);
}

/* ---- stack ---------------------------------------------------------------- */

void op_push_r(soft_cpu *cpu, const soft_insn *in)
{
   soft_push(cpu, in->osize, cpu->gpr[in->reg] & sz_mask(in->osize));
}

void op_pop_r(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t v = soft_pop(cpu, in->osize);
   gpr_set(cpu, in->reg, in->osize, v);
}

void op_push_imm(soft_cpu *cpu, const soft_insn *in)
{
   soft_push(cpu, in->osize, in->imm & sz_mask(in->osize));
}

void op_pop_rm(soft_cpu *cpu, const soft_insn *in)
{
   if ((in->reg & 7) != 0)
      RAISE_UD(cpu);
   uint64_t v = soft_pop(cpu, in->osize);
   rm_set(cpu, in, in->osize, v);   /* EA uses the incremented RSP */
}

void op_pusha(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t sp0 = cpu->gpr[VMM_RSP];
   for (unsigned r = 0; r < 8; r++)
      soft_push(cpu, in->osize, r == VMM_RSP ? sp0 : cpu->gpr[r]);
}

void op_popa(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t v[8];
   uint64_t sp = sp_get(cpu);
   for (int r = 7; r >= 0; r--) {
      v[r] = seg_read(cpu, VMM_SS, sp, in->osize);
      sp = (sp + in->osize) & sz_mask(cpu->stack_size);
   }
   for (unsigned r = 0; r < 8; r++)
      if (r != VMM_RSP)
         gpr_set(cpu, r, in->osize, v[r]);
   sp_set(cpu, sp);
}

void op_enter(soft_cpu *cpu, const soft_insn *in)
{
   unsigned os = in->osize;
   unsigned level = in->imm2 & 31;
   uint64_t smask = sz_mask(cpu->stack_size);
   soft_push(cpu, os, cpu->gpr[VMM_RBP]);
   uint64_t frame = sp_get(cpu);
   if (level > 0) {
      uint64_t bp = cpu->gpr[VMM_RBP] & smask;
      for (unsigned i = 1; i < level; i++) {
         bp = (bp - os) & smask;
         soft_push(cpu, os, seg_read(cpu, VMM_SS, bp, os));
      }
      soft_push(cpu, os, frame);
   }
   uint64_t nsp = (sp_get(cpu) - in->imm) & smask;
   /* the final stack pointer must be writable */
   seg_lin(cpu, VMM_SS, nsp, 1, ACC_W);
   gpr_set(cpu, VMM_RBP, os, frame);
   sp_set(cpu, nsp);
}

void op_leave(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t bp = cpu->gpr[VMM_RBP] & sz_mask(cpu->stack_size);
   uint64_t v = seg_read(cpu, VMM_SS, bp, in->osize);
   sp_set(cpu, bp + in->osize);
   gpr_set(cpu, VMM_RBP, in->osize, v);
}

/* ---- flags ------------------------------------------------------------------ */

void op_pushf(soft_cpu *cpu, const soft_insn *in)
{
   if (cpu->mode == MODE_V86 && ((cpu->rflags & FL_IOPL) >> 12) < 3)
      RAISE_GP(cpu, 0);
   soft_push(cpu, in->osize, soft_get_rflags(cpu) & ~(uint64_t)(FL_VM | FL_RF) & sz_mask(in->osize));
}

void op_popf(soft_cpu *cpu, const soft_insn *in)
{
   unsigned iopl = (cpu->rflags & FL_IOPL) >> 12;
   if (cpu->mode == MODE_V86 && iopl < 3)
      RAISE_GP(cpu, 0);
   uint64_t v = soft_pop(cpu, in->osize);
   uint64_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_AC | FL_ID;
   if (cpu->cpl == 0)
      mask |= FL_IOPL;
   if (cpu->cpl <= iopl)
      mask |= FL_IF;
   if (in->osize == 2)
      mask &= 0xffff;
   soft_set_rflags(cpu, v, mask);
}

void op_sahf(soft_cpu *cpu, const soft_insn *in)
{
   uint32_t f = soft_arith_flags(cpu);
   uint32_t ah = (cpu->gpr[VMM_RAX] >> 8) & (FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF);
   set_flags_eager(cpu, (f & FL_OF) | ah);
}

void op_lahf(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t f = (soft_get_rflags(cpu) & 0xd5) | 2;
   cpu->gpr[VMM_RAX] = (cpu->gpr[VMM_RAX] & ~0xff00ull) | (f << 8);
}

/* F5 CMC, F8 CLC, F9 STC, FC CLD, FD STD */
void op_flagop(soft_cpu *cpu, const soft_insn *in)
{
   uint32_t f;
   switch (in->op) {
   case 0xf5: f = soft_arith_flags(cpu); set_flags_eager(cpu, f ^ FL_CF); break;
   case 0xf8: f = soft_arith_flags(cpu); set_flags_eager(cpu, f & ~FL_CF); break;
   case 0xf9: f = soft_arith_flags(cpu); set_flags_eager(cpu, f | FL_CF); break;
   case 0xfc: cpu->rflags &= ~(uint64_t)FL_DF; break;
   default: cpu->rflags |= FL_DF; break;
   }
}

static bool iopl_ok(soft_cpu *cpu)
{
   if (cpu->mode == MODE_REAL)
      return true;
   return cpu->cpl <= ((cpu->rflags & FL_IOPL) >> 12);
}

void op_cli(soft_cpu *cpu, const soft_insn *in)
{
   if (!iopl_ok(cpu))
      RAISE_GP(cpu, 0);
   cpu->rflags &= ~(uint64_t)FL_IF;
}

void op_sti(soft_cpu *cpu, const soft_insn *in)
{
   if (!iopl_ok(cpu))
      RAISE_GP(cpu, 0);
   if (!(cpu->rflags & FL_IF))
      cpu->intr_shadow = 1;
   cpu->rflags |= FL_IF;
}

/* ---- misc ------------------------------------------------------------------- */

void op_nop(soft_cpu *cpu, const soft_insn *in)
{
}

void op_ud(soft_cpu *cpu, const soft_insn *in)
{
   RAISE_UD(cpu);
}

void op_hlt(soft_cpu *cpu, const soft_insn *in)
{
   need_cpl0(cpu);
   cpu->mp_state = VMM_MP_HALTED;
}

void op_fence(soft_cpu *cpu, const soft_insn *in)
{
   __asm__ volatile("mfence" ::: "memory");   /* the guest fence, on the host */
}

/* 0F AE: fences, CLFLUSH, RDFSBASE & co. */
void op_grp15(soft_cpu *cpu, const soft_insn *in)
{
   unsigned r = in->reg & 7;
   if (in->mod == 3) {
      if (in->rep == 0xf3 && r <= 3) {
         if (cpu->mode != MODE_LONG64 || !(cpu->cr4 & CR4_FSGSBASE))
            RAISE_UD(cpu);
         unsigned sz = in->osize == 8 ? 8 : 4;
         unsigned sr = (r & 1) ? VMM_GS : VMM_FS;
         if (r < 2) {
            reg_set(cpu, in, in->rm, sz, cpu->seg[sr].base);
         } else {
            uint64_t v = reg_get(cpu, in, in->rm, sz);
            if ((uint64_t)((int64_t)((uint64_t)(v) << 16) >> 16) != v)
               RAISE_GP(cpu, 0);
            cpu->seg[sr].base = v;
         }
         return;
      }
      if (in->rep == 0 && r >= 5) {
         __asm__ volatile("mfence" ::: "memory");   /* the guest fence, on the host */
         return;
      }
      RAISE_UD(cpu);
   }
   if (r <= 5 && in->rep == 0 && !in->opsz_pfx && soft_op_fpstate(cpu, in))
      return;     /* FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, XSAVE, XRSTOR */
   if (r == 7 && in->rep == 0 && !in->opsz_pfx) {
      /* CLFLUSH: needs a valid, readable address */
      uint64_t lin = ea_lin(cpu, in, 1, ACC_R);
      uint64_t pa;
      soft_translate(cpu, lin, ACC_R, &pa);
      return;
   }
   RAISE_UD(cpu);
}

void op_bound(soft_cpu *cpu, const soft_insn *in)
{
   if (in->mod == 3)
      RAISE_UD(cpu);
   uint64_t off = soft_ea(cpu, in);
   int64_t lo = sext(seg_read(cpu, in->seg, off, in->osize), in->osize);
   int64_t hi = sext(seg_read(cpu, in->seg, (off + in->osize) & sz_mask(in->asize), in->osize), in->osize);
   int64_t v = sext(reg_get(cpu, in, in->reg, in->osize), in->osize);
   if (v < lo || v > hi)
      soft_raise_noerr(cpu, EXC_BR);
}
