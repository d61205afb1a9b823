/*
 * tests/fuzz/fuzz-vmdb-pipe-stream.c - libFuzzer target: arbitrary bytes
 * from a peer into the server side of a VMDB pipe (lib/vmdb/vmdb-pipe.c).
 *
 * For each input: a fresh store with a few values, a server pipe mirroring
 * /test on one end of a socketpair, the peer allowed to write /test/echo,
 * /test/int and /test/arr. The input is written into the other end in
 * chunks of varying size (a fixed sequence derived from the input length,
 * so a crash reproduces), the main context spinning between chunks and
 * whatever the pipe answers being read away; then the write side is shut
 * and the context spins until the pipe has closed.
 *
 * Built with FUZZ_PIPE_CLIENT (target fuzz-vmdb-pipe-client), the pipe is
 * the client side instead: the bytes play the server, whose initial sync
 * (SYNC_BEGIN, TXNs, SYNC_END) replaces the client's copy of /test, and
 * which may write anywhere under /test afterwards.
 *
 * Besides "never crashes, never hangs, never leaks", it checks:
 *
 *   - the pipe closes once its peer is gone (within a bounded number of
 *     main-context turns);
 *   - write rules hold: nothing outside the peer-writable subtrees changed,
 *     whatever was sent;
 *   - the store stays well formed: every stored path is valid, declared in
 *     the schema with the stored type.
 */
#include "lib/vmdb/vmdb-pipe.h"
#include "lib/vmdb/vmdb-wire.h"
#include "tests/fuzz/fuzz-common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SPIN_LIMIT 100000

static vmdb_schema *schema;

#ifdef FUZZ_PIPE_CLIENT
#define PIPE_SERVER false
static const char *const peer_writable[] = { "/test", NULL };
#else
#define PIPE_SERVER true
static const char *const peer_writable[] = { "/test/echo", "/test/int", "/test/arr", NULL };
#endif

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
   fuzz_glib_use_malloc(*argv);
   schema = vmdb_schema_builtin();
   return 0;
}

typedef struct state {
   bool closed;
   unsigned peer_errors;
   unsigned notified;
} state;

static void
on_peer_error(vmdb_pipe *p, const char *msg, void *user)
{
   ((state *)user)->peer_errors++;
}

static void
on_closed(vmdb_pipe *p, const char *reason, void *user)
{
   ((state *)user)->closed = true;
}

/* An ordinary local subscriber, so commits from the pipe are dispatched. */
static void
on_change(vmdb_ctx *ctx, const vmdb_change *ch, size_t n, void *user)
{
   state *st = user;
   for (size_t i = 0; i < n; i++) {
      if (!vmdb_path_valid(ch[i].path)) {
         fuzz_fail("notified of an invalid path '%s'", ch[i].path);
      }
      st->notified++;
   }
}

/* ---- a snapshot of the store: sorted "path\tformatted value" lines */

typedef struct snap_ctx {
   GPtrArray *lines;
   bool writable_only;   /* keep only paths outside the peer-writable subtrees */
} snap_ctx;

static bool
peer_may_write(const char *path)
{
   if (!vmdb_path_under(path, "/test")) {
      return false;
   }
   for (const char *const *w = peer_writable; *w; w++) {
      if (vmdb_path_under(path, *w)) {
         return true;
      }
   }
   return false;
}

static void
snap_one(const char *path, const vmdb_value *v, void *user)
{
   snap_ctx *s = user;
   if (!vmdb_path_valid(path)) {
      fuzz_fail("the store holds an invalid path '%s'", path);
   }
   vmdb_type t = vmdb_schema_lookup(schema, path, NULL, NULL);
   if (t == VMDB_TYPE_NONE || t != v->type) {
      fuzz_fail("the store holds %s as %s; the schema says %s", path, vmdb_type_name(v->type),
                vmdb_type_name(t));
   }
   if (s->writable_only && peer_may_write(path)) {
      return;
   }
   char *f = vmdb_value_format(v);
   g_ptr_array_add(s->lines, g_strdup_printf("%s\t%s", path, f));
   g_free(f);
}

static char *
snapshot_protected(vmdb_ctx *ctx)
{
   snap_ctx s = { g_ptr_array_new_with_free_func(g_free), true };
   vmdb_foreach(ctx, "/", snap_one, &s);
   GString *out = g_string_new(NULL);
   for (guint i = 0; i < s.lines->len; i++) {
      g_string_append(out, g_ptr_array_index(s.lines, i));
      g_string_append_c(out, '\n');
   }
   g_ptr_array_free(s.lines, TRUE);
   return g_string_free(out, FALSE);
}

/* ---- feeding */

static void
drain(int fd)
{
   uint8_t buf[65536];
   while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
   }
}

/* Run what is ready until nothing is, reading the pipe's answers away. */
static void
spin(GMainContext *mc, int peer_fd)
{
   for (int i = 0; i < SPIN_LIMIT; i++) {
      drain(peer_fd);
      if (!g_main_context_iteration(mc, FALSE)) {
         return;
      }
   }
   fuzz_fail("the main context was still busy after %d turns", SPIN_LIMIT);
}

static uint32_t
next_rand(uint32_t *s)
{
   *s ^= *s << 13;
   *s ^= *s >> 17;
   *s ^= *s << 5;
   return *s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   GMainContext *mc = g_main_context_new();
   vmdb_db *db = vmdb_db_new(schema);
   vmdb_ctx *ctx = vmdb_ctx_new(db, VMDB_CTX_DEFAULT);
   vmdb_ctx *jctx = vmdb_ctx_new(db, VMDB_CTX_JOURNAL);
   state st = { 0 };

   /* Values inside and outside what the peer may write. */
   vmdb_tx_begin(ctx);
   vmdb_set_str(ctx, "/vm/displayName", "fuzz");
   vmdb_set_int(ctx, "/test/int", 7);
   vmdb_set_str(ctx, "/test/str", "kept");
   vmdb_set_bool(ctx, "/test/bool", true);
   vmdb_set_int(ctx, "/test/other/x", 3);
   vmdb_set_str(ctx, "/test/arr/#a/name", "first");
   vmdb_set_int(ctx, "/test/arr/#a/size", 10);
   if (vmdb_tx_commit(ctx) < 0) {
      fuzz_fail("cannot set up the store: %s", vmdb_ctx_error(ctx));
   }
   char *before = snapshot_protected(ctx);
   vmdb_subscribe(jctx, "/", on_change, &st);
   vmdb_ctx_attach(jctx, mc);

   int sv[2];
   if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
      fuzz_fail("socketpair: %s", strerror(errno));
   }
   vmdb_pipe_callbacks cb = { .peer_error = on_peer_error, .closed = on_closed };
   /* A client lets its server write anywhere in the subtree (NULL). */
   vmdb_pipe *p = vmdb_pipe_new(db, sv[0], PIPE_SERVER, "/test",
                                PIPE_SERVER ? peer_writable : NULL, mc, &cb, &st);

   uint32_t rng = (uint32_t)size * 2654435761u + 0x9e3779b9u;
   size_t off = 0;
   while (off < size && !st.closed) {
      size_t chunk = 1 + next_rand(&rng) % 600;
      if (chunk > size - off) {
         chunk = size - off;
      }
      ssize_t n = send(sv[1], data + off, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
         off += (size_t)n;
      } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
         break; /* the pipe closed its end */
      }
      spin(mc, sv[1]);
   }
   shutdown(sv[1], SHUT_WR);
   for (int i = 0; !st.closed; i++) {
      if (i >= SPIN_LIMIT) {
         fuzz_fail("the pipe neither closed nor stopped after its peer left (%zu bytes fed)",
                   off);
      }
      drain(sv[1]);
      g_main_context_iteration(mc, FALSE);
   }
   if (!vmdb_pipe_closed(p)) {
      fuzz_fail("the closed callback ran but vmdb_pipe_closed() is false");
   }
   spin(mc, sv[1]);

   char *after = snapshot_protected(ctx);
   if (strcmp(before, after) != 0) {
      fuzz_fail("the peer changed values it may not write.\nbefore:\n%safter:\n%s", before,
                after);
   }
   g_free(before);
   g_free(after);

   vmdb_pipe_free(p);
   close(sv[1]);
   vmdb_ctx_free(jctx);
   vmdb_ctx_free(ctx);
   vmdb_db_unref(db);
   /* Sources of freed objects are destroyed; let the context drop them. */
   while (g_main_context_iteration(mc, FALSE)) {
   }
   g_main_context_unref(mc);
   return 0;
}
