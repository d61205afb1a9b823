/*
 * vmx/dev/chipset/pci.h - the PCI host bridge and the PCI device framework.
 *
 * The host bridge ("pci" device) answers configuration mechanism #1: the
 * CONFIG_ADDRESS register at port 0xcf8 (dword accesses only; byte and
 * word accesses to 0xcf8 are not the address register and are ignored) and
 * CONFIG_DATA at 0xcfc-0xcff (byte, word and dword accesses at any offset
 * that stays inside the dword). Port 0xcf9 is left to the reset control
 * register (reset.c). Only bus 0 exists: there are no PCI-to-PCI bridges,
 * so configuration cycles to other buses read all ones.
 *
 * The host bridge itself is function 00:00.0 with the IDs of the Intel
 * 82441FX (440FX) PMC: vendor 0x8086, device 0x1237, revision 0x02, class
 * 0x060000. Its device-specific registers (0x40-0xff) are read-only zero:
 * there is no firmware shadowing to control (PAM), memory is laid out by
 * the vmx.
 *
 * Functions. Other devices register functions at bus/device/function with
 * pci_register(), normally from their create() callback (so the "pci"
 * device must come before them in the platform's device table). Each gets
 * a 256-byte configuration space with a write mask, a write-1-to-clear
 * mask and a "fixed" mask (structural bits a checkpoint must match):
 *
 *   0x00 vendor, device     read-only
 *   0x04 command            I/O, memory, bus master, parity, SERR,
 *                           INTx disable writable; the rest reads 0
 *   0x06 status             bit 3 interrupt status and bit 4 capability
 *                           list read-only; bits 8, 11-15 write-1-to-clear
 *   0x08 revision, class    read-only
 *   0x0c cache line size, latency timer writable; header type read-only
 *                           (bit 7 is set on every function of a
 *                           multi-function device)
 *   0x10-0x27 BARs          see below
 *   0x2c subsystem IDs      read-only
 *   0x30 expansion ROM      not implemented: read-only zero
 *   0x34 capabilities ptr   read-only
 *   0x3c interrupt line     writable, power-on value = the routed GSI
 *   0x3d interrupt pin      read-only
 *   0x40-0xff               capabilities, and device-specific registers:
 *                           read-only unless the device gives a write mask
 *                           (pci_config_set_wmask; not inside a capability)
 *
 * BARs. pci_bar_define() makes a BAR of a power-of-two size: I/O (at
 * least 4 bytes, decoded in the 16-bit port space), 32-bit memory or 64-bit
 * memory (two BAR slots) of at least 16 bytes, optionally prefetchable.
 * Sizing works as on hardware: the address bits below the size read as zero
 * and the type bits are read-only, so writing all ones reads back the size
 * mask. A BAR is mapped on the platform (vmx_platform_map_pio/mmio) while
 * the command register enables its space and its address is assigned; an
 * address of 0 or the all-ones sizing pattern counts as unassigned, and so
 * does a range that does not fit its space. Moving the BAR or clearing the
 * enable bit unmaps it. A range that overlaps another device is refused by
 * the platform; the BAR then stays unmapped and the log says why.
 *
 * INTx. A function with an interrupt pin (INTA-INTD = 1-4) drives it with
 * pci_set_irq(). Pins are swizzled onto the IOAPIC's GSIs 16-19 as a
 * PCI-to-PCI bridge would swizzle them:
 *
 *     GSI = 16 + ((device + pin - 1) mod 4)        (pin 1 = INTA)
 *
 * so device 0 INTA -> 16, device 1 INTA -> 17, device 1 INTB -> 18, ...
 * (pci_intx_gsi() computes it; ACPI's _PRT must describe the same table,
 * level-triggered, active low). Several functions may share a GSI; the line
 * is the OR of them. A pin is not driven while the command register's INTx
 * disable bit is set or MSI is enabled; the status register's interrupt
 * bit still shows the function's own state.
 *
 * MSI. pci_msi_init() adds an MSI capability (1-32 vectors, 32- or 64-bit
 * address, optional per-vector masking). pci_msi_notify() sends vector v as
 * a memory write of (data | v) to the programmed address through
 * vmm_vm_msi() on the platform's monitor (or the sink set with
 * pci_host_set_msi_sink()), when MSI and bus mastering are enabled. A
 * masked vector sets its pending bit and is sent when unmasked. A multiple
 * message enable larger than the capability's count is clamped to it.
 *
 * Locking: the host has one mutex. Device code may call pci_set_irq(),
 * pci_msi_notify() and the pci_config_* accessors while holding its own
 * lock; the framework never calls device code while holding the host lock
 * (config_written callbacks run after it is released).
 */
#ifndef VMX_DEV_CHIPSET_PCI_H
#define VMX_DEV_CHIPSET_PCI_H

#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stdint.h>

/* The PCI MMIO window below 4 GiB: guest RAM below 4 GiB ends at
 * PCI_MMIO_WINDOW_START at most (the rest is above 4 GiB); the window ends
 * where the IOAPIC starts. The e820 map, ACPI _CRS and the CMOS memory
 * fields must all use these. */
#define PCI_MMIO_WINDOW_START 0xC0000000ull
#define PCI_MMIO_WINDOW_END   0xFEC00000ull

#define PCI_INTX_GSI_BASE 16u
#define PCI_INTX_GSI_COUNT 4u

#define PCI_MAX_DEVICES 32u
#define PCI_MAX_FUNCTIONS 8u
#define PCI_NUM_BARS 6u

/* Configuration space offsets. */
#define PCI_VENDOR_ID        0x00
#define PCI_DEVICE_ID        0x02
#define PCI_COMMAND          0x04
#define PCI_STATUS           0x06
#define PCI_REVISION_ID      0x08
#define PCI_CLASS_PROG       0x09
#define PCI_CACHE_LINE_SIZE  0x0c
#define PCI_LATENCY_TIMER    0x0d
#define PCI_HEADER_TYPE      0x0e
#define PCI_BAR0             0x10
#define PCI_SUBSYSTEM_VENDOR 0x2c
#define PCI_SUBSYSTEM_ID     0x2e
#define PCI_ROM_ADDRESS      0x30
#define PCI_CAPABILITY_LIST  0x34
#define PCI_INTERRUPT_LINE   0x3c
#define PCI_INTERRUPT_PIN    0x3d

#define PCI_COMMAND_IO          0x0001
#define PCI_COMMAND_MEMORY      0x0002
#define PCI_COMMAND_MASTER      0x0004
#define PCI_COMMAND_PARITY      0x0040
#define PCI_COMMAND_SERR        0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400

#define PCI_STATUS_INTERRUPT    0x0008
#define PCI_STATUS_CAP_LIST     0x0010
#define PCI_STATUS_W1C          0xf900

#define PCI_CAP_ID_MSI 0x05

#define PCI_MSI_FLAGS_ENABLE   0x0001
#define PCI_MSI_FLAGS_QMASK    0x000e
#define PCI_MSI_FLAGS_QSIZE    0x0070
#define PCI_MSI_FLAGS_64BIT    0x0080
#define PCI_MSI_FLAGS_MASKBIT  0x0100

typedef struct pci_host pci_host;
typedef struct pci_func pci_func;

typedef enum pci_bar_kind {
   PCI_BAR_IO = 0,
   PCI_BAR_MEM32 = 1,
   PCI_BAR_MEM64 = 2,
} pci_bar_kind;

#define PCI_BAR_UNMAPPED UINT64_MAX

typedef struct pci_func_info {
   const char *name;          /* for logs */
   uint16_t vendor_id;
   uint16_t device_id;
   uint8_t revision;
   uint32_t class_code;       /* base << 16 | sub << 8 | prog-if */
   uint16_t subsys_vendor_id;
   uint16_t subsys_id;
   uint8_t int_pin;           /* 0 = none, 1-4 = INTA-INTD */
   /* Called after the guest wrote [off, off+size) of config space and the
    * framework applied it (BAR moves, MSI state), without the host lock.
    * May be NULL. */
   void (*config_written)(void *opaque, unsigned off, unsigned size, uint32_t val);
   void *opaque;
} pci_func_info;

/* The host bridge of a platform ("pci" device), NULL if it has none. */
pci_host *pci_host_get(vmx_platform *p);

/* Register a function; its device must be 0-31, function 0-7, bus 0. */
pci_func *pci_register(pci_host *h, unsigned bus, unsigned dev, unsigned fn,
                       const pci_func_info *info, char **err);
/* Unmap its BARs, release its pin, remove it. */
void pci_unregister(pci_func *f);

/* Define a BAR (index 0-5; a 64-bit BAR takes index and index + 1). region
 * is copied; it receives offsets relative to the BAR's base. */
bool pci_bar_define(pci_func *f, unsigned index, pci_bar_kind kind, bool prefetchable,
                    uint64_t size, const vmx_io_region *region, char **err);
/* The address the BAR is mapped at now, or PCI_BAR_UNMAPPED. */
uint64_t pci_bar_address(pci_func *f, unsigned index);

/* Add a capability of len bytes (>= 2) at offset at (dword-aligned,
 * 0x40-0xff; 0 = after the previous ones) to the end of the list. Returns
 * its offset, or 0 with *err when it does not fit or overlaps another
 * capability. The ID and next pointer are filled in and read-only; the
 * rest of the capability is the device's (pci_config_init) and read-only
 * to the guest unless the framework manages it (MSI). */
unsigned pci_cap_add(pci_func *f, unsigned at, uint8_t id, unsigned len, char **err);
/* Add an MSI capability at offset at (0 = next free): nvectors 1, 2, 4, 8,
 * 16 or 32. */
bool pci_msi_init(pci_func *f, unsigned at, unsigned nvectors, bool addr64, bool maskable,
                  char **err);

/* Config space as the device sees it (no masks applied). off + size must
 * stay within 256 bytes; size 1, 2 or 4. */
uint32_t pci_config_get(pci_func *f, unsigned off, unsigned size);
void pci_config_set(pci_func *f, unsigned off, unsigned size, uint32_t val);
/* Like pci_config_set, also making val the power-on value of the register
 * (what a platform reset restores in its guest-writable bits). */
void pci_config_init(pci_func *f, unsigned off, unsigned size, uint32_t val);
/* Which bits the guest may write / clear by writing 1 (device area only:
 * offsets >= 0x40 outside capability headers). */
void pci_config_set_wmask(pci_func *f, unsigned off, unsigned size, uint32_t mask);
void pci_config_set_w1cmask(pci_func *f, unsigned off, unsigned size, uint32_t mask);

/* INTx: assert or deassert the function's pin. */
void pci_set_irq(pci_func *f, bool level);
/* MSI: true when the guest has enabled it. */
bool pci_msi_enabled(pci_func *f);
/* Signal vector v; returns true when it was sent or left pending under a
 * mask, false when MSI is off, bus mastering is off or v is out of range. */
bool pci_msi_notify(pci_func *f, unsigned vector);
/* True when the command register enables bus mastering (DMA). */
bool pci_bus_master(pci_func *f);

/* GSI of a device's pin (1-4), by the swizzle above. */
unsigned pci_intx_gsi(unsigned dev, unsigned pin);

/* Where MSIs go instead of vmm_vm_msi() (tests, a userspace LAPIC). */
typedef void (*pci_msi_sink_fn)(void *opaque, uint64_t addr, uint32_t data);
void pci_host_set_msi_sink(pci_host *h, pci_msi_sink_fn fn, void *opaque);

/* Host-side config accesses (what the 0xcf8/0xcfc ports do), for tests and
 * firmware-like setup code. */
uint32_t pci_host_config_read(pci_host *h, unsigned bus, unsigned dev, unsigned fn,
                              unsigned off, unsigned size);
void pci_host_config_write(pci_host *h, unsigned bus, unsigned dev, unsigned fn,
                           unsigned off, unsigned size, uint32_t val);

#endif
