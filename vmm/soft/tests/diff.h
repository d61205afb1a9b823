/*
 * vmm/soft/tests/diff.h - differential testing of the interpreter against
 * the host CPU. A case is a few instruction bytes plus initial registers,
 * flags and an 8 KiB data area; it runs natively (user mode, 64-bit) and
 * in the interpreter (CPL 3, 64-bit mode, the same linear addresses), and
 * the final registers, RIP, flags, exception and data area must match.
 */
#ifndef SOFT_TEST_DIFF_H
#define SOFT_TEST_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#define DIFF_STATE_ADDR 0x10000000ull
#define DIFF_DATA_ADDR 0x20000000ull
#define DIFF_DATA_SIZE 8192u
#define DIFF_CODE_ADDR 0x30000000ull
#define DIFF_TEST_ADDR (DIFF_CODE_ADDR + 0x800)
#define DIFF_MAX_CODE 256

/* arithmetic flags + DF */
#define DIFF_FLAGS 0xcd5u

/* The x87/MMX/SSE state of a case: an FXSAVE64 image. */
#define DIFF_FX_SIZE 512

typedef struct diff_case {
   uint8_t code[DIFF_MAX_CODE];
   unsigned len;
   uint64_t gpr[16];
   uint64_t flags;
   uint32_t flag_mask;      /* flags compared (default DIFF_FLAGS) */
   bool fpu;                /* compare the FPU state (fx) too */
   unsigned ignore_off, ignore_len;   /* data bytes not compared (FXSAVE's FOP/FIP/FDP) */
   bool cr2_in_page;        /* a #PF's CR2 need only be in the same page: a store of many
                             * fields, written in the CPU's own order (FNSAVE) */
   char desc[96];
   /* everything above is cleared before each case */
   uint8_t fx[DIFF_FX_SIZE] __attribute__((aligned(16)));
   uint8_t data[DIFF_DATA_SIZE];
} diff_case;

typedef struct diff_result {
   uint64_t gpr[16];
   uint64_t rip;
   uint64_t flags;
   int vector;              /* -1: none */
   uint32_t err;            /* error code of #GP/#PF/#SS */
   uint64_t cr2;            /* #PF address */
   uint8_t fx[DIFF_FX_SIZE] __attribute__((aligned(16)));
   uint8_t data[DIFF_DATA_SIZE];
} diff_result;

/* random numbers (xorshift, seeded per group) */
uint64_t drand64(void);
void dseed(uint64_t s);
uint64_t dvalue(unsigned size);      /* random with edge values mixed in */

/* A generator fills case i of its group; returns false to skip. */
typedef bool (*diff_gen_fn)(diff_case *c, unsigned i);
typedef struct diff_group {
   const char *name;
   diff_gen_fn gen;
   unsigned count;
} diff_group;

extern const diff_group diff_groups[];
extern const unsigned diff_ngroups;

/* ---- instruction encoding helpers (diff_gen.c) -------------------------- */
typedef struct enc {
   uint8_t *b;
   unsigned n;
} enc;

typedef struct memop {
   int base;        /* -1 none, 16 = RIP */
   int index;       /* -1 none */
   unsigned scale;
   int32_t disp;
   unsigned dispsz; /* 0, 1, 4 */
   bool a32;        /* 0x67 prefix */
} memop;

/* ---- shared by the generator files (diff_gen.c) ------------------------------ */
typedef struct insn_spec {
   const uint8_t *opc;
   unsigned nopc;
   unsigned osize;        /* 8 sets REX.W, 2 emits 66 */
   unsigned reg;          /* ModRM.reg field or register number (0-15) */
   int rm_reg;            /* -1: memory */
   const memop *m;
   bool lock;
   uint8_t rep;           /* 0, f2, f3 */
   bool force_rex;
   bool no_modrm;
   bool w_from_size;      /* REX.W when osize == 8 (default true) */
} insn_spec;

unsigned diff_rnd(unsigned n);
void diff_begin(diff_case *c, const char *name);
void diff_b1(uint8_t x);
void diff_imm(uint64_t v, unsigned n);
void diff_end_insn(void);
void diff_finish(void);
/* memory operand at DIFF_DATA_ADDR + off; avoid: registers not to use */
void diff_choose_mem(memop *m, unsigned off, unsigned avoid);
void diff_emit(const insn_spec *s);
void diff_set_desc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* the FXSAVE image every case starts from unless a generator changes it */
void diff_default_fx(uint8_t *fx);

/* diff_gen_fp.c: x87, MMX, SSE groups */
bool diff_gen_x87(diff_case *c, unsigned i);
bool diff_gen_mmx(diff_case *c, unsigned i);
bool diff_gen_sse_int(diff_case *c, unsigned i);
bool diff_gen_sse_fp(diff_case *c, unsigned i);
bool diff_gen_sse_mov(diff_case *c, unsigned i);
bool diff_gen_sse42(diff_case *c, unsigned i);
bool diff_gen_fpstate(diff_case *c, unsigned i);

#endif
