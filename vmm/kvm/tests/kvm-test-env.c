/*
 * vmm/kvm/tests/kvm-test-env.c - see kvm-test-env.h.
 */
#include "kvm-test-env.h"

#include <string.h>
#include <sys/mman.h>
#include <time.h>

vmm_kind kvmtest_kind = VMM_KIND_HARDWARE;
const vmm_irqchip_ops *kvmtest_irqchip;
void *kvmtest_irqchip_opaque;

void kvmtest_require_kvm(void)
{
   char err[256];
   const char *mon = getenv("VMM_TEST_MONITOR");

   /* The generic tests (stop, io) also run on the software monitor. */
   if (mon && strcmp(mon, "software") == 0) {
      kvmtest_kind = VMM_KIND_SOFTWARE;
      printf("monitor: software\n");
      return;
   }
   if (vmm_kvm_check(err, sizeof err) < 0) {
      printf("SKIP: %s\n", err);
      exit(77);
   }
}

static void put64(uint8_t *mem, uint64_t gpa, uint64_t v)
{
   memcpy(mem + gpa, &v, 8);
}

static uint64_t tss_desc_low(uint64_t base, uint32_t limit)
{
   return (limit & 0xffffull) | (base & 0xffffffull) << 16 | 0x89ull << 40 |
          (uint64_t)((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
}

void kvmtest_env_init(kvmtest_env *env, unsigned ncpus, const vmm_io_ops *io, void *opaque)
{
   vmm_config cfg = {
      .kind = kvmtest_kind, .nvcpus = ncpus, .io = io, .io_opaque = opaque,
      .kernel_irqchip = kvmtest_kind == VMM_KIND_HARDWARE,
      .irqchip = kvmtest_irqchip, .irqchip_opaque = kvmtest_irqchip_opaque,
   };
   char err[256];
   size_t code_len = (size_t)(kvmtest_guest_end - kvmtest_guest_start);
   int r;

   memset(env, 0, sizeof *env);
   KVMTEST_CHECK(ncpus >= 1 && ncpus <= KVMTEST_MAX_CPUS, "bad vCPU count %u", ncpus);
   env->vm = vmm_vm_create(&cfg, err, sizeof err);
   KVMTEST_CHECK(env->vm, "vmm_vm_create: %s", err);
   env->mem = mmap(NULL, KVMTEST_RAM, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   KVMTEST_CHECK(env->mem != MAP_FAILED, "mmap guest RAM");
   r = vmm_vm_map(env->vm, 0, env->mem, KVMTEST_RAM, false);
   KVMTEST_CHECK(r == 0, "vmm_vm_map: %d", r);

   /* Identity map 4 GiB with 2 MiB pages, present/writable/user. */
   put64(env->mem, KVMTEST_PML4, KVMTEST_PDPT | 0x7);
   for (unsigned i = 0; i < 4; i++) {
      put64(env->mem, KVMTEST_PDPT + 8 * i, (KVMTEST_PD + 0x1000ull * i) | 0x7);
   }
   for (unsigned i = 0; i < 4 * 512; i++) {
      put64(env->mem, KVMTEST_PD + 8ull * i, ((uint64_t)i << 21) | 0x87);
   }
   /* GDT: null, kernel code/data, user code/data, TSS. */
   put64(env->mem, KVMTEST_GDT + 0x08, 0x00af9a000000ffffull);
   put64(env->mem, KVMTEST_GDT + 0x10, 0x00cf92000000ffffull);
   put64(env->mem, KVMTEST_GDT + 0x18, 0x00affa000000ffffull);
   put64(env->mem, KVMTEST_GDT + 0x20, 0x00cff2000000ffffull);
   put64(env->mem, KVMTEST_GDT + 0x28, tss_desc_low(KVMTEST_TSS, KVMTEST_TSS_LIMIT));
   put64(env->mem, KVMTEST_GDT + 0x30, 0);
   /* TSS: RSP0 and an I/O permission bitmap that allows every port to CPL3
    * (all zero, then the terminating 0xff byte). The bitmap rather than
    * IOPL 3: KVM-PVM hosts ignore IOPL for guest user mode. */
   put64(env->mem, KVMTEST_TSS + 4, KVMTEST_KERN_STACK);
   env->mem[KVMTEST_TSS + 0x66] = 0x68;
   env->mem[KVMTEST_TSS + 0x68 + 8192] = 0xff;

   KVMTEST_CHECK(code_len < KVMTEST_USER_STACK - KVMTEST_CODE - 0x1000, "guest code too big");
   memcpy(env->mem + KVMTEST_CODE, kvmtest_guest_start, code_len);

   for (unsigned i = 0; i < ncpus; i++) {
      env->cpus[i] = vmm_vcpu_create(env->vm, i, err, sizeof err);
      KVMTEST_CHECK(env->cpus[i], "vmm_vcpu_create(%u): %s", i, err);
   }
   env->ncpus = ncpus;
   env->cpu = env->cpus[0];
}

void kvmtest_env_fini(kvmtest_env *env)
{
   vmm_vm_destroy(env->vm);
   munmap(env->mem, KVMTEST_RAM);
}

void kvmtest_set_gate(kvmtest_env *env, unsigned vector, uint64_t handler)
{
   uint64_t lo = (handler & 0xffff) | (uint64_t)KVMTEST_SEL_KCODE << 16 |
                 0x8eull << 40 | ((handler >> 16) & 0xffff) << 48;
   uint64_t hi = handler >> 32;

   put64(env->mem, KVMTEST_IDT + 16ull * vector, lo);
   put64(env->mem, KVMTEST_IDT + 16ull * vector + 8, hi);
}

static vmm_seg seg(uint16_t sel, uint8_t type, uint8_t dpl, bool code)
{
   return (vmm_seg){
      .base = 0, .limit = 0xffffffffu, .selector = sel, .type = type, .s = 1,
      .dpl = dpl, .present = 1, .l = code, .db = !code, .g = 1,
   };
}

void kvmtest_enter(kvmtest_env *env, uint64_t rip, bool user, uint64_t rflags)
{
   kvmtest_enter_cpu(env->cpu, rip, user, rflags);
}

double kvmtest_now(void)
{
   struct timespec ts;

   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void kvmtest_enter_cpu(vmm_vcpu *cpu, uint64_t rip, bool user, uint64_t rflags)
{
   vmm_sregs s;
   vmm_regs r;
   int e;

   e = vmm_vcpu_get_sregs(cpu, &s);
   KVMTEST_CHECK(e == 0, "get_sregs: %d", e);
   if (user) {
      s.seg[VMM_CS] = seg(KVMTEST_SEL_UCODE, 0xb, 3, true);
      s.seg[VMM_SS] = seg(KVMTEST_SEL_UDATA, 0x3, 3, false);
   } else {
      s.seg[VMM_CS] = seg(KVMTEST_SEL_KCODE, 0xb, 0, true);
      s.seg[VMM_SS] = seg(KVMTEST_SEL_KDATA, 0x3, 0, false);
   }
   s.seg[VMM_DS] = s.seg[VMM_ES] = s.seg[VMM_FS] = s.seg[VMM_GS] = s.seg[VMM_SS];
   s.tr = (vmm_seg){ .base = KVMTEST_TSS, .limit = KVMTEST_TSS_LIMIT, .selector = KVMTEST_SEL_TSS,
                     .type = 0xb, .present = 1 };
   s.ldtr = (vmm_seg){ .type = 0x2, .unusable = 1 };
   s.gdt = (vmm_dtable){ .base = KVMTEST_GDT, .limit = 0x37 };
   s.idt = (vmm_dtable){ .base = KVMTEST_IDT, .limit = 0xfff };
   s.cr0 = 0x80050033;              /* PG AM WP NE ET MP PE */
   s.cr3 = KVMTEST_PML4;
   s.cr4 = 0x20 | 0x200 | 0x400;    /* PAE OSFXSR OSXMMEXCPT */
   s.efer = 0x500;                  /* LMA LME */
   e = vmm_vcpu_set_sregs(cpu, &s);
   KVMTEST_CHECK(e == 0, "set_sregs: %d", e);

   memset(&r, 0, sizeof r);
   r.rip = rip;
   r.rflags = rflags | 0x2;
   r.gpr[VMM_RSP] = user ? KVMTEST_USER_STACK : KVMTEST_KERN_STACK;
   e = vmm_vcpu_set_regs(cpu, &r);
   KVMTEST_CHECK(e == 0, "set_regs: %d", e);
}
