/*
 * vmx/ckpt/ckpt-file-reader.c - reading a checkpoint file (layout in
 * ckpt-file.h). Everything in the file is hostile: ckpt_file_open() checks
 * the whole structure before anything is handed out, and memory contents
 * are checked as they are decompressed.
 */
#include "vmx/ckpt/ckpt-file-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

typedef struct chunk {
   uint8_t kind;
   uint32_t stored;
   uint64_t off;
   uint64_t sum;          /* of the memory */
   uint64_t stored_sum;   /* of the compressed bytes */
} chunk;

typedef struct region {
   uint64_t size;
   uint32_t cs;
   uint32_t n;
   uint64_t raw_off, raw_len;
   uint64_t packed_off, packed_len;
   chunk *c;
} region;

typedef struct section {
   char name[CKPT_FILE_NAME_MAX + 1];
   uint32_t kind;
   uint64_t off, len, sum;
   uint8_t *body;        /* STATE, CPU */
   region *mem;          /* MEMORY */
} section;

struct ckpt_file {
   int fd;
   char *name;
   uint64_t size;
   unsigned minor;
   unsigned n;
   section *s;
};

/* Restore and verify: at most this many anonymous overlays (separate
 * mappings) over zero and compressed chunks in LAZY mode; past it the file
 * mapping stays under them. Keeps far below vm.max_map_count. */
#define MAX_OVERLAYS 4096u

static char *
ferr(const ckpt_file *f, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static char *
ferr(const ckpt_file *f, const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   char *m = g_strdup_vprintf(fmt, ap);
   va_end(ap);
   char *r = g_strdup_printf("%s: %s", f->name, m);
   g_free(m);
   return r;
}

static char *
io_err(const ckpt_file *f, int e, const char *what)
{
   if (e == 0) {
      return ferr(f, "truncated while reading %s", what);
   }
   return ferr(f, "cannot read %s: %s", what, g_strerror(e));
}

void
ckpt_file_close(ckpt_file *f)
{
   if (!f) {
      return;
   }
   for (unsigned i = 0; f->s && i < f->n; i++) {
      g_free(f->s[i].body);
      if (f->s[i].mem) {
         g_free(f->s[i].mem->c);
         g_free(f->s[i].mem);
      }
   }
   g_free(f->s);
   if (f->fd >= 0) {
      close(f->fd);
   }
   g_free(f->name);
   g_free(f);
}

/* ---- open: structure checks ------------------------------------------------ */

typedef struct extent {
   uint64_t off, len;
   char *what;
} extent;

static int
extent_cmp(const void *a, const void *b)
{
   const extent *x = a, *y = b;
   return x->off < y->off ? -1 : x->off > y->off ? 1 : 0;
}

/* off + len within the file, without overflow. */
static bool
in_file(const ckpt_file *f, uint64_t off, uint64_t len)
{
   return off <= f->size && len <= f->size - off;
}

static char *
parse_region(ckpt_file *f, section *s)
{
   const uint8_t *d = s->body;
   if (s->len < CKPT_MEMDESC_SIZE) {
      return ferr(f, "memory '%s': descriptor is %llu bytes, less than %u", s->name,
                  (unsigned long long)s->len, CKPT_MEMDESC_SIZE);
   }
   region *m = g_new0(region, 1);
   s->mem = m;
   m->size = ckpt_le_get(d + 0, 8);
   m->cs = (uint32_t)ckpt_le_get(d + 8, 4);
   m->n = (uint32_t)ckpt_le_get(d + 12, 4);
   m->raw_off = ckpt_le_get(d + 16, 8);
   m->raw_len = ckpt_le_get(d + 24, 8);
   m->packed_off = ckpt_le_get(d + 32, 8);
   m->packed_len = ckpt_le_get(d + 40, 8);
   uint32_t flags = (uint32_t)ckpt_le_get(d + 48, 4);
   uint32_t table = (uint32_t)ckpt_le_get(d + 52, 4);

   if (m->size == 0 || m->size > f->size) {
      return ferr(f, "memory '%s': size %llu does not fit in the file (%llu bytes)", s->name,
                  (unsigned long long)m->size, (unsigned long long)f->size);
   }
   if (m->cs < CKPT_CHUNK_MIN || m->cs > CKPT_CHUNK_MAX || (m->cs & (m->cs - 1))) {
      return ferr(f, "memory '%s': chunk size %u is not a power of two from 4 KiB to 64 MiB",
                  s->name, m->cs);
   }
   if (m->n != (m->size + m->cs - 1) / m->cs || m->n > CKPT_MAX_CHUNKS) {
      return ferr(f, "memory '%s': %u chunks of %u bytes do not make %llu bytes", s->name, m->n,
                  m->cs, (unsigned long long)m->size);
   }
   if (flags & CKPT_MUST_FLAGS) {
      return ferr(f, "memory '%s' uses features this build does not know (flags 0x%x)", s->name,
                  flags);
   }
   if (table < CKPT_MEMDESC_SIZE || table % 8 || table > s->len ||
       (s->len - table) / CKPT_CHUNK_ENTRY_SIZE < m->n) {
      return ferr(f, "memory '%s': the chunk table (at %u, %u entries) does not fit in the "
                  "descriptor (%llu bytes)", s->name, table, m->n, (unsigned long long)s->len);
   }
   if (m->raw_off % CKPT_PAGE || m->raw_len != ckpt_align_up(m->size, CKPT_PAGE)) {
      return ferr(f, "memory '%s': the memory image is at %llu, %llu bytes: not page-aligned "
                  "or not the region's size", s->name, (unsigned long long)m->raw_off,
                  (unsigned long long)m->raw_len);
   }
   if (!in_file(f, m->raw_off, m->raw_len)) {
      return ferr(f, "truncated: the memory image of '%s' ends at byte %llu but the file has %llu",
                  s->name, (unsigned long long)(m->raw_off + m->raw_len),
                  (unsigned long long)f->size);
   }
   if (m->packed_len == 0 ? m->packed_off != 0 : !in_file(f, m->packed_off, m->packed_len)) {
      return ferr(f, "memory '%s': the compressed area (%llu bytes at %llu) is not in the file "
                  "(%llu bytes)", s->name, (unsigned long long)m->packed_len,
                  (unsigned long long)m->packed_off, (unsigned long long)f->size);
   }

   m->c = g_new0(chunk, m->n ? m->n : 1);
   extent *ex = g_new(extent, m->n ? m->n : 1);
   uint32_t nex = 0;
   char *msg = NULL;
   for (uint32_t i = 0; i < m->n && !msg; i++) {
      const uint8_t *e = d + table + (size_t)i * CKPT_CHUNK_ENTRY_SIZE;
      chunk *c = &m->c[i];
      uint64_t clen = m->size - (uint64_t)i * m->cs < m->cs ? m->size - (uint64_t)i * m->cs
                                                            : m->cs;
      c->kind = e[0];
      c->stored = (uint32_t)ckpt_le_get(e + 4, 4);
      c->off = ckpt_le_get(e + 8, 8);
      c->sum = ckpt_le_get(e + 16, 8);
      c->stored_sum = ckpt_le_get(e + 24, 8);
      if (e[1] || e[2] || e[3]) {
         msg = ferr(f, "memory '%s': chunk %u has reserved bits set", s->name, i);
      } else if (c->kind > CKPT_CHUNK_ZSTD) {
         msg = ferr(f, "memory '%s': chunk %u has unknown kind %u", s->name, i, c->kind);
      } else if (c->kind <= CKPT_CHUNK_RAW) {
         if (c->stored || c->off || c->stored_sum) {
            msg = ferr(f, "memory '%s': chunk %u is %s but has stored data", s->name, i,
                       c->kind == CKPT_CHUNK_ZERO ? "zero" : "raw");
         }
      } else if (c->stored == 0 || c->stored > ckpt_compress_bound(c->kind, clen)) {
         msg = ferr(f, "memory '%s': chunk %u has a bad compressed length %u", s->name, i,
                    c->stored);
      } else if (c->off < m->packed_off || c->off - m->packed_off > m->packed_len ||
                 c->stored > m->packed_len - (c->off - m->packed_off)) {
         msg = ferr(f, "memory '%s': chunk %u (%u bytes at %llu) is outside the compressed area",
                    s->name, i, c->stored, (unsigned long long)c->off);
      } else {
         ex[nex++] = (extent){ c->off, c->stored, GUINT_TO_POINTER(i) };
      }
   }
   if (!msg && nex > 1) {
      qsort(ex, nex, sizeof *ex, extent_cmp);
      for (uint32_t i = 1; i < nex && !msg; i++) {
         if (ex[i].off < ex[i - 1].off + ex[i - 1].len) {
            msg = ferr(f, "memory '%s': chunks %u and %u overlap", s->name,
                       GPOINTER_TO_UINT(ex[i - 1].what), GPOINTER_TO_UINT(ex[i].what));
         }
      }
   }
   g_free(ex);
   return msg;
}

/* Checksum of a section we do not keep: read in pieces. */
static char *
sum_streamed(ckpt_file *f, const section *s, uint64_t *sum)
{
   XXH3_state_t *st = XXH3_createState();
   size_t bl = 1u << 20;
   uint8_t *buf = g_malloc(bl);
   char *msg = NULL;
   XXH3_64bits_reset(st);
   for (uint64_t done = 0; done < s->len;) {
      size_t n = s->len - done < bl ? (size_t)(s->len - done) : bl;
      if (ckpt_pread_all(f->fd, buf, n, s->off + done) < 0) {
         msg = io_err(f, errno, "a section");
         break;
      }
      XXH3_64bits_update(st, buf, n);
      done += n;
   }
   *sum = XXH3_64bits_digest(st);
   XXH3_freeState(st);
   g_free(buf);
   return msg;
}

static char *
load_sections(ckpt_file *f)
{
   for (unsigned i = 0; i < f->n; i++) {
      section *s = &f->s[i];
      bool keep = s->kind == CKPT_FILE_STATE || s->kind == CKPT_FILE_CPU ||
                  s->kind == CKPT_FILE_MEMORY;
      uint64_t sum;
      if (keep) {
         uint64_t max = s->kind == CKPT_FILE_MEMORY
                           ? CKPT_MEMDESC_SIZE + (uint64_t)CKPT_MAX_CHUNKS * CKPT_CHUNK_ENTRY_SIZE
                           : CKPT_SECTION_MAX;
         if (s->len > max) {
            return ferr(f, "section '%s' is too large (%llu bytes)", s->name,
                        (unsigned long long)s->len);
         }
         s->body = g_try_malloc(s->len ? s->len : 1);
         if (!s->body) {
            return ferr(f, "out of memory for section '%s'", s->name);
         }
         if (s->len && ckpt_pread_all(f->fd, s->body, s->len, s->off) < 0) {
            return io_err(f, errno, "a section");
         }
         sum = ckpt_sum(s->body, s->len);
      } else {
         char *msg = sum_streamed(f, s, &sum);
         if (msg) {
            return msg;
         }
      }
      if (sum != s->sum) {
         return ferr(f, "section '%s' checksum mismatch", s->name);
      }
      if (s->kind == CKPT_FILE_MEMORY) {
         char *msg = parse_region(f, s);
         if (msg) {
            return msg;
         }
         /* The chunk table is parsed; the descriptor bytes are not needed. */
         g_clear_pointer(&s->body, g_free);
      }
   }
   return NULL;
}

static char *
check_overlaps(ckpt_file *f, uint32_t hsize, uint64_t dir_off, uint64_t dir_len)
{
   GArray *ex = g_array_new(FALSE, FALSE, sizeof(extent));
   extent e = { 0, hsize, g_strdup("the header") };
   g_array_append_val(ex, e);
   if (dir_len) {
      e = (extent){ dir_off, dir_len, g_strdup("the directory") };
      g_array_append_val(ex, e);
   }
   for (unsigned i = 0; i < f->n; i++) {
      const section *s = &f->s[i];
      if (s->len) {
         e = (extent){ s->off, s->len, g_strdup_printf("section '%s'", s->name) };
         g_array_append_val(ex, e);
      }
      if (s->mem) {
         e = (extent){ s->mem->raw_off, s->mem->raw_len,
                       g_strdup_printf("the memory image of '%s'", s->name) };
         g_array_append_val(ex, e);
         if (s->mem->packed_len) {
            e = (extent){ s->mem->packed_off, s->mem->packed_len,
                          g_strdup_printf("the compressed memory of '%s'", s->name) };
            g_array_append_val(ex, e);
         }
      }
   }
   qsort(ex->data, ex->len, sizeof(extent), extent_cmp);
   char *msg = NULL;
   for (guint i = 1; i < ex->len && !msg; i++) {
      const extent *a = &g_array_index(ex, extent, i - 1), *b = &g_array_index(ex, extent, i);
      if (b->off < a->off + a->len) {
         msg = ferr(f, "%s overlaps %s", a->what, b->what);
      }
   }
   for (guint i = 0; i < ex->len; i++) {
      g_free(g_array_index(ex, extent, i).what);
   }
   g_array_free(ex, TRUE);
   return msg;
}

static char *
parse_dir(ckpt_file *f, const uint8_t *dir, uint32_t hsize)
{
   f->s = g_new0(section, f->n ? f->n : 1);
   for (unsigned i = 0; i < f->n; i++) {
      const uint8_t *e = dir + (size_t)i * CKPT_DIRENT_SIZE;
      section *s = &f->s[i];
      size_t nl = strnlen((const char *)e, 32);
      if (nl > CKPT_FILE_NAME_MAX || !ckpt_name_valid((const char *)e, nl) ||
          !ckpt_is_zero(e + nl, 32 - nl)) {
         return ferr(f, "directory entry %u has a bad name", i);
      }
      memcpy(s->name, e, nl);
      s->kind = (uint32_t)ckpt_le_get(e + 32, 4);
      uint32_t flags = (uint32_t)ckpt_le_get(e + 36, 4);
      s->off = ckpt_le_get(e + 40, 8);
      s->len = ckpt_le_get(e + 48, 8);
      s->sum = ckpt_le_get(e + 56, 8);
      for (unsigned k = 0; k < i; k++) {
         if (strcmp(f->s[k].name, s->name) == 0) {
            return ferr(f, "two sections named '%s'", s->name);
         }
      }
      if (flags & CKPT_MUST_FLAGS) {
         return ferr(f, "section '%s' uses features this build does not know (flags 0x%x)",
                     s->name, flags);
      }
      if (s->off < hsize) {
         return ferr(f, "section '%s' (at %llu) overlaps the header (%u bytes)", s->name,
                     (unsigned long long)s->off, hsize);
      }
      if (!in_file(f, s->off, s->len)) {
         return ferr(f, "section '%s' (%llu bytes at %llu) is not in the file (%llu bytes)",
                     s->name, (unsigned long long)s->len, (unsigned long long)s->off,
                     (unsigned long long)f->size);
      }
   }
   return NULL;
}

ckpt_file *
ckpt_file_open_fd(int fd, const char *name, char **err)
{
   ckpt_file *f = g_new0(ckpt_file, 1);
   struct stat st;
   uint8_t *hdr = NULL, *dir = NULL;
   char *msg = NULL;

   f->name = g_strdup(name);
   f->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
   if (f->fd < 0 || fstat(f->fd, &st) < 0) {
      msg = ferr(f, "%s", g_strerror(errno));
      goto out;
   }
   if (!S_ISREG(st.st_mode)) {
      msg = ferr(f, "not a regular file");
      goto out;
   }
   f->size = (uint64_t)st.st_size;
   hdr = g_malloc0(CKPT_HEADER_MAX);
   if (f->size < 8 || ckpt_pread_all(f->fd, hdr, 8, 0) < 0 || memcmp(hdr, CKPT_MAGIC, 8) != 0) {
      msg = ferr(f, "not a vmws checkpoint file");
      goto out;
   }
   if (f->size < CKPT_HEADER_SIZE) {
      msg = ferr(f, "truncated: the file has %llu bytes, less than a header",
                 (unsigned long long)f->size);
      goto out;
   }
   if (ckpt_pread_all(f->fd, hdr, CKPT_HEADER_SIZE, 0) < 0) {
      msg = io_err(f, errno, "the header");
      goto out;
   }
   unsigned major = (unsigned)ckpt_le_get(hdr + 8, 2);
   f->minor = (unsigned)ckpt_le_get(hdr + 10, 2);
   if (major > CKPT_FILE_MAJOR) {
      msg = ferr(f, "checkpoint format %u.%u is newer than this build reads (%u.x); "
                 "use a newer vmws", major, f->minor, CKPT_FILE_MAJOR);
      goto out;
   }
   if (major != CKPT_FILE_MAJOR) {
      msg = ferr(f, "unknown checkpoint format %u.%u", major, f->minor);
      goto out;
   }
   uint32_t hsize = (uint32_t)ckpt_le_get(hdr + 12, 4);
   uint32_t flags = (uint32_t)ckpt_le_get(hdr + 16, 4);
   f->n = (unsigned)ckpt_le_get(hdr + 20, 4);
   uint64_t dir_off = ckpt_le_get(hdr + 24, 8);
   uint64_t dir_len = ckpt_le_get(hdr + 32, 8);
   uint64_t want_size = ckpt_le_get(hdr + 40, 8);
   uint64_t hsum = ckpt_le_get(hdr + CKPT_HDR_CHECKSUM_OFF, 8);
   if (hsize < CKPT_HEADER_SIZE || hsize > CKPT_HEADER_MAX) {
      msg = ferr(f, "corrupt header: header size %u", hsize);
      goto out;
   }
   if (f->n > CKPT_MAX_SECTIONS || dir_len != (uint64_t)f->n * CKPT_DIRENT_SIZE ||
       dir_off % 8 || dir_off < hsize) {
      msg = ferr(f, "corrupt header: %u sections, directory of %llu bytes at %llu", f->n,
                 (unsigned long long)dir_len, (unsigned long long)dir_off);
      goto out;
   }
   if (!in_file(f, 0, hsize) || !in_file(f, dir_off, dir_len)) {
      if (want_size > f->size) {
         msg = ferr(f, "truncated: the file has %llu bytes, its header says %llu",
                    (unsigned long long)f->size, (unsigned long long)want_size);
      } else {
         msg = ferr(f, "corrupt header: the directory (%llu bytes at %llu) is not in the file "
                    "(%llu bytes)", (unsigned long long)dir_len, (unsigned long long)dir_off,
                    (unsigned long long)f->size);
      }
      goto out;
   }
   if (hsize > CKPT_HEADER_SIZE &&
       ckpt_pread_all(f->fd, hdr + CKPT_HEADER_SIZE, hsize - CKPT_HEADER_SIZE,
                      CKPT_HEADER_SIZE) < 0) {
      msg = io_err(f, errno, "the header");
      goto out;
   }
   dir = g_malloc(dir_len ? dir_len : 1);
   if (dir_len && ckpt_pread_all(f->fd, dir, dir_len, dir_off) < 0) {
      msg = io_err(f, errno, "the directory");
      goto out;
   }
   memset(hdr + CKPT_HDR_CHECKSUM_OFF, 0, 8);
   XXH3_state_t *xs = XXH3_createState();
   XXH3_64bits_reset(xs);
   XXH3_64bits_update(xs, hdr, hsize);
   XXH3_64bits_update(xs, dir, dir_len);
   uint64_t sum = XXH3_64bits_digest(xs);
   XXH3_freeState(xs);
   if (sum != hsum) {
      msg = want_size > f->size
               ? ferr(f, "truncated: the file has %llu bytes, its header says %llu",
                      (unsigned long long)f->size, (unsigned long long)want_size)
               : ferr(f, "header checksum mismatch");
      goto out;
   }
   if (want_size != f->size) {
      msg = want_size > f->size
               ? ferr(f, "truncated: the file has %llu bytes, its header says %llu",
                      (unsigned long long)f->size, (unsigned long long)want_size)
               : ferr(f, "the file has %llu bytes, its header says %llu: data after the end",
                      (unsigned long long)f->size, (unsigned long long)want_size);
      goto out;
   }
   if (flags & CKPT_MUST_FLAGS) {
      msg = ferr(f, "the file uses features this build does not know (flags 0x%x)", flags);
      goto out;
   }
   if ((msg = parse_dir(f, dir, hsize)) || (msg = load_sections(f)) ||
       (msg = check_overlaps(f, hsize, dir_off, dir_len))) {
      goto out;
   }
out:
   g_free(hdr);
   g_free(dir);
   if (msg) {
      *err = msg;
      ckpt_file_close(f);
      return NULL;
   }
   return f;
}

ckpt_file *
ckpt_file_open(const char *path, char **err)
{
   int fd = open(path, O_RDONLY | O_CLOEXEC);
   if (fd < 0) {
      *err = g_strdup_printf("%s: %s", path, g_strerror(errno));
      return NULL;
   }
   ckpt_file *f = ckpt_file_open_fd(fd, path, err);
   close(fd);
   return f;
}

/* ---- lookups --------------------------------------------------------------- */

unsigned
ckpt_file_minor(const ckpt_file *f)
{
   return f->minor;
}

unsigned
ckpt_file_n_sections(const ckpt_file *f)
{
   return f->n;
}

bool
ckpt_file_section_at(const ckpt_file *f, unsigned i, ckpt_file_section_info *info)
{
   if (i >= f->n) {
      return false;
   }
   info->name = f->s[i].name;
   info->kind = f->s[i].kind;
   info->length = f->s[i].len;
   return true;
}

static const section *
find(const ckpt_file *f, const char *name, uint32_t kind)
{
   for (unsigned i = 0; i < f->n; i++) {
      if (f->s[i].kind == kind && strcmp(f->s[i].name, name) == 0) {
         return &f->s[i];
      }
   }
   return NULL;
}

const void *
ckpt_file_section(const ckpt_file *f, const char *name, ckpt_file_kind kind, size_t *len)
{
   if (kind != CKPT_FILE_STATE && kind != CKPT_FILE_CPU) {
      return NULL;
   }
   const section *s = find(f, name, kind);
   if (!s) {
      return NULL;
   }
   *len = (size_t)s->len;
   return s->body;
}

bool
ckpt_file_memory(const ckpt_file *f, const char *name, ckpt_file_memory_info *info)
{
   const section *s = find(f, name, CKPT_FILE_MEMORY);
   if (!s) {
      return false;
   }
   const region *m = s->mem;
   memset(info, 0, sizeof *info);
   info->size = m->size;
   info->chunk_size = m->cs;
   info->chunks = m->n;
   for (uint32_t i = 0; i < m->n; i++) {
      switch (m->c[i].kind) {
      case CKPT_CHUNK_ZERO: info->zero_chunks++; break;
      case CKPT_CHUNK_RAW: info->raw_chunks++; break;
      case CKPT_CHUNK_LZ4: info->lz4_chunks++; break;
      default: info->zstd_chunks++; break;
      }
      info->packed_bytes += m->c[i].stored;
   }
   return true;
}

/* ---- memory: restore and verify --------------------------------------------- */

typedef struct mem_worker {
   uint8_t *packed;       /* compressed bytes read */
   uint8_t *buf;          /* verify: a chunk's memory */
   void *dctx;
} mem_worker;

typedef struct mem_job {
   ckpt_file *f;
   const char *name;
   const region *m;
   uint8_t *ram;          /* restore target, NULL for verify */
   bool lazy;             /* raw area mapped: only compressed chunks and the tail */
   uint64_t mapped;       /* lazy: bytes [0, mapped) come from the mapping */
   mem_worker *workers;
} mem_job;

static char *
chunk_err(const mem_job *j, uint32_t i, const char *what)
{
   uint64_t start = (uint64_t)i * j->m->cs;
   return ferr(j->f, "memory '%s' chunk %u (bytes 0x%llx..0x%llx): %s", j->name, i,
               (unsigned long long)start,
               (unsigned long long)(start + (j->m->size - start < j->m->cs ? j->m->size - start
                                                                            : j->m->cs)),
               what);
}

/* Decompress chunk i into dst and check it. */
static bool
unpack(mem_job *j, mem_worker *mw, uint32_t i, uint8_t *dst, size_t len, char **err)
{
   const chunk *c = &j->m->c[i];
   if (ckpt_pread_all(j->f->fd, mw->packed, c->stored, c->off) < 0) {
      *err = io_err(j->f, errno, "compressed memory");
      return false;
   }
   if (ckpt_sum(mw->packed, c->stored) != c->stored_sum) {
      *err = chunk_err(j, i, "compressed data checksum mismatch");
      return false;
   }
   const char *why = ckpt_decompress(c->kind, &mw->dctx, mw->packed, c->stored, dst, len);
   if (why) {
      *err = chunk_err(j, i, why);
      return false;
   }
   if (ckpt_sum(dst, len) != c->sum) {
      *err = chunk_err(j, i, "checksum mismatch");
      return false;
   }
   return true;
}

static bool
restore_chunk(void *ctx, unsigned wi, uint32_t i, uint64_t *bytes, char **err)
{
   mem_job *j = ctx;
   const chunk *c = &j->m->c[i];
   mem_worker *mw = &j->workers[wi];
   uint64_t start = (uint64_t)i * j->m->cs;
   size_t len = (size_t)(j->m->size - start < j->m->cs ? j->m->size - start : j->m->cs);
   uint8_t *dst = j->ram + start;

   if (c->kind >= CKPT_CHUNK_LZ4) {
      *bytes = len;
#ifdef MADV_POPULATE_WRITE
      /* Fresh anonymous memory: allocate the chunk's pages in one call
       * rather than one fault per page while decompressing. Only a hint. */
      if (j->lazy && start + len <= j->mapped) {
         madvise(dst, len, MADV_POPULATE_WRITE);
      }
#endif
      return unpack(j, mw, i, dst, len, err);
   }
   /* Zero and raw chunks: in LAZY mode only the part past the mapping. */
   size_t skip = 0;
   if (j->lazy) {
      skip = start >= j->mapped ? 0 : j->mapped - start >= len ? len : (size_t)(j->mapped - start);
   }
   if (skip == len) {
      return true;
   }
   *bytes = len - skip;
   if (c->kind == CKPT_CHUNK_ZERO) {
      memset(dst + skip, 0, len - skip);
      return true;
   }
   if (ckpt_pread_all(j->f->fd, dst + skip, len - skip, j->m->raw_off + start + skip) < 0) {
      *err = io_err(j->f, errno, "the memory image");
      return false;
   }
   if (skip == 0 && ckpt_sum(dst, len) != c->sum) {
      *err = chunk_err(j, i, "checksum mismatch");
      return false;
   }
   return true;
}

static bool
verify_chunk(void *ctx, unsigned wi, uint32_t i, uint64_t *bytes, char **err)
{
   mem_job *j = ctx;
   const chunk *c = &j->m->c[i];
   mem_worker *mw = &j->workers[wi];
   uint64_t start = (uint64_t)i * j->m->cs;
   size_t len = (size_t)(j->m->size - start < j->m->cs ? j->m->size - start : j->m->cs);

   *bytes = len;
   /* The image: the chunk's bytes if raw, else a hole (zero chunks must
    * read zero from it in LAZY mode; compressed ones are checked too, so
    * that every byte of a file is accounted for). */
   if (ckpt_pread_all(j->f->fd, mw->buf, len, j->m->raw_off + start) < 0) {
      *err = io_err(j->f, errno, "the memory image");
      return false;
   }
   if (c->kind == CKPT_CHUNK_RAW) {
      if (ckpt_sum(mw->buf, len) != c->sum) {
         *err = chunk_err(j, i, "checksum mismatch");
         return false;
      }
      return true;
   }
   if (!ckpt_is_zero(mw->buf, len)) {
      *err = chunk_err(j, i, c->kind == CKPT_CHUNK_ZERO
                                ? "marked zero but the file has data there"
                                : "compressed, but the file has data in its place in the image");
      return false;
   }
   if (c->kind >= CKPT_CHUNK_LZ4) {
      return unpack(j, mw, i, mw->buf, len, err);
   }
   return true;
}

static bool
run_chunks(mem_job *j, ckpt_pool_fn fn, bool need_buf, uint64_t total,
           ckpt_file_progress_fn progress, void *ud, char **err)
{
   const region *m = j->m;
   unsigned threads = ckpt_pool_threads(0, m->n);
   size_t packed_max = 0;
   for (uint32_t i = 0; i < m->n; i++) {
      if (m->c[i].stored > packed_max) {
         packed_max = m->c[i].stored;
      }
   }
   j->workers = g_new0(mem_worker, threads);
   bool ok = true;
   for (unsigned t = 0; t < threads; t++) {
      if (packed_max && !(j->workers[t].packed = g_try_malloc(packed_max))) {
         ok = false;
      }
      if (need_buf && !(j->workers[t].buf = g_try_malloc(m->cs))) {
         ok = false;
      }
   }
   char *msg = NULL;
   if (!ok) {
      msg = ferr(j->f, "out of memory for the memory buffers");
   } else {
      ckpt_pool_job job = {
         .n = m->n, .threads = threads, .fn = fn, .ctx = j,
         .total = total, .progress = progress, .ud = ud,
      };
      ok = ckpt_pool_run(&job, &msg);
   }
   for (unsigned t = 0; t < threads; t++) {
      g_free(j->workers[t].packed);
      g_free(j->workers[t].buf);
      ckpt_dctx_free(j->workers[t].dctx);
   }
   g_free(j->workers);
   if (!ok) {
      *err = msg;
   }
   return ok;
}

/* LAZY: the raw area over [ram, ram + mapped), then anonymous memory over
 * runs of zero and compressed chunks. The file is mapped at an address of
 * the kernel's choice first and moved over ram with mremap(), so a file
 * system that cannot map leaves ram as it was. */
static bool
map_lazy(mem_job *j, uint8_t *ram, uint64_t mapped)
{
   const region *m = j->m;
   void *p = mmap(NULL, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, j->f->fd,
                  (off_t)m->raw_off);
   if (p == MAP_FAILED) {
      return false;
   }
   if (mremap(p, mapped, mapped, MREMAP_MAYMOVE | MREMAP_FIXED, ram) == MAP_FAILED) {
      munmap(p, mapped);
      return false;
   }
   /* Count the runs first: past MAX_OVERLAYS, leave the file mapping. */
   unsigned runs = 0;
   for (uint32_t i = 0; i < m->n; i++) {
      if (m->c[i].kind != CKPT_CHUNK_RAW && (i == 0 || m->c[i - 1].kind == CKPT_CHUNK_RAW)) {
         runs++;
      }
   }
   if (runs > MAX_OVERLAYS) {
      return true;
   }
   for (uint32_t i = 0; i < m->n;) {
      if (m->c[i].kind == CKPT_CHUNK_RAW) {
         i++;
         continue;
      }
      uint32_t k = i;
      while (k < m->n && m->c[k].kind != CKPT_CHUNK_RAW) {
         k++;
      }
      uint64_t a = (uint64_t)i * m->cs;
      uint64_t b = (uint64_t)k * m->cs;
      if (b > mapped) {
         b = mapped;
      }
      if (b > a) {
         /* Failure only leaves the file mapping there, which is correct too. */
         mmap(ram + a, b - a, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
      }
      i = k;
   }
   return true;
}

bool
ckpt_file_restore_memory(ckpt_file *f, const char *name, void *ram, uint64_t size,
                         ckpt_file_restore_mode mode, ckpt_file_progress_fn progress, void *ud,
                         char **err)
{
   const section *s = find(f, name, CKPT_FILE_MEMORY);
   if (!s) {
      *err = ferr(f, "no memory '%s' in the checkpoint", name);
      return false;
   }
   const region *m = s->mem;
   if (size != m->size) {
      *err = ferr(f, "memory '%s' is %llu bytes in the checkpoint but %llu in the VM", name,
                  (unsigned long long)m->size, (unsigned long long)size);
      return false;
   }
   mem_job j = { .f = f, .name = name, .m = m, .ram = ram };
   uint64_t full = size & ~(uint64_t)(CKPT_PAGE - 1);
   if (mode == CKPT_FILE_RESTORE_LAZY && ((uintptr_t)ram % CKPT_PAGE) == 0 && full > 0 &&
       map_lazy(&j, ram, full)) {
      j.lazy = true;
      j.mapped = full;
   }
   uint64_t total = 0;
   for (uint32_t i = 0; i < m->n; i++) {
      uint64_t start = (uint64_t)i * m->cs;
      uint64_t len = size - start < m->cs ? size - start : m->cs;
      if (!j.lazy || m->c[i].kind >= CKPT_CHUNK_LZ4) {
         total += len;
      } else if (start + len > j.mapped) {
         total += start + len - (start > j.mapped ? start : j.mapped);
      }
   }
   return run_chunks(&j, restore_chunk, false, total, progress, ud, err);
}

/* Progress of one region inside a verify of all. */
typedef struct verify_progress {
   ckpt_file_progress_fn fn;
   void *ud;
   uint64_t base, total;
} verify_progress;

static void
verify_progress_cb(void *ud, uint64_t done, uint64_t total)
{
   const verify_progress *v = ud;
   (void)total;
   v->fn(v->ud, v->base + done, v->total);
}

bool
ckpt_file_verify(ckpt_file *f, ckpt_file_progress_fn progress, void *ud, char **err)
{
   verify_progress vp = { .fn = progress, .ud = ud };
   for (unsigned i = 0; i < f->n; i++) {
      if (f->s[i].mem) {
         vp.total += f->s[i].mem->size;
      }
   }
   for (unsigned i = 0; i < f->n; i++) {
      if (!f->s[i].mem) {
         continue;
      }
      mem_job j = { .f = f, .name = f->s[i].name, .m = f->s[i].mem };
      if (!run_chunks(&j, verify_chunk, true, j.m->size, progress ? verify_progress_cb : NULL,
                      &vp, err)) {
         return false;
      }
      vp.base += j.m->size;
   }
   if (progress && vp.total == 0) {
      progress(ud, 0, 0);
   }
   return true;
}
