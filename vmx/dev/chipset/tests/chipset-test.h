/*
 * vmx/dev/chipset/tests/chipset-test.h - helpers shared by the chipset
 * device tests: a platform with a given device table and config, an
 * interrupt recorder, checkpoint round trips.
 */
#ifndef VMX_DEV_CHIPSET_TESTS_CHIPSET_TEST_H
#define VMX_DEV_CHIPSET_TESTS_CHIPSET_TEST_H

#include "vmx/dev/chipset/chipset.h"
#include "vmx/dev/platform.h"

#include <glib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

/* Records what devices do to interrupt lines (the platform's irq sink). */
typedef struct irq_rec {
   pthread_mutex_t lock;
   pthread_cond_t cond;
   bool level[32];
   unsigned raises[32];   /* low -> high transitions */
   unsigned calls[32];
} irq_rec;

static inline void
irq_rec_sink(void *opaque, unsigned gsi, bool level)
{
   irq_rec *r = opaque;
   g_assert_cmpuint(gsi, <, 32);
   pthread_mutex_lock(&r->lock);
   if (level && !r->level[gsi]) {
      r->raises[gsi]++;
   }
   r->level[gsi] = level;
   r->calls[gsi]++;
   pthread_cond_broadcast(&r->cond);
   pthread_mutex_unlock(&r->lock);
}

static inline bool
irq_level(irq_rec *r, unsigned gsi)
{
   pthread_mutex_lock(&r->lock);
   bool l = r->level[gsi];
   pthread_mutex_unlock(&r->lock);
   return l;
}

static inline unsigned
irq_raises(irq_rec *r, unsigned gsi)
{
   pthread_mutex_lock(&r->lock);
   unsigned n = r->raises[gsi];
   pthread_mutex_unlock(&r->lock);
   return n;
}

/* Wait up to ms for the line to reach level. */
static inline bool
irq_wait(irq_rec *r, unsigned gsi, bool level, unsigned ms)
{
   struct timespec ts;
   clock_gettime(CLOCK_REALTIME, &ts);
   ts.tv_sec += ms / 1000;
   ts.tv_nsec += (long)(ms % 1000) * 1000000L;
   if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
   }
   pthread_mutex_lock(&r->lock);
   int rc = 0;
   while (r->level[gsi] != level && rc == 0) {
      rc = pthread_cond_timedwait(&r->cond, &r->lock, &ts);
   }
   bool ok = r->level[gsi] == level;
   pthread_mutex_unlock(&r->lock);
   return ok;
}

static inline void
irq_rec_init(irq_rec *r)
{
   memset(r, 0, sizeof *r);
   pthread_mutex_init(&r->lock, NULL);
   pthread_cond_init(&r->cond, NULL);
}

/* A platform with the devices of table created from the config text (one
 * "key = value" per line). NULL with *err when creation fails. */
static inline vmx_platform *
test_platform(const vmx_device_desc *const *table, size_t n, const char *cfgtext, irq_rec *irq,
              char **err)
{
   char *e = NULL;
   vmxcfg *cfg = vmxcfg_parse(cfgtext ? cfgtext : "", cfgtext ? strlen(cfgtext) : 0, "test.vmx",
                              &e);
   if (!cfg) {
      g_error("test config: %s", e);
   }
   vmx_platform *p = vmx_platform_new();
   if (irq) {
      vmx_platform_set_irq_sink(p, irq_rec_sink, irq);
   }
   bool ok = vmx_platform_add_devices(p, table, n, cfg, err);
   vmxcfg_free(cfg);
   if (!ok) {
      vmx_platform_free(p);
      return NULL;
   }
   return p;
}

static inline vmx_platform *
test_platform_ok(const vmx_device_desc *const *table, size_t n, const char *cfgtext, irq_rec *irq)
{
   char *err = NULL;
   vmx_platform *p = test_platform(table, n, cfgtext, irq, &err);
   if (!p) {
      g_error("platform creation failed: %s", err);
   }
   return p;
}

static inline uint8_t
inb(vmx_platform *p, uint16_t port)
{
   return (uint8_t)vmx_platform_pio_read(p, NULL, port, 1);
}

static inline void
outb(vmx_platform *p, uint16_t port, uint8_t v)
{
   vmx_platform_pio_write(p, NULL, port, 1, v);
}

static inline uint32_t
inl(vmx_platform *p, uint16_t port)
{
   return (uint32_t)vmx_platform_pio_read(p, NULL, port, 4);
}

static inline void
outl(vmx_platform *p, uint16_t port, uint32_t v)
{
   vmx_platform_pio_write(p, NULL, port, 4, v);
}

/* Save a, restore into b, save b: the two saves must be byte-identical. */
static inline void
assert_roundtrip(vmx_platform *a, vmx_platform *b)
{
   GBytes *s1 = vmx_platform_save(a);
   gsize n1;
   const void *d1 = g_bytes_get_data(s1, &n1);
   char *err = NULL;
   if (!vmx_platform_restore(b, d1, n1, &err)) {
      g_error("restore failed: %s", err);
   }
   GBytes *s2 = vmx_platform_save(b);
   gsize n2;
   const void *d2 = g_bytes_get_data(s2, &n2);
   if (n1 == n2 && memcmp(d1, d2, n1) != 0) {
      /* say where: the item names are in the bytes around it */
      gsize at = 0;
      while (((const uint8_t *)d1)[at] == ((const uint8_t *)d2)[at]) {
         at++;
      }
      gsize from = at > 48 ? at - 48 : 0;
      GString *ctx = g_string_new(NULL);
      for (gsize i = from; i < at + 8 && i < n1; i++) {
         uint8_t ch = ((const uint8_t *)d1)[i];
         g_string_append_printf(ctx, ch >= 32 && ch < 127 ? "%c" : "\\x%02x", ch);
      }
      g_printerr("saves differ at byte %zu: %02x != %02x, after: %s\n", (size_t)at,
                 ((const uint8_t *)d1)[at], ((const uint8_t *)d2)[at], ctx->str);
      g_string_free(ctx, TRUE);
   }
   g_assert_cmpmem(d1, n1, d2, n2);
   g_bytes_unref(s1);
   g_bytes_unref(s2);
}

/* Restore a hand-made section; expect it to be refused with an error that
 * contains want. The platform's state must stay as it was. */
static inline void
assert_restore_refused(vmx_platform *p, ckpt_writer *w, const char *want)
{
   GBytes *before = vmx_platform_save(p);
   GBytes *sec = ckpt_writer_finish(w);
   gsize n;
   const void *d = g_bytes_get_data(sec, &n);
   char *err = NULL;
   g_assert_false(vmx_platform_restore(p, d, n, &err));
   g_assert_nonnull(err);
   if (!strstr(err, want)) {
      g_error("error \"%s\" does not mention \"%s\"", err, want);
   }
   g_free(err);
   GBytes *after = vmx_platform_save(p);
   g_assert_true(g_bytes_equal(before, after));
   g_bytes_unref(before);
   g_bytes_unref(after);
   g_bytes_unref(sec);
}

#endif
