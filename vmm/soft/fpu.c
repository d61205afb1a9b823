/*
 * vmm/soft/fpu.c - x87 FPU instructions, the FPU/SSE state instructions
 * (FXSAVE/FXRSTOR, XSAVE/XRSTOR, XGETBV/XSETBV, LDMXCSR/STMXCSR, EMMS,
 * FWAIT) and the state helpers shared with sse.c.
 *
 * State lives in cpu->fpu.xsave, a standard XSAVE image (the checkpoint
 * format): the FXSAVE64 legacy area (FCW, FSW, abridged FTW, FOP, 64-bit
 * FIP/FDP, MXCSR, ST0-ST7 in stack order, XMM0-15), the XSAVE header, and
 * extended components (only AVX's, carried unchanged from a KVM
 * checkpoint). x87 arithmetic runs on the host (hostexec.c) over that very
 * image; this file decides everything architectural around it: CR0.EM/TS/
 * MP, pending x87 errors (#MF before the next waiting instruction), memory
 * operands and their faults, FOP/FIP/FDP, and the environment formats of
 * FLDENV/FSTENV/FSAVE/FRSTOR in real, 16-bit and 32-bit modes.
 */
#include "soft_int.h"
#include "hostexec.h"

/* ---- the image ---------------------------------------------------------- */

#define FX_FCW   0
#define FX_FSW   2
#define FX_FTW   4
#define FX_FOP   6
#define FX_FIP   8
#define FX_FDP   16
#define FX_MXCSR 24
#define FX_MXCSR_MASK 28
#define FX_ST    32
#define FX_XMM   160
#define XS_BV    512
#define XS_COMP  520
#define XS_AVX   576

#define FSW_ES   0x0080u
#define FSW_TOP  0x3800u

static inline uint8_t *fx(soft_cpu *cpu)
{
   return cpu->fpu.xsave;
}

static inline uint16_t ld16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t ld32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t ld64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline void st16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void st32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void st64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

uint32_t soft_mxcsr(soft_cpu *cpu)
{
   return ld32(fx(cpu) + FX_MXCSR);
}

void soft_set_mxcsr(soft_cpu *cpu, uint32_t v)
{
   st32(fx(cpu) + FX_MXCSR, v);
}

uint16_t soft_fsw(soft_cpu *cpu)
{
   return ld16(fx(cpu) + FX_FSW);
}

uint8_t *soft_xmm(soft_cpu *cpu, unsigned i)
{
   return fx(cpu) + FX_XMM + 16 * i;
}

/* What loading FCW keeps: bit 6 reads as 1, bits 7 and 13-15 as 0. */
static uint16_t fcw_normal(uint16_t v)
{
   return (uint16_t)((v & 0x1f3f) | 0x40);
}

/* Set FSW. The image keeps ST(i) in stack order, so a new TOP rotates the
 * registers: physical register R<p> stays where it is, ST(i) moves. */
static void x87_set_fsw(soft_cpu *cpu, uint16_t fsw)
{
   uint8_t *f = fx(cpu);
   unsigned old = (ld16(f + FX_FSW) >> 11) & 7, top = (fsw >> 11) & 7;
   if (old != top) {
      uint8_t tmp[128];
      memcpy(tmp, f + FX_ST, 128);
      for (unsigned j = 0; j < 8; j++)
         memcpy(f + FX_ST + 16 * j, tmp + 16 * ((j + top - old) & 7), 16);
   }
   st16(f + FX_FSW, fsw);
}

/* x87 initial state (FNINIT plus registers cleared, as XRSTOR's init). */
static void x87_init_state(soft_cpu *cpu, bool clear_regs)
{
   uint8_t *f = fx(cpu);
   st16(f + FX_FCW, 0x037f);
   x87_set_fsw(cpu, 0);
   f[FX_FTW] = 0;
   st16(f + FX_FOP, 0);
   st64(f + FX_FIP, 0);
   st64(f + FX_FDP, 0);
   cpu->fpu_cs = cpu->fpu_ds = 0;
   if (clear_regs)
      memset(f + FX_ST, 0, 128);
}

/* ---- MMX registers: mm<i> is physical x87 register R<i> -------------------- */

static inline unsigned x87_top(soft_cpu *cpu)
{
   return (soft_fsw(cpu) >> 11) & 7;
}

uint64_t soft_mm_get(soft_cpu *cpu, unsigned i)
{
   unsigned slot = (i - x87_top(cpu)) & 7;
   return ld64(fx(cpu) + FX_ST + 16 * slot);
}

/* The x87 -> MMX transition of every MMX instruction: TOP = 0 (the image
 * keeps ST(i) in stack order, so the registers rotate), all tags valid. */
void soft_mmx_enter(soft_cpu *cpu)
{
   x87_set_fsw(cpu, soft_fsw(cpu) & ~FSW_TOP);
   fx(cpu)[FX_FTW] = 0xff;
}

/* After soft_mmx_enter. Writing an MMX register sets its exponent to all
 * ones, as the hardware does. */
void soft_mm_set(soft_cpu *cpu, unsigned i, uint64_t v)
{
   uint8_t *p = fx(cpu) + FX_ST + 16 * i;
   st64(p, v);
   st16(p + 8, 0xffff);
}

/* ---- checks ----------------------------------------------------------------------- */

/* x87 instructions (and FWAIT with MP): #NM on EM or TS. */
static void x87_available(soft_cpu *cpu)
{
   if (cpu->cr0 & (CR0_EM | CR0_TS))
      soft_raise_noerr(cpu, EXC_NM);
}

/* A pending unmasked x87 exception is taken at the next waiting x87 or MMX
 * instruction. CR0.NE = 0 (external FERR#) is reported the same way. */
void soft_x87_check_pending(soft_cpu *cpu)
{
   if (soft_fsw(cpu) & FSW_ES)
      soft_raise_noerr(cpu, EXC_MF);
}

/* ---- guest memory in bulk --------------------------------------------------------- */

void soft_mem_read(soft_cpu *cpu, uint64_t lin, void *buf, unsigned len)
{
   uint8_t *b = buf;
   unsigned i = 0;
   for (; i + 8 <= len; i += 8)
      st64(b + i, lin_read(cpu, lin_mask(cpu, lin + i), 8, ACC_R));
   for (; i < len; i++)
      b[i] = (uint8_t)lin_read(cpu, lin_mask(cpu, lin + i), 1, ACC_R);
}

/* Raise the fault a write of [lin, lin+len) (len <= 4096) would raise. */
void soft_mem_check_write(soft_cpu *cpu, uint64_t lin, unsigned len)
{
   soft_check_write(cpu, lin, 1);
   uint64_t last = lin_mask(cpu, lin + len - 1);
   if ((last & ~0xfffull) != (lin & ~0xfffull))
      soft_check_write(cpu, last & ~0xfffull, 1);   /* CR2: the page's first byte */
}

void soft_mem_write(soft_cpu *cpu, uint64_t lin, const void *buf, unsigned len)
{
   const uint8_t *b = buf;
   unsigned i = 0;
   for (; i + 8 <= len; i += 8)
      lin_write(cpu, lin_mask(cpu, lin + i), 8, ld64(b + i), ACC_W);
   for (; i < len; i++)
      lin_write(cpu, lin_mask(cpu, lin + i), 1, b[i], ACC_W);
}

/* ---- x87 instruction forms ----------------------------------------------------------- */

enum {
   X87_UD,        /* invalid encoding */
   X87_STUB,      /* runs on the host */
   X87_NOP,       /* FNENI/FNDISI/FNSETPM: no-ops since the 387 */
   X87_FNSTSW_AX,
   X87_ENV,       /* FLDENV, FNSTENV, FRSTOR, FNSAVE */
};

/* opc = 0-7 for D8-DF; modrm as encoded. */
static unsigned x87_form(unsigned opc, unsigned mod, unsigned reg, unsigned rm)
{
   if (mod != 3) {
      if ((opc == 1 && reg == 1) || (opc == 3 && (reg == 4 || reg == 6)) || (opc == 5 && reg == 5))
         return X87_UD;
      if ((opc == 1 && (reg == 4 || reg == 6)) || (opc == 5 && (reg == 4 || reg == 6)))
         return X87_ENV;
      return X87_STUB;
   }
   unsigned m = 0xc0 | (reg << 3) | rm;
   switch (opc) {
   case 0:
      return X87_STUB;
   case 1:
      if (m <= 0xcf || m == 0xd0 || m == 0xe0 || m == 0xe1 || m == 0xe4 || m == 0xe5 ||
          (m >= 0xe8 && m <= 0xee) || m >= 0xf0)
         return X87_STUB;
      return X87_UD;
   case 2:
      return (m <= 0xdf || m == 0xe9) ? X87_STUB : X87_UD;
   case 3:
      if (m <= 0xdf || m == 0xe2 || m == 0xe3 || (m >= 0xe8 && m <= 0xf7))
         return X87_STUB;
      if (m == 0xe0 || m == 0xe1 || m == 0xe4)
         return X87_NOP;
      return X87_UD;
   case 4:
      return (m >= 0xd0 && m <= 0xdf) ? X87_UD : X87_STUB;
   case 5:
      return (m <= 0xc7 || (m >= 0xd0 && m <= 0xef)) ? X87_STUB : X87_UD;
   case 6:
      return (m <= 0xcf || m == 0xd9 || m >= 0xe0) ? X87_STUB : X87_UD;
   default:
      if (m == 0xe0)
         return X87_FNSTSW_AX;
      return (m <= 0xc7 || (m >= 0xe8 && m <= 0xf7)) ? X87_STUB : X87_UD;
   }
}

/* Memory operand size of a stub form, negative for a store. */
static int x87_msize(unsigned opc, unsigned reg)
{
   switch (opc) {
   case 0: return 4;
   case 1: return reg == 0 ? 4 : reg <= 3 ? -4 : reg == 5 ? 2 : -2;   /* FLD/FST(P) m32, FLDCW, FNSTCW */
   case 2: return 4;
   case 3: return reg == 0 ? 4 : reg <= 3 ? -4 : reg == 5 ? 10 : -10;  /* FILD/FISTTP/FIST(P) m32, FLD/FSTP m80 */
   case 4: return 8;
   case 5: return reg == 0 ? 8 : reg <= 3 ? -8 : -2;                   /* FLD/FISTTP/FST(P) m64, FNSTSW */
   case 6: return 2;
   default:
      switch (reg) {
      case 0: return 2;                  /* FILD m16 */
      case 1: case 2: case 3: return -2; /* FISTTP/FIST/FISTP m16 */
      case 4: return 10;                 /* FBLD */
      case 5: return 8;                  /* FILD m64 */
      case 6: return -10;                /* FBSTP */
      default: return -8;                /* FISTP m64 */
      }
   }
}

/* No-wait and control instructions: they neither take a pending exception
 * first nor change FOP/FIP/FDP. */
static bool x87_nowait(unsigned opc, unsigned mod, unsigned reg, unsigned rm)
{
   if (mod != 3)
      return (opc == 1 && (reg == 6 || reg == 7)) || (opc == 5 && (reg == 6 || reg == 7));
   return (opc == 3 && reg == 4 && (rm == 2 || rm == 3)) || (opc == 7 && reg == 4 && rm == 0);
}

static bool x87_control(unsigned opc, unsigned mod, unsigned reg, unsigned rm)
{
   if (x87_nowait(opc, mod, reg, rm))
      return true;
   return mod != 3 && ((opc == 1 && (reg == 4 || reg == 5)) || (opc == 5 && reg == 4));
}

/* Decode time: the host stub, or the handler for the form. */
void soft_x87_prepare(soft_cpu *cpu, soft_insn *in)
{
   unsigned opc = in->op & 7, reg = in->reg & 7, rm = in->rm & 7;
   unsigned form = x87_form(opc, in->mod, reg, rm);
   (void)cpu;
   in->imm2 = 0;
   if (form == X87_UD) {
      in->fn = op_ud;
      return;
   }
   if (form != X87_STUB)
      return;
   uint8_t code[2] = { (uint8_t)(0xd8 | opc),
                       (uint8_t)(in->mod == 3 ? (0xc0 | (reg << 3) | rm) : ((reg << 3) | 7)) };
   in->imm2 = (uintptr_t)soft_hx_stub(code, 2);
   if (!in->imm2)
      in->fn = op_ud;
}

/* ---- environment formats ------------------------------------------------------------- */

static unsigned full_tag(const uint8_t *st, bool empty)
{
   if (empty)
      return 3;
   uint16_t exp = ld16(st + 8) & 0x7fff;
   uint64_t mant = ld64(st);
   if (exp == 0x7fff)
      return 2;
   if (exp == 0)
      return mant == 0 ? 1 : 2;
   return (mant >> 63) ? 0 : 2;      /* unnormals are special */
}

static uint16_t x87_full_tags(soft_cpu *cpu)
{
   uint8_t *f = fx(cpu);
   unsigned top = x87_top(cpu);
   uint16_t t = 0;
   for (unsigned p = 0; p < 8; p++) {
      unsigned slot = (p - top) & 7;
      t |= (uint16_t)(full_tag(f + FX_ST + 16 * slot, !((f[FX_FTW] >> p) & 1)) << (2 * p));
   }
   return t;
}

/* 14- or 28-byte environment at lin, in the format of the mode and size. */
static unsigned env_size(soft_cpu *cpu, const soft_insn *in)
{
   return in->osize == 2 ? 14 : 28;
}

static void env_store(soft_cpu *cpu, const soft_insn *in, uint8_t *e)
{
   uint8_t *f = fx(cpu);
   bool real = cpu->mode == MODE_REAL || cpu->mode == MODE_V86;
   uint64_t fip = ld64(f + FX_FIP), fdp = ld64(f + FX_FDP);
   uint16_t fop = ld16(f + FX_FOP) & 0x7ff;
   memset(e, 0, 28);
   if (in->osize == 2) {
      st16(e + 0, ld16(f + FX_FCW));
      st16(e + 2, ld16(f + FX_FSW));
      st16(e + 4, x87_full_tags(cpu));
      st16(e + 6, (uint16_t)fip);
      st16(e + 10, (uint16_t)fdp);
      if (real) {
         st16(e + 8, (uint16_t)(fop | ((fip >> 16) & 0xf) << 12));
         st16(e + 12, (uint16_t)(((fdp >> 16) & 0xf) << 12));
      } else {
         st16(e + 8, cpu->fpu_cs);
         st16(e + 12, cpu->fpu_ds);
      }
      return;
   }
   st32(e + 0, 0xffff0000u | ld16(f + FX_FCW));
   st32(e + 4, 0xffff0000u | ld16(f + FX_FSW));
   st32(e + 8, 0xffff0000u | x87_full_tags(cpu));
   if (real) {
      st32(e + 12, 0xffff0000u | (uint16_t)fip);
      st32(e + 16, (uint32_t)(fop | ((fip >> 16) & 0xffff) << 12));
      st32(e + 20, 0xffff0000u | (uint16_t)fdp);
      st32(e + 24, (uint32_t)(((fdp >> 16) & 0xffff) << 12));
   } else {
      st32(e + 12, (uint32_t)fip);
      st32(e + 16, cpu->fpu_cs | (uint32_t)fop << 16);
      st32(e + 20, (uint32_t)fdp);
      st32(e + 24, 0xffff0000u | cpu->fpu_ds);
   }
}

static void env_load(soft_cpu *cpu, const soft_insn *in, const uint8_t *e)
{
   uint8_t *f = fx(cpu);
   bool real = cpu->mode == MODE_REAL || cpu->mode == MODE_V86;
   uint16_t fcw, fsw, tags;
   uint64_t fip, fdp;
   uint16_t fop;
   if (in->osize == 2) {
      fcw = ld16(e);
      fsw = ld16(e + 2);
      tags = ld16(e + 4);
      fip = ld16(e + 6);
      fdp = ld16(e + 10);
      fop = real ? ld16(e + 8) & 0x7ff : 0;
      if (real) {
         fip |= (uint64_t)(ld16(e + 8) >> 12) << 16;
         fdp |= (uint64_t)(ld16(e + 12) >> 12) << 16;
      } else {
         cpu->fpu_cs = ld16(e + 8);
         cpu->fpu_ds = ld16(e + 12);
      }
   } else {
      fcw = ld16(e);
      fsw = ld16(e + 4);
      tags = ld16(e + 8);
      if (real) {
         fip = ld16(e + 12) | (uint64_t)(ld32(e + 16) >> 12) << 16;
         fop = ld32(e + 16) & 0x7ff;
         fdp = ld16(e + 20) | (uint64_t)(ld32(e + 24) >> 12) << 16;
      } else {
         fip = ld32(e + 12);
         fop = (ld32(e + 16) >> 16) & 0x7ff;
         fdp = ld32(e + 20);
         cpu->fpu_cs = ld16(e + 16);
         cpu->fpu_ds = ld16(e + 24);
      }
   }
   fcw = fcw_normal(fcw);
   st16(f + FX_FCW, fcw);
   x87_set_fsw(cpu, fsw);
   uint8_t ftw = 0;
   for (unsigned p = 0; p < 8; p++)
      if (((tags >> (2 * p)) & 3) != 3)
         ftw |= (uint8_t)(1u << p);
   f[FX_FTW] = ftw;
   st16(f + FX_FOP, fop);
   st64(f + FX_FIP, fip);
   st64(f + FX_FDP, fdp);
   /* ES follows the unmasked exception flags */
   if (fsw & ~fcw & 0x3f)
      st16(f + FX_FSW, fsw | FSW_ES | 0x8000);
   else
      st16(f + FX_FSW, fsw & ~(FSW_ES | 0x8000));
}

/* FLDENV, FNSTENV, FRSTOR, FNSAVE */
static void x87_env_op(soft_cpu *cpu, const soft_insn *in, unsigned opc, unsigned reg)
{
   uint8_t buf[108];
   uint8_t *f = fx(cpu);
   unsigned es = env_size(cpu, in);
   bool save = reg == 6, full = opc == 5;
   unsigned len = es + (full ? 80 : 0);
   uint64_t off = soft_ea(cpu, in);
   uint64_t lin = seg_lin(cpu, in->seg, off, len, save ? ACC_W : ACC_R);

   if (save) {
      soft_mem_check_write(cpu, lin, len);
      env_store(cpu, in, buf);
      if (full)
         for (unsigned i = 0; i < 8; i++)
            memcpy(buf + es + 10 * i, f + FX_ST + 16 * i, 10);
      soft_mem_write(cpu, lin, buf, len);
      if (full) {
         x87_init_state(cpu, false);         /* FNSAVE ends with FNINIT */
      } else {
         /* FNSTENV masks everything, so nothing is pending any more */
         st16(f + FX_FCW, ld16(f + FX_FCW) | 0x3f);
         st16(f + FX_FSW, ld16(f + FX_FSW) & ~(FSW_ES | 0x8000));
      }
      return;
   }
   soft_mem_read(cpu, lin, buf, len);
   env_load(cpu, in, buf);
   if (full)
      for (unsigned i = 0; i < 8; i++) {
         memcpy(f + FX_ST + 16 * i, buf + es + 10 * i, 10);
         memset(f + FX_ST + 16 * i + 10, 0, 6);
      }
}

/* ---- the x87 escape ------------------------------------------------------------------- */

void op_fpu_escape(soft_cpu *cpu, const soft_insn *in)
{
   unsigned opc = in->op & 7, reg = in->reg & 7, rm = in->rm & 7;
   unsigned form = x87_form(opc, in->mod, reg, rm);
   uint8_t *f = fx(cpu);

   x87_available(cpu);
   if (!x87_nowait(opc, in->mod, reg, rm))
      soft_x87_check_pending(cpu);

   switch (form) {
   case X87_UD:
      RAISE_UD(cpu);
   case X87_NOP:
      return;
   case X87_FNSTSW_AX:
      gpr_set(cpu, VMM_RAX, 2, ld16(f + FX_FSW));
      return;
   case X87_ENV:
      x87_env_op(cpu, in, opc, reg);
      return;
   default:
      break;
   }

   uint8_t mem[16] __attribute__((aligned(16))) = { 0 };
   uint64_t lin = 0, off = 0;
   int ms = 0;
   if (in->mod != 3) {
      ms = x87_msize(opc, reg);
      unsigned n = (unsigned)(ms < 0 ? -ms : ms);
      off = soft_ea(cpu, in);
      lin = seg_lin(cpu, in->seg, off, n, ms < 0 ? ACC_W : ACC_R);
      if (ms < 0)
         soft_mem_check_write(cpu, lin, n);
      /* a store the host does not complete (unmasked exception) leaves
       * the old bytes, so start from them */
      soft_mem_read(cpu, lin, mem, n);
   }
   uint64_t fl = soft_arith_flags(cpu) | 2;
   soft_hx_x87(f, mem, (const void *)(uintptr_t)in->imm2, &fl);
   if (ms < 0)
      soft_mem_write(cpu, lin, mem, (unsigned)-ms);
   /* FCOMI, FUCOMI and their popping forms set ZF/PF/CF, clear OF/SF/AF */
   if (in->mod == 3 && (opc == 3 || opc == 7) && reg >= 5 && reg <= 6)
      set_flags_eager(cpu, (uint32_t)fl & (FL_ZF | FL_PF | FL_CF));
   if (!x87_control(opc, in->mod, reg, rm)) {
      st16(f + FX_FOP, (uint16_t)((opc << 8) | (in->mod << 6) | (reg << 3) | rm));
      st64(f + FX_FIP, cpu->rip);
      cpu->fpu_cs = cpu->seg[VMM_CS].selector;
      if (in->mod != 3) {
         st64(f + FX_FDP, off);
         cpu->fpu_ds = cpu->seg[in->seg].selector;
      }
   } else if (in->mod == 3 && opc == 3 && reg == 4 && rm == 3) {
      cpu->fpu_cs = cpu->fpu_ds = 0;         /* FNINIT */
   }
}

/* 9B: FWAIT */
void op_fwait(soft_cpu *cpu, const soft_insn *in)
{
   if ((cpu->cr0 & (CR0_TS | CR0_MP)) == (CR0_TS | CR0_MP))
      soft_raise_noerr(cpu, EXC_NM);
   soft_x87_check_pending(cpu);
}

/* 0F 77: EMMS */
void op_emms(soft_cpu *cpu, const soft_insn *in)
{
   if (cpu->cr0 & CR0_EM)
      RAISE_UD(cpu);
   if (cpu->cr0 & CR0_TS)
      soft_raise_noerr(cpu, EXC_NM);
   soft_x87_check_pending(cpu);
   soft_mmx_enter(cpu);          /* TOP = 0, as every MMX instruction */
   fx(cpu)[FX_FTW] = 0;
}

/* ---- FXSAVE / FXRSTOR, LDMXCSR / STMXCSR ------------------------------------------------- */

static void sse_state_available(soft_cpu *cpu)
{
   if ((cpu->cr0 & CR0_EM) || !(cpu->cr4 & CR4_OSFXSR))
      RAISE_UD(cpu);
   if (cpu->cr0 & CR0_TS)
      soft_raise_noerr(cpu, EXC_NM);
}

static unsigned nxmm(soft_cpu *cpu)
{
   return cpu->mode == MODE_LONG64 ? 16 : 8;
}

/* The legacy area as FXSAVE (w64: FXSAVE64) writes it. */
static void legacy_store(soft_cpu *cpu, uint8_t *b, bool w64)
{
   uint8_t *f = fx(cpu);
   memcpy(b, f, 512);
   st32(b + FX_MXCSR_MASK, soft_hx_mxcsr_mask());
   if (!w64) {
      uint64_t fip = ld64(f + FX_FIP), fdp = ld64(f + FX_FDP);
      st32(b + 8, (uint32_t)fip);
      st32(b + 12, cpu->fpu_cs);
      st32(b + 16, (uint32_t)fdp);
      st32(b + 20, cpu->fpu_ds);
   }
   for (unsigned i = 0; i < 8; i++)
      memset(b + FX_ST + 16 * i + 10, 0, 6);
}

static void legacy_load_x87(soft_cpu *cpu, const uint8_t *b, bool w64)
{
   uint8_t *f = fx(cpu);
   memcpy(f, b, 24);
   st16(f + FX_FCW, fcw_normal(ld16(b + FX_FCW)));
   memcpy(f + FX_ST, b + FX_ST, 128);
   if (!w64) {
      st64(f + FX_FIP, ld32(b + 8));
      st64(f + FX_FDP, ld32(b + 16));
      cpu->fpu_cs = ld16(b + 12);
      cpu->fpu_ds = ld16(b + 20);
   } else {
      cpu->fpu_cs = cpu->fpu_ds = 0;
   }
   f[5] = 0;
   st16(f + FX_FOP, ld16(b + FX_FOP) & 0x7ff);
}

static bool mxcsr_ok(uint32_t v)
{
   return !(v & ~soft_hx_mxcsr_mask());
}

static void op_fxsave(soft_cpu *cpu, const soft_insn *in, bool restore)
{
   uint8_t buf[512];
   bool w64 = cpu->mode == MODE_LONG64 && (in->rex & 8);
   if (cpu->cr0 & (CR0_EM | CR0_TS))
      soft_raise_noerr(cpu, EXC_NM);
   uint64_t lin = ea_lin(cpu, in, 512, restore ? ACC_R : ACC_W);
   if (lin & 15)
      RAISE_GP(cpu, 0);
   unsigned len = FX_XMM + 16 * nxmm(cpu);
   if (!restore) {
      soft_mem_check_write(cpu, lin, len);
      legacy_store(cpu, buf, w64);
      soft_mem_write(cpu, lin, buf, len);
      return;
   }
   soft_mem_read(cpu, lin, buf, len);
   if (!mxcsr_ok(ld32(buf + FX_MXCSR)))
      RAISE_GP(cpu, 0);
   legacy_load_x87(cpu, buf, w64);
   soft_set_mxcsr(cpu, ld32(buf + FX_MXCSR));
   memcpy(fx(cpu) + FX_XMM, buf + FX_XMM, 16 * nxmm(cpu));
}

static void op_ldmxcsr(soft_cpu *cpu, const soft_insn *in, bool load)
{
   sse_state_available(cpu);
   if (load) {
      uint32_t v = (uint32_t)rm_get(cpu, in, 4);
      if (!mxcsr_ok(v))
         RAISE_GP(cpu, 0);
      soft_set_mxcsr(cpu, v);
   } else {
      rm_set(cpu, in, 4, soft_mxcsr(cpu));
   }
}

/* ---- XSAVE / XRSTOR / XGETBV / XSETBV ----------------------------------------------------- */

#define XCR0_SUPPORTED 3ull      /* x87 | SSE */
#define XCR0_KNOWN     7ull      /* ... and AVX, carried from a KVM checkpoint */

static unsigned xsave_size(uint64_t rfbm)
{
   return (rfbm & 4) ? XS_AVX + 256 : XS_AVX;
}

static void op_xsave(soft_cpu *cpu, const soft_insn *in, bool restore)
{
   uint8_t buf[XS_AVX + 256];
   if (!(cpu->cr4 & CR4_OSXSAVE))
      RAISE_UD(cpu);
   if (cpu->cr0 & CR0_TS)
      soft_raise_noerr(cpu, EXC_NM);
   bool w64 = cpu->mode == MODE_LONG64 && (in->rex & 8);
   uint64_t rfbm = cpu->xcr0 & ((cpu->gpr[VMM_RDX] << 32) | (uint32_t)cpu->gpr[VMM_RAX]);
   unsigned len = xsave_size(rfbm);
   uint64_t lin = ea_lin(cpu, in, len, restore ? ACC_R : ACC_W);
   if (lin & 63)
      RAISE_GP(cpu, 0);
   uint8_t *f = fx(cpu);

   if (!restore) {
      soft_mem_check_write(cpu, lin, len);
      uint64_t bv = lin_read(cpu, lin_mask(cpu, lin + XS_BV), 8, ACC_R);
      legacy_store(cpu, buf, w64);
      if (rfbm & 1) {
         soft_mem_write(cpu, lin, buf, 24);
         soft_mem_write(cpu, lin + FX_ST, buf + FX_ST, 128);
      }
      if (rfbm & 6)
         soft_mem_write(cpu, lin + FX_MXCSR, buf + FX_MXCSR, 8);
      if (rfbm & 2)
         soft_mem_write(cpu, lin + FX_XMM, buf + FX_XMM, 256);
      if (rfbm & 4)
         soft_mem_write(cpu, lin + XS_AVX, f + XS_AVX, 256);
      /* x87 and SSE count as in use; AVX as the image says */
      uint64_t inuse = 3 | (ld64(f + XS_BV) & 4);
      bv = (bv & ~rfbm) | (rfbm & inuse);
      lin_write(cpu, lin_mask(cpu, lin + XS_BV), 8, bv, ACC_W);
      return;
   }

   soft_mem_read(cpu, lin, buf, len);
   uint64_t bv = ld64(buf + XS_BV), comp = ld64(buf + XS_COMP);
   if (comp || (bv & ~cpu->xcr0))
      RAISE_GP(cpu, 0);
   for (unsigned i = 16; i < 64; i++)
      if (buf[XS_BV + i])
         RAISE_GP(cpu, 0);
   if ((rfbm & 6) && !mxcsr_ok(ld32(buf + FX_MXCSR)))
      RAISE_GP(cpu, 0);
   if (rfbm & 1) {
      if (bv & 1)
         legacy_load_x87(cpu, buf, w64);
      else
         x87_init_state(cpu, true);
   }
   if (rfbm & 6)
      soft_set_mxcsr(cpu, ld32(buf + FX_MXCSR));
   if (rfbm & 2) {
      if (bv & 2)
         memcpy(f + FX_XMM, buf + FX_XMM, 256);
      else
         memset(f + FX_XMM, 0, 256);
   }
   if (rfbm & 4) {
      if (bv & 4)
         memcpy(f + XS_AVX, buf + XS_AVX, 256);
      else
         memset(f + XS_AVX, 0, 256);
      st64(f + XS_BV, (ld64(f + XS_BV) & ~4ull) | (bv & 4));
   }
}

/* 0F 01 D0 / D1 */
void soft_op_xgetbv(soft_cpu *cpu, bool set)
{
   if (!(cpu->cr4 & CR4_OSXSAVE))
      RAISE_UD(cpu);
   uint32_t idx = (uint32_t)cpu->gpr[VMM_RCX];
   if (!set) {
      if (idx != 0)
         RAISE_GP(cpu, 0);
      cpu->gpr[VMM_RAX] = (uint32_t)cpu->xcr0;
      cpu->gpr[VMM_RDX] = cpu->xcr0 >> 32;
      return;
   }
   need_cpl0(cpu);
   uint64_t v = ((cpu->gpr[VMM_RDX] & 0xffffffffull) << 32) | (uint32_t)cpu->gpr[VMM_RAX];
   if (idx != 0 || !(v & 1) || (v & ~XCR0_SUPPORTED) || ((v & 4) && !(v & 2)))
      RAISE_GP(cpu, 0);
   cpu->xcr0 = v;
   cpu->fpu.xcr0 = v;
}

/* 0F AE with a memory operand and no prefix: FXSAVE, FXRSTOR, LDMXCSR,
 * STMXCSR, XSAVE, XRSTOR. Returns false for the other forms. */
bool soft_op_fpstate(soft_cpu *cpu, const soft_insn *in)
{
   switch (in->reg & 7) {
   case 0: op_fxsave(cpu, in, false); return true;
   case 1: op_fxsave(cpu, in, true); return true;
   case 2: op_ldmxcsr(cpu, in, true); return true;
   case 3: op_ldmxcsr(cpu, in, false); return true;
   case 4: op_xsave(cpu, in, false); return true;
   case 5: op_xsave(cpu, in, true); return true;
   default: return false;
   }
}

/* ---- state exchange ---------------------------------------------------------------------- */

void soft_get_fpu(soft_cpu *cpu, vmm_fpu *f)
{
   *f = cpu->fpu;
   f->xcr0 = cpu->xcr0;
   st32(f->xsave + FX_MXCSR_MASK, soft_hx_mxcsr_mask());
   /* x87 and SSE state are always "in use" here */
   st64(f->xsave + XS_BV, ld64(f->xsave + XS_BV) | 3);
}

int soft_set_fpu(soft_cpu *cpu, const vmm_fpu *f)
{
   uint64_t bv = ld64(f->xsave + XS_BV);
   if (!(f->xcr0 & 1) || (f->xcr0 & ~XCR0_KNOWN) || ((f->xcr0 & 4) && !(f->xcr0 & 2)))
      return -22;   /* -EINVAL */
   if (!mxcsr_ok(ld32(f->xsave + FX_MXCSR)) || ld64(f->xsave + XS_COMP))
      return -22;
   cpu->fpu = *f;
   cpu->xcr0 = f->xcr0;
   cpu->fpu_cs = cpu->fpu_ds = 0;
   st16(fx(cpu) + FX_FCW, fcw_normal(ld16(fx(cpu) + FX_FCW)));
   if (!(bv & 1))
      x87_init_state(cpu, true);
   if (!(bv & 2))
      memset(fx(cpu) + FX_XMM, 0, 256);
   if (!(bv & 4))
      memset(fx(cpu) + XS_AVX, 0, 256);
   return 0;
}
