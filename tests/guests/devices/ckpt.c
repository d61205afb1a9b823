/*
 * tests/guests/devices/ckpt.c - a guest that notices lost or corrupted
 * memory, registers or interrupts across suspend/resume (run-ckpt.sh
 * suspends and resumes it while it runs).
 *
 * Round after round, at CPL3, it checks every 64-bit word of a buffer
 * (ckpt.mb MiB above 16 MiB, default 24) against the pattern of the last
 * round and writes the next round's pattern; the round number lives in
 * registers of the loop. The PIT ticks at 100 Hz and every round waits for
 * the next tick, so a timer that stops stops the rounds. Every round
 * prints "CKPT round=N ticks=T"; after ckpt.rounds rounds (default 40) it
 * reports and powers off. Any mismatch is a FAIL naming the word.
 */
#include "kit/kit.h"
#include "kit/platform.h"

#define BUF_BASE (16ull << 20)
#define TICK_HZ 100u
#define VEC_PIC 0x20u

static volatile uint64_t ticks;
static uint64_t words;

static void on_tick(kit_frame *f)
{
   (void)f;
   ticks++;
   kit_pic_eoi(0);
}

static inline uint64_t pattern(uint64_t round, uint64_t i)
{
   uint64_t x = (round + 1) * 0x9e3779b97f4a7c15ull ^ i * 0xbf58476d1ce4e5b9ull;
   x ^= x >> 31;
   x *= 0x94d049bb133111ebull;
   return x ^ (x >> 29);
}

/* Check round r-1's pattern and write round r's. Returns the index of the
 * first bad word + 1, or 0. */
static uint64_t user_round(uint64_t r)
{
   volatile uint64_t *buf = (volatile uint64_t *)(uintptr_t)BUF_BASE;
   uint64_t bad = 0;

   for (uint64_t i = 0; i < words; i++) {
      if (r > 0 && buf[i] != pattern(r - 1, i) && !bad) {
         bad = i + 1;
      }
      buf[i] = pattern(r, i);
   }
   return bad;
}

void kit_main(void)
{
   uint64_t mb = 24, rounds = 40, ret = 0;
   kit_fault f;

   kit_poweroff_at_exit();
   kit_cmdline_u64("ckpt.mb", &mb);
   kit_cmdline_u64("ckpt.rounds", &rounds);
   words = (mb << 20) / 8;
   if (mb == 0 || kit_boot.ram_top < BUF_BASE + (mb << 20)) {
      kit_fail("ckpt-setup", "needs RAM up to 0x%llx, the machine has up to 0x%lx",
               (unsigned long long)(BUF_BASE + (mb << 20)), kit_boot.ram_top);
      kit_exit(KIT_FAIL);
   }
   kit_pic_init(VEC_PIC);
   kit_set_handler(VEC_PIC, on_tick);
   kit_pit_rate((KIT_PIT_HZ + TICK_HZ / 2) / TICK_HZ);
   kit_pic_set_mask(0xfffe);
   kit_sti();

   for (uint64_t r = 0; r < rounds; r++) {
      if (kit_user_run(user_round, r, &ret, &f)) {
         kit_fail("ckpt-memory", "round %llu faulted: %s at 0x%lx", (unsigned long long)r,
                  kit_exception_name((unsigned)f.vector), f.rip);
         kit_exit(KIT_FAIL);
      }
      if (ret) {
         kit_fail("ckpt-memory", "round %llu: word %llu (0x%llx) is not round %llu's pattern",
                  (unsigned long long)r, (unsigned long long)(ret - 1),
                  (unsigned long long)(BUF_BASE + (ret - 1) * 8), (unsigned long long)r - 1);
         kit_exit(KIT_FAIL);
      }
      /* Each round waits for a PIT tick: if the timer stops across a
       * resume, the rounds stop and the test sees it. */
      uint64_t t = ticks;
      while (ticks == t) {
         __asm__ volatile("sti; hlt" ::: "memory");
      }
      kit_printf("CKPT round=%llu ticks=%llu\n", (unsigned long long)r,
                 (unsigned long long)ticks);
   }
   kit_pass("ckpt-memory");
   kit_exit(KIT_PASS);
}
