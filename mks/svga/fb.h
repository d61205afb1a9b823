/*
 * mks/svga/fb.h - the shadow framebuffer: the exact picture the virtual
 * display shows, with damage tracking, the hardware cursor and a mode
 * generation, for the MKS backends (local console, VNC, screenshots).
 *
 * The picture. One image of width x height pixels in XRGB8888: each pixel
 * is a uint32_t 0x00RRGGBB in host byte order (on x86: bytes B, G, R, 0),
 * rows stride pixels apart. The SVGA device (the only producer) writes it;
 * it always holds what the guest displays right now -- the VGA text
 * screen, a VBE or SVGA legacy mode, or the primary screen object -- after
 * pixel format conversion. The hardware cursor is NOT drawn into it: it is
 * a separate image the consumer composites (or hands to its client as a
 * cursor shape). The VGA text cursor is part of the picture.
 *
 * The generation. A 64-bit counter that changes whenever the image is
 * reallocated: a mode change (size), a switch between VGA, VBE, SVGA and
 * screen objects, a device reset. When it changes, everything is damaged
 * and earlier pointers and sizes are stale.
 *
 * Consumers. Each backend makes a client (svga_fb_client_new). A client
 * has its own damage accumulator, so several backends can run at their own
 * pace; damage is a short list (at most SVGA_FB_MAX_RECTS) of rectangles,
 * merged so that overlapping or nearby rectangles become their bounding
 * box and a full list folds the two cheapest to merge. To read:
 *
 *    svga_fb_image img;
 *    svga_fb_damage dmg;
 *    svga_fb_begin(client, &img, &dmg);     // locks the picture
 *    ... copy dmg.rects from img.pixels (or everything if dmg.full) ...
 *    svga_fb_end(client);                   // unlocks it
 *
 * Keep the section between begin and end short (copy, don't encode): the
 * device waits for the lock to draw. img is valid only inside it.
 *
 * The client's notify callback (optional) is called when the client has
 * new damage or cursor changes since its last svga_fb_begin; it runs on the
 * producer's thread (the MKS thread or a vCPU thread), without any lock
 * held, and must only wake the consumer (write an eventfd, signal a
 * condition). It is called at most once until the next begin.
 *
 * Cursor. svga_fb_cursor_get() copies the current cursor shape: ARGB8888
 * pixels (0xAARRGGBB, host byte order), width x height, hotspot, and the
 * position of the hotspot in picture coordinates and whether it is shown.
 * Alpha cursors are passed through as the guest defined them (vmwgfx sends
 * premultiplied alpha); AND/XOR cursors become opaque pixels (alpha 0xff)
 * and fully transparent ones (0x00000000); an inverting pixel (AND 1, XOR
 * 1) is shown as opaque black, since ARGB cannot express inversion.
 *
 * Threading: every function may be called from any thread. The producer
 * functions (resize, lock, pixels, damage, cursor setters) are for the
 * device only.
 */
#ifndef MKS_SVGA_FB_H
#define MKS_SVGA_FB_H

#include <stdbool.h>
#include <stdint.h>

#define SVGA_FB_MAX_RECTS 16
#define SVGA_FB_MAX_DIM 8192u        /* width and height limit */
#define SVGA_FB_CURSOR_MAX 256u      /* cursor width and height limit */

typedef struct svga_fb svga_fb;
typedef struct svga_fb_client svga_fb_client;

typedef struct svga_rect {
   int32_t x, y;
   int32_t w, h;
} svga_rect;

typedef struct svga_fb_image {
   const uint32_t *pixels;    /* XRGB8888 */
   uint32_t width, height;
   uint32_t stride;           /* in pixels */
   uint64_t generation;
} svga_fb_image;

typedef struct svga_fb_damage {
   bool full;                 /* everything (the generation changed, or the
                                 client is new): rects is then one rect of
                                 the whole picture */
   unsigned nrects;
   svga_rect rects[SVGA_FB_MAX_RECTS];
   bool cursor_shape;         /* the cursor image or hotspot changed */
   bool cursor_moved;         /* its position or visibility changed */
} svga_fb_damage;

typedef struct svga_fb_cursor {
   uint32_t width, height;    /* 0 x 0: no cursor defined */
   uint32_t hot_x, hot_y;
   int32_t x, y;              /* hotspot position in the picture */
   bool visible;
   uint64_t serial;           /* changes with every new shape */
   uint32_t *argb;            /* g_malloc'd width * height pixels, or NULL */
} svga_fb_cursor;

typedef void (*svga_fb_notify_fn)(void *opaque);

/* ---- consumers */

svga_fb_client *svga_fb_client_new(svga_fb *fb, svga_fb_notify_fn notify, void *opaque);
void svga_fb_client_free(svga_fb_client *c);
/* Lock the picture, move the client's damage to *dmg, describe the
 * picture in *img. */
void svga_fb_begin(svga_fb_client *c, svga_fb_image *img, svga_fb_damage *dmg);
void svga_fb_end(svga_fb_client *c);
/* A copy of the cursor; free c->argb with g_free (or svga_fb_cursor_clear). */
void svga_fb_cursor_get(svga_fb *fb, svga_fb_cursor *c);
void svga_fb_cursor_clear(svga_fb_cursor *c);
/* The current generation, without locking the picture for long. */
uint64_t svga_fb_generation(svga_fb *fb);

/* ---- the producer (the device) */

svga_fb *svga_fb_new(void);
/* Clients must be freed first. */
void svga_fb_free(svga_fb *fb);
/* Lock for drawing; while locked, svga_fb_pixels / svga_fb_add_damage. */
void svga_fb_lock(svga_fb *fb);
void svga_fb_unlock(svga_fb *fb);
/* Locked: reallocate to w x h (1..SVGA_FB_MAX_DIM each), all black, a new
 * generation, everything damaged for every client. False (nothing
 * changed) when the size is out of range or memory is short. */
bool svga_fb_resize_locked(svga_fb *fb, uint32_t w, uint32_t h);
/* Locked: the writable picture and its size. */
uint32_t *svga_fb_pixels_locked(svga_fb *fb, uint32_t *w, uint32_t *h, uint32_t *stride);
/* Locked: mark a rectangle changed (clipped to the picture). */
void svga_fb_add_damage_locked(svga_fb *fb, int64_t x, int64_t y, int64_t w, int64_t h);
/* New cursor shape (w, h <= SVGA_FB_CURSOR_MAX; 0 x 0 = none), ARGB. */
void svga_fb_set_cursor_shape(svga_fb *fb, uint32_t w, uint32_t h, uint32_t hot_x,
                              uint32_t hot_y, const uint32_t *argb);
void svga_fb_set_cursor_pos(svga_fb *fb, int32_t x, int32_t y, bool visible);
/* Call each client's notify callback if it has news (not locked). */
void svga_fb_notify(svga_fb *fb);

/* ---- damage accumulator, also used by the device for its own batching */

typedef struct svga_damage_acc {
   unsigned n;
   svga_rect r[SVGA_FB_MAX_RECTS];
} svga_damage_acc;

/* Add [x, x+w) x [y, y+h) (already clipped, w and h > 0). */
void svga_damage_acc_add(svga_damage_acc *a, int32_t x, int32_t y, int32_t w, int32_t h);

#endif
