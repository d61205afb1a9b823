/*
 * Tests of VMDB pipes: two processes exchanging 10,000 updates each way
 * with nothing lost or reordered, full sync, write rules, atomic
 * transactions across the pipe, peer uid checks and protocol errors.
 */
#include "lib/vmdb/vmdb-pipe.h"
#include "lib/vmdb/vmdb-wire.h"

#include <errno.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_UPDATES 10000

static vmdb_db *
new_db(void)
{
   vmdb_schema *s = vmdb_schema_builtin();
   vmdb_db *db = vmdb_db_new(s);
   vmdb_schema_unref(s);
   return db;
}

/* ------------------------------------------------- two-process ordering */

typedef struct side {
   GMainLoop *loop;
   vmdb_ctx *ctx;      /* writer */
   vmdb_ctx *jctx;     /* journal reader */
   vmdb_pipe *pipe;
   const char *out_path;   /* what this side sends */
   int64_t sent;
   int64_t expect;         /* next value expected on the in path */
   bool bad;
   char why[256];
   bool started;
   bool closed;
} side;

static void
check_seq(vmdb_ctx *ctx, const vmdb_change *ch, size_t n, void *user)
{
   side *s = user;
   for (size_t i = 0; i < n; i++) {
      if (s->bad) {
         return;
      }
      if (ch[i].removed || ch[i].value.type != VMDB_TYPE_INT || ch[i].value.i != s->expect + 1) {
         s->bad = true;
         snprintf(s->why, sizeof s->why, "%s: expected %lld, got %lld", ch[i].path,
                  (long long)(s->expect + 1), (long long)ch[i].value.i);
         return;
      }
      s->expect++;
   }
}

static gboolean
send_some(gpointer data)
{
   side *s = data;
   if (s->closed) {
      return G_SOURCE_REMOVE;
   }
   for (int k = 0; k < 64 && s->sent < N_UPDATES; k++) {
      vmdb_set_int(s->ctx, s->out_path, ++s->sent);
   }
   return s->sent < N_UPDATES ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
start_sending(side *s)
{
   if (!s->started) {
      s->started = true;
      g_idle_add(send_some, s);
   }
}

static void
on_start_signal(vmdb_ctx *ctx, const vmdb_change *ch, size_t n, void *user)
{
   for (size_t i = 0; i < n; i++) {
      if (!ch[i].removed && ch[i].value.i == 1) {
         start_sending(user);
      }
   }
}

static void
side_closed(vmdb_pipe *p, const char *reason, void *user)
{
   side *s = user;
   s->closed = true;
   if (reason && !s->bad) {
      s->bad = true;
      snprintf(s->why, sizeof s->why, "pipe closed: %s", reason);
   }
   g_main_loop_quit(s->loop);
}

static void
client_synced(vmdb_pipe *p, void *user)
{
   side *s = user;
   vmdb_set_int(s->ctx, "/test/int", 1); /* tell the server to start */
   start_sending(s);
}

static gboolean
client_poll_done(gpointer data)
{
   side *s = data;
   if (s->closed) {
      return G_SOURCE_REMOVE;
   }
   if (s->bad || (s->expect == N_UPDATES && s->sent == N_UPDATES)) {
      g_main_loop_quit(s->loop);
      return G_SOURCE_REMOVE;
   }
   return G_SOURCE_CONTINUE;
}

static gboolean
timeout_cb(gpointer data)
{
   side *s = data;
   s->bad = true;
   snprintf(s->why, sizeof s->why, "timed out: sent %lld, received %lld", (long long)s->sent,
            (long long)s->expect);
   g_main_loop_quit(s->loop);
   return G_SOURCE_REMOVE;
}

static int
run_server_child(int fd)
{
   vmdb_db *db = new_db();
   side s = { 0 };
   s.loop = g_main_loop_new(NULL, FALSE);
   s.ctx = vmdb_ctx_new(db, 0);
   s.jctx = vmdb_ctx_new(db, VMDB_CTX_JOURNAL);
   s.out_path = "/test/counter";
   vmdb_subscribe(s.jctx, "/test/echo", check_seq, &s);
   vmdb_subscribe(s.jctx, "/test/int", on_start_signal, &s);
   vmdb_ctx_attach(s.jctx, NULL);
   static const char *const writable[] = { "/test/echo", "/test/int", NULL };
   vmdb_pipe_callbacks cb = { .closed = side_closed };
   s.pipe = vmdb_pipe_new(db, fd, true, "/test", writable, NULL, &cb, &s);
   g_timeout_add_seconds(60, timeout_cb, &s);
   g_main_loop_run(s.loop); /* until the client closes */
   /* Changes the pipe applied just before the close may not have been
    * dispatched to our journal context yet. */
   vmdb_ctx_dispatch(s.jctx);
   int status = 0;
   if (s.bad) {
      fprintf(stderr, "server child: %s\n", s.why);
      status = 1;
   } else if (s.expect != N_UPDATES || s.sent != N_UPDATES) {
      fprintf(stderr, "server child: received %lld echoes, sent %lld\n", (long long)s.expect,
              (long long)s.sent);
      status = 2;
   }
   return status;
}

static void
test_two_process_ordering(void)
{
   int sv[2];
   g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
   pid_t pid = fork();
   g_assert_cmpint(pid, >=, 0);
   if (pid == 0) {
      close(sv[0]);
      _exit(run_server_child(sv[1]));
   }
   close(sv[1]);
   vmdb_db *db = new_db();
   side s = { 0 };
   s.loop = g_main_loop_new(NULL, FALSE);
   s.ctx = vmdb_ctx_new(db, 0);
   s.jctx = vmdb_ctx_new(db, VMDB_CTX_JOURNAL);
   s.out_path = "/test/echo";
   vmdb_subscribe(s.jctx, "/test/counter", check_seq, &s);
   vmdb_ctx_attach(s.jctx, NULL);
   vmdb_pipe_callbacks cb = { .synced = client_synced, .closed = side_closed };
   s.pipe = vmdb_pipe_new(db, sv[0], false, "/test", NULL, NULL, &cb, &s);
   guint t1 = g_timeout_add_seconds(60, timeout_cb, &s);
   guint t2 = g_timeout_add(5, client_poll_done, &s);
   g_main_loop_run(s.loop);
   g_source_remove(t1);
   (void)t2; /* removes itself when it quits the loop */
   if (s.bad) {
      g_test_message("client: %s", s.why);
   }
   g_assert_false(s.bad);
   g_assert_cmpint(s.expect, ==, N_UPDATES);
   g_assert_true(vmdb_pipe_flush(s.pipe, 10000));
   uint64_t tx, rx;
   vmdb_pipe_stats(s.pipe, &tx, &rx);
   g_test_message("client sent %llu bytes, received %llu", (unsigned long long)tx,
                  (unsigned long long)rx);
   vmdb_pipe_free(s.pipe); /* closes: the child's loop ends */
   int st = 0;
   g_assert_cmpint(waitpid(pid, &st, 0), ==, pid);
   g_assert_true(WIFEXITED(st));
   g_assert_cmpint(WEXITSTATUS(st), ==, 0);
   vmdb_ctx_free(s.ctx);
   vmdb_ctx_free(s.jctx);
   g_main_loop_unref(s.loop);
   vmdb_db_unref(db);
}

/* ------------------------------------------ one-process pair of pipes */

typedef struct pair {
   vmdb_db *sdb, *cdb;
   vmdb_ctx *sctx, *cctx;
   vmdb_pipe *server, *client;
   char *peer_error;
   char *close_reason;
   bool closed;
} pair;

static void
pair_peer_error(vmdb_pipe *p, const char *msg, void *user)
{
   pair *pr = user;
   g_free(pr->peer_error);
   pr->peer_error = g_strdup(msg);
}

static void
pair_closed(vmdb_pipe *p, const char *reason, void *user)
{
   pair *pr = user;
   pr->closed = true;
   g_free(pr->close_reason);
   pr->close_reason = g_strdup(reason ? reason : "");
}

static void
pair_open(pair *pr, const char *const *writable)
{
   memset(pr, 0, sizeof *pr);
   pr->sdb = new_db();
   pr->cdb = new_db();
   pr->sctx = vmdb_ctx_new(pr->sdb, 0);
   pr->cctx = vmdb_ctx_new(pr->cdb, 0);
   vmdb_set_str(pr->sctx, "/test/str", "srv");
   vmdb_set_int(pr->sctx, "/test/int", 77);
   /* Stale local state of the client is replaced by the sync. */
   vmdb_set_str(pr->cctx, "/test/str", "stale");
   vmdb_set_bool(pr->cctx, "/test/bool", true);
   int sv[2];
   g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
   vmdb_pipe_callbacks cb = { .peer_error = pair_peer_error, .closed = pair_closed };
   pr->server = vmdb_pipe_new(pr->sdb, sv[0], true, "/test", writable, NULL, &cb, pr);
   pr->client = vmdb_pipe_new(pr->cdb, sv[1], false, "/test", NULL, NULL, &cb, pr);
}

static void
pair_close(pair *pr)
{
   vmdb_pipe_free(pr->client);
   vmdb_pipe_free(pr->server);
   vmdb_ctx_free(pr->sctx);
   vmdb_ctx_free(pr->cctx);
   vmdb_db_unref(pr->sdb);
   vmdb_db_unref(pr->cdb);
   g_free(pr->peer_error);
   g_free(pr->close_reason);
}

/* Run the default main context until cond holds (or 5 s pass). */
#define SPIN_UNTIL(cond)                                                    \
   do {                                                                     \
      gint64 end_ = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;            \
      while (!(cond) && g_get_monotonic_time() < end_) {                    \
         g_main_context_iteration(NULL, FALSE);                             \
         g_usleep(200);                                                     \
      }                                                                     \
      g_assert_true(cond);                                                  \
   } while (0)

static void
test_sync_and_rules(void)
{
   static const char *const writable[] = { "/test/other", "/test/arr", NULL };
   pair pr;
   pair_open(&pr, writable);
   SPIN_UNTIL(vmdb_pipe_synced(pr.client));
   char *s = vmdb_get_str(pr.cctx, "/test/str");
   g_assert_cmpstr(s, ==, "srv");
   g_free(s);
   g_assert_false(vmdb_has(pr.cctx, "/test/bool"));
   g_assert_cmpint(vmdb_get_int(pr.cctx, "/test/int", 0), ==, 77);

   /* Allowed write goes through. */
   vmdb_set_int(pr.cctx, "/test/other/x", 3);
   SPIN_UNTIL(vmdb_get_int(pr.sctx, "/test/other/x", 0) == 3);

   /* Server-side changes reach the client. */
   vmdb_set_int(pr.sctx, "/test/int", 78);
   SPIN_UNTIL(vmdb_get_int(pr.cctx, "/test/int", 0) == 78);

   /* Forbidden write is refused, reported and corrected. */
   vmdb_set_int(pr.cctx, "/test/int", 5);
   SPIN_UNTIL(pr.peer_error != NULL);
   g_assert_cmpstr(pr.peer_error, ==,
                   "vmdb pipe: write to /test/int refused: the peer may not write there");
   SPIN_UNTIL(vmdb_get_int(pr.cctx, "/test/int", 0) == 78);
   g_assert_cmpint(vmdb_get_int(pr.sctx, "/test/int", 0), ==, 78);

   /* A transaction with one forbidden path is refused whole. */
   g_free(pr.peer_error);
   pr.peer_error = NULL;
   vmdb_tx_begin(pr.cctx);
   vmdb_set_int(pr.cctx, "/test/other/x", 4);
   vmdb_set_str(pr.cctx, "/test/str", "hijack");
   g_assert_cmpint(vmdb_tx_commit(pr.cctx), ==, 0);
   SPIN_UNTIL(pr.peer_error != NULL);
   g_assert_nonnull(strstr(pr.peer_error, "/test/str refused"));
   SPIN_UNTIL(vmdb_get_int(pr.cctx, "/test/other/x", 0) == 3);
   g_assert_cmpint(vmdb_get_int(pr.sctx, "/test/other/x", 0), ==, 3);
   s = vmdb_get_str(pr.cctx, "/test/str");
   g_assert_cmpstr(s, ==, "srv");
   g_free(s);
   g_assert_false(pr.closed);
   pair_close(&pr);
}

typedef struct txn_rec {
   int calls;
   size_t n;
   uint64_t txn[8];
} txn_rec;

static void
txn_cb(vmdb_ctx *ctx, const vmdb_change *ch, size_t n, void *user)
{
   txn_rec *r = user;
   r->calls++;
   for (size_t i = 0; i < n && r->n < 8; i++) {
      r->txn[r->n++] = ch[i].txn;
   }
}

static void
test_txn_across_pipe(void)
{
   static const char *const writable[] = { "/test/other", "/test/arr", NULL };
   pair pr;
   pair_open(&pr, writable);
   SPIN_UNTIL(vmdb_pipe_synced(pr.client));
   vmdb_ctx *j = vmdb_ctx_new(pr.sdb, VMDB_CTX_JOURNAL);
   txn_rec rec = { 0 };
   vmdb_subscribe(j, "/test", txn_cb, &rec);
   vmdb_tx_begin(pr.cctx);
   vmdb_set_str(pr.cctx, "/test/arr/#1/name", "disk");
   vmdb_set_int(pr.cctx, "/test/arr/#1/size", 10);
   vmdb_set_int(pr.cctx, "/test/other/x", 11);
   g_assert_cmpint(vmdb_tx_commit(pr.cctx), ==, 0);
   SPIN_UNTIL(vmdb_get_int(pr.sctx, "/test/other/x", 0) == 11);
   /* All three arrived in one commit on the server side. */
   g_assert_cmpint(vmdb_get_int(pr.sctx, "/test/arr/#1/size", 0), ==, 10);
   vmdb_ctx_dispatch(j);
   g_assert_cmpint(rec.calls, ==, 1);
   g_assert_cmpint(rec.n, ==, 3);
   g_assert_true(rec.txn[0] == rec.txn[1] && rec.txn[1] == rec.txn[2]);
   /* Removal travels too. */
   vmdb_remove(pr.cctx, "/test/arr/#1");
   SPIN_UNTIL(!vmdb_has(pr.sctx, "/test/arr/#1/name"));
   vmdb_ctx_free(j);
   pair_close(&pr);
}

static void
test_protocol_error(void)
{
   vmdb_db *db = new_db();
   int sv[2];
   g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
   pair pr = { 0 };
   vmdb_pipe_callbacks cb = { .closed = pair_closed };
   vmdb_pipe *p = vmdb_pipe_new(db, sv[0], true, "/test", NULL, NULL, &cb, &pr);
   /* A frame that claims 4 GiB. */
   uint8_t bad[] = { 0xff, 0xff, 0xff, 0xff, 1 };
   g_assert_cmpint(write(sv[1], bad, sizeof bad), ==, sizeof bad);
   SPIN_UNTIL(pr.closed);
   g_assert_cmpstr(pr.close_reason, ==, "protocol error: bad frame length");
   vmdb_pipe_free(p);
   g_free(pr.close_reason);
   close(sv[1]);

   /* A well-framed TXN before HELLO. */
   g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
   memset(&pr, 0, sizeof pr);
   p = vmdb_pipe_new(db, sv[0], true, "/test", NULL, NULL, &cb, &pr);
   GByteArray *b = g_byte_array_new();
   size_t st = vmdb_wire_txn_begin(b);
   vmdb_wire_txn_remove(b, "/test");
   vmdb_wire_txn_end(b, st, 1);
   g_assert_cmpint(write(sv[1], b->data, b->len), ==, (ssize_t)b->len);
   g_byte_array_free(b, TRUE);
   SPIN_UNTIL(pr.closed);
   g_assert_cmpstr(pr.close_reason, ==, "protocol error: first message is not HELLO");
   vmdb_pipe_free(p);
   g_free(pr.close_reason);
   close(sv[1]);
   vmdb_db_unref(db);
}

/* A pipe whose peer went away, found by vmdb_pipe_flush(): the owner
 * frees pipes from its closed callback, so the flush must not call it
 * (it, and the owner's loop over its pipes, still use the pipe); the
 * callback comes from the main loop afterwards. */
typedef struct flush_owner {
   vmdb_pipe *p;
   bool in_flush;
   bool told_in_flush;
   int told;
   char *reason;
} flush_owner;

static void
owner_closed(vmdb_pipe *p, const char *reason, void *user)
{
   flush_owner *o = user;
   g_assert_true(p == o->p);
   o->told++;
   o->told_in_flush |= o->in_flush;
   o->reason = g_strdup(reason);
   vmdb_pipe_free(p);   /* what the vmx does */
   o->p = NULL;
}

static void
test_close_during_flush(void)
{
   vmdb_db *db = new_db();
   vmdb_ctx *ctx = vmdb_ctx_new(db, 0);
   int sv[2];
   g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
   flush_owner o = { 0 };
   vmdb_pipe_callbacks cb = { .closed = owner_closed };
   o.p = vmdb_pipe_new(db, sv[0], true, "/test", NULL, NULL, &cb, &o);
   close(sv[1]);   /* the peer is gone */
   vmdb_set_int(ctx, "/test/int", 42);
   o.in_flush = true;
   g_assert_false(vmdb_pipe_flush(o.p, 100));
   o.in_flush = false;
   g_assert_cmpint(o.told, ==, 0);
   g_assert_nonnull(o.p);
   g_assert_true(vmdb_pipe_closed(o.p));
   g_assert_false(vmdb_pipe_flush(o.p, 100));   /* a second flush is harmless */
   SPIN_UNTIL(o.told == 1);
   g_assert_false(o.told_in_flush);
   g_assert_null(o.p);
   g_assert_nonnull(o.reason);
   g_assert_nonnull(strstr(o.reason, "write failed"));
   g_free(o.reason);

   /* Freed by its owner before the main loop ran: never told. */
   g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
   memset(&o, 0, sizeof o);
   o.p = vmdb_pipe_new(db, sv[0], true, "/test", NULL, NULL, &cb, &o);
   close(sv[1]);
   vmdb_set_int(ctx, "/test/int", 43);
   g_assert_false(vmdb_pipe_flush(o.p, 100));
   vmdb_pipe_free(o.p);
   for (int i = 0; i < 20; i++) {
      g_main_context_iteration(NULL, FALSE);
   }
   g_assert_cmpint(o.told, ==, 0);
   vmdb_ctx_free(ctx);
   vmdb_db_unref(db);
}

static void
test_socket_and_uid(void)
{
   char *dir = g_dir_make_tmp("vmdb-sock-XXXXXX", NULL);
   char *path = g_build_filename(dir, "s.sock", NULL);
   char *err = NULL;
   int lfd = vmdb_listen(path, &err);
   g_assert_cmpint(lfd, >=, 0);
   struct stat st;
   g_assert_cmpint(stat(path, &st), ==, 0);
   g_assert_cmpint(st.st_mode & 0777, ==, 0600);

   /* Same uid: accepted both ways. */
   int cfd = vmdb_connect(path, &err);
   g_assert_cmpint(cfd, >=, 0);
   int afd = vmdb_accept(lfd, &err);
   g_assert_cmpint(afd, >=, 0);
   close(cfd);
   close(afd);

   if (getuid() != 0) {
      g_test_message("not root: cannot test a connection from another uid");
   } else {
      /* Let another uid reach the socket, then check accept refuses it. */
      chmod(dir, 0755);
      chmod(path, 0666);
      pid_t pid = fork();
      if (pid == 0) {
         if (setgid(65534) < 0 || setuid(65534) < 0) {
            _exit(3);
         }
         char *e2 = NULL;
         int fd = vmdb_connect(path, &e2); /* our side refuses root's server */
         _exit(fd < 0 && e2 && strstr(e2, "refused a connection from uid 0") ? 0 : 4);
      }
      afd = vmdb_accept(lfd, &err);
      g_assert_cmpint(afd, ==, -1);
      g_assert_nonnull(strstr(err, "refused a connection from uid 65534"));
      g_free(err);
      err = NULL;
      int stt = 0;
      waitpid(pid, &stt, 0);
      g_assert_true(WIFEXITED(stt));
      g_assert_cmpint(WEXITSTATUS(stt), ==, 0);
   }
   close(lfd);
   unlink(path);
   rmdir(dir);
   g_free(path);
   g_free(dir);
}

int
main(int argc, char **argv)
{
   signal(SIGPIPE, SIG_IGN);
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/vmdb-pipe/sync-and-rules", test_sync_and_rules);
   g_test_add_func("/vmdb-pipe/txn-across-pipe", test_txn_across_pipe);
   g_test_add_func("/vmdb-pipe/protocol-error", test_protocol_error);
   g_test_add_func("/vmdb-pipe/socket-and-uid", test_socket_and_uid);
   g_test_add_func("/vmdb-pipe/close-during-flush", test_close_during_flush);
   g_test_add_func("/vmdb-pipe/two-process-10000-updates", test_two_process_ordering);
   return g_test_run();
}
