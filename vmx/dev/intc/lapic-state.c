/*
 * vmx/dev/intc/lapic-state.c - the LAPIC bus object, register pages in the
 * KVM_GET_LAPIC format, checkpoints and the device descriptor.
 */
#include "vmx/dev/intc/lapic-int.h"
#include "vmx/dev/intc/intc.h"

#include <stdio.h>
#include <string.h>

/* ---- state as a page */

static const char *
page_problem(const uint32_t *w)
{
   uint32_t dfr = w[R_DFR >> 2] >> 28;
   if (dfr != 0xf && dfr != 0) {
      return "DFR model";
   }
   if (((w[R_LVTT >> 2] >> 17) & 3) == 3) {
      return "timer mode";
   }
   if (w[R_TDCR >> 2] & ~0xbu) {
      return "divide configuration";
   }
   return NULL;
}

/* Lock held; page checked. The timer restarts from the page's current
 * count (run: also when that is 0, i.e. an expiry not yet delivered). */
static void
apply_page(lapic *l, const uint32_t *w, bool run, uint64_t now)
{
   lapic_timer_stop(l);
   bool x2 = x2apic_mode(l);
   uint32_t id = x2 ? l->index << 24 : w[R_ID >> 2] & 0xff000000u;
   lapic_page_reset(l->r.w, l->index, id);
   set_reg(l, R_TPR, w[R_TPR >> 2] & 0xff);
   set_reg(l, R_LDR, x2 ? x2_ldr(l->index) : w[R_LDR >> 2] & 0xff000000u);
   set_reg(l, R_DFR, w[R_DFR >> 2] | 0x0fffffffu);
   set_reg(l, R_SVR, w[R_SVR >> 2] & SVR_MASK);
   for (unsigned off = R_ISR; off < R_ESR; off += 0x10) {
      set_reg(l, off, w[off >> 2]);
   }
   set_reg(l, R_ESR, w[R_ESR >> 2] & 0xffu);
   set_reg(l, R_ICR, w[R_ICR >> 2] & ICR_MASK);
   set_reg(l, R_ICR2, x2 ? w[R_ICR2 >> 2] : w[R_ICR2 >> 2] & 0xff000000u);
   for (unsigned i = 0; i < G_N_ELEMENTS(lapic_lvt_regs); i++) {
      unsigned off = lapic_lvt_regs[i];
      set_reg(l, off, w[off >> 2] & lvt_mask(off));
   }
   set_reg(l, R_TMICT, w[R_TMICT >> 2]);
   set_reg(l, R_TDCR, w[R_TDCR >> 2] & 0xb);
   lapic_refresh(l);
   lapic_update_hints(l);
   uint32_t ict = reg(l, R_TMICT), ccr = w[R_TMCCT >> 2];
   if (timer_mode(l) != TM_TSCDL && ict) {
      if (ccr) {
         lapic_timer_start(l, now, ccr);
      } else if (run) {
         l->t_start = now - (uint64_t)ict * lapic_tick_ns(l);
         lapic_timer_arm(l, now);
      }
   }
}

void
lapic_get_page(lapic *l, vmm_lapic *page)
{
   pthread_mutex_lock(&l->lock);
   memcpy(page->regs, l->r.b, VMM_LAPIC_SIZE);
   uint32_t ccr = lapic_current_count(l, now_ns(l));
   memcpy(page->regs + R_TMCCT, &ccr, 4);
   pthread_mutex_unlock(&l->lock);
}

bool
lapic_set_page(lapic *l, const vmm_lapic *page, char **err)
{
   uint32_t w[VMM_LAPIC_SIZE / 4];
   memcpy(w, page->regs, sizeof w);
   const char *bad = page_problem(w);
   if (bad) {
      *err = g_strdup_printf("LAPIC %u: the register page has an invalid %s", l->index, bad);
      return false;
   }
   pthread_mutex_lock(&l->lock);
   bool tscdl = l->t_running && timer_mode(l) == TM_TSCDL;
   uint64_t dl = l->t_deadline;
   apply_page(l, w, false, now_ns(l));
   if (tscdl && timer_mode(l) == TM_TSCDL && l->tsc_deadline) {
      lapic_timer_arm(l, dl);
   } else if (timer_mode(l) != TM_TSCDL) {
      l->tsc_deadline = 0;
   }
   unsigned ev = lapic_intr_ev(l);
   pthread_mutex_unlock(&l->lock);
   lapic_wake(l, ev);
   return true;
}

/* ---- the bus object */

static uint64_t
mmio_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   lapic_bus *b = opaque;
   unsigned i = cpu ? vmm_vcpu_index(cpu) : 0;
   if (i >= b->n) {
      return ~0ull;
   }
   return lapic_mmio_read(&b->cpu[i], off, size);
}

static void
mmio_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   lapic_bus *b = opaque;
   unsigned i = cpu ? vmm_vcpu_index(cpu) : 0;
   if (i < b->n) {
      lapic_mmio_write(&b->cpu[i], off, size, val);
   }
}

lapic_bus *
lapic_bus_new(vmx_platform *p, unsigned n, intc_clock *clock, char **err)
{
   if (n < 1 || n > VMM_MAX_VCPUS) {
      *err = g_strdup_printf("%u local APICs: must be 1 to %u", n, VMM_MAX_VCPUS);
      return NULL;
   }
   lapic_bus *b = g_new0(lapic_bus, 1);
   b->n = n;
   b->p = p;
   b->tsc_khz = 1000000;
   b->clock = intc_clock_ref(clock);
   b->cpu = g_aligned_alloc0(n, sizeof(lapic), 64);
   for (unsigned i = 0; i < n; i++) {
      lapic *l = &b->cpu[i];
      l->bus = b;
      l->index = i;
      pthread_mutex_init(&l->lock, NULL);
      intc_timer_init(&l->timer, clock, lapic_timer_fire, l);
      l->base = base_reset(i);
      lapic_regs_reset(l, false);
   }
   if (p) {
      vmx_io_region r = { "lapic", mmio_read, mmio_write, b };
      if (!vmx_platform_map_mmio(p, LAPIC_DEFAULT_BASE, LAPIC_MMIO_SIZE, &r, err)) {
         b->p = NULL;
         lapic_bus_free(b);
         return NULL;
      }
      b->mapped = true;
   }
   return b;
}

void
lapic_bus_free(lapic_bus *b)
{
   if (!b) {
      return;
   }
   if (b->mapped) {
      vmx_platform_unmap_mmio(b->p, LAPIC_DEFAULT_BASE);
   }
   for (unsigned i = 0; i < b->n; i++) {
      intc_timer_destroy(&b->cpu[i].timer);
      pthread_mutex_destroy(&b->cpu[i].lock);
   }
   g_aligned_free(b->cpu);
   intc_clock_unref(b->clock);
   g_free(b);
}

void
lapic_bus_reset(lapic_bus *b)
{
   for (unsigned i = 0; i < b->n; i++) {
      lapic *l = &b->cpu[i];
      __atomic_store_n(&l->events, 0, __ATOMIC_SEQ_CST);
      pthread_mutex_lock(&l->lock);
      l->base = base_reset(i);
      lapic_regs_reset(l, false);
      pthread_mutex_unlock(&l->lock);
   }
}

unsigned
lapic_bus_count(const lapic_bus *b)
{
   return b->n;
}

lapic *
lapic_bus_get(lapic_bus *b, unsigned index)
{
   return index < b->n ? &b->cpu[index] : NULL;
}

void
lapic_bus_set_wakeup(lapic_bus *b, lapic_wakeup_fn fn, void *opaque)
{
   b->wake_fn = fn;
   b->wake_opaque = opaque;
}

void
lapic_bus_set_eoi_fn(lapic_bus *b, lapic_eoi_fn fn, void *opaque)
{
   b->eoi_fn = fn;
   b->eoi_opaque = opaque;
}

void
lapic_bus_set_tsc_khz(lapic_bus *b, uint32_t khz)
{
   __atomic_store_n(&b->tsc_khz, khz ? khz : 1000000, __ATOMIC_RELAXED);
}

/* ---- checkpoint */

typedef struct cpu_state {
   uint32_t w[VMM_LAPIC_SIZE / 4];
   uint64_t base, tsc_deadline, tscdl_left;
   uint32_t esr, events;
   uint8_t lint, run;
} cpu_state;

#define TAG(name) (snprintf(t, sizeof t, "cpu%u.%s", i, name), t)

void
lapic_bus_save(lapic_bus *b, ckpt_writer *w)
{
   ckpt_put_u32(w, "count", b->n);
   for (unsigned i = 0; i < b->n; i++) {
      lapic *l = &b->cpu[i];
      char t[40];
      vmm_lapic page;
      lapic_get_page(l, &page);
      pthread_mutex_lock(&l->lock);
      uint64_t now = now_ns(l);
      bool tscdl = l->t_running && timer_mode(l) == TM_TSCDL;
      uint64_t left = tscdl && l->t_deadline > now ? l->t_deadline - now : 0;
      ckpt_put_bytes(w, TAG("regs"), page.regs, VMM_LAPIC_SIZE);
      ckpt_put_u64(w, TAG("base"), l->base);
      ckpt_put_u32(w, TAG("esr"), l->esr_pending);
      ckpt_put_u32(w, TAG("events"), __atomic_load_n(&l->events, __ATOMIC_SEQ_CST));
      ckpt_put_u8(w, TAG("lint"), __atomic_load_n(&l->lint, __ATOMIC_SEQ_CST));
      ckpt_put_u8(w, TAG("timer"), l->t_running);
      ckpt_put_u64(w, TAG("tsc_deadline"), l->tsc_deadline);
      ckpt_put_u64(w, TAG("tscdl_left"), left);
      pthread_mutex_unlock(&l->lock);
   }
}

bool
lapic_bus_restore(lapic_bus *b, ckpt_reader *r, char **err)
{
   uint32_t count = b->n;
   ckpt_get_u32(r, "count", &count);
   if (count != b->n) {
      *err = g_strdup_printf("checkpoint section lapic has %u local APICs; this VM has %u",
                             count, b->n);
      return false;
   }
   cpu_state *st = g_new0(cpu_state, b->n);
   const char *bad = NULL;
   unsigned i;
   for (i = 0; i < b->n; i++) {
      cpu_state *s = &st[i];
      char t[40];
      lapic_page_reset(s->w, i, i << 24);
      s->base = base_reset(i);
      ckpt_get_bytes(r, TAG("regs"), s->w, VMM_LAPIC_SIZE);
      ckpt_get_u64(r, TAG("base"), &s->base);
      ckpt_get_u32(r, TAG("esr"), &s->esr);
      ckpt_get_u32(r, TAG("events"), &s->events);
      ckpt_get_u8(r, TAG("lint"), &s->lint);
      ckpt_get_u8(r, TAG("timer"), &s->run);
      ckpt_get_u64(r, TAG("tsc_deadline"), &s->tsc_deadline);
      ckpt_get_u64(r, TAG("tscdl_left"), &s->tscdl_left);
      if (ckpt_reader_error(r)) {
         break;
      }
      const char *pp = page_problem(s->w);
      if (pp) {
         bad = pp;
      } else if (lapic_base_problem(s->base, s->base)) {
         bad = "APIC base";
      } else if ((s->events & ~EVB_ALL) || (!(s->events & EVB_SIPI) && (s->events & 0xff00))) {
         bad = "pending events";
      } else if (s->esr & ~0xffu) {
         bad = "ESR";
      } else if (s->lint & ~3u) {
         bad = "LINT levels";
      } else if (s->run > 1) {
         bad = "timer state";
      }
      if (bad) {
         break;
      }
   }
   if (bad || ckpt_reader_error(r)) {
      if (bad) {
         *err = g_strdup_printf("checkpoint section lapic: cpu%u has an invalid %s", i, bad);
      }
      g_free(st);
      return false;
   }
   for (i = 0; i < b->n; i++) {
      lapic *l = &b->cpu[i];
      cpu_state *s = &st[i];
      __atomic_store_n(&l->events, s->events, __ATOMIC_SEQ_CST);
      pthread_mutex_lock(&l->lock);
      uint64_t now = now_ns(l);
      l->base = s->base;
      __atomic_store_n(&l->lint, s->lint, __ATOMIC_SEQ_CST);
      apply_page(l, s->w, s->run != 0, now);
      l->esr_pending = s->esr;
      l->tsc_deadline = timer_mode(l) == TM_TSCDL ? s->tsc_deadline : 0;
      if (l->tsc_deadline && s->run) {
         lapic_timer_arm(l, now + s->tscdl_left);
      }
      unsigned ev = lapic_intr_ev(l);
      pthread_mutex_unlock(&l->lock);
      lapic_wake(l, ev | lapic_pending_events(l));
   }
   g_free(st);
   return true;
}

#undef TAG

/* ---- device descriptor */

static void *
dev_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   int64_t n = 1;
   if (cfg && !vmxcfg_get_int(cfg, "numvcpus", 1, &n, err)) {
      return NULL;
   }
   if (n < 1 || n > VMM_MAX_VCPUS) {
      *err = g_strdup_printf("numvcpus = \"%lld\": must be 1 to %u", (long long)n,
                             VMM_MAX_VCPUS);
      return NULL;
   }
   intc_clock *c = intc_clock_host();
   if (!c) {
      *err = g_strdup("cannot start the interrupt controllers' timer thread");
      return NULL;
   }
   lapic_bus *b = lapic_bus_new(p, (unsigned)n, c, err);
   intc_clock_unref(c);
   return b;
}

static void
dev_reset(void *d)
{
   lapic_bus_reset(d);
}

static void
dev_destroy(void *d)
{
   lapic_bus_free(d);
}

static void
dev_save(void *d, ckpt_writer *w)
{
   lapic_bus_save(d, w);
}

static bool
dev_restore(void *d, ckpt_reader *r, char **err)
{
   return lapic_bus_restore(d, r, err);
}

const vmx_device_desc vmx_dev_lapic = {
   .name = "lapic",
   .version = 1,
   .create = dev_create,
   .reset = dev_reset,
   .destroy = dev_destroy,
   .save = dev_save,
   .restore = dev_restore,
};
