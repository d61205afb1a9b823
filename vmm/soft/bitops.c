/*
 * vmm/soft/bitops.c - bit tests and scans, POPCNT, BSWAP, MOVBE, and the
 * exchange family (XCHG, XADD, CMPXCHG, CMPXCHG8B/16B) which are atomic on
 * host memory when locked (XCHG with memory always is).
 */
#include "soft_int.h"

/* ---- BT/BTS/BTR/BTC ------------------------------------------------------ */

static void bt_common(soft_cpu *cpu, const soft_insn *in, unsigned op, uint64_t bitoff, bool reg_offset)
{
   unsigned size = in->osize, bits = size * 8;
   uint32_t f = soft_arith_flags(cpu) & ~FL_CF;
   if (in->mod == 3) {
      unsigned bit = bitoff & (bits - 1);
      uint64_t v = reg_get(cpu, in, in->rm, size);
      if ((v >> bit) & 1)
         f |= FL_CF;
      switch (op) {
      case 5: v |= 1ull << bit; break;
      case 6: v &= ~(1ull << bit); break;
      case 7: v ^= 1ull << bit; break;
      default: set_flags_eager(cpu, f); return;
      }
      reg_set(cpu, in, in->rm, size, v);
      set_flags_eager(cpu, f);
      return;
   }
   uint64_t off = soft_ea(cpu, in);
   unsigned bit;
   if (reg_offset) {
      int64_t s = sext(bitoff, size);
      off = (off + (uint64_t)((s >> (size == 2 ? 4 : size == 4 ? 5 : 6)) * (int64_t)size)) & sz_mask(in->asize);
      bit = (unsigned)(s & (bits - 1));
   } else {
      bit = bitoff & (bits - 1);
   }
   /* Access the byte that holds the bit: same result, and a LOCKed
    * update never straddles a page. */
   off = (off + bit / 8) & sz_mask(in->asize);
   bit &= 7;
   if (op == 4) {
      uint64_t v = seg_read(cpu, in->seg, off, 1);
      if ((v >> bit) & 1)
         f |= FL_CF;
      set_flags_eager(cpu, f);
      return;
   }
   uint64_t lin = seg_lin(cpu, in->seg, off, 1, ACC_W);
   uint8_t *p = soft_rmw_ptr(cpu, lin, 1);
   uint8_t mask = (uint8_t)(1u << bit);
   uint8_t old;
   if (p) {
      if (in->lock) {
         switch (op) {
         case 5: old = __atomic_fetch_or(p, mask, __ATOMIC_SEQ_CST); break;
         case 6: old = __atomic_fetch_and(p, (uint8_t)~mask, __ATOMIC_SEQ_CST); break;
         default: old = __atomic_fetch_xor(p, mask, __ATOMIC_SEQ_CST); break;
         }
      } else {
         old = *p;
         *p = op == 5 ? (old | mask) : op == 6 ? (old & ~mask) : (old ^ mask);
      }
   } else {
      old = (uint8_t)lin_read(cpu, lin, 1, ACC_R);
      lin_write(cpu, lin, 1, op == 5 ? (old | mask) : op == 6 ? (old & ~mask) : (old ^ mask), ACC_W);
   }
   if (old & mask)
      f |= FL_CF;
   set_flags_eager(cpu, f);
}

/* 0F A3 BT, AB BTS, B3 BTR, BB BTC (register bit offset) */
void op_bt(soft_cpu *cpu, const soft_insn *in)
{
   unsigned op = 4 + ((in->op >> 3) & 3);
   bt_common(cpu, in, op, reg_get(cpu, in, in->reg, in->osize), true);
}

/* 0F BA /4-/7 ib */
void op_grp8(soft_cpu *cpu, const soft_insn *in)
{
   unsigned op = in->reg & 7;
   if (op < 4)
      RAISE_UD(cpu);
   bt_common(cpu, in, op, in->imm & 0xff, false);
}

/* ---- scans and counts ------------------------------------------------------ */

static unsigned ctz64(uint64_t v) { return (unsigned)__builtin_ctzll(v); }
static unsigned clz_sized(uint64_t v, unsigned size) { return (unsigned)__builtin_clzll(v) - (64 - size * 8); }

/* 0F BC: BSF, or TZCNT with F3 */
void op_bsf(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize;
   uint64_t v = rm_get(cpu, in, size);
   uint32_t f = soft_arith_flags(cpu);
   if (in->rep == 0xf3) {
      unsigned n = v ? ctz64(v) : size * 8;
      reg_set(cpu, in, in->reg, size, n);
      f &= ~(FL_CF | FL_ZF | FL_SF | FL_AF | FL_PF);   /* AMD: SF = AF = PF = 0 */
      f |= v == 0 ? FL_CF : 0;
      f |= n == 0 ? FL_ZF : 0;
      set_flags_eager(cpu, f);
      return;
   }
   if (v == 0) {
      set_flags_eager(cpu, f | FL_ZF);
      return;   /* destination unchanged */
   }
   reg_set(cpu, in, in->reg, size, ctz64(v));
   set_flags_eager(cpu, f & ~FL_ZF);
}

/* 0F BD: BSR, or LZCNT with F3 */
void op_bsr(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize;
   uint64_t v = rm_get(cpu, in, size);
   uint32_t f = soft_arith_flags(cpu);
   if (in->rep == 0xf3) {
      unsigned n = v ? clz_sized(v, size) : size * 8;
      reg_set(cpu, in, in->reg, size, n);
      f &= ~(FL_CF | FL_ZF | FL_SF | FL_AF | FL_PF);   /* AMD: SF = AF = PF = 0 */
      f |= v == 0 ? FL_CF : 0;
      f |= n == 0 ? FL_ZF : 0;
      set_flags_eager(cpu, f);
      return;
   }
   if (v == 0) {
      set_flags_eager(cpu, f | FL_ZF);
      return;
   }
   reg_set(cpu, in, in->reg, size, 63 - (unsigned)__builtin_clzll(v));
   set_flags_eager(cpu, f & ~FL_ZF);
}

/* F3 0F B8 */
void op_popcnt(soft_cpu *cpu, const soft_insn *in)
{
   if (in->rep != 0xf3)
      RAISE_UD(cpu);
   uint64_t v = rm_get(cpu, in, in->osize);
   reg_set(cpu, in, in->reg, in->osize, (uint64_t)__builtin_popcountll(v));
   set_flags_eager(cpu, v == 0 ? FL_ZF : 0);
}

void op_bswap(soft_cpu *cpu, const soft_insn *in)
{
   uint64_t v = cpu->gpr[in->reg];
   switch (in->osize) {
   case 8: cpu->gpr[in->reg] = __builtin_bswap64(v); break;
   case 4: cpu->gpr[in->reg] = __builtin_bswap32((uint32_t)v); break;
   default: gpr_set(cpu, in->reg, 2, 0); break;   /* 16-bit: undefined; zero like hardware */
   }
}

/* 0F 38 F0/F1 MOVBE */
void op_movbe(soft_cpu *cpu, const soft_insn *in)
{
   if (in->mod == 3)
      RAISE_UD(cpu);
   unsigned size = in->osize;
   uint64_t v;
   if (in->op & 1) {
      v = reg_get(cpu, in, in->reg, size);
      v = size == 8 ? __builtin_bswap64(v) : size == 4 ? __builtin_bswap32((uint32_t)v) : __builtin_bswap16((uint16_t)v);
      rm_set(cpu, in, size, v);
   } else {
      v = rm_get(cpu, in, size);
      v = size == 8 ? __builtin_bswap64(v) : size == 4 ? __builtin_bswap32((uint32_t)v) : __builtin_bswap16((uint16_t)v);
      reg_set(cpu, in, in->reg, size, v);
   }
}

/* ---- exchanges ---------------------------------------------------------------- */

static uint64_t atomic_xchg(uint8_t *p, unsigned size, uint64_t v)
{
   switch (size) {
   case 1: return __atomic_exchange_n(p, (uint8_t)v, __ATOMIC_SEQ_CST);
   case 2: return __atomic_exchange_n((uint16_t *)(void *)p, (uint16_t)v, __ATOMIC_SEQ_CST);
   case 4: return __atomic_exchange_n((uint32_t *)(void *)p, (uint32_t)v, __ATOMIC_SEQ_CST);
   default: return __atomic_exchange_n((uint64_t *)(void *)p, v, __ATOMIC_SEQ_CST);
   }
}

static uint64_t atomic_fadd(uint8_t *p, unsigned size, uint64_t v)
{
   switch (size) {
   case 1: return __atomic_fetch_add(p, (uint8_t)v, __ATOMIC_SEQ_CST);
   case 2: return __atomic_fetch_add((uint16_t *)(void *)p, (uint16_t)v, __ATOMIC_SEQ_CST);
   case 4: return __atomic_fetch_add((uint32_t *)(void *)p, (uint32_t)v, __ATOMIC_SEQ_CST);
   default: return __atomic_fetch_add((uint64_t *)(void *)p, v, __ATOMIC_SEQ_CST);
   }
}

static bool atomic_cas(uint8_t *p, unsigned size, uint64_t *expect, uint64_t nv)
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

/* 86/87 */
void op_xchg_rm(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize;
   uint64_t r = reg_get(cpu, in, in->reg, size);
   if (in->mod == 3) {
      uint64_t v = reg_get(cpu, in, in->rm, size);
      reg_set(cpu, in, in->rm, size, r);
      reg_set(cpu, in, in->reg, size, v);
      return;
   }
   uint64_t lin = ea_lin(cpu, in, size, ACC_W);
   uint8_t *p = soft_rmw_ptr(cpu, lin, size);
   uint64_t old;
   if (p) {
      old = atomic_xchg(p, size, r);
   } else {
      soft_check_write(cpu, lin, size);
      old = lin_read(cpu, lin, size, ACC_R);
      lin_write(cpu, lin, size, r, ACC_W);
   }
   reg_set(cpu, in, in->reg, size, old);
}

/* 90+r (90 itself is NOP/PAUSE unless REX.B) */
void op_xchg_acc(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize;
   if (in->reg == VMM_RAX)
      return;   /* 90 is NOP: no zero-extension in 64-bit mode */
   uint64_t a = cpu->gpr[VMM_RAX] & sz_mask(size);
   uint64_t b = cpu->gpr[in->reg] & sz_mask(size);
   gpr_set(cpu, VMM_RAX, size, b);
   gpr_set(cpu, in->reg, size, a);
}

/* 0F C0/C1 */
void op_xadd(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize;
   uint64_t src = reg_get(cpu, in, in->reg, size), dst, sum;
   if (in->mod == 3) {
      dst = reg_get(cpu, in, in->rm, size);
      sum = (dst + src) & sz_mask(size);
      reg_set(cpu, in, in->reg, size, dst);
      reg_set(cpu, in, in->rm, size, sum);
   } else {
      uint64_t lin = ea_lin(cpu, in, size, ACC_W);
      uint8_t *p = soft_rmw_ptr(cpu, lin, size);
      if (p && in->lock) {
         dst = atomic_fadd(p, size, src);
      } else if (p) {
         dst = host_ld(p, size);
         host_st(p, size, dst + src);
      } else {
         soft_check_write(cpu, lin, size);
         dst = lin_read(cpu, lin, size, ACC_R);
         lin_write(cpu, lin, size, dst + src, ACC_W);
      }
      sum = (dst + src) & sz_mask(size);
      reg_set(cpu, in, in->reg, size, dst);
   }
   set_cc(cpu, CC_ADD, size, sum, src, 0);
}

/* 0F B0/B1 */
void op_cmpxchg(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize;
   uint64_t m = sz_mask(size);
   uint64_t acc = cpu->gpr[VMM_RAX] & m;
   uint64_t src = reg_get(cpu, in, in->reg, size);
   uint64_t dst;
   bool eq;
   if (in->mod == 3) {
      dst = reg_get(cpu, in, in->rm, size);
      eq = dst == acc;
      if (eq)
         reg_set(cpu, in, in->rm, size, src);
      else if (cpu->vendor_intel)
         reg_set(cpu, in, in->rm, size, dst);   /* Intel writes back (zero-extends) */
   } else {
      uint64_t lin = ea_lin(cpu, in, size, ACC_W);
      uint8_t *p = soft_rmw_ptr(cpu, lin, size);
      if (p) {
         dst = acc;
         eq = atomic_cas(p, size, &dst, src);
      } else {
         soft_check_write(cpu, lin, size);
         dst = lin_read(cpu, lin, size, ACC_R);
         eq = dst == acc;
         lin_write(cpu, lin, size, eq ? src : dst, ACC_W);
      }
   }
   if (!eq)
      gpr_set(cpu, VMM_RAX, size, dst);
   set_cc(cpu, CC_SUB, size, (acc - dst) & m, dst, 0);
}

/* 0F C7: /1 CMPXCHG8B/16B; RDRAND/RDSEED are not advertised */
void op_grp9(soft_cpu *cpu, const soft_insn *in)
{
   if ((in->reg & 7) != 1 || in->mod == 3)
      RAISE_UD(cpu);
   uint32_t f = soft_arith_flags(cpu) & ~FL_ZF;
   if (in->osize == 8) {
      uint64_t lin = ea_lin(cpu, in, 16, ACC_W);
      if (lin & 15)
         RAISE_GP(cpu, 0);
      uint8_t *p = soft_rmw_ptr(cpu, lin, 16);
      unsigned __int128 cmp = ((unsigned __int128)cpu->gpr[VMM_RDX] << 64) | cpu->gpr[VMM_RAX];
      unsigned __int128 nv = ((unsigned __int128)cpu->gpr[VMM_RCX] << 64) | cpu->gpr[VMM_RBX];
      unsigned __int128 old;
      bool eq;
      if (p) {
         uint64_t lo = (uint64_t)cmp, hi = (uint64_t)(cmp >> 64);
         uint8_t ok;
         __asm__ volatile("lock cmpxchg16b %1\n\tsete %0"
                          : "=q"(ok), "+m"(*(unsigned __int128 *)(void *)p), "+a"(lo), "+d"(hi)
                          : "b"((uint64_t)nv), "c"((uint64_t)(nv >> 64))
                          : "memory", "cc");
         eq = ok;
         old = ((unsigned __int128)hi << 64) | lo;
      } else {
         soft_check_write(cpu, lin, 16);
         old = ((unsigned __int128)lin_read(cpu, lin + 8, 8, ACC_R) << 64) | lin_read(cpu, lin, 8, ACC_R);
         eq = old == cmp;
         unsigned __int128 w = eq ? nv : old;
         lin_write(cpu, lin, 8, (uint64_t)w, ACC_W);
         lin_write(cpu, lin + 8, 8, (uint64_t)(w >> 64), ACC_W);
      }
      if (eq) {
         f |= FL_ZF;
      } else {
         cpu->gpr[VMM_RAX] = (uint64_t)old;
         cpu->gpr[VMM_RDX] = (uint64_t)(old >> 64);
      }
      set_flags_eager(cpu, f);
      return;
   }
   uint64_t lin = ea_lin(cpu, in, 8, ACC_W);
   uint8_t *p = soft_rmw_ptr(cpu, lin, 8);
   uint64_t cmp = ((cpu->gpr[VMM_RDX] & 0xffffffffull) << 32) | (uint32_t)cpu->gpr[VMM_RAX];
   uint64_t nv = ((cpu->gpr[VMM_RCX] & 0xffffffffull) << 32) | (uint32_t)cpu->gpr[VMM_RBX];
   uint64_t old = cmp;
   bool eq;
   if (p) {
      eq = atomic_cas(p, 8, &old, nv);
   } else {
      soft_check_write(cpu, lin, 8);
      old = lin_read(cpu, lin, 8, ACC_R);
      eq = old == cmp;
      lin_write(cpu, lin, 8, eq ? nv : old, ACC_W);
   }
   if (eq) {
      f |= FL_ZF;
   } else {
      gpr_set(cpu, VMM_RAX, 4, old);
      gpr_set(cpu, VMM_RDX, 4, old >> 32);
   }
   set_flags_eager(cpu, f);
}
