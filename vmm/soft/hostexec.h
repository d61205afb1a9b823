/*
 * vmm/soft/hostexec.h - running one x87/MMX/SSE instruction on the host
 * (hostexec.c, hostexec.S). Internal to vmm/soft.
 */
#ifndef VMM_SOFT_HOSTEXEC_H
#define VMM_SOFT_HOSTEXEC_H

#include <stdint.h>

/* Operands of an SSE/MMX stub; the layout is hostexec.S's. */
typedef struct soft_hx {
   uint8_t xmm[3][16];     /* host xmm0 (guest xmm0), xmm1 (reg), xmm2 (rm) */
   uint8_t mem[64];        /* the memory operand ([rdi]) */
   uint64_t mm[2];         /* mm1 (reg), mm2 (rm) */
   uint64_t rax, rcx, rdx; /* guest rax/rcx/rdx (implicit operands) */
   uint64_t r8, r9;        /* GPR operands: reg, rm */
   uint64_t rflags;        /* arithmetic flags in and out */
   uint32_t mxcsr;         /* in: guest MXCSR with every exception masked; out */
   uint32_t use_mmx;       /* load/store mm1/mm2 and EMMS */
} __attribute__((aligned(16))) soft_hx;

/* The stub for an instruction encoding (at most 7 bytes), made on first
 * use; NULL when code memory is exhausted or unavailable. Any thread. */
const void *soft_hx_stub(const uint8_t *code, unsigned len);
/* MXCSR bits the host implements (FXSAVE's MXCSR_MASK). */
uint32_t soft_hx_mxcsr_mask(void);

void soft_hx_call(soft_hx *ctx, const void *stub);
/* fx: a 16-byte aligned FXSAVE64 image, loaded before and saved after;
 * mem: the memory operand; *rflags: arithmetic flags in and out. */
void soft_hx_x87(void *fx, void *mem, const void *stub, uint64_t *rflags);

#endif
