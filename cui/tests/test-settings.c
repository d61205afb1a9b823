/*
 * cui/tests/test-settings.c - settings of VMs that are not running: round
 * trips keep every other line, only changed fields are written (and
 * checked), media keys, suspended VMs, failed writes, a busy VM.
 */
#include "cui/settings.h"
#include "lib/rundir.h"
#include "vmx/config.h"

#include "testutil.h"

#include <sys/file.h>

static const char vmware_vmx[] =
   "#!/usr/bin/vmware\n"
   ".encoding = \"UTF-8\"\n"
   "config.version = \"8\"\n"
   "virtualHW.version = \"19\"\n"
   "pciBridge0.present = \"TRUE\"\n"
   "# a comment someone wrote\n"
   "vmci0.present = \"TRUE\"\n"
   "NumVCPUs = \"2\"\n"
   "memsize = \"2048\"\n"
   "scsi0.virtualDev = \"lsilogic\"\n"
   "scsi0.present = \"TRUE\"\n"
   "scsi0:0.fileName = \"Web Server.vmdk\"\n"
   "scsi0:0.present = \"TRUE\"\n"
   "ethernet0.connectionType = \"nat\"\n"
   "ethernet0.present = \"TRUE\"\n"
   "\n"
   "displayName = \"Web server\"\n"
   "guestOS = \"debian11-64\"\n"
   "someFutureKey = \"value with |22quotes|22\"\n"
   "uuid.bios = \"56 4d 12 34 56 78 9a bc-de f0 12 34 56 78 9a bc\"\n";

static char *
make_vm(const char *text, char **dir_out)
{
   char *dir = tu_dir("vm");
   char *p = g_build_filename(dir, "Web Server.vmx", NULL);
   tu_write(p, text);
   chmod(p, 0644);
   if (dir_out) {
      *dir_out = dir;
   } else {
      g_free(dir);
   }
   return p;
}

static cui_settings *
load(const char *vmx)
{
   char *err = NULL;
   cui_settings *s = cui_settings_load(vmx, &err);
   g_assert_null(err);
   g_assert_nonnull(s);
   return s;
}

static void
save_ok(cui_settings *s)
{
   char *err = NULL;
   char **notes = NULL;
   int r = cui_settings_save(s, &notes, &err);
   if (r < 0) {
      g_error("save failed: %s", err);
   }
   g_assert_null(notes);
}

static void
save_fails(cui_settings *s, const char *want)
{
   char *err = NULL;
   g_assert_cmpint(cui_settings_save(s, NULL, &err), ==, -1);
   tu_assert_contains(err, want);
   g_free(err);
}

static void
test_load(void)
{
   char *dir = NULL;
   char *vmx = make_vm(vmware_vmx, &dir);
   cui_settings *s = load(vmx);
   cui_newvm *m = cui_settings_model(s);
   g_assert_cmpstr(cui_settings_vmx_path(s), ==, vmx);
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_NAME), ==, "Web server");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_LOCATION), ==, dir);
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_GUEST_OS), ==, "debian11-64");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_CPUS), ==, "2");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_MEMORY), ==, "2048");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_DISK), ==, "Web Server.vmdk");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_DISK_BUS), ==, "scsi");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_ISO), ==, "");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_KERNEL), ==, "");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_VNC_ENABLED), ==, "false");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_MONITOR), ==, "automatic");
   g_assert_false(cui_settings_any_changed(s));
   /* The location is where the VM is. */
   cui_newvm_set(m, CUI_NEWVM_LOCATION, "/elsewhere");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_LOCATION), ==, dir);
   g_assert_false(cui_settings_changed(s, CUI_NEWVM_LOCATION));
   /* In edit mode a name may hold '/': it is only the display name. */
   cui_newvm_set(m, CUI_NEWVM_NAME, "web / prod");
   g_assert_cmpint(cui_newvm_check(m, CUI_NEWVM_NAME, NULL), ==, CUI_NEWVM_OK);
   g_assert_true(cui_settings_changed(s, CUI_NEWVM_NAME));
   cui_settings_revert(s);
   g_assert_false(cui_settings_any_changed(s));
   cui_settings_free(s);

   char *err = NULL;
   g_assert_null(cui_settings_load("/nonexistent/x.vmx", &err));
   tu_assert_contains(err, "No such file");
   g_clear_pointer(&err, g_free);
   tu_write(vmx, "memsize = \"4\"\nno equals sign\n");
   g_assert_null(cui_settings_load(vmx, &err));
   tu_assert_contains(err, "Web Server.vmx:2:");
   g_clear_pointer(&err, g_free);
   g_free(vmx);
   g_free(dir);
}

static void
test_round_trip_keeps_lines(void)
{
   char *vmx = make_vm(vmware_vmx, NULL);
   cui_settings *s = load(vmx);
   cui_newvm *m = cui_settings_model(s);
   /* Values that mean the same are no change. */
   cui_newvm_set(m, CUI_NEWVM_CPUS, " 2 ");
   cui_newvm_set(m, CUI_NEWVM_GUEST_OS, "Debian11-64");
   cui_newvm_set(m, CUI_NEWVM_VNC_ENABLED, "FALSE");
   g_assert_false(cui_settings_any_changed(s));
   struct stat st0, st1;
   g_assert_cmpint(stat(vmx, &st0), ==, 0);
   save_ok(s);
   g_assert_cmpint(stat(vmx, &st1), ==, 0);
   g_assert_cmpuint(st0.st_ino, ==, st1.st_ino); /* not even rewritten */

   cui_newvm_set(m, CUI_NEWVM_CPUS, "1");
   cui_newvm_set(m, CUI_NEWVM_MEMORY, "1024");
   cui_newvm_set(m, CUI_NEWVM_NAME, "Web \"front\"");
   g_assert_true(cui_settings_changed(s, CUI_NEWVM_CPUS));
   g_assert_false(cui_settings_changed(s, CUI_NEWVM_DISK));
   save_ok(s);
   g_assert_false(cui_settings_any_changed(s));
   g_assert_true(cui_settings_model(s) == m); /* the same model, refreshed */
   char *text = tu_read(vmx);
   char **want = g_strsplit(vmware_vmx, "\n", -1);
   char **got = g_strsplit(text, "\n", -1);
   g_assert_cmpuint(g_strv_length(want), ==, g_strv_length(got));
   for (guint i = 0; want[i]; i++) {
      if (g_str_has_prefix(want[i], "NumVCPUs")) {
         g_assert_cmpstr(got[i], ==, "NumVCPUs = \"1\""); /* its spelling kept */
      } else if (g_str_has_prefix(want[i], "memsize")) {
         g_assert_cmpstr(got[i], ==, "memsize = \"1024\"");
      } else if (g_str_has_prefix(want[i], "displayName")) {
         g_assert_cmpstr(got[i], ==, "displayName = \"Web |22front|22\"");
      } else {
         g_assert_cmpstr(got[i], ==, want[i]);
      }
   }
   g_strfreev(want);
   g_strfreev(got);
   g_free(text);
   g_assert_cmpint(stat(vmx, &st1), ==, 0);
   g_assert_cmpint(st1.st_mode & 0777, ==, 0644);
   cui_settings_free(s);
   s = load(vmx);
   g_assert_cmpstr(cui_newvm_get(cui_settings_model(s), CUI_NEWVM_NAME), ==, "Web \"front\"");
   g_assert_cmpstr(cui_newvm_get(cui_settings_model(s), CUI_NEWVM_MEMORY), ==, "1024");
   cui_settings_free(s);
   g_free(vmx);
}

static void
test_invalid_change_refused(void)
{
   char *vmx = make_vm(vmware_vmx, NULL);
   char *before = tu_read(vmx);
   cui_settings *s = load(vmx);
   cui_newvm *m = cui_settings_model(s);
   cui_newvm_set_host(m, 4, 8192);
   cui_newvm_set(m, CUI_NEWVM_MEMORY, "1000001");
   cui_newvm_set(m, CUI_NEWVM_CPUS, "0");
   cui_newvm_set(m, CUI_NEWVM_NAME, "ok name");
   char *err = NULL;
   g_assert_cmpint(cui_settings_save(s, NULL, &err), ==, -1);
   g_assert_cmpstr(err, ==, "Processors: at least 1\nMemory: must be a multiple of 4 MB");
   g_free(err);
   char *after = tu_read(vmx);
   g_assert_cmpstr(after, ==, before);
   g_free(after);
   /* The edits stay for the user to fix. */
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_CPUS), ==, "0");
   g_assert_true(cui_settings_changed(s, CUI_NEWVM_NAME));
   /* An unknown guestOS from the file is kept, but not a new one. */
   cui_settings_revert(s);
   cui_settings_free(s);
   tu_write(vmx, "displayName = \"x\"\nguestOS = \"sjds\"\n");
   s = load(vmx);
   m = cui_settings_model(s);
   g_assert_cmpint(cui_newvm_check(m, CUI_NEWVM_GUEST_OS, NULL), ==, CUI_NEWVM_OK);
   cui_newvm_set(m, CUI_NEWVM_GUEST_OS, "SJDS");
   g_assert_false(cui_settings_changed(s, CUI_NEWVM_GUEST_OS));
   cui_newvm_set(m, CUI_NEWVM_GUEST_OS, "beos");
   save_fails(s, "Guest OS: 'beos' is not a guest type this version offers");
   cui_newvm_set(m, CUI_NEWVM_GUEST_OS, "other-64");
   save_ok(s);
   /* The file had no numvcpus/memsize: the defaults show and stay out. */
   char *text = tu_read(vmx);
   g_assert_cmpstr(text, ==, "displayName = \"x\"\nguestOS = \"other-64\"\n");
   g_free(text);
   cui_settings_free(s);
   g_free(before);
   g_free(vmx);
}

static char *
write_file(const char *dir, const char *name, const void *data, size_t len)
{
   char *p = g_build_filename(dir, name, NULL);
   tu_write_bytes(p, data, len);
   return p;
}

static void
test_media(void)
{
   char *dir = NULL;
   char *vmx = make_vm(vmware_vmx, &dir);
   gsize n = 17 * 2048;
   guint8 *iso_img = g_malloc0(n);
   memcpy(iso_img + 16 * 2048 + 1, "CD001", 5);
   char *iso = write_file(dir, "install.iso", iso_img, n);
   g_free(iso_img);
   guint8 kimg[1024] = { 0 };
   memcpy(kimg + 0x202, "HdrS", 4);
   g_free(write_file(dir, "bzImage", kimg, sizeof kimg)); /* relative to the VM's folder */
   char *initrd = write_file(dir, "initrd", "x", 1);
   char *disk = write_file(dir, "Web Server.vmdk", "# Disk DescriptorFile\n", 22);

   cui_settings *s = load(vmx);
   cui_newvm *m = cui_settings_model(s);
   /* CD image in. */
   cui_newvm_set(m, CUI_NEWVM_ISO, iso);
   save_ok(s);
   vmxcfg *cfg = vmxcfg_load(vmx, NULL);
   g_assert_cmpstr(vmxcfg_get(cfg, "ide1:0.fileName"), ==, iso);
   g_assert_cmpstr(vmxcfg_get(cfg, "ide1:0.deviceType"), ==, "cdrom-image");
   g_assert_cmpstr(vmxcfg_get(cfg, "ide1:0.present"), ==, "TRUE");
   vmxcfg_free(cfg);
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_ISO), ==, iso);
   /* ... and out again. */
   cui_newvm_set(m, CUI_NEWVM_ISO, "");
   save_ok(s);
   cfg = vmxcfg_load(vmx, NULL);
   g_assert_null(vmxcfg_get(cfg, "ide1:0.fileName"));
   g_assert_null(vmxcfg_get(cfg, "ide1:0.present"));
   vmxcfg_free(cfg);

   /* Direct boot, with a kernel path relative to the VM's folder. */
   cui_newvm_set(m, CUI_NEWVM_KERNEL, "bzImage");
   cui_newvm_set(m, CUI_NEWVM_INITRD, initrd);
   cui_newvm_set(m, CUI_NEWVM_CMDLINE, "console=ttyS0");
   cui_newvm_set(m, CUI_NEWVM_ENTRY, "linux");
   save_ok(s);
   cfg = vmxcfg_load(vmx, NULL);
   g_assert_cmpstr(vmxcfg_get(cfg, "linux.kernel"), ==, "bzImage");
   g_assert_cmpstr(vmxcfg_get(cfg, "linux.initrd"), ==, initrd);
   g_assert_cmpstr(vmxcfg_get(cfg, "linux.cmdline"), ==, "console=ttyS0");
   g_assert_cmpstr(vmxcfg_get(cfg, "linux.entry"), ==, "linux");
   vmxcfg_free(cfg);
   /* Taking the kernel away while an initrd stays is refused. */
   cui_newvm_set(m, CUI_NEWVM_KERNEL, "");
   save_fails(s, "Initrd: an initrd needs a kernel to boot");
   cui_newvm_set(m, CUI_NEWVM_INITRD, "");
   cui_newvm_set(m, CUI_NEWVM_CMDLINE, "");
   cui_newvm_set(m, CUI_NEWVM_ENTRY, "auto");
   save_ok(s);
   cfg = vmxcfg_load(vmx, NULL);
   g_assert_null(vmxcfg_get(cfg, "linux.kernel"));
   g_assert_null(vmxcfg_get(cfg, "linux.initrd"));
   g_assert_null(vmxcfg_get(cfg, "linux.cmdline"));
   g_assert_null(vmxcfg_get(cfg, "linux.entry"));
   vmxcfg_free(cfg);

   /* The disk moves from SCSI to SATA; the SCSI controller stays. */
   cui_newvm_set(m, CUI_NEWVM_DISK_BUS, "sata");
   save_ok(s);
   cfg = vmxcfg_load(vmx, NULL);
   g_assert_null(vmxcfg_get(cfg, "scsi0:0.fileName"));
   g_assert_null(vmxcfg_get(cfg, "scsi0:0.present"));
   g_assert_cmpstr(vmxcfg_get(cfg, "scsi0.present"), ==, "TRUE");
   g_assert_cmpstr(vmxcfg_get(cfg, "sata0.present"), ==, "TRUE");
   g_assert_cmpstr(vmxcfg_get(cfg, "sata0:0.present"), ==, "TRUE");
   g_assert_cmpstr(vmxcfg_get(cfg, "sata0:0.fileName"), ==, "Web Server.vmdk");
   vmxcfg_free(cfg);
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_DISK_BUS), ==, "sata");
   /* And out. */
   cui_newvm_set(m, CUI_NEWVM_DISK, "");
   save_ok(s);
   cfg = vmxcfg_load(vmx, NULL);
   g_assert_null(vmxcfg_get(cfg, "sata0:0.fileName"));
   g_assert_cmpstr(vmxcfg_get(cfg, "someFutureKey"), ==, "value with \"quotes\"");
   vmxcfg_free(cfg);
   cui_settings_free(s);

   /* ide1:0 holding a disk: no CD image can go there. */
   tu_write(vmx, "ide1:0.present = \"TRUE\"\nide1:0.fileName = \"other.vmdk\"\n"
                 "ide1:0.deviceType = \"ata-hardDisk\"\n");
   s = load(vmx);
   m = cui_settings_model(s);
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_ISO), ==, "");
   cui_newvm_set(m, CUI_NEWVM_ISO, iso);
   save_fails(s, "CD/DVD image: ide1:0 already holds another device");
   cui_settings_free(s);
   g_free(disk);
   g_free(initrd);
   g_free(iso);
   g_free(vmx);
   g_free(dir);
}

static void
test_vnc_password_private(void)
{
   char *vmx = make_vm(vmware_vmx, NULL);
   cui_settings *s = load(vmx);
   cui_newvm *m = cui_settings_model(s);
   cui_newvm_set(m, CUI_NEWVM_VNC_ENABLED, "true");
   cui_newvm_set(m, CUI_NEWVM_VNC_PORT, "5911");
   cui_newvm_set(m, CUI_NEWVM_VNC_PASSWORD, "s3cret");
   save_ok(s);
   struct stat st;
   g_assert_cmpint(stat(vmx, &st), ==, 0);
   g_assert_cmpint(st.st_mode & 0777, ==, 0600);
   vmxcfg *cfg = vmxcfg_load(vmx, NULL);
   g_assert_cmpstr(vmxcfg_get(cfg, "RemoteDisplay.vnc.enabled"), ==, "TRUE");
   g_assert_cmpstr(vmxcfg_get(cfg, "RemoteDisplay.vnc.port"), ==, "5911");
   g_assert_cmpstr(vmxcfg_get(cfg, "RemoteDisplay.vnc.password"), ==, "s3cret");
   vmxcfg_free(cfg);
   cui_newvm_set(m, CUI_NEWVM_VNC_PASSWORD, "");
   cui_newvm_set(m, CUI_NEWVM_VNC_ENABLED, "off");
   save_ok(s);
   cfg = vmxcfg_load(vmx, NULL);
   g_assert_cmpstr(vmxcfg_get(cfg, "RemoteDisplay.vnc.enabled"), ==, "FALSE");
   g_assert_null(vmxcfg_get(cfg, "RemoteDisplay.vnc.password"));
   vmxcfg_free(cfg);
   cui_settings_free(s);
   g_free(vmx);
}

static void
test_power_rules(void)
{
   g_assert_true(cui_settings_needs_power_off(CUI_NEWVM_MEMORY));
   g_assert_true(cui_settings_needs_power_off(CUI_NEWVM_CPUS));
   g_assert_true(cui_settings_needs_power_off(CUI_NEWVM_GUEST_OS));
   g_assert_true(cui_settings_needs_power_off(CUI_NEWVM_KERNEL));
   g_assert_true(cui_settings_needs_power_off(CUI_NEWVM_MONITOR));
   g_assert_false(cui_settings_needs_power_off(CUI_NEWVM_NAME));
   g_assert_false(cui_settings_needs_power_off(CUI_NEWVM_VNC_PORT));
   g_assert_true(cui_settings_can_change(CUI_NEWVM_MEMORY, "poweredOff"));
   g_assert_false(cui_settings_can_change(CUI_NEWVM_MEMORY, "poweredOn"));
   g_assert_false(cui_settings_can_change(CUI_NEWVM_MEMORY, "suspended"));
   g_assert_true(cui_settings_can_change(CUI_NEWVM_NAME, "poweredOn"));
   g_assert_true(cui_settings_can_change(CUI_NEWVM_VNC_ENABLED, "paused"));
   g_assert_false(cui_settings_can_change(CUI_NEWVM_LOCATION, "poweredOff"));

   /* A suspended VM keeps its hardware; its name can change. */
   char *text = g_strdup_printf("%scheckpoint.vmState = \"Web Server.vmss\"\n", vmware_vmx);
   char *vmx = make_vm(text, NULL);
   g_free(text);
   cui_settings *s = load(vmx);
   bool up = true;
   char *st = cui_settings_power_state(s, &up);
   g_assert_cmpstr(st, ==, "suspended");
   g_assert_false(up);
   g_free(st);
   cui_newvm *m = cui_settings_model(s);
   cui_newvm_set(m, CUI_NEWVM_MEMORY, "1024");
   cui_newvm_set(m, CUI_NEWVM_MONITOR, "software");
   save_fails(s, "Memory, Monitor mode cannot be changed while the virtual machine is "
                 "suspended");
   cui_settings_revert(s);
   cui_newvm_set(m, CUI_NEWVM_NAME, "renamed while asleep");
   save_ok(s);
   cui_settings_free(s);
   g_free(vmx);

   vmx = make_vm(vmware_vmx, NULL);
   s = load(vmx);
   st = cui_settings_power_state(s, &up);
   g_assert_cmpstr(st, ==, "poweredOff");
   g_free(st);
   cui_settings_free(s);
   g_free(vmx);
}

static void
test_failed_write_keeps_file(void)
{
   char *vmx = make_vm(vmware_vmx, NULL);
   char *before = tu_read(vmx);
   cui_settings *s = load(vmx);
   cui_newvm *m = cui_settings_model(s);
   cui_newvm_set(m, CUI_NEWVM_MEMORY, "1024");
   char *err = NULL;
   tu_fsize_limit(64);
   int r = cui_settings_save(s, NULL, &err);
   tu_fsize_restore();
   g_assert_cmpint(r, ==, -1);
   tu_assert_contains(err, "cannot write");
   g_free(err);
   char *after = tu_read(vmx);
   g_assert_cmpstr(after, ==, before);
   g_free(after);
   g_assert_true(cui_settings_changed(s, CUI_NEWVM_MEMORY));
   /* No temporary file left beside it. */
   char *dir = g_path_get_dirname(vmx);
   GDir *d = g_dir_open(dir, 0, NULL);
   const char *n;
   while ((n = g_dir_read_name(d))) {
      g_assert_cmpstr(n, ==, "Web Server.vmx");
   }
   g_dir_close(d);
   g_free(dir);
   if (tu_permissions_apply()) {
      char *vdir = g_path_get_dirname(vmx);
      chmod(vdir, 0555);
      err = NULL;
      g_assert_cmpint(cui_settings_save(s, NULL, &err), ==, -1);
      tu_assert_contains(err, "cannot create a temporary file");
      g_free(err);
      chmod(vdir, 0755);
      g_free(vdir);
      after = tu_read(vmx);
      g_assert_cmpstr(after, ==, before);
      g_free(after);
   }
   save_ok(s);
   cui_settings_free(s);
   g_free(before);
   g_free(vmx);
}

static void
test_busy_vm(void)
{
   /* Something holds the VM's lock (a vmx starting up) but serves no
    * VMDB: the save waits a little, then says so. */
   char *vmx = make_vm(vmware_vmx, NULL);
   char *err = NULL;
   char *lock = vmws_runtime_path(vmx, ".lock", &err);
   g_assert_nonnull(lock);
   int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
   g_assert_cmpint(fd, >=, 0);
   g_assert_cmpint(flock(fd, LOCK_EX | LOCK_NB), ==, 0);
   cui_settings *s = load(vmx);
   cui_newvm_set(cui_settings_model(s), CUI_NEWVM_MEMORY, "1024");
   save_fails(s, "is in use: its vmx is starting or stopping");
   close(fd);
   save_ok(s);
   cui_settings_free(s);
   g_free(lock);
   g_free(vmx);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   tu_init("cui-settings");
   g_test_add_func("/cui/settings/load", test_load);
   g_test_add_func("/cui/settings/round-trip", test_round_trip_keeps_lines);
   g_test_add_func("/cui/settings/invalid-change", test_invalid_change_refused);
   g_test_add_func("/cui/settings/media", test_media);
   g_test_add_func("/cui/settings/vnc-password", test_vnc_password_private);
   g_test_add_func("/cui/settings/power-rules", test_power_rules);
   g_test_add_func("/cui/settings/failed-write", test_failed_write_keeps_file);
   g_test_add_func("/cui/settings/busy", test_busy_vm);
   return g_test_run();
}
