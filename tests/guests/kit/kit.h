/*
 * tests/guests/kit/kit.h - the guest test kit: what a guest test program
 * can use. Freestanding, 64-bit long mode, CPL0, identity-mapped 4 GiB.
 *
 * A program defines kit_main(). It reports each check on COM1 as one line
 *     TEST <name>: PASS
 *     TEST <name>: FAIL <reason>
 *     TEST <name>: SKIP <reason>
 * and when kit_main() returns, the kit prints "KIT RESULT: PASS|FAIL|SKIP"
 * and writes the result (0 pass, 1 fail, 77 skip) to the test-exit port
 * KIT_EXIT_PORT, which the host runner (and QEMU's isa-debug-exit) turn
 * into the exit status.
 *
 * Guest kernel-mode code may be emulated one instruction at a time on some
 * KVM hosts (~1 us per instruction): keep CPL0 work short and run long
 * loops at CPL3 with kit_user_run().
 */
#ifndef KIT_H
#define KIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KIT_COM1      0x3f8
#define KIT_EXIT_PORT 0x501

#define KIT_PASS 0
#define KIT_FAIL 1
#define KIT_SKIP 77

/* ---- the program ------------------------------------------------------------ */

void kit_main(void);

/* ---- reporting ---------------------------------------------------------------- */

void kit_putc(char c);
void kit_puts(const char *s);
void kit_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kit_vprintf(const char *fmt, va_list ap);
int kit_snprintf(char *buf, size_t size, const char *fmt, ...)
   __attribute__((format(printf, 3, 4)));

void kit_pass(const char *name);
void kit_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kit_skip(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reports PASS when cond holds, else FAIL with the message; returns cond. */
bool kit_check(const char *name, bool cond, const char *fmt, ...)
   __attribute__((format(printf, 3, 4)));

/* Ends the run at once with a result (KIT_PASS, KIT_FAIL, KIT_SKIP). */
void kit_exit(int result) __attribute__((noreturn));

/* Called by kit_exit() after the result line and the exit-port write, when
 * set (default NULL: nothing). Machines without a test-exit device (the
 * vmx's PC platform) end the run here: kit_poweroff_at_exit() in
 * platform.h installs an ACPI S5 power-off. */
extern void (*kit_exit_hook)(int result);

/* ---- boot information --------------------------------------------------------- */

enum { KIT_BOOT_MULTIBOOT = 1, KIT_BOOT_PVH = 2 };

typedef struct kit_bootinfo {
   int proto;                 /* KIT_BOOT_* */
   uint64_t ram_top;          /* end of the highest usable RAM range */
   uint64_t ram_bytes;        /* sum of usable RAM */
   const char *cmdline;       /* "" when none */
} kit_bootinfo;

extern kit_bootinfo kit_boot;

/* ---- traps ---------------------------------------------------------------------- */

typedef struct kit_frame {
   uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
   uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
   uint64_t vector, error;
   uint64_t rip, cs, rflags, rsp, ss;   /* pushed by the CPU */
} kit_frame;

typedef void (*kit_handler)(kit_frame *f);

/* Installs a handler for a vector (NULL restores the default: exceptions
 * are fatal unless caught by kit_try/kit_user_run, other vectors are counted
 * as unexpected). Handlers run at CPL0 with interrupts off. */
void kit_set_handler(unsigned vector, kit_handler h);
/* Sets the privilege level needed to raise vector with INT n (0 or 3). */
void kit_set_gate_dpl(unsigned vector, unsigned dpl);
/* Unexpected interrupts seen so far (vectors >= 32 with no handler). */
unsigned kit_unexpected_interrupts(void);

typedef struct kit_fault {
   uint64_t vector, error, rip, cr2;
   bool user;                 /* it happened at CPL3 */
} kit_fault;

/* Runs fn(arg) at CPL0. Returns false when it returned normally, true when
 * it raised an exception (vector < 32), which is described in *fault and
 * abandons fn at the faulting instruction. */
bool kit_try(void (*fn)(void *), void *arg, kit_fault *fault);

/* Runs fn(arg) at CPL3 on the user stack (every port allowed through the
 * TSS I/O bitmap, IOPL 0, interrupts enabled as in any OS's user mode; the
 * kernel's own IF is restored on return). Returns false with
 * *ret = fn's result when it returned, true with *fault filled in when it
 * raised an exception. Not reentrant. */
bool kit_user_run(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t *ret, kit_fault *fault);

const char *kit_exception_name(unsigned vector);

/* The 2 MiB page-directory entry that maps va (va < 4 GiB). After changing
 * it, call kit_invlpg(va). */
uint64_t *kit_pde(uint64_t va);

/* ---- CPU ------------------------------------------------------------------------- */

static inline void kit_outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(port)); }
static inline void kit_outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" :: "a"(v), "Nd"(port)); }
static inline void kit_outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" :: "a"(v), "Nd"(port)); }
static inline uint8_t kit_inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint16_t kit_inw(uint16_t port) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t kit_inl(uint16_t port) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline uint64_t kit_rdmsr(uint32_t msr)
{
   uint32_t lo, hi;

   __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
   return (uint64_t)hi << 32 | lo;
}

static inline void kit_wrmsr(uint32_t msr, uint64_t v)
{
   __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t kit_rdtsc(void)
{
   uint32_t lo, hi;

   __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
   return (uint64_t)hi << 32 | lo;
}

static inline void kit_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
   __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                    : "a"(leaf), "c"(sub));
}

#define KIT_READ_CR(n) ({ uint64_t v_; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v_)); v_; })
static inline uint64_t kit_read_cr0(void) { return KIT_READ_CR(0); }
static inline uint64_t kit_read_cr2(void) { return KIT_READ_CR(2); }
static inline uint64_t kit_read_cr3(void) { return KIT_READ_CR(3); }
static inline uint64_t kit_read_cr4(void) { return KIT_READ_CR(4); }

static inline void kit_invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory"); }
static inline void kit_sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void kit_cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline uint64_t kit_rflags(void)
{
   uint64_t f;

   __asm__ volatile("pushfq; popq %0" : "=r"(f));
   return f;
}

/* ---- MMIO -------------------------------------------------------------------------- */

static inline uint8_t kit_mmio_read8(uint64_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t kit_mmio_read16(uint64_t a) { return *(volatile uint16_t *)a; }
static inline uint32_t kit_mmio_read32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline uint64_t kit_mmio_read64(uint64_t a) { return *(volatile uint64_t *)a; }
static inline void kit_mmio_write8(uint64_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void kit_mmio_write16(uint64_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void kit_mmio_write32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void kit_mmio_write64(uint64_t a, uint64_t v) { *(volatile uint64_t *)a = v; }

/* ---- PCI configuration space (mechanism #1, ports 0xcf8/0xcfc) -------------------- */

uint32_t kit_pci_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off);
uint16_t kit_pci_read16(unsigned bus, unsigned dev, unsigned fn, unsigned off);
uint8_t kit_pci_read8(unsigned bus, unsigned dev, unsigned fn, unsigned off);
void kit_pci_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v);
void kit_pci_write16(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint16_t v);
void kit_pci_write8(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint8_t v);
/* Calls fn for every present function (vendor != 0xffff) on buses 0..max_bus. */
unsigned kit_pci_scan(unsigned max_bus, void (*fn)(unsigned bus, unsigned dev, unsigned func,
                                                    uint32_t id, void *arg), void *arg);

/* ---- freestanding C ------------------------------------------------------------------ */

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

#endif
