/*
 * vmm/soft/tests/test_fpu.c - the x87/MMX/SSE rules the user-mode oracle
 * cannot reach: CR0.EM/TS/MP and CR4.OSFXSR/OSXMMEXCPT/OSXSAVE (#UD, #NM),
 * SIMD exceptions (#XM, or #UD), x87 error reporting (#MF at the next
 * waiting instruction), XGETBV/XSETBV, XSAVE/XRSTOR (standard form,
 * XSTATE_BV init handling, header checks), CPUID's dynamic bits, and SSE
 * and x87 in 32-bit protected mode.
 */
#include <string.h>

#include "shim.h"

enum { EXC_UD = 6, EXC_NM = 7, EXC_GP = 13, EXC_MF = 16, EXC_XM = 19 };

#define CODE 0x100000ull
#define DATA 0x200000ull

static shim *S;

static void put(uint64_t gpa, const uint8_t *b, size_t n)
{
   shim_wr(S, gpa, b, n);
}
#define PUT(gpa, ...) do { static const uint8_t _b[] = { __VA_ARGS__ }; put((gpa), _b, sizeof(_b)); } while (0)

static vmm_regs regs(void)
{
   vmm_regs r;
   soft_get_regs(S->cpu, &r);
   return r;
}

static void set_cr(uint64_t cr0_set, uint64_t cr0_clr, uint64_t cr4_set, uint64_t cr4_clr)
{
   vmm_sregs s;
   soft_get_sregs(S->cpu, &s);
   s.cr0 = (s.cr0 | cr0_set) & ~cr0_clr;
   s.cr4 = (s.cr4 | cr4_set) & ~cr4_clr;
   if (soft_set_sregs(S->cpu, &s) != 0)
      abort();
}

/* 64-bit CPL0 with CODE and DATA mapped, OSFXSR|OSXMMEXCPT|OSXSAVE, a
 * clean FPU, and XCR0 = x87|SSE. */
static void machine64(void)
{
   shim_clear(S, 0, 0x300000);
   soft_cpu_reset(S->cpu);
   shim_pt_reset(S, 0x2000);
   for (unsigned i = 0; i < 4; i++) {
      shim_map4(S, 0x1000, CODE + 0x1000 * i, CODE + 0x1000 * i, PTE_P | PTE_W);
      shim_map4(S, 0x1000, DATA + 0x1000 * i, DATA + 0x1000 * i, PTE_P | PTE_W);
   }
   shim_long_mode(S, 0x1000, 0);
   set_cr(0, 0, 0x600 | 0x40000, 0);
   static vmm_fpu f;
   soft_get_fpu(S->cpu, &f);
   f.xcr0 = 3;
   soft_set_fpu(S->cpu, &f);
   soft_options o = { .intercept_exceptions = true, .hlt_exits = true };
   soft_cpu_set_options(S->cpu, &o);
}

/* Run from CODE until HLT or an exception; returns the vector or -1. */
static int run(uint64_t rip)
{
   vmm_regs r = regs();
   r.rip = rip;
   r.gpr[VMM_RSP] = DATA + 0x3ff0;
   soft_set_regs(S->cpu, &r);
   soft_cpu_set_halted(S->cpu, false);
   soft_exit ex;
   soft_cpu_run(S->cpu, 1000, &ex);
   if (ex.reason == SOFT_EXIT_EXCEPTION)
      return ex.vector;
   if (ex.reason != SOFT_EXIT_HALT)
      return 1000 + (int)ex.reason;
   return -1;
}

static uint32_t mxcsr(void)
{
   static vmm_fpu f;
   soft_get_fpu(S->cpu, &f);
   uint32_t v;
   memcpy(&v, f.xsave + 24, 4);
   return v;
}

static uint16_t fsw(void)
{
   static vmm_fpu f;
   soft_get_fpu(S->cpu, &f);
   uint16_t v;
   memcpy(&v, f.xsave + 2, 2);
   return v;
}

static void test_cr_bits(void)
{
   machine64();
   PUT(CODE, 0x0f, 0x58, 0xc1, 0xf4);            /* addps xmm0, xmm1; hlt */
   PUT(CODE + 0x10, 0xd9, 0xe8, 0xf4);           /* fld1; hlt */
   PUT(CODE + 0x20, 0x0f, 0xfc, 0xc1, 0xf4);     /* paddb mm0, mm1; hlt */
   PUT(CODE + 0x30, 0x9b, 0xf4);                 /* fwait; hlt */
   PUT(CODE + 0x40, 0x0f, 0xae, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, 0xf4); /* fxsave [DATA] */
   PUT(CODE + 0x50, 0x0f, 0x01, 0xd0, 0xf4);     /* xgetbv */
   CHECK_EQ(run(CODE), -1);
   CHECK_EQ(run(CODE + 0x10), -1);
   CHECK_EQ(run(CODE + 0x20), -1);
   CHECK_EQ(run(CODE + 0x40), -1);

   set_cr(8, 0, 0, 0);                           /* TS */
   CHECK_EQ(run(CODE), EXC_NM);
   CHECK_EQ(run(CODE + 0x10), EXC_NM);
   CHECK_EQ(run(CODE + 0x20), EXC_NM);
   CHECK_EQ(run(CODE + 0x30), EXC_NM);           /* MP=1 */
   CHECK_EQ(run(CODE + 0x40), EXC_NM);
   CHECK_EQ(run(CODE + 0x50), -1);               /* XGETBV ignores TS */
   set_cr(0, 2, 0, 0);                           /* MP=0: FWAIT ignores TS */
   CHECK_EQ(run(CODE + 0x30), -1);
   set_cr(2, 8, 0, 0);

   set_cr(4, 0, 0, 0);                           /* EM */
   CHECK_EQ(run(CODE), EXC_UD);
   CHECK_EQ(run(CODE + 0x10), EXC_NM);
   CHECK_EQ(run(CODE + 0x20), EXC_UD);
   CHECK_EQ(run(CODE + 0x40), EXC_NM);
   set_cr(0, 4, 0, 0);

   set_cr(0, 0, 0, 0x200);                       /* no OSFXSR: SSE #UD, MMX fine */
   CHECK_EQ(run(CODE), EXC_UD);
   CHECK_EQ(run(CODE + 0x20), -1);
   set_cr(0, 0, 0x200, 0);

   set_cr(0, 0, 0, 0x40000);                     /* no OSXSAVE */
   CHECK_EQ(run(CODE + 0x50), EXC_UD);
   PUT(CODE + 0x60, 0x31, 0xc0, 0xff, 0xc0, 0x0f, 0xa2, 0xf4);   /* eax=1; cpuid */
   CHECK_EQ(run(CODE + 0x60), -1);
   CHECK_EQ((regs().gpr[VMM_RCX] >> 27) & 1, 0);
   set_cr(0, 0, 0x40000, 0);
   CHECK_EQ(run(CODE + 0x60), -1);
   CHECK_EQ((regs().gpr[VMM_RCX] >> 27) & 1, 1);
   CHECK_EQ((regs().gpr[VMM_RCX] >> 26) & 1, 1);
   CHECK_EQ((regs().gpr[VMM_RDX] >> 25) & 3, 3);   /* SSE, SSE2 */
}

static void test_simd_exceptions(void)
{
   machine64();
   /* ldmxcsr [DATA]; divps xmm0, xmm1; hlt with ZM unmasked and xmm1 = 0 */
   uint32_t v = 0x1f80 & ~0x200u;
   shim_wr32(S, DATA, v);
   PUT(CODE, 0x0f, 0xae, 0x14, 0x25, 0x00, 0x00, 0x20, 0x00, 0x0f, 0x5e, 0xc1, 0xf4);
   static vmm_fpu f;
   soft_get_fpu(S->cpu, &f);
   float one = 1.0f;
   for (unsigned i = 0; i < 4; i++)
      memcpy(f.xsave + 160 + 4 * i, &one, 4);
   memset(f.xsave + 176, 0, 16);
   soft_set_fpu(S->cpu, &f);
   CHECK_EQ(run(CODE), EXC_XM);
   CHECK_EQ(regs().rip, CODE + 8);
   CHECK_EQ(mxcsr() & 0x3f, 0x4);                /* ZE */
   soft_get_fpu(S->cpu, &f);
   CHECK(memcmp(f.xsave + 160, &one, 4) == 0, "destination written on #XM");
   set_cr(0, 0, 0, 0x400);                       /* without OSXMMEXCPT: #UD */
   CHECK_EQ(run(CODE + 8), EXC_UD);
   set_cr(0, 0, 0x400, 0);
   /* masked: no exception, infinity */
   shim_wr32(S, DATA, 0x1f80);
   CHECK_EQ(run(CODE), -1);
   soft_get_fpu(S->cpu, &f);
   CHECK_EQ(shim_rd32(S, DATA) & 0, 0);
   uint32_t inf;
   memcpy(&inf, f.xsave + 160, 4);
   CHECK_EQ(inf, 0x7f800000);
   /* LDMXCSR with a reserved bit: #GP(0) */
   shim_wr32(S, DATA, 0x11f80);
   CHECK_EQ(run(CODE), EXC_GP);
}

static void test_x87_errors(void)
{
   machine64();
   /* fldcw [DATA] (ZM unmasked); fldz; fld1; fdivrp? fdiv st0, st1 (1/0);
    * nop; fwait; hlt */
   uint16_t cw = 0x037b;
   shim_wr(S, DATA, &cw, 2);
   PUT(CODE, 0xd9, 0x2c, 0x25, 0x00, 0x00, 0x20, 0x00,   /* fldcw [DATA] */
       0xd9, 0xee, 0xd9, 0xe8,                          /* fldz; fld1 */
       0xd8, 0xf1,                                      /* fdiv st0, st1 */
       0x90,                                            /* nop */
       0x9b,                                            /* fwait: #MF here */
       0xf4);
   CHECK_EQ(run(CODE), EXC_MF);
   CHECK_EQ(regs().rip, CODE + 14);
   CHECK(fsw() & 0x80, "ES set");
   CHECK(fsw() & 0x04, "ZE set");
   /* FNSTSW AX / FNCLEX do not wait; then FWAIT passes */
   PUT(CODE + 0x20, 0xdf, 0xe0, 0xdb, 0xe2, 0x9b, 0xf4);
   CHECK_EQ(run(CODE + 0x20), -1);
   CHECK(regs().gpr[VMM_RAX] & 0x80, "fnstsw ax saw ES");
   CHECK_EQ(fsw() & 0xff, 0);
   /* an MMX instruction also takes a pending x87 error */
   PUT(CODE + 0x30, 0xd9, 0xee, 0xd9, 0xe8, 0xd8, 0xf1, 0x0f, 0xfc, 0xc1, 0xf4);
   CHECK_EQ(run(CODE + 0x30), EXC_MF);
   CHECK_EQ(regs().rip, CODE + 0x36);
}

static void test_xsave(void)
{
   machine64();
   /* xsetbv with ecx = 0: valid and invalid values */
   PUT(CODE, 0x0f, 0x01, 0xd1, 0xf4);
   vmm_regs r = regs();
   r.gpr[VMM_RCX] = 0;
   r.gpr[VMM_RDX] = 0;
   static const uint64_t bad[] = { 0, 2, 7, 5, 0x100 };
   for (unsigned i = 0; i < 5; i++) {
      r.gpr[VMM_RAX] = bad[i];
      r.rip = CODE;
      soft_set_regs(S->cpu, &r);
      CHECK_EQ(run(CODE), EXC_GP);
   }
   r.gpr[VMM_RAX] = 3;
   soft_set_regs(S->cpu, &r);
   CHECK_EQ(run(CODE), -1);
   PUT(CODE + 0x10, 0x31, 0xc9, 0x0f, 0x01, 0xd0, 0xf4);   /* xor ecx, ecx; xgetbv */
   CHECK_EQ(run(CODE + 0x10), -1);
   CHECK_EQ(regs().gpr[VMM_RAX], 3);
   CHECK_EQ(regs().gpr[VMM_RDX], 0);
   /* CPUID.D.0: x87|SSE, 576 bytes */
   PUT(CODE + 0x20, 0xb8, 0x0d, 0, 0, 0, 0x31, 0xc9, 0x0f, 0xa2, 0xf4);
   CHECK_EQ(run(CODE + 0x20), -1);
   CHECK_EQ(regs().gpr[VMM_RAX], 3);
   CHECK_EQ(regs().gpr[VMM_RBX], 576);

   /* state to save: xmm5, MXCSR, an x87 value */
   static vmm_fpu f;
   soft_get_fpu(S->cpu, &f);
   memset(f.xsave + 160 + 5 * 16, 0xa5, 16);
   f.xsave[24] = 0x80;
   f.xsave[25] = 0x3f;                            /* MXCSR 0x3f80 */
   soft_set_fpu(S->cpu, &f);
   /* fld1; mov eax, 3; xor edx, edx; xsave64 [DATA+0x40]; hlt */
   PUT(CODE + 0x40, 0xd9, 0xe8, 0xb8, 3, 0, 0, 0, 0x31, 0xd2,
       0x48, 0x0f, 0xae, 0x24, 0x25, 0x40, 0x00, 0x20, 0x00, 0xf4);
   shim_wr64(S, DATA + 0x40 + 512, 0x4);          /* a stale bit 2 stays, bits 0-1 set */
   CHECK_EQ(run(CODE + 0x40), -1);
   CHECK_EQ(shim_rd64(S, DATA + 0x40 + 512), 0x7);
   CHECK_EQ(shim_rd32(S, DATA + 0x40 + 24), 0x3f80);
   CHECK_EQ(shim_rd64(S, DATA + 0x40 + 160 + 5 * 16), 0xa5a5a5a5a5a5a5a5ull);
   CHECK_EQ(shim_rd64(S, DATA + 0x40 + 32), 0x8000000000000000ull);   /* ST0 = 1.0 */

   /* clobber, then xrstor64 it back */
   shim_wr64(S, DATA + 0x40 + 512, 0x3);
   soft_get_fpu(S->cpu, &f);
   memset(f.xsave + 160, 0, 256);
   soft_set_fpu(S->cpu, &f);
   PUT(CODE + 0x60, 0xb8, 3, 0, 0, 0, 0x31, 0xd2,
       0x48, 0x0f, 0xae, 0x2c, 0x25, 0x40, 0x00, 0x20, 0x00, 0xf4);
   CHECK_EQ(run(CODE + 0x60), -1);
   soft_get_fpu(S->cpu, &f);
   CHECK_EQ(f.xsave[160 + 5 * 16], 0xa5);
   CHECK_EQ(mxcsr(), 0x3f80);

   /* XSTATE_BV without SSE: XMM initialized, MXCSR still loaded */
   shim_wr64(S, DATA + 0x40 + 512, 0x1);
   shim_wr32(S, DATA + 0x40 + 24, 0x1f80);
   CHECK_EQ(run(CODE + 0x60), -1);
   soft_get_fpu(S->cpu, &f);
   CHECK_EQ(f.xsave[160 + 5 * 16], 0);
   CHECK_EQ(mxcsr(), 0x1f80);

   /* header checks: XCOMP_BV, reserved bytes, bits outside XCR0; alignment */
   shim_wr64(S, DATA + 0x40 + 520, 1ull << 63);
   CHECK_EQ(run(CODE + 0x60), EXC_GP);
   shim_wr64(S, DATA + 0x40 + 520, 0);
   shim_wr64(S, DATA + 0x40 + 560, 1);
   CHECK_EQ(run(CODE + 0x60), EXC_GP);
   shim_wr64(S, DATA + 0x40 + 560, 0);
   shim_wr64(S, DATA + 0x40 + 512, 0x4);
   CHECK_EQ(run(CODE + 0x60), EXC_GP);
   shim_wr64(S, DATA + 0x40 + 512, 0x3);
   PUT(CODE + 0x6c, 0x50);                       /* [DATA+0x50]: misaligned */
   CHECK_EQ(run(CODE + 0x60), EXC_GP);
}

/* 32-bit protected mode: SSE (no REX), x87, FXSAVE's 32-bit format. */
static void test_prot32(void)
{
   shim_clear(S, 0, 0x300000);
   soft_cpu_reset(S->cpu);
   shim_prot32(S, 0, 0x600, 0);
   soft_options o = { .intercept_exceptions = true, .hlt_exits = true };
   soft_cpu_set_options(S->cpu, &o);
   static const float a[4] = { 1, 2, 3, 4 }, b[4] = { 10, 20, 30, 40 };
   shim_wr(S, DATA, a, 16);
   shim_wr(S, DATA + 16, b, 16);
   /* movaps xmm7, [DATA]; addps xmm7, [DATA+16]; movups [DATA+32], xmm7;
    * fld dword [DATA]; fadd dword [DATA+4]; fstp dword [DATA+48];
    * fxsave [DATA+0x100]; hlt */
   PUT(CODE, 0x0f, 0x28, 0x3d, 0x00, 0x00, 0x20, 0x00,
       0x0f, 0x58, 0x3d, 0x10, 0x00, 0x20, 0x00,
       0x0f, 0x11, 0x3d, 0x20, 0x00, 0x20, 0x00,
       0xd9, 0x05, 0x00, 0x00, 0x20, 0x00,
       0xd8, 0x05, 0x04, 0x00, 0x20, 0x00,
       0xd9, 0x1d, 0x30, 0x00, 0x20, 0x00,
       0x0f, 0xae, 0x05, 0x00, 0x01, 0x20, 0x00,
       0xf4);
   CHECK_EQ(run(CODE), -1);
   float out[5];
   memcpy(out, S->ram + DATA + 32, 20);
   CHECK(out[0] == 11 && out[1] == 22 && out[2] == 33 && out[3] == 44, "addps in 32-bit mode");
   CHECK(out[4] == 3, "x87 in 32-bit mode");
   /* FXSAVE (32-bit format): FIP = offset of the fstp, FCS = CS selector */
   CHECK_EQ(shim_rd32(S, DATA + 0x100 + 8), CODE + 33);
   CHECK_EQ(shim_rd32(S, DATA + 0x100 + 12) & 0xffff, 0x08);
   CHECK_EQ(shim_rd32(S, DATA + 0x100 + 16), DATA + 48);
   CHECK_EQ(shim_rd32(S, DATA + 0x100 + 20) & 0xffff, 0x10);
   CHECK_EQ(shim_rd64(S, DATA + 0x100 + 160 + 7 * 16), ((uint64_t)0x41b00000 << 32) | 0x41300000);
   /* misaligned movaps: #GP(0) */
   PUT(CODE + 0x80, 0x0f, 0x28, 0x3d, 0x04, 0x00, 0x20, 0x00, 0xf4);
   CHECK_EQ(run(CODE + 0x80), EXC_GP);
}

int main(void)
{
   S = shim_new(8 << 20);
   test_cr_bits();
   test_simd_exceptions();
   test_x87_errors();
   test_xsave();
   test_prot32();
   shim_free(S);
   if (shim_failures) {
      fprintf(stderr, "%d check(s) failed\n", shim_failures);
      return 1;
   }
   printf("fpu: all checks passed\n");
   return 0;
}
