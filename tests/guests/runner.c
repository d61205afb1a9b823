/*
 * tests/guests/runner.c - vmws-guest-run: the guest test kit's own runner.
 *
 * Boots one kit image (multiboot or PVH entry) on the KVM monitor (or the
 * software monitor with --monitor=software) with just enough platform to
 * read the kit's protocol: guest RAM in a memfd, a COM1
 * output sink (the 16550's registers as a program that only writes sees
 * them) and the test-exit port 0x501. The real PC platform (vmx/dev: UART,
 * PIT, PIC, ACPI, PCI, backdoor) replaces these sinks in the vmx; this
 * program exists so the kit and the monitor can be tested on their own.
 *
 * Usage: vmws-guest-run [--monitor=hardware|software] [--entry=multiboot|pvh]
 *                       [--mem=MiB] [--timeout=SEC] [--cmdline=TEXT]
 *                       [--require-native-kernel] IMAGE
 * --require-native-kernel skips (77) on hosts where KVM emulates guest
 * kernel-mode code (vmm_kvm_probe_native), for programs that need more of
 * the CPU than KVM's instruction emulator provides; the software monitor
 * always runs kernel code itself, so it ignores the option.
 * Exit status: the guest's result (0 pass, 1 fail, 77 skip); 77 also when
 * /dev/kvm cannot run guests (hardware monitor); 1 on any error, with the
 * reason on stderr.
 */
#include "loader.h"
#include "vmm/monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EXIT_PORT      0x501
#define COM1           0x3f8
#define MAX_IMAGE      (256u << 20)
#define MAX_OUTPUT     (1u << 20)

/* Low memory the runner uses for the boot handoff; images may not load here. */
#define INFO_BASE      0x1000u   /* multiboot info / PVH start_info */
#define INFO_MMAP      0x1400u   /* memory map */
#define INFO_CMDLINE   0x1800u   /* command line, up to 2 KiB */
#define INFO_END       0x2000u
#define LOW_RAM_END    0x9fc00u  /* below the legacy VGA/BIOS hole */
#define HIGH_RAM_BASE  0x100000u

typedef struct runner {
   vmm_vm *vm;
   /* COM1 sink */
   uint8_t lcr, ier, mcr, scr;
   char *out;
   size_t out_len;
   /* result */
   atomic_int exit_code;          /* -1 until the guest writes the exit port */
   atomic_bool timed_out;
   unsigned unhandled;
   pthread_mutex_t lock;
   pthread_cond_t cond;
   bool done;
} runner;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
   va_list ap;

   fputs("vmws-guest-run: ", stderr);
   va_start(ap, fmt);
   vfprintf(stderr, fmt, ap);
   va_end(ap);
   fputc('\n', stderr);
   exit(1);
}

/* ---- the platform sinks ------------------------------------------------------- */

static void note_unhandled(runner *r, const char *what, uint64_t addr, unsigned size)
{
   if (r->unhandled++ < 8) {
      fprintf(stderr, "vmws-guest-run: unhandled %s 0x%llx (size %u)\n", what,
              (unsigned long long)addr, size);
   }
}

static void com1_write(runner *r, unsigned reg, uint8_t v)
{
   switch (reg) {
   case 0:
      if (r->lcr & 0x80) {
         return;   /* divisor latch */
      }
      fputc(v, stdout);
      if (v == '\n') {
         fflush(stdout);
      }
      if (r->out_len < MAX_OUTPUT) {
         r->out[r->out_len++] = (char)v;
      }
      return;
   case 1:
      if (!(r->lcr & 0x80)) {
         r->ier = v & 0x0f;
      }
      return;
   case 3: r->lcr = v; return;
   case 4: r->mcr = v & 0x1f; return;
   case 7: r->scr = v; return;
   default: return;   /* FCR, read-only registers */
   }
}

static uint8_t com1_read(runner *r, unsigned reg)
{
   switch (reg) {
   case 0: return 0;                 /* nothing is ever received */
   case 1: return r->lcr & 0x80 ? 0 : r->ier;
   case 2: return 0xc1;              /* FIFOs on, no interrupt pending */
   case 3: return r->lcr;
   case 4: return r->mcr;
   case 5: return 0x60;              /* transmitter empty */
   case 6: return 0xb0;              /* DCD DSR CTS */
   default: return r->scr;
   }
}

static void pio_write(void *opaque, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t val)
{
   runner *r = opaque;

   (void)cpu;
   if (port >= COM1 && port < COM1 + 8) {
      com1_write(r, port - COM1, (uint8_t)val);
   } else if (port == EXIT_PORT) {
      int expected = -1;

      atomic_compare_exchange_strong(&r->exit_code, &expected, (int)(val & 0xff));
      vmm_vm_stop(r->vm);
   } else if (port != 0x80) {
      note_unhandled(r, "port write", port, size);
   }
}

static void pio_read(void *opaque, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t *val)
{
   runner *r = opaque;

   (void)cpu;
   if (port >= COM1 && port < COM1 + 8) {
      *val = com1_read(r, port - COM1);
   } else {
      note_unhandled(r, "port read", port, size);   /* *val stays all-ones */
   }
}

static void mmio_read(void *opaque, vmm_vcpu *cpu, uint64_t gpa, unsigned size, uint64_t *val)
{
   (void)cpu;
   (void)val;
   note_unhandled(opaque, "MMIO read", gpa, size);
}

static void mmio_write(void *opaque, vmm_vcpu *cpu, uint64_t gpa, unsigned size, uint64_t val)
{
   (void)cpu;
   (void)val;
   note_unhandled(opaque, "MMIO write", gpa, size);
}

static const vmm_io_ops io_ops = {
   .pio_read = pio_read, .pio_write = pio_write,
   .mmio_read = mmio_read, .mmio_write = mmio_write,
};

/* ---- boot handoff ----------------------------------------------------------------- */

static void put32(uint8_t *ram, uint64_t gpa, uint32_t v) { memcpy(ram + gpa, &v, 4); }
static void put64(uint8_t *ram, uint64_t gpa, uint64_t v) { memcpy(ram + gpa, &v, 8); }

/* Multiboot info: mem_lower/upper, command line, memory map. Returns its address. */
static uint32_t write_multiboot_info(uint8_t *ram, uint64_t ram_size, const char *cmdline)
{
   uint64_t p = INFO_MMAP;

   memset(ram + INFO_BASE, 0, INFO_END - INFO_BASE);
   put32(ram, INFO_BASE + 0, (1u << 0) | (1u << 2) | (1u << 6));
   put32(ram, INFO_BASE + 4, LOW_RAM_END / 1024);
   put32(ram, INFO_BASE + 8, (uint32_t)((ram_size - HIGH_RAM_BASE) / 1024));
   put32(ram, INFO_BASE + 16, INFO_CMDLINE);
   memcpy(ram + INFO_CMDLINE, cmdline, strlen(cmdline) + 1);
   /* entries: u32 size (20), u64 base, u64 length, u32 type (1 = RAM) */
   put32(ram, p, 20);
   put64(ram, p + 4, 0);
   put64(ram, p + 12, LOW_RAM_END);
   put32(ram, p + 20, 1);
   p += 24;
   put32(ram, p, 20);
   put64(ram, p + 4, HIGH_RAM_BASE);
   put64(ram, p + 12, ram_size - HIGH_RAM_BASE);
   put32(ram, p + 20, 1);
   p += 24;
   put32(ram, INFO_BASE + 44, (uint32_t)(p - INFO_MMAP));
   put32(ram, INFO_BASE + 48, INFO_MMAP);
   return INFO_BASE;
}

/* PVH hvm_start_info, version 1, with a memory map. Returns its address. */
static uint32_t write_pvh_info(uint8_t *ram, uint64_t ram_size, const char *cmdline)
{
   uint64_t p = INFO_MMAP;

   memset(ram + INFO_BASE, 0, INFO_END - INFO_BASE);
   put32(ram, INFO_BASE + 0, 0x336ec578u);        /* magic */
   put32(ram, INFO_BASE + 4, 1);                  /* version */
   put64(ram, INFO_BASE + 24, INFO_CMDLINE);      /* cmdline_paddr */
   put64(ram, INFO_BASE + 40, INFO_MMAP);         /* memmap_paddr */
   put32(ram, INFO_BASE + 48, 2);                 /* memmap_entries */
   memcpy(ram + INFO_CMDLINE, cmdline, strlen(cmdline) + 1);
   /* entries: u64 addr, u64 size, u32 type (1 = RAM), u32 reserved */
   put64(ram, p, 0);
   put64(ram, p + 8, LOW_RAM_END);
   put32(ram, p + 16, 1);
   p += 24;
   put64(ram, p, HIGH_RAM_BASE);
   put64(ram, p + 8, ram_size - HIGH_RAM_BASE);
   put32(ram, p + 16, 1);
   return INFO_BASE;
}

static vmm_seg flat32(uint16_t sel, uint8_t type)
{
   return (vmm_seg){ .limit = 0xffffffffu, .selector = sel, .type = type, .s = 1,
                     .present = 1, .db = 1, .g = 1 };
}

/* The state both protocols specify: 32-bit protected mode, flat segments,
 * paging off, interrupts off; PVH also wants a valid 32-bit TSS in TR. */
static void set_entry_state(vmm_vcpu *cpu, uint32_t entry, uint32_t eax, uint32_t ebx)
{
   vmm_sregs s;
   vmm_regs r;
   int e;

   e = vmm_vcpu_get_sregs(cpu, &s);
   if (e < 0) {
      die("cannot read the vCPU's segment state: %s", strerror(-e));
   }
   s.seg[VMM_CS] = flat32(0x08, 0xb);
   s.seg[VMM_DS] = s.seg[VMM_ES] = s.seg[VMM_SS] = flat32(0x10, 0x3);
   s.seg[VMM_FS] = s.seg[VMM_GS] = flat32(0x10, 0x3);
   s.tr = (vmm_seg){ .limit = 0x67, .selector = 0x18, .type = 0xb, .present = 1 };
   s.ldtr = (vmm_seg){ .type = 0x2, .unusable = 1 };
   s.gdt = (vmm_dtable){ 0, 0 };
   s.idt = (vmm_dtable){ 0, 0 };
   s.cr0 = 0x11;    /* PE ET */
   s.cr3 = 0;
   s.cr4 = 0;
   s.efer = 0;
   e = vmm_vcpu_set_sregs(cpu, &s);
   if (e < 0) {
      die("cannot set the vCPU's entry segments: %s", strerror(-e));
   }
   memset(&r, 0, sizeof r);
   r.rip = entry;
   r.rflags = 0x2;
   r.gpr[VMM_RAX] = eax;
   r.gpr[VMM_RBX] = ebx;
   e = vmm_vcpu_set_regs(cpu, &r);
   if (e < 0) {
      die("cannot set the vCPU's entry registers: %s", strerror(-e));
   }
}

/* ---- watchdog ----------------------------------------------------------------------- */

static unsigned timeout_s = 30;

static void *watchdog(void *arg)
{
   runner *r = arg;
   struct timespec until;

   clock_gettime(CLOCK_REALTIME, &until);
   until.tv_sec += timeout_s;
   pthread_mutex_lock(&r->lock);
   while (!r->done) {
      if (pthread_cond_timedwait(&r->cond, &r->lock, &until) == ETIMEDOUT) {
         atomic_store(&r->timed_out, true);
         vmm_vm_stop(r->vm);
         break;
      }
   }
   pthread_mutex_unlock(&r->lock);
   return NULL;
}

/* ---- verdict -------------------------------------------------------------------------- */

static unsigned count_lines(const char *out, size_t len, const char *suffix)
{
   unsigned n = 0;
   size_t i = 0;

   while (i < len) {
      const char *nl = memchr(out + i, '\n', len - i);
      size_t end = nl ? (size_t)(nl - out) : len;

      if (end - i > 5 && memcmp(out + i, "TEST ", 5) == 0) {
         const char *colon = memmem(out + i, end - i, suffix, strlen(suffix));

         if (colon) {
            n++;
         }
      }
      i = end + 1;
   }
   return n;
}

static int verdict(runner *r)
{
   int code = atomic_load(&r->exit_code);
   unsigned pass = count_lines(r->out, r->out_len, ": PASS");
   unsigned fail = count_lines(r->out, r->out_len, ": FAIL");
   unsigned skip = count_lines(r->out, r->out_len, ": SKIP");

   switch (code) {
   case 0:
      if (fail || !pass) {
         fprintf(stderr, "vmws-guest-run: the guest exited PASS but printed %u PASS and %u "
                 "FAIL lines\n", pass, fail);
         return 1;
      }
      return 0;
   case 77:
      if (!skip) {
         fprintf(stderr, "vmws-guest-run: the guest exited SKIP without a SKIP line\n");
         return 1;
      }
      return 77;
   case 1:
      return 1;
   default:
      fprintf(stderr, "vmws-guest-run: the guest wrote %d to the exit port (0, 1 or 77 "
              "expected)\n", code);
      return 1;
   }
}

/* ---- main ----------------------------------------------------------------------------- */

static uint8_t *read_image(const char *path, size_t *size)
{
   struct stat st;
   uint8_t *buf;
   size_t got = 0;
   int fd = open(path, O_RDONLY | O_CLOEXEC);

   if (fd < 0) {
      die("cannot open the image %s: %s", path, strerror(errno));
   }
   if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
      die("%s is not a regular file", path);
   }
   if (st.st_size <= 0 || (uint64_t)st.st_size > MAX_IMAGE) {
      die("%s: size %lld is out of range (1 byte to %u MiB)", path, (long long)st.st_size,
          MAX_IMAGE >> 20);
   }
   buf = malloc((size_t)st.st_size);
   if (!buf) {
      die("out of memory reading %s", path);
   }
   while (got < (size_t)st.st_size) {
      ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

      if (n <= 0) {
         die("cannot read %s: %s", path, n < 0 ? strerror(errno) : "file shrank");
      }
      got += (size_t)n;
   }
   close(fd);
   *size = got;
   return buf;
}

static unsigned parse_uint(const char *opt, const char *s, unsigned lo, unsigned hi)
{
   char *end;
   unsigned long v;

   errno = 0;
   v = strtoul(s, &end, 10);
   if (errno || end == s || *end || v < lo || v > hi) {
      die("%s: '%s' is not a number from %u to %u", opt, s, lo, hi);
   }
   return (unsigned)v;
}

static void usage(void)
{
   fprintf(stderr, "usage: vmws-guest-run [--monitor=hardware|software] "
           "[--entry=multiboot|pvh] [--mem=MiB] [--timeout=SEC] [--cmdline=TEXT] "
           "[--require-native-kernel] IMAGE\n");
   exit(1);
}

int main(int argc, char **argv)
{
   const char *image = NULL, *cmdline = "", *entry_kind = "multiboot";
   unsigned mem_mib = 32;
   bool need_native = false;
   vmm_kind kind = VMM_KIND_HARDWARE;
   runner r;
   char err[256];
   uint8_t *file, *ram;
   size_t size;
   uint64_t ram_size;
   guest_image img;
   vmm_config cfg;
   vmm_vcpu *cpu;
   pthread_t wd;
   vmm_exit ex;
   int memfd, rc;

   for (int i = 1; i < argc; i++) {
      if (strncmp(argv[i], "--entry=", 8) == 0) {
         entry_kind = argv[i] + 8;
         if (strcmp(entry_kind, "multiboot") != 0 && strcmp(entry_kind, "pvh") != 0) {
            die("--entry: '%s' is neither multiboot nor pvh", entry_kind);
         }
      } else if (strncmp(argv[i], "--monitor=", 10) == 0) {
         if (strcmp(argv[i] + 10, "hardware") == 0) {
            kind = VMM_KIND_HARDWARE;
         } else if (strcmp(argv[i] + 10, "software") == 0) {
            kind = VMM_KIND_SOFTWARE;
         } else {
            die("--monitor: '%s' is neither hardware nor software", argv[i] + 10);
         }
      } else if (strncmp(argv[i], "--mem=", 6) == 0) {
         mem_mib = parse_uint("--mem", argv[i] + 6, 2, 2048);
      } else if (strncmp(argv[i], "--timeout=", 10) == 0) {
         timeout_s = parse_uint("--timeout", argv[i] + 10, 1, 3600);
      } else if (strncmp(argv[i], "--cmdline=", 10) == 0) {
         cmdline = argv[i] + 10;
         if (strlen(cmdline) >= INFO_END - INFO_CMDLINE) {
            die("--cmdline is longer than %u bytes", INFO_END - INFO_CMDLINE - 1);
         }
      } else if (strcmp(argv[i], "--require-native-kernel") == 0) {
         need_native = true;
      } else if (argv[i][0] == '-' || image) {
         usage();
      } else {
         image = argv[i];
      }
   }
   if (!image) {
      usage();
   }
   if (kind == VMM_KIND_HARDWARE && vmm_kvm_check(err, sizeof err) < 0) {
      printf("SKIP: %s\n", err);
      return 77;
   }
   if (kind == VMM_KIND_HARDWARE && need_native) {
      double ns;

      if (vmm_kvm_probe_native(&ns, err, sizeof err) < 0) {
         die("native execution probe: %s", err);
      }
      if (ns > VMM_KVM_NATIVE_NS_MAX) {
         printf("SKIP: KVM on this host emulates guest kernel-mode code (%.0f ns per "
                "instruction, native is under %.0f); %s needs native kernel-mode execution\n",
                ns, VMM_KVM_NATIVE_NS_MAX, image);
         return 77;
      }
   }

   file = read_image(image, &size);
   ram_size = (uint64_t)mem_mib << 20;
   memfd = memfd_create("vmws-guest-ram", MFD_CLOEXEC);
   if (memfd < 0 || ftruncate(memfd, (off_t)ram_size) < 0) {
      die("cannot create %u MiB of guest RAM: %s", mem_mib, strerror(errno));
   }
   ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
   if (ram == MAP_FAILED) {
      die("cannot map guest RAM: %s", strerror(errno));
   }
   {
      const guest_ram_range usable[] = {
         { INFO_END, LOW_RAM_END - INFO_END },
         { HIGH_RAM_BASE, ram_size - HIGH_RAM_BASE },
      };

      if (guest_image_load(file, size, ram, ram_size, usable, 2, &img, err, sizeof err) < 0) {
         die("%s: %s", image, err);
      }
   }
   if (strcmp(entry_kind, "pvh") == 0 ? !img.has_pvh : !img.has_multiboot) {
      die("%s has no %s entry point", image, entry_kind);
   }

   memset(&r, 0, sizeof r);
   atomic_init(&r.exit_code, -1);
   atomic_init(&r.timed_out, false);
   pthread_mutex_init(&r.lock, NULL);
   pthread_cond_init(&r.cond, NULL);
   r.out = malloc(MAX_OUTPUT);
   if (!r.out) {
      die("out of memory");
   }
   /* The software monitor has no irqchip; the kit's programs need none. */
   cfg = (vmm_config){ .kind = kind, .nvcpus = 1, .io = &io_ops,
                       .io_opaque = &r, .kernel_irqchip = kind == VMM_KIND_HARDWARE };
   r.vm = vmm_vm_create(&cfg, err, sizeof err);
   if (!r.vm) {
      die("%s", err);
   }
   rc = vmm_vm_map(r.vm, 0, ram, ram_size, false);
   if (rc < 0) {
      die("cannot map guest RAM into the VM: %s", strerror(-rc));
   }
   cpu = vmm_vcpu_create(r.vm, 0, err, sizeof err);
   if (!cpu) {
      die("%s", err);
   }
   if (strcmp(entry_kind, "pvh") == 0) {
      set_entry_state(cpu, img.pvh_entry, 0, write_pvh_info(ram, ram_size, cmdline));
   } else {
      set_entry_state(cpu, img.mb_entry, 0x2badb002u,
                      write_multiboot_info(ram, ram_size, cmdline));
   }
   fprintf(stderr, "vmws-guest-run: %s: %s monitor, %s entry 0x%x, image at 0x%llx-0x%llx, "
           "%u MiB RAM\n", image, vmm_kind_name(kind), entry_kind, strcmp(entry_kind, "pvh") == 0 ? img.pvh_entry : img.mb_entry,
           (unsigned long long)img.lo, (unsigned long long)img.hi, mem_mib);

   if (pthread_create(&wd, NULL, watchdog, &r) != 0) {
      die("cannot start the watchdog thread");
   }
   for (;;) {
      rc = vmm_vcpu_run(cpu, &ex);
      if (rc < 0 || ex.reason != VMM_EXIT_STOP || atomic_load(&r.exit_code) >= 0 ||
          atomic_load(&r.timed_out)) {
         break;
      }
   }
   pthread_mutex_lock(&r.lock);
   r.done = true;
   pthread_cond_signal(&r.cond);
   pthread_mutex_unlock(&r.lock);
   pthread_join(wd, NULL);
   fflush(stdout);

   if (atomic_load(&r.exit_code) >= 0) {
      rc = verdict(&r);
   } else if (atomic_load(&r.timed_out)) {
      fprintf(stderr, "vmws-guest-run: TIMEOUT: no result after %u s\n", timeout_s);
      rc = 1;
   } else {
      fprintf(stderr, "vmws-guest-run: the guest stopped without a result: %s\n",
              rc < 0 ? strerror(-rc) :
              ex.reason == VMM_EXIT_SHUTDOWN ? "shutdown (triple fault)" : ex.msg);
      if (ex.reason == VMM_EXIT_SHUTDOWN) {
         fprintf(stderr, "vmws-guest-run: %s\n", ex.msg);
      }
      rc = 1;
   }
   vmm_vm_destroy(r.vm);
   munmap(ram, ram_size);
   close(memfd);
   free(file);
   free(r.out);
   return rc;
}
