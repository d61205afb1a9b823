/*
 * kvm-irqchip.c's conversions without a monitor: the in-kernel chips' state
 * (vmm/monitor.h) to the userspace models' sections and back, byte for
 * byte where both can say the same thing, the PIT's time, and refusals.
 */
#include "kvm-test-util.h"

static uint64_t
ticks_of(uint64_t ns)
{
   return (uint64_t)((unsigned __int128)ns * PIT_HZ / 1000000000u);
}

static uint64_t
ns_of(uint64_t ticks)
{
   return (uint64_t)(((unsigned __int128)ticks * 1000000000u + PIT_HZ - 1) / PIT_HZ);
}

static void
power_on(vmm_irqchip_state *irq, vmm_pit_state *pit)
{
   memset(irq, 0, sizeof *irq);
   memset(pit, 0, sizeof *pit);
   for (unsigned i = 0; i < VMM_IOAPIC_PINS; i++) {
      irq->ioapic.redir[i] = IOAPIC_RE_MASK;
   }
   for (unsigned i = 0; i < 3; i++) {
      pit->ch[i].count = 0x10000;
      pit->ch[i].mode = VMM_PIT_MODE_NONE;
      pit->ch[i].gate = i != 2;
   }
}

static void
assert_irq_equal(const vmm_irqchip_state *a, const vmm_irqchip_state *b)
{
   for (unsigned i = 0; i < 2; i++) {
      g_assert_cmpmem(&a->pic[i], sizeof a->pic[i], &b->pic[i], sizeof b->pic[i]);
   }
   g_assert_cmpuint(a->ioapic.id, ==, b->ioapic.id);
   g_assert_cmpuint(a->ioapic.ioregsel, ==, b->ioapic.ioregsel);
   g_assert_cmphex(a->ioapic.irr, ==, b->ioapic.irr);
   for (unsigned i = 0; i < VMM_IOAPIC_PINS; i++) {
      g_assert_cmphex(a->ioapic.redir[i], ==, b->ioapic.redir[i]);
   }
}

/* b is what a says after a trip through the models: times to whole PIT
 * ticks, every counting counter's phase known. */
static void
assert_pit_equal(const vmm_pit_state *a, const vmm_pit_state *b)
{
   g_assert_cmphex(a->flags, ==, b->flags);
   for (unsigned i = 0; i < 3; i++) {
      const vmm_pit_channel *x = &a->ch[i], *y = &b->ch[i];
      g_assert_cmpuint(x->count, ==, y->count);
      g_assert_cmphex(x->latched_count, ==, y->latched_count);
      g_assert_cmpuint(x->count_latched, ==, y->count_latched);
      g_assert_cmpuint(x->status_latched, ==, y->status_latched);
      g_assert_cmphex(x->status, ==, y->status);
      g_assert_cmpuint(x->read_state, ==, y->read_state);
      g_assert_cmpuint(x->write_state, ==, y->write_state);
      g_assert_cmphex(x->write_latch, ==, y->write_latch);
      g_assert_cmpuint(x->rw_mode, ==, y->rw_mode);
      g_assert_cmpuint(x->mode, ==, y->mode);
      g_assert_cmpuint(x->bcd, ==, y->bcd);
      g_assert_cmpuint(x->gate, ==, y->gate);
      bool counting = x->mode != VMM_PIT_MODE_NONE;
      g_assert_cmpuint(y->elapsed_known, ==, counting);
      g_assert_cmpuint(y->elapsed_ns, ==, x->elapsed_known ? ns_of(ticks_of(x->elapsed_ns)) : 0);
   }
}

static GBytes *
to_sections(const vmm_irqchip_state *irq, const vmm_pit_state *pit)
{
   char *err = NULL;
   GBytes *b = intc_kvm_sections_from_state(irq, pit, &err);
   if (!b) {
      g_error("intc_kvm_sections_from_state: %s", err);
   }
   g_assert_null(err);
   return b;
}

static void
from_sections(GBytes *b, vmm_irqchip_state *irq, vmm_pit_state *pit, unsigned want)
{
   char *err = NULL;
   unsigned found = 0;
   gsize n;
   const void *p = g_bytes_get_data(b, &n);
   if (!intc_kvm_state_from_sections(p, n, irq, pit, &found, &err)) {
      g_error("intc_kvm_state_from_sections: %s", err);
   }
   g_assert_cmphex(found, ==, want);
}

/* A power-on monitor gives the sections of power-on models, and back. */
static void
test_power_on(void)
{
   vmm_irqchip_state irq, irq2;
   vmm_pit_state pit, pit2;
   kt_fixture f;
   power_on(&irq, &pit);
   kt_setup(&f);
   GBytes *mine = to_sections(&irq, &pit);
   GBytes *models = kt_save(&f);
   g_assert_true(g_bytes_equal(mine, models));
   memset(&irq2, 0xa5, sizeof irq2);
   memset(&pit2, 0xa5, sizeof pit2);
   from_sections(models, &irq2, &pit2, INTC_KVM_PIC | INTC_KVM_IOAPIC | INTC_KVM_PIT);
   assert_irq_equal(&irq, &irq2);
   assert_pit_equal(&pit, &pit2);
   g_bytes_unref(mine);
   g_bytes_unref(models);
   kt_teardown(&f);
}

/* Models programmed as kvmtest_intc programs KVM's chips read, in the
 * monitor's terms, what vmm/kvm/tests/test-kvm-irqchip.c reads from KVM;
 * and those terms give back the models' sections byte for byte. */
static void
test_guest_state(void)
{
   vmm_irqchip_state irq;
   vmm_pit_state pit;
   kt_fixture f;
   kt_setup(&f);
   kt_program_like_guest(&f);
   vmx_platform_set_irq(f.p, 9, true);
   intc_clock_advance(f.clock, 12000000);   /* IRQ0 pulses into the PIC */
   GBytes *a = kt_save(&f);
   power_on(&irq, &pit);
   from_sections(a, &irq, &pit, INTC_KVM_PIC | INTC_KVM_IOAPIC | INTC_KVM_PIT);

   const vmm_pic_chip *m = &irq.pic[0], *s = &irq.pic[1];
   g_assert_cmphex(m->irq_base, ==, 0x20);
   g_assert_cmphex(s->irq_base, ==, 0x28);
   g_assert_cmphex(m->imr, ==, 0xb8);
   g_assert_cmphex(s->imr, ==, 0x8e);
   g_assert_cmpuint(m->init4, ==, 1);
   g_assert_cmpuint(s->init4, ==, 1);
   g_assert_cmpuint(m->priority_add, ==, 4);   /* IR3 lowest */
   g_assert_cmpuint(s->read_reg_select, ==, 1);
   g_assert_cmphex(m->elcr, ==, 0x20);
   g_assert_cmphex(s->elcr, ==, 0x0c);
   g_assert_cmphex(m->irr & 1, ==, 1);          /* IRQ0 from the PIT */
   g_assert_cmphex(s->last_irr, ==, 0x02);      /* IRQ9 high */
   g_assert_cmpuint(irq.ioapic.id, ==, 5);
   g_assert_cmphex(irq.ioapic.ioregsel, ==, 0x23);
   g_assert_cmphex(irq.ioapic.redir[9], ==, 0x0100000000018051ull);
   g_assert_cmphex(irq.ioapic.redir[16], ==, 0x0300000000018861ull);
   g_assert_cmphex(irq.ioapic.redir[20], ==, 0x40);
   g_assert_cmphex(irq.ioapic.irr, ==, 1u << 9);
   g_assert_cmpuint(pit.ch[0].mode, ==, 2);
   g_assert_cmpuint(pit.ch[0].count, ==, 11932);
   g_assert_cmpuint(pit.ch[0].rw_mode, ==, VMM_PIT_RW_WORD0);
   g_assert_cmpuint(pit.ch[0].elapsed_known, ==, 1);
   g_assert_cmpuint(pit.ch[0].elapsed_ns, ==, ns_of(ticks_of(12000000)));
   g_assert_cmpuint(pit.ch[1].mode, ==, VMM_PIT_MODE_NONE);
   g_assert_cmpuint(pit.ch[2].mode, ==, 0);
   g_assert_cmpuint(pit.ch[2].count, ==, 0xffff);
   g_assert_cmpuint(pit.ch[2].gate, ==, 1);
   g_assert_cmphex(pit.flags, ==, 0);

   GBytes *b = to_sections(&irq, &pit);
   g_assert_true(g_bytes_equal(a, b));
   g_bytes_unref(a);
   g_bytes_unref(b);
   kt_teardown(&f);
}

/* KVM-reachable states: irr of masked and level pins follows the ISA
 * lines the PIC sees, the master's IR2 follows the slave. */
static void
fix_isa_irr(vmm_irqchip_state *irq)
{
   uint32_t isa = ((uint32_t)irq->pic[0].last_irr | (uint32_t)irq->pic[1].last_irr << 8) & ~4u;
   for (unsigned i = 0; i < 16; i++) {
      if ((isa >> i & 1) && (irq->ioapic.redir[i] & (IOAPIC_RE_LEVEL | IOAPIC_RE_MASK))) {
         irq->ioapic.irr |= 1u << i;
      }
   }
}

static void
state_a(vmm_irqchip_state *irq, vmm_pit_state *pit)
{
   power_on(irq, pit);
   irq->pic[0] = (vmm_pic_chip){
      .last_irr = 0x03, .irr = 0x42, .imr = 0x10, .isr = 0x01, .priority_add = 3,
      .irq_base = 0x20, .read_reg_select = 1, .special_mask = 1, .rotate_on_auto_eoi = 1,
      .special_fully_nested_mode = 1, .init4 = 1, .elcr = 0x28,
   };
   irq->pic[1] = (vmm_pic_chip){
      .last_irr = 0x10, .irr = 0x10, .imr = 0xff, .irq_base = 0x70, .poll = 1,
      .init_state = 2, .init4 = 1, .elcr = 0x8c,
   };
   irq->ioapic.id = 3;
   irq->ioapic.ioregsel = 0x12;
   irq->ioapic.redir[4] = IOAPIC_RE_MASK | 0x33;
   irq->ioapic.redir[9] = 0x0100000000018051ull;
   irq->ioapic.redir[17] = 0x0f0000000000e861ull;   /* level, remote IRR, logical */
   irq->ioapic.redir[20] = 0x40;
   irq->ioapic.irr = 1u << 4 | 1u << 9 | 1u << 17;
   fix_isa_irr(irq);
   pit->flags = VMM_PIT_SPEAKER_DATA_ON;
   pit->ch[0] = (vmm_pit_channel){ .count = 11932, .read_state = VMM_PIT_RW_WORD0,
                                   .write_state = VMM_PIT_RW_WORD0, .write_latch = 0x9c,
                                   .rw_mode = VMM_PIT_RW_WORD0, .mode = 2, .gate = 1 };
   pit->ch[1] = (vmm_pit_channel){ .count = 333, .latched_count = 0x1234,
                                   .count_latched = VMM_PIT_RW_MSB, .status_latched = 1,
                                   .status = 0x36, .read_state = VMM_PIT_RW_WORD1,
                                   .write_state = VMM_PIT_RW_WORD1, .write_latch = 0x77,
                                   .rw_mode = VMM_PIT_RW_WORD0, .mode = 3, .gate = 1,
                                   .elapsed_known = 1, .elapsed_ns = 1000000 };
   pit->ch[2] = (vmm_pit_channel){ .count = 0xffff, .read_state = VMM_PIT_RW_LSB,
                                   .write_state = VMM_PIT_RW_LSB, .rw_mode = VMM_PIT_RW_LSB,
                                   .mode = 0, .bcd = 1, .gate = 0, .elapsed_known = 1,
                                   .elapsed_ns = 123456789012ull };
}

static void
state_b(vmm_irqchip_state *irq, vmm_pit_state *pit)
{
   power_on(irq, pit);
   irq->pic[0] = (vmm_pic_chip){
      .irr = 0x04, .isr = 0x80, .priority_add = 7, .irq_base = 0x08, .auto_eoi = 1,
      .rotate_on_auto_eoi = 1, .init4 = 1, .init_state = 3,
   };
   irq->pic[1] = (vmm_pic_chip){ .irr = 0x01, .last_irr = 0x01, .imr = 0x00 };
   irq->ioapic.redir[0] = 0xff00000000000730ull;   /* ExtINT, unmasked, edge */
   irq->ioapic.redir[23] = 0x0000000000008040ull;  /* level, unmasked */
   irq->ioapic.irr = 1u << 23;
   fix_isa_irr(irq);
   pit->ch[0] = (vmm_pit_channel){ .count = 100, .latched_count = 0x55,
                                   .count_latched = VMM_PIT_RW_MSB,
                                   .read_state = VMM_PIT_RW_MSB, .write_state = VMM_PIT_RW_MSB,
                                   .rw_mode = VMM_PIT_RW_MSB, .mode = 4, .gate = 1 };
   pit->ch[1] = (vmm_pit_channel){ .count = 65536, .read_state = VMM_PIT_RW_WORD0,
                                   .write_state = VMM_PIT_RW_WORD1, .write_latch = 0xab,
                                   .rw_mode = VMM_PIT_RW_WORD0, .mode = 5, .gate = 1,
                                   .elapsed_known = 1, .elapsed_ns = 77 };
   pit->ch[2] = (vmm_pit_channel){ .count = 2, .latched_count = 0xbeef,
                                   .count_latched = VMM_PIT_RW_WORD0,
                                   .status_latched = 1, .status = 0xb2,
                                   .read_state = VMM_PIT_RW_WORD0,
                                   .write_state = VMM_PIT_RW_WORD0,
                                   .rw_mode = VMM_PIT_RW_WORD0, .mode = 1, .gate = 1,
                                   .elapsed_known = 1, .elapsed_ns = 3000000000ull };
}

/* Monitor state -> sections -> monitor state; the sections load into the
 * models and save again unchanged. */
static void
test_kvm_states(void)
{
   void (*const make[])(vmm_irqchip_state *, vmm_pit_state *) = { state_a, state_b };
   for (unsigned k = 0; k < G_N_ELEMENTS(make); k++) {
      vmm_irqchip_state irq, irq2;
      vmm_pit_state pit, pit2;
      kt_fixture f;
      make[k](&irq, &pit);
      GBytes *a = to_sections(&irq, &pit);
      power_on(&irq2, &pit2);
      from_sections(a, &irq2, &pit2, INTC_KVM_PIC | INTC_KVM_IOAPIC | INTC_KVM_PIT);
      assert_irq_equal(&irq, &irq2);
      assert_pit_equal(&pit, &pit2);
      kt_setup(&f);
      kt_restore(&f, a);
      GBytes *b = kt_save(&f);
      g_assert_true(g_bytes_equal(a, b));
      g_bytes_unref(a);
      g_bytes_unref(b);
      kt_teardown(&f);
   }
}

/* What the sections say, item by item, for state_a. */
static void
test_mapping(void)
{
   vmm_irqchip_state irq;
   vmm_pit_state pit;
   state_a(&irq, &pit);
   GBytes *all = to_sections(&irq, &pit);
   GBytes *pic = kt_section(all, "pic");
   gsize n;
   size_t used;
   char *err = NULL;
   const void *p = g_bytes_get_data(pic, &n);
   ckpt_reader *r = ckpt_reader_new(p, n, &used, &err);
   g_assert_nonnull(r);
   g_assert_cmpuint(ckpt_reader_version(r), ==, vmx_dev_pic.version);
   struct { const char *tag; uint8_t want; } items[] = {
      { "master.icw1", 0x11 }, { "master.icw2", 0x20 }, { "master.icw3", 0x04 },
      { "master.icw4", 0x11 },   /* uPM | SFNM */
      { "master.lowest", 2 }, { "master.flags", PIC_FLAG_SMM | PIC_FLAG_RIS | PIC_FLAG_RAEOI },
      { "master.lines", 0x03 }, { "master.init", 0 },
      { "slave.icw1", 0x11 }, { "slave.icw3", 0x02 }, { "slave.init", 2 },
      { "slave.flags", PIC_FLAG_POLL }, { "slave.lowest", 7 }, { "slave.elcr", 0x8c },
   };
   for (unsigned i = 0; i < G_N_ELEMENTS(items); i++) {
      uint8_t v = 0;
      g_assert_true(ckpt_get_u8(r, items[i].tag, &v));
      if (v != items[i].want) {
         g_error("%s = 0x%02x, want 0x%02x", items[i].tag, v, items[i].want);
      }
   }
   ckpt_reader_free(r);
   g_bytes_unref(pic);

   GBytes *pits = kt_section(all, "pit");
   p = g_bytes_get_data(pits, &n);
   r = ckpt_reader_new(p, n, &used, &err);
   g_assert_nonnull(r);
   uint8_t u8 = 0;
   uint64_t u64 = 1;
   g_assert_true(ckpt_get_u8(r, "port61", &u8));
   g_assert_cmphex(u8, ==, 0x02);   /* speaker data on, gate 2 low */
   g_assert_true(ckpt_get_u64(r, "c0.elapsed", &u64));
   g_assert_cmpuint(u64, ==, 0);    /* KVM cannot tell counter 0's phase */
   g_assert_true(ckpt_get_u64(r, "c1.elapsed", &u64));
   g_assert_cmpuint(u64, ==, ticks_of(1000000));
   g_assert_true(ckpt_get_u64(r, "c2.elapsed", &u64));
   g_assert_cmpuint(u64, ==, ticks_of(123456789012ull));
   g_assert_true(ckpt_get_u8(r, "c1.latch_left", &u8));
   g_assert_cmpuint(u8, ==, 1);
   g_assert_true(ckpt_get_u8(r, "c1.rstate", &u8));
   g_assert_cmpuint(u8, ==, 1);     /* the latched LSB was read: MSB next */
   g_assert_true(ckpt_get_u8(r, "c1.flags", &u8));
   g_assert_cmphex(u8, ==, PIT_CF_STATUS_LATCHED | PIT_CF_HAVE_COUNT | PIT_CF_GATE |
                           PIT_CF_ARMED);
   ckpt_reader_free(r);
   g_bytes_unref(pits);
   g_bytes_unref(all);
}

/* The count goes on from where the monitor's counter was. */
static void
test_time(void)
{
   vmm_irqchip_state irq;
   vmm_pit_state pit;
   kt_fixture f;
   power_on(&irq, &pit);
   pit.ch[2] = (vmm_pit_channel){ .count = 50000, .read_state = VMM_PIT_RW_WORD0,
                                  .write_state = VMM_PIT_RW_WORD0,
                                  .rw_mode = VMM_PIT_RW_WORD0, .mode = 0, .gate = 1,
                                  .elapsed_known = 1, .elapsed_ns = 10000000 };
   pit.ch[0] = (vmm_pit_channel){ .count = 20000, .read_state = VMM_PIT_RW_WORD0,
                                  .write_state = VMM_PIT_RW_WORD0,
                                  .rw_mode = VMM_PIT_RW_WORD0, .mode = 2, .gate = 1,
                                  .elapsed_known = 0 };
   GBytes *a = to_sections(&irq, &pit);
   kt_setup(&f);
   intc_clock_advance(f.clock, 123456789);   /* the models' clock is their own */
   uint64_t t1 = intc_clock_now(f.clock);
   kt_restore(&f, a);
   g_assert_cmpuint(kt_pit_latched(&f, 2), ==, 50000 - 11931);
   g_assert_cmpuint(kt_pit_latched(&f, 0), ==, 20000);   /* restarted period */
   intc_clock_advance(f.clock, 1000000);
   uint64_t d = ticks_of(t1 + 1000000) - ticks_of(t1);
   g_assert_cmpuint(kt_pit_latched(&f, 2), ==, 50000 - 11931 - d);
   g_assert_cmpuint(kt_pit_latched(&f, 0), ==, 20000 - d);
   /* And back: the ticks the models counted, in ns. */
   vmm_irqchip_state irq2;
   vmm_pit_state pit2;
   GBytes *b = kt_save(&f);
   power_on(&irq2, &pit2);
   from_sections(b, &irq2, &pit2, INTC_KVM_PIC | INTC_KVM_IOAPIC | INTC_KVM_PIT);
   g_assert_cmpuint(ticks_of(pit2.ch[2].elapsed_ns), ==, 11931 + d);
   g_assert_cmpuint(pit2.ch[2].elapsed_ns, ==, ns_of(11931 + d));
   g_assert_cmpuint(ticks_of(pit2.ch[0].elapsed_ns), ==, d);
   g_bytes_unref(a);
   g_bytes_unref(b);
   kt_teardown(&f);
}

static GBytes *
pic_section(const char *tag, uint8_t v, uint32_t version)
{
   ckpt_writer *w = ckpt_writer_new("pic", version);
   ckpt_put_u8(w, tag, v);
   return ckpt_writer_finish(w);
}

static void
expect_refused(GBytes *b, const char *needle)
{
   vmm_irqchip_state irq, before;
   vmm_pit_state pit, pbefore;
   char *err = NULL;
   unsigned found = 7;
   gsize n;
   const void *p = g_bytes_get_data(b, &n);
   state_a(&irq, &pit);
   before = irq;
   pbefore = pit;
   g_assert_false(intc_kvm_state_from_sections(p, n, &irq, &pit, &found, &err));
   g_assert_nonnull(err);
   g_test_message("refused: %s", err);
   if (needle && !strstr(err, needle)) {
      g_error("message \"%s\" lacks \"%s\"", err, needle);
   }
   g_free(err);
   g_assert_cmpuint(found, ==, 0);
   assert_irq_equal(&before, &irq);
   g_assert_cmpmem(&pbefore, sizeof pbefore, &pit, sizeof pit);
}

static void
test_refused(void)
{
   kt_fixture f;
   vmm_irqchip_state irq;
   vmm_pit_state pit;
   char *err = NULL;

   /* Modes KVM's PIC does not have. */
   kt_setup(&f);
   kt_out8(&f, 0x20, 0x19);   /* LTIM */
   GBytes *ltim = kt_save(&f);
   expect_refused(ltim, "level-triggered");
   kt_out8(&f, 0xa0, 0x13);   /* SNGL on the slave */
   kt_out8(&f, 0x20, 0x11);
   GBytes *sngl = kt_save(&f);
   expect_refused(sngl, "single");
   g_bytes_unref(ltim);
   g_bytes_unref(sngl);
   kt_teardown(&f);

   /* HPET legacy mode has no model. */
   state_a(&irq, &pit);
   pit.flags |= VMM_PIT_HPET_LEGACY;
   g_assert_null(intc_kvm_sections_from_state(&irq, &pit, &err));
   g_test_message("refused: %s", err);
   g_assert_nonnull(strstr(err, "HPET"));
   g_free(err);
   err = NULL;
   /* A monitor state no 8254 can be in. */
   state_a(&irq, &pit);
   pit.ch[1].rw_mode = 0;
   g_assert_null(intc_kvm_sections_from_state(&irq, &pit, &err));
   g_test_message("refused: %s", err);
   g_free(err);
   err = NULL;
   state_a(&irq, &pit);
   pit.ch[0].gate = 0;
   g_assert_null(intc_kvm_sections_from_state(&irq, &pit, &err));
   g_test_message("refused: %s", err);
   g_assert_nonnull(strstr(err, "gate"));
   g_free(err);
   err = NULL;

   /* Truncated anywhere. */
   state_a(&irq, &pit);
   GBytes *good = to_sections(&irq, &pit);
   gsize n;
   const uint8_t *p = g_bytes_get_data(good, &n);
   for (gsize cut = 1; cut < n; cut += (cut < 64 ? 1 : 37)) {
      /* A cut between two sections leaves a shorter blob that is valid. */
      vmm_irqchip_state i2;
      vmm_pit_state p2;
      unsigned found = 0;
      state_a(&i2, &p2);
      if (intc_kvm_state_from_sections(p, cut, &i2, &p2, &found, &err)) {
         g_assert_cmphex(found, !=, INTC_KVM_PIC | INTC_KVM_IOAPIC | INTC_KVM_PIT);
      } else {
         g_assert_nonnull(err);
         g_free(err);
         err = NULL;
      }
   }
   GBytes *t = g_bytes_new(p, n - 1);
   expect_refused(t, "byte");
   g_bytes_unref(t);

   /* Values the models refuse, with their own messages. */
   GBytes *bad = pic_section("master.init", 9, 1);
   expect_refused(bad, "master.init");
   g_bytes_unref(bad);
   bad = pic_section("slave.icw2", 0x29, 1);
   expect_refused(bad, "slave.icw2");
   g_bytes_unref(bad);
   /* A wrong type. */
   ckpt_writer *w = ckpt_writer_new("ioapic", 1);
   ckpt_put_u32(w, "id", 1);
   bad = ckpt_writer_finish(w);
   expect_refused(bad, "id");
   g_bytes_unref(bad);
   /* Twice, or from a newer build. */
   GBytes *pic = kt_section(good, "pic");
   GBytes *twice = kt_concat(pic, pic);
   expect_refused(twice, "twice");
   g_bytes_unref(twice);
   bad = pic_section("master.imr", 1, 2);
   expect_refused(bad, "version");
   g_bytes_unref(bad);

   /* Other sections are skipped; absent chips keep their state. */
   w = ckpt_writer_new("lapic", 1);
   ckpt_put_u32(w, "count", 1);
   GBytes *lapic_sec = ckpt_writer_finish(w);
   GBytes *mixed = kt_concat(lapic_sec, pic);
   vmm_irqchip_state i2, i3;
   vmm_pit_state p2, p3;
   unsigned found = 0;
   power_on(&i2, &p2);
   i3 = i2;
   p3 = p2;
   p = g_bytes_get_data(mixed, &n);
   g_assert_true(intc_kvm_state_from_sections(p, n, &i2, &p2, &found, &err));
   g_assert_cmphex(found, ==, INTC_KVM_PIC);
   g_assert_cmpmem(&i2.pic, sizeof i2.pic, &irq.pic, sizeof irq.pic);
   g_assert_cmphex(i2.ioapic.irr, ==, i3.ioapic.irr);
   g_assert_cmpuint(i2.ioapic.id, ==, i3.ioapic.id);
   g_assert_cmpmem(&p2, sizeof p2, &p3, sizeof p3);
   g_bytes_unref(mixed);
   g_bytes_unref(lapic_sec);
   g_bytes_unref(pic);
   g_bytes_unref(good);

   /* Nothing at all is fine; a NULL pointer with a length is not. */
   g_assert_true(intc_kvm_state_from_sections(NULL, 0, &i2, &p2, &found, &err));
   g_assert_cmphex(found, ==, 0);
   g_assert_false(intc_kvm_state_from_sections(NULL, 5, &i2, &p2, &found, &err));
   g_free(err);
}

/* The software monitor has no in-kernel chips: a clear refusal. */
static void
test_software_monitor(void)
{
#ifdef VMM_HAVE_SOFT
   vmm_config cfg = { .kind = VMM_KIND_SOFTWARE, .nvcpus = 1 };
   char why[256];
   char *err = NULL;
   vmm_vm *vm = vmm_vm_create(&cfg, why, sizeof why);
   if (!vm) {
      g_error("software monitor: %s", why);
   }
   g_assert_null(intc_kvm_save(vm, &err));
   g_test_message("save: %s", err);
   g_assert_nonnull(strstr(err, "no in-kernel"));
   g_free(err);
   err = NULL;
   g_assert_false(intc_kvm_restore(vm, NULL, 0, &err));
   g_assert_nonnull(strstr(err, "no in-kernel"));
   g_free(err);
   vmm_vm_destroy(vm);
#else
   g_test_skip("the software monitor is not built");
#endif
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/kvm-convert/power-on", test_power_on);
   g_test_add_func("/kvm-convert/guest-state", test_guest_state);
   g_test_add_func("/kvm-convert/kvm-states", test_kvm_states);
   g_test_add_func("/kvm-convert/mapping", test_mapping);
   g_test_add_func("/kvm-convert/time", test_time);
   g_test_add_func("/kvm-convert/refused", test_refused);
   g_test_add_func("/kvm-convert/software-monitor", test_software_monitor);
   return g_test_run();
}
