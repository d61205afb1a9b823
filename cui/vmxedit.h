/*
 * cui/vmxedit.h - changing keys of a VM's .vmx, whether or not it runs.
 *
 * While a vmx process runs a VM it owns the .vmx: it keeps the config in
 * memory and rewrites the file when a client changes a key, so a direct
 * write from here would be lost (or would not be seen at its next
 * power-on). cui_vmxedit_apply() therefore
 *
 *   - takes the VM's lock (the one a vmx holds while it runs, in the
 *     runtime directory; see lib/rundir.h) so no vmx can start meanwhile,
 *     and rewrites the .vmx atomically, keeping every other line; or
 *   - when a vmx holds that lock, sends each change to it as a
 *     "writeVariable" request over VMDB; the vmx saves the file.
 *
 * Changes that need the VM powered off are refused (before anything is
 * written) unless it is: no vmx runs it and it is not suspended, or its
 * vmx reports "poweredOff".
 */
#ifndef CUI_VMXEDIT_H
#define CUI_VMXEDIT_H

#include <glib.h>
#include <stdbool.h>

typedef struct cui_vmxedit_change {
   char *key;
   char *value;   /* NULL: remove the key */
} cui_vmxedit_change;

/* An empty list of cui_vmxedit_change (freed with g_ptr_array_unref). */
GPtrArray *cui_vmxedit_changes_new(void);
void cui_vmxedit_changes_add(GPtrArray *changes, const char *key, const char *value);

/* The power state of the VM at abs_vmx: that of its vmx when one runs it
 * (*vmx_up true), else "suspended" when the .vmx records a suspend file
 * (checkpoint.vmState), else "poweredOff". */
char *cui_vmxedit_power_state(const char *abs_vmx, bool *vmx_up);

/* Apply changes to abs_vmx (absolute, symlink-free). needs_off, when not
 * NULL, names what in the changes needs the VM powered off (for the
 * message: "Processors, Memory"). Returns 0, or -1 with *err. *via_vmx (may
 * be NULL) tells whether a running vmx made the change. */
int cui_vmxedit_apply(const char *abs_vmx, GPtrArray *changes, const char *needs_off,
                      bool *via_vmx, char **err);

#endif
