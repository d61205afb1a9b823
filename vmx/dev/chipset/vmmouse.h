/*
 * vmx/dev/chipset/vmmouse.h - the VMware absolute pointer ("vmmouse") on the
 * backdoor, as the Linux vmmouse driver (drivers/input/mouse/vmmouse.c),
 * xf86-input-vmmouse and the Windows VMware pointing device driver use it.
 *
 * Guest side, three backdoor commands (backdoor.h), EBX the argument:
 *   39 ABSPOINTER_DATA    EBX = n words (1-6) to take from the queue; they
 *                         come back in EAX, EBX, ECX, EDX, ESI, EDI. Asking
 *                         for 0, more than 6 or more than are queued is a
 *                         driver error: the device disables itself (status
 *                         0xffff) as VMware's does.
 *   40 ABSPOINTER_STATUS  EAX = status << 16 | words queued. Status 0xffff
 *                         (EAX 0xffff0000 with nothing queued) means
 *                         disabled or in error.
 *   41 ABSPOINTER_COMMAND EBX = 0x45414552 "READ_ID": enable, queue the
 *                         version word 0x3442554a; 0xf5: disable (queue
 *                         emptied, back to relative); 0x4c455252: request
 *                         relative packets; 0x53424152: request absolute.
 * A packet is four words: status (buttons 0x20 left, 0x10 right, 0x08
 * middle; 0x00010000 for a relative packet), x, y, z (wheel: positive is
 * towards the user). Absolute x and y run 0..65535 over the whole screen;
 * relative ones are signed counts with y positive up.
 *
 * Host side: after queueing a packet the device nudges the PS/2 mouse
 * (one count to the right, buttons as given) so the guest driver, which
 * reads the backdoor queue when a PS/2 packet arrives, wakes up; this is
 * what VMware and QEMU do. The PS/2 packet's contents are ignored by the
 * driver while it is in vmmouse mode.
 *
 * The device, "vmmouse", must come after vmx_dev_backdoor (it registers
 * its commands in create) and after vmx_dev_ps2mouse (for the nudge; it
 * works without one, but guests then never look at the queue). State
 * saved: status, mode, queue.
 */
#ifndef MKS_CONSOLE_VMMOUSE_H
#define MKS_CONSOLE_VMMOUSE_H

#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stdint.h>

#define VMMOUSE_CMD_DATA 39
#define VMMOUSE_CMD_STATUS 40
#define VMMOUSE_CMD_COMMAND 41

#define VMMOUSE_READ_ID 0x45414552u
#define VMMOUSE_DISABLE 0x000000f5u
#define VMMOUSE_REQUEST_RELATIVE 0x4c455252u
#define VMMOUSE_REQUEST_ABSOLUTE 0x53424152u
#define VMMOUSE_VERSION_ID 0x3442554au

#define VMMOUSE_STATUS_ERROR 0xffffu          /* status half of STATUS */
#define VMMOUSE_RELATIVE_PACKET 0x00010000u
#define VMMOUSE_LEFT_BUTTON 0x20u
#define VMMOUSE_RIGHT_BUTTON 0x10u
#define VMMOUSE_MIDDLE_BUTTON 0x08u

#define VMMOUSE_QUEUE_WORDS 1024u
#define VMMOUSE_ABS_MAX 0xffffu

typedef struct vmmouse vmmouse;

extern const vmx_device_desc vmx_dev_vmmouse;

/* The platform's vmmouse, NULL if it has none. */
vmmouse *vmmouse_get(vmx_platform *p);

/* The guest driver has enabled the device (READ_ID, not disabled since). */
bool vmmouse_enabled(vmmouse *m);
/* Enabled and in absolute mode: absolute packets reach the guest. */
bool vmmouse_absolute(vmmouse *m);

/* Queue a packet. buttons are MKS_BUTTON_* (buttons.h; side and extra
 * have no vmmouse bit and are dropped); dz > 0 is scroll up. False when
 * the device is disabled, in the other mode, or its queue is full (the
 * packet is dropped, as a full hardware queue drops it). */
bool vmmouse_abs(vmmouse *m, uint16_t x, uint16_t y, int dz, unsigned buttons);
bool vmmouse_rel(vmmouse *m, int dx, int dy, int dz, unsigned buttons);

#endif
