/*
 * Tests of the PS/2 keyboard behind the i8042.
 */
#include "kbc-test.h"
#include "vmx/dev/chipset/ps2kbd.h"
#include "vmx/dev/chipset/scancodes.h"

#include <linux/input-event-codes.h>

static const vmx_device_desc *const table[] = { &vmx_dev_i8042, &vmx_dev_ps2kbd };

static vmx_platform *
setup(irq_rec *irq)
{
   return test_platform_ok(table, 2, NULL, irq);
}

static void
xlate(vmx_platform *p, bool on)
{
   kbc_cmd_data(p, 0x60, on ? 0x47 : 0x07);
}

static void
kbd(vmx_platform *p, uint8_t b)
{
   outb(p, KBC_DATA, b);
}

static void
test_commands(void)
{
   vmx_platform *p = setup(NULL);
   ps2kbd *k = ps2kbd_get(p);
   kbd(p, 0xff);
   KBC_EXPECT(p, 0xfa, 0xaa);
   /* Identify: AB 83, which translation turns into AB 41. */
   kbd(p, 0xf2);
   KBC_EXPECT(p, 0xfa, 0xab, 0x41);
   xlate(p, false);
   kbd(p, 0xf2);
   KBC_EXPECT(p, 0xfa, 0xab, 0x83);
   kbd(p, 0xee);
   KBC_EXPECT(p, 0xee);
   /* Scancode set: query, set, query. */
   kbd(p, 0xf0);
   kbd(p, 0x00);
   KBC_EXPECT(p, 0xfa, 0xfa, 0x02);
   kbd(p, 0xf0);
   kbd(p, 0x03);
   KBC_EXPECT(p, 0xfa, 0xfa);
   kbd(p, 0xf0);
   kbd(p, 0x00);
   KBC_EXPECT(p, 0xfa, 0xfa, 0x03);
   xlate(p, true);
   kbd(p, 0xf0);
   kbd(p, 0x00);
   KBC_EXPECT(p, 0xfa, 0xfa, 0x3f);
   kbd(p, 0xf0);
   kbd(p, 0x07);   /* no set 7: resend, parameter still expected */
   KBC_EXPECT(p, 0xfa, 0xfe);
   kbd(p, 0x02);
   KBC_EXPECT(p, 0xfa);
   /* LEDs. */
   kbd(p, 0xed);
   kbd(p, 0x05);
   KBC_EXPECT(p, 0xfa, 0xfa);
   g_assert_cmphex(ps2kbd_leds(k), ==, PS2KBD_LED_SCROLL | PS2KBD_LED_CAPS);
   kbd(p, 0xed);
   kbd(p, 0x10);
   KBC_EXPECT(p, 0xfa, 0xfe);
   kbd(p, 0xf2);   /* a command where the parameter was expected */
   KBC_EXPECT(p, 0xfa, 0xab, 0x41);
   g_assert_cmphex(ps2kbd_leds(k), ==, 0x05);
   /* Typematic. */
   kbd(p, 0xf3);
   kbd(p, 0x80);
   KBC_EXPECT(p, 0xfa, 0xfe);
   kbd(p, 0x20);
   KBC_EXPECT(p, 0xfa);
   /* Resend the last byte. */
   kbd(p, 0xfe);
   KBC_EXPECT(p, 0xfa);
   /* Unknown command. */
   kbd(p, 0xe5);
   KBC_EXPECT(p, 0xfe);
   /* Disable: keys dropped; enable. */
   kbd(p, 0xf5);
   KBC_EXPECT(p, 0xfa);
   g_assert_false(ps2kbd_key(k, KEY_A, true));
   KBC_EXPECT_NONE(p);
   kbd(p, 0xf4);
   KBC_EXPECT(p, 0xfa);
   g_assert_true(ps2kbd_key(k, KEY_A, true));
   KBC_EXPECT(p, 0x1e);
   /* Reset: LEDs off, set 2. */
   kbd(p, 0xff);
   KBC_EXPECT(p, 0xfa, 0xaa);
   g_assert_cmphex(ps2kbd_leds(k), ==, 0);
   /* Keys with no code are refused. */
   g_assert_false(ps2kbd_key(k, KEY_PROG1, true));
   g_assert_false(ps2kbd_key(k, 700, true));
   vmx_platform_free(p);
}

static void
test_keys_set2(void)
{
   irq_rec irq;
   irq_rec_init(&irq);
   vmx_platform *p = setup(&irq);
   ps2kbd *k = ps2kbd_get(p);
   /* Translated to set 1. */
   g_assert_true(ps2kbd_key(k, KEY_A, true));
   g_assert_true(irq_level(&irq, 1));
   KBC_EXPECT(p, 0x1e);
   g_assert_false(irq_level(&irq, 1));
   g_assert_true(ps2kbd_key(k, KEY_A, false));
   KBC_EXPECT(p, 0x9e);
   g_assert_true(ps2kbd_key(k, KEY_UP, true));
   g_assert_true(ps2kbd_key(k, KEY_UP, false));
   KBC_EXPECT(p, 0xe0, 0x48, 0xe0, 0xc8);
   g_assert_true(ps2kbd_key(k, KEY_PAUSE, true));
   g_assert_true(ps2kbd_key(k, KEY_PAUSE, true));   /* no repeat */
   g_assert_true(ps2kbd_key(k, KEY_PAUSE, false));  /* no break */
   KBC_EXPECT(p, 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5);
   g_assert_true(ps2kbd_key(k, KEY_SYSRQ, true));
   g_assert_true(ps2kbd_key(k, KEY_SYSRQ, false));
   KBC_EXPECT(p, 0xe0, 0x2a, 0xe0, 0x37, 0xe0, 0xb7, 0xe0, 0xaa);
   /* Raw set 2. */
   xlate(p, false);
   g_assert_true(ps2kbd_key(k, KEY_A, true));
   g_assert_true(ps2kbd_key(k, KEY_A, true));   /* typematic repeat */
   g_assert_true(ps2kbd_key(k, KEY_A, false));
   KBC_EXPECT(p, 0x1c, 0x1c, 0xf0, 0x1c);
   g_assert_true(ps2kbd_key(k, KEY_RIGHTCTRL, true));
   g_assert_true(ps2kbd_key(k, KEY_RIGHTCTRL, false));
   KBC_EXPECT(p, 0xe0, 0x14, 0xe0, 0xf0, 0x14);
   g_assert_true(ps2kbd_key(k, KEY_PAUSE, true));
   KBC_EXPECT(p, 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77);
   g_assert_true(ps2kbd_key(k, KEY_SYSRQ, true));
   g_assert_true(ps2kbd_key(k, KEY_SYSRQ, false));
   KBC_EXPECT(p, 0xe0, 0x12, 0xe0, 0x7c, 0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12);
   g_assert_true(ps2kbd_key(k, KEY_F7, true));
   KBC_EXPECT(p, 0x83);
   vmx_platform_free(p);
}

/* Every key: what set 2 becomes through translation is what set 1 sends. */
static void
test_translation_matches_set1(void)
{
   vmx_platform *p = setup(NULL);
   ps2kbd *k = ps2kbd_get(p);
   for (unsigned i = 0; i < ps2_scancode_count(); i++) {
      unsigned key = ps2_scancode_keycode(i);
      uint8_t via2[32], raw1[32];
      unsigned n2, n1;
      xlate(p, true);
      kbd(p, 0xf0);
      kbd(p, 0x02);
      KBC_EXPECT(p, 0xfa, 0xfa);
      g_assert_true(ps2kbd_key(k, key, true));
      ps2kbd_key(k, key, false);
      n2 = kbc_drain(p, via2, sizeof via2);
      xlate(p, false);
      kbd(p, 0xf0);
      kbd(p, 0x01);
      KBC_EXPECT(p, 0xfa, 0xfa);
      g_assert_true(ps2kbd_key(k, key, true));
      ps2kbd_key(k, key, false);
      n1 = kbc_drain(p, raw1, sizeof raw1);
      if (n1 != n2 || memcmp(via2, raw1, n1)) {
         g_error("key %u: translated set 2 differs from set 1", key);
      }
      g_assert_cmpuint(n1, >, 0);
   }
   vmx_platform_free(p);
}

static void
test_set1_and_set3(void)
{
   vmx_platform *p = setup(NULL);
   ps2kbd *k = ps2kbd_get(p);
   xlate(p, false);
   kbd(p, 0xf0);
   kbd(p, 0x01);
   KBC_EXPECT(p, 0xfa, 0xfa);
   ps2kbd_key(k, KEY_A, true);
   ps2kbd_key(k, KEY_A, false);
   ps2kbd_key(k, KEY_KPENTER, true);
   ps2kbd_key(k, KEY_KPENTER, false);
   KBC_EXPECT(p, 0x1e, 0x9e, 0xe0, 0x1c, 0xe0, 0x9c);

   kbd(p, 0xf0);
   kbd(p, 0x03);
   KBC_EXPECT(p, 0xfa, 0xfa);
   ps2kbd_key(k, KEY_A, true);
   ps2kbd_key(k, KEY_A, true);
   ps2kbd_key(k, KEY_A, false);
   ps2kbd_key(k, KEY_UP, true);
   ps2kbd_key(k, KEY_UP, false);
   KBC_EXPECT(p, 0x1c, 0x1c, 0xf0, 0x1c, 0x63, 0xf0, 0x63);
   g_assert_false(ps2kbd_key(k, KEY_POWER, true));   /* no set 3 code */
   /* A make-only (0xfd 0x1c), then a command ends the list. */
   kbd(p, 0xfd);
   kbd(p, 0x1c);
   kbd(p, 0x63);
   KBC_EXPECT(p, 0xfa, 0xfa, 0xfa);
   kbd(p, 0xf4);
   KBC_EXPECT(p, 0xfa);
   ps2kbd_key(k, KEY_A, true);
   ps2kbd_key(k, KEY_A, true);   /* make-only: no repeat either */
   ps2kbd_key(k, KEY_A, false);
   ps2kbd_key(k, KEY_UP, true);
   ps2kbd_key(k, KEY_UP, false);
   ps2kbd_key(k, KEY_B, true);
   ps2kbd_key(k, KEY_B, false);
   KBC_EXPECT(p, 0x1c, 0x63, 0x32, 0xf0, 0x32);
   /* All keys make/break, no typematic. */
   kbd(p, 0xf8);
   KBC_EXPECT(p, 0xfa);
   ps2kbd_key(k, KEY_A, true);
   ps2kbd_key(k, KEY_A, true);
   ps2kbd_key(k, KEY_A, false);
   KBC_EXPECT(p, 0x1c, 0xf0, 0x1c);
   /* Defaults: typematic make/break again. */
   kbd(p, 0xf6);
   KBC_EXPECT(p, 0xfa);
   ps2kbd_key(k, KEY_A, true);
   ps2kbd_key(k, KEY_A, true);
   ps2kbd_key(k, KEY_A, false);
   KBC_EXPECT(p, 0x1c, 0x1c, 0xf0, 0x1c);
   vmx_platform_free(p);
}

static void
test_overrun_and_flow(void)
{
   vmx_platform *p = setup(NULL);
   ps2kbd *k = ps2kbd_get(p);
   kbc_cmd(p, 0xad);   /* hold the keyboard's bytes in its buffer */
   unsigned queued = 0;
   for (unsigned i = 0; i < 30; i++) {
      if (ps2kbd_key(k, KEY_A, true)) {   /* one byte each in set 2 */
         queued++;
      }
      if (ps2kbd_key(k, KEY_A, false)) {  /* two bytes */
         queued++;
      }
   }
   g_assert_cmpuint(queued, <, 60);
   KBC_EXPECT_NONE(p);
   kbc_cmd(p, 0xae);
   uint8_t got[128];
   unsigned n = kbc_drain(p, got, sizeof got);
   /* 63 bytes of whole sequences (21 x 1c f0 1c, translated to 1e 9e),
    * then the overrun code (0x00, translated 0xff). */
   g_assert_cmpuint(n, ==, 43);
   for (unsigned i = 0; i + 1 < n; i++) {
      g_assert_cmphex(got[i], ==, i % 2 ? 0x9e : 0x1e);
   }
   g_assert_cmphex(got[n - 1], ==, 0xff);
   /* After the buffer drained, keys flow again. */
   g_assert_true(ps2kbd_key(k, KEY_B, true));
   KBC_EXPECT(p, 0x30);
   /* A command clears what the keyboard still holds. */
   kbc_cmd(p, 0xad);
   ps2kbd_key(k, KEY_C, true);
   kbc_cmd(p, 0xae);
   kbd(p, 0xee);
   KBC_EXPECT(p, 0x2e, 0xee);
   kbc_cmd(p, 0xad);
   ps2kbd_key(k, KEY_C, true);
   kbd(p, 0xee);   /* re-enables the interface, after the keyboard cleared */
   KBC_EXPECT(p, 0xee);
   vmx_platform_free(p);
}

static void
test_save_restore(void)
{
   irq_rec ia, ib;
   irq_rec_init(&ia);
   irq_rec_init(&ib);
   vmx_platform *a = setup(&ia), *b = setup(&ib);
   ps2kbd *ka = ps2kbd_get(a);
   kbd(a, 0xf0);
   kbd(a, 0x03);
   kbd(a, 0xfc);
   kbd(a, 0x1c);
   kbd(a, 0xed);
   kbd(a, 0x02);
   kbd(a, 0xf3);
   kbd(a, 0x3f);
   uint8_t junk[32];
   kbc_drain(a, junk, sizeof junk);
   ps2kbd_key(ka, KEY_LEFTSHIFT, true);
   ps2kbd_key(ka, KEY_A, true);
   ps2kbd_key(ka, KEY_B, true);
   kbd(a, 0xed);   /* now waiting for the LED byte; the buffer cleared */
   ps2kbd_key(ka, KEY_C, true);
   ps2kbd_key(ka, KEY_D, true);
   /* The output buffer holds Left Shift (set 3 0x12, translated 0x2a); the
    * ACK and 'c' 'd' (0x21 0x23) wait in the keyboard. */
   assert_roundtrip(a, b);
   g_assert_true(irq_level(&ib, 1));
   ps2kbd *kb = ps2kbd_get(b);
   g_assert_cmphex(ps2kbd_leds(kb), ==, 0x02);
   KBC_EXPECT(b, 0x2a, 0xfa, 0x2e, 0x20);
   kbd(b, 0x04);                      /* the LED byte */
   KBC_EXPECT(b, 0xfa);
   g_assert_cmphex(ps2kbd_leds(kb), ==, 0x04);
   /* Keys held in a are held in b: a second press repeats. */
   xlate(b, false);
   ps2kbd_key(kb, KEY_A, true);
   ps2kbd_key(kb, KEY_A, false);   /* make/break only (0xfc): no repeat */
   ps2kbd_key(kb, KEY_B, true);
   KBC_EXPECT(b, 0xf0, 0x1c, 0x32);

   ckpt_writer *w = ckpt_writer_new("ps2kbd", 1);
   ckpt_put_u8(w, "set", 4);
   assert_restore_refused(b, w, "'set'");
   w = ckpt_writer_new("ps2kbd", 1);
   ckpt_put_u8(w, "pending", 0xf2);
   assert_restore_refused(b, w, "'pending'");
   w = ckpt_writer_new("ps2kbd", 1);
   ckpt_put_u8(w, "leds", 0x08);
   assert_restore_refused(b, w, "'leds'");
   w = ckpt_writer_new("ps2kbd", 1);
   ckpt_put_u8(w, "typematic", 0x80);
   assert_restore_refused(b, w, "'typematic'");
   w = ckpt_writer_new("ps2kbd", 1);
   uint8_t q[65] = { 0 };
   ckpt_put_bytes(w, "queue", q, 65);
   assert_restore_refused(b, w, "'queue'");
   w = ckpt_writer_new("ps2kbd", 1);
   uint8_t modes[256] = { 0 };
   modes[9] = 4;
   ckpt_put_bytes(w, "mode3", modes, 256);
   assert_restore_refused(b, w, "'mode3'");
   w = ckpt_writer_new("ps2kbd", 1);
   ckpt_put_u8(w, "scanning", 2);
   assert_restore_refused(b, w, "'scanning'");
   w = ckpt_writer_new("ps2kbd", 1);
   ckpt_put_bytes(w, "down", q, 31);
   assert_restore_refused(b, w, "down");
   vmx_platform_free(a);
   vmx_platform_free(b);
}

static void
test_order(void)
{
   static const vmx_device_desc *const wrong[] = { &vmx_dev_ps2kbd, &vmx_dev_i8042 };
   char *err = NULL;
   g_assert_null(test_platform(wrong, 2, NULL, NULL, &err));
   g_assert_nonnull(strstr(err, "i8042"));
   g_free(err);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/ps2kbd/commands", test_commands);
   g_test_add_func("/ps2kbd/keys-set2", test_keys_set2);
   g_test_add_func("/ps2kbd/translation-matches-set1", test_translation_matches_set1);
   g_test_add_func("/ps2kbd/set1-set3", test_set1_and_set3);
   g_test_add_func("/ps2kbd/overrun-flow", test_overrun_and_flow);
   g_test_add_func("/ps2kbd/save-restore", test_save_restore);
   g_test_add_func("/ps2kbd/order", test_order);
   return g_test_run();
}
