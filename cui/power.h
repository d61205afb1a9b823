/*
 * cui/power.h - one VM's power state, watched live, and its power
 * operations run without blocking the caller's main loop.
 *
 * A cui_power belongs to the thread that made it and to that thread's
 * default GMainContext (the GTK main loop in the UI); every callback runs
 * there. It
 *
 *   - watches the VM: while a vmx process runs it, a VMDB pipe on that
 *     context mirrors the vmx's /vm subtree (power state, monitor mode,
 *     VNC, console socket, last error) and every change is reported; when
 *     no vmx runs it, the state comes from the .vmx ("suspended" when it
 *     records a suspend file, else "poweredOff") and the runtime directory
 *     is checked again every second for a vmx started by someone else
 *     (vmrun, another UI);
 *
 *   - runs one power operation at a time on a worker thread, with its own
 *     VMDB connection (cui/vmclient.h): starting the vmx for a power-on,
 *     sending the request, and waiting until the VM reached the state the
 *     operation promises (a guest shutdown waits for the guest). The
 *     result comes back on the owner's context: success, or the vmx's
 *     message saying what went wrong.
 */
#ifndef CUI_POWER_H
#define CUI_POWER_H

#include <glib.h>
#include <stdbool.h>

typedef struct cui_power cui_power;

typedef enum cui_power_op {
   CUI_POWER_ON,         /* start the vmx (or ask an idle one) and power on */
   CUI_POWER_SHUTDOWN,   /* ask the guest to shut down (ACPI), wait until it is off */
   CUI_POWER_OFF,        /* power off at once */
   CUI_POWER_SUSPEND,    /* save the VM's state to disk and stop it */
   CUI_POWER_RESUME,     /* power a suspended VM on from its saved state */
   CUI_POWER_RESET,      /* hard reset */
   CUI_POWER_PAUSE,      /* stop the vCPUs, keep everything in memory */
   CUI_POWER_UNPAUSE,    /* let a paused VM run again */
   CUI_POWER_N_OPS
} cui_power_op;

/* How long a guest shutdown may take before it is reported as failed. */
#define CUI_POWER_SHUTDOWN_TIMEOUT_MS (5 * 60 * 1000)

/* "Power On", "Shut Down Guest", ... (menu text, no mnemonics). */
const char *cui_power_op_label(cui_power_op op);
/* "Powering on…", "Shutting down the guest…" (progress text). */
const char *cui_power_op_progress(cui_power_op op);
/* A stable name: "power-on", "shut-down", "power-off", "suspend",
 * "resume", "reset", "pause", "unpause" (action names in the UI). */
const char *cui_power_op_name(cui_power_op op);
bool cui_power_op_from_name(const char *name, cui_power_op *out);
/* Whether op makes sense for a VM in power_state (NULL: unknown). */
bool cui_power_op_allowed(cui_power_op op, const char *power_state);
/* "Powered off", "Powered on", "Paused", "Suspended", "Powering on", ...
 * for a power state value; the value itself when it is not known. */
const char *cui_power_state_label(const char *power_state);

typedef struct cui_power_callbacks {
   /* The state or any watched value changed (also when the vmx came or
    * went). */
   void (*changed)(cui_power *p, void *user);
   /* An operation started. */
   void (*op_started)(cui_power *p, cui_power_op op, void *user);
   /* It ended: ok, or error says what went wrong (the vmx's message where
    * it gave one). */
   void (*op_finished)(cui_power *p, cui_power_op op, bool ok, const char *error, void *user);
   void *user;
} cui_power_callbacks;

/* Watch the VM whose .vmx is abs_vmx (absolute, symlink-free). cb may be
 * NULL. */
cui_power *cui_power_new(const char *abs_vmx, const cui_power_callbacks *cb);
/* Stops watching; an operation still running goes on in the vmx (a
 * power-on completes, a shutdown is not waited for), its result is
 * dropped. */
void cui_power_free(cui_power *p);

const char *cui_power_vmx_path(const cui_power *p);

/* The power state: the vmx's (poweredOff, poweringOn, poweredOn, paused,
 * suspending, suspended, poweringOff) or, without one, "poweredOff" or
 * "suspended". Never NULL. */
const char *cui_power_state(const cui_power *p);
/* Whether a vmx process runs the VM and this watcher mirrors its VMDB. */
bool cui_power_vmx_up(const cui_power *p);
/* A value the vmx publishes (a path of data/vmdb-schema.txt, e.g.
 * "/vm/runtime/monitor/chosen"); NULL when no vmx runs or it is unset.
 * Free with g_free(). */
char *cui_power_get(const cui_power *p, const char *path);
/* Look again now (after a change made elsewhere). */
void cui_power_refresh(cui_power *p);

/* Whether an operation runs (and which). */
bool cui_power_busy(const cui_power *p, cui_power_op *op);
/* Whether op can be started now: the state allows it and nothing runs,
 * or it is Power Off while a guest shutdown is being waited for (a guest
 * may ignore the request: the user must be able to stop it anyway). */
bool cui_power_can_start(const cui_power *p, cui_power_op op);
/* Start op. Refused (false, *err) while another runs or when the VM's
 * state does not allow it; otherwise op_started is called before this
 * returns and op_finished later, from the main loop. A Power Off over a
 * pending shutdown stops the wait: the shutdown is not reported, the
 * power-off is. */
bool cui_power_start(cui_power *p, cui_power_op op, char **err);

#endif
