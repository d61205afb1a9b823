/*
 * vmm/soft/jit.c - the translator: host x86-64 code for decoded blocks.
 *
 * A block that has run a few times (block.c) gets host code that does
 * what run_one does for its instructions, without the dispatch loop:
 *
 *  - the frequent forms fast.c specializes (register MOV/ALU/TEST/LEA,
 *    INC/DEC, CMOV, Jcc/JMP/CALL/RET, PUSH/POP, loads, stores and ALU with
 *    memory in 64-bit mode) become inline host instructions over the
 *    guest registers in soft_cpu, with the same lazy flags the handlers
 *    leave. The host's own flags after such an ALU op are the guest's, so
 *    a Jcc, CMOV or INC/DEC right after one tests them directly;
 *  - memory operands look the TLB up inline (the host address of a hit);
 *    a miss, a page-crossing access or a non-canonical address (no TLB
 *    entry ever holds one) goes to the instruction's own handler, which
 *    does the whole instruction as the interpreter would (walks, faults);
 *  - everything else calls its handler as run_one does: RIP, next RIP,
 *    the instruction's RSP and the retired count are stored first, so a
 *    fault (a longjmp to the run loop) finds the state run_one leaves; a
 *    changed next RIP or a stop request ends the block after it.
 *
 * The code holds the block's linear RIPs as constants, so it is used only
 * when the block is entered at the RIP it was built for (a block is found
 * by host address: the same page may be mapped at several addresses).
 * The retired count is kept as the count at entry (r13) plus the static
 * position. Register use: rbx = cpu, r12 = this CPL's TLB, r13 = icount
 * at entry; rax, rcx, rdx, rsi, rdi scratch.
 *
 * The code arena is one memfd mapped twice (written through one view,
 * run through the other), so no page is ever writable and executable.
 * It is dropped with the block cache (soft_block_flush).
 */
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "soft_int.h"

#define ARENA_SIZE (32u << 20)
#define BLOCK_CODE_MAX (24u << 10)   /* room one block may need at most */
#define MAX_EXITS 96
#define MAX_SLOW 40
#define MAX_FIX 4

/* The jump cache: where a RIP's translated block chains in, for exits
 * whose target is known only when they run (RET, indirect branches,
 * handlers that branch). Filled by the run loop; an entry is used only
 * under the TLB generation, CPL and mode it was filled under, and the
 * chain entry checks the rest. */
#define JC_BITS 12
#define JC_SIZE (1u << JC_BITS)
typedef struct jit_jc {
   uint64_t rip;
   const uint8_t *chain;
   uint32_t tlb_gen;
   uint8_t mmu_idx, mkey;
   uint8_t pad[10];
} jit_jc;
_Static_assert(sizeof(jit_jc) == 32, "the code indexes entries by << 5");

struct soft_jit {
   jit_jc jc[JC_SIZE];
   uint8_t *rw, *rx;
   size_t used;
   /* a linkable exit: the fields soft_jit_link patches, from its start */
   unsigned link_cpl, link_gen, link_rel;
};

/* ---- the arena ------------------------------------------------------------------ */

static struct soft_jit *jit_get(soft_cpu *cpu)
{
   if (cpu->jit)
      return cpu->jit->rw ? cpu->jit : NULL;
   struct soft_jit *j = calloc(1, sizeof(*j));
   if (!j)
      return NULL;
   cpu->jit = j;
   int fd = memfd_create("vmws-soft-jit", MFD_CLOEXEC);
   if (fd < 0)
      return NULL;
   if (ftruncate(fd, ARENA_SIZE) == 0) {
      void *w = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      void *x = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
      if (w != MAP_FAILED && x != MAP_FAILED) {
         j->rw = w;
         j->rx = x;
      } else {
         if (w != MAP_FAILED)
            munmap(w, ARENA_SIZE);
         if (x != MAP_FAILED)
            munmap(x, ARENA_SIZE);
      }
   }
   close(fd);
   cpu->jit_jc = j->jc;
   return j->rw ? j : NULL;
}

void soft_jit_flush(soft_cpu *cpu)
{
   if (cpu->jit) {
      cpu->jit->used = 0;
      memset(cpu->jit->jc, 0, sizeof(cpu->jit->jc));
   }
   cpu->jit_fix = NULL;
}

static inline unsigned jc_slot(uint64_t rip)
{
   return (unsigned)((rip >> 12) ^ rip) & (JC_SIZE - 1);
}

void soft_jit_remember(soft_cpu *cpu, uint64_t rip, const uint8_t *chain)
{
   jit_jc *e = &cpu->jit->jc[jc_slot(rip)];
   e->rip = rip;
   e->chain = chain;
   e->tlb_gen = cpu->tlb_gen;
   e->mmu_idx = cpu->mmu_idx;
   e->mkey = cpu->mode_key;
}

void soft_jit_link(soft_cpu *cpu, uint8_t *fix, const uint8_t *chain)
{
   struct soft_jit *j = cpu->jit;
   fix[j->link_cpl] = cpu->mmu_idx;
   memcpy(fix + j->link_gen, &cpu->tlb_gen, 4);
   uint8_t *rel = fix + j->link_rel;
   int32_t d = (int32_t)(chain - (j->rx + (rel - j->rw) + 4));
   memcpy(rel, &d, 4);
}

bool soft_jit_full(const soft_cpu *cpu)
{
   return cpu->jit && cpu->jit->rw && cpu->jit->used + BLOCK_CODE_MAX > ARENA_SIZE;
}

void soft_jit_free(soft_cpu *cpu)
{
   struct soft_jit *j = cpu->jit;
   if (!j)
      return;
   if (j->rw) {
      munmap(j->rw, ARENA_SIZE);
      munmap(j->rx, ARENA_SIZE);
   }
   free(j);
   cpu->jit = NULL;
}

/* ---- helpers the code calls -------------------------------------------------------- */

static int jit_cond(soft_cpu *cpu, unsigned cc)
{
   return soft_cond_fast(cpu, cc);
}

/* The guest's arithmetic flags, for the host's (POPFQ) after a slow path. */
static uint64_t jit_flags(soft_cpu *cpu)
{
   return soft_arith_flags(cpu) & FL_ARITH;
}

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
} jit_asm;

static void b1(jit_asm *a, unsigned v)
{
   if (a->p < a->end)
      *a->p++ = (uint8_t)v;
   else
      a->full = true;
}

static void b4(jit_asm *a, uint32_t v)
{
   for (int i = 0; i < 4; i++)
      b1(a, (v >> (8 * i)) & 0xff);
}

static void b8(jit_asm *a, uint64_t v)
{
   b4(a, (uint32_t)v);
   b4(a, (uint32_t)(v >> 32));
}

static bool simm32(uint64_t v)
{
   return (int64_t)v == (int32_t)v;
}

static void rex(jit_asm *a, int w, int reg, int index, int base, bool byte_reg)
{
   unsigned r = 0x40 | (w ? 8 : 0) | (reg >= 8 ? 4 : 0) | (index >= 8 ? 2 : 0) | (base >= 8 ? 1 : 0);
   if (r != 0x40 || (byte_reg && reg >= 4))
      b1(a, r);
}

static void opcode(jit_asm *a, unsigned opc)
{
   if (opc > 0xff)
      b1(a, opc >> 8);
   b1(a, opc & 0xff);
}

/* opc reg, [base + index*2^scale + disp] */
static void op_m(jit_asm *a, int w, unsigned opc, int reg, int base, int index, int scale,
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
static void op_c(jit_asm *a, int w, unsigned opc, int reg, int32_t disp)
{
   op_m(a, w, opc, reg, RBX, NOREG, 0, disp);
}

/* opc reg, rm (register operands) */
static void op_r(jit_asm *a, int w, unsigned opc, int reg, int rm)
{
   rex(a, w, reg, NOREG, rm, false);
   opcode(a, opc);
   b1(a, (unsigned)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

static void mov_imm(jit_asm *a, int r, uint64_t v)
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
static void store_const(jit_asm *a, int32_t off, uint64_t v)
{
   if (simm32(v)) {
      op_c(a, 1, 0xc7, 0, off);
      b4(a, (uint32_t)v);
   } else {
      mov_imm(a, RAX, v);
      op_c(a, 1, 0x89, RAX, off);
   }
}

static void call_abs(jit_asm *a, const void *fn)
{
   mov_imm(a, RAX, (uint64_t)(uintptr_t)fn);
   b1(a, 0xff);
   b1(a, 0xd0);                           /* call rax */
}

/* jcc rel32 / jmp rel32 with the displacement patched later */
static uint8_t *jcc_fwd(jit_asm *a, unsigned cc)
{
   b1(a, 0x0f);
   b1(a, 0x80 | cc);
   uint8_t *fix = a->p;
   b4(a, 0);
   return a->full ? NULL : fix;
}

static uint8_t *jmp_fwd(jit_asm *a)
{
   b1(a, 0xe9);
   uint8_t *fix = a->p;
   b4(a, 0);
   return a->full ? NULL : fix;
}

static void patch(uint8_t *fix, const uint8_t *target)
{
   if (!fix)
      return;
   int32_t rel = (int32_t)(target - (fix + 4));
   memcpy(fix, &rel, 4);
}

static void jmp_to(jit_asm *a, const uint8_t *target)
{
   patch(jmp_fwd(a), target);
}

enum { CC_O, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A };

static void add_exit(jit_asm *a, uint8_t *fix, unsigned kind, unsigned done, uint64_t rip)
{
   if (a->nex == MAX_EXITS || !fix) {
      a->full = true;
      return;
   }
   a->ex[a->nex++] = (jit_exit){ fix, (uint8_t)kind, done, rip };
}

static jit_slow *add_slow(jit_asm *a, unsigned i, bool flags)
{
   if (a->nslow == MAX_SLOW) {
      a->full = true;
      return NULL;
   }
   jit_slow *s = &a->slow[a->nslow++];
   *s = (jit_slow){ .i = i, .flags = flags };
   return s;
}

static void slow_fix(jit_asm *a, jit_slow *s, uint8_t *fix)
{
   if (!s || !fix || s->nfix == MAX_FIX) {
      a->full = true;
      return;
   }
   s->fix[s->nfix++] = fix;
}

/* ---- pieces --------------------------------------------------------------------- */

/* cpu->icount = entry count + done */
static void set_icount(jit_asm *a, unsigned done)
{
   op_m(a, 1, 0x8d, RAX, R13, NOREG, 0, (int32_t)done);     /* lea rax, [r13+done] */
   op_c(a, 1, 0x89, RAX, OFF(icount));
}

/* Instruction i through its handler, as run_one runs it. */
static void emit_call(jit_asm *a, unsigned i)
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
static void emit_after_call(jit_asm *a, unsigned i, bool last)
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
static void emit_ea(jit_asm *a, unsigned i)
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
static void emit_lin(jit_asm *a, unsigned i)
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
static void emit_tlb(jit_asm *a, jit_slow *s, unsigned size, bool write)
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
static void emit_cc(jit_asm *a, unsigned kind, unsigned size, int src, bool src2_rdx)
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

static const unsigned alu_host[8] = {
   [0] = 0x01, [1] = 0x09, [4] = 0x21, [5] = 0x29, [6] = 0x31, [7] = 0x29,
};

static unsigned alu_kind(unsigned op)
{
   return op == 0 ? CC_ADD : (op == 5 || op == 7) ? CC_SUB : CC_LOGIC;
}

/* rax op= rcx with the host flags left for the guest's; the result and
 * the lazy flags stored. */
static void emit_alu(jit_asm *a, unsigned op, unsigned size, int dst_reg)
{
   op_r(a, size == 8, alu_host[op], RCX, RAX);
   if (op != 7 && dst_reg != NOREG)
      op_c(a, 1, 0x89, RAX, GPR(dst_reg));
   emit_cc(a, alu_kind(op), size, RCX, false);
}

/* rcx = v, sized as the operation wants it */
static void load_imm_rcx(jit_asm *a, uint64_t v)
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
static bool make_live(jit_asm *a, flagstate *fs)
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

static bool canonical(uint64_t v)
{
   return (uint64_t)((int64_t)(v << 16) >> 16) == v;
}

static void begin_slow_resume(jit_asm *a, jit_slow *s)
{
   if (s)
      s->resume = a->p;
}

/* A byte register as the instruction names it: AH-BH without REX. */
static int32_t byte_reg_off(const soft_insn *in, unsigned r)
{
   if (!in->rex && r >= 4 && r < 8)
      return GPR(r - 4) + 1;
   return GPR(r);
}

/* After an inline op that left the guest's flags in the host's and the
 * lazy flags of this kind and size in soft_cpu. */
static void flags_from(flagstate *fs, unsigned kind, unsigned size)
{
   fs->live = true;
   fs->kind = (uint8_t)kind;
   fs->size = (uint8_t)size;
}

/* rdx = the guest's arithmetic flags before this instruction, exactly
 * (for the instructions that leave some of them as they were). */
static void emit_old_flags(jit_asm *a, flagstate *fs)
{
   if (fs->kind == CC_EFLAGS) {
      op_c(a, 0, 0x8b, RDX, OFF(cc_src));
   } else if (fs->live) {
      /* the host's flags are the guest's, but for AF after a logic op
       * (undefined on the host, 0 here) */
      b1(a, 0x9c);                                             /* pushfq */
      b1(a, 0x5a);                                             /* pop rdx */
      op_r(a, 0, 0x81, 4, RDX), b4(a, FL_ARITH & (fs->kind == CC_LOGIC ? ~FL_AF : ~0u));
   } else {
      op_r(a, 1, 0x89, RBX, RDI);
      call_abs(a, (const void *)jit_flags);
      op_r(a, 1, 0x89, RAX, RDX);
   }
}

/* The host's CF = the guest's: from the host flags or the lazy ones. */
static void emit_carry_in(jit_asm *a, flagstate *fs)
{
   if (make_live(a, fs))
      return;
   op_r(a, 1, 0x89, RBX, RDI);
   mov_imm(a, RSI, 2);
   call_abs(a, (const void *)jit_cond);
   op_r(a, 0, 0x0fba, 4, RAX), b1(a, 0);                       /* bt eax, 0 */
}

static void eager_flags_rdx(jit_asm *a, flagstate *fs)
{
   op_c(a, 0, 0xc7, 0, OFF(cc_op)), b4(a, CC_EFLAGS);
   op_c(a, 1, 0x89, RDX, OFF(cc_src));
   fs->kind = CC_EFLAGS;
   fs->live = false;
}

/* host 8-bit ALU opcodes (op r/m8, r8) */
static const unsigned alu_host8[8] = {
   [0] = 0x00, [1] = 0x08, [4] = 0x20, [5] = 0x28, [6] = 0x30, [7] = 0x28,
};

/* al op= cl, the lazy flags stored, the result to dst (a register byte or
 * the host address in rdx) unless CMP. */
static void emit_alu8(jit_asm *a, flagstate *fs, unsigned op, int32_t dst_off, bool dst_mem)
{
   op_r(a, 0, alu_host8[op], RCX, RAX);
   if (op != 7) {
      if (dst_mem)
         op_m(a, 0, 0x88, RAX, RDX, NOREG, 0, 0);
      else
         op_c(a, 0, 0x88, RAX, dst_off);
   }
   emit_cc(a, alu_kind(op), 1, RCX, false);
   flags_from(fs, alu_kind(op), 1);
}

/* More generic-handler forms: byte ALU/TEST/CMP/MOV, IMUL, ADC/SBB,
 * ROL/ROR by an immediate, NOP. */
static bool emit_generic_form2(jit_asm *a, unsigned i, flagstate *fs)
{
   const soft_insn *in = &a->insn[i];
   soft_fn fn = in->fn;
   unsigned size = in->osize, w = size == 8;
   bool lm = a->cpu->mode == MODE_LONG64;
   bool mem = in->mod != 3;

   if (fn == op_nop)
      return true;
   if (fn == op_test_acc_imm && size == 1) {
      op_c(a, 0, 0x0fb6, RAX, GPR(VMM_RAX));
      mov_imm(a, RCX, in->imm & 0xff);
      op_r(a, 0, 0x20, RCX, RAX);                              /* and al, cl */
      emit_cc(a, CC_LOGIC, 1, NOREG, false);
      flags_from(fs, CC_LOGIC, 1);
      return true;
   }
   if (fn == op_grp45 && lm && size == 8 && ((in->reg & 7) == 2 || (in->reg & 7) == 4)) {
      /* CALL/JMP r/m64: the target, canonical, (the return address
       * pushed), on through the jump cache */
      bool call = (in->reg & 7) == 2;
      jit_slow *s = add_slow(a, i, false);
      if (mem) {
         emit_lin(a, i);
         emit_tlb(a, s, 8, false);
         op_m(a, 1, 0x8b, RSI, RDX, NOREG, 0, 0);
      } else {
         op_c(a, 1, 0x8b, RSI, GPR(in->rm));
      }
      op_r(a, 1, 0x89, RSI, RDX);
      op_r(a, 1, 0xc1, 4, RDX), b1(a, 16);
      op_r(a, 1, 0xc1, 7, RDX), b1(a, 16);
      op_r(a, 1, 0x39, RSI, RDX);
      slow_fix(a, s, jcc_fwd(a, CC_NE));
      if (call) {
         op_c(a, 1, 0x8b, RAX, GPR(VMM_RSP));
         op_m(a, 1, 0x8d, RAX, RAX, NOREG, 0, -8);
         emit_tlb(a, s, 8, true);
         mov_imm(a, RCX, a->rips[i + 1]);
         op_m(a, 1, 0x89, RCX, RDX, NOREG, 0, 0);
         op_c(a, 1, 0x89, RAX, GPR(VMM_RSP));
      }
      op_r(a, 1, 0x89, RSI, RCX);
      add_exit(a, jmp_fwd(a), EX_RCX, i + 1, 0);
      fs->live = false;
      return true;
   }
   if (fn == op_grp45 && lm && mem && (size == 4 || size == 8) && (in->reg & 7) <= 1) {
      /* INC/DEC [mem]: CF kept */
      jit_slow *s = add_slow(a, i, true);
      emit_carry_in(a, fs);
      b1(a, 0x0f), b1(a, 0x92), b1(a, 0xc2);                   /* setc dl */
      op_r(a, 0, 0x0fb6, RSI, RDX);                            /* movzx esi, dl */
      emit_lin(a, i);
      emit_tlb(a, s, size, true);
      op_m(a, w, 0x8b, RAX, RDX, NOREG, 0, 0);
      op_r(a, 0, 0x0fba, 4, RSI), b1(a, 0);                    /* bt esi, 0 */
      op_r(a, w, 0xff, in->reg & 7, RAX);                      /* inc/dec rax */
      op_m(a, w, 0x89, RAX, RDX, NOREG, 0, 0);
      op_c(a, 0, 0xc7, 0, OFF(cc_op)), b4(a, CCOP((in->reg & 7) ? CC_DEC : CC_INC, sz_log(size)));
      op_c(a, 1, 0x89, RAX, OFF(cc_dst));
      op_c(a, 1, 0xc7, 0, OFF(cc_src)), b4(a, 0);
      op_c(a, 1, 0x89, RSI, OFF(cc_src2));
      begin_slow_resume(a, s);
      fs->live = true;
      fs->kind = KIND_UNKNOWN;
      return true;
   }
   if (fn == op_grp3 && !mem && (size == 4 || size == 8) && ((in->reg & 7) == 2 || (in->reg & 7) == 3)) {
      if ((in->reg & 7) == 2) {
         op_c(a, w, 0x8b, RAX, GPR(in->rm));
         op_r(a, w, 0xf7, 2, RAX);                             /* not rax: no flags */
         op_c(a, 1, 0x89, RAX, GPR(in->rm));
         return true;
      }
      op_c(a, w, 0x8b, RCX, GPR(in->rm));
      op_r(a, 0, 0x31, RAX, RAX);                              /* xor eax, eax */
      op_r(a, w, 0x29, RCX, RAX);                              /* sub rax, rcx: NEG's flags */
      op_c(a, 1, 0x89, RAX, GPR(in->rm));
      emit_cc(a, CC_SUB, size, RCX, false);
      flags_from(fs, CC_SUB, size);
      return true;
   }
   if (size == 1) {
      if (fn == op_alu_acc_imm) {
         unsigned op = (in->op >> 3) & 7;
         if (op == 2 || op == 3)
            return false;
         op_c(a, 0, 0x0fb6, RAX, GPR(VMM_RAX));
         mov_imm(a, RCX, in->imm & 0xff);
         emit_alu8(a, fs, op, GPR(VMM_RAX), false);
         return true;
      }
      if ((fn == op_alu_rm_r || fn == op_alu_r_rm || fn == op_grp1) && !mem) {
         unsigned op = fn == op_grp1 ? (in->reg & 7) : ((in->op >> 3) & 7);
         if (op == 2 || op == 3)
            return false;
         unsigned dst = fn == op_alu_r_rm ? in->reg : in->rm;
         op_c(a, 0, 0x0fb6, RAX, byte_reg_off(in, dst));
         if (fn == op_grp1)
            mov_imm(a, RCX, in->imm & 0xff);
         else
            op_c(a, 0, 0x0fb6, RCX, byte_reg_off(in, fn == op_alu_r_rm ? in->rm : in->reg));
         emit_alu8(a, fs, op, byte_reg_off(in, dst), false);
         return true;
      }
      if (fn == op_alu_r_rm && mem && lm) {
         unsigned op = (in->op >> 3) & 7;
         if (op == 2 || op == 3)
            return false;
         jit_slow *s = add_slow(a, i, true);
         emit_lin(a, i);
         emit_tlb(a, s, 1, false);
         op_m(a, 0, 0x0fb6, RCX, RDX, NOREG, 0, 0);
         op_c(a, 0, 0x0fb6, RAX, byte_reg_off(in, in->reg));
         emit_alu8(a, fs, op, byte_reg_off(in, in->reg), false);
         begin_slow_resume(a, s);
         return true;
      }
      if (fn == op_test_rm_r && !mem) {
         op_c(a, 0, 0x0fb6, RAX, byte_reg_off(in, in->rm));
         op_c(a, 0, 0x0fb6, RCX, byte_reg_off(in, in->reg));
         op_r(a, 0, 0x20, RCX, RAX);                           /* and al, cl */
         emit_cc(a, CC_LOGIC, 1, NOREG, false);
         flags_from(fs, CC_LOGIC, 1);
         return true;
      }
      if (fn == op_grp3 && (in->reg & 7) <= 1 && (!mem || lm)) {
         jit_slow *s = NULL;
         if (mem) {
            s = add_slow(a, i, true);
            emit_lin(a, i);
            emit_tlb(a, s, 1, false);
            op_m(a, 0, 0x0fb6, RAX, RDX, NOREG, 0, 0);
         } else {
            op_c(a, 0, 0x0fb6, RAX, byte_reg_off(in, in->rm));
         }
         mov_imm(a, RCX, in->imm & 0xff);
         op_r(a, 0, 0x20, RCX, RAX);
         emit_cc(a, CC_LOGIC, 1, NOREG, false);
         begin_slow_resume(a, s);
         flags_from(fs, CC_LOGIC, 1);
         return true;
      }
      if (fn == op_mov_rm_r && mem && lm) {
         jit_slow *s = add_slow(a, i, false);
         emit_lin(a, i);
         emit_tlb(a, s, 1, true);
         op_c(a, 0, 0x0fb6, RCX, byte_reg_off(in, in->reg));
         op_m(a, 0, 0x88, RCX, RDX, NOREG, 0, 0);
         begin_slow_resume(a, s);
         fs->live = false;
         return true;
      }
      if (fn == op_mov_r_rm && mem && lm) {
         jit_slow *s = add_slow(a, i, false);
         emit_lin(a, i);
         emit_tlb(a, s, 1, false);
         op_m(a, 0, 0x0fb6, RCX, RDX, NOREG, 0, 0);
         op_c(a, 0, 0x88, RCX, byte_reg_off(in, in->reg));
         begin_slow_resume(a, s);
         fs->live = false;
         return true;
      }
      return false;
   }
   if (size != 4 && size != 8)
      return false;
   if (fn == op_grp3 && (in->reg & 7) <= 1 && mem && lm) {
      jit_slow *s = add_slow(a, i, true);
      emit_lin(a, i);
      emit_tlb(a, s, size, false);
      op_m(a, w, 0x8b, RAX, RDX, NOREG, 0, 0);
      load_imm_rcx(a, size == 8 ? in->imm : (uint32_t)in->imm);
      op_r(a, w, 0x21, RCX, RAX);
      emit_cc(a, CC_LOGIC, size, NOREG, false);
      begin_slow_resume(a, s);
      flags_from(fs, CC_LOGIC, size);
      return true;
   }
   if ((fn == op_imul_r_rm || fn == op_imul_imm) && !mem) {
      /* CF = OF = the product does not fit; SF/ZF/AF/PF as they were
       * (mul_flags, alu.c) */
      emit_old_flags(a, fs);
      if (fn == op_imul_r_rm) {
         op_c(a, w, 0x8b, RAX, GPR(in->reg));
         op_c(a, w, 0x0faf, RAX, GPR(in->rm));                 /* imul rax, [rm] */
      } else {
         load_imm_rcx(a, size == 8 ? in->imm : (uint32_t)in->imm);
         op_c(a, w, 0x8b, RAX, GPR(in->rm));
         op_r(a, w, 0x0faf, RAX, RCX);                         /* imul rax, rcx */
      }
      op_c(a, 1, 0x89, RAX, GPR(in->reg));
      b1(a, 0x0f), b1(a, 0x90), b1(a, 0xc1);                   /* seto cl */
      op_r(a, 0, 0x0fb6, RCX, RCX);
      op_r(a, 0, 0x69, RCX, RCX), b4(a, FL_CF | FL_OF);
      op_r(a, 0, 0x81, 4, RDX), b4(a, FL_ARITH & ~(FL_CF | FL_OF));
      op_r(a, 0, 0x09, RCX, RDX);                              /* or edx, ecx */
      eager_flags_rdx(a, fs);
      return true;
   }
   if ((fn == op_alu_rm_r || fn == op_alu_r_rm || fn == op_grp1 || fn == op_alu_acc_imm) &&
       (!mem || fn == op_alu_acc_imm)) {
      unsigned op = fn == op_grp1 ? (in->reg & 7) : ((in->op >> 3) & 7);
      if (op != 2 && op != 3)
         return false;
      bool adc = op == 2;
      unsigned dst = fn == op_alu_acc_imm ? VMM_RAX : fn == op_alu_r_rm ? in->reg : in->rm;
      emit_carry_in(a, fs);
      b1(a, 0x0f), b1(a, 0x92), b1(a, 0xc2);                   /* setc dl */
      op_r(a, 0, 0x0fb6, RDX, RDX);                            /* movzx edx, dl */
      if (fn == op_grp1 || fn == op_alu_acc_imm)
         load_imm_rcx(a, size == 8 ? in->imm : (uint32_t)in->imm);
      else
         op_c(a, w, 0x8b, RCX, GPR(fn == op_alu_r_rm ? in->rm : in->reg));
      op_c(a, w, 0x8b, RAX, GPR(dst));
      op_r(a, w, adc ? 0x11 : 0x19, RCX, RAX);                 /* adc/sbb rax, rcx */
      op_c(a, 1, 0x89, RAX, GPR(dst));
      emit_cc(a, adc ? CC_ADC : CC_SBB, size, RCX, true);
      fs->live = true;            /* the host's ADC/SBB flags are exact */
      fs->kind = KIND_UNKNOWN;
      return true;
   }
   if (fn == op_shift && !mem && (in->op == 0xc1 || in->op == 0xd1) && (in->reg & 7) <= 1) {
      unsigned cnt = (unsigned)(in->op == 0xd1 ? 1 : in->imm) & (size == 8 ? 63 : 31);
      unsigned bits = size * 8;
      bool rol = (in->reg & 7) == 0;
      if (!cnt)
         return false;
      emit_old_flags(a, fs);
      op_c(a, w, 0x8b, RAX, GPR(in->rm));
      op_r(a, w, 0xc1, rol ? 0 : 1, RAX), b1(a, cnt);
      op_c(a, 1, 0x89, RAX, GPR(in->rm));
      /* ROL: CF = LSB, OF = MSB ^ CF; ROR: CF = MSB, OF = MSB ^ MSB-1 */
      op_r(a, 1, 0x89, RAX, RCX);
      if (rol)
         op_r(a, 0, 0x83, 4, RCX), b1(a, 1);
      else
         op_r(a, 1, 0xc1, 5, RCX), b1(a, bits - 1);
      op_r(a, 1, 0x89, RAX, RSI);
      op_r(a, 1, 0xc1, 5, RSI), b1(a, rol ? bits - 1 : bits - 2);
      if (rol) {
         op_r(a, 0, 0x31, RCX, RSI);                           /* xor esi, ecx */
      } else {
         op_r(a, 1, 0x89, RSI, RDI);
         op_r(a, 0, 0xd1, 5, RDI);                             /* shr edi, 1 */
         op_r(a, 0, 0x31, RDI, RSI);                           /* xor esi, edi */
      }
      op_r(a, 0, 0x83, 4, RSI), b1(a, 1);
      op_r(a, 0, 0xc1, 4, RSI), b1(a, 11);
      op_r(a, 0, 0x81, 4, RDX), b4(a, FL_ARITH & ~(FL_CF | FL_OF));
      op_r(a, 0, 0x09, RCX, RDX);
      op_r(a, 0, 0x09, RSI, RDX);
      eager_flags_rdx(a, fs);
      return true;
   }
   return false;
}

/* SSE2 integer ops "op xmm, xmm/m128" (66 0F xx): the same opcode on the
 * host, no MXCSR involvement, no exceptions but the memory operand's. */
static bool sse_int_binary(unsigned op)
{
   unsigned b = op & 0xff;
   if ((op & 0xf00) != 0x100)
      return false;
   return (b >= 0x60 && b <= 0x6d) || (b >= 0x74 && b <= 0x76) || (b >= 0xd1 && b <= 0xd5) ||
          (b >= 0xd8 && b <= 0xdf) || (b >= 0xe0 && b <= 0xe5) || (b >= 0xe8 && b <= 0xef) ||
          (b >= 0xf1 && b <= 0xf6) || (b >= 0xf8 && b <= 0xfe);
}

static int32_t xmm_off(jit_asm *a, unsigned i)
{
   return (int32_t)(soft_xmm(a->cpu, i) - (uint8_t *)a->cpu);
}

/* movdqu xmmN, [base+disp] / movdqu [base+disp], xmmN */
static void movdqu_ld(jit_asm *a, int x, int base, int32_t disp)
{
   b1(a, 0xf3);
   op_m(a, 0, 0x0f6f, x, base, NOREG, 0, disp);
}

static void movdqu_st(jit_asm *a, int x, int base, int32_t disp)
{
   b1(a, 0xf3);
   op_m(a, 0, 0x0f7f, x, base, NOREG, 0, disp);
}

/* SSE may run, else the handler (which raises #UD or #NM) */
static void emit_sse_check(jit_asm *a, flagstate *fs, jit_slow *s)
{
   if (fs->sse_ok)
      return;
   op_c(a, 0, 0xf6, 0, OFF(cr0)), b1(a, CR0_EM | CR0_TS);      /* test byte [cr0], EM|TS */
   slow_fix(a, s, jcc_fwd(a, CC_NE));
   op_c(a, 0, 0xf6, 0, OFF(cr4) + 1), b1(a, CR4_OSFXSR >> 8);  /* test byte, OSFXSR */
   slow_fix(a, s, jcc_fwd(a, CC_E));
   fs->live = false;
   fs->sse_ok = true;
}

/* rdx = host address of the 16-byte memory operand (aligned if asked) */
static void emit_sse_mem(jit_asm *a, unsigned i, jit_slow *s, bool write, bool aligned)
{
   emit_lin(a, i);
   if (aligned) {
      b1(a, 0xa8), b1(a, 15);                                  /* test al, 15 */
      slow_fix(a, s, jcc_fwd(a, CC_NE));
   }
   emit_tlb(a, s, 16, write);
}

/* xmm0 = the guest's reg operand, xmm1 = its r/m operand (register or
 * memory: 16 bytes, aligned if asked), after the SSE check. */
static void emit_sse_operands(jit_asm *a, unsigned i, flagstate *fs, jit_slow *s, bool aligned)
{
   const soft_insn *in = &a->insn[i];
   emit_sse_check(a, fs, s);
   if (in->mod != 3) {
      emit_sse_mem(a, i, s, false, aligned);
      movdqu_ld(a, 1, RDX, 0);
   } else {
      movdqu_ld(a, 1, RBX, xmm_off(a, in->rm));
   }
   movdqu_ld(a, 0, RBX, xmm_off(a, in->reg));
}

/* The SSE2 integer forms strlen/memchr-style code lives on, and MOVD/MOVQ,
 * MOVDQA/MOVDQU, PSHUFD, PMOVMSKB, PCMPISTRI. 64-bit mode for memory. */
static bool emit_sse_form(jit_asm *a, unsigned i, flagstate *fs)
{
   const soft_insn *in = &a->insn[i];
   bool lm = a->cpu->mode == MODE_LONG64;
   bool mem = in->mod != 3;
   unsigned op = in->op;

   if (in->fn != op_sse || in->lock || (mem && !lm))
      return false;
   bool p66 = in->opsz_pfx && !in->rep, pf3 = in->rep == 0xf3 && !in->opsz_pfx;
   bool rexw = (in->rex & 8) != 0;
   jit_slow *s;

   if (p66 && (sse_int_binary(op) || op == 0x170)) {
      s = add_slow(a, i, false);
      emit_sse_operands(a, i, fs, s, true);
      b1(a, 0x66);
      op_r(a, 0, op == 0x170 ? 0x0f70 : (0x0f00 | (op & 0xff)), 0, 1);   /* op xmm0, xmm1 */
      if (op == 0x170)
         b1(a, (unsigned)in->imm & 0xff);
      movdqu_st(a, 0, RBX, xmm_off(a, in->reg));
      begin_slow_resume(a, s);
      fs->live = false;
      return true;
   }
   if ((p66 || pf3) && (op == 0x16f || op == 0x17f)) {
      /* MOVDQA (aligned) / MOVDQU */
      s = add_slow(a, i, false);
      emit_sse_check(a, fs, s);
      bool load = op == 0x16f;
      if (mem)
         emit_sse_mem(a, i, s, !load, p66);
      if (load) {
         if (mem)
            movdqu_ld(a, 0, RDX, 0);
         else
            movdqu_ld(a, 0, RBX, xmm_off(a, in->rm));
         movdqu_st(a, 0, RBX, xmm_off(a, in->reg));
      } else {
         movdqu_ld(a, 0, RBX, xmm_off(a, in->reg));
         if (mem)
            movdqu_st(a, 0, RDX, 0);
         else
            movdqu_st(a, 0, RBX, xmm_off(a, in->rm));
      }
      begin_slow_resume(a, s);
      fs->live = false;
      return true;
   }
   if (p66 && op == 0x1d7 && !mem) {
      /* PMOVMSKB r32, xmm */
      s = add_slow(a, i, false);
      emit_sse_check(a, fs, s);
      movdqu_ld(a, 1, RBX, xmm_off(a, in->rm));
      b1(a, 0x66), b1(a, 0x0f), b1(a, 0xd7), b1(a, 0xc1);      /* pmovmskb eax, xmm1 */
      op_c(a, 1, 0x89, RAX, GPR(in->reg));
      begin_slow_resume(a, s);
      fs->live = false;
      return true;
   }
   if (p66 && (op == 0x16e || op == 0x17e)) {
      /* MOVD/MOVQ xmm, r/m32/64 and r/m32/64, xmm */
      unsigned sz = rexw ? 8 : 4;
      s = add_slow(a, i, false);
      emit_sse_check(a, fs, s);
      if (op == 0x16e) {
         if (mem) {
            emit_lin(a, i);
            emit_tlb(a, s, sz, false);
            op_m(a, rexw, 0x8b, RAX, RDX, NOREG, 0, 0);
         } else {
            op_c(a, rexw, 0x8b, RAX, GPR(in->rm));
         }
         op_c(a, 1, 0x89, RAX, xmm_off(a, in->reg));           /* low 64 (zero-extended) */
         op_c(a, 1, 0xc7, 0, xmm_off(a, in->reg) + 8), b4(a, 0);
      } else {
         op_c(a, rexw, 0x8b, RAX, xmm_off(a, in->reg));
         if (mem) {
            op_r(a, 1, 0x89, RAX, RSI);                        /* keep the value */
            emit_lin(a, i);
            emit_tlb(a, s, sz, true);
            op_m(a, rexw, 0x89, RSI, RDX, NOREG, 0, 0);
         } else {
            op_c(a, 1, 0x89, RAX, GPR(in->rm));
         }
      }
      begin_slow_resume(a, s);
      fs->live = false;
      return true;
   }
   if (p66 && op == 0x363) {
      /* PCMPISTRI xmm, xmm/m128, imm8: ECX and the flags from the host's */
      s = add_slow(a, i, false);
      emit_sse_operands(a, i, fs, s, false);
      b1(a, 0x66), b1(a, 0x0f), b1(a, 0x3a), b1(a, 0x63), b1(a, 0xc1);
      b1(a, (unsigned)in->imm & 0xff);
      op_c(a, 1, 0x89, RCX, GPR(VMM_RCX));
      b1(a, 0x9c);                                             /* pushfq */
      b1(a, 0x5a);                                             /* pop rdx */
      op_r(a, 0, 0x81, 4, RDX), b4(a, FL_ARITH);
      eager_flags_rdx(a, fs);
      begin_slow_resume(a, s);
      return true;
   }
   return false;
}

/* Forms the interpreter runs through a generic handler that the
 * translator still does inline: ALU, TEST and MOV with a memory
 * destination (64-bit mode, 32/64-bit, no LOCK), MOVSXD, MOVZX/MOVSX
 * from a register, SETcc to a register, MOV r/m, imm to a register. The
 * slow path is the same handler. False: not one of them (call it). */
static bool emit_generic_form(jit_asm *a, unsigned i, flagstate *fs)
{
   const soft_insn *in = &a->insn[i];
   soft_fn fn = in->fn;
   unsigned size = in->osize, w = size == 8;
   bool lm = a->cpu->mode == MODE_LONG64;
   bool mem = in->mod != 3;

   if (in->lock)
      return false;
   if ((fn == op_alu_rm_r || fn == op_grp1) && mem && lm && (size == 4 || size == 8)) {
      unsigned op = fn == op_grp1 ? (in->reg & 7) : ((in->op >> 3) & 7);
      if (op == 2 || op == 3)
         return false;            /* ADC/SBB */
      jit_slow *s = add_slow(a, i, true);
      emit_lin(a, i);
      emit_tlb(a, s, size, op != 7);
      if (fn == op_grp1)
         load_imm_rcx(a, size == 8 ? in->imm : (uint32_t)in->imm);
      else
         op_c(a, w, 0x8b, RCX, GPR(in->reg));
      op_m(a, w, 0x8b, RAX, RDX, NOREG, 0, 0);
      op_r(a, w, alu_host[op], RCX, RAX);
      if (op != 7)
         op_m(a, w, 0x89, RAX, RDX, NOREG, 0, 0);
      emit_cc(a, alu_kind(op), size, RCX, false);
      begin_slow_resume(a, s);
      flags_from(fs, alu_kind(op), size);
      return true;
   }
   if (fn == op_test_rm_r && mem && lm && (size == 4 || size == 8)) {
      jit_slow *s = add_slow(a, i, true);
      emit_lin(a, i);
      emit_tlb(a, s, size, false);
      op_m(a, w, 0x8b, RAX, RDX, NOREG, 0, 0);
      op_c(a, w, 0x23, RAX, GPR(in->reg));
      emit_cc(a, CC_LOGIC, size, NOREG, false);
      begin_slow_resume(a, s);
      flags_from(fs, CC_LOGIC, size);
      return true;
   }
   if (fn == op_mov_rm_imm && (in->reg & 7) == 0 && (size == 4 || size == 8 || (size == 1 && mem))) {
      if (!mem) {
         store_const(a, GPR(in->rm), size == 8 ? in->imm : (uint32_t)in->imm);
         return true;             /* flags untouched */
      }
      if (!lm)
         return false;
      jit_slow *s = add_slow(a, i, false);
      emit_lin(a, i);
      emit_tlb(a, s, size, true);
      if (size == 1) {
         op_m(a, 0, 0xc6, 0, RDX, NOREG, 0, 0), b1(a, in->imm & 0xff);
      } else {
         load_imm_rcx(a, size == 8 ? in->imm : (uint32_t)in->imm);
         op_m(a, w, 0x89, RCX, RDX, NOREG, 0, 0);
      }
      begin_slow_resume(a, s);
      fs->live = false;
      return true;
   }
   if (fn == op_movsxd && size == 8) {
      if (!mem) {
         op_c(a, 1, 0x63, RAX, GPR(in->rm));                   /* movsxd rax, dword [rm] */
         op_c(a, 1, 0x89, RAX, GPR(in->reg));
         return true;
      }
      if (!lm)
         return false;
      jit_slow *s = add_slow(a, i, false);
      emit_lin(a, i);
      emit_tlb(a, s, 4, false);
      op_m(a, 1, 0x63, RCX, RDX, NOREG, 0, 0);
      op_c(a, 1, 0x89, RCX, GPR(in->reg));
      begin_slow_resume(a, s);
      fs->live = false;
      return true;
   }
   if ((fn == op_movzx || fn == op_movsx) && !mem && (size == 4 || size == 8)) {
      bool byte = !(in->op & 1);
      int32_t off = byte ? byte_reg_off(in, in->rm) : GPR(in->rm);
      unsigned opc = (fn == op_movzx ? 0x0fb6 : 0x0fbe) | (byte ? 0 : 1);
      op_c(a, fn == op_movsx && size == 8, opc, RAX, off);
      op_c(a, 1, 0x89, RAX, GPR(in->reg));
      return true;                /* flags untouched */
   }
   if (emit_generic_form2(a, i, fs) || emit_sse_form(a, i, fs))
      return true;
   if (fn == op_setcc && !mem) {
      unsigned cc = in->op & 0xf;
      if (make_live(a, fs)) {
         b1(a, 0x0f), b1(a, 0x90 | cc), b1(a, 0xc0);           /* setcc al */
      } else {
         op_r(a, 1, 0x89, RBX, RDI);
         mov_imm(a, RSI, cc);
         call_abs(a, (const void *)jit_cond);
      }
      op_c(a, 0, 0x88, RAX, byte_reg_off(in, in->rm));        /* mov byte [..], al */
      return true;
   }
   return false;
}

static void emit_insn(jit_asm *a, unsigned i, flagstate *fs)
{
   const soft_insn *in = &a->insn[i];
   bool last = i + 1 == a->n;
   uint64_t next = a->rips[i + 1];
   soft_form f;
   bool lm = a->cpu->mode == MODE_LONG64;

   if (!soft_fast_form(in, &f)) {
      if (emit_generic_form(a, i, fs))
         goto fallthrough;
      goto generic;
   }
   unsigned w = f.size == 8;
   switch (f.kind) {
   case SF_MOV_RR:
      op_c(a, w, 0x8b, RAX, GPR(in->reg));
      op_c(a, 1, 0x89, RAX, GPR(in->rm));
      goto done_keep;
   case SF_MOV_RI:
      store_const(a, GPR(in->reg), f.size == 8 ? in->imm : (uint32_t)in->imm);
      goto done_keep;
   case SF_LEA:
      emit_ea(a, i);
      if (f.size == 4)
         op_r(a, 0, 0x89, RAX, RAX);
      op_c(a, 1, 0x89, RAX, GPR(in->reg));
      goto done_keep;
   case SF_ALU_RR:
      op_c(a, w, 0x8b, RCX, GPR(in->reg));
      op_c(a, w, 0x8b, RAX, GPR(in->rm));
      emit_alu(a, f.alu, f.size, in->rm);
      fs->kind = (uint8_t)alu_kind(f.alu);
      goto done_flags;
   case SF_ALU_RI:
      load_imm_rcx(a, f.size == 8 ? in->imm : (uint32_t)in->imm);
      op_c(a, w, 0x8b, RAX, GPR(in->rm));
      emit_alu(a, f.alu, f.size, in->rm);
      fs->kind = (uint8_t)alu_kind(f.alu);
      goto done_flags;
   case SF_TEST_RR:
      op_c(a, w, 0x8b, RAX, GPR(in->rm));
      op_c(a, w, 0x23, RAX, GPR(in->reg));                    /* and rax, [reg] */
      emit_cc(a, CC_LOGIC, f.size, NOREG, false);
      fs->kind = CC_LOGIC;
      goto done_flags;
   case SF_TEST_RI:
      load_imm_rcx(a, f.size == 8 ? in->imm : (uint32_t)in->imm);
      op_c(a, w, 0x8b, RAX, GPR(in->rm));
      op_r(a, w, 0x21, RCX, RAX);
      emit_cc(a, CC_LOGIC, f.size, NOREG, false);
      fs->kind = CC_LOGIC;
      goto done_flags;
   case SF_INC:
   case SF_DEC:
      /* CF is kept: rdx = the guest's CF, then the host's CF = it */
      if (make_live(a, fs)) {
         b1(a, 0x0f), b1(a, 0x92), b1(a, 0xc2);                /* setc dl */
         op_r(a, 0, 0x0fb6, RDX, RDX);                         /* movzx edx, dl */
      } else {
         op_r(a, 1, 0x89, RBX, RDI);
         mov_imm(a, RSI, 2);
         call_abs(a, (const void *)jit_cond);
         op_r(a, 0, 0x89, RAX, RDX);                           /* mov edx, eax */
         op_r(a, 0, 0x0fba, 4, RDX);                           /* bt edx, 0 */
         b1(a, 0);
      }
      op_c(a, w, 0x8b, RAX, GPR(in->rm));
      op_r(a, w, 0xff, f.kind == SF_INC ? 0 : 1, RAX);         /* inc/dec rax */
      op_c(a, 1, 0x89, RAX, GPR(in->rm));
      emit_cc(a, f.kind == SF_INC ? CC_INC : CC_DEC, f.size, NOREG, true);
      fs->kind = KIND_UNKNOWN;    /* not redone from the lazy flags */
      goto done_flags;
   case SF_CMOV_RR: {
      unsigned cc = in->op & 0xf;
      if (!make_live(a, fs)) {
         op_r(a, 1, 0x89, RBX, RDI);
         mov_imm(a, RSI, cc);
         call_abs(a, (const void *)jit_cond);
         op_r(a, 0, 0x85, RAX, RAX);                           /* test eax, eax */
         cc = CC_NE;
      }
      op_c(a, w, 0x8b, RAX, GPR(in->reg));
      op_c(a, w, 0x0f40 | cc, RAX, GPR(in->rm));               /* cmovcc rax, [rm] */
      op_c(a, 1, 0x89, RAX, GPR(in->reg));
      goto done_keep;             /* CMOV and MOV leave the host flags */
   }
   case SF_SHL_RI:
   case SF_SHR_RI:
   case SF_SAR_RI: {
      /* the host's shift for the result, CF, SF, ZF, PF; AF = 1 and OF
       * as shift_flags (fast.c) defines them, for every count */
      unsigned bits = f.size * 8;
      unsigned ext = f.kind == SF_SHL_RI ? 4 : f.kind == SF_SHR_RI ? 5 : 7;
      op_c(a, w, 0x8b, RAX, GPR(in->rm));
      op_r(a, w, 0xc1, ext, RAX), b1(a, (unsigned)in->imm);
      op_c(a, 1, 0x89, RAX, GPR(in->rm));
      b1(a, 0x9c);                                             /* pushfq */
      b1(a, 0x59);                                             /* pop rcx */
      op_r(a, 0, 0x81, 4, RCX), b4(a, FL_CF | FL_PF | FL_ZF | FL_SF);
      op_r(a, 0, 0x81, 1, RCX), b4(a, FL_AF);                  /* or ecx, AF */
      if (f.kind != SF_SAR_RI) {
         /* SHL: OF = MSB(r) ^ CF; SHR: OF = bit bits-2 of r (the old MSB
          * for a count of 1, MSB(r) ^ that bit, MSB(r) being 0, else) */
         op_r(a, 1, 0x89, RAX, RDX);
         op_r(a, 1, 0xc1, 5, RDX), b1(a, f.kind == SF_SHL_RI ? bits - 1 : bits - 2);
         if (f.kind == SF_SHL_RI)
            op_r(a, 0, 0x31, RCX, RDX);                        /* xor edx, ecx */
         op_r(a, 0, 0x83, 4, RDX), b1(a, 1);                   /* and edx, 1 */
         op_r(a, 0, 0xc1, 4, RDX), b1(a, 11);                  /* shl edx, 11 */
         op_r(a, 0, 0x09, RDX, RCX);                           /* or ecx, edx */
      }
      op_c(a, 0, 0xc7, 0, OFF(cc_op)), b4(a, CC_EFLAGS);
      op_c(a, 1, 0x89, RCX, OFF(cc_src));
      fs->kind = CC_EFLAGS;
      goto done_clobber;
   }
   case SF_JCC: {
      unsigned cc = in->op & 0xf;
      uint64_t target = next + in->imm;
      if (!canonical(target))
         goto generic;
      if (!make_live(a, fs)) {
         op_r(a, 1, 0x89, RBX, RDI);
         mov_imm(a, RSI, cc);
         call_abs(a, (const void *)jit_cond);
         op_r(a, 0, 0x85, RAX, RAX);
         cc = CC_NE;
      }
      add_exit(a, jcc_fwd(a, cc), EX_CONST, i + 1, target);
      if (last)
         add_exit(a, jmp_fwd(a), EX_CONST, i + 1, next);
      return;                     /* flags unchanged (or as they were) */
   }
   case SF_JMP: {
      uint64_t target = next + in->imm;
      if (!canonical(target))
         goto generic;
      add_exit(a, jmp_fwd(a), EX_CONST, i + 1, target);
      return;
   }
   default:
      break;
   }
   if (!lm)
      goto generic;

   /* memory forms (64-bit mode): inline TLB hit, else the handler */
   switch (f.kind) {
   case SF_LOAD: {
      jit_slow *s = add_slow(a, i, false);
      emit_lin(a, i);
      emit_tlb(a, s, f.size, false);
      if (f.size == 8)
         op_m(a, 1, 0x8b, RCX, RDX, NOREG, 0, 0);
      else if (f.size == 4)
         op_m(a, 0, 0x8b, RCX, RDX, NOREG, 0, 0);
      else
         op_m(a, 0, f.size == 1 ? 0x0fb6 : 0x0fb7, RCX, RDX, NOREG, 0, 0);
      op_c(a, 1, 0x89, RCX, GPR(in->reg));
      begin_slow_resume(a, s);
      goto done_clobber;
   }
   case SF_STORE: {
      jit_slow *s = add_slow(a, i, false);
      emit_lin(a, i);
      emit_tlb(a, s, f.size, true);
      op_c(a, w, 0x8b, RCX, GPR(in->reg));
      op_m(a, w, 0x89, RCX, RDX, NOREG, 0, 0);
      begin_slow_resume(a, s);
      goto done_clobber;
   }
   case SF_ALU_RM: {
      jit_slow *s = add_slow(a, i, true);
      emit_lin(a, i);
      emit_tlb(a, s, f.size, false);
      op_m(a, w, 0x8b, RCX, RDX, NOREG, 0, 0);
      op_c(a, w, 0x8b, RAX, GPR(in->reg));
      emit_alu(a, f.alu, f.size, in->reg);
      fs->kind = (uint8_t)alu_kind(f.alu);
      begin_slow_resume(a, s);
      goto done_flags;
   }
   case SF_CMP_MI: {
      jit_slow *s = add_slow(a, i, true);
      emit_lin(a, i);
      emit_tlb(a, s, f.size, false);
      if (f.size == 1) {
         op_m(a, 0, 0x0fb6, RAX, RDX, NOREG, 0, 0);             /* movzx eax, byte [rdx] */
         mov_imm(a, RCX, in->imm & 0xff);
         op_r(a, 0, 0x28, RCX, RAX);                           /* sub al, cl */
      } else {
         op_m(a, w, 0x8b, RAX, RDX, NOREG, 0, 0);
         load_imm_rcx(a, f.size == 8 ? in->imm : (uint32_t)in->imm);
         op_r(a, w, 0x29, RCX, RAX);
      }
      emit_cc(a, CC_SUB, f.size, RCX, false);
      fs->kind = CC_SUB;
      begin_slow_resume(a, s);
      goto done_flags;
   }
   case SF_PUSH: {
      jit_slow *s = add_slow(a, i, false);
      op_c(a, 1, 0x8b, RAX, GPR(VMM_RSP));
      op_m(a, 1, 0x8d, RAX, RAX, NOREG, 0, -8);
      emit_tlb(a, s, 8, true);
      op_c(a, 1, 0x8b, RCX, GPR(in->reg));
      op_m(a, 1, 0x89, RCX, RDX, NOREG, 0, 0);
      op_c(a, 1, 0x89, RAX, GPR(VMM_RSP));
      begin_slow_resume(a, s);
      goto done_clobber;
   }
   case SF_POP: {
      jit_slow *s = add_slow(a, i, false);
      op_c(a, 1, 0x8b, RAX, GPR(VMM_RSP));
      emit_tlb(a, s, 8, false);
      op_m(a, 1, 0x8b, RCX, RDX, NOREG, 0, 0);
      op_m(a, 1, 0x8d, RAX, RAX, NOREG, 0, 8);
      op_c(a, 1, 0x89, RAX, GPR(VMM_RSP));
      op_c(a, 1, 0x89, RCX, GPR(in->reg));
      begin_slow_resume(a, s);
      goto done_clobber;
   }
   case SF_CALL: {
      uint64_t target = next + in->imm;
      if (!canonical(target))
         goto generic;
      jit_slow *s = add_slow(a, i, false);
      op_c(a, 1, 0x8b, RAX, GPR(VMM_RSP));
      op_m(a, 1, 0x8d, RAX, RAX, NOREG, 0, -8);
      emit_tlb(a, s, 8, true);
      mov_imm(a, RCX, next);
      op_m(a, 1, 0x89, RCX, RDX, NOREG, 0, 0);
      op_c(a, 1, 0x89, RAX, GPR(VMM_RSP));
      add_exit(a, jmp_fwd(a), EX_CONST, i + 1, target);
      return;
   }
   case SF_RET: {
      jit_slow *s = add_slow(a, i, false);
      op_c(a, 1, 0x8b, RAX, GPR(VMM_RSP));
      emit_tlb(a, s, 8, false);
      op_m(a, 1, 0x8b, RCX, RDX, NOREG, 0, 0);
      /* a non-canonical return address: the handler raises #GP */
      op_r(a, 1, 0x89, RCX, RDX);
      op_r(a, 1, 0xc1, 4, RDX), b1(a, 16);                     /* shl rdx, 16 */
      op_r(a, 1, 0xc1, 7, RDX), b1(a, 16);                     /* sar rdx, 16 */
      op_r(a, 1, 0x39, RCX, RDX);
      slow_fix(a, s, jcc_fwd(a, CC_NE));
      op_m(a, 1, 0x8d, RAX, RAX, NOREG, 0, 8);
      op_c(a, 1, 0x89, RAX, GPR(VMM_RSP));
      add_exit(a, jmp_fwd(a), EX_RCX, i + 1, 0);
      return;
   }
   default:
      break;
   }

generic:
   emit_call(a, i);
   emit_after_call(a, i, last);
   fs->live = false;
   fs->kind = KIND_UNKNOWN;
   return;

done_keep:
   goto fallthrough;
done_clobber:
   fs->live = false;
   goto fallthrough;
done_flags:
   fs->live = true;
   fs->size = f.size;
fallthrough:
   if (last)
      add_exit(a, jmp_fwd(a), EX_CONST, i + 1, next);
}

/* ---- the block ------------------------------------------------------------------- */

static void leave_if(jit_asm *a, unsigned cc)
{
   uint8_t *fix = jcc_fwd(a, cc);
   if (a->nleave == sizeof(a->leave) / sizeof(a->leave[0]) || !fix)
      a->full = true;
   else
      a->leave[a->nleave++] = fix;
}

/*
 * entry:  from C: save registers, rbx = cpu, r12 = this CPL's TLB.
 * chain:  from a linked exit of another block (rbx, r12, the stack as
 *         entry left them; icount and rip stored): what the run loop
 *         checks between blocks, else leave through the epilogue (which
 *         returns 1: the loop then finds what stopped us).
 * body:   r13 = icount, what run_one does first.
 */
static void emit_prologue(jit_asm *a)
{
   b1(a, 0x53);                                                /* push rbx */
   b1(a, 0x41), b1(a, 0x54);                                   /* push r12 */
   b1(a, 0x41), b1(a, 0x55);                                   /* push r13 */
   op_r(a, 1, 0x89, RDI, RBX);                                 /* mov rbx, rdi */
   op_c(a, 0, 0x0fb6, RAX, OFF(mmu_idx));                      /* movzx eax, byte */
   op_r(a, 0, 0x69, RAX, RAX);
   b4(a, SOFT_TLB_SIZE * sizeof(soft_tlbe));
   op_m(a, 1, 0x8d, R12, RBX, RAX, 0, OFF(tlb));               /* lea r12, [rbx+rax+tlb] */
   uint8_t *to_body = jmp_fwd(a);

   a->chain = a->p;
   /* soft_events_pending */
   op_c(a, 0, 0x8b, RAX, OFF(req));
   op_c(a, 0, 0x0b, RAX, OFF(nmi_pending));                    /* or eax, [..] */
   leave_if(a, CC_NE);
   op_c(a, 0, 0x80, 7, OFF(mp_state)), b1(a, 0);               /* cmp byte [..], 0 */
   leave_if(a, CC_NE);
   op_c(a, 0, 0x83, 7, OFF(inj_vector)), b1(a, 0);             /* cmp dword [..], 0 */
   leave_if(a, 0xd);                                           /* jge */
   op_c(a, 0, 0xf6, 0, OFF(irq_line)), b1(a, 1);               /* test byte [..], 1 */
   uint8_t *no_irq = jcc_fwd(a, CC_E);
   op_c(a, 0, 0xf6, 0, OFF(rflags) + 1), b1(a, FL_IF >> 8);    /* test byte, IF */
   leave_if(a, CC_NE);
   patch(no_irq, a->p);
   /* the limit */
   op_c(a, 1, 0x8b, RAX, OFF(icount));
   op_m(a, 1, 0x8d, RAX, RAX, NOREG, 0, (int32_t)a->n);
   op_c(a, 1, 0x3b, RAX, OFF(jit_limit));
   leave_if(a, CC_A);
   /* the code epoch (another vCPU made a page a code page) */
   op_c(a, 1, 0x8b, RAX, OFF(mem));
   op_m(a, 0, 0x8b, RAX, RAX, NOREG, 0, (int32_t)offsetof(soft_mem, code_epoch));
   op_c(a, 0, 0x3b, RAX, OFF(code_epoch));
   leave_if(a, CC_NE);
   /* this block's page not written since it was decoded */
   mov_imm(a, RAX, (uint64_t)(uintptr_t)a->pgen);
   op_m(a, 0, 0x81, 7, RAX, NOREG, 0, 0), b4(a, a->gen);       /* cmp dword [rax], gen */
   leave_if(a, CC_NE);

   patch(to_body, a->p);
   op_c(a, 1, 0x8b, R13, OFF(icount));
   op_c(a, 0, 0xc6, 0, OFF(stop_block)), b1(a, 0);             /* mov byte [..], 0 */
   op_c(a, 0, 0xc6, 0, OFF(intr_shadow)), b1(a, 0);
   op_c(a, 0, 0xc6, 0, OFF(snap_valid)), b1(a, 0);             /* as after run_one */
   op_c(a, 1, 0x83, 0, OFF(block_stats) + 8), b1(a, 1);        /* add qword [..], 1 */
   op_c(a, 1, 0x83, 0, OFF(jit_stats) + 8), b1(a, 1);
}

static void emit_epilogue(jit_asm *a)
{
   a->epilogue = a->p;
   for (unsigned k = 0; k < a->nleave; k++)
      patch(a->leave[k], a->p);
   op_c(a, 0, 0xc6, 0, OFF(snap_valid)), b1(a, 0);
   mov_imm(a, RAX, (uint64_t)(uintptr_t)a->owner);
   op_c(a, 1, 0x89, RAX, OFF(jit_block));
   op_c(a, 0, 0x0fb6, RAX, OFF(stop_block));
   op_r(a, 0, 0x83, 6, RAX), b1(a, 1);                         /* xor eax, 1 */
   b1(a, 0x41), b1(a, 0x5d);                                   /* pop r13 */
   b1(a, 0x41), b1(a, 0x5c);                                   /* pop r12 */
   b1(a, 0x5b);                                                /* pop rbx */
   b1(a, 0xc3);
}

static void emit_slow_paths(jit_asm *a)
{
   for (unsigned k = 0; k < a->nslow; k++) {
      jit_slow *s = &a->slow[k];
      for (unsigned f = 0; f < s->nfix; f++)
         patch(s->fix[f], a->p);
      bool ends = !s->resume;
      emit_call(a, s->i);
      emit_after_call(a, s->i, ends || s->i + 1 == a->n);
      if (ends || s->i + 1 == a->n) {
         /* emit_after_call left the block; a last instruction's resume
          * point only adds the fall-through exit, which the dynamic exit
          * covers too */
         continue;
      }
      if (s->flags) {
         op_r(a, 1, 0x89, RBX, RDI);
         call_abs(a, (const void *)jit_flags);
         b1(a, 0x50);                                          /* push rax */
         b1(a, 0x9d);                                          /* popfq */
      }
      jmp_to(a, s->resume);
   }
}

static void dyn_tail_jump(jit_asm *a)
{
   uint8_t *fix = jmp_fwd(a);
   if (!fix || a->ndyn == MAX_EXITS)
      a->full = true;
   else
      a->dyn_fix[a->ndyn++] = fix;
}

static void emit_exits(jit_asm *a)
{
   for (unsigned k = 0; k < a->nex; k++) {
      jit_exit *e = &a->ex[k];
      patch(e->fix, a->p);
      set_icount(a, e->done);
      switch (e->kind) {
      case EX_CONST:
         store_const(a, OFF(rip), e->rip);
         if (a->cpu->mode == MODE_LONG64) {
            /* linkable: while the CPL and the TLB generation are what
             * they were when linked, straight to the next block */
            uint8_t *link = a->p;
            op_c(a, 0, 0x80, 7, OFF(mmu_idx));
            a->j->link_cpl = (unsigned)(a->p - link);
            b1(a, 0xff);                                       /* never a CPL: unlinked */
            uint8_t *u1 = jcc_fwd(a, CC_NE);
            op_c(a, 0, 0x81, 7, OFF(tlb_gen));
            a->j->link_gen = (unsigned)(a->p - link);
            b4(a, 0);
            uint8_t *u2 = jcc_fwd(a, CC_NE);
            b1(a, 0xe9);
            a->j->link_rel = (unsigned)(a->p - link);
            b4(a, 0);                                          /* jmp +0: unlinked */
            patch(u1, a->p);
            patch(u2, a->p);
            mov_imm(a, RAX, (uint64_t)(uintptr_t)link);
            op_c(a, 1, 0x89, RAX, OFF(jit_fix));
         }
         break;
      case EX_DYN:
         op_c(a, 1, 0x8b, RCX, OFF(next_rip));
         op_c(a, 1, 0x89, RCX, OFF(rip));
         if (a->cpu->mode == MODE_LONG64) {
            /* on through the jump cache unless a stop or TF wants the loop */
            op_c(a, 0, 0x80, 7, OFF(stop_block)), b1(a, 0);
            patch(jcc_fwd(a, CC_NE), a->epilogue);
            op_c(a, 0, 0xf6, 0, OFF(rflags) + 1), b1(a, FL_TF >> 8);
            patch(jcc_fwd(a, CC_NE), a->epilogue);
            dyn_tail_jump(a);
            continue;
         }
         break;
      case EX_RCX:
         op_c(a, 1, 0x89, RCX, OFF(rip));
         if (a->cpu->mode == MODE_LONG64) {
            dyn_tail_jump(a);
            continue;
         }
         break;
      }
      jmp_to(a, a->epilogue);
   }
   if (a->ndyn) {
      /* the jump cache: rcx = the RIP (stored, with icount) */
      uint8_t *tail = a->p;
      for (unsigned k = 0; k < a->ndyn; k++)
         patch(a->dyn_fix[k], tail);
      op_c(a, 1, 0x8b, RDX, OFF(jit_jc));
      op_r(a, 1, 0x89, RCX, RAX);                              /* mov rax, rcx */
      op_r(a, 1, 0xc1, 5, RAX), b1(a, 12);                     /* shr rax, 12 */
      op_r(a, 1, 0x31, RCX, RAX);                              /* xor rax, rcx */
      op_r(a, 0, 0x81, 4, RAX), b4(a, JC_SIZE - 1);            /* and eax, mask */
      op_r(a, 0, 0xc1, 4, RAX), b1(a, 5);                      /* shl eax, 5 */
      op_r(a, 1, 0x01, RAX, RDX);                              /* add rdx, rax */
      op_m(a, 1, 0x3b, RCX, RDX, NOREG, 0, (int32_t)offsetof(jit_jc, rip));
      patch(jcc_fwd(a, CC_NE), a->epilogue);
      op_c(a, 0, 0x8b, RAX, OFF(tlb_gen));
      op_m(a, 0, 0x3b, RAX, RDX, NOREG, 0, (int32_t)offsetof(jit_jc, tlb_gen));
      patch(jcc_fwd(a, CC_NE), a->epilogue);
      op_c(a, 0, 0x0fb6, RCX, OFF(mode_key));
      op_m(a, 0, 0x3a, RCX, RDX, NOREG, 0, (int32_t)offsetof(jit_jc, mkey));
      patch(jcc_fwd(a, CC_NE), a->epilogue);
      op_c(a, 0, 0x0fb6, RAX, OFF(mmu_idx));
      op_m(a, 0, 0x3a, RAX, RDX, NOREG, 0, (int32_t)offsetof(jit_jc, mmu_idx));
      patch(jcc_fwd(a, CC_NE), a->epilogue);
      /* the CPL may have changed (SYSRET, IRET): this CPL's TLB */
      op_r(a, 0, 0x69, RAX, RAX), b4(a, SOFT_TLB_SIZE * sizeof(soft_tlbe));
      op_m(a, 1, 0x8d, R12, RBX, RAX, 0, OFF(tlb));
      op_m(a, 0, 0xff, 4, RDX, NOREG, 0, (int32_t)offsetof(jit_jc, chain));   /* jmp [rdx+chain] */
   }
}

bool soft_jit_compile(soft_cpu *cpu, const soft_insn *insn, unsigned n, uint64_t rip,
                      void *owner, const uint32_t *pgen, uint32_t gen, soft_jit_code *out)
{
   struct soft_jit *j = jit_get(cpu);
   if (!j || n == 0)
      return false;
   if (j->used + BLOCK_CODE_MAX > ARENA_SIZE) {
      cpu->jit_stats[2]++;
      return false;               /* full until the next block-cache flush */
   }
   static __thread jit_asm a;     /* large: off the stack */
   uint64_t rips[64];
   uint64_t mask = cpu->mode == MODE_LONG64 ? ~0ull : cpu->code_size == 2 ? 0xffff : 0xffffffffu;
   if (n + 1 > sizeof(rips) / sizeof(rips[0]))
      return false;
   rips[0] = rip;
   for (unsigned i = 0; i < n; i++)
      rips[i + 1] = (rips[i] + insn[i].len) & mask;

   memset(&a, 0, sizeof(a));
   a.start = a.p = j->rw + j->used;
   a.end = a.start + BLOCK_CODE_MAX;
   a.rx = j->rx + j->used;
   a.cpu = cpu;
   a.insn = insn;
   a.n = n;
   a.rips = rips;
   a.owner = owner;
   a.pgen = pgen;
   a.gen = gen;
   a.j = j;

   emit_prologue(&a);
   flagstate fs = { false, KIND_UNKNOWN, 0, false };
   for (unsigned i = 0; i < n && !a.full; i++)
      emit_insn(&a, i, &fs);
   emit_epilogue(&a);
   emit_slow_paths(&a);
   emit_exits(&a);
   if (a.full) {
      cpu->jit_stats[2]++;
      return false;
   }
   size_t len = (size_t)(a.p - a.start);
   j->used += (len + 15) & ~(size_t)15;
   cpu->jit_stats[0]++;
   out->entry = (soft_jit_fn)(void *)a.rx;
   out->chain = a.rx + (a.chain - a.start);
   return true;
}
