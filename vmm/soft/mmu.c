/*
 * vmm/soft/mmu.c - software TLB, page-table walker, physical memory.
 *
 * Linear addresses are translated through a direct-mapped TLB per
 * privilege (mmu_idx 0: supervisor, 1: CPL 3). Each entry holds separate
 * tags for read, write and execute: a tag is filled only when that access
 * is allowed without further side effects (write: page writable under
 * WP/U rules and its dirty bit already set; SMAP/SMEP-restricted pages are
 * never cached for the supervisor). Anything else - misses, page
 * crossings, MMIO, read-only slots - takes the slow path here, which walks
 * the 32-bit, PAE or 4-level tables, sets A/D bits atomically, raises #PF
 * with the architectural error code and CR2, or calls the MMIO callbacks.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "soft_int.h"

/* ---- guest physical memory ---------------------------------------------- */
/*
 * The slot table is immutable once published in soft_mem.cur; a change
 * builds a new table, publishes it, and waits until every vCPU has passed
 * an instruction boundary (or is quiescent: outside the run loop, asleep,
 * or inside an io callback) and dropped its TLB, before freeing the old
 * one. vCPUs read cur only between boundaries, never across a callback.
 */

soft_mem *soft_mem_new(void)
{
   soft_mem *m = calloc(1, sizeof(soft_mem));
   if (!m)
      return NULL;
   m->cur = calloc(1, sizeof(soft_memmap));
   if (!m->cur) {
      free(m);
      return NULL;
   }
   pthread_mutex_init(&m->lock, NULL);
   return m;
}

void soft_mem_free(soft_mem *m)
{
   if (!m)
      return;
   pthread_mutex_destroy(&m->lock);
   for (unsigned i = 0; i < m->cur->nslots; i++)
      free(m->cur->slot[i].pgen);
   free(m->cur);
   free(m);
}

static inline soft_memmap *memmap(soft_mem *m)
{
   return __atomic_load_n(&m->cur, __ATOMIC_ACQUIRE);
}

int soft_mem_add_cpu(soft_mem *m, soft_cpu *cpu)
{
   int r = -ENOSPC;
   pthread_mutex_lock(&m->lock);
   for (unsigned i = 0; i < SOFT_MAX_CPUS; i++) {
      if (!m->cpus[i]) {
         m->cpus[i] = cpu;
         cpu->mem_gen = __atomic_load_n(&m->gen, __ATOMIC_SEQ_CST);
         r = 0;
         break;
      }
   }
   pthread_mutex_unlock(&m->lock);
   return r;
}

void soft_mem_remove_cpu(soft_mem *m, soft_cpu *cpu)
{
   pthread_mutex_lock(&m->lock);
   for (unsigned i = 0; i < SOFT_MAX_CPUS; i++)
      if (m->cpus[i] == cpu)
         m->cpus[i] = NULL;
   pthread_mutex_unlock(&m->lock);
}

/* The vCPU's side of a map change: drop everything that points into the
 * old table, then say so. */
void soft_mem_catch_up(soft_cpu *cpu)
{
   uint32_t g = __atomic_load_n(&cpu->mem->gen, __ATOMIC_SEQ_CST);
   soft_tlb_flush(cpu, true);
   soft_mem_changed(cpu);
   __atomic_store_n(&cpu->mem_gen, g, __ATOMIC_SEQ_CST);
}

/* Publish n (lock held), wait for every vCPU, free the old table. */
static void publish(soft_mem *m, soft_memmap *n)
{
   soft_memmap *old = m->cur;
   __atomic_store_n(&m->cur, n, __ATOMIC_RELEASE);
   uint32_t g = __atomic_add_fetch(&m->gen, 1, __ATOMIC_SEQ_CST);
   for (unsigned i = 0; i < SOFT_MAX_CPUS; i++) {
      soft_cpu *c = m->cpus[i];
      if (!c)
         continue;
      __atomic_or_fetch(&c->req, SOFT_REQ_FLUSH, __ATOMIC_SEQ_CST);
      for (unsigned spin = 0;
           !__atomic_load_n(&c->qs, __ATOMIC_SEQ_CST) &&
           __atomic_load_n(&c->mem_gen, __ATOMIC_SEQ_CST) != g;
           spin++) {
         if (spin > 100)
            sched_yield();
         else
            __builtin_ia32_pause();
      }
   }
   free(old);
}

int soft_mem_map(soft_mem *m, uint64_t gpa, void *host, uint64_t size, bool readonly)
{
   if (((gpa | size | (uintptr_t)host) & 0xfff) || size == 0 || gpa + size < gpa)
      return -EINVAL;
   pthread_mutex_lock(&m->lock);
   soft_memmap *cur = m->cur;
   int r = 0;
   if (cur->nslots >= SOFT_MAX_SLOTS)
      r = -ENOSPC;
   for (unsigned i = 0; r == 0 && i < cur->nslots; i++) {
      const soft_slot *s = &cur->slot[i];
      if (gpa < s->gpa + s->size && s->gpa < gpa + size)
         r = -EEXIST;
   }
   soft_memmap *n = r == 0 ? malloc(sizeof(*n)) : NULL;
   uint32_t *pgen = r == 0 ? calloc(size >> 12, sizeof(uint32_t)) : NULL;
   if (r == 0 && (!n || !pgen)) {
      free(n);
      free(pgen);
      r = -ENOMEM;
   }
   if (r == 0) {
      *n = *cur;
      n->slot[n->nslots++] = (soft_slot){ gpa, size, host, readonly, pgen };
      publish(m, n);
   }
   pthread_mutex_unlock(&m->lock);
   return r;
}

int soft_mem_unmap(soft_mem *m, uint64_t gpa, uint64_t size)
{
   pthread_mutex_lock(&m->lock);
   soft_memmap *cur = m->cur;
   int r = -ENOENT;
   for (unsigned i = 0; i < cur->nslots; i++) {
      if (cur->slot[i].gpa == gpa && cur->slot[i].size == size) {
         soft_memmap *n = malloc(sizeof(*n));
         if (!n) {
            r = -ENOMEM;
            break;
         }
         uint32_t *pgen = cur->slot[i].pgen;
         *n = *cur;
         n->slot[i] = n->slot[--n->nslots];
         publish(m, n);          /* nobody uses the old slot any more */
         free(pgen);
         r = 0;
         break;
      }
   }
   pthread_mutex_unlock(&m->lock);
   return r;
}

static soft_slot *find_slot(soft_mem *m, uint64_t pa)
{
   soft_memmap *mm = memmap(m);
   for (unsigned i = 0; i < mm->nslots; i++) {
      soft_slot *s = &mm->slot[i];
      if (pa - s->gpa < s->size)
         return s;
   }
   return NULL;
}

void *soft_mem_gpa_to_hva(soft_mem *m, uint64_t gpa, uint64_t len)
{
   pthread_mutex_lock(&m->lock);
   soft_slot *s = find_slot(m, gpa);
   void *p = NULL;
   if (s && len <= s->size - (gpa - s->gpa))
      p = s->host + (gpa - s->gpa);
   pthread_mutex_unlock(&m->lock);
   return p;
}

uint8_t *soft_phys_host(soft_mem *m, uint64_t pa, bool write)
{
   soft_slot *s = find_slot(m, pa);
   if (!s || (write && s->readonly))
      return NULL;
   return s->host + (pa - s->gpa);
}

uint64_t soft_phys_read(soft_cpu *cpu, uint64_t pa, unsigned size)
{
   uint8_t *h = soft_phys_host(cpu->mem, pa, false);
   if (h && ((pa & 0xfff) + size <= 0x1000))
      return host_ld(h, size);
   if (h) {
      uint64_t v = 0;
      for (unsigned i = 0; i < size; i++)
         v |= soft_phys_read(cpu, pa + i, 1) << (8 * i);
      return v;
   }
   uint64_t v = ~0ull;
   if (cpu->io->mmio_read) {
      CALLOUT(cpu, cpu->io->mmio_read(cpu->io->opaque, cpu, pa, size, &v));
   }
   return v & sz_mask(size);
}

void soft_phys_write(soft_cpu *cpu, uint64_t pa, unsigned size, uint64_t val)
{
   uint8_t *h = soft_phys_host(cpu->mem, pa, true);
   if (h && ((pa & 0xfff) + size <= 0x1000)) {
      host_st(h, size, val);
      return;
   }
   if (h) {
      for (unsigned i = 0; i < size; i++)
         soft_phys_write(cpu, pa + i, 1, val >> (8 * i));
      return;
   }
   if (cpu->io->mmio_write) {
      CALLOUT(cpu, cpu->io->mmio_write(cpu->io->opaque, cpu, pa, size, val & sz_mask(size)));
   }
}

/* ---- TLB maintenance ---------------------------------------------------- */

static inline unsigned large_bit(uint64_t lin, uint64_t lmask)
{
   return (unsigned)((((lin & lmask) ^ ~lmask) * 0x9e3779b97f4a7c15ull) >> 56);
}

static inline void large_add(soft_cpu *cpu, uint64_t lin, uint64_t lmask)
{
   unsigned b = large_bit(lin, lmask);
   cpu->tlb_large[b >> 6] |= 1ull << (b & 63);
}

static inline bool large_may_hold(const soft_cpu *cpu, uint64_t lin, uint64_t lmask)
{
   unsigned b = large_bit(lin, lmask);
   return (cpu->tlb_large[b >> 6] >> (b & 63)) & 1;
}

static inline uint64_t entry_tag(const soft_tlbe *e)
{
   return e->tag_r != TLB_INVALID ? e->tag_r : e->tag_w != TLB_INVALID ? e->tag_w : e->tag_x;
}

/* Drops the entries 'drop' says, and collects the large pages of those
 * that stay. */
static void tlb_scan(soft_cpu *cpu, bool include_global, bool page_only, uint64_t lin)
{
   memset(cpu->tlb_large, 0, sizeof(cpu->tlb_large));
   for (unsigned m = 0; m < 2; m++) {
      for (unsigned i = 0; i < SOFT_TLB_SIZE; i++) {
         soft_tlbe *e = &cpu->tlb[m][i];
         uint64_t tag = entry_tag(e);
         bool drop = page_only ? tag != TLB_INVALID && ((tag ^ lin) & e->lmask) == 0
                               : include_global || !e->global;
         if (drop) {
            e->tag_r = e->tag_w = e->tag_x = TLB_INVALID;
            e->global = 0;
            e->large = 0;
         } else if (e->large && tag != TLB_INVALID) {
            large_add(cpu, tag, e->lmask);
         }
      }
   }
}

void soft_tlb_flush(soft_cpu *cpu, bool include_global)
{
   cpu->stop_block = 1;      /* the next instruction's page may map elsewhere */
   cpu->tlb_gen++;
   tlb_scan(cpu, include_global, false, 0);
}

void soft_tlb_flush_page(soft_cpu *cpu, uint64_t lin)
{
   lin &= ~0xfffull;
   cpu->stop_block = 1;
   cpu->tlb_gen++;
   if (large_may_hold(cpu, lin, ~0x1fffffull) || large_may_hold(cpu, lin, ~0x3fffffull) ||
       large_may_hold(cpu, lin, ~0x3fffffffull)) {
      /* A large page is cached as 4K pieces: drop every piece of it. */
      tlb_scan(cpu, false, true, lin);
      return;
   }
   for (unsigned m = 0; m < 2; m++) {
      soft_tlbe *e = &cpu->tlb[m][(lin >> 12) & (SOFT_TLB_SIZE - 1)];
      e->tag_r = e->tag_w = e->tag_x = TLB_INVALID;
   }
}

/* ---- page walk ---------------------------------------------------------- */

typedef struct walk_result {
   uint64_t pa;
   uint64_t lmask;      /* ~(page size - 1) */
   bool w, u, nx, dirty, global;
} walk_result;

static uint64_t pte_read(soft_cpu *cpu, uint64_t pa, bool wide)
{
   return soft_phys_read(cpu, pa, wide ? 8 : 4);
}

static void pte_set_bits(soft_cpu *cpu, uint64_t pa, bool wide, uint64_t bits)
{
   uint8_t *h = soft_phys_host(cpu->mem, pa, true);
   if (!h)
      return;   /* page tables in MMIO/ROM: no A/D updates */
   if (wide)
      __atomic_fetch_or((uint64_t *)(void *)h, bits, __ATOMIC_SEQ_CST);
   else
      __atomic_fetch_or((uint32_t *)(void *)h, (uint32_t)bits, __ATOMIC_SEQ_CST);
}

NORETURN static void page_fault(soft_cpu *cpu, uint64_t lin, uint32_t err)
{
   cpu->cr2 = lin;
   soft_raise(cpu, EXC_PF, err);
}

bool soft_load_pdptes(soft_cpu *cpu)
{
   uint64_t base = cpu->cr3 & 0xffffffe0u;
   uint64_t rsvd = 0x1e6 | (~0ull << cpu->maxphyaddr);
   uint64_t v[4];
   for (unsigned i = 0; i < 4; i++) {
      v[i] = soft_phys_read(cpu, base + i * 8, 8);
      if ((v[i] & 1) && (v[i] & rsvd))
         return false;
   }
   memcpy(cpu->pdpte, v, sizeof(v));
   return true;
}

/* Walk the tables for lin. 'user' is an explicit CPL 3 access. Sets A/D
 * bits only when the access is allowed. */
static void walk(soft_cpu *cpu, uint64_t lin, unsigned kind, bool user, bool implicit,
                 walk_result *r)
{
   bool nxe = (cpu->efer & EFER_NXE) != 0;
   bool wide = (cpu->cr4 & CR4_PAE) != 0;
   uint64_t addr_mask = ((1ull << cpu->maxphyaddr) - 1) & ~0xfffull;
   uint64_t rsvd_hi = (~0ull << cpu->maxphyaddr) & ((1ull << 52) - 1);
   uint64_t ent_pa[5];
   unsigned nlev = 0;
   uint32_t err = (kind == ACC_W ? PF_W : 0) | (user ? PF_U : 0);
   bool w = true, u = true, nx = false;
   uint64_t e, table;
   int level;

   if (kind == ACC_X && ((wide && nxe) || (cpu->cr4 & CR4_SMEP)))
      err |= PF_I;
   if (!wide)
      rsvd_hi = 0;
   if (!nxe)
      rsvd_hi |= 1ull << 63;

   if (cpu->efer & EFER_LMA) {
      if ((uint64_t)((int64_t)((uint64_t)(lin) << 16) >> 16) != lin)
         soft_raise(cpu, EXC_GP, 0);   /* callers check; belt and braces */
      table = cpu->cr3 & addr_mask;
      level = 4;
   } else if (wide) {
      e = cpu->pdpte[(lin >> 30) & 3];
      if (!(e & 1))
         page_fault(cpu, lin, err);
      table = e & addr_mask;
      level = 2;
   } else {
      table = cpu->cr3 & 0xfffff000u;
      level = 2;
   }

   for (;;) {
      unsigned shift = wide ? 12 + 9 * (level - 1) : 12 + 10 * (level - 1);
      unsigned idx = wide ? (lin >> shift) & 511 : (lin >> shift) & 1023;
      uint64_t epa = table + idx * (wide ? 8 : 4);
      e = pte_read(cpu, epa, wide);
      ent_pa[nlev++] = epa;
      if (!(e & 1))
         page_fault(cpu, lin, err);
      uint64_t rsvd = rsvd_hi;
      bool leaf = level == 1;
      if (level >= 2 && (e & 0x80)) {
         if (level == 4 || (level == 3 && !(cpu->efer & EFER_LMA)))
            page_fault(cpu, lin, err | PF_P | PF_RSVD);
         if (!wide && !(cpu->cr4 & CR4_PSE)) {
            /* PS ignored without PSE: treat as table */
         } else {
            leaf = true;
            if (wide)
               rsvd |= ((1ull << (shift - 13)) - 1) << 13;   /* bits 13..shift-1 */
            else
               rsvd |= 1ull << 21;
         }
      }
      if (level == 4 && wide)
         rsvd |= 0x80;
      if (e & rsvd)
         page_fault(cpu, lin, err | PF_P | PF_RSVD);
      w = w && (e & 2);
      u = u && (e & 4);
      if (wide && (e & (1ull << 63)))
         nx = true;
      if (leaf) {
         uint64_t psize = 1ull << shift;
         if (level == 1) {
            r->pa = (e & (wide ? addr_mask : 0xfffff000u)) | (lin & 0xfff);
         } else if (wide) {
            r->pa = (e & addr_mask & ~(psize - 1)) | (lin & (psize - 1));
         } else {
            uint64_t hi = ((e >> 13) & 0xff) << 32;
            r->pa = hi | (e & 0xffc00000u) | (lin & 0x3fffff);
            if (hi >> cpu->maxphyaddr)
               page_fault(cpu, lin, err | PF_P | PF_RSVD);
         }
         r->lmask = ~(psize - 1);
         r->dirty = (e & 0x40) != 0;
         r->global = (e & 0x100) && (cpu->cr4 & CR4_PGE);
         break;
      }
      table = e & (wide ? addr_mask : 0xfffff000u);
      level--;
   }

   /* permissions */
   bool smap_block = !user && u && (cpu->cr4 & CR4_SMAP) && kind != ACC_X &&
                     (implicit || !(cpu->rflags & FL_AC));
   if (user && !u)
      page_fault(cpu, lin, err | PF_P);
   if (kind == ACC_W && !w && (user || (cpu->cr0 & CR0_WP)))
      page_fault(cpu, lin, err | PF_P);
   if (kind == ACC_X && nx && nxe)
      page_fault(cpu, lin, err | PF_P);
   if (kind == ACC_X && !user && u && (cpu->cr4 & CR4_SMEP))
      page_fault(cpu, lin, err | PF_P);
   if (smap_block)
      page_fault(cpu, lin, err | PF_P);

   /* accessed / dirty */
   for (unsigned i = 0; i < nlev; i++)
      pte_set_bits(cpu, ent_pa[i], wide, 0x20);
   if (kind == ACC_W) {
      pte_set_bits(cpu, ent_pa[nlev - 1], wide, 0x40);
      r->dirty = true;
   }
   r->w = w;
   r->u = u;
   r->nx = nx && nxe;
}

uint8_t *soft_translate(soft_cpu *cpu, uint64_t lin, unsigned acc, uint64_t *pa_out)
{
   unsigned kind = acc & ACC_KIND;
   bool implicit = (acc & ACC_SUPER) != 0;
   unsigned mi = implicit ? 0 : cpu->mmu_idx;
   bool user = mi == 1;
   uint64_t page = lin & ~0xfffull;
   soft_tlbe *e = &cpu->tlb[mi][(lin >> 12) & (SOFT_TLB_SIZE - 1)];
   uint64_t tag = kind == ACC_R ? e->tag_r : kind == ACC_W ? e->tag_w : e->tag_x;

   if (tag == page) {
      uint8_t *h = (uint8_t *)(uintptr_t)(lin + e->addend);
      if (kind == ACC_W && e->pgen)
         soft_code_write(cpu, e->pgen);
      return h;
   }

   walk_result r;
   if (cpu->cr0 & CR0_PG) {
      walk(cpu, lin, kind, user, implicit, &r);
   } else {
      r.pa = lin;
      r.lmask = ~0xfffull;
      r.w = r.u = r.dirty = true;
      r.nx = r.global = false;
   }
   *pa_out = r.pa;

   soft_slot *s = find_slot(cpu->mem, r.pa);
   if (!s)
      return NULL;
   uint8_t *host = s->host + (r.pa - s->gpa);
   if (kind == ACC_W && s->readonly)
      return NULL;
   uint32_t *pgen = s->pgen + ((r.pa - s->gpa) >> 12);
   if (kind == ACC_W)
      soft_code_write(cpu, pgen);

   /* Fill the entry for this page with what is allowed for this mmu_idx. */
   bool smap = !user && r.u && (cpu->cr4 & CR4_SMAP);
   bool smep = !user && r.u && (cpu->cr4 & CR4_SMEP);
   /* no write tag while the page may hold decoded blocks: every write to
    * it takes this path and drops them first */
   bool can_w = r.dirty && !s->readonly && !smap &&
                (r.w || (!user && !(cpu->cr0 & CR0_WP))) &&
                !(__atomic_load_n(pgen, __ATOMIC_ACQUIRE) & PGEN_CODE);
   if (user && !r.u)
      can_w = false;
   e->addend = (uintptr_t)host - lin;
   e->tag_r = smap ? TLB_INVALID : page;
   e->tag_w = can_w ? page : TLB_INVALID;
   e->tag_x = (r.nx || smep) ? TLB_INVALID : page;
   e->global = r.global;
   e->lmask = r.lmask;
   e->pgen = pgen;
   if (r.lmask != ~0xfffull) {
      e->large = 1;
      large_add(cpu, page, r.lmask);
   } else {
      e->large = 0;
   }
   return host;
}

/* ---- slow paths --------------------------------------------------------- */

uint64_t soft_read_slow(soft_cpu *cpu, uint64_t lin, unsigned size, unsigned acc)
{
   uint64_t pa;
   if ((lin & 0xfff) + size > 0x1000) {
      /* Crossing: both pages must translate before anything is read. */
      uint64_t lin2 = lin_mask(cpu, (lin | 0xfff) + 1);
      unsigned n1 = 0x1000 - (lin & 0xfff);
      uint64_t pa2;
      uint8_t *h1 = soft_translate(cpu, lin, acc, &pa);
      uint8_t *h2 = soft_translate(cpu, lin2, acc, &pa2);
      uint8_t b[8];
      for (unsigned i = 0; i < size; i++) {
         if (i < n1)
            b[i] = h1 ? h1[i] : (uint8_t)soft_phys_read(cpu, pa + i, 1);
         else
            b[i] = h2 ? h2[i - n1] : (uint8_t)soft_phys_read(cpu, pa2 + i - n1, 1);
      }
      return host_ld(b, size);
   }
   uint8_t *h = soft_translate(cpu, lin, acc, &pa);
   if (h)
      return host_ld(h, size);
   return soft_phys_read(cpu, pa, size);
}

void soft_write_slow(soft_cpu *cpu, uint64_t lin, unsigned size, uint64_t val, unsigned acc)
{
   uint64_t pa;
   acc = (acc & ~ACC_KIND) | ACC_W;
   if ((lin & 0xfff) + size > 0x1000) {
      uint64_t lin2 = lin_mask(cpu, (lin | 0xfff) + 1);
      unsigned n1 = 0x1000 - (lin & 0xfff);
      uint64_t pa2;
      uint8_t *h1 = soft_translate(cpu, lin, acc, &pa);
      uint8_t *h2 = soft_translate(cpu, lin2, acc, &pa2);
      for (unsigned i = 0; i < size; i++) {
         uint8_t b = (uint8_t)(val >> (8 * i));
         if (i < n1) {
            if (h1)
               h1[i] = b;
            else
               soft_phys_write(cpu, pa + i, 1, b);
         } else {
            if (h2)
               h2[i - n1] = b;
            else
               soft_phys_write(cpu, pa2 + i - n1, 1, b);
         }
      }
      return;
   }
   uint8_t *h = soft_translate(cpu, lin, acc, &pa);
   if (h)
      host_st(h, size, val);
   else
      soft_phys_write(cpu, pa, size, val);
}

void soft_check_write(soft_cpu *cpu, uint64_t lin, unsigned size)
{
   uint64_t pa;
   soft_translate(cpu, lin, ACC_W, &pa);
   if ((lin & 0xfff) + size > 0x1000)
      soft_translate(cpu, lin_mask(cpu, (lin | 0xfff) + 1), ACC_W, &pa);
}

uint8_t *soft_rmw_ptr(soft_cpu *cpu, uint64_t lin, unsigned size)
{
   soft_tlbe *e = &cpu->tlb[cpu->mmu_idx][(lin >> 12) & (SOFT_TLB_SIZE - 1)];
   if ((lin & 0xfff) > 0x1000 - size)
      return NULL;
   if (likely(e->tag_w == (lin & ~0xfffull)))
      return (uint8_t *)(uintptr_t)(lin + e->addend);
   uint64_t pa;
   return soft_translate(cpu, lin, ACC_W, &pa);
}

/* ---- decoded-code invalidation ---------------------------------------------- */

void soft_mem_changed(soft_cpu *cpu)
{
   soft_block_flush(cpu);
}

void soft_tlb_drop_writes(soft_cpu *cpu)
{
   for (unsigned m = 0; m < 2; m++)
      for (unsigned i = 0; i < SOFT_TLB_SIZE; i++)
         cpu->tlb[m][i].tag_w = TLB_INVALID;
}

/* Someone other than a vCPU wrote guest RAM: drop the blocks decoded from
 * those pages (each vCPU notices at the block's next use). */
void soft_mem_notify_write(soft_mem *m, uint64_t gpa, uint64_t len)
{
   if (!len)
      return;
   pthread_mutex_lock(&m->lock);
   soft_memmap *mm = m->cur;
   uint64_t end = gpa + len;
   for (unsigned i = 0; i < mm->nslots; i++) {
      const soft_slot *s = &mm->slot[i];
      uint64_t lo = gpa > s->gpa ? gpa : s->gpa;
      uint64_t hi = end < s->gpa + s->size ? end : s->gpa + s->size;
      for (uint64_t pa = lo & ~0xfffull; pa < hi; pa += 0x1000) {
         uint32_t *w = &s->pgen[(pa - s->gpa) >> 12];
         uint32_t g = __atomic_load_n(w, __ATOMIC_RELAXED);
         while ((g & PGEN_CODE) &&
                !__atomic_compare_exchange_n(w, &g, (g + 2) & ~PGEN_CODE, false,
                                             __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
         }
      }
   }
   pthread_mutex_unlock(&m->lock);
}
