/*
 * tests/guests/test-loader.c - the kit runner's image loader against good
 * and malformed images built in memory: ELF32 and ELF64 program headers,
 * the multiboot header with and without load addresses, PVH notes, and
 * every length, offset and address a hostile image could get wrong.
 */
#include "loader.h"

#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RAM_SIZE (4u << 20)
#define FILE_MAX 16384

static uint8_t ram[RAM_SIZE];
static uint8_t file[FILE_MAX];
static const guest_ram_range ranges[] = {
   { 0x2000, 0x9fc00 - 0x2000 },
   { 0x100000, RAM_SIZE - 0x100000 },
};
static int failures;

#define CHECK(cond, ...) do { \
   if (!(cond)) { \
      printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      printf(__VA_ARGS__); \
      printf("\n"); \
      failures++; \
   } \
} while (0)

static void put32(size_t off, uint32_t v) { memcpy(file + off, &v, 4); }

/* The layout of the ELF32 test image:
 *   0x000 ELF header, 0x034 three program headers (LOAD text, LOAD data, NOTE)
 *   0x100 multiboot header, 0x200 PVH note, 0x1000 text (0x100 bytes) -> 0x100000
 *   0x1100 data (0x80 bytes, memsz 0x1000) -> 0x101000 */
typedef struct img_opts {
   uint32_t text_off, text_filesz, text_memsz, text_paddr;
   uint32_t entry;
   uint16_t phnum, phentsize;
   uint32_t phoff;
   uint32_t mb_flags;
   bool mb_bad_checksum, no_multiboot;
   uint32_t note_descsz, note_filesz;
} img_opts;

static img_opts defaults(void)
{
   return (img_opts){
      .text_off = 0x1000, .text_filesz = 0x100, .text_memsz = 0x100, .text_paddr = 0x100000,
      .entry = 0x100010, .phnum = 3, .phentsize = sizeof(Elf32_Phdr), .phoff = 0x34,
      .mb_flags = 0x3, .note_descsz = 4, .note_filesz = 20,
   };
}

static size_t build_elf32(const img_opts *o)
{
   Elf32_Ehdr eh;
   Elf32_Phdr ph[3];

   memset(file, 0, sizeof file);
   memset(&eh, 0, sizeof eh);
   memcpy(eh.e_ident, ELFMAG, SELFMAG);
   eh.e_ident[EI_CLASS] = ELFCLASS32;
   eh.e_ident[EI_DATA] = ELFDATA2LSB;
   eh.e_ident[EI_VERSION] = EV_CURRENT;
   eh.e_type = ET_EXEC;
   eh.e_machine = EM_386;
   eh.e_version = EV_CURRENT;
   eh.e_entry = o->entry;
   eh.e_phoff = o->phoff;
   eh.e_ehsize = sizeof eh;
   eh.e_phentsize = o->phentsize;
   eh.e_phnum = o->phnum;
   memcpy(file, &eh, sizeof eh);

   ph[0] = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = o->text_off, .p_vaddr = o->text_paddr,
                         .p_paddr = o->text_paddr, .p_filesz = o->text_filesz,
                         .p_memsz = o->text_memsz, .p_flags = PF_R | PF_X };
   ph[1] = (Elf32_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1100, .p_vaddr = 0x101000,
                         .p_paddr = 0x101000, .p_filesz = 0x80, .p_memsz = 0x1000,
                         .p_flags = PF_R | PF_W };
   ph[2] = (Elf32_Phdr){ .p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = o->note_filesz };
   if (o->phoff + sizeof ph <= sizeof file) {
      memcpy(file + o->phoff, ph, sizeof ph);
   }
   if (!o->no_multiboot) {
      put32(0x100, 0x1badb002);
      put32(0x104, o->mb_flags);
      put32(0x108, -(0x1badb002u + o->mb_flags) + (o->mb_bad_checksum ? 1 : 0));
   }
   put32(0x200, 4);
   put32(0x204, o->note_descsz);
   put32(0x208, 18);
   memcpy(file + 0x20c, "Xen", 4);
   put32(0x210, 0x100020);
   memset(file + 0x1000, 0xaa, 0x100);
   memset(file + 0x1100, 0xbb, 0x80);
   return 0x1180;
}

static int load(size_t size, guest_image *img, char *err, size_t errlen)
{
   memset(ram, 0xcc, sizeof ram);
   err[0] = 0;
   return guest_image_load(file, size, ram, RAM_SIZE, ranges, 2, img, err, errlen);
}

static void expect_error(const char *what, size_t size, const char *needle)
{
   guest_image img;
   char err[256];
   int r = load(size, &img, err, sizeof err);

   CHECK(r < 0, "%s: loaded, expected an error mentioning '%s'", what, needle);
   CHECK(r >= 0 || strstr(err, needle), "%s: error '%s' does not mention '%s'", what, err,
         needle);
   if (r < 0) {
      printf("ok - %s: %s\n", what, err);
   }
}

static void test_good_elf32(void)
{
   img_opts o = defaults();
   size_t size = build_elf32(&o);
   guest_image img;
   char err[256];
   bool zeroed = true;

   CHECK(load(size, &img, err, sizeof err) == 0, "good image: %s", err);
   CHECK(img.has_multiboot && img.mb_entry == 0x100010, "multiboot entry 0x%x", img.mb_entry);
   CHECK(img.has_pvh && img.pvh_entry == 0x100020, "PVH entry 0x%x", img.pvh_entry);
   CHECK(img.lo == 0x100000 && img.hi == 0x102000, "extent 0x%llx-0x%llx",
         (unsigned long long)img.lo, (unsigned long long)img.hi);
   CHECK(ram[0x100000] == 0xaa && ram[0x1000ff] == 0xaa && ram[0x100100] == 0xcc,
         "text placement");
   CHECK(ram[0x101000] == 0xbb && ram[0x10107f] == 0xbb, "data placement");
   for (unsigned i = 0x101080; i < 0x102000; i++) {
      zeroed &= ram[i] == 0;
   }
   CHECK(zeroed, "bss not zeroed");
   printf("ok - a good ELF32 image with multiboot header and PVH note\n");
}

static void test_bad_elf32(void)
{
   img_opts o;
   size_t size;

   o = defaults();
   size = build_elf32(&o);
   expect_error("truncated to 40 bytes", 40, "cut off");
   expect_error("truncated inside a segment", 0x1050, "outside the");
   memcpy(file, "\177ELG", 4);
   expect_error("bad ELF magic", size, "not an ELF");

   o = defaults();
   o.phoff = 0x3000;
   size = build_elf32(&o);
   expect_error("program headers past the end", size, "program headers lie outside");

   o = defaults();
   o.phnum = 0;
   size = build_elf32(&o);
   expect_error("no program headers", size, "program headers");

   o = defaults();
   o.phentsize = 20;
   size = build_elf32(&o);
   expect_error("wrong program header size", size, "program header size");

   o = defaults();
   o.text_filesz = 0x200;
   o.text_memsz = 0x100;
   size = build_elf32(&o);
   expect_error("filesz > memsz", size, "exceeds memory size");

   o = defaults();
   o.text_off = 0xfffffff0;
   size = build_elf32(&o);
   expect_error("segment offset wraps", size, "outside the");

   o = defaults();
   o.text_paddr = RAM_SIZE - 0x80;
   o.entry = o.text_paddr;
   size = build_elf32(&o);
   expect_error("segment past the end of RAM", size, "not usable RAM");

   o = defaults();
   o.text_paddr = 0xffffff80;
   o.entry = o.text_paddr;
   size = build_elf32(&o);
   expect_error("segment address wraps", size, "not usable RAM");

   o = defaults();
   o.text_paddr = 0x1000;   /* the runner's boot-info page */
   o.entry = o.text_paddr;
   size = build_elf32(&o);
   expect_error("segment over reserved low memory", size, "not usable RAM");

   o = defaults();
   o.text_paddr = 0x9f000;   /* across the 640 KiB hole */
   o.text_memsz = 0x1000;
   o.entry = o.text_paddr;
   size = build_elf32(&o);
   expect_error("segment across the legacy hole", size, "not usable RAM");

   o = defaults();
   o.entry = 0x100200;   /* past text's file bytes */
   size = build_elf32(&o);
   expect_error("entry outside the segments", size, "entry");

   o = defaults();
   o.mb_flags = 0x7;   /* requires a video mode */
   size = build_elf32(&o);
   expect_error("unsupported multiboot requirement", size, "requires features");

   o = defaults();
   o.note_filesz = 16;   /* the note's value runs past its segment */
   size = build_elf32(&o);
   expect_error("note past its segment", size, "runs past");

   o = defaults();
   o.note_descsz = 2;
   o.note_filesz = 20;
   size = build_elf32(&o);
   expect_error("PVH note with a 2-byte value", size, "2-byte");

   o = defaults();
   size = build_elf32(&o);
   put32(0x210, 0x200000);   /* PVH entry in unloaded memory */
   expect_error("PVH entry outside the image", size, "PVH entry");
}

static void test_checksum_and_pvh_only(void)
{
   img_opts o = defaults();
   size_t size;
   guest_image img;
   char err[256];

   o.mb_bad_checksum = true;
   size = build_elf32(&o);
   CHECK(load(size, &img, err, sizeof err) == 0, "bad checksum image: %s", err);
   CHECK(!img.has_multiboot && img.has_pvh, "a header with a bad checksum is not a header");

   o = defaults();
   o.no_multiboot = true;
   size = build_elf32(&o);
   CHECK(load(size, &img, err, sizeof err) == 0, "PVH-only image: %s", err);
   CHECK(!img.has_multiboot && img.has_pvh && img.pvh_entry == 0x100020, "PVH-only entries");
   printf("ok - bad multiboot checksum is ignored; PVH-only image\n");
}

/* Multiboot with load addresses (flag 16): the header at file offset 0x40,
 * header_addr 0x100040, so the file loads from offset 0 at 0x100000. */
static size_t build_aout(uint32_t header_addr, uint32_t load_addr, uint32_t load_end,
                         uint32_t bss_end, uint32_t entry)
{
   const uint32_t flags = 0x10003;

   memset(file, 0, sizeof file);
   memset(file, 0x5a, 0x800);
   put32(0x40, 0x1badb002);
   put32(0x44, flags);
   put32(0x48, -(0x1badb002u + flags));
   put32(0x4c, header_addr);
   put32(0x50, load_addr);
   put32(0x54, load_end);
   put32(0x58, bss_end);
   put32(0x5c, entry);
   return 0x800;
}

static void test_aout(void)
{
   guest_image img;
   char err[256];
   size_t size = build_aout(0x100040, 0x100000, 0x100800, 0x101000, 0x100060);

   CHECK(load(size, &img, err, sizeof err) == 0, "a.out image: %s", err);
   CHECK(img.has_multiboot && img.mb_entry == 0x100060, "entry 0x%x", img.mb_entry);
   CHECK(ram[0x100000] == 0x5a && ram[0x1007ff] == 0x5a && ram[0x100800] == 0 &&
         ram[0x100fff] == 0 && ram[0x101000] == 0xcc, "a.out placement and bss");
   printf("ok - multiboot with load addresses\n");

   size = build_aout(0x100040, 0x100000, 0, 0, 0x100060);
   CHECK(load(size, &img, err, sizeof err) == 0 && img.hi == 0x100800,
         "load_end 0 means the whole file: %s", err);

   size = build_aout(0x100100, 0x100000, 0x100800, 0, 0x100060);
   expect_error("header_addr beyond the file offset", size, "do not fit");
   size = build_aout(0x100040, 0x100100, 0x100800, 0, 0x100160);
   expect_error("load_addr above header_addr", size, "do not fit");
   size = build_aout(0x100040, 0x100000, 0x100000 - 4, 0, 0x100060);
   expect_error("load_end below load_addr", size, "below load_addr");
   size = build_aout(0x100040, 0x100000, 0x101000, 0, 0x100060);
   expect_error("load_end past the file", size, "outside the");
   size = build_aout(0x100040, 0x100000, 0x100800, 0x100400, 0x100060);
   expect_error("bss_end below the loaded end", size, "bss_end_addr");
   size = build_aout(0x100040, 0x100000, 0x100800, 0xfffff000, 0x100060);
   expect_error("bss past RAM", size, "not usable RAM");
   size = build_aout(0x100040, 0x100000, 0x100800, 0, 0x100900);
   expect_error("entry past the loaded bytes", size, "entry_addr");
   /* header cut off by the end of the file */
   size = build_aout(0x100040, 0x100000, 0x100800, 0, 0x100060);
   expect_error("header cut off", 0x50, "cut off");
}

static void test_elf64(void)
{
   Elf64_Ehdr eh;
   Elf64_Phdr ph[2];
   guest_image img;
   char err[256];
   uint64_t entry64 = 0x100030;

   memset(file, 0, sizeof file);
   memset(&eh, 0, sizeof eh);
   memcpy(eh.e_ident, ELFMAG, SELFMAG);
   eh.e_ident[EI_CLASS] = ELFCLASS64;
   eh.e_ident[EI_DATA] = ELFDATA2LSB;
   eh.e_ident[EI_VERSION] = EV_CURRENT;
   eh.e_type = ET_EXEC;
   eh.e_machine = EM_X86_64;
   eh.e_entry = 0xffffffff80100010ull;   /* a kernel-style virtual entry */
   eh.e_phoff = sizeof eh;
   eh.e_phentsize = sizeof(Elf64_Phdr);
   eh.e_phnum = 2;
   memcpy(file, &eh, sizeof eh);
   ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = 0x1000,
                         .p_vaddr = 0xffffffff80100000ull, .p_paddr = 0x100000,
                         .p_filesz = 0x100, .p_memsz = 0x100 };
   ph[1] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = 24 };
   memcpy(file + sizeof eh, ph, sizeof ph);
   put32(0x200, 4);
   put32(0x204, 8);
   put32(0x208, 18);
   memcpy(file + 0x20c, "Xen", 4);
   memcpy(file + 0x210, &entry64, 8);
   CHECK(load(0x1100, &img, err, sizeof err) == 0, "ELF64: %s", err);
   CHECK(img.has_pvh && img.pvh_entry == 0x100030, "ELF64 PVH entry 0x%x", img.pvh_entry);
   CHECK(!img.has_multiboot, "no multiboot header in the ELF64 image");
   printf("ok - ELF64 with an 8-byte PVH note (a vmlinux-style image)\n");

   eh.e_machine = EM_AARCH64;
   memcpy(file, &eh, sizeof eh);
   expect_error("wrong machine", 0x1100, "not x86");
}

int main(void)
{
   setvbuf(stdout, NULL, _IONBF, 0);
   test_good_elf32();
   test_bad_elf32();
   test_checksum_and_pvh_only();
   test_aout();
   test_elf64();
   if (failures) {
      printf("%d check(s) failed\n", failures);
      return 1;
   }
   printf("PASS\n");
   return 0;
}
