/*
 * tests/guests/devices/reset.c - the machine's resets, one per boot. The
 * program keeps a boot counter in CMOS NVRAM (which a reset keeps and a
 * power-on clears), so each run knows which reset brought it here:
 *
 *   boot 1: reset control register, port 0xcf9 (0x02 then 0x06)
 *   boot 2: keyboard controller pulse, command 0xfe
 *   boot 3: fast reset, port 0x92 bit 0
 *   boot 4: the FADT's RESET_REG with RESET_VALUE, as an ACPI OS does it
 *   boot 5: report and power off
 *
 * The host test (run-in-vmx.sh --boots 5) checks that the serial log shows
 * five starts and vmware.log the reasons.
 */
#include "kit/kit.h"
#include "kit/platform.h"

#define NV_MAGIC 0x48    /* NVRAM byte: 0xb0 | boots so far */
#define MAGIC    0xb0

static void reset_failed(const char *how)
{
   kit_udelay(500000);
   kit_fail("reset", "still running 0.5 s after a reset through %s", how);
}

static void boot1(void)
{
   uint8_t v0 = kit_inb(0xcf9), v1;

   kit_cmos_write(NV_MAGIC, MAGIC | 1);
   kit_check("rcr-power-on", v0 == 0, "port 0xcf9 reads 0x%x after power-on", v0);
   kit_outb(0xcf9, 0x02);   /* SYS_RST only: selects a hard reset, no reset yet */
   v1 = kit_inb(0xcf9);
   kit_check("rcr-readback", v1 == 0x02, "port 0xcf9 reads 0x%x after writing 0x02", v1);
   kit_printf("reset: boot 1: resetting through port 0xcf9 (0x06)\n");
   kit_outb(0xcf9, 0x06);
   reset_failed("port 0xcf9");
}

static void boot2(void)
{
   uint8_t v = kit_inb(0xcf9);

   kit_pass("reset-cf9");
   kit_check("rcr-kept-across-reset", v == 0x02, "port 0xcf9 reads 0x%x after the reset it "
             "triggered (SYS_RST must stay set)", v);
   kit_cmos_write(NV_MAGIC, MAGIC | 2);
   kit_printf("reset: boot 2: resetting through the keyboard controller (0xfe)\n");
   for (int i = 0; i < 1000 && (kit_inb(0x64) & 0x02); i++) {
   }
   kit_outb(0x64, 0xfe);
   reset_failed("the keyboard controller");
}

static void boot3(void)
{
   uint8_t v = kit_inb(0x92);

   kit_pass("reset-kbc");
   kit_cmos_write(NV_MAGIC, MAGIC | 3);
   kit_printf("reset: boot 3: fast reset through port 0x92 (0x%x | 1)\n", v);
   kit_outb(0x92, (uint8_t)(v & ~1u));
   kit_outb(0x92, (uint8_t)(v | 1));
   reset_failed("port 0x92");
}

static void boot4(void)
{
   const kit_acpi_header *fadt = kit_acpi_table("FACP", 0);
   const uint8_t *f = (const uint8_t *)fadt;
   uint64_t addr;
   uint32_t flags = 0;

   kit_pass("reset-port92");
   if (fadt && fadt->length >= 129) {
      memcpy(&flags, f + 112, 4);
   }
   if (!kit_check("fadt-reset-reg", fadt && fadt->length >= 129 && (flags & (1u << 10)) &&
                  f[116] == 1, "no I/O RESET_REG in the FADT (flags 0x%x)", flags)) {
      kit_cmos_write(NV_MAGIC, 0);
      return;
   }
   memcpy(&addr, f + 120, 8);
   kit_cmos_write(NV_MAGIC, MAGIC | 4);
   kit_printf("reset: boot 4: RESET_REG I/O 0x%lx value 0x%x\n", addr, f[128]);
   kit_outb((uint16_t)addr, f[128]);
   reset_failed("the FADT's RESET_REG");
}

void kit_main(void)
{
   uint8_t nv = kit_cmos_read(NV_MAGIC);
   unsigned boot = (nv & 0xf0) == MAGIC ? (nv & 0x0f) + 1u : 1u;

   kit_poweroff_at_exit();
   kit_printf("reset: boot %u (NVRAM 0x%x = 0x%x)\n", boot, NV_MAGIC, nv);
   switch (boot) {
   case 1: boot1(); break;
   case 2: boot2(); break;
   case 3: boot3(); break;
   case 4: boot4(); break;
   default:
      kit_pass("reset-acpi-reset-reg");
      kit_check("boot-count", boot == 5, "boot %u, expected 5", boot);
      kit_cmos_write(NV_MAGIC, 0);
      break;
   }
}
