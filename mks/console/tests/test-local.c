/*
 * End-to-end tests of the local console: the real server
 * (mks/console/local.c) and the real client library (cui/mksclient.c) in
 * one process, plus hand-written peers for what the libraries never send:
 * malformed client messages (the server must drop only the offender).
 * test-mksclient.c checks the client against malformed server messages.
 *
 * Not tested: refusing a peer of another uid (needs root to make one).
 */
#include "cui/mksclient.h"
#include "mks/console/local.h"
#include "mks/console/tests/input-recorder.h"
#include "mks/console/tests/local-test-wire.h"
#include "vmx/vmxlog.h"

#include <X11/keysym.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <linux/input-event-codes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char *tmpdir;
static unsigned sock_seq;

/* ---- input recorder (callbacks run on the server thread) */

static void
rec_key(void *opaque, uint32_t keysym, uint32_t keycode, bool down)
{
   rec_push((ev){ .is_key = true, .keysym = keysym, .keycode = keycode, .down = down });
}

static const mks_local_input recorder = { rec_key, rec_pointer, NULL };

/* ---- server */

static char *
new_sock_path(void)
{
   return g_strdup_printf("%s/console-%u.sock", tmpdir, ++sock_seq);
}

static mks_local *
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

static void
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

static void
on_mode(void *opaque, unsigned w, unsigned h)
{
   tclient *t = opaque;
   t->modes++;
   if (t->auto_ack) {
      g_assert_true(mksclient_ack(t->mc));
   }
}

static void
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

static void
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

static void
on_pos(void *opaque, int x, int y, bool visible)
{
   tclient *t = opaque;
   t->poses++;
   t->px = x;
   t->py = y;
   t->pvis = visible;
}

static tclient *
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

static void
tfree(tclient *t)
{
   mksclient_free(t->mc);
   g_free(t->shape);
   g_free(t);
}

static void
treset(tclient *t)
{
   t->modes = t->damages = t->nrects = t->last_n = t->shapes = t->poses = 0;
}

/* Dispatch for up to ms milliseconds, or until done(t) holds. */
static bool
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

static bool
got_damage(tclient *t)
{
   return t->damages > 0;
}

static bool
got_mode(tclient *t)
{
   return t->modes > 0;
}

static bool
got_shape(tclient *t)
{
   return t->shapes > 0;
}

static bool
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
static frame
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

static uint32_t
fpx(const frame *f, unsigned x, unsigned y)
{
   return f->px[(size_t)y * (f->stride / 4) + x];
}

static uint32_t
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
static void
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

static void
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
static bool
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
static bool
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

/* Connect and read the HELLO; its serial in *serial. */
static int
raw_hello(mks_local *l, uint32_t *serial)
{
   int fd = raw_connect(mks_local_path(l));
   uint16_t type;
   uint8_t *p;
   uint32_t len;
   int sfd = -1;
   g_assert_true(raw_msg(fd, &type, &p, &len, &sfd));
   g_assert_cmpuint(type, ==, MKS_LOCAL_MSG_HELLO);
   g_assert_cmpuint(len, ==, MKS_LOCAL_SURFACE_SIZE);
   g_assert_cmpint(sfd, >=, 0);
   if (serial) {
      *serial = get32(p + 16);
   }
   close(sfd);
   g_free(p);
   return fd;
}

static void
raw_write(int fd, const void *buf, size_t n)
{
   g_assert_cmpint(send(fd, buf, n, MSG_NOSIGNAL), ==, (ssize_t)n);
}

/* Read until EOF; the BYE text (or NULL if none came). */
static char *
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

/* ---- tests */

static void
test_socket(void)
{
   char *path = new_sock_path();
   char *err = NULL;
   mks_local *l = mks_local_new(path, &recorder, &err);
   g_assert_nonnull(l);
   g_assert_cmpstr(mks_local_path(l), ==, path);
   struct stat st;
   g_assert_cmpint(lstat(path, &st), ==, 0);
   g_assert_true(S_ISSOCK(st.st_mode));
   g_assert_cmpuint(st.st_mode & 07777, ==, 0600);
   g_assert_cmpuint(st.st_uid, ==, geteuid());

   /* A second server on a live socket fails and leaves it alone. */
   g_assert_null(mks_local_new(path, &recorder, &err));
   g_assert_nonnull(strstr(err, "another server"));
   g_clear_pointer(&err, g_free);
   g_assert_cmpint(lstat(path, &st), ==, 0);

   mks_local_free(l);
   g_assert_cmpint(lstat(path, &st), ==, -1);
   g_assert_cmpint(errno, ==, ENOENT);

   /* A stale socket (nobody listening) is replaced. */
   struct sockaddr_un sa = { .sun_family = AF_UNIX };
   g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
   int fd = socket(AF_UNIX, SOCK_STREAM, 0);
   g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
   close(fd);
   l = mks_local_new(path, &recorder, &err);
   g_assert_nonnull(l);
   g_assert_cmpint(lstat(path, &st), ==, 0);
   g_assert_cmpuint(st.st_mode & 07777, ==, 0600);
   mks_local_free(l);

   /* Not a socket: refused, the file stays. */
   g_assert_true(g_file_set_contents(path, "x", 1, NULL));
   g_assert_null(mks_local_new(path, &recorder, &err));
   g_assert_nonnull(strstr(err, "not a socket"));
   g_clear_pointer(&err, g_free);
   g_assert_cmpint(unlink(path), ==, 0);

   /* Too long a path; a missing directory. */
   char *longp = g_strnfill(200, 'a');
   g_assert_null(mks_local_new(longp, &recorder, &err));
   g_assert_nonnull(strstr(err, "too long"));
   g_clear_pointer(&err, g_free);
   g_free(longp);
   char *nodir = g_strdup_printf("%s/missing/console.sock", tmpdir);
   g_assert_null(mks_local_new(nodir, &recorder, &err));
   g_clear_pointer(&err, g_free);
   g_free(nodir);

   /* The client reports a missing server. */
   g_assert_null(mksclient_connect(path, &err));
   g_assert_nonnull(strstr(err, "cannot connect"));
   g_clear_pointer(&err, g_free);
   g_free(path);
}

static void
test_hello(void)
{
   mks_local *l = start();
   tclient *t = tconnect(l, false);
   wait_clients(l, 1);
   const uint32_t *p;
   unsigned w, h;
   size_t stride;
   g_assert_true(mksclient_surface(t->mc, &p, &w, &h, &stride));
   g_assert_cmpuint(w, ==, 640);
   g_assert_cmpuint(h, ==, 480);
   g_assert_cmpuint(stride % 4, ==, 0);
   g_assert_cmpuint(stride, >=, 640 * 4);
   assert_rect_value(t, 0, 0, 640, 480, 0);
   bool unacked;
   mksclient_frame_serial(t->mc, &unacked);
   g_assert_true(unacked);
   g_assert_true(mksclient_ack(t->mc));
   mksclient_frame_serial(t->mc, &unacked);
   g_assert_false(unacked);
   g_assert_true(mksclient_ack(t->mc));   /* nothing outstanding: a no-op */
   const uint32_t *argb;
   unsigned cw, ch, hx, hy;
   bool pm;
   g_assert_false(mksclient_cursor(t->mc, &argb, &cw, &ch, &hx, &hy, &pm));
   pump(t, 100, NULL);   /* the server must not mind */

   /* The descriptor itself, as a raw peer gets it: sealed, sized, and
    * (where the kernel can) not writable through a new mapping. */
   int fd = raw_connect(mks_local_path(l));
   uint8_t hdr[12], pl[MKS_LOCAL_SURFACE_SIZE];
   int sfd = -1;
   g_assert_true(raw_read(fd, hdr, sizeof hdr, &sfd));
   g_assert_true(raw_read(fd, pl, sizeof pl, &sfd));
   g_assert_cmpint(sfd, >=, 0);
   g_assert_cmpuint(get32(pl + 12), ==, MKS_LOCAL_FORMAT_XRGB8888);
   struct stat st;
   g_assert_cmpint(fstat(sfd, &st), ==, 0);
   g_assert_cmpint(st.st_size, >=, (off_t)get32(pl + 8) * get32(pl + 4));
   int seals = fcntl(sfd, F_GET_SEALS);
   g_assert_cmpint(seals, >=, 0);
   g_assert_true(seals & F_SEAL_SHRINK);
   g_assert_true(seals & F_SEAL_GROW);
   g_assert_cmpint(ftruncate(sfd, 0), ==, -1);
   if (seals & F_SEAL_FUTURE_WRITE) {
      void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
      g_assert_true(m == MAP_FAILED);
   } else {
      g_test_message("kernel without F_SEAL_FUTURE_WRITE: write protection not checked");
   }
   close(sfd);
   close(fd);
   wait_clients(l, 1);
   tfree(t);
   wait_clients(l, 0);
   mks_local_free(l);
}

static void
test_damage(void)
{
   mks_local *l = start();
   tclient *t = tconnect(l, true);
   frame f = make_frame(640, 480, 1);

   mks_local_update(l, f.px, f.stride, 10, 20, 30, 40);
   g_assert_true(pump(t, 5000, got_damage));
   g_assert_true(damage_covers(t, 10, 20, 30, 40));
   assert_rect_matches(t, &f, 10, 20, 30, 40);
   assert_rect_value(t, 0, 0, 640, 20, 0);
   assert_rect_value(t, 0, 20, 10, 40, 0);
   assert_rect_value(t, 40, 20, 600, 40, 0);
   assert_rect_value(t, 0, 60, 640, 420, 0);

   /* Clipped at the edges. */
   treset(t);
   mks_local_update(l, f.px, f.stride, 600, 470, 100, 100);
   g_assert_true(pump(t, 5000, got_damage));
   g_assert_true(damage_covers(t, 600, 470, 40, 10));
   for (unsigned i = 0; i < t->nrects; i++) {
      g_assert_cmpuint(t->rects[i].x + t->rects[i].w, <=, 640);
      g_assert_cmpuint(t->rects[i].y + t->rects[i].h, <=, 480);
   }
   assert_rect_matches(t, &f, 600, 470, 40, 10);
   /* Outside, or empty: nothing. */
   treset(t);
   mks_local_update(l, f.px, f.stride, 640, 0, 10, 10);
   mks_local_update(l, f.px, f.stride, 0, 480, 10, 10);
   mks_local_update(l, f.px, f.stride, 5, 5, 0, 10);
   pump(t, 200, NULL);
   g_assert_cmpuint(t->damages, ==, 0);

   /* The whole picture. */
   mks_local_update(l, f.px, f.stride, 0, 0, 640, 480);
   g_assert_true(pump(t, 5000, got_damage));
   g_assert_true(damage_covers(t, 0, 0, 640, 480));
   assert_rect_matches(t, &f, 0, 0, 640, 480);

   /* Scattered small updates, acked as they come: every one arrives. */
   frame g = make_frame(640, 480, 2);
   for (unsigned i = 0; i < 20; i++) {
      treset(t);
      unsigned x = (i * 97) % 600, y = (i * 53) % 440;
      mks_local_update(l, g.px, g.stride, x, y, 1 + i, 2 + i);
      g_assert_true(pump(t, 5000, got_damage));
      g_assert_true(damage_covers(t, x, y, 1 + i, 2 + i));
      assert_rect_matches(t, &g, x, y, 1 + i, 2 + i);
   }
   mks_local_stats s;
   mks_local_get_stats(l, &s);
   g_assert_cmpuint(s.frames, >=, 23);
   g_assert_cmpuint(s.clients, ==, 1);
   g_free(f.px);
   g_free(g.px);
   tfree(t);
   mks_local_free(l);
}

static void
test_mode(void)
{
   mks_local *l = start();
   tclient *t = tconnect(l, true);
   const uint32_t *p0, *p;
   unsigned w, h;
   size_t stride;
   g_assert_true(mksclient_surface(t->mc, &p0, &w, &h, &stride));

   frame f = make_frame(640, 480, 3);
   mks_local_update(l, f.px, f.stride, 0, 0, 640, 480);
   g_assert_true(pump(t, 5000, got_damage));

   mks_local_set_mode(l, 800, 600);
   g_assert_true(pump(t, 5000, got_mode));
   g_assert_cmpuint(t->modes, ==, 1);
   g_assert_true(mksclient_surface(t->mc, &p, &w, &h, &stride));
   g_assert_cmpuint(w, ==, 800);
   g_assert_cmpuint(h, ==, 600);
   g_assert_cmpuint(stride, >=, 800 * 4);
   assert_rect_value(t, 0, 0, 800, 600, 0);   /* black */

   frame g = make_frame(800, 600, 4);
   treset(t);
   mks_local_update(l, g.px, g.stride, 700, 500, 100, 100);
   g_assert_true(pump(t, 5000, got_damage));
   assert_rect_matches(t, &g, 700, 500, 100, 100);

   /* Odd sizes; a mode change and an update before the client looks:
    * the pixels end up there either way. */
   treset(t);
   mks_local_set_mode(l, 3, 1);
   mks_local_set_mode(l, 1023, 769);
   frame k = make_frame(1023, 769, 5);
   mks_local_update(l, k.px, k.stride, 0, 0, 1023, 769);
   g_assert_true(pump(t, 5000, got_mode));
   pump(t, 300, NULL);
   g_assert_true(mksclient_surface(t->mc, &p, &w, &h, &stride));
   g_assert_cmpuint(w, ==, 1023);
   g_assert_cmpuint(h, ==, 769);
   assert_rect_matches(t, &k, 0, 0, 1023, 769);

   /* Out of range: ignored. */
   treset(t);
   mks_local_set_mode(l, 0, 100);
   mks_local_set_mode(l, 100, 0);
   mks_local_set_mode(l, MKS_LOCAL_MAX_DIM + 1, 10);
   pump(t, 200, NULL);
   g_assert_cmpuint(t->modes, ==, 0);

   /* The largest mode. */
   mks_local_set_mode(l, MKS_LOCAL_MAX_DIM, 16);
   g_assert_true(pump(t, 5000, got_mode));
   g_assert_true(mksclient_surface(t->mc, &p, &w, &h, &stride));
   g_assert_cmpuint(w, ==, MKS_LOCAL_MAX_DIM);

   /* A client connecting now gets the current mode in its HELLO. */
   tclient *u = tconnect(l, true);
   g_assert_true(mksclient_surface(u->mc, &p, &w, &h, &stride));
   g_assert_cmpuint(w, ==, MKS_LOCAL_MAX_DIM);
   g_assert_cmpuint(h, ==, 16);
   tfree(u);
   g_free(f.px);
   g_free(g.px);
   g_free(k.px);
   tfree(t);
   mks_local_free(l);
}

static void
test_coalesce(void)
{
   mks_local *l = start();
   tclient *t = tconnect(l, true);
   t->auto_ack = false;
   frame f = make_frame(640, 480, 6);

   mks_local_update(l, f.px, f.stride, 0, 0, 8, 8);
   g_assert_true(pump(t, 5000, got_damage));
   g_assert_cmpuint(t->damages, ==, 1);

   /* Not acked: nothing more comes, however much changes. */
   mks_local_stats s0, s1;
   mks_local_get_stats(l, &s0);
   treset(t);
   unsigned xs[200], ys[200];
   for (unsigned i = 0; i < 200; i++) {
      xs[i] = (i * 131) % 620;
      ys[i] = (i * 71) % 460;
      mks_local_update(l, f.px, f.stride, xs[i], ys[i], 1 + i % 20, 1 + i % 17);
   }
   pump(t, 300, NULL);
   g_assert_cmpuint(t->damages, ==, 0);
   mks_local_get_stats(l, &s1);
   g_assert_cmpuint(s1.frames, ==, s0.frames);

   /* Acked: one DAMAGE with a few rectangles covering all of it. */
   g_assert_true(mksclient_ack(t->mc));
   g_assert_true(pump(t, 5000, got_damage));
   pump(t, 200, NULL);
   g_assert_cmpuint(t->damages, ==, 1);
   g_assert_cmpuint(t->last_n, <=, MKS_LOCAL_MAX_RECTS);
   for (unsigned i = 0; i < 200; i++) {
      g_assert_true(damage_covers(t, xs[i], ys[i], 1 + i % 20, 1 + i % 17));
      assert_rect_matches(t, &f, xs[i], ys[i], 1 + i % 20, 1 + i % 17);
   }
   g_test_message("200 updates became %u rectangles", t->last_n);

   /* A client that never reads: the producer does not wait, and what the
    * server queues for it stays bounded. */
   int raw = raw_connect(mks_local_path(l));
   wait_clients(l, 2);
   uint32_t *cur = g_new(uint32_t, 256 * 256);
   for (unsigned i = 0; i < 256 * 256; i++) {
      cur[i] = 0x80000000u | i;
   }
   gint64 t0 = g_get_monotonic_time();
   for (unsigned i = 0; i < 300; i++) {
      mks_local_update(l, f.px, f.stride, 0, 0, 640, 480);
      mks_local_set_cursor(l, cur, 256, 256, i % 256, 0, false);
      mks_local_move_cursor(l, (int)i, (int)i);
      if (i % 50 == 0) {
         mks_local_set_mode(l, 640 + i, 480);
      }
   }
   gint64 took = g_get_monotonic_time() - t0;
   g_test_message("300 updates, cursors and some modes with a stuck client: %lld ms",
                  (long long)(took / 1000));
   g_assert_cmpint(took, <, 20 * G_USEC_PER_SEC);
   pump(t, 300, NULL);   /* the reading client is fine meanwhile */
   mks_local_stats s2;
   mks_local_get_stats(l, &s2);
   g_assert_cmpuint(s2.max_queued, <=, MKS_LOCAL_MAX_MSG + 1024);
   g_assert_cmpuint(mks_local_client_count(l), ==, 2);
   close(raw);
   wait_clients(l, 1);
   g_free(cur);
   g_free(f.px);
   tfree(t);
   mks_local_free(l);
}

static void
test_cursor(void)
{
   mks_local *l = start();
   tclient *t = tconnect(l, false);   /* frames not acked: cursors still come */

   uint32_t shape[32 * 24];
   for (unsigned i = 0; i < G_N_ELEMENTS(shape); i++) {
      shape[i] = (i * 2654435761u) | (i % 3 ? 0xff000000u : 0);
   }
   mks_local_set_cursor(l, shape, 32, 24, 5, 7, true);
   g_assert_true(pump(t, 5000, got_shape));
   g_assert_true(pump(t, 5000, got_pos));
   g_assert_cmpuint(t->sw, ==, 32);
   g_assert_cmpuint(t->sh, ==, 24);
   g_assert_cmpuint(t->shx, ==, 5);
   g_assert_cmpuint(t->shy, ==, 7);
   g_assert_true(t->spremul);
   g_assert_cmpmem(t->shape, 32 * 24 * 4, shape, sizeof shape);
   g_assert_true(t->pvis);

   treset(t);
   mks_local_move_cursor(l, 100, 200);
   g_assert_true(pump(t, 5000, got_pos));
   pump(t, 50, NULL);
   g_assert_cmpint(t->px, ==, 100);
   g_assert_cmpint(t->py, ==, 200);
   g_assert_true(t->pvis);
   g_assert_cmpuint(t->shapes, ==, 0);

   treset(t);
   mks_local_hide_cursor(l);
   g_assert_true(pump(t, 5000, got_pos));
   g_assert_false(t->pvis);
   g_assert_cmpint(t->px, ==, 100);

   /* Negative positions (hot spot off the left edge) pass through. */
   treset(t);
   mks_local_move_cursor(l, -3, -4);
   g_assert_true(pump(t, 5000, got_pos));
   g_assert_cmpint(t->px, ==, -3);
   g_assert_cmpint(t->py, ==, -4);

   /* Too big: cropped to 256x256 around the hot spot. */
   treset(t);
   uint32_t *big = g_new(uint32_t, 300 * 280);
   for (unsigned i = 0; i < 300 * 280; i++) {
      big[i] = 0xff000000u | i;
   }
   mks_local_set_cursor(l, big, 300, 280, 290, 270, false);
   g_assert_true(pump(t, 5000, got_shape));
   g_assert_cmpuint(t->sw, ==, 256);
   g_assert_cmpuint(t->sh, ==, 256);
   g_assert_false(t->spremul);
   /* x0 = 300 - 256 = 44, y0 = 280 - 256 = 24 */
   g_assert_cmpuint(t->shx, ==, 290 - 44);
   g_assert_cmpuint(t->shy, ==, 270 - 24);
   for (unsigned y = 0; y < 256; y++) {
      for (unsigned x = 0; x < 256; x++) {
         g_assert_cmphex(t->shape[y * 256 + x], ==, big[(y + 24) * 300 + x + 44]);
      }
   }
   g_assert_true(pump(t, 5000, got_pos));
   g_assert_true(t->pvis);   /* a new shape shows the cursor */

   /* Shape changes faster than the client reads: only the latest matters. */
   treset(t);
   for (unsigned i = 1; i <= 50; i++) {
      uint32_t px[4] = { i, i, i, i };
      mks_local_set_cursor(l, px, 2, 2, 0, 0, false);
   }
   g_assert_true(pump(t, 5000, got_shape));
   pump(t, 200, NULL);
   g_assert_cmpuint(t->sw, ==, 2);
   g_assert_cmphex(t->shape[0], ==, 50);
   g_assert_cmpuint(t->shapes, <=, 50);

   /* NULL hides. */
   treset(t);
   mks_local_set_cursor(l, NULL, 0, 0, 0, 0, false);
   g_assert_true(pump(t, 5000, got_pos));
   g_assert_false(t->pvis);

   /* A new client gets the shape and position with its HELLO. */
   mks_local_set_cursor(l, shape, 32, 24, 1, 2, false);
   mks_local_move_cursor(l, 7, 8);
   g_assert_true(pump(t, 5000, got_shape));
   tclient *u = tconnect(l, true);
   const uint32_t *argb = NULL;
   unsigned cw = 0, ch = 0, hx = 0, hy = 0;
   bool pm = true;
   for (int i = 0; i < 100 && !mksclient_cursor(u->mc, &argb, &cw, &ch, &hx, &hy, &pm); i++) {
      pump(u, 50, NULL);
   }
   g_assert_cmpuint(cw, ==, 32);
   g_assert_cmpuint(ch, ==, 24);
   g_assert_cmpuint(hx, ==, 1);
   g_assert_cmpuint(hy, ==, 2);
   g_assert_false(pm);
   g_assert_cmpmem(argb, 32 * 24 * 4, shape, sizeof shape);
   int x, y;
   bool vis = false;
   for (int i = 0; i < 100; i++) {
      mksclient_cursor_pos(u->mc, &x, &y, &vis);
      if (vis && x == 7 && y == 8) {
         break;
      }
      pump(u, 50, NULL);
   }
   g_assert_true(vis);
   g_assert_cmpint(x, ==, 7);
   g_assert_cmpint(y, ==, 8);
   tfree(u);
   g_free(big);
   tfree(t);
   mks_local_free(l);
}

static void
test_input(void)
{
   mks_local *l = start();
   tclient *t = tconnect(l, true);
   clear_events();
   ev e[8];

   g_assert_true(mksclient_send_key(t->mc, XK_a, KEY_A, true));
   g_assert_true(mksclient_send_key(t->mc, XK_a, KEY_A, false));
   g_assert_true(mksclient_send_key(t->mc, XK_exclam, 0, true));
   g_assert_true(mksclient_send_key(t->mc, 0, KEY_F12, true));
   take_events(4, e);
   g_assert_true(e[0].is_key);
   g_assert_cmphex(e[0].keysym, ==, XK_a);
   g_assert_cmpuint(e[0].keycode, ==, KEY_A);
   g_assert_true(e[0].down);
   g_assert_false(e[1].down);
   g_assert_cmphex(e[2].keysym, ==, XK_exclam);
   g_assert_cmpuint(e[2].keycode, ==, 0);
   g_assert_cmphex(e[3].keysym, ==, 0);
   g_assert_cmpuint(e[3].keycode, ==, KEY_F12);

   g_assert_true(mksclient_send_pointer(t->mc, 10, 20, MKS_BUTTON_LEFT, 1, -1));
   g_assert_true(mksclient_send_pointer(t->mc, -5, 99999, MKS_BUTTON_RIGHT | MKS_BUTTON_EXTRA,
                                        0, 0));
   take_events(2, e);
   g_assert_false(e[0].is_key);
   g_assert_cmpint(e[0].x, ==, 10);
   g_assert_cmpint(e[0].y, ==, 20);
   g_assert_cmpuint(e[0].buttons, ==, MKS_BUTTON_LEFT);
   g_assert_cmpint(e[0].dz, ==, 1);
   g_assert_cmpint(e[0].dw, ==, -1);
   g_assert_cmpint(e[1].x, ==, 0);     /* clamped */
   g_assert_cmpint(e[1].y, ==, 479);
   g_assert_cmpuint(e[1].buttons, ==, MKS_BUTTON_RIGHT | MKS_BUTTON_EXTRA);

   /* Clamped to the current mode. */
   mks_local_set_mode(l, 100, 50);
   g_assert_true(pump(t, 5000, got_mode));
   g_assert_true(mksclient_send_pointer(t->mc, 500, 500, 0, 0, 0));
   take_events(1, e);
   g_assert_cmpint(e[0].x, ==, 99);
   g_assert_cmpint(e[0].y, ==, 49);

   /* Refused by the client library itself. */
   g_assert_false(mksclient_send_key(t->mc, 0, 0, true));
   g_assert_false(mksclient_send_key(t->mc, 0, MKS_LOCAL_MAX_KEYCODE + 1, true));
   g_assert_false(mksclient_send_key(t->mc, 0x20000000u, 0, true));
   g_assert_false(mksclient_send_pointer(t->mc, 0, 0, 0x20, 0, 0));
   g_assert_false(mksclient_send_pointer(t->mc, 0, 0, 0, MKS_LOCAL_MAX_WHEEL + 1, 0));
   g_assert_false(mksclient_send_pointer(t->mc, 0, 0, 0, 0, -MKS_LOCAL_MAX_WHEEL - 1));
   pump(t, 100, NULL);
   g_assert_cmpuint(count_events(), ==, 0);

   /* Going away while holding keys and a button: they are released. The
    * '!' and F12 from above are still down too. */
   g_assert_true(mksclient_send_key(t->mc, XK_Shift_L, KEY_LEFTSHIFT, true));
   g_assert_true(mksclient_send_pointer(t->mc, 30, 40, MKS_BUTTON_MIDDLE, 0, 0));
   take_events(2, e);
   tfree(t);
   take_events(4, e);
   unsigned released = 0;
   for (unsigned i = 0; i < 4; i++) {
      if (e[i].is_key) {
         g_assert_false(e[i].down);
         if (e[i].keycode == KEY_LEFTSHIFT) {
            g_assert_cmphex(e[i].keysym, ==, XK_Shift_L);
            released |= 1;
         } else if (e[i].keycode == KEY_F12) {
            g_assert_cmphex(e[i].keysym, ==, 0);
            released |= 2;
         } else {
            g_assert_cmphex(e[i].keysym, ==, XK_exclam);
            g_assert_cmpuint(e[i].keycode, ==, 0);
            released |= 8;
         }
      } else {
         g_assert_cmpuint(e[i].buttons, ==, 0);
         g_assert_cmpint(e[i].x, ==, 30);
         g_assert_cmpint(e[i].y, ==, 40);
         released |= 4;
      }
   }
   g_assert_cmpuint(released, ==, 15);
   wait_clients(l, 0);
   mks_local_free(l);
   g_assert_cmpuint(count_events(), ==, 0);
}

static void
test_several(void)
{
   mks_local *l = start();
   tclient *t[MKS_LOCAL_MAX_CLIENTS];
   for (unsigned i = 0; i < 3; i++) {
      t[i] = tconnect(l, true);
   }
   wait_clients(l, 3);
   frame f = make_frame(640, 480, 7);
   mks_local_update(l, f.px, f.stride, 100, 100, 200, 150);
   for (unsigned i = 0; i < 3; i++) {
      g_assert_true(pump(t[i], 5000, got_damage));
      assert_rect_matches(t[i], &f, 100, 100, 200, 150);
   }
   /* A slow client (not acking) does not hold the others back. */
   t[0]->auto_ack = false;
   for (unsigned round = 0; round < 3; round++) {
      for (unsigned i = 0; i < 3; i++) {
         treset(t[i]);
      }
      mks_local_update(l, f.px, f.stride, round * 10, 0, 5, 5);
      for (unsigned i = 1; i < 3; i++) {
         g_assert_true(pump(t[i], 5000, got_damage));
      }
      pump(t[0], 50, NULL);
      g_assert_cmpuint(t[0]->damages, ==, round == 0 ? 1 : 0);
   }

   for (unsigned i = 3; i < MKS_LOCAL_MAX_CLIENTS; i++) {
      t[i] = tconnect(l, true);
   }
   wait_clients(l, MKS_LOCAL_MAX_CLIENTS);
   char *err = NULL;
   g_assert_null(mksclient_connect(mks_local_path(l), &err));
   g_assert_nonnull(strstr(err, "too many clients"));
   g_free(err);
   mks_local_stats s;
   mks_local_get_stats(l, &s);
   g_assert_cmpuint(s.refused, ==, 1);
   g_assert_cmpuint(mks_local_client_count(l), ==, MKS_LOCAL_MAX_CLIENTS);

   tfree(t[5]);
   wait_clients(l, MKS_LOCAL_MAX_CLIENTS - 1);
   t[5] = tconnect(l, true);
   wait_clients(l, MKS_LOCAL_MAX_CLIENTS);
   treset(t[5]);
   mks_local_update(l, f.px, f.stride, 0, 0, 640, 480);
   g_assert_true(pump(t[5], 5000, got_damage));
   assert_rect_matches(t[5], &f, 0, 0, 640, 480);
   for (unsigned i = 0; i < MKS_LOCAL_MAX_CLIENTS; i++) {
      tfree(t[i]);
   }
   wait_clients(l, 0);
   g_free(f.px);
   mks_local_free(l);
}

/* One malformed message from a raw peer: it gets a BYE naming the problem
 * and is disconnected; the good client and the server carry on. */
static void
expect_dropped(mks_local *l, tclient *good, const void *msg, size_t n, const char *reason)
{
   uint32_t serial;
   int fd = raw_hello(l, &serial);
   wait_clients(l, 2);
   raw_write(fd, msg, n);
   char *bye = raw_until_eof(fd);
   if (!bye || !strstr(bye, reason)) {
      g_error("expected a BYE with \"%s\", got \"%s\"", reason, bye ? bye : "(none)");
   }
   g_free(bye);
   close(fd);
   wait_clients(l, 1);
   treset(good);
   mks_local_update(l, &serial, 4, 0, 0, 1, 1);
   g_assert_true(pump(good, 5000, got_damage));
}

static void
test_malformed(void)
{
   mks_local *l = start();
   tclient *good = tconnect(l, true);
   uint8_t m[64], pl[32];
   mks_local_stats s0, s1;
   mks_local_get_stats(l, &s0);
   unsigned cases = 0;

   size_t n = make_msg(m, 0x12345678u, 1, MKS_LOCAL_MSG_ACK, 4, "\1\0\0\0", 4);
   expect_dropped(l, good, m, n, "bad magic");
   cases++;
   n = make_msg(m, MKS_LOCAL_MAGIC, 2, MKS_LOCAL_MSG_ACK, 4, "\1\0\0\0", 4);
   expect_dropped(l, good, m, n, "version");
   cases++;
   n = make_msg(m, MKS_LOCAL_MAGIC, 1, 0x99, 0, NULL, 0);
   expect_dropped(l, good, m, n, "unknown message type");
   cases++;
   n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_HELLO, 0, NULL, 0);
   expect_dropped(l, good, m, n, "server-to-client");
   cases++;
   /* A huge length is refused from the header alone. */
   n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_KEY, 0xffffffffu, NULL, 0);
   expect_dropped(l, good, m, n, "length");
   cases++;
   n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_ACK, 8, "\1\0\0\0\0\0\0\0", 8);
   expect_dropped(l, good, m, n, "length");
   cases++;

   put32(pl, XK_a);
   put32(pl + 4, 0);
   put32(pl + 8, 2);
   n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_KEY, 12, pl, 12);
   expect_dropped(l, good, m, n, "down");
   cases++;
   put32(pl, 0);
   put32(pl + 4, MKS_LOCAL_MAX_KEYCODE + 1);
   put32(pl + 8, 1);
   n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_KEY, 12, pl, 12);
   expect_dropped(l, good, m, n, "keycode");
   cases++;
   put32(pl, 0);
   put32(pl + 4, 0);
   n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_KEY, 12, pl, 12);
   expect_dropped(l, good, m, n, "neither");
   cases++;
   put32(pl, 0x20000000u);
   n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_KEY, 12, pl, 12);
   expect_dropped(l, good, m, n, "keysym");
   cases++;

   memset(pl, 0, sizeof pl);
   put32(pl + 8, 0x20);
   n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_POINTER_ABS, 20, pl, 20);
   expect_dropped(l, good, m, n, "button");
   cases++;
   put32(pl + 8, 0);
   put32(pl + 12, (uint32_t)(MKS_LOCAL_MAX_WHEEL + 1));
   n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_POINTER_ABS, 20, pl, 20);
   expect_dropped(l, good, m, n, "wheel");
   cases++;
   put32(pl + 12, 0);
   put32(pl + 16, (uint32_t)INT32_MIN);
   n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_POINTER_ABS, 20, pl, 20);
   expect_dropped(l, good, m, n, "wheel");
   cases++;

   /* ACKs: a wrong serial; a second ACK for the same frame. */
   {
      uint32_t serial;
      int fd = raw_hello(l, &serial);
      put32(pl, serial + 1);
      n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_ACK, 4, pl, 4);
      raw_write(fd, m, n);
      char *bye = raw_until_eof(fd);
      g_assert_nonnull(bye);
      g_assert_nonnull(strstr(bye, "ACK names a frame"));
      g_free(bye);
      close(fd);
      cases++;

      fd = raw_hello(l, &serial);
      put32(pl, serial);
      n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_ACK, 4, pl, 4);
      raw_write(fd, m, n);
      raw_write(fd, m, n);
      bye = raw_until_eof(fd);
      g_assert_nonnull(bye);
      g_assert_nonnull(strstr(bye, "no frame outstanding"));
      g_free(bye);
      close(fd);
      cases++;
      wait_clients(l, 1);
   }

   /* Descriptors sent to the server. */
   {
      int fd = raw_hello(l, NULL);
      put32(pl, XK_a);
      put32(pl + 4, 0);
      put32(pl + 8, 1);
      n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_KEY, 12, pl, 12);
      int pass = open("/dev/null", O_RDONLY | O_CLOEXEC);
      union {
         struct cmsghdr h;
         char b[CMSG_SPACE(sizeof(int))];
      } cm;
      memset(&cm, 0, sizeof cm);
      struct iovec iov = { m, n };
      struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
                           .msg_controllen = sizeof cm.b };
      struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
      h->cmsg_level = SOL_SOCKET;
      h->cmsg_type = SCM_RIGHTS;
      h->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(h), &pass, sizeof pass);
      g_assert_cmpint(sendmsg(fd, &mh, MSG_NOSIGNAL), ==, (ssize_t)n);
      close(pass);
      char *bye = raw_until_eof(fd);
      g_assert_nonnull(bye);
      g_assert_nonnull(strstr(bye, "descriptors"));
      g_free(bye);
      close(fd);
      cases++;
      wait_clients(l, 1);
   }

   /* Byte by byte, a valid stream is fine; garbage after a valid message
    * is still caught. */
   {
      clear_events();
      int fd = raw_hello(l, NULL);
      put32(pl, XK_b);
      put32(pl + 4, KEY_B);
      put32(pl + 8, 1);
      n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_KEY, 12, pl, 12);
      for (size_t i = 0; i < n; i++) {
         raw_write(fd, m + i, 1);
         g_usleep(1000);
      }
      ev e[1];
      take_events(1, e);
      g_assert_cmpuint(e[0].keycode, ==, KEY_B);
      put32(pl + 8, 0);
      n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_KEY, 12, pl, 12);
      memcpy(m + n, "junk", 4);
      raw_write(fd, m, n + 4);
      char *bye = raw_until_eof(fd);
      g_assert_nonnull(bye);
      g_assert_nonnull(strstr(bye, "bad magic"));
      g_free(bye);
      take_events(1, e);   /* the release, once (not again at disconnect) */
      g_assert_false(e[0].down);
      close(fd);
      cases++;
      wait_clients(l, 1);
      g_usleep(50000);
      g_assert_cmpuint(count_events(), ==, 0);
   }

   mks_local_get_stats(l, &s1);
   g_assert_cmpuint(s1.protocol_errors - s0.protocol_errors, ==, cases);

   /* Disconnecting in the middle of a message, or before reading the
    * HELLO: not an error, and the server goes on. */
   {
      int fd = raw_hello(l, NULL);
      n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_KEY, 12, pl, 12);
      raw_write(fd, m, 7);   /* half a header */
      close(fd);
      fd = raw_hello(l, NULL);
      raw_write(fd, m, 17);  /* a header and part of the payload */
      close(fd);
      fd = raw_connect(mks_local_path(l));
      close(fd);
      wait_clients(l, 1);
      mks_local_get_stats(l, &s1);
      g_assert_cmpuint(s1.protocol_errors - s0.protocol_errors, ==, cases);
      treset(good);
      mks_local_update(l, pl, 4, 1, 1, 1, 1);
      g_assert_true(pump(good, 5000, got_damage));
   }

   /* The log names what happened. */
   char *log = NULL;
   g_assert_true(g_file_get_contents(vmxlog_path(), &log, NULL, NULL));
   g_assert_nonnull(strstr(log, "protocol error: bad magic; disconnecting"));
   g_assert_nonnull(strstr(log, "protocol error: payload length does not match"));
   g_assert_nonnull(strstr(log, "disconnected in the middle of a message"));
   g_free(log);

   tfree(good);
   mks_local_free(l);
}

static void
test_parse(void)
{
   uint8_t m[64], pl[20];
   mks_local_client_msg out;
   const char *why = NULL;

   put32(pl, XK_Return);
   put32(pl + 4, KEY_ENTER);
   put32(pl + 8, 1);
   size_t n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_KEY, 12, pl, 12);
   for (size_t i = 0; i < n; i++) {
      g_assert_cmpint(mks_local_parse_client(m, i, &out, &why), ==, 0);
   }
   g_assert_cmpint(mks_local_parse_client(m, n, &out, &why), ==, (long)n);
   g_assert_cmpuint(out.type, ==, MKS_LOCAL_MSG_KEY);
   g_assert_cmphex(out.keysym, ==, XK_Return);
   g_assert_cmpuint(out.keycode, ==, KEY_ENTER);
   g_assert_true(out.down);
   /* Followed by more: only the first is taken. */
   g_assert_cmpint(mks_local_parse_client(m, sizeof m, &out, &why), ==, (long)n);

   put32(pl, (uint32_t)-7);
   put32(pl + 4, 123456);
   put32(pl + 8, MKS_BUTTON_ALL);
   put32(pl + 12, (uint32_t)-MKS_LOCAL_MAX_WHEEL);
   put32(pl + 16, MKS_LOCAL_MAX_WHEEL);
   n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_POINTER_ABS, 20, pl, 20);
   g_assert_cmpint(mks_local_parse_client(m, n, &out, &why), ==, (long)n);
   g_assert_cmpint(out.x, ==, -7);
   g_assert_cmpint(out.y, ==, 123456);
   g_assert_cmpuint(out.buttons, ==, MKS_BUTTON_ALL);
   g_assert_cmpint(out.dz, ==, -MKS_LOCAL_MAX_WHEEL);
   g_assert_cmpint(out.dw, ==, MKS_LOCAL_MAX_WHEEL);

   put32(pl, 0xdeadbeefu);
   n = make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_ACK, 4, pl, 4);
   g_assert_cmpint(mks_local_parse_client(m, n, &out, &why), ==, (long)n);
   g_assert_cmphex(out.serial, ==, 0xdeadbeefu);

   /* Bad headers are refused as soon as the bad byte is in. */
   make_msg(m, MKS_LOCAL_MAGIC ^ 0x100, 1, MKS_LOCAL_MSG_ACK, 4, pl, 4);
   g_assert_cmpint(mks_local_parse_client(m, 1, &out, &why), ==, 0);
   g_assert_cmpint(mks_local_parse_client(m, 2, &out, &why), ==, -1);
   make_msg(m, MKS_LOCAL_MAGIC, 7, MKS_LOCAL_MSG_ACK, 4, pl, 4);
   g_assert_cmpint(mks_local_parse_client(m, 6, &out, &why), ==, -1);
   make_msg(m, MKS_LOCAL_MAGIC, 1, 0, 4, pl, 4);
   g_assert_cmpint(mks_local_parse_client(m, 8, &out, &why), ==, -1);
   g_assert_cmpstr(why, ==, "unknown message type");
   make_msg(m, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_ACK, 1u << 31, pl, 0);
   g_assert_cmpint(mks_local_parse_client(m, 12, &out, &why), ==, -1);
   g_assert_cmpint(mks_local_parse_client(m, 0, &out, &why), ==, 0);
   g_assert_cmpint(mks_local_parse_client(NULL, 0, &out, &why), ==, 0);
}

static void
test_shutdown_with_client(void)
{
   mks_local *l = start();
   char *path = g_strdup(mks_local_path(l));
   tclient *t = tconnect(l, true);
   clear_events();
   g_assert_true(mksclient_send_key(t->mc, 0, KEY_LEFTCTRL, true));
   ev e[1];
   take_events(1, e);
   mks_local_free(l);
   take_events(1, e);   /* released on the way out */
   g_assert_cmpuint(e[0].keycode, ==, KEY_LEFTCTRL);
   g_assert_false(e[0].down);
   gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
   bool ok = true;
   while (ok && g_get_monotonic_time() < deadline) {
      struct pollfd pfd = { mksclient_fd(t->mc), POLLIN, 0 };
      poll(&pfd, 1, 50);
      ok = mksclient_dispatch(t->mc);
   }
   g_assert_false(ok);
   g_assert_nonnull(strstr(mksclient_error(t->mc), "shutting down"));
   g_assert_false(mksclient_ack(t->mc));
   g_assert_false(mksclient_send_key(t->mc, 0, KEY_A, true));
   struct stat st;
   g_assert_cmpint(lstat(path, &st), ==, -1);
   g_free(path);
   tfree(t);
   mks_local_free(NULL);
}

/* ---- producers on several threads while clients read */

typedef struct prod {
   mks_local *l;
   atomic_bool stop;
   frame f;
} prod;

static void *
produce_pixels(void *arg)
{
   prod *p = arg;
   unsigned i = 0;
   while (!atomic_load(&p->stop)) {
      mks_local_update(p->l, p->f.px, p->f.stride, (i * 37) % 600, (i * 11) % 440, 40, 40);
      if (i % 64 == 63) {
         mks_local_set_mode(p->l, 320 + i % 320, 240 + i % 240);
      }
      i++;
   }
   return NULL;
}

static void *
produce_cursor(void *arg)
{
   prod *p = arg;
   uint32_t px[16 * 16];
   unsigned i = 0;
   while (!atomic_load(&p->stop)) {
      for (unsigned k = 0; k < G_N_ELEMENTS(px); k++) {
         px[k] = i + k;
      }
      mks_local_set_cursor(p->l, px, 16, 16, i % 16, 0, i & 1);
      mks_local_move_cursor(p->l, (int)(i % 640), (int)(i % 480));
      if (i % 7 == 0) {
         mks_local_hide_cursor(p->l);
      }
      i++;
      g_usleep(100);
   }
   return NULL;
}

static void
test_producer_threads(void)
{
   mks_local *l = start();
   tclient *t[2] = { tconnect(l, true), tconnect(l, true) };
   prod p = { .l = l, .f = make_frame(640, 480, 9) };
   pthread_t a, b;
   g_assert_cmpint(pthread_create(&a, NULL, produce_pixels, &p), ==, 0);
   g_assert_cmpint(pthread_create(&b, NULL, produce_cursor, &p), ==, 0);
   gint64 end = g_get_monotonic_time() + G_USEC_PER_SEC;
   unsigned rounds = 0;
   while (g_get_monotonic_time() < end) {
      pump(t[rounds % 2], 10, NULL);
      if (rounds % 50 == 0) {
         /* Clients come and go meanwhile. */
         tfree(t[1]);
         t[1] = tconnect(l, true);
      }
      rounds++;
   }
   atomic_store(&p.stop, true);
   pthread_join(a, NULL);
   pthread_join(b, NULL);

   /* Settle on a known picture: every client converges to it. */
   mks_local_set_mode(l, 640, 480);
   mks_local_update(l, p.f.px, p.f.stride, 0, 0, 640, 480);
   for (unsigned i = 0; i < 2; i++) {
      for (int k = 0; k < 100; k++) {
         pump(t[i], 20, NULL);
         const uint32_t *px;
         unsigned w, h;
         size_t stride;
         mksclient_surface(t[i]->mc, &px, &w, &h, &stride);
         bool unacked;
         mksclient_frame_serial(t[i]->mc, &unacked);
         if (w == 640 && h == 480 && !unacked && spx(t[i], 639, 479) == fpx(&p.f, 639, 479)) {
            break;
         }
      }
      assert_rect_matches(t[i], &p.f, 0, 0, 640, 480);
      tfree(t[i]);
   }
   g_free(p.f.px);
   mks_local_free(l);
}

/* ---- holding a surface's mapping (mksclient_surface_hold) */

/* Whether [p, p + n) is mapped in this process. */
static bool
mapped(const void *p, size_t n)
{
   uintptr_t a = (uintptr_t)p & ~(uintptr_t)(sysconf(_SC_PAGESIZE) - 1);
   return msync((void *)a, n + ((uintptr_t)p - a), MS_ASYNC) == 0;
}

static void
test_hold(void)
{
   mks_local *l = start();
   mks_local_set_mode(l, 32, 16);
   frame f = make_frame(32, 16, 41), g = make_frame(48, 24, 42);
   mks_local_update(l, f.px, f.stride, 0, 0, 32, 16);
   tclient *t = tconnect(l, true);
   const uint32_t *p0, *p1;
   unsigned w, h;
   size_t s0, s1;
   g_assert_true(mksclient_surface(t->mc, &p0, &w, &h, &s0));
   assert_rect_matches(t, &f, 0, 0, 32, 16);
   mksclient_hold *h0 = mksclient_surface_hold(t->mc);
   g_assert_nonnull(h0);

   /* A MODE replaces the surface: the held one stays mapped, as it was. */
   mks_local_set_mode(l, 48, 24);
   mks_local_update(l, g.px, g.stride, 0, 0, 48, 24);
   g_assert_true(pump(t, 5000, got_mode));
   g_assert_true(mksclient_surface(t->mc, &p1, &w, &h, &s1));
   g_assert_true(p1 != p0);
   g_assert_true(mapped(p0, s0 * 16));
   for (unsigned y = 0; y < 16; y++) {
      for (unsigned x = 0; x < 32; x++) {
         g_assert_cmphex(p0[y * (s0 / 4) + x], ==, fpx(&f, x, y));
      }
   }
   mksclient_surface_release(h0);
   g_assert_false(mapped(p0, s0 * 16));

   /* A hold outlives the client too. */
   pump(t, 300, NULL);
   mksclient_hold *h1 = mksclient_surface_hold(t->mc);
   tfree(t);
   g_assert_true(mapped(p1, s1 * 24));
   g_assert_cmphex(p1[23 * (s1 / 4) + 47], ==, fpx(&g, 47, 23));
   mksclient_surface_release(h1);
   g_assert_false(mapped(p1, s1 * 24));
   g_free(f.px);
   g_free(g.px);
   mks_local_free(l);
}

/* ---- a producer that stops copying while nobody watches */

static atomic_uint refreshes;

static void
count_refresh(void *opaque)
{
   atomic_fetch_add(&refreshes, 1);
}

/* Whether something arrives on fd within ms milliseconds. */
static bool
readable_within(int fd, int ms)
{
   struct pollfd pfd = { fd, POLLIN, 0 };
   return poll(&pfd, 1, ms) == 1;
}

static void
wait_refreshes(unsigned n)
{
   for (int i = 0; i < 1000 && atomic_load(&refreshes) < n; i++) {
      g_usleep(5000);
   }
   g_assert_cmpuint(atomic_load(&refreshes), ==, n);
}

/* The HELLO on fd: its surface mapped (size in *size). */
static const uint32_t *
raw_hello_surface(int fd, unsigned *w, unsigned *h, size_t *stride, size_t *size)
{
   uint16_t type;
   uint8_t *p;
   uint32_t len;
   int sfd = -1;
   g_assert_true(raw_msg(fd, &type, &p, &len, &sfd));
   g_assert_cmpuint(type, ==, MKS_LOCAL_MSG_HELLO);
   g_assert_cmpint(sfd, >=, 0);
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

static void
test_invalidate(void)
{
   const mks_local_input in = { rec_key, rec_pointer, NULL, count_refresh };
   char *path = new_sock_path();
   char *err = NULL;
   mks_local *l = mks_local_new(path, &in, &err);
   g_assert_nonnull(l);
   g_free(path);
   atomic_store(&refreshes, 0);
   mks_local_set_mode(l, 64, 32);
   frame f = make_frame(64, 32, 21), g = make_frame(64, 32, 22);
   mks_local_update(l, f.px, f.stride, 0, 0, 64, 32);

   /* Nobody watches: the producer stops; g is drawn meanwhile. A client
    * connecting now gets no HELLO (the surface still has f), the
    * producer is asked for the picture once, and a part of it is not
    * enough. */
   mks_local_invalidate(l);
   int a = raw_connect(mks_local_path(l));
   wait_clients(l, 1);
   g_assert_false(readable_within(a, 200));
   wait_refreshes(1);
   int b = raw_connect(mks_local_path(l));
   wait_clients(l, 2);
   mks_local_update(l, g.px, g.stride, 0, 0, 64, 31);
   g_assert_false(readable_within(a, 200));
   g_assert_false(readable_within(b, 1));
   g_assert_cmpuint(atomic_load(&refreshes), ==, 1);

   /* The whole picture: both get their HELLO, with g in the surface. */
   mks_local_update(l, g.px, g.stride, 0, 0, 64, 32);
   int fds[2] = { a, b };
   for (unsigned i = 0; i < 2; i++) {
      unsigned w, h;
      size_t stride, size;
      const uint32_t *px = raw_hello_surface(fds[i], &w, &h, &stride, &size);
      g_assert_cmpuint(w, ==, 64);
      g_assert_cmpuint(h, ==, 32);
      for (unsigned y = 0; y < 32; y++) {
         for (unsigned x = 0; x < 64; x++) {
            g_assert_cmphex(px[y * (stride / 4) + x], ==, fpx(&g, x, y));
         }
      }
      munmap((void *)px, size);
      close(fds[i]);
   }
   wait_clients(l, 0);

   /* Valid again: a new client is served at once, nothing asked. */
   tclient *t = tconnect(l, true);
   assert_rect_matches(t, &g, 0, 0, 64, 32);
   tfree(t);
   g_assert_cmpuint(atomic_load(&refreshes), ==, 1);

   /* A mode change while invalid: the new surface is black, not the
    * picture, so it waits too; each invalidation asks once. */
   mks_local_invalidate(l);
   mks_local_set_mode(l, 16, 8);
   a = raw_connect(mks_local_path(l));
   wait_refreshes(2);
   g_assert_false(readable_within(a, 100));
   frame k = make_frame(16, 8, 23);
   mks_local_update(l, k.px, k.stride, 0, 0, 16, 8);
   unsigned w, h;
   size_t stride, size;
   const uint32_t *px = raw_hello_surface(a, &w, &h, &stride, &size);
   g_assert_cmpuint(w, ==, 16);
   g_assert_cmphex(px[7 * (stride / 4) + 15], ==, fpx(&k, 15, 7));
   munmap((void *)px, size);
   close(a);
   g_free(f.px);
   g_free(g.px);
   g_free(k.px);
   mks_local_free(l);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   tmpdir = g_dir_make_tmp("mks-local-XXXXXX", NULL);
   g_assert_nonnull(tmpdir);
   char *err = NULL;
   if (!vmxlog_open(tmpdir, 0, &err)) {
      g_error("%s", err);
   }
   if (g_test_verbose()) {
      vmxlog_set_stderr(true);
   }
   g_test_add_func("/mks/local/socket", test_socket);
   g_test_add_func("/mks/local/hello", test_hello);
   g_test_add_func("/mks/local/damage", test_damage);
   g_test_add_func("/mks/local/mode", test_mode);
   g_test_add_func("/mks/local/coalesce", test_coalesce);
   g_test_add_func("/mks/local/cursor", test_cursor);
   g_test_add_func("/mks/local/input", test_input);
   g_test_add_func("/mks/local/several", test_several);
   g_test_add_func("/mks/local/malformed", test_malformed);
   g_test_add_func("/mks/local/parse", test_parse);
   g_test_add_func("/mks/local/shutdown-with-client", test_shutdown_with_client);
   g_test_add_func("/mks/local/producer-threads", test_producer_threads);
   g_test_add_func("/mks/local/invalidate", test_invalidate);
   g_test_add_func("/mks/local/hold", test_hold);
   int r = g_test_run();
   vmxlog_close();
   char *rm = g_strdup_printf("%s/vmware.log", tmpdir);
   g_unlink(rm);
   g_free(rm);
   g_rmdir(tmpdir);
   g_free(tmpdir);
   return r;
}
