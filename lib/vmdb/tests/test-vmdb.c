/*
 * Unit tests of the VMDB store: schema, arrays, transactions, merged and
 * journal callbacks, cross-thread delivery, dump/load.
 */
#include "lib/vmdb/vmdb.h"

#include <pthread.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

static vmdb_db *
new_db(void)
{
   vmdb_schema *s = vmdb_schema_builtin();
   vmdb_db *db = vmdb_db_new(s);
   vmdb_schema_unref(s);
   return db;
}

static void
test_schema_errors(void)
{
   char *err = NULL;
   vmdb_schema *s = vmdb_schema_parse("/a/b string \"x\" A thing.\n/a/c int \"no\" Bad.\n",
                                      "t.schema", &err);
   g_assert_null(s);
   g_assert_cmpstr(err, ==, "t.schema:2: default \"no\" is a string, declared int");
   g_free(err);
   err = NULL;
   s = vmdb_schema_parse("/a//b string \"\" Bad path.\n", "t.schema", &err);
   g_assert_null(s);
   g_assert_nonnull(strstr(err, "t.schema:1: '/a//b' is not a valid path pattern"));
   g_free(err);
   err = NULL;
   s = vmdb_schema_parse("/a float 1 Bad type.\n", "t.schema", &err);
   g_assert_null(s);
   g_assert_nonnull(strstr(err, "unknown type 'float'"));
   g_free(err);
   err = NULL;
   s = vmdb_schema_parse("/a int 1\n", "t.schema", &err);
   g_assert_null(s);
   g_assert_nonnull(strstr(err, "missing description"));
   g_free(err);

   vmdb_db *db = new_db();
   vmdb_ctx *c = vmdb_ctx_new(db, 0);
   g_assert_cmpint(vmdb_set_str(c, "/test/nope", "x"), <, 0);
   g_assert_cmpstr(vmdb_ctx_error(c), ==, "vmdb: /test/nope: path not declared in the schema");
   g_assert_cmpint(vmdb_set_int(c, "/test/str", 5), <, 0);
   g_assert_cmpstr(vmdb_ctx_error(c), ==, "vmdb: /test/str: declared string, got int");
   g_assert_cmpint(vmdb_set_str(c, "/test//str", "x"), <, 0);
   g_assert_nonnull(strstr(vmdb_ctx_error(c), "/test//str: not a valid path"));
   g_assert_cmpint(vmdb_set_text(c, "/test/int", "12x"), <, 0);
   g_assert_cmpstr(vmdb_ctx_error(c), ==, "vmdb: /test/int: '12x' is not an integer");
   /* Defaults come from the schema. */
   char *s1 = vmdb_get_str(c, "/test/str");
   g_assert_cmpstr(s1, ==, "dflt");
   g_free(s1);
   g_assert_cmpint(vmdb_get_int(c, "/test/int", -1), ==, 42);
   g_assert_false(vmdb_has(c, "/test/int"));
   g_assert_cmpint(vmdb_set_text(c, "/test/int", "0x10"), ==, 0);
   g_assert_cmpint(vmdb_get_int(c, "/test/int", -1), ==, 16);
   g_assert_true(vmdb_has(c, "/test/int"));
   g_assert_cmpint(vmdb_set_text(c, "/test/bool", "yes"), ==, 0);
   g_assert_true(vmdb_get_bool(c, "/test/bool", false));
   vmdb_ctx_free(c);
   vmdb_db_unref(db);
}

static void
test_paths(void)
{
   g_assert_true(vmdb_path_valid("/"));
   g_assert_true(vmdb_path_valid("/vm/cmd/#12/op"));
   g_assert_true(vmdb_path_valid("/vm/config/#sata0:1.filename"));
   g_assert_false(vmdb_path_valid("vm/x"));
   g_assert_false(vmdb_path_valid("/vm/"));
   g_assert_false(vmdb_path_valid("/vm/#"));
   g_assert_false(vmdb_path_valid("/vm/../x"));
   g_assert_false(vmdb_path_valid("/vm/a b"));
   g_assert_false(vmdb_path_valid(""));
   g_assert_true(vmdb_path_under("/vm/a/b", "/vm/a"));
   g_assert_true(vmdb_path_under("/vm/a", "/vm/a"));
   g_assert_false(vmdb_path_under("/vm/ab", "/vm/a"));
   g_assert_true(vmdb_path_under("/vm", "/"));
}

static void
test_arrays(void)
{
   vmdb_db *db = new_db();
   vmdb_ctx *c = vmdb_ctx_new(db, 0);
   g_assert_cmpint(vmdb_set_str(c, "/test/arr/#2/name", "two"), ==, 0);
   g_assert_cmpint(vmdb_set_int(c, "/test/arr/#2/size", 2), ==, 0);
   g_assert_cmpint(vmdb_set_str(c, "/test/arr/#1/name", "one"), ==, 0);
   g_assert_cmpint(vmdb_set_str(c, "/test/arr/#snap-x/name", "named"), ==, 0);
   g_assert_cmpint(vmdb_set_str(c, "/test/arr/#3/bogus", "x"), <, 0);
   g_assert_nonnull(strstr(vmdb_ctx_error(c), "/test/arr/#3/bogus: path not declared"));
   char **l = vmdb_list(c, "/test/arr");
   g_assert_cmpint(g_strv_length(l), ==, 3);
   g_assert_cmpstr(l[0], ==, "#1");
   g_assert_cmpstr(l[1], ==, "#2");
   g_assert_cmpstr(l[2], ==, "#snap-x");
   g_strfreev(l);
   g_assert_cmpint(vmdb_remove(c, "/test/arr/#2"), ==, 0);
   l = vmdb_list(c, "/test/arr");
   g_assert_cmpint(g_strv_length(l), ==, 2);
   g_strfreev(l);
   /* An element's unset field reads as its default. */
   g_assert_cmpint(vmdb_get_int(c, "/test/arr/#1/size", -1), ==, 0);
   /* Removing the last element prunes the group. */
   vmdb_remove(c, "/test/arr/#1");
   vmdb_remove(c, "/test/arr/#snap-x");
   l = vmdb_list(c, "/test");
   for (char **p = l; *p; p++) {
      g_assert_cmpstr(*p, !=, "arr");
   }
   g_strfreev(l);
   vmdb_ctx_free(c);
   vmdb_db_unref(db);
}

typedef struct recorder {
   int calls;
   GPtrArray *paths;
   GArray *ints;
   GThread *thread;
   GMainLoop *loop;
   int want;
   uint64_t last_txn;
   bool txn_split;
} recorder;

static void
record(vmdb_ctx *ctx, const vmdb_change *ch, size_t n, void *user)
{
   recorder *r = user;
   r->calls++;
   r->thread = g_thread_self();
   for (size_t i = 0; i < n; i++) {
      g_ptr_array_add(r->paths, g_strdup(ch[i].path));
      int64_t v = ch[i].removed ? -1 : ch[i].value.type == VMDB_TYPE_INT ? ch[i].value.i : -2;
      g_array_append_val(r->ints, v);
   }
   if (r->loop && r->ints->len > 0 &&
       g_array_index(r->ints, int64_t, r->ints->len - 1) == r->want) {
      g_main_loop_quit(r->loop);
   }
}

static void
recorder_init(recorder *r)
{
   memset(r, 0, sizeof *r);
   r->paths = g_ptr_array_new_with_free_func(g_free);
   r->ints = g_array_new(FALSE, FALSE, sizeof(int64_t));
}

static void
recorder_clear(recorder *r)
{
   g_ptr_array_free(r->paths, TRUE);
   g_array_free(r->ints, TRUE);
}

static void
test_merged_callbacks(void)
{
   vmdb_db *db = new_db();
   vmdb_ctx *w = vmdb_ctx_new(db, 0);
   vmdb_ctx *r = vmdb_ctx_new(db, 0);
   recorder rec;
   recorder_init(&rec);
   vmdb_subscribe(r, "/test", record, &rec);
   for (int i = 1; i <= 5; i++) {
      vmdb_set_int(w, "/test/int", i);
   }
   vmdb_set_int(w, "/test/counter", 7);
   vmdb_set_int(w, "/test/other/x", 9);
   vmdb_set_int(w, "/test/counter", 7); /* no change: no notification */
   /* Nothing runs until the owner dispatches. */
   g_assert_cmpint(rec.calls, ==, 0);
   g_assert_cmpint(vmdb_ctx_dispatch(r), ==, 1);
   g_assert_cmpint(rec.calls, ==, 1);
   g_assert_cmpint(rec.paths->len, ==, 3);
   g_assert_cmpstr(g_ptr_array_index(rec.paths, 0), ==, "/test/counter");
   g_assert_cmpstr(g_ptr_array_index(rec.paths, 1), ==, "/test/int");
   g_assert_cmpint(g_array_index(rec.ints, int64_t, 1), ==, 5);
   g_assert_cmpstr(g_ptr_array_index(rec.paths, 2), ==, "/test/other/x");
   /* The writer is not told of its own writes by default. */
   g_assert_cmpint(vmdb_ctx_dispatch(w), ==, 0);
   /* Removal notifies each removed value. */
   vmdb_remove(w, "/test/other");
   vmdb_ctx_dispatch(r);
   g_assert_cmpint(rec.calls, ==, 2);
   g_assert_cmpstr(g_ptr_array_index(rec.paths, 3), ==, "/test/other/x");
   g_assert_cmpint(g_array_index(rec.ints, int64_t, 3), ==, -1);
   /* A subscription on an unrelated subtree hears nothing. */
   recorder rec2;
   recorder_init(&rec2);
   vmdb_subscribe(r, "/vm", record, &rec2);
   vmdb_set_int(w, "/test/int", 100);
   vmdb_ctx_dispatch(r);
   g_assert_cmpint(rec2.calls, ==, 0);
   recorder_clear(&rec2);
   recorder_clear(&rec);
   vmdb_ctx_free(w);
   vmdb_ctx_free(r);
   vmdb_db_unref(db);
}

static void
test_journal(void)
{
   vmdb_db *db = new_db();
   vmdb_ctx *w = vmdb_ctx_new(db, 0);
   vmdb_ctx *j = vmdb_ctx_new(db, VMDB_CTX_JOURNAL);
   recorder rec;
   recorder_init(&rec);
   vmdb_subscribe(j, "/test/counter", record, &rec);
   for (int i = 1; i <= 1000; i++) {
      vmdb_set_int(w, "/test/counter", i);
   }
   vmdb_ctx_dispatch(j);
   g_assert_cmpint(rec.ints->len, ==, 1000);
   for (int i = 0; i < 1000; i++) {
      g_assert_cmpint(g_array_index(rec.ints, int64_t, i), ==, i + 1);
   }
   recorder_clear(&rec);
   vmdb_ctx_free(w);
   vmdb_ctx_free(j);
   vmdb_db_unref(db);
}

static void
test_transactions(void)
{
   vmdb_db *db = new_db();
   vmdb_ctx *w = vmdb_ctx_new(db, 0);
   vmdb_ctx *r = vmdb_ctx_new(db, VMDB_CTX_JOURNAL);
   recorder rec;
   recorder_init(&rec);
   vmdb_subscribe(r, "/test", record, &rec);

   vmdb_tx_begin(w);
   vmdb_set_int(w, "/test/int", 1);
   vmdb_set_str(w, "/test/str", "a");
   vmdb_set_int(w, "/test/counter", 3);
   /* The writer sees its staged writes, others do not. */
   g_assert_cmpint(vmdb_get_int(w, "/test/int", -1), ==, 1);
   g_assert_cmpint(vmdb_get_int(r, "/test/int", -1), ==, 42);
   g_assert_cmpint(vmdb_ctx_dispatch(r), ==, 0);
   g_assert_cmpint(vmdb_tx_commit(w), ==, 0);
   g_assert_cmpint(vmdb_get_int(r, "/test/int", -1), ==, 1);
   g_assert_cmpint(vmdb_ctx_dispatch(r), ==, 1);
   g_assert_cmpint(rec.calls, ==, 1);
   g_assert_cmpint(rec.paths->len, ==, 3);

   /* A transaction with one bad set applies nothing. */
   vmdb_tx_begin(w);
   vmdb_set_int(w, "/test/int", 2);
   g_assert_cmpint(vmdb_set_int(w, "/test/str", 2), <, 0);
   vmdb_set_int(w, "/test/counter", 4);
   g_assert_cmpint(vmdb_tx_commit(w), <, 0);
   g_assert_nonnull(strstr(vmdb_ctx_error(w), "/test/str: declared string, got int"));
   g_assert_nonnull(strstr(vmdb_ctx_error(w), "transaction not applied"));
   g_assert_cmpint(vmdb_get_int(r, "/test/int", -1), ==, 1);
   g_assert_cmpint(vmdb_get_int(r, "/test/counter", -1), ==, 3);
   g_assert_cmpint(vmdb_ctx_dispatch(r), ==, 0);

   /* Abort discards. */
   vmdb_tx_begin(w);
   vmdb_set_int(w, "/test/int", 99);
   vmdb_tx_abort(w);
   g_assert_cmpint(vmdb_get_int(w, "/test/int", -1), ==, 1);

   /* Remove inside a transaction hides values from the writer's reads. */
   vmdb_tx_begin(w);
   vmdb_remove(w, "/test");
   g_assert_false(vmdb_has(w, "/test/int"));
   g_assert_cmpint(vmdb_get_int(w, "/test/int", -1), ==, 42);
   vmdb_set_int(w, "/test/int", 5);
   g_assert_cmpint(vmdb_get_int(w, "/test/int", -1), ==, 5);
   g_assert_cmpint(vmdb_tx_commit(w), ==, 0);
   g_assert_cmpint(vmdb_get_int(r, "/test/int", -1), ==, 5);
   g_assert_false(vmdb_has(r, "/test/str"));

   recorder_clear(&rec);
   vmdb_ctx_free(w);
   vmdb_ctx_free(r);
   vmdb_db_unref(db);
}

/* A thread that owns a context and runs its own loop. */
typedef struct owner_thread {
   vmdb_db *db;
   recorder rec;
   pthread_mutex_t lock;
   pthread_cond_t cond;
   bool ready;
   GThread *self;
   vmdb_ctx *ctx;
} owner_thread;

static gpointer
owner_main(gpointer data)
{
   owner_thread *o = data;
   GMainContext *mc = g_main_context_new();
   g_main_context_push_thread_default(mc);
   o->rec.loop = g_main_loop_new(mc, FALSE);
   o->ctx = vmdb_ctx_new(o->db, 0);
   vmdb_subscribe(o->ctx, "/test/counter", record, &o->rec);
   vmdb_ctx_attach(o->ctx, mc);
   o->self = g_thread_self();
   pthread_mutex_lock(&o->lock);
   o->ready = true;
   pthread_cond_signal(&o->cond);
   pthread_mutex_unlock(&o->lock);
   g_main_loop_run(o->rec.loop);
   vmdb_ctx_free(o->ctx);
   g_main_loop_unref(o->rec.loop);
   g_main_context_pop_thread_default(mc);
   g_main_context_unref(mc);
   return NULL;
}

static void
test_cross_thread(void)
{
   owner_thread o;
   memset(&o, 0, sizeof o);
   o.db = new_db();
   recorder_init(&o.rec);
   o.rec.want = 200;
   pthread_mutex_init(&o.lock, NULL);
   pthread_cond_init(&o.cond, NULL);
   /* The loop quits once the final value arrives: merging may fold the
    * earlier ones into it. */
   GThread *t = g_thread_new("owner", owner_main, &o);
   pthread_mutex_lock(&o.lock);
   while (!o.ready) {
      pthread_cond_wait(&o.cond, &o.lock);
   }
   pthread_mutex_unlock(&o.lock);
   vmdb_ctx *w = vmdb_ctx_new(o.db, 0);
   /* The owner's context refuses use from this thread. */
   g_assert_cmpint(vmdb_set_int(o.ctx, "/test/int", 1), ==, -EPERM);
   for (int i = 1; i <= 200; i++) {
      vmdb_set_int(w, "/test/counter", i);
   }
   g_thread_join(t);
   g_assert_true(o.rec.thread == o.self);
   g_assert_cmpint(o.rec.calls, >=, 1);
   g_assert_cmpint(o.rec.calls, <=, 200);
   g_assert_cmpint(g_array_index(o.rec.ints, int64_t, 0), >=, 1);
   vmdb_ctx_free(w);
   recorder_clear(&o.rec);
   vmdb_db_unref(o.db);
}

/* Many writer threads, one reader: the final state is complete and every
 * journal entry of each writer arrives in that writer's order. */
typedef struct writer_arg {
   vmdb_db *db;
   int id;
} writer_arg;

static gpointer
writer_main(gpointer data)
{
   writer_arg *a = data;
   vmdb_ctx *c = vmdb_ctx_new(a->db, 0);
   char path[64];
   snprintf(path, sizeof path, "/test/arr/#w%d/size", a->id);
   for (int i = 1; i <= 2000; i++) {
      vmdb_set_int(c, path, i);
   }
   vmdb_ctx_free(c);
   return NULL;
}

static void
test_threads_stress(void)
{
   vmdb_db *db = new_db();
   vmdb_ctx *j = vmdb_ctx_new(db, VMDB_CTX_JOURNAL);
   recorder rec;
   recorder_init(&rec);
   vmdb_subscribe(j, "/test/arr", record, &rec);
   writer_arg args[4];
   GThread *t[4];
   for (int i = 0; i < 4; i++) {
      args[i] = (writer_arg){ db, i };
      t[i] = g_thread_new("writer", writer_main, &args[i]);
   }
   /* Dispatch concurrently with the writers. */
   for (int k = 0; k < 50; k++) {
      vmdb_ctx_dispatch(j);
      g_usleep(100);
   }
   for (int i = 0; i < 4; i++) {
      g_thread_join(t[i]);
   }
   vmdb_ctx_dispatch(j);
   g_assert_cmpint(rec.ints->len, ==, 4 * 2000);
   int64_t last[4] = { 0 };
   for (guint i = 0; i < rec.ints->len; i++) {
      const char *p = g_ptr_array_index(rec.paths, i);
      int w = p[strlen("/test/arr/#w")] - '0';
      g_assert_cmpint(g_array_index(rec.ints, int64_t, i), ==, last[w] + 1);
      last[w]++;
   }
   for (int i = 0; i < 4; i++) {
      char path[64];
      snprintf(path, sizeof path, "/test/arr/#w%d/size", i);
      g_assert_cmpint(vmdb_get_int(j, path, -1), ==, 2000);
   }
   recorder_clear(&rec);
   vmdb_ctx_free(j);
   vmdb_db_unref(db);
}

static void
test_dump_load(void)
{
   vmdb_db *db = new_db();
   vmdb_ctx *c = vmdb_ctx_new(db, 0);
   vmdb_set_str(c, "/test/str", "quote \" and\nnewline");
   vmdb_set_int(c, "/test/int", -7);
   vmdb_set_bool(c, "/test/bool", true);
   vmdb_set_str(c, "/test/arr/#a/name", "x");
   char *d = vmdb_dump(c, "/test");
   g_assert_cmpstr(d, ==,
                   "/test/arr/#a/name = \"x\"\n"
                   "/test/bool = true\n"
                   "/test/int = -7\n"
                   "/test/str = \"quote \\\" and\\nnewline\"\n");
   vmdb_db *db2 = new_db();
   vmdb_ctx *c2 = vmdb_ctx_new(db2, 0);
   g_assert_cmpint(vmdb_load(c2, d), ==, 0);
   char *d2 = vmdb_dump(c2, "/test");
   g_assert_cmpstr(d, ==, d2);
   g_free(d2);
   /* A bad line applies nothing and names the line. */
   g_assert_cmpint(vmdb_load(c2, "/test/int = 1\n/test/str = 5\n"), <, 0);
   g_assert_nonnull(strstr(vmdb_ctx_error(c2), "line 2"));
   g_assert_cmpint(vmdb_get_int(c2, "/test/int", 0), ==, -7);
   g_assert_cmpint(vmdb_load(c2, "/test/int 1\n"), <, 0);
   g_assert_nonnull(strstr(vmdb_ctx_error(c2), "line 1: expected 'PATH = VALUE'"));
   g_free(d);
   vmdb_ctx_free(c2);
   vmdb_db_unref(db2);
   vmdb_ctx_free(c);
   vmdb_db_unref(db);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/vmdb/paths", test_paths);
   g_test_add_func("/vmdb/schema-errors", test_schema_errors);
   g_test_add_func("/vmdb/arrays", test_arrays);
   g_test_add_func("/vmdb/merged-callbacks", test_merged_callbacks);
   g_test_add_func("/vmdb/journal", test_journal);
   g_test_add_func("/vmdb/transactions", test_transactions);
   g_test_add_func("/vmdb/cross-thread", test_cross_thread);
   g_test_add_func("/vmdb/threads-stress", test_threads_stress);
   g_test_add_func("/vmdb/dump-load", test_dump_load);
   return g_test_run();
}
