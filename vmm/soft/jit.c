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
 * It is dropped with the block cache (soft_block_flush). A Linux boot to
 * its shell translates about 36 000 blocks into some 55 MB of code; the
 * arena is 128 MB of address space per vCPU (pages are allocated as the
 * code is written), so a boot never flushes. With 32 MB it flushed twice
 * and translated 52 000 blocks.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "jit_int.h"

#define ARENA_SIZE (128u << 20)
#define BLOCK_CODE_MAX (24u << 10)   /* room one block may need at most */

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
   FILE *perfmap;             /* $VMWS_SOFT_PERFMAP: /tmp/perf-PID.map for perf */
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
   if (getenv("VMWS_SOFT_PERFMAP")) {
      char path[64];
      snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)getpid());
      j->perfmap = fopen(path, "a");
   }
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
   if (j->perfmap)
      fclose(j->perfmap);
   free(j);
   cpu->jit = NULL;
}

/* ---- helpers the code calls -------------------------------------------------------- */

int soft_jit_cond(soft_cpu *cpu, unsigned cc)
{
   return soft_cond_fast(cpu, cc);
}

/* The guest's arithmetic flags, for the host's (POPFQ) after a slow path. */
uint64_t soft_jit_flags(soft_cpu *cpu)
{
   return soft_arith_flags(cpu) & FL_ARITH;
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
         call_abs(a, (const void *)soft_jit_flags);
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
   /* Dynamic exits after the same number of instructions are the same
    * code (a handler's "next RIP moved" and "stop" checks, for one): one
    * copy each, and past their icount they all share the first one's. */
   uint8_t *dyn_at[MAX_BLOCK_INSNS + 1] = { NULL };
   uint8_t *dyn_common = NULL;
   for (unsigned k = 0; k < a->nex; k++) {
      jit_exit *e = &a->ex[k];
      if (e->kind == EX_DYN && e->done <= MAX_BLOCK_INSNS) {
         if (dyn_at[e->done]) {
            patch(e->fix, dyn_at[e->done]);
            continue;
         }
         dyn_at[e->done] = a->p;
      }
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
         if (dyn_common) {
            jmp_to(a, dyn_common);
            continue;
         }
         dyn_common = a->p;
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
   uint64_t rips[MAX_BLOCK_INSNS + 1];
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

   jit_flag_liveness(&a);
   emit_prologue(&a);
   flagstate fs = { false, KIND_UNKNOWN, 0, false };
   for (unsigned i = 0; i < n && !a.full; i++)
      jit_emit_insn(&a, i, &fs);
   emit_epilogue(&a);
   emit_slow_paths(&a);
   emit_exits(&a);
   if (a.full) {
      cpu->jit_stats[2]++;
      return false;
   }
   size_t len = (size_t)(a.p - a.start);
   cpu->jit_stats[3] += len;
   if (j->perfmap)
      fprintf(j->perfmap, "%lx %zx guest_%llx_vcpu%u\n", (unsigned long)(uintptr_t)a.rx, len,
              (unsigned long long)rip, cpu->index);
   j->used += (len + 15) & ~(size_t)15;
   cpu->jit_stats[0]++;
   out->entry = (soft_jit_fn)(void *)a.rx;
   out->chain = a.rx + (a.chain - a.start);
   return true;
}
