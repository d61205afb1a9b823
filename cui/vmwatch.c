/*
 * cui/vmwatch.c - a live mirror of a VM's VMDB from its vmx (see vmwatch.h).
 */
#include "cui/vmwatch.h"
#include "lib/rundir.h"
#include "lib/vmdb/vmdb-pipe.h"

#include <string.h>
#include <sys/stat.h>

#define RETRY_MS 1000

struct cui_vmwatch {
   char *sock;               /* the vmx's VMDB socket, NULL when unknown */
   char **subtrees;
   GMainContext *mc;
   cui_vmwatch_callbacks cb;
   void *user;
   vmdb_db *db;
   vmdb_ctx *ctx;
   vmdb_pipe *pipe;
   bool synced;
   guint retry_src;
   GSource *teardown_src;    /* pending end of a closed pipe */
};

static gboolean teardown_cb(gpointer data);

/* End the connection from the loop (never inside the pipe's callbacks). */
static void
schedule_teardown(cui_vmwatch *w)
{
   if (!w->teardown_src) {
      w->teardown_src = g_idle_source_new();
      g_source_set_callback(w->teardown_src, teardown_cb, w, NULL);
      g_source_attach(w->teardown_src, w->mc);
   }
}

static void
on_change(vmdb_ctx *ctx, const vmdb_change *changes, size_t n, void *user)
{
   cui_vmwatch *w = user;
   if (!w->synced) {
      return;
   }
   /* A vmx that powered off removes its socket and waits for its clients
    * to hang up before it exits: do so at once, so it can go (and a new
    * request is not sent to a vmx on its way out). */
   char *st = vmdb_get_str(w->ctx, "/vm/runtime/powerState");
   struct stat sst;
   if (!g_strcmp0(st, "poweredOff") && w->sock && stat(w->sock, &sst) < 0) {
      schedule_teardown(w);
   }
   g_free(st);
   if (w->cb.changed) {
      w->cb.changed(w->user);
   }
}

static void
on_synced(vmdb_pipe *pipe, void *user)
{
   cui_vmwatch *w = user;
   w->synced = true;
   on_change(w->ctx, NULL, 0, w);
}

static void
on_closed(vmdb_pipe *pipe, const char *reason, void *user)
{
   schedule_teardown(user);
}

static void
disconnect(cui_vmwatch *w)
{
   if (w->teardown_src) {
      g_source_destroy(w->teardown_src);
      g_source_unref(w->teardown_src);
      w->teardown_src = NULL;
   }
   vmdb_pipe_free(w->pipe);
   w->pipe = NULL;
   vmdb_ctx_free(w->ctx);
   w->ctx = NULL;
   if (w->db) {
      vmdb_db_unref(w->db);
      w->db = NULL;
   }
   w->synced = false;
}

static bool
connect_vmx(cui_vmwatch *w)
{
   if (w->pipe) {
      return true;
   }
   if (!w->sock) {
      return false;
   }
   char *err = NULL;
   int fd = vmdb_connect(w->sock, &err);
   g_free(err);
   if (fd < 0) {
      return false;
   }
   vmdb_schema *s = vmdb_schema_builtin();
   w->db = vmdb_db_new(s);
   vmdb_schema_unref(s);
   w->ctx = vmdb_ctx_new(w->db, 0);
   vmdb_ctx_attach(w->ctx, w->mc);
   for (char **t = w->subtrees; *t; t++) {
      vmdb_subscribe(w->ctx, *t, on_change, w);
   }
   static const vmdb_pipe_callbacks cb = { .synced = on_synced, .closed = on_closed };
   w->pipe = vmdb_pipe_new(w->db, fd, false, "/vm", NULL, w->mc, &cb, w);
   return true;
}

static void
cancel_retry(cui_vmwatch *w)
{
   if (w->retry_src) {
      GSource *s = g_main_context_find_source_by_id(w->mc, w->retry_src);
      if (s) {
         g_source_destroy(s);
      }
      w->retry_src = 0;
   }
}

static gboolean
retry_cb(gpointer data)
{
   cui_vmwatch *w = data;
   if (connect_vmx(w)) {
      w->retry_src = 0;
      return G_SOURCE_REMOVE;
   }
   if (w->cb.idle) {
      w->cb.idle(false, w->user);
   }
   return G_SOURCE_CONTINUE;
}

bool
cui_vmwatch_update(cui_vmwatch *w)
{
   if (connect_vmx(w)) {
      cancel_retry(w);
      return true;
   }
   if (!w->retry_src) {
      GSource *s = g_timeout_source_new(RETRY_MS);
      g_source_set_callback(s, retry_cb, w, NULL);
      w->retry_src = g_source_attach(s, w->mc);
      g_source_unref(s);
   }
   return false;
}

static gboolean
teardown_cb(gpointer data)
{
   cui_vmwatch *w = data;
   disconnect(w);
   /* The vmx went away (powered off, suspended, or it died); a new one
    * may already serve the VM. */
   if (!cui_vmwatch_update(w) && w->cb.idle) {
      w->cb.idle(true, w->user);
   }
   return G_SOURCE_REMOVE;
}

cui_vmwatch *
cui_vmwatch_new(const char *abs_vmx, const char *const *subtrees, const cui_vmwatch_callbacks *cb,
                void *user)
{
   cui_vmwatch *w = g_new0(cui_vmwatch, 1);
   char *err = NULL;
   w->sock = vmws_runtime_path(abs_vmx, ".sock", &err);
   g_free(err);
   w->subtrees = g_strdupv((char **)subtrees);
   w->mc = g_main_context_ref_thread_default();
   if (cb) {
      w->cb = *cb;
   }
   w->user = user;
   cui_vmwatch_update(w);
   return w;
}

void
cui_vmwatch_free(cui_vmwatch *w)
{
   if (!w) {
      return;
   }
   cancel_retry(w);
   disconnect(w);
   g_main_context_unref(w->mc);
   g_strfreev(w->subtrees);
   g_free(w->sock);
   g_free(w);
}

bool
cui_vmwatch_up(const cui_vmwatch *w)
{
   return w->pipe && w->synced;
}

bool
cui_vmwatch_connected(const cui_vmwatch *w)
{
   return w->pipe != NULL;
}

vmdb_ctx *
cui_vmwatch_ctx(const cui_vmwatch *w)
{
   return cui_vmwatch_up(w) ? w->ctx : NULL;
}
