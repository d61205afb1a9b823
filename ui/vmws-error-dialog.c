/*
 * ui/vmws-error-dialog.c - the error dialog.
 */
#include "ui/vmws-error-dialog.h"

#include <string.h>

char *
vmws_sentence(const char *message)
{
   if (!message || !*message) {
      return g_strdup("The operation failed for an unknown reason.");
   }
   GString *s = g_string_new(NULL);
   gunichar first = g_utf8_get_char(message);
   g_string_append_unichar(s, g_unichar_toupper(first));
   g_string_append(s, g_utf8_next_char(message));
   while (s->len && (s->str[s->len - 1] == ' ' || s->str[s->len - 1] == '\n')) {
      g_string_truncate(s, s->len - 1);
   }
   char last = s->len ? s->str[s->len - 1] : '.';
   if (!strchr(".!?", last)) {
      g_string_append_c(s, '.');
   }
   return g_string_free(s, FALSE);
}

static void
on_response(GtkDialog *d, int response, gpointer data)
{
   gtk_window_destroy(GTK_WINDOW(d));
}

static GtkWidget *
message_dialog(GtkWindow *parent, GtkMessageType type, const char *title, const char *message,
               const char *hint)
{
   char *msg = vmws_sentence(message);
   GtkWidget *d = gtk_message_dialog_new(parent, GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                         type, GTK_BUTTONS_NONE, "%s", title);
   gtk_dialog_add_button(GTK_DIALOG(d), "Close", GTK_RESPONSE_CLOSE);
   gtk_dialog_set_default_response(GTK_DIALOG(d), GTK_RESPONSE_CLOSE);
   if (hint && *hint) {
      gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(d), "%s\n\n%s", msg, hint);
   } else {
      gtk_message_dialog_format_secondary_text(GTK_MESSAGE_DIALOG(d), "%s", msg);
   }
   gtk_window_set_title(GTK_WINDOW(d), title);
   g_signal_connect(d, "response", G_CALLBACK(on_response), NULL);
   gtk_window_present(GTK_WINDOW(d));
   g_free(msg);
   return d;
}

GtkWidget *
vmws_error_dialog_show(GtkWindow *parent, const char *title, const char *message,
                       const char *hint)
{
   GtkWidget *d = message_dialog(parent, GTK_MESSAGE_ERROR, title, message, hint);
   gtk_widget_add_css_class(d, "vmws-error");
   return d;
}

GtkWidget *
vmws_info_dialog_show(GtkWindow *parent, const char *title, const char *message)
{
   return message_dialog(parent, GTK_MESSAGE_INFO, title, message, NULL);
}
