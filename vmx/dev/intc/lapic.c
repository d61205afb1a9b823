/*
 * vmx/dev/intc/lapic.c - local APICs and the APIC bus: registers, priority,
 * delivery, IPIs, the timer. (Pages, checkpoints, the bus object and the
 * device descriptor are in lapic-state.c.)
 *
 * Modelled from the Intel SDM, volume 3, chapter "Advanced Programmable
 * Interrupt Controller": registers, priorities (TPR/PPR/APR), IRR/ISR/TMR,
 * EOI with broadcast for level-triggered vectors, ESR, ICR and the
 * destination modes (physical, flat and cluster logical, x2APIC cluster),
 * lowest-priority arbitration by PPR (ties: lowest APIC ID), LVTs, the
 * timer (one-shot, periodic, TSC-deadline) and x2APIC MSR access.
 *
 * Choices where the SDM leaves room, made as KVM makes them so state moves
 * between monitors: version 0x14 with 6 LVT entries (no CMCI), no directed
 * EOI; the BSP's LINT0 comes out of reset unmasked in ExtINT mode (virtual
 * wire, what firmware sets up); fixed interrupts to a software-disabled
 * APIC are dropped; INIT level de-assert is ignored; an IPI's trigger mode
 * is ignored except for INIT.
 */
#include "vmx/dev/intc/lapic-int.h"
#include "vmx/dev/intc/intc.h"
#include "vmx/vmxlog.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

const unsigned lapic_lvt_regs[6] = { R_LVTT, R_LVTTHM, R_LVTPC, R_LVT0, R_LVT1, R_LVTERR };

/* What a register write asks for once the lock is dropped. */
typedef struct post {
   unsigned ev;
   bool eoi;
   uint8_t eoi_vec;
   bool send;
   lapic_msg msg;
} post;

static void
warn(lapic_bus *b, const char *what, unsigned idx, uint64_t v)
{
   if (__atomic_fetch_add(&b->warned, 1, __ATOMIC_RELAXED) < 16) {
      vmxlog("LAPIC %u: %s (0x%llx)", idx, what, (unsigned long long)v);
   }
}

/* ---- registers */

static int
vec_highest(const lapic *l, unsigned base)
{
   for (int i = 7; i >= 0; i--) {
      uint32_t x = reg(l, base + (unsigned)i * 0x10);
      if (x) {
         return i * 32 + 31 - __builtin_clz(x);
      }
   }
   return -1;
}

static int
deliverable(const lapic *l)
{
   if (!hw_enabled(l)) {
      return -1;
   }
   int v = vec_highest(l, R_IRR);
   if (v < 0 || ((unsigned)v & 0xf0) <= (reg(l, R_PPR) & 0xf0)) {
      return -1;
   }
   return v;
}

/* After any change of IRR, ISR, TPR or the enable: PPR and the lock-free
 * copies of PPR and of the deliverable vector. */
void
lapic_refresh(lapic *l)
{
   uint32_t tpr = reg(l, R_TPR) & 0xff;
   int isrv = vec_highest(l, R_ISR);
   uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
   uint32_t ppr = (tpr & 0xf0) >= isr_class ? tpr : isr_class;
   set_reg(l, R_PPR, ppr);
   __atomic_store_n(&l->ppr, (int)ppr, __ATOMIC_RELAXED);
   __atomic_store_n(&l->pending, deliverable(l), __ATOMIC_SEQ_CST);
}

static uint32_t
apr(const lapic *l)
{
   uint32_t tpr = reg(l, R_TPR) & 0xff;
   int isrv = vec_highest(l, R_ISR), irrv = vec_highest(l, R_IRR);
   uint32_t isc = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
   uint32_t irc = irrv < 0 ? 0 : (uint32_t)irrv & 0xf0;
   if ((tpr & 0xf0) >= irc && (tpr & 0xf0) > isc) {
      return tpr;
   }
   uint32_t m = tpr & 0xf0;
   m = isc > m ? isc : m;
   return irc > m ? irc : m;
}

void
lapic_update_hints(lapic *l)
{
   uint32_t lvt0 = reg(l, R_LVT0);
   bool open = !hw_enabled(l) ||
               (!(lvt0 & LVT_MASKED) && ((lvt0 >> 8) & 7) == LAPIC_DM_EXTINT);
   __atomic_store_n(&l->extint_open, open, __ATOMIC_SEQ_CST);
}

/* Whether the CPU may have an interrupt to take: a deliverable vector, or
 * the PIC's INTR passed through LINT0. */
unsigned
lapic_intr_ev(const lapic *l)
{
   bool extint = __atomic_load_n(&l->extint_open, __ATOMIC_SEQ_CST) &&
                 (__atomic_load_n(&l->lint, __ATOMIC_SEQ_CST) & 1);
   return extint || deliverable(l) >= 0 ? LAPIC_EV_INTR : 0;
}

void
lapic_wake(lapic *l, unsigned ev)
{
   lapic_bus *b = l->bus;
   if (ev && b->wake_fn) {
      b->wake_fn(b->wake_opaque, l->index, ev);
   }
}

/* Lock held. Record errors; raise the error LVT. */
static void
esr_error(lapic *l, uint32_t bits)
{
   l->esr_pending |= bits;
   uint32_t lvt = reg(l, R_LVTERR);
   if (!(lvt & LVT_MASKED) && (lvt & 0xff) >= 16) {
      vec_set(l, R_IRR, lvt & 0xff);
      vec_clear(l, R_TMR, lvt & 0xff);
      lapic_refresh(l);
   }
}

/* Lock held. A fixed interrupt into IRR. */
static bool
accept_fixed(lapic *l, unsigned vec, bool level)
{
   if (vec < 16) {
      esr_error(l, ESR_RECV_ILLEGAL);
      return false;
   }
   vec_set(l, R_IRR, vec);
   if (level) {
      vec_set(l, R_TMR, vec);
   } else {
      vec_clear(l, R_TMR, vec);
   }
   lapic_refresh(l);
   return true;
}

static void
set_events(lapic *l, uint32_t clear, uint32_t set)
{
   uint32_t old = __atomic_load_n(&l->events, __ATOMIC_RELAXED);
   while (!__atomic_compare_exchange_n(&l->events, &old, (old & ~clear) | set, false,
                                       __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
   }
}

/* ---- timer (lock held unless noted) */

uint64_t
lapic_tick_ns(const lapic *l)
{
   uint32_t d = reg(l, R_TDCR);
   unsigned v = ((d & 8) >> 1) | (d & 3);
   uint64_t div = v == 7 ? 1 : 2ull << v;
   return div * (1000000000ull / LAPIC_BUS_HZ);
}

static uint64_t
period_ns(const lapic *l)
{
   uint64_t p = (uint64_t)reg(l, R_TMICT) * lapic_tick_ns(l);
   if (timer_mode(l) == TM_PERIODIC && p < INTC_MIN_PERIOD_NS) {
      p = INTC_MIN_PERIOD_NS;
   }
   return p;
}

uint32_t
lapic_current_count(const lapic *l, uint64_t now)
{
   uint32_t ict = reg(l, R_TMICT);
   unsigned m = timer_mode(l);
   if (m == TM_TSCDL || !l->t_running || ict == 0) {
      return 0;
   }
   uint64_t e = now - l->t_start;
   if (m == TM_PERIODIC) {
      e %= period_ns(l);
   }
   uint64_t ticks = e / lapic_tick_ns(l);
   return ticks >= ict ? 0 : (uint32_t)(ict - ticks);
}

/* At most this much of periodic expiries is owed (see lapic_timer_fire). */
#define LAPIC_OWED_MAX_NS 1000000000ull

void
lapic_timer_arm(lapic *l, uint64_t deadline)
{
   l->t_running = true;
   l->t_deadline = deadline;
   intc_timer_arm(&l->timer, deadline);
}

void
lapic_timer_stop(lapic *l)
{
   l->t_running = false;
   l->t_owed = 0;
   intc_timer_cancel(&l->timer);
}

/* Count from count (one-shot/periodic) as of now. */
void
lapic_timer_start(lapic *l, uint64_t now, uint32_t count)
{
   uint32_t ict = reg(l, R_TMICT);
   if (ict == 0 || count == 0 || timer_mode(l) == TM_TSCDL) {
      lapic_timer_stop(l);
      return;
   }
   if (count > ict) {
      count = ict;
   }
   l->t_start = now - (uint64_t)(ict - count) * lapic_tick_ns(l);
   l->t_owed = 0;
   lapic_timer_arm(l, l->t_start + period_ns(l));
}

void
lapic_timer_fire(void *opaque, uint64_t deadline)
{
   lapic *l = opaque;
   unsigned ev = 0;
   pthread_mutex_lock(&l->lock);
   if (l->t_running && l->t_deadline == deadline) {
      uint64_t now = now_ns(l);
      uint32_t lvt = reg(l, R_LVTT);
      unsigned m = timer_mode(l);
      if (m == TM_PERIODIC && reg(l, R_TMICT)) {
         /* Periods that ended while the host did not run this timer (a
          * loaded host wakes it late) are owed to the guest, which counts
          * them to keep time, as it would have seen them on time; up to
          * LAPIC_OWED_MAX_NS of them, handed out four per period while
          * the vector is not pending. A period the guest itself left
          * unacknowledged (IRR still set when it ended) coalesces into
          * one interrupt, as on hardware. */
         uint64_t p = period_ns(l);
         uint64_t due = (now - l->t_start) / p;   /* 0: a catch-up expiry */
         bool masked = lvt & LVT_MASKED;
         if (masked) {
            l->t_owed = 0;
         } else {
            uint64_t owed = l->t_owed + (due > 1 ? due - 1 : 0);
            uint64_t max = LAPIC_OWED_MAX_NS / p;
            bool pending = vec_test(l, R_IRR, lvt & 0xff);
            if (due >= 1 && pending && l->t_owed) {
               owed++;   /* it is an owed one the guest has not taken yet */
            }
            if (due >= 1 || (owed && !pending)) {
               if (due == 0) {
                  owed--;
               }
               accept_fixed(l, lvt & 0xff, false);
            }
            l->t_owed = (uint32_t)(owed < max ? owed : max);
         }
         l->t_start += due * p;
         uint64_t next = l->t_start + p;
         if (l->t_owed && now + p / 4 < next) {
            next = now + p / 4;
         }
         lapic_timer_arm(l, next);
      } else {
         if (!(lvt & LVT_MASKED)) {
            accept_fixed(l, lvt & 0xff, false);
         }
         l->t_running = false;
         if (m == TM_TSCDL) {
            l->tsc_deadline = 0;
         }
      }
      ev = lapic_intr_ev(l);
   }
   pthread_mutex_unlock(&l->lock);
   lapic_wake(l, ev);
}

/* ---- reset */

void
lapic_page_reset(uint32_t *w, unsigned index, uint32_t id)
{
   memset(w, 0, VMM_LAPIC_SIZE);
   w[R_ID >> 2] = id;
   w[R_VER >> 2] = LAPIC_VERSION;
   w[R_DFR >> 2] = 0xffffffffu;
   w[R_SVR >> 2] = 0xff;
   for (unsigned i = 0; i < G_N_ELEMENTS(lapic_lvt_regs); i++) {
      w[lapic_lvt_regs[i] >> 2] = LVT_MASKED;
   }
   if (index == 0) {
      w[R_LVT0 >> 2] = LAPIC_DM_EXTINT << 8;   /* virtual wire */
   }
}

void
lapic_regs_reset(lapic *l, bool keep_id)
{
   lapic_timer_stop(l);
   uint32_t id = keep_id ? reg(l, R_ID) : l->index << 24;
   lapic_page_reset(l->r.w, l->index, id);
   if (x2apic_mode(l)) {
      set_reg(l, R_LDR, x2_ldr(l->index));
   }
   l->esr_pending = 0;
   l->tsc_deadline = 0;
   lapic_refresh(l);
   lapic_update_hints(l);
}

/* ---- the bus: delivery */

static bool
match_dest(const lapic *t, const lapic_msg *m)
{
   if (!m->logical) {
      uint32_t bcast = m->x2apic ? 0xffffffffu : 0xffu;
      if (m->dest == bcast) {
         return true;
      }
      uint32_t id = x2apic_mode(t) ? t->index : reg(t, R_ID) >> 24;
      return m->dest == id;
   }
   if (x2apic_mode(t)) {
      if (!m->x2apic) {
         return m->dest == 0xff;
      }
      if (m->dest == 0xffffffffu) {
         return true;
      }
      uint32_t ldr = reg(t, R_LDR);
      return (m->dest >> 16) == (ldr >> 16) && (m->dest & ldr & 0xffff) != 0;
   }
   uint32_t mda = m->dest & 0xff;
   if (mda == 0xff) {
      return true;
   }
   uint32_t ldr = reg(t, R_LDR) >> 24;
   if ((reg(t, R_DFR) >> 28) == 0xf) {
      return (mda & ldr) != 0;
   }
   return ((mda >> 4) == 0xf || (mda >> 4) == (ldr >> 4)) && (mda & ldr & 0xf) != 0;
}

static bool
accept(lapic *l, const lapic_msg *m)
{
   unsigned ev = 0;
   bool ok = false;
   switch (m->mode) {
   case LAPIC_DM_FIXED:
   case LAPIC_DM_LOWEST:
      pthread_mutex_lock(&l->lock);
      if (hw_enabled(l) && sw_enabled(l)) {
         ok = accept_fixed(l, m->vector, m->level_trig);
      }
      ev = lapic_intr_ev(l);
      pthread_mutex_unlock(&l->lock);
      break;
   case LAPIC_DM_NMI:
      set_events(l, 0, EVB_NMI);
      ev = LAPIC_EV_NMI;
      ok = true;
      break;
   case LAPIC_DM_INIT:
      if (m->level_trig && !m->assert) {
         break;   /* INIT level de-assert: nothing on modern processors */
      }
      set_events(l, EVB_SIPI | 0xff00u, EVB_INIT);
      ev = LAPIC_EV_INIT;
      ok = true;
      break;
   case LAPIC_DM_SIPI:
      set_events(l, 0xff00u, EVB_SIPI | ((uint32_t)m->vector << 8));
      ev = LAPIC_EV_SIPI;
      ok = true;
      break;
   case LAPIC_DM_EXTINT:
      set_events(l, 0, EVB_EXTINT);
      ev = LAPIC_EV_INTR;
      ok = true;
      break;
   default:
      warn(l->bus, "SMI or reserved delivery mode ignored", l->index, m->mode);
      break;
   }
   lapic_wake(l, ev);
   return ok;
}

unsigned
lapic_bus_deliver(lapic_bus *b, const lapic_msg *m)
{
   uint64_t set = 0;
   for (unsigned i = 0; i < b->n; i++) {
      lapic *t = &b->cpu[i];
      bool hit;
      pthread_mutex_lock(&t->lock);
      switch (m->shorthand) {
      case LAPIC_SH_SELF:
         hit = (int)i == m->src;
         break;
      case LAPIC_SH_ALL:
         hit = true;
         break;
      case LAPIC_SH_OTHERS:
         hit = (int)i != m->src;
         break;
      default:
         hit = match_dest(t, m);
         break;
      }
      hit = hit && hw_enabled(t);
      pthread_mutex_unlock(&t->lock);
      if (hit) {
         set |= 1ull << i;
      }
   }
   if (m->mode == LAPIC_DM_LOWEST && __builtin_popcountll(set) > 1) {
      int best = -1, best_ppr = 256;
      for (unsigned i = 0; i < b->n; i++) {
         int ppr = __atomic_load_n(&b->cpu[i].ppr, __ATOMIC_RELAXED);
         if ((set >> i & 1) && ppr < best_ppr) {
            best = (int)i;
            best_ppr = ppr;
         }
      }
      set = 1ull << best;
   }
   unsigned n = 0;
   for (unsigned i = 0; i < b->n; i++) {
      if ((set >> i & 1) && accept(&b->cpu[i], m)) {
         n++;
      }
   }
   return n;
}

unsigned
lapic_bus_msi(lapic_bus *b, uint64_t addr, uint32_t data)
{
   if ((addr >> 20) != 0xfee) {
      warn(b, "MSI to an address outside 0xfee00000-0xfeefffff dropped", 0, addr);
      return 0;
   }
   lapic_msg m = {
      .dest = (uint32_t)(addr >> 12) & 0xff,
      .vector = data & 0xff,
      .mode = (data >> 8) & 7,
      .logical = (addr & 4) != 0,
      .assert = true,
      .src = -1,
   };
   return lapic_bus_deliver(b, &m);
}

static void
lint_one(lapic *l, unsigned pin, bool level)
{
   unsigned ev = 0;
   uint8_t bit = (uint8_t)(1u << pin);
   pthread_mutex_lock(&l->lock);
   uint8_t old = __atomic_load_n(&l->lint, __ATOMIC_RELAXED);
   bool rising = level && !(old & bit);
   __atomic_store_n(&l->lint, (uint8_t)(level ? old | bit : old & ~bit), __ATOMIC_SEQ_CST);
   if (!hw_enabled(l)) {
      /* No APIC: LINT0 is the CPU's INTR pin, LINT1 its NMI pin. */
      if (pin == 0 && level) {
         ev = LAPIC_EV_INTR;
      } else if (pin == 1 && rising) {
         set_events(l, 0, EVB_NMI);
         ev = LAPIC_EV_NMI;
      }
   } else {
      uint32_t lvt = reg(l, pin ? R_LVT1 : R_LVT0);
      if (!(lvt & LVT_MASKED)) {
         switch ((lvt >> 8) & 7) {
         case LAPIC_DM_EXTINT:
            ev = level ? LAPIC_EV_INTR : 0;
            break;
         case LAPIC_DM_FIXED:
            if (rising) {
               accept_fixed(l, lvt & 0xff, false);
               ev = lapic_intr_ev(l);
            }
            break;
         case LAPIC_DM_NMI:
            if (rising) {
               set_events(l, 0, EVB_NMI);
               ev = LAPIC_EV_NMI;
            }
            break;
         default:
            break;
         }
      }
   }
   pthread_mutex_unlock(&l->lock);
   lapic_wake(l, ev);
}

void
lapic_bus_set_lint(lapic_bus *b, unsigned pin, bool level)
{
   if (pin > 1) {
      return;
   }
   for (unsigned i = 0; i < b->n; i++) {
      lint_one(&b->cpu[i], pin, level);
   }
}

/* ---- register access */

/* Lock held. The message an ICR write sends, or false. */
static bool
icr_msg(lapic *l, uint32_t lo, uint32_t hi, bool x2, lapic_msg *m)
{
   *m = (lapic_msg) {
      .dest = x2 ? hi : hi >> 24,
      .vector = lo & 0xff,
      .mode = (lo >> 8) & 7,
      .shorthand = (lo >> 18) & 3,
      .logical = (lo & 0x800) != 0,
      .assert = (lo & 0x4000) != 0,
      .x2apic = x2,
      .src = (int)l->index,
   };
   switch (m->mode) {
   case LAPIC_DM_FIXED:
   case LAPIC_DM_LOWEST:
      if (m->vector < 16) {
         esr_error(l, ESR_SEND_ILLEGAL);
         return false;
      }
      return true;
   case LAPIC_DM_INIT:
      m->level_trig = (lo & 0x8000) != 0;
      return !(m->level_trig && !m->assert);
   case LAPIC_DM_NMI:
   case LAPIC_DM_SIPI:
   case LAPIC_DM_SMI:
      return true;
   default:
      warn(l->bus, "ICR with a reserved delivery mode", l->index, lo);
      return false;
   }
}

/* Lock held. */
static uint32_t
read_reg(lapic *l, unsigned off)
{
   switch (off) {
   case R_APR:
      return apr(l);
   case R_TMCCT:
      return lapic_current_count(l, now_ns(l));
   default:
      return reg(l, off);
   }
}

/* Lock held. Writes common to xAPIC and x2APIC. */
static void
write_reg(lapic *l, unsigned off, uint32_t val, post *p)
{
   uint64_t now;
   switch (off) {
   case R_TPR:
      set_reg(l, R_TPR, val & 0xff);
      lapic_refresh(l);
      break;
   case R_EOI: {
      int v = vec_highest(l, R_ISR);
      if (v >= 0) {
         vec_clear(l, R_ISR, (unsigned)v);
         lapic_refresh(l);
         if (vec_test(l, R_TMR, (unsigned)v)) {
            p->eoi = true;
            p->eoi_vec = (uint8_t)v;
         }
      }
      break;
   }
   case R_SVR:
      set_reg(l, R_SVR, val & SVR_MASK);
      if (!(val & SVR_ENABLE)) {
         for (unsigned i = 0; i < G_N_ELEMENTS(lapic_lvt_regs); i++) {
            set_reg(l, lapic_lvt_regs[i], reg(l, lapic_lvt_regs[i]) | LVT_MASKED);
         }
      }
      lapic_update_hints(l);
      break;
   case R_ESR:
      set_reg(l, R_ESR, l->esr_pending);
      l->esr_pending = 0;
      break;
   case R_LVTT: {
      uint32_t v = val & lvt_mask(off);
      unsigned om = timer_mode(l), nm = (v >> 17) & 3;
      if (nm == 3) {   /* reserved: keep the mode */
         nm = om;
         v = (v & ~(3u << 17)) | (om << 17);
      }
      if (!sw_enabled(l)) {
         v |= LVT_MASKED;
      }
      now = now_ns(l);
      uint32_t count = lapic_current_count(l, now);
      set_reg(l, R_LVTT, v);
      if (om != nm) {
         if (om == TM_TSCDL || nm == TM_TSCDL) {
            lapic_timer_stop(l);
            set_reg(l, R_TMICT, 0);
            l->tsc_deadline = 0;
         } else if (l->t_running) {
            lapic_timer_start(l, now, count);
         }
      }
      break;
   }
   case R_LVTTHM:
   case R_LVTPC:
   case R_LVT0:
   case R_LVT1:
   case R_LVTERR:
      set_reg(l, off, (val & lvt_mask(off)) | (sw_enabled(l) ? 0 : LVT_MASKED));
      lapic_update_hints(l);
      break;
   case R_TMICT:
      if (timer_mode(l) != TM_TSCDL) {
         set_reg(l, R_TMICT, val);
         lapic_timer_start(l, now_ns(l), val);
      }
      break;
   case R_TDCR: {
      now = now_ns(l);
      uint32_t count = lapic_current_count(l, now);
      bool rebase = l->t_running && timer_mode(l) != TM_TSCDL && count != 0;
      set_reg(l, R_TDCR, val & 0xb);
      if (rebase) {
         lapic_timer_start(l, now, count);
      }
      break;
   }
   default:
      break;   /* read-only or reserved */
   }
}

uint64_t
lapic_mmio_read(lapic *l, uint64_t off, unsigned size)
{
   uint64_t ones = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
   uint64_t v = 0;
   pthread_mutex_lock(&l->lock);
   if (!hw_enabled(l) || x2apic_mode(l)) {
      v = ones;
   } else if (off < 0x400 && (off & 0xf) + size <= 4) {
      v = (read_reg(l, (unsigned)off & 0x3f0) >> ((off & 3) * 8)) & ones;
   }
   pthread_mutex_unlock(&l->lock);
   return v;
}

static void
run_post(lapic *l, post *p)
{
   lapic_bus *b = l->bus;
   if (p->eoi && b->eoi_fn) {
      b->eoi_fn(b->eoi_opaque, p->eoi_vec);
   }
   if (p->send) {
      lapic_bus_deliver(b, &p->msg);
   }
   lapic_wake(l, p->ev);
}

void
lapic_mmio_write(lapic *l, uint64_t off, unsigned size, uint64_t val)
{
   if (size != 4 || (off & 0xf) || off >= 0x400) {
      warn(l->bus, "xAPIC write that is not 32-bit at a register ignored", l->index, off);
      return;
   }
   uint32_t v = (uint32_t)val;
   post p = { 0 };
   pthread_mutex_lock(&l->lock);
   if (hw_enabled(l) && !x2apic_mode(l)) {
      switch (off) {
      case R_ID:
         set_reg(l, R_ID, v & 0xff000000u);
         break;
      case R_LDR:
         set_reg(l, R_LDR, v & 0xff000000u);
         break;
      case R_DFR:
         set_reg(l, R_DFR, v | 0x0fffffffu);
         break;
      case R_ICR:
         set_reg(l, R_ICR, v & ICR_MASK);
         p.send = icr_msg(l, v, reg(l, R_ICR2), false, &p.msg);
         break;
      case R_ICR2:
         set_reg(l, R_ICR2, v & 0xff000000u);
         break;
      default:
         write_reg(l, (unsigned)off, v, &p);
         break;
      }
      p.ev |= lapic_intr_ev(l);
   }
   pthread_mutex_unlock(&l->lock);
   run_post(l, &p);
}

static bool
is_vector_reg(unsigned off)
{
   return off >= R_ISR && off < R_ESR;
}

bool
lapic_msr_read(lapic *l, uint32_t msr, uint64_t *val)
{
   if (msr < 0x800 || msr > 0x8ff) {
      return false;
   }
   unsigned off = (msr - 0x800) << 4;
   bool ok = true;
   uint64_t v = 0;
   pthread_mutex_lock(&l->lock);
   if (!x2apic_mode(l)) {
      ok = false;
   } else if (off == R_ID) {
      v = l->index;
   } else if (off == R_ICR) {
      v = reg(l, R_ICR) | (uint64_t)reg(l, R_ICR2) << 32;
   } else if (off == R_VER || off == R_TPR || off == R_PPR || off == R_LDR || off == R_SVR ||
              off == R_ESR || (off >= R_LVTT && off <= R_TMCCT) || off == R_TDCR ||
              is_vector_reg(off)) {
      v = read_reg(l, off);
   } else {
      ok = false;
   }
   pthread_mutex_unlock(&l->lock);
   *val = v;
   return ok;
}

bool
lapic_msr_write(lapic *l, uint32_t msr, uint64_t val)
{
   if (msr < 0x800 || msr > 0x8ff) {
      return false;
   }
   unsigned off = (msr - 0x800) << 4;
   bool ok;
   post p = { 0 };
   pthread_mutex_lock(&l->lock);
   switch (off) {
   case R_TPR:
   case R_SELF:
      ok = !(val & ~0xffull);
      break;
   case R_EOI:
   case R_ESR:
      ok = val == 0;
      break;
   case R_SVR:
      ok = !(val & ~(uint64_t)SVR_MASK);
      break;
   case R_LVTT:
   case R_LVTTHM:
   case R_LVTPC:
   case R_LVT0:
   case R_LVT1:
   case R_LVTERR:
      ok = !(val & ~(uint64_t)(lvt_mask(off) | 0x5000u));
      break;
   case R_TMICT:
      ok = !(val >> 32);
      break;
   case R_TDCR:
      ok = !(val & ~0xbull);
      break;
   case R_ICR:
      ok = !(val & ICR_X2_RSVD);
      break;
   default:
      ok = false;
      break;
   }
   ok = ok && x2apic_mode(l);
   if (ok) {
      if (off == R_ICR) {
         set_reg(l, R_ICR, (uint32_t)val & ICR_MASK);
         set_reg(l, R_ICR2, (uint32_t)(val >> 32));
         p.send = icr_msg(l, (uint32_t)val, (uint32_t)(val >> 32), true, &p.msg);
      } else if (off == R_SELF) {
         p.send = icr_msg(l, (uint32_t)val | (LAPIC_SH_SELF << 18), 0, true, &p.msg);
      } else {
         write_reg(l, off, (uint32_t)val, &p);
      }
      p.ev |= lapic_intr_ev(l);
   }
   pthread_mutex_unlock(&l->lock);
   run_post(l, &p);
   return ok;
}

uint64_t
lapic_get_base(lapic *l)
{
   pthread_mutex_lock(&l->lock);
   uint64_t v = l->base;
   pthread_mutex_unlock(&l->lock);
   return v;
}

const char *
lapic_base_problem(uint64_t old, uint64_t val)
{
   const uint64_t allowed = 0x000ffffffffff000ull | LAPIC_BASE_EN | LAPIC_BASE_EXTD |
                            LAPIC_BASE_BSP;
   bool en = val & LAPIC_BASE_EN, x2 = val & LAPIC_BASE_EXTD;
   bool oen = old & LAPIC_BASE_EN, ox2 = oen && (old & LAPIC_BASE_EXTD);
   if (val & ~allowed) {
      return "reserved bits set";
   }
   if (x2 && !en) {
      return "x2APIC without enable";
   }
   if (ox2 && en && !x2) {
      return "x2APIC to xAPIC without disabling first";
   }
   if (!oen && x2) {
      return "disabled to x2APIC without xAPIC first";
   }
   return NULL;
}

/* Lock held; val already checked. */
static void
apply_base(lapic *l, uint64_t val)
{
   bool oen = hw_enabled(l), ox2 = x2apic_mode(l);
   l->base = val;
   if (!hw_enabled(l) && oen) {
      lapic_regs_reset(l, false);
   }
   if (x2apic_mode(l) && !ox2) {
      set_reg(l, R_ID, l->index << 24);
      set_reg(l, R_LDR, x2_ldr(l->index));
   }
   lapic_refresh(l);
   lapic_update_hints(l);
}

bool
lapic_set_base(lapic *l, uint64_t val)
{
   pthread_mutex_lock(&l->lock);
   const char *bad = lapic_base_problem(l->base, val);
   unsigned ev = 0;
   if (!bad) {
      apply_base(l, val);
      ev = lapic_intr_ev(l);
      if ((val & 0x000ffffffffff000ull) != LAPIC_DEFAULT_BASE) {
         warn(l->bus, "APIC base moved; the xAPIC page stays at 0xfee00000", l->index, val);
      }
   }
   pthread_mutex_unlock(&l->lock);
   lapic_wake(l, ev);
   return bad == NULL;
}

uint64_t
lapic_get_cr8(lapic *l)
{
   pthread_mutex_lock(&l->lock);
   uint64_t v = (reg(l, R_TPR) >> 4) & 0xf;
   pthread_mutex_unlock(&l->lock);
   return v;
}

void
lapic_set_cr8(lapic *l, uint64_t val)
{
   pthread_mutex_lock(&l->lock);
   set_reg(l, R_TPR, (uint32_t)(val & 0xf) << 4);
   lapic_refresh(l);
   unsigned ev = lapic_intr_ev(l);
   pthread_mutex_unlock(&l->lock);
   lapic_wake(l, ev);
}

uint64_t
lapic_tsc_deadline_read(lapic *l)
{
   pthread_mutex_lock(&l->lock);
   uint64_t v = timer_mode(l) == TM_TSCDL ? l->tsc_deadline : 0;
   pthread_mutex_unlock(&l->lock);
   return v;
}

void
lapic_tsc_deadline_write(lapic *l, uint64_t deadline, uint64_t tsc_now)
{
   pthread_mutex_lock(&l->lock);
   if (timer_mode(l) == TM_TSCDL) {
      l->tsc_deadline = deadline;
      if (deadline == 0) {
         lapic_timer_stop(l);
      } else {
         uint64_t khz = __atomic_load_n(&l->bus->tsc_khz, __ATOMIC_RELAXED);
         uint64_t delta = 0;
         if (deadline > tsc_now) {
            unsigned __int128 d = (unsigned __int128)(deadline - tsc_now) * 1000000u / khz;
            delta = d > (unsigned __int128)(UINT64_MAX / 2) ? UINT64_MAX / 2 : (uint64_t)d;
         }
         lapic_timer_arm(l, now_ns(l) + delta);
      }
   }
   pthread_mutex_unlock(&l->lock);
}

/* ---- vCPU side */

unsigned
lapic_index(const lapic *l)
{
   return l->index;
}

int
lapic_has_interrupt(lapic *l)
{
   return __atomic_load_n(&l->pending, __ATOMIC_SEQ_CST);
}

int
lapic_ack(lapic *l)
{
   if (__atomic_load_n(&l->pending, __ATOMIC_SEQ_CST) < 0) {
      return -1;
   }
   pthread_mutex_lock(&l->lock);
   int v = deliverable(l);
   if (v >= 0) {
      vec_clear(l, R_IRR, (unsigned)v);
      vec_set(l, R_ISR, (unsigned)v);
      lapic_refresh(l);
   }
   pthread_mutex_unlock(&l->lock);
   return v;
}

unsigned
lapic_pending_events(lapic *l)
{
   uint32_t e = __atomic_load_n(&l->events, __ATOMIC_SEQ_CST);
   unsigned r = 0;
   if (e & EVB_NMI) {
      r |= LAPIC_EV_NMI;
   }
   if (e & EVB_INIT) {
      r |= LAPIC_EV_INIT;
   }
   if (e & EVB_SIPI) {
      r |= LAPIC_EV_SIPI;
   }
   if ((e & EVB_EXTINT) || __atomic_load_n(&l->pending, __ATOMIC_SEQ_CST) >= 0 ||
       (__atomic_load_n(&l->extint_open, __ATOMIC_SEQ_CST) &&
        (__atomic_load_n(&l->lint, __ATOMIC_SEQ_CST) & 1))) {
      r |= LAPIC_EV_INTR;
   }
   return r;
}

bool
lapic_take_nmi(lapic *l)
{
   return (__atomic_fetch_and(&l->events, ~EVB_NMI, __ATOMIC_SEQ_CST) & EVB_NMI) != 0;
}

bool
lapic_take_init(lapic *l)
{
   if (!(__atomic_fetch_and(&l->events, ~EVB_INIT, __ATOMIC_SEQ_CST) & EVB_INIT)) {
      return false;
   }
   set_events(l, EVB_NMI | EVB_EXTINT, 0);
   pthread_mutex_lock(&l->lock);
   lapic_regs_reset(l, true);
   pthread_mutex_unlock(&l->lock);
   return true;
}

bool
lapic_take_sipi(lapic *l, uint8_t *vector)
{
   uint32_t old = __atomic_load_n(&l->events, __ATOMIC_RELAXED);
   do {
      if (!(old & EVB_SIPI)) {
         return false;
      }
   } while (!__atomic_compare_exchange_n(&l->events, &old, old & ~(EVB_SIPI | 0xff00u), false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
   *vector = (uint8_t)(old >> 8);
   return true;
}

void
lapic_nmi(lapic *l)
{
   set_events(l, 0, EVB_NMI);
   lapic_wake(l, LAPIC_EV_NMI);
}

bool
lapic_extint_open(lapic *l)
{
   return __atomic_load_n(&l->extint_open, __ATOMIC_SEQ_CST) ||
          (__atomic_load_n(&l->events, __ATOMIC_SEQ_CST) & EVB_EXTINT);
}

void
lapic_extint_taken(lapic *l)
{
   set_events(l, EVB_EXTINT, 0);
}

