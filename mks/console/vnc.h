/*
 * mks/console/vnc.h - the VM's remote console: a VNC (RFB 3.8) server on
 * libvncserver.
 *
 * Configuration (.vmx keys, VMware's names):
 *   RemoteDisplay.vnc.enabled   "TRUE" to run the server (default FALSE)
 *   RemoteDisplay.vnc.port      TCP port (default 5900; 0 picks a free one)
 *   RemoteDisplay.vnc.ip        numeric IPv4/IPv6 listen address (default
 *                               127.0.0.1: this host only; "0.0.0.0" or
 *                               "::" listen everywhere)
 *   RemoteDisplay.vnc.password  when set, clients must pass VNC password
 *                               authentication (only the first 8
 *                               characters count, as the protocol's DES
 *                               challenge defines); clients without it are
 *                               refused. Five failures in a row lock
 *                               authentication out for 10 seconds.
 *   displayName                 the desktop name viewers show
 *
 * Threads. The server owns one thread ("vnc") that runs all network I/O
 * and encoding with libvncserver in its non-threaded mode; libvncserver
 * state is touched by no other thread. Producers (the MKS thread) call
 * set_mode / update / cursor functions, which copy into a staging buffer
 * under a mutex and wake the VNC thread; they never wait for the network.
 * Input callbacks run on the VNC thread.
 *
 * Pixels are XRGB8888: one little-endian uint32_t per pixel, 0xXXRRGGBB,
 * as the SVGA device's 32-bpp modes and pixman's x8r8g8b8 lay them out.
 * The X byte is copied, not cleared: viewers ignore it, but keep it 0 (as
 * the shadow framebuffer does) or Tight's solid and palette detection,
 * which compares whole words, finds fewer flat areas.
 * Encodings are what libvncserver negotiates with each client among those
 * it supports (Tight, ZRLE, Zlib, Hextile, raw, ...; Tight with JPEG only
 * when the viewer asks for a JPEG quality level). Mode changes reach
 * viewers as ExtendedDesktopSize or DesktopSize updates. The cursor is sent
 * as a rich cursor (RichCursor, XCursor or drawn into the picture with its
 * alpha blended for viewers without cursor updates).
 *
 * One server per process: libvncserver keeps its security type list and
 * log functions in globals, and a second live server with a different
 * password setting could let a client choose the other server's type. A
 * second mks_vnc_new() while one exists fails.
 *
 * libvncserver ignores SIGPIPE process-wide (it writes to sockets with
 * write()). Client sockets must be below FD_SETSIZE (it uses select());
 * a connection on a higher descriptor is refused with a log line.
 */
#ifndef MKS_CONSOLE_VNC_H
#define MKS_CONSOLE_VNC_H

#include "mks/console/buttons.h"
#include "vmx/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mks_vnc mks_vnc;

/* Largest mode accepted, each way. */
#define MKS_VNC_MAX_DIM 8192u
/* Largest cursor sent; bigger ones are cropped around the hot spot (a
 * rich cursor must fit libvncserver's 32 KiB update buffer). */
#define MKS_VNC_CURSOR_MAX 88u
/* Clients at once; more are refused. */
#define MKS_VNC_MAX_CLIENTS 16u

typedef struct mks_vnc_config {
   bool enabled;
   char *ip;         /* numeric listen address */
   unsigned port;    /* 0: any free port */
   char *password;   /* NULL: no authentication */
   char *name;       /* desktop name */
} mks_vnc_config;

/* Read the keys above from a .vmx. False with *err naming the key and the
 * value when one is malformed. Free with mks_vnc_config_clear. */
bool mks_vnc_config_read(const vmxcfg *cfg, mks_vnc_config *out, char **err);
void mks_vnc_config_clear(mks_vnc_config *c);

/* Input from viewers, called on the VNC thread. key: an X11 keysym going
 * down or up (feed mks_keyinput_keysym). pointer: absolute position in
 * framebuffer pixels (clamped to the current mode), buttons MKS_BUTTON_*
 * held (RFB buttons 1-3 and 8), wheel clicks since the last event (dz > 0
 * up, dw > 0 right; RFB buttons 4-7 pressed). When a viewer disconnects,
 * releases are sent for the keys and buttons it still held. refresh:
 * after mks_vnc_invalidate(), a viewer waits for the picture: the producer
 * should soon call mks_vnc_update() over the whole screen (asked once per
 * invalidation). Any may be NULL. */
typedef struct mks_vnc_input {
   void (*key)(void *opaque, uint32_t keysym, bool down);
   void (*pointer)(void *opaque, int x, int y, unsigned buttons, int dz, int dw);
   void *opaque;
   void (*refresh)(void *opaque);
} mks_vnc_input;

/* Start listening (cfg->enabled is not looked at: the caller decides). The
 * screen starts as 640x480 black with no cursor. NULL with *err when the
 * address cannot be used or another server exists. */
mks_vnc *mks_vnc_new(const mks_vnc_config *cfg, const mks_vnc_input *in, char **err);
/* Disconnect every viewer (their held keys and buttons are released
 * through the callbacks, on the calling thread), stop the thread, free.
 * Free it before the devices the callbacks feed. */
void mks_vnc_free(mks_vnc *v);

/* The bound port (the one picked when configured as 0) and address. */
unsigned mks_vnc_port(const mks_vnc *v);
const char *mks_vnc_address(const mks_vnc *v);

/* The guest changed mode: width x height pixels (1..MKS_VNC_MAX_DIM), black
 * until updated. Viewers get the new size with their next update. */
void mks_vnc_set_mode(mks_vnc *v, unsigned width, unsigned height);
/* Copy the rectangle (x, y, w, h) of a framebuffer of the current mode
 * into the server and mark it changed. fb points at the framebuffer's
 * pixel (0, 0), stride bytes per row. The rectangle is clipped to the
 * mode; fb must cover the clipped rectangle. */
void mks_vnc_update(mks_vnc *v, const void *fb, size_t stride, unsigned x, unsigned y, unsigned w,
                    unsigned h);

/* The producer stops copying pixels for now (mks_vnc_client_count() said
 * 0: nobody would see them). Viewers that connect from now on are held
 * (no greeting, no update) until an mks_vnc_update() covers the whole
 * screen (the refresh callback asks for one). */
void mks_vnc_invalidate(mks_vnc *v);

/* The guest's cursor: width x height ARGB pixels (0xAARRGGBB per uint32_t,
 * premultiplied or straight alpha), hot spot in it. Pixels with alpha of at
 * least 128 are the cursor's shape for viewers that take a 1-bit mask. */
void mks_vnc_set_cursor(mks_vnc *v, const uint32_t *argb, unsigned width, unsigned height,
                        unsigned hot_x, unsigned hot_y, bool premultiplied);
void mks_vnc_hide_cursor(mks_vnc *v);
/* Where the guest put its cursor (for viewers that draw it themselves and
 * take cursor position updates, and for the cursor drawn into the
 * picture). Viewers' own pointer events move it too. */
void mks_vnc_move_cursor(mks_vnc *v, int x, int y);

/* Viewers connected now (handshake finished or not). */
unsigned mks_vnc_client_count(mks_vnc *v);

typedef struct mks_vnc_stats {
   uint64_t clients;        /* connections accepted */
   uint64_t auth_failures;
   uint64_t updates;        /* framebuffer updates sent */
   uint64_t bytes;          /* bytes sent to viewers */
   uint64_t rects_raw, rects_tight, rects_zrle, rects_other;   /* pixel rectangles */
   uint64_t tight_ours;     /* of rects_tight, those made by our encoder (vnc-tight.h) */
} mks_vnc_stats;
void mks_vnc_get_stats(mks_vnc *v, mks_vnc_stats *out);

#endif
