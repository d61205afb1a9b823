/*
 * The interrupt router with all the controllers: GSIs to the PIC and the
 * IOAPIC, virtual wire through LINT0, what the software monitor asks at an
 * instruction boundary, and the device descriptors on a platform.
 */
#include "intc-test.h"
#include "vmx/config.h"

typedef struct fixture {
   intc_clock *clock;
   vmx_platform *p;
   intc_pic *pic;
   intc_ioapic *io;
   lapic_bus *bus;
   intc_pit *pit;
   intc *ic;
   unsigned wakes[2];
   unsigned nmis[2];
} fixture;

static void
on_wake(void *opaque, unsigned vcpu, unsigned ev)
{
   fixture *f = opaque;
   if (ev & LAPIC_EV_INTR) {
      f->wakes[vcpu]++;
   }
   if ((ev & LAPIC_EV_NMI) && lapic_take_nmi(intc_lapic(f->ic, vcpu))) {
      f->nmis[vcpu]++;
   }
}

static void
setup(fixture *f)
{
   memset(f, 0, sizeof *f);
   char *err = NULL;
   f->clock = intc_clock_new_fake(5000000000ull);
   f->p = vmx_platform_new();
   f->pic = pic_new(f->p, &err);
   f->io = ioapic_new(f->p, &err);
   f->bus = lapic_bus_new(f->p, 2, f->clock, &err);
   f->pit = pit_new(f->p, f->clock, &err);
   g_assert_nonnull(f->pic);
   g_assert_nonnull(f->io);
   g_assert_nonnull(f->bus);
   g_assert_nonnull(f->pit);
   f->ic = intc_new(f->p, f->pic, f->io, f->bus, &err);
   g_assert_nonnull(f->ic);
   intc_set_wakeup(f->ic, on_wake, f);
}

static void
teardown(fixture *f)
{
   intc_free(f->ic);
   pit_free(f->pit);
   lapic_bus_free(f->bus);
   ioapic_free(f->io);
   pic_free(f->pic);
   vmx_platform_free(f->p);
   intc_clock_unref(f->clock);
}

static void
out8(fixture *f, uint16_t port, uint8_t v)
{
   vmx_platform_pio_write(f->p, NULL, port, 1, v);
}

static void
lapic_wr(fixture *f, unsigned cpu, unsigned off, uint32_t v)
{
   lapic_mmio_write(intc_lapic(f->ic, cpu), off, 4, v);
}

static void
ioapic_route(fixture *f, unsigned pin, uint32_t lo, uint8_t dest)
{
   vmx_platform_mmio_write(f->p, NULL, IOAPIC_BASE, 4, 0x11 + 2 * pin);
   vmx_platform_mmio_write(f->p, NULL, IOAPIC_BASE + 0x10, 4, (uint32_t)dest << 24);
   vmx_platform_mmio_write(f->p, NULL, IOAPIC_BASE, 4, 0x10 + 2 * pin);
   vmx_platform_mmio_write(f->p, NULL, IOAPIC_BASE + 0x10, 4, lo);
}

static void
pic_init(fixture *f)
{
   static const uint8_t seq[][2] = {
      { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 }, { 0x21, 0x01 },
      { 0xa0, 0x11 }, { 0xa1, 0x28 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
      { 0x21, 0x00 }, { 0xa1, 0x00 },
   };
   for (unsigned i = 0; i < G_N_ELEMENTS(seq); i++) {
      out8(f, seq[i][0], seq[i][1]);
   }
}

static void
test_virtual_wire(void)
{
   fixture f;
   setup(&f);
   pic_init(&f);
   /* PIT at ~1 kHz through the PIC and LINT0 (ExtINT) of the BSP. */
   out8(&f, 0x43, 0x34);
   out8(&f, 0x40, 0xa9);
   out8(&f, 0x40, 0x04);   /* 1193 */
   g_assert_cmpint(intc_pending(f.ic, 0), ==, -1);
   intc_clock_advance(f.clock, 1000000);
   g_assert_cmpuint(f.wakes[0], ==, 1);
   g_assert_cmpuint(f.wakes[1], ==, 0);   /* AP: LINT0 masked */
   g_assert_cmpint(intc_pending(f.ic, 0), ==, 0x20);
   g_assert_cmpint(intc_pending(f.ic, 1), ==, -1);
   g_assert_cmpint(intc_ack(f.ic, 0), ==, 0x20);
   g_assert_cmpint(intc_pending(f.ic, 0), ==, -1);
   out8(&f, 0x20, 0x20);
   intc_clock_advance(f.clock, 1000000);
   g_assert_cmpint(intc_ack(f.ic, 0), ==, 0x20);
   out8(&f, 0x20, 0x20);
   /* A slave IRQ through the cascade. */
   vmx_platform_set_irq(f.p, 12, true);
   vmx_platform_set_irq(f.p, 12, false);
   g_assert_cmpint(intc_ack(f.ic, 0), ==, 0x2c);
   out8(&f, 0xa0, 0x20);
   out8(&f, 0x20, 0x20);
   /* The LAPIC goes first. */
   lapic_wr(&f, 0, 0xf0, 0x1ff);
   lapic_wr(&f, 1, 0xf0, 0x1ff);
   lapic_wr(&f, 1, 0x310, 0);
   lapic_wr(&f, 1, 0x300, 0x51);
   vmx_platform_set_irq(f.p, 1, true);
   g_assert_cmpint(intc_pending(f.ic, 0), ==, 0x51);
   g_assert_cmpint(intc_ack(f.ic, 0), ==, 0x51);
   g_assert_cmpint(intc_ack(f.ic, 0), ==, 0x21);   /* ExtINT ignores PPR */
   lapic_wr(&f, 0, 0xb0, 0);
   out8(&f, 0x20, 0x20);
   vmx_platform_set_irq(f.p, 1, false);
   /* A hardware-disabled LAPIC passes INTR straight through. */
   lapic_wr(&f, 0, 0x350, 0x10700);
   vmx_platform_set_irq(f.p, 1, true);
   g_assert_cmpint(intc_pending(f.ic, 0), ==, -1);
   g_assert_true(lapic_set_base(intc_lapic(f.ic, 0), 0xfee00100));
   g_assert_cmpint(intc_pending(f.ic, 0), ==, 0x21);
   g_assert_cmpint(intc_ack(f.ic, 0), ==, 0x21);
   out8(&f, 0x20, 0x20);
   vmx_platform_set_irq(f.p, 1, false);
   teardown(&f);
}

static void
test_apic_mode(void)
{
   fixture f;
   setup(&f);
   pic_init(&f);
   out8(&f, 0x21, 0xff);
   out8(&f, 0xa1, 0xff);
   lapic_wr(&f, 0, 0xf0, 0x1ff);
   lapic_wr(&f, 1, 0xf0, 0x1ff);
   lapic_wr(&f, 0, 0x350, 0x10700);
   /* PIT on IOAPIC pin 0 (identity routing) to CPU 1. */
   ioapic_route(&f, 0, 0x30, 1);
   out8(&f, 0x43, 0x34);
   out8(&f, 0x40, 0xa9);
   out8(&f, 0x40, 0x04);
   intc_clock_advance(f.clock, 1000000);
   g_assert_cmpint(intc_pending(f.ic, 0), ==, -1);
   g_assert_cmpint(intc_pending(f.ic, 1), ==, 0x30);
   g_assert_cmpint(intc_ack(f.ic, 1), ==, 0x30);
   lapic_wr(&f, 1, 0xb0, 0);
   out8(&f, 0x43, 0x30);   /* stop the PIT */
   /* A level GSI shared by PIC (ELCR) and IOAPIC: re-sent after EOI. */
   out8(&f, 0x4d1, 0x04);
   ioapic_route(&f, 10, 0x8041, 0);
   vmx_platform_set_irq(f.p, 10, true);
   g_assert_cmpint(intc_ack(f.ic, 0), ==, 0x41);
   lapic_wr(&f, 0, 0xb0, 0);
   g_assert_cmpint(intc_ack(f.ic, 0), ==, 0x41);
   vmx_platform_set_irq(f.p, 10, false);
   lapic_wr(&f, 0, 0xb0, 0);
   g_assert_cmpint(intc_pending(f.ic, 0), ==, -1);
   /* MSI and NMI. */
   g_assert_cmpuint(intc_msi(f.ic, 0xfee01000, 0x61), ==, 1);
   g_assert_cmpint(intc_ack(f.ic, 1), ==, 0x61);
   g_assert_cmpuint(intc_msi(f.ic, 0xfef00000, 0x61), ==, 0);
   intc_nmi(f.ic, 1);
   g_assert_cmpuint(f.nmis[1], ==, 1);
   /* ExtINT through the IOAPIC: the PIC supplies the vector. */
   out8(&f, 0x21, 0xf7);
   ioapic_route(&f, 5, 0x700, 1);
   vmx_platform_set_irq(f.p, 3, true);
   g_assert_cmpint(intc_pending(f.ic, 1), ==, -1);
   vmx_platform_set_irq(f.p, 5, true);
   g_assert_cmpint(intc_pending(f.ic, 1), ==, 0x23);
   g_assert_cmpint(intc_ack(f.ic, 1), ==, 0x23);
   g_assert_false(lapic_extint_open(intc_lapic(f.ic, 1)));
   teardown(&f);
}

/* ---- the descriptors on a platform, with a whole-platform checkpoint */

static void
test_descriptors(void)
{
   static const vmx_device_desc *const table[] = {
      &vmx_dev_pic, &vmx_dev_ioapic, &vmx_dev_lapic, &vmx_dev_pit, &vmx_dev_intc,
   };
   char *err = NULL;
   vmxcfg *cfg = vmxcfg_new();
   vmxcfg_set(cfg, "numvcpus", "2");
   vmx_platform *p = vmx_platform_new();
   g_assert_true(vmx_platform_add_devices(p, table, G_N_ELEMENTS(table), cfg, &err));
   intc *ic = vmx_platform_device(p, "intc");
   g_assert_nonnull(ic);
   g_assert_cmpuint(lapic_bus_count(intc_lapic_bus(ic)), ==, 2);
   /* Ports and MMIO are claimed. */
   vmx_platform_pio_write(p, NULL, 0x4d0, 1, 0x20);
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0x4d0, 1), ==, 0x20);
   vmx_platform_mmio_write(p, NULL, IOAPIC_BASE, 4, 1);
   g_assert_cmphex(vmx_platform_mmio_read(p, NULL, IOAPIC_BASE + 0x10, 4), ==, 0x00170011);
   g_assert_cmphex(vmx_platform_mmio_read(p, NULL, LAPIC_DEFAULT_BASE + 0x30, 4), ==, 0x50014);
   /* GSIs reach the controllers through the platform's sink. */
   vmx_platform_set_irq(p, 5, true);
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0x20, 1), ==, 0x20);
   /* Whole-platform save -> restore -> save. */
   vmx_platform_pio_write(p, NULL, 0x43, 1, 0x30);
   vmx_platform_pio_write(p, NULL, 0x21, 1, 0xfe);
   GBytes *a = vmx_platform_save(p);
   gsize n;
   const void *data = g_bytes_get_data(a, &n);
   g_assert_true(vmx_platform_restore(p, data, n, &err));
   GBytes *b = vmx_platform_save(p);
   g_assert_true(g_bytes_equal(a, b));
   g_bytes_unref(b);
   /* Reset brings back the power-on state. */
   vmx_platform_reset(p);
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0x21, 1), ==, 0x00);
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0x4d0, 1), ==, 0x00);
   g_assert_true(vmx_platform_restore(p, data, n, &err));
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0x21, 1), ==, 0xfe);
   g_bytes_unref(a);
   vmx_platform_free(p);

   /* The router needs the others first; numvcpus is checked. */
   static const vmx_device_desc *const wrong[] = { &vmx_dev_intc };
   p = vmx_platform_new();
   g_assert_false(vmx_platform_add_devices(p, wrong, 1, cfg, &err));
   g_test_message("%s", err);
   g_assert_nonnull(strstr(err, "intc"));
   g_free(err);
   err = NULL;
   vmx_platform_free(p);
   vmxcfg_set(cfg, "numvcpus", "65");
   p = vmx_platform_new();
   g_assert_false(vmx_platform_add_devices(p, table, G_N_ELEMENTS(table), cfg, &err));
   g_test_message("%s", err);
   g_assert_nonnull(strstr(err, "numvcpus"));
   g_free(err);
   vmx_platform_free(p);
   vmxcfg_free(cfg);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/intc/virtual-wire", test_virtual_wire);
   g_test_add_func("/intc/apic-mode", test_apic_mode);
   g_test_add_func("/intc/descriptors", test_descriptors);
   return g_test_run();
}
