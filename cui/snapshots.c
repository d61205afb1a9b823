/*
 * cui/snapshots.c - one VM's snapshot tree, watched live, and the snapshot
 * operations on a worker thread. See snapshots.h.
 *
 * Lifetime: the object is reference counted, as cui_power is. The owner
 * holds one reference (dropped by cui_snapshots_free, which also marks the
 * object dead and stops the watch); a running operation holds another
 * until its result has been delivered (or dropped).
 */
#include "cui/snapshots.h"
#include "cui/vmclient.h"
#include "cui/vmwatch.h"
#include "lib/rundir.h"
#include "vmx/config.h"
#include "vmx/vmsd.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMD_TIMEOUT_MS (60 * 1000)
/* Writing or checking a snapshot of a large VM takes a while (as vmrun). */
#define SNAPSHOT_TIMEOUT_MS (30 * 60 * 1000)

/* ---- operations, as words */

static const struct {
   const char *label, *verb, *request, *progress;   /* progress: before the name */
} op_text[CUI_SNAPSHOT_N_OPS] = {
   [CUI_SNAPSHOT_TAKE] = { "Take Snapshot", "take a snapshot of", "snapshot",
                           "Taking snapshot" },
   [CUI_SNAPSHOT_REVERT] = { "Revert to Snapshot", "revert", "revertToSnapshot",
                             "Reverting to snapshot" },
   [CUI_SNAPSHOT_DELETE] = { "Delete Snapshot", "delete a snapshot of", "deleteSnapshot",
                             "Deleting snapshot" },
};

const char *
cui_snapshot_op_label(cui_snapshot_op op)
{
   return op < CUI_SNAPSHOT_N_OPS ? op_text[op].label : "?";
}

const char *
cui_snapshot_op_verb(cui_snapshot_op op)
{
   return op < CUI_SNAPSHOT_N_OPS ? op_text[op].verb : "change the snapshots of";
}

const char *
cui_snapshot_op_request(cui_snapshot_op op)
{
   return op < CUI_SNAPSHOT_N_OPS ? op_text[op].request : "?";
}

bool
cui_snapshot_op_allowed(cui_snapshot_op op, const char *st)
{
   /* What vmx/main/snapshot.c takes: a VM at rest in one of the four
    * states, never one on its way between two. */
   static const char *const ok[] = { "poweredOn", "paused", "suspended", "poweredOff", NULL };
   return op < CUI_SNAPSHOT_N_OPS && st && g_strv_contains(ok, st);
}

char *
cui_snapshot_time_label(gint64 t)
{
   if (t <= 0) {
      return g_strdup("");
   }
   GDateTime *d = g_date_time_new_from_unix_local(t);
   if (!d) {
      return g_strdup("");
   }
   char *s = g_date_time_format(d, "%Y-%m-%d %H:%M");
   g_date_time_unref(d);
   return s ? s : g_strdup("");
}

/* ---- the request, as vmrun makes it */

/* Whether a vmx (possibly one on its way out) holds the VM's lock. */
static bool
lock_held(const char *abs)
{
   char *lock = vmws_runtime_path(abs, ".lock", NULL);
   if (!lock) {
      return false;
   }
   int fd = open(lock, O_RDONLY | O_CLOEXEC);
   g_free(lock);
   if (fd < 0) {
      return false;
   }
   bool held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
   close(fd);
   return held;
}

/* Wait (up to timeout_ms) until no vmx holds the VM's lock. */
static bool
wait_lock_free(const char *abs, int timeout_ms)
{
   gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
   while (lock_held(abs)) {
      if (g_get_monotonic_time() >= end) {
         return false;
      }
      g_usleep(50 * 1000);
   }
   return true;
}

/* A connection to the vmx of abs; when none runs, start one that does not
 * power on (*spawned). A vmx that is just exiting (after a suspend or a
 * power-off) still holds the lock for a moment: wait for it. */
static vmclient *
connect_or_spawn(const char *abs, bool *spawned, char **err)
{
   *spawned = false;
   gint64 end = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
   for (;;) {
      char *cerr = NULL;
      vmclient *c = vmclient_connect(abs, 5000, &cerr);
      g_free(cerr);
      if (c) {
         return c;
      }
      char *serr = NULL;
      if (vmclient_spawn_vmx(abs, false, &serr) == 0) {
         c = vmclient_connect(abs, 10000, err);
         *spawned = c != NULL;
         return c;
      }
      if (!lock_held(abs) || g_get_monotonic_time() >= end) {
         *err = serr;
         return NULL;
      }
      g_free(serr);
      g_usleep(100 * 1000);
   }
}

int
cui_snapshot_command(const char *abs, const char *op, const char *arg, const char *arg2,
                     int timeout_ms, char **err, char **warning)
{
   bool spawned;
   char *why = NULL;
   vmclient *c = connect_or_spawn(abs, &spawned, &why);
   if (!c) {
      *err = g_strdup_printf("Cannot start a vmx for %s: %s", abs, why);
      g_free(why);
      return -1;
   }
   int rc = vmclient_command(c, op, arg, arg2, timeout_ms, err);
   if (spawned && vmclient_connected(c)) {
      /* Ours: it goes again unless the VM now runs. */
      char *st = vmclient_get(c, "/vm/runtime/powerState");
      if (st && (!strcmp(st, "poweredOff") || !strcmp(st, "suspended"))) {
         char *qerr = NULL;
         if (vmclient_command(c, "quit", NULL, NULL, CMD_TIMEOUT_MS, &qerr) < 0) {
            if (warning) {
               *warning = g_strdup_printf("the vmx started for the snapshot command did not "
                                          "quit: %s",
                                          qerr);
            }
            g_free(qerr);
         }
      }
      g_free(st);
      vmclient_free(c);
      c = NULL;
      /* So that a command right after this one finds the VM free. */
      wait_lock_free(abs, 10000);
   }
   vmclient_free(c);
   return rc < 0 ? -1 : 0;
}

/* ---- the model */

struct cui_snapshots {
   gint refs;
   bool dead;
   char *vmx;
   char *vmsd_path;
   GMainContext *mc;
   cui_snapshots_callbacks cb;

   /* The watch. */
   cui_vmwatch *watch;
   char *file_key;              /* the .vmx's and .vmsd's identity when read */
   char *file_state;            /* without a vmx: poweredOff or suspended */
   vmsd *file_tree;             /* without a vmx: the .vmsd as read */
   char *file_error;

   /* What is shown. */
   char *state;
   vmsd *tree;                  /* the rows point into it */
   GArray *rows;                /* cui_snapshot, depth first */
   char *error;
   char *signature;             /* the tree and everything else shown, to notice changes */
   bool up;

   /* The operation. */
   bool busy;
   cui_snapshot_op op;
   char *op_name;               /* the snapshot's name, for the progress text */
   int progress;
   char *progress_text;
   GCancellable *cancel;
};

static cui_snapshots *
snaps_ref(cui_snapshots *s)
{
   g_atomic_int_inc(&s->refs);
   return s;
}

static void
snaps_unref(cui_snapshots *s)
{
   if (!g_atomic_int_dec_and_test(&s->refs)) {
      return;
   }
   cui_vmwatch_free(s->watch);
   g_clear_object(&s->cancel);
   g_main_context_unref(s->mc);
   g_free(s->vmx);
   g_free(s->vmsd_path);
   g_free(s->file_key);
   g_free(s->file_state);
   vmsd_free(s->file_tree);
   g_free(s->file_error);
   g_free(s->state);
   vmsd_free(s->tree);
   g_array_unref(s->rows);
   g_free(s->error);
   g_free(s->signature);
   g_free(s->op_name);
   g_free(s->progress_text);
   g_free(s);
}

/* ---- the tree from VMDB (as the vmx publishes it) */

typedef struct snap_row {
   int64_t index;
   uint32_t uid, parent;
   char *name, *description, *power_state;
   int64_t create_time;
} snap_row;

static gint
row_cmp(gconstpointer a, gconstpointer b)
{
   const snap_row *x = *(const snap_row *const *)a, *y = *(const snap_row *const *)b;
   return x->index < y->index ? -1 : x->index > y->index;
}

static void
row_free(gpointer p)
{
   snap_row *r = p;
   g_free(r->name);
   g_free(r->description);
   g_free(r->power_state);
   g_free(r);
}

static char *
get_field(vmdb_ctx *ctx, const char *id, const char *field)
{
   char p[160];
   g_snprintf(p, sizeof p, "/vm/snapshot/%s/%s", id, field);
   char *v = vmdb_get_str(ctx, p);
   return v ? v : g_strdup("");
}

static int64_t
get_int_field(vmdb_ctx *ctx, const char *id, const char *field)
{
   char p[160];
   g_snprintf(p, sizeof p, "/vm/snapshot/%s/%s", id, field);
   return vmdb_get_int(ctx, p, 0);
}

vmsd *
cui_snapshot_tree_from_vmdb(vmdb_ctx *ctx, char **err)
{
   char *e = vmdb_has(ctx, "/vm/snapshot/error") ? vmdb_get_str(ctx, "/vm/snapshot/error")
                                                 : NULL;
   if (e && *e) {
      *err = e;
      return NULL;
   }
   g_free(e);
   char **ids = vmdb_list(ctx, "/vm/snapshot");
   GPtrArray *rows = g_ptr_array_new_with_free_func(row_free);
   for (char **id = ids; id && *id; id++) {
      if ((*id)[0] != '#') {
         continue;
      }
      snap_row *r = g_new0(snap_row, 1);
      r->uid = (uint32_t)get_int_field(ctx, *id, "uid");
      r->parent = (uint32_t)get_int_field(ctx, *id, "parent");
      r->index = get_int_field(ctx, *id, "index");
      r->create_time = get_int_field(ctx, *id, "createTime");
      r->name = get_field(ctx, *id, "name");
      r->description = get_field(ctx, *id, "description");
      r->power_state = get_field(ctx, *id, "powerState");
      g_ptr_array_add(rows, r);
   }
   g_strfreev(ids);
   g_ptr_array_sort(rows, row_cmp);
   vmsd *tree = vmsd_new();
   bool ok = true;
   for (guint i = 0; ok && i < rows->len; i++) {
      snap_row *r = g_ptr_array_index(rows, i);
      vmsd_snapshot *sn = vmsd_add(tree, r->uid, r->parent);
      ok = sn != NULL;
      if (sn) {
         vmsd_snapshot_set_name(sn, r->name);
         vmsd_snapshot_set_description(sn, r->description);
         vmsd_snapshot_set_power_state(sn, r->power_state);
         sn->create_time_us = r->create_time * G_USEC_PER_SEC;
      }
   }
   g_ptr_array_free(rows, TRUE);
   uint32_t cur = (uint32_t)vmdb_get_int(ctx, "/vm/snapshot/currentUid", 0);
   char *why = NULL;
   if (ok && cur && !vmsd_set_current(tree, cur)) {
      why = g_strdup_printf("the current snapshot (uid %u) is not in the tree", cur);
      ok = false;
   }
   if (!ok || !vmsd_check(tree, &why)) {
      *err = g_strdup_printf("the vmx publishes a broken snapshot tree%s%s", why ? ": " : "",
                             why ? why : "");
      g_free(why);
      vmsd_free(tree);
      return NULL;
   }
   return tree;
}

/* ---- what is shown, and telling the owner */

typedef struct flat_ctx {
   GArray *rows;
   const vmsd *tree;
} flat_ctx;

static void
flat_one(const vmsd_snapshot *sn, unsigned depth, void *user)
{
   flat_ctx *f = user;
   cui_snapshot r = {
      .uid = sn->uid,
      .parent = sn->parent,
      .depth = depth,
      .name = sn->display_name,
      .description = sn->description,
      .create_time = sn->create_time_us / G_USEC_PER_SEC,
      .power_state = sn->power_state,
      .current = sn->uid == vmsd_current(f->tree),
   };
   for (unsigned i = 0; i < vmsd_count(f->tree); i++) {
      r.n_children += vmsd_at(f->tree, i)->parent == sn->uid;
   }
   g_array_append_val(f->rows, r);
}

/* Show tree (taken over; NULL with error), state and up; true when
 * anything shown changed. */
static bool
show(cui_snapshots *s, vmsd *tree, const char *error, const char *state, bool up)
{
   char *text = tree ? vmsd_write(tree, NULL) : g_strdup("");
   char *sig = g_strdup_printf("%s\n%s\n%d\n%s", state, error ? error : "", up, text);
   g_free(text);
   if (!g_strcmp0(sig, s->signature)) {
      g_free(sig);
      vmsd_free(tree);
      return false;
   }
   g_free(s->signature);
   s->signature = sig;
   g_array_set_size(s->rows, 0);
   vmsd_free(s->tree);
   s->tree = tree;
   if (tree) {
      flat_ctx f = { s->rows, tree };
      vmsd_foreach_tree(tree, flat_one, &f);
   }
   g_free(s->error);
   s->error = g_strdup(error);
   g_free(s->state);
   s->state = g_strdup(state);
   s->up = up;
   return true;
}

static void
emit_changed(cui_snapshots *s)
{
   if (!s->dead && s->cb.changed) {
      s->cb.changed(s, s->cb.user);
   }
}

static void
set_progress_text(cui_snapshots *s)
{
   g_free(s->progress_text);
   if (!s->busy) {
      s->progress_text = g_strdup("");
      return;
   }
   char *base = g_strdup_printf("%s “%s”…", op_text[s->op].progress, s->op_name ? s->op_name : "");
   s->progress_text = s->progress >= 0 ? g_strdup_printf("%s %d%%", base, s->progress)
                                       : g_strdup(base);
   g_free(base);
}

/* The checkpoint progress the vmx publishes, while an operation runs. */
static void
take_progress(cui_snapshots *s)
{
   int pct = -1;
   vmdb_ctx *ctx = s->watch ? cui_vmwatch_ctx(s->watch) : NULL;
   if (s->busy && ctx) {
      char *ck = vmdb_get_str(ctx, "/vm/runtime/checkpoint/op");
      if (ck && *ck) {
         pct = (int)CLAMP(vmdb_get_int(ctx, "/vm/runtime/checkpoint/progress", 0), 0, 100);
      }
      g_free(ck);
   }
   if (pct != s->progress) {
      s->progress = pct;
      set_progress_text(s);
      if (!s->dead && s->cb.progress) {
         s->cb.progress(s, s->cb.user);
      }
   }
}

/* ---- the watch: the vmx's VMDB, or the files */

/* The .vmx's suspended state and the .vmsd, read again only when either
 * file changed (identity, size or times). */
static void
read_files(cui_snapshots *s)
{
   GString *key = g_string_new(NULL);
   const char *files[] = { s->vmx, s->vmsd_path };
   for (size_t i = 0; i < G_N_ELEMENTS(files); i++) {
      struct stat st;
      if (stat(files[i], &st) == 0) {
         g_string_append_printf(key, "%ju:%ju:%jd:%jd.%09ld:%jd.%09ld;", (uintmax_t)st.st_dev,
                                (uintmax_t)st.st_ino, (intmax_t)st.st_size,
                                (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                                (intmax_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
      } else {
         g_string_append(key, "gone;");
      }
   }
   if (s->file_state && !g_strcmp0(key->str, s->file_key)) {
      g_string_free(key, TRUE);
      return;
   }
   g_free(s->file_key);
   s->file_key = g_string_free(key, FALSE);
   char *err = NULL;
   vmxcfg *cfg = vmxcfg_load(s->vmx, &err);
   const char *ck = cfg ? vmxcfg_get(cfg, "checkpoint.vmState") : NULL;
   g_free(s->file_state);
   s->file_state = g_strdup(ck && *ck ? "suspended" : "poweredOff");
   vmxcfg_free(cfg);
   g_clear_pointer(&err, g_free);
   vmsd_free(s->file_tree);
   g_clear_pointer(&s->file_error, g_free);
   s->file_tree = vmsd_load(s->vmsd_path, &s->file_error);
}

/* Take what the source says now; true when anything shown changed. */
static bool
take_current(cui_snapshots *s)
{
   vmdb_ctx *ctx = s->watch ? cui_vmwatch_ctx(s->watch) : NULL;
   if (ctx) {
      char *err = NULL;
      vmsd *tree = cui_snapshot_tree_from_vmdb(ctx, &err);
      char *st = vmdb_get_str(ctx, "/vm/runtime/powerState");
      bool changed = show(s, tree, err, st && *st ? st : "poweredOff", true);
      g_free(st);
      g_free(err);
      take_progress(s);
      return changed;
   }
   read_files(s);
   vmsd *copy = NULL;
   if (s->file_tree) {
      /* The shown tree is replaced on every change: keep the file's. */
      size_t n = 0;
      char *text = vmsd_write(s->file_tree, &n);
      char *err = NULL;
      copy = vmsd_parse(text, n, s->vmsd_path, &err);
      g_free(err);
      g_free(text);
   }
   take_progress(s);
   return show(s, copy, s->file_error, s->file_state, false);
}

/* Look now: connect when a vmx serves the VM (the tree follows once its
 * mirror has synced), else read the files. True when anything shown
 * changed. */
static bool
look(cui_snapshots *s)
{
   bool connected = cui_vmwatch_update(s->watch);
   return (!connected || cui_vmwatch_up(s->watch)) && take_current(s);
}

static void
on_watch_changed(void *user)
{
   cui_snapshots *s = user;
   if (take_current(s)) {
      emit_changed(s);
   }
}

static void
on_watch_idle(bool lost, void *user)
{
   cui_snapshots *s = user;
   if (take_current(s) || lost) {
      emit_changed(s);
   }
}

/* ---- the public object */

cui_snapshots *
cui_snapshots_new(const char *abs_vmx, const cui_snapshots_callbacks *cb)
{
   cui_snapshots *s = g_new0(cui_snapshots, 1);
   s->refs = 1;
   s->vmx = g_strdup(abs_vmx);
   s->vmsd_path = vmsd_path_for(abs_vmx);
   s->mc = g_main_context_ref_thread_default();
   if (cb) {
      s->cb = *cb;
   }
   s->rows = g_array_new(FALSE, TRUE, sizeof(cui_snapshot));
   s->progress = -1;
   s->progress_text = g_strdup("");
   s->state = g_strdup("poweredOff");
   static const char *const subtrees[] = { "/vm/snapshot", "/vm/runtime", NULL };
   static const cui_vmwatch_callbacks wcb = { .changed = on_watch_changed,
                                              .idle = on_watch_idle };
   s->watch = cui_vmwatch_new(abs_vmx, subtrees, &wcb, s);
   if (!cui_vmwatch_connected(s->watch)) {
      take_current(s);   /* the files; with a vmx the tree follows its sync */
   }
   return s;
}

void
cui_snapshots_free(cui_snapshots *s)
{
   if (!s) {
      return;
   }
   s->dead = true;
   memset(&s->cb, 0, sizeof s->cb);
   cui_vmwatch_free(s->watch);
   s->watch = NULL;
   snaps_unref(s);
}

const char *
cui_snapshots_vmx_path(const cui_snapshots *s)
{
   return s->vmx;
}

void
cui_snapshots_refresh(cui_snapshots *s)
{
   if (look(s)) {
      emit_changed(s);
   }
}

bool
cui_snapshots_vmx_up(const cui_snapshots *s)
{
   return s->watch && cui_vmwatch_up(s->watch);
}

const char *
cui_snapshots_power_state(const cui_snapshots *s)
{
   return s->state ? s->state : "poweredOff";
}

const char *
cui_snapshots_error(const cui_snapshots *s)
{
   return s->error;
}

unsigned
cui_snapshots_count(const cui_snapshots *s)
{
   return s->rows->len;
}

const cui_snapshot *
cui_snapshots_at(const cui_snapshots *s, unsigned i)
{
   return i < s->rows->len ? &g_array_index(s->rows, cui_snapshot, i) : NULL;
}

const cui_snapshot *
cui_snapshots_get(const cui_snapshots *s, uint32_t uid)
{
   for (guint i = 0; uid && i < s->rows->len; i++) {
      if (g_array_index(s->rows, cui_snapshot, i).uid == uid) {
         return &g_array_index(s->rows, cui_snapshot, i);
      }
   }
   return NULL;
}

uint32_t
cui_snapshots_current(const cui_snapshots *s)
{
   return s->tree ? vmsd_current(s->tree) : 0;
}

char *
cui_snapshots_path_name(const cui_snapshots *s, uint32_t uid)
{
   return cui_snapshots_get(s, uid) ? vmsd_path_name(s->tree, uid) : NULL;
}

bool
cui_snapshots_busy(const cui_snapshots *s, cui_snapshot_op *op)
{
   if (s->busy && op) {
      *op = s->op;
   }
   return s->busy;
}

int
cui_snapshots_progress(const cui_snapshots *s)
{
   return s->busy ? s->progress : -1;
}

const char *
cui_snapshots_progress_text(const cui_snapshots *s)
{
   return s->progress_text ? s->progress_text : "";
}

bool
cui_snapshots_name_ok(const cui_snapshots *s, const char *name, char **err)
{
   char *why = NULL;
   if (!name || !vmsd_name_valid(name, &why)) {
      if (err) {
         *err = why ? why : g_strdup("a snapshot needs a name");
      } else {
         g_free(why);
      }
      return false;
   }
   for (guint i = 0; i < s->rows->len; i++) {
      if (!strcmp(g_array_index(s->rows, cui_snapshot, i).name, name)) {
         if (err) {
            *err = g_strdup_printf("there is already a snapshot named '%s'; choose another name",
                                   name);
         }
         return false;
      }
   }
   return true;
}

bool
cui_snapshots_can(const cui_snapshots *s, cui_snapshot_op op, char **err)
{
   char *why = NULL;
   if (op >= CUI_SNAPSHOT_N_OPS) {
      why = g_strdup_printf("unknown snapshot operation %d", (int)op);
   } else if (s->busy) {
      why = g_strdup_printf("%s is still in progress", cui_snapshot_op_label(s->op));
   } else if (s->error) {
      why = g_strdup(s->error);
   } else if (!cui_snapshot_op_allowed(op, cui_snapshots_power_state(s))) {
      char *what = g_ascii_strdown(cui_snapshots_power_state(s), -1);
      why = g_strdup_printf("%s is not possible while the virtual machine is %s (wait until it "
                            "is powered on, paused, suspended or powered off)",
                            cui_snapshot_op_label(op), what);
      g_free(what);
   } else if (op == CUI_SNAPSHOT_REVERT && !cui_snapshots_current(s) && s->rows->len == 0) {
      why = g_strdup("the virtual machine has no snapshot to revert to; take one first");
   } else if (op == CUI_SNAPSHOT_DELETE && s->rows->len == 0) {
      why = g_strdup("the virtual machine has no snapshot to delete");
   }
   if (why && err) {
      *err = why;
   } else {
      g_free(why);
   }
   return why == NULL;
}

/* ---- the operations, on a worker thread */

typedef struct op_job {
   cui_snapshots *s;
   cui_snapshot_op op;
   char *vmx;
   char *arg, *arg2;
   char *error;   /* the result: NULL when it worked */
} op_job;

static void
op_job_free(gpointer data)
{
   op_job *j = data;
   g_free(j->vmx);
   g_free(j->arg);
   g_free(j->arg2);
   g_free(j->error);
   g_free(j);
}

static void
op_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
   op_job *j = data;
   char *err = NULL, *warning = NULL;
   if (cui_snapshot_command(j->vmx, cui_snapshot_op_request(j->op), j->arg, j->arg2,
                            SNAPSHOT_TIMEOUT_MS, &err, &warning) < 0) {
      j->error = err ? err : g_strdup("the vmx did not say why");
   }
   if (warning) {
      g_message("%s: %s", j->vmx, warning);
      g_free(warning);
   }
   g_task_return_boolean(task, j->error == NULL);
}

static void
op_done(GObject *source, GAsyncResult *res, gpointer user)
{
   op_job *j = g_task_get_task_data(G_TASK(res));
   cui_snapshots *s = j->s;
   g_clear_object(&s->cancel);
   s->busy = false;
   s->progress = -1;
   set_progress_text(s);
   if (!s->dead) {
      /* A vmx started for the request may have come and gone, or a
       * revert left one running: look now rather than at the next retry. */
      bool changed = look(s);
      if (s->cb.op_finished) {
         s->cb.op_finished(s, j->op, j->error == NULL, j->error, s->cb.user);
      }
      if (changed) {
         emit_changed(s);
      }
   }
   snaps_unref(s);
}

static bool
launch(cui_snapshots *s, cui_snapshot_op op, const char *label, const char *arg,
       const char *arg2)
{
   s->busy = true;
   s->op = op;
   g_free(s->op_name);
   s->op_name = g_strdup(label);
   s->progress = -1;
   set_progress_text(s);
   s->cancel = g_cancellable_new();
   op_job *j = g_new0(op_job, 1);
   j->s = snaps_ref(s);
   j->op = op;
   j->vmx = g_strdup(s->vmx);
   j->arg = g_strdup(arg);
   j->arg2 = g_strdup(arg2);
   /* The task's callback runs in the thread-default context of this
    * thread, which must be s->mc. */
   g_main_context_push_thread_default(s->mc);
   GTask *t = g_task_new(NULL, s->cancel, op_done, NULL);
   g_main_context_pop_thread_default(s->mc);
   g_task_set_task_data(t, j, op_job_free);
   g_task_set_return_on_cancel(t, FALSE);
   g_task_run_in_thread(t, op_thread);
   g_object_unref(t);
   if (s->cb.progress) {
      s->cb.progress(s, s->cb.user);
   }
   return true;
}

/* How the vmx is told which snapshot: its name when no other has it (a
 * name VMware allowed may hold a '/'), else its path from the root. */
static char *
target_name(const cui_snapshots *s, uint32_t uid)
{
   const cui_snapshot *sn = cui_snapshots_get(s, uid);
   unsigned same = 0;
   for (guint i = 0; i < s->rows->len; i++) {
      same += !strcmp(g_array_index(s->rows, cui_snapshot, i).name, sn->name);
   }
   return same == 1 ? g_strdup(sn->name) : vmsd_path_name(s->tree, uid);
}

bool
cui_snapshots_take(cui_snapshots *s, const char *name, const char *description, char **err)
{
   if (!cui_snapshots_can(s, CUI_SNAPSHOT_TAKE, err) || !cui_snapshots_name_ok(s, name, err)) {
      return false;
   }
   description = description ? description : "";
   if (strlen(description) > VMSD_DESCRIPTION_MAX || !g_utf8_validate(description, -1, NULL)) {
      *err = g_strdup_printf("the description must be UTF-8 text of at most %u bytes",
                             VMSD_DESCRIPTION_MAX);
      return false;
   }
   return launch(s, CUI_SNAPSHOT_TAKE, name, name, description);
}

bool
cui_snapshots_revert(cui_snapshots *s, uint32_t uid, char **err)
{
   if (!cui_snapshots_can(s, CUI_SNAPSHOT_REVERT, err)) {
      return false;
   }
   const cui_snapshot *sn = cui_snapshots_get(s, uid);
   if (!sn) {
      *err = g_strdup_printf("the virtual machine has no snapshot with uid %u (it may have been "
                             "deleted meanwhile)",
                             uid);
      return false;
   }
   char *target = target_name(s, uid);
   bool ok = launch(s, CUI_SNAPSHOT_REVERT, sn->name, target, NULL);
   g_free(target);
   return ok;
}

bool
cui_snapshots_revert_current(cui_snapshots *s, char **err)
{
   if (!cui_snapshots_can(s, CUI_SNAPSHOT_REVERT, err)) {
      return false;
   }
   uint32_t cur = cui_snapshots_current(s);
   if (!cur) {
      *err = g_strdup("the virtual machine has no current snapshot to revert to (choose one in "
                      "the Snapshot Manager)");
      return false;
   }
   return cui_snapshots_revert(s, cur, err);
}

bool
cui_snapshots_delete(cui_snapshots *s, uint32_t uid, bool with_children, char **err)
{
   if (!cui_snapshots_can(s, CUI_SNAPSHOT_DELETE, err)) {
      return false;
   }
   const cui_snapshot *sn = cui_snapshots_get(s, uid);
   if (!sn) {
      *err = g_strdup_printf("the virtual machine has no snapshot with uid %u (it may have been "
                             "deleted meanwhile)",
                             uid);
      return false;
   }
   char *target = target_name(s, uid);
   bool ok = launch(s, CUI_SNAPSHOT_DELETE, sn->name, target,
                    with_children ? "andDeleteChildren" : NULL);
   g_free(target);
   return ok;
}
