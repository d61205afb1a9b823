/*
 * tests/bench/console/bench-console-probe.c - reads what a window really
 * shows on the X server, for the console benchmark (bench-console.py):
 * where the guest's picture is, which animation frames reach the screen,
 * and how long a key takes to change the picture.
 *
 *   bench-console-probe locate WINDOW anim|key GW GH
 *       Finds the guest's GW x GH picture inside the X window WINDOW (an
 *       id, decimal or 0x hex) shown 1:1, from what is on the screen:
 *       "anim": the animation's taskbar (its top-left corner and start
 *       button, bench-vnc-guest.c) with a readable frame stamp; "key": a
 *       GW x GH rectangle of one of the key-latency screens' colours
 *       (bench_vnc_key_colour(n)), other colours around it. Prints
 *       "origin=X,Y" (root coordinates of the picture's top-left pixel).
 *
 *   bench-console-probe fps X Y GW SECONDS [INTERVAL_US]
 *       Reads the frame stamp of the picture at root X,Y (one row of
 *       pixels through the middle of its cells) every INTERVAL_US
 *       microseconds (default 1000) for SECONDS and counts the distinct
 *       frames seen. A read whose cells are not all exactly the stamp's
 *       two colours is "unreadable" (a frame half drawn, or not the
 *       picture). Prints key=value lines.
 *
 *   bench-console-probe latency X Y GW GH SAMPLES GAP_MIN_MS GAP_MAX_MS
 *                       TIMEOUT_MS [KEYSYM]
 *       The key-latency screen at root X,Y: after a random idle gap sends
 *       one key press and release through XTEST (KEYSYM, default "a"),
 *       then reads five points of the picture (four corners and the
 *       middle) until all of them show the next colour of the guest's
 *       sequence; the time from the press to then is one sample. Prints
 *       "sample=MS" per sample and key=value lines. A press whose colour
 *       does not come within TIMEOUT_MS counts as lost (the colour is
 *       then resynchronised from the screen).
 *
 * Pixels are read with XGetImage from the root window, so they are what
 * the X server shows at that moment, whoever drew them. The X server's
 * own time to answer is part of every read; the reads are small (one row,
 * or single pixels) so that it stays well under a millisecond.
 *
 * Exit: 0, 1 (the picture was not found, or X failed), 2 (usage).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XTest.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../vnc/bench-vnc-pattern.h"

/* The animation's taskbar and start button (bench-vnc-guest.c, compose()). */
#define BAR_COLOUR 0x1f2a36u
#define START_COLOUR 0x3a78c2u
#define START_X 4u
#define START_Y 4u
#define START_W 56u
#define START_H 16u

static Display *dpy;
static Window root;
static int screen_w, screen_h;

static double now_ms(void)
{
   struct timespec t;

   clock_gettime(CLOCK_MONOTONIC, &t);
   return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void sleep_us(long us)
{
   struct timespec t = { us / 1000000, (us % 1000000) * 1000 };

   while (nanosleep(&t, &t) != 0 && errno == EINTR) {
   }
}

static int x_error(Display *d, XErrorEvent *e)
{
   char text[128];

   XGetErrorText(d, e->error_code, text, sizeof text);
   fprintf(stderr, "bench-console-probe: X error: %s (request %d)\n", text, e->request_code);
   return 0;
}

/* A w x h block of the screen at root x,y, or NULL when it is not all on
 * the screen. */
static XImage *grab(int x, int y, int w, int h)
{
   if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > screen_w || y + h > screen_h) {
      return NULL;
   }
   return XGetImage(dpy, root, x, y, (unsigned)w, (unsigned)h, AllPlanes, ZPixmap);
}

static uint32_t px(XImage *im, int x, int y)
{
   return (uint32_t)XGetPixel(im, x, y) & 0xffffffu;
}

/* Colours within tol in each channel. A viewer may show the picture with
 * lossy compression (gvncviewer asks for Tight with JPEG quality 5), so
 * flat areas come back only close to the guest's colours. */
static bool near(uint32_t a, uint32_t b, int tol)
{
   for (int s = 0; s < 24; s += 8) {
      int d = (int)(a >> s & 0xffu) - (int)(b >> s & 0xffu);

      if (d > tol || d < -tol) {
         return false;
      }
   }
   return true;
}

static int dist(uint32_t a, uint32_t b)
{
   int m = 0;

   for (int s = 0; s < 24; s += 8) {
      int d = abs((int)(a >> s & 0xffu) - (int)(b >> s & 0xffu));

      m = d > m ? d : m;
   }
   return m;
}

#define TOL_STAMP 48    /* the stamp's colours are 0xac apart in each channel */
#define TOL_FLAT 24
#define TOL_EDGE 4      /* "the same colour" across a picture's edge */

/* The stamp's frame number from a row through the middle of its cells
 * (row[0] is the stamp's first pixel); false when a cell is neither
 * colour. */
static bool decode_stamp(XImage *row, int y, uint32_t *frame)
{
   uint32_t v = 0;

   for (unsigned b = 0; b < BENCH_VNC_STAMP_BITS; b++) {
      uint32_t p = px(row, (int)(b * BENCH_VNC_STAMP_CELL + BENCH_VNC_STAMP_CELL / 2), y);

      if (near(p, BENCH_VNC_STAMP_ON, TOL_STAMP)) {
         v = v << 1 | 1u;
      } else if (near(p, BENCH_VNC_STAMP_OFF, TOL_STAMP)) {
         v <<= 1;
      } else {
         return false;
      }
   }
   *frame = v;
   return true;
}

static bool parse_window(const char *s, Window *w)
{
   char *end;
   unsigned long v;

   errno = 0;
   v = strtoul(s, &end, 0);
   if (errno || *end || v == 0) {
      return false;
   }
   *w = (Window)v;
   return true;
}

static bool parse_int(const char *s, long lo, long hi, long *out)
{
   char *end;
   long v;

   errno = 0;
   v = strtol(s, &end, 10);
   if (errno || *end || end == s || v < lo || v > hi) {
      return false;
   }
   *out = v;
   return true;
}

/* ---- locate */

static bool anim_at(XImage *im, int x, int y, int gw)
{
   int sx = x + (int)bench_vnc_stamp_x((uint32_t)gw), sy = y + (int)BENCH_VNC_STAMP_Y;

   /* the taskbar's corner and the start button's corners (2 pixels in:
    * lossy compression blurs edges) */
   if (!near(px(im, x, y), BAR_COLOUR, TOL_FLAT) ||
       !near(px(im, x + 1, y + 1), BAR_COLOUR, TOL_FLAT) ||
       !near(px(im, x + START_X - 2, y + START_Y + 2), BAR_COLOUR, TOL_FLAT) ||
       !near(px(im, x + START_X + 2, y + START_Y - 2), BAR_COLOUR, TOL_FLAT) ||
       !near(px(im, x + START_X + 2, y + START_Y + 2), START_COLOUR, TOL_FLAT) ||
       !near(px(im, x + START_X + START_W - 3, y + START_Y + START_H - 3), START_COLOUR,
             TOL_FLAT) ||
       !near(px(im, x + START_X + START_W + 2, y + START_Y + START_H - 3), BAR_COLOUR,
             TOL_FLAT)) {
      return false;
   }
   /* the picture's own left and top edges: no taskbar beyond them */
   if ((x > 0 && near(px(im, x - 1, y + 2), BAR_COLOUR, TOL_FLAT)) ||
       (y > 0 && near(px(im, x + 2, y - 1), BAR_COLOUR, TOL_FLAT))) {
      return false;
   }
   if (sx + (int)(BENCH_VNC_STAMP_BITS * BENCH_VNC_STAMP_CELL) > im->width ||
       sy + (int)BENCH_VNC_STAMP_CELL > im->height) {
      return false;
   }
   /* a readable stamp (every cell's middle is one of its two colours) */
   for (unsigned b = 0; b < BENCH_VNC_STAMP_BITS; b++) {
      uint32_t p = px(im, sx + (int)(b * BENCH_VNC_STAMP_CELL + BENCH_VNC_STAMP_CELL / 2),
                      sy + (int)BENCH_VNC_STAMP_CELL / 2);

      if (!near(p, BENCH_VNC_STAMP_ON, TOL_STAMP) && !near(p, BENCH_VNC_STAMP_OFF, TOL_STAMP)) {
         return false;
      }
   }
   return true;
}

/* Forward: the screen of the key-latency sequence that shows colour c. */
static long find_screen(uint32_t c, long n);

static bool key_at(XImage *im, int x, int y, int gw, int gh)
{
   uint32_t c = px(im, x, y);

   if (x + gw > im->width || y + gh > im->height) {
      return false;
   }
   /* the rectangle's edges: other colours just outside it (screen 0 is
    * 0x101010, next to a black border) */
   if ((x > 0 && near(px(im, x - 1, y + 2), c, TOL_EDGE)) ||
       (y > 0 && near(px(im, x + 2, y - 1), c, TOL_EDGE)) ||
       (x + gw < im->width && near(px(im, x + gw, y + 2), c, TOL_EDGE)) ||
       (y + gh < im->height && near(px(im, x + 2, y + gh), c, TOL_EDGE))) {
      return false;
   }
   /* the corners, the middle and a few points on the diagonal */
   for (int k = 0; k <= 8; k++) {
      if (!near(px(im, x + (gw - 1) * k / 8, y + (gh - 1) * k / 8), c, TOL_FLAT)) {
         return false;
      }
   }
   return near(px(im, x + gw - 1, y), c, TOL_FLAT) && near(px(im, x, y + gh - 1), c, TOL_FLAT) &&
          find_screen(c, 0) >= 0;
}

static int cmd_locate(int argc, char **argv)
{
   Window win, child;
   XWindowAttributes wa;
   long gw, gh;
   int rx, ry, x0, y0, x1, y1;
   XImage *im;
   bool anim;

   if (argc != 6 || !parse_window(argv[2], &win) || !parse_int(argv[4], 64, 8192, &gw) ||
       !parse_int(argv[5], 64, 8192, &gh) ||
       (strcmp(argv[3], "anim") != 0 && strcmp(argv[3], "key") != 0)) {
      fprintf(stderr, "usage: %s locate WINDOW anim|key GW GH\n", argv[0]);
      return 2;
   }
   anim = argv[3][0] == 'a';
   if (!XGetWindowAttributes(dpy, win, &wa)) {
      fprintf(stderr, "locate: no window 0x%lx\n", (unsigned long)win);
      return 1;
   }
   XTranslateCoordinates(dpy, win, root, 0, 0, &rx, &ry, &child);
   /* the window's part of the screen */
   x0 = rx < 0 ? 0 : rx;
   y0 = ry < 0 ? 0 : ry;
   x1 = rx + wa.width > screen_w ? screen_w : rx + wa.width;
   y1 = ry + wa.height > screen_h ? screen_h : ry + wa.height;
   if (x1 - x0 < gw || y1 - y0 < gh) {
      fprintf(stderr, "locate: window 0x%lx shows %dx%d of the screen, less than the guest's "
              "%ldx%ld\n", (unsigned long)win, x1 - x0, y1 - y0, gw, gh);
      return 1;
   }
   im = grab(x0, y0, x1 - x0, y1 - y0);
   if (!im) {
      fprintf(stderr, "locate: XGetImage failed\n");
      return 1;
   }
   for (int y = 0; y + (anim ? (int)BENCH_VNC_BAR_H : (int)gh) <= im->height; y++) {
      for (int x = 0; x + (int)gw <= im->width; x++) {
         if (anim ? anim_at(im, x, y, (int)gw)
                  : key_at(im, x, y, (int)gw, (int)gh)) {
            printf("origin=%d,%d\n", x0 + x, y0 + y);
            XDestroyImage(im);
            return 0;
         }
      }
   }
   XDestroyImage(im);
   fprintf(stderr, "locate: no %s picture of %ldx%ld in window 0x%lx\n", argv[3], gw, gh,
           (unsigned long)win);
   return 1;
}

/* ---- fps */

static int cmd_fps(int argc, char **argv)
{
   long x, y, gw, secs, interval = 1000;
   uint64_t samples = 0, unreadable = 0, distinct = 0, backwards = 0, changes = 0;
   uint32_t last = 0, first = 0, frame;
   bool have = false;
   double t0, end, t_first = 0, t_last = 0, t_prev_change = 0, max_gap = 0;
   int sx, sy;

   if ((argc != 6 && argc != 7) || !parse_int(argv[2], 0, 65535, &x) ||
       !parse_int(argv[3], 0, 65535, &y) || !parse_int(argv[4], 64, 8192, &gw) ||
       !parse_int(argv[5], 1, 3600, &secs) ||
       (argc == 7 && !parse_int(argv[6], 0, 1000000, &interval))) {
      fprintf(stderr, "usage: %s fps X Y GW SECONDS [INTERVAL_US]\n", argv[0]);
      return 2;
   }
   sx = (int)x + (int)bench_vnc_stamp_x((uint32_t)gw);
   sy = (int)y + (int)(BENCH_VNC_STAMP_Y + BENCH_VNC_STAMP_CELL / 2);
   t0 = now_ms();
   end = t0 + secs * 1e3;
   for (double t = t0; t < end; t = now_ms()) {
      XImage *row = grab(sx, sy, (int)(BENCH_VNC_STAMP_BITS * BENCH_VNC_STAMP_CELL), 1);

      if (!row) {
         fprintf(stderr, "fps: cannot read the stamp at %d,%d\n", sx, sy);
         return 1;
      }
      samples++;
      if (!decode_stamp(row, 0, &frame)) {
         unreadable++;
      } else if (!have) {
         have = true;
         first = last = frame;
         t_first = t_last = t_prev_change = t;
         distinct = 1;
      } else if (frame != last) {
         changes++;
         if (frame > last) {
            distinct++;
            if (t - t_prev_change > max_gap) {
               max_gap = t - t_prev_change;
            }
            t_prev_change = t;
            t_last = t;
         } else {
            backwards++;
         }
         last = frame;
      }
      XDestroyImage(row);
      if (interval) {
         sleep_us(interval);
      }
   }
   end = now_ms();
   printf("seconds=%.3f\n", (end - t0) / 1e3);
   printf("samples=%llu\n", (unsigned long long)samples);
   printf("samples_per_s=%.1f\n", samples / ((end - t0) / 1e3));
   printf("unreadable=%llu\n", (unsigned long long)unreadable);
   printf("frames_seen=%llu\n", (unsigned long long)distinct);
   printf("frames_seen_per_s=%.2f\n", distinct / ((end - t0) / 1e3));
   printf("backwards=%llu\n", (unsigned long long)backwards);
   printf("first_frame=%u\nlast_frame=%u\n", first, last);
   /* the guest's frames that went by, as the window showed them */
   if (have && t_last > t_first) {
      printf("guest_frames_per_s=%.2f\n", (last - first) / ((t_last - t_first) / 1e3));
   }
   printf("max_gap_ms=%.1f\n", max_gap);
   return have ? 0 : 1;
}

/* ---- latency */

static int cmp_double(const void *a, const void *b)
{
   double x = *(const double *)a, y = *(const double *)b;

   return x < y ? -1 : x > y;
}

static double pct(const double *v, int n, double p)
{
   int i = (int)(p * (n - 1) + 0.5);

   return n ? v[i < 0 ? 0 : i >= n ? n - 1 : i] : 0;
}

/* The colour at the five points, or false when they differ. */
static bool read_points(const int (*pt)[2], uint32_t *c)
{
   uint32_t v[5];

   for (int i = 0; i < 5; i++) {
      XImage *im = grab(pt[i][0], pt[i][1], 1, 1);

      if (!im) {
         return false;
      }
      v[i] = px(im, 0, 0);
      XDestroyImage(im);
   }
   for (int i = 1; i < 5; i++) {
      if (!near(v[i], v[0], TOL_FLAT)) {
         return false;
      }
   }
   *c = v[2];
   return true;
}

/* Which screen of the sequence shows colour c (the nearest to n of those
 * whose colour is close), or -1. */
static long find_screen(uint32_t c, long n)
{
   for (long d = 0; d < 100000; d++) {
      if (n + d >= 0 && near(bench_vnc_key_colour((uint32_t)(n + d)), c, TOL_FLAT)) {
         return n + d;
      }
      if (d && n - d >= 0 && near(bench_vnc_key_colour((uint32_t)(n - d)), c, TOL_FLAT)) {
         return n - d;
      }
   }
   return -1;
}

/* Colour c is screen n's rather than screen n - 1's. */
static bool shows(uint32_t c, long n)
{
   uint32_t want = bench_vnc_key_colour((uint32_t)n);

   return near(c, want, TOL_FLAT) &&
          (n == 0 || dist(c, want) < dist(c, bench_vnc_key_colour((uint32_t)(n - 1))));
}

static int cmd_latency(int argc, char **argv)
{
   long x, y, gw, gh, samples, gmin, gmax, timeout;
   const char *keyname = argc >= 11 ? argv[10] : "a";
   KeyCode kc;
   int pt[5][2], ev, er, maj, min, lost = 0, got = 0;
   double *ms;
   uint32_t c;
   long n;

   if ((argc != 10 && argc != 11) || !parse_int(argv[2], 0, 65535, &x) ||
       !parse_int(argv[3], 0, 65535, &y) || !parse_int(argv[4], 64, 8192, &gw) ||
       !parse_int(argv[5], 64, 8192, &gh) || !parse_int(argv[6], 1, 100000, &samples) ||
       !parse_int(argv[7], 0, 60000, &gmin) || !parse_int(argv[8], gmin, 60000, &gmax) ||
       !parse_int(argv[9], 1, 600000, &timeout)) {
      fprintf(stderr, "usage: %s latency X Y GW GH SAMPLES GAP_MIN_MS GAP_MAX_MS TIMEOUT_MS "
              "[KEYSYM]\n", argv[0]);
      return 2;
   }
   if (!XTestQueryExtension(dpy, &ev, &er, &maj, &min)) {
      fprintf(stderr, "latency: the X server has no XTEST extension\n");
      return 1;
   }
   kc = XKeysymToKeycode(dpy, XStringToKeysym(keyname));
   if (!kc) {
      fprintf(stderr, "latency: no key for keysym %s\n", keyname);
      return 1;
   }
   pt[0][0] = (int)x + 2;          pt[0][1] = (int)y + 2;
   pt[1][0] = (int)(x + gw) - 3;   pt[1][1] = (int)y + 2;
   pt[2][0] = (int)(x + gw / 2);   pt[2][1] = (int)(y + gh / 2);
   pt[3][0] = (int)x + 2;          pt[3][1] = (int)(y + gh) - 3;
   pt[4][0] = (int)(x + gw) - 3;   pt[4][1] = (int)(y + gh) - 3;
   if (!read_points((const int (*)[2])pt, &c) || (n = find_screen(c, 0)) < 0) {
      fprintf(stderr, "latency: the picture at %ld,%ld is not a key-latency screen\n", x, y);
      return 1;
   }
   ms = calloc((size_t)samples, sizeof *ms);
   srand(12345);
   for (long i = 0; i < samples; i++) {
      uint32_t now_c = 0;
      long gap = gmin + (gmax > gmin ? rand() % (gmax - gmin + 1) : 0);
      double t0, deadline, t;
      bool seen = false;

      sleep_us(gap * 1000);
      t0 = now_ms();
      XTestFakeKeyEvent(dpy, kc, True, CurrentTime);
      XTestFakeKeyEvent(dpy, kc, False, CurrentTime);
      XFlush(dpy);
      deadline = t0 + (double)timeout;
      for (t = t0; t < deadline; t = now_ms()) {
         if (read_points((const int (*)[2])pt, &now_c) && shows(now_c, n + 1)) {
            seen = true;
            break;
         }
         sleep_us(200);
      }
      if (seen) {
         ms[got++] = t - t0;
         printf("sample=%.3f\n", t - t0);
         n++;
      } else {
         long m;

         lost++;
         printf("lost=%ld\n", i);
         /* the screen moved on some other way (or not at all): take its
          * colour as the start of the next sample */
         if (read_points((const int (*)[2])pt, &now_c) && (m = find_screen(now_c, n)) >= 0) {
            n = m;
         }
      }
      fflush(stdout);
   }
   qsort(ms, (size_t)got, sizeof *ms, cmp_double);
   printf("samples=%d\nlost=%d\n", got, lost);
   if (got) {
      printf("latency_ms_p50=%.3f\nlatency_ms_p90=%.3f\nlatency_ms_min=%.3f\n"
             "latency_ms_max=%.3f\n", pct(ms, got, 0.5), pct(ms, got, 0.9), ms[0], ms[got - 1]);
   }
   free(ms);
   return got ? 0 : 1;
}

int main(int argc, char **argv)
{
   if (argc < 2) {
      fprintf(stderr, "usage: %s locate|fps|latency ...\n", argv[0]);
      return 2;
   }
   dpy = XOpenDisplay(NULL);
   if (!dpy) {
      fprintf(stderr, "bench-console-probe: cannot open the display %s\n",
              getenv("DISPLAY") ? getenv("DISPLAY") : "(DISPLAY is not set)");
      return 1;
   }
   XSetErrorHandler(x_error);
   root = DefaultRootWindow(dpy);
   screen_w = DisplayWidth(dpy, DefaultScreen(dpy));
   screen_h = DisplayHeight(dpy, DefaultScreen(dpy));
   if (DefaultDepth(dpy, DefaultScreen(dpy)) != 24) {
      fprintf(stderr, "bench-console-probe: the screen's depth is %d, not 24\n",
              DefaultDepth(dpy, DefaultScreen(dpy)));
      return 1;
   }
   if (!strcmp(argv[1], "locate")) {
      return cmd_locate(argc, argv);
   }
   if (!strcmp(argv[1], "fps")) {
      return cmd_fps(argc, argv);
   }
   if (!strcmp(argv[1], "latency")) {
      return cmd_latency(argc, argv);
   }
   fprintf(stderr, "usage: %s locate|fps|latency ...\n", argv[0]);
   return 2;
}
