/*
 * mks/svga/svga-ckpt.c - the SVGA device's checkpoint section.
 *
 * Items (integers are u32 unless noted; arrays are little-endian u32):
 *
 *   id enable width height bpp pitchlock config_done guest_id traces
 *   cursor_id cursor_x cursor_y cursor_on irq_mask irq_status
 *   num_guest_displays display_id gmr_id dev_cap index
 *   displays             10 x {is_primary, x, y, w, h}
 *   palette              768 bytes
 *   scratch              64 words
 *   sync_pending (u8), error (u8), error_msg (bytes, while in error)
 *   fifo_min fifo_max    the FIFO bounds last found valid (0: none)
 *   cursor_count, fifo_cursor_seen (u8)
 *   gmr.N                the PPNs (u64 each, all ones = unmapped) of GMR N
 *   gmrfb                {gmr, offset, pitch, bpp, depth, defined}
 *   screen.N             {flags, w, h, x, y, backed, bs_offset, bs_pitch,
 *                        clone_count} of a defined screen
 *   screen.N.pixels      its contents when it has no backing store
 *   cursor               {w, h, hot_x, hot_y}; cursor.image: ARGB words
 *   cursor.pos           {x, y, on, screen}
 *   vga                  VGA registers (see vga_pack); vga.dac 768 bytes
 *   vbe.index (u16), vbe 11 x u16
 *
 * VRAM and FIFO memory are not here: the vmx saves them with guest RAM.
 * Restore checks every item against what the hardware could hold (mode
 * limits, GMR page budget, screens inside VRAM, cursor size, VBE values)
 * and changes nothing when one is wrong; after a restore the shadow is
 * redrawn from VRAM at the next svga_process().
 */
#include "mks/svga/svga-ckpt.h"

#include <glib.h>
#include <string.h>

#define VGA_BYTES (1 + 1 + 8 + 1 + 16 + 1 + 32 + 1 + 1 + 32 + 5 + 1 + 1)
#define VGA_AC_FLIP (1 + 1 + 8 + 1 + 16 + 1 + 32)   /* its byte in "vga" */
#define PPN_LIMIT (1ull << 40)

/* ---- little-endian packing */

static void
pack32(uint8_t *d, const uint32_t *v, size_t n)
{
   for (size_t i = 0; i < n; i++) {
      for (unsigned b = 0; b < 4; b++) {
         d[i * 4 + b] = (uint8_t)(v[i] >> (8 * b));
      }
   }
}

static void
unpack32(uint32_t *v, const uint8_t *d, size_t n)
{
   for (size_t i = 0; i < n; i++) {
      v[i] = (uint32_t)d[i * 4] | (uint32_t)d[i * 4 + 1] << 8 | (uint32_t)d[i * 4 + 2] << 16 |
             (uint32_t)d[i * 4 + 3] << 24;
   }
}

static void
put_words(ckpt_writer *w, const char *tag, const uint32_t *v, size_t n)
{
   uint8_t *buf = g_malloc(n * 4 + 1);
   pack32(buf, v, n);
   ckpt_put_bytes(w, tag, buf, n * 4);
   g_free(buf);
}

static bool
get_words(ckpt_reader *r, const char *tag, uint32_t *v, size_t n)
{
   uint8_t *buf = g_malloc(n * 4 + 1);
   bool ok = ckpt_get_bytes(r, tag, buf, n * 4);
   if (ok) {
      unpack32(v, buf, n);
   }
   g_free(buf);
   return ok;
}

static void
vga_pack(const svga_vga *v, uint8_t *d)
{
   size_t o = 0;
   d[o++] = v->misc;
   d[o++] = v->seq_index;
   memcpy(d + o, v->seq, 8), o += 8;
   d[o++] = v->gc_index;
   memcpy(d + o, v->gc, 16), o += 16;
   d[o++] = v->ac_index;
   memcpy(d + o, v->ac, 32), o += 32;
   d[o++] = v->ac_flip;
   d[o++] = v->crtc_index;
   memcpy(d + o, v->crtc, 32), o += 32;
   d[o++] = v->dac_mask;
   d[o++] = v->dac_read;
   d[o++] = v->dac_write;
   d[o++] = v->dac_sub;
   d[o++] = v->dac_state;
   d[o++] = v->feature;
   d[o++] = v->st1_toggle;
   g_assert(o == VGA_BYTES);
}

static void
vga_unpack(svga_vga *v, const uint8_t *d)
{
   size_t o = 0;
   v->misc = d[o++];
   v->seq_index = d[o++];
   memcpy(v->seq, d + o, 8), o += 8;
   v->gc_index = d[o++];
   memcpy(v->gc, d + o, 16), o += 16;
   v->ac_index = d[o++];
   memcpy(v->ac, d + o, 32), o += 32;
   v->ac_flip = d[o++];
   v->crtc_index = d[o++];
   memcpy(v->crtc, d + o, 32), o += 32;
   v->dac_mask = d[o++];
   v->dac_read = d[o++];
   v->dac_write = d[o++];
   v->dac_sub = d[o++];
   v->dac_state = d[o++];
   v->feature = d[o++];
   v->st1_toggle = d[o++];
}

/* ---- save */

typedef struct reg_item {
   const char *tag;
   size_t off;
} reg_item;

#define REG(f) { #f, offsetof(svga, f) }
static const reg_item regs[] = {
   REG(id), REG(enable), REG(width), REG(height), REG(bpp), REG(pitchlock),
   REG(config_done), REG(guest_id), REG(traces), REG(cursor_id), REG(cursor_x),
   REG(cursor_y), REG(cursor_on), REG(irq_mask), REG(irq_status),
   REG(num_guest_displays), REG(display_id), REG(gmr_id), REG(dev_cap), REG(index),
   { "fifo_min", offsetof(svga, fmin) }, { "fifo_max", offsetof(svga, fmax) },
   REG(cursor_count),
};

static uint32_t *
reg_ptr(svga *s, const reg_item *it)
{
   return (uint32_t *)((uint8_t *)s + it->off);
}

void
svga_ckpt_save(svga *s, ckpt_writer *w)
{
   for (size_t i = 0; i < G_N_ELEMENTS(regs); i++) {
      ckpt_put_u32(w, regs[i].tag, *reg_ptr(s, &regs[i]));
   }
   uint32_t disp[SVGA_MAX_DISPLAYS * 5];
   for (unsigned i = 0; i < SVGA_MAX_DISPLAYS; i++) {
      const svga_display_regs *d = &s->displays[i];
      uint32_t v[5] = { d->is_primary, d->x, d->y, d->w, d->h };
      memcpy(&disp[i * 5], v, sizeof v);
   }
   put_words(w, "displays", disp, G_N_ELEMENTS(disp));
   ckpt_put_bytes(w, "palette", s->palette, sizeof s->palette);
   put_words(w, "scratch", s->scratch, SVGA_SCRATCH_REGS);
   ckpt_put_u8(w, "sync_pending", s->sync_pending);
   ckpt_put_u8(w, "error", s->error);
   if (s->error) {
      ckpt_put_bytes(w, "error_msg", s->error_msg, strlen(s->error_msg));
   }
   ckpt_put_u8(w, "fifo_cursor_seen", s->fifo_cursor_seen);
   char tag[32];
   for (unsigned i = 0; i < SVGA_GMR_IDS; i++) {
      const svga_gmr *g = &s->gmr[i];
      if (!g->npages) {
         continue;
      }
      uint8_t *buf = g_malloc((size_t)g->npages * 8);
      for (uint32_t p = 0; p < g->npages; p++) {
         for (unsigned b = 0; b < 8; b++) {
            buf[p * 8 + b] = (uint8_t)(g->ppn[p] >> (8 * b));
         }
      }
      g_snprintf(tag, sizeof tag, "gmr.%u", i);
      ckpt_put_bytes(w, tag, buf, (size_t)g->npages * 8);
      g_free(buf);
   }
   const uint32_t fb[6] = { s->gmrfb.gmr, s->gmrfb.offset, s->gmrfb.pitch, s->gmrfb.bpp,
                            s->gmrfb.depth, s->gmrfb.defined };
   put_words(w, "gmrfb", fb, 6);
   for (unsigned i = 0; i < SVGA_MAX_SCREENS; i++) {
      const svga_screen *scr = &s->screen[i];
      if (!scr->defined) {
         continue;
      }
      const uint32_t v[9] = { scr->flags, scr->w, scr->h, (uint32_t)scr->x, (uint32_t)scr->y,
                              scr->backed, scr->bs_offset, scr->bs_pitch, scr->clone_count };
      g_snprintf(tag, sizeof tag, "screen.%u", i);
      put_words(w, tag, v, 9);
      if (scr->priv) {
         g_snprintf(tag, sizeof tag, "screen.%u.pixels", i);
         put_words(w, tag, scr->priv, (size_t)scr->w * scr->h);
      }
   }
   if (s->cursor.argb) {
      const uint32_t c[4] = { s->cursor.w, s->cursor.h, s->cursor.hot_x, s->cursor.hot_y };
      put_words(w, "cursor", c, 4);
      put_words(w, "cursor.image", s->cursor.argb, (size_t)s->cursor.w * s->cursor.h);
   }
   const uint32_t pos[4] = { (uint32_t)s->cpos_x, (uint32_t)s->cpos_y, s->cpos_on,
                             s->cpos_screen };
   put_words(w, "cursor.pos", pos, 4);
   uint8_t vga[VGA_BYTES];
   vga_pack(&s->vga, vga);
   ckpt_put_bytes(w, "vga", vga, sizeof vga);
   ckpt_put_bytes(w, "vga.dac", s->vga.dac, sizeof s->vga.dac);
   ckpt_put_u16(w, "vbe.index", s->vga.vbe_index);
   uint8_t vbe[VBE_DISPI_INDEX_NB * 2];
   for (unsigned i = 0; i < VBE_DISPI_INDEX_NB; i++) {
      vbe[i * 2] = (uint8_t)s->vga.vbe[i];
      vbe[i * 2 + 1] = (uint8_t)(s->vga.vbe[i] >> 8);
   }
   ckpt_put_bytes(w, "vbe", vbe, sizeof vbe);
}

/* ---- restore */

typedef struct staged {
   uint32_t regv[G_N_ELEMENTS(regs)];
   svga_display_regs displays[SVGA_MAX_DISPLAYS];
   uint8_t palette[768];
   uint32_t scratch[SVGA_SCRATCH_REGS];
   uint8_t sync_pending, error, fifo_cursor_seen;
   char error_msg[200];
   svga_gmr gmr[SVGA_GMR_IDS];
   svga_gmrfb gmrfb;
   svga_screen screen[SVGA_MAX_SCREENS];
   svga_cursor cursor;
   int32_t cpos_x, cpos_y;
   bool cpos_on;
   uint32_t cpos_screen;
   svga_vga vga;
} staged;

static void
staged_free(staged *st)
{
   for (unsigned i = 0; i < SVGA_GMR_IDS; i++) {
      g_free(st->gmr[i].ppn);
   }
   for (unsigned i = 0; i < SVGA_MAX_SCREENS; i++) {
      g_free(st->screen[i].priv);
   }
   g_free(st->cursor.argb);
   g_free(st);
}

static bool
bad(char **err, const char *tag, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static bool
bad(char **err, const char *tag, const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   char *why = g_strdup_vprintf(fmt, ap);
   va_end(ap);
   *err = g_strdup_printf("checkpoint section svga: item '%s' %s", tag, why);
   g_free(why);
   return false;
}

static uint32_t
reg_val(const staged *st, const char *tag)
{
   for (size_t i = 0; i < G_N_ELEMENTS(regs); i++) {
      if (!strcmp(regs[i].tag, tag)) {
         return st->regv[i];
      }
   }
   g_assert_not_reached();
}

static bool
check_regs(svga *s, const staged *st, char **err)
{
   uint32_t id = reg_val(st, "id");
   if (id < SVGA_ID_0 || id > SVGA_ID_2) {
      return bad(err, "id", "is 0x%x: not SVGA_ID_0..2", id);
   }
   if (reg_val(st, "enable") > 3) {
      return bad(err, "enable", "is %u (bits 0-1 only)", reg_val(st, "enable"));
   }
   uint32_t w = reg_val(st, "width"), h = reg_val(st, "height");
   if (w == 0 || w > s->max_w || h == 0 || h > s->max_h) {
      return bad(err, "width", "x height is %u x %u (1..%u x 1..%u)", w, h, s->max_w, s->max_h);
   }
   if (svga_bpp_format(reg_val(st, "bpp")) == SVGA_PF_NONE) {
      return bad(err, "bpp", "is %u (8, 15, 16, 24 or 32)", reg_val(st, "bpp"));
   }
   static const char *const bools[] = { "config_done", "traces" };
   for (size_t i = 0; i < G_N_ELEMENTS(bools); i++) {
      if (reg_val(st, bools[i]) > 1) {
         return bad(err, bools[i], "is %u (0 or 1)", reg_val(st, bools[i]));
      }
   }
   if ((reg_val(st, "irq_mask") | reg_val(st, "irq_status")) & ~SVGA_IRQFLAG_ALL) {
      return bad(err, "irq_mask", "or irq_status has unknown interrupt bits");
   }
   if (reg_val(st, "num_guest_displays") > SVGA_MAX_DISPLAYS) {
      return bad(err, "num_guest_displays", "is %u (at most %u)",
                 reg_val(st, "num_guest_displays"), SVGA_MAX_DISPLAYS);
   }
   uint32_t fmin = reg_val(st, "fifo_min"), fmax = reg_val(st, "fifo_max");
   bool none = fmin == 0 && fmax == 0;
   if (!none && ((fmin & 3) || (fmax & 3) || fmin < 16 || fmax > SVGA_FIFO_BYTES ||
                 fmin >= fmax || fmax - fmin < SVGA_FIFO_MIN_DATA)) {
      return bad(err, "fifo_min", "and fifo_max are 0x%x, 0x%x: not a valid FIFO", fmin, fmax);
   }
   if (st->sync_pending > 1 || st->error > 1 || st->fifo_cursor_seen > 1) {
      return bad(err, "error", "or sync_pending or fifo_cursor_seen is not 0 or 1");
   }
   return true;
}

static bool
load_gmrs(ckpt_reader *r, staged *st, char **err)
{
   uint64_t total = 0;
   char tag[32];
   for (unsigned i = 0; i < SVGA_GMR_IDS; i++) {
      g_snprintf(tag, sizeof tag, "gmr.%u", i);
      size_t n;
      const uint8_t *d = ckpt_get_blob(r, tag, &n);
      if (!d) {
         continue;
      }
      if (n == 0 || n % 8 || n / 8 > SVGA_GMR_MAX_PAGES) {
         return bad(err, tag, "is %zu bytes: not 1 to %u page numbers", n, SVGA_GMR_MAX_PAGES);
      }
      total += n / 8;
      if (total > SVGA_GMR_MAX_PAGES) {
         return bad(err, tag, "takes the GMRs past %u pages", SVGA_GMR_MAX_PAGES);
      }
      uint32_t np = (uint32_t)(n / 8);
      st->gmr[i].npages = np;
      st->gmr[i].ppn = g_new(uint64_t, np);
      for (uint32_t p = 0; p < np; p++) {
         uint64_t v = 0;
         for (unsigned b = 0; b < 8; b++) {
            v |= (uint64_t)d[p * 8 + b] << (8 * b);
         }
         if (v != SVGA_PPN_INVALID && v >= PPN_LIMIT) {
            return bad(err, tag, "page %u is PPN 0x%llx, beyond any guest memory", p,
                       (unsigned long long)v);
         }
         st->gmr[i].ppn[p] = v;
      }
   }
   return true;
}

static bool
load_screens(svga *s, ckpt_reader *r, staged *st, char **err)
{
   char tag[48];
   uint64_t mem = 0;
   for (unsigned i = 0; i < SVGA_MAX_SCREENS; i++) {
      uint32_t v[9];
      g_snprintf(tag, sizeof tag, "screen.%u", i);
      if (!get_words(r, tag, v, 9)) {
         if (ckpt_reader_error(r)) {
            return bad(err, tag, "is malformed: %s", ckpt_reader_error(r));
         }
         continue;
      }
      svga_screen *scr = &st->screen[i];
      scr->defined = true;
      scr->flags = v[0];
      scr->w = v[1];
      scr->h = v[2];
      scr->x = (int32_t)v[3];
      scr->y = (int32_t)v[4];
      scr->backed = v[5];
      scr->bs_offset = v[6];
      scr->bs_pitch = v[7];
      scr->clone_count = v[8];
      bool active = !(scr->flags & SVGA_SCREEN_DEACTIVATE);
      char *why = NULL;
      if (v[5] > 1 || (scr->backed && !active) ||
          !svga_screen_check(s, i, scr->flags, scr->w, scr->h,
                             scr->backed ? SVGA_GMR_FRAMEBUFFER : SVGA_GMR_NULL, scr->bs_offset,
                             scr->bs_pitch, mem, &why)) {
         bad(err, tag, "is not a screen this device can hold: %s",
             why ? why : "inconsistent backing store flags");
         g_free(why);
         return false;
      }
      mem += (uint64_t)scr->w * scr->h * 4;
      g_snprintf(tag, sizeof tag, "screen.%u.pixels", i);
      if (!scr->backed && active) {
         scr->priv = g_new(uint32_t, (size_t)scr->w * scr->h);
         if (!get_words(r, tag, scr->priv, (size_t)scr->w * scr->h)) {
            return bad(err, tag, "is missing or not %u x %u pixels", scr->w, scr->h);
         }
      } else {
         size_t n;
         if (ckpt_get_blob(r, tag, &n)) {
            return bad(err, tag, "is present, but the screen keeps its pixels in VRAM");
         }
      }
   }
   return true;
}

static bool
load_cursor(ckpt_reader *r, staged *st, char **err)
{
   uint32_t c[4];
   if (get_words(r, "cursor", c, 4)) {
      if (c[0] == 0 || c[1] == 0 || c[0] > SVGA_MAX_CURSOR || c[1] > SVGA_MAX_CURSOR ||
          c[2] >= c[0] || c[3] >= c[1]) {
         return bad(err, "cursor", "is %u x %u with hotspot %u,%u: not a cursor", c[0], c[1],
                    c[2], c[3]);
      }
      st->cursor.w = c[0];
      st->cursor.h = c[1];
      st->cursor.hot_x = c[2];
      st->cursor.hot_y = c[3];
      st->cursor.argb = g_new(uint32_t, (size_t)c[0] * c[1]);
      if (!get_words(r, "cursor.image", st->cursor.argb, (size_t)c[0] * c[1])) {
         return bad(err, "cursor.image", "is missing or not %u x %u pixels", c[0], c[1]);
      }
   }
   uint32_t pos[4];
   if (get_words(r, "cursor.pos", pos, 4)) {
      if (pos[2] > 1) {
         return bad(err, "cursor.pos", "has visibility %u (0 or 1)", pos[2]);
      }
      st->cpos_x = (int32_t)pos[0];
      st->cpos_y = (int32_t)pos[1];
      st->cpos_on = pos[2];
      st->cpos_screen = pos[3];
   }
   return true;
}

static bool
load_vga(svga *s, ckpt_reader *r, staged *st, char **err)
{
   uint8_t vga[VGA_BYTES];
   if (ckpt_get_bytes(r, "vga", vga, sizeof vga)) {
      uint16_t idx = st->vga.vbe_index;
      uint16_t vbe[VBE_DISPI_INDEX_NB];
      memcpy(vbe, st->vga.vbe, sizeof vbe);
      vga_unpack(&st->vga, vga);
      st->vga.vbe_index = idx;
      memcpy(st->vga.vbe, vbe, sizeof vbe);
      const svga_vga *v = &st->vga;
      if (vga[VGA_AC_FLIP] > 1 || v->dac_sub > 2 || (v->dac_state != 0 && v->dac_state != 3) ||
          v->seq_index > 7 || v->gc_index > 15 || v->crtc_index > 31 || v->ac_index > 0x3f) {
         return bad(err, "vga", "has register indices or DAC state out of range");
      }
   }
   ckpt_get_bytes(r, "vga.dac", st->vga.dac, sizeof st->vga.dac);
   ckpt_get_u16(r, "vbe.index", &st->vga.vbe_index);
   uint8_t vbe[VBE_DISPI_INDEX_NB * 2];
   if (ckpt_get_bytes(r, "vbe", vbe, sizeof vbe)) {
      for (unsigned i = 0; i < VBE_DISPI_INDEX_NB; i++) {
         st->vga.vbe[i] = (uint16_t)(vbe[i * 2] | vbe[i * 2 + 1] << 8);
      }
   }
   const uint16_t *b = st->vga.vbe;
   if (b[VBE_DISPI_INDEX_ID] < VBE_DISPI_ID0 || b[VBE_DISPI_INDEX_ID] > VBE_DISPI_ID5) {
      return bad(err, "vbe", "ID is 0x%x", b[VBE_DISPI_INDEX_ID]);
   }
   if (b[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED) {
      uint64_t line = svga_vbe_line_bytes(&st->vga);
      uint32_t xres = b[VBE_DISPI_INDEX_XRES], yres = b[VBE_DISPI_INDEX_YRES];
      if (svga_bpp_format(b[VBE_DISPI_INDEX_BPP]) == SVGA_PF_NONE || xres == 0 ||
          xres > s->max_w || yres == 0 || yres > s->max_h ||
          (uint32_t)b[VBE_DISPI_INDEX_X_OFFSET] + xres > b[VBE_DISPI_INDEX_VIRT_WIDTH] ||
          ((uint64_t)b[VBE_DISPI_INDEX_Y_OFFSET] + yres) * line > s->vram_size) {
         return bad(err, "vbe", "describes a mode that does not fit VRAM");
      }
   }
   return true;
}

bool
svga_ckpt_restore(svga *s, ckpt_reader *r, char **err)
{
   staged *st = g_new0(staged, 1);
   for (size_t i = 0; i < G_N_ELEMENTS(regs); i++) {
      st->regv[i] = *reg_ptr(s, &regs[i]);
      ckpt_get_u32(r, regs[i].tag, &st->regv[i]);
   }
   memcpy(st->displays, s->displays, sizeof st->displays);
   uint32_t disp[SVGA_MAX_DISPLAYS * 5];
   if (get_words(r, "displays", disp, G_N_ELEMENTS(disp))) {
      for (unsigned i = 0; i < SVGA_MAX_DISPLAYS; i++) {
         svga_display_regs *d = &st->displays[i];
         d->is_primary = disp[i * 5];
         d->x = disp[i * 5 + 1];
         d->y = disp[i * 5 + 2];
         d->w = disp[i * 5 + 3];
         d->h = disp[i * 5 + 4];
      }
   }
   memcpy(st->palette, s->palette, sizeof st->palette);
   ckpt_get_bytes(r, "palette", st->palette, sizeof st->palette);
   memcpy(st->scratch, s->scratch, sizeof st->scratch);
   get_words(r, "scratch", st->scratch, SVGA_SCRATCH_REGS);
   st->sync_pending = s->sync_pending;
   st->error = s->error;
   st->fifo_cursor_seen = s->fifo_cursor_seen;
   ckpt_get_u8(r, "sync_pending", &st->sync_pending);
   ckpt_get_u8(r, "error", &st->error);
   ckpt_get_u8(r, "fifo_cursor_seen", &st->fifo_cursor_seen);
   size_t mlen = 0;
   const char *msg = ckpt_get_blob(r, "error_msg", &mlen);
   if (msg) {
      memcpy(st->error_msg, msg, MIN(mlen, sizeof st->error_msg - 1));
   }
   uint32_t fb[6] = { 0 };
   if (get_words(r, "gmrfb", fb, 6)) {
      st->gmrfb = (svga_gmrfb){ fb[0], fb[1], fb[2], fb[3], fb[4], fb[5] != 0 };
      if (fb[5] > 1) {
         staged_free(st);
         return bad(err, "gmrfb", "has defined = %u", fb[5]);
      }
   } else {
      st->gmrfb = s->gmrfb;
   }
   st->cpos_x = s->cpos_x;
   st->cpos_y = s->cpos_y;
   st->cpos_on = s->cpos_on;
   st->cpos_screen = s->cpos_screen;
   st->vga = s->vga;
   bool ok = check_regs(s, st, err) && load_gmrs(r, st, err) && load_screens(s, r, st, err) &&
             load_cursor(r, st, err) && load_vga(s, r, st, err);
   if (ok && ckpt_reader_error(r)) {
      *err = g_strdup(ckpt_reader_error(r));
      ok = false;
   }
   if (!ok) {
      staged_free(st);
      return false;
   }
   /* apply */
   for (size_t i = 0; i < G_N_ELEMENTS(regs); i++) {
      *reg_ptr(s, &regs[i]) = st->regv[i];
   }
   memcpy(s->displays, st->displays, sizeof s->displays);
   memcpy(s->palette, st->palette, sizeof s->palette);
   memcpy(s->scratch, st->scratch, sizeof s->scratch);
   s->sync_pending = st->sync_pending;
   s->error = st->error;
   g_strlcpy(s->error_msg, st->error ? st->error_msg : "", sizeof s->error_msg);
   s->fifo_cursor_seen = st->fifo_cursor_seen;
   svga_gmr_free_all(s);
   for (unsigned i = 0; i < SVGA_GMR_IDS; i++) {
      if (st->gmr[i].npages) {
         svga_gmr_set(s, i, st->gmr[i].npages, st->gmr[i].ppn);
         st->gmr[i].ppn = NULL;
      }
   }
   s->gmrfb = st->gmrfb;
   svga_screens_free(s);
   memcpy(s->screen, st->screen, sizeof s->screen);
   memset(st->screen, 0, sizeof st->screen);
   g_free(s->cursor.argb);
   s->cursor = st->cursor;
   st->cursor.argb = NULL;
   s->cpos_x = st->cpos_x;
   s->cpos_y = st->cpos_y;
   s->cpos_on = st->cpos_on;
   s->cpos_screen = st->cpos_screen;
   s->vga = st->vga;
   staged_free(st);
   svga_display_reset(s);
   s->text.cursor_cell = -1;
   svga_palette_changed(s);
   svga_dac_changed(s);
   svga_update_irq(s);
   svga_cursor_publish(s);
   return true;
}
