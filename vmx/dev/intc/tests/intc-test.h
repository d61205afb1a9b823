/*
 * Helpers shared by the intc tests: checkpoint round trips.
 */
#ifndef INTC_TEST_H
#define INTC_TEST_H

#include "vmx/ckpt-items.h"
#include "vmx/dev/intc/intc.h"

#include <glib.h>
#include <string.h>

typedef void (*test_save_fn)(void *dev, ckpt_writer *w);
typedef bool (*test_restore_fn)(void *dev, ckpt_reader *r, char **err);

static inline GBytes *
test_save(const char *section, test_save_fn save, void *dev)
{
   ckpt_writer *w = ckpt_writer_new(section, 1);
   save(dev, w);
   return ckpt_writer_finish(w);
}

/* Restore from an encoded section; false with *err (never NULL) on refusal. */
static inline bool
test_restore(GBytes *b, test_restore_fn restore, void *dev, char **err)
{
   gsize n;
   const void *p = g_bytes_get_data(b, &n);
   size_t used = 0;
   *err = NULL;
   ckpt_reader *r = ckpt_reader_new(p, n, &used, err);
   if (!r) {
      return false;
   }
   bool ok = restore(dev, r, err) && !ckpt_reader_error(r);
   if (!ok && !*err) {
      *err = g_strdup(ckpt_reader_error(r) ? ckpt_reader_error(r) : "refused");
   }
   ckpt_reader_free(r);
   return ok;
}

/* save -> restore into dev2 -> save, and the two saves are byte-equal. */
static inline void
test_roundtrip(const char *section, test_save_fn save, test_restore_fn restore, void *dev,
               void *dev2)
{
   GBytes *a = test_save(section, save, dev);
   char *err = NULL;
   g_assert_true(test_restore(a, restore, dev2, &err));
   g_assert_null(err);
   GBytes *b = test_save(section, save, dev2);
   g_assert_true(g_bytes_equal(a, b));
   g_bytes_unref(a);
   g_bytes_unref(b);
}

#endif
