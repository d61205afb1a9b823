/*
 * vmx/ckpt/tests/test-ckpt-kill.c - a writer killed at any moment leaves
 * the previous checkpoint intact: 20 times, a child process writes a new
 * checkpoint over an existing one and is sent SIGKILL after a random delay
 * (from "at once" to "after it should have finished"). After each, the file
 * under the final name opens, verifies and holds either the previous or the
 * new state, complete; nothing else usable is left in the folder.
 */
#include "vmx/ckpt/ckpt-file.h"
#include "vmx/ckpt/tests/ckpt-test-data.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RAM_SIZE (48u << 20)
#define ROUNDS 20

static uint8_t *ram;

static double
now(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The checkpoint of "generation" gen: a marker section and RAM made from
 * it (by the caller, with ckpt_test_fill). */
static bool
write_gen(const char *path, unsigned gen, char **err)
{
   char marker[32];
   snprintf(marker, sizeof marker, "generation %u", gen);
   ckpt_file_writer *w = ckpt_file_create(path, NULL, err);
   if (!w) {
      return false;
   }
   if (!ckpt_file_add_section(w, "marker", CKPT_FILE_STATE, marker, strlen(marker), err) ||
       !ckpt_file_add_memory(w, "ram", ram, RAM_SIZE, NULL, NULL, err)) {
      ckpt_file_abort(w);
      return false;
   }
   return ckpt_file_commit(w, err);
}

/* Check the file and return its generation, or -1 with the reason printed. */
static int
check(const char *path)
{
   char *err = NULL;
   ckpt_file *f = ckpt_file_open(path, &err);
   if (!f) {
      printf("# %s\n", err);
      g_free(err);
      return -1;
   }
   size_t len = 0;
   const char *m = ckpt_file_section(f, "marker", CKPT_FILE_STATE, &len);
   unsigned gen;
   char buf[32] = { 0 };
   if (!m || len >= sizeof buf) {
      printf("# no marker\n");
      ckpt_file_close(f);
      return -1;
   }
   memcpy(buf, m, len);
   if (sscanf(buf, "generation %u", &gen) != 1 || !ckpt_file_verify(f, NULL, NULL, &err)) {
      printf("# bad marker '%s' or %s\n", buf, err ? err : "");
      g_free(err);
      ckpt_file_close(f);
      return -1;
   }
   uint8_t *want = g_malloc(RAM_SIZE);
   ckpt_test_fill(want, RAM_SIZE, CKPT_DATA_MIXED, gen);
   bool ok = ckpt_file_restore_memory(f, "ram", ram, RAM_SIZE, CKPT_FILE_RESTORE_COPY, NULL,
                                      NULL, &err) &&
             memcmp(ram, want, RAM_SIZE) == 0;
   if (!ok) {
      printf("# generation %u: the memory is wrong (%s)\n", gen, err ? err : "differs");
   }
   g_free(err);
   g_free(want);
   ckpt_file_close(f);
   return ok ? (int)gen : -1;
}

/* Names in the folder other than the checkpoint; each must be a temporary
 * file (".vm.vmss.tmp-*", a complete but unnamed-yet file from the instant
 * between naming it and the rename), which is removed. */
static int
leftovers(const char *dir)
{
   GDir *d = g_dir_open(dir, 0, NULL);
   const char *n;
   int count = 0;
   while ((n = g_dir_read_name(d))) {
      if (strcmp(n, "vm.vmss") == 0) {
         continue;
      }
      if (!g_str_has_prefix(n, ".vm.vmss.tmp-")) {
         printf("not ok - unexpected file %s\n", n);
         exit(1);
      }
      char *p = g_build_filename(dir, n, NULL);
      g_unlink(p);
      g_free(p);
      count++;
   }
   g_dir_close(d);
   return count;
}

int
main(void)
{
   char *dir = g_dir_make_tmp("test-ckpt-kill-XXXXXX", NULL);
   char *path = g_build_filename(dir, "vm.vmss", NULL);
   char *err = NULL;
   setvbuf(stdout, NULL, _IONBF, 0);
   ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   g_assert_true(ram != MAP_FAILED);

   printf("1..%d\n", ROUNDS + 1);
   ckpt_test_fill(ram, RAM_SIZE, CKPT_DATA_MIXED, 1);
   double t0 = now();
   if (!write_gen(path, 1, &err)) {
      printf("not ok 1 - write the first checkpoint: %s\n", err);
      return 1;
   }
   double t_write = now() - t0;
   if (check(path) != 1) {
      printf("not ok 1 - the first checkpoint does not load\n");
      return 1;
   }
   printf("ok 1 - a checkpoint of %u MiB takes %.0f ms to write\n", RAM_SIZE >> 20,
          t_write * 1e3);

   unsigned cur = 1, completed = 0, temps = 0;
   GRand *rnd = g_rand_new_with_seed((guint32)time(NULL));
   for (unsigned round = 0; round < ROUNDS; round++) {
      unsigned next = cur + 1;
      /* From at once to 20% past the time a whole write takes. */
      double delay = g_rand_double_range(rnd, 0, t_write * 1.2);
      ckpt_test_fill(ram, RAM_SIZE, CKPT_DATA_MIXED, next);
      pid_t pid = fork();
      if (pid == 0) {
         char *e = NULL;
         _exit(write_gen(path, next, &e) ? 0 : 3);
      }
      g_assert_cmpint(pid, >, 0);
      g_usleep((gulong)(delay * 1e6));
      kill(pid, SIGKILL);
      int status;
      g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
      bool killed = WIFSIGNALED(status);
      if (!killed && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
         printf("not ok %u - the writer failed (status 0x%x)\n", round + 2, status);
         return 1;
      }
      int gen = check(path);
      temps += (unsigned)leftovers(dir);
      if (gen != (int)cur && gen != (int)next) {
         printf("not ok %u - after a kill at %.0f ms the file holds %d, expected %u or %u\n",
                round + 2, delay * 1e3, gen, cur, next);
         return 1;
      }
      if (!killed && gen != (int)next) {
         printf("not ok %u - the writer finished but the file holds %d\n", round + 2, gen);
         return 1;
      }
      completed += gen == (int)next;
      printf("ok %u - killed at %.0f ms%s: the file holds generation %d (%s)\n", round + 2,
             delay * 1e3, killed ? "" : " (after it had finished)", gen,
             gen == (int)cur ? "the previous one" : "the new one");
      cur = (unsigned)gen;
   }
   printf("# %u of %d writers completed before the kill; %u temporary files left behind\n",
          completed, ROUNDS, temps);
   g_rand_free(rnd);
   g_unlink(path);
   g_rmdir(dir);
   g_free(path);
   g_free(dir);
   munmap(ram, RAM_SIZE);
   return 0;
}
