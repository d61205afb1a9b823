/*
 * vmx/dev/intc/intc.c - the interrupt router: GSIs to the PIC and the
 * IOAPIC, the PIC's INTR to LINT0, EOIs to the IOAPIC, and the CPU-side
 * questions "which vector now?" and "take it".
 */
#include "vmx/dev/intc/intc.h"
#include "vmx/vmxlog.h"

struct intc {
   vmx_platform *p;
   intc_pic *pic;
   intc_ioapic *io;
   lapic_bus *bus;
   unsigned warned;   /* atomic */
};

void
intc_set_irq(intc *ic, unsigned gsi, bool level)
{
   if (gsi < 16 && gsi != 2) {
      pic_set_irq(ic->pic, gsi, level);
   }
   if (gsi < IOAPIC_PINS) {
      ioapic_set_irq(ic->io, gsi, level);
   } else if (__atomic_fetch_add(&ic->warned, 1, __ATOMIC_RELAXED) < 8) {
      vmxlog("intc: GSI %u is beyond the IOAPIC's %u pins; ignored", gsi, IOAPIC_PINS);
   }
}

unsigned
intc_msi(intc *ic, uint64_t addr, uint32_t data)
{
   return lapic_bus_msi(ic->bus, addr, data);
}

void
intc_nmi(intc *ic, unsigned vcpu)
{
   lapic *l = lapic_bus_get(ic->bus, vcpu);
   if (l) {
      lapic_nmi(l);
   }
}

int
intc_pending(intc *ic, unsigned vcpu)
{
   lapic *l = lapic_bus_get(ic->bus, vcpu);
   if (!l) {
      return -1;
   }
   int v = lapic_has_interrupt(l);
   if (v >= 0) {
      return v;
   }
   if (lapic_extint_open(l) && pic_output(ic->pic)) {
      return pic_peek(ic->pic);
   }
   return -1;
}

int
intc_ack(intc *ic, unsigned vcpu)
{
   lapic *l = lapic_bus_get(ic->bus, vcpu);
   if (!l) {
      return -1;
   }
   int v = lapic_ack(l);
   if (v >= 0) {
      return v;
   }
   if (lapic_extint_open(l)) {
      lapic_extint_taken(l);
      if (pic_output(ic->pic)) {
         return pic_ack(ic->pic);
      }
   }
   return -1;
}

void
intc_set_wakeup(intc *ic, lapic_wakeup_fn fn, void *opaque)
{
   lapic_bus_set_wakeup(ic->bus, fn, opaque);
}

lapic *
intc_lapic(intc *ic, unsigned vcpu)
{
   return lapic_bus_get(ic->bus, vcpu);
}

lapic_bus *
intc_lapic_bus(intc *ic)
{
   return ic->bus;
}

intc_pic *
intc_get_pic(intc *ic)
{
   return ic->pic;
}

intc_ioapic *
intc_get_ioapic(intc *ic)
{
   return ic->io;
}

/* ---- wiring */

static void
sink(void *opaque, unsigned gsi, bool level)
{
   intc_set_irq(opaque, gsi, level);
}

static void
pic_out(void *opaque, bool level)
{
   intc *ic = opaque;
   lapic_bus_set_lint(ic->bus, 0, level);
}

static void
eoi(void *opaque, uint8_t vector)
{
   intc *ic = opaque;
   ioapic_eoi(ic->io, vector);
}

intc *
intc_new(vmx_platform *p, intc_pic *pic, intc_ioapic *io, lapic_bus *bus, char **err)
{
   if (!pic || !io || !bus) {
      *err = g_strdup("the pic, ioapic and lapic devices must be created before intc");
      return NULL;
   }
   intc *ic = g_new0(intc, 1);
   ic->p = p;
   ic->pic = pic;
   ic->io = io;
   ic->bus = bus;
   ioapic_connect(io, bus);
   lapic_bus_set_eoi_fn(bus, eoi, ic);
   pic_set_output_fn(pic, pic_out, ic);
   lapic_bus_set_lint(bus, 0, pic_output(pic));
   if (p) {
      vmx_platform_set_irq_sink(p, sink, ic);
   }
   return ic;
}

void
intc_free(intc *ic)
{
   if (!ic) {
      return;
   }
   if (ic->p) {
      vmx_platform_set_irq_sink(ic->p, NULL, NULL);
   }
   pic_set_output_fn(ic->pic, NULL, NULL);
   lapic_bus_set_eoi_fn(ic->bus, NULL, NULL);
   ioapic_connect(ic->io, NULL);
   g_free(ic);
}

/* ---- device descriptor */

static void *
dev_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   return intc_new(p, vmx_platform_device(p, vmx_dev_pic.name),
                   vmx_platform_device(p, vmx_dev_ioapic.name),
                   vmx_platform_device(p, vmx_dev_lapic.name), err);
}

static void
dev_destroy(void *d)
{
   intc_free(d);
}

const vmx_device_desc vmx_dev_intc = {
   .name = "intc",
   .version = 1,
   .create = dev_create,
   .destroy = dev_destroy,
};
