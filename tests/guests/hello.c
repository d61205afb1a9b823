/*
 * tests/guests/hello.c - the smallest kit program: boots, reaches 64-bit
 * mode through the kit's startup, sees the memory its loader reported and
 * says PASS. Runs under the KVM runner (multiboot and PVH entries) and under
 * QEMU's microvm machine. With "kit.expect=pvh" or "kit.expect=multiboot"
 * on the command line it also checks which entry the loader took.
 */
#include "kit/kit.h"

extern uint64_t kit_pml4[];

static const char *find(const char *hay, const char *needle)
{
   size_t n = strlen(needle);

   for (; *hay; hay++) {
      if (strncmp(hay, needle, n) == 0) {
         return hay + n;
      }
   }
   return NULL;
}

static void expect_entry(void)
{
   const char *want = find(kit_boot.cmdline, "kit.expect=");
   int proto;

   if (!want) {
      return;
   }
   proto = strncmp(want, "pvh", 3) == 0 ? KIT_BOOT_PVH :
           strncmp(want, "multiboot", 9) == 0 ? KIT_BOOT_MULTIBOOT : 0;
   kit_check("boot-entry", proto == kit_boot.proto, "expected the %s entry, booted via %s",
             proto == KIT_BOOT_PVH ? "PVH" : proto ? "multiboot" : "(unknown)",
             kit_boot.proto == KIT_BOOT_PVH ? "PVH" : "multiboot");
}

void kit_main(void)
{
   uint64_t efer = kit_rdmsr(0xc0000080);
   uint64_t cr0 = kit_read_cr0();

   kit_printf("Hello from the vmws guest test kit\n");
   kit_check("long-mode", (efer & 0x500) == 0x500, "EFER 0x%lx lacks LME/LMA", efer);
   kit_check("paging", (cr0 & 0x80000001u) == 0x80000001u &&
             kit_read_cr3() == (uint64_t)(uintptr_t)kit_pml4,
             "CR0 0x%lx CR3 0x%lx", cr0, kit_read_cr3());
   kit_check("boot-memory", kit_boot.ram_bytes >= (2u << 20) &&
             kit_boot.ram_top > (uint64_t)(uintptr_t)kit_pml4,
             "the loader reported %lu bytes of RAM, top 0x%lx", kit_boot.ram_bytes,
             kit_boot.ram_top);
   expect_entry();
   kit_pass("hello");
}
