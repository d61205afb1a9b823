/*
 * tests/guests/usermode.c - dropping to CPL3 and coming back: user code
 * really runs at CPL3, can use the ports the TSS I/O bitmap opens (the
 * serial port), gets its result back to the kernel, and runs a long loop at
 * native speed (the reason the kit has user mode: kernel-mode guest code is
 * emulated instruction by instruction on some KVM hosts).
 */
#include "kit/kit.h"

#define LOOP_ITERATIONS 100000000ull

static uint64_t user_cpl(uint64_t arg)
{
   uint16_t cs, ss;

   (void)arg;
   __asm__ volatile("mov %%cs, %0\n\tmov %%ss, %1" : "=r"(cs), "=r"(ss));
   return (uint64_t)(cs & 3) << 8 | (ss & 3);
}

static uint64_t user_print(uint64_t arg)
{
   kit_printf("hello from CPL3 (arg %lu)\n", arg);
   return arg * 3;
}

/* sum of n, n-1, ..., 1 in a dec/jnz loop the compiler cannot fold */
static uint64_t user_loop(uint64_t n)
{
   uint64_t acc = 0;

   __asm__ volatile("1:\n\t"
                    "add %1, %0\n\t"
                    "dec %1\n\t"
                    "jnz 1b"
                    : "+r"(acc), "+r"(n));
   return acc;
}

static uint64_t user_rflags(uint64_t arg)
{
   (void)arg;
   return kit_rflags();
}

void kit_main(void)
{
   kit_fault f;
   uint64_t ret = 0, t0, t1, n = LOOP_ITERATIONS;
   bool faulted;

   faulted = kit_user_run(user_cpl, 0, &ret, &f);
   kit_check("cpl3", !faulted && ret == 0x303, "cs/ss RPL 0x%lx (faulted %d)", ret, faulted);

   faulted = kit_user_run(user_print, 14, &ret, &f);
   kit_check("user-port-io", !faulted && ret == 42, "returned %lu (faulted %d, %s)", ret,
             faulted, faulted ? kit_exception_name((unsigned)f.vector) : "-");

   faulted = kit_user_run(user_rflags, 0, &ret, &f);
   kit_check("user-rflags", !faulted && ((ret >> 12) & 3) == 0 && (ret & 0x200),
             "rflags 0x%lx: expected IOPL 0 and IF set", ret);
   kit_check("kernel-if-restored", !(kit_rflags() & 0x200), "the kernel came back with IF set");

   t0 = kit_rdtsc();
   faulted = kit_user_run(user_loop, n, &ret, &f);
   t1 = kit_rdtsc();
   if (kit_check("user-loop", !faulted && ret == n * (n + 1) / 2,
                 "sum %lu, expected %lu (faulted %d)", ret, n * (n + 1) / 2, faulted)) {
      kit_printf("user-loop: %lu iterations, %lu TSC ticks per 100 iterations\n", n,
                 (t1 - t0) / (n / 100));
   }

   /* The kernel is still intact after all that: a second round trip works. */
   faulted = kit_user_run(user_cpl, 0, &ret, &f);
   kit_check("user-again", !faulted && ret == 0x303, "second entry: 0x%lx", ret);
}
