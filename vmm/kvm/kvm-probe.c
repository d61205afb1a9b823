/*
 * vmm/kvm/kvm-probe.c - does KVM run guest kernel-mode code natively?
 *
 * Runs "1: dec rcx; jnz 1b; out 0x80, al" at CPL0 in 64-bit mode in a
 * throwaway VM, once with rcx = 1 (the cost of entering and leaving the
 * guest) and once with a count large enough to take a couple of
 * milliseconds; the difference divided by the instructions executed is the
 * time per guest instruction.
 */
#include "vmm/monitor.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PROBE_MEM   (2u << 20)
#define PROBE_PML4  0x1000u
#define PROBE_PDPT  0x2000u
#define PROBE_PD    0x3000u
#define PROBE_CODE  0x10000u
#define PROBE_PORT  0x80

static const uint8_t probe_code[] = {
   0x48, 0xff, 0xc9,   /* 1: dec rcx */
   0x75, 0xfb,         /*    jnz 1b */
   0xe6, PROBE_PORT,   /*    out 0x80, al */
   0xeb, 0xfe,         /*    jmp . (not reached: the out stops the vCPU) */
};

static void probe_out(void *opaque, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t val)
{
   (void)val;
   (void)size;
   if (port == PROBE_PORT) {
      *(int *)opaque = 1;
      vmm_vcpu_kick(cpu);
   }
}

static const vmm_io_ops probe_io = { .pio_write = probe_out };

static void seterr(char *err, size_t errlen, const char *fmt, ...)
   __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
   va_list ap;

   if (!err || !errlen) {
      return;
   }
   va_start(ap, fmt);
   vsnprintf(err, errlen, fmt, ap);
   va_end(ap);
}

static double now_ns(void)
{
   struct timespec ts;

   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static vmm_seg flat(uint16_t sel, uint8_t type, bool code)
{
   return (vmm_seg){
      .base = 0, .limit = 0xffffffffu, .selector = sel, .type = type, .s = 1,
      .dpl = 0, .present = 1, .l = code, .db = !code, .g = 1,
   };
}

static int setup_long_mode(vmm_vcpu *cpu, uint8_t *mem)
{
   vmm_sregs s;
   uint64_t *pml4 = (uint64_t *)(mem + PROBE_PML4);
   uint64_t *pdpt = (uint64_t *)(mem + PROBE_PDPT);
   uint64_t *pd = (uint64_t *)(mem + PROBE_PD);
   int r;

   pml4[0] = PROBE_PDPT | 0x3;
   pdpt[0] = PROBE_PD | 0x3;
   pd[0] = 0x0 | 0x83;   /* 2 MiB page, present, writable */
   memcpy(mem + PROBE_CODE, probe_code, sizeof probe_code);

   r = vmm_vcpu_get_sregs(cpu, &s);
   if (r < 0) {
      return r;
   }
   s.seg[VMM_CS] = flat(0x08, 0xb, true);
   s.seg[VMM_DS] = s.seg[VMM_ES] = s.seg[VMM_SS] = flat(0x10, 0x3, false);
   s.seg[VMM_FS] = s.seg[VMM_GS] = flat(0x10, 0x3, false);
   s.tr = (vmm_seg){ .limit = 0x67, .selector = 0x18, .type = 0xb, .present = 1 };
   s.ldtr = (vmm_seg){ .type = 0x2, .unusable = 1 };
   s.cr0 = 0x80000033;   /* PG NE ET MP PE */
   s.cr3 = PROBE_PML4;
   s.cr4 = 0x20;         /* PAE */
   s.efer = 0x500;       /* LMA LME */
   return vmm_vcpu_set_sregs(cpu, &s);
}

/* One run of the loop with rcx = n; returns elapsed ns or a negative errno. */
static double run_loop(vmm_vcpu *cpu, uint64_t n, int *hit, char *err, size_t errlen)
{
   vmm_regs regs;
   vmm_exit ex;
   double t0, t1;
   int r;

   memset(&regs, 0, sizeof regs);
   regs.rip = PROBE_CODE;
   regs.rflags = 0x2;
   regs.gpr[VMM_RCX] = n;
   regs.gpr[VMM_RSP] = PROBE_MEM - 16;
   r = vmm_vcpu_set_regs(cpu, &regs);
   if (r < 0) {
      seterr(err, errlen, "probe: cannot set registers: %s", strerror(-r));
      return r;
   }
   *hit = 0;
   t0 = now_ns();
   r = vmm_vcpu_run(cpu, &ex);
   t1 = now_ns();
   if (r < 0 || ex.reason != VMM_EXIT_STOP || !*hit) {
      seterr(err, errlen, "probe: the test loop did not finish: %s",
             r < 0 ? strerror(-r) : ex.msg[0] ? ex.msg : "no exit through port 0x80");
      return -EIO;
   }
   return t1 - t0;
}

int vmm_kvm_probe_native(double *ns_per_insn, char *err, size_t errlen)
{
   int hit = 0;
   vmm_config cfg = {
      .kind = VMM_KIND_HARDWARE, .nvcpus = 1, .io = &probe_io, .io_opaque = &hit,
      .kernel_irqchip = true,
   };
   vmm_vm *vm;
   vmm_vcpu *cpu;
   uint8_t *mem;
   double base = 0, t = 0;
   uint64_t n;
   int r;

   vm = vmm_vm_create(&cfg, err, errlen);
   if (!vm) {
      return -ENODEV;
   }
   mem = mmap(NULL, PROBE_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   if (mem == MAP_FAILED) {
      seterr(err, errlen, "probe: cannot allocate guest memory");
      vmm_vm_destroy(vm);
      return -ENOMEM;
   }
   r = vmm_vm_map(vm, 0, mem, PROBE_MEM, false);
   if (r < 0) {
      seterr(err, errlen, "probe: cannot map guest memory: %s", strerror(-r));
      goto out;
   }
   cpu = vmm_vcpu_create(vm, 0, err, errlen);
   if (!cpu) {
      r = -ENODEV;
      goto out;
   }
   r = setup_long_mode(cpu, mem);
   if (r < 0) {
      seterr(err, errlen, "probe: cannot enter long mode: %s", strerror(-r));
      goto out;
   }
   /* The entry/exit cost: best of three. */
   for (int i = 0; i < 3; i++) {
      double d = run_loop(cpu, 1, &hit, err, errlen);

      if (d < 0) {
         r = (int)d;
         goto out;
      }
      if (i == 0 || d < base) {
         base = d;
      }
   }
   /* Grow the loop until it runs for 2 ms (or 2^26 iterations). */
   for (n = 2048;; n *= 8) {
      t = run_loop(cpu, n, &hit, err, errlen);
      if (t < 0) {
         r = (int)t;
         goto out;
      }
      if (t - base >= 2e6 || n >= (1ull << 26)) {
         break;
      }
   }
   *ns_per_insn = t > base ? (t - base) / (2.0 * (double)(n - 1)) : 0.0;
   r = 0;
out:
   vmm_vm_destroy(vm);
   munmap(mem, PROBE_MEM);
   return r;
}
