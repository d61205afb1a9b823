/*
 * cui/vmclient.h - talk to a VM's vmx process over VMDB.
 *
 * Toolkit-free: used by vmrun and by the UI. A client mirrors the vmx's
 * /vm subtree, sends requests as /vm/cmd/#ID entries and waits for the vmx
 * to answer in their state. It never calls into a vmx directly.
 */
#ifndef CUI_VMCLIENT_H
#define CUI_VMCLIENT_H

#include "lib/vmdb/vmdb.h"

#include <stdbool.h>

typedef struct vmclient vmclient;

/* Absolute, symlink-free path of a .vmx; NULL with *err if it is missing. */
char *vmclient_resolve(const char *path, char **err);

/* Connect to the vmx running abs_vmx. NULL with *err when none runs. */
vmclient *vmclient_connect(const char *abs_vmx, int timeout_ms, char **err);
void vmclient_free(vmclient *c);

/* Start a vmx for abs_vmx in the background (detached from the caller) and
 * wait until it serves VMDB. With power_on, the vmx powers the VM on and a
 * failure to do so is returned here. */
int vmclient_spawn_vmx(const char *abs_vmx, bool power_on, char **err);

/* Send a request (/vm/cmd) and wait for the vmx's answer. */
int vmclient_command(vmclient *c, const char *op, const char *arg, const char *arg2,
                     int timeout_ms, char **err);

/* Wait until /vm/runtime/powerState is one of states (NULL-terminated) or
 * the vmx exits. Returns the state seen, or "exited"; NULL on timeout. */
const char *vmclient_wait_power_state(vmclient *c, const char *const *states, int timeout_ms);

/* Reads from the mirror; NULL if unset or invalid. */
char *vmclient_get(vmclient *c, const char *path);
/* A write to the vmx (only where the vmx lets clients write). */
int vmclient_set(vmclient *c, const char *path, const char *value, char **err);
bool vmclient_connected(vmclient *c);
vmdb_ctx *vmclient_ctx(vmclient *c);

/* .vmx paths of every VM with a vmx running for this user. */
char **vmclient_list_running(void);

/* Where the vmx binary is: $VMWS_VMX, else beside (or near) this program. */
char *vmclient_find_vmx_binary(void);

#endif
