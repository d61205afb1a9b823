/*
 * cui/tests/test-running.c - settings and the library with a real vmx
 * running the VM (an idle machine: no guest image, so no /dev/kvm needed).
 * The vmx is $VMWS_VMX (set by meson); without it the test skips.
 */
#include "cui/inventory.h"
#include "cui/settings.h"
#include "cui/vmclient.h"
#include "vmx/config.h"

#include "testutil.h"

#include <signal.h>

static int vmx_pid;

static void
kill_vmx(void)
{
   if (vmx_pid > 0) {
      kill(vmx_pid, SIGKILL);
      vmx_pid = 0;
   }
}

/* A failed assertion aborts without atexit handlers: stop the vmx then too. */
static void
on_fatal(int sig)
{
   if (vmx_pid > 0) {
      kill(vmx_pid, SIGKILL);
   }
   signal(sig, SIG_DFL);
   raise(sig);
}

static char *
get_var(const char *vmx, const char *path)
{
   char *err = NULL;
   vmclient *c = vmclient_connect(vmx, 5000, &err);
   if (!c) {
      g_error("cannot connect: %s", err);
   }
   char *v = vmclient_get(c, path);
   vmclient_free(c);
   return v;
}

static void
command(const char *vmx, const char *op)
{
   char *err = NULL;
   vmclient *c = vmclient_connect(vmx, 5000, &err);
   if (!c || vmclient_command(c, op, NULL, NULL, 30000, &err) < 0) {
      g_error("%s: %s", op, err);
   }
   vmclient_free(c);
}

static char *
cfg_value(const char *vmx, const char *key)
{
   char *err = NULL;
   vmxcfg *cfg = vmxcfg_load(vmx, &err);
   g_assert_nonnull(cfg);
   char *v = g_strdup(vmxcfg_get(cfg, key));
   vmxcfg_free(cfg);
   return v;
}

static void
assert_cfg(const char *vmx, const char *key, const char *want)
{
   char *v = cfg_value(vmx, key);
   g_assert_cmpstr(v, ==, want);
   g_free(v);
}

static void
save_ok(cui_settings *s, char ***notes)
{
   char *err = NULL;
   if (cui_settings_save(s, notes, &err) < 0) {
      g_error("save failed: %s", err);
   }
}

static void
save_fails(cui_settings *s, const char *want)
{
   char *err = NULL;
   g_assert_cmpint(cui_settings_save(s, NULL, &err), ==, -1);
   tu_assert_contains(err, want);
   g_free(err);
}

static void
test_running_vm(void)
{
   if (!g_getenv("VMWS_VMX")) {
      g_test_skip("VMWS_VMX is not set: no vmx to run (meson test sets it)");
      return;
   }
   /* A new VM, in a library. */
   char *loc = tu_dir("vms");
   char *ip = g_build_filename(loc, "inventory", NULL);
   cui_inventory *inv = cui_inventory_load(ip);
   cui_newvm *m = cui_newvm_new();
   cui_newvm_set(m, CUI_NEWVM_LOCATION, loc);
   cui_newvm_set(m, CUI_NEWVM_NAME, "idle");
   cui_newvm_set(m, CUI_NEWVM_MEMORY, "32");
   char *vmx = NULL, *err = NULL;
   g_assert_cmpint(cui_newvm_write(m, inv, &vmx, &err), ==, 0);
   cui_newvm_free(m);
   char *media = tu_dir("media");
   gsize isz = 17 * 2048;
   guint8 *img = g_malloc0(isz);
   memcpy(img + 16 * 2048 + 1, "CD001", 5);
   char *iso = g_build_filename(media, "x.iso", NULL);
   tu_write_bytes(iso, img, isz);
   g_free(img);

   /* Its vmx up, the VM still powered off. */
   if (vmclient_spawn_vmx(vmx, false, &err) < 0) {
      g_error("cannot start the vmx: %s", err);
   }
   char *pid = get_var(vmx, "/vm/pid");
   vmx_pid = atoi(pid);
   g_free(pid);
   g_assert_cmpint(vmx_pid, >, 0);

   cui_settings *s = cui_settings_load(vmx, &err);
   g_assert_nonnull(s);
   cui_newvm *sm = cui_settings_model(s);
   bool up = false;
   char *st = cui_settings_power_state(s, &up);
   g_assert_true(up);
   g_assert_cmpstr(st, ==, "poweredOff");
   g_free(st);
   /* Powered off: hardware changes go to the vmx, which saves them. */
   cui_newvm_set(sm, CUI_NEWVM_MEMORY, "64");
   cui_newvm_set(sm, CUI_NEWVM_ISO, iso);
   save_ok(s, NULL);
   assert_cfg(vmx, "memsize", "64");
   assert_cfg(vmx, "ide1:0.fileName", iso);
   char *v = get_var(vmx, "/vm/config/#memsize");
   g_assert_cmpstr(v, ==, "64");
   g_free(v);
   /* A vmx can only set keys: taking the CD out needs it stopped. */
   cui_newvm_set(sm, CUI_NEWVM_ISO, "");
   save_fails(s, "cannot be removed while a vmx process has the virtual machine open");
   cui_settings_revert(s);
   /* A password is "removed" by making it empty. */
   cui_newvm_set(sm, CUI_NEWVM_VNC_PASSWORD, "pw");
   char **notes = NULL;
   save_ok(s, &notes);
   tu_assert_contains(notes ? notes[0] : NULL, "from the next power-on");
   g_strfreev(notes);
   assert_cfg(vmx, "RemoteDisplay.vnc.password", "pw");
   struct stat sst;
   g_assert_cmpint(stat(vmx, &sst), ==, 0);
   g_assert_cmpint(sst.st_mode & 0777, ==, 0600);
   cui_newvm_set(sm, CUI_NEWVM_VNC_PASSWORD, "");
   save_ok(s, NULL);
   assert_cfg(vmx, "RemoteDisplay.vnc.password", "");
   g_assert_cmpstr(cui_newvm_get(sm, CUI_NEWVM_VNC_PASSWORD), ==, "");
   g_assert_false(cui_settings_any_changed(s));

   /* Powered on. */
   command(vmx, "powerOn");
   st = cui_settings_power_state(s, &up);
   g_assert_cmpstr(st, ==, "poweredOn");
   g_assert_false(cui_settings_can_change(CUI_NEWVM_MEMORY, st));
   g_free(st);
   char *before = tu_read(vmx);
   cui_newvm_set(sm, CUI_NEWVM_MEMORY, "128");
   cui_newvm_set(sm, CUI_NEWVM_CPUS, "2");
   cui_newvm_set_host(sm, 4, 8192);
   cui_newvm_set(sm, CUI_NEWVM_NAME, "renamed");
   save_fails(s, "Processors, Memory cannot be changed while the virtual machine is powered on; "
                 "power it off first");
   char *after = tu_read(vmx);
   g_assert_cmpstr(after, ==, before); /* not even the name */
   g_free(after);
   g_free(before);
   cui_newvm_set(sm, CUI_NEWVM_MEMORY, "64");
   cui_newvm_set(sm, CUI_NEWVM_CPUS, "1");
   cui_newvm_set(sm, CUI_NEWVM_VNC_PORT, "5977");
   notes = NULL;
   save_ok(s, &notes);
   g_assert_nonnull(notes);
   g_strfreev(notes);
   assert_cfg(vmx, "displayName", "renamed");
   assert_cfg(vmx, "RemoteDisplay.vnc.port", "5977");
   v = get_var(vmx, "/vm/config/#displayname");
   g_assert_cmpstr(v, ==, "renamed");
   g_free(v);

   /* The library sees it running, and renames it through its vmx. */
   cui_inventory_refresh_state(inv);
   const cui_inventory_entry *e = cui_inventory_find(inv, vmx);
   g_assert_nonnull(e);
   g_assert_true(e->running);
   g_assert_cmpstr(e->power_state, ==, "poweredOn");
   g_assert_true(cui_inventory_rename(inv, e->id, "from the library", &err));
   assert_cfg(vmx, "displayName", "from the library");
   command(vmx, "pause");
   cui_inventory_refresh_state(inv);
   g_assert_cmpstr(cui_inventory_find(inv, vmx)->power_state, ==, "paused");
   command(vmx, "unpause");
   cui_inventory_refresh_entry_state(inv, cui_inventory_find(inv, vmx)->id);
   g_assert_cmpstr(cui_inventory_find(inv, vmx)->power_state, ==, "poweredOn");
   command(vmx, "pause");
   cui_settings_free(s);
   s = cui_settings_load(vmx, &err);
   sm = cui_settings_model(s);
   cui_newvm_set(sm, CUI_NEWVM_MONITOR, "software");
   save_fails(s, "Monitor mode cannot be changed while the virtual machine is paused");
   cui_settings_revert(s);
   command(vmx, "unpause");

   /* Powered off: the vmx goes away; edits go to the file again. */
   command(vmx, "powerOff");
   for (int i = 0; i < 100; i++) {
      char **running = vmclient_list_running();
      guint n = g_strv_length(running);
      g_strfreev(running);
      if (n == 0 && kill(vmx_pid, 0) < 0) {
         break;
      }
      g_usleep(100 * 1000);
   }
   g_assert_cmpint(kill(vmx_pid, 0), <, 0);
   vmx_pid = 0;
   cui_inventory_refresh_entry_state(inv, cui_inventory_find(inv, vmx)->id);
   g_assert_false(cui_inventory_find(inv, vmx)->running);
   cui_inventory_refresh_state(inv);
   g_assert_false(cui_inventory_find(inv, vmx)->running);
   g_assert_cmpstr(cui_inventory_find(inv, vmx)->power_state, ==, "poweredOff");
   st = cui_settings_power_state(s, &up);
   g_assert_false(up);
   g_assert_cmpstr(st, ==, "poweredOff");
   g_free(st);
   cui_newvm_set(sm, CUI_NEWVM_MEMORY, "128");
   cui_newvm_set(sm, CUI_NEWVM_ISO, "");
   save_ok(s, NULL);
   assert_cfg(vmx, "memsize", "128");
   char *gone = cfg_value(vmx, "ide1:0.fileName");
   g_assert_null(gone);
   cui_settings_free(s);
   cui_inventory_free(inv);
   g_free(iso);
   g_free(media);
   g_free(vmx);
   g_free(ip);
   g_free(loc);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   tu_init("cui-running");
   atexit(kill_vmx); /* never leave a vmx behind */
   signal(SIGABRT, on_fatal);
   signal(SIGTERM, on_fatal);
   signal(SIGINT, on_fatal);
   signal(SIGSEGV, on_fatal);
   g_test_add_func("/cui/running/settings-and-library", test_running_vm);
   return g_test_run();
}
