/*
 * vmx/dev/chipset/ps2kbd.h - PS/2 keyboard on the i8042's keyboard port.
 *
 * Host side: the MKS reports keys with ps2kbd_key() using Linux input key
 * codes (KEY_* of <linux/input-event-codes.h>; an X11/evdev keycode minus
 * 8). The keyboard turns them into the scancode set the guest selected
 * (1, 2 or 3; scancodes.h). A key reported down again while already down
 * is a typematic repeat: it sends the make code again (set 3 only for
 * keys in a typematic mode); the host's own auto-repeat drives the rate.
 * Keys are dropped while scanning is disabled.
 *
 * Guest side (bytes through the i8042): 0xed LEDs, 0xee echo, 0xf0 get/set
 * scancode set (0 reports the current set), 0xf2 identify (0xab 0x83),
 * 0xf3 typematic rate/delay, 0xf4 enable, 0xf5 disable and restore
 * defaults, 0xf6 defaults, 0xf7-0xfa all keys typematic / make-break /
 * make / typematic-make-break (set 3), 0xfb-0xfd per-key modes (a list of
 * set 3 codes follows), 0xfe resend, 0xff reset (0xfa, then BAT 0xaa).
 * Other bytes answer 0xfe. Any command clears the keyboard's output
 * buffer, as the hardware does; a command byte where a parameter was
 * expected is taken as the new command. When its 64-byte buffer cannot
 * take a whole key sequence the keyboard drops it and queues the overrun
 * code (0xff in set 1, 0x00 in sets 2 and 3) once.
 *
 * Defaults (power-on, 0xf6): set 2, typematic 0x2b (10.9 cps, 500 ms),
 * every set 3 key typematic make/break, LEDs off, scanning on.
 */
#ifndef VMX_DEV_CHIPSET_PS2KBD_H
#define VMX_DEV_CHIPSET_PS2KBD_H

#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct ps2kbd ps2kbd;

#define PS2KBD_LED_SCROLL 0x01
#define PS2KBD_LED_NUM 0x02
#define PS2KBD_LED_CAPS 0x04

ps2kbd *ps2kbd_get(vmx_platform *p);
/* A host key event; false when the key has no code in the current set or
 * the keyboard is not scanning. */
bool ps2kbd_key(ps2kbd *k, unsigned keycode, bool down);
/* The LEDs the guest set (PS2KBD_LED_*). */
uint8_t ps2kbd_leds(ps2kbd *k);

#endif
