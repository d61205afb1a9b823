/*
 * vmm/soft/tests/test_block.c - the decoded-block cache stays invisible:
 * self-modifying code (the next instruction of the running block, a block
 * run before), code and data sharing a page, writes from outside
 * (soft_mem_notify_write, as device DMA), the same linear address mapped
 * to other code after a CR3 switch or INVLPG, a chained loop whose target
 * changes, the cache's reuse when its memory fills up, and many blocks
 * kept in it without being built again. Every test runs
 * with the translator off, on (blocks translated when hot) and translating
 * every block at once; the translator's own: a run stops after exactly the
 * instructions it was allowed, whatever blocks are linked, and a kick
 * reaches a loop of linked blocks.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "shim.h"

#define CODE 0x100000ull
#define CODE2 0x180000ull     /* another physical page for the same linear page */
#define DATA 0x200000ull

static shim *S;

static void put(uint64_t gpa, const uint8_t *b, size_t n)
{
   shim_wr(S, gpa, b, n);
}
#define PUT(gpa, ...) do { static const uint8_t _b[] = { __VA_ARGS__ }; put((gpa), _b, sizeof(_b)); } while (0)

static vmm_regs regs(void)
{
   vmm_regs r;
   soft_get_regs(S->cpu, &r);
   return r;
}

static uint64_t cr3_a = 0x1000, cr3_b = 0x40000;
static int translate_mode;

static void machine(void)
{
   shim_clear(S, 0, 0x300000);
   soft_cpu_reset(S->cpu);
   shim_pt_reset(S, 0x2000);
   for (unsigned i = 0; i < 4; i++) {
      shim_map4(S, cr3_a, CODE + 0x1000 * i, CODE + 0x1000 * i, PTE_P | PTE_W);
      shim_map4(S, cr3_a, DATA + 0x1000 * i, DATA + 0x1000 * i, PTE_P | PTE_W);
   }
   /* a second address space: the code page maps to CODE2 */
   shim_pt_reset(S, 0x41000);
   shim_map4(S, cr3_b, CODE, CODE2, PTE_P | PTE_W);
   for (unsigned i = 1; i < 4; i++)
      shim_map4(S, cr3_b, CODE + 0x1000 * i, CODE + 0x1000 * i, PTE_P | PTE_W);
   for (unsigned i = 0; i < 4; i++)
      shim_map4(S, cr3_b, DATA + 0x1000 * i, DATA + 0x1000 * i, PTE_P | PTE_W);
   shim_long_mode(S, cr3_a, 0);
   soft_options o = { .intercept_exceptions = true, .hlt_exits = true,
                      .translate = translate_mode };
   soft_cpu_set_options(S->cpu, &o);
}

static int run(uint64_t rip)
{
   vmm_regs r = regs();
   r.rip = rip;
   r.gpr[VMM_RSP] = DATA + 0x3ff0;
   soft_set_regs(S->cpu, &r);
   soft_cpu_set_halted(S->cpu, false);
   soft_exit ex;
   soft_cpu_run(S->cpu, 1000000, &ex);
   if (ex.reason == SOFT_EXIT_EXCEPTION)
      return ex.vector;
   return ex.reason == SOFT_EXIT_HALT ? -1 : 1000 + (int)ex.reason;
}

/* The next instruction of the same block is rewritten. */
static void test_same_block(void)
{
   machine();
   /* mov byte [rip+1], 0x42 ; mov al, 0x00 ; hlt   (the store targets the imm8) */
   PUT(CODE, 0xc6, 0x05, 0x01, 0x00, 0x00, 0x00, 0x42,
       0xb0, 0x00,
       0xf4);
   CHECK_EQ(run(CODE), -1);
   CHECK_EQ(regs().gpr[VMM_RAX] & 0xff, 0x42);
   /* run again: the byte stays patched, and the block built now holds it */
   CHECK_EQ(run(CODE), -1);
   CHECK_EQ(regs().gpr[VMM_RAX] & 0xff, 0x42);
}

/* A block that ran before is rewritten by the guest, then run again. */
static void test_other_block(void)
{
   machine();
   /* f: mov eax, imm32 ; ret   at CODE+0x100 */
   PUT(CODE + 0x100, 0xb8, 1, 0, 0, 0, 0xc3);
   /* call f ; mov ebx, eax ; mov dword [CODE+0x101], 2 ; call f ; hlt */
   PUT(CODE, 0xe8, 0xfb, 0x00, 0x00, 0x00,
       0x89, 0xc3,
       0xc7, 0x04, 0x25, 0x01, 0x01, 0x10, 0x00, 2, 0, 0, 0,
       0xe8, 0xe9, 0x00, 0x00, 0x00,
       0xf4);
   CHECK_EQ(run(CODE), -1);
   CHECK_EQ(regs().gpr[VMM_RBX], 1);
   CHECK_EQ(regs().gpr[VMM_RAX], 2);
}

/* Code and a counter in the same page: every store drops the page's
 * blocks; the loop must still compute the right thing. */
static void test_code_data_page(void)
{
   machine();
   /* 1: inc dword [CODE+0x800] ; dec ecx ; jnz 1b ; mov eax, [CODE+0x800] ; hlt */
   PUT(CODE, 0xff, 0x04, 0x25, 0x00, 0x08, 0x10, 0x00,
       0xff, 0xc9,
       0x75, 0xf5,
       0x8b, 0x04, 0x25, 0x00, 0x08, 0x10, 0x00,
       0xf4);
   vmm_regs r = regs();
   r.gpr[VMM_RCX] = 1000;
   soft_set_regs(S->cpu, &r);
   CHECK_EQ(run(CODE), -1);
   CHECK_EQ(regs().gpr[VMM_RAX], 1000);
}

/* Writes from outside (DMA) with soft_mem_notify_write. */
static void test_dma(void)
{
   machine();
   PUT(CODE, 0xb8, 7, 0, 0, 0, 0xf4);            /* mov eax, 7; hlt */
   CHECK_EQ(run(CODE), -1);
   CHECK_EQ(regs().gpr[VMM_RAX], 7);
   S->ram[CODE + 1] = 9;                          /* the device writes... */
   soft_mem_notify_write(S->mem, CODE + 1, 1);    /* ...and says so */
   CHECK_EQ(run(CODE), -1);
   CHECK_EQ(regs().gpr[VMM_RAX], 9);
}

/* The same linear page, other physical code after MOV CR3. */
static void test_cr3_switch(void)
{
   machine();
   /* page A at CODE: mov eax, 0xa; hlt; page B (CODE2): mov eax, 0xb; hlt */
   PUT(CODE, 0xb8, 0xa, 0, 0, 0, 0xf4);
   PUT(CODE2, 0xb8, 0xb, 0, 0, 0, 0xf4);
   /* CODE+0x1000: mov cr3, rbx ; jmp CODE   (in a page both spaces map alike) */
   PUT(CODE + 0x1000, 0x0f, 0x22, 0xdb, 0xe9, 0xf8, 0xef, 0xff, 0xff);
   CHECK_EQ(run(CODE), -1);
   CHECK_EQ(regs().gpr[VMM_RAX], 0xa);
   vmm_regs r = regs();
   r.gpr[VMM_RBX] = cr3_b;
   soft_set_regs(S->cpu, &r);
   CHECK_EQ(run(CODE + 0x1000), -1);
   CHECK_EQ(regs().gpr[VMM_RAX], 0xb);
   r = regs();
   r.gpr[VMM_RBX] = cr3_a;
   soft_set_regs(S->cpu, &r);
   CHECK_EQ(run(CODE + 0x1000), -1);
   CHECK_EQ(regs().gpr[VMM_RAX], 0xa);
}

/* A hot chained loop whose branch target is patched by the loop itself. */
static void test_chain_patch(void)
{
   machine();
   /* 0x00: dec ecx ; jz 0x20 ; jmp 0x00          (loop)
    * 0x20: mov byte [CODE+0x05], 0x3a ; jmp 0x00  (retargets the jmp at 0x04 to 0x40)
    * 0x40: mov eax, 0x40 ; hlt */
   PUT(CODE, 0xff, 0xc9, 0x74, 0x1c, 0xeb, 0xfa);
   PUT(CODE + 0x20, 0xc6, 0x04, 0x25, 0x05, 0x00, 0x10, 0x00, 0x3a, 0xeb, 0xd6);
   PUT(CODE + 0x40, 0xb8, 0x40, 0, 0, 0, 0xf4);
   vmm_regs r = regs();
   r.gpr[VMM_RCX] = 100;
   soft_set_regs(S->cpu, &r);
   /* after 100 iterations ecx hits 0 -> 0x20 patches "jmp 0x00" at 0x04
    * into "jmp 0x40", jumps back to 0x00: dec ecx (nonzero), jz not taken,
    * the patched jmp goes to 0x40 */
   CHECK_EQ(run(CODE), -1);
   CHECK_EQ(regs().gpr[VMM_RAX], 0x40);
}

/* Enough distinct code to fill the block arena more than once. */
static void test_arena_refill(void)
{
   machine();
   /* 4 pages of "inc eax" x 2047 ; then the last page ends with jmp back */
   static uint8_t page[0x1000];
   for (unsigned i = 0; i < 0x1000; i += 2) {
      page[i] = 0xff;
      page[i + 1] = 0xc0;
   }
   for (unsigned p = 0; p < 3; p++)
      put(CODE + 0x1000 * p, page, 0x1000);
   page[0xffe] = 0xf4;             /* hlt at the end of the third page */
   page[0xfff] = 0x90;
   put(CODE + 0x2000, page, 0x1000);
   for (unsigned round = 0; round < 300; round++) {
      vmm_regs r = regs();
      r.gpr[VMM_RAX] = 0;
      soft_set_regs(S->cpu, &r);
      /* start at a different offset each round: new blocks every time */
      uint64_t start = CODE + 2 * (round % 64);
      CHECK_EQ(run(start), -1);
      CHECK_EQ(regs().gpr[VMM_RAX], (0x3000 - 2 - (start - CODE)) / 2);
      soft_mem_notify_write(S->mem, CODE, 0x3000);   /* all stale: rebuild */
   }
}

/* A block that ends at its page's end, not at a branch, leaves its flags
 * for the next block: the CMP that is the page's last instruction sets
 * the CF the SETB on the next page reads (XOR cleared it before). */
static void test_flags_at_page_end(void)
{
   machine();
   /* CODE+0xffa: xor ecx, ecx ; mov eax, edi ; cmp eax, ebx ;
    * CODE+0x1000: setb cl ; hlt */
   PUT(CODE + 0xffa, 0x31, 0xc9, 0x89, 0xf8, 0x39, 0xd8);
   PUT(CODE + 0x1000, 0x0f, 0x92, 0xc1, 0xf4);
   for (unsigned round = 0; round < 3; round++) {
      vmm_regs r = regs();
      r.gpr[VMM_RDI] = 1;          /* eax = 1 < ebx = 2: CF = 1 */
      r.gpr[VMM_RBX] = 2;
      soft_set_regs(S->cpu, &r);
      CHECK_EQ(run(CODE + 0xffa), -1);
      CHECK_EQ(regs().gpr[VMM_RCX], 1);
   }
}

/* Many blocks found again after their links are gone are found, not
 * built again: 20 000 one-jump blocks share the cache's hash buckets (a
 * table of single slots evicts thousands of them, birthday-style), and a
 * CR3 reload between the two passes drops every link and jump-cache entry,
 * so each block of the second pass is looked up. */
static void test_many_blocks_kept(void)
{
   enum { N = 20000 };
   machine();
   const uint64_t entry = CODE + 0x20000;
   for (unsigned p = 4; p < 0x21; p++)
      shim_map4(S, cr3_a, CODE + 0x1000 * p, CODE + 0x1000 * p, PTE_P | PTE_W);
   static uint8_t code[N * 5 + 1];
   for (unsigned k = 0; k < N; k++) {
      code[5 * k] = 0xe9;         /* jmp +0: to the next block */
      memset(&code[5 * k + 1], 0, 4);
   }
   code[N * 5] = 0xf4;            /* hlt */
   put(CODE, code, sizeof(code));
   /* entry: mov cr3, rbx ; jmp CODE */
   int32_t rel = (int32_t)(CODE - (entry + 8));
   uint8_t e[8] = { 0x0f, 0x22, 0xdb, 0xe9 };
   memcpy(&e[4], &rel, 4);
   put(entry, e, sizeof(e));
   vmm_regs r = regs();
   r.gpr[VMM_RBX] = cr3_a;
   soft_set_regs(S->cpu, &r);
   CHECK_EQ(run(entry), -1);
   soft_stats one, two;
   soft_cpu_get_stats(S->cpu, &one);
   CHECK_EQ(run(entry), -1);
   soft_cpu_get_stats(S->cpu, &two);
   CHECK_EQ(two.flushes, one.flushes);
   CHECK(two.blocks_built == one.blocks_built, "%llu blocks built again",
         (unsigned long long)(two.blocks_built - one.blocks_built));
   /* a jump across a page boundary runs without a block */
   CHECK(two.block_runs - one.block_runs >= N - (N * 5 / 0x1000 + 1), "only %llu blocks ran",
         (unsigned long long)(two.block_runs - one.block_runs));
}

/* A program of calls, loads, stores and branches across many blocks, run
 * with every limit from 1 to 400 instructions: the state after the limit
 * is the interpreter's after exactly that many (linked blocks check the
 * limit before they run). */
static void program(void)
{
   /* 0x00: mov ecx, 40 ; xor eax, eax
    * 0x07: 1: call 0x40 ; add rax, [DATA] ; mov [DATA+8], rax ; dec ecx ; jnz 1b ; hlt
    * 0x40: push rcx ; inc qword [DATA] ; mov rdx, [DATA] ; test dl, 1 ; jz 2f ;
    *       add rax, rdx ; 2: pop rcx ; ret */
   PUT(CODE, 0xb9, 40, 0, 0, 0, 0x31, 0xc0,
       0xe8, 0x34, 0, 0, 0,
       0x48, 0x03, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00,
       0x48, 0x89, 0x04, 0x25, 0x08, 0x00, 0x20, 0x00,
       0xff, 0xc9, 0x75, 0xe7, 0xf4);
   PUT(CODE + 0x40, 0x51, 0x48, 0xff, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00,
       0x48, 0x8b, 0x14, 0x25, 0x00, 0x00, 0x20, 0x00,
       0xf6, 0xc2, 0x01, 0x74, 0x03, 0x48, 0x01, 0xd0, 0x59, 0xc3);
}

static void test_exact_limit(void)
{
   machine();
   program();
   static vmm_regs want[401];
   static uint64_t want_data[401][2];
   int modes[2] = { SOFT_TRANSLATE_OFF, translate_mode };
   for (unsigned m = 0; m < 2; m++) {
      soft_options o = { .intercept_exceptions = true, .hlt_exits = true, .translate = modes[m] };
      soft_cpu_set_options(S->cpu, &o);
      /* warm up: blocks hot, translated and linked */
      for (unsigned k = 0; k < 3; k++) {
         shim_wr64(S, DATA, 0);
         CHECK_EQ(run(CODE), -1);
      }
      for (unsigned lim = 1; lim <= 400; lim++) {
         shim_wr64(S, DATA, 0);
         shim_wr64(S, DATA + 8, 0);
         vmm_regs r = regs();
         r.rip = CODE;
         r.gpr[VMM_RSP] = DATA + 0x3ff0;
         soft_set_regs(S->cpu, &r);
         soft_cpu_set_halted(S->cpu, false);
         uint64_t before = soft_cpu_icount(S->cpu);
         soft_exit ex;
         soft_cpu_run(S->cpu, lim, &ex);
         CHECK(ex.reason == SOFT_EXIT_LIMIT || ex.reason == SOFT_EXIT_HALT, "limit %u: exit %d",
               lim, ex.reason);
         if (ex.reason == SOFT_EXIT_LIMIT)
            CHECK_EQ(soft_cpu_icount(S->cpu) - before, lim);
         vmm_regs got = regs();
         if (m == 0) {
            want[lim] = got;
            want_data[lim][0] = shim_rd64(S, DATA);
            want_data[lim][1] = shim_rd64(S, DATA + 8);
            continue;
         }
         CHECK(!memcmp(got.gpr, want[lim].gpr, sizeof(got.gpr)) && got.rip == want[lim].rip,
               "limit %u: rip %#llx, want %#llx", lim, (unsigned long long)got.rip,
               (unsigned long long)want[lim].rip);
         CHECK_EQ(shim_rd64(S, DATA), want_data[lim][0]);
         CHECK_EQ(shim_rd64(S, DATA + 8), want_data[lim][1]);
      }
   }
}

static void *kicker(void *arg)
{
   struct timespec ts = { 0, 50 * 1000 * 1000 };
   nanosleep(&ts, NULL);
   soft_cpu_kick((soft_cpu *)arg);
   return NULL;
}

/* An endless loop of two blocks that link to each other: a kick from
 * another thread still stops it. */
static void test_kick_linked_loop(void)
{
   machine();
   /* 0x00: inc rax ; jmp 0x10 ;; 0x10: inc rbx ; jmp 0x00 */
   PUT(CODE, 0x48, 0xff, 0xc0, 0xeb, 0x0b);
   PUT(CODE + 0x10, 0x48, 0xff, 0xc3, 0xeb, 0xeb);
   vmm_regs r = regs();
   r.rip = CODE;
   r.gpr[VMM_RAX] = r.gpr[VMM_RBX] = 0;
   soft_set_regs(S->cpu, &r);
   pthread_t t;
   pthread_create(&t, NULL, kicker, S->cpu);
   soft_exit ex;
   soft_cpu_run(S->cpu, 0, &ex);
   pthread_join(t, NULL);
   CHECK_EQ(ex.reason, SOFT_EXIT_STOP);
   vmm_regs got = regs();
   CHECK(got.gpr[VMM_RAX] > 1000, "only %llu rounds", (unsigned long long)got.gpr[VMM_RAX]);
   CHECK(got.gpr[VMM_RAX] - got.gpr[VMM_RBX] <= 1, "rax %llu rbx %llu",
         (unsigned long long)got.gpr[VMM_RAX], (unsigned long long)got.gpr[VMM_RBX]);
}

int main(void)
{
   S = shim_new(8 << 20);
   static const int modes[] = { SOFT_TRANSLATE_OFF, 0, SOFT_TRANSLATE_ALL };
   for (unsigned m = 0; m < 3; m++) {
      translate_mode = modes[m];
      int before = shim_failures;
      test_same_block();
      test_other_block();
      test_code_data_page();
      test_dma();
      test_cr3_switch();
      test_chain_patch();
      test_arena_refill();
      test_many_blocks_kept();
      test_flags_at_page_end();
      test_exact_limit();
      test_kick_linked_loop();
      if (shim_failures != before)
         fprintf(stderr, "(translate mode %d)\n", modes[m]);
   }
   shim_free(S);
   if (shim_failures) {
      fprintf(stderr, "%d check(s) failed\n", shim_failures);
      return 1;
   }
   printf("block: all checks passed\n");
   return 0;
}
