/*
 * Shadow framebuffer tests: the damage accumulator, several clients with
 * their own damage, notification, resizing and the cursor.
 */
#include "mks/svga/fb.h"

#include <glib.h>
#include <string.h>

static bool
covers(const svga_damage_acc *a, int32_t x, int32_t y)
{
   for (unsigned i = 0; i < a->n; i++) {
      const svga_rect *r = &a->r[i];
      if (x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h) {
         return true;
      }
   }
   return false;
}

static void
test_accumulator(void)
{
   svga_damage_acc a = { 0 };
   svga_damage_acc_add(&a, 0, 0, 10, 10);
   svga_damage_acc_add(&a, 2, 2, 3, 3);       /* contained */
   g_assert_cmpuint(a.n, ==, 1);
   svga_damage_acc_add(&a, 10, 0, 10, 10);    /* adjacent: merged */
   g_assert_cmpuint(a.n, ==, 1);
   g_assert_cmpint(a.r[0].w, ==, 20);
   svga_damage_acc_add(&a, 500, 500, 10, 10); /* far: separate */
   g_assert_cmpuint(a.n, ==, 2);
   svga_damage_acc_add(&a, 0, 0, 0, 5);       /* empty: ignored */
   g_assert_cmpuint(a.n, ==, 2);
   svga_damage_acc_add(&a, -5, -5, 1000, 1000); /* swallows everything */
   g_assert_cmpuint(a.n, ==, 1);
   /* a full list folds, and everything stays covered */
   memset(&a, 0, sizeof a);
   for (int i = 0; i < 200; i++) {
      svga_damage_acc_add(&a, (i * 131) % 2000, (i * 71) % 1500, 2, 2);
      g_assert_cmpuint(a.n, <=, SVGA_FB_MAX_RECTS);
   }
   for (int i = 0; i < 200; i++) {
      g_assert_true(covers(&a, (i * 131) % 2000, (i * 71) % 1500));
      g_assert_true(covers(&a, (i * 131) % 2000 + 1, (i * 71) % 1500 + 1));
   }
}

static unsigned notified[2];

static void
notify(void *opaque)
{
   notified[GPOINTER_TO_UINT(opaque)]++;
}

static void
test_clients(void)
{
   svga_fb *fb = svga_fb_new();
   svga_fb_client *a = svga_fb_client_new(fb, notify, GUINT_TO_POINTER(0));
   svga_fb_client *b = svga_fb_client_new(fb, notify, GUINT_TO_POINTER(1));
   notified[0] = notified[1] = 0;
   svga_fb_lock(fb);
   g_assert_false(svga_fb_resize_locked(fb, 0, 10));
   g_assert_false(svga_fb_resize_locked(fb, SVGA_FB_MAX_DIM + 1, 10));
   g_assert_true(svga_fb_resize_locked(fb, 64, 32));
   uint32_t w, h, stride;
   uint32_t *px = svga_fb_pixels_locked(fb, &w, &h, &stride);
   g_assert_cmpuint(w, ==, 64);
   g_assert_cmpuint(h, ==, 32);
   px[5 * stride + 6] = 0x123456;
   svga_fb_unlock(fb);
   svga_fb_notify(fb);
   svga_fb_notify(fb);   /* once until the next begin */
   g_assert_cmpuint(notified[0], ==, 1);
   g_assert_cmpuint(notified[1], ==, 1);

   svga_fb_image img;
   svga_fb_damage d;
   svga_fb_begin(a, &img, &d);
   g_assert_true(d.full);
   g_assert_cmpuint(d.nrects, ==, 1);
   g_assert_cmpint(d.rects[0].w, ==, 64);
   g_assert_cmpuint(img.width, ==, 64);
   g_assert_cmphex(img.pixels[5 * img.stride + 6], ==, 0x123456);
   uint64_t gen = img.generation;
   svga_fb_end(a);

   svga_fb_lock(fb);
   svga_fb_add_damage_locked(fb, 60, 30, 10, 10);   /* clipped */
   svga_fb_add_damage_locked(fb, 100, 100, 5, 5);   /* outside */
   svga_fb_unlock(fb);
   svga_fb_notify(fb);
   g_assert_cmpuint(notified[0], ==, 2);
   g_assert_cmpuint(notified[1], ==, 1);   /* b has not read yet */
   svga_fb_begin(a, &img, &d);
   g_assert_false(d.full);
   g_assert_cmpuint(d.nrects, ==, 1);
   g_assert_cmpint(d.rects[0].x, ==, 60);
   g_assert_cmpint(d.rects[0].y, ==, 30);
   g_assert_cmpint(d.rects[0].w, ==, 4);
   g_assert_cmpint(d.rects[0].h, ==, 2);
   g_assert_cmpuint(img.generation, ==, gen);
   svga_fb_end(a);
   /* b still sees everything */
   svga_fb_begin(b, &img, &d);
   g_assert_true(d.full);
   svga_fb_end(b);
   /* a resize is full damage and a new generation for everyone */
   svga_fb_lock(fb);
   g_assert_true(svga_fb_resize_locked(fb, 16, 16));
   svga_fb_unlock(fb);
   svga_fb_begin(b, &img, &d);
   g_assert_true(d.full);
   g_assert_cmpuint(img.generation, >, gen);
   g_assert_cmphex(img.pixels[0], ==, 0);
   svga_fb_end(b);
   g_assert_cmpuint(svga_fb_generation(fb), ==, img.generation);
   svga_fb_client_free(a);
   svga_fb_client_free(b);
   svga_fb_free(fb);
}

static void
test_cursor(void)
{
   svga_fb *fb = svga_fb_new();
   svga_fb_client *c = svga_fb_client_new(fb, NULL, NULL);
   svga_fb_image img;
   svga_fb_damage d;
   svga_fb_begin(c, &img, &d);
   svga_fb_end(c);
   svga_fb_cursor cur;
   svga_fb_cursor_get(fb, &cur);
   g_assert_cmpuint(cur.width, ==, 0);
   g_assert_null(cur.argb);
   uint32_t argb[6] = { 1, 2, 3, 4, 5, 6 };
   svga_fb_set_cursor_shape(fb, 3, 2, 1, 1, argb);
   svga_fb_set_cursor_pos(fb, 10, 20, true);
   svga_fb_begin(c, &img, &d);
   svga_fb_end(c);
   g_assert_true(d.cursor_shape);
   g_assert_true(d.cursor_moved);
   g_assert_false(d.full);
   g_assert_cmpuint(d.nrects, ==, 0);
   svga_fb_cursor_get(fb, &cur);
   g_assert_cmpuint(cur.width, ==, 3);
   g_assert_cmpuint(cur.height, ==, 2);
   g_assert_cmpmem(cur.argb, sizeof argb, argb, sizeof argb);
   g_assert_true(cur.visible);
   g_assert_cmpint(cur.x, ==, 10);
   svga_fb_cursor_clear(&cur);
   /* the same position again is no news */
   svga_fb_set_cursor_pos(fb, 10, 20, true);
   svga_fb_begin(c, &img, &d);
   svga_fb_end(c);
   g_assert_false(d.cursor_moved);
   /* too large: no cursor */
   svga_fb_set_cursor_shape(fb, SVGA_FB_CURSOR_MAX + 1, 1, 0, 0, argb);
   svga_fb_cursor_get(fb, &cur);
   g_assert_cmpuint(cur.width, ==, 0);
   svga_fb_cursor_clear(&cur);
   svga_fb_client_free(c);
   svga_fb_free(fb);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/svga/fb/accumulator", test_accumulator);
   g_test_add_func("/svga/fb/clients", test_clients);
   g_test_add_func("/svga/fb/cursor", test_cursor);
   return g_test_run();
}
