/*
 * vmx/main/vmx.h - the per-VM process: one VMDB instance, the power state
 * machine, and the VMDB pipe server that vmrun and the UI talk to.
 */
#ifndef VMX_VMX_H
#define VMX_VMX_H

#include "lib/vmdb/vmdb-pipe.h"
#include "vmx/config.h"
#include "vmx/main/machine.h"
#include "mks/mks.h"

typedef struct vmx {
   char *vmx_path;        /* absolute */
   char *dir;
   vmxcfg *cfg;
   vmdb_db *db;
   vmdb_ctx *ctx;         /* the main thread's context */
   GMainLoop *loop;
   int lfd;
   GSource *accept_src;
   GPtrArray *pipes;      /* vmdb_pipe* */
   char *sock_path;
   char *lock_path;
   int lock_fd;
   const char *power_state;
   vmx_machine *machine;
   mks *mks;              /* NULL when the machine has no SVGA device */
   guint uptime_timer;
   gint64 power_on_mono;
   bool exiting;
   bool reverting;        /* a power-on inside a revert to a snapshot */
   bool guest_vars_watched; /* /vm/guestVar subscribed (power.c) */
   guint exit_timer;
   int exit_code;
} vmx;

/* Power operations. Each sets /vm/runtime/powerState through the
 * intermediate states and returns 0, or -1 with *err (also logged and put
 * in /vm/runtime/lastError). */
int vmx_power_on(vmx *v, char **err);
int vmx_power_off(vmx *v, bool soft, char **err);
int vmx_reset(vmx *v, char **err);
int vmx_suspend(vmx *v, char **err);
int vmx_pause(vmx *v, char **err);
int vmx_unpause(vmx *v, char **err);
/* Leave the vmx when no machine runs (poweredOff or suspended): for a
 * client that started it without powering on (vmrun's snapshot commands). */
int vmx_quit(vmx *v, char **err);
/* Tear the machine down and clear what it published; the power state is
 * the caller's to set. */
void vmx_drop_machine(vmx *v);
/* Write the guest's screen to a PNG file (path absolute). */
int vmx_capture_screen(vmx *v, const char *path, char **err);

void vmx_set_power_state(vmx *v, const char *state);
/* A refused or failed operation: log "Error: MSG", put MSG in
 * /vm/runtime/lastError and *err; returns -1. */
int vmx_op_fail(vmx *v, char **err, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* Run a queued /vm/cmd request. */
void vmx_run_commands(vmx *v);
/* Publish every config key under /vm/config. */
void vmx_publish_config(vmx *v);
/* Leave the main loop once clients have seen the final state. */
void vmx_schedule_exit(vmx *v, int code);

#endif
