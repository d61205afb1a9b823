/*
 * mks/console/keymap.h - host key events to PC keys.
 *
 * Two inputs:
 *   - X11 keysyms (what VNC clients send), for a US keyboard layout: each
 *     keysym names the key that carries it and whether it is that key's
 *     shifted symbol. 'a' and 'A' are both KEY_A, '1' and '!' both KEY_1;
 *     the flags say that 'A' and '!' imply Shift.
 *   - Linux input key codes (KEY_* of <linux/input-event-codes.h>), what
 *     the local console gets from evdev (an X11/XKB keycode minus 8).
 *
 * Output: the Linux key code, which is what the PS/2 keyboard device
 * takes (ps2kbd_key(); it produces set 1, 2 or 3 and the 8042 does the
 * translation), and the key's PC scancode set 1 sequence as the
 * Microsoft "Keyboard Scan Code Specification" (rev 1.3a) gives it,
 * including E0-prefixed keys, Print Screen (E0 2A E0 37) and Pause
 * (E1 1D 45 E1 9D C5, make only).
 *
 * Covered keys: the 104-key US layout (letters, digits, punctuation,
 * modifiers, F1-F12, editing and cursor blocks, keypad with '=', Windows
 * and Menu keys), the 102nd key, JIS Ro and Yen, F13-F24, ACPI Power,
 * Sleep and Wake, and the common multimedia and browser keys. Tables only,
 * no state: see keyinput.h for the stateful part (Shift fix-ups, releasing
 * held keys).
 */
#ifndef MKS_CONSOLE_KEYMAP_H
#define MKS_CONSOLE_KEYMAP_H

#include <stdbool.h>
#include <stdint.h>

/* The longest set 1 sequence (Pause). */
#define MKS_SET1_MAX 6

/* What a keysym says about the modifiers on a US layout. */
#define MKS_KEYSYM_SHIFT 0x01u     /* the key's shifted symbol ('!', 'A', '{') */
#define MKS_KEYSYM_LETTER 0x02u    /* a letter: Caps Lock swaps its two levels */
#define MKS_KEYSYM_NUMLOCK 0x04u   /* keypad digit or decimal: Num Lock on */
#define MKS_KEYSYM_KPNAV 0x08u     /* keypad navigation symbol: Num Lock off */
#define MKS_KEYSYM_ALT 0x10u       /* Sys_Req: Alt + Print Screen */
#define MKS_KEYSYM_CTRL 0x20u      /* Break: Ctrl + Pause */

typedef struct mks_keysym_info {
   unsigned keycode;   /* KEY_* */
   unsigned flags;     /* MKS_KEYSYM_* */
} mks_keysym_info;

/* The key for an X11 keysym; false for a keysym that is not on a US
 * keyboard (accented letters, other scripts, unknown values). */
bool mks_keymap_keysym(uint32_t keysym, mks_keysym_info *out);

/* Modifiers held down, for the keys whose set 1 codes depend on them. */
#define MKS_MOD_SHIFT 0x01u
#define MKS_MOD_CTRL 0x02u
#define MKS_MOD_ALT 0x04u

/* The set 1 bytes of a key going down (make) or up (break); returns the
 * count, 0 for an unknown key and for Pause's break (it has none).
 * mods (MKS_MOD_*) change only the two keys the specification says they
 * change: Print Screen is E0 37 / E0 B7 with Shift or Ctrl and 54 / D4
 * (SysRq) with Alt; Pause is E0 46 E0 C6 (Break) with Ctrl. The "fake
 * shift" codes the specification adds around the editing keys in some
 * Num Lock and Shift states are not generated (no guest needs them, and
 * the PS/2 keyboard device does not send them either). */
unsigned mks_keymap_set1(unsigned keycode, bool down, unsigned mods, uint8_t out[MKS_SET1_MAX]);

/* True when the key code is in the table (has a set 1 code). */
bool mks_keymap_known(unsigned keycode);

/* The local console: an XKB/X11 hardware keycode (evdev code + 8) to the
 * Linux key code, 0 when the key is not in the table. */
unsigned mks_keymap_xkb_keycode(unsigned xkb_keycode);

/* Key codes of the modifier keys (Shift, Ctrl, Alt, Meta, both sides). */
bool mks_keymap_is_modifier(unsigned keycode);

/* The table, for tests and tools: how many keys and the key code of
 * entry i (0 past the end). */
unsigned mks_keymap_count(void);
unsigned mks_keymap_keycode(unsigned i);

/* Every keysym the translator knows, and how many (for tests). */
unsigned mks_keymap_keysym_count(void);
uint32_t mks_keymap_keysym_at(unsigned i);

#endif
