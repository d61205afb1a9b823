/*
 * Tests of PNG screenshots: written, read back with libpng, compared pixel
 * by pixel; errors; atomic replacement.
 */
#include "mks/console/screenshot.h"

#include <dirent.h>
#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <png.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmpdir;

/* A frame with noise, gradients and flat areas; X bytes set to garbage
 * that must not reach the file. */
static uint32_t *
pattern(unsigned w, unsigned h, size_t stride_px, uint32_t seed)
{
   uint32_t *px = g_new(uint32_t, stride_px * h);
   uint32_t s = seed;
   for (unsigned y = 0; y < h; y++) {
      for (size_t x = 0; x < stride_px; x++) {
         s = s * 1664525u + 1013904223u;
         uint32_t v;
         if (x >= w) {
            px[y * stride_px + x] = 0xdeadbeef;   /* padding: never read */
            continue;
         }
         if (y < h / 3) {
            v = s >> 8;
         } else if (y < 2 * h / 3) {
            v = (uint32_t)((x * 255 / w) << 16 | (y * 255 / h) << 8 | ((x + y) & 0xff));
         } else {
            v = 0x336699;
         }
         px[y * stride_px + x] = (s & 0xff000000u) | (v & 0xffffffu);
      }
   }
   return px;
}

/* Read a PNG as 8-bit RGB with libpng's simplified API. */
static uint8_t *
read_png(const char *path, unsigned *w, unsigned *h)
{
   png_image img;
   memset(&img, 0, sizeof img);
   img.version = PNG_IMAGE_VERSION;
   if (!png_image_begin_read_from_file(&img, path)) {
      g_error("reading %s: %s", path, img.message);
   }
   /* The file itself is RGB, 8 bits, no alpha. */
   g_assert_cmpuint(img.format, ==, PNG_FORMAT_RGB);
   img.format = PNG_FORMAT_RGB;
   uint8_t *buf = g_malloc(PNG_IMAGE_SIZE(img));
   if (!png_image_finish_read(&img, NULL, buf, 0, NULL)) {
      g_error("decoding %s: %s", path, img.message);
   }
   *w = img.width;
   *h = img.height;
   return buf;
}

static void
check_same(const uint8_t *rgb, const uint32_t *px, unsigned w, unsigned h, size_t stride_px)
{
   for (unsigned y = 0; y < h; y++) {
      for (unsigned x = 0; x < w; x++) {
         uint32_t p = px[y * stride_px + x];
         const uint8_t *q = rgb + ((size_t)y * w + x) * 3;
         if (q[0] != ((p >> 16) & 0xff) || q[1] != ((p >> 8) & 0xff) || q[2] != (p & 0xff)) {
            g_error("pixel %u,%u: file %02x%02x%02x, frame %06x", x, y, q[0], q[1], q[2],
                    p & 0xffffff);
         }
      }
   }
}

static unsigned
count_entries(const char *dir)
{
   GDir *d = g_dir_open(dir, 0, NULL);
   unsigned n = 0;
   while (g_dir_read_name(d)) {
      n++;
   }
   g_dir_close(d);
   return n;
}

static void
test_roundtrip(void)
{
   static const struct {
      unsigned w, h, pad;
   } sizes[] = { { 1, 1, 0 }, { 640, 480, 0 }, { 1366, 768, 10 }, { 17, 300, 3 } };
   for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
      unsigned w = sizes[i].w, h = sizes[i].h;
      size_t stride_px = w + sizes[i].pad;
      uint32_t *px = pattern(w, h, stride_px, i + 1);
      char *path = g_build_filename(tmpdir, "shot.png", NULL);
      char *err = NULL;
      if (!mks_screenshot_png(path, px, w, h, stride_px * 4, &err)) {
         g_error("%s", err);
      }
      unsigned rw, rh;
      uint8_t *rgb = read_png(path, &rw, &rh);
      g_assert_cmpuint(rw, ==, w);
      g_assert_cmpuint(rh, ==, h);
      check_same(rgb, px, w, h, stride_px);
      g_free(rgb);
      g_free(px);
      g_free(path);
      /* Only the file: no temporary left behind. */
      g_assert_cmpuint(count_entries(tmpdir), ==, 1);
   }
}

static void
test_errors(void)
{
   uint32_t px[4] = { 0 };
   char *err = NULL;
   /* A folder that is a file. */
   char *file = g_build_filename(tmpdir, "plain", NULL);
   g_assert_true(g_file_set_contents(file, "x", 1, NULL));
   char *bad = g_build_filename(file, "shot.png", NULL);
   g_assert_false(mks_screenshot_png(bad, px, 2, 2, 8, &err));
   g_assert_nonnull(strstr(err, bad));
   g_assert_nonnull(strstr(err, g_strerror(ENOTDIR)));
   g_clear_pointer(&err, g_free);
   /* A missing folder. */
   char *missing = g_build_filename(tmpdir, "no", "such", "shot.png", NULL);
   g_assert_false(mks_screenshot_png(missing, px, 2, 2, 8, &err));
   g_assert_nonnull(strstr(err, g_strerror(ENOENT)));
   g_clear_pointer(&err, g_free);
   /* Arguments. */
   char *ok = g_build_filename(tmpdir, "args.png", NULL);
   g_assert_false(mks_screenshot_png(ok, px, 0, 2, 8, &err));
   g_assert_nonnull(strstr(err, "0x2"));
   g_clear_pointer(&err, g_free);
   g_assert_false(mks_screenshot_png(ok, px, 2, 2, 7, &err));
   g_assert_nonnull(strstr(err, "stride"));
   g_clear_pointer(&err, g_free);
   g_assert_false(mks_screenshot_png(ok, NULL, 2, 2, 8, &err));
   g_clear_pointer(&err, g_free);
   g_assert_false(mks_screenshot_png("", px, 2, 2, 8, &err));
   g_clear_pointer(&err, g_free);
   g_assert_false(mks_screenshot_png(ok, px, MKS_SCREENSHOT_MAX_DIM + 1, 1, 1u << 20, &err));
   g_clear_pointer(&err, g_free);
   g_assert_false(g_file_test(ok, G_FILE_TEST_EXISTS));
   /* The target is a folder: rename fails, the temporary goes away. */
   char *dir = g_build_filename(tmpdir, "adir", NULL);
   g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
   unsigned before = count_entries(tmpdir);
   g_assert_false(mks_screenshot_png(dir, px, 2, 2, 8, &err));
   g_assert_nonnull(strstr(err, dir));
   g_clear_pointer(&err, g_free);
   g_assert_cmpuint(count_entries(tmpdir), ==, before);
   g_rmdir(dir);
   g_unlink(file);
   g_free(dir);
   g_free(ok);
   g_free(missing);
   g_free(bad);
   g_free(file);
}

static void
test_replaces_atomically(void)
{
   char *path = g_build_filename(tmpdir, "replace.png", NULL);
   g_assert_true(g_file_set_contents(path, "old contents", -1, NULL));
   struct stat st0;
   g_assert_cmpint(stat(path, &st0), ==, 0);
   uint32_t *px = pattern(64, 48, 64, 7);
   char *err = NULL;
   g_assert_true(mks_screenshot_png(path, px, 64, 48, 256, &err));
   struct stat st1;
   g_assert_cmpint(stat(path, &st1), ==, 0);
   /* A new file was renamed over the old one (new inode), not rewritten in
    * place. */
   g_assert_cmpuint(st0.st_ino, !=, st1.st_ino);
   unsigned w, h;
   uint8_t *rgb = read_png(path, &w, &h);
   check_same(rgb, px, 64, 48, 64);
   g_free(rgb);
   g_free(px);
   g_unlink(path);
   g_free(path);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   tmpdir = g_dir_make_tmp("mks-shot-XXXXXX", NULL);
   g_assert_nonnull(tmpdir);
   g_test_add_func("/mks/screenshot/roundtrip", test_roundtrip);
   g_test_add_func("/mks/screenshot/errors", test_errors);
   g_test_add_func("/mks/screenshot/replaces-atomically", test_replaces_atomically);
   int rc = g_test_run();
   char *shot = g_build_filename(tmpdir, "shot.png", NULL);
   g_unlink(shot);
   g_free(shot);
   g_rmdir(tmpdir);
   g_free(tmpdir);
   return rc;
}
