/*
 * tests/guests/devices/ioapic.c - IOAPIC routing of real device lines:
 * the ID and version registers, masked pins at power-on, redirection entry
 * read-back, the RTC's periodic interrupt on ISA IRQ 8 (edge: counted,
 * masked, vector changed), the same line level-triggered (a line still
 * asserted at EOI delivers again), and the UART THR-empty interrupt of
 * COM2 on ISA IRQ 3 (one interrupt per byte sent). Needs serial1 present
 * (run-in-vmx.sh --serial1).
 */
#include "kit/kit.h"
#include "kit/platform.h"

#define VEC_RTC   0x40
#define VEC_RTC2  0x41
#define VEC_UART  0x42
#define COM2      0x2f8

static kit_madt madt;
static unsigned rtc_gsi;
static volatile uint32_t rtc_irqs, rtc_irqs2, uart_irqs, rtc_bad_c, uart_bad_iir;

static void rtc_irq(kit_frame *f)
{
   uint8_t c = kit_cmos_read(0x0c);   /* reading C lowers the line */

   if ((c & 0xc0) != 0xc0) {
      rtc_bad_c = c | 0x100;
   }
   if (f->vector == VEC_RTC2) {
      rtc_irqs2++;
   } else {
      rtc_irqs++;
   }
   kit_lapic_eoi();
}

/* Level-triggered: within each RTC period (a burst of deliveries less than
 * 50 ms apart) the handler lowers the line (reads register C) only on the
 * third entry, so the pin, still asserted at the first two EOIs, must
 * deliver again at once: three interrupts per period instead of one. */
#define MAX_BURSTS 8
static volatile uint32_t burst_size[MAX_BURSTS], nbursts;
static volatile uint64_t last_level_tsc;

static void rtc_level_irq(kit_frame *f)
{
   uint64_t now = kit_rdtsc();

   (void)f;
   if (!nbursts || now - last_level_tsc > kit_tsc_khz() * 50) {
      nbursts++;
   }
   last_level_tsc = now;
   if (nbursts <= MAX_BURSTS && ++burst_size[nbursts - 1] == 3) {
      kit_cmos_read(0x0c);
   }
   rtc_irqs++;
   kit_lapic_eoi();
}

static void uart_irq(kit_frame *f)
{
   uint8_t iir = kit_inb(COM2 + 2);   /* reading IIR clears THRE */

   (void)f;
   if ((iir & 0x0f) != 0x02) {
      uart_bad_iir = iir | 0x100;
   }
   uart_irqs++;
   kit_lapic_eoi();
}

static uint32_t flags_for(unsigned irq, unsigned *gsi)
{
   bool level, low;

   *gsi = kit_isa_irq_gsi(&madt, irq, &level, &low);
   return (level ? KIT_IOAPIC_LEVEL : 0) | (low ? KIT_IOAPIC_LOW : 0);
}

static void check_registers(void)
{
   uint32_t id = kit_ioapic_read(0), ver = kit_ioapic_read(1);
   unsigned pins = ((ver >> 16) & 0xff) + 1, unmasked = 0;
   uint64_t e;

   kit_printf("ioapic: ID %u, version 0x%x, %u pins\n", id >> 24 & 0xf, ver & 0xff, pins);
   kit_check("ioapic-id", (id >> 24 & 0xf) == madt.ioapic_id, "ID register 0x%x, MADT says %u",
             id, madt.ioapic_id);
   kit_check("ioapic-version", pins == 24 && ((ver & 0xff) == 0x11 || (ver & 0xff) == 0x20),
             "version register 0x%x: expected 24 pins, version 0x11 or 0x20", ver);
   for (unsigned pin = 0; pin < pins && pin < 24; pin++) {
      if (!(kit_ioapic_entry(pin) & KIT_IOAPIC_MASKED)) {
         unmasked++;
      }
   }
   kit_check("power-on-masked", unmasked == 0, "%u pins unmasked before the OS touched them",
             unmasked);
   e = 0x0300000000000000ull | KIT_IOAPIC_MASKED | KIT_IOAPIC_LEVEL | KIT_IOAPIC_LOW |
       1u << 11 | 0x5a;   /* logical destination 3, masked, level, low, vector 0x5a */
   kit_ioapic_set_entry(21, e);
   kit_check("entry-readback", (kit_ioapic_entry(21) & ~0x5000ull) == e,
             "wrote 0x%lx, read 0x%lx", e, kit_ioapic_entry(21));
   kit_ioapic_set_entry(21, KIT_IOAPIC_MASKED);
}

static void rtc_periodic(uint8_t rate)
{
   kit_cmos_read(0x0c);
   kit_cmos_write(0x0a, (uint8_t)(0x20 | rate));   /* divider on, rate */
   kit_cmos_write(0x0b, kit_cmos_read(0x0b) | 0x40);   /* PIE */
}

static void rtc_off(void)
{
   kit_cmos_write(0x0b, kit_cmos_read(0x0b) & ~0x40);
   kit_cmos_read(0x0c);
}

static void check_rtc(void)
{
   uint64_t khz = kit_tsc_khz() ? kit_tsc_khz() : 2000000, waited, rate_mhz;
   uint32_t flags = flags_for(8, &rtc_gsi), n;

   kit_printf("ioapic: RTC IRQ 8 is GSI %u\n", rtc_gsi);
   kit_set_handler(VEC_RTC, rtc_irq);
   kit_set_handler(VEC_RTC2, rtc_irq);
   rtc_irqs = 0;
   kit_ioapic_route(rtc_gsi, VEC_RTC, kit_lapic_id(), flags);
   rtc_periodic(10);   /* 32768 >> 9 = 64 Hz */
   waited = kit_wait_irqs(&rtc_irqs, ~0u, khz * 500);
   n = rtc_irqs;
   rate_mhz = (uint64_t)n * khz * 1000000 / (waited ? waited : 1);
   kit_printf("ioapic: RTC periodic: %u interrupts in %lu us: %lu.%03lu Hz (programmed 64 Hz)\n",
              n, waited * 1000 / khz, rate_mhz / 1000, rate_mhz % 1000);
   kit_check("rtc-irq8-routed", rate_mhz >= 48000 && rate_mhz <= 80000 && !rtc_bad_c,
             "%lu.%03lu Hz on vector 0x%x, expected 64 Hz +-25%% (register C 0x%x)",
             rate_mhz / 1000, rate_mhz % 1000, VEC_RTC, rtc_bad_c & 0xff);

   /* Masked: nothing. */
   kit_ioapic_mask(rtc_gsi);
   n = rtc_irqs;
   kit_wait_irqs(&rtc_irqs, ~0u, khz * 100);
   kit_check("rtc-masked", rtc_irqs - n <= 1, "%u interrupts through a masked pin",
             rtc_irqs - n);

   /* Another vector on the same pin. */
   kit_cmos_read(0x0c);
   kit_ioapic_route(rtc_gsi, VEC_RTC2, kit_lapic_id(), flags);
   n = rtc_irqs;
   kit_wait_irqs(&rtc_irqs2, 5, khz * 500);
   kit_check("rtc-vector-change", rtc_irqs2 >= 5 && rtc_irqs - n <= 1,
             "%u on the new vector, %u on the old", rtc_irqs2, rtc_irqs - n);
   kit_ioapic_mask(rtc_gsi);

   /* Level-triggered (the RTC holds IRQ8 high until register C is read),
    * at 2 Hz for 1.2 s: two or three periods. */
   kit_set_handler(VEC_RTC, rtc_level_irq);
   rtc_irqs = 0;
   rtc_periodic(15);
   kit_cmos_read(0x0c);
   kit_ioapic_route(rtc_gsi, VEC_RTC, kit_lapic_id(), KIT_IOAPIC_LEVEL);
   kit_wait_irqs(&rtc_irqs, ~0u, khz * 1200);
   kit_ioapic_mask(rtc_gsi);
   {
      unsigned full = 0, extra = 0, bad = 0;

      for (unsigned i = 0; i < nbursts && i < MAX_BURSTS; i++) {
         kit_printf("ioapic: level: period %u: %u deliveries\n", i, burst_size[i]);
         if (burst_size[i] == 3 || burst_size[i] == 4) {
            full++;
            extra += burst_size[i] - 3;
         } else if (i + 1 < nbursts) {
            bad++;   /* only the last period may be cut short by the mask */
         }
      }
      if (extra) {
         kit_printf("ioapic: level: %u period(s) had one more delivery after the line was "
                    "lowered before EOI (seen with kvm_pvm's in-kernel IOAPIC)\n", extra);
      }
      kit_check("level-redelivery", full >= 2 && !bad, "%u RTC periods with 3 deliveries "
                "(expected >= 2), %u with another count", full, bad);
   }
   rtc_off();
}

static void check_uart(void)
{
   uint64_t khz = kit_tsc_khz() ? kit_tsc_khz() : 2000000;
   unsigned gsi;
   uint32_t flags = flags_for(3, &gsi);
   static const char msg[] = "THRE\n";
   bool ok = true;

   kit_outb(COM2 + 7, 0xa5);
   if (kit_inb(COM2 + 7) != 0xa5) {
      kit_skip("uart-thre-irq3", "no COM2 (serial1.present) to raise IRQ 3");
      return;
   }
   kit_printf("ioapic: COM2 IRQ 3 is GSI %u\n", gsi);
   kit_set_handler(VEC_UART, uart_irq);
   kit_outb(COM2 + 3, 0x03);   /* 8N1 */
   kit_outb(COM2 + 2, 0x00);   /* FIFO off */
   kit_outb(COM2 + 4, 0x0b);   /* DTR RTS OUT2: the line reaches the interrupt controller */
   uart_irqs = 0;
   kit_ioapic_route(gsi, VEC_UART, kit_lapic_id(), flags);
   kit_outb(COM2 + 1, 0x02);   /* ETBEI: THR is empty, so at once */
   kit_wait_irqs(&uart_irqs, 1, khz * 100);
   if (uart_irqs != 1) {
      ok = false;
   }
   /* Each byte sent empties THR again: one interrupt per byte. */
   for (unsigned i = 0; ok && msg[i]; i++) {
      kit_outb(COM2, (uint8_t)msg[i]);
      kit_wait_irqs(&uart_irqs, i + 2, khz * 100);
      if (uart_irqs != i + 2) {
         ok = false;
      }
   }
   kit_check("uart-thre-irq3", ok && !uart_bad_iir, "%u THRE interrupts (expected %u), bad IIR "
             "0x%x", uart_irqs, (unsigned)sizeof msg, uart_bad_iir & 0xff);
   /* Without MCR.OUT2 the UART's interrupt does not reach the controller,
    * though IIR still shows it. */
   kit_outb(COM2 + 1, 0x00);
   kit_outb(COM2 + 4, 0x03);   /* DTR RTS, no OUT2 */
   uart_irqs = 0;
   kit_outb(COM2 + 1, 0x02);
   kit_wait_irqs(&uart_irqs, 1, khz * 50);
   kit_check("uart-out2-gates-irq", uart_irqs == 0 && (kit_inb(COM2 + 2) & 0x0f) == 0x02,
             "%u interrupt(s) with OUT2 clear", uart_irqs);
   kit_outb(COM2 + 1, 0x00);
   kit_ioapic_mask(gsi);
}

void kit_main(void)
{
   kit_poweroff_at_exit();
   kit_pic_init(0x20);
   kit_lapic_enable();
   if (!kit_acpi_madt(&madt)) {
      kit_fail("madt", "no MADT");
      return;
   }
   check_registers();
   check_rtc();
   check_uart();
   kit_skip("pci-intx", "no PCI device with an interrupt pin yet (GSIs 16-19 unused)");
   kit_check("no-unexpected-interrupts", kit_unexpected_interrupts() == 0, "%u unexpected",
             kit_unexpected_interrupts());
}
