/*
 * mks/svga/svga-display.c - what the shadow framebuffer shows, and the
 * commands that draw: the legacy framebuffer (GFB) with UPDATE, RECT_COPY
 * and RECT_FILL; screen objects with DEFINE/DESTROY_SCREEN, the GMRFB and
 * the two blits; pixel format conversion; scanning memory the guest
 * writes directly.
 *
 * The view. With ENABLE set, the shadow shows the primary screen object
 * when one is defined (the lowest ID with SVGA_SCREEN_IS_PRIMARY, else the
 * lowest ID), otherwise the legacy framebuffer unless ENABLE_HIDE is set.
 * Otherwise it shows the VGA side (vga.c): a VBE mode or the text screen.
 * A change of view reallocates the shadow (a new generation) and redraws
 * it from its source.
 *
 * Screens. Up to 16 (IDs 0-15), each at most MAX_WIDTH x MAX_HEIGHT; all
 * together at most VRAM_SIZE bytes at 32 bpp (MAX_PRIMARY_MEM). A screen's
 * contents are kept in its backing store (VRAM at the given offset and
 * pitch, 32-bit BGRX; it must lie inside VRAM) or, without one, in device
 * memory. Redefining a screen keeps the overlapping contents; a
 * deactivated screen (SVGA_SCREEN_DEACTIVATE) reads as black and drops
 * writes; a blanked one (SVGA_SCREEN_BLANKING) keeps its contents but
 * shows black. UPDATE copies the legacy framebuffer to every screen it
 * intersects (in root coordinates), as the spec says; with no screens it
 * copies to the shadow when the view is the legacy framebuffer.
 *
 * Rectangles are clipped to their targets; only errors of protocol (an
 * undefined screen or GMRFB, a GMRFB format that does not exist, GMR
 * memory that is not there) are errors.
 */
#include "mks/svga/svga-int.h"

#include <glib.h>
#include <string.h>

/* ---- pixel formats */

unsigned
svga_pf_bytes(svga_pf pf)
{
   switch (pf) {
   case SVGA_PF_8: return 1;
   case SVGA_PF_555:
   case SVGA_PF_565: return 2;
   case SVGA_PF_888: return 3;
   case SVGA_PF_X888: return 4;
   default: return 0;
   }
}

static uint32_t
x5to8(uint32_t v)
{
   return (v << 3) | (v >> 2);
}

static uint32_t
x6to8(uint32_t v)
{
   return (v << 2) | (v >> 4);
}

void
svga_convert_row(uint32_t *dst, const uint8_t *src, uint32_t n, svga_pf pf, const uint32_t *pal)
{
   switch (pf) {
   case SVGA_PF_X888:
      for (uint32_t i = 0; i < n; i++, src += 4) {
         dst[i] = (uint32_t)src[0] | (uint32_t)src[1] << 8 | (uint32_t)src[2] << 16;
      }
      break;
   case SVGA_PF_888:
      for (uint32_t i = 0; i < n; i++, src += 3) {
         dst[i] = (uint32_t)src[0] | (uint32_t)src[1] << 8 | (uint32_t)src[2] << 16;
      }
      break;
   case SVGA_PF_565:
      for (uint32_t i = 0; i < n; i++, src += 2) {
         uint32_t v = src[0] | (uint32_t)src[1] << 8;
         dst[i] = x5to8(v >> 11) << 16 | x6to8((v >> 5) & 63) << 8 | x5to8(v & 31);
      }
      break;
   case SVGA_PF_555:
      for (uint32_t i = 0; i < n; i++, src += 2) {
         uint32_t v = src[0] | (uint32_t)src[1] << 8;
         dst[i] = x5to8((v >> 10) & 31) << 16 | x5to8((v >> 5) & 31) << 8 | x5to8(v & 31);
      }
      break;
   case SVGA_PF_8:
      for (uint32_t i = 0; i < n; i++) {
         dst[i] = pal[src[i]];
      }
      break;
   default:
      memset(dst, 0, (size_t)n * 4);
      break;
   }
}

void
svga_pack_row(uint8_t *dst, const uint32_t *src, uint32_t n, svga_pf pf)
{
   for (uint32_t i = 0; i < n; i++) {
      uint32_t p = src[i], r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
      switch (pf) {
      case SVGA_PF_X888:
         dst[0] = (uint8_t)b, dst[1] = (uint8_t)g, dst[2] = (uint8_t)r, dst[3] = 0;
         dst += 4;
         break;
      case SVGA_PF_888:
         dst[0] = (uint8_t)b, dst[1] = (uint8_t)g, dst[2] = (uint8_t)r;
         dst += 3;
         break;
      case SVGA_PF_565: {
         uint32_t v = (r >> 3) << 11 | (g >> 2) << 5 | b >> 3;
         dst[0] = (uint8_t)v, dst[1] = (uint8_t)(v >> 8);
         dst += 2;
         break;
      }
      case SVGA_PF_555: {
         uint32_t v = (r >> 3) << 10 | (g >> 3) << 5 | b >> 3;
         dst[0] = (uint8_t)v, dst[1] = (uint8_t)(v >> 8);
         dst += 2;
         break;
      }
      default:
         return;
      }
   }
}

/* n pixels at VRAM byte offset off; what lies outside VRAM is black. */
static void
vram_row(svga *s, uint64_t off, uint32_t n, svga_pf pf, const uint32_t *pal, uint32_t *dst)
{
   unsigned b = svga_pf_bytes(pf);
   uint64_t fit = (b && off < s->vram_size) ? (s->vram_size - off) / b : 0;
   uint32_t k = (uint32_t)MIN((uint64_t)n, fit);
   if (k) {
      svga_convert_row(dst, s->vram + off, k, pf, pal);
   }
   memset(dst + k, 0, (size_t)(n - k) * 4);
}

/* ---- palettes */

void
svga_palette_changed(svga *s)
{
   for (unsigned i = 0; i < 256; i++) {
      const uint8_t *c = &s->palette[i * 3];
      s->pal_svga[i] = (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2];
   }
   if (s->view.src == SVGA_SRC_LEGACY && s->view.pf == SVGA_PF_8) {
      s->redraw = true;
   }
}

void
svga_dac_changed(svga *s)
{
   bool wide = s->vga.vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC;
   for (unsigned i = 0; i < 256; i++) {
      const uint8_t *c = &s->vga.dac[i * 3];
      uint32_t r = wide ? c[0] : x6to8(c[0] & 63), g = wide ? c[1] : x6to8(c[1] & 63);
      uint32_t b = wide ? c[2] : x6to8(c[2] & 63);
      s->pal_dac[i] = r << 16 | g << 8 | b;
   }
   if (s->view.src == SVGA_SRC_VGA_TEXT) {
      s->text.valid = false;
   } else if (s->view.src == SVGA_SRC_VBE && s->view.pf == SVGA_PF_8) {
      s->redraw = true;
   }
}

/* ---- screens */

static int
primary_screen(svga *s)
{
   int first = -1;
   for (unsigned i = 0; i < SVGA_MAX_SCREENS; i++) {
      if (!s->screen[i].defined) {
         continue;
      }
      if (s->screen[i].flags & SVGA_SCREEN_IS_PRIMARY) {
         return (int)i;
      }
      if (first < 0) {
         first = (int)i;
      }
   }
   return first;
}

uint64_t
svga_screens_mem(svga *s, uint32_t except_id)
{
   uint64_t sum = 0;
   for (unsigned i = 0; i < SVGA_MAX_SCREENS; i++) {
      if (s->screen[i].defined && i != except_id) {
         sum += (uint64_t)s->screen[i].w * s->screen[i].h * 4;
      }
   }
   return sum;
}

bool
svga_screen_check(svga *s, uint32_t id, uint32_t flags, uint32_t w, uint32_t h, uint32_t bs_gmr,
                  uint32_t bs_offset, uint32_t bs_pitch, uint64_t other_mem, char **why)
{
   if (id >= SVGA_MAX_SCREENS) {
      *why = g_strdup_printf("screen ID %u (0-%u)", id, SVGA_MAX_SCREENS - 1);
      return false;
   }
   if (w == 0 || h == 0 || w > s->max_w || h > s->max_h) {
      *why = g_strdup_printf("screen %u of %u x %u (1..%u x 1..%u)", id, w, h, s->max_w,
                             s->max_h);
      return false;
   }
   if (other_mem + (uint64_t)w * h * 4 > s->vram_size) {
      *why = g_strdup_printf("screen %u of %u x %u: all screens together need more than "
                             "MAX_PRIMARY_MEM (%u bytes)", id, w, h, s->vram_size);
      return false;
   }
   if (bs_gmr == SVGA_GMR_NULL || (flags & SVGA_SCREEN_DEACTIVATE)) {
      return true;
   }
   if (bs_gmr != SVGA_GMR_FRAMEBUFFER) {
      *why = g_strdup_printf("screen %u: backing store in GMR 0x%x (it must be in VRAM)", id,
                             bs_gmr);
      return false;
   }
   uint64_t end = (uint64_t)bs_offset + (uint64_t)(h - 1) * bs_pitch + (uint64_t)w * 4;
   if (bs_pitch < (uint64_t)w * 4 || end > s->vram_size) {
      *why = g_strdup_printf("screen %u: backing store at VRAM offset 0x%x, pitch %u, does not "
                             "fit %u x %u pixels in VRAM", id, bs_offset, bs_pitch, w, h);
      return false;
   }
   return true;
}

static bool
screen_shown(svga *s, uint32_t id)
{
   return s->view.src == SVGA_SRC_SCREEN && s->view.screen == id && !s->view.black;
}

/* n pixels of row y from x (inside the screen). */
static void
screen_get(svga *s, const svga_screen *scr, uint32_t x, uint32_t y, uint32_t n, uint32_t *out)
{
   if (scr->flags & SVGA_SCREEN_DEACTIVATE) {
      memset(out, 0, (size_t)n * 4);
   } else if (scr->backed) {
      uint64_t off = scr->bs_offset + (uint64_t)y * scr->bs_pitch + (uint64_t)x * 4;
      svga_convert_row(out, s->vram + off, n, SVGA_PF_X888, NULL);
   } else {
      memcpy(out, scr->priv + (size_t)y * scr->w + x, (size_t)n * 4);
   }
}

/* Store n pixels at (x, y) of screen id; also into the shadow (locked by
 * the caller) when it shows that screen. */
static void
screen_put(svga *s, uint32_t id, uint32_t x, uint32_t y, uint32_t n, const uint32_t *px)
{
   svga_screen *scr = &s->screen[id];
   if (scr->flags & SVGA_SCREEN_DEACTIVATE) {
      return;
   }
   if (scr->backed) {
      uint64_t off = scr->bs_offset + (uint64_t)y * scr->bs_pitch + (uint64_t)x * 4;
      svga_pack_row(s->vram + off, px, n, SVGA_PF_X888);
   } else {
      memcpy(scr->priv + (size_t)y * scr->w + x, px, (size_t)n * 4);
   }
   if (screen_shown(s, id)) {
      uint32_t fw, fh, stride;
      uint32_t *fb = svga_fb_pixels_locked(s->fb, &fw, &fh, &stride);
      if (y < fh && x < fw) {
         memcpy(fb + (size_t)y * stride + x, px, (size_t)MIN(n, fw - x) * 4);
      }
   }
}

static void
screen_free(svga_screen *scr)
{
   g_free(scr->priv);
   memset(scr, 0, sizeof *scr);
}

void
svga_screens_free(svga *s)
{
   for (unsigned i = 0; i < SVGA_MAX_SCREENS; i++) {
      screen_free(&s->screen[i]);
   }
}

/* Install nw as screen id (checked), keeping the overlapping contents. */
static bool
screen_install(svga *s, uint32_t id, svga_screen *nw, char **why)
{
   svga_screen *old = &s->screen[id];
   bool active = !(nw->flags & SVGA_SCREEN_DEACTIVATE);
   if (!nw->backed && active) {
      nw->priv = g_try_new0(uint32_t, (size_t)nw->w * nw->h);
      if (!nw->priv) {
         *why = g_strdup_printf("screen %u: out of host memory", id);
         return false;
      }
   }
   bool same_store = old->defined && old->backed && nw->backed &&
                     old->bs_offset == nw->bs_offset && old->bs_pitch == nw->bs_pitch;
   if (old->defined && active && !same_store) {
      uint32_t cw = MIN(old->w, nw->w), ch = MIN(old->h, nw->h);
      uint32_t *keep = g_try_new(uint32_t, (size_t)cw * ch);
      if (keep) {
         for (uint32_t y = 0; y < ch; y++) {
            screen_get(s, old, 0, y, cw, keep + (size_t)y * cw);
         }
         svga_screen tmp = *old;
         *old = *nw;
         old->defined = true;
         svga_fb_lock(s->fb);
         for (uint32_t y = 0; y < ch; y++) {
            screen_put(s, id, 0, y, cw, keep + (size_t)y * cw);
         }
         svga_fb_unlock(s->fb);
         g_free(tmp.priv);
         g_free(keep);
      } else {
         g_free(old->priv);
         *old = *nw;
      }
   } else {
      g_free(old->priv);
      *old = *nw;
   }
   old->defined = true;
   if (s->view.src == SVGA_SRC_SCREEN && s->view.screen == id) {
      s->redraw = true;
   }
   svga_cursor_update_pos(s);
   return true;
}

bool
svga_cmd_define_screen(svga *s, const uint32_t *w, uint32_t size)
{
   svga_screen nw = { 0 };
   uint32_t id = w[2];
   nw.flags = w[3];
   nw.w = w[4];
   nw.h = w[5];
   nw.x = (int32_t)w[6];
   nw.y = (int32_t)w[7];
   uint32_t gmr = SVGA_GMR_NULL, off = 0, pitch = 0;
   if (size >= SVGA_SCREEN_SIZE_V2 - 4) {
      gmr = w[8];
      off = w[9];
      pitch = w[10];
   }
   if (size >= SVGA_SCREEN_SIZE_V2) {
      nw.clone_count = w[11];
   }
   char *why = NULL;
   if (!svga_screen_check(s, id, nw.flags, nw.w, nw.h, gmr, off, pitch,
                          id < SVGA_MAX_SCREENS ? svga_screens_mem(s, id) : 0, &why)) {
      svga_fail(s, "DEFINE_SCREEN: %s", why);
      g_free(why);
      return false;
   }
   if (gmr == SVGA_GMR_FRAMEBUFFER && !(nw.flags & SVGA_SCREEN_DEACTIVATE)) {
      nw.backed = true;
      nw.bs_offset = off;
      nw.bs_pitch = pitch;
   }
   if (!screen_install(s, id, &nw, &why)) {
      svga_fail(s, "DEFINE_SCREEN: %s", why);
      g_free(why);
      return false;
   }
   return true;
}

bool
svga_cmd_destroy_screen(svga *s, uint32_t id)
{
   if (id >= SVGA_MAX_SCREENS) {
      svga_fail(s, "DESTROY_SCREEN of screen %u (0-%u)", id, SVGA_MAX_SCREENS - 1);
      return false;
   }
   if (!s->screen[id].defined) {
      svga_guest_log(s, "DESTROY_SCREEN of screen %u, which is not defined", id);
      return true;
   }
   screen_free(&s->screen[id]);
   svga_cursor_update_pos(s);
   return true;
}

void
svga_screens_legacy_mode(svga *s)
{
   for (unsigned i = 1; i < SVGA_MAX_SCREENS; i++) {
      screen_free(&s->screen[i]);
   }
   svga_screen nw = { 0 };
   nw.flags = SVGA_SCREEN_MUST_BE_SET | SVGA_SCREEN_IS_PRIMARY;
   nw.w = s->width;
   nw.h = s->height;
   char *why = NULL;
   if (!svga_screen_check(s, 0, nw.flags, nw.w, nw.h, SVGA_GMR_NULL, 0, 0, 0, &why) ||
       !screen_install(s, 0, &nw, &why)) {
      svga_guest_log(s, "legacy mode %u x %u cannot redefine screen 0: %s", nw.w, nw.h, why);
      g_free(why);
      screen_free(&s->screen[0]);
   }
}

/* ---- the view */

static void
compute_view(svga *s, svga_view *v)
{
   memset(v, 0, sizeof *v);
   if (s->enable & SVGA_REG_ENABLE_ENABLE) {
      int scr = primary_screen(s);
      if (scr >= 0) {
         const svga_screen *p = &s->screen[scr];
         v->src = SVGA_SRC_SCREEN;
         v->screen = (uint32_t)scr;
         v->w = p->w;
         v->h = p->h;
         v->black = p->flags & (SVGA_SCREEN_DEACTIVATE | SVGA_SCREEN_BLANKING);
         return;
      }
      if (!(s->enable & SVGA_REG_ENABLE_HIDE)) {
         v->src = SVGA_SRC_LEGACY;
         v->w = s->width;
         v->offset = 0;
         v->pitch = svga_reg_bytes_per_line(s);
         v->pf = svga_bpp_format(s->bpp);
         /* only the lines that start inside VRAM are shown */
         uint64_t fit = v->pitch ? (s->vram_size + (uint64_t)v->pitch - 1) / v->pitch : 1;
         v->h = (uint32_t)MAX(MIN((uint64_t)s->height, fit), 1);
         return;
      }
   }
   svga_vga_view(s, v);
}

static bool
view_equal(const svga_view *a, const svga_view *b)
{
   return a->src == b->src && a->w == b->w && a->h == b->h && a->offset == b->offset &&
          a->pitch == b->pitch && a->pf == b->pf && a->screen == b->screen &&
          a->black == b->black;
}

/* Redraw the whole shadow from the view's source; fb locked. */
static void
redraw_locked(svga *s)
{
   uint32_t fw, fh, stride;
   uint32_t *fb = svga_fb_pixels_locked(s->fb, &fw, &fh, &stride);
   const svga_view *v = &s->view;
   for (uint32_t y = 0; y < fh; y++) {
      uint32_t *row = fb + (size_t)y * stride;
      switch (v->src) {
      case SVGA_SRC_VBE:
      case SVGA_SRC_LEGACY:
         vram_row(s, v->offset + (uint64_t)y * v->pitch, fw, v->pf,
                  v->src == SVGA_SRC_VBE ? s->pal_dac : s->pal_svga, row);
         break;
      case SVGA_SRC_SCREEN:
         if (v->black || y >= s->screen[v->screen].h) {
            memset(row, 0, (size_t)fw * 4);
         } else {
            screen_get(s, &s->screen[v->screen], 0, y, MIN(fw, s->screen[v->screen].w), row);
         }
         break;
      default:
         memset(row, 0, (size_t)fw * 4);
         break;
      }
   }
   svga_fb_add_damage_locked(s->fb, 0, 0, fw, fh);
}

void
svga_display_reset(svga *s)
{
   memset(&s->view, 0, sizeof s->view);
   s->redraw = true;
   s->text.valid = false;
}

void
svga_display_sync(svga *s)
{
   svga_view v;
   compute_view(s, &v);
   bool changed = !view_equal(&v, &s->view);
   if (!changed && !s->redraw) {
      return;
   }
   s->view = v;
   s->redraw = false;
   svga_fb_lock(s->fb);
   uint32_t fw, fh, stride;
   svga_fb_pixels_locked(s->fb, &fw, &fh, &stride);
   if ((changed || fw != v.w || fh != v.h) && !svga_fb_resize_locked(s->fb, v.w, v.h)) {
      svga_guest_log(s, "cannot show a %u x %u picture", v.w, v.h);
   }
   redraw_locked(s);
   svga_fb_unlock(s->fb);
   if (v.src == SVGA_SRC_VGA_TEXT) {
      s->text.valid = false;
      svga_vga_text_scan(s, true);
   }
   svga_cursor_update_pos(s);
}

/* Compare the memory behind a VBE or legacy view with the shadow. */
static void
scan_vram_view(svga *s)
{
   const svga_view *v = &s->view;
   svga_fb_lock(s->fb);
   uint32_t fw, fh, stride;
   uint32_t *fb = svga_fb_pixels_locked(s->fb, &fw, &fh, &stride);
   uint32_t *tmp = g_new(uint32_t, fw);
   const uint32_t *pal = v->src == SVGA_SRC_VBE ? s->pal_dac : s->pal_svga;
   for (uint32_t y = 0; y < fh; y++) {
      uint32_t *row = fb + (size_t)y * stride;
      vram_row(s, v->offset + (uint64_t)y * v->pitch, fw, v->pf, pal, tmp);
      uint32_t i0 = 0, i1 = fw;
      while (i0 < fw && tmp[i0] == row[i0]) {
         i0++;
      }
      if (i0 == fw) {
         continue;
      }
      while (i1 > i0 && tmp[i1 - 1] == row[i1 - 1]) {
         i1--;
      }
      memcpy(row + i0, tmp + i0, (size_t)(i1 - i0) * 4);
      svga_fb_add_damage_locked(s->fb, i0, y, i1 - i0, 1);
   }
   g_free(tmp);
   svga_fb_unlock(s->fb);
}

void
svga_display_scan(svga *s)
{
   switch (s->view.src) {
   case SVGA_SRC_VGA_TEXT:
      svga_vga_text_scan(s, false);
      break;
   case SVGA_SRC_VBE:
      scan_vram_view(s);
      break;
   case SVGA_SRC_LEGACY:
      if (!svga_fifo_enabled(s) || s->traces) {
         scan_vram_view(s);
      }
      break;
   default:
      break;
   }
}

/* ---- the legacy framebuffer */

typedef struct gfb {
   uint32_t w, h, pitch;
   svga_pf pf;
   unsigned bytes;
} gfb;

static void
gfb_get(svga *s, gfb *g)
{
   g->w = s->width;
   g->h = s->height;
   g->pitch = svga_reg_bytes_per_line(s);
   g->pf = svga_bpp_format(s->bpp);
   g->bytes = svga_pf_bytes(g->pf);
}

/* Clip [x, x+w) to [0, limit). */
static bool
clip1(uint64_t *x, uint64_t *w, uint64_t limit)
{
   if (*x >= limit) {
      return false;
   }
   *w = MIN(*w, limit - *x);
   return *w > 0;
}

bool
svga_cmd_update(svga *s, uint32_t ux, uint32_t uy, uint32_t uw, uint32_t uh)
{
   gfb g;
   gfb_get(s, &g);
   uint64_t x = ux, y = uy, w = uw, h = uh;
   if (!clip1(&x, &w, g.w) || !clip1(&y, &h, g.h)) {
      return true;
   }
   svga_display_sync(s);
   bool screens = primary_screen(s) >= 0;
   if (!screens && s->view.src != SVGA_SRC_LEGACY) {
      return true;   /* nothing shows the legacy framebuffer */
   }
   uint32_t *tmp = g_new(uint32_t, w);
   svga_fb_lock(s->fb);
   for (uint64_t r = y; r < y + h; r++) {
      vram_row(s, r * g.pitch + x * g.bytes, (uint32_t)w, g.pf, s->pal_svga, tmp);
      if (!screens) {
         uint32_t fw, fh, stride;
         uint32_t *fb = svga_fb_pixels_locked(s->fb, &fw, &fh, &stride);
         if (r < fh && x < fw) {
            memcpy(fb + r * stride + x, tmp, (size_t)MIN(w, fw - x) * 4);
         }
         continue;
      }
      for (uint32_t id = 0; id < SVGA_MAX_SCREENS; id++) {
         const svga_screen *scr = &s->screen[id];
         if (!scr->defined) {
            continue;
         }
         /* the part of this row inside the screen, in root coordinates */
         int64_t sy = (int64_t)r - scr->y;
         int64_t x0 = MAX((int64_t)x, (int64_t)scr->x);
         int64_t x1 = MIN((int64_t)(x + w), (int64_t)scr->x + scr->w);
         if (sy < 0 || sy >= scr->h || x0 >= x1) {
            continue;
         }
         screen_put(s, id, (uint32_t)(x0 - scr->x), (uint32_t)sy, (uint32_t)(x1 - x0),
                    tmp + (x0 - (int64_t)x));
      }
   }
   if (!screens) {
      svga_fb_add_damage_locked(s->fb, (int64_t)x, (int64_t)y, (int64_t)w, (int64_t)h);
   } else if (s->view.src == SVGA_SRC_SCREEN) {
      const svga_screen *scr = &s->screen[s->view.screen];
      svga_fb_add_damage_locked(s->fb, (int64_t)x - scr->x, (int64_t)y - scr->y, (int64_t)w,
                                (int64_t)h);
   }
   svga_fb_unlock(s->fb);
   g_free(tmp);
   return true;
}

bool
svga_cmd_rect_copy(svga *s, const uint32_t *w)
{
   gfb g;
   gfb_get(s, &g);
   uint64_t sx = w[1], sy = w[2], dx = w[3], dy = w[4], cw = w[5], ch = w[6];
   if (!clip1(&sx, &cw, g.w) || !clip1(&dx, &cw, g.w) || !clip1(&sy, &ch, g.h) ||
       !clip1(&dy, &ch, g.h)) {
      return true;
   }
   uint64_t row_bytes = cw * g.bytes;
   /* rows must lie in VRAM */
   uint64_t last = MAX(sy, dy) + ch - 1;
   if (last * g.pitch + MAX(sx, dx) * g.bytes + row_bytes > s->vram_size) {
      svga_guest_log(s, "RECT_COPY outside VRAM ignored");
      return true;
   }
   for (uint64_t i = 0; i < ch; i++) {
      uint64_t r = dy > sy ? ch - 1 - i : i;   /* overlap-safe order */
      memmove(s->vram + (dy + r) * g.pitch + dx * g.bytes,
              s->vram + (sy + r) * g.pitch + sx * g.bytes, row_bytes);
   }
   return svga_cmd_update(s, (uint32_t)dx, (uint32_t)dy, (uint32_t)cw, (uint32_t)ch);
}

bool
svga_cmd_rect_fill(svga *s, const uint32_t *w)
{
   gfb g;
   gfb_get(s, &g);
   uint64_t x = w[2], y = w[3], cw = w[4], ch = w[5];
   if (!clip1(&x, &cw, g.w) || !clip1(&y, &ch, g.h)) {
      return true;
   }
   if ((y + ch - 1) * g.pitch + (x + cw) * g.bytes > s->vram_size) {
      svga_guest_log(s, "RECT_FILL outside VRAM ignored");
      return true;
   }
   uint8_t px[4];
   memcpy(px, &w[1], 4);   /* the color in the framebuffer's format */
   for (uint64_t r = y; r < y + ch; r++) {
      uint8_t *d = s->vram + r * g.pitch + x * g.bytes;
      for (uint64_t i = 0; i < cw; i++, d += g.bytes) {
         memcpy(d, px, g.bytes);
      }
   }
   return svga_cmd_update(s, (uint32_t)x, (uint32_t)y, (uint32_t)cw, (uint32_t)ch);
}

/* ---- GMRFB and blits */

static svga_pf
gmrfb_format(uint32_t bpp, uint32_t depth)
{
   if (bpp == 32 && depth == 24) {
      return SVGA_PF_X888;
   }
   if (bpp == 24 && depth == 24) {
      return SVGA_PF_888;
   }
   if (bpp == 16 && depth == 16) {
      return SVGA_PF_565;
   }
   if (bpp == 16 && depth == 15) {
      return SVGA_PF_555;
   }
   return SVGA_PF_NONE;
}

bool
svga_cmd_define_gmrfb(svga *s, const uint32_t *w)
{
   uint32_t fmt = w[4];
   uint32_t bpp = fmt & 0xff, depth = (fmt >> 8) & 0xff;
   if ((fmt >> 16) || gmrfb_format(bpp, depth) == SVGA_PF_NONE) {
      svga_fail(s, "DEFINE_GMRFB with format 0x%x (32/24, 24/24, 16/16 or 16/15 bpp/depth)",
                fmt);
      return false;
   }
   s->gmrfb.gmr = w[1];
   s->gmrfb.offset = w[2];
   s->gmrfb.pitch = w[3];
   s->gmrfb.bpp = bpp;
   s->gmrfb.depth = depth;
   s->gmrfb.defined = true;
   return true;
}

typedef struct blit_area {
   int64_t x0, y0, x1, y1;    /* on the screen, clipped, half open */
   int64_t gx, gy;            /* GMRFB position of (x0, y0) */
} blit_area;

/* Clip rect (screen coordinates) to the screen and the GMRFB's origin;
 * origin is the GMRFB position of the rectangle's top left. */
static bool
blit_clip(const svga_screen *scr, int64_t l, int64_t t, int64_t r, int64_t b, int64_t ox,
          int64_t oy, blit_area *a)
{
   a->x0 = MAX(l, 0);
   a->y0 = MAX(t, 0);
   a->x1 = MIN(r, (int64_t)scr->w);
   a->y1 = MIN(b, (int64_t)scr->h);
   /* no GMRFB pixels left of or above its origin */
   if (ox + (a->x0 - l) < 0) {
      a->x0 = l - ox;
   }
   if (oy + (a->y0 - t) < 0) {
      a->y0 = t - oy;
   }
   a->gx = ox + (a->x0 - l);
   a->gy = oy + (a->y0 - t);
   return a->x0 < a->x1 && a->y0 < a->y1;
}

static bool
gmrfb_ready(svga *s, svga_pf *pf, const char *what)
{
   *pf = gmrfb_format(s->gmrfb.bpp, s->gmrfb.depth);
   if (!s->gmrfb.defined || *pf == SVGA_PF_NONE) {
      svga_fail(s, "%s before DEFINE_GMRFB", what);
      return false;
   }
   return true;
}

bool
svga_cmd_blit_to_screen(svga *s, const uint32_t *w)
{
   int64_t ox = (int32_t)w[1], oy = (int32_t)w[2];
   int64_t l = (int32_t)w[3], t = (int32_t)w[4], r = (int32_t)w[5], b = (int32_t)w[6];
   uint32_t dest = w[7];
   svga_pf pf;
   if (!gmrfb_ready(s, &pf, "BLIT_GMRFB_TO_SCREEN")) {
      return false;
   }
   if (dest != SVGA_ID_INVALID && (dest >= SVGA_MAX_SCREENS || !s->screen[dest].defined)) {
      svga_fail(s, "BLIT_GMRFB_TO_SCREEN to screen %u, which is not defined", dest);
      return false;
   }
   svga_display_sync(s);
   unsigned bytes = svga_pf_bytes(pf);
   bool ok = true;
   svga_fb_lock(s->fb);
   for (uint32_t id = 0; id < SVGA_MAX_SCREENS && ok; id++) {
      const svga_screen *scr = &s->screen[id];
      if (!scr->defined || (dest != SVGA_ID_INVALID && dest != id)) {
         continue;
      }
      int64_t dx = dest == SVGA_ID_INVALID ? scr->x : 0, dy = dest == SVGA_ID_INVALID ? scr->y : 0;
      blit_area a;
      if (!blit_clip(scr, l - dx, t - dy, r - dx, b - dy, ox, oy, &a)) {
         continue;
      }
      uint32_t n = (uint32_t)(a.x1 - a.x0);
      uint8_t *raw = g_malloc((size_t)n * bytes);
      uint32_t *px = g_new(uint32_t, n);
      for (int64_t y = a.y0; y < a.y1 && ok; y++) {
         uint64_t off = s->gmrfb.offset + (uint64_t)(a.gy + (y - a.y0)) * s->gmrfb.pitch +
                        (uint64_t)a.gx * bytes;
         if (!svga_gmr_read(s, s->gmrfb.gmr, off, raw, (uint64_t)n * bytes)) {
            svga_fail(s, "BLIT_GMRFB_TO_SCREEN reads GMR 0x%x at offset 0x%llx: not mapped",
                      s->gmrfb.gmr, (unsigned long long)off);
            ok = false;
            break;
         }
         svga_convert_row(px, raw, n, pf, NULL);
         screen_put(s, id, (uint32_t)a.x0, (uint32_t)y, n, px);
      }
      if (screen_shown(s, id)) {
         svga_fb_add_damage_locked(s->fb, a.x0, a.y0, a.x1 - a.x0, a.y1 - a.y0);
      }
      g_free(raw);
      g_free(px);
   }
   svga_fb_unlock(s->fb);
   return ok;
}

bool
svga_cmd_blit_from_screen(svga *s, const uint32_t *w)
{
   int64_t ox = (int32_t)w[1], oy = (int32_t)w[2];
   int64_t l = (int32_t)w[3], t = (int32_t)w[4], r = (int32_t)w[5], b = (int32_t)w[6];
   uint32_t src = w[7];
   svga_pf pf;
   if (!gmrfb_ready(s, &pf, "BLIT_SCREEN_TO_GMRFB")) {
      return false;
   }
   if (src >= SVGA_MAX_SCREENS || !s->screen[src].defined) {
      svga_fail(s, "BLIT_SCREEN_TO_GMRFB from screen %u, which is not defined", src);
      return false;
   }
   const svga_screen *scr = &s->screen[src];
   blit_area a;
   if (!blit_clip(scr, l, t, r, b, ox, oy, &a)) {
      return true;
   }
   unsigned bytes = svga_pf_bytes(pf);
   uint32_t n = (uint32_t)(a.x1 - a.x0);
   uint8_t *raw = g_malloc((size_t)n * bytes);
   uint32_t *px = g_new(uint32_t, n);
   bool ok = true;
   for (int64_t y = a.y0; y < a.y1; y++) {
      screen_get(s, scr, (uint32_t)a.x0, (uint32_t)y, n, px);
      svga_pack_row(raw, px, n, pf);
      uint64_t off = s->gmrfb.offset + (uint64_t)(a.gy + (y - a.y0)) * s->gmrfb.pitch +
                     (uint64_t)a.gx * bytes;
      if (!svga_gmr_write(s, s->gmrfb.gmr, off, raw, (uint64_t)n * bytes)) {
         svga_fail(s, "BLIT_SCREEN_TO_GMRFB writes GMR 0x%x at offset 0x%llx: not mapped",
                   s->gmrfb.gmr, (unsigned long long)off);
         ok = false;
         break;
      }
   }
   g_free(raw);
   g_free(px);
   return ok;
}
