/*
 * Tests of vmx/boot: the e820 map, the ACPI tables (parsed back), and the
 * bzImage, PVH and multiboot loaders on synthesized images.
 */
#include "images.h"
#include "vmx/boot/acpi-tables.h"
#include "vmx/boot/boot.h"
#include "vmx/boot/e820.h"
#include "vmx/dev/acpi/acpi.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <lzma.h>
#include <string.h>
#include <sys/mman.h>
#include <zlib.h>
#include <zstd.h>

/* ---- helpers */

static vmx_guest_ram
ram_new(uint64_t size)
{
   void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                  -1, 0);
   g_assert_true(p != MAP_FAILED);
   return (vmx_guest_ram){ p, size };
}

static void
ram_free(vmx_guest_ram *r)
{
   munmap(r->base, r->size);
}

static uint16_t
rd16(const uint8_t *p)
{
   return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
rd32(const uint8_t *p)
{
   return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static uint64_t
rd64(const uint8_t *p)
{
   return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint8_t *
gpa(const vmx_guest_ram *r, uint64_t a, uint64_t len)
{
   uint8_t *p = vmx_guest_ram_ptr(r, a, len);
   g_assert_nonnull(p);
   return p;
}

static bool
load(GBytes *img, GBytes *initrd, const char *cmdline, vmx_boot_entry e,
     const vmx_guest_ram *ram, vmx_boot_state *st, char **err)
{
   vmx_boot_file k = { g_bytes_get_data(img, NULL), g_bytes_get_size(img), "test-kernel" };
   vmx_boot_file i = { 0 };
   if (initrd) {
      i = (vmx_boot_file){ g_bytes_get_data(initrd, NULL), g_bytes_get_size(initrd),
                           "test-initrd" };
   }
   vmx_boot_options o = {
      .kernel = &k, .initrd = initrd ? &i : NULL, .cmdline = cmdline, .entry = e,
      .ncpus = 2, .serial_mask = 1,
   };
   *err = NULL;
   return vmx_boot_load(&o, ram, st, err);
}

static GBytes *
make_initrd(size_t n)
{
   uint8_t *d = g_malloc(n);
   for (size_t i = 0; i < n; i++) {
      d[i] = (uint8_t)(i ^ (i >> 8) ^ 0x5a);
   }
   return g_bytes_new_take(d, n);
}

/* ---- e820 */

static void
check_map(uint64_t ram_size)
{
   vmx_e820_entry e[VMX_E820_MAX];
   unsigned n = vmx_e820_build(ram_size, e);
   g_assert_cmpuint(n, <=, VMX_E820_MAX);
   uint64_t ram = 0;
   for (unsigned i = 0; i < n; i++) {
      g_assert_cmpuint(e[i].size, >, 0);
      if (i > 0) {
         g_assert_cmpuint(e[i].addr, >=, e[i - 1].addr + e[i - 1].size);
      }
      if (e[i].type == VMX_E820_RAM) {
         ram += e[i].size;
         /* No RAM in the legacy hole or the PCI hole. */
         g_assert_true(e[i].addr + e[i].size <= 0xa0000 || e[i].addr >= 0x100000);
         g_assert_true(e[i].addr + e[i].size <= VMX_BOOT_PCI_HOLE_START ||
                       e[i].addr >= VMX_BOOT_4G);
      }
   }
   /* Every byte of RAM is in the map except the EBDA KiB below 640K and
    * the legacy hole 0xA0000-0xFFFFF (VGA, ACPI tables, firmware). */
   uint64_t lost = ram_size >= 0x100000 ? 0x400 + 0x60000 : 0;
   g_assert_cmpuint(ram + lost, ==, ram_size);
}

static void
test_e820(void)
{
   static const uint64_t sizes[] = {
      2ull << 20, 64ull << 20, 1ull << 30, 3ull << 30, (3ull << 30) + 4096, 4ull << 30,
      16ull << 30, 1ull << 40,
   };
   for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
      check_map(sizes[i]);
   }
   vmx_e820_entry e[VMX_E820_MAX];
   unsigned n = vmx_e820_build(8ull << 30, e);
   g_assert_cmpuint(n, ==, 10);
   g_assert_cmphex(e[0].addr, ==, 0);
   g_assert_cmphex(e[0].size, ==, 0x9fc00);
   g_assert_cmpuint(e[1].type, ==, VMX_E820_RESERVED);
   g_assert_cmphex(e[2].addr, ==, 0xe0000);
   g_assert_cmpuint(e[2].type, ==, VMX_E820_NVS);
   g_assert_cmpuint(e[3].type, ==, VMX_E820_ACPI);
   g_assert_cmphex(e[3].addr + e[3].size, ==, 0xf0000);
   g_assert_cmphex(e[5].addr, ==, 0x100000);
   g_assert_cmphex(e[5].addr + e[5].size, ==, 0xc0000000);
   g_assert_cmphex(e[6].addr, ==, 0xfec00000);
   g_assert_cmphex(e[7].addr, ==, 0xfee00000);
   g_assert_cmphex(e[8].addr, ==, 0xfffc0000);
   g_assert_cmphex(e[9].addr, ==, VMX_BOOT_4G);
   g_assert_cmphex(e[9].size, ==, (8ull << 30) - 0xc0000000);
   /* Small RAM: no high RAM entry. */
   n = vmx_e820_build(64ull << 20, e);
   g_assert_cmphex(e[n - 1].addr, ==, 0xfffc0000);
   g_assert_cmpstr(vmx_e820_type_name(VMX_E820_NVS), ==, "ACPI NVS");

   vmx_boot_layout l;
   vmx_boot_layout_get(8ull << 30, &l);
   g_assert_cmphex(l.low_end, ==, 0xc0000000);
   g_assert_cmphex(l.high_end, ==, VMX_BOOT_4G + (5ull << 30));
   g_assert_cmphex(l.pci64_base, ==, VMX_BOOT_4G + (5ull << 30));
   vmx_boot_layout_get(64ull << 20, &l);
   g_assert_cmphex(l.high_end, ==, VMX_BOOT_4G);
   g_assert_cmphex(l.pci64_base, ==, VMX_BOOT_4G);
}

static void
test_guest_ram_ptr(void)
{
   vmx_guest_ram r = ram_new((3ull << 30) + (1ull << 20));
   g_assert_true(vmx_guest_ram_ptr(&r, 0, 1) == r.base);
   g_assert_true(vmx_guest_ram_ptr(&r, 0xbfffffff, 1) == r.base + 0xbfffffff);
   g_assert_null(vmx_guest_ram_ptr(&r, 0xbfffffff, 2));
   g_assert_null(vmx_guest_ram_ptr(&r, 0xc0000000, 1));
   g_assert_null(vmx_guest_ram_ptr(&r, 0xfffff000, 0x2000));
   g_assert_true(vmx_guest_ram_ptr(&r, VMX_BOOT_4G, 1) == r.base + 0xc0000000);
   g_assert_true(vmx_guest_ram_ptr(&r, VMX_BOOT_4G + 0xfffff, 1) == r.base + r.size - 1);
   g_assert_null(vmx_guest_ram_ptr(&r, VMX_BOOT_4G + 0xfffff, 2));
   g_assert_null(vmx_guest_ram_ptr(&r, VMX_BOOT_4G + 0x100000, 0));
   g_assert_null(vmx_guest_ram_ptr(&r, UINT64_MAX, 2));
   ram_free(&r);
}

/* ---- ACPI tables parsed back */

static uint8_t
sum(const uint8_t *p, size_t n)
{
   uint8_t s = 0;
   while (n--) {
      s = (uint8_t)(s + *p++);
   }
   return s;
}

/* A table at addr: checks the signature, length and checksum. */
static const uint8_t *
table(const vmx_guest_ram *r, uint64_t addr, const char *sig)
{
   g_assert_cmpuint(addr % 4, ==, 0);
   const uint8_t *t = gpa(r, addr, 36);
   g_assert_cmpmem(t, 4, sig, 4);
   uint32_t len = rd32(t + 4);
   g_assert_cmpuint(len, >=, 36);
   t = gpa(r, addr, len);
   g_assert_cmpuint(sum(t, len), ==, 0);
   g_assert_cmpmem(t + 10, 6, "VMWS  ", 6);
   /* Inside the ACPI range of the e820 map. */
   g_assert_cmpuint(addr, >=, VMX_E820_ACPI_START);
   g_assert_cmpuint(addr + len, <=, VMX_E820_ACPI_END);
   return t;
}

/* Find the RSDP the way an OS does: 16-byte steps through 0xE0000-0xFFFFF. */
static uint64_t
scan_rsdp(const vmx_guest_ram *r)
{
   const uint8_t *bios = gpa(r, 0xe0000, 0x20000);
   for (uint32_t off = 0; off < 0x20000; off += 16) {
      if (memcmp(bios + off, "RSD PTR ", 8) == 0 && sum(bios + off, 20) == 0) {
         return 0xe0000 + off;
      }
   }
   return 0;
}

/* Decode an AML integer (ZeroOp, OneOp, Byte/Word/DWord/QWordConst). */
static uint64_t
aml_int(const uint8_t **pp)
{
   const uint8_t *p = *pp;
   uint64_t v;
   switch (*p) {
   case 0x00: v = 0; p += 1; break;
   case 0x01: v = 1; p += 1; break;
   case 0x0a: v = p[1]; p += 2; break;
   case 0x0b: v = rd16(p + 1); p += 3; break;
   case 0x0c: v = rd32(p + 1); p += 5; break;
   case 0x0e: v = rd64(p + 1); p += 9; break;
   default: g_error("not an AML integer: 0x%02x", *p);
   }
   *pp = p;
   return v;
}

/* Decode a PkgLength; returns the package end. */
static const uint8_t *
aml_pkg(const uint8_t **pp)
{
   const uint8_t *p = *pp;
   unsigned k = p[0] >> 6;
   uint32_t len = k ? p[0] & 0xf : p[0] & 0x3f;
   for (unsigned i = 0; i < k; i++) {
      len |= (uint32_t)p[1 + i] << (4 + 8 * i);
   }
   *pp = p + 1 + k;
   return p + len;
}

static const uint8_t *
find(const uint8_t *hay, size_t n, const void *needle, size_t m)
{
   const uint8_t *p = memmem(hay, n, needle, m);
   g_assert_nonnull(p);
   return p;
}

static void
check_dsdt(const uint8_t *dsdt, unsigned ncpus, unsigned serial_mask)
{
   uint32_t len = rd32(dsdt + 4);
   g_assert_cmpuint(dsdt[8], ==, 2);
   /* Name (\_S5, Package (4) { 0, 0, 0, 0 }) */
   const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12 };
   const uint8_t *p = find(dsdt, len, s5, sizeof s5) + sizeof s5;
   const uint8_t *end = aml_pkg(&p);
   g_assert_cmpuint(*p++, ==, 4);
   g_assert_cmpuint(aml_int(&p), ==, ACPI_SLP_TYP_S5);
   g_assert_cmpuint(aml_int(&p), ==, ACPI_SLP_TYP_S5);
   g_assert_true(end >= p);

   /* PNP0A03 as an EISA id. */
   const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
   find(dsdt, len, hid, sizeof hid);

   /* _PRT: 128 entries, GSI = 16 + ((slot + pin) % 4). */
   const uint8_t prt[] = { 0x08, '_', 'P', 'R', 'T', 0x12 };
   p = find(dsdt, len, prt, sizeof prt) + sizeof prt;
   end = aml_pkg(&p);
   g_assert_cmpuint(*p++, ==, 128);
   for (unsigned slot = 0; slot < 32; slot++) {
      for (unsigned pin = 0; pin < 4; pin++) {
         g_assert_cmpuint(*p++, ==, 0x12);
         const uint8_t *e = aml_pkg(&p);
         g_assert_cmpuint(*p++, ==, 4);
         g_assert_cmphex(aml_int(&p), ==, (slot << 16) | 0xffff);
         g_assert_cmpuint(aml_int(&p), ==, pin);
         g_assert_cmpuint(aml_int(&p), ==, 0);
         g_assert_cmpuint(aml_int(&p), ==, 16 + (slot + pin) % 4);
         g_assert_true(p == e);
      }
   }
   g_assert_true(p == end);
   g_assert_cmpuint(vmx_acpi_pci_intx_gsi(3, 2), ==, 17);

   /* One processor device per vCPU. */
   for (unsigned i = 0; i < 64; i++) {
      char name[8];
      snprintf(name, sizeof name, "C%03X", i);
      bool there = memmem(dsdt, len, name, 4) != NULL;
      g_assert_cmpint(there, ==, i < ncpus);
   }
   g_assert_nonnull(memmem(dsdt, len, "ACPI0007", 8));
   g_assert_cmpint(memmem(dsdt, len, "COM1", 4) != NULL, ==, (serial_mask & 1) != 0);
   g_assert_cmpint(memmem(dsdt, len, "COM2", 4) != NULL, ==, (serial_mask & 2) != 0);

   /* The 32-bit PCI window in _CRS (DWordMemory, min and max). */
   const uint8_t win[] = { 0x87, 23, 0, 0, 0x0c, 0x01, 0, 0, 0, 0,
                           0x00, 0x00, 0x00, 0xc0, 0xff, 0xff, 0xbf, 0xfe };
   find(dsdt, len, win, sizeof win);
}

static void
check_tables(const vmx_guest_ram *r, uint64_t rsdp_addr, unsigned ncpus, unsigned serial_mask)
{
   g_assert_cmphex(scan_rsdp(r), ==, rsdp_addr);
   g_assert_cmpuint(rsdp_addr % 16, ==, 0);
   const uint8_t *rsdp = gpa(r, rsdp_addr, 36);
   g_assert_cmpuint(rsdp[15], ==, 2);
   g_assert_cmpuint(rd32(rsdp + 20), ==, 36);
   g_assert_cmpuint(sum(rsdp, 36), ==, 0);

   const uint8_t *xsdt = table(r, rd64(rsdp + 24), "XSDT");
   const uint8_t *rsdt = table(r, rd32(rsdp + 16), "RSDT");
   g_assert_cmpuint(rd32(xsdt + 4), ==, 36 + 16);
   g_assert_cmpuint(rd32(rsdt + 4), ==, 36 + 8);
   g_assert_cmphex(rd64(xsdt + 36), ==, rd32(rsdt + 36));
   g_assert_cmphex(rd64(xsdt + 44), ==, rd32(rsdt + 40));

   const uint8_t *fadt = table(r, rd64(xsdt + 36), "FACP");
   g_assert_cmpuint(rd32(fadt + 4), ==, 276);
   g_assert_cmpuint(fadt[8], ==, 6);
   g_assert_cmpuint(rd16(fadt + 46), ==, 9);
   g_assert_cmpuint(rd32(fadt + 48), ==, 0);
   g_assert_cmphex(rd32(fadt + 56), ==, ACPI_PM1A_EVT_BLK);
   g_assert_cmphex(rd32(fadt + 64), ==, ACPI_PM1A_CNT_BLK);
   g_assert_cmphex(rd32(fadt + 76), ==, ACPI_PM_TMR_BLK);
   g_assert_cmphex(rd32(fadt + 80), ==, ACPI_GPE0_BLK);
   g_assert_cmpuint(fadt[88], ==, 4);
   g_assert_cmpuint(fadt[89], ==, 2);
   g_assert_cmpuint(fadt[91], ==, 4);
   g_assert_cmpuint(fadt[92], ==, 8);
   uint32_t flags = rd32(fadt + 112);
   g_assert_cmphex(flags & (1u << 4), ==, 0);        /* fixed power button */
   g_assert_cmphex(flags & (1u << 8), !=, 0);        /* 32-bit timer */
   g_assert_cmphex(flags & (1u << 10), !=, 0);       /* reset register */
   g_assert_cmphex(flags & (1u << 20), ==, 0);       /* not HW-reduced */
   g_assert_cmpuint(fadt[116], ==, 1);               /* RESET_REG in I/O space */
   g_assert_cmpuint(fadt[117], ==, 8);
   g_assert_cmphex(rd64(fadt + 120), ==, 0xcf9);
   g_assert_cmpuint(fadt[128], ==, 6);
   g_assert_cmphex(rd64(fadt + 148 + 4), ==, ACPI_PM1A_EVT_BLK);
   g_assert_cmpuint(fadt[148 + 1], ==, 32);
   g_assert_cmphex(rd64(fadt + 172 + 4), ==, ACPI_PM1A_CNT_BLK);
   g_assert_cmphex(rd64(fadt + 208 + 4), ==, ACPI_PM_TMR_BLK);
   g_assert_cmphex(rd64(fadt + 220 + 4), ==, ACPI_GPE0_BLK);
   g_assert_cmpuint(fadt[220 + 1], ==, 64);
   /* FACS: 64-byte aligned, in the NVS range. */
   uint32_t facs = rd32(fadt + 36);
   g_assert_cmpuint(facs % 64, ==, 0);
   g_assert_cmpuint(facs, >=, VMX_E820_FACS_START);
   g_assert_cmpuint(facs + 64, <=, VMX_E820_ACPI_START);
   const uint8_t *f = gpa(r, facs, 64);
   g_assert_cmpmem(f, 4, "FACS", 4);
   g_assert_cmpuint(rd32(f + 4), ==, 64);
   g_assert_cmpuint(f[32], ==, 2);
   /* DSDT, through both pointers. */
   g_assert_cmphex(rd32(fadt + 40), ==, rd64(fadt + 140));
   check_dsdt(table(r, rd64(fadt + 140), "DSDT"), ncpus, serial_mask);

   const uint8_t *madt = table(r, rd64(xsdt + 44), "APIC");
   g_assert_cmphex(rd32(madt + 36), ==, 0xfee00000);
   g_assert_cmpuint(rd32(madt + 40) & 1, ==, 1);
   uint32_t mlen = rd32(madt + 4);
   unsigned nlapic = 0, nioapic = 0, niso = 0, nnmi = 0;
   for (uint32_t off = 44; off < mlen;) {
      const uint8_t *e = madt + off;
      g_assert_cmpuint(e[1], >=, 2);
      g_assert_cmpuint(off + e[1], <=, mlen);
      switch (e[0]) {
      case 0:
         g_assert_cmpuint(e[1], ==, 8);
         g_assert_cmpuint(e[2], ==, nlapic);   /* UID */
         g_assert_cmpuint(e[3], ==, nlapic);   /* APIC ID */
         g_assert_cmpuint(rd32(e + 4), ==, 1);
         nlapic++;
         break;
      case 1:
         g_assert_cmpuint(e[1], ==, 12);
         g_assert_cmphex(rd32(e + 4), ==, 0xfec00000);
         g_assert_cmpuint(rd32(e + 8), ==, 0);
         nioapic++;
         break;
      case 2:
         g_assert_cmpuint(e[1], ==, 10);
         g_assert_cmpuint(e[2], ==, 0);
         /* Only the SCI: IRQ0 stays on GSI 0 (see build_madt). */
         g_assert_cmpuint(e[3], ==, 9);
         g_assert_cmpuint(rd32(e + 4), ==, 9);
         g_assert_cmphex(rd16(e + 8), ==, 0xd);   /* active high, level */
         niso++;
         break;
      case 4:
         g_assert_cmpuint(e[5], ==, 1);
         nnmi++;
         break;
      default:
         g_assert_not_reached();
      }
      off += e[1];
   }
   g_assert_cmpuint(nlapic, ==, ncpus);
   g_assert_cmpuint(nioapic, ==, 1);
   g_assert_cmpuint(niso, ==, 1);
   g_assert_cmpuint(nnmi, ==, 1);
}

static void
test_acpi_tables(void)
{
   static const struct { unsigned ncpus; uint64_t ram; unsigned serial; } cases[] = {
      { 1, 64ull << 20, 0 }, { 2, 1ull << 30, 1 }, { 4, 3ull << 30, 3 }, { 64, 64ull << 20, 0xf },
   };
   for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
      vmx_guest_ram r = ram_new(cases[i].ram);
      vmx_acpi_tables_config c = { cases[i].ncpus, cases[i].ram, cases[i].serial };
      uint64_t rsdp = 0;
      char *err = NULL;
      g_assert_true(vmx_acpi_tables_build(&r, &c, &rsdp, &err));
      g_assert_null(err);
      g_assert_cmphex(rsdp, ==, VMX_ACPI_RSDP_ADDR);
      check_tables(&r, rsdp, cases[i].ncpus, cases[i].serial);
      ram_free(&r);
   }
   /* Refusals. */
   vmx_guest_ram small = ram_new(0x80000);
   vmx_acpi_tables_config c = { 1, small.size, 0 };
   uint64_t rsdp;
   char *err = NULL;
   g_assert_false(vmx_acpi_tables_build(&small, &c, &rsdp, &err));
   g_assert_nonnull(strstr(err, "0xe0000"));
   g_free(err);
   ram_free(&small);
}

/* ---- loaders */

static void
check_gdt(const vmx_guest_ram *r, bool long_mode)
{
   const uint8_t *g = gpa(r, VMX_BOOT_GDT_ADDR, 32);
   g_assert_cmphex(rd64(g), ==, 0);
   g_assert_cmphex(rd64(g + 8), ==, 0x00cf9b000000ffffull);
   g_assert_cmphex(rd64(g + 16), ==, long_mode ? 0x00af9b000000ffffull : 0x00cf9b000000ffffull);
   g_assert_cmphex(rd64(g + 24), ==, 0x00cf93000000ffffull);
}

static void
check_flat32(const vmx_boot_state *st, uint16_t cs)
{
   const vmm_sregs *s = &st->sregs;
   g_assert_cmphex(s->cr0 & 0x80000001u, ==, 1);
   g_assert_cmphex(s->efer, ==, 0);
   g_assert_cmphex(s->cr4, ==, 0);
   g_assert_cmpuint(s->seg[VMM_CS].selector, ==, cs);
   g_assert_cmpuint(s->seg[VMM_CS].db, ==, 1);
   g_assert_cmpuint(s->seg[VMM_CS].l, ==, 0);
   g_assert_cmphex(s->seg[VMM_CS].limit, ==, 0xffffffffu);
   g_assert_cmpuint(s->seg[VMM_CS].type, ==, 0xb);
   for (int i = 0; i < VMM_NSEG; i++) {
      g_assert_cmphex(s->seg[i].base, ==, 0);
      g_assert_cmpuint(s->seg[i].present, ==, 1);
      if (i != VMM_CS) {
         g_assert_cmpuint(s->seg[i].selector, ==, VMX_BOOT_SEL_DATA);
         g_assert_cmpuint(s->seg[i].type, ==, 0x3);
      }
   }
   g_assert_cmphex(s->tr.limit, ==, 0x67);
   g_assert_cmpuint(s->tr.type, ==, 0xb);
   g_assert_cmphex(st->regs.rflags, ==, 2);
   g_assert_cmphex(s->gdt.base, ==, VMX_BOOT_GDT_ADDR);
   g_assert_cmphex(s->apic_base, ==, 0xfee00900);
}

static void
check_cmdline(const vmx_guest_ram *r, const char *want)
{
   g_assert_cmpstr((const char *)gpa(r, VMX_BOOT_CMDLINE_ADDR, strlen(want) + 1), ==, want);
}

static void
test_bzimage64(void)
{
   vmx_guest_ram r = ram_new(64ull << 20);
   GBytes *img = test_img_bzimage(TRUE), *rd = make_initrd(100000);
   vmx_boot_state st;
   char *err;
   g_assert_true(load(img, rd, "console=ttyS0 quiet", VMX_BOOT_ENTRY_AUTO, &r, &st, &err));
   g_assert_cmpstr(st.method, ==, "linux64");
   const uint8_t *d = g_bytes_get_data(img, NULL);
   /* The protected-mode kernel at 1 MiB, the setup code nowhere. */
   g_assert_cmpmem(gpa(&r, 0x100000, BZ_KERNEL_SIZE), BZ_KERNEL_SIZE, d + BZ_SETUP_SIZE,
                   BZ_KERNEL_SIZE);
   g_assert_cmphex(st.entry, ==, 0x100200);
   g_assert_cmphex(st.regs.rip, ==, 0x100200);
   g_assert_cmphex(st.regs.gpr[VMM_RSI], ==, VMX_BOOT_PARAMS_ADDR);
   g_assert_cmphex(st.kernel_end, ==, BZ_PREF + BZ_INIT_SIZE);
   /* Long mode. */
   const vmm_sregs *s = &st.sregs;
   g_assert_cmphex(s->cr0 & 0x80000001u, ==, 0x80000001u);
   g_assert_cmphex(s->cr4 & 0x20, ==, 0x20);
   g_assert_cmphex(s->efer & 0x500, ==, 0x500);
   g_assert_cmphex(s->cr3, ==, VMX_BOOT_PML4_ADDR);
   g_assert_cmpuint(s->seg[VMM_CS].selector, ==, 0x10);
   g_assert_cmpuint(s->seg[VMM_CS].l, ==, 1);
   g_assert_cmpuint(s->seg[VMM_CS].db, ==, 0);
   g_assert_cmpuint(s->seg[VMM_DS].selector, ==, 0x18);
   g_assert_cmpuint(s->seg[VMM_SS].selector, ==, 0x18);
   check_gdt(&r, true);
   /* Identity page tables: walk a few addresses. */
   const uint8_t *pml4 = gpa(&r, s->cr3, 4096);
   static const uint64_t probe[] = { 0, 0x100000, 0x3ffffff, 0xbfe00000, 0xfee00000, 0xffffffff };
   for (unsigned i = 0; i < G_N_ELEMENTS(probe); i++) {
      uint64_t a = probe[i];
      uint64_t e = rd64(pml4 + 8 * ((a >> 39) & 511));
      g_assert_cmphex(e & 1, ==, 1);
      e = rd64(gpa(&r, e & ~0xfffull, 4096) + 8 * ((a >> 30) & 511));
      g_assert_cmphex(e & 1, ==, 1);
      e = rd64(gpa(&r, e & ~0xfffull, 4096) + 8 * ((a >> 21) & 511));
      g_assert_cmphex(e & 0x83, ==, 0x83);
      g_assert_cmphex((e & ~0x1fffffull) | (a & 0x1fffff), ==, a);
   }
   /* boot_params: the header copied (up to 0x26c), the loader's fields. */
   const uint8_t *bp = gpa(&r, VMX_BOOT_PARAMS_ADDR, 4096);
   g_assert_cmpmem(bp + 0x1f1, 0x210 - 0x1f1, d + 0x1f1, 0x210 - 0x1f1);
   g_assert_cmpmem(bp + 0x22c, 0x26c - 0x22c, d + 0x22c, 0x26c - 0x22c);
   g_assert_cmpuint(bp[0x270], ==, 0);
   g_assert_cmpuint(bp[0x1ef], ==, 0);                /* sentinel */
   g_assert_cmpuint(bp[0x210], ==, 0xff);             /* type_of_loader */
   g_assert_cmphex(rd32(bp + 0x228), ==, VMX_BOOT_CMDLINE_ADDR);
   check_cmdline(&r, "console=ttyS0 quiet");
   g_assert_cmphex(rd64(bp + 0x70), ==, VMX_ACPI_RSDP_ADDR);
   /* initrd: page aligned, at the top of RAM, above the kernel. */
   uint32_t rd_addr = rd32(bp + 0x218);
   g_assert_cmpuint(rd32(bp + 0x21c), ==, 100000);
   g_assert_cmpuint(rd_addr % 4096, ==, 0);
   g_assert_cmpuint(rd_addr + 100000, <=, 64u << 20);
   g_assert_cmpuint(rd_addr + 100000 + 4096, >, 64u << 20);
   g_assert_cmpuint(rd_addr, >=, st.kernel_end);
   g_assert_cmpmem(gpa(&r, rd_addr, 100000), 100000, g_bytes_get_data(rd, NULL), 100000);
   g_assert_cmphex(st.initrd_addr, ==, rd_addr);
   /* e820 table in boot_params. */
   vmx_e820_entry e[VMX_E820_MAX];
   unsigned n = vmx_e820_build(r.size, e);
   g_assert_cmpuint(bp[0x1e8], ==, n);
   for (unsigned i = 0; i < n; i++) {
      const uint8_t *x = bp + 0x2d0 + 20 * i;
      g_assert_cmphex(rd64(x), ==, e[i].addr);
      g_assert_cmphex(rd64(x + 8), ==, e[i].size);
      g_assert_cmpuint(rd32(x + 16), ==, e[i].type);
   }
   /* And the ACPI tables are there. */
   check_tables(&r, VMX_ACPI_RSDP_ADDR, 2, 1);
   ram_free(&r);
   g_bytes_unref(img);
   g_bytes_unref(rd);
}

/* A 64-bit bzImage whose payload is the PVH test ELF (entry moved to its
 * first segment) compressed as fmt: "gzip", "xz" or "zstd". */
static GBytes *
bzimage_with_payload(const char *fmt, size_t *payload_len)
{
   GBytes *elf = test_img_pvh_elf64();
   gsize elen;
   const void *edata = g_bytes_get_data(elf, &elen);
   uint8_t *e = g_memdup2(edata, elen);
   g_bytes_unref(elf);
   uint64_t entry = PVH_SEG0_PADDR + 0x10;
   memcpy(e + 24, &entry, 8);
   size_t cap = elen * 2 + 1024, clen = 0;
   uint8_t *c = g_malloc(cap);
   if (strcmp(fmt, "gzip") == 0) {
      z_stream z = { 0 };
      g_assert_cmpint(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                      ==, Z_OK);
      z.next_in = e;
      z.avail_in = (uInt)elen;
      z.next_out = c;
      z.avail_out = (uInt)cap;
      g_assert_cmpint(deflate(&z, Z_FINISH), ==, Z_STREAM_END);
      clen = z.total_out;
      deflateEnd(&z);
   } else if (strcmp(fmt, "xz") == 0) {
      g_assert_cmpint(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, e, elen, c, &clen,
                                              cap), ==, LZMA_OK);
   } else {
      /* with a checksum, as the zstd tool the kernel build uses writes */
      ZSTD_CCtx *z = ZSTD_createCCtx();
      ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, 19);
      ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1);
      clen = ZSTD_compress2(z, c, cap, e, elen);
      g_assert_false(ZSTD_isError(clen));
      ZSTD_freeCCtx(z);
   }
   if (strcmp(fmt, "gzip") != 0) {   /* the kernel build's size_append */
      uint32_t n = (uint32_t)elen;
      memcpy(c + clen, &n, 4);
      clen += 4;
   }
   g_free(e);
   GBytes *base = test_img_bzimage(TRUE);
   const uint8_t *bd = g_bytes_get_data(base, NULL);
   size_t kpart = (0x400 + clen + 15) & ~(size_t)15;
   uint8_t *d = g_malloc0(BZ_SETUP_SIZE + kpart);
   memcpy(d, bd, BZ_SETUP_SIZE + 0x400);
   memcpy(d + BZ_SETUP_SIZE + 0x400, c, clen);
   uint32_t syssize = (uint32_t)(kpart / 16), poff = 0x400, plen = (uint32_t)clen;
   memcpy(d + 0x1f4, &syssize, 4);
   memcpy(d + 0x248, &poff, 4);
   memcpy(d + 0x24c, &plen, 4);
   g_bytes_unref(base);
   g_free(c);
   *payload_len = clen;
   return g_bytes_new_take(d, BZ_SETUP_SIZE + kpart);
}

static void
test_bzimage_unpacked(void)
{
   static const char *const fmts[] = { "gzip", "xz", "zstd" };
   for (unsigned f = 0; f < G_N_ELEMENTS(fmts); f++) {
      size_t plen;
      GBytes *img = bzimage_with_payload(fmts[f], &plen), *rd = make_initrd(5000);
      GBytes *elf = test_img_pvh_elf64();
      const uint8_t *e = g_bytes_get_data(elf, NULL);
      vmx_guest_ram r = ram_new(64ull << 20);
      vmx_boot_state st;
      char *err;
      g_assert_true(load(img, rd, "console=ttyS0", VMX_BOOT_ENTRY_AUTO, &r, &st, &err));
      char *want = g_strdup_printf("linux64, %s payload unpacked by the vmx", fmts[f]);
      g_assert_cmpstr(st.method, ==, want);
      g_free(want);
      /* The ELF's segments at their physical addresses, bss zero, the
       * compressed kernel nowhere, long mode at the ELF entry. */
      g_assert_cmpmem(gpa(&r, PVH_SEG0_PADDR, 0x1000), 0x1000, e + 0x1000, 0x1000);
      g_assert_cmpmem(gpa(&r, PVH_SEG1_PADDR, 0x800), 0x800, e + 0x2000, 0x800);
      static const uint8_t zero[0x3800];
      g_assert_cmpmem(gpa(&r, PVH_SEG1_PADDR + 0x800, 0x3800), 0x3800, zero, 0x3800);
      g_assert_cmphex(st.regs.rip, ==, PVH_SEG0_PADDR + 0x10);
      g_assert_cmphex(st.regs.gpr[VMM_RSI], ==, VMX_BOOT_PARAMS_ADDR);
      g_assert_cmphex(st.sregs.efer & 0x500, ==, 0x500);
      g_assert_cmpuint(st.sregs.seg[VMM_CS].l, ==, 1);
      g_assert_cmphex(st.kernel_end, ==, BZ_PREF + BZ_INIT_SIZE);
      g_assert_cmpuint(st.initrd_addr, >=, st.kernel_end);
      const uint8_t *bp = gpa(&r, VMX_BOOT_PARAMS_ADDR, 4096);
      g_assert_cmphex(rd32(bp + 0x218), ==, st.initrd_addr);
      check_cmdline(&r, "console=ttyS0");
      ram_free(&r);

      /* linux.decompress = "guest": the compressed kernel at 1 MiB. */
      r = ram_new(64ull << 20);
      vmx_boot_file k = { g_bytes_get_data(img, NULL), g_bytes_get_size(img), "test-kernel" };
      vmx_boot_options o = { .kernel = &k, .entry = VMX_BOOT_ENTRY_LINUX, .ncpus = 1,
                             .guest_decompress = true };
      err = NULL;
      g_assert_true(vmx_boot_load(&o, &r, &st, &err));
      g_assert_cmpstr(st.method, ==, "linux64");
      g_assert_cmphex(st.regs.rip, ==, 0x100200);
      g_assert_cmpmem(gpa(&r, 0x100000 + 0x400, plen), plen,
                      (const uint8_t *)g_bytes_get_data(img, NULL) + BZ_SETUP_SIZE + 0x400, plen);
      ram_free(&r);

      /* Hostile payloads: corrupt, truncated, a lying size, out of the
       * file. Each is refused with a message; none crashes. */
      gsize n;
      const uint8_t *good = g_bytes_get_data(img, &n);
      struct { const char *what, *want; } cases[] = {
         { "corrupt", "corrupt" }, { "truncated", "" }, { "size", "unpacks to" },
         { "outside", "lies outside" }, { "small", "only 7 bytes" },
      };
      for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
         uint8_t *bad = g_memdup2(good, n);
         uint8_t *pl = bad + BZ_SETUP_SIZE + 0x400;
         uint32_t v;
         switch (i) {
         case 0:
            for (size_t j = plen / 3; j < plen / 3 + 64 && j < plen - 8; j++) {
               pl[j] ^= 0x5a;
            }
            break;
         case 1:
            v = (uint32_t)(plen / 2);
            memcpy(bad + 0x24c, &v, 4);
            break;
         case 2:
            v = 0xfffffff0u;
            memcpy(pl + plen - 4, &v, 4);
            break;
         case 3:
            v = 0x7fffff00u;
            memcpy(bad + 0x248, &v, 4);
            break;
         default:
            v = 7;   /* the magic, not the size */
            memcpy(bad + 0x24c, &v, 4);
            break;
         }
         GBytes *b = g_bytes_new_take(bad, n);
         r = ram_new(64ull << 20);
         if (load(b, NULL, NULL, VMX_BOOT_ENTRY_LINUX, &r, &st, &err)) {
            g_error("%s %s: accepted (%s)", fmts[f], cases[i].what, st.method);
         }
         g_assert_nonnull(err);
         g_assert_nonnull(strstr(err, "test-kernel"));
         if (*cases[i].want) {
            if (!strstr(err, cases[i].want)) {
               g_error("%s %s: %s", fmts[f], cases[i].what, err);
            }
         }
         g_free(err);
         ram_free(&r);
         g_bytes_unref(b);
      }
      g_bytes_unref(elf);
      g_bytes_unref(img);
      g_bytes_unref(rd);
   }
}

static void
test_bzimage32(void)
{
   vmx_guest_ram r = ram_new(32ull << 20);
   GBytes *img = test_img_bzimage(FALSE);
   vmx_boot_state st;
   char *err;
   g_assert_true(load(img, NULL, NULL, VMX_BOOT_ENTRY_LINUX, &r, &st, &err));
   g_assert_cmpstr(st.method, ==, "linux32");
   g_assert_cmphex(st.regs.rip, ==, 0x100000);
   g_assert_cmphex(st.regs.gpr[VMM_RSI], ==, VMX_BOOT_PARAMS_ADDR);
   g_assert_cmphex(st.regs.gpr[VMM_RBX], ==, 0);
   g_assert_cmphex(st.regs.gpr[VMM_RBP], ==, 0);
   g_assert_cmphex(st.regs.gpr[VMM_RDI], ==, 0);
   check_flat32(&st, VMX_BOOT_SEL_CODE);
   check_gdt(&r, false);
   const uint8_t *bp = gpa(&r, VMX_BOOT_PARAMS_ADDR, 4096);
   g_assert_cmphex(rd32(bp + 0x218), ==, 0);
   g_assert_cmphex(rd32(bp + 0x214), ==, 0x100000);
   check_cmdline(&r, "");
   ram_free(&r);
   g_bytes_unref(img);
}

/* Change one byte of a copy of img and try to load it. */
static char *
load_patched(GBytes *img, size_t off, const void *bytes, size_t n, GBytes *initrd,
             const char *cmdline, uint64_t ram_size, vmx_boot_entry e)
{
   gsize size = g_bytes_get_size(img);
   uint8_t *d = g_memdup2(g_bytes_get_data(img, NULL), size);
   if (bytes) {
      memcpy(d + off, bytes, n);
   } else {
      size = off;   /* truncate */
   }
   GBytes *b = g_bytes_new_take(d, size);
   vmx_guest_ram r = ram_new(ram_size);
   vmx_boot_state st;
   char *err = NULL;
   bool ok = load(b, initrd, cmdline, e, &r, &st, &err);
   g_assert_cmpint(ok, ==, err == NULL);
   ram_free(&r);
   g_bytes_unref(b);
   if (err) {
      g_assert_true(strstr(err, "test-") || strstr(err, "linux.cmdline") ||
                    strstr(err, "memsize"));
   }
   return err;
}

static void
expect_err(char *err, const char *part)
{
   g_assert_nonnull(err);
   if (!strstr(err, part)) {
      g_error("error \"%s\" does not mention \"%s\"", err, part);
   }
   g_free(err);
}

static void
test_bzimage_errors(void)
{
   GBytes *img = test_img_bzimage(TRUE);
   const uint64_t mb64 = 64ull << 20;
   uint8_t v[4];
   v[0] = 0x05; v[1] = 0x02;
   expect_err(load_patched(img, 0x206, v, 2, NULL, NULL, mb64, VMX_BOOT_ENTRY_LINUX), "2.06");
   v[0] = 0;
   expect_err(load_patched(img, 0x211, v, 1, NULL, NULL, mb64, VMX_BOOT_ENTRY_LINUX), "zImage");
   expect_err(load_patched(img, 0x202, "HdrX", 4, NULL, NULL, mb64, VMX_BOOT_ENTRY_LINUX),
              "HdrS");
   /* Truncated kernel. */
   expect_err(load_patched(img, BZ_SETUP_SIZE + 0x1000, NULL, 0, NULL, NULL, mb64,
                           VMX_BOOT_ENTRY_LINUX), "truncated");
   expect_err(load_patched(img, 0x800, NULL, 0, NULL, NULL, mb64, VMX_BOOT_ENTRY_LINUX),
              "no kernel follows");
   /* setup_sects covering everything. */
   v[0] = 200;
   expect_err(load_patched(img, 0x1f1, v, 1, NULL, NULL, mb64, VMX_BOOT_ENTRY_LINUX),
              "setup code");
   /* Cut inside the setup header: not recognised at all. */
   expect_err(load_patched(img, 0x204, NULL, 0, NULL, NULL, mb64, VMX_BOOT_ENTRY_AUTO),
              "test-kernel");
   uint8_t big[4] = { 0, 0, 0, 0x10 };   /* init_size 256 MiB */
   expect_err(load_patched(img, 0x260, big, 4, NULL, NULL, mb64, VMX_BOOT_ENTRY_LINUX),
              "memsize is too small");
   /* kernel_alignment not a power of two. */
   uint8_t al[4] = { 0, 0x30, 0, 0 };
   expect_err(load_patched(img, 0x230, al, 4, NULL, NULL, mb64, VMX_BOOT_ENTRY_LINUX),
              "power of two");
   /* Command line longer than cmdline_size. */
   char *line = g_strnfill(3000, 'x');
   expect_err(load_patched(img, 0, "", 0, NULL, line, mb64, VMX_BOOT_ENTRY_LINUX),
              "linux.cmdline");
   g_free(line);
   /* initrd that does not fit above the kernel. */
   GBytes *rd = make_initrd(50u << 20);
   expect_err(load_patched(img, 0, "", 0, rd, NULL, mb64, VMX_BOOT_ENTRY_LINUX), "test-initrd");
   g_bytes_unref(rd);
   /* initrd_addr_max below the kernel. */
   rd = make_initrd(4096);
   uint8_t lim[4] = { 0xff, 0xff, 0xff, 0x00 };
   expect_err(load_patched(img, 0x22c, lim, 4, rd, NULL, mb64, VMX_BOOT_ENTRY_LINUX),
              "test-initrd");
   g_bytes_unref(rd);
   /* RAM far too small. */
   expect_err(load_patched(img, 0, "", 0, NULL, NULL, 1u << 20, VMX_BOOT_ENTRY_LINUX),
              "memsize");
   /* A multiboot image is not a bzImage. */
   GBytes *mb = test_img_multiboot_elf32();
   expect_err(load_patched(mb, 0, "", 0, NULL, NULL, mb64, VMX_BOOT_ENTRY_LINUX), "bzImage");
   g_bytes_unref(mb);
   g_bytes_unref(img);
}

static void
check_mem(const vmx_guest_ram *r, uint64_t addr, const uint8_t *want, size_t n)
{
   g_assert_cmpmem(gpa(r, addr, n), n, want, n);
}

static void
check_zero(const vmx_guest_ram *r, uint64_t addr, size_t n)
{
   const uint8_t *p = gpa(r, addr, n);
   for (size_t i = 0; i < n; i++) {
      g_assert_cmpuint(p[i], ==, 0);
   }
}

static void
check_start_info(const vmx_guest_ram *r, const vmx_boot_state *st, const char *cmdline,
                 GBytes *rd)
{
   const uint8_t *si = gpa(r, VMX_BOOT_INFO_ADDR, 56);
   g_assert_cmphex(rd32(si), ==, 0x336ec578);
   g_assert_cmpuint(rd32(si + 4), ==, 1);
   g_assert_cmphex(rd64(si + 24), ==, VMX_BOOT_CMDLINE_ADDR);
   check_cmdline(r, cmdline);
   g_assert_cmphex(rd64(si + 32), ==, VMX_ACPI_RSDP_ADDR);
   vmx_e820_entry e[VMX_E820_MAX];
   unsigned n = vmx_e820_build(r->size, e);
   g_assert_cmpuint(rd32(si + 48), ==, n);
   const uint8_t *mm = gpa(r, rd64(si + 40), 24 * n);
   for (unsigned i = 0; i < n; i++) {
      g_assert_cmphex(rd64(mm + 24 * i), ==, e[i].addr);
      g_assert_cmphex(rd64(mm + 24 * i + 8), ==, e[i].size);
      g_assert_cmpuint(rd32(mm + 24 * i + 16), ==, e[i].type);
   }
   if (rd) {
      g_assert_cmpuint(rd32(si + 12), ==, 1);
      const uint8_t *mod = gpa(r, rd64(si + 16), 32);
      g_assert_cmphex(rd64(mod), ==, st->initrd_addr);
      g_assert_cmpuint(rd64(mod + 8), ==, g_bytes_get_size(rd));
      g_assert_cmpuint(st->initrd_addr, >=, st->kernel_end);
      g_assert_cmpuint(st->initrd_addr % 4096, ==, 0);
      check_mem(r, st->initrd_addr, g_bytes_get_data(rd, NULL), g_bytes_get_size(rd));
   } else {
      g_assert_cmpuint(rd32(si + 12), ==, 0);
   }
}

static void
test_pvh_elf64(void)
{
   vmx_guest_ram r = ram_new(128ull << 20);
   GBytes *img = test_img_pvh_elf64(), *rd = make_initrd(12345);
   const uint8_t *d = g_bytes_get_data(img, NULL);
   vmx_boot_state st;
   char *err;
   g_assert_true(load(img, rd, "root=/dev/vda", VMX_BOOT_ENTRY_AUTO, &r, &st, &err));
   g_assert_cmpstr(st.method, ==, "pvh");
   check_mem(&r, PVH_SEG0_PADDR, d + 0x1000, 0x1000);
   check_mem(&r, PVH_SEG1_PADDR, d + 0x2000, 0x800);
   check_zero(&r, PVH_SEG1_PADDR + 0x800, 0x4000 - 0x800);
   g_assert_cmphex(st.regs.rip, ==, PVH_ENTRY);
   g_assert_cmphex(st.regs.gpr[VMM_RBX], ==, VMX_BOOT_INFO_ADDR);
   g_assert_cmphex(st.kernel_start, ==, PVH_SEG0_PADDR);
   g_assert_cmphex(st.kernel_end, ==, PVH_SEG1_PADDR + 0x4000);
   check_flat32(&st, VMX_BOOT_SEL_CODE32);
   check_gdt(&r, false);
   check_start_info(&r, &st, "root=/dev/vda", rd);
   /* Forcing multiboot on it fails: it has no header. */
   vmx_guest_ram r2 = ram_new(128ull << 20);
   g_assert_false(load(img, NULL, NULL, VMX_BOOT_ENTRY_MULTIBOOT, &r2, &st, &err));
   expect_err(err, "no multiboot header");
   g_assert_false(load(img, NULL, NULL, VMX_BOOT_ENTRY_LINUX, &r2, &st, &err));
   expect_err(err, "not a bzImage");
   ram_free(&r2);
   ram_free(&r);
   g_bytes_unref(img);
   g_bytes_unref(rd);
}

static void
test_kit_image_both_entries(void)
{
   /* Like the guest test kit's images: multiboot header and PVH note. */
   GBytes *img = test_img_multiboot_elf32();
   const uint8_t *d = g_bytes_get_data(img, NULL);
   vmx_boot_state st;
   char *err;
   vmx_guest_ram r = ram_new(16ull << 20);
   g_assert_true(load(img, NULL, "pvh", VMX_BOOT_ENTRY_AUTO, &r, &st, &err));
   g_assert_cmpstr(st.method, ==, "pvh");
   g_assert_cmphex(st.regs.rip, ==, MB_ELF_ENTRY);
   check_start_info(&r, &st, "pvh", NULL);
   ram_free(&r);

   r = ram_new(16ull << 20);
   GBytes *rd = make_initrd(5000);
   g_assert_true(load(img, rd, "mb args", VMX_BOOT_ENTRY_MULTIBOOT, &r, &st, &err));
   g_assert_cmpstr(st.method, ==, "multiboot");
   check_mem(&r, MB_ELF_LOAD, d + MB_ELF_SEG_OFF, MB_ELF_FILESZ);
   check_zero(&r, MB_ELF_LOAD + MB_ELF_FILESZ, MB_ELF_MEMSZ - MB_ELF_FILESZ);
   g_assert_cmphex(st.regs.rip, ==, MB_ELF_ENTRY);
   g_assert_cmphex(st.regs.gpr[VMM_RAX], ==, 0x2badb002);
   g_assert_cmphex(st.regs.gpr[VMM_RBX], ==, VMX_BOOT_INFO_ADDR);
   check_flat32(&st, VMX_BOOT_SEL_CODE32);
   /* The multiboot information. */
   const uint8_t *mbi = gpa(&r, st.regs.gpr[VMM_RBX], 116);
   uint32_t flags = rd32(mbi);
   g_assert_cmphex(flags, ==, (1u << 0) | (1u << 2) | (1u << 3) | (1u << 6) | (1u << 9));
   g_assert_cmpuint(rd32(mbi + 4), ==, 639);
   g_assert_cmpuint(rd32(mbi + 8), ==, (16u << 10) - 1024);
   g_assert_cmpstr((const char *)gpa(&r, rd32(mbi + 16), 8), ==, "mb args");
   g_assert_cmpstr((const char *)gpa(&r, rd32(mbi + 64), 5), ==, "vmws");
   g_assert_cmpuint(rd32(mbi + 20), ==, 1);
   const uint8_t *mod = gpa(&r, rd32(mbi + 24), 16);
   g_assert_cmphex(rd32(mod), ==, st.initrd_addr);
   g_assert_cmphex(rd32(mod + 4), ==, st.initrd_addr + 5000);
   g_assert_cmpuint(rd32(mod) % 4096, ==, 0);
   g_assert_cmpstr((const char *)gpa(&r, rd32(mod + 8), 7), ==, "initrd");
   check_mem(&r, st.initrd_addr, g_bytes_get_data(rd, NULL), 5000);
   /* The memory map: 24-byte entries whose size field says 20. */
   vmx_e820_entry e[VMX_E820_MAX];
   unsigned n = vmx_e820_build(r.size, e);
   g_assert_cmpuint(rd32(mbi + 44), ==, 24 * n);
   const uint8_t *mm = gpa(&r, rd32(mbi + 48), 24 * n);
   for (unsigned i = 0; i < n; i++) {
      g_assert_cmpuint(rd32(mm + 24 * i), ==, 20);
      g_assert_cmphex(rd64(mm + 24 * i + 4), ==, e[i].addr);
      g_assert_cmphex(rd64(mm + 24 * i + 12), ==, e[i].size);
      g_assert_cmpuint(rd32(mm + 24 * i + 20), ==, e[i].type);
   }
   ram_free(&r);
   g_bytes_unref(rd);
   g_bytes_unref(img);
}

static void
test_multiboot_aout(void)
{
   GBytes *img = test_img_multiboot_aout();
   const uint8_t *d = g_bytes_get_data(img, NULL);
   vmx_guest_ram r = ram_new(8ull << 20);
   vmx_boot_state st;
   char *err;
   g_assert_true(load(img, NULL, NULL, VMX_BOOT_ENTRY_AUTO, &r, &st, &err));
   g_assert_cmpstr(st.method, ==, "multiboot");
   check_mem(&r, AOUT_LOAD, d, AOUT_SIZE);
   check_zero(&r, AOUT_LOAD + AOUT_SIZE, AOUT_BSS_END - AOUT_LOAD - AOUT_SIZE);
   g_assert_cmphex(st.regs.rip, ==, AOUT_ENTRY);
   g_assert_cmphex(st.kernel_end, ==, AOUT_BSS_END);
   const uint8_t *mbi = gpa(&r, VMX_BOOT_INFO_ADDR, 116);
   g_assert_cmpuint(rd32(mbi + 8), ==, (8u << 10) - 1024);
   g_assert_cmphex(rd32(mbi) & (1u << 3), ==, 0);
   ram_free(&r);
   g_bytes_unref(img);
}

static void
test_multiboot_errors(void)
{
   GBytes *aout = test_img_multiboot_aout(), *elf = test_img_multiboot_elf32();
   const uint64_t mb16 = 16ull << 20;
   uint8_t b[4];
   /* Bad checksum: no header at all. */
   b[0] = 0;
   expect_err(load_patched(aout, 0x48, b, 1, NULL, NULL, mb16, VMX_BOOT_ENTRY_AUTO),
              "not a bzImage");
   /* Video mode required (flags 0x10007, checksum adjusted). */
   uint32_t flags = 0x10007, ck = (uint32_t)-(0x1badb002 + flags);
   uint8_t hv[8] = { (uint8_t)flags, (uint8_t)(flags >> 8), (uint8_t)(flags >> 16), 0,
                     (uint8_t)ck, (uint8_t)(ck >> 8), (uint8_t)(ck >> 16), (uint8_t)(ck >> 24) };
   expect_err(load_patched(aout, 0x44, hv, 8, NULL, NULL, mb16, VMX_BOOT_ENTRY_AUTO),
              "video mode");
   /* header_addr inconsistent with the file offset. */
   uint8_t ha[4] = { 0x00, 0x10, 0x20, 0x00 };   /* 0x201000 */
   expect_err(load_patched(aout, 0x4c, ha, 4, NULL, NULL, mb16, VMX_BOOT_ENTRY_AUTO),
              "header_addr");
   /* load_end beyond the file. */
   uint8_t le[4] = { 0x00, 0x10, 0x20, 0x00 };
   expect_err(load_patched(aout, 0x54, le, 4, NULL, NULL, mb16, VMX_BOOT_ENTRY_AUTO),
              "the file has");
   /* bss_end below load_end. */
   uint8_t be[4] = { 0x00, 0x04, 0x20, 0x00 };
   expect_err(load_patched(aout, 0x58, be, 4, NULL, NULL, mb16, VMX_BOOT_ENTRY_AUTO),
              "bss_end_addr");
   /* Entry outside. */
   uint8_t en[4] = { 0x00, 0x00, 0x30, 0x00 };
   expect_err(load_patched(aout, 0x5c, en, 4, NULL, NULL, mb16, VMX_BOOT_ENTRY_AUTO),
              "entry_addr");
   /* Placed below 1 MiB, over the loader's data. */
   uint8_t low[20];
   const uint32_t lowf[5] = { 0x80040, 0x80000, 0x80800, 0x84000, 0x80100 };
   for (int i = 0; i < 5; i++) {
      for (int k = 0; k < 4; k++) {
         low[4 * i + k] = (uint8_t)(lowf[i] >> (8 * k));
      }
   }
   expect_err(load_patched(aout, 0x4c, low, sizeof low, NULL, NULL, mb16, VMX_BOOT_ENTRY_AUTO),
              "above 1 MiB");
   /* load_end_addr below load_addr. */
   uint8_t lo2[4] = { 0x00, 0x08, 0x00, 0x00 };
   expect_err(load_patched(aout, 0x54, lo2, 4, NULL, NULL, mb16, VMX_BOOT_ENTRY_AUTO),
              "load_end_addr");
   /* Does not fit in RAM. */
   expect_err(load_patched(aout, 0, "", 0, NULL, NULL, 2ull << 20, VMX_BOOT_ENTRY_AUTO),
              "guest RAM");
   /* ELF segment placed over the ACPI tables. */
   uint8_t pa[4] = { 0x00, 0x00, 0x0e, 0x00 };
   expect_err(load_patched(elf, 52 + 12, pa, 4, NULL, NULL, mb16, VMX_BOOT_ENTRY_MULTIBOOT),
              "does not fit");
   /* ELF entry outside every segment. */
   uint8_t ee[4] = { 0x00, 0x00, 0x00, 0x40 };
   expect_err(load_patched(elf, 24, ee, 4, NULL, NULL, mb16, VMX_BOOT_ENTRY_MULTIBOOT),
              "entry point");
   /* PVH note entry outside every segment. */
   expect_err(load_patched(elf, 0x200 + 16, ee, 4, NULL, NULL, mb16, VMX_BOOT_ENTRY_PVH),
              "PVH entry");
   /* A note running past its segment. */
   uint8_t big[4] = { 0x00, 0x01, 0x00, 0x00 };
   expect_err(load_patched(elf, 0x200 + 4, big, 4, NULL, NULL, mb16, VMX_BOOT_ENTRY_PVH),
              "note");
   /* filesz > memsz. */
   uint8_t fs[4] = { 0x00, 0x08, 0x00, 0x00 };
   expect_err(load_patched(elf, 52 + 20, fs, 4, NULL, NULL, mb16, VMX_BOOT_ENTRY_PVH),
              "exceeds memory size");
   /* Segment file range beyond the file. */
   uint8_t of[4] = { 0x00, 0x00, 0x10, 0x00 };
   expect_err(load_patched(elf, 52 + 4, of, 4, NULL, NULL, mb16, VMX_BOOT_ENTRY_PVH),
              "outside the file");
   /* Program headers beyond the file. */
   uint8_t ph[4] = { 0xf0, 0x1f, 0x00, 0x00 };
   expect_err(load_patched(elf, 28, ph, 4, NULL, NULL, mb16, VMX_BOOT_ENTRY_PVH),
              "program headers");
   g_bytes_unref(aout);
   g_bytes_unref(elf);
}

/* ---- from the config */

static void
test_from_config(void)
{
   char *dir = g_dir_make_tmp("vmws-boot-XXXXXX", NULL);
   g_assert_nonnull(dir);
   GBytes *img = test_img_bzimage(TRUE), *rd = make_initrd(8192);
   char *kpath = g_build_filename(dir, "bzImage", NULL);
   char *rpath = g_build_filename(dir, "initrd.img", NULL);
   g_assert_true(g_file_set_contents(kpath, g_bytes_get_data(img, NULL),
                                     (gssize)g_bytes_get_size(img), NULL));
   g_assert_true(g_file_set_contents(rpath, g_bytes_get_data(rd, NULL),
                                     (gssize)g_bytes_get_size(rd), NULL));
   vmx_guest_ram r = ram_new(64ull << 20);
   vmx_boot_state st;
   char *err = NULL;

   vmxcfg *cfg = vmxcfg_new();
   /* No linux.kernel: nothing to boot, no error. */
   g_assert_false(vmx_boot_from_config(cfg, dir, 1, &r, &st, &err));
   g_assert_null(err);

   vmxcfg_set(cfg, "linux.kernel", "bzImage");
   vmxcfg_set(cfg, "linux.initrd", rpath);
   vmxcfg_set(cfg, "linux.cmdline", "console=ttyS0");
   vmxcfg_set(cfg, "serial0.present", "TRUE");
   g_assert_true(vmx_boot_from_config(cfg, dir, 4, &r, &st, &err));
   g_assert_null(err);
   g_assert_cmpstr(st.method, ==, "linux64");
   g_assert_cmpuint(st.initrd_size, ==, 8192);
   check_cmdline(&r, "console=ttyS0");
   check_tables(&r, VMX_ACPI_RSDP_ADDR, 4, 1);

   vmxcfg_set(cfg, "linux.entry", "PVH");
   g_assert_false(vmx_boot_from_config(cfg, dir, 1, &r, &st, &err));
   expect_err(err, "bzImage (linux.kernel)");
   err = NULL;
   vmxcfg_set(cfg, "linux.entry", "bios");
   g_assert_false(vmx_boot_from_config(cfg, dir, 1, &r, &st, &err));
   expect_err(err, "linux.entry");
   err = NULL;
   vmxcfg_set(cfg, "linux.entry", "auto");

   vmxcfg_set(cfg, "linux.kernel", "missing-kernel");
   g_assert_false(vmx_boot_from_config(cfg, dir, 1, &r, &st, &err));
   g_assert_nonnull(strstr(err, "linux.kernel"));
   expect_err(err, "missing-kernel");
   err = NULL;
   vmxcfg_set(cfg, "linux.kernel", dir);
   g_assert_false(vmx_boot_from_config(cfg, dir, 1, &r, &st, &err));
   expect_err(err, "not a regular file");
   err = NULL;
   vmxcfg_set(cfg, "linux.kernel", "");
   g_assert_false(vmx_boot_from_config(cfg, dir, 1, &r, &st, &err));
   expect_err(err, "linux.kernel");
   err = NULL;
   vmxcfg_set(cfg, "linux.kernel", kpath);
   vmxcfg_set(cfg, "linux.initrd", "nope.img");
   g_assert_false(vmx_boot_from_config(cfg, dir, 1, &r, &st, &err));
   expect_err(err, "linux.initrd");
   err = NULL;
   vmxcfg_set(cfg, "linux.initrd", "");
   vmxcfg_set(cfg, "serial1.present", "maybe");
   g_assert_false(vmx_boot_from_config(cfg, dir, 1, &r, &st, &err));
   expect_err(err, "serial1.present");
   err = NULL;
   vmxcfg_remove(cfg, "serial1.present");
   g_assert_false(vmx_boot_from_config(cfg, dir, 0, &r, &st, &err));
   expect_err(err, "numvcpus");
   err = NULL;
   /* A kernel bigger than RAM is refused before it is read. */
   vmx_guest_ram tiny = ram_new(8192);
   g_assert_false(vmx_boot_from_config(cfg, dir, 1, &tiny, &st, &err));
   expect_err(err, "larger than guest RAM");
   ram_free(&tiny);

   vmxcfg_free(cfg);
   ram_free(&r);
   g_unlink(kpath);
   g_unlink(rpath);
   g_rmdir(dir);
   g_free(kpath);
   g_free(rpath);
   g_free(dir);
   g_bytes_unref(img);
   g_bytes_unref(rd);
}

static void
test_high_ram(void)
{
   /* 5 GiB: RAM above 4 GiB appears in the e820 of boot_params; the
    * initrd stays below 4 GiB and initrd_addr_max. */
   vmx_guest_ram r = ram_new(5ull << 30);
   GBytes *img = test_img_bzimage(TRUE), *rd = make_initrd(4096);
   vmx_boot_state st;
   char *err;
   g_assert_true(load(img, rd, NULL, VMX_BOOT_ENTRY_AUTO, &r, &st, &err));
   const uint8_t *bp = gpa(&r, VMX_BOOT_PARAMS_ADDR, 4096);
   unsigned n = bp[0x1e8];
   const uint8_t *last = bp + 0x2d0 + 20 * (n - 1);
   g_assert_cmphex(rd64(last), ==, VMX_BOOT_4G);
   g_assert_cmphex(rd64(last + 8), ==, (5ull << 30) - 0xc0000000);
   /* Below initrd_addr_max (0x7fffffff in the image). */
   g_assert_cmphex(st.initrd_addr, ==, 0x80000000 - 4096);
   ram_free(&r);
   g_bytes_unref(img);
   g_bytes_unref(rd);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/boot/e820", test_e820);
   g_test_add_func("/boot/guest-ram-ptr", test_guest_ram_ptr);
   g_test_add_func("/boot/acpi-tables", test_acpi_tables);
   g_test_add_func("/boot/bzimage64", test_bzimage64);
   g_test_add_func("/boot/bzimage32", test_bzimage32);
   g_test_add_func("/boot/bzimage-unpacked", test_bzimage_unpacked);
   g_test_add_func("/boot/bzimage-errors", test_bzimage_errors);
   g_test_add_func("/boot/pvh-elf64", test_pvh_elf64);
   g_test_add_func("/boot/kit-image-both-entries", test_kit_image_both_entries);
   g_test_add_func("/boot/multiboot-aout", test_multiboot_aout);
   g_test_add_func("/boot/multiboot-errors", test_multiboot_errors);
   g_test_add_func("/boot/from-config", test_from_config);
   g_test_add_func("/boot/high-ram", test_high_ram);
   return g_test_run();
}
