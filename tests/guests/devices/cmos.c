/*
 * tests/guests/devices/cmos.c - the MC146818 RTC and NVRAM: the time
 * against the host's (kit.time=<UTC seconds> on the command line, written
 * by the host just before power-on), register D, the day of week, the clock
 * advancing, UIP before an update, UF after one, binary and 12-hour modes,
 * NVRAM read-back, the memory size fields and their checksum, and setting
 * the clock with SET (rolling over into 2000-01-01, century included).
 */
#include "kit/kit.h"
#include "kit/platform.h"

typedef struct rtc {
   int sec, min, hour, wday, mday, mon, year;
} rtc;

static int from_bcd(uint8_t v, bool bcd)
{
   return bcd ? (v >> 4) * 10 + (v & 0x0f) : v;
}

/* Waits (bounded) for UIP clear, then reads until two reads agree. */
static void read_rtc(rtc *t)
{
   uint8_t r1[10], r2[10], b, cent;
   bool bcd, h24;

   for (int tries = 0; tries < 5; tries++) {
      for (int i = 0; i < 2000 && (kit_cmos_read(0x0a) & 0x80); i++) {
      }
      for (int i = 0; i < 10; i++) {
         r1[i] = kit_cmos_read((uint8_t)i);
      }
      for (int i = 0; i < 10; i++) {
         r2[i] = kit_cmos_read((uint8_t)i);
      }
      if (memcmp(r1, r2, 10) == 0) {
         break;
      }
   }
   b = kit_cmos_read(0x0b);
   cent = kit_cmos_read(0x32);
   bcd = !(b & 0x04);
   h24 = b & 0x02;
   t->sec = from_bcd(r2[0], bcd);
   t->min = from_bcd(r2[2], bcd);
   t->hour = from_bcd(r2[4] & 0x7f, bcd);
   if (!h24) {
      t->hour = t->hour % 12 + ((r2[4] & 0x80) ? 12 : 0);
   }
   t->wday = from_bcd(r2[6], bcd);
   t->mday = from_bcd(r2[7], bcd);
   t->mon = from_bcd(r2[8], bcd);
   t->year = from_bcd(cent, bcd) * 100 + from_bcd(r2[9], bcd);
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
   int64_t era, yoe, doy, doe;

   y -= m <= 2;
   era = (y >= 0 ? y : y - 399) / 400;
   yoe = y - era * 400;
   doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
   doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
   return era * 146097 + doe - 719468;
}

static int64_t epoch_of(const rtc *t)
{
   return days_from_civil(t->year, t->mon, t->mday) * 86400 + t->hour * 3600 + t->min * 60 +
          t->sec;
}

/* At CPL3: waits for the seconds register to change; returns register C
 * read right after the change, ~0 on timeout. */
static uint64_t user_wait_second(uint64_t budget)
{
   uint64_t t0 = kit_rdtsc();
   uint8_t s0;

   kit_outb(0x70, 0x00);
   s0 = kit_inb(0x71);
   while (kit_inb(0x71) == s0) {
      if (kit_rdtsc() - t0 > budget) {
         return ~0ull;
      }
   }
   kit_outb(0x70, 0x0c);
   return kit_inb(0x71);
}

/* At CPL3: polls register A until UIP reads 1 (it does for 244 us before
 * each update); returns the number of polls, ~0 on timeout. */
static uint64_t user_wait_uip(uint64_t budget)
{
   uint64_t t0 = kit_rdtsc(), polls = 0;

   kit_outb(0x70, 0x0a);
   while (!(kit_inb(0x71) & 0x80)) {
      polls++;
      if (kit_rdtsc() - t0 > budget) {
         return ~0ull;
      }
   }
   return polls;
}

static void check_time(void)
{
   rtc t;
   uint64_t host;
   int64_t diff;
   int wday;

   read_rtc(&t);
   kit_printf("cmos: RTC %04d-%02d-%02d %02d:%02d:%02d (day of week %d), register B 0x%x\n",
              t.year, t.mon, t.mday, t.hour, t.min, t.sec, t.wday, kit_cmos_read(0x0b));
   kit_check("register-d", kit_cmos_read(0x0d) == 0x80, "register D 0x%x, expected VRT 0x80",
             kit_cmos_read(0x0d));
   kit_check("register-b-default", (kit_cmos_read(0x0b) & 0xf6) == 0x02 ||
             (kit_cmos_read(0x0b) & 0xf6) == 0x00, "register B 0x%x: expected SET, PIE, AIE, "
             "UIE, SQWE clear after power-on", kit_cmos_read(0x0b));
   /* 1970-01-01 was a Thursday; register 6 counts 1 = Sunday. */
   wday = (int)((days_from_civil(t.year, t.mon, t.mday) % 7 + 7 + 4) % 7) + 1;
   kit_check("day-of-week", t.wday == wday, "register 6 is %d, the date says %d", t.wday, wday);
   if (!kit_cmdline_u64("kit.time", &host)) {
      kit_skip("host-time", "no kit.time=SECONDS on the command line");
      return;
   }
   diff = epoch_of(&t) - (int64_t)host;
   kit_printf("cmos: RTC is %ld s after the host's kit.time (%lu)\n", diff, host);
   kit_check("host-time", diff >= -2 && diff <= 15, "the RTC reads %ld s from the host's UTC "
             "time at power-on (expected 0 to a few seconds later)", diff);
}

static void check_running(void)
{
   uint64_t khz = kit_tsc_khz() ? kit_tsc_khz() : 3000000, r = 0, t0, t1;
   kit_fault f;
   rtc a, b;

   kit_cmos_read(0x0c);
   read_rtc(&a);
   t0 = kit_rdtsc();
   if (kit_user_run(user_wait_second, khz * 1500, &r, &f) || r == ~0ull) {
      kit_fail("clock-runs", "the seconds did not change in 1.5 s");
      return;
   }
   t1 = kit_rdtsc();
   read_rtc(&b);
   kit_check("clock-runs", epoch_of(&b) == epoch_of(&a) + 1 || epoch_of(&b) == epoch_of(&a) + 2,
             "%02d:%02d:%02d then %02d:%02d:%02d after %lu ms", a.hour, a.min, a.sec, b.hour,
             b.min, b.sec, (t1 - t0) / khz);
   kit_check("uf-after-update", (r & 0x10) != 0, "register C 0x%lx after an update: UF clear",
             r);
   /* PF follows the rate in register A whatever PIE says; UF waits a second. */
   r = kit_cmos_read(0x0c);
   kit_check("register-c-clears", (r & 0x30) == 0 && !(r & 0x80),
             "register C 0x%lx right after being read: UF/AF/IRQF still set", r);
   {
      uint64_t polls = 0, s0 = kit_cmos_read(0x00);
      bool timed_out = kit_user_run(user_wait_uip, khz * 8500, &polls, &f) || polls == ~0ull;
      uint64_t s1 = kit_cmos_read(0x00);

      kit_check("uip-before-update", !timed_out, "UIP never read 1 in 8.5 s of polling");
      if (!timed_out) {
         kit_printf("cmos: UIP seen after %lu polls (seconds 0x%lx then 0x%lx)\n", polls, s0,
                    s1);
      }
   }
}

/* Data mode and 12/24 hours change how the registers are read, not their
 * contents (as on the chip, software sets the time again after changing
 * them), so each mode is tested by setting a time with SET in that mode. */
static void set_time(uint8_t b, const uint8_t v[10])
{
   kit_cmos_write(0x0b, (uint8_t)(b | 0x80));
   for (uint8_t i = 0; i < 10; i++) {
      if (i != 1 && i != 3 && i != 5) {
         kit_cmos_write(i, v[i]);
      }
   }
}

static void check_modes(void)
{
   uint8_t b0 = kit_cmos_read(0x0b), s, h;
   /* 2024-02-29 13:45:30 Thursday (5), binary */
   static const uint8_t bin[10] = { 30, 0, 45, 0, 13, 0, 5, 29, 2, 24 };
   /* the same in BCD, 12-hour: 1 PM = 0x81 */
   static const uint8_t bcd12[10] = { 0x30, 0, 0x45, 0, 0x81, 0, 5, 0x29, 0x02, 0x24 };
   uint64_t khz = kit_tsc_khz() ? kit_tsc_khz() : 3000000, r;
   kit_fault f;

   set_time(0x06, bin);   /* binary, 24 h */
   kit_cmos_write(0x32, 20);
   kit_cmos_write(0x0b, 0x06);
   s = kit_cmos_read(0x00);
   h = kit_cmos_read(0x04);
   kit_check("binary-mode", (s == 30 || s == 31) && h == 13 && kit_cmos_read(0x02) == 45 &&
             kit_cmos_read(0x07) == 29 && kit_cmos_read(0x09) == 24,
             "after setting 13:45:30 in binary: %u:%u:%u, day %u year %u", h,
             kit_cmos_read(0x02), s, kit_cmos_read(0x07), kit_cmos_read(0x09));
   /* Leap day rolls into March 1 (binary mode); set 23:59:59 first. */
   {
      uint8_t v[10];

      memcpy(v, bin, sizeof v);
      v[0] = 59;
      v[2] = 59;
      v[4] = 23;
      set_time(0x06, v);
      kit_cmos_write(0x0b, 0x06);
      if (kit_user_run(user_wait_second, khz * 1500, &r, &f) || r == ~0ull) {
         kit_fail("binary-leap-day", "the clock did not run");
      } else {
         kit_check("binary-leap-day", kit_cmos_read(0x08) == 3 && kit_cmos_read(0x07) == 1 &&
                   kit_cmos_read(0x04) == 0 && kit_cmos_read(0x06) == 6,
                   "2024-02-29 23:59:59 became month %u day %u hour %u weekday %u",
                   kit_cmos_read(0x08), kit_cmos_read(0x07), kit_cmos_read(0x04),
                   kit_cmos_read(0x06));
      }
   }

   set_time(0x00, bcd12);   /* BCD, 12 h */
   kit_cmos_write(0x32, 0x20);
   kit_cmos_write(0x0b, 0x00);
   h = kit_cmos_read(0x04);
   kit_check("12-hour-mode", h == 0x81, "hour register 0x%x after setting 1 PM (0x81)", h);
   kit_cmos_write(0x0b, b0);
}

static void check_nvram(void)
{
   uint8_t old = kit_cmos_read(0x40), old2 = kit_cmos_read(0x7f);
   uint16_t sum = 0, stored;
   uint64_t mem_mb = 0;
   unsigned base, ext, ext16;

   kit_cmos_write(0x40, 0x5a);
   kit_cmos_write(0x7f, 0xa5);
   kit_check("nvram", kit_cmos_read(0x40) == 0x5a && kit_cmos_read(0x7f) == 0xa5,
             "NVRAM 0x40 = 0x%x, 0x7f = 0x%x", kit_cmos_read(0x40), kit_cmos_read(0x7f));
   kit_cmos_write(0x40, old);
   kit_cmos_write(0x7f, old2);

   for (uint8_t i = 0x10; i <= 0x2d; i++) {
      sum = (uint16_t)(sum + kit_cmos_read(i));
   }
   stored = (uint16_t)(kit_cmos_read(0x2e) << 8 | kit_cmos_read(0x2f));
   kit_check("nvram-checksum", sum == stored, "sum of 0x10-0x2d is 0x%x, 0x2e-0x2f hold 0x%x",
             sum, stored);
   base = kit_cmos_read(0x15) | kit_cmos_read(0x16) << 8;
   ext = kit_cmos_read(0x17) | kit_cmos_read(0x18) << 8;
   ext16 = kit_cmos_read(0x34) | kit_cmos_read(0x35) << 8;
   kit_printf("cmos: base %u KB, extended %u KB, %u x 64 KB above 16 MB\n", base, ext, ext16);
   if (!kit_cmdline_u64("kit.memsize", &mem_mb)) {
      kit_skip("memory-fields", "no kit.memsize=MB on the command line");
      return;
   }
   {
      uint64_t want_ext = (mem_mb - 1) * 1024 > 0xffff ? 0xffff : (mem_mb - 1) * 1024;
      uint64_t low_mb = mem_mb < 3072 ? mem_mb : 3072;
      uint64_t want_ext16 = low_mb > 16 ? (low_mb - 16) * 16 : 0;

      kit_check("memory-fields", base == 640 && ext == want_ext &&
                ext == (unsigned)(kit_cmos_read(0x30) | kit_cmos_read(0x31) << 8) &&
                ext16 == want_ext16, "base %u KB (640), extended %u KB (%lu), 64 KB blocks "
                "above 16 MB %u (%lu) for memsize %lu", base, ext, want_ext, ext16, want_ext16,
                mem_mb);
   }
}

/* SET: stop the clock, write 1999-12-31 23:59:59 (Friday), start it, and
 * see it roll over into Saturday 2000-01-01. */
static void check_set(void)
{
   uint8_t b0 = kit_cmos_read(0x0b);
   uint64_t khz = kit_tsc_khz() ? kit_tsc_khz() : 3000000, r;
   kit_fault f;
   rtc t;

   kit_cmos_write(0x0b, b0 | 0x80);
   kit_cmos_write(0x00, 0x59);
   kit_cmos_write(0x02, 0x59);
   kit_cmos_write(0x04, 0x23);
   kit_cmos_write(0x06, 0x06);
   kit_cmos_write(0x07, 0x31);
   kit_cmos_write(0x08, 0x12);
   kit_cmos_write(0x09, 0x99);
   kit_cmos_write(0x32, 0x19);
   read_rtc(&t);
   kit_check("set-holds", t.year == 1999 && t.mon == 12 && t.mday == 31 && t.hour == 23 &&
             t.min == 59 && t.sec == 59, "read %04d-%02d-%02d %02d:%02d:%02d while SET",
             t.year, t.mon, t.mday, t.hour, t.min, t.sec);
   kit_cmos_write(0x0b, b0 & 0x7f);
   if (kit_user_run(user_wait_second, khz * 1500, &r, &f) || r == ~0ull) {
      kit_fail("set-rollover", "the clock did not run after SET was cleared");
      return;
   }
   read_rtc(&t);
   kit_check("set-rollover", t.year == 2000 && t.mon == 1 && t.mday == 1 && t.hour == 0 &&
             t.min == 0 && t.sec <= 1 && t.wday == 7 && kit_cmos_read(0x32) == 0x20,
             "read %04d-%02d-%02d %02d:%02d:%02d day %d century 0x%x", t.year, t.mon, t.mday,
             t.hour, t.min, t.sec, t.wday, kit_cmos_read(0x32));
}

void kit_main(void)
{
   kit_poweroff_at_exit();
   check_time();
   check_running();
   check_modes();
   check_nvram();
   check_set();
}
