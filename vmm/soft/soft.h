/*
 * vmm/soft/soft.h - the software monitor's x86-64 interpreter core.
 *
 * This is the interface the soft monitor glue (vmm_vm/vmm_vcpu for
 * VMM_KIND_SOFTWARE) and the tests use. CPU state is exchanged in the
 * vmm_regs/vmm_sregs/vmm_fpu formats of vmm/monitor.h.
 *
 * Threading: one soft_cpu per host thread. soft_mem is shared by all vCPUs
 * of a VM; its slot table is set up before the vCPUs run.
 */
#ifndef VMM_SOFT_H
#define VMM_SOFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/monitor.h"

typedef struct soft_cpu soft_cpu;
typedef struct soft_mem soft_mem;

/* ---- guest physical memory --------------------------------------------- */
#define SOFT_MAX_SLOTS 64
#define SOFT_MAX_CPUS 64

soft_mem *soft_mem_new(void);
void soft_mem_free(soft_mem *m);
/* gpa, host and size page-aligned; slots must not overlap. 0 or -errno.
 * Any thread, also while vCPUs run: the new slot table is published at
 * once, and map/unmap return only after every vCPU of this soft_mem is
 * past an instruction boundary or quiescent (outside soft_cpu_run, asleep
 * in HLT, or inside an io callback), having dropped its TLB and decoded
 * blocks. So after unmap returns no vCPU touches the old host memory. */
int soft_mem_map(soft_mem *m, uint64_t gpa, void *host, uint64_t size, bool readonly);
int soft_mem_unmap(soft_mem *m, uint64_t gpa, uint64_t size);
/* Host pointer for [gpa, gpa+len) inside one slot, else NULL. */
void *soft_mem_gpa_to_hva(soft_mem *m, uint64_t gpa, uint64_t len);
/* Something other than a vCPU of this soft_mem (a device's DMA, the
 * platform loading an image) wrote guest RAM at [gpa, gpa+len): decoded
 * instructions cached from that range are dropped before any vCPU
 * executes them again. Any thread. */
void soft_mem_notify_write(soft_mem *m, uint64_t gpa, uint64_t len);

/* ---- what the platform provides ----------------------------------------- */
typedef struct soft_io {
   void *opaque;
   /* Port I/O: size 1, 2 or 4. A missing handler reads all-ones. */
   void (*pio_read)(void *opaque, soft_cpu *cpu, uint16_t port, unsigned size, uint32_t *val);
   void (*pio_write)(void *opaque, soft_cpu *cpu, uint16_t port, unsigned size, uint32_t val);
   /* Physical accesses outside RAM slots (or writes to read-only slots).
    * size 1, 2, 4 or 8. */
   void (*mmio_read)(void *opaque, soft_cpu *cpu, uint64_t gpa, unsigned size, uint64_t *val);
   void (*mmio_write)(void *opaque, soft_cpu *cpu, uint64_t gpa, unsigned size, uint64_t val);
   /* Maskable interrupt acknowledge: called when the CPU can take an
    * interrupt and soft_cpu_set_irq(cpu, true) is in effect. Returns the
    * vector, or -1 if the request went away (spurious). */
   int (*intr_ack)(void *opaque, soft_cpu *cpu);
   /* Called at an instruction boundary on the vCPU thread after
    * soft_cpu_notify(): look at the interrupt controller and turn what it
    * has into soft_cpu_set_irq/soft_cpu_nmi/soft_cpu_init/soft_cpu_sipi. */
   void (*poll)(void *opaque, soft_cpu *cpu);
   /* MSRs outside the interpreter (APIC base, x2APIC, TSC deadline): asked
    * first for every RDMSR/WRMSR. Return 1 handled, 0 #GP, -1 not mine
    * (the interpreter's own MSRs then). NULL: the interpreter's only. */
   int (*msr_read)(void *opaque, soft_cpu *cpu, uint32_t msr, uint64_t *val);
   int (*msr_write)(void *opaque, soft_cpu *cpu, uint32_t msr, uint64_t val);
   /* CR8 (the task priority) where the interrupt controller keeps it; NULL:
    * the CPU stores it. */
   uint64_t (*cr8_read)(void *opaque, soft_cpu *cpu);
   void (*cr8_write)(void *opaque, soft_cpu *cpu, uint64_t val);
} soft_io;

/* ---- vCPU --------------------------------------------------------------- */
soft_cpu *soft_cpu_new(soft_mem *mem, const soft_io *io, unsigned index);
void soft_cpu_free(soft_cpu *cpu);
/* Architectural power-on/RESET state (real mode, CS:IP = F000:FFF0). */
void soft_cpu_reset(soft_cpu *cpu);
/* INIT: the RESET state of the registers, keeping MSRs, x87/SSE state and
 * caches. The BSP then runs at the reset vector; an AP waits for a SIPI. */
void soft_cpu_init(soft_cpu *cpu, bool bsp);
/* Startup IPI: in wait-for-SIPI state, start in real mode at vector:0000
 * (CS = vector << 8). Ignored in any other state. */
void soft_cpu_sipi(soft_cpu *cpu, uint8_t vector);
/* An opaque pointer for the embedder (the monitor glue). */
void soft_cpu_set_user(soft_cpu *cpu, void *user);
void *soft_cpu_user(const soft_cpu *cpu);
unsigned soft_cpu_index(const soft_cpu *cpu);

void soft_get_regs(soft_cpu *cpu, vmm_regs *r);
void soft_set_regs(soft_cpu *cpu, const vmm_regs *r);
void soft_get_sregs(soft_cpu *cpu, vmm_sregs *s);
/* Returns 0, or -EINVAL for an inconsistent state (e.g. LMA without PAE). */
int soft_set_sregs(soft_cpu *cpu, const vmm_sregs *s);
void soft_get_fpu(soft_cpu *cpu, vmm_fpu *f);
/* -EINVAL for an image the CPU cannot be in (XCR0 without x87, unknown
 * XCR0 bits, reserved MXCSR bits, a compacted image). */
int soft_set_fpu(soft_cpu *cpu, const vmm_fpu *f);
/* 0 on success, -ENOENT for an MSR the model does not have. */
int soft_get_msr(soft_cpu *cpu, uint32_t index, uint64_t *val);
int soft_set_msr(soft_cpu *cpu, uint32_t index, uint64_t val);
void soft_get_debugregs(soft_cpu *cpu, vmm_debugregs *d);
void soft_set_debugregs(soft_cpu *cpu, const vmm_debugregs *d);
/* Events at an instruction boundary. The interpreter delivers everything
 * at once, so get never reports an injected event; set accepts injected
 * ones (a checkpoint from the KVM monitor) and delivers them first thing
 * in the next run. */
void soft_get_events(soft_cpu *cpu, vmm_events *e);
int soft_set_events(soft_cpu *cpu, const vmm_events *e);
/* Multiprocessor state (monitor.h's vmm_mp_state). */
vmm_mp_state soft_cpu_mp_state(const soft_cpu *cpu);
void soft_cpu_set_mp_state(soft_cpu *cpu, vmm_mp_state st);

/* The CPUID model: the host's vendor, family, model and brand with the
 * features the interpreter implements; hypervisor leaves 0x40000000 and
 * 0x40000010 as the KVM monitor presents them (VMwareVMware, TSC and APIC
 * bus kHz). with_apic adds the APIC and TSC-deadline bits (an interrupt
 * controller is attached). Returns the entry count (at most max). */
unsigned soft_cpuid_model(vmm_cpuid_entry *e, unsigned max, unsigned index, bool with_apic);
/* Host TSC frequency in kHz (measured once). */
uint32_t soft_host_tsc_khz(void);
int soft_set_cpuid(soft_cpu *cpu, const vmm_cpuid_entry *e, unsigned n);
unsigned soft_get_cpuid(soft_cpu *cpu, vmm_cpuid_entry *e, unsigned max);

/* Interrupt line from the platform's interrupt controller; any thread. */
void soft_cpu_set_irq(soft_cpu *cpu, bool level);
void soft_cpu_nmi(soft_cpu *cpu);
/* Ask soft_cpu_run() to return SOFT_EXIT_STOP at the next boundary; any
 * thread, async-signal-safe. */
void soft_cpu_kick(soft_cpu *cpu);
/* Ask the vCPU to call io->poll at the next boundary, waking it from HLT
 * or wait-for-SIPI; any thread, async-signal-safe. */
void soft_cpu_notify(soft_cpu *cpu);

typedef enum soft_exit_reason {
   SOFT_EXIT_STOP = 1,     /* kicked */
   SOFT_EXIT_SHUTDOWN,     /* triple fault */
   SOFT_EXIT_HALT,         /* HLT with IF=0 and no NMI possible, or HLT when hlt_exits */
   SOFT_EXIT_LIMIT,        /* executed max_insns instructions */
   SOFT_EXIT_EXCEPTION,    /* intercept_exceptions: an exception was raised */
   SOFT_EXIT_ERROR,        /* cannot continue; see msg */
} soft_exit_reason;

typedef struct soft_exit {
   soft_exit_reason reason;
   uint8_t vector;         /* SOFT_EXIT_EXCEPTION */
   bool has_error;
   uint32_t error;
   char msg[160];
} soft_exit;

/* Run until an exit. max_insns = 0 means no limit. */
int soft_cpu_run(soft_cpu *cpu, uint64_t max_insns, soft_exit *exit);

/* Test/debug knobs. */
typedef struct soft_options {
   /* Return SOFT_EXIT_EXCEPTION instead of delivering exceptions through
    * the IDT; the CPU state is left as at the faulting instruction. */
   bool intercept_exceptions;
   /* HLT returns SOFT_EXIT_HALT even with IF=1 (the platform sleeps). */
   bool hlt_exits;
   /* HLT with IF=0 sleeps until an NMI, INIT or kick instead of returning
    * SOFT_EXIT_HALT (an interrupt controller that can send those exists). */
   bool hlt_if_off_sleeps;
   /* The translator (host code for decoded blocks): 0 translates blocks
    * that have run a few times, SOFT_TRANSLATE_OFF never (interpret only),
    * SOFT_TRANSLATE_ALL every block the first time it runs (tests). */
   int translate;
} soft_options;
#define SOFT_TRANSLATE_OFF (-1)
#define SOFT_TRANSLATE_ALL 1
void soft_cpu_set_options(soft_cpu *cpu, const soft_options *o);

/* What the block cache and the translator have done on this vCPU (also
 * written to $VMWS_SOFT_STATS when the vCPU is freed). */
typedef struct soft_stats {
   uint64_t icount;             /* instructions retired */
   uint64_t blocks_built;       /* decoded blocks built */
   uint64_t block_runs;         /* blocks run (interpreted or translated) */
   uint64_t flushes;            /* block-cache flushes */
   uint64_t translated;         /* blocks translated */
   uint64_t translated_runs;    /* runs of translated code */
   uint64_t refused;            /* translations refused for a full arena */
   uint64_t code_bytes;         /* host code written */
} soft_stats;
void soft_cpu_get_stats(const soft_cpu *cpu, soft_stats *out);

/* Halted state (HLT executed, waiting for an interrupt): the mp_state of
 * monitor.h. */
bool soft_cpu_halted(const soft_cpu *cpu);
void soft_cpu_set_halted(soft_cpu *cpu, bool halted);

/* Instructions retired so far. */
uint64_t soft_cpu_icount(const soft_cpu *cpu);

#endif
