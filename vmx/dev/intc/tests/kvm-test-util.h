/*
 * Helpers for the tests of kvm-irqchip.c: a userspace PIC/IOAPIC/LAPIC/PIT
 * set on a platform with a fake clock (as test-intc.c builds it), the
 * guest's programming of vmm/kvm/tests' kvmtest_intc done through its
 * ports, and checkpoint sections split, loaded and compared.
 */
#ifndef INTC_KVM_TEST_UTIL_H
#define INTC_KVM_TEST_UTIL_H

#include "intc-test.h"
#include "vmx/dev/intc/kvm-irqchip.h"

#define KT_START_NS 5000000000ull

typedef struct kt_fixture {
   intc_clock *clock;
   vmx_platform *p;
   intc_pic *pic;
   intc_ioapic *io;
   lapic_bus *bus;
   intc_pit *pit;
   intc *ic;
} kt_fixture;

static inline void
kt_setup(kt_fixture *f)
{
   char *err = NULL;
   memset(f, 0, sizeof *f);
   f->clock = intc_clock_new_fake(KT_START_NS);
   f->p = vmx_platform_new();
   f->pic = pic_new(f->p, &err);
   f->io = ioapic_new(f->p, &err);
   f->bus = lapic_bus_new(f->p, 1, f->clock, &err);
   f->pit = pit_new(f->p, f->clock, &err);
   g_assert_nonnull(f->pic);
   g_assert_nonnull(f->io);
   g_assert_nonnull(f->bus);
   g_assert_nonnull(f->pit);
   f->ic = intc_new(f->p, f->pic, f->io, f->bus, &err);
   g_assert_nonnull(f->ic);
}

static inline void
kt_teardown(kt_fixture *f)
{
   intc_free(f->ic);
   pit_free(f->pit);
   lapic_bus_free(f->bus);
   ioapic_free(f->io);
   pic_free(f->pic);
   vmx_platform_free(f->p);
   intc_clock_unref(f->clock);
}

static inline void
kt_out8(kt_fixture *f, uint16_t port, uint8_t v)
{
   vmx_platform_pio_write(f->p, NULL, port, 1, v);
}

static inline uint8_t
kt_in8(kt_fixture *f, uint16_t port)
{
   return (uint8_t)vmx_platform_pio_read(f->p, NULL, port, 1);
}

static inline void
kt_ioapic_write(kt_fixture *f, uint8_t reg, uint32_t v)
{
   vmx_platform_mmio_write(f->p, NULL, IOAPIC_BASE, 4, reg);
   vmx_platform_mmio_write(f->p, NULL, IOAPIC_BASE + 0x10, 4, v);
}

/* Counter c's count through the counter latch command (LSB then MSB). */
static inline uint16_t
kt_pit_latched(kt_fixture *f, unsigned c)
{
   kt_out8(f, 0x43, (uint8_t)(c << 6));
   uint16_t lo = kt_in8(f, (uint16_t)(0x40 + c));
   return (uint16_t)(lo | kt_in8(f, (uint16_t)(0x40 + c)) << 8);
}

/* What kvmtest_intc (vmm/kvm/tests/kvm-test-guest.S) does, through the
 * platform, without its final latch of counter 2. */
static inline void
kt_program_like_guest(kt_fixture *f)
{
   static const uint16_t seq[][2] = {
      { 0x20, 0x11 }, { 0xa0, 0x11 }, { 0x21, 0x20 }, { 0xa1, 0x28 }, { 0x21, 0x04 },
      { 0xa1, 0x02 }, { 0x21, 0x01 }, { 0xa1, 0x01 }, { 0x21, 0xb8 }, { 0xa1, 0x8e },
      { 0x20, 0xc3 }, { 0xa0, 0x0b }, { 0x4d0, 0x20 }, { 0x4d1, 0x0c },
   };
   for (unsigned i = 0; i < G_N_ELEMENTS(seq); i++) {
      kt_out8(f, seq[i][0], (uint8_t)seq[i][1]);
   }
   kt_ioapic_write(f, 0x00, 0x05000000);
   kt_ioapic_write(f, 0x10 + 2 * 9, 0x00018051);
   kt_ioapic_write(f, 0x11 + 2 * 9, 0x01000000);
   kt_ioapic_write(f, 0x10 + 2 * 16, 0x00018861);
   kt_ioapic_write(f, 0x11 + 2 * 16, 0x03000000);
   kt_ioapic_write(f, 0x10 + 2 * 20, 0x40);
   kt_ioapic_write(f, 0x11 + 2 * 20, 0);
   vmx_platform_mmio_write(f->p, NULL, IOAPIC_BASE, 4, 0x23);
   kt_out8(f, 0x43, 0x34);
   kt_out8(f, 0x40, 0x9c);
   kt_out8(f, 0x40, 0x2e);
   kt_out8(f, 0x61, 0x01);
   kt_out8(f, 0x43, 0xb0);
   kt_out8(f, 0x42, 0xff);
   kt_out8(f, 0x42, 0xff);
}

static inline void
kt_append(GByteArray *all, const vmx_device_desc *d, void (*save)(void *, ckpt_writer *),
          void *dev)
{
   ckpt_writer *w = ckpt_writer_new(d->name, d->version);
   save(dev, w);
   GBytes *b = ckpt_writer_finish(w);
   gsize n;
   const guint8 *p = g_bytes_get_data(b, &n);
   g_byte_array_append(all, p, (guint)n);
   g_bytes_unref(b);
}

/* The models' own sections "pic", "ioapic", "pit", concatenated. */
static inline GBytes *
kt_save(kt_fixture *f)
{
   GByteArray *all = g_byte_array_new();
   kt_append(all, &vmx_dev_pic, (void (*)(void *, ckpt_writer *))pic_save, f->pic);
   kt_append(all, &vmx_dev_ioapic, (void (*)(void *, ckpt_writer *))ioapic_save, f->io);
   kt_append(all, &vmx_dev_pit, (void (*)(void *, ckpt_writer *))pit_save, f->pit);
   return g_byte_array_free_to_bytes(all);
}

/* The section called name in a concatenation, or NULL. */
static inline GBytes *
kt_section(GBytes *all, const char *name)
{
   gsize len;
   const uint8_t *p = g_bytes_get_data(all, &len);
   size_t off = 0;
   while (off < len) {
      size_t used = 0;
      char *err = NULL;
      ckpt_reader *r = ckpt_reader_new(p + off, len - off, &used, &err);
      g_assert_nonnull(r);
      bool hit = !strcmp(ckpt_reader_section(r), name);
      ckpt_reader_free(r);
      if (hit) {
         return g_bytes_new(p + off, used);
      }
      off += used;
   }
   return NULL;
}

/* Loads the sections present into the fixture's models (as
 * vmx_platform_restore would); fails the test on refusal. */
static inline void
kt_restore(kt_fixture *f, GBytes *all)
{
   static const char *const names[] = { "pic", "ioapic", "pit" };
   test_restore_fn fns[] = { (test_restore_fn)pic_restore, (test_restore_fn)ioapic_restore,
                             (test_restore_fn)pit_restore };
   void *devs[] = { f->pic, f->io, f->pit };
   for (unsigned i = 0; i < 3; i++) {
      GBytes *s = kt_section(all, names[i]);
      char *err = NULL;
      if (!s) {
         continue;
      }
      if (!test_restore(s, fns[i], devs[i], &err)) {
         g_error("section %s refused: %s", names[i], err);
      }
      g_bytes_unref(s);
   }
}

/* Two "pit" sections say the same except the counters' elapsed times,
 * which are returned (PIT ticks). */
static inline void
kt_pit_same_but_time(GBytes *a, GBytes *b, uint64_t el_a[3], uint64_t el_b[3])
{
   kt_fixture fa, fb;
   pit_state sa, sb;
   kt_setup(&fa);
   kt_setup(&fb);
   kt_restore(&fa, a);
   kt_restore(&fb, b);
   pit_get_state(fa.pit, &sa);
   pit_get_state(fb.pit, &sb);
   g_assert_cmphex(sa.port61, ==, sb.port61);
   for (unsigned i = 0; i < 3; i++) {
      pit_counter_state *x = &sa.c[i], *y = &sb.c[i];
      el_a[i] = x->elapsed;
      el_b[i] = y->elapsed;
      g_assert_cmpuint(x->mode, ==, y->mode);
      g_assert_cmpuint(x->bcd, ==, y->bcd);
      g_assert_cmpuint(x->rw, ==, y->rw);
      g_assert_cmpuint(x->wstate, ==, y->wstate);
      g_assert_cmpuint(x->rstate, ==, y->rstate);
      g_assert_cmpuint(x->lsb, ==, y->lsb);
      g_assert_cmpuint(x->cr, ==, y->cr);
      g_assert_cmpuint(x->n, ==, y->n);
      g_assert_cmpuint(x->latch, ==, y->latch);
      g_assert_cmpuint(x->latch_left, ==, y->latch_left);
      g_assert_cmpuint(x->status, ==, y->status);
      g_assert_cmphex(x->flags, ==, y->flags);
      g_assert_cmpuint(x->next_in, ==, y->next_in);
      g_assert_cmpuint(x->hold, ==, y->hold);
   }
   kt_teardown(&fa);
   kt_teardown(&fb);
}

/* a followed by b. */
static inline GBytes *
kt_concat(GBytes *a, GBytes *b)
{
   GByteArray *all = g_byte_array_new();
   gsize n;
   const guint8 *p = g_bytes_get_data(a, &n);
   g_byte_array_append(all, p, (guint)n);
   p = g_bytes_get_data(b, &n);
   g_byte_array_append(all, p, (guint)n);
   return g_byte_array_free_to_bytes(all);
}

#endif
