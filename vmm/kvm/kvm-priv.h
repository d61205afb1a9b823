/*
 * vmm/kvm/kvm-priv.h - private to the KVM monitor.
 */
#ifndef VMM_KVM_PRIV_H
#define VMM_KVM_PRIV_H

#include "vmm/monitor-impl.h"

#include <linux/kvm.h>
#include <sys/types.h>

/* Newer than the Debian 12 kernel headers. */
#ifndef KVM_CAP_X86_APIC_BUS_CYCLES_NS
#define KVM_CAP_X86_APIC_BUS_CYCLES_NS 237
#endif

/* Addresses KVM needs for its own use on Intel hosts (real-mode TSS and the
 * EPT identity map): three pages and one page just below the BIOS area.
 * Guest RAM and devices must stay clear of [0xfffbc000, 0xfffc0000). */
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ull
#define KVM_TSS_ADDR          0xfffbd000ull

typedef struct kvm_vm {
   vmm_vm base;
   int sys_fd;                 /* /dev/kvm */
   int fd;                     /* the VM */
   size_t run_size;            /* KVM_GET_VCPU_MMAP_SIZE */
   struct kvm_cpuid2 *supported;
   uint32_t apic_bus_khz;
} kvm_vm;

typedef struct kvm_vcpu {
   vmm_vcpu base;
   int fd;
   struct kvm_run *run;
   _Atomic pid_t tid;          /* kernel thread id while inside run, else 0 */
   pid_t mask_tid;             /* thread whose signal mask KVM has */
   bool ran;
   unsigned ncpuid;
   vmm_cpuid_entry cpuid[VMM_CPUID_MAX_ENTRIES];
} kvm_vcpu;

static inline kvm_vm *kvm_vm_of(vmm_vm *vm)
{
   return (kvm_vm *)vm;
}

static inline kvm_vcpu *kvm_vcpu_of(vmm_vcpu *cpu)
{
   return (kvm_vcpu *)cpu;
}

/* kvm-cpuid.c */
int kvm_cpuid_supported(kvm_vm *vm, char *err, size_t errlen);
int kvm_cpuid_default(kvm_vcpu *cpu, char *err, size_t errlen);
int kvm_cpuid_apply(kvm_vcpu *cpu, const vmm_cpuid_entry *e, unsigned n);

/* kvm-state.c: the get/set entries of vmm_kvm_impl. */
int kvm_get_regs(vmm_vcpu *cpu, vmm_regs *r);
int kvm_set_regs(vmm_vcpu *cpu, const vmm_regs *r);
int kvm_get_sregs(vmm_vcpu *cpu, vmm_sregs *s);
int kvm_set_sregs(vmm_vcpu *cpu, const vmm_sregs *s);
int kvm_get_fpu(vmm_vcpu *cpu, vmm_fpu *f);
int kvm_set_fpu(vmm_vcpu *cpu, const vmm_fpu *f);
int kvm_get_msrs(vmm_vcpu *cpu, vmm_msr *msrs, unsigned n);
int kvm_set_msrs(vmm_vcpu *cpu, const vmm_msr *msrs, unsigned n);
int kvm_get_lapic(vmm_vcpu *cpu, vmm_lapic *l);
int kvm_set_lapic(vmm_vcpu *cpu, const vmm_lapic *l);
int kvm_get_events(vmm_vcpu *cpu, vmm_events *e);
int kvm_set_events(vmm_vcpu *cpu, const vmm_events *e);
int kvm_get_mp_state(vmm_vcpu *cpu, vmm_mp_state *st);
int kvm_set_mp_state(vmm_vcpu *cpu, vmm_mp_state st);
int kvm_get_debugregs(vmm_vcpu *cpu, vmm_debugregs *d);
int kvm_set_debugregs(vmm_vcpu *cpu, const vmm_debugregs *d);
int kvm_set_cpuid(vmm_vcpu *cpu, const vmm_cpuid_entry *e, unsigned n);
int kvm_get_cpuid(vmm_vcpu *cpu, vmm_cpuid_entry *e, unsigned max, unsigned *n);

/* kvm-irqchip.c: the in-kernel PIC/IOAPIC and PIT state. */
int kvm_get_irqchip(vmm_vm *vm, vmm_irqchip_state *s);
int kvm_set_irqchip(vmm_vm *vm, const vmm_irqchip_state *s);
int kvm_get_pit(vmm_vm *vm, vmm_pit_state *s);
int kvm_set_pit(vmm_vm *vm, const vmm_pit_state *s);

/* ioctl that retries on EINTR and returns -errno on failure. */
int kvm_ioctl(int fd, unsigned long req, void *arg);

#endif
