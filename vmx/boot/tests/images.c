/*
 * vmx/boot/tests/images.c - synthesized boot images (see images.h).
 */
#include "images.h"

#include <string.h>

/* out(0x510, eax); out(0x510, ebx); out(0x510, [ebx]); ACPI S5; hlt loop */
static const uint8_t code32_mb[] = {
   0x66, 0xba, 0x10, 0x05,             /* mov dx, 0x510 */
   0xef,                               /* out dx, eax */
   0x89, 0xd8,                         /* mov eax, ebx */
   0xef,
   0x8b, 0x03,                         /* mov eax, [ebx] */
   0xef,
   0x66, 0xba, 0x04, 0x06,             /* mov dx, 0x604 */
   0x66, 0xb8, 0x00, 0x20,             /* mov ax, 0x2000 */
   0x66, 0xef,                         /* out dx, ax */
   0xf4, 0xeb, 0xfd,                   /* hlt; jmp hlt */
};

/* Linux 32-bit entry: out(esi); out([esi+0x202]); out([esi+0x228]); S5 */
static const uint8_t code32_linux[] = {
   0x66, 0xba, 0x10, 0x05,
   0x89, 0xf0,                         /* mov eax, esi */
   0xef,
   0x8b, 0x86, 0x02, 0x02, 0x00, 0x00, /* mov eax, [esi+0x202] */
   0xef,
   0x8b, 0x86, 0x28, 0x02, 0x00, 0x00, /* mov eax, [esi+0x228] */
   0xef,
   0x66, 0xba, 0x04, 0x06,
   0x66, 0xb8, 0x00, 0x20,
   0x66, 0xef,
   0xf4, 0xeb, 0xfd,
};

/* Linux 64-bit entry: out(rsi); out([rsi+0x202]); out([rsi+0x228]);
 * out([[rsi+0x218]]) (first dword of the initrd, through the page
 * tables); S5 */
static const uint8_t code64_linux[] = {
   0x66, 0xba, 0x10, 0x05,
   0x48, 0x89, 0xf0,                   /* mov rax, rsi */
   0xef,
   0x8b, 0x86, 0x02, 0x02, 0x00, 0x00, /* mov eax, [rsi+0x202] */
   0xef,
   0x8b, 0x86, 0x28, 0x02, 0x00, 0x00, /* mov eax, [rsi+0x228] */
   0xef,
   0x8b, 0x86, 0x18, 0x02, 0x00, 0x00, /* mov eax, [rsi+0x218] */
   0x8b, 0x00,                         /* mov eax, [rax] */
   0xef,
   0x66, 0xba, 0x04, 0x06,
   0x66, 0xb8, 0x00, 0x20,
   0x66, 0xef,
   0xf4, 0xeb, 0xfd,
};

static void
put16(uint8_t *p, uint16_t v)
{
   p[0] = (uint8_t)v;
   p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
   put16(p, (uint16_t)v);
   put16(p + 2, (uint16_t)(v >> 16));
}

static void
put64(uint8_t *p, uint64_t v)
{
   put32(p, (uint32_t)v);
   put32(p + 4, (uint32_t)(v >> 32));
}

static uint8_t *
patterned(size_t n)
{
   uint8_t *d = g_malloc(n);
   for (size_t i = 0; i < n; i++) {
      d[i] = test_pattern((uint32_t)i);
   }
   return d;
}

static void
pvh_note(uint8_t *p, uint32_t entry)
{
   put32(p, 4);
   put32(p + 4, 4);
   put32(p + 8, 18);
   memcpy(p + 12, "Xen", 4);
   put32(p + 16, entry);
}

static void
elf_ident(uint8_t *d, int cls)
{
   memset(d, 0, 16);
   memcpy(d, "\177ELF", 4);
   d[4] = (uint8_t)cls;
   d[5] = 1;
   d[6] = 1;
}

GBytes *
test_img_multiboot_elf32(void)
{
   size_t size = MB_ELF_SEG_OFF + MB_ELF_FILESZ;
   uint8_t *d = patterned(size);
   memset(d, 0, MB_ELF_SEG_OFF);
   elf_ident(d, 1);
   put16(d + 16, 2);                   /* ET_EXEC */
   put16(d + 18, 3);                   /* EM_386 */
   put32(d + 20, 1);
   put32(d + 24, MB_ELF_ENTRY);
   put32(d + 28, 52);                  /* phoff */
   put16(d + 40, 52);
   put16(d + 42, 32);
   put16(d + 44, 2);
   uint8_t *ph = d + 52;
   put32(ph, 1);                       /* PT_LOAD */
   put32(ph + 4, MB_ELF_SEG_OFF);
   put32(ph + 8, MB_ELF_LOAD);
   put32(ph + 12, MB_ELF_LOAD);
   put32(ph + 16, MB_ELF_FILESZ);
   put32(ph + 20, MB_ELF_MEMSZ);
   put32(ph + 24, 7);
   put32(ph + 28, 0x1000);
   ph += 32;
   put32(ph, 4);                       /* PT_NOTE */
   put32(ph + 4, 0x200);
   put32(ph + 16, 20);
   put32(ph + 20, 20);
   put32(ph + 28, 4);
   pvh_note(d + 0x200, MB_ELF_ENTRY);
   uint8_t *mb = d + MB_ELF_SEG_OFF;
   put32(mb, 0x1badb002);
   put32(mb + 4, 3);
   put32(mb + 8, (uint32_t)-(0x1badb002 + 3));
   memcpy(d + MB_ELF_SEG_OFF + (MB_ELF_ENTRY - MB_ELF_LOAD), code32_mb, sizeof code32_mb);
   return g_bytes_new_take(d, size);
}

GBytes *
test_img_pvh_elf64(void)
{
   const uint64_t kbase = 0xffffffff81000000ull;
   size_t size = 0x2000 + 0x800;
   uint8_t *d = patterned(size);
   memset(d, 0, 0x1000);
   elf_ident(d, 2);
   put16(d + 16, 2);
   put16(d + 18, 62);                  /* EM_X86_64 */
   put32(d + 20, 1);
   put64(d + 24, kbase);
   put64(d + 32, 64);                  /* phoff */
   put16(d + 52, 64);
   put16(d + 54, 56);
   put16(d + 56, 3);
   uint8_t *ph = d + 64;
   put32(ph, 1);
   put32(ph + 4, 5);
   put64(ph + 8, 0x1000);
   put64(ph + 16, kbase);
   put64(ph + 24, PVH_SEG0_PADDR);
   put64(ph + 32, 0x1000);
   put64(ph + 40, 0x1000);
   ph += 56;
   put32(ph, 1);
   put32(ph + 4, 6);
   put64(ph + 8, 0x2000);
   put64(ph + 16, kbase + 0x200000);
   put64(ph + 24, PVH_SEG1_PADDR);
   put64(ph + 32, 0x800);
   put64(ph + 40, 0x4000);
   ph += 56;
   put32(ph, 4);
   put64(ph + 8, 0x400);
   put64(ph + 32, 20 + 16);
   put64(ph + 40, 20 + 16);
   put64(ph + 48, 4);
   /* An unrelated note first, then the PVH one. */
   put32(d + 0x400, 4);
   put32(d + 0x404, 0);
   put32(d + 0x408, 3);
   memcpy(d + 0x40c, "GNU", 4);
   pvh_note(d + 0x410, PVH_ENTRY);
   memcpy(d + 0x1000 + (PVH_ENTRY - PVH_SEG0_PADDR), code32_mb, sizeof code32_mb);
   return g_bytes_new_take(d, size);
}

GBytes *
test_img_multiboot_aout(void)
{
   uint8_t *d = patterned(AOUT_SIZE);
   uint8_t *h = d + 0x40;
   uint32_t flags = (1u << 16) | 3;
   put32(h, 0x1badb002);
   put32(h + 4, flags);
   put32(h + 8, (uint32_t)-(0x1badb002 + flags));
   put32(h + 12, AOUT_LOAD + 0x40);
   put32(h + 16, AOUT_LOAD);
   put32(h + 20, AOUT_LOAD + AOUT_SIZE);
   put32(h + 24, AOUT_BSS_END);
   put32(h + 28, AOUT_ENTRY);
   memcpy(d + (AOUT_ENTRY - AOUT_LOAD), code32_mb, sizeof code32_mb);
   return g_bytes_new_take(d, AOUT_SIZE);
}

GBytes *
test_img_bzimage(gboolean is64)
{
   size_t size = BZ_SETUP_SIZE + BZ_KERNEL_SIZE;
   uint8_t *d = patterned(size);
   memset(d, 0, BZ_SETUP_SIZE);
   d[0x1f1] = BZ_SETUP_SIZE / 512 - 1;
   put32(d + 0x1f4, BZ_KERNEL_SIZE / 16);
   put16(d + 0x1fe, 0xaa55);
   d[0x200] = 0xeb;
   d[0x201] = 0x6a;                    /* header ends at 0x26c */
   memcpy(d + 0x202, "HdrS", 4);
   put16(d + 0x206, is64 ? 0x020f : 0x020a);
   d[0x211] = 0x01;                    /* LOADED_HIGH */
   put32(d + 0x214, 0x100000);
   put32(d + 0x22c, 0x7fffffff);
   put32(d + 0x230, 0x200000);
   d[0x234] = 1;
   put16(d + 0x236, is64 ? 0x3 : 0);
   put32(d + 0x238, 2047);
   put64(d + 0x258, BZ_PREF);
   put32(d + 0x260, BZ_INIT_SIZE);
   /* Something after the header end that must not be copied. */
   d[0x270] = 0xcc;
   memcpy(d + BZ_SETUP_SIZE, code32_linux, sizeof code32_linux);
   memcpy(d + BZ_SETUP_SIZE + 0x200, code64_linux, sizeof code64_linux);
   return g_bytes_new_take(d, size);
}
