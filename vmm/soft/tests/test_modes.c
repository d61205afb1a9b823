/*
 * vmm/soft/tests/test_modes.c - small guest programs: real mode with the
 * IVT, the real -> protected -> long mode switch a boot loader does,
 * 64-bit exception delivery (CPL 3 -> 0, IST, error codes, IRETQ), double
 * and triple fault, SYSCALL/SYSRET with SWAPGS, external interrupts waking
 * HLT.
 */
#include <string.h>

#include "shim.h"

static shim *S;

static void put(uint64_t gpa, const uint8_t *b, size_t n)
{
   shim_wr(S, gpa, b, n);
}
#define PUT(gpa, ...) do { static const uint8_t _b[] = { __VA_ARGS__ }; put((gpa), _b, sizeof(_b)); } while (0)

static vmm_regs regs(void)
{
   vmm_regs r;
   soft_get_regs(S->cpu, &r);
   return r;
}

static vmm_sregs sregs(void)
{
   vmm_sregs s;
   soft_get_sregs(S->cpu, &s);
   return s;
}

static void reset_machine(void)
{
   shim_clear(S, 0, 0x100000);
   S->nout = 0;
   soft_options o = { 0 };
   soft_cpu_set_options(S->cpu, &o);
   soft_cpu_reset(S->cpu);
   soft_cpu_set_halted(S->cpu, false);
}

/* ---- real mode ----------------------------------------------------------- */

static void test_real_mode(void)
{
   reset_machine();
   shim_real_mode(S, 0, 0x7c00);
   PUT(0x7c00,
       0xb8, 0x34, 0x12,        /* mov ax, 0x1234 */
       0x8e, 0xd8,              /* mov ds, ax */
       0xa3, 0x10, 0x00,        /* mov [0x10], ax */
       0x05, 0x01, 0x00,        /* add ax, 1 */
       0xe6, 0x80,              /* out 0x80, al */
       0xcd, 0x10,              /* int 0x10 */
       0x31, 0xc9,              /* xor cx, cx */
       0xf7, 0xf1,              /* div cx  -> #DE */
       0xf4);
   PUT(0x8000, 0xe6, 0x81, 0xcf);           /* out 0x81, al; iret */
   PUT(0x8100, 0xe6, 0x82, 0xf4);           /* out 0x82, al; hlt */
   shim_wr32(S, 0x10 * 4, 0x00008000);      /* IVT[0x10] = 0000:8000 */
   shim_wr32(S, 0, 0x00008100);             /* IVT[0] = 0000:8100 */
   soft_exit ex;
   soft_cpu_run(S->cpu, 1000, &ex);
   CHECK_EQ(ex.reason, SOFT_EXIT_HALT);
   CHECK_EQ(shim_rd32(S, 0x12350) & 0xffff, 0x1234);
   CHECK_EQ(S->nout, 3);
   CHECK_EQ(S->out_port[0], 0x80);
   CHECK_EQ(S->out_val[0], 0x35);
   CHECK_EQ(S->out_port[1], 0x81);
   CHECK_EQ(S->out_port[2], 0x82);
   /* #DE pushed FLAGS, CS, IP of the faulting DIV (0x7c11) */
   vmm_regs r = regs();
   uint64_t sp = r.gpr[VMM_RSP] & 0xffff;
   vmm_sregs s = sregs();
   uint64_t ss = s.seg[VMM_SS].base;
   CHECK_EQ(shim_rd32(S, ss + sp) & 0xffff, 0x7c11);
}

/* ---- mode switch ---------------------------------------------------------- */

static void test_mode_switch(void)
{
   reset_machine();
   shim_real_mode(S, 0, 0x7c00);
   /* GDT: null, 0x08 code32, 0x10 data, 0x18 code64 */
   shim_wr64(S, 0x500, 0);
   shim_wr64(S, 0x508, 0x00cf9a000000ffffull);
   shim_wr64(S, 0x510, 0x00cf92000000ffffull);
   shim_wr64(S, 0x518, 0x00af9a000000ffffull);
   PUT(0x600, 0x1f, 0x00, 0x00, 0x05, 0x00, 0x00);   /* GDTR: limit 0x1f base 0x500 */
   /* identity map the first 2M */
   shim_wr64(S, 0x1000, 0x2000 | 3);
   shim_wr64(S, 0x2000, 0x3000 | 3);
   shim_wr64(S, 0x3000, 0x0 | 0x83);
   PUT(0x7c00,
       0xfa,                                  /* cli */
       0x0f, 0x01, 0x16, 0x00, 0x06,          /* lgdt [0x600] */
       0x0f, 0x20, 0xc0,                      /* mov eax, cr0 */
       0x66, 0x83, 0xc8, 0x01,                /* or eax, 1 */
       0x0f, 0x22, 0xc0,                      /* mov cr0, eax */
       0x66, 0xea, 0x00, 0x7d, 0x00, 0x00, 0x08, 0x00);   /* jmp dword 0x08:0x7d00 */
   PUT(0x7d00,
       0xb8, 0x10, 0x00, 0x00, 0x00,          /* mov eax, 0x10 */
       0x8e, 0xd8,                            /* mov ds, ax */
       0x8e, 0xd0,                            /* mov ss, ax */
       0xc7, 0x05, 0x00, 0x90, 0x00, 0x00, 0xef, 0xbe, 0xad, 0xde, /* mov [0x9000], 0xdeadbeef */
       0x0f, 0x20, 0xe0,                      /* mov eax, cr4 */
       0x83, 0xc8, 0x20,                      /* or eax, PAE */
       0x0f, 0x22, 0xe0,                      /* mov cr4, eax */
       0xb8, 0x00, 0x10, 0x00, 0x00,          /* mov eax, 0x1000 */
       0x0f, 0x22, 0xd8,                      /* mov cr3, eax */
       0xb9, 0x80, 0x00, 0x00, 0xc0,          /* mov ecx, EFER */
       0x0f, 0x32,                            /* rdmsr */
       0x0d, 0x00, 0x01, 0x00, 0x00,          /* or eax, LME */
       0x0f, 0x30,                            /* wrmsr */
       0x0f, 0x20, 0xc0,                      /* mov eax, cr0 */
       0x0d, 0x00, 0x00, 0x00, 0x80,          /* or eax, PG */
       0x0f, 0x22, 0xc0,                      /* mov cr0, eax */
       0xea, 0x00, 0x7e, 0x00, 0x00, 0x18, 0x00);   /* jmp 0x18:0x7e00 */
   PUT(0x7e00,
       0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,   /* mov rax, imm64 */
       0x48, 0xa3, 0x08, 0x90, 0, 0, 0, 0, 0, 0,                      /* mov [0x9008], rax */
       0x48, 0x8d, 0x1d, 0xf0, 0xff, 0xff, 0xff,                      /* lea rbx, [rip-16] */
       0xf4);
   soft_exit ex;
   soft_cpu_run(S->cpu, 1000, &ex);
   CHECK_EQ(ex.reason, SOFT_EXIT_HALT);
   CHECK_EQ(shim_rd32(S, 0x9000), 0xdeadbeef);
   CHECK_EQ(shim_rd64(S, 0x9008), 0x1122334455667788ull);
   vmm_sregs s = sregs();
   CHECK(s.efer & 0x400, "EFER.LMA set");
   CHECK_EQ(s.seg[VMM_CS].selector, 0x18);
   CHECK_EQ(s.seg[VMM_CS].l, 1);
   CHECK_EQ(regs().gpr[VMM_RBX], 0x7e1b - 16);
   CHECK_EQ(regs().rip, 0x7e1c);
}

/* ---- long mode system setup shared by the remaining tests ---------------- */

static void long_system(unsigned cpl, uint16_t idt_limit)
{
   reset_machine();
   /* GDT at 0x500 */
   shim_wr64(S, 0x500, 0);
   shim_wr64(S, 0x508, 0x00af9a000000ffffull);   /* 0x08 kernel code64 */
   shim_wr64(S, 0x510, 0x00cf92000000ffffull);   /* 0x10 kernel data */
   shim_wr64(S, 0x528, 0x00cff2000000ffffull);   /* 0x28 user data */
   shim_wr64(S, 0x530, 0x00affa000000ffffull);   /* 0x30 user code64 */
   shim_wr64(S, 0x538, 0x00008b0007000067ull);   /* 0x38 TSS at 0x700, busy */
   shim_wr64(S, 0x540, 0);
   shim_wr64(S, 0x704, 0x70000);                 /* RSP0 */
   shim_wr64(S, 0x724, 0x60000);                 /* IST1 */
   /* page tables: 2M identity, user accessible; 1G+ absent */
   shim_wr64(S, 0x1000, 0x2000 | 7);
   shim_wr64(S, 0x2000, 0x3000 | 7);
   shim_wr64(S, 0x3000, 0x0 | 0x87);
   shim_long_mode(S, 0x1000, cpl);
   vmm_sregs s = sregs();
   s.gdt = (vmm_dtable){ 0x500, 0x47 };
   s.idt = (vmm_dtable){ 0x800, idt_limit };
   s.tr = (vmm_seg){ 0x700, 0x67, 0x38, 0xb, 0, 0, 1, 0, 0, 0, 0, 0 };
   s.ldtr.unusable = 1;
   CHECK_EQ(soft_set_sregs(S->cpu, &s), 0);
}

static void idt_gate(unsigned vec, uint64_t handler, unsigned ist, unsigned dpl, bool present)
{
   uint64_t lo = (handler & 0xffff) | (0x08ull << 16) | ((uint64_t)ist << 32) |
                 ((uint64_t)(0xe | (dpl << 5) | (present ? 0x80 : 0)) << 40) |
                 ((handler & 0xffff0000ull) << 32);
   shim_wr64(S, 0x800 + vec * 16, lo);
   shim_wr64(S, 0x800 + vec * 16 + 8, handler >> 32);
}

static void set_rip_rsp(uint64_t rip, uint64_t rsp, uint64_t rflags)
{
   vmm_regs r = regs();
   r.rip = rip;
   r.gpr[VMM_RSP] = rsp;
   r.rflags = rflags;
   soft_set_regs(S->cpu, &r);
   soft_cpu_set_halted(S->cpu, false);
}

static void test_long_exceptions(void)
{
   long_system(3, 0xfff);
   idt_gate(14, 0x9000, 1, 0, true);
   idt_gate(13, 0x9100, 0, 0, true);
   PUT(0x8000,
       0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40,   /* mov rax, [0x40000000] -> #PF */
       0x48, 0xc7, 0xc3, 0x01, 0x00, 0x00, 0x00,         /* mov rbx, 1 */
       0xfa);                                            /* cli -> #GP(0) at CPL 3 */
   PUT(0x9000,
       0x0f, 0x20, 0xd0,                                 /* mov rax, cr2 */
       0x48, 0x89, 0x04, 0x25, 0x00, 0xa0, 0x00, 0x00,   /* mov [0xa000], rax */
       0x48, 0x8b, 0x04, 0x24,                           /* mov rax, [rsp] */
       0x48, 0x89, 0x04, 0x25, 0x08, 0xa0, 0x00, 0x00,   /* mov [0xa008], rax */
       0x48, 0x89, 0x24, 0x25, 0x18, 0xa0, 0x00, 0x00,   /* mov [0xa018], rsp */
       0x48, 0x83, 0xc4, 0x08,                           /* add rsp, 8 */
       0x48, 0x83, 0x04, 0x24, 0x08,                     /* add qword [rsp], 8 */
       0x48, 0xcf);                                      /* iretq */
   PUT(0x9100,
       0x48, 0x89, 0x24, 0x25, 0x10, 0xa0, 0x00, 0x00,   /* mov [0xa010], rsp */
       0xf4);
   set_rip_rsp(0x8000, 0x50000, 0x202);
   soft_exit ex;
   soft_cpu_run(S->cpu, 100, &ex);
   CHECK_EQ(ex.reason, SOFT_EXIT_HALT);
   CHECK_EQ(shim_rd64(S, 0xa000), 0x40000000);
   CHECK_EQ(shim_rd64(S, 0xa008), 4);                  /* user, read, not present */
   CHECK_EQ(shim_rd64(S, 0xa018), 0x60000 - 48);       /* IST1 stack, aligned */
   CHECK_EQ(regs().gpr[VMM_RBX], 1);                   /* resumed at CPL 3 */
   uint64_t f = 0x70000 - 48;                          /* RSP0 frame of the #GP */
   CHECK_EQ(shim_rd64(S, 0xa010), f);
   CHECK_EQ(shim_rd64(S, f + 0), 0);                   /* error code */
   CHECK_EQ(shim_rd64(S, f + 8), 0x800f);              /* RIP of CLI */
   CHECK_EQ(shim_rd64(S, f + 16), 0x33);
   CHECK_EQ(shim_rd64(S, f + 24) & 0x200, 0x200);      /* IF was set */
   CHECK_EQ(shim_rd64(S, f + 32), 0x50000);
   CHECK_EQ(shim_rd64(S, f + 40), 0x2b);
   vmm_sregs s = sregs();
   CHECK_EQ(s.seg[VMM_CS].selector, 0x08);
   CHECK_EQ(s.seg[VMM_SS].selector, 0);                /* null SS with RPL 0 */
   CHECK_EQ(regs().rflags & 0x200, 0);                 /* interrupt gate cleared IF */
}

/* Port I/O at CPL 3 with IOPL 0: the TSS bitmap decides (a port past its
 * limit: #GP), but the VMware backdoor ports answer anyway, as VMware's
 * monitor has it, so that user-mode guest tools reach them. */
static void test_user_io(void)
{
   long_system(3, 0xfff);
   idt_gate(13, 0x9100, 0, 0, true);
   PUT(0x8000,
       0x66, 0xba, 0x58, 0x56,                           /* mov dx, 0x5658 */
       0xed,                                             /* in eax, dx */
       0x89, 0x04, 0x25, 0x00, 0xa0, 0x00, 0x00,         /* mov [0xa000], eax */
       0x66, 0xba, 0x59, 0x56,                           /* mov dx, 0x5659 */
       0xee,                                             /* out dx, al */
       0x66, 0xba, 0xf8, 0x03,                           /* mov dx, 0x3f8 */
       0xec);                                            /* in al, dx -> #GP(0) */
   PUT(0x9100,
       0x48, 0x89, 0x24, 0x25, 0x10, 0xa0, 0x00, 0x00,   /* mov [0xa010], rsp */
       0xf4);
   S->in_val = 0x564d5868;
   S->nout = 0;
   set_rip_rsp(0x8000, 0x50000, 0x202);                /* IOPL 0 */
   soft_exit ex;
   soft_cpu_run(S->cpu, 100, &ex);
   CHECK_EQ(ex.reason, SOFT_EXIT_HALT);
   CHECK_EQ(shim_rd64(S, 0xa000) & 0xffffffff, 0x564d5868);  /* the backdoor read */
   CHECK_EQ(S->nout, 1);
   CHECK_EQ(S->out_port[0], 0x5659);
   uint64_t f = 0x70000 - 48;                          /* RSP0 frame of the #GP */
   CHECK_EQ(shim_rd64(S, 0xa010), f);
   CHECK_EQ(shim_rd64(S, f + 0), 0);                   /* error code */
   CHECK_EQ(shim_rd64(S, f + 8), 0x8015);              /* RIP of the IN from 0x3f8 */
}

static void test_double_triple_fault(void)
{
   /* #PF's gate lies beyond the IDT limit: #GP(0xe3) during delivery of
    * a #PF is a double fault. */
   long_system(0, 14 * 16 - 1);
   idt_gate(8, 0x9200, 0, 0, true);
   idt_gate(13, 0x9100, 0, 0, true);
   PUT(0x8000, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x40);
   PUT(0x9200, 0xf4);
   PUT(0x9100, 0xf4);
   set_rip_rsp(0x8000, 0x50000, 0x2);
   soft_exit ex;
   soft_cpu_run(S->cpu, 100, &ex);
   CHECK_EQ(ex.reason, SOFT_EXIT_HALT);
   CHECK_EQ(regs().rip, 0x9201);
   CHECK_EQ(shim_rd64(S, 0x50000 - 48), 0);            /* #DF error code 0 */
   CHECK_EQ(shim_rd64(S, 0x50000 - 40), 0x8000);
   /* without a #DF handler: triple fault */
   idt_gate(8, 0x9200, 0, 0, false);
   set_rip_rsp(0x8000, 0x50000, 0x2);
   soft_cpu_run(S->cpu, 100, &ex);
   CHECK_EQ(ex.reason, SOFT_EXIT_SHUTDOWN);
}

static void test_syscall(void)
{
   long_system(3, 0xfff);
   soft_set_msr(S->cpu, 0xc0000081, (0x20ull << 48) | (0x08ull << 32));   /* STAR */
   soft_set_msr(S->cpu, 0xc0000082, 0x9300);                             /* LSTAR */
   soft_set_msr(S->cpu, 0xc0000084, 0x200);                              /* SFMASK: IF */
   soft_set_msr(S->cpu, 0xc0000102, 0xab000);                           /* KERNEL_GS_BASE */
   PUT(0x8000,
       0x0f, 0x05,                                       /* syscall */
       0x48, 0xc7, 0xc2, 0x05, 0x00, 0x00, 0x00);        /* mov rdx, 5 */
   PUT(0x9300,
       0x0f, 0x01, 0xf8,                                 /* swapgs */
       0x65, 0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00,   /* mov rax, gs:[0] */
       0x48, 0x89, 0x0c, 0x25, 0x20, 0xa0, 0x00, 0x00,   /* mov [0xa020], rcx */
       0x9c,                                             /* pushfq (user stack, fine here) */
       0x8f, 0x04, 0x25, 0x28, 0xa0, 0x00, 0x00,         /* pop qword [0xa028] */
       0x0f, 0x01, 0xf8,                                 /* swapgs */
       0x48, 0x0f, 0x07);                                /* sysretq */
   shim_wr64(S, 0xab000, 0x5151);
   set_rip_rsp(0x8000, 0x50000, 0x202);
   soft_exit ex;
   soft_cpu_run(S->cpu, 9, &ex);
   CHECK_EQ(ex.reason, SOFT_EXIT_LIMIT);
   vmm_regs r = regs();
   CHECK_EQ(r.gpr[VMM_RDX], 5);
   CHECK_EQ(r.gpr[VMM_RAX], 0x5151);
   CHECK_EQ(shim_rd64(S, 0xa020), 0x8002);
   CHECK_EQ(shim_rd64(S, 0xa028) & 0x200, 0);          /* SFMASK cleared IF in the kernel */
   CHECK_EQ(r.gpr[VMM_R11] & 0x200, 0x200);
   CHECK_EQ(r.rflags & 0x200, 0x200);                   /* restored from R11 */
   vmm_sregs s = sregs();
   CHECK_EQ(s.seg[VMM_CS].selector, 0x33);
   CHECK_EQ(s.seg[VMM_SS].selector, 0x2b);
   CHECK_EQ(s.seg[VMM_GS].base, 0);
   uint64_t kgs = 0;
   soft_get_msr(S->cpu, 0xc0000102, &kgs);
   CHECK_EQ(kgs, 0xab000);
}

static int ack_calls;
static int test_ack(void *o, soft_cpu *cpu)
{
   ack_calls++;
   soft_cpu_set_irq(cpu, false);
   return 0x20;
}

static void test_interrupt_hlt(void)
{
   long_system(0, 0xfff);
   idt_gate(0x20, 0x9400, 0, 0, true);
   PUT(0x8000,
       0xfb,               /* sti */
       0xf4,               /* hlt */
       0xe6, 0x91,         /* out 0x91, al */
       0xfa, 0xf4);        /* cli; hlt */
   PUT(0x9400, 0xe6, 0x90, 0x48, 0xcf);   /* out 0x90, al; iretq */
   set_rip_rsp(0x8000, 0x50000, 0x2);
   soft_options o = { .hlt_exits = true };
   soft_cpu_set_options(S->cpu, &o);
   S->io.intr_ack = test_ack;
   soft_exit ex;
   soft_cpu_run(S->cpu, 100, &ex);
   CHECK_EQ(ex.reason, SOFT_EXIT_HALT);
   CHECK_EQ(S->nout, 0);
   soft_cpu_set_irq(S->cpu, true);
   soft_cpu_run(S->cpu, 100, &ex);
   CHECK_EQ(ex.reason, SOFT_EXIT_HALT);
   CHECK_EQ(ack_calls, 1);
   CHECK_EQ(S->nout, 2);
   CHECK_EQ(S->out_port[0], 0x90);
   CHECK_EQ(S->out_port[1], 0x91);
   CHECK_EQ(regs().rip, 0x8006);
   S->io.intr_ack = NULL;
}

/* An interrupt already pending when STI runs is held back by the STI
 * shadow for exactly one instruction, then taken (it once livelocked the
 * run loop: pending, undeliverable, and no instruction ran to end the
 * shadow). */
static void test_sti_shadow_pending(void)
{
   long_system(0, 0xfff);
   idt_gate(0x20, 0x9400, 0, 0, true);
   PUT(0x8000,
       0xfb,               /* sti */
       0xe6, 0x92,         /* out 0x92, al: the instruction in the shadow */
       0xe6, 0x93,         /* out 0x93, al: after the interrupt */
       0xfa, 0xf4);        /* cli; hlt */
   PUT(0x9400, 0xe6, 0x90, 0x48, 0xcf);   /* out 0x90, al; iretq */
   set_rip_rsp(0x8000, 0x50000, 0x2);
   soft_options o = { .hlt_exits = true };
   soft_cpu_set_options(S->cpu, &o);
   S->io.intr_ack = test_ack;
   S->nout = 0;
   ack_calls = 0;
   soft_cpu_set_irq(S->cpu, true);
   soft_exit ex;
   soft_cpu_run(S->cpu, 100, &ex);
   CHECK_EQ(ex.reason, SOFT_EXIT_HALT);
   CHECK_EQ(ack_calls, 1);
   CHECK_EQ(S->nout, 3);
   CHECK_EQ(S->out_port[0], 0x92);
   CHECK_EQ(S->out_port[1], 0x90);
   CHECK_EQ(S->out_port[2], 0x93);
   /* the same with the first instructions in a decoded block */
   set_rip_rsp(0x8000, 0x50000, 0x2);
   S->nout = 0;
   ack_calls = 0;
   soft_cpu_set_irq(S->cpu, true);
   soft_cpu_run(S->cpu, 100, &ex);
   CHECK_EQ(ex.reason, SOFT_EXIT_HALT);
   CHECK_EQ(ack_calls, 1);
   CHECK_EQ(S->nout, 3);
   CHECK_EQ(S->out_port[0], 0x92);
   CHECK_EQ(S->out_port[1], 0x90);
   S->io.intr_ack = NULL;
}

static void test_garbage_never_crashes(void)
{
   /* random bytes in every mode: the interpreter must only ever raise
    * exceptions, never crash or hang */
   uint64_t seed = 12345;
   for (unsigned round = 0; round < 20000; round++) {
      switch (round % 3) {
      case 0: long_system(round & 4 ? 3 : 0, 0xfff); break;
      case 1: reset_machine(); shim_real_mode(S, 0, 0x7c00); break;
      default: reset_machine(); shim_prot32(S, 0, 0, 0); break;
      }
      uint8_t buf[64];
      for (unsigned i = 0; i < sizeof(buf); i++) {
         seed = seed * 6364136223846793005ull + 1442695040888963407ull;
         buf[i] = (uint8_t)(seed >> 56);
      }
      /* Half the rounds with SSE on and the bytes steered into the x87,
       * 0F, 0F 38 and 0F 3A spaces: whatever the encoding, the host-run
       * x87/SSE path must only ever fault the guest. */
      if (round & 8) {
         static const uint8_t lead[][3] = {
            { 0x0f }, { 0x66, 0x0f }, { 0xf3, 0x0f }, { 0xf2, 0x0f }, { 0x66, 0x0f, 0x38 },
            { 0x66, 0x0f, 0x3a }, { 0x0f, 0x38 }, { 0x0f, 0x3a }, { 0xd9 }, { 0xdd }, { 0xdb },
            { 0xdf }, { 0x0f, 0xae },
         };
         static const uint8_t llen[] = { 1, 2, 2, 2, 3, 3, 2, 2, 1, 1, 1, 1, 2 };
         unsigned k = (unsigned)(seed >> 20) % sizeof(llen);
         for (unsigned pos = 0; pos + 16 < sizeof(buf); pos += 8)
            memcpy(buf + pos, lead[(k + pos) % sizeof(llen)], llen[(k + pos) % sizeof(llen)]);
      }
      put(0x7c00, buf, sizeof(buf));
      put(0x8000, buf, sizeof(buf));
      vmm_regs r = regs();
      r.rip = (round % 3) == 1 ? 0x7c00 : 0x8000;
      for (unsigned i = 0; i < 16; i++)
         r.gpr[i] = (seed >> i) * 0x9e3779b97f4a7c15ull;
      r.gpr[VMM_RSP] = 0x50000;
      soft_set_regs(S->cpu, &r);
      if (round & 8) {
         vmm_sregs sr = sregs();
         sr.cr4 |= 0x600 | ((sr.cr0 & 1) ? 0x40000 : 0);   /* OSFXSR OSXMMEXCPT (OSXSAVE) */
         soft_set_sregs(S->cpu, &sr);
      }
      soft_cpu_set_halted(S->cpu, false);
      /* HLT with IF=1 would sleep until an interrupt: make it exit */
      soft_options o = { .intercept_exceptions = true, .hlt_exits = true };
      soft_cpu_set_options(S->cpu, &o);
      soft_exit ex;
      soft_cpu_run(S->cpu, 20, &ex);
      CHECK(ex.reason == SOFT_EXIT_LIMIT || ex.reason == SOFT_EXIT_EXCEPTION ||
            ex.reason == SOFT_EXIT_HALT, "round %u: reason %d", round, ex.reason);
   }
}

int main(void)
{
   S = shim_new(8 << 20);
   test_real_mode();
   test_mode_switch();
   test_long_exceptions();
   test_user_io();
   test_double_triple_fault();
   test_syscall();
   test_interrupt_hlt();
   test_sti_shadow_pending();
   test_garbage_never_crashes();
   shim_free(S);
   if (shim_failures) {
      fprintf(stderr, "%d check(s) failed\n", shim_failures);
      return 1;
   }
   printf("modes: all checks passed\n");
   return 0;
}
