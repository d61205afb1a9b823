/*
 * End-to-end tests of the VNC server with the real client library
 * (libvncclient) in the same process, and a hand-written RFB client for
 * the protocol details libvncclient does not expose (security type lists,
 * the plain DesktopSize pseudo-encoding, the server's pixel format).
 */
#include "mks/console/vnc.h"
#include "mks/console/tests/input-recorder.h"
#include "vmx/vmxlog.h"

#include <X11/keysym.h>
#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <rfb/rfbclient.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PASSWORD "s3cr3t"

/* ---- input recorder (callbacks run on the VNC thread) */

static void
rec_key(void *opaque, uint32_t keysym, bool down)
{
   rec_push((ev){ .is_key = true, .keysym = keysym, .down = down });
}

static const mks_vnc_input recorder = { rec_key, rec_pointer, NULL };

/* ---- server and frames */

static mks_vnc *
start(const char *password)
{
   mks_vnc_config cfg = { 0 };
   cfg.ip = "127.0.0.1";
   cfg.port = 0;
   cfg.password = (char *)password;
   cfg.name = "test VM";
   char *err = NULL;
   mks_vnc *v = mks_vnc_new(&cfg, &recorder, &err);
   if (!v) {
      g_error("%s", err);
   }
   g_assert_cmpuint(mks_vnc_port(v), >, 0);
   return v;
}

typedef struct frame {
   unsigned w, h;
   size_t stride;   /* bytes */
   uint32_t *px;
} frame;

/* Noise (incompressible), a gradient, a few-colour area (Tight's palette
 * path) and a flat area with a grid (fills). X bytes are garbage. */
static frame
make_frame(unsigned w, unsigned h, uint32_t seed)
{
   frame f = { w, h, (size_t)(w + 7) * 4, NULL };
   f.px = g_new(uint32_t, (size_t)(w + 7) * h);
   uint32_t s = seed;
   for (unsigned y = 0; y < h; y++) {
      for (unsigned x = 0; x < w + 7; x++) {
         s = s * 1664525u + 1013904223u;
         uint32_t v;
         if (x < w / 2 && y < h / 2) {
            v = s >> 8;
         } else if (y < h / 2) {
            v = (x * 255 / w) << 16 | (y * 255 / h) << 8 | (seed & 0xff);
         } else if (x < w / 2) {
            static const uint32_t pal[5] = { 0xff0000, 0x00ff00, 0x0000ff, 0xffffff, 0x123456 };
            v = pal[((x / 3) + (y / 5)) % 5];
         } else {
            v = (x % 16 == 0 || y % 16 == 0) ? 0x202020 : 0xc0ffee;
         }
         f.px[(size_t)y * (w + 7) + x] = (s & 0xff000000u) | (v & 0xffffffu);
      }
   }
   return f;
}

static uint32_t
fpx(const frame *f, unsigned x, unsigned y)
{
   return f->px[(size_t)y * (f->stride / 4) + x] & 0xffffffu;
}

static void
show(mks_vnc *v, const frame *f)
{
   mks_vnc_set_mode(v, f->w, f->h);
   mks_vnc_update(v, f->px, f->stride, 0, 0, f->w, f->h);
}

/* ---- libvncclient side */

static int client_tag;

typedef struct cstate {
   const char *password;   /* NULL: GetPassword fails */
   unsigned updates;
   bool got_cursor;
   int cur_xhot, cur_yhot, cur_w, cur_h;
   uint8_t *last_mask;
} cstate;

static char *
get_password(rfbClient *c)
{
   cstate *st = rfbClientGetClientData(c, &client_tag);
   return st->password ? strdup(st->password) : NULL;
}

static void
on_finished(rfbClient *c)
{
   cstate *st = rfbClientGetClientData(c, &client_tag);
   st->updates++;
}

static void
on_cursor(rfbClient *c, int xhot, int yhot, int w, int h, int bpp)
{
   cstate *st = rfbClientGetClientData(c, &client_tag);
   /* libvncclient 0.9.14 replaces rcMask with each shape without freeing
    * the previous one: free it here. */
   if (st->last_mask && st->last_mask != c->rcMask) {
      free(st->last_mask);
   }
   st->last_mask = c->rcMask;
   st->got_cursor = true;
   st->cur_xhot = xhot;
   st->cur_yhot = yhot;
   st->cur_w = w;
   st->cur_h = h;
}

static void
quiet(const char *fmt, ...)
{
}

/* A viewer with bits per channel and bytes per pixel of its own. */
static rfbClient *
connect_client_fmt(unsigned port, cstate *st, const char *encodings, bool remote_cursor,
                   int bits, int bytes)
{
   rfbClient *c = rfbGetClient(bits, 3, bytes);
   free(c->serverHost);
   c->serverHost = strdup("127.0.0.1");
   c->serverPort = (int)port;
   c->appData.encodingsString = encodings;
   c->appData.enableJPEG = FALSE;   /* lossless: pixels must match exactly */
   c->appData.useRemoteCursor = remote_cursor;
   c->GetPassword = get_password;
   c->FinishedFrameBufferUpdate = on_finished;
   c->GotCursorShape = on_cursor;
   rfbClientSetClientData(c, &client_tag, st);
   if (!rfbInitClient(c, NULL, NULL)) {
      return NULL;   /* libvncclient freed it */
   }
   return c;
}

static rfbClient *
connect_client(unsigned port, cstate *st, const char *encodings, bool remote_cursor)
{
   return connect_client_fmt(port, st, encodings, remote_cursor, 8, 4);
}

static void
close_client(rfbClient *c)
{
   free(c->frameBuffer);
   free(c->rcSource);
   free(c->rcMask);
   c->frameBuffer = NULL;
   rfbClientCleanup(c);
}

/* The client's picture of pixel x, y as XRGB. */
static uint32_t
cpx(rfbClient *c, unsigned x, unsigned y)
{
   uint32_t p = 0;
   unsigned bpp = c->format.bitsPerPixel / 8;
   memcpy(&p, c->frameBuffer + ((size_t)y * c->width + x) * bpp, bpp);
   uint32_t r = (p >> c->format.redShift) & c->format.redMax;
   uint32_t g = (p >> c->format.greenShift) & c->format.greenMax;
   uint32_t b = (p >> c->format.blueShift) & c->format.blueMax;
   return r << 16 | g << 8 | b;
}

static bool
client_matches(rfbClient *c, const frame *f)
{
   if ((unsigned)c->width != f->w || (unsigned)c->height != f->h || !c->frameBuffer) {
      return false;
   }
   for (unsigned y = 0; y < f->h; y++) {
      for (unsigned x = 0; x < f->w; x++) {
         if (cpx(c, x, y) != fpx(f, x, y)) {
            return false;
         }
      }
   }
   return true;
}

static void
report_mismatch(rfbClient *c, const frame *f)
{
   unsigned bad = 0;
   if ((unsigned)c->width != f->w || (unsigned)c->height != f->h) {
      g_error("client is %dx%d, server %ux%u", c->width, c->height, f->w, f->h);
   }
   for (unsigned y = 0; y < f->h; y++) {
      for (unsigned x = 0; x < f->w; x++) {
         if (cpx(c, x, y) != fpx(f, x, y) && bad++ < 5) {
            g_printerr("pixel %u,%u: client %06x, server %06x\n", x, y, cpx(c, x, y),
                       fpx(f, x, y));
         }
      }
   }
   g_error("%u pixels differ", bad);
}

/* WaitForMessage, counting what libvncclient already read into its own
 * buffer: 0.9.14 looks only at the socket, so a message that arrived with
 * the previous one would wait there unnoticed (fixed upstream after 0.9.14). */
static int
wait_message(rfbClient *c, unsigned usecs)
{
   return c->buffered > 0 ? 1 : WaitForMessage(c, usecs);
}

/* Handle server messages until the client's picture is f (10 s at most). */
static void
pump_until_matches(rfbClient *c, const frame *f)
{
   gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
   while (!client_matches(c, f)) {
      if (g_get_monotonic_time() > end) {
         report_mismatch(c, f);
      }
      int n = wait_message(c, 50000);
      g_assert_cmpint(n, >=, 0);
      if (n > 0) {
         g_assert_true(HandleRFBServerMessage(c));
      }
   }
}

/* Ask for everything again in these encodings, from a cleared picture. */
static void
refresh_with(rfbClient *c, const char *encodings)
{
   c->appData.encodingsString = encodings;
   g_assert_true(SetFormatAndEncodings(c));
   memset(c->frameBuffer, 0, (size_t)c->width * c->height * 4);
   g_assert_true(SendFramebufferUpdateRequest(c, 0, 0, c->width, c->height, FALSE));
}

/* Poll until cond holds (10 s at most): counters the VNC thread updates
 * right after it has sent an update can lag the client's view of it. */
#define WAIT_FOR(cond) \
   do { \
      gint64 end_ = g_get_monotonic_time() + 10 * G_USEC_PER_SEC; \
      while (!(cond)) { \
         if (g_get_monotonic_time() > end_) { \
            g_error("line %d: waited 10 s for %s", __LINE__, #cond); \
         } \
         g_usleep(1000); \
      } \
   } while (0)

static uint64_t
stat_of(mks_vnc *v, size_t off)
{
   mks_vnc_stats s;
   mks_vnc_get_stats(v, &s);
   return *(const uint64_t *)((const char *)&s + off);
}

#define STAT(v, field) stat_of((v), offsetof(mks_vnc_stats, field))

/* ---- tests */

static void
test_config(void)
{
   char *err = NULL;
   vmxcfg *cfg = vmxcfg_new();
   mks_vnc_config c;
   g_assert_true(mks_vnc_config_read(cfg, &c, &err));
   g_assert_false(c.enabled);
   g_assert_cmpuint(c.port, ==, 5900);
   g_assert_cmpstr(c.ip, ==, "127.0.0.1");   /* this host only by default */
   g_assert_null(c.password);
   g_assert_cmpstr(c.name, ==, "vmws");
   mks_vnc_config_clear(&c);
   vmxcfg_set(cfg, "RemoteDisplay.vnc.enabled", "TRUE");
   vmxcfg_set(cfg, "remotedisplay.VNC.port", "5999");
   vmxcfg_set(cfg, "RemoteDisplay.vnc.password", "pw");
   vmxcfg_set(cfg, "RemoteDisplay.vnc.ip", "::1");
   vmxcfg_set(cfg, "displayName", "Debian 12");
   g_assert_true(mks_vnc_config_read(cfg, &c, &err));
   g_assert_true(c.enabled);
   g_assert_cmpuint(c.port, ==, 5999);
   g_assert_cmpstr(c.password, ==, "pw");
   g_assert_cmpstr(c.ip, ==, "::1");
   g_assert_cmpstr(c.name, ==, "Debian 12");
   mks_vnc_config_clear(&c);
   static const char *const bad[][2] = {
      { "RemoteDisplay.vnc.port", "70000" },
      { "RemoteDisplay.vnc.port", "-1" },
      { "RemoteDisplay.vnc.port", "five" },
      { "RemoteDisplay.vnc.ip", "localhost" },
      { "RemoteDisplay.vnc.ip", "10.0.0.300" },
      { "RemoteDisplay.vnc.enabled", "perhaps" },
   };
   for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
      vmxcfg *b = vmxcfg_new();
      vmxcfg_set(b, bad[i][0], bad[i][1]);
      g_assert_false(mks_vnc_config_read(b, &c, &err));
      if (!strstr(err, bad[i][1])) {
         g_error("error \"%s\" does not name the value %s", err, bad[i][1]);
      }
      g_clear_pointer(&err, g_free);
      vmxcfg_free(b);
   }
   vmxcfg_free(cfg);
}

/* A non-loopback IPv4 address of this host, or false. */
static bool
other_local_address(struct in_addr *out)
{
   struct ifaddrs *ifs;
   if (getifaddrs(&ifs) != 0) {
      return false;
   }
   bool found = false;
   for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
      if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET) {
         struct in_addr a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
         if ((ntohl(a.s_addr) >> 24) != 127) {
            *out = a;
            found = true;
         }
      }
   }
   freeifaddrs(ifs);
   return found;
}

static int
tcp_connect(struct in_addr a, unsigned port)
{
   int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
   struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr = a };
   struct timeval tv = { 5, 0 };
   setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
   setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
   if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
      int e = errno;
      close(fd);
      errno = e;
      return -1;
   }
   return fd;
}

static void
test_default_listens_on_loopback_only(void)
{
   vmxcfg *cfg = vmxcfg_new();
   mks_vnc_config c;
   char *err = NULL;
   g_assert_true(mks_vnc_config_read(cfg, &c, &err));
   c.port = 0;   /* 5900 may be taken on a test machine; the address is what matters */
   mks_vnc *v = mks_vnc_new(&c, NULL, &err);
   g_assert_nonnull(v);
   g_assert_cmpstr(mks_vnc_address(v), ==, "127.0.0.1");
   struct in_addr lo = { htonl(INADDR_LOOPBACK) };
   int fd = tcp_connect(lo, mks_vnc_port(v));
   g_assert_cmpint(fd, >=, 0);
   char greet[12];
   g_assert_cmpint(recv(fd, greet, 12, MSG_WAITALL), ==, 12);
   g_assert_cmpmem(greet, 12, "RFB 003.008\n", 12);
   close(fd);
   struct in_addr other;
   if (other_local_address(&other)) {
      char s[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, &other, s, sizeof s);
      g_test_message("checking that %s:%u is not served", s, mks_vnc_port(v));
      g_assert_cmpint(tcp_connect(other, mks_vnc_port(v)), <, 0);
      g_assert_cmpint(errno, ==, ECONNREFUSED);
   } else {
      g_test_message("no non-loopback IPv4 address here: only the bound address was checked");
   }
   /* A second server in the same process is refused. */
   mks_vnc *v2 = mks_vnc_new(&c, NULL, &err);
   g_assert_null(v2);
   g_assert_nonnull(strstr(err, "already"));
   g_clear_pointer(&err, g_free);
   /* A port that is taken: a clear error. */
   mks_vnc_free(v);
   int blocker = socket(AF_INET, SOCK_STREAM, 0);
   struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr = lo };
   g_assert_cmpint(bind(blocker, (struct sockaddr *)&sa, sizeof sa), ==, 0);
   g_assert_cmpint(listen(blocker, 1), ==, 0);
   socklen_t sl = sizeof sa;
   getsockname(blocker, (struct sockaddr *)&sa, &sl);
   c.port = ntohs(sa.sin_port);
   g_assert_null(mks_vnc_new(&c, NULL, &err));
   g_assert_nonnull(strstr(err, "127.0.0.1"));
   g_assert_nonnull(strstr(err, g_strerror(EADDRINUSE)));
   g_clear_pointer(&err, g_free);
   close(blocker);
   mks_vnc_config_clear(&c);
   vmxcfg_free(cfg);
}

/* An IPv6 listen address: bound as given, reachable there. */
static void
test_ipv6(void)
{
   int probe = socket(AF_INET6, SOCK_STREAM, 0);
   struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
   if (probe < 0 || bind(probe, (struct sockaddr *)&a, sizeof a) != 0) {
      if (probe >= 0) {
         close(probe);
      }
      g_test_skip("no IPv6 loopback on this machine");
      return;
   }
   close(probe);
   mks_vnc_config cfg = { .ip = "::1", .port = 0, .name = "v6" };
   char *err = NULL;
   mks_vnc *v = mks_vnc_new(&cfg, NULL, &err);
   if (!v) {
      g_error("%s", err);
   }
   g_assert_cmpstr(mks_vnc_address(v), ==, "::1");
   int fd = socket(AF_INET6, SOCK_STREAM, 0);
   a.sin6_port = htons((uint16_t)mks_vnc_port(v));
   g_assert_cmpint(connect(fd, (struct sockaddr *)&a, sizeof a), ==, 0);
   char greet[12];
   g_assert_cmpint(recv(fd, greet, 12, MSG_WAITALL), ==, 12);
   g_assert_cmpmem(greet, 12, "RFB 003.008\n", 12);
   close(fd);
   /* Only ::1: the IPv4 loopback is not served. */
   struct in_addr lo = { htonl(INADDR_LOOPBACK) };
   g_assert_cmpint(tcp_connect(lo, mks_vnc_port(v)), <, 0);
   mks_vnc_free(v);
}

static void
test_encodings_resize(void)
{
   mks_vnc *v = start(PASSWORD);
   frame f = make_frame(400, 300, 1);
   show(v, &f);
   cstate st = { .password = PASSWORD };
   rfbClient *c = connect_client(mks_vnc_port(v), &st, "tight", false);
   g_assert_nonnull(c);
   g_assert_cmpstr(c->desktopName, ==, "test VM");
   pump_until_matches(c, &f);
   WAIT_FOR(STAT(v, rects_tight) > 0);
   WAIT_FOR(STAT(v, updates) > 0);
   g_assert_cmpuint(STAT(v, rects_zrle), ==, 0);
   g_assert_cmpuint(STAT(v, rects_raw), ==, 0);
   g_assert_cmpuint(mks_vnc_client_count(v), ==, 1);

   /* The same picture again over ZRLE, then raw. */
   refresh_with(c, "zrle");
   pump_until_matches(c, &f);
   WAIT_FOR(STAT(v, rects_zrle) > 0);
   g_assert_cmpuint(STAT(v, rects_raw), ==, 0);
   refresh_with(c, "raw");
   pump_until_matches(c, &f);
   WAIT_FOR(STAT(v, rects_raw) > 0);
   WAIT_FOR(STAT(v, bytes) > 400u * 300 * 4);

   /* Damage: one rectangle changes, only it is sent. */
   refresh_with(c, "tight");
   pump_until_matches(c, &f);
   for (unsigned y = 100; y < 140; y++) {
      for (unsigned x = 250; x < 330; x++) {
         f.px[(size_t)y * (f.stride / 4) + x] = 0x00abcdef ^ (x * y);
      }
   }
   mks_vnc_update(v, f.px, f.stride, 250, 100, 80, 40);
   pump_until_matches(c, &f);

   /* The guest changes mode: the client learns the new size
    * (ExtendedDesktopSize for libvncclient) and gets the new picture. */
   frame g = make_frame(640, 480, 2);
   show(v, &g);
   pump_until_matches(c, &g);
   /* A width that is not a multiple of 4, over ZRLE. */
   frame h = make_frame(1366, 200, 3);
   show(v, &h);
   refresh_with(c, "zrle");
   pump_until_matches(c, &h);

   close_client(c);
   g_free(f.px);
   g_free(g.px);
   g_free(h.px);
   mks_vnc_free(v);
}

/* A whole-screen update where little changed sends a raw viewer only the
 * changed 16x16 tiles; one where nothing changed sends nothing. */
static void
test_unchanged_tiles_not_sent(void)
{
   mks_vnc *v = start(NULL);
   frame f = make_frame(400, 300, 4);
   show(v, &f);
   cstate st = { 0 };
   rfbClient *c = connect_client(mks_vnc_port(v), &st, "raw", false);
   g_assert_nonnull(c);
   pump_until_matches(c, &f);
   WAIT_FOR(STAT(v, updates) > 0);
   g_usleep(200000);
   uint64_t bytes0 = STAT(v, bytes), updates0 = STAT(v, updates);

   /* The same picture, all of it "updated": nothing goes out. */
   mks_vnc_update(v, f.px, f.stride, 0, 0, f.w, f.h);
   for (int i = 0; i < 10; i++) {
      int n = wait_message(c, 20000);
      g_assert_cmpint(n, >=, 0);
      if (n > 0) {
         g_assert_true(HandleRFBServerMessage(c));
      }
   }
   g_assert_cmpuint(STAT(v, updates), ==, updates0);
   g_assert_cmpuint(STAT(v, bytes), ==, bytes0);

   /* One pixel changes, the whole screen is "updated": one raw tile. */
   f.px[(size_t)100 * (f.stride / 4) + 250] ^= 0x00ffffff;
   mks_vnc_update(v, f.px, f.stride, 0, 0, f.w, f.h);
   pump_until_matches(c, &f);
   WAIT_FOR(STAT(v, bytes) > bytes0);
   g_usleep(100000);
   uint64_t sent = STAT(v, bytes) - bytes0;
   /* message header 4 + rect header 12 + 16 x 16 pixels */
   g_assert_cmpuint(sent, <=, 4 + 12 + 16 * 16 * 4);

   /* Two pixels far apart in one band: a raw viewer gets the two tiles,
    * not the run between them. */
   g_usleep(100000);
   bytes0 = STAT(v, bytes);
   f.px[(size_t)120 * (f.stride / 4) + 20] ^= 0x00ffffff;
   f.px[(size_t)120 * (f.stride / 4) + 380] ^= 0x00ffffff;
   mks_vnc_update(v, f.px, f.stride, 0, 0, f.w, f.h);
   pump_until_matches(c, &f);
   WAIT_FOR(STAT(v, bytes) > bytes0);
   g_usleep(100000);
   sent = STAT(v, bytes) - bytes0;
   g_assert_cmpuint(sent, <=, 4 + 2 * (12 + 16 * 16 * 4));
   close_client(c);
   g_free(f.px);
   mks_vnc_free(v);
}

/* A viewer that asks for JPEG (Tight with a quality level): lossy, so the
 * picture is compared loosely, in the flat and gradient areas. */
static void
test_tight_jpeg(void)
{
   mks_vnc *v = start(NULL);
   frame f = make_frame(256, 256, 9);
   show(v, &f);
   cstate st = { 0 };
   rfbClient *c = rfbGetClient(8, 3, 4);
   free(c->serverHost);
   c->serverHost = strdup("127.0.0.1");
   c->serverPort = (int)mks_vnc_port(v);
   c->appData.encodingsString = "tight";
   c->appData.enableJPEG = TRUE;
   c->appData.qualityLevel = 9;
   c->FinishedFrameBufferUpdate = on_finished;
   rfbClientSetClientData(c, &client_tag, &st);
   g_assert_true(rfbInitClient(c, NULL, NULL));
   gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
   bool close_enough = false;
   while (!close_enough) {
      g_assert_cmpint(g_get_monotonic_time(), <, end);
      if (wait_message(c, 50000) > 0) {
         g_assert_true(HandleRFBServerMessage(c));
      }
      close_enough = st.updates > 0;
      for (unsigned y = 0; close_enough && y < 256; y++) {
         for (unsigned x = 0; close_enough && x < 256; x++) {
            if (y < 128 && x < 128) {
               continue;   /* noise */
            }
            uint32_t a = cpx(c, x, y), b = fpx(&f, x, y);
            for (int sh = 0; sh <= 16; sh += 8) {
               int d = (int)((a >> sh) & 255) - (int)((b >> sh) & 255);
               close_enough = close_enough && d >= -48 && d <= 48;
            }
         }
      }
   }
   WAIT_FOR(STAT(v, rects_tight) > 0);
   close_client(c);
   g_free(f.px);
   mks_vnc_free(v);
}

/* Our Tight encoder (vnc-tight.h) serves lossless Tight viewers: exact at
 * every compression level, for pictures cut into several Tight pieces, and
 * sharing the viewer's zlib streams with libvncserver's encoder, so a
 * viewer that turns JPEG on (libvncserver's Tight) and off again still
 * decodes every rectangle. */
static void
test_tight_ours(void)
{
   mks_vnc *v = start(NULL);
   frame f = make_frame(700, 500, 5);   /* wider than 65536 / 500 rows: pieces */
   show(v, &f);
   cstate st = { 0 };
   rfbClient *c = connect_client(mks_vnc_port(v), &st, "tight", true);
   g_assert_nonnull(c);
   pump_until_matches(c, &f);
   WAIT_FOR(STAT(v, tight_ours) > 1);

   static const int compress[] = { 0, 1, 2, 3, 5, 6, 9 };
   for (unsigned i = 0; i < G_N_ELEMENTS(compress); i++) {
      c->appData.compressLevel = compress[i];
      /* change a band: the streams carry on from the last rectangle */
      frame g = make_frame(700, 500, 10 + i);
      for (unsigned y = 60 * i; y < 60 * i + 90; y++) {
         memcpy(f.px + (size_t)y * (f.stride / 4), g.px + (size_t)y * (g.stride / 4),
                f.stride);
      }
      g_free(g.px);
      mks_vnc_update(v, f.px, f.stride, 0, 60 * i, f.w, 90);
      pump_until_matches(c, &f);
      refresh_with(c, "tight");
      pump_until_matches(c, &f);
   }

   /* Areas of one, two and five colours: fill, 1-bit and 8-bit palettes.
    * Only the changed tiles go out, so each is a rectangle of its own. */
   static const uint32_t five[5] = { 0x00ff00, 0xfe0000, 0x0000fd, 0xfafafa, 0x654321 };
   for (unsigned i = 0; i < 6; i++) {
      unsigned x0 = f.w / 2 + 16 * (i % 3), y0 = 20 + 80 * i, w = 128 + 48 * i, h = 40;
      unsigned ncol = i < 2 ? 1 : i < 4 ? 2 : 5;
      for (unsigned y = y0; y < y0 + h; y++) {
         for (unsigned x = x0; x < MIN(x0 + w, f.w); x++) {
            uint32_t col = five[((x * 7) / (i + 3) + y * (i + 1)) % ncol];
            f.px[(size_t)y * (f.stride / 4) + x] = 0xff000000u | (col ^ (i * 0x010101u));
         }
      }
      mks_vnc_update(v, f.px, f.stride, x0, y0, MIN(w, f.w - x0), h);
      pump_until_matches(c, &f);
   }

   /* JPEG on: libvncserver encodes (loosely checked: it got an update);
    * then off again, and the picture must be exact. */
   uint64_t ours = STAT(v, tight_ours);
   for (int round = 0; round < 3; round++) {
      c->appData.enableJPEG = TRUE;
      c->appData.qualityLevel = 6;
      unsigned before = st.updates;
      refresh_with(c, "tight");
      gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
      while (st.updates == before) {
         g_assert_cmpint(g_get_monotonic_time(), <, end);
         if (wait_message(c, 50000) > 0) {
            g_assert_true(HandleRFBServerMessage(c));
         }
      }
      c->appData.enableJPEG = FALSE;
      refresh_with(c, "tight");
      pump_until_matches(c, &f);
   }
   g_assert_cmpuint(STAT(v, tight_ours), >, ours);
   close_client(c);
   g_free(f.px);
   mks_vnc_free(v);
}

/* A 16-bit viewer (5 bits a channel): our encoder translates to its format
 * (palette entries and full-colour pixels alike). */
static void
test_tight_ours_16bit(void)
{
   mks_vnc *v = start(NULL);
   frame f = make_frame(300, 200, 6);
   show(v, &f);
   cstate st = { 0 };
   rfbClient *c = connect_client_fmt(mks_vnc_port(v), &st, "tight", true, 5, 2);
   g_assert_nonnull(c);
   g_assert_cmpint(c->format.bitsPerPixel, ==, 16);
   gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
   bool same = false;
   while (!same) {
      g_assert_cmpint(g_get_monotonic_time(), <, end);
      if (wait_message(c, 50000) > 0) {
         g_assert_true(HandleRFBServerMessage(c));
      }
      same = st.updates > 0;
      for (unsigned y = 0; same && y < f.h; y++) {
         for (unsigned x = 0; same && x < f.w; x++) {
            uint32_t a = cpx(c, x, y), b = fpx(&f, x, y);
            for (int sh = 0; sh <= 16; sh += 8) {
               /* the client's 5-bit value against the server's 8 bits */
               int want = (int)(((b >> sh) & 255) * 31 + 127) / 255;
               int got = (int)((a >> sh) & 255);
               same = same && got >= want - 1 && got <= want + 1;
            }
         }
      }
   }
   g_assert_cmpuint(STAT(v, tight_ours), >, 0);
   close_client(c);
   g_free(f.px);
   mks_vnc_free(v);
}

static void
test_input(void)
{
   mks_vnc *v = start(NULL);
   frame f = make_frame(320, 200, 4);
   show(v, &f);
   cstate st = { 0 };
   rfbClient *c = connect_client(mks_vnc_port(v), &st, "raw", false);
   g_assert_nonnull(c);
   pump_until_matches(c, &f);
   clear_events();
   /* Keys. */
   SendKeyEvent(c, XK_Shift_L, TRUE);
   SendKeyEvent(c, XK_A, TRUE);
   SendKeyEvent(c, XK_A, FALSE);
   SendKeyEvent(c, XK_Shift_L, FALSE);
   SendKeyEvent(c, XK_F12, TRUE);
   SendKeyEvent(c, XK_F12, FALSE);
   ev e[16];
   take_events(6, e);
   static const struct {
      uint32_t ks;
      bool down;
   } keys[] = { { XK_Shift_L, 1 }, { XK_A, 1 }, { XK_A, 0 }, { XK_Shift_L, 0 }, { XK_F12, 1 },
                { XK_F12, 0 } };
   for (unsigned i = 0; i < 6; i++) {
      g_assert_true(e[i].is_key);
      g_assert_cmphex(e[i].keysym, ==, keys[i].ks);
      g_assert_cmpint(e[i].down, ==, keys[i].down);
   }
   /* Pointer: move, left press, drag with right too, release, wheel up
    * (button 4 press+release), wheel down, horizontal, button 8, a
    * position beyond the screen. */
   SendPointerEvent(c, 10, 20, 0);
   SendPointerEvent(c, 11, 21, rfbButton1Mask);
   SendPointerEvent(c, 12, 22, rfbButton1Mask | rfbButton3Mask);
   SendPointerEvent(c, 12, 22, 0);
   SendPointerEvent(c, 12, 22, rfbButton4Mask);
   SendPointerEvent(c, 12, 22, 0);
   SendPointerEvent(c, 13, 23, rfbButton5Mask | rfbButton2Mask);
   SendPointerEvent(c, 13, 23, 0);
   SendPointerEvent(c, 13, 23, 0x40);
   SendPointerEvent(c, 13, 23, 0x80);
   SendPointerEvent(c, 5000, 5000, 0);
   take_events(11, e);
   static const ev want[] = {
      { .x = 10, .y = 20 },
      { .x = 11, .y = 21, .buttons = MKS_BUTTON_LEFT },
      { .x = 12, .y = 22, .buttons = MKS_BUTTON_LEFT | MKS_BUTTON_RIGHT },
      { .x = 12, .y = 22 },
      { .x = 12, .y = 22, .dz = 1 },
      { .x = 12, .y = 22 },
      { .x = 13, .y = 23, .buttons = MKS_BUTTON_MIDDLE, .dz = -1 },
      { .x = 13, .y = 23 },
      { .x = 13, .y = 23, .dw = 1 },
      { .x = 13, .y = 23, .buttons = MKS_BUTTON_SIDE },
      { .x = 319, .y = 199 },
   };
   for (unsigned i = 0; i < G_N_ELEMENTS(want); i++) {
      g_assert_false(e[i].is_key);
      g_assert_cmpint(e[i].x, ==, want[i].x);
      g_assert_cmpint(e[i].y, ==, want[i].y);
      g_assert_cmphex(e[i].buttons, ==, want[i].buttons);
      g_assert_cmpint(e[i].dz, ==, want[i].dz);
      g_assert_cmpint(e[i].dw, ==, want[i].dw);
   }
   /* A viewer that goes away with a key and a button held: both are
    * released. */
   SendKeyEvent(c, XK_Control_L, TRUE);
   SendKeyEvent(c, XK_Alt_L, TRUE);
   SendPointerEvent(c, 30, 40, rfbButton1Mask);
   take_events(3, e);
   close_client(c);
   take_events(3, e);
   g_assert_true(e[0].is_key && !e[0].down);
   g_assert_true(e[1].is_key && !e[1].down);
   g_assert_cmphex(e[0].keysym ^ e[1].keysym, ==, XK_Control_L ^ XK_Alt_L);
   g_assert_false(e[2].is_key);
   g_assert_cmpint(e[2].x, ==, 30);
   g_assert_cmpint(e[2].y, ==, 40);
   g_assert_cmpuint(e[2].buttons, ==, 0);
   g_free(f.px);
   mks_vnc_free(v);
}

static void
test_auth(void)
{
   mks_vnc *v = start(PASSWORD);
   cstate wrong = { .password = "guess" };
   g_assert_null(connect_client(mks_vnc_port(v), &wrong, "raw", false));
   cstate none = { .password = NULL };
   g_assert_null(connect_client(mks_vnc_port(v), &none, "raw", false));
   cstate right = { .password = PASSWORD };
   rfbClient *c = connect_client(mks_vnc_port(v), &right, "raw", false);
   g_assert_nonnull(c);
   close_client(c);
   g_assert_cmpuint(STAT(v, auth_failures), ==, 1);
   g_assert_cmpuint(STAT(v, clients), ==, 3);
   /* Five failures in a row lock authentication out, even for the right
    * password. */
   for (int i = 0; i < 5; i++) {
      g_assert_null(connect_client(mks_vnc_port(v), &wrong, "raw", false));
   }
   g_assert_null(connect_client(mks_vnc_port(v), &right, "raw", false));
   g_assert_cmpuint(STAT(v, auth_failures), ==, 7);
   mks_vnc_free(v);
   /* VNC authentication keys DES with the first 8 characters only. */
   v = start("abcdefgh-and-more");
   cstate eight = { .password = "abcdefgh" };
   c = connect_client(mks_vnc_port(v), &eight, "raw", false);
   g_assert_nonnull(c);
   close_client(c);
   mks_vnc_free(v);
}

/* ---- a minimal RFB client on a socket */

static void
rd(int fd, void *p, size_t n)
{
   ssize_t r = recv(fd, p, n, MSG_WAITALL);
   if (r != (ssize_t)n) {
      g_error("read %zd of %zu bytes: %s", r, n, r < 0 ? g_strerror(errno) : "EOF");
   }
}

static void
wr(int fd, const void *p, size_t n)
{
   g_assert_cmpint(send(fd, p, n, MSG_NOSIGNAL), ==, (ssize_t)n);
}

static uint16_t
be16(const uint8_t *p)
{
   return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
   return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Version handshake; returns the security types offered. */
static unsigned
raw_hello(int fd, uint8_t *types)
{
   char ver[12];
   rd(fd, ver, 12);
   g_assert_cmpmem(ver, 12, "RFB 003.008\n", 12);
   wr(fd, "RFB 003.008\n", 12);
   uint8_t n;
   rd(fd, &n, 1);
   g_assert_cmpuint(n, >, 0);
   rd(fd, types, n);
   return n;
}

static void
test_protocol_details(void)
{
   struct in_addr lo = { htonl(INADDR_LOOPBACK) };
   /* With a password, VNC authentication is the only type offered, and a
    * client choosing None is disconnected. */
   mks_vnc *v = start(PASSWORD);
   int fd = tcp_connect(lo, mks_vnc_port(v));
   uint8_t types[16];
   unsigned n = raw_hello(fd, types);
   g_assert_cmpuint(n, ==, 1);
   g_assert_cmpuint(types[0], ==, 2);
   wr(fd, "\x01", 1);
   uint8_t b;
   g_assert_cmpint(recv(fd, &b, 1, MSG_WAITALL), <=, 0);
   close(fd);
   mks_vnc_free(v);

   /* Without one: None; the server's pixel format is XRGB8888; raw pixels
    * are the framebuffer's bytes; DesktopSize (not extended) on a mode
    * change. */
   v = start(NULL);
   frame f = make_frame(64, 32, 5);
   show(v, &f);
   fd = tcp_connect(lo, mks_vnc_port(v));
   n = raw_hello(fd, types);
   g_assert_cmpuint(n, ==, 1);
   g_assert_cmpuint(types[0], ==, 1);
   wr(fd, "\x01", 1);
   uint8_t res[4];
   rd(fd, res, 4);
   g_assert_cmpuint(be32(res), ==, 0);
   wr(fd, "\x01", 1);   /* ClientInit, shared */
   uint8_t si[24];
   rd(fd, si, 24);
   g_assert_cmpuint(be16(si), ==, 64);
   g_assert_cmpuint(be16(si + 2), ==, 32);
   const uint8_t *pf = si + 4;
   g_assert_cmpuint(pf[0], ==, 32);                 /* bits per pixel */
   g_assert_cmpuint(pf[1], ==, 24);                 /* depth */
   g_assert_cmpuint(pf[2], ==, 0);                  /* little-endian */
   g_assert_cmpuint(pf[3], ==, 1);                  /* true colour */
   g_assert_cmpuint(be16(pf + 4), ==, 255);
   g_assert_cmpuint(pf[10], ==, 16);                /* red shift */
   g_assert_cmpuint(pf[11], ==, 8);
   g_assert_cmpuint(pf[12], ==, 0);
   uint32_t nl = be32(si + 20);
   char name[64] = { 0 };
   g_assert_cmpuint(nl, <, sizeof name);
   rd(fd, name, nl);
   g_assert_cmpstr(name, ==, "test VM");
   /* SetEncodings: raw, DesktopSize (-223). */
   static const uint8_t se[] = { 2, 0, 0, 2, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x21 };
   wr(fd, se, sizeof se);
   uint8_t fur[10] = { 3, 0, 0, 0, 0, 0, 0, 64, 0, 32 };
   wr(fd, fur, sizeof fur);
   /* Collect rectangles until the whole 64x32 came. */
   uint32_t got[64 * 32];
   unsigned covered = 0;
   while (covered < 64 * 32) {
      uint8_t hdr[4];
      rd(fd, hdr, 4);
      g_assert_cmpuint(hdr[0], ==, 0);
      for (unsigned r = be16(hdr + 2); r > 0; r--) {
         uint8_t rh[12];
         rd(fd, rh, 12);
         unsigned x = be16(rh), y = be16(rh + 2), w = be16(rh + 4), h = be16(rh + 6);
         g_assert_cmpuint(be32(rh + 8), ==, 0);
         for (unsigned j = 0; j < h; j++) {
            rd(fd, got + (y + j) * 64 + x, (size_t)w * 4);
         }
         covered += w * h;
      }
   }
   for (unsigned y = 0; y < 32; y++) {
      for (unsigned x = 0; x < 64; x++) {
         g_assert_cmphex(got[y * 64 + x] & 0xffffff, ==, fpx(&f, x, y));
      }
   }
   frame g = make_frame(100, 60, 6);
   show(v, &g);
   fur[1] = 1;   /* incremental */
   wr(fd, fur, sizeof fur);
   uint8_t hdr[4], rh[12];
   rd(fd, hdr, 4);
   g_assert_cmpuint(be16(hdr + 2), ==, 1);
   rd(fd, rh, 12);
   g_assert_cmphex(be32(rh + 8), ==, 0xffffff21u);
   g_assert_cmpuint(be16(rh + 4), ==, 100);
   g_assert_cmpuint(be16(rh + 6), ==, 60);
   close(fd);
   g_free(f.px);
   g_free(g.px);
   mks_vnc_free(v);
}

/* Rich cursor to a viewer with cursor updates; alpha-blended into the
 * picture for one without. */
static void
test_cursor(void)
{
   mks_vnc *v = start(NULL);
   frame f = make_frame(200, 100, 7);
   show(v, &f);
   enum { CW = 12, CH = 10 };
   uint32_t cur[CW * CH];
   for (unsigned y = 0; y < CH; y++) {
      for (unsigned x = 0; x < CW; x++) {
         uint32_t a = x < 4 ? 0xff : x < 8 ? 0x80 : (x < 10 ? 0x40 : 0);
         uint32_t rgb = (x * 20) << 16 | (y * 25) << 8 | 0x5a;
         cur[y * CW + x] = a << 24 | rgb;
      }
   }
   mks_vnc_set_cursor(v, cur, CW, CH, 3, 2, false);
   mks_vnc_move_cursor(v, 50, 40);

   /* With cursor updates: the shape, the hot spot, the 1-bit mask. */
   cstate st = { 0 };
   rfbClient *c = connect_client(mks_vnc_port(v), &st, "raw", true);
   g_assert_nonnull(c);
   gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
   while (!st.got_cursor || !client_matches(c, &f)) {
      g_assert_cmpint(g_get_monotonic_time(), <, end);
      if (wait_message(c, 50000) > 0) {
         g_assert_true(HandleRFBServerMessage(c));
      }
   }
   g_assert_cmpint(st.cur_w, ==, CW);
   g_assert_cmpint(st.cur_h, ==, CH);
   g_assert_cmpint(st.cur_xhot, ==, 3);
   g_assert_cmpint(st.cur_yhot, ==, 2);
   for (unsigned y = 0; y < CH; y++) {
      for (unsigned x = 0; x < CW; x++) {
         uint32_t a = cur[y * CW + x] >> 24;
         g_assert_cmpuint(c->rcMask[y * CW + x], ==, a >= 0x80);
         uint32_t p;
         memcpy(&p, c->rcSource + (y * CW + x) * 4, 4);
         uint32_t rgb = ((p >> c->format.redShift) & 255) << 16 |
                        ((p >> c->format.greenShift) & 255) << 8 | ((p >> c->format.blueShift) & 255);
         g_assert_cmphex(rgb, ==, cur[y * CW + x] & 0xffffff);
      }
   }
   close_client(c);

   /* Without: the cursor is blended into the picture at its position. */
   cstate st2 = { 0 };
   c = connect_client(mks_vnc_port(v), &st2, "raw", false);
   g_assert_nonnull(c);
   frame blended = f;
   blended.px = g_memdup2(f.px, f.stride * f.h);
   for (unsigned y = 0; y < CH; y++) {
      for (unsigned x = 0; x < CW; x++) {
         unsigned fx = 50 - 3 + x, fy = 40 - 2 + y;
         uint32_t s = cur[y * CW + x], a = s >> 24, d = fpx(&f, fx, fy), out = 0;
         for (int sh = 0; sh <= 16; sh += 8) {
            uint32_t sc = (s >> sh) & 255, dc = (d >> sh) & 255;
            uint32_t r = a ? a * sc / 255 + (255 - a) * dc / 255 : dc;
            out |= r << sh;
         }
         blended.px[(size_t)fy * (f.stride / 4) + fx] = out;
      }
   }
   pump_until_matches(c, &blended);
   /* Hidden: the picture is the framebuffer again. */
   mks_vnc_hide_cursor(v);
   pump_until_matches(c, &f);
   close_client(c);
   g_free(blended.px);
   g_free(f.px);
   mks_vnc_free(v);
}

/* Producers on other threads (the MKS thread's role) while a viewer
 * reads: nothing lost, nothing torn in the end (and, under ThreadSanitizer,
 * no data race). */
typedef struct producer {
   mks_vnc *v;
   frame *f;
   atomic_bool stop;
} producer;

static void *
produce_pixels(void *arg)
{
   producer *p = arg;
   uint32_t s = 12345;
   unsigned n = 0;
   while (!atomic_load(&p->stop) || n < 50) {
      s = s * 1664525u + 1013904223u;
      unsigned x = (s >> 8) % p->f->w, y = (s >> 16) % p->f->h;
      unsigned w = 1 + (s % 37), h = 1 + ((s >> 4) % 23);
      w = MIN(w, p->f->w - x);
      h = MIN(h, p->f->h - y);
      for (unsigned j = y; j < y + h; j++) {
         for (unsigned i = x; i < x + w; i++) {
            p->f->px[(size_t)j * (p->f->stride / 4) + i] = s & 0xffffff;
         }
      }
      mks_vnc_update(p->v, p->f->px, p->f->stride, x, y, w, h);
      n++;
   }
   return NULL;
}

static void *
produce_cursor(void *arg)
{
   producer *p = arg;
   uint32_t cur[16 * 16];
   unsigned n = 0;
   while (!atomic_load(&p->stop) || n < 50) {
      for (unsigned i = 0; i < 256; i++) {
         cur[i] = (n & 1 ? 0xff000000u : 0x80000000u) | (i * 0x010101u * n);
      }
      mks_vnc_set_cursor(p->v, cur, 16, 16, n % 16, 0, n & 2);
      mks_vnc_move_cursor(p->v, (int)(n * 7 % 200), (int)(n * 3 % 100));
      if (n % 10 == 9) {
         mks_vnc_hide_cursor(p->v);
      }
      n++;
   }
   return NULL;
}

static void
test_producer_threads(void)
{
   mks_vnc *v = start(NULL);
   frame f = make_frame(200, 100, 11);
   show(v, &f);
   cstate st = { 0 };
   rfbClient *c = connect_client(mks_vnc_port(v), &st, "zrle", true);
   g_assert_nonnull(c);
   producer p = { v, &f, false };
   pthread_t t1, t2;
   pthread_create(&t1, NULL, produce_pixels, &p);
   pthread_create(&t2, NULL, produce_cursor, &p);
   gint64 end = g_get_monotonic_time() + G_USEC_PER_SEC / 2;
   while (g_get_monotonic_time() < end) {
      if (wait_message(c, 10000) > 0) {
         g_assert_true(HandleRFBServerMessage(c));
      }
   }
   atomic_store(&p.stop, true);
   pthread_join(t1, NULL);
   pthread_join(t2, NULL);
   /* Everything the producers left is what the viewer ends up with. */
   pump_until_matches(c, &f);
   close_client(c);
   g_free(f.px);
   mks_vnc_free(v);
}

/* Stopping the server with a viewer connected: the viewer sees the
 * connection close, and held keys are released. */
static void
test_shutdown_with_client(void)
{
   mks_vnc *v = start(NULL);
   cstate st = { 0 };
   rfbClient *c = connect_client(mks_vnc_port(v), &st, "raw", false);
   g_assert_nonnull(c);
   clear_events();
   SendKeyEvent(c, XK_b, TRUE);
   ev e[2];
   take_events(1, e);
   mks_vnc_free(v);
   take_events(1, e);
   g_assert_true(e[0].is_key && !e[0].down && e[0].keysym == XK_b);
   gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
   bool closed = false;
   while (!closed && g_get_monotonic_time() < end) {
      int n = wait_message(c, 50000);
      closed = n < 0 || (n > 0 && !HandleRFBServerMessage(c));
   }
   g_assert_true(closed);
   close_client(c);
}

/* ---- a producer that stops copying while nobody watches */

static atomic_uint refreshes;

static void
count_refresh(void *opaque)
{
   atomic_fetch_add(&refreshes, 1);
}

static void
wait_refreshes(unsigned n)
{
   WAIT_FOR(atomic_load(&refreshes) >= n);
   g_usleep(20000);
   g_assert_cmpuint(atomic_load(&refreshes), ==, n);
}

typedef struct held_viewer {
   unsigned port;
   cstate st;
   rfbClient *c;
} held_viewer;

static void *
connect_held(void *arg)
{
   held_viewer *h = arg;
   h->c = connect_client(h->port, &h->st, "raw", false);
   return NULL;
}

static void
test_invalidate(void)
{
   mks_vnc_config cfg = { .ip = "127.0.0.1", .name = "test VM" };
   const mks_vnc_input in = { rec_key, rec_pointer, NULL, count_refresh };
   char *err = NULL;
   mks_vnc *v = mks_vnc_new(&cfg, &in, &err);
   g_assert_nonnull(v);
   atomic_store(&refreshes, 0);
   frame f = make_frame(96, 64, 31), g = make_frame(96, 64, 32), k = make_frame(96, 64, 33);
   show(v, &f);

   /* Nobody watches: the producer stops (g is drawn meanwhile). A viewer
    * connecting now is counted but hears nothing, not even the greeting;
    * the producer is asked for the picture once; a part is not enough. */
   mks_vnc_invalidate(v);
   struct in_addr lo = { htonl(INADDR_LOOPBACK) };
   int fd = tcp_connect(lo, mks_vnc_port(v));
   g_assert_cmpint(fd, >=, 0);
   WAIT_FOR(mks_vnc_client_count(v) == 1);
   wait_refreshes(1);
   struct pollfd pfd = { fd, POLLIN, 0 };
   g_assert_cmpint(poll(&pfd, 1, 200), ==, 0);
   mks_vnc_update(v, g.px, g.stride, 0, 0, 96, 63);
   g_assert_cmpint(poll(&pfd, 1, 200), ==, 0);
   g_assert_cmpuint(atomic_load(&refreshes), ==, 1);

   /* The whole picture: the greeting comes, and a viewer sees g. */
   mks_vnc_update(v, g.px, g.stride, 0, 0, 96, 64);
   char greeting[12];
   rd(fd, greeting, sizeof greeting);
   g_assert_cmpmem(greeting, 12, "RFB 003.008\n", 12);
   close(fd);
   cstate st = { 0 };
   rfbClient *c = connect_client(mks_vnc_port(v), &st, "raw", false);
   g_assert_nonnull(c);
   pump_until_matches(c, &g);
   close_client(c);
   WAIT_FOR(mks_vnc_client_count(v) == 0);

   /* Again, with a real viewer waiting through the handshake: it gets the
    * picture the producer sends when asked. */
   mks_vnc_invalidate(v);
   held_viewer h = { .port = mks_vnc_port(v) };
   pthread_t t;
   pthread_create(&t, NULL, connect_held, &h);
   wait_refreshes(2);
   mks_vnc_update(v, k.px, k.stride, 0, 0, 96, 64);
   pthread_join(t, NULL);
   g_assert_nonnull(h.c);
   pump_until_matches(h.c, &k);
   close_client(h.c);
   mks_vnc_free(v);
   g_free(f.px);
   g_free(g.px);
   g_free(k.px);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   if (g_test_verbose()) {
      vmxlog_set_stderr(true);
   } else {
      rfbClientLog = quiet;
   }
   g_test_add_func("/mks/vnc/config", test_config);
   g_test_add_func("/mks/vnc/default-loopback-only", test_default_listens_on_loopback_only);
   g_test_add_func("/mks/vnc/ipv6", test_ipv6);
   g_test_add_func("/mks/vnc/unchanged-tiles-not-sent", test_unchanged_tiles_not_sent);
   g_test_add_func("/mks/vnc/encodings-resize", test_encodings_resize);
   g_test_add_func("/mks/vnc/tight-jpeg", test_tight_jpeg);
   g_test_add_func("/mks/vnc/tight-ours", test_tight_ours);
   g_test_add_func("/mks/vnc/tight-ours-16bit", test_tight_ours_16bit);
   g_test_add_func("/mks/vnc/input", test_input);
   g_test_add_func("/mks/vnc/auth", test_auth);
   g_test_add_func("/mks/vnc/protocol-details", test_protocol_details);
   g_test_add_func("/mks/vnc/cursor", test_cursor);
   g_test_add_func("/mks/vnc/producer-threads", test_producer_threads);
   g_test_add_func("/mks/vnc/shutdown-with-client", test_shutdown_with_client);
   g_test_add_func("/mks/vnc/invalidate", test_invalidate);
   return g_test_run();
}
