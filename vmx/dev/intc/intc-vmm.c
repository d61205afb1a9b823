/*
 * vmx/dev/intc/intc-vmm.c - the userspace interrupt controllers as the
 * software monitor's irqchip (vmm_irqchip_ops). The opaque pointer is the
 * intc instance; vCPU indexes are APIC IDs.
 */
#include "vmx/dev/intc/intc.h"
#include "vmx/dev/intc/lapic.h"

#include <errno.h>
#include <glib.h>

#define MSR_APIC_BASE 0x1bu
#define MSR_TSC_DEADLINE 0x6e0u

static int
op_pending(void *o, unsigned v)
{
   return intc_pending(o, v);
}

static int
op_ack(void *o, unsigned v)
{
   return intc_ack(o, v);
}

static lapic *
cpu_lapic(void *o, unsigned v)
{
   return intc_lapic(o, v);
}

static unsigned
op_events(void *o, unsigned v)
{
   lapic *l = cpu_lapic(o, v);
   return l ? lapic_pending_events(l) : 0;
}

static bool
op_take_nmi(void *o, unsigned v)
{
   lapic *l = cpu_lapic(o, v);
   return l && lapic_take_nmi(l);
}

static bool
op_take_init(void *o, unsigned v)
{
   lapic *l = cpu_lapic(o, v);
   return l && lapic_take_init(l);
}

static bool
op_take_sipi(void *o, unsigned v, uint8_t *vector)
{
   lapic *l = cpu_lapic(o, v);
   return l && lapic_take_sipi(l, vector);
}

static bool
op_msr_read(void *o, unsigned v, uint32_t msr, uint64_t *val)
{
   lapic *l = cpu_lapic(o, v);
   if (!l) {
      return false;
   }
   if (msr == MSR_APIC_BASE) {
      *val = lapic_get_base(l);
      return true;
   }
   if (msr == MSR_TSC_DEADLINE) {
      *val = lapic_tsc_deadline_read(l);
      return true;
   }
   return lapic_msr_read(l, msr, val);
}

static bool
op_msr_write(void *o, unsigned v, uint32_t msr, uint64_t val, uint64_t guest_tsc)
{
   lapic *l = cpu_lapic(o, v);
   if (!l) {
      return false;
   }
   if (msr == MSR_APIC_BASE) {
      return lapic_set_base(l, val);
   }
   if (msr == MSR_TSC_DEADLINE) {
      lapic_tsc_deadline_write(l, val, guest_tsc);
      return true;
   }
   return lapic_msr_write(l, msr, val);
}

static uint64_t
op_get_cr8(void *o, unsigned v)
{
   lapic *l = cpu_lapic(o, v);
   return l ? lapic_get_cr8(l) : 0;
}

static void
op_set_cr8(void *o, unsigned v, uint64_t val)
{
   lapic *l = cpu_lapic(o, v);
   if (l) {
      lapic_set_cr8(l, val);
   }
}

static int
op_get_lapic(void *o, unsigned v, vmm_lapic *page)
{
   lapic *l = cpu_lapic(o, v);
   if (!l) {
      return -EINVAL;
   }
   lapic_get_page(l, page);
   return 0;
}

static int
op_set_lapic(void *o, unsigned v, const vmm_lapic *page)
{
   lapic *l = cpu_lapic(o, v);
   char *err = NULL;
   if (!l) {
      return -EINVAL;
   }
   if (!lapic_set_page(l, page, &err)) {
      g_free(err);
      return -EINVAL;
   }
   return 0;
}

const vmm_irqchip_ops intc_vmm_irqchip_ops = {
   .pending = op_pending,
   .ack = op_ack,
   .events = op_events,
   .take_nmi = op_take_nmi,
   .take_init = op_take_init,
   .take_sipi = op_take_sipi,
   .msr_read = op_msr_read,
   .msr_write = op_msr_write,
   .get_cr8 = op_get_cr8,
   .set_cr8 = op_set_cr8,
   .get_lapic = op_get_lapic,
   .set_lapic = op_set_lapic,
};
