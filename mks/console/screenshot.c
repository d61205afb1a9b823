/*
 * mks/console/screenshot.c - PNG screenshots with libpng, written
 * atomically. See screenshot.h.
 */
#include "mks/console/screenshot.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <png.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct png_ctx {
   FILE *f;
   int write_errno;      /* errno of the failed write, 0 if none */
   char msg[256];        /* libpng's message */
   const uint8_t *pixels;
   unsigned width, height;
   size_t stride;
   uint8_t *row;         /* width * 3 bytes */
} png_ctx;

static void
on_png_error(png_structp png, png_const_charp msg)
{
   png_ctx *c = png_get_error_ptr(png);
   g_strlcpy(c->msg, msg, sizeof c->msg);
   png_longjmp(png, 1);
}

static void
on_png_warning(png_structp png, png_const_charp msg)
{
}

static void
on_png_write(png_structp png, png_bytep data, size_t len)
{
   png_ctx *c = png_get_io_ptr(png);
   if (fwrite(data, 1, len, c->f) != len) {
      c->write_errno = errno ? errno : EIO;
      png_error(png, "write failed");
   }
}

static void
on_png_flush(png_structp png)
{
   png_ctx *c = png_get_io_ptr(png);
   if (fflush(c->f) != 0) {
      c->write_errno = errno ? errno : EIO;
      png_error(png, "write failed");
   }
}

/* Encode into c->f; false with c->msg / c->write_errno set. Nothing that
 * changes after setjmp() is read after the jump. */
static bool
encode(png_ctx *c)
{
   png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, on_png_error,
                                             on_png_warning);
   if (!png) {
      g_strlcpy(c->msg, "libpng could not allocate its write state", sizeof c->msg);
      return false;
   }
   png_infop info = png_create_info_struct(png);
   if (!info) {
      png_destroy_write_struct(&png, NULL);
      g_strlcpy(c->msg, "libpng could not allocate its info state", sizeof c->msg);
      return false;
   }
   if (setjmp(png_jmpbuf(png))) {
      png_destroy_write_struct(&png, &info);
      return false;
   }
   png_set_write_fn(png, c, on_png_write, on_png_flush);
   png_set_IHDR(png, info, c->width, c->height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
   png_write_info(png, info);
   for (unsigned y = 0; y < c->height; y++) {
      const uint8_t *src = c->pixels + (size_t)y * c->stride;
      for (unsigned x = 0; x < c->width; x++) {
         uint32_t px;
         memcpy(&px, src + (size_t)x * 4, 4);
         c->row[x * 3] = (uint8_t)(px >> 16);
         c->row[x * 3 + 1] = (uint8_t)(px >> 8);
         c->row[x * 3 + 2] = (uint8_t)px;
      }
      png_write_row(png, c->row);
   }
   png_write_end(png, info);
   png_destroy_write_struct(&png, &info);
   return true;
}

static bool
fsync_dir(const char *path)
{
   char *dir = g_path_get_dirname(path);
   int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
   g_free(dir);
   if (fd < 0) {
      return false;
   }
   int rc = fsync(fd);
   close(fd);
   return rc == 0;
}

static atomic_uint tmp_counter;

bool
mks_screenshot_png(const char *path, const void *pixels, unsigned width, unsigned height,
                   size_t stride, char **err)
{
   if (!path || !*path) {
      *err = g_strdup("screenshot: no file name given");
      return false;
   }
   if (!pixels || width == 0 || height == 0 || width > MKS_SCREENSHOT_MAX_DIM ||
       height > MKS_SCREENSHOT_MAX_DIM) {
      *err = g_strdup_printf("%s: cannot save a %ux%u screenshot (1 to %u pixels each way)",
                             path, width, height, MKS_SCREENSHOT_MAX_DIM);
      return false;
   }
   if (stride < (size_t)width * 4) {
      *err = g_strdup_printf("%s: row stride %zu is less than %u pixels of 4 bytes", path, stride,
                             width);
      return false;
   }

   char *tmp = NULL;
   int fd = -1;
   for (int tries = 0; fd < 0 && tries < 100; tries++) {
      g_free(tmp);
      tmp = g_strdup_printf("%s.tmp-%d-%u", path, (int)getpid(),
                            atomic_fetch_add(&tmp_counter, 1));
      fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd < 0 && errno != EEXIST) {
         break;
      }
   }
   if (fd < 0) {
      *err = g_strdup_printf("%s: cannot create the temporary file %s: %s", path, tmp,
                             g_strerror(errno));
      g_free(tmp);
      return false;
   }
   FILE *f = fdopen(fd, "wb");
   if (!f) {
      *err = g_strdup_printf("%s: %s", path, g_strerror(errno));
      close(fd);
      unlink(tmp);
      g_free(tmp);
      return false;
   }

   png_ctx c = { 0 };
   c.f = f;
   c.pixels = pixels;
   c.width = width;
   c.height = height;
   c.stride = stride;
   c.row = g_malloc((size_t)width * 3);
   bool ok = encode(&c);
   g_free(c.row);
   const char *what = NULL;
   int e = 0;
   if (!ok) {
      e = c.write_errno;
      what = c.write_errno ? "cannot write" : "PNG encoding failed";
   } else if (fflush(f) != 0 || ferror(f)) {
      e = errno ? errno : EIO;
      what = "cannot write";
   } else if (fsync(fileno(f)) != 0) {
      e = errno;
      what = "cannot sync to disk";
   }
   if (fclose(f) != 0 && !what) {
      e = errno;
      what = "cannot write";
   }
   if (!what && rename(tmp, path) != 0) {
      e = errno;
      what = "cannot replace the file";
   }
   if (what) {
      if (e) {
         *err = g_strdup_printf("%s: %s: %s", path, what, g_strerror(e));
      } else {
         *err = g_strdup_printf("%s: %s: %s", path, what, c.msg);
      }
      unlink(tmp);
      g_free(tmp);
      return false;
   }
   g_free(tmp);
   if (!fsync_dir(path)) {
      *err = g_strdup_printf("%s: written, but syncing its folder failed: %s", path,
                             g_strerror(errno));
      return false;
   }
   return true;
}
