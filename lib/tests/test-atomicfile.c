/*
 * lib/tests/test-atomicfile.c - crash-safe file writes: the one-call
 * writer and the streaming one (begin, write from several places, commit or
 * abort), replace or not, modes, and that nothing is left behind.
 */
#include "lib/atomicfile.h"

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char *dir;

static unsigned
entries(void)
{
   GDir *d = g_dir_open(dir, 0, NULL);
   unsigned n = 0;
   while (g_dir_read_name(d)) {
      n++;
   }
   g_dir_close(d);
   return n;
}

static char *
contents(const char *path)
{
   char *s = NULL;
   g_assert_true(g_file_get_contents(path, &s, NULL, NULL));
   return s;
}

static void
test_write(void)
{
   char *path = g_build_filename(dir, "a.txt", NULL);
   char *err = NULL;
   g_assert_cmpint(vmws_atomicfile_write(path, "one", 3, 0640, false, &err), ==, 0);
   g_assert_cmpint(vmws_atomicfile_write(path, "two", 3, 0600, false, &err), ==, -1);
   g_assert_nonnull(strstr(err, "already exists"));
   g_clear_pointer(&err, g_free);
   g_assert_cmpint(vmws_atomicfile_write(path, "three", 5, 0600, true, &err), ==, 0);
   char *s = contents(path);
   g_assert_cmpstr(s, ==, "three");
   g_free(s);
   struct stat st;
   g_assert_cmpint(stat(path, &st), ==, 0);
   g_assert_cmpint(st.st_mode & 0777, ==, 0640);   /* a replaced file keeps its mode */
   g_assert_cmpuint(entries(), ==, 1);
   g_unlink(path);
   g_free(path);
}

static void
test_stream(void)
{
   char *path = g_build_filename(dir, "b.bin", NULL);
   char *err = NULL;
   g_assert_cmpint(vmws_atomicfile_write(path, "old", 3, 0644, false, &err), ==, 0);

   vmws_atomicfile *af = vmws_atomicfile_begin(path, 0600, true, &err);
   g_assert_nonnull(af);
   g_assert_cmpstr(vmws_atomicfile_path(af), ==, path);
   int fd = vmws_atomicfile_fd(af);
   /* Out of order, with a hole. */
   g_assert_cmpint(pwrite(fd, "tail", 4, 8192), ==, 4);
   g_assert_cmpint(pwrite(fd, "head", 4, 0), ==, 4);
   /* Until the commit, the old file is what the name gives. */
   char *s = contents(path);
   g_assert_cmpstr(s, ==, "old");
   g_free(s);
   const char *tmp = vmws_atomicfile_tmp_path(af);
   g_test_message("temporary file: %s", tmp ? tmp : "(unnamed, O_TMPFILE)");
   g_assert_cmpint(vmws_atomicfile_commit(af, &err), ==, 0);
   gsize n;
   g_assert_true(g_file_get_contents(path, &s, &n, NULL));
   g_assert_cmpuint(n, ==, 8196);
   g_assert_true(memcmp(s, "head", 4) == 0 && memcmp(s + 8192, "tail", 4) == 0);
   g_free(s);
   g_assert_cmpuint(entries(), ==, 1);

   /* Abort: the old file stays, nothing else. */
   af = vmws_atomicfile_begin(path, 0600, true, &err);
   g_assert_cmpint(write(vmws_atomicfile_fd(af), "junk", 4), ==, 4);
   vmws_atomicfile_abort(af);
   vmws_atomicfile_abort(NULL);
   g_assert_true(g_file_get_contents(path, &s, &n, NULL));
   g_assert_cmpuint(n, ==, 8196);
   g_free(s);
   g_assert_cmpuint(entries(), ==, 1);

   /* No replace: refused at begin, and at commit if the file appeared. */
   g_assert_null(vmws_atomicfile_begin(path, 0600, false, &err));
   g_assert_nonnull(strstr(err, "already exists"));
   g_clear_pointer(&err, g_free);
   char *p2 = g_build_filename(dir, "c.bin", NULL);
   af = vmws_atomicfile_begin(p2, 0600, false, &err);
   g_assert_nonnull(af);
   g_assert_cmpint(write(vmws_atomicfile_fd(af), "mine", 4), ==, 4);
   g_assert_cmpint(vmws_atomicfile_write(p2, "theirs", 6, 0600, false, &err), ==, 0);
   g_assert_cmpint(vmws_atomicfile_commit(af, &err), ==, -1);
   g_assert_nonnull(strstr(err, "already exists"));
   g_clear_pointer(&err, g_free);
   s = contents(p2);
   g_assert_cmpstr(s, ==, "theirs");
   g_free(s);
   g_assert_cmpuint(entries(), ==, 2);
   struct stat st;
   af = vmws_atomicfile_begin(p2, 0600, true, &err);
   g_assert_cmpint(vmws_atomicfile_commit(af, &err), ==, 0);
   g_assert_cmpint(stat(p2, &st), ==, 0);
   g_assert_cmpint(st.st_size, ==, 0);

   /* A folder that does not exist. */
   char *p3 = g_build_filename(dir, "nodir", "x", NULL);
   g_assert_null(vmws_atomicfile_begin(p3, 0600, true, &err));
   g_assert_nonnull(strstr(err, "cannot create a temporary file beside"));
   g_clear_pointer(&err, g_free);
   g_unlink(path);
   g_unlink(p2);
   g_free(p3);
   g_free(p2);
   g_free(path);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   dir = g_dir_make_tmp("test-atomicfile-XXXXXX", NULL);
   g_test_add_func("/atomicfile/write", test_write);
   g_test_add_func("/atomicfile/stream", test_stream);
   int r = g_test_run();
   g_rmdir(dir);
   g_free(dir);
   return r;
}
