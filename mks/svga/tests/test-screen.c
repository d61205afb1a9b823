/*
 * SVGA II screen object and GMR tests: GMR2 definitions with every remap
 * variant, legacy GMR descriptor chains, screen objects with and without
 * backing stores, blits both ways (guest RAM writes are reported), root
 * coordinates over several screens, blanking, the legacy mode registers
 * redefining screen 0, and the cursor relative to a screen.
 */
#include "svga-test.h"

#define W 100
#define H 40
#define PITCH (W * 4)

/* Write len bytes at offset of a GMR whose pages are ppn[]. */
static void
gmr_poke(t_env *t, const uint64_t *ppn, uint64_t off, const void *src, size_t len)
{
   const uint8_t *s = src;
   while (len) {
      uint64_t pg = off / 4096, in = off % 4096, n = MIN(len, 4096 - in);
      memcpy(t->ram + ppn[pg] * 4096 + in, s, n);
      s += n;
      off += n;
      len -= n;
   }
}

static void
gmr_peek(t_env *t, const uint64_t *ppn, uint64_t off, void *dst, size_t len)
{
   uint8_t *d = dst;
   while (len) {
      uint64_t pg = off / 4096, in = off % 4096, n = MIN(len, 4096 - in);
      memcpy(d, t->ram + ppn[pg] * 4096 + in, n);
      d += n;
      off += n;
      len -= n;
   }
}

static uint32_t
pattern(uint32_t x, uint32_t y)
{
   return (x * 2) << 16 | (y * 5) << 8 | ((x + y) & 0xff);
}

/* Fill a 32-bpp W x H image at GMR offset 0. */
static void
fill_pattern(t_env *t, const uint64_t *ppn)
{
   for (uint32_t y = 0; y < H; y++) {
      for (uint32_t x = 0; x < W; x++) {
         uint32_t v = pattern(x, y);
         gmr_poke(t, ppn, (uint64_t)y * PITCH + x * 4, &v, 4);
      }
   }
}

static void
define_screen(t_env *t, uint32_t id, uint32_t flags, uint32_t w, uint32_t h, int32_t x,
              int32_t y, uint32_t bs_gmr, uint32_t bs_off, uint32_t bs_pitch)
{
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, SVGA_SCREEN_SIZE_V2, id, flags, w, h, (uint32_t)x,
          (uint32_t)y, bs_gmr, bs_off, bs_pitch, 0);
}

static void
screens_setup(t_env *t)
{
   t_setup(t);
   t_fifo_init(t);
   t_reg_write(t, SVGA_REG_ENABLE, SVGA_REG_ENABLE_ENABLE);
}

/* GMR 1: four scattered pages with 32-bit PPNs. */
static const uint64_t gmr1[4] = { 0x300, 0x2ff, 0x500, 0x123 };

static void
define_gmr1(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_GMR2, 1, 4);
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 1, 0, 0, 4, 0x300, 0x2ff, 0x500, 0x123);
}

static void
test_gmr2_blits(void)
{
   t_env t;
   screens_setup(&t);
   define_gmr1(&t);
   fill_pattern(&t, gmr1);
   define_screen(&t, 0, SVGA_SCREEN_MUST_BE_SET | SVGA_SCREEN_IS_PRIMARY, W, H, 0, 0,
                 SVGA_GMR_NULL, 0, 0);
   T_PUSH(&t, SVGA_CMD_DEFINE_GMRFB, 1, 0, PITCH, 32 | 24 << 8);
   T_PUSH(&t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, 0, 0, W, H, 0);
   t_sync(&t);
   g_assert_false(t_error(&t));
   t_shot s;
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, W);
   g_assert_cmpuint(s.h, ==, H);
   for (uint32_t y = 0; y < H; y++) {
      for (uint32_t x = 0; x < W; x++) {
         g_assert_cmphex(t_px(&s, x, y), ==, pattern(x, y));
      }
   }
   t_shot_free(&s);

   /* a part, from elsewhere in the GMRFB, clipped at the screen edge */
   T_PUSH(&t, SVGA_CMD_ANNOTATION_FILL, 0);
   T_PUSH(&t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 10, 5, 90, 30, 120, 36, 0);
   t_sync(&t);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 90, 30), ==, pattern(10, 5));
   g_assert_cmphex(t_px(&s, 99, 35), ==, pattern(19, 10));
   g_assert_cmphex(t_px(&s, 89, 30), ==, pattern(89, 30));
   g_assert_true(t_damage_covers(&s.dmg, 90, 30, 10, 6));
   g_assert_cmpint(t_damage_area(&s.dmg), ==, 60);
   t_shot_free(&s);

   /* screen to GMR 2: 64-bit PPNs */
   const uint64_t gmr2[4] = { 0x901, 0x900, 0x903, 0x902 };
   T_PUSH(&t, SVGA_CMD_DEFINE_GMR2, 2, 4);
   T_PUSH(&t, SVGA_CMD_REMAP_GMR2, 2, SVGA_REMAP_GMR2_PPN64, 0, 4, 0x901, 0, 0x900, 0, 0x903, 0,
          0x902, 0);
   T_PUSH(&t, SVGA_CMD_DEFINE_GMRFB, 2, 0, PITCH, 32 | 24 << 8);
   t.writes = 0;
   T_PUSH(&t, SVGA_CMD_BLIT_SCREEN_TO_GMRFB, 0, 0, 0, 0, W, H, 0);
   t_sync(&t);
   g_assert_false(t_error(&t));
   g_assert_cmpuint(t.writes, >=, H);
   g_assert_cmpuint(t.last_write_gpa / 4096, ==, 0x902);
   for (uint32_t y = 0; y < H; y += 7) {
      for (uint32_t x = 0; x < W; x += 3) {
         uint32_t v;
         gmr_peek(&t, gmr2, (uint64_t)y * PITCH + x * 4, &v, 4);
         uint32_t want = (x >= 90 && y >= 30 && y < 36) ? pattern(x - 80, y - 25) : pattern(x, y);
         g_assert_cmphex(v & 0xffffff, ==, want);
      }
   }
   /* negative destination origin: clipped to the GMRFB */
   T_PUSH(&t, SVGA_CMD_BLIT_SCREEN_TO_GMRFB, (uint32_t)-5, (uint32_t)-5, 10, 10, 20, 20, 0);
   t_sync(&t);
   g_assert_false(t_error(&t));
   uint32_t v;
   gmr_peek(&t, gmr2, 0, &v, 4);
   g_assert_cmphex(v & 0xffffff, ==, pattern(15, 15));

   /* 16-bit GMRFB: 565 both ways */
   T_PUSH(&t, SVGA_CMD_DEFINE_GMRFB, 1, 0, 2 * W, 16 | 16 << 8);
   uint16_t red = 0xf800, blue = 0x001f;
   gmr_poke(&t, gmr1, 0, &red, 2);
   gmr_poke(&t, gmr1, 2, &blue, 2);
   T_PUSH(&t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, 0, 0, 2, 1, 0);
   t_sync(&t);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 0, 0), ==, 0xff0000);
   g_assert_cmphex(t_px(&s, 1, 0), ==, 0x0000ff);
   t_shot_free(&s);
   T_PUSH(&t, SVGA_CMD_DEFINE_GMRFB, 2, 0, 2 * W, 16 | 15 << 8);
   T_PUSH(&t, SVGA_CMD_BLIT_SCREEN_TO_GMRFB, 0, 0, 0, 0, 2, 1, 0);
   t_sync(&t);
   uint16_t px[2];
   gmr_peek(&t, gmr2, 0, px, 4);
   g_assert_cmphex(px[0], ==, 0x7c00);
   g_assert_cmphex(px[1], ==, 0x001f);
   /* 24-bit GMRFB */
   T_PUSH(&t, SVGA_CMD_DEFINE_GMRFB, 1, 0, 3 * W, 24 | 24 << 8);
   const uint8_t bgr[3] = { 0x01, 0x02, 0x03 };
   gmr_poke(&t, gmr1, 0, bgr, 3);
   T_PUSH(&t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, 5, 5, 6, 6, 0);
   t_sync(&t);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 5, 5), ==, 0x030201);
   t_shot_free(&s);
   g_assert_false(t_error(&t));
   t_teardown(&t);
}

/* Read pixel (x, 0) of GMR `gmr` through a blit into screen 0's (0, 0). */
static uint32_t
gmr_pixel_via_blit(t_env *t, uint32_t gmr, uint32_t offset)
{
   T_PUSH(t, SVGA_CMD_DEFINE_GMRFB, gmr, offset, PITCH, 32 | 24 << 8);
   T_PUSH(t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, 0, 0, 1, 1, 0);
   t_sync(t);
   g_assert_false(t_error(t));
   t_shot s;
   t_shoot(t, &s);
   uint32_t v = t_px(&s, 0, 0);
   t_shot_free(&s);
   return v;
}

static void
put_ram32(t_env *t, uint64_t gpa, uint32_t v)
{
   memcpy(t->ram + gpa, &v, 4);
}

static void
test_remap_variants(void)
{
   t_env t;
   screens_setup(&t);
   define_screen(&t, 0, SVGA_SCREEN_MUST_BE_SET | SVGA_SCREEN_IS_PRIMARY, 16, 16, 0, 0,
                 SVGA_GMR_NULL, 0, 0);
   define_gmr1(&t);
   /* SINGLE_PPN: every page is guest page 0x400 */
   put_ram32(&t, 0x400000 + 8, 0x00aa5511);
   T_PUSH(&t, SVGA_CMD_DEFINE_GMR2, 3, 8);
   T_PUSH(&t, SVGA_CMD_REMAP_GMR2, 3, SVGA_REMAP_GMR2_SINGLE_PPN, 0, 8, 0x400);
   g_assert_cmphex(gmr_pixel_via_blit(&t, 3, 8), ==, 0xaa5511);
   g_assert_cmphex(gmr_pixel_via_blit(&t, 3, 5 * 4096 + 8), ==, 0xaa5511);
   /* SINGLE_PPN | PPN64 over a part */
   put_ram32(&t, 0x410000, 0x00123123);
   T_PUSH(&t, SVGA_CMD_REMAP_GMR2, 3, SVGA_REMAP_GMR2_SINGLE_PPN | SVGA_REMAP_GMR2_PPN64, 6, 2,
          0x410, 0);
   g_assert_cmphex(gmr_pixel_via_blit(&t, 3, 7 * 4096), ==, 0x123123);
   g_assert_cmphex(gmr_pixel_via_blit(&t, 3, 5 * 4096 + 8), ==, 0xaa5511);

   /* VIA_GMR: a PPN list stored in GMR 1 at offset 64 */
   const uint32_t list32[3] = { 0x420, 0x421, 0x422 };
   gmr_poke(&t, gmr1, 64, list32, sizeof list32);
   put_ram32(&t, 0x421000 + 4, 0x00fedcba);
   T_PUSH(&t, SVGA_CMD_DEFINE_GMR2, 4, 3);
   T_PUSH(&t, SVGA_CMD_REMAP_GMR2, 4, SVGA_REMAP_GMR2_VIA_GMR, 0, 3, 1, 64);
   g_assert_cmphex(gmr_pixel_via_blit(&t, 4, 4096 + 4), ==, 0xfedcba);
   /* VIA_GMR | PPN64, the list crossing a page of GMR 1 */
   const uint64_t list64[2] = { 0x430, 0x431 };
   gmr_poke(&t, gmr1, 4096 - 8, list64, sizeof list64);
   put_ram32(&t, 0x431000, 0x00010203);
   T_PUSH(&t, SVGA_CMD_DEFINE_GMR2, 5, 2);
   T_PUSH(&t, SVGA_CMD_REMAP_GMR2, 5, SVGA_REMAP_GMR2_VIA_GMR | SVGA_REMAP_GMR2_PPN64, 0, 2, 1,
          4096 - 8);
   g_assert_cmphex(gmr_pixel_via_blit(&t, 5, 4096), ==, 0x010203);
   /* VIA_GMR | SINGLE_PPN: one entry from the framebuffer "GMR" */
   const uint32_t one = 0x440;
   memcpy(t.vram + 256, &one, 4);
   put_ram32(&t, 0x440000 + 12, 0x00445566);
   T_PUSH(&t, SVGA_CMD_DEFINE_GMR2, 6, 2);
   T_PUSH(&t, SVGA_CMD_REMAP_GMR2, 6, SVGA_REMAP_GMR2_VIA_GMR | SVGA_REMAP_GMR2_SINGLE_PPN, 0,
          2, SVGA_GMR_FRAMEBUFFER, 256);
   g_assert_cmphex(gmr_pixel_via_blit(&t, 6, 4096 + 12), ==, 0x445566);
   /* the framebuffer as a GMRFB */
   const uint32_t fbpx = 0x00334455;
   memcpy(t.vram + 4096, &fbpx, 4);
   g_assert_cmphex(gmr_pixel_via_blit(&t, SVGA_GMR_FRAMEBUFFER, 4096), ==, 0x334455);
   /* redefining a GMR drops its mappings; deleting frees its pages */
   T_PUSH(&t, SVGA_CMD_DEFINE_GMR2, 3, 0);
   T_PUSH(&t, SVGA_CMD_DEFINE_GMR2, 4, 65536 - 4 - 2 - 2);
   t_sync(&t);
   g_assert_false(t_error(&t));
   t_teardown(&t);
}

static void
test_legacy_gmr(void)
{
   t_env t;
   screens_setup(&t);
   define_screen(&t, 0, SVGA_SCREEN_MUST_BE_SET | SVGA_SCREEN_IS_PRIMARY, 16, 16, 0, 0,
                 SVGA_GMR_NULL, 0, 0);
   /* descriptor page 0x50: {0x600, 2}, {0x700, 1}, link to 0x51;
    * page 0x51: {0x800, 1}, end */
   const uint32_t d0[6] = { 0x600, 2, 0x700, 1, 0x51, 0 };
   const uint32_t d1[4] = { 0x800, 1, 0, 0 };
   memcpy(t.ram + 0x50000, d0, sizeof d0);
   memcpy(t.ram + 0x51000, d1, sizeof d1);
   put_ram32(&t, 0x601000, 0x00111111);
   put_ram32(&t, 0x700000 + 4, 0x00222222);
   put_ram32(&t, 0x800000 + 8, 0x00333333);
   t_reg_write(&t, SVGA_REG_GMR_ID, 5);
   t_reg_write(&t, SVGA_REG_GMR_DESCRIPTOR, 0x50);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_GMR_ID), ==, 5);
   g_assert_false(t_error(&t));
   g_assert_cmphex(gmr_pixel_via_blit(&t, 5, 4096), ==, 0x111111);
   g_assert_cmphex(gmr_pixel_via_blit(&t, 5, 2 * 4096 + 4), ==, 0x222222);
   g_assert_cmphex(gmr_pixel_via_blit(&t, 5, 3 * 4096 + 8), ==, 0x333333);
   /* another GMR from the second descriptor page; PPN 0 deletes */
   t_reg_write(&t, SVGA_REG_GMR_ID, 6);
   t_reg_write(&t, SVGA_REG_GMR_DESCRIPTOR, 0x51);
   t_reg_write(&t, SVGA_REG_GMR_DESCRIPTOR, 0);
   t_reg_write(&t, SVGA_REG_GMR_ID, 5);
   t_reg_write(&t, SVGA_REG_GMR_DESCRIPTOR, 0);
   g_assert_false(t_error(&t));
   /* now GMR 5 is gone: reading it is an error */
   T_PUSH(&t, SVGA_CMD_DEFINE_GMRFB, 5, 0, PITCH, 32 | 24 << 8);
   T_PUSH(&t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, 0, 0, 1, 1, 0);
   t_sync(&t);
   g_assert_true(t_error(&t));
   t_teardown(&t);
}

static void
test_screens(void)
{
   t_env t;
   screens_setup(&t);
   define_gmr1(&t);
   fill_pattern(&t, gmr1);
   /* screen 0 with a backing store in VRAM */
   define_screen(&t, 0, SVGA_SCREEN_MUST_BE_SET | SVGA_SCREEN_IS_PRIMARY, W, H, 0, 0,
                 SVGA_GMR_FRAMEBUFFER, 0x10000, 512);
   T_PUSH(&t, SVGA_CMD_DEFINE_GMRFB, 1, 0, PITCH, 32 | 24 << 8);
   T_PUSH(&t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, 0, 0, W, H, 0);
   t_sync(&t);
   g_assert_false(t_error(&t));
   uint32_t v;
   memcpy(&v, t.vram + 0x10000 + 7 * 512 + 9 * 4, 4);
   g_assert_cmphex(v & 0xffffff, ==, pattern(9, 7));
   t_shot s;
   t_shoot(&t, &s);
   uint64_t gen = s.gen;
   g_assert_cmphex(t_px(&s, 9, 7), ==, pattern(9, 7));
   t_shot_free(&s);

   /* redefined larger with another backing store: contents kept */
   define_screen(&t, 0, SVGA_SCREEN_MUST_BE_SET | SVGA_SCREEN_IS_PRIMARY, W + 20, H + 10, 0, 0,
                 SVGA_GMR_FRAMEBUFFER, 0x20000, (W + 20) * 4);
   t_sync(&t);
   g_assert_false(t_error(&t));
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, W + 20);
   g_assert_cmpuint(s.gen, >, gen);
   g_assert_cmphex(t_px(&s, 9, 7), ==, pattern(9, 7));
   g_assert_cmphex(t_px(&s, W + 5, 5), ==, 0);
   t_shot_free(&s);

   /* screen 1 to the right, without a backing store; a blit in root
    * coordinates lands on both */
   define_screen(&t, 1, SVGA_SCREEN_MUST_BE_SET, 50, 50, W + 20, 0, SVGA_GMR_NULL, 0, 0);
   T_PUSH(&t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, W + 10, 0, W + 30, 10, SVGA_ID_INVALID);
   t_sync(&t);
   g_assert_false(t_error(&t));
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, W + 20);   /* still screen 0 */
   g_assert_cmphex(t_px(&s, W + 10, 0), ==, pattern(0, 0));
   g_assert_cmphex(t_px(&s, W + 19, 9), ==, pattern(9, 9));
   t_shot_free(&s);
   const uint64_t gmr2[4] = { 0x901, 0x900, 0x903, 0x902 };
   T_PUSH(&t, SVGA_CMD_DEFINE_GMR2, 2, 4);
   T_PUSH(&t, SVGA_CMD_REMAP_GMR2, 2, 0, 0, 4, 0x901, 0x900, 0x903, 0x902);
   T_PUSH(&t, SVGA_CMD_DEFINE_GMRFB, 2, 0, PITCH, 32 | 24 << 8);
   T_PUSH(&t, SVGA_CMD_BLIT_SCREEN_TO_GMRFB, 0, 0, 0, 0, 10, 10, 1);
   t_sync(&t);
   gmr_peek(&t, gmr2, 0, &v, 4);
   g_assert_cmphex(v & 0xffffff, ==, pattern(10, 0));
   gmr_peek(&t, gmr2, 9 * PITCH + 9 * 4, &v, 4);
   g_assert_cmphex(v & 0xffffff, ==, pattern(19, 9));

   /* blanking shows black, keeps the contents */
   define_screen(&t, 0, SVGA_SCREEN_MUST_BE_SET | SVGA_SCREEN_IS_PRIMARY | SVGA_SCREEN_BLANKING,
                 W + 20, H + 10, 0, 0, SVGA_GMR_FRAMEBUFFER, 0x20000, (W + 20) * 4);
   t_sync(&t);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 9, 7), ==, 0);
   t_shot_free(&s);
   T_PUSH(&t, SVGA_CMD_BLIT_SCREEN_TO_GMRFB, 0, 0, 9, 7, 10, 8, 0);
   t_sync(&t);
   gmr_peek(&t, gmr2, 0, &v, 4);
   g_assert_cmphex(v & 0xffffff, ==, pattern(9, 7));
   define_screen(&t, 0, SVGA_SCREEN_MUST_BE_SET | SVGA_SCREEN_IS_PRIMARY, W + 20, H + 10, 0, 0,
                 SVGA_GMR_FRAMEBUFFER, 0x20000, (W + 20) * 4);
   t_sync(&t);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 9, 7), ==, pattern(9, 7));
   t_shot_free(&s);

   /* the cursor relative to screen 1 is not on screen 0; relative to the
    * root it is shifted by screen 0's origin (0, 0) */
   T_PUSH(&t, SVGA_CMD_DEFINE_ALPHA_CURSOR, 0, 0, 0, 1, 1, 0xff00ff00);
   t_sync(&t);
   t.fifo[SVGA_FIFO_CURSOR_ON] = 1;
   t.fifo[SVGA_FIFO_CURSOR_X] = 3;
   t.fifo[SVGA_FIFO_CURSOR_Y] = 4;
   t.fifo[SVGA_FIFO_CURSOR_SCREEN_ID] = 1;
   t.fifo[SVGA_FIFO_CURSOR_COUNT]++;
   svga_process(t.s);
   svga_fb_cursor c;
   svga_fb_cursor_get(svga_get_fb(t.s), &c);
   g_assert_false(c.visible);
   svga_fb_cursor_clear(&c);
   t.fifo[SVGA_FIFO_CURSOR_SCREEN_ID] = 0;
   t.fifo[SVGA_FIFO_CURSOR_COUNT]++;
   svga_process(t.s);
   svga_fb_cursor_get(svga_get_fb(t.s), &c);
   g_assert_true(c.visible);
   g_assert_cmpint(c.x, ==, 3);
   svga_fb_cursor_clear(&c);

   /* destroying screen 0 shows screen 1 */
   T_PUSH(&t, SVGA_CMD_DESTROY_SCREEN, 0);
   t_sync(&t);
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, 50);
   g_assert_cmphex(t_px(&s, 0, 0), ==, pattern(10, 0));
   t_shot_free(&s);
   /* a deactivated screen is black */
   define_screen(&t, 1, SVGA_SCREEN_MUST_BE_SET | SVGA_SCREEN_DEACTIVATE, 50, 50, 0, 0,
                 SVGA_GMR_NULL, 0, 0);
   t_sync(&t);
   t_shoot(&t, &s);
   g_assert_cmphex(t_px(&s, 0, 0), ==, 0);
   t_shot_free(&s);
   /* destroying an undefined screen is harmless; all gone: the legacy
    * framebuffer shows again */
   T_PUSH(&t, SVGA_CMD_DESTROY_SCREEN, 1);
   T_PUSH(&t, SVGA_CMD_DESTROY_SCREEN, 7);
   t_sync(&t);
   g_assert_false(t_error(&t));
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, 1024);
   g_assert_cmpuint(s.h, ==, 768);
   t_shot_free(&s);
   t_teardown(&t);
}

static void
test_update_to_screens(void)
{
   t_env t;
   screens_setup(&t);
   t_reg_write(&t, SVGA_REG_WIDTH, 200);
   t_reg_write(&t, SVGA_REG_HEIGHT, 100);
   define_screen(&t, 0, SVGA_SCREEN_MUST_BE_SET | SVGA_SCREEN_IS_PRIMARY, 100, 100, 0, 0,
                 SVGA_GMR_NULL, 0, 0);
   define_screen(&t, 1, SVGA_SCREEN_MUST_BE_SET, 100, 100, 100, 0, SVGA_GMR_NULL, 0, 0);
   uint32_t a = 0x00aabbcc, b = 0x00112233;
   memcpy(t.vram + 5 * 800 + 50 * 4, &a, 4);
   memcpy(t.vram + 5 * 800 + 150 * 4, &b, 4);
   T_PUSH(&t, SVGA_CMD_UPDATE, 0, 0, 200, 100);
   t_sync(&t);
   g_assert_false(t_error(&t));
   t_shot s;
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, 100);
   g_assert_cmphex(t_px(&s, 50, 5), ==, 0xaabbcc);
   t_shot_free(&s);
   /* screen 1 got the right half */
   const uint64_t g[1] = { 0x900 };
   T_PUSH(&t, SVGA_CMD_DEFINE_GMR2, 2, 1);
   T_PUSH(&t, SVGA_CMD_REMAP_GMR2, 2, 0, 0, 1, 0x900);
   T_PUSH(&t, SVGA_CMD_DEFINE_GMRFB, 2, 0, 400, 32 | 24 << 8);
   T_PUSH(&t, SVGA_CMD_BLIT_SCREEN_TO_GMRFB, 0, 0, 50, 5, 51, 6, 1);
   t_sync(&t);
   uint32_t v;
   gmr_peek(&t, g, 0, &v, 4);
   g_assert_cmphex(v & 0xffffff, ==, 0x112233);
   /* a legacy mode write drops screen 1 and makes screen 0 the mode */
   t_reg_write(&t, SVGA_REG_WIDTH, 320);
   t_shoot(&t, &s);
   g_assert_cmpuint(s.w, ==, 320);
   g_assert_cmpuint(s.h, ==, 100);
   g_assert_cmphex(t_px(&s, 50, 5), ==, 0xaabbcc);   /* contents kept */
   t_shot_free(&s);
   T_PUSH(&t, SVGA_CMD_BLIT_SCREEN_TO_GMRFB, 0, 0, 0, 0, 1, 1, 1);
   t_sync(&t);
   g_assert_true(t_error(&t));   /* screen 1 is gone */
   t_teardown(&t);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/svga/screen/gmr2-blits", test_gmr2_blits);
   g_test_add_func("/svga/screen/remap-variants", test_remap_variants);
   g_test_add_func("/svga/screen/legacy-gmr", test_legacy_gmr);
   g_test_add_func("/svga/screen/screens", test_screens);
   g_test_add_func("/svga/screen/update-to-screens", test_update_to_screens);
   return g_test_run();
}
