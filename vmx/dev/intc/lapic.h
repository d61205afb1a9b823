/*
 * vmx/dev/intc/lapic.h - local APICs (one per vCPU) and the APIC bus that
 * connects them to each other, to the IOAPIC and to MSIs.
 *
 * Registers live in a 1 KiB page laid out exactly as vmm_lapic (the
 * KVM_GET_LAPIC page): lapic_get_page()/lapic_set_page() convert state both
 * ways, so a checkpoint moves between the KVM and the software monitor.
 * xAPIC through MMIO (lapic_mmio_*), x2APIC through MSRs 0x800-0x8ff
 * (lapic_msr_*), TSC-deadline through lapic_tsc_deadline_*.
 *
 * The timer counts at the APIC bus frequency, LAPIC_BUS_HZ (1 GHz, what the
 * KVM monitor uses and reports in CPUID 0x40000010), divided by the divide
 * configuration, from the bus's intc_clock.
 *
 * Threading. Every function may be called from any thread; each LAPIC has
 * its own lock and never holds it while calling out (IPI delivery, EOI
 * broadcast, wakeup). The vCPU-side queries (lapic_has_interrupt,
 * lapic_pending_events) have lock-free fast paths for the common "nothing
 * pending" answer. lapic_ack, lapic_take_*, the CR8/MSR/MMIO accessors are
 * meant for the vCPU's own thread (they are still safe elsewhere).
 *
 * Wakeup. The bus calls the wakeup callback whenever an event may have
 * become pending for a vCPU: a deliverable interrupt (LAPIC_EV_INTR), an
 * NMI, INIT or SIPI. It runs on whatever thread caused the event (another
 * vCPU's IPI, a device thread raising an IRQ, the timer thread), possibly
 * while the PIC, IOAPIC or PIT lock is held, never while a LAPIC lock is
 * held. It must not block and may only call the lock-free
 * lapic_pending_events() and lapic_take_nmi(); typically it sets the vCPU's
 * interrupt line and wakes it from HLT. The callback is a hint; the vCPU
 * re-checks with lapic_has_interrupt()/intc_pending() at an instruction
 * boundary, so spurious calls are harmless. A monitor that keeps a
 * level-style "interrupt requested" flag clears it *before* re-checking
 * (clear; if (intc_pending() >= 0) set) so no wakeup is lost.
 */
#ifndef VMX_DEV_INTC_LAPIC_H
#define VMX_DEV_INTC_LAPIC_H

#include "vmx/dev/intc/clock.h"
#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct lapic lapic;
typedef struct lapic_bus lapic_bus;

#define LAPIC_BUS_HZ 1000000000ull
#define LAPIC_DEFAULT_BASE 0xfee00000ull
#define LAPIC_MMIO_SIZE 0x1000u

/* IA32_APIC_BASE bits */
#define LAPIC_BASE_BSP  (1ull << 8)
#define LAPIC_BASE_EXTD (1ull << 10)
#define LAPIC_BASE_EN   (1ull << 11)

/* Periodic LAPIC timers and PIT rates fire at most this often. */
#define INTC_MIN_PERIOD_NS 100000ull

/* Event bits (wakeup callback, lapic_pending_events). */
#define LAPIC_EV_INTR 1u   /* maskable interrupt (LAPIC or ExtINT from the PIC) */
#define LAPIC_EV_NMI  2u
#define LAPIC_EV_INIT 4u
#define LAPIC_EV_SIPI 8u

typedef void (*lapic_wakeup_fn)(void *opaque, unsigned vcpu, unsigned events);
/* EOI of a level-triggered vector: what the IOAPIC needs. */
typedef void (*lapic_eoi_fn)(void *opaque, uint8_t vector);

/* Delivery modes (ICR, LVT, IOAPIC redirection entries, MSI data). */
enum {
   LAPIC_DM_FIXED = 0,
   LAPIC_DM_LOWEST = 1,
   LAPIC_DM_SMI = 2,
   LAPIC_DM_NMI = 4,
   LAPIC_DM_INIT = 5,
   LAPIC_DM_SIPI = 6,
   LAPIC_DM_EXTINT = 7,
};

/* Destination shorthands (ICR bits 19:18). */
enum {
   LAPIC_SH_NONE = 0,
   LAPIC_SH_SELF = 1,
   LAPIC_SH_ALL = 2,
   LAPIC_SH_OTHERS = 3,
};

/* An interrupt message on the APIC bus. */
typedef struct lapic_msg {
   uint32_t dest;        /* 8-bit (xAPIC, IOAPIC, MSI) or 32-bit (x2apic) */
   uint8_t vector;
   uint8_t mode;         /* LAPIC_DM_* */
   uint8_t shorthand;    /* LAPIC_SH_*; only IPIs */
   bool logical;
   bool level_trig;      /* level-triggered: sets TMR, EOI is broadcast */
   bool assert;          /* ICR level bit (INIT de-assert has it clear) */
   bool x2apic;          /* dest is a 32-bit x2APIC destination */
   int src;              /* sending LAPIC for shorthands, or -1 */
} lapic_msg;

/* ---- the bus */

/* n LAPICs with APIC IDs 0..n-1 (vCPU index = APIC ID). With a platform,
 * claims the xAPIC MMIO page at LAPIC_DEFAULT_BASE (each vCPU sees its own
 * LAPIC there; host accesses go to LAPIC 0). Takes a clock reference. */
lapic_bus *lapic_bus_new(vmx_platform *p, unsigned n, intc_clock *clock, char **err);
void lapic_bus_free(lapic_bus *b);
/* Power-on state of every LAPIC (and IA32_APIC_BASE). */
void lapic_bus_reset(lapic_bus *b);
unsigned lapic_bus_count(const lapic_bus *b);
lapic *lapic_bus_get(lapic_bus *b, unsigned index);
/* Set before the vCPUs run. */
void lapic_bus_set_wakeup(lapic_bus *b, lapic_wakeup_fn fn, void *opaque);
void lapic_bus_set_eoi_fn(lapic_bus *b, lapic_eoi_fn fn, void *opaque);
/* Guest TSC frequency, for IA32_TSC_DEADLINE (default 1 GHz). */
void lapic_bus_set_tsc_khz(lapic_bus *b, uint32_t khz);

/* Deliver a message; returns how many LAPICs accepted it. */
unsigned lapic_bus_deliver(lapic_bus *b, const lapic_msg *m);
/* An MSI write (address 0xfeexxxxx, data) turned into a message. */
unsigned lapic_bus_msi(lapic_bus *b, uint64_t addr, uint32_t data);
/* Drive LINT0/LINT1 (pin 0/1) of every LAPIC (the PIC's INTR is wired to
 * LINT0 of all of them; each LVT decides what it means). */
void lapic_bus_set_lint(lapic_bus *b, unsigned pin, bool level);

void lapic_bus_save(lapic_bus *b, ckpt_writer *w);
bool lapic_bus_restore(lapic_bus *b, ckpt_reader *r, char **err);

/* ---- one LAPIC: what the monitor calls */

unsigned lapic_index(const lapic *l);
/* Highest deliverable vector (IRR above the processor priority), or -1.
 * Lock-free: a copy kept up to date at every change of IRR/ISR/TPR. */
int lapic_has_interrupt(lapic *l);
/* Acknowledge: moves the highest deliverable vector from IRR to ISR and
 * returns it; -1 when there is none. */
int lapic_ack(lapic *l);
/* LAPIC_EV_* bits pending now (INTR: a deliverable vector, or the PIC's
 * INTR high on an open LINT0 / an ExtINT message; the PIC part is a hint).
 * Lock-free. */
unsigned lapic_pending_events(lapic *l);
/* Consume a pending NMI / INIT / startup IPI. lapic_take_init() also
 * resets the LAPIC as INIT does (everything but the APIC ID and
 * IA32_APIC_BASE). A SIPI is only meaningful in wait-for-SIPI state; the
 * monitor discards one taken in any other state. Lock-free except INIT. */
bool lapic_take_nmi(lapic *l);
bool lapic_take_init(lapic *l);
bool lapic_take_sipi(lapic *l, uint8_t *vector);
/* An NMI for this LAPIC (vmm_vm_nmi). */
void lapic_nmi(lapic *l);

/* Whether this LAPIC passes the PIC's INTR to its CPU: hardware-disabled,
 * LINT0 unmasked in ExtINT mode (virtual wire), or an ExtINT message
 * pending. The router acknowledges through the PIC then. */
bool lapic_extint_open(lapic *l);
/* Clear a pending ExtINT message (after the PIC was acknowledged). */
void lapic_extint_taken(lapic *l);

/* xAPIC registers (offset in the 4 KiB page, size 1-8). Outside xAPIC mode
 * (hardware-disabled or x2APIC) reads are all-ones and writes dropped. */
uint64_t lapic_mmio_read(lapic *l, uint64_t off, unsigned size);
void lapic_mmio_write(lapic *l, uint64_t off, unsigned size, uint64_t val);
/* x2APIC MSRs 0x800-0x8ff; false means #GP. */
bool lapic_msr_read(lapic *l, uint32_t msr, uint64_t *val);
bool lapic_msr_write(lapic *l, uint32_t msr, uint64_t val);
/* IA32_APIC_BASE; set returns false (#GP) for reserved bits or an illegal
 * mode change (x2APIC -> xAPIC, disabled -> x2APIC, EXTD without EN). The
 * xAPIC page stays at LAPIC_DEFAULT_BASE whatever the base says. */
uint64_t lapic_get_base(lapic *l);
bool lapic_set_base(lapic *l, uint64_t val);
/* CR8 = TPR[7:4]. */
uint64_t lapic_get_cr8(lapic *l);
void lapic_set_cr8(lapic *l, uint64_t val);
/* IA32_TSC_DEADLINE; tsc_now is the guest TSC at the time of the write. */
uint64_t lapic_tsc_deadline_read(lapic *l);
void lapic_tsc_deadline_write(lapic *l, uint64_t deadline, uint64_t tsc_now);

/* The KVM_GET_LAPIC-format page (current count and PPR filled in). */
void lapic_get_page(lapic *l, vmm_lapic *page);
/* Load a page (as KVM_SET_LAPIC); the timer restarts from the page's
 * current count. false with *err for a page no APIC can be in. */
bool lapic_set_page(lapic *l, const vmm_lapic *page, char **err);

#endif
