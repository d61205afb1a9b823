/*
 * The loaders' start states on real hardware virtualization: each
 * synthesized image is loaded, its initial registers are set on a KVM vCPU,
 * and it runs. The guest code reports on port 0x510 what the loader handed
 * it (boot magic, info pointers, header words read through the page
 * tables), then powers off through the ACPI PM1a control register of the
 * acpi-pm device, which must turn into a VMX_REQ_POWEROFF request.
 * Exits 77 (skip) when /dev/kvm cannot run guests.
 */
#include "images.h"
#include "vmx/boot/acpi-tables.h"
#include "vmx/boot/boot.h"
#include "vmx/dev/acpi/acpi.h"

#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAM_SIZE (64u << 20)
#define MAX_REPORTS 8

static int failures;

#define CHECK(cond, ...)                                                                  \
   do {                                                                                  \
      if (!(cond)) {                                                                     \
         fprintf(stderr, "FAIL: " __VA_ARGS__);                                          \
         fprintf(stderr, "\n");                                                          \
         failures++;                                                                     \
      }                                                                                  \
   } while (0)

typedef struct reports {
   unsigned n;
   uint32_t v[MAX_REPORTS];
} reports;

static void
report_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   reports *r = opaque;
   if (r->n < MAX_REPORTS) {
      r->v[r->n++] = (uint32_t)val;
   }
}

typedef struct watchdog {
   vmm_vm *vm;
   pthread_mutex_t lock;
   pthread_cond_t cond;
   bool done, fired;
} watchdog;

static void *
watchdog_main(void *opaque)
{
   watchdog *w = opaque;
   struct timespec until;
   clock_gettime(CLOCK_REALTIME, &until);
   until.tv_sec += 30;
   pthread_mutex_lock(&w->lock);
   while (!w->done) {
      if (pthread_cond_timedwait(&w->cond, &w->lock, &until) != 0) {
         w->fired = true;
         vmm_vm_stop(w->vm);
         break;
      }
   }
   pthread_mutex_unlock(&w->lock);
   return NULL;
}

static void
run_case(const char *name, GBytes *img, GBytes *initrd, vmx_boot_entry entry,
         const char *want_method, const uint32_t *want, unsigned nwant)
{
   printf("--- %s\n", name);
   uint8_t *mem = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
   g_assert_true(mem != MAP_FAILED);
   vmx_guest_ram ram = { mem, RAM_SIZE };

   vmx_platform *p = vmx_platform_new();
   const vmx_device_desc *table[] = { &vmx_dev_acpi_pm };
   vmxcfg *cfg = vmxcfg_new();
   char *err = NULL;
   g_assert_true(vmx_platform_add_devices(p, table, 1, cfg, &err));
   vmxcfg_free(cfg);
   reports rep = { 0 };
   vmx_io_region rr = { "test-report", NULL, report_write, &rep };
   g_assert_true(vmx_platform_map_pio(p, TEST_REPORT_PORT, 4, &rr, &err));

   vmm_config vc = {
      .kind = VMM_KIND_HARDWARE, .nvcpus = 1, .io = &vmx_platform_io_ops, .io_opaque = p,
      .kernel_irqchip = true,
   };
   char verr[256];
   vmm_vm *vm = vmm_vm_create(&vc, verr, sizeof verr);
   CHECK(vm, "%s: vmm_vm_create: %s", name, verr);
   if (!vm) {
      vmx_platform_free(p);
      munmap(mem, RAM_SIZE);
      return;
   }
   g_assert_cmpint(vmm_vm_map(vm, 0, mem, RAM_SIZE, false), ==, 0);
   vmx_platform_attach_vmm(p, vm);

   vmx_boot_file k = { g_bytes_get_data(img, NULL), g_bytes_get_size(img), name };
   vmx_boot_file rd = { 0 };
   if (initrd) {
      rd = (vmx_boot_file){ g_bytes_get_data(initrd, NULL), g_bytes_get_size(initrd), "initrd" };
   }
   vmx_boot_options o = {
      .kernel = &k, .initrd = initrd ? &rd : NULL, .cmdline = "console=ttyS0",
      .entry = entry, .ncpus = 1,
   };
   vmx_boot_state st;
   bool ok = vmx_boot_load(&o, &ram, &st, &err);
   CHECK(ok, "%s: load: %s", name, err);
   vmm_vcpu *cpu = ok ? vmm_vcpu_create(vm, 0, verr, sizeof verr) : NULL;
   CHECK(!ok || cpu, "%s: vmm_vcpu_create: %s", name, verr);
   if (cpu) {
      CHECK(strcmp(st.method, want_method) == 0, "%s: method %s", name, st.method);
      CHECK(vmm_vcpu_set_sregs(cpu, &st.sregs) == 0, "%s: set_sregs refused", name);
      CHECK(vmm_vcpu_set_regs(cpu, &st.regs) == 0, "%s: set_regs refused", name);
      watchdog w = { .vm = vm, .lock = PTHREAD_MUTEX_INITIALIZER,
                     .cond = PTHREAD_COND_INITIALIZER };
      pthread_t th;
      pthread_create(&th, NULL, watchdog_main, &w);
      vmm_exit ex;
      memset(&ex, 0, sizeof ex);
      int rc = vmm_vcpu_run(cpu, &ex);
      pthread_mutex_lock(&w.lock);
      w.done = true;
      pthread_cond_signal(&w.cond);
      pthread_mutex_unlock(&w.lock);
      pthread_join(th, NULL);
      char *why = NULL;
      vmx_request req = vmx_platform_take_request(p, &why);
      printf("run: rc %d, exit %d (%s), request %d (%s), %u reports:", rc, (int)ex.reason,
             ex.msg, (int)req, why ? why : "-", rep.n);
      for (unsigned i = 0; i < rep.n; i++) {
         printf(" 0x%x", rep.v[i]);
      }
      printf("\n");
      CHECK(rc == 0 && ex.reason == VMM_EXIT_STOP, "%s: the guest did not stop cleanly", name);
      CHECK(!w.fired, "%s: the guest ran for 30 s without powering off", name);
      CHECK(req == VMX_REQ_POWEROFF, "%s: no ACPI power-off request", name);
      CHECK(rep.n == nwant, "%s: %u reports, expected %u", name, rep.n, nwant);
      for (unsigned i = 0; i < nwant && i < rep.n; i++) {
         CHECK(rep.v[i] == want[i], "%s: report %u is 0x%x, expected 0x%x", name, i, rep.v[i],
               want[i]);
      }
      g_free(why);
   }
   g_free(err);
   vmx_platform_attach_vmm(p, NULL);
   vmm_vm_destroy(vm);
   vmx_platform_free(p);
   munmap(mem, RAM_SIZE);
}

int
main(void)
{
   char err[256];
   if (vmm_kvm_check(err, sizeof err) < 0) {
      printf("SKIP: %s\n", err);
      return 77;
   }
   const uint32_t hdrs = 0x53726448;   /* "HdrS" */
   GBytes *rd = g_bytes_new("\x11\x22\x33\x44 initrd", 11);

   GBytes *img = test_img_multiboot_elf32();
   /* multiboot: EAX, EBX, the mbi flags (mem, cmdline, mmap, loader name) */
   const uint32_t mb[] = { 0x2badb002, VMX_BOOT_INFO_ADDR, 0x245 };
   run_case("multiboot-elf32", img, NULL, VMX_BOOT_ENTRY_MULTIBOOT, "multiboot", mb, 3);
   /* the same image through PVH: EAX 0, EBX, start_info magic */
   const uint32_t pvh[] = { 0, VMX_BOOT_INFO_ADDR, 0x336ec578 };
   run_case("pvh-elf32", img, NULL, VMX_BOOT_ENTRY_AUTO, "pvh", pvh, 3);
   g_bytes_unref(img);

   img = test_img_multiboot_aout();
   const uint32_t mbm[] = { 0x2badb002, VMX_BOOT_INFO_ADDR, 0x24d };   /* + modules */
   run_case("multiboot-aout", img, rd, VMX_BOOT_ENTRY_AUTO, "multiboot", mbm, 3);
   g_bytes_unref(img);

   img = test_img_pvh_elf64();
   run_case("pvh-elf64", img, rd, VMX_BOOT_ENTRY_AUTO, "pvh", pvh, 3);
   g_bytes_unref(img);

   /* bzImage, 64-bit entry: RSI, "HdrS", cmd_line_ptr, the initrd's first
    * dword read through the identity page tables */
   img = test_img_bzimage(TRUE);
   const uint32_t l64[] = { VMX_BOOT_PARAMS_ADDR, hdrs, VMX_BOOT_CMDLINE_ADDR, 0x44332211 };
   run_case("bzimage64", img, rd, VMX_BOOT_ENTRY_AUTO, "linux64", l64, 4);
   g_bytes_unref(img);

   img = test_img_bzimage(FALSE);
   const uint32_t l32[] = { VMX_BOOT_PARAMS_ADDR, hdrs, VMX_BOOT_CMDLINE_ADDR };
   run_case("bzimage32", img, NULL, VMX_BOOT_ENTRY_AUTO, "linux32", l32, 3);
   g_bytes_unref(img);

   g_bytes_unref(rd);
   printf("%s\n", failures ? "FAILED" : "every image ran and powered off through ACPI");
   return failures ? 1 : 0;
}
