/*
 * End-to-end tests of the local console: the real server
 * (mks/console/local.c) and the real client library (cui/mksclient.c) in
 * one process. test-local-wire.c plays peers that break the protocol;
 * test-mksclient.c checks the client against malformed server messages.
 *
 * Not tested: refusing a peer of another uid (needs root to make one).
 */
#include "mks/console/tests/local-test-client.h"

#include <X11/keysym.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input-event-codes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>

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
   local_test_init(&argc, &argv, "mks-local");
   g_test_add_func("/mks/local/socket", test_socket);
   g_test_add_func("/mks/local/hello", test_hello);
   g_test_add_func("/mks/local/damage", test_damage);
   g_test_add_func("/mks/local/mode", test_mode);
   g_test_add_func("/mks/local/coalesce", test_coalesce);
   g_test_add_func("/mks/local/cursor", test_cursor);
   g_test_add_func("/mks/local/input", test_input);
   g_test_add_func("/mks/local/several", test_several);
   g_test_add_func("/mks/local/producer-threads", test_producer_threads);
   g_test_add_func("/mks/local/invalidate", test_invalidate);
   g_test_add_func("/mks/local/hold", test_hold);
   return local_test_run();
}
