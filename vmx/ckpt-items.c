/*
 * vmx/ckpt-items.c - typed, named checkpoint items.
 */
#include "vmx/ckpt-items.h"

#include <string.h>

#define TAG_MAX 255
#define SECTION_MAX 255

struct ckpt_writer {
   GByteArray *b;
   uint32_t count;
   size_t count_off;
};

typedef struct item {
   ckpt_type type;
   const uint8_t *val;
   uint32_t len;
} item;

struct ckpt_reader {
   char *section;
   uint32_t version;
   GHashTable *items; /* tag -> item* */
   uint8_t *data;     /* private copy */
   char *error;
};

static void
put_le(GByteArray *b, uint64_t v, unsigned n)
{
   uint8_t tmp[8];
   for (unsigned i = 0; i < n; i++) {
      tmp[i] = (uint8_t)(v >> (8 * i));
   }
   g_byte_array_append(b, tmp, n);
}

static uint64_t
get_le(const uint8_t *p, unsigned n)
{
   uint64_t v = 0;
   for (unsigned i = 0; i < n; i++) {
      v |= (uint64_t)p[i] << (8 * i);
   }
   return v;
}

ckpt_writer *
ckpt_writer_new(const char *section, uint32_t version)
{
   ckpt_writer *w = g_new0(ckpt_writer, 1);
   w->b = g_byte_array_new();
   size_t n = strlen(section);
   g_assert(n > 0 && n <= SECTION_MAX);
   put_le(w->b, n, 2);
   g_byte_array_append(w->b, (const guint8 *)section, (guint)n);
   put_le(w->b, version, 4);
   w->count_off = w->b->len;
   put_le(w->b, 0, 4);
   return w;
}

static void
put_item(ckpt_writer *w, const char *tag, ckpt_type t, const void *p, size_t n)
{
   size_t tn = strlen(tag);
   g_assert(tn > 0 && tn <= TAG_MAX && n <= UINT32_MAX);
   put_le(w->b, tn, 2);
   g_byte_array_append(w->b, (const guint8 *)tag, (guint)tn);
   put_le(w->b, t, 1);
   put_le(w->b, n, 4);
   g_byte_array_append(w->b, p, (guint)n);
   w->count++;
}

static void
put_int(ckpt_writer *w, const char *tag, ckpt_type t, uint64_t v, unsigned n)
{
   uint8_t tmp[8];
   for (unsigned i = 0; i < n; i++) {
      tmp[i] = (uint8_t)(v >> (8 * i));
   }
   put_item(w, tag, t, tmp, n);
}

void ckpt_put_u8(ckpt_writer *w, const char *tag, uint8_t v) { put_int(w, tag, CKPT_U8, v, 1); }
void ckpt_put_u16(ckpt_writer *w, const char *tag, uint16_t v) { put_int(w, tag, CKPT_U16, v, 2); }
void ckpt_put_u32(ckpt_writer *w, const char *tag, uint32_t v) { put_int(w, tag, CKPT_U32, v, 4); }
void ckpt_put_u64(ckpt_writer *w, const char *tag, uint64_t v) { put_int(w, tag, CKPT_U64, v, 8); }

void
ckpt_put_bytes(ckpt_writer *w, const char *tag, const void *p, size_t n)
{
   put_item(w, tag, CKPT_BYTES, p, n);
}

GBytes *
ckpt_writer_finish(ckpt_writer *w)
{
   uint8_t *c = w->b->data + w->count_off;
   for (int i = 0; i < 4; i++) {
      c[i] = (uint8_t)(w->count >> (8 * i));
   }
   GBytes *b = g_byte_array_free_to_bytes(w->b);
   g_free(w);
   return b;
}

void
ckpt_reader_free(ckpt_reader *r)
{
   if (!r) {
      return;
   }
   g_hash_table_destroy(r->items);
   g_free(r->section);
   g_free(r->data);
   g_free(r->error);
   g_free(r);
}

ckpt_reader *
ckpt_reader_new(const void *p, size_t len, size_t *used, char **err)
{
   const uint8_t *d = p;
   size_t off = 0;
#define NEED(n, what)                                                          \
   do {                                                                        \
      if (len - off < (size_t)(n)) {                                           \
         *err = g_strdup_printf("checkpoint section%s%s: truncated %s",        \
                                r ? " " : "", r ? r->section : "", what);      \
         goto bad;                                                             \
      }                                                                        \
   } while (0)
   ckpt_reader *r = NULL;
   NEED(2, "header");
   size_t sn = get_le(d, 2);
   off = 2;
   if (sn == 0 || sn > SECTION_MAX) {
      *err = g_strdup("checkpoint section: bad name length");
      return NULL;
   }
   NEED(sn + 8, "header");
   if (memchr(d + off, '\0', sn)) {
      *err = g_strdup("checkpoint section: NUL in name");
      return NULL;
   }
   r = g_new0(ckpt_reader, 1);
   r->section = g_strndup((const char *)d + off, sn);
   off += sn;
   r->version = (uint32_t)get_le(d + off, 4);
   uint32_t count = (uint32_t)get_le(d + off + 4, 4);
   off += 8;
   r->items = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
   size_t start = off;
   /* First pass: validate and find the end. */
   for (uint32_t i = 0; i < count; i++) {
      NEED(2, "item");
      size_t tn = get_le(d + off, 2);
      off += 2;
      if (tn == 0 || tn > TAG_MAX) {
         *err = g_strdup_printf("checkpoint section %s: item %u has a bad tag length",
                                r->section, i);
         goto bad;
      }
      NEED(tn + 5, "item");
      off += tn;
      uint8_t t = d[off];
      uint32_t vn = (uint32_t)get_le(d + off + 1, 4);
      off += 5;
      NEED(vn, "value");
      off += vn;
      unsigned want = t == CKPT_U8 ? 1 : t == CKPT_U16 ? 2 : t == CKPT_U32 ? 4 : t == CKPT_U64 ? 8 : 0;
      if ((t < CKPT_U8 || t > CKPT_BYTES) || (want && vn != want)) {
         *err = g_strdup_printf("checkpoint section %s: item %u has a bad type or size",
                                r->section, i);
         goto bad;
      }
   }
   /* Second pass over a private copy: index the items. */
   r->data = g_memdup2(d + start, off - start);
   size_t q = 0;
   for (uint32_t i = 0; i < count; i++) {
      size_t tn = get_le(r->data + q, 2);
      char *tag = g_strndup((const char *)r->data + q + 2, tn);
      q += 2 + tn;
      item *it = g_new0(item, 1);
      it->type = r->data[q];
      it->len = (uint32_t)get_le(r->data + q + 1, 4);
      it->val = r->data + q + 5;
      q += 5 + it->len;
      if (strlen(tag) != tn || g_hash_table_contains(r->items, tag)) {
         *err = g_strdup_printf("checkpoint section %s: %s tag '%s'", r->section,
                                strlen(tag) != tn ? "NUL in" : "duplicate", tag);
         g_free(tag);
         g_free(it);
         goto bad;
      }
      g_hash_table_insert(r->items, tag, it);
   }
   if (used) {
      *used = off;
   }
   return r;
bad:
   ckpt_reader_free(r);
   return NULL;
#undef NEED
}

const char *
ckpt_reader_section(const ckpt_reader *r)
{
   return r->section;
}

uint32_t
ckpt_reader_version(const ckpt_reader *r)
{
   return r->version;
}

const char *
ckpt_reader_error(const ckpt_reader *r)
{
   return r->error;
}

static const item *
find(ckpt_reader *r, const char *tag, ckpt_type t)
{
   item *it = g_hash_table_lookup(r->items, tag);
   if (!it) {
      return NULL;
   }
   if (it->type != t) {
      if (!r->error) {
         r->error = g_strdup_printf("checkpoint section %s: item '%s' has type %d, expected %d",
                                    r->section, tag, it->type, t);
      }
      return NULL;
   }
   return it;
}

#define GETTER(name, T, TY, N)                                      \
   bool name(ckpt_reader *r, const char *tag, T *v)                 \
   {                                                                \
      const item *it = find(r, tag, TY);                            \
      if (!it) {                                                    \
         return false;                                              \
      }                                                             \
      *v = (T)get_le(it->val, N);                                   \
      return true;                                                  \
   }
GETTER(ckpt_get_u8, uint8_t, CKPT_U8, 1)
GETTER(ckpt_get_u16, uint16_t, CKPT_U16, 2)
GETTER(ckpt_get_u32, uint32_t, CKPT_U32, 4)
GETTER(ckpt_get_u64, uint64_t, CKPT_U64, 8)

bool
ckpt_get_bytes(ckpt_reader *r, const char *tag, void *p, size_t n)
{
   const item *it = find(r, tag, CKPT_BYTES);
   if (!it) {
      return false;
   }
   if (it->len != n) {
      if (!r->error) {
         r->error = g_strdup_printf("checkpoint section %s: item '%s' has %u bytes, expected %zu",
                                    r->section, tag, it->len, n);
      }
      return false;
   }
   memcpy(p, it->val, n);
   return true;
}

const void *
ckpt_get_blob(ckpt_reader *r, const char *tag, size_t *n)
{
   const item *it = find(r, tag, CKPT_BYTES);
   if (!it) {
      return NULL;
   }
   *n = it->len;
   return it->val;
}
