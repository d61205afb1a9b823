/*
 * vmx/dev/intc/kvm-irqchip.h - the KVM monitor's in-kernel PIC, IOAPIC and
 * PIT as the checkpoint sections of the userspace models, so that a
 * checkpoint taken under one monitor resumes under the other.
 *
 * Under the software monitor the platform's "pic", "ioapic" and "pit"
 * devices (vmx_dev_pic/ioapic/pit) save these sections themselves. Under
 * KVM those devices do not exist; intc_kvm_save() reads the in-kernel chips
 * (vmm_vm_get_irqchip/get_pit) and writes the very sections the models
 * would write for the same hardware state: it loads temporary model
 * instances through pic_set_state/ioapic_set_state/pit_set_state and calls
 * their own pic_save/ioapic_save/pit_save, so items, encodings and versions
 * are the models'. intc_kvm_restore() is the reverse. The local APICs are
 * not here: their pages travel with each vCPU (vmm_vcpu_get/set_lapic).
 *
 * The two representations differ where the chips' implementations differ;
 * each direction keeps all the state a guest can observe that both can
 * represent, and says below what it rebuilds or refuses.
 *
 * PIC (two 8259As). KVM keeps ICW1.IC4, ICW4.AEOI/SFNM and the vector base
 * where the model keeps the ICW bytes:
 *  - KVM -> model: icw1 = 0x10 | IC4 once the chip was initialized (any of
 *    IC4, a vector base or an initialization in progress), else 0; icw3 =
 *    0x04 (master) / 0x02 (slave) likewise (the PC's cascade wiring; KVM
 *    ignores ICW3); icw4 = uPM (= IC4) | AEOI | SFNM; lowest = priority_add
 *    - 1; lines = last_irr (the master's IR2 follows the slave, as after a
 *    restore).
 *  - model -> KVM: refused when ICW1 selects single mode (SNGL) or
 *    level-triggered mode (LTIM), which KVM's PIC does not have; ICW3 and
 *    ICW4 bits other than AEOI and SFNM are not kept.
 * IOAPIC. KVM's irr holds the pins still owing a message (monitor.h):
 *  - KVM -> model: lines = irr, plus the ISA lines 0-15 (not 2) that KVM's
 *    PIC sees high (an edge pin that is high and was delivered is clear in
 *    KVM's irr); reserved and delivery-status bits are dropped.
 *  - model -> KVM: irr = lines of level-triggered or masked pins (an
 *    unmasked edge pin that is high has sent its message; raising it again
 *    would send another).
 * PIT (8254 and port 0x61).
 *  - Time: the model saves how many PIT ticks (PIT_HZ) ago each counter
 *    was loaded, relative to the save; the monitor says the same in guest
 *    nanoseconds (vmm_pit_channel.elapsed_ns, see "Time" in monitor.h):
 *    ticks = elapsed_ns * PIT_HZ / 1e9 (rounded down), elapsed_ns = ticks
 *    * 1e9 / PIT_HZ (rounded up), so ticks survive both ways exactly. No
 *    host time is in the file. KVM cannot tell counter 0's phase: it is
 *    saved as just loaded (elapsed 0). KVM restarts every counter when
 *    loaded (monitor.h): after intc_kvm_restore each counts from its
 *    initial count again.
 *  - KVM -> model: a counter in VMM_PIT_MODE_NONE (never programmed) is the
 *    model's power-on counter; any other counts (KVM counts from the load
 *    whatever the gate or a pending control word): ARMED with cr = n =
 *    count. port61 = gate 2 | speaker data. Refused: HPET legacy mode.
 *  - model -> KVM: the model's power-on counter is VMM_PIT_MODE_NONE (so
 *    is a never-loaded counter just given control word 0x30/0x70/0xb0,
 *    which the model holds identically: KVM then drops that control word); a
 *    counter that does not count (gate low in mode 2/3, mode 1/5 waiting
 *    for its trigger, a control word waiting for its count) keeps its mode
 *    and count and counts under KVM; a pending mode 2/3 count (cr) is
 *    loaded at once; port 0x61 bits 2-3 are not kept. The flip-flops map
 *    one to one, except while a latched count is half read.
 */
#ifndef VMX_DEV_INTC_KVM_IRQCHIP_H
#define VMX_DEV_INTC_KVM_IRQCHIP_H

#include "vmm/monitor.h"

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>

/* The sections "pic", "ioapic" and "pit" (in that order, concatenated as
 * vmx_platform_save concatenates sections) for the monitor's in-kernel
 * chips. NULL with *err when the monitor cannot read them (-ENOTSUP: the
 * software monitor, whose models save themselves) or holds a state the
 * models cannot represent. Changes nothing. Call with the vCPUs stopped. */
GBytes *intc_kvm_save(vmm_vm *vm, char **err);

/* Loads the sections "pic", "ioapic" and "pit" found among the concatenated
 * sections in [sections, sections + len) into the monitor's chips; other
 * sections are skipped (a whole device blob may be passed) and a chip whose
 * section is absent keeps its state. Everything is parsed and checked first
 * (the models' own checks, plus what KVM cannot represent): on false, *err
 * names the section and item, and the chips are as they were. Call with the
 * vCPUs stopped. */
bool intc_kvm_restore(vmm_vm *vm, const void *sections, size_t len, char **err);

/* The conversions alone, without a monitor. */
#define INTC_KVM_PIC    1u
#define INTC_KVM_IOAPIC 2u
#define INTC_KVM_PIT    4u
/* The three sections for a monitor state. */
GBytes *intc_kvm_sections_from_state(const vmm_irqchip_state *irq, const vmm_pit_state *pit,
                                     char **err);
/* Monitor state from the sections found (INTC_KVM_* bits in *found); the
 * parts of *irq and *pit whose section is absent are left as they are.
 * Duplicate sections, a newer section version, a malformed or truncated
 * section are refused. */
bool intc_kvm_state_from_sections(const void *sections, size_t len, vmm_irqchip_state *irq,
                                  vmm_pit_state *pit, unsigned *found, char **err);

#endif
