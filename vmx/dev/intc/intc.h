/*
 * vmx/dev/intc/intc.h - userspace PC interrupt controllers and timer, for
 * monitors without an in-kernel irqchip (the software monitor).
 *
 * Devices (instantiate in this order, all before "intc"):
 *   vmx_dev_pic     "pic"     dual 8259A + ELCR        (pic.h)
 *   vmx_dev_ioapic  "ioapic"  82093AA at 0xfec00000    (ioapic.h)
 *   vmx_dev_lapic   "lapic"   numvcpus local APICs     (lapic.h)
 *   vmx_dev_pit     "pit"     8254 + port 0x61         (pit.h)
 *   vmx_dev_intc    "intc"    the router: wires the others together and
 *                             takes the platform's irq sink
 *
 * The router sends GSI n to PIC IRQ n (n < 16, except 2, the cascade) and
 * to IOAPIC pin n (n < 24): the identity routing of KVM's in-kernel
 * irqchip, so the ACPI MADT must not claim an IRQ0 -> GSI 2 override.
 * The PIC's INTR drives LINT0 of every LAPIC; LAPIC EOIs of level-triggered
 * vectors go back to the IOAPIC.
 *
 * What the software monitor calls (vcpu = vCPU index = APIC ID):
 *
 *   setup      intc_set_wakeup(ic, fn, opaque)   before the vCPUs run
 *              lapic_bus_set_tsc_khz(...)        via intc_lapic_bus()
 *   boundary   intc_pending(ic, vcpu)   vector that would be taken, or -1
 *              intc_ack(ic, vcpu)       take it: LAPIC IRR->ISR, or an
 *                                       INTA cycle on the PIC (ExtINT)
 *   events     lapic_pending_events(l), lapic_take_nmi/init/sipi(l)
 *              with l = intc_lapic(ic, vcpu)
 *   registers  lapic_mmio_read/write (the platform dispatches 0xfee00000
 *              itself), lapic_msr_read/write (x2APIC 0x800-0x8ff),
 *              lapic_get_base/lapic_set_base (IA32_APIC_BASE),
 *              lapic_get_cr8/lapic_set_cr8, lapic_tsc_deadline_read/write
 *   state      lapic_get_page/lapic_set_page (vmm_vcpu_get/set_lapic)
 *   devices    intc_msi (MSI writes), intc_nmi (vmm_vm_nmi);
 *              GSIs arrive through vmx_platform_set_irq()
 *
 * Typical glue for a CPU with a level "INTR" input and an acknowledge
 * callback (vmm/soft's soft_cpu_set_irq and soft_io.intr_ack):
 *
 *   wakeup(opaque, vcpu, ev):   if (ev & LAPIC_EV_NMI && lapic_take_nmi(l))
 *                                  soft_cpu_nmi(cpu);
 *                               if (ev & LAPIC_EV_INTR) soft_cpu_set_irq(cpu, 1);
 *                               if (ev & (INIT | SIPI)) soft_cpu_kick(cpu);
 *   intr_ack(cpu):              v = intc_ack(ic, vcpu);
 *                               soft_cpu_set_irq(cpu, 0);
 *                               if (intc_pending(ic, vcpu) >= 0)
 *                                  soft_cpu_set_irq(cpu, 1);
 *                               return v;
 * (clear, then re-check: a wakeup racing with the ack is never lost).
 */
#ifndef VMX_DEV_INTC_INTC_H
#define VMX_DEV_INTC_INTC_H

#include "vmx/dev/intc/clock.h"
#include "vmx/dev/intc/ioapic.h"
#include "vmx/dev/intc/lapic.h"
#include "vmx/dev/intc/pic.h"
#include "vmx/dev/intc/pit.h"
#include "vmx/dev/platform.h"

extern const vmx_device_desc vmx_dev_pic;
extern const vmx_device_desc vmx_dev_ioapic;
extern const vmx_device_desc vmx_dev_lapic;
extern const vmx_device_desc vmx_dev_pit;
extern const vmx_device_desc vmx_dev_intc;

typedef struct intc intc;

/* Wire the controllers together and take the platform's irq sink (when p
 * is not NULL). */
intc *intc_new(vmx_platform *p, intc_pic *pic, intc_ioapic *io, lapic_bus *bus, char **err);
void intc_free(intc *ic);

/* A GSI level (what the platform's irq sink does). Any thread. */
void intc_set_irq(intc *ic, unsigned gsi, bool level);
/* An MSI; returns how many LAPICs accepted it. Any thread. */
unsigned intc_msi(intc *ic, uint64_t addr, uint32_t data);
/* An NMI to one vCPU. Any thread. */
void intc_nmi(intc *ic, unsigned vcpu);

/* At an instruction boundary with interrupts enabled (vCPU thread): the
 * vector the CPU would take now, LAPIC first, then the PIC through LINT0
 * (ExtINT, virtual wire) or a hardware-disabled LAPIC; -1 if none.
 * Lock-free when nothing is pending. */
int intc_pending(intc *ic, unsigned vcpu);
/* Take it (interrupt acknowledge); -1 if nothing is pending any more. */
int intc_ack(intc *ic, unsigned vcpu);

void intc_set_wakeup(intc *ic, lapic_wakeup_fn fn, void *opaque);
lapic *intc_lapic(intc *ic, unsigned vcpu);
lapic_bus *intc_lapic_bus(intc *ic);
intc_pic *intc_get_pic(intc *ic);
intc_ioapic *intc_get_ioapic(intc *ic);

/* The controllers as the software monitor's irqchip; opaque = the intc. */
extern const vmm_irqchip_ops intc_vmm_irqchip_ops;

#endif
