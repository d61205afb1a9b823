/*
 * tests/bench/vmdb/bench-vmdb.c - VMDB pipes against D-Bus property
 * signals, side by side, between two processes on one host.
 *
 * Two measurements, done the same way over both transports:
 *
 *   latency     process A publishes counter = n; process B is notified
 *               and publishes echo = n; A is notified. One sample is that
 *               round trip; one-way latency is reported as half of it.
 *               The first --warmup round trips are not sampled.
 *   throughput  A publishes a stream of --updates values as fast as it can
 *               (in batches of 64 per main-loop turn); B checks that every
 *               one arrives, in order, and reports the CLOCK_MONOTONIC time
 *               at which the last one arrived. A warm-up stream of --warmup
 *               values goes first.
 *
 * VMDB: A owns the store and serves /test over a vmdb_pipe on a socketpair;
 * B is the pipe's client. A writes /test/counter, B's context callback
 * writes /test/echo; the stream is /test/other/x (counted by B's journal
 * context), announced by /test/arr/#stream/size = the last value.
 *
 * D-Bus, the way a GNOME application would do it: the benchmark starts its
 * own dbus-daemon (session limits, temp socket) and kills it at the end.
 * A owns org.vmws.BenchA and exports /org/vmws/Bench with properties
 * Counter, StreamEnd and Stream; B owns org.vmws.BenchB with Echo and Done.
 * Each side subscribes to the other's org.freedesktop.DBus.Properties.
 * PropertiesChanged (sender, path and arg0 matched) and each change is one
 * PropertiesChanged signal, emitted at once (no idle coalescing).
 *
 * Output: a human table, then one "key=value" line per figure
 * (vmdb.rtt_p50_us=..., dbus.rtt_p50_us=..., ratio.latency_p50=...).
 * Ratios: latency is vmdb/dbus (below 1: VMDB is faster); throughput is
 * dbus-time/vmdb-time (above 1: VMDB is faster).
 *
 * Exit status: 0 done, 77 skipped (no usable dbus-daemon), 1 failed (lost
 * or reordered updates, a peer that died, a phase that timed out). Timing
 * figures never decide the exit status.
 */
#include "lib/vmdb/vmdb-pipe.h"

#include <gio/gio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SKIP 77
#define SEND_BATCH 64

typedef struct params {
   int warmup;
   int rounds;
   int updates;
   int phase_timeout_s;
} params;

static uint64_t
now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ================================================================ A side
 *
 * The driver is the same for both transports; a transport only knows how
 * to publish a value and calls back into the driver when B answers. */

typedef struct transport {
   const char *name;
   void (*send_counter)(void *t, int64_t n);
   void (*send_stream_end)(void *t, int64_t last);
   void (*send_stream)(void *t, int64_t v);
} transport;

typedef enum phase {
   PH_WAIT_PEER,
   PH_LATENCY,
   PH_STREAM_WARMUP,
   PH_STREAM,
   PH_DONE,
   PH_FAILED,
} phase;

static const char *const phase_names[] = {
   "waiting for the peer", "latency", "warm-up stream", "stream", "done", "failed",
};

typedef struct result {
   bool ok;
   int samples;
   double rtt_p50_us, rtt_p99_us, rtt_mean_us, rtt_min_us, rtt_max_us;
   int updates;
   double stream_s;
   double updates_per_s;
} result;

typedef struct driver {
   const params *prm;
   const transport *tr;
   void *t;
   GMainContext *mc;
   GMainLoop *loop;
   phase ph;
   char *error;
   /* latency */
   int64_t counter;
   int trips;
   uint64_t t_sent;
   uint64_t *rtt;
   int n_rtt;
   /* streams */
   int64_t stream_next, stream_last;
   uint64_t t_stream_start;
   GSource *sender;
   uint64_t stream_ns;
   GSource *watchdog;
} driver;

static void
driver_fail(driver *d, char *msg)
{
   if (d->ph != PH_FAILED) {
      d->error = msg;
      d->ph = PH_FAILED;
   } else {
      g_free(msg);
   }
   g_main_loop_quit(d->loop);
}

static gboolean
driver_watchdog(gpointer data)
{
   driver *d = data;
   driver_fail(d, g_strdup_printf("%s: timed out after %d s in phase '%s' (%d round trips, "
                                  "stream at %lld of %lld)",
                                  d->tr->name, d->prm->phase_timeout_s, phase_names[d->ph],
                                  d->trips, (long long)d->stream_next - 1,
                                  (long long)d->stream_last));
   d->watchdog = NULL;
   return G_SOURCE_REMOVE;
}

/* Each phase gets its own time limit. */
static void
driver_arm_watchdog(driver *d)
{
   if (d->watchdog) {
      g_source_destroy(d->watchdog);
      g_source_unref(d->watchdog);
   }
   d->watchdog = g_timeout_source_new_seconds((guint)d->prm->phase_timeout_s);
   g_source_set_callback(d->watchdog, driver_watchdog, d, NULL);
   g_source_attach(d->watchdog, d->mc);
}

static void
driver_ping(driver *d)
{
   d->counter++;
   d->t_sent = now_ns();
   d->tr->send_counter(d->t, d->counter);
}

static gboolean
driver_send_batch(gpointer data)
{
   driver *d = data;
   for (int k = 0; k < SEND_BATCH && d->stream_next <= d->stream_last; k++) {
      d->tr->send_stream(d->t, d->stream_next++);
   }
   if (d->stream_next <= d->stream_last) {
      return G_SOURCE_CONTINUE;
   }
   g_source_unref(d->sender);
   d->sender = NULL;
   return G_SOURCE_REMOVE;
}

static void
driver_start_stream(driver *d, phase ph, int count)
{
   d->ph = ph;
   driver_arm_watchdog(d);
   d->stream_last = d->stream_next + count - 1;
   d->t_stream_start = now_ns();
   d->tr->send_stream_end(d->t, d->stream_last);
   d->sender = g_idle_source_new();
   g_source_set_callback(d->sender, driver_send_batch, d, NULL);
   g_source_attach(d->sender, d->mc);
}

/* The transport saw B come up. */
static void
driver_peer_ready(driver *d)
{
   if (d->ph != PH_WAIT_PEER) {
      return;
   }
   d->ph = PH_LATENCY;
   driver_arm_watchdog(d);
   driver_ping(d);
}

/* B echoed n. */
static void
driver_echo(driver *d, int64_t n)
{
   uint64_t t = now_ns();
   if (d->ph != PH_LATENCY) {
      return;
   }
   if (n != d->counter) {
      driver_fail(d, g_strdup_printf("%s: sent counter %lld, got echo %lld", d->tr->name,
                                     (long long)d->counter, (long long)n));
      return;
   }
   if (d->trips >= d->prm->warmup) {
      d->rtt[d->n_rtt++] = t - d->t_sent;
   }
   d->trips++;
   if (d->trips < d->prm->warmup + d->prm->rounds) {
      driver_ping(d);
      return;
   }
   d->stream_next = 1;
   driver_start_stream(d, PH_STREAM_WARMUP, d->prm->warmup > 0 ? d->prm->warmup : 1);
}

/* B received the last value of the current stream at arrival (CLOCK_MONOTONIC
 * ns, the same clock on both sides of one host). */
static void
driver_stream_done(driver *d, int64_t arrival)
{
   if (d->ph == PH_STREAM_WARMUP) {
      driver_start_stream(d, PH_STREAM, d->prm->updates);
   } else if (d->ph == PH_STREAM) {
      d->stream_ns = (uint64_t)arrival - d->t_stream_start;
      d->ph = PH_DONE;
      g_main_loop_quit(d->loop);
   }
}

static void
driver_init(driver *d, const params *prm, const transport *tr, void *t, GMainContext *mc)
{
   memset(d, 0, sizeof *d);
   d->prm = prm;
   d->tr = tr;
   d->t = t;
   d->mc = mc;
   d->loop = g_main_loop_new(mc, FALSE);
   d->rtt = g_new0(uint64_t, prm->rounds > 0 ? prm->rounds : 1);
   d->ph = PH_WAIT_PEER;
   driver_arm_watchdog(d);
}

static int
u64_cmp(const void *a, const void *b)
{
   uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
   return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double
percentile_us(const uint64_t *v, int n, double pct)
{
   if (n <= 0) {
      return 0;
   }
   int rank = (int)((pct / 100.0) * n + 0.999999);
   if (rank < 1) {
      rank = 1;
   }
   if (rank > n) {
      rank = n;
   }
   return (double)v[rank - 1] / 1000.0;
}

static void
driver_finish(driver *d, result *r)
{
   memset(r, 0, sizeof *r);
   r->ok = d->ph == PH_DONE;
   qsort(d->rtt, (size_t)d->n_rtt, sizeof *d->rtt, u64_cmp);
   r->samples = d->n_rtt;
   if (d->n_rtt > 0) {
      double sum = 0;
      for (int i = 0; i < d->n_rtt; i++) {
         sum += (double)d->rtt[i];
      }
      r->rtt_mean_us = sum / d->n_rtt / 1000.0;
      r->rtt_min_us = (double)d->rtt[0] / 1000.0;
      r->rtt_max_us = (double)d->rtt[d->n_rtt - 1] / 1000.0;
      r->rtt_p50_us = percentile_us(d->rtt, d->n_rtt, 50);
      r->rtt_p99_us = percentile_us(d->rtt, d->n_rtt, 99);
   }
   r->updates = d->prm->updates;
   r->stream_s = (double)d->stream_ns / 1e9;
   r->updates_per_s = d->stream_ns ? d->prm->updates / r->stream_s : 0;
   if (d->sender) {
      g_source_destroy(d->sender);
      g_source_unref(d->sender);
   }
   if (d->watchdog) {
      g_source_destroy(d->watchdog);
      g_source_unref(d->watchdog);
   }
   g_free(d->rtt);
   g_main_loop_unref(d->loop);
}

/* ================================================================ B side
 *
 * Also shared: echo every counter, count every stream value, and say when
 * the announced last value has arrived. The announcement (StreamEnd) and
 * the values may reach B through different callbacks in either order, so
 * "done" is checked on both. */

typedef struct peer {
   GMainLoop *loop;
   int64_t last_v;       /* last stream value seen */
   int64_t end;          /* announced last value */
   int64_t reported;     /* end already reported */
   uint64_t received;
   bool bad;
   char why[256];
   void (*report_done)(struct peer *pe, int64_t arrival);
} peer;

static void
peer_fail(peer *pe, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
peer_fail(peer *pe, const char *fmt, ...)
{
   if (!pe->bad) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(pe->why, sizeof pe->why, fmt, ap);
      va_end(ap);
      pe->bad = true;
   }
   g_main_loop_quit(pe->loop);
}

static void
peer_check_done(peer *pe)
{
   if (pe->end > pe->reported && pe->last_v == pe->end) {
      pe->reported = pe->end;
      pe->report_done(pe, (int64_t)now_ns());
   }
}

static void
peer_stream_value(peer *pe, int64_t v)
{
   if (v != pe->last_v + 1) {
      peer_fail(pe, "stream value %lld after %lld: an update was lost or reordered", (long long)v,
                (long long)pe->last_v);
      return;
   }
   pe->last_v = v;
   pe->received++;
   peer_check_done(pe);
}

static void
peer_stream_end(peer *pe, int64_t end)
{
   pe->end = end;
   peer_check_done(pe);
}

static int
peer_exit_status(peer *pe, const char *name)
{
   if (pe->bad) {
      fprintf(stderr, "bench-vmdb: %s peer: %s\n", name, pe->why);
      return 1;
   }
   return 0;
}

/* ================================================================ VMDB */

#define P_COUNTER "/test/counter"
#define P_ECHO "/test/echo"
#define P_READY_DONE "/test/int"    /* B: 0 when synced, then arrival times */
#define P_STREAM "/test/other/x"
#define P_STREAM_END "/test/arr/#stream/size"

static vmdb_db *
new_db(void)
{
   vmdb_schema *s = vmdb_schema_builtin();
   vmdb_db *db = vmdb_db_new(s);
   vmdb_schema_unref(s);
   return db;
}

typedef struct vmdb_a {
   driver d;
   vmdb_ctx *ctx;
   vmdb_pipe *pipe;
} vmdb_a;

static void
vmdb_a_set(vmdb_a *a, const char *path, int64_t v)
{
   if (vmdb_set_int(a->ctx, path, v) < 0) {
      driver_fail(&a->d, g_strdup_printf("vmdb: %s", vmdb_ctx_error(a->ctx)));
   }
}

static void
vmdb_send_counter(void *t, int64_t n)
{
   vmdb_a_set(t, P_COUNTER, n);
}

static void
vmdb_send_stream_end(void *t, int64_t last)
{
   vmdb_a_set(t, P_STREAM_END, last);
}

static void
vmdb_send_stream(void *t, int64_t v)
{
   vmdb_a_set(t, P_STREAM, v);
}

static const transport vmdb_transport = {
   "vmdb", vmdb_send_counter, vmdb_send_stream_end, vmdb_send_stream,
};

static void
vmdb_a_on_echo(vmdb_ctx *ctx, const vmdb_change *ch, size_t n, void *user)
{
   vmdb_a *a = user;
   for (size_t i = 0; i < n; i++) {
      if (!ch[i].removed && ch[i].value.type == VMDB_TYPE_INT) {
         driver_echo(&a->d, ch[i].value.i);
      }
   }
}

static void
vmdb_a_on_int(vmdb_ctx *ctx, const vmdb_change *ch, size_t n, void *user)
{
   vmdb_a *a = user;
   for (size_t i = 0; i < n; i++) {
      if (ch[i].removed || ch[i].value.type != VMDB_TYPE_INT) {
         continue;
      }
      if (ch[i].value.i == 0) {
         driver_peer_ready(&a->d);
      } else {
         driver_stream_done(&a->d, ch[i].value.i);
      }
   }
}

static void
vmdb_a_closed(vmdb_pipe *p, const char *reason, void *user)
{
   vmdb_a *a = user;
   driver_fail(&a->d, g_strdup_printf("vmdb: pipe closed by the peer%s%s",
                                      reason ? ": " : "", reason ? reason : ""));
}

typedef struct vmdb_b {
   peer pe;
   vmdb_ctx *ctx;    /* default mode: echo and stream end */
   vmdb_ctx *jctx;   /* journal mode: every stream value */
} vmdb_b;

static void
vmdb_b_report_done(peer *pe, int64_t arrival)
{
   vmdb_b *b = (vmdb_b *)pe;
   if (vmdb_set_int(b->ctx, P_READY_DONE, arrival) < 0) {
      peer_fail(pe, "%s", vmdb_ctx_error(b->ctx));
   }
}

static void
vmdb_b_on_counter(vmdb_ctx *ctx, const vmdb_change *ch, size_t n, void *user)
{
   vmdb_b *b = user;
   for (size_t i = 0; i < n; i++) {
      if (!ch[i].removed && ch[i].value.type == VMDB_TYPE_INT &&
          vmdb_set_int(ctx, P_ECHO, ch[i].value.i) < 0) {
         peer_fail(&b->pe, "%s", vmdb_ctx_error(ctx));
      }
   }
}

static void
vmdb_b_on_stream_end(vmdb_ctx *ctx, const vmdb_change *ch, size_t n, void *user)
{
   vmdb_b *b = user;
   for (size_t i = 0; i < n; i++) {
      if (!ch[i].removed && ch[i].value.type == VMDB_TYPE_INT &&
          strcmp(ch[i].path, P_STREAM_END) == 0) {
         peer_stream_end(&b->pe, ch[i].value.i);
      }
   }
}

static void
vmdb_b_on_stream(vmdb_ctx *ctx, const vmdb_change *ch, size_t n, void *user)
{
   vmdb_b *b = user;
   for (size_t i = 0; i < n && !b->pe.bad; i++) {
      if (!ch[i].removed && ch[i].value.type == VMDB_TYPE_INT) {
         peer_stream_value(&b->pe, ch[i].value.i);
      }
   }
}

static void
vmdb_b_synced(vmdb_pipe *p, void *user)
{
   vmdb_b *b = user;
   vmdb_set_int(b->ctx, P_READY_DONE, 0);
}

static void
vmdb_b_closed(vmdb_pipe *p, const char *reason, void *user)
{
   vmdb_b *b = user;
   if (reason) {
      peer_fail(&b->pe, "pipe closed: %s", reason);
   }
   g_main_loop_quit(b->pe.loop);
}

static int
vmdb_peer_main(int fd)
{
   GMainContext *mc = g_main_context_new();
   g_main_context_push_thread_default(mc);
   vmdb_db *db = new_db();
   vmdb_b b = { 0 };
   b.pe.loop = g_main_loop_new(mc, FALSE);
   b.pe.report_done = vmdb_b_report_done;
   b.ctx = vmdb_ctx_new(db, VMDB_CTX_DEFAULT);
   b.jctx = vmdb_ctx_new(db, VMDB_CTX_JOURNAL);
   vmdb_subscribe(b.ctx, P_COUNTER, vmdb_b_on_counter, &b);
   vmdb_subscribe(b.ctx, "/test/arr", vmdb_b_on_stream_end, &b);
   vmdb_subscribe(b.jctx, P_STREAM, vmdb_b_on_stream, &b);
   vmdb_ctx_attach(b.ctx, mc);
   vmdb_ctx_attach(b.jctx, mc);
   vmdb_pipe_callbacks cb = { .synced = vmdb_b_synced, .closed = vmdb_b_closed };
   vmdb_pipe *p = vmdb_pipe_new(db, fd, false, "/test", NULL, mc, &cb, &b);
   g_main_loop_run(b.pe.loop); /* until A closes the pipe */
   vmdb_pipe_free(p);
   vmdb_ctx_free(b.ctx);
   vmdb_ctx_free(b.jctx);
   vmdb_db_unref(db);
   g_main_loop_unref(b.pe.loop);
   g_main_context_pop_thread_default(mc);
   g_main_context_unref(mc);
   return peer_exit_status(&b.pe, "vmdb");
}

/* ================================================================ processes */

/* Wait for a child up to timeout_ms, then kill it. Returns its exit code,
 * or -1 if it had to be killed or died of a signal. */
static int
reap(pid_t pid, int timeout_ms)
{
   int st = 0;
   for (int waited = 0;; waited += 10) {
      pid_t r = waitpid(pid, &st, WNOHANG);
      if (r == pid) {
         break;
      }
      if (r < 0 && errno != EINTR) {
         return -1;
      }
      if (waited >= timeout_ms) {
         kill(pid, SIGKILL);
         waitpid(pid, &st, 0);
         return -1;
      }
      g_usleep(10000);
   }
   return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* fork() with the child tied to our life; stdout flushed first so nothing
 * buffered is printed twice. */
static pid_t
fork_peer(void)
{
   fflush(stdout);
   fflush(stderr);
   pid_t parent = getpid();
   pid_t pid = fork();
   if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) {
         _exit(1);
      }
   }
   return pid;
}

static bool
run_vmdb(const params *prm, result *res, char **err)
{
   int sv[2];
   if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
      *err = g_strdup_printf("socketpair: %s", g_strerror(errno));
      return false;
   }
   pid_t pid = fork_peer();
   if (pid < 0) {
      *err = g_strdup_printf("fork: %s", g_strerror(errno));
      return false;
   }
   if (pid == 0) {
      close(sv[0]);
      _exit(vmdb_peer_main(sv[1]));
   }
   close(sv[1]);

   GMainContext *mc = g_main_context_new();
   g_main_context_push_thread_default(mc);
   vmdb_db *db = new_db();
   vmdb_a a;
   driver_init(&a.d, prm, &vmdb_transport, &a, mc);
   a.ctx = vmdb_ctx_new(db, VMDB_CTX_DEFAULT);
   vmdb_subscribe(a.ctx, P_ECHO, vmdb_a_on_echo, &a);
   vmdb_subscribe(a.ctx, P_READY_DONE, vmdb_a_on_int, &a);
   vmdb_ctx_attach(a.ctx, mc);
   static const char *const peer_writable[] = { P_ECHO, P_READY_DONE, NULL };
   vmdb_pipe_callbacks cb = { .closed = vmdb_a_closed };
   a.pipe = vmdb_pipe_new(db, sv[0], true, "/test", peer_writable, mc, &cb, &a);

   g_main_loop_run(a.d.loop);

   bool ok = a.d.ph == PH_DONE;
   if (!ok) {
      *err = g_strdup(a.d.error);
   }
   g_free(a.d.error);
   driver_finish(&a.d, res);
   vmdb_pipe_free(a.pipe); /* B sees the close and exits */
   vmdb_ctx_free(a.ctx);
   vmdb_db_unref(db);
   g_main_context_pop_thread_default(mc);
   g_main_context_unref(mc);

   int code = reap(pid, 10000);
   if (code != 0 && ok) {
      *err = g_strdup_printf("vmdb peer process exited with status %d", code);
      ok = false;
   }
   res->ok = ok;
   return ok;
}

/* ================================================================ D-Bus */

#define BUS_PATH "/org/vmws/Bench"
#define BUS_A "org.vmws.BenchA"
#define BUS_B "org.vmws.BenchB"
#define PROPS_IFACE "org.freedesktop.DBus.Properties"

static const char introspection_xml[] =
   "<node>"
   "  <interface name='" BUS_A "'>"
   "    <property name='Counter' type='x' access='read'/>"
   "    <property name='StreamEnd' type='x' access='read'/>"
   "    <property name='Stream' type='x' access='read'/>"
   "  </interface>"
   "  <interface name='" BUS_B "'>"
   "    <property name='Echo' type='x' access='read'/>"
   "    <property name='Done' type='x' access='read'/>"
   "  </interface>"
   "</node>";

/* One exported object: its properties and connection. */
typedef struct bus_obj {
   GDBusConnection *conn;
   const char *iface;
   int64_t values[3];
   const char *const *names;
   GDBusNodeInfo *info;
   guint reg_id;
   guint sub_id;
   guint own_id;
   guint watch_id;
} bus_obj;

static const char *const a_props[] = { "Counter", "StreamEnd", "Stream", NULL };
static const char *const b_props[] = { "Echo", "Done", NULL };

static GVariant *
bus_get_property(GDBusConnection *c, const char *sender, const char *path, const char *iface,
                 const char *prop, GError **error, gpointer user)
{
   bus_obj *o = user;
   for (int i = 0; o->names[i]; i++) {
      if (strcmp(o->names[i], prop) == 0) {
         return g_variant_new_int64(o->values[i]);
      }
   }
   g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "no property %s", prop);
   return NULL;
}

static const GDBusInterfaceVTable bus_vtable = { NULL, bus_get_property, NULL, { 0 } };

/* Set property idx and tell everyone, as a GObject property binding would. */
static bool
bus_set(bus_obj *o, int idx, int64_t v, GError **error)
{
   o->values[idx] = v;
   GVariantBuilder b;
   g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
   g_variant_builder_add(&b, "{sv}", o->names[idx], g_variant_new_int64(v));
   return g_dbus_connection_emit_signal(o->conn, NULL, BUS_PATH, PROPS_IFACE, "PropertiesChanged",
                                        g_variant_new("(s@a{sv}@as)", o->iface,
                                                      g_variant_builder_end(&b),
                                                      g_variant_new_strv(NULL, 0)),
                                        error);
}

static GDBusConnection *
bus_connect(const char *address, GError **error)
{
   return g_dbus_connection_new_for_address_sync(
      address,
      G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
         G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
      NULL, NULL, error);
}

static bool
bus_export(bus_obj *o, GDBusConnection *conn, const char *iface, const char *const *names,
           GError **error)
{
   o->conn = conn;
   o->iface = iface;
   o->names = names;
   o->info = g_dbus_node_info_new_for_xml(introspection_xml, error);
   if (!o->info) {
      return false;
   }
   GDBusInterfaceInfo *ii = g_dbus_node_info_lookup_interface(o->info, iface);
   o->reg_id = g_dbus_connection_register_object(conn, BUS_PATH, ii, &bus_vtable, o, NULL, error);
   return o->reg_id != 0;
}

static void
bus_unexport(bus_obj *o)
{
   if (o->watch_id) {
      g_bus_unwatch_name(o->watch_id);
   }
   if (o->own_id) {
      g_bus_unown_name(o->own_id);
   }
   if (o->sub_id) {
      g_dbus_connection_signal_unsubscribe(o->conn, o->sub_id);
   }
   if (o->reg_id) {
      g_dbus_connection_unregister_object(o->conn, o->reg_id);
   }
   if (o->info) {
      g_dbus_node_info_unref(o->info);
   }
}

/* Subscribe to PropertiesChanged of the peer's interface, as GDBusProxy does. */
static void
bus_subscribe(bus_obj *o, const char *peer_name, GDBusSignalCallback cb, gpointer user)
{
   o->sub_id = g_dbus_connection_signal_subscribe(o->conn, peer_name, PROPS_IFACE,
                                                  "PropertiesChanged", BUS_PATH, peer_name,
                                                  G_DBUS_SIGNAL_FLAGS_NONE, cb, user, NULL);
}

/* ---- A */

typedef struct bus_a {
   driver d;
   bus_obj o;
   bool own_name, peer_up;
} bus_a;

static void
bus_a_set(bus_a *a, int idx, int64_t v)
{
   GError *e = NULL;
   if (!bus_set(&a->o, idx, v, &e)) {
      driver_fail(&a->d, g_strdup_printf("dbus: emit: %s", e->message));
      g_error_free(e);
   }
}

static void
bus_send_counter(void *t, int64_t n)
{
   bus_a_set(t, 0, n);
}

static void
bus_send_stream_end(void *t, int64_t last)
{
   bus_a_set(t, 1, last);
}

static void
bus_send_stream(void *t, int64_t v)
{
   bus_a_set(t, 2, v);
}

static const transport bus_transport = {
   "dbus", bus_send_counter, bus_send_stream_end, bus_send_stream,
};

static void
bus_a_on_changed(GDBusConnection *c, const char *sender, const char *path, const char *iface,
                 const char *signal, GVariant *params_v, gpointer user)
{
   bus_a *a = user;
   GVariant *changed = NULL;
   if (!g_variant_is_of_type(params_v, G_VARIANT_TYPE("(sa{sv}as)"))) {
      return;
   }
   g_variant_get(params_v, "(&s@a{sv}@as)", NULL, &changed, NULL);
   gint64 v;
   if (g_variant_lookup(changed, "Echo", "x", &v)) {
      driver_echo(&a->d, v);
   }
   if (g_variant_lookup(changed, "Done", "x", &v)) {
      driver_stream_done(&a->d, v);
   }
   g_variant_unref(changed);
}

static void
bus_a_maybe_ready(bus_a *a)
{
   if (a->own_name && a->peer_up) {
      driver_peer_ready(&a->d);
   }
}

static void
bus_a_name_acquired(GDBusConnection *c, const char *name, gpointer user)
{
   bus_a *a = user;
   a->own_name = true;
   bus_a_maybe_ready(a);
}

static void
bus_a_name_lost(GDBusConnection *c, const char *name, gpointer user)
{
   bus_a *a = user;
   driver_fail(&a->d, g_strdup_printf("dbus: could not own %s", name));
}

static void
bus_a_peer_appeared(GDBusConnection *c, const char *name, const char *owner, gpointer user)
{
   bus_a *a = user;
   a->peer_up = true;
   bus_a_maybe_ready(a);
}

static void
bus_a_peer_vanished(GDBusConnection *c, const char *name, gpointer user)
{
   bus_a *a = user;
   if (a->peer_up) {
      driver_fail(&a->d, g_strdup_printf("dbus: the peer (%s) left the bus", name));
   }
}

/* ---- B */

typedef struct bus_b {
   peer pe;
   bus_obj o;
   bool seen_a;
} bus_b;

static void
bus_b_set(bus_b *b, int idx, int64_t v)
{
   GError *e = NULL;
   if (!bus_set(&b->o, idx, v, &e)) {
      peer_fail(&b->pe, "emit: %s", e->message);
      g_error_free(e);
   }
}

static void
bus_b_report_done(peer *pe, int64_t arrival)
{
   bus_b_set((bus_b *)pe, 1, arrival);
}

static void
bus_b_on_changed(GDBusConnection *c, const char *sender, const char *path, const char *iface,
                 const char *signal, GVariant *params_v, gpointer user)
{
   bus_b *b = user;
   GVariant *changed = NULL;
   if (!g_variant_is_of_type(params_v, G_VARIANT_TYPE("(sa{sv}as)"))) {
      return;
   }
   g_variant_get(params_v, "(&s@a{sv}@as)", NULL, &changed, NULL);
   gint64 v;
   if (g_variant_lookup(changed, "Counter", "x", &v)) {
      bus_b_set(b, 0, v);
   }
   if (g_variant_lookup(changed, "StreamEnd", "x", &v)) {
      peer_stream_end(&b->pe, v);
   }
   if (g_variant_lookup(changed, "Stream", "x", &v)) {
      peer_stream_value(&b->pe, v);
   }
   g_variant_unref(changed);
}

static void
bus_b_a_appeared(GDBusConnection *c, const char *name, const char *owner, gpointer user)
{
   ((bus_b *)user)->seen_a = true;
}

static void
bus_b_a_vanished(GDBusConnection *c, const char *name, gpointer user)
{
   bus_b *b = user;
   if (b->seen_a) {
      g_main_loop_quit(b->pe.loop); /* A is done */
   }
}

static void
bus_b_name_lost(GDBusConnection *c, const char *name, gpointer user)
{
   bus_b *b = user;
   peer_fail(&b->pe, "could not own %s", name);
}

static void
bus_b_conn_closed(GDBusConnection *c, gboolean remote, GError *error, gpointer user)
{
   bus_b *b = user;
   g_main_loop_quit(b->pe.loop);
}

static int
bus_peer_main(const char *address)
{
   GMainContext *mc = g_main_context_new();
   g_main_context_push_thread_default(mc);
   bus_b b = { 0 };
   b.pe.loop = g_main_loop_new(mc, FALSE);
   b.pe.report_done = bus_b_report_done;
   GError *e = NULL;
   GDBusConnection *conn = bus_connect(address, &e);
   if (!conn) {
      fprintf(stderr, "bench-vmdb: dbus peer: cannot connect to %s: %s\n", address, e->message);
      return 1;
   }
   g_dbus_connection_set_exit_on_close(conn, FALSE);
   g_signal_connect(conn, "closed", G_CALLBACK(bus_b_conn_closed), &b);
   if (!bus_export(&b.o, conn, BUS_B, b_props, &e)) {
      fprintf(stderr, "bench-vmdb: dbus peer: %s\n", e->message);
      return 1;
   }
   /* Subscribe first, then take the name A waits for. */
   bus_subscribe(&b.o, BUS_A, bus_b_on_changed, &b);
   b.o.watch_id = g_bus_watch_name_on_connection(conn, BUS_A, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                 bus_b_a_appeared, bus_b_a_vanished, &b, NULL);
   b.o.own_id = g_bus_own_name_on_connection(conn, BUS_B, G_BUS_NAME_OWNER_FLAGS_NONE, NULL,
                                             bus_b_name_lost, &b, NULL);
   g_main_loop_run(b.pe.loop);
   bus_unexport(&b.o);
   g_dbus_connection_flush_sync(conn, NULL, NULL);
   g_object_unref(conn);
   g_main_loop_unref(b.pe.loop);
   g_main_context_pop_thread_default(mc);
   g_main_context_unref(mc);
   return peer_exit_status(&b.pe, "dbus");
}

static bool
run_dbus(const params *prm, const char *address, result *res, char **err)
{
   /* Fork before this process makes any thread (GDBus starts one). */
   pid_t pid = fork_peer();
   if (pid < 0) {
      *err = g_strdup_printf("fork: %s", g_strerror(errno));
      return false;
   }
   if (pid == 0) {
      _exit(bus_peer_main(address));
   }

   GMainContext *mc = g_main_context_new();
   g_main_context_push_thread_default(mc);
   bus_a a = { 0 };
   driver_init(&a.d, prm, &bus_transport, &a, mc);
   GError *e = NULL;
   GDBusConnection *conn = bus_connect(address, &e);
   bool ok = false;
   if (!conn) {
      *err = g_strdup_printf("dbus: cannot connect to %s: %s", address, e->message);
      g_error_free(e);
   } else if (!bus_export(&a.o, conn, BUS_A, a_props, &e)) {
      *err = g_strdup_printf("dbus: %s", e->message);
      g_error_free(e);
   } else {
      g_dbus_connection_set_exit_on_close(conn, FALSE);
      bus_subscribe(&a.o, BUS_B, bus_a_on_changed, &a);
      a.o.own_id = g_bus_own_name_on_connection(conn, BUS_A, G_BUS_NAME_OWNER_FLAGS_NONE,
                                                bus_a_name_acquired, bus_a_name_lost, &a, NULL);
      a.o.watch_id = g_bus_watch_name_on_connection(conn, BUS_B, G_BUS_NAME_WATCHER_FLAGS_NONE,
                                                    bus_a_peer_appeared, bus_a_peer_vanished,
                                                    &a, NULL);
      g_main_loop_run(a.d.loop);
      ok = a.d.ph == PH_DONE;
      if (!ok) {
         *err = g_strdup(a.d.error);
      }
   }
   g_free(a.d.error);
   driver_finish(&a.d, res);
   if (conn) {
      bus_unexport(&a.o); /* B sees our name go and exits */
      g_dbus_connection_flush_sync(conn, NULL, NULL);
   }
   int code = reap(pid, 10000);
   if (conn) {
      g_dbus_connection_close_sync(conn, NULL, NULL);
      g_object_unref(conn);
   }
   g_main_context_pop_thread_default(mc);
   g_main_context_unref(mc);
   if (code != 0 && ok) {
      *err = g_strdup_printf("dbus peer process exited with status %d", code);
      ok = false;
   }
   res->ok = ok;
   return ok;
}

/* ---- the private bus */

static pid_t daemon_pid = -1;
static char *daemon_dir;

static const char bus_config_head[] =
   "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
   " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
   "<busconfig>\n"
   "  <type>session</type>\n"
   "  <keep_umask/>\n"
   "  <listen>unix:path=";
static const char bus_config_tail[] =
   "</listen>\n"
   "  <auth>EXTERNAL</auth>\n"
   "  <policy context=\"default\">\n"
   "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
   "    <allow eavesdrop=\"true\"/>\n"
   "    <allow own=\"*\"/>\n"
   "  </policy>\n"
   "  <!-- the limits of a desktop session bus (session.conf) -->\n"
   "  <limit name=\"max_incoming_bytes\">1000000000</limit>\n"
   "  <limit name=\"max_outgoing_bytes\">1000000000</limit>\n"
   "  <limit name=\"max_message_size\">1000000000</limit>\n"
   "  <limit name=\"max_completed_connections\">100000</limit>\n"
   "  <limit name=\"max_incomplete_connections\">10000</limit>\n"
   "  <limit name=\"max_connections_per_user\">100000</limit>\n"
   "  <limit name=\"max_names_per_connection\">50000</limit>\n"
   "  <limit name=\"max_match_rules_per_connection\">50000</limit>\n"
   "  <limit name=\"max_replies_per_connection\">50000</limit>\n"
   "</busconfig>\n";

static void
stop_dbus_daemon(void)
{
   if (daemon_pid > 0) {
      kill(daemon_pid, SIGTERM);
      reap(daemon_pid, 5000); /* SIGKILL after 5 s */
      daemon_pid = -1;
   }
   if (daemon_dir) {
      char *conf = g_build_filename(daemon_dir, "bus.conf", NULL);
      char *sock = g_build_filename(daemon_dir, "bus", NULL);
      char *log = g_build_filename(daemon_dir, "daemon.log", NULL);
      unlink(conf);
      unlink(sock);
      unlink(log);
      g_free(log);
      rmdir(daemon_dir);
      g_free(conf);
      g_free(sock);
      g_free(daemon_dir);
      daemon_dir = NULL;
   }
}

/* Start dbus-daemon on a socket in a fresh temp dir; *address gets the
 * address it prints. */
static bool
start_dbus_daemon(const char *exe, char **address, char **why)
{
   GError *e = NULL;
   daemon_dir = g_dir_make_tmp("vmws-bench-dbus-XXXXXX", &e);
   if (!daemon_dir) {
      *why = g_strdup_printf("cannot make a temp dir: %s", e->message);
      g_error_free(e);
      return false;
   }
   char *sock = g_build_filename(daemon_dir, "bus", NULL);
   char *conf_path = g_build_filename(daemon_dir, "bus.conf", NULL);
   char *conf = g_strconcat(bus_config_head, sock, bus_config_tail, NULL);
   bool wrote = g_file_set_contents(conf_path, conf, -1, &e);
   g_free(conf);
   g_free(sock);
   if (!wrote) {
      *why = g_strdup_printf("cannot write %s: %s", conf_path, e->message);
      g_error_free(e);
      g_free(conf_path);
      return false;
   }
   int pfd[2];
   if (pipe2(pfd, O_CLOEXEC) < 0) {
      *why = g_strdup_printf("pipe: %s", g_strerror(errno));
      g_free(conf_path);
      return false;
   }
   char *conf_arg = g_strdup_printf("--config-file=%s", conf_path);
   char *log_path = g_build_filename(daemon_dir, "daemon.log", NULL);
   g_free(conf_path);
   fflush(stdout);
   fflush(stderr);
   pid_t pid = fork();
   if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      int afd = dup(pfd[1]); /* without O_CLOEXEC */
      /* Its own chatter (e.g. "Failed to set fd limit") goes to a log
       * that is shown only if it fails to start. */
      int nul = open("/dev/null", O_RDWR);
      int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (nul >= 0) {
         dup2(nul, STDIN_FILENO);
         dup2(nul, STDOUT_FILENO);
      }
      if (log >= 0) {
         dup2(log, STDERR_FILENO);
      }
      char addr_arg[64];
      snprintf(addr_arg, sizeof addr_arg, "--print-address=%d", afd);
      execl(exe, exe, conf_arg, "--nofork", "--nopidfile", addr_arg, (char *)NULL);
      _exit(127);
   }
   g_free(conf_arg);
   close(pfd[1]);
   if (pid < 0) {
      *why = g_strdup_printf("fork: %s", g_strerror(errno));
      close(pfd[0]);
      g_free(log_path);
      return false;
   }
   daemon_pid = pid;

   char buf[512];
   size_t len = 0;
   uint64_t deadline = now_ns() + 10 * 1000000000ull;
   while (len < sizeof buf - 1 && !memchr(buf, '\n', len)) {
      int left_ms = (int)(((int64_t)(deadline - now_ns())) / 1000000);
      struct pollfd p = { .fd = pfd[0], .events = POLLIN };
      if (left_ms <= 0 || poll(&p, 1, left_ms) == 0) {
         *why = g_strdup("dbus-daemon did not print its address within 10 s");
         break;
      }
      ssize_t n = read(pfd[0], buf + len, sizeof buf - 1 - len);
      if (n < 0 && errno == EINTR) {
         continue;
      }
      if (n <= 0) {
         int code = reap(pid, 1000);
         daemon_pid = -1;
         *why = g_strdup_printf("dbus-daemon exited (status %d) before printing its address",
                                code);
         break;
      }
      len += (size_t)n;
   }
   close(pfd[0]);
   buf[len] = '\0';
   char *nl = strchr(buf, '\n');
   if (!nl) {
      char *log = NULL;
      if (!*why) {
         *why = g_strdup("dbus-daemon printed no address");
      }
      if (g_file_get_contents(log_path, &log, NULL, NULL) && *g_strstrip(log)) {
         char *w = g_strdup_printf("%s; its log says: %s", *why, log);
         g_free(*why);
         *why = w;
      }
      g_free(log);
      g_free(log_path);
      return false;
   }
   *nl = '\0';
   *address = g_strdup(buf);
   g_free(log_path);
   return true;
}

/* ================================================================ main */

/* ratio < 0: no ratio column. */
static void
print_row(const char *label, double v, double d, double ratio, const char *unit)
{
   char r[32] = "";
   if (ratio >= 0) {
      snprintf(r, sizeof r, "%.3f%s", ratio, unit);
   }
   printf("  %-26s %12.2f %12.2f %10s\n", label, v, d, r);
}

static double
safe_div(double a, double b)
{
   return b != 0 ? a / b : 0;
}

static void
print_kv(const char *name, const result *r)
{
   printf("%s.rtt_p50_us=%.2f\n", name, r->rtt_p50_us);
   printf("%s.rtt_p99_us=%.2f\n", name, r->rtt_p99_us);
   printf("%s.rtt_mean_us=%.2f\n", name, r->rtt_mean_us);
   printf("%s.rtt_min_us=%.2f\n", name, r->rtt_min_us);
   printf("%s.rtt_max_us=%.2f\n", name, r->rtt_max_us);
   printf("%s.latency_p50_us=%.2f\n", name, r->rtt_p50_us / 2);
   printf("%s.latency_p99_us=%.2f\n", name, r->rtt_p99_us / 2);
   printf("%s.samples=%d\n", name, r->samples);
   printf("%s.stream_updates=%d\n", name, r->updates);
   printf("%s.stream_s=%.6f\n", name, r->stream_s);
   printf("%s.updates_per_s=%.0f\n", name, r->updates_per_s);
}

static void
print_results(const params *prm, const result *v, const result *d, double wall_s)
{
   double lat50 = safe_div(v->rtt_p50_us, d->rtt_p50_us);
   double lat99 = safe_div(v->rtt_p99_us, d->rtt_p99_us);
   double thr = safe_div(d->stream_s, v->stream_s);
   printf("# bench-vmdb: VMDB pipe vs D-Bus PropertiesChanged (private dbus-daemon), "
          "2 processes, 1 host\n");
   printf("# %d round trips after %d warm-up; stream of %d updates after a %d-update "
          "warm-up stream\n",
          prm->rounds, prm->warmup, prm->updates, prm->warmup);
   printf("#  %-26s %12s %12s %10s\n", "", "vmdb", "dbus", "ratio");
   print_row("round trip p50 (us)", v->rtt_p50_us, d->rtt_p50_us, lat50, "");
   print_row("round trip p99 (us)", v->rtt_p99_us, d->rtt_p99_us, lat99, "");
   print_row("round trip mean (us)", v->rtt_mean_us, d->rtt_mean_us,
             safe_div(v->rtt_mean_us, d->rtt_mean_us), "");
   print_row("latency p50 = rtt/2 (us)", v->rtt_p50_us / 2, d->rtt_p50_us / 2, lat50, "");
   print_row("latency p99 = rtt/2 (us)", v->rtt_p99_us / 2, d->rtt_p99_us / 2, lat99, "");
   print_row("stream time (ms)", v->stream_s * 1e3, d->stream_s * 1e3, thr, "x");
   print_row("throughput (updates/s)", v->updates_per_s, d->updates_per_s, -1, "");
   printf("# latency ratio = vmdb/dbus (below 1: vmdb faster); "
          "throughput ratio = dbus time/vmdb time (above 1: vmdb faster)\n");
   printf("bench=vmdb\n");
   printf("params.rounds=%d\n", prm->rounds);
   printf("params.warmup=%d\n", prm->warmup);
   printf("params.updates=%d\n", prm->updates);
   print_kv("vmdb", v);
   print_kv("dbus", d);
   printf("ratio.latency_p50=%.4f\n", lat50);
   printf("ratio.latency_p99=%.4f\n", lat99);
   printf("ratio.throughput=%.4f\n", thr);
   printf("wall_s=%.2f\n", wall_s);
}

static void
on_fatal_signal(int sig)
{
   if (daemon_pid > 0) {
      kill(daemon_pid, SIGTERM);
   }
   signal(sig, SIG_DFL);
   raise(sig);
}

int
main(int argc, char **argv)
{
   gboolean quick = FALSE;
   int rounds = -1, warmup = -1, updates = -1, timeout_s = 30;
   GOptionEntry entries[] = {
      { "quick", 'q', 0, G_OPTION_ARG_NONE, &quick, "Short run for CI (under 3 s)", NULL },
      { "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds, "Sampled round trips (default 10000; --quick 500)", "N" },
      { "warmup", 'w', 0, G_OPTION_ARG_INT, &warmup,
        "Unsampled round trips, and the length of the warm-up stream (default 1000; --quick 100)", "N" },
      { "updates", 'n', 0, G_OPTION_ARG_INT, &updates,
        "Updates in the measured stream (default 50000; --quick 5000)", "N" },
      { "phase-timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s,
        "Fail a phase that takes longer than this (seconds, default 30)", "S" },
      { NULL },
   };
   GOptionContext *oc = g_option_context_new("- VMDB pipe vs D-Bus latency and throughput");
   g_option_context_add_main_entries(oc, entries, NULL);
   GError *e = NULL;
   if (!g_option_context_parse(oc, &argc, &argv, &e)) {
      fprintf(stderr, "bench-vmdb: %s\n", e->message);
      return 2;
   }
   g_option_context_free(oc);
   params prm = {
      .rounds = rounds >= 0 ? rounds : quick ? 500 : 10000,
      .warmup = warmup >= 0 ? warmup : quick ? 100 : 1000,
      .updates = updates > 0 ? updates : quick ? 5000 : 50000,
      .phase_timeout_s = timeout_s > 0 ? timeout_s : 30,
   };
   if (prm.rounds < 1) {
      prm.rounds = 1;
   }
   signal(SIGPIPE, SIG_IGN);
   uint64_t t0 = now_ns();

   char *exe = g_find_program_in_path("dbus-daemon");
   if (!exe) {
      printf("SKIP: dbus-daemon not found in PATH (install package dbus-daemon); "
             "the D-Bus side of the comparison cannot run\n");
      return EXIT_SKIP;
   }
   char *address = NULL, *why = NULL;
   signal(SIGINT, on_fatal_signal);
   signal(SIGTERM, on_fatal_signal);
   if (!start_dbus_daemon(exe, &address, &why)) {
      printf("SKIP: cannot start a private dbus-daemon (%s): %s\n", exe, why);
      stop_dbus_daemon();
      g_free(why);
      g_free(exe);
      return EXIT_SKIP;
   }
   g_free(exe);

   result rv, rd;
   memset(&rd, 0, sizeof rd);
   char *err = NULL;
   bool ok = run_vmdb(&prm, &rv, &err) && run_dbus(&prm, address, &rd, &err);
   stop_dbus_daemon();
   g_free(address);
   if (!ok) {
      fprintf(stderr, "bench-vmdb: FAILED: %s\n", err ? err : "unknown error");
      g_free(err);
      return 1;
   }
   print_results(&prm, &rv, &rd, (double)(now_ns() - t0) / 1e9);
   return 0;
}
