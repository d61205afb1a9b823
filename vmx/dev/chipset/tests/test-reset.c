/*
 * Tests of the reset control register at port 0xcf9.
 */
#include "chipset-test.h"

static const vmx_device_desc *const table[] = { &vmx_dev_pci, &vmx_dev_reset };

static vmx_request
take(vmx_platform *p, char **why)
{
   return vmx_platform_take_request(p, why);
}

static void
test_register(void)
{
   vmx_platform *p = test_platform_ok(table, 2, NULL, NULL);
   char *why = NULL;
   g_assert_cmphex(inb(p, 0xcf9), ==, 0);
   /* Selecting a hard reset does not reset yet. */
   outb(p, 0xcf9, 0x02);
   g_assert_cmpint(take(p, NULL), ==, VMX_REQ_NONE);
   g_assert_cmphex(inb(p, 0xcf9), ==, 0x02);
   /* Bit 2 starts it; bit 2 reads back 0. */
   outb(p, 0xcf9, 0x06);
   g_assert_cmpint(take(p, &why), ==, VMX_REQ_RESET);
   g_assert_nonnull(strstr(why, "hard reset"));
   g_free(why);
   g_assert_cmphex(inb(p, 0xcf9), ==, 0x02);
   outb(p, 0xcf9, 0x0e);
   g_assert_cmpint(take(p, &why), ==, VMX_REQ_RESET);
   g_assert_nonnull(strstr(why, "full reset"));
   g_free(why);
   g_assert_cmphex(inb(p, 0xcf9), ==, 0x0a);
   outb(p, 0xcf9, 0x04);
   g_assert_cmpint(take(p, &why), ==, VMX_REQ_RESET);
   g_assert_nonnull(strstr(why, "soft reset"));
   g_free(why);
   /* Reserved bits do not stick. */
   outb(p, 0xcf9, 0xf1);
   g_assert_cmpint(take(p, NULL), ==, VMX_REQ_NONE);
   g_assert_cmphex(inb(p, 0xcf9), ==, 0x00);
   /* A word access at 0xcf9 is not the register; a dword at 0xcf8 is
    * the PCI address register, not a reset. */
   vmx_platform_pio_write(p, NULL, 0xcf9, 2, 0x0606);
   g_assert_cmpint(take(p, NULL), ==, VMX_REQ_NONE);
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0xcf9, 2), ==, 0xffff);
   outl(p, 0xcf8, 0x80000604);
   g_assert_cmpint(take(p, NULL), ==, VMX_REQ_NONE);
   g_assert_cmphex(inb(p, 0xcf9), ==, 0x00);
   g_assert_cmphex(inl(p, 0xcf8), ==, 0x80000604);
   /* The value survives a platform reset. */
   outb(p, 0xcf9, 0x0a);
   vmx_platform_reset(p);
   g_assert_cmphex(inb(p, 0xcf9), ==, 0x0a);
   vmx_platform_free(p);
}

static void
test_save_restore(void)
{
   vmx_platform *a = test_platform_ok(table, 2, NULL, NULL);
   vmx_platform *b = test_platform_ok(table, 2, NULL, NULL);
   outb(a, 0xcf9, 0x0a);
   assert_roundtrip(a, b);
   g_assert_cmphex(inb(b, 0xcf9), ==, 0x0a);
   g_assert_cmpint(take(b, NULL), ==, VMX_REQ_NONE);

   ckpt_writer *w = ckpt_writer_new("reset", 1);
   ckpt_put_u8(w, "rcr", 0x06);
   assert_restore_refused(b, w, "'rcr' is 0x06");
   w = ckpt_writer_new("reset", 1);
   ckpt_put_u32(w, "rcr", 0x02);
   assert_restore_refused(b, w, "rcr");
   g_assert_cmphex(inb(b, 0xcf9), ==, 0x0a);
   vmx_platform_free(a);
   vmx_platform_free(b);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/reset/register", test_register);
   g_test_add_func("/reset/save-restore", test_save_restore);
   return g_test_run();
}
