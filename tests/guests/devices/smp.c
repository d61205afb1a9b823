/*
 * tests/guests/devices/smp.c - SMP bring-up as an OS does it: the BSP
 * finds the processors in the MADT (as many as kit.ncpus says the VM has),
 * copies a real-mode trampoline (smp-tramp.S) below 1 MiB and sends each AP
 * INIT, then two start-up IPIs. Each AP goes to long mode, reports its
 * local APIC ID (from the APIC and from CPUID), sends the BSP a fixed IPI
 * (vector 0x50 + its slot) and halts. The BSP checks that every AP came up exactly once with a
 * distinct ID from the MADT and that their IPIs arrived. AP work is kept
 * to a few dozen instructions: kernel-mode guest code may be emulated.
 */
#include "kit/kit.h"
#include "kit/platform.h"

#define SMP_TRAMP_BASE 0x10000u
#define AP_STACK_SIZE  4096
#define VEC_IPI        0x50

extern const uint8_t smp_tramp_start[], smp_tramp_end[];
extern const uint8_t smp_tramp_cr3[], smp_tramp_entry[], smp_tramp_stacks[], smp_tramp_next[];

static uint8_t ap_stacks[KIT_MAX_CPUS][AP_STACK_SIZE] __attribute__((aligned(16)));
static volatile uint32_t ap_up, ipis;
static volatile uint8_t ap_apic_id[KIT_MAX_CPUS], ap_cpuid_id[KIT_MAX_CPUS];
static volatile uint8_t bsp_id;

/* Runs on each AP, in long mode at CPL0 with the trampoline's GDT and no
 * IDT: nothing here may fault. */
static void ap_entry(uint32_t slot)
{
   uint32_t r[4];

   kit_cpuid(1, 0, r);
   if (slot < KIT_MAX_CPUS) {
      ap_apic_id[slot] = (uint8_t)kit_lapic_id();
      ap_cpuid_id[slot] = (uint8_t)(r[1] >> 24);
   }
   kit_lapic_write(KIT_LAPIC_SVR, 0x100 | KIT_VEC_SPURIOUS);
   kit_lapic_write(KIT_LAPIC_ICR_HI, (uint32_t)bsp_id << 24);
   /* One vector per AP: IPIs on one vector that arrive together merge. */
   kit_lapic_write(KIT_LAPIC_ICR_LO, VEC_IPI + (slot < KIT_MAX_CPUS ? slot : 0));
   __atomic_fetch_add(&ap_up, 1, __ATOMIC_SEQ_CST);
}

static volatile uint64_t ipi_vectors;

static void ipi_irq(kit_frame *f)
{
   uint64_t bit = 1ull << (f->vector - VEC_IPI);

   if (!(ipi_vectors & bit)) {
      ipi_vectors |= bit;
      ipis++;
   }
   kit_lapic_eoi();
}

static bool icr_idle(void)
{
   for (int i = 0; i < 1000; i++) {
      if (!(kit_lapic_read(KIT_LAPIC_ICR_LO) & (1u << 12))) {
         return true;
      }
   }
   return false;
}

static void send_ipi(uint8_t dest, uint32_t lo)
{
   icr_idle();
   kit_lapic_write(KIT_LAPIC_ICR_HI, (uint32_t)dest << 24);
   kit_lapic_write(KIT_LAPIC_ICR_LO, lo);
}

void kit_main(void)
{
   kit_madt m;
   uint64_t want = 1, khz = kit_tsc_khz() ? kit_tsc_khz() : 3000000, t0;
   uintptr_t base = SMP_TRAMP_BASE;
   uint8_t *tramp;
   unsigned naps, seen_madt[KIT_MAX_CPUS] = { 0 };
   bool ids_ok = true;

   kit_poweroff_at_exit();
   kit_pic_init(0x20);
   kit_lapic_enable();
   for (unsigned v = 0; v < KIT_MAX_CPUS; v++) {
      kit_set_handler(VEC_IPI + v, ipi_irq);
   }
   kit_cmdline_u64("kit.ncpus", &want);
   if (!kit_check("madt-cpus", kit_acpi_madt(&m) && m.ncpus == want,
                  "the MADT lists %u processors, the VM has %lu", m.ncpus, want)) {
      return;
   }
   bsp_id = (uint8_t)kit_lapic_id();
   naps = m.ncpus - 1;
   kit_printf("smp: BSP APIC ID %u, %u AP(s) to start\n", bsp_id, naps);
   if (!naps) {
      kit_skip("ap-startup", "one vCPU: no AP to start (run with numvcpus >= 2)");
      return;
   }

   /* The trampoline, below 1 MiB (a fixed address the compiler must not
    * reason about). */
   __asm__("" : "+r"(base));
   tramp = (uint8_t *)base;
   memcpy(tramp, smp_tramp_start, (size_t)(smp_tramp_end - smp_tramp_start));
   {
      uint64_t cr3 = kit_read_cr3(), entry = (uint64_t)(uintptr_t)ap_entry;
      uint64_t stacks = (uint64_t)(uintptr_t)ap_stacks;
      uint32_t zero = 0;

      memcpy(tramp + (smp_tramp_cr3 - smp_tramp_start), &cr3, 8);
      memcpy(tramp + (smp_tramp_entry - smp_tramp_start), &entry, 8);
      memcpy(tramp + (smp_tramp_stacks - smp_tramp_start), &stacks, 8);
      memcpy(tramp + (smp_tramp_next - smp_tramp_start), &zero, 4);
   }

   /* INIT, 10 ms, SIPI, 200 us, SIPI: to each AP the MADT lists. */
   t0 = kit_rdtsc();
   for (unsigned i = 0; i < m.ncpus; i++) {
      if (m.apic_id[i] == bsp_id) {
         continue;
      }
      send_ipi(m.apic_id[i], 0x00004500);   /* INIT, assert */
   }
   kit_udelay(10000);
   for (int round = 0; round < 2; round++) {
      for (unsigned i = 0; i < m.ncpus; i++) {
         if (m.apic_id[i] != bsp_id) {
            send_ipi(m.apic_id[i], 0x00004600 | (SMP_TRAMP_BASE >> 12));   /* SIPI */
         }
      }
      kit_udelay(200);
   }
   kit_wait_irqs(&ap_up, naps, khz * 10000);
   kit_wait_irqs(&ipis, naps, khz * 1000);
   kit_printf("smp: %u of %u AP(s) up after %lu ms, %u IPI(s) received\n", ap_up, naps,
              (kit_rdtsc() - t0) / khz, ipis);
   kit_check("ap-startup", ap_up == naps, "%u of %u APs came up", ap_up, naps);
   for (unsigned s = 0; s < ap_up && s < KIT_MAX_CPUS; s++) {
      bool in_madt = false;

      kit_printf("smp: AP slot %u: APIC ID %u (CPUID initial ID %u)\n", s, ap_apic_id[s],
                 ap_cpuid_id[s]);
      for (unsigned i = 0; i < m.ncpus; i++) {
         if (m.apic_id[i] == ap_apic_id[s] && ap_apic_id[s] != bsp_id) {
            in_madt = true;
            seen_madt[i]++;
         }
      }
      if (!in_madt || ap_apic_id[s] != ap_cpuid_id[s]) {
         ids_ok = false;
      }
   }
   for (unsigned i = 0; i < m.ncpus; i++) {
      if (m.apic_id[i] != bsp_id && seen_madt[i] != 1) {
         ids_ok = false;
      }
   }
   kit_check("ap-apic-ids", ids_ok && ap_up == naps, "the APs' IDs do not match the MADT's "
             "processors one to one (see the lines above)");
   kit_check("ap-ipis", ipis == naps && ipi_vectors == (naps >= 64 ? ~0ull : (1ull << naps) - 1),
             "IPIs on %u vector(s) (mask 0x%lx) from %u AP(s)", ipis, ipi_vectors, naps);
   kit_check("no-unexpected-interrupts", kit_unexpected_interrupts() == 0, "%u unexpected",
             kit_unexpected_interrupts());
}
