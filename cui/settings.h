/*
 * cui/settings.h - the editable settings of an existing VM.
 *
 * The same fields as the new-VM model (cui/newvm.h), read from the VM's
 * .vmx. Saving writes only the keys of the fields that changed; every
 * other line of the file (unknown keys, comments) stays as it was.
 *
 * Processors, memory, guest OS, media, direct boot and the monitor mode
 * need the VM powered off: while a vmx runs it (or it is suspended) such a
 * save is refused before anything is written. The name and the VNC
 * settings can be changed at any time: on a running VM they go to its vmx
 * as "writeVariable" requests (the vmx saves the file; the VNC server
 * picks up the change at the next power-on). See cui/vmxedit.h.
 */
#ifndef CUI_SETTINGS_H
#define CUI_SETTINGS_H

#include "cui/newvm.h"

#include <stdbool.h>

typedef struct cui_settings cui_settings;

/* Read the settings of the VM at vmx_path. NULL with *err ("FILE:LINE:
 * reason" for a malformed file). */
cui_settings *cui_settings_load(const char *vmx_path, char **err);
void cui_settings_free(cui_settings *s);

/* The absolute, symlink-free .vmx path. */
const char *cui_settings_vmx_path(const cui_settings *s);

/* The fields: read, change and check them with cui_newvm_get/set/check.
 * The location is the VM's folder and cannot be changed; the name is the
 * display name only (the files keep their names). */
cui_newvm *cui_settings_model(cui_settings *s);

/* Whether field f differs from the file as last read or saved. */
bool cui_settings_changed(const cui_settings *s, cui_newvm_field f);
bool cui_settings_any_changed(const cui_settings *s);
/* Put every field back as the file has it. */
void cui_settings_revert(cui_settings *s);

/* Whether changing f needs the VM powered off. */
bool cui_settings_needs_power_off(cui_newvm_field f);
/* Whether f can be changed while the VM is in power_state. */
bool cui_settings_can_change(cui_newvm_field f, const char *power_state);
/* The VM's power state now: its vmx's when one runs it (*vmx_up true),
 * "suspended" or "poweredOff" otherwise. */
char *cui_settings_power_state(const cui_settings *s, bool *vmx_up);

/* Save the changed fields. Returns 0 (and in *notes, when not NULL, a
 * NULL-terminated list of things the user should know, or NULL), or -1
 * with *err: the errors of the changed fields, one a line, or why the
 * change cannot be made now. After a save the file is read again. */
int cui_settings_save(cui_settings *s, char ***notes, char **err);

#endif
