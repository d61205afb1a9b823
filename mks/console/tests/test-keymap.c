/*
 * Tests of the keysym / key code tables against a table written here from
 * the specifications: X11 keysymdef.h and XF86keysym.h for keysym values,
 * xkeyboard-config's "us" layout for which keysyms share a key and which
 * level (Shift) they are on, and Microsoft's Keyboard Scan Code
 * Specification rev 1.3a (appendices A and C) for the set 1 make codes.
 * The implementation's tables are a separate transcription; the checks
 * below are exhaustive both ways (every spec row is checked, and every
 * keysym value the translator accepts must be a spec row).
 */
#include "mks/console/keymap.h"
#include "vmx/dev/chipset/scancodes.h"

#include <X11/XF86keysym.h>
#include <X11/keysym.h>
#include <glib.h>
#include <linux/input-event-codes.h>
#include <string.h>

#define S MKS_KEYSYM_SHIFT
#define L MKS_KEYSYM_LETTER
#define NUM MKS_KEYSYM_NUMLOCK
#define NAV MKS_KEYSYM_KPNAV

typedef struct spec {
   uint32_t keysym;
   unsigned keycode;
   unsigned flags;
   const char *make;   /* set 1 make bytes, hex */
} spec;

static const spec specs[] = {
   /* main block, row by row: unshifted symbol, then shifted */
   { XK_grave, KEY_GRAVE, 0, "29" },
   { XK_asciitilde, KEY_GRAVE, S, "29" },
   { XK_1, KEY_1, 0, "02" },
   { XK_exclam, KEY_1, S, "02" },
   { XK_2, KEY_2, 0, "03" },
   { XK_at, KEY_2, S, "03" },
   { XK_3, KEY_3, 0, "04" },
   { XK_numbersign, KEY_3, S, "04" },
   { XK_4, KEY_4, 0, "05" },
   { XK_dollar, KEY_4, S, "05" },
   { XK_5, KEY_5, 0, "06" },
   { XK_percent, KEY_5, S, "06" },
   { XK_6, KEY_6, 0, "07" },
   { XK_asciicircum, KEY_6, S, "07" },
   { XK_7, KEY_7, 0, "08" },
   { XK_ampersand, KEY_7, S, "08" },
   { XK_8, KEY_8, 0, "09" },
   { XK_asterisk, KEY_8, S, "09" },
   { XK_9, KEY_9, 0, "0a" },
   { XK_parenleft, KEY_9, S, "0a" },
   { XK_0, KEY_0, 0, "0b" },
   { XK_parenright, KEY_0, S, "0b" },
   { XK_minus, KEY_MINUS, 0, "0c" },
   { XK_underscore, KEY_MINUS, S, "0c" },
   { XK_equal, KEY_EQUAL, 0, "0d" },
   { XK_plus, KEY_EQUAL, S, "0d" },
   { XK_BackSpace, KEY_BACKSPACE, 0, "0e" },
   { XK_Tab, KEY_TAB, 0, "0f" },
   { XK_ISO_Left_Tab, KEY_TAB, S, "0f" },
   { XK_q, KEY_Q, L, "10" },
   { XK_Q, KEY_Q, S | L, "10" },
   { XK_w, KEY_W, L, "11" },
   { XK_W, KEY_W, S | L, "11" },
   { XK_e, KEY_E, L, "12" },
   { XK_E, KEY_E, S | L, "12" },
   { XK_r, KEY_R, L, "13" },
   { XK_R, KEY_R, S | L, "13" },
   { XK_t, KEY_T, L, "14" },
   { XK_T, KEY_T, S | L, "14" },
   { XK_y, KEY_Y, L, "15" },
   { XK_Y, KEY_Y, S | L, "15" },
   { XK_u, KEY_U, L, "16" },
   { XK_U, KEY_U, S | L, "16" },
   { XK_i, KEY_I, L, "17" },
   { XK_I, KEY_I, S | L, "17" },
   { XK_o, KEY_O, L, "18" },
   { XK_O, KEY_O, S | L, "18" },
   { XK_p, KEY_P, L, "19" },
   { XK_P, KEY_P, S | L, "19" },
   { XK_bracketleft, KEY_LEFTBRACE, 0, "1a" },
   { XK_braceleft, KEY_LEFTBRACE, S, "1a" },
   { XK_bracketright, KEY_RIGHTBRACE, 0, "1b" },
   { XK_braceright, KEY_RIGHTBRACE, S, "1b" },
   { XK_backslash, KEY_BACKSLASH, 0, "2b" },
   { XK_bar, KEY_BACKSLASH, S, "2b" },
   { XK_Return, KEY_ENTER, 0, "1c" },
   { XK_Caps_Lock, KEY_CAPSLOCK, 0, "3a" },
   { XK_a, KEY_A, L, "1e" },
   { XK_A, KEY_A, S | L, "1e" },
   { XK_s, KEY_S, L, "1f" },
   { XK_S, KEY_S, S | L, "1f" },
   { XK_d, KEY_D, L, "20" },
   { XK_D, KEY_D, S | L, "20" },
   { XK_f, KEY_F, L, "21" },
   { XK_F, KEY_F, S | L, "21" },
   { XK_g, KEY_G, L, "22" },
   { XK_G, KEY_G, S | L, "22" },
   { XK_h, KEY_H, L, "23" },
   { XK_H, KEY_H, S | L, "23" },
   { XK_j, KEY_J, L, "24" },
   { XK_J, KEY_J, S | L, "24" },
   { XK_k, KEY_K, L, "25" },
   { XK_K, KEY_K, S | L, "25" },
   { XK_l, KEY_L, L, "26" },
   { XK_L, KEY_L, S | L, "26" },
   { XK_semicolon, KEY_SEMICOLON, 0, "27" },
   { XK_colon, KEY_SEMICOLON, S, "27" },
   { XK_apostrophe, KEY_APOSTROPHE, 0, "28" },
   { XK_quotedbl, KEY_APOSTROPHE, S, "28" },
   { XK_Shift_L, KEY_LEFTSHIFT, 0, "2a" },
   { XK_z, KEY_Z, L, "2c" },
   { XK_Z, KEY_Z, S | L, "2c" },
   { XK_x, KEY_X, L, "2d" },
   { XK_X, KEY_X, S | L, "2d" },
   { XK_c, KEY_C, L, "2e" },
   { XK_C, KEY_C, S | L, "2e" },
   { XK_v, KEY_V, L, "2f" },
   { XK_V, KEY_V, S | L, "2f" },
   { XK_b, KEY_B, L, "30" },
   { XK_B, KEY_B, S | L, "30" },
   { XK_n, KEY_N, L, "31" },
   { XK_N, KEY_N, S | L, "31" },
   { XK_m, KEY_M, L, "32" },
   { XK_M, KEY_M, S | L, "32" },
   { XK_comma, KEY_COMMA, 0, "33" },
   { XK_less, KEY_COMMA, S, "33" },
   { XK_period, KEY_DOT, 0, "34" },
   { XK_greater, KEY_DOT, S, "34" },
   { XK_slash, KEY_SLASH, 0, "35" },
   { XK_question, KEY_SLASH, S, "35" },
   { XK_Shift_R, KEY_RIGHTSHIFT, 0, "36" },
   { XK_Control_L, KEY_LEFTCTRL, 0, "1d" },
   { XK_Super_L, KEY_LEFTMETA, 0, "e05b" },
   { XK_Alt_L, KEY_LEFTALT, 0, "38" },
   { XK_Meta_L, KEY_LEFTALT, 0, "38" },
   { XK_space, KEY_SPACE, 0, "39" },
   { XK_Alt_R, KEY_RIGHTALT, 0, "e038" },
   { XK_Meta_R, KEY_RIGHTALT, 0, "e038" },
   { XK_ISO_Level3_Shift, KEY_RIGHTALT, 0, "e038" },
   { XK_Mode_switch, KEY_RIGHTALT, 0, "e038" },
   { XK_Super_R, KEY_RIGHTMETA, 0, "e05c" },
   { XK_Menu, KEY_COMPOSE, 0, "e05d" },
   { XK_Multi_key, KEY_COMPOSE, 0, "e05d" },
   { XK_Control_R, KEY_RIGHTCTRL, 0, "e01d" },
   /* Esc, function keys, Print Screen, Scroll Lock, Pause */
   { XK_Escape, KEY_ESC, 0, "01" },
   { XK_F1, KEY_F1, 0, "3b" },
   { XK_F2, KEY_F2, 0, "3c" },
   { XK_F3, KEY_F3, 0, "3d" },
   { XK_F4, KEY_F4, 0, "3e" },
   { XK_F5, KEY_F5, 0, "3f" },
   { XK_F6, KEY_F6, 0, "40" },
   { XK_F7, KEY_F7, 0, "41" },
   { XK_F8, KEY_F8, 0, "42" },
   { XK_F9, KEY_F9, 0, "43" },
   { XK_F10, KEY_F10, 0, "44" },
   { XK_F11, KEY_F11, 0, "57" },
   { XK_F12, KEY_F12, 0, "58" },
   { XK_F13, KEY_F13, 0, "64" },
   { XK_F14, KEY_F14, 0, "65" },
   { XK_F15, KEY_F15, 0, "66" },
   { XK_F16, KEY_F16, 0, "67" },
   { XK_F17, KEY_F17, 0, "68" },
   { XK_F18, KEY_F18, 0, "69" },
   { XK_F19, KEY_F19, 0, "6a" },
   { XK_F20, KEY_F20, 0, "6b" },
   { XK_F21, KEY_F21, 0, "6c" },
   { XK_F22, KEY_F22, 0, "6d" },
   { XK_F23, KEY_F23, 0, "6e" },
   { XK_F24, KEY_F24, 0, "76" },
   { XK_Print, KEY_SYSRQ, 0, "e02ae037" },
   { XK_Sys_Req, KEY_SYSRQ, MKS_KEYSYM_ALT, "e02ae037" },
   { XK_Scroll_Lock, KEY_SCROLLLOCK, 0, "46" },
   { XK_Pause, KEY_PAUSE, 0, "e11d45e19dc5" },
   { XK_Break, KEY_PAUSE, MKS_KEYSYM_CTRL, "e11d45e19dc5" },
   /* editing and cursor blocks */
   { XK_Insert, KEY_INSERT, 0, "e052" },
   { XK_Home, KEY_HOME, 0, "e047" },
   { XK_Prior, KEY_PAGEUP, 0, "e049" },
   { XK_Delete, KEY_DELETE, 0, "e053" },
   { XK_End, KEY_END, 0, "e04f" },
   { XK_Next, KEY_PAGEDOWN, 0, "e051" },
   { XK_Up, KEY_UP, 0, "e048" },
   { XK_Left, KEY_LEFT, 0, "e04b" },
   { XK_Down, KEY_DOWN, 0, "e050" },
   { XK_Right, KEY_RIGHT, 0, "e04d" },
   /* keypad: Num Lock off symbol, then Num Lock on */
   { XK_Num_Lock, KEY_NUMLOCK, 0, "45" },
   { XK_KP_Divide, KEY_KPSLASH, 0, "e035" },
   { XK_KP_Multiply, KEY_KPASTERISK, 0, "37" },
   { XK_KP_Subtract, KEY_KPMINUS, 0, "4a" },
   { XK_KP_Home, KEY_KP7, NAV, "47" },
   { XK_KP_7, KEY_KP7, NUM, "47" },
   { XK_KP_Up, KEY_KP8, NAV, "48" },
   { XK_KP_8, KEY_KP8, NUM, "48" },
   { XK_KP_Prior, KEY_KP9, NAV, "49" },
   { XK_KP_9, KEY_KP9, NUM, "49" },
   { XK_KP_Add, KEY_KPPLUS, 0, "4e" },
   { XK_KP_Left, KEY_KP4, NAV, "4b" },
   { XK_KP_4, KEY_KP4, NUM, "4b" },
   { XK_KP_Begin, KEY_KP5, NAV, "4c" },
   { XK_KP_5, KEY_KP5, NUM, "4c" },
   { XK_KP_Right, KEY_KP6, NAV, "4d" },
   { XK_KP_6, KEY_KP6, NUM, "4d" },
   { XK_KP_End, KEY_KP1, NAV, "4f" },
   { XK_KP_1, KEY_KP1, NUM, "4f" },
   { XK_KP_Down, KEY_KP2, NAV, "50" },
   { XK_KP_2, KEY_KP2, NUM, "50" },
   { XK_KP_Next, KEY_KP3, NAV, "51" },
   { XK_KP_3, KEY_KP3, NUM, "51" },
   { XK_KP_Enter, KEY_KPENTER, 0, "e01c" },
   { XK_KP_Insert, KEY_KP0, NAV, "52" },
   { XK_KP_0, KEY_KP0, NUM, "52" },
   { XK_KP_Delete, KEY_KPDOT, NAV, "53" },
   { XK_KP_Decimal, KEY_KPDOT, NUM, "53" },
   { XK_KP_Separator, KEY_KPDOT, NUM, "53" },
   { XK_KP_Equal, KEY_KPEQUAL, 0, "59" },
   /* appendix C: ACPI and multimedia */
   { XF86XK_PowerOff, KEY_POWER, 0, "e05e" },
   { XF86XK_Sleep, KEY_SLEEP, 0, "e05f" },
   { XF86XK_WakeUp, KEY_WAKEUP, 0, "e063" },
   { XF86XK_AudioNext, KEY_NEXTSONG, 0, "e019" },
   { XF86XK_AudioPrev, KEY_PREVIOUSSONG, 0, "e010" },
   { XF86XK_AudioStop, KEY_STOPCD, 0, "e024" },
   { XF86XK_AudioPlay, KEY_PLAYPAUSE, 0, "e022" },
   { XF86XK_AudioPause, KEY_PLAYPAUSE, 0, "e022" },
   { XF86XK_AudioMute, KEY_MUTE, 0, "e020" },
   { XF86XK_AudioRaiseVolume, KEY_VOLUMEUP, 0, "e030" },
   { XF86XK_AudioLowerVolume, KEY_VOLUMEDOWN, 0, "e02e" },
   { XF86XK_AudioMedia, KEY_MEDIA, 0, "e06d" },
   { XF86XK_Mail, KEY_MAIL, 0, "e06c" },
   { XF86XK_Calculator, KEY_CALC, 0, "e021" },
   { XF86XK_MyComputer, KEY_COMPUTER, 0, "e06b" },
   { XF86XK_Search, KEY_SEARCH, 0, "e065" },
   { XF86XK_HomePage, KEY_HOMEPAGE, 0, "e032" },
   { XF86XK_Back, KEY_BACK, 0, "e06a" },
   { XF86XK_Forward, KEY_FORWARD, 0, "e069" },
   { XF86XK_Stop, KEY_STOP, 0, "e068" },
   { XF86XK_Refresh, KEY_REFRESH, 0, "e067" },
   { XF86XK_Favorites, KEY_BOOKMARKS, 0, "e066" },
};

/* Keys no US keysym names, with their set 1 make codes. */
static const struct {
   unsigned keycode;
   const char *make;
} keyonly[] = {
   { KEY_102ND, "56" },
   { KEY_RO, "73" },
   { KEY_YEN, "7d" },
};

static unsigned
hex(const char *s, uint8_t *out)
{
   unsigned n = 0;
   for (; s[0] && s[1]; s += 2) {
      out[n++] = (uint8_t)g_ascii_strtoull((char[]){ s[0], s[1], 0 }, NULL, 16);
   }
   return n;
}

/* The break code the specification gives for a key with this make code:
 * the last byte with bit 7 set (prefix kept); Print Screen releases in
 * reverse order; Pause has none. */
static unsigned
spec_break(unsigned keycode, const uint8_t *mk, unsigned n, uint8_t *out)
{
   if (keycode == KEY_PAUSE) {
      return 0;
   }
   if (keycode == KEY_SYSRQ) {
      return hex("e0b7e0aa", out);
   }
   memcpy(out, mk, n);
   out[n - 1] |= 0x80;
   return n;
}

static const char *
spec_make_for_key(unsigned keycode)
{
   for (unsigned i = 0; i < G_N_ELEMENTS(specs); i++) {
      if (specs[i].keycode == keycode) {
         return specs[i].make;
      }
   }
   for (unsigned i = 0; i < G_N_ELEMENTS(keyonly); i++) {
      if (keyonly[i].keycode == keycode) {
         return keyonly[i].make;
      }
   }
   return NULL;
}

static const spec *
spec_for_keysym(uint32_t ks)
{
   for (unsigned i = 0; i < G_N_ELEMENTS(specs); i++) {
      if (specs[i].keysym == ks) {
         return &specs[i];
      }
   }
   return NULL;
}

static void
test_spec_rows(void)
{
   for (unsigned i = 0; i < G_N_ELEMENTS(specs); i++) {
      const spec *s = &specs[i];
      mks_keysym_info info = { 0, 0 };
      if (!mks_keymap_keysym(s->keysym, &info)) {
         g_error("keysym 0x%x (row %u) not translated", s->keysym, i);
      }
      g_assert_cmpuint(info.keycode, ==, s->keycode);
      if (info.flags != s->flags) {
         g_error("keysym 0x%x: flags 0x%x, spec 0x%x", s->keysym, info.flags, s->flags);
      }
      uint8_t want[8], got[MKS_SET1_MAX], wbrk[8];
      unsigned wn = hex(s->make, want);
      unsigned gn = mks_keymap_set1(s->keycode, true, 0, got);
      g_assert_cmpmem(got, gn, want, wn);
      unsigned bn = spec_break(s->keycode, want, wn, wbrk);
      gn = mks_keymap_set1(s->keycode, false, 0, got);
      g_assert_cmpmem(got, gn, wbrk, bn);
   }
   for (unsigned i = 0; i < G_N_ELEMENTS(keyonly); i++) {
      uint8_t want[8], got[MKS_SET1_MAX];
      unsigned wn = hex(keyonly[i].make, want);
      unsigned gn = mks_keymap_set1(keyonly[i].keycode, true, 0, got);
      g_assert_cmpmem(got, gn, want, wn);
   }
}

/* Every keysym the translator accepts is a spec row: scan the whole
 * Latin-1, keyboard (0xfe00-0xffff), XF86 (0x1008ff00-0x1008ffff) and a
 * sample of other ranges. */
static void
test_no_unspecified_keysyms(void)
{
   static const uint32_t ranges[][2] = {
      { 0x0000, 0x10000 },           /* Latin-1 .. all 16-bit keysyms */
      { 0x1008fe00, 0x10090000 },    /* XF86 */
      { 0x01000000, 0x01000400 },    /* Unicode keysyms, first block */
   };
   unsigned accepted = 0;
   for (unsigned r = 0; r < G_N_ELEMENTS(ranges); r++) {
      for (uint32_t ks = ranges[r][0]; ks < ranges[r][1]; ks++) {
         mks_keysym_info info;
         if (mks_keymap_keysym(ks, &info)) {
            accepted++;
            if (!spec_for_keysym(ks)) {
               g_error("keysym 0x%x maps to key %u but is in no spec row", ks, info.keycode);
            }
         }
      }
   }
   g_assert_cmpuint(accepted, ==, G_N_ELEMENTS(specs));
   g_assert_cmpuint(mks_keymap_keysym_count(), ==, G_N_ELEMENTS(specs));
   for (unsigned i = 0; i < mks_keymap_keysym_count(); i++) {
      g_assert_nonnull(spec_for_keysym(mks_keymap_keysym_at(i)));
   }
   g_assert_cmpuint(mks_keymap_keysym_at(mks_keymap_keysym_count()), ==, 0);
}

/* Printable ASCII is the full set of US keyboard characters. */
static void
test_ascii_complete(void)
{
   for (uint32_t c = 0x20; c < 0x7f; c++) {
      mks_keysym_info info;
      g_assert_true(mks_keymap_keysym(c, &info));
      g_assert_true(mks_keymap_known(info.keycode));
   }
   /* Not on a US keyboard. */
   mks_keysym_info info;
   g_assert_false(mks_keymap_keysym(XK_eacute, &info));
   g_assert_false(mks_keymap_keysym(XK_EuroSign, &info));
   g_assert_false(mks_keymap_keysym(0x01000416, &info));   /* U+0416 */
   g_assert_false(mks_keymap_keysym(XK_VoidSymbol, &info));
   g_assert_false(mks_keymap_keysym(0, &info));
}

static void
test_key_table(void)
{
   unsigned n = mks_keymap_count();
   g_assert_cmpuint(n, >, 100);
   g_assert_cmpuint(mks_keymap_keycode(n), ==, 0);
   GHashTable *makes = g_hash_table_new(g_direct_hash, g_direct_equal);
   for (unsigned i = 0; i < n; i++) {
      unsigned k = mks_keymap_keycode(i);
      g_assert_cmpuint(k, >, 0);
      g_assert_cmpuint(k, <, 256);   /* keyinput.c keeps 256 bits */
      g_assert_true(mks_keymap_known(k));
      const char *mk = spec_make_for_key(k);
      if (!mk) {
         g_error("key %u has a set 1 code but no spec row", k);
      }
      uint8_t want[8], got[MKS_SET1_MAX];
      unsigned wn = hex(mk, want);
      unsigned gn = mks_keymap_set1(k, true, 0, got);
      g_assert_cmpmem(got, gn, want, wn);
      /* No two keys share a make code. */
      guint code = 0;
      for (unsigned j = 0; j < gn; j++) {
         code = code * 256u + got[j];
      }
      if (g_hash_table_contains(makes, GUINT_TO_POINTER(code))) {
         g_error("key %u repeats make code %x", k, code);
      }
      g_hash_table_add(makes, GUINT_TO_POINTER(code));
   }
   g_hash_table_destroy(makes);
   uint8_t out[MKS_SET1_MAX];
   g_assert_false(mks_keymap_known(KEY_RESERVED));
   g_assert_false(mks_keymap_known(KEY_MACRO));
   g_assert_cmpuint(mks_keymap_set1(KEY_MACRO, true, 0, out), ==, 0);
   g_assert_cmpuint(mks_keymap_set1(9999, true, 0, out), ==, 0);
}

/* The chipset's scancode table (another transcription, used by the PS/2
 * keyboard) agrees with ours on every key it has. */
static void
test_matches_chipset(void)
{
   /* ... and has every key we have: a key the MKS can name but the PS/2
    * keyboard cannot send would be dropped silently. */
   for (unsigned i = 0; i < mks_keymap_count(); i++) {
      unsigned k = mks_keymap_keycode(i);
      uint8_t a[PS2_SEQ_MAX];
      if (!ps2_scancode_seq(1, k, true, a)) {
         g_error("key %u is in the MKS keymap but not in the PS/2 keyboard's table", k);
      }
   }
   for (unsigned i = 0; i < ps2_scancode_count(); i++) {
      unsigned k = ps2_scancode_keycode(i);
      g_assert_true(mks_keymap_known(k));
      for (int down = 0; down < 2; down++) {
         uint8_t a[PS2_SEQ_MAX], b[MKS_SET1_MAX];
         unsigned na = ps2_scancode_seq(1, k, down, a);
         unsigned nb = mks_keymap_set1(k, down, 0, b);
         g_assert_cmpmem(a, na, b, nb);
      }
   }
}

static void
test_modifier_dependent(void)
{
   uint8_t out[MKS_SET1_MAX], want[8];
   unsigned n;
   /* Print Screen: Alt gives SysRq 54/D4; Shift or Ctrl drop the fake
    * shift. */
   n = mks_keymap_set1(KEY_SYSRQ, true, MKS_MOD_ALT, out);
   g_assert_cmpmem(out, n, want, hex("54", want));
   n = mks_keymap_set1(KEY_SYSRQ, false, MKS_MOD_ALT | MKS_MOD_SHIFT, out);
   g_assert_cmpmem(out, n, want, hex("d4", want));
   n = mks_keymap_set1(KEY_SYSRQ, true, MKS_MOD_SHIFT, out);
   g_assert_cmpmem(out, n, want, hex("e037", want));
   n = mks_keymap_set1(KEY_SYSRQ, false, MKS_MOD_CTRL, out);
   g_assert_cmpmem(out, n, want, hex("e0b7", want));
   /* Pause: Ctrl gives Break E0 46 E0 C6; neither has a break code. */
   n = mks_keymap_set1(KEY_PAUSE, true, MKS_MOD_CTRL, out);
   g_assert_cmpmem(out, n, want, hex("e046e0c6", want));
   g_assert_cmpuint(mks_keymap_set1(KEY_PAUSE, false, MKS_MOD_CTRL, out), ==, 0);
   g_assert_cmpuint(mks_keymap_set1(KEY_PAUSE, false, 0, out), ==, 0);
   /* Other keys ignore modifiers. */
   n = mks_keymap_set1(KEY_HOME, true, MKS_MOD_SHIFT | MKS_MOD_CTRL | MKS_MOD_ALT, out);
   g_assert_cmpmem(out, n, want, hex("e047", want));
}

static void
test_xkb_keycodes(void)
{
   g_assert_cmpuint(mks_keymap_xkb_keycode(KEY_A + 8), ==, KEY_A);
   g_assert_cmpuint(mks_keymap_xkb_keycode(9), ==, KEY_ESC);          /* X: Escape is 9 */
   g_assert_cmpuint(mks_keymap_xkb_keycode(KEY_MUTE + 8), ==, KEY_MUTE);
   g_assert_cmpuint(mks_keymap_xkb_keycode(7), ==, 0);
   g_assert_cmpuint(mks_keymap_xkb_keycode(0), ==, 0);
   g_assert_cmpuint(mks_keymap_xkb_keycode(KEY_MACRO + 8), ==, 0);
   unsigned mods = 0;
   for (unsigned k = 0; k < 256; k++) {
      mods += mks_keymap_is_modifier(k);
   }
   g_assert_cmpuint(mods, ==, 8);
   g_assert_true(mks_keymap_is_modifier(KEY_RIGHTMETA));
   g_assert_false(mks_keymap_is_modifier(KEY_CAPSLOCK));
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/mks/keymap/spec-rows", test_spec_rows);
   g_test_add_func("/mks/keymap/no-unspecified-keysyms", test_no_unspecified_keysyms);
   g_test_add_func("/mks/keymap/ascii-complete", test_ascii_complete);
   g_test_add_func("/mks/keymap/key-table", test_key_table);
   g_test_add_func("/mks/keymap/matches-chipset", test_matches_chipset);
   g_test_add_func("/mks/keymap/modifier-dependent", test_modifier_dependent);
   g_test_add_func("/mks/keymap/xkb-keycodes", test_xkb_keycodes);
   return g_test_run();
}
