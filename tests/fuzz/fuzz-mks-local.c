/*
 * tests/fuzz/fuzz-mks-local.c - libFuzzer target: arbitrary bytes from a
 * local console client (mks/console/local.c, compiled in with coverage).
 *
 * Each input goes through two stages:
 *
 *   1. The parser alone (mks_local_parse_client), message after message
 *      from the start of the input. Checked: a message it takes is never
 *      longer than what is left; every taken message has values in range
 *      (known type, keysym and keycode bounds, not both zero, down 0/1,
 *      button bits, wheel bounds); it asks for more bytes only while what
 *      is left is shorter than the largest client message; feeding the
 *      same bytes one at a time gives the same verdicts (a message is
 *      never refused on a prefix and taken whole, or the reverse).
 *   2. A live server (started once, on a socket in a temporary directory)
 *      gets the input as a real client: connect, write it in chunks whose
 *      sizes come from the input's length, half-close, read until the
 *      server closes. Checked: the server closes the connection within 5 s
 *      (with a BYE for a bad message, or at our EOF), its client count
 *      goes back to 0, input callbacks see only in-range values (pointer
 *      inside the 640x480 surface). Built with -DFUZZ_LOCAL_PARSE_ONLY,
 *      this stage is left out (faster, no thread).
 */
#include "mks/console/local.h"
#include "tests/fuzz/fuzz-common.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#define LARGEST_CLIENT_MSG (MKS_LOCAL_HEADER_SIZE + MKS_LOCAL_POINTER_SIZE)

static void
check_msg(const mks_local_client_msg *m)
{
   switch (m->type) {
   case MKS_LOCAL_MSG_KEY:
      if (m->keysym > MKS_LOCAL_MAX_KEYSYM || m->keycode > MKS_LOCAL_MAX_KEYCODE ||
          (!m->keysym && !m->keycode)) {
         fuzz_fail("KEY taken with keysym 0x%x keycode 0x%x", m->keysym, m->keycode);
      }
      break;
   case MKS_LOCAL_MSG_POINTER_ABS:
      if ((m->buttons & ~MKS_BUTTON_ALL) || m->dz < -MKS_LOCAL_MAX_WHEEL ||
          m->dz > MKS_LOCAL_MAX_WHEEL || m->dw < -MKS_LOCAL_MAX_WHEEL ||
          m->dw > MKS_LOCAL_MAX_WHEEL) {
         fuzz_fail("POINTER_ABS taken with buttons 0x%x dz %d dw %d", m->buttons, m->dz, m->dw);
      }
      break;
   case MKS_LOCAL_MSG_ACK:
      break;
   default:
      fuzz_fail("a message of type %u was taken", m->type);
   }
}

/* Stage 1. */
static void
parse_all(const uint8_t *data, size_t size)
{
   size_t off = 0;
   for (;;) {
      mks_local_client_msg m;
      const char *why = NULL;
      long r = mks_local_parse_client(data + off, size - off, &m, &why);
      if (r < 0) {
         if (!why) {
            fuzz_fail("refused at %zu without a reason", off);
         }
         /* No prefix of what is refused may be taken. */
         for (size_t n = 0; n < size - off; n++) {
            mks_local_client_msg m2;
            const char *w2 = NULL;
            long r2 = mks_local_parse_client(data + off, n, &m2, &w2);
            if (r2 > 0) {
               fuzz_fail("a prefix of %zu bytes at %zu was taken, the whole refused", n, off);
            }
         }
         return;
      }
      if (r == 0) {
         if (size - off >= LARGEST_CLIENT_MSG) {
            fuzz_fail("the parser wants more than %zu bytes at %zu", size - off, off);
         }
         return;
      }
      if ((size_t)r > size - off) {
         fuzz_fail("took %ld bytes with %zu left", r, size - off);
      }
      check_msg(&m);
      /* Every shorter prefix of a taken message: "need more". */
      for (long n = 0; n < r; n++) {
         mks_local_client_msg m2;
         const char *w2 = NULL;
         long r2 = mks_local_parse_client(data + off, (size_t)n, &m2, &w2);
         if (r2 != 0) {
            fuzz_fail("a %ld-byte prefix of a taken %ld-byte message gave %ld (%s)", n, r,
                      r2, w2 ? w2 : "");
         }
      }
      off += (size_t)r;
   }
}

#ifndef FUZZ_LOCAL_PARSE_ONLY

static mks_local *server;
static char *dir;

static void
on_key(void *opaque, uint32_t keysym, uint32_t keycode, bool down)
{
   if (keysym > MKS_LOCAL_MAX_KEYSYM || keycode > MKS_LOCAL_MAX_KEYCODE ||
       (!keysym && !keycode)) {
      fuzz_fail("key callback with keysym 0x%x keycode 0x%x", keysym, keycode);
   }
}

static void
on_pointer(void *opaque, int x, int y, unsigned buttons, int dz, int dw)
{
   if (x < 0 || x >= 640 || y < 0 || y >= 480 || (buttons & ~MKS_BUTTON_ALL) ||
       dz < -MKS_LOCAL_MAX_WHEEL || dz > MKS_LOCAL_MAX_WHEEL || dw < -MKS_LOCAL_MAX_WHEEL ||
       dw > MKS_LOCAL_MAX_WHEEL) {
      fuzz_fail("pointer callback with %d,%d buttons 0x%x wheel %d,%d", x, y, buttons, dz, dw);
   }
}

static void
drain(int fd)
{
   char buf[4096];
   gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
   for (;;) {
      struct pollfd pfd = { fd, POLLIN, 0 };
      gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
      int r = left_ms > 0 ? poll(&pfd, 1, (int)left_ms) : 0;
      if (r < 0 && errno == EINTR) {
         continue;   /* libFuzzer's timeout alarm (SIGALRM) interrupts poll */
      }
      if (r != 1) {
         fuzz_fail("the server kept the connection open for 5 s after our EOF");
      }
      /* Descriptors (the surface) are closed by recv without MSG_CMSG. */
      union {
         struct cmsghdr h;
         char b[CMSG_SPACE(sizeof(int) * 4)];
      } cm;
      struct iovec iov = { buf, sizeof buf };
      struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
                           .msg_controllen = sizeof cm.b };
      ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
      for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); n >= 0 && h; h = CMSG_NXTHDR(&mh, h)) {
         if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
            size_t nfd = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < nfd; i++) {
               int rfd;
               memcpy(&rfd, CMSG_DATA(h) + i * sizeof(int), sizeof rfd);
               close(rfd);
            }
         }
      }
      if (n == 0 || (n < 0 && errno == ECONNRESET)) {
         return;
      }
      if (n < 0 && errno != EINTR) {
         fuzz_fail("recv: %s", g_strerror(errno));
      }
   }
}

/* Stage 2. */
static void
feed_server(const uint8_t *data, size_t size)
{
   int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
   struct sockaddr_un sa = { .sun_family = AF_UNIX };
   g_strlcpy(sa.sun_path, mks_local_path(server), sizeof sa.sun_path);
   if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
      fuzz_fail("cannot connect to the server: %s", g_strerror(errno));
   }
   size_t off = 0, chunk = 1 + size % 13;
   while (off < size) {
      size_t n = MIN(chunk, size - off);
      /* The server may already have closed on a bad message. */
      if (send(fd, data + off, n, MSG_NOSIGNAL) < 0) {
         break;
      }
      off += n;
      chunk = chunk * 3 % 61 + 1;
   }
   shutdown(fd, SHUT_WR);
   drain(fd);
   close(fd);
   for (int i = 0; mks_local_client_count(server) != 0; i++) {
      if (i == 5000) {
         fuzz_fail("the server still counts %u clients after they left",
                   mks_local_client_count(server));
      }
      g_usleep(1000);
   }
}

#endif

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
   fuzz_glib_use_malloc(*argv);
#ifndef FUZZ_LOCAL_PARSE_ONLY
   dir = g_dir_make_tmp("fuzz-local-XXXXXX", NULL);
   if (!dir) {
      fuzz_fail("cannot make a temporary directory");
   }
   char *path = g_strdup_printf("%s/console.sock", dir);
   static const mks_local_input in = { on_key, on_pointer, NULL };
   char *err = NULL;
   server = mks_local_new(path, &in, &err);
   if (!server) {
      fuzz_fail("cannot start the server: %s", err);
   }
   g_free(path);
#endif
   return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   parse_all(data, size);
#ifndef FUZZ_LOCAL_PARSE_ONLY
   feed_server(data, size);
#endif
   return 0;
}
