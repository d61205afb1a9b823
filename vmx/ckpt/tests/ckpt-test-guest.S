/*
 * vmx/ckpt/tests/ckpt-test-guest.S - the guest program of the vCPU
 * checkpoint tests (data for the host: test-ckpt-cpu.c copies the bytes
 * between ckpt_guest_start and ckpt_guest_end into guest RAM). CPL3, 64-bit,
 * position independent.
 *
 * In: rdi = a 64 KiB data area (zero), rcx = iterations, rsi = the
 * iteration after which to report on port 0xe1 (0: never).
 * Each iteration mixes the counter into a hash (rax), stores the value in
 * the data area, reads back an earlier one and adds rax into xmm0, so the
 * result depends on the registers, the SSE state and the memory. At the
 * end: rbx = xmm0 (low), report on port 0xe2, spin.
 * ckpt_test_expect() in test-ckpt-cpu.c computes the same in C.
 */
   .section .rodata.ckpt_guest, "a"
   .code64
   .balign 16
   .globl ckpt_guest_start
ckpt_guest_start:
   .globl ckpt_guest_prog
ckpt_guest_prog:
   xor %r8d, %r8d
   movabs $0xcbf29ce484222325, %rax
   movabs $0x100000001b3, %r9
   movabs $0x9e3779b97f4a7c15, %r10
   pxor %xmm0, %xmm0
1: mov %r8, %rdx
   imul %r10, %rdx
   xor %rax, %rdx
   mov %r8, %r11
   and $8191, %r11
   mov %rdx, (%rdi,%r11,8)
   add %rdx, %rax
   imul %r9, %rax
   movq %rax, %xmm1
   paddq %xmm1, %xmm0
   lea (%r8,%r8,4), %r11
   and $8191, %r11
   add (%rdi,%r11,8), %rax
   inc %r8
   cmp %r8, %rsi
   jne 2f
   out %al, $0xe1
2: cmp %r8, %rcx
   jne 1b
   movq %xmm0, %rbx
   out %al, $0xe2
3: jmp 3b
   .globl ckpt_guest_end
ckpt_guest_end:

   .section .note.GNU-stack, "", @progbits
