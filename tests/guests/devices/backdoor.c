/*
 * tests/guests/devices/backdoor.c - the VMware backdoor port (0x5658) on
 * the vmx's platform, register by register: GETVERSION (EAX 6, EBX magic,
 * ECX product 4 = Workstation), GETMHZ against CPUID 0x40000010 and against
 * the TSC measured with the ACPI PM timer, an unknown command (EAX all
 * ones, other registers unchanged), a wrong magic (nothing changes), only
 * the low halves of 64-bit registers written, byte access not a call, the
 * OUT form, and calls from CPL3.
 */
#include "kit/kit.h"
#include "kit/platform.h"

#define BDOOR_MAGIC 0x564d5868u
#define BDOOR_PORT  0x5658

typedef struct regs {
   uint64_t a, b, c, d, si, di;
} regs;

static void bd_in(regs *r)
{
   __asm__ volatile("inl %%dx, %%eax"
                    : "+a"(r->a), "+b"(r->b), "+c"(r->c), "+d"(r->d), "+S"(r->si), "+D"(r->di)
                    :: "memory");
}

static void bd_out(regs *r)
{
   __asm__ volatile("outl %%eax, %%dx"
                    : "+a"(r->a), "+b"(r->b), "+c"(r->c), "+d"(r->d), "+S"(r->si), "+D"(r->di)
                    :: "memory");
}

static regs call(uint32_t cmd)
{
   regs r = { BDOOR_MAGIC, 0x1111111100000000ull | ~BDOOR_MAGIC, cmd, BDOOR_PORT,
              0x5151515151515151ull, 0xd1d1d1d1d1d1d1d1ull };

   bd_in(&r);
   return r;
}

static uint64_t user_getversion(uint64_t arg)
{
   regs r = call(10);

   (void)arg;
   return (uint32_t)r.b == BDOOR_MAGIC ? (uint32_t)r.a : ~0ull;
}

void kit_main(void)
{
   regs r;
   uint64_t ret = 0;
   kit_fault f;
   uint32_t mhz;

   kit_poweroff_at_exit();

   r = call(10);
   kit_printf("backdoor: GETVERSION EAX %lu EBX 0x%lx ECX %lu\n", r.a, r.b, r.c);
   kit_check("getversion", (uint32_t)r.a == 6 && (uint32_t)r.b == BDOOR_MAGIC &&
             (uint32_t)r.c == 4, "EAX 0x%lx EBX 0x%lx ECX 0x%lx: expected 6, the magic, 4", r.a,
             r.b, r.c);
   kit_check("upper-halves-kept", r.b >> 32 == 0x11111111u && r.si == 0x5151515151515151ull &&
             r.di == 0xd1d1d1d1d1d1d1d1ull, "RBX 0x%lx RSI 0x%lx RDI 0x%lx", r.b, r.si, r.di);

   r = call(1);
   mhz = (uint32_t)r.a;
   kit_printf("backdoor: GETMHZ %u MHz; CPUID 0x40000010 TSC %lu kHz\n", mhz, kit_tsc_khz());
   kit_check("getmhz", (uint32_t)r.b == BDOOR_MAGIC && (!kit_tsc_khz() ||
             mhz == (kit_tsc_khz() + 500) / 1000), "EAX %u EBX 0x%lx; CPUID says %lu kHz", mhz,
             r.b, kit_tsc_khz());
   {
      /* The TSC against the ACPI PM timer (3.579545 MHz) for 100 ms. */
      uint32_t p0 = kit_inl(0x608), p1;
      uint64_t t0 = kit_rdtsc(), t1, measured;

      do {
         p1 = kit_inl(0x608);
      } while (p1 - p0 < 357954);
      t1 = kit_rdtsc();
      measured = (t1 - t0) * 3579545ull / (p1 - p0) / 1000000;
      kit_check("getmhz-measured", measured * 100 >= mhz * 95ull &&
                measured * 100 <= mhz * 105ull, "the TSC runs at %lu MHz by the PM timer, "
                "GETMHZ says %u", measured, mhz);
   }

   r = call(0x7fff);
   kit_check("unknown-command", (uint32_t)r.a == 0xffffffffu &&
             r.b == (0x1111111100000000ull | ~BDOOR_MAGIC) && r.c == 0x7fff && r.d == BDOOR_PORT,
             "EAX 0x%lx EBX 0x%lx ECX 0x%lx EDX 0x%lx", r.a, r.b, r.c, r.d);

   r = (regs){ 0x12345678, 0xabcdef, 10, BDOOR_PORT, 1, 2 };
   bd_in(&r);
   kit_check("wrong-magic", r.a == 0x12345678 && r.b == 0xabcdef && r.c == 10,
             "EAX 0x%lx EBX 0x%lx ECX 0x%lx after a call without the magic", r.a, r.b, r.c);

   kit_check("byte-access", kit_inb(BDOOR_PORT) == 0xff && kit_inw(BDOOR_PORT) == 0xffff,
             "byte read 0x%x, word read 0x%x", kit_inb(BDOOR_PORT), kit_inw(BDOOR_PORT));

   r = (regs){ BDOOR_MAGIC, 0, 10, BDOOR_PORT, 0, 0 };
   bd_out(&r);
   kit_check("out-form", (uint32_t)r.b == BDOOR_MAGIC && (uint32_t)r.a == 6,
             "OUT call: EAX 0x%lx EBX 0x%lx", r.a, r.b);

   if (kit_user_run(user_getversion, 0, &ret, &f)) {
      kit_fail("from-cpl3", "%s at 0x%lx", kit_exception_name((unsigned)f.vector), f.rip);
   } else {
      kit_check("from-cpl3", ret == 6, "GETVERSION from CPL3 gave 0x%lx", ret);
   }
}
