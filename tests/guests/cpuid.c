/*
 * tests/guests/cpuid.c - the CPUID model the monitor presents: the
 * hypervisor-present bit and VMware's hypervisor leaves (vendor
 * "VMwareVMware" at 0x40000000 with the highest leaf 0x40000010, where
 * EAX is the TSC frequency and EBX the APIC bus frequency in kHz), as VMware
 * guest drivers look for them. Kernel mode: some KVM hosts do not intercept
 * CPUID in guest user mode.
 */
#include "kit/kit.h"

void kit_main(void)
{
   uint32_t r[4], tsc_khz;
   char vendor[13];
   uint64_t t0, t1;

   kit_cpuid(1, 0, r);
   kit_check("hypervisor-bit", r[2] & (1u << 31), "CPUID.1:ECX = 0x%x", r[2]);

   kit_cpuid(0x40000000, 0, r);
   memcpy(vendor, &r[1], 4);
   memcpy(vendor + 4, &r[2], 4);
   memcpy(vendor + 8, &r[3], 4);
   vendor[12] = 0;
   kit_check("vmware-vendor", strcmp(vendor, "VMwareVMware") == 0, "vendor '%s'", vendor);
   kit_check("vmware-max-leaf", r[0] >= 0x40000010, "max hypervisor leaf 0x%x", r[0]);

   kit_cpuid(0x40000010, 0, r);
   tsc_khz = r[0];
   kit_check("vmware-timing-leaf", r[0] >= 100000 && r[1] >= 1000,
             "TSC %u kHz, bus %u kHz", r[0], r[1]);
   kit_printf("cpuid: TSC %u kHz, APIC bus %u kHz\n", r[0], r[1]);

   /* The TSC really ticks: some ticks pass across a few CPUIDs. */
   t0 = kit_rdtsc();
   kit_cpuid(0, 0, r);
   t1 = kit_rdtsc();
   kit_check("tsc-ticks", t1 > t0 && tsc_khz, "TSC %lu -> %lu", t0, t1);
}
