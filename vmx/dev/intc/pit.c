/*
 * vmx/dev/intc/pit.c - 8254 PIT.
 *
 * Modelled from the 8254 data sheet. Each counter has a control word
 * (read/write mode, mode 0-5, BCD), a count register written as LSB, MSB or
 * LSB then MSB, a counting element (CE) and an output latch; the counter
 * latch command and the read-back command latch the count and/or the
 * status (OUT, NULL COUNT, the control bits), which then read first.
 *
 * The CE is not stepped: a loaded counter remembers the PIT tick at which
 * CE held its count N (load_tick) and derives CE and OUT from the number of
 * ticks d since then:
 *   mode 0  CE = N-d (wrapping), OUT low until d = N, then high
 *   mode 1  as mode 0 from a gate trigger (OUT high until triggered)
 *   mode 2  CE = N - d mod N, OUT low while CE = 1 (one tick per period)
 *   mode 3  CE steps by 2, OUT high for ceil(N/2) and low for floor(N/2)
 *           ticks (odd N counts N-1, N-3, ... as the data sheet says)
 *   mode 4  CE = N-d (wrapping), OUT low for the one tick at d = N
 *   mode 5  as mode 4 from a gate trigger
 * Loading, as the data sheet has it (the load happens "on the next CLK";
 * here at the tick of the write): modes 0 and 4 load at once (a new count
 * restarts them; in mode 0 the first byte of a two-byte count stops the
 * counter and sets OUT low); modes 1 and 5 load at the next gate trigger;
 * modes 2 and 3 load at once when idle, else at the end of the current
 * period (for mode 3 the data sheet says half-period: a simplification).
 * Gate: low pauses modes 0/4, stops modes 2/3 (OUT high) until a rising
 * edge reloads them; a rising edge triggers modes 1/5 (and reloads 2/3).
 * Gates 0 and 1 are tied high, gate 2 is port 0x61 bit 0.
 */
#include "vmx/dev/intc/pit.h"
#include "vmx/dev/intc/intc.h"
#include "vmx/dev/intc/lapic.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct pit_counter {
   uint8_t mode, bcd, rw;        /* rw: 1 LSB, 2 MSB, 3 LSB then MSB */
   uint8_t wstate, rstate, lsb;  /* two-byte write/read flip-flops */
   uint32_t cr;                  /* count register: N, 1..65536 */
   uint32_t n;                   /* the count CE runs with */
   uint16_t latch;
   uint8_t latch_left;           /* latched count bytes still to read */
   uint8_t status;
   bool status_latched;
   bool null_count;
   bool have_count;              /* a count was written since the control word */
   bool gate;
   bool armed;                   /* CE loaded and counting */
   bool paused;                  /* modes 0/4 with the gate low */
   bool has_next;                /* modes 2/3: cr takes over at next_at */
   uint64_t load_tick, frozen, next_at;
   uint16_t hold;                /* CE while not counting */
} pit_counter;

struct intc_pit {
   pthread_mutex_t lock;
   pit_counter c[3];
   uint8_t port61;               /* bits 3:0 as written */
   intc_clock *clock;
   intc_timer timer;
   bool irq_armed;
   uint64_t irq_deadline;
   bool irq_catchup;             /* the armed expiry pays an owed pulse */
   uint32_t owed;                /* periodic edges the host timer was late for */
   uint64_t last_pulse;          /* tick */
   vmx_platform *p;
   bool mapped;
};

static uint64_t
tick_of(uint64_t ns)
{
   return (uint64_t)((unsigned __int128)ns * PIT_HZ / 1000000000u);
}

static uint64_t
ns_of(uint64_t tick)
{
   return (uint64_t)(((unsigned __int128)tick * 1000000000u + PIT_HZ - 1) / PIT_HZ);
}

static uint64_t
now_tick(intc_pit *pit)
{
   return tick_of(intc_clock_now(pit->clock));
}

static uint32_t
bcd_decode(uint16_t raw)
{
   return (raw >> 12 & 0xf) * 1000u + (raw >> 8 & 0xf) * 100u + (raw >> 4 & 0xf) * 10u +
          (raw & 0xf);
}

static uint16_t
bcd_encode(uint32_t v)
{
   v %= 10000;
   return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

static uint64_t
elapsed(const pit_counter *c, uint64_t now)
{
   return c->paused ? c->frozen : now - c->load_tick;
}

/* Apply a pending mode 2/3 reload whose time has come. */
static void
advance(pit_counter *c, uint64_t now)
{
   if (c->armed && c->has_next && now >= c->next_at) {
      c->load_tick = c->next_at;
      c->n = c->cr;
      c->has_next = false;
      c->null_count = false;
   }
}

/* CE as a binary number. */
static uint32_t
ce_value(const pit_counter *c, uint64_t now)
{
   if (!c->armed) {
      return c->hold;
   }
   uint64_t d = elapsed(c, now);
   uint32_t n = c->n, m = c->bcd ? 10000 : 65536;
   uint32_t p;
   switch (c->mode) {
   case 2:
      return n - (uint32_t)(d % n);
   case 3:
      p = (uint32_t)(d % n);
      if (!(n & 1)) {
         return n - 2 * (p % (n / 2));
      }
      return p < (n + 1) / 2 ? n - 1 - 2 * p : n - 1 - 2 * (p - (n + 1) / 2);
   default:
      return (n + m - (uint32_t)(d % m)) % m;
   }
}

/* CE as the guest reads it. */
static uint16_t
ce_read(const pit_counter *c, uint64_t now)
{
   uint32_t v = ce_value(c, now);
   return c->bcd ? bcd_encode(v) : (uint16_t)v;
}

static bool
out_of(const pit_counter *c, uint64_t now)
{
   if (!c->armed) {
      return c->mode != 0;
   }
   uint64_t d = elapsed(c, now);
   uint32_t n = c->n;
   switch (c->mode) {
   case 0:
   case 1:
      return d >= n;
   case 2:
      return d % n != n - 1;
   case 3:
      return d % n < (n + 1) / 2;
   default:
      return d != n;
   }
}

/* The tick of OUT's next rising edge after now, or 0. */
static uint64_t
next_edge(const pit_counter *c, uint64_t now)
{
   if (!c->armed || c->paused) {
      return 0;
   }
   uint64_t d = now - c->load_tick;
   switch (c->mode) {
   case 0:
   case 1:
      return c->n > d ? c->load_tick + c->n : 0;
   case 2:
   case 3:
      if (c->has_next) {
         return c->next_at;
      }
      return c->load_tick + (d / c->n + 1) * c->n;
   default:
      return (uint64_t)c->n + 1 > d ? c->load_tick + c->n + 1 : 0;
   }
}

/* Lock held. Arm the IRQ0 timer for counter 0's next rising edge. */
static void
schedule(intc_pit *pit, uint64_t now)
{
   pit_counter *c = &pit->c[0];
   uint64_t e = next_edge(c, now);
   if (!e) {
      pit->irq_armed = false;
      intc_timer_cancel(&pit->timer);
      return;
   }
   uint64_t min = tick_of(INTC_MIN_PERIOD_NS);
   if ((c->mode == 2 || c->mode == 3) && !c->has_next && e < pit->last_pulse + min) {
      uint64_t want = pit->last_pulse + min - c->load_tick;
      e = c->load_tick + (want + c->n - 1) / c->n * c->n;
   }
   /* Owed pulses go out four a period (at least INTC_MIN_PERIOD_NS apart)
    * until paid. */
   pit->irq_catchup = false;
   if (pit->owed) {
      uint64_t gap = c->n / 4 > min ? c->n / 4 : min;
      if (now + gap + min <= e) {   /* not so close to the edge that it would move it */
         e = now + gap;
         pit->irq_catchup = true;
      }
   }
   pit->irq_armed = true;
   pit->irq_deadline = ns_of(e);
   intc_timer_arm(&pit->timer, pit->irq_deadline);
}

static void
pit_fire(void *opaque, uint64_t deadline)
{
   intc_pit *pit = opaque;
   pthread_mutex_lock(&pit->lock);
   if (pit->irq_armed && pit->irq_deadline == deadline) {
      uint64_t now = now_tick(pit);
      pit_counter *c = &pit->c[0];
      if (pit->irq_catchup) {
         pit->owed--;
      } else {
         advance(c, now);
         /* Edges of a periodic count that went by while the host did not
          * run this timer (late on a loaded host) are owed to the guest,
          * which counts them to keep time; up to a second of them. An
          * edge the guest leaves unacknowledged still coalesces in the
          * interrupt controller, as on hardware. */
         if ((c->mode == 2 || c->mode == 3) && c->armed && !c->paused && !c->has_next &&
             c->n) {
            uint64_t edge = tick_of(deadline), min = tick_of(INTC_MIN_PERIOD_NS);
            uint64_t period = c->n > min ? c->n : min;   /* as schedule() spaces them */
            uint64_t missed = now > edge ? (now - edge) / period : 0;
            uint64_t max = PIT_HZ / period;
            uint64_t owed = pit->owed + missed;
            pit->owed = (uint32_t)(owed < max ? owed : max);
         } else {
            pit->owed = 0;
         }
      }
      if (pit->p) {
         vmx_platform_set_irq(pit->p, 0, true);
         vmx_platform_set_irq(pit->p, 0, false);
      }
      pit->last_pulse = now;
      schedule(pit, now);
   }
   pthread_mutex_unlock(&pit->lock);
}

/* ---- counter operations (lock held) */

static void
load(pit_counter *c, uint64_t now)
{
   c->n = c->cr;
   c->armed = true;
   c->load_tick = now;
   c->paused = false;
   c->has_next = false;
   c->null_count = false;
}

static void
stop(pit_counter *c, uint64_t now)
{
   c->hold = (uint16_t)ce_value(c, now);
   c->armed = false;
   c->paused = false;
   c->has_next = false;
}

static void
count_written(pit_counter *c, uint16_t raw, uint64_t now)
{
   /* Digits above 9 are undefined on the chip; keep the count in range. */
   uint32_t n = c->bcd ? bcd_decode(raw) % 10000 : raw;
   c->cr = n ? n : (c->bcd ? 10000 : 65536);
   c->null_count = true;
   c->have_count = true;
   switch (c->mode) {
   case 0:
   case 4:
      load(c, now);
      if (!c->gate) {
         c->paused = true;
         c->frozen = 0;
      }
      break;
   case 2:
   case 3:
      if (c->armed) {
         uint64_t d = now - c->load_tick;
         c->has_next = true;
         c->next_at = c->load_tick + (d / c->n + 1) * c->n;
      } else if (c->gate) {
         load(c, now);
      }
      break;
   default: /* 1, 5: wait for a gate trigger */
      break;
   }
}

static void
write_count(pit_counter *c, uint8_t val, uint64_t now)
{
   switch (c->rw) {
   case 1:
      count_written(c, val, now);
      break;
   case 2:
      count_written(c, (uint16_t)(val << 8), now);
      break;
   default:
      if (c->wstate == 0) {
         c->lsb = val;
         c->wstate = 1;
         if (c->mode == 0 && c->armed) {
            stop(c, now);
         }
      } else {
         c->wstate = 0;
         count_written(c, (uint16_t)(c->lsb | val << 8), now);
      }
      break;
   }
}

static uint8_t
byte_of(pit_counter *c, uint16_t v)
{
   switch (c->rw) {
   case 1:
      return (uint8_t)v;
   case 2:
      return (uint8_t)(v >> 8);
   default:
      c->rstate ^= 1;
      return c->rstate ? (uint8_t)v : (uint8_t)(v >> 8);
   }
}

static uint8_t
read_count(pit_counter *c, uint64_t now)
{
   if (c->status_latched) {
      c->status_latched = false;
      return c->status;
   }
   if (c->latch_left) {
      c->latch_left--;
      return byte_of(c, c->latch);
   }
   return byte_of(c, ce_read(c, now));
}

static void
latch_count(pit_counter *c, uint64_t now)
{
   if (!c->latch_left) {
      c->latch = ce_read(c, now);
      c->latch_left = c->rw == 3 ? 2 : 1;
   }
}

static void
latch_status(pit_counter *c, uint64_t now)
{
   if (!c->status_latched) {
      c->status = (uint8_t)((out_of(c, now) ? 0x80 : 0) | (c->null_count ? 0x40 : 0) |
                            c->rw << 4 | c->mode << 1 | c->bcd);
      c->status_latched = true;
   }
}

static void
write_control(intc_pit *pit, uint8_t val, uint64_t now)
{
   unsigned sc = val >> 6, rw = (val >> 4) & 3, mode = (val >> 1) & 7;
   if (sc == 3) {   /* read-back */
      for (unsigned i = 0; i < 3; i++) {
         if (val & (2u << i)) {
            advance(&pit->c[i], now);
            if (!(val & 0x20)) {
               latch_count(&pit->c[i], now);
            }
            if (!(val & 0x10)) {
               latch_status(&pit->c[i], now);
            }
         }
      }
      return;
   }
   pit_counter *c = &pit->c[sc];
   advance(c, now);
   if (rw == 0) {
      latch_count(c, now);
      return;
   }
   stop(c, now);
   c->mode = (uint8_t)(mode > 5 ? mode - 4 : mode);
   c->bcd = val & 1;
   c->rw = (uint8_t)rw;
   c->wstate = 0;
   c->rstate = 0;
   c->null_count = true;
   c->have_count = false;
}

static void
set_gate(pit_counter *c, bool g, uint64_t now)
{
   advance(c, now);
   if (g == c->gate) {
      return;
   }
   c->gate = g;
   switch (c->mode) {
   case 0:
   case 4:
      if (c->armed && !g) {
         c->frozen = now - c->load_tick;
         c->paused = true;
      } else if (c->armed && c->paused) {
         c->load_tick = now - c->frozen;
         c->paused = false;
      }
      break;
   case 2:
   case 3:
      if (!g) {
         if (c->armed) {
            stop(c, now);
         }
      } else if (c->have_count) {
         load(c, now);
      }
      break;
   default: /* 1, 5: trigger */
      if (g && c->have_count) {
         load(c, now);
      }
      break;
   }
}

/* ---- ports */

uint8_t
pit_port_read(intc_pit *pit, uint16_t port)
{
   uint8_t v = 0xff;
   pthread_mutex_lock(&pit->lock);
   uint64_t ns = intc_clock_now(pit->clock), now = tick_of(ns);
   if (port >= 0x40 && port <= 0x42) {
      pit_counter *c = &pit->c[port - 0x40];
      advance(c, now);
      v = read_count(c, now);
   } else if (port == 0x61) {
      advance(&pit->c[2], now);
      /* refresh request toggles every 15.085 us */
      v = (uint8_t)((pit->port61 & 0xf) | ((ns / 15085) & 1) << 4 |
                    (out_of(&pit->c[2], now) ? 0x20 : 0));
   }
   pthread_mutex_unlock(&pit->lock);
   return v;
}

void
pit_port_write(intc_pit *pit, uint16_t port, uint8_t val)
{
   pthread_mutex_lock(&pit->lock);
   uint64_t now = now_tick(pit);
   if (port == 0x40 || (port == 0x43 && (val >> 6) == 0 && (val >> 4 & 3) != 0)) {
      pit->owed = 0;   /* counter 0 reprogrammed (not a latch): a new count */
   }
   if (port >= 0x40 && port <= 0x42) {
      pit_counter *c = &pit->c[port - 0x40];
      advance(c, now);
      write_count(c, val, now);
   } else if (port == 0x43) {
      write_control(pit, val, now);
   } else if (port == 0x61) {
      pit->port61 = val & 0xf;
      set_gate(&pit->c[2], val & 1, now);
   }
   if (port != 0x61 && port != 0x42) {
      schedule(pit, now);
   }
   pthread_mutex_unlock(&pit->lock);
}

static uint64_t
io_read(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size, uint16_t base, unsigned len)
{
   uint64_t v = 0;
   for (unsigned i = 0; i < size; i++) {
      uint8_t b = off + i < len ? pit_port_read(o, (uint16_t)(base + off + i)) : 0xff;
      v |= (uint64_t)b << (8 * i);
   }
   return v;
}

static void
io_write(void *o, uint64_t off, unsigned size, uint64_t val, uint16_t base, unsigned len)
{
   for (unsigned i = 0; i < size && off + i < len; i++) {
      pit_port_write(o, (uint16_t)(base + off + i), (uint8_t)(val >> (8 * i)));
   }
}

static uint64_t
p40_read(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   return io_read(o, cpu, off, size, 0x40, 4);
}

static void
p40_write(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   io_write(o, off, size, val, 0x40, 4);
}

static uint64_t
p61_read(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   return io_read(o, cpu, off, size, 0x61, 1);
}

static void
p61_write(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   io_write(o, off, size, val, 0x61, 1);
}

/* ---- object */

static void
counters_reset(intc_pit *pit)
{
   for (unsigned i = 0; i < 3; i++) {
      pit_counter *c = &pit->c[i];
      memset(c, 0, sizeof *c);
      c->rw = 3;
      c->cr = c->n = 65536;
      c->null_count = true;
      c->gate = i != 2;
   }
   pit->port61 = 0;
   pit->irq_armed = false;
   intc_timer_cancel(&pit->timer);
}

intc_pit *
pit_new(vmx_platform *p, intc_clock *clock, char **err)
{
   intc_pit *pit = g_new0(intc_pit, 1);
   pthread_mutex_init(&pit->lock, NULL);
   pit->clock = intc_clock_ref(clock);
   intc_timer_init(&pit->timer, clock, pit_fire, pit);
   counters_reset(pit);
   pit->p = p;
   if (p) {
      vmx_io_region r = { "pit", p40_read, p40_write, pit };
      vmx_io_region s = { "pit-port61", p61_read, p61_write, pit };
      if (!vmx_platform_map_pio(p, 0x40, 4, &r, err)) {
         pit->p = NULL;
         pit_free(pit);
         return NULL;
      }
      if (!vmx_platform_map_pio(p, 0x61, 1, &s, err)) {
         vmx_platform_unmap_pio(p, 0x40, 4);
         pit->p = NULL;
         pit_free(pit);
         return NULL;
      }
      pit->mapped = true;
   }
   return pit;
}

void
pit_free(intc_pit *pit)
{
   if (!pit) {
      return;
   }
   if (pit->mapped) {
      vmx_platform_unmap_pio(pit->p, 0x40, 4);
      vmx_platform_unmap_pio(pit->p, 0x61, 1);
   }
   intc_timer_destroy(&pit->timer);
   intc_clock_unref(pit->clock);
   pthread_mutex_destroy(&pit->lock);
   g_free(pit);
}

void
pit_reset(intc_pit *pit)
{
   pthread_mutex_lock(&pit->lock);
   counters_reset(pit);
   pthread_mutex_unlock(&pit->lock);
}

/* ---- state and checkpoint */

void
pit_reset_state(pit_state *st)
{
   memset(st, 0, sizeof *st);
   for (unsigned i = 0; i < 3; i++) {
      pit_counter_state *c = &st->c[i];
      c->rw = 3;
      c->cr = c->n = 65536;
      c->flags = (uint8_t)(PIT_CF_NULL_COUNT | (i != 2 ? PIT_CF_GATE : 0));
   }
}

void
pit_get_state(intc_pit *pit, pit_state *st)
{
   pthread_mutex_lock(&pit->lock);
   uint64_t now = now_tick(pit);
   st->port61 = pit->port61;
   for (unsigned i = 0; i < 3; i++) {
      pit_counter copy = pit->c[i], *c = &copy;   /* reading changes nothing */
      advance(c, now);
      st->c[i] = (pit_counter_state){
         .mode = c->mode, .bcd = c->bcd, .rw = c->rw,
         .wstate = c->wstate, .rstate = c->rstate, .lsb = c->lsb,
         .cr = c->cr, .n = c->n, .latch = c->latch, .latch_left = c->latch_left,
         .status = c->status,
         .flags = (uint8_t)(c->status_latched * PIT_CF_STATUS_LATCHED |
                            c->null_count * PIT_CF_NULL_COUNT |
                            c->have_count * PIT_CF_HAVE_COUNT | c->gate * PIT_CF_GATE |
                            c->armed * PIT_CF_ARMED | c->paused * PIT_CF_PAUSED |
                            c->has_next * PIT_CF_HAS_NEXT),
         .elapsed = c->armed ? elapsed(c, now) : 0,
         .next_in = c->has_next ? c->next_at - now : 0,
         .hold = c->hold,
      };
   }
   pthread_mutex_unlock(&pit->lock);
}

bool
pit_set_state(intc_pit *pit, const pit_state *st, char **err)
{
   pit_counter n[3];
   const char *bad = NULL;
   unsigned i;
   for (i = 0; i < 3 && !bad; i++) {
      const pit_counter_state *s = &st->c[i];
      pit_counter *c = &n[i];
      memset(c, 0, sizeof *c);
      c->mode = s->mode;
      c->bcd = s->bcd;
      c->rw = s->rw;
      c->wstate = s->wstate;
      c->rstate = s->rstate;
      c->lsb = s->lsb;
      c->cr = s->cr;
      c->n = s->n;
      c->latch = s->latch;
      c->latch_left = s->latch_left;
      c->status = s->status;
      c->hold = s->hold;
      c->status_latched = s->flags & PIT_CF_STATUS_LATCHED;
      c->null_count = (s->flags & PIT_CF_NULL_COUNT) != 0;
      c->have_count = (s->flags & PIT_CF_HAVE_COUNT) != 0;
      c->gate = (s->flags & PIT_CF_GATE) != 0;
      c->armed = (s->flags & PIT_CF_ARMED) != 0;
      c->paused = (s->flags & PIT_CF_PAUSED) != 0;
      c->has_next = (s->flags & PIT_CF_HAS_NEXT) != 0;
      if (c->mode > 5) {
         bad = "mode";
      } else if (c->bcd > 1) {
         bad = "bcd";
      } else if (c->rw < 1 || c->rw > 3) {
         bad = "rw";
      } else if (c->wstate > 1 || c->rstate > 1) {
         bad = "flip-flop";
      } else if (c->latch_left > (c->rw == 3 ? 2 : 1)) {
         bad = "latch_left";
      } else if (c->cr < 1 || c->cr > 65536 || c->n < 1 || c->n > 65536) {
         bad = "count";
      } else if (s->flags & 0x80) {
         bad = "flags";
      } else if (c->gate != (i == 2 ? (st->port61 & 1) : 1)) {
         bad = "gate";
      } else if ((c->paused || c->has_next) && !c->armed) {
         bad = "flags";
      }
   }
   if (bad) {
      *err = g_strdup_printf("checkpoint section %s: counter %u has an invalid %s",
                             vmx_dev_pit.name, i - 1, bad);
      return false;
   }
   if (st->port61 & ~0xfu) {
      *err = g_strdup_printf("checkpoint section %s: item 'port61' has an invalid value",
                             vmx_dev_pit.name);
      return false;
   }
   pthread_mutex_lock(&pit->lock);
   uint64_t now = now_tick(pit);
   for (i = 0; i < 3; i++) {
      n[i].load_tick = now - st->c[i].elapsed;
      n[i].frozen = st->c[i].elapsed;
      n[i].next_at = now + st->c[i].next_in;
      pit->c[i] = n[i];
   }
   pit->port61 = st->port61;
   pit->owed = 0;
   schedule(pit, now);
   pthread_mutex_unlock(&pit->lock);
   return true;
}

#define TAG(name) (snprintf(t, sizeof t, "c%u.%s", i, name), t)

void
pit_save(intc_pit *pit, ckpt_writer *w)
{
   pit_state st;
   pit_get_state(pit, &st);
   ckpt_put_u8(w, "port61", st.port61);
   for (unsigned i = 0; i < 3; i++) {
      const pit_counter_state *c = &st.c[i];
      char t[32];
      ckpt_put_u8(w, TAG("mode"), c->mode);
      ckpt_put_u8(w, TAG("bcd"), c->bcd);
      ckpt_put_u8(w, TAG("rw"), c->rw);
      ckpt_put_u8(w, TAG("wstate"), c->wstate);
      ckpt_put_u8(w, TAG("rstate"), c->rstate);
      ckpt_put_u8(w, TAG("lsb"), c->lsb);
      ckpt_put_u32(w, TAG("cr"), c->cr);
      ckpt_put_u32(w, TAG("n"), c->n);
      ckpt_put_u16(w, TAG("latch"), c->latch);
      ckpt_put_u8(w, TAG("latch_left"), c->latch_left);
      ckpt_put_u8(w, TAG("status"), c->status);
      ckpt_put_u8(w, TAG("flags"), c->flags);
      ckpt_put_u64(w, TAG("elapsed"), c->elapsed);
      ckpt_put_u64(w, TAG("next_in"), c->next_in);
      ckpt_put_u16(w, TAG("hold"), c->hold);
   }
}

bool
pit_restore(intc_pit *pit, ckpt_reader *r, char **err)
{
   pit_state st;
   pit_reset_state(&st);
   ckpt_get_u8(r, "port61", &st.port61);
   for (unsigned i = 0; i < 3; i++) {
      pit_counter_state *c = &st.c[i];
      char t[32];
      ckpt_get_u8(r, TAG("mode"), &c->mode);
      ckpt_get_u8(r, TAG("bcd"), &c->bcd);
      ckpt_get_u8(r, TAG("rw"), &c->rw);
      ckpt_get_u8(r, TAG("wstate"), &c->wstate);
      ckpt_get_u8(r, TAG("rstate"), &c->rstate);
      ckpt_get_u8(r, TAG("lsb"), &c->lsb);
      ckpt_get_u32(r, TAG("cr"), &c->cr);
      ckpt_get_u32(r, TAG("n"), &c->n);
      ckpt_get_u16(r, TAG("latch"), &c->latch);
      ckpt_get_u8(r, TAG("latch_left"), &c->latch_left);
      ckpt_get_u8(r, TAG("status"), &c->status);
      ckpt_get_u8(r, TAG("flags"), &c->flags);
      ckpt_get_u64(r, TAG("elapsed"), &c->elapsed);
      ckpt_get_u64(r, TAG("next_in"), &c->next_in);
      ckpt_get_u16(r, TAG("hold"), &c->hold);
   }
   if (ckpt_reader_error(r)) {
      return false;
   }
   return pit_set_state(pit, &st, err);
}

#undef TAG

/* ---- device descriptor */

static void *
dev_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   intc_clock *c = intc_clock_host();
   if (!c) {
      *err = g_strdup("cannot start the interrupt controllers' timer thread");
      return NULL;
   }
   intc_pit *pit = pit_new(p, c, err);
   intc_clock_unref(c);
   return pit;
}

static void
dev_reset(void *d)
{
   pit_reset(d);
}

static void
dev_destroy(void *d)
{
   pit_free(d);
}

static void
dev_save(void *d, ckpt_writer *w)
{
   pit_save(d, w);
}

static bool
dev_restore(void *d, ckpt_reader *r, char **err)
{
   return pit_restore(d, r, err);
}

const vmx_device_desc vmx_dev_pit = {
   .name = "pit",
   .version = 1,
   .create = dev_create,
   .reset = dev_reset,
   .destroy = dev_destroy,
   .save = dev_save,
   .restore = dev_restore,
};
