/* vmm/soft/tests/shim.c - see shim.h */
#include <string.h>
#include <sys/mman.h>

#include "shim.h"

int shim_failures;

static void pio_read(void *o, soft_cpu *cpu, uint16_t port, unsigned size, uint32_t *val)
{
   shim *s = o;
   *val = s->in_val;
}

static void pio_write(void *o, soft_cpu *cpu, uint16_t port, unsigned size, uint32_t val)
{
   shim *s = o;
   if (s->nout < 64) {
      s->out_port[s->nout] = port;
      s->out_val[s->nout] = val;
      s->nout++;
   }
}

static void mmio_read(void *o, soft_cpu *cpu, uint64_t gpa, unsigned size, uint64_t *val)
{
   shim *s = o;
   *val = 0x1122334455667788ull;
   if (s->nmmio < 64) {
      s->mmio_addr[s->nmmio] = gpa;
      s->mmio_val[s->nmmio] = size;
      s->mmio_write[s->nmmio] = false;
      s->nmmio++;
   }
}

static void mmio_write(void *o, soft_cpu *cpu, uint64_t gpa, unsigned size, uint64_t val)
{
   shim *s = o;
   if (s->nmmio < 64) {
      s->mmio_addr[s->nmmio] = gpa;
      s->mmio_val[s->nmmio] = val;
      s->mmio_write[s->nmmio] = true;
      s->nmmio++;
   }
}

shim *shim_new(uint64_t ram_size)
{
   shim *s = calloc(1, sizeof(*s));
   if (!s)
      abort();
   s->ram_size = ram_size;
   s->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   if (s->ram == MAP_FAILED)
      abort();
   s->mem = soft_mem_new();
   if (!s->mem || soft_mem_map(s->mem, 0, s->ram, ram_size, false) != 0)
      abort();
   s->io = (soft_io){ s, pio_read, pio_write, mmio_read, mmio_write, NULL };
   s->cpu = soft_cpu_new(s->mem, &s->io, 0);
   if (!s->cpu)
      abort();
   s->next_pt = 0x1000;
   return s;
}

void shim_free(shim *s)
{
   soft_cpu_free(s->cpu);
   soft_mem_free(s->mem);
   munmap(s->ram, s->ram_size);
   free(s);
}

void shim_pt_reset(shim *s, uint64_t pt_base)
{
   s->next_pt = pt_base;
}

void shim_wr(shim *s, uint64_t gpa, const void *p, size_t n)
{
   if (gpa + n > s->ram_size)
      abort();
   memcpy(s->ram + gpa, p, n);
   soft_mem_notify_write(s->mem, gpa, n);   /* like device DMA: code may change */
}

void shim_clear(shim *s, uint64_t gpa, size_t n)
{
   if (gpa + n > s->ram_size)
      abort();
   memset(s->ram + gpa, 0, n);
   soft_mem_notify_write(s->mem, gpa, n);
}

uint64_t shim_rd64(shim *s, uint64_t gpa)
{
   uint64_t v;
   memcpy(&v, s->ram + gpa, 8);
   return v;
}

uint32_t shim_rd32(shim *s, uint64_t gpa)
{
   uint32_t v;
   memcpy(&v, s->ram + gpa, 4);
   return v;
}

void shim_wr64(shim *s, uint64_t gpa, uint64_t v)
{
   shim_wr(s, gpa, &v, 8);
}

void shim_wr32(shim *s, uint64_t gpa, uint32_t v)
{
   shim_wr(s, gpa, &v, 4);
}

static uint64_t alloc_pt(shim *s)
{
   uint64_t p = s->next_pt;
   s->next_pt += 0x1000;
   memset(s->ram + p, 0, 0x1000);
   return p;
}

uint64_t shim_map4(shim *s, uint64_t cr3, uint64_t lin, uint64_t gpa, uint64_t flags)
{
   uint64_t table = cr3 & ~0xfffull;
   for (int level = 4; level > 1; level--) {
      unsigned idx = (lin >> (12 + 9 * (level - 1))) & 511;
      uint64_t e = shim_rd64(s, table + idx * 8);
      if (!(e & PTE_P)) {
         e = alloc_pt(s) | PTE_P | PTE_W | PTE_U;
         shim_wr64(s, table + idx * 8, e);
      }
      table = e & 0xffffffffff000ull;
   }
   uint64_t pte = table + ((lin >> 12) & 511) * 8;
   shim_wr64(s, pte, (gpa & ~0xfffull) | flags);
   return pte;
}

static vmm_seg flat(uint16_t sel, unsigned type, unsigned dpl, bool l, bool db)
{
   vmm_seg g = { 0, 0xffffffff, sel, (uint8_t)type, 1, (uint8_t)dpl, 1, 0, l, db, 1, 0 };
   return g;
}

void shim_long_mode(shim *s, uint64_t cr3, unsigned cpl)
{
   vmm_sregs sr;
   soft_get_sregs(s->cpu, &sr);
   uint16_t rpl = (uint16_t)cpl;
   sr.seg[VMM_CS] = flat(cpl ? 0x33 : 0x08, 0xb, cpl, true, false);
   sr.seg[VMM_SS] = flat(cpl ? 0x2b : 0x10, 3, cpl, false, true);
   for (unsigned i = 0; i < VMM_NSEG; i++)
      if (i != VMM_CS && i != VMM_SS)
         sr.seg[i] = flat((uint16_t)(cpl ? 0x2b : 0x10), 3, cpl, false, true);
   (void)rpl;
   sr.cr0 = 0x80050033;   /* PG WP NE ET MP PE (+AM) */
   sr.cr0 &= ~(1ull << 18);
   sr.cr3 = cr3;
   sr.cr4 = 0x20 | 0x80;  /* PAE PGE */
   sr.efer = 0xd01;       /* SCE LME LMA NXE */
   if (soft_set_sregs(s->cpu, &sr) != 0)
      abort();
}

void shim_prot32(shim *s, uint64_t cr3, uint64_t cr4, unsigned cpl)
{
   vmm_sregs sr;
   soft_get_sregs(s->cpu, &sr);
   sr.seg[VMM_CS] = flat(cpl ? 0x1b : 0x08, 0xb, cpl, false, true);
   for (unsigned i = 0; i < VMM_NSEG; i++)
      if (i != VMM_CS)
         sr.seg[i] = flat((uint16_t)(cpl ? 0x23 : 0x10), 3, cpl, false, true);
   sr.cr0 = 0x11 | (cr3 ? 0x80010000ull : 0);
   sr.cr3 = cr3;
   sr.cr4 = cr4;
   sr.efer = cr3 ? 0x800 : 0;
   if (soft_set_sregs(s->cpu, &sr) != 0)
      abort();
}

void shim_real_mode(shim *s, uint16_t cs, uint16_t ip)
{
   soft_cpu_reset(s->cpu);
   vmm_sregs sr;
   soft_get_sregs(s->cpu, &sr);
   sr.seg[VMM_CS].selector = cs;
   sr.seg[VMM_CS].base = (uint64_t)cs << 4;
   sr.idt.base = 0;
   sr.idt.limit = 0x3ff;
   soft_set_sregs(s->cpu, &sr);
   vmm_regs r;
   soft_get_regs(s->cpu, &r);
   r.rip = ip;
   soft_set_regs(s->cpu, &r);
}
