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

typedef struct diff_case {
   uint8_t code[DIFF_MAX_CODE];
   unsigned len;
   uint64_t gpr[16];
   uint64_t flags;
   uint8_t data[DIFF_DATA_SIZE];
   uint32_t flag_mask;      /* flags compared (default DIFF_FLAGS) */
   char desc[96];
} diff_case;

typedef struct diff_result {
   uint64_t gpr[16];
   uint64_t rip;
   uint64_t flags;
   int vector;              /* -1: none */
   uint32_t err;            /* error code of #GP/#PF/#SS */
   uint64_t cr2;            /* #PF address */
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

#endif
