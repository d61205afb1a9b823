/*
 * tests/guests/exceptions.c - the CPU's exceptions as the monitor delivers
 * them: vector, error code, faulting RIP and, for page faults, CR2.
 * Kernel-mode cases run through kit_try(), user-mode ones through
 * kit_user_run(). Each faulting instruction carries a global label so the
 * expected RIP is known exactly. #BP is raised from CPL3 here; INT3 and
 * INT n in kernel mode are in softint.c (KVM's instruction emulator, which
 * runs guest kernel code on some hosts, lacks INT3).
 */
#include "kit/kit.h"

#define LABEL(name) ".globl " #name "\n" #name ":\n\t"
/* Never inlined or cloned: each label must exist exactly once. */
#define ONCE __attribute__((noinline, noclone))

extern const uint8_t de_insn[], ud_insn[], user_bp_after[], gp_nc_insn[], gp_sel_insn[],
                     pf_np_read[], pf_np_write[], pf_ro_write[], user_hlt[], user_pf[];

/* Reports one check: fault expected, with vector/error/rip (and cr2 when
 * want_cr2 is not ~0). */
static void expect(const char *name, bool faulted, const kit_fault *f, unsigned vector,
                   uint64_t error, const uint8_t *rip, uint64_t want_cr2, bool user)
{
   if (!faulted) {
      kit_fail(name, "no exception (expected %s)", kit_exception_name(vector));
      return;
   }
   if (f->vector != vector) {
      kit_fail(name, "got %s (vector %lu), expected %s", kit_exception_name((unsigned)f->vector),
               f->vector, kit_exception_name(vector));
      return;
   }
   if (f->error != error) {
      kit_fail(name, "error code 0x%lx, expected 0x%lx", f->error, error);
      return;
   }
   if (f->rip != (uint64_t)(uintptr_t)rip) {
      kit_fail(name, "rip 0x%lx, expected 0x%lx", f->rip, (uint64_t)(uintptr_t)rip);
      return;
   }
   if (want_cr2 != ~0ull && f->cr2 != want_cr2) {
      kit_fail(name, "cr2 0x%lx, expected 0x%lx", f->cr2, want_cr2);
      return;
   }
   if (f->user != user) {
      kit_fail(name, "the fault was taken at CPL%u", f->user ? 3 : 0);
      return;
   }
   kit_pass(name);
}

/* ---- kernel-mode cases -------------------------------------------------------- */

ONCE static void do_de(void *arg)
{
   (void)arg;
   __asm__ volatile("xor %%ecx, %%ecx\n\t"
                    "mov $1, %%eax\n\t"
                    "xor %%edx, %%edx\n\t"
                    LABEL(de_insn) "div %%ecx" ::: "eax", "ecx", "edx");
}

ONCE static void do_ud(void *arg)
{
   (void)arg;
   __asm__ volatile(LABEL(ud_insn) "ud2");
}

static volatile unsigned bp_hits;
static uint64_t bp_rip;

static void bp_handler(kit_frame *f)
{
   bp_hits++;
   bp_rip = f->rip;   /* a trap: rip is past the int3 and execution goes on */
}


ONCE static void do_gp_noncanonical(void *arg)
{
   (void)arg;
   __asm__ volatile("movabs $0x8000000000000000, %%rax\n\t"
                    LABEL(gp_nc_insn) "mov (%%rax), %%rax" ::: "rax", "memory");
}

ONCE static void do_gp_selector(void *arg)
{
   (void)arg;
   /* Selector 0x1230: index past the GDT limit -> #GP(0x1230). */
   __asm__ volatile("mov $0x1230, %%eax\n\t"
                    LABEL(gp_sel_insn) "mov %%eax, %%fs\n\t"
                    "xor %%eax, %%eax\n\t"
                    "mov %%eax, %%fs" ::: "eax", "memory");
}

#define NP_ADDR 0x100001234ull   /* 4 GiB + x: no PDPT entry, not present */

ONCE static void do_pf_np_read(void *arg)
{
   (void)arg;
   __asm__ volatile("movabs $0x100001234, %%rax\n\t"
                    LABEL(pf_np_read) "mov (%%rax), %%rax" ::: "rax", "memory");
}

ONCE static void do_pf_np_write(void *arg)
{
   (void)arg;
   __asm__ volatile("movabs $0x100001234, %%rax\n\t"
                    LABEL(pf_np_write) "movl $1, (%%rax)" ::: "rax", "memory");
}

static uint64_t ro_addr;

ONCE static void do_pf_ro_write(void *arg)
{
   (void)arg;
   __asm__ volatile(LABEL(pf_ro_write) "movl $1, (%0)" :: "r"(ro_addr) : "memory");
}

/* ---- user-mode cases ----------------------------------------------------------- */

ONCE static uint64_t user_do_hlt(uint64_t arg)
{
   (void)arg;
   __asm__ volatile(LABEL(user_hlt) "hlt");
   return 0;
}

ONCE static uint64_t user_do_bp(uint64_t arg)
{
   __asm__ volatile("int3\n\t" LABEL(user_bp_after) "nop");
   return arg + 1;
}

ONCE static uint64_t user_do_read(uint64_t addr)
{
   uint64_t v;

   __asm__ volatile(LABEL(user_pf) "mov (%1), %0" : "=r"(v) : "r"(addr) : "memory");
   return v;
}

void kit_main(void)
{
   kit_fault f;
   bool faulted;
   uint64_t *pde, saved, ret;

   faulted = kit_try(do_de, NULL, &f);
   expect("divide-error", faulted, &f, 0, 0, de_insn, ~0ull, false);

   faulted = kit_try(do_ud, NULL, &f);
   expect("invalid-opcode", faulted, &f, 6, 0, ud_insn, ~0ull, false);


   faulted = kit_try(do_gp_noncanonical, NULL, &f);
   expect("gp-noncanonical", faulted, &f, 13, 0, gp_nc_insn, ~0ull, false);

   faulted = kit_try(do_gp_selector, NULL, &f);
   expect("gp-selector", faulted, &f, 13, 0x1230, gp_sel_insn, ~0ull, false);

   faulted = kit_try(do_pf_np_read, NULL, &f);
   expect("pf-not-present-read", faulted, &f, 14, 0x0, pf_np_read, NP_ADDR, false);

   faulted = kit_try(do_pf_np_write, NULL, &f);
   expect("pf-not-present-write", faulted, &f, 14, 0x2, pf_np_write, NP_ADDR, false);

   /* Write-protect the 2 MiB page at 8 MiB (CR0.WP is set): present|write. */
   ro_addr = (8u << 20) + 0x5678;
   pde = kit_pde(ro_addr);
   saved = *pde;
   *pde = saved & ~2ull;
   kit_invlpg(ro_addr);
   faulted = kit_try(do_pf_ro_write, NULL, &f);
   *pde = saved;
   kit_invlpg(ro_addr);
   expect("pf-write-protect", faulted, &f, 14, 0x3, pf_ro_write, ro_addr, false);

   /* #BP from CPL3 (DPL3 gate): the handler runs and user code goes on. */
   kit_set_handler(3, bp_handler);
   bp_hits = 0;
   faulted = kit_user_run(user_do_bp, 41, &ret, &f);
   kit_set_handler(3, NULL);
   kit_check("user-breakpoint", !faulted && ret == 42 && bp_hits == 1 &&
             bp_rip == (uint64_t)(uintptr_t)user_bp_after,
             "faulted %d, returned %lu, hits %u, rip 0x%lx (expected 0x%lx)", faulted, ret,
             bp_hits, bp_rip, (uint64_t)(uintptr_t)user_bp_after);

   faulted = kit_user_run(user_do_hlt, 0, &ret, &f);
   expect("user-privileged-gp", faulted, &f, 13, 0, user_hlt, ~0ull, true);

   /* A supervisor-only page read from CPL3: present|user. */
   pde = kit_pde(ro_addr);
   saved = *pde;
   *pde = saved & ~4ull;
   kit_invlpg(ro_addr);
   faulted = kit_user_run(user_do_read, ro_addr, &ret, &f);
   *pde = saved;
   kit_invlpg(ro_addr);
   expect("user-pf-supervisor-page", faulted, &f, 14, 0x5, user_pf, ro_addr, true);

   /* And the same read is fine once the page is user-accessible again. */
   faulted = kit_user_run(user_do_read, ro_addr, &ret, &f);
   kit_check("user-read-after-fault", !faulted, "faulted again: %s at 0x%lx",
             kit_exception_name((unsigned)f.vector), f.rip);
   kit_check("no-stray-interrupts", kit_unexpected_interrupts() == 0,
             "%u unexpected interrupts", kit_unexpected_interrupts());
}
