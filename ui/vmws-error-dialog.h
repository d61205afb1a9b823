/*
 * ui/vmws-error-dialog.h - the dialog that says what went wrong and what
 * to do about it (and its sibling for notes).
 */
#ifndef VMWS_ERROR_DIALOG_H
#define VMWS_ERROR_DIALOG_H

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* A modal error dialog over parent: title (the window title and the
 * headline, "Cannot power on “demo”"), message (what went wrong, as a
 * sentence) and hint (what to do; may be NULL). Returns the dialog; it
 * closes itself. */
GtkWidget *vmws_error_dialog_show(GtkWindow *parent, const char *title, const char *message,
                                  const char *hint);

/* The same, for something the user should know (no error). */
GtkWidget *vmws_info_dialog_show(GtkWindow *parent, const char *title, const char *message);

/* message as a sentence: first letter capital, a full stop at the end. */
char *vmws_sentence(const char *message);

G_END_DECLS

#endif
