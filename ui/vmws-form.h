/*
 * ui/vmws-form.h - widgets bound to the fields of a new-VM model
 * (cui/newvm.h), for the new-VM assistant and the settings dialog: what
 * is typed goes into the model at once, every bound field is checked
 * again, and each check's message shows in the label under its field
 * (styled as an error or a warning), so the user sees what is wrong while
 * typing.
 */
#ifndef VMWS_FORM_H
#define VMWS_FORM_H

#include "cui/newvm.h"

#include <gtk/gtk.h>

typedef struct vmws_form vmws_form;

/* changed(field, user) after a field took a new value from its widget. */
vmws_form *vmws_form_new(cui_newvm *model, void (*changed)(cui_newvm_field f, void *user),
                         void *user);
/* Disconnects from every widget; call before they are destroyed. */
void vmws_form_free(vmws_form *form);

void vmws_form_bind_entry(vmws_form *form, cui_newvm_field f, GtkEditable *entry,
                          GtkLabel *issue);
/* A check button for a "true"/"false" field. */
void vmws_form_bind_check(vmws_form *form, cui_newvm_field f, GtkCheckButton *check,
                          GtkLabel *issue);
/* A drop-down for a field with a fixed set of values: values[i] is the
 * field's text for item i, labels[i] what the list shows. A value the
 * model holds that is not among them is shown as an extra item. */
void vmws_form_bind_dropdown(vmws_form *form, cui_newvm_field f, GtkDropDown *dropdown,
                             const char *const *values, const char *const *labels,
                             GtkLabel *issue);

/* Show the model's values in the widgets again (after the model changed
 * from code) and check every field. */
void vmws_form_refresh(vmws_form *form);
/* Check every bound field and show the messages; the worst severity
 * among fields (all bound ones when fields is NULL). */
cui_newvm_severity vmws_form_check(vmws_form *form, const cui_newvm_field *fields, size_t n);
/* Lock or unlock the widget of f (and say why in its issue label). */
void vmws_form_set_locked(vmws_form *form, cui_newvm_field f, const char *why);

/* A file chooser that puts the chosen path into entry. folder: choose a
 * folder instead of a file. */
void vmws_form_browse(GtkWindow *parent, GtkEditable *entry, gboolean folder, const char *title);

#endif
