/*
 * vmm/soft/block.c - the decoded-block cache.
 *
 * A block is up to BLOCK_MAX decoded instructions that follow each other
 * in one 4 KiB page, run back to back without decoding. It leaves early
 * when an instruction changes control flow (next_rip is not the next
 * instruction: a taken branch, a REP restart, an exception) or asks to
 * (cpu->stop_block: a write to a code page, a TLB flush, a mode change),
 * and ends for good after instructions that change how what follows
 * decodes or runs (far transfers, CR/MSR writes, I/O, HLT, STI, POPF...).
 *
 * Blocks are per vCPU, found by the host address of their first byte
 * (unique per guest RAM byte; memory-map changes flush everything) and
 * the mode key, in a hash table whose buckets are lists: a block that
 * shares a bucket with a hotter one stays (and keeps its translation)
 * instead of being built again each time they take turns (a table of
 * single slots rebuilt and retranslated half the blocks of a Linux boot).
 * Validity is per RAM page: a generation word (soft_slot.pgen) with bit 0
 * "may hold blocks". A block records the word it was
 * built under and is used only while it is unchanged. Any write to such a
 * page bumps the generation: vCPU writes because the TLB never holds a
 * write tag for a code page (they all reach soft_translate), device DMA
 * through vmm_vm_notify_write. When a page gets its first block the shared
 * code epoch moves, and every vCPU drops its TLB write tags before its next
 * block, so stale write tags cannot bypass the check.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "soft_int.h"

#define BLOCK_MAX   32
#define BC_BITS     16
#define BC_SIZE     (1u << BC_BITS)
#define ARENA_SIZE  (64ull << 20)

/* A successor seen before: valid while the linear address still means
 * the same page (no TLB flush since), at the same privilege. */
typedef struct soft_chain {
   uint64_t lin;
   soft_block *b;
   uint32_t tlb_gen;
   uint8_t mmu_idx;
} soft_chain;

struct soft_block {
   soft_chain chain[2];
   soft_block *hnext;        /* the next block in its hash bucket */
   const uint8_t *host;      /* first byte */
   uint32_t *pgen;           /* the page's generation word */
   uint32_t gen;             /* ... as it was when the block was built */
   uint8_t mkey;             /* cpu->mode_key */
   uint8_t n;                /* instructions */
   uint16_t bytes;           /* bytes covered (CS limit check) */
   /* translated code (jit.c), for entry at code_rip */
   soft_jit_fn code;
   const uint8_t *chain_entry;   /* its entry from a linked block */
   uint64_t code_rip;
   uint16_t runs;            /* interpreted runs, toward translation */
   uint8_t translations;     /* times translated (another RIP each) */
   soft_insn insn[];
};

/* A block is translated when it has been interpreted this many times; one
 * that keeps being entered at other RIPs (a page mapped at several
 * addresses) is translated at most MAX_TRANSLATIONS times. */
#define JIT_HOT 2
#define MAX_TRANSLATIONS 4

typedef struct soft_bcache {
   soft_block *table[BC_SIZE];
   uint8_t *arena;
   size_t used;
} soft_bcache;

static soft_bcache *bcache(soft_cpu *cpu)
{
   if (unlikely(!cpu->bc)) {
      soft_bcache *bc = calloc(1, sizeof(*bc));
      if (!bc)
         return NULL;
      void *a = mmap(NULL, ARENA_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (a == MAP_FAILED) {
         free(bc);
         return NULL;
      }
      bc->arena = a;
      cpu->bc = bc;
   }
   return cpu->bc;
}

void soft_block_flush(soft_cpu *cpu)
{
   soft_bcache *bc = cpu->bc;
   if (!bc)
      return;
   memset(bc->table, 0, sizeof(bc->table));
   soft_jit_flush(cpu);
   /* The memory is reused, not given back: a handler of the block that is
    * running may still read its soft_insn. */
   bc->used = 0;
   cpu->stop_block = 1;
   cpu->tlb_gen++;           /* no chain survives */
   cpu->block_stats[2]++;
}

void soft_block_free(soft_cpu *cpu)
{
   if (!cpu->bc)
      return;
   soft_jit_free(cpu);
   munmap(cpu->bc->arena, ARENA_SIZE);
   free(cpu->bc);
   cpu->bc = NULL;
}

static inline unsigned slot_of(const uint8_t *host)
{
   uintptr_t h = (uintptr_t)host;
   return (unsigned)((h ^ (h >> BC_BITS) ^ (h >> 27)) & (BC_SIZE - 1));
}

/* Instructions after which a block ends: they change what the following
 * instructions mean (mode, paging, CS), make events deliverable (STI,
 * POPF, the I/O that may raise an interrupt or a stop request), or always
 * transfer control. */
bool soft_insn_ends_block(const soft_insn *in)
{
   soft_fn f = in->fn;
   if (f == op_grp45)         /* FF /2-/5: indirect call and jmp, near and far */
      return in->op == 0xff && (in->reg & 7) >= 2 && (in->reg & 7) <= 5;
   return f == op_jmp_rel || f == op_call_rel || f == op_ret_near ||
          f == op_jmp_far || f == op_call_far || f == op_retf || f == op_iret ||
          f == op_int || f == op_int3 || f == op_into || f == op_int1 || f == op_hlt ||
          f == op_syscall || f == op_sysret || f == op_sysenter || f == op_sysexit ||
          f == op_mov_cr || f == op_mov_dr || f == op_clts || f == op_wrmsr ||
          f == op_grp6 || f == op_grp7 || f == op_grp15 || f == op_invd ||
          f == op_mov_sreg_r || f == op_pop_sreg || f == op_lxs ||
          f == op_sti || f == op_popf || f == op_in || f == op_out || f == op_ins ||
          f == op_outs || f == op_ud || f == op_cpuid;
}

static soft_block *build(soft_cpu *cpu, soft_bcache *bc, const uint8_t *host, uint32_t *pgen,
                         unsigned avail)
{
   size_t need = sizeof(soft_block) + BLOCK_MAX * sizeof(soft_insn);
   if (bc->used + need > ARENA_SIZE)
      soft_block_flush(cpu);

   /* Mark the page first, then read its bytes: a write from now on drops
    * the block. The first block of a page moves the code epoch, so every
    * vCPU stops writing the page through a TLB write tag. */
   uint32_t g = __atomic_load_n(pgen, __ATOMIC_ACQUIRE);
   if (!(g & PGEN_CODE)) {
      while (!__atomic_compare_exchange_n(pgen, &g, g | PGEN_CODE, false, __ATOMIC_ACQ_REL,
                                          __ATOMIC_ACQUIRE)) {
      }
      g |= PGEN_CODE;
      __atomic_add_fetch(&cpu->mem->code_epoch, 1, __ATOMIC_SEQ_CST);
      soft_tlb_drop_writes(cpu);
      cpu->code_epoch = __atomic_load_n(&cpu->mem->code_epoch, __ATOMIC_SEQ_CST);
   }

   soft_block *b = (soft_block *)(void *)(bc->arena + bc->used);
   unsigned off = 0, n = 0;
   while (n < BLOCK_MAX && off < avail) {
      soft_insn *in = &b->insn[n];
      if (!soft_decode_probe(cpu, host + off, avail - off, in))
         break;
      off += in->len;
      n++;
      if (in->ends)
         break;
   }
   if (n == 0)
      return NULL;
   memset(b->chain, 0, sizeof(b->chain));
   unsigned slot = slot_of(host);
   b->hnext = bc->table[slot];
   bc->table[slot] = b;
   b->code = NULL;
   b->chain_entry = NULL;
   b->code_rip = 0;
   b->runs = 0;
   b->translations = 0;
   b->host = host;
   b->pgen = pgen;
   b->gen = g;
   b->mkey = cpu->mode_key;
   b->n = (uint8_t)n;
   b->bytes = (uint16_t)off;
   bc->used += (sizeof(soft_block) + n * sizeof(soft_insn) + 63) & ~(size_t)63;
   cpu->block_stats[0]++;
   return b;
}

/* Stale write tags after another vCPU made a page a code page. */
static inline void check_epoch(soft_cpu *cpu)
{
   uint32_t epoch = __atomic_load_n(&cpu->mem->code_epoch, __ATOMIC_ACQUIRE);
   if (unlikely(epoch != cpu->code_epoch)) {
      soft_tlb_drop_writes(cpu);
      cpu->code_epoch = epoch;
   }
}

soft_block *soft_block_find(soft_cpu *cpu)
{
   uint64_t rip = cpu->rip, lin;
   unsigned avail;

   if (cpu->rflags & FL_TF)
      return NULL;             /* single-stepping: one instruction at a time */
   /* The fetch below may fault: a fault restores RSP from insn_rsp, which
    * must be this instruction's, not the one the last block ran. */
   cpu->insn_rsp = cpu->gpr[VMM_RSP];
   if (cpu->mode == MODE_LONG64) {
      if ((uint64_t)((int64_t)((uint64_t)(rip) << 16) >> 16) != rip)
         return NULL;          /* the decoder raises #GP */
      lin = rip;
      avail = 0x1000 - (unsigned)(lin & 0xfff);
   } else {
      const vmm_seg *cs = &cpu->seg[VMM_CS];
      if (rip > cs->limit)
         return NULL;          /* the decoder raises #GP */
      lin = (uint32_t)(cs->base + rip);
      avail = 0x1000 - (unsigned)(lin & 0xfff);
      if ((uint64_t)cs->limit - rip + 1 < avail)
         avail = (unsigned)(cs->limit - rip + 1);
   }

   check_epoch(cpu);

   soft_tlbe *e = &cpu->tlb[cpu->mmu_idx][(lin >> 12) & (SOFT_TLB_SIZE - 1)];
   if (e->tag_x != (lin & ~0xfffull)) {
      uint64_t pa;
      if (!soft_translate(cpu, lin, ACC_X, &pa) || e->tag_x != (lin & ~0xfffull))
         return NULL;          /* MMIO or not cacheable: decode as we go */
   }
   uint32_t *pgen = e->pgen;
   if (!pgen)
      return NULL;
   const uint8_t *host = (const uint8_t *)(uintptr_t)(lin + e->addend);

   soft_bcache *bc = bcache(cpu);
   if (!bc)
      return NULL;
   uint32_t g = __atomic_load_n(pgen, __ATOMIC_ACQUIRE);
   for (soft_block **pp = &bc->table[slot_of(host)], *b; (b = *pp) != NULL;) {
      if (b->gen != g && b->pgen == pgen) {
         *pp = b->hnext;       /* its page changed: never found again */
         continue;
      }
      if (b->host == host && b->mkey == cpu->mode_key && b->gen == g && b->bytes <= avail) {
         if (pp != &bc->table[slot_of(host)]) {
            *pp = b->hnext;    /* to the front: the next look finds it first */
            b->hnext = bc->table[slot_of(host)];
            bc->table[slot_of(host)] = b;
         }
         return b;
      }
      pp = &b->hnext;
   }
   return build(cpu, bc, host, pgen, avail);
}

static inline uint64_t code_lin(soft_cpu *cpu)
{
   return cpu->mode == MODE_LONG64 ? cpu->rip : (uint32_t)(cpu->seg[VMM_CS].base + cpu->rip);
}

/* One block; true when it ran to its natural end or a taken branch (the
 * next block may be chained), false when something asked to stop. */
static bool run_one(soft_cpu *cpu, const soft_block *b, uint64_t limit)
{
   uint64_t rip = cpu->rip, icount = cpu->icount;
   uint64_t mask = cpu->mode == MODE_LONG64 ? ~0ull : cpu->code_size == 2 ? 0xffff : 0xffffffffu;
   unsigned n = b->n;

   if (limit - icount < n)
      n = (unsigned)(limit - icount);
   cpu->stop_block = 0;
   /* The shadow of an STI/MOV SS covered the boundary the run loop just
    * looked at; the instructions that set it (and those that snapshot
    * CS/SS) end blocks, so these need no per-instruction care. */
   cpu->intr_shadow = 0;
   cpu->block_stats[1]++;
   for (unsigned i = 0; i < n; i++) {
      const soft_insn *in = &b->insn[i];
      uint64_t next = (rip + in->len) & mask;
      cpu->insn_rsp = cpu->gpr[VMM_RSP];
      cpu->next_rip = next;
      in->fn(cpu, in);
      rip = cpu->next_rip;
      cpu->rip = rip;
      cpu->icount = ++icount;
      if (unlikely(rip != next || cpu->stop_block))
         break;
   }
   cpu->snap_valid = false;
   return !cpu->stop_block;
}

/* The block through its translation when there is one for this RIP and
 * the limit leaves room for all of it; else interpreted (and translated
 * once it is hot). fix: the unlinked exit of the translated block that
 * led here, linked to this one when it runs translated. Returns the block
 * that ran last (translated blocks run on into the ones they link to). */
static soft_block *run_block(soft_cpu *cpu, soft_block *b, uint64_t limit, uint8_t *fix,
                             bool *ok)
{
   if (likely(b->code != NULL) && b->code_rip == cpu->rip) {
      if (likely(limit - cpu->icount >= b->n)) {
         if (fix)
            soft_jit_link(cpu, fix, b->chain_entry);
         if (cpu->mode == MODE_LONG64)
            soft_jit_remember(cpu, cpu->rip, b->chain_entry);
         cpu->jit_limit = limit;
         cpu->jit_block = b;
         *ok = b->code(cpu) != 0;
         return cpu->jit_block;
      }
   } else if (cpu->opt.translate != SOFT_TRANSLATE_OFF && b->translations < MAX_TRANSLATIONS &&
              (++b->runs >= JIT_HOT || cpu->opt.translate == SOFT_TRANSLATE_ALL)) {
      b->runs = 0;
      soft_jit_code jc;
      if (soft_jit_compile(cpu, b->insn, b->n, cpu->rip, b, b->pgen, b->gen, &jc)) {
         b->code = jc.entry;
         b->chain_entry = jc.chain;
         b->code_rip = cpu->rip;
         b->translations++;
         return run_block(cpu, b, limit, fix, ok);
      }
      if (soft_jit_full(cpu))
         soft_block_flush(cpu);   /* b stays readable for run_one */
      else
         b->translations = MAX_TRANSLATIONS;   /* not again until rebuilt */
   }
   *ok = run_one(cpu, b, limit);
   return b;
}

void soft_block_run(soft_cpu *cpu, soft_block *b, uint64_t limit)
{
   uint8_t *fix = NULL;
   uint64_t flushes = 0;
   for (;;) {
      bool ok;
      /* a flush since the exit was taken dropped the code it is in */
      b = run_block(cpu, b, limit, flushes == cpu->block_stats[2] ? fix : NULL, &ok);
      fix = cpu->jit_fix;
      cpu->jit_fix = NULL;
      flushes = cpu->block_stats[2];
      if (!ok || cpu->icount >= limit || (cpu->rflags & FL_TF) || soft_events_pending(cpu))
         return;
      check_epoch(cpu);
      uint64_t lin = code_lin(cpu);
      soft_chain *c = &b->chain[0];
      if (c->lin != lin)
         c = &b->chain[1];
      soft_block *nb = c->b;
      if (likely(c->lin == lin && nb && c->tlb_gen == cpu->tlb_gen &&
                 c->mmu_idx == cpu->mmu_idx && nb->mkey == cpu->mode_key &&
                 nb->gen == __atomic_load_n(nb->pgen, __ATOMIC_ACQUIRE) &&
                 (cpu->mode == MODE_LONG64 ||
                  cpu->rip + nb->bytes - 1 <= cpu->seg[VMM_CS].limit))) {
         b = nb;
         continue;
      }
      uint32_t gen = cpu->tlb_gen;
      nb = soft_block_find(cpu);
      if (!nb)
         return;
      if (gen == cpu->tlb_gen) {
         /* slot 0 keeps the first successor seen (often the fall-through);
          * slot 1 takes the others */
         c = !b->chain[0].b || b->chain[0].lin == lin ? &b->chain[0] : &b->chain[1];
         *c = (soft_chain){ lin, nb, cpu->tlb_gen, cpu->mmu_idx };
      }
      b = nb;
   }
}
