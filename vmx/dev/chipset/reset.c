/*
 * vmx/dev/chipset/reset.c - the reset control register at port 0xcf9
 * (PIIX/ICH "RCR").
 *
 *   bit 1  SYS_RST   1 = hard reset (platform), 0 = soft reset (CPU INIT)
 *   bit 2  RST_CPU   writing 1 starts the reset selected by bits 1 and 3
 *   bit 3  FULL_RST  1 = full reset (power cycle)
 *
 * Only byte accesses reach the register (a dword at 0xcf8 is the PCI
 * CONFIG_ADDRESS register). Bits 1 and 3 read back as written; bit 2 is
 * self-clearing and reads 0, so every write with bit 2 set is a 0 -> 1
 * transition. The platform has one kind of reset: hard, full and soft
 * resets all become VMX_REQ_RESET; the reason names which one the guest
 * asked for. Bits 1 and 3 keep their value across the reset they trigger
 * (as on the real chipset) and clear on power-on.
 */
#include "vmx/dev/chipset/chipset.h"

#include <glib.h>
#include <pthread.h>

#define RCR_PORT 0xcf9
#define RCR_SYS_RST 0x02
#define RCR_RST_CPU 0x04
#define RCR_FULL_RST 0x08
#define RCR_KEEP (RCR_SYS_RST | RCR_FULL_RST)

typedef struct rcr {
   vmx_platform *p;
   pthread_mutex_t lock;
   uint8_t value;   /* bits 1 and 3 */
} rcr;

static uint64_t
rcr_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   rcr *r = opaque;
   if (size != 1) {
      return ~0ull;
   }
   pthread_mutex_lock(&r->lock);
   uint8_t v = r->value;
   pthread_mutex_unlock(&r->lock);
   return v;
}

static void
rcr_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   rcr *r = opaque;
   if (size != 1) {
      return;
   }
   pthread_mutex_lock(&r->lock);
   r->value = (uint8_t)(val & RCR_KEEP);
   pthread_mutex_unlock(&r->lock);
   if (val & RCR_RST_CPU) {
      const char *why = (val & RCR_FULL_RST) ? "full reset through port 0xcf9"
                        : (val & RCR_SYS_RST) ? "hard reset through port 0xcf9"
                                              : "soft reset (INIT) through port 0xcf9";
      vmx_platform_request(r->p, VMX_REQ_RESET, why);
   }
}

static void *
rcr_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   rcr *r = g_new0(rcr, 1);
   r->p = p;
   pthread_mutex_init(&r->lock, NULL);
   const vmx_io_region reg = { "reset control (0xcf9)", rcr_read, rcr_write, r };
   if (!vmx_platform_map_pio(p, RCR_PORT, 1, &reg, err)) {
      pthread_mutex_destroy(&r->lock);
      g_free(r);
      return NULL;
   }
   return r;
}

static void
rcr_destroy(void *dev)
{
   rcr *r = dev;
   vmx_platform_unmap_pio(r->p, RCR_PORT, 1);
   pthread_mutex_destroy(&r->lock);
   g_free(r);
}

static void
rcr_save(void *dev, ckpt_writer *w)
{
   rcr *r = dev;
   pthread_mutex_lock(&r->lock);
   ckpt_put_u8(w, "rcr", r->value);
   pthread_mutex_unlock(&r->lock);
}

static bool
rcr_restore(void *dev, ckpt_reader *r, char **err)
{
   rcr *d = dev;
   uint8_t v;
   if (ckpt_get_u8(r, "rcr", &v)) {
      if (v & ~RCR_KEEP) {
         *err = g_strdup_printf("checkpoint section reset: item 'rcr' is 0x%02x: only bits 1 "
                                "and 3 are stored", v);
         return false;
      }
      pthread_mutex_lock(&d->lock);
      d->value = v;
      pthread_mutex_unlock(&d->lock);
   }
   return true;
}

const vmx_device_desc vmx_dev_reset = {
   .name = "reset",
   .version = 1,
   .create = rcr_create,
   .reset = NULL,   /* the register survives the resets it triggers */
   .destroy = rcr_destroy,
   .save = rcr_save,
   .restore = rcr_restore,
};
