/*
 * vmx/dev/chipset/scancodes.h - PC keyboard scancode sets 1, 2 and 3 for
 * Linux input key codes (KEY_* of <linux/input-event-codes.h>), and the
 * i8042's set 2 -> set 1 translation table derived from them.
 *
 * Covered: the 104/105-key PC layout (letters, digits, punctuation,
 * modifiers, function keys F1-F12, editing and cursor blocks, keypad,
 * Windows and Menu keys, the 102nd key), Print Screen, Pause, the JIS
 * Ro and Yen keys, and the ACPI Power, Sleep and Wake keys (sets 1 and 2
 * only: set 3 has no codes for them).
 */
#ifndef VMX_DEV_CHIPSET_SCANCODES_H
#define VMX_DEV_CHIPSET_SCANCODES_H

#include <stdbool.h>
#include <stdint.h>

#define PS2_SEQ_MAX 8

/* The bytes set 1 or 2 sends for a key going down (make) or up (break);
 * 0 when the key has no code in that set or sends nothing (Pause has no
 * break). set must be 1 or 2. */
unsigned ps2_scancode_seq(unsigned set, unsigned keycode, bool down, uint8_t out[PS2_SEQ_MAX]);
/* The key's set 3 code, 0 if none. */
uint8_t ps2_scancode_set3(unsigned keycode);
/* True for keys whose make code does not repeat (Pause). */
bool ps2_scancode_no_repeat(unsigned keycode);
/* The 8042's translation of each byte from the keyboard (set 2 -> set 1),
 * without the F0 break prefix, which the controller handles. */
uint8_t ps2_xlat(uint8_t b);
/* How many keys the table has, and the key code of entry i (for tests). */
unsigned ps2_scancode_count(void);
unsigned ps2_scancode_keycode(unsigned i);

#endif
