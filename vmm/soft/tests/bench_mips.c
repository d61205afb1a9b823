/*
 * vmm/soft/tests/bench_mips.c - guest MIPS of the interpreter on a few
 * loop shapes. A benchmark, not a test: it prints numbers and always
 * succeeds (run it by hand: build/vmm/soft/tests/soft-bench-mips [seconds
 * [loop number]]).
 *
 * Each loop runs in 64-bit mode at CPL 0 with 4-level paging (kernel code
 * is what a Linux boot spends its time in), until it has retired about
 * the requested instruction count.
 */
#include <string.h>
#include <time.h>

#include "shim.h"

#define CODE 0x100000ull
#define DATA 0x200000ull

typedef struct loop {
   const char *name;
   const uint8_t *code;
   size_t len;
} loop;

/* dec/jnz with an add: the tightest loop (what tests/guests/usermode runs) */
static const uint8_t l_dec[] = {
   0x48, 0x01, 0xc8,             /* 1: add rax, rcx */
   0x48, 0xff, 0xc9,             /* dec rcx */
   0x75, 0xf8,                   /* jnz 1b */
   0xeb, 0xfe,
};

/* ALU and memory: load, add, xor, store, compare, branch */
static const uint8_t l_mem[] = {
   0x48, 0xc7, 0xc6, 0x00, 0x00, 0x20, 0x00,  /* mov rsi, DATA */
   0x48, 0x8b, 0x04, 0xce,       /* 1: mov rax, [rsi+rcx*8] */
   0x48, 0x01, 0xc3,             /* add rbx, rax */
   0x48, 0x31, 0xd8,             /* xor rax, rbx */
   0x48, 0x89, 0x44, 0xce, 0x08, /* mov [rsi+rcx*8+8], rax */
   0x48, 0xff, 0xc1,             /* inc rcx */
   0x48, 0x81, 0xe1, 0xff, 0x01, 0x00, 0x00,   /* and rcx, 511 */
   0x48, 0x39, 0xd9,             /* cmp rcx, rbx */
   0x75, 0xe2,                   /* jne 1b */
   0xeb, 0xe0,                   /* jmp 1b */
};

/* calls and returns with a stack */
static const uint8_t l_call[] = {
   0xe8, 0x04, 0x00, 0x00, 0x00, /* 1: call f */
   0xeb, 0xf9,                   /* jmp 1b */
   0xeb, 0xfe,
   0x48, 0xff, 0xc0,             /* f: inc rax */
   0x51,                         /* push rcx */
   0x59,                         /* pop rcx */
   0xc3,                         /* ret */
};

/* strlen-like SSE2: pcmpeqb, pmovmskb, test, branch over a zeroed buffer */
static const uint8_t l_sse[] = {
   0x48, 0xc7, 0xc6, 0x00, 0x00, 0x20, 0x00,  /* mov rsi, DATA */
   0x66, 0x0f, 0xef, 0xc0,       /* pxor xmm0, xmm0 */
   0x66, 0x0f, 0x6f, 0x0c, 0xce, /* 1: movdqa xmm1, [rsi+rcx*8] */
   0x66, 0x0f, 0x74, 0xc8,       /* pcmpeqb xmm1, xmm0 */
   0x66, 0x0f, 0xd7, 0xc1,       /* pmovmskb eax, xmm1 */
   0x48, 0x83, 0xc1, 0x02,       /* add rcx, 2 */
   0x48, 0x81, 0xe1, 0xff, 0x01, 0x00, 0x00,   /* and rcx, 511 */
   0x85, 0xc0,                   /* test eax, eax */
   0x75, 0xe4,                   /* jnz 1b */
   0xeb, 0xe2,
};

/* rep movsq of 4 KiB (counted as one instruction per element, as a
 * Linux memcpy sees it: MB/s is the telling number) */
static const uint8_t l_rep[] = {
   0x48, 0xc7, 0xc6, 0x00, 0x00, 0x20, 0x00,  /* 1: mov rsi, DATA */
   0x48, 0xc7, 0xc7, 0x00, 0x10, 0x20, 0x00,  /* mov rdi, DATA+0x1000 */
   0x48, 0xc7, 0xc1, 0x00, 0x02, 0x00, 0x00,  /* mov rcx, 512 */
   0xf3, 0x48, 0xa5,                          /* rep movsq */
   0xeb, 0xe6,                                /* jmp 1b */
};

/* ---- compiled C, kernel-style ------------------------------------------------
 * Integer code as a compiler writes it (general registers only, like the
 * kernel): sorting, hashing, a table-driven CRC with byte loads, a linked
 * list, byte string loops, memcpy/memset through REP MOVS/STOS. The
 * functions live in their own section, copied to guest memory as they are
 * (position independent: no globals, no calls outside the section). */
/* The compiler must not turn the byte loops into memset/memcpy calls. */
#ifdef __clang__
#define GUEST_NO_LIBCALLS no_builtin("memset", "memcpy", "memmove")
#else
#define GUEST_NO_LIBCALLS optimize("no-tree-loop-distribute-patterns")
#endif
#define GUEST __attribute__((section("soft_bench_guest"), noinline, used, \
                             target("general-regs-only"), GUEST_NO_LIBCALLS))

GUEST static uint64_t g_rand(uint64_t *s)
{
   *s ^= *s << 13;
   *s ^= *s >> 7;
   *s ^= *s << 17;
   return *s;
}

GUEST static void g_sort(uint32_t *a, long lo, long hi)
{
   while (lo < hi) {
      uint32_t p = a[(lo + hi) / 2];
      long i = lo, j = hi;
      while (i <= j) {
         while (a[i] < p)
            i++;
         while (a[j] > p)
            j--;
         if (i <= j) {
            uint32_t t = a[i];
            a[i++] = a[j];
            a[j--] = t;
         }
      }
      if (j - lo < hi - i) {
         g_sort(a, lo, j);
         lo = i;
      } else {
         g_sort(a, i, hi);
         hi = j;
      }
   }
}

GUEST static void g_copy(void *d, const void *s, uint64_t n)
{
   __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) :: "memory");
}

GUEST static void g_zero(void *d, uint64_t n)
{
   __asm__ volatile("rep stosq" : "+D"(d), "+c"(n) : "a"(0ull) : "memory");
}

typedef struct g_node {
   struct g_node *next;
   uint64_t key, val;
} g_node;

/* one round over a 64 KiB work area; returns a checksum */
GUEST static uint64_t g_work(uint8_t *mem, uint64_t seed)
{
   uint64_t sum = 0, s = seed | 1;
   uint32_t *arr = (uint32_t *)(void *)mem;                 /* 4096 ints */
   uint32_t *crctab = (uint32_t *)(void *)(mem + 0x4000);   /* 256 */
   g_node *nodes = (g_node *)(void *)(mem + 0x4400);        /* 512 nodes */
   g_node **buckets = (g_node **)(void *)(mem + 0x7400);    /* 64 */
   uint8_t *text = mem + 0x8000;                            /* 8 KiB */

   for (long i = 0; i < 4096; i++)
      arr[i] = (uint32_t)g_rand(&s);
   g_sort(arr, 0, 4095);
   for (long i = 1; i < 4096; i++)
      sum += arr[i] >= arr[i - 1];

   for (uint32_t i = 0; i < 256; i++) {
      uint32_t c = i;
      for (int k = 0; k < 8; k++)
         c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      crctab[i] = c;
   }
   for (long i = 0; i < 8192; i++)
      text[i] = (uint8_t)('a' + g_rand(&s) % 26);
   uint32_t crc = ~0u;
   for (long i = 0; i < 8192; i++)
      crc = crctab[(crc ^ text[i]) & 0xff] ^ (crc >> 8);
   sum += crc;

   g_zero(buckets, 64);
   for (long i = 0; i < 512; i++) {
      g_node *n = &nodes[i];
      n->key = g_rand(&s) % 1000;
      n->val = (uint64_t)i;
      n->next = buckets[n->key & 63];
      buckets[n->key & 63] = n;
   }
   for (uint64_t k = 0; k < 1000; k++)
      for (g_node *n = buckets[k & 63]; n; n = n->next)
         if (n->key == k)
            sum += n->val;

   long words = 0;
   for (long i = 0; i + 1 < 8192; i++)
      if (text[i] == 'e' && text[i + 1] != 'e')
         words++;
   sum += (uint64_t)words;
   g_copy(text + 4096, text, 4000);
   g_copy(arr, text, 8192);
   return sum;
}

GUEST static void g_main(uint8_t *mem)
{
   for (uint64_t round = 0;; round++)
      g_work(mem, round * 0x9e3779b97f4a7c15ull);
}

extern const uint8_t __start_soft_bench_guest[], __stop_soft_bench_guest[];

static const loop loops[] = {
   { "add/dec/jnz", l_dec, sizeof(l_dec) },
   { "load/alu/store/branch", l_mem, sizeof(l_mem) },
   { "call/push/pop/ret", l_call, sizeof(l_call) },
   { "sse2 strlen-like", l_sse, sizeof(l_sse) },
   { "rep movsq 4 KiB", l_rep, sizeof(l_rep) },
   { "compiled C (kernel-like)", NULL, 0 },
};

/* Thread CPU time: the build machines are shared and noisy; time spent
 * preempted is not the interpreter's. */
static double now(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
   return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
   double secs = argc > 1 ? atof(argv[1]) : 1.0;
   int only = argc > 2 ? atoi(argv[2]) : -1;
   shim *s = shim_new(8 << 20);
   if (secs <= 0)
      secs = 1.0;

   printf("soft-bench-mips: guest MIPS of the interpreter (64-bit, CPL0, paging; "
          "best of 3, thread CPU time)\n");
   for (size_t i = 0; i < sizeof(loops) / sizeof(loops[0]); i++) {
      if (only >= 0 && (size_t)only != i)
         continue;
      double best = 0;
      uint64_t best_n = 0;
      double best_t = 0;
      bool early = false;
      for (unsigned rep = 0; rep < 3; rep++) {
      shim_clear(s, 0, 0x300000);
      soft_cpu_reset(s->cpu);
      shim_pt_reset(s, 0x2000);
      for (unsigned p = 0; p < 40; p++) {
         shim_map4(s, 0x1000, CODE + 0x1000 * p, CODE + 0x1000 * p, PTE_P | PTE_W);
         shim_map4(s, 0x1000, DATA + 0x1000 * p, DATA + 0x1000 * p, PTE_P | PTE_W);
      }
      shim_long_mode(s, 0x1000, 0);
      vmm_sregs sr;
      soft_get_sregs(s->cpu, &sr);
      sr.cr4 |= 0x600;
      soft_set_sregs(s->cpu, &sr);
      vmm_regs r;
      soft_get_regs(s->cpu, &r);
      r.rip = CODE;
      if (loops[i].code) {
         shim_wr(s, CODE, loops[i].code, loops[i].len);
      } else {
         size_t len = (size_t)(__stop_soft_bench_guest - __start_soft_bench_guest);
         if (len > 0x8000) {
            fprintf(stderr, "the compiled workload is too big (%zu bytes)\n", len);
            return 1;
         }
         shim_wr(s, CODE, __start_soft_bench_guest, len);
         r.rip = CODE + (uint64_t)((const uint8_t *)(uintptr_t)g_main - __start_soft_bench_guest);
         r.gpr[VMM_RDI] = DATA + 0x10000;       /* 64 KiB work area */
      }
      r.gpr[VMM_RSP] = DATA + 0x8000;
      r.gpr[VMM_RCX] = i == 0 ? 1ull << 40 : 0;
      soft_set_regs(s->cpu, &r);

      soft_exit ex;
      uint64_t n0 = soft_cpu_icount(s->cpu);
      double t0 = now(), t;
      do {
         soft_cpu_run(s->cpu, 1000 * 1000, &ex);
         t = now();
      } while (ex.reason == SOFT_EXIT_LIMIT && t - t0 < secs);
      uint64_t n = soft_cpu_icount(s->cpu) - n0;
      if ((double)n / (t - t0) > best) {
         best = (double)n / (t - t0);
         best_n = n;
         best_t = t - t0;
      }
      early |= ex.reason != SOFT_EXIT_LIMIT;
      }
      printf("  %-24s %8.1f MIPS  (%llu instructions in %.2f s)%s\n", loops[i].name,
             best / 1e6, (unsigned long long)best_n, best_t, early ? "  [stopped early]" : "");
   }
   shim_free(s);
   return 0;
}
