/*
 * vmx/ckpt/tests/ckpt-throughput.c - save and restore throughput of the
 * checkpoint file for guest-like memory (not a test; prints a table).
 *
 *   ckpt-throughput [-s MiB] [-c chunk KiB] [-r ratio] [-t threads] [-k] [-d DIR]
 *                   [-m none,lz4,zstd] [-z level] [-n runs]
 *
 * For each compression: save (scan, compress, write, fsync, rename), the
 * file's size and disk use, open, LAZY restore (the call alone, then with
 * every page touched as a guest would), COPY restore, and verify. -k drops
 * the file's pages from the page cache (posix_fadvise) before each read, so
 * reads come from the disk. With -n, each figure is the best of that many
 * runs (the machine may be shared).
 */
#include "vmx/ckpt/ckpt-file.h"
#include "vmx/ckpt/tests/ckpt-test-data.h"

#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void
drop_cache(const char *path)
{
   int fd = open(path, O_RDONLY);
   if (fd >= 0) {
      fdatasync(fd);
      posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      close(fd);
   }
}

static void
die(const char *what, char *err)
{
   fprintf(stderr, "%s: %s\n", what, err);
   exit(1);
}

int
main(int argc, char **argv)
{
   size_t mib = 1024;
   unsigned chunk_kib = 0, threads = 0;
   double ratio = 0;
   int zlevel = 0, opt, runs = 1;
   bool cold = false;
   const char *dir = NULL, *methods = "none,lz4,zstd";
   while ((opt = getopt(argc, argv, "s:c:r:t:kd:m:z:n:")) != -1) {
      switch (opt) {
      case 's': mib = strtoul(optarg, NULL, 0); break;
      case 'c': chunk_kib = (unsigned)strtoul(optarg, NULL, 0); break;
      case 'r': ratio = strtod(optarg, NULL); break;
      case 't': threads = (unsigned)strtoul(optarg, NULL, 0); break;
      case 'k': cold = true; break;
      case 'd': dir = optarg; break;
      case 'm': methods = optarg; break;
      case 'z': zlevel = atoi(optarg); break;
      case 'n': runs = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
      default:
         fprintf(stderr, "usage: %s [-s MiB] [-c chunk KiB] [-r ratio] [-t threads] [-k] "
                         "[-d DIR] [-m none,lz4,zstd] [-z level] [-n runs]\n", argv[0]);
         return 2;
      }
   }
   size_t size = mib << 20;
   char *tmp = dir ? g_strdup(dir) : g_dir_make_tmp("ckpt-throughput-XXXXXX", NULL);
   char *path = g_build_filename(tmp, "bench.vmss", NULL);
   uint8_t *ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   uint8_t *dst = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   if (ram == MAP_FAILED || dst == MAP_FAILED) {
      perror("mmap");
      return 1;
   }
   ckpt_test_fill(ram, size, CKPT_DATA_MIXED, 42);
   size_t zero_pages = 0;
   for (size_t i = 0; i < size; i += 4096) {
      static const uint8_t z[4096];
      zero_pages += memcmp(ram + i, z, 4096) == 0;
   }
   printf("%zu MiB of mixed memory (%.0f%% zero pages), chunk %u KiB, ratio %g, %s page cache\n",
          mib, 100.0 * (double)zero_pages / (double)(size / 4096), chunk_kib ? chunk_kib : 1024,
          ratio ? ratio : 0.25, cold ? "cold" : "warm");
   printf("%-5s %9s %9s %9s %9s %9s %11s %9s %9s  %s\n", "", "save", "file", "on disk",
          "open", "lazy", "lazy+touch", "copy", "verify", "chunks zero/raw/packed");
   printf("%-5s %9s %9s %9s %9s %9s %11s %9s %9s\n", "", "MiB/s", "MiB", "MiB", "ms", "ms",
          "MiB/s", "MiB/s", "MiB/s");

   char **ms = g_strsplit(methods, ",", -1);
   for (char **m = ms; *m; m++) {
      ckpt_file_opts o = { .chunk_size = chunk_kib << 10, .max_ratio = ratio,
                           .threads = threads, .zstd_level = zlevel };
      if (!ckpt_file_compress_parse(*m, &o.compress)) {
         fprintf(stderr, "unknown compression %s\n", *m);
         return 2;
      }
      double best[6] = { 1e9, 1e9, 1e9, 1e9, 1e9, 1e9 };
      struct stat st;
      ckpt_file_memory_info mi;
      for (int run = 0; run < runs; run++) {
         char *err = NULL;
         g_unlink(path);
         double t0 = now();
         ckpt_file_writer *w = ckpt_file_create(path, &o, &err);
         if (!w || !ckpt_file_add_memory(w, "ram", ram, size, NULL, NULL, &err) ||
             !ckpt_file_commit(w, &err)) {
            die("save", err);
         }
         double t_save = now() - t0;
         stat(path, &st);

         if (cold) {
            drop_cache(path);
         }
         t0 = now();
         ckpt_file *f = ckpt_file_open(path, &err);
         if (!f) {
            die("open", err);
         }
         double t_open = now() - t0;
         ckpt_file_memory(f, "ram", &mi);

         /* LAZY into fresh memory, as the vmx's new memfd is. */
         mmap(dst, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
         t0 = now();
         if (!ckpt_file_restore_memory(f, "ram", dst, size, CKPT_FILE_RESTORE_LAZY, NULL, NULL,
                                       &err)) {
            die("lazy restore", err);
         }
         double t_lazy = now() - t0;
         /* Touch every page (read), as a guest would over time. */
         volatile uint64_t sink = 0;
         for (size_t i = 0; i < size; i += 4096) {
            sink += dst[i];
         }
         (void)sink;
         double t_touch = now() - t0;
         if (memcmp(dst, ram, size) != 0) {
            fprintf(stderr, "lazy restore differs\n");
            return 1;
         }
         /* Back to anonymous memory for the copy. */
         mmap(dst, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
         memset(dst, 1, size);
         if (cold) {
            drop_cache(path);
         }
         t0 = now();
         if (!ckpt_file_restore_memory(f, "ram", dst, size, CKPT_FILE_RESTORE_COPY, NULL, NULL,
                                       &err)) {
            die("copy restore", err);
         }
         double t_copy = now() - t0;
         if (memcmp(dst, ram, size) != 0) {
            fprintf(stderr, "copy restore differs\n");
            return 1;
         }
         if (cold) {
            drop_cache(path);
         }
         t0 = now();
         if (!ckpt_file_verify(f, NULL, NULL, &err)) {
            die("verify", err);
         }
         double t_verify = now() - t0;
         ckpt_file_close(f);
         double t[6] = { t_save, t_open, t_lazy, t_touch, t_copy, t_verify };
         for (int i = 0; i < 6; i++) {
            best[i] = t[i] < best[i] ? t[i] : best[i];
         }
      }
      double t_save = best[0], t_open = best[1], t_lazy = best[2], t_touch = best[3],
             t_copy = best[4], t_verify = best[5];
      double mb = (double)size / (1 << 20);
      printf("%-5s %9.0f %9.0f %9.0f %9.1f %9.1f %11.0f %9.0f %9.0f  %u/%u/%u\n", *m,
             mb / t_save, (double)st.st_size / (1 << 20),
             (double)st.st_blocks * 512 / (1 << 20), t_open * 1e3, t_lazy * 1e3, mb / t_touch,
             mb / t_copy, mb / t_verify, mi.zero_chunks, mi.raw_chunks,
             mi.lz4_chunks + mi.zstd_chunks);
   }
   g_strfreev(ms);
   g_unlink(path);
   if (!dir) {
      g_rmdir(tmp);
   }
   g_free(tmp);
   g_free(path);
   return 0;
}
