/*
 * cui/mksclient.h - client of a VM's local console (mks/console/local.h,
 * whose top comment describes the protocol): the guest's screen as a
 * read-only shared-memory surface, damage, cursor and mode notifications,
 * and keyboard and pointer input going back.
 *
 * Toolkit-free, single-threaded, non-blocking after connecting. With GLib:
 *
 *   mksclient *mc = mksclient_connect(path, &err);   // has the surface
 *   mksclient_set_callbacks(mc, &cb);
 *   draw everything from mksclient_surface(); mksclient_ack(mc);
 *   g_unix_fd_add(mksclient_fd(mc), G_IO_IN, on_readable, mc);
 *     on_readable: if (!mksclient_dispatch(mc)) { show mksclient_error(mc);
 *                  mksclient_free(mc); return G_SOURCE_REMOVE; }
 *   damage callback: redraw the rectangles, then mksclient_ack(mc) (now or
 *   after presenting the frame); the server sends no new frame before it.
 *
 * When mksclient_want_write() is true, input could not all be written yet
 * (the server is busy): also watch G_IO_OUT and call mksclient_dispatch()
 * (which writes what is pending) when it fires.
 *
 * Everything the server sends is checked (sizes, counts, rectangles inside
 * the surface, the memfd's size and seals against the stated geometry); a
 * bad message ends the connection with an error naming it.
 */
#ifndef CUI_MKSCLIENT_H
#define CUI_MKSCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mksclient mksclient;
typedef struct mksclient_hold mksclient_hold;

typedef struct mksclient_rect {
   unsigned x, y, w, h;
} mksclient_rect;

/* Called from mksclient_dispatch(). Any may be NULL. Callbacks may call
 * mksclient_ack, _send_*, _surface and the cursor getters, but not
 * mksclient_free or mksclient_dispatch. */
typedef struct mksclient_callbacks {
   /* A new surface (the guest changed mode): everything changed, earlier
    * pixel pointers are stale. Ack it like damage. */
   void (*mode)(void *opaque, unsigned width, unsigned height);
   /* Rectangles of the surface that changed (inside it, n >= 1). */
   void (*damage)(void *opaque, const mksclient_rect *rects, unsigned n);
   /* A new cursor image: width x height 0xAARRGGBB pixels (host order),
    * alpha premultiplied or straight, hot spot in it. Valid until the next
    * shape. */
   void (*cursor_shape)(void *opaque, const uint32_t *argb, unsigned width, unsigned height,
                        unsigned hot_x, unsigned hot_y, bool premultiplied);
   /* The guest moved, showed or hid its cursor (hot spot position). */
   void (*cursor_pos)(void *opaque, int x, int y, bool visible);
   void *opaque;
} mksclient_callbacks;

/* Connect to the console socket at path and wait (up to 5 s) for the
 * server's HELLO. On return the surface is there and its frame is not yet
 * acknowledged; a cursor that came with it is in mksclient_cursor(). NULL
 * with *err when nothing serves path, the server refuses (its reason is
 * in *err), or it sends something wrong. */
mksclient *mksclient_connect(const char *path, char **err);
void mksclient_set_callbacks(mksclient *c, const mksclient_callbacks *cb);
void mksclient_free(mksclient *c);

/* The socket, to watch for reading (and writing, see want_write). */
int mksclient_fd(mksclient *c);
bool mksclient_want_write(mksclient *c);

/* Read what the server sent, calling the callbacks, and write pending
 * input. False when the connection is over (closed by the server, broken,
 * or a bad message); mksclient_error() says why, and every later call
 * fails. */
bool mksclient_dispatch(mksclient *c);
/* Why the connection is over; NULL while it is up. */
const char *mksclient_error(mksclient *c);

/* The current surface, read-only XRGB8888 (0x00RRGGBB per uint32_t, host
 * order), stride in bytes. False when there is none (never after a
 * successful connect). */
bool mksclient_surface(mksclient *c, const uint32_t **pixels, unsigned *width, unsigned *height,
                       size_t *stride);
/* Keep the current surface's memory mapped, read-only at the address
 * mksclient_surface() gives, until mksclient_surface_release(), even past
 * the MODE that replaces it or mksclient_free(): for drawing straight from
 * the pixels with something that may outlive the frame (a toolkit's
 * render nodes). NULL when there is no surface. The release may happen on
 * any thread. */
mksclient_hold *mksclient_surface_hold(mksclient *c);
void mksclient_surface_release(mksclient_hold *h);
/* Serial of the last frame (HELLO, MODE, DAMAGE) and whether it still
 * waits for mksclient_ack(). */
uint32_t mksclient_frame_serial(mksclient *c, bool *unacked);

/* The latest cursor shape (false when none came yet) and position. */
bool mksclient_cursor(mksclient *c, const uint32_t **argb, unsigned *width, unsigned *height,
                      unsigned *hot_x, unsigned *hot_y, bool *premultiplied);
void mksclient_cursor_pos(mksclient *c, int *x, int *y, bool *visible);

/* Tell the server the last frame is taken: it may send the next. Does
 * nothing (returns true) when it was already acknowledged. */
bool mksclient_ack(mksclient *c);
/* A key going down or up: an X11 keysym, a Linux evdev key code, or both
 * (0 = none; not both 0). False when the values are out of range or the
 * connection is over or the server has not read 64 KiB of earlier input. */
bool mksclient_send_key(mksclient *c, uint32_t keysym, uint32_t keycode, bool down);
/* Absolute pointer position in surface pixels, MKS_BUTTON_* held, wheel
 * clicks (dz > 0 up, dw > 0 right; each within +-64). */
bool mksclient_send_pointer(mksclient *c, int x, int y, unsigned buttons, int dz, int dw);

#endif
