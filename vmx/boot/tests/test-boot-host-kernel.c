/*
 * The loaders on a real distribution kernel: the newest /boot/vmlinuz-*
 * (Debian's linux-image-amd64), or the file named by VMWS_TEST_KERNEL.
 * Its bzImage header must parse and the kernel load through the 64-bit
 * Linux boot protocol. When `xz` is installed, the uncompressed vmlinux is
 * extracted from the bzImage's xz payload and loaded through its PVH note.
 * Exits 77 (skip) when there is no kernel to try.
 */
#include "vmx/boot/boot.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define RAM_SIZE (512ull << 20)

static int failures;

#define CHECK(cond, ...)                                                                  \
   do {                                                                                  \
      if (!(cond)) {                                                                     \
         fprintf(stderr, "FAIL: " __VA_ARGS__);                                          \
         fprintf(stderr, "\n");                                                          \
         failures++;                                                                     \
      }                                                                                  \
   } while (0)

static uint32_t
rd32(const uint8_t *p)
{
   return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static char *
find_kernel(void)
{
   const char *env = getenv("VMWS_TEST_KERNEL");
   if (env && *env) {
      return g_strdup(env);
   }
   GDir *d = g_dir_open("/boot", 0, NULL);
   if (!d) {
      return NULL;
   }
   char *best = NULL;
   const char *n;
   while ((n = g_dir_read_name(d))) {
      if (g_str_has_prefix(n, "vmlinuz-") && (!best || strverscmp(n, best) > 0)) {
         g_free(best);
         best = g_strdup(n);
      }
   }
   g_dir_close(d);
   char *path = best ? g_build_filename("/boot", best, NULL) : NULL;
   g_free(best);
   return path;
}

static vmx_guest_ram
ram_new(void)
{
   void *p = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
   g_assert_true(p != MAP_FAILED);
   return (vmx_guest_ram){ p, RAM_SIZE };
}

/* The ELF vmlinux's segments, as a loader must have put them in RAM. */
static void
check_segments(const vmx_guest_ram *ram, GBytes *vmlinux, uint64_t *entry)
{
   const uint8_t *v = g_bytes_get_data(vmlinux, NULL);
   size_t vsize = g_bytes_get_size(vmlinux);
   uint64_t phoff = *(const uint64_t *)(v + 32);
   unsigned phnum = *(const uint16_t *)(v + 56), checked = 0;
   *entry = *(const uint64_t *)(v + 24);
   for (unsigned i = 0; i < phnum; i++) {
      const uint8_t *ph = v + phoff + 56u * i;
      if (*(const uint32_t *)ph != 1) {   /* PT_LOAD */
         continue;
      }
      uint64_t off = *(const uint64_t *)(ph + 8), pa = *(const uint64_t *)(ph + 24);
      uint64_t filesz = *(const uint64_t *)(ph + 32);
      g_assert_true(off + filesz <= vsize && pa + filesz <= ram->size);
      CHECK(memcmp(ram->base + pa, v + off, filesz) == 0, "segment %u at 0x%llx differs", i,
            (unsigned long long)pa);
      checked++;
   }
   CHECK(checked > 0, "the vmlinux has no PT_LOAD segment");
}

/* The default: the vmx unpacks the payload and starts the vmlinux inside at
 * its 64-bit entry; the result must be what xz makes of the payload. */
static void
test_bzimage_unpacked(const vmx_boot_file *k, GBytes *vmlinux)
{
   vmx_guest_ram ram = ram_new();
   static uint8_t rd[1 << 20];
   memset(rd, 0x17, sizeof rd);
   vmx_boot_file initrd = { rd, sizeof rd, "synthetic initrd" };
   vmx_boot_options o = {
      .kernel = k, .initrd = &initrd, .cmdline = "console=ttyS0",
      .entry = VMX_BOOT_ENTRY_LINUX, .ncpus = 1,
   };
   vmx_boot_state st;
   char *err = NULL;
   bool ok = vmx_boot_load(&o, &ram, &st, &err);
   CHECK(ok, "loading %s with the payload unpacked by the vmx: %s", k->name, err);
   if (ok) {
      printf("unpacked: %s, entry 0x%llx, kernel 0x%llx-0x%llx, initrd 0x%llx\n", st.method,
             (unsigned long long)st.entry, (unsigned long long)st.kernel_start,
             (unsigned long long)st.kernel_end, (unsigned long long)st.initrd_addr);
      CHECK(strstr(st.method, "unpacked by the vmx") != NULL, "method %s", st.method);
      uint64_t entry = 0;
      if (vmlinux) {
         check_segments(&ram, vmlinux, &entry);
         CHECK(st.regs.rip == entry, "entry 0x%llx, the ELF says 0x%llx",
               (unsigned long long)st.regs.rip, (unsigned long long)entry);
      }
      CHECK(st.regs.gpr[VMM_RSI] == VMX_BOOT_PARAMS_ADDR, "RSI = boot_params");
      CHECK(st.sregs.efer & (1u << 10), "long mode active at the entry");
      CHECK(st.initrd_addr >= st.kernel_end, "initrd overlaps the kernel");
      CHECK(memcmp(ram.base + st.initrd_addr, rd, sizeof rd) == 0, "initrd contents");
   }
   g_free(err);
   munmap(ram.base, RAM_SIZE);
}

static void
test_bzimage(const vmx_boot_file *k)
{
   CHECK(vmx_boot_is_bzimage(k), "%s is not recognised as a bzImage", k->name);
   const uint8_t *d = k->data;
   uint16_t version = (uint16_t)(d[0x206] | d[0x207] << 8);
   printf("%s: boot protocol %u.%02u, setup_sects %u, xloadflags 0x%x\n", k->name,
          version >> 8, version & 0xff, d[0x1f1], d[0x236] | d[0x237] << 8);
   vmx_guest_ram ram = ram_new();
   static uint8_t rd[1 << 20];
   memset(rd, 0x42, sizeof rd);
   vmx_boot_file initrd = { rd, sizeof rd, "synthetic initrd" };
   vmx_boot_options o = {
      .kernel = k, .initrd = &initrd, .cmdline = "console=ttyS0 earlyprintk=ttyS0",
      .entry = VMX_BOOT_ENTRY_AUTO, .ncpus = 2, .guest_decompress = true,
   };
   vmx_boot_state st;
   char *err = NULL;
   bool ok = vmx_boot_load(&o, &ram, &st, &err);
   CHECK(ok, "loading %s: %s", k->name, err);
   if (ok) {
      printf("loaded: %s, entry 0x%llx, kernel 0x%llx-0x%llx, initrd 0x%llx+%llu\n", st.method,
             (unsigned long long)st.entry, (unsigned long long)st.kernel_start,
             (unsigned long long)st.kernel_end, (unsigned long long)st.initrd_addr,
             (unsigned long long)st.initrd_size);
      CHECK(strcmp(st.method, "linux64") == 0, "a 64-bit kernel starts %s", st.method);
      CHECK(st.regs.rip == 0x100200, "entry 0x%llx", (unsigned long long)st.regs.rip);
      size_t setup = ((size_t)(d[0x1f1] ? d[0x1f1] : 4) + 1) * 512;
      CHECK(memcmp(ram.base + 0x100000, d + setup, 4096) == 0, "kernel not at 1 MiB");
      const uint8_t *bp = ram.base + VMX_BOOT_PARAMS_ADDR;
      CHECK(memcmp(bp + 0x202, "HdrS", 4) == 0, "boot_params header");
      CHECK(rd32(bp + 0x218) == st.initrd_addr, "ramdisk_image");
      CHECK(st.initrd_addr >= st.kernel_end, "initrd overlaps the kernel");
      CHECK(strcmp((char *)ram.base + rd32(bp + 0x228), o.cmdline) == 0, "cmdline");
   }
   g_free(err);
   munmap(ram.base, RAM_SIZE);
}

/* The vmlinux inside the bzImage's xz payload, or NULL. */
static GBytes *
extract_vmlinux(const vmx_boot_file *k, const char *dir)
{
   char *xz = g_find_program_in_path("xz");
   if (!xz) {
      printf("xz not installed: not extracting the vmlinux\n");
      return NULL;
   }
   static const uint8_t magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
   const uint8_t *m = memmem(k->data, k->size, magic, sizeof magic);
   if (!m) {
      printf("no xz payload in %s: not extracting the vmlinux\n", k->name);
      g_free(xz);
      return NULL;
   }
   char *in = g_build_filename(dir, "payload.xz", NULL);
   char *out = g_build_filename(dir, "vmlinux", NULL);
   g_assert_true(g_file_set_contents(in, (const char *)m,
                                     (gssize)(k->size - (size_t)(m - k->data)), NULL));
   char *qin = g_shell_quote(in), *qout = g_shell_quote(out), *qxz = g_shell_quote(xz);
   char *cmd = g_strdup_printf("%s -dc --single-stream %s > %s", qxz, qin, qout);
   const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
   int status = 0;
   GError *gerr = NULL;
   GBytes *res = NULL;
   if (g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, NULL, &status,
                    &gerr) && g_spawn_check_wait_status(status, NULL)) {
      char *data;
      gsize len;
      if (g_file_get_contents(out, &data, &len, NULL)) {
         res = g_bytes_new_take(data, len);
      }
   } else {
      printf("xz could not decompress the payload: not testing the vmlinux\n");
   }
   g_clear_error(&gerr);
   g_unlink(in);
   g_unlink(out);
   g_free(cmd);
   g_free(qin);
   g_free(qout);
   g_free(qxz);
   g_free(in);
   g_free(out);
   g_free(xz);
   return res;
}

static void
test_vmlinux(GBytes *b)
{
   vmx_boot_file k = { g_bytes_get_data(b, NULL), g_bytes_get_size(b), "extracted vmlinux" };
   printf("vmlinux: %zu bytes\n", k.size);
   CHECK(vmx_boot_has_pvh(&k), "the vmlinux has no PVH note");
   vmx_guest_ram ram = ram_new();
   vmx_boot_options o = {
      .kernel = &k, .cmdline = "console=ttyS0", .entry = VMX_BOOT_ENTRY_PVH, .ncpus = 1,
   };
   vmx_boot_state st;
   char *err = NULL;
   bool ok = vmx_boot_load(&o, &ram, &st, &err);
   CHECK(ok, "PVH load of the vmlinux: %s", err);
   if (ok) {
      printf("PVH: entry 0x%llx, kernel 0x%llx-0x%llx\n", (unsigned long long)st.entry,
             (unsigned long long)st.kernel_start, (unsigned long long)st.kernel_end);
      CHECK(st.entry >= st.kernel_start && st.entry < st.kernel_end, "PVH entry outside");
      CHECK(rd32(ram.base + VMX_BOOT_INFO_ADDR) == 0x336ec578, "start_info magic");
      CHECK(st.regs.gpr[VMM_RBX] == VMX_BOOT_INFO_ADDR, "EBX");
   }
   g_free(err);
   munmap(ram.base, RAM_SIZE);
}

int
main(void)
{
   char *path = find_kernel();
   if (!path) {
      printf("SKIP: no /boot/vmlinuz-* (Debian's linux-image-amd64) and no VMWS_TEST_KERNEL\n");
      return 77;
   }
   char *data = NULL;
   gsize len = 0;
   GError *gerr = NULL;
   if (!g_file_get_contents(path, &data, &len, &gerr)) {
      printf("SKIP: cannot read %s: %s\n", path, gerr->message);
      return 77;
   }
   vmx_boot_file k = { (const uint8_t *)data, len, path };
   test_bzimage(&k);
   char *dir = g_dir_make_tmp("vmws-kernel-XXXXXX", NULL);
   GBytes *vmlinux = extract_vmlinux(&k, dir);
   test_bzimage_unpacked(&k, vmlinux);
   if (vmlinux) {
      test_vmlinux(vmlinux);
      g_bytes_unref(vmlinux);
   }
   g_rmdir(dir);
   g_free(dir);
   g_free(data);
   g_free(path);
   printf("%s\n", failures ? "FAILED" : "the host kernel loads");
   return failures ? 1 : 0;
}
