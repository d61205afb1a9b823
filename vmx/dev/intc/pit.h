/*
 * vmx/dev/intc/pit.h - 8254 programmable interval timer (ports 0x40-0x43)
 * and the port 0x61 bits that belong to it (counter 2 gate, speaker data
 * enable, refresh toggle, OUT2).
 *
 * Time: counters count at PIT_HZ from an intc_clock; their count and OUT
 * are computed from the clock on every access, so reads need no timer.
 * Counter 0 drives GSI 0 (IRQ0): at every rising edge of OUT0 the PIT
 * pulses the line (asserts and de-asserts it) through
 * vmx_platform_set_irq(). It finds those edges with one timer of the
 * clock, armed for the next edge only while counter 0 counts, so an idle
 * or unprogrammed PIT costs nothing. Periodic edges come no more often
 * than INTC_MIN_PERIOD_NS; edges that went by while the host was late are
 * owed and pulsed between the next ones (up to a second's worth).
 *
 * Thread safety: any thread; the IRQ pulse is sent with the PIT's lock
 * held.
 */
#ifndef VMX_DEV_INTC_PIT_H
#define VMX_DEV_INTC_PIT_H

#include "vmx/dev/intc/clock.h"
#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stdint.h>

#define PIT_HZ 1193182ull

typedef struct intc_pit intc_pit;

/* Claims ports 0x40-0x43 and 0x61 when p is not NULL; IRQ0 pulses go to
 * vmx_platform_set_irq(p, 0, ...). Takes a clock reference. */
intc_pit *pit_new(vmx_platform *p, intc_clock *clock, char **err);
void pit_free(intc_pit *pit);
void pit_reset(intc_pit *pit);

/* port: 0x40-0x43 or 0x61; one byte. */
uint8_t pit_port_read(intc_pit *pit, uint16_t port);
void pit_port_write(intc_pit *pit, uint16_t port, uint8_t val);

/* The state exactly as the checkpoint items hold it (pit_save writes
 * these, pit_restore reads them): for converters of other PIT
 * representations (kvm-irqchip.c). Times are in PIT ticks (PIT_HZ) and
 * relative to the moment of the get or set: elapsed is how long ago the
 * counting element was loaded (frozen there while PAUSED), next_in how long
 * until a pending mode 2/3 count takes over. */
#define PIT_CF_STATUS_LATCHED 0x01
#define PIT_CF_NULL_COUNT     0x02   /* status NULL COUNT */
#define PIT_CF_HAVE_COUNT     0x04   /* a count was written since the control word */
#define PIT_CF_GATE           0x08   /* gate input level */
#define PIT_CF_ARMED          0x10   /* CE loaded and counting */
#define PIT_CF_PAUSED         0x20   /* modes 0/4 with the gate low */
#define PIT_CF_HAS_NEXT       0x40   /* modes 2/3: cr takes over in next_in */

typedef struct pit_counter_state {
   uint8_t mode, bcd;
   uint8_t rw;           /* 1 LSB, 2 MSB, 3 LSB then MSB */
   uint8_t wstate;       /* rw 3: 1 when the LSB of a count was written */
   uint8_t rstate;       /* rw 3: 1 when the LSB of a read was read */
   uint8_t lsb;          /* the LSB written */
   uint32_t cr;          /* count register, 1-65536 */
   uint32_t n;           /* the count CE runs with, 1-65536 */
   uint16_t latch;       /* output latch */
   uint8_t latch_left;   /* latched count bytes still to read */
   uint8_t status;       /* latched status */
   uint8_t flags;        /* PIT_CF_* */
   uint64_t elapsed;     /* ticks (ARMED) */
   uint64_t next_in;     /* ticks (HAS_NEXT) */
   uint16_t hold;        /* CE while not ARMED */
} pit_counter_state;

typedef struct pit_state {
   uint8_t port61;       /* bits 3:0 as written (bit 0 is counter 2's gate) */
   pit_counter_state c[3];
} pit_state;

/* set checks every field as pit_restore does (false with *err, nothing
 * changed), then loads them and re-arms the IRQ0 timer. reset_state:
 * power-on. */
void pit_get_state(intc_pit *pit, pit_state *st);
bool pit_set_state(intc_pit *pit, const pit_state *st, char **err);
void pit_reset_state(pit_state *st);

void pit_save(intc_pit *pit, ckpt_writer *w);
bool pit_restore(intc_pit *pit, ckpt_reader *r, char **err);

#endif
