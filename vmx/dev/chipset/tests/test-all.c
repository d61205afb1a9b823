/*
 * The whole chipset in the recommended order: the devices coexist (no
 * port clashes), reset, and save -> restore -> save as one platform.
 */
#include "kbc-test.h"
#include "vmx/dev/chipset/backdoor.h"
#include "vmx/dev/chipset/guestrpc.h"
#include "vmx/dev/chipset/pci.h"
#include "vmx/dev/chipset/ps2kbd.h"
#include "vmx/dev/chipset/uart.h"

#include <glib/gstdio.h>
#include <linux/input-event-codes.h>

static const vmx_device_desc *const table[] = {
   &vmx_dev_pci, &vmx_dev_reset, &vmx_dev_cmos, &vmx_dev_uart,
   &vmx_dev_i8042, &vmx_dev_ps2kbd, &vmx_dev_ps2mouse, &vmx_dev_backdoor,
   &vmx_dev_guestrpc,
};
#define N (sizeof table / sizeof table[0])

static char *
config(const char *dir, const char *name)
{
   char *path = g_build_filename(dir, name, NULL);
   char *c = g_strdup_printf("memsize = \"1024\"\nserial0.present = \"TRUE\"\n"
                             "serial0.fileType = \"file\"\nserial0.fileName = \"%s\"\n", path);
   g_free(path);
   return c;
}

static void
test_all(void)
{
   char *dir = g_dir_make_tmp("vmws-chipset-XXXXXX", NULL);
   char *ca = config(dir, "a.txt"), *cb = config(dir, "b.txt");
   irq_rec ia, ib;
   irq_rec_init(&ia);
   irq_rec_init(&ib);
   vmx_platform *a = test_platform_ok(table, N, ca, &ia);
   vmx_platform *b = test_platform_ok(table, N, cb, &ib);
   /* Every device answers at its ports. */
   outl(a, 0xcf8, 0x80000000);
   g_assert_cmphex(inl(a, 0xcfc), ==, 0x12378086);
   outb(a, 0xcf9, 0x02);
   g_assert_cmphex(inb(a, 0xcf9), ==, 0x02);
   outb(a, 0x70, 0x0d);
   g_assert_cmphex(inb(a, 0x71), ==, 0x80);
   g_assert_cmphex(inb(a, 0x3f8 + 5), ==, 0x60);
   g_assert_cmphex(inb(a, 0x64), ==, 0x14);
   g_assert_nonnull(backdoor_get(a));
   /* Some state everywhere. */
   outl(a, 0xcf8, 0x80000004);
   outb(a, 0x3f8 + 7, 0x77);
   outb(a, 0x70, 0x40);
   outb(a, 0x71, 0x12);
   /* Hold the RTC (register A: no periodic rate; register B: SET): a
    * running clock sets PF at 1024 Hz and UF every second, which would
    * differ between the two saves. */
   outb(a, 0x70, 0x0a);
   outb(a, 0x71, 0x20);
   outb(a, 0x70, 0x0b);
   outb(a, 0x71, 0x80 | 0x02);
   ps2kbd_key(ps2kbd_get(a), KEY_Q, true);
   g_assert_true(irq_level(&ia, 1));
   outb(a, 0x92, 0x02);
   assert_roundtrip(a, b);
   g_assert_true(irq_level(&ib, 1));
   g_assert_cmphex(inl(b, 0xcf8), ==, 0x80000004);
   g_assert_cmphex(inb(b, 0x3f8 + 7), ==, 0x77);
   outb(b, 0x70, 0x40);
   g_assert_cmphex(inb(b, 0x71), ==, 0x12);
   KBC_EXPECT(b, 0x10);
   /* Reset everything: requests none, clears the chipset. */
   vmx_platform_reset(b);
   g_assert_cmpint(vmx_platform_take_request(b, NULL), ==, VMX_REQ_NONE);
   g_assert_cmphex(inb(b, 0x3f8 + 7), ==, 0x00);
   g_assert_cmphex(inl(b, 0xcf8), ==, 0);
   g_assert_cmphex(inb(b, 0x92), ==, 0);
   g_assert_cmphex(inb(b, 0xcf9), ==, 0x02);   /* survives, as on the chipset */
   outb(b, 0x70, 0x40);
   g_assert_cmphex(inb(b, 0x71), ==, 0x12);    /* NVRAM survives */
   vmx_platform_free(a);
   vmx_platform_free(b);
   g_free(ca);
   g_free(cb);
   char *fa = g_build_filename(dir, "a.txt", NULL), *fb = g_build_filename(dir, "b.txt", NULL);
   g_unlink(fa);
   g_unlink(fb);
   g_rmdir(dir);
   g_free(fa);
   g_free(fb);
   g_free(dir);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/chipset/all", test_all);
   return g_test_run();
}
