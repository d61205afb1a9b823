/*
 * vmm/kvm/kvm-irqchip.c - the in-kernel PICs, IOAPIC and PIT between
 * monitor.h's neutral structures and KVM's (KVM_GET/SET_IRQCHIP,
 * KVM_GET/SET_PIT2). Every field is converted by name; the PIT's load time
 * goes between KVM's host CLOCK_MONOTONIC ktime and monitor.h's elapsed_ns
 * (see "Time" in monitor.h).
 */
#include "vmm/kvm/kvm-priv.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#define IOAPIC_BASE 0xfec00000ull

/* ktime_get(), which KVM stamps count_load_time with, is CLOCK_MONOTONIC. */
static int64_t mono_ns(void)
{
   struct timespec ts;

   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- PIC and IOAPIC --------------------------------------------------------- */

static void pic_from_kvm(vmm_pic_chip *c, const struct kvm_pic_state *k)
{
   c->last_irr = k->last_irr;
   c->irr = k->irr;
   c->imr = k->imr;
   c->isr = k->isr;
   c->priority_add = k->priority_add & 7;
   c->irq_base = k->irq_base & 0xf8;
   c->read_reg_select = k->read_reg_select != 0;
   c->poll = k->poll != 0;
   c->special_mask = k->special_mask != 0;
   c->init_state = k->init_state & 3;
   c->auto_eoi = k->auto_eoi != 0;
   c->rotate_on_auto_eoi = k->rotate_on_auto_eoi != 0;
   c->special_fully_nested_mode = k->special_fully_nested_mode != 0;
   c->init4 = k->init4 != 0;
   c->elcr = k->elcr & k->elcr_mask;
}

static void pic_to_kvm(struct kvm_pic_state *k, const vmm_pic_chip *c, uint8_t elcr_mask)
{
   memset(k, 0, sizeof *k);
   k->last_irr = c->last_irr;
   k->irr = c->irr;
   k->imr = c->imr;
   k->isr = c->isr;
   k->priority_add = c->priority_add;
   k->irq_base = c->irq_base;
   k->read_reg_select = c->read_reg_select;
   k->poll = c->poll;
   k->special_mask = c->special_mask;
   k->init_state = c->init_state;
   k->auto_eoi = c->auto_eoi;
   k->rotate_on_auto_eoi = c->rotate_on_auto_eoi;
   k->special_fully_nested_mode = c->special_fully_nested_mode;
   k->init4 = c->init4;
   k->elcr = c->elcr;
   k->elcr_mask = elcr_mask;   /* KVM copies it too: the PIIX's fixed mask */
}

static int get_chip(kvm_vm *vm, uint32_t id, struct kvm_irqchip *chip)
{
   memset(chip, 0, sizeof *chip);
   chip->chip_id = id;
   return kvm_ioctl(vm->fd, KVM_GET_IRQCHIP, chip);
}

int kvm_get_irqchip(vmm_vm *base, vmm_irqchip_state *s)
{
   kvm_vm *vm = kvm_vm_of(base);
   struct kvm_irqchip chip;
   int e;

   for (unsigned i = 0; i < 2; i++) {
      e = get_chip(vm, i == 0 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, &chip);
      if (e < 0) {
         return e;
      }
      pic_from_kvm(&s->pic[i], &chip.chip.pic);
   }
   e = get_chip(vm, KVM_IRQCHIP_IOAPIC, &chip);
   if (e < 0) {
      return e;
   }
   if (chip.chip.ioapic.base_address != IOAPIC_BASE) {
      return -EIO;   /* nothing moves it; neither format could say where */
   }
   s->ioapic.id = (uint8_t)(chip.chip.ioapic.id & 0xf);
   s->ioapic.ioregsel = (uint8_t)chip.chip.ioapic.ioregsel;
   s->ioapic.irr = chip.chip.ioapic.irr & ((1u << VMM_IOAPIC_PINS) - 1);
   for (unsigned i = 0; i < VMM_IOAPIC_PINS; i++) {
      s->ioapic.redir[i] = chip.chip.ioapic.redirtbl[i].bits & VMM_IOAPIC_REDIR_BITS;
   }
   return 0;
}

int kvm_set_irqchip(vmm_vm *base, const vmm_irqchip_state *s)
{
   kvm_vm *vm = kvm_vm_of(base);
   struct kvm_irqchip chip;
   int e;

   for (unsigned i = 0; i < 2; i++) {
      memset(&chip, 0, sizeof chip);
      chip.chip_id = i == 0 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
      pic_to_kvm(&chip.chip.pic, &s->pic[i],
                 i == 0 ? VMM_PIC_ELCR_MASK_MASTER : VMM_PIC_ELCR_MASK_SLAVE);
      e = kvm_ioctl(vm->fd, KVM_SET_IRQCHIP, &chip);
      if (e < 0) {
         return e;
      }
   }
   memset(&chip, 0, sizeof chip);
   chip.chip_id = KVM_IRQCHIP_IOAPIC;
   chip.chip.ioapic.base_address = IOAPIC_BASE;
   chip.chip.ioapic.id = s->ioapic.id;
   chip.chip.ioapic.ioregsel = s->ioapic.ioregsel;
   chip.chip.ioapic.irr = s->ioapic.irr;
   for (unsigned i = 0; i < VMM_IOAPIC_PINS; i++) {
      chip.chip.ioapic.redirtbl[i].bits = s->ioapic.redir[i];
   }
   /* KVM loads the table, then raises the irr pins (kvm_set_ioapic). */
   return kvm_ioctl(vm->fd, KVM_SET_IRQCHIP, &chip);
}

/* ---- PIT ------------------------------------------------------------------------ */

int kvm_get_pit(vmm_vm *base, vmm_pit_state *s)
{
   struct kvm_pit_state2 k;
   int64_t now;
   int e;

   memset(&k, 0, sizeof k);
   e = kvm_ioctl(kvm_vm_of(base)->fd, KVM_GET_PIT2, &k);
   if (e < 0) {
      return e;
   }
   now = mono_ns();
   s->flags = k.flags & (VMM_PIT_SPEAKER_DATA_ON | VMM_PIT_HPET_LEGACY);
   for (unsigned i = 0; i < 3; i++) {
      const struct kvm_pit_channel_state *kc = &k.channels[i];
      vmm_pit_channel *c = &s->ch[i];

      c->count = kc->count;
      c->latched_count = kc->latched_count;
      c->count_latched = kc->count_latched;
      c->status_latched = kc->status_latched != 0;
      c->status = kc->status;
      c->read_state = kc->read_state;
      c->write_state = kc->write_state;
      c->write_latch = kc->write_latch;
      c->rw_mode = kc->rw_mode;
      c->mode = kc->mode;
      c->bcd = kc->bcd != 0;
      c->gate = kc->gate != 0;
      /* Counter 0 counts by KVM's hrtimer; its count_load_time is stale. */
      if (i != 0 && kc->mode != VMM_PIT_MODE_NONE) {
         c->elapsed_known = 1;
         c->elapsed_ns = now > kc->count_load_time ? (uint64_t)(now - kc->count_load_time) : 0;
      }
   }
   return 0;
}

int kvm_set_pit(vmm_vm *base, const vmm_pit_state *s)
{
   struct kvm_pit_state2 k;
   int64_t now = mono_ns();

   memset(&k, 0, sizeof k);
   k.flags = s->flags;
   for (unsigned i = 0; i < 3; i++) {
      struct kvm_pit_channel_state *kc = &k.channels[i];
      const vmm_pit_channel *c = &s->ch[i];
      uint64_t el = c->elapsed_known ? c->elapsed_ns : 0;

      kc->count = c->count;
      kc->latched_count = c->latched_count;
      kc->count_latched = c->count_latched;
      kc->status_latched = c->status_latched;
      kc->status = c->status;
      kc->read_state = c->read_state;
      kc->write_state = c->write_state;
      kc->write_latch = c->write_latch;
      kc->rw_mode = c->rw_mode;
      kc->mode = c->mode;
      kc->bcd = c->bcd;
      kc->gate = c->gate;
      /* KVM overwrites this with the time of the call (monitor.h). */
      kc->count_load_time = el > (uint64_t)now ? 0 : now - (int64_t)el;
   }
   return kvm_ioctl(kvm_vm_of(base)->fd, KVM_SET_PIT2, &k);
}
