/*
 * Register-level tests of the local APICs and the APIC bus, with a fake
 * clock for the timers.
 */
#include "intc-test.h"

#define ID      0x020
#define VER     0x030
#define TPR     0x080
#define APR     0x090
#define PPR     0x0a0
#define EOI     0x0b0
#define LDR     0x0d0
#define DFR     0x0e0
#define SVR     0x0f0
#define ISR     0x100
#define TMR     0x180
#define IRR     0x200
#define ESR     0x280
#define ICR     0x300
#define ICR2    0x310
#define LVTT    0x320
#define LVT0    0x350
#define LVT1    0x360
#define LVTERR  0x370
#define TMICT   0x380
#define TMCCT   0x390
#define TDCR    0x3e0

typedef struct fixture {
   intc_clock *clock;
   lapic_bus *bus;
   lapic *l0, *l1;
   unsigned wakes[4][16];   /* [vcpu][event bit] */
   int eoi_vec[8];
   unsigned neoi;
} fixture;

static void
on_wake(void *opaque, unsigned vcpu, unsigned ev)
{
   fixture *f = opaque;
   for (unsigned b = 0; b < 4; b++) {
      if (ev & (1u << b)) {
         __atomic_add_fetch(&f->wakes[vcpu][b], 1, __ATOMIC_RELAXED);
      }
   }
}

static void
on_eoi(void *opaque, uint8_t vector)
{
   fixture *f = opaque;
   if (f->neoi < 8) {
      f->eoi_vec[f->neoi] = vector;
   }
   f->neoi++;
}

static void
setup(fixture *f, unsigned n)
{
   memset(f, 0, sizeof *f);
   char *err = NULL;
   f->clock = intc_clock_new_fake(1000000000ull);
   f->bus = lapic_bus_new(NULL, n, f->clock, &err);
   g_assert_nonnull(f->bus);
   f->l0 = lapic_bus_get(f->bus, 0);
   f->l1 = lapic_bus_get(f->bus, 1);
   lapic_bus_set_wakeup(f->bus, on_wake, f);
   lapic_bus_set_eoi_fn(f->bus, on_eoi, f);
}

static void
teardown(fixture *f)
{
   lapic_bus_free(f->bus);
   intc_clock_unref(f->clock);
}

static void
wr(lapic *l, unsigned off, uint32_t v)
{
   lapic_mmio_write(l, off, 4, v);
}

static uint32_t
rd(lapic *l, unsigned off)
{
   return (uint32_t)lapic_mmio_read(l, off, 4);
}

static bool
bit(lapic *l, unsigned base, unsigned v)
{
   return (rd(l, base + (v / 32) * 0x10) >> (v % 32)) & 1;
}

static void
enable(lapic *l)
{
   wr(l, SVR, 0x1ff);
}

static void
fixed(lapic_bus *b, unsigned dest, uint8_t vec, bool level)
{
   lapic_msg m = { .dest = dest, .vector = vec, .mode = LAPIC_DM_FIXED, .level_trig = level,
                   .assert = true, .src = -1 };
   lapic_bus_deliver(b, &m);
}

/* Acknowledge and end the interrupt; the vector or -1. */
static int
take(lapic *l)
{
   int v = lapic_ack(l);
   if (v >= 0) {
      wr(l, EOI, 0);
   }
   return v;
}

/* Send an IPI through the ICR. */
static void
ipi(lapic *l, uint32_t dest, uint32_t lo)
{
   wr(l, ICR2, dest << 24);
   wr(l, ICR, lo);
}

static void
test_reset_state(void)
{
   fixture f;
   setup(&f, 2);
   g_assert_cmphex(rd(f.l0, ID), ==, 0);
   g_assert_cmphex(rd(f.l1, ID), ==, 1u << 24);
   g_assert_cmphex(rd(f.l0, VER), ==, 0x50014);
   g_assert_cmphex(rd(f.l0, DFR), ==, 0xffffffff);
   g_assert_cmphex(rd(f.l0, SVR), ==, 0xff);
   g_assert_cmphex(rd(f.l0, LVTT), ==, 0x10000);
   g_assert_cmphex(rd(f.l0, LVT0), ==, 0x700);    /* BSP: virtual wire */
   g_assert_cmphex(rd(f.l1, LVT0), ==, 0x10000);
   g_assert_cmphex(rd(f.l0, LVT1), ==, 0x10000);
   g_assert_cmphex(lapic_get_base(f.l0), ==, 0xfee00900);
   g_assert_cmphex(lapic_get_base(f.l1), ==, 0xfee00800);
   g_assert_true(lapic_extint_open(f.l0));
   g_assert_false(lapic_extint_open(f.l1));
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   /* Sub-register reads; unaligned writes are ignored. */
   g_assert_cmphex(lapic_mmio_read(f.l0, VER + 2, 1), ==, 0x05);
   g_assert_cmphex(lapic_mmio_read(f.l0, VER, 2), ==, 0x0014);
   lapic_mmio_write(f.l0, TPR, 1, 0x30);
   g_assert_cmphex(rd(f.l0, TPR), ==, 0);
   /* ID and LDR are writable in xAPIC mode, DFR keeps its 1s. */
   wr(f.l1, ID, 0x05abcdef);
   g_assert_cmphex(rd(f.l1, ID), ==, 0x05000000);
   wr(f.l1, DFR, 0);
   g_assert_cmphex(rd(f.l1, DFR), ==, 0x0fffffff);
   teardown(&f);
}

static void
test_priorities(void)
{
   fixture f;
   setup(&f, 1);
   enable(f.l0);
   fixed(f.bus, 0, 0x51, false);
   g_assert_true(bit(f.l0, IRR, 0x51));
   g_assert_cmpuint(f.wakes[0][0], ==, 1);
   wr(f.l0, TPR, 0x60);
   g_assert_cmphex(rd(f.l0, PPR), ==, 0x60);
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   wr(f.l0, TPR, 0x5f);   /* same class: still blocked */
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   g_assert_cmphex(rd(f.l0, APR), ==, 0x5f);
   lapic_set_cr8(f.l0, 4);
   g_assert_cmphex(rd(f.l0, TPR), ==, 0x40);
   g_assert_cmpuint(lapic_get_cr8(f.l0), ==, 4);
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, 0x51);
   g_assert_cmpuint(f.wakes[0][0], ==, 2);   /* lowering TPR woke it */
   g_assert_cmphex(rd(f.l0, APR), ==, 0x50);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x51);
   g_assert_true(bit(f.l0, ISR, 0x51));
   g_assert_false(bit(f.l0, IRR, 0x51));
   g_assert_cmphex(rd(f.l0, PPR), ==, 0x50);
   fixed(f.bus, 0, 0x55, false);   /* same class as in service */
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   fixed(f.bus, 0, 0x61, false);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x61);
   g_assert_cmpint(lapic_ack(f.l0), ==, -1);
   wr(f.l0, EOI, 0);               /* ends 0x61 */
   g_assert_false(bit(f.l0, ISR, 0x61));
   g_assert_true(bit(f.l0, ISR, 0x51));
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   wr(f.l0, EOI, 0);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x55);
   wr(f.l0, EOI, 0);
   g_assert_cmphex(rd(f.l0, PPR), ==, 0x40);
   g_assert_cmpuint(f.neoi, ==, 0);   /* all edge */
   /* Illegal vectors are refused with ESR "receive illegal vector". */
   wr(f.l0, LVTERR, 0xee);
   fixed(f.bus, 0, 0x05, false);
   g_assert_false(bit(f.l0, IRR, 0x05));
   wr(f.l0, ESR, 0);
   g_assert_cmphex(rd(f.l0, ESR), ==, 0x40);
   wr(f.l0, ESR, 0);
   g_assert_cmphex(rd(f.l0, ESR), ==, 0);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0xee);   /* the error LVT fired */
   teardown(&f);
}

static void
test_eoi_broadcast_and_disable(void)
{
   fixture f;
   setup(&f, 1);
   enable(f.l0);
   fixed(f.bus, 0, 0x70, true);
   g_assert_true(bit(f.l0, TMR, 0x70));
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x70);
   wr(f.l0, EOI, 0);
   g_assert_cmpuint(f.neoi, ==, 1);
   g_assert_cmpint(f.eoi_vec[0], ==, 0x70);
   fixed(f.bus, 0, 0x70, false);
   g_assert_false(bit(f.l0, TMR, 0x70));
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x70);
   wr(f.l0, EOI, 0);
   g_assert_cmpuint(f.neoi, ==, 1);

   /* Software disable: LVTs masked, fixed interrupts dropped, NMI kept. */
   wr(f.l0, LVTT, 0x30);
   wr(f.l0, SVR, 0xff);
   g_assert_cmphex(rd(f.l0, LVTT), ==, 0x10030);
   g_assert_cmphex(rd(f.l0, LVT0), ==, 0x10700);
   wr(f.l0, LVT1, 0x400);
   g_assert_cmphex(rd(f.l0, LVT1), ==, 0x10400);
   fixed(f.bus, 0, 0x80, false);
   g_assert_false(bit(f.l0, IRR, 0x80));
   lapic_msg nmi = { .dest = 0, .mode = LAPIC_DM_NMI, .assert = true, .src = -1 };
   g_assert_cmpuint(lapic_bus_deliver(f.bus, &nmi), ==, 1);
   g_assert_true(lapic_pending_events(f.l0) & LAPIC_EV_NMI);
   g_assert_true(lapic_take_nmi(f.l0));
   g_assert_false(lapic_take_nmi(f.l0));
   /* Hardware disable: nothing accepted, registers read all-ones. */
   g_assert_true(lapic_set_base(f.l0, 0xfee00100));
   g_assert_cmphex(rd(f.l0, VER), ==, 0xffffffff);
   g_assert_cmpuint(lapic_bus_deliver(f.bus, &nmi), ==, 0);
   g_assert_true(lapic_extint_open(f.l0));
   g_assert_true(lapic_set_base(f.l0, 0xfee00900));
   g_assert_cmphex(rd(f.l0, SVR), ==, 0xff);   /* came back in reset state */
   teardown(&f);
}

static void
test_ipis(void)
{
   fixture f;
   setup(&f, 4);
   lapic *l[4];
   for (unsigned i = 0; i < 4; i++) {
      l[i] = lapic_bus_get(f.bus, i);
      enable(l[i]);
   }
   /* Physical fixed. */
   ipi(l[0], 2, 0x41);
   g_assert_cmpint(take(l[2]), ==, 0x41);
   g_assert_cmpint(lapic_has_interrupt(l[1]), ==, -1);
   g_assert_cmphex(rd(l[0], ICR), ==, 0x41);   /* delivery status idle */
   /* Physical broadcast. */
   ipi(l[3], 0xff, 0x42);
   for (unsigned i = 0; i < 4; i++) {
      g_assert_cmpint(take(l[i]), ==, 0x42);
   }
   /* Logical flat: LDR bits. */
   wr(l[1], LDR, 0x02000000);
   wr(l[2], LDR, 0x04000000);
   wr(l[3], LDR, 0x08000000);
   ipi(l[0], 0x0a, 0x843);
   g_assert_cmpint(take(l[1]), ==, 0x43);
   g_assert_cmpint(take(l[3]), ==, 0x43);
   g_assert_cmpint(take(l[2]), ==, -1);
   /* Logical cluster: cluster 1, members 1 and 2. */
   for (unsigned i = 0; i < 4; i++) {
      wr(l[i], DFR, 0x0fffffff);
   }
   wr(l[1], LDR, 0x11000000);
   wr(l[2], LDR, 0x12000000);
   wr(l[3], LDR, 0x21000000);
   ipi(l[0], 0x13, 0x844);
   g_assert_cmpint(take(l[1]), ==, 0x44);
   g_assert_cmpint(take(l[2]), ==, 0x44);
   g_assert_cmpint(take(l[3]), ==, -1);
   /* Shorthands: self, all including self, all excluding self. */
   ipi(l[2], 0, 0x40045);
   g_assert_cmpint(take(l[2]), ==, 0x45);
   g_assert_cmpint(take(l[1]), ==, -1);
   ipi(l[2], 0, 0x80046);
   for (unsigned i = 0; i < 4; i++) {
      g_assert_cmpint(take(l[i]), ==, 0x46);
   }
   ipi(l[2], 0, 0xc0047);
   g_assert_cmpint(take(l[2]), ==, -1);
   g_assert_cmpint(take(l[0]), ==, 0x47);
   g_assert_cmpint(take(l[3]), ==, 0x47);
   g_assert_cmpint(take(l[1]), ==, 0x47);
   /* Lowest priority: the lowest PPR wins, ties go to the lowest ID. */
   wr(l[0], TPR, 0x30);
   wr(l[1], TPR, 0x20);
   wr(l[2], TPR, 0x10);
   wr(l[3], TPR, 0x10);
   ipi(l[0], 0xff, 0x948);   /* logical broadcast, lowest priority */
   g_assert_cmpint(take(l[2]), ==, 0x48);
   g_assert_cmpint(take(l[3]), ==, -1);
   g_assert_cmpint(take(l[1]), ==, -1);
   /* Illegal vector: not sent, ESR "send illegal vector". */
   ipi(l[0], 1, 0x0e);
   g_assert_cmpint(lapic_has_interrupt(l[1]), ==, -1);
   wr(l[0], ESR, 0);
   g_assert_cmphex(rd(l[0], ESR), ==, 0x20);
   /* NMI, INIT, SIPI. */
   ipi(l[0], 1, 0x400);
   g_assert_cmpuint(lapic_pending_events(l[1]) & ~LAPIC_EV_INTR, ==, LAPIC_EV_NMI);
   g_assert_true(lapic_take_nmi(l[1]));
   uint8_t v = 0;
   ipi(l[0], 3, 0x4612);   /* a SIPI before INIT is dropped by the INIT */
   ipi(l[0], 3, 0x4500);
   g_assert_false(lapic_take_sipi(l[3], &v));
   ipi(l[0], 3, 0x4612);
   ipi(l[0], 3, 0x4613);   /* the second one replaces it */
   g_assert_cmpuint(f.wakes[3][2], ==, 1);
   g_assert_cmpuint(f.wakes[3][3], ==, 3);
   g_assert_true(lapic_take_init(l[3]));
   g_assert_cmphex(rd(l[3], SVR), ==, 0xff);       /* INIT reset the LAPIC... */
   g_assert_cmphex(rd(l[3], ID), ==, 3u << 24);    /* ...but not its ID */
   g_assert_true(lapic_take_sipi(l[3], &v));
   g_assert_cmphex(v, ==, 0x13);
   g_assert_false(lapic_take_init(l[3]));
   /* INIT level de-assert does nothing. */
   ipi(l[0], 3, 0x8500);
   g_assert_cmpuint(lapic_pending_events(l[3]), ==, 0);
   teardown(&f);
}

/* ---- timers */

static void
test_timer_oneshot(void)
{
   fixture f;
   setup(&f, 1);
   enable(f.l0);
   wr(f.l0, TDCR, 0xb);       /* divide by 1: 1 ns per count */
   wr(f.l0, LVTT, 0x31);
   wr(f.l0, TMICT, 1000);
   g_assert_cmpuint(rd(f.l0, TMCCT), ==, 1000);
   intc_clock_advance(f.clock, 400);
   g_assert_cmpuint(rd(f.l0, TMCCT), ==, 600);
   intc_clock_advance(f.clock, 599);
   g_assert_cmpuint(rd(f.l0, TMCCT), ==, 1);
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   intc_clock_advance(f.clock, 1);
   g_assert_cmpuint(rd(f.l0, TMCCT), ==, 0);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x31);
   g_assert_cmpuint(f.wakes[0][0], ==, 1);
   intc_clock_advance(f.clock, 100000);
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);   /* once */
   wr(f.l0, EOI, 0);
   /* Divide by 16 and a change of divisor in flight keeps the count. */
   wr(f.l0, TDCR, 0x3);
   wr(f.l0, TMICT, 100);
   intc_clock_advance(f.clock, 160);
   g_assert_cmpuint(rd(f.l0, TMCCT), ==, 90);
   wr(f.l0, TDCR, 0x0);       /* divide by 2 */
   g_assert_cmpuint(rd(f.l0, TMCCT), ==, 90);
   intc_clock_advance(f.clock, 179);
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   intc_clock_advance(f.clock, 1);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x31);
   wr(f.l0, EOI, 0);
   /* Masked: counts, no interrupt. Writing 0 stops it. */
   wr(f.l0, LVTT, 0x10031);
   wr(f.l0, TMICT, 50);
   intc_clock_advance(f.clock, 60);
   g_assert_cmpuint(rd(f.l0, TMCCT), ==, 20);
   intc_clock_advance(f.clock, 100);
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   g_assert_cmpuint(rd(f.l0, TMCCT), ==, 0);
   wr(f.l0, LVTT, 0x31);
   wr(f.l0, TMICT, 50);
   wr(f.l0, TMICT, 0);
   intc_clock_advance(f.clock, 1000);
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   teardown(&f);
}

static void
test_timer_periodic(void)
{
   fixture f;
   setup(&f, 1);
   enable(f.l0);
   wr(f.l0, TDCR, 0xb);
   wr(f.l0, LVTT, 0x20032);
   wr(f.l0, TMICT, 200000);   /* 200 us */
   unsigned n = 0;
   for (unsigned i = 0; i < 10; i++) {
      intc_clock_advance(f.clock, 50000);
      g_assert_cmpuint(rd(f.l0, TMCCT), ==, 200000 - ((i + 1) * 50000) % 200000);
      if (lapic_ack(f.l0) == 0x32) {
         n++;
         wr(f.l0, EOI, 0);
      }
   }
   g_assert_cmpuint(n, ==, 2);   /* at 200 and 400 us */
   /* Several periods without an acknowledge: IRR holds one; in phase. */
   intc_clock_advance(f.clock, 750000);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x32);
   g_assert_cmpint(lapic_ack(f.l0), ==, -1);
   wr(f.l0, EOI, 0);
   g_assert_cmpuint(rd(f.l0, TMCCT), ==, 150000);
   /* Very short periods are limited to INTC_MIN_PERIOD_NS. */
   wr(f.l0, TMICT, 10);
   unsigned fired = 0;
   for (unsigned i = 0; i < 100; i++) {
      intc_clock_advance(f.clock, INTC_MIN_PERIOD_NS / 10);
      if (lapic_ack(f.l0) >= 0) {
         fired++;
         wr(f.l0, EOI, 0);
      }
   }
   g_assert_cmpuint(fired, ==, 10);
   /* Switching to one-shot: the current period is the last. */
   wr(f.l0, TMICT, 200000);
   intc_clock_advance(f.clock, 1000);
   wr(f.l0, LVTT, 0x32);
   g_assert_cmpuint(rd(f.l0, TMCCT), ==, 199000);
   intc_clock_advance(f.clock, 199000);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x32);
   wr(f.l0, EOI, 0);
   intc_clock_advance(f.clock, 1000000);
   g_assert_cmpint(lapic_ack(f.l0), ==, -1);
   teardown(&f);
}

/* A host that runs the timer late: the periods the guest missed through
 * no fault of its own come to it afterwards (as many as it would have
 * seen), while one it leaves unacknowledged still coalesces. */
static void
test_timer_periodic_late(void)
{
   fixture f;
   setup(&f, 1);
   enable(f.l0);
   wr(f.l0, TDCR, 0xb);
   wr(f.l0, LVTT, 0x20032);
   wr(f.l0, TMICT, 200000);   /* 200 us */
   /* The timer thread wakes 1 ms late: five periods have ended. */
   intc_clock_advance_late(f.clock, 1000000);
   unsigned n = 0;
   for (unsigned i = 0; i <= 40; i++) {
      if (lapic_ack(f.l0) == 0x32) {
         n++;
         wr(f.l0, EOI, 0);
      }
      intc_clock_advance(f.clock, 10000);   /* the guest takes each as it comes */
   }
   /* 1.4 ms in all: seven periods, every one delivered. */
   g_assert_cmpuint(n, ==, 7);
   g_assert_cmpuint(rd(f.l0, TMCCT), ==, 190000);   /* still in phase */
   /* Late again, but the guest does not acknowledge: what it owes is
    * handed out only once it takes the pending one. */
   intc_clock_advance_late(f.clock, 600000);
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, 0x32);
   intc_clock_advance(f.clock, 100000);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x32);
   g_assert_cmpint(lapic_ack(f.l0), ==, -1);
   wr(f.l0, EOI, 0);
   n = 0;
   for (unsigned i = 0; i < 20; i++) {
      intc_clock_advance(f.clock, 10000);
      if (lapic_ack(f.l0) == 0x32) {
         n++;
         wr(f.l0, EOI, 0);
      }
   }
   /* 0.6 ms late (3 periods: 2 owed) and 0.3 ms more (1 period). */
   g_assert_cmpuint(n, ==, 3);
   /* What is owed is bounded: a host stalled for 10 s owes at most 1 s. */
   intc_clock_advance_late(f.clock, 10000000000ull);
   n = 0;
   for (unsigned i = 0; i < 100000 && n < 20000; i++) {
      if (lapic_ack(f.l0) == 0x32) {
         n++;
         wr(f.l0, EOI, 0);
      }
      intc_clock_advance(f.clock, 25000);
   }
   /* 5000 owed (1 s of 200 us periods) + the one due + those of the
    * 2.5 s of catching up. */
   g_assert_cmpuint(n, >=, 5001 + 12500 - 2);
   g_assert_cmpuint(n, <=, 5001 + 12500 + 2);
   /* Stopping drops what is owed. */
   intc_clock_advance_late(f.clock, 1000000);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x32);
   wr(f.l0, EOI, 0);
   wr(f.l0, TMICT, 0);
   intc_clock_advance(f.clock, 1000000);
   g_assert_cmpint(lapic_ack(f.l0), ==, -1);
   teardown(&f);
}

static void
test_timer_tsc_deadline(void)
{
   fixture f;
   setup(&f, 1);
   enable(f.l0);
   lapic_bus_set_tsc_khz(f.bus, 2000000);   /* 2 GHz: 2 TSC ticks per ns */
   wr(f.l0, TDCR, 0xb);
   wr(f.l0, TMICT, 5000);
   lapic_tsc_deadline_write(f.l0, 123, 0);   /* ignored outside the mode */
   g_assert_cmpuint(lapic_tsc_deadline_read(f.l0), ==, 0);
   wr(f.l0, LVTT, 0x40033);
   g_assert_cmpuint(rd(f.l0, TMICT), ==, 0);   /* mode switch disarmed it */
   wr(f.l0, TMICT, 5000);                       /* ignored in TSC mode */
   g_assert_cmpuint(rd(f.l0, TMICT), ==, 0);
   intc_clock_advance(f.clock, 10000);
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   lapic_tsc_deadline_write(f.l0, 1000000 + 8000, 1000000);
   g_assert_cmpuint(lapic_tsc_deadline_read(f.l0), ==, 1008000);
   intc_clock_advance(f.clock, 3999);
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   intc_clock_advance(f.clock, 1);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x33);
   g_assert_cmpuint(lapic_tsc_deadline_read(f.l0), ==, 0);
   wr(f.l0, EOI, 0);
   /* A deadline in the past fires at once; 0 disarms. */
   lapic_tsc_deadline_write(f.l0, 5, 1000);
   intc_clock_advance(f.clock, 0);
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x33);
   wr(f.l0, EOI, 0);
   lapic_tsc_deadline_write(f.l0, 5000, 1000);
   lapic_tsc_deadline_write(f.l0, 0, 1000);
   intc_clock_advance(f.clock, 1000000);
   g_assert_cmpint(lapic_has_interrupt(f.l0), ==, -1);
   teardown(&f);
}

/* ---- x2APIC */

static void
test_x2apic(void)
{
   fixture f;
   setup(&f, 3);
   lapic *l2 = lapic_bus_get(f.bus, 2);
   uint64_t v;
   g_assert_false(lapic_msr_read(f.l0, 0x802, &v));   /* not in x2APIC mode */
   g_assert_false(lapic_set_base(f.l0, 0xfee00500));  /* EXTD without EN */
   g_assert_false(lapic_set_base(f.l0, 0xfee00d00 | (1ull << 60)));
   for (unsigned i = 0; i < 3; i++) {
      g_assert_true(lapic_set_base(lapic_bus_get(f.bus, i), 0xfee00c00 | (i ? 0 : 0x100)));
   }
   g_assert_false(lapic_set_base(f.l0, 0xfee00900));  /* x2APIC -> xAPIC */
   g_assert_cmphex(lapic_mmio_read(f.l0, VER, 4), ==, 0xffffffff);
   g_assert_true(lapic_msr_read(l2, 0x802, &v));
   g_assert_cmpuint(v, ==, 2);
   g_assert_true(lapic_msr_read(l2, 0x80d, &v));
   g_assert_cmphex(v, ==, 0x4);
   g_assert_false(lapic_msr_read(l2, 0x80e, &v));     /* no DFR */
   g_assert_false(lapic_msr_write(l2, 0x802, 7));     /* ID read-only */
   g_assert_true(lapic_msr_write(f.l0, 0x80f, 0x1ff));
   g_assert_true(lapic_msr_write(f.l1, 0x80f, 0x1ff));
   g_assert_true(lapic_msr_write(l2, 0x80f, 0x1ff));
   g_assert_false(lapic_msr_write(f.l0, 0x808, 0x100)); /* TPR reserved bits */
   /* Physical IPI with a 32-bit destination. */
   g_assert_true(lapic_msr_write(f.l0, 0x830, (2ull << 32) | 0x61));
   g_assert_true(lapic_msr_read(f.l0, 0x830, &v));
   g_assert_cmphex(v, ==, (2ull << 32) | 0x61);
   g_assert_cmpint(lapic_ack(l2), ==, 0x61);
   g_assert_false(lapic_msr_write(l2, 0x80b, 1));     /* EOI must be 0 */
   g_assert_true(lapic_msr_write(l2, 0x80b, 0));
   /* Logical: cluster 0, bits 1 and 2 (APIC IDs 1 and 2). */
   g_assert_true(lapic_msr_write(f.l0, 0x830, (0x6ull << 32) | 0x862));
   g_assert_cmpint(lapic_ack(f.l1), ==, 0x62);
   g_assert_cmpint(lapic_ack(l2), ==, 0x62);
   g_assert_cmpint(lapic_ack(f.l0), ==, -1);
   /* Self IPI. */
   g_assert_true(lapic_msr_write(f.l0, 0x83f, 0x63));
   g_assert_cmpint(lapic_ack(f.l0), ==, 0x63);
   g_assert_false(lapic_msr_write(f.l0, 0x83f, 0x163));
   g_assert_false(lapic_msr_read(f.l0, 0x83f, &v));   /* write-only */
   /* Timer through MSRs. */
   g_assert_true(lapic_msr_write(f.l0, 0x83e, 0xb));
   g_assert_true(lapic_msr_write(f.l0, 0x832, 0x64));
   g_assert_true(lapic_msr_write(f.l0, 0x838, 500));
   intc_clock_advance(f.clock, 100);
   g_assert_true(lapic_msr_read(f.l0, 0x839, &v));
   g_assert_cmpuint(v, ==, 400);
   /* Disable, then back to xAPIC. */
   g_assert_true(lapic_set_base(f.l0, 0xfee00100));
   g_assert_true(lapic_set_base(f.l0, 0xfee00900));
   g_assert_cmphex(rd(f.l0, VER), ==, 0x50014);
   teardown(&f);
}

/* ---- state */

static void
busy_state(fixture *f)
{
   enable(f->l0);
   enable(f->l1);
   wr(f->l0, TPR, 0x20);
   wr(f->l1, LDR, 0x04000000);
   wr(f->l1, DFR, 0x0fffffff);
   fixed(f->bus, 0, 0x91, true);
   fixed(f->bus, 0, 0x35, false);
   lapic_ack(f->l0);
   fixed(f->bus, 1, 0x44, false);
   wr(f->l0, TDCR, 0x1);
   wr(f->l0, LVTT, 0x20040);
   wr(f->l0, TMICT, 12345678);
   wr(f->l1, TDCR, 0xb);
   wr(f->l1, LVTT, 0x41);
   wr(f->l1, TMICT, 777777);
   intc_clock_advance(f->clock, 333333);
   ipi(f->l0, 1, 0x400);      /* NMI pending on 1 */
   wr(f->l0, LVTERR, 0xfe);
   ipi(f->l0, 1, 0x03);       /* ESR pending on 0 */
}

static void
test_page_roundtrip(void)
{
   fixture a, b;
   setup(&a, 2);
   setup(&b, 2);
   busy_state(&a);
   intc_clock_set(b.clock, intc_clock_now(a.clock));
   vmm_lapic pa, pb;
   char *err = NULL;
   for (unsigned i = 0; i < 2; i++) {
      lapic_get_page(lapic_bus_get(a.bus, i), &pa);
      g_assert_true(lapic_set_page(lapic_bus_get(b.bus, i), &pa, &err));
      lapic_get_page(lapic_bus_get(b.bus, i), &pb);
      g_assert_cmpmem(pa.regs, sizeof pa.regs, pb.regs, sizeof pb.regs);
   }
   /* The current count is at 0x390 and the timer runs on from it. */
   uint32_t ccr;
   memcpy(&ccr, pa.regs + TMCCT, 4);
   g_assert_cmpuint(ccr, ==, 777777 - 333333);
   intc_clock_advance(b.clock, 777777 - 333333);
   g_assert_cmpint(lapic_ack(b.l1), ==, 0x44);
   wr(b.l1, EOI, 0);
   g_assert_cmpint(lapic_ack(b.l1), ==, 0x41);
   /* A page no APIC can hold is refused. */
   lapic_get_page(a.l0, &pa);
   pa.regs[LVTT + 2] |= 0x6;   /* timer mode 3 */
   g_assert_false(lapic_set_page(b.l0, &pa, &err));
   g_assert_nonnull(err);
   g_free(err);
   teardown(&a);
   teardown(&b);
}

static void
test_save_restore(void)
{
   fixture a, b;
   setup(&a, 2);
   setup(&b, 2);
   busy_state(&a);
   intc_clock_set(b.clock, intc_clock_now(a.clock));
   test_roundtrip("lapic", (test_save_fn)lapic_bus_save, (test_restore_fn)lapic_bus_restore,
                  a.bus, b.bus);
   /* Same behaviour afterwards: timers, pending NMI, ESR. */
   g_assert_true(lapic_take_nmi(b.l1));
   wr(b.l0, ESR, 0);
   g_assert_cmphex(rd(b.l0, ESR), ==, 0x20);
   for (unsigned i = 0; i < 40; i++) {
      intc_clock_advance(a.clock, 100000);
      intc_clock_advance(b.clock, 100000);
      for (unsigned c = 0; c < 2; c++) {
         lapic *la = lapic_bus_get(a.bus, c), *lb = lapic_bus_get(b.bus, c);
         g_assert_cmpuint(rd(la, TMCCT), ==, rd(lb, TMCCT));
         g_assert_cmpint(lapic_ack(la), ==, lapic_ack(lb));
      }
   }
   /* TSC-deadline timer in flight. */
   wr(a.l0, LVTT, 0x40050);
   lapic_tsc_deadline_write(a.l0, 100000, 40000);
   test_roundtrip("lapic", (test_save_fn)lapic_bus_save, (test_restore_fn)lapic_bus_restore,
                  a.bus, b.bus);
   intc_clock_advance(b.clock, 59999);
   g_assert_cmpuint(lapic_tsc_deadline_read(b.l0), ==, 100000);
   intc_clock_advance(b.clock, 1);
   g_assert_cmpuint(lapic_tsc_deadline_read(b.l0), ==, 0);
   /* x2APIC mode. */
   g_assert_true(lapic_set_base(a.l1, 0xfee00c00));
   test_roundtrip("lapic", (test_save_fn)lapic_bus_save, (test_restore_fn)lapic_bus_restore,
                  a.bus, b.bus);
   uint64_t v;
   g_assert_true(lapic_msr_read(b.l1, 0x80d, &v));
   g_assert_cmphex(v, ==, 0x2);
   teardown(&a);
   teardown(&b);
}

static void
refuse(void (*edit)(ckpt_writer *w), const char *what)
{
   fixture f;
   setup(&f, 2);
   busy_state(&f);
   GBytes *before = test_save("lapic", (test_save_fn)lapic_bus_save, f.bus);
   ckpt_writer *w = ckpt_writer_new("lapic", 1);
   edit(w);
   GBytes *bad = ckpt_writer_finish(w);
   char *err = NULL;
   g_assert_false(test_restore(bad, (test_restore_fn)lapic_bus_restore, f.bus, &err));
   g_test_message("%s: %s", what, err);
   g_free(err);
   GBytes *after = test_save("lapic", (test_save_fn)lapic_bus_save, f.bus);
   g_assert_true(g_bytes_equal(before, after));
   g_bytes_unref(before);
   g_bytes_unref(after);
   g_bytes_unref(bad);
   teardown(&f);
}

static void
bad_count(ckpt_writer *w)
{
   ckpt_put_u32(w, "count", 3);
}

static void
bad_base(ckpt_writer *w)
{
   ckpt_put_u64(w, "cpu1.base", 0xfee00400);
}

static void
bad_regs_size(ckpt_writer *w)
{
   uint8_t page[512] = { 0 };
   ckpt_put_bytes(w, "cpu0.regs", page, sizeof page);
}

static void
bad_timer_mode(ckpt_writer *w)
{
   uint8_t page[VMM_LAPIC_SIZE] = { 0 };
   page[DFR + 3] = 0xff;
   page[LVTT + 2] = 0x06;
   ckpt_put_bytes(w, "cpu0.regs", page, sizeof page);
}

static void
bad_dfr(ckpt_writer *w)
{
   uint8_t page[VMM_LAPIC_SIZE] = { 0 };
   page[DFR + 3] = 0x5f;
   ckpt_put_bytes(w, "cpu1.regs", page, sizeof page);
}

static void
bad_events(ckpt_writer *w)
{
   ckpt_put_u32(w, "cpu0.events", 0x80);
}

static void
test_restore_refused(void)
{
   refuse(bad_count, "count");
   refuse(bad_base, "base");
   refuse(bad_regs_size, "regs size");
   refuse(bad_timer_mode, "timer mode");
   refuse(bad_dfr, "dfr");
   refuse(bad_events, "events");
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/lapic/reset-state", test_reset_state);
   g_test_add_func("/lapic/priorities", test_priorities);
   g_test_add_func("/lapic/eoi-broadcast-disable", test_eoi_broadcast_and_disable);
   g_test_add_func("/lapic/ipis", test_ipis);
   g_test_add_func("/lapic/timer-oneshot", test_timer_oneshot);
   g_test_add_func("/lapic/timer-periodic", test_timer_periodic);
   g_test_add_func("/lapic/timer-periodic-late", test_timer_periodic_late);
   g_test_add_func("/lapic/timer-tsc-deadline", test_timer_tsc_deadline);
   g_test_add_func("/lapic/x2apic", test_x2apic);
   g_test_add_func("/lapic/page-roundtrip", test_page_roundtrip);
   g_test_add_func("/lapic/save-restore", test_save_restore);
   g_test_add_func("/lapic/restore-refused", test_restore_refused);
   return g_test_run();
}
