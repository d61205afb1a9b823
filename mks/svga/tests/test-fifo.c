/*
 * SVGA II FIFO tests: the legacy framebuffer with UPDATE in every depth,
 * RECT_COPY and RECT_FILL, fences and interrupts (INTx and MSI), the ring
 * wrapping, partial commands, skipped escapes and 3D commands, cursors,
 * FIFO_BUSY and SYNC, damage, traces and the helper thread.
 */
#include "svga-test.h"

#include <unistd.h>

#define GSI 19   /* slot 15, INTA */

static void
vram_put32(t_env *t, uint32_t pitch, uint32_t x, uint32_t y, uint32_t bgrx)
{
   memcpy(t->vram + (size_t)y * pitch + (size_t)x * 4, &bgrx, 4);
}

static void
vram_put16(t_env *t, uint32_t pitch, uint32_t x, uint32_t y, uint16_t v)
{
   memcpy(t->vram + (size_t)y * pitch + (size_t)x * 2, &v, 2);
}

/* A legacy mode with the FIFO on; the first (full) damage consumed. */
static void
legacy_setup(t_env *t, uint32_t w, uint32_t h, uint32_t bpp)
{
   t_setup(t);
   t_fifo_init(t);
   t_legacy_mode(t, w, h, bpp);
   t_shot s;
   t_shoot(t, &s);
   g_assert_cmpuint(s.w, ==, w);
   g_assert_cmpuint(s.h, ==, h);
   g_assert_true(s.dmg.full);
   t_shot_free(&s);
}

static void
test_update_32bpp(void)
{
   t_env t;
   legacy_setup(&t, 640, 480, 32);
   for (uint32_t y = 20; y < 40; y++) {
      for (uint32_t x = 10; x < 50; x++) {
         vram_put32(&t, 2560, x, y, (x << 16) | (y << 8) | 0x5a);
      }
   }
   vram_put32(&t, 2560, 100, 100, 0xffffff);   /* outside the update */
   T_PUSH(&t, SVGA_CMD_UPDATE, 10, 20, 40, 20);
   t_sync(&t);
   g_assert_false(t_error(&t));
   t_shot s;
   t_shoot(&t, &s);
   for (uint32_t y = 20; y < 40; y++) {
      for (uint32_t x = 10; x < 50; x++) {
         g_assert_cmphex(t_px(&s, x, y), ==, (x << 16) | (y << 8) | 0x5a);
      }
   }
   g_assert_cmphex(t_px(&s, 100, 100), ==, 0);
   g_assert_cmphex(t_px(&s, 9, 20), ==, 0);
   g_assert_false(s.dmg.full);
   g_assert_true(t_damage_covers(&s.dmg, 10, 20, 40, 20));
   g_assert_cmpint(t_damage_area(&s.dmg), ==, 40 * 20);
   t_shot_free(&s);
   /* an update sticking out of the mode is clipped */
   T_PUSH(&t, SVGA_CMD_UPDATE_VERBOSE, 600, 470, 1000, 1000, 0x1234);
   T_PUSH(&t, SVGA_CMD_UPDATE, 0xffffff00, 0, 0xffffffff, 0xffffffff);
   t_sync(&t);
   g_assert_false(t_error(&t));
   t_shoot(&t, &s);
   g_assert_true(t_damage_covers(&s.dmg, 600, 470, 40, 10));
   g_assert_cmpint(t_damage_area(&s.dmg), ==, 40 * 10);
   t_shot_free(&s);
   t_teardown(&t);
}

static void
test_update_depths(void)
{
   t_env t;
   legacy_setup(&t, 320, 200, 16);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BYTES_PER_LINE), ==, 640);
   vram_put16(&t, 640, 0, 0, 0xf800);
   vram_put16(&t, 640, 1, 0, 0x07e0);
   vram_put16(&t, 640, 2, 0, 0x001f);
   vram_put16(&t, 640, 3, 0, 0x8410);
   vram_put16(&t, 640, 4, 0, 0xffff);
   T_PUSH(&t, SVGA_CMD_UPDATE, 0, 0, 5, 1);
   t_sync(&t);
   t_shot s;
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 0, 0), ==, 0xff0000);
   g_assert_cmphex(t_px(&s, 1, 0), ==, 0x00ff00);
   g_assert_cmphex(t_px(&s, 2, 0), ==, 0x0000ff);
   g_assert_cmphex(t_px(&s, 3, 0), ==, 0x848284);
   g_assert_cmphex(t_px(&s, 4, 0), ==, 0xffffff);
   t_shot_free(&s);

   /* 15 bpp: a new mode, a new generation */
   uint64_t gen = svga_fb_generation(svga_get_fb(t.s));
   t_reg_write(&t, SVGA_REG_BITS_PER_PIXEL, 15);
   vram_put16(&t, 640, 0, 1, 0x7c00);
   vram_put16(&t, 640, 1, 1, 0x03e0);
   vram_put16(&t, 640, 2, 1, 0x4210);
   T_PUSH(&t, SVGA_CMD_UPDATE, 0, 1, 3, 1);
   t_sync(&t);
   t_shoot(&t, &s);
   g_assert_cmpuint(s.gen, >, gen);
   g_assert_true(s.dmg.full);
   g_assert_cmphex(t_px(&s, 0, 1), ==, 0xff0000);
   g_assert_cmphex(t_px(&s, 1, 1), ==, 0x00ff00);
   g_assert_cmphex(t_px(&s, 2, 1), ==, 0x848484);
   t_shot_free(&s);

   /* 24 bpp, packed BGR */
   t_reg_write(&t, SVGA_REG_BITS_PER_PIXEL, 24);
   uint32_t pitch = t_reg_read(&t, SVGA_REG_BYTES_PER_LINE);
   g_assert_cmpuint(pitch, ==, 960);
   const uint8_t bgr[6] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66 };
   memcpy(t.vram + pitch * 2, bgr, sizeof bgr);
   T_PUSH(&t, SVGA_CMD_UPDATE, 0, 2, 2, 1);
   t_sync(&t);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 0, 2), ==, 0x332211);
   g_assert_cmphex(t_px(&s, 1, 2), ==, 0x665544);
   t_shot_free(&s);

   /* 8 bpp through the palette registers */
   t_reg_write(&t, SVGA_REG_BITS_PER_PIXEL, 8);
   t_reg_write(&t, SVGA_PALETTE_BASE + 3 * 9 + 0, 0x10);
   t_reg_write(&t, SVGA_PALETTE_BASE + 3 * 9 + 1, 0x20);
   t_reg_write(&t, SVGA_PALETTE_BASE + 3 * 9 + 2, 0x30);
   t.vram[320 * 3 + 7] = 9;
   T_PUSH(&t, SVGA_CMD_UPDATE, 7, 3, 1, 1);
   t_sync(&t);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 7, 3), ==, 0x102030);
   t_shot_free(&s);
   /* a palette change redraws */
   t_reg_write(&t, SVGA_PALETTE_BASE + 3 * 9 + 0, 0xff);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 7, 3), ==, 0xff2030);
   t_shot_free(&s);
   t_teardown(&t);
}

static void
test_rect_copy_fill(void)
{
   t_env t;
   legacy_setup(&t, 100, 100, 32);
   uint32_t pitch = 400;
   for (uint32_t x = 0; x < 10; x++) {
      vram_put32(&t, pitch, x, 5, 0x100 + x);
   }
   /* overlapping copy to the right */
   T_PUSH(&t, SVGA_CMD_RECT_COPY, 0, 5, 3, 5, 10, 1);
   t_sync(&t);
   g_assert_false(t_error(&t));
   t_shot s;
   t_shoot(&t, &s);
   for (uint32_t x = 0; x < 10; x++) {
      g_assert_cmphex(t_px(&s, x + 3, 5), ==, 0x100 + x);
   }
   g_assert_true(t_damage_covers(&s.dmg, 3, 5, 10, 1));
   t_shot_free(&s);
   /* downwards overlapping copy of a block */
   for (uint32_t y = 10; y < 14; y++) {
      vram_put32(&t, pitch, 50, y, 0x200 + y);
   }
   T_PUSH(&t, SVGA_CMD_RECT_ROP_COPY, 50, 10, 50, 12, 1, 4, SVGA_ROP_COPY);
   t_sync(&t);
   t_shoot(&t, &s);
   for (uint32_t y = 10; y < 14; y++) {
      g_assert_cmphex(t_px(&s, 50, y + 2), ==, 0x200 + y);
   }
   t_shot_free(&s);
   /* fill */
   T_PUSH(&t, SVGA_CMD_RECT_FILL, 0x00abcdef, 20, 30, 5, 4);
   t_sync(&t);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 20, 30), ==, 0xabcdef);
   g_assert_cmphex(t_px(&s, 24, 33), ==, 0xabcdef);
   g_assert_cmphex(t_px(&s, 25, 33), ==, 0);
   uint32_t v;
   memcpy(&v, t.vram + 33 * pitch + 24 * 4, 4);
   g_assert_cmphex(v, ==, 0x00abcdef);
   t_shot_free(&s);
   /* FRONT_ROP_FILL: the driver filled VRAM, the device shows it */
   for (uint32_t x = 60; x < 64; x++) {
      vram_put32(&t, pitch, x, 60, 0x00777777);
   }
   T_PUSH(&t, SVGA_CMD_FRONT_ROP_FILL, 0x777777, 60, 60, 4, 1, SVGA_ROP_COPY);
   t_sync(&t);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 63, 60), ==, 0x777777);
   t_shot_free(&s);
   g_assert_false(t_error(&t));
   t_teardown(&t);
}

static unsigned msi_count;
static uint32_t msi_data;

static void
msi_sink(void *opaque, uint64_t addr, uint32_t data)
{
   msi_count++;
   msi_data = data;
}

static void
test_fence_irq(void)
{
   t_env t;
   t_setup(&t);
   t_fifo_init(&t);
   g_assert_cmphex(t.fifo[SVGA_FIFO_CAPABILITIES] & SVGA_FIFO_CAP_FENCE, !=, 0);
   t_reg_write(&t, SVGA_REG_IRQMASK, SVGA_IRQFLAG_ANY_FENCE);
   T_PUSH(&t, SVGA_CMD_FENCE, 7);
   t_sync(&t);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_FENCE], ==, 7);
   uint32_t st = inl(t.p, T_IO + SVGA_IRQSTATUS_PORT);
   g_assert_cmphex(st, ==, SVGA_IRQFLAG_ANY_FENCE | SVGA_IRQFLAG_FIFO_PROGRESS);
   g_assert_true(irq_level(&t.irq, GSI));
   g_assert_true(t_cfg_read(t.p, T_SLOT, 6, 2) & PCI_STATUS_INTERRUPT);
   outl(t.p, T_IO + SVGA_IRQSTATUS_PORT, st);
   g_assert_false(irq_level(&t.irq, GSI));
   g_assert_cmphex(inl(t.p, T_IO + SVGA_IRQSTATUS_PORT), ==, 0);
   /* progress only: masked, so the line stays low */
   T_PUSH(&t, SVGA_CMD_NOP);
   t_sync(&t);
   g_assert_cmphex(inl(t.p, T_IO + SVGA_IRQSTATUS_PORT), ==, SVGA_IRQFLAG_FIFO_PROGRESS);
   g_assert_false(irq_level(&t.irq, GSI));
   /* unmasking a pending source raises the line */
   t_reg_write(&t, SVGA_REG_IRQMASK, SVGA_IRQFLAG_FIFO_PROGRESS);
   g_assert_true(irq_level(&t.irq, GSI));
   outl(t.p, T_IO + SVGA_IRQSTATUS_PORT, 0xffffffff);
   g_assert_false(irq_level(&t.irq, GSI));
   /* fence goal */
   t_reg_write(&t, SVGA_REG_IRQMASK, SVGA_IRQFLAG_FENCE_GOAL);
   t.fifo[SVGA_FIFO_FENCE_GOAL] = 9;
   T_PUSH(&t, SVGA_CMD_FENCE, 8);
   t_sync(&t);
   g_assert_cmphex(inl(t.p, T_IO + SVGA_IRQSTATUS_PORT) & SVGA_IRQFLAG_FENCE_GOAL, ==, 0);
   g_assert_false(irq_level(&t.irq, GSI));
   T_PUSH(&t, SVGA_CMD_FENCE, 9);
   t_sync(&t);
   g_assert_cmphex(inl(t.p, T_IO + SVGA_IRQSTATUS_PORT) & SVGA_IRQFLAG_FENCE_GOAL, !=, 0);
   g_assert_true(irq_level(&t.irq, GSI));
   g_assert_cmpuint(t.fifo[SVGA_FIFO_FENCE], ==, 9);
   outl(t.p, T_IO + SVGA_IRQSTATUS_PORT, 0xffffffff);

   /* MSI */
   pci_host_set_msi_sink(pci_host_get(t.p), msi_sink, NULL);
   unsigned cap = t_cfg_read(t.p, T_SLOT, 0x34, 1);
   t_cfg_write(t.p, T_SLOT, cap + 4, 4, 0xfee00000);
   t_cfg_write(t.p, T_SLOT, cap + 8, 4, 0);
   t_cfg_write(t.p, T_SLOT, cap + 12, 2, 0x4041);
   t_cfg_write(t.p, T_SLOT, cap + 2, 2, PCI_MSI_FLAGS_ENABLE);
   msi_count = 0;
   t_reg_write(&t, SVGA_REG_IRQMASK, SVGA_IRQFLAG_ANY_FENCE);
   T_PUSH(&t, SVGA_CMD_FENCE, 10);
   t_sync(&t);
   g_assert_cmpuint(msi_count, ==, 1);
   g_assert_cmphex(msi_data, ==, 0x4041);
   g_assert_false(irq_level(&t.irq, GSI));   /* INTx is off with MSI */
   t_teardown(&t);
}

static void
test_wrap_and_partial(void)
{
   t_env t;
   legacy_setup(&t, 64, 64, 32);
   vram_put32(&t, 256, 1, 1, 0x123456);
   /* start 8 bytes before MAX: the UPDATE wraps to MIN */
   t.fifo[SVGA_FIFO_STOP] = T_FIFO_MAX - 8;
   t.fifo[SVGA_FIFO_NEXT_CMD] = T_FIFO_MAX - 8;
   T_PUSH(&t, SVGA_CMD_UPDATE, 1, 1, 1, 1);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_NEXT_CMD], ==, T_FIFO_MIN + 12);
   t_sync(&t);
   g_assert_false(t_error(&t));
   g_assert_cmpuint(t.fifo[SVGA_FIFO_STOP], ==, T_FIFO_MIN + 12);
   t_shot s;
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 1, 1), ==, 0x123456);
   t_shot_free(&s);
   /* a command ending exactly at MAX */
   t.fifo[SVGA_FIFO_STOP] = T_FIFO_MAX - 8;
   t.fifo[SVGA_FIFO_NEXT_CMD] = T_FIFO_MAX - 8;
   T_PUSH(&t, SVGA_CMD_FENCE, 77);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_NEXT_CMD], ==, T_FIFO_MIN);
   t_sync(&t);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_FENCE], ==, 77);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_STOP], ==, T_FIFO_MIN);

   /* the guest commits word by word (no FIFO reserve): nothing runs
    * until the command is complete */
   vram_put32(&t, 256, 2, 2, 0xabcdef);
   const uint32_t cmd[] = { SVGA_CMD_UPDATE, 2, 2, 1, 1, SVGA_CMD_FENCE, 78 };
   uint32_t stop = t.fifo[SVGA_FIFO_STOP];
   for (size_t i = 0; i < 4; i++) {
      t_fifo_push(&t, &cmd[i], 1);
      svga_process(t.s);
      g_assert_cmpuint(t.fifo[SVGA_FIFO_STOP], ==, stop);
      g_assert_false(t_error(&t));
   }
   /* BUSY stays 1 while a command is incomplete */
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BUSY), ==, 1);
   t_fifo_push(&t, &cmd[4], 3);
   t_sync(&t);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_FENCE], ==, 78);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 2, 2), ==, 0xabcdef);
   t_shot_free(&s);
   t_teardown(&t);
}

static void
test_skipped_commands(void)
{
   t_env t;
   t_setup(&t);
   t_fifo_init(&t);
   /* an escape with 10 bytes of payload (3 words) */
   T_PUSH(&t, SVGA_CMD_ESCAPE, 0, 10, 0x11111111, 0x22222222, 0x3333);
   /* an SVGA3D command: skipped by its size */
   T_PUSH(&t, 1040, 12, 1, 2, 3);
   T_PUSH(&t, 1100, 0);
   T_PUSH(&t, SVGA_CMD_NOP, SVGA_CMD_ANNOTATION_FILL, 0xff0000, SVGA_CMD_ANNOTATION_COPY, 0, 0,
          0);
   T_PUSH(&t, SVGA_CMD_FENCE, 5);
   t_sync(&t);
   g_assert_false(t_error(&t));
   g_assert_cmpuint(t.fifo[SVGA_FIFO_FENCE], ==, 5);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_STOP], ==, t.fifo[SVGA_FIFO_NEXT_CMD]);
   /* the FIFO registers the device fills in */
   uint32_t caps = t.fifo[SVGA_FIFO_CAPABILITIES];
   uint32_t want = SVGA_FIFO_CAP_FENCE | SVGA_FIFO_CAP_CURSOR_BYPASS_3 | SVGA_FIFO_CAP_ESCAPE |
                   SVGA_FIFO_CAP_RESERVE | SVGA_FIFO_CAP_SCREEN_OBJECT |
                   SVGA_FIFO_CAP_SCREEN_OBJECT_2 | SVGA_FIFO_CAP_GMR2 | SVGA_FIFO_CAP_PITCHLOCK;
   g_assert_cmphex(caps & want, ==, want);
   g_assert_cmphex(caps & SVGA_FIFO_CAP_VIDEO, ==, 0);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_3D_HWVERSION], ==, 0);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_3D_HWVERSION_REVISED], ==, 0);
   t_teardown(&t);
}

static void
test_cursor_alpha(void)
{
   t_env t;
   t_setup(&t);
   t_fifo_init(&t);
   t_legacy_mode(&t, 640, 480, 32);
   uint32_t cmd[6 + 16] = { SVGA_CMD_DEFINE_ALPHA_CURSOR, 0, 1, 2, 4, 4 };
   for (unsigned i = 0; i < 16; i++) {
      cmd[6 + i] = 0x80000000u | i * 0x010101;
   }
   t_fifo_push(&t, cmd, G_N_ELEMENTS(cmd));
   t_sync(&t);
   g_assert_false(t_error(&t));
   svga_fb *fb = svga_get_fb(t.s);
   svga_fb_cursor c;
   svga_fb_cursor_get(fb, &c);
   g_assert_cmpuint(c.width, ==, 4);
   g_assert_cmpuint(c.height, ==, 4);
   g_assert_cmpuint(c.hot_x, ==, 1);
   g_assert_cmpuint(c.hot_y, ==, 2);
   g_assert_nonnull(c.argb);
   for (unsigned i = 0; i < 16; i++) {
      g_assert_cmphex(c.argb[i], ==, 0x80000000u | i * 0x010101);
   }
   g_assert_false(c.visible);
   uint64_t serial = c.serial;
   svga_fb_cursor_clear(&c);
   /* cursor bypass 3 */
   t.fifo[SVGA_FIFO_CURSOR_ON] = 1;
   t.fifo[SVGA_FIFO_CURSOR_X] = 100;
   t.fifo[SVGA_FIFO_CURSOR_Y] = 50;
   t.fifo[SVGA_FIFO_CURSOR_SCREEN_ID] = SVGA_ID_INVALID;
   t.fifo[SVGA_FIFO_CURSOR_COUNT]++;
   svga_process(t.s);
   svga_fb_cursor_get(fb, &c);
   g_assert_true(c.visible);
   g_assert_cmpint(c.x, ==, 100);
   g_assert_cmpint(c.y, ==, 50);
   g_assert_cmpuint(c.serial, ==, serial);
   svga_fb_cursor_clear(&c);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_CURSOR_LAST_UPDATED], ==, t.fifo[SVGA_FIFO_CURSOR_COUNT]);
   /* moved without bumping the count: not seen */
   t.fifo[SVGA_FIFO_CURSOR_X] = 101;
   svga_process(t.s);
   svga_fb_cursor_get(fb, &c);
   g_assert_cmpint(c.x, ==, 100);
   svga_fb_cursor_clear(&c);
   /* cursor bypass 2 through the registers */
   t_reg_write(&t, SVGA_REG_CURSOR_ID, 0);
   t_reg_write(&t, SVGA_REG_CURSOR_X, 5);
   t_reg_write(&t, SVGA_REG_CURSOR_Y, 6);
   t_reg_write(&t, SVGA_REG_CURSOR_ON, SVGA_CURSOR_ON_SHOW);
   svga_fb_cursor_get(fb, &c);
   g_assert_true(c.visible);
   g_assert_cmpint(c.x, ==, 5);
   g_assert_cmpint(c.y, ==, 6);
   svga_fb_cursor_clear(&c);
   t_reg_write(&t, SVGA_REG_CURSOR_ON, SVGA_CURSOR_ON_HIDE);
   svga_fb_cursor_get(fb, &c);
   g_assert_false(c.visible);
   svga_fb_cursor_clear(&c);
   /* the client heard about both */
   svga_fb_image img;
   svga_fb_damage d;
   svga_fb_begin(t.client, &img, &d);
   svga_fb_end(t.client);
   g_assert_true(d.cursor_shape);
   g_assert_true(d.cursor_moved);
   t_teardown(&t);
}

static void
test_cursor_mono(void)
{
   t_env t;
   t_setup(&t);
   t_fifo_init(&t);
   t_legacy_mode(&t, 640, 480, 32);
   /* 8 x 2, 1-bit masks: each row is one padded word */
   uint32_t cmd[] = {
      SVGA_CMD_DEFINE_CURSOR, 0, 3, 1, 8, 2, 1, 1,
      0x000000f0, 0x000000cc,   /* AND: row 0 11110000, row 1 11001100 */
      0x000000cc, 0x000000aa,   /* XOR: row 0 11001100, row 1 10101010 */
   };
   t_fifo_push(&t, cmd, G_N_ELEMENTS(cmd));
   t_sync(&t);
   g_assert_false(t_error(&t));
   svga_fb_cursor c;
   svga_fb_cursor_get(svga_get_fb(t.s), &c);
   g_assert_cmpuint(c.width, ==, 8);
   g_assert_cmpuint(c.height, ==, 2);
   g_assert_cmpuint(c.hot_x, ==, 3);
   /* row 0: AND 1 XOR 1 -> inverted (black), AND 1 XOR 0 -> transparent,
    * AND 0 XOR 1 -> white, AND 0 XOR 0 -> black */
   const uint32_t row0[8] = { 0xff000000, 0xff000000, 0, 0, 0xffffffff, 0xffffffff,
                              0xff000000, 0xff000000 };
   const uint32_t row1[8] = { 0xff000000, 0, 0xffffffff, 0xff000000, 0xff000000, 0,
                              0xffffffff, 0xff000000 };
   for (unsigned x = 0; x < 8; x++) {
      g_assert_cmphex(c.argb[x], ==, row0[x]);
      g_assert_cmphex(c.argb[8 + x], ==, row1[x]);
   }
   svga_fb_cursor_clear(&c);
   /* colour XOR mask at the framebuffer depth */
   uint32_t cmd2[] = {
      SVGA_CMD_DEFINE_CURSOR, 0, 0, 0, 2, 1, 1, 32,
      0x00000040,                /* AND: 01 */
      0x00123456, 0x00654321,    /* XOR pixels */
   };
   t_fifo_push(&t, cmd2, G_N_ELEMENTS(cmd2));
   t_sync(&t);
   g_assert_false(t_error(&t));
   svga_fb_cursor_get(svga_get_fb(t.s), &c);
   g_assert_cmpuint(c.width, ==, 2);
   g_assert_cmphex(c.argb[0], ==, 0xff123456);
   g_assert_cmphex(c.argb[1], ==, 0xff000000);   /* AND 1, XOR set: inverted */
   svga_fb_cursor_clear(&c);
   /* a 0 x 0 cursor removes it */
   T_PUSH(&t, SVGA_CMD_DEFINE_ALPHA_CURSOR, 0, 0, 0, 0, 0);
   t_sync(&t);
   svga_fb_cursor_get(svga_get_fb(t.s), &c);
   g_assert_cmpuint(c.width, ==, 0);
   g_assert_null(c.argb);
   t_teardown(&t);
}

static void
test_sync_and_busy(void)
{
   t_env t;
   t_setup(&t);
   t_fifo_init(&t);
   int fd = svga_wake_fd(t.s);
   uint64_t cnt;
   while (read(fd, &cnt, sizeof cnt) > 0) {
   }
   /* the vmwgfx way: FIFO_BUSY 0 -> set it, SYNC; the device processes and
    * clears FIFO_BUSY when it goes idle */
   T_PUSH(&t, SVGA_CMD_FENCE, 3);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_BUSY], ==, 0);
   t.fifo[SVGA_FIFO_BUSY] = 1;
   t_reg_write(&t, SVGA_REG_SYNC, 1);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_FENCE], ==, 3);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_BUSY], ==, 0);
   g_assert_cmpint(read(fd, &cnt, sizeof cnt), ==, sizeof cnt);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BUSY), ==, 0);
   /* reading BUSY also processes */
   T_PUSH(&t, SVGA_CMD_FENCE, 4);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BUSY), ==, 0);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_FENCE], ==, 4);
   /* with the device disabled, nothing runs and BUSY reads 0 */
   t_reg_write(&t, SVGA_REG_ENABLE, 0);
   T_PUSH(&t, SVGA_CMD_FENCE, 5);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BUSY), ==, 0);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_FENCE], ==, 4);
   t_reg_write(&t, SVGA_REG_ENABLE, SVGA_REG_ENABLE_ENABLE);
   t_sync(&t);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_FENCE], ==, 5);
   t_teardown(&t);
}

static void
test_damage(void)
{
   t_env t;
   legacy_setup(&t, 800, 600, 32);
   /* two distant updates stay two rectangles */
   T_PUSH(&t, SVGA_CMD_UPDATE, 0, 0, 10, 10);
   T_PUSH(&t, SVGA_CMD_UPDATE, 700, 500, 10, 10);
   t_sync(&t);
   t_shot s;
   t_shoot(&t, &s);
   g_assert_false(s.dmg.full);
   g_assert_cmpuint(s.dmg.nrects, ==, 2);
   g_assert_cmpint(t_damage_area(&s.dmg), ==, 200);
   t_shot_free(&s);
   /* nothing new: no damage */
   t_shoot(&t, &s);
   g_assert_cmpuint(s.dmg.nrects, ==, 0);
   t_shot_free(&s);
   /* many adjacent rows merge */
   for (uint32_t y = 100; y < 200; y++) {
      T_PUSH(&t, SVGA_CMD_UPDATE, 50, y, 300, 1);
   }
   t_sync(&t);
   t_shoot(&t, &s);
   g_assert_cmpuint(s.dmg.nrects, ==, 1);
   g_assert_cmpint(s.dmg.rects[0].x, ==, 50);
   g_assert_cmpint(s.dmg.rects[0].y, ==, 100);
   g_assert_cmpint(s.dmg.rects[0].w, ==, 300);
   g_assert_cmpint(s.dmg.rects[0].h, ==, 100);
   t_shot_free(&s);
   /* a scatter of more rectangles than the list holds is folded */
   for (uint32_t i = 0; i < 40; i++) {
      T_PUSH(&t, SVGA_CMD_UPDATE, (i * 97) % 780, (i * 61) % 580, 3, 3);
   }
   t_sync(&t);
   t_shoot(&t, &s);
   g_assert_cmpuint(s.dmg.nrects, <=, SVGA_FB_MAX_RECTS);
   for (uint32_t i = 0; i < 40; i++) {
      g_assert_true(t_damage_covers(&s.dmg, (i * 97) % 780, (i * 61) % 580, 3, 3));
   }
   t_shot_free(&s);
   t_teardown(&t);
}

static void
test_traces(void)
{
   t_env t;
   t_setup(&t);
   /* legacy mode without a FIFO: the framebuffer is scanned */
   t_legacy_mode(&t, 320, 240, 32);
   t_shot s;
   t_shoot(&t, &s);
   t_shot_free(&s);
   vram_put32(&t, 1280, 10, 10, 0x00ff00ff);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 10, 10), ==, 0xff00ff);
   g_assert_cmpuint(s.dmg.nrects, ==, 1);
   g_assert_cmpint(t_damage_area(&s.dmg), ==, 1);
   t_shot_free(&s);
   /* FIFO on: only UPDATE shows changes ... */
   t.fifo[SVGA_FIFO_MIN] = T_FIFO_MIN;
   t.fifo[SVGA_FIFO_MAX] = T_FIFO_MAX;
   t.fifo[SVGA_FIFO_NEXT_CMD] = T_FIFO_MIN;
   t.fifo[SVGA_FIFO_STOP] = T_FIFO_MIN;
   t_reg_write(&t, SVGA_REG_CONFIG_DONE, 1);
   vram_put32(&t, 1280, 11, 10, 0x00ffffff);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 11, 10), ==, 0);
   t_shot_free(&s);
   /* ... unless traces are asked for */
   t_reg_write(&t, SVGA_REG_TRACES, 1);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 11, 10), ==, 0xffffff);
   t_shot_free(&s);
   t_teardown(&t);
}

/* A legacy mode larger than VRAM shows the lines VRAM holds. */
static void
test_legacy_larger_than_vram(void)
{
   t_env t;
   t_setup(&t);
   t_legacy_mode(&t, 8192, 8192, 32);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_FB_SIZE), ==, 8192u * 8192 * 4);
   t_shot s;
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, 8192);
   g_assert_cmpuint(s.h, ==, (16u << 20) / (8192 * 4));
   t_shot_free(&s);
   t_teardown(&t);
}

static void
test_thread(void)
{
   t_env t;
   t_setup(&t);
   t_fifo_init(&t);
   char *err = NULL;
   g_assert_false(svga_thread_start(t.s, 0, &err));
   g_free(err);
   g_assert_true(svga_thread_start(t.s, 200, &err));
   /* no SYNC: the thread's timer finds the command */
   T_PUSH(&t, SVGA_CMD_FENCE, 42);
   for (int i = 0; i < 400 && __atomic_load_n(&t.fifo[SVGA_FIFO_FENCE], __ATOMIC_ACQUIRE) != 42;
        i++) {
      g_usleep(5000);
   }
   g_assert_cmpuint(__atomic_load_n(&t.fifo[SVGA_FIFO_FENCE], __ATOMIC_ACQUIRE), ==, 42);
   svga_thread_stop(t.s);
   t_teardown(&t);
}

typedef struct stress {
   t_env *t;
   volatile bool stop;
   unsigned frames;
} stress;

static void *
stress_consumer(void *arg)
{
   stress *st = arg;
   svga_fb_client *c = svga_fb_client_new(svga_get_fb(st->t->s), NULL, NULL);
   uint64_t sum = 0;
   while (!__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE)) {
      svga_fb_image img;
      svga_fb_damage d;
      svga_fb_begin(c, &img, &d);
      for (unsigned i = 0; i < d.nrects; i++) {
         const svga_rect *r = &d.rects[i];
         sum += img.pixels[(size_t)r->y * img.stride + r->x];
      }
      svga_fb_end(c);
      svga_fb_cursor cur;
      svga_fb_cursor_get(svga_get_fb(st->t->s), &cur);
      svga_fb_cursor_clear(&cur);
      __atomic_add_fetch(&st->frames, 1, __ATOMIC_RELAXED);
      g_usleep(100);
   }
   svga_fb_client_free(c);
   return (void *)(uintptr_t)sum;
}

/* The helper thread, a guest driver on a "vCPU" thread and a consumer all
 * at once (run it under TSan to see races). */
static void
test_concurrency(void)
{
   t_env t;
   legacy_setup(&t, 256, 128, 32);
   char *err = NULL;
   g_assert_true(svga_thread_start(t.s, 1000, &err));
   stress st = { &t, false, 0 };
   pthread_t consumer;
   pthread_create(&consumer, NULL, stress_consumer, &st);
   for (uint32_t i = 1; i <= 2000; i++) {
      vram_put32(&t, 1024, i % 256, i % 128, i);
      T_PUSH(&t, SVGA_CMD_UPDATE, i % 256, i % 128, 1, 1);
      T_PUSH(&t, SVGA_CMD_FENCE, i);
      if (i % 7 == 0) {
         t_reg_write(&t, SVGA_REG_SYNC, 1);
      }
      if (i % 50 == 0) {
         __atomic_store_n(&t.fifo[SVGA_FIFO_CURSOR_X], i, __ATOMIC_RELAXED);
         __atomic_add_fetch(&t.fifo[SVGA_FIFO_CURSOR_COUNT], 1, __ATOMIC_RELEASE);
         outb(t.p, 0x3d4, 0x0f);
         outb(t.p, 0x3d5, (uint8_t)i);
      }
      /* do not overrun the ring: wait for the device now and then */
      if (i % 500 == 0) {
         t_sync(&t);
      }
   }
   t_sync(&t);
   g_assert_cmpuint(__atomic_load_n(&t.fifo[SVGA_FIFO_FENCE], __ATOMIC_ACQUIRE), ==, 2000);
   for (int i = 0; i < 2000 && !__atomic_load_n(&st.frames, __ATOMIC_RELAXED); i++) {
      g_usleep(1000);
   }
   __atomic_store_n(&st.stop, true, __ATOMIC_RELEASE);
   pthread_join(consumer, NULL);
   svga_thread_stop(t.s);
   g_assert_false(t_error(&t));
   g_assert_cmpuint(st.frames, >, 0);
   t_shot s;
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 2000 % 256, 2000 % 128), ==, 2000);
   t_shot_free(&s);
   t_teardown(&t);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/svga/fifo/update-32bpp", test_update_32bpp);
   g_test_add_func("/svga/fifo/update-depths", test_update_depths);
   g_test_add_func("/svga/fifo/rect-copy-fill", test_rect_copy_fill);
   g_test_add_func("/svga/fifo/fence-irq", test_fence_irq);
   g_test_add_func("/svga/fifo/wrap-and-partial", test_wrap_and_partial);
   g_test_add_func("/svga/fifo/skipped-commands", test_skipped_commands);
   g_test_add_func("/svga/fifo/cursor-alpha", test_cursor_alpha);
   g_test_add_func("/svga/fifo/cursor-mono", test_cursor_mono);
   g_test_add_func("/svga/fifo/sync-and-busy", test_sync_and_busy);
   g_test_add_func("/svga/fifo/damage", test_damage);
   g_test_add_func("/svga/fifo/traces", test_traces);
   g_test_add_func("/svga/fifo/legacy-larger-than-vram", test_legacy_larger_than_vram);
   g_test_add_func("/svga/fifo/thread", test_thread);
   g_test_add_func("/svga/fifo/concurrency", test_concurrency);
   return g_test_run();
}
