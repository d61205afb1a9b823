/*
 * vmx/ckpt/tests/ckpt-test-data.h - guest-memory-like test data for the
 * checkpoint file tests and the throughput program: deterministic from a
 * seed, in 64 KiB blocks of four kinds (the mix of a running guest: free
 * memory, text and file cache, kernel structures, compressed or encrypted
 * data).
 */
#ifndef CKPT_TEST_DATA_H
#define CKPT_TEST_DATA_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef enum ckpt_data_kind {
   CKPT_DATA_RANDOM,   /* incompressible */
   CKPT_DATA_ZERO,
   CKPT_DATA_MIXED,    /* the blend below */
} ckpt_data_kind;

static inline uint64_t
ckpt_test_rand(uint64_t *s)
{
   /* xorshift64* */
   uint64_t x = *s;
   x ^= x >> 12;
   x ^= x << 25;
   x ^= x >> 27;
   *s = x;
   return x * 0x2545f4914f6cdd1dull;
}

static inline void
ckpt_test_random(uint8_t *p, size_t n, uint64_t *s)
{
   size_t i = 0;
   for (; i + 8 <= n; i += 8) {
      uint64_t v = ckpt_test_rand(s);
      memcpy(p + i, &v, 8);
   }
   for (; i < n; i++) {
      p[i] = (uint8_t)ckpt_test_rand(s);
   }
}

static inline void
ckpt_test_text(uint8_t *p, size_t n, uint64_t *s)
{
   static const char *const words[] = {
      "the ", "kernel ", "memory ", "page ", "of ", "and ", "virtual ", "machine ", "to ",
      "file ", "process ", "is ", "in ", "system ", "a ", "data ", "/usr/lib/", "x86_64 ",
      "0x", "struct ", "return ", "int ", "{\n", "}\n", "error ", "value ", "\n",
   };
   size_t i = 0;
   while (i < n) {
      const char *w = words[ckpt_test_rand(s) % (sizeof words / sizeof words[0])];
      size_t l = strlen(w);
      if (l > n - i) {
         l = n - i;
      }
      memcpy(p + i, w, l);
      i += l;
   }
}

/* Mostly zero with scattered values: page tables, kernel structures. */
static inline void
ckpt_test_sparse(uint8_t *p, size_t n, uint64_t *s)
{
   memset(p, 0, n);
   for (size_t i = 0; i + 8 <= n; i += 64) {
      uint64_t v = ckpt_test_rand(s);
      if (v & 1) {
         v = (v & 0x000ffffffffff000ull) | 0x63;
         memcpy(p + i, &v, 8);
      }
   }
}

/* Fill n bytes; MIXED: runs of 64 KiB to 4 MiB (as a guest's allocator
 * leaves them), by bytes about 35% zero, 25% text, 15% sparse, 25% random. */
static inline void
ckpt_test_fill(uint8_t *p, size_t n, ckpt_data_kind kind, uint64_t seed)
{
   uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
   if (kind == CKPT_DATA_ZERO) {
      memset(p, 0, n);
      return;
   }
   if (kind == CKPT_DATA_RANDOM) {
      ckpt_test_random(p, n, &s);
      return;
   }
   for (size_t off = 0; off < n;) {
      static const size_t runs[] = { 65536, 131072, 262144, 1u << 20, 4u << 20 };
      size_t l = runs[ckpt_test_rand(&s) % 5];
      if (l > n - off) {
         l = n - off;
      }
      unsigned r = (unsigned)(ckpt_test_rand(&s) % 100);
      if (r < 35) {
         memset(p + off, 0, l);
      } else if (r < 60) {
         ckpt_test_text(p + off, l, &s);
      } else if (r < 75) {
         ckpt_test_sparse(p + off, l, &s);
      } else {
         ckpt_test_random(p + off, l, &s);
      }
      off += l;
   }
}

#endif
