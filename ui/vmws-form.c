/*
 * ui/vmws-form.c - widgets bound to new-VM model fields.
 */
#include "ui/vmws-form.h"
#include "cui/newvm-edit.h"

#include <string.h>

typedef enum { B_ENTRY, B_CHECK, B_DROPDOWN } binding_kind;

typedef struct binding {
   vmws_form *form;
   cui_newvm_field field;
   binding_kind kind;
   GtkWidget *widget;
   GtkLabel *issue;
   char **values;          /* drop-downs: the field text of each item */
   GtkStringList *labels;  /* drop-downs: what they show */
   char *locked;           /* why the field cannot change now */
} binding;

struct vmws_form {
   cui_newvm *model;
   void (*changed)(cui_newvm_field, void *);
   void *user;
   GPtrArray *bindings;
   gboolean updating;      /* widgets are being set from the model */
};

static void
binding_free(gpointer p)
{
   binding *b = p;
   g_signal_handlers_disconnect_by_data(b->widget, b);
   g_object_unref(b->widget);
   if (b->issue) {
      g_object_unref(b->issue);
   }
   g_strfreev(b->values);
   if (b->labels) {
      g_object_unref(b->labels);
   }
   g_free(b->locked);
   g_free(b);
}

vmws_form *
vmws_form_new(cui_newvm *model, void (*changed)(cui_newvm_field, void *), void *user)
{
   vmws_form *f = g_new0(vmws_form, 1);
   f->model = model;
   f->changed = changed;
   f->user = user;
   f->bindings = g_ptr_array_new_with_free_func(binding_free);
   return f;
}

void
vmws_form_free(vmws_form *form)
{
   if (!form) {
      return;
   }
   g_ptr_array_unref(form->bindings);
   g_free(form);
}

static void
show_issue(binding *b, cui_newvm_severity sev, const char *msg)
{
   if (!b->issue) {
      return;
   }
   GtkWidget *w = GTK_WIDGET(b->issue);
   gtk_widget_remove_css_class(w, "error");
   gtk_widget_remove_css_class(w, "warning");
   gtk_widget_remove_css_class(w, "dim-label");
   if (b->locked) {
      gtk_label_set_text(b->issue, b->locked);
      gtk_widget_add_css_class(w, "dim-label");
      gtk_widget_set_visible(w, TRUE);
      return;
   }
   gtk_widget_set_visible(w, sev != CUI_NEWVM_OK);
   gtk_label_set_text(b->issue, sev != CUI_NEWVM_OK && msg ? msg : "");
   if (sev == CUI_NEWVM_ERROR) {
      gtk_widget_add_css_class(w, "error");
   } else if (sev == CUI_NEWVM_WARNING) {
      gtk_widget_add_css_class(w, "warning");
   }
}

cui_newvm_severity
vmws_form_check(vmws_form *form, const cui_newvm_field *fields, size_t n)
{
   cui_newvm_severity worst = CUI_NEWVM_OK;
   for (guint i = 0; i < form->bindings->len; i++) {
      binding *b = g_ptr_array_index(form->bindings, i);
      char *msg = NULL;
      cui_newvm_severity sev = cui_newvm_check(form->model, b->field, &msg);
      show_issue(b, sev, msg);
      g_free(msg);
      gboolean counted = fields == NULL;
      for (size_t k = 0; k < n && !counted; k++) {
         counted = fields[k] == b->field;
      }
      if (counted && sev > worst) {
         worst = sev;
      }
   }
   return worst;
}

static void
took_value(binding *b, const char *value)
{
   vmws_form *form = b->form;
   if (form->updating) {
      return;
   }
   cui_newvm_set(form->model, b->field, value);
   vmws_form_check(form, NULL, 0);
   if (form->changed) {
      form->changed(b->field, form->user);
   }
}

static void
on_entry_changed(GtkEditable *e, gpointer data)
{
   took_value(data, gtk_editable_get_text(e));
}

static void
on_check_toggled(GtkCheckButton *c, gpointer data)
{
   took_value(data, gtk_check_button_get_active(c) ? "true" : "false");
}

static void
on_dropdown_selected(GObject *obj, GParamSpec *pspec, gpointer data)
{
   binding *b = data;
   guint i = gtk_drop_down_get_selected(GTK_DROP_DOWN(obj));
   if (i != GTK_INVALID_LIST_POSITION && i < g_strv_length(b->values)) {
      took_value(b, b->values[i]);
   }
}

static binding *
add(vmws_form *form, cui_newvm_field f, binding_kind kind, GtkWidget *w, GtkLabel *issue)
{
   binding *b = g_new0(binding, 1);
   b->form = form;
   b->field = f;
   b->kind = kind;
   b->widget = g_object_ref(w);
   b->issue = issue ? g_object_ref(issue) : NULL;
   if (issue) {
      gtk_label_set_wrap(issue, TRUE);
      gtk_label_set_xalign(issue, 0);
      gtk_widget_set_visible(GTK_WIDGET(issue), FALSE);
   }
   g_ptr_array_add(form->bindings, b);
   return b;
}

/* Put the model's value into the widget. */
static void
load(binding *b)
{
   const char *v = cui_newvm_get(b->form->model, b->field);
   switch (b->kind) {
   case B_ENTRY:
      if (strcmp(gtk_editable_get_text(GTK_EDITABLE(b->widget)), v) != 0) {
         gtk_editable_set_text(GTK_EDITABLE(b->widget), v);
      }
      break;
   case B_CHECK:
      gtk_check_button_set_active(GTK_CHECK_BUTTON(b->widget),
                                  cui_newvm_same(b->form->model, b->field, "true"));
      break;
   case B_DROPDOWN: {
      guint n = g_strv_length(b->values);
      guint sel = GTK_INVALID_LIST_POSITION;
      for (guint i = 0; i < n && sel == GTK_INVALID_LIST_POSITION; i++) {
         if (cui_newvm_same(b->form->model, b->field, b->values[i])) {
            sel = i;
         }
      }
      if (sel == GTK_INVALID_LIST_POSITION) {
         /* A value this version does not offer: shown as it is. */
         GStrvBuilder *sb = g_strv_builder_new();
         g_strv_builder_addv(sb, (const char **)b->values);
         g_strv_builder_add(sb, v);
         g_strfreev(b->values);
         b->values = g_strv_builder_end(sb);
         g_strv_builder_unref(sb);
         gtk_string_list_append(b->labels, v);
         sel = n;
      }
      gtk_drop_down_set_selected(GTK_DROP_DOWN(b->widget), sel);
      break;
   }
   }
}

void
vmws_form_bind_entry(vmws_form *form, cui_newvm_field f, GtkEditable *entry, GtkLabel *issue)
{
   binding *b = add(form, f, B_ENTRY, GTK_WIDGET(entry), issue);
   form->updating = TRUE;
   load(b);
   form->updating = FALSE;
   g_signal_connect(entry, "changed", G_CALLBACK(on_entry_changed), b);
}

void
vmws_form_bind_check(vmws_form *form, cui_newvm_field f, GtkCheckButton *check, GtkLabel *issue)
{
   binding *b = add(form, f, B_CHECK, GTK_WIDGET(check), issue);
   form->updating = TRUE;
   load(b);
   form->updating = FALSE;
   g_signal_connect(check, "toggled", G_CALLBACK(on_check_toggled), b);
}

void
vmws_form_bind_dropdown(vmws_form *form, cui_newvm_field f, GtkDropDown *dd,
                        const char *const *values, const char *const *labels, GtkLabel *issue)
{
   binding *b = add(form, f, B_DROPDOWN, GTK_WIDGET(dd), issue);
   b->values = g_strdupv((char **)values);
   b->labels = gtk_string_list_new(labels);
   gtk_drop_down_set_model(dd, G_LIST_MODEL(b->labels));
   form->updating = TRUE;
   load(b);
   form->updating = FALSE;
   g_signal_connect(dd, "notify::selected", G_CALLBACK(on_dropdown_selected), b);
}

void
vmws_form_refresh(vmws_form *form)
{
   form->updating = TRUE;
   for (guint i = 0; i < form->bindings->len; i++) {
      load(g_ptr_array_index(form->bindings, i));
   }
   form->updating = FALSE;
   vmws_form_check(form, NULL, 0);
}

void
vmws_form_set_locked(vmws_form *form, cui_newvm_field f, const char *why)
{
   for (guint i = 0; i < form->bindings->len; i++) {
      binding *b = g_ptr_array_index(form->bindings, i);
      if (b->field == f) {
         g_free(b->locked);
         b->locked = g_strdup(why);
         gtk_widget_set_sensitive(b->widget, why == NULL);
      }
   }
   vmws_form_check(form, NULL, 0);
}

static void
on_browse_response(GtkNativeDialog *d, int response, gpointer data)
{
   GtkEditable *entry = data;
   if (response == GTK_RESPONSE_ACCEPT) {
      GFile *f = gtk_file_chooser_get_file(GTK_FILE_CHOOSER(d));
      char *path = f ? g_file_get_path(f) : NULL;
      if (path) {
         gtk_editable_set_text(entry, path);
      }
      g_free(path);
      g_clear_object(&f);
   }
   gtk_native_dialog_destroy(d);
   g_object_unref(d);
   g_object_unref(entry);
}

void
vmws_form_browse(GtkWindow *parent, GtkEditable *entry, gboolean folder, const char *title)
{
   GtkFileChooserNative *d = gtk_file_chooser_native_new(
      title, parent, folder ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER : GTK_FILE_CHOOSER_ACTION_OPEN,
      folder ? "_Select" : "_Open", "_Cancel");
   const char *cur = gtk_editable_get_text(entry);
   if (cur && g_path_is_absolute(cur)) {
      GFile *f = g_file_new_for_path(cur);
      if (folder) {
         gtk_file_chooser_set_current_folder(GTK_FILE_CHOOSER(d), f, NULL);
      } else {
         gtk_file_chooser_set_file(GTK_FILE_CHOOSER(d), f, NULL);
      }
      g_object_unref(f);
   }
   gtk_native_dialog_set_modal(GTK_NATIVE_DIALOG(d), TRUE);
   g_signal_connect(d, "response", G_CALLBACK(on_browse_response), g_object_ref(entry));
   gtk_native_dialog_show(GTK_NATIVE_DIALOG(d));
}
