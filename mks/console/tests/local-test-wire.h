/*
 * mks/console/tests/local-test-wire.h - the local console's wire format
 * written and read by hand, for tests that play a broken client or a
 * broken server (test-local.c, test-mksclient.c).
 */
#ifndef MKS_CONSOLE_TESTS_LOCAL_TEST_WIRE_H
#define MKS_CONSOLE_TESTS_LOCAL_TEST_WIRE_H

#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static inline void
put32(uint8_t *p, uint32_t v)
{
   p[0] = (uint8_t)v;
   p[1] = (uint8_t)(v >> 8);
   p[2] = (uint8_t)(v >> 16);
   p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t
get32(const uint8_t *p)
{
   return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline size_t
make_msg(uint8_t *buf, uint32_t magic, uint16_t version, uint16_t type, uint32_t len,
         const void *payload, size_t plen)
{
   put32(buf, magic);
   buf[4] = (uint8_t)version;
   buf[5] = (uint8_t)(version >> 8);
   buf[6] = (uint8_t)type;
   buf[7] = (uint8_t)(type >> 8);
   put32(buf + 8, len);
   if (plen) {
      memcpy(buf + 12, payload, plen);
   }
   return 12 + plen;
}

static inline int
raw_connect(const char *path)
{
   struct sockaddr_un sa = { .sun_family = AF_UNIX };
   g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
   int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
   g_assert_cmpint(fd, >=, 0);
   g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof sa), ==, 0);
   return fd;
}

/* Read exactly n bytes (blocking, 10 s at most); fds received go to *fd_out
 * (the last one; others closed). False on EOF. */
static inline bool
raw_read(int fd, void *buf, size_t n, int *fd_out)
{
   size_t got = 0;
   while (got < n) {
      struct pollfd pfd = { fd, POLLIN, 0 };
      if (poll(&pfd, 1, 10000) != 1) {
         g_error("raw peer: nothing to read for 10 s");
      }
      union {
         struct cmsghdr h;
         char b[CMSG_SPACE(sizeof(int) * 4)];
      } cm;
      struct iovec iov = { (uint8_t *)buf + got, n - got };
      struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.b,
                           .msg_controllen = sizeof cm.b };
      ssize_t r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
      if (r < 0 && errno == EINTR) {
         continue;
      }
      if (r < 0 && errno == ECONNRESET) {
         return false;
      }
      g_assert_cmpint(r, >=, 0);
      for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
         if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
            int nfd = (int)((h->cmsg_len - CMSG_LEN(0)) / sizeof(int));
            for (int i = 0; i < nfd; i++) {
               int rfd;
               memcpy(&rfd, CMSG_DATA(h) + i * sizeof(int), sizeof rfd);
               if (fd_out && *fd_out < 0) {
                  *fd_out = rfd;
               } else {
                  close(rfd);
               }
            }
         }
      }
      if (r == 0) {
         return false;
      }
      got += (size_t)r;
   }
   return true;
}

/* Send buf on fd, with descriptor pass attached unless it is -1. */
static inline void
send_with_fd(int fd, const void *buf, size_t n, int pass)
{
   union {
      struct cmsghdr h;
      char b[CMSG_SPACE(sizeof(int))];
   } cm;
   memset(&cm, 0, sizeof cm);
   struct iovec iov = { (void *)buf, n };
   struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
   if (pass >= 0) {
      mh.msg_control = cm.b;
      mh.msg_controllen = sizeof cm.b;
      struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
      h->cmsg_level = SOL_SOCKET;
      h->cmsg_type = SCM_RIGHTS;
      h->cmsg_len = CMSG_LEN(sizeof(int));
      memcpy(CMSG_DATA(h), &pass, sizeof pass);
   }
   g_assert_cmpint(sendmsg(fd, &mh, MSG_NOSIGNAL), ==, (ssize_t)n);
}

#endif
