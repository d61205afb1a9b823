/*
 * vmx/ckpt/tests/test-ckpt-file.c - the checkpoint file: round trips of
 * zero, random and mixed memory with every compression option and both
 * restore modes; sections and their lookup; every field of the header,
 * the directory, the memory descriptors and chunk tables corrupted (alone,
 * and re-sealed with valid checksums so the structure checks are reached);
 * every byte of the metadata and compressed data flipped; truncation at
 * many offsets; unknown section kinds and later minor versions; abort and
 * failed writers leave no file behind.
 */
#include "vmx/ckpt/ckpt-file-priv.h"
#include "vmx/ckpt/ckpt-file.h"
#include "vmx/ckpt/tests/ckpt-test-data.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

static char *tmpdir;

static char *
tpath(const char *name)
{
   return g_build_filename(tmpdir, name, NULL);
}

static uint8_t *
ram_new(size_t n)
{
   void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   g_assert_true(p != MAP_FAILED);
   return p;
}

static void
ram_free(void *p, size_t n)
{
   munmap(p, n ? n : 1);
}

static GBytes *
slurp(const char *path)
{
   gchar *d = NULL;
   gsize n = 0;
   GError *e = NULL;
   g_assert_true(g_file_get_contents(path, &d, &n, &e));
   return g_bytes_new_take(d, n);
}

/* Write a file (plainly: g_file_set_contents() would fsync each time). */
static void
spit(const char *path, const void *d, size_t n)
{
   int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
   g_assert_cmpint(fd, >=, 0);
   g_assert_cmpint(write(fd, d, n), ==, (ssize_t)n);
   g_assert_cmpint(close(fd), ==, 0);
}

static unsigned
dir_entries(void)
{
   GDir *d = g_dir_open(tmpdir, 0, NULL);
   unsigned n = 0;
   while (g_dir_read_name(d)) {
      n++;
   }
   g_dir_close(d);
   return n;
}

static void
assert_contains(const char *s, const char *part)
{
   if (!s || !strstr(s, part)) {
      g_error("expected a message containing '%s', got '%s'", part, s ? s : "(none)");
   }
}

/* ---- round trips ------------------------------------------------------------ */

typedef struct progress_rec {
   uint64_t last, total;
   unsigned calls;
   bool backwards;
} progress_rec;

static void
progress_cb(void *ud, uint64_t done, uint64_t total)
{
   progress_rec *p = ud;
   if (done < p->last || done > total) {
      p->backwards = true;
   }
   p->last = done;
   p->total = total;
   p->calls++;
}

static void
roundtrip(ckpt_data_kind kind, size_t size, ckpt_file_compress c, uint32_t chunk)
{
   char *path = tpath("rt.vmss");
   uint8_t *ram = ram_new(size);
   ckpt_test_fill(ram, size, kind, size ^ (uint64_t)c);
   uint8_t *copy = g_memdup2(ram, size);
   char *err = NULL;
   ckpt_file_opts o = { .compress = c, .chunk_size = chunk };
   static const char state[] = "device state bytes";

   /* Saving only reads: the RAM is read-only meanwhile. */
   g_assert_cmpint(mprotect(ram, size, PROT_READ), ==, 0);
   ckpt_file_writer *w = ckpt_file_create(path, &o, &err);
   g_assert_nonnull(w);
   g_assert_true(ckpt_file_add_section(w, "devices", CKPT_FILE_STATE, state, sizeof state, &err));
   progress_rec pr = { 0 };
   g_assert_true(ckpt_file_add_memory(w, "ram", ram, size, progress_cb, &pr, &err));
   g_assert_true(ckpt_file_add_section(w, "cpu0", CKPT_FILE_CPU, "x", 1, &err));
   g_assert_true(ckpt_file_commit(w, &err));
   g_assert_cmpint(mprotect(ram, size, PROT_READ | PROT_WRITE), ==, 0);
   g_assert_true(memcmp(ram, copy, size) == 0);
   g_assert_false(pr.backwards);
   g_assert_cmpuint(pr.last, ==, size);
   g_assert_cmpuint(pr.total, ==, size);

   ckpt_file *f = ckpt_file_open(path, &err);
   if (!f) {
      g_error("open: %s", err);
   }
   g_assert_true(ckpt_file_verify(f, NULL, NULL, &err));
   size_t len = 0;
   const void *sec = ckpt_file_section(f, "devices", CKPT_FILE_STATE, &len);
   g_assert_nonnull(sec);
   g_assert_cmpuint(len, ==, sizeof state);
   g_assert_true(memcmp(sec, state, len) == 0);
   ckpt_file_memory_info mi;
   g_assert_true(ckpt_file_memory(f, "ram", &mi));
   g_assert_cmpuint(mi.size, ==, size);
   g_assert_cmpuint(mi.zero_chunks + mi.raw_chunks + mi.lz4_chunks + mi.zstd_chunks, ==, mi.chunks);
   if (kind == CKPT_DATA_ZERO) {
      g_assert_cmpuint(mi.zero_chunks, ==, mi.chunks);
   }
   if (kind == CKPT_DATA_RANDOM) {
      g_assert_cmpuint(mi.raw_chunks, ==, mi.chunks);
   }
   if (kind == CKPT_DATA_MIXED && size >= (16u << 20)) {
      g_assert_cmpuint(mi.zero_chunks, >, 0);
      g_assert_cmpuint(mi.raw_chunks, >, 0);
      if (c == CKPT_FILE_COMPRESS_LZ4 || c == CKPT_FILE_COMPRESS_DEFAULT) {
         g_assert_cmpuint(mi.lz4_chunks, >, 0);
      } else if (c == CKPT_FILE_COMPRESS_ZSTD) {
         g_assert_cmpuint(mi.zstd_chunks, >, 0);
      } else {
         g_assert_cmpuint(mi.lz4_chunks + mi.zstd_chunks, ==, 0);
      }
   }
   /* Zero pages take no space. */
   struct stat st;
   g_assert_cmpint(stat(path, &st), ==, 0);
   if (kind == CKPT_DATA_ZERO) {
      g_assert_cmpuint((uint64_t)st.st_blocks * 512, <, size / 16 + 65536);
   }

   /* LAZY over a fresh mapping, COPY into a malloc'ed (unaligned) buffer. */
   uint8_t *lazy = ram_new(size);
   memset(lazy, 0x5a, size);
   pr = (progress_rec){ 0 };
   if (!ckpt_file_restore_memory(f, "ram", lazy, size, CKPT_FILE_RESTORE_LAZY, progress_cb, &pr,
                                 &err)) {
      g_error("lazy restore: %s", err);
   }
   g_assert_false(pr.backwards);
   g_assert_true(memcmp(lazy, copy, size) == 0);
   /* Guest writes stay private: the file does not change. */
   memset(lazy, 0xee, size < 8192 ? size : 8192);
   uint8_t *buf = g_malloc(size + 1);
   memset(buf, 0xa5, size + 1);
   if (!ckpt_file_restore_memory(f, "ram", buf + 1, size, CKPT_FILE_RESTORE_COPY, NULL, NULL,
                                 &err)) {
      g_error("copy restore: %s", err);
   }
   g_assert_true(memcmp(buf + 1, copy, size) == 0);
   g_assert_true(ckpt_file_verify(f, NULL, NULL, &err));
   ckpt_file_close(f);
   /* The mapping outlives the reader and the file name. */
   g_assert_cmpint(g_unlink(path), ==, 0);
   g_assert_true(memcmp(lazy + 8192, copy + 8192, size > 8192 ? size - 8192 : 0) == 0);
   ram_free(lazy, size);
   ram_free(ram, size);
   g_free(buf);
   g_free(copy);
   g_free(path);
}

static void
test_roundtrip_small(void)
{
   static const size_t sizes[] = { 1, 100, 4096, 4097, 65536 + 12345, (1u << 20) + 4096 * 3 };
   for (unsigned k = 0; k < 3; k++) {
      for (unsigned c = CKPT_FILE_COMPRESS_NONE; c <= CKPT_FILE_COMPRESS_ZSTD; c++) {
         for (unsigned i = 0; i < G_N_ELEMENTS(sizes); i++) {
            roundtrip((ckpt_data_kind)k, sizes[i], (ckpt_file_compress)c, 65536);
         }
      }
   }
}

static void
test_roundtrip_64m(void)
{
   size_t size = (64u << 20) + 12345;   /* not a multiple of the chunk, nor of a page */
   for (unsigned c = CKPT_FILE_COMPRESS_NONE; c <= CKPT_FILE_COMPRESS_ZSTD; c++) {
      roundtrip(CKPT_DATA_MIXED, size, (ckpt_file_compress)c, 0);
   }
   roundtrip(CKPT_DATA_ZERO, size, CKPT_FILE_COMPRESS_DEFAULT, 0);
   roundtrip(CKPT_DATA_RANDOM, 16u << 20, CKPT_FILE_COMPRESS_LZ4, 256u << 10);
}

static void
test_sections(void)
{
   char *path = tpath("sections.vmss");
   char *err = NULL;
   ckpt_file_writer *w = ckpt_file_create(path, NULL, &err);
   g_assert_true(ckpt_file_add_section(w, "a", CKPT_FILE_STATE, "1", 1, &err));
   g_assert_true(ckpt_file_add_section(w, "empty", CKPT_FILE_STATE, NULL, 0, &err));
   g_assert_true(ckpt_file_add_section(w, "cpu0", CKPT_FILE_CPU, "22", 2, &err));
   /* A kind a later build may add: written as given, skipped on reading. */
   g_assert_true(ckpt_file_add_section(w, "future", 42, "zzz", 3, &err));
   g_assert_true(ckpt_file_commit(w, &err));

   ckpt_file *f = ckpt_file_open(path, &err);
   g_assert_nonnull(f);
   g_assert_cmpuint(ckpt_file_n_sections(f), ==, 4);
   ckpt_file_section_info si;
   g_assert_true(ckpt_file_section_at(f, 3, &si));
   g_assert_cmpstr(si.name, ==, "future");
   g_assert_cmpuint(si.kind, ==, 42);
   g_assert_cmpuint(si.length, ==, 3);
   g_assert_false(ckpt_file_section_at(f, 4, &si));
   size_t len;
   g_assert_null(ckpt_file_section(f, "future", CKPT_FILE_STATE, &len));
   g_assert_null(ckpt_file_section(f, "cpu0", CKPT_FILE_STATE, &len));
   g_assert_null(ckpt_file_section(f, "nope", CKPT_FILE_STATE, &len));
   const char *p = ckpt_file_section(f, "cpu0", CKPT_FILE_CPU, &len);
   g_assert_true(p && len == 2 && memcmp(p, "22", 2) == 0);
   p = ckpt_file_section(f, "empty", CKPT_FILE_STATE, &len);
   g_assert_true(p && len == 0);
   ckpt_file_memory_info mi;
   g_assert_false(ckpt_file_memory(f, "ram", &mi));
   uint8_t b[16];
   g_assert_false(ckpt_file_restore_memory(f, "ram", b, 16, CKPT_FILE_RESTORE_COPY, NULL, NULL,
                                           &err));
   assert_contains(err, "no memory 'ram'");
   g_clear_pointer(&err, g_free);
   g_assert_true(ckpt_file_verify(f, NULL, NULL, &err));
   ckpt_file_close(f);

   /* Bad names and duplicates; every call after a failure fails. */
   w = ckpt_file_create(path, NULL, &err);
   g_assert_false(ckpt_file_add_section(w, "bad name", CKPT_FILE_STATE, "1", 1, &err));
   assert_contains(err, "bad section name 'bad name'");
   g_clear_pointer(&err, g_free);
   g_assert_false(ckpt_file_add_section(w, "ok", CKPT_FILE_STATE, "1", 1, &err));
   g_clear_pointer(&err, g_free);
   g_assert_false(ckpt_file_commit(w, &err));
   g_clear_pointer(&err, g_free);
   w = ckpt_file_create(path, NULL, &err);
   g_assert_true(ckpt_file_add_section(w, "x", CKPT_FILE_STATE, "1", 1, &err));
   g_assert_false(ckpt_file_add_section(w, "x", CKPT_FILE_STATE, "1", 1, &err));
   assert_contains(err, "two sections named 'x'");
   g_clear_pointer(&err, g_free);
   g_assert_false(ckpt_file_add_section(w, "0123456789012345678901234567890123", CKPT_FILE_STATE,
                                        "1", 1, &err));
   g_clear_pointer(&err, g_free);
   ckpt_file_abort(w);
   /* The file from before is still there and whole. */
   f = ckpt_file_open(path, &err);
   g_assert_nonnull(f);
   g_assert_cmpuint(ckpt_file_n_sections(f), ==, 4);
   ckpt_file_close(f);
   g_assert_cmpuint(dir_entries(), ==, 1);

   /* Options. */
   ckpt_file_opts o = { .chunk_size = 3000 };
   g_assert_null(ckpt_file_create(path, &o, &err));
   assert_contains(err, "chunk size 3000");
   g_clear_pointer(&err, g_free);
   o = (ckpt_file_opts){ .max_ratio = 1.5 };
   g_assert_null(ckpt_file_create(path, &o, &err));
   assert_contains(err, "ratio");
   g_clear_pointer(&err, g_free);
   o = (ckpt_file_opts){ .zstd_level = 40 };
   g_assert_null(ckpt_file_create(path, &o, &err));
   g_clear_pointer(&err, g_free);
   char *nodir = tpath("nodir/x.vmss");
   g_assert_null(ckpt_file_create(nodir, NULL, &err));
   assert_contains(err, "cannot create a temporary file beside");
   g_clear_pointer(&err, g_free);
   g_assert_null(ckpt_file_open(nodir, &err));
   assert_contains(err, nodir);
   g_clear_pointer(&err, g_free);
   g_free(nodir);

   ckpt_file_compress c;
   g_assert_true(ckpt_file_compress_parse("zstd", &c) && c == CKPT_FILE_COMPRESS_ZSTD);
   g_assert_false(ckpt_file_compress_parse("gzip", &c));
   g_assert_cmpstr(ckpt_file_compress_name(CKPT_FILE_COMPRESS_NONE), ==, "none");
   g_unlink(path);
   g_free(path);
}

static void
test_abort(void)
{
   char *path = tpath("abort.vmss");
   char *err = NULL;
   size_t size = 4u << 20;
   uint8_t *ram = ram_new(size);
   ckpt_test_fill(ram, size, CKPT_DATA_MIXED, 7);
   g_assert_cmpuint(dir_entries(), ==, 0);
   ckpt_file_writer *w = ckpt_file_create(path, NULL, &err);
   g_assert_true(ckpt_file_add_memory(w, "ram", ram, size, NULL, NULL, &err));
   ckpt_file_abort(w);
   g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
   g_assert_cmpuint(dir_entries(), ==, 0);
   ckpt_file_abort(NULL);
   /* Empty memory is refused, and then commit cleans up too. */
   w = ckpt_file_create(path, NULL, &err);
   g_assert_false(ckpt_file_add_memory(w, "ram", ram, 0, NULL, NULL, &err));
   assert_contains(err, "memory 'ram' is empty");
   g_clear_pointer(&err, g_free);
   g_assert_false(ckpt_file_commit(w, &err));
   g_clear_pointer(&err, g_free);
   g_assert_cmpuint(dir_entries(), ==, 0);
   /* Wrong size on restore. */
   w = ckpt_file_create(path, NULL, &err);
   g_assert_true(ckpt_file_add_memory(w, "ram", ram, size, NULL, NULL, &err));
   g_assert_true(ckpt_file_commit(w, &err));
   ckpt_file *f = ckpt_file_open(path, &err);
   g_assert_false(ckpt_file_restore_memory(f, "ram", ram, size - 4096, CKPT_FILE_RESTORE_COPY,
                                           NULL, NULL, &err));
   assert_contains(err, "is 4194304 bytes in the checkpoint but 4190208 in the VM");
   g_clear_pointer(&err, g_free);
   ckpt_file_close(f);
   g_unlink(path);
   g_assert_cmpuint(dir_entries(), ==, 0);
   ram_free(ram, size);
   g_free(path);
}

/* ---- the reference file for corruption tests -------------------------------- */

/* A small file with every structure: two sections, a memory region with
 * zero, raw (with holes), compressed chunks and a partial last page, and a
 * second region. */
static char *
make_ref(const char *name, ckpt_file_compress c, uint8_t **ram_out, size_t *size_out)
{
   char *path = tpath(name);
   char *err = NULL;
   size_t size = 16 * 8192 + 100;
   uint8_t *ram = g_malloc0(size);
   uint64_t s = 99;
   ckpt_test_random(ram + 1 * 8192, 8192, &s);          /* raw */
   ckpt_test_text(ram + 2 * 8192, 8192, &s);            /* compressed */
   ckpt_test_sparse(ram + 3 * 8192, 8192, &s);          /* compressed */
   ckpt_test_random(ram + 5 * 8192 + 4096, 4096, &s);   /* raw with a hole */
   ckpt_test_text(ram + 7 * 8192, 8192, &s);
   ckpt_test_random(ram + 9 * 8192, 8192, &s);
   ckpt_test_random(ram + 16 * 8192, 100, &s);          /* the partial last chunk */
   ckpt_file_opts o = { .compress = c, .chunk_size = 8192, .max_ratio = 0.9, .threads = 2 };
   ckpt_file_writer *w = ckpt_file_create(path, &o, &err);
   g_assert_true(ckpt_file_add_section(w, "devices", CKPT_FILE_STATE, "pic pit uart", 12, &err));
   g_assert_true(ckpt_file_add_memory(w, "ram", ram, size, NULL, NULL, &err));
   g_assert_true(ckpt_file_add_section(w, "cpu0", CKPT_FILE_CPU, "registers", 9, &err));
   g_assert_true(ckpt_file_add_memory(w, "vram", ram + 2 * 8192, 3 * 8192, NULL, NULL, &err));
   g_assert_true(ckpt_file_commit(w, &err));
   *ram_out = ram;
   *size_out = size;
   return path;
}

/* Parsed positions in a file image. */
typedef struct layout {
   uint64_t dir_off;
   uint32_t n;
   uint64_t sec_off[8], sec_len[8];
   uint32_t kind[8];
} layout;

/* The directory of an image of n bytes (possibly corrupted: what does not
 * fit is left out). */
static void
parse_layout(const uint8_t *b, size_t n, layout *l)
{
   memset(l, 0, sizeof *l);
   l->n = (uint32_t)ckpt_le_get(b + 20, 4);
   l->dir_off = ckpt_le_get(b + 24, 8);
   if (l->n > 8 || l->dir_off > n || (uint64_t)l->n * 64 > n - l->dir_off) {
      l->n = 0;
   }
   for (uint32_t i = 0; i < l->n; i++) {
      const uint8_t *e = b + l->dir_off + 64 * i;
      l->kind[i] = (uint32_t)ckpt_le_get(e + 32, 4);
      l->sec_off[i] = ckpt_le_get(e + 40, 8);
      l->sec_len[i] = ckpt_le_get(e + 48, 8);
   }
}

/* Recompute every section checksum and the header checksum. */
static void
reseal(uint8_t *b, size_t n)
{
   layout l;
   parse_layout(b, n, &l);
   for (uint32_t i = 0; i < l.n; i++) {
      uint8_t *e = b + l.dir_off + 64 * i;
      if (l.sec_off[i] <= n && l.sec_len[i] <= n - l.sec_off[i]) {
         ckpt_le_put(e + 56, XXH3_64bits(b + l.sec_off[i], l.sec_len[i]), 8);
      }
   }
   uint32_t hs = (uint32_t)ckpt_le_get(b + 12, 4);
   if (hs < 128 || hs > n) {
      hs = 128;
   }
   uint64_t dl = (uint64_t)l.n * 64;
   ckpt_le_put(b + 120, 0, 8);
   XXH3_state_t *st = XXH3_createState();
   XXH3_64bits_reset(st);
   XXH3_64bits_update(st, b, hs);
   if (l.dir_off <= n && dl <= n - l.dir_off) {
      XXH3_64bits_update(st, b + l.dir_off, dl);
   }
   ckpt_le_put(b + 120, XXH3_64bits_digest(st), 8);
   XXH3_freeState(st);
}

/* Open (and verify, and restore both ways) an image; the message of the
 * first failure, or NULL when all of it worked. */
static char *
try_image(const char *path, const uint8_t *b, size_t n, bool full)
{
   char *err = NULL;
   spit(path, b, n);
   ckpt_file *f = ckpt_file_open(path, &err);
   if (!f) {
      return err;
   }
   if (!full) {
      ckpt_file_close(f);
      return NULL;
   }
   if (ckpt_file_verify(f, NULL, NULL, &err)) {
      ckpt_file_memory_info mi;
      if (ckpt_file_memory(f, "ram", &mi)) {
         uint8_t *ram = ram_new(mi.size);
         if (ckpt_file_restore_memory(f, "ram", ram, mi.size, CKPT_FILE_RESTORE_COPY, NULL, NULL,
                                      &err)) {
            g_assert_true(ckpt_file_restore_memory(f, "ram", ram, mi.size, CKPT_FILE_RESTORE_LAZY,
                                                   NULL, NULL, &err));
         }
         ram_free(ram, mi.size);
      }
   }
   ckpt_file_close(f);
   return err;
}

typedef struct field_case {
   const char *what;
   uint64_t off;          /* from the start of the thing named by base */
   unsigned width;
   uint64_t value;
   int base;              /* 0 file, 1 dir entry 0, 2 dir entry 1, 3 ram descriptor */
   const char *expect;    /* NULL: must load */
} field_case;

static void
corrupt_fields(GBytes *ref, uint64_t ram_desc, uint64_t raw_off, uint64_t packed_off)
{
   size_t n;
   const uint8_t *orig = g_bytes_get_data(ref, &n);
   char *bad = tpath("bad.vmss");
   layout l;
   parse_layout(orig, n, &l);
   uint64_t table = ram_desc + 64;
   /* The first two compressed chunks of "ram": 2 and 3 (see make_ref). */
   uint64_t c2 = table + 2 * 32, c3 = table + 3 * 32;
   const field_case cases[] = {
      { "magic", 0, 1, 'X', 0, "not a vmws checkpoint file" },
      { "major", 8, 2, 2, 0, "checkpoint format 2.0 is newer than this build reads (1.x)" },
      { "major zero", 8, 2, 0, 0, "unknown checkpoint format 0.0" },
      { "minor", 10, 2, 7, 0, NULL },
      { "header size small", 12, 4, 64, 0, "header size 64" },
      { "header size huge", 12, 4, 1u << 20, 0, "header size" },
      { "header size bigger", 12, 4, 256, 0, "section 'devices' (at 128) overlaps the header (256 bytes)" },
      { "must flag", 16, 4, 1, 0, "features this build does not know" },
      { "optional flag", 16, 4, 1u << 20, 0, NULL },
      { "section count", 20, 4, 3, 0, "corrupt header" },
      { "directory offset odd", 24, 8, l.dir_off + 4, 0, "corrupt header" },
      { "directory offset past", 24, 8, n + 64, 0, "corrupt header" },
      { "directory length", 32, 8, 64, 0, "corrupt header" },
      { "file size bigger", 40, 8, n + 1, 0, "truncated: the file has" },
      { "file size smaller", 40, 8, n - 1, 0, "data after the end" },
      { "reserved", 60, 1, 1, 0, NULL },
      { "name chars", 0, 1, ' ', 1, "directory entry 0 has a bad name" },
      { "name empty", 0, 1, 0, 1, "directory entry 0 has a bad name" },
      { "name junk after nul", 10, 1, 'x', 1, "directory entry 0 has a bad name" },
      { "name duplicate", 0, 8, ckpt_le_get(orig + l.dir_off + 64, 8), 1, "two sections named" },
      { "entry flags", 36, 4, 2, 1, "features this build does not know" },
      { "entry offset past", 40, 8, n, 1, "is not in the file" },
      { "entry offset in header", 40, 8, 8, 1, "overlaps the header" },
      { "entry length past", 48, 8, n, 1, "is not in the file" },
      { "entry overlaps the next", 48, 8, raw_off - l.sec_off[0] + 1, 1,
        "section 'devices' overlaps the memory image of 'ram'" },
      { "entry overlaps the directory", 40, 8, l.dir_off - 4, 1, "overlaps" },
      { "entry kind unknown", 32, 4, 99, 1, NULL },
      { "memory size zero", 0, 8, 0, 3, "size 0 does not fit" },
      { "memory size huge", 0, 8, 1ull << 50, 3, "does not fit in the file" },
      { "memory size other", 0, 8, 16 * 8192 + 5000, 3, "memory image" },
      { "chunk size odd", 8, 4, 12288, 3, "chunk size 12288" },
      { "chunk size tiny", 8, 4, 2048, 3, "chunk size 2048" },
      { "chunk count", 12, 4, 16, 3, "chunks of 8192 bytes do not make" },
      { "raw offset unaligned", 16, 8, ckpt_le_get(orig + ram_desc + 16, 8) + 8, 3,
        "not page-aligned" },
      { "raw offset past", 16, 8, ckpt_align_up(n, 4096) + 8192 * 4, 3,
        "truncated: the memory image of 'ram' ends at byte" },
      { "raw length", 24, 8, 8192, 3, "not the region's size" },
      { "raw overlaps a section", 16, 8, 0, 3, "overlaps" },
      { "packed past", 40, 8, n, 3, "compressed area" },
      { "packed offset but empty", 40, 8, 0, 3, "compressed area" },
      { "memory flags", 48, 4, 1, 3, "features this build does not know" },
      { "table offset", 52, 4, 8, 3, "chunk table" },
      { "table offset past", 52, 4, 4096, 3, "chunk table" },
      { "chunk kind", 2 * 32 + 64, 1, 9, 3, "chunk 2 has unknown kind 9" },
      { "chunk reserved", 2 * 32 + 64 + 1, 1, 1, 3, "chunk 2 has reserved bits set" },
      { "zero chunk with data", 0 * 32 + 64 + 4, 4, 10, 3, "chunk 0 is zero but has stored data" },
      { "raw chunk with offset", 1 * 32 + 64 + 8, 8, 4096, 3, "chunk 1 is raw but has stored data" },
      { "chunk length zero", 2 * 32 + 64 + 4, 4, 0, 3, "chunk 2 has a bad compressed length" },
      { "chunk length huge", 2 * 32 + 64 + 4, 4, 1u << 30, 3, "chunk 2 has a bad compressed length" },
      { "chunk outside", 2 * 32 + 64 + 8, 8, packed_off - 1, 3, "outside the compressed area" },
      { "chunk past", 2 * 32 + 64 + 8, 8, n, 3, "outside the compressed area" },
      /* width 0: chunk 3's length and offset become chunk 2's */
      { "chunks overlap", 3 * 32 + 64 + 4, 0, 2 * 32 + 64 + 4, 3, "overlap" },
      { "chunk checksum", 2 * 32 + 64 + 16, 1, 0x55, 3, "chunk 2 (bytes 0x4000..0x6000): checksum mismatch" },
      { "raw chunk checksum", 1 * 32 + 64 + 16, 1, 0x55, 3, "chunk 1 (bytes 0x2000..0x4000): checksum mismatch" },
      { "stored checksum", 2 * 32 + 64 + 24, 1, 0x55, 3,
        "chunk 2 (bytes 0x4000..0x6000): compressed data checksum mismatch" },
      { "raw chunk with stored checksum", 1 * 32 + 64 + 24, 1, 1, 3, "chunk 1 is raw but has stored data" },
      { "lz4 chunk read as zstd", 2 * 32 + 64, 1, 3, 3, "chunk 2" },
   };
   (void)c3;
   g_assert_cmpuint(ckpt_le_get(orig + c2, 1), >=, CKPT_CHUNK_LZ4);
   g_assert_cmpuint(ckpt_le_get(orig + c3, 1), >=, CKPT_CHUNK_LZ4);
   g_assert_cmpuint(ckpt_le_get(orig + table + 32, 1), ==, CKPT_CHUNK_RAW);
   g_assert_cmpuint(ckpt_le_get(orig + table, 1), ==, CKPT_CHUNK_ZERO);
   for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
      const field_case *fc = &cases[i];
      uint64_t base = fc->base == 0 ? 0 : fc->base == 1 ? l.dir_off : fc->base == 2 ? l.dir_off + 64
                                                                                    : ram_desc;
      for (int sealed = 0; sealed < 2; sealed++) {
         uint8_t *b = g_memdup2(orig, n);
         /* The "lz4 chunk read as zstd" case only makes sense for an lz4 file. */
         if (strcmp(fc->what, "lz4 chunk read as zstd") == 0 && b[c2] != CKPT_CHUNK_LZ4) {
            g_free(b);
            continue;
         }
         if (fc->width == 0) {
            memcpy(b + base + fc->off, b + base + fc->value, 12);
         } else {
            ckpt_le_put(b + base + fc->off, fc->value, fc->width);
         }
         if (sealed) {
            reseal(b, n);
         }
         char *err = try_image(bad, b, n, true);
         if (!sealed) {
            /* Any change without new checksums is refused, by a checksum
             * or by what a checksum cannot cover. */
            if (memcmp(b, orig, n) != 0 && !err) {
               g_error("%s (not re-sealed): loaded", fc->what);
            }
         } else if (fc->expect) {
            if (!err || !strstr(err, fc->expect) || strncmp(err, bad, strlen(bad)) != 0) {
               g_error("%s: expected '%s: ...%s...', got '%s'", fc->what, bad, fc->expect,
                       err ? err : "(loaded)");
            }
         } else if (err) {
            g_error("%s: should load, got '%s'", fc->what, err);
         }
         if (g_test_verbose() && sealed) {
            g_test_message("%s: %s", fc->what, err ? err : "loads");
         }
         g_free(err);
         g_free(b);
      }
   }
   g_unlink(bad);
   g_free(bad);
}

/* Flip each byte of the metadata and compressed data (and every 61st of
 * the rest): the file is refused by open or verify. The only bytes no
 * check covers are outside every part (alignment padding, the end of a
 * region's last page); they are allowed to change. */
static void
flip_bytes(GBytes *ref)
{
   size_t n;
   const uint8_t *orig = g_bytes_get_data(ref, &n);
   char *bad = tpath("flip.vmss");
   layout l;
   parse_layout(orig, n, &l);
   uint8_t *part = g_malloc0(n);   /* 1: metadata, 2: memory, 3: compressed */
   memset(part, 1, 128);
   memset(part + l.dir_off, 1, (size_t)l.n * 64);
   for (uint32_t s = 0; s < l.n; s++) {
      memset(part + l.sec_off[s], 1, l.sec_len[s]);
      if (l.kind[s] == CKPT_FILE_MEMORY) {
         const uint8_t *d = orig + l.sec_off[s];
         uint64_t size = ckpt_le_get(d, 8), raw = ckpt_le_get(d + 16, 8);
         uint64_t poff = ckpt_le_get(d + 32, 8), plen = ckpt_le_get(d + 40, 8);
         memset(part + raw, 2, size);
         memset(part + poff, 3, plen);
      }
   }
   unsigned tried = 0, unchecked = 0;
   for (size_t i = 0; i < n; i++) {
      /* Every byte of the metadata, every 7th of the compressed data,
       * every 61st of the rest. */
      if (part[i] != 1 && !(part[i] == 3 && i % 7 == 0) && i % 61 != 0) {
         continue;
      }
      uint8_t *b = g_memdup2(orig, n);
      b[i] ^= 0x41;
      char *err = try_image(bad, b, n, true);
      if (!err) {
         if (part[i]) {
            g_error("flipping byte %zu went unnoticed", i);
         }
         unchecked++;
      } else if (strncmp(err, bad, strlen(bad)) != 0) {
         g_error("byte %zu: the message does not name the file: %s", i, err);
      }
      tried++;
      g_free(err);
      g_free(b);
   }
   g_test_message("%u byte flips, %u of them in padding", tried, unchecked);
   g_free(part);
   g_unlink(bad);
   g_free(bad);
}

static void
truncations(GBytes *ref)
{
   size_t n;
   const uint8_t *orig = g_bytes_get_data(ref, &n);
   char *bad = tpath("trunc.vmss");
   unsigned tried = 0;
   for (size_t cut = 0; cut < n; cut++) {
      if (cut > 300 && cut < n - 300 && cut % 397 != 0) {
         continue;
      }
      char *err = try_image(bad, orig, cut, false);
      if (!err) {
         g_error("a file cut at %zu of %zu bytes loaded", cut, n);
      }
      if (!strstr(err, cut < 8 ? "not a vmws checkpoint file" : "truncated")) {
         g_error("cut at %zu: unclear message '%s'", cut, err);
      }
      tried++;
      g_free(err);
   }
   g_test_message("%u truncations refused", tried);
   g_unlink(bad);
   g_free(bad);
}

static void
corruption_for(ckpt_file_compress c)
{
   uint8_t *ram;
   size_t size;
   char *path = make_ref("ref.vmss", c, &ram, &size);
   GBytes *ref = slurp(path);
   size_t n;
   const uint8_t *b = g_bytes_get_data(ref, &n);
   layout l;
   parse_layout(b, n, &l);
   g_assert_cmpuint(l.n, ==, 4);
   g_assert_cmpuint(l.kind[1], ==, CKPT_FILE_MEMORY);
   uint64_t desc = l.sec_off[1];
   uint64_t raw_off = ckpt_le_get(b + desc + 16, 8);
   uint64_t packed_off = ckpt_le_get(b + desc + 32, 8);
   g_test_message("reference file %s: %zu bytes", ckpt_file_compress_name(c), n);

   /* The reference itself is fine. */
   char *err = try_image(path, b, n, true);
   g_assert_null(err);
   ckpt_file *f = ckpt_file_open(path, &err);
   uint8_t *back = g_malloc(size);
   g_assert_true(ckpt_file_restore_memory(f, "ram", back, size, CKPT_FILE_RESTORE_COPY, NULL,
                                          NULL, &err));
   g_assert_true(memcmp(back, ram, size) == 0);
   ckpt_file_close(f);

   corrupt_fields(ref, desc, raw_off, packed_off);
   flip_bytes(ref);
   truncations(ref);

   /* Data appended after the end. */
   uint8_t *big = g_malloc0(n + 10);
   memcpy(big, b, n);
   err = try_image(path, big, n + 10, false);
   assert_contains(err, "data after the end");
   g_free(err);
   g_free(big);
   err = try_image(path, (const uint8_t *)"hello", 5, false);
   assert_contains(err, "not a vmws checkpoint file");
   g_free(err);

   g_free(back);
   g_free(ram);
   g_bytes_unref(ref);
   g_unlink(path);
   g_free(path);
}

static void
test_corruption_lz4(void)
{
   corruption_for(CKPT_FILE_COMPRESS_LZ4);
}

static void
test_corruption_zstd(void)
{
   corruption_for(CKPT_FILE_COMPRESS_ZSTD);
}

static void
test_open_fd(void)
{
   char *err = NULL;
   int fd = memfd_create("ckpt", MFD_CLOEXEC);
   g_assert_cmpint(fd, >=, 0);
   g_assert_null(ckpt_file_open_fd(fd, "mem.vmss", &err));
   assert_contains(err, "mem.vmss: not a vmws checkpoint file");
   g_clear_pointer(&err, g_free);
   g_assert_null(ckpt_file_open_fd(-1, "bad.vmss", &err));
   assert_contains(err, "bad.vmss: ");
   g_clear_pointer(&err, g_free);
   char *d = tpath("");
   g_assert_null(ckpt_file_open(d, &err));   /* a folder */
   g_clear_pointer(&err, g_free);
   g_free(d);
   close(fd);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   tmpdir = g_dir_make_tmp("test-ckpt-file-XXXXXX", NULL);
   g_assert_nonnull(tmpdir);
   g_test_add_func("/ckpt-file/sections", test_sections);
   g_test_add_func("/ckpt-file/abort", test_abort);
   g_test_add_func("/ckpt-file/open-fd", test_open_fd);
   g_test_add_func("/ckpt-file/roundtrip-small", test_roundtrip_small);
   g_test_add_func("/ckpt-file/roundtrip-64m", test_roundtrip_64m);
   g_test_add_func("/ckpt-file/corruption-lz4", test_corruption_lz4);
   g_test_add_func("/ckpt-file/corruption-zstd", test_corruption_zstd);
   int r = g_test_run();
   g_rmdir(tmpdir);
   g_free(tmpdir);
   return r;
}
