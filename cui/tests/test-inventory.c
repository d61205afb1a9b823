/*
 * cui/tests/test-inventory.c - the VM library: persistence, damaged
 * files, VMware-style folders, missing VMs, duplicates, folders, order.
 */
#include "cui/inventory.h"
#include "vmx/config.h"

#include "testutil.h"

#include <stdlib.h>

/* A library file of its own for each case. */
static char *
inv_path(void)
{
   char *d = tu_dir("lib");
   char *p = g_build_filename(d, "vmws", "inventory", NULL);
   g_free(d);
   return p;
}

static guint
n_warnings(const cui_inventory *inv)
{
   return g_strv_length((char **)cui_inventory_warnings(inv));
}

static void
test_default_path(void)
{
   char *p = cui_inventory_default_path();
   char *want = g_build_filename(g_getenv("XDG_CONFIG_HOME"), "vmws", "inventory", NULL);
   g_assert_cmpstr(p, ==, want);
   g_free(want);
   g_free(p);
   /* A relative XDG_CONFIG_HOME is ignored, as the XDG spec says. */
   char *saved = g_strdup(g_getenv("XDG_CONFIG_HOME"));
   g_setenv("XDG_CONFIG_HOME", "relative/dir", TRUE);
   p = cui_inventory_default_path();
   g_assert_true(g_str_has_suffix(p, "/.config/vmws/inventory"));
   g_assert_true(g_path_is_absolute(p));
   g_free(p);
   g_setenv("XDG_CONFIG_HOME", saved, TRUE);
   g_free(saved);
}

static void
test_empty_and_default_location(void)
{
   cui_inventory *inv = cui_inventory_load(NULL);
   g_assert_cmpuint(cui_inventory_count(inv), ==, 0);
   g_assert_cmpuint(n_warnings(inv), ==, 0);
   g_assert_false(cui_inventory_read_only(inv));
   char *d = tu_dir("vms");
   char *a = tu_make_vm(d, "alpha", NULL);
   char *err = NULL;
   g_assert_nonnull(cui_inventory_add(inv, a, 0, &err));
   g_assert_null(err);
   /* Saved under $XDG_CONFIG_HOME/vmws/, private to the user. */
   char *file = g_build_filename(g_getenv("XDG_CONFIG_HOME"), "vmws", "inventory", NULL);
   g_assert_cmpstr(cui_inventory_path(inv), ==, file);
   struct stat st;
   g_assert_cmpint(stat(file, &st), ==, 0);
   g_assert_cmpint(st.st_mode & 0777, ==, 0600);
   cui_inventory_free(inv);
   unlink(file);
   g_free(file);
   g_free(a);
   g_free(d);
}

static void
test_add_persist_order(void)
{
   char *ip = inv_path();
   char *d = tu_dir("vms");
   char *a = tu_make_vm(d, "alpha", "guestOS = \"debian12-64\"\n");
   char *b = tu_make_vm(d, "beta", NULL);
   char *c = tu_make_vm(d, "gamma", NULL);
   cui_inventory *inv = cui_inventory_load(ip);
   char *err = NULL;
   const cui_inventory_entry *e = cui_inventory_add(inv, a, 0, &err);
   g_assert_null(err);
   g_assert_cmpstr(e->name, ==, "alpha");
   g_assert_cmpstr(e->guest_os, ==, "debian12-64");
   g_assert_false(e->missing);
   g_assert_null(e->problem);
   g_assert_cmpstr(e->power_state, ==, "poweredOff");
   unsigned ida = e->id;
   unsigned idb = cui_inventory_add(inv, b, 0, &err)->id;
   unsigned idc = cui_inventory_add(inv, c, 0, &err)->id;
   g_assert_null(err);
   /* gamma first, then alpha, beta. */
   g_assert_true(cui_inventory_move(inv, idc, 0, ida, &err));
   g_assert_cmpstr(cui_inventory_nth(inv, 0)->name, ==, "gamma");
   g_assert_cmpuint(cui_inventory_lookup(inv, idb)->id, ==, idb);
   cui_inventory_free(inv);

   inv = cui_inventory_load(ip);
   g_assert_cmpuint(n_warnings(inv), ==, 0);
   g_assert_cmpuint(cui_inventory_count(inv), ==, 3);
   g_assert_cmpstr(cui_inventory_nth(inv, 0)->name, ==, "gamma");
   g_assert_cmpstr(cui_inventory_nth(inv, 1)->name, ==, "alpha");
   g_assert_cmpstr(cui_inventory_nth(inv, 2)->name, ==, "beta");
   g_assert_cmpstr(cui_inventory_nth(inv, 1)->path, ==, a);
   g_assert_nonnull(cui_inventory_find(inv, b));
   /* Move to the end. */
   g_assert_true(cui_inventory_move(inv, cui_inventory_nth(inv, 0)->id, 0, 0, &err));
   g_assert_cmpstr(cui_inventory_nth(inv, 2)->name, ==, "gamma");
   /* Remove takes the entry out, not the files. */
   g_assert_true(cui_inventory_remove(inv, cui_inventory_nth(inv, 0)->id, &err));
   g_assert_cmpuint(cui_inventory_count(inv), ==, 2);
   g_assert_true(tu_exists(a));
   g_assert_false(cui_inventory_remove(inv, 9999, &err));
   tu_assert_contains(err, "no library entry");
   g_clear_pointer(&err, g_free);
   cui_inventory_free(inv);
   inv = cui_inventory_load(ip);
   g_assert_cmpuint(cui_inventory_count(inv), ==, 2);
   g_assert_null(cui_inventory_find(inv, a));
   cui_inventory_free(inv);
   g_free(a);
   g_free(b);
   g_free(c);
   g_free(d);
   g_free(ip);
}

static void
test_duplicates(void)
{
   char *ip = inv_path();
   char *d = tu_dir("vms");
   char *a = tu_make_vm(d, "alpha", NULL);
   cui_inventory *inv = cui_inventory_load(ip);
   char *err = NULL;
   g_assert_nonnull(cui_inventory_add(inv, a, 0, &err));
   /* The same file again, by another spelling and through a link. */
   char *other = g_strdup_printf("%s/alpha/../alpha/alpha.vmx", d);
   g_assert_null(cui_inventory_add(inv, other, 0, &err));
   tu_assert_contains(err, "already in the library as \"alpha\"");
   g_clear_pointer(&err, g_free);
   char *link = g_build_filename(d, "link.vmx", NULL);
   g_assert_cmpint(symlink(a, link), ==, 0);
   g_assert_null(cui_inventory_add(inv, link, 0, &err));
   tu_assert_contains(err, "already in the library");
   g_clear_pointer(&err, g_free);
   /* Opening it again selects the existing entry. */
   bool added = true;
   const cui_inventory_entry *e = cui_inventory_open(inv, link, &added, &err);
   g_assert_nonnull(e);
   g_assert_false(added);
   g_assert_cmpstr(e->path, ==, a);
   g_assert_cmpuint(cui_inventory_count(inv), ==, 1);
   cui_inventory_free(inv);
   g_free(link);
   g_free(other);
   g_free(a);
   g_free(d);
   g_free(ip);
}

static void
test_refuse_non_vmx(void)
{
   char *ip = inv_path();
   char *d = tu_dir("bad");
   cui_inventory *inv = cui_inventory_load(ip);
   char *err = NULL;
   char *p = g_build_filename(d, "nothere.vmx", NULL);
   g_assert_null(cui_inventory_add(inv, p, 0, &err));
   tu_assert_contains(err, "No such file");
   g_clear_pointer(&err, g_free);
   g_free(p);

   p = g_build_filename(d, "notes.txt", NULL);
   tu_write(p, "displayName = \"x\"\n");
   g_assert_null(cui_inventory_add(inv, p, 0, &err));
   tu_assert_contains(err, "is not a virtual machine configuration (.vmx) file");
   g_clear_pointer(&err, g_free);
   g_free(p);

   g_assert_null(cui_inventory_add(inv, d, 0, &err));
   tu_assert_contains(err, "is not a regular file");
   g_clear_pointer(&err, g_free);

   p = g_build_filename(d, "broken.vmx", NULL);
   tu_write(p, "displayName = \"ok\"\nthis line is broken\n");
   g_assert_null(cui_inventory_add(inv, p, 0, &err));
   tu_assert_contains(err, "broken.vmx:2:");
   g_clear_pointer(&err, g_free);
   g_free(p);

   if (tu_permissions_apply()) {
      p = g_build_filename(d, "secret.vmx", NULL);
      tu_write(p, "displayName = \"s\"\n");
      chmod(p, 0);
      g_assert_null(cui_inventory_add(inv, p, 0, &err));
      tu_assert_contains(err, "cannot be read");
      g_clear_pointer(&err, g_free);
      g_free(p);
   }
   g_assert_cmpuint(cui_inventory_count(inv), ==, 0);
   g_assert_false(tu_exists(ip)); /* nothing was saved */
   cui_inventory_free(inv);
   g_free(d);
   g_free(ip);
}

/* What VMware Workstation leaves in a VM's folder. */
static char *
make_vmware_folder(const char *parent, const char *name)
{
   char *dir = g_build_filename(parent, name, NULL);
   g_assert_cmpint(g_mkdir_with_parents(dir, 0755), ==, 0);
   char *p;
#define FILE_IN(suffix, text)                                   \
   p = g_strdup_printf("%s/%s%s", dir, name, suffix);           \
   tu_write(p, text);                                           \
   g_free(p)
   FILE_IN(".vmx", "#!/usr/bin/vmware\n"
                   ".encoding = \"UTF-8\"\n"
                   "config.version = \"8\"\n"
                   "virtualHW.version = \"19\"\n"
                   "pciBridge0.present = \"TRUE\"\n"
                   "vmci0.present = \"TRUE\"\n"
                   "numvcpus = \"2\"\n"
                   "memsize = \"2048\"\n"
                   "scsi0.virtualDev = \"lsilogic\"\n"
                   "scsi0.present = \"TRUE\"\n"
                   "scsi0:0.fileName = \"Web Server.vmdk\"\n"
                   "scsi0:0.present = \"TRUE\"\n"
                   "ethernet0.connectionType = \"nat\"\n"
                   "ethernet0.present = \"TRUE\"\n"
                   "displayName = \"Web server (VMware)\"\n"
                   "guestOS = \"debian11-64\"\n"
                   "nvram = \"Web Server.nvram\"\n"
                   "extendedConfigFile = \"Web Server.vmxf\"\n"
                   "uuid.bios = \"56 4d 12 34 56 78 9a bc-de f0 12 34 56 78 9a bc\"\n");
   FILE_IN(".vmdk", "# Disk DescriptorFile\nversion=1\nCID=fffffffe\nparentCID=ffffffff\n"
                    "createType=\"monolithicSparse\"\n");
   FILE_IN(".nvram", "\x01\x02 nvram bytes");
   FILE_IN(".vmsd", ".encoding = \"UTF-8\"\n");
   FILE_IN(".vmxf", "<?xml version=\"1.0\"?>\n<Foundry><VM><VMId type=\"string\">52 1</VMId>"
                    "</VM></Foundry>\n");
   FILE_IN("-s001.vmdk", "KDMV");
#undef FILE_IN
   p = g_build_filename(dir, "vmware.log", NULL);
   tu_write(p, "log\n");
   g_free(p);
   p = g_build_filename(dir, "vmware-0.log", NULL);
   tu_write(p, "old log\n");
   g_free(p);
   /* A running VMware VM's lock folder, and its temp files: not VMs. */
   p = g_strdup_printf("%s/%s.vmx.lck", dir, name);
   g_assert_cmpint(g_mkdir(p, 0755), ==, 0);
   char *q = g_build_filename(p, "M12345.lck", NULL);
   tu_write(q, "lock");
   g_free(q);
   g_free(p);
   p = g_strdup_printf("%s/.%s.vmx.tmp-Ab12Cd", dir, name);
   tu_write(p, "partial");
   g_free(p);
   p = g_build_filename(dir, "caches", NULL);
   g_assert_cmpint(g_mkdir(p, 0755), ==, 0);
   g_free(p);
   return dir;
}

static void
test_vmware_folder(void)
{
   char *ip = inv_path();
   char *d = tu_dir("vmware");
   char *dir = make_vmware_folder(d, "Web Server");
   cui_inventory *inv = cui_inventory_load(ip);
   char *err = NULL;
   bool added = false;
   const cui_inventory_entry *e = cui_inventory_open(inv, dir, &added, &err);
   g_assert_null(err);
   g_assert_nonnull(e);
   g_assert_true(added);
   char *want = g_build_filename(dir, "Web Server.vmx", NULL);
   g_assert_cmpstr(e->path, ==, want);
   g_assert_cmpstr(e->name, ==, "Web server (VMware)");
   g_assert_cmpstr(e->guest_os, ==, "debian11-64");
   /* resolve on its own, with a trailing slash. */
   char *slash = g_strdup_printf("%s/", dir);
   char *r = cui_inventory_resolve_vmx(slash, &err);
   g_assert_cmpstr(r, ==, want);
   g_free(r);
   g_free(slash);

   /* A folder without a .vmx, and one with two. */
   char *empty = tu_dir("novm");
   char *x = g_build_filename(empty, "disk.vmdk", NULL);
   tu_write(x, "# Disk DescriptorFile\n");
   g_free(x);
   g_assert_null(cui_inventory_open(inv, empty, &added, &err));
   tu_assert_contains(err, "holds no .vmx file");
   g_clear_pointer(&err, g_free);
   char *two = tu_dir("two");
   g_free(tu_make_vm(two, "a", NULL));
   char *a2 = g_build_filename(two, "a", "b.vmx", NULL);
   tu_write(a2, "displayName = \"b\"\n");
   char *twodir = g_build_filename(two, "a", NULL);
   g_assert_null(cui_inventory_open(inv, twodir, &added, &err));
   tu_assert_contains(err, "holds several .vmx files (a.vmx, b.vmx)");
   g_clear_pointer(&err, g_free);
   g_assert_null(cui_inventory_resolve_vmx("", &err));
   g_clear_pointer(&err, g_free);
   g_assert_cmpuint(cui_inventory_count(inv), ==, 1);
   cui_inventory_free(inv);
   g_free(twodir);
   g_free(a2);
   g_free(two);
   g_free(empty);
   g_free(want);
   g_free(dir);
   g_free(d);
   g_free(ip);
}

static void
test_missing(void)
{
   char *ip = inv_path();
   char *d = tu_dir("vms");
   char *a = tu_make_vm(d, "alpha", NULL);
   char *b = tu_make_vm(d, "beta", NULL);
   cui_inventory *inv = cui_inventory_load(ip);
   char *err = NULL;
   g_assert_nonnull(cui_inventory_add(inv, a, 0, &err));
   g_assert_nonnull(cui_inventory_add(inv, b, 0, &err));
   /* Rename it by hand so the library knows the new name. */
   char *t = g_strdup_printf(".encoding = \"UTF-8\"\ndisplayName = \"Alpha One\"\n");
   tu_write(a, t);
   g_free(t);
   cui_inventory_refresh(inv);
   g_assert_cmpstr(cui_inventory_nth(inv, 0)->name, ==, "Alpha One");
   g_assert_true(cui_inventory_move(inv, cui_inventory_nth(inv, 1)->id, 0, 0, &err)); /* save */
   cui_inventory_free(inv);
   g_assert_cmpint(unlink(a), ==, 0);

   inv = cui_inventory_load(ip);
   g_assert_cmpuint(n_warnings(inv), ==, 0);
   g_assert_cmpuint(cui_inventory_count(inv), ==, 2);
   const cui_inventory_entry *e = cui_inventory_find(inv, a);
   g_assert_nonnull(e);
   g_assert_true(e->missing);
   g_assert_cmpstr(e->name, ==, "Alpha One"); /* the last name seen */
   tu_assert_contains(e->problem, "missing");
   g_assert_false(cui_inventory_find(inv, b)->missing);
   /* Renaming a missing VM says why it cannot. */
   g_assert_false(cui_inventory_rename(inv, e->id, "x", &err));
   tu_assert_contains(err, "No such file");
   g_clear_pointer(&err, g_free);
   /* Other changes keep the missing entry. */
   char *c = tu_make_vm(d, "gamma", NULL);
   g_assert_nonnull(cui_inventory_add(inv, c, 0, &err));
   g_free(c);
   cui_inventory_free(inv);
   inv = cui_inventory_load(ip);
   g_assert_cmpuint(cui_inventory_count(inv), ==, 3);
   g_assert_true(cui_inventory_find(inv, a)->missing);
   /* The file comes back: so does the entry. */
   tu_write(a, "displayName = \"back\"\n");
   cui_inventory_refresh(inv);
   g_assert_false(cui_inventory_find(inv, a)->missing);
   g_assert_cmpstr(cui_inventory_find(inv, a)->name, ==, "back");
   cui_inventory_free(inv);
   g_free(a);
   g_free(b);
   g_free(d);
   g_free(ip);
}

static void
test_corrupt_file(void)
{
   char *ip = inv_path();
   char *d = tu_dir("vms");
   char *a = tu_make_vm(d, "alpha", NULL);
   char *b = tu_make_vm(d, "beta", NULL);
   char *c = tu_make_vm(d, "gamma", NULL);
   char *dir = g_path_get_dirname(ip);
   g_assert_cmpint(g_mkdir_with_parents(dir, 0700), ==, 0);
   /* Hand-edited: CRLF, comments, a forward folder reference, junk. */
   char *text = g_strdup_printf("# my library\r\n"
                                "vm 7 \"%s\" \"alpha\"\r\n"
                                "garbage here\n"
                                "vm 0 relative/path.vmx\n"
                                "vm 0 \"unterminated\n"
                                "folder 7 0 \"Lab \\\"A\\\"\"\n"
                                "folder x 0 \"bad id\"\n"
                                "folder 7 0 \"same id\"\n"
                                "vm 0 \"%s\"\n"
                                "vm 0 \"%s\" \"alpha again\"\n"
                                "vm 99 \"%s\" \"gamma\"   trailing\n"
                                "vm 0 \"relative.vmx\"\n"
                                "\n",
                                a, b, a, c);
   tu_write(ip, text);
   cui_inventory *inv = cui_inventory_load(ip);
   const char *const *w = cui_inventory_warnings(inv);
   char *all = g_strjoinv("\n", (char **)w);
   g_test_message("warnings:\n%s", all);
   char *l;
#define WARNS(line, what)                                  \
   l = g_strdup_printf("%s:%d: %s", ip, line, what);       \
   tu_assert_contains(all, l);                             \
   g_free(l)
   WARNS(3, "expected 'folder' or 'vm' at the start of the line");
   WARNS(4, "expected the .vmx path in double quotes");
   WARNS(5, "expected the .vmx path in double quotes");
   WARNS(7, "expected a folder ID");
   WARNS(8, "folder ID 7 is used twice");
   WARNS(10, a);
   tu_assert_contains(all, "alpha.vmx is listed twice; the line is ignored");
   WARNS(11, "there is no folder 99; the entry is shown at the top level");
   WARNS(11, "unexpected text after the entry");
   WARNS(12, "the .vmx path is not absolute");
#undef WARNS
   /* In line order. */
   g_assert_true(g_str_has_prefix(w[0], ip));
   tu_assert_contains(w[0], ":3:");
   tu_assert_contains(w[5], ":10:");
   g_free(all);
   g_assert_false(cui_inventory_read_only(inv));
   /* alpha (in folder "Lab "A""), the folder, beta, gamma. */
   g_assert_cmpuint(cui_inventory_count(inv), ==, 4);
   const cui_inventory_entry *ea = cui_inventory_find(inv, a);
   const cui_inventory_entry *folder = cui_inventory_nth(inv, 1);
   g_assert_true(folder->is_folder);
   g_assert_cmpstr(folder->name, ==, "Lab \"A\"");
   g_assert_cmpuint(ea->parent, ==, folder->id);
   g_assert_cmpuint(cui_inventory_find(inv, c)->parent, ==, 0);
   g_assert_nonnull(cui_inventory_find(inv, b));

   /* The next save keeps a copy of the damaged file and writes a clean one. */
   char *err = NULL;
   g_assert_true(cui_inventory_rename(inv, folder->id, "Lab", &err));
   char *bad = g_strdup_printf("%s.bad", ip);
   char *saved = tu_read(bad);
   g_assert_cmpstr(saved, ==, text);
   g_free(saved);
   cui_inventory_free(inv);
   inv = cui_inventory_load(ip);
   g_assert_cmpuint(n_warnings(inv), ==, 0);
   g_assert_cmpuint(cui_inventory_count(inv), ==, 4);
   g_assert_cmpstr(cui_inventory_nth(inv, 1)->name, ==, "Lab");
   g_assert_cmpuint(cui_inventory_find(inv, a)->parent, ==, cui_inventory_nth(inv, 1)->id);
   cui_inventory_free(inv);

   /* NUL bytes, a folder cycle, binary junk. */
   char junk[] = "folder 1 2 \"one\"\nfolder 2 1 \"two\"\nvm 1 \"/x/\0y.vmx\"\n\xff\xfe\n";
   tu_write_bytes(ip, junk, sizeof junk - 1);
   inv = cui_inventory_load(ip);
   all = g_strjoinv("\n", (char **)cui_inventory_warnings(inv));
   tu_assert_contains(all, "inventory:3: the line contains a NUL byte");
   tu_assert_contains(all, "is inside itself");
   tu_assert_contains(all, "inventory:4: expected 'folder' or 'vm'");
   g_free(all);
   g_assert_cmpuint(cui_inventory_count(inv), ==, 2);
   /* Both folders are reachable from the top. */
   GPtrArray *top = cui_inventory_children(inv, 0);
   g_assert_cmpuint(top->len, >=, 1);
   g_ptr_array_unref(top);
   cui_inventory_free(inv);

   g_free(bad);
   g_free(text);
   g_free(dir);
   g_free(a);
   g_free(b);
   g_free(c);
   g_free(d);
   g_free(ip);
}

static void
test_unreadable_file(void)
{
   /* A folder where the file should be: never written over. */
   char *ip = inv_path();
   g_assert_cmpint(g_mkdir_with_parents(ip, 0700), ==, 0);
   char *d = tu_dir("vms");
   char *a = tu_make_vm(d, "alpha", NULL);
   cui_inventory *inv = cui_inventory_load(ip);
   g_assert_true(cui_inventory_read_only(inv));
   tu_assert_contains(cui_inventory_warnings(inv)[0], "not a regular file");
   char *err = NULL;
   g_assert_null(cui_inventory_add(inv, a, 0, &err));
   tu_assert_contains(err, "could not be read, so it is not written over");
   g_clear_pointer(&err, g_free);
   g_assert_cmpuint(cui_inventory_add_folder(inv, "f", 0, &err), ==, 0);
   g_clear_pointer(&err, g_free);
   struct stat st;
   g_assert_cmpint(stat(ip, &st), ==, 0);
   g_assert_true(S_ISDIR(st.st_mode));
   cui_inventory_free(inv);
   g_free(a);
   g_free(d);
   g_free(ip);
}

static void
test_failed_save_keeps_old_file(void)
{
   char *ip = inv_path();
   char *d = tu_dir("vms");
   char *a = tu_make_vm(d, "alpha", NULL);
   char *b = tu_make_vm(d, "beta", NULL);
   cui_inventory *inv = cui_inventory_load(ip);
   char *err = NULL;
   g_assert_nonnull(cui_inventory_add(inv, a, 0, &err));
   char *before = tu_read(ip);
   struct stat st0;
   g_assert_cmpint(stat(ip, &st0), ==, 0);

   /* Writes fail (a full disk, as far as the writer can tell). */
   tu_fsize_limit(16);
   const cui_inventory_entry *e = cui_inventory_add(inv, b, 0, &err);
   char *err2 = NULL;
   unsigned fid = cui_inventory_add_folder(inv, "F", 0, &err2);
   tu_fsize_restore();
   g_assert_null(e);
   g_assert_cmpuint(fid, ==, 0);
   tu_assert_contains(err, "cannot write");
   tu_assert_contains(err, ip);
   tu_assert_contains(err2, "cannot write");
   g_clear_pointer(&err, g_free);
   g_clear_pointer(&err2, g_free);
   /* Memory and file both as before; no temporary file left. */
   g_assert_cmpuint(cui_inventory_count(inv), ==, 1);
   char *after = tu_read(ip);
   g_assert_cmpstr(after, ==, before);
   g_free(after);
   char *dir = g_path_get_dirname(ip);
   GDir *gd = g_dir_open(dir, 0, NULL);
   const char *n;
   while ((n = g_dir_read_name(gd))) {
      g_assert_cmpstr(n, ==, "inventory");
   }
   g_dir_close(gd);

   if (tu_permissions_apply()) {
      /* A read-only folder: the same. */
      chmod(dir, 0500);
      g_assert_null(cui_inventory_add(inv, b, 0, &err));
      tu_assert_contains(err, "cannot create a temporary file");
      g_clear_pointer(&err, g_free);
      chmod(dir, 0700);
      after = tu_read(ip);
      g_assert_cmpstr(after, ==, before);
      g_free(after);
   } else {
      g_test_message("running as root: the read-only folder case is covered by RLIMIT_FSIZE");
   }
   /* And it works again afterwards. */
   g_assert_nonnull(cui_inventory_add(inv, b, 0, &err));
   g_assert_cmpuint(cui_inventory_count(inv), ==, 2);
   cui_inventory_free(inv);
   g_free(dir);
   g_free(before);
   g_free(a);
   g_free(b);
   g_free(d);
   g_free(ip);
}

static void
test_folders(void)
{
   char *ip = inv_path();
   char *d = tu_dir("vms");
   char *a = tu_make_vm(d, "alpha", NULL);
   char *b = tu_make_vm(d, "beta", NULL);
   char *c = tu_make_vm(d, "gamma", NULL);
   cui_inventory *inv = cui_inventory_load(ip);
   char *err = NULL;
   unsigned ia = cui_inventory_add(inv, a, 0, &err)->id;
   unsigned lab = cui_inventory_add_folder(inv, "Lab", 0, &err);
   g_assert_cmpuint(lab, !=, 0);
   unsigned ib = cui_inventory_add(inv, b, lab, &err)->id;
   unsigned ic = cui_inventory_add(inv, c, lab, &err)->id;
   unsigned inner = cui_inventory_add_folder(inv, "Inner", lab, &err);
   g_assert_null(err);
   g_assert_cmpuint(cui_inventory_add_folder(inv, "", 0, &err), ==, 0);
   tu_assert_contains(err, "Folder name: the name is empty");
   g_clear_pointer(&err, g_free);
   g_assert_cmpuint(cui_inventory_add_folder(inv, "x", 4242, &err), ==, 0);
   tu_assert_contains(err, "no library folder with id 4242");
   g_clear_pointer(&err, g_free);
   char *dl = tu_make_vm(d, "delta", NULL);
   g_assert_null(cui_inventory_add(inv, dl, ia, &err));
   tu_assert_contains(err, "no library folder");
   g_clear_pointer(&err, g_free);
   g_free(dl);
   /* gamma before beta inside Lab; alpha into Inner. */
   g_assert_true(cui_inventory_move(inv, ic, lab, ib, &err));
   g_assert_true(cui_inventory_move(inv, ia, inner, 0, &err));
   /* Not into itself, nor below itself; before must be in the target. */
   g_assert_false(cui_inventory_move(inv, lab, inner, 0, &err));
   tu_assert_contains(err, "cannot be moved into itself");
   g_clear_pointer(&err, g_free);
   g_assert_false(cui_inventory_move(inv, lab, lab, 0, &err));
   g_clear_pointer(&err, g_free);
   g_assert_false(cui_inventory_move(inv, ib, 0, ic, &err));
   tu_assert_contains(err, "not in the target folder");
   g_clear_pointer(&err, g_free);
   cui_inventory_free(inv);

   inv = cui_inventory_load(ip);
   g_assert_cmpuint(n_warnings(inv), ==, 0);
   GPtrArray *top = cui_inventory_children(inv, 0);
   g_assert_cmpuint(top->len, ==, 1);
   const cui_inventory_entry *flab = g_ptr_array_index(top, 0);
   g_assert_cmpstr(flab->name, ==, "Lab");
   GPtrArray *kids = cui_inventory_children(inv, flab->id);
   g_assert_cmpuint(kids->len, ==, 3);
   g_assert_cmpstr(((cui_inventory_entry *)g_ptr_array_index(kids, 0))->name, ==, "gamma");
   g_assert_cmpstr(((cui_inventory_entry *)g_ptr_array_index(kids, 1))->name, ==, "beta");
   const cui_inventory_entry *finner = g_ptr_array_index(kids, 2);
   g_assert_cmpstr(finner->name, ==, "Inner");
   g_assert_cmpuint(cui_inventory_find(inv, a)->parent, ==, finner->id);
   unsigned labid = flab->id;
   g_ptr_array_unref(kids);
   g_ptr_array_unref(top);

   /* Removing Lab puts its entries where it was, in their order. */
   g_assert_true(cui_inventory_remove(inv, labid, &err));
   top = cui_inventory_children(inv, 0);
   g_assert_cmpuint(top->len, ==, 3);
   g_assert_cmpstr(((cui_inventory_entry *)g_ptr_array_index(top, 0))->name, ==, "gamma");
   g_assert_cmpstr(((cui_inventory_entry *)g_ptr_array_index(top, 1))->name, ==, "beta");
   g_assert_cmpstr(((cui_inventory_entry *)g_ptr_array_index(top, 2))->name, ==, "Inner");
   g_ptr_array_unref(top);
   g_assert_true(tu_exists(a) && tu_exists(b) && tu_exists(c));
   cui_inventory_free(inv);
   g_free(a);
   g_free(b);
   g_free(c);
   g_free(d);
   g_free(ip);
}

static void
test_rename(void)
{
   char *ip = inv_path();
   char *d = tu_dir("vms");
   char *a = tu_make_vm(d, "alpha", "Future.Key = \"kept as is\"\n# a comment\n");
   cui_inventory *inv = cui_inventory_load(ip);
   char *err = NULL;
   unsigned id = cui_inventory_add(inv, a, 0, &err)->id;
   g_assert_true(cui_inventory_rename(inv, id, "Alpha \"quoted\" | piped", &err));
   g_assert_null(err);
   g_assert_cmpstr(cui_inventory_lookup(inv, id)->name, ==, "Alpha \"quoted\" | piped");
   char *text = tu_read(a);
   tu_assert_contains(text, "displayName = \"Alpha |22quoted|22 |7C piped\"");
   tu_assert_contains(text, "Future.Key = \"kept as is\"\n# a comment\n");
   g_free(text);
   vmxcfg *cfg = vmxcfg_load(a, &err);
   g_assert_cmpstr(vmxcfg_get(cfg, "displayname"), ==, "Alpha \"quoted\" | piped");
   vmxcfg_free(cfg);
   g_assert_false(cui_inventory_rename(inv, id, "", &err));
   tu_assert_contains(err, "Name: the name is empty");
   g_clear_pointer(&err, g_free);
   g_assert_false(cui_inventory_rename(inv, id, "two\nlines", &err));
   tu_assert_contains(err, "control character");
   g_clear_pointer(&err, g_free);
   g_assert_false(cui_inventory_rename(inv, id, "\xff\xfe", &err));
   tu_assert_contains(err, "UTF-8");
   g_clear_pointer(&err, g_free);
   cui_inventory_free(inv);
   /* The library remembers the name (for when the file goes missing). */
   char *lib = tu_read(ip);
   tu_assert_contains(lib, "\"Alpha \\\"quoted\\\" | piped\"");
   g_free(lib);
   /* Names with non-ASCII text and odd paths survive a round trip. */
   char *odd_dir = g_build_filename(d, "Ünïcode \\ back\"slash", NULL);
   g_assert_cmpint(g_mkdir(odd_dir, 0755), ==, 0);
   char *odd = g_build_filename(odd_dir, "x\"y.vmx", NULL);
   tu_write(odd, "displayName = \"Ünïcode \\ back|22slash\"\n");
   g_free(odd_dir);
   inv = cui_inventory_load(ip);
   g_assert_nonnull(cui_inventory_add(inv, odd, 0, &err));
   cui_inventory_free(inv);
   inv = cui_inventory_load(ip);
   g_assert_cmpuint(n_warnings(inv), ==, 0);
   g_assert_nonnull(cui_inventory_find(inv, odd));
   g_assert_cmpstr(cui_inventory_find(inv, odd)->name, ==, "Ünïcode \\ back\"slash");
   cui_inventory_free(inv);
   g_free(odd);
   g_free(a);
   g_free(d);
   g_free(ip);
}

static void
test_state_not_running(void)
{
   char *ip = inv_path();
   char *d = tu_dir("vms");
   char *a = tu_make_vm(d, "alpha", NULL);
   char *s = tu_make_vm(d, "sleepy", "checkpoint.vmState = \"sleepy.vmss\"\n");
   cui_inventory *inv = cui_inventory_load(ip);
   char *err = NULL;
   g_assert_nonnull(cui_inventory_add(inv, a, 0, &err));
   g_assert_nonnull(cui_inventory_add(inv, s, 0, &err));
   cui_inventory_refresh_state(inv);
   g_assert_false(cui_inventory_find(inv, a)->running);
   g_assert_cmpstr(cui_inventory_find(inv, a)->power_state, ==, "poweredOff");
   g_assert_cmpstr(cui_inventory_find(inv, s)->power_state, ==, "suspended");
   cui_inventory_refresh_entry_state(inv, cui_inventory_find(inv, a)->id);
   g_assert_false(cui_inventory_find(inv, a)->running);
   g_assert_cmpstr(cui_inventory_find(inv, a)->power_state, ==, "poweredOff");
   cui_inventory_refresh_entry_state(inv, 12345); /* no such entry: nothing happens */
   cui_inventory_free(inv);
   g_free(a);
   g_free(s);
   g_free(d);
   g_free(ip);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   tu_init("cui-inventory");
   g_test_add_func("/cui/inventory/default-path", test_default_path);
   g_test_add_func("/cui/inventory/empty", test_empty_and_default_location);
   g_test_add_func("/cui/inventory/add-persist-order", test_add_persist_order);
   g_test_add_func("/cui/inventory/duplicates", test_duplicates);
   g_test_add_func("/cui/inventory/refuse-non-vmx", test_refuse_non_vmx);
   g_test_add_func("/cui/inventory/vmware-folder", test_vmware_folder);
   g_test_add_func("/cui/inventory/missing", test_missing);
   g_test_add_func("/cui/inventory/corrupt-file", test_corrupt_file);
   g_test_add_func("/cui/inventory/unreadable-file", test_unreadable_file);
   g_test_add_func("/cui/inventory/failed-save", test_failed_save_keeps_old_file);
   g_test_add_func("/cui/inventory/folders", test_folders);
   g_test_add_func("/cui/inventory/rename", test_rename);
   g_test_add_func("/cui/inventory/state-not-running", test_state_not_running);
   return g_test_run();
}
