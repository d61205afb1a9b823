/*
 * vmx/ckpt/tests/test-ckpt-cpu.c - the vCPU state section with real guest
 * code. A guest program (ckpt-test-guest.S: a hash over registers, SSE
 * state and memory) runs part of its work under one monitor, is saved (its
 * vCPU section and its RAM, through the checkpoint file), restored into a
 * fresh VM under the other monitor and finishes there with the result the
 * host computes.
 *
 *   test-ckpt-cpu soft   software monitor only: soft -> soft, stopped at a
 *                        random moment; save -> restore -> save gives the
 *                        same bytes; bad values refused, missing items
 *                        keep defaults
 *   test-ckpt-cpu kvm    KVM -> software and software -> KVM (both stopped
 *                        at a guest report and at a random moment), KVM ->
 *                        KVM, and the byte compare under KVM; exits 77
 *                        with the reason when /dev/kvm cannot run guests
 *
 * The software VM has a small irqchip (a local APIC page, APIC base and
 * CR8 kept here) so that the LAPIC item travels both ways.
 */
#include "vmm/kvm/tests/kvm-test-env.h"
#include "vmx/ckpt/ckpt-cpu.h"
#include "vmx/ckpt/ckpt-file.h"

#include <errno.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

extern const uint8_t ckpt_guest_start[], ckpt_guest_end[], ckpt_guest_prog[];

#define PROG_GPA 0x20000u
#define DATA_GPA 0x100000u
#define ITERS 3000000ull

static int test_no;
static char *tmpdir;

#define OK(...) do { printf("ok %d - ", ++test_no); printf(__VA_ARGS__); printf("\n"); } while (0)

/* ---- what the guest computes ------------------------------------------------ */

static void
expect(uint64_t n, uint64_t *rax_out, uint64_t *xmm_out)
{
   static uint64_t data[8192];
   uint64_t rax = 0xcbf29ce484222325ull, xmm = 0;
   memset(data, 0, sizeof data);
   for (uint64_t i = 0; i < n; i++) {
      uint64_t rdx = (i * 0x9e3779b97f4a7c15ull) ^ rax;
      data[i & 8191] = rdx;
      rax += rdx;
      rax *= 0x100000001b3ull;
      xmm += rax;
      rax += data[(5 * i) & 8191];
   }
   *rax_out = rax;
   *xmm_out = xmm;
}

/* ---- a minimal irqchip for the software monitor ------------------------------ */

typedef struct mini_ic {
   vmm_lapic page;
   uint64_t apic_base, cr8, tsc_deadline;
} mini_ic;

/* The LVT timer is in TSC-deadline mode (bits 18:17 = 2). */
static bool
ic_tscdl_mode(mini_ic *ic)
{
   uint32_t lvtt;
   memcpy(&lvtt, ic->page.regs + 0x320, 4);
   return ((lvtt >> 17) & 3) == 2;
}

static mini_ic ics[2];   /* one per software VM alive at a time */

static int ic_pending(void *o, unsigned v) { (void)o; (void)v; return -1; }
static int ic_ack(void *o, unsigned v) { (void)o; (void)v; return -1; }

static bool
ic_msr_read(void *o, unsigned v, uint32_t msr, uint64_t *val)
{
   (void)v;
   mini_ic *ic = o;
   if (msr == 0x6e0) {   /* reads 0 outside TSC-deadline mode */
      *val = ic_tscdl_mode(ic) ? ic->tsc_deadline : 0;
      return true;
   }
   if (msr != 0x1b) {
      return false;
   }
   *val = ic->apic_base;
   return true;
}

static bool
ic_msr_write(void *o, unsigned v, uint32_t msr, uint64_t val, uint64_t tsc)
{
   (void)v;
   (void)tsc;
   mini_ic *ic = o;
   if (msr == 0x6e0) {   /* ignored outside TSC-deadline mode */
      if (ic_tscdl_mode(ic)) {
         ic->tsc_deadline = val;
      }
      return true;
   }
   if (msr != 0x1b) {
      return false;
   }
   ic->apic_base = val;
   return true;
}

static uint64_t ic_get_cr8(void *o, unsigned v) { (void)v; return ((mini_ic *)o)->cr8; }
static void ic_set_cr8(void *o, unsigned v, uint64_t x) { (void)v; ((mini_ic *)o)->cr8 = x; }

static int
ic_get_lapic(void *o, unsigned v, vmm_lapic *l)
{
   (void)v;
   *l = ((mini_ic *)o)->page;
   return 0;
}

static int
ic_set_lapic(void *o, unsigned v, const vmm_lapic *l)
{
   (void)v;
   ((mini_ic *)o)->page = *l;
   return 0;
}

static const vmm_irqchip_ops ic_ops = {
   .pending = ic_pending, .ack = ic_ack,
   .msr_read = ic_msr_read, .msr_write = ic_msr_write,
   .get_cr8 = ic_get_cr8, .set_cr8 = ic_set_cr8,
   .get_lapic = ic_get_lapic, .set_lapic = ic_set_lapic,
};

static void
ic_reset(mini_ic *ic)
{
   uint32_t v;
   memset(ic, 0, sizeof *ic);
   ic->apic_base = 0xfee00900ull;   /* enabled, BSP */
   v = 0x00050014;                   /* version */
   memcpy(ic->page.regs + 0x30, &v, 4);
   v = 0xff;                         /* SVR: software-disabled */
   memcpy(ic->page.regs + 0xf0, &v, 4);
   v = 0xffffffff;                   /* DFR */
   memcpy(ic->page.regs + 0xe0, &v, 4);
   v = 0x10000;                      /* LVTs masked */
   for (unsigned r = 0x320; r <= 0x370; r += 0x10) {
      memcpy(ic->page.regs + r, &v, 4);
   }
}

/* ---- VMs ------------------------------------------------------------------------ */

static atomic_int midpoints, dones;

static void
pio_write(void *opaque, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t val)
{
   (void)opaque;
   (void)size;
   (void)val;
   if (port == 0xe1) {
      atomic_fetch_add(&midpoints, 1);
      vmm_vcpu_kick(cpu);
   } else if (port == 0xe2) {
      atomic_fetch_add(&dones, 1);
      vmm_vcpu_kick(cpu);
   }
}

static const vmm_io_ops io = { .pio_write = pio_write };

static void
vm_new(kvmtest_env *env, vmm_kind kind, unsigned slot)
{
   kvmtest_kind = kind;
   if (kind == VMM_KIND_SOFTWARE) {
      ic_reset(&ics[slot]);
      kvmtest_irqchip = &ic_ops;
      kvmtest_irqchip_opaque = &ics[slot];
   } else {
      kvmtest_irqchip = NULL;
      kvmtest_irqchip_opaque = NULL;
   }
   kvmtest_env_init(env, 1, &io, NULL);
}

/* Put the program in RAM and start it at CPL3. */
static void
prog_start(kvmtest_env *env, uint64_t iters, uint64_t report_at)
{
   vmm_regs r;
   memcpy(env->mem + PROG_GPA, ckpt_guest_start, (size_t)(ckpt_guest_end - ckpt_guest_start));
   memset(env->mem + DATA_GPA, 0, 65536);
   kvmtest_enter(env, PROG_GPA + (uint64_t)(ckpt_guest_prog - ckpt_guest_start), true, 0);
   KVMTEST_CHECK(vmm_vcpu_get_regs(env->cpu, &r) == 0, "get_regs");
   r.gpr[VMM_RDI] = DATA_GPA;
   r.gpr[VMM_RCX] = iters;
   r.gpr[VMM_RSI] = report_at;
   KVMTEST_CHECK(vmm_vcpu_set_regs(env->cpu, &r) == 0, "set_regs");
}

typedef struct stopper {
   vmm_vm *vm;
   unsigned ms;
   const volatile uint64_t *watch;   /* or NULL */
   int dones;                        /* the count of ends at the start */
} stopper;

/* Stop the VM after s->ms milliseconds, or, with a watch, as soon as the
 * guest has written that word of its data (it writes word i at iteration
 * i of its first pass): a moment inside the program however fast the
 * host runs it. */
static void *
stop_later(void *arg)
{
   stopper *s = arg;
   if (s->watch) {
      double t0 = kvmtest_now();
      while (*s->watch == 0 && atomic_load(&dones) == s->dones && kvmtest_now() - t0 < 30) {
      }
   } else {
      g_usleep(s->ms * 1000ul);
   }
   vmm_vm_stop(s->vm);
   return NULL;
}

/* Run until the guest reports (port 0xe1 or 0xe2) or, with stop_ms or
 * watch_word, until stopped from another thread (see stop_later). */
static vmm_exit
run(kvmtest_env *env, unsigned stop_ms, unsigned watch_word)
{
   vmm_exit ex;
   pthread_t t;
   bool stopper_on = stop_ms || watch_word;
   stopper s = { env->vm, stop_ms, NULL, atomic_load(&dones) };
   if (watch_word) {
      s.watch = (const volatile uint64_t *)(env->mem + DATA_GPA) + watch_word;
   }
   if (stopper_on) {
      KVMTEST_CHECK(pthread_create(&t, NULL, stop_later, &s) == 0, "pthread_create");
   }
   int e = vmm_vcpu_run(env->cpu, &ex);
   KVMTEST_CHECK(e == 0, "run: %d (%s)", e, ex.msg);
   KVMTEST_CHECK(ex.reason == VMM_EXIT_STOP, "run ended with %d (%s)", ex.reason, ex.msg);
   if (stopper_on) {
      pthread_join(t, NULL);
   }
   return ex;
}

/* Run to the end (port 0xe2), through stop requests left over. */
static void
run_to_end(kvmtest_env *env)
{
   int before = atomic_load(&dones);
   double t0 = kvmtest_now();
   while (atomic_load(&dones) == before) {
      run(env, 0, 0);
      KVMTEST_CHECK(kvmtest_now() - t0 < 120, "the guest did not finish");
   }
}

static uint64_t
rip_of(kvmtest_env *env)
{
   vmm_regs r;
   KVMTEST_CHECK(vmm_vcpu_get_regs(env->cpu, &r) == 0, "get_regs");
   return r.rip;
}

/* Save the vCPU and RAM of env into a checkpoint file. */
static char *
save_file(kvmtest_env *env, const char *name)
{
   char *path = g_build_filename(tmpdir, name, NULL);
   char *err = NULL;
   GBytes *cpu = ckpt_cpu_save_section(env->cpu, &err);
   KVMTEST_CHECK(cpu, "save cpu0: %s", err);
   ckpt_file_writer *w = ckpt_file_create(path, NULL, &err);
   KVMTEST_CHECK(w, "create: %s", err);
   gsize n;
   const void *d = g_bytes_get_data(cpu, &n);
   KVMTEST_CHECK(ckpt_file_add_section(w, "cpu0", CKPT_FILE_CPU, d, n, &err), "%s", err);
   KVMTEST_CHECK(ckpt_file_add_memory(w, "ram", env->mem, KVMTEST_RAM, NULL, NULL, &err), "%s",
                 err);
   KVMTEST_CHECK(ckpt_file_commit(w, &err), "commit: %s", err);
   g_bytes_unref(cpu);
   return path;
}

/* A fresh VM of the given kind, resumed from the file (RAM mapped lazily). */
static void
resume_file(kvmtest_env *env, vmm_kind kind, unsigned slot, const char *path)
{
   char *err = NULL;
   vm_new(env, kind, slot);
   ckpt_file *f = ckpt_file_open(path, &err);
   KVMTEST_CHECK(f, "open: %s", err);
   KVMTEST_CHECK(ckpt_file_restore_memory(f, "ram", env->mem, KVMTEST_RAM, CKPT_FILE_RESTORE_LAZY,
                                          NULL, NULL, &err),
                 "restore memory: %s", err);
   size_t len;
   const void *sec = ckpt_file_section(f, "cpu0", CKPT_FILE_CPU, &len);
   KVMTEST_CHECK(sec, "no cpu0 section");
   KVMTEST_CHECK(ckpt_cpu_restore_section(env->cpu, sec, len, &err), "restore cpu0: %s", err);
   ckpt_file_close(f);
}

static void
check_result(kvmtest_env *env, uint64_t iters, const char *what)
{
   vmm_regs r;
   uint64_t rax, xmm;
   expect(iters, &rax, &xmm);
   KVMTEST_CHECK(vmm_vcpu_get_regs(env->cpu, &r) == 0, "get_regs");
   KVMTEST_CHECK(r.gpr[VMM_RAX] == rax && r.gpr[VMM_RBX] == xmm,
                 "%s: the guest computed rax %016llx xmm0 %016llx, expected %016llx %016llx", what,
                 (unsigned long long)r.gpr[VMM_RAX], (unsigned long long)r.gpr[VMM_RBX],
                 (unsigned long long)rax, (unsigned long long)xmm);
}

static const char *
kind_name(vmm_kind k)
{
   return k == VMM_KIND_HARDWARE ? "KVM" : "software";
}

/* Run part of the program under `from` (to the report at iteration
 * report_at, or, with report_at 0, stopped at a random moment), save,
 * resume under `to`, finish. The random moment is 20-80 ms in under the
 * software monitor; under KVM, which runs the loop natively (ITERS in a
 * few milliseconds), right after a random iteration of the first pass.
 * Should the guest still finish first (a host thread descheduled), the
 * program runs again with four times the work. */
static void
migrate(vmm_kind from, vmm_kind to, uint64_t report_at)
{
   kvmtest_env a, b;
   uint64_t iters = ITERS;
   for (;;) {
      unsigned stop_ms = 0, watch = 0;
      if (!report_at && from == VMM_KIND_SOFTWARE) {
         stop_ms = 20 + (unsigned)(rand() % 60);
      } else if (!report_at) {
         watch = 1 + (unsigned)(rand() % 8191);
      }
      vm_new(&a, from, 0);
      prog_start(&a, iters, report_at);
      int mid = atomic_load(&midpoints), done = atomic_load(&dones);
      run(&a, stop_ms, watch);
      if (atomic_load(&dones) == done) {
         KVMTEST_CHECK(report_at == 0 || atomic_load(&midpoints) == mid + 1, "no report");
         break;
      }
      KVMTEST_CHECK(report_at == 0 && iters < 64 * ITERS,
                    "the guest finished before the checkpoint (%llu iterations)",
                    (unsigned long long)iters);
      printf("# %s finished %llu iterations before the stop; again with 4 times as many\n",
             kind_name(from), (unsigned long long)iters);
      kvmtest_env_fini(&a);
      iters *= 4;
   }
   vmm_regs r;
   KVMTEST_CHECK(vmm_vcpu_get_regs(a.cpu, &r) == 0, "get_regs");
   char *path = save_file(&a, "migrate.vmss");
   kvmtest_env_fini(&a);

   resume_file(&b, to, 1, path);
   uint64_t rip = rip_of(&b);
   KVMTEST_CHECK(rip == r.rip, "rip %llx after restore, %llx saved", (unsigned long long)rip,
                 (unsigned long long)r.rip);
   run_to_end(&b);
   char what[96];
   snprintf(what, sizeof what, "%s -> %s", kind_name(from), kind_name(to));
   check_result(&b, iters, what);
   kvmtest_env_fini(&b);
   g_unlink(path);
   g_free(path);
   OK("%s: checkpoint %s (rip %llx), finished with the right result", what,
      report_at ? "at the guest's report" : "at a random moment", (unsigned long long)r.rip);
}

/* The section of a vCPU, with the TSC value masked (it keeps counting). */
static GBytes *
save_masked(vmm_vcpu *cpu, uint64_t *tsc)
{
   char *err = NULL;
   GBytes *b = ckpt_cpu_save_section(cpu, &err);
   KVMTEST_CHECK(b, "save: %s", err);
   gsize n;
   const void *orig = g_bytes_get_data(b, &n);
   uint8_t *d = g_memdup2(orig, n);
   g_bytes_unref(b);
   const char tag[] = "msr.00000010";
   uint8_t *p = memmem(d, n, tag, sizeof tag - 1);
   KVMTEST_CHECK(p && p + sizeof tag - 1 + 5 + 8 <= d + n, "no TSC item");
   p += sizeof tag - 1 + 5;   /* type, length */
   memcpy(tsc, p, 8);
   memset(p, 0, 8);
   return g_bytes_new_take(d, n);
}

/* save -> restore into a fresh VM -> save: the same bytes, but the TSC,
 * which moved forward by the time between the saves. */
static void
same_bytes(vmm_kind kind)
{
   kvmtest_env a, b;
   char *err = NULL;
   vm_new(&a, kind, 0);
   prog_start(&a, ITERS, ITERS / 3);
   run(&a, 0, 0);
   uint64_t t1, t2, t3;
   GBytes *s1 = save_masked(a.cpu, &t1);
   GBytes *raw = ckpt_cpu_save_section(a.cpu, &err);

   vm_new(&b, kind, 1);
   gsize n;
   const void *d = g_bytes_get_data(raw, &n);
   KVMTEST_CHECK(ckpt_cpu_restore_section(b.cpu, d, n, &err), "restore: %s", err);
   GBytes *s2 = save_masked(b.cpu, &t2);
   KVMTEST_CHECK(g_bytes_equal(s1, s2), "%s: save -> restore -> save changed the section",
                 kind_name(kind));
   /* Saving again from the same vCPU too. */
   GBytes *s3 = save_masked(b.cpu, &t3);
   KVMTEST_CHECK(g_bytes_equal(s2, s3), "two saves differ");
   KVMTEST_CHECK(t1 <= t2 && t2 <= t3 && t3 - t1 < 100000000000ull, "TSC %llu %llu %llu",
                 (unsigned long long)t1, (unsigned long long)t2, (unsigned long long)t3);
   /* The LAPIC item is there and came through. */
   KVMTEST_CHECK(memmem(d, n, "lapic", 5), "no LAPIC item");
   g_bytes_unref(s1);
   g_bytes_unref(s2);
   g_bytes_unref(s3);
   g_bytes_unref(raw);
   kvmtest_env_fini(&a);
   kvmtest_env_fini(&b);
   OK("%s: save -> restore -> save gives the same %zu bytes (TSC aside: +%llu)", kind_name(kind),
      (size_t)n, (unsigned long long)(t2 - t1));
}

/* Both monitors at the same point of the program save the same items: all
 * but those that are not architectural state the two could agree on (the
 * TSC, which runs on; the LAPIC page, whose unused and read-only registers
 * each implementation fills its own way). */
static void
same_format(void)
{
   static const char *const differ_ok[] = { "msr.00000010", "lapic" };
   kvmtest_env k, s;
   char *err = NULL;
   vm_new(&k, VMM_KIND_HARDWARE, 0);
   vm_new(&s, VMM_KIND_SOFTWARE, 1);
   prog_start(&k, ITERS, ITERS / 3);
   prog_start(&s, ITERS, ITERS / 3);
   /* The same x87 state in both: their reset values differ (KVM starts
    * with FNINIT's control word 0x37f, the software monitor with the
    * power-on 0x40), which is state, not format. */
   static vmm_fpu f;
   KVMTEST_CHECK(vmm_vcpu_get_fpu(k.cpu, &f) == 0 && vmm_vcpu_set_fpu(s.cpu, &f) == 0, "fpu");
   run(&k, 0, 0);
   run(&s, 0, 0);
   GBytes *bk = ckpt_cpu_save_section(k.cpu, &err);
   GBytes *bs = ckpt_cpu_save_section(s.cpu, &err);
   gsize nk, ns;
   const uint8_t *dk = g_bytes_get_data(bk, &nk), *ds = g_bytes_get_data(bs, &ns);
   /* Walk both item lists (the same tags in the same order). */
   size_t pk = 2 + 4 + 4 + 4, ps = pk;
   unsigned items = 0, differ = 0;
   GString *diffs = g_string_new("");
   KVMTEST_CHECK(nk > pk && ns > ps && memcmp(dk, ds, pk) == 0, "section headers differ");
   while (pk < nk && ps < ns) {
      unsigned tk = dk[pk] | dk[pk + 1] << 8, ts = ds[ps] | ds[ps + 1] << 8;
      KVMTEST_CHECK(tk == ts && memcmp(dk + pk + 2, ds + ps + 2, tk) == 0, "tags differ at item %u",
                    items);
      char tag[256];
      memcpy(tag, dk + pk + 2, tk);
      tag[tk] = 0;
      uint32_t lk, ls;
      memcpy(&lk, dk + pk + 2 + tk + 1, 4);
      memcpy(&ls, ds + ps + 2 + tk + 1, 4);
      bool same = lk == ls && memcmp(dk + pk + 7 + tk, ds + ps + 7 + tk, lk) == 0;
      bool allowed = false;
      for (unsigned i = 0; i < G_N_ELEMENTS(differ_ok); i++) {
         allowed |= strcmp(tag, differ_ok[i]) == 0;
      }
      if (!same) {
         g_string_append_printf(diffs, " %s", tag);
         if (!allowed) {
            differ++;
            if (lk == 8) {
               uint64_t a, b;
               memcpy(&a, dk + pk + 7 + tk, 8);
               memcpy(&b, ds + ps + 7 + tk, 8);
               printf("# %s: KVM %016llx, software %016llx\n", tag, (unsigned long long)a,
                      (unsigned long long)b);
            } else if (strcmp(tag, "xsave") == 0) {
               for (uint32_t i = 0; i < lk; i++) {
                  if (dk[pk + 7 + tk + i] != ds[ps + 7 + tk + i]) {
                     printf("# xsave byte %u: KVM %02x, software %02x\n", i, dk[pk + 7 + tk + i],
                            ds[ps + 7 + tk + i]);
                  }
               }
            } else {
               printf("# %s differs\n", tag);
            }
         }
      }
      pk += 7 + tk + lk;
      ps += 7 + tk + ls;
      items++;
   }
   KVMTEST_CHECK(pk == nk && ps == ns, "the sections have different items");
   KVMTEST_CHECK(differ == 0, "%u items differ between the monitors", differ);
   g_bytes_unref(bk);
   g_bytes_unref(bs);
   kvmtest_env_fini(&k);
   kvmtest_env_fini(&s);
   OK("KVM and software at the same guest point: the same %u items, equal but for:%s", items,
      diffs->str);
   g_string_free(diffs, TRUE);
}

/* An armed TSC-deadline timer (KVM keeps it outside the LAPIC page) comes
 * back armed, at the same deadline, in a VM of the other kind. */
static void
tsc_deadline(vmm_kind from, vmm_kind to)
{
   kvmtest_env a, b;
   char *err = NULL;
   vm_new(&a, from, 0);
   vmm_lapic l;
   KVMTEST_CHECK(vmm_vcpu_get_lapic(a.cpu, &l) == 0, "get_lapic");
   uint32_t svr = 0x1ff, lvtt = 0x000500ec;   /* enabled; TSC-deadline mode, masked, 0xec */
   memcpy(l.regs + 0xf0, &svr, 4);
   memcpy(l.regs + 0x320, &lvtt, 4);
   KVMTEST_CHECK(vmm_vcpu_set_lapic(a.cpu, &l) == 0, "set_lapic");
   vmm_msr tsc = { .index = 0x10 };
   KVMTEST_CHECK(vmm_vcpu_get_msrs(a.cpu, &tsc, 1) == 0, "read the TSC");
   uint64_t deadline = tsc.value + (1ull << 42) + (uint64_t)(rand() & 0xffff);
   vmm_msr m = { .index = 0x6e0, .value = deadline };
   KVMTEST_CHECK(vmm_vcpu_set_msrs(a.cpu, &m, 1) == 0, "arm the TSC deadline");
   m.value = 0;
   KVMTEST_CHECK(vmm_vcpu_get_msrs(a.cpu, &m, 1) == 0 && m.value == deadline,
                 "%s: the deadline reads back as 0x%llx, armed at 0x%llx", kind_name(from),
                 (unsigned long long)m.value, (unsigned long long)deadline);
   GBytes *sec = ckpt_cpu_save_section(a.cpu, &err);
   KVMTEST_CHECK(sec, "save: %s", err);
   gsize n;
   const void *d = g_bytes_get_data(sec, &n);
   KVMTEST_CHECK(memmem(d, n, "tsc_deadline", 12), "no tsc_deadline item");
   vm_new(&b, to, 1);
   KVMTEST_CHECK(ckpt_cpu_restore_section(b.cpu, d, n, &err), "restore: %s", err);
   m.value = 0;
   KVMTEST_CHECK(vmm_vcpu_get_msrs(b.cpu, &m, 1) == 0 && m.value == deadline,
                 "%s -> %s: the deadline is 0x%llx after the restore, 0x%llx saved",
                 kind_name(from), kind_name(to), (unsigned long long)m.value,
                 (unsigned long long)deadline);
   g_bytes_unref(sec);
   kvmtest_env_fini(&a);
   kvmtest_env_fini(&b);
   OK("%s -> %s: an armed TSC-deadline timer keeps its deadline", kind_name(from),
      kind_name(to));
}

/* ---- bad values ------------------------------------------------------------ */

typedef void (*mutate_fn)(ckpt_writer *w);

static void m_cr0(ckpt_writer *w) { ckpt_put_u64(w, "cr0", 0x80000011ull | (1ull << 40)); }
static void m_pg_no_pe(ckpt_writer *w) { ckpt_put_u64(w, "cr0", 0x80000000ull); }
static void m_cr4(ckpt_writer *w) { ckpt_put_u64(w, "cr4", 1ull << 30); }
static void m_efer(ckpt_writer *w) { ckpt_put_u64(w, "efer", 0x400); }
static void m_rflags(ckpt_writer *w) { ckpt_put_u64(w, "rflags", 0x8); }
static void m_attr(ckpt_writer *w) { ckpt_put_u32(w, "cs.attr", 0x100); }
static void m_fs(ckpt_writer *w) { ckpt_put_u64(w, "fs.base", 0x0000800000000000ull); }
static void m_cr8(ckpt_writer *w) { ckpt_put_u64(w, "cr8", 16); }
static void m_apic(ckpt_writer *w) { ckpt_put_u64(w, "apic_base", 0xfee00400ull); }
static void m_xcr0(ckpt_writer *w) { ckpt_put_u64(w, "xcr0", 4); }
static void m_mp(ckpt_writer *w) { ckpt_put_u8(w, "mp_state", 9); }
static void m_shadow(ckpt_writer *w) { ckpt_put_u8(w, "ev.shadow", 4); }
static void m_two_events(ckpt_writer *w)
{
   ckpt_put_u8(w, "ev.exc.injected", 1);
   ckpt_put_u8(w, "ev.nmi.injected", 1);
}
static void m_exc(ckpt_writer *w) { ckpt_put_u8(w, "ev.exc.injected", 1); ckpt_put_u8(w, "ev.exc.nr", 40); }
static void m_dr7(ckpt_writer *w) { ckpt_put_u64(w, "dr7", 1ull << 40); }
static void m_pat(ckpt_writer *w) { ckpt_put_u64(w, "msr.00000277", 0x0202020202020202ull); }
static void m_lstar(ckpt_writer *w) { ckpt_put_u64(w, "msr.c0000082", 0x0000900000000000ull); }
static void m_type(ckpt_writer *w) { ckpt_put_u32(w, "rip", 5); }
static void m_lapic_size(ckpt_writer *w) { ckpt_put_bytes(w, "lapic", "x", 1); }

static void
m_xsave(ckpt_writer *w, unsigned off, uint8_t val)
{
   static uint8_t x[VMM_XSAVE_SIZE];
   memset(x, 0, sizeof x);
   x[24] = 0x80;   /* MXCSR 0x1f80 */
   x[25] = 0x1f;
   x[0] = 0x7f;    /* FCW 0x37f */
   x[1] = 0x03;
   x[512] = 3;
   x[off] = val;
   ckpt_put_u64(w, "xcr0", 3);
   ckpt_put_bytes(w, "xsave", x, sizeof x);
}

static void m_xcomp(ckpt_writer *w) { m_xsave(w, 527, 0x80); }
static void m_xbv(ckpt_writer *w) { m_xsave(w, 512, 0x83); }
static void m_mxcsr(ckpt_writer *w) { m_xsave(w, 26, 0x01); }

static void
bad_values(void)
{
   static const struct {
      mutate_fn fn;
      const char *expect;
   } cases[] = {
      { m_cr0, "cr0 0x10080000011 is not a valid value" },
      { m_pg_no_pe, "cr0 0x80000000 is not a valid value" },
      { m_cr4, "cr4 0x40000000 has reserved bits set" },
      { m_efer, "does not agree with cr0" },
      { m_rflags, "rflags 0x8 has reserved bits wrong" },
      { m_attr, "item 'cs.attr' (0x100) has reserved bits set" },
      { m_fs, "fs base 0x800000000000 is not a valid address" },
      { m_cr8, "cr8 16 is more than 15" },
      { m_apic, "apic_base 0xfee00400 is not a valid value" },
      { m_xcr0, "xcr0 0x4 is not a valid value" },
      { m_mp, "mp_state 9 is not a valid value" },
      { m_shadow, "interrupt shadow 0x4" },
      { m_two_events, "more than one event" },
      { m_exc, "injected exception 40" },
      { m_dr7, "has reserved bits set" },
      { m_pat, "PAT 0x202020202020202 has an invalid memory type" },
      { m_lstar, "MSR 0xc0000082 value 0x900000000000 is not a canonical address" },
      { m_type, "item 'rip' has type 3, expected 4" },
      { m_lapic_size, "item 'lapic' has 1 bytes, expected 1024" },
      { m_xcomp, "not in the standard format" },
      { m_xbv, "state (0x83) that xcr0" },
      { m_mxcsr, "mxcsr 0x11f80 has reserved bits set" },
   };
   kvmtest_env env;
   vm_new(&env, VMM_KIND_SOFTWARE, 0);
   char *err = NULL;
   GBytes *good = ckpt_cpu_save_section(env.cpu, &err);
   for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
      ckpt_writer *w = ckpt_writer_new("cpu0", CKPT_CPU_VERSION);
      cases[i].fn(w);
      GBytes *b = ckpt_writer_finish(w);
      gsize n;
      const void *d = g_bytes_get_data(b, &n);
      vmm_regs before, after;
      KVMTEST_CHECK(vmm_vcpu_get_regs(env.cpu, &before) == 0, "get_regs");
      KVMTEST_CHECK(!ckpt_cpu_restore_section(env.cpu, d, n, &err), "case %u was accepted", i);
      KVMTEST_CHECK(strstr(err, cases[i].expect), "case %u: expected '%s', got '%s'", i,
                    cases[i].expect, err);
      KVMTEST_CHECK(g_str_has_prefix(err, "cpu0: ") || g_str_has_prefix(err, "checkpoint section cpu0"),
                    "case %u: '%s' does not name the section", i, err);
      /* Nothing was set: the checks come first. */
      KVMTEST_CHECK(vmm_vcpu_get_regs(env.cpu, &after) == 0 && !memcmp(&before, &after, sizeof before),
                    "case %u changed the registers", i);
      g_clear_pointer(&err, g_free);
      g_bytes_unref(b);
   }
   OK("%u kinds of bad values are refused with a message, before anything is set",
      (unsigned)G_N_ELEMENTS(cases));

   /* Missing items keep the vCPU's values; unknown ones are skipped; a
    * later section version loads. */
   vmm_regs r0, r1;
   vmm_sregs s0, s1;
   KVMTEST_CHECK(vmm_vcpu_get_regs(env.cpu, &r0) == 0 && vmm_vcpu_get_sregs(env.cpu, &s0) == 0,
                 "get");
   ckpt_writer *w = ckpt_writer_new("cpu0", CKPT_CPU_VERSION + 1);
   ckpt_put_u64(w, "rax", 0x1234);
   ckpt_put_u64(w, "some.future.register", 7);
   ckpt_put_bytes(w, "msr.12345678", "zz", 2);
   GBytes *b = ckpt_writer_finish(w);
   gsize n;
   const void *d = g_bytes_get_data(b, &n);
   KVMTEST_CHECK(ckpt_cpu_restore_section(env.cpu, d, n, &err), "sparse section: %s", err);
   KVMTEST_CHECK(vmm_vcpu_get_regs(env.cpu, &r1) == 0 && vmm_vcpu_get_sregs(env.cpu, &s1) == 0,
                 "get");
   KVMTEST_CHECK(r1.gpr[VMM_RAX] == 0x1234 && r1.rip == r0.rip && r1.rflags == r0.rflags &&
                 s1.cr0 == s0.cr0 && s1.efer == s0.efer && s1.seg[VMM_CS].selector ==
                 s0.seg[VMM_CS].selector, "missing items did not keep their values");
   g_bytes_unref(b);
   OK("missing items keep the vCPU's values, unknown items and a later version are accepted");

   /* Another vCPU's section, junk after it, a truncated one. */
   w = ckpt_writer_new("cpu1", CKPT_CPU_VERSION);
   b = ckpt_writer_finish(w);
   d = g_bytes_get_data(b, &n);
   KVMTEST_CHECK(!ckpt_cpu_restore_section(env.cpu, d, n, &err) && strstr(err, "not for vCPU 0"),
                 "cpu1 into cpu0: %s", err ? err : "accepted");
   g_clear_pointer(&err, g_free);
   g_bytes_unref(b);
   d = g_bytes_get_data(good, &n);
   KVMTEST_CHECK(!ckpt_cpu_restore_section(env.cpu, d, n - 3, &err) && strstr(err, "truncated"),
                 "truncated: %s", err ? err : "accepted");
   g_clear_pointer(&err, g_free);
   uint8_t *more = g_malloc0(n + 4);
   memcpy(more, d, n);
   KVMTEST_CHECK(!ckpt_cpu_restore_section(env.cpu, more, n + 4, &err) && strstr(err, "junk"),
                 "junk: %s", err ? err : "accepted");
   g_clear_pointer(&err, g_free);
   g_free(more);
   /* The good one still restores. */
   KVMTEST_CHECK(ckpt_cpu_restore_section(env.cpu, d, n, &err), "good: %s", err);
   g_bytes_unref(good);
   kvmtest_env_fini(&env);
   OK("a section for another vCPU, a truncated one and one with junk after it are refused");
}

/* A software VM without a local APIC cannot take one. */
static void
no_lapic(void)
{
   kvmtest_env a, b;
   char *err = NULL;
   vm_new(&a, VMM_KIND_SOFTWARE, 0);
   GBytes *s = ckpt_cpu_save_section(a.cpu, &err);
   kvmtest_kind = VMM_KIND_SOFTWARE;
   kvmtest_irqchip = NULL;
   kvmtest_env_init(&b, 1, &io, NULL);
   gsize n;
   const void *d = g_bytes_get_data(s, &n);
   KVMTEST_CHECK(!ckpt_cpu_restore_section(b.cpu, d, n, &err) && strstr(err, "local APIC"),
                 "LAPIC into a VM without one: %s", err ? err : "accepted");
   g_free(err);
   /* ...and saving from it has no LAPIC item, which restores anywhere. */
   GBytes *s2 = ckpt_cpu_save_section(b.cpu, &err);
   d = g_bytes_get_data(s2, &n);
   KVMTEST_CHECK(!memmem(d, n, "lapic", 5), "a LAPIC item from a VM without one");
   KVMTEST_CHECK(ckpt_cpu_restore_section(a.cpu, d, n, &err), "%s", err);
   g_bytes_unref(s);
   g_bytes_unref(s2);
   kvmtest_env_fini(&a);
   kvmtest_env_fini(&b);
   OK("a LAPIC is refused by a VM without one, with a message");
}

int
main(int argc, char **argv)
{
   bool kvm = argc > 1 && strcmp(argv[1], "kvm") == 0;
   char err[256];
   setvbuf(stdout, NULL, _IONBF, 0);
   if (kvm && vmm_kvm_check(err, sizeof err) < 0) {
      printf("SKIP: the KVM half needs /dev/kvm: %s\n", err);
      return 77;
   }
   tmpdir = g_dir_make_tmp("test-ckpt-cpu-XXXXXX", NULL);
   KVMTEST_CHECK(tmpdir, "tmpdir");
   srand((unsigned)time(NULL));
   if (!kvm) {
      printf("1..8\n");
      migrate(VMM_KIND_SOFTWARE, VMM_KIND_SOFTWARE, ITERS / 2);
      migrate(VMM_KIND_SOFTWARE, VMM_KIND_SOFTWARE, 0);
      same_bytes(VMM_KIND_SOFTWARE);
      bad_values();
      no_lapic();
      tsc_deadline(VMM_KIND_SOFTWARE, VMM_KIND_SOFTWARE);
   } else {
      printf("1..10\n");
      migrate(VMM_KIND_HARDWARE, VMM_KIND_SOFTWARE, ITERS / 3);
      migrate(VMM_KIND_SOFTWARE, VMM_KIND_HARDWARE, ITERS / 2);
      migrate(VMM_KIND_SOFTWARE, VMM_KIND_HARDWARE, 0);
      migrate(VMM_KIND_HARDWARE, VMM_KIND_SOFTWARE, 0);
      migrate(VMM_KIND_HARDWARE, VMM_KIND_HARDWARE, ITERS / 4);
      same_bytes(VMM_KIND_HARDWARE);
      same_format();
      tsc_deadline(VMM_KIND_HARDWARE, VMM_KIND_HARDWARE);
      tsc_deadline(VMM_KIND_HARDWARE, VMM_KIND_SOFTWARE);
      tsc_deadline(VMM_KIND_SOFTWARE, VMM_KIND_HARDWARE);
   }
   g_rmdir(tmpdir);
   g_free(tmpdir);
   return 0;
}
