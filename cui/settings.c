/*
 * cui/settings.c - the editable settings of an existing VM.
 */
#include "cui/settings.h"
#include "cui/newvm-edit.h"
#include "cui/vmxedit.h"
#include "vmx/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cui_settings {
   char *vmx;                         /* absolute, symlink-free */
   cui_newvm *model;
   char *orig[CUI_NEWVM_N_FIELDS];    /* the fields as the file has them */
};

static void
take_baseline(cui_settings *s)
{
   for (int f = 0; f < CUI_NEWVM_N_FIELDS; f++) {
      g_free(s->orig[f]);
      s->orig[f] = g_strdup(cui_newvm_get(s->model, (cui_newvm_field)f));
   }
}

static int
read_file(cui_settings *s, char **err)
{
   vmxcfg *cfg = vmxcfg_load(s->vmx, err);
   if (!cfg) {
      return -1;
   }
   /* In place: the UI may hold the model. */
   if (s->model) {
      cui_newvm_edit_load(s->model, s->vmx, cfg);
   } else {
      s->model = cui_newvm_new_edit(s->vmx, cfg);
   }
   vmxcfg_free(cfg);
   take_baseline(s);
   return 0;
}

cui_settings *
cui_settings_load(const char *vmx_path, char **err)
{
   char *r = realpath(vmx_path, NULL);
   if (!r) {
      *err = g_strdup_printf("%s: %s", vmx_path, g_strerror(errno));
      return NULL;
   }
   cui_settings *s = g_new0(cui_settings, 1);
   s->vmx = g_strdup(r);
   free(r);
   if (read_file(s, err) < 0) {
      cui_settings_free(s);
      return NULL;
   }
   return s;
}

void
cui_settings_free(cui_settings *s)
{
   if (!s) {
      return;
   }
   cui_newvm_free(s->model);
   for (int f = 0; f < CUI_NEWVM_N_FIELDS; f++) {
      g_free(s->orig[f]);
   }
   g_free(s->vmx);
   g_free(s);
}

const char *
cui_settings_vmx_path(const cui_settings *s)
{
   return s->vmx;
}

cui_newvm *
cui_settings_model(cui_settings *s)
{
   return s->model;
}

bool
cui_settings_changed(const cui_settings *s, cui_newvm_field f)
{
   return f < CUI_NEWVM_N_FIELDS && f != CUI_NEWVM_LOCATION &&
          !cui_newvm_same(s->model, f, s->orig[f]);
}

bool
cui_settings_any_changed(const cui_settings *s)
{
   for (int f = 0; f < CUI_NEWVM_N_FIELDS; f++) {
      if (cui_settings_changed(s, (cui_newvm_field)f)) {
         return true;
      }
   }
   return false;
}

void
cui_settings_revert(cui_settings *s)
{
   for (int f = 0; f < CUI_NEWVM_N_FIELDS; f++) {
      cui_newvm_set(s->model, (cui_newvm_field)f, s->orig[f]);
   }
}

static bool
is_vnc(cui_newvm_field f)
{
   return f == CUI_NEWVM_VNC_ENABLED || f == CUI_NEWVM_VNC_PORT || f == CUI_NEWVM_VNC_PASSWORD;
}

bool
cui_settings_needs_power_off(cui_newvm_field f)
{
   return f != CUI_NEWVM_NAME && f != CUI_NEWVM_LOCATION && !is_vnc(f);
}

bool
cui_settings_can_change(cui_newvm_field f, const char *power_state)
{
   if (f == CUI_NEWVM_LOCATION) {
      return false;
   }
   return !cui_settings_needs_power_off(f) || !power_state ||
          !strcmp(power_state, "poweredOff");
}

char *
cui_settings_power_state(const cui_settings *s, bool *vmx_up)
{
   return cui_vmxedit_power_state(s->vmx, vmx_up);
}

int
cui_settings_save(cui_settings *s, char ***notes, char **err)
{
   if (notes) {
      *notes = NULL;
   }
   bool which[CUI_NEWVM_N_FIELDS] = { false };
   bool any = false, vnc = false;
   GString *errs = g_string_new(NULL);
   GString *off = g_string_new(NULL);
   for (int i = 0; i < CUI_NEWVM_N_FIELDS; i++) {
      cui_newvm_field f = (cui_newvm_field)i;
      if (!cui_settings_changed(s, f)) {
         continue;
      }
      which[f] = any = true;
      vnc |= is_vnc(f);
      char *msg = NULL;
      if (cui_newvm_check(s->model, f, &msg) == CUI_NEWVM_ERROR) {
         g_string_append_printf(errs, "%s%s", errs->len ? "\n" : "", msg);
      }
      g_free(msg);
      if (cui_settings_needs_power_off(f)) {
         g_string_append_printf(off, "%s%s", off->len ? ", " : "", cui_newvm_field_label(f));
      }
   }
   /* A field whose check depends on another (an initrd needs a kernel)
    * is checked again when only the other one changed. */
   static const cui_newvm_field dependents[] = { CUI_NEWVM_INITRD, CUI_NEWVM_CMDLINE,
                                                 CUI_NEWVM_ENTRY, CUI_NEWVM_DISK };
   for (size_t i = 0; any && i < G_N_ELEMENTS(dependents); i++) {
      cui_newvm_field f = dependents[i];
      char *msg = NULL;
      if (!which[f] && (which[CUI_NEWVM_KERNEL] || which[CUI_NEWVM_DISK_BUS]) &&
          cui_newvm_check(s->model, f, &msg) == CUI_NEWVM_ERROR) {
         g_string_append_printf(errs, "%s%s", errs->len ? "\n" : "", msg);
      }
      g_free(msg);
   }
   int r = -1;
   GPtrArray *ch = NULL;
   vmxcfg *cfg = NULL;
   if (!any) {
      r = 0;
      goto out;
   }
   if (errs->len) {
      *err = g_strdup(errs->str);
      goto out;
   }
   cfg = vmxcfg_load(s->vmx, err);
   if (!cfg) {
      goto out;
   }
   ch = cui_vmxedit_changes_new();
   cui_newvm_changes(s->model, cfg, which, ch);
   bool via_vmx = false;
   if (cui_vmxedit_apply(s->vmx, ch, off->len ? off->str : NULL, &via_vmx, err) < 0) {
      goto out;
   }
   if (via_vmx && vnc && notes) {
      char *n[] = { (char *)"The VNC settings are saved; the VNC server uses them from the next "
                            "power-on of the virtual machine",
                    NULL };
      *notes = g_strdupv(n);
   }
   /* Read back what is in the file now. */
   char *why = NULL;
   if (read_file(s, &why) < 0) {
      *err = g_strdup_printf("the settings were saved, but %s", why);
      g_free(why);
      goto out;
   }
   r = 0;
out:
   if (ch) {
      g_ptr_array_unref(ch);
   }
   vmxcfg_free(cfg);
   g_string_free(errs, TRUE);
   g_string_free(off, TRUE);
   return r;
}
