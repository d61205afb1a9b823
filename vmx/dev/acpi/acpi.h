/*
 * vmx/dev/acpi/acpi.h - the ACPI fixed hardware of the PC platform.
 *
 * One device, "acpi-pm": the PM1a event and control blocks, the 32-bit PM
 * timer (3.579545 MHz, from a host monotonic clock), a GPE0 block, the
 * fixed-feature power button and sleep control. The SCI goes to GSI 9
 * (level, active high, as the MADT's interrupt source override says).
 *
 * The port layout below is what vmx/boot/acpi-tables.c writes into the
 * FADT; the two must agree, so both use these constants.
 *
 *   0x600  PM1a_EVT_BLK  4 bytes: PM1_STS (16 bits) then PM1_EN (16 bits)
 *   0x604  PM1a_CNT_BLK  2 bytes: PM1_CNT
 *   0x608  PM_TMR_BLK    4 bytes: 32-bit timer (FADT TMR_VAL_EXT set)
 *   0x620  GPE0_BLK      8 bytes: GPE0_STS (4 bytes) then GPE0_EN (4 bytes)
 *
 * There is no SMI command port: the hardware is always in ACPI mode
 * (PM1_CNT.SCI_EN reads 1 and cannot be cleared).
 *
 * Sleep: SLP_EN with SLP_TYP = 0 (what \_S5 in our DSDT says) powers the
 * machine off: vmx_platform_request(VMX_REQ_POWEROFF). So the well known
 * "outw(0x604, 0x2000)" of small test kernels works here as it does under
 * QEMU. Other sleep types (S1-S4) are not offered by the DSDT and are
 * logged and ignored.
 */
#ifndef VMX_DEV_ACPI_ACPI_H
#define VMX_DEV_ACPI_ACPI_H

#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stdint.h>

/* Ports (see above). */
#define ACPI_PM_BASE         0x600
#define ACPI_PM1A_EVT_BLK    0x600
#define ACPI_PM1_EVT_LEN     4
#define ACPI_PM1A_CNT_BLK    0x604
#define ACPI_PM1_CNT_LEN     2
#define ACPI_PM_TMR_BLK      0x608
#define ACPI_PM_TMR_LEN      4
#define ACPI_GPE0_BLK        0x620
#define ACPI_GPE0_BLK_LEN    8

#define ACPI_SCI_GSI         9
#define ACPI_PM_TIMER_HZ     3579545u

/* PM1_STS bits (write 1 to clear). */
#define ACPI_PM1_TMR_STS     (1u << 0)
#define ACPI_PM1_BM_STS      (1u << 4)
#define ACPI_PM1_GBL_STS     (1u << 5)
#define ACPI_PM1_PWRBTN_STS  (1u << 8)
#define ACPI_PM1_SLPBTN_STS  (1u << 9)
#define ACPI_PM1_RTC_STS     (1u << 10)
#define ACPI_PM1_WAK_STS     (1u << 15)
/* PM1_EN bits. */
#define ACPI_PM1_TMR_EN      (1u << 0)
#define ACPI_PM1_GBL_EN      (1u << 5)
#define ACPI_PM1_PWRBTN_EN   (1u << 8)
#define ACPI_PM1_SLPBTN_EN   (1u << 9)
#define ACPI_PM1_RTC_EN      (1u << 10)
/* PM1_CNT bits. */
#define ACPI_PM1_SCI_EN      (1u << 0)
#define ACPI_PM1_BM_RLD      (1u << 1)
#define ACPI_PM1_GBL_RLS     (1u << 2)
#define ACPI_PM1_SLP_TYP_SHIFT 10
#define ACPI_PM1_SLP_TYP_MASK  (7u << 10)
#define ACPI_PM1_SLP_EN      (1u << 13)

/* The SLP_TYP value of S5 (soft off) in \_S5 and in PM1_CNT. */
#define ACPI_SLP_TYP_S5      0

/* The device descriptor; its instance is named "acpi-pm". */
extern const vmx_device_desc vmx_dev_acpi_pm;

/* Press the power button ("soft power off" from the UI or vmrun): sets
 * PWRBTN_STS and raises the SCI when the guest enabled it. Returns true
 * when the guest has PWRBTN_EN set, i.e. an ACPI OS is listening; false
 * means nobody will act on it and the caller should power off directly.
 * dev is vmx_platform_device(p, "acpi-pm"). Any thread. */
bool vmx_acpi_pm_power_button(void *dev);

/* Raise general-purpose event bit (0-31) of GPE0 (for hotplug later). */
void vmx_acpi_pm_set_gpe(void *dev, unsigned bit);

/* PM timer overflow: TMR_STS is updated whenever the guest reads PM1_STS;
 * to deliver the overflow SCI when the guest enabled TMR_EN, the machine
 * calls vmx_acpi_pm_poll() no later than vmx_acpi_pm_next_event_ns() from
 * now (UINT64_MAX: nothing to wait for). Linux does not use TMR_EN. */
void vmx_acpi_pm_poll(void *dev);
uint64_t vmx_acpi_pm_next_event_ns(void *dev);

/* For tests: replace the host monotonic clock (nanoseconds). The timer
 * keeps its current value across the switch. */
typedef uint64_t (*vmx_acpi_clock_fn)(void *opaque);
void vmx_acpi_pm_set_clock(void *dev, vmx_acpi_clock_fn fn, void *opaque);
/* The current 32-bit timer value, as the guest would read it. */
uint32_t vmx_acpi_pm_timer(void *dev);

#endif
