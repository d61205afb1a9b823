/*
 * Tests of the local console's client library (cui/mksclient.c) against
 * a fake server written by hand: everything a broken or hostile server
 * could send (a memfd smaller than its geometry, no seals, no descriptor,
 * bad sizes, rectangles outside the surface, frames out of order, bad
 * cursors, unknown types, huge lengths) must end the connection with an
 * error naming the problem, never a crash or a hang. test-local.c tests
 * the client with the real server.
 */
#include "cui/mksclient.h"
#include "mks/console/local.h"
#include "mks/console/tests/local-test-wire.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>

static char *tmpdir;
static unsigned sock_seq;

static char *
new_sock_path(void)
{
   return g_strdup_printf("%s/fake-%u.sock", tmpdir, ++sock_seq);
}

/* ---- the fake server */

typedef struct fake {
   int lfd;
   char *path;
} fake;

static fake
fake_listen(int backlog)
{
   fake f;
   f.path = new_sock_path();
   struct sockaddr_un sa = { .sun_family = AF_UNIX };
   g_strlcpy(sa.sun_path, f.path, sizeof sa.sun_path);
   f.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
   g_assert_cmpint(bind(f.lfd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
   g_assert_cmpint(listen(f.lfd, backlog), ==, 0);
   return f;
}

static void
fake_close(fake *f)
{
   close(f->lfd);
   unlink(f->path);
   g_free(f->path);
}

static int
make_memfd(size_t size, bool seal)
{
   int fd = memfd_create("fake", MFD_CLOEXEC | MFD_ALLOW_SEALING);
   g_assert_cmpint(fd, >=, 0);
   g_assert_cmpint(ftruncate(fd, (off_t)size), ==, 0);
   if (seal) {
      g_assert_cmpint(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), ==, 0);
   }
   return fd;
}

static size_t
surface_msg(uint8_t *m, uint16_t type, uint32_t w, uint32_t h, uint32_t stride, uint32_t fmt,
            uint32_t serial)
{
   uint8_t pl[24] = { 0 };
   put32(pl, w);
   put32(pl + 4, h);
   put32(pl + 8, stride);
   put32(pl + 12, fmt);
   put32(pl + 16, serial);
   return make_msg(m, MKS_LOCAL_MAGIC, 1, type, 24, pl, 24);
}

typedef struct fake_job {
   fake *f;
   uint8_t msg[512];
   size_t n;
   int pass;           /* sent with the first message, or -1 */
   uint8_t msg2[2048]; /* sent after the first, when n2 */
   size_t n2;
   bool wait_ack;      /* read the client's ACK before sending msg2 */
} fake_job;

static void *
fake_serve(void *arg)
{
   fake_job *j = arg;
   int c = accept4(j->f->lfd, NULL, NULL, SOCK_CLOEXEC);
   g_assert_cmpint(c, >=, 0);
   send_with_fd(c, j->msg, j->n, j->pass);
   if (j->wait_ack) {
      uint8_t ack[MKS_LOCAL_HEADER_SIZE + MKS_LOCAL_ACK_SIZE];
      g_assert_true(raw_read(c, ack, sizeof ack, NULL));
      g_assert_cmpuint(ack[6], ==, MKS_LOCAL_MSG_ACK);
   }
   if (j->n2) {
      send_with_fd(c, j->msg2, j->n2, -1);
   }
   /* Wait for the client to hang up. */
   char b[256];
   while (read(c, b, sizeof b) > 0) {
   }
   close(c);
   return NULL;
}

/* Run one fake connection; connect's error (NULL: it connected, and then
 * the error the first dispatch gave, if any). */
static char *
fake_run(fake_job *j)
{
   pthread_t th;
   g_assert_cmpint(pthread_create(&th, NULL, fake_serve, j), ==, 0);
   char *err = NULL;
   mksclient *c = mksclient_connect(j->f->path, &err);
   if (c) {
      if (j->wait_ack) {
         g_assert_true(mksclient_ack(c));
      }
      for (int i = 0; i < 100 && mksclient_dispatch(c); i++) {
         g_usleep(2000);
      }
      err = g_strdup(mksclient_error(c));
      mksclient_free(c);
   }
   pthread_join(th, NULL);
   if (j->pass >= 0) {
      close(j->pass);
   }
   return err;
}

static void
expect_client_refuses(fake_job *j, const char *what)
{
   char *err = fake_run(j);
   if (!err || !strstr(err, what)) {
      g_error("expected the client to fail with \"%s\", got \"%s\"", what, err ? err : "(none)");
   }
   g_test_message("client refused: %s", err);
   g_free(err);
}

static void
test_client_checks(void)
{
   fake f = fake_listen(4);
   fake_job j;

   /* The memfd is smaller than the geometry says. */
   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = surface_msg(j.msg, MKS_LOCAL_MSG_HELLO, 64, 64, 256, 1, 1);
   j.pass = make_memfd(256 * 63, true);
   expect_client_refuses(&j, "needs");

   /* Not sealed against shrinking. */
   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = surface_msg(j.msg, MKS_LOCAL_MSG_HELLO, 64, 64, 256, 1, 1);
   j.pass = make_memfd(256 * 64, false);
   expect_client_refuses(&j, "not sealed");

   /* No descriptor. */
   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = surface_msg(j.msg, MKS_LOCAL_MSG_HELLO, 64, 64, 256, 1, 1);
   j.pass = -1;
   expect_client_refuses(&j, "without a surface descriptor");

   /* Stride too small, unknown format, size out of range. */
   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = surface_msg(j.msg, MKS_LOCAL_MSG_HELLO, 64, 64, 252, 1, 1);
   j.pass = make_memfd(256 * 64, true);
   expect_client_refuses(&j, "stride");
   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = surface_msg(j.msg, MKS_LOCAL_MSG_HELLO, 64, 64, 256, 2, 1);
   j.pass = make_memfd(256 * 64, true);
   expect_client_refuses(&j, "pixel format");
   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = surface_msg(j.msg, MKS_LOCAL_MSG_HELLO, 0, 64, 256, 1, 1);
   j.pass = make_memfd(256 * 64, true);
   expect_client_refuses(&j, "out of range");

   /* A BYE instead of HELLO: its reason, made printable. */
   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = make_msg(j.msg, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_BYE, 12, "go\naway\xff now", 12);
   j.pass = -1;
   expect_client_refuses(&j, "go away");

   /* A message longer than its type allows. */
   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = make_msg(j.msg, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_CURSOR_POS, 0x7fffffff, NULL, 0);
   j.pass = -1;
   expect_client_refuses(&j, "at most");

   /* After a good HELLO: damage outside the surface; a frame before the
    * ACK; a bad cursor. */
   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = surface_msg(j.msg, MKS_LOCAL_MSG_HELLO, 64, 64, 256, 1, 1);
   j.pass = make_memfd(256 * 64, true);
   {
      uint8_t pl[24];
      put32(pl, 2);
      put32(pl + 4, 1);
      put32(pl + 8, 0);
      put32(pl + 12, 0);
      put32(pl + 16, 5);
      put32(pl + 20, 1);
      j.n2 = make_msg(j.msg2, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_DAMAGE, 24, pl, 24);
   }
   expect_client_refuses(&j, "before the previous frame");

   /* Acked, then damage reaching outside the surface, then a wrong serial. */
   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = surface_msg(j.msg, MKS_LOCAL_MSG_HELLO, 64, 64, 256, 1, 1);
   j.pass = make_memfd(256 * 64, true);
   j.wait_ack = true;
   {
      uint8_t pl[24];
      put32(pl, 2);
      put32(pl + 4, 1);
      put32(pl + 8, 60);
      put32(pl + 12, 0);
      put32(pl + 16, 5);
      put32(pl + 20, 1);
      j.n2 = make_msg(j.msg2, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_DAMAGE, 24, pl, 24);
   }
   expect_client_refuses(&j, "not inside");
   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = surface_msg(j.msg, MKS_LOCAL_MSG_HELLO, 64, 64, 256, 1, 1);
   j.pass = make_memfd(256 * 64, true);
   j.wait_ack = true;
   {
      uint8_t pl[24];
      put32(pl, 5);
      put32(pl + 4, 1);
      put32(pl + 8, 0);
      put32(pl + 12, 0);
      put32(pl + 16, 5);
      put32(pl + 20, 1);
      j.n2 = make_msg(j.msg2, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_DAMAGE, 24, pl, 24);
   }
   expect_client_refuses(&j, "serial 5 after 1");
   /* A MODE without its descriptor. */
   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = surface_msg(j.msg, MKS_LOCAL_MSG_HELLO, 64, 64, 256, 1, 1);
   j.pass = make_memfd(256 * 64, true);
   j.wait_ack = true;
   j.n2 = surface_msg(j.msg2, MKS_LOCAL_MSG_MODE, 64, 64, 256, 1, 2);
   expect_client_refuses(&j, "MODE came without");

   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = surface_msg(j.msg, MKS_LOCAL_MSG_HELLO, 64, 64, 256, 1, 1);
   j.pass = make_memfd(256 * 64, true);
   {
      uint8_t pl[20];
      put32(pl, 300);
      put32(pl + 4, 1);
      put32(pl + 8, 0);
      put32(pl + 12, 0);
      put32(pl + 16, 0);
      j.n2 = make_msg(j.msg2, MKS_LOCAL_MAGIC, 1, MKS_LOCAL_MSG_CURSOR_SHAPE, 20 + 1200, pl, 20);
      j.n2 += 1200;   /* the pixels (zeros) */
   }
   expect_client_refuses(&j, "CURSOR_SHAPE");

   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = surface_msg(j.msg, MKS_LOCAL_MSG_HELLO, 64, 64, 256, 1, 1);
   j.pass = make_memfd(256 * 64, true);
   j.n2 = surface_msg(j.msg2, MKS_LOCAL_MSG_HELLO, 64, 64, 256, 1, 2);
   expect_client_refuses(&j, "HELLO after");

   memset(&j, 0, sizeof j);
   j.f = &f;
   j.n = make_msg(j.msg, MKS_LOCAL_MAGIC, 1, 77, 0, NULL, 0);
   j.pass = -1;
   expect_client_refuses(&j, "unknown message type");
   fake_close(&f);
}

/* A server that never accepts (a hung vmx): connect gives up after its
 * timeout instead of blocking, whether the backlog has room or not. */
static void
test_connect_timeout(void)
{
   fake f = fake_listen(0);
   int fds[64];
   unsigned n = 0;
   /* Fill the backlog. */
   while (n < G_N_ELEMENTS(fds)) {
      struct sockaddr_un sa = { .sun_family = AF_UNIX };
      g_strlcpy(sa.sun_path, f.path, sizeof sa.sun_path);
      int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
         g_assert_cmpint(errno, ==, EAGAIN);
         close(fd);
         break;
      }
      fds[n++] = fd;
   }
   g_assert_cmpuint(n, <, G_N_ELEMENTS(fds));
   gint64 t0 = g_get_monotonic_time();
   char *err = NULL;
   g_assert_null(mksclient_connect(f.path, &err));
   gint64 took = g_get_monotonic_time() - t0;
   g_test_message("%s (after %lld ms)", err, (long long)(took / 1000));
   g_assert_nonnull(strstr(err, "did not"));
   g_assert_cmpint(took, >=, 4 * G_USEC_PER_SEC);
   g_assert_cmpint(took, <, 30 * G_USEC_PER_SEC);
   g_free(err);
   for (unsigned i = 0; i < n; i++) {
      close(fds[i]);
   }
   fake_close(&f);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   tmpdir = g_dir_make_tmp("mksclient-XXXXXX", NULL);
   g_assert_nonnull(tmpdir);
   g_test_add_func("/cui/mksclient/refuses-bad-servers", test_client_checks);
   g_test_add_func("/cui/mksclient/connect-timeout", test_connect_timeout);
   int r = g_test_run();
   g_rmdir(tmpdir);
   g_free(tmpdir);
   return r;
}
