/*
 * mks/console/tests/local-test-client.h - what the local console's test
 * programs share (test-local.c, test-local-wire.c): a server with an input
 * recorder, a client of the real client library that records what it
 * gets, test frames, and a raw peer that speaks the wire format by hand.
 * Everything here is static: each program gets its own copy, recorder
 * state included.
 */
#ifndef MKS_CONSOLE_TESTS_LOCAL_TEST_CLIENT_H
#define MKS_CONSOLE_TESTS_LOCAL_TEST_CLIENT_H

#include "cui/mksclient.h"
#include "mks/console/local.h"
#include "mks/console/tests/input-recorder.h"
#include "mks/console/tests/local-test-wire.h"
#include "vmx/vmxlog.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

static char *tmpdir;   /* this test program's scratch folder */
static unsigned sock_seq;

/* ---- input recorder (callbacks run on the server thread) */

static inline void
rec_key(void *opaque, uint32_t keysym, uint32_t keycode, bool down)
{
   rec_push((ev){ .is_key = true, .keysym = keysym, .keycode = keycode, .down = down });
}

static const mks_local_input recorder = { rec_key, rec_pointer, NULL };

/* ---- server */

static inline char *
new_sock_path(void)
{
   return g_strdup_printf("%s/console-%u.sock", tmpdir, ++sock_seq);
}

static inline mks_local *
start(void)
{
   char *path = new_sock_path();
   char *err = NULL;
   mks_local *l = mks_local_new(path, &recorder, &err);
   if (!l) {
      g_error("%s", err);
   }
   g_free(path);
   return l;
}

static inline void
wait_clients(mks_local *l, unsigned n)
{
   for (int i = 0; i < 1000 && mks_local_client_count(l) != n; i++) {
      g_usleep(10000);
   }
   g_assert_cmpuint(mks_local_client_count(l), ==, n);
}

/* ---- a client with recording callbacks */

typedef struct tclient {
   mksclient *mc;
   unsigned modes;
   unsigned damages;
   mksclient_rect rects[64];
   unsigned nrects;           /* all rectangles since the last reset */
   unsigned last_n;
   unsigned shapes;
   uint32_t *shape;
   unsigned sw, sh, shx, shy;
   bool spremul;
   unsigned poses;
   int px, py;
   bool pvis;
   bool auto_ack;
} tclient;

static inline void
on_mode(void *opaque, unsigned w, unsigned h)
{
   tclient *t = opaque;
   t->modes++;
   if (t->auto_ack) {
      g_assert_true(mksclient_ack(t->mc));
   }
}

static inline void
on_damage(void *opaque, const mksclient_rect *r, unsigned n)
{
   tclient *t = opaque;
   g_assert_cmpuint(n, >=, 1);
   g_assert_cmpuint(n, <=, MKS_LOCAL_MAX_RECTS);
   t->damages++;
   t->last_n = n;
   for (unsigned i = 0; i < n && t->nrects < G_N_ELEMENTS(t->rects); i++) {
      t->rects[t->nrects++] = r[i];
   }
   if (t->auto_ack) {
      g_assert_true(mksclient_ack(t->mc));
   }
}

static inline void
on_shape(void *opaque, const uint32_t *argb, unsigned w, unsigned h, unsigned hx, unsigned hy,
         bool premul)
{
   tclient *t = opaque;
   t->shapes++;
   g_free(t->shape);
   t->shape = g_memdup2(argb, (size_t)w * h * 4);
   t->sw = w;
   t->sh = h;
   t->shx = hx;
   t->shy = hy;
   t->spremul = premul;
}

static inline void
on_pos(void *opaque, int x, int y, bool visible)
{
   tclient *t = opaque;
   t->poses++;
   t->px = x;
   t->py = y;
   t->pvis = visible;
}

static inline tclient *
tconnect(mks_local *l, bool auto_ack)
{
   tclient *t = g_new0(tclient, 1);
   char *err = NULL;
   t->mc = mksclient_connect(mks_local_path(l), &err);
   if (!t->mc) {
      g_error("connect: %s", err);
   }
   t->auto_ack = auto_ack;
   mksclient_callbacks cb = { on_mode, on_damage, on_shape, on_pos, t };
   mksclient_set_callbacks(t->mc, &cb);
   if (auto_ack) {
      g_assert_true(mksclient_ack(t->mc));
   }
   return t;
}

static inline void
tfree(tclient *t)
{
   mksclient_free(t->mc);
   g_free(t->shape);
   g_free(t);
}

static inline void
treset(tclient *t)
{
   t->modes = t->damages = t->nrects = t->last_n = t->shapes = t->poses = 0;
}

/* Dispatch for up to ms milliseconds, or until done(t) holds. */
static inline bool
pump(tclient *t, int ms, bool (*done)(tclient *))
{
   gint64 deadline = g_get_monotonic_time() + (gint64)ms * 1000;
   for (;;) {
      if (done && done(t)) {
         return true;
      }
      gint64 left = (deadline - g_get_monotonic_time()) / 1000;
      if (left <= 0) {
         return false;
      }
      struct pollfd pfd = { mksclient_fd(t->mc),
                            (short)(POLLIN | (mksclient_want_write(t->mc) ? POLLOUT : 0)), 0 };
      poll(&pfd, 1, (int)MIN(left, 50));
      if (!mksclient_dispatch(t->mc)) {
         g_error("client: %s", mksclient_error(t->mc));
      }
   }
}

static inline bool
got_damage(tclient *t)
{
   return t->damages > 0;
}

static inline bool
got_mode(tclient *t)
{
   return t->modes > 0;
}

static inline bool
got_shape(tclient *t)
{
   return t->shapes > 0;
}

static inline bool
got_pos(tclient *t)
{
   return t->poses > 0;
}

/* ---- frames */

typedef struct frame {
   unsigned w, h;
   size_t stride;   /* bytes */
   uint32_t *px;
} frame;

/* Noise with garbage in the X byte: the surface must take it as is. */
static inline frame
make_frame(unsigned w, unsigned h, uint32_t seed)
{
   frame f = { w, h, (size_t)(w + 5) * 4, NULL };
   f.px = g_new(uint32_t, (size_t)(w + 5) * h);
   uint32_t s = seed;
   for (size_t i = 0; i < (size_t)(w + 5) * h; i++) {
      s = s * 1664525u + 1013904223u;
      f.px[i] = s;
   }
   return f;
}

static inline uint32_t
fpx(const frame *f, unsigned x, unsigned y)
{
   return f->px[(size_t)y * (f->stride / 4) + x];
}

static inline uint32_t
spx(tclient *t, unsigned x, unsigned y)
{
   const uint32_t *p;
   unsigned w, h;
   size_t stride;
   g_assert_true(mksclient_surface(t->mc, &p, &w, &h, &stride));
   g_assert_cmpuint(x, <, w);
   g_assert_cmpuint(y, <, h);
   return p[y * (stride / 4) + x];
}

/* The client's surface equals f in the rectangle, exactly. */
static inline void
assert_rect_matches(tclient *t, const frame *f, unsigned x0, unsigned y0, unsigned w, unsigned h)
{
   for (unsigned y = y0; y < y0 + h; y++) {
      for (unsigned x = x0; x < x0 + w; x++) {
         if (spx(t, x, y) != fpx(f, x, y)) {
            g_error("surface pixel %u,%u is %08x, expected %08x", x, y, spx(t, x, y),
                    fpx(f, x, y));
         }
      }
   }
}

static inline void
assert_rect_value(tclient *t, unsigned x0, unsigned y0, unsigned w, unsigned h, uint32_t v)
{
   for (unsigned y = y0; y < y0 + h; y++) {
      for (unsigned x = x0; x < x0 + w; x++) {
         if (spx(t, x, y) != v) {
            g_error("surface pixel %u,%u is %08x, expected %08x", x, y, spx(t, x, y), v);
         }
      }
   }
}

/* The damage t received covers the rectangle. */
static inline bool
damage_covers(tclient *t, unsigned x0, unsigned y0, unsigned w, unsigned h)
{
   for (unsigned y = y0; y < y0 + h; y++) {
      for (unsigned x = x0; x < x0 + w; x++) {
         bool in = false;
         for (unsigned i = 0; i < t->nrects && !in; i++) {
            const mksclient_rect *r = &t->rects[i];
            in = x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h;
         }
         if (!in) {
            return false;
         }
      }
   }
   return true;
}

/* ---- a raw peer speaking the wire format by hand */

/* One message; false on EOF. *payload g_malloc'd. */
static inline bool
raw_msg(int fd, uint16_t *type, uint8_t **payload, uint32_t *len, int *fd_out)
{
   uint8_t h[12];
   if (!raw_read(fd, h, sizeof h, fd_out)) {
      return false;
   }
   g_assert_cmphex(get32(h), ==, MKS_LOCAL_MAGIC);
   g_assert_cmpuint(h[4] | h[5] << 8, ==, MKS_LOCAL_VERSION);
   *type = (uint16_t)(h[6] | h[7] << 8);
   *len = get32(h + 8);
   g_assert_cmpuint(*len, <=, MKS_LOCAL_MAX_MSG);
   *payload = g_malloc(*len + 1);
   if (*len && !raw_read(fd, *payload, *len, fd_out)) {
      g_free(*payload);
      return false;
   }
   return true;
}

/* Read the HELLO on fd: its payload (g_free it), the surface's fd in *sfd. */
static inline uint8_t *
raw_read_hello(int fd, int *sfd)
{
   uint16_t type = 0;
   uint8_t *p = NULL;
   uint32_t len = 0;
   *sfd = -1;
   g_assert_true(raw_msg(fd, &type, &p, &len, sfd));
   g_assert_cmpuint(type, ==, MKS_LOCAL_MSG_HELLO);
   g_assert_cmpuint(len, ==, MKS_LOCAL_SURFACE_SIZE);
   g_assert_cmpint(*sfd, >=, 0);
   return p;
}

/* Connect and read the HELLO; its serial in *serial. */
static inline int
raw_hello(mks_local *l, uint32_t *serial)
{
   int fd = raw_connect(mks_local_path(l));
   int sfd;
   uint8_t *p = raw_read_hello(fd, &sfd);
   if (serial) {
      *serial = get32(p + 16);
   }
   close(sfd);
   g_free(p);
   return fd;
}

/* The HELLO on fd: its surface mapped (size in *size). */
static inline const uint32_t *
raw_hello_surface(int fd, unsigned *w, unsigned *h, size_t *stride, size_t *size)
{
   int sfd;
   uint8_t *p = raw_read_hello(fd, &sfd);
   *w = get32(p);
   *h = get32(p + 4);
   *stride = get32(p + 8);
   *size = *stride * *h;
   void *m = mmap(NULL, *size, PROT_READ, MAP_SHARED, sfd, 0);
   g_assert_true(m != MAP_FAILED);
   close(sfd);
   g_free(p);
   return m;
}

static inline void
raw_write(int fd, const void *buf, size_t n)
{
   g_assert_cmpint(send(fd, buf, n, MSG_NOSIGNAL), ==, (ssize_t)n);
}

/* Read until EOF; the BYE text (or NULL if none came). */
static inline char *
raw_until_eof(int fd)
{
   char *bye = NULL;
   uint16_t type;
   uint8_t *p;
   uint32_t len;
   while (raw_msg(fd, &type, &p, &len, NULL)) {
      if (type == MKS_LOCAL_MSG_BYE) {
         g_free(bye);
         bye = g_strndup((char *)p, len);
      }
      g_free(p);
   }
   return bye;
}


/* ---- the program around the tests */

/* g_test_init, a scratch folder for sockets and the VM log. */
static inline void
local_test_init(int *argc, char ***argv, const char *name)
{
   g_test_init(argc, argv, NULL);
   char *tmpl = g_strdup_printf("%s-XXXXXX", name);
   tmpdir = g_dir_make_tmp(tmpl, NULL);
   g_free(tmpl);
   g_assert_nonnull(tmpdir);
   char *err = NULL;
   if (!vmxlog_open(tmpdir, 0, &err)) {
      g_error("%s", err);
   }
   if (g_test_verbose()) {
      vmxlog_set_stderr(true);
   }
}

/* g_test_run, then the scratch folder removed. */
static inline int
local_test_run(void)
{
   int r = g_test_run();
   vmxlog_close();
   char *rm = g_strdup_printf("%s/vmware.log", tmpdir);
   g_unlink(rm);
   g_free(rm);
   g_rmdir(tmpdir);
   g_free(tmpdir);
   return r;
}

#endif
