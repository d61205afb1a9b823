/*
 * ui/vmws-vm.c - VmwsVm: one virtual machine of the library, with its
 * live power state.
 *
 * Signals:
 *   op-started (int op)
 *   op-finished (int op, gboolean ok, const char *error)
 *   config-changed ()
 *   snapshots-changed ()      the tree (cui/snapshots.h) changed
 *   snapshot-op-finished (int op, gboolean ok, const char *error)
 *
 * "busy" and "progress" cover snapshot operations too, so the sidebar and
 * the status bar show them as they show power operations.
 */
#include "ui/vmws-vm.h"
#include "vmx/config.h"

#include <stdlib.h>
#include <string.h>

struct _VmwsVm {
   GObject parent;
   unsigned id;
   char *path;
   char *name;
   char *problem;
   cui_power *power;
   cui_snapshots *snapshots;
   /* Cached from the power model, to notify only real changes. */
   char *state;
   char *status;
   char *progress;
   gboolean busy;
   char *monitor;
   char *vnc;
   char *console;
   char *monitor_config;    /* monitor.virtual_exec in the .vmx */
   double fraction;         /* how far the operation got, 0..1; -1: unknown */
};

G_DEFINE_TYPE(VmwsVm, vmws_vm, G_TYPE_OBJECT)

enum {
   PROP_0,
   PROP_NAME,
   PROP_PATH,
   PROP_PROBLEM,
   PROP_POWER_STATE,
   PROP_STATE_LABEL,
   PROP_STATE_ICON,
   PROP_STATUS,
   PROP_BUSY,
   PROP_PROGRESS,
   PROP_MONITOR,
   PROP_VNC_ADDRESS,
   PROP_CONSOLE_SOCKET,
   PROP_MONITOR_CONFIG,
   PROP_FRACTION,
   N_PROPS
};
static GParamSpec *props[N_PROPS];

enum {
   SIG_OP_STARTED,
   SIG_OP_FINISHED,
   SIG_CONFIG_CHANGED,
   SIG_SNAPSHOTS_CHANGED,
   SIG_SNAPSHOT_OP_FINISHED,
   N_SIGNALS
};
static guint signals[N_SIGNALS];

/* Replace *slot with value; true when it changed. */
static gboolean
take_str(char **slot, char *value)
{
   if (g_strcmp0(*slot, value) == 0) {
      g_free(value);
      return FALSE;
   }
   g_free(*slot);
   *slot = value;
   return TRUE;
}

static void
update(VmwsVm *vm)
{
   cui_power *p = vm->power;
   g_object_freeze_notify(G_OBJECT(vm));
   if (take_str(&vm->state, g_strdup(cui_power_state(p)))) {
      g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_POWER_STATE]);
      g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_STATE_LABEL]);
      g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_STATE_ICON]);
   }
   cui_power_op op;
   gboolean power_busy = cui_power_busy(p, &op);
   gboolean snap_busy = vm->snapshots && cui_snapshots_busy(vm->snapshots, NULL);
   gboolean busy = power_busy || snap_busy;
   if (busy != vm->busy) {
      vm->busy = busy;
      g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_BUSY]);
   }
   /* A suspend or resume says how far it got (the share of guest memory
    * saved or restored). */
   char *ck = power_busy ? cui_power_get(p, "/vm/runtime/checkpoint/op") : NULL;
   char *pct = ck && *ck ? cui_power_get(p, "/vm/runtime/checkpoint/progress") : NULL;
   double fraction = pct ? CLAMP(g_ascii_strtod(pct, NULL) / 100.0, 0, 1) : -1;
   char *text;
   if (power_busy) {
      text = pct ? g_strdup_printf("%s %d%%", cui_power_op_progress(op),
                                   (int)(fraction * 100 + 0.5))
                 : g_strdup(cui_power_op_progress(op));
   } else if (snap_busy) {
      /* A snapshot says how far it got writing or checking guest memory. */
      int sp = cui_snapshots_progress(vm->snapshots);
      fraction = sp >= 0 ? sp / 100.0 : -1;
      text = g_strdup(cui_snapshots_progress_text(vm->snapshots));
   } else {
      text = g_strdup("");
   }
   g_free(ck);
   g_free(pct);
   if (take_str(&vm->progress, text)) {
      g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_PROGRESS]);
   }
   if (fraction != vm->fraction) {
      vm->fraction = fraction;
      g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_FRACTION]);
   }
   if (take_str(&vm->status, g_strdup(busy ? vm->progress : cui_power_state_label(vm->state)))) {
      g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_STATUS]);
   }
   char *mon = cui_power_get(p, "/vm/runtime/monitor/chosen");
   if (take_str(&vm->monitor, g_strdup(mon ? mon : ""))) {
      g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_MONITOR]);
   }
   g_free(mon);
   char *addr = cui_power_get(p, "/vm/mks/vnc/address");
   char *port = cui_power_get(p, "/vm/mks/vnc/port");
   char *vnc = addr && *addr && port && atoi(port) > 0 ? g_strdup_printf("%s:%s", addr, port)
                                                       : g_strdup("");
   if (take_str(&vm->vnc, vnc)) {
      g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_VNC_ADDRESS]);
   }
   g_free(addr);
   g_free(port);
   char *sock = cui_power_get(p, "/vm/mks/console/socket");
   if (take_str(&vm->console, g_strdup(sock ? sock : ""))) {
      g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_CONSOLE_SOCKET]);
   }
   g_free(sock);
   g_object_thaw_notify(G_OBJECT(vm));
}

/* What the .vmx asks for (read again after a settings change). */
static void
read_config(VmwsVm *vm)
{
   char *err = NULL;
   vmxcfg *cfg = vmxcfg_load(vm->path, &err);
   const char *mon = cfg ? vmxcfg_get(cfg, "monitor.virtual_exec") : NULL;
   char *lower = g_ascii_strdown(mon && *mon ? mon : "automatic", -1);
   if (take_str(&vm->monitor_config, lower)) {
      g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_MONITOR_CONFIG]);
   }
   vmxcfg_free(cfg);
   g_free(err);
}

static void
on_changed(cui_power *p, void *user)
{
   update(VMWS_VM(user));
}

static void
on_op_started(cui_power *p, cui_power_op op, void *user)
{
   VmwsVm *vm = user;
   update(vm);
   g_signal_emit(vm, signals[SIG_OP_STARTED], 0, (int)op);
}

static void
on_op_finished(cui_power *p, cui_power_op op, bool ok, const char *error, void *user)
{
   VmwsVm *vm = user;
   update(vm);
   /* A handler may drop the last reference (a dialog closing a window). */
   g_object_ref(vm);
   g_signal_emit(vm, signals[SIG_OP_FINISHED], 0, (int)op, (gboolean)ok, error);
   g_object_unref(vm);
}

static void
on_snapshots_changed(cui_snapshots *s, void *user)
{
   VmwsVm *vm = user;
   update(vm);
   g_signal_emit(vm, signals[SIG_SNAPSHOTS_CHANGED], 0);
}

static void
on_snapshots_progress(cui_snapshots *s, void *user)
{
   update(VMWS_VM(user));
}

static void
on_snapshot_op_finished(cui_snapshots *s, cui_snapshot_op op, bool ok, const char *error,
                        void *user)
{
   VmwsVm *vm = user;
   /* The power watch may not have seen a vmx that the request started or
    * ended yet. */
   cui_power_refresh(vm->power);
   update(vm);
   g_object_ref(vm);
   g_signal_emit(vm, signals[SIG_SNAPSHOT_OP_FINISHED], 0, (int)op, (gboolean)ok, error);
   g_signal_emit(vm, signals[SIG_SNAPSHOTS_CHANGED], 0);
   g_object_unref(vm);
}

VmwsVm *
vmws_vm_new(unsigned inventory_id, const char *vmx_path, const char *name)
{
   VmwsVm *vm = g_object_new(VMWS_TYPE_VM, NULL);
   vm->id = inventory_id;
   vm->path = g_strdup(vmx_path);
   vm->name = g_strdup(name ? name : "");
   cui_power_callbacks cb = { on_changed, on_op_started, on_op_finished, vm };
   vm->power = cui_power_new(vmx_path, &cb);
   cui_snapshots_callbacks scb = { on_snapshots_changed, on_snapshots_progress,
                                   on_snapshot_op_finished, vm };
   vm->snapshots = cui_snapshots_new(vmx_path, &scb);
   read_config(vm);
   update(vm);
   return vm;
}

static void
vmws_vm_finalize(GObject *obj)
{
   VmwsVm *vm = VMWS_VM(obj);
   cui_snapshots_free(vm->snapshots);
   cui_power_free(vm->power);
   g_free(vm->path);
   g_free(vm->name);
   g_free(vm->problem);
   g_free(vm->state);
   g_free(vm->status);
   g_free(vm->progress);
   g_free(vm->monitor);
   g_free(vm->vnc);
   g_free(vm->console);
   g_free(vm->monitor_config);
   G_OBJECT_CLASS(vmws_vm_parent_class)->finalize(obj);
}

static void
vmws_vm_get_property(GObject *obj, guint id, GValue *value, GParamSpec *pspec)
{
   VmwsVm *vm = VMWS_VM(obj);
   switch (id) {
   case PROP_NAME: g_value_set_string(value, vm->name); break;
   case PROP_PATH: g_value_set_string(value, vm->path); break;
   case PROP_PROBLEM: g_value_set_string(value, vm->problem); break;
   case PROP_POWER_STATE: g_value_set_string(value, vmws_vm_get_power_state(vm)); break;
   case PROP_STATE_LABEL: g_value_set_string(value, vmws_vm_get_state_label(vm)); break;
   case PROP_STATE_ICON: g_value_set_string(value, vmws_vm_get_state_icon(vm)); break;
   case PROP_STATUS: g_value_set_string(value, vmws_vm_get_status(vm)); break;
   case PROP_BUSY: g_value_set_boolean(value, vm->busy); break;
   case PROP_PROGRESS: g_value_set_string(value, vm->progress); break;
   case PROP_MONITOR: g_value_set_string(value, vm->monitor); break;
   case PROP_VNC_ADDRESS: g_value_set_string(value, vm->vnc); break;
   case PROP_CONSOLE_SOCKET: g_value_set_string(value, vm->console); break;
   case PROP_MONITOR_CONFIG: g_value_set_string(value, vm->monitor_config); break;
   case PROP_FRACTION: g_value_set_double(value, vm->fraction); break;
   default: G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec);
   }
}

static void
vmws_vm_class_init(VmwsVmClass *klass)
{
   GObjectClass *oc = G_OBJECT_CLASS(klass);
   oc->finalize = vmws_vm_finalize;
   oc->get_property = vmws_vm_get_property;
   const GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
   props[PROP_NAME] = g_param_spec_string("name", NULL, NULL, NULL, ro);
   props[PROP_PATH] = g_param_spec_string("path", NULL, NULL, NULL, ro);
   props[PROP_PROBLEM] = g_param_spec_string("problem", NULL, NULL, NULL, ro);
   props[PROP_POWER_STATE] = g_param_spec_string("power-state", NULL, NULL, NULL, ro);
   props[PROP_STATE_LABEL] = g_param_spec_string("state-label", NULL, NULL, NULL, ro);
   props[PROP_STATE_ICON] = g_param_spec_string("state-icon", NULL, NULL, NULL, ro);
   props[PROP_STATUS] = g_param_spec_string("status", NULL, NULL, NULL, ro);
   props[PROP_BUSY] = g_param_spec_boolean("busy", NULL, NULL, FALSE, ro);
   props[PROP_PROGRESS] = g_param_spec_string("progress", NULL, NULL, NULL, ro);
   props[PROP_MONITOR] = g_param_spec_string("monitor", NULL, NULL, NULL, ro);
   props[PROP_VNC_ADDRESS] = g_param_spec_string("vnc-address", NULL, NULL, NULL, ro);
   props[PROP_CONSOLE_SOCKET] = g_param_spec_string("console-socket", NULL, NULL, NULL, ro);
   props[PROP_MONITOR_CONFIG] = g_param_spec_string("monitor-config", NULL, NULL, NULL, ro);
   props[PROP_FRACTION] = g_param_spec_double("fraction", NULL, NULL, -1, 1, -1, ro);
   g_object_class_install_properties(oc, N_PROPS, props);
   signals[SIG_OP_STARTED] = g_signal_new("op-started", G_TYPE_FROM_CLASS(klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                          G_TYPE_NONE, 1, G_TYPE_INT);
   signals[SIG_OP_FINISHED] = g_signal_new("op-finished", G_TYPE_FROM_CLASS(klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 3, G_TYPE_INT, G_TYPE_BOOLEAN,
                                           G_TYPE_STRING);
   signals[SIG_CONFIG_CHANGED] = g_signal_new("config-changed", G_TYPE_FROM_CLASS(klass),
                                              G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                              G_TYPE_NONE, 0);
   signals[SIG_SNAPSHOTS_CHANGED] = g_signal_new("snapshots-changed", G_TYPE_FROM_CLASS(klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 0);
   signals[SIG_SNAPSHOT_OP_FINISHED] =
      g_signal_new("snapshot-op-finished", G_TYPE_FROM_CLASS(klass), G_SIGNAL_RUN_LAST, 0, NULL,
                   NULL, NULL, G_TYPE_NONE, 3, G_TYPE_INT, G_TYPE_BOOLEAN, G_TYPE_STRING);
}

static void
vmws_vm_init(VmwsVm *vm)
{
   vm->fraction = -1;
}

unsigned
vmws_vm_get_inventory_id(VmwsVm *vm)
{
   return vm->id;
}

const char *
vmws_vm_get_path(VmwsVm *vm)
{
   return vm->path;
}

const char *
vmws_vm_get_name(VmwsVm *vm)
{
   return vm->name;
}

void
vmws_vm_set_name(VmwsVm *vm, const char *name)
{
   if (take_str(&vm->name, g_strdup(name ? name : ""))) {
      g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_NAME]);
   }
}

const char *
vmws_vm_get_problem(VmwsVm *vm)
{
   return vm->problem;
}

void
vmws_vm_set_problem(VmwsVm *vm, const char *problem)
{
   if (take_str(&vm->problem, g_strdup(problem))) {
      g_object_notify_by_pspec(G_OBJECT(vm), props[PROP_PROBLEM]);
   }
}

const char *
vmws_vm_get_power_state(VmwsVm *vm)
{
   return vm->state ? vm->state : "poweredOff";
}

const char *
vmws_vm_get_state_label(VmwsVm *vm)
{
   return cui_power_state_label(vmws_vm_get_power_state(vm));
}

const char *
vmws_vm_get_state_icon(VmwsVm *vm)
{
   const char *st = vmws_vm_get_power_state(vm);
   if (vm->problem) {
      return "vmws-state-missing";
   }
   if (!strcmp(st, "poweredOn") || !strcmp(st, "poweringOn") || !strcmp(st, "poweringOff")) {
      return "vmws-state-on";
   }
   if (!strcmp(st, "paused")) {
      return "vmws-state-paused";
   }
   if (!strcmp(st, "suspended") || !strcmp(st, "suspending")) {
      return "vmws-state-suspended";
   }
   return "vmws-state-off";
}

const char *
vmws_vm_get_status(VmwsVm *vm)
{
   if (vm->problem) {
      return "Unavailable";
   }
   return vm->status ? vm->status : "";
}

gboolean
vmws_vm_get_busy(VmwsVm *vm)
{
   return vm->busy;
}

const char *
vmws_vm_get_progress(VmwsVm *vm)
{
   return vm->progress ? vm->progress : "";
}

double
vmws_vm_get_fraction(VmwsVm *vm)
{
   return vm->fraction;
}

char *
vmws_vm_get_runtime(VmwsVm *vm, const char *vmdb_path)
{
   return cui_power_get(vm->power, vmdb_path);
}

const char *
vmws_vm_get_monitor(VmwsVm *vm)
{
   return vm->monitor ? vm->monitor : "";
}

const char *
vmws_vm_get_monitor_config(VmwsVm *vm)
{
   return vm->monitor_config ? vm->monitor_config : "automatic";
}

const char *
vmws_vm_get_vnc_address(VmwsVm *vm)
{
   return vm->vnc ? vm->vnc : "";
}

const char *
vmws_vm_get_console_socket(VmwsVm *vm)
{
   return vm->console ? vm->console : "";
}

gboolean
vmws_vm_can(VmwsVm *vm, cui_power_op op)
{
   return !vm->problem && !cui_snapshots_busy(vm->snapshots, NULL) &&
          cui_power_can_start(vm->power, op);
}

gboolean
vmws_vm_start(VmwsVm *vm, cui_power_op op, GError **error)
{
   if (vm->problem) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", vm->problem);
      return FALSE;
   }
   char *err = NULL;
   cui_snapshot_op sop;
   if (cui_snapshots_busy(vm->snapshots, &sop)) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "%s is still in progress",
                  cui_snapshot_op_label(sop));
      return FALSE;
   }
   if (!cui_power_start(vm->power, op, &err)) {
      g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, err);
      g_free(err);
      return FALSE;
   }
   return TRUE;
}

void
vmws_vm_config_changed(VmwsVm *vm)
{
   cui_power_refresh(vm->power);
   read_config(vm);
   g_signal_emit(vm, signals[SIG_CONFIG_CHANGED], 0);
}

/* ---- snapshots */

cui_snapshots *
vmws_vm_get_snapshots(VmwsVm *vm)
{
   return vm->snapshots;
}

/* Why op cannot start now, or NULL: the VM's problem, a power operation
 * under way, or what the snapshot model says (the power state as the
 * power watch sees it counts too: it follows the vmx first). */
static char *
snapshot_blocker(VmwsVm *vm, cui_snapshot_op op)
{
   if (vm->problem) {
      return g_strdup(vm->problem);
   }
   cui_power_op pop;
   if (cui_power_busy(vm->power, &pop)) {
      return g_strdup_printf("%s is still in progress", cui_power_op_label(pop));
   }
   const char *st = cui_power_state(vm->power);
   if (!cui_snapshot_op_allowed(op, st)) {
      char *what = g_ascii_strdown(cui_power_state_label(st), -1);
      char *why = g_strdup_printf("%s is not possible while the virtual machine is %s",
                                  cui_snapshot_op_label(op), what);
      g_free(what);
      return why;
   }
   char *err = NULL;
   if (!cui_snapshots_can(vm->snapshots, op, &err)) {
      return err;
   }
   return NULL;
}

gboolean
vmws_vm_can_snapshot(VmwsVm *vm, cui_snapshot_op op)
{
   char *why = snapshot_blocker(vm, op);
   g_free(why);
   return why == NULL;
}

static gboolean
snapshot_result(VmwsVm *vm, bool ok, char *err, GError **error)
{
   if (!ok) {
      g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, err ? err : "refused");
      g_free(err);
      return FALSE;
   }
   update(vm);
   return TRUE;
}

static gboolean
snapshot_check(VmwsVm *vm, cui_snapshot_op op, GError **error)
{
   char *why = snapshot_blocker(vm, op);
   if (why) {
      return snapshot_result(vm, false, why, error);
   }
   return TRUE;
}

gboolean
vmws_vm_snapshot_take(VmwsVm *vm, const char *name, const char *description, GError **error)
{
   if (!snapshot_check(vm, CUI_SNAPSHOT_TAKE, error)) {
      return FALSE;
   }
   char *err = NULL;
   bool ok = cui_snapshots_take(vm->snapshots, name, description, &err);
   return snapshot_result(vm, ok, err, error);
}

gboolean
vmws_vm_snapshot_revert(VmwsVm *vm, guint32 uid, GError **error)
{
   if (!snapshot_check(vm, CUI_SNAPSHOT_REVERT, error)) {
      return FALSE;
   }
   char *err = NULL;
   bool ok = uid ? cui_snapshots_revert(vm->snapshots, uid, &err)
                 : cui_snapshots_revert_current(vm->snapshots, &err);
   return snapshot_result(vm, ok, err, error);
}

gboolean
vmws_vm_snapshot_delete(VmwsVm *vm, guint32 uid, gboolean with_children, GError **error)
{
   if (!snapshot_check(vm, CUI_SNAPSHOT_DELETE, error)) {
      return FALSE;
   }
   char *err = NULL;
   bool ok = cui_snapshots_delete(vm->snapshots, uid, with_children, &err);
   return snapshot_result(vm, ok, err, error);
}
