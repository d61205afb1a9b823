/*
 * tests/bench/vnc/bench-vnc-guest.c - the guest side of the VNC benchmark:
 * a test-kit program that drives the VMware SVGA II adapter (PCI 15ad:0405)
 * the same way under our vmx and under QEMU's vmware-svga, so that the two
 * VNC servers get the same pictures.
 *
 * Setup: find the function on bus 0, take its BARs (assigning them when no
 * firmware did), negotiate SVGA_ID_2 (else ID_1, else ID_0, whatever the
 * device offers), set the mode (bench.w x bench.h x 32), set the FIFO up
 * (MIN/MAX/NEXT_CMD/STOP, ENABLE, CONFIG_DONE) and draw the first picture.
 * Every picture reaches the device as pixels in VRAM plus one
 * SVGA_CMD_UPDATE of the whole screen, then a "ping" as Linux's vmwgfx does
 * after each FIFO commit: with SVGA_CAP_EXTENDED_FIFO, write SVGA_REG_SYNC
 * only when SVGA_FIFO_BUSY reads 0 (and set it to 1); without it (QEMU),
 * write SVGA_REG_SYNC every time. bench.sync=0 leaves the ping out, so the
 * device finds the command on its own refresh.
 *
 * Modes (bench.mode):
 *   anim  a desktop that animates all over, continuously: a diagonal
 *         gradient wallpaper scrolling under a taskbar with a few flat
 *         buttons and the frame-number stamp (bench-vnc-pattern.h), a
 *         document window with lines of pseudo-text scrolling inside it
 *         while the window drifts, a photo-like picture (smooth shading
 *         with fine noise) in a window bouncing around, and a dialog with
 *         a growing progress bar. Each frame is composed in guest RAM and
 *         copied to VRAM in one go (as a compositor presents), so the
 *         device rarely sees a half-drawn frame. Frames are paced at
 *         bench.fps per second by the TSC (its rate measured against the
 *         PIT), idling in HLT between frames; bench.fps=0 draws them back
 *         to back. Every 5 s the guest prints
 *         "BENCH anim frames=N (M in the last 5 s) late=L" (L: frames that
 *         missed their slot by more than a frame).
 *   key   the key-latency screen: the whole screen in
 *         bench_vnc_key_colour(0); then, for every key press read from
 *         the PS/2 keyboard (i8042 polled at CPL3, translation to set 1 on;
 *         any make code counts, break codes and other bytes are ignored),
 *         fill the whole screen with the next colour at once (REP STOSQ
 *         straight into VRAM) and send UPDATE + ping.
 *
 * The guest prints "BENCH ready mode=... w=... h=..." once the first
 * picture was sent, or "BENCH error ..." and ends (KIT RESULT: FAIL; ACPI
 * power-off on the vmx, isa-debug-exit on QEMU when present).
 *
 * Heavy work (composing, copying, polling) runs at CPL3 with
 * kit_user_run(); guest memory beyond the image holds the frame buffer and
 * the pictures (BUF_BASE, checked against the RAM the loader reported).
 */
#include "kit/kit.h"
#include "kit/platform.h"
#include "mks/svga/svga-reg.h"

#include "bench-vnc-pattern.h"

#define PAGE 4096u
/* Not a multiple of 2 MiB away from VRAM: the software monitor's TLB is
 * direct-mapped over 2 MiB, and a REP MOVS whose source and destination
 * pages share an entry falls back to one element at a time (about ten
 * times slower for the copy to VRAM). */
#define BUF_BASE ((16u << 20) + (64u << 10))
#define TICK_HZ 1000u
#define VEC_PIC 0x20u

/* Window geometry (fixed; the smallest mode still holds them all). */
#define DOC_W 560u
#define DOC_H 420u
#define DOC_TITLE 22u
#define DOC_BODY_W (DOC_W - 4u)
#define DOC_BODY_H (DOC_H - DOC_TITLE - 3u)
#define DOC_LINES 1024u          /* rows of the pre-rendered document */
#define PHOTO_W 320u
#define PHOTO_H 240u
#define VIEW_W (PHOTO_W + 4u)
#define VIEW_H (PHOTO_H + DOC_TITLE + 3u)
#define DLG_W 300u
#define DLG_H 120u
#define RAMP 1024u               /* period of the wallpaper gradient */

static struct {
   unsigned dev;
   uint16_t io;
   uint32_t vram_bar, fifo_bar, fifo_bar_size;
   uint8_t *vram;
   uint32_t vram_size;
   volatile uint32_t *fifo;
   uint32_t id, caps;
   uint32_t fmin, fmax, fnext;
   uint32_t w, h, pitch, fb_offset;
   bool sync;
} d;

/* Guest RAM beyond the image. */
static uint32_t *back;          /* w x h, pitch w */
static uint32_t *wall;          /* w + RAMP pixels of the wallpaper ramp */
static uint32_t *doc;           /* DOC_BODY_W x DOC_LINES */
static uint32_t *photo;         /* PHOTO_W x PHOTO_H */

static volatile uint32_t ticks;   /* PIT IRQ0, only to wake from HLT */

/* ---- small helpers */

static inline void fill32(uint32_t *dst, uint32_t c, uint64_t n)
{
   uint64_t v = (uint64_t)c << 32 | c, q;

   if (((uintptr_t)dst & 4) && n) {
      *dst++ = c;
      n--;
   }
   q = n / 2;
   __asm__ volatile("rep stosq" : "+D"(dst), "+c"(q) : "a"(v) : "memory");
   if (n & 1) {
      *dst = c;
   }
}

static inline void copy32(uint32_t *dst, const uint32_t *src, uint64_t n)
{
   uint64_t q;

   if (((uintptr_t)dst & 4) && n) {
      *dst++ = *src++;
      n--;
   }
   q = n / 2;
   __asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(q) : : "memory");
   if (n & 1) {
      *dst = *src;
   }
}

/* 0..amp..0 over a period of 2 * amp steps. */
static inline uint32_t tri(uint32_t t, uint32_t amp)
{
   uint32_t p;

   if (amp == 0) {
      return 0;
   }
   p = t % (2 * amp);
   return p < amp ? p : 2 * amp - p;
}

static inline uint32_t hash32(uint32_t x)
{
   x ^= x >> 16;
   x *= 0x7feb352du;
   x ^= x >> 15;
   x *= 0x846ca68bu;
   x ^= x >> 16;
   return x;
}

static inline uint32_t rgb(uint32_t r, uint32_t g, uint32_t b)
{
   r = r > 255 ? 255 : r;
   g = g > 255 ? 255 : g;
   b = b > 255 ? 255 : b;
   return r << 16 | g << 8 | b;
}

static void rect(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t c)
{
   for (uint32_t r = 0; r < h; r++) {
      fill32(back + (uint64_t)(y + r) * d.w + x, c, w);
   }
}

static void error(const char *what)
{
   kit_printf("BENCH error %s\n", what);
}

/* ---- the device */

static uint32_t reg_read(uint32_t idx)
{
   kit_outl((uint16_t)(d.io + SVGA_INDEX_PORT), idx);
   return kit_inl((uint16_t)(d.io + SVGA_VALUE_PORT));
}

static void reg_write(uint32_t idx, uint32_t v)
{
   kit_outl((uint16_t)(d.io + SVGA_INDEX_PORT), idx);
   kit_outl((uint16_t)(d.io + SVGA_VALUE_PORT), v);
}

static bool find_device(void)
{
   for (unsigned dev = 0; dev < 32; dev++) {
      if (kit_pci_read32(0, dev, 0, 0) == ((uint32_t)SVGA_PCI_DEVICE << 16 | SVGA_PCI_VENDOR)) {
         d.dev = dev;
         return true;
      }
   }
   return false;
}

static uint32_t bar_probe(unsigned bar, uint32_t *addr, bool *io)
{
   unsigned off = 0x10 + 4 * bar;
   uint32_t old = kit_pci_read32(0, d.dev, 0, off), v;

   kit_pci_write32(0, d.dev, 0, off, 0xffffffffu);
   v = kit_pci_read32(0, d.dev, 0, off);
   kit_pci_write32(0, d.dev, 0, off, old);
   *io = old & 1;
   *addr = old & (*io ? ~3u : ~15u);
   return *io ? (~(v & ~3u) + 1) & 0xffffu : ~(v & ~15u) + 1;
}

/* Take BAR0 (I/O), BAR1 (VRAM), BAR2 (FIFO); assign what nobody did. */
static bool setup_bars(void)
{
   static const uint32_t fixed[3] = { 0xc000u, 0xe0000000u, 0xe8000000u };
   uint32_t addr[3], size[3];
   bool io[3];
   uint16_t cmd = kit_pci_read16(0, d.dev, 0, 4);

   kit_pci_write16(0, d.dev, 0, 4, cmd & ~3u);
   for (unsigned b = 0; b < 3; b++) {
      size[b] = bar_probe(b, &addr[b], &io[b]);
      if (addr[b] == 0) {
         addr[b] = fixed[b];
         kit_pci_write32(0, d.dev, 0, 0x10 + 4 * b, addr[b]);
      }
   }
   kit_pci_write16(0, d.dev, 0, 4, cmd | 7u);
   if (!io[0] || io[1] || io[2] || size[0] < 16 || size[1] < (4u << 20) || size[2] < (16u << 10)) {
      error("the BARs are not I/O (16 ports), VRAM (4 MiB+), FIFO (16 KiB+)");
      return false;
   }
   d.io = (uint16_t)addr[0];
   d.vram_bar = addr[1];
   d.fifo_bar = addr[2];
   d.fifo_bar_size = size[2];
   d.vram = (uint8_t *)(uintptr_t)addr[1];
   d.fifo = (volatile uint32_t *)(uintptr_t)addr[2];
   return true;
}

static bool setup_device(void)
{
   static const uint32_t ids[3] = { SVGA_ID_2, SVGA_ID_1, SVGA_ID_0 };
   uint32_t mem_size, min;

   d.id = SVGA_ID_INVALID;
   for (unsigned i = 0; i < 3; i++) {
      reg_write(SVGA_REG_ID, ids[i]);
      if (reg_read(SVGA_REG_ID) == ids[i]) {
         d.id = ids[i];
         break;
      }
   }
   if (d.id == SVGA_ID_INVALID || d.id == SVGA_ID_0) {
      error("the device offers neither SVGA_ID_2 nor SVGA_ID_1 (no FIFO)");
      return false;
   }
   d.caps = d.id == SVGA_ID_2 ? reg_read(SVGA_REG_CAPABILITIES) : 0;
   d.vram_size = reg_read(SVGA_REG_VRAM_SIZE);
   mem_size = reg_read(SVGA_REG_MEM_SIZE);
   if (mem_size < (16u << 10) || mem_size > d.fifo_bar_size) {
      error("SVGA_REG_MEM_SIZE does not fit the FIFO BAR");
      return false;
   }
   reg_write(SVGA_REG_GUEST_ID, 0x5010);   /* "other 64-bit" */
   reg_write(SVGA_REG_WIDTH, d.w);
   reg_write(SVGA_REG_HEIGHT, d.h);
   reg_write(SVGA_REG_BITS_PER_PIXEL, 32);
   d.pitch = reg_read(SVGA_REG_BYTES_PER_LINE);
   d.fb_offset = reg_read(SVGA_REG_FB_OFFSET);
   if (reg_read(SVGA_REG_WIDTH) != d.w || reg_read(SVGA_REG_HEIGHT) != d.h ||
       reg_read(SVGA_REG_BITS_PER_PIXEL) != 32 || d.pitch < d.w * 4 || (d.pitch & 3) ||
       (uint64_t)d.fb_offset + (uint64_t)d.pitch * d.h > d.vram_size) {
      error("the device refused the mode");
      kit_printf("BENCH mode reads %ux%u, %u bpp, pitch %u, offset %u, VRAM %u\n",
                 reg_read(SVGA_REG_WIDTH), reg_read(SVGA_REG_HEIGHT),
                 reg_read(SVGA_REG_BITS_PER_PIXEL), d.pitch, d.fb_offset, d.vram_size);
      return false;
   }

   /* FIFO: with the extended FIFO the registers take SVGA_REG_MEM_REGS
    * words (rounded up to a page, as vmwgfx does); else the four basic
    * ones. */
   min = 16;
   if (d.caps & SVGA_CAP_EXTENDED_FIFO) {
      min = reg_read(SVGA_REG_MEM_REGS) * 4;
      min = min < PAGE ? PAGE : (min + PAGE - 1) & ~(PAGE - 1);
      if (min >= mem_size / 2) {
         error("SVGA_REG_MEM_REGS leaves no room for commands");
         return false;
      }
   }
   for (uint32_t i = 4; i < min / 4; i++) {
      d.fifo[i] = 0;
   }
   d.fmin = min;
   d.fmax = mem_size;
   d.fnext = min;
   d.fifo[SVGA_FIFO_MIN] = min;
   d.fifo[SVGA_FIFO_MAX] = mem_size;
   d.fifo[SVGA_FIFO_NEXT_CMD] = min;
   d.fifo[SVGA_FIFO_STOP] = min;
   if (d.caps & SVGA_CAP_IRQMASK) {
      reg_write(SVGA_REG_IRQMASK, 0);
   }
   reg_write(SVGA_REG_ENABLE, SVGA_REG_ENABLE_ENABLE);
   reg_write(SVGA_REG_CONFIG_DONE, 1);
   if (reg_read(SVGA_REG_ENABLE) != SVGA_REG_ENABLE_ENABLE) {
      error("SVGA_REG_ENABLE does not read back 1");
      return false;
   }
   return true;
}

/* The vmwgfx ping: make the device look at the FIFO now. */
static void ping(void)
{
   if (!d.sync) {
      return;
   }
   if (d.caps & SVGA_CAP_EXTENDED_FIFO) {
      if (d.fifo[SVGA_FIFO_BUSY] == 0) {
         d.fifo[SVGA_FIFO_BUSY] = 1;
         reg_write(SVGA_REG_SYNC, 1);
      }
   } else {
      reg_write(SVGA_REG_SYNC, 1);
   }
}

static uint32_t fifo_free(void)
{
   uint32_t stop = d.fifo[SVGA_FIFO_STOP], size = d.fmax - d.fmin, used;

   if (stop < d.fmin || stop >= d.fmax || (stop & 3)) {
      return 0;
   }
   used = d.fnext >= stop ? d.fnext - stop : size - (stop - d.fnext);
   return size - used - 4;
}

/* UPDATE of the whole screen. False when the device stopped consuming. */
static bool send_update(void)
{
   static const uint32_t n = 5;
   uint32_t w[5] = { SVGA_CMD_UPDATE, 0, 0, d.w, d.h };

   for (unsigned tries = 0; fifo_free() < n * 4; tries++) {
      /* Full: let the device catch up (reading BUSY runs the FIFO). */
      reg_write(SVGA_REG_SYNC, 1);
      for (unsigned i = 0; i < 100000 && reg_read(SVGA_REG_BUSY); i++) {
      }
      if (tries == 100) {
         error("the device does not consume the FIFO");
         return false;
      }
   }
   for (uint32_t i = 0; i < n; i++) {
      d.fifo[d.fnext / 4] = w[i];
      d.fnext += 4;
      if (d.fnext >= d.fmax) {
         d.fnext = d.fmin;
      }
   }
   __asm__ volatile("" ::: "memory");
   d.fifo[SVGA_FIFO_NEXT_CMD] = d.fnext;
   ping();
   return true;
}

/* ---- the pictures (computed once) */

static uint32_t ramp_colour(uint32_t i)
{
   /* a soft cycle through blues, teals and violets */
   return rgb(60 + tri(i, RAMP / 2) * 110 / (RAMP / 2), 90 + tri(i + RAMP / 3, RAMP / 2) * 90 /
              (RAMP / 2), 150 + tri(i + 2 * RAMP / 3, RAMP / 2) * 90 / (RAMP / 2));
}

/* A 6x11 pseudo-glyph: on or off for pixel (gx, gy) of character ch. */
static bool glyph_on(uint32_t ch, uint32_t gx, uint32_t gy)
{
   uint32_t h = hash32(ch * 131u + gy * 7u + gx);

   if (gy < 2 && (ch & 3) != 0) {
      return false;     /* most characters have no ascender */
   }
   return (h & 7u) < 3u;
}

static void make_document(void)
{
   const uint32_t line_h = 16, cell = 7;
   uint32_t seed = 1;

   for (uint32_t line = 0; line < DOC_LINES / line_h; line++) {
      uint32_t *top = doc + (uint64_t)line * line_h * DOC_BODY_W;
      uint32_t len, x = 12;
      bool blank, heading;

      fill32(top, 0xffffffu, (uint64_t)line_h * DOC_BODY_W);
      seed = hash32(seed + line);
      blank = seed % 7 == 0;
      heading = seed % 11 == 1;
      len = blank ? 0 : 20 + seed % 50;
      for (uint32_t c = 0; c < len && x + cell < DOC_BODY_W - 12; c++) {
         uint32_t ch = hash32(seed ^ c * 2654435761u);
         bool space = ch % 6 == 0;
         uint32_t ink = heading ? 0x1a3d7cu : (ch % 29 == 0 ? 0x1f5fbfu : 0x202020u);

         if (!space) {
            for (uint32_t gy = 0; gy < 11; gy++) {
               for (uint32_t gx = 0; gx < 6; gx++) {
                  if (glyph_on(ch % 80, gx, gy)) {
                     top[(uint64_t)(gy + 2) * DOC_BODY_W + x + gx] = ink;
                  }
               }
            }
         }
         x += cell;
      }
   }
}

static void make_photo(void)
{
   for (uint32_t y = 0; y < PHOTO_H; y++) {
      for (uint32_t x = 0; x < PHOTO_W; x++) {
         uint32_t n = hash32(y * PHOTO_W + x) & 15u;
         uint32_t dx = x > 200 ? x - 200 : 200 - x, dy = y > 90 ? y - 90 : 90 - y;
         uint32_t sun = dx * dx + dy * dy < 900 ? 60 : 0;
         uint32_t r = 40 + x * 150 / PHOTO_W + n + sun;
         uint32_t g = 70 + (y < 150 ? y / 2 : 150 - y / 4) + n;
         uint32_t b = y < 150 ? 200 - y / 2 + n : 60 + n + ((x * 7 + y * 3) & 31);

         photo[(uint64_t)y * PHOTO_W + x] = rgb(r, g, b);
      }
   }
}

static void make_wallpaper(void)
{
   for (uint32_t i = 0; i < d.w + RAMP; i++) {
      wall[i] = ramp_colour(i % RAMP);
   }
}

/* ---- composing a frame */

static void window_frame(uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t title,
                         uint32_t words)
{
   rect(x, y, w, 1, 0x3a3a3a);
   rect(x, y + h - 1, w, 1, 0x3a3a3a);
   rect(x, y, 1, h, 0x3a3a3a);
   rect(x + w - 1, y, 1, h, 0x3a3a3a);
   rect(x + 1, y + 1, w - 2, DOC_TITLE, title);
   /* the title's words and the close button */
   for (uint32_t i = 0, wx = x + 10; i < words; i++) {
      uint32_t ww = 18 + hash32(words * 31 + i) % 40;

      rect(wx, y + 9, ww, 7, 0xf0f0f0);
      wx += ww + 8;
   }
   rect(x + w - 20, y + 5, 14, 14, 0xd04040);
}

static void draw_stamp(uint32_t frame)
{
   uint32_t x0 = bench_vnc_stamp_x(d.w);

   for (uint32_t b = 0; b < BENCH_VNC_STAMP_BITS; b++) {
      bool on = frame >> (BENCH_VNC_STAMP_BITS - 1 - b) & 1u;

      rect(x0 + b * BENCH_VNC_STAMP_CELL, BENCH_VNC_STAMP_Y, BENCH_VNC_STAMP_CELL,
           BENCH_VNC_STAMP_CELL, on ? BENCH_VNC_STAMP_ON : BENCH_VNC_STAMP_OFF);
   }
}

static uint64_t compose(uint64_t frame)
{
   const uint32_t f = (uint32_t)frame, w = d.w, h = d.h;
   uint32_t ax, ay, bx, by, cx = w - DLG_W - 24, cy = h - DLG_H - 24, p;

   /* taskbar: flat, a start button, four task buttons (the active one
    * changes every second or so), the stamp */
   rect(0, 0, w, BENCH_VNC_BAR_H, 0x1f2a36);
   rect(4, 4, 56, 16, 0x3a78c2);
   for (uint32_t i = 0; i < 4; i++) {
      rect(72 + i * 150, 4, 140, 16, i == (f / 60) % 4 ? 0x4a5a6c : 0x2e3c4c);
      rect(80 + i * 150, 10, 60 + i * 12, 4, 0xc8ccd0);
   }
   draw_stamp(f);

   /* wallpaper: the diagonal gradient, moving 3 pixels a frame */
   for (uint32_t y = BENCH_VNC_BAR_H; y < h; y++) {
      copy32(back + (uint64_t)y * w, wall + (y + 3 * f) % RAMP, w);
   }

   /* dialog (fixed place) with a progress bar */
   window_frame(cx, cy, DLG_W, DLG_H, 0x5a6a7a, 3);
   rect(cx + 1, cy + 1 + DOC_TITLE, DLG_W - 2, DLG_H - 2 - DOC_TITLE, 0xe6e6e6);
   rect(cx + 20, cy + 50, DLG_W - 40, 18, 0x9a9a9a);
   p = (f % 600) * (DLG_W - 44) / 600;
   rect(cx + 22, cy + 52, p, 14, 0x3cb043);
   rect(cx + DLG_W - 100, cy + DLG_H - 34, 80, 24, 0xd0d0d0);

   /* document window drifting, its text scrolling 2 lines of pixels a
    * frame */
   ax = 40 + tri(2 * f, w - DOC_W - 80);
   ay = 40 + tri(f, h - DOC_H - 80);
   window_frame(ax, ay, DOC_W, DOC_H, 0x2d5f9a, 4);
   rect(ax + 1, ay + 1 + DOC_TITLE, 1, DOC_H - 2 - DOC_TITLE, 0xffffff);
   rect(ax + DOC_W - 2, ay + 1 + DOC_TITLE, 1, DOC_H - 2 - DOC_TITLE, 0xffffff);
   for (uint32_t r = 0; r < DOC_BODY_H; r++) {
      copy32(back + (uint64_t)(ay + 1 + DOC_TITLE + r) * w + ax + 2,
             doc + (uint64_t)((r + 2 * f) % DOC_LINES) * DOC_BODY_W, DOC_BODY_W);
   }

   /* photo viewer bouncing around */
   bx = tri(3 * f, w - VIEW_W);
   by = BENCH_VNC_BAR_H + tri(2 * f, h - BENCH_VNC_BAR_H - VIEW_H);
   window_frame(bx, by, VIEW_W, VIEW_H, 0x6a4a8a, 2);
   rect(bx + 1, by + 1 + DOC_TITLE, VIEW_W - 2, VIEW_H - 2 - DOC_TITLE, 0x202020);
   for (uint32_t r = 0; r < PHOTO_H; r++) {
      copy32(back + (uint64_t)(by + 1 + DOC_TITLE + r) * w + bx + 2,
             photo + (uint64_t)r * PHOTO_W, PHOTO_W);
   }
   return 0;
}

/* Copy the composed frame to VRAM and tell the device. */
static uint64_t present(uint64_t arg)
{
   uint32_t *fb = (uint32_t *)(d.vram + d.fb_offset);

   (void)arg;
   if (d.pitch == d.w * 4) {
      copy32(fb, back, (uint64_t)d.w * d.h);
   } else {
      for (uint32_t y = 0; y < d.h; y++) {
         copy32((uint32_t *)((uint8_t *)fb + (uint64_t)y * d.pitch), back + (uint64_t)y * d.w,
                d.w);
      }
   }
   return send_update() ? 0 : 1;
}

static uint64_t prepare(uint64_t arg)
{
   (void)arg;
   make_wallpaper();
   make_document();
   make_photo();
   return 0;
}

/* ---- pacing
 *
 * Deadlines are TSC values; the TSC rate is measured once against PIT
 * counter 2 (mode 0, gate through port 0x61, polled: no interrupts
 * involved), the same way on every machine. Between frames the guest
 * sleeps in HLT, woken by PIT IRQ0 at TICK_HZ through the 8259 (LINT0 in
 * ExtINT); lost or late ticks only make the wake-ups coarser. */

static uint64_t tsc_khz;

static uint64_t calibrate(uint64_t arg)
{
   const uint32_t count = KIT_PIT_HZ / 20;   /* 50 ms */
   uint64_t t0, t1;

   (void)arg;
   kit_outb(0x61, (uint8_t)((kit_inb(0x61) & ~0x02u) | 0x01u));   /* gate on, speaker off */
   kit_outb(0x43, 0xb0);                      /* counter 2, lo/hi, mode 0, binary */
   kit_outb(0x42, (uint8_t)count);
   kit_outb(0x42, (uint8_t)(count >> 8));
   t0 = kit_rdtsc();
   for (uint64_t i = 0; !(kit_inb(0x61) & 0x20); i++) {
      if (i == 200000000u) {
         return 0;
      }
   }
   t1 = kit_rdtsc();
   return (t1 - t0) / 50;
}

static void tick(kit_frame *f)
{
   (void)f;
   ticks++;
   kit_pic_eoi(0);
}

static void timer_start(void)
{
   kit_set_handler(VEC_PIC, tick);
   kit_lapic_enable();
   kit_lapic_write(KIT_LAPIC_LVT_LINT0, 0x700);   /* ExtINT, unmasked */
   kit_pit_rate((KIT_PIT_HZ + TICK_HZ / 2) / TICK_HZ);
   kit_pic_set_mask(0xfffe);
}

static void wait_until(uint64_t tsc)
{
   while ((int64_t)(kit_rdtsc() - tsc) < 0) {
      __asm__ volatile("sti; hlt; cli" ::: "memory");
   }
}

static bool run_user(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t *ret)
{
   kit_fault f;

   if (kit_user_run(fn, arg, ret, &f)) {
      kit_printf("BENCH error %s (vector %lu) at rip 0x%lx, cr2 0x%lx\n",
                 kit_exception_name((unsigned)f.vector), f.vector, f.rip, f.cr2);
      return false;
   }
   return true;
}

static bool measure_tsc(void)
{
   if (!run_user(calibrate, 0, &tsc_khz)) {
      return false;
   }
   if (tsc_khz == 0) {
      error("PIT counter 2 never reached zero: cannot measure the TSC");
      return false;
   }
   kit_printf("BENCH tsc %lu kHz (PIT counter 2; the hypervisor leaf says %lu kHz)\n", tsc_khz,
              kit_tsc_khz());
   return true;
}

static void animate(uint64_t fps)
{
   uint64_t ret, period, base, next_report, k = 0;
   uint32_t frame = 0, late = 0, reported = 0;

   period = fps ? tsc_khz * 1000 / fps : 0;
   if (fps) {
      timer_start();
   }
   base = kit_rdtsc();
   next_report = base + 5000 * tsc_khz;
   for (;; frame++) {
      if (!run_user(compose, frame, &ret)) {
         return;
      }
      if (fps) {
         uint64_t due = base + k * period, now = kit_rdtsc();

         if ((int64_t)(now - due) > (int64_t)period) {
            /* more than a frame behind: count it, do not catch up */
            late++;
            base = now;
            k = 0;
         } else {
            wait_until(due);
         }
         k++;
      }
      if (!run_user(present, 0, &ret) || ret) {
         return;
      }
      if (frame == 0) {
         kit_printf("BENCH ready mode=anim w=%u h=%u fps=%lu\n", d.w, d.h, fps);
      }
      if ((int64_t)(kit_rdtsc() - next_report) >= 0) {
         kit_printf("BENCH anim frames=%u (%u in the last 5 s) late=%u\n", frame + 1,
                    frame + 1 - reported, late);
         reported = frame + 1;
         next_report += 5000 * tsc_khz;
      }
   }
}

/* ---- key latency */

static uint64_t fill_screen(uint64_t colour)
{
   uint32_t *fb = (uint32_t *)(d.vram + d.fb_offset);

   if (d.pitch == d.w * 4) {
      fill32(fb, (uint32_t)colour, (uint64_t)d.w * d.h);
   } else {
      for (uint32_t y = 0; y < d.h; y++) {
         fill32((uint32_t *)((uint8_t *)fb + (uint64_t)y * d.pitch), (uint32_t)colour, d.w);
      }
   }
   return send_update() ? 0 : 1;
}

/* Wait for one byte from the keyboard (not the mouse port); budget in
 * polls, 0: forever. -1 when none came. */
static int kbd_byte(uint64_t budget)
{
   for (uint64_t i = 0; budget == 0 || i < budget; i++) {
      uint8_t st = kit_inb(0x64);

      if (st & 0x01) {
         uint8_t b = kit_inb(0x60);

         if (!(st & 0x20)) {
            return b;
         }
      }
   }
   return -1;
}

static void kbd_cmd_byte(uint8_t v)
{
   kit_outb(0x64, 0x60);
   kit_outb(0x60, v);
}

static uint64_t kbd_setup(uint64_t arg)
{
   int ack, bat;

   (void)arg;
   kit_outb(0x64, 0xad);        /* keyboard port off */
   kit_outb(0x64, 0xa7);        /* mouse port off */
   for (int i = 0; i < 64 && (kit_inb(0x64) & 0x01); i++) {
      kit_inb(0x60);
   }
   kbd_cmd_byte(0x24);          /* no IRQs, mouse off, no translation yet */
   kit_outb(0x64, 0xae);
   kit_outb(0x60, 0xff);        /* reset */
   ack = kbd_byte(2000000);
   bat = kbd_byte(2000000);
   kbd_cmd_byte(0x64);          /* translation to set 1 on */
   for (int i = 0; i < 64 && (kit_inb(0x64) & 0x01); i++) {
      kit_inb(0x60);
   }
   return ack == 0xfa && bat == 0xaa ? 0 : (uint64_t)(ack & 0xff) << 8 | (uint64_t)(bat & 0xff);
}

/* Polls the keyboard forever; every make code moves to the next colour.
 * With bench.trace=1, prints the TSC when the byte was seen and when the
 * UPDATE (and ping) had been posted, after the fact. */
static bool trace;

static uint64_t key_loop(uint64_t arg)
{
   uint32_t n = 0;

   (void)arg;
   for (;;) {
      int b = kbd_byte(0);
      uint64_t seen = kit_rdtsc();

      if (b <= 0 || b >= 0x80) {
         continue;   /* break codes, 0xe0 prefixes, acknowledgements */
      }
      if (fill_screen(bench_vnc_key_colour(++n))) {
         return 1;
      }
      if (trace) {
         kit_printf("BENCH key %u seen=%lu posted=%lu\n", n, seen, kit_rdtsc());
      }
   }
}

static void key_latency(void)
{
   uint64_t ret;

   if (!run_user(kbd_setup, 0, &ret)) {
      return;
   }
   if (ret) {
      kit_printf("BENCH error the keyboard reset answered 0x%lx 0x%lx, expected 0xfa 0xaa\n",
                 ret >> 8, ret & 0xff);
      return;
   }
   if (!run_user(fill_screen, bench_vnc_key_colour(0), &ret) || ret) {
      return;
   }
   kit_printf("BENCH ready mode=key w=%u h=%u\n", d.w, d.h);
   run_user(key_loop, 0, &ret);
}

/* ---- main */

void kit_main(void)
{
   char mode[8] = "anim";
   uint64_t w = BENCH_VNC_DEF_W, h = BENCH_VNC_DEF_H, fps = 60, sync = 1, tr = 0;
   uint64_t need;

   kit_poweroff_at_exit();
   kit_pic_init(VEC_PIC);
   kit_cmdline_get("bench.mode", mode, sizeof mode);
   kit_cmdline_u64("bench.w", &w);
   kit_cmdline_u64("bench.h", &h);
   kit_cmdline_u64("bench.fps", &fps);
   kit_cmdline_u64("bench.sync", &sync);
   kit_cmdline_u64("bench.trace", &tr);
   trace = tr != 0;
   if (strcmp(mode, "anim") != 0 && strcmp(mode, "key") != 0) {
      error("bench.mode must be anim or key");
      kit_exit(KIT_FAIL);
   }
   if (w < BENCH_VNC_MIN_W || w > BENCH_VNC_MAX_W || h < BENCH_VNC_MIN_H ||
       h > BENCH_VNC_MAX_H || (w & 1) || fps > TICK_HZ / 2) {
      error("bench.w, bench.h or bench.fps out of range (800-1920 even, 600-1200, 0-500)");
      kit_exit(KIT_FAIL);
   }
   d.w = (uint32_t)w;
   d.h = (uint32_t)h;
   d.sync = sync != 0;

   /* the pictures in RAM beyond the image */
   back = (uint32_t *)(uintptr_t)BUF_BASE;
   wall = back + (uint64_t)d.w * d.h;
   doc = wall + ((d.w + RAMP + 1) & ~1u);
   photo = doc + (uint64_t)DOC_BODY_W * DOC_LINES;
   need = (uint64_t)(uintptr_t)(photo + (uint64_t)PHOTO_W * PHOTO_H);
   if (kit_boot.ram_top < need) {
      kit_printf("BENCH error needs RAM up to 0x%lx, the machine has up to 0x%lx\n", need,
                 kit_boot.ram_top);
      kit_exit(KIT_FAIL);
   }

   if (!find_device()) {
      error("no PCI function 15ad:0405 on bus 0");
      kit_exit(KIT_FAIL);
   }
   if (!setup_bars() || !setup_device() || !measure_tsc()) {
      kit_exit(KIT_FAIL);
   }
   kit_printf("BENCH svga at 00:%02x.0, id 0x%x, caps 0x%x, VRAM %u bytes, FIFO %u-%u, pitch %u, "
              "ping %s\n", d.dev, d.id, d.caps, d.vram_size, d.fmin, d.fmax, d.pitch,
              !d.sync ? "off" : d.caps & SVGA_CAP_EXTENDED_FIFO ? "SYNC when FIFO_BUSY is 0"
                                                                : "SYNC every commit");
   if (mode[0] == 'k') {
      key_latency();
   } else {
      uint64_t ret;

      if (run_user(prepare, 0, &ret)) {
         animate(fps);
      }
   }
   kit_exit(KIT_FAIL);
}
