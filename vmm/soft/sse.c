/*
 * vmm/soft/sse.c - MMX, SSE, SSE2, SSE3, SSSE3, SSE4.1 and SSE4.2
 * (legacy encodings; no VEX).
 *
 * One table describes every opcode by its operands: what the ModRM.reg
 * and ModRM.rm operands are (XMM, MMX, general register, opcode
 * extension), the memory operand's size, which operands are written,
 * flags, implicit operands, alignment and the immediate. The executor
 * (op_sse) does the architectural work from the table - CR0.EM/TS and
 * CR4.OSFXSR checks (#UD/#NM), pending x87 errors for MMX (#MF), segment
 * and page checks, 16-byte alignment (#GP), the x87->MMX transition,
 * MXCSR exceptions (#XM, or #UD without CR4.OSXMMEXCPT) - and runs the
 * operation itself on the host (hostexec.c) for exact results. Writes are
 * committed only after every fault was decided. The few instructions that
 * are not a pure function of their operands have handlers here
 * (MASKMOVQ/MASKMOVDQU, MOVNTI, CRC32) or in fpu.c (EMMS, LDMXCSR, ...).
 */
#include <nmmintrin.h>

#include "soft_int.h"
#include "hostexec.h"

/* operand kinds */
enum { K_NONE, K_X, K_M, K_G, K_G32, K_EXT };
/* memory sizes beyond plain bytes */
#define MS_DQ 0xff              /* 4, or 8 with REX.W */

/* flags */
#define W_REG   0x0001u
#define W_RM    0x0002u
#define W_FLAGS 0x0004u
#define W_XMM0  0x0008u
#define W_ECX   0x0010u
#define IMM8    0x0020u
#define MEMONLY 0x0040u
#define REGONLY 0x0080u
#define UNAL    0x0100u         /* a 16-byte memory operand need not be aligned */

typedef struct sse_op {
   uint8_t reg, rm, msize;
   uint16_t flags;
} sse_op;

enum { P_NP, P_66, P_F3, P_F2 };
enum { M_0F, M_38, M_3A };

#define X(ms, fl)  { K_X, K_X, ms, fl }
#define MM(ms, fl) { K_M, K_M, ms, fl }
#define XL(ms)     X(ms, W_REG)
#define ML(ms)     MM(ms, W_REG)

/* MMX/SSE2 integer ops that exist as NP (MMX) and 66 (XMM) */
#define INT2(op) [P_NP][M_0F][op] = ML(8), [P_66][M_0F][op] = XL(16)
#define SSSE3(op) [P_NP][M_38][op] = ML(8), [P_66][M_38][op] = XL(16)
/* FP arithmetic in all four forms */
#define FP4(op) [P_NP][M_0F][op] = XL(16), [P_66][M_0F][op] = XL(16), \
                [P_F3][M_0F][op] = XL(4), [P_F2][M_0F][op] = XL(8)

static const sse_op tab[4][3][256] = {
   /* ---- 0F, no prefix ---- */
   [P_NP][M_0F][0x10] = X(16, W_REG | UNAL),
   [P_NP][M_0F][0x11] = X(16, W_RM | UNAL),
   [P_NP][M_0F][0x12] = XL(8),                   /* MOVLPS / MOVHLPS */
   [P_NP][M_0F][0x13] = X(8, W_RM | MEMONLY),
   [P_NP][M_0F][0x14] = XL(16),
   [P_NP][M_0F][0x15] = XL(16),
   [P_NP][M_0F][0x16] = XL(8),                   /* MOVHPS / MOVLHPS */
   [P_NP][M_0F][0x17] = X(8, W_RM | MEMONLY),
   [P_NP][M_0F][0x28] = XL(16),
   [P_NP][M_0F][0x29] = X(16, W_RM),
   [P_NP][M_0F][0x2a] = { K_X, K_M, 8, W_REG },   /* CVTPI2PS */
   [P_NP][M_0F][0x2b] = X(16, W_RM | MEMONLY),
   [P_NP][M_0F][0x2c] = { K_M, K_X, 8, W_REG },   /* CVTTPS2PI */
   [P_NP][M_0F][0x2d] = { K_M, K_X, 8, W_REG },
   [P_NP][M_0F][0x2e] = X(4, W_FLAGS),
   [P_NP][M_0F][0x2f] = X(4, W_FLAGS),
   [P_NP][M_0F][0x50] = { K_G32, K_X, 0, W_REG | REGONLY },
   [P_NP][M_0F][0x51] = XL(16), [P_NP][M_0F][0x52] = XL(16), [P_NP][M_0F][0x53] = XL(16),
   [P_NP][M_0F][0x54] = XL(16), [P_NP][M_0F][0x55] = XL(16), [P_NP][M_0F][0x56] = XL(16),
   [P_NP][M_0F][0x57] = XL(16),
   [P_NP][M_0F][0x5a] = XL(8),                   /* CVTPS2PD */
   [P_NP][M_0F][0x5b] = XL(16),
   [P_NP][M_0F][0x60] = ML(4), [P_NP][M_0F][0x61] = ML(4), [P_NP][M_0F][0x62] = ML(4),
   [P_NP][M_0F][0x6e] = { K_M, K_G, MS_DQ, W_REG },
   [P_NP][M_0F][0x6f] = ML(8),
   [P_NP][M_0F][0x70] = MM(8, W_REG | IMM8),
   [P_NP][M_0F][0x71] = { K_EXT, K_M, 0, W_RM | REGONLY | IMM8 },
   [P_NP][M_0F][0x72] = { K_EXT, K_M, 0, W_RM | REGONLY | IMM8 },
   [P_NP][M_0F][0x73] = { K_EXT, K_M, 0, W_RM | REGONLY | IMM8 },
   [P_NP][M_0F][0x7e] = { K_M, K_G, MS_DQ, W_RM },
   [P_NP][M_0F][0x7f] = MM(8, W_RM),
   [P_NP][M_0F][0xc2] = X(16, W_REG | IMM8),
   [P_NP][M_0F][0xc4] = { K_M, K_G32, 2, W_REG | IMM8 },
   [P_NP][M_0F][0xc5] = { K_G32, K_M, 0, W_REG | REGONLY | IMM8 },
   [P_NP][M_0F][0xc6] = X(16, W_REG | IMM8),
   [P_NP][M_0F][0xd7] = { K_G32, K_M, 0, W_REG | REGONLY },
   [P_NP][M_0F][0xe7] = MM(8, W_RM | MEMONLY),

   /* ---- 0F 66 ---- */
   [P_66][M_0F][0x10] = X(16, W_REG | UNAL),
   [P_66][M_0F][0x11] = X(16, W_RM | UNAL),
   [P_66][M_0F][0x12] = X(8, W_REG | MEMONLY),
   [P_66][M_0F][0x13] = X(8, W_RM | MEMONLY),
   [P_66][M_0F][0x14] = XL(16),
   [P_66][M_0F][0x15] = XL(16),
   [P_66][M_0F][0x16] = X(8, W_REG | MEMONLY),
   [P_66][M_0F][0x17] = X(8, W_RM | MEMONLY),
   [P_66][M_0F][0x28] = XL(16),
   [P_66][M_0F][0x29] = X(16, W_RM),
   [P_66][M_0F][0x2a] = { K_X, K_M, 8, W_REG },   /* CVTPI2PD */
   [P_66][M_0F][0x2b] = X(16, W_RM | MEMONLY),
   [P_66][M_0F][0x2c] = { K_M, K_X, 16, W_REG },  /* CVTTPD2PI */
   [P_66][M_0F][0x2d] = { K_M, K_X, 16, W_REG },
   [P_66][M_0F][0x2e] = X(8, W_FLAGS),
   [P_66][M_0F][0x2f] = X(8, W_FLAGS),
   [P_66][M_0F][0x50] = { K_G32, K_X, 0, W_REG | REGONLY },
   [P_66][M_0F][0x51] = XL(16),
   [P_66][M_0F][0x54] = XL(16), [P_66][M_0F][0x55] = XL(16), [P_66][M_0F][0x56] = XL(16),
   [P_66][M_0F][0x57] = XL(16),
   [P_66][M_0F][0x5a] = XL(16), [P_66][M_0F][0x5b] = XL(16),
   [P_66][M_0F][0x6c] = XL(16), [P_66][M_0F][0x6d] = XL(16),
   [P_66][M_0F][0x6e] = { K_X, K_G, MS_DQ, W_REG },
   [P_66][M_0F][0x6f] = XL(16),
   [P_66][M_0F][0x70] = X(16, W_REG | IMM8),
   [P_66][M_0F][0x71] = { K_EXT, K_X, 0, W_RM | REGONLY | IMM8 },
   [P_66][M_0F][0x72] = { K_EXT, K_X, 0, W_RM | REGONLY | IMM8 },
   [P_66][M_0F][0x73] = { K_EXT, K_X, 0, W_RM | REGONLY | IMM8 },
   [P_66][M_0F][0x7c] = XL(16), [P_66][M_0F][0x7d] = XL(16),
   [P_66][M_0F][0x7e] = { K_X, K_G, MS_DQ, W_RM },
   [P_66][M_0F][0x7f] = X(16, W_RM),
   [P_66][M_0F][0xc2] = X(16, W_REG | IMM8),
   [P_66][M_0F][0xc4] = { K_X, K_G32, 2, W_REG | IMM8 },
   [P_66][M_0F][0xc5] = { K_G32, K_X, 0, W_REG | REGONLY | IMM8 },
   [P_66][M_0F][0xc6] = X(16, W_REG | IMM8),
   [P_66][M_0F][0xd0] = XL(16),
   [P_66][M_0F][0xd6] = X(8, W_RM),
   [P_66][M_0F][0xd7] = { K_G32, K_X, 0, W_REG | REGONLY },
   [P_66][M_0F][0xe6] = XL(16),
   [P_66][M_0F][0xe7] = X(16, W_RM | MEMONLY),

   /* ---- 0F F3 ---- */
   [P_F3][M_0F][0x10] = XL(4),
   [P_F3][M_0F][0x11] = X(4, W_RM),
   [P_F3][M_0F][0x12] = XL(16), [P_F3][M_0F][0x16] = XL(16),
   [P_F3][M_0F][0x2a] = { K_X, K_G, MS_DQ, W_REG },
   [P_F3][M_0F][0x2c] = { K_G, K_X, 4, W_REG },
   [P_F3][M_0F][0x2d] = { K_G, K_X, 4, W_REG },
   [P_F3][M_0F][0x51] = XL(4), [P_F3][M_0F][0x52] = XL(4), [P_F3][M_0F][0x53] = XL(4),
   [P_F3][M_0F][0x5a] = XL(4), [P_F3][M_0F][0x5b] = XL(16),
   [P_F3][M_0F][0x6f] = X(16, W_REG | UNAL),
   [P_F3][M_0F][0x70] = X(16, W_REG | IMM8),
   [P_F3][M_0F][0x7e] = XL(8),
   [P_F3][M_0F][0x7f] = X(16, W_RM | UNAL),
   [P_F3][M_0F][0xc2] = X(4, W_REG | IMM8),
   [P_F3][M_0F][0xd6] = { K_X, K_M, 0, W_REG | REGONLY },   /* MOVQ2DQ */
   [P_F3][M_0F][0xe6] = XL(8),

   /* ---- 0F F2 ---- */
   [P_F2][M_0F][0x10] = XL(8),
   [P_F2][M_0F][0x11] = X(8, W_RM),
   [P_F2][M_0F][0x12] = XL(8),
   [P_F2][M_0F][0x2a] = { K_X, K_G, MS_DQ, W_REG },
   [P_F2][M_0F][0x2c] = { K_G, K_X, 8, W_REG },
   [P_F2][M_0F][0x2d] = { K_G, K_X, 8, W_REG },
   [P_F2][M_0F][0x51] = XL(8),
   [P_F2][M_0F][0x5a] = XL(8),
   [P_F2][M_0F][0x70] = X(16, W_REG | IMM8),
   [P_F2][M_0F][0x7c] = XL(16), [P_F2][M_0F][0x7d] = XL(16),
   [P_F2][M_0F][0xc2] = X(8, W_REG | IMM8),
   [P_F2][M_0F][0xd0] = XL(16),
   [P_F2][M_0F][0xd6] = { K_M, K_X, 0, W_REG | REGONLY },   /* MOVDQ2Q */
   [P_F2][M_0F][0xe6] = XL(16),
   [P_F2][M_0F][0xf0] = X(16, W_REG | MEMONLY | UNAL),     /* LDDQU */

   /* ---- FP arithmetic, MMX/SSE2 integer ---- */
   FP4(0x58), FP4(0x59), FP4(0x5c), FP4(0x5d), FP4(0x5e), FP4(0x5f),
   INT2(0x63), INT2(0x64), INT2(0x65), INT2(0x66), INT2(0x67), INT2(0x68), INT2(0x69),
   INT2(0x6a), INT2(0x6b), INT2(0x74), INT2(0x75), INT2(0x76),
   INT2(0xd1), INT2(0xd2), INT2(0xd3), INT2(0xd4), INT2(0xd5),
   INT2(0xd8), INT2(0xd9), INT2(0xda), INT2(0xdb), INT2(0xdc), INT2(0xdd), INT2(0xde), INT2(0xdf),
   INT2(0xe0), INT2(0xe1), INT2(0xe2), INT2(0xe3), INT2(0xe4), INT2(0xe5),
   INT2(0xe8), INT2(0xe9), INT2(0xea), INT2(0xeb), INT2(0xec), INT2(0xed), INT2(0xee), INT2(0xef),
   INT2(0xf1), INT2(0xf2), INT2(0xf3), INT2(0xf4), INT2(0xf5), INT2(0xf6),
   INT2(0xf8), INT2(0xf9), INT2(0xfa), INT2(0xfb), INT2(0xfc), INT2(0xfd), INT2(0xfe),
   [P_66][M_0F][0x60] = XL(16), [P_66][M_0F][0x61] = XL(16), [P_66][M_0F][0x62] = XL(16),

   /* ---- 0F 38: SSSE3, SSE4.1, SSE4.2 ---- */
   SSSE3(0x00), SSSE3(0x01), SSSE3(0x02), SSSE3(0x03), SSSE3(0x04), SSSE3(0x05),
   SSSE3(0x06), SSSE3(0x07), SSSE3(0x08), SSSE3(0x09), SSSE3(0x0a), SSSE3(0x0b),
   SSSE3(0x1c), SSSE3(0x1d), SSSE3(0x1e),
   [P_66][M_38][0x10] = XL(16), [P_66][M_38][0x14] = XL(16), [P_66][M_38][0x15] = XL(16),
   [P_66][M_38][0x17] = X(16, W_FLAGS),
   [P_66][M_38][0x20] = XL(8), [P_66][M_38][0x21] = XL(4), [P_66][M_38][0x22] = XL(2),
   [P_66][M_38][0x23] = XL(8), [P_66][M_38][0x24] = XL(4), [P_66][M_38][0x25] = XL(8),
   [P_66][M_38][0x28] = XL(16), [P_66][M_38][0x29] = XL(16),
   [P_66][M_38][0x2a] = X(16, W_REG | MEMONLY),
   [P_66][M_38][0x2b] = XL(16),
   [P_66][M_38][0x30] = XL(8), [P_66][M_38][0x31] = XL(4), [P_66][M_38][0x32] = XL(2),
   [P_66][M_38][0x33] = XL(8), [P_66][M_38][0x34] = XL(4), [P_66][M_38][0x35] = XL(8),
   [P_66][M_38][0x37] = XL(16),
   [P_66][M_38][0x38] = XL(16), [P_66][M_38][0x39] = XL(16), [P_66][M_38][0x3a] = XL(16),
   [P_66][M_38][0x3b] = XL(16), [P_66][M_38][0x3c] = XL(16), [P_66][M_38][0x3d] = XL(16),
   [P_66][M_38][0x3e] = XL(16), [P_66][M_38][0x3f] = XL(16), [P_66][M_38][0x40] = XL(16),
   [P_66][M_38][0x41] = XL(16),

   /* ---- 0F 3A ---- */
   [P_NP][M_3A][0x0f] = MM(8, W_REG | IMM8),
   [P_66][M_3A][0x08] = X(16, W_REG | IMM8), [P_66][M_3A][0x09] = X(16, W_REG | IMM8),
   [P_66][M_3A][0x0a] = X(4, W_REG | IMM8), [P_66][M_3A][0x0b] = X(8, W_REG | IMM8),
   [P_66][M_3A][0x0c] = X(16, W_REG | IMM8), [P_66][M_3A][0x0d] = X(16, W_REG | IMM8),
   [P_66][M_3A][0x0e] = X(16, W_REG | IMM8), [P_66][M_3A][0x0f] = X(16, W_REG | IMM8),
   [P_66][M_3A][0x14] = { K_X, K_G32, 1, W_RM | IMM8 },     /* PEXTRB */
   [P_66][M_3A][0x15] = { K_X, K_G32, 2, W_RM | IMM8 },     /* PEXTRW */
   [P_66][M_3A][0x16] = { K_X, K_G, MS_DQ, W_RM | IMM8 },   /* PEXTRD/Q */
   [P_66][M_3A][0x17] = { K_X, K_G32, 4, W_RM | IMM8 },     /* EXTRACTPS */
   [P_66][M_3A][0x20] = { K_X, K_G32, 1, W_REG | IMM8 },    /* PINSRB */
   [P_66][M_3A][0x21] = X(4, W_REG | IMM8),                 /* INSERTPS */
   [P_66][M_3A][0x22] = { K_X, K_G, MS_DQ, W_REG | IMM8 },  /* PINSRD/Q */
   [P_66][M_3A][0x40] = X(16, W_REG | IMM8), [P_66][M_3A][0x41] = X(16, W_REG | IMM8),
   [P_66][M_3A][0x42] = X(16, W_REG | IMM8),
   [P_66][M_3A][0x60] = X(16, W_XMM0 | W_FLAGS | IMM8 | UNAL),
   [P_66][M_3A][0x61] = X(16, W_ECX | W_FLAGS | IMM8 | UNAL),
   [P_66][M_3A][0x62] = X(16, W_XMM0 | W_FLAGS | IMM8 | UNAL),
   [P_66][M_3A][0x63] = X(16, W_ECX | W_FLAGS | IMM8 | UNAL),
};

#define MXCSR_OE  0x0008u
#define MXCSR_UE  0x0010u
#define MXCSR_UM  0x0800u
#define MXCSR_FTZ 0x8000u

static inline unsigned mandatory_prefix(const soft_insn *in)
{
   if (in->rep == 0xf3)
      return P_F3;
   if (in->rep == 0xf2)
      return P_F2;
   return in->opsz_pfx ? P_66 : P_NP;
}

static const sse_op *lookup(const soft_insn *in)
{
   unsigned map = (in->op >> 8) - 1;   /* 0x1xx: 0F, 0x2xx: 0F 38, 0x3xx: 0F 3A */
   return map < 3 ? &tab[mandatory_prefix(in)][map][in->op & 0xff] : NULL;
}

static bool ext_ok(const soft_insn *in)
{
   unsigned r = in->reg & 7, op = in->op & 0xff;
   bool x = in->opsz_pfx;
   if (op == 0x71 || op == 0x72)
      return r == 2 || r == 4 || r == 6;
   return r == 2 || r == 6 || (x && (r == 3 || r == 7));   /* 73: PSRLDQ/PSLLDQ need 66 */
}

static unsigned msize_of(const sse_op *d, const soft_insn *in)
{
   return d->msize == MS_DQ ? ((in->rex & 8) ? 8 : 4) : d->msize;
}

static bool gpr_kind(unsigned k)
{
   return k == K_G || k == K_G32;
}

/* Decode time: pick the stub for this encoding, or #UD. */
void soft_sse_prepare(soft_cpu *cpu, soft_insn *in)
{
   const sse_op *d = lookup(in);
   (void)cpu;
   in->imm2 = 0;
   if (!d || d->reg == K_NONE || ((d->flags & MEMONLY) && in->mod == 3) ||
       ((d->flags & REGONLY) && in->mod != 3) || (d->reg == K_EXT && !ext_ok(in))) {
      in->fn = op_ud;
      return;
   }
   uint8_t code[8];
   unsigned n = 0, map = in->op >> 8;
   bool w = (in->rex & 8) && (d->reg == K_G || d->rm == K_G);
   bool rexr = gpr_kind(d->reg);
   bool rexb = in->mod == 3 && gpr_kind(d->rm);
   unsigned regf = d->reg == K_EXT ? (in->reg & 7u) : gpr_kind(d->reg) ? 0u : 1u;
   unsigned rmf = gpr_kind(d->rm) ? 1u : 2u;
   static const uint8_t pfx[4] = { 0, 0x66, 0xf3, 0xf2 };

   if (mandatory_prefix(in) != P_NP)
      code[n++] = pfx[mandatory_prefix(in)];
   if (w || rexr || rexb)
      code[n++] = (uint8_t)(0x40 | (w ? 8 : 0) | (rexr ? 4 : 0) | (rexb ? 1 : 0));
   code[n++] = 0x0f;
   if (map == 2)
      code[n++] = 0x38;
   else if (map == 3)
      code[n++] = 0x3a;
   code[n++] = (uint8_t)(in->op & 0xff);
   code[n++] = (uint8_t)(in->mod == 3 ? (0xc0 | (regf << 3) | rmf) : ((regf << 3) | 7));
   if (d->flags & IMM8)
      code[n++] = (uint8_t)in->imm;
   in->imm2 = (uintptr_t)soft_hx_stub(code, n);
   if (!in->imm2)
      in->fn = op_ud;
}

/* ---- execution --------------------------------------------------------------- */

static void sse_check(soft_cpu *cpu, bool mmx)
{
   if (cpu->cr0 & CR0_EM)
      RAISE_UD(cpu);
   if (!mmx && !(cpu->cr4 & CR4_OSFXSR))
      RAISE_UD(cpu);
   if (cpu->cr0 & CR0_TS)
      soft_raise_noerr(cpu, EXC_NM);
   if (mmx)
      soft_x87_check_pending(cpu);
}

static void load_operand(soft_cpu *cpu, unsigned kind, unsigned r, uint8_t *xmm, uint64_t *mm,
                         uint64_t *g)
{
   switch (kind) {
   case K_X: memcpy(xmm, soft_xmm(cpu, r), 16); break;
   case K_M: *mm = soft_mm_get(cpu, r & 7); break;
   case K_G: case K_G32: *g = cpu->gpr[r]; break;
   default: break;
   }
}

static void store_operand(soft_cpu *cpu, unsigned kind, unsigned r, const uint8_t *xmm,
                          uint64_t mm, uint64_t g)
{
   switch (kind) {
   case K_X: memcpy(soft_xmm(cpu, r), xmm, 16); break;
   case K_M: soft_mm_set(cpu, r & 7, mm); break;
   case K_G: case K_G32: cpu->gpr[r] = g; break;
   default: break;
   }
}

void op_sse(soft_cpu *cpu, const soft_insn *in)
{
   const sse_op *d = lookup(in);
   bool mmx = d->reg == K_M || (d->rm == K_M && in->mod == 3);
   soft_hx h;
   uint64_t lin = 0;
   unsigned ms = 0;
   uint32_t mxcsr = soft_mxcsr(cpu);

   sse_check(cpu, mmx);
   memcpy(h.xmm[0], soft_xmm(cpu, 0), 16);
   load_operand(cpu, d->reg, in->reg, h.xmm[1], &h.mm[0], &h.r8);
   if (in->mod == 3) {
      load_operand(cpu, d->rm, in->rm, h.xmm[2], &h.mm[1], &h.r9);
   } else {
      ms = msize_of(d, in);
      lin = ea_lin(cpu, in, ms, (d->flags & W_RM) ? ACC_W : ACC_R);
      if (ms == 16 && !(d->flags & UNAL) && (lin & 15))
         RAISE_GP(cpu, 0);
      if (d->flags & W_RM)
         soft_mem_check_write(cpu, lin, ms);
      else
         soft_mem_read(cpu, lin, h.mem, ms);
   }
   /* the x87 -> MMX transition: after operand faults, before #XM */
   if (mmx)
      soft_mmx_enter(cpu);
   h.rax = cpu->gpr[VMM_RAX];
   h.rcx = cpu->gpr[VMM_RCX];
   h.rdx = cpu->gpr[VMM_RDX];
   h.rflags = soft_arith_flags(cpu) | 2;
   h.mxcsr = (mxcsr & ~0x3fu) | 0x1f80u;         /* all masked, flags clear */
   h.use_mmx = mmx;
   /* With underflow unmasked, a tiny result raises #XM even when it is
    * exact, which the masked run does not flag: a second run with FTZ set
    * (tiny results flushed, UE raised) tells. */
   soft_hx again;
   bool um_unmasked = !(mxcsr & MXCSR_UM);
   if (um_unmasked)
      again = h;
   soft_hx_call(&h, (const void *)(uintptr_t)in->imm2);

   uint32_t raised = h.mxcsr & 0x3f;
   if (um_unmasked && !(raised & MXCSR_UE)) {
      again.mxcsr |= MXCSR_FTZ;
      soft_hx_call(&again, (const void *)(uintptr_t)in->imm2);
      raised |= again.mxcsr & MXCSR_UE;
   }
   uint32_t unmasked = raised & ~(mxcsr >> 7) & 0x3f;
   if (unmasked) {
      /* An unmasked SIMD exception: no result. The flags: the
       * pre-computation exceptions (IE, DE, ZE) when one of them is
       * unmasked; else an unmasked underflow or overflow alone; else (only
       * precision unmasked) everything raised. Exact for the
       * pre-computation exceptions of single-step operations; an
       * approximation for unmasked UE/OE/PE (the hardware's PE follows
       * rounding with an unbounded exponent) and for DPPS/DPPD, whose
       * multiply and add steps report separately (README). */
      uint32_t pre = raised & 0x7, flags;
      if (unmasked & 0x7)
         flags = pre;
      else if (unmasked & MXCSR_UE)
         flags = MXCSR_UE;
      else if (unmasked & MXCSR_OE)
         flags = MXCSR_OE;
      else
         flags = raised;
      soft_set_mxcsr(cpu, mxcsr | flags);
      if (cpu->cr4 & CR4_OSXMMEXCPT)
         soft_raise_noerr(cpu, EXC_XM);
      RAISE_UD(cpu);
   }
   if ((d->flags & W_RM) && in->mod != 3)
      soft_mem_write(cpu, lin, h.mem, ms);
   soft_set_mxcsr(cpu, mxcsr | raised);
   if (d->flags & W_REG)
      store_operand(cpu, d->reg, in->reg, h.xmm[1], h.mm[0], h.r8);
   if ((d->flags & W_RM) && in->mod == 3)
      store_operand(cpu, d->rm, in->rm, h.xmm[2], h.mm[1], h.r9);
   if (d->flags & W_XMM0)
      memcpy(soft_xmm(cpu, 0), h.xmm[0], 16);
   if (d->flags & W_ECX)
      cpu->gpr[VMM_RCX] = h.rcx;
   if (d->flags & W_FLAGS)
      set_flags_eager(cpu, (uint32_t)h.rflags & FL_ARITH);
}

/* 0F F7: MASKMOVQ mm, mm / 66 0F F7: MASKMOVDQU xmm, xmm - byte stores to
 * DS:rDI (segment override allowed) where the mask byte's top bit is set. */
void op_maskmov(soft_cpu *cpu, const soft_insn *in)
{
   bool x = in->opsz_pfx;
   if (in->mod != 3 || in->rep)
      RAISE_UD(cpu);
   sse_check(cpu, !x);
   uint8_t data[16], mask[16];
   unsigned n = x ? 16 : 8;
   if (x) {
      memcpy(data, soft_xmm(cpu, in->reg), 16);
      memcpy(mask, soft_xmm(cpu, in->rm), 16);
   } else {
      uint64_t a = soft_mm_get(cpu, in->reg & 7), b = soft_mm_get(cpu, in->rm & 7);
      memcpy(data, &a, 8);
      memcpy(mask, &b, 8);
   }
   /* MASKMOVQ enters MMX state even when the store faults; the whole
    * destination must be writable, whatever the mask says */
   if (!x)
      soft_mmx_enter(cpu);
   uint64_t lin = seg_lin(cpu, in->seg, cpu->gpr[VMM_RDI] & sz_mask(in->asize), n, ACC_W);
   soft_mem_check_write(cpu, lin, n);
   for (unsigned i = 0; i < n; i++)
      if (mask[i] & 0x80)
         lin_write(cpu, lin_mask(cpu, lin + i), 1, data[i], ACC_W);
}

/* 0F C3: MOVNTI m32/m64, r32/r64 */
void op_movnti(soft_cpu *cpu, const soft_insn *in)
{
   if (in->mod == 3 || in->opsz_pfx || in->rep)
      RAISE_UD(cpu);
   unsigned size = (in->rex & 8) ? 8 : 4;
   rm_set(cpu, in, size, reg_get(cpu, in, in->reg, size));
}

/* F2 0F 38 F0/F1: CRC32 r32/r64, r/m8/16/32/64 (the Castagnoli polynomial,
 * computed with the host's CRC32 instruction). */
__attribute__((target("sse4.2")))
void op_crc32(soft_cpu *cpu, const soft_insn *in)
{
   unsigned ss = (in->op & 1) ? in->osize : 1;
   uint64_t src = rm_get(cpu, in, ss);
   uint64_t crc = (uint32_t)cpu->gpr[in->reg];
   switch (ss) {
   case 1: crc = _mm_crc32_u8((uint32_t)crc, (uint8_t)src); break;
   case 2: crc = _mm_crc32_u16((uint32_t)crc, (uint16_t)src); break;
   case 4: crc = _mm_crc32_u32((uint32_t)crc, (uint32_t)src); break;
   default: crc = _mm_crc32_u64(crc, src); break;
   }
   cpu->gpr[in->reg] = (uint32_t)crc;
}
