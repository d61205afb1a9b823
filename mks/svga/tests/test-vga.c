/*
 * VGA and VBE tests: the VGA register file, text mode rendered with the
 * built-in font (colours, cursor, line graphics, 8- and 9-dot cells,
 * scrolling through the start address, other text geometries), graphics
 * modes shown black, the Bochs VBE registers and modes with writes to the
 * linear framebuffer, and SVGA taking over from VBE.
 */
#include "mks/svga/svga-int.h"
#include "svga-test.h"

#define TEXT 0xb8000u

static void
put_cell(t_env *t, unsigned col, unsigned row, uint8_t ch, uint8_t attr)
{
   t->ram[TEXT + (row * 80 + col) * 2] = ch;
   t->ram[TEXT + (row * 80 + col) * 2 + 1] = attr;
}

static void
crtc(t_env *t, uint8_t idx, uint8_t val)
{
   outb(t->p, 0x3d4, idx);
   outb(t->p, 0x3d5, val);
}

/* Check a whole 9 x 16 cell against the font. */
static void
check_cell(const t_shot *s, unsigned col, unsigned row, uint8_t ch, uint32_t fg, uint32_t bg,
           unsigned dots)
{
   const uint8_t *g = svga_font_glyph(ch);
   bool lge = ch >= 0xc0 && ch <= 0xdf;
   for (unsigned y = 0; y < 16; y++) {
      for (unsigned x = 0; x < dots; x++) {
         bool on = x < 8 ? (g[y] >> (7 - x)) & 1 : (lge && (g[y] & 1));
         g_assert_cmphex(t_px(s, col * dots + x, row * 16 + y), ==, on ? fg : bg);
      }
   }
}

static void
test_text_mode(void)
{
   t_env t;
   t_setup(&t);
   /* no cursor for now */
   crtc(&t, 0x0a, 0x20);
   put_cell(&t, 0, 0, 'A', 0x1f);
   put_cell(&t, 1, 0, 'g', 0x4e);
   put_cell(&t, 2, 0, 0xc4, 0x07);   /* a horizontal line: reaches column 9 */
   put_cell(&t, 79, 24, '@', 0x70);
   t_shot s;
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, 720);
   g_assert_cmpuint(s.h, ==, 400);
   check_cell(&s, 0, 0, 'A', 0xffffff, 0x0000aa, 9);
   check_cell(&s, 1, 0, 'g', 0xffff55, 0xaa0000, 9);
   check_cell(&s, 2, 0, 0xc4, 0xaaaaaa, 0x000000, 9);
   check_cell(&s, 79, 24, '@', 0x000000, 0xaaaaaa, 9);
   /* the apex of our 'A' and the left edge beside it */
   g_assert_cmphex(t_px(&s, 3, 3), ==, 0xffffff);
   g_assert_cmphex(t_px(&s, 0, 3), ==, 0x0000aa);
   g_assert_cmphex(t_px(&s, 2 * 9 + 8, 7), ==, 0xaaaaaa);   /* 9th column of the line */
   t_shot_free(&s);

   /* a change repaints just its cell */
   put_cell(&t, 40, 12, 'Z', 0x02);
   t_shoot(&t, &s);
   check_cell(&s, 40, 12, 'Z', 0x00aa00, 0, 9);
   g_assert_cmpuint(s.dmg.nrects, ==, 1);
   g_assert_cmpint(s.dmg.rects[0].x, ==, 360);
   g_assert_cmpint(s.dmg.rects[0].y, ==, 192);
   g_assert_cmpint(s.dmg.rects[0].w, ==, 9);
   g_assert_cmpint(s.dmg.rects[0].h, ==, 16);
   t_shot_free(&s);

   /* blink enabled (the default): attribute bit 7 is not intensity */
   put_cell(&t, 5, 5, ' ', 0xc0);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 45, 80), ==, 0xaa0000);
   t_shot_free(&s);
   vmx_platform_pio_read(t.p, NULL, 0x3da, 1);   /* reset the flip-flop */
   outb(t.p, 0x3c0, 0x10);
   outb(t.p, 0x3c0, 0x04);   /* mode control: line graphics, no blink */
   outb(t.p, 0x3c0, 0x20);   /* palette address source back on */
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 45, 80), ==, 0xff5555);
   t_shot_free(&s);

   /* the DAC: blue becomes something else */
   outb(t.p, 0x3c8, 1);
   outb(t.p, 0x3c9, 0x3f);
   outb(t.p, 0x3c9, 0x00);
   outb(t.p, 0x3c9, 0x10);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 0, 3), ==, 0xff0041);
   t_shot_free(&s);
   t_teardown(&t);
}

static void
test_text_cursor_and_scroll(void)
{
   t_env t;
   t_setup(&t);
   put_cell(&t, 0, 0, ' ', 0x07);
   put_cell(&t, 1, 0, ' ', 0x1e);
   t_shot s;
   t_shoot(&t, &s);
   /* the power-on cursor: scan lines 13-14 of cell 0 */
   g_assert_cmphex(t_px(&s, 0, 12), ==, 0);
   g_assert_cmphex(t_px(&s, 0, 13), ==, 0xaaaaaa);
   g_assert_cmphex(t_px(&s, 8, 14), ==, 0xaaaaaa);
   g_assert_cmphex(t_px(&s, 0, 15), ==, 0);
   t_shot_free(&s);
   /* move it one cell right and make it a block */
   crtc(&t, 0x0f, 1);
   crtc(&t, 0x0a, 0);
   crtc(&t, 0x0b, 15);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 0, 13), ==, 0);
   g_assert_cmphex(t_px(&s, 9, 0), ==, 0xffff55);
   g_assert_cmphex(t_px(&s, 17, 15), ==, 0xffff55);
   g_assert_cmpuint(s.dmg.nrects, ==, 1);
   g_assert_cmpint(t_damage_area(&s.dmg), ==, 2 * 9 * 16);
   t_shot_free(&s);
   /* start address one line down: row 0 shows memory line 1 */
   put_cell(&t, 3, 1, 'X', 0x0f);
   crtc(&t, 0x0c, 0);
   crtc(&t, 0x0d, 80);
   t_shoot(&t, &s);
   check_cell(&s, 3, 0, 'X', 0xffffff, 0, 9);
   t_shot_free(&s);
   /* 8-dot characters */
   outb(t.p, 0x3c4, 1);
   outb(t.p, 0x3c5, 0x01);
   g_assert_cmphex(inb(t.p, 0x3c5), ==, 0x01);
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, 640);
   check_cell(&s, 3, 0, 'X', 0xffffff, 0, 8);
   t_shot_free(&s);
   /* 8-line characters: 50 rows */
   crtc(&t, 0x09, 0x47);
   t_shoot(&t, &s);
   g_assert_cmpuint(s.h, ==, 400);
   g_assert_true(t_damage_covers(&s.dmg, 0, 0, 640, 400));
   /* 8-line rows show the top half of the glyphs */
   const uint8_t *gx = svga_font_glyph('X');
   for (unsigned y = 0; y < 8; y++) {
      for (unsigned x = 0; x < 8; x++) {
         bool on = (gx[y] >> (7 - x)) & 1;
         g_assert_cmphex(t_px(&s, 24 + x, y), ==, on ? 0xffffff : 0);
      }
   }
   t_shot_free(&s);
   /* screen off, then a graphics mode: black */
   outb(t.p, 0x3c4, 1);
   outb(t.p, 0x3c5, 0x21);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 3 * 8 + 2, 5), ==, 0);
   t_shot_free(&s);
   outb(t.p, 0x3ce, 6);
   outb(t.p, 0x3cf, 0x05);
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, 640);
   g_assert_cmpuint(s.h, ==, 480);
   t_shot_free(&s);
   t_teardown(&t);
}

static void
test_vga_ports(void)
{
   t_env t;
   t_setup(&t);
   g_assert_cmphex(inb(t.p, 0x3cc), ==, 0x67);
   outb(t.p, 0x3ce, 5);
   g_assert_cmphex(inb(t.p, 0x3ce), ==, 5);
   g_assert_cmphex(inb(t.p, 0x3cf), ==, 0x10);
   outb(t.p, 0x3d4, 0x0e);
   outb(t.p, 0x3d5, 0x12);
   g_assert_cmphex(inb(t.p, 0x3d5), ==, 0x12);
   /* a word write sets index and data */
   vmx_platform_pio_write(t.p, NULL, 0x3d4, 2, 0x340f);
   outb(t.p, 0x3d4, 0x0f);
   g_assert_cmphex(inb(t.p, 0x3d5), ==, 0x34);
   /* the mono CRTC is not decoded in colour mode */
   g_assert_cmphex(inb(t.p, 0x3b5), ==, 0xff);
   /* DAC read back, auto-increment */
   outb(t.p, 0x3c7, 7);
   g_assert_cmphex(inb(t.p, 0x3c7), ==, 3);
   g_assert_cmphex(inb(t.p, 0x3c9), ==, 0x2a);
   g_assert_cmphex(inb(t.p, 0x3c9), ==, 0x2a);
   g_assert_cmphex(inb(t.p, 0x3c9), ==, 0x2a);
   g_assert_cmphex(inb(t.p, 0x3c9), ==, 0x00);   /* entry 8 */
   outb(t.p, 0x3c8, 20);
   outb(t.p, 0x3c9, 0xff);
   outb(t.p, 0x3c9, 1);
   outb(t.p, 0x3c9, 2);
   g_assert_cmphex(inb(t.p, 0x3c8), ==, 21);
   outb(t.p, 0x3c7, 20);
   g_assert_cmphex(inb(t.p, 0x3c9), ==, 0x3f);
   /* the attribute flip-flop */
   inb(t.p, 0x3da);
   outb(t.p, 0x3c0, 0x21);
   outb(t.p, 0x3c0, 0x3f);
   g_assert_cmphex(inb(t.p, 0x3c1), ==, 0x3f);
   inb(t.p, 0x3da);
   outb(t.p, 0x3c0, 0x21);
   g_assert_cmphex(inb(t.p, 0x3c0), ==, 0x21);
   /* input status 1 toggles so that retrace loops end */
   uint8_t a = inb(t.p, 0x3da), b = inb(t.p, 0x3da);
   g_assert_cmphex(a ^ b, ==, 0x09);
   /* switch to mono addressing */
   outb(t.p, 0x3c2, 0x66);
   outb(t.p, 0x3b4, 0x0f);
   g_assert_cmphex(inb(t.p, 0x3b5), ==, 0x34);
   g_assert_cmphex(inb(t.p, 0x3d5), ==, 0xff);
   t_teardown(&t);
}

static void
vbe_write(t_env *t, uint16_t idx, uint16_t val)
{
   vmx_platform_pio_write(t->p, NULL, 0x1ce, 2, idx);
   vmx_platform_pio_write(t->p, NULL, 0x1cf, 2, val);
}

static uint16_t
vbe_read(t_env *t, uint16_t idx)
{
   vmx_platform_pio_write(t->p, NULL, 0x1ce, 2, idx);
   return (uint16_t)vmx_platform_pio_read(t->p, NULL, 0x1cf, 2);
}

static void
test_vbe(void)
{
   t_env t;
   t_setup(&t);
   g_assert_cmphex(vbe_read(&t, VBE_DISPI_INDEX_ID), ==, VBE_DISPI_ID5);
   vbe_write(&t, VBE_DISPI_INDEX_ID, VBE_DISPI_ID0 + 2);
   g_assert_cmphex(vbe_read(&t, VBE_DISPI_INDEX_ID), ==, VBE_DISPI_ID0 + 2);
   vbe_write(&t, VBE_DISPI_INDEX_ID, 0x1234);
   g_assert_cmphex(vbe_read(&t, VBE_DISPI_INDEX_ID), ==, VBE_DISPI_ID0 + 2);
   g_assert_cmpuint(vbe_read(&t, VBE_DISPI_INDEX_VIDEO_MEMORY_64K), ==, 256);
   vbe_write(&t, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_GETCAPS);
   g_assert_cmpuint(vbe_read(&t, VBE_DISPI_INDEX_XRES), ==, 8192);
   g_assert_cmpuint(vbe_read(&t, VBE_DISPI_INDEX_BPP), ==, 32);
   vbe_write(&t, VBE_DISPI_INDEX_ENABLE, 0);
   /* 800 x 600 x 32 with the LFB; VRAM is cleared */
   memset(t.vram, 0x77, 4096);
   vbe_write(&t, VBE_DISPI_INDEX_XRES, 800);
   vbe_write(&t, VBE_DISPI_INDEX_YRES, 600);
   vbe_write(&t, VBE_DISPI_INDEX_BPP, 32);
   vbe_write(&t, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
   g_assert_cmpuint(t.vram[100], ==, 0);
   g_assert_cmpuint(vbe_read(&t, VBE_DISPI_INDEX_VIRT_WIDTH), ==, 800);
   g_assert_cmpuint(vbe_read(&t, VBE_DISPI_INDEX_VIRT_HEIGHT), ==, (16u << 20) / 3200);
   t_shot s;
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, 800);
   g_assert_cmpuint(s.h, ==, 600);
   t_shot_free(&s);
   /* writes to the linear framebuffer (through the BAR) show up */
   vmx_platform_mmio_write(t.p, NULL, T_VRAM + 10 * 3200 + 10 * 4, 4, 0x00c0ffee);
   uint32_t px = 0x00102030;
   memcpy(t.vram + 599 * 3200 + 799 * 4, &px, 4);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 10, 10), ==, 0xc0ffee);
   g_assert_cmphex(t_px(&s, 799, 599), ==, 0x102030);
   g_assert_cmpuint(s.dmg.nrects, ==, 2);
   g_assert_cmpint(t_damage_area(&s.dmg), ==, 2);
   t_shot_free(&s);
   /* panning: a wider virtual screen and an offset */
   vbe_write(&t, VBE_DISPI_INDEX_VIRT_WIDTH, 1024);
   vbe_write(&t, VBE_DISPI_INDEX_Y_OFFSET, 2);
   vbe_write(&t, VBE_DISPI_INDEX_X_OFFSET, 4);
   g_assert_cmpuint(vbe_read(&t, VBE_DISPI_INDEX_VIRT_WIDTH), ==, 1024);
   memcpy(t.vram + 2 * 4096 + 4 * 4, &px, 4);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 0, 0), ==, 0x102030);
   t_shot_free(&s);
   /* offsets that would leave the virtual screen are clamped */
   vbe_write(&t, VBE_DISPI_INDEX_X_OFFSET, 5000);
   g_assert_cmpuint(vbe_read(&t, VBE_DISPI_INDEX_X_OFFSET), ==, 224);
   /* 16 bpp */
   vbe_write(&t, VBE_DISPI_INDEX_ENABLE, 0);
   vbe_write(&t, VBE_DISPI_INDEX_XRES, 640);
   vbe_write(&t, VBE_DISPI_INDEX_YRES, 480);
   vbe_write(&t, VBE_DISPI_INDEX_BPP, 16);
   vbe_write(&t, VBE_DISPI_INDEX_ENABLE,
             VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED | VBE_DISPI_NOCLEARMEM);
   uint16_t p16 = 0x07e0;
   memcpy(t.vram + 3 * 1280 + 2 * 2, &p16, 2);
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, 640);
   g_assert_cmphex(t_px(&s, 2, 3), ==, 0x00ff00);
   t_shot_free(&s);
   /* 8 bpp through the DAC, 6-bit and then 8-bit */
   vbe_write(&t, VBE_DISPI_INDEX_ENABLE, 0);
   vbe_write(&t, VBE_DISPI_INDEX_BPP, 8);
   vbe_write(&t, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
   t.vram[5] = 4;   /* EGA red */
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 5, 0), ==, 0xaa0000);
   t_shot_free(&s);
   vbe_write(&t, VBE_DISPI_INDEX_ENABLE,
             VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED | VBE_DISPI_8BIT_DAC |
                VBE_DISPI_NOCLEARMEM);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 5, 0), ==, 0x2a0000);   /* the 6-bit value, now read as 8 */
   t_shot_free(&s);
   outb(t.p, 0x3c8, 4);
   outb(t.p, 0x3c9, 0x80);
   outb(t.p, 0x3c9, 0x40);
   outb(t.p, 0x3c9, 0x20);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 5, 0), ==, 0x804020);
   t_shot_free(&s);
   /* a mode bigger than VRAM is cut to fit */
   vbe_write(&t, VBE_DISPI_INDEX_ENABLE, 0);
   vbe_write(&t, VBE_DISPI_INDEX_XRES, 8192);
   vbe_write(&t, VBE_DISPI_INDEX_YRES, 8192);
   vbe_write(&t, VBE_DISPI_INDEX_BPP, 32);
   vbe_write(&t, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_NOCLEARMEM);
   g_assert_cmpuint(vbe_read(&t, VBE_DISPI_INDEX_YRES), ==, (16u << 20) / (8192 * 4));
   /* SVGA takes over from VBE */
   t_reg_write(&t, SVGA_REG_WIDTH, 320);
   t_reg_write(&t, SVGA_REG_HEIGHT, 200);
   t_reg_write(&t, SVGA_REG_ENABLE, SVGA_REG_ENABLE_ENABLE);
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, 320);
   g_assert_cmpuint(s.h, ==, 200);
   t_shot_free(&s);
   /* ... and gives the screen back to VBE when disabled */
   t_reg_write(&t, SVGA_REG_ENABLE, 0);
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, 8192);
   t_shot_free(&s);
   vbe_write(&t, VBE_DISPI_INDEX_ENABLE, 0);
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, 720);
   t_shot_free(&s);
   t_teardown(&t);
}

static void
test_font(void)
{
   /* every printable ASCII glyph has ink, space has none, distinct
    * letters differ */
   for (int c = 0x21; c < 0x7f; c++) {
      const uint8_t *g = svga_font_glyph((uint8_t)c);
      unsigned ink = 0;
      for (int y = 0; y < 16; y++) {
         ink += (unsigned)__builtin_popcount(g[y]);
      }
      g_assert_cmpuint(ink, >, 0);
      for (int d = 0x21; d < c; d++) {
         g_assert_false(memcmp(g, svga_font_glyph((uint8_t)d), 16) == 0);
      }
   }
   const uint8_t *sp = svga_font_glyph(' ');
   for (int y = 0; y < 16; y++) {
      g_assert_cmpuint(sp[y], ==, 0);
   }
   /* box drawing reaches the edges: a cross touches all four */
   const uint8_t *x = svga_font_glyph(0xc5);
   g_assert_true(x[0] & 0x10);
   g_assert_true(x[15] & 0x10);
   g_assert_cmphex(x[7], ==, 0xff);
   /* a double corner: outer lines meet at (2, 6), inner at (4, 8) */
   const uint8_t *c = svga_font_glyph(0xc9);
   g_assert_cmphex(c[6], ==, 0x3f);
   g_assert_cmphex(c[7], ==, 0x20);
   g_assert_cmphex(c[8], ==, 0x2f);
   g_assert_cmphex(c[15], ==, 0x28);
   g_assert_cmphex(c[5], ==, 0);
   /* the full block */
   for (int y = 0; y < 16; y++) {
      g_assert_cmphex(svga_font_glyph(0xdb)[y], ==, 0xff);
   }
   /* accented letters carry their base letter */
   const uint8_t *e = svga_font_glyph('e'), *ea = svga_font_glyph(0x82);
   g_assert_cmpmem(e + 6, 10, ea + 6, 10);
   g_assert_false(memcmp(e, ea, 6) == 0);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/svga/vga/text-mode", test_text_mode);
   g_test_add_func("/svga/vga/text-cursor-and-scroll", test_text_cursor_and_scroll);
   g_test_add_func("/svga/vga/ports", test_vga_ports);
   g_test_add_func("/svga/vga/vbe", test_vbe);
   g_test_add_func("/svga/vga/font", test_font);
   return g_test_run();
}
