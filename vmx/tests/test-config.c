/*
 * Tests of the .vmx parser and writer.
 */
#include "vmx/config.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

static const char sample[] =
   ".encoding = \"UTF-8\"\n"
   "config.version = \"8\"\n"
   "virtualHW.version = \"19\"\n"
   "# a comment kept as is\n"
   "\n"
   "displayName = \"My |22quoted|22 VM\"\n"
   "memsize = \"2048\"\n"
   "numvcpus = \"2\"\n"
   "sata0:1.fileName = \"/isos/debian.iso\"\n"
   "ethernet0.virtualDev   =   \"vmxnet3\"    # odd spacing is preserved\n"
   "someFutureKey = \"unknown to us\"\n"
   "bare = TRUE\n";

static void
test_parse_and_roundtrip(void)
{
   char *err = NULL;
   vmxcfg *c = vmxcfg_parse(sample, strlen(sample), "t.vmx", &err);
   g_assert_no_error(NULL);
   g_assert_nonnull(c);
   g_assert_cmpstr(vmxcfg_get(c, "displayname"), ==, "My \"quoted\" VM");
   g_assert_cmpstr(vmxcfg_get(c, "MEMSIZE"), ==, "2048");
   g_assert_cmpstr(vmxcfg_get(c, "SATA0:1.FILENAME"), ==, "/isos/debian.iso");
   g_assert_cmpstr(vmxcfg_get(c, "ethernet0.virtualdev"), ==, "vmxnet3");
   g_assert_cmpstr(vmxcfg_get(c, "bare"), ==, "TRUE");
   g_assert_null(vmxcfg_get(c, "missing"));
   g_assert_cmpuint(vmxcfg_count(c), ==, 10);
   size_t len;
   char *out = vmxcfg_write(c, &len);
   g_assert_cmpstr(out, ==, sample);
   g_free(out);

   /* Changing a value keeps the line's place and key spelling. */
   vmxcfg_set(c, "MemSize", "4096");
   vmxcfg_set(c, "newKey", "a|b#c\"d");
   out = vmxcfg_write(c, &len);
   g_assert_nonnull(strstr(out, "numvcpus = \"2\"\n"));
   g_assert_nonnull(strstr(out, "\"vmxnet3\"    # odd spacing is preserved\n"));
   char *mem = strstr(out, "memsize = \"4096\"\n");
   g_assert_nonnull(mem);
   g_assert_true(mem < strstr(out, "numvcpus"));
   g_assert_true(g_str_has_suffix(out, "newKey = \"a|7Cb|23c|22d\"\n"));
   /* And parses back to the same values. */
   vmxcfg *c2 = vmxcfg_parse(out, len, "t2.vmx", &err);
   g_assert_nonnull(c2);
   g_assert_cmpstr(vmxcfg_get(c2, "newkey"), ==, "a|b#c\"d");
   g_assert_cmpstr(vmxcfg_get(c2, "memsize"), ==, "4096");
   g_free(out);
   vmxcfg_free(c2);

   g_assert_true(vmxcfg_remove(c, "SOMEFUTUREKEY"));
   g_assert_null(vmxcfg_get(c, "someFutureKey"));
   g_assert_false(vmxcfg_remove(c, "someFutureKey"));
   vmxcfg_free(c);
}

static void
test_crlf_and_duplicates(void)
{
   const char *t = "a = \"1\"\r\nB = \"2\"\r\na = \"3\"\r\n";
   char *err = NULL;
   vmxcfg *c = vmxcfg_parse(t, strlen(t), "t.vmx", &err);
   g_assert_nonnull(c);
   g_assert_cmpstr(vmxcfg_get(c, "A"), ==, "3"); /* last one wins */
   g_assert_cmpuint(vmxcfg_count(c), ==, 2);
   char *out = vmxcfg_write(c, NULL);
   g_assert_cmpstr(out, ==, t);
   g_free(out);
   vmxcfg_set(c, "b", "x");
   out = vmxcfg_write(c, NULL);
   g_assert_cmpstr(out, ==, "a = \"1\"\r\nB = \"x\"\r\na = \"3\"\r\n");
   g_free(out);
   vmxcfg_free(c);
}

static void
expect_error(const char *text, size_t len, const char *want)
{
   char *err = NULL;
   vmxcfg *c = vmxcfg_parse(text, len, "bad.vmx", &err);
   g_assert_null(c);
   g_assert_cmpstr(err, ==, want);
   g_free(err);
}

static void
test_errors(void)
{
   expect_error("a = \"1\"\nfoo\n", 12, "bad.vmx:2: expected '=' after the key");
   expect_error("a = \"1\nb = \"2\"\n", 15, "bad.vmx:1: unterminated quoted value");
   expect_error("a = \"1\n", 7, "bad.vmx:1: unterminated quoted value");
   expect_error("a = \"1\" junk\n", 13, "bad.vmx:1: unexpected text after the value");
   expect_error("\n\na = \"|4\"\n", 10, "bad.vmx:3: bad |XX escape in value");
   expect_error("a = \"|00\"\n", 10, "bad.vmx:1: value contains an escaped NUL byte");
   expect_error("= \"x\"\n", 6, "bad.vmx:1: expected a key");
   expect_error("a$b = \"x\"\n", 10, "bad.vmx:1: invalid character in key");
   expect_error("a =\n", 4, "bad.vmx:1: expected a value after '='");
   expect_error("a = \"x\"\nb = \"\xff\"\n", 16, "bad.vmx:2: not valid UTF-8");
   expect_error("a = \"x\"\n\0", 9, "bad.vmx:2: NUL byte in file");
}

static void
test_typed(void)
{
   const char *t = "memsize = \"12x\"\nflag = \"maybe\"\nok = \"TRUE\"\nn = \"0x10\"\n";
   char *err = NULL;
   vmxcfg *c = vmxcfg_parse(t, strlen(t), "t.vmx", &err);
   int64_t i;
   bool b;
   g_assert_false(vmxcfg_get_int(c, "memsize", 1, &i, &err));
   g_assert_cmpstr(err, ==, "memsize = \"12x\": expected an integer");
   g_free(err);
   g_assert_false(vmxcfg_get_bool(c, "flag", false, &b, &err));
   g_assert_cmpstr(err, ==, "flag = \"maybe\": expected TRUE or FALSE");
   g_free(err);
   g_assert_true(vmxcfg_get_bool(c, "ok", false, &b, &err));
   g_assert_true(b);
   g_assert_true(vmxcfg_get_int(c, "n", 0, &i, &err));
   g_assert_cmpint(i, ==, 16);
   g_assert_true(vmxcfg_get_int(c, "absent", 7, &i, &err));
   g_assert_cmpint(i, ==, 7);
   vmxcfg_free(c);
}

static void
test_atomic_save(void)
{
   char *dir = g_dir_make_tmp("vmxcfg-XXXXXX", NULL);
   char *path = g_build_filename(dir, "t.vmx", NULL);
   g_assert_true(g_file_set_contents(path, sample, -1, NULL));
   g_chmod(path, 0640);
   char *err = NULL;
   vmxcfg *c = vmxcfg_load(path, &err);
   g_assert_nonnull(c);
   vmxcfg_set(c, "memsize", "512");
   g_assert_cmpint(vmxcfg_save(c, path, &err), ==, 0);
   struct stat st;
   g_assert_cmpint(stat(path, &st), ==, 0);
   g_assert_cmpint(st.st_mode & 0777, ==, 0640);
   vmxcfg *c2 = vmxcfg_load(path, &err);
   g_assert_cmpstr(vmxcfg_get(c2, "memsize"), ==, "512");
   g_assert_cmpstr(vmxcfg_get(c2, "someFutureKey"), ==, "unknown to us");
   /* No temporary file is left behind. */
   GDir *d = g_dir_open(dir, 0, NULL);
   int n = 0;
   while (g_dir_read_name(d)) {
      n++;
   }
   g_dir_close(d);
   g_assert_cmpint(n, ==, 1);
   /* A folder we cannot write to: clear error, old file intact. */
   char *bad = g_build_filename(dir, "nodir", "x.vmx", NULL);
   g_assert_cmpint(vmxcfg_save(c, bad, &err), <, 0);
   g_assert_nonnull(strstr(err, "cannot create a temporary file beside"));
   g_free(err);
   g_free(bad);
   vmxcfg_free(c);
   vmxcfg_free(c2);
   g_unlink(path);
   g_rmdir(dir);
   g_free(path);
   g_free(dir);
}

/* Found by fuzz-vmx-config: values that are not UTF-8, and a CR that does
 * not end a line, must survive a write. */
static void
test_fuzz_regressions(void)
{
   char *err = NULL;
   vmxcfg *c = vmxcfg_parse("k = \"|FF\"\n", 10, "r1", &err);
   g_assert_nonnull(c);
   g_assert_cmpstr(vmxcfg_get(c, "k"), ==, "\xff");
   vmxcfg_set(c, "k2", "caf\xc3\xa9 \xff");
   char *out = vmxcfg_write(c, NULL);
   g_assert_true(g_str_has_suffix(out, "k2 = \"caf\xc3\xa9 |FF\"\n"));
   vmxcfg *c2 = vmxcfg_parse(out, strlen(out), "r1b", &err);
   g_assert_nonnull(c2);
   g_assert_cmpstr(vmxcfg_get(c2, "k2"), ==, "caf\xc3\xa9 \xff");
   g_free(out);
   vmxcfg_free(c2);
   vmxcfg_free(c);

   c = vmxcfg_parse("a=b\r\r", 5, "r2", &err);
   g_assert_nonnull(c);
   g_assert_cmpstr(vmxcfg_get(c, "a"), ==, "b\r\r");
   out = vmxcfg_write(c, NULL);
   g_assert_cmpstr(out, ==, "a=b\r\r");
   g_free(out);
   vmxcfg_set(c, "a", "x\r");
   out = vmxcfg_write(c, NULL);
   g_assert_cmpstr(out, ==, "a = \"x|0D\"");
   g_free(out);
   vmxcfg_free(c);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/vmx-config/parse-and-roundtrip", test_parse_and_roundtrip);
   g_test_add_func("/vmx-config/crlf-and-duplicates", test_crlf_and_duplicates);
   g_test_add_func("/vmx-config/errors", test_errors);
   g_test_add_func("/vmx-config/typed", test_typed);
   g_test_add_func("/vmx-config/atomic-save", test_atomic_save);
   g_test_add_func("/vmx-config/fuzz-regressions", test_fuzz_regressions);
   return g_test_run();
}
