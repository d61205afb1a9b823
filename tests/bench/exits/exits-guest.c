/*
 * tests/bench/exits/exits-guest.c - the guest side of the exits benchmark:
 * a test-kit program that runs the same under the vmx and under QEMU.
 *
 * It prints "BENCH ready", then "BENCH begin", runs exits.n OUT
 * instructions to port exits.port (default 0x80, which no device claims on
 * either machine) at CPL3 (the TSS I/O bitmap allows them, so the loop
 * itself runs natively and each OUT is one exit to the VMM), prints
 * "BENCH end ticks=T n=N" with the TSC ticks the loop took, and idles with
 * interrupts off so the host can measure the process while nothing runs.
 * The host times "begin" to "end" itself, too.
 */
#include "kit/kit.h"

static uint16_t port = 0x80;

static bool cmdline_u64(const char *key, uint64_t *v)
{
   const char *p = kit_boot.cmdline;
   size_t klen = strlen(key);

   for (; *p; p++) {
      if ((p == kit_boot.cmdline || p[-1] == ' ') && strncmp(p, key, klen) == 0 &&
          p[klen] == '=') {
         uint64_t r = 0;

         for (p += klen + 1; *p >= '0' && *p <= '9'; p++) {
            r = r * 10 + (uint64_t)(*p - '0');
         }
         *v = r;
         return true;
      }
   }
   return false;
}

static uint64_t user_outs(uint64_t n)
{
   uint64_t t0 = kit_rdtsc();

   __asm__ volatile("1:\n\t"
                    "outb %%al, %%dx\n\t"
                    "dec %%rcx\n\t"
                    "jnz 1b"
                    : "+c"(n) : "a"(0), "d"(port) : "memory");
   return kit_rdtsc() - t0;
}

void kit_main(void)
{
   uint64_t n = 100000, p = 0x80, ticks = 0;
   kit_fault f;
   uint32_t r[4];

   cmdline_u64("exits.n", &n);
   if (cmdline_u64("exits.port", &p)) {
      port = (uint16_t)p;
   }
   if (n == 0) {
      n = 1;
   }
   kit_cpuid(0x40000000, 0, r);
   kit_printf("BENCH ready n=%lu port=0x%x hv_max_leaf=0x%x\n", n, port, r[0]);
   /* Warm-up: fault in the code and stacks, settle the vCPU thread. */
   kit_user_run(user_outs, n / 100 + 1, &ticks, &f);
   kit_printf("BENCH begin\n");
   if (kit_user_run(user_outs, n, &ticks, &f)) {
      kit_printf("BENCH error %s at 0x%lx\n", kit_exception_name((unsigned)f.vector), f.rip);
   } else {
      kit_printf("BENCH end ticks=%lu n=%lu\n", ticks, n);
   }
   kit_printf("BENCH idle\n");
   for (;;) {
      __asm__ volatile("cli; hlt");
   }
}
