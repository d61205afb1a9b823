/*
 * vmm/soft/jit_int.h - the translator's insides shared by jit.c (the
 * arena, a block's entry, exits and linking) and jit-forms.c (the code
 * for one instruction): the x86-64 assembler, the per-block state being
 * built, and the pieces every instruction form uses.
 */
#ifndef VMM_SOFT_JIT_INT_H
#define VMM_SOFT_JIT_INT_H

#include <stddef.h>

#include "soft_int.h"

#define MAX_BLOCK_INSNS 63   /* the most instructions a block may have here */
#define MAX_EXITS 96
#define MAX_SLOW 40
#define MAX_FIX 4

/* Called from translated code (jit.c). */
int soft_jit_cond(soft_cpu *cpu, unsigned cc);
uint64_t soft_jit_flags(soft_cpu *cpu);

/* ---- the assembler ------------------------------------------------------------------ */

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
#define NOREG (-1)

#define OFF(f) ((int32_t)offsetof(soft_cpu, f))
#define GPR(r) (OFF(gpr) + 8 * (int32_t)(r))

/* exits: where the block ends and what RIP it leaves */
enum { EX_CONST, EX_DYN, EX_RCX };

typedef struct jit_exit {
   uint8_t *fix;              /* rel32 to patch */
   uint8_t kind;
   unsigned done;             /* instructions retired at the exit */
   uint64_t rip;              /* EX_CONST */
} jit_exit;

/* a slow path: the instruction's handler, then back (or out) */
typedef struct jit_slow {
   uint8_t *fix[MAX_FIX];
   unsigned nfix;
   unsigned i;
   uint8_t *resume;           /* NULL: the instruction ends the block */
   bool flags;                /* make the host flags the guest's before resuming */
} jit_slow;

typedef struct jit_asm {
   uint8_t *p, *end, *start;
   uint8_t *rx;               /* run address of start */
   bool full;
   jit_exit ex[MAX_EXITS];
   unsigned nex;
   jit_slow slow[MAX_SLOW];
   unsigned nslow;
   /* the block */
   soft_cpu *cpu;
   const soft_insn *insn;
   unsigned n;
   uint64_t *rips;            /* rips[i]: instruction i; rips[n]: after the last */
   void *owner;
   const uint32_t *pgen;
   uint32_t gen;
   struct soft_jit *j;
   uint8_t *chain;            /* the chain entry */
   uint8_t *leave[8];         /* chain-entry checks that failed: to the epilogue */
   unsigned nleave;
   uint8_t *epilogue;
   uint8_t *dyn_fix[MAX_EXITS];   /* jumps to the jump-cache lookup */
   unsigned ndyn;
   bool flags_dead[MAX_BLOCK_INSNS];   /* instruction i's flags: overwritten unread */
} jit_asm;

static inline void b1(jit_asm *a, unsigned v)
{
   if (a->p < a->end)
      *a->p++ = (uint8_t)v;
   else
      a->full = true;
}

static inline void b4(jit_asm *a, uint32_t v)
{
   for (int i = 0; i < 4; i++)
      b1(a, (v >> (8 * i)) & 0xff);
}

static inline void b8(jit_asm *a, uint64_t v)
{
   b4(a, (uint32_t)v);
   b4(a, (uint32_t)(v >> 32));
}

static inline bool simm32(uint64_t v)
{
   return (int64_t)v == (int32_t)v;
}

static inline void rex(jit_asm *a, int w, int reg, int index, int base, bool byte_reg)
{
   unsigned r = 0x40 | (w ? 8 : 0) | (reg >= 8 ? 4 : 0) | (index >= 8 ? 2 : 0) | (base >= 8 ? 1 : 0);
   if (r != 0x40 || (byte_reg && reg >= 4))
      b1(a, r);
}

static inline void opcode(jit_asm *a, unsigned opc)
{
   if (opc > 0xff)
      b1(a, opc >> 8);
   b1(a, opc & 0xff);
}

/* opc reg, [base + index*2^scale + disp] */
static inline void op_m(jit_asm *a, int w, unsigned opc, int reg, int base, int index, int scale,
                 int32_t disp)
{
   rex(a, w, reg, index, base, false);
   opcode(a, opc);
   int mod = (disp == 0 && (base & 7) != 5) ? 0 : (disp >= -128 && disp <= 127) ? 1 : 2;
   if (index == NOREG && (base & 7) != 4) {
      b1(a, (unsigned)(mod << 6 | (reg & 7) << 3 | (base & 7)));
   } else {
      b1(a, (unsigned)(mod << 6 | (reg & 7) << 3 | 4));
      b1(a, (unsigned)(scale << 6 | ((index == NOREG ? 4 : index) & 7) << 3 | (base & 7)));
   }
   if (mod == 1)
      b1(a, (unsigned)(int8_t)disp & 0xff);
   else if (mod == 2)
      b4(a, (uint32_t)disp);
}

/* opc reg, [rbx + disp]: the CPU state */
static inline void op_c(jit_asm *a, int w, unsigned opc, int reg, int32_t disp)
{
   op_m(a, w, opc, reg, RBX, NOREG, 0, disp);
}

/* opc reg, rm (register operands) */
static inline void op_r(jit_asm *a, int w, unsigned opc, int reg, int rm)
{
   rex(a, w, reg, NOREG, rm, false);
   opcode(a, opc);
   b1(a, (unsigned)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

static inline void mov_imm(jit_asm *a, int r, uint64_t v)
{
   if (v <= 0xffffffffu) {               /* mov r32, imm32 (zero-extends) */
      if (r >= 8)
         b1(a, 0x41);
      b1(a, 0xb8 + (r & 7));
      b4(a, (uint32_t)v);
   } else if (simm32(v)) {               /* mov r64, simm32 */
      op_r(a, 1, 0xc7, 0, r);
      b4(a, (uint32_t)v);
   } else {
      b1(a, 0x48 | (r >= 8 ? 1 : 0));
      b1(a, 0xb8 + (r & 7));
      b8(a, v);
   }
}

/* qword [rbx + off] = v */
static inline void store_const(jit_asm *a, int32_t off, uint64_t v)
{
   if (simm32(v)) {
      op_c(a, 1, 0xc7, 0, off);
      b4(a, (uint32_t)v);
   } else {
      mov_imm(a, RAX, v);
      op_c(a, 1, 0x89, RAX, off);
   }
}

static inline void call_abs(jit_asm *a, const void *fn)
{
   mov_imm(a, RAX, (uint64_t)(uintptr_t)fn);
   b1(a, 0xff);
   b1(a, 0xd0);                           /* call rax */
}

/* jcc rel32 / jmp rel32 with the displacement patched later */
static inline uint8_t *jcc_fwd(jit_asm *a, unsigned cc)
{
   b1(a, 0x0f);
   b1(a, 0x80 | cc);
   uint8_t *fix = a->p;
   b4(a, 0);
   return a->full ? NULL : fix;
}

static inline uint8_t *jmp_fwd(jit_asm *a)
{
   b1(a, 0xe9);
   uint8_t *fix = a->p;
   b4(a, 0);
   return a->full ? NULL : fix;
}

static inline void patch(uint8_t *fix, const uint8_t *target)
{
   if (!fix)
      return;
   int32_t rel = (int32_t)(target - (fix + 4));
   memcpy(fix, &rel, 4);
}

static inline void jmp_to(jit_asm *a, const uint8_t *target)
{
   patch(jmp_fwd(a), target);
}

enum { CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A };

static inline void add_exit(jit_asm *a, uint8_t *fix, unsigned kind, unsigned done, uint64_t rip)
{
   if (a->nex == MAX_EXITS || !fix) {
      a->full = true;
      return;
   }
   a->ex[a->nex++] = (jit_exit){ fix, (uint8_t)kind, done, rip };
}

static inline jit_slow *add_slow(jit_asm *a, unsigned i, bool flags)
{
   if (a->nslow == MAX_SLOW) {
      a->full = true;
      return NULL;
   }
   jit_slow *s = &a->slow[a->nslow++];
   *s = (jit_slow){ .i = i, .flags = flags };
   return s;
}

static inline void slow_fix(jit_asm *a, jit_slow *s, uint8_t *fix)
{
   if (!s || !fix || s->nfix == MAX_FIX) {
      a->full = true;
      return;
   }
   s->fix[s->nfix++] = fix;
}

/* ---- pieces --------------------------------------------------------------------- */

/* cpu->icount = entry count + done */
static inline void set_icount(jit_asm *a, unsigned done)
{
   op_m(a, 1, 0x8d, RAX, R13, NOREG, 0, (int32_t)done);     /* lea rax, [r13+done] */
   op_c(a, 1, 0x89, RAX, OFF(icount));
}

/* Instruction i through its handler, as run_one runs it. */
static inline void emit_call(jit_asm *a, unsigned i)
{
   const soft_insn *in = &a->insn[i];
   set_icount(a, i);
   store_const(a, OFF(rip), a->rips[i]);
   store_const(a, OFF(next_rip), a->rips[i + 1]);
   op_c(a, 1, 0x8b, RAX, GPR(VMM_RSP));
   op_c(a, 1, 0x89, RAX, OFF(insn_rsp));
   op_r(a, 1, 0x89, RBX, RDI);                                 /* mov rdi, rbx */
   mov_imm(a, RSI, (uint64_t)(uintptr_t)in);
   call_abs(a, (const void *)in->fn);
}

/* After a handler: leave unless it went on to the next instruction. */
static inline void emit_after_call(jit_asm *a, unsigned i, bool last)
{
   if (last || a->insn[i].ends) {
      add_exit(a, jmp_fwd(a), EX_DYN, i + 1, 0);
      return;
   }
   uint64_t next = a->rips[i + 1];
   if (simm32(next)) {
      op_c(a, 1, 0x81, 7, OFF(next_rip));                      /* cmp qword [next_rip], imm */
      b4(a, (uint32_t)next);
   } else {
      mov_imm(a, RAX, next);
      op_c(a, 1, 0x39, RAX, OFF(next_rip));
   }
   add_exit(a, jcc_fwd(a, CC_NE), EX_DYN, i + 1, 0);
   op_c(a, 0, 0x80, 7, OFF(stop_block));                        /* cmp byte [stop_block], 0 */
   b1(a, 0);
   add_exit(a, jcc_fwd(a, CC_NE), EX_DYN, i + 1, 0);
}

/* rax = the effective address (no flags touched) */
static inline void emit_ea(jit_asm *a, unsigned i)
{
   const soft_insn *in = &a->insn[i];
   uint64_t m = sz_mask(in->asize);
   int32_t disp = (int32_t)in->disp;
   if (in->base == RM_RIP) {
      mov_imm(a, RAX, (a->rips[i] + in->len + (uint64_t)in->disp) & m);
      return;
   }
   if (in->base == RM_NONE && in->index == RM_NONE) {
      mov_imm(a, RAX, (uint64_t)in->disp & m);
      return;
   }
   if (in->base != RM_NONE && in->index != RM_NONE) {
      op_c(a, 1, 0x8b, RAX, GPR(in->base));
      op_c(a, 1, 0x8b, RCX, GPR(in->index));
      op_m(a, 1, 0x8d, RAX, RAX, RCX, in->scale, disp);       /* lea rax, [rax+rcx*s+d] */
   } else if (in->base != RM_NONE) {
      op_c(a, 1, 0x8b, RAX, GPR(in->base));
      if (disp)
         op_m(a, 1, 0x8d, RAX, RAX, NOREG, 0, disp);
   } else {
      /* lea rax, [rcx*s + disp32]: SIB with no base (mod 00, base 101) */
      op_c(a, 1, 0x8b, RCX, GPR(in->index));
      rex(a, 1, RAX, RCX, RAX, false);
      b1(a, 0x8d);
      b1(a, 0x04);
      b1(a, (unsigned)(in->scale << 6 | (RCX << 3) | 5));
      b4(a, (uint32_t)disp);
   }
   if (in->asize == 4)
      op_r(a, 0, 0x89, RAX, RAX);                              /* mov eax, eax */
   else if (in->asize == 2)
      op_r(a, 0, 0x0fb7, RAX, RAX);                            /* movzx eax, ax */
}

/* rax = linear address of the memory operand (64-bit mode: FS/GS base) */
static inline void emit_lin(jit_asm *a, unsigned i)
{
   emit_ea(a, i);
   unsigned seg = a->insn[i].seg;
   if (seg >= VMM_FS) {
      op_c(a, 1, 0x8b, RCX, OFF(seg) + (int32_t)(seg * sizeof(vmm_seg) + offsetof(vmm_seg, base)));
      op_m(a, 1, 0x8d, RAX, RAX, RCX, 0, 0);
   }
}

/* rdx = host address of [rax, rax+size) for a read or a write, or to the
 * slow path. rax kept; rcx clobbered. */
static inline void emit_tlb(jit_asm *a, jit_slow *s, unsigned size, bool write)
{
   op_r(a, 1, 0x89, RAX, RCX);                                 /* mov rcx, rax */
   op_r(a, 1, 0xc1, 5, RCX);                                   /* shr rcx, 12 */
   b1(a, 12);
   op_r(a, 0, 0x81, 4, RCX);                                   /* and ecx, 511 */
   b4(a, SOFT_TLB_SIZE - 1);
   op_r(a, 0, 0x69, RCX, RCX);                                 /* imul ecx, ecx, sizeof */
   b4(a, sizeof(soft_tlbe));
   op_m(a, 1, 0x8d, RDX, RAX, NOREG, 0, (int32_t)size - 1);    /* lea rdx, [rax+size-1] */
   op_r(a, 1, 0x81, 4, RDX);                                   /* and rdx, -4096 */
   b4(a, 0xfffff000u);
   op_m(a, 1, 0x3b, RDX, R12, RCX, 0,
        write ? (int32_t)offsetof(soft_tlbe, tag_w) : (int32_t)offsetof(soft_tlbe, tag_r));
   slow_fix(a, s, jcc_fwd(a, CC_NE));
   op_m(a, 1, 0x8b, RDX, R12, RCX, 0, (int32_t)offsetof(soft_tlbe, addend));
   op_r(a, 1, 0x01, RAX, RDX);                                 /* add rdx, rax */
}

/* set_cc(kind, size, rax, rcx, src2) where src2 is 0 or rdx */
static inline void emit_cc(jit_asm *a, unsigned kind, unsigned size, int src, bool src2_rdx)
{
   op_c(a, 0, 0xc7, 0, OFF(cc_op));
   b4(a, CCOP(kind, sz_log(size)));
   op_c(a, 1, 0x89, RAX, OFF(cc_dst));
   if (src == NOREG) {
      op_c(a, 1, 0xc7, 0, OFF(cc_src));
      b4(a, 0);
   } else {
      op_c(a, 1, 0x89, src, OFF(cc_src));
   }
   if (src2_rdx) {
      op_c(a, 1, 0x89, RDX, OFF(cc_src2));
   } else {
      op_c(a, 1, 0xc7, 0, OFF(cc_src2));
      b4(a, 0);
   }
}

/* host opcode of ALU op (r/m, reg); CMP as SUB (its result is needed) */
static inline unsigned alu_host(unsigned op)
{
   static const unsigned t[8] = {
      [0] = 0x01, [1] = 0x09, [4] = 0x21, [5] = 0x29, [6] = 0x31, [7] = 0x29,
   };
   return t[op & 7];
}

static inline unsigned alu_kind(unsigned op)
{
   return op == 0 ? CC_ADD : (op == 5 || op == 7) ? CC_SUB : CC_LOGIC;
}

/* rax op= rcx with the host flags left for the guest's; the result and
 * the lazy flags stored. */
static inline void emit_alu(jit_asm *a, unsigned op, unsigned size, int dst_reg)
{
   op_r(a, size == 8, alu_host(op), RCX, RAX);
   if (op != 7 && dst_reg != NOREG)
      op_c(a, 1, 0x89, RAX, GPR(dst_reg));
   emit_cc(a, alu_kind(op), size, RCX, false);
}

/* rcx = v, sized as the operation wants it */
static inline void load_imm_rcx(jit_asm *a, uint64_t v)
{
   mov_imm(a, RCX, v);
}

/* ---- one instruction ------------------------------------------------------------- */

/* Host flags: whether they equal the guest's arithmetic flags right now;
 * and what the lazy flags in soft_cpu hold, when an inline op of this
 * block stored them (KIND_UNKNOWN as after a handler). sse_ok: this
 * block already checked that SSE may run (CR0.EM/TS, CR4.OSFXSR; only
 * instructions that end blocks change them). */
typedef struct flagstate {
   bool live;
   uint8_t kind, size;
   bool sse_ok;
} flagstate;
#define KIND_UNKNOWN 0xff

/* Make the host flags the guest's, from the lazy flags when this block
 * knows what they hold: SUB redone as CMP of its operands, ADD as ADD,
 * logic ops as TEST of the result. False when it cannot. */
static inline bool make_live(jit_asm *a, flagstate *fs)
{
   if (fs->live)
      return true;
   if (fs->kind == CC_EFLAGS) {
      op_c(a, 0, 0xff, 6, OFF(cc_src));                        /* push qword [cc_src] */
      b1(a, 0x9d);                                             /* popfq */
      fs->live = true;
      return true;
   }
   if (fs->size != 4 && fs->size != 8)
      return false;
   unsigned w = fs->size == 8;
   switch (fs->kind) {
   case CC_SUB:
      op_c(a, w, 0x8b, RAX, OFF(cc_dst));
      op_c(a, w, 0x8b, RCX, OFF(cc_src));
      op_r(a, w, 0x01, RCX, RAX);                              /* rax = the first operand */
      op_r(a, w, 0x39, RCX, RAX);                              /* cmp rax, rcx */
      break;
   case CC_ADD:
      op_c(a, w, 0x8b, RAX, OFF(cc_dst));
      op_c(a, w, 0x8b, RCX, OFF(cc_src));
      op_r(a, w, 0x29, RCX, RAX);
      op_r(a, w, 0x01, RCX, RAX);
      break;
   case CC_LOGIC:
      op_c(a, w, 0x8b, RAX, OFF(cc_dst));
      op_r(a, w, 0x85, RAX, RAX);
      break;
   default:
      return false;
   }
   fs->live = true;
   return true;
}

static inline bool canonical(uint64_t v)
{
   return (uint64_t)((int64_t)(v << 16) >> 16) == v;
}

static inline void begin_slow_resume(jit_asm *a, jit_slow *s)
{
   if (s)
      s->resume = a->p;
}

/* jit-forms.c: instruction i of the block, with fs the host flags' state
 * before it (updated). */
void jit_emit_insn(jit_asm *a, unsigned i, flagstate *fs);
/* jit-forms.c: a->flags_dead for the block. */
void jit_flag_liveness(jit_asm *a);

#endif
