/*
 * vmm/soft/tests/diff_gen_fp.c - differential cases for x87, MMX and
 * SSE-SSE4.2: random FPU/SSE state (every rounding mode, DAZ/FTZ,
 * sometimes unmasked exceptions, x87 stacks with any TOP and tag word,
 * NaNs, infinities, denormals, unnormals), every operand form (register,
 * memory with all addressing modes, aligned, misaligned, page-crossing,
 * general registers with and without REX.W), the x87->MMX transition,
 * FXSAVE/FXRSTOR, XRSTOR, LDMXCSR/STMXCSR. The instruction list here is
 * written from the manuals, independently of the interpreter's table.
 */
#include <string.h>

#include "diff.h"

#define R diff_rnd

static uint64_t r64(void)
{
   return drand64();
}

/* ---- interesting values -------------------------------------------------------- */

static uint32_t f32v(void)
{
   uint32_t s = R(2) ? 0x80000000u : 0;
   switch (R(14)) {
   case 0: return s;
   case 1: return s | 0x7f800000u;                              /* inf */
   case 2: return s | 0x7fc00000u | ((uint32_t)r64() & 0x3fffff); /* QNaN */
   case 3: return s | 0x7f800000u | (1 + ((uint32_t)r64() & 0x3ffffe)); /* SNaN */
   case 4: return s | (1 + ((uint32_t)r64() & 0x7ffffe));       /* denormal */
   case 5: return s | 0x7f7fffffu;
   case 6: return s | 0x00800000u;
   case 7: return s | 0x3f800000u;
   case 8: return s | (uint32_t)(0x4b000000u + R(1 << 23));      /* 2^23 .. 2^24 */
   case 9: return 0x4f000000u | s;                              /* 2^31 */
   default: return s | (uint32_t)(1 + R(253)) << 23 | ((uint32_t)r64() & 0x7fffff);
   }
}

static uint64_t f64v(void)
{
   uint64_t s = R(2) ? 1ull << 63 : 0;
   switch (R(14)) {
   case 0: return s;
   case 1: return s | 0x7ff0000000000000ull;
   case 2: return s | 0x7ff8000000000000ull | (r64() & 0x7ffffffffffffull);
   case 3: return s | 0x7ff0000000000000ull | (1 + (r64() & 0x7fffffffffffeull));
   case 4: return s | (1 + (r64() & 0xffffffffffffeull));
   case 5: return s | 0x7fefffffffffffffull;
   case 6: return s | 0x0010000000000000ull;
   case 7: return s | 0x3ff0000000000000ull;
   case 8: return s | 0x41e0000000000000ull;                    /* 2^31 */
   case 9: return s | 0x43e0000000000000ull;                    /* 2^63 */
   default: return s | (uint64_t)(1 + R(2045)) << 52 | (r64() & 0xfffffffffffffull);
   }
}

/* 16 bytes of floats, doubles, or integers */
static void vec16(uint8_t *p)
{
   switch (R(4)) {
   case 0:
      for (unsigned i = 0; i < 4; i++) {
         uint32_t v = f32v();
         memcpy(p + 4 * i, &v, 4);
      }
      break;
   case 1:
      for (unsigned i = 0; i < 2; i++) {
         uint64_t v = f64v();
         memcpy(p + 8 * i, &v, 8);
      }
      break;
   case 2:
      for (unsigned i = 0; i < 16; i++)
         p[i] = (uint8_t)(R(3) ? r64() : R(2) ? 0 : 0xff);
      break;
   default:
      for (unsigned i = 0; i < 2; i++) {
         uint64_t v = r64();
         memcpy(p + 8 * i, &v, 8);
      }
      break;
   }
}

/* an 80-bit x87 value */
static void f80v(uint8_t *p)
{
   uint64_t m;
   uint16_t e = R(2) ? 0x8000 : 0;
   switch (R(12)) {
   case 0: m = 0; break;                                         /* zero */
   case 1: m = 1ull << 63; e |= 0x7fff; break;                   /* inf */
   case 2: m = (3ull << 62) | (r64() >> 2); e |= 0x7fff; break;  /* QNaN */
   case 3: m = (1ull << 63) | 1 | (r64() >> 3); e |= 0x7fff; break; /* SNaN */
   case 4: m = r64() >> 1; break;                                /* denormal */
   case 5: m = r64() >> 1; e |= (uint16_t)(1 + R(0x7ffe)); break;   /* unnormal */
   case 6: m = 1ull << 63; e |= 0x3fff; break;                   /* 1.0 */
   case 7: m = (1ull << 63) | (r64() & ~0ull << 40); e |= (uint16_t)(0x3fff + R(64)); break;
   default: m = (1ull << 63) | r64(); e |= (uint16_t)(0x3fc0 + R(0x80)); break;
   }
   memcpy(p, &m, 8);
   memcpy(p + 8, &e, 2);
}

/* ---- FPU state ------------------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32v(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static void rand_fx(uint8_t *fx)
{
   uint16_t fcw = 0x037f, fsw = 0;
   uint32_t mxcsr = 0x1f80;
   if (R(3) == 0)
      fcw = (uint16_t)((fcw & ~0xf00u) | (R(4) << 10) | (R(4) << 8));  /* RC, PC */
   if (R(10) == 0)
      fcw &= (uint16_t)~(1u << R(6));                                 /* unmask one */
   if (R(30) == 0)
      fcw = (uint16_t)r64();                                          /* reserved bits too */
   unsigned top = R(8);
   uint8_t ftw = 0;
   for (unsigned i = 0; i < 8; i++) {
      if (R(10) < 6) {
         ftw |= (uint8_t)(1u << ((top + i) & 7));
         f80v(fx + 32 + 16 * i);
      }
   }
   if (R(4) == 0)
      fsw = (uint16_t)(r64() & 0x473f & ~0x7f) | (uint16_t)(R(2) ? 0x20 : 0);  /* C0-C3, PE */
   if (fsw & ~fcw & 0x3f)
      fsw |= 0x8080;
   fsw |= (uint16_t)(top << 11);
   put16(fx + 0, fcw);
   put16(fx + 2, fsw);
   fx[4] = ftw;
   if (R(3) == 0)
      mxcsr = (mxcsr & ~0x6000u) | (R(4) << 13);
   if (R(5) == 0)
      mxcsr |= 0x8000;           /* FTZ */
   if (R(5) == 0)
      mxcsr |= 0x40;             /* DAZ */
   /* an unmasked exception: only the pre-computation ones (invalid,
    * denormal, divide by zero); with underflow, overflow or precision
    * unmasked the interpreter raises #XM exactly but approximates which
    * flags the faulting instruction sets (see vmm/soft/README.md) */
   if (R(12) == 0)
      mxcsr &= ~(0x80u << R(3));
   if (R(6) == 0)
      mxcsr |= (uint32_t)R(64);  /* sticky flags already set */
   put32v(fx + 24, mxcsr);
   for (unsigned i = 0; i < 16; i++)
      vec16(fx + 160 + 16 * i);
}

/* Registers an earlier instruction of the case uses or writes: later
 * memory operands must not compute addresses from them. */
static unsigned used;

static void mem_pick(memop *m, unsigned off, unsigned avoid)
{
   diff_choose_mem(m, off, avoid | used | (1u << 4));
   if (m->base >= 0 && m->base < 16)
      used |= 1u << m->base;
   if (m->index >= 0)
      used |= 1u << m->index;
}

static void fp_begin(diff_case *c, const char *name)
{
   used = 0;
   diff_begin(c, name);
   c->fpu = true;
   rand_fx(c->fx);
   /* floating-point values in the data area too */
   for (unsigned off = 0; off < DIFF_DATA_SIZE; off += 16)
      if (R(2))
         vec16(c->data + off);
   for (unsigned i = 0; i < 3; i++)
      f80v(c->data + 16 * R(DIFF_DATA_SIZE / 16));
}

/* a memory operand: aligned to 'align' usually, sometimes not, sometimes
 * across the page boundary or past the data area */
static unsigned mem_off(unsigned size, unsigned align)
{
   switch (R(16)) {
   case 0: return 0x1000 - 1 - R(size > 1 ? size - 1 : 1);      /* crosses pages */
   case 1: return DIFF_DATA_SIZE - R(size);                      /* runs off the end */
   case 2: case 3: return R(DIFF_DATA_SIZE - 32) + 1;            /* misaligned */
   default: return (R(DIFF_DATA_SIZE - 32) & ~(align - 1));
   }
}

/* ---- emitting ------------------------------------------------------------------- */

enum { NOREG = -1 };

/* One legacy-prefixed instruction: [66|F2|F3] [REX] 0F [38|3A] op ModRM [imm].
 * rm_reg >= 0: register form; else memory at mem_off. */
static void sse_emit(uint8_t pfx, unsigned map, uint8_t op, unsigned reg, int rm_reg,
                     unsigned msize, unsigned align, bool w, unsigned avoid, int imm8)
{
   uint8_t opc[4];
   unsigned n = 0;
   memop m;
   insn_spec s = { 0 };
   opc[n++] = 0x0f;
   if (map == 2)
      opc[n++] = 0x38;
   else if (map == 3)
      opc[n++] = 0x3a;
   opc[n++] = op;
   if (pfx == 0x66 && w)
      diff_b1(0x66);
   else if (pfx == 0x66)
      s.osize = 2;
   else if (pfx)
      s.rep = pfx;
   if (w)
      s.osize = 8;
   s.opc = opc;
   s.nopc = n;
   s.reg = reg;
   s.rm_reg = rm_reg;
   if (rm_reg < 0) {
      mem_pick(&m, mem_off(msize ? msize : 1, align), avoid);
      s.m = &m;
   }
   diff_emit(&s);
   if (imm8 >= 0)
      diff_b1((uint8_t)imm8);
   diff_end_insn();
}

static unsigned gpr_pick(unsigned avoid)
{
   unsigned r;
   do r = R(16); while (r == 4 || ((avoid | used) & (1u << r)));
   used |= 1u << r;
   return r;
}

/* ---- SSE/MMX templates -------------------------------------------------------------- */

enum {
   XX,    /* xmm, xmm/m */
   MM,    /* mm, mm/m */
   XG,    /* xmm (reg), r/m (gpr or memory) */
   GX,    /* gpr (reg), xmm/m */
   MG, GM, XM, MX,
   EX, EM /* shift-by-immediate groups on xmm / mm (register only) */
};
#define T_IMM 1u
#define T_REG 2u     /* register form only */
#define T_MEM 4u     /* memory form only */
#define T_W   8u     /* REX.W matters */
#define T_RDI 16u    /* implicit [rdi] (MASKMOV) */
#define T_CMP 32u    /* imm 0-7 */
#define T_RND 64u    /* imm 0-15 */

typedef struct tmpl {
   uint8_t pfx, map, op, kind, ms, fl;
} tmpl;

static void sse_one(const tmpl *t)
{
   unsigned avoid = 0, reg, ms = t->ms;
   int rm = NOREG;
   bool w = (t->fl & T_W) && R(2);
   bool mem = !(t->fl & T_REG) && ((t->fl & T_MEM) || R(2));
   int imm8 = -1;

   if (t->fl & T_IMM)
      imm8 = (t->fl & T_CMP) ? (int)R(8) : (t->fl & T_RND) ? (int)R(16) : (int)R(256);
   if (ms == 0xff)
      ms = w ? 8 : 4;
   switch (t->kind) {
   case EX: case EM: {
      static const uint8_t g71[] = { 2, 4, 6 }, g73x[] = { 2, 3, 6, 7 }, g73m[] = { 2, 6 };
      if (t->op == 0x73)
         reg = t->kind == EX ? g73x[R(4)] : g73m[R(2)];
      else
         reg = g71[R(3)];
      rm = (int)(t->kind == EX ? R(16) : R(8));
      imm8 = R(4) ? (int)R(70) : (int)R(256);
      break;
   }
   case XG: case MG:
      reg = t->kind == XG ? R(16) : R(8);
      if (!mem) {
         rm = (int)gpr_pick(0);
         avoid |= 1u << rm;
      }
      break;
   case GX: case GM:
      reg = gpr_pick(0);
      avoid |= 1u << reg;
      if (!mem)
         rm = (int)(t->kind == GX ? R(16) : R(8));
      break;
   default: {
      bool rx = t->kind == XX || t->kind == XM, mx = t->kind == XX || t->kind == MX;
      reg = rx ? R(16) : R(8);
      if (!mem)
         rm = (int)(mx ? R(16) : R(8));
      break;
   }
   }
   if (t->fl & T_RDI)
      used |= 1u << 7;
   if (t->map == 3 && t->op >= 0x60 && t->op <= 0x63)
      used |= 1u << 0 | 1u << 1 | 1u << 2;   /* PCMPxSTRx: rax, rdx in, rcx out */
   sse_emit(t->pfx, t->map, t->op, reg, rm, ms, ms >= 16 ? 16 : ms ? ms : 1, w, avoid, imm8);
}

/* MMX/SSE2 integer: NP (mm) and 66 (xmm) */
static const uint8_t int2_ops[] = {
   0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x74, 0x75, 0x76,
   0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
   0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
   0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
};
static const uint8_t ssse3_ops[] = {
   0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x1c, 0x1d, 0x1e,
};

static const tmpl sse_int_extra[] = {
   { 0x66, 1, 0x6c, XX, 16, 0 }, { 0x66, 1, 0x6d, XX, 16, 0 },
   { 0x66, 1, 0x70, XX, 16, T_IMM }, { 0xf3, 1, 0x70, XX, 16, T_IMM },
   { 0xf2, 1, 0x70, XX, 16, T_IMM }, { 0, 1, 0x70, MM, 8, T_IMM },
   { 0x66, 1, 0x71, EX, 0, T_REG }, { 0x66, 1, 0x72, EX, 0, T_REG }, { 0x66, 1, 0x73, EX, 0, T_REG },
   { 0, 1, 0x71, EM, 0, T_REG }, { 0, 1, 0x72, EM, 0, T_REG }, { 0, 1, 0x73, EM, 0, T_REG },
   { 0x66, 1, 0xc4, XG, 2, T_IMM }, { 0, 1, 0xc4, MG, 2, T_IMM },
   { 0x66, 1, 0xc5, GX, 0, T_IMM | T_REG }, { 0, 1, 0xc5, GM, 0, T_IMM | T_REG },
   { 0x66, 1, 0xd7, GX, 0, T_REG }, { 0, 1, 0xd7, GM, 0, T_REG },
   { 0x66, 2, 0x10, XX, 16, 0 }, { 0x66, 2, 0x17, XX, 16, 0 },
   { 0x66, 2, 0x20, XX, 8, 0 }, { 0x66, 2, 0x21, XX, 4, 0 }, { 0x66, 2, 0x22, XX, 2, 0 },
   { 0x66, 2, 0x23, XX, 8, 0 }, { 0x66, 2, 0x24, XX, 4, 0 }, { 0x66, 2, 0x25, XX, 8, 0 },
   { 0x66, 2, 0x28, XX, 16, 0 }, { 0x66, 2, 0x29, XX, 16, 0 }, { 0x66, 2, 0x2b, XX, 16, 0 },
   { 0x66, 2, 0x30, XX, 8, 0 }, { 0x66, 2, 0x31, XX, 4, 0 }, { 0x66, 2, 0x32, XX, 2, 0 },
   { 0x66, 2, 0x33, XX, 8, 0 }, { 0x66, 2, 0x34, XX, 4, 0 }, { 0x66, 2, 0x35, XX, 8, 0 },
   { 0x66, 2, 0x37, XX, 16, 0 }, { 0x66, 2, 0x38, XX, 16, 0 }, { 0x66, 2, 0x39, XX, 16, 0 },
   { 0x66, 2, 0x3a, XX, 16, 0 }, { 0x66, 2, 0x3b, XX, 16, 0 }, { 0x66, 2, 0x3c, XX, 16, 0 },
   { 0x66, 2, 0x3d, XX, 16, 0 }, { 0x66, 2, 0x3e, XX, 16, 0 }, { 0x66, 2, 0x3f, XX, 16, 0 },
   { 0x66, 2, 0x40, XX, 16, 0 }, { 0x66, 2, 0x41, XX, 16, 0 },
   { 0x66, 3, 0x0e, XX, 16, T_IMM }, { 0x66, 3, 0x0f, XX, 16, T_IMM }, { 0, 3, 0x0f, MM, 8, T_IMM },
   { 0x66, 3, 0x42, XX, 16, T_IMM },
   { 0x66, 3, 0x14, XG, 1, T_IMM }, { 0x66, 3, 0x15, XG, 2, T_IMM },
   { 0x66, 3, 0x16, XG, 0xff, T_IMM | T_W }, { 0x66, 3, 0x17, XG, 4, T_IMM },
   { 0x66, 3, 0x20, XG, 1, T_IMM }, { 0x66, 3, 0x22, XG, 0xff, T_IMM | T_W },
};

bool diff_gen_sse_int(diff_case *c, unsigned i)
{
   fp_begin(c, "sse-int");
   unsigned n = 1 + R(2);
   for (unsigned k = 0; k < n; k++) {
      tmpl t;
      unsigned pick = R(3);
      if (pick == 0) {
         t = (tmpl){ R(2) ? 0x66 : 0, 1, int2_ops[R(sizeof(int2_ops))], 0, 0, 0 };
         t.kind = t.pfx ? XX : MM;
         t.ms = t.pfx ? 16 : (t.op <= 0x62 ? 4 : 8);
      } else if (pick == 1) {
         t = (tmpl){ R(2) ? 0x66 : 0, 2, ssse3_ops[R(sizeof(ssse3_ops))], 0, 0, 0 };
         t.kind = t.pfx ? XX : MM;
         t.ms = t.pfx ? 16 : 8;
      } else {
         t = sse_int_extra[R(sizeof(sse_int_extra) / sizeof(sse_int_extra[0]))];
      }
      sse_one(&t);
      diff_set_desc("%02x.%u.%02x", t.pfx, t.map, t.op);
   }
   diff_finish();
   (void)i;
   return true;
}

static const tmpl sse_fp_list[] = {
   { 0, 1, 0x51, XX, 16, 0 }, { 0x66, 1, 0x51, XX, 16, 0 }, { 0xf3, 1, 0x51, XX, 4, 0 },
   { 0xf2, 1, 0x51, XX, 8, 0 }, { 0, 1, 0x52, XX, 16, 0 }, { 0xf3, 1, 0x52, XX, 4, 0 },
   { 0, 1, 0x53, XX, 16, 0 }, { 0xf3, 1, 0x53, XX, 4, 0 },
   { 0, 1, 0x54, XX, 16, 0 }, { 0x66, 1, 0x55, XX, 16, 0 }, { 0, 1, 0x56, XX, 16, 0 },
   { 0x66, 1, 0x57, XX, 16, 0 },
   { 0, 1, 0x5a, XX, 8, 0 }, { 0x66, 1, 0x5a, XX, 16, 0 }, { 0xf3, 1, 0x5a, XX, 4, 0 },
   { 0xf2, 1, 0x5a, XX, 8, 0 }, { 0, 1, 0x5b, XX, 16, 0 }, { 0x66, 1, 0x5b, XX, 16, 0 },
   { 0xf3, 1, 0x5b, XX, 16, 0 }, { 0x66, 1, 0xe6, XX, 16, 0 }, { 0xf3, 1, 0xe6, XX, 8, 0 },
   { 0xf2, 1, 0xe6, XX, 16, 0 },
   { 0x66, 1, 0x7c, XX, 16, 0 }, { 0xf2, 1, 0x7c, XX, 16, 0 }, { 0x66, 1, 0x7d, XX, 16, 0 },
   { 0xf2, 1, 0x7d, XX, 16, 0 }, { 0x66, 1, 0xd0, XX, 16, 0 }, { 0xf2, 1, 0xd0, XX, 16, 0 },
   { 0, 1, 0x2e, XX, 4, 0 }, { 0x66, 1, 0x2e, XX, 8, 0 }, { 0, 1, 0x2f, XX, 4, 0 },
   { 0x66, 1, 0x2f, XX, 8, 0 },
   { 0, 1, 0x2a, XM, 8, 0 }, { 0x66, 1, 0x2a, XM, 8, 0 }, { 0xf3, 1, 0x2a, XG, 0xff, T_W },
   { 0xf2, 1, 0x2a, XG, 0xff, T_W },
   { 0, 1, 0x2c, MX, 8, 0 }, { 0x66, 1, 0x2c, MX, 16, 0 }, { 0xf3, 1, 0x2c, GX, 4, T_W },
   { 0xf2, 1, 0x2c, GX, 8, T_W }, { 0, 1, 0x2d, MX, 8, 0 }, { 0x66, 1, 0x2d, MX, 16, 0 },
   { 0xf3, 1, 0x2d, GX, 4, T_W }, { 0xf2, 1, 0x2d, GX, 8, T_W },
   { 0, 1, 0xc2, XX, 16, T_IMM | T_CMP }, { 0x66, 1, 0xc2, XX, 16, T_IMM | T_CMP },
   { 0xf3, 1, 0xc2, XX, 4, T_IMM | T_CMP }, { 0xf2, 1, 0xc2, XX, 8, T_IMM | T_CMP },
   { 0, 1, 0xc6, XX, 16, T_IMM }, { 0x66, 1, 0xc6, XX, 16, T_IMM },
   { 0, 1, 0x14, XX, 16, 0 }, { 0x66, 1, 0x15, XX, 16, 0 },
   { 0xf3, 1, 0x12, XX, 16, 0 }, { 0xf3, 1, 0x16, XX, 16, 0 }, { 0xf2, 1, 0x12, XX, 8, 0 },
   { 0x66, 3, 0x08, XX, 16, T_IMM | T_RND }, { 0x66, 3, 0x09, XX, 16, T_IMM | T_RND },
   { 0x66, 3, 0x0a, XX, 4, T_IMM | T_RND }, { 0x66, 3, 0x0b, XX, 8, T_IMM | T_RND },
   { 0x66, 3, 0x0c, XX, 16, T_IMM }, { 0x66, 3, 0x0d, XX, 16, T_IMM },
   { 0x66, 3, 0x40, XX, 16, T_IMM }, { 0x66, 3, 0x41, XX, 16, T_IMM },
   { 0x66, 3, 0x21, XX, 4, T_IMM },
   { 0x66, 2, 0x14, XX, 16, 0 }, { 0x66, 2, 0x15, XX, 16, 0 },
};
static const uint8_t fp4_ops[] = { 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f };

bool diff_gen_sse_fp(diff_case *c, unsigned i)
{
   fp_begin(c, "sse-fp");
   /* DPPS/DPPD report unmasked exceptions per step (approximated): mask */
   uint32_t mx;
   memcpy(&mx, c->fx + 24, 4);
   unsigned n = 1 + R(2);
   for (unsigned k = 0; k < n; k++) {
      tmpl t;
      if (R(2)) {
         static const uint8_t pf[4] = { 0, 0x66, 0xf3, 0xf2 }, ms[4] = { 16, 16, 4, 8 };
         unsigned p = R(4);
         t = (tmpl){ pf[p], 1, fp4_ops[R(sizeof(fp4_ops))], XX, ms[p], 0 };
      } else {
         t = sse_fp_list[R(sizeof(sse_fp_list) / sizeof(sse_fp_list[0]))];
      }
      if (t.map == 3 && (t.op == 0x40 || t.op == 0x41)) {
         mx |= 0x1f80;
         memcpy(c->fx + 24, &mx, 4);
      }
      sse_one(&t);
      diff_set_desc("%02x.%u.%02x", t.pfx, t.map, t.op);
   }
   diff_finish();
   (void)i;
   return true;
}

static const tmpl sse_mov_list[] = {
   { 0, 1, 0x10, XX, 16, 0 }, { 0x66, 1, 0x10, XX, 16, 0 }, { 0xf3, 1, 0x10, XX, 4, 0 },
   { 0xf2, 1, 0x10, XX, 8, 0 }, { 0, 1, 0x11, XX, 16, 0 }, { 0x66, 1, 0x11, XX, 16, 0 },
   { 0xf3, 1, 0x11, XX, 4, 0 }, { 0xf2, 1, 0x11, XX, 8, 0 },
   { 0, 1, 0x12, XX, 8, 0 }, { 0x66, 1, 0x12, XX, 8, T_MEM }, { 0, 1, 0x13, XX, 8, T_MEM },
   { 0x66, 1, 0x13, XX, 8, T_MEM }, { 0, 1, 0x16, XX, 8, 0 }, { 0x66, 1, 0x16, XX, 8, T_MEM },
   { 0, 1, 0x17, XX, 8, T_MEM }, { 0x66, 1, 0x17, XX, 8, T_MEM },
   { 0, 1, 0x28, XX, 16, 0 }, { 0x66, 1, 0x28, XX, 16, 0 }, { 0, 1, 0x29, XX, 16, 0 },
   { 0x66, 1, 0x29, XX, 16, 0 }, { 0, 1, 0x2b, XX, 16, T_MEM }, { 0x66, 1, 0x2b, XX, 16, T_MEM },
   { 0, 1, 0x50, GX, 0, T_REG }, { 0x66, 1, 0x50, GX, 0, T_REG },
   { 0, 1, 0x6e, MG, 0xff, T_W }, { 0x66, 1, 0x6e, XG, 0xff, T_W },
   { 0, 1, 0x7e, MG, 0xff, T_W }, { 0x66, 1, 0x7e, XG, 0xff, T_W }, { 0xf3, 1, 0x7e, XX, 8, 0 },
   { 0, 1, 0x6f, MM, 8, 0 }, { 0x66, 1, 0x6f, XX, 16, 0 }, { 0xf3, 1, 0x6f, XX, 16, 0 },
   { 0, 1, 0x7f, MM, 8, 0 }, { 0x66, 1, 0x7f, XX, 16, 0 }, { 0xf3, 1, 0x7f, XX, 16, 0 },
   { 0x66, 1, 0xd6, XX, 8, 0 }, { 0xf3, 1, 0xd6, XM, 0, T_REG }, { 0xf2, 1, 0xd6, MX, 0, T_REG },
   { 0, 1, 0xe7, MM, 8, T_MEM }, { 0x66, 1, 0xe7, XX, 16, T_MEM },
   { 0xf2, 1, 0xf0, XX, 16, T_MEM }, { 0x66, 2, 0x2a, XX, 16, T_MEM },
   { 0, 1, 0xf7, MM, 0, T_REG | T_RDI }, { 0x66, 1, 0xf7, XX, 0, T_REG | T_RDI },
};

bool diff_gen_sse_mov(diff_case *c, unsigned i)
{
   fp_begin(c, "sse-mov");
   unsigned n = 1 + R(2);
   for (unsigned k = 0; k < n; k++) {
      unsigned kind = R(12);
      if (kind == 0) {
         /* MOVNTI m, r */
         insn_spec s = { 0 };
         static const uint8_t opc[2] = { 0x0f, 0xc3 };
         memop m;
         s.opc = opc;
         s.nopc = 2;
         s.osize = R(2) ? 8 : 4;
         s.reg = gpr_pick(0);
         s.rm_reg = -1;
         mem_pick(&m, mem_off(8, 8), 1u << s.reg);
         s.m = &m;
         diff_emit(&s);
         diff_end_insn();
         diff_set_desc("movnti");
      } else if (kind == 1) {
         diff_b1(0x0f);              /* EMMS */
         diff_b1(0x77);
         diff_set_desc("emms");
      } else {
         const tmpl *t;
         do
            t = &sse_mov_list[R(sizeof(sse_mov_list) / sizeof(sse_mov_list[0]))];
         while ((t->fl & T_RDI) && (used & (1u << 7)));
         if (t->fl & T_RDI)
            c->gpr[7] = DIFF_DATA_ADDR + mem_off(16, 1);
         sse_one(t);
         diff_set_desc("%02x.%u.%02x", t->pfx, t->map, t->op);
      }
   }
   diff_finish();
   (void)i;
   return true;
}

bool diff_gen_sse42(diff_case *c, unsigned i)
{
   fp_begin(c, "sse42");
   unsigned kind = R(4);
   if (kind <= 1) {
      /* PCMPESTRM/PCMPESTRI/PCMPISTRM/PCMPISTRI with short strings */
      tmpl t = { 0x66, 3, (uint8_t)(0x60 + R(4)), XX, 16, T_IMM };
      c->gpr[0] = (uint64_t)(int64_t)(int)(R(40) - 20);
      c->gpr[2] = (uint64_t)(int64_t)(int)(R(40) - 20);
      for (unsigned k = 0; k < 16; k++) {
         uint8_t *x = c->fx + 160 + 16 * k;
         for (unsigned j = 0; j < 16; j++)
            if (R(4) == 0)
               x[j] = (uint8_t)(R(2) ? 0 : 'a' + R(4));
      }
      sse_one(&t);
      diff_set_desc("pcmp%02x", t.op);
   } else if (kind == 2) {
      /* CRC32 r, r/m8 and r, r/m16/32/64 */
      insn_spec s = { 0 };
      uint8_t opc[3] = { 0x0f, 0x38, (uint8_t)(0xf0 + R(2)) };
      memop m;
      unsigned reg = gpr_pick(0);
      s.opc = opc;
      s.nopc = 3;
      s.rep = 0xf2;
      s.reg = reg;
      s.osize = opc[2] == 0xf0 ? (R(2) ? 8 : 4) : (R(3) == 0 ? 2 : R(2) ? 8 : 4);
      if (R(2)) {
         s.rm_reg = (int)gpr_pick(1u << reg);
      } else {
         s.rm_reg = -1;
         mem_pick(&m, mem_off(8, 1), 1u << reg);
         s.m = &m;
      }
      diff_emit(&s);
      diff_end_insn();
      diff_set_desc("crc32 %x size %u", opc[2], s.osize);
   } else {
      /* POPCNT */
      insn_spec s = { 0 };
      static const uint8_t opc[2] = { 0x0f, 0xb8 };
      memop m;
      s.opc = opc;
      s.nopc = 2;
      s.rep = 0xf3;
      s.reg = gpr_pick(0);
      s.osize = (R(3) == 0) ? 2 : R(2) ? 8 : 4;
      if (R(2)) {
         s.rm_reg = (int)gpr_pick(0);
      } else {
         s.rm_reg = -1;
         mem_pick(&m, mem_off(8, 1), 1u << s.reg);
         s.m = &m;
      }
      diff_emit(&s);
      diff_end_insn();
      diff_set_desc("popcnt");
   }
   diff_finish();
   (void)i;
   return true;
}

/* ---- x87 -------------------------------------------------------------------------- */

/* a memory-operand x87 instruction: opcode D8+opc, /reg */
static void x87_mem(unsigned opc, unsigned reg, unsigned size)
{
   insn_spec s = { 0 };
   uint8_t o = (uint8_t)(0xd8 + opc);
   memop m;
   s.opc = &o;
   s.nopc = 1;
   s.reg = reg;
   s.rm_reg = -1;
   mem_pick(&m, mem_off(size, size >= 8 ? 8 : size), 0);
   s.m = &m;
   if (R(6) == 0)
      s.osize = 2;      /* a 66 prefix: meaningless except for the environment forms */
   diff_emit(&s);
   diff_end_insn();
}

static void x87_reg(unsigned opc, unsigned modrm)
{
   diff_b1((uint8_t)(0xd8 + opc));
   diff_b1((uint8_t)modrm);
}

static void x87_one(diff_case *c)
{
   switch (R(10)) {
   case 0: case 1: {                 /* arithmetic with memory */
      static const uint8_t ms[4] = { 4, 4, 8, 2 }, opc[4] = { 0, 2, 4, 6 };
      unsigned k = R(4);
      x87_mem(opc[k], R(8), ms[k]);
      diff_set_desc("%x/m", 0xd8 + opc[k]);
      break;
   }
   case 2: {                         /* loads */
      static const uint8_t lo[][3] = {
         { 1, 0, 4 }, { 5, 0, 8 }, { 3, 5, 10 }, { 7, 0, 2 }, { 3, 0, 4 }, { 7, 5, 8 }, { 7, 4, 10 },
      };
      unsigned k = R(7);
      x87_mem(lo[k][0], lo[k][1], lo[k][2]);
      diff_set_desc("load %x/%u", 0xd8 + lo[k][0], lo[k][1]);
      break;
   }
   case 3: {                         /* stores */
      static const uint8_t st[][3] = {
         { 1, 2, 4 }, { 1, 3, 4 }, { 5, 2, 8 }, { 5, 3, 8 }, { 3, 7, 10 }, { 7, 2, 2 }, { 7, 3, 2 },
         { 3, 2, 4 }, { 3, 3, 4 }, { 7, 7, 8 }, { 3, 1, 4 }, { 5, 1, 8 }, { 7, 1, 2 }, { 7, 6, 10 },
      };
      unsigned k = R(14);
      x87_mem(st[k][0], st[k][1], st[k][2]);
      diff_set_desc("store %x/%u", 0xd8 + st[k][0], st[k][1]);
      break;
   }
   case 4: case 5: {                 /* register arithmetic */
      static const uint8_t base[][2] = {
         { 0, 0xc0 }, { 4, 0xc0 }, { 4, 0xe0 }, { 6, 0xc0 }, { 6, 0xe0 }, { 1, 0xc0 },
         { 5, 0xd0 }, { 5, 0xe0 }, { 2, 0xc0 }, { 3, 0xc0 }, { 3, 0xe8 }, { 7, 0xe8 },
      };
      unsigned k = R(12);
      unsigned modrm = base[k][1] + (base[k][1] == 0xc0 && base[k][0] != 2 && base[k][0] != 3 &&
                                     base[k][0] != 1 && base[k][0] != 0 ? R(16) : R(16) & 15);
      if (base[k][0] == 0 || base[k][0] == 4 || base[k][0] == 6)
         modrm = base[k][1] + R(base[k][1] == 0xc0 ? (base[k][0] == 0 ? 64 : 16) : 32);
      x87_reg(base[k][0], modrm & 0xff);
      diff_set_desc("%x %02x", 0xd8 + base[k][0], modrm & 0xff);
      break;
   }
   case 6: {                         /* D9 specials */
      static const uint8_t d9[] = {
         0xd0, 0xe0, 0xe1, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee,
         0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
         0xfe, 0xff,
      };
      unsigned m = d9[R(sizeof(d9))];
      x87_reg(1, m);
      diff_set_desc("d9 %02x", m);
      break;
   }
   case 7: {                         /* misc register forms */
      static const uint8_t misc[][2] = {
         { 5, 0xc0 }, { 5, 0xe8 }, { 2, 0xe9 }, { 6, 0xd9 }, { 3, 0xe2 }, { 3, 0xe3 },
         { 7, 0xe0 }, { 7, 0xc0 }, { 2, 0xd0 }, { 3, 0xd8 },
      };
      unsigned k = R(10);
      unsigned m = misc[k][1];
      if (m == 0xc0 || m == 0xe8 || m == 0xd0 || m == 0xd8)
         m += R(8);
      x87_reg(misc[k][0], m);
      diff_set_desc("%x %02x", 0xd8 + misc[k][0], m);
      break;
   }
   case 8: {                         /* control words and environments */
      unsigned k = R(6);
      if (k == 0) {
         /* FLDCW with a control word the data area holds */
         uint16_t cw = (uint16_t)(0x037f & ~(R(4) == 0 ? 1u << R(6) : 0)) | (uint16_t)(R(4) << 10);
         unsigned off = (R(DIFF_DATA_SIZE / 2 - 2)) * 2;
         memop m;
         insn_spec s = { 0 };
         static const uint8_t o = 0xd9;
         memcpy(c->data + off, &cw, 2);
         s.opc = &o;
         s.nopc = 1;
         s.reg = 5;
         s.rm_reg = -1;
         mem_pick(&m, off, 0);
         s.m = &m;
         diff_emit(&s);
         diff_end_insn();
         diff_set_desc("fldcw %04x", cw);
      } else if (k == 1) {
         x87_mem(1, 7, 2);
         diff_set_desc("fnstcw");
      } else if (k == 2) {
         x87_mem(5, 7, 2);
         diff_set_desc("fnstsw m");
      } else {
         /* FNSTENV / FNSAVE at a known place (the pointers are not compared),
          * then perhaps load them back */
         bool save = k == 3 || k == 5;
         unsigned off = 64 * (1 + R(60)), len = save ? 108 : 28;
         memop m;
         insn_spec s = { 0 };
         static const uint8_t d9 = 0xd9, dd = 0xdd;
         s.opc = save ? &dd : &d9;
         s.nopc = 1;
         s.reg = 6;
         s.rm_reg = -1;
         mem_pick(&m, off, 0);
         s.m = &m;
         diff_emit(&s);
         diff_end_insn();
         c->ignore_off = off + 12;
         c->ignore_len = 16;
         /* a save that runs into an unmapped page: this AMD host's CR2
          * was a byte 11 into that page (its fields are not written in
          * order), ours is the page's first byte */
         c->cr2_in_page = true;
         (void)len;
         if (R(2)) {
            memop m2 = m;
            s.reg = 4;
            s.m = &m2;
            mem_pick(&m2, off, 0);
            diff_emit(&s);
            diff_end_insn();
         }
         diff_set_desc(save ? "fnsave" : "fnstenv");
      }
      break;
   }
   default:
      diff_b1(0x9b);   /* FWAIT */
      diff_set_desc("fwait");
      break;
   }
}

bool diff_gen_x87(diff_case *c, unsigned i)
{
   fp_begin(c, "x87");
   unsigned n = 1 + R(3);
   for (unsigned k = 0; k < n; k++)
      x87_one(c);
   diff_finish();
   (void)i;
   return true;
}

bool diff_gen_mmx(diff_case *c, unsigned i)
{
   fp_begin(c, "mmx");
   unsigned n = 1 + R(3);
   for (unsigned k = 0; k < n; k++) {
      unsigned kind = R(6);
      if (kind == 0) {
         diff_b1(0x0f);
         diff_b1(0x77);
         diff_set_desc("emms");
      } else if (kind == 1) {
         x87_one(c);
      } else {
         tmpl t = { 0, 1, int2_ops[R(sizeof(int2_ops))], MM, 8, 0 };
         if (t.op <= 0x62)
            t.ms = 4;
         if (R(4) == 0)
            t = (tmpl){ 0, 1, (uint8_t)(R(2) ? 0x6f : 0x7f), MM, 8, 0 };
         sse_one(&t);
         diff_set_desc("mmx %02x", t.op);
      }
   }
   diff_finish();
   (void)i;
   return true;
}

/* ---- FXSAVE / FXRSTOR / XRSTOR / LDMXCSR / STMXCSR ------------------------------------- */

static void fx_mem(unsigned rex_w, unsigned reg, unsigned off)
{
   insn_spec s = { 0 };
   static const uint8_t opc[2] = { 0x0f, 0xae };
   memop m;
   s.opc = opc;
   s.nopc = 2;
   s.osize = rex_w ? 8 : 4;
   s.reg = reg;
   s.rm_reg = -1;
   mem_pick(&m, off, (1u << 0) | (1u << 2));
   s.m = &m;
   diff_emit(&s);
   diff_end_insn();
}

bool diff_gen_fpstate(diff_case *c, unsigned i)
{
   fp_begin(c, "fpstate");
   unsigned kind = R(5);
   unsigned off = R(8) == 0 ? 16 * R(DIFF_DATA_SIZE / 16 - 40) + 8 : 64 * R(DIFF_DATA_SIZE / 64 - 14);
   switch (kind) {
   case 0: {                     /* FXSAVE(64) */
      bool w = R(2);
      fx_mem(w, 0, off);
      c->ignore_off = off + 6;
      c->ignore_len = 18;
      diff_set_desc("fxsave%s", w ? "64" : "");
      break;
   }
   case 1: {                     /* FXRSTOR(64) from a random valid image */
      uint8_t img[512] __attribute__((aligned(16)));
      bool w = R(2);
      rand_fx(img);
      if (R(8) == 0)
         img[26] = 1;            /* reserved MXCSR bit 16: #GP */
      memcpy(c->data + off, img, 512);
      fx_mem(w, 1, off);
      diff_set_desc("fxrstor%s", w ? "64" : "");
      break;
   }
   case 2: {                     /* XRSTOR x87|SSE from a standard-form image */
      uint8_t img[576] __attribute__((aligned(64)));
      memset(img, 0, sizeof(img));
      rand_fx(img);
      uint64_t bv = R(4);
      memcpy(img + 512, &bv, 8);
      if (R(10) == 0)
         img[512 + 8 + R(8)] = 1;   /* XCOMP_BV / reserved header bytes: #GP */
      if (off + 576 > DIFF_DATA_SIZE)
         off = 64;
      memcpy(c->data + off, img, 576);
      c->gpr[0] = R(4);             /* EDX:EAX requested features */
      c->gpr[2] = 0;
      fx_mem(R(2), 5, off);
      diff_set_desc("xrstor bv %llu rfbm %llu", (unsigned long long)bv,
                    (unsigned long long)c->gpr[0]);
      break;
   }
   default: {                    /* LDMXCSR / STMXCSR */
      bool load = kind == 3;
      unsigned moff = 4 * R(DIFF_DATA_SIZE / 4 - 1);
      if (load) {
         uint32_t v = (uint32_t)(R(8) << 13) | 0x1f80 | (uint32_t)R(64);
         if (R(8) == 0)
            v ^= 0x80u << R(3);      /* unmask a pre-computation exception */
         if (R(10) == 0)
            v |= 1u << (16 + R(16));     /* reserved: #GP */
         memcpy(c->data + moff, &v, 4);
      }
      insn_spec s = { 0 };
      static const uint8_t opc[2] = { 0x0f, 0xae };
      memop m;
      s.opc = opc;
      s.nopc = 2;
      s.reg = load ? 2 : 3;
      s.rm_reg = -1;
      mem_pick(&m, moff, 0);
      s.m = &m;
      diff_emit(&s);
      diff_end_insn();
      /* and an SSE op under the new MXCSR */
      if (load && R(2)) {
         tmpl t = { 0, 1, fp4_ops[R(sizeof(fp4_ops))], XX, 16, T_REG };
         sse_one(&t);
      }
      diff_set_desc(load ? "ldmxcsr" : "stmxcsr");
      break;
   }
   }
   diff_finish();
   (void)i;
   return true;
}
