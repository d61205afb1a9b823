/*
 * vmx/dev/chipset/tests/kbc-test.h - talking to the i8042 as a guest does.
 */
#ifndef VMX_DEV_CHIPSET_TESTS_KBC_TEST_H
#define VMX_DEV_CHIPSET_TESTS_KBC_TEST_H

#include "chipset-test.h"

#define KBC_DATA 0x60
#define KBC_CMD 0x64

/* The next byte in the output buffer (and whether it is mouse data), or -1. */
static inline int
kbc_get(vmx_platform *p, bool *aux)
{
   uint8_t st = inb(p, KBC_CMD);
   if (!(st & 1)) {
      return -1;
   }
   if (aux) {
      *aux = st & 0x20;
   }
   return inb(p, KBC_DATA);
}

/* Read everything waiting; returns the count. */
static inline unsigned
kbc_drain(vmx_platform *p, uint8_t *out, unsigned max)
{
   unsigned n = 0;
   int b;
   while ((b = kbc_get(p, NULL)) >= 0) {
      g_assert_cmpuint(n, <, max);
      out[n++] = (uint8_t)b;
   }
   return n;
}

static inline void
kbc_cmd(vmx_platform *p, uint8_t c)
{
   outb(p, KBC_CMD, c);
}

static inline void
kbc_cmd_data(vmx_platform *p, uint8_t c, uint8_t d)
{
   outb(p, KBC_CMD, c);
   outb(p, KBC_DATA, d);
}

static inline uint8_t
kbc_ctr(vmx_platform *p)
{
   kbc_cmd(p, 0x20);
   int b = kbc_get(p, NULL);
   g_assert_cmpint(b, >=, 0);
   return (uint8_t)b;
}

/* Expect exactly these bytes to be waiting. */
#define KBC_EXPECT(p, ...) \
   do { \
      const uint8_t want_[] = { __VA_ARGS__ }; \
      uint8_t got_[128]; \
      unsigned n_ = kbc_drain((p), got_, sizeof got_); \
      g_assert_cmpmem(got_, n_, want_, sizeof want_); \
   } while (0)

#define KBC_EXPECT_NONE(p) \
   do { \
      uint8_t got_[128]; \
      g_assert_cmpuint(kbc_drain((p), got_, sizeof got_), ==, 0); \
   } while (0)

#endif
