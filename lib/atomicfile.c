/*
 * lib/atomicfile.c - crash-safe replacement of small files.
 */
#include "lib/atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void
vmws_atomicfile_sync_dir(const char *dir)
{
   int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
   if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
   }
}

/* Move tmp to path unless path exists. */
static int
rename_noreplace(const char *tmp, const char *path)
{
   if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) {
      return 0;
   }
   if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
      return -1;
   }
   /* A file system without RENAME_NOREPLACE: link() fails on an existing
    * name as well. */
   if (link(tmp, path) < 0) {
      return -1;
   }
   unlink(tmp);
   return 0;
}

int
vmws_atomicfile_write(const char *path, const void *data, size_t len, mode_t mode, bool replace,
                     char **err)
{
   char *dir = g_path_get_dirname(path);
   char *base = g_path_get_basename(path);
   char *tmp = g_strdup_printf("%s/.%s.tmp-XXXXXX", dir, base);
   int r = -1;
   struct stat st;
   if (!replace && lstat(path, &st) == 0) {
      *err = g_strdup_printf("%s already exists", path);
      goto out;
   }
   int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600);
   if (fd < 0) {
      *err = g_strdup_printf("cannot create a temporary file beside %s: %s", path,
                             g_strerror(errno));
      goto out;
   }
   mode_t want = mode & 07777;
   if (replace && stat(path, &st) == 0) {
      want = st.st_mode & 07777;
   }
   if (fchmod(fd, want) < 0) {
      *err = g_strdup_printf("cannot set the mode of %s: %s", tmp, g_strerror(errno));
      close(fd);
      unlink(tmp);
      goto out;
   }
   const char *p = data;
   size_t off = 0;
   while (off < len) {
      ssize_t n = write(fd, p + off, len - off);
      if (n < 0 && errno == EINTR) {
         continue;
      }
      if (n <= 0) {
         *err = g_strdup_printf("cannot write %s: %s", path, n < 0 ? g_strerror(errno) : "no space");
         close(fd);
         unlink(tmp);
         goto out;
      }
      off += (size_t)n;
   }
   if (fsync(fd) < 0) {
      *err = g_strdup_printf("cannot write %s: %s", path, g_strerror(errno));
      close(fd);
      unlink(tmp);
      goto out;
   }
   if (close(fd) < 0) {
      *err = g_strdup_printf("cannot write %s: %s", path, g_strerror(errno));
      unlink(tmp);
      goto out;
   }
   int rr = replace ? rename(tmp, path) : rename_noreplace(tmp, path);
   if (rr < 0) {
      int e = errno;
      unlink(tmp);
      if (e == EEXIST) {
         *err = g_strdup_printf("%s already exists", path);
      } else {
         *err = g_strdup_printf("cannot %s %s: %s", replace ? "replace" : "create", path,
                                g_strerror(e));
      }
      goto out;
   }
   vmws_atomicfile_sync_dir(dir);
   r = 0;
out:
   g_free(dir);
   g_free(base);
   g_free(tmp);
   return r;
}
