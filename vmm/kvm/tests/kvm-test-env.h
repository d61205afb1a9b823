/*
 * vmm/kvm/tests/kvm-test-env.h - a small 64-bit guest environment for the
 * KVM monitor's unit tests, built directly by the host through the monitor
 * interface: 2 MiB of RAM at 0, identity-mapped page tables over 4 GiB
 * (user-accessible), GDT, TSS (with an I/O bitmap that lets CPL3 use every
 * port), IDT, and the code of kvm-test-guest.S.
 */
#ifndef KVM_TEST_ENV_H
#define KVM_TEST_ENV_H

#include "vmm/monitor.h"

#include <stdio.h>
#include <stdlib.h>

#define KVMTEST_RAM        (2u << 20)
#define KVMTEST_PML4       0x1000u
#define KVMTEST_PDPT       0x2000u
#define KVMTEST_PD         0x3000u   /* four pages: 4 GiB of 2 MiB pages */
#define KVMTEST_GDT        0x7000u
#define KVMTEST_IDT        0x8000u
#define KVMTEST_TSS        0x9000u   /* 104 bytes + 8 KiB I/O bitmap + 1 */
#define KVMTEST_TSS_LIMIT  (0x68u + 8192u)
#define KVMTEST_CODE       0x10000u
#define KVMTEST_USER_STACK 0x70000u
#define KVMTEST_KERN_STACK 0x80000u

#define KVMTEST_SEL_KCODE 0x08
#define KVMTEST_SEL_KDATA 0x10
#define KVMTEST_SEL_UCODE 0x1b
#define KVMTEST_SEL_UDATA 0x23
#define KVMTEST_SEL_TSS   0x28

extern const uint8_t kvmtest_guest_start[], kvmtest_guest_end[];
extern const uint8_t kvmtest_user_loop[], kvmtest_state[], kvmtest_cpuid[], kvmtest_irq[],
                     kvmtest_strio[], kvmtest_intc[];
extern const uint8_t kvmtest_vec_0x02[], kvmtest_vec_0x23[], kvmtest_vec_0x40[],
                     kvmtest_vec_0x41[];

/* Guest address of a symbol of kvm-test-guest.S. */
#define KVMTEST_GPA(sym) (KVMTEST_CODE + (uint64_t)((sym) - kvmtest_guest_start))

#define KVMTEST_MAX_CPUS 4

typedef struct kvmtest_env {
   vmm_vm *vm;
   vmm_vcpu *cpu;                     /* cpus[0] */
   vmm_vcpu *cpus[KVMTEST_MAX_CPUS];
   unsigned ncpus;
   uint8_t *mem;
} kvmtest_env;

#define KVMTEST_FAIL(...) do { \
   fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
   fprintf(stderr, __VA_ARGS__); \
   fputc('\n', stderr); \
   exit(1); \
} while (0)

#define KVMTEST_CHECK(cond, ...) do { \
   if (!(cond)) { \
      fprintf(stderr, "check failed: %s\n", #cond); \
      KVMTEST_FAIL(__VA_ARGS__); \
   } \
} while (0)

/* What kvmtest_env_init() creates: the KVM monitor by default; the
 * software monitor's tests set these (kernel_irqchip is then false). */
extern vmm_kind kvmtest_kind;
extern const vmm_irqchip_ops *kvmtest_irqchip;
extern void *kvmtest_irqchip_opaque;

/* Exits 77 with the reason when /dev/kvm cannot run guests. With
 * VMM_TEST_MONITOR=software in the environment it picks the software
 * monitor instead (kvmtest_kind) and needs no KVM. */
void kvmtest_require_kvm(void);
/* Creates the VM, its RAM, tables and ncpus vCPUs; fails the test on error. */
void kvmtest_env_init(kvmtest_env *env, unsigned ncpus, const vmm_io_ops *io, void *opaque);
void kvmtest_env_fini(kvmtest_env *env);
/* Installs an interrupt gate for vector at gpa handler (CPL0). */
void kvmtest_set_gate(kvmtest_env *env, unsigned vector, uint64_t handler);
/* Puts the vCPU in 64-bit mode at CPL3 (user) or CPL0 at rip; rflags as
 * given (bit 1 is added). Stack: the user or kernel stack. */
void kvmtest_enter(kvmtest_env *env, uint64_t rip, bool user, uint64_t rflags);
void kvmtest_enter_cpu(vmm_vcpu *cpu, uint64_t rip, bool user, uint64_t rflags);
/* Monotonic time in seconds. */
double kvmtest_now(void);

#endif
