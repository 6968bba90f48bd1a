/*
 * FREESTANDING (no libc): entry, stack switch, thread creation and the jump
 * into a saved context for the restorer.
 */
	.text
	.globl _start
_start:
	xorl %ebp, %ebp
	movq %rsp, %rdi          /* argc, argv... */
	andq $-16, %rsp
	call restorer_main
	hlt

/* void switch_stack(void *top, void (*fn)(void *), void *arg) */
	.globl switch_stack
switch_stack:
	movq %rdi, %rsp
	andq $-16, %rsp
	movq %rdx, %rdi
	call *%rsi
	hlt

/* long rclone(unsigned long flags, void *stack, int *ptid, int *ctid,
 *             unsigned long tls, void (*fn)(void *), void *arg)
 * The child runs fn(arg) on stack and never returns. */
	.globl rclone
rclone:
	subq $16, %rsi
	movq %r9, 0(%rsi)
	movq 8(%rsp), %rax
	movq %rax, 8(%rsi)
	movq %rcx, %r10
	movl $56, %eax           /* SYS_clone */
	syscall
	testq %rax, %rax
	jnz 1f
	xorl %ebp, %ebp
	popq %rax
	popq %rdi
	call *%rax
	hlt
1:	ret

/* void ctx_jump(const struct img_ctx *c): cairn_ctx_save() returns 1 */
	.globl ctx_jump
ctx_jump:
	movq 0(%rdi), %rbx
	movq 8(%rdi), %rbp
	movq 16(%rdi), %r12
	movq 24(%rdi), %r13
	movq 32(%rdi), %r14
	movq 40(%rdi), %r15
	ldmxcsr 64(%rdi)
	fldcw 68(%rdi)
	movq 48(%rdi), %rsp
	movl $1, %eax
	jmpq *56(%rdi)

	.section .note.GNU-stack,"",@progbits
