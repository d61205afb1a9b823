/*
 * vmm/kvm/kvm-cpuid.c - the CPUID model of a KVM vCPU: what KVM and the host
 * support (KVM_GET_SUPPORTED_CPUID), with the vCPU's APIC ID, the
 * hypervisor-present bit, and VMware's hypervisor leaves in place of KVM's:
 *
 *   0x40000000  eax = 0x40000010 (highest hypervisor leaf)
 *               ebx, ecx, edx = "VMwa" "reVM" "ware"
 *   0x40000001-0x4000000f  zero
 *   0x40000010  eax = TSC frequency in kHz, ebx = APIC bus frequency in kHz
 */
#include "vmm/kvm/kvm-priv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define HV_BASE 0x40000000u
#define HV_MAX  0x40000010u

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

int kvm_cpuid_supported(kvm_vm *vm, char *err, size_t errlen)
{
   unsigned nent = 64;

   for (;;) {
      struct kvm_cpuid2 *c = calloc(1, sizeof *c + nent * sizeof c->entries[0]);
      int r;

      if (!c) {
         seterr(err, errlen, "out of memory reading the supported CPUID");
         return -ENOMEM;
      }
      c->nent = nent;
      r = kvm_ioctl(vm->sys_fd, KVM_GET_SUPPORTED_CPUID, c);
      if (r == 0) {
         vm->supported = c;
         return 0;
      }
      free(c);
      if (r != -E2BIG || nent >= 4096) {
         seterr(err, errlen, "KVM_GET_SUPPORTED_CPUID failed: %s", strerror(-r));
         return r;
      }
      nent *= 2;
   }
}

static uint32_t sig(const char *four)
{
   return (uint32_t)(uint8_t)four[0] | (uint32_t)(uint8_t)four[1] << 8 |
          (uint32_t)(uint8_t)four[2] << 16 | (uint32_t)(uint8_t)four[3] << 24;
}

int kvm_cpuid_default(kvm_vcpu *cpu, char *err, size_t errlen)
{
   kvm_vm *vm = kvm_vm_of(cpu->base.vm);
   const struct kvm_cpuid2 *sup = vm->supported;
   vmm_cpuid_entry *out = cpu->cpuid;
   uint32_t id = cpu->base.index;
   unsigned n = 0;
   int tsc_khz, r;

   tsc_khz = ioctl(cpu->fd, KVM_GET_TSC_KHZ, 0);
   if (tsc_khz <= 0) {
      r = tsc_khz < 0 ? -errno : -EIO;
      seterr(err, errlen, "KVM cannot tell the TSC frequency of vCPU %u", id);
      return r;
   }
   for (unsigned i = 0; i < sup->nent; i++) {
      const struct kvm_cpuid_entry2 *k = &sup->entries[i];
      vmm_cpuid_entry e;

      if ((k->function & 0xf0000000u) == HV_BASE) {
         continue;   /* KVM's own paravirtual leaves: replaced below */
      }
      if (n + (HV_MAX - HV_BASE + 1) >= VMM_CPUID_MAX_ENTRIES) {
         seterr(err, errlen, "the host CPUID model has too many entries (%u)", sup->nent);
         return -E2BIG;
      }
      e = (vmm_cpuid_entry){
         .function = k->function, .index = k->index,
         .flags = (k->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ? VMM_CPUID_FLAG_INDEXED : 0,
         .eax = k->eax, .ebx = k->ebx, .ecx = k->ecx, .edx = k->edx,
      };
      switch (e.function) {
      case 1:
         e.ebx = (e.ebx & 0x00ffffffu) | id << 24;   /* initial APIC ID */
         e.ecx |= 1u << 31;                          /* hypervisor present */
         break;
      case 0xb:
      case 0x1f:
         e.edx = id;                                 /* x2APIC ID */
         break;
      case 0x8000001e:
         e.eax = id;                                 /* AMD extended APIC ID */
         break;
      }
      out[n++] = e;
   }
   out[n++] = (vmm_cpuid_entry){
      .function = HV_BASE, .eax = HV_MAX,
      .ebx = sig("VMwa"), .ecx = sig("reVM"), .edx = sig("ware"),
   };
   for (uint32_t f = HV_BASE + 1; f < HV_MAX; f++) {
      out[n++] = (vmm_cpuid_entry){ .function = f };
   }
   out[n++] = (vmm_cpuid_entry){
      .function = HV_MAX, .eax = (uint32_t)tsc_khz, .ebx = vm->apic_bus_khz,
   };
   cpu->ncpuid = n;
   r = kvm_cpuid_apply(cpu, out, n);
   if (r < 0) {
      seterr(err, errlen, "KVM refused the CPUID model of vCPU %u: %s", id, strerror(-r));
   }
   return r;
}

int kvm_cpuid_apply(kvm_vcpu *cpu, const vmm_cpuid_entry *e, unsigned n)
{
   struct kvm_cpuid2 *c = calloc(1, sizeof *c + n * sizeof c->entries[0]);
   int r;

   if (!c) {
      return -ENOMEM;
   }
   c->nent = n;
   for (unsigned i = 0; i < n; i++) {
      c->entries[i].function = e[i].function;
      c->entries[i].index = e[i].index;
      c->entries[i].flags = (e[i].flags & VMM_CPUID_FLAG_INDEXED) ?
                            KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
      c->entries[i].eax = e[i].eax;
      c->entries[i].ebx = e[i].ebx;
      c->entries[i].ecx = e[i].ecx;
      c->entries[i].edx = e[i].edx;
   }
   r = kvm_ioctl(cpu->fd, KVM_SET_CPUID2, c);
   free(c);
   return r;
}
