/*
 * cui/newvm-edit.h - the new-VM model in edit mode, for cui/settings.c.
 *
 * In edit mode the model describes an existing .vmx: the name is only the
 * display name (any text), the location is the VM's folder and cannot
 * change, relative media paths are taken from the VM's folder (as the vmx
 * reads them), and a guestOS value this version does not offer is kept
 * when it is left alone.
 */
#ifndef CUI_NEWVM_EDIT_H
#define CUI_NEWVM_EDIT_H

#include "cui/newvm.h"
#include "vmx/config.h"

/* A model holding the editable settings of the .vmx at abs_vmx, read from
 * cfg (its parsed contents). */
cui_newvm *cui_newvm_new_edit(const char *abs_vmx, const vmxcfg *cfg);
/* Turn m into (or refresh it as) such a model, in place. */
void cui_newvm_edit_load(cui_newvm *m, const char *abs_vmx, const vmxcfg *cfg);

/* Whether the field's text means the same as other (numbers, booleans and
 * keywords are compared by value). */
bool cui_newvm_same(const cui_newvm *m, cui_newvm_field f, const char *other);

/* The key changes (cui_vmxedit_change) that make cfg hold the fields
 * marked in which[CUI_NEWVM_N_FIELDS]. */
void cui_newvm_changes(const cui_newvm *m, const vmxcfg *cfg, const bool *which,
                       GPtrArray *changes);

#endif
