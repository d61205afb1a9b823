/*
 * vmx/boot/acpi-tables.c - builds the ACPI tables described in
 * acpi-tables.h into guest RAM.
 *
 * Every table is first built in a host buffer, then addresses are assigned
 * (16-byte aligned, FACS 64-byte aligned), pointers patched, checksums
 * computed, and the result copied into 0xE0000-0xEFFFF.
 */
#include "vmx/boot/acpi-tables.h"
#include "vmx/boot/aml.h"
#include "vmx/boot/boot-int.h"
#include "vmx/dev/acpi/acpi.h"

#include <stdio.h>
#include <string.h>

#define OEM_ID        "VMWS  "
#define CREATOR_ID    "VMWS"

#define HDR_LEN       36
#define FADT_LEN      276
#define FACS_LEN      64
#define RSDP_LEN      36

static void
put_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev, const char *table_id)
{
   char id[9];
   snprintf(id, sizeof id, "%-8.8s", table_id);
   memcpy(t, sig, 4);
   boot_put32(t + 4, len);
   t[8] = rev;
   t[9] = 0;
   memcpy(t + 10, OEM_ID, 6);
   memcpy(t + 16, id, 8);
   boot_put32(t + 24, 1);           /* OEM revision */
   memcpy(t + 28, CREATOR_ID, 4);
   boot_put32(t + 32, 1);           /* creator revision */
}

static uint8_t
sum(const uint8_t *p, size_t n)
{
   uint8_t s = 0;
   for (size_t i = 0; i < n; i++) {
      s = (uint8_t)(s + p[i]);
   }
   return s;
}

/* Make the bytes [0, n) sum to zero through the byte at csum_off. */
static void
fix_checksum(uint8_t *p, size_t n, size_t csum_off)
{
   p[csum_off] = 0;
   p[csum_off] = (uint8_t)(0 - sum(p, n));
}

/* Generic Address Structure, system I/O space. */
static void
put_gas_io(uint8_t *p, uint8_t bits, uint8_t access, uint64_t port)
{
   p[0] = 1;          /* system I/O */
   p[1] = bits;
   p[2] = 0;          /* bit offset */
   p[3] = access;     /* 0 undefined, 1 byte, 2 word, 3 dword */
   boot_put64(p + 4, port);
}

/* ---- DSDT */

static void
name_int(vmx_aml *a, const char *name, uint64_t v)
{
   vmx_aml_name_decl(a, name);
   vmx_aml_int(a, v);
}

static void
name_eisa(vmx_aml *a, const char *name, const char *id)
{
   vmx_aml_name_decl(a, name);
   vmx_aml_eisaid(a, id);
}

static void
name_res(vmx_aml *a, const char *name, vmx_aml *res)
{
   vmx_res_end(res);
   vmx_aml_name_decl(a, name);
   vmx_aml_buffer(a, res->data, res->len);
   vmx_aml_free(res);
}

/* An ISA device under PCI0: _HID, optional _UID, _CRS with up to two port
 * ranges and an IRQ. */
static void
isa_device(vmx_aml *a, const char *name, const char *hid, int uid, uint16_t port0,
           uint8_t len0, uint16_t port1, uint8_t len1, int irq)
{
   size_t m = vmx_aml_device_begin(a, name);
   name_eisa(a, "_HID", hid);
   if (uid >= 0) {
      name_int(a, "_UID", (uint64_t)uid);
   }
   vmx_aml res;
   vmx_aml_init(&res);
   if (len0) {
      vmx_res_io(&res, port0, len0);
   }
   if (len1) {
      vmx_res_io(&res, port1, len1);
   }
   if (irq >= 0) {
      vmx_res_irq(&res, (unsigned)irq);
   }
   name_res(a, "_CRS", &res);
   vmx_aml_end(a, m);
}

static void
pci_root(vmx_aml *a, const vmx_acpi_tables_config *c)
{
   vmx_boot_layout l;
   vmx_boot_layout_get(c->ram_size, &l);
   size_t dev = vmx_aml_device_begin(a, "PCI0");
   name_eisa(a, "_HID", "PNP0A03");
   name_int(a, "_UID", 0);
   name_int(a, "_BBN", 0);

   vmx_aml res;
   vmx_aml_init(&res);
   vmx_res_word_bus(&res, 0x00, 0xff);
   vmx_res_io(&res, 0xcf8, 8);
   vmx_res_word_io(&res, 0x0000, 0x0cf7);
   vmx_res_word_io(&res, 0x0d00, 0xffff);
   vmx_res_dword_mem(&res, 0x000a0000, 0x000bffff, true);
   vmx_res_dword_mem(&res, (uint32_t)l.pci32_base, (uint32_t)(l.pci32_end - 1), false);
   vmx_res_qword_mem(&res, l.pci64_base, l.pci64_end - 1, true);
   name_res(a, "_CRS", &res);

   /* _PRT: INTx of every slot of bus 0 straight to IOAPIC GSIs 16-19,
    * GSI = 16 + ((slot + pin) % 4). */
   vmx_aml_name_decl(a, "_PRT");
   size_t prt = vmx_aml_package_begin(a, 32 * 4);
   for (unsigned slot = 0; slot < 32; slot++) {
      for (unsigned pin = 0; pin < 4; pin++) {
         size_t e = vmx_aml_package_begin(a, 4);
         vmx_aml_int(a, ((uint64_t)slot << 16) | 0xffff);
         vmx_aml_int(a, pin);
         vmx_aml_int(a, 0);   /* no link device: the last field is a GSI */
         vmx_aml_int(a, vmx_acpi_pci_intx_gsi(slot, pin));
         vmx_aml_end(a, e);
      }
   }
   vmx_aml_end(a, prt);

   /* Legacy devices behind the host bridge. */
   isa_device(a, "PS2K", "PNP0303", -1, 0x60, 1, 0x64, 1, 1);
   isa_device(a, "PS2M", "PNP0F13", -1, 0, 0, 0, 0, 12);
   isa_device(a, "RTC", "PNP0B00", -1, 0x70, 2, 0, 0, 8);
   static const struct { uint16_t port; int irq; } com[4] = {
      { 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 },
   };
   for (unsigned i = 0; i < 4; i++) {
      if (c->serial_mask & (1u << i)) {
         char name[8];
         snprintf(name, sizeof name, "COM%u", (i + 1) & 7u);
         isa_device(a, name, "PNP0501", (int)i + 1, com[i].port, 8, 0, 0, com[i].irq);
      }
   }
   /* The ACPI register blocks, so that nothing else is put there. */
   isa_device(a, "MBRS", "PNP0C02", 1, ACPI_PM_BASE, 0x40, 0, 0, -1);
   vmx_aml_end(a, dev);
}

static void
build_dsdt(vmx_aml *a, const vmx_acpi_tables_config *c)
{
   uint8_t hdr[HDR_LEN] = { 0 };
   vmx_aml_bytes(a, hdr, sizeof hdr);

   /* \_S5: SLP_TYPa, SLP_TYPb, reserved, reserved. */
   vmx_aml_name_decl(a, "\\_S5");
   size_t s5 = vmx_aml_package_begin(a, 4);
   vmx_aml_int(a, ACPI_SLP_TYP_S5);
   vmx_aml_int(a, ACPI_SLP_TYP_S5);
   vmx_aml_int(a, 0);
   vmx_aml_int(a, 0);
   vmx_aml_end(a, s5);

   size_t sb = vmx_aml_scope_begin(a, "\\_SB");
   for (unsigned i = 0; i < c->ncpus; i++) {
      char name[8];
      snprintf(name, sizeof name, "C%03X", i & 0xfffu);
      size_t cpu = vmx_aml_device_begin(a, name);
      vmx_aml_name_decl(a, "_HID");
      vmx_aml_string(a, "ACPI0007");
      name_int(a, "_UID", i);
      vmx_aml_end(a, cpu);
   }
   pci_root(a, c);
   vmx_aml_end(a, sb);

   put_header(a->data, "DSDT", (uint32_t)a->len, 2, "VMWSDSDT");
   fix_checksum(a->data, a->len, 9);
}

/* ---- MADT */

static void
build_madt(vmx_aml *a, const vmx_acpi_tables_config *c)
{
   uint8_t hdr[HDR_LEN] = { 0 };
   vmx_aml_bytes(a, hdr, sizeof hdr);
   vmx_aml_u32(a, VMX_ACPI_LAPIC_ADDR);
   vmx_aml_u32(a, 1);                  /* PCAT_COMPAT: there are 8259s */
   for (unsigned i = 0; i < c->ncpus; i++) {
      uint8_t e[8] = { 0, 8, (uint8_t)i, (uint8_t)i, 1, 0, 0, 0 };   /* enabled */
      vmx_aml_bytes(a, e, sizeof e);
   }
   uint8_t io[12] = { 1, 12, VMX_ACPI_IOAPIC_ID, 0 };
   boot_put32(io + 4, VMX_ACPI_IOAPIC_ADDR);
   boot_put32(io + 8, 0);              /* GSI base */
   vmx_aml_bytes(a, io, sizeof io);
   /* No IRQ0 -> GSI2 override: both monitors wire ISA IRQ n to IOAPIC pin n
    * (KVM's default GSI routing, and vmx/dev/intc's router), so the PIT is
    * on GSI 0. Declaring the override would send Linux to pin 2, where no
    * timer interrupt arrives. */
   /* IRQ 9 (SCI): level-triggered, active high. */
   uint8_t iso9[10] = { 2, 10, 0, ACPI_SCI_GSI };
   boot_put32(iso9 + 4, ACPI_SCI_GSI);
   boot_put16(iso9 + 8, 0x1 | (0x3 << 2));
   vmx_aml_bytes(a, iso9, sizeof iso9);
   /* LINT1 of every processor is the NMI. */
   uint8_t nmi[6] = { 4, 6, 0xff, 0, 0, 1 };
   vmx_aml_bytes(a, nmi, sizeof nmi);

   put_header(a->data, "APIC", (uint32_t)a->len, 4, "VMWSMADT");
   fix_checksum(a->data, a->len, 9);
}

/* ---- FADT */

static void
build_fadt(uint8_t *f, uint32_t facs, uint32_t dsdt)
{
   memset(f, 0, FADT_LEN);
   boot_put32(f + 36, facs);           /* FIRMWARE_CTRL (X_FIRMWARE_CTRL stays 0) */
   boot_put32(f + 40, dsdt);
   f[45] = 1;                          /* preferred PM profile: desktop */
   boot_put16(f + 46, ACPI_SCI_GSI);
   boot_put32(f + 48, 0);              /* SMI_CMD: none, always in ACPI mode */
   boot_put32(f + 56, ACPI_PM1A_EVT_BLK);
   boot_put32(f + 64, ACPI_PM1A_CNT_BLK);
   boot_put32(f + 76, ACPI_PM_TMR_BLK);
   boot_put32(f + 80, ACPI_GPE0_BLK);
   f[88] = ACPI_PM1_EVT_LEN;
   f[89] = ACPI_PM1_CNT_LEN;
   f[91] = ACPI_PM_TMR_LEN;
   f[92] = ACPI_GPE0_BLK_LEN;
   boot_put16(f + 96, 101);            /* P_LVL2_LAT > 100: no C2 */
   boot_put16(f + 98, 1001);           /* P_LVL3_LAT > 1000: no C3 */
   f[108] = VMX_ACPI_CMOS_CENTURY;
   boot_put16(f + 109, 0x0003);        /* IAPC_BOOT_ARCH: LEGACY_DEVICES | 8042 */
   uint32_t flags = (1u << 0)          /* WBINVD */
                  | (1u << 2)          /* PROC_C1 */
                  | (1u << 5)          /* SLP_BUTTON: no sleep button */
                  | (1u << 6)          /* FIX_RTC: no RTC wake status */
                  | (1u << 8)          /* TMR_VAL_EXT: 32-bit timer */
                  | (1u << 10);        /* RESET_REG_SUP */
   /* PWR_BUTTON (bit 4) clear: the fixed-feature power button. */
   boot_put32(f + 112, flags);
   put_gas_io(f + 116, 8, 1, VMX_ACPI_RESET_PORT);
   f[128] = VMX_ACPI_RESET_VALUE;
   f[131] = 0;                         /* FADT minor version: ACPI 6.0 */
   boot_put64(f + 140, dsdt);          /* X_DSDT */
   put_gas_io(f + 148, ACPI_PM1_EVT_LEN * 8, 2, ACPI_PM1A_EVT_BLK);
   put_gas_io(f + 172, ACPI_PM1_CNT_LEN * 8, 2, ACPI_PM1A_CNT_BLK);
   put_gas_io(f + 208, ACPI_PM_TMR_LEN * 8, 3, ACPI_PM_TMR_BLK);
   put_gas_io(f + 220, ACPI_GPE0_BLK_LEN * 8, 1, ACPI_GPE0_BLK);
   put_header(f, "FACP", FADT_LEN, 6, "VMWSFACP");
   fix_checksum(f, FADT_LEN, 9);
}

static uint32_t
align16(uint32_t v)
{
   return (v + 15) & ~15u;
}

bool
vmx_acpi_tables_build(const vmx_guest_ram *ram, const vmx_acpi_tables_config *c,
                      uint64_t *rsdp_out, char **err)
{
   if (c->ncpus < 1 || c->ncpus > 255) {
      return boot_fail(err, "ACPI tables", "%u vCPUs cannot be described (1-255)", c->ncpus);
   }
   uint8_t *area = vmx_guest_ram_ptr(ram, VMX_ACPI_TABLES_BASE,
                                     VMX_ACPI_TABLES_END - VMX_ACPI_TABLES_BASE);
   if (!area) {
      return boot_fail(err, "ACPI tables", "guest RAM does not cover 0x%x-0x%x",
                       VMX_ACPI_TABLES_BASE, VMX_ACPI_TABLES_END);
   }
   vmx_aml dsdt, madt;
   vmx_aml_init(&dsdt);
   vmx_aml_init(&madt);
   build_dsdt(&dsdt, c);
   build_madt(&madt, c);

   const uint32_t nent = 2;
   uint32_t rsdp = VMX_ACPI_RSDP_ADDR;
   uint32_t xsdt = align16(rsdp + RSDP_LEN);
   uint32_t xsdt_len = HDR_LEN + 8 * nent;
   uint32_t rsdt = align16(xsdt + xsdt_len);
   uint32_t rsdt_len = HDR_LEN + 4 * nent;
   uint32_t fadt = align16(rsdt + rsdt_len);
   uint32_t madt_addr = align16(fadt + FADT_LEN);
   uint32_t dsdt_addr = align16(madt_addr + (uint32_t)madt.len);
   uint32_t end = dsdt_addr + (uint32_t)dsdt.len;
   if (end > VMX_ACPI_TABLES_END) {
      vmx_aml_free(&dsdt);
      vmx_aml_free(&madt);
      return boot_fail(err, "ACPI tables", "the tables need %u bytes; only %u fit",
                       end - VMX_ACPI_TABLES_BASE, VMX_ACPI_TABLES_END - VMX_ACPI_TABLES_BASE);
   }
   memset(area, 0, VMX_ACPI_TABLES_END - VMX_ACPI_TABLES_BASE);
#define AT(addr) (area + ((addr) - VMX_ACPI_TABLES_BASE))

   /* FACS: no checksum. */
   uint8_t *facs = AT(VMX_ACPI_FACS_ADDR);
   memcpy(facs, "FACS", 4);
   boot_put32(facs + 4, FACS_LEN);
   facs[32] = 2;                       /* version */

   uint8_t *x = AT(xsdt);
   boot_put64(x + HDR_LEN, fadt);
   boot_put64(x + HDR_LEN + 8, madt_addr);
   put_header(x, "XSDT", xsdt_len, 1, "VMWSXSDT");
   fix_checksum(x, xsdt_len, 9);

   uint8_t *r = AT(rsdt);
   boot_put32(r + HDR_LEN, fadt);
   boot_put32(r + HDR_LEN + 4, madt_addr);
   put_header(r, "RSDT", rsdt_len, 1, "VMWSRSDT");
   fix_checksum(r, rsdt_len, 9);

   build_fadt(AT(fadt), VMX_ACPI_FACS_ADDR, dsdt_addr);
   memcpy(AT(madt_addr), madt.data, madt.len);
   memcpy(AT(dsdt_addr), dsdt.data, dsdt.len);

   uint8_t *p = AT(rsdp);
   memcpy(p, "RSD PTR ", 8);
   memcpy(p + 9, OEM_ID, 6);
   p[15] = 2;                          /* revision: ACPI 2.0+ */
   boot_put32(p + 16, rsdt);
   boot_put32(p + 20, RSDP_LEN);
   boot_put64(p + 24, xsdt);
   fix_checksum(p, 20, 8);
   fix_checksum(p, RSDP_LEN, 32);
#undef AT
   vmx_aml_free(&dsdt);
   vmx_aml_free(&madt);
   *rsdp_out = rsdp;
   return true;
}
