/*
 * mks/console/vnc-tight.c - the lossless Tight encoder. See vnc-tight.h.
 *
 * A rectangle body is one compression-control byte and then:
 *   fill       one colour (control 0x80, the pixel);
 *   basic      stream id in bits 4-5, bit 6 set when a filter id follows:
 *              palette filter (1) with 2 colours: 1 bit a pixel, rows
 *              padded to a byte; with 3-256 colours: a byte a pixel;
 *              no filter: the pixels as they are.
 * Basic data shorter than 12 bytes goes as it is; longer data is deflated
 * on the rectangle's stream (stream 0 full colour, 1 two colours, 2 more
 * colours, as libvncserver uses them; each stream persists for the
 * connection and is flushed with Z_SYNC_FLUSH after every rectangle) and
 * preceded by its length in 1-3 bytes of 7 bits, low bits first.
 */
#include "mks/console/vnc-tight.h"

#include <string.h>

#define NSTREAMS 4
#define MIN_TO_COMPRESS 12
#define HASH_SLOTS 1024u   /* > 256 colours, a power of two */
#define RGB(p) ((p)&0xffffffu)

enum { STREAM_FULL = 0, STREAM_MONO = 1, STREAM_INDEXED = 2 };

/* Per compression level: the zlib level for full-colour data and for
 * palette indices, and how many pixels a palette colour must stand for
 * (a palette of up to w*h/div colours is tried). Full-colour levels follow
 * a measurement of the tests/bench/vnc desktop (1024x768 in 16-row
 * rectangles, zlib 1.2.13): 285K bytes a frame at zlib level 1, 275K at 3,
 * 227K at 4, 223K at 6, for 13, 14, 19 and 22 ms of one core. Level 4 is
 * where deflate starts lazy matching and most of the gain is; the
 * default a viewer gets without asking (6) and libvncclient's default (3)
 * land there or above. Palette data is small: it gets a higher level. */
static const struct {
   uint8_t full, index, div;
} levels[10] = {
   { 1, 1, 4 },  { 1, 3, 4 },  { 3, 5, 8 },  { 4, 6, 8 },  { 5, 7, 8 },
   { 6, 7, 16 }, { 6, 8, 16 }, { 7, 9, 16 }, { 8, 9, 32 }, { 9, 9, 32 },
};

struct vnc_tight {
   vnc_tight_streams st;
   bool own;
   z_stream own_zs[NSTREAMS];
   int8_t own_active[NSTREAMS];
   int own_level[NSTREAMS];
   /* palette search: an open-addressing table stamped with a generation
    * so that it needs no clearing per rectangle */
   uint32_t slot_val[HASH_SLOTS];
   uint16_t slot_idx[HASH_SLOTS];
   uint32_t slot_gen[HASH_SLOTS];
   uint32_t gen;
   uint32_t pal[256];
   unsigned npal;
   /* scratch */
   uint8_t *filt;   /* palette indices or bits */
   size_t filt_size;
   uint8_t *conv;   /* full-colour pixels in the viewer's format */
   size_t conv_size;
   uint8_t *zout;
   size_t zout_size;
};

vnc_tight *
vnc_tight_new(void)
{
   vnc_tight *t = g_new0(vnc_tight, 1);
   t->own = true;
   t->st = (vnc_tight_streams){ t->own_zs, t->own_active, t->own_level };
   return t;
}

vnc_tight *
vnc_tight_new_shared(vnc_tight_streams streams)
{
   vnc_tight *t = g_new0(vnc_tight, 1);
   t->st = streams;
   return t;
}

void
vnc_tight_free(vnc_tight *t)
{
   if (!t) {
      return;
   }
   for (int i = 0; t->own && i < NSTREAMS; i++) {
      if (t->own_active[i]) {
         deflateEnd(&t->own_zs[i]);
      }
   }
   g_free(t->filt);
   g_free(t->conv);
   g_free(t->zout);
   g_free(t);
}

unsigned
vnc_tight_rows_per_piece(unsigned w)
{
   unsigned rows = w ? VNC_TIGHT_MAX_AREA / w : 1;
   return rows ? rows : 1;
}

static inline const uint32_t *
row_at(const uint32_t *px, size_t stride, unsigned y)
{
   return (const uint32_t *)((const uint8_t *)px + (size_t)y * stride);
}

static inline unsigned
hash_of(uint32_t v)
{
   return (v * 2654435761u) >> 22;   /* 10 bits */
}

/* The palette index of v, adding it when there is room; -1 when the
 * palette is full and v is not in it. */
static inline int
palette_index(vnc_tight *t, uint32_t v, unsigned max)
{
   for (unsigned h = hash_of(v);; h = (h + 1) & (HASH_SLOTS - 1)) {
      if (t->slot_gen[h] != t->gen) {
         if (t->npal >= max) {
            return -1;
         }
         t->slot_gen[h] = t->gen;
         t->slot_val[h] = v;
         t->slot_idx[h] = (uint16_t)t->npal;
         t->pal[t->npal] = v;
         return (int)t->npal++;
      }
      if (t->slot_val[h] == v) {
         return t->slot_idx[h];
      }
   }
}

/* Count the colours, up to max (<= 256): true when there are at most max. */
static bool
find_palette(vnc_tight *t, const uint32_t *px, size_t stride, unsigned w, unsigned h,
             unsigned max)
{
   t->npal = 0;
   if (++t->gen == 0) {   /* wrapped: old stamps could match again */
      memset(t->slot_gen, 0, sizeof t->slot_gen);
      t->gen = 1;
   }
   uint32_t last = RGB(px[0]);
   if (palette_index(t, last, max) < 0) {
      return false;
   }
   for (unsigned y = 0; y < h; y++) {
      const uint32_t *row = row_at(px, stride, y);
      for (unsigned x = 0; x < w; x++) {
         uint32_t v = RGB(row[x]);
         if (v != last) {
            if (palette_index(t, v, max) < 0) {
               return false;
            }
            last = v;
         }
      }
   }
   return true;
}

static uint8_t *
scratch(uint8_t **buf, size_t *size, size_t need)
{
   if (*size < need) {
      g_free(*buf);
      *buf = g_malloc(need);
      *size = need;
   }
   return *buf;
}

/* w x h pixels in the viewer's format into dst. */
static void
convert(const uint32_t *px, size_t stride, unsigned w, unsigned h, const vnc_tight_format *fmt,
        uint8_t *dst)
{
   if (fmt->bpp != 3) {
      fmt->translate(fmt->opaque, px, stride, dst, w, h);
      return;
   }
   for (unsigned y = 0; y < h; y++) {
      const uint32_t *row = row_at(px, stride, y);
      for (unsigned x = 0; x < w; x++) {
         uint32_t p = row[x];
         *dst++ = (uint8_t)(p >> 16);
         *dst++ = (uint8_t)(p >> 8);
         *dst++ = (uint8_t)p;
      }
   }
}

/* The palette, in the viewer's format. */
static void
put_palette(vnc_tight *t, GByteArray *out, const vnc_tight_format *fmt)
{
   guint at = out->len;
   g_byte_array_set_size(out, at + t->npal * fmt->bpp);
   convert(t->pal, (size_t)t->npal * 4, t->npal, 1, fmt, out->data + at);
}

/* Deflate data on stream id at zlib level zlevel and append it with its
 * compact length (or append it as it is when it is short). */
static bool
put_data(vnc_tight *t, GByteArray *out, int id, int zlevel, const uint8_t *data, size_t len)
{
   if (len < MIN_TO_COMPRESS) {
      g_byte_array_append(out, data, (guint)len);
      return true;
   }
   z_stream *zs = &t->st.zs[id];
   if (!t->st.active[id]) {
      memset(zs, 0, sizeof *zs);
      if (deflateInit2(zs, zlevel, Z_DEFLATED, MAX_WBITS, MAX_MEM_LEVEL, Z_DEFAULT_STRATEGY) !=
          Z_OK) {
         return false;
      }
      t->st.active[id] = 1;
      t->st.level[id] = zlevel;
   }
   /* Room for the worst case, a level change's flush and the sync
    * marker. */
   size_t cap = deflateBound(zs, (uLong)len) + 64;
   uint8_t *z = scratch(&t->zout, &t->zout_size, cap);
   zs->next_out = z;
   zs->avail_out = (uInt)cap;
   if (t->st.level[id] != zlevel) {
      zs->next_in = NULL;
      zs->avail_in = 0;
      if (deflateParams(zs, zlevel, Z_DEFAULT_STRATEGY) != Z_OK) {
         return false;
      }
      t->st.level[id] = zlevel;
   }
   zs->next_in = (Bytef *)data;
   zs->avail_in = (uInt)len;
   if (deflate(zs, Z_SYNC_FLUSH) != Z_OK || zs->avail_in != 0 || zs->avail_out == 0) {
      return false;
   }
   size_t zlen = cap - zs->avail_out;
   if (zlen >= (1u << 22)) {   /* the compact length holds 22 bits */
      return false;
   }
   uint8_t l[3];
   unsigned nl = 0;
   l[nl++] = (uint8_t)(zlen & 0x7f);
   if (zlen > 0x7f) {
      l[0] |= 0x80;
      l[nl++] = (uint8_t)((zlen >> 7) & 0x7f);
      if (zlen > 0x3fff) {
         l[1] |= 0x80;
         l[nl++] = (uint8_t)(zlen >> 14);
      }
   }
   g_byte_array_append(out, l, nl);
   g_byte_array_append(out, z, (guint)zlen);
   return true;
}

static bool
encode_mono(vnc_tight *t, const uint32_t *px, size_t stride, unsigned w, unsigned h,
            const vnc_tight_format *fmt, unsigned level, GByteArray *out)
{
   uint8_t hdr[3] = { (uint8_t)(STREAM_MONO << 4 | 0x40), 1 /* palette filter */,
                      1 /* colours - 1 */ };
   g_byte_array_append(out, hdr, 3);
   put_palette(t, out, fmt);
   size_t rowb = (w + 7) / 8, len = rowb * h;
   uint8_t *bits = scratch(&t->filt, &t->filt_size, len);
   memset(bits, 0, len);
   uint32_t fg = t->pal[1];
   for (unsigned y = 0; y < h; y++) {
      const uint32_t *row = row_at(px, stride, y);
      uint8_t *b = bits + y * rowb;
      for (unsigned x = 0; x < w; x++) {
         if (RGB(row[x]) == fg) {
            b[x >> 3] |= (uint8_t)(0x80u >> (x & 7));
         }
      }
   }
   return put_data(t, out, STREAM_MONO, levels[level].index, bits, len);
}

static bool
encode_indexed(vnc_tight *t, const uint32_t *px, size_t stride, unsigned w, unsigned h,
               const vnc_tight_format *fmt, unsigned level, GByteArray *out)
{
   uint8_t hdr[3] = { (uint8_t)(STREAM_INDEXED << 4 | 0x40), 1, (uint8_t)(t->npal - 1) };
   g_byte_array_append(out, hdr, 3);
   put_palette(t, out, fmt);
   uint8_t *idx = scratch(&t->filt, &t->filt_size, (size_t)w * h), *d = idx;
   uint32_t last = RGB(px[0]);
   int li = palette_index(t, last, t->npal);
   for (unsigned y = 0; y < h; y++) {
      const uint32_t *row = row_at(px, stride, y);
      for (unsigned x = 0; x < w; x++) {
         uint32_t v = RGB(row[x]);
         if (v != last) {
            last = v;
            li = palette_index(t, v, t->npal);
         }
         *d++ = (uint8_t)li;   /* every colour is in the palette (found above) */
      }
   }
   return put_data(t, out, STREAM_INDEXED, levels[level].index, idx, (size_t)w * h);
}

static bool
encode_full(vnc_tight *t, const uint32_t *px, size_t stride, unsigned w, unsigned h,
            const vnc_tight_format *fmt, unsigned level, GByteArray *out)
{
   uint8_t c = STREAM_FULL << 4;
   g_byte_array_append(out, &c, 1);
   size_t len = (size_t)w * h * fmt->bpp;
   uint8_t *d = scratch(&t->conv, &t->conv_size, len);
   convert(px, stride, w, h, fmt, d);
   return put_data(t, out, STREAM_FULL, levels[level].full, d, len);
}

bool
vnc_tight_encode(vnc_tight *t, const uint32_t *px, size_t stride, unsigned w, unsigned h,
                 const vnc_tight_format *fmt, unsigned level, GByteArray *out)
{
   g_return_val_if_fail(w >= 1 && h >= 1 && w <= VNC_TIGHT_MAX_WIDTH &&
                           (size_t)w * h <= VNC_TIGHT_MAX_AREA && stride >= (size_t)w * 4 &&
                           (fmt->bpp == 3 || ((fmt->bpp == 1 || fmt->bpp == 2 ||
                                               fmt->bpp == 4) && fmt->translate)),
                        false);
   if (level > 9) {
      level = 9;
   }
   size_t n = (size_t)w * h;
   unsigned max = (unsigned)MIN(256u, MAX(2u, n / levels[level].div));
   if (find_palette(t, px, stride, w, h, max)) {
      if (t->npal == 1) {
         uint8_t c = 0x80;   /* fill */
         g_byte_array_append(out, &c, 1);
         put_palette(t, out, fmt);
         return true;
      }
      if (t->npal == 2) {
         return encode_mono(t, px, stride, w, h, fmt, level, out);
      }
      /* Indices are a byte a pixel: worth it only for wider pixels. */
      if (fmt->bpp > 1) {
         return encode_indexed(t, px, stride, w, h, fmt, level, out);
      }
   }
   return encode_full(t, px, stride, w, h, fmt, level, out);
}
