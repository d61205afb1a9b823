/*
 * mks/console/pointer.h - routing host pointer events to the guest.
 *
 * A host source reports either absolute positions in guest framebuffer
 * pixels (VNC, the local console while the pointer is not grabbed) or
 * relative motion (the local console while grabbed). The router sends
 * them to whichever device the guest is listening to:
 *
 *   1. vmmouse in absolute mode (the guest's driver enabled it and asked
 *      for absolute packets): absolute positions scaled to 0..65535 over
 *      the screen (0 -> 0, width-1 -> 65535); relative motion moves a
 *      position kept here, clamped to the screen.
 *   2. vmmouse in relative mode: relative packets on the vmmouse queue (the
 *      driver ignores PS/2 contents while enabled); absolute positions
 *      become the difference from the previous one.
 *   3. otherwise the PS/2 mouse: motion deltas, the difference between
 *      successive absolute positions. ps2mouse_move() clamps each packet to
 *      the 9-bit range (-255..255 at 1:1 scaling) and splits a large move
 *      into several packets, so nothing is lost.
 *
 * The first absolute event after creation, or after the route changes,
 * only sets the reference position (no jump). Buttons are MKS_BUTTON_*;
 * dz > 0 scrolls up. Buttons and wheel go with the packet that carries the
 * motion, as a real mouse reports them.
 *
 * Thread safety: any thread; calls are serialised internally.
 */
#ifndef MKS_CONSOLE_POINTER_H
#define MKS_CONSOLE_POINTER_H

#include "mks/console/buttons.h"
#include "vmx/dev/chipset/vmmouse.h"
#include "vmx/dev/chipset/ps2mouse.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct mks_pointer mks_pointer;

typedef enum mks_pointer_route {
   MKS_POINTER_NONE = 0,          /* no device: events are dropped */
   MKS_POINTER_PS2 = 1,
   MKS_POINTER_VMMOUSE_REL = 2,
   MKS_POINTER_VMMOUSE_ABS = 3,
} mks_pointer_route;

/* Either device may be NULL (a machine without it). */
mks_pointer *mks_pointer_new(ps2mouse *ps2, vmmouse *vmm);
void mks_pointer_free(mks_pointer *p);

/* The guest's screen size in pixels (the current mode). Absolute
 * coordinates are clamped to it. Default 640x480. */
void mks_pointer_set_screen(mks_pointer *p, unsigned width, unsigned height);

void mks_pointer_abs(mks_pointer *p, int x, int y, unsigned buttons, int dz);
void mks_pointer_rel(mks_pointer *p, int dx, int dy, unsigned buttons, int dz);

/* Where the next event goes. A console shows "absolute pointer, no grab
 * needed" while this is MKS_POINTER_VMMOUSE_ABS. */
mks_pointer_route mks_pointer_current_route(mks_pointer *p);

/* The vmmouse coordinate of pixel v on an axis of size pixels: v clamped
 * to 0..size-1, then scaled so the last pixel is 65535 (rounded). */
uint16_t mks_pointer_scale(int v, unsigned size);

#endif
