/*
 * The backdoor port through a real vCPU: a real-mode guest makes backdoor
 * calls with IN EAX, DX, and the registers it gets back are checked. Runs
 * under each monitor that can run here (KVM needs /dev/kvm; a monitor that
 * cannot create a VM skips its case and says why).
 */
#include "chipset-test.h"
#include "vmx/dev/chipset/backdoor.h"

#include <sys/mman.h>

static const vmx_device_desc *const table[] = { &vmx_dev_backdoor };

#define STOP_PORT 0xf0
#define RAM 0x10000
#define CODE 0x1000

/* Three backdoor calls, each followed by OUT 0xf0 (the test stops the VM
 * there to look at the registers). */
static const uint8_t guest[] = {
   0x66, 0xb8, 0x68, 0x58, 0x4d, 0x56,   /* mov eax, 0x564d5868 */
   0x66, 0xbb, 0x97, 0xa7, 0xb2, 0xa9,   /* mov ebx, ~magic */
   0x66, 0xb9, 0x0a, 0x00, 0x34, 0x12,   /* mov ecx, 0x1234000a: GETVERSION */
   0xba, 0x58, 0x56,                     /* mov dx, 0x5658 */
   0x66, 0xed,                           /* in eax, dx */
   0xe6, STOP_PORT,                      /* out 0xf0, al */
   0x66, 0xb8, 0x68, 0x58, 0x4d, 0x56,   /* mov eax, magic */
   0x66, 0xb9, 0x01, 0x00, 0x00, 0x00,   /* mov ecx, 1: GETMHZ */
   0x66, 0xed,                           /* in eax, dx */
   0xe6, STOP_PORT,
   0x66, 0xb8, 0x11, 0x11, 0x11, 0x11,   /* mov eax, 0x11111111: no magic */
   0x66, 0xbb, 0x22, 0x22, 0x22, 0x22,   /* mov ebx, 0x22222222 */
   0x66, 0xb9, 0x0a, 0x00, 0x00, 0x00,   /* mov ecx, 10 */
   0x66, 0xed,                           /* in eax, dx */
   0xe6, STOP_PORT,
   0xeb, 0xfe,                           /* jmp $ */
};

typedef struct stopper {
   vmm_vm *vm;
   unsigned stops;
} stopper;

static void
stop_write(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   stopper *s = o;
   s->stops++;
   vmm_vm_stop(s->vm);
}

static void
run_to_stop(vmm_vcpu *cpu, stopper *s, unsigned want)
{
   vmm_exit ex;
   memset(&ex, 0, sizeof ex);
   g_assert_cmpint(vmm_vcpu_run(cpu, &ex), ==, 0);
   if (ex.reason != VMM_EXIT_STOP) {
      g_error("run ended with reason %d: %s", ex.reason, ex.msg);
   }
   g_assert_cmpuint(s->stops, ==, want);
}

static void
run_guest(vmm_kind kind)
{
   char err[256] = "";
   if (kind == VMM_KIND_HARDWARE && vmm_kvm_check(err, sizeof err) != 0) {
      g_test_skip(err);
      return;
   }
   vmx_platform *p = test_platform_ok(table, 1, NULL, NULL);
   stopper s = { 0 };
   const vmx_io_region stop = { "test stop port", NULL, stop_write, &s };
   char *e = NULL;
   g_assert_true(vmx_platform_map_pio(p, STOP_PORT, 1, &stop, &e));
   vmm_config cfg = {
      .kind = kind,
      .nvcpus = 1,
      .io = &vmx_platform_io_ops,
      .io_opaque = p,
      .kernel_irqchip = kind == VMM_KIND_HARDWARE,
   };
   vmm_vm *vm = vmm_vm_create(&cfg, err, sizeof err);
   if (!vm) {
      g_test_skip(err);
      vmx_platform_free(p);
      return;
   }
   s.vm = vm;
   uint8_t *mem = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   g_assert_true(mem != MAP_FAILED);
   memcpy(mem + CODE, guest, sizeof guest);
   g_assert_cmpint(vmm_vm_map(vm, 0, mem, RAM, false), ==, 0);
   vmm_vcpu *cpu = vmm_vcpu_create(vm, 0, err, sizeof err);
   if (!cpu) {
      g_error("vCPU: %s", err);
   }
   vmm_sregs sr;
   g_assert_cmpint(vmm_vcpu_get_sregs(cpu, &sr), ==, 0);
   sr.seg[VMM_CS].selector = 0;
   sr.seg[VMM_CS].base = 0;
   g_assert_cmpint(vmm_vcpu_set_sregs(cpu, &sr), ==, 0);
   vmm_regs r;
   g_assert_cmpint(vmm_vcpu_get_regs(cpu, &r), ==, 0);
   r.rip = CODE;
   r.rflags = 2;
   r.gpr[VMM_RSI] = 0x5151515151515151ull;
   g_assert_cmpint(vmm_vcpu_set_regs(cpu, &r), ==, 0);

   run_to_stop(cpu, &s, 1);
   g_assert_cmpint(vmm_vcpu_get_regs(cpu, &r), ==, 0);
   g_assert_cmphex((uint32_t)r.gpr[VMM_RAX], ==, BDOOR_VERSION);
   g_assert_cmphex((uint32_t)r.gpr[VMM_RBX], ==, BDOOR_MAGIC);
   g_assert_cmphex((uint32_t)r.gpr[VMM_RCX], ==, BDOOR_VMX_TYPE_WORKSTATION);
   g_assert_cmphex((uint16_t)r.gpr[VMM_RDX], ==, BDOOR_PORT);
   g_assert_cmphex(r.gpr[VMM_RSI], ==, 0x5151515151515151ull);

   run_to_stop(cpu, &s, 2);
   g_assert_cmpint(vmm_vcpu_get_regs(cpu, &r), ==, 0);
   uint32_t mhz = (uint32_t)r.gpr[VMM_RAX];
   g_test_message("%s monitor: GETMHZ %u", vmm_kind_name(kind), mhz);
   g_assert_cmpuint(mhz, >, 100);
   g_assert_cmpuint(mhz, <, 100000);
   g_assert_cmpuint(mhz, ==, backdoor_tsc_mhz(backdoor_get(p), cpu));
   g_assert_cmphex((uint32_t)r.gpr[VMM_RBX], ==, BDOOR_MAGIC);

   run_to_stop(cpu, &s, 3);
   g_assert_cmpint(vmm_vcpu_get_regs(cpu, &r), ==, 0);
   g_assert_cmphex((uint32_t)r.gpr[VMM_RAX], ==, 0x11111111);
   g_assert_cmphex((uint32_t)r.gpr[VMM_RBX], ==, 0x22222222);
   g_assert_cmphex((uint32_t)r.gpr[VMM_RCX], ==, 10);

   vmm_vm_destroy(vm);
   munmap(mem, RAM);
   vmx_platform_free(p);
}

static void
test_kvm(void)
{
   run_guest(VMM_KIND_HARDWARE);
}

static void
test_software(void)
{
   run_guest(VMM_KIND_SOFTWARE);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/backdoor-vcpu/kvm", test_kvm);
   g_test_add_func("/backdoor-vcpu/software", test_software);
   return g_test_run();
}
