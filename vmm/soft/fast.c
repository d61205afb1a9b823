/*
 * vmm/soft/fast.c - specialized handlers for the most frequent instruction
 * forms, picked at decode time (soft_specialize). Each one does exactly
 * what the generic handler does for that form (same state, same faults in
 * the same order, same lazy flags); it only skips the generic handlers'
 * run-time choices: operand size switches, register-or-memory tests,
 * function-pointer arithmetic, segmentation outside 64-bit mode.
 *
 * Covered: 32/64-bit register-register and register-immediate ALU ops,
 * CMP/TEST, INC/DEC, MOV, and in 64-bit mode MOV/ALU with a memory
 * source, MOV to memory, LEA, PUSH/POP r64, CALL/RET/JMP/Jcc. Everything
 * else keeps its generic handler.
 */
#include "soft_int.h"

enum { A_ADD = 0, A_OR = 1, A_AND = 4, A_SUB = 5, A_XOR = 6, A_CMP = 7 };

/* ---- operands ------------------------------------------------------------ */

static inline uint64_t ea(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t a = (uint64_t)in->disp;
   if (in->base != RM_NONE)
      a += in->base == RM_RIP ? cpu->rip + in->len : cpu->gpr[in->base];
   if (in->index != RM_NONE)
      a += cpu->gpr[in->index] << in->scale;
   return a & sz_mask(in->asize);
}

/* 64-bit mode only (the specializer checks): FS/GS base, canonical. */
static inline uint64_t mem64(soft_cpu *cpu, const soft_insn *in, unsigned size, unsigned acc)
{
   return seg_lin(cpu, in->seg, ea(cpu, in), size, acc);
}

static inline void branch64(soft_cpu *cpu, uint64_t target)
{
   if (unlikely((uint64_t)((int64_t)((uint64_t)(target) << 16) >> 16) != target))
      RAISE_GP(cpu, 0);
   cpu->next_rip = target;
}

/* ---- ALU: destination in in->rm, source in in->reg / imm / memory --------- */

#define ALU_CALC(OP, a, b) \
   ((OP) == A_ADD ? (a) + (b) : (OP) == A_OR ? ((a) | (b)) : (OP) == A_AND ? ((a) & (b)) : \
    (OP) == A_XOR ? ((a) ^ (b)) : (a) - (b))
#define ALU_KIND(OP) \
   ((OP) == A_ADD ? CC_ADD : ((OP) == A_SUB || (OP) == A_CMP) ? CC_SUB : CC_LOGIC)

#define DEF_ALU(OP, NAME)                                                              \
   static void rr64_##NAME(soft_cpu *cpu, const soft_insn *in)                          \
   {                                                                                    \
      uint64_t a = cpu->gpr[in->rm], b = cpu->gpr[in->reg], r = ALU_CALC(OP, a, b);     \
      if ((OP) != A_CMP)                                                                \
         cpu->gpr[in->rm] = r;                                                          \
      set_cc(cpu, ALU_KIND(OP), 8, r, b, 0);                                            \
   }                                                                                    \
   static void rr32_##NAME(soft_cpu *cpu, const soft_insn *in)                          \
   {                                                                                    \
      uint64_t a = (uint32_t)cpu->gpr[in->rm], b = (uint32_t)cpu->gpr[in->reg];         \
      uint64_t r = (uint32_t)ALU_CALC(OP, a, b);                                        \
      if ((OP) != A_CMP)                                                                \
         cpu->gpr[in->rm] = r;                                                          \
      set_cc(cpu, ALU_KIND(OP), 4, r, b, 0);                                            \
   }                                                                                    \
   static void ri64_##NAME(soft_cpu *cpu, const soft_insn *in)                          \
   {                                                                                    \
      uint64_t a = cpu->gpr[in->rm], b = in->imm, r = ALU_CALC(OP, a, b);               \
      if ((OP) != A_CMP)                                                                \
         cpu->gpr[in->rm] = r;                                                          \
      set_cc(cpu, ALU_KIND(OP), 8, r, b, 0);                                            \
   }                                                                                    \
   static void ri32_##NAME(soft_cpu *cpu, const soft_insn *in)                          \
   {                                                                                    \
      uint64_t a = (uint32_t)cpu->gpr[in->rm], b = (uint32_t)in->imm;                   \
      uint64_t r = (uint32_t)ALU_CALC(OP, a, b);                                        \
      if ((OP) != A_CMP)                                                                \
         cpu->gpr[in->rm] = r;                                                          \
      set_cc(cpu, ALU_KIND(OP), 4, r, b, 0);                                            \
   }                                                                                    \
   /* reg op= [mem], 64-bit mode; destination in in->reg here */                        \
   static void rm64_##NAME(soft_cpu *cpu, const soft_insn *in)                          \
   {                                                                                    \
      uint64_t b = lin_read(cpu, mem64(cpu, in, 8, ACC_R), 8, ACC_R);                   \
      uint64_t a = cpu->gpr[in->reg], r = ALU_CALC(OP, a, b);                           \
      if ((OP) != A_CMP)                                                                \
         cpu->gpr[in->reg] = r;                                                         \
      set_cc(cpu, ALU_KIND(OP), 8, r, b, 0);                                            \
   }                                                                                    \
   static void rm32_##NAME(soft_cpu *cpu, const soft_insn *in)                          \
   {                                                                                    \
      uint64_t b = lin_read(cpu, mem64(cpu, in, 4, ACC_R), 4, ACC_R);                   \
      uint64_t a = (uint32_t)cpu->gpr[in->reg], r = (uint32_t)ALU_CALC(OP, a, b);       \
      if ((OP) != A_CMP)                                                                \
         cpu->gpr[in->reg] = r;                                                         \
      set_cc(cpu, ALU_KIND(OP), 4, r, b, 0);                                            \
   }

DEF_ALU(A_ADD, add)
DEF_ALU(A_OR, or)
DEF_ALU(A_AND, and)
DEF_ALU(A_SUB, sub)
DEF_ALU(A_XOR, xor)
DEF_ALU(A_CMP, cmp)

typedef struct alu_set {
   soft_fn rr64, rr32, ri64, ri32, rm64, rm32;
} alu_set;

#define SET(NAME) { rr64_##NAME, rr32_##NAME, ri64_##NAME, ri32_##NAME, rm64_##NAME, rm32_##NAME }
static const alu_set alu_fns[8] = {
   [A_ADD] = SET(add), [A_OR] = SET(or), [A_AND] = SET(and),
   [A_SUB] = SET(sub), [A_XOR] = SET(xor), [A_CMP] = SET(cmp),
};

static void test_rr64(soft_cpu *cpu, const soft_insn *in)
{
   set_cc(cpu, CC_LOGIC, 8, cpu->gpr[in->rm] & cpu->gpr[in->reg], 0, 0);
}

static void test_rr32(soft_cpu *cpu, const soft_insn *in)
{
   set_cc(cpu, CC_LOGIC, 4, (uint32_t)(cpu->gpr[in->rm] & cpu->gpr[in->reg]), 0, 0);
}

static void test_ri64(soft_cpu *cpu, const soft_insn *in)
{
   set_cc(cpu, CC_LOGIC, 8, cpu->gpr[in->rm] & in->imm, 0, 0);
}

static void test_ri32(soft_cpu *cpu, const soft_insn *in)
{
   set_cc(cpu, CC_LOGIC, 4, (uint32_t)(cpu->gpr[in->rm] & in->imm), 0, 0);
}

/* INC/DEC keep CF */
static void inc64(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t cf = soft_cond_fast(cpu, 2), r = cpu->gpr[in->rm] + 1;
   cpu->gpr[in->rm] = r;
   set_cc(cpu, CC_INC, 8, r, 0, cf);
}

static void dec64(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t cf = soft_cond_fast(cpu, 2), r = cpu->gpr[in->rm] - 1;
   cpu->gpr[in->rm] = r;
   set_cc(cpu, CC_DEC, 8, r, 0, cf);
}

static void inc32(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t cf = soft_cond_fast(cpu, 2), r = (uint32_t)(cpu->gpr[in->rm] + 1);
   cpu->gpr[in->rm] = r;
   set_cc(cpu, CC_INC, 4, r, 0, cf);
}

static void dec32(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t cf = soft_cond_fast(cpu, 2), r = (uint32_t)(cpu->gpr[in->rm] - 1);
   cpu->gpr[in->rm] = r;
   set_cc(cpu, CC_DEC, 4, r, 0, cf);
}

/* ---- MOV, LEA -------------------------------------------------------------- */

static void mov_rr64(soft_cpu *cpu, const soft_insn *in) { cpu->gpr[in->rm] = cpu->gpr[in->reg]; }
static void mov_rr32(soft_cpu *cpu, const soft_insn *in) { cpu->gpr[in->rm] = (uint32_t)cpu->gpr[in->reg]; }
static void mov_ri64(soft_cpu *cpu, const soft_insn *in) { cpu->gpr[in->reg] = in->imm; }
static void mov_ri32(soft_cpu *cpu, const soft_insn *in) { cpu->gpr[in->reg] = (uint32_t)in->imm; }

static void load64(soft_cpu *cpu, const soft_insn *in)
{
   cpu->gpr[in->reg] = lin_read(cpu, mem64(cpu, in, 8, ACC_R), 8, ACC_R);
}

static void load32(soft_cpu *cpu, const soft_insn *in)
{
   cpu->gpr[in->reg] = lin_read(cpu, mem64(cpu, in, 4, ACC_R), 4, ACC_R);
}

static void store64(soft_cpu *cpu, const soft_insn *in)
{
   lin_write(cpu, mem64(cpu, in, 8, ACC_W), 8, cpu->gpr[in->reg], ACC_W);
}

static void store32(soft_cpu *cpu, const soft_insn *in)
{
   lin_write(cpu, mem64(cpu, in, 4, ACC_W), 4, cpu->gpr[in->reg], ACC_W);
}

static void lea64(soft_cpu *cpu, const soft_insn *in) { cpu->gpr[in->reg] = ea(cpu, in); }
static void lea32(soft_cpu *cpu, const soft_insn *in) { cpu->gpr[in->reg] = (uint32_t)ea(cpu, in); }

/* ---- stack and near control flow, 64-bit mode ---------------------------------- */

static inline void push64(soft_cpu *cpu, uint64_t v)
{
   uint64_t sp = cpu->gpr[VMM_RSP] - 8;
   lin_write(cpu, seg_lin(cpu, VMM_SS, sp, 8, ACC_W), 8, v, ACC_W);
   cpu->gpr[VMM_RSP] = sp;
}

static void push_r64(soft_cpu *cpu, const soft_insn *in) { push64(cpu, cpu->gpr[in->reg]); }

static void pop_r64(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t sp = cpu->gpr[VMM_RSP];
   uint64_t v = lin_read(cpu, seg_lin(cpu, VMM_SS, sp, 8, ACC_R), 8, ACC_R);
   cpu->gpr[VMM_RSP] = sp + 8;
   cpu->gpr[in->reg] = v;
}

static void call_rel64(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t ret = cpu->next_rip;
   branch64(cpu, ret + in->imm);
   push64(cpu, ret);
}

static void ret64(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t sp = cpu->gpr[VMM_RSP];
   uint64_t ip = lin_read(cpu, seg_lin(cpu, VMM_SS, sp, 8, ACC_R), 8, ACC_R);
   branch64(cpu, ip);
   cpu->gpr[VMM_RSP] = sp + 8;
}

static void jmp_rel64(soft_cpu *cpu, const soft_insn *in)
{
   branch64(cpu, cpu->next_rip + in->imm);
}

static void jcc64(soft_cpu *cpu, const soft_insn *in)
{
   if (soft_cond_fast(cpu, in->op & 0xf))
      branch64(cpu, cpu->next_rip + in->imm);
}

/* ---- shifts by an immediate count (1-31/63): every flag is defined -------------- */

static inline uint32_t shift_flags(uint64_t r, uint64_t sign, uint64_t cf, bool of)
{
   return (uint32_t)cf | (of ? FL_OF : 0) | ((r & sign) ? FL_SF : 0) | (r == 0 ? FL_ZF : 0) |
          parity8(r) | FL_AF;   /* AMD: AF = 1 (see alu.c) */
}

static void shl64(soft_cpu *cpu, const soft_insn *in)
{
   unsigned c = (unsigned)in->imm;
   uint64_t a = cpu->gpr[in->rm], r = a << c, cf = (a >> (64 - c)) & 1;
   cpu->gpr[in->rm] = r;
   set_flags_eager(cpu, shift_flags(r, 1ull << 63, cf, (r >> 63) ^ cf));
}

static void shr64(soft_cpu *cpu, const soft_insn *in)
{
   unsigned c = (unsigned)in->imm;
   uint64_t a = cpu->gpr[in->rm], r = a >> c, cf = (a >> (c - 1)) & 1;
   bool of = c == 1 ? (a >> 63) : ((r ^ (r << 1)) >> 63) & 1;
   cpu->gpr[in->rm] = r;
   set_flags_eager(cpu, shift_flags(r, 1ull << 63, cf, of));
}

static void sar64(soft_cpu *cpu, const soft_insn *in)
{
   unsigned c = (unsigned)in->imm;
   int64_t a = (int64_t)cpu->gpr[in->rm];
   uint64_t r = (uint64_t)(a >> c), cf = (uint64_t)(a >> (c - 1)) & 1;
   cpu->gpr[in->rm] = r;
   set_flags_eager(cpu, shift_flags(r, 1ull << 63, cf, false));
}

static void shl32(soft_cpu *cpu, const soft_insn *in)
{
   unsigned c = (unsigned)in->imm;
   uint64_t a = (uint32_t)cpu->gpr[in->rm], r = (uint32_t)(a << c), cf = (a >> (32 - c)) & 1;
   cpu->gpr[in->rm] = r;
   set_flags_eager(cpu, shift_flags(r, 1ull << 31, cf, (r >> 31) ^ cf));
}

static void shr32(soft_cpu *cpu, const soft_insn *in)
{
   unsigned c = (unsigned)in->imm;
   uint64_t a = (uint32_t)cpu->gpr[in->rm], r = a >> c, cf = (a >> (c - 1)) & 1;
   bool of = c == 1 ? (a >> 31) & 1 : ((r ^ (r << 1)) >> 31) & 1;
   cpu->gpr[in->rm] = r;
   set_flags_eager(cpu, shift_flags(r, 1ull << 31, cf, of));
}

static void sar32(soft_cpu *cpu, const soft_insn *in)
{
   unsigned c = (unsigned)in->imm;
   int32_t a = (int32_t)cpu->gpr[in->rm];
   uint64_t r = (uint32_t)(a >> c), cf = (uint64_t)((uint32_t)(a >> (c - 1)) & 1);
   cpu->gpr[in->rm] = r;
   set_flags_eager(cpu, shift_flags(r, 1ull << 31, cf, false));
}

/* ---- CMOVcc, MOVZX loads, CMP with memory and an immediate ------------------------- */

static void cmov_rr64(soft_cpu *cpu, const soft_insn *in)
{
   if (soft_cond_fast(cpu, in->op & 0xf))
      cpu->gpr[in->reg] = cpu->gpr[in->rm];
}

static void cmov_rr32(soft_cpu *cpu, const soft_insn *in)
{
   cpu->gpr[in->reg] = (uint32_t)(soft_cond_fast(cpu, in->op & 0xf) ? cpu->gpr[in->rm]
                                                                     : cpu->gpr[in->reg]);
}

static void zx8_load(soft_cpu *cpu, const soft_insn *in)
{
   cpu->gpr[in->reg] = lin_read(cpu, mem64(cpu, in, 1, ACC_R), 1, ACC_R);
}

static void zx16_load(soft_cpu *cpu, const soft_insn *in)
{
   cpu->gpr[in->reg] = lin_read(cpu, mem64(cpu, in, 2, ACC_R), 2, ACC_R);
}

static void cmp_mi64(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t a = lin_read(cpu, mem64(cpu, in, 8, ACC_R), 8, ACC_R), b = in->imm;
   set_cc(cpu, CC_SUB, 8, a - b, b, 0);
}

static void cmp_mi32(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t a = lin_read(cpu, mem64(cpu, in, 4, ACC_R), 4, ACC_R), b = (uint32_t)in->imm;
   set_cc(cpu, CC_SUB, 4, (uint32_t)(a - b), b, 0);
}

static void cmp_mi8(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t a = lin_read(cpu, mem64(cpu, in, 1, ACC_R), 1, ACC_R), b = in->imm & 0xff;
   set_cc(cpu, CC_SUB, 1, (a - b) & 0xff, b, 0);
}

/* ---- the specializer --------------------------------------------------------------- */

void soft_specialize(soft_cpu *cpu, soft_insn *in)
{
   soft_fn f = in->fn;
   unsigned os = in->osize;
   bool lm = cpu->mode == MODE_LONG64;
   bool wide = os == 8 || os == 4;
   bool reg = in->mod == 3;

   if (in->lock)
      return;
   /* byte forms worth it: CMP byte [mem], imm8 in 64-bit mode */
   if (os == 1) {
      if (f == op_grp1 && !reg && lm && (in->reg & 7) == A_CMP)
         in->fn = cmp_mi8;
      return;
   }
   if (!wide)
      return;
   if (f == op_alu_rm_r || f == op_alu_r_rm) {
      unsigned op = (in->op >> 3) & 7;
      if (op == 2 || op == 3)
         return;                     /* ADC/SBB: generic */
      if (reg) {
         if (f == op_alu_r_rm) {     /* destination in rm, source in reg */
            uint8_t t = in->reg;
            in->reg = in->rm;
            in->rm = t;
         }
         in->fn = os == 8 ? alu_fns[op].rr64 : alu_fns[op].rr32;
      } else if (f == op_alu_r_rm && lm) {
         in->fn = os == 8 ? alu_fns[op].rm64 : alu_fns[op].rm32;
      }
   } else if (f == op_grp1 && reg) {
      unsigned op = in->reg & 7;
      if (op != 2 && op != 3)
         in->fn = os == 8 ? alu_fns[op].ri64 : alu_fns[op].ri32;
   } else if (f == op_grp1 && lm && (in->reg & 7) == A_CMP) {
      in->fn = os == 8 ? cmp_mi64 : cmp_mi32;
   } else if (f == op_shift && reg && (in->op == 0xc1 || in->op == 0xd1)) {
      unsigned op = in->reg & 7;
      unsigned cnt = (unsigned)(in->op == 0xd1 ? 1 : in->imm) & (os == 8 ? 63 : 31);
      if (cnt && (op == 4 || op == 5 || op == 6 || op == 7)) {
         in->imm = cnt;
         if (op == 5)
            in->fn = os == 8 ? shr64 : shr32;
         else if (op == 7)
            in->fn = os == 8 ? sar64 : sar32;
         else
            in->fn = os == 8 ? shl64 : shl32;
      }
   } else if (f == op_cmov && reg) {
      in->fn = os == 8 ? cmov_rr64 : cmov_rr32;
   } else if (f == op_movzx && !reg && lm) {
      in->fn = (in->op & 1) ? zx16_load : zx8_load;
   } else if (f == op_alu_acc_imm) {
      unsigned op = (in->op >> 3) & 7;
      if (op != 2 && op != 3) {
         in->mod = 3;
         in->rm = VMM_RAX;
         in->fn = os == 8 ? alu_fns[op].ri64 : alu_fns[op].ri32;
      }
   } else if (f == op_test_rm_r && reg) {
      in->fn = os == 8 ? test_rr64 : test_rr32;
   } else if (f == op_test_acc_imm) {
      in->mod = 3;
      in->rm = VMM_RAX;
      in->fn = os == 8 ? test_ri64 : test_ri32;
   } else if (f == op_grp3 && reg && (in->reg & 7) <= 1) {
      in->fn = os == 8 ? test_ri64 : test_ri32;
   } else if (f == op_grp45 && reg && (in->reg & 7) <= 1 && in->op == 0xff) {
      if (in->reg & 7)
         in->fn = os == 8 ? dec64 : dec32;
      else
         in->fn = os == 8 ? inc64 : inc32;
   } else if (f == op_mov_rm_r) {
      if (reg)
         in->fn = os == 8 ? mov_rr64 : mov_rr32;
      else if (lm)
         in->fn = os == 8 ? store64 : store32;
   } else if (f == op_mov_r_rm) {
      if (reg) {
         uint8_t t = in->reg;         /* destination in rm */
         in->reg = in->rm;
         in->rm = t;
         in->fn = os == 8 ? mov_rr64 : mov_rr32;
      } else if (lm) {
         in->fn = os == 8 ? load64 : load32;
      }
   } else if (f == op_mov_r_imm) {
      in->fn = os == 8 ? mov_ri64 : mov_ri32;
   } else if (f == op_lea && !reg) {
      in->fn = os == 8 ? lea64 : lea32;
   } else if (lm && os == 8) {
      if (f == op_push_r)
         in->fn = push_r64;
      else if (f == op_pop_r)
         in->fn = pop_r64;
      else if (f == op_call_rel)
         in->fn = call_rel64;
      else if (f == op_ret_near && in->op == 0xc3)
         in->fn = ret64;
      else if (f == op_jmp_rel)
         in->fn = jmp_rel64;
      else if (f == op_jcc)
         in->fn = jcc64;
   }
}

/* ---- forms, for the translator (jit.c) ------------------------------------------- */

bool soft_fast_form(const soft_insn *in, soft_form *f)
{
   soft_fn fn = in->fn;
   for (unsigned op = 0; op < 8; op++) {
      const alu_set *s = &alu_fns[op];
      if (!s->rr64)
         continue;
      const soft_fn fns[6] = { s->rr64, s->rr32, s->ri64, s->ri32, s->rm64, s->rm32 };
      static const uint8_t kinds[6] = { SF_ALU_RR, SF_ALU_RR, SF_ALU_RI, SF_ALU_RI,
                                        SF_ALU_RM, SF_ALU_RM };
      for (unsigned k = 0; k < 6; k++) {
         if (fn == fns[k]) {
            *f = (soft_form){ kinds[k], (uint8_t)op, (uint8_t)((k & 1) ? 4 : 8) };
            return true;
         }
      }
   }
   static const struct {
      soft_fn fn;
      uint8_t kind, size;
   } t[] = {
      { test_rr64, SF_TEST_RR, 8 }, { test_rr32, SF_TEST_RR, 4 },
      { test_ri64, SF_TEST_RI, 8 }, { test_ri32, SF_TEST_RI, 4 },
      { inc64, SF_INC, 8 }, { inc32, SF_INC, 4 }, { dec64, SF_DEC, 8 }, { dec32, SF_DEC, 4 },
      { mov_rr64, SF_MOV_RR, 8 }, { mov_rr32, SF_MOV_RR, 4 },
      { mov_ri64, SF_MOV_RI, 8 }, { mov_ri32, SF_MOV_RI, 4 },
      { load64, SF_LOAD, 8 }, { load32, SF_LOAD, 4 },
      { zx8_load, SF_LOAD, 1 }, { zx16_load, SF_LOAD, 2 },
      { store64, SF_STORE, 8 }, { store32, SF_STORE, 4 },
      { lea64, SF_LEA, 8 }, { lea32, SF_LEA, 4 },
      { push_r64, SF_PUSH, 8 }, { pop_r64, SF_POP, 8 },
      { call_rel64, SF_CALL, 8 }, { ret64, SF_RET, 8 },
      { jmp_rel64, SF_JMP, 8 }, { jcc64, SF_JCC, 8 },
      { cmov_rr64, SF_CMOV_RR, 8 }, { cmov_rr32, SF_CMOV_RR, 4 },
      { cmp_mi64, SF_CMP_MI, 8 }, { cmp_mi32, SF_CMP_MI, 4 }, { cmp_mi8, SF_CMP_MI, 1 },
      { shl64, SF_SHL_RI, 8 }, { shl32, SF_SHL_RI, 4 }, { shr64, SF_SHR_RI, 8 },
      { shr32, SF_SHR_RI, 4 }, { sar64, SF_SAR_RI, 8 }, { sar32, SF_SAR_RI, 4 },
   };
   for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
      if (fn == t[i].fn) {
         *f = (soft_form){ t[i].kind, 0, t[i].size };
         return true;
      }
   }
   return false;
}
