/*
 * cui/tests/testutil.h - helpers shared by the cui tests: a private
 * temporary home for each test program, files, and making writes fail.
 */
#ifndef CUI_TESTS_TESTUTIL_H
#define CUI_TESTS_TESTUTIL_H

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tu_root G_GNUC_UNUSED;   /* the test program's temporary folder */

static inline void
tu_rm_rf(const char *path)
{
   struct stat st;
   if (lstat(path, &st) < 0) {
      return;
   }
   if (S_ISDIR(st.st_mode)) {
      chmod(path, 0700);
      GDir *d = g_dir_open(path, 0, NULL);
      const char *n;
      while (d && (n = g_dir_read_name(d))) {
         char *c = g_build_filename(path, n, NULL);
         tu_rm_rf(c);
         g_free(c);
      }
      if (d) {
         g_dir_close(d);
      }
      rmdir(path);
   } else {
      unlink(path);
   }
}

static inline void
tu_cleanup(void)
{
   if (tu_root && !g_getenv("CUI_TEST_KEEP")) {
      tu_rm_rf(tu_root);
   }
}

/* Make the temporary folder and point XDG_CONFIG_HOME and XDG_RUNTIME_DIR
 * into it, so nothing of the user's is read or written. */
static inline void
tu_init(const char *name)
{
   char *tmpl = g_strdup_printf("vmws-%s-XXXXXX", name);
   GError *e = NULL;
   tu_root = g_dir_make_tmp(tmpl, &e);
   g_assert_no_error(e);
   g_free(tmpl);
   char *cfg = g_build_filename(tu_root, "config", NULL);
   char *run = g_build_filename(tu_root, "run", NULL);
   g_assert_cmpint(g_mkdir(cfg, 0700), ==, 0);
   g_assert_cmpint(g_mkdir(run, 0700), ==, 0);
   g_setenv("XDG_CONFIG_HOME", cfg, TRUE);
   g_setenv("XDG_RUNTIME_DIR", run, TRUE);
   g_free(cfg);
   g_free(run);
   atexit(tu_cleanup);
}

/* A fresh folder for one test case. */
static inline char *
tu_dir(const char *name)
{
   static unsigned n;
   char *d = g_strdup_printf("%s/%s-%u", tu_root, name, ++n);
   g_assert_cmpint(g_mkdir_with_parents(d, 0755), ==, 0);
   return d;
}

static inline void
tu_write(const char *path, const char *text)
{
   GError *e = NULL;
   g_file_set_contents(path, text, -1, &e);
   g_assert_no_error(e);
}

static inline void
tu_write_bytes(const char *path, const void *data, size_t len)
{
   GError *e = NULL;
   g_file_set_contents(path, data, (gssize)len, &e);
   g_assert_no_error(e);
}

static inline char *
tu_read(const char *path)
{
   char *t = NULL;
   GError *e = NULL;
   g_file_get_contents(path, &t, NULL, &e);
   g_assert_no_error(e);
   return t;
}

static inline bool
tu_exists(const char *path)
{
   struct stat st;
   return lstat(path, &st) == 0;
}

/* A minimal .vmx in dir/name/name.vmx; returns its path. */
static inline char *
tu_make_vm(const char *dir, const char *name, const char *extra)
{
   char *vdir = g_build_filename(dir, name, NULL);
   g_assert_cmpint(g_mkdir_with_parents(vdir, 0755), ==, 0);
   char *file = g_strdup_printf("%s.vmx", name);
   char *path = g_build_filename(vdir, file, NULL);
   char *text = g_strdup_printf(".encoding = \"UTF-8\"\ndisplayName = \"%s\"\n"
                                "memsize = \"32\"\n%s",
                                name, extra ? extra : "");
   tu_write(path, text);
   g_free(text);
   g_free(file);
   g_free(vdir);
   return path;
}

/* Files may not grow past limit bytes until tu_fsize_restore(): every
 * write beyond fails with EFBIG, even for root (for whom a read-only
 * folder is no obstacle). Print nothing to files meanwhile. */
static struct rlimit tu_saved_fsize G_GNUC_UNUSED;

static inline void
tu_fsize_limit(rlim_t limit)
{
   signal(SIGXFSZ, SIG_IGN);
   g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &tu_saved_fsize), ==, 0);
   struct rlimit r = tu_saved_fsize;
   r.rlim_cur = limit;
   g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &r), ==, 0);
}

static inline void
tu_fsize_restore(void)
{
   g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &tu_saved_fsize), ==, 0);
}

/* Whether file permissions stop us (not when running as root). */
static inline bool
tu_permissions_apply(void)
{
   return geteuid() != 0;
}

static inline void
tu_assert_contains(const char *hay, const char *needle)
{
   if (!hay || !strstr(hay, needle)) {
      g_error("expected \"%s\" in \"%s\"", needle, hay ? hay : "(null)");
   }
}

#endif
