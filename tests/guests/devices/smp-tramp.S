/*
 * tests/guests/devices/smp-tramp.S - the application processors' start-up
 * code. smp.c copies smp_tramp_start..smp_tramp_end to SMP_TRAMP_BASE
 * (below 1 MiB, page aligned) and sends INIT/SIPI with vector
 * SMP_TRAMP_BASE >> 12. An AP starts here in real mode at CS = base >> 4,
 * IP = 0; it loads the trampoline's own GDT, enters protected mode, turns
 * on PAE and long mode with the kit's page tables (tr_cr3), takes a stack
 * slot by atomically incrementing tr_next, and calls tr_entry(slot) in
 * 64-bit mode. The fields tr_cr3, tr_entry and tr_stacks are filled in by
 * the BSP in the copy.
 */
#define SMP_TRAMP_BASE 0x10000
#define AP_STACK_SIZE 4096
#define OFF(sym) ((sym) - smp_tramp_start)
#define ABS(sym) (SMP_TRAMP_BASE + OFF(sym))

   .section .rodata
   .balign 16
   .globl smp_tramp_start, smp_tramp_end
   .globl smp_tramp_cr3, smp_tramp_entry, smp_tramp_stacks, smp_tramp_next

   .code16
smp_tramp_start:
   cli
   cld
   movw %cs, %ax
   movw %ax, %ds
   lgdtl OFF(tr_gdtr)
   movl %cr0, %eax
   orl $1, %eax
   movl %eax, %cr0
   ljmpl $0x08, $ABS(tr_pm32)

   .code32
tr_pm32:
   movl $0x10, %eax
   movl %eax, %ds
   movl %eax, %es
   movl %eax, %ss
   movl %cr4, %eax
   orl $0x20, %eax                 /* PAE */
   movl %eax, %cr4
   movl ABS(smp_tramp_cr3), %eax
   movl %eax, %cr3
   movl $0xc0000080, %ecx          /* EFER.LME */
   rdmsr
   orl $0x100, %eax
   wrmsr
   movl %cr0, %eax
   orl $0x80010000, %eax           /* PG, WP */
   andl $0x9fffffff, %eax          /* caches on */
   movl %eax, %cr0
   ljmpl $0x18, $ABS(tr_lm64)

   .code64
tr_lm64:
   movl $1, %edi
   lock xaddl %edi, ABS(smp_tramp_next)   /* edi = this AP's slot */
   movl %edi, %eax
   incl %eax
   imull $AP_STACK_SIZE, %eax
   addq ABS(smp_tramp_stacks), %rax
   movq %rax, %rsp
   xorl %ebp, %ebp
   movq ABS(smp_tramp_entry), %rax
   call *%rax
1: cli
   hlt
   jmp 1b

   .balign 8
tr_gdt:
   .quad 0
   .quad 0x00cf9a000000ffff        /* 0x08 32-bit code */
   .quad 0x00cf92000000ffff        /* 0x10 data */
   .quad 0x00af9a000000ffff        /* 0x18 64-bit code */
tr_gdtr:
   .word 31
   .long ABS(tr_gdt)
   .balign 8
smp_tramp_cr3:    .quad 0
smp_tramp_entry:  .quad 0
smp_tramp_stacks: .quad 0
smp_tramp_next:   .long 0
   .balign 16
smp_tramp_end:

   .section .note.GNU-stack, "", @progbits
