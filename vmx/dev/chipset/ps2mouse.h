/*
 * vmx/dev/chipset/ps2mouse.h - PS/2 mouse on the i8042's auxiliary port.
 *
 * Host side: ps2mouse_move(dx, dy, dz, buttons) with screen conventions:
 * dx > 0 right, dy > 0 down, dz > 0 wheel turned away from the user
 * (scroll up); buttons PS2MOUSE_BUTTON_*. Motion accumulates and goes out
 * in packets as the guest's controller takes them (a large move becomes
 * several packets, no overflow bits); a button change flushes a packet at
 * once.
 *
 * Protocols: standard 3-byte packets (ID 0); IntelliMouse (ID 3, 4 bytes,
 * wheel -8..7) after the sample rate sequence 200, 100, 80; IntelliMouse
 * Explorer (ID 4, wheel in 4 bits plus buttons 4 and 5) after 200, 200, 80
 * from ID 3.
 *
 * Guest commands: 0xe6/0xe7 scaling 1:1 / 2:1 (stream reports only), 0xe8
 * resolution (0-3), 0xe9 status (3 bytes), 0xea stream mode, 0xeb read
 * data (one packet), 0xec/0xee leave/enter wrap mode (echo), 0xf0 remote
 * mode, 0xf2 device ID, 0xf3 sample rate (10, 20, 40, 60, 80, 100, 200),
 * 0xf4/0xf5 data reporting on/off, 0xf6 defaults, 0xfe resend, 0xff reset
 * (0xfa 0xaa 0x00, back to ID 0). A bad parameter or command answers 0xfe.
 * Resolution and sample rate are kept and reported; motion is passed in
 * host pixels, not rescaled or rate-limited.
 */
#ifndef VMX_DEV_CHIPSET_PS2MOUSE_H
#define VMX_DEV_CHIPSET_PS2MOUSE_H

#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct ps2mouse ps2mouse;

#define PS2MOUSE_BUTTON_LEFT 0x01
#define PS2MOUSE_BUTTON_RIGHT 0x02
#define PS2MOUSE_BUTTON_MIDDLE 0x04
#define PS2MOUSE_BUTTON_SIDE 0x08    /* button 4 */
#define PS2MOUSE_BUTTON_EXTRA 0x10   /* button 5 */

ps2mouse *ps2mouse_get(vmx_platform *p);
void ps2mouse_move(ps2mouse *m, int dx, int dy, int dz, unsigned buttons);

#endif
