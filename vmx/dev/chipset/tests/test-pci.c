/*
 * Tests of the PCI host bridge and framework, through ports 0xcf8/0xcfc
 * and a dummy function defined here.
 */
#include "chipset-test.h"
#include "vmx/dev/chipset/pci.h"

static const vmx_device_desc *const table[] = { &vmx_dev_pci };

/* ---- config mechanism #1 helpers */

static uint32_t
cfg_addr(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
   return 0x80000000u | (bus << 16) | (dev << 11) | (fn << 8) | (reg & 0xfc);
}

static uint32_t
cfg_read(vmx_platform *p, unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
   outl(p, 0xcf8, cfg_addr(0, dev, fn, reg));
   return (uint32_t)vmx_platform_pio_read(p, NULL, (uint16_t)(0xcfc + (reg & 3)), size);
}

static void
cfg_write(vmx_platform *p, unsigned dev, unsigned fn, unsigned reg, unsigned size, uint32_t v)
{
   outl(p, 0xcf8, cfg_addr(0, dev, fn, reg));
   vmx_platform_pio_write(p, NULL, (uint16_t)(0xcfc + (reg & 3)), size, v);
}

/* ---- the dummy function */

typedef struct dummy {
   pci_func *f;
   uint64_t last_off;
   uint64_t last_val;
   unsigned writes;
   unsigned cfg_callbacks;
   unsigned last_cfg_off;
} dummy;

static uint64_t
dummy_read(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   return 0xab000000u | off;
}

static void
dummy_write(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   dummy *d = o;
   d->last_off = off;
   d->last_val = val;
   d->writes++;
}

static void
dummy_cfg_written(void *o, unsigned off, unsigned size, uint32_t val)
{
   dummy *d = o;
   d->cfg_callbacks++;
   d->last_cfg_off = off;
}

#define DUMMY_DEV 3

static void
dummy_setup(vmx_platform *p, dummy *d, unsigned dev)
{
   memset(d, 0, sizeof *d);
   pci_host *h = pci_host_get(p);
   g_assert_nonnull(h);
   const pci_func_info info = {
      .name = "dummy",
      .vendor_id = 0x15ad,
      .device_id = 0x0740,
      .revision = 0x10,
      .class_code = 0x088000,
      .subsys_vendor_id = 0x15ad,
      .subsys_id = 0x0001,
      .int_pin = 1,
      .config_written = dummy_cfg_written,
      .opaque = d,
   };
   char *err = NULL;
   d->f = pci_register(h, 0, dev, 0, &info, &err);
   g_assert_no_error(NULL);
   g_assert_nonnull(d->f);
   const vmx_io_region r = { "dummy", dummy_read, dummy_write, d };
   g_assert_true(pci_bar_define(d->f, 0, PCI_BAR_IO, false, 32, &r, &err));
   g_assert_true(pci_bar_define(d->f, 1, PCI_BAR_MEM32, false, 4096, &r, &err));
   g_assert_true(pci_bar_define(d->f, 2, PCI_BAR_MEM64, true, 16384, &r, &err));
   g_assert_true(pci_msi_init(d->f, 0, 4, true, true, &err));
   /* A device register the guest may write, in the device area. */
   pci_config_init(d->f, 0x60, 4, 0x11223344);
   pci_config_set_wmask(d->f, 0x60, 4, 0x0000ffff);
}

/* ---- tests */

static void
test_host_bridge(void)
{
   vmx_platform *p = test_platform_ok(table, 1, NULL, NULL);
   g_assert_cmphex(cfg_read(p, 0, 0, 0, 4), ==, 0x12378086);
   g_assert_cmphex(cfg_read(p, 0, 0, 2, 2), ==, 0x1237);
   g_assert_cmphex(cfg_read(p, 0, 0, 1, 1), ==, 0x80);
   g_assert_cmphex(cfg_read(p, 0, 0, 8, 4), ==, 0x06000002);
   g_assert_cmphex(cfg_read(p, 0, 0, 0x0e, 1), ==, 0x00);
   /* Device-specific area is read-only zero. */
   cfg_write(p, 0, 0, 0x59, 1, 0x33);
   g_assert_cmphex(cfg_read(p, 0, 0, 0x59, 1), ==, 0);
   /* IDs are read-only. */
   cfg_write(p, 0, 0, 0, 4, 0xdeadbeef);
   g_assert_cmphex(cfg_read(p, 0, 0, 0, 4), ==, 0x12378086);
   /* Nothing at 00:01.0, on bus 1 or with the enable bit clear. */
   g_assert_cmphex(cfg_read(p, 1, 0, 0, 4), ==, 0xffffffff);
   g_assert_cmphex(cfg_read(p, 0, 1, 0, 2), ==, 0xffff);
   outl(p, 0xcf8, 0x80010000);
   g_assert_cmphex(inl(p, 0xcfc), ==, 0xffffffff);
   outl(p, 0xcf8, 0x00000000);
   g_assert_cmphex(inl(p, 0xcfc), ==, 0xffffffff);
   /* CONFIG_ADDRESS: reserved bits read 0; only dword accesses. */
   outl(p, 0xcf8, 0xffffffff);
   g_assert_cmphex(inl(p, 0xcf8), ==, 0x80fffffc);
   outl(p, 0xcf8, 0x80000000);
   outb(p, 0xcf8, 0x12);
   g_assert_cmphex(inl(p, 0xcf8), ==, 0x80000000);
   g_assert_cmphex(inb(p, 0xcf8), ==, 0xff);
   /* A dword at 0xcfd crosses the data register: all ones, no effect. */
   outl(p, 0xcf8, cfg_addr(0, 0, 0, 0));
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0xcfd, 4), ==, 0xffffffff);
   /* Port 0xcf9 is not the host bridge's. */
   g_assert_cmphex(inb(p, 0xcf9), ==, 0xff);
   vmx_platform_free(p);
}

static void
test_header_masks(void)
{
   vmx_platform *p = test_platform_ok(table, 1, NULL, NULL);
   dummy d;
   dummy_setup(p, &d, DUMMY_DEV);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0, 4), ==, 0x074015ad);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 8, 4), ==, 0x08800010);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x2c, 4), ==, 0x000115ad);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x3d, 1), ==, 1);
   /* INTA of device 3 swizzles to GSI 19; the line register says so. */
   g_assert_cmpuint(pci_intx_gsi(DUMMY_DEV, 1), ==, 19);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x3c, 1), ==, 19);
   cfg_write(p, DUMMY_DEV, 0, 0x3c, 1, 0x0b);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x3c, 1), ==, 0x0b);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x3d, 1), ==, 1);
   /* Command: only the implemented bits stick. */
   cfg_write(p, DUMMY_DEV, 0, 4, 2, 0xffff);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 4, 2), ==, 0x0547);
   cfg_write(p, DUMMY_DEV, 0, 4, 2, 0);
   /* Status: capability list bit set (MSI); W1C bits. */
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 6, 2), ==, PCI_STATUS_CAP_LIST);
   pci_config_set(d.f, 6, 2, PCI_STATUS_CAP_LIST | 0x8000 | 0x2000 | 0x0100);
   cfg_write(p, DUMMY_DEV, 0, 6, 2, 0x2000 | 0x0010 | 0x0004);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 6, 2), ==, PCI_STATUS_CAP_LIST | 0x8000 | 0x0100);
   cfg_write(p, DUMMY_DEV, 0, 7, 1, 0x81);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 6, 2), ==, PCI_STATUS_CAP_LIST);
   /* Cache line / latency writable, header type / BIST not. */
   cfg_write(p, DUMMY_DEV, 0, 0x0c, 4, 0xffffffff);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x0c, 4), ==, 0x0000ffff);
   /* ROM BAR not implemented. */
   cfg_write(p, DUMMY_DEV, 0, 0x30, 4, 0xffffffff);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x30, 4), ==, 0);
   /* Device register with a partial write mask; byte and word access. */
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x60, 4), ==, 0x11223344);
   cfg_write(p, DUMMY_DEV, 0, 0x60, 4, 0xaaaaaaaa);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x60, 4), ==, 0x1122aaaa);
   cfg_write(p, DUMMY_DEV, 0, 0x61, 1, 0x55);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x61, 1), ==, 0x55);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x62, 2), ==, 0x1122);
   g_assert_cmpuint(d.last_cfg_off, ==, 0x61);
   g_assert_cmpuint(d.cfg_callbacks, >=, 8);
   /* Capability list: 0x34 -> MSI at 0x40, end of list. */
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x34, 1), ==, 0x40);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x40, 2), ==, 0x0005);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x42, 2), ==, 0x0184);  /* mask, 64-bit, 4 vec */
   /* Capability headers are read-only. */
   cfg_write(p, DUMMY_DEV, 0, 0x40, 2, 0xffff);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x40, 2), ==, 0x0005);
   vmx_platform_free(p);
}

static void
test_bar_sizing_and_mapping(void)
{
   vmx_platform *p = test_platform_ok(table, 1, NULL, NULL);
   dummy d;
   dummy_setup(p, &d, DUMMY_DEV);
   /* Type bits. */
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x10, 4), ==, 0x1);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x14, 4), ==, 0x0);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x18, 4), ==, 0xc);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x20, 4), ==, 0x0);
   /* Sizing. */
   for (unsigned r = 0x10; r < 0x28; r += 4) {
      cfg_write(p, DUMMY_DEV, 0, r, 4, 0xffffffff);
   }
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x10, 4), ==, 0xffffffe1);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x14, 4), ==, 0xfffff000);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x18, 4), ==, 0xffffc00c);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x1c, 4), ==, 0xffffffff);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x20, 4), ==, 0);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x24, 4), ==, 0);
   /* Decoding on with sizing patterns in place: nothing mapped. */
   cfg_write(p, DUMMY_DEV, 0, 4, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
   for (unsigned i = 0; i < 4; i++) {
      g_assert_cmphex(pci_bar_address(d.f, i), ==, PCI_BAR_UNMAPPED);
   }
   cfg_write(p, DUMMY_DEV, 0, 4, 2, 0);
   /* Assign addresses. */
   cfg_write(p, DUMMY_DEV, 0, 0x10, 4, 0xc000);
   cfg_write(p, DUMMY_DEV, 0, 0x14, 4, 0xe0000000);
   cfg_write(p, DUMMY_DEV, 0, 0x18, 4, 0x00004000);
   cfg_write(p, DUMMY_DEV, 0, 0x1c, 4, 0x00000001);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x10, 4), ==, 0xc001);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x18, 4), ==, 0x400c);
   /* Not decoded until the command register enables it. */
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0xc004, 4), ==, 0xffffffff);
   cfg_write(p, DUMMY_DEV, 0, 4, 2, PCI_COMMAND_IO);
   g_assert_cmphex(pci_bar_address(d.f, 0), ==, 0xc000);
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0xc004, 4), ==, 0xab000004);
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0xc01f, 1), ==, 0x1f);
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0xc020, 1), ==, 0xff);
   g_assert_cmphex(vmx_platform_mmio_read(p, NULL, 0xe0000010, 4), ==, 0xffffffff);
   cfg_write(p, DUMMY_DEV, 0, 4, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
   g_assert_cmphex(vmx_platform_mmio_read(p, NULL, 0xe0000010, 4), ==, 0xab000010);
   g_assert_cmphex(vmx_platform_mmio_read(p, NULL, 0x100004008, 4), ==, 0xab000008);
   g_assert_cmphex(pci_bar_address(d.f, 2), ==, 0x100004000ull);
   vmx_platform_mmio_write(p, NULL, 0x100007ff0, 4, 0x55);
   g_assert_cmphex(d.last_off, ==, 0x3ff0);
   g_assert_cmphex(d.last_val, ==, 0x55);
   /* Move the I/O BAR: the old range goes away. */
   cfg_write(p, DUMMY_DEV, 0, 0x10, 4, 0xc100);
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0xc004, 4), ==, 0xffffffff);
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0xc104, 4), ==, 0xab000004);
   vmx_platform_pio_write(p, NULL, 0xc108, 2, 0x1234);
   g_assert_cmphex(d.last_off, ==, 8);
   g_assert_cmphex(d.last_val, ==, 0x1234);
   /* Byte writes move a BAR too. */
   cfg_write(p, DUMMY_DEV, 0, 0x15, 1, 0x10);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x14, 4), ==, 0xe0001000);
   g_assert_cmphex(vmx_platform_mmio_read(p, NULL, 0xe0000010, 4), ==, 0xffffffff);
   g_assert_cmphex(vmx_platform_mmio_read(p, NULL, 0xe0001010, 4), ==, 0xab000010);
   /* A range that would overlap the host bridge ports stays unmapped. */
   cfg_write(p, DUMMY_DEV, 0, 0x10, 4, 0x0ce0);
   g_assert_cmphex(pci_bar_address(d.f, 0), ==, PCI_BAR_UNMAPPED);
   g_assert_cmphex(inl(p, 0xcf8), ==, cfg_addr(0, DUMMY_DEV, 0, 0x10));
   /* An I/O range past 0xffff is unassigned. */
   cfg_write(p, DUMMY_DEV, 0, 0x10, 4, 0x10000);
   g_assert_cmphex(pci_bar_address(d.f, 0), ==, PCI_BAR_UNMAPPED);
   cfg_write(p, DUMMY_DEV, 0, 0x10, 4, 0xc200);
   g_assert_cmphex(pci_bar_address(d.f, 0), ==, 0xc200);
   /* Disabling decoding unmaps everything. */
   cfg_write(p, DUMMY_DEV, 0, 4, 2, 0);
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0xc204, 4), ==, 0xffffffff);
   g_assert_cmphex(vmx_platform_mmio_read(p, NULL, 0x100004008, 4), ==, 0xffffffffu);
   for (unsigned i = 0; i < 4; i++) {
      g_assert_cmphex(pci_bar_address(d.f, i), ==, PCI_BAR_UNMAPPED);
   }
   vmx_platform_free(p);
}

static void
test_register_errors(void)
{
   vmx_platform *p = test_platform_ok(table, 1, NULL, NULL);
   pci_host *h = pci_host_get(p);
   pci_func_info info = { .name = "x", .vendor_id = 0x1234, .device_id = 1 };
   char *err = NULL;
   g_assert_null(pci_register(h, 0, 32, 0, &info, &err));
   g_assert_nonnull(strstr(err, "does not exist"));
   g_clear_pointer(&err, g_free);
   g_assert_null(pci_register(h, 1, 0, 0, &info, &err));
   g_clear_pointer(&err, g_free);
   g_assert_null(pci_register(h, 0, 0, 0, &info, &err));
   g_assert_nonnull(strstr(err, "taken by host bridge"));
   g_clear_pointer(&err, g_free);
   info.int_pin = 5;
   g_assert_null(pci_register(h, 0, 1, 0, &info, &err));
   g_clear_pointer(&err, g_free);
   info.int_pin = 0;
   info.vendor_id = 0xffff;
   g_assert_null(pci_register(h, 0, 1, 0, &info, &err));
   g_clear_pointer(&err, g_free);
   info.vendor_id = 0x1234;
   pci_func *f = pci_register(h, 0, 1, 0, &info, &err);
   g_assert_nonnull(f);
   const vmx_io_region r = { "x", dummy_read, dummy_write, NULL };
   g_assert_false(pci_bar_define(f, 0, PCI_BAR_IO, false, 48, &r, &err));
   g_clear_pointer(&err, g_free);
   g_assert_false(pci_bar_define(f, 0, PCI_BAR_IO, false, 512, &r, &err));
   g_clear_pointer(&err, g_free);
   g_assert_false(pci_bar_define(f, 5, PCI_BAR_MEM64, false, 4096, &r, &err));
   g_clear_pointer(&err, g_free);
   g_assert_true(pci_bar_define(f, 4, PCI_BAR_MEM64, false, 4096, &r, &err));
   g_assert_false(pci_bar_define(f, 5, PCI_BAR_MEM32, false, 4096, &r, &err));
   g_clear_pointer(&err, g_free);
   g_assert_false(pci_msi_init(f, 0, 3, false, false, &err));
   g_clear_pointer(&err, g_free);
   /* Capabilities at chosen offsets: vendor-specific at 0x80, MSI at 0x50;
    * the list follows the order they were added. */
   g_assert_cmpuint(pci_cap_add(f, 0x80, 0x09, 8, &err), ==, 0x80);
   g_assert_true(pci_msi_init(f, 0x50, 1, false, false, &err));
   g_assert_cmpuint(pci_cap_add(f, 0x84, 0x09, 4, &err), ==, 0);   /* overlaps */
   g_assert_nonnull(strstr(err, "overlapping"));
   g_clear_pointer(&err, g_free);
   g_assert_cmpuint(pci_cap_add(f, 0x62, 0x09, 4, &err), ==, 0);   /* unaligned */
   g_clear_pointer(&err, g_free);
   g_assert_cmpuint(pci_cap_add(f, 0xfc, 0x09, 8, &err), ==, 0);   /* past 0xff */
   g_clear_pointer(&err, g_free);
   g_assert_cmpuint(pci_cap_add(f, 0, 0x10, 4, &err), ==, 0x88);   /* next free */
   g_assert_cmphex(pci_host_config_read(h, 0, 1, 0, 0x34, 1), ==, 0x80);
   g_assert_cmphex(pci_host_config_read(h, 0, 1, 0, 0x80, 2), ==, 0x5009);
   g_assert_cmphex(pci_host_config_read(h, 0, 1, 0, 0x50, 2), ==, 0x8805);
   g_assert_cmphex(pci_host_config_read(h, 0, 1, 0, 0x88, 2), ==, 0x0010);
   /* Write masks only outside capabilities. */
   pci_config_set_wmask(f, 0x82, 2, 0xffff);
   pci_host_config_write(h, 0, 1, 0, 0x82, 2, 0x1234);
   g_assert_cmphex(pci_host_config_read(h, 0, 1, 0, 0x82, 2), ==, 0);
   pci_config_set_wmask(f, 0x90, 2, 0xffff);
   pci_host_config_write(h, 0, 1, 0, 0x90, 2, 0x1234);
   g_assert_cmphex(pci_host_config_read(h, 0, 1, 0, 0x90, 2), ==, 0x1234);
   /* Multi-function: the header type's bit 7 on every function. */
   g_assert_cmphex(pci_host_config_read(h, 0, 1, 0, PCI_HEADER_TYPE, 1), ==, 0);
   pci_func *f1 = pci_register(h, 0, 1, 1, &info, &err);
   g_assert_nonnull(f1);
   g_assert_cmphex(pci_host_config_read(h, 0, 1, 0, PCI_HEADER_TYPE, 1), ==, 0x80);
   g_assert_cmphex(pci_host_config_read(h, 0, 1, 1, PCI_HEADER_TYPE, 1), ==, 0x80);
   pci_unregister(f1);
   g_assert_cmphex(pci_host_config_read(h, 0, 1, 0, PCI_HEADER_TYPE, 1), ==, 0);
   g_assert_cmphex(pci_host_config_read(h, 0, 1, 1, 0, 4), ==, 0xffffffff);
   vmx_platform_free(p);
}

static void
test_intx(void)
{
   irq_rec irq;
   irq_rec_init(&irq);
   vmx_platform *p = test_platform_ok(table, 1, NULL, &irq);
   dummy d, e;
   dummy_setup(p, &d, DUMMY_DEV);
   dummy_setup(p, &e, 7);   /* INTA of device 7 also lands on GSI 19 */
   g_assert_cmpuint(pci_intx_gsi(7, 1), ==, 19);
   g_assert_cmpuint(pci_intx_gsi(0, 1), ==, 16);
   g_assert_cmpuint(pci_intx_gsi(1, 1), ==, 17);
   g_assert_cmpuint(pci_intx_gsi(1, 2), ==, 18);
   g_assert_cmpuint(pci_intx_gsi(1, 4), ==, 16);
   g_assert_cmpuint(pci_intx_gsi(2, 3), ==, 16);
   pci_set_irq(d.f, true);
   g_assert_true(irq_level(&irq, 19));
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 6, 2) & PCI_STATUS_INTERRUPT, ==,
                   PCI_STATUS_INTERRUPT);
   /* INTx disable: pin released, status still shows the request. */
   cfg_write(p, DUMMY_DEV, 0, 4, 2, PCI_COMMAND_INTX_DISABLE);
   g_assert_false(irq_level(&irq, 19));
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 6, 2) & PCI_STATUS_INTERRUPT, ==,
                   PCI_STATUS_INTERRUPT);
   cfg_write(p, DUMMY_DEV, 0, 4, 2, 0);
   g_assert_true(irq_level(&irq, 19));
   /* Shared line: OR of both functions. */
   pci_set_irq(e.f, true);
   pci_set_irq(d.f, false);
   g_assert_true(irq_level(&irq, 19));
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 6, 2) & PCI_STATUS_INTERRUPT, ==, 0);
   pci_set_irq(e.f, false);
   g_assert_false(irq_level(&irq, 19));
   g_assert_false(irq_level(&irq, 16));
   g_assert_false(irq_level(&irq, 17));
   g_assert_false(irq_level(&irq, 18));
   vmx_platform_free(p);
}

typedef struct msi_rec {
   unsigned n;
   uint64_t addr[16];
   uint32_t data[16];
} msi_rec;

static void
msi_sink(void *o, uint64_t addr, uint32_t data)
{
   msi_rec *m = o;
   g_assert_cmpuint(m->n, <, 16);
   m->addr[m->n] = addr;
   m->data[m->n] = data;
   m->n++;
}

static void
test_msi(void)
{
   irq_rec irq;
   irq_rec_init(&irq);
   vmx_platform *p = test_platform_ok(table, 1, NULL, &irq);
   dummy d;
   dummy_setup(p, &d, DUMMY_DEV);
   msi_rec m = { 0 };
   pci_host_set_msi_sink(pci_host_get(p), msi_sink, &m);
   g_assert_false(pci_msi_enabled(d.f));
   g_assert_false(pci_msi_notify(d.f, 0));
   /* Program: address 0xfee01000 (upper 0), data 0x4060, 4 vectors. */
   cfg_write(p, DUMMY_DEV, 0, 0x44, 4, 0xfee01003);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x44, 4), ==, 0xfee01000);
   cfg_write(p, DUMMY_DEV, 0, 0x48, 4, 0);
   cfg_write(p, DUMMY_DEV, 0, 0x4c, 4, 0xffff4060);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x4c, 4), ==, 0x4060);
   /* Multiple message enable beyond the capability's 4 is clamped. */
   cfg_write(p, DUMMY_DEV, 0, 0x42, 2, 0x0071);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x42, 2), ==, 0x01a5);
   g_assert_true(pci_msi_enabled(d.f));
   /* No bus mastering, no MSI. */
   g_assert_false(pci_msi_notify(d.f, 1));
   g_assert_cmpuint(m.n, ==, 0);
   cfg_write(p, DUMMY_DEV, 0, 4, 2, PCI_COMMAND_MASTER);
   g_assert_true(pci_msi_notify(d.f, 2));
   g_assert_cmpuint(m.n, ==, 1);
   g_assert_cmphex(m.addr[0], ==, 0xfee01000);
   g_assert_cmphex(m.data[0], ==, 0x4062);
   g_assert_false(pci_msi_notify(d.f, 4));   /* only 4 enabled */
   /* 64-bit address. */
   cfg_write(p, DUMMY_DEV, 0, 0x48, 4, 0x2);
   g_assert_true(pci_msi_notify(d.f, 0));
   g_assert_cmphex(m.addr[1], ==, 0x2fee01000ull);
   g_assert_cmphex(m.data[1], ==, 0x4060);
   cfg_write(p, DUMMY_DEV, 0, 0x48, 4, 0);
   /* Mask vector 1: pending, then sent on unmask. Unimplemented mask bits
    * are read-only. */
   cfg_write(p, DUMMY_DEV, 0, 0x50, 4, 0xffffffff);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x50, 4), ==, 0xf);
   cfg_write(p, DUMMY_DEV, 0, 0x50, 4, 0x2);
   g_assert_true(pci_msi_notify(d.f, 1));
   g_assert_cmpuint(m.n, ==, 2);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x54, 4), ==, 0x2);
   cfg_write(p, DUMMY_DEV, 0, 0x54, 4, 0);   /* pending is read-only */
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x54, 4), ==, 0x2);
   cfg_write(p, DUMMY_DEV, 0, 0x50, 4, 0x0);
   g_assert_cmpuint(m.n, ==, 3);
   g_assert_cmphex(m.data[2], ==, 0x4061);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x54, 4), ==, 0);
   /* With MSI enabled the INTx pin is not driven. */
   pci_set_irq(d.f, true);
   g_assert_false(irq_level(&irq, 19));
   cfg_write(p, DUMMY_DEV, 0, 0x42, 2, 0x0000);
   g_assert_true(irq_level(&irq, 19));
   g_assert_false(pci_msi_notify(d.f, 0));
   g_assert_cmpuint(m.n, ==, 3);
   pci_set_irq(d.f, false);
   vmx_platform_free(p);
}

static void
program_state(vmx_platform *p, dummy *d)
{
   cfg_write(p, DUMMY_DEV, 0, 0x10, 4, 0xc000);
   cfg_write(p, DUMMY_DEV, 0, 0x14, 4, 0xe0000000);
   cfg_write(p, DUMMY_DEV, 0, 0x18, 4, 0x00004000);
   cfg_write(p, DUMMY_DEV, 0, 0x1c, 4, 0x00000001);
   cfg_write(p, DUMMY_DEV, 0, 4, 2,
             PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
   cfg_write(p, DUMMY_DEV, 0, 0x44, 4, 0xfee00000);
   cfg_write(p, DUMMY_DEV, 0, 0x4c, 2, 0x0041);
   cfg_write(p, DUMMY_DEV, 0, 0x50, 4, 0x1);
   cfg_write(p, DUMMY_DEV, 0, 0x42, 2, 0x0011);
   g_assert_true(pci_msi_notify(d->f, 0));   /* left pending under the mask */
   cfg_write(p, DUMMY_DEV, 0, 0x60, 2, 0xbeef);
   cfg_write(p, DUMMY_DEV, 0, 0x3c, 1, 0x0a);
   pci_set_irq(d->f, true);
   outl(p, 0xcf8, cfg_addr(0, DUMMY_DEV, 0, 0x08));
}

static void
test_save_restore(void)
{
   irq_rec ia, ib;
   irq_rec_init(&ia);
   irq_rec_init(&ib);
   vmx_platform *a = test_platform_ok(table, 1, NULL, &ia);
   vmx_platform *b = test_platform_ok(table, 1, NULL, &ib);
   dummy da, db;
   dummy_setup(a, &da, DUMMY_DEV);
   dummy_setup(b, &db, DUMMY_DEV);
   program_state(a, &da);
   cfg_write(a, DUMMY_DEV, 0, 0x42, 2, 0x0010);  /* MSI off: INTx drives GSI 19 */
   outl(a, 0xcf8, cfg_addr(0, DUMMY_DEV, 0, 0x08));
   g_assert_true(irq_level(&ia, 19));
   g_assert_false(irq_level(&ib, 19));
   assert_roundtrip(a, b);
   /* The restored instance decodes its BARs and drives its line. */
   g_assert_cmphex(vmx_platform_pio_read(b, NULL, 0xc004, 4), ==, 0xab000004);
   g_assert_cmphex(vmx_platform_mmio_read(b, NULL, 0x100004008, 4), ==, 0xab000008);
   g_assert_true(irq_level(&ib, 19));
   g_assert_cmphex(inl(b, 0xcf8), ==, cfg_addr(0, DUMMY_DEV, 0, 0x08));
   g_assert_cmphex(pci_config_get(db.f, 0x54, 4), ==, 0x1);
   g_assert_cmphex(pci_config_get(db.f, 0x60, 4), ==, 0x1122beef);
   /* Saving does not change the running VM. */
   GBytes *s1 = vmx_platform_save(b), *s2 = vmx_platform_save(b);
   g_assert_true(g_bytes_equal(s1, s2));
   g_bytes_unref(s1);
   g_bytes_unref(s2);
   vmx_platform_free(a);
   vmx_platform_free(b);
}

static ckpt_writer *
section_from(vmx_platform *p, unsigned dev, uint8_t *cfg)
{
   ckpt_writer *w = ckpt_writer_new("pci", 1);
   ckpt_put_u32(w, "cf8", 0);
   pci_host *h = pci_host_get(p);
   for (unsigned i = 0; i < 256; i++) {
      cfg[i] = (uint8_t)pci_host_config_read(h, 0, dev, 0, i, 1);
   }
   return w;
}

static void
test_restore_refused(void)
{
   vmx_platform *p = test_platform_ok(table, 1, NULL, NULL);
   dummy d;
   dummy_setup(p, &d, DUMMY_DEV);
   program_state(p, &d);
   uint8_t cfg[256];

   /* Another function's IDs. */
   ckpt_writer *w = section_from(p, DUMMY_DEV, cfg);
   cfg[0] = 0x86;
   ckpt_put_bytes(w, "00:03.0.config", cfg, 256);
   assert_restore_refused(p, w, "00:03.0.config");

   /* BAR type bits. */
   w = section_from(p, DUMMY_DEV, cfg);
   cfg[0x10] &= 0xfe;
   ckpt_put_bytes(w, "00:03.0.config", cfg, 256);
   assert_restore_refused(p, w, "byte 0x10");

   /* MSI enabling more vectors than the function has. */
   w = section_from(p, DUMMY_DEV, cfg);
   cfg[0x42] = (uint8_t)((cfg[0x42] & 0x8f) | 0x30);
   ckpt_put_bytes(w, "00:03.0.config", cfg, 256);
   assert_restore_refused(p, w, "MSI enables 8 vectors");

   /* Interrupt status bit inconsistent with the pin state. */
   w = section_from(p, DUMMY_DEV, cfg);
   ckpt_put_bytes(w, "00:03.0.config", cfg, 256);
   ckpt_put_u8(w, "00:03.0.intx", 0);
   assert_restore_refused(p, w, "status interrupt bit");

   w = section_from(p, DUMMY_DEV, cfg);
   ckpt_put_u8(w, "00:03.0.intx", 2);
   assert_restore_refused(p, w, "'00:03.0.intx' is 2");

   /* Wrong size. */
   w = section_from(p, DUMMY_DEV, cfg);
   ckpt_put_bytes(w, "00:03.0.config", cfg, 128);
   assert_restore_refused(p, w, "00:03.0.config");

   /* Wrong type. */
   w = ckpt_writer_new("pci", 1);
   ckpt_put_u8(w, "cf8", 0);
   assert_restore_refused(p, w, "cf8");

   w = ckpt_writer_new("pci", 1);
   ckpt_put_u32(w, "cf8", 0x7f000000);
   assert_restore_refused(p, w, "reserved bits");

   /* The host bridge's IDs, too. */
   w = section_from(p, 0, cfg);
   cfg[2] = 0x38;
   ckpt_put_bytes(w, "00:00.0.config", cfg, 256);
   assert_restore_refused(p, w, "00:00.0.config");

   /* Newer section version. */
   w = ckpt_writer_new("pci", 2);
   assert_restore_refused(p, w, "version 2");

   /* Nothing changed: BARs still decode. */
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0xc004, 4), ==, 0xab000004);
   vmx_platform_free(p);
}

static void
test_reset(void)
{
   irq_rec irq;
   irq_rec_init(&irq);
   vmx_platform *p = test_platform_ok(table, 1, NULL, &irq);
   dummy d;
   dummy_setup(p, &d, DUMMY_DEV);
   program_state(p, &d);
   cfg_write(p, DUMMY_DEV, 0, 0x42, 2, 0x0010);
   g_assert_true(irq_level(&irq, 19));
   vmx_platform_reset(p);
   g_assert_false(irq_level(&irq, 19));
   g_assert_cmphex(inl(p, 0xcf8), ==, 0);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 4, 2), ==, 0);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 6, 2), ==, PCI_STATUS_CAP_LIST);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x10, 4), ==, 1);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x18, 4), ==, 0xc);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x3c, 1), ==, 19);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x42, 2), ==, 0x0184);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x50, 4), ==, 0);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x54, 4), ==, 0);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0x60, 4), ==, 0x11223344);
   g_assert_cmphex(cfg_read(p, DUMMY_DEV, 0, 0, 4), ==, 0x074015ad);
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0xc004, 4), ==, 0xffffffff);
   for (unsigned i = 0; i < 4; i++) {
      g_assert_cmphex(pci_bar_address(d.f, i), ==, PCI_BAR_UNMAPPED);
   }
   vmx_platform_free(p);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/pci/host-bridge", test_host_bridge);
   g_test_add_func("/pci/header-masks", test_header_masks);
   g_test_add_func("/pci/bar-sizing-mapping", test_bar_sizing_and_mapping);
   g_test_add_func("/pci/register-errors", test_register_errors);
   g_test_add_func("/pci/intx", test_intx);
   g_test_add_func("/pci/msi", test_msi);
   g_test_add_func("/pci/save-restore", test_save_restore);
   g_test_add_func("/pci/restore-refused", test_restore_refused);
   g_test_add_func("/pci/reset", test_reset);
   return g_test_run();
}
