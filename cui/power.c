/*
 * cui/power.c - one VM's power state, watched live, and its power
 * operations on a worker thread. See power.h.
 *
 * Lifetime: the object is reference counted. The owner holds one
 * reference (dropped by cui_power_free, which also marks the object dead
 * and stops the watch); a running operation holds another until its
 * result has been delivered (or dropped, when the owner is gone).
 */
#include "cui/power.h"
#include "cui/vmclient.h"
#include "cui/vmwatch.h"
#include "vmx/config.h"

#include <gio/gio.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#define CONNECT_TIMEOUT_MS 5000
#define COMMAND_TIMEOUT_MS (2 * 60 * 1000)
#define STATE_TIMEOUT_MS (60 * 1000)
#define WAIT_SLICE_MS 250

struct cui_power {
   gint refs;
   bool dead;
   char *vmx;
   GMainContext *mc;
   cui_power_callbacks cb;

   /* The watch. */
   cui_vmwatch *watch;
   char *state;
   char *file_state;            /* without a vmx: poweredOff or suspended */
   char *file_key;              /* the .vmx's identity and times when read */

   /* The operation. */
   bool busy;
   cui_power_op op;
   cui_power_op queued;         /* to run when this one ends; N_OPS: none */
   GCancellable *cancel;
};

/* ---- operations, as words */

static const struct {
   const char *name, *label, *progress;
} op_text[CUI_POWER_N_OPS] = {
   [CUI_POWER_ON] = { "power-on", "Power On", "Powering on…" },
   [CUI_POWER_SHUTDOWN] = { "shut-down", "Shut Down Guest", "Shutting down the guest…" },
   [CUI_POWER_OFF] = { "power-off", "Power Off", "Powering off…" },
   [CUI_POWER_SUSPEND] = { "suspend", "Suspend", "Suspending…" },
   [CUI_POWER_RESUME] = { "resume", "Resume", "Resuming…" },
   [CUI_POWER_RESET] = { "reset", "Reset", "Resetting…" },
   [CUI_POWER_PAUSE] = { "pause", "Pause", "Pausing…" },
   [CUI_POWER_UNPAUSE] = { "unpause", "Unpause", "Unpausing…" },
};

const char *
cui_power_op_label(cui_power_op op)
{
   return op < CUI_POWER_N_OPS ? op_text[op].label : "?";
}

const char *
cui_power_op_progress(cui_power_op op)
{
   return op < CUI_POWER_N_OPS ? op_text[op].progress : "?";
}

const char *
cui_power_op_name(cui_power_op op)
{
   return op < CUI_POWER_N_OPS ? op_text[op].name : "?";
}

bool
cui_power_op_from_name(const char *name, cui_power_op *out)
{
   for (int i = 0; name && i < CUI_POWER_N_OPS; i++) {
      if (!strcmp(name, op_text[i].name)) {
         *out = (cui_power_op)i;
         return true;
      }
   }
   return false;
}

static bool
state_is(const char *state, const char *s)
{
   return state && !strcmp(state, s);
}

bool
cui_power_op_allowed(cui_power_op op, const char *st)
{
   bool on = state_is(st, "poweredOn"), paused = state_is(st, "paused");
   switch (op) {
   case CUI_POWER_ON:
      return state_is(st, "poweredOff");
   case CUI_POWER_RESUME:
      return state_is(st, "suspended");
   case CUI_POWER_SHUTDOWN:
   case CUI_POWER_PAUSE:
      return on;
   case CUI_POWER_OFF:
   case CUI_POWER_SUSPEND:
   case CUI_POWER_RESET:
      return on || paused;
   case CUI_POWER_UNPAUSE:
      return paused;
   case CUI_POWER_N_OPS:
      break;
   }
   return false;
}

const char *
cui_power_state_label(const char *st)
{
   static const char *const names[][2] = {
      { "poweredOff", "Powered off" },   { "poweringOn", "Powering on" },
      { "poweredOn", "Powered on" },     { "paused", "Paused" },
      { "suspending", "Suspending" },    { "suspended", "Suspended" },
      { "poweringOff", "Powering off" },
   };
   for (size_t i = 0; st && i < G_N_ELEMENTS(names); i++) {
      if (!strcmp(st, names[i][0])) {
         return names[i][1];
      }
   }
   return st ? st : "Unknown";
}

/* ---- reference counting */

static cui_power *
power_ref(cui_power *p)
{
   g_atomic_int_inc(&p->refs);
   return p;
}

static void
power_unref(cui_power *p)
{
   if (!g_atomic_int_dec_and_test(&p->refs)) {
      return;
   }
   cui_vmwatch_free(p->watch);
   g_clear_object(&p->cancel);
   g_main_context_unref(p->mc);
   g_free(p->state);
   g_free(p->file_state);
   g_free(p->file_key);
   g_free(p->vmx);
   g_free(p);
}

/* ---- the watch */

static void
emit_changed(cui_power *p)
{
   if (!p->dead && p->cb.changed) {
      p->cb.changed(p, p->cb.user);
   }
}

static void
set_state(cui_power *p, const char *st)
{
   if (g_strcmp0(p->state, st) != 0) {
      g_free(p->state);
      p->state = g_strdup(st);
   }
}

/* The state the .vmx records (read again only when the file changed: its
 * identity, size or times; timestamps alone may not tell two writes in
 * the same clock tick apart, but an atomic rewrite is a new inode). */
static const char *
file_state(cui_power *p)
{
   struct stat st;
   bool there = stat(p->vmx, &st) == 0;
   char *key = there ? g_strdup_printf("%ju:%ju:%jd:%jd.%09ld:%jd.%09ld", (uintmax_t)st.st_dev,
                                       (uintmax_t)st.st_ino, (intmax_t)st.st_size,
                                       (intmax_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                                       (intmax_t)st.st_ctim.tv_sec, st.st_ctim.tv_nsec)
                     : g_strdup("gone");
   if (!p->file_state || g_strcmp0(key, p->file_key) != 0) {
      char *err = NULL;
      vmxcfg *cfg = there ? vmxcfg_load(p->vmx, &err) : NULL;
      const char *ck = cfg ? vmxcfg_get(cfg, "checkpoint.vmState") : NULL;
      g_free(p->file_state);
      p->file_state = g_strdup(ck && *ck ? "suspended" : "poweredOff");
      vmxcfg_free(cfg);
      g_free(err);
      g_free(p->file_key);
      p->file_key = key;
   } else {
      g_free(key);
   }
   return p->file_state;
}

/* The vmx's mirror changed. */
static void
on_watch_changed(void *user)
{
   cui_power *p = user;
   char *st = vmdb_get_str(cui_vmwatch_ctx(p->watch), "/vm/runtime/powerState");
   set_state(p, st && *st ? st : "poweredOff");
   g_free(st);
   emit_changed(p);
}

/* Look now: connect when a vmx serves the VM, else take the file's state
 * (and the watch looks again every second). */
static void
look(cui_power *p)
{
   if (!cui_vmwatch_update(p->watch)) {
      set_state(p, file_state(p));
   }
}

/* No vmx: the .vmx tells the state. */
static void
on_watch_idle(bool lost, void *user)
{
   cui_power *p = user;
   const char *fs = file_state(p);
   if (lost || g_strcmp0(fs, p->state) != 0) {
      set_state(p, fs);
      emit_changed(p);
   }
}

/* ---- the public object */

cui_power *
cui_power_new(const char *abs_vmx, const cui_power_callbacks *cb)
{
   cui_power *p = g_new0(cui_power, 1);
   p->refs = 1;
   p->vmx = g_strdup(abs_vmx);
   p->mc = g_main_context_ref_thread_default();
   if (cb) {
      p->cb = *cb;
   }
   p->queued = CUI_POWER_N_OPS;
   static const char *const subtrees[] = { "/vm", NULL };
   static const cui_vmwatch_callbacks wcb = { .changed = on_watch_changed,
                                              .idle = on_watch_idle };
   p->watch = cui_vmwatch_new(abs_vmx, subtrees, &wcb, p);
   /* Connected: the sync tells the real state. */
   set_state(p, cui_vmwatch_connected(p->watch) ? "poweredOff" : file_state(p));
   return p;
}

void
cui_power_free(cui_power *p)
{
   if (!p) {
      return;
   }
   p->dead = true;
   memset(&p->cb, 0, sizeof p->cb);
   if (p->cancel) {
      g_cancellable_cancel(p->cancel);
   }
   cui_vmwatch_free(p->watch);
   p->watch = NULL;
   power_unref(p);
}

const char *
cui_power_vmx_path(const cui_power *p)
{
   return p->vmx;
}

const char *
cui_power_state(const cui_power *p)
{
   return p->state ? p->state : "poweredOff";
}

bool
cui_power_vmx_up(const cui_power *p)
{
   return p->watch && cui_vmwatch_up(p->watch);
}

char *
cui_power_get(const cui_power *p, const char *path)
{
   vmdb_ctx *ctx = p->watch ? cui_vmwatch_ctx(p->watch) : NULL;
   if (!ctx || !vmdb_has(ctx, path)) {
      return NULL;
   }
   return vmdb_get_str(ctx, path);
}

void
cui_power_refresh(cui_power *p)
{
   if (!p->watch || cui_vmwatch_connected(p->watch)) {
      return; /* the mirror is live */
   }
   if (!cui_vmwatch_update(p->watch)) {
      on_watch_idle(false, p);
   }
}

bool
cui_power_busy(const cui_power *p, cui_power_op *op)
{
   if (p->busy && op) {
      *op = p->op;
   }
   return p->busy;
}

/* ---- the operations, on a worker thread */

typedef struct op_job {
   cui_power *p;
   cui_power_op op;
   char *vmx;
   char *error;   /* the result: NULL when it worked */
} op_job;

static void
op_job_free(gpointer data)
{
   op_job *j = data;
   g_free(j->vmx);
   g_free(j->error);
   g_free(j);
}

/* Wait (in slices, so a cancel is noticed) until the VM is in one of
 * states or its vmx is gone. The state seen, or NULL on timeout/cancel. */
static const char *
wait_state(vmclient *c, const char *const *states, int timeout_ms, GCancellable *cancel)
{
   gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
   while (!g_cancellable_is_cancelled(cancel)) {
      const char *seen = vmclient_wait_power_state(c, states, WAIT_SLICE_MS);
      if (seen) {
         return seen;
      }
      if (g_get_monotonic_time() >= deadline) {
         break;
      }
   }
   return NULL;
}

static char *
power_on(const char *vmx, vmclient *c)
{
   char *err = NULL;
   if (!c) {
      /* No vmx: start one that powers the VM on (its failure comes back
       * on its ready pipe with the reason). */
      gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
      while (vmclient_spawn_vmx(vmx, true, &err) < 0) {
         /* The vmx of the last power-off may still be on its way out
          * (it holds the VM's lock until it has exited). */
         if (!strstr(err, "is already running") || g_get_monotonic_time() > deadline) {
            return err;
         }
         g_free(err);
         err = NULL;
         g_usleep(100 * 1000);
      }
      return NULL;
   }
   char *st = vmclient_get(c, "/vm/runtime/powerState");
   if (st && strcmp(st, "poweredOff") != 0) {
      char *what = g_ascii_strdown(cui_power_state_label(st), -1);
      err = g_strdup_printf("the virtual machine is already %s", what);
      g_free(what);
   } else {
      vmclient_command(c, "powerOn", NULL, NULL, COMMAND_TIMEOUT_MS, &err);
   }
   g_free(st);
   return err;
}

static char *
run_op(const char *vmx, cui_power_op op, GCancellable *cancel)
{
   char *err = NULL;
   vmclient *c = vmclient_connect(vmx, CONNECT_TIMEOUT_MS, &err);
   g_free(err);
   err = NULL;
   if (op == CUI_POWER_ON || op == CUI_POWER_RESUME) {
      err = power_on(vmx, c);
      vmclient_free(c);
      return err;
   }
   if (!c && op == CUI_POWER_OFF) {
      return NULL; /* no vmx runs it: it is off (a guest shut down meanwhile) */
   }
   if (!c) {
      return g_strdup("the virtual machine is not running (no vmx process has it open)");
   }
   static const char *const off[] = { "poweredOff", NULL };
   char *now = vmclient_get(c, "/vm/runtime/powerState");
   bool already_off = now && !strcmp(now, "poweredOff");
   g_free(now);
   if (op == CUI_POWER_OFF && already_off) {
      vmclient_free(c);
      return NULL; /* powered off already (and on its way out) */
   }
   static const char *const stopped[] = { "suspended", "poweredOff", NULL };
   switch (op) {
   case CUI_POWER_OFF:
      if (vmclient_command(c, "powerOff", NULL, NULL, COMMAND_TIMEOUT_MS, &err) == 0 &&
          !wait_state(c, off, STATE_TIMEOUT_MS, cancel)) {
         err = g_strdup("the vmx did not report the virtual machine powered off");
      }
      break;
   case CUI_POWER_SHUTDOWN:
      if (vmclient_command(c, "softPowerOff", NULL, NULL, COMMAND_TIMEOUT_MS, &err) == 0 &&
          !wait_state(c, off, CUI_POWER_SHUTDOWN_TIMEOUT_MS, cancel)) {
         err = g_cancellable_is_cancelled(cancel)
                  ? g_strdup("stopped waiting for the guest to shut down")
                  : g_strdup_printf("the guest did not shut down within %d minutes",
                                    CUI_POWER_SHUTDOWN_TIMEOUT_MS / 60000);
      }
      break;
   case CUI_POWER_SUSPEND:
      if (vmclient_command(c, "suspend", NULL, NULL, COMMAND_TIMEOUT_MS, &err) == 0 &&
          !wait_state(c, stopped, STATE_TIMEOUT_MS, cancel)) {
         err = g_strdup("the vmx did not report the virtual machine suspended");
      }
      break;
   case CUI_POWER_RESET:
      vmclient_command(c, "reset", NULL, NULL, COMMAND_TIMEOUT_MS, &err);
      break;
   case CUI_POWER_PAUSE:
      vmclient_command(c, "pause", NULL, NULL, COMMAND_TIMEOUT_MS, &err);
      break;
   case CUI_POWER_UNPAUSE:
      vmclient_command(c, "unpause", NULL, NULL, COMMAND_TIMEOUT_MS, &err);
      break;
   default:
      err = g_strdup_printf("unknown operation %d", (int)op);
      break;
   }
   vmclient_free(c);
   return err;
}

static void
op_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
   op_job *j = data;
   j->error = run_op(j->vmx, j->op, cancel);
   g_task_return_boolean(task, j->error == NULL);
}

static void launch(cui_power *p, cui_power_op op);

static void
op_done(GObject *source, GAsyncResult *res, gpointer user)
{
   op_job *j = g_task_get_task_data(G_TASK(res));
   cui_power *p = j->p;
   g_clear_object(&p->cancel);
   if (p->queued != CUI_POWER_N_OPS && !p->dead) {
      /* A Power Off took over a guest shutdown that was being waited for.
       * The shutdown is not reported (the user chose to stop waiting);
       * the power-off is, once done. */
      cui_power_op next = p->queued;
      p->queued = CUI_POWER_N_OPS;
      if (j->error) {
         launch(p, next);
         power_unref(p);
         return;
      }
      /* The guest made it meanwhile: it is off, as asked. */
      p->busy = false;
      look(p);
      if (p->cb.op_finished) {
         p->cb.op_finished(p, next, true, NULL, p->cb.user);
      }
      emit_changed(p);
      power_unref(p);
      return;
   }
   p->busy = false;
   p->queued = CUI_POWER_N_OPS;
   if (!p->dead) {
      /* A power-on may have started a vmx: watch it now rather than at
       * the next retry, so the final state is there when we report. */
      look(p);
      if (p->cb.op_finished) {
         p->cb.op_finished(p, j->op, j->error == NULL, j->error, p->cb.user);
      }
      emit_changed(p);
   }
   power_unref(p);
}

/* Run op on a worker thread; the result comes to op_done. */
static void
launch(cui_power *p, cui_power_op op)
{
   p->busy = true;
   p->op = op;
   p->cancel = g_cancellable_new();
   op_job *j = g_new0(op_job, 1);
   j->p = power_ref(p);
   j->op = op;
   j->vmx = g_strdup(p->vmx);
   /* The task's callback runs in the thread-default context of this
    * thread, which must be p->mc. */
   g_main_context_push_thread_default(p->mc);
   GTask *t = g_task_new(NULL, p->cancel, op_done, NULL);
   g_main_context_pop_thread_default(p->mc);
   g_task_set_task_data(t, j, op_job_free);
   g_task_set_return_on_cancel(t, FALSE);
   g_task_run_in_thread(t, op_thread);
   g_object_unref(t);
}

bool
cui_power_can_start(const cui_power *p, cui_power_op op)
{
   if (op >= CUI_POWER_N_OPS) {
      return false;
   }
   if (p->busy) {
      /* Only Power Off, and only over a shutdown the guest has not done. */
      return op == CUI_POWER_OFF && p->op == CUI_POWER_SHUTDOWN &&
             p->queued == CUI_POWER_N_OPS;
   }
   return cui_power_op_allowed(op, cui_power_state(p));
}

bool
cui_power_start(cui_power *p, cui_power_op op, char **err)
{
   if (op >= CUI_POWER_N_OPS) {
      *err = g_strdup_printf("unknown operation %d", (int)op);
      return false;
   }
   if (p->busy && !cui_power_can_start(p, op)) {
      *err = g_strdup_printf("%s is still in progress", cui_power_op_label(p->op));
      return false;
   }
   if (p->busy) {
      /* Power Off over a pending shutdown: stop waiting for the guest
       * (the worker notices within a slice), then power off. */
      p->queued = op;
      p->op = op;
      g_cancellable_cancel(p->cancel);
      if (p->cb.op_started) {
         p->cb.op_started(p, op, p->cb.user);
      }
      return true;
   }
   const char *st = cui_power_state(p);
   if (!cui_power_op_allowed(op, st)) {
      char *what = g_ascii_strdown(cui_power_state_label(st), -1);
      *err = g_strdup_printf("%s is not possible while the virtual machine is %s",
                             cui_power_op_label(op), what);
      g_free(what);
      return false;
   }
   launch(p, op);
   if (p->cb.op_started) {
      p->cb.op_started(p, op, p->cb.user);
   }
   return true;
}
