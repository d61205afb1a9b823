/*
 * vmm/kvm/tests/kvm-test-guest.S - guest code for the KVM monitor's unit
 * tests. It is data for the host test programs: kvm-test-env.c copies the
 * bytes between kvmtest_guest_start and kvmtest_guest_end to guest physical
 * KVMTEST_CODE and computes entry points by offset. Position independent;
 * absolute addresses (MMIO) go through registers.
 *
 * Test ports: 0xe0 ready, 0xe1 report (host reads the registers),
 * 0xe2 interrupt vector seen (al).
 */
   .section .rodata.kvmtest_guest, "a"
   .code64
   .balign 16
   .globl kvmtest_guest_start
kvmtest_guest_start:

/* CPL3: counts in rax forever. */
   .globl kvmtest_user_loop
kvmtest_user_loop:
1: add $1, %rax
   jmp 1b

/* CPL3: rax <- xmm0, xmm1 <- rbx, rdx <- rcx + rdx, report, spin. */
   .globl kvmtest_state
kvmtest_state:
   movq %xmm0, %rax
   movq %rbx, %xmm1
   add %rcx, %rdx
   out %al, $0xe1
1: jmp 1b

/* CPL3: string and MMIO accesses.
 *   rep outsb: rcx bytes from rsi to port 0xe3
 *   rep insw:  8 words from port 0xe4 to rdi
 *   MMIO at r8 (unbacked): write 1, 2, 4, 8 bytes, read 8, 4, 2, 1 bytes into
 *   r9, r10, r11, r12; then report. */
   .globl kvmtest_strio
kvmtest_strio:
   mov $0xe3, %dx
   rep outsb
   mov $0xe4, %dx
   mov $8, %ecx
   rep insw
   movb $0x11, (%r8)
   movw $0x2233, 0x10(%r8)
   movl $0x44556677, 0x20(%r8)
   movabs $0x8899aabbccddeeff, %rax
   mov %rax, 0x30(%r8)
   mov 0x40(%r8), %r9
   mov 0x48(%r8), %r10d
   movzwl 0x50(%r8), %r11d
   movzbl 0x58(%r8), %r12d
   out %al, $0xe1
1: jmp 1b

/* CPL0: cpuid(eax, ecx), report, spin. */
   .globl kvmtest_cpuid
kvmtest_cpuid:
   cpuid
   out %al, $0xe1
1: jmp 1b

/* CPL3, IF=1: set up the PIC (vectors 0x20-0x2f, only IRQ3 unmasked) and
 * IOAPIC pin 20 (vector 0x40, edge, to APIC 0), say ready and spin. */
   .globl kvmtest_irq
kvmtest_irq:
   mov $0x11, %al
   out %al, $0x20
   out %al, $0xa0
   mov $0x20, %al
   out %al, $0x21
   mov $0x28, %al
   out %al, $0xa1
   mov $0x04, %al
   out %al, $0x21
   mov $0x02, %al
   out %al, $0xa1
   mov $0x01, %al
   out %al, $0x21
   out %al, $0xa1
   mov $0xf7, %al
   out %al, $0x21
   mov $0xff, %al
   out %al, $0xa1
   mov $0xfec00000, %esi
   movl $(0x10 + 2 * 20), (%rsi)
   movl $0x40, 0x10(%rsi)
   movl $(0x11 + 2 * 20), (%rsi)
   movl $0, 0x10(%rsi)
   out %al, $0xe0
1: jmp 1b

/* CPL0 interrupt handlers: report the vector, EOI the PIC and the LAPIC. */
   .macro vec_stub n
   .globl kvmtest_vec_\n
kvmtest_vec_\n:
   push %rax
   push %rsi
   mov $\n, %al
   out %al, $0xe2
   mov $0x20, %al
   out %al, $0x20
   mov $0xfee000b0, %esi
   movl $0, (%rsi)
   pop %rsi
   pop %rax
   iretq
   .endm

   vec_stub 0x02
   vec_stub 0x23
   vec_stub 0x40
   vec_stub 0x41

   .globl kvmtest_guest_end
kvmtest_guest_end:

   .section .note.GNU-stack, "", @progbits
