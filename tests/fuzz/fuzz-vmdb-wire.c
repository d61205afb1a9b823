/*
 * tests/fuzz/fuzz-vmdb-wire.c - libFuzzer target for the VMDB pipe's frame
 * decoder (lib/vmdb/vmdb-wire.c).
 *
 * The input is one frame body (what follows the 32-bit length). Besides
 * "never crashes, never leaks", it checks these properties and aborts when
 * one fails:
 *
 *   1. A refused body leaves an error message and a cleared message.
 *   2. A decoded message re-encodes to exactly the input (the format has
 *      one encoding per message), with a correct length prefix. HELLO is
 *      the one exception: the encoder always writes our version, so the
 *      version field is compared through the decoded value instead.
 *   3. The re-encoded body decodes again to an equal message.
 *   4. Every decoded path is a valid VMDB path, and every decoded value
 *      survives vmdb_value_format -> vmdb_value_parse unchanged (the text
 *      form vmdb_dump and vmdb_load use).
 */
#include "lib/vmdb/vmdb-wire.h"
#include "tests/fuzz/fuzz-common.h"

#include <string.h>

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
   fuzz_glib_use_malloc(*argv);
   return 0;
}

static const char *
type_name(vmdb_msg_type t)
{
   switch (t) {
   case VMDB_MSG_HELLO: return "HELLO";
   case VMDB_MSG_SYNC_BEGIN: return "SYNC_BEGIN";
   case VMDB_MSG_SYNC_END: return "SYNC_END";
   case VMDB_MSG_TXN: return "TXN";
   case VMDB_MSG_ERROR: return "ERROR";
   }
   return "?";
}

static void
encode(const vmdb_msg *m, GByteArray *out)
{
   switch (m->type) {
   case VMDB_MSG_HELLO:
      vmdb_wire_hello(out, m->text);
      break;
   case VMDB_MSG_SYNC_BEGIN:
   case VMDB_MSG_SYNC_END:
      vmdb_wire_simple(out, m->type);
      break;
   case VMDB_MSG_ERROR:
      vmdb_wire_error(out, m->text);
      break;
   case VMDB_MSG_TXN: {
      size_t start = vmdb_wire_txn_begin(out);
      for (guint i = 0; i < m->items->len; i++) {
         const vmdb_wire_item *it = &g_array_index(m->items, vmdb_wire_item, i);
         if (it->remove) {
            vmdb_wire_txn_remove(out, it->path);
         } else {
            vmdb_wire_txn_set(out, it->path, &it->value);
         }
      }
      vmdb_wire_txn_end(out, start, m->items->len);
      break;
   }
   }
}

static bool
str_eq(const char *a, const char *b)
{
   return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* NULL if equal, else what differs. */
static const char *
msg_diff(const vmdb_msg *a, const vmdb_msg *b)
{
   if (a->type != b->type) {
      return "message type";
   }
   if (a->type == VMDB_MSG_HELLO && a->version != b->version) {
      return "HELLO version";
   }
   if (!str_eq(a->text, b->text)) {
      return "text";
   }
   if (!a->items != !b->items) {
      return "presence of items";
   }
   if (!a->items) {
      return NULL;
   }
   if (a->items->len != b->items->len) {
      return "item count";
   }
   for (guint i = 0; i < a->items->len; i++) {
      const vmdb_wire_item *x = &g_array_index(a->items, vmdb_wire_item, i);
      const vmdb_wire_item *y = &g_array_index(b->items, vmdb_wire_item, i);
      if (x->remove != y->remove) {
         return "item kind";
      }
      if (!str_eq(x->path, y->path)) {
         return "item path";
      }
      if (x->value.type != y->value.type || !vmdb_value_equal(&x->value, &y->value)) {
         return "item value";
      }
   }
   return NULL;
}

static void
check_items(const vmdb_msg *m)
{
   if (m->type != VMDB_MSG_TXN) {
      if (m->items) {
         fuzz_fail("%s message came with items", type_name(m->type));
      }
      return;
   }
   if (!m->items || m->items->len == 0) {
      fuzz_fail("TXN decoded without items");
   }
   for (guint i = 0; i < m->items->len; i++) {
      const vmdb_wire_item *it = &g_array_index(m->items, vmdb_wire_item, i);
      if (!vmdb_path_valid(it->path)) {
         fuzz_fail("item %u: decoded path '%s' is not a valid VMDB path", i, it->path);
      }
      if (it->remove) {
         if (it->value.type != VMDB_TYPE_NONE) {
            fuzz_fail("item %u: a remove carries a value", i);
         }
         continue;
      }
      if (it->value.type == VMDB_TYPE_NONE) {
         fuzz_fail("item %u: a set has no value", i);
      }
      char *text = vmdb_value_format(&it->value);
      vmdb_value back;
      char *err = NULL;
      if (!vmdb_value_parse(text, &back, &err)) {
         fuzz_fail("item %u: vmdb_value_parse refuses vmdb_value_format's output %s: %s", i,
                   text, err);
      }
      if (back.type != it->value.type || !vmdb_value_equal(&back, &it->value)) {
         char *again = vmdb_value_format(&back);
         fuzz_fail("item %u: value %s parses back as %s (%s)", i, text, again,
                   vmdb_type_name(back.type));
      }
      vmdb_value_clear(&back);
      g_free(text);
   }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   vmdb_msg m;
   char *err = NULL;
   if (!vmdb_wire_decode(data, size, &m, &err)) {
      if (!err || !*err) {
         fuzz_fail("decode refused the body without a message");
      }
      if (m.text || m.items) {
         fuzz_fail("decode refused the body (%s) but left data in the message", err);
      }
      g_free(err);
      return 0;
   }
   if (err) {
      fuzz_fail("decode succeeded but set an error: %s", err);
   }
   if ((m.type == VMDB_MSG_HELLO || m.type == VMDB_MSG_ERROR) && !m.text) {
      fuzz_fail("%s decoded without its text", type_name(m.type));
   }
   check_items(&m);

   GByteArray *out = g_byte_array_new();
   encode(&m, out);
   if (out->len < 4) {
      fuzz_fail("encoder wrote %u bytes: not even a length prefix", out->len);
   }
   uint32_t framed = (uint32_t)out->data[0] | (uint32_t)out->data[1] << 8 |
                     (uint32_t)out->data[2] << 16 | (uint32_t)out->data[3] << 24;
   if (framed != out->len - 4) {
      fuzz_fail("%s: length prefix says %u, body has %u bytes", type_name(m.type), framed,
                out->len - 4);
   }
   uint8_t *body = out->data + 4;
   size_t body_len = out->len - 4;
   if (m.type == VMDB_MSG_HELLO && body_len >= 7) {
      /* type, magic, then the version the encoder chose: put ours back */
      body[5] = (uint8_t)(m.version & 0xff);
      body[6] = (uint8_t)(m.version >> 8);
   }
   if (body_len != size || memcmp(body, data, size) != 0) {
      size_t at = 0;
      while (at < size && at < body_len && body[at] == data[at]) {
         at++;
      }
      fuzz_fail("%s: re-encoding gives %zu bytes, input had %zu; first difference at %zu",
                type_name(m.type), body_len, size, at);
   }

   vmdb_msg again;
   char *err2 = NULL;
   if (!vmdb_wire_decode(body, body_len, &again, &err2)) {
      fuzz_fail("%s: the re-encoded body does not decode: %s", type_name(m.type), err2);
   }
   const char *diff = msg_diff(&m, &again);
   if (diff) {
      fuzz_fail("%s: round trip changed the %s", type_name(m.type), diff);
   }
   vmdb_msg_clear(&again);
   vmdb_msg_clear(&m);
   g_byte_array_free(out, TRUE);
   return 0;
}
