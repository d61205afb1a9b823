/*
 * vmx/ckpt/ckpt-file-writer.c - writing a checkpoint file (layout in
 * ckpt-file.h): sections appended in a temporary file, memory regions
 * scanned and compressed by worker threads that pwrite at offsets computed
 * up front, the directory and header written last, then the rename.
 */
#include "vmx/ckpt/ckpt-file-priv.h"

#include "lib/atomicfile.h"

#include <errno.h>
#include <lz4.h>
#include <stdatomic.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

typedef struct dirent_rec {
   char name[CKPT_FILE_NAME_MAX + 1];
   uint32_t kind;
   uint64_t off, len, sum;
} dirent_rec;

struct ckpt_file_writer {
   vmws_atomicfile *af;
   int fd;
   char *path;
   int compress;            /* CKPT_CHUNK_RAW (none), _LZ4, _ZSTD */
   double max_ratio;
   uint32_t chunk_size;
   unsigned threads;
   int zstd_level;
   uint64_t cursor;         /* end of what is written */
   GArray *dir;             /* dirent_rec */
   char *failed;            /* the first error, repeated by later calls */
};

static bool
fail(ckpt_file_writer *w, char **err, char *msg)
{
   if (!w->failed) {
      w->failed = g_strdup(msg);
   }
   *err = msg;
   return false;
}

static bool
failed(ckpt_file_writer *w, char **err)
{
   if (w->failed) {
      *err = g_strdup(w->failed);
      return true;
   }
   return false;
}

ckpt_file_writer *
ckpt_file_create(const char *path, const ckpt_file_opts *opts, char **err)
{
   ckpt_file_opts o = { 0 };
   if (opts) {
      o = *opts;
   }
   if (o.chunk_size == 0) {
      o.chunk_size = CKPT_CHUNK_DEFAULT;
   }
   if (o.chunk_size < CKPT_CHUNK_MIN || o.chunk_size > CKPT_CHUNK_MAX ||
       (o.chunk_size & (o.chunk_size - 1))) {
      *err = g_strdup_printf("%s: chunk size %u is not a power of two from 4 KiB to 64 MiB", path,
                             o.chunk_size);
      return NULL;
   }
   if (o.max_ratio == 0) {
      o.max_ratio = 0.25;   /* see ckpt_file_opts */
   }
   if (!(o.max_ratio > 0 && o.max_ratio <= 1)) {
      *err = g_strdup_printf("%s: compression ratio threshold %g is not in (0, 1]", path,
                             o.max_ratio);
      return NULL;
   }
   if (o.zstd_level == 0) {
      o.zstd_level = 1;
   }
   if (o.zstd_level < 1 || o.zstd_level > 19) {
      *err = g_strdup_printf("%s: zstd level %d is not 1..19", path, o.zstd_level);
      return NULL;
   }
   if (o.compress > CKPT_FILE_COMPRESS_ZSTD) {
      *err = g_strdup_printf("%s: unknown compression %d", path, (int)o.compress);
      return NULL;
   }
   vmws_atomicfile *af = vmws_atomicfile_begin(path, o.mode ? o.mode : 0600, true, err);
   if (!af) {
      return NULL;
   }
   ckpt_file_writer *w = g_new0(ckpt_file_writer, 1);
   w->af = af;
   w->fd = vmws_atomicfile_fd(af);
   w->path = g_strdup(path);
   w->compress = o.compress == CKPT_FILE_COMPRESS_NONE   ? CKPT_CHUNK_RAW
                 : o.compress == CKPT_FILE_COMPRESS_ZSTD ? CKPT_CHUNK_ZSTD
                                                         : CKPT_CHUNK_LZ4;
   w->max_ratio = o.max_ratio;
   w->chunk_size = o.chunk_size;
   w->threads = o.threads;
   w->zstd_level = o.zstd_level;
   w->cursor = CKPT_HEADER_SIZE;
   w->dir = g_array_new(FALSE, TRUE, sizeof(dirent_rec));
   return w;
}

static bool
check_name(ckpt_file_writer *w, const char *name, char **err)
{
   if (!ckpt_name_valid(name, strlen(name))) {
      return fail(w, err,
                  g_strdup_printf("%s: bad section name '%s' (1-31 of A-Z a-z 0-9 . _ -)",
                                  w->path, name));
   }
   for (guint i = 0; i < w->dir->len; i++) {
      if (strcmp(g_array_index(w->dir, dirent_rec, i).name, name) == 0) {
         return fail(w, err, g_strdup_printf("%s: two sections named '%s'", w->path, name));
      }
   }
   if (w->dir->len >= CKPT_MAX_SECTIONS) {
      return fail(w, err, g_strdup_printf("%s: too many sections", w->path));
   }
   return true;
}

static char *
write_error(ckpt_file_writer *w, int e)
{
   return g_strdup_printf("cannot write %s: %s", w->path, g_strerror(e ? e : ENOSPC));
}

static void
add_dirent(ckpt_file_writer *w, const char *name, uint32_t kind, uint64_t off, uint64_t len,
           uint64_t sum)
{
   dirent_rec d = { .kind = kind, .off = off, .len = len, .sum = sum };
   g_strlcpy(d.name, name, sizeof d.name);
   g_array_append_val(w->dir, d);
}

bool
ckpt_file_add_section(ckpt_file_writer *w, const char *name, ckpt_file_kind kind,
                      const void *data, size_t len, char **err)
{
   if (failed(w, err) || !check_name(w, name, err)) {
      return false;
   }
   if (kind == CKPT_FILE_MEMORY) {
      return fail(w, err, g_strdup_printf("%s: section '%s': memory goes through "
                                          "ckpt_file_add_memory()", w->path, name));
   }
   if (len > CKPT_SECTION_MAX) {
      return fail(w, err, g_strdup_printf("%s: section '%s' is too large (%zu bytes)", w->path,
                                          name, len));
   }
   uint64_t off = ckpt_align_up(w->cursor, 8);
   if (len > 0 && ckpt_pwrite_all(w->fd, data, len, off) < 0) {
      return fail(w, err, write_error(w, errno));
   }
   add_dirent(w, name, kind, off, len, ckpt_sum(data, len));
   w->cursor = off + len;
   return true;
}

/* ---- memory ---------------------------------------------------------------- */

typedef struct mem_worker {
   uint8_t *buf;          /* compressed output */
   size_t buf_len;
   ZSTD_CCtx *zc;
} mem_worker;

typedef struct mem_job {
   ckpt_file_writer *w;
   const uint8_t *ram;
   uint64_t size;
   uint32_t cs;
   uint64_t raw_off;
   uint64_t packed_off;
   atomic_uint_fast64_t packed_len;
   uint8_t *table;        /* chunk table entries */
   mem_worker *workers;
} mem_job;

/* Write the non-zero pages of [p, p+len) at file offset off; zero pages
 * stay holes. */
static int
write_sparse(int fd, const uint8_t *p, size_t len, uint64_t off)
{
   size_t i = 0;
   while (i < len) {
      size_t n = len - i < CKPT_PAGE ? len - i : CKPT_PAGE;
      if (ckpt_is_zero(p + i, n)) {
         i += n;
         continue;
      }
      size_t start = i;
      i += n;
      while (i < len) {
         n = len - i < CKPT_PAGE ? len - i : CKPT_PAGE;
         if (ckpt_is_zero(p + i, n)) {
            break;
         }
         i += n;
      }
      if (ckpt_pwrite_all(fd, p + start, i - start, off + start) < 0) {
         return -1;
      }
   }
   return 0;
}

static bool
mem_chunk(void *ctx, unsigned wi, uint32_t i, uint64_t *bytes, char **err)
{
   mem_job *j = ctx;
   ckpt_file_writer *w = j->w;
   mem_worker *mw = &j->workers[wi];
   uint64_t start = (uint64_t)i * j->cs;
   size_t len = (size_t)(j->size - start < j->cs ? j->size - start : j->cs);
   const uint8_t *src = j->ram + start;
   uint8_t *e = j->table + (size_t)i * CKPT_CHUNK_ENTRY_SIZE;

   *bytes = len;
   memset(e, 0, CKPT_CHUNK_ENTRY_SIZE);
   if (ckpt_is_zero(src, len)) {
      e[0] = CKPT_CHUNK_ZERO;
      return true;
   }
   uint64_t sum = ckpt_sum(src, len);
   ckpt_le_put(e + 16, sum, 8);
   size_t limit = (size_t)((double)len * w->max_ratio);
   size_t clen = 0;
   if (w->compress == CKPT_CHUNK_LZ4 && limit > 0) {
      /* LZ4 gives up as soon as the output would pass the limit. */
      int r = LZ4_compress_default((const char *)src, (char *)mw->buf, (int)len, (int)limit);
      clen = r > 0 ? (size_t)r : 0;
   } else if (w->compress == CKPT_CHUNK_ZSTD && limit > 0) {
      size_t r = ZSTD_compressCCtx(mw->zc, mw->buf, limit, src, len, w->zstd_level);
      clen = ZSTD_isError(r) ? 0 : r;
   }
   if (clen > 0 && clen <= limit) {
      uint64_t at = j->packed_off + atomic_fetch_add(&j->packed_len, clen);
      if (ckpt_pwrite_all(w->fd, mw->buf, clen, at) < 0) {
         *err = write_error(w, errno);
         return false;
      }
      e[0] = (uint8_t)w->compress;
      ckpt_le_put(e + 4, clen, 4);
      ckpt_le_put(e + 8, at, 8);
      ckpt_le_put(e + 24, ckpt_sum(mw->buf, clen), 8);
      return true;
   }
   e[0] = CKPT_CHUNK_RAW;
   if (write_sparse(w->fd, src, len, j->raw_off + start) < 0) {
      *err = write_error(w, errno);
      return false;
   }
   return true;
}

bool
ckpt_file_add_memory(ckpt_file_writer *w, const char *name, const void *ram, uint64_t size,
                     ckpt_file_progress_fn progress, void *ud, char **err)
{
   if (failed(w, err) || !check_name(w, name, err)) {
      return false;
   }
   if (size == 0) {
      return fail(w, err, g_strdup_printf("%s: memory '%s' is empty", w->path, name));
   }
   uint32_t cs = w->chunk_size;
   while ((size + cs - 1) / cs > CKPT_MAX_CHUNKS && cs < CKPT_CHUNK_MAX) {
      cs *= 2;
   }
   uint64_t nchunks = (size + cs - 1) / cs;
   if (nchunks > CKPT_MAX_CHUNKS) {
      return fail(w, err, g_strdup_printf("%s: memory '%s' is too large (%llu bytes)", w->path,
                                          name, (unsigned long long)size));
   }
   mem_job j = {
      .w = w, .ram = ram, .size = size, .cs = cs,
      .raw_off = ckpt_align_up(w->cursor, CKPT_PAGE),
   };
   uint64_t raw_len = ckpt_align_up(size, CKPT_PAGE);
   j.packed_off = j.raw_off + raw_len;
   atomic_init(&j.packed_len, 0);
   size_t desc_len = CKPT_MEMDESC_SIZE + (size_t)nchunks * CKPT_CHUNK_ENTRY_SIZE;
   uint8_t *desc = g_malloc0(desc_len);
   j.table = desc + CKPT_MEMDESC_SIZE;

   unsigned threads = ckpt_pool_threads(w->threads, (uint32_t)nchunks);
   j.workers = g_new0(mem_worker, threads);
   bool ok = true;
   for (unsigned t = 0; t < threads && w->compress != CKPT_CHUNK_RAW; t++) {
      j.workers[t].buf_len = ckpt_compress_bound(w->compress, cs);
      j.workers[t].buf = g_try_malloc(j.workers[t].buf_len);
      if (w->compress == CKPT_CHUNK_ZSTD) {
         j.workers[t].zc = ZSTD_createCCtx();
      }
      if (!j.workers[t].buf || (w->compress == CKPT_CHUNK_ZSTD && !j.workers[t].zc)) {
         ok = false;
      }
   }
   char *msg = NULL;
   if (!ok) {
      msg = g_strdup_printf("%s: out of memory for the compression buffers", w->path);
   } else {
      ckpt_pool_job job = {
         .n = (uint32_t)nchunks, .threads = threads, .fn = mem_chunk, .ctx = &j,
         .total = size, .progress = progress, .ud = ud,
      };
      ok = ckpt_pool_run(&job, &msg);
   }
   for (unsigned t = 0; t < threads; t++) {
      g_free(j.workers[t].buf);
      ZSTD_freeCCtx(j.workers[t].zc);
   }
   g_free(j.workers);
   if (!ok) {
      g_free(desc);
      return fail(w, err, msg);
   }

   uint64_t packed_len = atomic_load(&j.packed_len);
   ckpt_le_put(desc + 0, size, 8);
   ckpt_le_put(desc + 8, cs, 4);
   ckpt_le_put(desc + 12, nchunks, 4);
   ckpt_le_put(desc + 16, j.raw_off, 8);
   ckpt_le_put(desc + 24, raw_len, 8);
   ckpt_le_put(desc + 32, packed_len ? j.packed_off : 0, 8);
   ckpt_le_put(desc + 40, packed_len, 8);
   ckpt_le_put(desc + 52, CKPT_MEMDESC_SIZE, 4);
   uint64_t desc_off = ckpt_align_up(j.packed_off + packed_len, 8);
   if (ckpt_pwrite_all(w->fd, desc, desc_len, desc_off) < 0) {
      g_free(desc);
      return fail(w, err, write_error(w, errno));
   }
   add_dirent(w, name, CKPT_FILE_MEMORY, desc_off, desc_len, ckpt_sum(desc, desc_len));
   g_free(desc);
   w->cursor = desc_off + desc_len;
   return true;
}

/* ---- commit ---------------------------------------------------------------- */

static void
writer_free(ckpt_file_writer *w)
{
   g_array_free(w->dir, TRUE);
   g_free(w->path);
   g_free(w->failed);
   g_free(w);
}

void
ckpt_file_abort(ckpt_file_writer *w)
{
   if (!w) {
      return;
   }
   vmws_atomicfile_abort(w->af);
   writer_free(w);
}

bool
ckpt_file_commit(ckpt_file_writer *w, char **err)
{
   if (failed(w, err)) {
      ckpt_file_abort(w);
      return false;
   }
   uint32_t n = w->dir->len;
   uint64_t dir_off = ckpt_align_up(w->cursor, 8);
   size_t dir_len = (size_t)n * CKPT_DIRENT_SIZE;
   uint8_t *dir = g_malloc0(dir_len ? dir_len : 1);
   for (uint32_t i = 0; i < n; i++) {
      const dirent_rec *d = &g_array_index(w->dir, dirent_rec, i);
      uint8_t *e = dir + (size_t)i * CKPT_DIRENT_SIZE;
      memcpy(e, d->name, strlen(d->name));
      ckpt_le_put(e + 32, d->kind, 4);
      ckpt_le_put(e + 40, d->off, 8);
      ckpt_le_put(e + 48, d->len, 8);
      ckpt_le_put(e + 56, d->sum, 8);
   }
   uint64_t file_size = dir_off + dir_len;
   uint8_t hdr[CKPT_HEADER_SIZE] = { 0 };
   memcpy(hdr, CKPT_MAGIC, 8);
   ckpt_le_put(hdr + 8, CKPT_FILE_MAJOR, 2);
   ckpt_le_put(hdr + 10, CKPT_FILE_MINOR, 2);
   ckpt_le_put(hdr + 12, CKPT_HEADER_SIZE, 4);
   ckpt_le_put(hdr + 20, n, 4);
   ckpt_le_put(hdr + 24, dir_off, 8);
   ckpt_le_put(hdr + 32, dir_len, 8);
   ckpt_le_put(hdr + 40, file_size, 8);
   XXH3_state_t *st = XXH3_createState();
   XXH3_64bits_reset(st);
   XXH3_64bits_update(st, hdr, sizeof hdr);
   XXH3_64bits_update(st, dir, dir_len);
   ckpt_le_put(hdr + CKPT_HDR_CHECKSUM_OFF, XXH3_64bits_digest(st), 8);
   XXH3_freeState(st);

   bool ok = (dir_len == 0 || ckpt_pwrite_all(w->fd, dir, dir_len, dir_off) == 0) &&
             ftruncate(w->fd, (off_t)file_size) == 0 &&
             ckpt_pwrite_all(w->fd, hdr, sizeof hdr, 0) == 0;
   g_free(dir);
   if (!ok) {
      *err = write_error(w, errno);
      ckpt_file_abort(w);
      return false;
   }
   vmws_atomicfile *af = w->af;
   w->af = NULL;
   writer_free(w);
   return vmws_atomicfile_commit(af, err) == 0;
}
