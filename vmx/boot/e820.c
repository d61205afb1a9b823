/*
 * vmx/boot/e820.c - the e820 memory map; the layout is in e820.h.
 */
#include "vmx/boot/e820.h"
#include "vmx/boot/boot.h"

static unsigned
add(vmx_e820_entry *out, unsigned n, uint64_t start, uint64_t end, uint32_t type)
{
   if (end > start) {
      out[n].addr = start;
      out[n].size = end - start;
      out[n].type = type;
      n++;
   }
   return n;
}

unsigned
vmx_e820_build(uint64_t ram_size, vmx_e820_entry *out)
{
   vmx_boot_layout l;
   vmx_boot_layout_get(ram_size, &l);
   unsigned n = 0;
   uint64_t conv = l.low_end < VMX_E820_EBDA_START ? l.low_end : VMX_E820_EBDA_START;
   n = add(out, n, 0, conv, VMX_E820_RAM);
   if (l.low_end < 0x100000) {
      return n;
   }
   n = add(out, n, VMX_E820_EBDA_START, 0xa0000, VMX_E820_RESERVED);
   n = add(out, n, VMX_E820_FACS_START, VMX_E820_ACPI_START, VMX_E820_NVS);
   n = add(out, n, VMX_E820_ACPI_START, VMX_E820_ACPI_END, VMX_E820_ACPI);
   n = add(out, n, VMX_E820_ACPI_END, 0x100000, VMX_E820_RESERVED);
   n = add(out, n, 0x100000, l.low_end, VMX_E820_RAM);
   n = add(out, n, VMX_E820_IOAPIC_BASE, VMX_E820_IOAPIC_BASE + 0x1000, VMX_E820_RESERVED);
   n = add(out, n, VMX_E820_LAPIC_BASE, VMX_E820_LAPIC_BASE + 0x1000, VMX_E820_RESERVED);
   n = add(out, n, VMX_E820_FLASH_BASE, VMX_BOOT_4G, VMX_E820_RESERVED);
   n = add(out, n, VMX_BOOT_4G, l.high_end, VMX_E820_RAM);
   return n;
}

const char *
vmx_e820_type_name(uint32_t type)
{
   switch (type) {
   case VMX_E820_RAM: return "RAM";
   case VMX_E820_RESERVED: return "reserved";
   case VMX_E820_ACPI: return "ACPI";
   case VMX_E820_NVS: return "ACPI NVS";
   default: return "unknown";
   }
}
