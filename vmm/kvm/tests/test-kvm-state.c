/*
 * vmm/kvm/tests/test-kvm-state.c - vCPU state through the monitor interface:
 * every get/set pair round-trips, the values set are the ones the guest
 * sees (registers, SSE state through XSAVE, CPUID), and the values the guest
 * produces are the ones get returns.
 */
#include "kvm-test-env.h"

#include <errno.h>
#include <string.h>

static vmm_regs reported;
static int reports;

static void pio_write(void *opaque, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t val)
{
   (void)opaque;
   (void)size;
   (void)val;
   if (port == 0xe1) {
      int e = vmm_vcpu_get_regs(cpu, &reported);

      KVMTEST_CHECK(e == 0, "get_regs inside the io callback: %d", e);
      reports++;
      vmm_vcpu_kick(cpu);
   }
}

static const vmm_io_ops io = { .pio_write = pio_write };

static void run_to_report(kvmtest_env *env)
{
   vmm_exit ex;
   int before = reports;
   int e = vmm_vcpu_run(env->cpu, &ex);

   KVMTEST_CHECK(e == 0 && ex.reason == VMM_EXIT_STOP, "run: rc %d reason %d (%s)", e,
                 ex.reason, ex.msg);
   KVMTEST_CHECK(reports == before + 1, "the guest did not report");
}

static void test_regs(kvmtest_env *env)
{
   vmm_regs a, b;

   memset(&a, 0, sizeof a);
   for (unsigned i = 0; i < VMM_NGPR; i++) {
      a.gpr[i] = 0x1111111111111111ull * (i + 1) ^ 0x0123456789abcdefull;
   }
   a.rip = 0x12345;
   a.rflags = 0x202 | 0x40 | 0x1;
   KVMTEST_CHECK(vmm_vcpu_set_regs(env->cpu, &a) == 0, "set_regs");
   KVMTEST_CHECK(vmm_vcpu_get_regs(env->cpu, &b) == 0, "get_regs");
   for (unsigned i = 0; i < VMM_NGPR; i++) {
      KVMTEST_CHECK(a.gpr[i] == b.gpr[i], "gpr %u: set %llx got %llx", i,
                    (unsigned long long)a.gpr[i], (unsigned long long)b.gpr[i]);
   }
   KVMTEST_CHECK(a.rip == b.rip && a.rflags == b.rflags, "rip/rflags");
   printf("ok - regs round trip\n");
}

static bool seg_eq(const vmm_seg *a, const vmm_seg *b)
{
   return a->base == b->base && a->limit == b->limit && a->selector == b->selector &&
          a->type == b->type && a->s == b->s && a->dpl == b->dpl &&
          a->present == b->present && a->l == b->l && a->db == b->db && a->g == b->g;
}

static void test_sregs(kvmtest_env *env)
{
   vmm_sregs a, b;

   kvmtest_enter(env, KVMTEST_GPA(kvmtest_state), true, 0);
   KVMTEST_CHECK(vmm_vcpu_get_sregs(env->cpu, &a) == 0, "get_sregs");
   a.seg[VMM_FS].base = 0x7fff12345000ull;
   a.seg[VMM_GS].base = 0xffff800000001000ull;
   a.cr2 = 0xdeadbeef000ull;
   a.cr8 = 5;
   KVMTEST_CHECK(vmm_vcpu_set_sregs(env->cpu, &a) == 0, "set_sregs");
   KVMTEST_CHECK(vmm_vcpu_get_sregs(env->cpu, &b) == 0, "get_sregs");
   for (unsigned i = 0; i < VMM_NSEG; i++) {
      KVMTEST_CHECK(seg_eq(&a.seg[i], &b.seg[i]), "segment %u differs", i);
   }
   KVMTEST_CHECK(seg_eq(&a.tr, &b.tr), "tr differs");
   KVMTEST_CHECK(a.gdt.base == b.gdt.base && a.gdt.limit == b.gdt.limit, "gdt differs");
   KVMTEST_CHECK(a.idt.base == b.idt.base && a.idt.limit == b.idt.limit, "idt differs");
   KVMTEST_CHECK(a.cr0 == b.cr0 && a.cr2 == b.cr2 && a.cr3 == b.cr3 && a.cr4 == b.cr4,
                 "control registers differ (cr0 %llx/%llx cr4 %llx/%llx)",
                 (unsigned long long)a.cr0, (unsigned long long)b.cr0,
                 (unsigned long long)a.cr4, (unsigned long long)b.cr4);
   KVMTEST_CHECK(a.cr8 == b.cr8 && a.efer == b.efer && a.apic_base == b.apic_base,
                 "cr8/efer/apic_base differ");
   printf("ok - sregs round trip\n");
}

/* Sets xmm0 through the XSAVE image, runs the guest (rax <- xmm0,
 * xmm1 <- rbx, rdx += rcx) and reads the results back. */
static void test_fpu_through_guest(kvmtest_env *env)
{
   static vmm_fpu f, g;
   const uint64_t x0 = 0x0badc0ffee15900dull, bx = 0x5eed5eed12345678ull;
   vmm_regs r;

   kvmtest_enter(env, KVMTEST_GPA(kvmtest_state), true, 0);
   KVMTEST_CHECK(vmm_vcpu_get_fpu(env->cpu, &f) == 0, "get_fpu");
   KVMTEST_CHECK(f.xcr0 & 1, "xcr0 %llx lacks x87", (unsigned long long)f.xcr0);
   memcpy(f.xsave + 160, &x0, 8);                        /* XMM0, legacy area */
   f.xsave[512] |= 2;                                    /* XSTATE_BV: SSE in use */
   KVMTEST_CHECK(vmm_vcpu_set_fpu(env->cpu, &f) == 0, "set_fpu");
   KVMTEST_CHECK(vmm_vcpu_get_fpu(env->cpu, &g) == 0, "get_fpu");
   KVMTEST_CHECK(memcmp(f.xsave, g.xsave, 32) == 0, "x87 control/status words differ");
   KVMTEST_CHECK(memcmp(f.xsave + 160, g.xsave + 160, 256) == 0, "XMM registers differ");
   KVMTEST_CHECK(f.xcr0 == g.xcr0, "xcr0 differs");

   KVMTEST_CHECK(vmm_vcpu_get_regs(env->cpu, &r) == 0, "get_regs");
   r.gpr[VMM_RBX] = bx;
   r.gpr[VMM_RCX] = 1000;
   r.gpr[VMM_RDX] = 234;
   KVMTEST_CHECK(vmm_vcpu_set_regs(env->cpu, &r) == 0, "set_regs");
   run_to_report(env);
   KVMTEST_CHECK(reported.gpr[VMM_RAX] == x0, "guest read xmm0 = %llx, set %llx",
                 (unsigned long long)reported.gpr[VMM_RAX], (unsigned long long)x0);
   KVMTEST_CHECK(reported.gpr[VMM_RDX] == 1234, "guest computed rdx = %llu",
                 (unsigned long long)reported.gpr[VMM_RDX]);
   KVMTEST_CHECK(vmm_vcpu_get_fpu(env->cpu, &g) == 0, "get_fpu");
   KVMTEST_CHECK(memcmp(g.xsave + 176, &bx, 8) == 0, "xmm1 in the XSAVE image is not rbx");
   KVMTEST_CHECK(vmm_vcpu_get_regs(env->cpu, &r) == 0 && r.gpr[VMM_RDX] == 1234,
                 "registers after the run");
   printf("ok - FPU/XSAVE state reaches the guest and comes back\n");
}

static void test_cpuid_in_guest(kvmtest_env *env, uint32_t leaf, vmm_regs *out)
{
   vmm_regs r;

   /* At CPL0: CPUID in guest user mode is not intercepted on KVM-PVM hosts
    * without CPUID faulting and returns the host's values there. */
   kvmtest_enter(env, KVMTEST_GPA(kvmtest_cpuid), false, 0);
   KVMTEST_CHECK(vmm_vcpu_get_regs(env->cpu, &r) == 0, "get_regs");
   r.gpr[VMM_RAX] = leaf;
   r.gpr[VMM_RCX] = 0;
   KVMTEST_CHECK(vmm_vcpu_set_regs(env->cpu, &r) == 0, "set_regs");
   run_to_report(env);
   *out = reported;
}

static void test_cpuid(kvmtest_env *env)
{
   static vmm_cpuid_entry e[VMM_CPUID_MAX_ENTRIES];
   unsigned n = 0;
   vmm_regs r;
   char vendor[13];
   uint32_t tsc_khz = 0, bus_khz;

   KVMTEST_CHECK(vmm_vcpu_get_cpuid(env->cpu, e, 1, &n) == -ENOSPC && n > 1,
                 "get_cpuid with a short buffer must say how many");
   KVMTEST_CHECK(vmm_vcpu_get_cpuid(env->cpu, e, VMM_CPUID_MAX_ENTRIES, &n) == 0, "get_cpuid");
   for (unsigned i = 0; i < n; i++) {
      if (e[i].function == 0x40000010) {
         tsc_khz = e[i].eax;
      }
   }
   KVMTEST_CHECK(tsc_khz > 100000, "leaf 0x40000010 TSC %u kHz", tsc_khz);

   test_cpuid_in_guest(env, 0x40000000, &r);
   memcpy(vendor, &r.gpr[VMM_RBX], 4);
   memcpy(vendor + 4, &r.gpr[VMM_RCX], 4);
   memcpy(vendor + 8, &r.gpr[VMM_RDX], 4);
   vendor[12] = 0;
   KVMTEST_CHECK(strcmp(vendor, "VMwareVMware") == 0, "hypervisor vendor '%s'", vendor);
   KVMTEST_CHECK((uint32_t)r.gpr[VMM_RAX] == 0x40000010, "max hypervisor leaf %llx",
                 (unsigned long long)r.gpr[VMM_RAX]);

   test_cpuid_in_guest(env, 0x40000010, &r);
   KVMTEST_CHECK((uint32_t)r.gpr[VMM_RAX] == tsc_khz, "guest TSC kHz %u, model %u",
                 (uint32_t)r.gpr[VMM_RAX], tsc_khz);
   bus_khz = (uint32_t)r.gpr[VMM_RBX];
   KVMTEST_CHECK(bus_khz >= 1000, "guest APIC bus kHz %u", bus_khz);

   test_cpuid_in_guest(env, 1, &r);
   KVMTEST_CHECK(r.gpr[VMM_RCX] & (1u << 31), "leaf 1 lacks the hypervisor bit");
   printf("ok - CPUID: VMwareVMware, TSC %u kHz, bus %u kHz, hypervisor bit\n", tsc_khz,
          bus_khz);
}

static void test_msrs(kvmtest_env *env)
{
   const uint32_t *list;
   unsigned n = vmm_state_msrs(&list);
   vmm_msr m[32], w[3], bad = { .index = 0x12345678 };

   KVMTEST_CHECK(n <= 32, "too many state MSRs");
   for (unsigned i = 0; i < n; i++) {
      m[i].index = list[i];
   }
   KVMTEST_CHECK(vmm_vcpu_get_msrs(env->cpu, m, n) == 0, "get every state MSR");
   w[0] = (vmm_msr){ 0xc0000082, 0xffffffff81000000ull };   /* LSTAR */
   w[1] = (vmm_msr){ 0xc0000102, 0xffff888000123000ull };   /* KERNEL_GS_BASE */
   w[2] = (vmm_msr){ 0x00000277, 0x0007010600070106ull };   /* PAT */
   KVMTEST_CHECK(vmm_vcpu_set_msrs(env->cpu, w, 3) == 0, "set_msrs");
   for (unsigned i = 0; i < 3; i++) {
      vmm_msr r = { .index = w[i].index };

      KVMTEST_CHECK(vmm_vcpu_get_msrs(env->cpu, &r, 1) == 0 && r.value == w[i].value,
                    "MSR %x: %llx", w[i].index, (unsigned long long)r.value);
   }
   KVMTEST_CHECK(vmm_vcpu_get_msrs(env->cpu, &bad, 1) < 0, "a nonexistent MSR must fail");
   printf("ok - MSRs\n");
}

static void test_lapic_events_mp(kvmtest_env *env)
{
   vmm_lapic a, b;
   vmm_events e, f;
   vmm_mp_state st;
   vmm_debugregs d, d2;
   uint32_t v;

   KVMTEST_CHECK(vmm_vcpu_get_lapic(env->cpu, &a) == 0, "get_lapic");
   memcpy(&v, a.regs + 0x30, 4);
   KVMTEST_CHECK((v & 0xff) >= 0x10, "LAPIC version register %x", v);
   v = 0x1ff;
   memcpy(a.regs + 0xf0, &v, 4);      /* SVR: enabled, spurious 0xff */
   v = 0x12345;
   memcpy(a.regs + 0x380, &v, 4);     /* timer initial count */
   v = 0xb;
   memcpy(a.regs + 0x3e0, &v, 4);     /* divide by 1 */
   KVMTEST_CHECK(vmm_vcpu_set_lapic(env->cpu, &a) == 0, "set_lapic");
   KVMTEST_CHECK(vmm_vcpu_get_lapic(env->cpu, &b) == 0, "get_lapic");
   KVMTEST_CHECK(memcmp(a.regs + 0xf0, b.regs + 0xf0, 4) == 0, "SVR");
   KVMTEST_CHECK(memcmp(a.regs + 0x380, b.regs + 0x380, 4) == 0, "TMICT");
   KVMTEST_CHECK(memcmp(a.regs + 0x3e0, b.regs + 0x3e0, 4) == 0, "TDCR");

   KVMTEST_CHECK(vmm_vcpu_get_events(env->cpu, &e) == 0, "get_events");
   e.nmi_masked = 1;
   e.interrupt_shadow = VMM_SHADOW_STI;
   KVMTEST_CHECK(vmm_vcpu_set_events(env->cpu, &e) == 0, "set_events");
   KVMTEST_CHECK(vmm_vcpu_get_events(env->cpu, &f) == 0, "get_events");
   KVMTEST_CHECK(f.nmi_masked == 1 && f.interrupt_shadow == VMM_SHADOW_STI,
                 "events: masked %u shadow %u", f.nmi_masked, f.interrupt_shadow);
   e.nmi_masked = 0;
   e.interrupt_shadow = 0;
   KVMTEST_CHECK(vmm_vcpu_set_events(env->cpu, &e) == 0, "set_events");

   KVMTEST_CHECK(vmm_vcpu_get_mp_state(env->cpu, &st) == 0 && st == VMM_MP_RUNNABLE,
                 "BSP mp_state %d", st);
   KVMTEST_CHECK(vmm_vcpu_set_mp_state(env->cpu, VMM_MP_HALTED) == 0, "set halted");
   KVMTEST_CHECK(vmm_vcpu_get_mp_state(env->cpu, &st) == 0 && st == VMM_MP_HALTED,
                 "mp_state after set %d", st);
   KVMTEST_CHECK(vmm_vcpu_set_mp_state(env->cpu, VMM_MP_RUNNABLE) == 0, "set runnable");
   KVMTEST_CHECK(vmm_vcpu_set_mp_state(env->cpu, (vmm_mp_state)9) == -EINVAL,
                 "a bad mp_state must be refused");

   KVMTEST_CHECK(vmm_vcpu_get_debugregs(env->cpu, &d) == 0, "get_debugregs");
   d.dr[0] = 0x1000;
   d.dr[3] = 0x7fff0000;
   d.dr7 = 0x400 | 0x3;   /* reserved bit 10 set; L0 and G0 enabled */
   KVMTEST_CHECK(vmm_vcpu_set_debugregs(env->cpu, &d) == 0, "set_debugregs");
   KVMTEST_CHECK(vmm_vcpu_get_debugregs(env->cpu, &d2) == 0, "get_debugregs");
   KVMTEST_CHECK(d2.dr[0] == d.dr[0] && d2.dr[3] == d.dr[3] && d2.dr7 == d.dr7,
                 "debug registers: dr0 %llx dr3 %llx dr7 %llx",
                 (unsigned long long)d2.dr[0], (unsigned long long)d2.dr[3],
                 (unsigned long long)d2.dr7);
   d.dr7 = 0x400;
   KVMTEST_CHECK(vmm_vcpu_set_debugregs(env->cpu, &d) == 0, "clear dr7");
   printf("ok - LAPIC, events, mp_state, debug registers\n");
}

static void test_cpuid_after_run(kvmtest_env *env)
{
   static vmm_cpuid_entry e[VMM_CPUID_MAX_ENTRIES];
   unsigned n;

   KVMTEST_CHECK(vmm_vcpu_get_cpuid(env->cpu, e, VMM_CPUID_MAX_ENTRIES, &n) == 0, "get_cpuid");
   KVMTEST_CHECK(vmm_vcpu_set_cpuid(env->cpu, e, n) == -EBUSY,
                 "changing CPUID after the first run must be refused");
   printf("ok - CPUID is fixed after the first run\n");
}

int main(void)
{
   kvmtest_env env;

   kvmtest_require_kvm();
   setvbuf(stdout, NULL, _IONBF, 0);
   kvmtest_env_init(&env, 1, &io, NULL);
   test_regs(&env);
   test_sregs(&env);
   test_msrs(&env);
   test_lapic_events_mp(&env);
   test_fpu_through_guest(&env);
   test_cpuid(&env);
   test_cpuid_after_run(&env);
   kvmtest_env_fini(&env);
   printf("PASS\n");
   return 0;
}
