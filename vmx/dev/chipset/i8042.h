/*
 * vmx/dev/chipset/i8042.h - the 8042 keyboard controller.
 *
 * Ports 0x60 (data) and 0x64 (status / command), and port 0x92 (System
 * Control Port A: bit 0 fast reset on a 0 -> 1 write, bit 1 A20). IRQ 1
 * while the output buffer holds keyboard data and the command byte enables
 * it, IRQ 12 likewise for auxiliary (mouse) data.
 *
 * Status: OBF, SYS (from the command byte / self test), A2 (last write was
 * a command), keyboard not inhibited, AUXB (the byte is from the mouse).
 * The controller answers at once, so IBF is always clear.
 *
 * Command byte (RAM byte 0): keyboard IRQ, aux IRQ, SYS, keyboard clock
 * disabled, aux clock disabled, translation. Its power-on value is what a
 * PC BIOS leaves after POST, 0x47: translation on, system flag, both IRQs
 * on, both interfaces enabled (the vmx boots kernels without firmware).
 *
 * Commands: 0x20-0x3f read RAM, 0x60-0x7f write RAM, 0xa4 (no password:
 * 0xf1), 0xa7/0xa8 aux off/on, 0xa9 aux interface test (0x00), 0xaa self
 * test (0x55, sets SYS), 0xab keyboard interface test (0x00), 0xad/0xae
 * keyboard off/on, 0xc0 input port, 0xd0/0xd1 read/write output port
 * (bit 0 low resets the machine, bit 1 is A20), 0xd2/0xd3 write the output
 * buffer as keyboard/mouse data, 0xd4 send the next byte to the mouse,
 * 0xdd/0xdf A20 off/on, 0xe0 test inputs, 0xf0-0xff pulse output port
 * bits 0-3 (bit 0 clear = reset: 0xfe). Others are logged and ignored. A
 * byte written to 0x60 with no command pending goes to the keyboard (and
 * enables its interface, as the controller does to send it).
 *
 * Translation: with command byte bit 6 set, each byte from the keyboard
 * is translated from set 2 to set 1 and an 0xf0 prefix becomes bit 7 of the
 * next byte (scancodes.h).
 *
 * A20 is kept as the guest sets it (output port bit 1 OR port 0x92 bit 1)
 * and reported by i8042_a20(), but guest memory is never masked: like KVM
 * itself, the machine runs with A20 enabled.
 *
 * PS/2 devices (ps2kbd, ps2mouse) attach to its two ports. Lock order:
 * controller, then device. The controller calls a device's pull() and
 * write() with its own lock held; a device with new input (host key or
 * mouse events) calls i8042_data_ready() without holding its own lock.
 */
#ifndef VMX_DEV_CHIPSET_I8042_H
#define VMX_DEV_CHIPSET_I8042_H

#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct i8042 i8042;

enum { I8042_KBD = 0, I8042_AUX = 1 };

typedef struct i8042_port_ops {
   /* The next byte the device sends, or -1 when it has none. */
   int (*pull)(void *dev);
   /* A byte from the guest for the device. */
   void (*write)(void *dev, uint8_t b);
} i8042_port_ops;

i8042 *i8042_get(vmx_platform *p);
bool i8042_attach(i8042 *c, unsigned port, const i8042_port_ops *ops, void *dev, char **err);
void i8042_detach(i8042 *c, unsigned port);
/* A device has bytes to send. Call without holding the device's lock. */
void i8042_data_ready(i8042 *c);
bool i8042_a20(i8042 *c);

#endif
