/*
 * Tests of key injection: the Shift fix-ups against a recorder, and the
 * whole path keysym -> mks_keyinput -> real PS/2 keyboard -> i8042 ->
 * guest-visible set 1 bytes, compared with mks_keymap_set1().
 */
#include "mks/console/keyinput.h"
#include "mks/console/keymap.h"
#include "vmx/dev/chipset/scancodes.h"
#include "vmx/dev/chipset/tests/kbc-test.h"

#include <X11/XF86keysym.h>
#include <X11/keysym.h>
#include <linux/input-event-codes.h>

/* ---- recorder */

typedef struct rec {
   unsigned n;
   unsigned key[64];
   bool down[64];
   bool caps;
} rec;

static void
rec_emit(void *opaque, unsigned keycode, bool down)
{
   rec *r = opaque;
   g_assert_cmpuint(r->n, <, 64);
   r->key[r->n] = keycode;
   r->down[r->n] = down;
   r->n++;
}

static bool
rec_caps(void *opaque)
{
   return ((rec *)opaque)->caps;
}

/* Expect exactly these events (key, down) and clear. */
#define EXPECT(r, ...) \
   do { \
      const int want_[] = { __VA_ARGS__ }; \
      unsigned nw_ = G_N_ELEMENTS(want_) / 2; \
      if ((r)->n != nw_) { \
         g_error("line %d: %u events, want %u", __LINE__, (r)->n, nw_); \
      } \
      for (unsigned i_ = 0; i_ < nw_; i_++) { \
         g_assert_cmpuint((r)->key[i_], ==, (unsigned)want_[2 * i_]); \
         g_assert_cmpint((r)->down[i_], ==, want_[2 * i_ + 1]); \
      } \
      (r)->n = 0; \
   } while (0)

#define NONE(r) g_assert_cmpuint((r)->n, ==, 0)

static void
test_plain_keys(void)
{
   rec r = { 0 };
   mks_keyinput *ki = mks_keyinput_new(rec_emit, NULL, &r);
   g_assert_true(mks_keyinput_keysym(ki, XK_a, true));
   g_assert_true(mks_keyinput_keysym(ki, XK_a, false));
   EXPECT(&r, KEY_A, 1, KEY_A, 0);
   /* Autorepeat: downs repeat, one up. */
   mks_keyinput_keysym(ki, XK_Return, true);
   mks_keyinput_keysym(ki, XK_Return, true);
   mks_keyinput_keysym(ki, XK_Return, false);
   EXPECT(&r, KEY_ENTER, 1, KEY_ENTER, 1, KEY_ENTER, 0);
   /* An up for a key that is not down sends nothing. */
   mks_keyinput_keysym(ki, XK_b, false);
   NONE(&r);
   /* Unknown keysyms: nothing. */
   g_assert_false(mks_keyinput_keysym(ki, XK_eacute, true));
   g_assert_false(mks_keyinput_keysym(ki, XK_eacute, false));
   NONE(&r);
   /* Key codes pass through. */
   g_assert_true(mks_keyinput_key(ki, KEY_F5, true));
   g_assert_true(mks_keyinput_key(ki, KEY_F5, false));
   g_assert_false(mks_keyinput_key(ki, KEY_MACRO, true));
   EXPECT(&r, KEY_F5, 1, KEY_F5, 0);
   mks_keyinput_free(ki);
}

static void
test_shift_fixups(void)
{
   rec r = { 0 };
   mks_keyinput *ki = mks_keyinput_new(rec_emit, NULL, &r);
   /* '!' without Shift: a Shift around the press. */
   mks_keyinput_keysym(ki, XK_exclam, true);
   EXPECT(&r, KEY_LEFTSHIFT, 1, KEY_1, 1, KEY_LEFTSHIFT, 0);
   mks_keyinput_keysym(ki, XK_exclam, false);
   EXPECT(&r, KEY_1, 0);
   /* '!' with Shift held: as is. */
   mks_keyinput_keysym(ki, XK_Shift_R, true);
   mks_keyinput_keysym(ki, XK_exclam, true);
   mks_keyinput_keysym(ki, XK_exclam, false);
   EXPECT(&r, KEY_RIGHTSHIFT, 1, KEY_1, 1, KEY_1, 0);
   /* '1' with Shift held (a client with another layout): Shift released
    * around the press. */
   mks_keyinput_keysym(ki, XK_1, true);
   EXPECT(&r, KEY_RIGHTSHIFT, 0, KEY_1, 1, KEY_RIGHTSHIFT, 1);
   mks_keyinput_keysym(ki, XK_1, false);
   EXPECT(&r, KEY_1, 0);
   /* Both shifts held. */
   mks_keyinput_keysym(ki, XK_Shift_L, true);
   mks_keyinput_keysym(ki, XK_bracketleft, true);
   EXPECT(&r, KEY_LEFTSHIFT, 1, KEY_LEFTSHIFT, 0, KEY_RIGHTSHIFT, 0, KEY_LEFTBRACE, 1,
          KEY_LEFTSHIFT, 1, KEY_RIGHTSHIFT, 1);
   mks_keyinput_keysym(ki, XK_bracketleft, false);
   /* Keys without a second symbol keep Shift: Shift+Left, Shift+Space. */
   mks_keyinput_keysym(ki, XK_Left, true);
   mks_keyinput_keysym(ki, XK_space, true);
   mks_keyinput_keysym(ki, XK_KP_1, true);
   EXPECT(&r, KEY_LEFTBRACE, 0, KEY_LEFT, 1, KEY_SPACE, 1, KEY_KP1, 1);
   mks_keyinput_keysym(ki, XK_Left, false);
   mks_keyinput_keysym(ki, XK_space, false);
   mks_keyinput_keysym(ki, XK_KP_1, false);
   mks_keyinput_keysym(ki, XK_Shift_L, false);
   mks_keyinput_keysym(ki, XK_Shift_R, false);
   EXPECT(&r, KEY_LEFT, 0, KEY_SPACE, 0, KEY_KP1, 0, KEY_LEFTSHIFT, 0, KEY_RIGHTSHIFT, 0);
   /* Shift+Tab as ISO_Left_Tab without Shift. */
   mks_keyinput_keysym(ki, XK_ISO_Left_Tab, true);
   mks_keyinput_keysym(ki, XK_ISO_Left_Tab, false);
   EXPECT(&r, KEY_LEFTSHIFT, 1, KEY_TAB, 1, KEY_LEFTSHIFT, 0, KEY_TAB, 0);
   /* No fix-ups under Ctrl (shortcuts as typed). */
   mks_keyinput_keysym(ki, XK_Control_L, true);
   mks_keyinput_keysym(ki, XK_plus, true);
   mks_keyinput_keysym(ki, XK_plus, false);
   mks_keyinput_keysym(ki, XK_Control_L, false);
   EXPECT(&r, KEY_LEFTCTRL, 1, KEY_EQUAL, 1, KEY_EQUAL, 0, KEY_LEFTCTRL, 0);
   /* Letters: no Caps Lock source, no fix-up. */
   mks_keyinput_keysym(ki, XK_A, true);
   mks_keyinput_keysym(ki, XK_A, false);
   EXPECT(&r, KEY_A, 1, KEY_A, 0);
   /* Up with another keysym of the same key (Shift released first). */
   mks_keyinput_keysym(ki, XK_Shift_L, true);
   mks_keyinput_keysym(ki, XK_colon, true);
   mks_keyinput_keysym(ki, XK_Shift_L, false);
   mks_keyinput_keysym(ki, XK_semicolon, false);
   EXPECT(&r, KEY_LEFTSHIFT, 1, KEY_SEMICOLON, 1, KEY_LEFTSHIFT, 0, KEY_SEMICOLON, 0);
   mks_keyinput_free(ki);
}

static void
test_caps_lock(void)
{
   rec r = { 0 };
   mks_keyinput *ki = mks_keyinput_new(rec_emit, rec_caps, &r);
   mks_keyinput_keysym(ki, XK_A, true);
   mks_keyinput_keysym(ki, XK_A, false);
   EXPECT(&r, KEY_LEFTSHIFT, 1, KEY_A, 1, KEY_LEFTSHIFT, 0, KEY_A, 0);
   r.caps = true;
   mks_keyinput_keysym(ki, XK_A, true);
   mks_keyinput_keysym(ki, XK_A, false);
   EXPECT(&r, KEY_A, 1, KEY_A, 0);
   mks_keyinput_keysym(ki, XK_a, true);
   mks_keyinput_keysym(ki, XK_a, false);
   EXPECT(&r, KEY_LEFTSHIFT, 1, KEY_A, 1, KEY_LEFTSHIFT, 0, KEY_A, 0);
   /* Caps Lock does not change digits. */
   mks_keyinput_keysym(ki, XK_1, true);
   mks_keyinput_keysym(ki, XK_1, false);
   EXPECT(&r, KEY_1, 1, KEY_1, 0);
   mks_keyinput_free(ki);
}

static void
test_release_all(void)
{
   rec r = { 0 };
   mks_keyinput *ki = mks_keyinput_new(rec_emit, NULL, &r);
   mks_keyinput_keysym(ki, XK_Control_L, true);
   mks_keyinput_keysym(ki, XK_Alt_L, true);
   mks_keyinput_keysym(ki, XK_Delete, true);
   mks_keyinput_key(ki, KEY_F1, true);
   r.n = 0;
   g_assert_true(mks_keyinput_is_down(ki, KEY_DELETE));
   mks_keyinput_release_all(ki);
   /* Ordinary keys by code, then modifiers. */
   EXPECT(&r, KEY_F1, 0, KEY_DELETE, 0, KEY_LEFTCTRL, 0, KEY_LEFTALT, 0);
   g_assert_false(mks_keyinput_is_down(ki, KEY_DELETE));
   mks_keyinput_release_all(ki);
   NONE(&r);
   mks_keyinput_free(ki);
}

/* ---- through the real keyboard */

static const vmx_device_desc *const table[] = { &vmx_dev_i8042, &vmx_dev_ps2kbd };

/* What the guest reads for the keys, through the 8042's translation, must
 * be the set 1 bytes the keymap gives. */
static void
test_ps2kbd_end_to_end(void)
{
   vmx_platform *p = test_platform_ok(table, 2, NULL, NULL);
   ps2kbd *kbd = ps2kbd_get(p);
   mks_keyinput *ki = mks_keyinput_new_ps2kbd(kbd);
   unsigned checked = 0;
   for (unsigned i = 0; i < mks_keymap_keysym_count(); i++) {
      uint32_t ks = mks_keymap_keysym_at(i);
      mks_keysym_info info;
      g_assert_true(mks_keymap_keysym(ks, &info));
      if (!ps2_scancode_seq(1, info.keycode, true, (uint8_t[PS2_SEQ_MAX]){ 0 })) {
         continue;   /* a key the PS/2 keyboard does not have (multimedia) */
      }
      bool shift = (info.flags & MKS_KEYSYM_SHIFT) && !(info.flags & MKS_KEYSYM_LETTER);
      uint8_t want[64], got[64];
      unsigned n = 0;
      if (shift) {
         n += mks_keymap_set1(KEY_LEFTSHIFT, true, 0, want + n);
      }
      n += mks_keymap_set1(info.keycode, true, 0, want + n);
      if (shift) {
         n += mks_keymap_set1(KEY_LEFTSHIFT, false, 0, want + n);
      }
      n += mks_keymap_set1(info.keycode, false, 0, want + n);
      /* Letters: the guest's Caps Lock is off, so uppercase gets Shift. */
      if ((info.flags & MKS_KEYSYM_LETTER) && (info.flags & MKS_KEYSYM_SHIFT)) {
         n = 0;
         n += mks_keymap_set1(KEY_LEFTSHIFT, true, 0, want + n);
         n += mks_keymap_set1(info.keycode, true, 0, want + n);
         n += mks_keymap_set1(KEY_LEFTSHIFT, false, 0, want + n);
         n += mks_keymap_set1(info.keycode, false, 0, want + n);
      }
      g_assert_true(mks_keyinput_keysym(ki, ks, true));
      g_assert_true(mks_keyinput_keysym(ki, ks, false));
      unsigned gn = kbc_drain(p, got, sizeof got);
      if (gn != n || memcmp(got, want, n)) {
         g_error("keysym 0x%x: guest read %u bytes, want %u", ks, gn, n);
      }
      checked++;
   }
   g_assert_cmpuint(checked, >, 150);
   /* Caps Lock on in the guest (LED command): 'A' goes without Shift. */
   outb(p, KBC_DATA, 0xed);
   outb(p, KBC_DATA, PS2KBD_LED_CAPS);
   KBC_EXPECT(p, 0xfa, 0xfa);
   mks_keyinput_keysym(ki, XK_A, true);
   mks_keyinput_keysym(ki, XK_A, false);
   KBC_EXPECT(p, 0x1e, 0x9e);
   mks_keyinput_keysym(ki, XK_a, true);
   mks_keyinput_keysym(ki, XK_a, false);
   KBC_EXPECT(p, 0x2a, 0x1e, 0xaa, 0x9e);
   mks_keyinput_free(ki);
   vmx_platform_free(p);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/mks/keyinput/plain", test_plain_keys);
   g_test_add_func("/mks/keyinput/shift-fixups", test_shift_fixups);
   g_test_add_func("/mks/keyinput/caps-lock", test_caps_lock);
   g_test_add_func("/mks/keyinput/release-all", test_release_all);
   g_test_add_func("/mks/keyinput/ps2kbd-end-to-end", test_ps2kbd_end_to_end);
   return g_test_run();
}
