/*
 * vmx/boot/e820.h - the e820 memory map of the PC platform.
 *
 * For a RAM size the map is (ranges [start, end)):
 *
 *   0x00000000 - 0x0009fc00  RAM (639 KiB of conventional memory)
 *   0x0009fc00 - 0x000a0000  reserved (where an EBDA would be)
 *   0x000a0000 - 0x000e0000  not listed: VGA window and option ROMs
 *   0x000e0000 - 0x000e1000  ACPI NVS: the FACS
 *   0x000e1000 - 0x000f0000  ACPI: the other ACPI tables (and the RSDP)
 *   0x000f0000 - 0x00100000  reserved (firmware segment)
 *   0x00100000 - low_end     RAM, low_end = min(memsize, 0xC0000000)
 *   0xc0000000 - 0xfec00000  not listed: 32-bit PCI MMIO window
 *   0xfec00000 - 0xfec01000  reserved: IOAPIC
 *   0xfee00000 - 0xfee01000  reserved: local APICs
 *   0xfffc0000 - 4 GiB       reserved: firmware flash
 *   4 GiB - 4 GiB + (memsize - low_end)  RAM, when memsize > 3 GiB
 *
 * The PCI hole starts at 3 GiB (0xC0000000) so that 32-bit BARs of the
 * SVGA (VRAM, FIFO) and other devices have a 1 GiB window.
 */
#ifndef VMX_BOOT_E820_H
#define VMX_BOOT_E820_H

#include <stdint.h>

enum {
   VMX_E820_RAM = 1,
   VMX_E820_RESERVED = 2,
   VMX_E820_ACPI = 3,
   VMX_E820_NVS = 4,
};

typedef struct vmx_e820_entry {
   uint64_t addr;
   uint64_t size;
   uint32_t type;
} vmx_e820_entry;

#define VMX_E820_MAX 16

#define VMX_E820_EBDA_START   0x9fc00ull
#define VMX_E820_FACS_START   0xe0000ull
#define VMX_E820_ACPI_START   0xe1000ull
#define VMX_E820_ACPI_END     0xf0000ull
#define VMX_E820_IOAPIC_BASE  0xfec00000ull
#define VMX_E820_LAPIC_BASE   0xfee00000ull
#define VMX_E820_FLASH_BASE   0xfffc0000ull

/* Fill out[] (at least VMX_E820_MAX entries) in address order; returns the
 * count. ram_size below 1 MiB gives only the conventional RAM it covers. */
unsigned vmx_e820_build(uint64_t ram_size, vmx_e820_entry *out);

/* Human name of a type ("RAM", "reserved", "ACPI", "ACPI NVS"). */
const char *vmx_e820_type_name(uint32_t type);

#endif
