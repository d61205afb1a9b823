/*
 * vmx/boot/linux.c - direct Linux boot: a bzImage through the Linux boot
 * protocol (Documentation/x86/boot.rst), or an uncompressed ELF vmlinux
 * through its PVH entry (hvm_start_info, as Xen's PVH ABI defines it).
 *
 * bzImage: by default a 64-bit kernel's compressed payload is unpacked on
 * the host (unpack.c) and the vmlinux ELF inside is loaded at its physical
 * addresses and entered at its ELF entry (startup_64) in long mode with
 * RSI = boot_params, as the kernel's own decompressor would leave it (the
 * 64-bit boot protocol). Otherwise (linux.decompress = "guest", a payload
 * format we do not unpack, a 32-bit kernel) the protected-mode kernel is
 * loaded at 1 MiB and decompresses itself; the real-mode setup code is
 * never run. A kernel with XLF_KERNEL_64 starts at its 64-bit
 * entry (load address + 0x200) in long mode with identity page tables
 * (0-4 GiB), CS = 0x10, DS/ES/SS = 0x18, RSI = boot_params. Older or
 * 32-bit kernels start at the 32-bit entry (the load address) in flat
 * protected mode, ESI = boot_params. boot_params carries the setup header
 * from the image, the e820 map, the command line, the initrd and the RSDP.
 *
 * PVH: every PT_LOAD segment goes to its physical address; the vCPU starts
 * at the XEN_ELFNOTE_PHYS32_ENTRY address in flat 32-bit protected mode,
 * paging off, EBX = hvm_start_info (version 1, with the memory map, the
 * command line, the RSDP and the initrd as module 0).
 */
#include "vmx/boot/boot-int.h"

#include <stdlib.h>
#include <string.h>

/* ---- Linux boot protocol: setup header offsets in the image and in
 * boot_params (the header sits at the same offset in both). */
#define HDR_START          0x1f1
#define HDR_SETUP_SECTS    0x1f1
#define HDR_SYSSIZE        0x1f4
#define HDR_BOOT_FLAG      0x1fe
#define HDR_JUMP           0x200
#define HDR_MAGIC          0x202
#define HDR_VERSION        0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS      0x211
#define HDR_CODE32_START   0x214
#define HDR_RAMDISK_IMAGE  0x218
#define HDR_RAMDISK_SIZE   0x21c
#define HDR_CMD_LINE_PTR   0x228
#define HDR_INITRD_MAX     0x22c
#define HDR_KERNEL_ALIGN   0x230
#define HDR_RELOCATABLE    0x234
#define HDR_XLOADFLAGS     0x236
#define HDR_CMDLINE_SIZE   0x238
#define HDR_PAYLOAD_OFFSET 0x248
#define HDR_PAYLOAD_LENGTH 0x24c
#define HDR_PREF_ADDRESS   0x258
#define HDR_INIT_SIZE      0x260
#define HDR_END_MAX        0x290   /* boot_params.edd_mbr_sig_buffer follows */

#define BP_ACPI_RSDP_ADDR  0x070
#define BP_EXT_RAMDISK_IMG 0x0c0
#define BP_EXT_RAMDISK_SZ  0x0c4
#define BP_EXT_CMD_LINE    0x0c8
#define BP_E820_ENTRIES    0x1e8
#define BP_E820_TABLE      0x2d0
#define BP_E820_MAX        128
#define BP_SIZE            4096

#define LOADED_HIGH        0x01
#define XLF_KERNEL_64      0x0001

#define LINUX_DEFAULT_LOAD_PHYS 0x1000000ull   /* when the header has no pref_address */

bool
vmx_boot_is_bzimage(const vmx_boot_file *f)
{
   return f->size >= HDR_END_MAX && boot_le16(f->data + HDR_BOOT_FLAG) == 0xaa55 &&
          memcmp(f->data + HDR_MAGIC, "HdrS", 4) == 0;
}

static void
put_e820(uint8_t *bp, const vmx_guest_ram *ram)
{
   vmx_e820_entry e[VMX_E820_MAX];
   unsigned n = vmx_e820_build(ram->size, e);
   for (unsigned i = 0; i < n && i < BP_E820_MAX; i++) {
      uint8_t *p = bp + BP_E820_TABLE + 20 * i;
      boot_put64(p, e[i].addr);
      boot_put64(p + 8, e[i].size);
      boot_put32(p + 16, e[i].type);
   }
   bp[BP_E820_ENTRIES] = (uint8_t)n;
}

bool
vmx_boot_linux(const vmx_boot_file *kernel, const vmx_boot_file *initrd, const char *cmdline,
               const vmx_boot_env *env, vmx_boot_state *st, char **err)
{
   const uint8_t *d = kernel->data;
   const vmx_guest_ram *ram = &env->ram;
   if (!vmx_boot_is_bzimage(kernel)) {
      return boot_fail(err, kernel->name, "not a bzImage (no \"HdrS\" setup header at 0x202)");
   }
   uint16_t version = boot_le16(d + HDR_VERSION);
   if (version < 0x0206) {
      return boot_fail(err, kernel->name,
                       "Linux boot protocol %u.%02u is too old; 2.06 or later is needed",
                       version >> 8, version & 0xff);
   }
   uint8_t loadflags = d[HDR_LOADFLAGS];
   if (!(loadflags & LOADED_HIGH)) {
      return boot_fail(err, kernel->name, "a zImage (loaded low) cannot be booted; use a bzImage");
   }
   unsigned setup_sects = d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : 4;
   uint64_t setup_size = (uint64_t)(setup_sects + 1) * 512;
   if (setup_size >= kernel->size) {
      return boot_fail(err, kernel->name,
                       "the setup code (%u sectors) covers the whole file; no kernel follows",
                       setup_sects);
   }
   uint64_t hdr_end = 0x202u + d[HDR_JUMP + 1];
   if (hdr_end > HDR_END_MAX) {
      hdr_end = HDR_END_MAX;
   }
   if (hdr_end < HDR_CMDLINE_SIZE + 4) {
      return boot_fail(err, kernel->name, "the setup header ends at 0x%llx, before the 2.06 "
                       "fields", (unsigned long long)hdr_end);
   }
   uint64_t rest = kernel->size - setup_size;
   uint64_t sys = (uint64_t)boot_le32(d + HDR_SYSSIZE) * 16;
   if (sys == 0 || sys > rest + 16) {
      return boot_fail(err, kernel->name,
                       "the header says the kernel is %llu bytes but the file holds %llu after "
                       "the setup code (truncated?)",
                       (unsigned long long)sys, (unsigned long long)rest);
   }
   uint64_t load_size = sys < rest ? sys : rest;
   bool is64 = version >= 0x020c && (boot_le16(d + HDR_XLOADFLAGS) & XLF_KERNEL_64);

   /* Where the kernel will live once it has decompressed itself. */
   uint64_t load = VMX_BOOT_KERNEL_ADDR;
   uint64_t init_size = load_size * 4, pref = LINUX_DEFAULT_LOAD_PHYS;
   if (version >= 0x020a) {
      init_size = boot_le32(d + HDR_INIT_SIZE);
      pref = boot_le64(d + HDR_PREF_ADDRESS);
   }
   uint64_t kalign = boot_le32(d + HDR_KERNEL_ALIGN);
   if (d[HDR_RELOCATABLE] && (kalign == 0 || (kalign & (kalign - 1)) || kalign > (1u << 30))) {
      return boot_fail(err, kernel->name, "kernel_alignment 0x%llx is not a power of two",
                       (unsigned long long)kalign);
   }
   if (pref >= VMX_BOOT_4G || init_size >= VMX_BOOT_4G) {
      return boot_fail(err, kernel->name,
                       "pref_address 0x%llx / init_size 0x%llx lie beyond 4 GiB",
                       (unsigned long long)pref, (unsigned long long)init_size);
   }
   uint64_t run_base = pref;
   if (d[HDR_RELOCATABLE]) {
      uint64_t aligned = (load + kalign - 1) & ~(kalign - 1);
      run_base = aligned > pref ? aligned : pref;
   }
   uint64_t kend = load + (load_size > init_size ? load_size : init_size);
   if (run_base + init_size > kend) {
      kend = run_base + init_size;
   }
   if (!boot_range_loadable(ram, load, kend - load)) {
      return boot_fail(err, kernel->name,
                       "the kernel needs guest RAM up to 0x%llx (%llu MiB); memsize is too small",
                       (unsigned long long)kend, (unsigned long long)((kend + 0xfffff) >> 20));
   }
   /* The kernel's payload, unpacked here when we can. */
   uint8_t *vml = NULL;
   size_t vml_size = 0;
   const char *format = NULL;
   uint64_t entry = load + 0x200;
   if (is64 && version >= 0x0208 && !env->guest_decompress) {
      uint64_t poff = boot_le32(d + HDR_PAYLOAD_OFFSET), plen = boot_le32(d + HDR_PAYLOAD_LENGTH);
      if (plen != 0 && !boot_in_file(load_size, poff, plen)) {
         return boot_fail(err, kernel->name, "the payload (0x%llx, %llu bytes) lies outside "
                          "the kernel", (unsigned long long)poff, (unsigned long long)plen);
      }
      char *uerr = NULL;
      if (plen != 0 &&
          !boot_unpack(d + setup_size + poff, plen, ram->size, kernel->name, &vml, &vml_size,
                       &format, &uerr) && uerr) {
         *err = uerr;
         return false;
      }
   }
   if (vml) {
      vmx_boot_file vf = { vml, vml_size, kernel->name };
      boot_elf *e = g_new(boot_elf, 1);
      uint64_t lo = 0, hi = 0;
      bool ok = boot_elf_parse(&vf, e, err);
      if (ok && (!e->is64 || e->nload == 0)) {
         ok = boot_fail(err, kernel->name, "the unpacked %s payload is not a 64-bit ELF kernel",
                        format);
      }
      bool inside = false;
      for (unsigned i = 0; ok && i < e->nload; i++) {
         inside |= e->entry >= e->load[i].paddr && e->entry - e->load[i].paddr < e->load[i].memsz;
      }
      if (ok && !inside) {
         ok = boot_fail(err, kernel->name, "the unpacked kernel's entry 0x%llx is outside its "
                        "segments", (unsigned long long)e->entry);
      }
      ok = ok && boot_elf_load(&vf, e, ram, &lo, &hi, err);
      entry = e->entry;
      g_free(e);
      free(vml);
      if (!ok) {
         return false;
      }
      /* The kernel may use init_size from where it runs: keep the initrd
       * clear of that too. */
      load = lo;
      kend = hi > pref + init_size ? hi : pref + init_size;
      if (!boot_range_loadable(ram, lo, kend - lo)) {
         return boot_fail(err, kernel->name, "the kernel needs guest RAM up to 0x%llx (%llu "
                          "MiB); memsize is too small", (unsigned long long)kend,
                          (unsigned long long)((kend + 0xfffff) >> 20));
      }
   } else {
      memcpy(vmx_guest_ram_ptr(ram, load, load_size), d + setup_size, load_size);
   }

   /* boot_params. */
   uint8_t *bp = vmx_guest_ram_ptr(ram, VMX_BOOT_PARAMS_ADDR, BP_SIZE);
   if (!bp) {
      return boot_fail(err, kernel->name, "guest RAM has no room for boot_params");
   }
   memset(bp, 0, BP_SIZE);
   memcpy(bp + HDR_START, d + HDR_START, hdr_end - HDR_START);
   bp[HDR_TYPE_OF_LOADER] = 0xff;
   uint32_t cmax = boot_le32(d + HDR_CMDLINE_SIZE);
   if (!boot_put_cmdline(ram, cmdline, cmax ? cmax : 255, err)) {
      return false;
   }
   boot_put32(bp + HDR_CMD_LINE_PTR, VMX_BOOT_CMDLINE_ADDR);
   boot_put32(bp + BP_EXT_CMD_LINE, 0);
   put_e820(bp, ram);
   boot_put64(bp + BP_ACPI_RSDP_ADDR, env->rsdp);
   if (initrd) {
      uint64_t limit = (uint64_t)boot_le32(d + HDR_INITRD_MAX) + 1;
      uint64_t addr;
      if (!boot_put_initrd(ram, initrd, kend, limit, &addr, err)) {
         return false;
      }
      boot_put32(bp + HDR_RAMDISK_IMAGE, (uint32_t)addr);
      boot_put32(bp + HDR_RAMDISK_SIZE, (uint32_t)initrd->size);
      boot_put32(bp + BP_EXT_RAMDISK_IMG, (uint32_t)(addr >> 32));
      boot_put32(bp + BP_EXT_RAMDISK_SZ, (uint32_t)((uint64_t)initrd->size >> 32));
      st->initrd_addr = addr;
      st->initrd_size = initrd->size;
   }

   if (is64) {
      if (!vmx_boot_cpu_long64(ram, st)) {
         return boot_fail(err, kernel->name, "guest RAM has no room for page tables");
      }
      st->entry = entry;
      st->method = !format                   ? "linux64"
                   : strcmp(format, "xz") == 0   ? "linux64, xz payload unpacked by the vmx"
                   : strcmp(format, "gzip") == 0 ? "linux64, gzip payload unpacked by the vmx"
                   : strcmp(format, "zstd") == 0 ? "linux64, zstd payload unpacked by the vmx"
                                                 : "linux64, lzma payload unpacked by the vmx";
   } else {
      if (!vmx_boot_cpu_flat32(ram, VMX_BOOT_SEL_CODE, st)) {
         return boot_fail(err, kernel->name, "guest RAM has no room for the GDT");
      }
      st->entry = load;
      st->method = "linux32";
      boot_put32(bp + HDR_CODE32_START, (uint32_t)load);
   }
   st->regs.rip = st->entry;
   st->regs.gpr[VMM_RSI] = VMX_BOOT_PARAMS_ADDR;
   st->kernel_start = load;
   st->kernel_end = kend;
   st->info_addr = VMX_BOOT_PARAMS_ADDR;
   return true;
}

/* ---- PVH */

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u

/* hvm_start_info and what follows it, inside VMX_BOOT_INFO_ADDR's page. */
#define SI_SIZE        56
#define SI_MODLIST     (VMX_BOOT_INFO_ADDR + 0x40)   /* one 32-byte entry */
#define SI_MEMMAP      (VMX_BOOT_INFO_ADDR + 0x80)   /* 24-byte entries */

static bool
pvh_entry(const vmx_boot_file *f, const boot_elf *e, uint32_t *entry, char **err)
{
   const uint8_t *desc;
   uint32_t dsz;
   if (!boot_elf_find_note(f, e, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &desc, &dsz, err)) {
      return false;
   }
   if (dsz == 4) {
      *entry = boot_le32(desc);
   } else if (dsz == 8 && boot_le32(desc + 4) == 0) {
      *entry = boot_le32(desc);
   } else {
      return boot_fail(err, f->name, "the PVH entry note has a %u-byte value", dsz);
   }
   return true;
}

bool
vmx_boot_has_pvh(const vmx_boot_file *f)
{
   boot_elf *e = g_new(boot_elf, 1);
   uint32_t entry;
   bool ok = boot_elf_is_elf(f) && boot_elf_parse(f, e, NULL) && pvh_entry(f, e, &entry, NULL);
   g_free(e);
   return ok;
}

bool
vmx_boot_pvh(const vmx_boot_file *kernel, const vmx_boot_file *initrd, const char *cmdline,
             const vmx_boot_env *env, vmx_boot_state *st, char **err)
{
   const vmx_guest_ram *ram = &env->ram;
   boot_elf *e = g_new(boot_elf, 1);
   uint32_t entry = 0;
   uint64_t lo, hi;
   bool ok = boot_elf_parse(kernel, e, err);
   char *nerr = NULL;
   if (ok && !pvh_entry(kernel, e, &entry, &nerr)) {
      if (nerr) {
         *err = nerr;
      } else {
         boot_fail(err, kernel->name, "the ELF image has no PVH entry note "
                   "(XEN_ELFNOTE_PHYS32_ENTRY)");
      }
      ok = false;
   }
   if (ok) {
      bool inside = false;
      for (unsigned i = 0; i < e->nload; i++) {
         inside |= entry >= e->load[i].paddr && entry - e->load[i].paddr < e->load[i].memsz;
      }
      if (!inside) {
         ok = boot_fail(err, kernel->name,
                        "the PVH entry 0x%x is outside every loadable segment", entry);
      }
   }
   ok = ok && boot_elf_load(kernel, e, ram, &lo, &hi, err);
   g_free(e);
   if (!ok) {
      return false;
   }
   if (!boot_put_cmdline(ram, cmdline, VMX_BOOT_CMDLINE_MAX - 1, err)) {
      return false;
   }
   uint8_t *si = vmx_guest_ram_ptr(ram, VMX_BOOT_INFO_ADDR, VMX_BOOT_INFO_END - VMX_BOOT_INFO_ADDR);
   memset(si, 0, VMX_BOOT_INFO_END - VMX_BOOT_INFO_ADDR);
   boot_put32(si, HVM_START_MAGIC);
   boot_put32(si + 4, 1);                         /* version */
   boot_put32(si + 8, 0);                         /* flags */
   if (initrd) {
      uint64_t addr;
      if (!boot_put_initrd(ram, initrd, (hi + 0xfff) & ~0xfffull, VMX_BOOT_4G, &addr, err)) {
         return false;
      }
      uint8_t *mod = si + (SI_MODLIST - VMX_BOOT_INFO_ADDR);
      boot_put64(mod, addr);
      boot_put64(mod + 8, initrd->size);
      boot_put32(si + 12, 1);                     /* nr_modules */
      boot_put64(si + 16, SI_MODLIST);
      st->initrd_addr = addr;
      st->initrd_size = initrd->size;
   }
   boot_put64(si + 24, VMX_BOOT_CMDLINE_ADDR);
   boot_put64(si + 32, env->rsdp);
   vmx_e820_entry m[VMX_E820_MAX];
   unsigned n = vmx_e820_build(ram->size, m);
   uint8_t *mm = si + (SI_MEMMAP - VMX_BOOT_INFO_ADDR);
   for (unsigned i = 0; i < n; i++) {
      boot_put64(mm + 24 * i, m[i].addr);
      boot_put64(mm + 24 * i + 8, m[i].size);
      boot_put32(mm + 24 * i + 16, m[i].type);
   }
   boot_put64(si + 40, SI_MEMMAP);
   boot_put32(si + 48, n);

   if (!vmx_boot_cpu_flat32(ram, VMX_BOOT_SEL_CODE32, st)) {
      return boot_fail(err, kernel->name, "guest RAM has no room for the GDT");
   }
   st->method = "pvh";
   st->entry = entry;
   st->regs.rip = entry;
   st->regs.gpr[VMM_RBX] = VMX_BOOT_INFO_ADDR;
   st->kernel_start = lo;
   st->kernel_end = hi;
   st->info_addr = VMX_BOOT_INFO_ADDR;
   return true;
}
