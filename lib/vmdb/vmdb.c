/*
 * lib/vmdb/vmdb.c - the VMDB store, contexts and transactions.
 *
 * Locking: db->lock (a rwlock) guards the tree. A commit takes it for
 * writing, applies every staged operation, and queues notifications into
 * each interested context while still holding it, so every context sees
 * commits in one global order. Each context's queue has its own mutex
 * (ctx->qlock), always taken after db->lock and db->ctx_lock.
 */
#include "lib/vmdb/vmdb.h"

#include <pthread.h>

#include <errno.h>
#include <glib-unix.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct node {
   char *name;
   vmdb_value v;      /* VMDB_TYPE_NONE for a group node */
   GTree *children;   /* name -> node*, NULL until needed */
} node;

struct vmdb_db {
   gint refs;
   vmdb_schema *schema;
   pthread_rwlock_t lock;
   pthread_mutex_t ctx_lock;
   GList *ctxs;
   node *root;
   uint64_t txn;
};

typedef struct sub {
   unsigned id;
   char *path;
   vmdb_callback cb;
   void *user;
} sub;

typedef struct pchange {
   char *path;
   vmdb_value v;
   bool removed;
   uint64_t txn;
   const void *origin;
} pchange;

typedef struct op {
   char *path;
   vmdb_value v;
   bool remove;
} op;

struct vmdb_ctx {
   vmdb_db *db;
   vmdb_ctx_flags flags;
   GThread *owner;
   int efd;
   pthread_mutex_t qlock;
   GPtrArray *subs;          /* sub*, guarded by qlock */
   unsigned next_id;
   GHashTable *merged;       /* path -> pchange*, guarded by qlock */
   GQueue journal;           /* pchange*, guarded by qlock */
   bool signalled;
   bool in_tx;
   GPtrArray *tx_ops;        /* op* */
   char *tx_error;
   int tx_errno;
   char *error;
   const void *origin;
   GSource *source;
};

/* ------------------------------------------------------------------ nodes */

static gint
name_cmp(gconstpointer a, gconstpointer b, gpointer unused)
{
   return strcmp(a, b);
}

static void node_free(gpointer p);

static node *
node_new(const char *name)
{
   node *n = g_new0(node, 1);
   n->name = g_strdup(name);
   return n;
}

static void
node_free(gpointer p)
{
   node *n = p;
   if (!n) {
      return;
   }
   if (n->children) {
      g_tree_destroy(n->children);
   }
   vmdb_value_clear(&n->v);
   g_free(n->name);
   g_free(n);
}

/* Find the node for path; with create, make missing group nodes. */
static node *
node_find(node *root, const char *path, bool create, node **parent_out)
{
   node *cur = root;
   node *parent = NULL;
   if (strcmp(path, "/") == 0) {
      if (parent_out) {
         *parent_out = NULL;
      }
      return root;
   }
   const char *p = path + 1;
   char seg[VMDB_PATH_MAX];
   while (*p) {
      const char *q = strchr(p, '/');
      size_t len = q ? (size_t)(q - p) : strlen(p);
      memcpy(seg, p, len);
      seg[len] = '\0';
      node *child = cur->children ? g_tree_lookup(cur->children, seg) : NULL;
      if (!child) {
         if (!create) {
            return NULL;
         }
         if (!cur->children) {
            cur->children = g_tree_new_full(name_cmp, NULL, NULL, node_free);
         }
         child = node_new(seg);
         g_tree_insert(cur->children, child->name, child);
      }
      parent = cur;
      cur = child;
      p = q ? q + 1 : p + len;
   }
   if (parent_out) {
      *parent_out = parent;
   }
   return cur;
}

/* ---------------------------------------------------------------- errors */

static int G_GNUC_PRINTF(3, 4)
fail(vmdb_ctx *ctx, int err, const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   g_free(ctx->error);
   ctx->error = g_strdup_vprintf(fmt, ap);
   va_end(ap);
   return -err;
}

static bool
owner_ok(vmdb_ctx *ctx)
{
   if (ctx->owner != g_thread_self()) {
      fail(ctx, EPERM, "vmdb: context used from a thread that does not own it");
      return false;
   }
   return true;
}

const char *
vmdb_ctx_error(vmdb_ctx *ctx)
{
   return ctx->error ? ctx->error : "";
}

/* -------------------------------------------------------------------- db */

vmdb_db *
vmdb_db_new(vmdb_schema *schema)
{
   vmdb_db *db = g_new0(vmdb_db, 1);
   db->refs = 1;
   db->schema = vmdb_schema_ref(schema);
   pthread_rwlock_init(&db->lock, NULL);
   pthread_mutex_init(&db->ctx_lock, NULL);
   db->root = node_new("");
   return db;
}

vmdb_db *
vmdb_db_ref(vmdb_db *db)
{
   g_atomic_int_inc(&db->refs);
   return db;
}

void
vmdb_db_unref(vmdb_db *db)
{
   if (db && g_atomic_int_dec_and_test(&db->refs)) {
      g_assert(db->ctxs == NULL);
      node_free(db->root);
      vmdb_schema_unref(db->schema);
      pthread_rwlock_destroy(&db->lock);
      pthread_mutex_destroy(&db->ctx_lock);
      g_free(db);
   }
}

vmdb_schema *
vmdb_db_schema(vmdb_db *db)
{
   return db->schema;
}

/* --------------------------------------------------------------- context */

static void
pchange_free(gpointer p)
{
   pchange *c = p;
   vmdb_value_clear(&c->v);
   g_free(c->path);
   g_free(c);
}

static void
sub_free(gpointer p)
{
   sub *s = p;
   g_free(s->path);
   g_free(s);
}

static void
op_free(gpointer p)
{
   op *o = p;
   vmdb_value_clear(&o->v);
   g_free(o->path);
   g_free(o);
}

vmdb_ctx *
vmdb_ctx_new(vmdb_db *db, vmdb_ctx_flags flags)
{
   int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
   if (efd < 0) {
      return NULL;
   }
   vmdb_ctx *ctx = g_new0(vmdb_ctx, 1);
   ctx->db = vmdb_db_ref(db);
   ctx->flags = flags;
   ctx->owner = g_thread_self();
   ctx->efd = efd;
   pthread_mutex_init(&ctx->qlock, NULL);
   ctx->subs = g_ptr_array_new_with_free_func(sub_free);
   ctx->merged = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, pchange_free);
   g_queue_init(&ctx->journal);
   ctx->origin = ctx;
   pthread_mutex_lock(&db->ctx_lock);
   db->ctxs = g_list_prepend(db->ctxs, ctx);
   pthread_mutex_unlock(&db->ctx_lock);
   return ctx;
}

void
vmdb_ctx_free(vmdb_ctx *ctx)
{
   if (!ctx) {
      return;
   }
   vmdb_db *db = ctx->db;
   pthread_mutex_lock(&db->ctx_lock);
   db->ctxs = g_list_remove(db->ctxs, ctx);
   pthread_mutex_unlock(&db->ctx_lock);
   if (ctx->source) {
      g_source_destroy(ctx->source);
      g_source_unref(ctx->source);
   }
   if (ctx->tx_ops) {
      g_ptr_array_free(ctx->tx_ops, TRUE);
   }
   g_free(ctx->tx_error);
   g_ptr_array_free(ctx->subs, TRUE);
   g_hash_table_destroy(ctx->merged);
   g_queue_clear_full(&ctx->journal, pchange_free);
   pthread_mutex_destroy(&ctx->qlock);
   close(ctx->efd);
   g_free(ctx->error);
   g_free(ctx);
   vmdb_db_unref(db);
}

vmdb_db *
vmdb_ctx_db(vmdb_ctx *ctx)
{
   return ctx->db;
}

void
vmdb_ctx_set_origin(vmdb_ctx *ctx, const void *origin)
{
   ctx->origin = origin ? origin : ctx;
}

int
vmdb_ctx_fd(vmdb_ctx *ctx)
{
   return ctx->efd;
}

unsigned
vmdb_subscribe(vmdb_ctx *ctx, const char *path, vmdb_callback cb, void *user)
{
   if (!owner_ok(ctx)) {
      return 0;
   }
   if (!vmdb_path_valid(path)) {
      fail(ctx, EINVAL, "vmdb: %s: not a valid path", path);
      return 0;
   }
   sub *s = g_new0(sub, 1);
   s->path = g_strdup(path);
   s->cb = cb;
   s->user = user;
   pthread_mutex_lock(&ctx->qlock);
   s->id = ++ctx->next_id;
   g_ptr_array_add(ctx->subs, s);
   pthread_mutex_unlock(&ctx->qlock);
   return s->id;
}

void
vmdb_unsubscribe(vmdb_ctx *ctx, unsigned id)
{
   pthread_mutex_lock(&ctx->qlock);
   for (guint i = 0; i < ctx->subs->len; i++) {
      sub *s = g_ptr_array_index(ctx->subs, i);
      if (s->id == id) {
         g_ptr_array_remove_index(ctx->subs, i);
         break;
      }
   }
   pthread_mutex_unlock(&ctx->qlock);
}

static bool
ctx_wants(vmdb_ctx *ctx, const char *path)
{
   for (guint i = 0; i < ctx->subs->len; i++) {
      sub *s = g_ptr_array_index(ctx->subs, i);
      if (vmdb_path_under(path, s->path)) {
         return true;
      }
   }
   return false;
}

/* Called with db->lock held for writing. */
static void
notify_all(vmdb_db *db, vmdb_ctx *writer, GPtrArray *changes)
{
   pthread_mutex_lock(&db->ctx_lock);
   for (GList *l = db->ctxs; l; l = l->next) {
      vmdb_ctx *ctx = l->data;
      if (ctx == writer && !(ctx->flags & VMDB_CTX_NOTIFY_SELF)) {
         continue;
      }
      pthread_mutex_lock(&ctx->qlock);
      bool queued = false;
      for (guint i = 0; i < changes->len; i++) {
         pchange *c = g_ptr_array_index(changes, i);
         if (!ctx_wants(ctx, c->path)) {
            continue;
         }
         pchange *copy = g_new0(pchange, 1);
         copy->path = g_strdup(c->path);
         vmdb_value_copy(&copy->v, &c->v);
         copy->removed = c->removed;
         copy->txn = c->txn;
         copy->origin = c->origin;
         if (ctx->flags & VMDB_CTX_JOURNAL) {
            g_queue_push_tail(&ctx->journal, copy);
         } else {
            g_hash_table_replace(ctx->merged, copy->path, copy);
         }
         queued = true;
      }
      if (queued && !ctx->signalled) {
         uint64_t one = 1;
         ssize_t r = write(ctx->efd, &one, sizeof one);
         (void)r; /* an eventfd write only fails on counter overflow */
         ctx->signalled = true;
      }
      pthread_mutex_unlock(&ctx->qlock);
   }
   pthread_mutex_unlock(&db->ctx_lock);
}

static gint
change_cmp(gconstpointer a, gconstpointer b)
{
   const vmdb_change *x = a, *y = b;
   return strcmp(x->path, y->path);
}

int
vmdb_ctx_dispatch(vmdb_ctx *ctx)
{
   if (!owner_ok(ctx)) {
      return -EPERM;
   }
   pthread_mutex_lock(&ctx->qlock);
   uint64_t cnt;
   ssize_t r = read(ctx->efd, &cnt, sizeof cnt);
   (void)r;
   ctx->signalled = false;
   GPtrArray *items = g_ptr_array_new_with_free_func(pchange_free);
   if (ctx->flags & VMDB_CTX_JOURNAL) {
      pchange *c;
      while ((c = g_queue_pop_head(&ctx->journal))) {
         g_ptr_array_add(items, c);
      }
   } else {
      GHashTableIter it;
      gpointer k, v;
      g_hash_table_iter_init(&it, ctx->merged);
      while (g_hash_table_iter_next(&it, &k, &v)) {
         g_ptr_array_add(items, v);
         g_hash_table_iter_steal(&it);
      }
   }
   /* Snapshot the subscriptions: callbacks may (un)subscribe. */
   GArray *snap = g_array_new(FALSE, FALSE, sizeof(sub));
   for (guint i = 0; i < ctx->subs->len; i++) {
      sub *s = g_ptr_array_index(ctx->subs, i);
      sub copy = *s;
      copy.path = g_strdup(s->path);
      g_array_append_val(snap, copy);
   }
   pthread_mutex_unlock(&ctx->qlock);

   vmdb_change *all = g_new0(vmdb_change, items->len ? items->len : 1);
   for (guint i = 0; i < items->len; i++) {
      pchange *c = g_ptr_array_index(items, i);
      all[i] = (vmdb_change){ c->path, c->v, c->removed, c->txn, c->origin };
   }
   if (!(ctx->flags & VMDB_CTX_JOURNAL)) {
      qsort(all, items->len, sizeof *all, (int (*)(const void *, const void *))change_cmp);
   }
   int delivered = 0;
   vmdb_change *sel = g_new0(vmdb_change, items->len ? items->len : 1);
   for (guint s = 0; s < snap->len; s++) {
      sub *sb = &g_array_index(snap, sub, s);
      size_t n = 0;
      for (guint i = 0; i < items->len; i++) {
         if (vmdb_path_under(all[i].path, sb->path)) {
            sel[n++] = all[i];
         }
      }
      if (n == 0) {
         continue;
      }
      /* Still subscribed? An earlier callback may have removed it. */
      bool live = false;
      pthread_mutex_lock(&ctx->qlock);
      for (guint i = 0; i < ctx->subs->len; i++) {
         if (((sub *)g_ptr_array_index(ctx->subs, i))->id == sb->id) {
            live = true;
            break;
         }
      }
      pthread_mutex_unlock(&ctx->qlock);
      if (live) {
         sb->cb(ctx, sel, n, sb->user);
         delivered++;
      }
   }
   for (guint s = 0; s < snap->len; s++) {
      g_free(g_array_index(snap, sub, s).path);
   }
   g_array_free(snap, TRUE);
   g_free(sel);
   g_free(all);
   g_ptr_array_free(items, TRUE);
   return delivered;
}

static gboolean
ctx_source_cb(gint fd, GIOCondition cond, gpointer data)
{
   vmdb_ctx_dispatch(data);
   return G_SOURCE_CONTINUE;
}

void
vmdb_ctx_attach(vmdb_ctx *ctx, GMainContext *mc)
{
   if (ctx->source) {
      return;
   }
   ctx->source = g_unix_fd_source_new(ctx->efd, G_IO_IN);
   g_source_set_callback(ctx->source, (GSourceFunc)(void (*)(void))ctx_source_cb, ctx, NULL);
   g_source_set_name(ctx->source, "vmdb-ctx");
   g_source_attach(ctx->source, mc);
}

/* ---------------------------------------------------------- transactions */

void
vmdb_tx_begin(vmdb_ctx *ctx)
{
   if (ctx->in_tx) {
      return;
   }
   ctx->in_tx = true;
   ctx->tx_ops = g_ptr_array_new_with_free_func(op_free);
   g_free(ctx->tx_error);
   ctx->tx_error = NULL;
   ctx->tx_errno = 0;
}

bool
vmdb_tx_active(vmdb_ctx *ctx)
{
   return ctx->in_tx;
}

void
vmdb_tx_abort(vmdb_ctx *ctx)
{
   if (!ctx->in_tx) {
      return;
   }
   g_ptr_array_free(ctx->tx_ops, TRUE);
   ctx->tx_ops = NULL;
   ctx->in_tx = false;
   g_free(ctx->tx_error);
   ctx->tx_error = NULL;
}

static void
collect_values(node *n, const char *path, GPtrArray *changes, uint64_t txn, const void *origin)
{
   if (n->v.type != VMDB_TYPE_NONE) {
      pchange *c = g_new0(pchange, 1);
      c->path = g_strdup(path);
      c->removed = true;
      c->txn = txn;
      c->origin = origin;
      g_ptr_array_add(changes, c);
   }
   if (!n->children) {
      return;
   }
   GTreeNode *tn = g_tree_node_first(n->children);
   for (; tn; tn = g_tree_node_next(tn)) {
      node *child = g_tree_node_value(tn);
      char *cp = strcmp(path, "/") == 0 ? g_strconcat("/", child->name, NULL)
                                        : g_strconcat(path, "/", child->name, NULL);
      collect_values(child, cp, changes, txn, origin);
      g_free(cp);
   }
}

/* Remove empty group nodes on the way up from path. */
static void
prune(node *root, const char *path)
{
   char *p = g_strdup(path);
   char *last = strrchr(p, '/');
   if (!last || last == p) {
      g_free(p);
      return;
   }
   *last = '\0'; /* start at the parent of the removed node */
   for (;;) {
      char *slash = strrchr(p, '/');
      if (!slash || slash == p) {
         break;
      }
      node *parent = NULL;
      node *n = node_find(root, p, false, &parent);
      if (!n || !parent) {
         break;
      }
      if (n->v.type != VMDB_TYPE_NONE || (n->children && g_tree_nnodes(n->children) > 0)) {
         break;
      }
      char *name = g_strdup(n->name);
      g_tree_remove(parent->children, name);
      g_free(name);
      *slash = '\0';
   }
   g_free(p);
}

/* Apply ops under the write lock; returns the list of real changes. */
static GPtrArray *
apply_ops(vmdb_ctx *ctx, GPtrArray *ops)
{
   vmdb_db *db = ctx->db;
   GPtrArray *changes = g_ptr_array_new_with_free_func(pchange_free);
   uint64_t txn = ++db->txn;
   for (guint i = 0; i < ops->len; i++) {
      op *o = g_ptr_array_index(ops, i);
      if (o->remove) {
         node *parent = NULL;
         node *n = node_find(db->root, o->path, false, &parent);
         if (!n) {
            continue;
         }
         collect_values(n, o->path, changes, txn, ctx->origin);
         if (parent) {
            char *name = g_strdup(n->name);
            g_tree_remove(parent->children, name);
            g_free(name);
            prune(db->root, o->path);
         } else {
            /* Removing the root clears it. */
            if (n->children) {
               g_tree_destroy(n->children);
               n->children = NULL;
            }
         }
         continue;
      }
      node *n = node_find(db->root, o->path, true, NULL);
      if (vmdb_value_equal(&n->v, &o->v)) {
         continue;
      }
      vmdb_value_clear(&n->v);
      vmdb_value_copy(&n->v, &o->v);
      pchange *c = g_new0(pchange, 1);
      c->path = g_strdup(o->path);
      vmdb_value_copy(&c->v, &o->v);
      c->txn = txn;
      c->origin = ctx->origin;
      g_ptr_array_add(changes, c);
   }
   return changes;
}

int
vmdb_tx_commit(vmdb_ctx *ctx)
{
   if (!ctx->in_tx) {
      return 0;
   }
   if (!owner_ok(ctx)) {
      vmdb_tx_abort(ctx);
      return -EPERM;
   }
   if (ctx->tx_error) {
      int e = ctx->tx_errno ? ctx->tx_errno : EINVAL;
      fail(ctx, e, "%s (transaction not applied)", ctx->tx_error);
      vmdb_tx_abort(ctx);
      return -e;
   }
   GPtrArray *ops = ctx->tx_ops;
   ctx->tx_ops = NULL;
   ctx->in_tx = false;
   pthread_rwlock_wrlock(&ctx->db->lock);
   GPtrArray *changes = apply_ops(ctx, ops);
   if (changes->len) {
      notify_all(ctx->db, ctx, changes);
   }
   pthread_rwlock_unlock(&ctx->db->lock);
   g_ptr_array_free(changes, TRUE);
   g_ptr_array_free(ops, TRUE);
   return 0;
}

/* ----------------------------------------------------------------- writes */

static int
stage(vmdb_ctx *ctx, op *o)
{
   bool implicit = !ctx->in_tx;
   if (implicit) {
      vmdb_tx_begin(ctx);
   }
   g_ptr_array_add(ctx->tx_ops, o);
   return implicit ? vmdb_tx_commit(ctx) : 0;
}

/* Record a failure inside an explicit transaction so commit refuses it. */
static int
stage_fail(vmdb_ctx *ctx, int err)
{
   if (ctx->in_tx && !ctx->tx_error) {
      ctx->tx_error = g_strdup(ctx->error);
      ctx->tx_errno = err;
   }
   return -err;
}

int
vmdb_set(vmdb_ctx *ctx, const char *path, const vmdb_value *v)
{
   if (!owner_ok(ctx)) {
      return -EPERM;
   }
   if (!vmdb_path_valid(path)) {
      fail(ctx, EINVAL, "vmdb: %s: not a valid path", path ? path : "(null)");
      return stage_fail(ctx, EINVAL);
   }
   vmdb_type t = vmdb_schema_lookup(ctx->db->schema, path, NULL, NULL);
   if (t == VMDB_TYPE_NONE) {
      fail(ctx, ENOENT, "vmdb: %s: path not declared in the schema", path);
      return stage_fail(ctx, ENOENT);
   }
   if (v->type != t) {
      fail(ctx, EINVAL, "vmdb: %s: declared %s, got %s", path, vmdb_type_name(t),
           vmdb_type_name(v->type));
      return stage_fail(ctx, EINVAL);
   }
   if (t == VMDB_TYPE_STRING && v->s && strlen(v->s) > VMDB_STRING_MAX) {
      fail(ctx, E2BIG, "vmdb: %s: string longer than %u bytes", path, VMDB_STRING_MAX);
      return stage_fail(ctx, E2BIG);
   }
   op *o = g_new0(op, 1);
   o->path = g_strdup(path);
   vmdb_value_copy(&o->v, v);
   return stage(ctx, o);
}

int
vmdb_set_str(vmdb_ctx *ctx, const char *path, const char *s)
{
   vmdb_value v = { .type = VMDB_TYPE_STRING, .s = (char *)(s ? s : "") };
   return vmdb_set(ctx, path, &v);
}

int
vmdb_set_int(vmdb_ctx *ctx, const char *path, int64_t i)
{
   vmdb_value v = { .type = VMDB_TYPE_INT, .i = i };
   return vmdb_set(ctx, path, &v);
}

int
vmdb_set_bool(vmdb_ctx *ctx, const char *path, bool b)
{
   vmdb_value v = { .type = VMDB_TYPE_BOOL, .b = b };
   return vmdb_set(ctx, path, &v);
}

int
vmdb_set_text(vmdb_ctx *ctx, const char *path, const char *text)
{
   if (!owner_ok(ctx)) {
      return -EPERM;
   }
   vmdb_type t = vmdb_path_valid(path) ? vmdb_schema_lookup(ctx->db->schema, path, NULL, NULL)
                                       : VMDB_TYPE_NONE;
   if (t == VMDB_TYPE_NONE) {
      return vmdb_set_str(ctx, path, text); /* reports the path error */
   }
   vmdb_value v = { 0 };
   char *err = NULL;
   if (t == VMDB_TYPE_STRING) {
      size_t n = strlen(text);
      if (n >= 2 && text[0] == '"' && text[n - 1] == '"') {
         if (!vmdb_value_parse(text, &v, &err)) {
            fail(ctx, EINVAL, "vmdb: %s: %s", path, err);
            g_free(err);
            return stage_fail(ctx, EINVAL);
         }
      } else {
         v.type = VMDB_TYPE_STRING;
         v.s = g_strdup(text);
      }
   } else if (t == VMDB_TYPE_INT) {
      char *end = NULL;
      errno = 0;
      long long ll = strtoll(text, &end, 0);
      if (errno || !end || *end || end == text) {
         fail(ctx, EINVAL, "vmdb: %s: '%s' is not an integer", path, text);
         return stage_fail(ctx, EINVAL);
      }
      v.type = VMDB_TYPE_INT;
      v.i = ll;
   } else {
      v.type = VMDB_TYPE_BOOL;
      if (!g_ascii_strcasecmp(text, "true") || !strcmp(text, "1") ||
          !g_ascii_strcasecmp(text, "yes")) {
         v.b = true;
      } else if (!g_ascii_strcasecmp(text, "false") || !strcmp(text, "0") ||
                 !g_ascii_strcasecmp(text, "no")) {
         v.b = false;
      } else {
         fail(ctx, EINVAL, "vmdb: %s: '%s' is not a boolean", path, text);
         return stage_fail(ctx, EINVAL);
      }
   }
   int r = vmdb_set(ctx, path, &v);
   vmdb_value_clear(&v);
   return r;
}

int
vmdb_remove(vmdb_ctx *ctx, const char *path)
{
   if (!owner_ok(ctx)) {
      return -EPERM;
   }
   if (!vmdb_path_valid(path)) {
      fail(ctx, EINVAL, "vmdb: %s: not a valid path", path ? path : "(null)");
      return stage_fail(ctx, EINVAL);
   }
   op *o = g_new0(op, 1);
   o->path = g_strdup(path);
   o->remove = true;
   return stage(ctx, o);
}

/* ------------------------------------------------------------------ reads */

/* Look at staged ops: 1 = value found, 0 = removed by the tx, -1 = no say. */
static int
staged_lookup(vmdb_ctx *ctx, const char *path, vmdb_value *out)
{
   if (!ctx->in_tx) {
      return -1;
   }
   for (guint i = ctx->tx_ops->len; i-- > 0;) {
      op *o = g_ptr_array_index(ctx->tx_ops, i);
      if (o->remove && vmdb_path_under(path, o->path)) {
         return 0;
      }
      if (!o->remove && strcmp(o->path, path) == 0) {
         if (out) {
            vmdb_value_copy(out, &o->v);
         }
         return 1;
      }
   }
   return -1;
}

int
vmdb_get(vmdb_ctx *ctx, const char *path, vmdb_value *out)
{
   memset(out, 0, sizeof *out);
   if (!owner_ok(ctx)) {
      return -EPERM;
   }
   if (!vmdb_path_valid(path)) {
      return fail(ctx, EINVAL, "vmdb: %s: not a valid path", path ? path : "(null)");
   }
   const vmdb_value *dflt = NULL;
   vmdb_type t = vmdb_schema_lookup(ctx->db->schema, path, &dflt, NULL);
   int st = staged_lookup(ctx, path, out);
   if (st == 1) {
      return 0;
   }
   if (st == -1) {
      pthread_rwlock_rdlock(&ctx->db->lock);
      node *n = node_find(ctx->db->root, path, false, NULL);
      if (n && n->v.type != VMDB_TYPE_NONE) {
         vmdb_value_copy(out, &n->v);
         pthread_rwlock_unlock(&ctx->db->lock);
         return 0;
      }
      pthread_rwlock_unlock(&ctx->db->lock);
   }
   if (t == VMDB_TYPE_NONE) {
      return fail(ctx, ENOENT, "vmdb: %s: path not declared in the schema", path);
   }
   vmdb_value_copy(out, dflt);
   return 0;
}

char *
vmdb_get_str(vmdb_ctx *ctx, const char *path)
{
   vmdb_value v;
   if (vmdb_get(ctx, path, &v) < 0) {
      return NULL;
   }
   if (v.type != VMDB_TYPE_STRING) {
      char *s = vmdb_value_format(&v);
      vmdb_value_clear(&v);
      return s;
   }
   return v.s;
}

int64_t
vmdb_get_int(vmdb_ctx *ctx, const char *path, int64_t fallback)
{
   vmdb_value v;
   if (vmdb_get(ctx, path, &v) < 0 || v.type != VMDB_TYPE_INT) {
      vmdb_value_clear(&v);
      return fallback;
   }
   return v.i;
}

bool
vmdb_get_bool(vmdb_ctx *ctx, const char *path, bool fallback)
{
   vmdb_value v;
   if (vmdb_get(ctx, path, &v) < 0 || v.type != VMDB_TYPE_BOOL) {
      vmdb_value_clear(&v);
      return fallback;
   }
   return v.b;
}

bool
vmdb_has(vmdb_ctx *ctx, const char *path)
{
   if (!vmdb_path_valid(path) || !owner_ok(ctx)) {
      return false;
   }
   int st = staged_lookup(ctx, path, NULL);
   if (st >= 0) {
      return st == 1;
   }
   pthread_rwlock_rdlock(&ctx->db->lock);
   node *n = node_find(ctx->db->root, path, false, NULL);
   bool r = n && n->v.type != VMDB_TYPE_NONE;
   pthread_rwlock_unlock(&ctx->db->lock);
   return r;
}

char **
vmdb_list(vmdb_ctx *ctx, const char *path)
{
   GPtrArray *names = g_ptr_array_new();
   if (vmdb_path_valid(path) && owner_ok(ctx)) {
      pthread_rwlock_rdlock(&ctx->db->lock);
      node *n = node_find(ctx->db->root, path, false, NULL);
      if (n && n->children) {
         for (GTreeNode *tn = g_tree_node_first(n->children); tn; tn = g_tree_node_next(tn)) {
            g_ptr_array_add(names, g_strdup(((node *)g_tree_node_value(tn))->name));
         }
      }
      pthread_rwlock_unlock(&ctx->db->lock);
   }
   g_ptr_array_add(names, NULL);
   return (char **)g_ptr_array_free(names, FALSE);
}

static void
walk(node *n, const char *path, vmdb_foreach_fn fn, void *user)
{
   if (n->v.type != VMDB_TYPE_NONE) {
      fn(path, &n->v, user);
   }
   if (!n->children) {
      return;
   }
   for (GTreeNode *tn = g_tree_node_first(n->children); tn; tn = g_tree_node_next(tn)) {
      node *child = g_tree_node_value(tn);
      char *cp = strcmp(path, "/") == 0 ? g_strconcat("/", child->name, NULL)
                                        : g_strconcat(path, "/", child->name, NULL);
      walk(child, cp, fn, user);
      g_free(cp);
   }
}

void
vmdb_foreach(vmdb_ctx *ctx, const char *subtree, vmdb_foreach_fn fn, void *user)
{
   if (!vmdb_path_valid(subtree) || !owner_ok(ctx)) {
      return;
   }
   pthread_rwlock_rdlock(&ctx->db->lock);
   node *n = node_find(ctx->db->root, subtree, false, NULL);
   if (n) {
      walk(n, subtree, fn, user);
   }
   pthread_rwlock_unlock(&ctx->db->lock);
}

/* ------------------------------------------------------------ dump / load */

static void
dump_one(const char *path, const vmdb_value *v, void *user)
{
   char *f = vmdb_value_format(v);
   g_string_append_printf(user, "%s = %s\n", path, f);
   g_free(f);
}

char *
vmdb_dump(vmdb_ctx *ctx, const char *subtree)
{
   GString *s = g_string_new(NULL);
   vmdb_foreach(ctx, subtree, dump_one, s);
   return g_string_free(s, FALSE);
}

int
vmdb_load(vmdb_ctx *ctx, const char *text)
{
   if (!owner_ok(ctx)) {
      return -EPERM;
   }
   bool outer = ctx->in_tx;
   if (!outer) {
      vmdb_tx_begin(ctx);
   }
   char **lines = g_strsplit(text, "\n", -1);
   int lineno = 0;
   int r = 0;
   for (char **l = lines; *l && r == 0; l++) {
      lineno++;
      char *line = g_strstrip(g_strdup(*l));
      if (*line == '\0' || *line == '#') {
         g_free(line);
         continue;
      }
      char *eq = strstr(line, " = ");
      if (!eq) {
         r = fail(ctx, EINVAL, "vmdb load: line %d: expected 'PATH = VALUE'", lineno);
         g_free(line);
         break;
      }
      *eq = '\0';
      const char *path = line;
      const char *val = eq + 3;
      vmdb_value v;
      char *err = NULL;
      if (!vmdb_value_parse(val, &v, &err)) {
         r = fail(ctx, EINVAL, "vmdb load: line %d: %s: %s", lineno, path, err);
         g_free(err);
      } else {
         r = vmdb_set(ctx, path, &v);
         if (r < 0) {
            char *m = g_strdup(ctx->error);
            fail(ctx, -r, "vmdb load: line %d: %s", lineno, m);
            g_free(m);
         }
         vmdb_value_clear(&v);
      }
      g_free(line);
   }
   g_strfreev(lines);
   if (r < 0) {
      if (!outer) {
         vmdb_tx_abort(ctx);
      } else if (!ctx->tx_error) {
         ctx->tx_error = g_strdup(ctx->error);
         ctx->tx_errno = -r;
      }
      return r;
   }
   return outer ? 0 : vmdb_tx_commit(ctx);
}
