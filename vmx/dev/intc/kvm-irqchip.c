/*
 * vmx/dev/intc/kvm-irqchip.c - the in-kernel chips' state (vmm/monitor.h)
 * to and from the userspace models' checkpoint sections. See
 * kvm-irqchip.h for the rules; the sections themselves are always written
 * and read by the models (pic_save/pic_restore and so on), through
 * temporary instances that belong to no platform.
 */
#include "vmx/dev/intc/kvm-irqchip.h"
#include "vmx/ckpt-items.h"
#include "vmx/dev/intc/intc.h"

#include <errno.h>
#include <string.h>

/* Where the temporary PIT's clock stands: far enough from 0 that any
 * elapsed time fits below it. */
#define FAKE_NOW_NS (1ull << 62)

static uint64_t
ticks_of_ns(uint64_t ns)
{
   return (uint64_t)((unsigned __int128)ns * PIT_HZ / 1000000000u);
}

static uint64_t
ns_of_ticks(uint64_t ticks)
{
   unsigned __int128 ns = ((unsigned __int128)ticks * 1000000000u + PIT_HZ - 1) / PIT_HZ;
   return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

/* The temporary models. */
typedef struct models {
   intc_clock *clock;
   intc_pic *pic;
   intc_ioapic *io;
   intc_pit *pit;
} models;

static void
models_free(models *m)
{
   pit_free(m->pit);
   ioapic_free(m->io);
   pic_free(m->pic);
   intc_clock_unref(m->clock);
}

static bool
models_new(models *m, char **err)
{
   memset(m, 0, sizeof *m);
   m->clock = intc_clock_new_fake(FAKE_NOW_NS);
   m->pic = pic_new(NULL, err);
   m->io = m->pic ? ioapic_new(NULL, err) : NULL;
   m->pit = m->io ? pit_new(NULL, m->clock, err) : NULL;
   if (!m->pit) {
      models_free(m);
      return false;
   }
   return true;
}

/* ---- PIC ------------------------------------------------------------------- */

static const char *const chip_name[2] = { "master", "slave" };

static void
pic_from_kvm(pic_chip_state st[2], const vmm_pic_chip k[2])
{
   for (unsigned i = 0; i < 2; i++) {
      const vmm_pic_chip *c = &k[i];
      bool initialized = c->init4 || c->init_state || c->irq_base;
      st[i] = (pic_chip_state){
         .irr = c->irr,
         .isr = c->isr,
         .imr = c->imr,
         .elcr = c->elcr,
         /* The master's IR2 is the slave's INT, which pic_set_state
          * derives again from the slave. */
         .lines = i == 0 ? (uint8_t)(c->last_irr & ~0x04) : c->last_irr,
         .init_state = c->init_state,
         .icw1 = initialized ? (uint8_t)(0x10 | (c->init4 ? PIC_ICW1_IC4 : 0)) : 0,
         .icw2 = c->irq_base,
         .icw3 = initialized ? (i == 0 ? 0x04 : 0x02) : 0,
         .icw4 = (uint8_t)((c->init4 ? 0x01 : 0) | (c->auto_eoi ? PIC_ICW4_AEOI : 0) |
                           (c->special_fully_nested_mode ? PIC_ICW4_SFNM : 0)),
         .lowest = (uint8_t)((c->priority_add + 7) & 7),
         .flags = (uint8_t)((c->special_mask ? PIC_FLAG_SMM : 0) |
                            (c->read_reg_select ? PIC_FLAG_RIS : 0) |
                            (c->poll ? PIC_FLAG_POLL : 0) |
                            (c->rotate_on_auto_eoi ? PIC_FLAG_RAEOI : 0)),
      };
   }
}

static bool
pic_to_kvm(vmm_pic_chip k[2], const pic_chip_state st[2], char **err)
{
   for (unsigned i = 0; i < 2; i++) {
      const pic_chip_state *c = &st[i];
      if (c->icw1 & (PIC_ICW1_SNGL | PIC_ICW1_LTIM)) {
         *err = g_strdup_printf("checkpoint section %s: %s.icw1 (0x%02x) selects %s mode, "
                                "which the KVM monitor's in-kernel PIC does not have",
                                vmx_dev_pic.name, chip_name[i], c->icw1,
                                (c->icw1 & PIC_ICW1_SNGL) ? "single (uncascaded)"
                                                          : "level-triggered (LTIM)");
         return false;
      }
      k[i] = (vmm_pic_chip){
         .last_irr = i == 0 ? (uint8_t)(c->lines & ~0x04) : c->lines,
         .irr = c->irr,
         .imr = c->imr,
         .isr = c->isr,
         .priority_add = (uint8_t)((c->lowest + 1) & 7),
         .irq_base = c->icw2,
         .read_reg_select = (c->flags & PIC_FLAG_RIS) != 0,
         .poll = (c->flags & PIC_FLAG_POLL) != 0,
         .special_mask = (c->flags & PIC_FLAG_SMM) != 0,
         .init_state = c->init_state,
         .auto_eoi = (c->icw4 & PIC_ICW4_AEOI) != 0,
         .rotate_on_auto_eoi = (c->flags & PIC_FLAG_RAEOI) != 0,
         .special_fully_nested_mode = (c->icw4 & PIC_ICW4_SFNM) != 0,
         .init4 = (c->icw1 & PIC_ICW1_IC4) != 0,
         .elcr = c->elcr,
      };
   }
   return true;
}

/* ---- IOAPIC ---------------------------------------------------------------- */

/* ISA IRQ lines 0-15 as the PIC sees them (IRQ2 is the cascade, no line). */
static uint32_t
isa_lines(const pic_chip_state st[2])
{
   return ((uint32_t)st[0].lines | (uint32_t)st[1].lines << 8) & ~(1u << 2);
}

static void
ioapic_from_kvm(ioapic_state *st, const vmm_ioapic_state *k, uint32_t isa)
{
   st->id = k->id;
   st->regsel = k->ioregsel;
   st->lines = k->irr | isa;
   for (unsigned i = 0; i < IOAPIC_PINS; i++) {
      uint64_t e = k->redir[i] & (IOAPIC_RE_WRITABLE | IOAPIC_RE_RIRR);
      if (!(e & IOAPIC_RE_LEVEL)) {
         e &= ~IOAPIC_RE_RIRR;
      }
      st->redir[i] = e;
   }
}

static void
ioapic_to_kvm(vmm_ioapic_state *k, const ioapic_state *st)
{
   k->id = st->id;
   k->ioregsel = st->regsel;
   k->irr = 0;
   for (unsigned i = 0; i < IOAPIC_PINS; i++) {
      k->redir[i] = st->redir[i];
      if ((st->lines >> i & 1) && (st->redir[i] & (IOAPIC_RE_LEVEL | IOAPIC_RE_MASK))) {
         k->irr |= 1u << i;
      }
   }
}

/* ---- PIT ------------------------------------------------------------------- */

static void
reset_counter(pit_counter_state *c, unsigned i, bool gate)
{
   pit_state r;
   pit_reset_state(&r);
   *c = r.c[i];
   c->flags = (uint8_t)((c->flags & ~PIT_CF_GATE) | (gate ? PIT_CF_GATE : 0));
}

static bool
counter_is_reset(const pit_counter_state *c, unsigned i)
{
   pit_counter_state r;
   reset_counter(&r, i, (c->flags & PIT_CF_GATE) != 0);
   return c->mode == r.mode && c->bcd == r.bcd && c->rw == r.rw && c->wstate == r.wstate &&
          c->rstate == r.rstate && c->lsb == r.lsb && c->cr == r.cr && c->n == r.n &&
          c->latch == r.latch && c->latch_left == r.latch_left && c->status == r.status &&
          c->flags == r.flags && c->elapsed == r.elapsed && c->next_in == r.next_in &&
          c->hold == r.hold;
}

static bool
pit_from_kvm(pit_state *st, const vmm_pit_state *k, char **err)
{
   if (k->flags & VMM_PIT_HPET_LEGACY) {
      *err = g_strdup("the KVM monitor's PIT is in HPET legacy replacement mode, which the "
                      "userspace PIT does not model");
      return false;
   }
   pit_reset_state(st);
   st->port61 = (uint8_t)((k->ch[2].gate ? 0x01 : 0) |
                          ((k->flags & VMM_PIT_SPEAKER_DATA_ON) ? 0x02 : 0));
   for (unsigned i = 0; i < 3; i++) {
      const vmm_pit_channel *kc = &k->ch[i];
      pit_counter_state *c = &st->c[i];
      if (kc->mode == VMM_PIT_MODE_NONE) {
         reset_counter(c, i, kc->gate);
         continue;
      }
      if (kc->mode > 5 || kc->rw_mode < 1 || kc->rw_mode > 3) {
         *err = g_strdup_printf("the KVM monitor's PIT counter %u has mode %u, access %u: not "
                                "an 8254 state", i, kc->mode, kc->rw_mode);
         return false;
      }
      uint8_t rw = kc->rw_mode;
      uint8_t left = kc->count_latched == VMM_PIT_RW_WORD0 ? 2 : kc->count_latched ? 1 : 0;
      if (rw != 3 && left > 1) {
         left = 1;
      }
      uint8_t rstate = 0;
      if (rw == 3) {
         rstate = kc->count_latched == VMM_PIT_RW_MSB ? 1
                  : kc->count_latched ? 0
                  : kc->read_state == VMM_PIT_RW_WORD1;
      }
      *c = (pit_counter_state){
         .mode = kc->mode,
         .bcd = kc->bcd,
         .rw = rw,
         .wstate = rw == 3 && kc->write_state == VMM_PIT_RW_WORD1,
         .rstate = rstate,
         .lsb = kc->write_latch,
         .cr = kc->count,
         .n = kc->count,
         .latch = kc->latched_count,
         .latch_left = left,
         .status = kc->status,
         .flags = (uint8_t)(PIT_CF_ARMED | PIT_CF_HAVE_COUNT | (kc->gate ? PIT_CF_GATE : 0) |
                            (kc->status_latched ? PIT_CF_STATUS_LATCHED : 0)),
         .elapsed = kc->elapsed_known ? ticks_of_ns(kc->elapsed_ns) : 0,
      };
   }
   return true;
}

static void
pit_to_kvm(vmm_pit_state *k, const pit_state *st)
{
   memset(k, 0, sizeof *k);
   k->flags = (st->port61 & 0x02) ? VMM_PIT_SPEAKER_DATA_ON : 0;
   for (unsigned i = 0; i < 3; i++) {
      const pit_counter_state *c = &st->c[i];
      vmm_pit_channel *kc = &k->ch[i];
      bool gate = (c->flags & PIT_CF_GATE) != 0;
      if (counter_is_reset(c, i)) {
         *kc = (vmm_pit_channel){ .count = 0x10000, .mode = VMM_PIT_MODE_NONE, .gate = gate };
         continue;
      }
      bool armed = (c->flags & PIT_CF_ARMED) != 0;
      uint8_t rw = c->rw;
      uint8_t latched = 0;
      if (c->latch_left) {
         latched = rw != 3 ? rw
                   : c->latch_left == 2 ? VMM_PIT_RW_WORD0
                   : c->rstate ? VMM_PIT_RW_MSB : VMM_PIT_RW_LSB;
      }
      uint32_t count = c->n;
      if ((armed && (c->flags & PIT_CF_HAS_NEXT)) || (!armed && (c->flags & PIT_CF_HAVE_COUNT))) {
         count = c->cr;
      }
      *kc = (vmm_pit_channel){
         .count = count,
         .latched_count = c->latch,
         .count_latched = latched,
         .status_latched = (c->flags & PIT_CF_STATUS_LATCHED) != 0,
         .status = c->status,
         .read_state = rw != 3 ? rw : c->rstate ? VMM_PIT_RW_WORD1 : VMM_PIT_RW_WORD0,
         .write_state = rw != 3 ? rw : c->wstate ? VMM_PIT_RW_WORD1 : VMM_PIT_RW_WORD0,
         .write_latch = c->lsb,
         .rw_mode = rw,
         .mode = c->mode,
         .bcd = c->bcd,
         .gate = gate,
         .elapsed_known = armed,
         .elapsed_ns = armed ? ns_of_ticks(c->elapsed) : 0,
      };
   }
}

/* ---- sections -------------------------------------------------------------- */

/* The models' checkpoint functions, typed for a table. */
static void
save_pic(void *d, ckpt_writer *w)
{
   pic_save(d, w);
}

static void
save_ioapic(void *d, ckpt_writer *w)
{
   ioapic_save(d, w);
}

static void
save_pit(void *d, ckpt_writer *w)
{
   pit_save(d, w);
}

static bool
restore_pic(void *d, ckpt_reader *r, char **err)
{
   return pic_restore(d, r, err);
}

static bool
restore_ioapic(void *d, ckpt_reader *r, char **err)
{
   return ioapic_restore(d, r, err);
}

static bool
restore_pit(void *d, ckpt_reader *r, char **err)
{
   return pit_restore(d, r, err);
}

static void
append_section(GByteArray *all, const vmx_device_desc *desc, void (*save)(void *, ckpt_writer *),
               void *dev)
{
   ckpt_writer *w = ckpt_writer_new(desc->name, desc->version);
   save(dev, w);
   GBytes *b = ckpt_writer_finish(w);
   gsize n;
   const guint8 *data = g_bytes_get_data(b, &n);
   g_byte_array_append(all, data, (guint)n);
   g_bytes_unref(b);
}

GBytes *
intc_kvm_sections_from_state(const vmm_irqchip_state *irq, const vmm_pit_state *pit, char **err)
{
   models m;
   pic_chip_state ps[2];
   ioapic_state is;
   pit_state ts;
   *err = NULL;
   if (!pit_from_kvm(&ts, pit, err) || !models_new(&m, err)) {
      return NULL;
   }
   pic_from_kvm(ps, irq->pic);
   ioapic_from_kvm(&is, &irq->ioapic, isa_lines(ps));
   /* The models check what they get as they check a checkpoint. */
   if (!pic_set_state(m.pic, ps, err) || !ioapic_set_state(m.io, &is, err) ||
       !pit_set_state(m.pit, &ts, err)) {
      char *why = *err;
      *err = g_strdup_printf("the KVM monitor's interrupt controllers hold a state the "
                             "userspace models cannot represent (%s)", why);
      g_free(why);
      models_free(&m);
      return NULL;
   }
   GByteArray *all = g_byte_array_new();
   append_section(all, &vmx_dev_pic, save_pic, m.pic);
   append_section(all, &vmx_dev_ioapic, save_ioapic, m.io);
   append_section(all, &vmx_dev_pit, save_pit, m.pit);
   models_free(&m);
   return g_byte_array_free_to_bytes(all);
}

typedef struct wanted {
   const vmx_device_desc *desc;
   unsigned bit;
   bool (*restore)(void *dev, ckpt_reader *r, char **err);
} wanted;

bool
intc_kvm_state_from_sections(const void *sections, size_t len, vmm_irqchip_state *irq,
                             vmm_pit_state *pit, unsigned *found, char **err)
{
   const wanted want[] = {
      { &vmx_dev_pic, INTC_KVM_PIC, restore_pic },
      { &vmx_dev_ioapic, INTC_KVM_IOAPIC, restore_ioapic },
      { &vmx_dev_pit, INTC_KVM_PIT, restore_pit },
   };
   const uint8_t *data = sections;
   size_t off = 0;
   unsigned have = 0;
   models m;
   *err = NULL;
   *found = 0;
   if (!sections && len) {
      *err = g_strdup("no checkpoint data");
      return false;
   }
   if (!models_new(&m, err)) {
      return false;
   }
   while (off < len) {
      size_t used = 0;
      char *why = NULL;
      ckpt_reader *r = ckpt_reader_new(data + off, len - off, &used, &why);
      if (!r) {
         *err = g_strdup_printf("interrupt controller checkpoint data, at byte %zu of %zu: %s",
                                off, len, why ? why : "malformed section");
         g_free(why);
         models_free(&m);
         return false;
      }
      off += used;
      const char *name = ckpt_reader_section(r);
      const wanted *w = NULL;
      for (unsigned i = 0; i < G_N_ELEMENTS(want); i++) {
         if (!strcmp(name, want[i].desc->name)) {
            w = &want[i];
         }
      }
      bool ok = true;
      if (w && (have & w->bit)) {
         *err = g_strdup_printf("checkpoint section %s appears twice", name);
         ok = false;
      } else if (w && ckpt_reader_version(r) > w->desc->version) {
         *err = g_strdup_printf("checkpoint section %s has version %u; this build reads up "
                                "to %u", name, ckpt_reader_version(r), w->desc->version);
         ok = false;
      } else if (w) {
         void *dev = w->bit == INTC_KVM_PIC ? (void *)m.pic
                     : w->bit == INTC_KVM_IOAPIC ? (void *)m.io : (void *)m.pit;
         if (!w->restore(dev, r, err) || ckpt_reader_error(r)) {
            if (!*err) {
               *err = g_strdup(ckpt_reader_error(r));
            }
            ok = false;
         }
         have |= w->bit;
      }
      ckpt_reader_free(r);
      if (!ok) {
         models_free(&m);
         return false;
      }
   }
   vmm_irqchip_state ni = *irq;
   vmm_pit_state np = *pit;
   pic_chip_state ps[2];
   pic_get_state(m.pic, ps);
   if ((have & INTC_KVM_PIC) && !pic_to_kvm(ni.pic, ps, err)) {
      models_free(&m);
      return false;
   }
   if (have & INTC_KVM_IOAPIC) {
      ioapic_state is;
      ioapic_get_state(m.io, &is);
      ioapic_to_kvm(&ni.ioapic, &is);
   }
   if (have & INTC_KVM_PIT) {
      pit_state ts;
      pit_get_state(m.pit, &ts);
      pit_to_kvm(&np, &ts);
   }
   models_free(&m);
   *irq = ni;
   *pit = np;
   *found = have;
   return true;
}

/* ---- the monitor ----------------------------------------------------------- */

static char *
monitor_error(const char *what, int e)
{
   if (e == -ENOTSUP) {
      return g_strdup_printf("cannot %s the interrupt controllers: this monitor has no "
                             "in-kernel PIC, IOAPIC and PIT (its controllers are the "
                             "platform's devices)", what);
   }
   return g_strdup_printf("cannot %s the in-kernel interrupt controllers: %s", what,
                          g_strerror(-e));
}

GBytes *
intc_kvm_save(vmm_vm *vm, char **err)
{
   vmm_irqchip_state irq;
   vmm_pit_state pit;
   *err = NULL;
   int e = vmm_vm_get_irqchip(vm, &irq);
   if (e == 0) {
      e = vmm_vm_get_pit(vm, &pit);
   }
   if (e < 0) {
      *err = monitor_error("read", e);
      return NULL;
   }
   return intc_kvm_sections_from_state(&irq, &pit, err);
}

bool
intc_kvm_restore(vmm_vm *vm, const void *sections, size_t len, char **err)
{
   vmm_irqchip_state old_irq, irq;
   vmm_pit_state old_pit, pit;
   unsigned found = 0;
   *err = NULL;
   int e = vmm_vm_get_irqchip(vm, &old_irq);
   if (e == 0) {
      e = vmm_vm_get_pit(vm, &old_pit);
   }
   if (e < 0) {
      *err = monitor_error("read", e);
      return false;
   }
   irq = old_irq;
   pit = old_pit;
   if (!intc_kvm_state_from_sections(sections, len, &irq, &pit, &found, err)) {
      return false;
   }
   if (found & (INTC_KVM_PIC | INTC_KVM_IOAPIC)) {
      e = vmm_vm_set_irqchip(vm, &irq);
      if (e < 0) {
         /* The PICs may be in and the IOAPIC not: put back what was. */
         vmm_vm_set_irqchip(vm, &old_irq);
         *err = monitor_error("load", e);
         return false;
      }
   }
   if (found & INTC_KVM_PIT) {
      e = vmm_vm_set_pit(vm, &pit);
      if (e < 0) {
         if (found & (INTC_KVM_PIC | INTC_KVM_IOAPIC)) {
            vmm_vm_set_irqchip(vm, &old_irq);
         }
         *err = monitor_error("load", e);
         return false;
      }
   }
   return true;
}
