/*
 * vmm/soft/hostexec.S - calling one host x87/MMX/SSE instruction on guest
 * operands (see hostexec.c). The stubs are "instruction; ret" with the
 * register/memory operands fixed by hostexec.c's re-encoding:
 *
 *   SSE/MMX: host xmm0 = guest xmm0 (implicit operand of BLENDV, PCMPxSTRM),
 *            xmm1/mm1/r8 = ModRM.reg operand, xmm2/mm2/r9 = ModRM.rm register
 *            operand, [rdi] = the memory operand, rax/rcx/rdx = guest
 *            rax/rcx/rdx (PCMPESTRx), arithmetic flags in and out, MXCSR in
 *            (exceptions masked) and out.
 *   x87:     the guest's FXSAVE64 image is loaded with FXRSTOR64, [rdi] is
 *            the memory operand, arithmetic flags in (FCMOVcc) and out
 *            (FCOMI), and the image is saved back with FXSAVE64.
 *
 * The host's own MXCSR and x87/MMX state are preserved.
 */
#define HX_XMM0   0
#define HX_XMM1   16
#define HX_XMM2   32
#define HX_MEM    48
#define HX_MM1    112
#define HX_MM2    120
#define HX_RAX    128
#define HX_RCX    136
#define HX_RDX    144
#define HX_R8     152
#define HX_R9     160
#define HX_FLAGS  168
#define HX_MXCSR  176
#define HX_MMX    180

   .text

/* void soft_hx_call(soft_hx *ctx, const void *stub) */
   .globl soft_hx_call
   .type soft_hx_call, @function
soft_hx_call:
   push %rbx
   push %rbp
   mov %rsp, %rbp
   sub $16, %rsp
   stmxcsr (%rsp)
   mov %rdi, %rbx
   mov %rsi, %r11
   movdqu HX_XMM0(%rbx), %xmm0
   movdqu HX_XMM1(%rbx), %xmm1
   movdqu HX_XMM2(%rbx), %xmm2
   cmpl $0, HX_MMX(%rbx)
   je 1f
   movq HX_MM1(%rbx), %mm1
   movq HX_MM2(%rbx), %mm2
1: mov HX_RAX(%rbx), %rax
   mov HX_RCX(%rbx), %rcx
   mov HX_RDX(%rbx), %rdx
   mov HX_R8(%rbx), %r8
   mov HX_R9(%rbx), %r9
   pushq HX_FLAGS(%rbx)
   popfq
   ldmxcsr HX_MXCSR(%rbx)
   lea HX_MEM(%rbx), %rdi
   call *%r11
   pushfq
   popq HX_FLAGS(%rbx)
   stmxcsr HX_MXCSR(%rbx)
   movdqu %xmm0, HX_XMM0(%rbx)
   movdqu %xmm1, HX_XMM1(%rbx)
   movdqu %xmm2, HX_XMM2(%rbx)
   mov %rax, HX_RAX(%rbx)
   mov %rcx, HX_RCX(%rbx)
   mov %rdx, HX_RDX(%rbx)
   mov %r8, HX_R8(%rbx)
   mov %r9, HX_R9(%rbx)
   cmpl $0, HX_MMX(%rbx)
   je 2f
   movq %mm1, HX_MM1(%rbx)
   movq %mm2, HX_MM2(%rbx)
   emms
2: cld
   ldmxcsr (%rsp)
   mov %rbp, %rsp
   pop %rbp
   pop %rbx
   ret
   .size soft_hx_call, .-soft_hx_call

/* void soft_hx_x87(void *fxsave64_image, void *mem, const void *stub,
 *                  uint64_t *rflags) */
   .globl soft_hx_x87
   .type soft_hx_x87, @function
soft_hx_x87:
   push %rbp
   mov %rsp, %rbp
   sub $512, %rsp
   and $-16, %rsp
   fxsave64 (%rsp)
   mov %rdi, %r10
   mov %rdx, %r11
   mov %rsi, %rdi
   fxrstor64 (%r10)
   pushq (%rcx)
   popfq
   call *%r11
   pushfq
   popq (%rcx)
   fxsave64 (%r10)
   cld
   fxrstor64 (%rsp)
   mov %rbp, %rsp
   pop %rbp
   ret
   .size soft_hx_x87, .-soft_hx_x87

   .section .note.GNU-stack, "", @progbits
