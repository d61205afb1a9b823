/*
 * tests/bench/exits/bench-exits.c - the same guest test kit image run
 * under our vmx (KVM monitor) and under QEMU's microvm machine with KVM,
 * side by side:
 *
 *   port-I/O exits   exits-guest.c runs exits.n OUT instructions at CPL3
 *                    (natively, each OUT one exit); the host times them
 *                    between the "BENCH begin" and "BENCH end" serial lines,
 *                    and the guest reports the TSC ticks of its loop
 *                    (converted with the host's TSC rate, which KVM guests
 *                    share unless the TSC is scaled).
 *   start-up         from the exec of `vmrun start` (which spawns the vmx,
 *                    builds the machine and runs it) or of QEMU to the first
 *                    byte the guest writes to its serial port.
 *   memory           with the guest idle (halted, interrupts off): VmRSS of
 *                    the vmx or QEMU process minus the resident part of the
 *                    guest RAM mapping (the memfd "vmws-guest-ram" or QEMU's
 *                    anonymous RAM block, both memsize bytes).
 *
 * The vmx's serial0 is a pipe (a Unix socket this program listens on); QEMU's
 * serial port is its stdout. Both machines get the same RAM size and the
 * same command line.
 *
 * usage: bench-exits [--quick] [--reps N] [--exits N] --vmrun PATH --vmx PATH
 *                    --image PATH [--qemu PATH]
 * Output: a table, then key=value lines (vmx.exits_per_s=..., ratio...).
 * Ratios are vmx/qemu: above 1 means the vmx does more exits per second,
 * uses more time to start or more memory. Exit status: 0 done, 77 skipped
 * (no usable /dev/kvm, no qemu-system-x86_64), 1 failed (a machine did not
 * start, print or finish). Timing figures never decide the exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SKIP 77
#define MEMSIZE_MB 64
#define PORT 0x80
#define MAX_REPS 9

typedef struct params {
   const char *vmrun, *vmx, *image, *qemu;
   unsigned reps;
   uint64_t exits;
   int timeout_s;
} params;

typedef struct result {
   double start_ms;            /* exec -> first serial byte */
   double host_s;              /* "begin" -> "end" on the host */
   uint64_t ticks, n;          /* guest TSC ticks of the loop, OUTs */
   long rss_kb, ram_kb;        /* VmRSS, resident guest RAM */
} result;

static char tmpdir[] = "/tmp/vmws-bench-exits-XXXXXX";

static double
now_s(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   vfprintf(stderr, fmt, ap);
   va_end(ap);
}

/* ---- the guest's serial lines */

typedef struct reader {
   int fd;
   char buf[8192];
   size_t len;
   double first_byte;   /* 0 until a byte came */
   bool eof;
} reader;

/* Reads until a line starting with prefix is complete (copied to line) or
 * the deadline passes. Returns the time its newline arrived, 0 on failure. */
static double
wait_line(reader *r, const char *prefix, char *line, size_t size, double deadline)
{
   for (;;) {
      char *nl;
      while ((nl = memchr(r->buf, '\n', r->len)) != NULL) {
         size_t l = (size_t)(nl - r->buf);
         bool match = strncmp(r->buf, prefix, strlen(prefix)) == 0;
         if (match && line) {
            size_t c = l < size - 1 ? l : size - 1;
            memcpy(line, r->buf, c);
            line[c] = 0;
         }
         memmove(r->buf, nl + 1, r->len - l - 1);
         r->len -= l + 1;
         if (match) {
            return now_s();
         }
      }
      if (r->eof) {
         return 0;
      }
      double left = deadline - now_s();
      if (left <= 0) {
         return 0;
      }
      struct pollfd p = { r->fd, POLLIN, 0 };
      int n = poll(&p, 1, (int)(left * 1000) + 1);
      if (n < 0 && errno == EINTR) {
         continue;
      }
      if (n <= 0) {
         return 0;
      }
      if (r->len == sizeof r->buf) {
         r->len = 0;   /* a line this long is not ours */
      }
      ssize_t got = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
      if (got <= 0) {
         r->eof = true;
         continue;
      }
      if (!r->first_byte) {
         r->first_byte = now_s();
      }
      r->len += (size_t)got;
   }
}

/* The guest's part of a run, once its serial stream is open. */
static bool
follow_guest(reader *r, const params *p, result *res, const char *who)
{
   char line[256];
   double t_begin, t_end;

   if (!wait_line(r, "BENCH ready", line, sizeof line, now_s() + 60)) {
      say("%s: no 'BENCH ready' line from the guest\n", who);
      return false;
   }
   t_begin = wait_line(r, "BENCH begin", NULL, 0, now_s() + 30);
   t_end = t_begin ? wait_line(r, "BENCH end", line, sizeof line, now_s() + p->timeout_s) : 0;
   if (!t_end) {
      say("%s: the guest did not finish its %llu exits in %d s\n", who,
          (unsigned long long)p->exits, p->timeout_s);
      return false;
   }
   unsigned long long ticks = 0, n = 0;
   if (sscanf(line, "BENCH end ticks=%llu n=%llu", &ticks, &n) != 2 || n != p->exits) {
      say("%s: bad result line '%s'\n", who, line);
      return false;
   }
   res->host_s = t_end - t_begin;
   res->ticks = ticks;
   res->n = n;
   if (!wait_line(r, "BENCH idle", NULL, 0, now_s() + 30)) {
      say("%s: the guest did not go idle\n", who);
      return false;
   }
   return true;
}

/* ---- memory */

/* VmRSS and the resident part of the guest RAM mapping: the mapping of
 * exactly memsize bytes (named vmws-guest-ram, or anonymous) with the
 * most resident pages. */
static bool
measure_memory(pid_t pid, result *res, char *what, size_t wsize)
{
   char path[64], l[512];
   FILE *f;
   long rss = -1, best = -1, size_kb = 0, want = MEMSIZE_MB * 1024L;
   char name[256] = "", best_name[256] = "";

   snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
   if (!(f = fopen(path, "r"))) {
      return false;
   }
   while (fgets(l, sizeof l, f)) {
      sscanf(l, "VmRSS: %ld kB", &rss);
   }
   fclose(f);
   snprintf(path, sizeof path, "/proc/%d/smaps", (int)pid);
   if (!(f = fopen(path, "r"))) {
      return false;
   }
   while (fgets(l, sizeof l, f)) {
      unsigned long a, b;
      long v;
      int off = 0;
      if (sscanf(l, "%lx-%lx %*s %*s %*s %*s %n", &a, &b, &off) == 2 && off > 0) {
         snprintf(name, sizeof name, "%s", l + off);
         name[strcspn(name, "\n")] = 0;
         size_kb = 0;
      } else if (sscanf(l, "Size: %ld kB", &v) == 1) {
         size_kb = v;
      } else if (sscanf(l, "Rss: %ld kB", &v) == 1) {
         bool named = strstr(name, "vmws-guest-ram") != NULL;
         if (size_kb == want && (named || !name[0]) && v > best) {
            best = v;
            snprintf(best_name, sizeof best_name, "%s", name[0] ? name : "[anonymous]");
         }
      }
   }
   fclose(f);
   if (rss < 0 || best < 0) {
      return false;
   }
   res->rss_kb = rss;
   res->ram_kb = best;
   snprintf(what, wsize, "%s", best_name);
   return true;
}

/* ---- child processes */

static pid_t
spawn(char *const argv[], int out_fd, const char *log)
{
   pid_t pid = fork();
   if (pid == 0) {
      int lf = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
      int devnull = open("/dev/null", O_RDWR);
      dup2(devnull, 0);
      dup2(out_fd >= 0 ? out_fd : lf, 1);
      dup2(lf, 2);
      execvp(argv[0], argv);
      dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
      _exit(127);
   }
   return pid;
}

static int
wait_exit(pid_t pid, double timeout_s)
{
   double end = now_s() + timeout_s;
   int st;
   while (now_s() < end) {
      pid_t r = waitpid(pid, &st, WNOHANG);
      if (r == pid) {
         return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      }
      usleep(10000);
   }
   kill(pid, SIGKILL);
   waitpid(pid, &st, 0);
   return -1;
}

static void
show_file(const char *path)
{
   char buf[4096];
   FILE *f = fopen(path, "r");
   if (!f) {
      return;
   }
   say("---- %s\n", path);
   size_t n;
   while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
      fwrite(buf, 1, n, stderr);
   }
   fclose(f);
}

/* ---- the vmx */

static pid_t
vmx_pid(const char *rundir)
{
   char pat[512];
   glob_t g;
   pid_t pid = 0;
   snprintf(pat, sizeof pat, "%s/vmws/*.lock", rundir);
   if (glob(pat, 0, NULL, &g) == 0) {
      FILE *f = fopen(g.gl_pathv[0], "r");
      int v;
      if (f && fscanf(f, "%d", &v) == 1) {
         pid = v;
      }
      if (f) {
         fclose(f);
      }
      globfree(&g);
   }
   return pid;
}

static bool
run_vmx(const params *p, unsigned rep, result *res, bool measure)
{
   char dir[256], vmxpath[300], sock[300], log[300], rundir[300], what[256];
   snprintf(dir, sizeof dir, "%s/vmx%u", tmpdir, rep);
   snprintf(vmxpath, sizeof vmxpath, "%s/bench.vmx", dir);
   snprintf(sock, sizeof sock, "%s/serial.sock", dir);
   snprintf(log, sizeof log, "%s/vmrun.log", dir);
   snprintf(rundir, sizeof rundir, "%s/run", dir);
   if (mkdir(dir, 0700) < 0 || mkdir(rundir, 0700) < 0) {
      say("vmx: cannot create %s\n", dir);
      return false;
   }
   setenv("XDG_RUNTIME_DIR", rundir, 1);
   setenv("VMWS_VMX", p->vmx, 1);

   FILE *f = fopen(vmxpath, "w");
   if (!f) {
      return false;
   }
   fprintf(f, ".encoding = \"UTF-8\"\ndisplayName = \"bench-exits\"\nmemsize = \"%d\"\n"
              "numvcpus = \"1\"\nmonitor.virtual_exec = \"hardware\"\n"
              "linux.kernel = \"%s\"\nlinux.entry = \"multiboot\"\n"
              "linux.cmdline = \"exits.n=%llu exits.port=%d\"\n"
              "serial0.present = \"TRUE\"\nserial0.fileType = \"pipe\"\n"
              "serial0.fileName = \"%s\"\n",
           MEMSIZE_MB, p->image, (unsigned long long)p->exits, PORT, sock);
   fclose(f);

   struct sockaddr_un sa = { .sun_family = AF_UNIX };
   if (strlen(sock) >= sizeof sa.sun_path) {
      say("vmx: socket path %s is too long\n", sock);
      return false;
   }
   memcpy(sa.sun_path, sock, strlen(sock) + 1);
   int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
   if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 1) < 0) {
      say("vmx: cannot listen on %s: %s\n", sock, strerror(errno));
      return false;
   }

   char *argv[] = { (char *)p->vmrun, "start", vmxpath, "nogui", NULL };
   double t0 = now_s();
   pid_t vmrun = spawn(argv, -1, log);
   bool ok = false;
   reader r = { .fd = -1 };
   struct pollfd pf = { lfd, POLLIN, 0 };
   if (poll(&pf, 1, 30000) == 1) {
      r.fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
   }
   if (r.fd < 0) {
      say("vmx: the vmx never connected its serial port\n");
      goto out;
   }
   wait_line(&r, "kit:", NULL, 0, now_s() + 30);
   if (!r.first_byte) {
      say("vmx: no serial output\n");
      goto out;
   }
   res->start_ms = (r.first_byte - t0) * 1000;
   int rc = wait_exit(vmrun, 30);
   vmrun = 0;
   if (rc != 0) {
      say("vmx: vmrun start exited with %d\n", rc);
      goto out;
   }
   if (!follow_guest(&r, p, res, "vmx")) {
      goto out;
   }
   if (measure) {
      pid_t pid = vmx_pid(rundir);
      usleep(300000);
      if (!pid || !measure_memory(pid, res, what, sizeof what)) {
         say("vmx: cannot read the memory of the vmx (pid %d)\n", (int)pid);
         goto out;
      }
      say("vmx: pid %d, guest RAM mapping %s\n", (int)pid, what);
   }
   ok = true;
out:
   if (vmrun > 0) {
      wait_exit(vmrun, 5);
   }
   {
      pid_t pid = vmx_pid(rundir);
      char *stop[] = { (char *)p->vmrun, "stop", vmxpath, "hard", NULL };
      wait_exit(spawn(stop, -1, log), 30);
      for (int i = 0; pid && i < 100 && kill(pid, 0) == 0; i++) {
         usleep(50000);
      }
      if (pid && kill(pid, 0) == 0) {
         kill(pid, SIGKILL);
      }
   }
   if (r.fd >= 0) {
      close(r.fd);
   }
   close(lfd);
   if (!ok) {
      show_file(log);
      char vlog[320];
      snprintf(vlog, sizeof vlog, "%s/vmware.log", dir);
      show_file(vlog);
   }
   return ok;
}

/* ---- QEMU */

static bool
run_qemu(const params *p, unsigned rep, result *res, bool measure)
{
   char log[300], append[128], mem[16], what[256];
   int fds[2];
   snprintf(log, sizeof log, "%s/qemu%u.log", tmpdir, rep);
   snprintf(append, sizeof append, "exits.n=%llu exits.port=%d", (unsigned long long)p->exits,
            PORT);
   snprintf(mem, sizeof mem, "%d", MEMSIZE_MB);
   if (pipe2(fds, O_CLOEXEC) < 0) {
      return false;
   }
   /* QEMU's default CPU model: "-cpu host" fails on hosts whose KVM
    * refuses some host MSRs (kvm_pvm: MSR 0x10a). */
   char *argv[] = { (char *)p->qemu, "-accel", "kvm",
                    "-M", "microvm,x-option-roms=off,rtc=on", "-m", mem, "-smp", "1",
                    "-nodefaults", "-no-user-config", "-display", "none",
                    "-serial", "stdio", "-device", "isa-debug-exit,iobase=0x501,iosize=1",
                    "-kernel", (char *)p->image, "-append", append, NULL };
   double t0 = now_s();
   pid_t pid = spawn(argv, fds[1], log);
   close(fds[1]);
   reader r = { .fd = fds[0] };
   bool ok = false;
   wait_line(&r, "kit:", NULL, 0, now_s() + 30);
   if (!r.first_byte) {
      say("qemu: no serial output\n");
      goto out;
   }
   res->start_ms = (r.first_byte - t0) * 1000;
   if (!follow_guest(&r, p, res, "qemu")) {
      goto out;
   }
   if (measure) {
      usleep(300000);
      if (!measure_memory(pid, res, what, sizeof what)) {
         say("qemu: cannot read the memory of QEMU (pid %d)\n", (int)pid);
         goto out;
      }
      say("qemu: pid %d, guest RAM mapping %s\n", (int)pid, what);
   }
   ok = true;
out:
   kill(pid, SIGTERM);
   wait_exit(pid, 10);
   close(fds[0]);
   if (!ok) {
      show_file(log);
   }
   return ok;
}

/* ---- figures */

static double
host_tsc_hz(void)
{
   double t0 = now_s();
   uint64_t c0 = __builtin_ia32_rdtsc();
   while (now_s() - t0 < 0.2) {
   }
   return (double)(__builtin_ia32_rdtsc() - c0) / (now_s() - t0);
}

static int
cmp_double(const void *a, const void *b)
{
   double x = *(const double *)a, y = *(const double *)b;
   return x < y ? -1 : x > y;
}

static double
median(double *v, unsigned n)
{
   qsort(v, n, sizeof *v, cmp_double);
   return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct summary {
   double exits_host, exits_guest, cycles, start_ms;
   double rss_mb, ram_mb, extra_mb;
} summary;

static void
summarize(const result *r, unsigned n, double tsc_hz, summary *s)
{
   double a[MAX_REPS], b[MAX_REPS], c[MAX_REPS], d[MAX_REPS];
   for (unsigned i = 0; i < n; i++) {
      a[i] = (double)r[i].n / r[i].host_s;
      b[i] = (double)r[i].n / ((double)r[i].ticks / tsc_hz);
      c[i] = (double)r[i].ticks / (double)r[i].n;
      d[i] = r[i].start_ms;
   }
   s->exits_host = median(a, n);
   s->exits_guest = median(b, n);
   s->cycles = median(c, n);
   s->start_ms = median(d, n);
   s->rss_mb = r[n - 1].rss_kb / 1024.0;
   s->ram_mb = r[n - 1].ram_kb / 1024.0;
   s->extra_mb = (r[n - 1].rss_kb - r[n - 1].ram_kb) / 1024.0;
}

static bool
kvm_usable(void)
{
   int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
   if (fd < 0) {
      return false;
   }
   close(fd);
   return true;
}

static const char *
find_in_path(const char *name)
{
   static char buf[1024];
   const char *path = getenv("PATH");
   if (!path) {
      return NULL;
   }
   while (*path) {
      size_t l = strcspn(path, ":");
      snprintf(buf, sizeof buf, "%.*s/%s", (int)l, path, name);
      if (access(buf, X_OK) == 0) {
         return buf;
      }
      path += l + (path[l] == ':');
   }
   return NULL;
}

static void
rmtree(const char *dir)
{
   char cmd[512];
   snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
   if (system(cmd) != 0) {
      say("cannot remove %s\n", dir);
   }
}

int
main(int argc, char **argv)
{
   params p = { .reps = 3, .exits = 200000, .timeout_s = 300 };
   bool quick = false;
   for (int i = 1; i < argc; i++) {
      const char *a = argv[i];
      const char *v = i + 1 < argc ? argv[i + 1] : NULL;
      if (!strcmp(a, "--quick")) {
         quick = true;
      } else if (!strcmp(a, "--vmrun") && v) {
         p.vmrun = v, i++;
      } else if (!strcmp(a, "--vmx") && v) {
         p.vmx = v, i++;
      } else if (!strcmp(a, "--image") && v) {
         p.image = v, i++;
      } else if (!strcmp(a, "--qemu") && v) {
         p.qemu = v, i++;
      } else if (!strcmp(a, "--reps") && v) {
         p.reps = (unsigned)atoi(v), i++;
      } else if (!strcmp(a, "--exits") && v) {
         p.exits = strtoull(v, NULL, 10), i++;
      } else {
         say("usage: bench-exits [--quick] [--reps N] [--exits N] --vmrun PATH --vmx PATH "
             "--image PATH [--qemu PATH]\n");
         return 2;
      }
   }
   if (quick) {
      p.reps = 1;
      p.exits = 5000;
   }
   if (!p.vmrun || !p.vmx || !p.image || p.reps < 1 || p.reps > MAX_REPS || !p.exits) {
      say("bench-exits: --vmrun, --vmx and --image are needed; 1 <= reps <= %d\n", MAX_REPS);
      return 2;
   }
   /* The .vmx is elsewhere: every path absolute. */
   char *abs_vmrun = realpath(p.vmrun, NULL), *abs_vmx = realpath(p.vmx, NULL);
   char *abs_image = realpath(p.image, NULL);
   if (!abs_vmrun || !abs_vmx || !abs_image) {
      say("bench-exits: %s: %s\n", !abs_vmrun ? p.vmrun : !abs_vmx ? p.vmx : p.image,
          strerror(errno));
      return 1;
   }
   p.vmrun = abs_vmrun;
   p.vmx = abs_vmx;
   p.image = abs_image;
   if (!kvm_usable()) {
      printf("SKIP: /dev/kvm is missing or cannot be opened read-write: both machines need "
             "KVM\n");
      return EXIT_SKIP;
   }
   if (!p.qemu && !(p.qemu = find_in_path("qemu-system-x86_64"))) {
      printf("SKIP: qemu-system-x86_64 is not installed (the peer of this benchmark)\n");
      return EXIT_SKIP;
   }
   if (!mkdtemp(tmpdir)) {
      perror("mkdtemp");
      return 1;
   }
   signal(SIGPIPE, SIG_IGN);
   setvbuf(stdout, NULL, _IOLBF, 0);

   result vr[MAX_REPS] = { 0 }, qr[MAX_REPS] = { 0 };
   bool ok = true;
   for (unsigned i = 0; i < p.reps && ok; i++) {
      bool last = i + 1 == p.reps;
      ok = run_vmx(&p, i, &vr[i], last) && run_qemu(&p, i, &qr[i], last);
   }
   if (!ok) {
      say("bench-exits: FAILED (files kept in %s)\n", tmpdir);
      return 1;
   }
   rmtree(tmpdir);

   double tsc = host_tsc_hz();
   summary v, q;
   summarize(vr, p.reps, tsc, &v);
   summarize(qr, p.reps, tsc, &q);

   printf("exits: %llu OUTs to port 0x%x at guest CPL3, %d MB guest, %u run(s) each "
          "(medians), host TSC %.0f MHz\n",
          (unsigned long long)p.exits, PORT, MEMSIZE_MB, p.reps, tsc / 1e6);
   printf("  %-34s %14s %14s %10s\n", "", "vmws vmx", "qemu microvm", "vmx/qemu");
   printf("  %-34s %14.0f %14.0f %10.2f\n", "port-I/O exits/s (host-timed)", v.exits_host,
          q.exits_host, v.exits_host / q.exits_host);
   printf("  %-34s %14.0f %14.0f %10.2f\n", "port-I/O exits/s (guest TSC)", v.exits_guest,
          q.exits_guest, v.exits_guest / q.exits_guest);
   printf("  %-34s %14.0f %14.0f %10.2f\n", "TSC cycles per exit (guest)", v.cycles, q.cycles,
          v.cycles / q.cycles);
   printf("  %-34s %14.1f %14.1f %10.2f\n", "exec -> first serial byte (ms)", v.start_ms,
          q.start_ms, v.start_ms / q.start_ms);
   printf("  %-34s %14.1f %14.1f %10.2f\n", "process RSS, guest idle (MB)", v.rss_mb, q.rss_mb,
          v.rss_mb / q.rss_mb);
   printf("  %-34s %14.1f %14.1f %10.2f\n", "  of which guest RAM resident (MB)", v.ram_mb,
          q.ram_mb, v.ram_mb / q.ram_mb);
   printf("  %-34s %14.1f %14.1f %10.2f\n", "RSS beyond guest RAM (MB)", v.extra_mb,
          q.extra_mb, v.extra_mb / q.extra_mb);
   printf("  (exits/s: above 1 the vmx is faster; start-up and memory: below 1 the vmx is "
          "smaller)\n");
   printf("vmx.exits_per_s=%.0f\nqemu.exits_per_s=%.0f\nratio.exits_per_s=%.3f\n",
          v.exits_host, q.exits_host, v.exits_host / q.exits_host);
   printf("vmx.guest_exits_per_s=%.0f\nqemu.guest_exits_per_s=%.0f\n", v.exits_guest,
          q.exits_guest);
   printf("vmx.cycles_per_exit=%.0f\nqemu.cycles_per_exit=%.0f\n", v.cycles, q.cycles);
   printf("vmx.start_ms=%.1f\nqemu.start_ms=%.1f\nratio.start=%.3f\n", v.start_ms, q.start_ms,
          v.start_ms / q.start_ms);
   printf("vmx.rss_mb=%.1f\nqemu.rss_mb=%.1f\n", v.rss_mb, q.rss_mb);
   printf("vmx.ram_resident_mb=%.1f\nqemu.ram_resident_mb=%.1f\n", v.ram_mb, q.ram_mb);
   printf("vmx.rss_beyond_ram_mb=%.1f\nqemu.rss_beyond_ram_mb=%.1f\nratio.rss_beyond_ram=%.3f\n",
          v.extra_mb, q.extra_mb, v.extra_mb / q.extra_mb);
   return 0;
}
