/*
 * vmx/dev/chipset/cmos.h - MC146818 real-time clock and CMOS NVRAM.
 *
 * Ports: 0x70 index (bits 0-6) and NMI mask (bit 7, 1 = NMIs masked;
 * write-only, reads return 0xff), 0x71 data. 128 bytes:
 *
 *   0x00-0x09  seconds, alarm seconds, minutes, alarm minutes, hours,
 *              alarm hours, day of week (1 = Sunday), day, month, year
 *   0x0a       register A: UIP (bit 7, read-only), divider DV (6-4), rate
 *              select RS (3-0)
 *   0x0b       register B: SET, PIE, AIE, UIE, SQWE, DM (1 = binary), 24/12
 *              (1 = 24 h), DSE
 *   0x0c       register C: IRQF, PF, AF, UF; reading clears it
 *   0x0d       register D: VRT (always 0x80)
 *   0x0e-0x7f  NVRAM; 0x32 is the century (ACPI FADT CENTURY)
 *
 * The clock is the host's UTC clock plus an offset (config key
 * rtc.diffFromUTC, seconds, default 0; or rtc.startTime, seconds since the
 * epoch, to start the clock at a fixed time at power-on). The guest sets the
 * time as on the chip: with SET (or the divider held in reset) the time
 * registers stop and take what is written; clearing SET (or starting the
 * divider, whose first update comes 0.5 s later) starts the clock from
 * them. Writing a time register while the clock runs changes that field.
 * Values are in BCD or binary and 12 or 24 h as register B says; the
 * century at 0x32 follows the same mode (the clock keeps 1900-2199; invalid
 * values written are clamped into range). Daylight saving (DSE) is stored
 * but never applied: the clock is UTC plus a fixed offset. The day of week
 * is its own counter, as on the chip: if the guest writes one that does
 * not match the date, it keeps that difference.
 *
 * UIP reads 1 during the last 244 us before each second. Interrupts go to
 * IRQ 8: periodic (PF, at the rate RS selects: 1 and 2 behave as 8 and 9),
 * alarm (AF, seconds/minutes/hours compared in the current mode, 0xc0-0xff
 * = any), update-ended (UF, every second while the clock runs); IRQF and
 * the line follow flag AND enable, and reading C lowers them. A thread
 * wakes at the next event only while an enabled interrupt can fire.
 *
 * Memory size (config key memsize, MB, default 256), as the BIOS leaves it:
 * 0x15-0x16 base memory in KB (640), 0x17-0x18 and 0x30-0x31 KB above 1 MB
 * (at most 0xffff), 0x34-0x35 64 KB blocks between 16 MB and the PCI hole
 * (PCI_MMIO_WINDOW_START), 0x5b-0x5d 64 KB blocks above 4 GB. 0x10-0x2d are
 * covered by the checksum at 0x2e-0x2f (high byte first). 0x14 (equipment)
 * says: no floppy, VGA, math coprocessor.
 *
 * Reset (the chip's RESET input) clears PIE, AIE, UIE, SQWE and register C
 * and unmasks NMIs; the time and the NVRAM survive, the memory fields are
 * rewritten.
 */
#ifndef VMX_DEV_CHIPSET_CMOS_H
#define VMX_DEV_CHIPSET_CMOS_H

#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stdint.h>

#define CMOS_CENTURY 0x32

typedef struct cmos cmos;

cmos *cmos_get(vmx_platform *p);
/* Bit 7 of the last write to port 0x70. */
bool cmos_nmi_masked(cmos *c);
/* NVRAM bytes 0x0e-0x7f for firmware-like setup code; other indexes are
 * refused (false / 0xff). */
bool cmos_nvram_write(cmos *c, unsigned index, uint8_t value);
uint8_t cmos_nvram_read(cmos *c, unsigned index);

#endif
