/*
 * cui/mksclient.c - client of a VM's local console. See mksclient.h; the
 * protocol is described in mks/console/local.h.
 *
 * Descriptors. The server attaches a surface's memfd to the first byte of
 * its HELLO or MODE message. A read may return that byte together with
 * bytes of earlier messages, so descriptors go into a short queue as they
 * arrive and each HELLO or MODE takes the oldest one when it is parsed
 * (by then its first byte, and so its descriptor, has arrived).
 *
 * Mappings. Each surface's mapping is counted: the client holds one
 * reference while it is the current surface, and mksclient_surface_hold()
 * hands out more, so a caller drawing straight from the pixels keeps them
 * mapped past a MODE or mksclient_free() until it lets go.
 */
#include "cui/mksclient.h"
#include "mks/console/local.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "surface and cursor pixels are little-endian words"
#endif

#define CONNECT_TIMEOUT_MS 5000
#define MAX_QUEUED_FDS 4
#define OUT_MAX (64u * 1024u)
#define IN_INITIAL (64u * 1024u)
#define DISPATCH_READS 32
/* A surface larger than this is refused whatever its geometry says. */
#define MAX_SURFACE_BYTES ((uint64_t)1 << 30)

/* One surface's read-only mapping, counted (see the top comment). */
struct mksclient_hold {
   gint refs;
   void *addr;
   size_t size;
};

struct mksclient {
   int fd;
   char *error;                 /* set once the connection is over */
   mksclient_callbacks cb;

   uint8_t *in;
   size_t inlen, incap;
   int fds[MAX_QUEUED_FDS];
   unsigned nfds;

   uint8_t out[OUT_MAX];
   size_t outlen;

   /* The surface (NULL: none). */
   mksclient_hold *map;
   unsigned w, h;
   size_t stride;

   uint32_t serial;
   bool unacked;
   bool any_frame;

   uint32_t *cursor;
   unsigned cw, ch, chx, chy;
   bool cpremul;
   int cx, cy;
   bool cvis;
};

static uint32_t
get_u32(const uint8_t *p)
{
   return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t
get_u16(const uint8_t *p)
{
   return (uint16_t)(p[0] | p[1] << 8);
}

static void
put_u32(uint8_t *p, uint32_t v)
{
   p[0] = (uint8_t)v;
   p[1] = (uint8_t)(v >> 8);
   p[2] = (uint8_t)(v >> 16);
   p[3] = (uint8_t)(v >> 24);
}

static void fail(mksclient *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* End the connection with a reason (the first one counts). */
static void
fail(mksclient *c, const char *fmt, ...)
{
   if (c->error) {
      return;
   }
   va_list ap;
   va_start(ap, fmt);
   c->error = g_strdup_vprintf(fmt, ap);
   va_end(ap);
}

/* ---- output */

static void
flush(mksclient *c)
{
   size_t off = 0;
   while (!c->error && off < c->outlen) {
      ssize_t n = send(c->fd, c->out + off, c->outlen - off, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
         if (errno == EINTR) {
            continue;
         }
         if (errno != EAGAIN && errno != EWOULDBLOCK) {
            fail(c, "console connection: send: %s", g_strerror(errno));
         }
         break;
      }
      off += (size_t)n;
   }
   memmove(c->out, c->out + off, c->outlen - off);
   c->outlen -= off;
}

static bool
queue_msg(mksclient *c, uint16_t type, const uint8_t *payload, uint32_t len)
{
   if (c->error || c->outlen + MKS_LOCAL_HEADER_SIZE + len > sizeof c->out) {
      return false;
   }
   uint8_t *p = c->out + c->outlen;
   put_u32(p, MKS_LOCAL_MAGIC);
   p[4] = (uint8_t)MKS_LOCAL_VERSION;
   p[5] = (uint8_t)(MKS_LOCAL_VERSION >> 8);
   p[6] = (uint8_t)type;
   p[7] = (uint8_t)(type >> 8);
   put_u32(p + 8, len);
   memcpy(p + MKS_LOCAL_HEADER_SIZE, payload, len);
   c->outlen += MKS_LOCAL_HEADER_SIZE + len;
   flush(c);
   return !c->error;
}

/* ---- surface */

static void
map_unref(mksclient_hold *m)
{
   if (m && g_atomic_int_dec_and_test(&m->refs)) {
      munmap(m->addr, m->size);
      g_free(m);
   }
}

static void
unmap_surface(mksclient *c)
{
   map_unref(c->map);
   c->map = NULL;
}

/* HELLO or MODE payload plus the descriptor that came with it. */
static bool
take_surface(mksclient *c, const uint8_t *p, const char *what)
{
   uint32_t w = get_u32(p), h = get_u32(p + 4), stride = get_u32(p + 8);
   uint32_t format = get_u32(p + 12), flags = get_u32(p + 20);
   if (c->nfds == 0) {
      fail(c, "console server: %s came without a surface descriptor", what);
      return false;
   }
   int fd = c->fds[0];
   c->nfds--;
   memmove(c->fds, c->fds + 1, c->nfds * sizeof(int));
   bool ok = false;
   if (w == 0 || h == 0 || w > MKS_LOCAL_MAX_DIM || h > MKS_LOCAL_MAX_DIM) {
      fail(c, "console server: %s: surface size %ux%u out of range", what, w, h);
   } else if (format != MKS_LOCAL_FORMAT_XRGB8888) {
      fail(c, "console server: %s: unknown pixel format %u", what, format);
   } else if (flags != 0) {
      fail(c, "console server: %s: unknown flags 0x%x", what, flags);
   } else if (stride % 4 || stride < 4 * w || (uint64_t)stride * h > MAX_SURFACE_BYTES) {
      fail(c, "console server: %s: stride %u does not fit width %u", what, stride, w);
   } else {
      uint64_t need = (uint64_t)stride * h;
      struct stat st;
      int seals = fcntl(fd, F_GET_SEALS);
      if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
         fail(c, "console server: %s: the surface descriptor is not a memory file", what);
      } else if ((uint64_t)st.st_size < need) {
         fail(c, "console server: %s: the surface holds %lld bytes, %ux%u with stride %u "
                 "needs %llu",
              what, (long long)st.st_size, w, h, stride, (unsigned long long)need);
      } else if (seals < 0 || !(seals & F_SEAL_SHRINK)) {
         fail(c, "console server: %s: the surface is not sealed against shrinking", what);
      } else {
         void *m = mmap(NULL, (size_t)need, PROT_READ, MAP_SHARED, fd, 0);
         if (m == MAP_FAILED) {
            fail(c, "console server: %s: cannot map the surface: %s", what, g_strerror(errno));
         } else {
            unmap_surface(c);
            c->map = g_new(mksclient_hold, 1);
            c->map->refs = 1;
            c->map->addr = m;
            c->map->size = (size_t)need;
            c->w = w;
            c->h = h;
            c->stride = stride;
            ok = true;
         }
      }
   }
   close(fd);
   return ok;
}

/* A frame's serial: one more than the last, and only after an ACK. */
static bool
take_frame(mksclient *c, uint32_t serial, const char *what)
{
   if (c->unacked) {
      fail(c, "console server: %s before the previous frame was acknowledged", what);
      return false;
   }
   if (c->any_frame && serial != c->serial + 1) {
      fail(c, "console server: %s has serial %u after %u", what, serial, c->serial);
      return false;
   }
   c->serial = serial;
   c->unacked = true;
   c->any_frame = true;
   return true;
}

/* ---- input */

/* Check and act on one whole message. False when the connection is over. */
static bool
handle_msg(mksclient *c, uint16_t type, const uint8_t *p, uint32_t len)
{
   switch (type) {
   case MKS_LOCAL_MSG_HELLO:
   case MKS_LOCAL_MSG_MODE: {
      const char *what = type == MKS_LOCAL_MSG_HELLO ? "HELLO" : "MODE";
      if ((type == MKS_LOCAL_MSG_HELLO) == c->any_frame) {
         fail(c, "console server: %s %s", what,
              c->any_frame ? "after the connection started" : "before HELLO");
         return false;
      }
      if (len != MKS_LOCAL_SURFACE_SIZE) {
         fail(c, "console server: %s of %u bytes", what, len);
         return false;
      }
      if (!take_surface(c, p, what) || !take_frame(c, get_u32(p + 16), what)) {
         return false;
      }
      if (type == MKS_LOCAL_MSG_MODE && c->cb.mode) {
         c->cb.mode(c->cb.opaque, c->w, c->h);
      }
      return true;
   }
   case MKS_LOCAL_MSG_DAMAGE: {
      if (!c->any_frame) {
         fail(c, "console server: DAMAGE before HELLO");
         return false;
      }
      uint32_t n = len >= 8 ? get_u32(p + 4) : 0;
      if (len < 8 || n == 0 || n > MKS_LOCAL_MAX_RECTS || len != 8 + 16 * n) {
         fail(c, "console server: DAMAGE of %u bytes with %u rectangles", len, n);
         return false;
      }
      mksclient_rect r[MKS_LOCAL_MAX_RECTS];
      for (uint32_t i = 0; i < n; i++) {
         const uint8_t *q = p + 8 + 16 * i;
         r[i] = (mksclient_rect){ get_u32(q), get_u32(q + 4), get_u32(q + 8), get_u32(q + 12) };
         if (r[i].w == 0 || r[i].h == 0 || r[i].x >= c->w || r[i].y >= c->h ||
             r[i].w > c->w - r[i].x || r[i].h > c->h - r[i].y) {
            fail(c, "console server: DAMAGE rectangle %ux%u at %u,%u is not inside the %ux%u "
                    "surface",
                 r[i].w, r[i].h, r[i].x, r[i].y, c->w, c->h);
            return false;
         }
      }
      if (!take_frame(c, get_u32(p), "DAMAGE")) {
         return false;
      }
      if (c->cb.damage) {
         c->cb.damage(c->cb.opaque, r, n);
      }
      return true;
   }
   case MKS_LOCAL_MSG_CURSOR_SHAPE: {
      if (len < MKS_LOCAL_CURSOR_HDR_SIZE) {
         fail(c, "console server: CURSOR_SHAPE of %u bytes", len);
         return false;
      }
      uint32_t w = get_u32(p), h = get_u32(p + 4), hx = get_u32(p + 8), hy = get_u32(p + 12);
      uint32_t flags = get_u32(p + 16);
      if (w == 0 || h == 0 || w > MKS_LOCAL_CURSOR_MAX || h > MKS_LOCAL_CURSOR_MAX || hx >= w ||
          hy >= h || (flags & ~MKS_LOCAL_CURSOR_PREMULTIPLIED) ||
          len != MKS_LOCAL_CURSOR_HDR_SIZE + 4 * w * h) {
         fail(c, "console server: bad CURSOR_SHAPE (%ux%u, hot spot %u,%u, flags 0x%x, %u "
                 "bytes)",
              w, h, hx, hy, flags, len);
         return false;
      }
      g_free(c->cursor);
      c->cursor = g_memdup2(p + MKS_LOCAL_CURSOR_HDR_SIZE, (size_t)w * h * 4);
      c->cw = w;
      c->ch = h;
      c->chx = hx;
      c->chy = hy;
      c->cpremul = flags & MKS_LOCAL_CURSOR_PREMULTIPLIED;
      if (c->cb.cursor_shape) {
         c->cb.cursor_shape(c->cb.opaque, c->cursor, w, h, hx, hy, c->cpremul);
      }
      return true;
   }
   case MKS_LOCAL_MSG_CURSOR_POS: {
      uint32_t vis = len == MKS_LOCAL_CURSOR_POS_SIZE ? get_u32(p + 8) : 0;
      if (len != MKS_LOCAL_CURSOR_POS_SIZE || vis > 1) {
         fail(c, "console server: bad CURSOR_POS (%u bytes)", len);
         return false;
      }
      c->cx = (int32_t)get_u32(p);
      c->cy = (int32_t)get_u32(p + 4);
      c->cvis = vis;
      if (c->cb.cursor_pos) {
         c->cb.cursor_pos(c->cb.opaque, c->cx, c->cy, c->cvis);
      }
      return true;
   }
   case MKS_LOCAL_MSG_BYE: {
      char *text = g_strndup((const char *)p, len);
      for (char *s = text; *s; s++) {   /* keep the message printable */
         if ((unsigned char)*s < 0x20) {
            *s = ' ';
         }
      }
      char *valid = g_utf8_make_valid(text, -1);
      fail(c, "console server closed the connection: %s", valid);
      g_free(valid);
      g_free(text);
      return false;
   }
   default:
      fail(c, "console server: unknown message type %u", type);
      return false;
   }
}

static unsigned
max_len_of(uint16_t type)
{
   switch (type) {
   case MKS_LOCAL_MSG_HELLO:
   case MKS_LOCAL_MSG_MODE:
      return MKS_LOCAL_SURFACE_SIZE;
   case MKS_LOCAL_MSG_DAMAGE:
      return 8 + 16 * MKS_LOCAL_MAX_RECTS;
   case MKS_LOCAL_MSG_CURSOR_SHAPE:
      return MKS_LOCAL_CURSOR_HDR_SIZE + 4 * MKS_LOCAL_CURSOR_MAX * MKS_LOCAL_CURSOR_MAX;
   case MKS_LOCAL_MSG_CURSOR_POS:
      return MKS_LOCAL_CURSOR_POS_SIZE;
   case MKS_LOCAL_MSG_BYE:
      return MKS_LOCAL_MAX_REASON;
   default:
      return 0;
   }
}

/* Act on every whole message in the input buffer. */
static void
process_input(mksclient *c)
{
   size_t off = 0;
   while (!c->error && c->inlen - off >= MKS_LOCAL_HEADER_SIZE) {
      const uint8_t *h = c->in + off;
      uint16_t type = get_u16(h + 6);
      uint32_t len = get_u32(h + 8);
      if (get_u32(h) != MKS_LOCAL_MAGIC || get_u16(h + 4) != MKS_LOCAL_VERSION) {
         fail(c, "console server: bad message header (magic 0x%08x, version %u)", get_u32(h),
              get_u16(h + 4));
         break;
      }
      unsigned max = max_len_of(type);
      if (!max && type != MKS_LOCAL_MSG_BYE) {
         fail(c, "console server: unknown message type %u", type);
         break;
      }
      if (len > max) {
         fail(c, "console server: message type %u of %u bytes (at most %u)", type, len, max);
         break;
      }
      if (c->inlen - off < MKS_LOCAL_HEADER_SIZE + len) {
         /* Make room for the whole message. */
         size_t need = MKS_LOCAL_HEADER_SIZE + len;
         if (need > c->incap) {
            memmove(c->in, c->in + off, c->inlen - off);
            c->inlen -= off;
            off = 0;
            c->incap = need;
            c->in = g_realloc(c->in, c->incap);
         }
         break;
      }
      if (!handle_msg(c, type, h + MKS_LOCAL_HEADER_SIZE, len)) {
         break;
      }
      off += MKS_LOCAL_HEADER_SIZE + len;
   }
   memmove(c->in, c->in + off, c->inlen - off);
   c->inlen -= off;
}

/* Read once. 1: got bytes, 0: nothing there, -1: over. */
static int
read_some(mksclient *c)
{
   if (c->inlen == c->incap) {
      /* process_input() grows the buffer for a message that needs it. */
      fail(c, "console connection: input buffer full");
      return -1;
   }
   union {
      struct cmsghdr h;
      char buf[CMSG_SPACE(sizeof(int) * MAX_QUEUED_FDS)];
   } cm;
   struct iovec iov = { c->in + c->inlen, c->incap - c->inlen };
   struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                        .msg_controllen = sizeof cm.buf };
   ssize_t n;
   do {
      n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
   } while (n < 0 && errno == EINTR);
   if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
         return 0;
      }
      fail(c, "console connection: receive: %s", g_strerror(errno));
      return -1;
   }
   for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
      if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) {
         continue;
      }
      size_t nfd = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < nfd; i++) {
         int fd;
         memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
         if (c->nfds < MAX_QUEUED_FDS) {
            c->fds[c->nfds++] = fd;
         } else {
            close(fd);
            fail(c, "console server: sent more descriptors than surfaces");
         }
      }
   }
   if (mh.msg_flags & MSG_CTRUNC) {
      fail(c, "console server: sent more descriptors than surfaces");
   }
   if (c->error) {
      return -1;
   }
   if (n == 0) {
      fail(c, c->inlen ? "console server closed the connection in the middle of a message"
                       : "console server closed the connection");
      return -1;
   }
   c->inlen += (size_t)n;
   return 1;
}

/* ---- public */

mksclient *
mksclient_connect(const char *path, char **err)
{
   struct sockaddr_un sa = { .sun_family = AF_UNIX };
   if (strlen(path) >= sizeof sa.sun_path) {
      *err = g_strdup_printf("%s: console socket path too long", path);
      return NULL;
   }
   strcpy(sa.sun_path, path);
   int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
   if (fd < 0) {
      *err = g_strdup_printf("cannot create a socket: %s", g_strerror(errno));
      return NULL;
   }
   /* Non-blocking: a Unix connect() would block while the server's
    * backlog is full (a hung vmx); retry until the deadline instead. */
   gint64 deadline = g_get_monotonic_time() + (gint64)CONNECT_TIMEOUT_MS * 1000;
   while (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
      if (errno == EINTR) {
         continue;
      }
      if (errno != EAGAIN) {
         *err = g_strdup_printf("cannot connect to the console at %s: %s", path,
                                g_strerror(errno));
         close(fd);
         return NULL;
      }
      if (g_get_monotonic_time() >= deadline) {
         *err = g_strdup_printf("the console at %s did not accept the connection within %d ms",
                                path, CONNECT_TIMEOUT_MS);
         close(fd);
         return NULL;
      }
      g_usleep(10000);
   }
   mksclient *c = g_new0(mksclient, 1);
   c->fd = fd;
   c->incap = IN_INITIAL;
   c->in = g_malloc(c->incap);

   while (!c->error && !c->map) {
      int r = read_some(c);
      if (r > 0) {
         process_input(c);
         continue;
      }
      if (r < 0) {
         break;
      }
      gint64 left = (deadline - g_get_monotonic_time()) / 1000;
      if (left <= 0) {
         fail(c, "the console at %s did not answer within %d ms", path, CONNECT_TIMEOUT_MS);
         break;
      }
      struct pollfd pfd = { fd, POLLIN, 0 };
      poll(&pfd, 1, (int)left);
   }
   if (c->error) {
      *err = g_strdup(c->error);
      mksclient_free(c);
      return NULL;
   }
   return c;
}

void
mksclient_set_callbacks(mksclient *c, const mksclient_callbacks *cb)
{
   if (cb) {
      c->cb = *cb;
   } else {
      memset(&c->cb, 0, sizeof c->cb);
   }
}

void
mksclient_free(mksclient *c)
{
   if (!c) {
      return;
   }
   close(c->fd);
   for (unsigned i = 0; i < c->nfds; i++) {
      close(c->fds[i]);
   }
   unmap_surface(c);
   g_free(c->in);
   g_free(c->cursor);
   g_free(c->error);
   g_free(c);
}

int
mksclient_fd(mksclient *c)
{
   return c->fd;
}

bool
mksclient_want_write(mksclient *c)
{
   return !c->error && c->outlen > 0;
}

bool
mksclient_dispatch(mksclient *c)
{
   flush(c);
   /* A bounded number of reads, so a busy server cannot keep the caller's
    * main loop here; what is left wakes the next poll. */
   for (int i = 0; i < DISPATCH_READS && !c->error && read_some(c) > 0; i++) {
      process_input(c);
   }
   return !c->error;
}

const char *
mksclient_error(mksclient *c)
{
   return c->error;
}

bool
mksclient_surface(mksclient *c, const uint32_t **pixels, unsigned *width, unsigned *height,
                  size_t *stride)
{
   if (!c->map) {
      return false;
   }
   *pixels = c->map->addr;
   *width = c->w;
   *height = c->h;
   *stride = c->stride;
   return true;
}

mksclient_hold *
mksclient_surface_hold(mksclient *c)
{
   if (!c->map) {
      return NULL;
   }
   g_atomic_int_inc(&c->map->refs);
   return c->map;
}

void
mksclient_surface_release(mksclient_hold *h)
{
   map_unref(h);
}

uint32_t
mksclient_frame_serial(mksclient *c, bool *unacked)
{
   if (unacked) {
      *unacked = c->unacked;
   }
   return c->serial;
}

bool
mksclient_cursor(mksclient *c, const uint32_t **argb, unsigned *width, unsigned *height,
                 unsigned *hot_x, unsigned *hot_y, bool *premultiplied)
{
   if (!c->cursor) {
      return false;
   }
   *argb = c->cursor;
   *width = c->cw;
   *height = c->ch;
   *hot_x = c->chx;
   *hot_y = c->chy;
   *premultiplied = c->cpremul;
   return true;
}

void
mksclient_cursor_pos(mksclient *c, int *x, int *y, bool *visible)
{
   *x = c->cx;
   *y = c->cy;
   *visible = c->cvis;
}

bool
mksclient_ack(mksclient *c)
{
   if (c->error) {
      return false;
   }
   if (!c->unacked) {
      return true;
   }
   uint8_t p[MKS_LOCAL_ACK_SIZE];
   put_u32(p, c->serial);
   if (!queue_msg(c, MKS_LOCAL_MSG_ACK, p, sizeof p)) {
      return false;
   }
   c->unacked = false;
   return true;
}

bool
mksclient_send_key(mksclient *c, uint32_t keysym, uint32_t keycode, bool down)
{
   if ((!keysym && !keycode) || keysym > MKS_LOCAL_MAX_KEYSYM || keycode > MKS_LOCAL_MAX_KEYCODE) {
      return false;
   }
   uint8_t p[MKS_LOCAL_KEY_SIZE];
   put_u32(p, keysym);
   put_u32(p + 4, keycode);
   put_u32(p + 8, down ? 1 : 0);
   return queue_msg(c, MKS_LOCAL_MSG_KEY, p, sizeof p);
}

bool
mksclient_send_pointer(mksclient *c, int x, int y, unsigned buttons, int dz, int dw)
{
   if ((buttons & ~MKS_BUTTON_ALL) || dz < -MKS_LOCAL_MAX_WHEEL || dz > MKS_LOCAL_MAX_WHEEL ||
       dw < -MKS_LOCAL_MAX_WHEEL || dw > MKS_LOCAL_MAX_WHEEL) {
      return false;
   }
   uint8_t p[MKS_LOCAL_POINTER_SIZE];
   put_u32(p, (uint32_t)x);
   put_u32(p + 4, (uint32_t)y);
   put_u32(p + 8, buttons);
   put_u32(p + 12, (uint32_t)dz);
   put_u32(p + 16, (uint32_t)dw);
   return queue_msg(c, MKS_LOCAL_MSG_POINTER_ABS, p, sizeof p);
}
