/*
 * mks/console/keymap.c - keysym and key code tables. See keymap.h.
 *
 * Sources: X11 keysym values from <X11/keysymdef.h> and <X11/XF86keysym.h>;
 * the US layout's two levels per key as xkeyboard-config's "us" symbols
 * define them; set 1 scancodes from Microsoft's Keyboard Scan Code
 * Specification rev 1.3a (appendix A for the 104 keys, appendix C for the
 * ACPI and multimedia keys).
 */
#include "mks/console/keymap.h"

#include <X11/XF86keysym.h>
#include <X11/keysym.h>
#include <linux/input-event-codes.h>
#include <stddef.h>

/* ---- keys: Linux key code -> set 1 */

#define E0 0x01u      /* set 1 code is prefixed by 0xe0 */
#define SPECIAL 0x02u /* Pause and Print Screen: see mks_keymap_set1() */

typedef struct key {
   uint16_t keycode;
   uint8_t s1;
   uint8_t flags;
} key;

static const key keys[] = {
   /* row 0: Esc and function keys */
   { KEY_ESC, 0x01, 0 },
   { KEY_F1, 0x3b, 0 },
   { KEY_F2, 0x3c, 0 },
   { KEY_F3, 0x3d, 0 },
   { KEY_F4, 0x3e, 0 },
   { KEY_F5, 0x3f, 0 },
   { KEY_F6, 0x40, 0 },
   { KEY_F7, 0x41, 0 },
   { KEY_F8, 0x42, 0 },
   { KEY_F9, 0x43, 0 },
   { KEY_F10, 0x44, 0 },
   { KEY_F11, 0x57, 0 },
   { KEY_F12, 0x58, 0 },
   { KEY_SYSRQ, 0x37, E0 | SPECIAL },   /* Print Screen */
   { KEY_SCROLLLOCK, 0x46, 0 },
   { KEY_PAUSE, 0x45, SPECIAL },
   /* row 1: digits */
   { KEY_GRAVE, 0x29, 0 },
   { KEY_1, 0x02, 0 },
   { KEY_2, 0x03, 0 },
   { KEY_3, 0x04, 0 },
   { KEY_4, 0x05, 0 },
   { KEY_5, 0x06, 0 },
   { KEY_6, 0x07, 0 },
   { KEY_7, 0x08, 0 },
   { KEY_8, 0x09, 0 },
   { KEY_9, 0x0a, 0 },
   { KEY_0, 0x0b, 0 },
   { KEY_MINUS, 0x0c, 0 },
   { KEY_EQUAL, 0x0d, 0 },
   { KEY_BACKSPACE, 0x0e, 0 },
   /* row 2 */
   { KEY_TAB, 0x0f, 0 },
   { KEY_Q, 0x10, 0 },
   { KEY_W, 0x11, 0 },
   { KEY_E, 0x12, 0 },
   { KEY_R, 0x13, 0 },
   { KEY_T, 0x14, 0 },
   { KEY_Y, 0x15, 0 },
   { KEY_U, 0x16, 0 },
   { KEY_I, 0x17, 0 },
   { KEY_O, 0x18, 0 },
   { KEY_P, 0x19, 0 },
   { KEY_LEFTBRACE, 0x1a, 0 },
   { KEY_RIGHTBRACE, 0x1b, 0 },
   { KEY_BACKSLASH, 0x2b, 0 },
   /* row 3 */
   { KEY_CAPSLOCK, 0x3a, 0 },
   { KEY_A, 0x1e, 0 },
   { KEY_S, 0x1f, 0 },
   { KEY_D, 0x20, 0 },
   { KEY_F, 0x21, 0 },
   { KEY_G, 0x22, 0 },
   { KEY_H, 0x23, 0 },
   { KEY_J, 0x24, 0 },
   { KEY_K, 0x25, 0 },
   { KEY_L, 0x26, 0 },
   { KEY_SEMICOLON, 0x27, 0 },
   { KEY_APOSTROPHE, 0x28, 0 },
   { KEY_ENTER, 0x1c, 0 },
   /* row 4 */
   { KEY_LEFTSHIFT, 0x2a, 0 },
   { KEY_102ND, 0x56, 0 },
   { KEY_Z, 0x2c, 0 },
   { KEY_X, 0x2d, 0 },
   { KEY_C, 0x2e, 0 },
   { KEY_V, 0x2f, 0 },
   { KEY_B, 0x30, 0 },
   { KEY_N, 0x31, 0 },
   { KEY_M, 0x32, 0 },
   { KEY_COMMA, 0x33, 0 },
   { KEY_DOT, 0x34, 0 },
   { KEY_SLASH, 0x35, 0 },
   { KEY_RIGHTSHIFT, 0x36, 0 },
   /* row 5 */
   { KEY_LEFTCTRL, 0x1d, 0 },
   { KEY_LEFTMETA, 0x5b, E0 },
   { KEY_LEFTALT, 0x38, 0 },
   { KEY_SPACE, 0x39, 0 },
   { KEY_RIGHTALT, 0x38, E0 },
   { KEY_RIGHTMETA, 0x5c, E0 },
   { KEY_COMPOSE, 0x5d, E0 },   /* Menu / Application */
   { KEY_RIGHTCTRL, 0x1d, E0 },
   /* editing and cursor blocks */
   { KEY_INSERT, 0x52, E0 },
   { KEY_HOME, 0x47, E0 },
   { KEY_PAGEUP, 0x49, E0 },
   { KEY_DELETE, 0x53, E0 },
   { KEY_END, 0x4f, E0 },
   { KEY_PAGEDOWN, 0x51, E0 },
   { KEY_UP, 0x48, E0 },
   { KEY_LEFT, 0x4b, E0 },
   { KEY_DOWN, 0x50, E0 },
   { KEY_RIGHT, 0x4d, E0 },
   /* keypad */
   { KEY_NUMLOCK, 0x45, 0 },
   { KEY_KPSLASH, 0x35, E0 },
   { KEY_KPASTERISK, 0x37, 0 },
   { KEY_KPMINUS, 0x4a, 0 },
   { KEY_KP7, 0x47, 0 },
   { KEY_KP8, 0x48, 0 },
   { KEY_KP9, 0x49, 0 },
   { KEY_KPPLUS, 0x4e, 0 },
   { KEY_KP4, 0x4b, 0 },
   { KEY_KP5, 0x4c, 0 },
   { KEY_KP6, 0x4d, 0 },
   { KEY_KP1, 0x4f, 0 },
   { KEY_KP2, 0x50, 0 },
   { KEY_KP3, 0x51, 0 },
   { KEY_KPENTER, 0x1c, E0 },
   { KEY_KP0, 0x52, 0 },
   { KEY_KPDOT, 0x53, 0 },
   { KEY_KPEQUAL, 0x59, 0 },
   /* JIS keys the PS/2 keyboard also has */
   { KEY_RO, 0x73, 0 },
   { KEY_YEN, 0x7d, 0 },
   /* F13-F24 */
   { KEY_F13, 0x64, 0 },
   { KEY_F14, 0x65, 0 },
   { KEY_F15, 0x66, 0 },
   { KEY_F16, 0x67, 0 },
   { KEY_F17, 0x68, 0 },
   { KEY_F18, 0x69, 0 },
   { KEY_F19, 0x6a, 0 },
   { KEY_F20, 0x6b, 0 },
   { KEY_F21, 0x6c, 0 },
   { KEY_F22, 0x6d, 0 },
   { KEY_F23, 0x6e, 0 },
   { KEY_F24, 0x76, 0 },
   /* ACPI */
   { KEY_POWER, 0x5e, E0 },
   { KEY_SLEEP, 0x5f, E0 },
   { KEY_WAKEUP, 0x63, E0 },
   /* multimedia and browser keys */
   { KEY_PREVIOUSSONG, 0x10, E0 },
   { KEY_NEXTSONG, 0x19, E0 },
   { KEY_MUTE, 0x20, E0 },
   { KEY_CALC, 0x21, E0 },
   { KEY_PLAYPAUSE, 0x22, E0 },
   { KEY_STOPCD, 0x24, E0 },
   { KEY_VOLUMEDOWN, 0x2e, E0 },
   { KEY_VOLUMEUP, 0x30, E0 },
   { KEY_HOMEPAGE, 0x32, E0 },
   { KEY_SEARCH, 0x65, E0 },
   { KEY_BOOKMARKS, 0x66, E0 },
   { KEY_REFRESH, 0x67, E0 },
   { KEY_STOP, 0x68, E0 },
   { KEY_FORWARD, 0x69, E0 },
   { KEY_BACK, 0x6a, E0 },
   { KEY_COMPUTER, 0x6b, E0 },
   { KEY_MAIL, 0x6c, E0 },
   { KEY_MEDIA, 0x6d, E0 },
};

#define NKEYS (sizeof keys / sizeof keys[0])

static const key *
key_lookup(unsigned keycode)
{
   for (size_t i = 0; i < NKEYS; i++) {
      if (keys[i].keycode == keycode) {
         return &keys[i];
      }
   }
   return NULL;
}

unsigned
mks_keymap_count(void)
{
   return (unsigned)NKEYS;
}

unsigned
mks_keymap_keycode(unsigned i)
{
   return i < NKEYS ? keys[i].keycode : 0;
}

bool
mks_keymap_known(unsigned keycode)
{
   return key_lookup(keycode) != NULL;
}

unsigned
mks_keymap_xkb_keycode(unsigned xkb_keycode)
{
   if (xkb_keycode < 8 || !key_lookup(xkb_keycode - 8)) {
      return 0;
   }
   return xkb_keycode - 8;
}

bool
mks_keymap_is_modifier(unsigned keycode)
{
   switch (keycode) {
   case KEY_LEFTSHIFT:
   case KEY_RIGHTSHIFT:
   case KEY_LEFTCTRL:
   case KEY_RIGHTCTRL:
   case KEY_LEFTALT:
   case KEY_RIGHTALT:
   case KEY_LEFTMETA:
   case KEY_RIGHTMETA:
      return true;
   default:
      return false;
   }
}

static unsigned
put(uint8_t out[MKS_SET1_MAX], const uint8_t *s, unsigned n)
{
   for (unsigned i = 0; i < n; i++) {
      out[i] = s[i];
   }
   return n;
}

unsigned
mks_keymap_set1(unsigned keycode, bool down, unsigned mods, uint8_t out[MKS_SET1_MAX])
{
   const key *k = key_lookup(keycode);
   if (!k) {
      return 0;
   }
   if (keycode == KEY_PAUSE) {
      /* Make only; the key sends nothing when released. */
      static const uint8_t pause[] = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };
      static const uint8_t brk[] = { 0xe0, 0x46, 0xe0, 0xc6 };
      if (!down) {
         return 0;
      }
      return (mods & MKS_MOD_CTRL) ? put(out, brk, sizeof brk) : put(out, pause, sizeof pause);
   }
   if (keycode == KEY_SYSRQ) {
      if (mods & MKS_MOD_ALT) {
         out[0] = down ? 0x54 : 0xd4;
         return 1;
      }
      if (mods & (MKS_MOD_SHIFT | MKS_MOD_CTRL)) {
         static const uint8_t mk[] = { 0xe0, 0x37 }, br[] = { 0xe0, 0xb7 };
         return put(out, down ? mk : br, 2);
      }
      static const uint8_t mk[] = { 0xe0, 0x2a, 0xe0, 0x37 }, br[] = { 0xe0, 0xb7, 0xe0, 0xaa };
      return put(out, down ? mk : br, 4);
   }
   unsigned n = 0;
   if (k->flags & E0) {
      out[n++] = 0xe0;
   }
   out[n++] = (uint8_t)(k->s1 | (down ? 0 : 0x80));
   return n;
}

/* ---- keysyms -> keys */

#define S MKS_KEYSYM_SHIFT
#define L MKS_KEYSYM_LETTER
#define NUM MKS_KEYSYM_NUMLOCK
#define NAV MKS_KEYSYM_KPNAV

typedef struct sym {
   uint32_t keysym;
   uint16_t keycode;
   uint8_t flags;
} sym;

static const sym syms[] = {
   /* Latin-1, in keysym (= ASCII) order */
   { XK_space, KEY_SPACE, 0 },
   { XK_exclam, KEY_1, S },
   { XK_quotedbl, KEY_APOSTROPHE, S },
   { XK_numbersign, KEY_3, S },
   { XK_dollar, KEY_4, S },
   { XK_percent, KEY_5, S },
   { XK_ampersand, KEY_7, S },
   { XK_apostrophe, KEY_APOSTROPHE, 0 },
   { XK_parenleft, KEY_9, S },
   { XK_parenright, KEY_0, S },
   { XK_asterisk, KEY_8, S },
   { XK_plus, KEY_EQUAL, S },
   { XK_comma, KEY_COMMA, 0 },
   { XK_minus, KEY_MINUS, 0 },
   { XK_period, KEY_DOT, 0 },
   { XK_slash, KEY_SLASH, 0 },
   { XK_0, KEY_0, 0 },
   { XK_1, KEY_1, 0 },
   { XK_2, KEY_2, 0 },
   { XK_3, KEY_3, 0 },
   { XK_4, KEY_4, 0 },
   { XK_5, KEY_5, 0 },
   { XK_6, KEY_6, 0 },
   { XK_7, KEY_7, 0 },
   { XK_8, KEY_8, 0 },
   { XK_9, KEY_9, 0 },
   { XK_colon, KEY_SEMICOLON, S },
   { XK_semicolon, KEY_SEMICOLON, 0 },
   { XK_less, KEY_COMMA, S },
   { XK_equal, KEY_EQUAL, 0 },
   { XK_greater, KEY_DOT, S },
   { XK_question, KEY_SLASH, S },
   { XK_at, KEY_2, S },
   { XK_A, KEY_A, S | L },
   { XK_B, KEY_B, S | L },
   { XK_C, KEY_C, S | L },
   { XK_D, KEY_D, S | L },
   { XK_E, KEY_E, S | L },
   { XK_F, KEY_F, S | L },
   { XK_G, KEY_G, S | L },
   { XK_H, KEY_H, S | L },
   { XK_I, KEY_I, S | L },
   { XK_J, KEY_J, S | L },
   { XK_K, KEY_K, S | L },
   { XK_L, KEY_L, S | L },
   { XK_M, KEY_M, S | L },
   { XK_N, KEY_N, S | L },
   { XK_O, KEY_O, S | L },
   { XK_P, KEY_P, S | L },
   { XK_Q, KEY_Q, S | L },
   { XK_R, KEY_R, S | L },
   { XK_S, KEY_S, S | L },
   { XK_T, KEY_T, S | L },
   { XK_U, KEY_U, S | L },
   { XK_V, KEY_V, S | L },
   { XK_W, KEY_W, S | L },
   { XK_X, KEY_X, S | L },
   { XK_Y, KEY_Y, S | L },
   { XK_Z, KEY_Z, S | L },
   { XK_bracketleft, KEY_LEFTBRACE, 0 },
   { XK_backslash, KEY_BACKSLASH, 0 },
   { XK_bracketright, KEY_RIGHTBRACE, 0 },
   { XK_asciicircum, KEY_6, S },
   { XK_underscore, KEY_MINUS, S },
   { XK_grave, KEY_GRAVE, 0 },
   { XK_a, KEY_A, L },
   { XK_b, KEY_B, L },
   { XK_c, KEY_C, L },
   { XK_d, KEY_D, L },
   { XK_e, KEY_E, L },
   { XK_f, KEY_F, L },
   { XK_g, KEY_G, L },
   { XK_h, KEY_H, L },
   { XK_i, KEY_I, L },
   { XK_j, KEY_J, L },
   { XK_k, KEY_K, L },
   { XK_l, KEY_L, L },
   { XK_m, KEY_M, L },
   { XK_n, KEY_N, L },
   { XK_o, KEY_O, L },
   { XK_p, KEY_P, L },
   { XK_q, KEY_Q, L },
   { XK_r, KEY_R, L },
   { XK_s, KEY_S, L },
   { XK_t, KEY_T, L },
   { XK_u, KEY_U, L },
   { XK_v, KEY_V, L },
   { XK_w, KEY_W, L },
   { XK_x, KEY_X, L },
   { XK_y, KEY_Y, L },
   { XK_z, KEY_Z, L },
   { XK_braceleft, KEY_LEFTBRACE, S },
   { XK_bar, KEY_BACKSLASH, S },
   { XK_braceright, KEY_RIGHTBRACE, S },
   { XK_asciitilde, KEY_GRAVE, S },

   /* TTY function keys */
   { XK_BackSpace, KEY_BACKSPACE, 0 },
   { XK_Tab, KEY_TAB, 0 },
   { XK_ISO_Left_Tab, KEY_TAB, S },   /* what X sends for Shift+Tab */
   { XK_Return, KEY_ENTER, 0 },
   { XK_Pause, KEY_PAUSE, 0 },
   { XK_Break, KEY_PAUSE, MKS_KEYSYM_CTRL },
   { XK_Scroll_Lock, KEY_SCROLLLOCK, 0 },
   { XK_Sys_Req, KEY_SYSRQ, MKS_KEYSYM_ALT },
   { XK_Escape, KEY_ESC, 0 },
   { XK_Delete, KEY_DELETE, 0 },

   /* cursor control */
   { XK_Home, KEY_HOME, 0 },
   { XK_Left, KEY_LEFT, 0 },
   { XK_Up, KEY_UP, 0 },
   { XK_Right, KEY_RIGHT, 0 },
   { XK_Down, KEY_DOWN, 0 },
   { XK_Prior, KEY_PAGEUP, 0 },
   { XK_Next, KEY_PAGEDOWN, 0 },
   { XK_End, KEY_END, 0 },

   /* misc functions */
   { XK_Print, KEY_SYSRQ, 0 },
   { XK_Insert, KEY_INSERT, 0 },
   { XK_Menu, KEY_COMPOSE, 0 },
   { XK_Num_Lock, KEY_NUMLOCK, 0 },

   /* keypad */
   { XK_KP_Enter, KEY_KPENTER, 0 },
   { XK_KP_Home, KEY_KP7, NAV },
   { XK_KP_Left, KEY_KP4, NAV },
   { XK_KP_Up, KEY_KP8, NAV },
   { XK_KP_Right, KEY_KP6, NAV },
   { XK_KP_Down, KEY_KP2, NAV },
   { XK_KP_Prior, KEY_KP9, NAV },
   { XK_KP_Next, KEY_KP3, NAV },
   { XK_KP_End, KEY_KP1, NAV },
   { XK_KP_Begin, KEY_KP5, NAV },
   { XK_KP_Insert, KEY_KP0, NAV },
   { XK_KP_Delete, KEY_KPDOT, NAV },
   { XK_KP_Equal, KEY_KPEQUAL, 0 },
   { XK_KP_Multiply, KEY_KPASTERISK, 0 },
   { XK_KP_Add, KEY_KPPLUS, 0 },
   { XK_KP_Separator, KEY_KPDOT, NUM },   /* the decimal key in comma locales */
   { XK_KP_Subtract, KEY_KPMINUS, 0 },
   { XK_KP_Decimal, KEY_KPDOT, NUM },
   { XK_KP_Divide, KEY_KPSLASH, 0 },
   { XK_KP_0, KEY_KP0, NUM },
   { XK_KP_1, KEY_KP1, NUM },
   { XK_KP_2, KEY_KP2, NUM },
   { XK_KP_3, KEY_KP3, NUM },
   { XK_KP_4, KEY_KP4, NUM },
   { XK_KP_5, KEY_KP5, NUM },
   { XK_KP_6, KEY_KP6, NUM },
   { XK_KP_7, KEY_KP7, NUM },
   { XK_KP_8, KEY_KP8, NUM },
   { XK_KP_9, KEY_KP9, NUM },

   /* function keys */
   { XK_F1, KEY_F1, 0 },
   { XK_F2, KEY_F2, 0 },
   { XK_F3, KEY_F3, 0 },
   { XK_F4, KEY_F4, 0 },
   { XK_F5, KEY_F5, 0 },
   { XK_F6, KEY_F6, 0 },
   { XK_F7, KEY_F7, 0 },
   { XK_F8, KEY_F8, 0 },
   { XK_F9, KEY_F9, 0 },
   { XK_F10, KEY_F10, 0 },
   { XK_F11, KEY_F11, 0 },
   { XK_F12, KEY_F12, 0 },
   { XK_F13, KEY_F13, 0 },
   { XK_F14, KEY_F14, 0 },
   { XK_F15, KEY_F15, 0 },
   { XK_F16, KEY_F16, 0 },
   { XK_F17, KEY_F17, 0 },
   { XK_F18, KEY_F18, 0 },
   { XK_F19, KEY_F19, 0 },
   { XK_F20, KEY_F20, 0 },
   { XK_F21, KEY_F21, 0 },
   { XK_F22, KEY_F22, 0 },
   { XK_F23, KEY_F23, 0 },
   { XK_F24, KEY_F24, 0 },

   /* modifiers */
   { XK_Shift_L, KEY_LEFTSHIFT, 0 },
   { XK_Shift_R, KEY_RIGHTSHIFT, 0 },
   { XK_Control_L, KEY_LEFTCTRL, 0 },
   { XK_Control_R, KEY_RIGHTCTRL, 0 },
   { XK_Caps_Lock, KEY_CAPSLOCK, 0 },
   { XK_Meta_L, KEY_LEFTALT, 0 },    /* Alt on X servers that call it Meta */
   { XK_Meta_R, KEY_RIGHTALT, 0 },
   { XK_Alt_L, KEY_LEFTALT, 0 },
   { XK_Alt_R, KEY_RIGHTALT, 0 },
   { XK_Super_L, KEY_LEFTMETA, 0 },
   { XK_Super_R, KEY_RIGHTMETA, 0 },
   { XK_ISO_Level3_Shift, KEY_RIGHTALT, 0 },   /* AltGr */
   { XK_Mode_switch, KEY_RIGHTALT, 0 },
   { XK_Multi_key, KEY_COMPOSE, 0 },

   /* ACPI, multimedia and browser keys */
   { XF86XK_PowerOff, KEY_POWER, 0 },
   { XF86XK_Sleep, KEY_SLEEP, 0 },
   { XF86XK_WakeUp, KEY_WAKEUP, 0 },
   { XF86XK_AudioMute, KEY_MUTE, 0 },
   { XF86XK_AudioLowerVolume, KEY_VOLUMEDOWN, 0 },
   { XF86XK_AudioRaiseVolume, KEY_VOLUMEUP, 0 },
   { XF86XK_AudioPlay, KEY_PLAYPAUSE, 0 },
   { XF86XK_AudioPause, KEY_PLAYPAUSE, 0 },   /* PC keyboards have one key */
   { XF86XK_AudioStop, KEY_STOPCD, 0 },
   { XF86XK_AudioPrev, KEY_PREVIOUSSONG, 0 },
   { XF86XK_AudioNext, KEY_NEXTSONG, 0 },
   { XF86XK_AudioMedia, KEY_MEDIA, 0 },
   { XF86XK_Mail, KEY_MAIL, 0 },
   { XF86XK_Calculator, KEY_CALC, 0 },
   { XF86XK_MyComputer, KEY_COMPUTER, 0 },
   { XF86XK_Search, KEY_SEARCH, 0 },
   { XF86XK_HomePage, KEY_HOMEPAGE, 0 },
   { XF86XK_Back, KEY_BACK, 0 },
   { XF86XK_Forward, KEY_FORWARD, 0 },
   { XF86XK_Stop, KEY_STOP, 0 },
   { XF86XK_Refresh, KEY_REFRESH, 0 },
   { XF86XK_Favorites, KEY_BOOKMARKS, 0 },
};

#define NSYMS (sizeof syms / sizeof syms[0])

bool
mks_keymap_keysym(uint32_t keysym, mks_keysym_info *out)
{
   for (size_t i = 0; i < NSYMS; i++) {
      if (syms[i].keysym == keysym) {
         out->keycode = syms[i].keycode;
         out->flags = syms[i].flags;
         return true;
      }
   }
   return false;
}

unsigned
mks_keymap_keysym_count(void)
{
   return (unsigned)NSYMS;
}

uint32_t
mks_keymap_keysym_at(unsigned i)
{
   return i < NSYMS ? syms[i].keysym : 0;
}
