/*
 * vmm/kvm/tests/test-kvm-irq.c - interrupts injected from another thread
 * reach the guest through the in-kernel irqchip: an ISA line through the
 * PIC, an IOAPIC-only line, an MSI and an NMI. The guest programs the PIC and
 * IOAPIC itself and then spins at CPL3 with interrupts enabled; its CPL0
 * handlers report each vector on port 0xe2.
 */
#include "kvm-test-env.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static kvmtest_env env;
static atomic_int ready;
static atomic_uint seen[256];
static const char *failure;

static void pio_write(void *opaque, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t val)
{
   (void)opaque;
   (void)cpu;
   (void)size;
   if (port == 0xe0) {
      atomic_store(&ready, 1);
   } else if (port == 0xe2) {
      atomic_fetch_add(&seen[val & 0xff], 1);
   }
}

static const vmm_io_ops io = { .pio_write = pio_write };

static void sleep_ms(unsigned ms)
{
   struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

   nanosleep(&ts, NULL);
}

/* Waits up to 5 s for vector to be seen `count` times. */
static bool wait_seen(unsigned vector, unsigned count)
{
   for (int i = 0; i < 5000; i++) {
      if (atomic_load(&seen[vector]) >= count) {
         return true;
      }
      sleep_ms(1);
   }
   return false;
}

static void *injector(void *arg)
{
   (void)arg;
   for (int i = 0; i < 5000 && !atomic_load(&ready); i++) {
      sleep_ms(1);
   }
   if (!atomic_load(&ready)) {
      failure = "the guest never finished setting up the PIC and IOAPIC";
      goto out;
   }

   /* ISA IRQ 3, edge, through the PIC (the IOAPIC pin is masked). */
   if (vmm_vm_irq_line(env.vm, 3, true) < 0 || vmm_vm_irq_line(env.vm, 3, false) < 0) {
      failure = "vmm_vm_irq_line(3) failed";
      goto out;
   }
   if (!wait_seen(0x23, 1)) {
      failure = "PIC IRQ 3 (vector 0x23) not received";
      goto out;
   }
   printf("ok - IRQ 3 through the PIC -> vector 0x23\n");

   /* A second edge on the same line: the handler's EOI re-armed it. */
   vmm_vm_irq_line(env.vm, 3, true);
   vmm_vm_irq_line(env.vm, 3, false);
   if (!wait_seen(0x23, 2)) {
      failure = "second PIC IRQ 3 not received (EOI lost?)";
      goto out;
   }
   printf("ok - IRQ 3 again after EOI\n");

   /* GSI 20 exists only on the IOAPIC. */
   vmm_vm_irq_line(env.vm, 20, true);
   vmm_vm_irq_line(env.vm, 20, false);
   if (!wait_seen(0x40, 1)) {
      failure = "IOAPIC GSI 20 (vector 0x40) not received";
      goto out;
   }
   printf("ok - GSI 20 through the IOAPIC -> vector 0x40\n");

   if (vmm_vm_msi(env.vm, 0xfee00000, 0x41) < 0) {
      failure = "vmm_vm_msi failed";
      goto out;
   }
   if (!wait_seen(0x41, 1)) {
      failure = "MSI vector 0x41 not received";
      goto out;
   }
   printf("ok - MSI -> vector 0x41\n");

   if (vmm_vm_nmi(env.vm, 0) < 0) {
      failure = "vmm_vm_nmi failed";
      goto out;
   }
   if (!wait_seen(0x02, 1)) {
      failure = "NMI not received";
      goto out;
   }
   printf("ok - NMI -> vector 2\n");

   /* Nothing else arrived. */
   for (unsigned v = 0; v < 256; v++) {
      unsigned want = v == 0x23 ? 2 : (v == 0x40 || v == 0x41 || v == 2) ? 1 : 0;

      if (atomic_load(&seen[v]) != want) {
         failure = "a vector arrived a wrong number of times";
         printf("vector 0x%x seen %u times, expected %u\n", v, atomic_load(&seen[v]), want);
         break;
      }
   }
out:
   vmm_vm_stop(env.vm);
   return NULL;
}

int main(void)
{
   vmm_lapic l;
   vmm_exit ex;
   pthread_t t;
   uint32_t v;
   int e;

   kvmtest_require_kvm();
   setvbuf(stdout, NULL, _IONBF, 0);
   kvmtest_env_init(&env, 1, &io, NULL);
   kvmtest_set_gate(&env, 0x02, KVMTEST_GPA(kvmtest_vec_0x02));
   kvmtest_set_gate(&env, 0x23, KVMTEST_GPA(kvmtest_vec_0x23));
   kvmtest_set_gate(&env, 0x40, KVMTEST_GPA(kvmtest_vec_0x40));
   kvmtest_set_gate(&env, 0x41, KVMTEST_GPA(kvmtest_vec_0x41));

   /* LAPIC through the state interface: enabled, LINT0 ExtINT (the PIC),
    * LINT1 NMI. */
   KVMTEST_CHECK(vmm_vcpu_get_lapic(env.cpu, &l) == 0, "get_lapic");
   v = 0x1ff;
   memcpy(l.regs + 0xf0, &v, 4);
   v = 0x700;
   memcpy(l.regs + 0x350, &v, 4);
   v = 0x400;
   memcpy(l.regs + 0x360, &v, 4);
   KVMTEST_CHECK(vmm_vcpu_set_lapic(env.cpu, &l) == 0, "set_lapic");

   /* CPL3 with interrupts enabled; the TSS I/O bitmap lets the guest program
    * the PIC itself. Nothing is injected before it says ready. */
   kvmtest_enter(&env, KVMTEST_GPA(kvmtest_irq), true, 1u << 9);

   KVMTEST_CHECK(pthread_create(&t, NULL, injector, NULL) == 0, "pthread_create");
   e = vmm_vcpu_run(env.cpu, &ex);
   pthread_join(t, NULL);
   KVMTEST_CHECK(e == 0 && ex.reason == VMM_EXIT_STOP, "run: rc %d reason %d (%s)", e,
                 ex.reason, ex.msg);
   if (failure) {
      KVMTEST_FAIL("%s", failure);
   }
   kvmtest_env_fini(&env);
   printf("PASS\n");
   return 0;
}
