/*
 * SVGA II checkpoint tests: save -> restore -> save is byte-identical in a
 * fresh device and in one with every kind of state (registers, GMRs,
 * screens with and without backing stores, the GMRFB, cursor, VGA and VBE
 * registers, the error state); the restored device shows the same picture
 * once its memory is restored; and hand-made sections with impossible
 * values are refused without changing the device.
 */
#include "svga-test.h"

static void
busy_state(t_env *t)
{
   t_fifo_init(t);
   t_reg_write(t, SVGA_REG_ENABLE, SVGA_REG_ENABLE_ENABLE);
   t_reg_write(t, SVGA_REG_WIDTH, 800);
   t_reg_write(t, SVGA_REG_HEIGHT, 600);
   t_reg_write(t, SVGA_REG_GUEST_ID, 0x5010);
   t_reg_write(t, SVGA_REG_IRQMASK, SVGA_IRQFLAG_ANY_FENCE);
   t_reg_write(t, SVGA_SCRATCH_BASE + 3, 0x33);
   t_reg_write(t, SVGA_PALETTE_BASE + 10, 0x44);
   t_reg_write(t, SVGA_REG_DISPLAY_ID, 2);
   t_reg_write(t, SVGA_REG_DISPLAY_WIDTH, 640);
   t_reg_write(t, SVGA_REG_CURSOR_X, 17);
   /* GMRs: GMR2 and a legacy one */
   T_PUSH(t, SVGA_CMD_DEFINE_GMR2, 1, 4);
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 1, 0, 0, 3, 0x300, 0x301, 0x302);
   const uint32_t d0[4] = { 0x600, 3, 0, 0 };
   memcpy(t->ram + 0x50000, d0, sizeof d0);
   t_reg_write(t, SVGA_REG_GMR_ID, 9);
   t_reg_write(t, SVGA_REG_GMR_DESCRIPTOR, 0x50);
   /* screens: 0 backed, 3 private, with contents */
   for (uint32_t i = 0; i < 3 * 4096 / 4; i++) {
      uint32_t v = i * 2654435761u;
      memcpy(t->ram + 0x300000 + i * 4, &v, 4);
   }
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, SVGA_SCREEN_SIZE_V2, 0,
          SVGA_SCREEN_MUST_BE_SET | SVGA_SCREEN_IS_PRIMARY, 64, 32, 0, 0, SVGA_GMR_FRAMEBUFFER,
          0x40000, 256, 0);
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, SVGA_SCREEN_SIZE_V1, 3, SVGA_SCREEN_MUST_BE_SET, 32, 16,
          (uint32_t)-32, 100);
   T_PUSH(t, SVGA_CMD_DEFINE_GMRFB, 1, 0, 256, 32 | 24 << 8);
   T_PUSH(t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, 0, 0, 64, 32, 0);
   T_PUSH(t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 5, 5, 0, 0, 32, 16, 3);
   T_PUSH(t, SVGA_CMD_DEFINE_ALPHA_CURSOR, 0, 1, 1, 2, 2, 0xff0000ff, 0x80808080, 0, 0xffffffff);
   T_PUSH(t, SVGA_CMD_FENCE, 1234);
   t_sync(t);
   g_assert_false(t_error(t));
   t->fifo[SVGA_FIFO_CURSOR_ON] = 1;
   t->fifo[SVGA_FIFO_CURSOR_X] = 7;
   t->fifo[SVGA_FIFO_CURSOR_Y] = 8;
   t->fifo[SVGA_FIFO_CURSOR_COUNT] = 5;
   svga_process(t->s);
   /* VGA and VBE registers */
   outb(t->p, 0x3d4, 0x0e);
   outb(t->p, 0x3d5, 0x01);
   outb(t->p, 0x3c8, 3);
   outb(t->p, 0x3c9, 0x11);
   outb(t->p, 0x3c4, 2);
   inb(t->p, 0x3da);
   outb(t->p, 0x3c0, 0x05);   /* the flip-flop is left in data state */
   vmx_platform_pio_write(t->p, NULL, 0x1ce, 2, VBE_DISPI_INDEX_XRES);
   vmx_platform_pio_write(t->p, NULL, 0x1cf, 2, 640);
   vmx_platform_pio_write(t->p, NULL, 0x1ce, 2, VBE_DISPI_INDEX_YRES);
   vmx_platform_pio_write(t->p, NULL, 0x1cf, 2, 480);
   vmx_platform_pio_write(t->p, NULL, 0x1ce, 2, VBE_DISPI_INDEX_ENABLE);
   vmx_platform_pio_write(t->p, NULL, 0x1cf, 2, VBE_DISPI_ENABLED | VBE_DISPI_NOCLEARMEM);
}

static void
test_roundtrip_fresh(void)
{
   t_env a, b;
   t_setup(&a);
   t_setup(&b);
   assert_roundtrip(a.p, b.p);
   t_teardown(&a);
   t_teardown(&b);
}

static void
test_roundtrip_busy(void)
{
   t_env a, b;
   t_setup(&a);
   t_setup(&b);
   busy_state(&a);
   assert_roundtrip(a.p, b.p);
   /* the vmx restores the memory; then both show the same */
   memcpy(b.vram, a.vram, 16u << 20);
   memcpy(b.fifo, a.fifo, 256u << 10);
   t_shot sa, sb;
   t_shoot(&a, &sa);
   t_shoot(&b, &sb);
   g_assert_cmpuint(sa.w, ==, 64);
   g_assert_cmpuint(sb.w, ==, sa.w);
   g_assert_cmpuint(sb.h, ==, sa.h);
   g_assert_cmpmem(sa.px, sa.w * sa.h * 4, sb.px, sb.w * sb.h * 4);
   t_shot_free(&sa);
   t_shot_free(&sb);
   svga_fb_cursor ca, cb;
   svga_fb_cursor_get(svga_get_fb(a.s), &ca);
   svga_fb_cursor_get(svga_get_fb(b.s), &cb);
   g_assert_cmpuint(cb.width, ==, 2);
   g_assert_cmpmem(ca.argb, 16, cb.argb, 16);
   g_assert_true(cb.visible);
   g_assert_cmpint(cb.x, ==, ca.x);
   svga_fb_cursor_clear(&ca);
   svga_fb_cursor_clear(&cb);
   /* the restored device goes on working: GMR 1 and screen 3 are there */
   T_PUSH(&b, SVGA_CMD_BLIT_SCREEN_TO_GMRFB, 0, 0, 0, 0, 1, 1, 3);
   T_PUSH(&b, SVGA_CMD_FENCE, 1235);
   t_sync(&b);
   g_assert_false(t_error(&b));
   g_assert_cmpuint(b.fifo[SVGA_FIFO_FENCE], ==, 1235);
   /* interrupt state came along */
   g_assert_cmphex(inl(b.p, T_IO + SVGA_IRQSTATUS_PORT) & SVGA_IRQFLAG_ANY_FENCE, !=, 0);
   g_assert_true(irq_level(&b.irq, 19));
   /* and the second round trip from the restored one */
   t_env c;
   t_setup(&c);
   assert_roundtrip(b.p, c.p);
   t_teardown(&a);
   t_teardown(&b);
   t_teardown(&c);
}

static void
test_roundtrip_error(void)
{
   t_env a, b;
   t_setup(&a);
   t_setup(&b);
   t_fifo_init(&a);
   T_PUSH(&a, 999, 1, 2);
   svga_process(a.s);
   g_assert_true(t_error(&a));
   assert_roundtrip(a.p, b.p);
   char ma[256], mb[256];
   g_assert_true(svga_in_error(a.s, ma, sizeof ma));
   g_assert_true(svga_in_error(b.s, mb, sizeof mb));
   g_assert_cmpstr(ma, ==, mb);
   t_teardown(&a);
   t_teardown(&b);
}

static ckpt_writer *
section(void)
{
   return ckpt_writer_new("svga", 1);
}

static void
put_words(ckpt_writer *w, const char *tag, const uint32_t *v, size_t n)
{
   ckpt_put_bytes(w, tag, v, n * 4);
}

static void
test_restore_refused(void)
{
   t_env t;
   t_setup(&t);
   busy_state(&t);
   ckpt_writer *w;

   w = section();
   ckpt_put_u32(w, "id", 0x12345678);
   assert_restore_refused(t.p, w, "'id'");
   w = section();
   ckpt_put_u32(w, "width", 0);
   assert_restore_refused(t.p, w, "'width'");
   w = section();
   ckpt_put_u32(w, "height", 100000);
   assert_restore_refused(t.p, w, "'width'");
   w = section();
   ckpt_put_u32(w, "bpp", 12);
   assert_restore_refused(t.p, w, "'bpp'");
   w = section();
   ckpt_put_u32(w, "enable", 4);
   assert_restore_refused(t.p, w, "'enable'");
   w = section();
   ckpt_put_u32(w, "irq_mask", 0x100);
   assert_restore_refused(t.p, w, "'irq_mask'");
   w = section();
   ckpt_put_u32(w, "fifo_min", 8);
   assert_restore_refused(t.p, w, "'fifo_min'");
   w = section();
   ckpt_put_u32(w, "fifo_max", 0x80000);
   assert_restore_refused(t.p, w, "'fifo_min'");
   w = section();
   ckpt_put_u8(w, "error", 2);
   assert_restore_refused(t.p, w, "'error'");
   w = section();
   ckpt_put_u32(w, "num_guest_displays", 11);
   assert_restore_refused(t.p, w, "'num_guest_displays'");
   w = section();
   ckpt_put_u16(w, "id", 2);   /* wrong type */
   assert_restore_refused(t.p, w, "id");
   /* GMRs */
   w = section();
   ckpt_put_bytes(w, "gmr.3", "abc", 3);
   assert_restore_refused(t.p, w, "'gmr.3'");
   w = section();
   const uint64_t far[1] = { 1ull << 41 };
   ckpt_put_bytes(w, "gmr.3", far, sizeof far);
   assert_restore_refused(t.p, w, "'gmr.3'");
   w = section();
   uint64_t *many = g_new0(uint64_t, 40000);
   ckpt_put_bytes(w, "gmr.1", many, 40000 * 8);
   ckpt_put_bytes(w, "gmr.2", many, 40000 * 8);
   g_free(many);
   assert_restore_refused(t.p, w, "'gmr.2'");
   w = section();
   ckpt_put_bytes(w, "gmr.4", "", 0);
   assert_restore_refused(t.p, w, "'gmr.4'");
   /* screens */
   const uint32_t zero_w[9] = { SVGA_SCREEN_MUST_BE_SET, 0, 10, 0, 0, 0, 0, 0, 0 };
   w = section();
   put_words(w, "screen.2", zero_w, 9);
   assert_restore_refused(t.p, w, "'screen.2'");
   const uint32_t outside[9] = { SVGA_SCREEN_MUST_BE_SET, 100, 100, 0, 0, 1, 0xfff000, 400, 0 };
   w = section();
   put_words(w, "screen.2", outside, 9);
   assert_restore_refused(t.p, w, "'screen.2'");
   const uint32_t huge[9] = { SVGA_SCREEN_MUST_BE_SET, 4096, 4096, 0, 0, 0, 0, 0, 0 };
   w = section();
   put_words(w, "screen.2", huge, 9);
   assert_restore_refused(t.p, w, "'screen.2'");
   const uint32_t priv[9] = { SVGA_SCREEN_MUST_BE_SET, 4, 4, 0, 0, 0, 0, 0, 0 };
   w = section();
   put_words(w, "screen.2", priv, 9);   /* its pixels are missing */
   assert_restore_refused(t.p, w, "'screen.2.pixels'");
   w = section();
   put_words(w, "screen.2", priv, 9);
   uint32_t px[15] = { 0 };
   put_words(w, "screen.2.pixels", px, 15);
   assert_restore_refused(t.p, w, "'screen.2.pixels'");
   const uint32_t backed[9] = { SVGA_SCREEN_MUST_BE_SET, 4, 4, 0, 0, 1, 0, 16, 0 };
   w = section();
   put_words(w, "screen.2", backed, 9);
   uint32_t px16[16] = { 0 };
   put_words(w, "screen.2.pixels", px16, 16);
   assert_restore_refused(t.p, w, "'screen.2.pixels'");
   const uint32_t flag2[9] = { SVGA_SCREEN_MUST_BE_SET, 4, 4, 0, 0, 2, 0, 16, 0 };
   w = section();
   put_words(w, "screen.2", flag2, 9);
   assert_restore_refused(t.p, w, "'screen.2'");
   /* the GMRFB, cursor, VGA, VBE */
   const uint32_t fb[6] = { 1, 0, 256, 32, 24, 7 };
   w = section();
   put_words(w, "gmrfb", fb, 6);
   assert_restore_refused(t.p, w, "'gmrfb'");
   const uint32_t cur[4] = { 300, 300, 0, 0 };
   w = section();
   put_words(w, "cursor", cur, 4);
   assert_restore_refused(t.p, w, "'cursor'");
   const uint32_t cur2[4] = { 2, 2, 5, 0 };
   w = section();
   put_words(w, "cursor", cur2, 4);
   assert_restore_refused(t.p, w, "'cursor'");
   const uint32_t cur3[4] = { 2, 2, 0, 0 };
   w = section();
   put_words(w, "cursor", cur3, 4);
   assert_restore_refused(t.p, w, "'cursor.image'");
   const uint32_t pos[4] = { 0, 0, 9, 0 };
   w = section();
   put_words(w, "cursor.pos", pos, 4);
   assert_restore_refused(t.p, w, "'cursor.pos'");
   uint8_t vbe[22] = { 0 };
   w = section();
   ckpt_put_bytes(w, "vbe", vbe, sizeof vbe);
   assert_restore_refused(t.p, w, "'vbe'");
   const uint16_t mode[11] = { VBE_DISPI_ID5, 8000, 8000, 32, VBE_DISPI_ENABLED, 0, 8000 };
   w = section();
   ckpt_put_bytes(w, "vbe", mode, sizeof mode);
   assert_restore_refused(t.p, w, "'vbe'");
   uint8_t vga[101];
   memset(vga, 0, sizeof vga);
   vga[60] = 2;   /* the attribute flip-flop */
   w = section();
   ckpt_put_bytes(w, "vga", vga, sizeof vga);
   assert_restore_refused(t.p, w, "'vga'");
   t_teardown(&t);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/svga/ckpt/roundtrip-fresh", test_roundtrip_fresh);
   g_test_add_func("/svga/ckpt/roundtrip-busy", test_roundtrip_busy);
   g_test_add_func("/svga/ckpt/roundtrip-error", test_roundtrip_error);
   g_test_add_func("/svga/ckpt/restore-refused", test_restore_refused);
   return g_test_run();
}
