/*
 * Robustness of the loaders against hostile images: every synthesized image
 * truncated at many lengths and corrupted at random (deterministic seed)
 * must load or fail with an error that names the file, under every entry
 * choice; a success must leave a sane start state. Run under ASan/UBSan
 * (the project's sanitizer build) this also proves no out-of-bounds access.
 *
 * VMWS_FUZZ_ITERATIONS overrides the number of corruptions per image.
 */
#include "images.h"
#include "vmx/boot/boot.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define RAM_SIZE (24u << 20)

static vmx_guest_ram ram;
static unsigned long loads, successes;

static void
try_load(const uint8_t *data, size_t size, vmx_boot_entry entry, const char *what)
{
   vmx_boot_file k = { data, size, "fuzz-kernel" };
   static const uint8_t rd_data[300] = { 1, 2, 3 };
   vmx_boot_file rd = { rd_data, sizeof rd_data, "fuzz-initrd" };
   vmx_boot_options o = {
      .kernel = &k, .initrd = (size & 1) ? &rd : NULL, .cmdline = "console=ttyS0",
      .entry = entry, .ncpus = 1,
   };
   vmx_boot_state st;
   char *err = NULL;
   bool ok = vmx_boot_load(&o, &ram, &st, &err);
   loads++;
   if (!ok) {
      if (!err || !(strstr(err, "fuzz-kernel") || strstr(err, "fuzz-initrd") ||
                    strstr(err, "linux.cmdline"))) {
         g_error("%s: failure without a message naming the file: %s", what,
                 err ? err : "(none)");
      }
      g_free(err);
      return;
   }
   successes++;
   g_assert_null(err);
   g_assert_nonnull(st.method);
   /* The entry point lies in RAM above 1 MiB, inside what was loaded. */
   g_assert_cmpuint(st.entry, >=, 0x100000);
   g_assert_cmpuint(st.entry, <, RAM_SIZE);
   g_assert_cmpuint(st.kernel_start, <=, st.entry);
   g_assert_cmpuint(st.entry, <, st.kernel_end);
   g_assert_cmpuint(st.kernel_end, <=, RAM_SIZE);
   g_assert_cmphex(st.regs.rip, ==, st.entry);
   if (st.initrd_size) {
      g_assert_cmpuint(st.initrd_addr, >=, st.kernel_end);
      g_assert_cmpuint(st.initrd_addr + st.initrd_size, <=, RAM_SIZE);
   }
}

static const vmx_boot_entry entries[] = {
   VMX_BOOT_ENTRY_AUTO, VMX_BOOT_ENTRY_LINUX, VMX_BOOT_ENTRY_PVH, VMX_BOOT_ENTRY_MULTIBOOT,
};

static void
truncations(GBytes *img, const char *name)
{
   gsize size;
   const uint8_t *d = g_bytes_get_data(img, &size);
   for (size_t len = 0; len <= size; len += len < 0x400 ? 1 : 53) {
      uint8_t *copy = g_memdup2(d, len ? len : 1);
      for (unsigned e = 0; e < G_N_ELEMENTS(entries); e++) {
         try_load(copy, len, entries[e], name);
      }
      g_free(copy);
   }
}

/* Values that tend to break size and offset arithmetic. */
static uint32_t
nasty(GRand *r, size_t size)
{
   static const uint32_t v[] = {
      0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0xffff, 0x10000, 0x100000,
      0x7fffffff, 0x80000000, 0xfffffff0, 0xfffffffc, 0xffffffff, 0x1badb002,
   };
   switch (g_rand_int_range(r, 0, 4)) {
   case 0:
      return v[g_rand_int_range(r, 0, G_N_ELEMENTS(v))];
   case 1:
      return (uint32_t)size + (uint32_t)g_rand_int_range(r, -8, 8);
   case 2:
      return (uint32_t)g_rand_int_range(r, 0, 0x2000);
   default:
      return g_rand_int(r);
   }
}

static void
corruptions(GBytes *img, const char *name, unsigned iterations, guint32 seed)
{
   gsize size;
   const uint8_t *d = g_bytes_get_data(img, &size);
   GRand *r = g_rand_new_with_seed(seed);
   uint8_t *copy = g_malloc(size);
   for (unsigned it = 0; it < iterations; it++) {
      memcpy(copy, d, size);
      unsigned edits = (unsigned)g_rand_int_range(r, 1, 6);
      for (unsigned k = 0; k < edits; k++) {
         /* Mostly the headers: the first 0x300 bytes hold the ELF and
          * program headers, the setup header and (for a.out) the
          * multiboot header; the multiboot ELF has its header at 0x1000. */
         size_t off;
         int where = g_rand_int_range(r, 0, 10);
         if (where < 7) {
            off = (size_t)g_rand_int_range(r, 0, 0x300);
         } else if (where < 8 && size > 0x1010) {
            off = 0x1000 + (size_t)g_rand_int_range(r, 0, 16);
         } else {
            off = (size_t)g_rand_int_range(r, 0, (gint32)size);
         }
         if (g_rand_boolean(r) && off + 4 <= size) {
            uint32_t v = nasty(r, size);
            memcpy(copy + (off & ~(size_t)3), &v, 4);
         } else if (off < size) {
            copy[off] ^= (uint8_t)g_rand_int_range(r, 1, 256);
         }
      }
      /* Keep multiboot checksums valid half of the time so that the
       * loader gets past the header search. */
      if (g_rand_boolean(r)) {
         for (size_t o = 0; o + 12 <= size && o < 8192; o += 4) {
            uint32_t m;
            memcpy(&m, copy + o, 4);
            if (m == 0x1badb002) {
               uint32_t f, ck;
               memcpy(&f, copy + o + 4, 4);
               ck = (uint32_t)-(0x1badb002u + f);
               memcpy(copy + o + 8, &ck, 4);
               break;
            }
         }
      }
      try_load(copy, size, entries[it % G_N_ELEMENTS(entries)], name);
   }
   g_free(copy);
   g_rand_free(r);
}

int
main(void)
{
   unsigned iterations = 4000;
   const char *env = getenv("VMWS_FUZZ_ITERATIONS");
   if (env) {
      iterations = (unsigned)strtoul(env, NULL, 0);
   }
   void *p = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   g_assert_true(p != MAP_FAILED);
   ram = (vmx_guest_ram){ p, RAM_SIZE };

   struct {
      const char *name;
      GBytes *img;
   } imgs[] = {
      { "multiboot-elf32", test_img_multiboot_elf32() },
      { "pvh-elf64", test_img_pvh_elf64() },
      { "multiboot-aout", test_img_multiboot_aout() },
      { "bzimage64", test_img_bzimage(TRUE) },
      { "bzimage32", test_img_bzimage(FALSE) },
   };
   for (unsigned i = 0; i < G_N_ELEMENTS(imgs); i++) {
      unsigned long before = successes;
      truncations(imgs[i].img, imgs[i].name);
      corruptions(imgs[i].img, imgs[i].name, iterations, 0x5eed0000u + i);
      printf("%-16s %lu loads so far, %lu of them succeeded for this image\n", imgs[i].name,
             loads, successes - before);
      g_bytes_unref(imgs[i].img);
   }
   /* Pure noise. */
   GRand *r = g_rand_new_with_seed(42);
   uint8_t noise[4096];
   for (unsigned it = 0; it < iterations / 4; it++) {
      for (size_t k = 0; k < sizeof noise; k++) {
         noise[k] = (uint8_t)g_rand_int(r);
      }
      if (it & 1) {
         memcpy(noise, "\177ELF", 4);
      }
      try_load(noise, sizeof noise, entries[it % G_N_ELEMENTS(entries)], "noise");
   }
   g_rand_free(r);
   printf("%lu loads, %lu succeeded, every failure named the file\n", loads, successes);
   munmap(p, RAM_SIZE);
   return 0;
}
