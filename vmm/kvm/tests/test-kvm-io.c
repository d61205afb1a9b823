/*
 * vmm/kvm/tests/test-kvm-io.c - port and MMIO exits dispatched through the
 * vmm_io_ops callbacks: string I/O with a repeat count (one callback per
 * element, in order, both directions) and MMIO reads and writes of every
 * width, from guest user mode.
 */
#include "kvm-test-env.h"

#include <string.h>

#define MMIO_BASE 0xd0000000ull
#define SRC       0x60000u
#define DST       0x61000u

static const char message[] = "string I/O through the monitor";
static char received[64];
static unsigned nreceived, nin;
static uint16_t in_next = 0x1000;

static struct { uint64_t gpa; unsigned size; uint64_t val; bool write; } mmio_log[16];
static unsigned nmmio;
static vmm_regs reported;

static void pio_write(void *opaque, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t val)
{
   (void)opaque;
   if (port == 0xe3) {
      KVMTEST_CHECK(size == 1, "outsb element size %u", size);
      if (nreceived < sizeof received) {
         received[nreceived++] = (char)val;
      }
   } else if (port == 0xe1) {
      KVMTEST_CHECK(vmm_vcpu_get_regs(cpu, &reported) == 0, "get_regs");
      vmm_vcpu_kick(cpu);
   }
}

static void pio_read(void *opaque, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t *val)
{
   (void)opaque;
   (void)cpu;
   if (port == 0xe4) {
      KVMTEST_CHECK(size == 2, "insw element size %u", size);
      *val = in_next++;
      nin++;
   }
}

static void mmio_access(uint64_t gpa, unsigned size, uint64_t val, bool write)
{
   if (nmmio < 16) {
      mmio_log[nmmio].gpa = gpa;
      mmio_log[nmmio].size = size;
      mmio_log[nmmio].val = val;
      mmio_log[nmmio].write = write;
      nmmio++;
   }
}

static void mmio_write(void *opaque, vmm_vcpu *cpu, uint64_t gpa, unsigned size, uint64_t val)
{
   (void)opaque;
   (void)cpu;
   mmio_access(gpa, size, val, true);
}

static void mmio_read(void *opaque, vmm_vcpu *cpu, uint64_t gpa, unsigned size, uint64_t *val)
{
   (void)opaque;
   (void)cpu;
   *val = 0x0102030405060708ull & (size == 8 ? ~0ull : (1ull << (size * 8)) - 1);
   *val ^= gpa & 0xff;
   mmio_access(gpa, size, *val, false);
}

static const vmm_io_ops io = {
   .pio_read = pio_read, .pio_write = pio_write,
   .mmio_read = mmio_read, .mmio_write = mmio_write,
};

int main(void)
{
   static const struct { uint64_t off; unsigned size; uint64_t val; bool write; } want[] = {
      { 0x00, 1, 0x11, true },
      { 0x10, 2, 0x2233, true },
      { 0x20, 4, 0x44556677, true },
      { 0x30, 8, 0x8899aabbccddeeffull, true },
      { 0x40, 8, 0x0102030405060708ull ^ 0x40, false },
      { 0x48, 4, 0x05060708 ^ 0x48, false },
      { 0x50, 2, 0x0708 ^ 0x50, false },
      { 0x58, 1, 0x08 ^ 0x58, false },
   };
   kvmtest_env env;
   vmm_regs r;
   vmm_exit ex;
   uint16_t words[8];
   int e;

   kvmtest_require_kvm();
   setvbuf(stdout, NULL, _IONBF, 0);
   kvmtest_env_init(&env, 1, &io, NULL);
   memcpy(env.mem + SRC, message, sizeof message - 1);
   kvmtest_enter(&env, KVMTEST_GPA(kvmtest_strio), true, 0);
   KVMTEST_CHECK(vmm_vcpu_get_regs(env.cpu, &r) == 0, "get_regs");
   r.gpr[VMM_RSI] = SRC;
   r.gpr[VMM_RCX] = sizeof message - 1;
   r.gpr[VMM_RDI] = DST;
   r.gpr[VMM_R8] = MMIO_BASE;
   KVMTEST_CHECK(vmm_vcpu_set_regs(env.cpu, &r) == 0, "set_regs");

   e = vmm_vcpu_run(env.cpu, &ex);
   KVMTEST_CHECK(e == 0 && ex.reason == VMM_EXIT_STOP, "run: rc %d reason %d (%s)", e,
                 ex.reason, ex.msg);

   KVMTEST_CHECK(nreceived == sizeof message - 1 && memcmp(received, message, nreceived) == 0,
                 "rep outsb delivered %u bytes: '%.*s'", nreceived, (int)nreceived, received);
   KVMTEST_CHECK(reported.gpr[VMM_RSI] == SRC + sizeof message - 1,
                 "rsi after rep outsb: 0x%llx", (unsigned long long)reported.gpr[VMM_RSI]);
   printf("ok - rep outsb: %u bytes, one callback each, in order\n", nreceived);

   memcpy(words, env.mem + DST, sizeof words);
   KVMTEST_CHECK(nin == 8, "rep insw made %u reads", nin);
   for (unsigned i = 0; i < 8; i++) {
      KVMTEST_CHECK(words[i] == 0x1000 + i, "insw word %u = 0x%x", i, words[i]);
   }
   KVMTEST_CHECK(reported.gpr[VMM_RDI] == DST + 16 && reported.gpr[VMM_RCX] == 0,
                 "rdi/rcx after rep insw");
   printf("ok - rep insw: 8 words into guest memory\n");

   KVMTEST_CHECK(nmmio == 8, "%u MMIO accesses, 8 expected", nmmio);
   for (unsigned i = 0; i < 8; i++) {
      KVMTEST_CHECK(mmio_log[i].gpa == MMIO_BASE + want[i].off && mmio_log[i].size == want[i].size &&
                    mmio_log[i].write == want[i].write && mmio_log[i].val == want[i].val,
                    "MMIO %u: %s 0x%llx size %u value 0x%llx", i,
                    mmio_log[i].write ? "write" : "read", (unsigned long long)mmio_log[i].gpa,
                    mmio_log[i].size, (unsigned long long)mmio_log[i].val);
   }
   KVMTEST_CHECK(reported.gpr[VMM_R9] == want[4].val && reported.gpr[VMM_R10] == want[5].val &&
                 reported.gpr[VMM_R11] == want[6].val && reported.gpr[VMM_R12] == want[7].val,
                 "MMIO read values in the guest: %llx %llx %llx %llx",
                 (unsigned long long)reported.gpr[VMM_R9], (unsigned long long)reported.gpr[VMM_R10],
                 (unsigned long long)reported.gpr[VMM_R11], (unsigned long long)reported.gpr[VMM_R12]);
   printf("ok - MMIO writes and reads of 1, 2, 4 and 8 bytes\n");

   kvmtest_env_fini(&env);
   printf("PASS\n");
   return 0;
}
