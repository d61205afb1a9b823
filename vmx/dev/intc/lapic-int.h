/*
 * vmx/dev/intc/lapic-int.h - private to lapic.c and lapic-state.c: the LAPIC
 * and bus structures, register offsets and small helpers.
 */
#ifndef VMX_DEV_INTC_LAPIC_INT_H
#define VMX_DEV_INTC_LAPIC_INT_H

#include "vmx/dev/intc/lapic.h"

#include <pthread.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the register page is little-endian");

#define R_ID     0x020
#define R_VER    0x030
#define R_TPR    0x080
#define R_APR    0x090
#define R_PPR    0x0a0
#define R_EOI    0x0b0
#define R_RRD    0x0c0
#define R_LDR    0x0d0
#define R_DFR    0x0e0
#define R_SVR    0x0f0
#define R_ISR    0x100
#define R_TMR    0x180
#define R_IRR    0x200
#define R_ESR    0x280
#define R_ICR    0x300
#define R_ICR2   0x310
#define R_LVTT   0x320
#define R_LVTTHM 0x330
#define R_LVTPC  0x340
#define R_LVT0   0x350
#define R_LVT1   0x360
#define R_LVTERR 0x370
#define R_TMICT  0x380
#define R_TMCCT  0x390
#define R_TDCR   0x3e0
#define R_SELF   0x3f0   /* x2APIC only */

#define LAPIC_VERSION 0x00050014u
#define LVT_MASKED (1u << 16)
#define SVR_ENABLE 0x100u
#define SVR_MASK 0x3ffu
#define ICR_MASK 0x000ccfffu
#define ICR_X2_RSVD 0x00000000fff32000ull
#define ESR_SEND_ILLEGAL 0x20u
#define ESR_RECV_ILLEGAL 0x40u

#define TM_ONESHOT 0u
#define TM_PERIODIC 1u
#define TM_TSCDL 2u

/* lapic.events (atomic): flags and the SIPI vector in bits 15:8 */
#define EVB_NMI 1u
#define EVB_INIT 2u
#define EVB_SIPI 4u
#define EVB_EXTINT 8u
#define EVB_ALL 0xff0fu

extern const unsigned lapic_lvt_regs[6];

struct lapic {
   lapic_bus *bus;
   unsigned index;
   pthread_mutex_t lock;
   union {
      uint8_t b[VMM_LAPIC_SIZE];
      uint32_t w[VMM_LAPIC_SIZE / 4];
   } r;
   uint64_t base;          /* IA32_APIC_BASE */
   uint32_t esr_pending;   /* errors since the last ESR write */
   uint8_t lint;           /* atomic: bit n = level of LINTn */
   intc_timer timer;
   bool t_running;
   uint64_t t_start;       /* when the current count equalled TMICT */
   uint64_t t_deadline;    /* armed expiry */
   uint32_t t_owed;        /* periodic expiries the host timer was late for */
   uint64_t tsc_deadline;  /* IA32_TSC_DEADLINE */
   /* lock-free views */
   uint32_t events;        /* EVB_* */
   int pending;            /* the deliverable vector, or -1 */
   int extint_open;
   int ppr;
} __attribute__((aligned(64)));

struct lapic_bus {
   unsigned n;
   lapic *cpu;
   intc_clock *clock;
   lapic_wakeup_fn wake_fn;
   void *wake_opaque;
   lapic_eoi_fn eoi_fn;
   void *eoi_opaque;
   uint32_t tsc_khz;
   vmx_platform *p;
   bool mapped;
   unsigned warned;        /* atomic */
};

/* ---- registers (lock held) */

static inline uint32_t
reg(const lapic *l, unsigned off)
{
   return l->r.w[off >> 2];
}

static inline void
set_reg(lapic *l, unsigned off, uint32_t v)
{
   l->r.w[off >> 2] = v;
}

static inline bool
vec_test(const lapic *l, unsigned base, unsigned v)
{
   return (reg(l, base + (v >> 5) * 0x10) >> (v & 31)) & 1;
}

static inline void
vec_set(lapic *l, unsigned base, unsigned v)
{
   l->r.w[(base + (v >> 5) * 0x10) >> 2] |= 1u << (v & 31);
}

static inline void
vec_clear(lapic *l, unsigned base, unsigned v)
{
   l->r.w[(base + (v >> 5) * 0x10) >> 2] &= ~(1u << (v & 31));
}

static inline bool
hw_enabled(const lapic *l)
{
   return (l->base & LAPIC_BASE_EN) != 0;
}

static inline bool
x2apic_mode(const lapic *l)
{
   return (l->base & (LAPIC_BASE_EN | LAPIC_BASE_EXTD)) == (LAPIC_BASE_EN | LAPIC_BASE_EXTD);
}

static inline bool
sw_enabled(const lapic *l)
{
   return (reg(l, R_SVR) & SVR_ENABLE) != 0;
}

static inline unsigned
timer_mode(const lapic *l)
{
   return (reg(l, R_LVTT) >> 17) & 3u;
}

static inline uint32_t
x2_ldr(unsigned id)
{
   return ((id >> 4) << 16) | (1u << (id & 0xf));
}

static inline uint32_t
lvt_mask(unsigned off)
{
   switch (off) {
   case R_LVTT:
      return 0x700ffu;
   case R_LVT0:
   case R_LVT1:
      return 0x1a7ffu;
   case R_LVTERR:
      return 0x100ffu;
   default: /* thermal, performance */
      return 0x107ffu;
   }
}

static inline uint64_t
now_ns(const lapic *l)
{
   return intc_clock_now(l->bus->clock);
}

static inline uint64_t
base_reset(unsigned index)
{
   return LAPIC_DEFAULT_BASE | LAPIC_BASE_EN | (index == 0 ? LAPIC_BASE_BSP : 0);
}

/* Lock held. Power-on (or disable) / INIT state of the registers. */
/* Lock held unless noted. */
void lapic_refresh(lapic *l);
void lapic_update_hints(lapic *l);
unsigned lapic_intr_ev(const lapic *l);
/* No lock held. */
void lapic_wake(lapic *l, unsigned ev);
uint64_t lapic_tick_ns(const lapic *l);
uint32_t lapic_current_count(const lapic *l, uint64_t now);
void lapic_timer_arm(lapic *l, uint64_t deadline);
void lapic_timer_stop(lapic *l);
void lapic_timer_start(lapic *l, uint64_t now, uint32_t count);
/* The intc_timer callback; no lock held. */
void lapic_timer_fire(void *opaque, uint64_t deadline);
void lapic_page_reset(uint32_t *w, unsigned index, uint32_t id);
void lapic_regs_reset(lapic *l, bool keep_id);
const char *lapic_base_problem(uint64_t old, uint64_t val);

#endif
