/*
 * lib/vmdb/vmdb.h - VMDB: a hierarchical, typed publish/subscribe store.
 *
 * A VMDB instance (vmdb_db) is a tree of nodes addressed by paths
 * ("/vm/runtime/powerState"). Array elements are segments that start with
 * '#' ("/vm/cmd/#12/op"). Every settable path is declared in a schema with
 * its type, default and description; setting an undeclared path or a value
 * of the wrong type is refused with a message that names the path.
 *
 * Threads never touch the tree directly: each thread owns a context
 * (vmdb_ctx) and reads, writes and subscribes through it. Callbacks run only
 * on the owning thread, from vmdb_ctx_dispatch(), which the thread's poll
 * loop calls when vmdb_ctx_fd() becomes readable (vmdb_ctx_attach() does
 * this for a GMainContext). Changes queued between two dispatches are merged
 * into one notification that lists every changed path.
 *
 * Errors: functions that can fail return 0 or a negative errno value; the
 * message (which names the path) is in vmdb_ctx_error().
 */
#ifndef VMWS_VMDB_H
#define VMWS_VMDB_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMDB_PATH_MAX 1024
#define VMDB_STRING_MAX (1u << 20)

typedef enum vmdb_type {
   VMDB_TYPE_NONE = 0,
   VMDB_TYPE_STRING = 1,
   VMDB_TYPE_INT = 2,
   VMDB_TYPE_BOOL = 3,
} vmdb_type;

typedef struct vmdb_value {
   vmdb_type type;
   union {
      char *s;      /* owned by whoever holds the value */
      int64_t i;
      bool b;
   };
} vmdb_value;

typedef struct vmdb_schema vmdb_schema;
typedef struct vmdb_db vmdb_db;
typedef struct vmdb_ctx vmdb_ctx;

/* ---- values */
const char *vmdb_type_name(vmdb_type t);
void vmdb_value_clear(vmdb_value *v);
void vmdb_value_copy(vmdb_value *dst, const vmdb_value *src);
bool vmdb_value_equal(const vmdb_value *a, const vmdb_value *b);
/* Human form: strings quoted with C escapes, integers decimal, true/false. */
char *vmdb_value_format(const vmdb_value *v);
/* Parse the human form back; the type comes from the text. */
bool vmdb_value_parse(const char *text, vmdb_value *out, char **err);

/* ---- paths */
/* True if path is absolute, has no empty segment, no trailing slash, and
 * only allowed characters. */
bool vmdb_path_valid(const char *path);
/* True if path equals prefix or lies below it. */
bool vmdb_path_under(const char *path, const char *prefix);

/* ---- schema */
vmdb_schema *vmdb_schema_parse(const char *text, const char *filename, char **err);
vmdb_schema *vmdb_schema_load(const char *filename, char **err);
/* The schema in data/vmdb-schema.txt, compiled into the library. */
vmdb_schema *vmdb_schema_builtin(void);
void vmdb_schema_unref(vmdb_schema *s);
vmdb_schema *vmdb_schema_ref(vmdb_schema *s);
/* Type and default of a concrete path, or VMDB_TYPE_NONE if undeclared. */
vmdb_type vmdb_schema_lookup(const vmdb_schema *s, const char *path,
                             const vmdb_value **dflt, const char **desc);

/* ---- the store */
vmdb_db *vmdb_db_new(vmdb_schema *schema);
vmdb_db *vmdb_db_ref(vmdb_db *db);
void vmdb_db_unref(vmdb_db *db);
vmdb_schema *vmdb_db_schema(vmdb_db *db);

/* ---- contexts */
typedef enum vmdb_ctx_flags {
   VMDB_CTX_DEFAULT = 0,
   /* Deliver every change in commit order instead of merging by path
    * (pipes use it so that nothing is lost or reordered on the wire). */
   VMDB_CTX_JOURNAL = 1 << 0,
   /* Also notify this context of its own writes. */
   VMDB_CTX_NOTIFY_SELF = 1 << 1,
} vmdb_ctx_flags;

/* The calling thread becomes the owner. */
vmdb_ctx *vmdb_ctx_new(vmdb_db *db, vmdb_ctx_flags flags);
void vmdb_ctx_free(vmdb_ctx *ctx);
vmdb_db *vmdb_ctx_db(vmdb_ctx *ctx);
const char *vmdb_ctx_error(vmdb_ctx *ctx);

typedef struct vmdb_change {
   const char *path;
   vmdb_value value;      /* VMDB_TYPE_NONE when removed */
   bool removed;
   uint64_t txn;          /* commit number: changes of one commit share it */
   const void *origin;    /* opaque tag of the writer (vmdb_ctx_set_origin) */
} vmdb_change;

/* A callback gets the changes under the path it subscribed to. In the
 * default mode each path appears once with its latest value, sorted; in
 * journal mode every change appears in commit order. */
typedef void (*vmdb_callback)(vmdb_ctx *ctx, const vmdb_change *changes,
                              size_t n, void *user);

/* Subscribe to path and everything below it. Returns an id > 0. */
unsigned vmdb_subscribe(vmdb_ctx *ctx, const char *path, vmdb_callback cb, void *user);
void vmdb_unsubscribe(vmdb_ctx *ctx, unsigned id);

/* An eventfd that is readable while notifications are pending. */
int vmdb_ctx_fd(vmdb_ctx *ctx);
/* Runs pending callbacks on the calling (owning) thread; returns how many
 * notifications were delivered. */
int vmdb_ctx_dispatch(vmdb_ctx *ctx);
/* Attach to a GMainContext (NULL: the thread default). */
void vmdb_ctx_attach(vmdb_ctx *ctx, GMainContext *mc);
/* Tag carried in vmdb_change.origin of writes made through this context
 * until changed (pipes use it to avoid echoing a peer's writes back). */
void vmdb_ctx_set_origin(vmdb_ctx *ctx, const void *origin);

/* ---- reads and writes (through a context, on its owning thread) */
int vmdb_set(vmdb_ctx *ctx, const char *path, const vmdb_value *v);
int vmdb_set_str(vmdb_ctx *ctx, const char *path, const char *s);
int vmdb_set_int(vmdb_ctx *ctx, const char *path, int64_t i);
int vmdb_set_bool(vmdb_ctx *ctx, const char *path, bool b);
/* Set from the human text form, converted to the declared type. */
int vmdb_set_text(vmdb_ctx *ctx, const char *path, const char *text);
/* Remove a node and everything below it (notifies each removed value). */
int vmdb_remove(vmdb_ctx *ctx, const char *path);

/* Reads return the declared default for a declared path that is unset. */
int vmdb_get(vmdb_ctx *ctx, const char *path, vmdb_value *out);
char *vmdb_get_str(vmdb_ctx *ctx, const char *path);          /* NULL on error */
int64_t vmdb_get_int(vmdb_ctx *ctx, const char *path, int64_t fallback);
bool vmdb_get_bool(vmdb_ctx *ctx, const char *path, bool fallback);
/* True if a value is stored at path (not only a default). */
bool vmdb_has(vmdb_ctx *ctx, const char *path);
/* Names of the children of a node, sorted; NULL-terminated, g_strfreev. */
char **vmdb_list(vmdb_ctx *ctx, const char *path);

/* ---- transactions: sets and removes between begin and commit become
 * visible to every other context at once, or not at all. Reads through the
 * same context see its own staged writes. */
void vmdb_tx_begin(vmdb_ctx *ctx);
int vmdb_tx_commit(vmdb_ctx *ctx);
void vmdb_tx_abort(vmdb_ctx *ctx);
bool vmdb_tx_active(vmdb_ctx *ctx);

/* ---- text dump/load of a subtree: one "path = value" line each, sorted */
char *vmdb_dump(vmdb_ctx *ctx, const char *subtree);
/* Loads lines as one transaction; on error nothing is applied and the
 * message names the line. */
int vmdb_load(vmdb_ctx *ctx, const char *text);

/* Enumerate every stored value under subtree (sorted), under one read lock. */
typedef void (*vmdb_foreach_fn)(const char *path, const vmdb_value *v, void *user);
void vmdb_foreach(vmdb_ctx *ctx, const char *subtree, vmdb_foreach_fn fn, void *user);

#endif
