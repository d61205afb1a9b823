/*
 * tests/bench/checkpoint/bench-checkpoint-guest.c - the guest of the
 * checkpoint benchmark: a test-kit program that gives its RAM realistic
 * contents and keeps checking them, so that a suspend/resume (ours) or a
 * migration to a file and back (QEMU) has real memory to save, and the
 * benchmark sees that the guest went on with that memory intact.
 *
 * Memory. The region [16 MiB, 16 MiB + ckb.mb MiB) is cut into extents of
 * 1..64 pages (4 KiB .. 256 KiB, the length drawn from a hash of the first
 * page), and every extent is one of three kinds, drawn from another hash
 * with the weights on the command line:
 *   random  ckb.random percent (default 30): xorshift output, every page
 *           different: incompressible, like encrypted or compressed data,
 *           code and media in a real guest;
 *   text    ckb.text percent (default 30): 64-byte records (a kernel
 *           pointer, small counters, a 16-bit hash, poison bytes, mostly
 *           zero high bytes), which LZ4 shrinks about 3 times (a MiB of
 *           them to 31%), like heap objects, page tables and page cache of
 *           text files;
 *   zero    the rest (default 40): pages that read zero, as free memory
 *           does (only written where firmware left something).
 * The kinds are kept in a page map at 8 MiB (one byte per page), so every
 * pass knows what each page must hold. A "hot" area at [12 MiB, 16 MiB) is
 * rewritten every pass with the pass number in its pattern (and the last
 * pass's pattern checked first), so pages written after a resume count too.
 *
 * Run. The PIT ticks at ckb.hz (default 1000). The program fills the region
 * once ("CKB fill done mb=... ticks=..."), prints "CKB ready ...", then
 * checks the whole region again and again, forever: pass N prints
 * "CKB pass=N ok ticks=T" (T: PIT ticks the pass took) when every page
 * matched. Work goes in units of 16 pages at CPL3. Every ckb.hb ticks
 * (default 2) the timer interrupt prints a heartbeat "CKB hb=H pass=N
 * at=KIB" (H counts up from 1 since boot, KIB: how far into the region
 * pass N has got, 0 while it does the hot area), which is how the benchmark
 * sees the guest run again after a resume (its vCPU and its timer), and
 * that it continued rather than booted again. A wrong word prints "CKB FAIL
 * ... page=... word=... expected ... got ..." and ends the run (KIT RESULT:
 * FAIL, ACPI power-off on the vmx, isa-debug-exit on QEMU).
 */
#include "kit/kit.h"
#include "kit/platform.h"

#define PAGE 4096ull
#define MAP_BASE (8ull << 20)            /* page map: one byte per region page */
#define MAP_MAX (4ull << 20)             /* map bytes: up to HOT_BASE */
#define HOT_BASE (12ull << 20)
#define HOT_SIZE (4ull << 20)
#define REGION_BASE (16ull << 20)
#define UNIT_PAGES 16ull
#define VEC_PIC 0x20u

enum { KIND_ZERO = 0, KIND_RANDOM = 1, KIND_TEXT = 2 };

static volatile uint64_t ticks;
static uint64_t region_pages;
static uint64_t seed = 0x5eed;

/* Where the running pass is (for the heartbeat). */
static volatile uint64_t cur_pass, cur_kib;
static uint64_t hb_every = 2, hb_count, hb_last;

/* The heartbeat comes from the timer interrupt, so it shows that the vCPU
 * and the timer run whatever the program is doing. Lines from the program
 * itself are printed with interrupts off (say()), so the two never mix. */
static void on_tick(kit_frame *f)
{
   (void)f;
   ticks++;
   if (ticks - hb_last >= hb_every) {
      hb_last = ticks;
      kit_printf("CKB hb=%llu pass=%llu at=%llu\n", (unsigned long long)++hb_count,
                 (unsigned long long)cur_pass, (unsigned long long)cur_kib);
   }
   kit_pic_eoi(0);
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
   va_list ap;

   va_start(ap, fmt);
   kit_cli();
   kit_vprintf(fmt, ap);
   kit_sti();
   va_end(ap);
}

static inline uint64_t mix64(uint64_t x)
{
   x ^= x >> 30;
   x *= 0xbf58476d1ce4e5b9ull;
   x ^= x >> 27;
   x *= 0x94d049bb133111ebull;
   return x ^ (x >> 31);
}

/* The 512 words of a page of each kind (pg: page index in the region, or a
 * value that also carries the pass number for the hot area). */
static inline uint64_t random_start(uint64_t pg)
{
   return mix64(pg * 0x9e3779b97f4a7c15ull + seed) | 1;
}

static inline uint64_t random_next(uint64_t *x)
{
   *x ^= *x >> 12;
   *x ^= *x << 25;
   *x ^= *x >> 27;
   return *x * 0x2545f4914f6cdd1dull;
}

static inline uint64_t text_word(uint64_t pg, uint64_t i)
{
   uint64_t rec = i >> 3, base = 0xffff888000000000ull | pg << 12 | rec << 6;

   switch (i & 7) {
   case 0:
      return base;
   case 1:
      return pg;
   case 2:
      return rec | 0x100000000ull;
   case 4:
      return mix64(pg << 6 | rec) & 0xffff;
   case 6:
      return 0x6b6b6b6b6b6b6b6bull;
   case 7:
      return base + 64;
   default:
      return 0;
   }
}

/* ---- the page map (CPL3) */

static uint64_t pct_random = 30, pct_text = 30;

static uint64_t user_build_map(uint64_t arg)
{
   volatile uint8_t *map = (volatile uint8_t *)(uintptr_t)MAP_BASE;
   uint64_t counts[3] = { 0, 0, 0 };
   (void)arg;

   for (uint64_t pg = 0; pg < region_pages;) {
      uint64_t h = mix64(pg ^ seed << 32);
      uint64_t len = 1 + (h & 63), w = (h >> 8) % 100;
      uint8_t kind = w < pct_random ? KIND_RANDOM : w < pct_random + pct_text ? KIND_TEXT
                                                                             : KIND_ZERO;
      for (uint64_t i = 0; i < len && pg < region_pages; i++, pg++) {
         map[pg] = kind;
         counts[kind]++;
      }
   }
   /* pages of random and text kind, packed */
   return counts[KIND_RANDOM] << 32 | counts[KIND_TEXT];
}

/* ---- fill and check one unit (CPL3) */

static uint64_t bad_page, bad_word, bad_expected, bad_got;

static bool check_page(volatile uint64_t *p, uint64_t pg, unsigned kind, uint64_t tag)
{
   uint64_t x, v;

   switch (kind) {
   case KIND_RANDOM:
      x = random_start(pg ^ tag);
      for (uint64_t i = 0; i < 512; i++) {
         v = random_next(&x);
         if (p[i] != v) {
            bad_word = i, bad_expected = v, bad_got = p[i];
            return false;
         }
      }
      return true;
   case KIND_TEXT:
      for (uint64_t i = 0; i < 512; i++) {
         v = text_word(pg ^ tag, i);
         if (p[i] != v) {
            bad_word = i, bad_expected = v, bad_got = p[i];
            return false;
         }
      }
      return true;
   default:
      for (uint64_t i = 0; i < 512; i++) {
         if (p[i] != 0) {
            bad_word = i, bad_expected = 0, bad_got = p[i];
            return false;
         }
      }
      return true;
   }
}

static void fill_page(volatile uint64_t *p, uint64_t pg, unsigned kind, uint64_t tag)
{
   uint64_t x;

   switch (kind) {
   case KIND_RANDOM:
      x = random_start(pg ^ tag);
      for (uint64_t i = 0; i < 512; i++) {
         p[i] = random_next(&x);
      }
      break;
   case KIND_TEXT:
      for (uint64_t i = 0; i < 512; i++) {
         p[i] = text_word(pg ^ tag, i);
      }
      break;
   default:
      /* Left as they are when they read zero (free memory that was never
       * used); firmware (QEMU's SeaBIOS) may have left data in some. */
      for (uint64_t i = 0; i < 512; i++) {
         if (p[i] != 0) {
            p[i] = 0;
         }
      }
      break;
   }
}

/* arg: first page of the unit. Returns 0, or the bad page + 1. */
static uint64_t user_fill(uint64_t first)
{
   const volatile uint8_t *map = (const volatile uint8_t *)(uintptr_t)MAP_BASE;

   for (uint64_t pg = first; pg < first + UNIT_PAGES && pg < region_pages; pg++) {
      fill_page((volatile uint64_t *)(uintptr_t)(REGION_BASE + pg * PAGE), pg, map[pg], 0);
   }
   return 0;
}

static uint64_t user_check(uint64_t first)
{
   const volatile uint8_t *map = (const volatile uint8_t *)(uintptr_t)MAP_BASE;

   for (uint64_t pg = first; pg < first + UNIT_PAGES && pg < region_pages; pg++) {
      if (!check_page((volatile uint64_t *)(uintptr_t)(REGION_BASE + pg * PAGE), pg, map[pg],
                      0)) {
         bad_page = pg;
         return pg + 1;
      }
   }
   return 0;
}

/* The hot area: check the last pass's pattern (pass > 0), write this one's.
 * arg: the pass number. Returns 0, or the bad page + 1. */
static uint64_t user_hot(uint64_t pass)
{
   for (uint64_t pg = 0; pg < HOT_SIZE / PAGE; pg++) {
      volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)(HOT_BASE + pg * PAGE);
      unsigned kind = pg & 1 ? KIND_TEXT : KIND_RANDOM;
      if (pass > 0 && !check_page(p, pg, kind, (pass - 1) << 40)) {
         bad_page = pg;
         return pg + 1;
      }
      fill_page(p, pg, kind, pass << 40);
   }
   return 0;
}

/* ---- the kernel side (CPL0) */

static void progress(uint64_t pass, uint64_t pg)
{
   cur_pass = pass;
   cur_kib = (pg + UNIT_PAGES < region_pages ? pg + UNIT_PAGES : region_pages) * (PAGE / 1024);
}

static void run_user(const char *what, uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t pass)
{
   uint64_t ret = 0;
   kit_fault f;

   if (kit_user_run(fn, arg, &ret, &f)) {
      kit_cli();
      kit_printf("CKB FAIL %s faulted: %s at rip 0x%lx cr2 0x%lx\n", what,
                 kit_exception_name((unsigned)f.vector), f.rip, f.cr2);
      kit_fail("ckb", "%s faulted", what);
      kit_exit(KIT_FAIL);
   }
   if (ret) {
      uint64_t base = fn == user_hot ? HOT_BASE : REGION_BASE;
      kit_cli();
      kit_printf("CKB FAIL %s pass=%llu page=%llu (0x%llx) word=%llu expected 0x%llx got 0x%llx\n",
                 what, (unsigned long long)pass, (unsigned long long)bad_page,
                 (unsigned long long)(base + bad_page * PAGE), (unsigned long long)bad_word,
                 (unsigned long long)bad_expected, (unsigned long long)bad_got);
      kit_fail("ckb", "%s: memory is not what it was", what);
      kit_exit(KIT_FAIL);
   }
}

void kit_main(void)
{
   uint64_t mb = 64, hz = 1000, counts, t0;

   kit_poweroff_at_exit();
   kit_cmdline_u64("ckb.mb", &mb);
   kit_cmdline_u64("ckb.random", &pct_random);
   kit_cmdline_u64("ckb.text", &pct_text);
   kit_cmdline_u64("ckb.hz", &hz);
   kit_cmdline_u64("ckb.hb", &hb_every);
   kit_cmdline_u64("ckb.seed", &seed);
   region_pages = (mb << 20) / PAGE;
   if (mb == 0 || region_pages > MAP_MAX || pct_random + pct_text > 100 || hz < 19 ||
       hz > 10000 || hb_every == 0) {
      kit_fail("ckb-setup", "bad ckb.mb, ckb.random, ckb.text, ckb.hz or ckb.hb");
      kit_exit(KIT_FAIL);
   }
   if (kit_boot.ram_top < REGION_BASE + (mb << 20) || REGION_BASE + (mb << 20) > (4ull << 30)) {
      kit_fail("ckb-setup", "ckb.mb=%llu needs RAM up to 0x%llx below 4 GiB; RAM ends at 0x%lx",
               (unsigned long long)mb, (unsigned long long)(REGION_BASE + (mb << 20)),
               kit_boot.ram_top);
      kit_exit(KIT_FAIL);
   }
   kit_pic_init(VEC_PIC);
   kit_set_handler(VEC_PIC, on_tick);
   kit_pit_rate((uint32_t)((KIT_PIT_HZ + hz / 2) / hz));
   kit_pic_set_mask(0xfffe);
   kit_sti();

   {
      kit_fault f;
      if (kit_user_run(user_build_map, 0, &counts, &f)) {
         kit_fail("ckb-setup", "building the page map faulted: %s at 0x%lx",
                  kit_exception_name((unsigned)f.vector), f.rip);
         kit_exit(KIT_FAIL);
      }
   }
   t0 = ticks;
   for (uint64_t pg = 0; pg < region_pages; pg += UNIT_PAGES) {
      run_user("fill", user_fill, pg, 0);
      progress(0, pg);
   }
   run_user("hot", user_hot, 0, 0);
   say("CKB fill done mb=%llu random_pages=%llu text_pages=%llu zero_pages=%llu "
              "ticks=%llu\n", (unsigned long long)mb, (unsigned long long)(counts >> 32),
              (unsigned long long)(counts & 0xffffffffull),
              (unsigned long long)(region_pages - (counts >> 32) - (counts & 0xffffffffull)),
              (unsigned long long)(ticks - t0));
   say("CKB ready mb=%llu hz=%llu\n", (unsigned long long)mb, (unsigned long long)hz);

   for (uint64_t pass = 1;; pass++) {
      t0 = ticks;
      cur_pass = pass;
      cur_kib = 0;
      run_user("hot", user_hot, pass, pass);
      for (uint64_t pg = 0; pg < region_pages; pg += UNIT_PAGES) {
         run_user("check", user_check, pg, pass);
         progress(pass, pg);
      }
      say("CKB pass=%llu ok ticks=%llu\n", (unsigned long long)pass,
                 (unsigned long long)(ticks - t0));
   }
}
