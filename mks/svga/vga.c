/*
 * mks/svga/vga.c - the device's VGA personality: the VGA register file
 * (ports 0x3b0-0x3df), text mode rendering, and the Bochs VBE ("dispi")
 * interface at ports 0x1ce/0x1cf with its linear framebuffer at the start
 * of VRAM (BAR1).
 *
 * VGA registers. Misc output, sequencer, graphics controller, attribute
 * controller (with its index/data flip-flop, reset by reading input
 * status 1), CRTC at 0x3d4/0x3d5 or 0x3b4/0x3b5 as misc bit 0 selects,
 * input status 1 (retrace and display-enable bits toggle on every read so
 * polling loops end), the DAC (mask, read and write index, three 6-bit
 * components per entry, 8-bit while VBE's 8-bit DAC flag is set) and
 * feature control. All are stored and read
 * back; the power-on values are those of mode 3 (80 x 25 colour text,
 * 9-dot characters), with the EGA palette in the first 64 DAC entries.
 *
 * What is shown. Text mode (graphics controller register 6 bit 0 clear):
 * columns from CRTC register 1, rows from the vertical display end and the
 * character height (CRTC 0x12, 0x07, 0x09), 8 or 9 dots per character
 * (sequencer register 1 bit 0; the ninth column repeats the eighth for
 * characters 0xC0-0xDF when line graphics are enabled), the text at the
 * memory map of graphics register 6 (0xB8000 in mode 3) from the CRTC
 * start address with the CRTC offset as the line pitch, colours through
 * the attribute controller's palette, colour select and the DAC mask, the
 * blink bit as background intensity unless blinking is enabled (blinking
 * text is shown steadily), and the cursor from CRTC 0x0A/0x0B/0x0E/0x0F
 * drawn steadily in the character's colour. Glyphs come from the built-in
 * font (font.c); fonts the guest loads into plane 2 are not seen, since
 * the legacy VGA window is plain RAM in this machine. VGA graphics modes
 * are not emulated: they show black (and log once); so does a screen the
 * sequencer turned off.
 *
 * VBE. Registers ID (0xB0C0-0xB0C5), XRES, YRES, BPP (8 through the DAC,
 * 15, 16, 24, 32; 0 means 8; 4 is not supported and becomes 8), ENABLE
 * (enabled, get-capabilities, 8-bit DAC, LFB, no-clear), BANK (stored; the
 * banked window at 0xA0000 is RAM in this machine), VIRT_WIDTH,
 * VIRT_HEIGHT (computed), X_OFFSET, Y_OFFSET and VIDEO_MEMORY_64K. While
 * enabled, the registers are kept consistent as Bochs does: the virtual
 * width is at least XRES, the mode fits VRAM, the offsets keep the
 * visible area inside the virtual screen. The mode is shown while SVGA's
 * ENABLE is off.
 */
#include "mks/svga/svga-int.h"
#include "vmx/vmxlog.h"

#include <glib.h>
#include <string.h>

#define VGA_PORT_BASE 0x3b0
#define VGA_PORT_COUNT 0x30

static const uint8_t mode3_seq[5] = { 0x03, 0x00, 0x03, 0x00, 0x02 };
static const uint8_t mode3_crtc[25] = {
   0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00,
   0x00, 0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff,
};
static const uint8_t mode3_gc[9] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff };
static const uint8_t mode3_ac[21] = {
   0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a,
   0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00,
};

void
svga_vga_reset(svga *s)
{
   svga_vga *v = &s->vga;
   memset(v, 0, sizeof *v);
   v->misc = 0x67;
   memcpy(v->seq, mode3_seq, sizeof mode3_seq);
   memcpy(v->crtc, mode3_crtc, sizeof mode3_crtc);
   memcpy(v->gc, mode3_gc, sizeof mode3_gc);
   memcpy(v->ac, mode3_ac, sizeof mode3_ac);
   v->dac_mask = 0xff;
   /* The 64 EGA colours: bits 0-2 blue, green, red at 2/3 intensity, bits
    * 3-5 the same at 1/3. */
   for (unsigned i = 0; i < 64; i++) {
      for (unsigned c = 0; c < 3; c++) {
         unsigned bit = 2 - c;   /* red is bit 2 (and 5) */
         v->dac[i * 3 + c] = (uint8_t)(((i >> bit) & 1) * 0x2a + ((i >> (bit + 3)) & 1) * 0x15);
      }
   }
   v->vbe[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
   s->text.valid = false;
   s->text.cursor_cell = -1;
   s->vga_graphics_logged = false;
   svga_dac_changed(s);
}

/* ---- text geometry */

typedef struct text_geom {
   uint32_t cols, rows, dots, ch;
   uint64_t base;          /* guest-physical window */
   uint32_t win;           /* its size */
   uint32_t start;         /* character offset of the top left */
   uint32_t pitch;         /* characters per line in memory */
} text_geom;

static void
text_geometry(const svga_vga *v, text_geom *g)
{
   g->cols = CLAMP((uint32_t)v->crtc[1] + 1, 1, SVGA_TEXT_MAX_COLS);
   uint32_t vde = v->crtc[0x12] | (uint32_t)(v->crtc[7] & 0x02) << 7 |
                  (uint32_t)(v->crtc[7] & 0x40) << 3;
   g->ch = (uint32_t)(v->crtc[9] & 0x1f) + 1;
   g->rows = CLAMP((vde + 1) / g->ch, 1, SVGA_TEXT_MAX_ROWS);
   g->dots = (v->seq[1] & 1) ? 8 : 9;
   switch ((v->gc[6] >> 2) & 3) {
   case 0: g->base = 0xa0000; g->win = 0x20000; break;
   case 1: g->base = 0xa0000; g->win = 0x10000; break;
   case 2: g->base = 0xb0000; g->win = 0x8000; break;
   default: g->base = 0xb8000; g->win = 0x8000; break;
   }
   g->start = (uint32_t)v->crtc[0x0c] << 8 | v->crtc[0x0d];
   g->pitch = v->crtc[0x13] ? (uint32_t)v->crtc[0x13] * 2 : g->cols;
}

uint32_t
svga_vbe_line_bytes(const svga_vga *v)
{
   unsigned bytes = (v->vbe[VBE_DISPI_INDEX_BPP] + 7) / 8;
   return (uint32_t)v->vbe[VBE_DISPI_INDEX_VIRT_WIDTH] * bytes;
}

void
svga_vga_view(svga *s, svga_view *out)
{
   const svga_vga *v = &s->vga;
   const uint16_t *vbe = v->vbe;
   if (vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED) {
      out->src = SVGA_SRC_VBE;
      out->w = vbe[VBE_DISPI_INDEX_XRES];
      out->h = vbe[VBE_DISPI_INDEX_YRES];
      out->pf = svga_bpp_format(vbe[VBE_DISPI_INDEX_BPP]);
      out->pitch = svga_vbe_line_bytes(v);
      out->offset = (uint64_t)vbe[VBE_DISPI_INDEX_Y_OFFSET] * out->pitch +
                    (uint64_t)vbe[VBE_DISPI_INDEX_X_OFFSET] * svga_pf_bytes(out->pf);
      return;
   }
   if (v->gc[6] & 1) {
      if (!s->vga_graphics_logged) {
         s->vga_graphics_logged = true;
         vmxlog("SVGA: the guest selected a VGA graphics mode, which is not emulated (shown "
                "black); VBE and SVGA modes are");
      }
      out->src = SVGA_SRC_VGA_BLANK;
      out->w = 640;
      out->h = 480;
      return;
   }
   text_geom g;
   text_geometry(v, &g);
   out->src = (v->seq[1] & 0x20) ? SVGA_SRC_VGA_BLANK : SVGA_SRC_VGA_TEXT;
   out->w = g.cols * g.dots;
   out->h = g.rows * g.ch;
}

/* ---- text rendering */

static uint32_t
text_color(svga *s, unsigned idx)
{
   const svga_vga *v = &s->vga;
   unsigned p = v->ac[idx & 15] & 0x3f;
   if (v->ac[0x10] & 0x80) {
      p = (p & 0x0f) | (unsigned)(v->ac[0x14] & 0x03) << 4;
   }
   p |= (unsigned)(v->ac[0x14] & 0x0c) << 4;
   return s->pal_dac[p & v->dac_mask];
}

static void
render_cell(svga *s, const text_geom *g, uint32_t *fb, uint32_t stride, uint32_t r, uint32_t c,
            uint16_t cell, bool cursor, unsigned cstart, unsigned cend)
{
   const svga_vga *v = &s->vga;
   uint8_t chr = (uint8_t)cell, attr = (uint8_t)(cell >> 8);
   unsigned bg_idx = attr >> 4;
   if (v->ac[0x10] & 0x08) {
      bg_idx &= 7;   /* blink enabled: bit 7 blinks (shown steady) */
   }
   uint32_t fg = text_color(s, attr & 15), bg = text_color(s, bg_idx);
   const uint8_t *glyph = svga_font_glyph(chr);
   bool lge = (v->ac[0x10] & 0x04) && chr >= 0xc0 && chr <= 0xdf;
   for (uint32_t y = 0; y < g->ch; y++) {
      unsigned bits = y < 16 ? glyph[y] : 0;
      bool crow = cursor && y >= cstart && y <= cend;
      uint32_t *px = fb + (size_t)(r * g->ch + y) * stride + (size_t)c * g->dots;
      for (uint32_t x = 0; x < g->dots; x++) {
         bool on = x < 8 ? (bits >> (7 - x)) & 1 : (lge && (bits & 1));
         px[x] = (on || crow) ? fg : bg;
      }
   }
}

static uint16_t
text_cell(const uint8_t *mem, const text_geom *g, uint32_t r, uint32_t c)
{
   if (!mem) {
      return 0;
   }
   uint32_t off = ((g->start + r * g->pitch + c) * 2) & (g->win - 1);
   return (uint16_t)(mem[off] | mem[(off + 1) & (g->win - 1)] << 8);
}

void
svga_vga_text_scan(svga *s, bool all)
{
   if (s->view.src != SVGA_SRC_VGA_TEXT) {
      return;
   }
   const svga_vga *v = &s->vga;
   text_geom g;
   text_geometry(v, &g);
   const uint8_t *mem = svga_guest_map(s, g.base, g.win);
   svga_text_cache *tc = &s->text;
   if (!tc->valid) {
      all = true;
   }
   /* the cursor */
   int cursor = -1;
   unsigned cstart = v->crtc[0x0a] & 0x1f, cend = v->crtc[0x0b] & 0x1f;
   uint32_t loc = (uint32_t)v->crtc[0x0e] << 8 | v->crtc[0x0f];
   if (!(v->crtc[0x0a] & 0x20) && cstart <= cend && loc >= g.start) {
      uint32_t rel = loc - g.start, r = rel / g.pitch, c = rel % g.pitch;
      if (r < g.rows && c < g.cols) {
         cursor = (int)(r * g.cols + c);
      }
   }
   bool shape = cstart != tc->cursor_start || cend != tc->cursor_end;
   svga_fb_lock(s->fb);
   uint32_t fw, fh, stride;
   uint32_t *fb = svga_fb_pixels_locked(s->fb, &fw, &fh, &stride);
   if (fw < g.cols * g.dots || fh < g.rows * g.ch) {
      svga_fb_unlock(s->fb);   /* the view changes at the next sync */
      return;
   }
   for (uint32_t r = 0; r < g.rows; r++) {
      int64_t c0 = -1, c1 = -1;
      for (uint32_t c = 0; c < g.cols; c++) {
         uint32_t idx = r * g.cols + c;
         uint16_t cell = text_cell(mem, &g, r, c);
         bool here = (int)idx == cursor, was = (int)idx == tc->cursor_cell;
         if (!all && cell == tc->cells[idx] && here == was && !(here && shape)) {
            continue;
         }
         tc->cells[idx] = cell;
         render_cell(s, &g, fb, stride, r, c, cell, here, cstart, cend);
         if (c0 < 0) {
            c0 = c;
         }
         c1 = c;
      }
      if (c0 >= 0) {
         svga_fb_add_damage_locked(s->fb, c0 * g.dots, (int64_t)r * g.ch,
                                   (c1 - c0 + 1) * g.dots, g.ch);
      }
   }
   svga_fb_unlock(s->fb);
   tc->valid = true;
   tc->cursor_cell = cursor;
   tc->cursor_start = (uint8_t)cstart;
   tc->cursor_end = (uint8_t)cend;
}

/* ---- VGA ports */

static bool
crtc_port(const svga_vga *v, uint16_t port, uint16_t *base)
{
   *base = (v->misc & 1) ? 0x3d4 : 0x3b4;
   return port == *base || port == *base + 1;
}

static uint8_t
vga_inb(svga *s, uint16_t port)
{
   svga_vga *v = &s->vga;
   uint16_t cb;
   if (crtc_port(v, port, &cb)) {
      return port == cb ? v->crtc_index : v->crtc[v->crtc_index & 31];
   }
   switch (port) {
   case 0x3c0: return v->ac_index;
   case 0x3c1: return v->ac[v->ac_index & 31];
   case 0x3c2: return 0x10;   /* input status 0: switch sense */
   case 0x3c4: return v->seq_index;
   case 0x3c5: return v->seq[v->seq_index & 7];
   case 0x3c6: return v->dac_mask;
   case 0x3c7: return v->dac_state;
   case 0x3c8: return v->dac_write;
   case 0x3c9: {
      uint8_t val = v->dac[v->dac_read * 3 + v->dac_sub];
      if (++v->dac_sub == 3) {
         v->dac_sub = 0;
         v->dac_read++;
      }
      return val;
   }
   case 0x3ca: return v->feature;
   case 0x3cc: return v->misc;
   case 0x3ce: return v->gc_index;
   case 0x3cf: return v->gc[v->gc_index & 15];
   case 0x3ba:
   case 0x3da:
      if ((port == 0x3da) != (bool)(v->misc & 1)) {
         return 0xff;
      }
      v->ac_flip = false;
      v->st1_toggle ^= 0x09;   /* display enable and vertical retrace */
      return v->st1_toggle;
   default: return 0xff;
   }
}

static void
text_params_written(svga *s)
{
   s->text.valid = false;
}

static void
vga_outb(svga *s, uint16_t port, uint8_t val)
{
   svga_vga *v = &s->vga;
   uint16_t cb;
   if (crtc_port(v, port, &cb)) {
      if (port == cb) {
         v->crtc_index = val & 31;
      } else {
         unsigned i = v->crtc_index & 31;
         v->crtc[i] = val;
         if (i != 0x0a && i != 0x0b && i != 0x0e && i != 0x0f) {
            text_params_written(s);
         }
      }
      return;
   }
   switch (port) {
   case 0x3c0:
      if (!v->ac_flip) {
         v->ac_index = val & 0x3f;
      } else if ((v->ac_index & 31) < 0x15) {
         v->ac[v->ac_index & 31] = val;
         text_params_written(s);
      }
      v->ac_flip = !v->ac_flip;
      break;
   case 0x3c2:
      v->misc = val;
      break;
   case 0x3c4: v->seq_index = val & 7; break;
   case 0x3c5:
      v->seq[v->seq_index & 7] = val;
      text_params_written(s);
      break;
   case 0x3c6:
      v->dac_mask = val;
      text_params_written(s);
      break;
   case 0x3c7:
      v->dac_read = val;
      v->dac_sub = 0;
      v->dac_state = 3;
      break;
   case 0x3c8:
      v->dac_write = val;
      v->dac_sub = 0;
      v->dac_state = 0;
      break;
   case 0x3c9:
      /* 6-bit components, unless VBE switched the DAC to 8 bits */
      v->dac[v->dac_write * 3 + v->dac_sub] =
         (v->vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC) ? val : val & 0x3f;
      if (++v->dac_sub == 3) {
         v->dac_sub = 0;
         v->dac_write++;
         svga_dac_changed(s);
      }
      break;
   case 0x3ce: v->gc_index = val & 15; break;
   case 0x3cf:
      v->gc[v->gc_index & 15] = val;
      text_params_written(s);
      break;
   case 0x3ba:
   case 0x3da:
      if ((port == 0x3da) == (bool)(v->misc & 1)) {
         v->feature = val;
      }
      break;
   default:
      break;
   }
}

static uint64_t
vga_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   svga *s = opaque;
   uint64_t val = 0;
   pthread_mutex_lock(&s->lock);
   for (unsigned i = 0; i < size; i++) {
      uint16_t port = (uint16_t)(VGA_PORT_BASE + off + i);
      val |= (uint64_t)(off + i < VGA_PORT_COUNT ? vga_inb(s, port) : 0xff) << (8 * i);
   }
   pthread_mutex_unlock(&s->lock);
   return val;
}

static void
vga_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   svga *s = opaque;
   pthread_mutex_lock(&s->lock);
   for (unsigned i = 0; i < size && off + i < VGA_PORT_COUNT; i++) {
      vga_outb(s, (uint16_t)(VGA_PORT_BASE + off + i), (uint8_t)(val >> (8 * i)));
   }
   pthread_mutex_unlock(&s->lock);
}

/* ---- VBE */

static unsigned
vbe_bytes(uint16_t bpp)
{
   return (bpp + 7u) / 8u;
}

/* Keep an enabled mode consistent and inside VRAM. */
static void
vbe_fixup(svga *s)
{
   uint16_t *r = s->vga.vbe;
   if (!(r[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED)) {
      return;
   }
   if (svga_bpp_format(r[VBE_DISPI_INDEX_BPP]) == SVGA_PF_NONE) {
      r[VBE_DISPI_INDEX_BPP] = 8;
   }
   unsigned b = vbe_bytes(r[VBE_DISPI_INDEX_BPP]);
   r[VBE_DISPI_INDEX_XRES] = (uint16_t)CLAMP(r[VBE_DISPI_INDEX_XRES], 1, s->max_w);
   r[VBE_DISPI_INDEX_YRES] = (uint16_t)CLAMP(r[VBE_DISPI_INDEX_YRES], 1, s->max_h);
   uint32_t xres = r[VBE_DISPI_INDEX_XRES];
   if (r[VBE_DISPI_INDEX_VIRT_WIDTH] < xres) {
      r[VBE_DISPI_INDEX_VIRT_WIDTH] = (uint16_t)xres;
   }
   uint64_t line = (uint64_t)r[VBE_DISPI_INDEX_VIRT_WIDTH] * b;
   if (line * r[VBE_DISPI_INDEX_YRES] > s->vram_size) {
      r[VBE_DISPI_INDEX_VIRT_WIDTH] = (uint16_t)xres;
      line = (uint64_t)xres * b;
      if (line * r[VBE_DISPI_INDEX_YRES] > s->vram_size) {
         uint64_t rows = s->vram_size / line;
         r[VBE_DISPI_INDEX_YRES] = (uint16_t)MAX(rows, 1);
      }
   }
   uint64_t vh = MIN(s->vram_size / line, 0xffff);
   r[VBE_DISPI_INDEX_VIRT_HEIGHT] = (uint16_t)vh;
   uint32_t maxx = r[VBE_DISPI_INDEX_VIRT_WIDTH] - xres;
   uint32_t maxy = (uint32_t)vh - r[VBE_DISPI_INDEX_YRES];
   r[VBE_DISPI_INDEX_X_OFFSET] = (uint16_t)MIN(r[VBE_DISPI_INDEX_X_OFFSET], maxx);
   r[VBE_DISPI_INDEX_Y_OFFSET] = (uint16_t)MIN(r[VBE_DISPI_INDEX_Y_OFFSET], maxy);
}

static uint16_t
vbe_read_reg(svga *s, uint16_t idx)
{
   const uint16_t *r = s->vga.vbe;
   bool caps = r[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_GETCAPS;
   switch (idx) {
   case VBE_DISPI_INDEX_XRES: return caps ? (uint16_t)MIN(s->max_w, 0xffff) : r[idx];
   case VBE_DISPI_INDEX_YRES: return caps ? (uint16_t)MIN(s->max_h, 0xffff) : r[idx];
   case VBE_DISPI_INDEX_BPP: return caps ? 32 : r[idx];
   case VBE_DISPI_INDEX_VIDEO_MEMORY_64K: return (uint16_t)(s->vram_size >> 16);
   default: return idx < VBE_DISPI_INDEX_NB ? r[idx] : 0;
   }
}

static void
vbe_write_reg(svga *s, uint16_t idx, uint16_t val)
{
   uint16_t *r = s->vga.vbe;
   switch (idx) {
   case VBE_DISPI_INDEX_ID:
      if (val >= VBE_DISPI_ID0 && val <= VBE_DISPI_ID5) {
         r[idx] = val;
      }
      break;
   case VBE_DISPI_INDEX_XRES:
   case VBE_DISPI_INDEX_YRES:
   case VBE_DISPI_INDEX_VIRT_WIDTH:
   case VBE_DISPI_INDEX_X_OFFSET:
   case VBE_DISPI_INDEX_Y_OFFSET:
      r[idx] = val;
      vbe_fixup(s);
      break;
   case VBE_DISPI_INDEX_BPP:
      r[idx] = val ? val : 8;
      vbe_fixup(s);
      break;
   case VBE_DISPI_INDEX_BANK:
      if ((uint32_t)val < (s->vram_size >> 16)) {
         r[idx] = val;
      }
      break;
   case VBE_DISPI_INDEX_ENABLE: {
      uint16_t old = r[idx];
      r[idx] = val & (VBE_DISPI_ENABLED | VBE_DISPI_GETCAPS | VBE_DISPI_8BIT_DAC |
                      VBE_DISPI_LFB_ENABLED | VBE_DISPI_NOCLEARMEM);
      if ((val & VBE_DISPI_ENABLED) && !(old & VBE_DISPI_ENABLED)) {
         r[VBE_DISPI_INDEX_VIRT_WIDTH] = 0;
         r[VBE_DISPI_INDEX_X_OFFSET] = 0;
         r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
         r[VBE_DISPI_INDEX_BANK] = 0;
         vbe_fixup(s);
         if (!(val & VBE_DISPI_NOCLEARMEM)) {
            uint64_t n = (uint64_t)svga_vbe_line_bytes(&s->vga) * r[VBE_DISPI_INDEX_YRES];
            memset(s->vram, 0, MIN(n, s->vram_size));
         }
      }
      if ((old ^ r[idx]) & VBE_DISPI_8BIT_DAC) {
         svga_dac_changed(s);
      }
      break;
   }
   default:
      break;   /* VIRT_HEIGHT and VIDEO_MEMORY_64K are read-only */
   }
}

static uint64_t
vbe_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   svga *s = opaque;
   pthread_mutex_lock(&s->lock);
   uint16_t v = off == 0 ? s->vga.vbe_index : vbe_read_reg(s, s->vga.vbe_index);
   pthread_mutex_unlock(&s->lock);
   return size == 1 ? (uint8_t)v : v;
}

static void
vbe_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   svga *s = opaque;
   pthread_mutex_lock(&s->lock);
   if (off == 0) {
      s->vga.vbe_index = (uint16_t)val;
   } else {
      vbe_write_reg(s, s->vga.vbe_index, (uint16_t)val);
   }
   pthread_mutex_unlock(&s->lock);
}

/* ---- port claims */

bool
svga_vga_map(svga *s, char **err)
{
   const vmx_io_region rv = { "VGA", vga_read, vga_write, s };
   const vmx_io_region rb = { "VBE", vbe_read, vbe_write, s };
   s->vga_mapped = vmx_platform_map_pio(s->p, VGA_PORT_BASE, VGA_PORT_COUNT, &rv, err);
   if (!s->vga_mapped) {
      return false;
   }
   s->vbe_mapped = vmx_platform_map_pio(s->p, VBE_DISPI_IOPORT_INDEX, 2, &rb, err);
   return s->vbe_mapped;
}

void
svga_vga_unmap(svga *s)
{
   if (s->vga_mapped) {
      vmx_platform_unmap_pio(s->p, VGA_PORT_BASE, VGA_PORT_COUNT);
      s->vga_mapped = false;
   }
   if (s->vbe_mapped) {
      vmx_platform_unmap_pio(s->p, VBE_DISPI_IOPORT_INDEX, 2);
      s->vbe_mapped = false;
   }
}
