/*
 * vmm/monitor.h - the one interface through which the vmx runs guest code.
 *
 * Two implementations: KVM (vmm/kvm/, hardware VT-x/AMD-V) and the software
 * monitor (vmm/soft/, our own x86-64 interpreter). Nothing here knows about
 * devices: port I/O and MMIO go to the io callbacks the platform installs,
 * and interrupts come in through the irq functions below (KVM: its in-kernel
 * irqchip) or through the platform's own interrupt controllers and
 * vmm_irqchip_ops (the software monitor).
 *
 * Threading: vmm_vm_* functions may be called from any thread unless noted.
 * vmm_vcpu_run() and the vmm_vcpu_get/set_* functions are called only on
 * the vCPU's own thread (or on any thread while that vCPU is stopped).
 * One thread per vCPU: the thread that calls vmm_vcpu_run() is the vCPU
 * thread until run returns. The KVM monitor kicks a running vCPU thread with
 * the signal SIGRTMIN + VMM_KICK_SIGNAL_OFFSET (blocked in that thread except
 * inside KVM_RUN, handler installed by the monitor); nothing else in the
 * process may use that signal.
 *
 * Errors: functions returning int return 0 or a negative errno value;
 * functions with an err/errlen pair also write a human sentence there.
 */
#ifndef VMM_MONITOR_H
#define VMM_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vmm_vm vmm_vm;
typedef struct vmm_vcpu vmm_vcpu;

typedef enum vmm_kind {
   VMM_KIND_HARDWARE = 0, /* KVM */
   VMM_KIND_SOFTWARE = 1, /* interpreter */
} vmm_kind;

/* "hardware" / "software", for logs and VMDB. */
const char *vmm_kind_name(vmm_kind kind);

#define VMM_KICK_SIGNAL_OFFSET 4

/* ---- vCPU state: one format for both monitors (checkpoints depend on it) */

/* Segment register, in the unpacked form of the Intel/AMD descriptor cache. */
typedef struct vmm_seg {
   uint64_t base;
   uint32_t limit;    /* byte-granular, already scaled by G */
   uint16_t selector;
   uint8_t type;      /* 4-bit descriptor type */
   uint8_t s;         /* 1 = code/data, 0 = system */
   uint8_t dpl;
   uint8_t present;
   uint8_t avl;
   uint8_t l;         /* 64-bit code segment */
   uint8_t db;
   uint8_t g;
   uint8_t unusable;
} vmm_seg;

typedef struct vmm_dtable {
   uint64_t base;
   uint16_t limit;
} vmm_dtable;

/* General registers in x86 encoding order. */
enum {
   VMM_RAX, VMM_RCX, VMM_RDX, VMM_RBX, VMM_RSP, VMM_RBP, VMM_RSI, VMM_RDI,
   VMM_R8, VMM_R9, VMM_R10, VMM_R11, VMM_R12, VMM_R13, VMM_R14, VMM_R15,
   VMM_NGPR
};
/* Segment registers in encoding order. */
enum { VMM_ES, VMM_CS, VMM_SS, VMM_DS, VMM_FS, VMM_GS, VMM_NSEG };

typedef struct vmm_regs {
   uint64_t gpr[VMM_NGPR];
   uint64_t rip;
   uint64_t rflags;
} vmm_regs;

/* Pages are 4 KiB; vmm_vm_map() wants gpa, host and size aligned to it. */
#define VMM_PAGE_SIZE 4096u

typedef struct vmm_sregs {
   vmm_seg seg[VMM_NSEG];
   vmm_seg tr, ldtr;
   vmm_dtable gdt, idt;
   uint64_t cr0, cr2, cr3, cr4, cr8;
   uint64_t efer;
   uint64_t apic_base;
} vmm_sregs;

/* x87/MMX/SSE/AVX state as a standard XSAVE image (legacy area, header,
 * extended components at their CPUID-defined offsets). */
#define VMM_XSAVE_SIZE 4096
typedef struct vmm_fpu {
   uint64_t xcr0;
   uint8_t xsave[VMM_XSAVE_SIZE] __attribute__((aligned(64)));
} vmm_fpu;

typedef struct vmm_msr {
   uint32_t index;
   uint64_t value;
} vmm_msr;

/* Debug registers DR0-DR3, DR6, DR7. */
typedef struct vmm_debugregs {
   uint64_t dr[4];
   uint64_t dr6, dr7;
} vmm_debugregs;

/* The MSRs that are part of the architectural vCPU state (what a checkpoint
 * saves besides the structures above): SYSENTER_*, STAR/LSTAR/CSTAR/SFMASK,
 * KERNEL_GS_BASE, TSC, PAT, MISC_ENABLE, TSC_AUX. FS/GS base live in the
 * segment registers, EFER and APIC_BASE in vmm_sregs. Returns the count. */
unsigned vmm_state_msrs(const uint32_t **list);

/* Local APIC: the 1 KiB register page as the architecture lays it out
 * (the register at MMIO offset 0xNN0 is stored at byte 0xNN0; 16-byte
 * stride; this is also the KVM_GET_LAPIC layout). */
#define VMM_LAPIC_SIZE 1024
typedef struct vmm_lapic {
   uint8_t regs[VMM_LAPIC_SIZE];
} vmm_lapic;

typedef enum vmm_mp_state {
   VMM_MP_RUNNABLE = 0,
   VMM_MP_WAIT_SIPI = 1,   /* after INIT: waiting for a startup IPI */
   VMM_MP_HALTED = 2,      /* HLT executed, waiting for an interrupt */
   VMM_MP_WAIT_INIT = 3,   /* application processor at power-on: waits for
                              INIT, then a startup IPI */
} vmm_mp_state;

/* Events in flight at an instruction boundary. */
typedef struct vmm_events {
   uint8_t exception_injected, exception_nr, exception_has_error;
   uint32_t exception_error;
   uint8_t interrupt_injected, interrupt_nr, interrupt_soft;
   uint8_t nmi_injected, nmi_pending, nmi_masked;
   uint8_t interrupt_shadow; /* VMM_SHADOW_* bits */
   uint8_t sipi_vector;      /* set only; KVM consumes it at once and reads 0 */
} vmm_events;

#define VMM_SHADOW_STI    1u  /* blocking by STI */
#define VMM_SHADOW_MOV_SS 2u  /* blocking by MOV SS / POP SS */

/* ---- what the platform gives the monitor --------------------------------
 * Called on the vCPU thread that executes the access. Sizes are 1, 2, 4
 * (and 1..8 for MMIO). String I/O (INS/OUTS, with or without REP) calls the
 * handler once per element, in order. Inside a callback the handler may use
 * vmm_vcpu_get_regs/set_regs (the backdoor does; leave RIP alone); for a
 * port read the value returned through *val is merged into RAX after the
 * handler returns. A handler may call vmm_vm_stop()/vmm_vcpu_kick(): the
 * access completes and run then returns VMM_EXIT_STOP. A NULL callback (or a
 * NULL io table) reads all-ones and drops writes. */
typedef struct vmm_io_ops {
   void (*pio_read)(void *opaque, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t *val);
   void (*pio_write)(void *opaque, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t val);
   void (*mmio_read)(void *opaque, vmm_vcpu *cpu, uint64_t gpa, unsigned size, uint64_t *val);
   void (*mmio_write)(void *opaque, vmm_vcpu *cpu, uint64_t gpa, unsigned size, uint64_t val);
} vmm_io_ops;

/* Why vmm_vcpu_run() returned. Port I/O and MMIO never return: they are
 * dispatched through vmm_io_ops inside the run loop. */
typedef enum vmm_exit_reason {
   VMM_EXIT_STOP = 1,     /* vmm_vm_stop()/vmm_vcpu_kick() asked for it */
   VMM_EXIT_SHUTDOWN,     /* triple fault */
   VMM_EXIT_RESET,        /* the guest asked for a reset (e.g. via the monitor) */
   VMM_EXIT_HALT,         /* HLT with interrupts disabled and no irqchip that
                             could send an NMI or INIT: nothing can wake it */
   VMM_EXIT_ERROR,        /* the monitor cannot continue; see exit.msg */
} vmm_exit_reason;

typedef struct vmm_exit {
   vmm_exit_reason reason;
   char msg[160];
} vmm_exit;

/* ---- a userspace irqchip (kernel_irqchip = false) -------------------------
 * The software monitor has no interrupt controllers of its own: the
 * platform's PIC/IOAPIC/LAPIC/PIT models (vmx/dev/intc) sit behind this
 * table, and the platform routes GSIs and MSIs to them itself
 * (vmm_vm_irq_line and vmm_vm_msi return -ENOTSUP then). vcpu is the vCPU
 * index, which is also its APIC ID. The monitor calls these on the vCPU's
 * thread (get/set_lapic also on the thread doing vmm_vcpu_get/set_lapic),
 * never while holding a lock of its own.
 *
 * Wakeup: whenever an event may have become pending for a vCPU (the LAPIC
 * wakeup callback), the platform calls vmm_vm_interrupt(vm, vcpu) or
 * vmm_vcpu_interrupt(cpu); the monitor then asks `events` and `pending` at
 * the next instruction boundary, waking the vCPU from HLT or
 * wait-for-SIPI. Spurious calls are harmless, lost ones are not: call it
 * after the state that makes `pending`/`events` true is visible.
 *
 * Required: pending and ack. The rest may be NULL: no NMI/INIT/SIPI from
 * the irqchip, its MSRs raise #GP, CR8 is kept in the vCPU, get/set_lapic
 * return -ENOTSUP. */
#define VMM_IRQCHIP_EV_INTR 1u   /* the same bits as vmx/dev/intc LAPIC_EV_* */
#define VMM_IRQCHIP_EV_NMI  2u
#define VMM_IRQCHIP_EV_INIT 4u
#define VMM_IRQCHIP_EV_SIPI 8u

typedef struct vmm_irqchip_ops {
   /* The vector the CPU would take now if interrupts were enabled (LAPIC
    * above the processor priority, or the PIC through LINT0/ExtINT), -1 if
    * none. Lock-free when nothing is pending; intc_pending(). */
   int (*pending)(void *opaque, unsigned vcpu);
   /* Interrupt acknowledge when the CPU takes it: the vector, or -1 when it
    * went away (then nothing is delivered). intc_ack(). */
   int (*ack)(void *opaque, unsigned vcpu);
   /* VMM_IRQCHIP_EV_* bits pending now (NMI, INIT, SIPI exact; INTR a
    * hint). Lock-free; lapic_pending_events(). */
   unsigned (*events)(void *opaque, unsigned vcpu);
   /* Consume a pending NMI / INIT (which also resets the LAPIC as INIT
    * does) / startup IPI and its vector; false when there was none. The
    * monitor applies them: NMI to the CPU, INIT puts an AP into
    * wait-for-SIPI (the BSP restarts at the reset vector), a SIPI starts an
    * AP in wait-for-SIPI at vector << 12 and is dropped in any other state. */
   bool (*take_nmi)(void *opaque, unsigned vcpu);
   bool (*take_init)(void *opaque, unsigned vcpu);
   bool (*take_sipi)(void *opaque, unsigned vcpu, uint8_t *vector);
   /* The irqchip's MSRs, which the monitor routes here and nowhere else:
    * IA32_APIC_BASE (0x1b), IA32_TSC_DEADLINE (0x6e0) and the x2APIC range
    * 0x800-0x8ff. false means #GP. guest_tsc is the vCPU's TSC at the
    * access (what TSC-deadline writes compare against). */
   bool (*msr_read)(void *opaque, unsigned vcpu, uint32_t msr, uint64_t *val);
   bool (*msr_write)(void *opaque, unsigned vcpu, uint32_t msr, uint64_t val,
                     uint64_t guest_tsc);
   /* CR8 (TPR bits 7:4); also what vmm_sregs.cr8 reads and writes. */
   uint64_t (*get_cr8)(void *opaque, unsigned vcpu);
   void (*set_cr8)(void *opaque, unsigned vcpu, uint64_t val);
   /* vmm_vcpu_get/set_lapic (lapic_get_page/lapic_set_page); 0 or -errno. */
   int (*get_lapic)(void *opaque, unsigned vcpu, vmm_lapic *l);
   int (*set_lapic)(void *opaque, unsigned vcpu, const vmm_lapic *l);
} vmm_irqchip_ops;

/* ---- creation ----------------------------------------------------------- */

typedef struct vmm_config {
   vmm_kind kind;
   unsigned nvcpus;          /* 1..VMM_MAX_VCPUS (the software monitor: 1..16) */
   const vmm_io_ops *io;
   void *io_opaque;
   bool kernel_irqchip;      /* KVM: in-kernel PIC/IOAPIC/LAPIC/PIT; the KVM
                                monitor requires it (true), the software
                                monitor has none (false) */
   /* kernel_irqchip = false: the platform's interrupt controllers, or NULL
    * for a machine without interrupts (HLT with IF=0 then ends the run with
    * VMM_EXIT_HALT). */
   const vmm_irqchip_ops *irqchip;
   void *irqchip_opaque;
   /* The software monitor: interpret only, no translated blocks (an A/B
    * switch for diagnosis; the hardware monitor ignores it). */
   bool soft_interpret_only;
} vmm_config;

#define VMM_MAX_VCPUS 64

/* Returns NULL and writes a human sentence to err on failure. */
vmm_vm *vmm_vm_create(const vmm_config *cfg, char *err, size_t errlen);
void vmm_vm_destroy(vmm_vm *vm);
vmm_kind vmm_vm_kind(const vmm_vm *vm);

/* Guest physical memory. gpa, host and size must be page-aligned, host
 * must stay mapped for the lifetime of the slot (the vmx backs RAM with a
 * memfd). Slots may not overlap (-EEXIST). Writes to a readonly slot are
 * MMIO writes (mmio_write callback). Unmap takes exactly the range that was
 * mapped (-ENOENT otherwise). */
int vmm_vm_map(vmm_vm *vm, uint64_t gpa, void *host, uint64_t size, bool readonly);
int vmm_vm_unmap(vmm_vm *vm, uint64_t gpa, uint64_t size);
/* Host pointer for [gpa, gpa+len) if it lies inside one RAM slot, else NULL. */
void *vmm_vm_gpa_to_hva(vmm_vm *vm, uint64_t gpa, uint64_t len);

/* Device DMA (and any other write to guest RAM not made by a vCPU): the
 * software monitor drops instructions it decoded from [gpa, gpa+len) so the
 * guest runs what was written (the vCPUs' own writes are tracked by the
 * monitor). Call it after the write, before telling the guest (completion
 * interrupt, status register). Any thread; a no-op under KVM. */
void vmm_vm_notify_write(vmm_vm *vm, uint64_t gpa, uint64_t len);

/* Interrupts, with the in-kernel irqchip (KVM). GSI numbering is the
 * IOAPIC's (0-23); 0-15 also feed the PIC. Without one (the software
 * monitor) irq_line and msi return -ENOTSUP: the platform routes GSIs and
 * MSIs through its own controllers (vmm_irqchip_ops). vmm_vm_nmi works
 * under both: the in-kernel LAPIC, or straight to the CPU's NMI input. */
int vmm_vm_irq_line(vmm_vm *vm, unsigned gsi, bool level);
int vmm_vm_msi(vmm_vm *vm, uint64_t addr, uint32_t data);
int vmm_vm_nmi(vmm_vm *vm, unsigned vcpu);

/* ---- the in-kernel PIC, IOAPIC and PIT: their state ----------------------
 * With kernel_irqchip (KVM) the 8259A pair, the IOAPIC and the 8254 live in
 * the monitor, and a checkpoint reads and writes them here. The structures
 * are monitor-neutral: they say what the chips hold, in the terms of the
 * data sheets and of KVM's documented ABI, with nothing host-specific (no
 * host clock). The software monitor has no chips of its own (the platform's
 * vmx/dev/intc models are userspace devices with their own checkpoint
 * sections): there every function below returns -ENOTSUP.
 *
 * Call them with every vCPU stopped (outside vmm_vcpu_run): a guest access
 * in flight would race with them. Any thread. get changes nothing; set
 * checks every field first (-EINVAL, nothing changed) and then loads them
 * all (set_irqchip is three loads under KVM: a host failure after the
 * checks can leave the first ones in). Errors are negative errno values. */

/* One 8259A, as KVM_GET_IRQCHIP has it (KVM_IRQCHIP_PIC_MASTER/SLAVE). The
 * ELCR mask (which inputs may be level-triggered) is fixed by the PIIX:
 * VMM_PIC_ELCR_MASK_MASTER / _SLAVE. Booleans are 0 or 1. */
typedef struct vmm_pic_chip {
   uint8_t last_irr;       /* input line levels as last seen (edge detection);
                              the master's IR2 (the cascade) is pulsed, so its
                              bit reads 0 */
   uint8_t irr;            /* interrupt request register */
   uint8_t imr;            /* interrupt mask register (OCW1) */
   uint8_t isr;            /* in-service register */
   uint8_t priority_add;   /* the IR with the highest priority (0-7); OCW2
                              rotation moves it */
   uint8_t irq_base;       /* vector of IR0: ICW2 & 0xf8 */
   uint8_t read_reg_select;/* OCW3 RR/RIS: 1 reads ISR, 0 reads IRR */
   uint8_t poll;           /* OCW3 poll command pending */
   uint8_t special_mask;   /* special mask mode (OCW3 ESMM/SMM) */
   uint8_t init_state;     /* 0 initialized; 1, 2, 3: ICW2, ICW3, ICW4 next */
   uint8_t auto_eoi;       /* ICW4 AEOI */
   uint8_t rotate_on_auto_eoi; /* OCW2 rotate in automatic EOI mode */
   uint8_t special_fully_nested_mode; /* ICW4 SFNM */
   uint8_t init4;          /* ICW1 IC4: ICW4 follows */
   uint8_t elcr;           /* PIIX edge/level control (1 = level) */
} vmm_pic_chip;

#define VMM_PIC_ELCR_MASK_MASTER 0xf8u
#define VMM_PIC_ELCR_MASK_SLAVE  0xdeu

#define VMM_IOAPIC_PINS 24
/* Redirection entry bits that exist (82093AA): vector, delivery mode,
 * destination mode, delivery status, polarity, remote IRR, trigger mode,
 * mask, destination. get clears the reserved bits a guest may have
 * written; set refuses them. */
#define VMM_IOAPIC_REDIR_BITS 0xff0000000001ffffull

/* The IOAPIC at 0xfec00000, as KVM_GET_IRQCHIP has it (KVM_IRQCHIP_IOAPIC). */
typedef struct vmm_ioapic_state {
   uint8_t id;             /* APIC ID, bits 27:24 of register 0 (0-15) */
   uint8_t ioregsel;       /* IOREGSEL */
   uint32_t irr;           /* pins that are asserted and still owe a message:
                              level-triggered pins that are asserted, and
                              edge-triggered pins whose rising edge was not
                              sent (it came while masked). An edge pin that
                              is high after its message went out reads 0.
                              set loads the table first and then raises these
                              pins, which sends what an assertion would send
                              (a masked pin or one with remote IRR sends
                              nothing). Bits 0-23. */
   uint64_t redir[VMM_IOAPIC_PINS];
} vmm_ioapic_state;

typedef struct vmm_irqchip_state {
   vmm_pic_chip pic[2];    /* 0 master (0x20, 0x4d0), 1 slave (0xa0, 0x4d1) */
   vmm_ioapic_state ioapic;
} vmm_irqchip_state;

/* 8254 counter register access and flip-flop states: rw_mode is
 * LSB/MSB/WORD0 (LSB then MSB); read_state, write_state and count_latched
 * say which byte comes next (WORD0: the LSB of a two-byte access, WORD1:
 * its MSB; for count_latched MSB also means "the LSB of the latched pair
 * was read"). */
#define VMM_PIT_RW_LSB   1u
#define VMM_PIT_RW_MSB   2u
#define VMM_PIT_RW_WORD0 3u
#define VMM_PIT_RW_WORD1 4u
/* mode of a counter the guest never programmed (no control word since
 * power-on): it does not count and raises nothing. rw_mode, read_state and
 * write_state are 0 then. */
#define VMM_PIT_MODE_NONE 0xffu

/*
 * One 8254 counter (KVM: struct kvm_pit_channel_state).
 *
 * Time. The phase of a counter is expressed as elapsed_ns: the guest time
 * in nanoseconds from the moment the counting element was loaded with
 * `count` (or, in modes 1, 2, 3 and 5, retriggered by a gate rising edge)
 * to the moment of the get. Nothing here is an absolute host time: the
 * guest clock only has to run at the rate of the host's CLOCK_MONOTONIC
 * while the guest runs, so a state read on one host (or monitor) and loaded
 * on another after any pause keeps its phase. The counter has counted
 * elapsed_ns * 1.193182 MHz ticks since the load (its value is count minus
 * that, modulo count or wrapping at 0, by mode).
 *
 * KVM keeps a counter's load time as a host CLOCK_MONOTONIC ktime
 * (count_load_time). The KVM monitor converts at the call:
 *   get:  elapsed_ns = clock_gettime(CLOCK_MONOTONIC) - count_load_time
 *         (0 if that is negative), read right after KVM_GET_PIT2;
 *   set:  count_load_time = clock_gettime(CLOCK_MONOTONIC) - elapsed_ns.
 * (A vmx inside a time namespace would see a CLOCK_MONOTONIC offset from
 * the kernel's ktime and misread the phase.) Two limits of KVM's ABI
 * (arch/x86/kvm/i8254.c, and measured on our hosts), so that no caller
 * relies on more:
 *  - counter 0 runs from a host hrtimer and KVM never updates its
 *    count_load_time: its phase cannot be read. get reports it with
 *    elapsed_known = 0 and elapsed_ns = 0 (a consumer restarts the period
 *    there). Counters 1 and 2 are exact.
 *  - KVM_SET_PIT2 reloads every counter at the time of the call (it
 *    restarts counter 0's timer and overwrites count_load_time): after set,
 *    every counter starts a fresh count of `count`, whatever elapsed_ns
 *    said. The next IRQ0 comes one full period after the set, and a
 *    one-shot (mode 0/4) counter 0 that had expired fires once more.
 */
typedef struct vmm_pit_channel {
   uint32_t count;         /* initial count the counter runs with, 1-65536
                              (a written 0 is 65536) */
   uint16_t latched_count; /* the output latch (counter latch command) */
   uint8_t count_latched;  /* 0, or VMM_PIT_RW_* of the latched byte(s) still
                              to read: LSB, MSB, WORD0 (both) */
   uint8_t status_latched; /* read-back status latched and unread */
   uint8_t status;         /* the latched status byte */
   uint8_t read_state;     /* VMM_PIT_RW_*: next byte of an unlatched read */
   uint8_t write_state;    /* VMM_PIT_RW_*: next byte of a count write */
   uint8_t write_latch;    /* the LSB written when write_state is WORD1 */
   uint8_t rw_mode;        /* VMM_PIT_RW_LSB/MSB/WORD0 of the control word */
   uint8_t mode;           /* 0-5, or VMM_PIT_MODE_NONE */
   uint8_t bcd;            /* control word BCD bit (KVM counts in binary) */
   uint8_t gate;           /* gate input level (counters 0, 1: always 1;
                              counter 2: port 0x61 bit 0) */
   uint8_t elapsed_known;  /* 1: elapsed_ns is the counter's phase; 0: the
                              monitor cannot tell (KVM counter 0) or the
                              counter does not count (MODE_NONE); set treats
                              0 as elapsed_ns = 0 */
   uint64_t elapsed_ns;    /* see "Time" above */
} vmm_pit_channel;

#define VMM_PIT_SPEAKER_DATA_ON 0x2u  /* port 0x61 bit 1 (KVM_PIT_FLAGS_SPEAKER_DATA_ON) */
#define VMM_PIT_HPET_LEGACY     0x1u  /* HPET legacy replacement: counter 0
                                         raises nothing (KVM_PIT_FLAGS_HPET_LEGACY) */

typedef struct vmm_pit_state {
   vmm_pit_channel ch[3];
   uint32_t flags;         /* VMM_PIT_SPEAKER_DATA_ON | VMM_PIT_HPET_LEGACY */
} vmm_pit_state;

int vmm_vm_get_irqchip(vmm_vm *vm, vmm_irqchip_state *s);
int vmm_vm_set_irqchip(vmm_vm *vm, const vmm_irqchip_state *s);
int vmm_vm_get_pit(vmm_vm *vm, vmm_pit_state *s);
int vmm_vm_set_pit(vmm_vm *vm, const vmm_pit_state *s);

/* A userspace irqchip event may be pending for the vCPU (see
 * vmm_irqchip_ops): it looks at the next instruction boundary, waking from
 * HLT or wait-for-SIPI. Any thread, lock-free, async-signal-safe. The _vm_
 * form takes the vCPU index (what the LAPIC wakeup callback has) and
 * returns -EINVAL for an index past nvcpus, 0 otherwise (a vCPU not created
 * yet looks when it first runs). No-ops under KVM. */
void vmm_vcpu_interrupt(vmm_vcpu *cpu);
int vmm_vm_interrupt(vmm_vm *vm, unsigned vcpu);

/* Stop every vCPU at an instruction boundary: each vmm_vcpu_run() returns
 * VMM_EXIT_STOP, after completing any port/MMIO access in flight. The
 * request stays pending until a run returns VMM_EXIT_STOP: a vCPU that is
 * not inside vmm_vcpu_run() returns STOP from its next run at once.
 * Safe from any thread and from signal context. */
void vmm_vm_stop(vmm_vm *vm);
void vmm_vcpu_kick(vmm_vcpu *cpu);

/* CPUID: the model presented to the guest (host features plus the VMware
 * hypervisor leaves). The platform may override entries before the first
 * run. */
typedef struct vmm_cpuid_entry {
   uint32_t function, index, flags;
   uint32_t eax, ebx, ecx, edx;
} vmm_cpuid_entry;

#define VMM_CPUID_FLAG_INDEXED 1u  /* ECX (index) selects the sub-leaf */
#define VMM_CPUID_MAX_ENTRIES 256

/* ---- vCPUs -------------------------------------------------------------- */

vmm_vcpu *vmm_vcpu_create(vmm_vm *vm, unsigned index, char *err, size_t errlen);
unsigned vmm_vcpu_index(const vmm_vcpu *cpu);
vmm_vm *vmm_vcpu_vm(const vmm_vcpu *cpu);

/* Runs guest code until a stop request, a shutdown, an unrecoverable HLT
 * or an error (see vmm_exit_reason). Returns 0 with *exit filled in, or a
 * negative errno when the call itself was wrong (exit->msg says why). */
int vmm_vcpu_run(vmm_vcpu *cpu, vmm_exit *exit);

int vmm_vcpu_get_regs(vmm_vcpu *cpu, vmm_regs *r);
int vmm_vcpu_set_regs(vmm_vcpu *cpu, const vmm_regs *r);
int vmm_vcpu_get_sregs(vmm_vcpu *cpu, vmm_sregs *s);
int vmm_vcpu_set_sregs(vmm_vcpu *cpu, const vmm_sregs *s);
int vmm_vcpu_get_fpu(vmm_vcpu *cpu, vmm_fpu *f);
int vmm_vcpu_set_fpu(vmm_vcpu *cpu, const vmm_fpu *f);
/* msrs[i].index filled in by the caller; values read/written. */
int vmm_vcpu_get_msrs(vmm_vcpu *cpu, vmm_msr *msrs, unsigned n);
int vmm_vcpu_set_msrs(vmm_vcpu *cpu, const vmm_msr *msrs, unsigned n);
int vmm_vcpu_get_lapic(vmm_vcpu *cpu, vmm_lapic *l);
int vmm_vcpu_set_lapic(vmm_vcpu *cpu, const vmm_lapic *l);
int vmm_vcpu_get_events(vmm_vcpu *cpu, vmm_events *e);
int vmm_vcpu_set_events(vmm_vcpu *cpu, const vmm_events *e);
int vmm_vcpu_get_mp_state(vmm_vcpu *cpu, vmm_mp_state *st);
int vmm_vcpu_set_mp_state(vmm_vcpu *cpu, vmm_mp_state st);
int vmm_vcpu_get_debugregs(vmm_vcpu *cpu, vmm_debugregs *d);
int vmm_vcpu_set_debugregs(vmm_vcpu *cpu, const vmm_debugregs *d);
/* CPUID may only change before the vCPU's first run (KVM refuses later
 * changes with -EBUSY). get returns -ENOSPC with *n set when max is short. */
int vmm_vcpu_set_cpuid(vmm_vcpu *cpu, const vmm_cpuid_entry *e, unsigned n);
int vmm_vcpu_get_cpuid(vmm_vcpu *cpu, vmm_cpuid_entry *e, unsigned max, unsigned *n);

/* ---- KVM-specific ------------------------------------------------------- */

/* 0 when /dev/kvm can run guests (opens, API version 12, the capabilities
 * the KVM monitor needs); else a negative errno and a sentence in err. */
int vmm_kvm_check(char *err, size_t errlen);

/* Power-on probe for monitor.virtual_exec = automatic: runs a short CPL0
 * loop in a throwaway VM and measures the time per guest instruction.
 * Native VT-x/AMD-V runs it in well under 1 ns per instruction; hosts that
 * emulate guest kernel code instruction by instruction take ~1000 ns. Takes
 * a few milliseconds. Returns 0 with *ns_per_insn set, or a negative errno
 * and a sentence in err. */
int vmm_kvm_probe_native(double *ns_per_insn, char *err, size_t errlen);
/* Above this many ns per instruction, kernel-mode guest code is not native. */
#define VMM_KVM_NATIVE_NS_MAX 20.0

#endif
