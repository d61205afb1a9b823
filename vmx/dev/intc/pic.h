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

/* The pair's state exactly as its checkpoint items hold it (pic_save
 * writes these, pic_restore reads them): for converters of other PIC
 * representations (the KVM monitor's in-kernel PIC, kvm-irqchip.c). */
typedef struct pic_chip_state {
   uint8_t irr, isr, imr, elcr;
   uint8_t lines;        /* input line levels (IR2 of the master: the slave's INT) */
   uint8_t init_state;   /* 0 ready, 1 ICW2 next, 2 ICW3 next, 3 ICW4 next */
   uint8_t icw1;         /* as written (0 before the first ICW1) */
   uint8_t icw2;         /* vector base (bits 7:3) */
   uint8_t icw3, icw4;   /* as written (ICW4 bits 4:0) */
   uint8_t lowest;       /* the IR with the lowest priority */
   uint8_t flags;        /* PIC_FLAG_* */
} pic_chip_state;

#define PIC_ICW1_IC4  0x01
#define PIC_ICW1_SNGL 0x02
#define PIC_ICW1_LTIM 0x08
#define PIC_ICW4_AEOI 0x02
#define PIC_ICW4_SFNM 0x10
#define PIC_FLAG_SMM   0x01   /* special mask mode */
#define PIC_FLAG_RIS   0x02   /* OCW3 reads ISR */
#define PIC_FLAG_POLL  0x04   /* poll command pending */
#define PIC_FLAG_RAEOI 0x08   /* rotate in automatic EOI mode */

/* st[0] master, st[1] slave. set checks every field as pic_restore does
 * (false with *err, nothing changed), then loads them; the master's IR2
 * input follows the slave, and, as after a restore, the output callback is
 * not called (the LAPICs restore their LINT0 level from their own section).
 * reset_state: power-on. */
void pic_get_state(intc_pic *pic, pic_chip_state st[2]);
bool pic_set_state(intc_pic *pic, const pic_chip_state st[2], char **err);
void pic_reset_state(pic_chip_state st[2]);

void pic_save(intc_pic *pic, ckpt_writer *w);
bool pic_restore(intc_pic *pic, ckpt_reader *r, char **err);

#endif
