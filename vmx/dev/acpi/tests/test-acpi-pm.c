/*
 * Register-level tests of the ACPI PM device (vmx/dev/acpi/acpi-pm.c).
 */
#include "vmx/dev/acpi/acpi.h"

#include <glib.h>
#include <string.h>

typedef struct fixture {
   vmx_platform *p;
   void *pm;
   uint64_t now_ns;
   int sci_changes;
   bool sci;
   unsigned last_gsi;
} fixture;

static uint64_t
fake_clock(void *opaque)
{
   return ((fixture *)opaque)->now_ns;
}

static void
sink(void *opaque, unsigned gsi, bool level)
{
   fixture *f = opaque;
   f->last_gsi = gsi;
   f->sci = level;
   f->sci_changes++;
}

static void
setup(fixture *f, gconstpointer data)
{
   memset(f, 0, sizeof *f);
   f->p = vmx_platform_new();
   vmx_platform_set_irq_sink(f->p, sink, f);
   const vmx_device_desc *table[] = { &vmx_dev_acpi_pm };
   char *err = NULL;
   vmxcfg *cfg = vmxcfg_new();
   g_assert_true(vmx_platform_add_devices(f->p, table, 1, cfg, &err));
   vmxcfg_free(cfg);
   f->pm = vmx_platform_device(f->p, "acpi-pm");
   g_assert_nonnull(f->pm);
   f->now_ns = 1000000000ull;
   vmx_acpi_pm_set_clock(f->pm, fake_clock, f);
}

static void
teardown(fixture *f, gconstpointer data)
{
   vmx_platform_free(f->p);
}

static uint64_t
in(fixture *f, uint16_t port, unsigned size)
{
   return vmx_platform_pio_read(f->p, NULL, port, size);
}

static void
out(fixture *f, uint16_t port, unsigned size, uint64_t v)
{
   vmx_platform_pio_write(f->p, NULL, port, size, v);
}

static void
test_reset_values(fixture *f, gconstpointer data)
{
   g_assert_cmphex(in(f, ACPI_PM1A_EVT_BLK, 2), ==, 0);
   g_assert_cmphex(in(f, ACPI_PM1A_EVT_BLK + 2, 2), ==, 0);
   /* Always in ACPI mode. */
   g_assert_cmphex(in(f, ACPI_PM1A_CNT_BLK, 2), ==, ACPI_PM1_SCI_EN);
   out(f, ACPI_PM1A_CNT_BLK, 2, 0);
   g_assert_cmphex(in(f, ACPI_PM1A_CNT_BLK, 2), ==, ACPI_PM1_SCI_EN);
   g_assert_cmphex(in(f, ACPI_GPE0_BLK, 4), ==, 0);
   g_assert_cmphex(in(f, ACPI_GPE0_BLK + 4, 4), ==, 0);
   /* Nothing claimed next to the blocks. */
   g_assert_cmphex(in(f, ACPI_PM1A_CNT_BLK + 2, 2), ==, 0xffff);
}

static void
test_enable_bits(fixture *f, gconstpointer data)
{
   out(f, ACPI_PM1A_EVT_BLK + 2, 2, 0xffff);
   g_assert_cmphex(in(f, ACPI_PM1A_EVT_BLK + 2, 2), ==,
                   ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN | ACPI_PM1_PWRBTN_EN |
                   ACPI_PM1_SLPBTN_EN | ACPI_PM1_RTC_EN);
   /* Byte access to the high byte of PM1_EN only. */
   out(f, ACPI_PM1A_EVT_BLK + 3, 1, 0);
   g_assert_cmphex(in(f, ACPI_PM1A_EVT_BLK + 2, 2), ==, ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN);
   /* A dword access covers status (low word) and enable (high word);
    * writing zeros to status clears nothing. */
   out(f, ACPI_PM1A_EVT_BLK, 4, (uint32_t)ACPI_PM1_PWRBTN_EN << 16);
   g_assert_cmphex(in(f, ACPI_PM1A_EVT_BLK, 4), ==, (uint32_t)ACPI_PM1_PWRBTN_EN << 16);
   g_assert_cmphex(in(f, ACPI_PM1A_EVT_BLK + 2, 1), ==, 0);
   g_assert_cmphex(in(f, ACPI_PM1A_EVT_BLK + 3, 1), ==, ACPI_PM1_PWRBTN_EN >> 8);
   /* SLP_TYP is read/write, SLP_EN reads as zero. */
   out(f, ACPI_PM1A_CNT_BLK, 2, 3u << ACPI_PM1_SLP_TYP_SHIFT);
   g_assert_cmphex(in(f, ACPI_PM1A_CNT_BLK, 2), ==, (3u << ACPI_PM1_SLP_TYP_SHIFT) | 1);
   g_assert_cmpint(vmx_platform_take_request(f->p, NULL), ==, VMX_REQ_NONE);
}

static void
test_power_button(fixture *f, gconstpointer data)
{
   /* Not enabled: status latches, no SCI, the caller learns nobody listens. */
   g_assert_false(vmx_acpi_pm_power_button(f->pm));
   g_assert_cmphex(in(f, ACPI_PM1A_EVT_BLK, 2), ==, ACPI_PM1_PWRBTN_STS);
   g_assert_false(f->sci);
   /* Enabling it raises the SCI for the pending status. */
   out(f, ACPI_PM1A_EVT_BLK + 2, 2, ACPI_PM1_PWRBTN_EN);
   g_assert_true(f->sci);
   g_assert_cmpuint(f->last_gsi, ==, ACPI_SCI_GSI);
   /* Writing 0 does not clear; writing 1 does, and drops the SCI. */
   out(f, ACPI_PM1A_EVT_BLK, 2, 0);
   g_assert_true(f->sci);
   out(f, ACPI_PM1A_EVT_BLK, 2, ACPI_PM1_PWRBTN_STS);
   g_assert_false(f->sci);
   g_assert_cmphex(in(f, ACPI_PM1A_EVT_BLK, 2), ==, 0);
   /* Enabled: the press raises the SCI at once. */
   int changes = f->sci_changes;
   g_assert_true(vmx_acpi_pm_power_button(f->pm));
   g_assert_true(f->sci);
   g_assert_cmpint(f->sci_changes, ==, changes + 1);
   /* A second press while pending does not toggle the line. */
   g_assert_true(vmx_acpi_pm_power_button(f->pm));
   g_assert_cmpint(f->sci_changes, ==, changes + 1);
   /* Reset clears status and enables, and the line. */
   vmx_platform_reset(f->p);
   g_assert_false(f->sci);
   g_assert_cmphex(in(f, ACPI_PM1A_EVT_BLK, 4), ==, 0);
}

static void
test_power_off(fixture *f, gconstpointer data)
{
   char *why = NULL;
   /* S1..S4 types are not offered: ignored. */
   for (unsigned typ = 1; typ < 8; typ++) {
      out(f, ACPI_PM1A_CNT_BLK, 2, (typ << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN);
      g_assert_cmpint(vmx_platform_take_request(f->p, NULL), ==, VMX_REQ_NONE);
   }
   /* SLP_TYP = S5 without SLP_EN: nothing. */
   out(f, ACPI_PM1A_CNT_BLK, 2, ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT);
   g_assert_cmpint(vmx_platform_take_request(f->p, NULL), ==, VMX_REQ_NONE);
   /* The classic outw(0x604, 0x2000). */
   out(f, 0x604, 2, 0x2000);
   g_assert_cmpint(vmx_platform_take_request(f->p, &why), ==, VMX_REQ_POWEROFF);
   g_assert_cmpstr(why, ==, "guest ACPI power off (S5)");
   g_free(why);
   /* A byte write to the high byte alone, as ACPICA may do. */
   out(f, ACPI_PM1A_CNT_BLK, 2, 0);
   out(f, ACPI_PM1A_CNT_BLK + 1, 1, ACPI_PM1_SLP_EN >> 8);
   g_assert_cmpint(vmx_platform_take_request(f->p, NULL), ==, VMX_REQ_POWEROFF);
   /* SLP_TYP programmed first, then SLP_EN alone in a second write (the
    * ACPI spec's two-step sequence) with S5's type kept. */
   out(f, ACPI_PM1A_CNT_BLK, 2, 5u << ACPI_PM1_SLP_TYP_SHIFT);
   out(f, ACPI_PM1A_CNT_BLK, 2, (5u << ACPI_PM1_SLP_TYP_SHIFT) | ACPI_PM1_SLP_EN);
   g_assert_cmpint(vmx_platform_take_request(f->p, NULL), ==, VMX_REQ_NONE);
}

static void
test_timer(fixture *f, gconstpointer data)
{
   uint32_t t0 = (uint32_t)in(f, ACPI_PM_TMR_BLK, 4);
   g_assert_cmpuint(vmx_acpi_pm_timer(f->pm), ==, t0);
   /* Frozen clock, frozen timer. */
   g_assert_cmpuint((uint32_t)in(f, ACPI_PM_TMR_BLK, 4), ==, t0);
   /* One second is 3579545 ticks exactly. */
   f->now_ns += 1000000000ull;
   g_assert_cmpuint((uint32_t)in(f, ACPI_PM_TMR_BLK, 4) - t0, ==, ACPI_PM_TIMER_HZ);
   /* One microsecond is 3 ticks (3.58 truncated, counting from the base). */
   f->now_ns += 1000;
   g_assert_cmpuint((uint32_t)in(f, ACPI_PM_TMR_BLK, 4) - t0, ==, ACPI_PM_TIMER_HZ + 3);
   /* Byte and word reads see the same counter. */
   uint32_t full = (uint32_t)in(f, ACPI_PM_TMR_BLK, 4);
   g_assert_cmphex(in(f, ACPI_PM_TMR_BLK, 2), ==, full & 0xffff);
   g_assert_cmphex(in(f, ACPI_PM_TMR_BLK + 2, 2), ==, full >> 16);
   g_assert_cmphex(in(f, ACPI_PM_TMR_BLK + 3, 1), ==, full >> 24);
   /* Writes are ignored. */
   out(f, ACPI_PM_TMR_BLK, 4, 0x12345678);
   g_assert_cmphex((uint32_t)in(f, ACPI_PM_TMR_BLK, 4), ==, full);
   /* No overflow yet. */
   g_assert_cmphex(in(f, ACPI_PM1A_EVT_BLK, 2) & ACPI_PM1_TMR_STS, ==, 0);
   /* Nothing to wait for while TMR_EN is clear. */
   g_assert_cmpuint(vmx_acpi_pm_next_event_ns(f->pm), ==, UINT64_MAX);
   /* Enable the overflow interrupt: the next event is when bit 31 flips
    * (2^31 ticks from 0 is about 600 s). */
   out(f, ACPI_PM1A_EVT_BLK + 2, 2, ACPI_PM1_TMR_EN);
   uint64_t wait = vmx_acpi_pm_next_event_ns(f->pm);
   uint64_t left = (1ull << 31) - (uint32_t)in(f, ACPI_PM_TMR_BLK, 4);
   g_assert_cmpuint(wait, >=, left * 1000000000ull / ACPI_PM_TIMER_HZ);
   g_assert_cmpuint(wait, <=, left * 1000000000ull / ACPI_PM_TIMER_HZ + 1000);
   f->now_ns += wait - 1000;
   vmx_acpi_pm_poll(f->pm);
   g_assert_false(f->sci);
   f->now_ns += 1000;
   vmx_acpi_pm_poll(f->pm);
   g_assert_true(f->sci);
   g_assert_cmphex(in(f, ACPI_PM1A_EVT_BLK, 2), ==, ACPI_PM1_TMR_STS);
   g_assert_cmphex((uint32_t)in(f, ACPI_PM_TMR_BLK, 4), >=, 0x80000000u);
   out(f, ACPI_PM1A_EVT_BLK, 2, ACPI_PM1_TMR_STS);
   g_assert_false(f->sci);
   g_assert_cmpuint(vmx_acpi_pm_next_event_ns(f->pm), >, 599ull * 1000000000ull);
   /* The 32-bit counter wraps; bit 31 falling also sets TMR_STS. */
   f->now_ns += 601ull * 1000000000ull;
   g_assert_cmphex((uint32_t)in(f, ACPI_PM_TMR_BLK, 4), <, 0x80000000u);
   g_assert_cmphex(in(f, ACPI_PM1A_EVT_BLK, 2), ==, ACPI_PM1_TMR_STS);
   g_assert_true(f->sci);
   /* Switching clocks keeps the value. */
   uint32_t before = vmx_acpi_pm_timer(f->pm);
   fixture other = { .now_ns = 5 };
   vmx_acpi_pm_set_clock(f->pm, fake_clock, &other);
   g_assert_cmpuint(vmx_acpi_pm_timer(f->pm), ==, before);
   other.now_ns += 1000000000ull;
   g_assert_cmpuint(vmx_acpi_pm_timer(f->pm) - before, ==, ACPI_PM_TIMER_HZ);
}

static void
test_host_clock(fixture *f, gconstpointer data)
{
   /* The real clock moves forward (and not absurdly fast). */
   vmx_acpi_pm_set_clock(f->pm, NULL, NULL);
   uint32_t a = (uint32_t)in(f, ACPI_PM_TMR_BLK, 4);
   g_usleep(20000);
   uint32_t b = (uint32_t)in(f, ACPI_PM_TMR_BLK, 4);
   g_assert_cmpuint(b - a, >=, ACPI_PM_TIMER_HZ / 50 - 10);
   g_assert_cmpuint(b - a, <, ACPI_PM_TIMER_HZ * 5);
}

static void
test_gpe(fixture *f, gconstpointer data)
{
   vmx_acpi_pm_set_gpe(f->pm, 3);
   vmx_acpi_pm_set_gpe(f->pm, 40);   /* out of range: ignored */
   g_assert_cmphex(in(f, ACPI_GPE0_BLK, 4), ==, 1u << 3);
   g_assert_false(f->sci);
   out(f, ACPI_GPE0_BLK + 4, 1, 1u << 3);
   g_assert_true(f->sci);
   g_assert_cmphex(in(f, ACPI_GPE0_BLK + 4, 4), ==, 1u << 3);
   out(f, ACPI_GPE0_BLK, 1, 1u << 3);
   g_assert_false(f->sci);
   g_assert_cmphex(in(f, ACPI_GPE0_BLK, 4), ==, 0);
   /* A qword-sized view of the block. */
   vmx_acpi_pm_set_gpe(f->pm, 31);
   g_assert_cmphex(in(f, ACPI_GPE0_BLK, 8), ==, 0x0000000880000000ull);
}

static GBytes *
save(fixture *f)
{
   return vmx_platform_save(f->p);
}

static void
test_save_restore(fixture *f, gconstpointer data)
{
   out(f, ACPI_PM1A_EVT_BLK + 2, 2, ACPI_PM1_PWRBTN_EN | ACPI_PM1_RTC_EN);
   out(f, ACPI_PM1A_CNT_BLK, 2, 2u << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_BM_RLD);
   out(f, ACPI_GPE0_BLK + 4, 4, 0x81);
   vmx_acpi_pm_set_gpe(f->pm, 7);
   vmx_acpi_pm_power_button(f->pm);
   f->now_ns += 12345678;
   g_assert_true(f->sci);
   GBytes *a = save(f);
   /* Saving changes nothing. */
   GBytes *a2 = save(f);
   g_assert_true(g_bytes_equal(a, a2));
   g_bytes_unref(a2);

   fixture g;
   setup(&g, NULL);
   g.now_ns = 777;
   vmx_acpi_pm_set_clock(g.pm, fake_clock, &g);
   char *err = NULL;
   gsize n;
   const void *bytes = g_bytes_get_data(a, &n);
   g_assert_true(vmx_platform_restore(g.p, bytes, n, &err));
   g_assert_null(err);
   g_assert_true(g.sci);
   GBytes *b = save(&g);
   g_assert_true(g_bytes_equal(a, b));
   g_assert_cmpuint(vmx_acpi_pm_timer(g.pm), ==, vmx_acpi_pm_timer(f->pm));
   g_assert_cmphex(in(&g, ACPI_PM1A_CNT_BLK, 2), ==, in(f, ACPI_PM1A_CNT_BLK, 2));
   /* The restored timer runs on from the saved value. */
   g.now_ns += 1000000000ull;
   g_assert_cmpuint(vmx_acpi_pm_timer(g.pm) - vmx_acpi_pm_timer(f->pm), ==, ACPI_PM_TIMER_HZ);
   g_bytes_unref(b);
   teardown(&g, NULL);
   g_bytes_unref(a);
}

static void
test_restore_refuses(fixture *f, gconstpointer data)
{
   out(f, ACPI_PM1A_EVT_BLK + 2, 2, ACPI_PM1_PWRBTN_EN);
   GBytes *before = save(f);

   ckpt_writer *w = ckpt_writer_new("acpi-pm", 1);
   ckpt_put_u16(w, "pm1_sts", 0x0002);   /* bit 1 does not exist */
   GBytes *bad = ckpt_writer_finish(w);
   char *err = NULL;
   gsize n;
   const void *p = g_bytes_get_data(bad, &n);
   g_assert_false(vmx_platform_restore(f->p, p, n, &err));
   g_assert_nonnull(strstr(err, "acpi-pm"));
   g_free(err);
   g_bytes_unref(bad);

   /* Wrong type for a tag. */
   w = ckpt_writer_new("acpi-pm", 1);
   ckpt_put_u32(w, "pm1_en", 0x100);
   bad = ckpt_writer_finish(w);
   err = NULL;
   p = g_bytes_get_data(bad, &n);
   g_assert_false(vmx_platform_restore(f->p, p, n, &err));
   g_assert_nonnull(err);
   g_free(err);
   g_bytes_unref(bad);

   /* State kept. */
   GBytes *after = save(f);
   g_assert_true(g_bytes_equal(before, after));
   g_bytes_unref(before);
   g_bytes_unref(after);

   /* Missing items take reset values. */
   w = ckpt_writer_new("acpi-pm", 1);
   ckpt_put_u32(w, "pm_tmr", 42);
   GBytes *sparse = ckpt_writer_finish(w);
   p = g_bytes_get_data(sparse, &n);
   err = NULL;
   g_assert_true(vmx_platform_restore(f->p, p, n, &err));
   g_assert_cmpuint(vmx_acpi_pm_timer(f->pm), ==, 42);
   g_assert_cmphex(in(f, ACPI_PM1A_EVT_BLK, 4), ==, 0);
   g_assert_cmphex(in(f, ACPI_PM1A_CNT_BLK, 2), ==, ACPI_PM1_SCI_EN);
   g_bytes_unref(sparse);
}

static void
test_port_conflict(void)
{
   /* A second instance cannot claim the same ports. */
   vmx_platform *p = vmx_platform_new();
   const vmx_device_desc *table[] = { &vmx_dev_acpi_pm, &vmx_dev_acpi_pm };
   char *err = NULL;
   vmxcfg *cfg = vmxcfg_new();
   g_assert_false(vmx_platform_add_devices(p, table, 2, cfg, &err));
   g_assert_nonnull(strstr(err, "acpi-pm"));
   g_assert_nonnull(strstr(err, "overlap"));
   g_free(err);
   vmxcfg_free(cfg);
   vmx_platform_free(p);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
#define T(name, fn) g_test_add("/acpi-pm/" name, fixture, NULL, setup, fn, teardown)
   T("reset-values", test_reset_values);
   T("enable-bits", test_enable_bits);
   T("power-button", test_power_button);
   T("power-off", test_power_off);
   T("timer", test_timer);
   T("host-clock", test_host_clock);
   T("gpe", test_gpe);
   T("save-restore", test_save_restore);
   T("restore-refuses", test_restore_refuses);
#undef T
   g_test_add_func("/acpi-pm/port-conflict", test_port_conflict);
   return g_test_run();
}
