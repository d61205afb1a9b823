/*
 * cui/tests/test-snapshots.c - the snapshot model (cui/snapshots.h):
 *
 *   - without a vmx, the tree from .vmsd files: ours, one VMware wrote,
 *     branches in tree order, a damaged file refused with the key named,
 *     a change on disk noticed;
 *   - the operations against real vmx processes (idle machines: no guest
 *     image, so no /dev/kvm needed): take, revert and delete of a
 *     powered-off VM through a vmx started for each request (and gone
 *     again), the tree from VMDB while a vmx runs, the vmx's refusals
 *     (a running machine without a guest has no state to save, a damaged
 *     state file) reported with its message, and the model's own
 *     refusals (a name already used, no snapshot to revert to).
 *
 * The vmx is $VMWS_VMX (set by meson); without it those tests skip.
 */
#include "cui/snapshots.h"
#include "cui/vmclient.h"
#include "vmx/vmsd.h"

#include "testutil.h"
#include "testvmx.h"

#include <signal.h>

static bool
vmx_running(const char *vmx)
{
   char **running = vmclient_list_running();
   bool found = g_strv_contains((const char *const *)running, vmx);
   g_strfreev(running);
   return found;
}

/* ---- what the callbacks saw */

typedef struct seen {
   int changed;
   int progress;
   int finished;
   cui_snapshot_op op;
   bool ok;
   char *error;
   GPtrArray *texts;   /* every progress text reported */
} seen;

static void
on_changed(cui_snapshots *s, void *user)
{
   ((seen *)user)->changed++;
}

static void
on_progress(cui_snapshots *s, void *user)
{
   seen *w = user;
   w->progress++;
   g_ptr_array_add(w->texts, g_strdup(cui_snapshots_progress_text(s)));
}

static void
on_finished(cui_snapshots *s, cui_snapshot_op op, bool ok, const char *error, void *user)
{
   seen *w = user;
   w->finished++;
   w->op = op;
   w->ok = ok;
   g_free(w->error);
   w->error = g_strdup(error);
}

static void
seen_init(seen *w)
{
   memset(w, 0, sizeof *w);
   w->texts = g_ptr_array_new_with_free_func(g_free);
}

static void
seen_clear(seen *w)
{
   g_free(w->error);
   g_ptr_array_unref(w->texts);
}

typedef bool (*cond_fn)(cui_snapshots *s, seen *w, const void *arg);

static void
run_until(cui_snapshots *s, seen *w, cond_fn cond, const void *arg, int timeout_ms,
          const char *what)
{
   gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
   while (!cond(s, w, arg)) {
      if (g_get_monotonic_time() > deadline) {
         g_error("timed out waiting for %s (state %s, vmx %s, %u snapshots, error %s)", what,
                 cui_snapshots_power_state(s), cui_snapshots_vmx_up(s) ? "up" : "down",
                 cui_snapshots_count(s), cui_snapshots_error(s) ? cui_snapshots_error(s) : "none");
      }
      g_main_context_iteration(NULL, FALSE);
      g_usleep(5000);
   }
}

static bool
finished_n(cui_snapshots *s, seen *w, const void *arg)
{
   return w->finished >= GPOINTER_TO_INT(arg);
}

static bool
count_is(cui_snapshots *s, seen *w, const void *arg)
{
   return cui_snapshots_count(s) == (unsigned)GPOINTER_TO_INT(arg);
}

static bool
up_in(cui_snapshots *s, seen *w, const void *arg)
{
   return cui_snapshots_vmx_up(s) && !strcmp(cui_snapshots_power_state(s), arg);
}

static bool
down_in(cui_snapshots *s, seen *w, const void *arg)
{
   return !cui_snapshots_vmx_up(s) && !strcmp(cui_snapshots_power_state(s), arg);
}

static bool
has_error(cui_snapshots *s, seen *w, const void *arg)
{
   return cui_snapshots_error(s) != NULL;
}

/* Wait for the result of the operation just started; whether it worked. */
static bool
wait_op(cui_snapshots *s, seen *w, cui_snapshot_op op)
{
   int before = w->finished;
   cui_snapshot_op busy_op = CUI_SNAPSHOT_N_OPS;
   g_assert_true(cui_snapshots_busy(s, &busy_op));
   g_assert_cmpint(busy_op, ==, op);
   /* Only one at a time. */
   char *err = NULL;
   g_assert_false(cui_snapshots_can(s, CUI_SNAPSHOT_TAKE, &err));
   tu_assert_contains(err, "is still in progress");
   g_free(err);
   run_until(s, w, finished_n, GINT_TO_POINTER(before + 1), 90000, cui_snapshot_op_label(op));
   g_assert_false(cui_snapshots_busy(s, NULL));
   g_assert_cmpint(w->op, ==, op);
   g_assert_cmpstr(cui_snapshots_progress_text(s), ==, "");
   g_assert_cmpint(cui_snapshots_progress(s), ==, -1);
   return w->ok;
}

static const cui_snapshot *
by_name(cui_snapshots *s, const char *name)
{
   for (unsigned i = 0; i < cui_snapshots_count(s); i++) {
      if (!strcmp(cui_snapshots_at(s, i)->name, name)) {
         return cui_snapshots_at(s, i);
      }
   }
   return NULL;
}

static bool
current_is(cui_snapshots *s, seen *w, const void *arg)
{
   const cui_snapshot *sn = by_name(s, arg);
   return sn && sn->current && cui_snapshots_current(s) == sn->uid;
}

static char *
new_vm(const char *name, const char *extra)
{
   char *dir = tu_dir("vms");
   char *vmx = tu_make_vm(dir, name, extra);
   char *err = NULL;
   char *abs = vmclient_resolve(vmx, &err);
   g_assert_nonnull(abs);
   g_free(vmx);
   g_free(dir);
   return abs;
}

static void
write_vmsd(const char *vmx, const char *text)
{
   char *p = vmsd_path_for(vmx);
   tu_write(p, text);
   g_free(p);
}

/* ---- the tests */

static void
test_words(void)
{
   static const char *const labels[] = { "Take Snapshot", "Revert to Snapshot",
                                         "Delete Snapshot" };
   static const char *const requests[] = { "snapshot", "revertToSnapshot", "deleteSnapshot" };
   for (int i = 0; i < CUI_SNAPSHOT_N_OPS; i++) {
      g_assert_cmpstr(cui_snapshot_op_label((cui_snapshot_op)i), ==, labels[i]);
      g_assert_cmpstr(cui_snapshot_op_request((cui_snapshot_op)i), ==, requests[i]);
      g_assert_cmpstr(cui_snapshot_op_verb((cui_snapshot_op)i), !=, "");
      for (const char *const *st = (const char *const[]){ "poweredOn", "paused", "suspended",
                                                          "poweredOff", NULL };
           *st; st++) {
         g_assert_true(cui_snapshot_op_allowed((cui_snapshot_op)i, *st));
      }
      for (const char *const *st = (const char *const[]){ "poweringOn", "suspending",
                                                          "poweringOff", "", NULL };
           *st; st++) {
         g_assert_false(cui_snapshot_op_allowed((cui_snapshot_op)i, *st));
      }
      g_assert_false(cui_snapshot_op_allowed((cui_snapshot_op)i, NULL));
   }
   g_assert_cmpstr(cui_snapshot_op_label(CUI_SNAPSHOT_N_OPS), ==, "?");
   char *t = cui_snapshot_time_label(0);
   g_assert_cmpstr(t, ==, "");
   g_free(t);
   GDateTime *d = g_date_time_new_local(2024, 5, 1, 14, 3, 0);
   t = cui_snapshot_time_label(g_date_time_to_unix(d));
   g_assert_cmpstr(t, ==, "2024-05-01 14:03");
   g_free(t);
   g_date_time_unref(d);
}

/* No snapshots: nothing to revert to or delete, and the model says so. */
static void
test_empty(void)
{
   char *vmx = new_vm("empty", NULL);
   seen w;
   seen_init(&w);
   cui_snapshots_callbacks cb = { on_changed, on_progress, on_finished, &w };
   cui_snapshots *s = cui_snapshots_new(vmx, &cb);
   g_assert_cmpstr(cui_snapshots_vmx_path(s), ==, vmx);
   g_assert_false(cui_snapshots_vmx_up(s));
   g_assert_cmpstr(cui_snapshots_power_state(s), ==, "poweredOff");
   g_assert_null(cui_snapshots_error(s));
   g_assert_cmpuint(cui_snapshots_count(s), ==, 0);
   g_assert_null(cui_snapshots_at(s, 0));
   g_assert_cmpuint(cui_snapshots_current(s), ==, 0);
   g_assert_true(cui_snapshots_can(s, CUI_SNAPSHOT_TAKE, NULL));
   char *err = NULL;
   g_assert_false(cui_snapshots_can(s, CUI_SNAPSHOT_REVERT, &err));
   g_assert_cmpstr(err, ==, "the virtual machine has no snapshot to revert to; take one first");
   g_free(err);
   err = NULL;
   g_assert_false(cui_snapshots_revert_current(s, &err));
   tu_assert_contains(err, "no snapshot to revert to");
   g_free(err);
   err = NULL;
   g_assert_false(cui_snapshots_delete(s, 1, false, &err));
   g_assert_cmpstr(err, ==, "the virtual machine has no snapshot to delete");
   g_free(err);
   err = NULL;
   /* Names the vmx would refuse are refused here, before anything runs. */
   g_assert_false(cui_snapshots_take(s, "", NULL, &err));
   g_assert_cmpstr(err, ==, "a snapshot needs a name");
   g_free(err);
   err = NULL;
   g_assert_false(cui_snapshots_take(s, "a/b", NULL, &err));
   tu_assert_contains(err, "contains '/'");
   g_free(err);
   err = NULL;
   g_assert_false(cui_snapshots_name_ok(s, "tab\there", &err));
   tu_assert_contains(err, "control characters");
   g_free(err);
   g_assert_true(cui_snapshots_name_ok(s, "with spaces & ü", NULL));
   g_assert_false(cui_snapshots_busy(s, NULL));
   g_assert_cmpint(w.finished, ==, 0);
   cui_snapshots_free(s);
   seen_clear(&w);
   g_free(vmx);
}

/* A .vmsd VMware wrote (its documented layout): the keys we do not use are
 * no obstacle, times and escapes come out right. */
static void
test_vmware_vmsd(void)
{
   char *vmx = new_vm("vmware", NULL);
   write_vmsd(vmx, ".encoding = \"UTF-8\"\n"
                   "snapshot.lastUID = \"7\"\n"
                   "snapshot.current = \"7\"\n"
                   "snapshot.mru0.uid = \"7\"\n"
                   "snapshot.numMRU = \"1\"\n"
                   "snapshot0.uid = \"3\"\n"
                   "snapshot0.filename = \"vmware-Snapshot3.vmsn\"\n"
                   "snapshot0.displayName = \"Clean |22install|22\"\n"
                   "snapshot0.description = \"fresh from the ISO\"\n"
                   "snapshot0.type = \"1\"\n"
                   "snapshot0.createTimeHigh = \"385671\"\n"
                   "snapshot0.createTimeLow = \"-1532215296\"\n"
                   "snapshot0.numDisks = \"1\"\n"
                   "snapshot0.disk0.fileName = \"vmware.vmdk\"\n"
                   "snapshot0.disk0.node = \"scsi0:0\"\n"
                   "snapshot1.uid = \"7\"\n"
                   "snapshot1.filename = \"vmware-Snapshot7.vmsn\"\n"
                   "snapshot1.parent = \"3\"\n"
                   "snapshot1.displayName = \"Patched\"\n"
                   "snapshot1.createTimeHigh = \"385700\"\n"
                   "snapshot1.createTimeLow = \"12345\"\n"
                   "snapshot1.numDisks = \"1\"\n"
                   "snapshot.numSnapshots = \"2\"\n");
   cui_snapshots *s = cui_snapshots_new(vmx, NULL);
   g_assert_null(cui_snapshots_error(s));
   g_assert_cmpuint(cui_snapshots_count(s), ==, 2);
   const cui_snapshot *a = cui_snapshots_at(s, 0), *b = cui_snapshots_at(s, 1);
   g_assert_cmpstr(a->name, ==, "Clean \"install\"");
   g_assert_cmpstr(a->description, ==, "fresh from the ISO");
   g_assert_cmpuint(a->uid, ==, 3);
   g_assert_cmpuint(a->parent, ==, 0);
   g_assert_cmpuint(a->depth, ==, 0);
   g_assert_cmpuint(a->n_children, ==, 1);
   g_assert_false(a->current);
   g_assert_cmpstr(a->power_state, ==, "");
   /* High and low words of microseconds, the low one signed. */
   gint64 us = ((gint64)385671 << 32) + (gint64)(guint32)-1532215296;
   g_assert_cmpint(a->create_time, ==, us / G_USEC_PER_SEC);
   g_assert_cmpstr(b->name, ==, "Patched");
   g_assert_cmpstr(b->description, ==, "");
   g_assert_cmpuint(b->parent, ==, 3);
   g_assert_cmpuint(b->depth, ==, 1);
   g_assert_cmpuint(b->n_children, ==, 0);
   g_assert_true(b->current);
   g_assert_cmpuint(cui_snapshots_current(s), ==, 7);
   g_assert_true(cui_snapshots_get(s, 7) == b);
   g_assert_null(cui_snapshots_get(s, 5));
   g_assert_null(cui_snapshots_get(s, 0));
   char *path = cui_snapshots_path_name(s, 7);
   g_assert_cmpstr(path, ==, "Clean \"install\"/Patched");
   g_free(path);
   g_assert_null(cui_snapshots_path_name(s, 9));
   char *err = NULL;
   g_assert_false(cui_snapshots_name_ok(s, "Patched", &err));
   g_assert_cmpstr(err, ==, "there is already a snapshot named 'Patched'; choose another name");
   g_free(err);
   g_assert_true(cui_snapshots_can(s, CUI_SNAPSHOT_REVERT, NULL));
   g_assert_true(cui_snapshots_can(s, CUI_SNAPSHOT_DELETE, NULL));
   err = NULL;
   g_assert_false(cui_snapshots_revert(s, 4, &err));
   tu_assert_contains(err, "no snapshot with uid 4");
   g_free(err);
   cui_snapshots_free(s);
   g_free(vmx);
}

/* Branches come depth first, children in creation order; the current one
 * is marked wherever it is; a change on disk (vmrun, another UI) is
 * noticed; a damaged file is an error naming it and the key. */
static void
test_tree_and_changes(void)
{
   char *vmx = new_vm("tree", NULL);
   /* base -> { a -> a1, b }, and a second root r; created in the order
    * base, a, b, r, a1 (uids 1..5); a1 is current. */
   write_vmsd(vmx, "snapshot.lastUID = \"5\"\nsnapshot.current = \"5\"\n"
                   "snapshot.numSnapshots = \"5\"\n"
                   "snapshot0.uid = \"1\"\nsnapshot0.displayName = \"base\"\n"
                   "snapshot1.uid = \"2\"\nsnapshot1.parent = \"1\"\nsnapshot1.displayName = \"a\"\n"
                   "snapshot2.uid = \"3\"\nsnapshot2.parent = \"1\"\nsnapshot2.displayName = \"b\"\n"
                   "snapshot3.uid = \"4\"\nsnapshot3.displayName = \"r\"\n"
                   "snapshot4.uid = \"5\"\nsnapshot4.parent = \"2\"\nsnapshot4.displayName = \"a1\"\n"
                   "snapshot4.vmws.powerState = \"poweredOn\"\n");
   seen w;
   seen_init(&w);
   cui_snapshots_callbacks cb = { on_changed, on_progress, on_finished, &w };
   cui_snapshots *s = cui_snapshots_new(vmx, &cb);
   static const struct {
      const char *name;
      unsigned depth, children;
   } want[] = { { "base", 0, 2 }, { "a", 1, 1 }, { "a1", 2, 0 }, { "b", 1, 0 }, { "r", 0, 0 } };
   g_assert_cmpuint(cui_snapshots_count(s), ==, G_N_ELEMENTS(want));
   for (unsigned i = 0; i < G_N_ELEMENTS(want); i++) {
      const cui_snapshot *sn = cui_snapshots_at(s, i);
      g_assert_cmpstr(sn->name, ==, want[i].name);
      g_assert_cmpuint(sn->depth, ==, want[i].depth);
      g_assert_cmpuint(sn->n_children, ==, want[i].children);
      g_assert_true(sn->current == !strcmp(want[i].name, "a1"));
   }
   g_assert_cmpstr(by_name(s, "a1")->power_state, ==, "poweredOn");
   char *path = cui_snapshots_path_name(s, 5);
   g_assert_cmpstr(path, ==, "base/a/a1");
   g_free(path);

   /* Someone deletes b and makes r current. */
   int changed = w.changed;
   write_vmsd(vmx, "snapshot.lastUID = \"5\"\nsnapshot.current = \"4\"\n"
                   "snapshot.numSnapshots = \"4\"\n"
                   "snapshot0.uid = \"1\"\nsnapshot0.displayName = \"base\"\n"
                   "snapshot1.uid = \"2\"\nsnapshot1.parent = \"1\"\nsnapshot1.displayName = \"a\"\n"
                   "snapshot2.uid = \"4\"\nsnapshot2.displayName = \"r\"\n"
                   "snapshot3.uid = \"5\"\nsnapshot3.parent = \"2\"\nsnapshot3.displayName = \"a1\"\n");
   run_until(s, &w, count_is, GINT_TO_POINTER(4), 5000, "the changed .vmsd");
   g_assert_cmpint(w.changed, >, changed);
   g_assert_true(current_is(s, &w, "r"));
   g_assert_null(by_name(s, "b"));

   /* Damaged: the message names the file and the key, the tree is empty
    * and no operation is offered. */
   changed = w.changed;
   write_vmsd(vmx, "snapshot.numSnapshots = \"2\"\n"
                   "snapshot0.uid = \"1\"\nsnapshot0.parent = \"2\"\n"
                   "snapshot1.uid = \"2\"\nsnapshot1.parent = \"1\"\n");
   run_until(s, &w, has_error, NULL, 5000, "the damaged .vmsd");
   g_assert_cmpint(w.changed, >, changed);
   tu_assert_contains(cui_snapshots_error(s),
                      "tree.vmsd: snapshot0.parent = \"2\": the parents form a cycle");
   g_assert_cmpuint(cui_snapshots_count(s), ==, 0);
   char *err = NULL;
   g_assert_false(cui_snapshots_can(s, CUI_SNAPSHOT_TAKE, &err));
   g_assert_cmpstr(err, ==, cui_snapshots_error(s));
   g_free(err);
   err = NULL;
   g_assert_false(cui_snapshots_take(s, "x", NULL, &err));
   tu_assert_contains(err, "the parents form a cycle");
   g_free(err);

   /* Nothing changes: no notification. */
   changed = w.changed;
   for (int i = 0; i < 150; i++) {
      g_main_context_iteration(NULL, FALSE);
      g_usleep(10000);
   }
   g_assert_cmpint(w.changed, ==, changed);
   /* The .vmx says suspended: so does the model (the watch reads it). */
   char *text = tu_read(vmx);
   char *susp = g_strdup_printf("%scheckpoint.vmState = \"tree.vmss\"\n", text);
   tu_write(vmx, susp);
   cui_snapshots_refresh(s);
   g_assert_cmpstr(cui_snapshots_power_state(s), ==, "suspended");
   g_assert_cmpint(w.changed, ==, changed + 1);
   g_free(susp);
   g_free(text);
   g_assert_cmpint(w.finished, ==, 0);
   cui_snapshots_free(s);
   seen_clear(&w);
   g_free(vmx);
}

/* Take, revert and delete on a powered-off VM: each through a vmx started
 * for the request, which is gone again afterwards. */
static void
test_powered_off(void)
{
   if (!tv_have_vmx()) {
      return;
   }
   char *vmx = new_vm("off", NULL);
   seen w;
   seen_init(&w);
   cui_snapshots_callbacks cb = { on_changed, on_progress, on_finished, &w };
   cui_snapshots *s = cui_snapshots_new(vmx, &cb);
   char *err = NULL;
   if (!cui_snapshots_take(s, "base", "the first one", &err)) {
      g_error("take refused: %s", err);
   }
   /* Under way: the progress text names it; the result comes only through
    * the main loop. */
   g_assert_cmpstr(cui_snapshots_progress_text(s), ==, "Taking snapshot “base”…");
   g_assert_cmpint(w.finished, ==, 0);
   g_assert_cmpint(w.progress, >=, 1);
   g_assert_cmpstr(g_ptr_array_index(w.texts, 0), ==, "Taking snapshot “base”…");
   if (!wait_op(s, &w, CUI_SNAPSHOT_TAKE)) {
      g_error("take failed: %s", w.error);
   }
   g_assert_null(w.error);
   run_until(s, &w, current_is, "base", 10000, "base in the tree, current");
   const cui_snapshot *base = by_name(s, "base");
   g_assert_cmpstr(base->description, ==, "the first one");
   g_assert_cmpstr(base->power_state, ==, "poweredOff");
   gint64 now = g_get_real_time() / G_USEC_PER_SEC;
   g_assert_cmpint(base->create_time, <=, now);
   g_assert_cmpint(base->create_time, >, now - 120);
   char *vmsd_path = vmsd_path_for(vmx);
   char *vmsd_text = tu_read(vmsd_path);
   tu_assert_contains(vmsd_text, "snapshot0.displayName = \"base\"");
   g_free(vmsd_text);
   g_assert_false(vmx_running(vmx));
   run_until(s, &w, down_in, "poweredOff", 10000, "powered off, no vmx");

   g_assert_true(cui_snapshots_take(s, "second", NULL, &err));
   g_assert_true(wait_op(s, &w, CUI_SNAPSHOT_TAKE));
   run_until(s, &w, current_is, "second", 10000, "second, current");
   g_assert_cmpuint(by_name(s, "second")->parent, ==, by_name(s, "base")->uid);
   g_assert_cmpuint(by_name(s, "second")->depth, ==, 1);

   /* A name already used is refused by the model. */
   g_assert_false(cui_snapshots_take(s, "base", NULL, &err));
   g_assert_cmpstr(err, ==, "there is already a snapshot named 'base'; choose another name");
   g_free(err);
   err = NULL;
   g_assert_false(cui_snapshots_busy(s, NULL));

   /* Revert puts the .vmx back as it was when base was taken. */
   char *before = tu_read(vmx);
   char *changed_cfg = g_strdup_printf("%sannotation = \"changed later\"\n", before);
   tu_write(vmx, changed_cfg);
   g_assert_true(cui_snapshots_revert(s, by_name(s, "base")->uid, &err));
   g_assert_cmpstr(cui_snapshots_progress_text(s), ==, "Reverting to snapshot “base”…");
   if (!wait_op(s, &w, CUI_SNAPSHOT_REVERT)) {
      g_error("revert failed: %s", w.error);
   }
   run_until(s, &w, current_is, "base", 10000, "base current after the revert");
   char *after = tu_read(vmx);
   g_assert_cmpstr(after, ==, before);
   g_free(after);
   g_free(changed_cfg);
   g_free(before);
   g_assert_false(vmx_running(vmx));

   /* Revert to the current one (the menu's Revert to Snapshot). */
   g_assert_true(cui_snapshots_revert_current(s, &err));
   g_assert_true(wait_op(s, &w, CUI_SNAPSHOT_REVERT));

   /* Delete: second goes, and its state file. */
   const cui_snapshot *second = by_name(s, "second");
   char *dir = g_path_get_dirname(vmx);
   char *vmsn = g_build_filename(dir, "off-Snapshot2.vmsn", NULL);
   g_assert_true(tu_exists(vmsn));
   g_assert_true(cui_snapshots_delete(s, second->uid, false, &err));
   g_assert_cmpstr(cui_snapshots_progress_text(s), ==, "Deleting snapshot “second”…");
   g_assert_true(wait_op(s, &w, CUI_SNAPSHOT_DELETE));
   run_until(s, &w, count_is, GINT_TO_POINTER(1), 10000, "one snapshot left");
   g_assert_false(tu_exists(vmsn));
   g_assert_true(current_is(s, &w, "base"));

   /* A state file that is not one: the vmx refuses with its reason, naming
    * the file, and leaves the VM as it was. */
   char *vmsn1 = g_build_filename(dir, "off-Snapshot1.vmsn", NULL);
   tu_write(vmsn1, "not a checkpoint");
   g_assert_true(cui_snapshots_revert(s, by_name(s, "base")->uid, &err));
   g_assert_false(wait_op(s, &w, CUI_SNAPSHOT_REVERT));
   g_assert_nonnull(w.error);
   g_test_message("revert to a damaged snapshot: %s", w.error);
   tu_assert_contains(w.error, "cannot revert to snapshot 'base'");
   tu_assert_contains(w.error, "off-Snapshot1.vmsn");
   tu_assert_contains(w.error, "left as it was");
   g_assert_false(vmx_running(vmx));

   /* Delete with its children: nothing left. */
   g_assert_true(cui_snapshots_take(s, "child", NULL, &err));
   g_assert_true(wait_op(s, &w, CUI_SNAPSHOT_TAKE));
   run_until(s, &w, count_is, GINT_TO_POINTER(2), 10000, "two snapshots");
   g_assert_true(cui_snapshots_delete(s, by_name(s, "base")->uid, true, &err));
   g_assert_true(wait_op(s, &w, CUI_SNAPSHOT_DELETE));
   run_until(s, &w, count_is, GINT_TO_POINTER(0), 10000, "no snapshot left");
   g_assert_cmpuint(cui_snapshots_current(s), ==, 0);
   g_assert_false(cui_snapshots_revert_current(s, &err));
   tu_assert_contains(err, "no snapshot to revert to");
   g_free(err);
   g_assert_false(vmx_running(vmx));

   g_free(vmsn1);
   g_free(vmsn);
   g_free(dir);
   g_free(vmsd_path);
   cui_snapshots_free(s);
   seen_clear(&w);
   g_free(vmx);
}

/* A running vmx: the tree comes from VMDB; the vmx's refusal to take a
 * snapshot of a machine with no guest comes back as the error; a revert
 * to a powered-off snapshot powers the VM off and the vmx goes. */
static void
test_running(void)
{
   if (!tv_have_vmx()) {
      return;
   }
   char *vmx = new_vm("running", NULL);
   seen w;
   seen_init(&w);
   cui_snapshots_callbacks cb = { on_changed, on_progress, on_finished, &w };
   cui_snapshots *s = cui_snapshots_new(vmx, &cb);
   char *err = NULL;
   g_assert_true(cui_snapshots_take(s, "off1", "taken while off", &err));
   g_assert_true(wait_op(s, &w, CUI_SNAPSHOT_TAKE));
   run_until(s, &w, count_is, GINT_TO_POINTER(1), 10000, "off1");

   if (vmclient_spawn_vmx(vmx, true, &err) < 0) {
      g_error("cannot start the vmx: %s", err);
   }
   tv_remember(vmx);
   run_until(s, &w, up_in, "poweredOn", 10000, "the running vmx");
   /* The tree as the vmx publishes it. */
   g_assert_cmpuint(cui_snapshots_count(s), ==, 1);
   const cui_snapshot *off1 = cui_snapshots_at(s, 0);
   g_assert_cmpstr(off1->name, ==, "off1");
   g_assert_cmpstr(off1->description, ==, "taken while off");
   g_assert_cmpstr(off1->power_state, ==, "poweredOff");
   g_assert_true(off1->current);
   g_assert_cmpint(off1->create_time, >, 0);

   /* A change made by someone else (vmrun) arrives through VMDB. */
   char *warning = NULL;
   if (cui_snapshot_command(vmx, "deleteSnapshot", "off1", NULL, 60000, &err, &warning) < 0) {
      g_error("deleteSnapshot from outside: %s", err);
   }
   g_assert_null(warning);
   run_until(s, &w, count_is, GINT_TO_POINTER(0), 10000, "the delete made from outside");
   g_assert_true(cui_snapshots_vmx_up(s));
   g_assert_true(vmx_running(vmx));
   if (cui_snapshot_command(vmx, "snapshot", "off1", NULL, 60000, &err, NULL) == 0) {
      g_error("a snapshot of an idle machine was taken");
   }
   g_clear_pointer(&err, g_free);

   /* The idle machine has no guest state: the vmx says so; it runs on. */
   g_assert_true(cui_snapshots_take(s, "on1", NULL, &err));
   g_assert_false(wait_op(s, &w, CUI_SNAPSHOT_TAKE));
   g_test_message("snapshot of a running idle machine: %s", w.error);
   tu_assert_contains(w.error, "runs no guest: there is no state to save");
   g_assert_true(up_in(s, &w, "poweredOn"));
   g_assert_cmpuint(cui_snapshots_count(s), ==, 0);
   cui_snapshots_free(s);
   seen_clear(&w);

   /* Back to a powered-off snapshot: stop the vmx, take one, start it
    * again, revert. */
   vmclient *c = vmclient_connect(vmx, 5000, &err);
   g_assert_nonnull(c);
   g_assert_cmpint(vmclient_command(c, "powerOff", NULL, NULL, 30000, &err), ==, 0);
   vmclient_free(c);
   for (int i = 0; i < 100 && vmx_running(vmx); i++) {
      g_usleep(50000);
   }
   g_assert_false(vmx_running(vmx));
   seen_init(&w);
   s = cui_snapshots_new(vmx, &cb);
   g_assert_true(cui_snapshots_take(s, "off2", NULL, &err));
   g_assert_true(wait_op(s, &w, CUI_SNAPSHOT_TAKE));
   char *dir = g_path_get_dirname(vmx);
   char *vmsd_path = vmsd_path_for(vmx);
   if (vmclient_spawn_vmx(vmx, true, &err) < 0) {
      g_error("cannot start the vmx: %s", err);
   }
   tv_remember(vmx);
   run_until(s, &w, up_in, "poweredOn", 10000, "the running vmx again");
   g_assert_true(current_is(s, &w, "off2"));
   g_assert_true(cui_snapshots_revert_current(s, &err));
   g_assert_true(wait_op(s, &w, CUI_SNAPSHOT_REVERT));
   run_until(s, &w, down_in, "poweredOff", 20000, "powered off after the revert, vmx gone");
   for (int i = 0; i < 100 && vmx_running(vmx); i++) {
      g_usleep(50000);
   }
   g_assert_false(vmx_running(vmx));
   g_assert_cmpuint(cui_snapshots_count(s), ==, 1);
   g_assert_true(current_is(s, &w, "off2"));
   g_free(vmsd_path);
   g_free(dir);
   cui_snapshots_free(s);
   seen_clear(&w);
   g_free(vmx);
}

/* The owner goes away while an operation runs: it completes in the vmx,
 * no callback comes, nothing crashes. */
static void
test_free_while_busy(void)
{
   if (!tv_have_vmx()) {
      return;
   }
   char *vmx = new_vm("orphan", NULL);
   seen w;
   seen_init(&w);
   cui_snapshots_callbacks cb = { on_changed, on_progress, on_finished, &w };
   cui_snapshots *s = cui_snapshots_new(vmx, &cb);
   char *err = NULL;
   g_assert_true(cui_snapshots_take(s, "orphaned", NULL, &err));
   cui_snapshots_free(s);
   int changed = w.changed;
   cui_snapshots *q = cui_snapshots_new(vmx, NULL);
   run_until(q, &w, count_is, GINT_TO_POINTER(1), 30000, "the orphaned snapshot");
   for (int i = 0; i < 50; i++) {
      g_main_context_iteration(NULL, FALSE);
      g_usleep(10000);
   }
   g_assert_cmpint(w.finished, ==, 0);
   g_assert_cmpint(w.changed, ==, changed);
   cui_snapshots_free(q);
   seen_clear(&w);
   g_free(vmx);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   tu_init("cui-snapshots");
   tv_init(); /* never leave a vmx behind */
   g_test_add_func("/cui/snapshots/words", test_words);
   g_test_add_func("/cui/snapshots/empty", test_empty);
   g_test_add_func("/cui/snapshots/vmware-vmsd", test_vmware_vmsd);
   g_test_add_func("/cui/snapshots/tree-and-changes", test_tree_and_changes);
   g_test_add_func("/cui/snapshots/powered-off", test_powered_off);
   g_test_add_func("/cui/snapshots/running", test_running);
   g_test_add_func("/cui/snapshots/free-while-busy", test_free_while_busy);
   return g_test_run();
}
