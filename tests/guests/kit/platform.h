/*
 * tests/guests/kit/platform.h - PC platform helpers for kit programs that
 * run on a full machine (the vmx, QEMU): the kernel command line, CMOS,
 * the TSC, ACPI tables and S5 power-off, the local APIC, the IOAPIC, the
 * 8259 PICs, the PIT, and waiting for interrupts at CPL3.
 *
 * Separate from kit.c: programs that use it add kit/platform.c to their
 * sources. Everything here runs at CPL0 unless it says otherwise; it is
 * written for hosts where guest kernel code is emulated (~1 us per
 * instruction), so loops are short and long waits happen at CPL3.
 */
#ifndef KIT_PLATFORM_H
#define KIT_PLATFORM_H

#include "kit.h"

/* ---- kernel command line --------------------------------------------------------- */

/* Copies the value of "key=value" on the command line into buf (up to the
 * next space); false when the key is absent. */
bool kit_cmdline_get(const char *key, char *buf, size_t size);
/* The same, parsed as a decimal (or 0x hexadecimal) number. */
bool kit_cmdline_u64(const char *key, uint64_t *v);

/* ---- CMOS (ports 0x70/0x71; NMIs stay unmasked) ------------------------------------ */

uint8_t kit_cmos_read(uint8_t index);
void kit_cmos_write(uint8_t index, uint8_t v);

/* ---- time -------------------------------------------------------------------------- */

/* The TSC frequency in kHz from the hypervisor leaf 0x40000010 (VMware's
 * timing leaf), or 0 when the CPU does not report it. */
uint64_t kit_tsc_khz(void);
/* The APIC bus (timer) frequency in kHz from leaf 0x40000010, or 0. */
uint64_t kit_apic_bus_khz(void);
/* Busy-waits (at the current privilege level) for us microseconds of TSC
 * time; needs kit_tsc_khz(). */
void kit_udelay(uint64_t us);

/* ---- ACPI --------------------------------------------------------------------------- */

typedef struct __attribute__((packed)) kit_acpi_header {
   char sig[4];
   uint32_t length;
   uint8_t revision, checksum;
   char oem_id[6], oem_table_id[8];
   uint32_t oem_revision, creator_id, creator_revision;
} kit_acpi_header;

/* Sum of len bytes mod 256 (0 for a valid table). */
uint8_t kit_acpi_sum(const void *p, size_t len);
/* The RSDP, found by scanning the EBDA's first KiB and 0xE0000-0xFFFFF on
 * 16-byte boundaries for "RSD PTR " with a valid checksum; NULL when none. */
const uint8_t *kit_acpi_rsdp(void);
/* The n-th table with signature sig (from the XSDT, else the RSDT); "DSDT"
 * is found through the FADT. NULL when absent. */
const kit_acpi_header *kit_acpi_table(const char *sig, unsigned n);

typedef struct kit_acpi_sleep {
   uint16_t pm1a_cnt, pm1b_cnt;   /* ports from the FADT (pm1b 0: none) */
   uint8_t slp_typ_a, slp_typ_b;  /* from \_S5 in the DSDT */
} kit_acpi_sleep;

/* Finds PM1a/b_CNT in the FADT and \_S5's SLP_TYP values in the DSDT.
 * On failure *why says what is missing. */
bool kit_acpi_s5(kit_acpi_sleep *s, const char **why);
/* Enters S5: writes SLP_TYP | SLP_EN to PM1a_CNT (and PM1b_CNT). Returns
 * only when the machine did not power off (with the reason printed). */
void kit_acpi_poweroff(void);
/* Makes kit_exit() power the machine off through ACPI after the result
 * line, for machines without the kit's test-exit port. */
void kit_poweroff_at_exit(void);

/* MADT contents. */
#define KIT_MAX_CPUS 64
typedef struct kit_madt {
   uint32_t lapic_addr;
   unsigned ncpus;                 /* enabled processor local APICs */
   uint8_t apic_id[KIT_MAX_CPUS];
   uint32_t ioapic_addr, ioapic_gsi_base;
   uint8_t ioapic_id;
   unsigned nioapics;
   bool pcat_compat;               /* dual 8259s present */
   /* interrupt source overrides: ISA IRQ -> GSI, flags (MPS INTI) */
   unsigned niso;
   struct { uint8_t irq; uint32_t gsi; uint16_t flags; } iso[16];
} kit_madt;

bool kit_acpi_madt(kit_madt *m);
/* The GSI of ISA IRQ irq per the MADT's overrides (identity when none);
 * *level / *low get the trigger and polarity (ISA default: edge, high). */
uint32_t kit_isa_irq_gsi(const kit_madt *m, unsigned irq, bool *level, bool *low);

/* ---- local APIC (xAPIC MMIO) ---------------------------------------------------------- */

#define KIT_LAPIC_BASE   0xfee00000u
#define KIT_LAPIC_ID     0x020
#define KIT_LAPIC_VER    0x030
#define KIT_LAPIC_TPR    0x080
#define KIT_LAPIC_EOI    0x0b0
#define KIT_LAPIC_SVR    0x0f0
#define KIT_LAPIC_ISR    0x100
#define KIT_LAPIC_IRR    0x200
#define KIT_LAPIC_ESR    0x280
#define KIT_LAPIC_ICR_LO 0x300
#define KIT_LAPIC_ICR_HI 0x310
#define KIT_LAPIC_LVT_TIMER 0x320
#define KIT_LAPIC_LVT_LINT0 0x350
#define KIT_LAPIC_LVT_LINT1 0x360
#define KIT_LAPIC_LVT_ERROR 0x370
#define KIT_LAPIC_TIMER_INIT 0x380
#define KIT_LAPIC_TIMER_CUR  0x390
#define KIT_LAPIC_TIMER_DIV  0x3e0

#define KIT_VEC_SPURIOUS 0xff

static inline uint32_t kit_lapic_read(unsigned reg) { return kit_mmio_read32(KIT_LAPIC_BASE + reg); }
static inline void kit_lapic_write(unsigned reg, uint32_t v) { kit_mmio_write32(KIT_LAPIC_BASE + reg, v); }
static inline void kit_lapic_eoi(void) { kit_lapic_write(KIT_LAPIC_EOI, 0); }
static inline unsigned kit_lapic_id(void) { return kit_lapic_read(KIT_LAPIC_ID) >> 24; }
/* Software-enables the LAPIC (SVR bit 8, spurious vector 0xff, which the
 * kit then ignores), TPR 0. */
void kit_lapic_enable(void);

/* ---- IOAPIC ------------------------------------------------------------------------------- */

#define KIT_IOAPIC_BASE 0xfec00000u
#define KIT_IOAPIC_LEVEL  (1u << 15)
#define KIT_IOAPIC_LOW    (1u << 13)
#define KIT_IOAPIC_MASKED (1u << 16)

uint32_t kit_ioapic_read(unsigned reg);
void kit_ioapic_write(unsigned reg, uint32_t v);
/* Redirection entry of pin as one 64-bit value. */
uint64_t kit_ioapic_entry(unsigned pin);
void kit_ioapic_set_entry(unsigned pin, uint64_t e);
/* Fixed delivery, physical destination apic_id, flags: KIT_IOAPIC_*. */
void kit_ioapic_route(unsigned pin, uint8_t vector, unsigned apic_id, uint32_t flags);
void kit_ioapic_mask(unsigned pin);

/* ---- 8259 PICs ----------------------------------------------------------------------------- */

/* Initialises both PICs (ICW1-4) with vectors base..base+15, all masked. */
void kit_pic_init(uint8_t base);
void kit_pic_set_mask(uint16_t mask);   /* bit n: IRQ n masked */
void kit_pic_eoi(unsigned irq);

/* ---- PIT ------------------------------------------------------------------------------------ */

#define KIT_PIT_HZ 1193182u
/* Channel 0 in mode 2 (rate generator) with the divisor (1-65536). */
void kit_pit_rate(uint32_t divisor);
/* Channel 0 in mode 0 with a count of 1: one last edge, then silence. */
void kit_pit_stop(void);

/* ---- waiting at CPL3 ----------------------------------------------------------------------- */

/* Runs at CPL3 with interrupts enabled until *counter >= target or tsc_ticks
 * TSC ticks have passed; returns the TSC ticks it waited. Interrupt
 * handlers (CPL0) update the counter. */
uint64_t kit_wait_irqs(volatile uint32_t *counter, uint32_t target, uint64_t tsc_ticks);

#endif
