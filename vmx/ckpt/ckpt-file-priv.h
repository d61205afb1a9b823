/*
 * vmx/ckpt/ckpt-file-priv.h - what the checkpoint file's writer and reader
 * share: the on-disk layout constants (described in ckpt-file.h), byte
 * order helpers, I/O loops and the worker pool that scans, compresses and
 * decompresses memory chunks.
 */
#ifndef VMX_CKPT_FILE_PRIV_H
#define VMX_CKPT_FILE_PRIV_H

#include "vmx/ckpt/ckpt-file.h"

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define CKPT_MAGIC "VMWSCKPT"
#define CKPT_HEADER_SIZE 128u
#define CKPT_HEADER_MAX 4096u
#define CKPT_HDR_CHECKSUM_OFF 120u
#define CKPT_DIRENT_SIZE 64u
#define CKPT_MAX_SECTIONS 65536u
#define CKPT_MUST_FLAGS 0xffffu      /* flag bits a reader must understand */

#define CKPT_MEMDESC_SIZE 64u
#define CKPT_CHUNK_ENTRY_SIZE 32u
#define CKPT_MAX_CHUNKS (1u << 22)
#define CKPT_CHUNK_MIN 4096u
#define CKPT_CHUNK_MAX (64u << 20)
#define CKPT_CHUNK_DEFAULT (1u << 20)
#define CKPT_PAGE 4096u

/* STATE and CPU bodies are read into memory: a bound on what a file may
 * make us allocate for one. */
#define CKPT_SECTION_MAX (256u << 20)

enum { CKPT_CHUNK_ZERO = 0, CKPT_CHUNK_RAW = 1, CKPT_CHUNK_LZ4 = 2, CKPT_CHUNK_ZSTD = 3 };

static inline void
ckpt_le_put(uint8_t *p, uint64_t v, unsigned n)
{
   for (unsigned i = 0; i < n; i++) {
      p[i] = (uint8_t)(v >> (8 * i));
   }
}

static inline uint64_t
ckpt_le_get(const uint8_t *p, unsigned n)
{
   uint64_t v = 0;
   for (unsigned i = 0; i < n; i++) {
      v |= (uint64_t)p[i] << (8 * i);
   }
   return v;
}

static inline uint64_t
ckpt_align_up(uint64_t v, uint64_t a)
{
   return (v + a - 1) & ~(a - 1);
}

/* A section or region name: 1..31 of [A-Za-z0-9._-]. */
bool ckpt_name_valid(const char *s, size_t n);

/* XXH3-64. */
uint64_t ckpt_sum(const void *p, size_t n);

/* Whether n bytes at p are all zero. */
bool ckpt_is_zero(const void *p, size_t n);

/* Full pread/pwrite: 0, or -1 with errno (EIO-like short read: errno 0
 * means the file ended). */
int ckpt_pread_all(int fd, void *buf, size_t n, uint64_t off);
int ckpt_pwrite_all(int fd, const void *buf, size_t n, uint64_t off);

/* Worst-case compressed size of n bytes. */
size_t ckpt_compress_bound(int kind, size_t n);

/* Decompress one chunk of the given kind into exactly dst_len bytes.
 * dctx: the worker's zstd context (created on first use, freed by
 * ckpt_dctx_free). NULL and a reason on failure. */
const char *ckpt_decompress(int kind, void **dctx, const void *src, size_t src_len, void *dst,
                            size_t dst_len);
void ckpt_dctx_free(void *dctx);

/* ---- the worker pool ----------------------------------------------------
 * Calls fn(ctx, worker, i, &bytes, &err) for every i in [0, n), spread over
 * `threads` threads (worker is 0..threads-1, for per-worker buffers). bytes
 * is the progress that item made (of job.total). The calling thread reports
 * progress. The first failure stops the others; its message is returned. */
typedef bool (*ckpt_pool_fn)(void *ctx, unsigned worker, uint32_t i, uint64_t *bytes,
                             char **err);

typedef struct ckpt_pool_job {
   uint32_t n;
   unsigned threads;
   ckpt_pool_fn fn;
   void *ctx;
   uint64_t total;
   ckpt_file_progress_fn progress;
   void *ud;
} ckpt_pool_job;

/* The worker count to use for a request (0: online CPUs, at most 8),
 * never more than n items. */
unsigned ckpt_pool_threads(unsigned requested, uint32_t n);
bool ckpt_pool_run(const ckpt_pool_job *job, char **err);

#endif
