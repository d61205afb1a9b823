/*
 * tests/guests/softint.c - software interrupts: INT3 and INT n in kernel
 * mode, INT n from CPL3 through a DPL3 gate, and INT n from CPL3 through a
 * DPL0 gate (#GP with the IDT error code).
 *
 * Runs only where KVM executes guest kernel code natively: on hosts where
 * KVM emulates guest kernel code (KVM-PVM), its emulator fails on INT3 and
 * INT n raised in guest user mode is not delivered. The runner's
 * --require-native-kernel option skips this program there (exit 77).
 */
#include "kit/kit.h"

#define LABEL(name) ".globl " #name "\n" #name ":\n\t"
#define ONCE __attribute__((noinline, noclone))

#define VEC_USER   0x81   /* DPL3 gate installed below */
#define VEC_KERNEL 0x82   /* DPL0 gate */

extern const uint8_t k_bp_after[], k_int_after[], u_int_after[], u_gp_insn[];

static volatile unsigned hits[256];
static uint64_t last_rip, last_cs;

static void count(kit_frame *f)
{
   hits[f->vector & 0xff]++;
   last_rip = f->rip;
   last_cs = f->cs;
}

ONCE static void k_bp(void *arg)
{
   (void)arg;
   __asm__ volatile("int3\n\t" LABEL(k_bp_after) "nop");
}

ONCE static void k_int(void *arg)
{
   (void)arg;
   __asm__ volatile("int $0x82\n\t" LABEL(k_int_after) "nop");
}

ONCE static uint64_t u_int(uint64_t arg)
{
   __asm__ volatile("int $0x81\n\t" LABEL(u_int_after) "nop");
   return arg;
}

ONCE static uint64_t u_gp(uint64_t arg)
{
   __asm__ volatile(LABEL(u_gp_insn) "int $0x82");
   return arg;
}

void kit_main(void)
{
   kit_fault f;
   uint64_t ret;
   bool faulted;

   kit_set_handler(3, count);
   kit_set_handler(VEC_USER, count);
   kit_set_handler(VEC_KERNEL, count);
   kit_set_gate_dpl(VEC_USER, 3);

   faulted = kit_try(k_bp, NULL, &f);
   kit_check("kernel-int3", !faulted && hits[3] == 1 && last_rip == (uint64_t)(uintptr_t)k_bp_after,
             "hits %u, rip 0x%lx", hits[3], last_rip);

   faulted = kit_try(k_int, NULL, &f);
   kit_check("kernel-int-n", !faulted && hits[VEC_KERNEL] == 1 &&
             last_rip == (uint64_t)(uintptr_t)k_int_after, "hits %u, rip 0x%lx",
             hits[VEC_KERNEL], last_rip);

   faulted = kit_user_run(u_int, 7, &ret, &f);
   kit_check("user-int-n", !faulted && ret == 7 && hits[VEC_USER] == 1 && (last_cs & 3) == 3 &&
             last_rip == (uint64_t)(uintptr_t)u_int_after,
             "faulted %d, hits %u, cs 0x%lx, rip 0x%lx", faulted, hits[VEC_USER], last_cs,
             last_rip);

   faulted = kit_user_run(u_gp, 0, &ret, &f);
   kit_check("user-int-dpl0-gp", faulted && f.vector == 13 && f.error == (VEC_KERNEL << 3 | 2) &&
             f.rip == (uint64_t)(uintptr_t)u_gp_insn && hits[VEC_KERNEL] == 1,
             "faulted %d, %s error 0x%lx rip 0x%lx", faulted,
             kit_exception_name((unsigned)f.vector), f.error, f.rip);
}
