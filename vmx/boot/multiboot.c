/*
 * vmx/boot/multiboot.c - loading multiboot (version 1) kernels.
 *
 * The header is searched in the first 8 KiB of the file at 4-byte
 * alignment (magic 0x1BADB002, flags, checksum). With flag 16 the image is
 * placed by the header's address fields (the "a.out kludge"); otherwise it
 * must be an ELF file, loaded by its program headers at their physical
 * addresses. The vCPU starts at the entry point in flat 32-bit protected
 * mode, paging off, interrupts off, EAX = 0x2BADB002, EBX = the multiboot
 * information structure, which carries mem_lower/mem_upper, the memory map
 * (e820), the command line, the boot loader name and the initrd as module 0.
 *
 * Requirement flags (bits 0-15) we cannot satisfy (video mode, bit 2, or
 * unknown ones) make the load fail, as the specification asks.
 */
#include "vmx/boot/boot-int.h"

#include <string.h>

#define MB_MAGIC            0x1badb002u
#define MB_BOOT_MAGIC       0x2badb002u
#define MB_SEARCH           8192u
#define MB_FLAG_PAGE_ALIGN  (1u << 0)
#define MB_FLAG_MEMINFO     (1u << 1)
#define MB_FLAG_VIDEO       (1u << 2)
#define MB_FLAG_ADDRESSES   (1u << 16)
#define MB_FLAGS_KNOWN_REQ  (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMINFO)

/* Multiboot information layout (offsets) and flags. */
#define MBI_FLAGS           0
#define MBI_MEM_LOWER       4
#define MBI_MEM_UPPER       8
#define MBI_CMDLINE         16
#define MBI_MODS_COUNT      20
#define MBI_MODS_ADDR       24
#define MBI_MMAP_LENGTH     44
#define MBI_MMAP_ADDR       48
#define MBI_LOADER_NAME     64
#define MBI_SIZE            116

#define MBI_F_MEM           (1u << 0)
#define MBI_F_CMDLINE       (1u << 2)
#define MBI_F_MODS          (1u << 3)
#define MBI_F_MMAP          (1u << 6)
#define MBI_F_LOADER_NAME   (1u << 9)

/* Where the pieces go inside the VMX_BOOT_INFO_ADDR page. */
#define MBI_ADDR            VMX_BOOT_INFO_ADDR
#define MBI_MMAP            (VMX_BOOT_INFO_ADDR + 0x80)
#define MBI_MODS            (VMX_BOOT_INFO_ADDR + 0x200)
#define MBI_NAME            (VMX_BOOT_INFO_ADDR + 0x220)
#define MBI_MOD_STRING      (VMX_BOOT_INFO_ADDR + 0x240)

typedef struct mb_header {
   uint32_t off;
   uint32_t flags;
   uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
} mb_header;

/* Returns true when a header with a valid checksum is found; false with
 * *err set when it is found but truncated; false, *err untouched, when
 * there is none. */
static bool
find_header(const vmx_boot_file *f, mb_header *h, char **err)
{
   uint64_t end = f->size < MB_SEARCH ? f->size : MB_SEARCH;
   for (uint64_t off = 0; off + 12 <= end; off += 4) {
      const uint8_t *p = f->data + off;
      if (boot_le32(p) != MB_MAGIC) {
         continue;
      }
      uint32_t flags = boot_le32(p + 4);
      if ((uint32_t)(MB_MAGIC + flags + boot_le32(p + 8)) != 0) {
         continue;
      }
      memset(h, 0, sizeof *h);
      h->off = (uint32_t)off;
      h->flags = flags;
      if (flags & MB_FLAG_ADDRESSES) {
         if (!boot_in_file(f->size, off, 32)) {
            if (err) {
               boot_fail(err, f->name, "the multiboot header at 0x%llx is cut off",
                         (unsigned long long)off);
            }
            return false;
         }
         h->header_addr = boot_le32(p + 12);
         h->load_addr = boot_le32(p + 16);
         h->load_end_addr = boot_le32(p + 20);
         h->bss_end_addr = boot_le32(p + 24);
         h->entry_addr = boot_le32(p + 28);
      }
      return true;
   }
   return false;
}

bool
vmx_boot_has_multiboot(const vmx_boot_file *f)
{
   mb_header h;
   return find_header(f, &h, NULL);
}

/* The a.out kludge: the header's address fields place the file. */
static bool
load_by_addresses(const vmx_boot_file *f, const mb_header *h, const vmx_guest_ram *ram,
                  uint64_t *lo, uint64_t *hi, uint32_t *entry, char **err)
{
   if (h->header_addr < h->load_addr || h->header_addr - h->load_addr > h->off) {
      return boot_fail(err, f->name,
                       "multiboot header_addr 0x%x and load_addr 0x%x do not match the header's "
                       "file offset 0x%x",
                       h->header_addr, h->load_addr, h->off);
   }
   uint64_t file_off = h->off - (h->header_addr - h->load_addr);
   uint64_t size;
   if (h->load_end_addr == 0) {
      size = f->size - file_off;
   } else {
      if (h->load_end_addr <= h->load_addr) {
         return boot_fail(err, f->name, "multiboot load_end_addr 0x%x is not above load_addr "
                          "0x%x", h->load_end_addr, h->load_addr);
      }
      size = (uint64_t)h->load_end_addr - h->load_addr;
      if (!boot_in_file(f->size, file_off, size)) {
         return boot_fail(err, f->name,
                          "multiboot image wants 0x%llx bytes from file offset 0x%llx; the "
                          "file has %zu",
                          (unsigned long long)size, (unsigned long long)file_off, f->size);
      }
   }
   uint64_t load_end = (uint64_t)h->load_addr + size;
   uint64_t end = load_end;
   if (h->bss_end_addr) {
      if (h->bss_end_addr < load_end) {
         return boot_fail(err, f->name, "multiboot bss_end_addr 0x%x lies below the end of "
                          "the loaded image 0x%llx", h->bss_end_addr,
                          (unsigned long long)load_end);
      }
      end = h->bss_end_addr;
   }
   if (!boot_range_loadable(ram, h->load_addr, end - h->load_addr)) {
      return boot_fail(err, f->name,
                       "multiboot image at 0x%x-0x%llx does not fit in guest RAM above 1 MiB",
                       h->load_addr, (unsigned long long)end);
   }
   if (h->entry_addr < h->load_addr || h->entry_addr >= end) {
      return boot_fail(err, f->name, "multiboot entry_addr 0x%x lies outside the image",
                       h->entry_addr);
   }
   uint8_t *dst = vmx_guest_ram_ptr(ram, h->load_addr, end - h->load_addr);
   memcpy(dst, f->data + file_off, size);
   memset(dst + size, 0, end - load_end);
   *lo = h->load_addr;
   *hi = end;
   *entry = h->entry_addr;
   return true;
}

static bool
load_elf(const vmx_boot_file *f, const vmx_guest_ram *ram, uint64_t *lo, uint64_t *hi,
         uint32_t *entry, char **err)
{
   boot_elf *e = g_new(boot_elf, 1);
   bool ok = boot_elf_parse(f, e, err);
   uint64_t ent = ok ? e->entry : 0;
   bool inside = false;
   for (unsigned i = 0; ok && i < e->nload; i++) {
      const boot_elf_seg *s = &e->load[i];
      /* The entry is a virtual address: translate it to where it lands. */
      if (ent >= s->vaddr && ent - s->vaddr < s->memsz) {
         ent = ent - s->vaddr + s->paddr;
         inside = true;
         break;
      }
   }
   if (ok && !inside) {
      ok = boot_fail(err, f->name, "the ELF entry point 0x%llx is outside every loadable "
                     "segment", (unsigned long long)e->entry);
   }
   if (ok && ent >= VMX_BOOT_4G) {
      ok = boot_fail(err, f->name, "the ELF entry point 0x%llx lies above 4 GiB",
                     (unsigned long long)ent);
   }
   ok = ok && boot_elf_load(f, e, ram, lo, hi, err);
   g_free(e);
   *entry = (uint32_t)ent;
   return ok;
}

bool
vmx_boot_multiboot(const vmx_boot_file *kernel, const vmx_boot_file *initrd,
                   const char *cmdline, const vmx_boot_env *env, vmx_boot_state *st,
                   char **err)
{
   const vmx_guest_ram *ram = &env->ram;
   mb_header h;
   char *herr = NULL;
   if (!find_header(kernel, &h, &herr)) {
      if (herr) {
         *err = herr;
         return false;
      }
      return boot_fail(err, kernel->name, "no multiboot header in the first 8 KiB");
   }
   uint32_t req = h.flags & 0xffffu;
   if (req & MB_FLAG_VIDEO) {
      return boot_fail(err, kernel->name,
                       "the multiboot header asks for a video mode (flag 2), which this "
                       "loader does not set up");
   }
   if (req & ~MB_FLAGS_KNOWN_REQ) {
      return boot_fail(err, kernel->name,
                       "the multiboot header has requirement flags 0x%x this loader does not "
                       "know", req & ~MB_FLAGS_KNOWN_REQ);
   }
   uint64_t lo = 0, hi = 0;
   uint32_t entry = 0;
   if (h.flags & MB_FLAG_ADDRESSES) {
      if (!load_by_addresses(kernel, &h, ram, &lo, &hi, &entry, err)) {
         return false;
      }
   } else if (boot_elf_is_elf(kernel)) {
      if (!load_elf(kernel, ram, &lo, &hi, &entry, err)) {
         return false;
      }
   } else {
      return boot_fail(err, kernel->name,
                       "the multiboot header has no address fields (flag 16) and the file is "
                       "not ELF");
   }
   if (!boot_put_cmdline(ram, cmdline, VMX_BOOT_CMDLINE_MAX - 1, err)) {
      return false;
   }
   vmx_boot_layout l;
   vmx_boot_layout_get(ram->size, &l);
   uint8_t *page = vmx_guest_ram_ptr(ram, VMX_BOOT_INFO_ADDR, VMX_BOOT_INFO_END - VMX_BOOT_INFO_ADDR);
   memset(page, 0, VMX_BOOT_INFO_END - VMX_BOOT_INFO_ADDR);
   uint8_t *mbi = page + (MBI_ADDR - VMX_BOOT_INFO_ADDR);
   uint32_t flags = MBI_F_MEM | MBI_F_CMDLINE | MBI_F_MMAP | MBI_F_LOADER_NAME;
   boot_put32(mbi + MBI_MEM_LOWER, (uint32_t)(VMX_E820_EBDA_START >> 10));
   boot_put32(mbi + MBI_MEM_UPPER, (uint32_t)((l.low_end - 0x100000) >> 10));
   boot_put32(mbi + MBI_CMDLINE, VMX_BOOT_CMDLINE_ADDR);

   vmx_e820_entry m[VMX_E820_MAX];
   unsigned n = vmx_e820_build(ram->size, m);
   uint8_t *mm = page + (MBI_MMAP - VMX_BOOT_INFO_ADDR);
   for (unsigned i = 0; i < n; i++) {
      uint8_t *p = mm + 24 * i;
      boot_put32(p, 20);              /* size of the rest of the entry */
      boot_put64(p + 4, m[i].addr);
      boot_put64(p + 12, m[i].size);
      boot_put32(p + 20, m[i].type);
   }
   boot_put32(mbi + MBI_MMAP_LENGTH, 24 * n);
   boot_put32(mbi + MBI_MMAP_ADDR, MBI_MMAP);

   memcpy(page + (MBI_NAME - VMX_BOOT_INFO_ADDR), "vmws", 5);
   boot_put32(mbi + MBI_LOADER_NAME, MBI_NAME);

   if (initrd) {
      uint64_t addr;
      if (!boot_put_initrd(ram, initrd, (hi + 0xfff) & ~0xfffull, VMX_BOOT_4G, &addr, err)) {
         return false;
      }
      uint8_t *mod = page + (MBI_MODS - VMX_BOOT_INFO_ADDR);
      boot_put32(mod, (uint32_t)addr);
      boot_put32(mod + 4, (uint32_t)(addr + initrd->size));
      boot_put32(mod + 8, MBI_MOD_STRING);
      memcpy(page + (MBI_MOD_STRING - VMX_BOOT_INFO_ADDR), "initrd", 7);
      boot_put32(mbi + MBI_MODS_COUNT, 1);
      boot_put32(mbi + MBI_MODS_ADDR, MBI_MODS);
      flags |= MBI_F_MODS;
      st->initrd_addr = addr;
      st->initrd_size = initrd->size;
   }
   boot_put32(mbi + MBI_FLAGS, flags);

   if (!vmx_boot_cpu_flat32(ram, VMX_BOOT_SEL_CODE32, st)) {
      return boot_fail(err, kernel->name, "guest RAM has no room for the GDT");
   }
   st->method = "multiboot";
   st->entry = entry;
   st->regs.rip = entry;
   st->regs.gpr[VMM_RAX] = MB_BOOT_MAGIC;
   st->regs.gpr[VMM_RBX] = MBI_ADDR;
   st->kernel_start = lo;
   st->kernel_end = hi;
   st->info_addr = MBI_ADDR;
   return true;
}
