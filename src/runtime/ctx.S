/*
 * cairn_ctx_save(struct img_ctx *c): like setjmp. Returns 0 when called and
 * 1 when a restored thread jumps into the saved context (the restorer does
 * that with its own copy of the jump, src/restore/start.S).
 * Layout: rbx rbp r12 r13 r14 r15 rsp rip mxcsr fpucw (format.h img_ctx).
 */
	.text
	.globl cairn_ctx_save
	.hidden cairn_ctx_save
	.type cairn_ctx_save,@function
cairn_ctx_save:
	movq %rbx, 0(%rdi)
	movq %rbp, 8(%rdi)
	movq %r12, 16(%rdi)
	movq %r13, 24(%rdi)
	movq %r14, 32(%rdi)
	movq %r15, 40(%rdi)
	leaq 8(%rsp), %rax
	movq %rax, 48(%rdi)
	movq (%rsp), %rax
	movq %rax, 56(%rdi)
	stmxcsr 64(%rdi)
	fnstcw 68(%rdi)
	xorl %eax, %eax
	ret
	.size cairn_ctx_save, .-cairn_ctx_save
	.section .note.GNU-stack,"",@progbits
