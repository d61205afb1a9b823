/*
 * tests/guests/kit/start.S - entry points and low-level glue of the guest
 * test kit.
 *
 * Two ways in, both in 32-bit protected mode with paging off:
 *   multiboot v1: _start (the ELF entry), eax = 0x2badb002, ebx = info
 *   PVH:          _pvh_start (XEN_ELFNOTE_PHYS32_ENTRY), ebx = hvm_start_info
 * Both continue at common32, which loads the kit's GDT, builds nothing at
 * run time (the page tables are assembled statically: 4 GiB identity map of
 * 2 MiB pages, user-accessible), enables long mode and calls kit_start().
 *
 * Also here: the 256 interrupt stubs and the common trap entry, the CPL3
 * entry/return trampolines and kit_setjmp.
 */

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003   /* page-align modules, want memory info */

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10

/* ---- multiboot header (first in the image) ----------------------------------
 * KIT_NO_MULTIBOOT builds a PVH-only image: loaders that prefer multiboot
 * when both are present (QEMU does) then have to take the PVH entry. */
#ifndef KIT_NO_MULTIBOOT
   .section .multiboot, "a"
   .balign 4
   .globl kit_multiboot_header
kit_multiboot_header:
   .long MB_MAGIC
   .long MB_FLAGS
   .long -(MB_MAGIC + MB_FLAGS)
#endif

/* ---- PVH entry note ---------------------------------------------------------- */
   .section .note.pvh, "a"
   .balign 4
   .long 4                  /* namesz: "Xen\0" */
   .long 4                  /* descsz: 32-bit physical entry */
   .long 18                 /* XEN_ELFNOTE_PHYS32_ENTRY */
   .asciz "Xen"
   .balign 4
   .long _pvh_start

/* ---- 32-bit entry ------------------------------------------------------------ */
   .section .text.boot, "ax"
   .code32
   .globl _start
_start:
   cli
   cld
   movl %eax, kit_boot_magic
   movl %ebx, kit_boot_info
   movl $1, kit_boot_proto
   jmp common32

   .globl _pvh_start
_pvh_start:
   cli
   cld
   movl %ebx, kit_boot_info
   movl $2, kit_boot_proto
   jmp common32

common32:
   lgdt kit_gdt_ptr
   movl $SEL_KDATA, %eax
   movl %eax, %ds
   movl %eax, %es
   movl %eax, %ss
   movl %eax, %fs
   movl %eax, %gs
   movl $kit_kstack_top, %esp

   movl %cr4, %eax
   orl $0x20, %eax                 /* PAE */
   movl %eax, %cr4
   movl $kit_pml4, %eax
   movl %eax, %cr3
   movl $0xc0000080, %ecx          /* EFER */
   rdmsr
   orl $0x100, %eax                /* LME */
   wrmsr
   movl %cr0, %eax
   orl $0x80010021, %eax           /* PG WP NE PE */
   andl $0x9fffffff, %eax          /* caches on: clear CD, NW */
   movl %eax, %cr0
   ljmp $SEL_KCODE, $start64

   .code64
start64:
   movl $SEL_KDATA, %eax
   movl %eax, %ds
   movl %eax, %es
   movl %eax, %ss
   xorl %eax, %eax
   movl %eax, %fs
   movl %eax, %gs
   movq $kit_kstack_top, %rsp
   xorl %ebp, %ebp
   call kit_start
1: cli
   hlt
   jmp 1b

/* ---- boot data, GDT, page tables -------------------------------------------- */
   .section .data
   .balign 8
   .globl kit_boot_magic, kit_boot_info, kit_boot_proto
kit_boot_magic: .long 0
kit_boot_info:  .long 0
kit_boot_proto: .long 0

   .balign 16
   .globl kit_gdt
kit_gdt:
   .quad 0                         /* 0x00 null */
   .quad 0x00af9a000000ffff        /* 0x08 kernel code, 64-bit */
   .quad 0x00cf92000000ffff        /* 0x10 kernel data */
   .quad 0x00affa000000ffff        /* 0x18 user code, 64-bit (selector 0x1b) */
   .quad 0x00cff2000000ffff        /* 0x20 user data (selector 0x23) */
   .quad 0, 0                      /* 0x28 TSS, filled in by kit_start */
kit_gdt_end:
   .globl kit_gdt_ptr
kit_gdt_ptr:
   .word kit_gdt_end - kit_gdt - 1
   .quad kit_gdt

   .section .data.pagetables, "aw"
   .balign 4096
   .globl kit_pml4, kit_pdpt, kit_pd
kit_pml4:
   .quad kit_pdpt + 0x7
   .fill 511, 8, 0
kit_pdpt:
   .quad kit_pd + 0x7
   .quad kit_pd + 0x1000 + 0x7
   .quad kit_pd + 0x2000 + 0x7
   .quad kit_pd + 0x3000 + 0x7
   .fill 508, 8, 0
kit_pd:                            /* 2048 x 2 MiB: present, writable, user */
   .irp hi, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
   .irp mid, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
   .irp lo, 0,1,2,3,4,5,6,7
   .quad ((\hi * 128 + \mid * 8 + \lo) << 21) | 0x87
   .endr
   .endr
   .endr

   .section .bss
   .balign 16
   .globl kit_kstack_top, kit_ustack_top, kit_dfstack_top
   .space 32768
kit_kstack_top:
   .space 65536
kit_ustack_top:
   .space 8192
kit_dfstack_top:

/* ---- interrupt stubs ----------------------------------------------------------- */
   .section .text
   .balign 16
   .globl kit_isr_stubs
kit_isr_stubs:
   .irp hi, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
   .irp lo, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
   .balign 16
   .if ((\hi*16+\lo) != 8) && ((\hi*16+\lo) != 10) && ((\hi*16+\lo) != 11) && ((\hi*16+\lo) != 12) && ((\hi*16+\lo) != 13) && ((\hi*16+\lo) != 14) && ((\hi*16+\lo) != 17) && ((\hi*16+\lo) != 21) && ((\hi*16+\lo) != 29) && ((\hi*16+\lo) != 30)
   pushq $0                        /* no CPU error code: push a zero */
   .endif
   pushq $(\hi*16+\lo)
   jmp kit_isr_common
   .endr
   .endr

kit_isr_common:
   pushq %rax
   pushq %rbx
   pushq %rcx
   pushq %rdx
   pushq %rsi
   pushq %rdi
   pushq %rbp
   pushq %r8
   pushq %r9
   pushq %r10
   pushq %r11
   pushq %r12
   pushq %r13
   pushq %r14
   pushq %r15
   movq %rsp, %rdi
   cld
   call kit_trap
   popq %r15
   popq %r14
   popq %r13
   popq %r12
   popq %r11
   popq %r10
   popq %r9
   popq %r8
   popq %rbp
   popq %rdi
   popq %rsi
   popq %rdx
   popq %rcx
   popq %rbx
   popq %rax
   addq $16, %rsp
   iretq

/* ---- user mode ------------------------------------------------------------------- */

/* void kit_enter_user(uint64_t rip, uint64_t rsp, uint64_t arg, uint64_t rflags) */
   .globl kit_enter_user
kit_enter_user:
   pushq $0x23                     /* ss */
   pushq %rsi                      /* rsp */
   pushq %rcx                      /* rflags */
   pushq $0x1b                     /* cs */
   pushq %rdi                      /* rip */
   movq %rdx, %rdi
   xorl %eax, %eax
   xorl %ebx, %ebx
   xorl %ecx, %ecx
   xorl %edx, %edx
   xorl %esi, %esi
   xorl %ebp, %ebp
   xorl %r8d, %r8d
   xorl %r9d, %r9d
   xorl %r10d, %r10d
   xorl %r11d, %r11d
   movl $0x23, %r12d
   movl %r12d, %ds
   movl %r12d, %es
   xorl %r12d, %r12d
   iretq

/* CPL3: where a user function returns to. It hands its result (rdi) to the
 * kernel with a #UD at the known address kit_user_exit, which kit_trap()
 * recognises. An exception rather than INT n: KVM-PVM hosts do not deliver
 * software interrupts raised in guest user mode. */
   .globl kit_user_return, kit_user_exit
kit_user_return:
   movq %rax, %rdi
kit_user_exit:
   ud2

/* int kit_setjmp(kit_jmpbuf *jb): 0 now, 1 when a trap resumes here. */
   .globl kit_setjmp
kit_setjmp:
   movq %rbx, 0(%rdi)
   movq %rbp, 8(%rdi)
   movq %r12, 16(%rdi)
   movq %r13, 24(%rdi)
   movq %r14, 32(%rdi)
   movq %r15, 40(%rdi)
   leaq 8(%rsp), %rdx
   movq %rdx, 48(%rdi)
   movq (%rsp), %rdx
   movq %rdx, 56(%rdi)
   pushfq
   popq %rdx
   movq %rdx, 64(%rdi)
   xorl %eax, %eax
   ret

   .section .note.GNU-stack, "", @progbits
