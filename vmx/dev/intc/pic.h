/*
 * vmx/dev/intc/pic.h - the dual 8259A programmable interrupt controller
 * (master at 0x20/0x21, slave at 0xa0/0xa1 cascaded on master IR2) with the
 * PIIX edge/level control registers (ELCR, 0x4d0/0x4d1).
 *
 * Inputs are IRQ lines 0-15 (levels; IRQ2 is the cascade and is not an
 * input). The output is the master's INT pin, reported through an output
 * callback and readable lock-free; the CPU side acknowledges with
 * pic_ack() (the two INTA cycles), which returns the vector.
 *
 * Thread safety: every function may be called from any thread. The output
 * callback runs with the PIC's lock held: it must not call back into the
 * PIC (the LAPIC side only records or wakes).
 */
#ifndef VMX_DEV_INTC_PIC_H
#define VMX_DEV_INTC_PIC_H

#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct intc_pic intc_pic;

typedef void (*pic_output_fn)(void *opaque, bool level);

/* Claims the ports; NULL with *err when they are taken. */
intc_pic *pic_new(vmx_platform *p, char **err);
void pic_free(intc_pic *pic);
void pic_reset(intc_pic *pic);

/* Drive IRQ line irq (0-15) to level. */
void pic_set_irq(intc_pic *pic, unsigned irq, bool level);
/* The master's INT output (lock-free). */
bool pic_output(intc_pic *pic);
/* The vector pic_ack() would return now, or -1 when INT is low. */
int pic_peek(intc_pic *pic);
/* Interrupt acknowledge: the vector of the highest-priority request (moved
 * into ISR unless in auto-EOI), or the chip's IR7 vector for a spurious
 * request (nothing left to acknowledge). */
int pic_ack(intc_pic *pic);
void pic_set_output_fn(intc_pic *pic, pic_output_fn fn, void *opaque);

/* Port access, as the platform dispatches it: port is 0x20, 0x21, 0xa0,
 * 0xa1, 0x4d0 or 0x4d1; one byte. */
uint8_t pic_port_read(intc_pic *pic, uint16_t port);
void pic_port_write(intc_pic *pic, uint16_t port, uint8_t val);

void pic_save(intc_pic *pic, ckpt_writer *w);
bool pic_restore(intc_pic *pic, ckpt_reader *r, char **err);

#endif
