/*
 * tests/guests/devices/vnc-check.c - the host half of the SVGA test: a VNC
 * viewer (libvncclient) that watches the scenes the svga guest program
 * draws (svga-scenes.h) and checks every pixel, the rich cursor and its
 * position, then types the key that lets the guest go on to the next
 * scene.
 *
 * usage: vnc-check [options] [TARGET]
 *   TARGET                 HOST:PORT, or the path of a Unix socket
 *   --log FILE             find the server in the vmx's vmware.log instead:
 *                          the line "MKS: VNC server listening on ADDR:PORT"
 *                          (waited for up to --connect-timeout seconds)
 *   --serial FILE          the guest's serial log: before checking scene N,
 *                          wait for "svga: scene N ready" (or "skipped");
 *                          after its key, for the guest's verdict on the
 *                          key ("TEST scene-N-key: PASS"); give up at once
 *                          when the guest ends or fails
 *   --skip LIST            scenes not to expect (comma-separated numbers;
 *                          without --serial)
 *   --require-all          a scene the guest skips is a failure
 *   --no-cursor-pos        do not require cursor position updates (servers
 *                          that send none, like QEMU's)
 *   --reconnect            a viewer whose connection breaks connects again
 *                          (for QEMU: it announces a new desktop size with
 *                          an ExtendedDesktopSize screen ID of 0, which
 *                          libvncclient refuses, then sends rectangles
 *                          of the new size, which libvncclient takes as a
 *                          protocol error)
 *   --encodings LIST       one viewer per comma-separated item, each asking
 *                          for that encoding first (tight, zrle, hextile,
 *                          zlib, raw, ...); default "tight"; every viewer
 *                          must see every scene; the first one types
 *   --password PW          VNC password authentication
 *   --timeout SEC          per scene, from the guest's "ready" line (or from
 *                          the previous scene without --serial); default 60
 *   --connect-timeout SEC  for the log line and the guest's first scene
 *                          (default 120)
 *   --dump DIR             on a mismatch, write the expected and received
 *                          pictures there as PPM files
 *   --verbose              libvncclient's own log too
 *
 * Exit status: 0 when every expected scene matched on every viewer (and
 * the keys were sent), 1 otherwise (with what differed), 2 for bad usage.
 */
#include "svga-scenes.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <rfb/rfbclient.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_VIEWERS 8
#define MAX_DIM 8192
#define LOG_LINE "MKS: VNC server listening on "

typedef struct viewer {
   rfbClient *cl;
   char enc[32];
   unsigned updates;          /* framebuffer updates received */
   bool dirty;                /* something changed since the last comparison */
   /* the last cursor shape: straight ARGB with the mask in bit 24 */
   bool have_cursor;
   unsigned cursors;
   int cw, ch, chx, chy;
   uint32_t *cpix;
   uint8_t *cmask;
   /* the last cursor position update */
   bool have_pos;
   int px, py;
   unsigned reconnects;
} viewer;

static struct {
   const char *log, *serial, *password, *dump;
   bool skip[SVGA_SCENE_COUNT];
   bool require_all, cursor_pos, verbose, reconnect;
   unsigned timeout, connect_timeout;
} opt = { .cursor_pos = true, .timeout = 60, .connect_timeout = 120 };

static viewer viewers[MAX_VIEWERS];
static unsigned nviewers;
static int viewer_tag;
static char server_host[256];
static int server_port;
/* Waiting for the guest's last words: a closed connection is no error. */
static bool closing;

/* ---- small helpers */

static double now(void)
{
   struct timespec ts;

   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
   va_list ap;

   va_start(ap, fmt);
   fputs("vnc-check: ", stdout);
   vprintf(fmt, ap);
   fputc('\n', stdout);
   va_end(ap);
   fflush(stdout);
}

static void client_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void client_log(const char *fmt, ...)
{
   va_list ap;

   if (!opt.verbose) {
      return;
   }
   va_start(ap, fmt);
   fputs("libvncclient: ", stdout);
   vprintf(fmt, ap);
   va_end(ap);
   fflush(stdout);
}

static void client_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void client_err(const char *fmt, ...)
{
   va_list ap;

   va_start(ap, fmt);
   fputs("libvncclient: ", stdout);
   vprintf(fmt, ap);
   va_end(ap);
   fflush(stdout);
}

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
   char *end;
   unsigned long v;

   if (!*s || *s == '-' || *s == '+') {
      return false;
   }
   errno = 0;
   v = strtoul(s, &end, 10);
   if (errno || *end || v > max) {
      return false;
   }
   *out = v;
   return true;
}

/* The whole of a small text file, NUL-terminated; NULL if unreadable. */
static char *read_text(const char *path)
{
   FILE *f = fopen(path, "rb");
   char *buf;
   size_t n = 0, cap = 4096;

   if (!f) {
      return NULL;
   }
   buf = malloc(cap);
   if (!buf) {
      fclose(f);
      return NULL;
   }
   for (;;) {
      size_t r;

      if (cap - n < 2) {
         char *nb;

         if (cap > (64u << 20)) {
            break;   /* plenty */
         }
         nb = realloc(buf, cap * 2);
         if (!nb) {
            break;
         }
         buf = nb;
         cap *= 2;
      }
      r = fread(buf + n, 1, cap - n - 1, f);
      if (r == 0) {
         break;
      }
      n += r;
   }
   fclose(f);
   buf[n] = 0;
   return buf;
}

/* Whether text has a line that is exactly line (without its newline). */
static bool has_line(const char *text, const char *line)
{
   size_t len = strlen(line);

   for (const char *p = text; (p = strstr(p, line)); p++) {
      if ((p == text || p[-1] == '\n') && (p[len] == '\n' || p[len] == '\r' || !p[len])) {
         return true;
      }
   }
   return false;
}

/* ---- the server's address from vmware.log */

static bool parse_log_line(const char *text, char *host, size_t hostsz, int *port)
{
   const char *found = NULL;

   /* the last such line (a restarted server logs again) */
   for (const char *p = text; (p = strstr(p, LOG_LINE)); p++) {
      found = p;
   }
   if (!found) {
      return false;
   }
   /* ADDR:PORT up to the end of the line or a space (" (password required)") */
   const char *a = found + strlen(LOG_LINE);
   size_t len = strcspn(a, " \t\r\n");
   char line[128];
   unsigned long p;

   if (len == 0 || len >= sizeof line) {
      return false;
   }
   memcpy(line, a, len);
   line[len] = 0;
   char *colon = strrchr(line, ':');
   if (!colon || colon == line || !parse_uint(colon + 1, 65535, &p) || p == 0) {
      return false;
   }
   *colon = 0;
   /* "[::1]" style brackets around an IPv6 address */
   char *h = line;
   size_t hl = strlen(h);
   if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
      h[hl - 1] = 0;
      h++;
   }
   if (strlen(h) >= hostsz) {
      return false;
   }
   strcpy(host, h);
   *port = (int)p;
   return true;
}

static bool wait_for_log(char *host, size_t hostsz, int *port)
{
   double end = now() + opt.connect_timeout;

   say("waiting for '%s...' in %s", LOG_LINE, opt.log);
   while (now() < end) {
      char *text = read_text(opt.log);
      bool ok = text && parse_log_line(text, host, hostsz, port);
      bool ended = text && strstr(text, "vmx exiting (status");
      const char *err = text ? strstr(text, "MKS: the VNC server") : NULL;

      if (ok) {
         free(text);
         return true;
      }
      if (err) {
         say("FAIL: %.*s", (int)strcspn(err, "\n"), err);
         free(text);
         return false;
      }
      free(text);
      if (ended) {
         say("FAIL: the vmx exited without starting its VNC server (see %s)", opt.log);
         return false;
      }
      usleep(100 * 1000);
   }
   say("FAIL: no '%sADDR:PORT' line in %s after %u s", LOG_LINE, opt.log, opt.connect_timeout);
   return false;
}

/* ---- libvncclient callbacks */

static viewer *viewer_of(rfbClient *cl)
{
   return rfbClientGetClientData(cl, &viewer_tag);
}

/* libvncclient 0.9.14 allocates new rcSource and rcMask for every cursor
 * shape and frees neither (not even in rfbClientCleanup): we copy the
 * shape out and free them here. */
static void release_cursor_buffers(rfbClient *cl)
{
   free(cl->rcSource);
   free(cl->rcMask);
   cl->rcSource = NULL;
   cl->rcMask = NULL;
}

static void got_cursor(rfbClient *cl, int xhot, int yhot, int width, int height, int bpp)
{
   viewer *v = viewer_of(cl);
   size_t n;

   v->cursors++;
   v->dirty = true;
   v->have_cursor = false;
   free(v->cpix);
   free(v->cmask);
   v->cpix = NULL;
   v->cmask = NULL;
   /* Everything here came from the server: check it before use. */
   if (bpp != 4 || width <= 0 || height <= 0 || width > 1024 || height > 1024 || xhot < 0 ||
       yhot < 0 || !cl->rcSource || !cl->rcMask) {
      release_cursor_buffers(cl);
      say("viewer %s: unusable cursor shape: %dx%d, hot spot (%d, %d), %d bytes per pixel",
          v->enc, width, height, xhot, yhot, bpp);
      return;
   }
   n = (size_t)width * (size_t)height;
   v->cpix = malloc(n * 4);
   v->cmask = malloc(n);
   if (!v->cpix || !v->cmask) {
      say("viewer %s: out of memory for a %dx%d cursor", v->enc, width, height);
      return;
   }
   memcpy(v->cpix, cl->rcSource, n * 4);
   memcpy(v->cmask, cl->rcMask, n);
   release_cursor_buffers(cl);
   v->cw = width;
   v->ch = height;
   v->chx = xhot;
   v->chy = yhot;
   v->have_cursor = true;
}

static rfbBool got_cursor_pos(rfbClient *cl, int x, int y)
{
   viewer *v = viewer_of(cl);

   v->have_pos = true;
   v->px = x;
   v->py = y;
   v->dirty = true;
   return TRUE;
}

static void got_update(rfbClient *cl)
{
   viewer *v = viewer_of(cl);

   v->updates++;
   v->dirty = true;
}

static char *get_password(rfbClient *cl)
{
   (void)cl;
   return strdup(opt.password ? opt.password : "");
}

/* ---- connecting */

static bool connect_viewer(viewer *v, const char *host, int port, const char *enc)
{
   rfbClient *cl = rfbGetClient(8, 3, 4);

   if (!cl) {
      say("FAIL: rfbGetClient failed");
      return false;
   }
   snprintf(v->enc, sizeof v->enc, "%s", enc);
   rfbClientSetClientData(cl, &viewer_tag, v);
   /* 0x00RRGGBB in a little-endian 32-bit word, as the scenes are written */
   cl->format.bitsPerPixel = 32;
   cl->format.depth = 24;
   cl->format.trueColour = 1;
   cl->format.bigEndian = 0;
   cl->format.redMax = cl->format.greenMax = cl->format.blueMax = 255;
   cl->format.redShift = 16;
   cl->format.greenShift = 8;
   cl->format.blueShift = 0;
   /* Lossless only: no JPEG quality level (Tight stays lossless), no
    * ZYWRLE. */
   cl->appData.encodingsString = v->enc;
   cl->appData.enableJPEG = FALSE;
   cl->appData.useRemoteCursor = TRUE;
   cl->canHandleNewFBSize = TRUE;
   cl->GotCursorShape = got_cursor;
   cl->HandleCursorPos = got_cursor_pos;
   cl->FinishedFrameBufferUpdate = got_update;
   cl->GetPassword = get_password;
   cl->connectTimeout = 30;
   cl->readTimeout = 60;
   free(cl->serverHost);   /* rfbGetClient's default, else it leaks */
   cl->serverHost = strdup(host);
   cl->serverPort = port;
   if (!cl->serverHost) {
      rfbClientCleanup(cl);
      return false;
   }
   /* rfbInitClient frees the client when it fails. */
   if (!rfbInitClient(cl, NULL, NULL)) {
      say("FAIL: viewer %s: cannot connect to %s%s%.0d", enc, host, port ? ":" : "", port);
      return false;
   }
   v->cl = cl;
   /* the desktop name comes from the server: printable ASCII only */
   char name[64];
   size_t k = 0;
   for (const char *c = cl->desktopName ? cl->desktopName : ""; *c && k < sizeof name - 1; c++) {
      name[k++] = *c >= 0x20 && *c < 0x7f ? *c : '?';
   }
   name[k] = 0;
   say("viewer %s: connected to %s%s%.0d, desktop \"%s\", %dx%d", enc, host, port ? ":" : "",
       port, name, cl->width, cl->height);
   return true;
}

static void close_viewer(viewer *v)
{
   if (!v->cl) {
      return;
   }
   free(v->cl->frameBuffer);
   v->cl->frameBuffer = NULL;
   release_cursor_buffers(v->cl);
   rfbClientCleanup(v->cl);
   v->cl = NULL;
}

/* Handle whatever the server sent, waiting up to wait_ms for something.
 * False when a connection broke. */
static bool pump(int wait_ms)
{
   struct pollfd pfd[MAX_VIEWERS];

   for (unsigned i = 0; i < nviewers; i++) {
      pfd[i].fd = viewers[i].cl->sock;
      pfd[i].events = POLLIN;
      pfd[i].revents = 0;
   }
   if (poll(pfd, nviewers, wait_ms) < 0 && errno != EINTR) {
      say("FAIL: poll: %s", strerror(errno));
      return false;
   }
   for (unsigned i = 0; i < nviewers; i++) {
      viewer *v = &viewers[i];

      if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) {
         continue;
      }
      /* libvncclient reads ahead: finish what is in its buffer too. */
      do {
         if (!HandleRFBServerMessage(v->cl)) {
            char enc[sizeof v->enc];

            if (closing) {
               return false;
            }
            if (!opt.reconnect || v->reconnects >= 50) {
               say("FAIL: viewer %s: the connection to the server broke (or a message from "
                   "it was malformed)", v->enc);
               return false;
            }
            say("viewer %s: the connection broke; connecting again (--reconnect)", v->enc);
            snprintf(enc, sizeof enc, "%s", v->enc);
            unsigned reconnects = v->reconnects + 1;
            close_viewer(v);
            free(v->cpix);
            free(v->cmask);
            memset(v, 0, sizeof *v);
            if (!connect_viewer(v, server_host, server_port, enc)) {
               return false;
            }
            v->reconnects = reconnects;
            break;
         }
      } while (v->cl->buffered > 0);
   }
   return true;
}

/* ---- expected pictures */

typedef struct picture {
   uint32_t w, h;
   uint32_t *px;
} picture;

static bool expected_picture(unsigned n, picture *p)
{
   p->w = svga_scene_width(n);
   p->h = svga_scene_height(n);
   free(p->px);
   p->px = malloc((size_t)p->w * p->h * 4);
   if (!p->px) {
      return false;
   }
   for (uint32_t y = 0; y < p->h; y++) {
      for (uint32_t x = 0; x < p->w; x++) {
         uint32_t v;

         switch (n) {
         case SVGA_SCENE_UPDATE:
         case SVGA_SCENE_RECT_COPY:
         case SVGA_SCENE_CURSOR:
         case SVGA_SCENE_ALPHA_CURSOR: v = svga_scene_base(x, y); break;
         case SVGA_SCENE_SCREEN: v = svga_scene_screen(x, y); break;
         case SVGA_SCENE_ANNOTATION: v = svga_scene_annotation(x, y); break;
         default: v = svga_scene_mode(x, y); break;
         }
         p->px[(size_t)y * p->w + x] = v;
      }
   }
   if (n >= SVGA_SCENE_RECT_COPY && n <= SVGA_SCENE_ALPHA_CURSOR) {
      for (unsigned i = 0; i < SVGA_SCENE_NCOPIES; i++) {
         svga_scene_copy_apply(p->px, p->w, svga_scene_copy_get(i));
      }
   }
   return true;
}

/* The cursor a viewer must get for scene n (straight alpha), or none. */
typedef struct cursor_exp {
   bool present;
   uint32_t w, h, hx, hy;
   int x, y;
   uint32_t argb[SVGA_SCENE_CURSOR_W * SVGA_SCENE_CURSOR_H];
} cursor_exp;

static uint32_t unpremultiply(uint32_t p)
{
   uint32_t a = p >> 24, r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;

   if (a == 0 || a == 255) {
      return p;
   }
   r = r * 255 / a;
   g = g * 255 / a;
   b = b * 255 / a;
   return a << 24 | (r > 255 ? 255 : r) << 16 | (g > 255 ? 255 : g) << 8 | (b > 255 ? 255 : b);
}

static void expected_cursor(unsigned n, cursor_exp *c)
{
   memset(c, 0, sizeof *c);
   if (n == SVGA_SCENE_CURSOR) {
      c->present = true;
      c->w = SVGA_SCENE_CURSOR_W;
      c->h = SVGA_SCENE_CURSOR_H;
      c->hx = SVGA_SCENE_CURSOR_HOTX;
      c->hy = SVGA_SCENE_CURSOR_HOTY;
      c->x = SVGA_SCENE_CURSOR_X;
      c->y = SVGA_SCENE_CURSOR_Y;
      for (uint32_t y = 0; y < c->h; y++) {
         for (uint32_t x = 0; x < c->w; x++) {
            c->argb[y * c->w + x] = svga_scene_cursor_mono_argb(x, y);
         }
      }
   } else if (n == SVGA_SCENE_ALPHA_CURSOR) {
      c->present = true;
      c->w = SVGA_SCENE_ACURSOR_W;
      c->h = SVGA_SCENE_ACURSOR_H;
      c->hx = SVGA_SCENE_ACURSOR_HOTX;
      c->hy = SVGA_SCENE_ACURSOR_HOTY;
      c->x = SVGA_SCENE_ACURSOR_X;
      c->y = SVGA_SCENE_ACURSOR_Y;
      for (uint32_t y = 0; y < c->h; y++) {
         for (uint32_t x = 0; x < c->w; x++) {
            c->argb[y * c->w + x] = unpremultiply(svga_scene_cursor_alpha(x, y));
         }
      }
   }
}

/* ---- comparing */

typedef struct pic_diff {
   bool size;                 /* the size differs */
   int w, h;
   unsigned long count;
   uint32_t fx, fy, exp, got; /* the first differing pixel */
   uint32_t x0, y0, x1, y1;   /* bounding box of the differences */
} pic_diff;

static bool compare_picture(const viewer *v, const picture *p, pic_diff *d)
{
   const rfbClient *cl = v->cl;

   memset(d, 0, sizeof *d);
   d->w = cl->width;
   d->h = cl->height;
   if (cl->width <= 0 || cl->height <= 0 || cl->width > MAX_DIM || cl->height > MAX_DIM ||
       (uint32_t)cl->width != p->w || (uint32_t)cl->height != p->h || !cl->frameBuffer) {
      d->size = true;
      return false;
   }
   const uint32_t *fb = (const uint32_t *)cl->frameBuffer;
   d->x0 = d->y0 = UINT32_MAX;
   for (uint32_t y = 0; y < p->h; y++) {
      const uint32_t *row = fb + (size_t)y * p->w, *erow = p->px + (size_t)y * p->w;

      for (uint32_t x = 0; x < p->w; x++) {
         /* depth 24: the top byte is padding */
         if ((row[x] & 0xffffff) == erow[x]) {
            continue;
         }
         if (d->count++ == 0) {
            d->fx = x;
            d->fy = y;
            d->exp = erow[x];
            d->got = row[x] & 0xffffff;
         }
         d->x0 = x < d->x0 ? x : d->x0;
         d->y0 = y < d->y0 ? y : d->y0;
         d->x1 = x > d->x1 ? x : d->x1;
         d->y1 = y > d->y1 ? y : d->y1;
      }
   }
   return d->count == 0;
}

typedef struct cur_diff {
   char why[256];
} cur_diff;

static bool compare_cursor(const viewer *v, const cursor_exp *c, cur_diff *d)
{
   d->why[0] = 0;
   if (!c->present) {
      return true;
   }
   if (!v->have_cursor) {
      snprintf(d->why, sizeof d->why, "no cursor shape received (%u shape update(s))",
               v->cursors);
      return false;
   }
   if ((uint32_t)v->cw != c->w || (uint32_t)v->ch != c->h || (uint32_t)v->chx != c->hx ||
       (uint32_t)v->chy != c->hy) {
      snprintf(d->why, sizeof d->why, "cursor is %dx%d with hot spot (%d, %d); expected %ux%u "
               "with hot spot (%u, %u)", v->cw, v->ch, v->chx, v->chy, c->w, c->h, c->hx,
               c->hy);
      return false;
   }
   for (uint32_t y = 0; y < c->h; y++) {
      for (uint32_t x = 0; x < c->w; x++) {
         uint32_t e = c->argb[y * c->w + x], g = v->cpix[y * c->w + x] & 0xffffff;
         bool emask = (e >> 24) >= 0x80, gmask = v->cmask[y * c->w + x] != 0;

         if (emask != gmask) {
            snprintf(d->why, sizeof d->why, "cursor pixel (%u, %u): mask bit %d, expected %d "
                     "(ARGB 0x%08x)", x, y, gmask, emask, e);
            return false;
         }
         if (emask && g != (e & 0xffffff)) {
            snprintf(d->why, sizeof d->why, "cursor pixel (%u, %u): colour 0x%06x, expected "
                     "0x%06x (ARGB 0x%08x%s)", x, y, g, e & 0xffffff, e,
                     (e >> 24) != 0xff ? "; a premultiplied cursor must reach viewers "
                     "un-premultiplied" : "");
            return false;
         }
      }
   }
   if (opt.cursor_pos && (!v->have_pos || v->px != c->x || v->py != c->y)) {
      if (v->have_pos) {
         snprintf(d->why, sizeof d->why, "cursor position (%d, %d), expected (%d, %d)", v->px,
                  v->py, c->x, c->y);
      } else {
         snprintf(d->why, sizeof d->why, "no cursor position update received (expected "
                  "(%d, %d))", c->x, c->y);
      }
      return false;
   }
   return true;
}

static void dump_ppm(const char *path, const uint32_t *px, uint32_t w, uint32_t h)
{
   FILE *f = fopen(path, "wb");

   if (!f) {
      say("cannot write %s: %s", path, strerror(errno));
      return;
   }
   fprintf(f, "P6\n%u %u\n255\n", w, h);
   for (size_t i = 0; i < (size_t)w * h; i++) {
      fputc((px[i] >> 16) & 0xff, f);
      fputc((px[i] >> 8) & 0xff, f);
      fputc(px[i] & 0xff, f);
   }
   fclose(f);
   say("wrote %s", path);
}

static void report(unsigned n, const picture *p, const cursor_exp *c)
{
   for (unsigned i = 0; i < nviewers; i++) {
      viewer *v = &viewers[i];
      pic_diff pd;
      cur_diff cd;

      if (!compare_picture(v, p, &pd)) {
         if (pd.size) {
            say("  viewer %s: the desktop is %dx%d, expected %ux%u (%u updates received)",
                v->enc, pd.w, pd.h, p->w, p->h, v->updates);
         } else {
            say("  viewer %s: %lu of %u pixels differ, first at (%u, %u): 0x%06x, expected "
                "0x%06x; differences within (%u, %u)-(%u, %u) (%u updates received)", v->enc,
                pd.count, p->w * p->h, pd.fx, pd.fy, pd.got, pd.exp, pd.x0, pd.y0, pd.x1,
                pd.y1, v->updates);
         }
      } else {
         say("  viewer %s: the picture matches", v->enc);
      }
      if (c->present) {
         if (compare_cursor(v, c, &cd)) {
            say("  viewer %s: the cursor matches", v->enc);
         } else {
            say("  viewer %s: %s", v->enc, cd.why);
         }
      }
      if (opt.dump && !pd.size) {
         char path[PATH_MAX];

         snprintf(path, sizeof path, "%s/scene%u-%s-got.ppm", opt.dump, n, v->enc);
         uint32_t *copy = malloc((size_t)p->w * p->h * 4);
         if (copy) {
            memcpy(copy, v->cl->frameBuffer, (size_t)p->w * p->h * 4);
            dump_ppm(path, copy, p->w, p->h);
            free(copy);
         }
      }
   }
   if (opt.dump) {
      char path[PATH_MAX];

      snprintf(path, sizeof path, "%s/scene%u-expected.ppm", opt.dump, n);
      dump_ppm(path, p->px, p->w, p->h);
   }
}

/* ---- following the guest */

typedef enum guest_state { GUEST_PENDING, GUEST_READY, GUEST_SKIPPED, GUEST_ENDED } guest_state;

static guest_state guest_scene_state(unsigned n)
{
   char *text = read_text(opt.serial);
   char line[64];
   guest_state st = GUEST_PENDING;

   if (!text) {
      return GUEST_PENDING;
   }
   snprintf(line, sizeof line, "svga: scene %u ready", n);
   if (has_line(text, line)) {
      st = GUEST_READY;
   } else {
      snprintf(line, sizeof line, "svga: scene %u skipped", n);
      if (has_line(text, line)) {
         st = GUEST_SKIPPED;
      } else {
         snprintf(line, sizeof line, "svga: scene %u failed", n);
         if (has_line(text, line) || strstr(text, "KIT RESULT:")) {
            st = GUEST_ENDED;
         }
      }
   }
   free(text);
   return st;
}

/* Wait for the guest to reach scene n; keeps the viewers serviced. */
static guest_state wait_guest(unsigned n, unsigned timeout)
{
   double end = now() + timeout;

   for (;;) {
      guest_state st = guest_scene_state(n);

      if (st != GUEST_PENDING) {
         return st;
      }
      if (now() >= end) {
         return GUEST_PENDING;
      }
      if (!pump(100)) {
         return GUEST_ENDED;
      }
   }
}

/* After the key for scene n: wait for the guest's verdict on it ("TEST
 * scene-N-key: ..."), keeping the connections open meanwhile (a server may
 * drop input that is still queued when its viewer goes away). Without
 * --serial, just give the server a moment. */
static bool wait_key_verdict(unsigned n)
{
   char prefix[48];
   double end = now() + opt.timeout;
   bool lost = false;

   closing = true;
   if (!opt.serial) {
      for (double e = now() + 1.0; now() < e && !lost;) {
         lost = !pump(50);
      }
      closing = false;
      return true;
   }
   snprintf(prefix, sizeof prefix, "TEST scene-%u-key: ", n);
   while (now() < end) {
      char *text = read_text(opt.serial);
      const char *l = NULL;

      for (const char *p = text; p && (p = strstr(p, prefix)); p++) {
         if (p == text || p[-1] == '\n') {
            l = p;
            break;
         }
      }
      if (l && strchr(l, '\n')) {
         bool pass = !strncmp(l + strlen(prefix), "PASS", 4);

         if (!pass) {
            say("FAIL: scene %u: the guest did not get the key right: %.*s", n,
                (int)strcspn(l, "\n"), l);
         }
         free(text);
         closing = false;
         return pass;
      }
      bool ended = text && strstr(text, "KIT RESULT:");
      free(text);
      if (ended) {
         say("FAIL: scene %u: the guest ended without a verdict on the key", n);
         closing = false;
         return false;
      }
      /* After the last key the guest powers off and the server goes away;
       * its verdict is still to come in the serial log. */
      if (lost) {
         usleep(50 * 1000);
      } else {
         lost = !pump(50);
      }
   }
   say("FAIL: scene %u: the guest did not report on the key within %u s%s", n, opt.timeout,
       lost ? " (and the server closed the connection)" : "");
   closing = false;
   return false;
}

static bool all_match(const picture *p, const cursor_exp *c)
{
   for (unsigned i = 0; i < nviewers; i++) {
      pic_diff pd;
      cur_diff cd;

      if (!compare_picture(&viewers[i], p, &pd) || !compare_cursor(&viewers[i], c, &cd)) {
         return false;
      }
   }
   return true;
}

static bool send_key(unsigned n)
{
   uint32_t sym = svga_scene_keysym(n);
   rfbClient *cl = viewers[0].cl;

   if (!SendKeyEvent(cl, sym, TRUE) || !SendKeyEvent(cl, sym, FALSE)) {
      say("FAIL: cannot send the key '%c' for scene %u", (char)sym, n);
      return false;
   }
   say("scene %u: sent key '%c' (keysym 0x%x) down and up", n, (char)sym, sym);
   return true;
}

typedef enum scene_result { SCENE_FAILED, SCENE_MATCHED, SCENE_SKIPPED } scene_result;

/* first: no scene was reached yet (the guest may still be booting). */
static scene_result check_scene(unsigned n, picture *p, bool first)
{
   cursor_exp c;
   double t0 = now(), end;
   unsigned timeout = first ? opt.connect_timeout : opt.timeout;

   if (opt.serial) {
      guest_state st = wait_guest(n, timeout);

      if (st == GUEST_PENDING) {
         say("FAIL: scene %u (%s): the guest did not report it ready or skipped within %u s",
             n, svga_scene_name(n), timeout);
         return SCENE_FAILED;
      }
      if (st == GUEST_ENDED) {
         say("FAIL: scene %u (%s): the guest ended or failed before it (see the serial log)",
             n, svga_scene_name(n));
         return SCENE_FAILED;
      }
      if (st == GUEST_SKIPPED) {
         if (opt.require_all) {
            say("FAIL: scene %u (%s): the guest skipped it, but every scene is required", n,
                svga_scene_name(n));
            return SCENE_FAILED;
         }
         say("scene %u (%s): skipped by the guest", n, svga_scene_name(n));
         return SCENE_SKIPPED;
      }
      t0 = now();
      timeout = opt.timeout;
   } else if (opt.skip[n]) {
      say("scene %u (%s): skipped (--skip)", n, svga_scene_name(n));
      return SCENE_SKIPPED;
   }
   if (!expected_picture(n, p)) {
      say("FAIL: out of memory");
      return SCENE_FAILED;
   }
   expected_cursor(n, &c);
   end = t0 + timeout;
   for (unsigned i = 0; i < nviewers; i++) {
      viewers[i].dirty = true;
   }
   for (;;) {
      bool dirty = false;

      for (unsigned i = 0; i < nviewers; i++) {
         dirty |= viewers[i].dirty;
         viewers[i].dirty = false;
      }
      if (dirty && all_match(p, &c)) {
         break;
      }
      if (now() >= end) {
         say("FAIL: scene %u (%s): no exact match within %u s:", n, svga_scene_name(n),
             timeout);
         report(n, p, &c);
         return SCENE_FAILED;
      }
      if (!pump(50)) {
         say("FAIL: scene %u (%s): lost the server; what the viewers had:", n,
             svga_scene_name(n));
         report(n, p, &c);
         return SCENE_FAILED;
      }
   }
   say("scene %u (%s): all %u viewer(s) show the expected %ux%u picture%s (%.2f s)", n,
       svga_scene_name(n), nviewers, p->w, p->h,
       c.present ? (opt.cursor_pos ? " and cursor shape and position" : " and cursor shape")
                 : "",
       now() - t0);
   return send_key(n) && wait_key_verdict(n) ? SCENE_MATCHED : SCENE_FAILED;
}

/* ---- main */

static void usage(void)
{
   fprintf(stderr, "usage: vnc-check [--log FILE | HOST:PORT | SOCKET] [--serial FILE] "
           "[--skip LIST] [--require-all] [--no-cursor-pos] [--reconnect] [--encodings LIST] "
           "[--password PW] [--timeout SEC] [--connect-timeout SEC] [--dump DIR] "
           "[--verbose]\n");
   exit(2);
}

int main(int argc, char **argv)
{
   const char *target = NULL, *encodings = "tight";
   char host[256] = "";
   int port = 0;
   unsigned long v;
   picture pic = { 0 };
   bool ok = true, first = true;
   unsigned checked = 0;

   for (int i = 1; i < argc; i++) {
      const char *a = argv[i];
      const char *val = i + 1 < argc ? argv[i + 1] : NULL;

      if (!strcmp(a, "--log") && val) {
         opt.log = val, i++;
      } else if (!strcmp(a, "--serial") && val) {
         opt.serial = val, i++;
      } else if (!strcmp(a, "--skip") && val) {
         char *list = strdup(val), *save = NULL;

         for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (!parse_uint(t, SVGA_SCENE_COUNT - 1, &v)) {
               fprintf(stderr, "vnc-check: bad scene number '%s' in --skip\n", t);
               exit(2);
            }
            opt.skip[v] = true;
         }
         free(list);
         i++;
      } else if (!strcmp(a, "--require-all")) {
         opt.require_all = true;
      } else if (!strcmp(a, "--no-cursor-pos")) {
         opt.cursor_pos = false;
      } else if (!strcmp(a, "--reconnect")) {
         opt.reconnect = true;
      } else if (!strcmp(a, "--encodings") && val) {
         encodings = val, i++;
      } else if (!strcmp(a, "--password") && val) {
         opt.password = val, i++;
      } else if (!strcmp(a, "--timeout") && val && parse_uint(val, 3600, &v) && v) {
         opt.timeout = (unsigned)v, i++;
      } else if (!strcmp(a, "--connect-timeout") && val && parse_uint(val, 3600, &v) && v) {
         opt.connect_timeout = (unsigned)v, i++;
      } else if (!strcmp(a, "--dump") && val) {
         opt.dump = val, i++;
      } else if (!strcmp(a, "--verbose")) {
         opt.verbose = true;
      } else if (a[0] != '-' && !target) {
         target = a;
      } else {
         usage();
      }
   }
   if (!!target == !!opt.log) {
      usage();
   }
   rfbClientLog = client_log;
   rfbClientErr = client_err;

   if (opt.log) {
      if (!wait_for_log(host, sizeof host, &port)) {
         return 1;
      }
   } else if (target[0] == '/') {
      struct stat st;

      if (strlen(target) >= sizeof host) {
         usage();
      }
      strcpy(host, target);
      /* QEMU creates its socket a moment after it starts */
      for (double end = now() + opt.connect_timeout; stat(host, &st) != 0 && now() < end;) {
         usleep(100 * 1000);
      }
   } else {
      const char *colon = strrchr(target, ':');

      if (!colon || (size_t)(colon - target) >= sizeof host || colon == target ||
          !parse_uint(colon + 1, 65535, &v) || v == 0) {
         usage();
      }
      memcpy(host, target, (size_t)(colon - target));
      host[colon - target] = 0;
      port = (int)v;
   }

   char *list = strdup(encodings), *save = NULL;
   for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
      char enc[32];

      if (nviewers == MAX_VIEWERS) {
         fprintf(stderr, "vnc-check: at most %u viewers\n", MAX_VIEWERS);
         exit(2);
      }
      /* the named encoding first; the others only as fallbacks */
      snprintf(enc, sizeof enc, "%s", t);
      if (!connect_viewer(&viewers[nviewers], host, port, enc)) {
         free(list);
         return 1;
      }
      nviewers++;
   }
   free(list);
   if (nviewers == 0) {
      usage();
   }
   snprintf(server_host, sizeof server_host, "%s", host);
   server_port = port;

   for (unsigned n = 0; n < SVGA_SCENE_COUNT && ok; n++) {
      scene_result r = check_scene(n, &pic, first);

      ok = r != SCENE_FAILED;
      /* a scene the guest reported skipped also shows it is running */
      first = first && r == SCENE_SKIPPED && !opt.serial;
      checked += r == SCENE_MATCHED;
   }
   free(pic.px);
   for (unsigned i = 0; i < nviewers; i++) {
      free(viewers[i].cpix);
      free(viewers[i].cmask);
      close_viewer(&viewers[i]);
   }
   if (!ok) {
      say("FAIL");
      return 1;
   }
   if (checked == 0) {
      say("FAIL: no scene was checked");
      return 1;
   }
   say("PASS: %u scene(s) matched exactly", checked);
   return 0;
}
