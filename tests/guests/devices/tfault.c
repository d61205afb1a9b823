/*
 * tests/guests/devices/tfault.c - a triple fault. Boot 1 marks CMOS NVRAM,
 * loads an empty IDT and executes UD2: #UD cannot be delivered, nor can
 * the #GP and #DF that follow, so the CPU shuts down. What happens next is
 * the machine's choice (cpu.tripleFault):
 *   reset (the default): the program runs again, sees the mark and passes;
 *   poweroff: the VM powers off; the host test checks that there is no
 *     second start and that vmware.log gives the reason.
 */
#include "kit/kit.h"
#include "kit/platform.h"

#define NV_MARK 0x49
#define MARK    0xc1

void kit_main(void)
{
   uint8_t nv = kit_cmos_read(NV_MARK);
   struct __attribute__((packed)) { uint16_t limit; uint64_t base; } empty = { 0, 0 };

   kit_poweroff_at_exit();
   if (nv == MARK) {
      kit_cmos_write(NV_MARK, 0);
      kit_pass("triple-fault-reset");
      kit_printf("tfault: boot 2: the machine was reset after the triple fault\n");
      return;
   }
   kit_cmos_write(NV_MARK, MARK);
   kit_check("mark-kept", kit_cmos_read(NV_MARK) == MARK, "CMOS 0x%x reads 0x%x", NV_MARK,
             kit_cmos_read(NV_MARK));
   kit_printf("tfault: boot 1: empty IDT, then UD2\n");
   __asm__ volatile("cli\n\t"
                    "lidt %0\n\t"
                    "ud2" :: "m"(empty) : "memory");
   kit_fail("triple-fault", "still running after UD2 with an empty IDT");
}
