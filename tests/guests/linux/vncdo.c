/*
 * tests/guests/linux/vncdo.c - drive a VNC server as a viewer would, with
 * libvncclient: type text, move and click the pointer, save what the
 * viewer received.
 *
 * usage: vncdo HOST:PORT [-p PASSWORD] [-d MS] ACTION...
 *   type:TEXT        type TEXT, one key event pair per character ("\n" in
 *                    TEXT is Return; shifted symbols are sent as their
 *                    keysyms, the server adds Shift as a viewer expects)
 *   key:KEYSYM       press and release one keysym (decimal or 0x hex)
 *   move:X,Y         pointer to (X, Y), no buttons
 *   click:X,Y,MASK   pointer to (X, Y) with buttons MASK, then released
 *   sleep:MS         wait, handling server messages
 *   capture:FILE     ask for the whole screen, wait for it, write it as a
 *                    binary PPM (P6) of what this viewer holds
 *   size             print the desktop size as WIDTHxHEIGHT
 * -d MS waits between typed keys (default 15): the guest reads its
 * keyboard through an emulated controller with a finite queue.
 * Exit 0 when every action was done; 1 with a message otherwise.
 */
#include <rfb/rfbclient.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *password;
static int update_seen;       /* a framebuffer update arrived */
static int full_w, full_h;    /* the pending full-screen request's size */
static int full_done;

static void
die(const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   fputs("vncdo: ", stderr);
   vfprintf(stderr, fmt, ap);
   fputc('\n', stderr);
   va_end(ap);
   exit(1);
}

static void
quiet_log(const char *format, ...)
{
}

static char *
get_password(rfbClient *cl)
{
   return strdup(password ? password : "");
}

static void
got_update(rfbClient *cl, int x, int y, int w, int h)
{
   update_seen = 1;
   /* The server may split the whole-screen answer into several rects;
    * count it done once the bottom-right corner is covered. */
   if (x + w >= full_w && y + h >= full_h) {
      full_done = 1;
   }
}

/* libvncclient 0.9.14 allocates new rcSource and rcMask for every cursor
 * shape and frees neither: we do not draw the cursor, so free them. */
static void
got_cursor(rfbClient *cl, int xhot, int yhot, int w, int h, int bpp)
{
   free(cl->rcSource);
   free(cl->rcMask);
   cl->rcSource = NULL;
   cl->rcMask = NULL;
}

static double
now_ms(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Handle server messages for ms milliseconds. */
static void
pump(rfbClient *cl, double ms)
{
   double end = now_ms() + ms;
   for (;;) {
      double left = end - now_ms();
      if (left <= 0) {
         return;
      }
      /* libvncclient 0.9.14's WaitForMessage ignores what it already
       * buffered (fixed upstream later). */
      int n = cl->buffered > 0 ? 1 : WaitForMessage(cl, (unsigned)(left * 1000));
      if (n < 0) {
         die("connection lost");
      }
      if (n > 0 && !HandleRFBServerMessage(cl)) {
         die("the server closed the connection or sent a bad message");
      }
   }
}

static void
send_key(rfbClient *cl, uint32_t ks, int delay_ms)
{
   if (!SendKeyEvent(cl, ks, TRUE) || !SendKeyEvent(cl, ks, FALSE)) {
      die("cannot send a key event");
   }
   pump(cl, delay_ms);
}

static void
capture(rfbClient *cl, const char *path)
{
   full_w = cl->width;
   full_h = cl->height;
   full_done = 0;
   if (!SendFramebufferUpdateRequest(cl, 0, 0, cl->width, cl->height, FALSE)) {
      die("cannot request an update");
   }
   double end = now_ms() + 10000;
   while (!full_done) {
      if (now_ms() > end) {
         die("no whole-screen update within 10 s");
      }
      pump(cl, 20);
   }
   /* libvncclient's framebuffer uses cl->format (32 bpp here). */
   const rfbPixelFormat *f = &cl->format;
   if (f->bitsPerPixel != 32) {
      die("unexpected client pixel format: %d bpp", f->bitsPerPixel);
   }
   char tmp[4096];
   snprintf(tmp, sizeof tmp, "%s.tmp", path);
   FILE *o = fopen(tmp, "wb");
   if (!o) {
      die("%s: %s", tmp, strerror(errno));
   }
   fprintf(o, "P6\n%d %d\n255\n", cl->width, cl->height);
   const uint32_t *px = (const uint32_t *)cl->frameBuffer;
   for (int y = 0; y < cl->height; y++) {
      for (int x = 0; x < cl->width; x++) {
         uint32_t p = px[(size_t)y * cl->width + x];
         unsigned char rgb[3] = {
            (unsigned char)(((p >> f->redShift) & f->redMax) * 255 / f->redMax),
            (unsigned char)(((p >> f->greenShift) & f->greenMax) * 255 / f->greenMax),
            (unsigned char)(((p >> f->blueShift) & f->blueMax) * 255 / f->blueMax),
         };
         fwrite(rgb, 1, 3, o);
      }
   }
   if (fclose(o) != 0 || rename(tmp, path) != 0) {
      die("%s: %s", path, strerror(errno));
   }
}

static void
parse_xy(const char *s, int *x, int *y, int *mask)
{
   int n = mask ? sscanf(s, "%d,%d,%d", x, y, mask) : sscanf(s, "%d,%d", x, y);
   if (n != (mask ? 3 : 2)) {
      die("bad coordinates '%s'", s);
   }
}

int
main(int argc, char **argv)
{
   if (argc < 3) {
      fprintf(stderr, "usage: vncdo HOST:PORT [-p PASSWORD] [-d MS] ACTION...\n");
      return 2;
   }
   char host[256];
   int port;
   if (sscanf(argv[1], "%255[^:]:%d", host, &port) != 2 || port <= 0 || port > 65535) {
      die("bad address '%s' (HOST:PORT)", argv[1]);
   }
   int i = 2, delay = 15;
   while (i + 1 < argc && argv[i][0] == '-') {
      if (!strcmp(argv[i], "-p")) {
         password = argv[i + 1];
      } else if (!strcmp(argv[i], "-d")) {
         delay = atoi(argv[i + 1]);
      } else {
         die("unknown option %s", argv[i]);
      }
      i += 2;
   }
   rfbClientLog = quiet_log;   /* progress chatter; errors still print */
   rfbClient *cl = rfbGetClient(8, 3, 4);
   cl->GetPassword = get_password;
   cl->GotFrameBufferUpdate = got_update;
   cl->GotCursorShape = got_cursor;
   free(cl->serverHost);   /* rfbGetClient's default, else it leaks */
   cl->serverHost = strdup(host);
   cl->serverPort = port;
   cl->canHandleNewFBSize = TRUE;
   cl->appData.useRemoteCursor = TRUE;   /* the server sends the cursor apart */
   cl->appData.enableJPEG = FALSE;       /* captures must be lossless */
   int fake_argc = 1;
   char *fake_argv[] = { argv[0], NULL };
   if (!rfbInitClient(cl, &fake_argc, fake_argv)) {
      die("cannot connect to %s:%d", host, port);   /* rfbInitClient freed cl */
   }
   for (; i < argc; i++) {
      const char *a = argv[i];
      int x, y, mask;
      if (!strncmp(a, "type:", 5)) {
         for (const char *p = a + 5; *p; p++) {
            uint32_t ks = *p == '\n' ? 0xff0d : (unsigned char)*p;
            if (ks != 0xff0d && (ks < 0x20 || ks > 0x7e)) {
               die("type: only printable ASCII and \\n");
            }
            send_key(cl, ks, delay);
         }
      } else if (!strncmp(a, "key:", 4)) {
         char *end;
         unsigned long ks = strtoul(a + 4, &end, 0);
         if (*end || ks == 0 || ks > 0x1fffffff) {
            die("bad keysym '%s'", a + 4);
         }
         send_key(cl, (uint32_t)ks, delay);
      } else if (!strncmp(a, "move:", 5)) {
         parse_xy(a + 5, &x, &y, NULL);
         if (!SendPointerEvent(cl, x, y, 0)) {
            die("cannot send a pointer event");
         }
         pump(cl, delay);
      } else if (!strncmp(a, "click:", 6)) {
         parse_xy(a + 6, &x, &y, &mask);
         if (!SendPointerEvent(cl, x, y, mask) || !SendPointerEvent(cl, x, y, 0)) {
            die("cannot send a pointer event");
         }
         pump(cl, delay);
      } else if (!strncmp(a, "sleep:", 6)) {
         pump(cl, atof(a + 6));
      } else if (!strncmp(a, "capture:", 8)) {
         capture(cl, a + 8);
      } else if (!strcmp(a, "size")) {
         printf("%dx%d\n", cl->width, cl->height);
         fflush(stdout);
      } else {
         die("unknown action '%s'", a);
      }
   }
   free(cl->frameBuffer);   /* rfbClientCleanup leaves it */
   cl->frameBuffer = NULL;
   rfbClientCleanup(cl);
   return 0;
}
