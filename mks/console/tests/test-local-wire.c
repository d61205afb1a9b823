/*
 * The local console server (mks/console/local.c) against peers that break
 * the protocol, written by hand: each malformed client message must drop
 * only its sender, with a BYE that names the problem, while a good client
 * of the real library (cui/mksclient.c) carries on. Also the message
 * parser on its own, and a shutdown with a client still connected.
 */
#include "mks/console/tests/local-test-client.h"

#include <X11/keysym.h>
#include <fcntl.h>
#include <linux/input-event-codes.h>
#include <sys/stat.h>

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
      send_with_fd(fd, m, n, pass);
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

int
main(int argc, char **argv)
{
   local_test_init(&argc, &argv, "mks-local-wire");
   g_test_add_func("/mks/local/malformed", test_malformed);
   g_test_add_func("/mks/local/parse", test_parse);
   g_test_add_func("/mks/local/shutdown-with-client", test_shutdown_with_client);
   return local_test_run();
}
