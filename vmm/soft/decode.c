/*
 * vmm/soft/decode.c - x86 instruction decoder: bytes -> soft_insn.
 *
 * The decoder resolves prefixes, operand/address size, ModRM/SIB/
 * displacement and immediates, and picks the handler. It does not touch
 * architectural state except to fetch bytes (through the exec TLB; a
 * fetch may raise #PF or #GP). A decoded soft_insn depends only on the
 * bytes and on (mode, CS.D, feature bits), so it can be cached per
 * physical address by a later block cache without changing handlers.
 */
#include "soft_int.h"

enum {
   F_MODRM = 1 << 0,
   F_BYTE = 1 << 1,
   F_IMM8 = 1 << 2,    /* ib, sign-extended */
   F_IMM16 = 1 << 3,   /* iw, zero-extended */
   F_IMMZ = 1 << 4,    /* iz: 16/32 by operand size, sign-extended */
   F_IMMV = 1 << 5,    /* iv: full operand size */
   F_D64 = 1 << 6,     /* default 64-bit operand size in 64-bit mode */
   F_F64 = 1 << 7,     /* forced 64-bit operand size in 64-bit mode */
   F_I64 = 1 << 8,     /* invalid in 64-bit mode */
   F_LOCK = 1 << 9,    /* LOCK allowed (with a memory operand) */
   F_IMMU8 = 1 << 10,  /* ib, zero-extended */
   F_SPECIAL = 1 << 11,
   F_REGOP = 1 << 12,  /* register in the low opcode bits */
   F_O64 = 1 << 13,    /* only valid in 64-bit mode */
   F_SSE = 1 << 14,    /* MMX/SSE table (sse.c): pick the host stub */
};

typedef struct opdesc {
   soft_fn fn;
   uint16_t flags;
} opdesc;

#define ALU_ROW(base) \
   [base + 0] = { op_alu_rm_r, F_MODRM | F_BYTE | F_LOCK }, \
   [base + 1] = { op_alu_rm_r, F_MODRM | F_LOCK }, \
   [base + 2] = { op_alu_r_rm, F_MODRM | F_BYTE }, \
   [base + 3] = { op_alu_r_rm, F_MODRM }, \
   [base + 4] = { op_alu_acc_imm, F_BYTE | F_IMM8 }, \
   [base + 5] = { op_alu_acc_imm, F_IMMZ }

#define X8(i, v) [(i)] = v, [(i) + 1] = v, [(i) + 2] = v, [(i) + 3] = v, \
                 [(i) + 4] = v, [(i) + 5] = v, [(i) + 6] = v, [(i) + 7] = v
#define X16(i, v) X8(i, v), X8((i) + 8, v)

static const opdesc op1[256] = {
   ALU_ROW(0x00), ALU_ROW(0x08), ALU_ROW(0x10), ALU_ROW(0x18),
   ALU_ROW(0x20), ALU_ROW(0x28), ALU_ROW(0x30),
   [0x38] = { op_alu_rm_r, F_MODRM | F_BYTE }, [0x39] = { op_alu_rm_r, F_MODRM },
   [0x3a] = { op_alu_r_rm, F_MODRM | F_BYTE }, [0x3b] = { op_alu_r_rm, F_MODRM },
   [0x3c] = { op_alu_acc_imm, F_BYTE | F_IMM8 }, [0x3d] = { op_alu_acc_imm, F_IMMZ },
   [0x06] = { op_push_sreg, F_I64 }, [0x07] = { op_pop_sreg, F_I64 },
   [0x0e] = { op_push_sreg, F_I64 },
   [0x16] = { op_push_sreg, F_I64 }, [0x17] = { op_pop_sreg, F_I64 },
   [0x1e] = { op_push_sreg, F_I64 }, [0x1f] = { op_pop_sreg, F_I64 },
   [0x27] = { op_daa, F_I64 }, [0x2f] = { op_das, F_I64 },
   [0x37] = { op_aaa, F_I64 }, [0x3f] = { op_aas, F_I64 },
   X16(0x40, ((opdesc){ op_incdec_r, F_REGOP | F_I64 })),
   X8(0x50, ((opdesc){ op_push_r, F_REGOP | F_D64 })),
   X8(0x58, ((opdesc){ op_pop_r, F_REGOP | F_D64 })),
   [0x60] = { op_pusha, F_I64 }, [0x61] = { op_popa, F_I64 },
   [0x62] = { op_bound, F_MODRM | F_I64 },
   [0x63] = { op_arpl, F_MODRM | F_SPECIAL },
   [0x68] = { op_push_imm, F_IMMZ | F_D64 },
   [0x69] = { op_imul_imm, F_MODRM | F_IMMZ },
   [0x6a] = { op_push_imm, F_IMM8 | F_D64 },
   [0x6b] = { op_imul_imm, F_MODRM | F_IMM8 },
   [0x6c] = { op_ins, F_BYTE }, [0x6d] = { op_ins, 0 },
   [0x6e] = { op_outs, F_BYTE }, [0x6f] = { op_outs, 0 },
   X16(0x70, ((opdesc){ op_jcc, F_IMM8 | F_F64 })),
   [0x80] = { op_grp1, F_MODRM | F_BYTE | F_IMM8 | F_LOCK },
   [0x81] = { op_grp1, F_MODRM | F_IMMZ | F_LOCK },
   [0x82] = { op_grp1, F_MODRM | F_BYTE | F_IMM8 | F_LOCK | F_I64 },
   [0x83] = { op_grp1, F_MODRM | F_IMM8 | F_LOCK },
   [0x84] = { op_test_rm_r, F_MODRM | F_BYTE }, [0x85] = { op_test_rm_r, F_MODRM },
   [0x86] = { op_xchg_rm, F_MODRM | F_BYTE | F_LOCK }, [0x87] = { op_xchg_rm, F_MODRM | F_LOCK },
   [0x88] = { op_mov_rm_r, F_MODRM | F_BYTE }, [0x89] = { op_mov_rm_r, F_MODRM },
   [0x8a] = { op_mov_r_rm, F_MODRM | F_BYTE }, [0x8b] = { op_mov_r_rm, F_MODRM },
   [0x8c] = { op_mov_r_sreg, F_MODRM }, [0x8d] = { op_lea, F_MODRM },
   [0x8e] = { op_mov_sreg_r, F_MODRM }, [0x8f] = { op_pop_rm, F_MODRM | F_D64 },
   X8(0x90, ((opdesc){ op_xchg_acc, F_REGOP })),
   [0x98] = { op_cbw, 0 }, [0x99] = { op_cwd, 0 },
   [0x9a] = { op_call_far, F_SPECIAL | F_I64 },
   [0x9c] = { op_pushf, F_D64 }, [0x9d] = { op_popf, F_D64 },
   [0x9e] = { op_sahf, 0 }, [0x9f] = { op_lahf, 0 },
   [0xa0] = { op_mov_moffs, F_SPECIAL | F_BYTE }, [0xa1] = { op_mov_moffs, F_SPECIAL },
   [0xa2] = { op_mov_moffs, F_SPECIAL | F_BYTE }, [0xa3] = { op_mov_moffs, F_SPECIAL },
   [0xa4] = { op_movs, F_BYTE }, [0xa5] = { op_movs, 0 },
   [0xa6] = { op_cmps, F_BYTE }, [0xa7] = { op_cmps, 0 },
   [0xa8] = { op_test_acc_imm, F_BYTE | F_IMM8 }, [0xa9] = { op_test_acc_imm, F_IMMZ },
   [0xaa] = { op_stos, F_BYTE }, [0xab] = { op_stos, 0 },
   [0xac] = { op_lods, F_BYTE }, [0xad] = { op_lods, 0 },
   [0xae] = { op_scas, F_BYTE }, [0xaf] = { op_scas, 0 },
   X8(0xb0, ((opdesc){ op_mov_r_imm, F_REGOP | F_BYTE | F_IMM8 })),
   X8(0xb8, ((opdesc){ op_mov_r_imm, F_REGOP | F_IMMV })),
   [0xc0] = { op_shift, F_MODRM | F_BYTE | F_IMMU8 }, [0xc1] = { op_shift, F_MODRM | F_IMMU8 },
   [0xc2] = { op_ret_near, F_IMM16 | F_F64 }, [0xc3] = { op_ret_near, F_F64 },
   [0xc4] = { op_lxs, F_MODRM | F_SPECIAL }, [0xc5] = { op_lxs, F_MODRM | F_SPECIAL },
   [0xc6] = { op_mov_rm_imm, F_MODRM | F_BYTE | F_IMM8 },
   [0xc7] = { op_mov_rm_imm, F_MODRM | F_IMMZ },
   [0xc8] = { op_enter, F_SPECIAL | F_D64 }, [0xc9] = { op_leave, F_D64 },
   [0xca] = { op_retf, F_IMM16 }, [0xcb] = { op_retf, 0 },
   [0xcc] = { op_int3, 0 }, [0xcd] = { op_int, F_IMMU8 },
   [0xce] = { op_into, F_I64 }, [0xcf] = { op_iret, 0 },
   [0xd0] = { op_shift, F_MODRM | F_BYTE }, [0xd1] = { op_shift, F_MODRM },
   [0xd2] = { op_shift, F_MODRM | F_BYTE }, [0xd3] = { op_shift, F_MODRM },
   [0xd4] = { op_aam, F_IMMU8 | F_I64 }, [0xd5] = { op_aad, F_IMMU8 | F_I64 },
   [0xd6] = { op_salc, F_I64 }, [0xd7] = { op_xlat, 0 },
   X8(0xd8, ((opdesc){ op_fpu_escape, F_MODRM })),
   [0x9b] = { op_fwait, 0 },
   [0xe0] = { op_loop, F_IMM8 | F_F64 }, [0xe1] = { op_loop, F_IMM8 | F_F64 },
   [0xe2] = { op_loop, F_IMM8 | F_F64 }, [0xe3] = { op_jcxz, F_IMM8 | F_F64 },
   [0xe4] = { op_in, F_BYTE | F_IMMU8 }, [0xe5] = { op_in, F_IMMU8 },
   [0xe6] = { op_out, F_BYTE | F_IMMU8 }, [0xe7] = { op_out, F_IMMU8 },
   [0xe8] = { op_call_rel, F_IMMZ | F_F64 }, [0xe9] = { op_jmp_rel, F_IMMZ | F_F64 },
   [0xea] = { op_jmp_far, F_SPECIAL | F_I64 }, [0xeb] = { op_jmp_rel, F_IMM8 | F_F64 },
   [0xec] = { op_in, F_BYTE }, [0xed] = { op_in, 0 },
   [0xee] = { op_out, F_BYTE }, [0xef] = { op_out, 0 },
   [0xf1] = { op_int1, 0 }, [0xf4] = { op_hlt, 0 }, [0xf5] = { op_flagop, 0 },
   [0xf6] = { op_grp3, F_MODRM | F_BYTE | F_SPECIAL | F_LOCK },
   [0xf7] = { op_grp3, F_MODRM | F_SPECIAL | F_LOCK },
   [0xf8] = { op_flagop, 0 }, [0xf9] = { op_flagop, 0 },
   [0xfa] = { op_cli, 0 }, [0xfb] = { op_sti, 0 },
   [0xfc] = { op_flagop, 0 }, [0xfd] = { op_flagop, 0 },
   [0xfe] = { op_grp45, F_MODRM | F_BYTE | F_LOCK },
   [0xff] = { op_grp45, F_MODRM | F_SPECIAL | F_LOCK },
};

#define SSE ((opdesc){ op_sse, F_MODRM | F_SSE })
#define SSEI ((opdesc){ op_sse, F_MODRM | F_SSE | F_IMMU8 })

static const opdesc op2[256] = {
   X8(0x10, SSE), X8(0x28, SSE), X16(0x50, SSE), X8(0x60, SSE), X8(0x68, SSE),
   [0x70] = SSEI, [0x71] = SSEI, [0x72] = SSEI, [0x73] = SSEI,
   [0x74] = SSE, [0x75] = SSE, [0x76] = SSE, [0x77] = { op_emms, 0 },
   [0x7c] = SSE, [0x7d] = SSE, [0x7e] = SSE, [0x7f] = SSE,
   [0xc2] = SSEI, [0xc3] = { op_movnti, F_MODRM }, [0xc4] = SSEI, [0xc5] = SSEI, [0xc6] = SSEI,
   X16(0xd0, SSE), X16(0xe0, SSE),
   [0xf0] = SSE, [0xf1] = SSE, [0xf2] = SSE, [0xf3] = SSE, [0xf4] = SSE, [0xf5] = SSE,
   [0xf6] = SSE, [0xf7] = { op_maskmov, F_MODRM }, [0xf8] = SSE, [0xf9] = SSE, [0xfa] = SSE,
   [0xfb] = SSE, [0xfc] = SSE, [0xfd] = SSE, [0xfe] = SSE,
   [0x00] = { op_grp6, F_MODRM }, [0x01] = { op_grp7, F_MODRM },
   [0x02] = { op_lar, F_MODRM }, [0x03] = { op_lsl, F_MODRM },
   [0x05] = { op_syscall, 0 }, [0x06] = { op_clts, 0 }, [0x07] = { op_sysret, 0 },
   [0x08] = { op_invd, 0 }, [0x09] = { op_invd, 0 },
   [0x0b] = { op_ud, 0 }, [0x0d] = { op_nop, F_MODRM },
   X8(0x18, ((opdesc){ op_nop, F_MODRM })),
   [0x20] = { op_mov_cr, F_MODRM | F_SPECIAL }, [0x21] = { op_mov_dr, F_MODRM | F_SPECIAL },
   [0x22] = { op_mov_cr, F_MODRM | F_SPECIAL }, [0x23] = { op_mov_dr, F_MODRM | F_SPECIAL },
   [0x30] = { op_wrmsr, 0 }, [0x31] = { op_rdtsc, 0 }, [0x32] = { op_rdmsr, 0 },
   [0x33] = { op_rdpmc, 0 }, [0x34] = { op_sysenter, 0 }, [0x35] = { op_sysexit, 0 },
   X16(0x40, ((opdesc){ op_cmov, F_MODRM })),
   X16(0x80, ((opdesc){ op_jcc, F_IMMZ | F_F64 })),
   X16(0x90, ((opdesc){ op_setcc, F_MODRM | F_BYTE })),
   [0xa0] = { op_push_sreg, F_D64 }, [0xa1] = { op_pop_sreg, F_D64 },
   [0xa2] = { op_cpuid, 0 }, [0xa3] = { op_bt, F_MODRM },
   [0xa4] = { op_shld, F_MODRM | F_IMMU8 }, [0xa5] = { op_shld, F_MODRM },
   [0xa8] = { op_push_sreg, F_D64 }, [0xa9] = { op_pop_sreg, F_D64 },
   [0xab] = { op_bt, F_MODRM | F_LOCK },
   [0xac] = { op_shrd, F_MODRM | F_IMMU8 }, [0xad] = { op_shrd, F_MODRM },
   [0xae] = { op_grp15, F_MODRM }, [0xaf] = { op_imul_r_rm, F_MODRM },
   [0xb0] = { op_cmpxchg, F_MODRM | F_BYTE | F_LOCK }, [0xb1] = { op_cmpxchg, F_MODRM | F_LOCK },
   [0xb2] = { op_lxs, F_MODRM }, [0xb3] = { op_bt, F_MODRM | F_LOCK },
   [0xb4] = { op_lxs, F_MODRM }, [0xb5] = { op_lxs, F_MODRM },
   [0xb6] = { op_movzx, F_MODRM }, [0xb7] = { op_movzx, F_MODRM },
   [0xb8] = { op_popcnt, F_MODRM }, [0xb9] = { op_ud, F_MODRM },
   [0xba] = { op_grp8, F_MODRM | F_IMMU8 | F_LOCK }, [0xbb] = { op_bt, F_MODRM | F_LOCK },
   [0xbc] = { op_bsf, F_MODRM }, [0xbd] = { op_bsr, F_MODRM },
   [0xbe] = { op_movsx, F_MODRM }, [0xbf] = { op_movsx, F_MODRM },
   [0xc0] = { op_xadd, F_MODRM | F_BYTE | F_LOCK }, [0xc1] = { op_xadd, F_MODRM | F_LOCK },
   [0xc7] = { op_grp9, F_MODRM | F_LOCK },
   X8(0xc8, ((opdesc){ op_bswap, F_REGOP })),
   [0xff] = { op_ud, 0 },
};

/* ---- byte fetch ------------------------------------------------------------ */

typedef struct fetcher {
   soft_cpu *cpu;
   const uint8_t *p;
   unsigned n, avail;
   uint64_t lin0;        /* linear address of the first byte */
   uint64_t max;         /* bytes allowed by the CS limit (and 15) */
   jmp_buf *probe;       /* block building: running out of bytes ends here */
   uint8_t buf[16];
} fetcher;

/* Copy what the page holding lin0+n offers into buf. */
static void fetch_fill(fetcher *f)
{
   soft_cpu *cpu = f->cpu;
   if (f->probe)
      longjmp(*f->probe, 1);   /* the instruction goes past the bytes given */
   if (f->n >= f->max) {
      if (f->n >= 15)
         RAISE_GP(cpu, 0);
      RAISE_GP(cpu, 0);          /* CS limit */
   }
   uint64_t lin = lin_mask(cpu, f->lin0 + f->n);
   uint64_t pa;
   uint8_t *h = soft_translate(cpu, lin, ACC_X, &pa);
   unsigned inpage = 0x1000 - (lin & 0xfff);
   unsigned want = (unsigned)(f->max - f->n);
   if (want > inpage)
      want = inpage;
   if (f->p != f->buf) {
      memcpy(f->buf, f->p, f->avail);
      f->p = f->buf;
   }
   for (unsigned i = 0; i < want; i++)
      f->buf[f->avail + i] = h ? h[i] : (uint8_t)soft_phys_read(cpu, pa + i, 1);
   f->avail += want;
}

static inline uint8_t fetch8(fetcher *f)
{
   if (unlikely(f->n >= f->avail))
      fetch_fill(f);
   return f->p[f->n++];
}

static inline uint64_t fetchn(fetcher *f, unsigned size)
{
   uint64_t v = 0;
   for (unsigned i = 0; i < size; i++)
      v |= (uint64_t)fetch8(f) << (8 * i);
   return v;
}

static void fetch_init(soft_cpu *cpu, fetcher *f)
{
   f->cpu = cpu;
   f->probe = NULL;
   f->n = 0;
   f->avail = 0;
   f->p = f->buf;
   if (cpu->mode == MODE_LONG64) {
      f->lin0 = cpu->rip;
      f->max = 15;
      if ((uint64_t)((int64_t)((uint64_t)(f->lin0) << 16) >> 16) != f->lin0)
         RAISE_GP(cpu, 0);
   } else {
      const vmm_seg *cs = &cpu->seg[VMM_CS];
      uint64_t ip = cpu->rip;
      f->lin0 = (uint32_t)(cs->base + ip);
      f->max = ip > cs->limit ? 0 : cs->limit - ip + 1;
      if (f->max > 15)
         f->max = 15;
   }
   /* fast path: the whole window is in one cached executable RAM page */
   uint64_t lin = f->lin0;
   soft_tlbe *e = &cpu->tlb[cpu->mmu_idx][(lin >> 12) & (SOFT_TLB_SIZE - 1)];
   if (likely(e->tag_x == (lin & ~0xfffull))) {
      unsigned inpage = 0x1000 - (lin & 0xfff);
      f->p = (const uint8_t *)(uintptr_t)(lin + e->addend);
      f->avail = inpage < f->max ? inpage : (unsigned)f->max;
   }
}

/* ---- ModRM --------------------------------------------------------------- */

static const uint8_t rm16_base[8] = { VMM_RBX, VMM_RBX, VMM_RBP, VMM_RBP, RM_NONE, RM_NONE, VMM_RBP, VMM_RBX };
static const uint8_t rm16_index[8] = { VMM_RSI, VMM_RDI, VMM_RSI, VMM_RDI, VMM_RSI, VMM_RDI, RM_NONE, RM_NONE };

static void decode_modrm(soft_cpu *cpu, fetcher *f, soft_insn *in, int segov)
{
   uint8_t m = fetch8(f);
   unsigned mod = m >> 6, reg = (m >> 3) & 7, rm = m & 7;
   bool ss_default = false;
   in->mod = (uint8_t)mod;
   in->reg = (uint8_t)(reg | ((in->rex & 4) << 1));
   in->base = in->index = RM_NONE;
   in->scale = 0;
   in->disp = 0;
   if (mod == 3) {
      in->rm = (uint8_t)(rm | ((in->rex & 1) << 3));
      return;
   }
   in->rm = (uint8_t)rm;
   if (in->asize == 2) {
      if (mod == 0 && rm == 6) {
         in->disp = (int16_t)fetchn(f, 2);
      } else {
         in->base = rm16_base[rm];
         in->index = rm16_index[rm];
         ss_default = in->base == VMM_RBP;
         if (mod == 1)
            in->disp = (int8_t)fetch8(f);
         else if (mod == 2)
            in->disp = (int16_t)fetchn(f, 2);
      }
   } else {
      if (rm == 4) {
         uint8_t sib = fetch8(f);
         unsigned base = sib & 7, idx = ((sib >> 3) & 7) | ((in->rex & 2) << 2);
         in->scale = sib >> 6;
         if (idx != 4)
            in->index = (uint8_t)idx;
         if (base == 5 && mod == 0) {
            in->disp = (int32_t)fetchn(f, 4);
         } else {
            in->base = (uint8_t)(base | ((in->rex & 1) << 3));
            ss_default = base == 4 || base == 5;
            ss_default = ss_default && !(in->rex & 1);
         }
      } else if (rm == 5 && mod == 0) {
         in->disp = (int32_t)fetchn(f, 4);
         if (cpu->mode == MODE_LONG64)
            in->base = RM_RIP;
      } else {
         in->base = (uint8_t)(rm | ((in->rex & 1) << 3));
         ss_default = rm == 5 && !(in->rex & 1);
      }
      if (mod == 1)
         in->disp = (int8_t)fetch8(f);
      else if (mod == 2)
         in->disp = (int32_t)fetchn(f, 4);
   }
   if (segov >= 0)
      in->seg = (uint8_t)segov;
   else
      in->seg = ss_default ? VMM_SS : VMM_DS;
}

/* ---- main decode --------------------------------------------------------- */

static bool lock_ok(const soft_insn *in, unsigned flags)
{
   if (!(flags & F_LOCK) || in->mod == 3)
      return false;
   unsigned r = in->reg & 7;
   switch (in->op) {
   case 0x80: case 0x81: case 0x82: case 0x83: return r != 7;
   case 0xf6: case 0xf7: return r == 2 || r == 3;
   case 0xfe: case 0xff: return r <= 1;
   case 0x1ba: return r >= 5;
   case 0x1c7: return r == 1;
   default: return true;
   }
}

static void decode(soft_cpu *cpu, soft_insn *in, fetcher *f);

void soft_decode(soft_cpu *cpu, soft_insn *in)
{
   fetcher f;
   fetch_init(cpu, &f);
   decode(cpu, in, &f);
}

/* Decode from avail bytes at p (a block being built): false, and nothing
 * raised, when the instruction needs more bytes than that. */
bool soft_decode_probe(soft_cpu *cpu, const uint8_t *p, unsigned avail, soft_insn *in)
{
   jmp_buf jb;
   fetcher f;
   f.cpu = cpu;
   f.p = p;
   f.n = 0;
   f.avail = avail < 15 ? avail : 15;
   f.max = f.avail;
   f.lin0 = 0;
   f.probe = &jb;
   if (setjmp(jb))
      return false;
   decode(cpu, in, &f);
   return true;
}

static void decode(soft_cpu *cpu, soft_insn *in, fetcher *f)
{
   bool lm = cpu->mode == MODE_LONG64;
   int segov = -1;
   bool p66 = false, p67 = false;
   uint8_t b;

   in->rep = 0;
   in->lock = 0;
   in->rex = 0;
   for (;;) {
      b = fetch8(f);
      switch (b) {
      case 0x26: segov = VMM_ES; in->rex = 0; continue;
      case 0x2e: segov = VMM_CS; in->rex = 0; continue;
      case 0x36: segov = VMM_SS; in->rex = 0; continue;
      case 0x3e: segov = VMM_DS; in->rex = 0; continue;
      case 0x64: segov = VMM_FS; in->rex = 0; continue;
      case 0x65: segov = VMM_GS; in->rex = 0; continue;
      case 0x66: p66 = true; in->rex = 0; continue;
      case 0x67: p67 = true; in->rex = 0; continue;
      case 0xf0: in->lock = 1; in->rex = 0; continue;
      case 0xf2: case 0xf3: in->rep = b; in->rex = 0; continue;
      default: break;
      }
      if (lm && (b & 0xf0) == 0x40) {
         in->rex = b;
         continue;
      }
      break;
   }
   if (lm && segov >= 0 && segov < VMM_FS)
      segov = -1;   /* ES/CS/SS/DS overrides are ignored in 64-bit mode */

   const opdesc *d;
   uint16_t op;
   if (b == 0x0f) {
      b = fetch8(f);
      if (b == 0x38) {
         b = fetch8(f);
         static const opdesc movbe = { op_movbe, F_MODRM };
         static const opdesc crc32 = { op_crc32, F_MODRM };
         static const opdesc sse = { op_sse, F_MODRM | F_SSE };
         static const opdesc bad = { op_ud, 0 };
         op = (uint16_t)(0x200 | b);
         if (b == 0xf0 || b == 0xf1)
            d = in->rep == 0 ? &movbe : in->rep == 0xf2 ? &crc32 : &bad;
         else
            d = &sse;
      } else if (b == 0x3a) {
         static const opdesc sse3a = { op_sse, F_MODRM | F_SSE | F_IMMU8 };
         b = fetch8(f);
         op = (uint16_t)(0x300 | b);
         d = &sse3a;
      } else {
         op = (uint16_t)(0x100 | b);
         d = &op2[b];
      }
   } else {
      op = b;
      d = &op1[b];
   }
   in->op = op;
   in->opsz_pfx = p66;
   unsigned flags = d->flags;
   soft_fn fn = d->fn;
   if (!fn || ((flags & F_I64) && lm)) {
      fn = op_ud;
      flags = 0;
   }

   /* operand and address size */
   if (lm)
      in->asize = p67 ? 4 : 8;
   else
      in->asize = (uint8_t)(p67 ? 6 - cpu->addr_size : cpu->addr_size);
   unsigned os;
   if (lm) {
      if (in->rex & 8)
         os = 8;
      else if (flags & F_F64)
         os = 8;
      else if (flags & F_D64)
         os = p66 ? 2 : 8;
      else
         os = p66 ? 2 : 4;
   } else {
      os = p66 ? 6 - cpu->code_size : cpu->code_size;
   }
   if (flags & F_BYTE)
      os = 1;
   in->seg = segov >= 0 ? (uint8_t)segov : VMM_DS;

   if (flags & F_REGOP) {
      in->reg = (uint8_t)((b & 7) | ((in->rex & 1) << 3));
      in->mod = 3;
      in->rm = in->reg;
      in->base = in->index = RM_NONE;
   } else if (flags & F_MODRM) {
      decode_modrm(cpu, f, in, segov);
   } else {
      in->mod = 3;
      in->reg = in->rm = 0;
      in->base = in->index = RM_NONE;
      in->disp = 0;
   }

   /* special cases */
   if (flags & F_SPECIAL) {
      switch (op) {
      case 0x63:
         if (lm) {
            fn = op_movsxd;
         } else {
            os = 2;
         }
         break;
      case 0xc4:
      case 0xc5:
         /* VEX in 64-bit mode or with a register ModRM: AVX is not offered */
         if (lm || in->mod == 3)
            fn = op_ud;
         break;
      case 0xa0: case 0xa1: case 0xa2: case 0xa3:
         in->disp = (int64_t)fetchn(f, in->asize);
         in->mod = 0;
         break;
      case 0x9a:
      case 0xea:
         in->imm = fetchn(f, os == 2 ? 2 : 4);
         in->imm2 = fetchn(f, 2);
         break;
      case 0xc8:
         in->imm = fetchn(f, 2);
         in->imm2 = fetch8(f);
         break;
      case 0xf6:
         if ((in->reg & 7) < 2)
            in->imm = (uint64_t)(int8_t)fetch8(f);
         break;
      case 0xf7:
         if ((in->reg & 7) < 2)
            in->imm = (uint64_t)(int64_t)(os == 2 ? (int16_t)fetchn(f, 2) : (int32_t)fetchn(f, 4));
         break;
      case 0xff:
         if (lm) {
            unsigned r = in->reg & 7;
            if (r == 2 || r == 4)
               os = 8;
            else if (r == 6)
               os = p66 ? 2 : 8;
         }
         break;
      case 0x120: case 0x121: case 0x122: case 0x123:
         /* the ModRM is always a register form */
         in->mod = 3;
         in->rm = (uint8_t)((in->rm & 7) | ((in->rex & 1) << 3));
         os = lm ? 8 : 4;
         break;
      default:
         break;
      }
   }
   in->osize = (uint8_t)os;

   if (flags & F_IMM8)
      in->imm = (uint64_t)(int64_t)(int8_t)fetch8(f);
   else if (flags & F_IMMU8)
      in->imm = fetch8(f);
   else if (flags & F_IMM16)
      in->imm = fetchn(f, 2);
   else if (flags & F_IMMZ)
      in->imm = (uint64_t)(int64_t)(os == 2 ? (int16_t)fetchn(f, 2) : (int32_t)fetchn(f, 4));
   else if (flags & F_IMMV)
      in->imm = fetchn(f, os);

   /* prefix legality */
   if (in->lock && !lock_ok(in, flags))
      fn = op_ud;
   if (op == 0x90 && !(in->rex & 1) && in->rep == 0xf3)
      fn = op_nop;                        /* PAUSE */
   if ((op == 0x1bc && !cpu->feat_bmi1) || (op == 0x1bd && !cpu->feat_abm))
      in->rep = in->rep == 0xf3 ? 0 : in->rep;
   if (op == 0x1b8 && !cpu->feat_popcnt)
      fn = op_ud;
   if (op == 0xfe && (in->reg & 7) > 1)
      fn = op_ud;
   in->fn = fn;
   in->len = (uint8_t)f->n;
   if (fn == op_sse)
      soft_sse_prepare(cpu, in);
   else if (fn == op_fpu_escape)
      soft_x87_prepare(cpu, in);
   in->ends = soft_insn_ends_block(in);
   soft_specialize(cpu, in);
}
