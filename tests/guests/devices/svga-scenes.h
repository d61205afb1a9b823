/*
 * tests/guests/devices/svga-scenes.h - the scenes the svga guest program
 * (svga.c) draws through the SVGA II device and the VNC checker
 * (vnc-check.c) expects to see, pixel for pixel. Both include this file,
 * so the pictures are defined once. Freestanding: <stdint.h> and
 * <stdbool.h> only, no library calls.
 *
 * Pixels are 0x00RRGGBB. Scenes, in order (each ends with the guest
 * printing "svga: scene N ready" and waiting for the key of scene N):
 *
 *   0 update       720x480x32 legacy mode: the guest writes the base
 *                  pattern into VRAM (with junk in the unused X byte) and
 *                  sends UPDATE commands for four horizontal bands
 *   1 rect-copy    RECT_COPY of the rectangles below, applied in order with
 *                  overlap-safe (memmove) semantics to scene 0
 *   2 cursor       the picture of scene 1, plus a 32x32 AND/XOR cursor
 *                  (DEFINE_CURSOR, 1-bit AND mask, 32-bit XOR mask) at
 *                  a given hot spot position
 *   3 alpha-cursor the picture of scene 1, plus a 21x17 premultiplied
 *                  ARGB cursor (DEFINE_ALPHA_CURSOR) at another position
 *   4 screen       screen object 0 (720x480, primary, no backing store)
 *                  showing five BLIT_GMRFB_TO_SCREENs from a 640x480 GMRFB
 *                  in guest RAM (GMR 1, defined with DEFINE_GMR2 and
 *                  REMAP_GMR2 over shuffled pages), some of them clipped;
 *                  what no blit covers stays black
 *   5 annotation   scene 4 plus ANNOTATION_FILL + a blit of that colour
 *                  (from a GMR whose pages are all one page: SINGLE_PPN)
 *                  and ANNOTATION_COPY + a blit of the pixels it copies
 *                  (from a GMR remapped through a PPN list in another GMR)
 *   6 mode         a mode change to 800x600x32 (the VNC desktop size
 *                  changes), a new pattern, UPDATE of the whole screen
 *
 * The first mode is not 640x480 on purpose: QEMU's vmware-svga compares
 * the mode with its console's current surface, which before the first
 * refresh is a 640x480 placeholder, and would never show a 640x480 mode.
 *
 * The key for scene N is the X keysym 'a' + N; the guest must read its
 * set-1 make code and then its break code (make | 0x80) from the i8042
 * with translation on.
 */
#ifndef SVGA_SCENES_H
#define SVGA_SCENES_H

#include <stdbool.h>
#include <stdint.h>

enum {
   SVGA_SCENE_UPDATE,
   SVGA_SCENE_RECT_COPY,
   SVGA_SCENE_CURSOR,
   SVGA_SCENE_ALPHA_CURSOR,
   SVGA_SCENE_SCREEN,
   SVGA_SCENE_ANNOTATION,
   SVGA_SCENE_MODE,
   SVGA_SCENE_COUNT
};

static inline const char *svga_scene_name(unsigned n)
{
   switch (n) {
   case SVGA_SCENE_UPDATE: return "update";
   case SVGA_SCENE_RECT_COPY: return "rect-copy";
   case SVGA_SCENE_CURSOR: return "cursor";
   case SVGA_SCENE_ALPHA_CURSOR: return "alpha-cursor";
   case SVGA_SCENE_SCREEN: return "screen-object";
   case SVGA_SCENE_ANNOTATION: return "annotation";
   case SVGA_SCENE_MODE: return "mode-change";
   default: return "?";
   }
}

/* ---- geometry */

#define SVGA_SCENE_W 720u
#define SVGA_SCENE_H 480u
#define SVGA_SCENE_GMRFB_W 640u
#define SVGA_SCENE_GMRFB_H 480u
#define SVGA_SCENE_MODE_W 800u
#define SVGA_SCENE_MODE_H 600u

static inline uint32_t svga_scene_width(unsigned n)
{
   return n == SVGA_SCENE_MODE ? SVGA_SCENE_MODE_W : SVGA_SCENE_W;
}

static inline uint32_t svga_scene_height(unsigned n)
{
   return n == SVGA_SCENE_MODE ? SVGA_SCENE_MODE_H : SVGA_SCENE_H;
}

/* ---- keys */

static inline uint32_t svga_scene_keysym(unsigned n)
{
   return 'a' + n;
}

/* Set-1 make codes of the letters a..h. */
static inline uint8_t svga_scene_scancode(unsigned n)
{
   switch (n) {
   case 0: return 0x1e;   /* a */
   case 1: return 0x30;   /* b */
   case 2: return 0x2e;   /* c */
   case 3: return 0x20;   /* d */
   case 4: return 0x12;   /* e */
   case 5: return 0x21;   /* f */
   case 6: return 0x22;   /* g */
   default: return 0x23;  /* h */
   }
}

/* ---- patterns */

static inline uint32_t svga_scene_hash(uint32_t v)
{
   v ^= v >> 16;
   v *= 0x7feb352du;
   v ^= v >> 15;
   v *= 0x846ca68bu;
   v ^= v >> 16;
   return v;
}

/* Scene 0: 32x32 tiles of five kinds (flat, gradient, noise, a two-colour
 * checker, grey), so that every VNC encoder takes more than one path. */
static inline uint32_t svga_scene_base(uint32_t x, uint32_t y)
{
   uint32_t tx = x / 32, ty = y / 32;

   switch ((tx + 2 * ty) % 5) {
   case 0: return svga_scene_hash(tx * 131u + ty * 7919u) & 0xffffffu;
   case 1: return (x * 255u / (SVGA_SCENE_W - 1)) << 16 | (y * 255u / (SVGA_SCENE_H - 1)) << 8 |
                  ((x + y) & 0xffu);
   case 2: return svga_scene_hash(y * SVGA_SCENE_W + x + 1u) & 0xffffffu;
   case 3: return ((x / 4 + y / 4) & 1) ? 0x00ff8000u : 0x000040c0u;
   default: return ((x ^ y) & 0xffu) * 0x010101u;
   }
}

/* Scene 4: the picture in the GMRFB (SVGA_SCENE_GMRFB_W x _H). */
static inline uint32_t svga_scene_gmrfb(uint32_t x, uint32_t y)
{
   uint32_t r = ((x * x + y * y) >> 7) & 0xffu;
   uint32_t g = (x * 3u ^ y * 5u) & 0xffu;
   uint32_t b = svga_scene_hash((x / 8) * 977u + y / 8) & 0xffu;

   return r << 16 | g << 8 | b;
}

/* Scene 6: 800x600 with a white frame on the outermost pixels, so a
 * picture off by one row or column shows. */
static inline uint32_t svga_scene_mode(uint32_t x, uint32_t y)
{
   if (x == 0 || y == 0 || x == SVGA_SCENE_MODE_W - 1 || y == SVGA_SCENE_MODE_H - 1) {
      return 0x00ffffffu;
   }
   if (x < 400 && y < 300) {
      return (x & 0xffu) << 16 | (y & 0xffu);
   }
   if (y < 300) {
      return svga_scene_hash(x * 601u + y) & 0x00ff00ffu;
   }
   if (x < 400) {
      return ((x / 16 + y / 16) & 1) ? 0x00202020u : 0x00e0e0e0u;
   }
   return 0x00008000u | ((x - 400) / 2) << 16 | ((y - 300) / 2);
}

/* ---- scene 1: RECT_COPY (src x, y, dst x, y, width, height) */

typedef struct svga_scene_copy {
   uint32_t sx, sy, dx, dy, w, h;
} svga_scene_copy;

#define SVGA_SCENE_NCOPIES 5u

static inline svga_scene_copy svga_scene_copy_get(unsigned i)
{
   switch (i) {
   case 0: return (svga_scene_copy){ 0, 0, 320, 240, 200, 150 };     /* apart */
   case 1: return (svga_scene_copy){ 100, 100, 120, 130, 150, 100 };  /* overlap, down right */
   case 2: return (svga_scene_copy){ 400, 50, 380, 30, 100, 120 };    /* overlap, up left */
   case 3: return (svga_scene_copy){ 10, 400, 14, 400, 300, 40 };     /* same rows, right */
   default: return (svga_scene_copy){ 300, 300, 296, 300, 64, 64 };   /* same rows, left */
   }
}

/* Apply copy c to a picture (stride in pixels) as a memmove of each row,
 * rows in an order that reads every source row before it is written. */
static inline void svga_scene_copy_apply(uint32_t *px, uint32_t stride, svga_scene_copy c)
{
   for (uint32_t i = 0; i < c.h; i++) {
      uint32_t r = c.dy > c.sy ? c.h - 1 - i : i;
      uint32_t *d = px + (c.dy + r) * stride + c.dx;
      const uint32_t *s = px + (c.sy + r) * stride + c.sx;

      if (d < s) {
         for (uint32_t k = 0; k < c.w; k++) {
            d[k] = s[k];
         }
      } else {
         for (uint32_t k = c.w; k-- > 0;) {
            d[k] = s[k];
         }
      }
   }
}

/* ---- scenes 2 and 3: cursors */

#define SVGA_SCENE_CURSOR_W 32u
#define SVGA_SCENE_CURSOR_H 32u
#define SVGA_SCENE_CURSOR_HOTX 3u
#define SVGA_SCENE_CURSOR_HOTY 5u
#define SVGA_SCENE_CURSOR_X 200
#define SVGA_SCENE_CURSOR_Y 150

/* The AND/XOR cursor: an arrow with a black outline and a coloured
 * inside; AND 1 / XOR 0 (transparent) elsewhere. No inverting pixels
 * (AND 1, XOR non-zero), which ARGB cannot express. */
static inline void svga_scene_cursor_mono(uint32_t x, uint32_t y, bool *and_bit, uint32_t *xor_px)
{
   bool inside = x <= y && x + y < 44 && y < 30;
   bool edge = inside && (x == 0 || x == y || x + y >= 42 || y == 29);

   if (!inside) {
      *and_bit = true;
      *xor_px = 0;
   } else if (edge) {
      *and_bit = false;
      *xor_px = 0;
   } else {
      *and_bit = false;
      *xor_px = (x * 8u) << 16 | (y * 8u) << 8 | 0x40u;
   }
}

/* The cursor as ARGB with straight alpha (what the viewer gets). */
static inline uint32_t svga_scene_cursor_mono_argb(uint32_t x, uint32_t y)
{
   bool a;
   uint32_t c;

   svga_scene_cursor_mono(x, y, &a, &c);
   return a ? 0 : 0xff000000u | c;
}

#define SVGA_SCENE_ACURSOR_W 21u
#define SVGA_SCENE_ACURSOR_H 17u
#define SVGA_SCENE_ACURSOR_HOTX 10u
#define SVGA_SCENE_ACURSOR_HOTY 8u
#define SVGA_SCENE_ACURSOR_X 333
#define SVGA_SCENE_ACURSOR_Y 222

/* The alpha cursor, premultiplied ARGB as DEFINE_ALPHA_CURSOR takes it: a
 * diamond, opaque in the middle, then rings of alpha 0xcc and 0x99 (whose
 * colour channels are multiples of 4 and 3, so un-premultiplying them is
 * exact: c * 255 / 0xcc = c * 5 / 4, c * 255 / 0x99 = c * 5 / 3), then a
 * faint ring of alpha 0x33, transparent outside. */
static inline uint32_t svga_scene_cursor_alpha(uint32_t x, uint32_t y)
{
   uint32_t dx = x > SVGA_SCENE_ACURSOR_HOTX ? x - SVGA_SCENE_ACURSOR_HOTX
                                             : SVGA_SCENE_ACURSOR_HOTX - x;
   uint32_t dy = y > SVGA_SCENE_ACURSOR_HOTY ? y - SVGA_SCENE_ACURSOR_HOTY
                                             : SVGA_SCENE_ACURSOR_HOTY - y;
   uint32_t d = dx + dy;

   if (d <= 4) {
      return 0xff000000u | (x * 12u) << 16 | (y * 15u) << 8 | (0xffu - x * 12u);
   }
   if (d <= 7) {
      return 0xcc000000u | 0xccu << 16 | (4u * (y % 51u)) << 8 | 0x40u;
   }
   if (d <= 10) {
      return 0x99000000u | 0x30u << 16 | (3u * x) << 8 | 0x99u;
   }
   if (d <= 12) {
      return 0x33101010u;
   }
   return 0;
}

/* ---- scene 4: screen object and blits */

typedef struct svga_scene_blit {
   int32_t ox, oy;                 /* GMRFB position of the rectangle's top left */
   int32_t l, t, r, b;             /* destination on screen 0 (may stick out) */
} svga_scene_blit;

#define SVGA_SCENE_NBLITS 5u

/* Every source pixel lies inside the 640x480 GMRFB. */
static inline svga_scene_blit svga_scene_blit_get(unsigned i)
{
   switch (i) {
   case 0: return (svga_scene_blit){ 0, 0, 0, 0, 640, 480 };          /* all of the GMRFB */
   case 1: return (svga_scene_blit){ 400, 300, 100, 100, 300, 200 };  /* moved */
   case 2: return (svga_scene_blit){ 0, 0, 680, 440, 780, 520 };      /* clipped right, bottom */
   case 3: return (svga_scene_blit){ 50, 60, -20, -10, 80, 40 };      /* clipped left, top */
   default: return (svga_scene_blit){ 560, 100, 640, 0, 720, 200 };   /* right strip, part */
   }
}

/* Scene 4 at (x, y): the last blit that covers it, black if none. */
static inline uint32_t svga_scene_screen(uint32_t x, uint32_t y)
{
   for (unsigned i = SVGA_SCENE_NBLITS; i-- > 0;) {
      svga_scene_blit b = svga_scene_blit_get(i);
      int32_t xi = (int32_t)x, yi = (int32_t)y;

      if (xi >= b.l && xi < b.r && yi >= b.t && yi < b.b) {
         return svga_scene_gmrfb((uint32_t)(b.ox + (xi - b.l)), (uint32_t)(b.oy + (yi - b.t)));
      }
   }
   return 0;
}

/* ---- scene 5: annotations */

#define SVGA_SCENE_FILL_COLOR 0x00336699u
/* ANNOTATION_FILL + blit: [l, r) x [t, b) on screen 0 */
#define SVGA_SCENE_FILL_L 200
#define SVGA_SCENE_FILL_T 300
#define SVGA_SCENE_FILL_R 520
#define SVGA_SCENE_FILL_B 360
/* ANNOTATION_COPY from (SRC_X, SRC_Y) of screen 0 + blit to [l, r) x [t, b) */
#define SVGA_SCENE_COPY_SRC_X 20
#define SVGA_SCENE_COPY_SRC_Y 20
#define SVGA_SCENE_COPY_L 400
#define SVGA_SCENE_COPY_T 20
#define SVGA_SCENE_COPY_R 560
#define SVGA_SCENE_COPY_B 140

static inline uint32_t svga_scene_annotation(uint32_t x, uint32_t y)
{
   if (x >= SVGA_SCENE_FILL_L && x < SVGA_SCENE_FILL_R && y >= SVGA_SCENE_FILL_T &&
       y < SVGA_SCENE_FILL_B) {
      return SVGA_SCENE_FILL_COLOR;
   }
   if (x >= SVGA_SCENE_COPY_L && x < SVGA_SCENE_COPY_R && y >= SVGA_SCENE_COPY_T &&
       y < SVGA_SCENE_COPY_B) {
      return svga_scene_screen(x - SVGA_SCENE_COPY_L + SVGA_SCENE_COPY_SRC_X,
                               y - SVGA_SCENE_COPY_T + SVGA_SCENE_COPY_SRC_Y);
   }
   return svga_scene_screen(x, y);
}

#endif
