/*
 * cui/tests/test-newvm.c - the new-VM model: each field's checks and
 * messages, host limits, and writing the VM (atomically, never over an
 * existing one, nothing left behind on failure).
 */
#include "cui/inventory.h"
#include "cui/newvm.h"
#include "vmx/config.h"

#include "testutil.h"

/* A model for a host with 4 CPUs and 8 GiB, making VMs under a folder of
 * its own. */
static cui_newvm *
model(char **loc_out)
{
   cui_newvm *m = cui_newvm_new();
   cui_newvm_set_host(m, 4, 8192);
   char *loc = tu_dir("loc");
   cui_newvm_set(m, CUI_NEWVM_LOCATION, loc);
   cui_newvm_set(m, CUI_NEWVM_NAME, "vm1");
   cui_newvm_set(m, CUI_NEWVM_MEMORY, "256");
   if (loc_out) {
      *loc_out = loc;
   } else {
      g_free(loc);
   }
   return m;
}

/* f set to value must give severity sev with a message containing want
 * (and starting with the field's label). */
static void
expect(cui_newvm *m, cui_newvm_field f, const char *value, cui_newvm_severity sev,
       const char *want)
{
   if (value) {
      cui_newvm_set(m, f, value);
   }
   char *msg = NULL;
   cui_newvm_severity got = cui_newvm_check(m, f, &msg);
   if (got != sev || (want && !msg) || (msg && want && !strstr(msg, want))) {
      g_error("%s = \"%s\": expected severity %d with \"%s\", got %d: \"%s\"",
              cui_newvm_field_id(f), cui_newvm_get(m, f), sev, want ? want : "",
              got, msg ? msg : "(none)");
   }
   if (msg) {
      char *label = g_strdup_printf("%s: ", cui_newvm_field_label(f));
      g_assert_true(g_str_has_prefix(msg, label));
      g_free(label);
   }
   g_assert_true(sev == CUI_NEWVM_OK ? msg == NULL : msg != NULL);
   g_free(msg);
}

static void
test_tables(void)
{
   size_t n = 0;
   const cui_newvm_guest_os *t = cui_newvm_guest_os_list(&n);
   g_assert_cmpuint(n, >=, 5);
   const char *must[] = { "other-64", "debian12-64", "ubuntu-64", "other5xlinux-64",
                          "windows9-64" };
   for (size_t i = 0; i < G_N_ELEMENTS(must); i++) {
      const cui_newvm_guest_os *g = cui_newvm_guest_os_find(must[i]);
      g_assert_nonnull(g);
      g_assert_cmpstr(g->id, ==, must[i]);
      g_assert_true(g->name && *g->name);
      g_assert_cmpuint(g->memory_mb % 4, ==, 0);
   }
   for (size_t i = 0; i < n; i++) {
      char *low = g_ascii_strdown(t[i].id, -1);
      g_assert_cmpstr(low, ==, t[i].id);
      g_free(low);
      for (size_t j = i + 1; j < n; j++) {
         g_assert_cmpstr(t[i].id, !=, t[j].id);
      }
   }
   g_assert_cmpstr(cui_newvm_guest_os_find("Debian12-64")->name, ==, "Debian 12.x 64-bit");
   g_assert_cmpstr(cui_newvm_guest_os_find("windows9-64")->name, ==, "Windows 10 x64");
   g_assert_null(cui_newvm_guest_os_find("beos"));
   g_assert_null(cui_newvm_guest_os_find(NULL));
   for (int f = 0; f < CUI_NEWVM_N_FIELDS; f++) {
      cui_newvm_field back;
      g_assert_true(cui_newvm_field_from_id(cui_newvm_field_id((cui_newvm_field)f), &back));
      g_assert_cmpint(back, ==, f);
   }
   cui_newvm_field x;
   g_assert_false(cui_newvm_field_from_id("nope", &x));
   g_assert_cmpstr(cui_newvm_field_label(CUI_NEWVM_MEMORY), ==, "Memory");
}

static void
test_defaults(void)
{
   cui_newvm *m = cui_newvm_new();
   cui_newvm_set_host(m, 8, 16384);
   char *home_vmware = g_build_filename(g_get_home_dir(), "vmware", NULL);
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_LOCATION), ==, home_vmware);
   g_free(home_vmware);
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_NAME), ==, "");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_GUEST_OS), ==, "other-64");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_CPUS), ==, "1");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_ENTRY), ==, "auto");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_DISK_BUS), ==, "scsi");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_VNC_PORT), ==, "5900");
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_MONITOR), ==, "automatic");
   g_assert_cmpstr(cui_newvm_get(m, 99), ==, "");
   /* Only the name is missing. */
   char *loc = tu_dir("defaults");
   cui_newvm_set(m, CUI_NEWVM_LOCATION, loc);
   GPtrArray *issues = cui_newvm_check_all(m);
   g_assert_cmpuint(issues->len, ==, 1);
   cui_newvm_issue *is = g_ptr_array_index(issues, 0);
   g_assert_cmpint(is->field, ==, CUI_NEWVM_NAME);
   g_assert_cmpint(is->severity, ==, CUI_NEWVM_ERROR);
   g_assert_cmpstr(is->message, ==, "Name: enter a name for the virtual machine");
   g_ptr_array_unref(issues);
   g_assert_false(cui_newvm_valid(m));
   cui_newvm_set(m, CUI_NEWVM_NAME, "x");
   g_assert_true(cui_newvm_valid(m));
   /* Guest defaults follow the guest, capped at half the host. */
   cui_newvm_set(m, CUI_NEWVM_GUEST_OS, "ubuntu-64");
   cui_newvm_apply_guest_defaults(m);
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_MEMORY), ==, "4096");
   cui_newvm_set_host(m, 8, 2000);
   cui_newvm_apply_guest_defaults(m);
   g_assert_cmpstr(cui_newvm_get(m, CUI_NEWVM_MEMORY), ==, "1000");
   g_assert_cmpuint(cui_newvm_max_cpus(m), ==, 8);
   g_assert_cmpuint(cui_newvm_max_memory_mb(m), ==, 2000);
   /* Paths. */
   char *want = g_build_filename(loc, "x", "x.vmx", NULL);
   char *p = cui_newvm_vmx_path(m);
   g_assert_cmpstr(p, ==, want);
   g_free(p);
   g_free(want);
   cui_newvm_free(m);
   g_free(loc);
}

static void
test_name(void)
{
   char *loc = NULL;
   cui_newvm *m = model(&loc);
   const cui_newvm_field f = CUI_NEWVM_NAME;
   expect(m, f, "Debian 12 (test)", CUI_NEWVM_OK, NULL);
   expect(m, f, "Ünïcode ✓", CUI_NEWVM_OK, NULL);
   expect(m, f, "", CUI_NEWVM_ERROR, "Name: enter a name");
   expect(m, f, "a/b", CUI_NEWVM_ERROR, "must not contain '/'");
   expect(m, f, ".", CUI_NEWVM_ERROR, "'.' cannot name a folder");
   expect(m, f, "..", CUI_NEWVM_ERROR, "cannot name a folder");
   expect(m, f, " lead", CUI_NEWVM_ERROR, "must not start or end with a space");
   expect(m, f, "trail ", CUI_NEWVM_ERROR, "must not start or end with a space");
   expect(m, f, "two\nlines", CUI_NEWVM_ERROR, "control characters");
   expect(m, f, "bad\xff", CUI_NEWVM_ERROR, "not valid UTF-8");
   char *long_name = g_strnfill(252, 'n');
   expect(m, f, long_name, CUI_NEWVM_ERROR, "longer than 251 bytes");
   long_name[251] = '\0';
   expect(m, f, long_name, CUI_NEWVM_OK, NULL);
   g_free(long_name);
   /* The VM's folder must not exist, unless it is empty. */
   char *taken = g_build_filename(loc, "taken", NULL);
   g_assert_cmpint(g_mkdir(taken, 0755), ==, 0);
   expect(m, f, "taken", CUI_NEWVM_OK, NULL);
   char *inside = g_build_filename(taken, "file", NULL);
   tu_write(inside, "x");
   expect(m, f, "taken", CUI_NEWVM_ERROR, "taken already exists; choose another name");
   char *file = g_build_filename(loc, "plainfile", NULL);
   tu_write(file, "x");
   expect(m, f, "plainfile", CUI_NEWVM_ERROR, "already exists");
   g_free(file);
   g_free(inside);
   g_free(taken);
   cui_newvm_free(m);
   g_free(loc);
}

static void
test_location(void)
{
   char *loc = NULL;
   cui_newvm *m = model(&loc);
   const cui_newvm_field f = CUI_NEWVM_LOCATION;
   expect(m, f, NULL, CUI_NEWVM_OK, NULL);
   expect(m, f, "", CUI_NEWVM_ERROR, "Location: choose the folder");
   expect(m, f, "relative/dir", CUI_NEWVM_ERROR, "'relative/dir' is not an absolute path");
   char *file = g_build_filename(loc, "afile", NULL);
   tu_write(file, "x");
   expect(m, f, file, CUI_NEWVM_ERROR, "is not a folder");
   char *below = g_build_filename(file, "sub", NULL);
   expect(m, f, below, CUI_NEWVM_ERROR, "Not a directory");
   /* Folders that do not exist yet are made. */
   char *deep = g_build_filename(loc, "new", "deeper", NULL);
   expect(m, f, deep, CUI_NEWVM_OK, NULL);
   expect(m, f, "~", CUI_NEWVM_OK, NULL);
   if (tu_permissions_apply()) {
      char *ro = g_build_filename(loc, "ro", NULL);
      g_assert_cmpint(g_mkdir(ro, 0555), ==, 0);
      expect(m, f, ro, CUI_NEWVM_ERROR, "cannot create files in");
      g_free(ro);
   }
   g_free(deep);
   g_free(below);
   g_free(file);
   cui_newvm_free(m);
   g_free(loc);
}

static void
test_guest_cpus_memory(void)
{
   cui_newvm *m = model(NULL);
   expect(m, CUI_NEWVM_GUEST_OS, "debian12-64", CUI_NEWVM_OK, NULL);
   expect(m, CUI_NEWVM_GUEST_OS, "WINDOWS9-64", CUI_NEWVM_OK, NULL);
   expect(m, CUI_NEWVM_GUEST_OS, "", CUI_NEWVM_ERROR, "Guest OS: choose");
   expect(m, CUI_NEWVM_GUEST_OS, "beos", CUI_NEWVM_ERROR,
          "'beos' is not a guest type this version offers");

   const cui_newvm_field c = CUI_NEWVM_CPUS;
   expect(m, c, "1", CUI_NEWVM_OK, NULL);
   expect(m, c, "4", CUI_NEWVM_OK, NULL);
   expect(m, c, " 2 ", CUI_NEWVM_OK, NULL);
   expect(m, c, "0", CUI_NEWVM_ERROR, "Processors: at least 1");
   expect(m, c, "-3", CUI_NEWVM_ERROR, "at least 1");
   expect(m, c, "5", CUI_NEWVM_ERROR, "Processors: at most 4 (this host has 4)");
   expect(m, c, "two", CUI_NEWVM_ERROR, "'two' is not a whole number");
   expect(m, c, "2.5", CUI_NEWVM_ERROR, "is not a whole number");
   expect(m, c, "", CUI_NEWVM_ERROR, "is not a whole number");
   cui_newvm_set_host(m, 128, 8192);
   expect(m, c, "32", CUI_NEWVM_OK, NULL);
   expect(m, c, "33", CUI_NEWVM_ERROR, "at most 32 (the limit for a virtual machine)");

   const cui_newvm_field mem = CUI_NEWVM_MEMORY;
   expect(m, mem, "4", CUI_NEWVM_OK, NULL);
   expect(m, mem, "4096", CUI_NEWVM_OK, NULL); /* exactly half */
   expect(m, mem, "4100", CUI_NEWVM_WARNING,
          "Memory: 4100 MB is more than half of this host's 8192 MB");
   expect(m, mem, "8192", CUI_NEWVM_WARNING, "more than half");
   expect(m, mem, "8196", CUI_NEWVM_ERROR, "Memory: at most 8192 MB (this host has 8192 MB)");
   expect(m, mem, "0", CUI_NEWVM_ERROR, "Memory: at least 4 MB");
   expect(m, mem, "6", CUI_NEWVM_ERROR, "Memory: must be a multiple of 4 MB");
   expect(m, mem, "1022", CUI_NEWVM_ERROR, "multiple of 4 MB");
   expect(m, mem, "lots", CUI_NEWVM_ERROR, "'lots' is not a whole number of MB");
   expect(m, mem, "99999999999999999999", CUI_NEWVM_ERROR, "is not a whole number");
   cui_newvm_set_host(m, 4, 256 * 1024);
   expect(m, mem, "65536", CUI_NEWVM_OK, NULL);
   expect(m, mem, "65540", CUI_NEWVM_ERROR, "at most 65536 MB (the limit for a virtual machine)");
   cui_newvm_free(m);
}

/* Test images. */
static char *
make_bzimage(const char *dir)
{
   guint8 img[1024] = { 0 };
   memcpy(img + 0x202, "HdrS", 4);
   char *p = g_build_filename(dir, "bzImage", NULL);
   tu_write_bytes(p, img, sizeof img);
   return p;
}

static char *
make_iso(const char *dir, bool valid)
{
   gsize n = 17 * 2048;
   guint8 *img = g_malloc0(n);
   if (valid) {
      img[16 * 2048] = 1;
      memcpy(img + 16 * 2048 + 1, "CD001", 5);
   }
   char *p = g_build_filename(dir, valid ? "debian.iso" : "junk.iso", NULL);
   tu_write_bytes(p, img, n);
   g_free(img);
   return p;
}

static char *
make_vmdk(const char *dir, const char *name, const char *text)
{
   char *p = g_build_filename(dir, name, NULL);
   tu_write(p, text);
   return p;
}

static void
test_media(void)
{
   char *loc = NULL;
   cui_newvm *m = model(&loc);
   char *media = tu_dir("media");
   char *kernel = make_bzimage(media);
   char *iso = make_iso(media, true);
   char *junk_iso = make_iso(media, false);
   char *initrd = g_build_filename(media, "initrd.img", NULL);
   tu_write(initrd, "070701...");
   char *nothere = g_build_filename(media, "nothere", NULL);

   const cui_newvm_field i = CUI_NEWVM_ISO;
   expect(m, i, "", CUI_NEWVM_OK, NULL);
   expect(m, i, iso, CUI_NEWVM_WARNING,
          "CD/DVD image: the image is recorded in the configuration (ide1:0), but this version "
          "has no CD/DVD drive yet");
   expect(m, i, junk_iso, CUI_NEWVM_WARNING, "does not look like an ISO 9660 or UDF image; the "
          "image is recorded");
   expect(m, i, nothere, CUI_NEWVM_ERROR, "No such file or directory");
   expect(m, i, media, CUI_NEWVM_ERROR, "is a folder, not a file");
   expect(m, i, "debian.iso", CUI_NEWVM_ERROR, "'debian.iso' is not an absolute path");
   expect(m, i, "/dev/null", CUI_NEWVM_ERROR, "is not a regular file");
   cui_newvm_set(m, i, "");

   const cui_newvm_field k = CUI_NEWVM_KERNEL;
   expect(m, CUI_NEWVM_INITRD, initrd, CUI_NEWVM_ERROR, "Initrd: an initrd needs a kernel");
   expect(m, CUI_NEWVM_CMDLINE, "console=ttyS0", CUI_NEWVM_ERROR,
          "Kernel command line: a command line needs a kernel");
   expect(m, CUI_NEWVM_ENTRY, "pvh", CUI_NEWVM_ERROR, "Kernel entry: the pvh entry needs a kernel");
   expect(m, CUI_NEWVM_ENTRY, "auto", CUI_NEWVM_OK, NULL);
   expect(m, k, kernel, CUI_NEWVM_OK, NULL);
   expect(m, CUI_NEWVM_INITRD, NULL, CUI_NEWVM_OK, NULL);
   expect(m, CUI_NEWVM_CMDLINE, NULL, CUI_NEWVM_OK, NULL);
   expect(m, CUI_NEWVM_ENTRY, "PVH", CUI_NEWVM_OK, NULL);
   expect(m, CUI_NEWVM_ENTRY, "uefi", CUI_NEWVM_ERROR,
          "'uefi' is not one of auto, linux, pvh, multiboot");
   expect(m, CUI_NEWVM_CMDLINE, "a\nb", CUI_NEWVM_ERROR, "control characters");
   char *huge = g_strnfill(70000, 'x');
   expect(m, CUI_NEWVM_CMDLINE, huge, CUI_NEWVM_ERROR, "longer than 65534 bytes");
   g_free(huge);
   expect(m, CUI_NEWVM_INITRD, nothere, CUI_NEWVM_ERROR, "Initrd: ");
   /* Other kernel formats; anything else is refused. */
   guint8 elf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
   char *elfp = g_build_filename(media, "vmlinux", NULL);
   tu_write_bytes(elfp, elf, sizeof elf);
   expect(m, k, elfp, CUI_NEWVM_OK, NULL);
   guint32 mb[16] = { 0 };
   mb[5] = GUINT32_TO_LE(0x1BADB002u);
   mb[6] = GUINT32_TO_LE(0x00010003u);
   mb[7] = GUINT32_TO_LE((guint32)-(0x1BADB002u + 0x00010003u));
   char *mbp = g_build_filename(media, "kernel.mb", NULL);
   tu_write_bytes(mbp, mb, sizeof mb);
   expect(m, k, mbp, CUI_NEWVM_OK, NULL);
   mb[7] = 0; /* bad checksum */
   tu_write_bytes(mbp, mb, sizeof mb);
   expect(m, k, mbp, CUI_NEWVM_ERROR,
          "is not a Linux bzImage, an ELF kernel or a multiboot image");
   expect(m, k, initrd, CUI_NEWVM_ERROR, "is not a Linux bzImage");

   const cui_newvm_field d = CUI_NEWVM_DISK;
   char *desc = make_vmdk(media, "disk.vmdk",
                          "# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicSparse\"\n");
   char *sparse = make_vmdk(media, "sparse.VMDK", "KDMV\x01\0\0\0");
   char *junk = make_vmdk(media, "junk.vmdk", "hello");
   char *img = make_vmdk(media, "disk.img", "# Disk DescriptorFile\n");
   expect(m, d, desc, CUI_NEWVM_WARNING, "Hard disk: the disk is recorded in the configuration "
          "(scsi0:0), but this version has no disk controller yet");
   expect(m, CUI_NEWVM_DISK_BUS, "SATA", CUI_NEWVM_OK, NULL);
   expect(m, d, sparse, CUI_NEWVM_WARNING, "(sata0:0)");
   expect(m, d, junk, CUI_NEWVM_ERROR, "is not a VMware virtual disk (no VMDK header");
   expect(m, d, img, CUI_NEWVM_ERROR, "is not a VMware virtual disk (.vmdk) file");
   expect(m, d, nothere, CUI_NEWVM_ERROR, "is not a VMware virtual disk (.vmdk) file");
   char *gone = g_build_filename(media, "gone.vmdk", NULL);
   expect(m, d, gone, CUI_NEWVM_ERROR, "No such file");
   g_free(gone);
   expect(m, CUI_NEWVM_DISK_BUS, "ide", CUI_NEWVM_ERROR, "Disk bus: 'ide' is not scsi or sata");
   if (tu_permissions_apply()) {
      chmod(desc, 0444);
      expect(m, d, desc, CUI_NEWVM_ERROR, "is read-only");
      chmod(desc, 0644);
   }
   cui_newvm_free(m);
   g_free(desc);
   g_free(sparse);
   g_free(junk);
   g_free(img);
   g_free(elfp);
   g_free(mbp);
   g_free(nothere);
   g_free(initrd);
   g_free(junk_iso);
   g_free(iso);
   g_free(kernel);
   g_free(media);
   g_free(loc);
}

static void
test_vnc_monitor(void)
{
   cui_newvm *m = model(NULL);
   expect(m, CUI_NEWVM_VNC_ENABLED, "maybe", CUI_NEWVM_ERROR, "VNC: 'maybe' is not true or false");
   expect(m, CUI_NEWVM_VNC_ENABLED, "TRUE", CUI_NEWVM_OK, NULL);
   expect(m, CUI_NEWVM_VNC_PASSWORD, "", CUI_NEWVM_WARNING,
          "VNC password: without a password, anyone who can reach the VNC port");
   expect(m, CUI_NEWVM_VNC_PASSWORD, "secret", CUI_NEWVM_OK, NULL);
   expect(m, CUI_NEWVM_VNC_PASSWORD, "123456789", CUI_NEWVM_WARNING,
          "VNC uses only the first 8 characters");
   expect(m, CUI_NEWVM_VNC_PASSWORD, "tab\there", CUI_NEWVM_ERROR, "control characters");
   expect(m, CUI_NEWVM_VNC_PORT, "5901", CUI_NEWVM_OK, NULL);
   expect(m, CUI_NEWVM_VNC_PORT, "0", CUI_NEWVM_OK, NULL);
   expect(m, CUI_NEWVM_VNC_PORT, "80", CUI_NEWVM_ERROR,
          "VNC port: ports below 1024 need administrator rights");
   expect(m, CUI_NEWVM_VNC_PORT, "70000", CUI_NEWVM_ERROR, "70000 is not a TCP port (0-65535)");
   expect(m, CUI_NEWVM_VNC_PORT, "vnc", CUI_NEWVM_ERROR, "'vnc' is not a port number");
   cui_newvm_set(m, CUI_NEWVM_VNC_ENABLED, "false");
   expect(m, CUI_NEWVM_VNC_PASSWORD, "", CUI_NEWVM_OK, NULL);

   expect(m, CUI_NEWVM_MONITOR, "Software", CUI_NEWVM_OK, NULL);
   expect(m, CUI_NEWVM_MONITOR, "automatic", CUI_NEWVM_OK, NULL);
   expect(m, CUI_NEWVM_MONITOR, "turbo", CUI_NEWVM_ERROR,
          "Monitor mode: 'turbo' is not automatic, hardware or software");
   cui_newvm_set(m, CUI_NEWVM_MONITOR, "hardware");
   if (access("/dev/kvm", R_OK | W_OK) == 0) {
      expect(m, CUI_NEWVM_MONITOR, NULL, CUI_NEWVM_OK, NULL);
   } else {
      expect(m, CUI_NEWVM_MONITOR, NULL, CUI_NEWVM_WARNING, "hardware needs /dev/kvm");
   }
   cui_newvm_free(m);
}

static char *
vmx_of(const char *loc, const char *name)
{
   char *file = g_strdup_printf("%s.vmx", name);
   char *p = g_build_filename(loc, name, file, NULL);
   g_free(file);
   return p;
}

static void
test_write(void)
{
   char *loc = NULL;
   cui_newvm *m = model(&loc);
   char *media = tu_dir("wmedia");
   char *kernel = make_bzimage(media);
   char *iso = make_iso(media, true);
   char *disk = make_vmdk(media, "d.vmdk", "# Disk DescriptorFile\n");
   cui_newvm_set(m, CUI_NEWVM_NAME, "Debian \"test\"");
   cui_newvm_set(m, CUI_NEWVM_GUEST_OS, "Debian12-64");
   cui_newvm_set(m, CUI_NEWVM_CPUS, " 2");
   cui_newvm_set(m, CUI_NEWVM_MEMORY, "512");
   cui_newvm_set(m, CUI_NEWVM_ISO, iso);
   cui_newvm_set(m, CUI_NEWVM_KERNEL, kernel);
   cui_newvm_set(m, CUI_NEWVM_CMDLINE, "console=ttyS0 root=/dev/sda1 quiet");
   cui_newvm_set(m, CUI_NEWVM_ENTRY, "Linux");
   cui_newvm_set(m, CUI_NEWVM_DISK, disk);
   cui_newvm_set(m, CUI_NEWVM_MONITOR, "SOFTWARE");
   char *wlib = tu_dir("wlib");
   char *ip = g_build_filename(wlib, "inventory", NULL);
   g_free(wlib);
   cui_inventory *inv = cui_inventory_load(ip);
   char *err = NULL, *vmx = NULL;
   g_assert_cmpint(cui_newvm_write(m, inv, &vmx, &err), ==, 0);
   g_assert_null(err);
   char *want = vmx_of(loc, "Debian \"test\"");
   g_assert_cmpstr(vmx, ==, want);
   char *text = tu_read(vmx);
   g_test_message("%s", text);
   g_assert_true(g_str_has_prefix(text, ".encoding = \"UTF-8\"\n"));
   vmxcfg *cfg = vmxcfg_load(vmx, &err);
   g_assert_nonnull(cfg);
   static const char *const kv[][2] = {
      { "config.version", "8" },
      { "virtualHW.version", "21" },
      { "displayName", "Debian \"test\"" },
      { "guestOS", "debian12-64" },
      { "numvcpus", "2" },
      { "memsize", "512" },
      { "monitor.virtual_exec", "software" },
      { "serial0.present", "TRUE" },
      { "serial0.fileType", "file" },
      { "serial0.fileName", "serial0.log" },
      { "ide1:0.present", "TRUE" },
      { "ide1:0.deviceType", "cdrom-image" },
      { "ide1:0.startConnected", "TRUE" },
      { "linux.cmdline", "console=ttyS0 root=/dev/sda1 quiet" },
      { "linux.entry", "linux" },
      { "scsi0.present", "TRUE" },
      { "scsi0.virtualDev", "lsilogic" },
      { "scsi0:0.present", "TRUE" },
   };
   for (size_t i = 0; i < G_N_ELEMENTS(kv); i++) {
      g_assert_cmpstr(vmxcfg_get(cfg, kv[i][0]), ==, kv[i][1]);
   }
   g_assert_cmpstr(vmxcfg_get(cfg, "ide1:0.fileName"), ==, iso);
   g_assert_cmpstr(vmxcfg_get(cfg, "linux.kernel"), ==, kernel);
   g_assert_cmpstr(vmxcfg_get(cfg, "scsi0:0.fileName"), ==, disk);
   g_assert_null(vmxcfg_get(cfg, "linux.initrd"));
   g_assert_null(vmxcfg_get(cfg, "RemoteDisplay.vnc.enabled"));
   g_assert_null(vmxcfg_get(cfg, "sata0:0.fileName"));
   vmxcfg_free(cfg);
   g_free(text);
   struct stat st;
   g_assert_cmpint(stat(vmx, &st), ==, 0);
   g_assert_cmpint(st.st_mode & 0777, ==, 0644);
   /* In the library, and persisted there. */
   const cui_inventory_entry *e = cui_inventory_find(inv, vmx);
   g_assert_nonnull(e);
   g_assert_cmpstr(e->name, ==, "Debian \"test\"");
   cui_inventory_free(inv);
   inv = cui_inventory_load(ip);
   g_assert_nonnull(cui_inventory_find(inv, vmx));
   /* Writing the same VM again is refused, and changes nothing. */
   char *before = tu_read(vmx);
   g_assert_cmpint(cui_newvm_write(m, inv, NULL, &err), ==, -1);
   tu_assert_contains(err, "already exists");
   g_clear_pointer(&err, g_free);
   char *after = tu_read(vmx);
   g_assert_cmpstr(before, ==, after);
   g_assert_cmpuint(cui_inventory_count(inv), ==, 1);
   g_free(before);
   g_free(after);

   /* VNC with a password, on SATA, no inventory: a private file. */
   cui_newvm_set(m, CUI_NEWVM_NAME, "vnc");
   cui_newvm_set(m, CUI_NEWVM_ISO, "");
   cui_newvm_set(m, CUI_NEWVM_KERNEL, "");
   cui_newvm_set(m, CUI_NEWVM_CMDLINE, "");
   cui_newvm_set(m, CUI_NEWVM_ENTRY, "auto");
   cui_newvm_set(m, CUI_NEWVM_DISK_BUS, "sata");
   cui_newvm_set(m, CUI_NEWVM_VNC_ENABLED, "yes");
   cui_newvm_set(m, CUI_NEWVM_VNC_PORT, "5905");
   cui_newvm_set(m, CUI_NEWVM_VNC_PASSWORD, "pw|#\"");
   g_free(vmx);
   vmx = NULL;
   g_assert_cmpint(cui_newvm_write(m, NULL, &vmx, &err), ==, 0);
   g_assert_cmpint(stat(vmx, &st), ==, 0);
   g_assert_cmpint(st.st_mode & 0777, ==, 0600);
   cfg = vmxcfg_load(vmx, &err);
   g_assert_cmpstr(vmxcfg_get(cfg, "RemoteDisplay.vnc.enabled"), ==, "TRUE");
   g_assert_cmpstr(vmxcfg_get(cfg, "RemoteDisplay.vnc.port"), ==, "5905");
   g_assert_cmpstr(vmxcfg_get(cfg, "RemoteDisplay.vnc.password"), ==, "pw|#\"");
   g_assert_cmpstr(vmxcfg_get(cfg, "sata0:0.fileName"), ==, disk);
   g_assert_cmpstr(vmxcfg_get(cfg, "sata0.present"), ==, "TRUE");
   g_assert_null(vmxcfg_get(cfg, "scsi0.present"));
   g_assert_null(vmxcfg_get(cfg, "ide1:0.present"));
   g_assert_null(vmxcfg_get(cfg, "linux.kernel"));
   g_assert_null(vmxcfg_get(cfg, "linux.entry"));
   vmxcfg_free(cfg);
   cui_inventory_free(inv);
   cui_newvm_free(m);
   g_free(vmx);
   g_free(want);
   g_free(ip);
   g_free(disk);
   g_free(iso);
   g_free(kernel);
   g_free(media);
   g_free(loc);
}

static void
test_write_refuses_errors(void)
{
   char *loc = NULL;
   cui_newvm *m = model(&loc);
   cui_newvm_set(m, CUI_NEWVM_NAME, "bad");
   cui_newvm_set(m, CUI_NEWVM_MEMORY, "6");
   cui_newvm_set(m, CUI_NEWVM_CPUS, "99");
   cui_newvm_set(m, CUI_NEWVM_VNC_PASSWORD, "123456789"); /* only a warning */
   char *err = NULL;
   g_assert_cmpint(cui_newvm_write(m, NULL, NULL, &err), ==, -1);
   g_assert_cmpstr(err, ==, "Processors: at most 4 (this host has 4)\n"
                            "Memory: must be a multiple of 4 MB");
   g_free(err);
   char *dir = g_build_filename(loc, "bad", NULL);
   g_assert_false(tu_exists(dir));
   g_free(dir);
   cui_newvm_free(m);
   g_free(loc);
}

static void
test_write_cleans_up(void)
{
   char *loc = NULL;
   cui_newvm *m = model(&loc);
   /* A location that does not exist yet, and a library that cannot be
    * saved: everything made is removed again. */
   char *deep = g_build_filename(loc, "a", "b", NULL);
   cui_newvm_set(m, CUI_NEWVM_LOCATION, deep);
   char *ip = tu_dir("notafile"); /* a folder: the library is read-only */
   cui_inventory *inv = cui_inventory_load(ip);
   char *err = NULL;
   g_assert_cmpint(cui_newvm_write(m, inv, NULL, &err), ==, -1);
   tu_assert_contains(err, "could not be added to the library");
   g_clear_pointer(&err, g_free);
   char *a = g_build_filename(loc, "a", NULL);
   g_assert_false(tu_exists(a));
   g_assert_true(tu_exists(loc));
   cui_inventory_free(inv);

   /* The .vmx cannot be written (full disk): the folder goes again, and no
    * temporary file is left in an empty folder that was there before. */
   cui_newvm_set(m, CUI_NEWVM_LOCATION, loc);
   tu_fsize_limit(16);
   int r = cui_newvm_write(m, NULL, NULL, &err);
   tu_fsize_restore();
   g_assert_cmpint(r, ==, -1);
   tu_assert_contains(err, "cannot write");
   g_clear_pointer(&err, g_free);
   char *dir = g_build_filename(loc, "vm1", NULL);
   g_assert_false(tu_exists(dir));
   g_assert_cmpint(g_mkdir(dir, 0755), ==, 0);
   tu_fsize_limit(16);
   r = cui_newvm_write(m, NULL, NULL, &err);
   tu_fsize_restore();
   g_assert_cmpint(r, ==, -1);
   g_clear_pointer(&err, g_free);
   g_assert_true(tu_exists(dir));
   GDir *d = g_dir_open(dir, 0, NULL);
   g_assert_null(g_dir_read_name(d));
   g_dir_close(d);
   /* And then it works, in that empty folder. */
   char *vmx = NULL;
   g_assert_cmpint(cui_newvm_write(m, NULL, &vmx, &err), ==, 0);
   char *want = vmx_of(loc, "vm1");
   g_assert_cmpstr(vmx, ==, want);
   g_free(want);
   g_free(vmx);
   g_free(dir);
   g_free(a);
   g_free(ip);
   g_free(deep);
   cui_newvm_free(m);
   g_free(loc);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   tu_init("cui-newvm");
   g_test_add_func("/cui/newvm/tables", test_tables);
   g_test_add_func("/cui/newvm/defaults", test_defaults);
   g_test_add_func("/cui/newvm/name", test_name);
   g_test_add_func("/cui/newvm/location", test_location);
   g_test_add_func("/cui/newvm/guest-cpus-memory", test_guest_cpus_memory);
   g_test_add_func("/cui/newvm/media", test_media);
   g_test_add_func("/cui/newvm/vnc-monitor", test_vnc_monitor);
   g_test_add_func("/cui/newvm/write", test_write);
   g_test_add_func("/cui/newvm/write-refuses-errors", test_write_refuses_errors);
   g_test_add_func("/cui/newvm/write-cleans-up", test_write_cleans_up);
   return g_test_run();
}
