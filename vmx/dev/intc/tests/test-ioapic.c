/*
 * Register-level tests of the IOAPIC and its routing to the LAPICs.
 */
#include "intc-test.h"

typedef struct fixture {
   intc_clock *clock;
   lapic_bus *bus;
   lapic *l0, *l1;
   intc_ioapic *io;
} fixture;

static void
on_eoi(void *opaque, uint8_t vector)
{
   ioapic_eoi(opaque, vector);
}

static void
setup(fixture *f)
{
   char *err = NULL;
   f->clock = intc_clock_new_fake(0);
   f->bus = lapic_bus_new(NULL, 2, f->clock, &err);
   f->io = ioapic_new(NULL, &err);
   g_assert_nonnull(f->bus);
   g_assert_nonnull(f->io);
   ioapic_connect(f->io, f->bus);
   lapic_bus_set_eoi_fn(f->bus, on_eoi, f->io);
   f->l0 = lapic_bus_get(f->bus, 0);
   f->l1 = lapic_bus_get(f->bus, 1);
   lapic_mmio_write(f->l0, 0xf0, 4, 0x1ff);
   lapic_mmio_write(f->l1, 0xf0, 4, 0x1ff);
}

static void
teardown(fixture *f)
{
   ioapic_free(f->io);
   lapic_bus_free(f->bus);
   intc_clock_unref(f->clock);
}

static void
iowr(intc_ioapic *io, uint8_t idx, uint32_t v)
{
   ioapic_mmio_write(io, 0x00, 4, idx);
   ioapic_mmio_write(io, 0x10, 4, v);
}

static uint32_t
iord(intc_ioapic *io, uint8_t idx)
{
   ioapic_mmio_write(io, 0x00, 1, idx);
   return (uint32_t)ioapic_mmio_read(io, 0x10, 4);
}

static void
route(intc_ioapic *io, unsigned pin, uint32_t lo, uint8_t dest)
{
   iowr(io, (uint8_t)(0x11 + 2 * pin), (uint32_t)dest << 24);
   iowr(io, (uint8_t)(0x10 + 2 * pin), lo);
}

static int
take(lapic *l)
{
   int v = lapic_ack(l);
   if (v >= 0) {
      lapic_mmio_write(l, 0xb0, 4, 0);
   }
   return v;
}

static void
test_registers(void)
{
   fixture f;
   setup(&f);
   g_assert_cmphex(iord(f.io, 0x01), ==, 0x00170011);
   g_assert_cmphex(iord(f.io, 0x00), ==, 0);
   iowr(f.io, 0x00, 0xff000000);
   g_assert_cmphex(iord(f.io, 0x00), ==, 0x0f000000);
   g_assert_cmphex(iord(f.io, 0x02), ==, 0x0f000000);
   iowr(f.io, 0x01, 0);   /* read-only */
   g_assert_cmphex(iord(f.io, 0x01), ==, 0x00170011);
   for (unsigned pin = 0; pin < 24; pin++) {
      g_assert_cmphex(iord(f.io, (uint8_t)(0x10 + 2 * pin)), ==, 0x10000);
   }
   /* Delivery status and remote IRR are read-only; reserved bits read 0. */
   iowr(f.io, 0x10, 0xfffeffff);
   g_assert_cmphex(iord(f.io, 0x10), ==, 0x0000afff);
   iowr(f.io, 0x11, 0xffffffff);
   g_assert_cmphex(iord(f.io, 0x11), ==, 0xff000000);
   g_assert_cmphex(ioapic_redir(f.io, 0), ==, 0xff0000000000afffull);
   /* IOREGSEL reads back; byte writes of IOWIN merge. */
   ioapic_mmio_write(f.io, 0x00, 1, 0x12);
   g_assert_cmphex(ioapic_mmio_read(f.io, 0x00, 1), ==, 0x12);
   ioapic_mmio_write(f.io, 0x10, 4, 0x10000);
   ioapic_mmio_write(f.io, 0x10, 1, 0x55);
   g_assert_cmphex(ioapic_mmio_read(f.io, 0x10, 4), ==, 0x10055);
   g_assert_cmphex(ioapic_mmio_read(f.io, 0x11, 1), ==, 0x00);
   g_assert_cmphex(ioapic_mmio_read(f.io, 0x12, 1), ==, 0x01);
   /* Beyond the table: nothing there. */
   g_assert_cmphex(iord(f.io, 0x40), ==, 0);
   g_assert_cmphex(ioapic_mmio_read(f.io, 0x20, 4), ==, 0);
   teardown(&f);
}

static void
test_edge(void)
{
   fixture f;
   setup(&f);
   route(f.io, 4, 0x31, 1);
   ioapic_set_irq(f.io, 4, true);
   g_assert_cmpint(take(f.l1), ==, 0x31);
   g_assert_cmpint(take(f.l0), ==, -1);
   ioapic_set_irq(f.io, 4, true);   /* no new edge */
   g_assert_cmpint(take(f.l1), ==, -1);
   ioapic_set_irq(f.io, 4, false);
   g_assert_cmpuint(ioapic_redir(f.io, 4) & (1u << 14), ==, 0);
   /* Masked: the edge is lost, unmasking does not bring it back. */
   route(f.io, 4, 0x10031, 1);
   ioapic_set_irq(f.io, 4, true);
   ioapic_set_irq(f.io, 4, false);
   route(f.io, 4, 0x31, 1);
   g_assert_cmpint(take(f.l1), ==, -1);
   /* Logical flat destination to both, and physical broadcast. */
   lapic_mmio_write(f.l0, 0xd0, 4, 0x01000000);
   lapic_mmio_write(f.l1, 0xd0, 4, 0x02000000);
   route(f.io, 5, 0x832, 0x03);
   ioapic_set_irq(f.io, 5, true);
   g_assert_cmpint(take(f.l0), ==, 0x32);
   g_assert_cmpint(take(f.l1), ==, 0x32);
   route(f.io, 6, 0x33, 0xff);
   ioapic_set_irq(f.io, 6, true);
   g_assert_cmpint(take(f.l0), ==, 0x33);
   g_assert_cmpint(take(f.l1), ==, 0x33);
   /* Lowest priority: CPU 0 busy at TPR 0x80. */
   lapic_mmio_write(f.l0, 0x80, 4, 0x80);
   route(f.io, 7, 0x934, 0x03);
   ioapic_set_irq(f.io, 7, true);
   g_assert_cmpint(take(f.l1), ==, 0x34);
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   /* NMI, INIT and ExtINT messages. */
   route(f.io, 8, 0x400, 0);
   ioapic_set_irq(f.io, 8, true);
   g_assert_true(lapic_take_nmi(f.l0));
   route(f.io, 9, 0x500, 1);
   ioapic_set_irq(f.io, 9, true);
   g_assert_true(lapic_pending_events(f.l1) & LAPIC_EV_INIT);
   g_assert_false(lapic_extint_open(f.l1));
   route(f.io, 10, 0x700, 1);
   ioapic_set_irq(f.io, 10, true);
   g_assert_true(lapic_extint_open(f.l1));
   teardown(&f);
}

static void
test_level(void)
{
   fixture f;
   setup(&f);
   const uint64_t rirr = 1u << 14;
   route(f.io, 9, 0xa040, 0);   /* level, active low (polarity stored only) */
   ioapic_set_irq(f.io, 9, true);
   g_assert_true(ioapic_redir(f.io, 9) & rirr);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x40);
   ioapic_set_irq(f.io, 9, true);   /* still asserted: nothing new */
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   /* EOI clears remote IRR; still asserted: sent again. */
   lapic_mmio_write(f.l0, 0xb0, 4, 0);
   g_assert_true(ioapic_redir(f.io, 9) & rirr);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x40);
   ioapic_set_irq(f.io, 9, false);
   lapic_mmio_write(f.l0, 0xb0, 4, 0);
   g_assert_false(ioapic_redir(f.io, 9) & rirr);
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   /* Asserted while masked: sent on unmask. */
   route(f.io, 9, 0x1a040, 0);
   ioapic_set_irq(f.io, 9, true);
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   route(f.io, 9, 0xa040, 0);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x40);
   g_assert_true(ioapic_redir(f.io, 9) & rirr);
   /* Switching to edge clears remote IRR. */
   route(f.io, 9, 0x2040, 0);
   g_assert_false(ioapic_redir(f.io, 9) & rirr);
   lapic_mmio_write(f.l0, 0xb0, 4, 0);
   ioapic_set_irq(f.io, 9, false);
   /* Nobody accepts (no APIC ID 5): remote IRR stays clear. */
   route(f.io, 11, 0x8041, 5);
   ioapic_set_irq(f.io, 11, true);
   g_assert_false(ioapic_redir(f.io, 11) & rirr);
   /* Two level pins sharing a vector are both released by one EOI. */
   route(f.io, 12, 0x8042, 1);
   route(f.io, 13, 0x8042, 1);
   ioapic_set_irq(f.io, 12, true);
   ioapic_set_irq(f.io, 13, true);
   g_assert_true(ioapic_redir(f.io, 12) & rirr);
   g_assert_true(ioapic_redir(f.io, 13) & rirr);
   ioapic_set_irq(f.io, 12, false);
   ioapic_set_irq(f.io, 13, false);
   g_assert_cmpint(take(f.l1), ==, 0x42);
   g_assert_false(ioapic_redir(f.io, 12) & rirr);
   g_assert_false(ioapic_redir(f.io, 13) & rirr);
   teardown(&f);
}

static void
test_save_restore(void)
{
   fixture a, b;
   setup(&a);
   setup(&b);
   iowr(a.io, 0x00, 0x03000000);
   route(a.io, 3, 0x8045, 1);
   route(a.io, 17, 0x1a946, 0x0f);
   ioapic_set_irq(a.io, 3, true);
   ioapic_set_irq(a.io, 17, true);
   ioapic_mmio_write(a.io, 0x00, 1, 0x23);
   test_roundtrip("ioapic", (test_save_fn)ioapic_save, (test_restore_fn)ioapic_restore, a.io,
                  b.io);
   g_assert_cmphex(ioapic_redir(b.io, 3), ==, ioapic_redir(a.io, 3));
   g_assert_true(ioapic_redir(b.io, 3) & (1u << 14));
   g_assert_cmphex(ioapic_mmio_read(b.io, 0, 1), ==, 0x23);
   /* Malformed sections are refused and change nothing. */
   struct {
      const char *tag;
      int len;   /* 0: u32 */
      uint64_t v;
   } bad[] = {
      { "lines", 0, 1u << 24 },
      { "id", 1, 16 },
      { "redir", 8 * 24, 1ull << 17 },   /* reserved bit */
      { "redir", 8 * 24, 1ull << 14 },   /* remote IRR on an edge entry */
      { "redir", 8, 0 },                 /* short */
   };
   for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
      GBytes *before = test_save("ioapic", (test_save_fn)ioapic_save, b.io);
      ckpt_writer *w = ckpt_writer_new("ioapic", 1);
      if (bad[i].len == 0) {
         ckpt_put_u32(w, bad[i].tag, (uint32_t)bad[i].v);
      } else if (bad[i].len == 1) {
         ckpt_put_u8(w, bad[i].tag, (uint8_t)bad[i].v);
      } else {
         uint8_t tab[8 * 24] = { 0 };
         memcpy(tab + 8 * 5, &bad[i].v, 8);
         ckpt_put_bytes(w, bad[i].tag, tab, (size_t)bad[i].len);
      }
      GBytes *sec = ckpt_writer_finish(w);
      char *err = NULL;
      g_assert_false(test_restore(sec, (test_restore_fn)ioapic_restore, b.io, &err));
      g_test_message("refused: %s", err);
      g_free(err);
      GBytes *after = test_save("ioapic", (test_save_fn)ioapic_save, b.io);
      g_assert_true(g_bytes_equal(before, after));
      g_bytes_unref(before);
      g_bytes_unref(after);
      g_bytes_unref(sec);
   }
   teardown(&a);
   teardown(&b);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/ioapic/registers", test_registers);
   g_test_add_func("/ioapic/edge", test_edge);
   g_test_add_func("/ioapic/level-remote-irr", test_level);
   g_test_add_func("/ioapic/save-restore", test_save_restore);
   return g_test_run();
}
