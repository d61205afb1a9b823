/*
 * Register-level tests of the 8254 PIT with a fake clock.
 */
#include "intc-test.h"

typedef struct fixture {
   intc_clock *clock;
   vmx_platform *p;
   intc_pit *pit;
   unsigned pulses;
   bool level;
   uint64_t base;   /* tick of the last mark() */
} fixture;

static uint64_t
tick_of(uint64_t ns)
{
   return (uint64_t)((unsigned __int128)ns * PIT_HZ / 1000000000u);
}

static uint64_t
ns_of(uint64_t tick)
{
   return (uint64_t)(((unsigned __int128)tick * 1000000000u + PIT_HZ - 1) / PIT_HZ);
}

static void
sink(void *opaque, unsigned gsi, bool level)
{
   fixture *f = opaque;
   g_assert_cmpuint(gsi, ==, 0);
   if (level && !f->level) {
      f->pulses++;
   }
   f->level = level;
}

static void
setup(fixture *f)
{
   memset(f, 0, sizeof *f);
   char *err = NULL;
   f->clock = intc_clock_new_fake(1000000000ull);
   f->p = vmx_platform_new();
   vmx_platform_set_irq_sink(f->p, sink, f);
   f->pit = pit_new(f->p, f->clock, &err);
   g_assert_nonnull(f->pit);
   f->base = tick_of(intc_clock_now(f->clock));
}

static void
teardown(fixture *f)
{
   pit_free(f->pit);
   vmx_platform_free(f->p);
   intc_clock_unref(f->clock);
}

/* Remember now as tick 0; go() moves to ticks after it. */
static void
mark(fixture *f)
{
   f->base = tick_of(intc_clock_now(f->clock));
}

static void
go(fixture *f, uint64_t ticks)
{
   intc_clock_set(f->clock, ns_of(f->base + ticks));
}

static void
out8(fixture *f, uint16_t port, uint8_t v)
{
   vmx_platform_pio_write(f->p, NULL, port, 1, v);
}

static uint8_t
in8(fixture *f, uint16_t port)
{
   return (uint8_t)vmx_platform_pio_read(f->p, NULL, port, 1);
}

/* Program counter c with a control word and a 16-bit count. */
static void
program(fixture *f, unsigned c, uint8_t ctl, uint16_t count)
{
   out8(f, 0x43, (uint8_t)(c << 6 | ctl));
   mark(f);
   out8(f, (uint16_t)(0x40 + c), (uint8_t)count);
   out8(f, (uint16_t)(0x40 + c), (uint8_t)(count >> 8));
}

/* Latch and read a 16-bit count. */
static uint16_t
latched(fixture *f, unsigned c)
{
   out8(f, 0x43, (uint8_t)(c << 6));
   uint8_t lo = in8(f, (uint16_t)(0x40 + c));
   return (uint16_t)(lo | in8(f, (uint16_t)(0x40 + c)) << 8);
}

/* Two reads of a data port, LSB first. */
static unsigned
read16(fixture *f, uint16_t port)
{
   unsigned lo = in8(f, port);
   return lo | (unsigned)in8(f, port) << 8;
}

static uint8_t
status(fixture *f, unsigned c)
{
   out8(f, 0x43, (uint8_t)(0xe0 | 2u << c));
   return in8(f, (uint16_t)(0x40 + c));
}

static bool
out2(fixture *f)
{
   return (in8(f, 0x61) & 0x20) != 0;
}

static void
test_mode0(void)
{
   fixture f;
   setup(&f);
   program(&f, 0, 0x30, 1000);
   g_assert_cmphex(status(&f, 0), ==, 0x30);   /* OUT low, count loaded */
   g_assert_cmpuint(latched(&f, 0), ==, 1000);
   go(&f, 500);
   g_assert_cmpuint(latched(&f, 0), ==, 500);
   go(&f, 999);
   g_assert_cmpuint(latched(&f, 0), ==, 1);
   g_assert_cmpuint(f.pulses, ==, 0);
   go(&f, 1000);
   g_assert_cmpuint(f.pulses, ==, 1);
   g_assert_cmphex(status(&f, 0), ==, 0xb0);   /* OUT high */
   go(&f, 1010);
   g_assert_cmpuint(latched(&f, 0), ==, 65526);   /* wraps, OUT stays high */
   go(&f, 100000);
   g_assert_cmpuint(f.pulses, ==, 1);
   /* The first byte of a new count stops the counter and drops OUT. */
   out8(&f, 0x40, 0x10);
   g_assert_cmphex(status(&f, 0) & 0x80, ==, 0);
   go(&f, 200000);
   mark(&f);
   out8(&f, 0x40, 0x00);   /* 0x0010 */
   go(&f, 15);
   g_assert_cmpuint(latched(&f, 0), ==, 1);
   go(&f, 16);
   g_assert_cmpuint(f.pulses, ==, 2);
   /* Unlatched reads follow the LSB/MSB flip-flop. */
   program(&f, 0, 0x30, 0x1234);
   g_assert_cmphex(in8(&f, 0x40), ==, 0x34);
   g_assert_cmphex(in8(&f, 0x40), ==, 0x12);
   teardown(&f);
}

static void
test_mode2_rate(void)
{
   fixture f;
   setup(&f);
   program(&f, 0, 0x34, 11932);   /* ~100 Hz */
   g_assert_cmphex(status(&f, 0), ==, 0xb4);
   go(&f, 11930);
   g_assert_cmpuint(latched(&f, 0), ==, 2);
   g_assert_cmphex(status(&f, 0) & 0x80, ==, 0x80);
   go(&f, 11931);
   g_assert_cmpuint(latched(&f, 0), ==, 1);
   g_assert_cmphex(status(&f, 0) & 0x80, ==, 0);   /* the one-tick low pulse */
   g_assert_cmpuint(f.pulses, ==, 0);
   go(&f, 11932);
   g_assert_cmpuint(f.pulses, ==, 1);
   g_assert_cmpuint(latched(&f, 0), ==, 11932);
   go(&f, 11932 * 10);
   g_assert_cmpuint(f.pulses, ==, 10);
   /* A new count takes effect at the end of the current period. */
   go(&f, 11932 * 10 + 100);
   out8(&f, 0x40, 0xe8);
   out8(&f, 0x40, 0x03);   /* 1000 */
   g_assert_cmphex(status(&f, 0) & 0x40, ==, 0x40);   /* null count */
   go(&f, 11932 * 11 - 1);
   g_assert_cmpuint(latched(&f, 0), ==, 1);
   go(&f, 11932 * 11);
   g_assert_cmpuint(f.pulses, ==, 11);
   g_assert_cmpuint(latched(&f, 0), ==, 1000);
   g_assert_cmphex(status(&f, 0) & 0x40, ==, 0);
   go(&f, 11932 * 11 + 1000);
   g_assert_cmpuint(f.pulses, ==, 12);
   /* Tiny counts: IRQ0 no more often than INTC_MIN_PERIOD_NS. */
   program(&f, 0, 0x34, 2);
   unsigned before = f.pulses;
   go(&f, tick_of(1000000));   /* 1 ms */
   unsigned n = f.pulses - before;
   g_assert_cmpuint(n, >=, 9);
   g_assert_cmpuint(n, <=, 11);
   /* A new control word stops it. */
   out8(&f, 0x43, 0x34);
   before = f.pulses;
   go(&f, tick_of(10000000));
   g_assert_cmpuint(f.pulses, ==, before);
   teardown(&f);
}

/* A host that runs the IRQ0 timer late: the edges that went by come to
 * the guest afterwards, a second's worth at most; a new count drops them. */
static void
test_mode2_late(void)
{
   fixture f;
   setup(&f);
   program(&f, 0, 0x34, 11932);   /* ~100 Hz */
   go(&f, 11932);
   g_assert_cmpuint(f.pulses, ==, 1);
   /* 55 ms late: five edges went by (20 to 60 ms); one pulse now, four
    * owed, paid between the next edges (70, 80, 90 ms). */
   intc_clock_advance_late(f.clock, 55000000);
   g_assert_cmpuint(f.pulses, ==, 2);
   uint64_t period = ns_of(11932);
   intc_clock_advance(f.clock, period);
   g_assert_cmpuint(f.pulses, >=, 4);
   intc_clock_advance(f.clock, 2 * period + 1000000);
   g_assert_cmpuint(f.pulses, ==, 2 + 4 + 3);
   intc_clock_advance(f.clock, 10 * period);
   g_assert_cmpuint(f.pulses, ==, 2 + 4 + 3 + 10);
   /* 10 s late: a second's worth (100) owed, no more. */
   unsigned before = f.pulses;
   intc_clock_advance_late(f.clock, 10000000000ull);
   intc_clock_advance(f.clock, 1000000000ull);
   unsigned n = f.pulses - before;
   g_assert_cmpuint(n, >=, 1 + 99 + 100 - 2);
   g_assert_cmpuint(n, <=, 1 + 100 + 100 + 1);
   /* Tiny counts owe by the spaced period, not by the count. */
   program(&f, 0, 0x34, 2);
   before = f.pulses;
   intc_clock_advance_late(f.clock, 100000000);   /* 100 ms: 1000 spaced periods */
   intc_clock_advance(f.clock, 1000000000ull);
   n = f.pulses - before;
   g_assert_cmpuint(n, <=, 10000 + 1000 + 2);
   /* A new count drops what is owed. */
   program(&f, 0, 0x34, 11932);
   intc_clock_advance(f.clock, 5000000);
   intc_clock_advance_late(f.clock, 100000000);   /* ten owed */
   before = f.pulses;
   program(&f, 0, 0x34, 11932);
   intc_clock_advance(f.clock, 100000000);
   n = f.pulses - before;
   g_assert_cmpuint(n, >=, 9);
   g_assert_cmpuint(n, <=, 11);
   teardown(&f);
}

static void
test_mode3_square(void)
{
   fixture f;
   setup(&f);
   program(&f, 0, 0x36, 1000);
   g_assert_cmpuint(latched(&f, 0), ==, 1000);
   go(&f, 100);
   g_assert_cmpuint(latched(&f, 0), ==, 800);   /* by two */
   g_assert_cmphex(status(&f, 0) & 0x80, ==, 0x80);
   go(&f, 499);
   g_assert_cmphex(status(&f, 0) & 0x80, ==, 0x80);
   go(&f, 500);
   g_assert_cmphex(status(&f, 0) & 0x80, ==, 0);
   g_assert_cmpuint(latched(&f, 0), ==, 1000);
   go(&f, 999);
   g_assert_cmpuint(latched(&f, 0), ==, 2);
   g_assert_cmpuint(f.pulses, ==, 0);
   go(&f, 1000);
   g_assert_cmpuint(f.pulses, ==, 1);
   g_assert_cmphex(status(&f, 0) & 0x80, ==, 0x80);
   go(&f, 100000);
   g_assert_cmpuint(f.pulses, ==, 100);
   /* Odd count 5: high for 3 ticks, low for 2, counting 4, 2, 0 / 4, 2. */
   program(&f, 0, 0x36, 5);
   static const uint16_t want_count[] = { 4, 2, 0, 4, 2, 4 };
   static const uint8_t want_out[] = { 1, 1, 1, 0, 0, 1 };
   for (unsigned t = 0; t < 6; t++) {
      go(&f, t);
      g_assert_cmpuint(latched(&f, 0), ==, want_count[t]);
      g_assert_cmpuint(status(&f, 0) >> 7, ==, want_out[t]);
   }
   /* Counter 2 as the speaker tone: OUT2 in port 0x61 follows it. */
   out8(&f, 0x61, 0x03);
   program(&f, 2, 0x36, 100);
   g_assert_true(out2(&f));
   go(&f, 50);
   g_assert_false(out2(&f));
   go(&f, 100);
   g_assert_true(out2(&f));
   g_assert_cmphex(in8(&f, 0x61) & 0x0f, ==, 0x03);
   teardown(&f);
}

static void
test_gate_modes(void)
{
   fixture f;
   setup(&f);
   /* Mode 1 on counter 2: waits for the gate's rising edge. */
   out8(&f, 0x61, 0x00);
   program(&f, 2, 0x32, 100);
   g_assert_true(out2(&f));
   g_assert_cmphex(status(&f, 2) & 0x40, ==, 0x40);
   go(&f, 1000);
   g_assert_true(out2(&f));
   mark(&f);
   out8(&f, 0x61, 0x01);   /* trigger */
   g_assert_false(out2(&f));
   go(&f, 60);
   g_assert_cmpuint(latched(&f, 2), ==, 40);
   out8(&f, 0x61, 0x00);   /* gate low does not stop mode 1 */
   go(&f, 99);
   g_assert_false(out2(&f));
   go(&f, 100);
   g_assert_true(out2(&f));
   mark(&f);
   out8(&f, 0x61, 0x01);   /* retrigger */
   g_assert_false(out2(&f));
   /* Mode 0 pauses while the gate is low. */
   program(&f, 2, 0x30, 100);
   go(&f, 30);
   out8(&f, 0x61, 0x00);
   go(&f, 500);
   g_assert_cmpuint(latched(&f, 2), ==, 70);
   out8(&f, 0x61, 0x01);
   go(&f, 569);
   g_assert_false(out2(&f));
   go(&f, 570);
   g_assert_true(out2(&f));
   /* Mode 2: gate low forces OUT high and stops; rising edge reloads. */
   program(&f, 2, 0x34, 50);
   go(&f, 49);
   g_assert_false(out2(&f));
   out8(&f, 0x61, 0x00);
   g_assert_true(out2(&f));
   go(&f, 200);
   mark(&f);
   out8(&f, 0x61, 0x01);
   g_assert_cmpuint(latched(&f, 2), ==, 50);
   go(&f, 49);
   g_assert_false(out2(&f));
   /* Mode 4 on counter 1: a one-tick strobe at the count. */
   program(&f, 1, 0x38, 20);
   go(&f, 19);
   g_assert_cmphex(status(&f, 1) & 0x80, ==, 0x80);
   go(&f, 20);
   g_assert_cmphex(status(&f, 1) & 0x80, ==, 0);
   go(&f, 21);
   g_assert_cmphex(status(&f, 1) & 0x80, ==, 0x80);
   /* Mode 5 on counter 2: the strobe comes from a gate trigger. */
   out8(&f, 0x61, 0x00);
   program(&f, 2, 0x3a, 10);
   go(&f, 100);
   g_assert_true(out2(&f));
   mark(&f);
   out8(&f, 0x61, 0x01);
   go(&f, 10);
   g_assert_false(out2(&f));
   go(&f, 11);
   g_assert_true(out2(&f));
   /* Mode 4 on counter 0 pulses IRQ0 once, when OUT rises again. */
   program(&f, 0, 0x38, 30);
   go(&f, 30);
   g_assert_cmpuint(f.pulses, ==, 0);
   go(&f, 31);
   g_assert_cmpuint(f.pulses, ==, 1);
   go(&f, 100000);
   g_assert_cmpuint(f.pulses, ==, 1);
   teardown(&f);
}

static void
test_bcd_rw_readback(void)
{
   fixture f;
   setup(&f);
   /* BCD mode 0 with 1000 decimal. */
   program(&f, 0, 0x31, 0x1000);
   go(&f, 1);
   g_assert_cmphex(latched(&f, 0), ==, 0x0999);
   go(&f, 1001);
   g_assert_cmphex(latched(&f, 0), ==, 0x9999);   /* wraps in decimal */
   g_assert_cmphex(status(&f, 0), ==, 0xb1);
   /* Invalid BCD digits and a switch from binary: state stays savable. */
   program(&f, 2, 0x31, 0xffff);
   out8(&f, 0x43, 0x80 | 0x31);
   fixture g;
   setup(&g);
   test_roundtrip("pit", (test_save_fn)pit_save, (test_restore_fn)pit_restore, f.pit, g.pit);
   teardown(&g);
   /* LSB only and MSB only. */
   out8(&f, 0x43, 0x50);   /* counter 1, LSB, mode 0 */
   mark(&f);
   out8(&f, 0x41, 0x80);
   go(&f, 0x10);
   g_assert_cmphex(in8(&f, 0x41), ==, 0x70);
   g_assert_cmphex(in8(&f, 0x41), ==, 0x70);
   out8(&f, 0x43, 0x60);   /* counter 1, MSB, mode 0 */
   mark(&f);
   out8(&f, 0x41, 0x02);   /* 0x200 */
   go(&f, 0x101);
   g_assert_cmphex(in8(&f, 0x41), ==, 0x00);
   /* Read-back: status and count of two counters; status reads first. */
   out8(&f, 0x61, 0x01);   /* gate 2 high */
   program(&f, 0, 0x30, 300);
   program(&f, 2, 0x30, 400);
   go(&f, 100);
   out8(&f, 0x43, 0xc0 | 0x08 | 0x02);   /* latch count+status of 0 and 2 */
   go(&f, 150);
   g_assert_cmphex(in8(&f, 0x40), ==, 0x30);
   g_assert_cmpuint(read16(&f, 0x40), ==, 200);
   g_assert_cmphex(in8(&f, 0x42), ==, 0x30);
   g_assert_cmpuint(read16(&f, 0x42), ==, 300);
   /* A second latch before the first is read is ignored. */
   out8(&f, 0x43, 0x00);
   go(&f, 160);
   out8(&f, 0x43, 0x00);
   g_assert_cmpuint(read16(&f, 0x40), ==, 300 - 150);
   g_assert_cmpuint(latched(&f, 0), ==, 300 - 160);
   /* Port 0x61: refresh toggles with time, bits 0-3 read back. */
   out8(&f, 0x61, 0x0c);
   g_assert_cmphex(in8(&f, 0x61) & 0x0f, ==, 0x0c);
   uint8_t r1 = in8(&f, 0x61) & 0x10;
   intc_clock_advance(f.clock, 15085);
   g_assert_cmphex(in8(&f, 0x61) & 0x10, !=, r1);
   teardown(&f);
}

static void
test_save_restore(void)
{
   fixture a, b;
   setup(&a);
   setup(&b);
   out8(&a, 0x61, 0x01);
   program(&a, 0, 0x34, 5000);
   go(&a, 12345);
   out8(&a, 0x40, 0x10);
   out8(&a, 0x40, 0x27);             /* pending reload (10000) */
   program(&a, 1, 0x36, 333);
   out8(&a, 0x43, 0x40);             /* latch counter 1 */
   in8(&a, 0x41);                    /* half read */
   program(&a, 2, 0x30, 2000);
   go(&a, 500);
   out8(&a, 0x61, 0x00);             /* paused */
   out8(&a, 0x43, 0xe4);             /* status of counter 1 */
   intc_clock_set(b.clock, intc_clock_now(a.clock));
   test_roundtrip("pit", (test_save_fn)pit_save, (test_restore_fn)pit_restore, a.pit, b.pit);
   /* Both behave the same from here. */
   b.base = a.base;
   for (unsigned i = 1; i <= 30; i++) {
      go(&a, 500 + i * 1000);
      go(&b, 500 + i * 1000);
      for (unsigned c = 0; c < 3; c++) {
         g_assert_cmphex(in8(&a, (uint16_t)(0x40 + c)), ==, in8(&b, (uint16_t)(0x40 + c)));
      }
      g_assert_cmphex(in8(&a, 0x61), ==, in8(&b, 0x61));
      if (i == 15) {
         out8(&a, 0x61, 0x01);
         out8(&b, 0x61, 0x01);
      }
   }
   g_assert_cmpuint(a.pulses, ==, b.pulses + 2);   /* b started after 2 */
   /* Refused: bad mode, count, gate that disagrees with port 0x61. */
   struct {
      const char *tag;
      int size;
      uint32_t v;
   } bad[] = {
      { "c0.mode", 1, 6 },
      { "c1.rw", 1, 0 },
      { "c2.n", 4, 0 },
      { "c0.cr", 4, 65537 },
      { "c1.flags", 1, 0x80 },
      { "c0.flags", 1, 0 },   /* gate 0 low */
      { "port61", 1, 0x10 },
      { "c2.latch_left", 1, 3 },
      { "c0.elapsed", 4, 0 },  /* wrong type */
   };
   for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
      GBytes *before = test_save("pit", (test_save_fn)pit_save, b.pit);
      ckpt_writer *w = ckpt_writer_new("pit", 1);
      if (bad[i].size == 1) {
         ckpt_put_u8(w, bad[i].tag, (uint8_t)bad[i].v);
      } else {
         ckpt_put_u32(w, bad[i].tag, bad[i].v);
      }
      GBytes *sec = ckpt_writer_finish(w);
      char *err = NULL;
      g_assert_false(test_restore(sec, (test_restore_fn)pit_restore, b.pit, &err));
      g_test_message("%s refused: %s", bad[i].tag, err);
      g_free(err);
      GBytes *after = test_save("pit", (test_save_fn)pit_save, b.pit);
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
   g_test_add_func("/pit/mode0", test_mode0);
   g_test_add_func("/pit/mode2-late", test_mode2_late);
   g_test_add_func("/pit/mode2-rate", test_mode2_rate);
   g_test_add_func("/pit/mode3-square", test_mode3_square);
   g_test_add_func("/pit/gate-modes", test_gate_modes);
   g_test_add_func("/pit/bcd-rw-readback", test_bcd_rw_readback);
   g_test_add_func("/pit/save-restore", test_save_restore);
   return g_test_run();
}
