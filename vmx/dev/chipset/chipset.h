/*
 * vmx/dev/chipset/chipset.h - the PC chipset devices.
 *
 * Each is one static descriptor; the platform's device table lists them in
 * an explicit order. Recommended order (dependencies first):
 *
 *   vmx_dev_pci        PCI host bridge: before every device with a PCI
 *                      function (they register in their create())
 *   vmx_dev_reset      reset control register, port 0xcf9
 *   vmx_dev_cmos       MC146818 RTC and NVRAM, ports 0x70-0x71, IRQ 8
 *   vmx_dev_uart       16550A COM1-COM4 (serial0-serial3 keys)
 *   vmx_dev_i8042      keyboard controller, ports 0x60/0x64 and 0x92
 *   vmx_dev_ps2kbd     PS/2 keyboard: after vmx_dev_i8042 (attaches to it)
 *   vmx_dev_ps2mouse   PS/2 mouse: after vmx_dev_i8042
 *   vmx_dev_backdoor   VMware backdoor port 0x5658: before any device that
 *                      registers backdoor commands
 *
 * Interfaces for other code: pci.h (PCI functions, BARs, INTx, MSI),
 * backdoor.h (backdoor_register), ps2kbd.h / ps2mouse.h (host input for
 * the MKS), uart.h (pty paths, flush), cmos.h (NMI mask, NVRAM), i8042.h
 * (A20 state, attaching PS/2 devices).
 */
#ifndef VMX_DEV_CHIPSET_CHIPSET_H
#define VMX_DEV_CHIPSET_CHIPSET_H

#include "vmx/dev/platform.h"

extern const vmx_device_desc vmx_dev_pci;
extern const vmx_device_desc vmx_dev_reset;
extern const vmx_device_desc vmx_dev_cmos;
extern const vmx_device_desc vmx_dev_uart;
extern const vmx_device_desc vmx_dev_i8042;
extern const vmx_device_desc vmx_dev_ps2kbd;
extern const vmx_device_desc vmx_dev_ps2mouse;
extern const vmx_device_desc vmx_dev_backdoor;

#endif
