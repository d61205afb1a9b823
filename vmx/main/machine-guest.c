/*
 * vmx/main/machine-guest.c - the PC platform and boot image of a machine.
 *
 * The device table below is the platform's explicit init order: the PCI
 * host bridge first (other devices register PCI functions with it), then
 * the legacy chipset, then ACPI. Under the software monitor the userspace
 * interrupt controllers and PIT join the table; under KVM they are
 * in-kernel.
 */
#include "vmx/main/machine-guest.h"
#include "vmx/boot/boot.h"
#include "vmx/dev/acpi/acpi.h"
#include "vmx/dev/chipset/chipset.h"
#include "vmx/dev/chipset/guestrpc.h"
#include "vmx/dev/chipset/pci.h"
#include "vmx/dev/chipset/vmmouse.h"
#include "vmx/dev/intc/intc.h"
#include "vmx/vmxlog.h"
#include "mks/svga/svga.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

static const vmx_device_desc *const pc_devices[] = {
   &vmx_dev_pci,       /* host bridge first: devices register PCI functions */
   &vmx_dev_svga,      /* 00:0f.0 SVGA II, VGA ports, Bochs VBE (mks/svga) */
   &vmx_dev_reset,     /* 0xcf9 */
   &vmx_dev_cmos,      /* RTC and NVRAM */
   &vmx_dev_uart,      /* COM1-COM4 */
   &vmx_dev_i8042,     /* keyboard controller, then its PS/2 devices */
   &vmx_dev_ps2kbd,
   &vmx_dev_ps2mouse,
   &vmx_dev_backdoor,  /* before devices that add backdoor commands */
   &vmx_dev_vmmouse,   /* absolute pointer: backdoor + PS/2 mouse */
   &vmx_dev_guestrpc,  /* GuestRPC (RPCI/TCLO) on the backdoor */
   &vmx_dev_acpi_pm,   /* PM timer, power button, S5 */
};

/* Under the software monitor the interrupt controllers and the PIT are
 * ours; intc comes last: it wires the others together. */
static const vmx_device_desc *const soft_irq_devices[] = {
   &vmx_dev_pic, &vmx_dev_ioapic, &vmx_dev_lapic, &vmx_dev_pit, &vmx_dev_intc,
};

struct vmx_machine_guest {
   vmxcfg *cfg;              /* a copy: the vmx may change its own */
   char *vmx_dir;
   unsigned ncpus;
   vmx_guest_ram ram;
   vmx_platform *plat;
   vmx_boot_state boot;
   bool booted;              /* boot holds a loaded image's entry state */
   vmm_vm *vm;
};

static void
copy_entry(const char *key, const char *value, void *user)
{
   vmxcfg_set(user, key, value);
}

static void
msi_to_intc(void *opaque, uint64_t addr, uint32_t data)
{
   intc_msi(opaque, addr, data);
}

/* serialN.fileName is relative to the .vmx's folder, as VMware reads it. */
static void
resolve_serial_paths(vmxcfg *cfg, const char *vmx_dir)
{
   for (int n = 0; n < 4 && vmx_dir; n++) {
      char key[32];
      snprintf(key, sizeof key, "serial%d.fileName", n);
      const char *f = vmxcfg_get(cfg, key);
      if (f && *f && !g_path_is_absolute(f)) {
         char *abs = g_build_filename(vmx_dir, f, NULL);
         vmxcfg_set(cfg, key, abs);
         g_free(abs);
      }
   }
}

bool
vmx_machine_guest_wanted(const vmxcfg *cfg)
{
   return vmxcfg_get(cfg, "linux.kernel") != NULL;
}

static bool
guest_create(const vmxcfg *cfg, const char *vmx_dir, vmm_kind kind, void *ram, uint64_t ram_size,
             unsigned ncpus, bool load, bool continuing, vmx_machine_guest **out, char **err)
{
   *out = NULL;
   if (!vmx_machine_guest_wanted(cfg)) {
      return true; /* nothing to boot: an idle machine */
   }
   vmx_machine_guest *g = g_new0(vmx_machine_guest, 1);
   g->cfg = vmxcfg_new();
   vmxcfg_foreach(cfg, copy_entry, g->cfg);
   g->vmx_dir = g_strdup(vmx_dir);
   g->ncpus = ncpus;
   g->ram.base = ram;
   g->ram.size = ram_size;
   resolve_serial_paths(g->cfg, vmx_dir);
   g->plat = vmx_platform_new();
   vmx_platform_set_continuing(g->plat, continuing);
   if (!vmx_platform_add_devices(g->plat, pc_devices, G_N_ELEMENTS(pc_devices), g->cfg, err) ||
       (kind == VMM_KIND_SOFTWARE &&
        !vmx_platform_add_devices(g->plat, soft_irq_devices, G_N_ELEMENTS(soft_irq_devices),
                                  g->cfg, err))) {
      vmx_machine_guest_destroy(g);
      return false;
   }
   if (kind == VMM_KIND_SOFTWARE) {
      /* MSI writes go to our LAPICs, not to the (absent) in-kernel ones. */
      pci_host_set_msi_sink(pci_host_get(g->plat), msi_to_intc,
                            vmx_platform_device(g->plat, vmx_dev_intc.name));
   }
   if (!load) {
      vmxlog("Boot: image not loaded (resuming from a checkpoint)");
      *out = g;
      return true;
   }
   /* Load now so a bad image fails the power-on before any vCPU exists. */
   if (!vmx_boot_from_config(g->cfg, g->vmx_dir, ncpus, &g->ram, &g->boot, err)) {
      vmx_machine_guest_destroy(g);
      return false;
   }
   g->booted = true;
   vmxlog("Boot: %s entry at 0x%llx, kernel 0x%llx-0x%llx%s", g->boot.method,
          (unsigned long long)g->boot.entry, (unsigned long long)g->boot.kernel_start,
          (unsigned long long)g->boot.kernel_end, g->boot.initrd_size ? ", initrd" : "");
   *out = g;
   return true;
}

bool
vmx_machine_guest_create(const vmxcfg *cfg, const char *vmx_dir, vmm_kind kind, void *ram,
                         uint64_t ram_size, unsigned ncpus, vmx_machine_guest **out, char **err)
{
   return guest_create(cfg, vmx_dir, kind, ram, ram_size, ncpus, true, false, out, err);
}

bool
vmx_machine_guest_create_unbooted(const vmxcfg *cfg, const char *vmx_dir, vmm_kind kind,
                                  void *ram, uint64_t ram_size, unsigned ncpus, bool continuing,
                                  vmx_machine_guest **out, char **err)
{
   return guest_create(cfg, vmx_dir, kind, ram, ram_size, ncpus, false, continuing, out, err);
}

void
vmx_machine_guest_destroy(vmx_machine_guest *g)
{
   if (!g) {
      return;
   }
   vmx_platform_free(g->plat);
   vmxcfg_free(g->cfg);
   g_free(g->vmx_dir);
   g_free(g);
}

vmx_platform *
vmx_machine_guest_platform(vmx_machine_guest *g)
{
   return g ? g->plat : NULL;
}

const char *
vmx_machine_guest_kind(vmx_machine_guest *g)
{
   return g->boot.method ? g->boot.method : "direct boot";
}

static bool
map_ram(vmx_machine_guest *g, vmm_vm *vm, char **err)
{
   vmx_boot_layout l;
   vmx_boot_layout_get(g->ram.size, &l);
   int r = vmm_vm_map(vm, 0, g->ram.base, l.low_end, false);
   if (r == 0 && l.high_end > VMX_BOOT_4G) {
      r = vmm_vm_map(vm, VMX_BOOT_4G, g->ram.base + l.low_end, l.high_end - VMX_BOOT_4G, false);
   }
   if (r < 0) {
      *err = g_strdup_printf("cannot map guest RAM into the monitor: %s", g_strerror(-r));
      return false;
   }
   return true;
}

static bool
set_boot_state(vmx_machine_guest *g, vmm_vcpu *bsp, char **err)
{
   int r = vmm_vcpu_set_sregs(bsp, &g->boot.sregs);
   if (r == 0) {
      r = vmm_vcpu_set_regs(bsp, &g->boot.regs);
   }
   if (r < 0) {
      *err = g_strdup_printf("cannot set the boot vCPU's state: %s", g_strerror(-r));
      return false;
   }
   return true;
}

/* The SVGA device's VRAM and FIFO BARs are host memory: the guest reaches
 * them as RAM slots at wherever it put the BARs, not through MMIO exits.
 * Runs on the thread that moved the BAR (a vCPU's PCI config write, or
 * attach/reset on the main thread). */
static void
svga_bar_moved(void *opaque, unsigned bar, uint64_t old_gpa, uint64_t new_gpa, void *host,
               uint64_t size)
{
   vmx_machine_guest *g = opaque;
   if (old_gpa != UINT64_MAX) {
      int r = vmm_vm_unmap(g->vm, old_gpa, size);
      if (r < 0) {
         vmxlog("SVGA: cannot unmap BAR%u at 0x%llx: %s", bar, (unsigned long long)old_gpa,
                g_strerror(-r));
      }
   }
   if (new_gpa != UINT64_MAX) {
      int r = vmm_vm_map(g->vm, new_gpa, host, size, false);
      if (r < 0) {
         /* It still works, through MMIO exits. */
         vmxlog("SVGA: cannot map BAR%u at 0x%llx (%llu KiB): %s; guest accesses are emulated",
                bar, (unsigned long long)new_gpa, (unsigned long long)(size >> 10),
                g_strerror(-r));
      }
   }
}

bool
vmx_machine_guest_attach(vmx_machine_guest *g, vmm_vm *vm, vmm_vcpu *bsp, char **err)
{
   g->vm = vm;
   vmx_platform_attach_vmm(g->plat, vm);
   if (!map_ram(g, vm, err)) {
      return false;
   }
   svga *sv = svga_get(g->plat);
   if (sv) {
      svga_set_bar_listener(sv, svga_bar_moved, g);   /* maps the BARs now */
   }
   return !g->booted || set_boot_state(g, bsp, err);
}

void
vmx_machine_guest_detach(vmx_machine_guest *g)
{
   svga *sv = svga_get(g->plat);
   if (sv) {
      svga_set_bar_listener(sv, NULL, NULL);
   }
   vmx_platform_attach_vmm(g->plat, NULL);
   g->vm = NULL;
}

bool
vmx_machine_guest_reset(vmx_machine_guest *g, vmm_vcpu *const *cpus, unsigned n, char **err)
{
   vmx_platform_reset(g->plat);
   if (!vmx_boot_from_config(g->cfg, g->vmx_dir, g->ncpus, &g->ram, &g->boot, err)) {
      return false;
   }
   g->booted = true;
   return n == 0 || set_boot_state(g, cpus[0], err);
}

void *
vmx_machine_guest_intc(vmx_machine_guest *g)
{
   return g ? vmx_platform_device(g->plat, vmx_dev_intc.name) : NULL;
}

bool
vmx_machine_guest_power_button(vmx_machine_guest *g)
{
   void *pm = vmx_platform_device(g->plat, vmx_dev_acpi_pm.name);
   return pm && vmx_acpi_pm_power_button(pm);
}
