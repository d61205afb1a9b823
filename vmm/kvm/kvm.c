/*
 * vmm/kvm/kvm.c - the KVM monitor: VM and vCPU lifetime, memory slots,
 * interrupts, the run loop and stop requests.
 *
 * Stopping a vCPU: vmm_vcpu_kick() sets cpu->stop_requested, then
 * run->immediate_exit, then sends the kick signal to the thread inside
 * vmm_vcpu_run(). The signal is blocked in that thread except inside
 * KVM_RUN (KVM_SET_SIGNAL_MASK), so it can only interrupt guest execution:
 * either KVM_RUN sees immediate_exit on entry or the signal forces it out.
 * The run loop always goes back into KVM_RUN after a port/MMIO exit so that
 * KVM completes the access before the vCPU reports VMM_EXIT_STOP.
 */
#include "vmm/kvm/kvm-priv.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void seterr(char *err, size_t errlen, const char *fmt, ...)
   __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
   va_list ap;

   if (!err || !errlen) {
      return;
   }
   va_start(ap, fmt);
   vsnprintf(err, errlen, fmt, ap);
   va_end(ap);
}

int kvm_ioctl(int fd, unsigned long req, void *arg)
{
   int r;

   do {
      r = ioctl(fd, req, arg);
   } while (r < 0 && errno == EINTR);
   return r < 0 ? -errno : r;
}

/* ---- /dev/kvm ------------------------------------------------------------ */

static const struct {
   int cap;
   const char *name;
} required_caps[] = {
   { KVM_CAP_IRQCHIP, "in-kernel irqchip" },
   { KVM_CAP_PIT2, "in-kernel PIT" },
   { KVM_CAP_IMMEDIATE_EXIT, "immediate exit" },
   { KVM_CAP_USER_MEMORY, "user memory regions" },
   { KVM_CAP_EXT_CPUID, "CPUID configuration" },
   { KVM_CAP_XSAVE, "XSAVE state" },
   { KVM_CAP_XCRS, "XCR0 state" },
   { KVM_CAP_VCPU_EVENTS, "event state" },
   { KVM_CAP_DEBUGREGS, "debug register state" },
   { KVM_CAP_MP_STATE, "multiprocessor state" },
   { KVM_CAP_SIGNAL_MSI, "MSI injection" },
   { KVM_CAP_GET_TSC_KHZ, "TSC frequency" },
};

/* Opens /dev/kvm and checks it; returns the fd or -errno. */
static int open_kvm(char *err, size_t errlen)
{
   int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
   int r;

   if (fd < 0) {
      int e = errno;

      if (e == ENOENT) {
         seterr(err, errlen, "/dev/kvm does not exist: the host has no KVM "
                "(load kvm_intel or kvm_amd, or enable virtualization in the firmware)");
      } else if (e == EACCES || e == EPERM) {
         seterr(err, errlen, "/dev/kvm is not accessible to this user (%s): "
                "add the user to the kvm group", strerror(e));
      } else {
         seterr(err, errlen, "cannot open /dev/kvm: %s", strerror(e));
      }
      return -e;
   }
   r = ioctl(fd, KVM_GET_API_VERSION, 0);
   if (r < 0) {
      int e = errno;

      seterr(err, errlen, "/dev/kvm is not a KVM device (KVM_GET_API_VERSION: %s)",
             strerror(e));
      close(fd);
      return -ENODEV;
   }
   if (r != KVM_API_VERSION) {
      seterr(err, errlen, "/dev/kvm speaks API version %d, not %d", r, KVM_API_VERSION);
      close(fd);
      return -ENOTSUP;
   }
   for (size_t i = 0; i < sizeof required_caps / sizeof required_caps[0]; i++) {
      if (ioctl(fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
         seterr(err, errlen, "/dev/kvm lacks a capability the KVM monitor needs: %s",
                required_caps[i].name);
         close(fd);
         return -ENOTSUP;
      }
   }
   return fd;
}

int vmm_kvm_check(char *err, size_t errlen)
{
   int fd = open_kvm(err, errlen);
   int vmfd;

   if (fd < 0) {
      return fd;
   }
   vmfd = ioctl(fd, KVM_CREATE_VM, 0);
   if (vmfd < 0) {
      int e = errno;

      seterr(err, errlen, "/dev/kvm cannot create a VM: %s", strerror(e));
      close(fd);
      return -e;
   }
   close(vmfd);
   close(fd);
   return 0;
}

/* ---- the kick signal --------------------------------------------------------- */

static int kick_signo;
static pthread_once_t kick_once = PTHREAD_ONCE_INIT;

static void kick_handler(int signo)
{
   (void)signo;   /* only there to make KVM_RUN return with EINTR */
}

static void kick_setup(void)
{
   struct sigaction sa;

   kick_signo = SIGRTMIN + VMM_KICK_SIGNAL_OFFSET;
   memset(&sa, 0, sizeof sa);
   sa.sa_handler = kick_handler;
   sigemptyset(&sa.sa_mask);
   sa.sa_flags = SA_RESTART;
   sigaction(kick_signo, &sa, NULL);
}

/* ---- VMs --------------------------------------------------------------------- */

static int kvm_vm_init(vmm_vm *base, const vmm_config *cfg, char *err, size_t errlen)
{
   kvm_vm *vm = kvm_vm_of(base);
   struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
   int r, ns;

   if (!cfg->kernel_irqchip) {
      seterr(err, errlen, "the KVM monitor needs the in-kernel irqchip "
             "(kernel_irqchip = true)");
      return -EINVAL;
   }
   pthread_once(&kick_once, kick_setup);
   vm->fd = -1;
   vm->sys_fd = open_kvm(err, errlen);
   if (vm->sys_fd < 0) {
      return vm->sys_fd;
   }
   r = ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
   if (r > 0 && cfg->nvcpus > (unsigned)r) {
      seterr(err, errlen, "KVM supports at most %d vCPUs per VM, %u asked", r, cfg->nvcpus);
      r = -EINVAL;
      goto fail;
   }
   r = ioctl(vm->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
   if (r < (int)sizeof(struct kvm_run)) {
      seterr(err, errlen, "KVM reports a bad vCPU mmap size (%d)", r);
      r = -EIO;
      goto fail;
   }
   vm->run_size = (size_t)r;
   vm->fd = ioctl(vm->sys_fd, KVM_CREATE_VM, 0);
   if (vm->fd < 0) {
      r = -errno;
      seterr(err, errlen, "KVM cannot create a VM: %s", strerror(-r));
      goto fail;
   }
   /* Intel needs these before the first vCPU runs; AMD ignores them. */
   r = kvm_ioctl(vm->fd, KVM_SET_TSS_ADDR, (void *)(uintptr_t)KVM_TSS_ADDR);
   if (r < 0) {
      seterr(err, errlen, "KVM_SET_TSS_ADDR failed: %s", strerror(-r));
      goto fail;
   }
   if (ioctl(vm->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
      uint64_t addr = KVM_IDENTITY_MAP_ADDR;

      r = kvm_ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &addr);
      if (r < 0) {
         seterr(err, errlen, "KVM_SET_IDENTITY_MAP_ADDR failed: %s", strerror(-r));
         goto fail;
      }
   }
   r = kvm_ioctl(vm->fd, KVM_CREATE_IRQCHIP, NULL);
   if (r < 0) {
      seterr(err, errlen, "KVM cannot create the in-kernel irqchip: %s", strerror(-r));
      goto fail;
   }
   r = kvm_ioctl(vm->fd, KVM_CREATE_PIT2, &pit);
   if (r < 0) {
      seterr(err, errlen, "KVM cannot create the in-kernel PIT: %s", strerror(-r));
      goto fail;
   }
   /* The APIC timer ticks once per bus cycle; KVM's default cycle is 1 ns. */
   ns = ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_APIC_BUS_CYCLES_NS);
   vm->apic_bus_khz = 1000000u / (unsigned)(ns > 0 ? ns : 1);
   r = kvm_cpuid_supported(vm, err, errlen);
   if (r < 0) {
      goto fail;
   }
   return 0;

fail:
   if (vm->fd >= 0) {
      close(vm->fd);
   }
   close(vm->sys_fd);
   return r;
}

static void kvm_vm_fini(vmm_vm *base)
{
   kvm_vm *vm = kvm_vm_of(base);

   free(vm->supported);
   close(vm->fd);
   close(vm->sys_fd);
}

static int kvm_map(vmm_vm *base, unsigned slot, uint64_t gpa, void *host, uint64_t size,
                   bool readonly)
{
   struct kvm_userspace_memory_region region = {
      .slot = slot,
      .flags = readonly ? KVM_MEM_READONLY : 0,
      .guest_phys_addr = gpa,
      .memory_size = size,
      .userspace_addr = (uintptr_t)host,
   };

   if (gpa < KVM_IDENTITY_MAP_ADDR + 4 * VMM_PAGE_SIZE && gpa + size > KVM_IDENTITY_MAP_ADDR) {
      return -EADDRINUSE;
   }
   return kvm_ioctl(kvm_vm_of(base)->fd, KVM_SET_USER_MEMORY_REGION, &region);
}

static int kvm_unmap(vmm_vm *base, unsigned slot)
{
   struct kvm_userspace_memory_region region = { .slot = slot };

   return kvm_ioctl(kvm_vm_of(base)->fd, KVM_SET_USER_MEMORY_REGION, &region);
}

static int kvm_irq_line(vmm_vm *base, unsigned gsi, bool level)
{
   struct kvm_irq_level irq = { .irq = gsi, .level = level ? 1 : 0 };
   int r = kvm_ioctl(kvm_vm_of(base)->fd, KVM_IRQ_LINE, &irq);

   return r < 0 ? r : 0;
}

static int kvm_msi(vmm_vm *base, uint64_t addr, uint32_t data)
{
   struct kvm_msi msi = {
      .address_lo = (uint32_t)addr,
      .address_hi = (uint32_t)(addr >> 32),
      .data = data,
   };
   int r = kvm_ioctl(kvm_vm_of(base)->fd, KVM_SIGNAL_MSI, &msi);

   return r < 0 ? r : 0;   /* 0: the interrupt was blocked by the guest */
}

/*
 * KVM_NMI is a vCPU ioctl and would wait for the vCPU to leave KVM_RUN, so
 * the NMI goes through the LAPIC instead: an MSI with NMI delivery mode to
 * the vCPU's APIC ID (which is its index).
 */
static int kvm_nmi(vmm_vm *base, vmm_vcpu *cpu)
{
   uint64_t addr = 0xfee00000ull | ((uint64_t)cpu->index << 12);
   uint32_t data = 4u << 8;   /* delivery mode 100b: NMI */

   return kvm_msi(base, addr, data);
}

/* ---- vCPUs ------------------------------------------------------------------- */

static int kvm_vcpu_init(vmm_vcpu *base, char *err, size_t errlen)
{
   kvm_vcpu *cpu = kvm_vcpu_of(base);
   kvm_vm *vm = kvm_vm_of(base->vm);
   void *run;
   int r;

   atomic_init(&cpu->tid, 0);
   cpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)base->index);
   if (cpu->fd < 0) {
      r = -errno;
      seterr(err, errlen, "KVM cannot create vCPU %u: %s", base->index, strerror(-r));
      return r;
   }
   run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu->fd, 0);
   if (run == MAP_FAILED) {
      r = -errno;
      seterr(err, errlen, "cannot map the run area of vCPU %u: %s", base->index,
             strerror(-r));
      close(cpu->fd);
      return r;
   }
   cpu->run = run;
   r = kvm_cpuid_default(cpu, err, errlen);
   if (r < 0) {
      munmap(cpu->run, vm->run_size);
      close(cpu->fd);
      return r;
   }
   return 0;
}

static void kvm_vcpu_fini(vmm_vcpu *base)
{
   kvm_vcpu *cpu = kvm_vcpu_of(base);

   munmap(cpu->run, kvm_vm_of(base->vm)->run_size);
   close(cpu->fd);
}

static void kvm_vcpu_kick(vmm_vcpu *base)
{
   kvm_vcpu *cpu = kvm_vcpu_of(base);
   pid_t tid;

   __atomic_store_n(&cpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
   tid = atomic_load(&cpu->tid);
   if (tid) {
      syscall(SYS_tgkill, getpid(), tid, kick_signo);
   }
}

/* Blocks the kick signal in this thread and hands KVM the mask to use inside
 * KVM_RUN (this thread's mask without the kick signal). */
static int enter_thread(kvm_vcpu *cpu, sigset_t *saved)
{
   sigset_t kick, inside;
   pid_t me = (pid_t)syscall(SYS_gettid);
   int r;

   sigemptyset(&kick);
   sigaddset(&kick, kick_signo);
   r = pthread_sigmask(SIG_BLOCK, &kick, saved);
   if (r != 0) {
      return -r;
   }
   if (cpu->mask_tid != me) {
      /* struct kvm_signal_mask ends in a flexible array: the kernel's
       * 8-byte sigset_t (64 signals) follows its len field. */
      union {
         struct kvm_signal_mask hdr;
         uint8_t bytes[sizeof(struct kvm_signal_mask) + 8];
      } m;

      inside = *saved;
      sigdelset(&inside, kick_signo);
      m.hdr.len = 8;
      memcpy(m.bytes + sizeof(struct kvm_signal_mask), &inside, 8);
      r = kvm_ioctl(cpu->fd, KVM_SET_SIGNAL_MASK, &m);
      if (r < 0) {
         pthread_sigmask(SIG_SETMASK, saved, NULL);
         return r;
      }
      cpu->mask_tid = me;
   }
   atomic_store(&cpu->tid, me);
   return 0;
}

static void leave_thread(kvm_vcpu *cpu, const sigset_t *saved)
{
   sigset_t kick;
   struct timespec zero = { 0, 0 };

   atomic_store(&cpu->tid, 0);
   /* Drop a kick that arrived after KVM_RUN returned; the request itself
    * stays in stop_requested when it was not consumed. */
   sigemptyset(&kick);
   sigaddset(&kick, kick_signo);
   while (sigtimedwait(&kick, NULL, &zero) > 0) {
   }
   pthread_sigmask(SIG_SETMASK, saved, NULL);
}

static int handle_io(kvm_vcpu *cpu, vmm_exit *exit)
{
   struct kvm_run *run = cpu->run;
   size_t run_size = kvm_vm_of(cpu->base.vm)->run_size;
   unsigned size = run->io.size, count = run->io.count;
   uint64_t off = run->io.data_offset;
   uint8_t *data;

   if ((size != 1 && size != 2 && size != 4) || count == 0 || off > run_size ||
       (uint64_t)size * count > run_size - off) {
      return vmm_exit_set(exit, VMM_EXIT_ERROR,
                          "KVM reported a bad port access (port 0x%x size %u count %u)",
                          run->io.port, size, count);
   }
   data = (uint8_t *)run + off;
   for (unsigned i = 0; i < count; i++, data += size) {
      uint32_t v = 0;

      if (run->io.direction == KVM_EXIT_IO_OUT) {
         memcpy(&v, data, size);
         vmm_io_pio_write(&cpu->base, run->io.port, size, v);
      } else {
         vmm_io_pio_read(&cpu->base, run->io.port, size, &v);
         memcpy(data, &v, size);
      }
   }
   return 1;
}

static int handle_mmio(kvm_vcpu *cpu, vmm_exit *exit)
{
   struct kvm_run *run = cpu->run;
   unsigned len = run->mmio.len;
   uint64_t v = 0;

   if (len < 1 || len > 8) {
      return vmm_exit_set(exit, VMM_EXIT_ERROR,
                          "KVM reported a bad MMIO access (0x%llx length %u)",
                          (unsigned long long)run->mmio.phys_addr, len);
   }
   if (run->mmio.is_write) {
      memcpy(&v, run->mmio.data, len);
      vmm_io_mmio_write(&cpu->base, run->mmio.phys_addr, len, v);
   } else {
      vmm_io_mmio_read(&cpu->base, run->mmio.phys_addr, len, &v);
      memcpy(run->mmio.data, &v, len);
   }
   return 1;
}

static uint64_t current_rip(kvm_vcpu *cpu)
{
   struct kvm_regs r;

   if (kvm_ioctl(cpu->fd, KVM_GET_REGS, &r) < 0) {
      return ~0ull;
   }
   return r.rip;
}

static int internal_error(kvm_vcpu *cpu, vmm_exit *exit)
{
   struct kvm_run *run = cpu->run;
   char bytes[64] = "";

   if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
       (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
      unsigned n = run->emulation_failure.insn_size;
      size_t pos = 0;

      if (n > sizeof run->emulation_failure.insn_bytes) {
         n = sizeof run->emulation_failure.insn_bytes;
      }
      for (unsigned i = 0; i < n && pos + 4 < sizeof bytes; i++) {
         pos += (size_t)snprintf(bytes + pos, sizeof bytes - pos, " %02x",
                                 run->emulation_failure.insn_bytes[i]);
      }
   }
   return vmm_exit_set(exit, VMM_EXIT_ERROR,
                       "KVM internal error %u (%s) at rip 0x%llx%s%s",
                       run->internal.suberror,
                       run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
                          "instruction emulation failed" :
                       run->internal.suberror == KVM_INTERNAL_ERROR_SIMUL_EX ?
                          "exception while delivering an exception" :
                       run->internal.suberror == KVM_INTERNAL_ERROR_DELIVERY_EV ?
                          "event delivery failed" : "other",
                       (unsigned long long)current_rip(cpu),
                       bytes[0] ? ", bytes" : "", bytes);
}

/* Returns 1 to keep running, 0 when *exit is complete. */
static int handle_exit(kvm_vcpu *cpu, vmm_exit *exit)
{
   struct kvm_run *run = cpu->run;

   switch (run->exit_reason) {
   case KVM_EXIT_IO:
      return handle_io(cpu, exit);
   case KVM_EXIT_MMIO:
      return handle_mmio(cpu, exit);
   case KVM_EXIT_SHUTDOWN:
      return vmm_exit_set(exit, VMM_EXIT_SHUTDOWN, "triple fault at rip 0x%llx",
                          (unsigned long long)current_rip(cpu));
   case KVM_EXIT_HLT:
      /* Only without an in-kernel LAPIC; kept for robustness. */
      if (!(run->if_flag)) {
         return vmm_exit_set(exit, VMM_EXIT_HALT, "HLT with interrupts disabled at rip 0x%llx",
                             (unsigned long long)current_rip(cpu));
      }
      return 1;
   case KVM_EXIT_SYSTEM_EVENT:
      switch (run->system_event.type) {
      case KVM_SYSTEM_EVENT_SHUTDOWN:
         return vmm_exit_set(exit, VMM_EXIT_SHUTDOWN, "system event: shutdown");
      case KVM_SYSTEM_EVENT_RESET:
         return vmm_exit_set(exit, VMM_EXIT_RESET, "system event: reset");
      default:
         return vmm_exit_set(exit, VMM_EXIT_ERROR, "unexpected KVM system event %u",
                             run->system_event.type);
      }
   case KVM_EXIT_INTERNAL_ERROR:
      return internal_error(cpu, exit);
   case KVM_EXIT_FAIL_ENTRY:
      return vmm_exit_set(exit, VMM_EXIT_ERROR,
                          "KVM could not enter the guest (hardware reason 0x%llx): "
                          "invalid vCPU state",
                          (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
   case KVM_EXIT_IRQ_WINDOW_OPEN:
   case KVM_EXIT_INTR:
      return 1;
   default:
      return vmm_exit_set(exit, VMM_EXIT_ERROR, "unexpected KVM exit %u at rip 0x%llx",
                          run->exit_reason, (unsigned long long)current_rip(cpu));
   }
}

static int kvm_vcpu_run(vmm_vcpu *base, vmm_exit *exit)
{
   kvm_vcpu *cpu = kvm_vcpu_of(base);
   struct kvm_run *run = cpu->run;
   sigset_t saved;
   int r;

   r = enter_thread(cpu, &saved);
   if (r < 0) {
      vmm_exit_set(exit, VMM_EXIT_ERROR, "cannot set up the vCPU thread's signals: %s",
                   strerror(-r));
      return r;
   }
   cpu->ran = true;
   for (;;) {
      if (vmm_stop_pending(base)) {
         __atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
      }
      r = ioctl(cpu->fd, KVM_RUN, 0);
      if (r < 0) {
         int e = errno;

         if (e == EINTR || e == EAGAIN) {
            __atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
            if (vmm_stop_take(base)) {
               vmm_exit_set(exit, VMM_EXIT_STOP, "stop requested");
               break;
            }
            continue;
         }
         vmm_exit_set(exit, VMM_EXIT_ERROR, "KVM_RUN failed: %s", strerror(e));
         break;
      }
      if (handle_exit(cpu, exit) == 0) {
         break;
      }
   }
   leave_thread(cpu, &saved);
   return 0;
}

const struct vmm_impl vmm_kvm_impl = {
   .name = "kvm",
   .vm_size = sizeof(kvm_vm),
   .vcpu_size = sizeof(kvm_vcpu),
   .vm_init = kvm_vm_init,
   .vm_fini = kvm_vm_fini,
   .map = kvm_map,
   .unmap = kvm_unmap,
   .irq_line = kvm_irq_line,
   .msi = kvm_msi,
   .nmi = kvm_nmi,
   .get_irqchip = kvm_get_irqchip,
   .set_irqchip = kvm_set_irqchip,
   .get_pit = kvm_get_pit,
   .set_pit = kvm_set_pit,
   .vcpu_init = kvm_vcpu_init,
   .vcpu_fini = kvm_vcpu_fini,
   .vcpu_kick = kvm_vcpu_kick,
   .vcpu_run = kvm_vcpu_run,
   .get_regs = kvm_get_regs,
   .set_regs = kvm_set_regs,
   .get_sregs = kvm_get_sregs,
   .set_sregs = kvm_set_sregs,
   .get_fpu = kvm_get_fpu,
   .set_fpu = kvm_set_fpu,
   .get_msrs = kvm_get_msrs,
   .set_msrs = kvm_set_msrs,
   .get_lapic = kvm_get_lapic,
   .set_lapic = kvm_set_lapic,
   .get_events = kvm_get_events,
   .set_events = kvm_set_events,
   .get_mp_state = kvm_get_mp_state,
   .set_mp_state = kvm_set_mp_state,
   .get_debugregs = kvm_get_debugregs,
   .set_debugregs = kvm_set_debugregs,
   .set_cpuid = kvm_set_cpuid,
   .get_cpuid = kvm_get_cpuid,
};
