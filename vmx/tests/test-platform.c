/*
 * Tests of the device framework: I/O dispatch, overlaps, checkpoint items,
 * save/restore with rollback.
 */
#include "vmx/ckpt-items.h"
#include "vmx/dev/platform.h"

#include <string.h>

/* A tiny device: 4 byte-wide registers at a port range and an MMIO page. */
typedef struct regdev {
   uint8_t reg[4];
   uint32_t mmio_word;
   int resets;
} regdev;

static uint64_t
rd_read(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   regdev *d = o;
   uint64_t v = 0;
   for (unsigned i = 0; i < size && off + i < 4; i++) {
      v |= (uint64_t)d->reg[off + i] << (8 * i);
   }
   return v;
}

static void
rd_write(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   regdev *d = o;
   for (unsigned i = 0; i < size && off + i < 4; i++) {
      d->reg[off + i] = (uint8_t)(val >> (8 * i));
   }
}

static uint64_t
mm_read(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   regdev *d = o;
   return off == 0 ? d->mmio_word : 0;
}

static void
mm_write(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   regdev *d = o;
   if (off == 0) {
      d->mmio_word = (uint32_t)val;
   }
}

static void *
regdev_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   regdev *d = g_new0(regdev, 1);
   vmx_io_region r = { "regdev", rd_read, rd_write, d };
   vmx_io_region m = { "regdev-mmio", mm_read, mm_write, d };
   if (!vmx_platform_map_pio(p, 0x100, 4, &r, err) ||
       !vmx_platform_map_mmio(p, 0xfe000000, 4096, &m, err)) {
      g_free(d);
      return NULL;
   }
   return d;
}

static void
regdev_reset(void *o)
{
   regdev *d = o;
   memset(d->reg, 0, sizeof d->reg);
   d->mmio_word = 0;
   d->resets++;
}

static void
regdev_save(void *o, ckpt_writer *w)
{
   regdev *d = o;
   ckpt_put_bytes(w, "reg", d->reg, sizeof d->reg);
   ckpt_put_u32(w, "mmio", d->mmio_word);
}

static bool
regdev_restore(void *o, ckpt_reader *r, char **err)
{
   regdev *d = o;
   uint32_t m = 0;
   ckpt_get_bytes(r, "reg", d->reg, sizeof d->reg);
   if (ckpt_get_u32(r, "mmio", &m)) {
      if (m == 0xdeadbeef) {
         *err = g_strdup("regdev: mmio value 0xdeadbeef is not allowed");
         return false;
      }
      d->mmio_word = m;
   }
   return true;
}

static const vmx_device_desc regdev_desc = {
   .name = "regdev", .version = 1, .create = regdev_create, .reset = regdev_reset,
   .destroy = g_free, .save = regdev_save, .restore = regdev_restore,
};

/* A second device that claims an overlapping port. */
static void *
clash_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   vmx_io_region r = { "clash", NULL, NULL, NULL };
   return vmx_platform_map_pio(p, 0x103, 2, &r, err) ? g_new0(int, 1) : NULL;
}

static const vmx_device_desc clash_desc = { .name = "clash", .create = clash_create,
                                            .destroy = g_free };

static void
test_dispatch(void)
{
   vmx_platform *p = vmx_platform_new();
   const vmx_device_desc *table[] = { &regdev_desc };
   char *err = NULL;
   g_assert_true(vmx_platform_add_devices(p, table, 1, NULL, &err));
   vmx_platform_pio_write(p, NULL, 0x101, 2, 0xbbaa);
   g_assert_cmpuint(vmx_platform_pio_read(p, NULL, 0x100, 4), ==, 0x00bbaa00);
   g_assert_cmpuint(vmx_platform_pio_read(p, NULL, 0x102, 1), ==, 0xbb);
   /* Unclaimed ports read as all ones of the access size. */
   g_assert_cmpuint(vmx_platform_pio_read(p, NULL, 0x200, 1), ==, 0xff);
   g_assert_cmpuint(vmx_platform_pio_read(p, NULL, 0x200, 4), ==, 0xffffffff);
   vmx_platform_mmio_write(p, NULL, 0xfe000000, 4, 0x12345678);
   g_assert_cmpuint(vmx_platform_mmio_read(p, NULL, 0xfe000000, 4), ==, 0x12345678);
   g_assert_cmpuint(vmx_platform_mmio_read(p, NULL, 0xfe001000, 2), ==, 0xffff);
   /* Moving the MMIO region (as a BAR move does). */
   vmx_platform_unmap_mmio(p, 0xfe000000);
   g_assert_cmpuint(vmx_platform_mmio_read(p, NULL, 0xfe000000, 4), ==, 0xffffffff);
   vmx_platform_free(p);

   /* Overlap is refused, naming both devices. */
   p = vmx_platform_new();
   const vmx_device_desc *bad[] = { &regdev_desc, &clash_desc };
   g_assert_false(vmx_platform_add_devices(p, bad, 2, NULL, &err));
   g_assert_cmpstr(err, ==, "device clash: clash: ports 0x103-0x104 overlap regdev at 0x100-0x103");
   g_free(err);
   vmx_platform_free(p);
}

static void
test_items(void)
{
   ckpt_writer *w = ckpt_writer_new("dev", 3);
   ckpt_put_u8(w, "a", 0xab);
   ckpt_put_u16(w, "b", 0xabcd);
   ckpt_put_u32(w, "c", 0x12345678);
   ckpt_put_u64(w, "d", 0x1122334455667788ull);
   ckpt_put_bytes(w, "e", "xyz", 3);
   GBytes *b = ckpt_writer_finish(w);
   gsize n;
   const uint8_t *data = g_bytes_get_data(b, &n);
   char *err = NULL;
   size_t used = 0;
   ckpt_reader *r = ckpt_reader_new(data, n, &used, &err);
   g_assert_nonnull(r);
   g_assert_cmpuint(used, ==, n);
   g_assert_cmpstr(ckpt_reader_section(r), ==, "dev");
   g_assert_cmpuint(ckpt_reader_version(r), ==, 3);
   uint8_t a;
   uint16_t bb;
   uint32_t c;
   uint64_t d;
   char e[3];
   g_assert_true(ckpt_get_u8(r, "a", &a) && a == 0xab);
   g_assert_true(ckpt_get_u16(r, "b", &bb) && bb == 0xabcd);
   g_assert_true(ckpt_get_u32(r, "c", &c) && c == 0x12345678);
   g_assert_true(ckpt_get_u64(r, "d", &d) && d == 0x1122334455667788ull);
   g_assert_true(ckpt_get_bytes(r, "e", e, 3) && memcmp(e, "xyz", 3) == 0);
   g_assert_false(ckpt_get_u32(r, "missing", &c));
   g_assert_null(ckpt_reader_error(r));
   g_assert_false(ckpt_get_u32(r, "a", &c)); /* wrong type */
   g_assert_nonnull(strstr(ckpt_reader_error(r), "item 'a' has type"));
   ckpt_reader_free(r);
   /* Every truncation is refused cleanly. */
   for (gsize cut = 0; cut < n; cut++) {
      r = ckpt_reader_new(data, cut, &used, &err);
      g_assert_null(r);
      g_assert_nonnull(err);
      g_free(err);
      err = NULL;
   }
   /* A corrupted type byte is refused. */
   uint8_t *copy = g_memdup2(data, n);
   copy[2 + 3 + 8 + 2 + 1] = 9; /* type of item "a" */
   r = ckpt_reader_new(copy, n, &used, &err);
   g_assert_null(r);
   g_assert_nonnull(strstr(err, "bad type or size"));
   g_free(err);
   g_free(copy);
   g_bytes_unref(b);
}

static void
test_save_restore_rollback(void)
{
   vmx_platform *p = vmx_platform_new();
   const vmx_device_desc *table[] = { &regdev_desc };
   char *err = NULL;
   g_assert_true(vmx_platform_add_devices(p, table, 1, NULL, &err));
   vmx_platform_pio_write(p, NULL, 0x100, 4, 0x04030201);
   vmx_platform_mmio_write(p, NULL, 0xfe000000, 4, 77);
   GBytes *s1 = vmx_platform_save(p);

   vmx_platform *q = vmx_platform_new();
   g_assert_true(vmx_platform_add_devices(q, table, 1, NULL, &err));
   gsize n;
   const void *d = g_bytes_get_data(s1, &n);
   g_assert_true(vmx_platform_restore(q, d, n, &err));
   GBytes *s2 = vmx_platform_save(q);
   g_assert_true(g_bytes_equal(s1, s2));
   g_assert_cmpuint(vmx_platform_pio_read(q, NULL, 0x100, 4), ==, 0x04030201);

   /* A section the device refuses leaves the state as it was. */
   ckpt_writer *w = ckpt_writer_new("regdev", 1);
   ckpt_put_bytes(w, "reg", "\x09\x09\x09\x09", 4);
   ckpt_put_u32(w, "mmio", 0xdeadbeef);
   GBytes *badb = ckpt_writer_finish(w);
   d = g_bytes_get_data(badb, &n);
   g_assert_false(vmx_platform_restore(q, d, n, &err));
   g_assert_cmpstr(err, ==, "regdev: mmio value 0xdeadbeef is not allowed");
   g_free(err);
   GBytes *s3 = vmx_platform_save(q);
   g_assert_true(g_bytes_equal(s1, s3));
   /* A newer section version is refused. */
   w = ckpt_writer_new("regdev", 2);
   GBytes *newer = ckpt_writer_finish(w);
   d = g_bytes_get_data(newer, &n);
   g_assert_false(vmx_platform_restore(q, d, n, &err));
   g_assert_nonnull(strstr(err, "has version 2; this build reads up to 1"));
   g_free(err);
   g_bytes_unref(newer);
   g_bytes_unref(badb);
   g_bytes_unref(s1);
   g_bytes_unref(s2);
   g_bytes_unref(s3);
   vmx_platform_free(q);
   vmx_platform_free(p);
}

static void
test_requests(void)
{
   vmx_platform *p = vmx_platform_new();
   char *why = NULL;
   g_assert_cmpint(vmx_platform_take_request(p, &why), ==, VMX_REQ_NONE);
   vmx_platform_request(p, VMX_REQ_RESET, "keyboard controller reset");
   vmx_platform_request(p, VMX_REQ_POWEROFF, "ACPI S5");
   vmx_platform_request(p, VMX_REQ_RESET, "later reset");
   g_assert_cmpint(vmx_platform_take_request(p, &why), ==, VMX_REQ_POWEROFF);
   g_assert_cmpstr(why, ==, "ACPI S5");
   g_free(why);
   g_assert_cmpint(vmx_platform_take_request(p, &why), ==, VMX_REQ_NONE);
   vmx_platform_free(p);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/platform/dispatch", test_dispatch);
   g_test_add_func("/platform/items", test_items);
   g_test_add_func("/platform/save-restore-rollback", test_save_restore_rollback);
   g_test_add_func("/platform/requests", test_requests);
   return g_test_run();
}
