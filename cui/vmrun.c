/*
 * cui/vmrun.c - command-line control of VMs, with the syntax of VMware's
 * vmrun where it applies:
 *
 *   vmrun [-T ws] start PATH.vmx [gui|nogui]
 *   vmrun stop PATH.vmx [hard|soft]
 *   vmrun reset PATH.vmx [hard|soft]
 *   vmrun suspend PATH.vmx [hard|soft]
 *   vmrun pause PATH.vmx
 *   vmrun unpause PATH.vmx
 *   vmrun list
 *   vmrun getState PATH.vmx
 *   vmrun readVariable PATH.vmx runtimeConfig|guestVar NAME
 *   vmrun writeVariable PATH.vmx runtimeConfig|guestVar NAME VALUE
 *   vmrun captureScreen PATH.vmx FILE.png
 *   vmrun listSnapshots PATH.vmx [showTree]
 *   vmrun snapshot PATH.vmx NAME [DESCRIPTION]
 *   vmrun revertToSnapshot PATH.vmx NAME
 *   vmrun deleteSnapshot PATH.vmx NAME [andDeleteChildren]
 *
 * Snapshot names may be paths from a root ("base/updated"), as VMware's
 * vmrun takes them. listSnapshots asks the VM's vmx when one runs and
 * otherwise reads the .vmsd itself. snapshot, revertToSnapshot and
 * deleteSnapshot are always done by a vmx, under the VM's lock: for a VM
 * with no vmx running, vmrun starts one that does not power on, sends the
 * request, and tells it to quit afterwards unless the VM then runs (a
 * revert to a snapshot taken while it ran powers it on, as VMware's does).
 *
 * Errors go to stderr as "Error: reason" and exit 1 (2 for bad usage).
 */
#include "cui/snapshots.h"
#include "cui/vmclient.h"
#include "vmx/config.h"
#include "vmx/vmsd.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD_TIMEOUT_MS (60 * 1000)
/* Writing or checking a snapshot of a large VM takes a while. */
#define SNAPSHOT_TIMEOUT_MS (30 * 60 * 1000)

static int
die(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static int
die(const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   fputs("Error: ", stderr);
   vfprintf(stderr, fmt, ap);
   fputc('\n', stderr);
   va_end(ap);
   return 1;
}

static int
usage(void)
{
   fputs("usage: vmrun [-T ws] COMMAND [ARGS]\n"
         "\n"
         "Power commands:\n"
         "  start PATH.vmx [gui|nogui]        power on (starts the VM's vmx process)\n"
         "  stop PATH.vmx [hard|soft]         power off; soft asks the guest (default)\n"
         "  reset PATH.vmx [hard|soft]        reset\n"
         "  suspend PATH.vmx [hard|soft]      suspend to a .vmss beside the .vmx\n"
         "  pause PATH.vmx                    pause the vCPUs\n"
         "  unpause PATH.vmx                  resume a paused VM\n"
         "General commands:\n"
         "  list                              list running VMs\n"
         "  getState PATH.vmx                 print the power state\n"
         "  readVariable PATH.vmx runtimeConfig|guestVar NAME\n"
         "  writeVariable PATH.vmx runtimeConfig|guestVar NAME VALUE\n"
         "  captureScreen PATH.vmx FILE.png   save the guest's screen as a PNG\n"
         "Snapshot commands:\n"
         "  listSnapshots PATH.vmx [showTree] list the snapshots (indented by level)\n"
         "  snapshot PATH.vmx NAME [DESCRIPTION]\n"
         "                                    take a snapshot (with memory when the VM\n"
         "                                    runs or is suspended)\n"
         "  revertToSnapshot PATH.vmx NAME    go back to a snapshot (NAME or a path\n"
         "                                    such as base/updated)\n"
         "  deleteSnapshot PATH.vmx NAME [andDeleteChildren]\n"
         "                                    remove a snapshot (its children move up,\n"
         "                                    or go with it)\n",
         stderr);
   return 2;
}

static vmclient *
connect_running(const char *path, char **abs_out, int *rc)
{
   char *err = NULL;
   char *abs = vmclient_resolve(path, &err);
   if (!abs) {
      *rc = die("%s", err);
      g_free(err);
      return NULL;
   }
   vmclient *c = vmclient_connect(abs, 10000, &err);
   if (!c) {
      *rc = die("The virtual machine is not powered on: %s", abs);
      g_free(err);
      g_free(abs);
      return NULL;
   }
   if (abs_out) {
      *abs_out = abs;
   } else {
      g_free(abs);
   }
   return c;
}

static int
cmd_start(const char *path, const char *mode)
{
   if (mode && strcmp(mode, "gui") && strcmp(mode, "nogui")) {
      return usage();
   }
   char *err = NULL;
   char *abs = vmclient_resolve(path, &err);
   if (!abs) {
      int r = die("%s", err);
      g_free(err);
      return r;
   }
   int rc = 0;
   vmclient *c = vmclient_connect(abs, 5000, &err);
   g_free(err);
   err = NULL;
   if (c) {
      char *st = vmclient_get(c, "/vm/runtime/powerState");
      if (st && (!strcmp(st, "poweredOff") || !strcmp(st, "suspended"))) {
         /* A vmx that is up but powered off or suspended (started without
          * powering on, or just exiting). */
         if (vmclient_command(c, "powerOn", NULL, NULL, CMD_TIMEOUT_MS, &err) < 0) {
            rc = die("%s", err);
         }
      } else {
         rc = die("The virtual machine is already running (%s)", st ? st : "unknown state");
      }
      g_free(st);
      vmclient_free(c);
   } else if (vmclient_spawn_vmx(abs, true, &err) < 0) {
      rc = die("Cannot start %s: %s", abs, err);
   }
   /* vmclient_spawn_vmx() returns 0 only after the vmx reported a successful
    * power-on ("ok" on its ready pipe). A guest may power itself off right
    * after that, so the vmx being gone already is not a failure of start. */
   if (rc == 0 && (!mode || !strcmp(mode, "gui"))) {
      /* No graphical console is built yet: say so instead of pretending. */
      fprintf(stderr, "vmrun: this build has no graphical console; the virtual machine "
                      "runs without one (as with nogui)\n");
   }
   g_free(err);
   g_free(abs);
   return rc;
}

static int
simple_command(const char *path, const char *op)
{
   int rc = 0;
   vmclient *c = connect_running(path, NULL, &rc);
   if (!c) {
      return rc;
   }
   char *err = NULL;
   if (vmclient_command(c, op, NULL, NULL, CMD_TIMEOUT_MS, &err) < 0) {
      rc = die("%s", err);
      g_free(err);
   }
   vmclient_free(c);
   return rc;
}

static int
cmd_stop(const char *path, const char *mode)
{
   if (mode && strcmp(mode, "hard") && strcmp(mode, "soft")) {
      return usage();
   }
   bool hard = mode && !strcmp(mode, "hard");
   int rc = 0;
   vmclient *c = connect_running(path, NULL, &rc);
   if (!c) {
      return rc;
   }
   char *err = NULL;
   if (vmclient_command(c, hard ? "powerOff" : "softPowerOff", NULL, NULL, CMD_TIMEOUT_MS,
                        &err) < 0) {
      rc = die("%s", err);
      g_free(err);
   } else {
      /* A soft stop completes when the guest has shut down. */
      static const char *const off[] = { "poweredOff", NULL };
      if (!vmclient_wait_power_state(c, off, 5 * 60 * 1000)) {
         rc = die("The guest did not shut down within 5 minutes; use 'stop hard'");
      }
   }
   vmclient_free(c);
   return rc;
}

static int
cmd_get_state(const char *path)
{
   char *err = NULL;
   char *abs = vmclient_resolve(path, &err);
   if (!abs) {
      int r = die("%s", err);
      g_free(err);
      return r;
   }
   vmclient *c = vmclient_connect(abs, 5000, &err);
   g_free(err);
   if (!c) {
      /* No vmx runs it: suspended when its state waits beside it. */
      char *vmss = vmxcfg_suspend_path(abs);
      printf("%s\n", g_file_test(vmss, G_FILE_TEST_EXISTS) ? "suspended" : "poweredOff");
      g_free(vmss);
   } else {
      char *st = vmclient_get(c, "/vm/runtime/powerState");
      printf("%s\n", st ? st : "poweredOff");
      g_free(st);
      vmclient_free(c);
   }
   g_free(abs);
   return 0;
}

static int
cmd_list(void)
{
   char **vms = vmclient_list_running();
   printf("Total running VMs: %u\n", g_strv_length(vms));
   for (char **p = vms; *p; p++) {
      printf("%s\n", *p);
   }
   g_strfreev(vms);
   return 0;
}

static bool
var_name_ok(const char *name)
{
   if (!*name || strlen(name) > 200) {
      return false;
   }
   for (const char *p = name; *p; p++) {
      if (!g_ascii_isalnum(*p) && !strchr("_.:-@+", *p)) {
         return false;
      }
   }
   return true;
}

static int
cmd_read_variable(const char *path, const char *kind, const char *name)
{
   bool rt = !strcmp(kind, "runtimeConfig");
   if (!rt && strcmp(kind, "guestVar")) {
      return usage();
   }
   if (!var_name_ok(name)) {
      return die("'%s' is not a valid variable name", name);
   }
   int rc = 0;
   vmclient *c = connect_running(path, NULL, &rc);
   if (!c) {
      return rc;
   }
   char *lk = rt ? g_ascii_strdown(name, -1) : g_strdup(name);
   char *vpath = g_strdup_printf(rt ? "/vm/config/#%s" : "/vm/guestVar/#%s", lk);
   char *v = vmclient_get(c, vpath);
   if (!v) {
      rc = die("The %s variable '%s' is not set", kind, name);
   } else {
      printf("%s\n", v);
   }
   g_free(v);
   g_free(vpath);
   g_free(lk);
   vmclient_free(c);
   return rc;
}

static int
cmd_write_variable(const char *path, const char *kind, const char *name, const char *value)
{
   bool rt = !strcmp(kind, "runtimeConfig");
   if (!rt && strcmp(kind, "guestVar")) {
      return usage();
   }
   if (!var_name_ok(name)) {
      return die("'%s' is not a valid variable name", name);
   }
   int rc = 0;
   vmclient *c = connect_running(path, NULL, &rc);
   if (!c) {
      return rc;
   }
   char *err = NULL;
   if (rt) {
      if (vmclient_command(c, "writeVariable", name, value, CMD_TIMEOUT_MS, &err) < 0) {
         rc = die("%s", err);
      }
   } else {
      char *vpath = g_strdup_printf("/vm/guestVar/#%s", name);
      if (vmclient_set(c, vpath, value, &err) < 0) {
         rc = die("%s", err);
      }
      g_free(vpath);
   }
   g_free(err);
   vmclient_free(c);
   return rc;
}

static int
cmd_capture_screen(const char *path, const char *file)
{
   int rc = 0;
   vmclient *c = connect_running(path, NULL, &rc);
   if (!c) {
      return rc;
   }
   /* The vmx writes the file; it does not share our working directory. */
   char *cwd = g_get_current_dir();
   char *abs = g_path_is_absolute(file) ? g_strdup(file) : g_build_filename(cwd, file, NULL);
   g_free(cwd);
   char *err = NULL;
   if (vmclient_command(c, "captureScreen", abs, NULL, CMD_TIMEOUT_MS, &err) < 0) {
      rc = die("%s", err);
      g_free(err);
   }
   g_free(abs);
   vmclient_free(c);
   return rc;
}

/* ---- snapshots */

static void
print_tree_line(const vmsd_snapshot *s, unsigned depth, void *user)
{
   for (unsigned i = 0; i < depth; i++) {
      putchar('\t');
   }
   printf("%s\n", s->display_name);
}

static int
cmd_list_snapshots(const char *path, const char *mode)
{
   if (mode && strcmp(mode, "showTree")) {
      return usage();
   }
   char *err = NULL;
   char *abs = vmclient_resolve(path, &err);
   if (!abs) {
      int r = die("%s", err);
      g_free(err);
      return r;
   }
   vmsd *tree = NULL;
   vmclient *c = vmclient_connect(abs, 5000, &err);
   g_clear_pointer(&err, g_free);
   if (c) {
      tree = cui_snapshot_tree_from_vmdb(vmclient_ctx(c), &err);
      vmclient_free(c);
   } else {
      /* No vmx: the file itself (written atomically, so never torn). */
      char *p = vmsd_path_for(abs);
      tree = vmsd_load(p, &err);
      g_free(p);
   }
   g_free(abs);
   if (!tree) {
      int r = die("%s", err);
      g_free(err);
      return r;
   }
   printf("Total snapshots: %u\n", vmsd_count(tree));
   if (mode) {
      vmsd_foreach_tree(tree, print_tree_line, NULL);
   } else {
      for (unsigned i = 0; i < vmsd_count(tree); i++) {
         printf("%s\n", vmsd_at(tree, i)->display_name);
      }
   }
   vmsd_free(tree);
   return 0;
}

/* The request goes the way the workstation's snapshot operations go
 * (cui/snapshots.h): to the VM's vmx, or to one started for it that does
 * not power on and quits afterwards unless the VM then runs. */
static int
snapshot_command(const char *path, const char *op, const char *arg, const char *arg2)
{
   char *err = NULL;
   char *abs = vmclient_resolve(path, &err);
   if (!abs) {
      int r = die("%s", err);
      g_free(err);
      return r;
   }
   char *warning = NULL;
   int rc = 0;
   if (cui_snapshot_command(abs, op, arg, arg2, SNAPSHOT_TIMEOUT_MS, &err, &warning) < 0) {
      rc = die("%s", err);
      g_free(err);
   }
   if (warning) {
      fprintf(stderr, "vmrun: %s\n", warning);
      g_free(warning);
   }
   g_free(abs);
   return rc;
}

int
main(int argc, char **argv)
{
   signal(SIGPIPE, SIG_IGN);
   int i = 1;
   /* VMware's host-type and guest-credential options. */
   while (i < argc && argv[i][0] == '-') {
      if ((!strcmp(argv[i], "-T") || !strcmp(argv[i], "-h") || !strcmp(argv[i], "-P") ||
           !strcmp(argv[i], "-u") || !strcmp(argv[i], "-p") || !strcmp(argv[i], "-gu") ||
           !strcmp(argv[i], "-gp")) &&
          i + 1 < argc) {
         if (!strcmp(argv[i], "-T") && strcmp(argv[i + 1], "ws") && strcmp(argv[i + 1], "player")) {
            return die("host type '%s' is not supported: this is a local workstation",
                       argv[i + 1]);
         }
         i += 2;
      } else if (!strcmp(argv[i], "--help")) {
         usage();
         return 0;
      } else {
         return usage();
      }
   }
   if (i >= argc) {
      return usage();
   }
   const char *cmd = argv[i++];
   int n = argc - i;
   char **a = argv + i;
#define IS(s) (g_ascii_strcasecmp(cmd, s) == 0)
   if (IS("list") && n == 0) return cmd_list();
   if (IS("start") && (n == 1 || n == 2)) return cmd_start(a[0], n == 2 ? a[1] : NULL);
   if (IS("stop") && (n == 1 || n == 2)) return cmd_stop(a[0], n == 2 ? a[1] : NULL);
   if ((IS("reset") || IS("suspend")) && (n == 1 || n == 2)) {
      if (n == 2 && strcmp(a[1], "hard") && strcmp(a[1], "soft")) {
         return usage();
      }
      return simple_command(a[0], IS("reset") ? "reset" : "suspend");
   }
   if (IS("pause") && n == 1) return simple_command(a[0], "pause");
   if (IS("unpause") && n == 1) return simple_command(a[0], "unpause");
   if (IS("getState") && n == 1) return cmd_get_state(a[0]);
   if (IS("readVariable") && n == 3) return cmd_read_variable(a[0], a[1], a[2]);
   if (IS("writeVariable") && n == 4) return cmd_write_variable(a[0], a[1], a[2], a[3]);
   if (IS("captureScreen") && n == 2) return cmd_capture_screen(a[0], a[1]);
   if (IS("listSnapshots") && (n == 1 || n == 2)) return cmd_list_snapshots(a[0], n == 2 ? a[1] : NULL);
   if (IS("snapshot") && (n == 2 || n == 3)) {
      return snapshot_command(a[0], "snapshot", a[1], n == 3 ? a[2] : NULL);
   }
   if (IS("revertToSnapshot") && n == 2) {
      return snapshot_command(a[0], "revertToSnapshot", a[1], NULL);
   }
   if (IS("deleteSnapshot") && (n == 2 || n == 3)) {
      if (n == 3 && strcmp(a[2], "andDeleteChildren")) {
         return usage();
      }
      return snapshot_command(a[0], "deleteSnapshot", a[1], n == 3 ? a[2] : NULL);
   }
#undef IS
   return usage();
}
