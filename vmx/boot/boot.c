/*
 * vmx/boot/boot.c - the direct-boot entry points: reading the config,
 * picking a loader, guest RAM helpers and the initial CPU states.
 */
#include "vmx/boot/boot-int.h"
#include "vmx/boot/acpi-tables.h"

#include <errno.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

bool
boot_fail(char **err, const char *name, const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   char *msg = g_strdup_vprintf(fmt, ap);
   va_end(ap);
   if (err) {
      *err = g_strdup_printf("%s: %s", name, msg);
   }
   g_free(msg);
   return false;
}

/* ---- layout and guest RAM */

void
vmx_boot_layout_get(uint64_t ram_size, vmx_boot_layout *l)
{
   l->ram_size = ram_size;
   l->low_end = ram_size < VMX_BOOT_PCI_HOLE_START ? ram_size : VMX_BOOT_PCI_HOLE_START;
   l->high_end = VMX_BOOT_4G + (ram_size - l->low_end);
   l->pci32_base = VMX_BOOT_PCI_HOLE_START;
   l->pci32_end = VMX_BOOT_PCI32_END;
   uint64_t gib = 1ull << 30;
   l->pci64_base = (l->high_end + gib - 1) & ~(gib - 1);
   l->pci64_end = l->pci64_base + VMX_BOOT_PCI64_SIZE;
}

void *
vmx_guest_ram_ptr(const vmx_guest_ram *ram, uint64_t gpa, uint64_t len)
{
   uint64_t low_end = ram->size < VMX_BOOT_PCI_HOLE_START ? ram->size : VMX_BOOT_PCI_HOLE_START;
   if (gpa < low_end) {
      if (len > low_end - gpa) {
         return NULL;
      }
      return ram->base + gpa;
   }
   if (gpa < VMX_BOOT_4G) {
      return NULL;
   }
   uint64_t off = gpa - VMX_BOOT_4G, high = ram->size - low_end;
   if (off >= high || len > high - off) {
      return NULL;
   }
   return ram->base + low_end + off;
}

bool
boot_range_loadable(const vmx_guest_ram *ram, uint64_t gpa, uint64_t len)
{
   vmx_boot_layout l;
   vmx_boot_layout_get(ram->size, &l);
   if (len == 0 || gpa + len < gpa) {
      return false;
   }
   if (gpa >= VMX_BOOT_KERNEL_ADDR && gpa + len <= l.low_end) {
      return true;
   }
   return gpa >= VMX_BOOT_4G && gpa + len <= l.high_end;
}

bool
boot_put_cmdline(const vmx_guest_ram *ram, const char *cmdline, size_t max, char **err)
{
   if (!cmdline) {
      cmdline = "";
   }
   if (max > VMX_BOOT_CMDLINE_MAX - 1) {
      max = VMX_BOOT_CMDLINE_MAX - 1;
   }
   size_t n = strlen(cmdline);
   if (n > max) {
      return boot_fail(err, "linux.cmdline", "the command line is %zu bytes; at most %zu fit",
                       n, max);
   }
   char *dst = vmx_guest_ram_ptr(ram, VMX_BOOT_CMDLINE_ADDR, n + 1);
   if (!dst) {
      return boot_fail(err, "linux.cmdline", "guest RAM too small for the command line");
   }
   memcpy(dst, cmdline, n + 1);
   return true;
}

bool
boot_put_initrd(const vmx_guest_ram *ram, const vmx_boot_file *initrd, uint64_t floor,
                uint64_t limit, uint64_t *addr, char **err)
{
   vmx_boot_layout l;
   vmx_boot_layout_get(ram->size, &l);
   uint64_t top = limit < l.low_end ? limit : l.low_end;
   uint64_t size = initrd->size;
   if (size == 0) {
      return boot_fail(err, initrd->name, "the initrd is empty");
   }
   if (size > top || ((top - size) & ~0xfffull) < floor) {
      return boot_fail(err, initrd->name,
                       "the initrd (%llu KiB) does not fit in guest RAM between 0x%llx and "
                       "0x%llx; a larger memsize may help",
                       (unsigned long long)(size >> 10), (unsigned long long)floor,
                       (unsigned long long)top);
   }
   uint64_t a = (top - size) & ~0xfffull;
   uint8_t *dst = vmx_guest_ram_ptr(ram, a, size);
   if (!dst) {
      return boot_fail(err, initrd->name, "initrd placement 0x%llx is not RAM",
                       (unsigned long long)a);
   }
   memcpy(dst, initrd->data, size);
   *addr = a;
   return true;
}

/* ---- CPU state */

static const uint64_t gdt_code32 = 0x00cf9b000000ffffull;
static const uint64_t gdt_code64 = 0x00af9b000000ffffull;
static const uint64_t gdt_data = 0x00cf93000000ffffull;

static bool
write_gdt(const vmx_guest_ram *ram, bool long_mode)
{
   uint8_t *g = vmx_guest_ram_ptr(ram, VMX_BOOT_GDT_ADDR, 32);
   if (!g) {
      return false;
   }
   boot_put64(g, 0);
   boot_put64(g + VMX_BOOT_SEL_CODE32, gdt_code32);
   boot_put64(g + VMX_BOOT_SEL_CODE, long_mode ? gdt_code64 : gdt_code32);
   boot_put64(g + VMX_BOOT_SEL_DATA, gdt_data);
   return true;
}

static vmm_seg
flat_seg(uint16_t sel, uint8_t type, bool l)
{
   vmm_seg s = {
      .base = 0, .limit = 0xffffffffu, .selector = sel, .type = type, .s = 1, .dpl = 0,
      .present = 1, .avl = 0, .l = l, .db = !l, .g = 1, .unusable = 0,
   };
   return s;
}

static void
common_state(vmx_boot_state *st, uint16_t cs_sel, bool l)
{
   memset(&st->regs, 0, sizeof st->regs);
   memset(&st->sregs, 0, sizeof st->sregs);
   st->regs.rflags = 0x2;
   st->regs.gpr[VMM_RSP] = VMX_BOOT_STACK_TOP;
   for (int i = 0; i < VMM_NSEG; i++) {
      st->sregs.seg[i] = flat_seg(VMX_BOOT_SEL_DATA, 0x3, false);
   }
   st->sregs.seg[VMM_CS] = flat_seg(cs_sel, 0xb, l);
   /* A busy TSS at 0 (limit 0x67), as PVH asks; the LDT is empty. */
   st->sregs.tr = (vmm_seg){ .limit = 0x67, .type = 0xb, .present = 1 };
   st->sregs.ldtr = (vmm_seg){ .limit = 0xffff, .type = 0x2, .present = 1 };
   st->sregs.gdt.base = VMX_BOOT_GDT_ADDR;
   st->sregs.gdt.limit = 31;
   st->sregs.idt.base = 0;
   st->sregs.idt.limit = 0;
   /* xAPIC enabled, this is the bootstrap processor. */
   st->sregs.apic_base = 0xfee00000ull | (1u << 11) | (1u << 8);
}

#define CR0_PE 0x1ull
#define CR0_MP 0x2ull
#define CR0_ET 0x10ull
#define CR0_NE 0x20ull
#define CR0_PG 0x80000000ull
#define CR4_PAE 0x20ull
#define EFER_LME 0x100ull
#define EFER_LMA 0x400ull

bool
vmx_boot_cpu_flat32(const vmx_guest_ram *ram, uint16_t cs_sel, vmx_boot_state *st)
{
   if (!write_gdt(ram, false)) {
      return false;
   }
   common_state(st, cs_sel, false);
   st->sregs.cr0 = CR0_PE | CR0_ET;
   return true;
}

bool
vmx_boot_cpu_long64(const vmx_guest_ram *ram, vmx_boot_state *st)
{
   if (!write_gdt(ram, true)) {
      return false;
   }
   uint8_t *pml4 = vmx_guest_ram_ptr(ram, VMX_BOOT_PML4_ADDR, 4096);
   uint8_t *pdpt = vmx_guest_ram_ptr(ram, VMX_BOOT_PDPT_ADDR, 4096);
   uint8_t *pd = vmx_guest_ram_ptr(ram, VMX_BOOT_PD_ADDR, 4 * 4096);
   if (!pml4 || !pdpt || !pd) {
      return false;
   }
   /* Identity map 0-4 GiB with 2 MiB pages: present, writable, PS. */
   memset(pml4, 0, 4096);
   memset(pdpt, 0, 4096);
   boot_put64(pml4, VMX_BOOT_PDPT_ADDR | 0x3);
   for (uint64_t g = 0; g < 4; g++) {
      boot_put64(pdpt + 8 * g, (VMX_BOOT_PD_ADDR + g * 4096) | 0x3);
      for (uint64_t j = 0; j < 512; j++) {
         boot_put64(pd + g * 4096 + 8 * j, ((g << 30) + (j << 21)) | 0x83);
      }
   }
   common_state(st, VMX_BOOT_SEL_CODE, true);
   st->sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
   st->sregs.cr3 = VMX_BOOT_PML4_ADDR;
   st->sregs.cr4 = CR4_PAE;
   st->sregs.efer = EFER_LME | EFER_LMA;
   return true;
}

/* ---- picking a loader */

static const char *const entry_names[] = { "auto", "linux", "pvh", "multiboot" };

bool
vmx_boot_load(const vmx_boot_options *o, const vmx_guest_ram *ram, vmx_boot_state *st,
              char **err)
{
   memset(st, 0, sizeof *st);
   vmx_boot_layout l;
   vmx_boot_layout_get(ram->size, &l);
   if (l.low_end < 2 * VMX_BOOT_KERNEL_ADDR) {
      return boot_fail(err, "memsize", "guest RAM of %llu KiB is too small to boot a kernel",
                       (unsigned long long)(ram->size >> 10));
   }
   if (o->ncpus < 1 || o->ncpus > VMM_MAX_VCPUS) {
      return boot_fail(err, "numvcpus", "%u vCPUs; this machine has 1 to %u", o->ncpus,
                       VMM_MAX_VCPUS);
   }
   vmx_acpi_tables_config ac = { o->ncpus, ram->size, o->serial_mask };
   vmx_boot_env env = { .ram = *ram, .ncpus = o->ncpus, .guest_decompress = o->guest_decompress };
   if (!vmx_acpi_tables_build(ram, &ac, &env.rsdp, err)) {
      return false;
   }
   const vmx_boot_file *k = o->kernel;
   vmx_boot_entry e = o->entry;
   if (e == VMX_BOOT_ENTRY_AUTO) {
      if (vmx_boot_is_bzimage(k)) {
         e = VMX_BOOT_ENTRY_LINUX;
      } else if (vmx_boot_has_pvh(k)) {
         e = VMX_BOOT_ENTRY_PVH;
      } else if (vmx_boot_has_multiboot(k)) {
         e = VMX_BOOT_ENTRY_MULTIBOOT;
      } else {
         return boot_fail(err, k->name,
                          "not a bzImage, an ELF kernel with a PVH entry note, or a multiboot "
                          "image");
      }
   }
   switch (e) {
   case VMX_BOOT_ENTRY_LINUX:
      return vmx_boot_linux(k, o->initrd, o->cmdline, &env, st, err);
   case VMX_BOOT_ENTRY_PVH:
      return vmx_boot_pvh(k, o->initrd, o->cmdline, &env, st, err);
   case VMX_BOOT_ENTRY_MULTIBOOT:
      return vmx_boot_multiboot(k, o->initrd, o->cmdline, &env, st, err);
   default:
      return boot_fail(err, "linux.entry", "unknown entry %d", (int)e);
   }
}

/* Read a file named by a config key; refuse anything that cannot fit in
 * guest RAM before reading it. */
static bool
read_image(const char *key, const char *value, const char *vmx_dir, uint64_t max,
           vmx_boot_file *f, char **path_out, char **err)
{
   char *path = g_path_is_absolute(value) || !vmx_dir ? g_strdup(value)
                                                      : g_build_filename(vmx_dir, value, NULL);
   struct stat sb;
   if (stat(path, &sb) != 0) {
      *err = g_strdup_printf("%s: cannot open \"%s\": %s", key, path, g_strerror(errno));
      g_free(path);
      return false;
   }
   if (!S_ISREG(sb.st_mode)) {
      *err = g_strdup_printf("%s: \"%s\" is not a regular file", key, path);
      g_free(path);
      return false;
   }
   if ((uint64_t)sb.st_size > max) {
      *err = g_strdup_printf("%s: \"%s\" (%llu MiB) is larger than guest RAM", key, path,
                             (unsigned long long)(sb.st_size >> 20));
      g_free(path);
      return false;
   }
   gchar *data = NULL;
   gsize len = 0;
   GError *gerr = NULL;
   if (!g_file_get_contents(path, &data, &len, &gerr)) {
      *err = g_strdup_printf("%s: cannot read \"%s\": %s", key, path, gerr->message);
      g_error_free(gerr);
      g_free(path);
      return false;
   }
   if (len > max) {
      *err = g_strdup_printf("%s: \"%s\" grew larger than guest RAM while being read", key,
                             path);
      g_free(data);
      g_free(path);
      return false;
   }
   f->data = (const uint8_t *)data;
   f->size = len;
   f->name = g_strdup_printf("%s (%s)", path, key);
   *path_out = path;
   return true;
}

static void
free_image(vmx_boot_file *f, char *path)
{
   g_free((void *)f->data);
   g_free((void *)f->name);
   g_free(path);
}

bool
vmx_boot_from_config(const vmxcfg *cfg, const char *vmx_dir, unsigned ncpus,
                     const vmx_guest_ram *ram, vmx_boot_state *st, char **err)
{
   *err = NULL;
   const char *kpath = vmxcfg_get(cfg, "linux.kernel");
   if (!kpath) {
      return false;
   }
   if (!*kpath) {
      *err = g_strdup("linux.kernel: the value is empty");
      return false;
   }
   vmx_boot_options o = {
      .cmdline = vmxcfg_get(cfg, "linux.cmdline"),
      .ncpus = ncpus,
      .entry = VMX_BOOT_ENTRY_AUTO,
   };
   const char *entry = vmxcfg_get(cfg, "linux.entry");
   if (entry) {
      bool found = false;
      for (unsigned i = 0; i < G_N_ELEMENTS(entry_names); i++) {
         if (g_ascii_strcasecmp(entry, entry_names[i]) == 0) {
            o.entry = (vmx_boot_entry)i;
            found = true;
         }
      }
      if (!found) {
         *err = g_strdup_printf("linux.entry: \"%s\" is not one of auto, linux, pvh, multiboot",
                                entry);
         return false;
      }
   }
   const char *dec = vmxcfg_get(cfg, "linux.decompress");
   if (dec && g_ascii_strcasecmp(dec, "guest") == 0) {
      o.guest_decompress = true;
   } else if (dec && g_ascii_strcasecmp(dec, "host") != 0) {
      *err = g_strdup_printf("linux.decompress: \"%s\" is not host or guest", dec);
      return false;
   }
   for (unsigned i = 0; i < 4; i++) {
      char key[32];
      bool present = false;
      snprintf(key, sizeof key, "serial%u.present", i);
      if (!vmxcfg_get_bool(cfg, key, false, &present, err)) {
         return false;
      }
      o.serial_mask |= present ? 1u << i : 0;
   }
   vmx_boot_file kf = { 0 }, rf = { 0 };
   char *kp = NULL, *rp = NULL;
   if (!read_image("linux.kernel", kpath, vmx_dir, ram->size, &kf, &kp, err)) {
      return false;
   }
   o.kernel = &kf;
   const char *ipath = vmxcfg_get(cfg, "linux.initrd");
   if (ipath && *ipath) {
      if (!read_image("linux.initrd", ipath, vmx_dir, ram->size, &rf, &rp, err)) {
         free_image(&kf, kp);
         return false;
      }
      o.initrd = &rf;
   }
   bool ok = vmx_boot_load(&o, ram, st, err);
   free_image(&kf, kp);
   if (o.initrd) {
      free_image(&rf, rp);
   }
   return ok;
}
