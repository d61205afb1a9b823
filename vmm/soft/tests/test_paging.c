/*
 * vmm/soft/tests/test_paging.c - page walker and software TLB: A/D bits,
 * U/S, R/W with CR0.WP, NX, reserved bits, #PF error codes and CR2,
 * global pages across CR3 writes, INVLPG, 32-bit and PAE tables, 4M/2M
 * pages, MMIO dispatch.
 */
#include <string.h>

#include "shim.h"

#define CR3 0x1000ull
#define CODE_LIN 0x400000ull
#define CODE_PA 0x80000ull
#define DATA_LIN 0x605000ull   /* a TLB slot apart from the code page */
#define DATA_PA 0x90000ull

static shim *S;

/* Run 'code' at CODE_LIN until it has executed n instructions or faults. */
static soft_exit run(const uint8_t *code, size_t len, uint64_t n)
{
   shim_wr(S, CODE_PA, code, len);
   vmm_regs r;
   soft_get_regs(S->cpu, &r);
   r.rip = CODE_LIN;
   soft_set_regs(S->cpu, &r);
   soft_exit ex;
   soft_cpu_run(S->cpu, n, &ex);
   return ex;
}

static uint64_t reg(unsigned i)
{
   vmm_regs r;
   soft_get_regs(S->cpu, &r);
   return r.gpr[i];
}

static void set_reg(unsigned i, uint64_t v)
{
   vmm_regs r;
   soft_get_regs(S->cpu, &r);
   r.gpr[i] = v;
   soft_set_regs(S->cpu, &r);
}

static uint64_t cr2(void)
{
   vmm_sregs s;
   soft_get_sregs(S->cpu, &s);
   return s.cr2;
}

static void setup64(unsigned cpl, uint64_t data_flags)
{
   shim_clear(S, 0, 0x80000);
   shim_pt_reset(S, 0x2000);
   shim_map4(S, CR3, CODE_LIN, CODE_PA, PTE_P | PTE_U);
   shim_map4(S, CR3, DATA_LIN, DATA_PA, data_flags);
   shim_long_mode(S, CR3, cpl);
   soft_options o = { .intercept_exceptions = true };
   soft_cpu_set_options(S->cpu, &o);
}

static const uint8_t LOAD[] = { 0x48, 0x8b, 0x03 };    /* mov rax, [rbx] */
static const uint8_t STORE[] = { 0x48, 0x89, 0x03 };   /* mov [rbx], rax */

static void test_ad_bits(void)
{
   setup64(0, PTE_P | PTE_W);
   uint64_t pte = shim_map4(S, CR3, DATA_LIN, DATA_PA, PTE_P | PTE_W);
   shim_wr64(S, DATA_PA + 8, 0xfeedface);
   set_reg(3, DATA_LIN + 8);
   soft_exit ex = run(LOAD, sizeof(LOAD), 1);
   CHECK_EQ(ex.reason, SOFT_EXIT_LIMIT);
   CHECK_EQ(reg(0), 0xfeedface);
   CHECK_EQ(shim_rd64(S, pte) & (PTE_A | PTE_D), PTE_A);
   CHECK(shim_rd64(S, CR3) & PTE_A, "PML4E accessed");
   set_reg(0, 0x1234);
   ex = run(STORE, sizeof(STORE), 1);
   CHECK_EQ(ex.reason, SOFT_EXIT_LIMIT);
   CHECK_EQ(shim_rd64(S, pte) & (PTE_A | PTE_D), PTE_A | PTE_D);
   CHECK_EQ(shim_rd64(S, DATA_PA + 8), 0x1234);
   /* the guest clears D and flushes: the next write sets it again */
   shim_wr64(S, pte, shim_rd64(S, pte) & ~PTE_D);
   static const uint8_t invlpg_store[] = { 0x0f, 0x01, 0x3b, 0x48, 0x89, 0x03 };
   ex = run(invlpg_store, sizeof(invlpg_store), 2);
   CHECK_EQ(ex.reason, SOFT_EXIT_LIMIT);
   CHECK_EQ(shim_rd64(S, pte) & PTE_D, PTE_D);
}

static void expect_pf(soft_exit ex, uint32_t err, uint64_t addr)
{
   CHECK_EQ(ex.reason, SOFT_EXIT_EXCEPTION);
   CHECK_EQ(ex.vector, 14);
   CHECK_EQ(ex.error, err);
   CHECK_EQ(cr2(), addr);
}

static void test_pf_codes(void)
{
   /* not present, user read */
   setup64(3, 0);
   set_reg(3, DATA_LIN + 0x10);
   expect_pf(run(LOAD, sizeof(LOAD), 1), 4, DATA_LIN + 0x10);
   /* user write to read-only */
   setup64(3, PTE_P | PTE_U);
   set_reg(3, DATA_LIN + 0x20);
   expect_pf(run(STORE, sizeof(STORE), 1), 7, DATA_LIN + 0x20);
   /* user read of a supervisor page */
   setup64(3, PTE_P | PTE_W);
   set_reg(3, DATA_LIN);
   expect_pf(run(LOAD, sizeof(LOAD), 1), 5, DATA_LIN);
   /* supervisor write to read-only with WP=1 faults ... */
   setup64(0, PTE_P);
   set_reg(3, DATA_LIN);
   expect_pf(run(STORE, sizeof(STORE), 1), 3, DATA_LIN);
   /* ... and succeeds with WP=0 */
   vmm_sregs sr;
   soft_get_sregs(S->cpu, &sr);
   sr.cr0 &= ~(1ull << 16);
   soft_set_sregs(S->cpu, &sr);
   set_reg(0, 77);
   soft_exit ex = run(STORE, sizeof(STORE), 1);
   CHECK_EQ(ex.reason, SOFT_EXIT_LIMIT);
   CHECK_EQ(shim_rd64(S, DATA_PA), 77);
   /* reserved bit (bit 51 with MAXPHYADDR 40) */
   setup64(0, PTE_P | PTE_W | (1ull << 51));
   set_reg(3, DATA_LIN);
   expect_pf(run(LOAD, sizeof(LOAD), 1), 0x9, DATA_LIN);
   /* NX: jump into a no-execute page at CPL 3 */
   setup64(3, PTE_P | PTE_U | PTE_NX);
   static const uint8_t jmp_rbx[] = { 0xff, 0xe3 };
   set_reg(3, DATA_LIN + 0x40);
   expect_pf(run(jmp_rbx, sizeof(jmp_rbx), 2), 0x15, DATA_LIN + 0x40);
   /* a page-crossing load whose second page is absent reports that page */
   setup64(0, PTE_P | PTE_W);
   set_reg(3, DATA_LIN + 0xffc);
   expect_pf(run(LOAD, sizeof(LOAD), 1), 0, DATA_LIN + 0x1000);
   /* an instruction that straddles into an absent page faults on fetch */
   setup64(0, PTE_P | PTE_W);
   static const uint8_t nops[] = { 0x90 };
   shim_wr(S, CODE_PA + 0xffe, (const uint8_t[]){ 0x48, 0x8b }, 2);
   vmm_regs r;
   soft_get_regs(S->cpu, &r);
   r.rip = CODE_LIN + 0xffe;
   soft_set_regs(S->cpu, &r);
   (void)nops;
   soft_exit e2;
   soft_cpu_run(S->cpu, 1, &e2);
   CHECK_EQ(e2.vector, 14);
   CHECK_EQ(e2.error, 0x10);   /* instruction fetch, not present (NXE on) */
   CHECK_EQ(cr2(), CODE_LIN + 0x1000);
   /* a fetch fault at the target of a RET: the state is the one after the
    * RET (RSP popped), not the RET's own (a new block faulting on fetch
    * once restored the RSP of the instruction before it) */
   setup64(0, PTE_P | PTE_W);
   static const uint8_t push_ret[] = { 0x53, 0xc3 };   /* push rbx; ret */
   set_reg(3, 0x700000);                                /* not mapped */
   set_reg(4, DATA_LIN + 0x800);
   soft_exit e3 = run(push_ret, sizeof(push_ret), 10);
   CHECK_EQ(e3.reason, SOFT_EXIT_EXCEPTION);
   CHECK_EQ(e3.vector, 14);
   CHECK_EQ(e3.error, 0x10);
   CHECK_EQ(cr2(), 0x700000);
   CHECK_EQ(reg(4), DATA_LIN + 0x800);
}

static void test_global_and_invlpg(void)
{
   setup64(0, PTE_P | PTE_W | PTE_G);
   shim_wr64(S, DATA_PA, 0x1111);
   shim_wr64(S, DATA_PA + 0x1000, 0x2222);
   set_reg(3, DATA_LIN);
   run(LOAD, sizeof(LOAD), 1);
   CHECK_EQ(reg(0), 0x1111);
   /* retarget the PTE, reload CR3: the global entry survives */
   uint64_t pte = shim_map4(S, CR3, DATA_LIN, DATA_PA + 0x1000, PTE_P | PTE_W | PTE_G);
   static const uint8_t reload[] = { 0x0f, 0x20, 0xd9, 0x0f, 0x22, 0xd9, 0x48, 0x8b, 0x03 };
   run(reload, sizeof(reload), 3);
   CHECK_EQ(reg(0), 0x1111);
   /* INVLPG drops it */
   static const uint8_t inv[] = { 0x0f, 0x01, 0x3b, 0x48, 0x8b, 0x03 };
   run(inv, sizeof(inv), 2);
   CHECK_EQ(reg(0), 0x2222);
   /* a non-global entry does not survive a CR3 write */
   shim_wr64(S, pte, (DATA_PA) | PTE_P | PTE_W);
   run(inv, sizeof(inv), 2);
   CHECK_EQ(reg(0), 0x1111);
   shim_wr64(S, pte, (DATA_PA + 0x1000) | PTE_P | PTE_W);
   run(reload, sizeof(reload), 3);
   CHECK_EQ(reg(0), 0x2222);
}

static uint64_t pde_addr(uint64_t lin)
{
   uint64_t pml4e = shim_rd64(S, CR3 + ((lin >> 39) & 511) * 8) & 0xffffffffff000ull;
   uint64_t pdpte = shim_rd64(S, pml4e + ((lin >> 30) & 511) * 8) & 0xffffffffff000ull;
   return pdpte + ((lin >> 21) & 511) * 8;
}

static uint64_t load_at(uint64_t lin)
{
   set_reg(3, lin);
   run(LOAD, sizeof(LOAD), 1);
   return reg(0);
}

/* INVLPG inside a 2M page drops every 4K piece of it the TLB holds, with
 * one large page cached and with more than the TLB keeps track of. */
static void test_invlpg_large(void)
{
   const uint64_t L = 0x40000000ull;
   for (unsigned many = 0; many < 2; many++) {
      setup64(0, PTE_P | PTE_W);
      unsigned n = many ? 12 : 1;
      for (unsigned k = 0; k < n; k++) {
         shim_map4(S, CR3, L + k * 0x200000ull, 0, PTE_P | PTE_W);   /* the tables */
         shim_wr64(S, pde_addr(L + k * 0x200000ull), 0x200000 | PTE_P | PTE_W | PTE_PS);
      }
      shim_wr64(S, 0x203000, 0x1111);
      shim_wr64(S, 0x205000, 0x2222);
      shim_wr64(S, 0x403000, 0xaaaa);
      shim_wr64(S, 0x405000, 0xbbbb);
      static const uint8_t reload[] = { 0x0f, 0x20, 0xd9, 0x0f, 0x22, 0xd9 };
      run(reload, sizeof(reload), 2);
      CHECK_EQ(load_at(L + 0x5000), 0x2222);
      for (unsigned k = 0; k < n; k++)
         CHECK_EQ(load_at(L + k * 0x200000ull + 0x3000), 0x1111);
      /* region 0 now maps 0x400000: INVLPG of one piece drops the other */
      shim_wr64(S, pde_addr(L), 0x400000 | PTE_P | PTE_W | PTE_PS);
      set_reg(3, L + 0x3000);
      static const uint8_t inv[] = { 0x0f, 0x01, 0x3b, 0x48, 0x8b, 0x03 };
      run(inv, sizeof(inv), 2);
      CHECK_EQ(reg(0), 0xaaaa);
      CHECK_EQ(load_at(L + 0x5000), 0xbbbb);
      /* an INVLPG outside every large page leaves their pieces */
      if (n > 1)
         CHECK_EQ(load_at(L + 0x200000ull + 0x3000), 0x1111);
   }
}

static void test_legacy_paging(void)
{
   /* 32-bit paging: PD at 0x1000, PT at 0x2000, plus a 4M page */
   shim_clear(S, 0, 0x100000);
   shim_wr32(S, 0x1000 + 0 * 4, 0x2000 | 7);                /* 0-4M via a table */
   shim_wr32(S, 0x2000 + (0x10000 >> 12) * 4, 0x10000 | 7);  /* code 0x10000 identity */
   shim_wr32(S, 0x2000 + (0x11000 >> 12) * 4, 0x30000 | 3); /* 0x11000 -> 0x30000 */
   shim_wr32(S, 0x1000 + 2 * 4, 0x00000000 | 0x83);          /* 8M -> 0 (4M page, PSE) */
   shim_prot32(S, 0x1000, 0x10 /* PSE */, 0);
   soft_options o = { .intercept_exceptions = true };
   soft_cpu_set_options(S->cpu, &o);
   shim_wr32(S, 0x30010, 0xabcdef01);
   shim_wr32(S, 0x4444, 0x13572468);
   static const uint8_t code[] = { 0x8b, 0x03, 0x8b, 0x0a };   /* mov eax,[ebx]; mov ecx,[edx] */
   shim_wr(S, 0x10000, code, sizeof(code));
   vmm_regs r;
   soft_get_regs(S->cpu, &r);
   r.rip = 0x10000;
   r.gpr[3] = 0x11010;
   r.gpr[2] = 0x800000 + 0x4444;
   soft_set_regs(S->cpu, &r);
   soft_exit ex;
   soft_cpu_run(S->cpu, 2, &ex);
   CHECK_EQ(ex.reason, SOFT_EXIT_LIMIT);
   CHECK_EQ(reg(0), 0xabcdef01);
   CHECK_EQ(reg(1), 0x13572468);
   CHECK(shim_rd32(S, 0x2000 + 0x11 * 4) & 0x20, "PTE accessed");
   CHECK(shim_rd32(S, 0x1000 + 2 * 4) & 0x20, "4M PDE accessed");

   /* PAE: PDPT at 0x1000 (32-byte aligned), PD at 0x2000, 2M page */
   shim_clear(S, 0, 0x100000);
   shim_wr64(S, 0x1000, 0x2000 | 1);
   shim_wr64(S, 0x2000, 0x0 | 0x83);                /* 0-2M identity, 2M page */
   shim_wr64(S, 0x2008, 0x0 | 0x83 | (1ull << 63)); /* 2M-4M -> 0, NX */
   shim_wr(S, 0x10000, code, sizeof(code));
   shim_wr32(S, 0x5000, 0x600d);
   shim_prot32(S, 0x1000, 0x20 /* PAE */, 0);
   soft_get_regs(S->cpu, &r);
   r.rip = 0x10000;
   r.gpr[3] = 0x5000;
   r.gpr[2] = 0x200000 + 0x5000;
   soft_set_regs(S->cpu, &r);
   soft_cpu_run(S->cpu, 2, &ex);
   CHECK_EQ(ex.reason, SOFT_EXIT_LIMIT);
   CHECK_EQ(reg(0), 0x600d);
   CHECK_EQ(reg(1), 0x600d);
   /* executing from the NX 2M page faults with I/D set */
   soft_get_regs(S->cpu, &r);
   r.rip = 0x210000;
   soft_set_regs(S->cpu, &r);
   soft_cpu_run(S->cpu, 1, &ex);
   CHECK_EQ(ex.vector, 14);
   CHECK_EQ(ex.error, 0x11);
}

static void test_mmio(void)
{
   setup64(0, PTE_P | PTE_W);
   /* map a page to a physical address outside RAM */
   shim_map4(S, CR3, DATA_LIN + 0x1000, 0xfee00000ull, PTE_P | PTE_W);
   S->nmmio = 0;
   set_reg(3, DATA_LIN + 0x1000 + 0x30);
   set_reg(0, 0xcafe);
   static const uint8_t code[] = { 0x89, 0x03, 0x48, 0x8b, 0x0b };   /* mov [rbx],eax; mov rcx,[rbx] */
   soft_exit ex = run(code, sizeof(code), 2);
   CHECK_EQ(ex.reason, SOFT_EXIT_LIMIT);
   CHECK_EQ(S->nmmio, 2);
   CHECK_EQ(S->mmio_addr[0], 0xfee00030ull);
   CHECK(S->mmio_write[0], "first access is a write");
   CHECK_EQ(S->mmio_val[0], 0xcafe);
   CHECK_EQ(S->mmio_addr[1], 0xfee00030ull);
   CHECK_EQ(S->mmio_val[1], 8);
   CHECK_EQ(reg(1), 0x1122334455667788ull);
}

int main(void)
{
   S = shim_new(8 << 20);
   test_ad_bits();
   test_pf_codes();
   test_global_and_invlpg();
   test_invlpg_large();
   test_legacy_paging();
   test_mmio();
   shim_free(S);
   if (shim_failures) {
      fprintf(stderr, "%d check(s) failed\n", shim_failures);
      return 1;
   }
   printf("paging: all checks passed\n");
   return 0;
}
