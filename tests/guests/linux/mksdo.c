/*
 * tests/guests/linux/mksdo.c - drive a VM's local console (the UI's path
 * to the screen, cui/mksclient.h) from the command line: type, press keys
 * by evdev code, move the pointer, save the shared surface.
 *
 * usage: mksdo SOCKET [-d MS] ACTION...
 *   type:TEXT        type printable ASCII TEXT as keysyms
 *   keycode:N        press and release Linux evdev key N (KEY_ENTER = 28)
 *   move:X,Y         pointer to (X, Y), no buttons
 *   sleep:MS         wait, handling server messages
 *   capture:FILE     wait until the server has no frame outstanding for
 *                    300 ms, then write the surface as a binary PPM (P6)
 * -d MS waits between key events (default 15).
 * Exit 0 when every action was done; 1 with a message otherwise.
 */
#include "cui/mksclient.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double last_frame_ms;

static void
die(const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   fputs("mksdo: ", stderr);
   vfprintf(stderr, fmt, ap);
   fputc('\n', stderr);
   va_end(ap);
   exit(1);
}

static double
now_ms(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
on_frame(void *opaque)
{
   mksclient *c = opaque;
   last_frame_ms = now_ms();
   mksclient_ack(c);
}

static void
on_mode(void *opaque, unsigned w, unsigned h)
{
   on_frame(opaque);
}

static void
on_damage(void *opaque, const mksclient_rect *r, unsigned n)
{
   on_frame(opaque);
}

static void
pump(mksclient *c, double ms)
{
   double end = now_ms() + ms;
   for (;;) {
      double left = end - now_ms();
      struct pollfd p = { .fd = mksclient_fd(c),
                          .events = POLLIN | (mksclient_want_write(c) ? POLLOUT : 0) };
      int n = poll(&p, 1, left > 0 ? (int)left + 1 : 0);
      if (n < 0 && errno != EINTR) {
         die("poll: %s", strerror(errno));
      }
      if (n > 0 && !mksclient_dispatch(c)) {
         die("the console connection ended: %s", mksclient_error(c));
      }
      if (left <= 0) {
         return;
      }
   }
}

static void
key(mksclient *c, uint32_t keysym, uint32_t keycode, int delay)
{
   if (!mksclient_send_key(c, keysym, keycode, true) ||
       !mksclient_send_key(c, keysym, keycode, false)) {
      die("cannot send a key: %s", mksclient_error(c) ? mksclient_error(c) : "refused");
   }
   pump(c, delay);
}

static void
capture(mksclient *c, const char *path)
{
   double end = now_ms() + 10000;
   while (now_ms() - last_frame_ms < 300) {
      if (now_ms() > end) {
         die("the screen kept changing for 10 s");
      }
      pump(c, 50);
   }
   const uint32_t *px;
   unsigned w, h;
   size_t stride;
   if (!mksclient_surface(c, &px, &w, &h, &stride)) {
      die("no surface");
   }
   char tmp[4096];
   snprintf(tmp, sizeof tmp, "%s.tmp", path);
   FILE *o = fopen(tmp, "wb");
   if (!o) {
      die("%s: %s", tmp, strerror(errno));
   }
   fprintf(o, "P6\n%u %u\n255\n", w, h);
   for (unsigned y = 0; y < h; y++) {
      const uint32_t *row = (const uint32_t *)((const char *)px + y * stride);
      for (unsigned x = 0; x < w; x++) {
         unsigned char rgb[3] = { (unsigned char)(row[x] >> 16), (unsigned char)(row[x] >> 8),
                                  (unsigned char)row[x] };
         fwrite(rgb, 1, 3, o);
      }
   }
   if (fclose(o) != 0 || rename(tmp, path) != 0) {
      die("%s: %s", path, strerror(errno));
   }
}

int
main(int argc, char **argv)
{
   if (argc < 3) {
      fprintf(stderr, "usage: mksdo SOCKET [-d MS] ACTION...\n");
      return 2;
   }
   int i = 2, delay = 15;
   if (i + 1 < argc && !strcmp(argv[i], "-d")) {
      delay = atoi(argv[i + 1]);
      i += 2;
   }
   char *err = NULL;
   mksclient *c = mksclient_connect(argv[1], &err);
   if (!c) {
      die("%s: %s", argv[1], err);
   }
   mksclient_callbacks cb = { .mode = on_mode, .damage = on_damage, .opaque = c };
   mksclient_set_callbacks(c, &cb);
   on_frame(c);   /* the HELLO's frame */
   for (; i < argc; i++) {
      const char *a = argv[i];
      int x, y;
      if (!strncmp(a, "type:", 5)) {
         for (const char *p = a + 5; *p; p++) {
            if (*p < 0x20 || *p > 0x7e) {
               die("type: only printable ASCII");
            }
            key(c, (unsigned char)*p, 0, delay);
         }
      } else if (!strncmp(a, "keycode:", 8)) {
         char *end;
         unsigned long k = strtoul(a + 8, &end, 0);
         if (*end || k == 0 || k > 0x2ff) {
            die("bad key code '%s'", a + 8);
         }
         key(c, 0, (uint32_t)k, delay);
      } else if (!strncmp(a, "move:", 5)) {
         if (sscanf(a + 5, "%d,%d", &x, &y) != 2) {
            die("bad coordinates '%s'", a + 5);
         }
         if (!mksclient_send_pointer(c, x, y, 0, 0, 0)) {
            die("cannot send a pointer event");
         }
         pump(c, delay);
      } else if (!strncmp(a, "sleep:", 6)) {
         pump(c, atof(a + 6));
      } else if (!strncmp(a, "capture:", 8)) {
         capture(c, a + 8);
      } else {
         die("unknown action '%s'", a);
      }
   }
   pump(c, 50);   /* let the last input go out */
   mksclient_free(c);
   return 0;
}
