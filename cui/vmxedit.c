/*
 * cui/vmxedit.c - changing keys of a VM's .vmx, whether or not it runs.
 */
#include "cui/vmxedit.h"
#include "cui/vmclient.h"
#include "lib/rundir.h"
#include "vmx/config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define VMXEDIT_CMD_TIMEOUT_MS   30000
#define VMXEDIT_BUSY_WAIT_US     (3 * G_USEC_PER_SEC)

static void
change_free(gpointer p)
{
   cui_vmxedit_change *c = p;
   g_free(c->key);
   g_free(c->value);
   g_free(c);
}

GPtrArray *
cui_vmxedit_changes_new(void)
{
   return g_ptr_array_new_with_free_func(change_free);
}

void
cui_vmxedit_changes_add(GPtrArray *changes, const char *key, const char *value)
{
   cui_vmxedit_change *c = g_new0(cui_vmxedit_change, 1);
   c->key = g_strdup(key);
   c->value = g_strdup(value);
   g_ptr_array_add(changes, c);
}

/* How a power state reads in a sentence. */
static const char *
state_words(const char *state)
{
   static const struct {
      const char *state, *words;
   } t[] = {
      { "poweredOn", "powered on" },     { "poweringOn", "powering on" },
      { "paused", "paused" },            { "suspending", "suspending" },
      { "suspended", "suspended" },      { "poweringOff", "powering off" },
   };
   for (size_t i = 0; i < G_N_ELEMENTS(t); i++) {
      if (!strcmp(state, t[i].state)) {
         return t[i].words;
      }
   }
   return state;
}

static bool
suspended_in_file(const vmxcfg *cfg)
{
   const char *ck = vmxcfg_get(cfg, "checkpoint.vmState");
   return ck && *ck;
}

char *
cui_vmxedit_power_state(const char *abs_vmx, bool *vmx_up)
{
   char *err = NULL;
   if (vmx_up) {
      *vmx_up = false;
   }
   vmclient *c = vmclient_connect(abs_vmx, 2000, &err);
   g_free(err);
   err = NULL;
   if (c) {
      char *st = vmclient_get(c, "/vm/runtime/powerState");
      vmclient_free(c);
      if (vmx_up) {
         *vmx_up = true;
      }
      if (!st || !*st) {
         g_free(st);
         st = g_strdup("poweredOff"); /* the schema's default */
      }
      return st;
   }
   vmxcfg *cfg = vmxcfg_load(abs_vmx, &err);
   g_free(err);
   bool susp = cfg && suspended_in_file(cfg);
   vmxcfg_free(cfg);
   return g_strdup(susp ? "suspended" : "poweredOff");
}

static bool
is_secret_key(const char *key)
{
   return !g_ascii_strcasecmp(key, "RemoteDisplay.vnc.password");
}

/* A .vmx that will hold a password is readable by its owner only. */
static int
protect_secrets(const char *abs_vmx, GPtrArray *changes, char **err)
{
   for (guint i = 0; i < changes->len; i++) {
      cui_vmxedit_change *c = g_ptr_array_index(changes, i);
      if (c->value && *c->value && is_secret_key(c->key)) {
         struct stat st;
         if (stat(abs_vmx, &st) == 0 && (st.st_mode & 077) &&
             chmod(abs_vmx, st.st_mode & 07700) < 0) {
            *err = g_strdup_printf("cannot make %s private before storing a password in it: %s",
                                   abs_vmx, g_strerror(errno));
            return -1;
         }
         break;
      }
   }
   return 0;
}

/* Keys whose empty value means the same as no key: a running vmx (which
 * can only set keys) "removes" them by setting them empty. */
static bool
blank_means_absent(const char *key)
{
   static const char *const keys[] = {
      "RemoteDisplay.vnc.password",
      "linux.initrd",
      "linux.cmdline",
   };
   for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
      if (!g_ascii_strcasecmp(key, keys[i])) {
         return true;
      }
   }
   return false;
}

static bool
is_noop(const vmxcfg *cfg, const cui_vmxedit_change *c, bool via_vmx)
{
   const char *cur = vmxcfg_get(cfg, c->key);
   if (!c->value) {
      return cur == NULL || (via_vmx && !*cur && blank_means_absent(c->key));
   }
   return cur && !strcmp(cur, c->value);
}

/* No vmx runs the VM and we hold its lock: edit the file. */
static int
apply_locked(const char *abs_vmx, GPtrArray *changes, const char *needs_off, char **err)
{
   vmxcfg *cfg = vmxcfg_load(abs_vmx, err);
   if (!cfg) {
      return -1;
   }
   int r = -1;
   if (needs_off && suspended_in_file(cfg)) {
      *err = g_strdup_printf("%s cannot be changed while the virtual machine is suspended; "
                             "resume it and power it off first",
                             needs_off);
      goto out;
   }
   bool dirty = false;
   for (guint i = 0; i < changes->len; i++) {
      cui_vmxedit_change *c = g_ptr_array_index(changes, i);
      if (is_noop(cfg, c, false)) {
         continue;
      }
      if (!vmxcfg_key_valid(c->key)) {
         *err = g_strdup_printf("'%s' is not a valid configuration key", c->key);
         goto out;
      }
      if (c->value) {
         vmxcfg_set(cfg, c->key, c->value);
      } else {
         vmxcfg_remove(cfg, c->key);
      }
      dirty = true;
   }
   if (!dirty) {
      r = 0;
      goto out;
   }
   if (protect_secrets(abs_vmx, changes, err) < 0) {
      goto out;
   }
   r = vmxcfg_save(cfg, abs_vmx, err);
out:
   vmxcfg_free(cfg);
   return r;
}

/* A vmx runs the VM: it owns the file, so it makes the changes. */
static int
apply_via_vmx(vmclient *c, const char *abs_vmx, GPtrArray *changes, const char *needs_off,
              char **err)
{
   char *state = vmclient_get(c, "/vm/runtime/powerState");
   int r = -1;
   vmxcfg *cfg = NULL;
   if (needs_off && state && *state && strcmp(state, "poweredOff")) {
      *err = g_strdup_printf("%s cannot be changed while the virtual machine is %s; "
                             "power it off first",
                             needs_off, state_words(state));
      goto out;
   }
   /* The vmx saves every change, so the file is current. */
   cfg = vmxcfg_load(abs_vmx, err);
   if (!cfg) {
      goto out;
   }
   for (guint i = 0; i < changes->len; i++) {
      cui_vmxedit_change *ch = g_ptr_array_index(changes, i);
      if (!is_noop(cfg, ch, true) && !ch->value && !blank_means_absent(ch->key)) {
         *err = g_strdup_printf("%s cannot be removed while a vmx process has the virtual "
                                "machine open (vmx requests can only set keys); stop it first",
                                ch->key);
         goto out;
      }
   }
   if (protect_secrets(abs_vmx, changes, err) < 0) {
      goto out;
   }
   for (guint i = 0; i < changes->len; i++) {
      cui_vmxedit_change *ch = g_ptr_array_index(changes, i);
      if (is_noop(cfg, ch, true)) {
         continue;
      }
      char *why = NULL;
      if (vmclient_command(c, "writeVariable", ch->key, ch->value ? ch->value : "",
                           VMXEDIT_CMD_TIMEOUT_MS,
                           &why) < 0) {
         *err = g_strdup_printf("the vmx did not change %s: %s%s", ch->key, why,
                                i > 0 ? " (the settings before it were saved)" : "");
         g_free(why);
         goto out;
      }
   }
   r = 0;
out:
   vmxcfg_free(cfg);
   g_free(state);
   return r;
}

int
cui_vmxedit_apply(const char *abs_vmx, GPtrArray *changes, const char *needs_off, bool *via_vmx,
                  char **err)
{
   if (via_vmx) {
      *via_vmx = false;
   }
   char *lock_path = vmws_runtime_path(abs_vmx, ".lock", err);
   if (!lock_path) {
      return -1;
   }
   gint64 deadline = g_get_monotonic_time() + VMXEDIT_BUSY_WAIT_US;
   int r = -1;
   for (;;) {
      int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) {
         *err = g_strdup_printf("cannot open %s: %s", lock_path, g_strerror(errno));
         break;
      }
      if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
         /* No vmx can start on this VM until we close fd. The file stays:
          * removing it could let two processes lock different files. */
         r = apply_locked(abs_vmx, changes, needs_off, err);
         close(fd);
         break;
      }
      close(fd);
      char *cerr = NULL;
      vmclient *c = vmclient_connect(abs_vmx, 2000, &cerr);
      g_free(cerr);
      if (c) {
         r = apply_via_vmx(c, abs_vmx, changes, needs_off, err);
         vmclient_free(c);
         if (via_vmx) {
            *via_vmx = true;
         }
         break;
      }
      if (g_get_monotonic_time() >= deadline) {
         *err = g_strdup_printf("%s is in use: its vmx is starting or stopping, or another "
                                "program is changing its settings; try again",
                                abs_vmx);
         break;
      }
      g_usleep(100 * 1000);
   }
   g_free(lock_path);
   return r;
}
