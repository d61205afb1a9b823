/*
 * mks/mks.h - the MKS (mouse, keyboard, screen) of one virtual machine.
 *
 * The vmx creates one MKS per powered-on machine that has an SVGA device.
 * It owns the MKS thread ("mks"), which:
 *   - runs the SVGA device's FIFO processor (svga_process) whenever the
 *     device's wake-up eventfd fires (SYNC register, doorbells) and on a
 *     refresh timer (mks.refreshHz, default 60) that also catches what the
 *     guest writes straight into VRAM or the VGA text buffer;
 *   - reads the shadow framebuffer's damage, mode generation and cursor
 *     (mks/svga/fb.h) and feeds the backends somebody watches: the local
 *     console (mks/console/local.h: a shared-memory surface for the UI on
 *     a Unix socket) and the VNC server (mks/console/vnc.h) when
 *     RemoteDisplay.vnc.enabled is TRUE; a backend without viewers gets
 *     no pixels, and the whole picture once one connects;
 * and routes backend input to the guest: keys through mks/console/keyinput
 * to the PS/2 keyboard, the pointer through mks/console/pointer to the
 * vmmouse (absolute) or the PS/2 mouse.
 *
 * The MKS outlives guest resets (the device resets and its generation
 * changes); it must be freed before the platform it reads.
 */
#ifndef MKS_MKS_H
#define MKS_MKS_H

#include "vmx/config.h"
#include "vmx/dev/platform.h"

#include <stdbool.h>

typedef struct mks mks;

/* Start the MKS for a platform with an SVGA device (svga_get(plat) not
 * NULL), with the local console listening at console_socket (NULL: none).
 * A bad setting (a malformed RemoteDisplay.vnc.* key or mks.refreshHz) or
 * a console socket that cannot be made fails with *err naming it. A VNC
 * server that cannot listen (port in use) does not fail the MKS: the
 * reason is logged and given by mks_vnc_info(). */
mks *mks_new(vmx_platform *plat, const vmxcfg *cfg, const char *console_socket, char **err);
/* Stop the thread and the backends (VNC viewers are disconnected). */
void mks_free(mks *m);

/* The VNC server's address and port; false when it is not running (then
 * *error, if not NULL, is why, or NULL when it is not enabled). */
bool mks_vnc_info(mks *m, const char **address, unsigned *port, const char **error);

/* The current picture (what the guest displays now, without the hardware
 * cursor) as a PNG file, written atomically. Any thread. */
bool mks_capture_screen(mks *m, const char *path, char **err);

/* The current display size (0 x 0 before the device has a picture). */
void mks_screen_size(mks *m, unsigned *width, unsigned *height);

#endif
