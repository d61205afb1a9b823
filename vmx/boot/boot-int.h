/*
 * vmx/boot/boot-int.h - helpers shared by the loaders of vmx/boot/ (not
 * for use outside this folder).
 */
#ifndef VMX_BOOT_BOOT_INT_H
#define VMX_BOOT_BOOT_INT_H

#include "vmx/boot/boot.h"
#include "vmx/boot/e820.h"

#include <glib.h>

/* *err = "NAME: message". Always returns false. */
bool boot_fail(char **err, const char *name, const char *fmt, ...)
   __attribute__((format(printf, 3, 4)));

/* Little-endian reads from a file buffer; the caller checked the bounds. */
static inline uint16_t
boot_le16(const uint8_t *p)
{
   return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t
boot_le32(const uint8_t *p)
{
   return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
          ((uint32_t)p[3] << 24);
}
static inline uint64_t
boot_le64(const uint8_t *p)
{
   return (uint64_t)boot_le32(p) | ((uint64_t)boot_le32(p + 4) << 32);
}
static inline void
boot_put16(uint8_t *p, uint16_t v)
{
   p[0] = (uint8_t)v;
   p[1] = (uint8_t)(v >> 8);
}
static inline void
boot_put32(uint8_t *p, uint32_t v)
{
   for (int i = 0; i < 4; i++) {
      p[i] = (uint8_t)(v >> (8 * i));
   }
}
static inline void
boot_put64(uint8_t *p, uint64_t v)
{
   boot_put32(p, (uint32_t)v);
   boot_put32(p + 4, (uint32_t)(v >> 32));
}

/* True when [off, off + len) lies inside a buffer of size bytes. */
static inline bool
boot_in_file(size_t size, uint64_t off, uint64_t len)
{
   return off <= size && len <= size - off;
}

/* Is [gpa, gpa + len) entirely inside one RAM range of the e820 map at or
 * above 1 MiB (where images may be loaded)? */
bool boot_range_loadable(const vmx_guest_ram *ram, uint64_t gpa, uint64_t len);

/* Copy the command line (NUL-terminated) to VMX_BOOT_CMDLINE_ADDR. max is
 * the longest accepted length without the NUL. */
bool boot_put_cmdline(const vmx_guest_ram *ram, const char *cmdline, size_t max, char **err);

/* Place an initrd at the highest page-aligned address such that it ends at
 * or below min(limit, low RAM end) and starts at or above floor. Copies it
 * and returns its address in *addr. */
bool boot_put_initrd(const vmx_guest_ram *ram, const vmx_boot_file *initrd, uint64_t floor,
                     uint64_t limit, uint64_t *addr, char **err);

/* ---- payload decompression (unpack.c) ---- */

/* Unpack a bzImage payload (gzip, xz, lzma or zstd, with the kernel
 * build's 4-byte size at the end) into a malloc'd buffer of at most
 * max_out bytes. False with *err NULL when the format is none of those
 * (the guest must unpack it); false with *err when it is one but corrupt
 * or too large. *format names the format. */
bool boot_unpack(const uint8_t *in, size_t len, size_t max_out, const char *name, uint8_t **out,
                 size_t *out_len, const char **format, char **err);

/* ---- ELF (elf.c) ---- */

typedef struct boot_elf_seg {
   uint64_t offset, filesz, vaddr, paddr, memsz;
} boot_elf_seg;

#define BOOT_ELF_MAX_SEGS 64

typedef struct boot_elf {
   bool is64;
   uint64_t entry;
   unsigned nload;
   boot_elf_seg load[BOOT_ELF_MAX_SEGS];   /* PT_LOAD with memsz > 0 */
   unsigned nnote;
   boot_elf_seg note[BOOT_ELF_MAX_SEGS];   /* PT_NOTE */
} boot_elf;

/* True when the file starts with the ELF magic. */
bool boot_elf_is_elf(const vmx_boot_file *f);
/* Parse the ELF header and program headers (x86 or x86-64, little-endian,
 * executable). Checks every header against the file. */
bool boot_elf_parse(const vmx_boot_file *f, boot_elf *e, char **err);
/* Find a note by name and type in the PT_NOTE segments; false when absent
 * or malformed (malformed notes are an error only when *err is set). */
bool boot_elf_find_note(const vmx_boot_file *f, const boot_elf *e, const char *name,
                        uint32_t type, const uint8_t **desc, uint32_t *descsz, char **err);
/* Load every PT_LOAD segment at its physical address; each must be
 * loadable (boot_range_loadable). [*lo, *hi) receives the extent. */
bool boot_elf_load(const vmx_boot_file *f, const boot_elf *e, const vmx_guest_ram *ram,
                   uint64_t *lo, uint64_t *hi, char **err);

#endif
