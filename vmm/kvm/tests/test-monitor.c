/*
 * vmm/kvm/tests/test-monitor.c - the dispatcher in vmm/monitor.c (argument
 * checks, memory slots, vCPU table, the software-monitor hook) and the
 * native-execution probe.
 */
#include "kvm-test-env.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

static void test_config_errors(void)
{
   char err[256];
   vmm_config cfg = { .kind = VMM_KIND_SOFTWARE, .nvcpus = 1, .kernel_irqchip = true };
   vmm_vm *vm;

#ifndef VMM_HAVE_SOFT
   err[0] = 0;
   vm = vmm_vm_create(&cfg, err, sizeof err);
   KVMTEST_CHECK(!vm && strcmp(err, "software monitor not built") == 0,
                 "software kind: '%s'", err);
   printf("ok - software monitor: '%s'\n", err);
#endif
   cfg.kind = VMM_KIND_HARDWARE;
   cfg.nvcpus = 0;
   vm = vmm_vm_create(&cfg, err, sizeof err);
   KVMTEST_CHECK(!vm && strstr(err, "out of range"), "nvcpus 0: '%s'", err);
   cfg.nvcpus = VMM_MAX_VCPUS + 1;
   vm = vmm_vm_create(&cfg, err, sizeof err);
   KVMTEST_CHECK(!vm && strstr(err, "out of range"), "too many vCPUs: '%s'", err);
   cfg.kind = (vmm_kind)7;
   cfg.nvcpus = 1;
   vm = vmm_vm_create(&cfg, err, sizeof err);
   KVMTEST_CHECK(!vm && strstr(err, "unknown monitor kind"), "bad kind: '%s'", err);
   KVMTEST_CHECK(strcmp(vmm_kind_name(VMM_KIND_HARDWARE), "hardware") == 0 &&
                 strcmp(vmm_kind_name(VMM_KIND_SOFTWARE), "software") == 0, "kind names");
   printf("ok - configuration errors\n");
}

static void test_kvm_config(void)
{
   char err[256];
   vmm_config cfg = { .kind = VMM_KIND_HARDWARE, .nvcpus = 1, .kernel_irqchip = false };
   vmm_vm *vm = vmm_vm_create(&cfg, err, sizeof err);

   KVMTEST_CHECK(!vm && strstr(err, "in-kernel irqchip"), "no irqchip: '%s'", err);
   printf("ok - KVM insists on the in-kernel irqchip\n");
}

static void test_slots_and_vcpus(void)
{
   kvmtest_env env;
   char err[256];
   uint8_t *extra;
   size_t len = 64 * 1024;

   kvmtest_env_init(&env, 2, NULL, NULL);
   extra = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   KVMTEST_CHECK(extra != MAP_FAILED, "mmap");

   KVMTEST_CHECK(vmm_vm_map(env.vm, 0x100000, extra, len, false) == -EEXIST,
                 "overlap with RAM must be refused");
   KVMTEST_CHECK(vmm_vm_map(env.vm, 0x10000000 + 0x800, extra, len, false) == -EINVAL,
                 "unaligned gpa");
   KVMTEST_CHECK(vmm_vm_map(env.vm, 0x10000000, extra + 8, len, false) == -EINVAL,
                 "unaligned host");
   KVMTEST_CHECK(vmm_vm_map(env.vm, 0x10000000, extra, 100, false) == -EINVAL,
                 "unaligned size");
   KVMTEST_CHECK(vmm_vm_map(env.vm, 0x10000000, extra, 0, false) == -EINVAL, "empty");
   KVMTEST_CHECK(vmm_vm_map(env.vm, ~0ull & ~0xfffull, extra, len, false) == -EINVAL,
                 "past the physical address limit");
   KVMTEST_CHECK(vmm_vm_map(env.vm, 0xfffbc000, extra, 0x4000, false) == -EADDRINUSE,
                 "the KVM private pages");
   KVMTEST_CHECK(vmm_vm_map(env.vm, 0xfffe0000, extra, len, true) == 0, "map a ROM");

   KVMTEST_CHECK(vmm_vm_gpa_to_hva(env.vm, 0x1000, 8) == env.mem + 0x1000, "RAM lookup");
   KVMTEST_CHECK(vmm_vm_gpa_to_hva(env.vm, KVMTEST_RAM - 8, 8) == env.mem + KVMTEST_RAM - 8,
                 "last bytes of RAM");
   KVMTEST_CHECK(vmm_vm_gpa_to_hva(env.vm, KVMTEST_RAM - 8, 9) == NULL, "crosses the end");
   KVMTEST_CHECK(vmm_vm_gpa_to_hva(env.vm, KVMTEST_RAM, 1) == NULL, "past RAM");
   KVMTEST_CHECK(vmm_vm_gpa_to_hva(env.vm, 0xfffe0010, 4) == extra + 0x10, "ROM lookup");
   KVMTEST_CHECK(vmm_vm_gpa_to_hva(env.vm, ~0ull - 2, 8) == NULL, "wrapping range");
   KVMTEST_CHECK(vmm_vm_unmap(env.vm, 0xfffe0000, 4096) == -ENOENT, "partial unmap");
   KVMTEST_CHECK(vmm_vm_unmap(env.vm, 0xfffe0000, len) == 0, "unmap");
   KVMTEST_CHECK(vmm_vm_gpa_to_hva(env.vm, 0xfffe0010, 4) == NULL, "lookup after unmap");

   KVMTEST_CHECK(!vmm_vcpu_create(env.vm, 1, err, sizeof err) && strstr(err, "already"),
                 "double create: '%s'", err);
   KVMTEST_CHECK(!vmm_vcpu_create(env.vm, 2, err, sizeof err) && strstr(err, "does not exist"),
                 "index past nvcpus: '%s'", err);
   KVMTEST_CHECK(vmm_vcpu_index(env.cpus[1]) == 1 && vmm_vcpu_vm(env.cpus[1]) == env.vm,
                 "vCPU identity");
   KVMTEST_CHECK(vmm_vm_kind(env.vm) == VMM_KIND_HARDWARE, "kind");
   KVMTEST_CHECK(vmm_vm_irq_line(env.vm, 24, true) == -EINVAL, "GSI 24");
   KVMTEST_CHECK(vmm_vm_msi(env.vm, 0x1000, 0) == -EINVAL, "MSI outside the APIC window");
   KVMTEST_CHECK(vmm_vm_nmi(env.vm, 5) == -EINVAL, "NMI to a missing vCPU");
   kvmtest_env_fini(&env);
   munmap(extra, len);
   printf("ok - memory slots and the vCPU table\n");
}

static void test_probe(void)
{
   char err[256];
   double ns = -1, t0 = kvmtest_now(), dt;
   int r = vmm_kvm_probe_native(&ns, err, sizeof err);

   dt = kvmtest_now() - t0;
   KVMTEST_CHECK(r == 0, "probe: %s", err);
   KVMTEST_CHECK(ns > 0 && ns < 1e6, "probe says %.3f ns per instruction", ns);
   KVMTEST_CHECK(dt < 0.1, "probe took %.1f ms", dt * 1e3);
   printf("ok - native probe: %.3f ns per guest kernel instruction (%s), took %.1f ms\n", ns,
          ns <= VMM_KVM_NATIVE_NS_MAX ? "native" : "emulated", dt * 1e3);
}

int main(void)
{
   setvbuf(stdout, NULL, _IONBF, 0);
   test_config_errors();
   kvmtest_require_kvm();
   test_kvm_config();
   test_slots_and_vcpus();
   test_probe();
   printf("PASS\n");
   return 0;
}
