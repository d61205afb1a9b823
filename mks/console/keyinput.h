/*
 * mks/console/keyinput.h - key events from a host source (a VNC client,
 * the local console) to the guest keyboard, with the state a keysym
 * source needs.
 *
 * Keysyms name symbols, not keys. keymap.h turns a symbol into the US key
 * that carries it and says whether it is that key's shifted symbol; this
 * object makes the guest see the symbol the client meant:
 *   - a shifted symbol ('!', '{', Shift+Tab) arriving with no Shift down
 *     is sent as Shift down, key down, Shift up;
 *   - an unshifted printable symbol ('1', '[') arriving while Shift is
 *     down is sent with the held Shift keys released around the key down
 *     and pressed again after it (clients with non-US layouts do this);
 *   - letters follow the same rule when the guest's Caps Lock state is
 *     known (the caps callback): 'A' needs Shift XOR Caps Lock;
 *   - no fix-up while Ctrl, Alt, AltGr or a Windows key is held, so
 *     shortcuts reach the guest as typed; keys without a second symbol
 *     (Space, arrows, F-keys, keypad) never get one.
 * A key's release is sent as is. Key codes (the local console's evdev
 * path) go through unchanged. The object remembers which keys are down
 * so a client that goes away, or a console that loses focus, can release
 * them (mks_keyinput_release_all).
 *
 * Thread safety: every function may be called from any thread; calls are
 * serialised by an internal mutex that is held while emit runs, so emit
 * must not call back into the same object.
 */
#ifndef MKS_CONSOLE_KEYINPUT_H
#define MKS_CONSOLE_KEYINPUT_H

#include "vmx/dev/chipset/ps2kbd.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct mks_keyinput mks_keyinput;

/* A Linux key code (KEY_*) going down or up in the guest. */
typedef void (*mks_keyinput_emit_fn)(void *opaque, unsigned keycode, bool down);
/* Whether the guest has Caps Lock on (its keyboard LED). */
typedef bool (*mks_keyinput_caps_fn)(void *opaque);

/* caps may be NULL (letters then get no fix-up). */
mks_keyinput *mks_keyinput_new(mks_keyinput_emit_fn emit, mks_keyinput_caps_fn caps,
                               void *opaque);
/* Keys to a PS/2 keyboard (ps2kbd_key), Caps Lock from its LEDs. */
mks_keyinput *mks_keyinput_new_ps2kbd(ps2kbd *kbd);
/* Does not release held keys: call mks_keyinput_release_all first if the
 * guest keyboard stays. */
void mks_keyinput_free(mks_keyinput *ki);

/* An X11 keysym event. False (and nothing sent) when the keysym is not on
 * a US keyboard; the first few such keysyms are logged. */
bool mks_keyinput_keysym(mks_keyinput *ki, uint32_t keysym, bool down);
/* A Linux key code event (local console). False for a key not in the
 * table. */
bool mks_keyinput_key(mks_keyinput *ki, unsigned keycode, bool down);
/* Send a release for every key still down, modifiers last. */
void mks_keyinput_release_all(mks_keyinput *ki);
/* Whether the guest was last told the key is down. */
bool mks_keyinput_is_down(mks_keyinput *ki, unsigned keycode);

#endif
