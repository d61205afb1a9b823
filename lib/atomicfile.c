/*
 * lib/atomicfile.c - crash-safe replacement of files (see atomicfile.h).
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

struct vmws_atomicfile {
   char *path;
   char *dir;
   char *base;
   char *tmp;     /* named temporary file, or NULL (O_TMPFILE) */
   int fd;
   bool replace;
};

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

static void
af_free(vmws_atomicfile *af)
{
   g_free(af->path);
   g_free(af->dir);
   g_free(af->base);
   g_free(af->tmp);
   g_free(af);
}

/* An unnamed file gets its name through /proc/self/fd (linkat with
 * AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH). */
static int
open_unnamed(const char *dir)
{
#ifdef O_TMPFILE
   if (access("/proc/self/fd", X_OK) < 0) {
      errno = EOPNOTSUPP;
      return -1;
   }
   return open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#else
   (void)dir;
   errno = EOPNOTSUPP;
   return -1;
#endif
}

vmws_atomicfile *
vmws_atomicfile_begin(const char *path, mode_t mode, bool replace, char **err)
{
   vmws_atomicfile *af = g_new0(vmws_atomicfile, 1);
   struct stat st;

   af->path = g_strdup(path);
   af->dir = g_path_get_dirname(path);
   af->base = g_path_get_basename(path);
   af->replace = replace;
   af->fd = -1;
   if (!replace && lstat(path, &st) == 0) {
      *err = g_strdup_printf("%s already exists", path);
      goto fail;
   }
   af->fd = open_unnamed(af->dir);
   if (af->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
      af->tmp = g_strdup_printf("%s/.%s.tmp-XXXXXX", af->dir, af->base);
      af->fd = g_mkstemp_full(af->tmp, O_RDWR | O_CLOEXEC, 0600);
      if (af->fd < 0) {
         g_clear_pointer(&af->tmp, g_free);
      }
   }
   if (af->fd < 0) {
      *err = g_strdup_printf("cannot create a temporary file beside %s: %s", path,
                             g_strerror(errno));
      goto fail;
   }
   mode_t want = mode & 07777;
   if (replace && stat(path, &st) == 0) {
      want = st.st_mode & 07777;
   }
   if (fchmod(af->fd, want) < 0) {
      *err = g_strdup_printf("cannot set the mode of the temporary file beside %s: %s", path,
                             g_strerror(errno));
      goto fail;
   }
   return af;
fail:
   vmws_atomicfile_abort(af);
   return NULL;
}

int
vmws_atomicfile_fd(const vmws_atomicfile *af)
{
   return af->fd;
}

const char *
vmws_atomicfile_tmp_path(const vmws_atomicfile *af)
{
   return af->tmp;
}

const char *
vmws_atomicfile_path(const vmws_atomicfile *af)
{
   return af->path;
}

void
vmws_atomicfile_abort(vmws_atomicfile *af)
{
   if (!af) {
      return;
   }
   if (af->fd >= 0) {
      close(af->fd);
   }
   if (af->tmp) {
      unlink(af->tmp);
   }
   af_free(af);
}

/* Give the unnamed file a name: target itself (no replace: fails with
 * EEXIST if it exists) or a fresh temporary name beside it. */
static int
link_unnamed(vmws_atomicfile *af)
{
   char proc[64];
   snprintf(proc, sizeof proc, "/proc/self/fd/%d", af->fd);
   if (!af->replace) {
      return linkat(AT_FDCWD, proc, AT_FDCWD, af->path, AT_SYMLINK_FOLLOW);
   }
   static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
   for (int tries = 0; tries < 100; tries++) {
      char suffix[7];
      for (int i = 0; i < 6; i++) {
         suffix[i] = chars[g_random_int_range(0, (int)sizeof chars - 1)];
      }
      suffix[6] = '\0';
      char *tmp = g_strdup_printf("%s/.%s.tmp-%s", af->dir, af->base, suffix);
      if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0) {
         af->tmp = tmp;
         return 0;
      }
      int e = errno;
      g_free(tmp);
      if (e != EEXIST) {
         errno = e;
         return -1;
      }
   }
   errno = EEXIST;
   return -1;
}

int
vmws_atomicfile_commit(vmws_atomicfile *af, char **err)
{
   bool unnamed = af->tmp == NULL;
   int e;

   if (fsync(af->fd) < 0) {
      *err = g_strdup_printf("cannot write %s: %s", af->path, g_strerror(errno));
      goto fail;
   }
   if (unnamed && link_unnamed(af) < 0) {
      e = errno;
      if (e == EEXIST && !af->replace) {
         *err = g_strdup_printf("%s already exists", af->path);
      } else {
         *err = g_strdup_printf("cannot %s %s: %s", af->replace ? "replace" : "create", af->path,
                                g_strerror(e));
      }
      goto fail;
   }
   e = close(af->fd);
   af->fd = -1;
   if (e < 0) {
      *err = g_strdup_printf("cannot write %s: %s", af->path, g_strerror(errno));
      goto fail;
   }
   if (unnamed && !af->replace) {
      /* linkat() put it in place already. */
      vmws_atomicfile_sync_dir(af->dir);
      af_free(af);
      return 0;
   }
   int rr = af->replace ? rename(af->tmp, af->path) : rename_noreplace(af->tmp, af->path);
   if (rr < 0) {
      e = errno;
      if (e == EEXIST) {
         *err = g_strdup_printf("%s already exists", af->path);
      } else {
         *err = g_strdup_printf("cannot %s %s: %s", af->replace ? "replace" : "create", af->path,
                                g_strerror(e));
      }
      goto fail;
   }
   g_clear_pointer(&af->tmp, g_free);
   vmws_atomicfile_sync_dir(af->dir);
   af_free(af);
   return 0;
fail:
   vmws_atomicfile_abort(af);
   return -1;
}

int
vmws_atomicfile_write(const char *path, const void *data, size_t len, mode_t mode, bool replace,
                     char **err)
{
   vmws_atomicfile *af = vmws_atomicfile_begin(path, mode, replace, err);
   if (!af) {
      return -1;
   }
   const char *p = data;
   size_t off = 0;
   while (off < len) {
      ssize_t n = write(af->fd, p + off, len - off);
      if (n < 0 && errno == EINTR) {
         continue;
      }
      if (n <= 0) {
         *err = g_strdup_printf("cannot write %s: %s", path, n < 0 ? g_strerror(errno) : "no space");
         vmws_atomicfile_abort(af);
         return -1;
      }
      off += (size_t)n;
   }
   return vmws_atomicfile_commit(af, err);
}
