/*
 * Tests of the PS/2 mouse behind the i8042's auxiliary port.
 */
#include "kbc-test.h"
#include "vmx/dev/chipset/ps2mouse.h"

static const vmx_device_desc *const table[] = { &vmx_dev_i8042, &vmx_dev_ps2mouse };

static vmx_platform *
setup(irq_rec *irq)
{
   return test_platform_ok(table, 2, NULL, irq);
}

static void
aux(vmx_platform *p, uint8_t b)
{
   kbc_cmd_data(p, 0xd4, b);
}

static void
rate(vmx_platform *p, uint8_t r)
{
   aux(p, 0xf3);
   aux(p, r);
   KBC_EXPECT(p, 0xfa, 0xfa);
}

static void
test_reset_id_knocks(void)
{
   irq_rec irq;
   irq_rec_init(&irq);
   vmx_platform *p = setup(&irq);
   aux(p, 0xff);
   g_assert_true(irq_level(&irq, 12));
   bool isaux = false;
   g_assert_cmpint(kbc_get(p, &isaux), ==, 0xfa);
   g_assert_true(isaux);
   KBC_EXPECT(p, 0xaa, 0x00);
   aux(p, 0xf2);
   KBC_EXPECT(p, 0xfa, 0x00);
   /* IntelliMouse: 200, 100, 80. */
   rate(p, 200);
   rate(p, 100);
   rate(p, 80);
   aux(p, 0xf2);
   KBC_EXPECT(p, 0xfa, 0x03);
   /* Explorer: 200, 200, 80. */
   rate(p, 200);
   rate(p, 200);
   rate(p, 80);
   aux(p, 0xf2);
   KBC_EXPECT(p, 0xfa, 0x04);
   /* A sequence broken by another command does not count. */
   aux(p, 0xff);
   KBC_EXPECT(p, 0xfa, 0xaa, 0x00);
   rate(p, 200);
   aux(p, 0xe6);
   KBC_EXPECT(p, 0xfa);
   rate(p, 100);
   rate(p, 80);
   aux(p, 0xf2);
   KBC_EXPECT(p, 0xfa, 0x00);
   /* Explorer's knock does nothing from ID 0. */
   rate(p, 200);
   rate(p, 200);
   rate(p, 80);
   aux(p, 0xf2);
   KBC_EXPECT(p, 0xfa, 0x00);
   vmx_platform_free(p);
}

static void
test_status_and_params(void)
{
   vmx_platform *p = setup(NULL);
   aux(p, 0xe9);
   KBC_EXPECT(p, 0xfa, 0x00, 0x02, 100);
   aux(p, 0xe8);
   aux(p, 0x03);
   KBC_EXPECT(p, 0xfa, 0xfa);
   rate(p, 40);
   aux(p, 0xe7);
   aux(p, 0xf0);
   aux(p, 0xf4);
   KBC_EXPECT(p, 0xfa, 0xfa, 0xfa);
   ps2mouse_move(ps2mouse_get(p), 0, 0, 0, PS2MOUSE_BUTTON_LEFT | PS2MOUSE_BUTTON_RIGHT);
   aux(p, 0xe9);
   KBC_EXPECT(p, 0xfa, 0x40 | 0x20 | 0x10 | 0x04 | 0x01, 0x03, 40);
   /* Bad parameters: resend, the command still waits. */
   aux(p, 0xf3);
   aux(p, 55);
   KBC_EXPECT(p, 0xfa, 0xfe);
   aux(p, 60);
   KBC_EXPECT(p, 0xfa);
   aux(p, 0xe8);
   aux(p, 0x07);
   KBC_EXPECT(p, 0xfa, 0xfe);
   aux(p, 0x01);
   KBC_EXPECT(p, 0xfa);
   /* Unknown command; resend. */
   aux(p, 0xe1);
   KBC_EXPECT(p, 0xfe);
   aux(p, 0xfe);
   KBC_EXPECT(p, 0xfe);
   /* Defaults. */
   aux(p, 0xf6);
   KBC_EXPECT(p, 0xfa);
   aux(p, 0xe9);
   KBC_EXPECT(p, 0xfa, 0x05, 0x02, 100);   /* buttons still down */
   /* Wrap mode echoes until 0xec. */
   aux(p, 0xee);
   KBC_EXPECT(p, 0xfa);
   aux(p, 0x12);
   aux(p, 0xf4);
   KBC_EXPECT(p, 0x12, 0xf4);
   aux(p, 0xec);
   KBC_EXPECT(p, 0xfa);
   aux(p, 0xf2);
   KBC_EXPECT(p, 0xfa, 0x00);
   vmx_platform_free(p);
}

static void
test_stream_packets(void)
{
   irq_rec irq;
   irq_rec_init(&irq);
   vmx_platform *p = setup(&irq);
   ps2mouse *m = ps2mouse_get(p);
   /* Reporting off: nothing. */
   ps2mouse_move(m, 5, 5, 0, 0);
   KBC_EXPECT_NONE(p);
   aux(p, 0xf4);
   KBC_EXPECT(p, 0xfa);
   /* Right 10, up 5, left button. */
   ps2mouse_move(m, 10, -5, 0, PS2MOUSE_BUTTON_LEFT);
   g_assert_true(irq_level(&irq, 12));
   KBC_EXPECT(p, 0x09, 10, 5);
   g_assert_false(irq_level(&irq, 12));
   /* Left 3, down 4: sign bits. */
   ps2mouse_move(m, -3, 4, 0, 0);
   KBC_EXPECT(p, 0x38, 0xfd, 0xfc);
   /* A button change alone sends a packet. */
   ps2mouse_move(m, 0, 0, 0, PS2MOUSE_BUTTON_MIDDLE);
   KBC_EXPECT(p, 0x0c, 0, 0);
   ps2mouse_move(m, 0, 0, 0, PS2MOUSE_BUTTON_MIDDLE);
   KBC_EXPECT_NONE(p);
   /* A large move is split, nothing lost. */
   ps2mouse_move(m, 600, 0, 0, 0);
   KBC_EXPECT(p, 0x08, 255, 0, 0x08, 255, 0, 0x08, 90, 0);
   /* Scaling 2:1. */
   aux(p, 0xe7);
   KBC_EXPECT(p, 0xfa);
   ps2mouse_move(m, 3, 0, 0, 0);
   ps2mouse_move(m, 5, 0, 0, 0);
   ps2mouse_move(m, 10, 0, 0, 0);
   KBC_EXPECT(p, 0x08, 3, 0, 0x08, 9, 0, 0x08, 20, 0);
   aux(p, 0xe6);
   KBC_EXPECT(p, 0xfa);
   /* Wheel on a standard mouse: dropped. */
   ps2mouse_move(m, 0, 0, 2, 0);
   KBC_EXPECT_NONE(p);
   /* IntelliMouse: 4th byte, wheel up = negative. */
   rate(p, 200);
   rate(p, 100);
   rate(p, 80);
   aux(p, 0xf4);
   KBC_EXPECT(p, 0xfa);
   ps2mouse_move(m, 1, 0, 1, 0);
   KBC_EXPECT(p, 0x08, 1, 0, 0xff);
   ps2mouse_move(m, 0, 0, -20, 0);
   KBC_EXPECT(p, 0x08, 0, 0, 7, 0x08, 0, 0, 7, 0x08, 0, 0, 6);
   /* Explorer: wheel in 4 bits, buttons 4 and 5. */
   rate(p, 200);
   rate(p, 200);
   rate(p, 80);
   aux(p, 0xf4);
   KBC_EXPECT(p, 0xfa);
   ps2mouse_move(m, 0, 0, 3, PS2MOUSE_BUTTON_SIDE | PS2MOUSE_BUTTON_LEFT);
   KBC_EXPECT(p, 0x09, 0, 0, 0x1d);
   ps2mouse_move(m, 0, 0, 0, PS2MOUSE_BUTTON_EXTRA);
   KBC_EXPECT(p, 0x08, 0, 0, 0x20);
   /* Controller's aux interface off: packets wait; long moves keep
    * coming out as the controller takes them. */
   kbc_cmd(p, 0xa7);
   ps2mouse_move(m, 255 * 40, 0, 0, PS2MOUSE_BUTTON_EXTRA);
   KBC_EXPECT_NONE(p);
   kbc_cmd(p, 0xa8);
   uint8_t got[256];
   unsigned n = kbc_drain(p, got, sizeof got);
   g_assert_cmpuint(n, ==, 160);
   for (unsigned i = 0; i < n; i += 4) {
      g_assert_cmphex(got[i + 1], ==, 255);
   }
   vmx_platform_free(p);
}

static void
test_remote_mode(void)
{
   vmx_platform *p = setup(NULL);
   ps2mouse *m = ps2mouse_get(p);
   aux(p, 0xf0);
   KBC_EXPECT(p, 0xfa);
   ps2mouse_move(m, 7, 8, 0, PS2MOUSE_BUTTON_RIGHT);
   ps2mouse_move(m, 1, 0, 0, PS2MOUSE_BUTTON_RIGHT);
   KBC_EXPECT_NONE(p);
   aux(p, 0xeb);
   KBC_EXPECT(p, 0xfa, 0x2a, 8, 0xf8);
   aux(p, 0xeb);
   KBC_EXPECT(p, 0xfa, 0x0a, 0, 0);
   /* Scaling applies to stream reports only. */
   aux(p, 0xe7);
   KBC_EXPECT(p, 0xfa);
   ps2mouse_move(m, 10, 0, 0, 0);
   aux(p, 0xeb);
   KBC_EXPECT(p, 0xfa, 0x08, 10, 0);
   aux(p, 0xea);
   KBC_EXPECT(p, 0xfa);
   ps2mouse_move(m, 10, 0, 0, 0);
   KBC_EXPECT_NONE(p);   /* stream mode, reporting still off */
   vmx_platform_free(p);
}

static void
test_save_restore(void)
{
   irq_rec ia, ib;
   irq_rec_init(&ia);
   irq_rec_init(&ib);
   vmx_platform *a = setup(&ia), *b = setup(&ib);
   ps2mouse *ma = ps2mouse_get(a);
   rate(a, 200);
   rate(a, 100);
   rate(a, 80);
   aux(a, 0xe8);
   aux(a, 0x01);
   aux(a, 0xe7);
   aux(a, 0xf0);
   KBC_EXPECT(a, 0xfa, 0xfa, 0xfa, 0xfa);
   aux(a, 0xf2);   /* FA 03: FA goes to the output buffer, 03 waits */
   aux(a, 0xf3);   /* the start of the next knock: 200 ... */
   aux(a, 200);
   aux(a, 0xf3);   /* ... 200, the rate byte still to come */
   assert_roundtrip(a, b);
   g_assert_true(irq_level(&ib, 12));
   KBC_EXPECT(b, 0xfa, 0x03, 0xfa, 0xfa, 0xfa);
   aux(b, 200);   /* the pending rate */
   KBC_EXPECT(b, 0xfa);
   rate(b, 80);   /* completes 200, 200, 80 from ID 3 */
   aux(b, 0xf2);
   KBC_EXPECT(b, 0xfa, 0x04);
   aux(b, 0xe9);
   KBC_EXPECT(b, 0xfa, 0x40 | 0x10, 0x01, 80);
   /* Counts and buttons, in a second round trip. */
   KBC_EXPECT(a, 0xfa, 0x03, 0xfa, 0xfa, 0xfa);
   aux(a, 200);
   KBC_EXPECT(a, 0xfa);
   ps2mouse_move(ma, 12, -3, 1, PS2MOUSE_BUTTON_MIDDLE);
   assert_roundtrip(a, b);
   aux(b, 0xeb);   /* right 12, up 3, wheel -1 in ID 3's fourth byte */
   KBC_EXPECT(b, 0xfa, 0x0c, 12, 3, 0xff);
   aux(b, 0xe9);
   KBC_EXPECT(b, 0xfa, 0x40 | 0x10 | 0x02, 0x01, 200);

   ckpt_writer *w = ckpt_writer_new("ps2mouse", 1);
   ckpt_put_u8(w, "rate", 55);
   assert_restore_refused(b, w, "'rate'");
   w = ckpt_writer_new("ps2mouse", 1);
   ckpt_put_u8(w, "resolution", 4);
   assert_restore_refused(b, w, "'resolution'");
   w = ckpt_writer_new("ps2mouse", 1);
   ckpt_put_u8(w, "id", 2);
   assert_restore_refused(b, w, "'id'");
   w = ckpt_writer_new("ps2mouse", 1);
   ckpt_put_u8(w, "flags", 0x10);
   assert_restore_refused(b, w, "'flags'");
   w = ckpt_writer_new("ps2mouse", 1);
   ckpt_put_u8(w, "pending", 0xf2);
   assert_restore_refused(b, w, "'pending'");
   w = ckpt_writer_new("ps2mouse", 1);
   ckpt_put_u8(w, "buttons", 0x20);
   assert_restore_refused(b, w, "'buttons'");
   w = ckpt_writer_new("ps2mouse", 1);
   ckpt_put_u32(w, "dx", 0x7fffffff);
   assert_restore_refused(b, w, "'dx'");
   w = ckpt_writer_new("ps2mouse", 1);
   uint8_t q[70] = { 0 };
   ckpt_put_bytes(w, "queue", q, 70);
   assert_restore_refused(b, w, "'queue'");
   w = ckpt_writer_new("ps2mouse", 1);
   ckpt_put_bytes(w, "knock", q, 2);
   assert_restore_refused(b, w, "knock");
   vmx_platform_free(a);
   vmx_platform_free(b);
}

static void
test_order_and_reset(void)
{
   static const vmx_device_desc *const wrong[] = { &vmx_dev_ps2mouse };
   char *err = NULL;
   g_assert_null(test_platform(wrong, 1, NULL, NULL, &err));
   g_assert_nonnull(strstr(err, "i8042"));
   g_free(err);
   vmx_platform *p = setup(NULL);
   rate(p, 200);
   rate(p, 100);
   rate(p, 80);
   aux(p, 0xf4);
   KBC_EXPECT(p, 0xfa);
   vmx_platform_reset(p);
   aux(p, 0xf2);
   KBC_EXPECT(p, 0xfa, 0x00);
   ps2mouse_move(ps2mouse_get(p), 1, 1, 0, 0);
   KBC_EXPECT_NONE(p);   /* reporting off after reset */
   vmx_platform_free(p);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/ps2mouse/reset-id-knocks", test_reset_id_knocks);
   g_test_add_func("/ps2mouse/status-params", test_status_and_params);
   g_test_add_func("/ps2mouse/stream-packets", test_stream_packets);
   g_test_add_func("/ps2mouse/remote-mode", test_remote_mode);
   g_test_add_func("/ps2mouse/save-restore", test_save_restore);
   g_test_add_func("/ps2mouse/order-reset", test_order_and_reset);
   return g_test_run();
}
