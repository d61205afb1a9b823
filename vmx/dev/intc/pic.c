/*
 * vmx/dev/intc/pic.c - dual 8259A PIC with ELCR.
 *
 * Modelled from the 8259A data sheet:
 *  - ICW1 starts initialization: IMR and ISR cleared, IR7 lowest priority,
 *    special mask off, read register = IRR, edge sense reset (a line that
 *    is already high must go low and high again to request in edge mode).
 *    ICW2 (vector base, 8086 mode), ICW3 unless single, ICW4 if IC4.
 *  - OCW1 = IMR; OCW2 = EOI (non-specific/specific, with rotation), set
 *    priority, rotate-in-auto-EOI on/off; OCW3 = read IRR/ISR, poll, special
 *    mask mode.
 *  - Edge-triggered inputs latch IRR on a rising edge (and keep it until
 *    acknowledged); level-triggered ones (LTIM or the ELCR bit) have IRR
 *    follow the line.
 *  - A request is serviced when it is unmasked and has a higher priority
 *    than every in-service level (in special mask mode, masked in-service
 *    levels do not block; in special fully nested mode the master lets a
 *    new slave request through while IR2 is in service).
 *  - The slave's INT drives master IR2 (edge/level per the master's mode).
 *  - INTA: the master picks its best request; IR2 passes the cycle to the
 *    slave. Nothing left to acknowledge gives the chip's IR7 vector without
 *    setting ISR (the spurious interrupt).
 */
#include "vmx/dev/intc/pic.h"
#include "vmx/dev/intc/intc.h"
#include "vmx/vmxlog.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define ICW1_IC4  PIC_ICW1_IC4
#define ICW1_SNGL PIC_ICW1_SNGL
#define ICW1_LTIM PIC_ICW1_LTIM
#define ICW4_AEOI PIC_ICW4_AEOI
#define ICW4_SFNM PIC_ICW4_SFNM

#define FLAG_SMM   PIC_FLAG_SMM
#define FLAG_RIS   PIC_FLAG_RIS
#define FLAG_POLL  PIC_FLAG_POLL
#define FLAG_RAEOI PIC_FLAG_RAEOI

static const uint8_t elcr_mask[2] = { 0xf8, 0xde };

typedef struct pic_chip {
   uint8_t irr, isr, imr, elcr, lines;
   uint8_t init_state;   /* 0 ready, 1 ICW2 next, 2 ICW3 next, 3 ICW4 next */
   uint8_t icw1, icw3, icw4, base;
   uint8_t lowest;       /* IR with the lowest priority */
   uint8_t flags;        /* FLAG_* */
} pic_chip;

struct intc_pic {
   pthread_mutex_t lock;
   pic_chip c[2];        /* 0 master, 1 slave */
   int out;              /* atomic: master INT */
   pic_output_fn out_fn;
   void *out_opaque;
   vmx_platform *p;
   bool mapped;
};

/* ---- one chip */

static uint8_t
level_mask(const pic_chip *c)
{
   return (c->icw1 & ICW1_LTIM) ? 0xff : c->elcr;
}

static void
chip_set_line(pic_chip *c, unsigned ir, bool level)
{
   uint8_t bit = (uint8_t)(1u << ir);
   if (level) {
      if ((level_mask(c) & bit) || !(c->lines & bit)) {
         c->irr |= bit;
      }
      c->lines |= bit;
   } else {
      c->lines &= (uint8_t)~bit;
      if (level_mask(c) & bit) {
         c->irr &= (uint8_t)~bit;
      }
   }
}

/* Priority rank: 0 is the highest. */
static unsigned
rank(const pic_chip *c, unsigned ir)
{
   return (ir - c->lowest - 1u) & 7u;
}

/* The highest-priority IR set in mask, or -1. */
static int
highest(const pic_chip *c, uint8_t mask)
{
   if (!mask) {
      return -1;
   }
   unsigned s = (c->lowest + 1u) & 7u;
   unsigned rot = ((unsigned)mask >> s | (unsigned)mask << (8 - s)) & 0xffu;
   return (int)(((unsigned)__builtin_ctz(rot) + s) & 7u);
}

/* The request the chip would present now, or -1. */
static int
chip_best(const pic_chip *c, bool master)
{
   int p = highest(c, c->irr & (uint8_t)~c->imr);
   if (p < 0) {
      return -1;
   }
   uint8_t isr = (c->flags & FLAG_SMM) ? (uint8_t)(c->isr & ~c->imr) : c->isr;
   int s = highest(c, isr);
   if (s < 0 || rank(c, (unsigned)p) < rank(c, (unsigned)s)) {
      return p;
   }
   if (p == s && master && p == 2 && (c->icw4 & ICW4_SFNM) && !(c->icw1 & ICW1_SNGL)) {
      return p;
   }
   return -1;
}

/* The INTA (or poll) of request ir. */
static void
chip_take(pic_chip *c, unsigned ir)
{
   uint8_t bit = (uint8_t)(1u << ir);
   if (!(level_mask(c) & bit)) {
      c->irr &= (uint8_t)~bit;
   }
   if (c->icw4 & ICW4_AEOI) {
      if (c->flags & FLAG_RAEOI) {
         c->lowest = (uint8_t)ir;
      }
   } else {
      c->isr |= bit;
   }
}

static void
chip_reset(pic_chip *c)
{
   memset(c, 0, sizeof *c);
   c->lowest = 7;
}

/* ---- the pair */

static void
update(intc_pic *pic)
{
   chip_set_line(&pic->c[0], 2, chip_best(&pic->c[1], false) >= 0);
   int out = chip_best(&pic->c[0], true) >= 0;
   if (out != pic->out) {
      __atomic_store_n(&pic->out, out, __ATOMIC_SEQ_CST);
      if (pic->out_fn) {
         pic->out_fn(pic->out_opaque, out);
      }
   }
}

void
pic_set_irq(intc_pic *pic, unsigned irq, bool level)
{
   if (irq >= 16 || irq == 2) {
      return;
   }
   pthread_mutex_lock(&pic->lock);
   chip_set_line(&pic->c[irq >> 3], irq & 7, level);
   update(pic);
   pthread_mutex_unlock(&pic->lock);
}

bool
pic_output(intc_pic *pic)
{
   return __atomic_load_n(&pic->out, __ATOMIC_SEQ_CST) != 0;
}

static bool
cascaded(const intc_pic *pic)
{
   return !(pic->c[0].icw1 & ICW1_SNGL);
}

int
pic_peek(intc_pic *pic)
{
   if (!pic_output(pic)) {
      return -1;
   }
   pthread_mutex_lock(&pic->lock);
   int v = -1;
   int ir = chip_best(&pic->c[0], true);
   if (ir == 2 && cascaded(pic)) {
      int s = chip_best(&pic->c[1], false);
      v = pic->c[1].base | (s < 0 ? 7 : s);
   } else if (ir >= 0) {
      v = pic->c[0].base | ir;
   }
   pthread_mutex_unlock(&pic->lock);
   return v;
}

int
pic_ack(intc_pic *pic)
{
   pthread_mutex_lock(&pic->lock);
   int v;
   int ir = chip_best(&pic->c[0], true);
   if (ir < 0) {
      v = pic->c[0].base | 7;
   } else {
      chip_take(&pic->c[0], (unsigned)ir);
      if (ir == 2 && cascaded(pic)) {
         int s = chip_best(&pic->c[1], false);
         if (s < 0) {
            v = pic->c[1].base | 7;
         } else {
            chip_take(&pic->c[1], (unsigned)s);
            v = pic->c[1].base | s;
         }
      } else {
         v = pic->c[0].base | ir;
      }
   }
   update(pic);
   pthread_mutex_unlock(&pic->lock);
   return v;
}

void
pic_set_output_fn(intc_pic *pic, pic_output_fn fn, void *opaque)
{
   pthread_mutex_lock(&pic->lock);
   pic->out_fn = fn;
   pic->out_opaque = opaque;
   pthread_mutex_unlock(&pic->lock);
}

/* ---- registers */

static void
write_icw1(pic_chip *c, uint8_t val)
{
   c->icw1 = val;
   c->init_state = 1;
   c->imr = 0;
   c->isr = 0;
   c->irr = c->lines & level_mask(c);
   c->lowest = 7;
   c->flags = 0;
   if (!(val & ICW1_IC4)) {
      c->icw4 = 0;
   }
}

static void
write_ocw2(pic_chip *c, uint8_t val)
{
   unsigned l = val & 7u;
   int s;
   switch (val >> 5) {
   case 0: /* clear rotate in auto-EOI */
      c->flags &= (uint8_t)~FLAG_RAEOI;
      break;
   case 4: /* set rotate in auto-EOI */
      c->flags |= FLAG_RAEOI;
      break;
   case 1: /* non-specific EOI */
   case 5: /* rotate on non-specific EOI */
      s = highest(c, (c->flags & FLAG_SMM) ? (uint8_t)(c->isr & ~c->imr) : c->isr);
      if (s >= 0) {
         c->isr &= (uint8_t)~(1u << s);
         if ((val >> 5) == 5) {
            c->lowest = (uint8_t)s;
         }
      }
      break;
   case 3: /* specific EOI */
      c->isr &= (uint8_t)~(1u << l);
      break;
   case 7: /* rotate on specific EOI */
      c->isr &= (uint8_t)~(1u << l);
      c->lowest = (uint8_t)l;
      break;
   case 6: /* set priority */
      c->lowest = (uint8_t)l;
      break;
   default: /* 2: no operation */
      break;
   }
}

static void
write_ocw3(pic_chip *c, uint8_t val)
{
   if (val & 0x40) {
      c->flags = (uint8_t)((c->flags & ~FLAG_SMM) | ((val & 0x20) ? FLAG_SMM : 0));
   }
   if (val & 0x04) {
      c->flags |= FLAG_POLL;
   }
   if (val & 0x02) {
      c->flags = (uint8_t)((c->flags & ~FLAG_RIS) | ((val & 0x01) ? FLAG_RIS : 0));
   }
}

static void
write_data(pic_chip *c, uint8_t val)
{
   switch (c->init_state) {
   case 1:
      c->base = val & 0xf8;
      c->init_state = !(c->icw1 & ICW1_SNGL) ? 2 : (c->icw1 & ICW1_IC4) ? 3 : 0;
      break;
   case 2:
      c->icw3 = val;
      c->init_state = (c->icw1 & ICW1_IC4) ? 3 : 0;
      break;
   case 3:
      c->icw4 = val & 0x1f;
      c->init_state = 0;
      break;
   default:
      c->imr = val;
      break;
   }
}

uint8_t
pic_port_read(intc_pic *pic, uint16_t port)
{
   uint8_t v = 0xff;
   pthread_mutex_lock(&pic->lock);
   if (port == 0x4d0 || port == 0x4d1) {
      v = pic->c[port & 1].elcr;
   } else if (port == 0x20 || port == 0x21 || port == 0xa0 || port == 0xa1) {
      pic_chip *c = &pic->c[port >= 0xa0];
      if (port & 1) {
         v = c->imr;
      } else if (c->flags & FLAG_POLL) {
         c->flags &= (uint8_t)~FLAG_POLL;
         int ir = chip_best(c, c == &pic->c[0]);
         if (ir >= 0) {
            chip_take(c, (unsigned)ir);
            v = (uint8_t)(0x80 | ir);
            update(pic);
         } else {
            v = 0;
         }
      } else {
         v = (c->flags & FLAG_RIS) ? c->isr : c->irr;
      }
   }
   pthread_mutex_unlock(&pic->lock);
   return v;
}

void
pic_port_write(intc_pic *pic, uint16_t port, uint8_t val)
{
   pthread_mutex_lock(&pic->lock);
   if (port == 0x4d0 || port == 0x4d1) {
      pic_chip *c = &pic->c[port & 1];
      c->elcr = val & elcr_mask[port & 1];
      /* IRR of a level input follows its line; edge inputs keep theirs. */
      c->irr = (uint8_t)((c->irr & ~level_mask(c)) | (c->lines & level_mask(c)));
   } else if (port == 0x20 || port == 0x21 || port == 0xa0 || port == 0xa1) {
      pic_chip *c = &pic->c[port >= 0xa0];
      if (port & 1) {
         write_data(c, val);
      } else if (val & 0x10) {
         write_icw1(c, val);
      } else if (val & 0x08) {
         write_ocw3(c, val);
      } else {
         write_ocw2(c, val);
      }
   }
   update(pic);
   pthread_mutex_unlock(&pic->lock);
}

/* ---- platform glue */

static uint64_t
io_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint16_t base)
{
   uint64_t v = 0;
   for (unsigned i = 0; i < size; i++) {
      uint8_t b = off + i < 2 ? pic_port_read(opaque, (uint16_t)(base + off + i)) : 0xff;
      v |= (uint64_t)b << (8 * i);
   }
   return v;
}

static void
io_write(void *opaque, uint64_t off, unsigned size, uint64_t val, uint16_t base)
{
   for (unsigned i = 0; i < size && off + i < 2; i++) {
      pic_port_write(opaque, (uint16_t)(base + off + i), (uint8_t)(val >> (8 * i)));
   }
}

static uint64_t
m_read(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   return io_read(o, cpu, off, size, 0x20);
}

static void
m_write(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   io_write(o, off, size, val, 0x20);
}

static uint64_t
s_read(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   return io_read(o, cpu, off, size, 0xa0);
}

static void
s_write(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   io_write(o, off, size, val, 0xa0);
}

static uint64_t
e_read(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   return io_read(o, cpu, off, size, 0x4d0);
}

static void
e_write(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   io_write(o, off, size, val, 0x4d0);
}

intc_pic *
pic_new(vmx_platform *p, char **err)
{
   intc_pic *pic = g_new0(intc_pic, 1);
   pthread_mutex_init(&pic->lock, NULL);
   pic->p = p;
   chip_reset(&pic->c[0]);
   chip_reset(&pic->c[1]);
   if (p) {
      vmx_io_region m = { "pic-master", m_read, m_write, pic };
      vmx_io_region s = { "pic-slave", s_read, s_write, pic };
      vmx_io_region e = { "pic-elcr", e_read, e_write, pic };
      if (!vmx_platform_map_pio(p, 0x20, 2, &m, err)) {
         goto fail;
      }
      if (!vmx_platform_map_pio(p, 0xa0, 2, &s, err)) {
         vmx_platform_unmap_pio(p, 0x20, 2);
         goto fail;
      }
      if (!vmx_platform_map_pio(p, 0x4d0, 2, &e, err)) {
         vmx_platform_unmap_pio(p, 0x20, 2);
         vmx_platform_unmap_pio(p, 0xa0, 2);
         goto fail;
      }
      pic->mapped = true;
   }
   return pic;
fail:
   pthread_mutex_destroy(&pic->lock);
   g_free(pic);
   return NULL;
}

void
pic_free(intc_pic *pic)
{
   if (!pic) {
      return;
   }
   if (pic->mapped) {
      vmx_platform_unmap_pio(pic->p, 0x20, 2);
      vmx_platform_unmap_pio(pic->p, 0xa0, 2);
      vmx_platform_unmap_pio(pic->p, 0x4d0, 2);
   }
   pthread_mutex_destroy(&pic->lock);
   g_free(pic);
}

void
pic_reset(intc_pic *pic)
{
   pthread_mutex_lock(&pic->lock);
   for (int i = 0; i < 2; i++) {
      uint8_t lines = pic->c[i].lines;
      chip_reset(&pic->c[i]);
      pic->c[i].lines = lines;   /* the devices still drive them */
   }
   update(pic);
   pthread_mutex_unlock(&pic->lock);
}

/* ---- state and checkpoint */

static const char *const chip_name[2] = { "master", "slave" };

static void
state_of(pic_chip_state *st, const pic_chip *c)
{
   *st = (pic_chip_state){
      .irr = c->irr, .isr = c->isr, .imr = c->imr, .elcr = c->elcr, .lines = c->lines,
      .init_state = c->init_state, .icw1 = c->icw1, .icw2 = c->base, .icw3 = c->icw3,
      .icw4 = c->icw4, .lowest = c->lowest, .flags = c->flags,
   };
}

static void
chip_of(pic_chip *c, const pic_chip_state *st)
{
   *c = (pic_chip){
      .irr = st->irr, .isr = st->isr, .imr = st->imr, .elcr = st->elcr, .lines = st->lines,
      .init_state = st->init_state, .icw1 = st->icw1, .base = st->icw2, .icw3 = st->icw3,
      .icw4 = st->icw4, .lowest = st->lowest, .flags = st->flags,
   };
}

void
pic_get_state(intc_pic *pic, pic_chip_state st[2])
{
   pthread_mutex_lock(&pic->lock);
   state_of(&st[0], &pic->c[0]);
   state_of(&st[1], &pic->c[1]);
   pthread_mutex_unlock(&pic->lock);
}

void
pic_reset_state(pic_chip_state st[2])
{
   pic_chip c;
   chip_reset(&c);
   state_of(&st[0], &c);
   state_of(&st[1], &c);
}

bool
pic_set_state(intc_pic *pic, const pic_chip_state st[2], char **err)
{
   for (int i = 0; i < 2; i++) {
      const pic_chip_state *c = &st[i];
      const char *bad = NULL;
      if (c->init_state > 3) {
         bad = "init";
      } else if (c->icw2 & 7) {
         bad = "icw2";
      } else if (c->icw4 & ~0x1f) {
         bad = "icw4";
      } else if (c->lowest > 7) {
         bad = "lowest";
      } else if (c->flags & ~0x0f) {
         bad = "flags";
      } else if (c->elcr & ~elcr_mask[i]) {
         bad = "elcr";
      } else if (!(c->icw1 & 0x10) && c->icw1 != 0) {
         bad = "icw1";
      }
      if (bad) {
         *err = g_strdup_printf("checkpoint section %s: %s.%s has an invalid value",
                                vmx_dev_pic.name, chip_name[i], bad);
         return false;
      }
   }
   pthread_mutex_lock(&pic->lock);
   chip_of(&pic->c[0], &st[0]);
   chip_of(&pic->c[1], &st[1]);
   /* The LAPICs restore their LINT0 level themselves: no callback. */
   chip_set_line(&pic->c[0], 2, chip_best(&pic->c[1], false) >= 0);
   __atomic_store_n(&pic->out, chip_best(&pic->c[0], true) >= 0, __ATOMIC_SEQ_CST);
   pthread_mutex_unlock(&pic->lock);
   return true;
}

void
pic_save(intc_pic *pic, ckpt_writer *w)
{
   pic_chip_state st[2];
   pic_get_state(pic, st);
   for (int i = 0; i < 2; i++) {
      const pic_chip_state *c = &st[i];
      char t[32];
#define PUT(name, v) (snprintf(t, sizeof t, "%s.%s", chip_name[i], name), ckpt_put_u8(w, t, v))
      PUT("irr", c->irr);
      PUT("isr", c->isr);
      PUT("imr", c->imr);
      PUT("elcr", c->elcr);
      PUT("lines", c->lines);
      PUT("init", c->init_state);
      PUT("icw1", c->icw1);
      PUT("icw2", c->icw2);
      PUT("icw3", c->icw3);
      PUT("icw4", c->icw4);
      PUT("lowest", c->lowest);
      PUT("flags", c->flags);
#undef PUT
   }
}

bool
pic_restore(intc_pic *pic, ckpt_reader *r, char **err)
{
   pic_chip_state n[2];
   pic_reset_state(n);
   for (int i = 0; i < 2; i++) {
      pic_chip_state *c = &n[i];
      char t[32];
#define GET(name, field) (snprintf(t, sizeof t, "%s.%s", chip_name[i], name), \
                          ckpt_get_u8(r, t, &c->field))
      GET("irr", irr);
      GET("isr", isr);
      GET("imr", imr);
      GET("elcr", elcr);
      GET("lines", lines);
      GET("init", init_state);
      GET("icw1", icw1);
      GET("icw2", icw2);
      GET("icw3", icw3);
      GET("icw4", icw4);
      GET("lowest", lowest);
      GET("flags", flags);
#undef GET
   }
   if (ckpt_reader_error(r)) {
      return false;
   }
   return pic_set_state(pic, n, err);
}

/* ---- device descriptor */

static void *
dev_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   return pic_new(p, err);
}

static void
dev_reset(void *d)
{
   pic_reset(d);
}

static void
dev_destroy(void *d)
{
   pic_free(d);
}

static void
dev_save(void *d, ckpt_writer *w)
{
   pic_save(d, w);
}

static bool
dev_restore(void *d, ckpt_reader *r, char **err)
{
   return pic_restore(d, r, err);
}

const vmx_device_desc vmx_dev_pic = {
   .name = "pic",
   .version = 1,
   .create = dev_create,
   .reset = dev_reset,
   .destroy = dev_destroy,
   .save = dev_save,
   .restore = dev_restore,
};
