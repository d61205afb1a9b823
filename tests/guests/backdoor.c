/*
 * tests/guests/backdoor.c - the VMware backdoor I/O port (0x5658): IN with
 * EAX = 'VMXh' magic, ECX = command, DX = port. GETVERSION (10) answers
 * EBX = magic, EAX = version, ECX = product type; GETMHZ (1) answers the
 * TSC frequency in MHz in EAX. The platform provides the backdoor in vmx;
 * until a platform answers, this program SKIPs, saying so (exit 77).
 */
#include "kit/kit.h"

#define BDOOR_MAGIC      0x564d5868u
#define BDOOR_PORT       0x5658
#define BDOOR_GETMHZ     1
#define BDOOR_GETVERSION 10

static void bdoor(uint32_t cmd, uint32_t r[4])
{
   __asm__ volatile("inl %%dx, %%eax"
                    : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                    : "a"(BDOOR_MAGIC), "b"(~BDOOR_MAGIC), "c"(cmd), "d"(BDOOR_PORT)
                    : "memory");
}

static uint64_t user_getversion(uint64_t arg)
{
   uint32_t r[4];

   (void)arg;
   bdoor(BDOOR_GETVERSION, r);
   return r[1] == BDOOR_MAGIC ? r[0] : ~0ull;
}

void kit_main(void)
{
   uint32_t r[4];
   uint64_t ret;
   kit_fault f;
   bool faulted;

   bdoor(BDOOR_GETVERSION, r);
   if (r[1] != BDOOR_MAGIC) {
      kit_skip("backdoor-getversion", "no VMware backdoor on port 0x%x (EBX 0x%x, EAX 0x%x): "
               "the platform does not provide it yet", BDOOR_PORT, r[1], r[0]);
      return;
   }
   kit_check("backdoor-getversion", r[0] != 0xffffffffu, "version 0x%x, product %u", r[0],
             r[2]);

   bdoor(BDOOR_GETMHZ, r);
   kit_check("backdoor-getmhz", r[1] == BDOOR_MAGIC && r[0] > 100 && r[0] < 100000,
             "EAX %u MHz, EBX 0x%x", r[0], r[1]);

   faulted = kit_user_run(user_getversion, 0, &ret, &f);
   kit_check("backdoor-from-cpl3", !faulted && ret != ~0ull, "faulted %d, result 0x%lx",
             faulted, ret);
}
