/*
 * tests/bench/vnc/bench-vnc.c - the VNC benchmark's client: one
 * libvncclient viewer that measures a VNC server showing the benchmark
 * guest (bench-vnc-guest.c), the same way for every server.
 *
 * usage: bench-vnc fps HOST:PORT [options]
 *        bench-vnc latency HOST:PORT [options]
 *   --encoding ENC        the only encoding offered (tight, zrle, raw,
 *                         hextile, zlib, ...); default tight. Tight is
 *                         lossless: no JPEG quality level is sent.
 *   --compress N          compression level pseudo-encoding (0-9; default
 *                         libvncclient's 3); sent with Tight and Zlib only
 *   --width W --height H  the desktop size to wait for (default 1024x768):
 *                         a server still showing another size is left and
 *                         connected to again until --connect-timeout
 *   --connect-timeout S   default 60
 *   fps:
 *   --warmup S            seconds of updates before measuring (default 1)
 *   --seconds S           seconds to measure (default 10)
 *   latency:
 *   --samples N           key presses (default 100)
 *   --gap-min MS, --gap-max MS
 *                         idle time before each key press, drawn uniformly
 *                         from this range with a fixed seed (default 40-120)
 *   --trace 1             print "trace key=N sent=S first=S done=S tsc=T" per
 *                         key: CLOCK_MONOTONIC seconds, and the host TSC
 *                         when the key was sent, to line up with the
 *                         guest's bench.trace=1 TSC lines (on a monitor
 *                         whose guests read the host TSC)
 *
 * fps: the client asks for incremental updates as every viewer does (one
 * outstanding request, the next one sent as soon as an update ends) and
 * measures from the end of one update to the end of another, so the window
 * holds whole updates only. Bytes are the payload TCP delivered to the
 * socket (TCP_INFO tcpi_bytes_received) minus what is still queued in the
 * kernel (FIONREAD) and in libvncclient's read buffer, taken at the end of
 * each update: the exact bytes of each update message, headers included.
 * The guest's frame number is read from the stamp in each update's picture
 * (bench-vnc-pattern.h).
 *
 * latency: after the whole screen shows key colour n-1, the client sends
 * the key 'a' (down and up) and timestamps it just before writing; the
 * sample ends when an update has been decoded after which every pixel of
 * the screen is key colour n. It also notes when the first byte of the
 * answer arrived (the socket becoming readable).
 *
 * Output: key=value lines on stdout; diagnostics on stderr. Exit status 0
 * when measured, 1 on failure, 2 for bad usage.
 */
#include "bench-vnc-pattern.h"

#include <errno.h>
#include <linux/tcp.h>
#include <poll.h>
#include <rfb/rfbclient.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#define MAX_SAMPLES 100000u
#define MAX_UPDATES (1u << 20)
#define KEY_SYM 0x61u   /* 'a' */

typedef struct update_rec {
   uint64_t bytes;
   uint64_t pixels;
   uint32_t rects;
   uint32_t stamp;
   bool stamp_ok;
   double t;
} update_rec;

static struct {
   const char *encoding;
   int compress;
   unsigned width, height;
   double connect_timeout, warmup, seconds;
   unsigned samples, gap_min, gap_max;
   bool trace;
} opt = {
   .encoding = "tight", .compress = -1, .width = BENCH_VNC_DEF_W, .height = BENCH_VNC_DEF_H,
   .connect_timeout = 60, .warmup = 1, .seconds = 10, .samples = 100, .gap_min = 40,
   .gap_max = 120,
};

/* What the callbacks gather (one viewer per process). */
static struct {
   uint64_t pixels;        /* of the update being received */
   uint32_t rects;
   bool finished;          /* an update ended since the flag was cleared */
   uint64_t consumed;      /* bytes consumed at the end of the last update */
   bool bytes_ok;
   bool overflow;
   unsigned updates;
   update_rec *rec;        /* every update since connecting */
   size_t nrec, cap;
} g;

/* The host's TSC (0 where there is none), for --trace. */
static uint64_t host_tsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
   return __rdtsc();
#else
   return 0;
#endif
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
   va_list ap;

   va_start(ap, fmt);
   fputs("bench-vnc: ", stderr);
   vfprintf(stderr, fmt, ap);
   fputc('\n', stderr);
   va_end(ap);
}

static double now(void)
{
   struct timespec ts;

   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void quiet_log(const char *fmt, ...)
{
   (void)fmt;
}

static void err_log(const char *fmt, ...)
{
   va_list ap;

   va_start(ap, fmt);
   fputs("libvncclient: ", stderr);
   vfprintf(stderr, fmt, ap);
   va_end(ap);
}

static bool parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
   char *end;
   unsigned long v;

   if (!s || !*s || *s == '-' || *s == '+') {
      return false;
   }
   errno = 0;
   v = strtoul(s, &end, 10);
   if (errno || *end || v < lo || v > hi) {
      return false;
   }
   *out = v;
   return true;
}

static bool parse_seconds(const char *s, double lo, double hi, double *out)
{
   char *end;
   double v;

   if (!s || !*s) {
      return false;
   }
   errno = 0;
   v = strtod(s, &end);
   if (errno || *end || !(v >= lo && v <= hi)) {
      return false;
   }
   *out = v;
   return true;
}

/* ---- exact byte count */

/* Bytes of the stream libvncclient has consumed: what TCP delivered,
 * less what waits in the socket and in libvncclient's buffer. */
static bool consumed_bytes(rfbClient *cl, uint64_t *out)
{
   for (int tries = 0; tries < 8; tries++) {
      struct tcp_info ti;
      socklen_t len = sizeof ti;
      int q1 = 0, q2 = 0;

      memset(&ti, 0, sizeof ti);
      if (ioctl(cl->sock, FIONREAD, &q1) != 0 ||
          getsockopt(cl->sock, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
          ioctl(cl->sock, FIONREAD, &q2) != 0) {
         say("TCP_INFO / FIONREAD on the socket: %s", strerror(errno));
         return false;
      }
      if (len < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received) {
         say("this kernel's TCP_INFO has no tcpi_bytes_received");
         return false;
      }
      if (q1 == q2 && q1 >= 0 && (uint64_t)q1 + cl->buffered <= ti.tcpi_bytes_received) {
         *out = ti.tcpi_bytes_received - (uint64_t)q1 - cl->buffered;
         return true;
      }
   }
   say("the receive queue kept changing while counting bytes");
   return false;
}

/* ---- the picture */

static const uint32_t *fb_of(rfbClient *cl)
{
   if (!cl->frameBuffer || cl->width != (int)opt.width || cl->height != (int)opt.height) {
      return NULL;
   }
   return (const uint32_t *)cl->frameBuffer;
}

/* The guest's frame number from the stamp; false when the cells do not
 * hold exactly the two stamp colours (a torn or partial picture). */
static bool read_stamp(rfbClient *cl, uint32_t *out)
{
   const uint32_t *fb = fb_of(cl);
   uint32_t x0 = bench_vnc_stamp_x(opt.width), v = 0;

   if (!fb) {
      return false;
   }
   for (uint32_t b = 0; b < BENCH_VNC_STAMP_BITS; b++) {
      for (uint32_t y = 0; y < BENCH_VNC_STAMP_CELL; y += BENCH_VNC_STAMP_CELL - 1) {
         for (uint32_t x = 0; x < BENCH_VNC_STAMP_CELL; x += BENCH_VNC_STAMP_CELL - 1) {
            uint32_t p = fb[(size_t)(BENCH_VNC_STAMP_Y + y) * opt.width + x0 +
                            b * BENCH_VNC_STAMP_CELL + x] & 0xffffffu;
            bool on = p == BENCH_VNC_STAMP_ON;

            if (!on && p != BENCH_VNC_STAMP_OFF) {
               return false;
            }
            if (x == 0 && y == 0) {
               v = v << 1 | on;
            } else if (on != (v & 1)) {
               return false;
            }
         }
      }
   }
   *out = v;
   return true;
}

static bool screen_is(rfbClient *cl, uint32_t colour)
{
   const uint32_t *fb = fb_of(cl);
   size_t n = (size_t)opt.width * opt.height;

   if (!fb) {
      return false;
   }
   for (size_t i = 0; i < n; i++) {
      if ((fb[i] & 0xffffffu) != colour) {
         return false;
      }
   }
   return true;
}

/* ---- libvncclient callbacks */

static void got_rect(rfbClient *cl, int x, int y, int w, int h)
{
   (void)cl;
   (void)x;
   (void)y;
   if (w > 0 && h > 0) {
      g.pixels += (uint64_t)w * (uint64_t)h;
      g.rects++;
   }
}

static void got_update_end(rfbClient *cl)
{
   update_rec r = { .t = now(), .pixels = g.pixels, .rects = g.rects };
   uint64_t c = 0;

   r.stamp_ok = read_stamp(cl, &r.stamp);
   g.pixels = 0;
   g.rects = 0;
   if (g.bytes_ok && consumed_bytes(cl, &c)) {
      r.bytes = c - g.consumed;
      g.consumed = c;
   } else {
      g.bytes_ok = false;
   }
   g.finished = true;
   g.updates++;
   if (g.nrec == g.cap) {
      size_t ncap = g.cap ? 2 * g.cap : 4096;
      update_rec *nr = ncap <= MAX_UPDATES ? realloc(g.rec, ncap * sizeof *nr) : NULL;

      if (!nr) {
         g.overflow = true;
         return;
      }
      g.rec = nr;
      g.cap = ncap;
   }
   g.rec[g.nrec++] = r;
}

/* ---- connecting */

static rfbClient *connect_once(const char *host, int port)
{
   rfbClient *cl = rfbGetClient(8, 3, 4);
   int one = 1;

   if (!cl) {
      say("rfbGetClient failed");
      return NULL;
   }
   cl->format.bitsPerPixel = 32;
   cl->format.depth = 24;
   cl->format.trueColour = 1;
   cl->format.bigEndian = 0;
   cl->format.redMax = cl->format.greenMax = cl->format.blueMax = 255;
   cl->format.redShift = 16;
   cl->format.greenShift = 8;
   cl->format.blueShift = 0;
   cl->appData.encodingsString = opt.encoding;
   cl->appData.enableJPEG = FALSE;
   cl->appData.useRemoteCursor = FALSE;
   if (opt.compress >= 0) {
      cl->appData.compressLevel = opt.compress;
   }
   /* The mode is set before we connect; no resizes are wanted (QEMU's
    * ExtendedDesktopSize with screen ID 0 breaks libvncclient). */
   cl->canHandleNewFBSize = FALSE;
   cl->GotFrameBufferUpdate = got_rect;
   cl->FinishedFrameBufferUpdate = got_update_end;
   cl->connectTimeout = 10;
   cl->readTimeout = 30;
   cl->serverHost = strdup(host);
   cl->serverPort = port;
   if (!cl->serverHost) {
      rfbClientCleanup(cl);
      return NULL;
   }
   /* rfbInitClient frees the client when it fails. */
   if (!rfbInitClient(cl, NULL, NULL)) {
      return NULL;
   }
   setsockopt(cl->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
   return cl;
}

static void disconnect(rfbClient *cl)
{
   if (cl) {
      free(cl->frameBuffer);
      cl->frameBuffer = NULL;
      rfbClientCleanup(cl);
   }
}

/* Handle what the server sent, waiting up to wait_ms for something.
 * *first_data (when not NULL and 0) gets the time data was first seen.
 * False when the connection broke. */
static bool pump(rfbClient *cl, int wait_ms, double *first_data)
{
   struct pollfd p = { .fd = cl->sock, .events = POLLIN };
   int n;

   if (cl->buffered == 0) {
      n = poll(&p, 1, wait_ms);
      if (n < 0) {
         if (errno == EINTR) {
            return true;
         }
         say("poll: %s", strerror(errno));
         return false;
      }
      if (n == 0) {
         return true;
      }
   }
   if (first_data && *first_data == 0) {
      *first_data = now();
   }
   do {
      if (!HandleRFBServerMessage(cl)) {
         say("the connection to the server broke (or it sent a malformed message)");
         return false;
      }
   } while (cl->buffered > 0);
   return true;
}

static rfbClient *connect_viewer(const char *host, int port)
{
   double end = now() + opt.connect_timeout;
   int lastw = -1, lasth = -1;

   while (now() < end) {
      rfbClient *cl = connect_once(host, port);

      if (cl) {
         if (cl->width == (int)opt.width && cl->height == (int)opt.height && cl->frameBuffer) {
            free(g.rec);
            memset(&g, 0, sizeof g);
            g.bytes_ok = consumed_bytes(cl, &g.consumed);
            if (!g.bytes_ok) {
               disconnect(cl);
               return NULL;
            }
            say("connected to %s:%d, %dx%d, encoding %s", host, port, cl->width, cl->height,
                opt.encoding);
            return cl;
         }
         lastw = cl->width;
         lasth = cl->height;
         disconnect(cl);
      }
      usleep(300 * 1000);
   }
   if (lastw >= 0) {
      say("the server still shows %dx%d after %.0f s, expected %ux%u", lastw, lasth,
          opt.connect_timeout, opt.width, opt.height);
   } else {
      say("cannot connect to %s:%d within %.0f s", host, port, opt.connect_timeout);
   }
   return NULL;
}

/* ---- statistics */

static int cmp_double(const void *a, const void *b)
{
   double x = *(const double *)a, y = *(const double *)b;

   return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
   uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

   return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, size_t n, double q)
{
   size_t k = (size_t)(q * (double)n);

   if ((double)k < q * (double)n) {
      k++;
   }

   return v[k == 0 ? 0 : k - 1];
}

/* ---- fps */

static int run_fps(rfbClient *cl)
{
   size_t seen = 0, ref = 0, last = 0;
   double t_start = 0, last_news = now();
   bool measuring = false, done = false;

   while (!done) {
      if (!pump(cl, 100, NULL)) {
         return 1;
      }
      if (!g.bytes_ok || g.overflow) {
         say(g.overflow ? "too many updates" : "lost count of the bytes");
         return 1;
      }
      if (seen == g.nrec) {
         if (now() - last_news > 15) {
            say("no update for 15 s (%u so far)", g.updates);
            return 1;
         }
         continue;
      }
      for (; seen < g.nrec && !done; seen++) {
         const update_rec *r = &g.rec[seen];

         last_news = r->t;
         if (!measuring) {
            if (r->t - g.rec[0].t >= opt.warmup) {
               /* the reference: the window starts where it ends */
               measuring = true;
               ref = seen;
               t_start = r->t;
            }
         } else if (r->t - t_start >= opt.seconds) {
            last = seen;
            done = true;
         }
      }
   }

   /* g.rec[ref] is the reference; g.rec[ref + 1 .. last] were measured */
   size_t m = last - ref;
   uint64_t bytes = 0, pixels = 0, rects = 0;
   uint64_t *sizes = malloc(m * sizeof *sizes);
   unsigned stamps_bad = 0, repeats = 0, shown = 0;
   uint32_t prev = g.rec[ref].stamp, first_stamp = prev, last_stamp = prev;
   bool have_prev = g.rec[ref].stamp_ok, have_first = have_prev;
   double secs = g.rec[last].t - t_start, screen = (double)opt.width * opt.height;

   if (!sizes || m == 0) {
      say("no updates measured");
      free(sizes);
      return 1;
   }
   for (size_t i = ref + 1; i <= last; i++) {
      const update_rec *r = &g.rec[i];

      bytes += r->bytes;
      pixels += r->pixels;
      rects += r->rects;
      sizes[i - ref - 1] = r->bytes;
      if (!r->stamp_ok) {
         stamps_bad++;
         continue;
      }
      if (!have_first) {
         first_stamp = r->stamp;
         have_first = true;
      }
      if (have_prev && r->stamp == prev) {
         repeats++;
      } else {
         shown++;
      }
      prev = r->stamp;
      have_prev = true;
      last_stamp = r->stamp;
   }
   qsort(sizes, m, sizeof *sizes, cmp_u64);

   printf("encoding=%s\n", opt.encoding);
   printf("compress=%d\n", opt.compress >= 0 ? opt.compress : cl->appData.compressLevel);
   printf("width=%u\nheight=%u\n", opt.width, opt.height);
   printf("seconds=%.3f\n", secs);
   printf("updates=%zu\n", m);
   printf("updates_per_s=%.2f\n", (double)m / secs);
   printf("frames_shown=%u\n", shown);
   printf("frames_shown_per_s=%.2f\n", shown / secs);
   printf("stamp_repeats=%u\n", repeats);
   printf("stamps_unreadable=%u\n", stamps_bad);
   printf("guest_frames=%u\n", last_stamp - first_stamp);
   printf("guest_fps=%.2f\n", (double)(last_stamp - first_stamp) / secs);
   printf("bytes=%llu\n", (unsigned long long)bytes);
   printf("bytes_per_update=%.0f\n", (double)bytes / (double)m);
   printf("bytes_per_update_p50=%llu\n", (unsigned long long)sizes[(m + 1) / 2 - 1]);
   printf("rects_per_update=%.1f\n", (double)rects / (double)m);
   printf("pixels_per_update=%.4f\n", (double)pixels / (double)m / screen);
   printf("bytes_per_screen=%.0f\n", pixels ? (double)bytes * screen / (double)pixels : 0.0);
   printf("mbit_per_s=%.2f\n", (double)bytes * 8 / secs / 1e6);
   free(sizes);
   return 0;
}

/* ---- latency */

static uint32_t rng_state = 0x2545f491u;

static uint32_t rng(void)
{
   rng_state ^= rng_state << 13;
   rng_state ^= rng_state >> 17;
   rng_state ^= rng_state << 5;
   return rng_state;
}

/* Pump until the whole screen is colour, at most secs; false on timeout
 * or a broken connection (*broken set). */
static bool wait_screen(rfbClient *cl, uint32_t colour, double secs, double *first_data,
                        bool *broken)
{
   double end = now() + secs;

   *broken = false;
   g.finished = true;   /* look at once */
   for (;;) {
      if (g.finished) {
         g.finished = false;
         if (screen_is(cl, colour)) {
            return true;
         }
      }
      double left = end - now();
      if (left <= 0) {
         return false;
      }
      if (!pump(cl, left > 0.05 ? 50 : (int)(left * 1000) + 1, first_data)) {
         *broken = true;
         return false;
      }
   }
}

static int run_latency(rfbClient *cl)
{
   double *lat = calloc(opt.samples, sizeof *lat), *first = calloc(opt.samples, sizeof *first);
   unsigned got = 0, lost = 0;
   bool broken;

   if (!lat || !first) {
      say("out of memory");
      free(lat);
      free(first);
      return 1;
   }
   if (!wait_screen(cl, bench_vnc_key_colour(0), 30, NULL, &broken)) {
      say("the screen never showed the guest's first colour 0x%06x", bench_vnc_key_colour(0));
      free(lat);
      free(first);
      return 1;
   }
   for (unsigned i = 1; i <= opt.samples; i++) {
      uint32_t colour = bench_vnc_key_colour(i);
      double gap = (opt.gap_min + rng() % (opt.gap_max - opt.gap_min + 1)) / 1000.0;
      double idle_end = now() + gap, t0, t_first = 0;
      uint64_t tsc0;

      /* idle, but keep handling whatever the server sends */
      while (now() < idle_end) {
         if (!pump(cl, (int)((idle_end - now()) * 1000) + 1, NULL)) {
            free(lat);
            free(first);
            return 1;
         }
      }
      t0 = now();
      tsc0 = host_tsc();
      if (!SendKeyEvent(cl, KEY_SYM, TRUE) || !SendKeyEvent(cl, KEY_SYM, FALSE)) {
         say("cannot send a key event");
         free(lat);
         free(first);
         return 1;
      }
      if (wait_screen(cl, colour, 5, &t_first, &broken)) {
         double t1 = now();

         if (opt.trace) {
            printf("trace key=%u sent=%.6f first=%.6f done=%.6f tsc=%llu\n", i, t0,
                   t_first > 0 ? t_first : t1, t1, (unsigned long long)tsc0);
         }
         lat[got] = (t1 - t0) * 1000;
         first[got] = t_first > 0 ? (t_first - t0) * 1000 : lat[got];
         got++;
         continue;
      }
      if (broken) {
         free(lat);
         free(first);
         return 1;
      }
      /* Lost: wait for the picture to catch up before going on. */
      lost++;
      say("key %u: the screen did not turn 0x%06x within 5 s", i, colour);
      if (!wait_screen(cl, colour, 20, NULL, &broken)) {
         say("giving up: the guest does not follow the keys");
         free(lat);
         free(first);
         return 1;
      }
   }
   if (got == 0) {
      say("no sample");
      free(lat);
      free(first);
      return 1;
   }
   double sum = 0;
   for (unsigned i = 0; i < got; i++) {
      sum += lat[i];
   }
   qsort(lat, got, sizeof *lat, cmp_double);
   qsort(first, got, sizeof *first, cmp_double);
   printf("encoding=%s\n", opt.encoding);
   printf("width=%u\nheight=%u\n", opt.width, opt.height);
   printf("samples=%u\n", got);
   printf("lost=%u\n", lost);
   printf("latency_ms_min=%.2f\n", lat[0]);
   printf("latency_ms_p50=%.2f\n", pct(lat, got, 0.50));
   printf("latency_ms_p95=%.2f\n", pct(lat, got, 0.95));
   printf("latency_ms_max=%.2f\n", lat[got - 1]);
   printf("latency_ms_mean=%.2f\n", sum / got);
   printf("first_byte_ms_p50=%.2f\n", pct(first, got, 0.50));
   printf("first_byte_ms_p95=%.2f\n", pct(first, got, 0.95));
   free(lat);
   free(first);
   return 0;
}

/* ---- main */

static void usage(void)
{
   fprintf(stderr,
           "usage: bench-vnc fps|latency HOST:PORT [--encoding ENC] [--compress N] "
           "[--width W] [--height H] [--connect-timeout S] [--warmup S] [--seconds S] "
           "[--samples N] [--gap-min MS] [--gap-max MS]\n");
   exit(2);
}

int main(int argc, char **argv)
{
   const char *mode, *target;
   char host[256];
   unsigned long v, port;
   rfbClient *cl;
   int rc;

   if (argc < 3) {
      usage();
   }
   mode = argv[1];
   target = argv[2];
   if (strcmp(mode, "fps") != 0 && strcmp(mode, "latency") != 0) {
      usage();
   }
   for (int i = 3; i < argc; i++) {
      const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

      if (!val) {
         usage();
      }
      if (!strcmp(a, "--encoding") && strlen(val) < 32) {
         opt.encoding = val;
      } else if (!strcmp(a, "--compress") && parse_ulong(val, 0, 9, &v)) {
         opt.compress = (int)v;
      } else if (!strcmp(a, "--width") && parse_ulong(val, 1, 8192, &v)) {
         opt.width = (unsigned)v;
      } else if (!strcmp(a, "--height") && parse_ulong(val, 1, 8192, &v)) {
         opt.height = (unsigned)v;
      } else if (!strcmp(a, "--connect-timeout") &&
                 parse_seconds(val, 1, 3600, &opt.connect_timeout)) {
      } else if (!strcmp(a, "--warmup") && parse_seconds(val, 0, 3600, &opt.warmup)) {
      } else if (!strcmp(a, "--seconds") && parse_seconds(val, 0.1, 3600, &opt.seconds)) {
      } else if (!strcmp(a, "--samples") && parse_ulong(val, 1, MAX_SAMPLES, &v)) {
         opt.samples = (unsigned)v;
      } else if (!strcmp(a, "--trace") && !strcmp(val, "1")) {
         opt.trace = true;
      } else if (!strcmp(a, "--gap-min") && parse_ulong(val, 0, 60000, &v)) {
         opt.gap_min = (unsigned)v;
      } else if (!strcmp(a, "--gap-max") && parse_ulong(val, 0, 60000, &v)) {
         opt.gap_max = (unsigned)v;
      } else {
         usage();
      }
      i++;
   }
   if (opt.gap_max < opt.gap_min || opt.width < 300 || opt.height < BENCH_VNC_BAR_H) {
      usage();
   }
   const char *colon = strrchr(target, ':');
   if (!colon || colon == target || (size_t)(colon - target) >= sizeof host ||
       !parse_ulong(colon + 1, 1, 65535, &port)) {
      usage();
   }
   memcpy(host, target, (size_t)(colon - target));
   host[colon - target] = 0;

   rfbClientLog = quiet_log;
   rfbClientErr = err_log;
   cl = connect_viewer(host, (int)port);
   if (!cl) {
      return 1;
   }
   rc = mode[0] == 'f' ? run_fps(cl) : run_latency(cl);
   disconnect(cl);
   free(g.rec);
   fflush(stdout);
   return rc;
}
