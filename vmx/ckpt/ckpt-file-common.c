/*
 * vmx/ckpt/ckpt-file-common.c - helpers shared by the checkpoint file's
 * writer and reader (see ckpt-file-priv.h).
 */
#include "vmx/ckpt/ckpt-file-priv.h"

#include <errno.h>
#include <lz4.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>
#include <zstd_errors.h>

bool
ckpt_name_valid(const char *s, size_t n)
{
   if (n == 0 || n > CKPT_FILE_NAME_MAX) {
      return false;
   }
   for (size_t i = 0; i < n; i++) {
      char c = s[i];
      if (!g_ascii_isalnum(c) && c != '.' && c != '_' && c != '-') {
         return false;
      }
   }
   return true;
}

uint64_t
ckpt_sum(const void *p, size_t n)
{
   return XXH3_64bits(p, n);
}

bool
ckpt_is_zero(const void *p, size_t n)
{
   const uint8_t *b = p;
   size_t i = 0;
   /* 64 bytes at a time, OR-ed together (the compiler vectorizes it). */
   for (; i + 64 <= n; i += 64) {
      uint64_t w[8];
      memcpy(w, b + i, 64);
      if ((w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) != 0) {
         return false;
      }
   }
   for (; i < n; i++) {
      if (b[i]) {
         return false;
      }
   }
   return true;
}

int
ckpt_pread_all(int fd, void *buf, size_t n, uint64_t off)
{
   uint8_t *p = buf;
   while (n > 0) {
      ssize_t r = pread(fd, p, n, (off_t)off);
      if (r < 0 && errno == EINTR) {
         continue;
      }
      if (r < 0) {
         return -1;
      }
      if (r == 0) {
         errno = 0;
         return -1;
      }
      p += r;
      n -= (size_t)r;
      off += (uint64_t)r;
   }
   return 0;
}

int
ckpt_pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
   const uint8_t *p = buf;
   while (n > 0) {
      ssize_t r = pwrite(fd, p, n, (off_t)off);
      if (r < 0 && errno == EINTR) {
         continue;
      }
      if (r < 0) {
         return -1;
      }
      if (r == 0) {
         errno = ENOSPC;
         return -1;
      }
      p += r;
      n -= (size_t)r;
      off += (uint64_t)r;
   }
   return 0;
}

size_t
ckpt_compress_bound(int kind, size_t n)
{
   switch (kind) {
   case CKPT_CHUNK_LZ4:
      return (size_t)LZ4_compressBound((int)n);
   case CKPT_CHUNK_ZSTD:
      return ZSTD_compressBound(n);
   default:
      return n;
   }
}

const char *
ckpt_decompress(int kind, void **dctx, const void *src, size_t src_len, void *dst, size_t dst_len)
{
   if (kind == CKPT_CHUNK_LZ4) {
      if (src_len > INT32_MAX || dst_len > INT32_MAX) {
         return "LZ4 block too large";
      }
      int r = LZ4_decompress_safe(src, dst, (int)src_len, (int)dst_len);
      if (r < 0) {
         return "LZ4 data is corrupt";
      }
      if ((size_t)r != dst_len) {
         return "LZ4 data decompresses to the wrong size";
      }
      return NULL;
   }
   if (kind == CKPT_CHUNK_ZSTD) {
      if (!*dctx) {
         *dctx = ZSTD_createDCtx();
         if (!*dctx) {
            return "out of memory for zstd";
         }
      }
      size_t r = ZSTD_decompressDCtx(*dctx, dst, dst_len, src, src_len);
      if (ZSTD_isError(r)) {
         return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall
                   ? "zstd data decompresses to the wrong size"
                   : "zstd data is corrupt";
      }
      if (r != dst_len) {
         return "zstd data decompresses to the wrong size";
      }
      return NULL;
   }
   return "not a compressed chunk";
}

void
ckpt_dctx_free(void *dctx)
{
   ZSTD_freeDCtx(dctx);
}

const char *
ckpt_file_compress_name(ckpt_file_compress c)
{
   switch (c) {
   case CKPT_FILE_COMPRESS_NONE: return "none";
   case CKPT_FILE_COMPRESS_ZSTD: return "zstd";
   default: return "lz4";
   }
}

bool
ckpt_file_compress_parse(const char *s, ckpt_file_compress *c)
{
   if (strcmp(s, "none") == 0) {
      *c = CKPT_FILE_COMPRESS_NONE;
   } else if (strcmp(s, "lz4") == 0) {
      *c = CKPT_FILE_COMPRESS_LZ4;
   } else if (strcmp(s, "zstd") == 0) {
      *c = CKPT_FILE_COMPRESS_ZSTD;
   } else {
      return false;
   }
   return true;
}

/* ---- the worker pool ---------------------------------------------------- */

typedef struct pool {
   const ckpt_pool_job *job;
   atomic_uint next;
   atomic_uint_fast64_t done;
   atomic_bool stop;
   pthread_mutex_t lock;
   pthread_cond_t cond;
   unsigned running;
   char *err;
} pool;

typedef struct pool_worker {
   pool *p;
   unsigned index;
} pool_worker;

static void
pool_work(pool *p, unsigned worker)
{
   const ckpt_pool_job *job = p->job;
   while (!atomic_load(&p->stop)) {
      uint32_t i = atomic_fetch_add(&p->next, 1);
      if (i >= job->n) {
         break;
      }
      uint64_t bytes = 0;
      char *err = NULL;
      if (!job->fn(job->ctx, worker, i, &bytes, &err)) {
         pthread_mutex_lock(&p->lock);
         if (!p->err) {
            p->err = err ? err : g_strdup("failed");
         } else {
            g_free(err);
         }
         pthread_mutex_unlock(&p->lock);
         atomic_store(&p->stop, true);
         break;
      }
      atomic_fetch_add(&p->done, bytes);
   }
}

static void *
pool_thread(void *arg)
{
   pool_worker *w = arg;
   pool *p = w->p;
   pool_work(p, w->index);
   pthread_mutex_lock(&p->lock);
   p->running--;
   pthread_cond_signal(&p->cond);
   pthread_mutex_unlock(&p->lock);
   return NULL;
}

unsigned
ckpt_pool_threads(unsigned requested, uint32_t n)
{
   unsigned t = requested;
   if (t == 0) {
      long cpus = sysconf(_SC_NPROCESSORS_ONLN);
      t = cpus < 1 ? 1 : cpus > 8 ? 8 : (unsigned)cpus;
   }
   if (t > 64) {
      t = 64;
   }
   if (n > 0 && t > n) {
      t = n;
   }
   return t ? t : 1;
}

bool
ckpt_pool_run(const ckpt_pool_job *job, char **err)
{
   pool p = { .job = job };
   unsigned threads = job->threads ? job->threads : 1;
   pthread_t tids[64];
   pool_worker workers[64];
   unsigned started = 0;
   uint64_t reported = UINT64_MAX;

   atomic_init(&p.next, 0);
   atomic_init(&p.done, 0);
   atomic_init(&p.stop, false);
   pthread_mutex_init(&p.lock, NULL);
   pthread_condattr_t ca;
   pthread_condattr_init(&ca);
   pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
   pthread_cond_init(&p.cond, &ca);
   pthread_condattr_destroy(&ca);

   if (threads > 64) {
      threads = 64;
   }
   pthread_mutex_lock(&p.lock);
   for (unsigned i = 0; i < threads; i++) {
      workers[i] = (pool_worker){ .p = &p, .index = i };
      if (pthread_create(&tids[i], NULL, pool_thread, &workers[i]) != 0) {
         break;
      }
      started++;
      p.running++;
   }
   if (started == 0) {
      /* No thread to be had: do it here. */
      pthread_mutex_unlock(&p.lock);
      pool_work(&p, 0);
      pthread_mutex_lock(&p.lock);
   }
   while (p.running > 0) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      ts.tv_nsec += 50 * 1000 * 1000;
      if (ts.tv_nsec >= 1000000000) {
         ts.tv_sec++;
         ts.tv_nsec -= 1000000000;
      }
      pthread_cond_timedwait(&p.cond, &p.lock, &ts);
      uint64_t done = atomic_load(&p.done);
      if (job->progress && done != reported && p.running > 0) {
         reported = done;
         pthread_mutex_unlock(&p.lock);
         job->progress(job->ud, done, job->total);
         pthread_mutex_lock(&p.lock);
      }
   }
   pthread_mutex_unlock(&p.lock);
   for (unsigned i = 0; i < started; i++) {
      pthread_join(tids[i], NULL);
   }
   pthread_cond_destroy(&p.cond);
   pthread_mutex_destroy(&p.lock);
   if (p.err) {
      *err = p.err;
      return false;
   }
   if (job->progress) {
      job->progress(job->ud, job->total, job->total);
   }
   return true;
}
