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

/* CPL3, IF=0: program every in-kernel chip the way a PC guest does, for the
 * irqchip state tests (nothing is delivered: interrupts stay off).
 *   PICs: ICW1-4 (vectors 0x20/0x28, cascade on IR2, 8086 mode), masks
 *         0xb8/0x8e, master "set priority" IR3 lowest, slave OCW3 read ISR,
 *         ELCR IRQ5 (0x4d0 = 0x20) and IRQ10/11 (0x4d1 = 0x0c) level.
 *   IOAPIC: ID 5; pin 9 level, vector 0x51, masked, to APIC 1; pin 16
 *         level, vector 0x61, masked, logical destination 0x03; pin 20 edge,
 *         vector 0x40, unmasked, to APIC 0; IOREGSEL left at 0x23.
 *   PIT:  counter 0 mode 2 (rate generator), LSB then MSB, count 11932;
 *         port 0x61 = 0x01 (gate 2 high, speaker off); counter 2 mode 0,
 *         LSB then MSB, count 0xffff, then latched and read into bx.
 * Then reports on port 0xe1 and spins. */
   .globl kvmtest_intc
kvmtest_intc:
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
   mov $0xb8, %al
   out %al, $0x21
   mov $0x8e, %al
   out %al, $0xa1
   mov $0xc3, %al
   out %al, $0x20
   mov $0x0b, %al
   out %al, $0xa0
   mov $0x4d0, %dx
   mov $0x20, %al
   out %al, %dx
   mov $0x4d1, %dx
   mov $0x0c, %al
   out %al, %dx

   mov $0xfec00000, %esi
   movl $0x00, (%rsi)
   movl $0x05000000, 0x10(%rsi)
   movl $(0x10 + 2 * 9), (%rsi)
   movl $0x00018051, 0x10(%rsi)
   movl $(0x11 + 2 * 9), (%rsi)
   movl $0x01000000, 0x10(%rsi)
   movl $(0x10 + 2 * 16), (%rsi)
   movl $0x00018861, 0x10(%rsi)
   movl $(0x11 + 2 * 16), (%rsi)
   movl $0x03000000, 0x10(%rsi)
   movl $(0x10 + 2 * 20), (%rsi)
   movl $0x40, 0x10(%rsi)
   movl $(0x11 + 2 * 20), (%rsi)
   movl $0, 0x10(%rsi)
   movl $0x23, (%rsi)

   mov $0x34, %al
   out %al, $0x43
   mov $0x9c, %al
   out %al, $0x40
   mov $0x2e, %al
   out %al, $0x40
   mov $0x01, %al
   out %al, $0x61
   mov $0xb0, %al
   out %al, $0x43
   mov $0xff, %al
   out %al, $0x42
   out %al, $0x42
   mov $0x80, %al
   out %al, $0x43
   in $0x42, %al
   movzbl %al, %ebx
   in $0x42, %al
   movzbl %al, %eax
   shl $8, %eax
   or %eax, %ebx
   out %al, $0xe1
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
