/*
 * tests/guests/devices/acpi.c - the ACPI tables and fixed hardware as a
 * guest OS finds them: the RSDP by scanning the BIOS area, XSDT/RSDT, the
 * FADT's blocks, FACS, MADT and DSDT (checksums, \_S5), the PM timer's
 * rate against the TSC, PM1 registers, an unsupported sleep type that must
 * be ignored, and finally S5 through PM1a_CNT (kit_exit's hook): the host
 * checks that the VM ends poweredOff.
 */
#include "kit/kit.h"
#include "kit/platform.h"

static const uint8_t *p8(const void *t)
{
   return (const uint8_t *)t;
}

static uint32_t rd32(const void *p)
{
   uint32_t v;

   memcpy(&v, p, 4);
   return v;
}

static void check_tables(void)
{
   const uint8_t *rsdp = kit_acpi_rsdp();
   const kit_acpi_header *xsdt, *rsdt;
   static const char *const sigs[] = { "FACP", "APIC", "DSDT" };
   bool ok = true;

   if (!kit_check("rsdp-found", rsdp != NULL, "no \"RSD PTR \" with a valid checksum in "
                  "0xE0000-0xFFFFF")) {
      return;
   }
   kit_printf("acpi: RSDP at %p, revision %u, OEM '%c%c%c%c%c%c'\n", (const void *)rsdp,
              rsdp[15], rsdp[9], rsdp[10], rsdp[11], rsdp[12], rsdp[13], rsdp[14]);
   kit_check("rsdp-v2", rsdp[15] >= 2 && rd32(rsdp + 20) >= 36 &&
             kit_acpi_sum(rsdp, rd32(rsdp + 20)) == 0,
             "revision %u, length %u, extended checksum %u", rsdp[15], rd32(rsdp + 20),
             kit_acpi_sum(rsdp, 36));
   xsdt = rsdp[15] >= 2 ? (const kit_acpi_header *)(uintptr_t)rd32(rsdp + 24) : NULL;
   rsdt = (const kit_acpi_header *)(uintptr_t)rd32(rsdp + 16);
   kit_check("xsdt", xsdt && memcmp(xsdt->sig, "XSDT", 4) == 0 &&
             kit_acpi_sum(xsdt, xsdt->length) == 0, "XSDT at %p missing or bad checksum",
             (const void *)xsdt);
   kit_check("rsdt", rsdt && memcmp(rsdt->sig, "RSDT", 4) == 0 &&
             kit_acpi_sum(rsdt, rsdt->length) == 0, "RSDT at %p missing or bad checksum",
             (const void *)rsdt);
   for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
      const kit_acpi_header *t = kit_acpi_table(sigs[i], 0);

      if (!t) {
         kit_fail("tables", "no %s table", sigs[i]);
         ok = false;
      } else if (kit_acpi_sum(t, t->length) != 0) {
         kit_fail("tables", "%s at %p: bad checksum", sigs[i], (const void *)t);
         ok = false;
      } else {
         kit_printf("acpi: %c%c%c%c at %p, %u bytes, revision %u\n", t->sig[0], t->sig[1],
                    t->sig[2], t->sig[3], (const void *)t, t->length, t->revision);
      }
   }
   if (ok) {
      kit_pass("tables");
   }
}

static void check_fadt(void)
{
   const kit_acpi_header *fadt = kit_acpi_table("FACP", 0);
   const uint8_t *f = p8(fadt);
   uint32_t facs, pm1a_evt, pm1a_cnt, pm_tmr, flags;
   uint16_t cnt;

   if (!fadt || fadt->length < 116) {
      kit_skip("fadt", "no FADT");
      return;
   }
   facs = rd32(f + 36);
   pm1a_evt = rd32(f + 56);
   pm1a_cnt = rd32(f + 64);
   pm_tmr = rd32(f + 76);
   flags = rd32(f + 112);
   kit_printf("acpi: FADT SCI %u, PM1a_EVT 0x%x (len %u), PM1a_CNT 0x%x (len %u), PM_TMR 0x%x, "
              "GPE0 0x%x, flags 0x%x\n", f[46] | f[47] << 8, pm1a_evt, f[88], pm1a_cnt, f[89],
              pm_tmr, rd32(f + 80), flags);
   kit_check("facs", facs && memcmp((const void *)(uintptr_t)facs, "FACS", 4) == 0,
             "FIRMWARE_CTRL 0x%x has no FACS", facs);
   kit_check("fadt-blocks", pm1a_evt && pm1a_cnt && pm_tmr && f[88] == 4 && f[89] == 2 &&
             f[91] == 4, "PM1a_EVT 0x%x/%u PM1a_CNT 0x%x/%u PM_TMR 0x%x/%u", pm1a_evt, f[88],
             pm1a_cnt, f[89], pm_tmr, f[91]);
   /* Always in ACPI mode: no SMI_CMD, SCI_EN reads 1. */
   cnt = kit_inw((uint16_t)pm1a_cnt);
   kit_check("sci-en", rd32(f + 48) == 0 && (cnt & 1), "SMI_CMD 0x%x, PM1_CNT 0x%x",
             rd32(f + 48), cnt);

   /* PM1_EN reads back; PM1_STS is write-one-to-clear. */
   kit_outw((uint16_t)(pm1a_evt + 2), 0x0100);   /* PWRBTN_EN */
   kit_check("pm1-en", kit_inw((uint16_t)(pm1a_evt + 2)) == 0x0100, "PM1_EN 0x%x after "
             "writing 0x0100", kit_inw((uint16_t)(pm1a_evt + 2)));
   kit_outw((uint16_t)(pm1a_evt + 2), 0);
   kit_outw((uint16_t)pm1a_evt, 0xffff);
   kit_check("pm1-sts-clear", (kit_inw((uint16_t)pm1a_evt) & 0x0100) == 0,
             "PM1_STS 0x%x after clearing", kit_inw((uint16_t)pm1a_evt));

   /* The PM timer: 3.579545 MHz, 32 bits (TMR_VAL_EXT). */
   if (kit_tsc_khz()) {
      uint32_t a, b;
      uint64_t t0, t1, hz;

      t0 = kit_rdtsc();
      a = kit_inl((uint16_t)pm_tmr);
      kit_udelay(50000);
      b = kit_inl((uint16_t)pm_tmr);
      t1 = kit_rdtsc();
      hz = (uint64_t)(b - a) * kit_tsc_khz() * 1000 / (t1 - t0);
      kit_printf("acpi: PM timer 0x%x -> 0x%x, %lu Hz by the TSC\n", a, b, hz);
      kit_check("pm-timer", (flags & (1u << 8)) && hz > 3579545ull * 8 / 10 &&
                hz < 3579545ull * 12 / 10, "%lu Hz, expected 3579545 (flags 0x%x)", hz, flags);
   } else {
      kit_skip("pm-timer", "no TSC frequency (CPUID 0x40000010)");
   }
}

static void check_madt_dsdt(void)
{
   kit_madt m;
   kit_acpi_sleep s;
   const char *why = "";
   uint64_t ncpus = 1;

   kit_cmdline_u64("kit.ncpus", &ncpus);
   if (kit_check("madt", kit_acpi_madt(&m), "no MADT")) {
      kit_printf("acpi: MADT LAPIC 0x%x, %u CPU(s), IOAPIC id %u at 0x%x GSI %u, %u "
                 "override(s), PCAT_COMPAT %d\n", m.lapic_addr, m.ncpus, m.ioapic_id,
                 m.ioapic_addr, m.ioapic_gsi_base, m.niso, m.pcat_compat);
      for (unsigned i = 0; i < m.niso; i++) {
         kit_printf("acpi:   IRQ %u -> GSI %u flags 0x%x\n", m.iso[i].irq, m.iso[i].gsi,
                    m.iso[i].flags);
      }
      kit_check("madt-contents", m.lapic_addr == KIT_LAPIC_BASE && m.ncpus == ncpus &&
                m.nioapics == 1 && m.ioapic_addr == KIT_IOAPIC_BASE &&
                m.ioapic_gsi_base == 0, "LAPIC 0x%x, %u CPUs (expected %lu), %u IOAPICs at "
                "0x%x", m.lapic_addr, m.ncpus, ncpus, m.nioapics, m.ioapic_addr);
   }
   if (kit_check("s5", kit_acpi_s5(&s, &why), "%s", why)) {
      kit_printf("acpi: \\_S5 SLP_TYP %u/%u, PM1a_CNT 0x%x PM1b_CNT 0x%x\n", s.slp_typ_a,
                 s.slp_typ_b, s.pm1a_cnt, s.pm1b_cnt);
      /* A sleep state the DSDT does not offer (S1 here: typ 1 if S5 is
       * not 1) must be ignored: we are still running afterwards. */
      kit_outw(s.pm1a_cnt, (uint16_t)(1 | ((s.slp_typ_a == 1 ? 2 : 1) << 10) | 0x2000));
      kit_udelay(100000);
      kit_pass("unsupported-sleep-ignored");
   }
}

void kit_main(void)
{
   kit_poweroff_at_exit();
   check_tables();
   check_fadt();
   check_madt_dsdt();
   kit_printf("acpi: entering S5 through PM1a_CNT after the result\n");
}
