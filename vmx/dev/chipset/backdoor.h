/*
 * vmx/dev/chipset/backdoor.h - the VMware backdoor I/O port (0x5658).
 *
 * A guest calls the backdoor with a dword IN (or OUT) on port 0x5658 with
 * EAX = BDOOR_MAGIC ("VMXh") and the command number in CX (the low 16 bits
 * of ECX); other registers carry command-specific arguments. The device
 * reads the accessing vCPU's registers, runs the command's handler, and
 * writes the registers back; for an IN, EAX is what the port read returns.
 *
 *   - EAX not the magic: the access returns normally and no register
 *     changes (an IN returns the EAX the guest had), as VMware does.
 *   - A command nobody registered: EAX = 0xffffffff, other registers
 *     unchanged (how VMware signals an unsupported command).
 *   - Byte and word accesses are not backdoor calls: reads return all ones.
 *   - monitor_control.restrict_backdoor = TRUE (VMware's key) ignores calls
 *     made at CPL > 0, as a wrong magic would be. By default the backdoor
 *     answers at every privilege level, as VMware's does.
 *
 * Handlers change registers VMware-style: only the low 32 bits of a
 * register (backdoor_set32), leaving the upper half of the 64-bit register
 * as it was.
 *
 * Built-in commands:
 *   BDOOR_CMD_GETMHZ (1):      EAX = TSC frequency in MHz, EBX = magic
 *   BDOOR_CMD_GETVERSION (10): EAX = 6 (backdoor version), EBX = magic,
 *                              ECX = 4 (VMX_TYPE_WORKSTATION)
 *   BDOOR_CMD_GETHZ (45):      EAX:EBX = TSC frequency in Hz, ECX = APIC
 *                              bus frequency in Hz (from leaf 0x40000010,
 *                              0 without a vCPU); EBX = 0xffffffff: unknown
 *   BDOOR_CMD_GETTIME (23):    the host's wall-clock time: EAX = seconds since
 *                              1970 (UTC, 32 bits), EBX = microseconds,
 *                              ECX = maximum time lag (µs) the guest may be
 *                              behind before its tools step the clock, EDX =
 *                              the host's UTC offset in minutes (east > 0)
 *   BDOOR_CMD_STOPCATCHUP (24): accepted; there is no timer catch-up to stop
 *   BDOOR_CMD_GETTIMEFULL (46): EAX unchanged (the magic: success), ESI:EDX =
 *                              seconds (64 bits), EBX = microseconds, ECX =
 *                              maximum time lag (µs)
 *   BDOOR_CMD_GETTIMEFULL_WITH_LAG (55): as GETTIMEFULL, EDI = interrupt lag
 *                              (µs, always 0: timer interrupts are not
 *                              held back here)
 * (open-vm-tools' timesync plugin tries 55, then 46, then 23.)
 * The TSC frequency is the one the vCPU's CPUID leaf 0x40000010 advertises
 * (EAX, kHz); without a vCPU or that leaf it is measured on the host once.
 * It is part of the checkpoint: a resumed guest keeps the frequency it saw.
 */
#ifndef VMX_DEV_CHIPSET_BACKDOOR_H
#define VMX_DEV_CHIPSET_BACKDOOR_H

#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stdint.h>

#define BDOOR_MAGIC 0x564D5868u
#define BDOOR_PORT 0x5658
#define BDOOR_VERSION 6u
#define BDOOR_VMX_TYPE_WORKSTATION 4u

#define BDOOR_CMD_GETMHZ 1
#define BDOOR_CMD_GETVERSION 10
#define BDOOR_CMD_GETTIME 23
#define BDOOR_CMD_STOPCATCHUP 24
#define BDOOR_CMD_GETHZ 45
#define BDOOR_CMD_GETTIMEFULL 46
#define BDOOR_CMD_GETTIMEFULL_WITH_LAG 55

/* What the time commands report as the maximum time lag, in µs. */
#define BDOOR_TIME_MAX_LAG_US 500000u

typedef struct backdoor backdoor;

/* cpu is the vCPU making the call, or NULL for host-side dispatch. The
 * handler reads its arguments from regs and writes its results there. */
typedef void (*backdoor_fn)(void *opaque, vmm_vcpu *cpu, vmm_regs *regs);

/* The platform's backdoor ("backdoor" device), NULL if it has none. */
backdoor *backdoor_get(vmx_platform *p);

/* Add a command; false with *err when the number is taken. */
bool backdoor_register(backdoor *bd, uint16_t cmd, backdoor_fn fn, void *opaque, char **err);
void backdoor_unregister(backdoor *bd, uint16_t cmd);

/* Run one backdoor call on regs as the port handler does (without the
 * privilege check, which needs a vCPU). Returns false when EAX did not
 * hold the magic (regs untouched). */
bool backdoor_dispatch(backdoor *bd, vmm_vcpu *cpu, vmm_regs *regs);

/* The TSC frequency in MHz that GETMHZ reports (determined on first use). */
uint32_t backdoor_tsc_mhz(backdoor *bd, vmm_vcpu *cpu);

static inline uint32_t
backdoor_get32(const vmm_regs *r, unsigned reg)
{
   return (uint32_t)r->gpr[reg];
}

static inline void
backdoor_set32(vmm_regs *r, unsigned reg, uint32_t v)
{
   r->gpr[reg] = (r->gpr[reg] & ~0xffffffffull) | v;
}

#endif
