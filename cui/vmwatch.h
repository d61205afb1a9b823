/*
 * cui/vmwatch.h - a live mirror of a VM's VMDB, from its vmx while one
 * serves the VM.
 *
 * The watch connects to the VM's vmx (its VMDB socket in the runtime
 * folder) when one answers, mirrors the subtrees asked for, and tells its
 * owner when they change. While no vmx serves the VM it looks again every
 * second and calls the owner's idle callback each time (the owner reads
 * the VM's files then). A vmx that goes (its pipe closes, or it powered
 * off and removed its socket: it waits for its clients to hang up before
 * it exits, so the watch hangs up at once) is noticed, and the watch looks
 * again right away: a new vmx may already serve the VM.
 *
 * Everything runs on the creating thread's default GMainContext; the
 * callbacks are never called from inside cui_vmwatch_new/_free.
 */
#ifndef CUI_VMWATCH_H
#define CUI_VMWATCH_H

#include "lib/vmdb/vmdb.h"

#include <glib.h>
#include <stdbool.h>

typedef struct cui_vmwatch cui_vmwatch;

typedef struct cui_vmwatch_callbacks {
   /* The mirror synced, or changed since: read it with cui_vmwatch_ctx(). */
   void (*changed)(void *user);
   /* No vmx serves the VM: after a look that found none (on every retry),
    * and, with lost, right after a vmx went away. */
   void (*idle)(bool lost, void *user);
} cui_vmwatch_callbacks;

/* Watch the VM whose .vmx is abs_vmx; subtrees: NULL-terminated VMDB paths
 * whose changes to report (all under /vm). Looks once at once: connects, or
 * leaves the owner to read its files (no idle callback from here). */
cui_vmwatch *cui_vmwatch_new(const char *abs_vmx, const char *const *subtrees,
                             const cui_vmwatch_callbacks *cb, void *user);
void cui_vmwatch_free(cui_vmwatch *w);

/* Look now (when not connected). True when connected to a vmx (the mirror
 * may not have synced yet). */
bool cui_vmwatch_update(cui_vmwatch *w);
/* Connected and synced. */
bool cui_vmwatch_up(const cui_vmwatch *w);
/* Connected (synced or not). */
bool cui_vmwatch_connected(const cui_vmwatch *w);
/* The mirror, NULL unless up. */
vmdb_ctx *cui_vmwatch_ctx(const cui_vmwatch *w);

#endif
