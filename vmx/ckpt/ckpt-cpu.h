/*
 * vmx/ckpt/ckpt-cpu.h - the state of one vCPU as a checkpoint section
 * ("cpu0", "cpu1", ...), the same bytes whichever monitor saved it, so a
 * checkpoint taken under KVM resumes under the software monitor and the
 * reverse.
 *
 * Items (vmx/ckpt-items.h encoding; section version CKPT_CPU_VERSION):
 *   rax rcx rdx rbx rsp rbp rsi rdi r8..r15 rip rflags          U64
 *   es cs ss ds fs gs tr ldtr: NAME.sel U16, NAME.base U64, NAME.limit U32
 *     (byte-granular), NAME.attr U32 = type | s << 4 | dpl << 5 |
 *     present << 7 | avl << 12 | l << 13 | db << 14 | g << 15 |
 *     unusable << 16 (the VMX access-rights layout)
 *   gdt.base idt.base U64, gdt.limit idt.limit U16
 *   cr0 cr2 cr3 cr4 cr8 efer apic_base                           U64
 *   xcr0 U64, xsave BYTES[4096]: a standard-format XSAVE image, made
 *     canonical on save (x87, SSE and the XCR0-enabled AVX state always
 *     marked in use, init values written out, software-available and
 *     reserved bytes zero) so the two monitors give the same bytes
 *   msr.XXXXXXXX U64, one per vmm_state_msrs() index (8 hex digits)
 *   lapic BYTES[1024] (absent when the monitor has no local APIC)
 *   ev.exc.injected ev.exc.nr ev.exc.has_error U8, ev.exc.error U32,
 *   ev.intr.injected ev.intr.nr ev.intr.soft ev.nmi.injected
 *   ev.nmi.pending ev.nmi.masked ev.shadow ev.sipi U8
 *   mp_state U8: 0 runnable, 1 wait-for-SIPI, 2 halted, 3 wait-for-INIT
 *   dr0 dr1 dr2 dr3 dr6 dr7                                      U64
 *
 * The TSC (msr.00000010) is saved as the guest saw it and set back on
 * restore; it keeps counting while the VM is stopped (both monitors run
 * the guest TSC off the host's), so two saves of one stopped vCPU differ in
 * that item alone.
 */
#ifndef VMX_CKPT_CPU_H
#define VMX_CKPT_CPU_H

#include "vmm/monitor.h"
#include "vmx/ckpt-items.h"

#include <glib.h>
#include <stdbool.h>

#define CKPT_CPU_VERSION 1

/* Write every item of the vCPU's state to w. The vCPU must be stopped
 * (not inside vmm_vcpu_run()); its state is only read. false with *err when
 * the monitor cannot report some part of it. */
bool ckpt_cpu_save(vmm_vcpu *cpu, ckpt_writer *w, char **err);

/* Load the vCPU's state from r. Items missing from r keep the vCPU's
 * current values (a fresh vCPU: its reset state); unknown items are
 * ignored. Every value is checked before anything is set: reserved bits,
 * inconsistent modes (long mode without paging, EFER.LMA without LME),
 * segment attributes, XSAVE header and MXCSR, event fields, mp_state,
 * debug registers, canonical addresses. A value the monitor still refuses
 * fails with a message naming the part. On failure the vCPU's state is
 * undefined (some parts may be set): restore into a fresh VM. */
bool ckpt_cpu_restore(vmm_vcpu *cpu, ckpt_reader *r, char **err);

/* The section name of vCPU index ("cpu0"); buf of at least 16 bytes. */
const char *ckpt_cpu_section_name(unsigned index, char *buf, size_t len);

/* A whole "cpuN" section of the vCPU (ckpt_cpu_save into a fresh writer),
 * or NULL with *err. */
GBytes *ckpt_cpu_save_section(vmm_vcpu *cpu, char **err);
/* Parse one section and restore it (ckpt_cpu_restore). A section of a
 * later version loads too (its unknown items are skipped); one named for
 * another vCPU is refused. */
bool ckpt_cpu_restore_section(vmm_vcpu *cpu, const void *data, size_t len, char **err);

#endif
