/*
 * SVGA II robustness: every malformed command stream, FIFO register
 * setting and GMR description below must put the device in its error
 * state -- a fence behind it never runs, BUSY reads 0, nothing crashes --
 * and the driver must be able to start over. Incomplete commands are not
 * errors: the device waits for the rest.
 */
#include "svga-test.h"

#define RAM_PAGES (T_RAM_SIZE / 4096)

typedef void (*case_fn)(t_env *t);

typedef struct bad_case {
   const char *name;
   case_fn fn;
} bad_case;

static void
gmr1(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_GMR2, 1, 4);
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 1, 0, 0, 4, 0x300, 0x301, 0x302, 0x303);
}

static void
screen0(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, SVGA_SCREEN_SIZE_V2, 0,
          SVGA_SCREEN_MUST_BE_SET | SVGA_SCREEN_IS_PRIMARY, 64, 64, 0, 0, SVGA_GMR_NULL, 0, 0,
          0);
}

/* ---- commands */
static void
c_unknown(t_env *t)
{
   T_PUSH(t, 999, 1, 2, 3);
}

static void
c_invalid(t_env *t)
{
   T_PUSH(t, SVGA_CMD_INVALID_CMD);
}

static void
c_dead(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEAD, 0, 0);
}

static void
c_nop_error(t_env *t)
{
   T_PUSH(t, SVGA_CMD_NOP_ERROR);
}

static void
c_3d_unaligned(t_env *t)
{
   T_PUSH(t, 1040, 3, 0);
}

static void
c_3d_huge(t_env *t)
{
   T_PUSH(t, 1040, 0xfffffff0u, 0);
}

static void
c_3d_fifo_sized(t_env *t)
{
   T_PUSH(t, 1041, T_FIFO_MAX - T_FIFO_MIN, 0);
}

static void
c_escape_huge(t_env *t)
{
   T_PUSH(t, SVGA_CMD_ESCAPE, 0, 0xffffffffu, 0);
}

static void
c_alpha_cursor_dims(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_ALPHA_CURSOR, 0, 0, 0, 1000, 1000);
}

static void
c_alpha_cursor_too_long(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_ALPHA_CURSOR, 0, 0, 0, 256, 256);
}

static void
c_cursor_depth(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_CURSOR, 0, 0, 0, 8, 8, 7, 1);
}

static void
c_cursor_depth_mismatch(t_env *t)
{
   t_reg_write(t, SVGA_REG_BITS_PER_PIXEL, 16);
   T_PUSH(t, SVGA_CMD_DEFINE_CURSOR, 0, 0, 0, 8, 8, 1, 32);
}

static void
c_cursor_dims(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_CURSOR, 0, 0, 0, 300, 2, 1, 1);
}

static void
c_screen_struct_small(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, 4, 0);
}

static void
c_screen_struct_huge(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, 1000000, 0);
}

static void
c_screen_struct_odd(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, 30, 0, 1, 10, 10, 0, 0, 0);
}

static void
c_screen_id(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, SVGA_SCREEN_SIZE_V1, 99, 1, 10, 10, 0, 0);
}

static void
c_screen_zero(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, SVGA_SCREEN_SIZE_V1, 0, 1, 0, 10, 0, 0);
}

static void
c_screen_wide(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, SVGA_SCREEN_SIZE_V1, 0, 1, 9000, 10, 0, 0);
}

static void
c_screen_backing_gmr(t_env *t)
{
   gmr1(t);
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, SVGA_SCREEN_SIZE_V2, 0, 1, 16, 16, 0, 0, 1, 0, 64, 0);
}

static void
c_screen_backing_outside(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, SVGA_SCREEN_SIZE_V2, 0, 1, 64, 64, 0, 0,
          SVGA_GMR_FRAMEBUFFER, (16u << 20) - 1024, 256, 0);
}

static void
c_screen_backing_pitch(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, SVGA_SCREEN_SIZE_V2, 0, 1, 64, 64, 0, 0,
          SVGA_GMR_FRAMEBUFFER, 0, 100, 0);
}

static void
c_screen_backing_wraps(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, SVGA_SCREEN_SIZE_V2, 0, 1, 64, 64, 0, 0,
          SVGA_GMR_FRAMEBUFFER, 0xffffff00u, 0x10000000u, 0);
}

static void
c_screen_memory(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, SVGA_SCREEN_SIZE_V1, 0, 1, 2048, 2048, 0, 0);
   T_PUSH(t, SVGA_CMD_DEFINE_SCREEN, SVGA_SCREEN_SIZE_V1, 1, 1, 16, 16, 0, 0);
}

static void
c_destroy_screen_id(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DESTROY_SCREEN, 99);
}

static void
c_gmrfb_format(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_GMRFB, 1, 0, 256, 32 | 32 << 8);
}

static void
c_gmrfb_reserved(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_GMRFB, 1, 0, 256, 32 | 24 << 8 | 1u << 20);
}

static void
c_blit_no_gmrfb(t_env *t)
{
   screen0(t);
   T_PUSH(t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, 0, 0, 8, 8, 0);
}

static void
c_blit_no_screen(t_env *t)
{
   gmr1(t);
   T_PUSH(t, SVGA_CMD_DEFINE_GMRFB, 1, 0, 256, 32 | 24 << 8);
   T_PUSH(t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, 0, 0, 8, 8, 3);
}

static void
c_blit_undefined_gmr(t_env *t)
{
   screen0(t);
   T_PUSH(t, SVGA_CMD_DEFINE_GMRFB, 7, 0, 256, 32 | 24 << 8);
   T_PUSH(t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, 0, 0, 8, 8, 0);
}

static void
c_blit_past_gmr(t_env *t)
{
   screen0(t);
   gmr1(t);
   T_PUSH(t, SVGA_CMD_DEFINE_GMRFB, 1, 0, 4096, 32 | 24 << 8);
   T_PUSH(t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, 0, 0, 64, 64, 0);
}

static void
c_blit_huge_origin(t_env *t)
{
   screen0(t);
   gmr1(t);
   T_PUSH(t, SVGA_CMD_DEFINE_GMRFB, 1, 0xffffff00u, 0xffffffffu, 32 | 24 << 8);
   T_PUSH(t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 0x7fffffff, 0x7fffffff, 0, 0, 64, 64, 0);
}

static void
c_blit_unmapped_page(t_env *t)
{
   screen0(t);
   T_PUSH(t, SVGA_CMD_DEFINE_GMR2, 2, 4);
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 2, 0, 0, 1, 0x300);
   T_PUSH(t, SVGA_CMD_DEFINE_GMRFB, 2, 0, 256, 32 | 24 << 8);
   T_PUSH(t, SVGA_CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, 0, 0, 64, 64, 0);
}

static void
c_blit_from_undefined_screen(t_env *t)
{
   gmr1(t);
   T_PUSH(t, SVGA_CMD_DEFINE_GMRFB, 1, 0, 256, 32 | 24 << 8);
   T_PUSH(t, SVGA_CMD_BLIT_SCREEN_TO_GMRFB, 0, 0, 0, 0, 8, 8, 5);
}

static void
c_blit_from_invalid_id(t_env *t)
{
   screen0(t);
   gmr1(t);
   T_PUSH(t, SVGA_CMD_DEFINE_GMRFB, 1, 0, 256, 32 | 24 << 8);
   T_PUSH(t, SVGA_CMD_BLIT_SCREEN_TO_GMRFB, 0, 0, 0, 0, 8, 8, SVGA_ID_INVALID);
}

static void
c_blit_to_vram_outside(t_env *t)
{
   screen0(t);
   T_PUSH(t, SVGA_CMD_DEFINE_GMRFB, SVGA_GMR_FRAMEBUFFER, (16u << 20) - 256, 256, 32 | 24 << 8);
   T_PUSH(t, SVGA_CMD_BLIT_SCREEN_TO_GMRFB, 0, 0, 0, 0, 64, 64, 0);
}

static void
c_gmr2_id(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_GMR2, 64, 1);
}

static void
c_gmr2_pages(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_GMR2, 1, 65537);
}

static void
c_gmr2_budget(t_env *t)
{
   T_PUSH(t, SVGA_CMD_DEFINE_GMR2, 1, 40000);
   T_PUSH(t, SVGA_CMD_DEFINE_GMR2, 2, 40000);
}

static void
c_remap_undefined(t_env *t)
{
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 5, 0, 0, 1, 0x300);
}

static void
c_remap_past_end(t_env *t)
{
   gmr1(t);
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 1, 0, 3, 2, 0x300, 0x301);
}

static void
c_remap_wrap(t_env *t)
{
   gmr1(t);
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 1, SVGA_REMAP_GMR2_SINGLE_PPN, 0xffffffffu, 2, 0x300);
}

static void
c_remap_flags(t_env *t)
{
   gmr1(t);
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 1, 8, 0, 1, 0x300);
}

static void
c_remap_ppn_outside(t_env *t)
{
   gmr1(t);
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 1, 0, 0, 2, 0x300, RAM_PAGES);
}

static void
c_remap_ppn64_huge(t_env *t)
{
   gmr1(t);
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 1, SVGA_REMAP_GMR2_PPN64, 0, 1, 0, 0x40000);
}

static void
c_remap_single_outside(t_env *t)
{
   gmr1(t);
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 1, SVGA_REMAP_GMR2_SINGLE_PPN, 0, 4, 0xffffffffu);
}

static void
c_remap_via_undefined(t_env *t)
{
   gmr1(t);
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 1, SVGA_REMAP_GMR2_VIA_GMR, 0, 4, 9, 0);
}

static void
c_remap_via_past_end(t_env *t)
{
   gmr1(t);
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 1, SVGA_REMAP_GMR2_VIA_GMR, 0, 4, 1, 4 * 4096 - 8);
}

static void
c_remap_via_bad_list(t_env *t)
{
   gmr1(t);
   const uint32_t list[4] = { 0x300, 0x301, 0x7fffffff, 0x303 };
   memcpy(t->ram + 0x300000, list, sizeof list);
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 1, SVGA_REMAP_GMR2_VIA_GMR, 0, 4, 1, 0);
}

static void
c_remap_too_long(t_env *t)
{
   gmr1(t);
   T_PUSH(t, SVGA_CMD_REMAP_GMR2, 1, SVGA_REMAP_GMR2_PPN64, 0, 0x80000000u, 0x300);
}

static void
c_rop(t_env *t)
{
   T_PUSH(t, SVGA_CMD_RECT_ROP_COPY, 0, 0, 1, 1, 2, 2, 5);
}

/* ---- FIFO registers */
static void
f_min_unaligned(t_env *t)
{
   t->fifo[SVGA_FIFO_MIN] = T_FIFO_MIN + 2;
   T_PUSH(t, SVGA_CMD_NOP);
}

static void
f_min_small(t_env *t)
{
   t->fifo[SVGA_FIFO_MIN] = 8;
   t->fifo[SVGA_FIFO_STOP] = 8;
   t->fifo[SVGA_FIFO_NEXT_CMD] = 12;
}

static void
f_max_big(t_env *t)
{
   t->fifo[SVGA_FIFO_MAX] = T_FIFO_MAX + 4;
   T_PUSH(t, SVGA_CMD_NOP);
}

static void
f_min_ge_max(t_env *t)
{
   t->fifo[SVGA_FIFO_MIN] = T_FIFO_MAX;
   T_PUSH(t, SVGA_CMD_NOP);
}

static void
f_small_ring(t_env *t)
{
   t->fifo[SVGA_FIFO_MAX] = T_FIFO_MIN + 4096;
   T_PUSH(t, SVGA_CMD_NOP);
}

static void
f_next_out(t_env *t)
{
   t->fifo[SVGA_FIFO_NEXT_CMD] = T_FIFO_MAX;
}

static void
f_next_below(t_env *t)
{
   t->fifo[SVGA_FIFO_NEXT_CMD] = 16;
}

static void
f_stop_out(t_env *t)
{
   t->fifo[SVGA_FIFO_STOP] = 0x7ffffffc;
   T_PUSH(t, SVGA_CMD_NOP);
}

static void
f_stop_unaligned(t_env *t)
{
   t->fifo[SVGA_FIFO_STOP] = T_FIFO_MIN + 1;
   T_PUSH(t, SVGA_CMD_NOP);
}

static void
f_garbage(t_env *t)
{
   t->fifo[SVGA_FIFO_MIN] = 0xffffffffu;
   t->fifo[SVGA_FIFO_MAX] = 0;
   t->fifo[SVGA_FIFO_NEXT_CMD] = 0xdeadbeefu;
}

/* ---- legacy GMR descriptors */
static void
put32(t_env *t, uint64_t gpa, uint32_t v)
{
   memcpy(t->ram + gpa, &v, 4);
}

static void
g_loop(t_env *t)
{
   put32(t, 0x50000, 0x600);
   put32(t, 0x50004, 1);
   put32(t, 0x50008, 0x50);   /* link to itself */
   put32(t, 0x5000c, 0);
   t_reg_write(t, SVGA_REG_GMR_ID, 1);
   t_reg_write(t, SVGA_REG_GMR_DESCRIPTOR, 0x50);
}

static void
g_long_chain(t_env *t)
{
   /* 2500 pages of {one data page, link to the next}: 5000 descriptors */
   for (uint32_t p = 0; p < 2500; p++) {
      uint64_t at = 0x100000 + (uint64_t)p * 4096;
      put32(t, at, 0x10);
      put32(t, at + 4, 1);
      put32(t, at + 8, 0x100 + p + 1);
      put32(t, at + 12, 0);
   }
   t_reg_write(t, SVGA_REG_GMR_ID, 1);
   t_reg_write(t, SVGA_REG_GMR_DESCRIPTOR, 0x100);
}

static void
g_desc_outside(t_env *t)
{
   t_reg_write(t, SVGA_REG_GMR_ID, 1);
   t_reg_write(t, SVGA_REG_GMR_DESCRIPTOR, RAM_PAGES + 5);
}

static void
g_link_outside(t_env *t)
{
   put32(t, 0x50000, 0x7fffff00);
   put32(t, 0x50004, 0);
   t_reg_write(t, SVGA_REG_GMR_ID, 1);
   t_reg_write(t, SVGA_REG_GMR_DESCRIPTOR, 0x50);
}

static void
g_data_outside(t_env *t)
{
   put32(t, 0x50000, RAM_PAGES - 1);
   put32(t, 0x50004, 2);
   t_reg_write(t, SVGA_REG_GMR_ID, 1);
   t_reg_write(t, SVGA_REG_GMR_DESCRIPTOR, 0x50);
}

static void
g_no_end(t_env *t)
{
   for (uint32_t i = 0; i < 512; i++) {
      put32(t, 0x50000 + i * 8, 0x600);
      put32(t, 0x50000 + i * 8 + 4, 1);
   }
   t_reg_write(t, SVGA_REG_GMR_ID, 1);
   t_reg_write(t, SVGA_REG_GMR_DESCRIPTOR, 0x50);
}

static void
g_too_many_pages(t_env *t)
{
   put32(t, 0x50000, 0x10);
   put32(t, 0x50004, 70000);
   t_reg_write(t, SVGA_REG_GMR_ID, 1);
   t_reg_write(t, SVGA_REG_GMR_DESCRIPTOR, 0x50);
}

static void
g_bad_id(t_env *t)
{
   t_reg_write(t, SVGA_REG_GMR_ID, 64);
   t_reg_write(t, SVGA_REG_GMR_DESCRIPTOR, 0x50);
}

static const bad_case cases[] = {
   { "unknown-command", c_unknown },
   { "invalid-command", c_invalid },
   { "dead-command", c_dead },
   { "nop-error", c_nop_error },
   { "3d-unaligned-size", c_3d_unaligned },
   { "3d-huge-size", c_3d_huge },
   { "3d-fifo-sized", c_3d_fifo_sized },
   { "escape-huge", c_escape_huge },
   { "alpha-cursor-dims", c_alpha_cursor_dims },
   { "alpha-cursor-too-long", c_alpha_cursor_too_long },
   { "cursor-depth", c_cursor_depth },
   { "cursor-depth-mismatch", c_cursor_depth_mismatch },
   { "cursor-dims", c_cursor_dims },
   { "screen-struct-small", c_screen_struct_small },
   { "screen-struct-huge", c_screen_struct_huge },
   { "screen-struct-odd", c_screen_struct_odd },
   { "screen-id", c_screen_id },
   { "screen-zero", c_screen_zero },
   { "screen-wide", c_screen_wide },
   { "screen-backing-gmr", c_screen_backing_gmr },
   { "screen-backing-outside", c_screen_backing_outside },
   { "screen-backing-pitch", c_screen_backing_pitch },
   { "screen-backing-wraps", c_screen_backing_wraps },
   { "screen-memory", c_screen_memory },
   { "destroy-screen-id", c_destroy_screen_id },
   { "gmrfb-format", c_gmrfb_format },
   { "gmrfb-reserved", c_gmrfb_reserved },
   { "blit-no-gmrfb", c_blit_no_gmrfb },
   { "blit-no-screen", c_blit_no_screen },
   { "blit-undefined-gmr", c_blit_undefined_gmr },
   { "blit-past-gmr", c_blit_past_gmr },
   { "blit-huge-origin", c_blit_huge_origin },
   { "blit-unmapped-page", c_blit_unmapped_page },
   { "blit-from-undefined-screen", c_blit_from_undefined_screen },
   { "blit-from-invalid-id", c_blit_from_invalid_id },
   { "blit-to-vram-outside", c_blit_to_vram_outside },
   { "gmr2-id", c_gmr2_id },
   { "gmr2-pages", c_gmr2_pages },
   { "gmr2-budget", c_gmr2_budget },
   { "remap-undefined", c_remap_undefined },
   { "remap-past-end", c_remap_past_end },
   { "remap-wrap", c_remap_wrap },
   { "remap-flags", c_remap_flags },
   { "remap-ppn-outside", c_remap_ppn_outside },
   { "remap-ppn64-huge", c_remap_ppn64_huge },
   { "remap-single-outside", c_remap_single_outside },
   { "remap-via-undefined", c_remap_via_undefined },
   { "remap-via-past-end", c_remap_via_past_end },
   { "remap-via-bad-list", c_remap_via_bad_list },
   { "remap-too-long", c_remap_too_long },
   { "rect-rop", c_rop },
   { "fifo-min-unaligned", f_min_unaligned },
   { "fifo-min-small", f_min_small },
   { "fifo-max-big", f_max_big },
   { "fifo-min-ge-max", f_min_ge_max },
   { "fifo-small-ring", f_small_ring },
   { "fifo-next-out", f_next_out },
   { "fifo-next-below", f_next_below },
   { "fifo-stop-out", f_stop_out },
   { "fifo-stop-unaligned", f_stop_unaligned },
   { "fifo-garbage", f_garbage },
   { "gmr-desc-loop", g_loop },
   { "gmr-desc-long-chain", g_long_chain },
   { "gmr-desc-outside", g_desc_outside },
   { "gmr-desc-link-outside", g_link_outside },
   { "gmr-desc-data-outside", g_data_outside },
   { "gmr-desc-no-end", g_no_end },
   { "gmr-desc-too-many-pages", g_too_many_pages },
   { "gmr-desc-bad-id", g_bad_id },
};

static void
run_case(gconstpointer data)
{
   const bad_case *c = data;
   t_env t;
   t_setup(&t);
   t_fifo_init(&t);
   t_reg_write(&t, SVGA_REG_IRQMASK, SVGA_IRQFLAG_ERROR);
   t.fifo[SVGA_FIFO_FENCE] = 1;
   c->fn(&t);
   bool fifo_regs_broken = !strncmp(c->name, "fifo-", 5);
   if (!fifo_regs_broken) {
      T_PUSH(&t, SVGA_CMD_FENCE, 2);   /* must never run */
   }
   t.fifo[SVGA_FIFO_BUSY] = 1;
   t_reg_write(&t, SVGA_REG_SYNC, 1);
   svga_process(t.s);
   g_assert_true(t_error(&t));
   g_assert_cmpuint(t.fifo[SVGA_FIFO_FENCE], ==, 1);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BUSY), ==, 0);
   g_assert_cmphex(inl(t.p, T_IO + SVGA_IRQSTATUS_PORT) & SVGA_IRQFLAG_ERROR, !=, 0);
   g_assert_true(irq_level(&t.irq, 19));
   /* still in error, still alive */
   svga_process(t.s);
   g_assert_true(t_error(&t));
   t_shot s;
   t_shoot(&t, &s);
   t_shot_free(&s);
   /* the state can be saved and restored as it is */
   t_env u;
   t_setup(&u);
   assert_roundtrip(t.p, u.p);
   t_teardown(&u);
   /* the driver starts over */
   t_reg_write(&t, SVGA_REG_CONFIG_DONE, 0);
   t.fifo[SVGA_FIFO_MIN] = T_FIFO_MIN;
   t.fifo[SVGA_FIFO_MAX] = T_FIFO_MAX;
   t.fifo[SVGA_FIFO_NEXT_CMD] = T_FIFO_MIN;
   t.fifo[SVGA_FIFO_STOP] = T_FIFO_MIN;
   t_reg_write(&t, SVGA_REG_CONFIG_DONE, 1);
   g_assert_false(t_error(&t));
   T_PUSH(&t, SVGA_CMD_FENCE, 3);
   t_sync(&t);
   g_assert_false(t_error(&t));
   g_assert_cmpuint(t.fifo[SVGA_FIFO_FENCE], ==, 3);
   t_teardown(&t);
}

/* Incomplete commands wait; they are not errors. */
static void
test_truncated(void)
{
   t_env t;
   t_setup(&t);
   t_fifo_init(&t);
   static const uint32_t heads[][3] = {
      { SVGA_CMD_UPDATE, 0, 0 },
      { SVGA_CMD_DEFINE_SCREEN, SVGA_SCREEN_SIZE_V2, 0 },
      { SVGA_CMD_REMAP_GMR2, 1, 0 },
      { SVGA_CMD_ESCAPE, 0, 400 },
      { 1040, 1000, 0 },
      { SVGA_CMD_DEFINE_ALPHA_CURSOR, 0, 0 },
   };
   for (size_t i = 0; i < G_N_ELEMENTS(heads); i++) {
      uint32_t stop = t.fifo[SVGA_FIFO_STOP];
      t_fifo_push(&t, heads[i], 3);
      svga_process(t.s);
      g_assert_false(t_error(&t));
      g_assert_cmpuint(t.fifo[SVGA_FIFO_STOP], ==, stop);
      g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BUSY), ==, 1);
      /* start over past it */
      t.fifo[SVGA_FIFO_STOP] = t.fifo[SVGA_FIFO_NEXT_CMD];
   }
   /* the escape completes when its payload arrives */
   T_PUSH(&t, SVGA_CMD_ESCAPE, 0, 8, 1);
   svga_process(t.s);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BUSY), ==, 1);
   T_PUSH(&t, 2, SVGA_CMD_FENCE, 9);
   t_sync(&t);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_FENCE], ==, 9);
   g_assert_false(t_error(&t));
   t_teardown(&t);
}

/* Random words, many times: the device must survive whatever it makes of
 * them (an error, or commands that happen to be valid). */
static void
test_random_streams(void)
{
   GRand *rnd = g_rand_new_with_seed(1234);
   for (int round = 0; round < 200; round++) {
      t_env t;
      t_setup(&t);
      t_fifo_init(&t);
      t_legacy_mode(&t, 64, 64, 32);
      uint32_t words[64];
      size_t n = (size_t)g_rand_int_range(rnd, 1, 64);
      for (size_t i = 0; i < n; i++) {
         uint32_t r = g_rand_int(rnd);
         /* mostly small values so that commands are recognised */
         words[i] = (r & 3) == 0 ? r : (r & 3) == 1 ? (r >> 8) % 48 : (r >> 8) % 300;
      }
      t_fifo_push(&t, words, n);
      svga_process(t.s);
      svga_process(t.s);
      t_reg_read(&t, SVGA_REG_BUSY);
      t_env u;
      t_setup(&u);
      assert_roundtrip(t.p, u.p);
      t_teardown(&u);
      t_teardown(&t);
   }
   g_rand_free(rnd);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
      char *path = g_strdup_printf("/svga/malformed/%s", cases[i].name);
      g_test_add_data_func(path, &cases[i], run_case);
      g_free(path);
   }
   g_test_add_func("/svga/malformed/truncated", test_truncated);
   g_test_add_func("/svga/malformed/random-streams", test_random_streams);
   return g_test_run();
}
