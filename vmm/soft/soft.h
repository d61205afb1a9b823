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
#define SOFT_MAX_SLOTS 32

soft_mem *soft_mem_new(void);
void soft_mem_free(soft_mem *m);
/* gpa, host and size page-aligned; slots must not overlap. 0 or -errno. */
int soft_mem_map(soft_mem *m, uint64_t gpa, void *host, uint64_t size, bool readonly);
int soft_mem_unmap(soft_mem *m, uint64_t gpa, uint64_t size);
/* Host pointer for [gpa, gpa+len) inside one slot, else NULL. */
void *soft_mem_gpa_to_hva(soft_mem *m, uint64_t gpa, uint64_t len);

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
} soft_io;

/* ---- vCPU --------------------------------------------------------------- */
soft_cpu *soft_cpu_new(soft_mem *mem, const soft_io *io, unsigned index);
void soft_cpu_free(soft_cpu *cpu);
/* Architectural power-on/RESET state (real mode, CS:IP = F000:FFF0). */
void soft_cpu_reset(soft_cpu *cpu);

void soft_get_regs(soft_cpu *cpu, vmm_regs *r);
void soft_set_regs(soft_cpu *cpu, const vmm_regs *r);
void soft_get_sregs(soft_cpu *cpu, vmm_sregs *s);
/* Returns 0, or -EINVAL for an inconsistent state (e.g. LMA without PAE). */
int soft_set_sregs(soft_cpu *cpu, const vmm_sregs *s);
void soft_get_fpu(soft_cpu *cpu, vmm_fpu *f);
void soft_set_fpu(soft_cpu *cpu, const vmm_fpu *f);
/* 0 on success, -ENOENT for an MSR the model does not have. */
int soft_get_msr(soft_cpu *cpu, uint32_t index, uint64_t *val);
int soft_set_msr(soft_cpu *cpu, uint32_t index, uint64_t val);
int soft_set_cpuid(soft_cpu *cpu, const vmm_cpuid_entry *e, unsigned n);

/* Interrupt line from the platform's interrupt controller; any thread. */
void soft_cpu_set_irq(soft_cpu *cpu, bool level);
void soft_cpu_nmi(soft_cpu *cpu);
/* Ask soft_cpu_run() to return SOFT_EXIT_STOP at the next boundary; any
 * thread, async-signal-safe. */
void soft_cpu_kick(soft_cpu *cpu);

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
} soft_options;
void soft_cpu_set_options(soft_cpu *cpu, const soft_options *o);

/* Halted state (HLT executed, waiting for an interrupt): the mp_state of
 * monitor.h. */
bool soft_cpu_halted(const soft_cpu *cpu);
void soft_cpu_set_halted(soft_cpu *cpu, bool halted);

/* Instructions retired so far. */
uint64_t soft_cpu_icount(const soft_cpu *cpu);

#endif
