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
 * than INTC_MIN_PERIOD_NS; edges missed while the host was late coalesce
 * into one pulse.
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

void pit_save(intc_pit *pit, ckpt_writer *w);
bool pit_restore(intc_pit *pit, ckpt_reader *r, char **err);

#endif
