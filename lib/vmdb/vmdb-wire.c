/*
 * lib/vmdb/vmdb-wire.c - encode and decode VMDB pipe messages.
 */
#include "lib/vmdb/vmdb-wire.h"

#include <string.h>

typedef struct rd {
   const uint8_t *p;
   size_t left;
   char *err;
} rd;

static bool
rd_fail(rd *r, const char *what)
{
   if (!r->err) {
      r->err = g_strdup(what);
   }
   return false;
}

static bool
rd_bytes(rd *r, void *dst, size_t n, const char *what)
{
   if (r->left < n) {
      return rd_fail(r, what);
   }
   memcpy(dst, r->p, n);
   r->p += n;
   r->left -= n;
   return true;
}

static bool
rd_u8(rd *r, uint8_t *v, const char *what)
{
   return rd_bytes(r, v, 1, what);
}

static bool
rd_u16(rd *r, uint16_t *v, const char *what)
{
   uint8_t b[2];
   if (!rd_bytes(r, b, 2, what)) {
      return false;
   }
   *v = (uint16_t)(b[0] | b[1] << 8);
   return true;
}

static bool
rd_u32(rd *r, uint32_t *v, const char *what)
{
   uint8_t b[4];
   if (!rd_bytes(r, b, 4, what)) {
      return false;
   }
   *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
   return true;
}

static bool
rd_u64(rd *r, uint64_t *v, const char *what)
{
   uint32_t lo, hi;
   if (!rd_u32(r, &lo, what) || !rd_u32(r, &hi, what)) {
      return false;
   }
   *v = (uint64_t)hi << 32 | lo;
   return true;
}

/* A string of n bytes that must not contain NUL. */
static bool
rd_str(rd *r, size_t n, char **out, const char *what)
{
   if (r->left < n) {
      return rd_fail(r, what);
   }
   if (memchr(r->p, '\0', n)) {
      return rd_fail(r, "string contains a NUL byte");
   }
   *out = g_strndup((const char *)r->p, n);
   r->p += n;
   r->left -= n;
   return true;
}

static bool
rd_str16(rd *r, char **out, const char *what)
{
   uint16_t n;
   return rd_u16(r, &n, what) && rd_str(r, n, out, what);
}

static bool
rd_value(rd *r, vmdb_value *v)
{
   uint8_t t;
   memset(v, 0, sizeof *v);
   if (!rd_u8(r, &t, "truncated value type")) {
      return false;
   }
   switch (t) {
   case VMDB_TYPE_STRING: {
      uint32_t n;
      if (!rd_u32(r, &n, "truncated string length")) {
         return false;
      }
      if (n > VMDB_STRING_MAX) {
         return rd_fail(r, "string value too long");
      }
      char *s;
      if (!rd_str(r, n, &s, "truncated string value")) {
         return false;
      }
      v->type = VMDB_TYPE_STRING;
      v->s = s;
      return true;
   }
   case VMDB_TYPE_INT: {
      uint64_t u;
      if (!rd_u64(r, &u, "truncated integer value")) {
         return false;
      }
      v->type = VMDB_TYPE_INT;
      v->i = (int64_t)u;
      return true;
   }
   case VMDB_TYPE_BOOL: {
      uint8_t b;
      if (!rd_u8(r, &b, "truncated boolean value")) {
         return false;
      }
      if (b > 1) {
         return rd_fail(r, "boolean value is neither 0 nor 1");
      }
      v->type = VMDB_TYPE_BOOL;
      v->b = b;
      return true;
   }
   default:
      return rd_fail(r, "unknown value type");
   }
}

static void
item_clear(gpointer p)
{
   vmdb_wire_item *it = p;
   g_free(it->path);
   vmdb_value_clear(&it->value);
}

void
vmdb_msg_clear(vmdb_msg *msg)
{
   g_free(msg->text);
   if (msg->items) {
      g_array_free(msg->items, TRUE);
   }
   memset(msg, 0, sizeof *msg);
}

bool
vmdb_wire_decode(const uint8_t *body, size_t len, vmdb_msg *msg, char **err)
{
   rd r = { body, len, NULL };
   uint8_t type = 0;
   memset(msg, 0, sizeof *msg);
   if (len > VMDB_WIRE_FRAME_MAX) {
      rd_fail(&r, "frame too large");
      goto bad;
   }
   if (!rd_u8(&r, &type, "empty frame")) {
      goto bad;
   }
   msg->type = type;
   switch (type) {
   case VMDB_MSG_HELLO: {
      uint32_t magic;
      if (!rd_u32(&r, &magic, "truncated hello") || !rd_u16(&r, &msg->version, "truncated hello") ||
          !rd_str16(&r, &msg->text, "truncated hello subtree")) {
         goto bad;
      }
      if (magic != VMDB_WIRE_MAGIC) {
         rd_fail(&r, "bad magic in hello");
         goto bad;
      }
      if (!vmdb_path_valid(msg->text)) {
         rd_fail(&r, "hello names an invalid subtree");
         goto bad;
      }
      break;
   }
   case VMDB_MSG_SYNC_BEGIN:
   case VMDB_MSG_SYNC_END:
      break;
   case VMDB_MSG_ERROR:
      if (!rd_str16(&r, &msg->text, "truncated error message")) {
         goto bad;
      }
      break;
   case VMDB_MSG_TXN: {
      uint32_t count;
      if (!rd_u32(&r, &count, "truncated transaction")) {
         goto bad;
      }
      if (count == 0 || count > VMDB_WIRE_TXN_MAX) {
         rd_fail(&r, "transaction item count out of range");
         goto bad;
      }
      /* Each item takes at least 4 bytes: do not trust count for memory. */
      if (count > r.left / 4) {
         rd_fail(&r, "transaction item count exceeds frame");
         goto bad;
      }
      msg->items = g_array_sized_new(FALSE, TRUE, sizeof(vmdb_wire_item), count);
      g_array_set_clear_func(msg->items, item_clear);
      for (uint32_t i = 0; i < count; i++) {
         uint8_t kind;
         vmdb_wire_item it = { 0 };
         if (!rd_u8(&r, &kind, "truncated item") || !rd_str16(&r, &it.path, "truncated item path")) {
            item_clear(&it);
            goto bad;
         }
         if (!vmdb_path_valid(it.path)) {
            item_clear(&it);
            rd_fail(&r, "item path is not a valid VMDB path");
            goto bad;
         }
         if (kind == 1) {
            if (!rd_value(&r, &it.value)) {
               item_clear(&it);
               goto bad;
            }
         } else if (kind == 2) {
            it.remove = true;
         } else {
            item_clear(&it);
            rd_fail(&r, "unknown item kind");
            goto bad;
         }
         g_array_append_val(msg->items, it);
      }
      break;
   }
   default:
      rd_fail(&r, "unknown message type");
      goto bad;
   }
   if (r.left != 0) {
      rd_fail(&r, "trailing bytes after message");
      goto bad;
   }
   return true;
bad:
   if (err) {
      *err = r.err;
   } else {
      g_free(r.err);
   }
   vmdb_msg_clear(msg);
   return false;
}

/* ---- encoding */

static void
put_u8(GByteArray *o, uint8_t v)
{
   g_byte_array_append(o, &v, 1);
}

static void
put_u16(GByteArray *o, uint16_t v)
{
   uint8_t b[2] = { v & 0xff, v >> 8 };
   g_byte_array_append(o, b, 2);
}

static void
put_u32(GByteArray *o, uint32_t v)
{
   uint8_t b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24 };
   g_byte_array_append(o, b, 4);
}

static void
put_str16(GByteArray *o, const char *s)
{
   size_t n = strlen(s);
   if (n > 0xffff) {
      n = 0xffff;
   }
   put_u16(o, (uint16_t)n);
   g_byte_array_append(o, (const guint8 *)s, (guint)n);
}

static size_t
frame_begin(GByteArray *o, vmdb_msg_type t)
{
   size_t start = o->len;
   put_u32(o, 0);
   put_u8(o, t);
   return start;
}

static void
frame_end(GByteArray *o, size_t start)
{
   uint32_t n = (uint32_t)(o->len - start - 4);
   uint8_t *p = o->data + start;
   p[0] = n & 0xff;
   p[1] = (n >> 8) & 0xff;
   p[2] = (n >> 16) & 0xff;
   p[3] = n >> 24;
}

void
vmdb_wire_hello(GByteArray *out, const char *subtree)
{
   size_t s = frame_begin(out, VMDB_MSG_HELLO);
   put_u32(out, VMDB_WIRE_MAGIC);
   put_u16(out, VMDB_WIRE_VERSION);
   put_str16(out, subtree);
   frame_end(out, s);
}

void
vmdb_wire_simple(GByteArray *out, vmdb_msg_type type)
{
   size_t s = frame_begin(out, type);
   frame_end(out, s);
}

void
vmdb_wire_error(GByteArray *out, const char *message)
{
   size_t s = frame_begin(out, VMDB_MSG_ERROR);
   put_str16(out, message);
   frame_end(out, s);
}

size_t
vmdb_wire_txn_begin(GByteArray *out)
{
   size_t s = frame_begin(out, VMDB_MSG_TXN);
   put_u32(out, 0);
   return s;
}

void
vmdb_wire_txn_set(GByteArray *out, const char *path, const vmdb_value *v)
{
   put_u8(out, 1);
   put_str16(out, path);
   put_u8(out, (uint8_t)v->type);
   switch (v->type) {
   case VMDB_TYPE_STRING: {
      size_t n = strlen(v->s ? v->s : "");
      put_u32(out, (uint32_t)n);
      g_byte_array_append(out, (const guint8 *)(v->s ? v->s : ""), (guint)n);
      break;
   }
   case VMDB_TYPE_INT:
      put_u32(out, (uint32_t)(uint64_t)v->i);
      put_u32(out, (uint32_t)((uint64_t)v->i >> 32));
      break;
   case VMDB_TYPE_BOOL:
      put_u8(out, v->b ? 1 : 0);
      break;
   case VMDB_TYPE_NONE:
      break;
   }
}

void
vmdb_wire_txn_remove(GByteArray *out, const char *path)
{
   put_u8(out, 2);
   put_str16(out, path);
}

void
vmdb_wire_txn_end(GByteArray *out, size_t start, uint32_t count)
{
   uint8_t *p = out->data + start + 5;
   p[0] = count & 0xff;
   p[1] = (count >> 8) & 0xff;
   p[2] = (count >> 16) & 0xff;
   p[3] = count >> 24;
   frame_end(out, start);
}
