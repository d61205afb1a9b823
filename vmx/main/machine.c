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
#include "vmx/dev/intc/intc.h"
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

vmx_machine *
vmx_machine_create(const vmx_hw_config *hw, const vmxcfg *cfg, const char *vmx_dir,
                   vmx_machine_event_fn ev, void *opaque, char **err)
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
       !vmx_machine_guest_create(cfg, vmx_dir, m->mon.chosen, m->ram, m->ram_size,
                                 hw->numvcpus, &m->guest, err)) {
      vmx_machine_destroy(m);
      return NULL;
   }
   vmxlog("Machine: %llu MB RAM (memfd), %u vCPU(s), guest: %s",
          (unsigned long long)hw->memsize_mb, hw->numvcpus, vmx_machine_guest_kind(m->guest));
   if (!start_monitor(m, WANT_RUN, err)) {
      vmx_machine_destroy(m);
      return NULL;
   }
   return m;
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
