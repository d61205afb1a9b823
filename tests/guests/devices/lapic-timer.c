/*
 * tests/guests/devices/lapic-timer.c - the local APIC timer: the divide
 * register, one-shot (one interrupt, not early, current count reaching 0),
 * the divider honoured, periodic at 100 Hz (counted against the TSC),
 * stopping by writing 0, a masked LVT counting without interrupts, and
 * TSC-deadline mode when CPUID offers it. The timer's clock is the APIC bus
 * frequency of CPUID leaf 0x40000010 (EBX, kHz).
 */
#include "kit/kit.h"
#include "kit/platform.h"

#define VEC_TIMER 0x31

static volatile uint32_t fired;
static volatile uint64_t fired_tsc;

static void timer_irq(kit_frame *f)
{
   (void)f;
   if (!fired) {
      fired_tsc = kit_rdtsc();
   }
   fired++;
   kit_lapic_eoi();
}

/* Microseconds of TSC time. */
static uint64_t us(uint64_t ticks)
{
   return ticks * 1000 / kit_tsc_khz();
}

static void check_divide(void)
{
   static const uint32_t codes[] = { 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa, 0xb };
   bool ok = true;

   for (unsigned i = 0; i < sizeof codes / sizeof codes[0]; i++) {
      kit_lapic_write(KIT_LAPIC_TIMER_DIV, codes[i]);
      if ((kit_lapic_read(KIT_LAPIC_TIMER_DIV) & 0xb) != codes[i]) {
         kit_fail("divide-register", "wrote 0x%x, read 0x%x", codes[i],
                  kit_lapic_read(KIT_LAPIC_TIMER_DIV));
         ok = false;
         break;
      }
   }
   if (ok) {
      kit_pass("divide-register");
   }
}

/* One-shot of ms milliseconds with divide code div (value divisor). */
static void one_shot(const char *name, uint32_t div_code, unsigned divisor, unsigned ms)
{
   uint64_t bus = kit_apic_bus_khz(), t0, delay_us;
   uint32_t init = (uint32_t)(bus * ms / divisor), cur;

   fired = 0;
   kit_lapic_write(KIT_LAPIC_TIMER_DIV, div_code);
   kit_lapic_write(KIT_LAPIC_LVT_TIMER, VEC_TIMER);   /* one-shot, unmasked */
   t0 = kit_rdtsc();
   kit_lapic_write(KIT_LAPIC_TIMER_INIT, init);
   cur = kit_lapic_read(KIT_LAPIC_TIMER_CUR);
   kit_wait_irqs(&fired, 1, kit_tsc_khz() * (ms * 10 + 200));
   kit_wait_irqs(&fired, 2, kit_tsc_khz() * (ms * 2 + 20));   /* no second one */
   delay_us = fired ? us(fired_tsc - t0) : 0;
   kit_printf("lapic: %s: initial count %u (divide by %u), current count right after %u, "
              "%u interrupt(s), first after %lu us (programmed %u us)\n", name, init, divisor,
              cur, fired, delay_us, ms * 1000);
   kit_check(name, fired == 1 && cur > 0 && cur <= init && delay_us >= ms * 900 &&
             delay_us <= ms * 1000 * 10 + 100000 && kit_lapic_read(KIT_LAPIC_TIMER_CUR) == 0,
             "%u interrupt(s), the first after %lu us, programmed %u us (current count %u, "
             "then %u)", fired, delay_us, ms * 1000, cur, kit_lapic_read(KIT_LAPIC_TIMER_CUR));
}

static void periodic(void)
{
   uint64_t bus = kit_apic_bus_khz(), khz = kit_tsc_khz(), waited, rate_mhz;
   uint32_t n, cur;

   fired = 0;
   kit_lapic_write(KIT_LAPIC_TIMER_DIV, 0xb);
   kit_lapic_write(KIT_LAPIC_LVT_TIMER, VEC_TIMER | 1u << 17);   /* periodic */
   kit_lapic_write(KIT_LAPIC_TIMER_INIT, (uint32_t)(bus * 10));   /* 10 ms */
   waited = kit_wait_irqs(&fired, ~0u, khz * 500);
   n = fired;
   cur = kit_lapic_read(KIT_LAPIC_TIMER_CUR);
   rate_mhz = (uint64_t)n * khz * 1000000 / waited;
   kit_printf("lapic: periodic: %u interrupts in %lu us: %lu.%03lu Hz (programmed 100 Hz)\n",
              n, us(waited), rate_mhz / 1000, rate_mhz % 1000);
   kit_check("periodic", rate_mhz >= 75000 && rate_mhz <= 125000 && cur > 0,
             "%lu.%03lu Hz, expected 100 Hz +-25%% (current count %u)", rate_mhz / 1000,
             rate_mhz % 1000, cur);

   /* Writing an initial count of 0 stops it. */
   kit_lapic_write(KIT_LAPIC_TIMER_INIT, 0);
   n = fired;
   kit_wait_irqs(&fired, ~0u, khz * 100);
   kit_check("periodic-stop", fired - n <= 1 && kit_lapic_read(KIT_LAPIC_TIMER_CUR) == 0,
             "%u interrupts after the stop, current count %u", fired - n,
             kit_lapic_read(KIT_LAPIC_TIMER_CUR));
}

static void masked(void)
{
   uint64_t bus = kit_apic_bus_khz();

   fired = 0;
   kit_lapic_write(KIT_LAPIC_TIMER_DIV, 0xb);
   kit_lapic_write(KIT_LAPIC_LVT_TIMER, VEC_TIMER | 1u << 16);   /* masked one-shot */
   kit_lapic_write(KIT_LAPIC_TIMER_INIT, (uint32_t)(bus * 5));    /* 5 ms */
   kit_wait_irqs(&fired, ~0u, kit_tsc_khz() * 50);
   kit_check("masked-lvt", fired == 0 && kit_lapic_read(KIT_LAPIC_TIMER_CUR) == 0,
             "%u interrupt(s) from a masked timer; current count %u (expected it to reach 0)",
             fired, kit_lapic_read(KIT_LAPIC_TIMER_CUR));
   kit_lapic_write(KIT_LAPIC_TIMER_INIT, 0);
}

static void tsc_deadline(void)
{
   uint32_t r[4];
   uint64_t t0, khz = kit_tsc_khz(), delay_us;

   kit_cpuid(1, 0, r);
   if (!(r[2] & (1u << 24))) {
      kit_skip("tsc-deadline", "CPUID.1:ECX.TSC_DEADLINE is clear");
      return;
   }
   fired = 0;
   kit_lapic_write(KIT_LAPIC_LVT_TIMER, VEC_TIMER | 2u << 17);   /* TSC-deadline */
   t0 = kit_rdtsc();
   kit_wrmsr(0x6e0, t0 + khz * 10);   /* 10 ms */
   kit_wait_irqs(&fired, 1, khz * 300);
   kit_wait_irqs(&fired, 2, khz * 30);
   delay_us = fired ? us(fired_tsc - t0) : 0;
   kit_printf("lapic: TSC deadline: %u interrupt(s), first after %lu us (programmed 10000 us)\n",
              fired, delay_us);
   kit_check("tsc-deadline", fired == 1 && delay_us >= 9000 && kit_rdmsr(0x6e0) == 0,
             "%u interrupt(s), first after %lu us; IA32_TSC_DEADLINE now 0x%lx", fired,
             delay_us, kit_rdmsr(0x6e0));
   kit_lapic_write(KIT_LAPIC_LVT_TIMER, 1u << 16);
}

void kit_main(void)
{
   uint32_t ver;

   kit_poweroff_at_exit();
   kit_pic_init(0x20);
   kit_lapic_enable();
   kit_set_handler(VEC_TIMER, timer_irq);
   ver = kit_lapic_read(KIT_LAPIC_VER);
   kit_printf("lapic: ID %u, version 0x%x, %u LVT entries, APIC bus %lu kHz, TSC %lu kHz\n",
              kit_lapic_id(), ver & 0xff, ((ver >> 16) & 0xff) + 1, kit_apic_bus_khz(),
              kit_tsc_khz());
   kit_check("lapic-msr", (kit_rdmsr(0x1b) & 0xfffff900ull) == (KIT_LAPIC_BASE | 0x900),
             "IA32_APIC_BASE 0x%lx: expected 0xfee00000, enabled, BSP", kit_rdmsr(0x1b));
   if (!kit_apic_bus_khz() || !kit_tsc_khz()) {
      kit_skip("lapic-timer", "CPUID leaf 0x40000010 gives no TSC/APIC bus frequency");
      return;
   }
   check_divide();
   one_shot("one-shot", 0xb, 1, 20);
   one_shot("one-shot-divide-16", 0x3, 16, 20);
   periodic();
   masked();
   tsc_deadline();
   kit_check("no-unexpected-interrupts", kit_unexpected_interrupts() == 0, "%u unexpected",
             kit_unexpected_interrupts());
}
