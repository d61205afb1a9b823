/*
 * vmx/dev/intc/ioapic.h - 82093AA-style I/O APIC at 0xfec00000: 24 pins,
 * version 0x11, IOREGSEL (offset 0x00) / IOWIN (offset 0x10).
 *
 * Pin levels are logical ("asserted"), as the platform's GSIs are; the
 * polarity bit is stored for the guest but does not invert them (as KVM's
 * in-kernel IOAPIC does). Messages go to the LAPICs over a lapic_bus; the
 * LAPICs report EOIs of level-triggered vectors back with ioapic_eoi().
 *
 * Thread safety: any thread. Delivery to the LAPICs happens with the
 * IOAPIC's lock held (the LAPICs never call back into the IOAPIC while
 * holding their own lock).
 */
#ifndef VMX_DEV_INTC_IOAPIC_H
#define VMX_DEV_INTC_IOAPIC_H

#include "vmx/dev/intc/lapic.h"
#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_BASE 0xfec00000ull
#define IOAPIC_MMIO_SIZE 0x1000u
#define IOAPIC_PINS 24u
#define IOAPIC_VERSION 0x11u

typedef struct intc_ioapic intc_ioapic;

intc_ioapic *ioapic_new(vmx_platform *p, char **err);
void ioapic_free(intc_ioapic *io);
void ioapic_reset(intc_ioapic *io);
/* Where messages go (NULL: nowhere). Set before use. */
void ioapic_connect(intc_ioapic *io, lapic_bus *bus);

/* Drive pin (0-23) to level. */
void ioapic_set_irq(intc_ioapic *io, unsigned pin, bool level);
/* A LAPIC's EOI for a level-triggered vector (the EOI broadcast). */
void ioapic_eoi(intc_ioapic *io, uint8_t vector);

/* Registers: off in the 4 KiB window, size 1-8. */
uint64_t ioapic_mmio_read(intc_ioapic *io, uint64_t off, unsigned size);
void ioapic_mmio_write(intc_ioapic *io, uint64_t off, unsigned size, uint64_t val);
/* The redirection table entry of pin (tests, debugging). */
uint64_t ioapic_redir(intc_ioapic *io, unsigned pin);

/* Redirection entry bits. */
#define IOAPIC_RE_LOGICAL  (1ull << 11)
#define IOAPIC_RE_STATUS   (1ull << 12)   /* delivery status: always idle here */
#define IOAPIC_RE_POLARITY (1ull << 13)
#define IOAPIC_RE_RIRR     (1ull << 14)
#define IOAPIC_RE_LEVEL    (1ull << 15)
#define IOAPIC_RE_MASK     (1ull << 16)
#define IOAPIC_RE_WRITABLE 0xff0000000001afffull   /* what the guest can set */

/* The state exactly as the checkpoint items hold it (ioapic_save writes
 * these, ioapic_restore reads them): for converters of other IOAPIC
 * representations (kvm-irqchip.c). */
typedef struct ioapic_state {
   uint8_t id;           /* 0-15 */
   uint8_t regsel;
   uint32_t lines;       /* pin levels as driven (bits 0-23) */
   uint64_t redir[IOAPIC_PINS];   /* IOAPIC_RE_WRITABLE and remote IRR bits */
} ioapic_state;

/* set checks every field as ioapic_restore does (false with *err, nothing
 * changed), then loads them; it sends nothing. reset_state: power-on. */
void ioapic_get_state(intc_ioapic *io, ioapic_state *st);
bool ioapic_set_state(intc_ioapic *io, const ioapic_state *st, char **err);
void ioapic_reset_state(ioapic_state *st);

void ioapic_save(intc_ioapic *io, ckpt_writer *w);
bool ioapic_restore(intc_ioapic *io, ckpt_reader *r, char **err);

#endif
