/*
 * vmx/machine.c - guest RAM, vCPUs and the platform of one VM.
 */
#include "vmx/machine.h"
#include "vmx/vmxlog.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define VMX_MAX_VCPUS 64
#define VMX_MIN_MEMSIZE_MB 4

struct vmx_machine {
   vmx_hw_config hw;
   int ram_fd;
   void *ram;
   uint64_t ram_size;
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
                             "automatic", mon);
      return false;
   }
   hw->memsize_mb = (uint64_t)mem;
   hw->numvcpus = (unsigned)ncpu;
   hw->monitor_requested = !g_ascii_strcasecmp(mon, "hardware")   ? "hardware"
                           : !g_ascii_strcasecmp(mon, "software") ? "software"
                                                                  : "automatic";
   return true;
}

vmx_machine *
vmx_machine_create(const vmx_hw_config *hw, char **err)
{
   vmx_machine *m = g_new0(vmx_machine, 1);
   m->hw = *hw;
   m->ram_size = hw->memsize_mb << 20;
   m->ram_fd = memfd_create("vmws-guest-ram", MFD_CLOEXEC);
   if (m->ram_fd < 0) {
      *err = g_strdup_printf("cannot create guest memory: %s", strerror(errno));
      g_free(m);
      return NULL;
   }
   if (ftruncate(m->ram_fd, (off_t)m->ram_size) < 0) {
      *err = g_strdup_printf("cannot size guest memory to %llu MB: %s",
                             (unsigned long long)hw->memsize_mb, strerror(errno));
      close(m->ram_fd);
      g_free(m);
      return NULL;
   }
   m->ram = mmap(NULL, m->ram_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE,
                 m->ram_fd, 0);
   if (m->ram == MAP_FAILED) {
      *err = g_strdup_printf("cannot map %llu MB of guest memory: %s",
                             (unsigned long long)hw->memsize_mb, strerror(errno));
      close(m->ram_fd);
      g_free(m);
      return NULL;
   }
   vmxlog("Machine: %llu MB RAM (memfd), %u vCPU(s), no guest image: idle machine",
          (unsigned long long)hw->memsize_mb, hw->numvcpus);
   return m;
}

void
vmx_machine_destroy(vmx_machine *m)
{
   if (!m) {
      return;
   }
   munmap(m->ram, m->ram_size);
   close(m->ram_fd);
   g_free(m);
}

const char *
vmx_machine_kind(const vmx_machine *m)
{
   return "idle";
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
   m->paused = true;
   return 0;
}

int
vmx_machine_unpause(vmx_machine *m, char **err)
{
   m->paused = false;
   return 0;
}

int
vmx_machine_reset(vmx_machine *m, char **err)
{
   /* A reset clears guest RAM as a power cycle would. */
   if (fallocate(m->ram_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, (off_t)m->ram_size) <
       0) {
      memset(m->ram, 0, m->ram_size);
   }
   m->paused = false;
   return 0;
}

bool
vmx_machine_request_shutdown(vmx_machine *m)
{
   return false; /* an idle machine has no guest OS to press a button for */
}
