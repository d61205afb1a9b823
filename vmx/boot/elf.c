/*
 * vmx/boot/elf.c - reading ELF executables (32- and 64-bit x86) for the
 * PVH and multiboot loaders. Only program headers are used: PT_LOAD to
 * load, PT_NOTE to find notes. Every field is checked against the file.
 */
#include "vmx/boot/boot-int.h"

#include <string.h>

#define PT_LOAD 1
#define PT_NOTE 4
#define ET_EXEC 2
#define EM_386 3
#define EM_X86_64 62

bool
boot_elf_is_elf(const vmx_boot_file *f)
{
   return f->size >= 4 && memcmp(f->data, "\177ELF", 4) == 0;
}

static bool
add_seg(boot_elf_seg *tab, unsigned *n, const boot_elf_seg *s, const char *what,
        const vmx_boot_file *f, char **err)
{
   if (*n >= BOOT_ELF_MAX_SEGS) {
      return boot_fail(err, f->name, "ELF image has more than %u %s program headers",
                       BOOT_ELF_MAX_SEGS, what);
   }
   tab[(*n)++] = *s;
   return true;
}

bool
boot_elf_parse(const vmx_boot_file *f, boot_elf *e, char **err)
{
   memset(e, 0, sizeof *e);
   const uint8_t *d = f->data;
   if (!boot_elf_is_elf(f) || f->size < 52) {
      return boot_fail(err, f->name, "not an ELF file (or shorter than an ELF header)");
   }
   if (d[4] != 1 && d[4] != 2) {
      return boot_fail(err, f->name, "ELF class %u is neither 32- nor 64-bit", d[4]);
   }
   e->is64 = d[4] == 2;
   if (d[5] != 1) {
      return boot_fail(err, f->name, "ELF image is not little-endian");
   }
   if (e->is64 && f->size < 64) {
      return boot_fail(err, f->name, "truncated ELF64 header (%zu bytes)", f->size);
   }
   uint16_t type = boot_le16(d + 16), machine = boot_le16(d + 18);
   if (type != ET_EXEC) {
      return boot_fail(err, f->name, "ELF type %u is not an executable", type);
   }
   if (machine != EM_386 && machine != EM_X86_64) {
      return boot_fail(err, f->name, "ELF machine %u is not x86", machine);
   }
   uint64_t phoff;
   unsigned phentsize, phnum, want;
   if (e->is64) {
      e->entry = boot_le64(d + 24);
      phoff = boot_le64(d + 32);
      phentsize = boot_le16(d + 54);
      phnum = boot_le16(d + 56);
      want = 56;
   } else {
      e->entry = boot_le32(d + 24);
      phoff = boot_le32(d + 28);
      phentsize = boot_le16(d + 42);
      phnum = boot_le16(d + 44);
      want = 32;
   }
   if (phnum == 0) {
      return boot_fail(err, f->name, "ELF image has no program headers");
   }
   if (phnum == 0xffff) {
      return boot_fail(err, f->name, "ELF image has an extended program header count");
   }
   if (phentsize != want) {
      return boot_fail(err, f->name, "ELF program header size %u, expected %u", phentsize,
                       want);
   }
   if (!boot_in_file(f->size, phoff, (uint64_t)phnum * phentsize)) {
      return boot_fail(err, f->name,
                       "ELF program headers (offset 0x%llx, %u entries) lie outside the file",
                       (unsigned long long)phoff, phnum);
   }
   for (unsigned i = 0; i < phnum; i++) {
      const uint8_t *p = d + phoff + (uint64_t)i * phentsize;
      uint32_t ptype = boot_le32(p);
      boot_elf_seg s;
      if (e->is64) {
         s.offset = boot_le64(p + 8);
         s.vaddr = boot_le64(p + 16);
         s.paddr = boot_le64(p + 24);
         s.filesz = boot_le64(p + 32);
         s.memsz = boot_le64(p + 40);
      } else {
         s.offset = boot_le32(p + 4);
         s.vaddr = boot_le32(p + 8);
         s.paddr = boot_le32(p + 12);
         s.filesz = boot_le32(p + 16);
         s.memsz = boot_le32(p + 20);
      }
      if (ptype != PT_LOAD && ptype != PT_NOTE) {
         continue;
      }
      if (!boot_in_file(f->size, s.offset, s.filesz)) {
         return boot_fail(err, f->name,
                          "ELF program header %u: file range 0x%llx+0x%llx lies outside the "
                          "file (%zu bytes)",
                          i, (unsigned long long)s.offset, (unsigned long long)s.filesz,
                          f->size);
      }
      if (ptype == PT_NOTE) {
         if (!add_seg(e->note, &e->nnote, &s, "PT_NOTE", f, err)) {
            return false;
         }
         continue;
      }
      if (s.filesz > s.memsz) {
         return boot_fail(err, f->name,
                          "ELF program header %u: file size 0x%llx exceeds memory size 0x%llx",
                          i, (unsigned long long)s.filesz, (unsigned long long)s.memsz);
      }
      if (s.memsz == 0) {
         continue;
      }
      if (s.paddr + s.memsz < s.paddr || s.vaddr + s.memsz < s.vaddr) {
         return boot_fail(err, f->name, "ELF program header %u: address range wraps around",
                          i);
      }
      for (unsigned k = 0; k < e->nload; k++) {
         const boot_elf_seg *o = &e->load[k];
         if (s.paddr < o->paddr + o->memsz && o->paddr < s.paddr + s.memsz) {
            return boot_fail(err, f->name,
                             "ELF program header %u overlaps another segment at 0x%llx", i,
                             (unsigned long long)o->paddr);
         }
      }
      if (!add_seg(e->load, &e->nload, &s, "PT_LOAD", f, err)) {
         return false;
      }
   }
   if (e->nload == 0) {
      return boot_fail(err, f->name, "ELF image has no loadable segment");
   }
   return true;
}

static uint64_t
align_up(uint64_t v, uint64_t a)
{
   return (v + a - 1) & ~(a - 1);
}

bool
boot_elf_find_note(const vmx_boot_file *f, const boot_elf *e, const char *name, uint32_t type,
                   const uint8_t **desc, uint32_t *descsz, char **err)
{
   size_t namelen = strlen(name) + 1;
   for (unsigned i = 0; i < e->nnote; i++) {
      const uint8_t *seg = f->data + e->note[i].offset;
      uint64_t len = e->note[i].filesz, off = 0;
      while (len - off >= 12) {
         uint32_t nsz = boot_le32(seg + off), dsz = boot_le32(seg + off + 4);
         uint32_t ntype = boot_le32(seg + off + 8);
         uint64_t name_off = off + 12;
         uint64_t desc_off = name_off + align_up(nsz, 4);
         uint64_t next = desc_off + align_up(dsz, 4);
         if (desc_off > len || next > len) {
            if (err) {
               boot_fail(err, f->name, "ELF note at file offset 0x%llx runs past its segment",
                         (unsigned long long)(e->note[i].offset + off));
            }
            return false;
         }
         if (ntype == type && nsz == namelen && memcmp(seg + name_off, name, namelen) == 0) {
            *desc = seg + desc_off;
            *descsz = dsz;
            return true;
         }
         off = next;
      }
   }
   return false;
}

bool
boot_elf_load(const vmx_boot_file *f, const boot_elf *e, const vmx_guest_ram *ram,
              uint64_t *lo, uint64_t *hi, char **err)
{
   uint64_t l = UINT64_MAX, h = 0;
   for (unsigned i = 0; i < e->nload; i++) {
      const boot_elf_seg *s = &e->load[i];
      if (!boot_range_loadable(ram, s->paddr, s->memsz)) {
         return boot_fail(err, f->name,
                          "ELF segment at physical 0x%llx-0x%llx does not fit in guest RAM "
                          "above 1 MiB",
                          (unsigned long long)s->paddr,
                          (unsigned long long)(s->paddr + s->memsz));
      }
   }
   for (unsigned i = 0; i < e->nload; i++) {
      const boot_elf_seg *s = &e->load[i];
      uint8_t *dst = vmx_guest_ram_ptr(ram, s->paddr, s->memsz);
      memcpy(dst, f->data + s->offset, s->filesz);
      memset(dst + s->filesz, 0, s->memsz - s->filesz);
      l = s->paddr < l ? s->paddr : l;
      h = s->paddr + s->memsz > h ? s->paddr + s->memsz : h;
   }
   *lo = l;
   *hi = h;
   return true;
}
