/*
 * vmm/soft/jit-forms.c - the translator's code for one instruction: the
 * inline forms (see jit.c for what is inline and how flags are kept) and
 * the call to the handler for everything else.
 */
#include "jit_int.h"

/* A byte register as the instruction names it: AH-BH without REX. */
static int32_t byte_reg_off(const soft_insn *in, unsigned r)
{
   if (!in->rex && r >= 4 && r < 8)
      return GPR(r - 4) + 1;
   return GPR(r);
}

/* After an inline op that left the guest's flags in the host's and the
 * lazy flags of this kind and size in soft_cpu. */
static void flags_from(flagstate *fs, unsigned kind, unsigned size)
{
   fs->live = true;
   fs->kind = (uint8_t)kind;
   fs->size = (uint8_t)size;
}

/* rdx = the guest's arithmetic flags before this instruction, exactly
 * (for the instructions that leave some of them as they were). */
static void emit_old_flags(jit_asm *a, flagstate *fs)
{
   if (fs->kind == CC_EFLAGS) {
      op_c(a, 0, 0x8b, RDX, OFF(cc_src));
   } else if (fs->live) {
      /* the host's flags are the guest's, but for AF after a logic op
       * (undefined on the host, 0 here) */
      b1(a, 0x9c);                                             /* pushfq */
      b1(a, 0x5a);                                             /* pop rdx */
      op_r(a, 0, 0x81, 4, RDX), b4(a, FL_ARITH & (fs->kind == CC_LOGIC ? ~FL_AF : ~0u));
   } else {
      op_r(a, 1, 0x89, RBX, RDI);
      call_abs(a, (const void *)soft_jit_flags);
      op_r(a, 1, 0x89, RAX, RDX);
   }
}

/* The host's CF = the guest's: from the host flags or the lazy ones. */
static void emit_carry_in(jit_asm *a, flagstate *fs)
{
   if (make_live(a, fs))
      return;
   op_r(a, 1, 0x89, RBX, RDI);
   mov_imm(a, RSI, 2);
   call_abs(a, (const void *)soft_jit_cond);
   op_r(a, 0, 0x0fba, 4, RAX), b1(a, 0);                       /* bt eax, 0 */
}

/* reg = instruction i's r/m operand of size 4 or 8: the register, or
 * memory read through the TLB (a miss to s). rcx, rdx clobbered for
 * memory. */
static void load_rm(jit_asm *a, unsigned i, jit_slow *s, unsigned size, int reg)
{
   const soft_insn *in = &a->insn[i];
   if (in->mod != 3) {
      emit_lin(a, i);
      emit_tlb(a, s, size, false);
      op_m(a, size == 8, 0x8b, reg, RDX, NOREG, 0, 0);
   } else {
      op_c(a, size == 8, 0x8b, reg, GPR(in->rm));
   }
}

static void eager_flags_rdx(jit_asm *a, flagstate *fs)
{
   op_c(a, 0, 0xc7, 0, OFF(cc_op)), b4(a, CC_EFLAGS);
   op_c(a, 1, 0x89, RDX, OFF(cc_src));
   fs->kind = CC_EFLAGS;
   fs->live = false;
}

/* host 8-bit ALU opcodes (op r/m8, r8) */
static const unsigned alu_host8[8] = {
   [0] = 0x00, [1] = 0x08, [4] = 0x20, [5] = 0x28, [6] = 0x30, [7] = 0x28,
};

/* al op= cl, the lazy flags stored, the result to dst (a register byte or
 * the host address in rdx) unless CMP. */
static void emit_alu8(jit_asm *a, flagstate *fs, unsigned op, int32_t dst_off, bool dst_mem)
{
   op_r(a, 0, alu_host8[op], RCX, RAX);
   if (op != 7) {
      if (dst_mem)
         op_m(a, 0, 0x88, RAX, RDX, NOREG, 0, 0);
      else
         op_c(a, 0, 0x88, RAX, dst_off);
   }
   emit_cc(a, alu_kind(op), 1, RCX, false);
   flags_from(fs, alu_kind(op), 1);
}

/* More generic-handler forms: byte ALU/TEST/CMP/MOV, MUL/IMUL/DIV, ADC/SBB,
 * ROL/ROR by an immediate, NOP. */
static bool emit_generic_form2(jit_asm *a, unsigned i, flagstate *fs)
{
   const soft_insn *in = &a->insn[i];
   soft_fn fn = in->fn;
   unsigned size = in->osize, w = size == 8;
   bool lm = a->cpu->mode == MODE_LONG64;
   bool mem = in->mod != 3;

   if (fn == op_nop)
      return true;
   if (fn == op_test_acc_imm && size == 1) {
      op_c(a, 0, 0x0fb6, RAX, GPR(VMM_RAX));
      mov_imm(a, RCX, in->imm & 0xff);
      op_r(a, 0, 0x20, RCX, RAX);                              /* and al, cl */
      emit_cc(a, CC_LOGIC, 1, NOREG, false);
      flags_from(fs, CC_LOGIC, 1);
      return true;
   }
   if (fn == op_grp45 && lm && size == 8 && ((in->reg & 7) == 2 || (in->reg & 7) == 4)) {
      /* CALL/JMP r/m64: the target, canonical, (the return address
       * pushed), on through the jump cache */
      bool call = (in->reg & 7) == 2;
      jit_slow *s = add_slow(a, i, false);
      load_rm(a, i, s, 8, RSI);
      op_r(a, 1, 0x89, RSI, RDX);
      op_r(a, 1, 0xc1, 4, RDX), b1(a, 16);
      op_r(a, 1, 0xc1, 7, RDX), b1(a, 16);
      op_r(a, 1, 0x39, RSI, RDX);
      slow_fix(a, s, jcc_fwd(a, CC_NE));
      if (call) {
         op_c(a, 1, 0x8b, RAX, GPR(VMM_RSP));
         op_m(a, 1, 0x8d, RAX, RAX, NOREG, 0, -8);
         emit_tlb(a, s, 8, true);
         mov_imm(a, RCX, a->rips[i + 1]);
         op_m(a, 1, 0x89, RCX, RDX, NOREG, 0, 0);
         op_c(a, 1, 0x89, RAX, GPR(VMM_RSP));
      }
      op_r(a, 1, 0x89, RSI, RCX);
      add_exit(a, jmp_fwd(a), EX_RCX, i + 1, 0);
      fs->live = false;
      return true;
   }
   if (fn == op_grp45 && lm && mem && (size == 4 || size == 8) && (in->reg & 7) <= 1) {
      /* INC/DEC [mem]: CF kept */
      jit_slow *s = add_slow(a, i, true);
      emit_carry_in(a, fs);
      b1(a, 0x0f), b1(a, 0x92), b1(a, 0xc2);                   /* setc dl */
      op_r(a, 0, 0x0fb6, RSI, RDX);                            /* movzx esi, dl */
      emit_lin(a, i);
      emit_tlb(a, s, size, true);
      op_m(a, w, 0x8b, RAX, RDX, NOREG, 0, 0);
      op_r(a, 0, 0x0fba, 4, RSI), b1(a, 0);                    /* bt esi, 0 */
      op_r(a, w, 0xff, in->reg & 7, RAX);                      /* inc/dec rax */
      op_m(a, w, 0x89, RAX, RDX, NOREG, 0, 0);
      op_c(a, 0, 0xc7, 0, OFF(cc_op)), b4(a, CCOP((in->reg & 7) ? CC_DEC : CC_INC, sz_log(size)));
      op_c(a, 1, 0x89, RAX, OFF(cc_dst));
      op_c(a, 1, 0xc7, 0, OFF(cc_src)), b4(a, 0);
      op_c(a, 1, 0x89, RSI, OFF(cc_src2));
      begin_slow_resume(a, s);
      fs->live = true;
      fs->kind = KIND_UNKNOWN;
      return true;
   }
   if (fn == op_grp3 && !mem && (size == 4 || size == 8) && ((in->reg & 7) == 2 || (in->reg & 7) == 3)) {
      if ((in->reg & 7) == 2) {
         op_c(a, w, 0x8b, RAX, GPR(in->rm));
         op_r(a, w, 0xf7, 2, RAX);                             /* not rax: no flags */
         op_c(a, 1, 0x89, RAX, GPR(in->rm));
         return true;
      }
      op_c(a, w, 0x8b, RCX, GPR(in->rm));
      op_r(a, 0, 0x31, RAX, RAX);                              /* xor eax, eax */
      op_r(a, w, 0x29, RCX, RAX);                              /* sub rax, rcx: NEG's flags */
      op_c(a, 1, 0x89, RAX, GPR(in->rm));
      emit_cc(a, CC_SUB, size, RCX, false);
      flags_from(fs, CC_SUB, size);
      return true;
   }
   if (size == 1) {
      if (fn == op_alu_acc_imm) {
         unsigned op = (in->op >> 3) & 7;
         if (op == 2 || op == 3)
            return false;
         op_c(a, 0, 0x0fb6, RAX, GPR(VMM_RAX));
         mov_imm(a, RCX, in->imm & 0xff);
         emit_alu8(a, fs, op, GPR(VMM_RAX), false);
         return true;
      }
      if ((fn == op_alu_rm_r || fn == op_alu_r_rm || fn == op_grp1) && !mem) {
         unsigned op = fn == op_grp1 ? (in->reg & 7) : ((in->op >> 3) & 7);
         if (op == 2 || op == 3)
            return false;
         unsigned dst = fn == op_alu_r_rm ? in->reg : in->rm;
         op_c(a, 0, 0x0fb6, RAX, byte_reg_off(in, dst));
         if (fn == op_grp1)
            mov_imm(a, RCX, in->imm & 0xff);
         else
            op_c(a, 0, 0x0fb6, RCX, byte_reg_off(in, fn == op_alu_r_rm ? in->rm : in->reg));
         emit_alu8(a, fs, op, byte_reg_off(in, dst), false);
         return true;
      }
      if (fn == op_alu_r_rm && mem && lm) {
         unsigned op = (in->op >> 3) & 7;
         if (op == 2 || op == 3)
            return false;
         jit_slow *s = add_slow(a, i, true);
         emit_lin(a, i);
         emit_tlb(a, s, 1, false);
         op_m(a, 0, 0x0fb6, RCX, RDX, NOREG, 0, 0);
         op_c(a, 0, 0x0fb6, RAX, byte_reg_off(in, in->reg));
         emit_alu8(a, fs, op, byte_reg_off(in, in->reg), false);
         begin_slow_resume(a, s);
         return true;
      }
      if (fn == op_test_rm_r && !mem) {
         op_c(a, 0, 0x0fb6, RAX, byte_reg_off(in, in->rm));
         op_c(a, 0, 0x0fb6, RCX, byte_reg_off(in, in->reg));
         op_r(a, 0, 0x20, RCX, RAX);                           /* and al, cl */
         emit_cc(a, CC_LOGIC, 1, NOREG, false);
         flags_from(fs, CC_LOGIC, 1);
         return true;
      }
      if (fn == op_grp3 && (in->reg & 7) <= 1 && (!mem || lm)) {
         jit_slow *s = NULL;
         if (mem) {
            s = add_slow(a, i, true);
            emit_lin(a, i);
            emit_tlb(a, s, 1, false);
            op_m(a, 0, 0x0fb6, RAX, RDX, NOREG, 0, 0);
         } else {
            op_c(a, 0, 0x0fb6, RAX, byte_reg_off(in, in->rm));
         }
         mov_imm(a, RCX, in->imm & 0xff);
         op_r(a, 0, 0x20, RCX, RAX);
         emit_cc(a, CC_LOGIC, 1, NOREG, false);
         begin_slow_resume(a, s);
         flags_from(fs, CC_LOGIC, 1);
         return true;
      }
      if (fn == op_mov_rm_r && mem && lm) {
         jit_slow *s = add_slow(a, i, false);
         emit_lin(a, i);
         emit_tlb(a, s, 1, true);
         op_c(a, 0, 0x0fb6, RCX, byte_reg_off(in, in->reg));
         op_m(a, 0, 0x88, RCX, RDX, NOREG, 0, 0);
         begin_slow_resume(a, s);
         fs->live = false;
         return true;
      }
      if (fn == op_mov_r_rm && mem && lm) {
         jit_slow *s = add_slow(a, i, false);
         emit_lin(a, i);
         emit_tlb(a, s, 1, false);
         op_m(a, 0, 0x0fb6, RCX, RDX, NOREG, 0, 0);
         op_c(a, 0, 0x88, RCX, byte_reg_off(in, in->reg));
         begin_slow_resume(a, s);
         fs->live = false;
         return true;
      }
      return false;
   }
   if (size != 4 && size != 8)
      return false;
   if (fn == op_grp3 && (in->reg & 7) <= 1 && mem && lm) {
      jit_slow *s = add_slow(a, i, true);
      emit_lin(a, i);
      emit_tlb(a, s, size, false);
      op_m(a, w, 0x8b, RAX, RDX, NOREG, 0, 0);
      load_imm_rcx(a, size == 8 ? in->imm : (uint32_t)in->imm);
      op_r(a, w, 0x21, RCX, RAX);
      emit_cc(a, CC_LOGIC, size, NOREG, false);
      begin_slow_resume(a, s);
      flags_from(fs, CC_LOGIC, size);
      return true;
   }
   if (fn == op_grp3 && (size == 4 || size == 8) && (in->reg & 7) >= 4 && (in->reg & 7) <= 6 &&
       (!mem || lm)) {
      /* MUL/IMUL/DIV r/m (rdx:rax): the host's own instruction. Flags as
       * alu.c leaves them: after MUL/IMUL CF = OF = the high half is
       * significant, the rest as they were (mul_flags); after DIV CF/OF
       * kept, SF = ZF = PF = 0, AF = 1. A DIV that would fault (a zero
       * divisor, a quotient too wide: rdx >= divisor) and a memory
       * operand the TLB misses run the handler. */
      unsigned op = in->reg & 7;
      jit_slow *s = mem || op == 6 ? add_slow(a, i, false) : NULL;
      emit_old_flags(a, fs);
      op_r(a, 1, 0x89, RDX, RSI);                              /* mov rsi, rdx */
      load_rm(a, i, s, size, RCX);
      op_c(a, w, 0x8b, RAX, GPR(VMM_RAX));
      if (op == 6) {
         op_c(a, w, 0x8b, RDX, GPR(VMM_RDX));
         op_r(a, w, 0x39, RCX, RDX);                           /* cmp rdx, rcx */
         slow_fix(a, s, jcc_fwd(a, CC_AE));
      }
      op_r(a, w, 0xf7, op, RCX);                               /* mul/imul/div rcx */
      op_c(a, 1, 0x89, RAX, GPR(VMM_RAX));
      op_c(a, 1, 0x89, RDX, GPR(VMM_RDX));
      if (op == 6) {
         op_r(a, 0, 0x81, 4, RSI), b4(a, FL_CF | FL_OF);       /* and esi, CF|OF */
         op_r(a, 0, 0x81, 1, RSI), b4(a, FL_AF);               /* or esi, AF */
      } else {
         b1(a, 0x0f), b1(a, 0x90), b1(a, 0xc1);                /* seto cl */
         op_r(a, 0, 0x0fb6, RCX, RCX);
         op_r(a, 0, 0x69, RCX, RCX), b4(a, FL_CF | FL_OF);
         op_r(a, 0, 0x81, 4, RSI), b4(a, FL_ARITH & ~(FL_CF | FL_OF));
         op_r(a, 0, 0x09, RCX, RSI);                           /* or esi, ecx */
      }
      op_c(a, 0, 0xc7, 0, OFF(cc_op)), b4(a, CC_EFLAGS);
      op_c(a, 1, 0x89, RSI, OFF(cc_src));
      fs->kind = CC_EFLAGS;
      fs->live = false;
      begin_slow_resume(a, s);
      return true;
   }
   if ((fn == op_imul_r_rm || fn == op_imul_imm) && !mem) {
      /* CF = OF = the product does not fit; SF/ZF/AF/PF as they were
       * (mul_flags, alu.c) */
      if (a->flags_dead[i]) {
         if (fn == op_imul_r_rm) {
            op_c(a, w, 0x8b, RAX, GPR(in->reg));
            op_c(a, w, 0x0faf, RAX, GPR(in->rm));
         } else {
            load_imm_rcx(a, size == 8 ? in->imm : (uint32_t)in->imm);
            op_c(a, w, 0x8b, RAX, GPR(in->rm));
            op_r(a, w, 0x0faf, RAX, RCX);
         }
         op_c(a, 1, 0x89, RAX, GPR(in->reg));
         fs->live = false;
         return true;
      }
      emit_old_flags(a, fs);
      if (fn == op_imul_r_rm) {
         op_c(a, w, 0x8b, RAX, GPR(in->reg));
         op_c(a, w, 0x0faf, RAX, GPR(in->rm));                 /* imul rax, [rm] */
      } else {
         load_imm_rcx(a, size == 8 ? in->imm : (uint32_t)in->imm);
         op_c(a, w, 0x8b, RAX, GPR(in->rm));
         op_r(a, w, 0x0faf, RAX, RCX);                         /* imul rax, rcx */
      }
      op_c(a, 1, 0x89, RAX, GPR(in->reg));
      b1(a, 0x0f), b1(a, 0x90), b1(a, 0xc1);                   /* seto cl */
      op_r(a, 0, 0x0fb6, RCX, RCX);
      op_r(a, 0, 0x69, RCX, RCX), b4(a, FL_CF | FL_OF);
      op_r(a, 0, 0x81, 4, RDX), b4(a, FL_ARITH & ~(FL_CF | FL_OF));
      op_r(a, 0, 0x09, RCX, RDX);                              /* or edx, ecx */
      eager_flags_rdx(a, fs);
      return true;
   }
   if ((fn == op_alu_rm_r || fn == op_alu_r_rm || fn == op_grp1 || fn == op_alu_acc_imm) &&
       (!mem || fn == op_alu_acc_imm)) {
      unsigned op = fn == op_grp1 ? (in->reg & 7) : ((in->op >> 3) & 7);
      if (op != 2 && op != 3)
         return false;
      bool adc = op == 2;
      unsigned dst = fn == op_alu_acc_imm ? VMM_RAX : fn == op_alu_r_rm ? in->reg : in->rm;
      emit_carry_in(a, fs);
      b1(a, 0x0f), b1(a, 0x92), b1(a, 0xc2);                   /* setc dl */
      op_r(a, 0, 0x0fb6, RDX, RDX);                            /* movzx edx, dl */
      if (fn == op_grp1 || fn == op_alu_acc_imm)
         load_imm_rcx(a, size == 8 ? in->imm : (uint32_t)in->imm);
      else
         op_c(a, w, 0x8b, RCX, GPR(fn == op_alu_r_rm ? in->rm : in->reg));
      op_c(a, w, 0x8b, RAX, GPR(dst));
      op_r(a, w, adc ? 0x11 : 0x19, RCX, RAX);                 /* adc/sbb rax, rcx */
      op_c(a, 1, 0x89, RAX, GPR(dst));
      emit_cc(a, adc ? CC_ADC : CC_SBB, size, RCX, true);
      fs->live = true;            /* the host's ADC/SBB flags are exact */
      fs->kind = KIND_UNKNOWN;
      return true;
   }
   if (fn == op_shift && !mem && (in->op == 0xc1 || in->op == 0xd1) && (in->reg & 7) <= 1) {
      unsigned cnt = (unsigned)(in->op == 0xd1 ? 1 : in->imm) & (size == 8 ? 63 : 31);
      unsigned bits = size * 8;
      bool rol = (in->reg & 7) == 0;
      if (!cnt)
         return false;
      emit_old_flags(a, fs);
      op_c(a, w, 0x8b, RAX, GPR(in->rm));
      op_r(a, w, 0xc1, rol ? 0 : 1, RAX), b1(a, cnt);
      op_c(a, 1, 0x89, RAX, GPR(in->rm));
      /* ROL: CF = LSB, OF = MSB ^ CF; ROR: CF = MSB, OF = MSB ^ MSB-1 */
      op_r(a, 1, 0x89, RAX, RCX);
      if (rol)
         op_r(a, 0, 0x83, 4, RCX), b1(a, 1);
      else
         op_r(a, 1, 0xc1, 5, RCX), b1(a, bits - 1);
      op_r(a, 1, 0x89, RAX, RSI);
      op_r(a, 1, 0xc1, 5, RSI), b1(a, rol ? bits - 1 : bits - 2);
      if (rol) {
         op_r(a, 0, 0x31, RCX, RSI);                           /* xor esi, ecx */
      } else {
         op_r(a, 1, 0x89, RSI, RDI);
         op_r(a, 0, 0xd1, 5, RDI);                             /* shr edi, 1 */
         op_r(a, 0, 0x31, RDI, RSI);                           /* xor esi, edi */
      }
      op_r(a, 0, 0x83, 4, RSI), b1(a, 1);
      op_r(a, 0, 0xc1, 4, RSI), b1(a, 11);
      op_r(a, 0, 0x81, 4, RDX), b4(a, FL_ARITH & ~(FL_CF | FL_OF));
      op_r(a, 0, 0x09, RCX, RDX);
      op_r(a, 0, 0x09, RSI, RDX);
      eager_flags_rdx(a, fs);
      return true;
   }
   return false;
}

/* SSE2 integer ops "op xmm, xmm/m128" (66 0F xx): the same opcode on the
 * host, no MXCSR involvement, no exceptions but the memory operand's. */
static bool sse_int_binary(unsigned op)
{
   unsigned b = op & 0xff;
   if ((op & 0xf00) != 0x100)
      return false;
   return (b >= 0x60 && b <= 0x6d) || (b >= 0x74 && b <= 0x76) || (b >= 0xd1 && b <= 0xd5) ||
          (b >= 0xd8 && b <= 0xdf) || (b >= 0xe0 && b <= 0xe5) || (b >= 0xe8 && b <= 0xef) ||
          (b >= 0xf1 && b <= 0xf6) || (b >= 0xf8 && b <= 0xfe);
}

static int32_t xmm_off(jit_asm *a, unsigned i)
{
   return (int32_t)(soft_xmm(a->cpu, i) - (uint8_t *)a->cpu);
}

/* movdqu xmmN, [base+disp] / movdqu [base+disp], xmmN */
static void movdqu_ld(jit_asm *a, int x, int base, int32_t disp)
{
   b1(a, 0xf3);
   op_m(a, 0, 0x0f6f, x, base, NOREG, 0, disp);
}

static void movdqu_st(jit_asm *a, int x, int base, int32_t disp)
{
   b1(a, 0xf3);
   op_m(a, 0, 0x0f7f, x, base, NOREG, 0, disp);
}

/* SSE may run, else the handler (which raises #UD or #NM) */
static void emit_sse_check(jit_asm *a, flagstate *fs, jit_slow *s)
{
   if (fs->sse_ok)
      return;
   op_c(a, 0, 0xf6, 0, OFF(cr0)), b1(a, CR0_EM | CR0_TS);      /* test byte [cr0], EM|TS */
   slow_fix(a, s, jcc_fwd(a, CC_NE));
   op_c(a, 0, 0xf6, 0, OFF(cr4) + 1), b1(a, CR4_OSFXSR >> 8);  /* test byte, OSFXSR */
   slow_fix(a, s, jcc_fwd(a, CC_E));
   fs->live = false;
   fs->sse_ok = true;
}

/* rdx = host address of the 16-byte memory operand (aligned if asked) */
static void emit_sse_mem(jit_asm *a, unsigned i, jit_slow *s, bool write, bool aligned)
{
   emit_lin(a, i);
   if (aligned) {
      b1(a, 0xa8), b1(a, 15);                                  /* test al, 15 */
      slow_fix(a, s, jcc_fwd(a, CC_NE));
   }
   emit_tlb(a, s, 16, write);
}

/* xmm0 = the guest's reg operand, xmm1 = its r/m operand (register or
 * memory: 16 bytes, aligned if asked), after the SSE check. */
static void emit_sse_operands(jit_asm *a, unsigned i, flagstate *fs, jit_slow *s, bool aligned)
{
   const soft_insn *in = &a->insn[i];
   emit_sse_check(a, fs, s);
   if (in->mod != 3) {
      emit_sse_mem(a, i, s, false, aligned);
      movdqu_ld(a, 1, RDX, 0);
   } else {
      movdqu_ld(a, 1, RBX, xmm_off(a, in->rm));
   }
   movdqu_ld(a, 0, RBX, xmm_off(a, in->reg));
}

/* The SSE2 integer forms strlen/memchr-style code lives on, and MOVD/MOVQ,
 * MOVDQA/MOVDQU, PSHUFD, PMOVMSKB, PCMPISTRI. 64-bit mode for memory. */
static bool emit_sse_form(jit_asm *a, unsigned i, flagstate *fs)
{
   const soft_insn *in = &a->insn[i];
   bool lm = a->cpu->mode == MODE_LONG64;
   bool mem = in->mod != 3;
   unsigned op = in->op;

   if (in->fn != op_sse || in->lock || (mem && !lm))
      return false;
   bool p66 = in->opsz_pfx && !in->rep, pf3 = in->rep == 0xf3 && !in->opsz_pfx;
   bool rexw = (in->rex & 8) != 0;
   jit_slow *s;

   if (p66 && (sse_int_binary(op) || op == 0x170)) {
      s = add_slow(a, i, false);
      emit_sse_operands(a, i, fs, s, true);
      b1(a, 0x66);
      op_r(a, 0, op == 0x170 ? 0x0f70 : (0x0f00 | (op & 0xff)), 0, 1);   /* op xmm0, xmm1 */
      if (op == 0x170)
         b1(a, (unsigned)in->imm & 0xff);
      movdqu_st(a, 0, RBX, xmm_off(a, in->reg));
      begin_slow_resume(a, s);
      fs->live = false;
      return true;
   }
   if ((p66 || pf3) && (op == 0x16f || op == 0x17f)) {
      /* MOVDQA (aligned) / MOVDQU */
      s = add_slow(a, i, false);
      emit_sse_check(a, fs, s);
      bool load = op == 0x16f;
      if (mem)
         emit_sse_mem(a, i, s, !load, p66);
      if (load) {
         if (mem)
            movdqu_ld(a, 0, RDX, 0);
         else
            movdqu_ld(a, 0, RBX, xmm_off(a, in->rm));
         movdqu_st(a, 0, RBX, xmm_off(a, in->reg));
      } else {
         movdqu_ld(a, 0, RBX, xmm_off(a, in->reg));
         if (mem)
            movdqu_st(a, 0, RDX, 0);
         else
            movdqu_st(a, 0, RBX, xmm_off(a, in->rm));
      }
      begin_slow_resume(a, s);
      fs->live = false;
      return true;
   }
   if (p66 && op == 0x1d7 && !mem) {
      /* PMOVMSKB r32, xmm */
      s = add_slow(a, i, false);
      emit_sse_check(a, fs, s);
      movdqu_ld(a, 1, RBX, xmm_off(a, in->rm));
      b1(a, 0x66), b1(a, 0x0f), b1(a, 0xd7), b1(a, 0xc1);      /* pmovmskb eax, xmm1 */
      op_c(a, 1, 0x89, RAX, GPR(in->reg));
      begin_slow_resume(a, s);
      fs->live = false;
      return true;
   }
   if (p66 && (op == 0x16e || op == 0x17e)) {
      /* MOVD/MOVQ xmm, r/m32/64 and r/m32/64, xmm */
      unsigned sz = rexw ? 8 : 4;
      s = add_slow(a, i, false);
      emit_sse_check(a, fs, s);
      if (op == 0x16e) {
         load_rm(a, i, s, sz, RAX);
         op_c(a, 1, 0x89, RAX, xmm_off(a, in->reg));           /* low 64 (zero-extended) */
         op_c(a, 1, 0xc7, 0, xmm_off(a, in->reg) + 8), b4(a, 0);
      } else {
         op_c(a, rexw, 0x8b, RAX, xmm_off(a, in->reg));
         if (mem) {
            op_r(a, 1, 0x89, RAX, RSI);                        /* keep the value */
            emit_lin(a, i);
            emit_tlb(a, s, sz, true);
            op_m(a, rexw, 0x89, RSI, RDX, NOREG, 0, 0);
         } else {
            op_c(a, 1, 0x89, RAX, GPR(in->rm));
         }
      }
      begin_slow_resume(a, s);
      fs->live = false;
      return true;
   }
   if (p66 && op == 0x363) {
      /* PCMPISTRI xmm, xmm/m128, imm8: ECX and the flags from the host's */
      s = add_slow(a, i, false);
      emit_sse_operands(a, i, fs, s, false);
      b1(a, 0x66), b1(a, 0x0f), b1(a, 0x3a), b1(a, 0x63), b1(a, 0xc1);
      b1(a, (unsigned)in->imm & 0xff);
      op_c(a, 1, 0x89, RCX, GPR(VMM_RCX));
      b1(a, 0x9c);                                             /* pushfq */
      b1(a, 0x5a);                                             /* pop rdx */
      op_r(a, 0, 0x81, 4, RDX), b4(a, FL_ARITH);
      eager_flags_rdx(a, fs);
      begin_slow_resume(a, s);
      return true;
   }
   return false;
}

/* Forms the interpreter runs through a generic handler that the
 * translator still does inline: ALU, TEST and MOV with a memory
 * destination (64-bit mode, 32/64-bit, no LOCK), MOVSXD, MOVZX/MOVSX
 * from a register, SETcc to a register, MOV r/m, imm to a register. The
 * slow path is the same handler. False: not one of them (call it). */
static bool emit_generic_form(jit_asm *a, unsigned i, flagstate *fs)
{
   const soft_insn *in = &a->insn[i];
   soft_fn fn = in->fn;
   unsigned size = in->osize, w = size == 8;
   bool lm = a->cpu->mode == MODE_LONG64;
   bool mem = in->mod != 3;

   if (in->lock)
      return false;
   if ((fn == op_alu_rm_r || fn == op_grp1) && mem && lm && (size == 4 || size == 8)) {
      unsigned op = fn == op_grp1 ? (in->reg & 7) : ((in->op >> 3) & 7);
      if (op == 2 || op == 3)
         return false;            /* ADC/SBB */
      jit_slow *s = add_slow(a, i, true);
      emit_lin(a, i);
      emit_tlb(a, s, size, op != 7);
      if (fn == op_grp1)
         load_imm_rcx(a, size == 8 ? in->imm : (uint32_t)in->imm);
      else
         op_c(a, w, 0x8b, RCX, GPR(in->reg));
      op_m(a, w, 0x8b, RAX, RDX, NOREG, 0, 0);
      op_r(a, w, alu_host(op), RCX, RAX);
      if (op != 7)
         op_m(a, w, 0x89, RAX, RDX, NOREG, 0, 0);
      emit_cc(a, alu_kind(op), size, RCX, false);
      begin_slow_resume(a, s);
      flags_from(fs, alu_kind(op), size);
      return true;
   }
   if (fn == op_test_rm_r && mem && lm && (size == 4 || size == 8)) {
      jit_slow *s = add_slow(a, i, true);
      emit_lin(a, i);
      emit_tlb(a, s, size, false);
      op_m(a, w, 0x8b, RAX, RDX, NOREG, 0, 0);
      op_c(a, w, 0x23, RAX, GPR(in->reg));
      emit_cc(a, CC_LOGIC, size, NOREG, false);
      begin_slow_resume(a, s);
      flags_from(fs, CC_LOGIC, size);
      return true;
   }
   if (fn == op_mov_rm_imm && (in->reg & 7) == 0 && (size == 4 || size == 8 || (size == 1 && mem))) {
      if (!mem) {
         store_const(a, GPR(in->rm), size == 8 ? in->imm : (uint32_t)in->imm);
         return true;             /* flags untouched */
      }
      if (!lm)
         return false;
      jit_slow *s = add_slow(a, i, false);
      emit_lin(a, i);
      emit_tlb(a, s, size, true);
      if (size == 1) {
         op_m(a, 0, 0xc6, 0, RDX, NOREG, 0, 0), b1(a, in->imm & 0xff);
      } else {
         load_imm_rcx(a, size == 8 ? in->imm : (uint32_t)in->imm);
         op_m(a, w, 0x89, RCX, RDX, NOREG, 0, 0);
      }
      begin_slow_resume(a, s);
      fs->live = false;
      return true;
   }
   if (fn == op_movsxd && size == 8) {
      if (!mem) {
         op_c(a, 1, 0x63, RAX, GPR(in->rm));                   /* movsxd rax, dword [rm] */
         op_c(a, 1, 0x89, RAX, GPR(in->reg));
         return true;
      }
      if (!lm)
         return false;
      jit_slow *s = add_slow(a, i, false);
      emit_lin(a, i);
      emit_tlb(a, s, 4, false);
      op_m(a, 1, 0x63, RCX, RDX, NOREG, 0, 0);
      op_c(a, 1, 0x89, RCX, GPR(in->reg));
      begin_slow_resume(a, s);
      fs->live = false;
      return true;
   }
   if ((fn == op_movzx || fn == op_movsx) && !mem && (size == 4 || size == 8)) {
      bool byte = !(in->op & 1);
      int32_t off = byte ? byte_reg_off(in, in->rm) : GPR(in->rm);
      unsigned opc = (fn == op_movzx ? 0x0fb6 : 0x0fbe) | (byte ? 0 : 1);
      op_c(a, fn == op_movsx && size == 8, opc, RAX, off);
      op_c(a, 1, 0x89, RAX, GPR(in->reg));
      return true;                /* flags untouched */
   }
   if (emit_generic_form2(a, i, fs) || emit_sse_form(a, i, fs))
      return true;
   if (fn == op_setcc && !mem) {
      unsigned cc = in->op & 0xf;
      if (make_live(a, fs)) {
         b1(a, 0x0f), b1(a, 0x90 | cc), b1(a, 0xc0);           /* setcc al */
      } else {
         op_r(a, 1, 0x89, RBX, RDI);
         mov_imm(a, RSI, cc);
         call_abs(a, (const void *)soft_jit_cond);
      }
      op_c(a, 0, 0x88, RAX, byte_reg_off(in, in->rm));        /* mov byte [..], al */
      return true;
   }
   return false;
}

/* ---- flag liveness ---------------------------------------------------------------- */

/* Which arithmetic flags instruction i writes (def) and reads (use), for
 * the register forms this file emits inline and that can neither fault
 * nor leave the block; false for everything else (memory operands, calls
 * to handlers, branches), which the caller takes as reading them all. */
static bool flag_effect(const jit_asm *a, unsigned i, uint32_t *def, uint32_t *use)
{
   const soft_insn *in = &a->insn[i];
   soft_form f;
   *def = *use = 0;
   if (soft_fast_form(in, &f)) {
      switch (f.kind) {
      case SF_MOV_RR:
      case SF_MOV_RI:
      case SF_LEA:
         return true;
      case SF_ALU_RR:
      case SF_ALU_RI:
      case SF_TEST_RR:
      case SF_TEST_RI:
         *def = FL_ARITH;
         return true;
      case SF_INC:
      case SF_DEC:
         *def = FL_ARITH & ~FL_CF;
         *use = FL_CF;
         return true;
      case SF_SHL_RI:
      case SF_SHR_RI:
      case SF_SAR_RI:
         /* every flag, for a count that is not 0 (jit_emit_insn) */
         if (!((unsigned)in->imm & (f.size == 8 ? 63 : 31)))
            return false;
         *def = FL_ARITH;
         return true;
      default:
         return false;
      }
   }
   soft_fn fn = in->fn;
   unsigned size = in->osize;
   if (in->lock || in->mod != 3 || (size != 4 && size != 8))
      return fn == op_nop;
   if (fn == op_imul_r_rm || fn == op_imul_imm) {
      *def = FL_CF | FL_OF;       /* the others kept (emit_generic_form2) */
      return true;
   }
   return fn == op_nop || (fn == op_mov_rm_imm && (in->reg & 7) == 0) || (fn == op_movsxd && size == 8) ||
          fn == op_movzx || fn == op_movsx || (fn == op_grp3 && (in->reg & 7) == 2);
}

/* a->flags_dead[i]: no flag instruction i writes is read before another
 * instruction of the block writes it again, and nothing in between can
 * fault or leave; such an instruction need not compute its flags at all.
 * Every flag is live where the block ends. */
void jit_flag_liveness(jit_asm *a)
{
   uint32_t live = FL_ARITH;
   for (unsigned i = a->n; i-- > 0;) {
      uint32_t def, use;
      if (!flag_effect(a, i, &def, &use)) {
         a->flags_dead[i] = false;
         live = FL_ARITH;
         continue;
      }
      a->flags_dead[i] = def && !(def & live);
      live = (live & ~def) | (a->flags_dead[i] ? 0 : use);
   }
}

/* ---- one instruction ---------------------------------------------------------------- */

void jit_emit_insn(jit_asm *a, unsigned i, flagstate *fs)
{
   const soft_insn *in = &a->insn[i];
   bool last = i + 1 == a->n;
   uint64_t next = a->rips[i + 1];
   soft_form f;
   bool lm = a->cpu->mode == MODE_LONG64;

   if (!soft_fast_form(in, &f)) {
      if (emit_generic_form(a, i, fs))
         goto fallthrough;
      goto generic;
   }
   unsigned w = f.size == 8;
   bool dead = a->flags_dead[i];
   switch (f.kind) {
   case SF_MOV_RR:
      op_c(a, w, 0x8b, RAX, GPR(in->reg));
      op_c(a, 1, 0x89, RAX, GPR(in->rm));
      goto done_keep;
   case SF_MOV_RI:
      store_const(a, GPR(in->reg), f.size == 8 ? in->imm : (uint32_t)in->imm);
      goto done_keep;
   case SF_LEA:
      emit_ea(a, i);
      if (f.size == 4)
         op_r(a, 0, 0x89, RAX, RAX);
      op_c(a, 1, 0x89, RAX, GPR(in->reg));
      goto done_keep;
   case SF_ALU_RR:
      if (dead && f.alu == 7)
         goto done_keep;          /* a CMP whose flags nobody reads */
      op_c(a, w, 0x8b, RCX, GPR(in->reg));
      op_c(a, w, 0x8b, RAX, GPR(in->rm));
      if (dead) {
         op_r(a, w, alu_host(f.alu), RCX, RAX);
         op_c(a, 1, 0x89, RAX, GPR(in->rm));
         goto done_clobber;
      }
      emit_alu(a, f.alu, f.size, in->rm);
      fs->kind = (uint8_t)alu_kind(f.alu);
      goto done_flags;
   case SF_ALU_RI:
      if (dead && f.alu == 7)
         goto done_keep;
      load_imm_rcx(a, f.size == 8 ? in->imm : (uint32_t)in->imm);
      op_c(a, w, 0x8b, RAX, GPR(in->rm));
      if (dead) {
         op_r(a, w, alu_host(f.alu), RCX, RAX);
         op_c(a, 1, 0x89, RAX, GPR(in->rm));
         goto done_clobber;
      }
      emit_alu(a, f.alu, f.size, in->rm);
      fs->kind = (uint8_t)alu_kind(f.alu);
      goto done_flags;
   case SF_TEST_RR:
      if (dead)
         goto done_keep;
      op_c(a, w, 0x8b, RAX, GPR(in->rm));
      op_c(a, w, 0x23, RAX, GPR(in->reg));                    /* and rax, [reg] */
      emit_cc(a, CC_LOGIC, f.size, NOREG, false);
      fs->kind = CC_LOGIC;
      goto done_flags;
   case SF_TEST_RI:
      if (dead)
         goto done_keep;
      load_imm_rcx(a, f.size == 8 ? in->imm : (uint32_t)in->imm);
      op_c(a, w, 0x8b, RAX, GPR(in->rm));
      op_r(a, w, 0x21, RCX, RAX);
      emit_cc(a, CC_LOGIC, f.size, NOREG, false);
      fs->kind = CC_LOGIC;
      goto done_flags;
   case SF_INC:
   case SF_DEC:
      /* CF is kept: rdx = the guest's CF, then the host's CF = it */
      if (dead) {
         op_c(a, w, 0x8b, RAX, GPR(in->rm));
         op_r(a, w, 0xff, f.kind == SF_INC ? 0 : 1, RAX);
         op_c(a, 1, 0x89, RAX, GPR(in->rm));
         goto done_clobber;
      }
      if (make_live(a, fs)) {
         b1(a, 0x0f), b1(a, 0x92), b1(a, 0xc2);                /* setc dl */
         op_r(a, 0, 0x0fb6, RDX, RDX);                         /* movzx edx, dl */
      } else {
         op_r(a, 1, 0x89, RBX, RDI);
         mov_imm(a, RSI, 2);
         call_abs(a, (const void *)soft_jit_cond);
         op_r(a, 0, 0x89, RAX, RDX);                           /* mov edx, eax */
         op_r(a, 0, 0x0fba, 4, RDX);                           /* bt edx, 0 */
         b1(a, 0);
      }
      op_c(a, w, 0x8b, RAX, GPR(in->rm));
      op_r(a, w, 0xff, f.kind == SF_INC ? 0 : 1, RAX);         /* inc/dec rax */
      op_c(a, 1, 0x89, RAX, GPR(in->rm));
      emit_cc(a, f.kind == SF_INC ? CC_INC : CC_DEC, f.size, NOREG, true);
      fs->kind = KIND_UNKNOWN;    /* not redone from the lazy flags */
      goto done_flags;
   case SF_CMOV_RR: {
      unsigned cc = in->op & 0xf;
      if (!make_live(a, fs)) {
         op_r(a, 1, 0x89, RBX, RDI);
         mov_imm(a, RSI, cc);
         call_abs(a, (const void *)soft_jit_cond);
         op_r(a, 0, 0x85, RAX, RAX);                           /* test eax, eax */
         cc = CC_NE;
      }
      op_c(a, w, 0x8b, RAX, GPR(in->reg));
      op_c(a, w, 0x0f40 | cc, RAX, GPR(in->rm));               /* cmovcc rax, [rm] */
      op_c(a, 1, 0x89, RAX, GPR(in->reg));
      goto done_keep;             /* CMOV and MOV leave the host flags */
   }
   case SF_SHL_RI:
   case SF_SHR_RI:
   case SF_SAR_RI: {
      /* the host's shift for the result, CF, SF, ZF, PF; AF = 1 and OF
       * as shift_flags (fast.c) defines them, for every count */
      unsigned bits = f.size * 8;
      unsigned ext = f.kind == SF_SHL_RI ? 4 : f.kind == SF_SHR_RI ? 5 : 7;
      op_c(a, w, 0x8b, RAX, GPR(in->rm));
      op_r(a, w, 0xc1, ext, RAX), b1(a, (unsigned)in->imm);
      op_c(a, 1, 0x89, RAX, GPR(in->rm));
      if (dead)
         goto done_clobber;
      b1(a, 0x9c);                                             /* pushfq */
      b1(a, 0x59);                                             /* pop rcx */
      op_r(a, 0, 0x81, 4, RCX), b4(a, FL_CF | FL_PF | FL_ZF | FL_SF);
      op_r(a, 0, 0x81, 1, RCX), b4(a, FL_AF);                  /* or ecx, AF */
      if (f.kind != SF_SAR_RI) {
         /* SHL: OF = MSB(r) ^ CF; SHR: OF = bit bits-2 of r (the old MSB
          * for a count of 1, MSB(r) ^ that bit, MSB(r) being 0, else) */
         op_r(a, 1, 0x89, RAX, RDX);
         op_r(a, 1, 0xc1, 5, RDX), b1(a, f.kind == SF_SHL_RI ? bits - 1 : bits - 2);
         if (f.kind == SF_SHL_RI)
            op_r(a, 0, 0x31, RCX, RDX);                        /* xor edx, ecx */
         op_r(a, 0, 0x83, 4, RDX), b1(a, 1);                   /* and edx, 1 */
         op_r(a, 0, 0xc1, 4, RDX), b1(a, 11);                  /* shl edx, 11 */
         op_r(a, 0, 0x09, RDX, RCX);                           /* or ecx, edx */
      }
      op_c(a, 0, 0xc7, 0, OFF(cc_op)), b4(a, CC_EFLAGS);
      op_c(a, 1, 0x89, RCX, OFF(cc_src));
      fs->kind = CC_EFLAGS;
      goto done_clobber;
   }
   case SF_JCC: {
      unsigned cc = in->op & 0xf;
      uint64_t target = next + in->imm;
      if (!canonical(target))
         goto generic;
      if (!make_live(a, fs)) {
         op_r(a, 1, 0x89, RBX, RDI);
         mov_imm(a, RSI, cc);
         call_abs(a, (const void *)soft_jit_cond);
         op_r(a, 0, 0x85, RAX, RAX);
         cc = CC_NE;
      }
      add_exit(a, jcc_fwd(a, cc), EX_CONST, i + 1, target);
      if (last)
         add_exit(a, jmp_fwd(a), EX_CONST, i + 1, next);
      return;                     /* flags unchanged (or as they were) */
   }
   case SF_JMP: {
      uint64_t target = next + in->imm;
      if (!canonical(target))
         goto generic;
      add_exit(a, jmp_fwd(a), EX_CONST, i + 1, target);
      return;
   }
   default:
      break;
   }
   if (!lm)
      goto generic;

   /* memory forms (64-bit mode): inline TLB hit, else the handler */
   switch (f.kind) {
   case SF_LOAD: {
      jit_slow *s = add_slow(a, i, false);
      emit_lin(a, i);
      emit_tlb(a, s, f.size, false);
      if (f.size == 8)
         op_m(a, 1, 0x8b, RCX, RDX, NOREG, 0, 0);
      else if (f.size == 4)
         op_m(a, 0, 0x8b, RCX, RDX, NOREG, 0, 0);
      else
         op_m(a, 0, f.size == 1 ? 0x0fb6 : 0x0fb7, RCX, RDX, NOREG, 0, 0);
      op_c(a, 1, 0x89, RCX, GPR(in->reg));
      begin_slow_resume(a, s);
      goto done_clobber;
   }
   case SF_STORE: {
      jit_slow *s = add_slow(a, i, false);
      emit_lin(a, i);
      emit_tlb(a, s, f.size, true);
      op_c(a, w, 0x8b, RCX, GPR(in->reg));
      op_m(a, w, 0x89, RCX, RDX, NOREG, 0, 0);
      begin_slow_resume(a, s);
      goto done_clobber;
   }
   case SF_ALU_RM: {
      jit_slow *s = add_slow(a, i, true);
      emit_lin(a, i);
      emit_tlb(a, s, f.size, false);
      op_m(a, w, 0x8b, RCX, RDX, NOREG, 0, 0);
      op_c(a, w, 0x8b, RAX, GPR(in->reg));
      emit_alu(a, f.alu, f.size, in->reg);
      fs->kind = (uint8_t)alu_kind(f.alu);
      begin_slow_resume(a, s);
      goto done_flags;
   }
   case SF_CMP_MI: {
      jit_slow *s = add_slow(a, i, true);
      emit_lin(a, i);
      emit_tlb(a, s, f.size, false);
      if (f.size == 1) {
         op_m(a, 0, 0x0fb6, RAX, RDX, NOREG, 0, 0);             /* movzx eax, byte [rdx] */
         mov_imm(a, RCX, in->imm & 0xff);
         op_r(a, 0, 0x28, RCX, RAX);                           /* sub al, cl */
      } else {
         op_m(a, w, 0x8b, RAX, RDX, NOREG, 0, 0);
         load_imm_rcx(a, f.size == 8 ? in->imm : (uint32_t)in->imm);
         op_r(a, w, 0x29, RCX, RAX);
      }
      emit_cc(a, CC_SUB, f.size, RCX, false);
      fs->kind = CC_SUB;
      begin_slow_resume(a, s);
      goto done_flags;
   }
   case SF_PUSH: {
      jit_slow *s = add_slow(a, i, false);
      op_c(a, 1, 0x8b, RAX, GPR(VMM_RSP));
      op_m(a, 1, 0x8d, RAX, RAX, NOREG, 0, -8);
      emit_tlb(a, s, 8, true);
      op_c(a, 1, 0x8b, RCX, GPR(in->reg));
      op_m(a, 1, 0x89, RCX, RDX, NOREG, 0, 0);
      op_c(a, 1, 0x89, RAX, GPR(VMM_RSP));
      begin_slow_resume(a, s);
      goto done_clobber;
   }
   case SF_POP: {
      jit_slow *s = add_slow(a, i, false);
      op_c(a, 1, 0x8b, RAX, GPR(VMM_RSP));
      emit_tlb(a, s, 8, false);
      op_m(a, 1, 0x8b, RCX, RDX, NOREG, 0, 0);
      op_m(a, 1, 0x8d, RAX, RAX, NOREG, 0, 8);
      op_c(a, 1, 0x89, RAX, GPR(VMM_RSP));
      op_c(a, 1, 0x89, RCX, GPR(in->reg));
      begin_slow_resume(a, s);
      goto done_clobber;
   }
   case SF_CALL: {
      uint64_t target = next + in->imm;
      if (!canonical(target))
         goto generic;
      jit_slow *s = add_slow(a, i, false);
      op_c(a, 1, 0x8b, RAX, GPR(VMM_RSP));
      op_m(a, 1, 0x8d, RAX, RAX, NOREG, 0, -8);
      emit_tlb(a, s, 8, true);
      mov_imm(a, RCX, next);
      op_m(a, 1, 0x89, RCX, RDX, NOREG, 0, 0);
      op_c(a, 1, 0x89, RAX, GPR(VMM_RSP));
      add_exit(a, jmp_fwd(a), EX_CONST, i + 1, target);
      return;
   }
   case SF_RET: {
      jit_slow *s = add_slow(a, i, false);
      op_c(a, 1, 0x8b, RAX, GPR(VMM_RSP));
      emit_tlb(a, s, 8, false);
      op_m(a, 1, 0x8b, RCX, RDX, NOREG, 0, 0);
      /* a non-canonical return address: the handler raises #GP */
      op_r(a, 1, 0x89, RCX, RDX);
      op_r(a, 1, 0xc1, 4, RDX), b1(a, 16);                     /* shl rdx, 16 */
      op_r(a, 1, 0xc1, 7, RDX), b1(a, 16);                     /* sar rdx, 16 */
      op_r(a, 1, 0x39, RCX, RDX);
      slow_fix(a, s, jcc_fwd(a, CC_NE));
      op_m(a, 1, 0x8d, RAX, RAX, NOREG, 0, 8);
      op_c(a, 1, 0x89, RAX, GPR(VMM_RSP));
      add_exit(a, jmp_fwd(a), EX_RCX, i + 1, 0);
      return;
   }
   default:
      break;
   }

generic:
   emit_call(a, i);
   emit_after_call(a, i, last);
   fs->live = false;
   fs->kind = KIND_UNKNOWN;
   return;

done_keep:
   goto fallthrough;
done_clobber:
   fs->live = false;
   goto fallthrough;
done_flags:
   fs->live = true;
   fs->size = f.size;
fallthrough:
   if (last)
      add_exit(a, jmp_fwd(a), EX_CONST, i + 1, next);
}
