/*
 * tests/guests/loader.c - see loader.h. Multiboot v1 header rules: the
 * header is 32-bit aligned within the first 8192 bytes, magic 0x1badb002,
 * magic + flags + checksum == 0 (mod 2^32); flags bits 0-15 are
 * requirements a loader must honour or refuse (we honour 0 and 1); bit 16
 * means the header carries load addresses (header_addr, load_addr,
 * load_end_addr, bss_end_addr, entry_addr). PVH: an ELF note named "Xen"
 * of type 18 (XEN_ELFNOTE_PHYS32_ENTRY) holding the 32-bit entry address.
 */
#include "loader.h"

#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MB_MAGIC        0x1badb002u
#define MB_SEARCH       8192u
#define MB_FLAG_ADDRS   (1u << 16)
#define MB_KNOWN_REQS   0x3u          /* page-align modules, memory info */
#define XEN_NOTE_ENTRY  18u

static int fail(char *err, size_t errlen, const char *fmt, ...)
   __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
   va_list ap;

   if (err && errlen) {
      va_start(ap, fmt);
      vsnprintf(err, errlen, fmt, ap);
      va_end(ap);
   }
   return -1;
}

static uint32_t rd32(const uint8_t *p)
{
   uint32_t v;

   memcpy(&v, p, 4);
   return v;
}

/* Is [addr, addr + len) inside one usable range? */
static bool in_ranges(const guest_ram_range *r, unsigned n, uint64_t addr, uint64_t len)
{
   for (unsigned i = 0; i < n; i++) {
      if (addr >= r[i].base && addr - r[i].base <= r[i].size &&
          len <= r[i].size - (addr - r[i].base)) {
         return true;
      }
   }
   return false;
}

typedef struct ctx {
   const uint8_t *file;
   size_t size;
   uint8_t *ram;
   uint64_t ram_size;
   const guest_ram_range *ranges;
   unsigned nranges;
   guest_image *img;
   char *err;
   size_t errlen;
} ctx;

/* Copies filesz bytes from the file at off to paddr and zeroes up to memsz. */
static int place(ctx *c, const char *what, uint64_t off, uint64_t filesz, uint64_t paddr,
                 uint64_t memsz)
{
   if (filesz > memsz) {
      return fail(c->err, c->errlen, "%s: file size %llu exceeds memory size %llu", what,
                  (unsigned long long)filesz, (unsigned long long)memsz);
   }
   if (off > c->size || filesz > c->size - off) {
      return fail(c->err, c->errlen, "%s: bytes %llu..%llu lie outside the %zu-byte file",
                  what, (unsigned long long)off, (unsigned long long)(off + filesz), c->size);
   }
   if (paddr >= c->ram_size || memsz > c->ram_size - paddr ||
       !in_ranges(c->ranges, c->nranges, paddr, memsz)) {
      return fail(c->err, c->errlen,
                  "%s: guest-physical 0x%llx..0x%llx is not usable RAM (RAM is %llu MiB)",
                  what, (unsigned long long)paddr, (unsigned long long)(paddr + memsz),
                  (unsigned long long)(c->ram_size >> 20));
   }
   memcpy(c->ram + paddr, c->file + off, filesz);
   memset(c->ram + paddr + filesz, 0, memsz - filesz);
   if (memsz) {
      if (c->img->hi == 0 || paddr < c->img->lo) {
         c->img->lo = paddr;
      }
      if (paddr + memsz > c->img->hi) {
         c->img->hi = paddr + memsz;
      }
   }
   return 0;
}

static int find_multiboot(ctx *c, size_t *hdr_off)
{
   size_t limit = c->size < MB_SEARCH ? c->size : MB_SEARCH;

   for (size_t off = 0; off + 12 <= limit; off += 4) {
      const uint8_t *h = c->file + off;

      if (rd32(h) == MB_MAGIC && (uint32_t)(rd32(h) + rd32(h + 4) + rd32(h + 8)) == 0) {
         *hdr_off = off;
         return 1;
      }
   }
   return 0;
}

/* Flag 16: the header says where to load. */
static int load_aout(ctx *c, size_t off)
{
   const uint8_t *h = c->file + off;
   uint32_t header_addr, load_addr, load_end, bss_end, entry;
   uint64_t file_off, load_size, mem_end;

   if (off + 32 > c->size) {
      return fail(c->err, c->errlen, "multiboot header at %zu is cut off by the end of the file",
                  off);
   }
   header_addr = rd32(h + 12);
   load_addr = rd32(h + 16);
   load_end = rd32(h + 20);
   bss_end = rd32(h + 24);
   entry = rd32(h + 28);
   if (load_addr > header_addr || header_addr - load_addr > off) {
      return fail(c->err, c->errlen, "multiboot load_addr 0x%x / header_addr 0x%x do not fit "
                  "the header's file offset %zu", load_addr, header_addr, off);
   }
   file_off = off - (header_addr - load_addr);
   if (load_end == 0) {
      load_size = c->size - file_off;
   } else if (load_end < load_addr) {
      return fail(c->err, c->errlen, "multiboot load_end_addr 0x%x is below load_addr 0x%x",
                  load_end, load_addr);
   } else {
      load_size = load_end - load_addr;
   }
   mem_end = (uint64_t)load_addr + load_size;
   if (bss_end) {
      if (bss_end < mem_end) {
         return fail(c->err, c->errlen, "multiboot bss_end_addr 0x%x is below the loaded end "
                     "0x%llx", bss_end, (unsigned long long)mem_end);
      }
      mem_end = bss_end;
   }
   if (place(c, "multiboot image", file_off, load_size, load_addr, mem_end - load_addr) < 0) {
      return -1;
   }
   if (entry < load_addr || entry >= load_addr + load_size) {
      return fail(c->err, c->errlen, "multiboot entry_addr 0x%x is outside the loaded image",
                  entry);
   }
   c->img->mb_entry = entry;
   return 0;
}

typedef struct phdr {
   uint32_t type;
   uint64_t offset, vaddr, paddr, filesz, memsz;
} phdr;

static bool entry_loaded(const phdr *ph, unsigned n, uint64_t vaddr, uint64_t *paddr)
{
   for (unsigned i = 0; i < n; i++) {
      if (ph[i].type == PT_LOAD && vaddr >= ph[i].vaddr && vaddr - ph[i].vaddr < ph[i].filesz) {
         *paddr = ph[i].paddr + (vaddr - ph[i].vaddr);
         return true;
      }
   }
   return false;
}

static bool entry_loaded_phys(const phdr *ph, unsigned n, uint64_t paddr)
{
   for (unsigned i = 0; i < n; i++) {
      if (ph[i].type == PT_LOAD && paddr >= ph[i].paddr && paddr - ph[i].paddr < ph[i].filesz) {
         return true;
      }
   }
   return false;
}

static int scan_notes(ctx *c, const phdr *ph, const phdr *all, unsigned nall)
{
   uint64_t pos = ph->offset, end;

   if (ph->offset > c->size || ph->filesz > c->size - ph->offset) {
      return fail(c->err, c->errlen, "ELF note segment lies outside the file");
   }
   end = ph->offset + ph->filesz;
   while (end - pos >= 12) {
      uint32_t namesz = rd32(c->file + pos), descsz = rd32(c->file + pos + 4);
      uint32_t type = rd32(c->file + pos + 8);
      uint64_t name = pos + 12;
      uint64_t desc = name + (((uint64_t)namesz + 3) & ~3ull);
      uint64_t next = desc + (((uint64_t)descsz + 3) & ~3ull);

      if (next > end) {
         return fail(c->err, c->errlen, "ELF note at offset %llu runs past its segment",
                     (unsigned long long)pos);
      }
      if (namesz == 4 && memcmp(c->file + name, "Xen", 4) == 0 && type == XEN_NOTE_ENTRY) {
         uint64_t e;

         if (descsz == 4) {
            e = rd32(c->file + desc);
         } else if (descsz == 8) {
            memcpy(&e, c->file + desc, 8);
         } else {
            return fail(c->err, c->errlen, "PVH entry note has a %u-byte value", descsz);
         }
         if (e > 0xffffffffull || !entry_loaded_phys(all, nall, e)) {
            return fail(c->err, c->errlen, "PVH entry 0x%llx is outside the loaded image",
                        (unsigned long long)e);
         }
         c->img->has_pvh = true;
         c->img->pvh_entry = (uint32_t)e;
      }
      pos = next;
   }
   return 0;
}

#define MAX_PHDRS 64

static int load_elf(ctx *c)
{
   const uint8_t *f = c->file;
   phdr ph[MAX_PHDRS];
   bool is64;
   uint64_t phoff, entry, entry_phys;
   unsigned phnum, phentsize, nload = 0;
   uint16_t type, machine;

   if (c->size < EI_NIDENT || memcmp(f, ELFMAG, SELFMAG) != 0) {
      return fail(c->err, c->errlen, "not an ELF file and no multiboot load addresses");
   }
   if (f[EI_CLASS] != ELFCLASS32 && f[EI_CLASS] != ELFCLASS64) {
      return fail(c->err, c->errlen, "unknown ELF class %u", f[EI_CLASS]);
   }
   is64 = f[EI_CLASS] == ELFCLASS64;
   if (f[EI_DATA] != ELFDATA2LSB || f[EI_VERSION] != EV_CURRENT) {
      return fail(c->err, c->errlen, "ELF file is not little-endian version 1");
   }
   if (c->size < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr))) {
      return fail(c->err, c->errlen, "ELF header is cut off (%zu bytes)", c->size);
   }
   if (is64) {
      Elf64_Ehdr eh;

      memcpy(&eh, f, sizeof eh);
      type = eh.e_type;
      machine = eh.e_machine;
      phoff = eh.e_phoff;
      phnum = eh.e_phnum;
      phentsize = eh.e_phentsize;
      entry = eh.e_entry;
   } else {
      Elf32_Ehdr eh;

      memcpy(&eh, f, sizeof eh);
      type = eh.e_type;
      machine = eh.e_machine;
      phoff = eh.e_phoff;
      phnum = eh.e_phnum;
      phentsize = eh.e_phentsize;
      entry = eh.e_entry;
   }
   if (type != ET_EXEC) {
      return fail(c->err, c->errlen, "ELF file is not an executable (type %u)", type);
   }
   if (machine != (is64 ? EM_X86_64 : EM_386)) {
      return fail(c->err, c->errlen, "ELF machine %u is not x86", machine);
   }
   if (phentsize != (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr))) {
      return fail(c->err, c->errlen, "ELF program header size %u is wrong", phentsize);
   }
   if (phnum == 0 || phnum > MAX_PHDRS) {
      return fail(c->err, c->errlen, "ELF file has %u program headers (1-%u allowed)", phnum,
                  MAX_PHDRS);
   }
   if (phoff > c->size || (uint64_t)phnum * phentsize > c->size - phoff) {
      return fail(c->err, c->errlen, "ELF program headers lie outside the file");
   }
   for (unsigned i = 0; i < phnum; i++) {
      const uint8_t *p = f + phoff + (uint64_t)i * phentsize;

      if (is64) {
         Elf64_Phdr h;

         memcpy(&h, p, sizeof h);
         ph[i] = (phdr){ h.p_type, h.p_offset, h.p_vaddr, h.p_paddr, h.p_filesz, h.p_memsz };
      } else {
         Elf32_Phdr h;

         memcpy(&h, p, sizeof h);
         ph[i] = (phdr){ h.p_type, h.p_offset, h.p_vaddr, h.p_paddr, h.p_filesz, h.p_memsz };
      }
   }
   for (unsigned i = 0; i < phnum; i++) {
      char what[48];

      if (ph[i].type != PT_LOAD || ph[i].memsz == 0) {
         continue;
      }
      snprintf(what, sizeof what, "ELF segment %u", i);
      if (place(c, what, ph[i].offset, ph[i].filesz, ph[i].paddr, ph[i].memsz) < 0) {
         return -1;
      }
      nload++;
   }
   if (nload == 0) {
      return fail(c->err, c->errlen, "ELF file has nothing to load");
   }
   if (c->img->has_multiboot) {
      if (!entry_loaded(ph, phnum, entry, &entry_phys) || entry_phys > 0xffffffffull) {
         return fail(c->err, c->errlen, "ELF entry 0x%llx is outside the loaded segments",
                     (unsigned long long)entry);
      }
      c->img->mb_entry = (uint32_t)entry_phys;
   }
   for (unsigned i = 0; i < phnum; i++) {
      if (ph[i].type == PT_NOTE && scan_notes(c, &ph[i], ph, phnum) < 0) {
         return -1;
      }
   }
   return 0;
}

int guest_image_load(const uint8_t *file, size_t size, uint8_t *ram, uint64_t ram_size,
                     const guest_ram_range *ranges, unsigned nranges, guest_image *img,
                     char *err, size_t errlen)
{
   ctx c = { file, size, ram, ram_size, ranges, nranges, img, err, errlen };
   size_t off = 0;

   memset(img, 0, sizeof *img);
   if (find_multiboot(&c, &off)) {
      img->has_multiboot = true;
      img->mb_flags = rd32(file + off + 4);
      if (img->mb_flags & 0xffffu & ~MB_KNOWN_REQS) {
         return fail(err, errlen, "multiboot header requires features this loader lacks "
                     "(flags 0x%x)", img->mb_flags & 0xffffu & ~MB_KNOWN_REQS);
      }
      if (img->mb_flags & MB_FLAG_ADDRS) {
         return load_aout(&c, off);
      }
   }
   return load_elf(&c);
}
