/*
 * vmx/main/power.c - the power state machine and the /vm/cmd request queue.
 *
 * States: poweredOff, poweringOn, poweredOn, paused, suspending, suspended,
 * poweringOff. Every transition is published in /vm/runtime/powerState and
 * logged; a failed operation leaves the VM in a well-defined state with the
 * reason in /vm/runtime/lastError and the log.
 */
#include "vmx/main/vmx.h"
#include "lib/rundir.h"
#include "vmx/main/snapshot.h"
#include "mks/svga/svga.h"
#include "vmx/dev/chipset/guestrpc.h"
#include "vmx/dev/chipset/uart.h"
#include "vmx/vmxlog.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void
vmx_set_power_state(vmx *v, const char *state)
{
   if (v->power_state && strcmp(v->power_state, state) == 0) {
      return;
   }
   vmxlog("Power state: %s -> %s", v->power_state ? v->power_state : "(none)", state);
   v->power_state = state;
   vmdb_set_str(v->ctx, "/vm/runtime/powerState", state);
}

static bool
is(vmx *v, const char *s)
{
   return strcmp(v->power_state, s) == 0;
}

int
vmx_op_fail(vmx *v, char **err, const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   char *msg = g_strdup_vprintf(fmt, ap);
   va_end(ap);
   vmxlog("Error: %s", msg);
   vmdb_set_str(v->ctx, "/vm/runtime/lastError", msg);
   *err = msg;
   return -1;
}

static gboolean
uptime_tick(gpointer data)
{
   vmx *v = data;
   gint64 secs = (g_get_monotonic_time() - v->power_on_mono) / G_USEC_PER_SEC;
   vmdb_set_int(v->ctx, "/vm/stats/uptimeSec", secs);
   return G_SOURCE_CONTINUE;
}

/* What the guest did, on the main thread. */
static void
on_machine_event(void *opaque, vmx_machine_event ev, const char *why)
{
   vmx *v = opaque;
   char *err = NULL;
   switch (ev) {
   case VMX_EV_GUEST_RESET:
      vmxlog("The guest reset the virtual machine: %s", why ? why : "");
      v->power_on_mono = g_get_monotonic_time();
      break;
   case VMX_EV_GUEST_POWEROFF:
      vmxlog("The guest powered off the virtual machine: %s", why ? why : "");
      if (vmx_power_off(v, false, &err) < 0) {
         vmxlog("Power off after the guest's request failed: %s", err);
      }
      break;
   case VMX_EV_FATAL:
      vmxlog("Error: the virtual machine cannot continue: %s", why ? why : "");
      vmdb_set_str(v->ctx, "/vm/runtime/lastError", why ? why : "monitor error");
      if (vmx_power_off(v, false, &err) < 0) {
         vmxlog("Power off after a fatal error failed: %s", err);
      }
      break;
   }
   g_free(err);
}

/* ---- guest variables: the GuestRPC device's guestinfo.<name> mirrored in
 * /vm/guestVar/#<name>, both ways. The guest's info-set arrives on a vCPU
 * thread and is published from the main thread; a client's write (vmrun
 * writeVariable guestVar) goes into the device. */

typedef struct guest_var {
   vmx *v;
   char *name, *value;
} guest_var;

static void
publish_guest_var(vmx *v, const char *name, const char *value)
{
   char *path = g_strdup_printf("/vm/guestVar/#%s", name);
   char *cur = vmdb_get_str(v->ctx, path);
   if ((!cur || strcmp(cur, value) != 0) && vmdb_set_str(v->ctx, path, value) < 0) {
      vmxlog("GuestRPC: guest variable '%s' not published in VMDB: %s", name,
             vmdb_ctx_error(v->ctx));
   }
   g_free(cur);
   g_free(path);
}

static gboolean
guest_var_main(gpointer data)
{
   guest_var *gv = data;
   publish_guest_var(gv->v, gv->name, gv->value);
   g_free(gv->name);
   g_free(gv->value);
   g_free(gv);
   return G_SOURCE_REMOVE;
}

/* vCPU thread: hand over to the main loop. */
static void
on_guest_var(void *opaque, const char *name, const char *value)
{
   guest_var *gv = g_new(guest_var, 1);
   gv->v = opaque;
   gv->name = g_strdup(name);
   gv->value = g_strdup(value);
   g_main_context_invoke(NULL, guest_var_main, gv);
}

static void
publish_each(void *opaque, const char *name, const char *value)
{
   publish_guest_var(opaque, name, value);
}

static guestrpc *
machine_guestrpc(vmx *v)
{
   vmx_platform *plat = v->machine ? vmx_machine_platform(v->machine) : NULL;
   return plat ? guestrpc_get(plat) : NULL;
}

static void
guest_var_into_device(vmx *v, guestrpc *g, const char *path, const char *value)
{
   const char *name = path + strlen("/vm/guestVar/#");
   char *cur = guestrpc_info_get(g, name);
   if ((!cur || strcmp(cur, value) != 0) && !guestrpc_info_set(g, name, value)) {
      vmxlog("GuestRPC: guest variable '%s' not offered to the guest (bad name or no room)",
             name);
   }
   g_free(cur);
}

static void
on_guest_var_changed(vmdb_ctx *ctx, const vmdb_change *ch, size_t n, void *user)
{
   vmx *v = user;
   guestrpc *g = machine_guestrpc(v);
   for (size_t i = 0; g && i < n; i++) {
      if (!ch[i].removed && ch[i].value.type == VMDB_TYPE_STRING &&
          g_str_has_prefix(ch[i].path, "/vm/guestVar/#")) {
         guest_var_into_device(v, g, ch[i].path, ch[i].value.s);
      }
   }
}

static void
existing_var_into_device(const char *path, const vmdb_value *val, void *user)
{
   void **a = user;
   if (val->type == VMDB_TYPE_STRING && g_str_has_prefix(path, "/vm/guestVar/#")) {
      guest_var_into_device(a[0], a[1], path, val->s);
   }
}

/* At power-on: what clients set before goes to the guest, what the device
 * has (the .vmx's guestinfo.*, a checkpoint's variables) to VMDB. */
static void
link_guest_vars(vmx *v)
{
   guestrpc *g = machine_guestrpc(v);
   if (!g) {
      return;
   }
   if (!v->guest_vars_watched) {
      vmdb_subscribe(v->ctx, "/vm/guestVar", on_guest_var_changed, v);
      v->guest_vars_watched = true;
   }
   void *a[2] = { v, g };
   vmdb_foreach(v->ctx, "/vm/guestVar", existing_var_into_device, a);
   guestrpc_info_foreach(g, publish_each, v);
   guestrpc_set_info_observer(g, on_guest_var, v);
}

/* Load the suspended state into a machine made paused; false with *err
 * (the machine is then useless). */
static bool
resume_from(vmx *v, const char *vmss, char **err)
{
   gint64 t0 = g_get_monotonic_time();
   vmdb_tx_begin(v->ctx);
   vmdb_set_str(v->ctx, "/vm/runtime/checkpoint/op", "resume");
   vmdb_set_int(v->ctx, "/vm/runtime/checkpoint/progress", 0);
   vmdb_tx_commit(v->ctx);
   ckpt_file *f = ckpt_file_open(vmss, err);
   bool ok = f && vmx_machine_restore(v->machine, f, vmx_checkpoint_progress, v, err);
   ckpt_file_close(f);
   vmdb_set_str(v->ctx, "/vm/runtime/checkpoint/op", "");
   if (ok) {
      vmxlog("Checkpoint: resumed from %s in %lld ms", vmss,
             (long long)((g_get_monotonic_time() - t0) / 1000));
   }
   return ok;
}

int
vmx_power_on(vmx *v, char **err)
{
   bool resume = is(v, "suspended");
   if (!is(v, "poweredOff") && !resume) {
      return vmx_op_fail(v, err, "cannot power on: the virtual machine is %s", v->power_state);
   }
   const char *before = v->power_state;
   char *vmss = resume ? vmxcfg_suspend_path(v->vmx_path) : NULL;
   vmx_set_power_state(v, "poweringOn");
   vmdb_set_str(v->ctx, "/vm/runtime/lastError", "");
   vmx_hw_config hw;
   char *why = NULL;
   if (!vmx_hw_config_read(v->cfg, &hw, &why)) {
      vmx_op_fail(v, err, "%s: %s", v->vmx_path, why);
      g_free(why);
      g_free(vmss);
      vmx_set_power_state(v, before);
      return -1;
   }
   v->machine = resume ? vmx_machine_create_paused(&hw, v->cfg, v->dir, !v->reverting,
                                                   on_machine_event, v, &why)
                       : vmx_machine_create(&hw, v->cfg, v->dir, on_machine_event, v, &why);
   if (v->machine && resume && !resume_from(v, vmss, &why)) {
      vmx_op_fail(v, err, "cannot resume from %s: %s; the suspended state is kept", vmss, why);
      g_free(why);
      g_free(vmss);
      vmx_machine_destroy(v->machine);
      v->machine = NULL;
      vmx_set_power_state(v, before);
      return -1;
   }
   if (!v->machine) {
      vmx_op_fail(v, err, "power on failed: %s", why);
      g_free(why);
      g_free(vmss);
      vmx_set_power_state(v, before);
      return -1;
   }
   vmx_platform *plat = vmx_machine_platform(v->machine);
   if (plat && svga_get(plat)) {
      /* The local console beside the VMDB socket (not named *.sock: vmrun
       * list takes those for VMDB sockets), in the owner-only directory. */
      char *console = vmws_runtime_path(v->vmx_path, ".mks", &why);
      v->mks = console ? mks_new(plat, v->cfg, console, &why) : NULL;
      if (v->mks) {
         vmdb_set_str(v->ctx, "/vm/mks/console/socket", console);
      }
      g_free(console);
      if (!v->mks) {
         vmx_op_fail(v, err, "power on failed: %s", why);
         g_free(why);
         g_free(vmss);
         vmx_machine_destroy(v->machine);
         v->machine = NULL;
         vmx_set_power_state(v, before);
         return -1;
      }
   }
   link_guest_vars(v);
   if (resume) {
      /* After a resume (or a revert to a running snapshot) the guest's
       * system clock is behind by the time it spent stopped: guest tools
       * listening on TCLO step it to the host's time, as VMware has them
       * do. Queued before the vCPUs run, taken at the tools' next poll. */
      guestrpc *gr = machine_guestrpc(v);
      if (gr && guestrpc_tclo_channels(gr)) {
         if (guestrpc_tclo_send(gr, "Time_Synchronize 1")) {
            vmxlog("GuestRPC: asked the guest tools to synchronize the time after the resume");
         } else {
            vmxlog("GuestRPC: TCLO queue full; no time synchronization after the resume");
         }
      }
      /* The state now lives in the machine (its RAM maps the file, which
       * stays alive while mapped): a crash from here on must not bring
       * back this older state. */
      if (unlink(vmss) < 0) {
         vmxlog("Checkpoint: cannot remove %s: %s", vmss, g_strerror(errno));
      }
      vmx_machine_unpause(v->machine, &why);
      g_free(why);
      why = NULL;
   }
   g_free(vmss);
   vmdb_tx_begin(v->ctx);
   vmdb_set_int(v->ctx, "/vm/runtime/memsizeMB", (int64_t)hw.memsize_mb);
   vmdb_set_int(v->ctx, "/vm/runtime/numvcpus", hw.numvcpus);
   vmdb_set_str(v->ctx, "/vm/runtime/monitor/requested", hw.monitor_requested);
   vmdb_set_str(v->ctx, "/vm/runtime/machine", vmx_machine_kind(v->machine));
   const char *vnc_addr = NULL, *vnc_err = NULL;
   unsigned vnc_port = 0;
   if (v->mks && mks_vnc_info(v->mks, &vnc_addr, &vnc_port, &vnc_err)) {
      vmdb_set_str(v->ctx, "/vm/mks/vnc/address", vnc_addr);
      vmdb_set_int(v->ctx, "/vm/mks/vnc/port", vnc_port);
   }
   vmdb_set_str(v->ctx, "/vm/mks/vnc/error", vnc_err ? vnc_err : "");
   for (unsigned n = 0; plat && n < 4; n++) {
      const char *pty = uart_pty_path(uart_get(plat), n);
      if (pty) {
         char *path = g_strdup_printf("/vm/runtime/serial/#%u/pty", n);
         vmdb_set_str(v->ctx, path, pty);
         g_free(path);
      }
   }
   const vmx_monitor_choice *mc = vmx_machine_monitor(v->machine);
   if (mc) {
      vmdb_set_str(v->ctx, "/vm/runtime/monitor/allowed", mc->allowed);
      vmdb_set_str(v->ctx, "/vm/runtime/monitor/chosen", vmm_kind_name(mc->chosen));
   }
   vmdb_set_int(v->ctx, "/vm/runtime/powerOnTime", (int64_t)time(NULL));
   vmdb_set_int(v->ctx, "/vm/stats/uptimeSec", 0);
   vmdb_tx_commit(v->ctx);
   v->power_on_mono = g_get_monotonic_time();
   v->uptime_timer = g_timeout_add_seconds(1, uptime_tick, v);
   vmx_set_power_state(v, "poweredOn");
   return 0;
}

static void
teardown(vmx *v)
{
   if (v->uptime_timer) {
      g_source_remove(v->uptime_timer);
      v->uptime_timer = 0;
   }
   mks_free(v->mks);   /* it reads the machine's SVGA device */
   v->mks = NULL;
   vmx_machine_destroy(v->machine);
   v->machine = NULL;
}

void
vmx_drop_machine(vmx *v)
{
   teardown(v);
   vmdb_tx_begin(v->ctx);
   vmdb_remove(v->ctx, "/vm/runtime/serial");
   vmdb_remove(v->ctx, "/vm/mks");
   vmdb_set_str(v->ctx, "/vm/runtime/monitor/chosen", "");
   vmdb_set_str(v->ctx, "/vm/runtime/machine", "");
   vmdb_tx_commit(v->ctx);
}

int
vmx_quit(vmx *v, char **err)
{
   if (v->machine) {
      return vmx_op_fail(v, err, "cannot quit: the virtual machine is %s; power it off or suspend "
                             "it first",
                     v->power_state);
   }
   vmxlog("Quit: no machine runs, the vmx exits");
   vmx_schedule_exit(v, 0);
   return 0;
}

int
vmx_power_off(vmx *v, bool soft, char **err)
{
   if (!is(v, "poweredOn") && !is(v, "paused")) {
      return vmx_op_fail(v, err, "cannot power off: the virtual machine is %s", v->power_state);
   }
   if (soft) {
      if (is(v, "paused")) {
         return vmx_op_fail(v, err, "cannot shut down the guest while the virtual machine is paused");
      }
      if (vmx_machine_request_shutdown(v->machine)) {
         vmxlog("Soft power off: asked the guest to shut down");
         return 0; /* the machine reports when the guest has powered off */
      }
      vmxlog("Soft power off: the machine runs no guest OS that could shut down; "
             "powering off");
   }
   vmx_set_power_state(v, "poweringOff");
   vmx_drop_machine(v);
   vmx_set_power_state(v, "poweredOff");
   vmx_schedule_exit(v, 0);
   return 0;
}

int
vmx_reset(vmx *v, char **err)
{
   if (!is(v, "poweredOn") && !is(v, "paused")) {
      return vmx_op_fail(v, err, "cannot reset: the virtual machine is %s", v->power_state);
   }
   char *why = NULL;
   if (vmx_machine_reset(v->machine, &why) < 0) {
      vmx_op_fail(v, err, "reset failed: %s", why);
      g_free(why);
      return -1;
   }
   vmxlog("Reset");
   v->power_on_mono = g_get_monotonic_time();
   vmx_set_power_state(v, "poweredOn");
   return 0;
}

int
vmx_suspend(vmx *v, char **err)
{
   if (!is(v, "poweredOn") && !is(v, "paused")) {
      return vmx_op_fail(v, err, "cannot suspend: the virtual machine is %s", v->power_state);
   }
   const char *before = v->power_state;
   bool was_running = is(v, "poweredOn");
   vmx_set_power_state(v, "suspending");
   char *why = NULL;
   if (was_running && vmx_machine_pause(v->machine, &why) < 0) {
      vmx_op_fail(v, err, "cannot suspend: %s", why);
      g_free(why);
      vmx_set_power_state(v, before);
      return -1;
   }
   char *vmss = vmxcfg_suspend_path(v->vmx_path);
   gint64 t0 = g_get_monotonic_time();
   vmdb_tx_begin(v->ctx);
   vmdb_set_str(v->ctx, "/vm/runtime/checkpoint/op", "suspend");
   vmdb_set_int(v->ctx, "/vm/runtime/checkpoint/progress", 0);
   vmdb_tx_commit(v->ctx);
   ckpt_file_writer *w = ckpt_file_create(vmss, NULL, &why);
   bool ok = w != NULL;
   if (ok && !vmx_machine_save(v->machine, w, vmx_checkpoint_progress, v, &why)) {
      ckpt_file_abort(w);
      ok = false;
   } else if (ok) {
      ok = ckpt_file_commit(w, &why);
   }
   vmdb_set_str(v->ctx, "/vm/runtime/checkpoint/op", "");
   if (!ok) {
      vmx_op_fail(v, err, "cannot suspend: %s; the virtual machine keeps %s", why,
              was_running ? "running" : "paused");
      g_free(why);
      g_free(vmss);
      if (was_running) {
         why = NULL;
         vmx_machine_unpause(v->machine, &why);
         g_free(why);
      }
      vmx_set_power_state(v, before);
      return -1;
   }
   vmxlog("Checkpoint: suspended to %s in %lld ms", vmss,
          (long long)((g_get_monotonic_time() - t0) / 1000));
   g_free(vmss);
   vmx_drop_machine(v);
   vmx_set_power_state(v, "suspended");
   vmx_schedule_exit(v, 0);
   return 0;
}

int
vmx_pause(vmx *v, char **err)
{
   if (!is(v, "poweredOn")) {
      return vmx_op_fail(v, err, "cannot pause: the virtual machine is %s", v->power_state);
   }
   char *why = NULL;
   if (vmx_machine_pause(v->machine, &why) < 0) {
      vmx_op_fail(v, err, "pause failed: %s", why);
      g_free(why);
      return -1;
   }
   vmx_set_power_state(v, "paused");
   return 0;
}

int
vmx_unpause(vmx *v, char **err)
{
   if (!is(v, "paused")) {
      return vmx_op_fail(v, err, "cannot unpause: the virtual machine is %s", v->power_state);
   }
   char *why = NULL;
   if (vmx_machine_unpause(v->machine, &why) < 0) {
      vmx_op_fail(v, err, "unpause failed: %s", why);
      g_free(why);
      return -1;
   }
   vmx_set_power_state(v, "poweredOn");
   return 0;
}

int
vmx_capture_screen(vmx *v, const char *path, char **err)
{
   if (!is(v, "poweredOn") && !is(v, "paused")) {
      return vmx_op_fail(v, err, "cannot capture the screen: the virtual machine is %s",
                     v->power_state);
   }
   if (!v->mks) {
      return vmx_op_fail(v, err, "cannot capture the screen: the virtual machine has no display");
   }
   if (!g_path_is_absolute(path)) {
      return vmx_op_fail(v, err, "cannot capture the screen: '%s' is not an absolute path", path);
   }
   char *why = NULL;
   if (!mks_capture_screen(v->mks, path, &why)) {
      vmx_op_fail(v, err, "cannot capture the screen to %s: %s", path, why);
      g_free(why);
      return -1;
   }
   unsigned w = 0, h = 0;
   mks_screen_size(v->mks, &w, &h);
   vmxlog("Screen captured to %s (%ux%u)", path, w, h);
   return 0;
}

static int
write_variable(vmx *v, const char *name, const char *value, char **err)
{
   if (!vmxcfg_key_valid(name)) {
      return vmx_op_fail(v, err, "'%s' is not a valid configuration key", name);
   }
   vmxcfg_set(v->cfg, name, value);
   char *why = NULL;
   if (vmxcfg_save(v->cfg, v->vmx_path, &why) < 0) {
      vmx_op_fail(v, err, "%s", why);
      g_free(why);
      return -1;
   }
   char *lk = g_ascii_strdown(name, -1);
   char *path = g_strdup_printf("/vm/config/#%s", lk);
   vmdb_set_str(v->ctx, path, value);
   g_free(path);
   g_free(lk);
   vmxlog("Config: %s = \"%s\" (runtime change, saved)", name, value);
   return 0;
}

static int
dispatch(vmx *v, const char *op, const char *arg, const char *arg2, char **err)
{
   if (!strcmp(op, "powerOn")) return vmx_power_on(v, err);
   if (!strcmp(op, "powerOff")) return vmx_power_off(v, false, err);
   if (!strcmp(op, "softPowerOff")) return vmx_power_off(v, true, err);
   if (!strcmp(op, "reset")) return vmx_reset(v, err);
   if (!strcmp(op, "suspend")) return vmx_suspend(v, err);
   if (!strcmp(op, "pause")) return vmx_pause(v, err);
   if (!strcmp(op, "unpause")) return vmx_unpause(v, err);
   if (!strcmp(op, "writeVariable")) return write_variable(v, arg, arg2, err);
   if (!strcmp(op, "captureScreen")) return vmx_capture_screen(v, arg, err);
   if (!strcmp(op, "snapshot")) return vmx_snapshot_take(v, arg, arg2, err);
   if (!strcmp(op, "revertToSnapshot")) return vmx_snapshot_revert(v, arg, err);
   if (!strcmp(op, "deleteSnapshot")) return vmx_snapshot_delete(v, arg, arg2, err);
   if (!strcmp(op, "quit")) return vmx_quit(v, err);
   *err = g_strdup_printf("unknown operation '%s'", op);
   vmxlog("Request refused: %s", *err);
   return -1;
}

void
vmx_run_commands(vmx *v)
{
   char **ids = vmdb_list(v->ctx, "/vm/cmd");
   for (char **id = ids; *id; id++) {
      char *base = g_strdup_printf("/vm/cmd/%s", *id);
      char *p_state = g_strdup_printf("%s/state", base);
      char *p_op = g_strdup_printf("%s/op", base);
      char *state = vmdb_get_str(v->ctx, p_state);
      char *op = vmdb_get_str(v->ctx, p_op);
      if (state && op && state[0] == '\0' && op[0] != '\0') {
         char *p_arg = g_strdup_printf("%s/arg", base);
         char *p_arg2 = g_strdup_printf("%s/arg2", base);
         char *arg = vmdb_get_str(v->ctx, p_arg);
         char *arg2 = vmdb_get_str(v->ctx, p_arg2);
         vmxlog("Request %s: %s%s%s", *id, op, arg && *arg ? " " : "", arg ? arg : "");
         vmdb_set_str(v->ctx, p_state, "running");
         char *err = NULL;
         int r = dispatch(v, op, arg ? arg : "", arg2 ? arg2 : "", &err);
         char *p_err = g_strdup_printf("%s/error", base);
         vmdb_tx_begin(v->ctx);
         vmdb_set_str(v->ctx, p_err, r < 0 && err ? err : "");
         vmdb_set_str(v->ctx, p_state, r < 0 ? "error" : "done");
         vmdb_tx_commit(v->ctx);
         g_free(p_err);
         g_free(err);
         g_free(arg);
         g_free(arg2);
         g_free(p_arg);
         g_free(p_arg2);
      }
      g_free(state);
      g_free(op);
      g_free(p_state);
      g_free(p_op);
      g_free(base);
   }
   g_strfreev(ids);
}
