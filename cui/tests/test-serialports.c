/*
 * cui/tests/test-serialports.c - the serial ports of an existing VM
 * (cui/serialports.h): reading every kind, checks, saving only what
 * changed.
 */
#include "cui/serialports.h"
#include "vmx/config.h"

#include "testutil.h"

#include <sys/socket.h>
#include <sys/un.h>

static char *
cfg_value(const char *vmx, const char *key)
{
   char *err = NULL;
   vmxcfg *cfg = vmxcfg_load(vmx, &err);
   g_assert_nonnull(cfg);
   char *v = g_strdup(vmxcfg_get(cfg, key));
   vmxcfg_free(cfg);
   return v;
}

static void
assert_cfg(const char *vmx, const char *key, const char *want)
{
   char *v = cfg_value(vmx, key);
   g_assert_cmpstr(v, ==, want);
   g_free(v);
}

static void
assert_check(cui_serialports *sp, unsigned n, cui_newvm_severity want, const char *text)
{
   char *msg = NULL;
   cui_newvm_severity got = cui_serialports_check(sp, n, &msg);
   if (got != want) {
      g_error("port %u: severity %d, expected %d (%s)", n, got, want, msg ? msg : "");
   }
   if (text) {
      tu_assert_contains(msg, text);
   } else {
      g_assert_null(msg);
   }
   g_free(msg);
}

static void
test_read(void)
{
   char *dir = tu_dir("read");
   char *vmx = tu_make_vm(dir, "ports",
                          "serial0.present = \"TRUE\"\n"
                          "serial0.fileType = \"file\"\n"
                          "serial0.fileName = \"serial0.log\"\n"
                          "serial1.present = \"true\"\n"
                          "serial1.fileType = \"pty\"\n"
                          "serial2.present = \"TRUE\"\n"
                          "serial2.fileType = \"pipe\"\n"
                          "serial2.fileName = \"/tmp/com3\"\n"
                          "serial2.pipe.endPoint = \"server\"\n"
                          "serial3.present = \"FALSE\"\n"
                          "serial3.fileType = \"pipe\"\n"
                          "serial3.fileName = \"/tmp/com4\"\n");
   char *err = NULL;
   cui_serialports *sp = cui_serialports_load(vmx, &err);
   g_assert_nonnull(sp);
   g_assert_true(cui_serialports_present(sp, 0));
   g_assert_cmpint(cui_serialports_type(sp, 0), ==, CUI_SERIAL_FILE);
   g_assert_cmpstr(cui_serialports_path(sp, 0), ==, "serial0.log");
   g_assert_true(cui_serialports_present(sp, 1));
   g_assert_cmpint(cui_serialports_type(sp, 1), ==, CUI_SERIAL_PTY);
   g_assert_cmpstr(cui_serialports_path(sp, 1), ==, "");
   /* A pipe whose end point is the server is a socket the VM listens on. */
   g_assert_cmpint(cui_serialports_type(sp, 2), ==, CUI_SERIAL_SOCKET);
   g_assert_false(cui_serialports_present(sp, 3));
   g_assert_cmpint(cui_serialports_type(sp, 3), ==, CUI_SERIAL_PIPE);
   g_assert_cmpstr(cui_serialports_path(sp, 3), ==, "/tmp/com4");
   /* Out of range. */
   g_assert_false(cui_serialports_present(sp, 4));
   g_assert_cmpstr(cui_serialports_path(sp, 9), ==, "");
   g_assert_false(cui_serialports_any_changed(sp));
   /* Nothing changed: saving writes nothing. */
   char *before = tu_read(vmx);
   g_assert_cmpint(cui_serialports_save(sp, &err), ==, 0);
   char *after = tu_read(vmx);
   g_assert_cmpstr(before, ==, after);
   g_free(before);
   g_free(after);
   cui_serialports_free(sp);

   /* A malformed file is refused with its line. */
   char *bad = g_build_filename(dir, "bad.vmx", NULL);
   tu_write(bad, "serial0.present = TRUE\"\n");
   g_assert_null(cui_serialports_load(bad, &err));
   tu_assert_contains(err, "bad.vmx:1");
   g_free(err);
   err = NULL;
   g_assert_null(cui_serialports_load("/nonexistent/x.vmx", &err));
   tu_assert_contains(err, "/nonexistent/x.vmx");
   g_free(err);
   g_free(bad);
   g_free(vmx);
   g_free(dir);
}

static void
test_checks(void)
{
   char *dir = tu_dir("checks");
   char *vmx = tu_make_vm(dir, "chk", NULL);
   char *err = NULL;
   cui_serialports *sp = cui_serialports_load(vmx, &err);
   g_assert_nonnull(sp);
   for (unsigned n = 0; n < CUI_SERIAL_PORTS; n++) {
      g_assert_false(cui_serialports_present(sp, n));
      assert_check(sp, n, CUI_NEWVM_OK, NULL);
   }
   cui_serialports_set_present(sp, 0, true);
   g_assert_true(cui_serialports_changed(sp, 0));
   assert_check(sp, 0, CUI_NEWVM_ERROR, "Serial port 1: enter the file the guest's output");
   cui_serialports_set_path(sp, 0, "/nonexistent-dir/out.log");
   assert_check(sp, 0, CUI_NEWVM_ERROR, "the folder /nonexistent-dir does not exist");
   cui_serialports_set_path(sp, 0, "out.log");
   assert_check(sp, 0, CUI_NEWVM_OK, NULL);
   cui_serialports_set_path(sp, 0, "bad\nname");
   assert_check(sp, 0, CUI_NEWVM_ERROR, "control characters");
   /* The VM's folder itself is not a file. */
   cui_serialports_set_path(sp, 0, ".");
   assert_check(sp, 0, CUI_NEWVM_ERROR, "is a folder, not a file");
   /* An existing file is replaced: a warning. */
   cui_serialports_set_path(sp, 0, "chk.vmx");
   assert_check(sp, 0, CUI_NEWVM_WARNING, "it is replaced at each power-on");
   cui_serialports_set_type(sp, 0, CUI_SERIAL_PTY);
   assert_check(sp, 0, CUI_NEWVM_OK, NULL);

   /* Sockets: a path short enough; a listening one needs no file in the
    * way; a connecting one warns while nothing listens. */
   cui_serialports_set_present(sp, 1, true);
   cui_serialports_set_type(sp, 1, CUI_SERIAL_SOCKET);
   assert_check(sp, 1, CUI_NEWVM_ERROR, "Serial port 2: enter the path of the socket");
   char *longp = g_strdup_printf("%s/%0200d", dir, 7);
   cui_serialports_set_path(sp, 1, longp);
   assert_check(sp, 1, CUI_NEWVM_ERROR, "too long for a socket");
   g_free(longp);
   cui_serialports_set_path(sp, 1, vmx);
   assert_check(sp, 1, CUI_NEWVM_ERROR, "exists and is not a socket");
   char *sock = g_build_filename(dir, "com2.sock", NULL);
   cui_serialports_set_path(sp, 1, sock);
   assert_check(sp, 1, CUI_NEWVM_OK, NULL);
   cui_serialports_set_type(sp, 1, CUI_SERIAL_PIPE);
   assert_check(sp, 1, CUI_NEWVM_WARNING, "nothing listens on");
   int fd = socket(AF_UNIX, SOCK_STREAM, 0);
   struct sockaddr_un a = { .sun_family = AF_UNIX };
   g_strlcpy(a.sun_path, sock, sizeof a.sun_path);
   g_assert_cmpint(bind(fd, (struct sockaddr *)&a, sizeof a), ==, 0);
   g_assert_cmpint(listen(fd, 1), ==, 0);
   assert_check(sp, 1, CUI_NEWVM_OK, NULL);
   close(fd);
   unlink(sock);
   g_free(sock);

   /* An absent port has nothing to check, whatever it holds. */
   cui_serialports_set_type(sp, 2, CUI_SERIAL_FILE);
   cui_serialports_set_path(sp, 2, "/nonexistent-dir/x");
   assert_check(sp, 2, CUI_NEWVM_OK, NULL);
   g_assert_false(cui_serialports_changed(sp, 2));
   g_assert_cmpstr(cui_serial_type_id(CUI_SERIAL_PIPE), ==, "pipe");
   g_assert_cmpstr(cui_serial_type_label(CUI_SERIAL_PTY), ==, "Pseudo-terminal");

   /* Errors stop a save; nothing is written. */
   cui_serialports_set_type(sp, 0, CUI_SERIAL_FILE);
   cui_serialports_set_path(sp, 0, "");
   char *before = tu_read(vmx);
   g_assert_cmpint(cui_serialports_save(sp, &err), ==, -1);
   tu_assert_contains(err, "Serial port 1: enter the file");
   g_free(err);
   err = NULL;
   char *after = tu_read(vmx);
   g_assert_cmpstr(before, ==, after);
   g_free(before);
   g_free(after);
   cui_serialports_revert(sp);
   g_assert_false(cui_serialports_any_changed(sp));
   g_assert_false(cui_serialports_present(sp, 0));
   cui_serialports_free(sp);
   g_free(vmx);
   g_free(dir);
}

static void
test_save(void)
{
   char *dir = tu_dir("save");
   char *vmx = tu_make_vm(dir, "sv",
                          "# a comment that stays\n"
                          "serial0.present = \"TRUE\"\n"
                          "serial0.fileType = \"file\"\n"
                          "serial0.fileName = \"serial0.log\"\n"
                          "serial1.present = \"TRUE\"\n"
                          "serial1.fileType = \"pipe\"\n"
                          "serial1.fileName = \"/tmp/x\"\n"
                          "serial1.pipe.endPoint = \"client\"\n"
                          "unknown.key = \"kept\"\n");
   char *err = NULL;
   cui_serialports *sp = cui_serialports_load(vmx, &err);
   g_assert_nonnull(sp);
   /* COM1 becomes a pty, COM2 goes away, COM3 appears as a socket. */
   cui_serialports_set_type(sp, 0, CUI_SERIAL_PTY);
   cui_serialports_set_present(sp, 1, false);
   cui_serialports_set_present(sp, 2, true);
   cui_serialports_set_type(sp, 2, CUI_SERIAL_SOCKET);
   cui_serialports_set_path(sp, 2, "com3.sock");
   g_assert_true(cui_serialports_any_changed(sp));
   if (cui_serialports_save(sp, &err) < 0) {
      g_error("save: %s", err);
   }
   g_assert_false(cui_serialports_any_changed(sp));
   assert_cfg(vmx, "serial0.present", "TRUE");
   assert_cfg(vmx, "serial0.fileType", "pty");
   assert_cfg(vmx, "serial0.fileName", NULL);
   assert_cfg(vmx, "serial1.present", "FALSE");
   assert_cfg(vmx, "serial1.fileType", "pipe"); /* kept for turning it on again */
   assert_cfg(vmx, "serial2.present", "TRUE");
   assert_cfg(vmx, "serial2.fileType", "socket");
   assert_cfg(vmx, "serial2.fileName", "com3.sock");
   assert_cfg(vmx, "serial2.pipe.endPoint", NULL);
   assert_cfg(vmx, "serial3.present", NULL);
   assert_cfg(vmx, "unknown.key", "kept");
   char *text = tu_read(vmx);
   tu_assert_contains(text, "# a comment that stays\n");
   g_free(text);
   /* Read back as saved. */
   g_assert_cmpint(cui_serialports_type(sp, 0), ==, CUI_SERIAL_PTY);
   g_assert_false(cui_serialports_present(sp, 1));
   g_assert_cmpstr(cui_serialports_path(sp, 2), ==, "com3.sock");
   /* A connecting socket gets its end point. */
   cui_serialports_set_type(sp, 2, CUI_SERIAL_PIPE);
   g_assert_cmpint(cui_serialports_save(sp, &err), ==, 0);
   assert_cfg(vmx, "serial2.fileType", "pipe");
   assert_cfg(vmx, "serial2.pipe.endPoint", "client");
   cui_serialports_free(sp);

   /* A suspended VM cannot change its ports. */
   char *susp = tu_make_vm(dir, "susp", "checkpoint.vmState = \"susp.vmss\"\n");
   sp = cui_serialports_load(susp, &err);
   g_assert_nonnull(sp);
   cui_serialports_set_present(sp, 0, true);
   cui_serialports_set_type(sp, 0, CUI_SERIAL_PTY);
   g_assert_cmpint(cui_serialports_save(sp, &err), ==, -1);
   tu_assert_contains(err, "Serial ports cannot be changed while the virtual machine is "
                           "suspended");
   g_free(err);
   assert_cfg(susp, "serial0.present", NULL);
   cui_serialports_free(sp);
   g_free(susp);
   g_free(vmx);
   g_free(dir);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   tu_init("cui-serialports");
   g_test_add_func("/cui/serialports/read", test_read);
   g_test_add_func("/cui/serialports/checks", test_checks);
   g_test_add_func("/cui/serialports/save", test_save);
   return g_test_run();
}
