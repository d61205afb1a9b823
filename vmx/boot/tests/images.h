/*
 * vmx/boot/tests/images.h - small boot images synthesized byte by byte for
 * the loader tests. Each carries a few instructions that report what the
 * loader handed over on port 0x510 (dword OUTs) and then power the machine
 * off through ACPI (outw 0x604, 0x2000).
 */
#ifndef VMX_BOOT_TESTS_IMAGES_H
#define VMX_BOOT_TESTS_IMAGES_H

#include <glib.h>
#include <stdint.h>

#define TEST_REPORT_PORT 0x510

/* ELF32 with a multiboot header (flags 3) and a PVH note; one PT_LOAD at
 * 1 MiB (0x1000 bytes of file, 0x3000 in memory), entry (both) 0x100010. */
#define MB_ELF_LOAD     0x100000u
#define MB_ELF_ENTRY    0x100010u
#define MB_ELF_FILESZ   0x1000u
#define MB_ELF_MEMSZ    0x3000u
#define MB_ELF_SEG_OFF  0x1000u
GBytes *test_img_multiboot_elf32(void);

/* ELF64 vmlinux look-alike: virtual 0xffffffff81000000, physical 16 MiB
 * (0x1000 bytes) and 18 MiB (0x800 file, 0x4000 memory); PVH entry
 * 0x1000040; no multiboot header. */
#define PVH_SEG0_PADDR  0x1000000u
#define PVH_SEG1_PADDR  0x1200000u
#define PVH_ENTRY       0x1000040u
GBytes *test_img_pvh_elf64(void);

/* Raw multiboot image with the address fields (flag 16): loaded at
 * 0x200000 (0x800 bytes), bss up to 0x204000, entry 0x200100. */
#define AOUT_LOAD       0x200000u
#define AOUT_SIZE       0x800u
#define AOUT_BSS_END    0x204000u
#define AOUT_ENTRY      0x200100u
GBytes *test_img_multiboot_aout(void);

/* bzImage: 3 setup sectors, 0x3000-byte protected-mode kernel with 32-bit
 * code at offset 0 and 64-bit code at 0x200; protocol 2.15 with
 * XLF_KERNEL_64 when is64, else protocol 2.10 (32-bit entry only).
 * pref_address 16 MiB, init_size 4 MiB, kernel_alignment 2 MiB. */
#define BZ_SETUP_SIZE   2048u
#define BZ_KERNEL_SIZE  0x3000u
#define BZ_INIT_SIZE    0x400000u
#define BZ_PREF         0x1000000u
GBytes *test_img_bzimage(gboolean is64);

/* The byte pattern that fills image bytes that are not code or headers. */
static inline uint8_t
test_pattern(uint32_t i)
{
   return (uint8_t)(i * 7u + 3u);
}

#endif
