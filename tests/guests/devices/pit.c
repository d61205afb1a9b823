/*
 * tests/guests/devices/pit.c - the 8254 PIT channel 0 as the platform
 * delivers it: counter latch and read-back status, mode 2 at 100 Hz through
 * the IOAPIC pin the MADT names for ISA IRQ 0 (ticks counted against the TSC
 * and against CMOS seconds), masking the pin, mode 0 (one interrupt), and
 * the same rate through the 8259 PIC in virtual-wire mode (LINT0 ExtINT).
 * Waits run at CPL3 with interrupts on; handlers are short (CPL0 may be
 * emulated instruction by instruction).
 */
#include "kit/kit.h"
#include "kit/platform.h"

#define VEC_PIT_IOAPIC 0x30
#define VEC_PIC_BASE   0x20
#define HZ             100u
#define DIVISOR        ((KIT_PIT_HZ + HZ / 2) / HZ)   /* 11932 */

static volatile uint32_t ticks;

static void ioapic_tick(kit_frame *f)
{
   (void)f;
   ticks++;
   kit_lapic_eoi();
}

static void pic_tick(kit_frame *f)
{
   (void)f;
   ticks++;
   kit_pic_eoi(0);
}

static uint16_t latch_count(void)
{
   uint8_t lo, hi;

   kit_outb(0x43, 0x00);   /* counter latch, channel 0 */
   lo = kit_inb(0x40);
   hi = kit_inb(0x40);
   return (uint16_t)(lo | hi << 8);
}

static void check_registers(void)
{
   uint16_t a, b;
   uint8_t status;

   kit_pit_rate(DIVISOR);
   a = latch_count();
   kit_udelay(1000);
   b = latch_count();
   kit_check("pit-latch", a > 0 && a <= DIVISOR && b <= DIVISOR && a != b,
             "latched counts %u then %u (divisor %u)", a, b, DIVISOR);
   kit_outb(0x43, 0xe2);   /* read-back: status only, channel 0 */
   status = kit_inb(0x40);
   kit_check("pit-readback-status", (status & 0x3f) == 0x34,
             "status 0x%x: expected access lo/hi, mode 2, binary (0x34 in bits 5-0)", status);
}

/* Ticks seen between two CMOS seconds edges, at CPL3; arg is the TSC
 * budget of each edge. ~0 when the seconds did not change. */
static uint64_t user_ticks_per_cmos_second(uint64_t budget)
{
   uint8_t s0, s;
   uint32_t t0;
   uint64_t start = kit_rdtsc();

   kit_outb(0x70, 0x00);
   s0 = kit_inb(0x71);
   while ((s = kit_inb(0x71)) == s0) {
      if (kit_rdtsc() - start > budget) {
         return ~0ull;
      }
   }
   t0 = ticks;
   start = kit_rdtsc();
   while (kit_inb(0x71) == s) {
      if (kit_rdtsc() - start > budget) {
         return ~0ull;
      }
   }
   return ticks - t0;
}

static void check_ioapic_rate(const kit_madt *m)
{
   bool level, low;
   uint32_t gsi = kit_isa_irq_gsi(m, 0, &level, &low);
   uint64_t khz = kit_tsc_khz(), waited, rate_mhz, per_sec = 0;
   uint32_t n;
   kit_fault f;

   kit_printf("pit: ISA IRQ 0 is GSI %u (%s, active %s) per the MADT\n", gsi,
              level ? "level" : "edge", low ? "low" : "high");
   kit_set_handler(VEC_PIT_IOAPIC, ioapic_tick);
   kit_pit_rate(DIVISOR);
   ticks = 0;
   kit_ioapic_route(gsi, VEC_PIT_IOAPIC, kit_lapic_id(),
                    (level ? KIT_IOAPIC_LEVEL : 0) | (low ? KIT_IOAPIC_LOW : 0));
   if (!khz) {
      kit_skip("pit-rate-tsc", "no TSC frequency (CPUID 0x40000010)");
      khz = 1000000;
   }
   waited = kit_wait_irqs(&ticks, ~0u, khz * 500);   /* 0.5 s */
   n = ticks;
   rate_mhz = waited ? (uint64_t)n * khz * 1000000 / waited : 0;   /* milli-Hz */
   kit_printf("pit: %u ticks in %lu us of TSC time: %lu.%03lu Hz (programmed %u Hz)\n", n,
              waited * 1000 / khz, rate_mhz / 1000, rate_mhz % 1000, HZ);
   if (kit_tsc_khz()) {
      kit_check("pit-rate-tsc", rate_mhz >= HZ * 750 && rate_mhz <= HZ * 1250,
                "%lu.%03lu Hz through IOAPIC pin %u, expected %u Hz +-25%%", rate_mhz / 1000,
                rate_mhz % 1000, gsi, HZ);
   }
   if (kit_user_run(user_ticks_per_cmos_second, khz * 2500, &per_sec, &f) || per_sec == ~0ull) {
      kit_fail("pit-rate-cmos", "the CMOS seconds did not advance");
   } else {
      kit_printf("pit: %lu ticks in one CMOS second\n", per_sec);
      kit_check("pit-rate-cmos", per_sec >= HZ * 3 / 4 && per_sec <= HZ * 5 / 4,
                "%lu ticks per CMOS second, expected %u +-25%%", per_sec, HZ);
   }

   /* Masked at the IOAPIC: nothing more arrives. */
   kit_ioapic_mask(gsi);
   kit_udelay(2000);
   n = ticks;
   kit_wait_irqs(&ticks, ~0u, khz * 200);
   kit_check("pit-ioapic-mask", ticks - n <= 1, "%u ticks arrived while the pin was masked",
             ticks - n);

   /* Mode 0: a single interrupt at terminal count. */
   kit_outb(0x43, 0x30);
   kit_outb(0x40, (uint8_t)DIVISOR);
   kit_outb(0x40, (uint8_t)(DIVISOR >> 8));
   ticks = 0;
   kit_ioapic_route(gsi, VEC_PIT_IOAPIC, kit_lapic_id(),
                    (level ? KIT_IOAPIC_LEVEL : 0) | (low ? KIT_IOAPIC_LOW : 0));
   kit_wait_irqs(&ticks, ~0u, khz * 200);
   kit_check("pit-mode0-one-shot", ticks == 1, "%u interrupts in 200 ms after a 10 ms mode 0 "
             "count, expected 1", ticks);
   kit_ioapic_mask(gsi);
}

static void check_pic_rate(void)
{
   uint64_t khz = kit_tsc_khz() ? kit_tsc_khz() : 1000000, waited, rate_mhz;
   uint32_t n;

   kit_set_handler(VEC_PIC_BASE, pic_tick);
   kit_lapic_write(KIT_LAPIC_LVT_LINT0, 0x700);   /* ExtINT, unmasked */
   kit_pit_rate(DIVISOR);
   ticks = 0;
   kit_pic_set_mask(0xfffe);
   waited = kit_wait_irqs(&ticks, ~0u, khz * 300);
   kit_pic_set_mask(0xffff);
   kit_lapic_write(KIT_LAPIC_LVT_LINT0, 0x10700);   /* masked */
   n = ticks;
   rate_mhz = waited ? (uint64_t)n * khz * 1000000 / waited : 0;
   kit_printf("pit: through the 8259: %u ticks in %lu us: %lu.%03lu Hz\n", n,
              waited * 1000 / khz, rate_mhz / 1000, rate_mhz % 1000);
   kit_check("pit-via-pic", rate_mhz >= HZ * 750 && rate_mhz <= HZ * 1250,
             "%lu.%03lu Hz through the 8259 and LINT0, expected %u Hz +-25%%", rate_mhz / 1000,
             rate_mhz % 1000, HZ);
}

void kit_main(void)
{
   kit_madt m;

   kit_poweroff_at_exit();
   kit_pic_init(VEC_PIC_BASE);
   kit_lapic_enable();
   if (!kit_acpi_madt(&m)) {
      kit_fail("madt", "no MADT: cannot tell which IOAPIC pin ISA IRQ 0 uses");
      return;
   }
   check_registers();
   check_ioapic_rate(&m);
   check_pic_rate();
   kit_pit_stop();
   kit_check("no-unexpected-interrupts", kit_unexpected_interrupts() == 0, "%u unexpected",
             kit_unexpected_interrupts());
}
