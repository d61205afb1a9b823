/*
 * mks/console/local.c - the local console server: a shared-memory surface
 * and a Unix socket, served from a thread of its own. See local.h for the
 * protocol.
 *
 * State, not queues. Producers change the server's state (the surface and
 * its generation, the cursor shape and position with their serials) and
 * add damage to each client's small accumulator, all under l->lock, then
 * wake the thread. The thread turns the difference between what a client
 * was last sent and the current state into messages, and only when that
 * client's output buffer is empty: a frame (HELLO, MODE or DAMAGE) when
 * none is waiting for its ACK, then the cursor shape and position if they
 * changed. So one client's output never holds more than one frame and one
 * cursor, however slow it is, and producers never wait for a socket.
 *
 * Pixels are copied by the producer straight into the current memfd's
 * mapping (under the lock, so a mode change cannot unmap it meanwhile).
 * While the producer skips that for want of clients (mks_local_invalidate)
 * the surface is "invalid": no client gets it (HELLO, MODE) until an
 * update covers it whole, and the first client that waits for it asks the
 * producer for that update (the refresh callback).
 * A mode change makes a new memfd; the old one stays alive in the clients
 * that still map it and goes away with their mapping.
 */
#include "mks/console/local.h"
#include "vmx/vmxlog.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the wire encoding below assumes a little-endian host"
#endif

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif

#define BPP 4u
#define STRIDE_ALIGN 64u          /* bytes */
#define IN_BUF 4096u
#define MAX_HELD_KEYS 32u
#define READS_PER_WAKE 16
/* Rectangles closer than this (in wasted pixels of their bounding box)
 * are merged. */
#define MERGE_SLACK 4096u

/* ---- damage accumulator */

typedef struct lc_rect {
   uint32_t x, y, w, h;
} lc_rect;

typedef struct lc_damage {
   unsigned n;
   lc_rect r[MKS_LOCAL_MAX_RECTS];
} lc_damage;

static uint64_t
rect_area(lc_rect r)
{
   return (uint64_t)r.w * r.h;
}

static lc_rect
rect_union(lc_rect a, lc_rect b)
{
   uint32_t x0 = MIN(a.x, b.x), y0 = MIN(a.y, b.y);
   uint32_t x1 = MAX(a.x + a.w, b.x + b.w), y1 = MAX(a.y + a.h, b.y + b.h);
   return (lc_rect){ x0, y0, x1 - x0, y1 - y0 };
}

/* Pixels the bounding box of a and b covers beyond a and b (negative when
 * they overlap). */
static int64_t
merge_waste(lc_rect a, lc_rect b)
{
   return (int64_t)rect_area(rect_union(a, b)) - (int64_t)rect_area(a) - (int64_t)rect_area(b);
}

static void
damage_add(lc_damage *d, lc_rect r)
{
   /* Fold r into whatever it overlaps or nearly touches, repeatedly. */
   for (bool merged = true; merged;) {
      merged = false;
      for (unsigned i = 0; i < d->n; i++) {
         if (merge_waste(d->r[i], r) <= (int64_t)MERGE_SLACK) {
            r = rect_union(d->r[i], r);
            d->r[i] = d->r[--d->n];
            merged = true;
            break;
         }
      }
   }
   if (d->n < MKS_LOCAL_MAX_RECTS) {
      d->r[d->n++] = r;
      return;
   }
   /* Full: merge the cheapest pair among the n + 1. */
   lc_rect all[MKS_LOCAL_MAX_RECTS + 1];
   memcpy(all, d->r, sizeof d->r);
   all[MKS_LOCAL_MAX_RECTS] = r;
   unsigned bi = 0, bj = 1;
   int64_t best = INT64_MAX;
   for (unsigned i = 0; i <= MKS_LOCAL_MAX_RECTS; i++) {
      for (unsigned j = i + 1; j <= MKS_LOCAL_MAX_RECTS; j++) {
         int64_t w = merge_waste(all[i], all[j]);
         if (w < best) {
            best = w;
            bi = i;
            bj = j;
         }
      }
   }
   all[bi] = rect_union(all[bi], all[bj]);
   all[bj] = all[MKS_LOCAL_MAX_RECTS];
   memcpy(d->r, all, sizeof d->r);
}

/* ---- little-endian encoding */

static void
put_u32(uint8_t *p, uint32_t v)
{
   p[0] = (uint8_t)v;
   p[1] = (uint8_t)(v >> 8);
   p[2] = (uint8_t)(v >> 16);
   p[3] = (uint8_t)(v >> 24);
}

static void
put_u16(uint8_t *p, uint16_t v)
{
   p[0] = (uint8_t)v;
   p[1] = (uint8_t)(v >> 8);
}

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

/* ---- the parser of client messages */

long
mks_local_parse_client(const uint8_t *buf, size_t len, mks_local_client_msg *out, const char **why)
{
   if (len == 0) {
      return 0;
   }
   uint8_t magic[4];
   put_u32(magic, MKS_LOCAL_MAGIC);
   /* Reject a bad header as soon as its bytes are in. */
   if (memcmp(buf, magic, MIN(len, sizeof magic)) != 0) {
      *why = "bad magic";
      return -1;
   }
   if (len < 6) {
      return 0;
   }
   if (get_u16(buf + 4) != MKS_LOCAL_VERSION) {
      *why = "unsupported protocol version";
      return -1;
   }
   if (len < 8) {
      return 0;
   }
   uint16_t type = get_u16(buf + 6);
   uint32_t want;
   switch (type) {
   case MKS_LOCAL_MSG_KEY:
      want = MKS_LOCAL_KEY_SIZE;
      break;
   case MKS_LOCAL_MSG_POINTER_ABS:
      want = MKS_LOCAL_POINTER_SIZE;
      break;
   case MKS_LOCAL_MSG_ACK:
      want = MKS_LOCAL_ACK_SIZE;
      break;
   case MKS_LOCAL_MSG_HELLO:
   case MKS_LOCAL_MSG_MODE:
   case MKS_LOCAL_MSG_DAMAGE:
   case MKS_LOCAL_MSG_CURSOR_SHAPE:
   case MKS_LOCAL_MSG_CURSOR_POS:
   case MKS_LOCAL_MSG_BYE:
      *why = "a server-to-client message type";
      return -1;
   default:
      *why = "unknown message type";
      return -1;
   }
   if (len < MKS_LOCAL_HEADER_SIZE) {
      return 0;
   }
   if (get_u32(buf + 8) != want) {
      *why = "payload length does not match the message type";
      return -1;
   }
   if (len < MKS_LOCAL_HEADER_SIZE + want) {
      return 0;
   }
   const uint8_t *p = buf + MKS_LOCAL_HEADER_SIZE;
   memset(out, 0, sizeof *out);
   out->type = type;
   switch (type) {
   case MKS_LOCAL_MSG_KEY: {
      uint32_t down = get_u32(p + 8);
      out->keysym = get_u32(p);
      out->keycode = get_u32(p + 4);
      if (out->keysym > MKS_LOCAL_MAX_KEYSYM) {
         *why = "KEY: keysym out of range";
         return -1;
      }
      if (out->keycode > MKS_LOCAL_MAX_KEYCODE) {
         *why = "KEY: keycode out of range";
         return -1;
      }
      if (!out->keysym && !out->keycode) {
         *why = "KEY: neither keysym nor keycode";
         return -1;
      }
      if (down > 1) {
         *why = "KEY: down is neither 0 nor 1";
         return -1;
      }
      out->down = down;
      break;
   }
   case MKS_LOCAL_MSG_POINTER_ABS:
      out->x = (int32_t)get_u32(p);
      out->y = (int32_t)get_u32(p + 4);
      out->buttons = get_u32(p + 8);
      out->dz = (int32_t)get_u32(p + 12);
      out->dw = (int32_t)get_u32(p + 16);
      if (out->buttons & ~MKS_BUTTON_ALL) {
         *why = "POINTER_ABS: unknown button bits";
         return -1;
      }
      if (out->dz < -MKS_LOCAL_MAX_WHEEL || out->dz > MKS_LOCAL_MAX_WHEEL ||
          out->dw < -MKS_LOCAL_MAX_WHEEL || out->dw > MKS_LOCAL_MAX_WHEEL) {
         *why = "POINTER_ABS: wheel motion out of range";
         return -1;
      }
      break;
   default:
      out->serial = get_u32(p);
      break;
   }
   return (long)(MKS_LOCAL_HEADER_SIZE + want);
}

/* ---- server state */

typedef struct lc_key {
   uint32_t keysym, keycode;
} lc_key;

typedef struct lc_client {
   int fd;
   unsigned id;
   pid_t pid;

   /* Server thread only. */
   uint8_t in[IN_BUF];
   size_t inlen;
   uint8_t *out;
   size_t outlen, outoff, outcap;
   int out_fd;                 /* descriptor to send with out[0], or -1 */
   lc_key keys[MAX_HELD_KEYS]; /* held down */
   unsigned nkeys;
   unsigned buttons;
   int px, py;

   /* Under l->lock. */
   bool hello_sent;
   uint64_t surface_gen;       /* generation of the surface it was sent */
   bool awaiting;              /* a frame waits for its ACK */
   uint32_t serial;            /* of the last frame sent */
   lc_damage dmg;
   uint64_t shape_serial, pos_serial;
} lc_client;

struct mks_local {
   /* Fixed after creation. */
   mks_local_input in;
   char *path;
   dev_t sock_dev;
   ino_t sock_ino;
   int lfd;
   int wakefd;
   uid_t uid;
   pthread_t thread;

   /* Server thread only. */
   unsigned next_id;

   atomic_uint nclients;
   atomic_uint_least64_t st_clients, st_refused, st_errors, st_frames, st_rects, st_shapes,
      st_bytes, st_max_queued;

   /* Under lock. The clients array is changed only by the server thread
    * (with the lock held), so that thread reads it without the lock. */
   pthread_mutex_t lock;
   bool stop;
   bool woken;
   lc_client *clients[MKS_LOCAL_MAX_CLIENTS];
   unsigned n;
   int sfd;                    /* the surface memfd */
   uint8_t *pixels;
   unsigned w, h;
   size_t stride, size;
   uint64_t gen;
   uint32_t *cur;              /* cursor shape, NULL: none yet */
   unsigned cw, ch, chx, chy;
   bool cpremul;
   uint64_t shape_serial;
   int cx, cy;
   bool cvis;
   uint64_t pos_serial;
   bool invalid;               /* the surface misses updates (see the top) */
   bool refresh_asked;         /* since the last invalidation */
};

static void
wake(mks_local *l)
{
   if (!l->woken) {
      uint64_t one = 1;
      l->woken = true;
      if (write(l->wakefd, &one, sizeof one) < 0) {
         vmxlog("local console: eventfd write: %s", g_strerror(errno));
      }
   }
}

static void
stat_max(atomic_uint_least64_t *a, uint64_t v)
{
   uint64_t cur = atomic_load(a);
   while (v > cur && !atomic_compare_exchange_weak(a, &cur, v)) {
   }
}

/* ---- output */

static uint8_t *
out_reserve(lc_client *c, size_t n)
{
   if (c->outlen + n > c->outcap) {
      c->outcap = MAX(c->outcap * 2, c->outlen + n);
      c->out = g_realloc(c->out, c->outcap);
   }
   uint8_t *p = c->out + c->outlen;
   c->outlen += n;
   return p;
}

static uint8_t *
out_msg(lc_client *c, uint16_t type, uint32_t len)
{
   uint8_t *p = out_reserve(c, MKS_LOCAL_HEADER_SIZE + (size_t)len);
   put_u32(p, MKS_LOCAL_MAGIC);
   put_u16(p + 4, MKS_LOCAL_VERSION);
   put_u16(p + 6, type);
   put_u32(p + 8, len);
   return p + MKS_LOCAL_HEADER_SIZE;
}

static void
out_bye(lc_client *c, const char *reason)
{
   size_t n = MIN(strlen(reason), MKS_LOCAL_MAX_REASON);
   memcpy(out_msg(c, MKS_LOCAL_MSG_BYE, (uint32_t)n), reason, n);
}

/* Write what is queued. False when the connection is broken. */
static bool
flush(mks_local *l, lc_client *c)
{
   while (c->outoff < c->outlen) {
      struct iovec iov = { c->out + c->outoff, c->outlen - c->outoff };
      struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
      union {
         struct cmsghdr h;
         char buf[CMSG_SPACE(sizeof(int))];
      } cm;
      if (c->out_fd >= 0) {
         /* out_fd belongs to the first byte of the buffer. */
         memset(&cm, 0, sizeof cm);
         mh.msg_control = cm.buf;
         mh.msg_controllen = sizeof cm.buf;
         struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
         h->cmsg_level = SOL_SOCKET;
         h->cmsg_type = SCM_RIGHTS;
         h->cmsg_len = CMSG_LEN(sizeof(int));
         memcpy(CMSG_DATA(h), &c->out_fd, sizeof(int));
      }
      ssize_t n = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n < 0) {
         if (errno == EINTR) {
            continue;
         }
         if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return true;
         }
         if (errno != EPIPE && errno != ECONNRESET) {
            vmxlog("local console: client %u: send: %s", c->id, g_strerror(errno));
         }
         return false;
      }
      if (c->out_fd >= 0) {
         close(c->out_fd);
         c->out_fd = -1;
      }
      c->outoff += (size_t)n;
      atomic_fetch_add(&l->st_bytes, (uint64_t)n);
   }
   c->outoff = c->outlen = 0;
   if (c->outcap > 2 * MKS_LOCAL_MAX_MSG) {
      g_free(c->out);
      c->out = NULL;
      c->outcap = 0;
   }
   return true;
}

/* Turn what changed for c into messages (lock held, output empty). False
 * when the surface cannot be handed over. */
static bool
generate_locked(mks_local *l, lc_client *c)
{
   if (!c->awaiting && c->surface_gen != l->gen && !l->invalid) {
      int fd = fcntl(l->sfd, F_DUPFD_CLOEXEC, 3);
      if (fd < 0) {
         vmxlog("local console: client %u: cannot duplicate the surface descriptor: %s", c->id,
                g_strerror(errno));
         return false;
      }
      uint8_t *p = out_msg(c, c->hello_sent ? MKS_LOCAL_MSG_MODE : MKS_LOCAL_MSG_HELLO,
                           MKS_LOCAL_SURFACE_SIZE);
      c->serial++;
      put_u32(p, l->w);
      put_u32(p + 4, l->h);
      put_u32(p + 8, (uint32_t)l->stride);
      put_u32(p + 12, MKS_LOCAL_FORMAT_XRGB8888);
      put_u32(p + 16, c->serial);
      put_u32(p + 20, 0);
      c->out_fd = fd;
      c->hello_sent = true;
      c->surface_gen = l->gen;
      c->dmg.n = 0;
      c->awaiting = true;
      atomic_fetch_add(&l->st_frames, 1);
   } else if (!c->awaiting && c->dmg.n) {
      uint8_t *p = out_msg(c, MKS_LOCAL_MSG_DAMAGE, 8 + 16 * c->dmg.n);
      c->serial++;
      put_u32(p, c->serial);
      put_u32(p + 4, c->dmg.n);
      for (unsigned i = 0; i < c->dmg.n; i++) {
         uint8_t *q = p + 8 + 16 * i;
         put_u32(q, c->dmg.r[i].x);
         put_u32(q + 4, c->dmg.r[i].y);
         put_u32(q + 8, c->dmg.r[i].w);
         put_u32(q + 12, c->dmg.r[i].h);
      }
      atomic_fetch_add(&l->st_rects, c->dmg.n);
      c->dmg.n = 0;
      c->awaiting = true;
      atomic_fetch_add(&l->st_frames, 1);
   }
   if (!c->hello_sent) {
      return true;
   }
   if (c->shape_serial != l->shape_serial && l->cur) {
      size_t npx = (size_t)l->cw * l->ch;
      uint8_t *p = out_msg(c, MKS_LOCAL_MSG_CURSOR_SHAPE,
                           (uint32_t)(MKS_LOCAL_CURSOR_HDR_SIZE + npx * 4));
      put_u32(p, l->cw);
      put_u32(p + 4, l->ch);
      put_u32(p + 8, l->chx);
      put_u32(p + 12, l->chy);
      put_u32(p + 16, l->cpremul ? MKS_LOCAL_CURSOR_PREMULTIPLIED : 0);
      memcpy(p + MKS_LOCAL_CURSOR_HDR_SIZE, l->cur, npx * 4);   /* little-endian host */
      c->shape_serial = l->shape_serial;
      atomic_fetch_add(&l->st_shapes, 1);
   }
   if (c->pos_serial != l->pos_serial) {
      uint8_t *p = out_msg(c, MKS_LOCAL_MSG_CURSOR_POS, MKS_LOCAL_CURSOR_POS_SIZE);
      put_u32(p, (uint32_t)l->cx);
      put_u32(p + 4, (uint32_t)l->cy);
      put_u32(p + 8, l->cvis ? 1 : 0);
      c->pos_serial = l->pos_serial;
   }
   return true;
}

/* ---- clients */

/* Let go of what the client held (callbacks on the calling thread). */
static void
release_held(mks_local *l, lc_client *c)
{
   for (unsigned i = c->nkeys; i-- > 0;) {
      if (l->in.key) {
         l->in.key(l->in.opaque, c->keys[i].keysym, c->keys[i].keycode, false);
      }
   }
   c->nkeys = 0;
   if (c->buttons && l->in.pointer) {
      l->in.pointer(l->in.opaque, c->px, c->py, 0, 0, 0);
   }
   c->buttons = 0;
}

static void
client_destroy(lc_client *c)
{
   close(c->fd);
   if (c->out_fd >= 0) {
      close(c->out_fd);
   }
   g_free(c->out);
   g_free(c);
}

/* Server thread: remove c, release its input, close it. */
static void
drop_client(mks_local *l, lc_client *c)
{
   pthread_mutex_lock(&l->lock);
   for (unsigned i = 0; i < l->n; i++) {
      if (l->clients[i] == c) {
         l->clients[i] = l->clients[--l->n];
         break;
      }
   }
   pthread_mutex_unlock(&l->lock);
   atomic_fetch_sub(&l->nclients, 1);
   release_held(l, c);
   client_destroy(c);
}

/* A bad message: tell the client why (best effort) and drop it. */
static void
protocol_error(mks_local *l, lc_client *c, const char *why)
{
   vmxlog("local console: client %u (pid %d): protocol error: %s; disconnecting", c->id,
          (int)c->pid, why);
   atomic_fetch_add(&l->st_errors, 1);
   char *m = g_strdup_printf("protocol error: %s", why);
   out_bye(c, m);
   g_free(m);
   flush(l, c);
   drop_client(l, c);
}

static void
track_key(lc_client *c, uint32_t keysym, uint32_t keycode, bool down)
{
   unsigned i = 0;
   while (i < c->nkeys && (c->keys[i].keysym != keysym || c->keys[i].keycode != keycode)) {
      i++;
   }
   if (down && i == c->nkeys && c->nkeys < MAX_HELD_KEYS) {
      c->keys[c->nkeys++] = (lc_key){ keysym, keycode };
   } else if (!down && i < c->nkeys) {
      c->keys[i] = c->keys[--c->nkeys];
   }
}

/* Act on one parsed message. NULL, or why the client must go. */
static const char *
handle_msg(mks_local *l, lc_client *c, const mks_local_client_msg *m)
{
   switch (m->type) {
   case MKS_LOCAL_MSG_KEY:
      track_key(c, m->keysym, m->keycode, m->down);
      if (l->in.key) {
         l->in.key(l->in.opaque, m->keysym, m->keycode, m->down);
      }
      return NULL;
   case MKS_LOCAL_MSG_POINTER_ABS: {
      pthread_mutex_lock(&l->lock);
      int w = (int)l->w, h = (int)l->h;
      pthread_mutex_unlock(&l->lock);
      int x = m->x < 0 ? 0 : m->x >= w ? w - 1 : m->x;
      int y = m->y < 0 ? 0 : m->y >= h ? h - 1 : m->y;
      c->buttons = m->buttons;
      c->px = x;
      c->py = y;
      if (l->in.pointer) {
         l->in.pointer(l->in.opaque, x, y, m->buttons, m->dz, m->dw);
      }
      return NULL;
   }
   default: {   /* ACK */
      const char *why = NULL;
      pthread_mutex_lock(&l->lock);
      if (!c->awaiting) {
         why = "ACK with no frame outstanding";
      } else if (m->serial != c->serial) {
         why = "ACK names a frame other than the outstanding one";
      } else {
         c->awaiting = false;
      }
      pthread_mutex_unlock(&l->lock);
      return why;
   }
   }
}

/* Read and act on what the client sent. False when it is gone (dropped). */
static bool
client_read(mks_local *l, lc_client *c)
{
   for (int round = 0; round < READS_PER_WAKE; round++) {
      union {
         struct cmsghdr h;
         char buf[CMSG_SPACE(sizeof(int) * 8)];
      } cm;
      struct iovec iov = { c->in + c->inlen, sizeof c->in - c->inlen };
      struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                           .msg_controllen = sizeof cm.buf };
      ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
      if (n < 0) {
         if (errno == EINTR) {
            continue;
         }
         if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return true;
         }
         vmxlog("local console: client %u: receive: %s; disconnecting", c->id, g_strerror(errno));
         drop_client(l, c);
         return false;
      }
      bool got_fds = false;
      for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
         if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
            size_t nfd = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < nfd; i++) {
               int fd;
               memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
               close(fd);
            }
            got_fds = true;
         }
      }
      if (got_fds || (mh.msg_flags & MSG_CTRUNC)) {
         protocol_error(l, c, "the client sent file descriptors");
         return false;
      }
      if (n == 0) {
         if (c->inlen) {
            vmxlog("local console: client %u (pid %d) disconnected in the middle of a message",
                   c->id, (int)c->pid);
         } else {
            vmxlog("local console: client %u (pid %d) disconnected", c->id, (int)c->pid);
         }
         drop_client(l, c);
         return false;
      }
      c->inlen += (size_t)n;
      size_t off = 0;
      for (;;) {
         mks_local_client_msg m;
         const char *why = NULL;
         long r = mks_local_parse_client(c->in + off, c->inlen - off, &m, &why);
         if (r < 0) {
            protocol_error(l, c, why);
            return false;
         }
         if (r == 0) {
            break;
         }
         off += (size_t)r;
         why = handle_msg(l, c, &m);
         if (why) {
            protocol_error(l, c, why);
            return false;
         }
      }
      memmove(c->in, c->in + off, c->inlen - off);
      c->inlen -= off;
   }
   return true;
}

static void
refuse(mks_local *l, int fd, const char *reason)
{
   atomic_fetch_add(&l->st_refused, 1);
   uint8_t msg[MKS_LOCAL_HEADER_SIZE + MKS_LOCAL_MAX_REASON];
   size_t n = MIN(strlen(reason), MKS_LOCAL_MAX_REASON);
   put_u32(msg, MKS_LOCAL_MAGIC);
   put_u16(msg + 4, MKS_LOCAL_VERSION);
   put_u16(msg + 6, MKS_LOCAL_MSG_BYE);
   put_u32(msg + 8, (uint32_t)n);
   memcpy(msg + MKS_LOCAL_HEADER_SIZE, reason, n);
   if (send(fd, msg, MKS_LOCAL_HEADER_SIZE + n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
      /* The peer is refused either way. */
   }
   close(fd);
}

static void
accept_clients(mks_local *l)
{
   for (;;) {
      int fd = accept4(l->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) {
         if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
             errno != ECONNABORTED) {
            vmxlog("local console: accept: %s", g_strerror(errno));
         }
         return;
      }
      struct ucred cred;
      socklen_t clen = sizeof cred;
      if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) != 0 || clen != sizeof cred) {
         vmxlog("local console: connection refused: cannot read the peer's credentials: %s",
                g_strerror(errno));
         refuse(l, fd, "credentials unavailable");
         continue;
      }
      if (cred.uid != l->uid) {
         vmxlog("local console: connection refused: peer pid %d runs as uid %u, not %u",
                (int)cred.pid, (unsigned)cred.uid, (unsigned)l->uid);
         refuse(l, fd, "permission denied");
         continue;
      }
      if (l->n >= MKS_LOCAL_MAX_CLIENTS) {
         vmxlog("local console: connection from pid %d refused: already %u clients",
                (int)cred.pid, MKS_LOCAL_MAX_CLIENTS);
         refuse(l, fd, "too many clients");
         continue;
      }
      lc_client *c = g_new0(lc_client, 1);
      c->fd = fd;
      c->out_fd = -1;
      c->id = ++l->next_id;
      c->pid = cred.pid;
      pthread_mutex_lock(&l->lock);
      l->clients[l->n++] = c;
      pthread_mutex_unlock(&l->lock);
      atomic_fetch_add(&l->nclients, 1);
      atomic_fetch_add(&l->st_clients, 1);
      vmxlog("local console: client %u connected (pid %d)", c->id, (int)cred.pid);
   }
}

/* Fill and write the output of every client; drop the broken ones. */
static void
serve_output(mks_local *l)
{
   bool refresh = false;
   for (unsigned i = 0; i < l->n;) {
      lc_client *c = l->clients[i];
      bool ok = true;
      if (c->outlen == 0) {
         pthread_mutex_lock(&l->lock);
         ok = generate_locked(l, c);
         /* Waiting for a surface the producer stopped updating. */
         if (ok && l->invalid && !c->awaiting && c->surface_gen != l->gen &&
             !l->refresh_asked) {
            l->refresh_asked = true;
            refresh = true;
         }
         pthread_mutex_unlock(&l->lock);
         stat_max(&l->st_max_queued, c->outlen);
      }
      if (ok && c->outlen) {
         ok = flush(l, c);
      }
      if (!ok) {
         drop_client(l, c);   /* moved the last client to slot i */
         continue;
      }
      i++;
   }
   if (refresh && l->in.refresh) {
      l->in.refresh(l->in.opaque);
   }
}

static void *
server_thread(void *arg)
{
   mks_local *l = arg;
   vmxlog_set_thread_name("mks-local");
   struct pollfd pfd[2 + MKS_LOCAL_MAX_CLIENTS];
   lc_client *polled[MKS_LOCAL_MAX_CLIENTS];
   for (;;) {
      unsigned n = 0, np = l->n;
      pfd[n++] = (struct pollfd){ .fd = l->wakefd, .events = POLLIN };
      pfd[n++] = (struct pollfd){ .fd = l->lfd, .events = POLLIN };
      for (unsigned i = 0; i < np; i++) {
         lc_client *c = polled[i] = l->clients[i];
         pfd[n++] = (struct pollfd){ .fd = c->fd,
                                     .events = (short)(POLLIN | (c->outlen ? POLLOUT : 0)) };
      }
      if (poll(pfd, n, -1) < 0 && errno != EINTR) {
         vmxlog("local console: poll: %s", g_strerror(errno));
      }
      if (pfd[0].revents & POLLIN) {
         uint64_t v;
         pthread_mutex_lock(&l->lock);
         if (read(l->wakefd, &v, sizeof v) < 0 && errno != EAGAIN) {
            vmxlog("local console: eventfd read: %s", g_strerror(errno));
         }
         l->woken = false;
         pthread_mutex_unlock(&l->lock);
      }
      pthread_mutex_lock(&l->lock);
      bool stop = l->stop;
      pthread_mutex_unlock(&l->lock);
      if (stop) {
         break;
      }
      /* Clients first (a drop reorders l->clients: go by what was polled). */
      for (unsigned i = 0; i < np; i++) {
         if (pfd[2 + i].revents & (POLLIN | POLLHUP | POLLERR)) {
            client_read(l, polled[i]);   /* may drop it */
         }
      }
      if (pfd[1].revents & POLLIN) {
         accept_clients(l);
      }
      serve_output(l);
   }
   return NULL;
}

/* ---- the socket */

static int
listen_unix(const char *path, dev_t *dev, ino_t *ino, char **err)
{
   struct sockaddr_un sa = { .sun_family = AF_UNIX };
   if (strlen(path) >= sizeof sa.sun_path) {
      *err = g_strdup_printf("local console: socket path %s is too long (%zu bytes at most)",
                             path, sizeof sa.sun_path - 1);
      return -1;
   }
   strcpy(sa.sun_path, path);
   char *dir = g_path_get_dirname(path);
   struct stat st;
   if (stat(dir, &st) != 0) {
      *err = g_strdup_printf("local console: socket directory %s: %s", dir, g_strerror(errno));
      g_free(dir);
      return -1;
   }
   if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
      vmxlog("local console: warning: %s is writable by others; they could replace the "
             "console socket",
             dir);
   }
   g_free(dir);

   if (lstat(path, &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
         *err = g_strdup_printf("local console: %s exists and is not a socket", path);
         return -1;
      }
      /* Someone's, or stale? */
      int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (probe < 0) {
         *err = g_strdup_printf("local console: cannot create a socket: %s", g_strerror(errno));
         return -1;
      }
      int r = connect(probe, (struct sockaddr *)&sa, sizeof sa);
      int e = errno;
      close(probe);
      if (r == 0) {
         *err = g_strdup_printf("local console: another server is listening on %s", path);
         return -1;
      }
      if (e != ECONNREFUSED) {
         *err = g_strdup_printf("local console: %s: %s", path, g_strerror(e));
         return -1;
      }
      vmxlog("local console: removing stale socket %s", path);
      if (unlink(path) != 0 && errno != ENOENT) {
         *err = g_strdup_printf("local console: cannot remove stale socket %s: %s", path,
                                g_strerror(errno));
         return -1;
      }
   }

   int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
   if (fd < 0) {
      *err = g_strdup_printf("local console: cannot create a socket: %s", g_strerror(errno));
      return -1;
   }
   if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
      *err = g_strdup_printf("local console: cannot bind %s: %s", path, g_strerror(errno));
      close(fd);
      return -1;
   }
   /* Owner only, before anyone can connect (nobody can until listen()). */
   if (chmod(path, 0600) != 0 || lstat(path, &st) != 0 || listen(fd, 8) != 0) {
      *err = g_strdup_printf("local console: cannot set up %s: %s", path, g_strerror(errno));
      unlink(path);
      close(fd);
      return -1;
   }
   *dev = st.st_dev;
   *ino = st.st_ino;
   return fd;
}

/* ---- surfaces */

typedef struct lc_surface {
   int fd;
   uint8_t *pixels;
   size_t stride, size;
} lc_surface;

static bool
surface_new(unsigned w, unsigned h, lc_surface *s)
{
   static atomic_bool warned_future_write;
   s->stride = ((size_t)w * BPP + STRIDE_ALIGN - 1) / STRIDE_ALIGN * STRIDE_ALIGN;
   s->size = s->stride * h;
   s->fd = memfd_create("vmws-console", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
   if (s->fd < 0 && errno == EINVAL) {
      s->fd = memfd_create("vmws-console", MFD_CLOEXEC | MFD_ALLOW_SEALING);
   }
   if (s->fd < 0) {
      vmxlog("local console: memfd_create: %s", g_strerror(errno));
      return false;
   }
   if (ftruncate(s->fd, (off_t)s->size) != 0) {
      vmxlog("local console: cannot size a %ux%u surface: %s", w, h, g_strerror(errno));
      close(s->fd);
      return false;
   }
   s->pixels = mmap(NULL, s->size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
   if (s->pixels == MAP_FAILED) {
      vmxlog("local console: cannot map a %ux%u surface: %s", w, h, g_strerror(errno));
      close(s->fd);
      return false;
   }
   if (fcntl(s->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
      vmxlog("local console: cannot seal the surface: %s", g_strerror(errno));
      munmap(s->pixels, s->size);
      close(s->fd);
      return false;
   }
   /* Clients may read only; our mapping, made before, stays writable. */
   if (fcntl(s->fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) != 0 &&
       !atomic_exchange(&warned_future_write, true)) {
      vmxlog("local console: the kernel cannot seal surfaces against writes (%s); clients "
             "could write to them",
             g_strerror(errno));
   }
   fcntl(s->fd, F_ADD_SEALS, F_SEAL_SEAL);
   return true;
}

static void
surface_free(lc_surface *s)
{
   if (s->fd >= 0) {
      munmap(s->pixels, s->size);
      close(s->fd);
   }
}

/* ---- public */

mks_local *
mks_local_new(const char *socket_path, const mks_local_input *in, char **err)
{
   mks_local *l = g_new0(mks_local, 1);
   l->lfd = l->wakefd = l->sfd = -1;
   if (in) {
      l->in = *in;
   }
   l->uid = geteuid();
   l->path = g_strdup(socket_path);
   lc_surface s = { .fd = -1 };
   if (!surface_new(640, 480, &s)) {
      *err = g_strdup("local console: cannot create the shared surface (see the log)");
      goto fail;
   }
   l->sfd = s.fd;
   l->pixels = s.pixels;
   l->stride = s.stride;
   l->size = s.size;
   l->w = 640;
   l->h = 480;
   l->gen = 1;
   l->lfd = listen_unix(socket_path, &l->sock_dev, &l->sock_ino, err);
   if (l->lfd < 0) {
      goto fail;
   }
   l->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
   if (l->wakefd < 0) {
      *err = g_strdup_printf("local console: eventfd: %s", g_strerror(errno));
      goto fail;
   }
   pthread_mutex_init(&l->lock, NULL);
   if (pthread_create(&l->thread, NULL, server_thread, l) != 0) {
      *err = g_strdup("local console: cannot start the server thread");
      pthread_mutex_destroy(&l->lock);
      goto fail;
   }
   vmxlog("local console: listening on %s", socket_path);
   return l;

fail:
   if (l->lfd >= 0) {
      close(l->lfd);
      unlink(socket_path);
   }
   if (l->wakefd >= 0) {
      close(l->wakefd);
   }
   surface_free(&s);
   g_free(l->path);
   g_free(l);
   return NULL;
}

void
mks_local_free(mks_local *l)
{
   if (!l) {
      return;
   }
   pthread_mutex_lock(&l->lock);
   l->stop = true;
   l->woken = false;
   wake(l);
   pthread_mutex_unlock(&l->lock);
   pthread_join(l->thread, NULL);

   /* The thread is gone: the clients are ours. */
   for (unsigned i = 0; i < l->n; i++) {
      lc_client *c = l->clients[i];
      /* After whatever was queued (the stream must stay whole). */
      out_bye(c, "the console server is shutting down");
      flush(l, c);
      release_held(l, c);
      client_destroy(c);
   }
   l->n = 0;
   struct stat st;
   if (lstat(l->path, &st) == 0 && st.st_dev == l->sock_dev && st.st_ino == l->sock_ino) {
      unlink(l->path);
   }
   close(l->lfd);
   close(l->wakefd);
   lc_surface s = { l->sfd, l->pixels, l->stride, l->size };
   surface_free(&s);
   g_free(l->cur);
   pthread_mutex_destroy(&l->lock);
   vmxlog("local console: server on %s stopped", l->path);
   g_free(l->path);
   g_free(l);
}

const char *
mks_local_path(const mks_local *l)
{
   return l->path;
}

void
mks_local_set_mode(mks_local *l, unsigned width, unsigned height)
{
   if (width == 0 || height == 0 || width > MKS_LOCAL_MAX_DIM || height > MKS_LOCAL_MAX_DIM) {
      vmxlog("local console: ignoring mode %ux%u (1 to %u pixels each way)", width, height,
             MKS_LOCAL_MAX_DIM);
      return;
   }
   lc_surface s;
   if (!surface_new(width, height, &s)) {
      vmxlog("local console: keeping the old mode instead of %ux%u", width, height);
      return;
   }
   pthread_mutex_lock(&l->lock);
   lc_surface old = { l->sfd, l->pixels, l->stride, l->size };
   l->sfd = s.fd;
   l->pixels = s.pixels;
   l->stride = s.stride;
   l->size = s.size;
   l->w = width;
   l->h = height;
   l->gen++;
   for (unsigned i = 0; i < l->n; i++) {
      l->clients[i]->dmg.n = 0;   /* the MODE they get covers everything */
   }
   wake(l);
   pthread_mutex_unlock(&l->lock);
   surface_free(&old);
}

void
mks_local_update(mks_local *l, const void *fb, size_t stride, unsigned x, unsigned y, unsigned w,
                 unsigned h)
{
   const uint8_t *src = fb;
   pthread_mutex_lock(&l->lock);
   if (x >= l->w || y >= l->h || w == 0 || h == 0) {
      pthread_mutex_unlock(&l->lock);
      return;
   }
   w = MIN(w, l->w - x);
   h = MIN(h, l->h - y);
   for (unsigned row = y; row < y + h; row++) {
      memcpy(l->pixels + row * l->stride + (size_t)x * BPP,
             src + row * stride + (size_t)x * BPP, (size_t)w * BPP);
   }
   if (x == 0 && y == 0 && w == l->w && h == l->h) {
      l->invalid = false;   /* clients waiting for the surface get it now */
   }
   lc_rect r = { x, y, w, h };
   for (unsigned i = 0; i < l->n; i++) {
      lc_client *c = l->clients[i];
      if (c->surface_gen == l->gen) {   /* else a MODE (covering all) is due */
         damage_add(&c->dmg, r);
      }
   }
   wake(l);
   pthread_mutex_unlock(&l->lock);
}

void
mks_local_invalidate(mks_local *l)
{
   pthread_mutex_lock(&l->lock);
   l->invalid = true;
   l->refresh_asked = false;
   pthread_mutex_unlock(&l->lock);
}

void
mks_local_set_cursor(mks_local *l, const uint32_t *argb, unsigned width, unsigned height,
                     unsigned hot_x, unsigned hot_y, bool premultiplied)
{
   if (!argb || width == 0 || height == 0 || width > 65536 || height > 65536) {
      mks_local_hide_cursor(l);
      return;
   }
   hot_x = MIN(hot_x, width - 1);
   hot_y = MIN(hot_y, height - 1);
   /* Crop to MKS_LOCAL_CURSOR_MAX each way, keeping the hot spot inside. */
   unsigned x0 = 0, y0 = 0, w = width, h = height;
   if (w > MKS_LOCAL_CURSOR_MAX) {
      w = MKS_LOCAL_CURSOR_MAX;
      x0 = hot_x < w / 2 ? 0 : MIN(hot_x - w / 2, width - w);
   }
   if (h > MKS_LOCAL_CURSOR_MAX) {
      h = MKS_LOCAL_CURSOR_MAX;
      y0 = hot_y < h / 2 ? 0 : MIN(hot_y - h / 2, height - h);
   }
   uint32_t *px = g_new(uint32_t, (size_t)w * h);
   for (unsigned row = 0; row < h; row++) {
      memcpy(px + (size_t)row * w, argb + (size_t)(row + y0) * width + x0, (size_t)w * 4);
   }
   pthread_mutex_lock(&l->lock);
   uint32_t *old = l->cur;
   l->cur = px;
   l->cw = w;
   l->ch = h;
   l->chx = hot_x - x0;
   l->chy = hot_y - y0;
   l->cpremul = premultiplied;
   l->shape_serial++;
   if (!l->cvis) {
      l->cvis = true;
      l->pos_serial++;
   }
   wake(l);
   pthread_mutex_unlock(&l->lock);
   g_free(old);
}

void
mks_local_hide_cursor(mks_local *l)
{
   pthread_mutex_lock(&l->lock);
   if (l->cvis) {
      l->cvis = false;
      l->pos_serial++;
      wake(l);
   }
   pthread_mutex_unlock(&l->lock);
}

void
mks_local_move_cursor(mks_local *l, int x, int y)
{
   pthread_mutex_lock(&l->lock);
   if (x != l->cx || y != l->cy) {
      l->cx = x;
      l->cy = y;
      l->pos_serial++;
      wake(l);
   }
   pthread_mutex_unlock(&l->lock);
}

unsigned
mks_local_client_count(mks_local *l)
{
   return atomic_load(&l->nclients);
}

void
mks_local_get_stats(mks_local *l, mks_local_stats *out)
{
   out->clients = atomic_load(&l->st_clients);
   out->refused = atomic_load(&l->st_refused);
   out->protocol_errors = atomic_load(&l->st_errors);
   out->frames = atomic_load(&l->st_frames);
   out->rects = atomic_load(&l->st_rects);
   out->cursor_shapes = atomic_load(&l->st_shapes);
   out->bytes = atomic_load(&l->st_bytes);
   out->max_queued = atomic_load(&l->st_max_queued);
}
