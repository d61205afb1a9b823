/*
 * tests/fuzz/gen-vmdb-seeds.c - write seed inputs for the VMDB fuzz targets,
 * built with the real encoders so they stay valid when the format changes.
 *
 *   gen-vmdb-seeds OUTDIR
 *
 * writes OUTDIR/fuzz-vmdb-wire/<name> (one frame body each) and
 * OUTDIR/fuzz-vmdb-pipe-stream/<name> (a peer's byte stream: frames with
 * their length prefix, starting with HELLO) and OUTDIR/fuzz-vmdb-pipe-client/
 * <name> (a server's byte stream: HELLO, the initial sync, then changes).
 * The files checked in under
 * tests/fuzz/corpus/ were made by this program.
 */
#include "lib/vmdb/vmdb-wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *outdir;
static int failures;

static void
save(const char *target, const char *name, const guint8 *data, size_t len)
{
   char *dir = g_build_filename(outdir, target, NULL);
   char *path = g_build_filename(dir, name, NULL);
   GError *e = NULL;
   if (g_mkdir_with_parents(dir, 0755) < 0) {
      fprintf(stderr, "gen-vmdb-seeds: cannot create %s: %s\n", dir, g_strerror(errno));
      failures++;
   } else if (!g_file_set_contents(path, (const char *)data, (gssize)len, &e)) {
      fprintf(stderr, "gen-vmdb-seeds: %s\n", e->message);
      g_error_free(e);
      failures++;
   }
   g_free(path);
   g_free(dir);
}

/* A frame for the wire target: the body only. */
static void
save_body(const char *name, GByteArray *frame)
{
   save("fuzz-vmdb-wire", name, frame->data + 4, frame->len - 4);
   g_byte_array_set_size(frame, 0);
}

static void
save_stream(const char *name, GByteArray *stream)
{
   save("fuzz-vmdb-pipe-stream", name, stream->data, stream->len);
   g_byte_array_set_size(stream, 0);
}

static void
save_client(const char *name, GByteArray *stream)
{
   save("fuzz-vmdb-pipe-client", name, stream->data, stream->len);
   g_byte_array_set_size(stream, 0);
}

static void
txn_set_int(GByteArray *o, const char *path, int64_t i)
{
   size_t s = vmdb_wire_txn_begin(o);
   vmdb_value v = { .type = VMDB_TYPE_INT, .i = i };
   vmdb_wire_txn_set(o, path, &v);
   vmdb_wire_txn_end(o, s, 1);
}

int
main(int argc, char **argv)
{
   if (argc != 2) {
      fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
      return 2;
   }
   outdir = argv[1];
   GByteArray *f = g_byte_array_new();
   vmdb_value vs = { .type = VMDB_TYPE_STRING, .s = (char *)"a \"quoted\"\tvalue\x7f" };
   vmdb_value vi = { .type = VMDB_TYPE_INT, .i = -42 };
   vmdb_value vb = { .type = VMDB_TYPE_BOOL, .b = true };

   /* ---- single frame bodies */
   vmdb_wire_hello(f, "/test");
   save_body("hello", f);
   vmdb_wire_simple(f, VMDB_MSG_SYNC_BEGIN);
   save_body("sync-begin", f);
   vmdb_wire_simple(f, VMDB_MSG_SYNC_END);
   save_body("sync-end", f);
   vmdb_wire_error(f, "vmdb pipe: write to /test/str refused");
   save_body("error", f);
   size_t s = vmdb_wire_txn_begin(f);
   vmdb_wire_txn_set(f, "/test/str", &vs);
   vmdb_wire_txn_set(f, "/test/int", &vi);
   vmdb_wire_txn_set(f, "/test/bool", &vb);
   vmdb_wire_txn_remove(f, "/test/arr/#x");
   vmdb_wire_txn_end(f, s, 4);
   save_body("txn-mixed", f);
   txn_set_int(f, "/test/counter", 1);
   save_body("txn-int", f);

   /* ---- peer streams into a server pipe on /test */
   GByteArray *st = g_byte_array_new();
   vmdb_wire_hello(st, "/test");
   txn_set_int(st, "/test/echo", 1);
   txn_set_int(st, "/test/echo", 2);
   save_stream("echo", st);

   vmdb_wire_hello(st, "/test");
   s = vmdb_wire_txn_begin(st);
   vmdb_value name = { .type = VMDB_TYPE_STRING, .s = (char *)"disk0" };
   vmdb_wire_txn_set(st, "/test/arr/#b/name", &name);
   vmdb_wire_txn_set(st, "/test/arr/#b/size", &vi);
   vmdb_wire_txn_remove(st, "/test/arr/#a");
   vmdb_wire_txn_end(st, s, 3);
   save_stream("array", st);

   vmdb_wire_hello(st, "/test");
   s = vmdb_wire_txn_begin(st);
   vmdb_wire_txn_set(st, "/test/int", &vi);
   vmdb_wire_txn_set(st, "/test/str", &vs); /* not writable: refused whole */
   vmdb_wire_txn_end(st, s, 2);
   save_stream("refused", st);

   /* refused writes of each kind: nothing of them may be applied */
   vmdb_wire_hello(st, "/test");
   s = vmdb_wire_txn_begin(st);
   vmdb_wire_txn_set(st, "/test/echo", &vi);
   vmdb_wire_txn_set(st, "/test/other/x", &vi);
   vmdb_wire_txn_end(st, s, 2);
   s = vmdb_wire_txn_begin(st);
   vmdb_wire_txn_set(st, "/test/bool", &vb);
   vmdb_wire_txn_end(st, s, 1);
   save_stream("refused-int-bool", st);

   vmdb_wire_hello(st, "/test");
   s = vmdb_wire_txn_begin(st);
   vmdb_value dname = { .type = VMDB_TYPE_STRING, .s = (char *)"outside" };
   vmdb_wire_txn_set(st, "/vm/displayName", &dname); /* outside the subtree */
   vmdb_wire_txn_end(st, s, 1);
   s = vmdb_wire_txn_begin(st);
   vmdb_wire_txn_remove(st, "/test"); /* a parent of what may be written */
   vmdb_wire_txn_end(st, s, 1);
   s = vmdb_wire_txn_begin(st);
   vmdb_wire_txn_remove(st, "/test/other");
   vmdb_wire_txn_end(st, s, 1);
   save_stream("refused-outside-remove", st);

   vmdb_wire_hello(st, "/test");
   s = vmdb_wire_txn_begin(st);
   vmdb_wire_txn_set(st, "/test/int", &vs); /* wrong type: commit fails */
   vmdb_wire_txn_end(st, s, 1);
   save_stream("wrong-type", st);

   vmdb_wire_hello(st, "/test");
   vmdb_wire_error(st, "peer complains");
   vmdb_wire_simple(st, VMDB_MSG_SYNC_BEGIN); /* a server never gets one */
   save_stream("error-then-sync", st);

   vmdb_wire_hello(st, "/test");
   txn_set_int(st, "/test/echo", 5);
   txn_set_int(st, "/test/echo", 6);
   g_byte_array_set_size(st, st->len - 3); /* ends inside a frame */
   save_stream("truncated", st);

   vmdb_wire_hello(st, "/vm");
   save_stream("wrong-subtree", st);

   /* ---- server streams into a client pipe on /test */
   vmdb_wire_hello(st, "/test");
   vmdb_wire_simple(st, VMDB_MSG_SYNC_BEGIN);
   s = vmdb_wire_txn_begin(st);
   vmdb_wire_txn_set(st, "/test/str", &vs);
   vmdb_wire_txn_set(st, "/test/bool", &vb);
   vmdb_wire_txn_set(st, "/test/arr/#c/name", &name);
   vmdb_wire_txn_end(st, s, 3);
   vmdb_wire_simple(st, VMDB_MSG_SYNC_END);
   txn_set_int(st, "/test/counter", 1);
   s = vmdb_wire_txn_begin(st);
   vmdb_wire_txn_remove(st, "/test/arr");
   vmdb_wire_txn_end(st, s, 1);
   save_client("sync-then-changes", st);

   vmdb_wire_hello(st, "/test");
   vmdb_wire_simple(st, VMDB_MSG_SYNC_BEGIN);
   vmdb_wire_simple(st, VMDB_MSG_SYNC_END);
   save_client("sync-empty", st);

   vmdb_wire_hello(st, "/test");
   vmdb_wire_simple(st, VMDB_MSG_SYNC_BEGIN);
   s = vmdb_wire_txn_begin(st);
   vmdb_wire_txn_set(st, "/test/int", &vs); /* wrong type: the sync is refused */
   vmdb_wire_txn_end(st, s, 1);
   vmdb_wire_simple(st, VMDB_MSG_SYNC_END);
   save_client("sync-wrong-type", st);

   vmdb_wire_hello(st, "/test");
   vmdb_wire_simple(st, VMDB_MSG_SYNC_BEGIN);
   s = vmdb_wire_txn_begin(st);
   vmdb_value dn = { .type = VMDB_TYPE_STRING, .s = (char *)"outside" };
   vmdb_wire_txn_set(st, "/vm/displayName", &dn); /* outside the subtree: skipped */
   vmdb_wire_txn_set(st, "/test/int", &vi);
   vmdb_wire_txn_end(st, s, 2);
   vmdb_wire_error(st, "error during the sync");
   vmdb_wire_simple(st, VMDB_MSG_SYNC_END);
   vmdb_wire_txn_begin(st);
   save_client("sync-outside-then-cut", st);

   vmdb_wire_hello(st, "/test");
   txn_set_int(st, "/test/int", 1); /* before the sync: protocol error */
   save_client("txn-before-sync", st);

   g_byte_array_free(st, TRUE);
   g_byte_array_free(f, TRUE);
   return failures ? 1 : 0;
}
