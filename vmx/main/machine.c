/*
 * vmx/main/machine.c - guest RAM, the monitor's vCPU threads and the platform.
 *
 * Threads: one per vCPU runs vmm_vcpu_run() in a loop. The main thread
 * controls them through `want` (run, pause, quit) under m->lock: to pause
 * it sets want, asks the monitor to stop every vCPU at an instruction
 * boundary, and waits until every thread has parked. Guest-initiated
 * events (reset, power off, triple fault, monitor errors) are handed to
 * the main thread through an idle source on its context and handled there, so all
 * power transitions happen on one thread.
 */
#include "vmx/main/machine.h"
#include "mks/svga/svga.h"
#include "vmx/ckpt/ckpt-cpu.h"
#include "vmx/dev/intc/intc.h"
#include "vmx/dev/intc/kvm-irqchip.h"
#include "vmx/dev/intc/lapic.h"
#include "vmx/dev/intc/pic.h"
#include "vmx/main/machine-guest.h"
#include "vmx/vmxlog.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define VMX_MAX_VCPUS 64
#define VMX_MIN_MEMSIZE_MB 4

typedef enum want { WANT_RUN, WANT_PAUSE, WANT_QUIT } want;

typedef struct vcpu_thread {
   vmx_machine *m;
   unsigned index;
   vmm_vcpu *cpu;
   pthread_t thread;
   bool started;
   bool parked_for_event;   /* waiting for the main thread after an event */
} vcpu_thread;

struct vmx_machine {
   vmx_hw_config hw;
   int ram_fd;
   void *ram;
   uint64_t ram_size;
   vmx_machine_guest *guest;      /* NULL: idle machine */
   vmx_monitor_choice mon;
   vmm_vm *vm;
   vcpu_thread *cpus;
   pthread_mutex_t lock;
   pthread_cond_t cond;
   want want;
   unsigned parked;
   bool event_pending;            /* an event is on its way to the main thread */
   GMainContext *main_ctx;
   vmx_machine_event_fn ev;
   void *ev_opaque;
   bool paused;
   bool ram_from_file;            /* RAM is a checkpoint file's private mapping */
};

uint64_t
vmx_host_memory_mb(void)
{
   long pages = sysconf(_SC_PHYS_PAGES);
   long psz = sysconf(_SC_PAGESIZE);
   if (pages <= 0 || psz <= 0) {
      return 0;
   }
   return (uint64_t)pages * (uint64_t)psz / (1024 * 1024);
}

bool
vmx_hw_config_read(const vmxcfg *cfg, vmx_hw_config *hw, char **err)
{
   int64_t mem, ncpu;
   memset(hw, 0, sizeof *hw);
   if (!vmxcfg_get_int(cfg, "memsize", 256, &mem, err) ||
       !vmxcfg_get_int(cfg, "numvcpus", 1, &ncpu, err)) {
      return false;
   }
   uint64_t host = vmx_host_memory_mb();
   if (mem < VMX_MIN_MEMSIZE_MB || mem % 4 != 0) {
      *err = g_strdup_printf("memsize = \"%lld\": must be a multiple of 4 MB, at least %d MB",
                             (long long)mem, VMX_MIN_MEMSIZE_MB);
      return false;
   }
   if (host && (uint64_t)mem > host) {
      *err = g_strdup_printf("memsize = \"%lld\": larger than this host's memory (%llu MB)",
                             (long long)mem, (unsigned long long)host);
      return false;
   }
   if (ncpu < 1 || ncpu > VMX_MAX_VCPUS) {
      *err = g_strdup_printf("numvcpus = \"%lld\": must be between 1 and %d", (long long)ncpu,
                             VMX_MAX_VCPUS);
      return false;
   }
   const char *mon = vmxcfg_get(cfg, "monitor.virtual_exec");
   if (!mon) {
      mon = "automatic";
   }
   if (g_ascii_strcasecmp(mon, "hardware") && g_ascii_strcasecmp(mon, "software") &&
       g_ascii_strcasecmp(mon, "automatic")) {
      *err = g_strdup_printf("monitor.virtual_exec = \"%s\": expected hardware, software or "
                             "automatic",
                             mon);
      return false;
   }
   const char *tf = vmxcfg_get(cfg, "cpu.tripleFault");
   if (tf && g_ascii_strcasecmp(tf, "reset") && g_ascii_strcasecmp(tf, "poweroff")) {
      *err = g_strdup_printf("cpu.tripleFault = \"%s\": expected reset or poweroff", tf);
      return false;
   }
   hw->memsize_mb = (uint64_t)mem;
   hw->numvcpus = (unsigned)ncpu;
   hw->monitor_requested = !g_ascii_strcasecmp(mon, "hardware")   ? "hardware"
                           : !g_ascii_strcasecmp(mon, "software") ? "software"
                                                                  : "automatic";
   hw->triple_fault_reset = !tf || !g_ascii_strcasecmp(tf, "reset");
   if (!vmxcfg_get_bool(cfg, "monitor.soft.translate", true, &hw->soft_translate, err))
      return false;
   return true;
}

/* ---- events to the main thread */

typedef struct ev_msg {
   vmx_machine *m;
   vmx_machine_event ev;
   char *why;
} ev_msg;

static gboolean
deliver_event(gpointer data)
{
   ev_msg *e = data;
   vmx_machine *m = e->m;
   pthread_mutex_lock(&m->lock);
   m->event_pending = false;
   pthread_mutex_unlock(&m->lock);
   if (e->ev == VMX_EV_GUEST_RESET) {
      char *err = NULL;
      vmxlog("Guest reset: %s", e->why);
      if (vmx_machine_reset(m, &err) < 0) {
         char *why = g_strdup_printf("reset failed: %s", err);
         m->ev(m->ev_opaque, VMX_EV_FATAL, why);
         g_free(why);
         g_free(err);
      } else {
         m->ev(m->ev_opaque, VMX_EV_GUEST_RESET, e->why);
      }
   } else {
      m->ev(m->ev_opaque, e->ev, e->why);
   }
   g_free(e->why);
   g_free(e);
   return G_SOURCE_REMOVE;
}

/* Called on a vCPU thread. Only the first event wins until it is handled. */
static void
post_event(vmx_machine *m, vmx_machine_event ev, const char *why)
{
   pthread_mutex_lock(&m->lock);
   bool first = !m->event_pending;
   m->event_pending = true;
   pthread_mutex_unlock(&m->lock);
   if (!first) {
      return;
   }
   ev_msg *e = g_new0(ev_msg, 1);
   e->m = m;
   e->ev = ev;
   e->why = g_strdup(why);
   /* Not g_main_context_invoke: it calls the function right here when this
    * thread can acquire the context (the vCPU thread's default context is
    * the main one), and a reset run on a vCPU thread joins that thread. */
   GSource *src = g_idle_source_new();
   g_source_set_priority(src, G_PRIORITY_DEFAULT);
   g_source_set_callback(src, deliver_event, e, NULL);
   g_source_attach(src, m->main_ctx);
   g_source_unref(src);
}

/* ---- vCPU threads */

static void
park(vcpu_thread *t)
{
   vmx_machine *m = t->m;
   m->parked++;
   pthread_cond_broadcast(&m->cond);
   while (m->want != WANT_QUIT && (m->want == WANT_PAUSE || t->parked_for_event)) {
      pthread_cond_wait(&m->cond, &m->lock);
   }
   m->parked--;
}

static void *
vcpu_main(void *arg)
{
   vcpu_thread *t = arg;
   vmx_machine *m = t->m;
   char name[16];
   snprintf(name, sizeof name, "vcpu-%u", t->index);
   vmxlog_set_thread_name(name);
   pthread_setname_np(pthread_self(), name);
   for (;;) {
      pthread_mutex_lock(&m->lock);
      if (m->want != WANT_RUN || t->parked_for_event) {
         park(t);
      }
      bool quit = m->want == WANT_QUIT;
      pthread_mutex_unlock(&m->lock);
      if (quit) {
         break;
      }
      vmm_exit ex = { 0 };
      int r = vmm_vcpu_run(t->cpu, &ex);
      if (r < 0) {
         ex.reason = VMM_EXIT_ERROR;
      }
      char *why = NULL;
      switch (ex.reason) {
      case VMM_EXIT_STOP: {
         vmx_request req = vmx_platform_take_request(vmx_machine_guest_platform(m->guest), &why);
         if (req == VMX_REQ_POWEROFF) {
            post_event(m, VMX_EV_GUEST_POWEROFF, why);
         } else if (req == VMX_REQ_RESET) {
            post_event(m, VMX_EV_GUEST_RESET, why);
         }
         break;
      }
      case VMM_EXIT_SHUTDOWN:
         why = g_strdup_printf("vCPU %u: triple fault (%s); cpu.tripleFault = %s", t->index,
                               ex.msg, m->hw.triple_fault_reset ? "reset" : "poweroff");
         vmxlog("%s", why);
         post_event(m, m->hw.triple_fault_reset ? VMX_EV_GUEST_RESET : VMX_EV_GUEST_POWEROFF,
                    why);
         pthread_mutex_lock(&m->lock);
         t->parked_for_event = true;
         pthread_mutex_unlock(&m->lock);
         break;
      case VMM_EXIT_RESET:
         why = g_strdup_printf("vCPU %u: %s", t->index, ex.msg);
         post_event(m, VMX_EV_GUEST_RESET, why);
         pthread_mutex_lock(&m->lock);
         t->parked_for_event = true;
         pthread_mutex_unlock(&m->lock);
         break;
      case VMM_EXIT_HALT:
         /* cli; hlt: nothing but a reset or NMI can wake this vCPU. */
         vmxlog("vCPU %u halted with interrupts disabled", t->index);
         pthread_mutex_lock(&m->lock);
         t->parked_for_event = true;
         pthread_mutex_unlock(&m->lock);
         break;
      case VMM_EXIT_ERROR:
      default:
         why = g_strdup_printf("vCPU %u: monitor error: %s", t->index, ex.msg);
         vmxlog("%s", why);
         post_event(m, VMX_EV_FATAL, why);
         pthread_mutex_lock(&m->lock);
         t->parked_for_event = true;
         pthread_mutex_unlock(&m->lock);
         break;
      }
      g_free(why);
   }
   return NULL;
}

/* Stop every vCPU thread at an instruction boundary and wait until all
 * have parked. Called on the main thread with m->lock not held. */
static void
stop_all(vmx_machine *m, want w)
{
   pthread_mutex_lock(&m->lock);
   m->want = w;
   pthread_mutex_unlock(&m->lock);
   vmm_vm_stop(m->vm);
   pthread_mutex_lock(&m->lock);
   if (w == WANT_PAUSE) {
      while (m->parked < m->hw.numvcpus) {
         pthread_cond_wait(&m->cond, &m->lock);
      }
   } else {
      pthread_cond_broadcast(&m->cond);
   }
   pthread_mutex_unlock(&m->lock);
}

/* ---- life cycle */

static bool
alloc_ram(vmx_machine *m, char **err)
{
   m->ram_size = m->hw.memsize_mb << 20;
   m->ram_fd = memfd_create("vmws-guest-ram", MFD_CLOEXEC);
   if (m->ram_fd < 0) {
      *err = g_strdup_printf("cannot create guest memory: %s", strerror(errno));
      return false;
   }
   if (ftruncate(m->ram_fd, (off_t)m->ram_size) < 0) {
      *err = g_strdup_printf("cannot size guest memory to %llu MB: %s",
                             (unsigned long long)m->hw.memsize_mb, strerror(errno));
      return false;
   }
   m->ram = mmap(NULL, m->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                 m->ram_fd, 0);
   if (m->ram == MAP_FAILED) {
      m->ram = NULL;
      *err = g_strdup_printf("cannot map %llu MB of guest memory: %s",
                             (unsigned long long)m->hw.memsize_mb, strerror(errno));
      return false;
   }
   return true;
}

static void
wake_vcpu(void *opaque, unsigned vcpu, unsigned events)
{
   vmx_machine *m = opaque;
   vmm_vm *vm = __atomic_load_n(&m->vm, __ATOMIC_ACQUIRE);
   if (vm) {
      vmm_vm_interrupt(vm, vcpu);
   }
}

/* Create the monitor and its vCPUs for the chosen kind, attach the guest
 * and start the vCPU threads in state w. */
static bool
start_monitor(vmx_machine *m, want w, char **err)
{
   char why[256] = "";
   vmm_config vc = {
      .kind = m->mon.chosen,
      .nvcpus = m->hw.numvcpus,
      .io = &vmx_platform_io_ops,
      .io_opaque = vmx_machine_guest_platform(m->guest),
      .kernel_irqchip = m->mon.chosen == VMM_KIND_HARDWARE,
      .soft_interpret_only = !m->hw.soft_translate,
   };
   intc *ic = vmx_machine_guest_intc(m->guest);
   if (ic) {
      vc.irqchip = &intc_vmm_irqchip_ops;
      vc.irqchip_opaque = ic;
   }
   m->vm = vmm_vm_create(&vc, why, sizeof why);
   if (!m->vm) {
      *err = g_strdup_printf("cannot create the %s monitor: %s", vmm_kind_name(m->mon.chosen),
                             why);
      return false;
   }
   m->cpus = g_new0(vcpu_thread, m->hw.numvcpus);
   for (unsigned i = 0; i < m->hw.numvcpus; i++) {
      m->cpus[i].m = m;
      m->cpus[i].index = i;
      m->cpus[i].cpu = vmm_vcpu_create(m->vm, i, why, sizeof why);
      if (!m->cpus[i].cpu) {
         *err = g_strdup_printf("cannot create vCPU %u: %s", i, why);
         return false;
      }
   }
   if (!vmx_machine_guest_attach(m->guest, m->vm, m->cpus[0].cpu, err)) {
      return false;
   }
   if (ic) {
      /* The LAPICs wake a halted or running vCPU when an interrupt becomes
       * pending for it, and time TSC deadlines at the guest's TSC rate. */
      vmm_cpuid_entry e[VMM_CPUID_MAX_ENTRIES];
      unsigned n = 0;
      if (vmm_vcpu_get_cpuid(m->cpus[0].cpu, e, VMM_CPUID_MAX_ENTRIES, &n) == 0) {
         for (unsigned i = 0; i < n; i++) {
            if (e[i].function == 0x40000010 && e[i].eax) {
               lapic_bus_set_tsc_khz(intc_lapic_bus(ic), e[i].eax);
            }
         }
      }
      intc_set_wakeup(ic, wake_vcpu, m);
   }
   m->want = w;
   m->parked = 0;
   for (unsigned i = 0; i < m->hw.numvcpus; i++) {
      if (pthread_create(&m->cpus[i].thread, NULL, vcpu_main, &m->cpus[i]) != 0) {
         *err = g_strdup_printf("cannot start the thread of vCPU %u", i);
         return false;
      }
      m->cpus[i].started = true;
   }
   return true;
}

/* Stop and join every vCPU thread, then destroy the monitor. */
static void
stop_monitor(vmx_machine *m)
{
   if (!m->vm) {
      return;
   }
   intc *ic = vmx_machine_guest_intc(m->guest);
   if (ic) {
      intc_set_wakeup(ic, NULL, NULL);
   }
   stop_all(m, WANT_QUIT);
   for (unsigned i = 0; m->cpus && i < m->hw.numvcpus; i++) {
      if (m->cpus[i].started) {
         pthread_join(m->cpus[i].thread, NULL);
      }
   }
   if (m->guest) {
      vmx_machine_guest_detach(m->guest);
   }
   vmm_vm_destroy(m->vm);
   m->vm = NULL;
   g_free(m->cpus);
   m->cpus = NULL;
}

static vmx_machine *
create(const vmx_hw_config *hw, const vmxcfg *cfg, const char *vmx_dir, vmx_machine_event_fn ev,
       void *opaque, bool paused, bool continuing, char **err)
{
   vmx_machine *m = g_new0(vmx_machine, 1);
   m->hw = *hw;
   m->ram_fd = -1;
   m->ev = ev;
   m->ev_opaque = opaque;
   m->main_ctx = g_main_context_ref_thread_default();
   pthread_mutex_init(&m->lock, NULL);
   pthread_cond_init(&m->cond, NULL);
   if (!alloc_ram(m, err)) {
      vmx_machine_destroy(m);
      return NULL;
   }
   if (!vmx_machine_guest_wanted(cfg)) {
      vmxlog("Machine: %llu MB RAM (memfd), %u vCPU(s), no guest image: idle machine",
             (unsigned long long)hw->memsize_mb, hw->numvcpus);
      return m;
   }
   /* The monitor decides which devices the platform models itself. */
   if (!vmx_monitor_choose(m->hw.monitor_requested, &m->mon, err) ||
       !(paused ? vmx_machine_guest_create_unbooted(cfg, vmx_dir, m->mon.chosen, m->ram,
                                                    m->ram_size, hw->numvcpus, continuing,
                                                    &m->guest, err)
                : vmx_machine_guest_create(cfg, vmx_dir, m->mon.chosen, m->ram, m->ram_size,
                                           hw->numvcpus, &m->guest, err))) {
      vmx_machine_destroy(m);
      return NULL;
   }
   vmxlog("Machine: %llu MB RAM (memfd), %u vCPU(s), guest: %s",
          (unsigned long long)hw->memsize_mb, hw->numvcpus, vmx_machine_guest_kind(m->guest));
   m->paused = paused;
   if (!start_monitor(m, paused ? WANT_PAUSE : WANT_RUN, err)) {
      vmx_machine_destroy(m);
      return NULL;
   }
   if (paused) {
      /* The vCPU threads park before running any guest code. */
      pthread_mutex_lock(&m->lock);
      while (m->parked < m->hw.numvcpus) {
         pthread_cond_wait(&m->cond, &m->lock);
      }
      pthread_mutex_unlock(&m->lock);
   }
   return m;
}

vmx_machine *
vmx_machine_create(const vmx_hw_config *hw, const vmxcfg *cfg, const char *vmx_dir,
                   vmx_machine_event_fn ev, void *opaque, char **err)
{
   return create(hw, cfg, vmx_dir, ev, opaque, false, false, err);
}

vmx_machine *
vmx_machine_create_paused(const vmx_hw_config *hw, const vmxcfg *cfg, const char *vmx_dir,
                          bool continuing, vmx_machine_event_fn ev, void *opaque, char **err)
{
   return create(hw, cfg, vmx_dir, ev, opaque, true, continuing, err);
}

void
vmx_machine_destroy(vmx_machine *m)
{
   if (!m) {
      return;
   }
   stop_monitor(m);
   vmx_machine_guest_destroy(m->guest);
   if (m->ram) {
      munmap(m->ram, m->ram_size);
   }
   if (m->ram_fd >= 0) {
      close(m->ram_fd);
   }
   g_main_context_unref(m->main_ctx);
   pthread_mutex_destroy(&m->lock);
   pthread_cond_destroy(&m->cond);
   g_free(m);
}

const char *
vmx_machine_kind(const vmx_machine *m)
{
   return m->guest ? vmx_machine_guest_kind(m->guest) : "idle";
}

const vmx_monitor_choice *
vmx_machine_monitor(const vmx_machine *m)
{
   return m->vm ? &m->mon : NULL;
}

struct vmx_platform *
vmx_machine_platform(const vmx_machine *m)
{
   return vmx_machine_guest_platform(m->guest);
}

int
vmx_machine_ram_fd(const vmx_machine *m)
{
   return m->ram_fd;
}

void *
vmx_machine_ram(const vmx_machine *m, uint64_t *size)
{
   if (size) {
      *size = m->ram_size;
   }
   return m->ram;
}

int
vmx_machine_pause(vmx_machine *m, char **err)
{
   if (m->vm) {
      stop_all(m, WANT_PAUSE);
   }
   m->paused = true;
   return 0;
}

int
vmx_machine_unpause(vmx_machine *m, char **err)
{
   if (m->vm) {
      pthread_mutex_lock(&m->lock);
      m->want = WANT_RUN;
      pthread_cond_broadcast(&m->cond);
      pthread_mutex_unlock(&m->lock);
   }
   m->paused = false;
   return 0;
}

int
vmx_machine_reset(vmx_machine *m, char **err)
{
   /* A reset is a power cycle of the CPUs: the monitor is rebuilt, so no
    * CPU, LAPIC or in-kernel device state survives it. */
   stop_monitor(m);
   if (fallocate(m->ram_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)m->ram_size) <
       0) {
      memset(m->ram, 0, m->ram_size);
   }
   if (m->ram_from_file) {
      /* After a resume RAM was the checkpoint's private mapping: put the
       * (now empty) memfd back under it. */
      if (mmap(m->ram, m->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE | MAP_FIXED,
               m->ram_fd, 0) == MAP_FAILED) {
         *err = g_strdup_printf("cannot map guest memory again: %s", strerror(errno));
         return -1;
      }
      m->ram_from_file = false;
   }
   if (!m->guest) {
      return 0;
   }
   if (!vmx_machine_guest_reset(m->guest, NULL, 0, err)) {
      return -1;
   }
   return start_monitor(m, m->paused ? WANT_PAUSE : WANT_RUN, err) ? 0 : -1;
}

bool
vmx_machine_request_shutdown(vmx_machine *m)
{
   return m->guest && vmx_machine_guest_power_button(m->guest);
}

/* ---- checkpoint
 *
 * A machine's checkpoint is these sections of a vmx/ckpt file:
 *   machine     STATE  items memsizeMB (U64), numvcpus (U32), monitor (U8,
 *                      the vmm_kind it was saved under: for the log)
 *   cpuN        CPU    vmx/ckpt/ckpt-cpu.h, one per vCPU
 *   devices     STATE  every device's section (vmx_platform_save)
 *   ram         MEMORY guest RAM
 *   svga.vram   MEMORY the SVGA device's VRAM BAR
 *   svga.fifo   MEMORY its FIFO BAR
 */

#define CKPT_MACHINE_VERSION 1

static bool
svga_regions(vmx_machine *m, void **vram, uint64_t *vram_size, void **fifo, uint64_t *fifo_size)
{
   svga *sv = svga_get(vmx_machine_guest_platform(m->guest));
   return sv && svga_bar_memory(sv, SVGA_BAR_VRAM, vram, vram_size) &&
          svga_bar_memory(sv, SVGA_BAR_FIFO, fifo, fifo_size);
}

static bool
add_state(ckpt_file_writer *w, const char *name, ckpt_file_kind kind, GBytes *b, char **err)
{
   gsize n;
   const void *p = g_bytes_get_data(b, &n);
   bool ok = ckpt_file_add_section(w, name, kind, p, n, err);
   g_bytes_unref(b);
   return ok;
}

bool
vmx_machine_save(vmx_machine *m, ckpt_file_writer *w, ckpt_file_progress_fn progress, void *ud,
                 char **err)
{
   if (!m->guest || !m->vm) {
      *err = g_strdup("the machine runs no guest: there is no state to save");
      return false;
   }
   if (!m->paused) {
      *err = g_strdup("the machine must be paused to save its state");
      return false;
   }
   ckpt_writer *mw = ckpt_writer_new("machine", CKPT_MACHINE_VERSION);
   ckpt_put_u64(mw, "memsizeMB", m->hw.memsize_mb);
   ckpt_put_u32(mw, "numvcpus", m->hw.numvcpus);
   ckpt_put_u8(mw, "monitor", (uint8_t)m->mon.chosen);
   if (!add_state(w, "machine", CKPT_FILE_STATE, ckpt_writer_finish(mw), err)) {
      return false;
   }
   for (unsigned i = 0; i < m->hw.numvcpus; i++) {
      char name[16];
      GBytes *b = ckpt_cpu_save_section(m->cpus[i].cpu, err);
      if (!b || !add_state(w, ckpt_cpu_section_name(i, name, sizeof name), CKPT_FILE_CPU, b, err)) {
         return false;
      }
   }
   GBytes *dev = vmx_platform_save(vmx_machine_guest_platform(m->guest));
   if (m->mon.chosen == VMM_KIND_HARDWARE) {
      /* KVM's in-kernel PIC, IOAPIC and PIT, as the sections the software
       * monitor's userspace models write. */
      GBytes *irq = intc_kvm_save(m->vm, err);
      if (!irq) {
         g_bytes_unref(dev);
         return false;
      }
      GByteArray *all = g_bytes_unref_to_array(dev);
      gsize n;
      const void *p = g_bytes_get_data(irq, &n);
      g_byte_array_append(all, p, (guint)n);
      g_bytes_unref(irq);
      dev = g_byte_array_free_to_bytes(all);
   }
   if (!add_state(w, "devices", CKPT_FILE_STATE, dev, err)) {
      return false;
   }
   void *vram = NULL, *fifo = NULL;
   uint64_t vram_size = 0, fifo_size = 0;
   bool has_svga = svga_regions(m, &vram, &vram_size, &fifo, &fifo_size);
   return ckpt_file_add_memory(w, "ram", m->ram, m->ram_size, progress, ud, err) &&
          (!has_svga || (ckpt_file_add_memory(w, "svga.vram", vram, vram_size, NULL, NULL, err) &&
                         ckpt_file_add_memory(w, "svga.fifo", fifo, fifo_size, NULL, NULL, err)));
}

/* The "machine" section must describe this machine. */
static bool
check_machine(vmx_machine *m, ckpt_file *f, char **err)
{
   size_t len;
   const void *p = ckpt_file_section(f, "machine", CKPT_FILE_STATE, &len);
   if (!p) {
      *err = g_strdup("it has no 'machine' section");
      return false;
   }
   size_t used;
   ckpt_reader *r = ckpt_reader_new(p, len, &used, err);
   if (!r) {
      return false;
   }
   uint64_t mem = 0;
   uint32_t ncpus = 0;
   uint8_t mon = 0;
   bool ok = ckpt_get_u64(r, "memsizeMB", &mem) && ckpt_get_u32(r, "numvcpus", &ncpus);
   ckpt_get_u8(r, "monitor", &mon);
   if (!ok || ckpt_reader_error(r)) {
      *err = g_strdup_printf("its 'machine' section is incomplete%s%s",
                             ckpt_reader_error(r) ? ": " : "",
                             ckpt_reader_error(r) ? ckpt_reader_error(r) : "");
   } else if (mem != m->hw.memsize_mb || ncpus != m->hw.numvcpus) {
      *err = g_strdup_printf("it was saved with memsize = %llu and numvcpus = %u, but the "
                             "configuration now says %llu and %u; set them back to resume",
                             (unsigned long long)mem, ncpus,
                             (unsigned long long)m->hw.memsize_mb, m->hw.numvcpus);
      ok = false;
   } else {
      vmxlog("Checkpoint: saved under the %s monitor, resuming under the %s monitor",
             vmm_kind_name((vmm_kind)mon), vmm_kind_name(m->mon.chosen));
   }
   ckpt_reader_free(r);
   return ok && !*err;
}

bool
vmx_machine_restore(vmx_machine *m, ckpt_file *f, ckpt_file_progress_fn progress, void *ud,
                    char **err)
{
   *err = NULL;
   if (!m->guest || !m->vm || !m->paused) {
      *err = g_strdup("the machine must be created paused, with a guest, to resume");
      return false;
   }
   if (!check_machine(m, f, err)) {
      return false;
   }
   /* The vCPUs first (registers, MSRs and the TSC, LAPIC pages). */
   size_t len;
   for (unsigned i = 0; i < m->hw.numvcpus; i++) {
      char name[16];
      ckpt_cpu_section_name(i, name, sizeof name);
      const void *p = ckpt_file_section(f, name, CKPT_FILE_CPU, &len);
      if (!p) {
         *err = g_strdup_printf("it has no '%s' section", name);
         return false;
      }
      size_t used;
      ckpt_reader *r = ckpt_reader_new(p, len, &used, err);
      if (!r) {
         return false;
      }
      char *why = NULL;
      bool ok = ckpt_cpu_restore(m->cpus[i].cpu, r, &why);
      ckpt_reader_free(r);
      if (!ok) {
         *err = g_strdup_printf("vCPU %u: %s", i, why);
         g_free(why);
         return false;
      }
   }
   /* Then the devices: the interrupt controllers' sections (the LAPICs'
    * timers among them) come after the vCPUs' LAPIC pages, which stop
    * those timers; the other order lets a LAPIC timer fire in between and
    * the page then drops its interrupt (a Linux guest's tick dies). */
   const void *dev = ckpt_file_section(f, "devices", CKPT_FILE_STATE, &len);
   if (!dev) {
      *err = g_strdup("it has no 'devices' section");
      return false;
   }
   if (!vmx_platform_restore(vmx_machine_guest_platform(m->guest), dev, len, err)) {
      return false;
   }
   intc *ic = vmx_machine_guest_intc(m->guest);
   if (m->mon.chosen == VMM_KIND_HARDWARE) {
      /* The pic, ioapic and pit sections go to KVM's in-kernel chips (the
       * platform skipped them: it has no such devices). */
      if (!intc_kvm_restore(m->vm, dev, len, err)) {
         return false;
      }
   } else if (ic) {
      /* A file saved under KVM has no "lapic" section: the LAPICs' LINT0
       * follows the restored PIC's output. */
      lapic_bus_set_lint(intc_lapic_bus(ic), 0, pic_output(intc_get_pic(ic)));
   }
   void *vram = NULL, *fifo = NULL;
   uint64_t vram_size = 0, fifo_size = 0;
   if (svga_regions(m, &vram, &vram_size, &fifo, &fifo_size)) {
      ckpt_file_memory_info mi;
      if (!ckpt_file_memory(f, "svga.vram", &mi) || mi.size != vram_size ||
          !ckpt_file_memory(f, "svga.fifo", &mi) || mi.size != fifo_size) {
         *err = g_strdup("its SVGA memory does not match the device (svga.vramSize changed?)");
         return false;
      }
      if (!ckpt_file_restore_memory(f, "svga.vram", vram, vram_size, CKPT_FILE_RESTORE_COPY,
                                    NULL, NULL, err) ||
          !ckpt_file_restore_memory(f, "svga.fifo", fifo, fifo_size, CKPT_FILE_RESTORE_COPY,
                                    NULL, NULL, err)) {
         return false;
      }
   }
   ckpt_file_memory_info ri;
   if (!ckpt_file_memory(f, "ram", &ri) || ri.size != m->ram_size) {
      *err = g_strdup("its guest memory is missing or of another size");
      return false;
   }
   /* Last, and lazily: pages come from the file as the guest touches them. */
   if (!ckpt_file_restore_memory(f, "ram", m->ram, m->ram_size, CKPT_FILE_RESTORE_LAZY, progress,
                                 ud, err)) {
      return false;
   }
   m->ram_from_file = true;
   /* The monitor may have cached decoded code of the boot image that was
    * loaded at creation. */
   vmm_vm_notify_write(m->vm, 0, m->ram_size);
   return true;
}
