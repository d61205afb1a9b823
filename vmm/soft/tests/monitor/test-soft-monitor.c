/*
 * vmm/soft/tests/monitor/test-soft-monitor.c - the software monitor through
 * the monitor interface (vmm/monitor.h): configuration, the CPUID model,
 * HLT sleeping and waking through a userspace irqchip, NMI, events injected
 * through set_events, stop while halted, SMP start-up with INIT/SIPI,
 * memory-map changes while a vCPU runs, and a checkpoint moved from the KVM
 * monitor to the software monitor and back (skipped without KVM).
 *
 * The guest environment is the KVM tests' (kvm-test-env.h) with
 * kvmtest_kind set to the software monitor; extra guest code is written
 * into guest RAM as bytes.
 */
#include "vmm/kvm/tests/kvm-test-env.h"

#include <cpuid.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CODE2 0x40000u     /* extra guest code written by this test */
#define AP_TRAMPOLINE 0x30000u

/* ---- a mock userspace irqchip ------------------------------------------------- */

typedef struct mock_ic {
   atomic_int vector[KVMTEST_MAX_CPUS];      /* pending vector or -1 */
   atomic_uint events[KVMTEST_MAX_CPUS];     /* VMM_IRQCHIP_EV_NMI/INIT/SIPI */
   uint8_t sipi_vector[KVMTEST_MAX_CPUS];
   uint64_t apic_base[KVMTEST_MAX_CPUS];
   uint64_t cr8[KVMTEST_MAX_CPUS];
   vmm_lapic page[KVMTEST_MAX_CPUS];
   atomic_uint acks;
   uint64_t last_tsc;
} mock_ic;

static mock_ic ic;

static int ic_pending(void *o, unsigned vcpu)
{
   (void)o;
   return atomic_load(&ic.vector[vcpu]);
}

static int ic_ack(void *o, unsigned vcpu)
{
   (void)o;
   atomic_fetch_add(&ic.acks, 1);
   return atomic_exchange(&ic.vector[vcpu], -1);
}

static unsigned ic_events(void *o, unsigned vcpu)
{
   (void)o;
   return atomic_load(&ic.events[vcpu]) |
          (atomic_load(&ic.vector[vcpu]) >= 0 ? VMM_IRQCHIP_EV_INTR : 0);
}

static bool take(unsigned vcpu, unsigned bit)
{
   return atomic_fetch_and(&ic.events[vcpu], ~bit) & bit;
}

static bool ic_take_nmi(void *o, unsigned vcpu) { (void)o; return take(vcpu, VMM_IRQCHIP_EV_NMI); }
static bool ic_take_init(void *o, unsigned vcpu) { (void)o; return take(vcpu, VMM_IRQCHIP_EV_INIT); }

static bool ic_take_sipi(void *o, unsigned vcpu, uint8_t *vector)
{
   (void)o;
   *vector = ic.sipi_vector[vcpu];
   return take(vcpu, VMM_IRQCHIP_EV_SIPI);
}

static bool ic_msr_read(void *o, unsigned vcpu, uint32_t msr, uint64_t *val)
{
   (void)o;
   if (msr != 0x1b) {
      return false;
   }
   *val = ic.apic_base[vcpu];
   return true;
}

static bool ic_msr_write(void *o, unsigned vcpu, uint32_t msr, uint64_t val, uint64_t tsc)
{
   (void)o;
   ic.last_tsc = tsc;
   if (msr != 0x1b) {
      return false;
   }
   ic.apic_base[vcpu] = val;
   return true;
}

static uint64_t ic_get_cr8(void *o, unsigned vcpu) { (void)o; return ic.cr8[vcpu]; }
static void ic_set_cr8(void *o, unsigned vcpu, uint64_t v) { (void)o; ic.cr8[vcpu] = v; }

static int ic_get_lapic(void *o, unsigned vcpu, vmm_lapic *l)
{
   (void)o;
   *l = ic.page[vcpu];
   return 0;
}

static int ic_set_lapic(void *o, unsigned vcpu, const vmm_lapic *l)
{
   (void)o;
   ic.page[vcpu] = *l;
   return 0;
}

static const vmm_irqchip_ops ic_ops = {
   .pending = ic_pending, .ack = ic_ack, .events = ic_events,
   .take_nmi = ic_take_nmi, .take_init = ic_take_init, .take_sipi = ic_take_sipi,
   .msr_read = ic_msr_read, .msr_write = ic_msr_write,
   .get_cr8 = ic_get_cr8, .set_cr8 = ic_set_cr8,
   .get_lapic = ic_get_lapic, .set_lapic = ic_set_lapic,
};

static void ic_reset(void)
{
   memset(&ic, 0, sizeof ic);
   for (unsigned i = 0; i < KVMTEST_MAX_CPUS; i++) {
      atomic_init(&ic.vector[i], -1);
      ic.apic_base[i] = 0xfee00800ull | (i == 0 ? 0x100 : 0);
   }
}

/* ---- io: the test ports ---------------------------------------------------------- */

static kvmtest_env env;
static atomic_int last_vector = -1;
static atomic_uint vector_hits;
static atomic_uint ap_seen[KVMTEST_MAX_CPUS];
static atomic_uint reports;

static void pio_write(void *opaque, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t val)
{
   (void)opaque;
   (void)size;
   switch (port) {
   case 0xe1:            /* report: stop */
      atomic_fetch_add(&reports, 1);
      vmm_vcpu_kick(cpu);
      break;
   case 0xe2:            /* interrupt handler ran */
      atomic_store(&last_vector, (int)(val & 0xff));
      atomic_fetch_add(&vector_hits, 1);
      break;
   case 0xe5:            /* an AP says hello */
      atomic_fetch_add(&ap_seen[vmm_vcpu_index(cpu)], 1);
      break;
   case 0xe6: {          /* the BSP sends INIT + SIPI to AP val */
      unsigned ap = val & 0xff;

      KVMTEST_CHECK(ap < env.ncpus, "bad AP %u", ap);
      ic.sipi_vector[ap] = AP_TRAMPOLINE >> 12;
      atomic_fetch_or(&ic.events[ap], VMM_IRQCHIP_EV_INIT | VMM_IRQCHIP_EV_SIPI);
      KVMTEST_CHECK(vmm_vm_interrupt(vmm_vcpu_vm(cpu), ap) == 0, "vmm_vm_interrupt");
      break;
   }
   default:
      break;
   }
}

static const vmm_io_ops io = { .pio_write = pio_write };

static void put(uint64_t gpa, const void *p, size_t n)
{
   memcpy(env.mem + gpa, p, n);
}

#define PUT(gpa, ...) do { static const uint8_t b_[] = { __VA_ARGS__ }; put((gpa), b_, sizeof b_); } while (0)

static void env_soft(unsigned ncpus, bool with_ic)
{
   ic_reset();
   kvmtest_kind = VMM_KIND_SOFTWARE;
   kvmtest_irqchip = with_ic ? &ic_ops : NULL;
   kvmtest_irqchip_opaque = NULL;
   kvmtest_env_init(&env, ncpus, &io, NULL);
   for (unsigned v = 0x20; v < 0x100; v++) {
      kvmtest_set_gate(&env, v, KVMTEST_GPA(kvmtest_vec_0x41));
   }
   kvmtest_set_gate(&env, 0x02, KVMTEST_GPA(kvmtest_vec_0x02));
   kvmtest_set_gate(&env, 0x40, KVMTEST_GPA(kvmtest_vec_0x40));
   kvmtest_set_gate(&env, 0x41, KVMTEST_GPA(kvmtest_vec_0x41));
   atomic_store(&last_vector, -1);
   atomic_store(&vector_hits, 0);
   atomic_store(&reports, 0);
}

static void sleep_ms(unsigned ms)
{
   struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

   while (nanosleep(&ts, &ts) != 0) {
   }
}

/* ---- vCPU threads ------------------------------------------------------------------ */

typedef struct runner {
   vmm_vcpu *cpu;
   vmm_exit ex;
   int rc;
   double cpu_s;          /* thread CPU time spent in run */
   atomic_int done;
   pthread_t t;
} runner;

static void *runner_main(void *arg)
{
   runner *r = arg;
   struct timespec a, b;

   clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
   r->rc = vmm_vcpu_run(r->cpu, &r->ex);
   clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
   r->cpu_s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) * 1e-9;
   atomic_store(&r->done, 1);
   return NULL;
}

static void start(runner *r, vmm_vcpu *cpu)
{
   memset(r, 0, sizeof *r);
   r->cpu = cpu;
   KVMTEST_CHECK(pthread_create(&r->t, NULL, runner_main, r) == 0, "pthread_create");
}

static void join(runner *r)
{
   pthread_join(r->t, NULL);
}

static bool wait_for(atomic_uint *v, unsigned want, unsigned ms)
{
   for (unsigned i = 0; i < ms; i++) {
      if (atomic_load(v) >= want) {
         return true;
      }
      sleep_ms(1);
   }
   return atomic_load(v) >= want;
}

static vmm_regs regs_of(vmm_vcpu *cpu)
{
   vmm_regs r;

   KVMTEST_CHECK(vmm_vcpu_get_regs(cpu, &r) == 0, "get_regs");
   return r;
}

/* ---- the tests ----------------------------------------------------------------------- */

static void test_config(void)
{
   char err[256];
   vmm_config cfg = { .kind = VMM_KIND_SOFTWARE, .nvcpus = 1, .kernel_irqchip = true };
   vmm_irqchip_ops half = { .pending = ic_pending };
   vmm_vm *vm;

   vm = vmm_vm_create(&cfg, err, sizeof err);
   KVMTEST_CHECK(!vm && strstr(err, "in-kernel irqchip"), "kernel_irqchip: '%s'", err);
   cfg.kernel_irqchip = false;
   cfg.irqchip = &half;
   vm = vmm_vm_create(&cfg, err, sizeof err);
   KVMTEST_CHECK(!vm && strstr(err, "pending/ack"), "half an irqchip: '%s'", err);
   cfg.kind = VMM_KIND_HARDWARE;
   cfg.kernel_irqchip = true;
   cfg.irqchip = &ic_ops;
   vm = vmm_vm_create(&cfg, err, sizeof err);
   KVMTEST_CHECK(!vm && strstr(err, "kernel_irqchip = false"), "both irqchips: '%s'", err);

   env_soft(1, false);
   KVMTEST_CHECK(vmm_vm_kind(env.vm) == VMM_KIND_SOFTWARE, "kind");
   KVMTEST_CHECK(vmm_vm_irq_line(env.vm, 3, true) == -ENOTSUP, "irq_line");
   KVMTEST_CHECK(vmm_vm_msi(env.vm, 0xfee00000, 0x41) == -ENOTSUP, "msi");
   KVMTEST_CHECK(vmm_vm_interrupt(env.vm, 1) == -EINVAL, "interrupt to a missing vCPU");
   KVMTEST_CHECK(vmm_vm_interrupt(env.vm, 0) == 0, "interrupt");
   {
      vmm_lapic l;

      KVMTEST_CHECK(vmm_vcpu_get_lapic(env.cpu, &l) == -ENOTSUP, "LAPIC without an irqchip");
   }
   kvmtest_env_fini(&env);
   printf("ok - configuration\n");
}

static const vmm_cpuid_entry *find_leaf(const vmm_cpuid_entry *e, unsigned n, uint32_t fn)
{
   for (unsigned i = 0; i < n; i++) {
      if (e[i].function == fn) {
         return &e[i];
      }
   }
   return NULL;
}

static void test_cpuid(void)
{
   static vmm_cpuid_entry e[VMM_CPUID_MAX_ENTRIES];
   const vmm_cpuid_entry *l;
   unsigned n, h[4];
   char vendor[13];
   vmm_exit ex;

   env_soft(2, true);
   KVMTEST_CHECK(vmm_vcpu_get_cpuid(env.cpu, e, 1, &n) == -ENOSPC && n > 1, "short buffer");
   KVMTEST_CHECK(vmm_vcpu_get_cpuid(env.cpu, e, VMM_CPUID_MAX_ENTRIES, &n) == 0, "get_cpuid");
   __cpuid(0, h[0], h[1], h[2], h[3]);
   l = find_leaf(e, n, 0);
   KVMTEST_CHECK(l && l->ebx == h[1] && l->ecx == h[2] && l->edx == h[3], "host vendor");
   __cpuid(1, h[0], h[1], h[2], h[3]);
   l = find_leaf(e, n, 1);
   KVMTEST_CHECK(l && l->eax == h[0], "host family/model/stepping");
   KVMTEST_CHECK(l->ecx & (1u << 31), "hypervisor bit");
   KVMTEST_CHECK(l->edx & (1u << 9), "APIC bit with an irqchip");
   KVMTEST_CHECK((l->ebx >> 24) == 0, "APIC ID of vCPU 0");
   l = find_leaf(e, n, 0x40000000);
   memcpy(vendor, &l->ebx, 4);
   memcpy(vendor + 4, &l->ecx, 4);
   memcpy(vendor + 8, &l->edx, 4);
   vendor[12] = 0;
   KVMTEST_CHECK(strcmp(vendor, "VMwareVMware") == 0 && l->eax == 0x40000010, "'%s'", vendor);
   l = find_leaf(e, n, 0x40000010);
   KVMTEST_CHECK(l && l->eax > 100000 && l->ebx == 1000000, "timing leaf %u %u",
                 l ? l->eax : 0, l ? l->ebx : 0);
   printf("ok - CPUID model: host vendor and signature, VMwareVMware, TSC %u kHz\n", l->eax);

   /* the guest sees it, APIC ID per vCPU */
   KVMTEST_CHECK(vmm_vcpu_get_cpuid(env.cpus[1], e, VMM_CPUID_MAX_ENTRIES, &n) == 0, "get");
   l = find_leaf(e, n, 1);
   KVMTEST_CHECK((l->ebx >> 24) == 1, "APIC ID of vCPU 1: %u", l->ebx >> 24);
   kvmtest_enter(&env, KVMTEST_GPA(kvmtest_cpuid), false, 0);
   {
      vmm_regs r = regs_of(env.cpu);

      r.gpr[VMM_RAX] = 0x40000010;
      vmm_vcpu_set_regs(env.cpu, &r);
   }
   KVMTEST_CHECK(vmm_vcpu_run(env.cpu, &ex) == 0 && ex.reason == VMM_EXIT_STOP, "run");
   KVMTEST_CHECK(regs_of(env.cpu).gpr[VMM_RBX] == 1000000, "guest CPUID 0x40000010");
   KVMTEST_CHECK(vmm_vcpu_get_cpuid(env.cpu, e, VMM_CPUID_MAX_ENTRIES, &n) == 0, "get");
   KVMTEST_CHECK(vmm_vcpu_set_cpuid(env.cpu, e, n) == -EBUSY, "set after run");
   KVMTEST_CHECK(vmm_vcpu_set_cpuid(env.cpus[1], e, n) == 0, "set before run");
   kvmtest_env_fini(&env);
   printf("ok - CPUID in the guest, fixed after the first run\n");
}

static void test_state(void)
{
   vmm_sregs s, s2;
   vmm_events e, e2;
   vmm_debugregs d, d2;
   vmm_mp_state st;
   vmm_lapic l, l2;
   static vmm_fpu f, f2;
   vmm_msr m[2] = { { 0xc0000082, 0xffffffff81000000ull }, { 0x1b, 0 } };

   env_soft(2, true);
   kvmtest_enter(&env, KVMTEST_GPA(kvmtest_user_loop), true, 0);
   KVMTEST_CHECK(vmm_vcpu_get_sregs(env.cpu, &s) == 0, "get_sregs");
   KVMTEST_CHECK(s.apic_base == 0xfee00900ull, "apic_base from the irqchip %llx",
                 (unsigned long long)s.apic_base);
   s.cr8 = 7;
   s.apic_base = 0xfee00d00ull;
   s.seg[VMM_FS].base = 0x7fff00001000ull;
   KVMTEST_CHECK(vmm_vcpu_set_sregs(env.cpu, &s) == 0, "set_sregs");
   KVMTEST_CHECK(ic.cr8[0] == 7 && ic.apic_base[0] == 0xfee00d00ull, "CR8/APIC base to the irqchip");
   KVMTEST_CHECK(vmm_vcpu_get_sregs(env.cpu, &s2) == 0 && memcmp(&s, &s2, sizeof s) == 0,
                 "sregs round trip");
   KVMTEST_CHECK(vmm_vcpu_set_msrs(env.cpu, m, 1) == 0, "set LSTAR");
   KVMTEST_CHECK(vmm_vcpu_get_msrs(env.cpu, m, 2) == 0 && m[0].value == 0xffffffff81000000ull &&
                 m[1].value == 0xfee00d00ull, "MSRs (APIC base through the irqchip)");

   memset(&e, 0, sizeof e);
   e.nmi_masked = 1;
   e.nmi_pending = 1;
   e.interrupt_shadow = VMM_SHADOW_MOV_SS;
   e.sipi_vector = 0x12;
   KVMTEST_CHECK(vmm_vcpu_set_events(env.cpu, &e) == 0, "set_events");
   KVMTEST_CHECK(vmm_vcpu_get_events(env.cpu, &e2) == 0 && memcmp(&e, &e2, sizeof e) == 0,
                 "events round trip");
   memset(&e, 0, sizeof e);
   KVMTEST_CHECK(vmm_vcpu_set_events(env.cpu, &e) == 0, "clear events");
   e.interrupt_shadow = 4;
   KVMTEST_CHECK(vmm_vcpu_set_events(env.cpu, &e) == -EINVAL, "bad shadow");

   KVMTEST_CHECK(vmm_vcpu_get_mp_state(env.cpus[1], &st) == 0 && st == VMM_MP_WAIT_INIT,
                 "AP starts waiting for INIT (%d)", st);
   KVMTEST_CHECK(vmm_vcpu_get_mp_state(env.cpu, &st) == 0 && st == VMM_MP_RUNNABLE, "BSP");
   KVMTEST_CHECK(vmm_vcpu_set_mp_state(env.cpus[1], VMM_MP_WAIT_SIPI) == 0 &&
                 vmm_vcpu_get_mp_state(env.cpus[1], &st) == 0 && st == VMM_MP_WAIT_SIPI,
                 "mp_state round trip");

   KVMTEST_CHECK(vmm_vcpu_get_debugregs(env.cpu, &d) == 0 && d.dr6 == 0xffff0ff0u &&
                 d.dr7 == 0x400, "debug registers after reset");
   d.dr[0] = 0x1000;
   d.dr[3] = 0x7fff0000;
   d.dr7 = 0x403;
   KVMTEST_CHECK(vmm_vcpu_set_debugregs(env.cpu, &d) == 0 &&
                 vmm_vcpu_get_debugregs(env.cpu, &d2) == 0 && memcmp(&d, &d2, sizeof d) == 0,
                 "debug registers round trip");

   memset(&l, 0, sizeof l);
   l.regs[0xf0] = 0xff;
   l.regs[0xf1] = 0x01;
   KVMTEST_CHECK(vmm_vcpu_set_lapic(env.cpu, &l) == 0 && vmm_vcpu_get_lapic(env.cpu, &l2) == 0 &&
                 memcmp(&l, &l2, sizeof l) == 0, "LAPIC page through the irqchip");

   KVMTEST_CHECK(vmm_vcpu_get_fpu(env.cpu, &f) == 0 && f.xcr0 == 1, "xcr0 after reset");
   KVMTEST_CHECK(f.xsave[24] == 0x80 && f.xsave[25] == 0x1f, "MXCSR after reset");
   memset(f.xsave + 160, 0x5a, 16);
   f.xsave[512] |= 2;
   KVMTEST_CHECK(vmm_vcpu_set_fpu(env.cpu, &f) == 0 && vmm_vcpu_get_fpu(env.cpu, &f2) == 0 &&
                 memcmp(&f, &f2, sizeof f) == 0, "XSAVE image round trip");
   f.xcr0 = 0;
   KVMTEST_CHECK(vmm_vcpu_set_fpu(env.cpu, &f) == -EINVAL, "xcr0 without x87");
   kvmtest_env_fini(&env);
   printf("ok - state round trips (sregs, MSRs, events, mp_state, debug registers, LAPIC, FPU)\n");
}

/* CPL0: sti; hlt; out 0xe1 (report and stop); jmp $ */
static void put_sti_hlt(void)
{
   PUT(CODE2, 0xfb, 0xf4, 0xe6, 0xe1, 0xeb, 0xfe);
}

static void test_hlt(void)
{
   vmm_exit ex;
   runner r;

   /* without an irqchip, cli; hlt cannot be woken: VMM_EXIT_HALT */
   env_soft(1, false);
   PUT(CODE2, 0xfa, 0xf4, 0xeb, 0xfe);
   kvmtest_enter(&env, CODE2, false, 0);
   KVMTEST_CHECK(vmm_vcpu_run(env.cpu, &ex) == 0 && ex.reason == VMM_EXIT_HALT,
                 "reason %d (%s)", ex.reason, ex.msg);
   KVMTEST_CHECK(regs_of(env.cpu).rip == CODE2 + 2, "rip after HLT");
   kvmtest_env_fini(&env);
   printf("ok - HLT with interrupts off and no irqchip ends the run: %s\n", ex.msg);

   /* with one, sti; hlt sleeps until the irqchip has a vector */
   env_soft(1, true);
   put_sti_hlt();
   kvmtest_enter(&env, CODE2, false, 0);
   start(&r, env.cpu);
   sleep_ms(100);
   KVMTEST_CHECK(!atomic_load(&r.done) && atomic_load(&vector_hits) == 0, "HLT did not wait");
   atomic_store(&ic.vector[0], 0x41);
   vmm_vcpu_interrupt(env.cpu);
   join(&r);
   KVMTEST_CHECK(r.rc == 0 && r.ex.reason == VMM_EXIT_STOP, "reason %d (%s)", r.ex.reason,
                 r.ex.msg);
   KVMTEST_CHECK(atomic_load(&last_vector) == 0x41 && atomic_load(&vector_hits) == 1 &&
                 atomic_load(&ic.acks) == 1, "vector %d hits %u acks %u",
                 atomic_load(&last_vector), atomic_load(&vector_hits), atomic_load(&ic.acks));
   KVMTEST_CHECK(r.cpu_s < 0.05, "HLT spun: %.3f s of CPU", r.cpu_s);
   printf("ok - HLT sleeps (%.1f ms CPU in 100 ms) until the irqchip has a vector\n",
          r.cpu_s * 1e3);

   /* a stop request wakes a halted vCPU; the HLT goes on afterwards */
   put_sti_hlt();
   kvmtest_enter(&env, CODE2, false, 0);
   start(&r, env.cpu);
   sleep_ms(30);
   vmm_vm_stop(env.vm);
   join(&r);
   KVMTEST_CHECK(r.ex.reason == VMM_EXIT_STOP && atomic_load(&vector_hits) == 1, "stop in HLT");
   {
      vmm_mp_state st;

      KVMTEST_CHECK(vmm_vcpu_get_mp_state(env.cpu, &st) == 0 && st == VMM_MP_HALTED,
                    "halted after the stop (%d)", st);
   }
   /* NMI wakes it too (vector 2 through the NMI handler); the NMI handler
    * IRETs to after the HLT, which reports */
   KVMTEST_CHECK(vmm_vm_nmi(env.vm, 0) == 0, "vmm_vm_nmi");
   KVMTEST_CHECK(vmm_vcpu_run(env.cpu, &ex) == 0 && ex.reason == VMM_EXIT_STOP, "run");
   KVMTEST_CHECK(atomic_load(&last_vector) == 2, "NMI handler: vector %d",
                 atomic_load(&last_vector));
   printf("ok - a stop request and an NMI wake a halted vCPU\n");

   /* an interrupt injected through set_events (a KVM checkpoint) is
    * delivered before the next instruction */
   {
      vmm_events e;

      put_sti_hlt();
      kvmtest_enter(&env, CODE2 + 2, false, 0x200);
      memset(&e, 0, sizeof e);
      e.interrupt_injected = 1;
      e.interrupt_nr = 0x40;
      KVMTEST_CHECK(vmm_vcpu_set_events(env.cpu, &e) == 0, "set_events");
      KVMTEST_CHECK(vmm_vcpu_run(env.cpu, &ex) == 0 && ex.reason == VMM_EXIT_STOP, "run");
      KVMTEST_CHECK(atomic_load(&last_vector) == 0x40, "injected vector %d",
                    atomic_load(&last_vector));
   }
   kvmtest_env_fini(&env);
   printf("ok - an injected interrupt from set_events is delivered first\n");
}

static void test_smp(void)
{
   runner r[KVMTEST_MAX_CPUS];
   vmm_sregs s;
   vmm_mp_state st;
   unsigned n = KVMTEST_MAX_CPUS;

   env_soft(n, true);
   /* BSP: INIT+SIPI to APs 1..3 through port 0xe6, then cli; hlt */
   PUT(CODE2, 0xb0, 0x01, 0xe6, 0xe6, 0xb0, 0x02, 0xe6, 0xe6, 0xb0, 0x03, 0xe6, 0xe6,
       0xfa, 0xf4, 0xeb, 0xfe);
   /* AP trampoline, real mode: mov al, 0x55; out 0xe5, al; cli; hlt; jmp hlt */
   PUT(AP_TRAMPOLINE, 0xb0, 0x55, 0xe6, 0xe5, 0xfa, 0xf4, 0xeb, 0xfd);
   for (unsigned i = 0; i < KVMTEST_MAX_CPUS; i++) {
      atomic_store(&ap_seen[i], 0);
   }
   kvmtest_enter(&env, CODE2, false, 0);
   for (unsigned i = 0; i < n; i++) {
      start(&r[i], env.cpus[i]);
   }
   for (unsigned i = 1; i < n; i++) {
      KVMTEST_CHECK(wait_for(&ap_seen[i], 1, 5000), "AP %u never started", i);
   }
   sleep_ms(20);
   for (unsigned i = 0; i < n; i++) {
      KVMTEST_CHECK(!atomic_load(&r[i].done), "vCPU %u left run (reason %d: %s)", i,
                    r[i].ex.reason, r[i].ex.msg);
   }
   vmm_vm_stop(env.vm);
   for (unsigned i = 0; i < n; i++) {
      join(&r[i]);
      KVMTEST_CHECK(r[i].rc == 0 && r[i].ex.reason == VMM_EXIT_STOP, "vCPU %u: %d (%s)", i,
                    r[i].ex.reason, r[i].ex.msg);
      KVMTEST_CHECK(vmm_vcpu_get_mp_state(env.cpus[i], &st) == 0 && st == VMM_MP_HALTED,
                    "vCPU %u mp_state %d", i, st);
      KVMTEST_CHECK(r[i].cpu_s < 0.5, "vCPU %u spun (%.3f s CPU)", i, r[i].cpu_s);
   }
   for (unsigned i = 1; i < n; i++) {
      KVMTEST_CHECK(atomic_load(&ap_seen[i]) == 1, "AP %u said hello %u times", i,
                    atomic_load(&ap_seen[i]));
      KVMTEST_CHECK(vmm_vcpu_get_sregs(env.cpus[i], &s) == 0 &&
                    s.seg[VMM_CS].selector == (AP_TRAMPOLINE >> 4) &&
                    s.seg[VMM_CS].base == AP_TRAMPOLINE && !(s.cr0 & 1),
                    "AP %u: CS %x base %llx cr0 %llx", i, s.seg[VMM_CS].selector,
                    (unsigned long long)s.seg[VMM_CS].base, (unsigned long long)s.cr0);
      KVMTEST_CHECK(regs_of(env.cpus[i]).rip == 6, "AP %u rip", i);
   }
   kvmtest_env_fini(&env);
   printf("ok - %u vCPUs: APs wait for INIT, start at the SIPI vector, halt and sleep\n", n);
}

/* A vCPU reads a second memory slot in a loop while another thread swaps
 * the slot's backing memory: no stale TLB entry may survive the swap. */
static void test_remap(void)
{
   const uint64_t gpa = 0x10000000ull;
   const size_t len = 0x10000;
   uint8_t *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   uint8_t *b = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   runner r;
   vmm_regs regs;
   uint64_t va = 0xaaaaaaaaaaaaaaaaull, vb = 0xbbbbbbbbbbbbbbbbull;
   unsigned rounds = 200;

   KVMTEST_CHECK(a != MAP_FAILED && b != MAP_FAILED, "mmap");
   memcpy(a, &va, 8);
   memcpy(b, &vb, 8);
   env_soft(1, false);
   KVMTEST_CHECK(vmm_vm_map(env.vm, gpa, a, len, false) == 0, "map a");
   /* mov r8, 0x10000000; 1: mov rbx, [r8]; add rax, 1; jmp 1b */
   PUT(CODE2, 0x49, 0xc7, 0xc0, 0x00, 0x00, 0x00, 0x10, 0x49, 0x8b, 0x18, 0x48, 0x83, 0xc0,
       0x01, 0xeb, 0xf7);
   kvmtest_enter(&env, CODE2, true, 0);
   start(&r, env.cpu);
   for (unsigned i = 0; i < rounds; i++) {
      KVMTEST_CHECK(vmm_vm_unmap(env.vm, gpa, len) == 0, "unmap");
      KVMTEST_CHECK(vmm_vm_map(env.vm, gpa, (i & 1) ? a : b, len, false) == 0, "map");
   }
   /* ends with a mapped; make it b for the final check */
   KVMTEST_CHECK(vmm_vm_unmap(env.vm, gpa, len) == 0 && vmm_vm_map(env.vm, gpa, b, len, false) == 0,
                 "final map");
   memset(a, 0, 8);
   sleep_ms(10);
   vmm_vm_stop(env.vm);
   join(&r);
   KVMTEST_CHECK(r.ex.reason == VMM_EXIT_STOP, "reason %d (%s)", r.ex.reason, r.ex.msg);
   regs = regs_of(env.cpu);
   KVMTEST_CHECK(regs.gpr[VMM_RBX] == vb, "the guest read %llx after the swap",
                 (unsigned long long)regs.gpr[VMM_RBX]);
   KVMTEST_CHECK(regs.gpr[VMM_RAX] > 1000, "the loop ran (%llu)",
                 (unsigned long long)regs.gpr[VMM_RAX]);
   kvmtest_env_fini(&env);
   munmap(a, len);
   munmap(b, len);
   printf("ok - %u map changes while a vCPU reads the slot\n", rounds);
}

/* ---- a checkpoint moved between the monitors ------------------------------------------- */

typedef struct cpu_state {
   vmm_regs regs;
   vmm_sregs sregs;
   vmm_fpu fpu;
   vmm_msr msrs[32];
   unsigned nmsrs;
   vmm_events events;
   vmm_mp_state mp;
   vmm_debugregs dregs;
} cpu_state;

static void save(vmm_vcpu *cpu, cpu_state *s)
{
   const uint32_t *list;

   s->nmsrs = vmm_state_msrs(&list);
   for (unsigned i = 0; i < s->nmsrs; i++) {
      s->msrs[i].index = list[i];
   }
   KVMTEST_CHECK(vmm_vcpu_get_regs(cpu, &s->regs) == 0, "save regs");
   KVMTEST_CHECK(vmm_vcpu_get_sregs(cpu, &s->sregs) == 0, "save sregs");
   KVMTEST_CHECK(vmm_vcpu_get_fpu(cpu, &s->fpu) == 0, "save fpu");
   KVMTEST_CHECK(vmm_vcpu_get_msrs(cpu, s->msrs, s->nmsrs) == 0, "save msrs");
   KVMTEST_CHECK(vmm_vcpu_get_events(cpu, &s->events) == 0, "save events");
   KVMTEST_CHECK(vmm_vcpu_get_mp_state(cpu, &s->mp) == 0, "save mp_state");
   KVMTEST_CHECK(vmm_vcpu_get_debugregs(cpu, &s->dregs) == 0, "save debugregs");
}

static void restore(vmm_vcpu *cpu, const cpu_state *s)
{
   int e;

   KVMTEST_CHECK((e = vmm_vcpu_set_sregs(cpu, &s->sregs)) == 0, "restore sregs %d", e);
   KVMTEST_CHECK((e = vmm_vcpu_set_regs(cpu, &s->regs)) == 0, "restore regs %d", e);
   KVMTEST_CHECK((e = vmm_vcpu_set_fpu(cpu, &s->fpu)) == 0, "restore fpu %d", e);
   KVMTEST_CHECK((e = vmm_vcpu_set_msrs(cpu, s->msrs, s->nmsrs)) == 0, "restore msrs %d", e);
   KVMTEST_CHECK((e = vmm_vcpu_set_events(cpu, &s->events)) == 0, "restore events %d", e);
   KVMTEST_CHECK((e = vmm_vcpu_set_mp_state(cpu, s->mp)) == 0, "restore mp_state %d", e);
   KVMTEST_CHECK((e = vmm_vcpu_set_debugregs(cpu, &s->dregs)) == 0, "restore dregs %d", e);
}

static void *stopper(void *arg)
{
   sleep_ms(30);
   vmm_vm_stop(arg);
   return NULL;
}

static void run_30ms(kvmtest_env *e)
{
   pthread_t t;
   vmm_exit ex;

   KVMTEST_CHECK(pthread_create(&t, NULL, stopper, e->vm) == 0, "pthread_create");
   KVMTEST_CHECK(vmm_vcpu_run(e->cpu, &ex) == 0 && ex.reason == VMM_EXIT_STOP, "run: %d %s",
                 ex.reason, ex.msg);
   pthread_join(t, NULL);
}

static bool seg_eq(const vmm_seg *a, const vmm_seg *b)
{
   return a->base == b->base && a->limit == b->limit && a->selector == b->selector &&
          a->type == b->type && a->s == b->s && a->dpl == b->dpl &&
          a->present == b->present && a->l == b->l && a->db == b->db && a->g == b->g;
}

static void test_checkpoint_kvm(void)
{
   char err[256];
   kvmtest_env kenv;
   static cpu_state a, b;
   const uint64_t xmm7 = 0x0123456789abcdefull;
   uint64_t loop = KVMTEST_GPA(kvmtest_user_loop);

   if (vmm_kvm_check(err, sizeof err) < 0) {
      printf("ok - SKIP checkpoint from KVM: %s\n", err);
      return;
   }
   kvmtest_kind = VMM_KIND_HARDWARE;
   kvmtest_irqchip = NULL;
   kvmtest_env_init(&kenv, 1, NULL, NULL);
   kvmtest_enter(&kenv, loop, true, 0);
   run_30ms(&kenv);
   save(kenv.cpu, &a);
   KVMTEST_CHECK(a.regs.gpr[VMM_RAX] > 0, "KVM ran the loop");
   memcpy(a.fpu.xsave + 160 + 7 * 16, &xmm7, 8);
   a.fpu.xsave[512] |= 2;

   env_soft(1, false);
   memcpy(env.mem, kenv.mem, KVMTEST_RAM);
   restore(env.cpu, &a);
   run_30ms(&env);
   save(env.cpu, &b);
   KVMTEST_CHECK(b.regs.gpr[VMM_RAX] > a.regs.gpr[VMM_RAX], "soft continued the loop");
   KVMTEST_CHECK(b.regs.rip == loop || b.regs.rip == loop + 4, "rip %llx",
                 (unsigned long long)b.regs.rip);
   for (unsigned i = 0; i < VMM_NSEG; i++) {
      KVMTEST_CHECK(seg_eq(&a.sregs.seg[i], &b.sregs.seg[i]), "segment %u changed", i);
   }
   KVMTEST_CHECK(a.sregs.cr0 == b.sregs.cr0 && a.sregs.cr3 == b.sregs.cr3 &&
                 a.sregs.cr4 == b.sregs.cr4 && a.sregs.efer == b.sregs.efer,
                 "control registers changed");
   KVMTEST_CHECK(memcmp(b.fpu.xsave + 160 + 7 * 16, &xmm7, 8) == 0 && b.fpu.xcr0 == a.fpu.xcr0,
                 "FPU state changed");
   for (unsigned i = 0; i < a.nmsrs; i++) {
      if (a.msrs[i].index != 0x10) {
         KVMTEST_CHECK(a.msrs[i].value == b.msrs[i].value, "MSR %x: %llx -> %llx",
                       a.msrs[i].index, (unsigned long long)a.msrs[i].value,
                       (unsigned long long)b.msrs[i].value);
      }
   }
   KVMTEST_CHECK(b.msrs[8].index == 0x10 && b.msrs[8].value > a.msrs[8].value, "TSC went on");

   memcpy(kenv.mem, env.mem, KVMTEST_RAM);
   restore(kenv.cpu, &b);
   run_30ms(&kenv);
   save(kenv.cpu, &a);
   KVMTEST_CHECK(a.regs.gpr[VMM_RAX] > b.regs.gpr[VMM_RAX], "KVM continued the loop");
   KVMTEST_CHECK(memcmp(a.fpu.xsave + 160 + 7 * 16, &xmm7, 8) == 0, "FPU state back in KVM");
   kvmtest_env_fini(&env);
   kvmtest_env_fini(&kenv);
   printf("ok - a checkpoint moves KVM -> software -> KVM and the guest goes on\n");
}

int main(void)
{
   setvbuf(stdout, NULL, _IONBF, 0);
   test_config();
   test_cpuid();
   test_state();
   test_hlt();
   test_smp();
   test_remap();
   test_checkpoint_kvm();
   printf("PASS\n");
   return 0;
}
