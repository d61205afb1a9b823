/*
 * vmx/dev/chipset/backdoor.c - the VMware backdoor port dispatcher with
 * GETVERSION, GETMHZ, GETHZ and the host time. See backdoor.h.
 */
#include "vmx/dev/chipset/backdoor.h"
#include "vmx/dev/chipset/chipset.h"
#include "vmx/vmxlog.h"

#include <glib.h>
#include <pthread.h>
#include <time.h>

#define HV_LEAF_TIMING 0x40000010u
#define TSC_KHZ_MAX 100000000u   /* 100 GHz: anything above is not a TSC */

typedef struct bd_cmd {
   backdoor_fn fn;
   void *opaque;
} bd_cmd;

struct backdoor {
   vmx_platform *p;
   pthread_rwlock_t lock;    /* the command table */
   GHashTable *cmds;         /* cmd -> bd_cmd */
   pthread_mutex_t tsc_lock;
   uint32_t tsc_khz;         /* 0 until determined */
   bool restrict_cpl0;
   bool mapped;
   unsigned unknown_logged;
   unsigned nocpu_logged;
};

backdoor *
backdoor_get(vmx_platform *p)
{
   return vmx_platform_device(p, "backdoor");
}

bool
backdoor_register(backdoor *bd, uint16_t cmd, backdoor_fn fn, void *opaque, char **err)
{
   pthread_rwlock_wrlock(&bd->lock);
   if (g_hash_table_contains(bd->cmds, GUINT_TO_POINTER(cmd))) {
      pthread_rwlock_unlock(&bd->lock);
      *err = g_strdup_printf("backdoor command %u is already registered", cmd);
      return false;
   }
   bd_cmd *c = g_new(bd_cmd, 1);
   c->fn = fn;
   c->opaque = opaque;
   g_hash_table_insert(bd->cmds, GUINT_TO_POINTER(cmd), c);
   pthread_rwlock_unlock(&bd->lock);
   return true;
}

void
backdoor_unregister(backdoor *bd, uint16_t cmd)
{
   pthread_rwlock_wrlock(&bd->lock);
   g_hash_table_remove(bd->cmds, GUINT_TO_POINTER(cmd));
   pthread_rwlock_unlock(&bd->lock);
}

/* ---- TSC frequency */

static uint64_t
read_tsc(void)
{
   uint32_t lo, hi;
   __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
   return ((uint64_t)hi << 32) | lo;
}

static uint64_t
mono_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
   return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t
measure_tsc_khz(void)
{
   uint64_t t0 = mono_ns(), c0 = read_tsc();
   struct timespec d = { 0, 20 * 1000 * 1000 };
   while (nanosleep(&d, &d) != 0) {
   }
   uint64_t t1 = mono_ns(), c1 = read_tsc();
   if (t1 <= t0 || c1 <= c0) {
      return 0;
   }
   return (uint32_t)((c1 - c0) * 1000000ull / (t1 - t0));
}

/* Leaf 0x40000010 of the vCPU: EAX = TSC kHz, EBX = APIC bus kHz. */
static uint32_t
cpuid_tsc_khz(vmm_vcpu *cpu, uint32_t *bus_khz)
{
   unsigned n = 0;
   vmm_cpuid_entry *e = g_new(vmm_cpuid_entry, VMM_CPUID_MAX_ENTRIES);
   uint32_t khz = 0, bus = 0;
   if (vmm_vcpu_get_cpuid(cpu, e, VMM_CPUID_MAX_ENTRIES, &n) == 0) {
      for (unsigned i = 0; i < n; i++) {
         if (e[i].function == HV_LEAF_TIMING) {
            khz = e[i].eax;
            bus = e[i].ebx;
         }
      }
   }
   g_free(e);
   if (bus_khz) {
      *bus_khz = bus <= TSC_KHZ_MAX ? bus : 0;
   }
   return khz <= TSC_KHZ_MAX ? khz : 0;
}

uint32_t
backdoor_tsc_mhz(backdoor *bd, vmm_vcpu *cpu)
{
   pthread_mutex_lock(&bd->tsc_lock);
   if (!bd->tsc_khz) {
      uint32_t khz = cpu ? cpuid_tsc_khz(cpu, NULL) : 0;
      if (!khz) {
         khz = measure_tsc_khz();
      }
      if (khz) {
         bd->tsc_khz = khz;
         vmxlog("Backdoor: TSC frequency %u kHz (%s)", khz,
                cpu ? "from the vCPU's CPUID or measured" : "measured on the host");
      }
   }
   uint32_t mhz = (bd->tsc_khz + 500) / 1000;
   pthread_mutex_unlock(&bd->tsc_lock);
   return mhz;
}

/* ---- built-in commands */

static void
cmd_getmhz(void *opaque, vmm_vcpu *cpu, vmm_regs *r)
{
   backdoor *bd = opaque;
   backdoor_set32(r, VMM_RAX, backdoor_tsc_mhz(bd, cpu));
   backdoor_set32(r, VMM_RBX, BDOOR_MAGIC);
}

/* GETHZ: EAX:EBX = TSC Hz (EBX = 0xffffffff when unknown), ECX = APIC bus
 * Hz (0 when unknown). Linux's VMware platform code takes its TSC and
 * LAPIC timer frequencies from here instead of calibrating them. */
static void
cmd_gethz(void *opaque, vmm_vcpu *cpu, vmm_regs *r)
{
   backdoor *bd = opaque;
   uint32_t mhz = backdoor_tsc_mhz(bd, cpu);
   pthread_mutex_lock(&bd->tsc_lock);
   uint64_t hz = (uint64_t)bd->tsc_khz * 1000;
   pthread_mutex_unlock(&bd->tsc_lock);
   uint32_t bus_khz = 0;
   if (cpu) {
      cpuid_tsc_khz(cpu, &bus_khz);
   }
   if (!mhz || !hz) {
      backdoor_set32(r, VMM_RBX, 0xffffffffu);
      return;
   }
   backdoor_set32(r, VMM_RAX, (uint32_t)hz);
   backdoor_set32(r, VMM_RBX, (uint32_t)(hz >> 32));
   backdoor_set32(r, VMM_RCX, bus_khz * 1000u);
}

/* ---- host time (open-vm-tools' timesync reads it) */

static void
cmd_gettime(void *opaque, vmm_vcpu *cpu, vmm_regs *r)
{
   gint64 now = g_get_real_time();
   GDateTime *dt = g_date_time_new_now_local();
   gint64 off_min = dt ? g_date_time_get_utc_offset(dt) / G_USEC_PER_SEC / 60 : 0;
   if (dt) {
      g_date_time_unref(dt);
   }
   backdoor_set32(r, VMM_RAX, (uint32_t)(now / G_USEC_PER_SEC));
   backdoor_set32(r, VMM_RBX, (uint32_t)(now % G_USEC_PER_SEC));
   backdoor_set32(r, VMM_RCX, BDOOR_TIME_MAX_LAG_US);
   backdoor_set32(r, VMM_RDX, (uint32_t)(int32_t)off_min);
}

static void
cmd_gettimefull(void *opaque, vmm_vcpu *cpu, vmm_regs *r)
{
   uint64_t now = (uint64_t)g_get_real_time();
   uint64_t secs = now / G_USEC_PER_SEC;
   /* EAX stays the magic: that is how guests see success. */
   backdoor_set32(r, VMM_RSI, (uint32_t)(secs >> 32));
   backdoor_set32(r, VMM_RDX, (uint32_t)secs);
   backdoor_set32(r, VMM_RBX, (uint32_t)(now % G_USEC_PER_SEC));
   backdoor_set32(r, VMM_RCX, BDOOR_TIME_MAX_LAG_US);
}

static void
cmd_gettimefull_lag(void *opaque, vmm_vcpu *cpu, vmm_regs *r)
{
   cmd_gettimefull(opaque, cpu, r);
   backdoor_set32(r, VMM_RDI, 0);
}

static void
cmd_stopcatchup(void *opaque, vmm_vcpu *cpu, vmm_regs *r)
{
}

static void
cmd_getversion(void *opaque, vmm_vcpu *cpu, vmm_regs *r)
{
   backdoor_set32(r, VMM_RAX, BDOOR_VERSION);
   backdoor_set32(r, VMM_RBX, BDOOR_MAGIC);
   backdoor_set32(r, VMM_RCX, BDOOR_VMX_TYPE_WORKSTATION);
}

/* ---- dispatch */

bool
backdoor_dispatch(backdoor *bd, vmm_vcpu *cpu, vmm_regs *regs)
{
   if (backdoor_get32(regs, VMM_RAX) != BDOOR_MAGIC) {
      return false;
   }
   uint16_t cmd = (uint16_t)regs->gpr[VMM_RCX];
   pthread_rwlock_rdlock(&bd->lock);
   bd_cmd *c = g_hash_table_lookup(bd->cmds, GUINT_TO_POINTER(cmd));
   bd_cmd copy = c ? *c : (bd_cmd){ NULL, NULL };
   pthread_rwlock_unlock(&bd->lock);
   if (!copy.fn) {
      if (__atomic_fetch_add(&bd->unknown_logged, 1, __ATOMIC_RELAXED) < 16) {
         vmxlog("Backdoor: unsupported command %u", cmd);
      }
      backdoor_set32(regs, VMM_RAX, 0xffffffffu);
      return true;
   }
   copy.fn(copy.opaque, cpu, regs);
   return true;
}

/* The vCPU's registers, or false when the call is not made (no vCPU, a
 * monitor error, a restricted privilege level). */
static bool
fetch_regs(backdoor *bd, vmm_vcpu *cpu, vmm_regs *regs)
{
   if (!cpu) {
      if (__atomic_fetch_add(&bd->nocpu_logged, 1, __ATOMIC_RELAXED) < 4) {
         vmxlog("Backdoor: access without a vCPU ignored");
      }
      return false;
   }
   if (vmm_vcpu_get_regs(cpu, regs) != 0) {
      vmxlog("Backdoor: cannot read the registers of vCPU %u", vmm_vcpu_index(cpu));
      return false;
   }
   if (bd->restrict_cpl0) {
      vmm_sregs s;
      if (vmm_vcpu_get_sregs(cpu, &s) != 0 || s.seg[VMM_SS].dpl != 0) {
         return false;
      }
   }
   return true;
}

static uint64_t
bd_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   backdoor *bd = opaque;
   vmm_regs regs;
   if (size != 4 || !fetch_regs(bd, cpu, &regs)) {
      return ~0ull;
   }
   uint32_t eax = backdoor_get32(&regs, VMM_RAX);
   if (backdoor_dispatch(bd, cpu, &regs)) {
      if (vmm_vcpu_set_regs(cpu, &regs) != 0) {
         vmxlog("Backdoor: cannot write the registers of vCPU %u", vmm_vcpu_index(cpu));
      }
      eax = backdoor_get32(&regs, VMM_RAX);
   }
   return eax;
}

static void
bd_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   backdoor *bd = opaque;
   vmm_regs regs;
   if (size != 4 || !fetch_regs(bd, cpu, &regs)) {
      return;
   }
   if (backdoor_dispatch(bd, cpu, &regs) && vmm_vcpu_set_regs(cpu, &regs) != 0) {
      vmxlog("Backdoor: cannot write the registers of vCPU %u", vmm_vcpu_index(cpu));
   }
}

/* ---- device */

static void bd_destroy(void *dev);

static void *
bd_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   bool restrict_cpl0;
   if (!vmxcfg_get_bool(cfg, "monitor_control.restrict_backdoor", false, &restrict_cpl0, err)) {
      return NULL;
   }
   backdoor *bd = g_new0(backdoor, 1);
   bd->p = p;
   bd->restrict_cpl0 = restrict_cpl0;
   pthread_rwlock_init(&bd->lock, NULL);
   pthread_mutex_init(&bd->tsc_lock, NULL);
   bd->cmds = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
   const vmx_io_region r = { "VMware backdoor", bd_read, bd_write, bd };
   bd->mapped = vmx_platform_map_pio(p, BDOOR_PORT, 1, &r, err);
   if (!bd->mapped || !backdoor_register(bd, BDOOR_CMD_GETMHZ, cmd_getmhz, bd, err) ||
       !backdoor_register(bd, BDOOR_CMD_GETVERSION, cmd_getversion, bd, err) ||
       !backdoor_register(bd, BDOOR_CMD_GETHZ, cmd_gethz, bd, err) ||
       !backdoor_register(bd, BDOOR_CMD_GETTIME, cmd_gettime, bd, err) ||
       !backdoor_register(bd, BDOOR_CMD_STOPCATCHUP, cmd_stopcatchup, bd, err) ||
       !backdoor_register(bd, BDOOR_CMD_GETTIMEFULL, cmd_gettimefull, bd, err) ||
       !backdoor_register(bd, BDOOR_CMD_GETTIMEFULL_WITH_LAG, cmd_gettimefull_lag, bd, err)) {
      bd_destroy(bd);
      return NULL;
   }
   if (restrict_cpl0) {
      vmxlog("Backdoor: restricted to CPL 0 (monitor_control.restrict_backdoor)");
   }
   return bd;
}

static void
bd_destroy(void *dev)
{
   backdoor *bd = dev;
   if (bd->mapped) {
      vmx_platform_unmap_pio(bd->p, BDOOR_PORT, 1);
   }
   g_hash_table_destroy(bd->cmds);
   pthread_rwlock_destroy(&bd->lock);
   pthread_mutex_destroy(&bd->tsc_lock);
   g_free(bd);
}

static void
bd_save(void *dev, ckpt_writer *w)
{
   backdoor *bd = dev;
   pthread_mutex_lock(&bd->tsc_lock);
   if (bd->tsc_khz) {
      ckpt_put_u32(w, "tsc_khz", bd->tsc_khz);
   }
   pthread_mutex_unlock(&bd->tsc_lock);
}

static bool
bd_restore(void *dev, ckpt_reader *r, char **err)
{
   backdoor *bd = dev;
   uint32_t khz;
   if (!ckpt_get_u32(r, "tsc_khz", &khz)) {
      return true;
   }
   if (khz < 1000 || khz > TSC_KHZ_MAX) {
      *err = g_strdup_printf("checkpoint section backdoor: item 'tsc_khz' is %u kHz; a TSC "
                             "runs at 1 MHz to 100 GHz", khz);
      return false;
   }
   pthread_mutex_lock(&bd->tsc_lock);
   bd->tsc_khz = khz;
   pthread_mutex_unlock(&bd->tsc_lock);
   return true;
}

const vmx_device_desc vmx_dev_backdoor = {
   .name = "backdoor",
   .version = 1,
   .create = bd_create,
   .reset = NULL,   /* no guest-resettable state; the TSC frequency stays */
   .destroy = bd_destroy,
   .save = bd_save,
   .restore = bd_restore,
};
