/*
 * cui/tests/test-power.c - the power model (cui/power.h) against real vmx
 * processes running idle machines (no guest image, so no /dev/kvm needed):
 * the watch follows the vmx's state, every operation runs on a worker
 * thread while the main loop keeps running, failures come back with the
 * vmx's reason. The vmx is $VMWS_VMX (set by meson); without it the
 * tests that need one skip.
 */
#include "cui/power.h"
#include "cui/vmclient.h"

#include "testutil.h"
#include "testvmx.h"

#include <signal.h>

/* Running (not gone, not a zombie nobody reaped yet). */
static bool
process_alive(int pid)
{
   char *path = g_strdup_printf("/proc/%d/stat", pid);
   char *text = NULL;
   bool alive = g_file_get_contents(path, &text, NULL, NULL);
   if (alive) {
      const char *close_paren = strrchr(text, ')');
      alive = close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z' &&
              close_paren[2] != 'X';
   }
   g_free(text);
   g_free(path);
   return alive;
}

/* ---- what the callbacks saw */

typedef struct seen {
   int changed;
   int started;
   int finished;
   cui_power_op started_op, finished_op;
   bool ok;
   char *error;
   GPtrArray *states;   /* every distinct state reported by changed, in order */
} seen;

static void
on_changed(cui_power *p, void *user)
{
   seen *s = user;
   s->changed++;
   const char *st = cui_power_state(p);
   if (s->states->len == 0 ||
       strcmp(g_ptr_array_index(s->states, s->states->len - 1), st) != 0) {
      g_ptr_array_add(s->states, g_strdup(st));
   }
}

static void
on_started(cui_power *p, cui_power_op op, void *user)
{
   seen *s = user;
   s->started++;
   s->started_op = op;
}

static void
on_finished(cui_power *p, cui_power_op op, bool ok, const char *error, void *user)
{
   seen *s = user;
   s->finished++;
   s->finished_op = op;
   s->ok = ok;
   g_free(s->error);
   s->error = g_strdup(error);
}

static void
seen_init(seen *s)
{
   memset(s, 0, sizeof *s);
   s->states = g_ptr_array_new_with_free_func(g_free);
}

static void
seen_clear(seen *s)
{
   g_free(s->error);
   g_ptr_array_unref(s->states);
}

static gboolean
tick(gpointer data)
{
   (*(int *)data)++;
   return G_SOURCE_CONTINUE;
}

typedef bool (*cond_fn)(cui_power *p, seen *s, const void *arg);

/* Run the main loop until cond holds; fail after timeout_ms. Returns how
 * often a 10 ms timer fired meanwhile (the loop was never blocked long). */
static int
run_until(cui_power *p, seen *s, cond_fn cond, const void *arg, int timeout_ms,
          const char *what)
{
   int ticks = 0;
   guint t = g_timeout_add(10, tick, &ticks);
   gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
   while (!cond(p, s, arg)) {
      if (g_get_monotonic_time() > deadline) {
         g_error("timed out waiting for %s (state %s, vmx %s)", what, cui_power_state(p),
                 cui_power_vmx_up(p) ? "up" : "down");
      }
      g_main_context_iteration(NULL, TRUE);
   }
   g_source_remove(t);
   return ticks;
}

static bool
finished_n(cui_power *p, seen *s, const void *arg)
{
   return s->finished >= GPOINTER_TO_INT(arg);
}

static bool
state_up(cui_power *p, seen *s, const void *arg)
{
   return cui_power_vmx_up(p) && !strcmp(cui_power_state(p), arg);
}

static bool
state_down(cui_power *p, seen *s, const void *arg)
{
   return !cui_power_vmx_up(p) && !strcmp(cui_power_state(p), arg);
}

/* Start op and wait for its result; returns whether it worked. */
static bool
do_op(cui_power *p, seen *s, cui_power_op op)
{
   char *err = NULL;
   int before = s->finished;
   if (!cui_power_start(p, op, &err)) {
      g_error("%s refused: %s", cui_power_op_label(op), err);
   }
   g_assert_cmpint(s->started_op, ==, op);
   cui_power_op busy_op = CUI_POWER_N_OPS;
   g_assert_true(cui_power_busy(p, &busy_op));
   g_assert_cmpint(busy_op, ==, op);
   run_until(p, s, finished_n, GINT_TO_POINTER(before + 1), 90000, cui_power_op_label(op));
   g_assert_false(cui_power_busy(p, NULL));
   g_assert_cmpint(s->finished_op, ==, op);
   return s->ok;
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

/* ---- the tests */

static void
test_words(void)
{
   for (int i = 0; i < CUI_POWER_N_OPS; i++) {
      cui_power_op op;
      g_assert_true(cui_power_op_from_name(cui_power_op_name((cui_power_op)i), &op));
      g_assert_cmpint(op, ==, i);
      g_assert_cmpstr(cui_power_op_label((cui_power_op)i), !=, "?");
      g_assert_true(g_str_has_suffix(cui_power_op_progress((cui_power_op)i), "…"));
   }
   cui_power_op op;
   g_assert_false(cui_power_op_from_name("explode", &op));
   g_assert_false(cui_power_op_from_name(NULL, &op));
   g_assert_cmpstr(cui_power_op_name(CUI_POWER_SHUTDOWN), ==, "shut-down");

   /* Which operation fits which state. */
   static const struct {
      const char *state;
      const char *ops; /* names allowed, space separated */
   } table[] = {
      { "poweredOff", "power-on" },
      { "poweredOn", "shut-down power-off suspend reset pause" },
      { "paused", "power-off suspend reset unpause" },
      { "suspended", "resume" },
      { "poweringOn", "" },
      { "suspending", "" },
      { "poweringOff", "" },
      { NULL, "" },
   };
   for (size_t t = 0; t < G_N_ELEMENTS(table); t++) {
      char **want = g_strsplit(table[t].ops, " ", -1);
      for (int i = 0; i < CUI_POWER_N_OPS; i++) {
         const char *name = cui_power_op_name((cui_power_op)i);
         bool expect = g_strv_contains((const char *const *)want, name);
         if (cui_power_op_allowed((cui_power_op)i, table[t].state) != expect) {
            g_error("%s in state %s: expected %s", name, table[t].state,
                    expect ? "allowed" : "refused");
         }
      }
      g_strfreev(want);
   }
   g_assert_cmpstr(cui_power_state_label("poweredOn"), ==, "Powered on");
   g_assert_cmpstr(cui_power_state_label("suspended"), ==, "Suspended");
   g_assert_cmpstr(cui_power_state_label("strange"), ==, "strange");
}

/* A VM without a vmx: its state comes from the file; operations that need
 * a running VM are refused before anything is started. */
static void
test_offline(void)
{
   char *vmx = new_vm("offline", NULL);
   seen s;
   seen_init(&s);
   cui_power_callbacks cb = { on_changed, on_started, on_finished, &s };
   cui_power *p = cui_power_new(vmx, &cb);
   g_assert_cmpstr(cui_power_state(p), ==, "poweredOff");
   g_assert_false(cui_power_vmx_up(p));
   g_assert_null(cui_power_get(p, "/vm/runtime/powerState"));
   g_assert_cmpstr(cui_power_vmx_path(p), ==, vmx);
   char *err = NULL;
   g_assert_false(cui_power_start(p, CUI_POWER_PAUSE, &err));
   g_assert_cmpstr(err, ==, "Pause is not possible while the virtual machine is powered off");
   g_free(err);
   err = NULL;
   g_assert_false(cui_power_start(p, CUI_POWER_RESUME, &err));
   tu_assert_contains(err, "Resume is not possible");
   g_free(err);
   g_assert_cmpint(s.started, ==, 0);
   g_assert_false(cui_power_busy(p, NULL));

   /* The file says it is suspended: the watch sees it (within the retry
    * period) and offers Resume, not Power On. */
   char *text = tu_read(vmx);
   char *susp = g_strdup_printf("%scheckpoint.vmState = \"offline.vmss\"\n", text);
   tu_write(vmx, susp);
   run_until(p, &s, state_down, "suspended", 5000, "the file's suspended state");
   g_assert_cmpint(s.changed, >=, 1);
   err = NULL;
   g_assert_false(cui_power_start(p, CUI_POWER_ON, &err));
   tu_assert_contains(err, "while the virtual machine is suspended");
   g_free(err);
   tu_write(vmx, text);
   cui_power_refresh(p);
   g_assert_cmpstr(cui_power_state(p), ==, "poweredOff");
   g_free(susp);
   g_free(text);
   cui_power_free(p);
   seen_clear(&s);
   g_free(vmx);
}

/* Every operation on a running idle machine, started from the model and
 * from outside it. */
static void
test_running(void)
{
   if (!tv_have_vmx()) {
      return;
   }
   char *vmx = new_vm("running", NULL);
   seen s;
   seen_init(&s);
   cui_power_callbacks cb = { on_changed, on_started, on_finished, &s };
   cui_power *p = cui_power_new(vmx, &cb);

   /* Power on: the model starts the vmx; the main loop keeps running. */
   char *err = NULL;
   gint64 t0 = g_get_monotonic_time();
   g_assert_true(cui_power_start(p, CUI_POWER_ON, &err));
   gint64 t_start = g_get_monotonic_time() - t0;
   /* The result comes only through the main loop. */
   g_assert_cmpint(s.finished, ==, 0);
   g_assert_cmpint(s.started, ==, 1);
   g_assert_cmpint(s.started_op, ==, CUI_POWER_ON);
   g_assert_false(cui_power_start(p, CUI_POWER_ON, &err));
   g_assert_cmpstr(err, ==, "Power On is still in progress");
   g_free(err);
   err = NULL;
   int ticks = run_until(p, &s, finished_n, GINT_TO_POINTER(1), 90000, "power on");
   tv_remember(vmx);
   g_assert_true(s.ok);
   g_assert_null(s.error);
   g_test_message("starting the power-on took %" G_GINT64_FORMAT " us; the main loop ran %d "
                  "ticks of 10 ms until it finished", t_start, ticks);
   run_until(p, &s, state_up, "poweredOn", 10000, "poweredOn");
   char *path = cui_power_get(p, "/vm/vmxPath");
   g_assert_cmpstr(path, ==, vmx);
   g_free(path);
   char *machine = cui_power_get(p, "/vm/runtime/machine");
   g_assert_cmpstr(machine, ==, "idle");
   g_free(machine);
   /* Power On again is refused by the model, before any request. */
   g_assert_false(cui_power_start(p, CUI_POWER_ON, &err));
   tu_assert_contains(err, "while the virtual machine is powered on");
   g_free(err);
   err = NULL;

   g_assert_true(do_op(p, &s, CUI_POWER_PAUSE));
   run_until(p, &s, state_up, "paused", 10000, "paused");
   g_assert_true(do_op(p, &s, CUI_POWER_UNPAUSE));
   run_until(p, &s, state_up, "poweredOn", 10000, "poweredOn after unpause");
   g_assert_true(do_op(p, &s, CUI_POWER_RESET));
   run_until(p, &s, state_up, "poweredOn", 10000, "poweredOn after reset");

   /* Suspend: until the vmx can save a checkpoint it refuses with its
    * reason and the VM keeps running; once it can, the VM is suspended
    * (and its vmx gone) and Resume brings it back. */
   if (do_op(p, &s, CUI_POWER_SUSPEND)) {
      run_until(p, &s, state_down, "suspended", 30000, "suspended");
      g_assert_true(do_op(p, &s, CUI_POWER_RESUME));
      tv_remember(vmx);
      run_until(p, &s, state_up, "poweredOn", 10000, "poweredOn after resume");
   } else {
      g_assert_nonnull(s.error);
      tu_assert_contains(s.error, "cannot suspend");
      g_test_message("suspend refused by the vmx: %s", s.error);
      run_until(p, &s, state_up, "poweredOn", 10000, "poweredOn after a refused suspend");
   }

   /* Shut down: an idle machine has no guest to ask, so the vmx powers off
    * and exits; the watch falls back to the file. */
   g_assert_true(do_op(p, &s, CUI_POWER_SHUTDOWN));
   run_until(p, &s, state_down, "poweredOff", 20000, "powered off, vmx gone");

   /* The states reported on the way include each one we waited for. */
   const char *want[] = { "poweredOn", "paused", "poweredOff" };
   for (size_t i = 0; i < G_N_ELEMENTS(want); i++) {
      bool found = false;
      for (guint k = 0; k < s.states->len; k++) {
         found |= !strcmp(g_ptr_array_index(s.states, k), want[i]);
      }
      if (!found) {
         g_error("state %s was never reported", want[i]);
      }
   }

   /* A vmx started by someone else (as vmrun does, without powering on)
    * is found by the watch; Power On then goes to that vmx. */
   if (vmclient_spawn_vmx(vmx, false, &err) < 0) {
      g_error("cannot start the vmx: %s", err);
   }
   tv_remember(vmx);
   run_until(p, &s, state_up, "poweredOff", 10000, "the outside vmx");
   g_assert_true(do_op(p, &s, CUI_POWER_ON));
   run_until(p, &s, state_up, "poweredOn", 10000, "poweredOn through the outside vmx");
   /* And an operation made from outside shows up too. */
   vmclient *c = vmclient_connect(vmx, 5000, &err);
   g_assert_nonnull(c);
   g_assert_cmpint(vmclient_command(c, "pause", NULL, NULL, 30000, &err), ==, 0);
   vmclient_free(c);
   run_until(p, &s, state_up, "paused", 10000, "paused from outside");
   char *pid_text = cui_power_get(p, "/vm/pid");
   int pid = pid_text ? atoi(pid_text) : 0;
   g_free(pid_text);
   g_assert_cmpint(pid, >, 0);
   gint64 t_off = g_get_monotonic_time();
   g_assert_true(do_op(p, &s, CUI_POWER_OFF));
   run_until(p, &s, state_down, "poweredOff", 20000, "powered off from paused");
   /* The watch hung up at once, so the vmx did not wait the 3 s it gives
    * clients that stay connected. */
   while (process_alive(pid) && g_get_monotonic_time() - t_off < 10 * G_USEC_PER_SEC) {
      g_main_context_iteration(NULL, FALSE);
      g_usleep(10000);
   }
   gint64 gone_ms = (g_get_monotonic_time() - t_off) / 1000;
   g_test_message("the vmx exited %" G_GINT64_FORMAT " ms after Power Off", gone_ms);
   g_assert_false(process_alive(pid));
   g_assert_cmpint(gone_ms, <, 2500);

   cui_power_free(p);
   seen_clear(&s);
   g_free(vmx);
}

/* A power-on the vmx cannot do reports its reason, and the VM stays
 * powered off with no vmx left. */
static void
test_power_on_fails(void)
{
   if (!tv_have_vmx()) {
      return;
   }
   char *vmx = new_vm("broken", "linux.kernel = \"/nonexistent/vmws-kernel\"\n");
   seen s;
   seen_init(&s);
   cui_power_callbacks cb = { on_changed, on_started, on_finished, &s };
   cui_power *p = cui_power_new(vmx, &cb);
   g_assert_false(do_op(p, &s, CUI_POWER_ON));
   g_assert_nonnull(s.error);
   g_test_message("power-on failed: %s", s.error);
   tu_assert_contains(s.error, "/nonexistent/vmws-kernel");
   run_until(p, &s, state_down, "poweredOff", 20000, "powered off after the failure");
   char **running = vmclient_list_running();
   for (char **r = running; *r; r++) {
      g_assert_cmpstr(*r, !=, vmx);
   }
   g_strfreev(running);
   cui_power_free(p);
   seen_clear(&s);
   g_free(vmx);
}

/* The owner goes away while an operation runs: the operation completes in
 * the vmx, no callback comes, nothing crashes. */
static void
test_free_while_busy(void)
{
   if (!tv_have_vmx()) {
      return;
   }
   char *vmx = new_vm("orphan", NULL);
   seen s;
   seen_init(&s);
   cui_power_callbacks cb = { on_changed, on_started, on_finished, &s };
   cui_power *p = cui_power_new(vmx, &cb);
   char *err = NULL;
   g_assert_true(cui_power_start(p, CUI_POWER_ON, &err));
   cui_power_free(p);
   int changed = s.changed;
   /* A second model sees the VM come up. */
   seen s2;
   seen_init(&s2);
   cui_power_callbacks cb2 = { on_changed, on_started, on_finished, &s2 };
   cui_power *q = cui_power_new(vmx, &cb2);
   run_until(q, &s2, state_up, "poweredOn", 60000, "the orphaned power-on");
   tv_remember(vmx);
   /* Let the first model's worker deliver (and drop) its result. */
   for (int i = 0; i < 50; i++) {
      g_main_context_iteration(NULL, FALSE);
      g_usleep(10000);
   }
   g_assert_cmpint(s.finished, ==, 0);
   g_assert_cmpint(s.changed, ==, changed);
   g_assert_true(do_op(q, &s2, CUI_POWER_OFF));
   run_until(q, &s2, state_down, "poweredOff", 20000, "powered off");
   cui_power_free(q);
   seen_clear(&s2);
   seen_clear(&s);
   g_free(vmx);
}

/* Power Off while a guest shutdown is waited for: the shutdown is not
 * reported, the power-off is, once. (An idle machine powers off at once on
 * a shutdown request, so either the shutdown is still under way when the
 * power-off comes, or it already made it: both must end the same way.) */
static void
test_off_over_shutdown(void)
{
   if (!tv_have_vmx()) {
      return;
   }
   char *vmx = new_vm("impatient", NULL);
   seen s;
   seen_init(&s);
   cui_power_callbacks cb = { on_changed, on_started, on_finished, &s };
   cui_power *p = cui_power_new(vmx, &cb);
   g_assert_true(do_op(p, &s, CUI_POWER_ON));
   tv_remember(vmx);
   run_until(p, &s, state_up, "poweredOn", 10000, "poweredOn");
   int finished = s.finished;
   char *err = NULL;
   g_assert_true(cui_power_start(p, CUI_POWER_SHUTDOWN, &err));
   /* Only Power Off may come in while a shutdown is waited for. */
   g_assert_true(cui_power_can_start(p, CUI_POWER_OFF));
   g_assert_false(cui_power_can_start(p, CUI_POWER_PAUSE));
   g_assert_false(cui_power_can_start(p, CUI_POWER_RESET));
   g_assert_false(cui_power_start(p, CUI_POWER_RESET, &err));
   tu_assert_contains(err, "Shut Down Guest is still in progress");
   g_free(err);
   err = NULL;
   g_assert_true(cui_power_start(p, CUI_POWER_OFF, &err));
   g_assert_cmpint(s.started_op, ==, CUI_POWER_OFF);
   cui_power_op op = CUI_POWER_N_OPS;
   g_assert_true(cui_power_busy(p, &op));
   g_assert_cmpint(op, ==, CUI_POWER_OFF);
   /* Not twice. */
   g_assert_false(cui_power_can_start(p, CUI_POWER_OFF));
   g_assert_false(cui_power_start(p, CUI_POWER_OFF, &err));
   g_free(err);
   run_until(p, &s, finished_n, GINT_TO_POINTER(finished + 1), 30000, "the power-off");
   g_assert_cmpint(s.finished_op, ==, CUI_POWER_OFF);
   if (!s.ok) {
      g_error("the power-off over a shutdown failed: %s", s.error);
   }
   run_until(p, &s, state_down, "poweredOff", 20000, "powered off");
   /* Nothing else is reported afterwards. */
   for (int i = 0; i < 30; i++) {
      g_main_context_iteration(NULL, FALSE);
      g_usleep(10000);
   }
   g_assert_cmpint(s.finished, ==, finished + 1);
   g_assert_false(cui_power_busy(p, NULL));
   cui_power_free(p);
   seen_clear(&s);
   g_free(vmx);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   tu_init("cui-power");
   tv_init(); /* never leave a vmx behind */
   g_test_add_func("/cui/power/words", test_words);
   g_test_add_func("/cui/power/offline", test_offline);
   g_test_add_func("/cui/power/running", test_running);
   g_test_add_func("/cui/power/power-on-fails", test_power_on_fails);
   g_test_add_func("/cui/power/free-while-busy", test_free_while_busy);
   g_test_add_func("/cui/power/off-over-shutdown", test_off_over_shutdown);
   return g_test_run();
}
