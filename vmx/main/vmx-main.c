/*
 * vmx/main/vmx-main.c - the per-VM process.
 *
 *   vmx [--foreground] [--no-power-on] [--ready-fd N] [--log-stderr] PATH.vmx
 *
 * Reads the config, takes the VM's lock, opens vmware.log, publishes the VM
 * in VMDB, serves VMDB pipes on a socket in the private runtime directory
 * (named after the .vmx path, see vmws_runtime_path), powers on, and runs
 * until the VM is powered off. --ready-fd: write "ok\n" to that fd once the
 * socket accepts connections, or "error: ...\n" if start-up fails.
 */
#include "lib/rundir.h"
#include "vmx/main/snapshot.h"
#include "vmx/main/vmx.h"
#include "vmx/vmxlog.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/utsname.h>
#include <unistd.h>

#define VMWS_VERSION "0.1.0"

/* Subtrees a client (vmrun, the UI) may write. */
static const char *const client_writable[] = { "/vm/cmd", "/vm/guestVar", NULL };

static int ready_fd = -1;

static void
report_ready(const char *msg)
{
   if (ready_fd < 0) {
      return;
   }
   char *line = msg ? g_strdup_printf("error: %s\n", msg) : g_strdup("ok\n");
   ssize_t r = write(ready_fd, line, strlen(line));
   (void)r;
   g_free(line);
   close(ready_fd);
   ready_fd = -1;
}

static void
publish_one(const char *key, const char *value, void *user)
{
   vmx *v = user;
   char *lk = g_ascii_strdown(key, -1);
   char *path = g_strdup_printf("/vm/config/#%s", lk);
   if (vmdb_set_str(v->ctx, path, value) < 0) {
      vmxlog("Config key %s not published: %s", key, vmdb_ctx_error(v->ctx));
   }
   g_free(path);
   g_free(lk);
}

void
vmx_publish_config(vmx *v)
{
   vmdb_tx_begin(v->ctx);
   vmdb_remove(v->ctx, "/vm/config");
   vmxcfg_foreach(v->cfg, publish_one, v);
   vmdb_tx_commit(v->ctx);
}

/* ---- clients */

static void
pipe_closed(vmdb_pipe *p, const char *reason, void *user)
{
   vmx *v = user;
   if (reason) {
      vmxlog("VMDB client disconnected: %s", reason);
   }
   g_ptr_array_remove(v->pipes, p); /* frees it */
   if (v->exiting && v->pipes->len == 0) {
      g_main_loop_quit(v->loop);
   }
}

static void
pipe_peer_error(vmdb_pipe *p, const char *msg, void *user)
{
   vmxlog("VMDB client reported: %s", msg);
}

static gboolean
on_accept(gint fd, GIOCondition cond, gpointer data)
{
   vmx *v = data;
   char *err = NULL;
   int cfd = vmdb_accept(fd, &err);
   if (cfd < 0) {
      vmxlog("VMDB connection refused: %s", err);
      g_free(err);
      return G_SOURCE_CONTINUE;
   }
   static const vmdb_pipe_callbacks cb = {
      .closed = pipe_closed,
      .peer_error = pipe_peer_error,
   };
   vmdb_pipe *p = vmdb_pipe_new(v->db, cfd, true, "/vm", client_writable, NULL, &cb, v);
   g_ptr_array_add(v->pipes, p);
   return G_SOURCE_CONTINUE;
}

static void
on_cmd(vmdb_ctx *ctx, const vmdb_change *ch, size_t n, void *user)
{
   vmx *v = user;
   if (!v->exiting) {
      vmx_run_commands(v);
   }
}

static gboolean
exit_now(gpointer data)
{
   vmx *v = data;
   v->exit_timer = 0;
   g_main_loop_quit(v->loop);
   return G_SOURCE_REMOVE;
}

void
vmx_schedule_exit(vmx *v, int code)
{
   if (v->exiting) {
      return;
   }
   v->exiting = true;
   v->exit_code = code;
   /* Stop taking new clients; give connected ones a moment to read the
    * final state and hang up. */
   if (v->accept_src) {
      g_source_destroy(v->accept_src);
      g_source_unref(v->accept_src);
      v->accept_src = NULL;
   }
   unlink(v->sock_path);
   for (guint i = 0; i < v->pipes->len; i++) {
      vmdb_pipe_flush(g_ptr_array_index(v->pipes, i), 1000);
   }
   if (v->pipes->len == 0) {
      g_idle_add(exit_now, v);
   } else {
      v->exit_timer = g_timeout_add(3000, exit_now, v);
   }
}

static gboolean
on_signal(gpointer data)
{
   vmx *v = data;
   vmxlog("Signal received: powering off");
   char *err = NULL;
   if (v->machine) {
      vmx_power_off(v, false, &err);
      g_free(err);
   } else {
      vmx_schedule_exit(v, 0);
   }
   return G_SOURCE_CONTINUE;
}

/* ---- start-up */

static bool
take_lock(vmx *v, char **err)
{
   v->lock_fd = open(v->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
   if (v->lock_fd < 0) {
      *err = g_strdup_printf("cannot open %s: %s", v->lock_path, strerror(errno));
      return false;
   }
   if (flock(v->lock_fd, LOCK_EX | LOCK_NB) < 0) {
      char buf[32] = "";
      ssize_t n = pread(v->lock_fd, buf, sizeof buf - 1, 0);
      buf[n > 0 ? n : 0] = '\0';
      g_strstrip(buf);
      *err = g_strdup_printf("%s is already running (vmx pid %s)", v->vmx_path,
                             buf[0] ? buf : "unknown");
      close(v->lock_fd);
      v->lock_fd = -1;
      return false;
   }
   char pid[32];
   int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
   if (ftruncate(v->lock_fd, 0) < 0 || pwrite(v->lock_fd, pid, (size_t)n, 0) != n) {
      *err = g_strdup_printf("cannot write %s: %s", v->lock_path, strerror(errno));
      return false;
   }
   return true;
}

static void
usage(void)
{
   fprintf(stderr, "usage: vmx [--foreground] [--no-power-on] [--ready-fd N] [--log-stderr] "
                   "PATH.vmx\n");
}

static void
log_header(vmx *v, int argc, char **argv)
{
   struct utsname u;
   uname(&u);
   vmxlog("vmws vmx %s starting, pid %d", VMWS_VERSION, (int)getpid());
   GString *cl = g_string_new(NULL);
   for (int i = 0; i < argc; i++) {
      g_string_append_printf(cl, "%s%s", i ? " " : "", argv[i]);
   }
   vmxlog("Command line: %s", cl->str);
   g_string_free(cl, TRUE);
   vmxlog("Host: %s %s %s, %ld CPUs, %llu MB memory", u.sysname, u.release, u.machine,
          sysconf(_SC_NPROCESSORS_ONLN), (unsigned long long)vmx_host_memory_mb());
   vmxlog("Config file: %s", v->vmx_path);
}

int
main(int argc, char **argv)
{
   bool foreground = false, power_on = true, log_stderr = false;
   const char *path = NULL;
   for (int i = 1; i < argc; i++) {
      if (!strcmp(argv[i], "--foreground")) {
         foreground = true;
      } else if (!strcmp(argv[i], "--no-power-on")) {
         power_on = false;
      } else if (!strcmp(argv[i], "--log-stderr")) {
         log_stderr = true;
      } else if (!strcmp(argv[i], "--ready-fd") && i + 1 < argc) {
         ready_fd = atoi(argv[++i]);
      } else if (argv[i][0] == '-') {
         usage();
         return 2;
      } else if (!path) {
         path = argv[i];
      } else {
         usage();
         return 2;
      }
   }
   if (!path) {
      usage();
      return 2;
   }
   (void)foreground;
   signal(SIGPIPE, SIG_IGN);

   vmx vv = { 0 }, *v = &vv;
   v->lock_fd = -1;
   v->lfd = -1;
   char *err = NULL;
   char *real = realpath(path, NULL);
   if (!real) {
      err = g_strdup_printf("%s: %s", path, strerror(errno));
      goto fail_early;
   }
   v->vmx_path = g_strdup(real);
   free(real);
   v->dir = g_path_get_dirname(v->vmx_path);

   v->sock_path = vmws_runtime_path(v->vmx_path, ".sock", &err);
   v->lock_path = v->sock_path ? vmws_runtime_path(v->vmx_path, ".lock", &err) : NULL;
   if (!v->lock_path || !take_lock(v, &err)) {
      goto fail_early;
   }
   v->cfg = vmxcfg_load(v->vmx_path, &err);
   if (!v->cfg) {
      goto fail_early;
   }
   int64_t keep = 3;
   char *kerr = NULL;
   if (!vmxcfg_get_int(v->cfg, "log.keepOld", 3, &keep, &kerr)) {
      err = kerr;
      goto fail_early;
   }
   if (!vmxlog_open(v->dir, (int)keep, &err)) {
      goto fail_early;
   }
   vmxlog_set_stderr(log_stderr);
   log_header(v, argc, argv);

   vmdb_schema *schema = vmdb_schema_builtin();
   v->db = vmdb_db_new(schema);
   vmdb_schema_unref(schema);
   v->ctx = vmdb_ctx_new(v->db, 0);
   v->loop = g_main_loop_new(NULL, FALSE);
   v->pipes = g_ptr_array_new_with_free_func((GDestroyNotify)vmdb_pipe_free);
   /* A suspended VM's state waits beside its .vmx. */
   char *vmss = vmxcfg_suspend_path(v->vmx_path);
   v->power_state = g_file_test(vmss, G_FILE_TEST_EXISTS) ? "suspended" : "poweredOff";
   g_free(vmss);

   const char *dn = vmxcfg_get(v->cfg, "displayName");
   vmdb_tx_begin(v->ctx);
   vmdb_set_str(v->ctx, "/vm/vmxPath", v->vmx_path);
   vmdb_set_str(v->ctx, "/vm/displayName", dn ? dn : "");
   vmdb_set_int(v->ctx, "/vm/pid", getpid());
   vmdb_set_str(v->ctx, "/vm/runtime/powerState", v->power_state);
   vmdb_set_str(v->ctx, "/vm/runtime/logFile", vmxlog_path());
   vmdb_tx_commit(v->ctx);
   vmx_publish_config(v);
   vmx_snapshot_publish(v);

   v->lfd = vmdb_listen(v->sock_path, &err);
   if (v->lfd < 0) {
      vmxlog("Error: %s", err);
      goto fail_early;
   }
   v->accept_src = g_unix_fd_source_new(v->lfd, G_IO_IN);
   g_source_set_callback(v->accept_src, (GSourceFunc)(void (*)(void))on_accept, v, NULL);
   g_source_attach(v->accept_src, NULL);
   vmxlog("VMDB: serving %s", v->sock_path);

   vmdb_subscribe(v->ctx, "/vm/cmd", on_cmd, v);
   vmdb_ctx_attach(v->ctx, NULL);
   g_unix_signal_add(SIGTERM, on_signal, v);
   g_unix_signal_add(SIGINT, on_signal, v);
   g_unix_signal_add(SIGHUP, on_signal, v);

   if (power_on) {
      char *perr = NULL;
      if (vmx_power_on(v, &perr) < 0) {
         /* The reason is in VMDB for clients; the ready line carries it too. */
         report_ready(perr);
         g_free(perr);
         vmx_schedule_exit(v, 1);
      }
   }
   report_ready(NULL);
   g_main_loop_run(v->loop);

   vmxlog("vmx exiting (status %d)", v->exit_code);
   if (v->machine) {
      vmx_drop_machine(v);   /* the console server first: it reads the SVGA device */
   }
   g_ptr_array_free(v->pipes, TRUE);
   if (v->accept_src) {
      g_source_destroy(v->accept_src);
      g_source_unref(v->accept_src);
   }
   close(v->lfd);
   unlink(v->sock_path);
   unlink(v->lock_path);
   close(v->lock_fd);
   vmdb_ctx_free(v->ctx);
   vmdb_db_unref(v->db);
   g_main_loop_unref(v->loop);
   vmxcfg_free(v->cfg);
   vmxlog_close();
   int code = v->exit_code;
   g_free(v->vmx_path);
   g_free(v->dir);
   g_free(v->sock_path);
   g_free(v->lock_path);
   return code;

fail_early:
   fprintf(stderr, "vmx: %s\n", err);
   /* A config error is recorded in the VM's log too, as VMware does; only
    * while we hold the VM's lock, so a running vmx's log is never rotated.
    * The log is written before the ready line so that whoever started us
    * finds it complete. */
   if (!vmxlog_path() && v->dir && v->lock_fd >= 0) {
      vmxlog_open(v->dir, 3, NULL);
   }
   if (vmxlog_path()) {
      vmxlog("Error: %s", err);
      vmxlog_close();
   }
   report_ready(err);
   if (v->lock_fd >= 0) {
      unlink(v->lock_path);
      close(v->lock_fd);
   }
   vmxcfg_free(v->cfg);
   g_free(v->vmx_path);
   g_free(v->dir);
   g_free(v->sock_path);
   g_free(v->lock_path);
   g_free(err);
   return 1;
}
