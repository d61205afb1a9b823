/*
 * vmx/boot/acpi-tables.h - the ACPI tables of the PC platform, built in
 * guest RAM at power-on.
 *
 * Tables (all in 0xE0000-0xEFFFF, see e820.h):
 *   FACS   at 0xE0000 (64-byte aligned, in an ACPI NVS range)
 *   RSDP   v2 at 0xE1000 (16-byte aligned, found by the BIOS-area scan)
 *   XSDT, RSDT  -> FADT, MADT
 *   FADT   revision 6: PM1a event/control blocks, 32-bit PM timer, GPE0
 *          (ports from vmx/dev/acpi/acpi.h), SCI_INT 9, no SMI command
 *          port (always in ACPI mode), RESET_REG = I/O port 0xCF9 value 6,
 *          fixed-feature power button, no sleep button, HW_REDUCED off,
 *          IAPC_BOOT_ARCH: legacy devices and an 8042, CENTURY = CMOS 0x32
 *   MADT   one local APIC per vCPU (APIC ID = ACPI UID = vCPU index), the
 *          IOAPIC (ID 0, 0xFEC00000, GSI base 0), IRQ9 -> GSI 9
 *          level/active-high (the SCI; no IRQ0 override: the PIT is on
 *          GSI 0), LINT1 = NMI
 *   DSDT   hand-assembled AML (vmx/boot/aml.c): \_S5 (SLP_TYP 0), processor
 *          devices (ACPI0007), \_SB.PCI0 (PNP0A03) with _CRS for bus 0-255,
 *          I/O 0-0xCF7 and 0xD00-0xFFFF, the VGA window, the 32-bit window
 *          0xC0000000-0xFEBFFFFF and a 64-bit window above RAM; _PRT
 *          routing INTx to GSIs 16-19; PS/2 keyboard and mouse, RTC, the
 *          configured COM ports, and the ACPI ports as motherboard resources.
 *
 * PCI INTx routing (the PCI host bridge must raise the same GSIs):
 *   GSI = 16 + ((slot + pin) % 4), pin 0 = INTA .. 3 = INTD,
 * level-triggered, active-low from the guest's point of view (the device
 * model calls vmx_platform_set_irq(gsi, true) while INTx is asserted).
 */
#ifndef VMX_BOOT_ACPI_TABLES_H
#define VMX_BOOT_ACPI_TABLES_H

#include "vmx/boot/boot.h"

#include <stdbool.h>
#include <stdint.h>

#define VMX_ACPI_TABLES_BASE   0xe0000u
#define VMX_ACPI_TABLES_END    0xf0000u
#define VMX_ACPI_FACS_ADDR     0xe0000u
#define VMX_ACPI_RSDP_ADDR     0xe1000u

#define VMX_ACPI_IOAPIC_ID     0
#define VMX_ACPI_IOAPIC_ADDR   0xfec00000u
#define VMX_ACPI_LAPIC_ADDR    0xfee00000u
#define VMX_ACPI_RESET_PORT    0xcf9u
#define VMX_ACPI_RESET_VALUE   6u
#define VMX_ACPI_CMOS_CENTURY  0x32u

#define VMX_ACPI_PCI_GSI_BASE  16u

/* The GSI of INTx pin (0 = INTA) of a device in slot (0-31) of bus 0. */
static inline unsigned
vmx_acpi_pci_intx_gsi(unsigned slot, unsigned pin)
{
   return VMX_ACPI_PCI_GSI_BASE + ((slot + pin) % 4u);
}

typedef struct vmx_acpi_tables_config {
   unsigned ncpus;          /* 1..VMM_MAX_VCPUS */
   uint64_t ram_size;       /* for the PCI windows */
   unsigned serial_mask;    /* bit n: COM(n+1) is present */
} vmx_acpi_tables_config;

/* Write every table into guest RAM (which must cover 0xE0000-0xEFFFF);
 * *rsdp receives the RSDP's address. */
bool vmx_acpi_tables_build(const vmx_guest_ram *ram, const vmx_acpi_tables_config *c,
                           uint64_t *rsdp, char **err);

#endif
