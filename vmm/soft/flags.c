/*
 * vmm/soft/flags.c - lazy arithmetic flags.
 *
 * Flag-producing instructions that are frequent (ADD/ADC/SUB/SBB/CMP/NEG,
 * logic ops, INC/DEC) record result, operand and carry-in with set_cc();
 * the six arithmetic flags are computed here only when something reads
 * them. Everything else computes its flags at once (CC_EFLAGS).
 */
#include "soft_int.h"

uint32_t soft_arith_flags(const soft_cpu *cpu)
{
   unsigned kind = cpu->cc_op >> 2;
   unsigned size = 1u << (cpu->cc_op & 3);
   uint64_t m = sz_mask(size), sign = sz_sign(size);
   uint64_t res = cpu->cc_dst & m, src = cpu->cc_src & m, cin = cpu->cc_src2;
   uint64_t src1;
   uint32_t f = 0;

   switch (kind) {
   case CC_EFLAGS:
      return (uint32_t)cpu->cc_src & FL_ARITH;
   case CC_ADD:
   case CC_ADC:
      src1 = (res - src - (kind == CC_ADC ? cin : 0)) & m;
      if (kind == CC_ADC && cin)
         f |= res <= src ? FL_CF : 0;
      else
         f |= res < src ? FL_CF : 0;
      f |= ((src1 ^ res) & (src ^ res) & sign) ? FL_OF : 0;
      f |= (src1 ^ src ^ res) & FL_AF;
      break;
   case CC_SUB:
   case CC_SBB:
      src1 = (res + src + (kind == CC_SBB ? cin : 0)) & m;
      if (kind == CC_SBB && cin)
         f |= src1 <= src ? FL_CF : 0;
      else
         f |= src1 < src ? FL_CF : 0;
      f |= ((src1 ^ src) & (src1 ^ res) & sign) ? FL_OF : 0;
      f |= (src1 ^ src ^ res) & FL_AF;
      break;
   case CC_LOGIC:
      break;
   case CC_INC:
      f |= cin ? FL_CF : 0;
      f |= res == sign ? FL_OF : 0;
      f |= (res & 0xf) == 0 ? FL_AF : 0;
      break;
   case CC_DEC:
      f |= cin ? FL_CF : 0;
      f |= res == sign - 1 ? FL_OF : 0;
      f |= (res & 0xf) == 0xf ? FL_AF : 0;
      break;
   default:
      __builtin_unreachable();
   }
   f |= res == 0 ? FL_ZF : 0;
   f |= (res & sign) ? FL_SF : 0;
   f |= parity8(res);
   return f;
}

static bool cond_from_flags(uint32_t f, unsigned cc)
{
   bool r;
   switch (cc >> 1) {
   case 0: r = f & FL_OF; break;
   case 1: r = f & FL_CF; break;
   case 2: r = f & FL_ZF; break;
   case 3: r = f & (FL_CF | FL_ZF); break;
   case 4: r = f & FL_SF; break;
   case 5: r = f & FL_PF; break;
   case 6: r = !(f & FL_SF) != !(f & FL_OF); break;
   default: r = (f & FL_ZF) || (!(f & FL_SF) != !(f & FL_OF)); break;
   }
   return r ^ (cc & 1);
}

bool soft_cond(const soft_cpu *cpu, unsigned cc)
{
   unsigned kind = cpu->cc_op >> 2;
   unsigned size = 1u << (cpu->cc_op & 3);
   uint64_t m = sz_mask(size);
   bool r;

   /* Fast paths: the conditions a kind answers without the other flags. */
   switch (kind) {
   case CC_SUB: {
      uint64_t src = cpu->cc_src & m, res = cpu->cc_dst & m;
      uint64_t src1 = (res + src) & m;
      switch (cc >> 1) {
      case 1: r = src1 < src; return r ^ (cc & 1);
      case 2: r = res == 0; return r ^ (cc & 1);
      case 3: r = src1 <= src; return r ^ (cc & 1);
      case 4: r = (res & sz_sign(size)) != 0; return r ^ (cc & 1);
      case 6: r = sext(src1, size) < sext(src, size); return r ^ (cc & 1);
      case 7: r = sext(src1, size) <= sext(src, size); return r ^ (cc & 1);
      default: break;
      }
      break;
   }
   case CC_LOGIC: {
      uint64_t res = cpu->cc_dst & m;
      switch (cc >> 1) {
      case 0: case 1: r = false; return r ^ (cc & 1);
      case 2: case 3: r = res == 0; return r ^ (cc & 1);
      case 4: case 6: r = (res & sz_sign(size)) != 0; return r ^ (cc & 1);
      case 7: r = res == 0 || (res & sz_sign(size)); return r ^ (cc & 1);
      default: break;
      }
      break;
   }
   case CC_ADD: {
      uint64_t src = cpu->cc_src & m, res = cpu->cc_dst & m;
      switch (cc >> 1) {
      case 1: r = res < src; return r ^ (cc & 1);
      case 2: r = res == 0; return r ^ (cc & 1);
      case 3: r = res < src || res == 0; return r ^ (cc & 1);
      case 4: r = (res & sz_sign(size)) != 0; return r ^ (cc & 1);
      default: break;
      }
      break;
   }
   case CC_INC:
   case CC_DEC: {
      uint64_t res = cpu->cc_dst & m;
      switch (cc >> 1) {
      case 1: r = cpu->cc_src2 != 0; return r ^ (cc & 1);
      case 2: r = res == 0; return r ^ (cc & 1);
      case 3: r = cpu->cc_src2 != 0 || res == 0; return r ^ (cc & 1);
      case 4: r = (res & sz_sign(size)) != 0; return r ^ (cc & 1);
      default: break;
      }
      break;
   }
   case CC_EFLAGS:
      return cond_from_flags((uint32_t)cpu->cc_src, cc);
   default:
      break;
   }
   return cond_from_flags(soft_arith_flags(cpu), cc);
}

uint64_t soft_get_rflags(const soft_cpu *cpu)
{
   return (cpu->rflags & ~(uint64_t)FL_ARITH) | soft_arith_flags(cpu) | 2;
}

void soft_set_rflags(soft_cpu *cpu, uint64_t val, uint64_t mask)
{
   uint64_t old = soft_get_rflags(cpu);
   uint64_t nv = (old & ~mask) | (val & mask);
   nv &= 0x3f7fd7;   /* defined bits */
   nv |= 2;
   set_flags_eager(cpu, (uint32_t)nv);
   cpu->rflags = nv & ~(uint64_t)FL_ARITH;
}
