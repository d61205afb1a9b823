/*
 * tests/fuzz/fuzz-ckpt-file.c - libFuzzer target for the checkpoint file
 * reader (vmx/ckpt/ckpt-file-reader.c).
 *
 * The input is a whole checkpoint file, given to ckpt_file_open_fd() in a
 * memfd. Besides "never crashes, never leaks", it checks:
 *
 *   1. A refused file gets a message "fuzz.vmss: reason".
 *   2. What open accepts is consistent: every section listed can be looked
 *      up by name and kind with its length, inside the input; every memory
 *      region's chunk counts add up.
 *   3. ckpt_file_verify() passing means both restore modes (COPY into a
 *      buffer, LAZY over a mapping) pass and give the same bytes; restore
 *      and verify failures name the file too.
 *
 * Each input is tried twice: as it is, and "re-sealed": the checksums of
 * the compressed chunks, the sections and the header recomputed over what
 * the input has there, so that mutations get past the checksums to the
 * structure checks and the decompressors (the memory checksums of chunks
 * stay as they are: they need the decompressed data).
 */
#include "tests/fuzz/fuzz-common.h"
#include "vmx/ckpt/ckpt-file-priv.h"
#include "vmx/ckpt/ckpt-file.h"

#include <string.h>
#include <sys/mman.h>
#include <xxhash.h>

#define NAME "fuzz.vmss"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
   fuzz_glib_use_malloc(*argv);
   return 0;
}

static int memfd = -1;

static void
check_named(const char *what, const char *err)
{
   if (!err || strncmp(err, NAME ": ", strlen(NAME) + 2) != 0) {
      fuzz_fail("%s failed with message '%s', not '" NAME ": reason'", what, err ? err : "(none)");
   }
}

static void
check_region(ckpt_file *f, const char *name, size_t input_size, bool verified)
{
   ckpt_file_memory_info mi;
   if (!ckpt_file_memory(f, name, &mi)) {
      fuzz_fail("memory '%s' is listed but not found", name);
   }
   if (mi.zero_chunks + mi.raw_chunks + mi.lz4_chunks + mi.zstd_chunks != mi.chunks ||
       mi.size == 0 || mi.size > input_size ||
       (uint64_t)mi.chunks * mi.chunk_size < mi.size) {
      fuzz_fail("memory '%s': %llu bytes in %u chunks of %u (%u/%u/%u/%u)", name,
                (unsigned long long)mi.size, mi.chunks, mi.chunk_size, mi.zero_chunks,
                mi.raw_chunks, mi.lz4_chunks, mi.zstd_chunks);
   }
   size_t size = (size_t)mi.size;
   char *err = NULL;
   uint8_t *copy = g_malloc(size);
   bool copy_ok = ckpt_file_restore_memory(f, name, copy, size, CKPT_FILE_RESTORE_COPY, NULL,
                                           NULL, &err);
   if (!copy_ok) {
      check_named("a COPY restore", err);
      g_clear_pointer(&err, g_free);
   }
   size_t maplen = (size + 4095) & ~(size_t)4095;
   uint8_t *lazy = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   if (lazy == MAP_FAILED) {
      fuzz_fail("mmap: out of memory");
   }
   bool lazy_ok = ckpt_file_restore_memory(f, name, lazy, size, CKPT_FILE_RESTORE_LAZY, NULL,
                                           NULL, &err);
   if (!lazy_ok) {
      check_named("a LAZY restore", err);
      g_clear_pointer(&err, g_free);
   }
   if (verified && (!copy_ok || !lazy_ok)) {
      fuzz_fail("memory '%s' verifies but does not restore (copy %d, lazy %d)", name, copy_ok,
                lazy_ok);
   }
   if (copy_ok && lazy_ok && memcmp(copy, lazy, size) != 0) {
      fuzz_fail("memory '%s': COPY and LAZY restores differ", name);
   }
   munmap(lazy, maplen);
   g_free(copy);
}

/* Whether [off, off + len) lies in n bytes. */
static bool
fits(uint64_t off, uint64_t len, size_t n)
{
   return off <= n && len <= n - off;
}

/* Recompute the checksums the layout (ckpt-file.h) gives, where the fields
 * pointing at what they cover make sense. */
static void
reseal(uint8_t *b, size_t n)
{
   if (n < CKPT_HEADER_SIZE) {
      return;
   }
   uint64_t count = ckpt_le_get(b + 20, 4), dir = ckpt_le_get(b + 24, 8);
   uint64_t dir_len = count * CKPT_DIRENT_SIZE;
   bool dir_ok = count <= CKPT_MAX_SECTIONS && fits(dir, dir_len, n);
   for (uint64_t i = 0; dir_ok && i < count; i++) {
      uint8_t *e = b + dir + i * CKPT_DIRENT_SIZE;
      uint64_t off = ckpt_le_get(e + 40, 8), len = ckpt_le_get(e + 48, 8);
      if (!fits(off, len, n)) {
         continue;
      }
      if (ckpt_le_get(e + 32, 4) == CKPT_FILE_MEMORY && len >= CKPT_MEMDESC_SIZE) {
         uint8_t *d = b + off;
         uint64_t chunks = ckpt_le_get(d + 12, 4), table = ckpt_le_get(d + 52, 4);
         for (uint64_t c = 0; c < chunks; c++) {
            uint64_t at = table + c * CKPT_CHUNK_ENTRY_SIZE;
            if (!fits(at, CKPT_CHUNK_ENTRY_SIZE, len)) {
               break;
            }
            uint8_t *ce = d + at;
            uint64_t so = ckpt_le_get(ce + 8, 8), sl = ckpt_le_get(ce + 4, 4);
            if (ce[0] >= CKPT_CHUNK_LZ4 && fits(so, sl, n)) {
               ckpt_le_put(ce + 24, XXH3_64bits(b + so, sl), 8);
            }
         }
      }
      ckpt_le_put(e + 56, XXH3_64bits(b + off, len), 8);
   }
   uint64_t hs = ckpt_le_get(b + 12, 4);
   if (hs < CKPT_HEADER_SIZE || hs > CKPT_HEADER_MAX || hs > n) {
      return;
   }
   ckpt_le_put(b + CKPT_HDR_CHECKSUM_OFF, 0, 8);
   XXH3_state_t *st = XXH3_createState();
   XXH3_64bits_reset(st);
   XXH3_64bits_update(st, b, hs);
   if (dir_ok) {
      XXH3_64bits_update(st, b + dir, dir_len);
   }
   ckpt_le_put(b + CKPT_HDR_CHECKSUM_OFF, XXH3_64bits_digest(st), 8);
   XXH3_freeState(st);
}

static void one_input(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   one_input(data, size);
   if (size == 0) {
      return 0;
   }
   uint8_t *copy = g_memdup2(data, size);
   reseal(copy, size);
   if (memcmp(copy, data, size) != 0) {
      one_input(copy, size);
   }
   g_free(copy);
   return 0;
}

static void
one_input(const uint8_t *data, size_t size)
{
   if (memfd < 0) {
      memfd = memfd_create("fuzz-ckpt", MFD_CLOEXEC);
      if (memfd < 0) {
         fuzz_fail("memfd_create failed");
      }
   }
   if (ftruncate(memfd, 0) < 0 || (size && pwrite(memfd, data, size, 0) != (ssize_t)size)) {
      fuzz_fail("cannot fill the memfd");
   }
   char *err = NULL;
   ckpt_file *f = ckpt_file_open_fd(memfd, NAME, &err);
   if (!f) {
      check_named("open", err);
      g_free(err);
      return;
   }
   bool verified = ckpt_file_verify(f, NULL, NULL, &err);
   if (!verified) {
      check_named("verify", err);
      g_clear_pointer(&err, g_free);
   }
   unsigned n = ckpt_file_n_sections(f);
   uint64_t total = 0;
   for (unsigned i = 0; i < n; i++) {
      ckpt_file_section_info si;
      if (!ckpt_file_section_at(f, i, &si)) {
         fuzz_fail("section %u of %u is missing", i, n);
      }
      if (strlen(si.name) == 0 || strlen(si.name) > CKPT_FILE_NAME_MAX) {
         fuzz_fail("section %u has name '%s'", i, si.name);
      }
      total += si.length;
      if (si.kind == CKPT_FILE_STATE || si.kind == CKPT_FILE_CPU) {
         size_t len = 0;
         const uint8_t *p = ckpt_file_section(f, si.name, si.kind, &len);
         if (!p || len != si.length) {
            fuzz_fail("section '%s' of %llu bytes is not found by name", si.name,
                      (unsigned long long)si.length);
         }
         /* Read every byte (ASan checks the buffer). */
         volatile uint8_t x = 0;
         for (size_t k = 0; k < len; k++) {
            x ^= p[k];
         }
         (void)x;
      } else if (si.kind == CKPT_FILE_MEMORY) {
         check_region(f, si.name, size, verified);
      }
   }
   if (total > size) {
      fuzz_fail("the sections take %llu bytes of a %zu-byte file", (unsigned long long)total,
                size);
   }
   ckpt_file_section_info si;
   if (ckpt_file_section_at(f, n, &si)) {
      fuzz_fail("a section past the count");
   }
   ckpt_file_close(f);
}
