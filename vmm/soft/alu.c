/*
 * vmm/soft/alu.c - integer arithmetic: the eight ALU ops, TEST, INC/DEC,
 * NOT/NEG, MUL/IMUL/DIV/IDIV, shifts and rotates, SHLD/SHRD, sign
 * extension of the accumulator and the BCD adjustments.
 *
 * Read-modify-write memory operands go through alu_rmw(): a host pointer
 * when the operand lies in one RAM page (with LOCK: a compare-and-swap
 * loop on host memory), else checked-write + read + write through the
 * slow path.
 */
#include "soft_int.h"

/* ---- atomic helpers on host memory -------------------------------------- */

static bool host_cas(uint8_t *p, unsigned size, uint64_t *expect, uint64_t nv)
{
   switch (size) {
   case 1: {
      uint8_t e = (uint8_t)*expect;
      bool ok = __atomic_compare_exchange_n(p, &e, (uint8_t)nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
      *expect = e;
      return ok;
   }
   case 2: {
      uint16_t e = (uint16_t)*expect;
      bool ok = __atomic_compare_exchange_n((uint16_t *)(void *)p, &e, (uint16_t)nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
      *expect = e;
      return ok;
   }
   case 4: {
      uint32_t e = (uint32_t)*expect;
      bool ok = __atomic_compare_exchange_n((uint32_t *)(void *)p, &e, (uint32_t)nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
      *expect = e;
      return ok;
   }
   default:
      return __atomic_compare_exchange_n((uint64_t *)(void *)p, expect, nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
   }
}

static uint64_t host_atomic_ld(uint8_t *p, unsigned size)
{
   switch (size) {
   case 1: return __atomic_load_n(p, __ATOMIC_RELAXED);
   case 2: return __atomic_load_n((uint16_t *)(void *)p, __ATOMIC_RELAXED);
   case 4: return __atomic_load_n((uint32_t *)(void *)p, __ATOMIC_RELAXED);
   default: return __atomic_load_n((uint64_t *)(void *)p, __ATOMIC_RELAXED);
   }
}

/* Generic read-modify-write of the r/m operand: calc(a) -> new value,
 * called again if a LOCK CAS loses a race. Returns the old value. */
typedef uint64_t (*rmw_calc)(uint64_t a, uint64_t b, uint64_t c, unsigned size);

static uint64_t rmw(soft_cpu *cpu, const soft_insn *in, unsigned size, rmw_calc f,
                    uint64_t b, uint64_t c, uint64_t *res)
{
   if (in->mod == 3) {
      uint64_t a = reg_get(cpu, in, in->rm, size);
      *res = f(a, b, c, size) & sz_mask(size);
      reg_set(cpu, in, in->rm, size, *res);
      return a;
   }
   uint64_t lin = ea_lin(cpu, in, size, ACC_W);
   uint8_t *p = soft_rmw_ptr(cpu, lin, size);
   if (p) {
      if (in->lock) {
         uint64_t a = host_atomic_ld(p, size), r;
         do {
            r = f(a, b, c, size) & sz_mask(size);
         } while (!host_cas(p, size, &a, r));
         *res = r;
         return a;
      }
      uint64_t a = host_ld(p, size);
      *res = f(a, b, c, size) & sz_mask(size);
      host_st(p, size, *res);
      return a;
   }
   soft_check_write(cpu, lin, size);
   uint64_t a = lin_read(cpu, lin, size, ACC_R);
   *res = f(a, b, c, size) & sz_mask(size);
   lin_write(cpu, lin, size, *res, ACC_W);
   return a;
}

/* ---- the eight ALU ops ------------------------------------------------- */

static uint64_t calc_add(uint64_t a, uint64_t b, uint64_t c, unsigned s) { return a + b; }
static uint64_t calc_or(uint64_t a, uint64_t b, uint64_t c, unsigned s) { return a | b; }
static uint64_t calc_adc(uint64_t a, uint64_t b, uint64_t c, unsigned s) { return a + b + c; }
static uint64_t calc_sbb(uint64_t a, uint64_t b, uint64_t c, unsigned s) { return a - b - c; }
static uint64_t calc_and(uint64_t a, uint64_t b, uint64_t c, unsigned s) { return a & b; }
static uint64_t calc_sub(uint64_t a, uint64_t b, uint64_t c, unsigned s) { return a - b; }
static uint64_t calc_xor(uint64_t a, uint64_t b, uint64_t c, unsigned s) { return a ^ b; }

static const rmw_calc alu_calc[8] = {
   calc_add, calc_or, calc_adc, calc_sbb, calc_and, calc_sub, calc_xor, calc_sub,
};
static const uint8_t alu_cc[8] = {
   CC_ADD, CC_LOGIC, CC_ADC, CC_SBB, CC_LOGIC, CC_SUB, CC_LOGIC, CC_SUB,
};

static inline uint64_t carry_in(soft_cpu *cpu, unsigned op)
{
   return (op == 2 || op == 3) ? soft_cond(cpu, 2) : 0;
}

/* op applied to r/m (destination) and b. */
static void alu_to_rm(soft_cpu *cpu, const soft_insn *in, unsigned op, unsigned size, uint64_t b)
{
   uint64_t c = carry_in(cpu, op), r;
   b &= sz_mask(size);
   if (op == 7) {
      uint64_t a = rm_get(cpu, in, size);
      r = (a - b) & sz_mask(size);
   } else {
      rmw(cpu, in, size, alu_calc[op], b, c, &r);
   }
   set_cc(cpu, alu_cc[op], size, r, b, c);
}

void op_alu_rm_r(soft_cpu *cpu, const soft_insn *in)
{
   alu_to_rm(cpu, in, (in->op >> 3) & 7, in->osize, reg_get(cpu, in, in->reg, in->osize));
}

void op_alu_r_rm(soft_cpu *cpu, const soft_insn *in)
{
   unsigned op = (in->op >> 3) & 7, size = in->osize;
   uint64_t b = rm_get(cpu, in, size);
   uint64_t a = reg_get(cpu, in, in->reg, size);
   uint64_t c = carry_in(cpu, op);
   uint64_t r = alu_calc[op](a, b, c, size) & sz_mask(size);
   if (op != 7)
      reg_set(cpu, in, in->reg, size, r);
   set_cc(cpu, alu_cc[op], size, r, b, c);
}

void op_alu_acc_imm(soft_cpu *cpu, const soft_insn *in)
{
   unsigned op = (in->op >> 3) & 7, size = in->osize;
   uint64_t b = in->imm & sz_mask(size);
   uint64_t a = reg_get(cpu, in, VMM_RAX, size);
   uint64_t c = carry_in(cpu, op);
   uint64_t r = alu_calc[op](a, b, c, size) & sz_mask(size);
   if (op != 7)
      gpr_set(cpu, VMM_RAX, size, r);
   set_cc(cpu, alu_cc[op], size, r, b, c);
}

void op_grp1(soft_cpu *cpu, const soft_insn *in)
{
   alu_to_rm(cpu, in, in->reg & 7, in->osize, in->imm);
}

void op_test_rm_r(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t r = rm_get(cpu, in, in->osize) & reg_get(cpu, in, in->reg, in->osize);
   set_cc(cpu, CC_LOGIC, in->osize, r, 0, 0);
}

void op_test_acc_imm(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t r = reg_get(cpu, in, VMM_RAX, in->osize) & in->imm;
   set_cc(cpu, CC_LOGIC, in->osize, r & sz_mask(in->osize), 0, 0);
}

/* ---- INC/DEC/NOT/NEG ---------------------------------------------------- */

static uint64_t calc_inc(uint64_t a, uint64_t b, uint64_t c, unsigned s) { return a + 1; }
static uint64_t calc_dec(uint64_t a, uint64_t b, uint64_t c, unsigned s) { return a - 1; }
static uint64_t calc_not(uint64_t a, uint64_t b, uint64_t c, unsigned s) { return ~a; }
static uint64_t calc_neg(uint64_t a, uint64_t b, uint64_t c, unsigned s) { return -a; }

void op_incdec_r(soft_cpu *cpu, const soft_insn *in)
{
   /* 40-4F outside 64-bit mode */
   unsigned size = in->osize;
   uint64_t cf = soft_cond(cpu, 2);
   uint64_t a = cpu->gpr[in->reg] & sz_mask(size);
   uint64_t r = ((in->op & 8) ? a - 1 : a + 1) & sz_mask(size);
   gpr_set(cpu, in->reg, size, r);
   set_cc(cpu, (in->op & 8) ? CC_DEC : CC_INC, size, r, 0, cf);
}

/* FE/FF: INC, DEC, CALL, CALLF, JMP, JMPF, PUSH */
void op_grp45(soft_cpu *cpu, const soft_insn *in)
{
   unsigned r7 = in->reg & 7, size = in->osize;
   uint64_t res, v;
   switch (r7) {
   case 0:
   case 1: {
      uint64_t cf = soft_cond(cpu, 2);
      rmw(cpu, in, size, r7 ? calc_dec : calc_inc, 0, 0, &res);
      set_cc(cpu, r7 ? CC_DEC : CC_INC, size, res, 0, cf);
      return;
   }
   case 2:
      v = rm_get(cpu, in, size);
      {
         uint64_t ret = cpu->next_rip;
         soft_branch(cpu, v, size);
         soft_push(cpu, size, ret);
      }
      return;
   case 3:
      op_call_far(cpu, in);
      return;
   case 4:
      soft_branch(cpu, rm_get(cpu, in, size), size);
      return;
   case 5:
      op_jmp_far(cpu, in);
      return;
   case 6:
      soft_push(cpu, size, rm_get(cpu, in, size));
      return;
   default:
      RAISE_UD(cpu);
   }
}

/* ---- multiply / divide -------------------------------------------------- */

/* CF = OF = significant high half. SF/ZF/AF/PF are undefined; AMD
 * leaves them unchanged (measured by the differential test). */
static void mul_flags(soft_cpu *cpu, unsigned size, uint64_t lo, bool overflow)
{
   uint32_t f = soft_arith_flags(cpu) & ~(FL_CF | FL_OF);
   f |= overflow ? (FL_CF | FL_OF) : 0;
   set_flags_eager(cpu, f);
}

static void do_mul(soft_cpu *cpu, unsigned size, uint64_t b, bool sign)
{
   uint64_t a = cpu->gpr[VMM_RAX] & sz_mask(size);
   uint64_t lo, hi;
   bool ov;
   if (size == 8) {
      if (sign) {
         __int128 p = (__int128)(int64_t)a * (int64_t)b;
         lo = (uint64_t)p;
         hi = (uint64_t)(p >> 64);
         ov = p != (__int128)(int64_t)lo;
      } else {
         unsigned __int128 p = (unsigned __int128)a * b;
         lo = (uint64_t)p;
         hi = (uint64_t)(p >> 64);
         ov = hi != 0;
      }
   } else {
      unsigned bits = size * 8;
      if (sign) {
         int64_t p = sext(a, size) * sext(b, size);
         lo = (uint64_t)p & sz_mask(size);
         hi = ((uint64_t)p >> bits) & sz_mask(size);
         ov = p != sext(lo, size);
      } else {
         uint64_t p = a * b;
         lo = p & sz_mask(size);
         hi = (p >> bits) & sz_mask(size);
         ov = hi != 0;
      }
   }
   if (size == 1) {
      gpr_set(cpu, VMM_RAX, 2, lo | (hi << 8));
   } else {
      gpr_set(cpu, VMM_RAX, size, lo);
      gpr_set(cpu, VMM_RDX, size, hi);
   }
   mul_flags(cpu, size, lo, ov);
}

static void do_div(soft_cpu *cpu, unsigned size, uint64_t b, bool sign)
{
   b &= sz_mask(size);
   if (b == 0)
      soft_raise_noerr(cpu, EXC_DE);
   uint64_t q, r;
   if (size == 8) {
      unsigned __int128 n = ((unsigned __int128)cpu->gpr[VMM_RDX] << 64) | cpu->gpr[VMM_RAX];
      if (sign) {
         __int128 sn = (__int128)n, sd = (int64_t)b;
         if (sd == -1 && n == ((unsigned __int128)1 << 127))
            soft_raise_noerr(cpu, EXC_DE);
         __int128 sq = sn / sd, sr = sn % sd;
         if (sq != (__int128)(int64_t)sq)
            soft_raise_noerr(cpu, EXC_DE);
         q = (uint64_t)sq;
         r = (uint64_t)sr;
      } else {
         unsigned __int128 uq = n / b;
         if (uq >> 64)
            soft_raise_noerr(cpu, EXC_DE);
         q = (uint64_t)uq;
         r = (uint64_t)(n % b);
      }
   } else {
      unsigned bits = size * 8;
      uint64_t n;
      if (size == 1)
         n = cpu->gpr[VMM_RAX] & 0xffff;
      else
         n = ((cpu->gpr[VMM_RDX] & sz_mask(size)) << bits) | (cpu->gpr[VMM_RAX] & sz_mask(size));
      if (sign) {
         int64_t sn = sext(n, size * 2), sd = sext(b, size);
         if (sd == -1 && sn == INT64_MIN)   /* the host would trap: 32-bit IDIV overflow */
            soft_raise_noerr(cpu, EXC_DE);
         int64_t sq = sn / sd, sr = sn % sd;
         if (sq != sext((uint64_t)sq, size))
            soft_raise_noerr(cpu, EXC_DE);
         q = (uint64_t)sq & sz_mask(size);
         r = (uint64_t)sr & sz_mask(size);
      } else {
         uint64_t uq = n / b;
         if (uq >> bits)
            soft_raise_noerr(cpu, EXC_DE);
         q = uq;
         r = n % b;
      }
   }
   if (size == 1) {
      gpr_set(cpu, VMM_RAX, 2, (q & 0xff) | ((r & 0xff) << 8));
   } else {
      gpr_set(cpu, VMM_RAX, size, q);
      gpr_set(cpu, VMM_RDX, size, r);
   }
   /* Flags are undefined after DIV/IDIV. AMD (measured by the
    * differential test): CF/OF kept, SF = ZF = PF = 0, AF = 1. */
   set_flags_eager(cpu, (soft_arith_flags(cpu) & (FL_CF | FL_OF)) | FL_AF);
}

/* F6/F7 */
void op_grp3(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize;
   uint64_t res, a;
   switch (in->reg & 7) {
   case 0:
   case 1:
      res = rm_get(cpu, in, size) & in->imm & sz_mask(size);
      set_cc(cpu, CC_LOGIC, size, res, 0, 0);
      return;
   case 2:
      rmw(cpu, in, size, calc_not, 0, 0, &res);
      return;
   case 3:
      a = rmw(cpu, in, size, calc_neg, 0, 0, &res);
      set_cc(cpu, CC_SUB, size, res, a & sz_mask(size), 0);
      return;
   case 4: do_mul(cpu, size, rm_get(cpu, in, size), false); return;
   case 5: do_mul(cpu, size, rm_get(cpu, in, size), true); return;
   case 6: do_div(cpu, size, rm_get(cpu, in, size), false); return;
   default: do_div(cpu, size, rm_get(cpu, in, size), true); return;
   }
}

static void imul2(soft_cpu *cpu, const soft_insn *in, uint64_t a, uint64_t b)
{
   unsigned size = in->osize;
   uint64_t lo;
   bool ov;
   if (size == 8) {
      __int128 p = (__int128)(int64_t)a * (int64_t)b;
      lo = (uint64_t)p;
      ov = p != (__int128)(int64_t)lo;
   } else {
      int64_t p = sext(a, size) * sext(b, size);
      lo = (uint64_t)p & sz_mask(size);
      ov = p != sext(lo, size);
   }
   reg_set(cpu, in, in->reg, size, lo);
   mul_flags(cpu, size, lo, ov);
}

void op_imul_r_rm(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t b = rm_get(cpu, in, in->osize);
   imul2(cpu, in, reg_get(cpu, in, in->reg, in->osize), b);
}

void op_imul_imm(soft_cpu *cpu, const soft_insn *in)
{
   imul2(cpu, in, rm_get(cpu, in, in->osize), in->imm);
}

/* ---- shifts and rotates ------------------------------------------------- */

typedef struct shift_out {
   uint64_t r;
   uint32_t flags;
} shift_out;

/* Computes result and flags of shift 'op' (modrm.reg) of a by count
 * (already masked to 5/6 bits, nonzero). f = flags before. */
static shift_out shift_calc(unsigned op, unsigned size, uint64_t a, unsigned cnt, uint32_t f)
{
   unsigned bits = size * 8;
   uint64_t m = sz_mask(size), sign = sz_sign(size);
   uint64_t r = 0;
   uint32_t cf = f & FL_CF, of = 0;
   bool arith_flags = false;   /* SF/ZF/PF from result */
   a &= m;

   switch (op) {
   case 0: { /* ROL */
      unsigned c = cnt % bits;
      r = c ? ((a << c) | (a >> (bits - c))) & m : a;
      cf = r & 1;
      of = (!!(r & sign) ^ cf) ? FL_OF : 0;
      break;
   }
   case 1: { /* ROR */
      unsigned c = cnt % bits;
      r = c ? ((a >> c) | (a << (bits - c))) & m : a;
      cf = (r & sign) ? 1 : 0;
      of = ((r ^ (r << 1)) & sign) ? FL_OF : 0;
      break;
   }
   case 2: { /* RCL */
      unsigned c = size <= 2 ? cnt % (bits + 1) : cnt;
      unsigned __int128 v = ((unsigned __int128)cf << bits) | a;
      unsigned __int128 vm = (((unsigned __int128)1) << (bits + 1)) - 1;
      if (c) {
         v = ((v << c) | (v >> (bits + 1 - c))) & vm;
         r = (uint64_t)v & m;
         cf = (uint32_t)(v >> bits) & 1;
      } else {
         r = a;
      }
      of = (!!(r & sign) ^ cf) ? FL_OF : 0;
      break;
   }
   case 3: { /* RCR */
      unsigned c = size <= 2 ? cnt % (bits + 1) : cnt;
      unsigned __int128 v = ((unsigned __int128)cf << bits) | a;
      unsigned __int128 vm = (((unsigned __int128)1) << (bits + 1)) - 1;
      if (c) {
         v = ((v >> c) | (v << (bits + 1 - c))) & vm;
         r = (uint64_t)v & m;
         cf = (uint32_t)(v >> bits) & 1;
      } else {
         r = a;
      }
      of = ((r ^ (r << 1)) & sign) ? FL_OF : 0;
      break;
   }
   case 4:
   case 6: /* SHL/SAL */
      if (cnt <= bits) {
         r = cnt == 64 ? 0 : (a << cnt) & m;
         cf = ((a << (cnt - 1)) & sign) ? 1 : 0;
      } else {
         r = 0;
         cf = 0;
      }
      of = (!!(r & sign) ^ cf) ? FL_OF : 0;
      arith_flags = true;
      break;
   case 5: /* SHR */
      r = cnt >= 64 ? 0 : a >> cnt;
      cf = cnt - 1 < 64 ? (a >> (cnt - 1)) & 1 : 0;
      of = ((r ^ (r << 1)) & sign) ? FL_OF : 0;
      if (cnt == 1)
         of = (a & sign) ? FL_OF : 0;
      arith_flags = true;
      break;
   default: { /* SAR */
      int64_t sa = sext(a, size);
      unsigned c = cnt > 63 ? 63 : cnt;
      r = (uint64_t)(sa >> c) & m;
      cf = (uint64_t)(sa >> (c - 1)) & 1;
      of = 0;
      arith_flags = true;
      break;
   }
   }
   uint32_t nf;
   if (arith_flags) {
      nf = cf | of;
      nf |= (r & sign) ? FL_SF : 0;
      nf |= r == 0 ? FL_ZF : 0;
      nf |= parity8(r);
      nf |= FL_AF;   /* AMD: AF = 1 after SHL/SHR/SAR (measured) */
   } else {
      nf = (f & ~(FL_CF | FL_OF)) | cf | of;
   }
   return (shift_out){ r, nf };
}

void op_shift(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize, op = in->reg & 7;
   unsigned cnt;
   if (in->op == 0xd0 || in->op == 0xd1)
      cnt = 1;
   else if (in->op == 0xd2 || in->op == 0xd3)
      cnt = cpu->gpr[VMM_RCX] & 0xff;
   else
      cnt = in->imm & 0xff;
   cnt &= size == 8 ? 63 : 31;
   if (in->mod == 3) {
      if (cnt == 0) {
         if (size == 4)   /* the register is still written: zero-extends */
            cpu->gpr[in->rm] = (uint32_t)cpu->gpr[in->rm];
         return;
      }
      uint32_t f = soft_arith_flags(cpu);
      shift_out o = shift_calc(op, size, reg_get(cpu, in, in->rm, size), cnt, f);
      reg_set(cpu, in, in->rm, size, o.r);
      set_flags_eager(cpu, o.flags);
      return;
   }
   uint64_t lin = ea_lin(cpu, in, size, ACC_W);
   if (cnt == 0) {
      lin_read(cpu, lin, size, ACC_R);
      return;
   }
   soft_check_write(cpu, lin, size);
   uint32_t f = soft_arith_flags(cpu);
   shift_out o = shift_calc(op, size, lin_read(cpu, lin, size, ACC_R), cnt, f);
   lin_write(cpu, lin, size, o.r, ACC_W);
   set_flags_eager(cpu, o.flags);
}

static void shd(soft_cpu *cpu, const soft_insn *in, bool left)
{
   unsigned size = in->osize, bits = size * 8;
   unsigned cnt = ((in->op & 1) ? cpu->gpr[VMM_RCX] : in->imm) & (size == 8 ? 63 : 31);
   uint64_t m = sz_mask(size), sign = sz_sign(size);
   uint64_t b = reg_get(cpu, in, in->reg, size);
   uint64_t lin = 0, a;
   if (in->mod == 3) {
      a = reg_get(cpu, in, in->rm, size);
   } else {
      lin = ea_lin(cpu, in, size, ACC_W);
      if (cnt)
         soft_check_write(cpu, lin, size);
      a = lin_read(cpu, lin, size, ACC_R);
   }
   if (cnt == 0) {
      if (in->mod == 3 && size == 4)
         cpu->gpr[in->rm] = (uint32_t)cpu->gpr[in->rm];   /* still written */
      return;
   }
   uint64_t r;
   uint32_t cf;
   if (size == 2) {
      /* 16-bit: counts up to 31 shift through a 48-bit value, a:b:b
       * (left) / b:b:a (right), as measured on the host (AMD). */
      uint64_t x = left ? (a << 32) | (b << 16) | b : (b << 32) | (b << 16) | a;
      if (left) {
         r = ((x << cnt) >> 32) & 0xffff;
         cf = (uint32_t)((x << (cnt - 1)) >> 47) & 1;
      } else {
         r = (x >> cnt) & 0xffff;
         cf = (uint32_t)(x >> (cnt - 1)) & 1;
      }
   } else if (left) {
      r = ((a << cnt) | (cnt == bits ? b : (b >> (bits - cnt)))) & m;
      cf = (uint32_t)((a >> (bits - cnt)) & 1);
   } else {
      r = ((a >> cnt) | (b << (bits - cnt))) & m;
      cf = (uint32_t)((a >> (cnt - 1)) & 1);
   }
   /* OF (defined for count 1, measured for the rest): SHLD CF ^ MSB,
    * SHRD MSB ^ MSB-1. AF = 1 (AMD). */
   if (size == 2 && cnt > 16)
      cf = 0;                 /* measured: CF = 0, and SHLD OF = 0 */
   uint32_t f = cf | FL_AF;
   if (left)
      f |= (size == 2 && cnt > 16) ? 0 : (cf ^ !!(r & sign)) ? FL_OF : 0;
   else
      f |= ((r ^ (r << 1)) & sign) ? FL_OF : 0;
   f |= (r & sign) ? FL_SF : 0;
   f |= (r & m) == 0 ? FL_ZF : 0;
   f |= parity8(r);
   if (in->mod == 3)
      reg_set(cpu, in, in->rm, size, r);
   else
      lin_write(cpu, lin, size, r, ACC_W);
   set_flags_eager(cpu, f);
}

void op_shld(soft_cpu *cpu, const soft_insn *in)
{
   shd(cpu, in, true);
}

void op_shrd(soft_cpu *cpu, const soft_insn *in)
{
   shd(cpu, in, false);
}

/* ---- accumulator extension ---------------------------------------------- */

void op_cbw(soft_cpu *cpu, const soft_insn *in)
{
   unsigned half = in->osize / 2;
   gpr_set(cpu, VMM_RAX, in->osize, (uint64_t)sext(cpu->gpr[VMM_RAX], half));
}

void op_cwd(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t sign = (cpu->gpr[VMM_RAX] & sz_sign(in->osize)) ? ~0ull : 0;
   gpr_set(cpu, VMM_RDX, in->osize, sign);
}

/* ---- BCD (16/32-bit modes only; the decoder rejects them in 64-bit) ----- */

static void szp_flags(soft_cpu *cpu, uint8_t al, uint32_t keep)
{
   uint32_t f = keep;
   f |= (al & 0x80) ? FL_SF : 0;
   f |= al == 0 ? FL_ZF : 0;
   f |= parity8(al);
   set_flags_eager(cpu, f);
}

void op_daa(soft_cpu *cpu, const soft_insn *in)
{
   uint32_t f = soft_arith_flags(cpu);
   uint8_t al = (uint8_t)cpu->gpr[VMM_RAX], old = al;
   uint32_t nf = 0;
   bool oldcf = f & FL_CF;
   if ((al & 0xf) > 9 || (f & FL_AF)) {
      al += 6;
      nf |= FL_AF;
   }
   if (old > 0x99 || oldcf) {
      al += 0x60;
      nf |= FL_CF;
   }
   gpr_set(cpu, VMM_RAX, 1, al);
   szp_flags(cpu, al, nf);
}

void op_das(soft_cpu *cpu, const soft_insn *in)
{
   uint32_t f = soft_arith_flags(cpu);
   uint8_t al = (uint8_t)cpu->gpr[VMM_RAX], old = al;
   uint32_t nf = 0;
   bool oldcf = f & FL_CF;
   if ((al & 0xf) > 9 || (f & FL_AF)) {
      nf |= FL_AF;
      if (al < 6 || oldcf)
         nf |= FL_CF;
      al -= 6;
   }
   if (old > 0x99 || oldcf) {
      al -= 0x60;
      nf |= FL_CF;
   }
   gpr_set(cpu, VMM_RAX, 1, al);
   szp_flags(cpu, al, nf);
}

static void aaa_aas(soft_cpu *cpu, bool sub)
{
   uint32_t f = soft_arith_flags(cpu);
   uint64_t ax = cpu->gpr[VMM_RAX] & 0xffff;
   uint32_t nf = f & ~(FL_AF | FL_CF);
   if ((ax & 0xf) > 9 || (f & FL_AF)) {
      ax = sub ? ax - 6 : ax + 0x106;
      if (sub)
         ax -= 0x100;
      nf |= FL_AF | FL_CF;
   }
   ax &= 0xff0f;
   gpr_set(cpu, VMM_RAX, 2, ax);
   set_flags_eager(cpu, nf);
}

void op_aaa(soft_cpu *cpu, const soft_insn *in) { aaa_aas(cpu, false); }
void op_aas(soft_cpu *cpu, const soft_insn *in) { aaa_aas(cpu, true); }

void op_aam(soft_cpu *cpu, const soft_insn *in)
{
   uint8_t base = (uint8_t)in->imm;
   if (base == 0)
      soft_raise_noerr(cpu, EXC_DE);
   uint8_t al = (uint8_t)cpu->gpr[VMM_RAX];
   uint8_t ah = al / base;
   al = al % base;
   gpr_set(cpu, VMM_RAX, 2, ((uint64_t)ah << 8) | al);
   szp_flags(cpu, al, 0);
}

void op_aad(soft_cpu *cpu, const soft_insn *in)
{
   uint8_t base = (uint8_t)in->imm;
   uint8_t al = (uint8_t)cpu->gpr[VMM_RAX], ah = (uint8_t)(cpu->gpr[VMM_RAX] >> 8);
   al = (uint8_t)(al + ah * base);
   gpr_set(cpu, VMM_RAX, 2, al);
   szp_flags(cpu, al, 0);
}

void op_salc(soft_cpu *cpu, const soft_insn *in)
{
   gpr_set(cpu, VMM_RAX, 1, soft_cond(cpu, 2) ? 0xff : 0);
}
