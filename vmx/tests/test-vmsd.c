/*
 * Tests of the snapshot tree model (vmx/vmsd.h): VMware-made files, round
 * trips, tree operations, name lookup and hostile files.
 */
#include "vmx/vmsd.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

/* Written from VMware's documented .vmsd layout: a chain of two snapshots
 * with a disk each, the MRU list, VMware's type key, a description with
 * escapes, and a createTimeLow that is negative as VMware writes it. */
static const char vmware_made[] =
   ".encoding = \"UTF-8\"\n"
   "snapshot.lastUID = \"4\"\n"
   "snapshot.current = \"4\"\n"
   "snapshot.mru0.uid = \"4\"\n"
   "snapshot.mru1.uid = \"1\"\n"
   "snapshot.numMRU = \"2\"\n"
   "snapshot0.uid = \"1\"\n"
   "snapshot0.filename = \"Windows 10-Snapshot1.vmsn\"\n"
   "snapshot0.displayName = \"Fresh install\"\n"
   "snapshot0.description = \"before |22updates|22|0Aline two\"\n"
   "snapshot0.type = \"1\"\n"
   "snapshot0.createTimeHigh = \"385671\"\n"
   "snapshot0.createTimeLow = \"-1532215296\"\n"
   "snapshot0.numDisks = \"1\"\n"
   "snapshot0.disk0.fileName = \"Windows 10.vmdk\"\n"
   "snapshot0.disk0.node = \"nvme0:0\"\n"
   "snapshot1.uid = \"4\"\n"
   "snapshot1.filename = \"Windows 10-Snapshot4.vmsn\"\n"
   "snapshot1.parent = \"1\"\n"
   "snapshot1.displayName = \"Updated\"\n"
   "snapshot1.createTimeHigh = \"385700\"\n"
   "snapshot1.createTimeLow = \"12345\"\n"
   "snapshot1.numDisks = \"1\"\n"
   "snapshot1.disk0.fileName = \"Windows 10-000001.vmdk\"\n"
   "snapshot1.disk0.node = \"nvme0:0\"\n"
   "snapshot.numSnapshots = \"2\"\n";

static vmsd *
parse_ok(const char *text)
{
   char *err = NULL;
   vmsd *v = vmsd_parse(text, strlen(text), "t.vmsd", &err);
   if (!v) {
      g_test_message("unexpected error: %s", err);
   }
   g_assert_null(err);
   g_assert_nonnull(v);
   return v;
}

static void
test_vmware_made(void)
{
   vmsd *v = parse_ok(vmware_made);
   g_assert_cmpuint(vmsd_count(v), ==, 2);
   g_assert_cmpuint(vmsd_last_uid(v), ==, 4);
   g_assert_cmpuint(vmsd_current(v), ==, 4);
   const vmsd_snapshot *a = vmsd_at(v, 0), *b = vmsd_get(v, 4);
   g_assert_cmpuint(a->uid, ==, 1);
   g_assert_cmpuint(a->parent, ==, 0);
   g_assert_cmpstr(a->filename, ==, "Windows 10-Snapshot1.vmsn");
   g_assert_cmpstr(a->display_name, ==, "Fresh install");
   g_assert_cmpstr(a->description, ==, "before \"updates\"\nline two");
   g_assert_cmpstr(a->power_state, ==, "");
   g_assert_cmpuint(a->num_disks, ==, 1);
   /* high 385671, low -1532215296 taken as unsigned 32 bits */
   g_assert_cmpint(a->create_time_us, ==, (int64_t)((385671ull << 32) | 2762752000u));
   g_assert_cmpuint(b->parent, ==, 1);
   g_assert_cmpint(b->create_time_us, ==, (int64_t)((385700ull << 32) | 12345u));
   char *p = vmsd_path_name(v, 4);
   g_assert_cmpstr(p, ==, "Fresh install/Updated");
   g_free(p);

   /* Written back: the keys we do not interpret stay with their snapshot,
    * the times come out as VMware writes them. */
   size_t len;
   char *out = vmsd_write(v, &len);
   g_assert_nonnull(strstr(out, "snapshot.mru0.uid = \"4\"\n"));
   g_assert_nonnull(strstr(out, "snapshot.numMRU = \"2\"\n"));
   g_assert_nonnull(strstr(out, "snapshot0.type = \"1\"\n"));
   g_assert_nonnull(strstr(out, "snapshot0.disk0.node = \"nvme0:0\"\n"));
   g_assert_nonnull(strstr(out, "snapshot1.disk0.fileName = \"Windows 10-000001.vmdk\"\n"));
   g_assert_nonnull(strstr(out, "snapshot0.createTimeLow = \"-1532215296\"\n"));
   g_assert_nonnull(strstr(out, "snapshot0.description = \"before |22updates|22|0Aline two\"\n"));
   g_assert_true(g_str_has_prefix(out, ".encoding = \"UTF-8\"\n"));
   g_assert_true(g_str_has_suffix(out, "snapshot.numSnapshots = \"2\"\n"));
   /* ... and read the same again, byte for byte on a second write. */
   vmsd *v2 = parse_ok(out);
   char *out2 = vmsd_write(v2, NULL);
   g_assert_cmpstr(out, ==, out2);
   g_free(out);
   g_free(out2);
   vmsd_free(v2);
   vmsd_free(v);
}

static void
test_build_and_roundtrip(void)
{
   vmsd *v = vmsd_new();
   g_assert_cmpuint(vmsd_next_uid(v), ==, 1);
   vmsd_snapshot *a = vmsd_add(v, 0, 0);
   g_assert_cmpuint(a->uid, ==, 1);
   vmsd_snapshot_set_name(a, "A");
   vmsd_snapshot_set_filename(a, "vm-Snapshot1.vmsn");
   vmsd_snapshot_set_power_state(a, "poweredOn");
   a->create_time_us = 1700000000123456;
   vmsd_snapshot *b = vmsd_add(v, 0, 1);
   vmsd_snapshot_set_name(b, "B \"quoted\" | # ü");
   vmsd_snapshot_set_description(b, "multi\nline");
   vmsd_snapshot_set_filename(b, "vm-Snapshot2.vmsn");
   vmsd_snapshot_set_power_state(b, "suspended");
   g_assert_null(vmsd_add(v, 2, 0));   /* uid taken */
   g_assert_true(vmsd_set_current(v, 2));
   g_assert_false(vmsd_set_current(v, 9));
   char *err = NULL;
   g_assert_true(vmsd_check(v, &err));

   char *dir = g_dir_make_tmp("vmsd-XXXXXX", NULL);
   char *path = g_build_filename(dir, "vm.vmsd", NULL);
   g_assert_cmpint(vmsd_save(v, path, &err), ==, 0);
   vmsd *r = vmsd_load(path, &err);
   g_assert_nonnull(r);
   g_assert_cmpuint(vmsd_count(r), ==, 2);
   g_assert_cmpuint(vmsd_current(r), ==, 2);
   g_assert_cmpuint(vmsd_last_uid(r), ==, 2);
   const vmsd_snapshot *rb = vmsd_get(r, 2);
   g_assert_cmpstr(rb->display_name, ==, "B \"quoted\" | # ü");
   g_assert_cmpstr(rb->description, ==, "multi\nline");
   g_assert_cmpstr(rb->power_state, ==, "suspended");
   g_assert_cmpuint(rb->parent, ==, 1);
   g_assert_cmpint(vmsd_get(r, 1)->create_time_us, ==, 1700000000123456);
   char *t1 = vmsd_write(v, NULL), *t2 = vmsd_write(r, NULL);
   g_assert_cmpstr(t1, ==, t2);
   g_free(t1);
   g_free(t2);
   vmsd_free(r);

   /* A missing file is an empty tree. */
   g_unlink(path);
   r = vmsd_load(path, &err);
   g_assert_nonnull(r);
   g_assert_cmpuint(vmsd_count(r), ==, 0);
   g_assert_cmpuint(vmsd_current(r), ==, 0);
   vmsd_free(r);
   g_rmdir(dir);
   g_free(path);
   g_free(dir);
   vmsd_free(v);

   char *f = vmsd_state_filename("/vms/My VM/My VM.vmx", 7);
   g_assert_cmpstr(f, ==, "My VM-Snapshot7.vmsn");
   g_free(f);
   f = vmsd_path_for("/vms/a/a.VMX");
   g_assert_cmpstr(f, ==, "/vms/a/a.vmsd");
   g_free(f);
}

/*   1 base
 *   +- 2 tools
 *   |  +- 4 patched
 *   |  +- 5 dup
 *   +- 3 dup
 *      +- 6 patched */
static vmsd *
sample_tree(void)
{
   vmsd *v = vmsd_new();
   static const struct { uint32_t parent; const char *name; } t[] = {
      { 0, "base" }, { 1, "tools" }, { 1, "dup" }, { 2, "patched" }, { 2, "dup" }, { 3, "patched" },
   };
   for (size_t i = 0; i < G_N_ELEMENTS(t); i++) {
      vmsd_snapshot *s = vmsd_add(v, 0, t[i].parent);
      vmsd_snapshot_set_name(s, t[i].name);
      char *fn = g_strdup_printf("vm-Snapshot%u.vmsn", s->uid);
      vmsd_snapshot_set_filename(s, fn);
      g_free(fn);
   }
   vmsd_set_current(v, 4);
   return v;
}

static void
tree_line(const vmsd_snapshot *s, unsigned depth, void *user)
{
   GString *o = user;
   for (unsigned i = 0; i < depth; i++) {
      g_string_append_c(o, '\t');
   }
   g_string_append_printf(o, "%s\n", s->display_name);
}

static void
test_find(void)
{
   vmsd *v = sample_tree();
   char *err = NULL;
   g_assert_cmpuint(vmsd_find(v, "base", &err), ==, 1);
   g_assert_cmpuint(vmsd_find(v, "tools", &err), ==, 2);
   g_assert_cmpuint(vmsd_find(v, "base/tools/patched", &err), ==, 4);
   g_assert_cmpuint(vmsd_find(v, "base/dup/patched", &err), ==, 6);
   g_assert_cmpuint(vmsd_find(v, "base/tools/dup", &err), ==, 5);
   g_assert_null(err);

   g_assert_cmpuint(vmsd_find(v, "patched", &err), ==, 0);
   g_assert_nonnull(strstr(err, "'patched' is ambiguous: 2 snapshots"));
   g_assert_nonnull(strstr(err, "base/"));
   g_clear_pointer(&err, g_free);
   g_assert_cmpuint(vmsd_find(v, "nope", &err), ==, 0);
   g_assert_cmpstr(err, ==, "there is no snapshot named 'nope'");
   g_clear_pointer(&err, g_free);
   g_assert_cmpuint(vmsd_find(v, "base/nope", &err), ==, 0);
   g_assert_nonnull(strstr(err, "no snapshot named 'nope' under 'base'"));
   g_clear_pointer(&err, g_free);
   g_assert_cmpuint(vmsd_find(v, "tools/patched", &err), ==, 0);   /* paths start at a root */
   g_assert_nonnull(strstr(err, "at the root"));
   g_clear_pointer(&err, g_free);
   g_assert_cmpuint(vmsd_find(v, "base//tools", &err), ==, 0);
   g_clear_pointer(&err, g_free);
   g_assert_cmpuint(vmsd_find(v, "", &err), ==, 0);
   g_clear_pointer(&err, g_free);

   /* Two children of one parent with the same name: the path is ambiguous. */
   vmsd_snapshot *s = vmsd_add(v, 0, 2);
   vmsd_snapshot_set_name(s, "patched");
   g_assert_cmpuint(vmsd_find(v, "base/tools/patched", &err), ==, 0);
   g_assert_nonnull(strstr(err, "is ambiguous"));
   g_clear_pointer(&err, g_free);

   GString *o = g_string_new(NULL);
   vmsd_foreach_tree(v, tree_line, o);
   g_assert_cmpstr(o->str, ==, "base\n\ttools\n\t\tpatched\n\t\tdup\n\t\tpatched\n\tdup\n\t\tpatched\n");
   g_string_free(o, TRUE);

   g_assert_true(vmsd_name_valid("Before update (2)", &err));
   g_assert_false(vmsd_name_valid("a/b", &err));
   g_clear_pointer(&err, g_free);
   g_assert_false(vmsd_name_valid("", &err));
   g_clear_pointer(&err, g_free);
   g_assert_false(vmsd_name_valid("tab\there", &err));
   g_clear_pointer(&err, g_free);
   g_assert_false(vmsd_name_valid("\xff", &err));
   g_clear_pointer(&err, g_free);
   char *longname = g_strnfill(VMSD_NAME_MAX + 1, 'x');
   g_assert_false(vmsd_name_valid(longname, &err));
   g_clear_pointer(&err, g_free);
   g_free(longname);
   vmsd_free(v);
}

static void
test_remove(void)
{
   /* Without children: they move to the removed one's parent; current
    * moves up when removed. */
   vmsd *v = sample_tree();
   uint32_t gone[16];
   vmsd_set_current(v, 2);
   g_assert_cmpuint(vmsd_remove(v, 2, false, gone), ==, 1);
   g_assert_cmpuint(gone[0], ==, 2);
   g_assert_null(vmsd_get(v, 2));
   g_assert_cmpuint(vmsd_get(v, 4)->parent, ==, 1);
   g_assert_cmpuint(vmsd_get(v, 5)->parent, ==, 1);
   g_assert_cmpuint(vmsd_current(v), ==, 1);
   char *err = NULL;
   g_assert_true(vmsd_check(v, &err));
   g_assert_cmpuint(vmsd_remove(v, 2, false, gone), ==, 0);
   vmsd_free(v);

   /* With children: the whole subtree. */
   v = sample_tree();
   vmsd_set_current(v, 6);
   g_assert_cmpuint(vmsd_remove(v, 3, true, gone), ==, 2);
   g_assert_null(vmsd_get(v, 3));
   g_assert_null(vmsd_get(v, 6));
   g_assert_cmpuint(vmsd_count(v), ==, 4);
   g_assert_cmpuint(vmsd_current(v), ==, 1);
   /* The root with its children: everything; no current left. */
   g_assert_cmpuint(vmsd_remove(v, 1, true, gone), ==, 4);
   g_assert_cmpuint(vmsd_count(v), ==, 0);
   g_assert_cmpuint(vmsd_current(v), ==, 0);
   /* uids are never handed out twice. */
   g_assert_cmpuint(vmsd_next_uid(v), ==, 7);
   vmsd_free(v);

   /* A removed root's children become roots. */
   v = sample_tree();
   g_assert_cmpuint(vmsd_remove(v, 1, false, NULL), ==, 1);
   g_assert_cmpuint(vmsd_get(v, 2)->parent, ==, 0);
   g_assert_cmpuint(vmsd_get(v, 3)->parent, ==, 0);
   g_assert_cmpuint(vmsd_current(v), ==, 4);
   g_assert_true(vmsd_check(v, &err));
   char *text = vmsd_write(v, NULL);
   vmsd *r = parse_ok(text);
   g_assert_cmpuint(vmsd_count(r), ==, 5);
   g_assert_cmpuint(vmsd_next_uid(r), ==, 7);
   vmsd_free(r);
   g_free(text);
   vmsd_free(v);
}

static void
count_one(const vmsd_snapshot *s, unsigned depth, void *user)
{
   (*(unsigned *)user)++;
}

/* Each hostile file is refused with a message that names the key. */
static void
test_hostile(void)
{
   static const struct {
      const char *text;
      const char *msg;
   } bad[] = {
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"abc\"\n", "snapshot0.uid = \"abc\": expected a number" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"0\"\n", "snapshot0.uid = \"0\"" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"4294967296\"\n", "snapshot0.uid" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \" 1\"\n", "snapshot0.uid" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"+1\"\n", "snapshot0.uid" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"-1\"\n", "snapshot0.uid" },
      { "snapshot.numSnapshots = \"-1\"\n", "snapshot.numSnapshots = \"-1\"" },
      { "snapshot.numSnapshots = \"99999999\"\n", "snapshot.numSnapshots" },
      { "snapshot.numSnapshots = \"x\"\n", "snapshot.numSnapshots" },
      { "snapshot.lastUID = \"1e3\"\n", "snapshot.lastUID" },
      { "snapshot.numSnapshots = \"2\"\nsnapshot0.uid = \"1\"\n", "snapshot1.uid is missing" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"1\"\nsnapshot1.uid = \"2\"\n",
        "snapshot1.uid: snapshot index 1 is not below snapshot.numSnapshots = 1" },
      { "snapshot0.uid = \"1\"\n", "snapshot0.uid: snapshot index 0 is not below" },
      { "snapshot.numSnapshots = \"2\"\nsnapshot0.uid = \"1\"\nsnapshot1.uid = \"1\"\n",
        "snapshot1.uid = \"1\": snapshot0 has the same uid" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"1\"\nsnapshot0.parent = \"7\"\n",
        "snapshot0.parent = \"7\": no snapshot has uid 7" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"1\"\nsnapshot0.parent = \"1\"\n",
        "cannot be its own parent" },
      { "snapshot.numSnapshots = \"3\"\n"
        "snapshot0.uid = \"1\"\nsnapshot0.parent = \"3\"\n"
        "snapshot1.uid = \"2\"\nsnapshot1.parent = \"1\"\n"
        "snapshot2.uid = \"3\"\nsnapshot2.parent = \"2\"\n",
        "the parents form a cycle" },
      { "snapshot.current = \"5\"\n", "snapshot.current = \"5\": no snapshot has uid 5" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"1\"\nsnapshot0.filename = \"../../etc/passwd\"\n",
        "snapshot0.filename = \"../../etc/passwd\": the state file must be a file name" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"1\"\nsnapshot0.filename = \"..\"\n",
        "snapshot0.filename" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"1\"\nsnapshot0.filename = \"/tmp/x.vmsn\"\n",
        "snapshot0.filename" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"1\"\nsnapshot0.createTimeLow = \"9999999999\"\n",
        "snapshot0.createTimeLow" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"1\"\nsnapshot0.numDisks = \"-2\"\n",
        "snapshot0.numDisks" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"1\"\nsnapshot0.vmws.powerState = \"on\"\n",
        "snapshot0.vmws.powerState = \"on\": expected poweredOn" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot01.uid = \"1\"\n", "snapshot01.uid: not a snapshot key" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0 = \"1\"\n", "not a snapshot key" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot99999999999999999999.uid = \"1\"\n", "not a snapshot key" },
      { "snapshot.numSnapshots = \"1\"\nsnapshot0.uid = \"1|00\"\n", "escaped NUL" },
      { "snapshot0.uid = \"1\n", "unterminated quoted value" },
      { "\xff\xfe = \"x\"\n", "not valid UTF-8" },
   };
   for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
      char *err = NULL;
      vmsd *v = vmsd_parse(bad[i].text, strlen(bad[i].text), "h.vmsd", &err);
      if (v || !err || !strstr(err, bad[i].msg) || !g_str_has_prefix(err, "h.vmsd")) {
         g_test_message("case %zu: got %s", i, err ? err : "(accepted)");
      }
      g_assert_null(v);
      g_assert_nonnull(err);
      g_assert_nonnull(strstr(err, bad[i].msg));
      g_assert_true(g_str_has_prefix(err, "h.vmsd"));
      g_free(err);
   }
   /* Accepted: a lastUID lower than the uids (raised), an empty file,
    * unknown keys anywhere. */
   vmsd *v = parse_ok("snapshot.lastUID = \"1\"\nsnapshot.numSnapshots = \"1\"\n"
                      "snapshot0.uid = \"9\"\nfuture.key = \"x\"\nsnapshot0.future = \"y\"\n");
   g_assert_cmpuint(vmsd_next_uid(v), ==, 10);
   char *out = vmsd_write(v, NULL);
   g_assert_nonnull(strstr(out, "future.key = \"x\"\n"));
   g_assert_nonnull(strstr(out, "snapshot0.future = \"y\"\n"));
   g_free(out);
   vmsd_free(v);
   v = parse_ok("");
   g_assert_cmpuint(vmsd_count(v), ==, 0);
   vmsd_free(v);

   /* A long chain (the deepest tree there can be) is checked and walked
    * without trouble; a cycle hidden at its far end is found. */
   GString *t = g_string_new(NULL);
   g_string_append_printf(t, "snapshot.numSnapshots = \"%u\"\n", VMSD_MAX_SNAPSHOTS);
   for (unsigned i = 0; i < VMSD_MAX_SNAPSHOTS; i++) {
      g_string_append_printf(t, "snapshot%u.uid = \"%u\"\nsnapshot%u.displayName = \"s\"\n", i,
                             i + 1, i);
      if (i) {
         g_string_append_printf(t, "snapshot%u.parent = \"%u\"\n", i, i);
      }
   }
   v = parse_ok(t->str);
   char *err = NULL;
   g_assert_cmpuint(vmsd_find(v, "s", &err), ==, 0);
   g_free(err);
   unsigned n = 0;
   vmsd_foreach_tree(v, count_one, &n);
   g_assert_cmpuint(n, ==, VMSD_MAX_SNAPSHOTS);
   char *deep = vmsd_path_name(v, VMSD_MAX_SNAPSHOTS);
   g_assert_cmpuint(strlen(deep), ==, 2 * VMSD_MAX_SNAPSHOTS - 1);
   g_free(deep);
   vmsd_free(v);
   g_string_append(t, "snapshot0.parent = \"4096\"\n");
   err = NULL;
   v = vmsd_parse(t->str, t->len, "h.vmsd", &err);
   g_assert_null(v);
   g_assert_nonnull(strstr(err, "cycle"));
   g_free(err);
   g_string_free(t, TRUE);
}

/* Random damage to a good file never crashes the reader, and what it
 * accepts writes out and reads back the same. */
static void
test_mutations(void)
{
   GRand *r = g_rand_new_with_seed(1234);
   size_t n = strlen(vmware_made);
   for (int round = 0; round < 3000; round++) {
      char *t = g_strdup(vmware_made);
      int edits = g_rand_int_range(r, 1, 4);
      for (int e = 0; e < edits; e++) {
         size_t at = (size_t)g_rand_int_range(r, 0, (gint32)n);
         static const char pool[] = "0123456789-\"|.= \nabsnapshot";
         t[at] = pool[g_rand_int_range(r, 0, sizeof pool - 1)];
      }
      char *err = NULL;
      vmsd *v = vmsd_parse(t, n, "m.vmsd", &err);
      if (v) {
         g_assert_null(err);
         g_assert_true(vmsd_check(v, &err));
         char *out = vmsd_write(v, NULL);
         vmsd *v2 = vmsd_parse(out, strlen(out), "m2.vmsd", &err);
         g_assert_nonnull(v2);
         char *out2 = vmsd_write(v2, NULL);
         g_assert_cmpstr(out, ==, out2);
         g_free(out);
         g_free(out2);
         vmsd_free(v2);
         vmsd_free(v);
      } else {
         g_assert_nonnull(err);
         g_free(err);
      }
      g_free(t);
   }
   g_rand_free(r);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/vmsd/vmware-made", test_vmware_made);
   g_test_add_func("/vmsd/build-and-roundtrip", test_build_and_roundtrip);
   g_test_add_func("/vmsd/find", test_find);
   g_test_add_func("/vmsd/remove", test_remove);
   g_test_add_func("/vmsd/hostile", test_hostile);
   g_test_add_func("/vmsd/mutations", test_mutations);
   return g_test_run();
}
