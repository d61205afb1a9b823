/*
 * vmx/boot/boot.h - putting a guest kernel into RAM without firmware.
 *
 * At power-on the vmx calls vmx_boot_from_config(): it reads the boot keys
 * of the config, builds the ACPI tables and the e820 map, loads the kernel
 * (and initrd) into guest RAM and returns the first vCPU's initial
 * registers. The other vCPUs start waiting for INIT/SIPI as on a PC.
 *
 * Config keys (documented here; the schema lists them too):
 *
 *   linux.kernel   path of the kernel image: a bzImage (Linux boot
 *                  protocol, 64-bit entry), an ELF vmlinux with a PVH entry
 *                  note, or a multiboot (v1) image. Relative paths are
 *                  taken from the folder of the .vmx. Without this key the
 *                  machine has nothing to boot directly.
 *   linux.initrd   path of an initial RAM disk (optional): the Linux
 *                  initrd, the PVH module 0, or multiboot module 0.
 *   linux.cmdline  kernel command line (optional, default empty).
 *   linux.entry    auto | linux | pvh | multiboot (default auto): which
 *                  entry to use when an image has several. auto prefers
 *                  the Linux boot protocol, then PVH, then multiboot.
 *   linux.decompress  host | guest (default host): who unpacks a 64-bit
 *                  bzImage's compressed kernel (gzip, xz, lzma, zstd; any
 *                  other format is always left to the guest). "host" loads
 *                  the vmlinux inside and starts it at its 64-bit entry;
 *                  "guest" runs the kernel's own decompressor.
 *
 * Guest-physical layout (all fixed; see also e820.h and acpi-tables.h):
 *
 *   0x00500  GDT: 0x08 flat 32-bit code, 0x10 64-bit code (32-bit code for
 *            the Linux 32-bit entry), 0x18 flat data
 *   0x06000  PVH hvm_start_info / multiboot info, then their tables
 *   0x07000  Linux boot_params (the "zero page")
 *   0x08ff0  initial stack pointer (grows down into 0x8000-0x8fff)
 *   0x09000  page tables of the 64-bit entry: PML4, PDPT, four PDs
 *            identity-mapping 0-4 GiB with 2 MiB pages (up to 0xefff)
 *   0x20000  kernel command line (up to 64 KiB)
 *   0xe0000  ACPI tables (FACS, RSDP, XSDT, RSDT, FADT, MADT, DSDT)
 *   1 MiB    kernel image; initrd at the top of RAM below 4 GiB (and
 *            below the kernel's initrd_addr_max)
 *
 * Guest RAM as the vmx lays it out in its memfd (vmx_guest_ram): the first
 * low_end bytes are guest-physical 0 .. low_end, where low_end is
 * min(memsize, VMX_BOOT_PCI_HOLE_START); the rest is guest-physical 4 GiB
 * onwards. The PCI hole 0xC0000000-0xFFFFFFFF holds MMIO only. The
 * 0xA0000-0xFFFFF range of the buffer must stay mapped as RAM (or ROM)
 * where the ACPI tables live (0xE0000-0xEFFFF).
 *
 * Everything taken from an image file is checked: a bad image is refused
 * with a message naming the file and what is wrong, never a crash.
 */
#ifndef VMX_BOOT_BOOT_H
#define VMX_BOOT_BOOT_H

#include "vmm/monitor.h"
#include "vmx/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMX_BOOT_4G               0x100000000ull
/* RAM below 4 GiB ends here at the latest; MMIO above. */
#define VMX_BOOT_PCI_HOLE_START   0xC0000000ull
/* The 32-bit PCI MMIO window: [0xC0000000, 0xFEC00000). */
#define VMX_BOOT_PCI32_END        0xFEC00000ull
#define VMX_BOOT_PCI64_SIZE       (32ull << 30)

#define VMX_BOOT_GDT_ADDR         0x500u
#define VMX_BOOT_INFO_ADDR        0x6000u
#define VMX_BOOT_INFO_END         0x7000u
#define VMX_BOOT_PARAMS_ADDR      0x7000u
#define VMX_BOOT_STACK_TOP        0x8ff0u
#define VMX_BOOT_PML4_ADDR        0x9000u
#define VMX_BOOT_PDPT_ADDR        0xa000u
#define VMX_BOOT_PD_ADDR          0xb000u    /* four pages */
#define VMX_BOOT_CMDLINE_ADDR     0x20000u
#define VMX_BOOT_CMDLINE_MAX      0x10000u   /* including the NUL */
#define VMX_BOOT_KERNEL_ADDR      0x100000u

/* GDT selectors. */
#define VMX_BOOT_SEL_CODE32       0x08
#define VMX_BOOT_SEL_CODE         0x10
#define VMX_BOOT_SEL_DATA         0x18

/* Guest RAM, laid out as above. */
typedef struct vmx_guest_ram {
   uint8_t *base;
   uint64_t size;
} vmx_guest_ram;

/* Where RAM and MMIO windows are for a given RAM size. */
typedef struct vmx_boot_layout {
   uint64_t ram_size;
   uint64_t low_end;        /* RAM is [0, low_end) ... */
   uint64_t high_end;       /* ... and [4 GiB, high_end); high_end == 4 GiB: none */
   uint64_t pci32_base, pci32_end;   /* [base, end) */
   uint64_t pci64_base, pci64_end;   /* above all RAM, 1 GiB aligned */
} vmx_boot_layout;

void vmx_boot_layout_get(uint64_t ram_size, vmx_boot_layout *l);

/* Host pointer for guest-physical [gpa, gpa + len), or NULL when any of it
 * is not RAM (or len is 0 and gpa is not inside RAM). */
void *vmx_guest_ram_ptr(const vmx_guest_ram *ram, uint64_t gpa, uint64_t len);

/* A file's contents and its name (for messages). */
typedef struct vmx_boot_file {
   const uint8_t *data;
   size_t size;
   const char *name;
} vmx_boot_file;

typedef enum vmx_boot_entry {
   VMX_BOOT_ENTRY_AUTO = 0,
   VMX_BOOT_ENTRY_LINUX,       /* bzImage, Linux boot protocol */
   VMX_BOOT_ENTRY_PVH,         /* ELF with XEN_ELFNOTE_PHYS32_ENTRY */
   VMX_BOOT_ENTRY_MULTIBOOT,   /* multiboot v1 */
} vmx_boot_entry;

/* What a loader needs besides the images. */
typedef struct vmx_boot_env {
   vmx_guest_ram ram;
   unsigned ncpus;
   uint64_t rsdp;             /* from vmx_acpi_tables_build(); 0: none */
   bool guest_decompress;     /* bzImage: let the kernel unpack itself */
} vmx_boot_env;

/* What a loader produces: the bootstrap vCPU's initial state. */
typedef struct vmx_boot_state {
   vmm_regs regs;
   vmm_sregs sregs;
   const char *method;        /* "linux64" (+ how the payload was unpacked),
                                 "linux32", "pvh", "multiboot" */
   uint64_t entry;
   uint64_t kernel_start, kernel_end;   /* guest-physical [start, end) */
   uint64_t initrd_addr, initrd_size;   /* 0, 0 when none */
   uint64_t info_addr;        /* boot_params / start_info / multiboot info */
} vmx_boot_state;

/* The whole power-on path: reads linux.kernel, linux.initrd, linux.cmdline
 * and linux.entry from cfg (relative paths against vmx_dir, which may be
 * NULL) and serialN.present (for the COM ports the DSDT lists), builds the
 * ACPI tables for ncpus vCPUs, loads the image into ram (which the caller
 * zeroed) and fills *st. On failure returns false and *err names the key
 * or the file and what is wrong. Returns false with *err NULL when
 * linux.kernel is not set (nothing to boot directly). */
bool vmx_boot_from_config(const vmxcfg *cfg, const char *vmx_dir, unsigned ncpus,
                          const vmx_guest_ram *ram, vmx_boot_state *st, char **err);

/* The same from explicit arguments, images already read into memory. */
typedef struct vmx_boot_options {
   const vmx_boot_file *kernel;
   const vmx_boot_file *initrd;    /* NULL: none */
   const char *cmdline;            /* NULL: empty */
   vmx_boot_entry entry;
   unsigned ncpus;                 /* 1..VMM_MAX_VCPUS */
   unsigned serial_mask;           /* bit n: COM(n+1) present, for the DSDT */
   bool guest_decompress;          /* linux.decompress = "guest" */
} vmx_boot_options;

bool vmx_boot_load(const vmx_boot_options *o, const vmx_guest_ram *ram, vmx_boot_state *st,
                   char **err);

/* The individual loaders (vmx_boot_load picks one). Each checks that the
 * image has its kind of header and refuses it otherwise. */
bool vmx_boot_linux(const vmx_boot_file *kernel, const vmx_boot_file *initrd,
                    const char *cmdline, const vmx_boot_env *env, vmx_boot_state *st,
                    char **err);
bool vmx_boot_pvh(const vmx_boot_file *kernel, const vmx_boot_file *initrd,
                  const char *cmdline, const vmx_boot_env *env, vmx_boot_state *st,
                  char **err);
bool vmx_boot_multiboot(const vmx_boot_file *kernel, const vmx_boot_file *initrd,
                        const char *cmdline, const vmx_boot_env *env, vmx_boot_state *st,
                        char **err);

/* Which entries an image offers (for auto and for messages). */
bool vmx_boot_is_bzimage(const vmx_boot_file *f);
bool vmx_boot_has_pvh(const vmx_boot_file *f);
bool vmx_boot_has_multiboot(const vmx_boot_file *f);

/* Initial CPU states (also used by the loaders). Both write the GDT at
 * VMX_BOOT_GDT_ADDR. The long-mode one also writes the identity page
 * tables. rflags = 2, interrupts off, APIC enabled as the BSP's. */
bool vmx_boot_cpu_flat32(const vmx_guest_ram *ram, uint16_t cs_sel, vmx_boot_state *st);
bool vmx_boot_cpu_long64(const vmx_guest_ram *ram, vmx_boot_state *st);

#endif
