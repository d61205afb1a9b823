/*
 * vmx/dev/acpi/acpi-pm.c - ACPI fixed hardware: PM1a event and control
 * blocks, the PM timer, GPE0, the fixed power button and sleep control.
 * Port layout and bit names: acpi.h.
 *
 * Every block is accessed as little-endian bytes: an access of any size at
 * any offset inside a block reads or writes the bytes it covers, so byte,
 * word and dword accesses all behave as on a chipset. Status registers are
 * write-one-to-clear.
 *
 * The PM timer counts at 3.579545 MHz from the host clock: its value is
 * tmr_start plus the ticks elapsed since clk_base_ns. TMR_STS is set when
 * bit 31 of the counter changes; it is evaluated lazily (on PM1_STS reads,
 * on enable changes and from vmx_acpi_pm_poll()).
 */
#include "vmx/dev/acpi/acpi.h"
#include "vmx/vmxlog.h"

#include <glib.h>
#include <pthread.h>
#include <time.h>

#define PM1_STS_DEFINED (ACPI_PM1_TMR_STS | ACPI_PM1_BM_STS | ACPI_PM1_GBL_STS | \
                         ACPI_PM1_PWRBTN_STS | ACPI_PM1_SLPBTN_STS | ACPI_PM1_RTC_STS | \
                         ACPI_PM1_WAK_STS)
#define PM1_EN_DEFINED  (ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN | ACPI_PM1_PWRBTN_EN | \
                         ACPI_PM1_SLPBTN_EN | ACPI_PM1_RTC_EN)
/* Status bits that raise the SCI when their enable bit is set (same bit
 * positions in PM1_STS and PM1_EN). */
#define PM1_SCI_SOURCES (ACPI_PM1_TMR_STS | ACPI_PM1_GBL_STS | ACPI_PM1_PWRBTN_STS | \
                         ACPI_PM1_SLPBTN_STS | ACPI_PM1_RTC_STS)
/* PM1_CNT bits that are stored (SLP_EN and GBL_RLS are write-only). */
#define PM1_CNT_STORED  (ACPI_PM1_SCI_EN | ACPI_PM1_BM_RLD | ACPI_PM1_SLP_TYP_MASK)

#define TMR_MSB_SHIFT 31

typedef struct acpi_pm {
   vmx_platform *p;
   pthread_mutex_t lock;
   /* Modelled registers. */
   uint16_t pm1_sts, pm1_en, pm1_cnt;
   uint32_t gpe0_sts, gpe0_en;
   /* PM timer. */
   vmx_acpi_clock_fn clock;
   void *clock_opaque;
   uint64_t clk_base_ns;
   uint64_t tmr_start;       /* counter (64-bit, never wraps) at clk_base_ns */
   uint64_t tmr_msb_seen;    /* counter >> 31 when TMR_STS was last evaluated */
   /* The level last driven on the SCI line. */
   bool sci;
   bool mapped[4];
   unsigned bad_sleep_logged;   /* a guest looping on it must not flood the log */
} acpi_pm;

static uint64_t
host_clock_ns(void *opaque)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- timer */

static uint64_t
ticks_since_base(acpi_pm *d)
{
   uint64_t now = d->clock(d->clock_opaque);
   uint64_t ns = now >= d->clk_base_ns ? now - d->clk_base_ns : 0;
   return (uint64_t)(((unsigned __int128)ns * ACPI_PM_TIMER_HZ) / 1000000000u);
}

static uint64_t
counter(acpi_pm *d)
{
   return d->tmr_start + ticks_since_base(d);
}

/* Re-anchor the counter at the current clock (keeps its value). */
static void
rebase(acpi_pm *d, uint64_t value)
{
   d->clk_base_ns = d->clock(d->clock_opaque);
   d->tmr_start = value;
}

/* PM1_STS with TMR_STS brought up to date; records what was seen. */
static void
update_tmr_sts(acpi_pm *d)
{
   uint64_t msb = counter(d) >> TMR_MSB_SHIFT;
   if (msb != d->tmr_msb_seen) {
      d->pm1_sts |= ACPI_PM1_TMR_STS;
      d->tmr_msb_seen = msb;
   }
}

/* ---- SCI */

static bool
sci_level(const acpi_pm *d)
{
   if (!(d->pm1_cnt & ACPI_PM1_SCI_EN)) {
      return false;
   }
   return (d->pm1_sts & d->pm1_en & PM1_SCI_SOURCES) != 0 || (d->gpe0_sts & d->gpe0_en) != 0;
}

/* Drive the SCI line to its level; called with the lock held so that two
 * threads cannot reorder their updates of the line. */
static void
update_sci(acpi_pm *d, bool force)
{
   bool level = sci_level(d);
   if (level != d->sci || force) {
      d->sci = level;
      vmx_platform_set_irq(d->p, ACPI_SCI_GSI, level);
   }
}

/* ---- register blocks */

/* Merge the bytes of an access into a 16- or 32-bit register that lies at
 * byte offset reg_off (width reg_len) inside a block. Returns the mask of
 * bits the access covers in that register and the value bits in *v. */
static uint32_t
covered(uint64_t off, unsigned size, uint64_t val, unsigned reg_off, unsigned reg_len, uint32_t *v)
{
   uint32_t mask = 0, bits = 0;
   for (unsigned i = 0; i < size; i++) {
      uint64_t b = off + i;
      if (b >= reg_off && b < (uint64_t)reg_off + reg_len) {
         unsigned sh = (unsigned)(b - reg_off) * 8;
         mask |= 0xffu << sh;
         bits |= (uint32_t)((val >> (i * 8)) & 0xff) << sh;
      }
   }
   *v = bits;
   return mask;
}

/* Bytes [off, off+size) of a block whose little-endian image is img; bytes
 * past the block read as ones. */
static uint64_t
extract(uint64_t img, unsigned blen, uint64_t off, unsigned size)
{
   uint64_t r = 0;
   for (unsigned i = 0; i < size; i++) {
      uint64_t b = off + i;
      uint64_t byte = b < blen ? (img >> (b * 8)) & 0xff : 0xff;
      r |= byte << (i * 8);
   }
   return r;
}

static uint64_t
evt_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   acpi_pm *d = opaque;
   pthread_mutex_lock(&d->lock);
   update_tmr_sts(d);
   update_sci(d, false);
   uint64_t img = (uint64_t)d->pm1_sts | ((uint64_t)d->pm1_en << 16);
   pthread_mutex_unlock(&d->lock);
   return extract(img, ACPI_PM1_EVT_LEN, off, size);
}

static void
evt_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   acpi_pm *d = opaque;
   uint32_t v;
   pthread_mutex_lock(&d->lock);
   update_tmr_sts(d);
   uint32_t m = covered(off, size, val, 0, 2, &v);
   d->pm1_sts &= (uint16_t)~(v & m);
   m = covered(off, size, val, 2, 2, &v);
   d->pm1_en = (uint16_t)(((d->pm1_en & ~m) | (v & m)) & PM1_EN_DEFINED);
   update_sci(d, false);
   pthread_mutex_unlock(&d->lock);
}

static uint64_t
cnt_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   acpi_pm *d = opaque;
   pthread_mutex_lock(&d->lock);
   uint64_t img = d->pm1_cnt;
   pthread_mutex_unlock(&d->lock);
   return extract(img, ACPI_PM1_CNT_LEN, off, size);
}

static void
cnt_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   acpi_pm *d = opaque;
   uint32_t v;
   pthread_mutex_lock(&d->lock);
   uint32_t m = covered(off, size, val, 0, 2, &v);
   uint16_t merged = (uint16_t)((d->pm1_cnt & ~m) | (v & m));
   /* Always in ACPI mode: SCI_EN stays set. */
   d->pm1_cnt = (uint16_t)((merged & PM1_CNT_STORED) | ACPI_PM1_SCI_EN);
   bool sleep = (m & ACPI_PM1_SLP_EN) && (v & ACPI_PM1_SLP_EN);
   unsigned typ = (merged & ACPI_PM1_SLP_TYP_MASK) >> ACPI_PM1_SLP_TYP_SHIFT;
   pthread_mutex_unlock(&d->lock);
   if (!sleep) {
      return;
   }
   if (typ == ACPI_SLP_TYP_S5) {
      vmxlog("ACPI: guest entered S5 (soft off)");
      vmx_platform_request(d->p, VMX_REQ_POWEROFF, "guest ACPI power off (S5)");
   } else if (__atomic_fetch_add(&d->bad_sleep_logged, 1, __ATOMIC_RELAXED) < 8) {
      vmxlog("ACPI: guest asked for sleep type %u, which this machine does not offer; ignored",
             typ);
   }
}

static uint64_t
tmr_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   acpi_pm *d = opaque;
   pthread_mutex_lock(&d->lock);
   uint64_t img = (uint32_t)counter(d);
   pthread_mutex_unlock(&d->lock);
   return extract(img, ACPI_PM_TMR_LEN, off, size);
}

static uint64_t
gpe_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   acpi_pm *d = opaque;
   pthread_mutex_lock(&d->lock);
   uint64_t img = (uint64_t)d->gpe0_sts | ((uint64_t)d->gpe0_en << 32);
   pthread_mutex_unlock(&d->lock);
   return extract(img, ACPI_GPE0_BLK_LEN, off, size);
}

static void
gpe_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   acpi_pm *d = opaque;
   uint32_t v;
   pthread_mutex_lock(&d->lock);
   uint32_t m = covered(off, size, val, 0, 4, &v);
   d->gpe0_sts &= ~(v & m);
   m = covered(off, size, val, 4, 4, &v);
   d->gpe0_en = (d->gpe0_en & ~m) | (v & m);
   update_sci(d, false);
   pthread_mutex_unlock(&d->lock);
}

/* ---- public functions */

bool
vmx_acpi_pm_power_button(void *dev)
{
   acpi_pm *d = dev;
   pthread_mutex_lock(&d->lock);
   d->pm1_sts |= ACPI_PM1_PWRBTN_STS;
   bool listening = (d->pm1_en & ACPI_PM1_PWRBTN_EN) != 0;
   update_sci(d, false);
   pthread_mutex_unlock(&d->lock);
   vmxlog("ACPI: power button pressed%s", listening ? "" : " (the guest has not enabled it)");
   return listening;
}

void
vmx_acpi_pm_set_gpe(void *dev, unsigned bit)
{
   acpi_pm *d = dev;
   if (bit >= 32) {
      return;
   }
   pthread_mutex_lock(&d->lock);
   d->gpe0_sts |= 1u << bit;
   update_sci(d, false);
   pthread_mutex_unlock(&d->lock);
}

void
vmx_acpi_pm_poll(void *dev)
{
   acpi_pm *d = dev;
   pthread_mutex_lock(&d->lock);
   update_tmr_sts(d);
   update_sci(d, false);
   pthread_mutex_unlock(&d->lock);
}

uint64_t
vmx_acpi_pm_next_event_ns(void *dev)
{
   acpi_pm *d = dev;
   uint64_t ns = UINT64_MAX;
   pthread_mutex_lock(&d->lock);
   update_tmr_sts(d);
   if ((d->pm1_en & ACPI_PM1_TMR_EN) && !(d->pm1_sts & ACPI_PM1_TMR_STS)) {
      uint64_t period = 1ull << TMR_MSB_SHIFT;
      uint64_t left = period - (counter(d) & (period - 1));
      /* Round up so that the poll finds the bit already flipped. */
      ns = (uint64_t)(((unsigned __int128)left * 1000000000u + ACPI_PM_TIMER_HZ - 1) /
                      ACPI_PM_TIMER_HZ);
   }
   pthread_mutex_unlock(&d->lock);
   return ns;
}

void
vmx_acpi_pm_set_clock(void *dev, vmx_acpi_clock_fn fn, void *opaque)
{
   acpi_pm *d = dev;
   pthread_mutex_lock(&d->lock);
   uint64_t value = counter(d);
   d->clock = fn ? fn : host_clock_ns;
   d->clock_opaque = fn ? opaque : NULL;
   rebase(d, value);
   pthread_mutex_unlock(&d->lock);
}

uint32_t
vmx_acpi_pm_timer(void *dev)
{
   acpi_pm *d = dev;
   pthread_mutex_lock(&d->lock);
   uint32_t v = (uint32_t)counter(d);
   pthread_mutex_unlock(&d->lock);
   return v;
}

/* ---- device descriptor */

static const struct {
   uint16_t base, len;
   const char *name;
   vmx_io_read_fn read;
   vmx_io_write_fn write;
} blocks[4] = {
   { ACPI_PM1A_EVT_BLK, ACPI_PM1_EVT_LEN, "acpi-pm1a-evt", evt_read, evt_write },
   { ACPI_PM1A_CNT_BLK, ACPI_PM1_CNT_LEN, "acpi-pm1a-cnt", cnt_read, cnt_write },
   { ACPI_PM_TMR_BLK, ACPI_PM_TMR_LEN, "acpi-pm-tmr", tmr_read, NULL },
   { ACPI_GPE0_BLK, ACPI_GPE0_BLK_LEN, "acpi-gpe0", gpe_read, gpe_write },
};

static void
pm_destroy(void *dev)
{
   acpi_pm *d = dev;
   for (unsigned i = 0; i < G_N_ELEMENTS(blocks); i++) {
      if (d->mapped[i]) {
         vmx_platform_unmap_pio(d->p, blocks[i].base, blocks[i].len);
      }
   }
   pthread_mutex_destroy(&d->lock);
   g_free(d);
}

static void
pm_reset(void *dev)
{
   acpi_pm *d = dev;
   pthread_mutex_lock(&d->lock);
   d->pm1_sts = 0;
   d->pm1_en = 0;
   d->pm1_cnt = ACPI_PM1_SCI_EN;
   d->gpe0_sts = 0;
   d->gpe0_en = 0;
   /* The timer keeps running through a reset; forget an old overflow. */
   d->tmr_msb_seen = counter(d) >> TMR_MSB_SHIFT;
   update_sci(d, false);
   pthread_mutex_unlock(&d->lock);
}

static void *
pm_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   acpi_pm *d = g_new0(acpi_pm, 1);
   d->p = p;
   pthread_mutex_init(&d->lock, NULL);
   d->clock = host_clock_ns;
   rebase(d, 0);
   d->pm1_cnt = ACPI_PM1_SCI_EN;
   for (unsigned i = 0; i < G_N_ELEMENTS(blocks); i++) {
      vmx_io_region r = { blocks[i].name, blocks[i].read, blocks[i].write, d };
      if (!vmx_platform_map_pio(p, blocks[i].base, blocks[i].len, &r, err)) {
         pm_destroy(d);
         return NULL;
      }
      d->mapped[i] = true;
   }
   return d;
}

static void
pm_save(void *dev, ckpt_writer *w)
{
   acpi_pm *d = dev;
   pthread_mutex_lock(&d->lock);
   uint64_t now = counter(d);
   uint16_t sts = d->pm1_sts;
   if ((now >> TMR_MSB_SHIFT) != d->tmr_msb_seen) {
      sts |= ACPI_PM1_TMR_STS;   /* what a read would show; state is not changed */
   }
   ckpt_put_u16(w, "pm1_sts", sts);
   ckpt_put_u16(w, "pm1_en", d->pm1_en);
   ckpt_put_u16(w, "pm1_cnt", d->pm1_cnt);
   ckpt_put_u32(w, "pm_tmr", (uint32_t)now);
   ckpt_put_u32(w, "gpe0_sts", d->gpe0_sts);
   ckpt_put_u32(w, "gpe0_en", d->gpe0_en);
   pthread_mutex_unlock(&d->lock);
}

static bool
pm_restore(void *dev, ckpt_reader *r, char **err)
{
   acpi_pm *d = dev;
   uint16_t sts = 0, en = 0, cnt = ACPI_PM1_SCI_EN;
   uint32_t tmr = 0, gsts = 0, gen = 0;
   ckpt_get_u16(r, "pm1_sts", &sts);
   ckpt_get_u16(r, "pm1_en", &en);
   ckpt_get_u16(r, "pm1_cnt", &cnt);
   ckpt_get_u32(r, "pm_tmr", &tmr);
   ckpt_get_u32(r, "gpe0_sts", &gsts);
   ckpt_get_u32(r, "gpe0_en", &gen);
   if (ckpt_reader_error(r)) {
      *err = g_strdup(ckpt_reader_error(r));
      return false;
   }
   if ((sts & ~PM1_STS_DEFINED) || (en & ~PM1_EN_DEFINED) || (cnt & ~PM1_CNT_STORED)) {
      *err = g_strdup_printf("acpi-pm: PM1 registers sts 0x%04x en 0x%04x cnt 0x%04x have "
                             "bits this hardware does not have", sts, en, cnt);
      return false;
   }
   pthread_mutex_lock(&d->lock);
   d->pm1_sts = sts;
   d->pm1_en = en;
   d->pm1_cnt = (uint16_t)(cnt | ACPI_PM1_SCI_EN);
   d->gpe0_sts = gsts;
   d->gpe0_en = gen;
   rebase(d, tmr);
   d->tmr_msb_seen = (uint64_t)tmr >> TMR_MSB_SHIFT;
   /* The irqchip restores its own state; make the line agree. */
   update_sci(d, true);
   pthread_mutex_unlock(&d->lock);
   return true;
}

const vmx_device_desc vmx_dev_acpi_pm = {
   .name = "acpi-pm",
   .version = 1,
   .create = pm_create,
   .reset = pm_reset,
   .destroy = pm_destroy,
   .save = pm_save,
   .restore = pm_restore,
};
