/*
 * vmx/boot/aml.c - AML and resource descriptor emitter (see aml.h).
 */
#include "vmx/boot/aml.h"

#include <glib.h>
#include <string.h>

void
vmx_aml_init(vmx_aml *a)
{
   a->data = NULL;
   a->len = a->cap = 0;
}

void
vmx_aml_free(vmx_aml *a)
{
   g_free(a->data);
   vmx_aml_init(a);
}

static void
reserve(vmx_aml *a, size_t n)
{
   if (a->len + n > a->cap) {
      size_t cap = a->cap ? a->cap : 256;
      while (cap < a->len + n) {
         cap *= 2;
      }
      a->data = g_realloc(a->data, cap);
      a->cap = cap;
   }
}

void
vmx_aml_bytes(vmx_aml *a, const void *p, size_t n)
{
   reserve(a, n);
   memcpy(a->data + a->len, p, n);
   a->len += n;
}

void
vmx_aml_byte(vmx_aml *a, uint8_t b)
{
   vmx_aml_bytes(a, &b, 1);
}

void
vmx_aml_u16(vmx_aml *a, uint16_t v)
{
   uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
   vmx_aml_bytes(a, b, 2);
}

void
vmx_aml_u32(vmx_aml *a, uint32_t v)
{
   vmx_aml_u16(a, (uint16_t)v);
   vmx_aml_u16(a, (uint16_t)(v >> 16));
}

void
vmx_aml_u64(vmx_aml *a, uint64_t v)
{
   vmx_aml_u32(a, (uint32_t)v);
   vmx_aml_u32(a, (uint32_t)(v >> 32));
}

unsigned
vmx_aml_pkglength(size_t n, uint8_t out[4])
{
   unsigned k;
   if (n + 1 <= 0x3f) {
      out[0] = (uint8_t)(n + 1);
      return 1;
   } else if (n + 2 <= 0xfff) {
      k = 2;
   } else if (n + 3 <= 0xfffff) {
      k = 3;
   } else if (n + 4 <= 0xfffffff) {
      k = 4;
   } else {
      return 0;
   }
   size_t l = n + k;
   out[0] = (uint8_t)(((k - 1) << 6) | (l & 0xf));
   for (unsigned i = 1; i < k; i++) {
      out[i] = (uint8_t)(l >> (4 + 8 * (i - 1)));
   }
   return k;
}

void
vmx_aml_end(vmx_aml *a, size_t mark)
{
   uint8_t pl[4];
   unsigned k = vmx_aml_pkglength(a->len - mark, pl);
   g_assert(k > 0);
   reserve(a, k);
   memmove(a->data + mark + k, a->data + mark, a->len - mark);
   memcpy(a->data + mark, pl, k);
   a->len += k;
}

static void
name_seg(vmx_aml *a, const char *s, size_t n)
{
   g_assert(n >= 1 && n <= 4);
   char seg[4] = { '_', '_', '_', '_' };
   memcpy(seg, s, n);
   vmx_aml_bytes(a, seg, 4);
}

void
vmx_aml_name(vmx_aml *a, const char *path)
{
   while (*path == '\\' || *path == '^') {
      vmx_aml_byte(a, (uint8_t)*path++);
   }
   if (!*path) {
      vmx_aml_byte(a, 0x00);   /* NullName */
      return;
   }
   unsigned nseg = 1;
   for (const char *p = path; *p; p++) {
      nseg += *p == '.';
   }
   if (nseg == 2) {
      vmx_aml_byte(a, 0x2e);   /* DualNamePrefix */
   } else if (nseg > 2) {
      g_assert(nseg < 256);
      vmx_aml_byte(a, 0x2f);   /* MultiNamePrefix */
      vmx_aml_byte(a, (uint8_t)nseg);
   }
   const char *s = path;
   for (;;) {
      const char *dot = strchr(s, '.');
      size_t n = dot ? (size_t)(dot - s) : strlen(s);
      name_seg(a, s, n);
      if (!dot) {
         break;
      }
      s = dot + 1;
   }
}

void
vmx_aml_int(vmx_aml *a, uint64_t v)
{
   if (v == 0) {
      vmx_aml_byte(a, 0x00);   /* ZeroOp */
   } else if (v == 1) {
      vmx_aml_byte(a, 0x01);   /* OneOp */
   } else if (v <= 0xff) {
      vmx_aml_byte(a, 0x0a);   /* BytePrefix */
      vmx_aml_byte(a, (uint8_t)v);
   } else if (v <= 0xffff) {
      vmx_aml_byte(a, 0x0b);   /* WordPrefix */
      vmx_aml_u16(a, (uint16_t)v);
   } else if (v <= 0xffffffffu) {
      vmx_aml_byte(a, 0x0c);   /* DWordPrefix */
      vmx_aml_u32(a, (uint32_t)v);
   } else {
      vmx_aml_byte(a, 0x0e);   /* QWordPrefix */
      vmx_aml_u64(a, v);
   }
}

void
vmx_aml_string(vmx_aml *a, const char *s)
{
   vmx_aml_byte(a, 0x0d);      /* StringPrefix */
   vmx_aml_bytes(a, s, strlen(s) + 1);
}

static unsigned
hexval(char c)
{
   return g_ascii_xdigit_value(c) >= 0 ? (unsigned)g_ascii_xdigit_value(c) : 0;
}

void
vmx_aml_eisaid(vmx_aml *a, const char *id)
{
   g_assert(strlen(id) == 7);
   uint32_t v = ((uint32_t)(id[0] - 0x40) & 0x1f) << 26 |
                ((uint32_t)(id[1] - 0x40) & 0x1f) << 21 |
                ((uint32_t)(id[2] - 0x40) & 0x1f) << 16 |
                hexval(id[3]) << 12 | hexval(id[4]) << 8 | hexval(id[5]) << 4 | hexval(id[6]);
   vmx_aml_byte(a, 0x0c);
   /* Stored most significant byte first. */
   uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
   vmx_aml_bytes(a, b, 4);
}

void
vmx_aml_buffer(vmx_aml *a, const uint8_t *p, size_t n)
{
   vmx_aml_byte(a, 0x11);      /* BufferOp */
   size_t m = a->len;
   vmx_aml_int(a, n);
   vmx_aml_bytes(a, p, n);
   vmx_aml_end(a, m);
}

void
vmx_aml_name_decl(vmx_aml *a, const char *path)
{
   vmx_aml_byte(a, 0x08);      /* NameOp */
   vmx_aml_name(a, path);
}

size_t
vmx_aml_scope_begin(vmx_aml *a, const char *path)
{
   vmx_aml_byte(a, 0x10);      /* ScopeOp */
   size_t m = a->len;
   vmx_aml_name(a, path);
   return m;
}

size_t
vmx_aml_device_begin(vmx_aml *a, const char *path)
{
   vmx_aml_byte(a, 0x5b);      /* ExtOpPrefix */
   vmx_aml_byte(a, 0x82);      /* DeviceOp */
   size_t m = a->len;
   vmx_aml_name(a, path);
   return m;
}

size_t
vmx_aml_package_begin(vmx_aml *a, unsigned nelems)
{
   g_assert(nelems <= 255);
   vmx_aml_byte(a, 0x12);      /* PackageOp */
   size_t m = a->len;
   vmx_aml_byte(a, (uint8_t)nelems);
   return m;
}

size_t
vmx_aml_method_begin(vmx_aml *a, const char *path, unsigned nargs, bool serialized)
{
   g_assert(nargs <= 7);
   vmx_aml_byte(a, 0x14);      /* MethodOp */
   size_t m = a->len;
   vmx_aml_name(a, path);
   vmx_aml_byte(a, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
   return m;
}

void
vmx_aml_return_int(vmx_aml *a, uint64_t v)
{
   vmx_aml_byte(a, 0xa4);      /* ReturnOp */
   vmx_aml_int(a, v);
}

/* ---- resource descriptors */

void
vmx_res_io(vmx_aml *r, uint16_t base, uint8_t len)
{
   vmx_aml_byte(r, 0x47);      /* small item 8 (I/O port), 7 bytes */
   vmx_aml_byte(r, 0x01);      /* 16-bit decode */
   vmx_aml_u16(r, base);
   vmx_aml_u16(r, base);
   vmx_aml_byte(r, 1);         /* alignment */
   vmx_aml_byte(r, len);
}

void
vmx_res_irq(vmx_aml *r, unsigned irq)
{
   g_assert(irq < 16);
   vmx_aml_byte(r, 0x22);      /* small item 4 (IRQ), 2 bytes: edge, active high */
   vmx_aml_u16(r, (uint16_t)(1u << irq));
}

/* Large address space descriptor header: type, producer + MinFixed +
 * MaxFixed + positive decode, type-specific flags. */
static void
addr_head(vmx_aml *r, uint8_t tag, uint16_t len, uint8_t rtype, uint8_t tflags)
{
   vmx_aml_byte(r, tag);
   vmx_aml_u16(r, len);
   vmx_aml_byte(r, rtype);
   vmx_aml_byte(r, 0x0c);
   vmx_aml_byte(r, tflags);
}

static void
word_addr(vmx_aml *r, uint8_t rtype, uint8_t tflags, uint16_t min, uint16_t max)
{
   addr_head(r, 0x88, 13, rtype, tflags);
   vmx_aml_u16(r, 0);          /* granularity */
   vmx_aml_u16(r, min);
   vmx_aml_u16(r, max);
   vmx_aml_u16(r, 0);          /* translation */
   vmx_aml_u16(r, (uint16_t)(max - min + 1));
}

void
vmx_res_word_bus(vmx_aml *r, uint16_t min, uint16_t max)
{
   word_addr(r, 2, 0, min, max);
}

void
vmx_res_word_io(vmx_aml *r, uint16_t min, uint16_t max)
{
   word_addr(r, 1, 0x03, min, max);
}

void
vmx_res_dword_mem(vmx_aml *r, uint32_t min, uint32_t max, bool cacheable)
{
   addr_head(r, 0x87, 23, 0, (uint8_t)(0x01 | (cacheable ? 0x02 : 0)));
   vmx_aml_u32(r, 0);
   vmx_aml_u32(r, min);
   vmx_aml_u32(r, max);
   vmx_aml_u32(r, 0);
   vmx_aml_u32(r, max - min + 1);
}

void
vmx_res_qword_mem(vmx_aml *r, uint64_t min, uint64_t max, bool prefetchable)
{
   addr_head(r, 0x8a, 43, 0, (uint8_t)(0x01 | (prefetchable ? 0x06 : 0)));
   vmx_aml_u64(r, 0);
   vmx_aml_u64(r, min);
   vmx_aml_u64(r, max);
   vmx_aml_u64(r, 0);
   vmx_aml_u64(r, max - min + 1);
}

void
vmx_res_end(vmx_aml *r)
{
   vmx_aml_byte(r, 0x79);      /* small item 0xf (end tag) */
   vmx_aml_byte(r, 0x00);      /* checksum 0: treated as valid */
}
