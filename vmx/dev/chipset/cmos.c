/*
 * vmx/dev/chipset/cmos.c - MC146818 RTC and CMOS NVRAM. See cmos.h.
 */
#include "vmx/dev/chipset/cmos.h"
#include "vmx/dev/chipset/chipset.h"
#include "vmx/dev/chipset/pci.h"
#include "vmx/vmxlog.h"

#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#define CMOS_PORT 0x70
#define CMOS_IRQ 8

#define REG_SEC 0x00
#define REG_SEC_ALARM 0x01
#define REG_MIN 0x02
#define REG_MIN_ALARM 0x03
#define REG_HOUR 0x04
#define REG_HOUR_ALARM 0x05
#define REG_WDAY 0x06
#define REG_MDAY 0x07
#define REG_MON 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d

#define A_UIP 0x80
#define A_DV 0x70
#define A_DV_NORMAL 0x20
#define A_RS 0x0f

#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_SQWE 0x08
#define B_DM_BINARY 0x04
#define B_24H 0x02
#define B_DSE 0x01

#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10

#define D_VRT 0x80

#define NS 1000000000ll
#define UIP_NS 244000ll
/* Offsets beyond this many seconds (about 200 years) are refused. */
#define OFFSET_MAX_S (200ll * 366 * 86400)

typedef struct rtc_tm {
   int sec, min, hour, mday, mon, year, wday;   /* mon 1-12, wday 0 = Sunday */
} rtc_tm;

struct cmos {
   vmx_platform *p;
   pthread_mutex_t lock;
   pthread_cond_t cond;
   pthread_t thread;
   bool thread_started;
   bool stop;
   uint8_t ram[128];
   uint8_t index;
   bool nmi_masked;
   int64_t offset_ns;      /* guest clock = host CLOCK_REALTIME + offset */
   uint8_t wday_adj;       /* guest day of week - true day of week, mod 7 */
   int64_t last_ns;        /* guest time up to which flags are evaluated */
   bool irq;
   uint64_t memsize_mb;
   unsigned bad_time_logged;
};

cmos *
cmos_get(vmx_platform *p)
{
   return vmx_platform_device(p, "cmos");
}

/* ---- calendar arithmetic (proleptic Gregorian, days since 1970-01-01) */

static int64_t
floordiv(int64_t a, int64_t b)
{
   int64_t q = a / b;
   return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t
days_from_civil(int64_t y, int m, int d)
{
   y -= m <= 2;
   int64_t era = floordiv(y, 400);
   int64_t yoe = y - era * 400;
   int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
   int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
   return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
   z += 719468;
   int64_t era = floordiv(z, 146097);
   int64_t doe = z - era * 146097;
   int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
   int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
   int64_t mp = (5 * doy + 2) / 153;
   *d = (int)(doy - (153 * mp + 2) / 5 + 1);
   *m = (int)(mp < 10 ? mp + 3 : mp - 9);
   *y = yoe + era * 400 + (*m <= 2);
}

static void
tm_from_secs(int64_t s, rtc_tm *t)
{
   int64_t days = floordiv(s, 86400);
   int64_t rem = s - days * 86400;
   int64_t y;
   civil_from_days(days, &y, &t->mon, &t->mday);
   t->year = (int)y;
   t->hour = (int)(rem / 3600);
   t->min = (int)(rem / 60 % 60);
   t->sec = (int)(rem % 60);
   t->wday = (int)((days % 7 + 7 + 4) % 7);   /* 1970-01-01 was a Thursday */
}

static int64_t
secs_from_tm(const rtc_tm *t)
{
   return days_from_civil(t->year, t->mon, t->mday) * 86400 + t->hour * 3600 + t->min * 60 +
          t->sec;
}

static int
days_in_month(int y, int m)
{
   static const int dm[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
   bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
   return m == 2 && leap ? 29 : dm[m - 1];
}

/* ---- register encoding */

static int64_t
host_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_REALTIME, &ts);
   return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static int64_t
guest_ns(const cmos *c)
{
   return host_ns() + c->offset_ns;
}

static bool
bcd_mode(const cmos *c)
{
   return !(c->ram[REG_B] & B_DM_BINARY);
}

static uint8_t
enc(const cmos *c, int v)
{
   return bcd_mode(c) ? (uint8_t)(((v / 10) << 4) | (v % 10)) : (uint8_t)v;
}

/* -1 when not a valid value in the current mode. */
static int
dec(const cmos *c, uint8_t v)
{
   if (!bcd_mode(c)) {
      return v;
   }
   if ((v & 0x0f) > 9 || (v >> 4) > 9) {
      return -1;
   }
   return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t
enc_hour(const cmos *c, int h)
{
   if (c->ram[REG_B] & B_24H) {
      return enc(c, h);
   }
   int h12 = h % 12 == 0 ? 12 : h % 12;
   return (uint8_t)(enc(c, h12) | (h >= 12 ? 0x80 : 0));
}

static int
dec_hour(const cmos *c, uint8_t v)
{
   if (c->ram[REG_B] & B_24H) {
      int h = dec(c, v);
      return h <= 23 ? h : -1;
   }
   int h = dec(c, v & 0x7f);
   if (h < 1 || h > 12) {
      return -1;
   }
   return h % 12 + ((v & 0x80) ? 12 : 0);
}

static bool
clock_running(const cmos *c)
{
   return (c->ram[REG_A] & A_DV) == A_DV_NORMAL && !(c->ram[REG_B] & B_SET);
}

static bool
divider_running(const cmos *c)
{
   return (c->ram[REG_A] & A_DV) == A_DV_NORMAL;
}

static int
wday_reg(const cmos *c, const rtc_tm *t)
{
   return (t->wday + c->wday_adj) % 7 + 1;
}

/* The value a time register shows for time t. */
static uint8_t
time_reg(const cmos *c, unsigned i, const rtc_tm *t)
{
   switch (i) {
   case REG_SEC: return enc(c, t->sec);
   case REG_MIN: return enc(c, t->min);
   case REG_HOUR: return enc_hour(c, t->hour);
   case REG_WDAY: return enc(c, wday_reg(c, t));
   case REG_MDAY: return enc(c, t->mday);
   case REG_MON: return enc(c, t->mon);
   case REG_YEAR: return enc(c, ((t->year % 100) + 100) % 100);
   case CMOS_CENTURY: return enc(c, (int)floordiv(t->year, 100) % 100);
   }
   return 0;
}

static bool
is_time_reg(unsigned i)
{
   return i == REG_SEC || i == REG_MIN || i == REG_HOUR || (i >= REG_WDAY && i <= REG_YEAR) ||
          i == CMOS_CENTURY;
}

static void
now_tm(const cmos *c, int64_t g, rtc_tm *t)
{
   tm_from_secs(floordiv(g, NS), t);
}

/* Parse the held time registers; out-of-range fields are clamped. */
static void
tm_from_regs(cmos *c, rtc_tm *t)
{
   int sec = dec(c, c->ram[REG_SEC]), min = dec(c, c->ram[REG_MIN]);
   int hour = dec_hour(c, c->ram[REG_HOUR]);
   int mday = dec(c, c->ram[REG_MDAY]), mon = dec(c, c->ram[REG_MON]);
   int year = dec(c, c->ram[REG_YEAR]), cent = dec(c, c->ram[CMOS_CENTURY]);
   bool bad = false;
#define FIX(v, lo, hi) \
   do { \
      if ((v) < (lo) || (v) > (hi)) { \
         bad = true; \
         (v) = (v) < (lo) ? (lo) : (hi); \
      } \
   } while (0)
   FIX(sec, 0, 59);
   FIX(min, 0, 59);
   FIX(hour, 0, 23);
   FIX(mon, 1, 12);
   FIX(year, 0, 99);
   FIX(cent, 19, 21);
   t->year = cent * 100 + year;
   FIX(mday, 1, days_in_month(t->year, mon));
#undef FIX
   t->sec = sec;
   t->min = min;
   t->hour = hour;
   t->mday = mday;
   t->mon = mon;
   if (bad && c->bad_time_logged++ < 8) {
      vmxlog("CMOS: guest set an invalid time (%02x:%02x:%02x %02x.%02x.%02x%02x); "
             "using %04d-%02d-%02d %02d:%02d:%02d", c->ram[REG_HOUR], c->ram[REG_MIN],
             c->ram[REG_SEC], c->ram[REG_MDAY], c->ram[REG_MON], c->ram[CMOS_CENTURY],
             c->ram[REG_YEAR], t->year, t->mon, t->mday, t->hour, t->min, t->sec);
   }
}

/* Make the guest clock read t now, phase_ns into its second. */
static void
set_clock(cmos *c, const rtc_tm *t, int64_t phase_ns)
{
   int64_t s = secs_from_tm(t);
   int64_t h = host_ns();
   c->offset_ns = s * NS + phase_ns - h;
   c->last_ns = s * NS + phase_ns;
}

/* ---- flags and the interrupt line */

static void
update_irq(cmos *c)
{
   uint8_t cr = c->ram[REG_C], b = c->ram[REG_B];
   if (((cr & C_PF) && (b & B_PIE)) || ((cr & C_AF) && (b & B_AIE)) ||
       ((cr & C_UF) && (b & B_UIE))) {
      c->ram[REG_C] |= C_IRQF;
   }
   bool level = c->ram[REG_C] & C_IRQF;
   if (level != c->irq) {
      c->irq = level;
      vmx_platform_set_irq(c->p, CMOS_IRQ, level);
   }
}

/* Periodic interrupt period in 32.768 kHz ticks; 0 = off. */
static int64_t
period_ticks(const cmos *c)
{
   unsigned rs = c->ram[REG_A] & A_RS;
   if (rs == 0) {
      return 0;
   }
   if (rs <= 2) {
      rs += 7;
   }
   return 1ll << (rs - 1);
}

static int64_t
ticks_of(int64_t g)
{
   int64_t s = floordiv(g, NS);
   return s * 32768 + (g - s * NS) * 32768 / NS;
}

static int64_t
ns_of_tick(int64_t t)
{
   int64_t s = floordiv(t, 32768);
   int64_t rem = t - s * 32768;
   return s * NS + (rem * NS + 32767) / 32768;
}

static bool
alarm_field(uint8_t alarm, uint8_t now)
{
   return (alarm & 0xc0) == 0xc0 || alarm == now;
}

static bool
alarm_match(const cmos *c, int64_t s)
{
   rtc_tm t;
   tm_from_secs(s, &t);
   return alarm_field(c->ram[REG_SEC_ALARM], time_reg(c, REG_SEC, &t)) &&
          alarm_field(c->ram[REG_MIN_ALARM], time_reg(c, REG_MIN, &t)) &&
          alarm_field(c->ram[REG_HOUR_ALARM], time_reg(c, REG_HOUR, &t));
}

/* Set the flags for everything that happened up to guest time g. */
static void
advance(cmos *c, int64_t g)
{
   if (g <= c->last_ns) {
      c->last_ns = g;   /* the host clock stepped back */
      return;
   }
   uint8_t flags = 0;
   int64_t per = period_ticks(c);
   if (per && divider_running(c) &&
       floordiv(ticks_of(g), per) > floordiv(ticks_of(c->last_ns), per)) {
      flags |= C_PF;
   }
   if (clock_running(c)) {
      int64_t s0 = floordiv(c->last_ns, NS), s1 = floordiv(g, NS);
      if (s1 > s0) {
         flags |= C_UF;
         /* A day covers every alarm; skip the search when AF is up. */
         int64_t first = s1 - s0 > 86400 ? s1 - 86400 : s0 + 1;
         for (int64_t s = first; s <= s1 && !(c->ram[REG_C] & C_AF); s++) {
            if (alarm_match(c, s)) {
               flags |= C_AF;
               break;
            }
         }
      }
   }
   c->last_ns = g;
   c->ram[REG_C] |= flags;
   update_irq(c);
}

/* Guest time of the next event that can raise IRQF, or -1. */
static int64_t
next_event(const cmos *c, int64_t g)
{
   if (c->ram[REG_C] & C_IRQF) {
      return -1;
   }
   uint8_t b = c->ram[REG_B];
   int64_t best = -1;
   int64_t per = period_ticks(c);
   if ((b & B_PIE) && per && divider_running(c)) {
      best = ns_of_tick((floordiv(ticks_of(g), per) + 1) * per);
   }
   if ((b & (B_UIE | B_AIE)) && clock_running(c)) {
      int64_t n = (floordiv(g, NS) + 1) * NS;
      if (best < 0 || n < best) {
         best = n;
      }
   }
   return best;
}

static void *
cmos_thread(void *opaque)
{
   cmos *c = opaque;
   pthread_mutex_lock(&c->lock);
   while (!c->stop) {
      int64_t g = guest_ns(c);
      advance(c, g);
      int64_t next = next_event(c, g);
      if (next < 0) {
         pthread_cond_wait(&c->cond, &c->lock);
         continue;
      }
      int64_t h = next - c->offset_ns;
      struct timespec ts = { (time_t)floordiv(h, NS), (long)(h - floordiv(h, NS) * NS) };
      pthread_cond_timedwait(&c->cond, &c->lock, &ts);
   }
   pthread_mutex_unlock(&c->lock);
   return NULL;
}

/* ---- freezing and starting the clock */

static void
freeze(cmos *c)
{
   rtc_tm t;
   now_tm(c, guest_ns(c), &t);
   static const unsigned regs[] = { REG_SEC, REG_MIN, REG_HOUR, REG_WDAY, REG_MDAY,
                                    REG_MON, REG_YEAR, CMOS_CENTURY };
   for (unsigned i = 0; i < G_N_ELEMENTS(regs); i++) {
      c->ram[regs[i]] = time_reg(c, regs[i], &t);
   }
}

static void
thaw(cmos *c, int64_t phase_ns)
{
   rtc_tm t;
   tm_from_regs(c, &t);
   int w = dec(c, c->ram[REG_WDAY]);
   set_clock(c, &t, phase_ns);
   rtc_tm now;
   tm_from_secs(secs_from_tm(&t), &now);
   c->wday_adj = (w >= 1 && w <= 7) ? (uint8_t)(((w - 1) - now.wday + 7) % 7) : 0;
}

/* A time register written while the clock runs: change that field. */
static void
write_running_time(cmos *c, unsigned i, uint8_t v)
{
   int64_t g = guest_ns(c);
   int64_t phase = g - floordiv(g, NS) * NS;
   rtc_tm t;
   now_tm(c, g, &t);
   if (i == REG_WDAY) {
      int w = dec(c, v);
      if (w >= 1 && w <= 7) {
         c->wday_adj = (uint8_t)(((w - 1) - t.wday + 7) % 7);
      }
      return;
   }
   /* Put the current time in the registers, replace the field, restart. */
   freeze(c);
   c->ram[i] = v;
   tm_from_regs(c, &t);
   uint8_t adj = c->wday_adj;
   set_clock(c, &t, phase);
   c->wday_adj = adj;
}

/* ---- register access */

static uint8_t
reg_read(cmos *c, unsigned i)
{
   int64_t g = guest_ns(c);
   switch (i) {
   case REG_A: {
      uint8_t a = c->ram[REG_A] & ~A_UIP;
      if (clock_running(c) && NS - (g - floordiv(g, NS) * NS) <= UIP_NS) {
         a |= A_UIP;
      }
      return a;
   }
   case REG_C: {
      advance(c, g);
      uint8_t v = c->ram[REG_C];
      c->ram[REG_C] = 0;
      update_irq(c);
      pthread_cond_signal(&c->cond);
      return v;
   }
   case REG_D:
      return D_VRT;
   }
   if (is_time_reg(i) && clock_running(c)) {
      rtc_tm t;
      now_tm(c, g, &t);
      return time_reg(c, i, &t);
   }
   return c->ram[i];
}

static void
reg_write(cmos *c, unsigned i, uint8_t v)
{
   int64_t g = guest_ns(c);
   advance(c, g);
   switch (i) {
   case REG_A: {
      bool was = clock_running(c);
      uint8_t nv = v & (uint8_t)~A_UIP;
      if (was && (nv & A_DV) != A_DV_NORMAL) {
         freeze(c);   /* divider stopped: the time registers hold */
      }
      c->ram[REG_A] = nv;
      if (!was && clock_running(c)) {
         /* Leaving divider reset: the first update comes 0.5 s later. */
         thaw(c, NS / 2);
      }
      break;
   }
   case REG_B: {
      bool was = clock_running(c);
      int64_t phase = g - floordiv(g, NS) * NS;
      if (v & B_SET) {
         v &= (uint8_t)~B_UIE;
      }
      bool mode = ((c->ram[REG_B] ^ v) & (B_DM_BINARY | B_24H)) != 0;
      if (was && (mode || (v & B_SET))) {
         freeze(c);
      }
      c->ram[REG_B] = v;
      if (clock_running(c) && (!was || mode)) {
         /* The held registers are read in the (possibly new) mode, as the
          * chip would count on from them. */
         thaw(c, phase);
      }
      break;
   }
   case REG_C:
   case REG_D:
      return;
   default:
      if (is_time_reg(i) && clock_running(c)) {
         write_running_time(c, i, v);
      } else {
         c->ram[i] = v;
      }
      break;
   }
   update_irq(c);
   pthread_cond_signal(&c->cond);
}

static uint64_t
cmos_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   cmos *c = opaque;
   if (size != 1 || off == 0) {
      return ~0ull;   /* the index register is write-only */
   }
   pthread_mutex_lock(&c->lock);
   uint8_t v = reg_read(c, c->index);
   pthread_mutex_unlock(&c->lock);
   return v;
}

static void
cmos_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   cmos *c = opaque;
   if (size != 1) {
      return;
   }
   pthread_mutex_lock(&c->lock);
   if (off == 0) {
      c->index = val & 0x7f;
      c->nmi_masked = val & 0x80;
   } else {
      reg_write(c, c->index, (uint8_t)val);
   }
   pthread_mutex_unlock(&c->lock);
}

bool
cmos_nmi_masked(cmos *c)
{
   pthread_mutex_lock(&c->lock);
   bool m = c->nmi_masked;
   pthread_mutex_unlock(&c->lock);
   return m;
}

bool
cmos_nvram_write(cmos *c, unsigned index, uint8_t value)
{
   if (index < 0x0e || index >= 128 || index == CMOS_CENTURY) {
      return false;
   }
   pthread_mutex_lock(&c->lock);
   c->ram[index] = value;
   pthread_mutex_unlock(&c->lock);
   return true;
}

uint8_t
cmos_nvram_read(cmos *c, unsigned index)
{
   if (index < 0x0e || index >= 128) {
      return 0xff;
   }
   pthread_mutex_lock(&c->lock);
   uint8_t v = reg_read(c, index);
   pthread_mutex_unlock(&c->lock);
   return v;
}

/* ---- memory size fields */

static void
put16(uint8_t *ram, unsigned i, unsigned v)
{
   ram[i] = (uint8_t)v;
   ram[i + 1] = (uint8_t)(v >> 8);
}

static void
write_memory_fields(cmos *c)
{
   uint64_t kb = c->memsize_mb * 1024;
   uint64_t low_kb = PCI_MMIO_WINDOW_START / 1024;
   if (low_kb > kb) {
      low_kb = kb;
   }
   put16(c->ram, 0x15, 640);
   uint64_t ext = low_kb > 1024 ? low_kb - 1024 : 0;
   put16(c->ram, 0x17, (unsigned)(ext > 0xffff ? 0xffff : ext));
   put16(c->ram, 0x30, (unsigned)(ext > 0xffff ? 0xffff : ext));
   uint64_t above16 = low_kb > 16384 ? (low_kb - 16384) / 64 : 0;
   put16(c->ram, 0x34, (unsigned)(above16 > 0xffff ? 0xffff : above16));
   uint64_t high = kb > PCI_MMIO_WINDOW_START / 1024 ? (kb - PCI_MMIO_WINDOW_START / 1024) / 64 : 0;
   if (high > 0xffffff) {
      high = 0xffffff;
   }
   c->ram[0x5b] = (uint8_t)high;
   c->ram[0x5c] = (uint8_t)(high >> 8);
   c->ram[0x5d] = (uint8_t)(high >> 16);
   c->ram[0x10] = 0x00;   /* no floppy drives */
   c->ram[0x14] = 0x02;   /* no floppy, VGA/EGA, math coprocessor */
   unsigned sum = 0;
   for (unsigned i = 0x10; i <= 0x2d; i++) {
      sum += c->ram[i];
   }
   c->ram[0x2e] = (uint8_t)(sum >> 8);
   c->ram[0x2f] = (uint8_t)sum;
}

/* ---- device */

static void cmos_destroy(void *dev);

static bool
read_config(const vmxcfg *cfg, uint64_t *memsize, int64_t *offset_ns, char **err)
{
   int64_t mem, diff, start;
   if (!vmxcfg_get_int(cfg, "memsize", 256, &mem, err) ||
       !vmxcfg_get_int(cfg, "rtc.diffFromUTC", 0, &diff, err) ||
       !vmxcfg_get_int(cfg, "rtc.startTime", -1, &start, err)) {
      return false;
   }
   if (mem < 1 || mem > (1ll << 30)) {
      *err = g_strdup_printf("memsize = \"%lld\": must be between 1 and %lld MB", (long long)mem,
                             1ll << 30);
      return false;
   }
   if (diff < -OFFSET_MAX_S || diff > OFFSET_MAX_S) {
      *err = g_strdup_printf("rtc.diffFromUTC = \"%lld\": more than 200 years from UTC",
                             (long long)diff);
      return false;
   }
   /* 1970 .. 2199: what a two-digit year and the century byte can show. */
   if (start != -1 && (start < 0 || start > 7258118399ll)) {
      *err = g_strdup_printf("rtc.startTime = \"%lld\": must be seconds since 1970 before 2200",
                             (long long)start);
      return false;
   }
   *memsize = (uint64_t)mem;
   *offset_ns = start != -1 ? start * NS - host_ns() : diff * NS;
   return true;
}

static void *
cmos_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   uint64_t memsize;
   int64_t offset;
   if (!read_config(cfg, &memsize, &offset, err)) {
      return NULL;
   }
   cmos *c = g_new0(cmos, 1);
   c->p = p;
   c->memsize_mb = memsize;
   c->offset_ns = offset;
   pthread_mutex_init(&c->lock, NULL);
   pthread_cond_init(&c->cond, NULL);
   c->ram[REG_A] = A_DV_NORMAL | 0x06;   /* 32.768 kHz, 1024 Hz rate */
   c->ram[REG_B] = B_24H;                /* BCD, 24 h, no interrupts */
   c->ram[REG_D] = D_VRT;
   write_memory_fields(c);
   c->last_ns = guest_ns(c);
   const vmx_io_region r = { "CMOS/RTC", cmos_read, cmos_write, c };
   if (!vmx_platform_map_pio(p, CMOS_PORT, 2, &r, err)) {
      cmos_destroy(c);
      return NULL;
   }
   int rc = pthread_create(&c->thread, NULL, cmos_thread, c);
   if (rc != 0) {
      *err = g_strdup_printf("cannot start the RTC thread: %s", g_strerror(rc));
      vmx_platform_unmap_pio(p, CMOS_PORT, 2);
      cmos_destroy(c);
      return NULL;
   }
   c->thread_started = true;
   return c;
}

static void
cmos_destroy(void *dev)
{
   cmos *c = dev;
   if (c->thread_started) {
      pthread_mutex_lock(&c->lock);
      c->stop = true;
      pthread_cond_signal(&c->cond);
      pthread_mutex_unlock(&c->lock);
      pthread_join(c->thread, NULL);
      vmx_platform_unmap_pio(c->p, CMOS_PORT, 2);
   }
   pthread_mutex_destroy(&c->lock);
   pthread_cond_destroy(&c->cond);
   g_free(c);
}

static void
cmos_reset(void *dev)
{
   cmos *c = dev;
   pthread_mutex_lock(&c->lock);
   c->ram[REG_B] &= (uint8_t)~(B_PIE | B_AIE | B_UIE | B_SQWE);
   c->ram[REG_C] = 0;
   c->index = 0;
   c->nmi_masked = false;
   write_memory_fields(c);
   c->last_ns = guest_ns(c);
   update_irq(c);
   pthread_cond_signal(&c->cond);
   pthread_mutex_unlock(&c->lock);
}

static void
cmos_save(void *dev, ckpt_writer *w)
{
   cmos *c = dev;
   pthread_mutex_lock(&c->lock);
   ckpt_put_bytes(w, "ram", c->ram, sizeof c->ram);
   ckpt_put_u8(w, "index", c->index);
   ckpt_put_u8(w, "nmi_masked", c->nmi_masked);
   ckpt_put_u64(w, "offset_ns", (uint64_t)c->offset_ns);
   ckpt_put_u8(w, "wday_adj", c->wday_adj);
   pthread_mutex_unlock(&c->lock);
}

static bool
cmos_restore(void *dev, ckpt_reader *r, char **err)
{
   cmos *c = dev;
   pthread_mutex_lock(&c->lock);
   uint8_t ram[128], index = c->index, nmi = c->nmi_masked, wday = c->wday_adj;
   uint64_t off = (uint64_t)c->offset_ns;
   memcpy(ram, c->ram, sizeof ram);
   pthread_mutex_unlock(&c->lock);
   ckpt_get_bytes(r, "ram", ram, sizeof ram);
   ckpt_get_u8(r, "index", &index);
   ckpt_get_u8(r, "nmi_masked", &nmi);
   ckpt_get_u64(r, "offset_ns", &off);
   ckpt_get_u8(r, "wday_adj", &wday);
   if (ckpt_reader_error(r)) {
      return false;
   }
   const char *bad = NULL;
   if (ram[REG_A] & A_UIP) {
      bad = "register A has the read-only UIP bit set";
   } else if (ram[REG_C] & 0x0f) {
      bad = "register C has reserved bits set";
   } else if (ram[REG_D] != D_VRT) {
      bad = "register D is not 0x80";
   }
   if (bad) {
      *err = g_strdup_printf("checkpoint section cmos: item 'ram': %s", bad);
      return false;
   }
   uint8_t cr = ram[REG_C], b = ram[REG_B];
   bool irqf = ((cr & C_PF) && (b & B_PIE)) || ((cr & C_AF) && (b & B_AIE)) ||
               ((cr & C_UF) && (b & B_UIE));
   if (irqf && !(cr & C_IRQF)) {
      *err = g_strdup_printf("checkpoint section cmos: item 'ram': register C 0x%02x lacks "
                             "IRQF for the interrupts register B 0x%02x enables", cr, b);
      return false;
   }
   if (index >= 128) {
      *err = g_strdup_printf("checkpoint section cmos: item 'index' is %u (0-127)", index);
      return false;
   }
   if (nmi > 1) {
      *err = g_strdup_printf("checkpoint section cmos: item 'nmi_masked' is %u", nmi);
      return false;
   }
   if (wday > 6) {
      *err = g_strdup_printf("checkpoint section cmos: item 'wday_adj' is %u (0-6)", wday);
      return false;
   }
   int64_t o = (int64_t)off;
   if (o < -OFFSET_MAX_S * NS || o > OFFSET_MAX_S * NS) {
      *err = g_strdup_printf("checkpoint section cmos: item 'offset_ns' is %lld: more than 200 "
                             "years from the host clock", (long long)o);
      return false;
   }
   pthread_mutex_lock(&c->lock);
   memcpy(c->ram, ram, sizeof ram);
   c->index = index;
   c->nmi_masked = nmi;
   c->wday_adj = wday;
   c->offset_ns = o;
   c->last_ns = guest_ns(c);
   c->irq = !(c->ram[REG_C] & C_IRQF);   /* force the line to be driven */
   update_irq(c);
   pthread_cond_signal(&c->cond);
   pthread_mutex_unlock(&c->lock);
   return true;
}

const vmx_device_desc vmx_dev_cmos = {
   .name = "cmos",
   .version = 1,
   .create = cmos_create,
   .reset = cmos_reset,
   .destroy = cmos_destroy,
   .save = cmos_save,
   .restore = cmos_restore,
};
