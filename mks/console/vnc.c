/*
 * mks/console/vnc.c - VNC server on libvncserver, run from a thread of its
 * own. See vnc.h.
 *
 * The VNC thread owns the rfbScreen: it accepts connections on the
 * sockets bound here (libvncserver's own listening code cannot bind port 0
 * or report what it bound), hands them to rfbNewClient(), and runs
 * rfbProcessEvents() with a zero timeout after poll() says a socket or the
 * wake-up eventfd is ready. Producers write into a staging copy of the
 * framebuffer and a damage region under v->lock; the VNC thread moves the
 * damaged parts into libvncserver's framebuffer and marks them modified.
 * So a slow viewer (libvncserver blocks while writing to it) delays other
 * viewers but never the MKS thread.
 *
 * While nobody is connected the producer may stop copying pixels
 * (mks_vnc_invalidate). A viewer that connects then is accepted but not
 * handed to libvncserver (so it gets nothing, not even the greeting) until
 * an update has covered the whole screen and reached libvncserver's
 * framebuffer; the refresh callback asks the producer for that update.
 */
#include "mks/console/vnc.h"
#include "mks/console/vnc-tight.h"
#include "vmx/vmxlog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <rfb/rfb.h>
#include <rfb/rfbregion.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the XRGB8888 server format below assumes a little-endian host"
#endif

#define BPP 4
#define AUTH_FAIL_LIMIT 5
#define AUTH_LOCKOUT_S 10
#define MAX_KEYS_HELD 32

/* Per viewer, in cl->clientData (VNC thread only). */
typedef struct vnc_client {
   uint32_t keys[MAX_KEYS_HELD];   /* keysyms held down */
   unsigned nkeys;
   int mask;                        /* last RFB button mask */
   int x, y;
   int stat_enc[4];                 /* rects counted so far: raw, tight, zrle, other */
   int stat_bytes;
   int stat_updates;
   vnc_tight *tight;                /* our Tight encoder, on the viewer's streams */
   GByteArray *tight_out;
} vnc_client;

/* A cursor handed from a producer to the VNC thread. */
typedef struct vnc_cursor {
   unsigned w, h, hx, hy;
   uint32_t *argb;   /* straight alpha */
} vnc_cursor;

struct mks_vnc {
   /* Fixed after creation. */
   mks_vnc_input in;
   int lfd;
   int wakefd;
   unsigned port;
   char addr[INET6_ADDRSTRLEN];
   char *name;
   char *passwords[2];   /* libvncserver's NULL-terminated list */
   pthread_t thread;

   /* VNC thread only (and mks_vnc_free after the join). */
   rfbScreenInfoPtr screen;
   uint8_t *fb;
   unsigned fbw, fbh;
   unsigned auth_fails;
   time_t lockout_until;

   /* Accepted sockets waiting for a valid picture (VNC thread only). */
   int pending[MKS_VNC_MAX_CLIENTS];
   unsigned npending;

   /* Counters anyone may read. */
   atomic_uint nclients;        /* libvncserver's clients and the pending ones */
   atomic_uint_least64_t st_clients, st_auth_failures, st_updates, st_bytes;
   atomic_uint_least64_t st_enc[4];
   atomic_uint_least64_t st_tight_ours;

   /* Shared with producers, under lock. */
   pthread_mutex_t lock;
   bool stop;
   bool woken;               /* a wake-up is in the eventfd */
   unsigned w, h;            /* the mode */
   uint8_t *stage;           /* w * h pixels */
   bool mode_dirty;
   sraRegion *damage;
   bool cursor_dirty;
   vnc_cursor *cursor;       /* NULL: hidden */
   bool pos_dirty;
   int cx, cy;
   bool invalid;             /* the producer skips updates (see the top) */
   bool refresh_asked;       /* since the last invalidation */
};

/* ---- the single instance and libvncserver's globals */

static pthread_mutex_t instance_lock = PTHREAD_MUTEX_INITIALIZER;
static bool instance_live;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void vnc_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
vnc_log(const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   char *m = g_strdup_vprintf(fmt, ap);
   va_end(ap);
   g_strchomp(m);
   if (*m) {
      vmxlog("VNC: %s", m);
   }
   g_free(m);
}

static void
log_setup(void)
{
   rfbLog = vnc_log;
   rfbErr = vnc_log;
}

/* ---- configuration */

bool
mks_vnc_config_read(const vmxcfg *cfg, mks_vnc_config *out, char **err)
{
   memset(out, 0, sizeof *out);
   bool en = false;
   int64_t port = 5900;
   if (!vmxcfg_get_bool(cfg, "RemoteDisplay.vnc.enabled", false, &en, err) ||
       !vmxcfg_get_int(cfg, "RemoteDisplay.vnc.port", 5900, &port, err)) {
      return false;
   }
   if (port < 0 || port > 65535) {
      *err = g_strdup_printf("RemoteDisplay.vnc.port = \"%s\": not a TCP port (0-65535)",
                             vmxcfg_get(cfg, "RemoteDisplay.vnc.port"));
      return false;
   }
   const char *ip = vmxcfg_get(cfg, "RemoteDisplay.vnc.ip");
   if (!ip || !*ip) {
      ip = "127.0.0.1";
   }
   struct in6_addr a6;
   struct in_addr a4;
   if (inet_pton(AF_INET, ip, &a4) != 1 && inet_pton(AF_INET6, ip, &a6) != 1) {
      *err = g_strdup_printf("RemoteDisplay.vnc.ip = \"%s\": not a numeric IPv4 or IPv6 address",
                             ip);
      return false;
   }
   const char *pw = vmxcfg_get(cfg, "RemoteDisplay.vnc.password");
   const char *name = vmxcfg_get(cfg, "displayName");
   out->enabled = en;
   out->port = (unsigned)port;
   out->ip = g_strdup(ip);
   out->password = pw && *pw ? g_strdup(pw) : NULL;
   out->name = g_strdup(name && *name ? name : "vmws");
   return true;
}

static void
free_secret(char *s)
{
   if (s) {
      explicit_bzero(s, strlen(s));
      g_free(s);
   }
}

void
mks_vnc_config_clear(mks_vnc_config *c)
{
   g_free(c->ip);
   free_secret(c->password);
   g_free(c->name);
   memset(c, 0, sizeof *c);
}

/* ---- listening socket */

static int
listen_on(const char *ip, unsigned port, char *addr_out, unsigned *port_out, char **err)
{
   struct sockaddr_storage ss;
   socklen_t len;
   memset(&ss, 0, sizeof ss);
   struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
   struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
   int family;
   if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
      family = AF_INET;
      s4->sin_family = AF_INET;
      s4->sin_port = htons((uint16_t)port);
      len = sizeof *s4;
   } else if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
      family = AF_INET6;
      s6->sin6_family = AF_INET6;
      s6->sin6_port = htons((uint16_t)port);
      len = sizeof *s6;
   } else {
      *err = g_strdup_printf("VNC: listen address \"%s\" is not a numeric IP address", ip);
      return -1;
   }
   int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
   if (fd < 0) {
      *err = g_strdup_printf("VNC: cannot create a socket: %s", g_strerror(errno));
      return -1;
   }
   int one = 1;
   setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
   if (family == AF_INET6) {
      /* "::" is every address of both families; a specific IPv6 address
       * is only itself. */
      int v6only = !IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
   }
   if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 8) != 0) {
      int e = errno;
      *err = g_strdup_printf(family == AF_INET6 ? "VNC: cannot listen on [%s]:%u: %s"
                                                : "VNC: cannot listen on %s:%u: %s",
                             ip, port, g_strerror(e));
      close(fd);
      return -1;
   }
   len = sizeof ss;
   if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) {
      *err = g_strdup_printf("VNC: getsockname: %s", g_strerror(errno));
      close(fd);
      return -1;
   }
   if (family == AF_INET) {
      inet_ntop(AF_INET, &s4->sin_addr, addr_out, INET6_ADDRSTRLEN);
      *port_out = ntohs(s4->sin_port);
   } else {
      inet_ntop(AF_INET6, &s6->sin6_addr, addr_out, INET6_ADDRSTRLEN);
      *port_out = ntohs(s6->sin6_port);
   }
   return fd;
}

/* ---- VNC thread: libvncserver hooks */

static void
set_server_format(rfbScreenInfoPtr s)
{
   /* XRGB8888 in a little-endian 32-bit word. */
   s->serverFormat.bitsPerPixel = 32;
   s->serverFormat.depth = 24;
   s->serverFormat.bigEndian = 0;
   s->serverFormat.trueColour = 1;   /* libvncserver's TRUE is -1: send the 1 RFB shows */
   s->serverFormat.redMax = s->serverFormat.greenMax = s->serverFormat.blueMax = 255;
   s->serverFormat.redShift = 16;
   s->serverFormat.greenShift = 8;
   s->serverFormat.blueShift = 0;
}

static int
enc_slot(uint32_t enc)
{
   switch (enc) {
   case rfbEncodingRaw:
      return 0;
   case rfbEncodingTight:
      return 1;
   case rfbEncodingZRLE:
      return 2;
   default:
      return 3;
   }
}

static const uint32_t pixel_encodings[] = {
   rfbEncodingRaw,     rfbEncodingCopyRect, rfbEncodingRRE,   rfbEncodingCoRRE,
   rfbEncodingHextile, rfbEncodingZlib,     rfbEncodingTight, rfbEncodingTightPng,
   rfbEncodingZlibHex, rfbEncodingUltra,    rfbEncodingTRLE,  rfbEncodingZRLE,
   rfbEncodingZYWRLE,
};

/* Add what the client's libvncserver counters gained since last time. */
static void
collect_stats(mks_vnc *v, rfbClientPtr cl)
{
   vnc_client *vc = cl->clientData;
   if (!vc) {
      return;
   }
   int now[4] = { 0, 0, 0, 0 };
   for (unsigned i = 0; i < G_N_ELEMENTS(pixel_encodings); i++) {
      now[enc_slot(pixel_encodings[i])] += rfbStatGetEncodingCountSent(cl, pixel_encodings[i]);
   }
   for (int i = 0; i < 4; i++) {
      if (now[i] > vc->stat_enc[i]) {
         atomic_fetch_add(&v->st_enc[i], (uint64_t)(now[i] - vc->stat_enc[i]));
      }
      vc->stat_enc[i] = now[i];
   }
   int updates = rfbStatGetMessageCountSent(cl, rfbFramebufferUpdate);
   if (updates > vc->stat_updates) {
      atomic_fetch_add(&v->st_updates, (uint64_t)(updates - vc->stat_updates));
   }
   vc->stat_updates = updates;
   int bytes = rfbStatGetSentBytes(cl);
   if (bytes > vc->stat_bytes) {
      atomic_fetch_add(&v->st_bytes, (uint64_t)(bytes - vc->stat_bytes));
   }
   vc->stat_bytes = bytes;
}

/* ---- VNC thread: lossless Tight updates by our encoder (vnc-tight.h)
 *
 * libvncserver has no way to plug in an encoder, but it calls displayHook
 * at the start of every framebuffer update, before it looks at the
 * regions. For a viewer that prefers Tight without JPEG (and takes cursor
 * shapes, or there is no cursor: libvncserver need not draw one into the
 * pixels), the
 * hook sends the whole update itself -- cursor shape and position, the
 * pixels, LastRect -- and takes what it sent out of the viewer's modified
 * and requested regions; libvncserver then finds nothing left and returns.
 * Everything else (other encodings, JPEG, size changes, colour-map
 * viewers, viewers that need the cursor drawn into the picture) goes
 * through libvncserver as before. Both encoders deflate on the viewer's
 * zlib streams that libvncserver keeps (cl->zsStruct), so a viewer that
 * switches between them (asks for JPEG, then not) keeps one continuous
 * stream per id. */

static bool
tight_ours(rfbClientPtr cl)
{
   return cl->preferredEncoding == rfbEncodingTight && cl->turboQualityLevel == -1 &&
          cl->format.trueColour && (cl->enableCursorShapeUpdates || !cl->screen->cursor) &&
          cl->scaledScreen == cl->screen && !(cl->useNewFBSize && cl->newFBSizePending) &&
          (cl->format.bitsPerPixel == 8 || cl->format.bitsPerPixel == 16 ||
           cl->format.bitsPerPixel == 32);
}

/* Append n bytes to the update, sending the buffer whenever it fills. */
static bool
update_append(rfbClientPtr cl, const uint8_t *p, size_t n)
{
   while (n > 0) {
      if (cl->ublen >= UPDATE_BUF_SIZE && !rfbSendUpdateBuf(cl)) {
         return false;
      }
      size_t k = MIN(n, (size_t)(UPDATE_BUF_SIZE - cl->ublen));
      memcpy(cl->updateBuf + cl->ublen, p, k);
      cl->ublen += (int)k;
      p += k;
      n -= k;
   }
   return true;
}

static void
tight_translate(void *opaque, const uint32_t *src, size_t stride, uint8_t *dst, unsigned w,
                unsigned h)
{
   rfbClientPtr cl = opaque;
   cl->translateFn(cl->translateLookupTable, &cl->screen->serverFormat, &cl->format,
                   (char *)src, (char *)dst, (int)stride, (int)w, (int)h);
}

/* Pieces a rectangle is cut into. */
static unsigned
tight_pieces(int w, int h)
{
   unsigned cols = (unsigned)(w + VNC_TIGHT_MAX_WIDTH - 1) / VNC_TIGHT_MAX_WIDTH;
   unsigned pw = MIN((unsigned)w, VNC_TIGHT_MAX_WIDTH);
   unsigned rows = vnc_tight_rows_per_piece(pw);
   return cols * (((unsigned)h + rows - 1) / rows);
}

static bool
tight_send_rect(rfbClientPtr cl, vnc_client *vc, const sraRect *r)
{
   unsigned level = cl->tightCompressLevel >= 0 && cl->tightCompressLevel <= 9
                       ? (unsigned)cl->tightCompressLevel
                       : 6;
   rfbScreenInfoPtr s = cl->screen;
   const rfbPixelFormat *f = &cl->format;
   vnc_tight_format fmt = { f->bitsPerPixel / 8u, tight_translate, cl };
   if (f->bitsPerPixel == 32 && f->depth == 24 && f->redMax == 255 && f->greenMax == 255 &&
       f->blueMax == 255) {
      fmt.bpp = 3;   /* TPIXEL */
   }
   for (int x = r->x1; x < r->x2; x += VNC_TIGHT_MAX_WIDTH) {
      int w = MIN(r->x2 - x, (int)VNC_TIGHT_MAX_WIDTH);
      int rows = (int)vnc_tight_rows_per_piece((unsigned)w);
      for (int y = r->y1; y < r->y2; y += rows) {
         int h = MIN(r->y2 - y, rows);
         const uint32_t *px =
            (const uint32_t *)(s->frameBuffer + (size_t)y * s->paddedWidthInBytes +
                               (size_t)x * BPP);
         g_byte_array_set_size(vc->tight_out, 0);
         if (!vnc_tight_encode(vc->tight, px, (size_t)s->paddedWidthInBytes, (unsigned)w,
                               (unsigned)h, &fmt, level, vc->tight_out)) {
            rfbLog("VNC: Tight encoder failed (out of memory)\n");
            return false;
         }
         if (!rfbSendTightHeader(cl, x, y, w, h) ||
             !update_append(cl, vc->tight_out->data, vc->tight_out->len)) {
            return false;
         }
         rfbStatRecordEncodingSentAdd(cl, rfbEncodingTight, (int)vc->tight_out->len);
         atomic_fetch_add(&((mks_vnc *)s->screenData)->st_tight_ours, 1);
      }
   }
   return true;
}

static void
on_display(rfbClientPtr cl)
{
   vnc_client *vc = cl->clientData;
   if (!vc || !tight_ours(cl)) {
      return;
   }
   pthread_mutex_lock(&cl->updateMutex);
   sraRegion *region = sraRgnCreateRgn(cl->modifiedRegion);
   sraRgnAnd(region, cl->requestedRegion);
   bool pixels = !sraRgnEmpty(region);
   if (pixels) {
      sraRgnSubtract(cl->modifiedRegion, region);
      sraRgnMakeEmpty(cl->requestedRegion);
   }
   pthread_mutex_unlock(&cl->updateMutex);
   if (!pixels) {
      sraRgnDestroy(region);
      return;   /* libvncserver sends whatever else is due */
   }
   if (!vc->tight) {
      vc->tight = vnc_tight_new_shared(
         (vnc_tight_streams){ cl->zsStruct, cl->zsActive, cl->zsLevel });
      vc->tight_out = g_byte_array_new();
   }
   bool shape = cl->enableCursorShapeUpdates && cl->cursorWasChanged &&
                cl->readyForSetColourMapEntries;
   if (!cl->enableCursorShapeUpdates) {
      /* No cursor to draw into its picture (tight_ours): where it is does
       * not matter to this viewer. */
      cl->cursorX = cl->screen->cursorX;
      cl->cursorY = cl->screen->cursorY;
   }
   bool pos = cl->enableCursorPosUpdates && cl->cursorWasMoved;
   unsigned n = 0xffff;
   if (!cl->enableLastRectEncoding) {
      n = (unsigned)shape + (unsigned)pos;
      sraRectangleIterator *it = sraRgnGetIterator(region);
      sraRect r;
      while (sraRgnIteratorNext(it, &r)) {
         n += tight_pieces(r.x2 - r.x1, r.y2 - r.y1);
      }
      sraRgnReleaseIterator(it);
      n = MIN(n, 0xfffeu);   /* a screen is far below this */
   }
   rfbFramebufferUpdateMsg *fu = (rfbFramebufferUpdateMsg *)cl->updateBuf;
   fu->type = rfbFramebufferUpdate;
   fu->pad = 0;
   fu->nRects = Swap16IfLE((uint16_t)n);
   cl->ublen = sz_rfbFramebufferUpdateMsg;
   rfbStatRecordMessageSent(cl, rfbFramebufferUpdate, 0, 0);
   cl->tightEncoding = rfbEncodingTight;
   bool ok = true;
   if (shape) {
      cl->cursorWasChanged = FALSE;
      ok = rfbSendCursorShape(cl);
   }
   if (ok && pos) {
      cl->cursorWasMoved = FALSE;
      ok = rfbSendCursorPos(cl);
   }
   sraRectangleIterator *it = sraRgnGetIterator(region);
   sraRect r;
   while (ok && sraRgnIteratorNext(it, &r)) {
      ok = tight_send_rect(cl, vc, &r);
   }
   sraRgnReleaseIterator(it);
   sraRgnDestroy(region);
   if (ok && n == 0xffff) {
      ok = rfbSendLastRectMarker(cl);
   }
   if (ok) {
      rfbSendUpdateBuf(cl);
   }
   /* On failure libvncserver has closed the connection (rfbCloseClient). */
}

static void
on_display_finished(rfbClientPtr cl, int result)
{
   collect_stats(cl->screen->screenData, cl);
}

static unsigned
rfb_buttons(int mask)
{
   return ((mask & 0x01) ? MKS_BUTTON_LEFT : 0) | ((mask & 0x02) ? MKS_BUTTON_MIDDLE : 0) |
          ((mask & 0x04) ? MKS_BUTTON_RIGHT : 0) | ((mask & 0x80) ? MKS_BUTTON_SIDE : 0);
}

static void
on_client_gone(rfbClientPtr cl)
{
   mks_vnc *v = cl->screen->screenData;
   vnc_client *vc = cl->clientData;
   if (!vc) {
      return;
   }
   collect_stats(v, cl);
   /* Let go of whatever the viewer still held. */
   for (unsigned i = vc->nkeys; i-- > 0;) {
      if (v->in.key) {
         v->in.key(v->in.opaque, vc->keys[i], false);
      }
   }
   if (rfb_buttons(vc->mask) && v->in.pointer) {
      v->in.pointer(v->in.opaque, vc->x, vc->y, 0, 0, 0);
   }
   vnc_tight_free(vc->tight);
   if (vc->tight_out) {
      g_byte_array_free(vc->tight_out, TRUE);
   }
   g_free(vc);
   cl->clientData = NULL;
   atomic_fetch_sub(&v->nclients, 1);
}

static enum rfbNewClientAction
on_new_client(rfbClientPtr cl)
{
   mks_vnc *v = cl->screen->screenData;
   cl->clientData = g_new0(vnc_client, 1);
   cl->clientGoneHook = on_client_gone;
   atomic_fetch_add(&v->nclients, 1);
   atomic_fetch_add(&v->st_clients, 1);
   return RFB_CLIENT_ACCEPT;
}

static rfbBool
on_password(rfbClientPtr cl, const char *response, int len)
{
   mks_vnc *v = cl->screen->screenData;
   time_t now = time(NULL);
   if (now < v->lockout_until) {
      vmxlog("VNC: authentication from %s refused: locked out after %u failures", cl->host,
             AUTH_FAIL_LIMIT);
      atomic_fetch_add(&v->st_auth_failures, 1);
      return FALSE;
   }
   if (rfbCheckPasswordByList(cl, response, len)) {
      v->auth_fails = 0;
      return TRUE;
   }
   atomic_fetch_add(&v->st_auth_failures, 1);
   vmxlog("VNC: wrong password from %s", cl->host);
   if (++v->auth_fails >= AUTH_FAIL_LIMIT) {
      v->auth_fails = 0;
      v->lockout_until = now + AUTH_LOCKOUT_S;
      vmxlog("VNC: %u authentication failures in a row; refusing all for %d s",
             AUTH_FAIL_LIMIT, AUTH_LOCKOUT_S);
   }
   return FALSE;
}

static void
on_key(rfbBool down, rfbKeySym keysym, rfbClientPtr cl)
{
   mks_vnc *v = cl->screen->screenData;
   vnc_client *vc = cl->clientData;
   if (vc) {
      unsigned i = 0;
      while (i < vc->nkeys && vc->keys[i] != keysym) {
         i++;
      }
      if (down && i == vc->nkeys && vc->nkeys < MAX_KEYS_HELD) {
         vc->keys[vc->nkeys++] = keysym;
      } else if (!down && i < vc->nkeys) {
         vc->keys[i] = vc->keys[--vc->nkeys];
      }
   }
   if (v->in.key) {
      v->in.key(v->in.opaque, keysym, down);
   }
}

static void
on_pointer(int mask, int x, int y, rfbClientPtr cl)
{
   mks_vnc *v = cl->screen->screenData;
   vnc_client *vc = cl->clientData;
   x = x < 0 ? 0 : x >= (int)v->fbw ? (int)v->fbw - 1 : x;
   y = y < 0 ? 0 : y >= (int)v->fbh ? (int)v->fbh - 1 : y;
   rfbDefaultPtrAddEvent(mask, x, y, cl);
   int old = vc ? vc->mask : 0;
   int pressed = mask & ~old;
   int dz = ((pressed & 0x08) ? 1 : 0) - ((pressed & 0x10) ? 1 : 0);
   int dw = ((pressed & 0x40) ? 1 : 0) - ((pressed & 0x20) ? 1 : 0);
   if (vc) {
      vc->mask = mask;
      vc->x = x;
      vc->y = y;
   }
   if (v->in.pointer) {
      v->in.pointer(v->in.opaque, x, y, rfb_buttons(mask), dz, dw);
   }
}

/* ---- VNC thread: applying producers' changes */

/* Copy the damaged rectangle r from src to dst tile by tile and add what
 * really changed to two regions: a guest UPDATE names the area it drew,
 * often larger than what changed (a whole-screen update of a desktop
 * where only some windows moved), and viewers should get only the pixels
 * that did.
 *   *tiles  the changed 16x16 tiles exactly: for raw viewers, where every
 *           pixel left out is 4 bytes saved;
 *   *runs   for each band of tiles one run, from its first changed tile to
 *           its last, unchanged tiles between included: compressing
 *           encoders do better on a few wide rectangles than on many small
 *           ones (tests/bench/vnc: cutting runs at gaps of 4 tiles cost
 *           Tight 13% more bytes per pixel), and unchanged tiles inside a
 *           run compress to almost nothing.
 * Bands that did not change at all are in neither. The regions merge
 * equal runs of neighbouring bands. */
#define TILE 16

static void
add_run(sraRegion *changed, int x1, int y1, int x2, int y2)
{
   sraRegion *t = sraRgnCreateRect(x1, y1, x2, y2);
   sraRgnOr(changed, t);
   sraRgnDestroy(t);
}

static void
copy_changed(uint8_t *dst, const uint8_t *src, unsigned fbw, const sraRect *r,
             sraRegion *tiles, sraRegion *runs)
{
   size_t stride = (size_t)fbw * BPP;
   for (int ty = r->y1; ty < r->y2; ty = (ty / TILE + 1) * TILE) {
      int y2 = MIN(r->y2, (ty / TILE + 1) * TILE);
      int run_x1 = -1, run_x2 = -1, seg_x1 = -1;
      for (int tx = r->x1; tx < r->x2; tx = (tx / TILE + 1) * TILE) {
         int x2 = MIN(r->x2, (tx / TILE + 1) * TILE);
         size_t n = (size_t)(x2 - tx) * BPP;
         bool diff = false;
         for (int y = ty; y < y2; y++) {
            size_t off = (size_t)y * stride + (size_t)tx * BPP;
            if (diff || memcmp(dst + off, src + off, n)) {
               diff = true;
               memcpy(dst + off, src + off, n);
            }
         }
         if (!diff) {
            continue;
         }
         if (run_x1 < 0) {
            run_x1 = seg_x1 = tx;
         } else if (tx != run_x2) {   /* a gap: the last segment of tiles ends */
            add_run(tiles, seg_x1, ty, run_x2, y2);
            seg_x1 = tx;
         }
         run_x2 = x2;
      }
      if (run_x1 >= 0) {
         add_run(tiles, seg_x1, ty, run_x2, y2);
         add_run(runs, run_x1, ty, run_x2, y2);
      }
   }
}

static rfbCursorPtr
make_cursor(const vnc_cursor *c)
{
   rfbCursorPtr rc = calloc(1, sizeof *rc);
   unsigned mstride = (c->w + 7) / 8;
   size_t n = (size_t)c->w * c->h;
   rc->richSource = malloc(n * BPP);
   rc->alphaSource = malloc(n);
   rc->mask = calloc(mstride, c->h);
   if (!rc->richSource || !rc->alphaSource || !rc->mask) {
      free(rc->richSource);
      free(rc->alphaSource);
      free(rc->mask);
      free(rc);
      return NULL;
   }
   rc->cleanup = rc->cleanupRichSource = rc->cleanupMask = rc->cleanupSource = TRUE;
   rc->width = (unsigned short)c->w;
   rc->height = (unsigned short)c->h;
   rc->xhot = (unsigned short)c->hx;
   rc->yhot = (unsigned short)c->hy;
   rc->alphaPreMultiplied = FALSE;
   for (unsigned y = 0; y < c->h; y++) {
      for (unsigned x = 0; x < c->w; x++) {
         uint32_t p = c->argb[(size_t)y * c->w + x];
         uint32_t rgb = p & 0xffffffu;
         uint8_t a = (uint8_t)(p >> 24);
         memcpy(rc->richSource + ((size_t)y * c->w + x) * BPP, &rgb, BPP);
         rc->alphaSource[(size_t)y * c->w + x] = a;
         if (a >= 0x80) {
            rc->mask[y * mstride + x / 8] |= (unsigned char)(0x80u >> (x & 7));
         }
      }
   }
   return rc;
}

static void
apply_mode(mks_vnc *v, uint8_t *fb, unsigned w, unsigned h)
{
   rfbScreenInfoPtr s = v->screen;
   uint8_t *old = v->fb;
   v->fb = fb;
   v->fbw = w;
   v->fbh = h;
   rfbNewFramebuffer(s, (char *)fb, (int)w, (int)h, 8, 3, BPP);
   /* rfbNewFramebuffer resets the server format to libvncserver's default
    * byte order: put ours back and rebuild every client's translation. */
   set_server_format(s);
   rfbClientIteratorPtr it = rfbGetClientIterator(s);
   rfbClientPtr cl;
   while ((cl = rfbClientIteratorNext(it))) {
      s->setTranslateFunction(cl);
   }
   rfbReleaseClientIterator(it);
   free(old);
   vmxlog("VNC: screen is now %ux%u", w, h);
}

/* Take what producers left and apply it. False when asked to stop.
 * *valid: the framebuffer shows the screen (see the top). */
static bool
take_pending(mks_vnc *v, bool *valid)
{
   uint8_t *newfb = NULL;
   unsigned nw = 0, nh = 0;
   sraRegion *damage = NULL, *tiles = NULL;
   bool cursor_dirty, pos_dirty;
   vnc_cursor *cursor = NULL;
   int cx, cy;

   pthread_mutex_lock(&v->lock);
   if (v->stop) {
      pthread_mutex_unlock(&v->lock);
      return false;
   }
   if (v->mode_dirty) {
      newfb = malloc((size_t)v->w * v->h * BPP);
      if (newfb) {
         memcpy(newfb, v->stage, (size_t)v->w * v->h * BPP);
         nw = v->w;
         nh = v->h;
         v->mode_dirty = false;
         sraRgnMakeEmpty(v->damage);
      } else {
         vmxlog("VNC: out of memory for a %ux%u screen; viewers keep the old picture until "
                "the next change",
                v->w, v->h);
      }
   } else if (!sraRgnEmpty(v->damage)) {
      sraRectangleIterator *it = sraRgnGetIterator(v->damage);
      sraRect r;
      damage = sraRgnCreate();
      tiles = sraRgnCreate();
      while (sraRgnIteratorNext(it, &r)) {
         copy_changed(v->fb, v->stage, v->fbw, &r, tiles, damage);
      }
      sraRgnReleaseIterator(it);
      sraRgnMakeEmpty(v->damage);
   }
   cursor_dirty = v->cursor_dirty;
   if (cursor_dirty) {
      cursor = v->cursor;
      v->cursor = NULL;
      v->cursor_dirty = false;
   }
   pos_dirty = v->pos_dirty;
   cx = v->cx;
   cy = v->cy;
   v->pos_dirty = false;
   *valid = !v->invalid;
   pthread_mutex_unlock(&v->lock);

   rfbScreenInfoPtr s = v->screen;
   if (newfb) {
      apply_mode(v, newfb, nw, nh);
   }
   if (damage) {
      /* Every viewer gets the exact tiles (libvncserver also updates its
       * scaled copies from them); all but raw ones the runs on top. */
      rfbMarkRegionAsModified(s, tiles);
      rfbClientIteratorPtr it = rfbGetClientIterator(s);
      rfbClientPtr cl;
      while ((cl = rfbClientIteratorNext(it))) {
         if (cl->preferredEncoding != rfbEncodingRaw) {
            pthread_mutex_lock(&cl->updateMutex);
            sraRgnOr(cl->modifiedRegion, damage);
            pthread_mutex_unlock(&cl->updateMutex);
         }
      }
      rfbReleaseClientIterator(it);
      sraRgnDestroy(tiles);
      sraRgnDestroy(damage);
   }
   if (cursor_dirty) {
      rfbCursorPtr rc = cursor ? make_cursor(cursor) : NULL;
      rfbSetCursor(s, rc);
      if (cursor) {
         g_free(cursor->argb);
         g_free(cursor);
      }
   }
   if (pos_dirty || newfb) {
      if (pos_dirty) {
         s->cursorX = cx;
         s->cursorY = cy;
      }
      s->cursorX = s->cursorX >= (int)v->fbw ? (int)v->fbw - 1 : s->cursorX;
      s->cursorY = s->cursorY >= (int)v->fbh ? (int)v->fbh - 1 : s->cursorY;
      rfbClientIteratorPtr it = rfbGetClientIterator(s);
      rfbClientPtr cl;
      while ((cl = rfbClientIteratorNext(it))) {
         if (cl->enableCursorPosUpdates) {
            cl->cursorWasMoved = TRUE;
         }
      }
      rfbReleaseClientIterator(it);
   }
   return true;
}

/* ---- VNC thread: the loop */

/* valid: the framebuffer shows the screen (take_pending). */
static void
accept_clients(mks_vnc *v, bool valid)
{
   for (;;) {
      int fd = accept4(v->lfd, NULL, NULL, SOCK_CLOEXEC);
      if (fd < 0) {
         if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
             errno != ECONNABORTED) {
            vmxlog("VNC: accept: %s", g_strerror(errno));
         }
         return;
      }
      if (fd >= FD_SETSIZE) {
         vmxlog("VNC: connection refused: descriptor %d is beyond what libvncserver's "
                "select() can watch",
                fd);
         close(fd);
         continue;
      }
      if (atomic_load(&v->nclients) >= MKS_VNC_MAX_CLIENTS) {
         vmxlog("VNC: connection refused: already %u viewers", MKS_VNC_MAX_CLIENTS);
         close(fd);
         continue;
      }
      if (valid && v->npending == 0) {
         rfbNewClient(v->screen, fd);
         continue;
      }
      /* Counted (the producer sees a viewer) but not served yet; the
       * producer is asked for the picture unless it is on its way. */
      v->pending[v->npending++] = fd;
      atomic_fetch_add(&v->nclients, 1);
      pthread_mutex_lock(&v->lock);
      bool ask = v->invalid && !v->refresh_asked;
      if (ask) {
         v->refresh_asked = true;
      }
      pthread_mutex_unlock(&v->lock);
      if (ask && v->in.refresh) {
         v->in.refresh(v->in.opaque);
      }
   }
}

/* The picture is valid again: serve the viewers that waited for it. */
static void
admit_pending(mks_vnc *v)
{
   for (unsigned i = 0; i < v->npending; i++) {
      rfbNewClient(v->screen, v->pending[i]);
      /* on_new_client counted it again (after: the producer must not see
       * a moment without viewers) */
      atomic_fetch_sub(&v->nclients, 1);
   }
   v->npending = 0;
}

/* Some viewer has an update that libvncserver will send once its
 * deferral time has passed: it asked for a region and something in it
 * changed (or a size, cursor shape or cursor position is pending). A
 * viewer whose request does not meet the changes is not due: it would
 * only make the loop spin. */
static bool
update_due(mks_vnc *v)
{
   bool due = false;
   rfbScreenInfoPtr s = v->screen;
   rfbClientIteratorPtr it = rfbGetClientIterator(s);
   rfbClientPtr cl;
   while (!due && (cl = rfbClientIteratorNext(it))) {
      if (cl->sock == RFB_INVALID_SOCKET || cl->onHold || sraRgnEmpty(cl->requestedRegion)) {
         continue;
      }
      if ((cl->useNewFBSize && cl->newFBSizePending) ||
          (cl->enableCursorShapeUpdates && cl->cursorWasChanged) ||
          (cl->enableCursorPosUpdates && cl->cursorWasMoved) ||
          (!cl->enableCursorShapeUpdates &&
           (cl->cursorX != s->cursorX || cl->cursorY != s->cursorY))) {
         due = true;
         continue;
      }
      sraRegion *r = sraRgnCreateRgn(cl->modifiedRegion);
      sraRgnOr(r, cl->copyRegion);
      sraRgnAnd(r, cl->requestedRegion);
      due = !sraRgnEmpty(r);
      sraRgnDestroy(r);
   }
   rfbReleaseClientIterator(it);
   return due;
}

static void *
vnc_thread(void *arg)
{
   mks_vnc *v = arg;
   vmxlog_set_thread_name("vnc");
   struct pollfd pfd[2 + MKS_VNC_MAX_CLIENTS + 4];
   for (;;) {
      unsigned n = 0;
      pfd[n++] = (struct pollfd){ .fd = v->wakefd, .events = POLLIN };
      pfd[n++] = (struct pollfd){ .fd = v->lfd, .events = POLLIN };
      rfbClientIteratorPtr it = rfbGetClientIterator(v->screen);
      rfbClientPtr cl;
      while ((cl = rfbClientIteratorNext(it)) && n < G_N_ELEMENTS(pfd)) {
         if (cl->sock != RFB_INVALID_SOCKET) {
            pfd[n++] = (struct pollfd){ .fd = cl->sock, .events = POLLIN };
         }
      }
      rfbReleaseClientIterator(it);
      int timeout = update_due(v) ? (v->screen->deferUpdateTime > 0 ? v->screen->deferUpdateTime : 1)
                                  : -1;
      if (poll(pfd, n, timeout) < 0 && errno != EINTR) {
         vmxlog("VNC: poll: %s", g_strerror(errno));
      }
      if (pfd[0].revents & POLLIN) {
         uint64_t c;
         pthread_mutex_lock(&v->lock);
         if (read(v->wakefd, &c, sizeof c) < 0 && errno != EAGAIN) {
            vmxlog("VNC: eventfd read: %s", g_strerror(errno));
         }
         v->woken = false;
         pthread_mutex_unlock(&v->lock);
      }
      bool valid;
      if (!take_pending(v, &valid)) {
         break;
      }
      if (pfd[1].revents & POLLIN) {
         accept_clients(v, valid);
      }
      if (valid && v->npending) {
         admit_pending(v);
      }
      rfbProcessEvents(v->screen, 0);
   }
   return NULL;
}

/* Producer side: make sure the VNC thread looks (lock held). */
static void
wake(mks_vnc *v)
{
   if (!v->woken) {
      uint64_t one = 1;
      v->woken = true;
      if (write(v->wakefd, &one, sizeof one) < 0) {
         vmxlog("VNC: eventfd write: %s", g_strerror(errno));
      }
   }
}

/* ---- public */

mks_vnc *
mks_vnc_new(const mks_vnc_config *cfg, const mks_vnc_input *in, char **err)
{
   pthread_once(&log_once, log_setup);
   pthread_mutex_lock(&instance_lock);
   if (instance_live) {
      pthread_mutex_unlock(&instance_lock);
      *err = g_strdup("VNC: a server is already running in this process");
      return NULL;
   }
   instance_live = true;
   pthread_mutex_unlock(&instance_lock);

   mks_vnc *v = g_new0(mks_vnc, 1);
   v->lfd = v->wakefd = -1;
   if (in) {
      v->in = *in;
   }
   v->lfd = listen_on(cfg->ip ? cfg->ip : "127.0.0.1", cfg->port, v->addr, &v->port, err);
   if (v->lfd < 0) {
      goto fail;
   }
   v->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
   if (v->wakefd < 0) {
      *err = g_strdup_printf("VNC: eventfd: %s", g_strerror(errno));
      goto fail;
   }
   v->name = g_strdup(cfg->name ? cfg->name : "vmws");
   v->w = 640;
   v->h = 480;
   v->stage = g_malloc0((size_t)v->w * v->h * BPP);
   v->fbw = v->w;
   v->fbh = v->h;
   v->fb = calloc((size_t)v->w * v->h, BPP);
   v->damage = sraRgnCreate();
   pthread_mutex_init(&v->lock, NULL);

   rfbScreenInfoPtr s = rfbGetScreen(NULL, NULL, (int)v->w, (int)v->h, 8, 3, BPP);
   if (!s || !v->fb) {
      *err = g_strdup("VNC: out of memory creating the screen");
      if (s) {
         rfbScreenCleanup(s);
      }
      pthread_mutex_destroy(&v->lock);
      goto fail;
   }
   v->screen = s;
   s->screenData = v;
   s->frameBuffer = (char *)v->fb;
   set_server_format(s);
   s->desktopName = v->name;
   /* No listening by libvncserver itself: we accept on v->lfd. */
   s->autoPort = FALSE;
   s->port = 0;
   s->ipv6port = 0;
   s->httpPort = 0;
   s->httpDir = NULL;
   s->permitFileTransfer = FALSE;
   s->alwaysShared = TRUE;
   /* Send as soon as a viewer asked and something changed: the MKS hands
    * damage over once per guest SYNC or refresh tick, so waiting longer
    * only adds latency (libvncserver's 5 ms default cost ~10 ms here). */
   s->deferUpdateTime = 0;
   /* libvncserver sends the bounding box instead of a region of more than
    * maxRectsPerUpdate rectangles (50 by default): that would undo the
    * exact tiles raw viewers get. Others get at most a run per 16 rows. */
   s->maxRectsPerUpdate = 0;
   s->cursor = NULL;
   s->newClientHook = on_new_client;
   s->kbdAddEvent = on_key;
   s->ptrAddEvent = on_pointer;
   s->displayHook = on_display;
   s->displayFinishedHook = on_display_finished;
   if (cfg->password) {
      if (strlen(cfg->password) > 8) {
         vmxlog("VNC: RemoteDisplay.vnc.password is longer than 8 characters; VNC "
                "authentication uses only the first 8");
      }
      v->passwords[0] = g_strdup(cfg->password);
      v->passwords[1] = NULL;
      s->authPasswdData = (void *)v->passwords;
      s->passwordCheck = on_password;
   }
   rfbInitServer(s);

   if (pthread_create(&v->thread, NULL, vnc_thread, v) != 0) {
      *err = g_strdup("VNC: cannot start the server thread");
      rfbShutdownServer(s, TRUE);
      rfbScreenCleanup(s);
      v->screen = NULL;
      pthread_mutex_destroy(&v->lock);
      goto fail;
   }
   vmxlog("VNC: listening on %s%s%s:%u, %s", strchr(v->addr, ':') ? "[" : "", v->addr,
          strchr(v->addr, ':') ? "]" : "", v->port,
          cfg->password ? "password required" : "no password");
   return v;

fail:
   if (v->lfd >= 0) {
      close(v->lfd);
   }
   if (v->wakefd >= 0) {
      close(v->wakefd);
   }
   if (v->damage) {
      sraRgnDestroy(v->damage);
   }
   free(v->fb);
   g_free(v->stage);
   g_free(v->name);
   free_secret(v->passwords[0]);
   g_free(v);
   pthread_mutex_lock(&instance_lock);
   instance_live = false;
   pthread_mutex_unlock(&instance_lock);
   return NULL;
}

void
mks_vnc_free(mks_vnc *v)
{
   if (!v) {
      return;
   }
   pthread_mutex_lock(&v->lock);
   v->stop = true;
   v->woken = false;
   wake(v);
   pthread_mutex_unlock(&v->lock);
   pthread_join(v->thread, NULL);

   /* The thread is gone: the screen is ours now. */
   for (unsigned i = 0; i < v->npending; i++) {
      close(v->pending[i]);
   }
   rfbShutdownServer(v->screen, TRUE);
   rfbScreenCleanup(v->screen);
   free(v->fb);
   close(v->lfd);
   close(v->wakefd);
   sraRgnDestroy(v->damage);
   g_free(v->stage);
   if (v->cursor) {
      g_free(v->cursor->argb);
      g_free(v->cursor);
   }
   g_free(v->name);
   free_secret(v->passwords[0]);
   pthread_mutex_destroy(&v->lock);
   vmxlog("VNC: server on port %u stopped", v->port);
   g_free(v);
   pthread_mutex_lock(&instance_lock);
   instance_live = false;
   pthread_mutex_unlock(&instance_lock);
}

unsigned
mks_vnc_port(const mks_vnc *v)
{
   return v->port;
}

const char *
mks_vnc_address(const mks_vnc *v)
{
   return v->addr;
}

void
mks_vnc_set_mode(mks_vnc *v, unsigned width, unsigned height)
{
   if (width == 0 || height == 0 || width > MKS_VNC_MAX_DIM || height > MKS_VNC_MAX_DIM) {
      vmxlog("VNC: ignoring mode %ux%u (1 to %u pixels each way)", width, height,
             MKS_VNC_MAX_DIM);
      return;
   }
   uint8_t *stage = g_try_malloc0((size_t)width * height * BPP);
   if (!stage) {
      vmxlog("VNC: out of memory for a %ux%u screen; keeping the old mode", width, height);
      return;
   }
   pthread_mutex_lock(&v->lock);
   g_free(v->stage);
   v->stage = stage;
   v->w = width;
   v->h = height;
   v->mode_dirty = true;
   sraRgnMakeEmpty(v->damage);
   wake(v);
   pthread_mutex_unlock(&v->lock);
}

void
mks_vnc_update(mks_vnc *v, const void *fb, size_t stride, unsigned x, unsigned y, unsigned w,
               unsigned h)
{
   const uint8_t *src = fb;
   pthread_mutex_lock(&v->lock);
   if (x >= v->w || y >= v->h || w == 0 || h == 0) {
      pthread_mutex_unlock(&v->lock);
      return;
   }
   if (w > v->w - x) {
      w = v->w - x;
   }
   if (h > v->h - y) {
      h = v->h - y;
   }
   size_t dstride = (size_t)v->w * BPP;
   for (unsigned row = y; row < y + h; row++) {
      memcpy(v->stage + row * dstride + (size_t)x * BPP, src + row * stride + (size_t)x * BPP,
             (size_t)w * BPP);
   }
   if (!v->mode_dirty) {
      sraRegion *r = sraRgnCreateRect((int)x, (int)y, (int)(x + w), (int)(y + h));
      sraRgnOr(v->damage, r);
      sraRgnDestroy(r);
   }
   if (x == 0 && y == 0 && w == v->w && h == v->h) {
      v->invalid = false;   /* the VNC thread admits waiting viewers with it */
   }
   wake(v);
   pthread_mutex_unlock(&v->lock);
}

void
mks_vnc_invalidate(mks_vnc *v)
{
   pthread_mutex_lock(&v->lock);
   v->invalid = true;
   v->refresh_asked = false;
   pthread_mutex_unlock(&v->lock);
}

void
mks_vnc_set_cursor(mks_vnc *v, const uint32_t *argb, unsigned width, unsigned height,
                   unsigned hot_x, unsigned hot_y, bool premultiplied)
{
   if (!argb || width == 0 || height == 0 || width > 4096 || height > 4096) {
      mks_vnc_hide_cursor(v);
      return;
   }
   hot_x = hot_x < width ? hot_x : width - 1;
   hot_y = hot_y < height ? hot_y : height - 1;
   /* Crop to MKS_VNC_CURSOR_MAX each way, keeping the hot spot inside. */
   unsigned x0 = 0, y0 = 0, w = width, h = height;
   if (w > MKS_VNC_CURSOR_MAX) {
      w = MKS_VNC_CURSOR_MAX;
      x0 = hot_x < w / 2 ? 0 : MIN(hot_x - w / 2, width - w);
   }
   if (h > MKS_VNC_CURSOR_MAX) {
      h = MKS_VNC_CURSOR_MAX;
      y0 = hot_y < h / 2 ? 0 : MIN(hot_y - h / 2, height - h);
   }
   vnc_cursor *c = g_new(vnc_cursor, 1);
   c->w = w;
   c->h = h;
   c->hx = hot_x - x0;
   c->hy = hot_y - y0;
   c->argb = g_new(uint32_t, (size_t)w * h);
   for (unsigned y = 0; y < h; y++) {
      for (unsigned x = 0; x < w; x++) {
         uint32_t p = argb[(size_t)(y + y0) * width + x + x0];
         uint32_t a = p >> 24;
         if (premultiplied && a && a < 255) {
            uint32_t r = MIN(((p >> 16) & 0xff) * 255 / a, 255u);
            uint32_t g = MIN(((p >> 8) & 0xff) * 255 / a, 255u);
            uint32_t b = MIN((p & 0xff) * 255 / a, 255u);
            p = a << 24 | r << 16 | g << 8 | b;
         }
         c->argb[(size_t)y * w + x] = p;
      }
   }
   pthread_mutex_lock(&v->lock);
   if (v->cursor) {
      g_free(v->cursor->argb);
      g_free(v->cursor);
   }
   v->cursor = c;
   v->cursor_dirty = true;
   wake(v);
   pthread_mutex_unlock(&v->lock);
}

void
mks_vnc_hide_cursor(mks_vnc *v)
{
   pthread_mutex_lock(&v->lock);
   if (v->cursor) {
      g_free(v->cursor->argb);
      g_free(v->cursor);
   }
   v->cursor = NULL;
   v->cursor_dirty = true;
   wake(v);
   pthread_mutex_unlock(&v->lock);
}

void
mks_vnc_move_cursor(mks_vnc *v, int x, int y)
{
   pthread_mutex_lock(&v->lock);
   v->cx = x < 0 ? 0 : x;
   v->cy = y < 0 ? 0 : y;
   v->pos_dirty = true;
   wake(v);
   pthread_mutex_unlock(&v->lock);
}

unsigned
mks_vnc_client_count(mks_vnc *v)
{
   return atomic_load(&v->nclients);
}

void
mks_vnc_get_stats(mks_vnc *v, mks_vnc_stats *out)
{
   out->clients = atomic_load(&v->st_clients);
   out->auth_failures = atomic_load(&v->st_auth_failures);
   out->updates = atomic_load(&v->st_updates);
   out->bytes = atomic_load(&v->st_bytes);
   out->rects_raw = atomic_load(&v->st_enc[0]);
   out->rects_tight = atomic_load(&v->st_enc[1]);
   out->rects_zrle = atomic_load(&v->st_enc[2]);
   out->rects_other = atomic_load(&v->st_enc[3]);
   out->tight_ours = atomic_load(&v->st_tight_ours);
}
