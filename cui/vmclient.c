/*
 * cui/vmclient.c - talk to a VM's vmx process over VMDB.
 */
#include "cui/vmclient.h"
#include "lib/rundir.h"
#include "lib/vmdb/vmdb-pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct vmclient {
   vmdb_db *db;
   vmdb_ctx *ctx;
   vmdb_pipe *pipe;
   GMainContext *mc;
   bool closed;
   char *close_reason;
   char *peer_error;
};

char *
vmclient_resolve(const char *path, char **err)
{
   char *r = realpath(path, NULL);
   if (!r) {
      *err = g_strdup_printf("%s: %s", path, strerror(errno));
      return NULL;
   }
   struct stat st;
   if (stat(r, &st) < 0 || !S_ISREG(st.st_mode)) {
      *err = g_strdup_printf("%s: not a regular file", path);
      free(r);
      return NULL;
   }
   char *g = g_strdup(r);
   free(r);
   return g;
}

static void
on_closed(vmdb_pipe *p, const char *reason, void *user)
{
   vmclient *c = user;
   c->closed = true;
   g_free(c->close_reason);
   c->close_reason = g_strdup(reason ? reason : "the vmx closed the connection");
}

static void
on_peer_error(vmdb_pipe *p, const char *msg, void *user)
{
   vmclient *c = user;
   g_free(c->peer_error);
   c->peer_error = g_strdup(msg);
}

static gboolean
wake_cb(gpointer unused)
{
   return G_SOURCE_REMOVE;
}

/* Iterate our context until done(c, data) or the deadline. */
static bool
spin(vmclient *c, bool (*done)(vmclient *, void *), void *data, int timeout_ms)
{
   gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
   while (!done(c, data)) {
      if (g_get_monotonic_time() >= deadline) {
         return false;
      }
      /* Wake at least every 50 ms to check the deadline. */
      GSource *t = g_timeout_source_new(50);
      g_source_set_callback(t, wake_cb, NULL, NULL);
      g_source_attach(t, c->mc);
      g_main_context_iteration(c->mc, TRUE);
      g_source_destroy(t);
      g_source_unref(t);
   }
   return true;
}

static bool
synced_or_closed(vmclient *c, void *unused)
{
   return c->closed || vmdb_pipe_synced(c->pipe);
}

vmclient *
vmclient_connect(const char *abs_vmx, int timeout_ms, char **err)
{
   char *sock = vmws_runtime_path(abs_vmx, ".sock", err);
   if (!sock) {
      return NULL;
   }
   char *cerr = NULL;
   int fd = vmdb_connect(sock, &cerr);
   g_free(sock);
   if (fd < 0) {
      *err = g_strdup_printf("no vmx is running %s (%s)", abs_vmx, cerr);
      g_free(cerr);
      return NULL;
   }
   vmclient *c = g_new0(vmclient, 1);
   vmdb_schema *s = vmdb_schema_builtin();
   c->db = vmdb_db_new(s);
   vmdb_schema_unref(s);
   c->mc = g_main_context_new();
   g_main_context_push_thread_default(c->mc);
   c->ctx = vmdb_ctx_new(c->db, 0);
   static const vmdb_pipe_callbacks cb = { .closed = on_closed, .peer_error = on_peer_error };
   c->pipe = vmdb_pipe_new(c->db, fd, false, "/vm", NULL, c->mc, &cb, c);
   g_main_context_pop_thread_default(c->mc);
   if (!spin(c, synced_or_closed, NULL, timeout_ms) || c->closed) {
      *err = g_strdup_printf("cannot talk to the vmx of %s: %s", abs_vmx,
                             c->closed ? c->close_reason : "no answer");
      vmclient_free(c);
      return NULL;
   }
   return c;
}

void
vmclient_free(vmclient *c)
{
   if (!c) {
      return;
   }
   if (c->pipe && !c->closed) {
      vmdb_pipe_flush(c->pipe, 2000);
   }
   vmdb_pipe_free(c->pipe);
   vmdb_ctx_free(c->ctx);
   vmdb_db_unref(c->db);
   g_main_context_unref(c->mc);
   g_free(c->close_reason);
   g_free(c->peer_error);
   g_free(c);
}

bool
vmclient_connected(vmclient *c)
{
   return !c->closed;
}

vmdb_ctx *
vmclient_ctx(vmclient *c)
{
   return c->ctx;
}

char *
vmclient_get(vmclient *c, const char *path)
{
   if (!vmdb_has(c->ctx, path)) {
      return NULL;
   }
   return vmdb_get_str(c->ctx, path);
}

int
vmclient_set(vmclient *c, const char *path, const char *value, char **err)
{
   if (vmdb_set_str(c->ctx, path, value) < 0) {
      *err = g_strdup(vmdb_ctx_error(c->ctx));
      return -1;
   }
   if (!vmdb_pipe_flush(c->pipe, 5000)) {
      *err = g_strdup_printf("lost the connection to the vmx: %s",
                             c->close_reason ? c->close_reason : "write timed out");
      return -1;
   }
   return 0;
}

typedef struct cmd_wait {
   char *state_path;
} cmd_wait;

static bool
cmd_finished(vmclient *c, void *data)
{
   cmd_wait *w = data;
   if (c->closed || c->peer_error) {
      return true;
   }
   char *st = vmclient_get(c, w->state_path);
   bool done = st && (!strcmp(st, "done") || !strcmp(st, "error"));
   g_free(st);
   return done;
}

int
vmclient_command(vmclient *c, const char *op, const char *arg, const char *arg2,
                 int timeout_ms, char **err)
{
   /* Process-wide: a second connection of this process must not reuse a
    * request name whose removal the vmx may not have seen yet. */
   static gint seq;
   char *base = g_strdup_printf("/vm/cmd/#c%dn%u", (int)getpid(),
                                (unsigned)g_atomic_int_add(&seq, 1) + 1);
   char *p_op = g_strdup_printf("%s/op", base);
   char *p_arg = g_strdup_printf("%s/arg", base);
   char *p_arg2 = g_strdup_printf("%s/arg2", base);
   char *p_state = g_strdup_printf("%s/state", base);
   char *p_err = g_strdup_printf("%s/error", base);
   int r = -1;
   vmdb_tx_begin(c->ctx);
   vmdb_set_str(c->ctx, p_op, op);
   vmdb_set_str(c->ctx, p_arg, arg ? arg : "");
   vmdb_set_str(c->ctx, p_arg2, arg2 ? arg2 : "");
   if (vmdb_tx_commit(c->ctx) < 0) {
      *err = g_strdup(vmdb_ctx_error(c->ctx));
      goto out;
   }
   cmd_wait w = { p_state };
   if (!spin(c, cmd_finished, &w, timeout_ms)) {
      *err = g_strdup_printf("the vmx did not finish '%s' within %d s", op, timeout_ms / 1000);
      goto out;
   }
   if (c->peer_error) {
      *err = g_strdup(c->peer_error);
      goto out;
   }
   char *st = vmclient_get(c, p_state);
   if (!st) {
      *err = g_strdup_printf("the vmx exited before answering '%s': %s", op,
                             c->close_reason ? c->close_reason : "connection closed");
      goto out;
   }
   if (!strcmp(st, "error")) {
      char *e = vmclient_get(c, p_err);
      *err = e && *e ? e : g_strdup_printf("'%s' failed", op);
      if (e && !*e) {
         g_free(e);
      }
   } else {
      r = 0;
   }
   g_free(st);
   if (!c->closed) {
      vmdb_remove(c->ctx, base);
   }
out:
   g_free(base);
   g_free(p_op);
   g_free(p_arg);
   g_free(p_arg2);
   g_free(p_state);
   g_free(p_err);
   return r;
}

typedef struct state_wait {
   const char *const *states;
   const char *seen;
} state_wait;

static bool
state_reached(vmclient *c, void *data)
{
   state_wait *w = data;
   if (c->closed) {
      w->seen = "exited";
      return true;
   }
   char *st = vmclient_get(c, "/vm/runtime/powerState");
   for (const char *const *s = w->states; st && *s; s++) {
      if (!strcmp(st, *s)) {
         w->seen = *s;
         break;
      }
   }
   g_free(st);
   return w->seen != NULL;
}

const char *
vmclient_wait_power_state(vmclient *c, const char *const *states, int timeout_ms)
{
   state_wait w = { states, NULL };
   spin(c, state_reached, &w, timeout_ms);
   return w.seen;
}

char **
vmclient_list_running(void)
{
   GPtrArray *out = g_ptr_array_new();
   char *err = NULL;
   char *dir = vmws_runtime_dir(&err);
   GDir *d = dir ? g_dir_open(dir, 0, NULL) : NULL;
   const char *name;
   while (d && (name = g_dir_read_name(d))) {
      if (!g_str_has_prefix(name, "vm-") || !g_str_has_suffix(name, ".sock")) {
         continue;
      }
      char *sock = g_build_filename(dir, name, NULL);
      char *cerr = NULL;
      int fd = vmdb_connect(sock, &cerr);
      g_free(cerr);
      g_free(sock);
      if (fd < 0) {
         continue; /* a stale socket of a vmx that died */
      }
      vmclient *c = g_new0(vmclient, 1);
      vmdb_schema *s = vmdb_schema_builtin();
      c->db = vmdb_db_new(s);
      vmdb_schema_unref(s);
      c->mc = g_main_context_new();
      g_main_context_push_thread_default(c->mc);
      c->ctx = vmdb_ctx_new(c->db, 0);
      static const vmdb_pipe_callbacks cb = { .closed = on_closed };
      c->pipe = vmdb_pipe_new(c->db, fd, false, "/vm", NULL, c->mc, &cb, c);
      g_main_context_pop_thread_default(c->mc);
      if (spin(c, synced_or_closed, NULL, 2000) && !c->closed) {
         char *p = vmclient_get(c, "/vm/vmxPath");
         if (p && *p) {
            g_ptr_array_add(out, p);
         } else {
            g_free(p);
         }
      }
      vmclient_free(c);
   }
   if (d) {
      g_dir_close(d);
   }
   g_free(dir);
   g_free(err);
   g_ptr_array_sort(out, (GCompareFunc)(void (*)(void))g_strcmp0);
   g_ptr_array_add(out, NULL);
   return (char **)g_ptr_array_free(out, FALSE);
}

char *
vmclient_find_vmx_binary(void)
{
   const char *env = g_getenv("VMWS_VMX");
   if (env && *env) {
      return g_strdup(env);
   }
   char *self = g_file_read_link("/proc/self/exe", NULL);
   if (!self) {
      return NULL;
   }
   char *dir = g_path_get_dirname(self);
   g_free(self);
   const char *cands[] = { "vmx", "../vmx/main/vmx", "../libexec/vmws/vmx" };
   for (size_t i = 0; i < G_N_ELEMENTS(cands); i++) {
      char *p = g_build_filename(dir, cands[i], NULL);
      if (g_file_test(p, G_FILE_TEST_IS_EXECUTABLE) && !g_file_test(p, G_FILE_TEST_IS_DIR)) {
         g_free(dir);
         return p;
      }
      g_free(p);
   }
   g_free(dir);
   return NULL;
}

int
vmclient_spawn_vmx(const char *abs_vmx, bool power_on, char **err)
{
   char *bin = vmclient_find_vmx_binary();
   if (!bin) {
      *err = g_strdup("cannot find the vmx program (set VMWS_VMX to its path)");
      return -1;
   }
   int pfd[2];
   if (pipe2(pfd, O_CLOEXEC) < 0) {
      *err = g_strdup_printf("pipe: %s", strerror(errno));
      g_free(bin);
      return -1;
   }
   pid_t pid = fork();
   if (pid < 0) {
      *err = g_strdup_printf("fork: %s", strerror(errno));
      g_free(bin);
      close(pfd[0]);
      close(pfd[1]);
      return -1;
   }
   if (pid == 0) {
      /* Detach: new session, and a second fork so the vmx is not our child. */
      setsid();
      if (fork() != 0) {
         _exit(0);
      }
      int null = open("/dev/null", O_RDWR);
      dup2(null, 0);
      dup2(null, 1);
      if (!g_getenv("VMWS_VMX_STDERR")) {
         dup2(null, 2);
      }
      close(pfd[0]);
      fcntl(pfd[1], F_SETFD, 0);
      char fdarg[16];
      snprintf(fdarg, sizeof fdarg, "%d", pfd[1]);
      char *argv[8];
      int n = 0;
      argv[n++] = bin;
      argv[n++] = (char *)"--ready-fd";
      argv[n++] = fdarg;
      if (!power_on) {
         argv[n++] = (char *)"--no-power-on";
      }
      argv[n++] = (char *)abs_vmx;
      argv[n] = NULL;
      execv(bin, argv);
      char msg[512];
      int m = snprintf(msg, sizeof msg, "error: cannot run %s: %s\n", bin, strerror(errno));
      ssize_t w = write(pfd[1], msg, (size_t)m);
      (void)w;
      _exit(127);
   }
   close(pfd[1]);
   waitpid(pid, NULL, 0);
   g_free(bin);
   GString *got = g_string_new(NULL);
   gint64 deadline = g_get_monotonic_time() + 60 * G_USEC_PER_SEC;
   for (;;) {
      gint64 left = (deadline - g_get_monotonic_time()) / 1000;
      if (left <= 0) {
         break;
      }
      struct pollfd p = { .fd = pfd[0], .events = POLLIN };
      int pr = poll(&p, 1, (int)left);
      if (pr < 0 && errno == EINTR) {
         continue;
      }
      if (pr <= 0) {
         break;
      }
      char buf[512];
      ssize_t n = read(pfd[0], buf, sizeof buf);
      if (n <= 0) {
         break;
      }
      g_string_append_len(got, buf, n);
   }
   close(pfd[0]);
   int r = 0;
   g_strstrip(got->str);
   if (!strcmp(got->str, "ok")) {
      r = 0;
   } else if (g_str_has_prefix(got->str, "error: ")) {
      *err = g_strdup(got->str + 7);
      r = -1;
   } else {
      *err = g_strdup_printf("the vmx for %s exited during start-up without a reason "
                             "(see vmware.log beside it)", abs_vmx);
      r = -1;
   }
   g_string_free(got, TRUE);
   return r;
}
